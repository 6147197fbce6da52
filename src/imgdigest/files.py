"""Replacing a file so that readers see the old bytes or the new ones, never a mix.

Caches, credentials and OCI layouts all write this way: a temporary file in the same
directory (same filesystem, so the rename is atomic), then ``os.replace``. ``durable``
adds the fsync that credentials want and caches can skip. Pinning edits, which must
also check the file did not change under them, use ``imgdigest.edits``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_file(
    path: Path, data: bytes, *, mode: int | None = None, durable: bool = False
) -> None:
    """Write ``data`` to ``path`` atomically; the directory must exist."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
