"""Peak RSS of a command, measured from a small launcher process.

Linux keeps a process's peak RSS across ``exec``, and a child forked from the test
process starts with the test process's pages counted: measured directly, the child of a
large pytest run looks large. A fresh interpreter forks the command instead and reports
its peak through ``wait4``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_LAUNCH = """
import os, sys
stdin, stdout, stderr, *cmd = sys.argv[1:]
pid = os.fork()
if pid == 0:
    os.dup2(os.open(stdin, os.O_RDONLY), 0)
    os.dup2(os.open(stdout, os.O_WRONLY), 1)
    os.dup2(os.open(stderr, os.O_WRONLY), 2)
    os.execv(cmd[0], cmd)
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss(
    cmd: list[str], *, stdin: Path | None = None, stdout: Path, stderr: Path
) -> tuple[int, int]:
    """Run ``cmd``; its exit code and peak RSS in KiB."""
    stdout.touch()
    stderr.touch()
    launch = [sys.executable, "-c", _LAUNCH, str(stdin or "/dev/null"), str(stdout), str(stderr)]
    done = subprocess.run([*launch, *cmd], capture_output=True, text=True, timeout=300, check=True)
    code, kib = done.stdout.split()
    return int(code), int(kib)
