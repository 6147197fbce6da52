"""``pin``, ``drift`` and ``lock`` as a user runs them: real processes, real registry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from imgdigest.files import TEMP_PREFIX
from tests.harness import push_image, push_index

POD = "kind: Pod\nspec:\n  containers:\n{containers}"


def pod(*images: str) -> str:
    return POD.format(containers="".join(f"  - image: {i}  # keep me\n" for i in images))


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "imgdigest", *args]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args), capture_output=True, text=True, input=stdin, env={**os.environ}, timeout=60
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def tree(registry_http, unique_repo, tmp_home):
    """Two manifests naming an index and an image; returns (root, refs, digests)."""
    host = registry_http.host
    idx = push_index(registry_http, unique_repo, "a")
    img = push_image(registry_http, unique_repo, "b")
    a, b = f"{host}/{unique_repo}:a", f"{host}/{unique_repo}:b"
    root = tmp_home / "deploy"
    (root / "apps").mkdir(parents=True)
    (root / "apps" / "one.yaml").write_text(pod(a))
    (root / "two.yaml").write_bytes(pod(b, a).replace("\n", "\r\n").encode())
    (root / "README.md").write_text("not a manifest")
    return root, (a, b), (idx.digest, img.digest)


def test_without_write_prints_a_diff_and_changes_nothing(tree):
    root, (a, _), (da, _) = tree
    before = snapshot(root)
    p = run("pin", str(root))
    assert p.returncode == 0, p.stderr
    assert f"-  - image: {a}  # keep me\n+  - image: {a}@{da}  # keep me\n" in p.stdout
    assert "3 references in 2 files would change" in p.stderr
    assert snapshot(root) == before


def test_write_edits_only_image_scalars_and_a_second_run_changes_nothing(tree):
    root, (a, b), (da, db) = tree
    p = run("pin", "--write", str(root))
    assert p.returncode == 0, p.stderr
    assert (root / "apps" / "one.yaml").read_text() == pod(f"{a}@{da}")
    expected_two = pod(f"{b}@{db}", f"{a}@{da}").replace("\n", "\r\n").encode()
    assert (root / "two.yaml").read_bytes() == expected_two
    after = snapshot(root)
    again = run("pin", "--write", str(root))
    assert again.returncode == 0 and snapshot(root) == after
    assert "0 references in 0 files" in again.stderr


def test_a_failing_reference_writes_nothing_and_names_file_line_reference(tree, registry_http):
    root, _, _ = tree
    missing = f"{registry_http.host}/nobody/here:v1"
    (root / "three.yaml").write_text(pod(missing))
    before = snapshot(root)
    p = run("pin", "--write", str(root))
    assert p.returncode == 3, p.stderr
    assert f"{root}/three.yaml:4: {missing}: " in p.stderr
    assert "nothing written" in p.stderr
    assert snapshot(root) == before


def test_partial_writes_what_resolved_and_still_fails(tree, registry_http):
    root, (a, _), (da, _) = tree
    (root / "three.yaml").write_text(pod(f"{registry_http.host}/nobody/here:v1"))
    p = run("pin", "--write", "--partial", str(root))
    assert p.returncode == 3
    assert (root / "apps" / "one.yaml").read_text() == pod(f"{a}@{da}")
    assert "@sha256" not in (root / "three.yaml").read_text()


def test_invalid_yaml_is_reported_with_its_line_and_other_files_are_pinned(tree):
    root, _, _ = tree
    bad = "kind: Pod\nspec:\n  containers: [\n"
    (root / "bad.yaml").write_text(bad)
    p = run("pin", "--write", str(root))
    assert p.returncode == 2
    assert f"{root}/bad.yaml:" in p.stderr and "invalid YAML" in p.stderr
    assert (root / "bad.yaml").read_text() == bad
    assert "@sha256:" in (root / "apps" / "one.yaml").read_text()


def test_killed_mid_run_leaves_every_file_as_it_was(tree, registry_http, fault_proxy):
    root, _, _ = tree
    proxy = fault_proxy(registry_http)
    proxy.delay(3000, path=r"/manifests/")
    for f in (root / "apps" / "one.yaml", root / "two.yaml"):
        f.write_text(f.read_text().replace(registry_http.host, proxy.host))
    before = snapshot(root)
    proc = subprocess.Popen(command("pin", "--write", str(root)), env={**os.environ})
    deadline = time.monotonic() + 20
    while proxy.count(path=r"/manifests/") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proxy.count(path=r"/manifests/") > 0, "the run never reached the registry"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert snapshot(root) == before
    assert not [p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX)]


def test_stdin_is_filtered_to_stdout(tree):
    _, (a, _), (da, _) = tree
    p = run("pin", "-", stdin=pod(a))
    assert p.returncode == 0, p.stderr
    assert p.stdout == pod(f"{a}@{da}")


def test_json_report_lists_each_change(tree):
    root, (a, _), (da, _) = tree
    p = run("pin", "--format", "json", str(root / "apps"))
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["changes"] == [
        {
            "file": f"{root}/apps/one.yaml",
            "line": 4,
            "column": 12,
            "old": a,
            "new": f"{a}@{da}",
            "reference": a,
            "digest": da,
            "mode": "pin",
        }
    ]
    assert report["summary"]["files_changed"] == 1 and report["written"] == []


def test_drift_and_pin_check_fail_until_pinned(tree):
    root, _, _ = tree
    for args in (("drift", str(root)), ("pin", "--check", str(root))):
        p = run(*args)
        assert p.returncode == 1, p.stderr
        assert p.stdout.count("not pinned to a digest") == 3
    assert run("pin", "--write", str(root)).returncode == 0
    p = run("drift", str(root))
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout == ""


def test_lock_then_offline_pin(tree, tmp_home):
    root, (a, _), (da, _) = tree
    lockfile = tmp_home / "images.lock"
    p = run("lock", str(root), "-o", str(lockfile))
    assert p.returncode == 0, p.stderr
    assert len(json.loads(lockfile.read_text())["images"]) == 2
    p = run("pin", "--write", "--offline", "--lock", str(lockfile), str(root / "apps"))
    assert p.returncode == 0, p.stderr
    assert (root / "apps" / "one.yaml").read_text() == pod(f"{a}@{da}")


def test_a_build_output_pins_without_trusting_the_tag(tree, tmp_home):
    root, (a, _), _ = tree
    built = "sha256:" + "ab" * 32
    (tmp_home / "pack.out").write_text(f"{a.rsplit(':', 1)[0]}@{built}\n")
    p = run("pin", "--write", "--offline", "--lock", str(tmp_home / "pack.out"), str(root / "apps"))
    assert p.returncode == 0, p.stderr
    assert (root / "apps" / "one.yaml").read_text() == pod(f"{a}@{built}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pin", "--offline", "x.yaml"), "--offline needs --lock"),
        (("pin", "-", "x.yaml"), "cannot be combined"),
        (("pin", "--platform", "linux/nonsense/x/y", "x.yaml"), "linux/nonsense/x/y"),
        (("pin", "--lock", "/nonexistent.lock", "x.yaml"), "cannot read lock file"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message, tmp_path):
    p = subprocess.run(command(*args), capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr and "Traceback" not in p.stderr


def _sigint(disposition: signal.Handlers) -> Callable[[], None]:
    def set_it() -> None:
        signal.signal(signal.SIGINT, disposition)

    return set_it


@pytest.mark.parametrize(
    "inherited", [signal.SIG_DFL, signal.SIG_IGN], ids=["sigint-default", "sigint-ignored"]
)
def test_terminated_mid_run_exits_130_and_changes_nothing(
    tree, registry_http, fault_proxy, inherited
):
    root, _, _ = tree
    proxy = fault_proxy(registry_http)
    proxy.delay(3000, path=r"/manifests/")
    for f in (root / "apps" / "one.yaml", root / "two.yaml"):
        f.write_text(f.read_text().replace(registry_http.host, proxy.host))
    before = snapshot(root)
    proc = subprocess.Popen(
        command("pin", "--write", str(root)),
        env={**os.environ},
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint(inherited),  # a script's background job inherits SIGINT ignored
    )
    deadline = time.monotonic() + 20
    while proxy.count(path=r"/manifests/") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert snapshot(root) == before


def test_excluded_paths_are_not_pinned(tree):
    root, _, _ = tree
    before = (root / "apps" / "one.yaml").read_text()
    p = run("pin", "--write", "--exclude", "apps", str(root))
    assert p.returncode == 0, p.stderr
    assert (root / "apps" / "one.yaml").read_text() == before
    assert "@sha256:" in (root / "two.yaml").read_text()


def test_drift_json_gives_each_finding_with_its_digests(tree, registry_http, unique_repo):
    root, (_, b), (_, db) = tree
    push_image(registry_http, unique_repo, "b", seed="moved on")
    (root / "two.yaml").write_text(pod(f"{b}@{db}"))
    p = run("drift", "--format", "json", str(root / "two.yaml"))
    assert p.returncode == 1, p.stderr
    (finding,) = json.loads(p.stdout)["findings"]
    assert finding["problem"] == "moved" and finding["pinned"] == db
    assert finding["current"] not in (None, db)
