"""The command line under hostile conditions: full disks, closed pipes, early Ctrl-C,
out-of-range options and terminal escapes in input. Real processes, as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgdigest.display import safe


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "imgdigest", *args]


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload, no-any-return]


# -- output that cannot be written ------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["ref", "nginx"], ["--help"], ["policy", "gatekeeper"]],
    ids=["ref", "help", "policy"],
)
def test_a_full_disk_on_stdout_is_one_line_and_exit_1(argv: list[str]) -> None:
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            command(*argv), stdout=full, stderr=subprocess.PIPE, text=True, timeout=60
        )
    assert p.returncode == 1
    assert p.stderr == "imgdigest: cannot write output: No space left on device\n"


def test_a_closed_pipe_exits_141_quietly() -> None:
    refs = "".join(f"nginx:{i}\n" for i in range(5000))
    p = subprocess.Popen(
        command("ref", "--from-file", "-"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stdin is not None
    p.stdout.close()  # the reader is gone before the first byte, as with `| head -c0`
    _, err = p.communicate(refs, timeout=60)
    assert (p.returncode, err) == (141, "")


# -- Ctrl-C at any moment of start-up ---------------------------------------------------


def _as_from_a_terminal() -> None:
    """SIGINT at its default, as under a shell on a terminal: a background job of a script
    (as a CI runner may start the suite) inherits it ignored, and keeps it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _sigint_caught(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


@pytest.mark.parametrize("delay_ms", [100, 130, 160, 200, 300, 500])
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(delay_ms: int) -> None:
    """Delays count from the moment the interpreter catches SIGINT at all (before that
    the kernel's default action ends any process, and CPython's own ~10 ms of ``site``
    and ``runpy`` precede our first line); they cover loading the command's modules,
    parsing, and the command itself blocked on stdin."""
    p = subprocess.Popen(
        command("ref", "--from-file", "-"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_as_from_a_terminal,
    )
    deadline = time.monotonic() + 30
    while not _sigint_caught(p.pid):
        assert time.monotonic() < deadline
        time.sleep(0.0005)
    time.sleep(delay_ms / 1000)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert (p.returncode, out, err.decode()) == (130, b"", "imgdigest: interrupted\n")


# -- option values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["digest", "--timeout", "nan", "x"],
            "imgdigest digest: --timeout: expected a number of seconds between 0.1 and 3600,"
            " got 'nan'",
        ),
        (
            ["digest", "--timeout", "-1", "x"],
            "imgdigest digest: --timeout: expected a number of seconds between 0.1 and 3600,"
            " got '-1'",
        ),
        (
            ["manifest", "--timeout", "inf", "x"],
            "imgdigest manifest: --timeout: expected a number of seconds between 0.1 and 3600,"
            " got 'inf'",
        ),
        (
            ["digest", "--retries", "1000000000", "x"],
            "imgdigest digest: --retries: expected a whole number of retries between 0 and 20,"
            " got '1000000000'",
        ),
        (
            ["pin", "--max-age", "garbage", "x"],
            "imgdigest pin: --max-age: expected a number of seconds between 0 and 31622400,"
            " got 'garbage'",
        ),
        (
            ["digest", "--platform", "", "x"],
            "imgdigest digest: --platform: expected OS/ARCH[/VARIANT] or all, got ''",
        ),
        (
            ["copy", "--platform", " ", "a", "b"],
            "imgdigest copy: --platform: expected OS/ARCH[/VARIANT], got ' '",
        ),
        (
            ["lock", "--platform", "linux/*", "x"],
            'imgdigest lock: --platform: invalid platform "linux/*": wildcards are not supported',
        ),
        (
            ["copy", "--chunk-size", "0", "a", "b"],
            "imgdigest copy: --chunk-size: expected a whole number of bytes between 1 and"
            " 2147483648, got '0'",
        ),
        (
            ["ls", "--page-size", "1e9", "x"],
            "imgdigest ls: --page-size: expected a whole number of tags between 1 and 10000,"
            " got '1e9'",
        ),
        (
            ["check", "--exempt", "", "x"],
            "imgdigest check: --exempt: expected an image or a prefix ending in *, got ''",
        ),
        (
            ["policy", "gatekeeper", "--exempt", ""],
            "imgdigest policy gatekeeper: --exempt: expected an image or a prefix ending in *,"
            " got ''",
        ),
        (
            ["files", "--layer", "", "x"],
            "imgdigest files: --layer: expected a layer index or digest, got ''",
        ),
        (
            ["login", "r.example", "-u", " "],
            "imgdigest login: -u/--username: expected a user name, got ' '",
        ),
        (
            ["pin", "--lock", "", "x"],
            "imgdigest pin: --lock: expected a path, got ''",
        ),
        (
            ["webhook", "certs", "--days", "0"],
            "imgdigest webhook certs: --days: expected a whole number of days between 1 and"
            " 3650, got '0'",
        ),
        (
            ["webhook", "serve", "--timeout-seconds", "31"],
            "imgdigest webhook serve: --timeout-seconds: expected a number of seconds between"
            " 1 and 30, got '31'",
        ),
    ],
)
def test_an_out_of_range_option_is_one_line_and_exit_2(argv: list[str], message: str) -> None:
    p = run(*argv)
    assert (p.returncode, p.stdout, p.stderr) == (2, "", message + "\n")


# -- escapes from input -----------------------------------------------------------------


def test_safe_escapes_controls_and_bidi_and_keeps_the_rest() -> None:
    assert safe("a\x1b[31mb\r\n\t\x7f\x85\u202e\u2066\u200f\u061cé✓") == (
        "a\\x1b[31mb\\x0d\\x0a\\x09\\x7f\\x85\\u202e\\u2066\\u200f\\u061cé✓"
    )


def test_escapes_in_a_reference_reach_stderr_escaped() -> None:
    p = run("ref", "evil\x1b[2J\u202e:1")
    assert p.returncode == 2
    assert p.stderr.startswith("imgdigest: error: evil\\x1b[2J\\u202e:1: invalid reference")
    assert "\x1b" not in p.stderr and "\u202e" not in p.stderr


def test_escapes_in_an_option_value_reach_stderr_escaped() -> None:
    p = run("digest", "--platform", "linux/\x1b]0;owned\x07\u202e", "x")
    assert p.returncode == 2
    assert p.stderr == (
        "imgdigest digest: --platform: expected OS/ARCH[/VARIANT] or all,"
        " got 'linux/\\x1b]0;owned\\x07\\u202e'\n"
    )


def test_a_reference_file_with_escapes_is_escaped_too(tmp_path: os.PathLike[str]) -> None:
    p = run("ref", "--from-file", "-", input="ok\nbad\x9b31m\n")
    assert p.returncode == 2
    assert p.stdout == "docker.io/library/ok:latest\n"
    assert p.stderr.startswith("imgdigest: error: bad\\x9b31m: ")


# -- small truths -----------------------------------------------------------------------


def test_webhook_certs_names_the_paths_it_wrote(tmp_path: Path) -> None:
    out = f"{tmp_path}/my certs/"
    p = run("webhook", "certs", "--out", out)
    assert p.returncode == 0, p.stderr
    crt, key = f"{tmp_path}/my certs/tls.crt", f"{tmp_path}/my certs/tls.key"
    assert p.stdout.splitlines()[1:3] == [crt, key]
    assert p.stderr == (
        "# kubectl -n imgdigest-system create secret tls imgdigest-webhook-tls"
        f" --cert '{crt}' --key '{key}'\n"
    )
