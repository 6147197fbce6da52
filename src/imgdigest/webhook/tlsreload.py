"""A server TLS context that follows its certificate files on disk.

cert-manager renews the serving certificate by rewriting the mounted Secret (kubelet
swaps a symlink), and a webhook must pick the new pair up without a restart, or it
serves an expired certificate and every admission fails. The listening socket keeps one
``SSLContext`` for its whole life, so that context only dispatches: its
``sni_callback`` (called for every handshake, SNI or not) hands the connection to the
context built from the newest pair. A watcher re-reads the files when their identity
(inode, size, mtime) changes; a pair that does not load - a half-written rotation, a
key that does not match - is logged and the previous pair stays in use.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Callable
from pathlib import Path

from imgdigest.errors import ConfigError

log = logging.getLogger("imgdigest.webhook")

_Stamp = tuple[tuple[int, int, int], ...]


def _context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class ReloadingTLS:
    """Serving certificate and key that are reloaded when the files change."""

    def __init__(
        self,
        cert_file: str | Path,
        key_file: str | Path,
        on_reload: Callable[[], None] | None = None,
    ) -> None:
        self.cert_file = Path(cert_file)
        self.key_file = Path(key_file)
        self._on_reload = on_reload
        try:
            self._current = _context(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"{self.cert_file}, {self.key_file}: cannot load the serving certificate: "
                f"{getattr(exc, 'strerror', None) or exc}"
            ) from None
        self._stamp = self._read_stamp()
        # The listening context: never serves itself, it hands each handshake over.
        self.context = _context(self.cert_file, self.key_file)
        self.context.sni_callback = self._select

    def _select(self, conn: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        conn.context = self._current

    def _read_stamp(self) -> _Stamp | None:
        try:
            stats = [os.stat(p) for p in (self.cert_file, self.key_file)]
        except OSError:
            return None
        return tuple((s.st_ino, s.st_size, s.st_mtime_ns) for s in stats)

    def check(self) -> bool:
        """Reload if the files changed; True when a new pair was taken into use."""
        stamp = self._read_stamp()
        if stamp is None or stamp == self._stamp:
            return False
        try:
            fresh = _context(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            log.warning("serving certificate changed but does not load yet: %s", exc)
            return False
        self._current, self._stamp = fresh, stamp
        log.info("serving certificate reloaded from %s", self.cert_file)
        if self._on_reload is not None:
            self._on_reload()
        return True

    async def watch(self, interval: float = 2.0) -> None:
        """Poll the files forever (cancel to stop); polling also works across symlink swaps."""
        while True:
            await asyncio.sleep(interval)
            self.check()
