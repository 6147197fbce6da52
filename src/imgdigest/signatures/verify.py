"""The signature jobs: verify a digest's cosign signatures and attestations, and sign one.

A digest counts as signed when at least one payload at its ``.sig`` tag verifies with the
key *and* names that digest (and, when asked, the identity). Each payload gets its own
verdict, so a report says exactly what was found: nothing at all (exit 8), valid
signatures for another digest or identity - a signature copied from another image - (9),
or signatures the key does not verify - another key, or a payload or signature altered
after signing - (10). A payload whose bytes do not match its descriptor never gets that
far: the fetch itself fails (6).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Literal

from imgdigest import reference as references
from imgdigest.digest import Digest
from imgdigest.errors import (
    InvalidSignatureError,
    NoSignatureError,
    SignatureError,
    WrongSubjectError,
)
from imgdigest.reference import Reference
from imgdigest.referrers import cosign_tag
from imgdigest.resolver import AsyncResolver
from imgdigest.signatures import dsse, keys, payload, storage

Status = Literal["valid", "other-digest", "other-identity", "invalid", "malformed"]
Kind = Literal["signature", "attestation"]

#: cosign writes Docker Hub as its registry host's old name.
_HUB_NAMES = ("index.docker.io/", "registry-1.docker.io/")


def identity_name(ref: Reference) -> str:
    """The ``docker-reference`` cosign writes: the repository, Docker Hub as index.docker.io."""
    name = ref.name
    if name.startswith("docker.io/"):
        return "index.docker.io/" + name.removeprefix("docker.io/")
    return name


def _same_identity(claimed: str, wanted: str) -> bool:
    def canonical(text: str) -> str:
        for hub in _HUB_NAMES:
            if text.startswith(hub):
                text = "docker.io/" + text[len(hub) :]
        try:
            return references.normalize(text).name
        except Exception:  # an identity that is not a reference matches nothing
            return "\x00" + text

    return canonical(claimed) == canonical(wanted)


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on one signed payload."""

    kind: Kind
    layer: str  #: the payload's digest
    status: Status
    signed_digest: str | None = None
    identity: str | None = None
    predicate_type: str | None = None
    detail: str = ""

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "layer": self.layer, "status": self.status}
        if self.signed_digest is not None:
            out["signed_digest"] = self.signed_digest
        if self.identity is not None:
            out["identity"] = self.identity
        if self.predicate_type is not None:
            out["predicate_type"] = self.predicate_type
            out["predicate"] = dsse.predicate_name(self.predicate_type)
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class VerifyReport:
    """What ``verify`` found for one reference."""

    reference: str
    digest: str
    key: str
    identity: str | None = None
    attestations: bool = False
    checks: list[SignatureCheck] = field(default_factory=list)

    @property
    def valid(self) -> list[SignatureCheck]:
        return [c for c in self.checks if c.valid]

    def _kind_checks(self, kind: Kind) -> list[SignatureCheck]:
        return [c for c in self.checks if c.kind == kind]

    def error(self) -> SignatureError | None:
        """None when signed (and attested, if asked); else the error that says why not."""
        kinds: list[Kind] = ["attestation"] if self.attestations else ["signature"]
        where = f"{self.reference}@{self.digest}" if "@" not in self.reference else self.reference
        for kind in kinds:
            found = self._kind_checks(kind)
            if any(c.valid for c in found):
                continue
            tag = cosign_tag(self.digest, "att" if kind == "attestation" else "sig")
            if not found:
                return NoSignatureError(
                    f"{where}: no {kind} (nothing at tag {tag})",
                    reference=where,
                    reason=f"no {kind}",
                )
            wrong = [c for c in found if c.status in ("other-digest", "other-identity")]
            if wrong:
                first = wrong[0]
                what = (
                    f"digest {first.signed_digest}"
                    if first.status == "other-digest"
                    else f"identity {first.identity}"
                )
                reason = f"{len(found)} {kind}(s) at {tag}, none for it: one signs {what}"
                return WrongSubjectError(f"{where}: {reason}", reference=where, reason=reason)
            reason = (
                f"{len(found)} {kind}(s) at {tag}, none verifies with {self.key} "
                "(signed by another key, or the payload or signature was altered)"
            )
            return InvalidSignatureError(f"{where}: {reason}", reference=where, reason=reason)
        return None

    @property
    def exit_code(self) -> int:
        error = self.error()
        return 0 if error is None else error.exit_code

    def to_json(self) -> dict[str, Any]:
        error = self.error()
        return {
            "reference": self.reference,
            "digest": self.digest,
            "key": self.key,
            "identity": self.identity,
            "verified": error is None,
            "problem": None if error is None else error.reason,
            "exit_code": self.exit_code,
            "checks": [c.to_json() for c in self.checks],
        }


