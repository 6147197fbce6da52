"""Registry API calls on manifests and blobs, with every byte verified.

``head_manifest`` is how a digest is found cheaply: one HEAD whose
``Docker-Content-Digest`` names the content. The spec does not require that header,
so a 200 without it, or a registry that refuses HEAD (405/501), falls back to a GET
whose exact bytes are hashed. A 401/403/404/429 never falls back: a GET would fail the
same way and, on Docker Hub, count as a pull.

Whatever bytes arrive are checked against the digest they were asked for or announced
with; a mismatch raises ``VerificationError``. Manifests over 4 MiB are refused
before they are read whole, as containerd does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

from imgdigest.digest import Digest
from imgdigest.errors import (
    InvalidDigestError,
    UnsupportedError,
    VerificationError,
)
from imgdigest.media import (
    MANIFEST_ACCEPT,
    MAX_MANIFEST_BYTES,
    SCHEMA1_TYPES,
    Manifest,
    media_type_of,
)
from imgdigest.registry.http import Response
from imgdigest.registry.mirrors import Endpoint
from imgdigest.registry.transport import Transport, _TooLarge, registry_message, status_error


@dataclass(frozen=True)
class ManifestHead:
    """What a HEAD (or a GET standing in for one) says about a manifest."""

    digest: str
    media_type: str
    size: int
    manifest: Manifest | None = None  # set when a GET was needed and the bytes are in hand


def _where(endpoint: Endpoint, ref: str) -> str:
    sep = "@" if _is_digest(ref) else ":"
    return f"{endpoint.name}{sep}{ref}"


def _is_digest(ref: str) -> bool:
    return ":" in ref


class RegistryClient:
    """Manifest and blob operations against one ``Transport``."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def head_manifest(self, endpoint: Endpoint, ref: str) -> ManifestHead:
        """Digest, media type and size of the manifest a tag or digest names."""
        where = _where(endpoint, ref)
        path = f"/v2/{endpoint.repository}/manifests/{quote(ref, safe=':')}"
        async with self.transport.stream(
            "HEAD",
            endpoint.host,
            path,
            repository=endpoint.repository,
            headers={"Accept": MANIFEST_ACCEPT},
            purpose="manifest",
        ) as resp:
            status = resp.status_code
            headers = resp.headers
        if status in (405, 501):
            return await self._head_by_get(endpoint, ref)
        if status != 200:
            raise status_error(status, where, host=endpoint.host, reference=where)
        media_type = media_type_of(headers.get("content-type"))
        if media_type in SCHEMA1_TYPES:
            raise UnsupportedError(
                f"{where}: Docker schema 1 manifests are unsupported; push it again with a "
                "current client"
            )
        announced = headers.get("docker-content-digest", "")
        length = headers.get("content-length", "")
        try:
            digest = str(Digest.parse(announced)) if announced else ""
        except InvalidDigestError:
            digest = ""
        if not digest or not length.isdigit():
            return await self._head_by_get(endpoint, ref)
        if _is_digest(ref) and digest != ref:
            raise VerificationError(
                f"{where}: registry announced digest {digest} for a request by digest {ref}"
            )
        if int(length) > MAX_MANIFEST_BYTES:
            raise UnsupportedError(f"{where}: manifest of {length} bytes exceeds the 4 MiB limit")
        return ManifestHead(digest, media_type, int(length))

    async def _head_by_get(self, endpoint: Endpoint, ref: str) -> ManifestHead:
        manifest, digest = await self.get_manifest(endpoint, ref)
        return ManifestHead(digest, manifest.media_type, len(manifest.raw), manifest)

    async def get_manifest(
        self, endpoint: Endpoint, ref: str, expected: str | None = None
    ) -> tuple[Manifest, str]:
        """Fetch a manifest's exact bytes and verify them; returns it and its digest."""
        where = _where(endpoint, ref)
        path = f"/v2/{endpoint.repository}/manifests/{quote(ref, safe=':')}"
        try:
            resp, body = await self.transport.request(
                "GET",
                endpoint.host,
                path,
                repository=endpoint.repository,
                headers={"Accept": MANIFEST_ACCEPT},
                purpose="manifest",
                max_bytes=MAX_MANIFEST_BYTES,
            )
        except _TooLarge:
            raise UnsupportedError(f"{where}: manifest exceeds the 4 MiB limit") from None
        if resp.status_code != 200:
            raise status_error(
                resp.status_code, where, _detail(resp, body), host=endpoint.host, reference=where
            )
        content_type = resp.headers.get("content-type", "")
        if media_type_of(content_type) in SCHEMA1_TYPES:
            raise UnsupportedError(
                f"{where}: Docker schema 1 manifests are unsupported; push it again with a "
                "current client"
            )
        want = expected or (ref if _is_digest(ref) else None)
        announced = resp.headers.get("docker-content-digest")
        algorithm = "sha256"
        if want:
            algorithm = Digest.parse(want).algorithm
        actual = str(Digest.of(body, algorithm))
        if want and actual != want:
            raise VerificationError(
                f"{where}: manifest content does not match digest {want}; got {actual}"
            )
        if announced and not want:
            try:
                ann = Digest.parse(announced)
            except InvalidDigestError:
                ann = None
            if ann is not None and str(Digest.of(body, ann.algorithm)) != announced:
                raise VerificationError(
                    f"{where}: manifest content does not match the announced digest {announced}; "
                    f"got {actual}"
                )
        manifest = Manifest.parse(body, content_type, where)
        return manifest, actual

    async def get_blob(self, endpoint: Endpoint, digest: str, max_bytes: int) -> bytes:
        """A small blob (a config), fetched whole and verified."""
        where = f"{endpoint.name}@{digest}"
        try:
            resp, body = await self.transport.request(
                "GET",
                endpoint.host,
                f"/v2/{endpoint.repository}/blobs/{digest}",
                repository=endpoint.repository,
                purpose="blob",
                max_bytes=max_bytes,
            )
        except _TooLarge:
            raise UnsupportedError(f"{where}: blob larger than {max_bytes} bytes") from None
        if resp.status_code != 200:
            raise status_error(
                resp.status_code, where, _detail(resp, body), host=endpoint.host, reference=where
            )
        expected = Digest.parse(digest)
        actual = Digest.of(body, expected.algorithm)
        if actual != expected:
            raise VerificationError(
                f"{where}: blob content does not match its digest; got {actual}"
            )
        return body

    async def stream_blob(self, endpoint: Endpoint, digest: str) -> AsyncIterator[bytes]:
        """Yield a blob's bytes as they arrive; raises VerificationError at the end on mismatch."""
        where = f"{endpoint.name}@{digest}"
        expected = Digest.parse(digest)
        verifier = expected.verifier()
        async with self.transport.stream(
            "GET",
            endpoint.host,
            f"/v2/{endpoint.repository}/blobs/{digest}",
            repository=endpoint.repository,
            purpose="blob",
        ) as resp:
            if resp.status_code != 200:
                body = await resp.aread()
                raise status_error(
                    resp.status_code,
                    where,
                    _detail(resp, body),
                    host=endpoint.host,
                    reference=where,
                )
            async for chunk in resp.aiter_raw():
                verifier.update(chunk)
                yield chunk
        if not verifier.verified():
            raise VerificationError(
                f"{where}: blob content does not match its digest; got {verifier.actual}"
            )


def _detail(resp: Response, body: bytes) -> str:
    return registry_message(body)


__all__ = ["ManifestHead", "RegistryClient"]
