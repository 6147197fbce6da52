"""``--verify``: a registry whose HEAD announces the wrong digest cannot get it pinned.

Without ``--verify`` a HEAD answer is taken at its word (documented in docs/pin.md); the
fault proxy in front of the real registry plays the lying registry."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.harness import push_image
from tests.pin.helpers import fake_digest

POD = "kind: Pod\nspec:\n  containers:\n  - image: {image}\n"
LIE = fake_digest("what the registry claims")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgdigest", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def lying(registry_http, fault_proxy, unique_repo, tmp_home):
    """(manifest path, reference through a proxy whose HEAD lies, the real digest)."""
    img = push_image(registry_http, unique_repo, "v1")
    proxy = fault_proxy(registry_http)
    proxy.lie_digest(LIE, path=r"/manifests/v1$")  # by tag only; by digest it is honest
    ref = f"{proxy.host}/{unique_repo}:v1"
    path = tmp_home / "pod.yaml"
    path.write_text(POD.format(image=ref))
    return path, ref, img.digest


def test_without_verify_the_announced_digest_is_trusted(lying):
    path, ref, _ = lying
    p = run("pin", "--write", str(path))
    assert p.returncode == 0, p.stderr
    assert path.read_text() == POD.format(image=f"{ref}@{LIE}")


def test_pin_verify_refuses_the_lie_and_writes_nothing(lying):
    path, ref, real = lying
    before = path.read_text()
    p = run("pin", "--write", "--verify", str(path))
    assert p.returncode == 6, p.stderr
    assert (
        f"{path}:4: {ref}: the registry announced {LIE} but serves content that hashes to {real}\n"
    ) in p.stderr
    assert "nothing written" in p.stderr
    assert path.read_text() == before


def test_lock_verify_refuses_the_lie_and_writes_no_lock(lying, tmp_home):
    path, _, real = lying
    out = tmp_home / "images.lock"
    p = run("lock", "--verify", str(path), "-o", str(out))
    assert p.returncode == 6, p.stderr
    assert f"the registry announced {LIE} but serves content that hashes to {real}" in p.stderr
    assert not out.exists()


def test_drift_verify_names_the_lie_instead_of_a_moved_tag(lying):
    path, ref, real = lying
    path.write_text(POD.format(image=f"{ref}@{real}"))
    plain = run("drift", str(path))
    assert plain.returncode == 1, plain.stderr
    assert "1 moved" in plain.stderr
    p = run("drift", "--verify", str(path))
    assert p.returncode == 6, p.stderr
    assert (
        f"{path}:4: {ref}@{real}: {ref}: the registry announced {LIE} but serves content that"
        f" hashes to {real}\n"
    ) in p.stderr


def test_verify_passes_an_honest_registry(registry_http, unique_repo, tmp_home):
    img = push_image(registry_http, unique_repo, "v1")
    ref = f"{registry_http.host}/{unique_repo}:v1"
    path = tmp_home / "pod.yaml"
    path.write_text(POD.format(image=ref))
    p = run("pin", "--write", "--verify", str(path))
    assert p.returncode == 0, p.stderr
    assert path.read_text() == POD.format(image=f"{ref}@{img.digest}")