def _signature_check(
    layer: storage.Layer, key: keys.PublicKey, digest: str, identity: str | None
) -> SignatureCheck:
    d = layer.descriptor
    encoded = d.annotations.get(storage.SIGNATURE_ANNOTATION)
    if not encoded:
        return SignatureCheck("signature", d.digest, "malformed", detail="no signature annotation")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        return SignatureCheck("signature", d.digest, "malformed", detail="signature is not base64")
    if not keys.verify_bytes(key, layer.data, raw):
        return SignatureCheck("signature", d.digest, "invalid", detail="does not verify with key")
    claims = payload.parse(layer.data)
    if claims is None:
        return SignatureCheck(
            "signature", d.digest, "malformed", detail="not a simple-signing payload"
        )
    status: Status = "valid"
    if claims.digest != digest:
        status = "other-digest"
    elif identity is not None and not _same_identity(claims.identity, identity):
        status = "other-identity"
    return SignatureCheck("signature", d.digest, status, claims.digest, claims.identity)


def _attestation_check(layer: storage.Layer, key: keys.PublicKey, digest: str) -> SignatureCheck:
    d = layer.descriptor
    envelope = dsse.parse_envelope(layer.data)
    if envelope is None:
        return SignatureCheck("attestation", d.digest, "malformed", detail="not a DSSE envelope")
    signed = dsse.pae(envelope.payload_type, envelope.body)
    statement = dsse.parse_statement(envelope.body)
    predicate = statement.predicate_type if statement else d.annotations.get("predicateType")
    if not any(keys.verify_bytes(key, signed, sig) for sig in envelope.signatures):
        return SignatureCheck(
            "attestation",
            d.digest,
            "invalid",
            predicate_type=predicate,
            detail="does not verify with key",
        )
    if envelope.payload_type != dsse.IN_TOTO or statement is None:
        return SignatureCheck(
            "attestation", d.digest, "malformed", detail="not an in-toto statement"
        )
    if digest not in statement.subject_digests:
        other = statement.subject_digests[0] if statement.subject_digests else None
        return SignatureCheck(
            "attestation", d.digest, "other-digest", other, predicate_type=predicate
        )
    return SignatureCheck("attestation", d.digest, "valid", digest, predicate_type=predicate)


async def _layers(
    resolver: AsyncResolver, where: Reference, media_type: str
) -> list[storage.Layer | SignatureCheck]:
    """Each payload at the tag, fetched; an oversized one is judged without fetching it."""
    manifest = await storage.fetch_manifest(resolver, where)
    if manifest is None:
        return []
    out: list[storage.Layer | SignatureCheck] = []
    kind: Kind = "attestation" if media_type == dsse.DSSE_ENVELOPE else "signature"
    for d in manifest.layers:
        if d.media_type != media_type:
            continue
        if not 0 <= d.size <= storage.MAX_PAYLOAD_BYTES:
            detail = f"payload of {d.size} bytes is over the 8 MiB limit"
            out.append(SignatureCheck(kind, d.digest, "malformed", detail=detail))
            continue
        out.append(storage.Layer(d, await storage.fetch_layer(resolver, where, d)))
    return out


