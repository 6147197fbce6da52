"""``digest --from-file`` streams: bounded batches, input order kept, flat memory."""

from __future__ import annotations

import sys
from pathlib import Path

from imgdigest.cli import cmd_digest
from imgdigest.cli.main import main
from tests.harness import push_image
from tests.rss import peak_rss


def test_batches_keep_order_and_ask_each_reference_once(
    registry_http, unique_repo, tmp_home, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(cmd_digest, "BATCH", 2)  # every batch boundary is crossed
    a = push_image(registry_http, unique_repo, "a", seed="a")
    b = push_image(registry_http, unique_repo, "b", seed="b")
    base = f"{registry_http.host}/{unique_repo}"
    refs = tmp_path / "refs.txt"
    refs.write_text(f"{base}:b\n# comment\n{base}:a\n\n{base}:b\n{base}:missing\n{base}:a\n")
    registry_http.reset_count()
    code = main(["digest", "-q", "--from-file", str(refs)])
    out, err = capsys.readouterr()
    assert code == 3
    assert out.splitlines() == [b.digest, a.digest, b.digest, a.digest]
    assert err.splitlines() == [f"imgdigest: error: {base}:missing: not found"]
    for tag in ("a", "b", "missing"):
        assert registry_http.request_count("HEAD", path=f"/manifests/{tag}$") == 1


def test_a_line_that_is_not_utf8_is_a_usage_error_naming_the_line(tmp_path: Path, capsys) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_bytes(b"nginx:1\ncaf\xe9:1\n")
    code = main(["digest", "--from-file", str(refs)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == f"imgdigest: error: {refs}:2: not UTF-8\n"


LINES = 50_000
PEAK_KIB = 120 * 1024


def test_memory_stays_flat_with_a_long_list(
    registry_http, unique_repo, tmp_home, tmp_path: Path
) -> None:
    """50,000 lines peaked near 220 MB when the whole list was resolved at once."""
    push_image(registry_http, unique_repo, "a", seed="a")
    refs = tmp_path / "refs.txt"
    refs.write_text(f"{registry_http.host}/{unique_repo}:a\n" * LINES)
    out, err = tmp_path / "out", tmp_path / "err"
    cmd = [sys.executable, "-m", "imgdigest", "digest", "-q", "--from-file", "-"]
    code, kib = peak_rss(cmd, stdin=refs, stdout=out, stderr=err)
    assert code == 0, err.read_text()
    assert out.read_bytes().count(b"\n") == LINES
    assert kib < PEAK_KIB, f"peak RSS {kib} KiB"


def test_a_reference_line_with_controls_is_shown_escaped(tmp_path: Path, capsys) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("nginx\x1b[2J:1\u202e\n")
    code = main(["digest", "--from-file", str(refs)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("imgdigest: error: nginx\\x1b[2J:1\\u202e: ")
    assert "\x1b" not in err and "\u202e" not in err
