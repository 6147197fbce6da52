"""Pushing to a registry: blob existence checks, cross-repository mounts, uploads, manifests.

A copy should move only what is missing, so every blob is first asked for with a
HEAD. A blob that lives in another repository of the same registry is *mounted*
(``POST /v2/DST/blobs/uploads/?mount=DIGEST&from=SRC``): no bytes travel at all. When
the registry declines (it answers 202 and opens an upload instead), that upload
session is used for the bytes.

Uploads are monolithic (one ``PUT`` with the body) for blobs up to ``chunk_size`` and
chunked (``PATCH`` pieces with ``Content-Range``, then ``PUT ?digest=``) beyond it, so
memory stays bounded by the chunk size; a registry's ``OCI-Chunk-Min-Length`` raises
the chunk size to what it accepts. The registry's own ``Docker-Content-Digest`` in
each answer is compared with the digest sent.

A chunked upload's session is remembered on disk (``UploadSessions``) after every
accepted chunk, so a copy interrupted inside a large blob continues where the registry
says it stopped (``GET`` on the session answers ``Range: 0-LAST``) instead of sending
the blob again; the source is still read from the start, since its digest is verified
over every byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from imgdigest.errors import UnsupportedError, VerificationError
from imgdigest.files import PRIVATE, replace_file
from imgdigest.media import MANIFEST_ACCEPT
from imgdigest.registry.mirrors import Endpoint
from imgdigest.registry.transport import Transport, registry_message, status_error

PUSH = "pull,push"
DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024


@dataclass
class UploadStats:
    """What one pusher did, for the copy summary and the benchmarks."""

    uploaded: int = 0
    mounted: int = 0
    bytes_sent: int = 0
    patches: int = 0
    bytes_resumed: int = 0  # already at the registry from an earlier, interrupted run


class UploadSessions:
    """Open chunked uploads by registry, repository and digest, kept in small files.

    Losing one costs only a re-sent blob, so every failure to read or write is ignored.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / f"{hashlib.sha256(key.encode()).hexdigest()}.json"

    def get(self, key: str) -> str | None:
        try:
            obj = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        location = obj.get("location") if isinstance(obj, dict) else None
        return location if isinstance(location, str) and obj.get("key") == key else None

    def put(self, key: str, location: str) -> None:
        with contextlib.suppress(OSError):
            self.root.mkdir(parents=True, exist_ok=True)
            state = json.dumps({"key": key, "location": location}).encode()
            replace_file(self._path(key), state, mode=PRIVATE)

    def drop(self, key: str) -> None:
        with contextlib.suppress(OSError):
            self._path(key).unlink(missing_ok=True)


