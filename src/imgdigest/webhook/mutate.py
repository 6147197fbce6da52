"""Pin tags to digests at admission: the JSONPatch for a Pod or a workload template.

Pinning the template of a Deployment (not only its Pods) gives every replica of a
rollout the same digest even if the tag moves half-way through, and the Pods it creates
arrive already pinned, so they cost nothing. The patch replaces image strings only,
keeps the tag (``nginx:1.25`` -> ``nginx:1.25@sha256:...``), and touches only images
that are not pinned by the rule ``/validate`` applies (``imgdigest.pinned.is_pinned``,
with the ``strict`` setting), so the two endpoints never disagree about what is pinned,
a second call returns no patch and ``reinvocationPolicy: IfNeeded`` is safe. Under
``strict`` an image whose digest is malformed is not pinned, but its digest is the
user's: it is reported with ``check``'s message (a failure, as a lookup error is), not
replaced.

On UPDATE, an image whose text is the same as in ``oldObject``, where the old object
had pinned it, gets the old digest back without asking the registry. A GitOps tool
re-applying a tag-only manifest then leaves the template as it was, instead of rolling
out a new ReplicaSet whenever the tag has moved (or flapping between two digests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imgdigest.check import is_exempt, message
from imgdigest.errors import ImgdigestError
from imgdigest.kubernetes import ImageSlot, Path, image_slots, json_pointer
from imgdigest.pinned import has_digest, is_pinned, strict_problem
from imgdigest.reference import pin_text
from imgdigest.webhook.config import WebhookConfig
from imgdigest.webhook.lookup import Lookup


@dataclass
class MutationResult:
    """What the mutating endpoint answers."""

    patch: list[dict[str, Any]] = field(default_factory=list)
    # Images that could not be pinned, with why; they deny under on_resolve_error=deny.
    failures: list[str] = field(default_factory=list)


def pin_candidates(obj: Any, config: WebhookConfig) -> list[tuple[ImageSlot[Any], str]]:
    """Slots whose string image is not pinned, is not exempted and is configured to pin."""
    if not isinstance(obj, dict):
        return []
    out = []
    for slot in image_slots(obj):
        image = slot.image
        if not isinstance(image, str) or not image or is_pinned(image, strict=config.strict):
            continue
        if is_exempt(image, config.exempt_images):
            continue
        if config.pin_images and not is_exempt(image, config.pin_images):
            continue
        out.append((slot, image))
    return out


def _identity(slot: ImageSlot[Any]) -> tuple[Path, str, object]:
    """Which container a slot belongs to, stable under reordering: (pod spec, list, name)."""
    # path = (*pod_spec_path, list_key, index, "image"[, "reference"])
    cut = len(slot.path) - (4 if slot.role == "imageVolume" else 3)
    spec_path, list_key = slot.path[:cut], slot.path[cut]
    name = slot.name if isinstance(slot.name, str) else slot.path[cut + 1]
    return spec_path, str(list_key), name


def old_pins(old_obj: Any, strict: bool = False) -> dict[tuple[Path, str, object], str]:
    """Pinned images of the old object, by container identity."""
    if not isinstance(old_obj, dict):
        return {}
    pins = {}
    for slot in image_slots(old_obj):
        if isinstance(slot.image, str) and is_pinned(slot.image, strict=strict):
            pins[_identity(slot)] = slot.image
    return pins


async def mutate(
    obj: Any,
    old_obj: Any,
    operation: str,
    config: WebhookConfig,
    lookup: Lookup,
    timeout: float,
) -> MutationResult:
    """The patch pinning ``obj``'s unpinned images, resolving within ``timeout`` seconds."""
    result = MutationResult()
    candidates = pin_candidates(obj, config)
    if not candidates:
        return result
    keep = operation == "UPDATE" and config.keep_old_digests
    kept = old_pins(old_obj, config.strict) if keep else {}
    pinned: dict[int, str] = {}  # candidate index -> new image text
    to_resolve: list[tuple[int, ImageSlot[Any], str]] = []
    for i, (slot, image) in enumerate(candidates):
        problem = strict_problem(image) if has_digest(image) else None
        if problem is not None:  # only under strict: a digest the user wrote, malformed
            result.failures.append(message(_who(slot), problem, image))
            continue
        old = kept.get(_identity(slot))
        if old is not None and old.split("@", 1)[0] == image:
            pinned[i] = old
        else:
            to_resolve.append((i, slot, image))
    answers = await lookup.resolve_all((image for _, _, image in to_resolve), timeout)
    for i, slot, image in to_resolve:
        answer = answers[image]
        if isinstance(answer, ImgdigestError):
            result.failures.append(f"{_who(slot)} cannot be pinned <{image}>: {answer}")
            continue
        pinned[i] = pin_text(image, answer.digest, keep_tag=True)
    for i, (slot, _) in enumerate(candidates):
        if i in pinned:
            result.patch.append(
                {"op": "replace", "path": json_pointer(slot.path), "value": pinned[i]}
            )
    return result


def _who(slot: ImageSlot[Any]) -> str:
    name = slot.name if isinstance(slot.name, str) else "?"
    return f"{slot.role} <{name}>"
