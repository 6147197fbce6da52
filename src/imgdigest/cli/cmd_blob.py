"""``imgdigest blob``: stream one blob by digest, verifying as it goes.

With ``-o FILE`` the bytes go to a temporary file next to FILE, which is renamed into
place only once the digest matched; on a mismatch, a dropped connection or Ctrl-C it
is removed, so FILE is either complete and verified or untouched (exit code 6 on a
mismatch). On stdout the bytes cannot be taken back: a mismatch is reported after
them, with the same exit code, unless ``--hold`` keeps them in a temporary file until
the digest matched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from imgdigest.cli._common import PATH, ByteProgress
from imgdigest.cli._explore import add_common, session
from imgdigest.client import blob_digest
from imgdigest.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "blob",
        description="Stream the blob NAME@DIGEST (or oci:DIR@DIGEST) to stdout or -o FILE in "
        "constant memory, verifying it against its digest. A mismatch removes the output "
        "file and exits with code 6. On stdout the bytes are written as they arrive, before "
        "the digest is known to match: a mismatch is reported after them. --hold keeps them "
        "in a temporary file until verified, so stdout gets verified bytes or nothing.",
    )
    p.add_argument("ref", metavar="NAME@DIGEST", help="repository and blob digest")
    p.add_argument(
        "-o", "--output", type=PATH, metavar="FILE", help="write here (atomically) not stdout"
    )
    p.add_argument(
        "--hold",
        action="store_true",
        help="with stdout: buffer in a temporary file and write only once verified",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line on a terminal")
    add_common(p, platform=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    digest = blob_digest(args.ref)
    with session(args) as client:
        chunks = client.blob(args.ref)
        progress = None if args.quiet else ByteProgress.on_terminal(f"blob {digest[:19]}")
        if progress is not None:
            chunks = progress.count(chunks)
        try:
            if args.output:
                _to_file(chunks, Path(args.output))
            elif args.hold:
                held_then_written(chunks, sys.stdout.buffer)
            else:
                out = sys.stdout.buffer
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
        finally:
            if progress is not None:
                progress.finish()  # also before an error, so it starts a line of its own
    return 0


def held_then_written(chunks: Iterable[bytes], out: BinaryIO) -> None:
    """Write ``chunks`` to ``out`` only after all arrived (and so were verified)."""
    with tempfile.TemporaryFile() as held:
        for chunk in chunks:
            held.write(chunk)
        held.seek(0)
        shutil.copyfileobj(held, out)
    out.flush()


def _to_file(chunks: Iterable[bytes], path: Path) -> None:
    target = path.resolve()
    if target.is_dir():
        raise UsageError(f"{path}: is a directory")
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.partial-")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