class Pusher:
    """Writes blobs and manifests into one repository (``endpoint``)."""

    def __init__(
        self,
        transport: Transport,
        endpoint: Endpoint,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        sessions: UploadSessions | None = None,
    ) -> None:
        self.transport = transport
        self.endpoint = endpoint
        self.chunk_size = chunk_size
        self.sessions = sessions
        self.stats = UploadStats()

    @property
    def _repo(self) -> str:
        return self.endpoint.repository

    def _where(self, digest: str) -> str:
        return f"{self.endpoint.name}@{digest}"

    async def _call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        purpose: str = "upload",
    ) -> tuple[int, dict[str, str], bytes]:
        resp, body = await self.transport.request(
            method,
            self.endpoint.host,
            path,
            repository=self._repo,
            actions=PUSH,
            headers=headers,
            content=content,
            purpose=purpose,
            max_bytes=1024 * 1024,
        )
        return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, body

    # -- existence -------------------------------------------------------------------
    async def has_blob(self, digest: str) -> bool:
        status, _, _ = await self._call("HEAD", f"/v2/{self._repo}/blobs/{digest}", purpose="blob")
        if status == 200:
            return True
        if status == 404:
            return False
        raise status_error(status, self._where(digest))

    async def manifest_digest(self, ref: str) -> str | None:
        """The digest a tag or digest names in this repository, or None if absent."""
        found = await self._manifest("HEAD", ref)
        if found is None:
            return None
        return found[0].get("docker-content-digest") or (ref if ":" in ref else None)

    async def _manifest(self, method: str, ref: str) -> tuple[dict[str, str], bytes] | None:
        """Headers and body of a manifest request by tag or digest; None when absent."""
        status, headers, body = await self._call(
            method,
            f"/v2/{self._repo}/manifests/{quote(ref, safe=':')}",
            headers={"Accept": MANIFEST_ACCEPT},
            purpose="manifest",
        )
        if status == 404:
            return None
        if status != 200:
            raise status_error(status, f"{self.endpoint.name}:{ref}")
        return headers, body

    # -- blobs -----------------------------------------------------------------------
    async def mount(self, digest: str, from_repo: str) -> str | None:
        """Mount ``digest`` from ``from_repo``; None if mounted, else the upload URL opened."""
        query = urlencode({"mount": digest, "from": from_repo})
        status, headers, _ = await self._call("POST", f"/v2/{self._repo}/blobs/uploads/?{query}")
        if status == 201:
            self.stats.mounted += 1
            return None
        if status == 202:
            return self._location(headers, digest)
        raise status_error(status, f"{self._where(digest)} (mount from {from_repo})")

    async def upload(
        self, digest: str, size: int, chunks: AsyncIterator[bytes], location: str | None = None
    ) -> None:
        """Send a blob's bytes (from a verifying stream) and check the registry's digest."""
        key = f"{self.endpoint.name}@{digest}"
        offset = 0
        chunked = not 0 <= size <= self.chunk_size
        if location is None and chunked and self.sessions is not None:
            saved = self.sessions.get(key)
            if saved is not None:
                offset, location = await self._resume(key, digest, saved)
        if location is None:
            status, headers, _ = await self._call("POST", f"/v2/{self._repo}/blobs/uploads/")
            if status != 202:
                raise status_error(status, f"{self._where(digest)} (starting an upload)")
            location = self._location(headers, digest)
            minimum = headers.get("oci-chunk-min-length", "")
            if minimum.isdigit() and int(minimum) > self.chunk_size:
                self.chunk_size = int(minimum)
        if not chunked:
            body = b"".join([c async for c in chunks])
            await self._finish(digest, location, body, key)
            self.stats.uploaded += 1
            return
        self.stats.bytes_resumed += offset
        skip = offset  # bytes the registry already holds: read (to verify), not sent
        pending = b""
        async for chunk in chunks:
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            pending += chunk
            while len(pending) >= self.chunk_size:
                piece, pending = pending[: self.chunk_size], pending[self.chunk_size :]
                location = await self._send_chunk(key, digest, location, piece, offset)
                offset += len(piece)
        if pending:
            location = await self._send_chunk(key, digest, location, pending, offset)
        await self._finish(digest, location, b"", key)
        self.stats.uploaded += 1

    async def _send_chunk(
        self, key: str, digest: str, location: str, piece: bytes, offset: int
    ) -> str:
        """PATCH one chunk and remember the session for a later run."""
        location = await self._patch(digest, location, piece, offset)
        if self.sessions is not None:
            self.sessions.put(key, location)
        return location

    async def _resume(self, key: str, digest: str, saved: str) -> tuple[int, str | None]:
        """Where an earlier upload of this blob stopped: (bytes held, session URL)."""
        status, headers, _ = await self._call("GET", saved)
        if status != 204:
            assert self.sessions is not None
            self.sessions.drop(key)  # expired or unknown: start over
            return 0, None
        last = headers.get("range", "").rpartition("-")[2]
        held = int(last) + 1 if last.isdigit() else 0
        location = self._location(headers, digest) if headers.get("location") else saved
        return held, location

    async def _patch(self, digest: str, location: str, piece: bytes, offset: int) -> str:
        status, headers, _ = await self._call(
            "PATCH",
            location,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(piece) - 1}",
            },
            content=piece,
        )
        if status != 202:
            raise status_error(status, f"{self._where(digest)} (chunk at byte {offset})")
        self.stats.patches += 1
        self.stats.bytes_sent += len(piece)
        return self._location(headers, digest)

    async def _finish(self, digest: str, location: str, body: bytes, key: str) -> None:
        sep = "&" if "?" in location else "?"
        status, headers, _ = await self._call(
            "PUT",
            f"{location}{sep}{urlencode({'digest': digest})}",
            headers={"Content-Type": "application/octet-stream"},
            content=body,
        )
        if self.sessions is not None and status < 500:
            self.sessions.drop(key)  # done, or refused for good: nothing to resume
        if status != 201:
            raise status_error(status, f"{self._where(digest)} (completing the upload)")
        self.stats.bytes_sent += len(body)
        _check_announced(headers, digest, self._where(digest))

    def _location(self, headers: dict[str, str], digest: str) -> str:
        value = headers.get("location", "")
        if not value:
            raise UnsupportedError(f"{self._where(digest)}: upload answer has no Location")
        parts = urlsplit(value)
        if parts.netloc and parts.netloc != self.endpoint.host:
            raise UnsupportedError(
                f"{self._where(digest)}: the registry moved the upload to another host "
                f"({parts.netloc}), which is not supported"
            )
        return parts.path + (f"?{parts.query}" if parts.query else "")

    # -- manifests -------------------------------------------------------------------
    async def get_manifest(self, ref: str) -> bytes | None:
        """A manifest's bytes by tag (None if absent); the caller verifies what it needs."""
        found = await self._manifest("GET", ref)
        return None if found is None else found[1]

    async def put_manifest(
        self, ref: str, raw: bytes, media_type: str, digest: str
    ) -> dict[str, str]:
        """PUT a manifest by tag or digest; the registry must hash it to ``digest``.

        Returns the answer's headers (lower-case names): ``oci-subject`` says the
        registry indexed the manifest's subject for the referrers API."""
        status, headers, body = await self._call(
            "PUT",
            f"/v2/{self._repo}/manifests/{quote(ref, safe=':')}",
            headers={"Content-Type": media_type},
            content=raw,
            purpose="manifest",
        )
        where = f"{self.endpoint.name}{'@' if ':' in ref else ':'}{ref}"
        if status not in (200, 201):
            detail = registry_message(body)
            raise status_error(status, f"{where} (pushing the manifest)", detail)
        _check_announced(headers, digest, where)
        return headers


def _check_announced(headers: dict[str, str], digest: str, where: str) -> None:
    announced = headers.get("docker-content-digest")
    if announced and announced != digest:
        raise VerificationError(
            f"{where}: the registry stored digest {announced}, not the {digest} sent"
        )
