"""The password of a cosign private key: from stdin, or ``COSIGN_PASSWORD`` as cosign reads it."""

from __future__ import annotations

import os
import sys

from imgdigest.errors import UsageError


def key_password(from_stdin: bool) -> bytes:
    """``--password-stdin`` (one line), else ``COSIGN_PASSWORD`` (empty allowed), else refuse."""
    if from_stdin:
        line = sys.stdin.buffer.readline(64 * 1024)
        return line.rstrip(b"\r\n")
    env = os.environb.get(b"COSIGN_PASSWORD")
    if env is not None:
        return env
    raise UsageError(
        "no password for the key: give --password-stdin, or set COSIGN_PASSWORD "
        "(empty for a key without one)"
    )
