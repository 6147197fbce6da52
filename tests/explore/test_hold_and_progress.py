"""``--hold`` keeps unverified bytes off stdout; a progress line shows on a terminal only.

A tampering fault proxy in front of the real registry changes one byte of a layer."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from tests.harness import push_image

from .helpers import cli, tar_listing


@pytest.fixture
def tampered(registry_http, unique_repo, tmp_home, fault_proxy):
    """(image, repository name through a proxy that changes one byte of its layer)."""
    img = push_image(registry_http, unique_repo, "v1")
    proxy = fault_proxy(registry_http)
    proxy.tamper_body(path=f"/blobs/{img.layer_digests[0]}$")
    return img, f"{proxy.host}/{unique_repo}"


def test_blob_to_stdout_without_hold_prints_the_bytes_before_failing(tampered, capsysbinary):
    img, name = tampered
    code, out, err = cli(capsysbinary, "blob", f"{name}@{img.layer_digests[0]}", "--retries", "0")
    assert code == 6
    assert len(out) == len(img.layer_bytes[0])  # what the terminal or pipe already got
    assert img.layer_digests[0] in err


def test_blob_with_hold_prints_nothing_of_a_tampered_blob(tampered, capsysbinary):
    img, name = tampered
    argv = ("blob", f"{name}@{img.layer_digests[0]}", "--hold", "--retries", "0")
    code, out, err = cli(capsysbinary, *argv)
    assert (code, out) == (6, b"")
    assert err.startswith("imgdigest: error: ") and img.layer_digests[0] in err
    assert err.count("\n") == 1


def test_blob_with_hold_prints_a_good_blob(registry_http, unique_repo, tmp_home, capsysbinary):
    img = push_image(registry_http, unique_repo, "v1")
    name = f"{registry_http.host}/{unique_repo}"
    code, out, _ = cli(capsysbinary, "blob", f"{name}@{img.layer_digests[0]}", "--hold")
    assert (code, out) == (0, img.layer_bytes[0])


def test_files_with_hold_prints_nothing_of_a_tampered_layer(tampered, capsysbinary):
    img, name = tampered
    code, out, err = cli(capsysbinary, "files", f"{name}:v1", "--hold", "--retries", "0")
    assert (code, out) == (6, b"")
    assert img.layer_digests[0] in err


def test_files_with_hold_lists_a_good_image(registry_http, unique_repo, tmp_home, capsysbinary):
    img = push_image(registry_http, unique_repo, "v1")
    name = f"{registry_http.host}/{unique_repo}"
    code, out, _ = cli(capsysbinary, "files", f"{name}:v1", "--hold")
    assert code == 0
    assert out.decode().splitlines() == tar_listing(img.layer_files[0], img.layer_bytes[0])


def _on_a_terminal(*argv: str) -> tuple[int, bytes, str]:
    """Run with stderr on a pseudo-terminal; stdout is a pipe. Returns code, out, stderr."""
    primary, secondary = pty.openpty()
    try:
        p = subprocess.Popen(
            [sys.executable, "-m", "imgdigest", *argv, "--no-cache"],
            stdout=subprocess.PIPE,
            stderr=secondary,
        )
        os.close(secondary)
        seen = b""
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            seen += data
        out, _ = p.communicate(timeout=60)
    finally:
        os.close(primary)
    return p.returncode, out, seen.decode()


def test_blob_shows_progress_on_a_terminal_only(registry_http, unique_repo, tmp_home):
    img = push_image(registry_http, unique_repo, "v1")
    ref = f"{registry_http.host}/{unique_repo}@{img.layer_digests[0]}"
    mb = f"{len(img.layer_bytes[0]) / 1e6:.1f} MB"
    code, out, err = _on_a_terminal("blob", ref)
    assert (code, out) == (0, img.layer_bytes[0])
    assert err.endswith(f"\rblob {img.layer_digests[0][:19]}: {mb}\r\n")  # the tty adds \r
    code, out, err = _on_a_terminal("blob", ref, "--quiet")
    assert (code, out, err) == (0, img.layer_bytes[0], "")
    piped = subprocess.run(
        [sys.executable, "-m", "imgdigest", "blob", ref], capture_output=True, timeout=60
    )
    assert (piped.returncode, piped.stderr) == (0, b"")


def test_copy_shows_progress_on_a_terminal_only(registry_http, unique_repo, tmp_home):
    img = push_image(registry_http, unique_repo, "v1", layers=2)
    src = f"{registry_http.host}/{unique_repo}:v1"
    total = f"{sum(len(b) for b in img.blobs.values()) / 1e6:.1f} MB"
    code, _, err = _on_a_terminal("copy", src, f"{src}-copy")
    assert code == 0, err
    assert f"\rcopy {src}: {total} / {total}\r\n" in err
    code, _, err = _on_a_terminal("copy", "--quiet", src, f"{src}-again")
    assert (code, err) == (0, "")