async def verify_digest(
    resolver: AsyncResolver,
    ref: Reference,
    digest: str,
    key: keys.PublicKey,
    *,
    key_name: str = "the key",
    identity: str | None = None,
    attestations: bool = False,
    given: str | None = None,
) -> VerifyReport:
    """Judge every signature (or attestation) stored for ``digest`` in ``ref``'s repository."""
    report = VerifyReport(given or str(ref), digest, key_name, identity, attestations)
    if attestations:
        where = storage.tag_ref(ref, digest, "att")
        for layer in await _layers(resolver, where, dsse.DSSE_ENVELOPE):
            if isinstance(layer, SignatureCheck):
                report.checks.append(layer)
            else:
                report.checks.append(_attestation_check(layer, key, digest))
    else:
        where = storage.tag_ref(ref, digest, "sig")
        for layer in await _layers(resolver, where, payload.SIMPLE_SIGNING):
            if isinstance(layer, SignatureCheck):
                report.checks.append(layer)
            else:
                report.checks.append(_signature_check(layer, key, digest, identity))
    return report


async def verify_reference(
    resolver: AsyncResolver,
    given: str,
    key: keys.PublicKey,
    *,
    key_name: str = "the key",
    identity: str | None = None,
    attestations: bool = False,
) -> VerifyReport:
    """Resolve ``given`` to its digest (a pinned digest is checked to exist), then verify it."""
    ref = references.normalize(given)
    resolution = await resolver.resolve(ref)
    return await verify_digest(
        resolver,
        ref,
        resolution.digest,
        key,
        key_name=key_name,
        identity=identity,
        attestations=attestations,
        given=given,
    )


@dataclass(frozen=True)
class SignResult:
    """What ``sign`` wrote: the signed digest, the tag, and the signature manifest's digest."""

    reference: str
    digest: str
    tag: str
    manifest_digest: str
    payload_digest: str
    signatures: int  #: how many the tag now holds
    added: bool  #: False when this exact signature was already there

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "tag": self.tag,
            "manifest_digest": self.manifest_digest,
            "payload_digest": self.payload_digest,
            "signatures": self.signatures,
            "added": self.added,
        }


async def sign_reference(
    resolver: AsyncResolver,
    given: str,
    key: keys.PrivateKey,
    *,
    annotations: dict[str, str] | None = None,
) -> SignResult:
    """Sign the digest ``given`` resolves to, appending to its ``.sig`` manifest as cosign does."""
    ref = references.normalize(given)
    digest = (await resolver.resolve(ref)).digest
    body = payload.build(digest, identity_name(ref), annotations)
    signature = base64.b64encode(keys.sign_bytes(key, body)).decode()
    where = storage.tag_ref(ref, digest, "sig")
    existing = await storage.fetch_manifest(resolver, where)
    layers: list[dict[str, object]] = []
    blobs: list[bytes] = []
    body_digest = str(Digest.of(body))
    if existing is not None:
        for d in existing.layers:
            layers.append(d.to_json())
    # ECDSA signatures differ every time: the same payload signed again is not re-added.
    already = any(
        entry.get("digest") == body_digest
        and keys.verify_bytes(
            key.public_key(),
            body,
            base64.b64decode(
                str((entry.get("annotations") or {}).get(storage.SIGNATURE_ANNOTATION, ""))  # type: ignore[union-attr]
            ),
        )
        for entry in layers
    )
    if not already:
        layers.append(
            {
                "mediaType": payload.SIMPLE_SIGNING,
                "size": len(body),
                "digest": body_digest,
                "annotations": {storage.SIGNATURE_ANNOTATION: signature},
            }
        )
        blobs.append(body)
    diff_ids = [str(entry["digest"]) for entry in layers]
    config = storage.signature_config(diff_ids)
    manifest = storage.signature_manifest(config, layers)
    manifest_digest = await storage.push(resolver, where, [*blobs, config], manifest)
    return SignResult(
        given, digest, str(where), manifest_digest, body_digest, len(layers), not already
    )
