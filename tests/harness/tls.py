"""One throwaway certificate authority for every TLS endpoint of the harness.

The registry, the token server, the fault proxy and the redirect recorder all present
certificates issued by the same ``trustme`` CA, so a client needs exactly one PEM file
(``TestCA.ca_file``) to trust all of them, as it would with a private corporate CA.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import trustme

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


class TestCA:
    """A CA whose root certificate is written to ``ca_file`` and issues loopback certificates."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, directory: str | Path | None = None) -> None:
        if directory is None:
            self._tmp: tempfile.TemporaryDirectory[str] | None = tempfile.TemporaryDirectory(
                prefix="imgdigest-ca-"
            )
            directory = self._tmp.name
        else:
            self._tmp = None
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._ca = trustme.CA(organization_name="imgdigest test CA")
        self.ca_file = str(self.directory / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_file)
        self._issued: dict[tuple[str, ...], tuple[str, str]] = {}

    def server_files(self, *names: str) -> tuple[str, str]:
        """Return ``(cert_chain_pem, key_pem)`` paths for a certificate valid for ``names``."""
        names = names or LOOPBACK_NAMES
        if names not in self._issued:
            cert = self._ca.issue_cert(*names)
            stem = f"server-{len(self._issued)}"
            cert_file = self.directory / f"{stem}.crt"
            key_file = self.directory / f"{stem}.key"
            cert_file.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
            key_file.write_bytes(cert.private_key_pem.bytes())
            self._issued[names] = (str(cert_file), str(key_file))
        return self._issued[names]

    def server_context(self, *names: str) -> ssl.SSLContext:
        """A server-side context presenting a certificate for ``names`` (loopback by default)."""
        cert_file, key_file = self.server_files(*names)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client-side context trusting only this CA."""
        return ssl.create_default_context(cafile=self.ca_file)

    def cert_dir(self) -> str:
        """A directory holding only ``ca.crt``, the layout skopeo's ``--cert-dir`` expects."""
        path = self.directory / "cert-dir"
        path.mkdir(exist_ok=True)
        (path / "ca.crt").write_bytes(Path(self.ca_file).read_bytes())
        return str(path)

    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def verify_for(*ca_files: str | None) -> ssl.SSLContext | bool:
    """An httpx ``verify`` value trusting every given CA file, or the system store if none."""
    files = list(dict.fromkeys(f for f in ca_files if f))
    if not files:
        return True
    context = ssl.create_default_context(cafile=files[0])
    for extra in files[1:]:
        context.load_verify_locations(cafile=extra)
    return context
