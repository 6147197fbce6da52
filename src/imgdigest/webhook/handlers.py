"""From a parsed AdmissionRequest to the AdmissionReview answer, per endpoint.

The gates every request passes first are shared by both endpoints, so validation and
mutation never disagree about what is in scope: DELETE and CONNECT, subresources other
than ``ephemeralcontainers``, exempted namespaces and opted-out objects are allowed
untouched. ``dryRun`` changes nothing: the webhook has no side effects to skip (a
lookup only fills a cache), so a dry run gets the very answer the real request would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from imgdigest.webhook import review
from imgdigest.webhook.config import WebhookConfig
from imgdigest.webhook.lookup import Lookup
from imgdigest.webhook.mutate import mutate
from imgdigest.webhook.review import AdmissionRequest
from imgdigest.webhook.validate import violations

if TYPE_CHECKING:
    from imgdigest.webhook.signed import SignatureGate


class Answer(NamedTuple):
    review: dict[str, Any]  # the AdmissionReview answer
    verdict: str  # label for metrics and the review log
    pinned: int = 0  # images the patch pins


_JUDGED_SUBRESOURCES = ("", "ephemeralcontainers")
_TRUE = ("true", "yes", "1", "skip")


def opted_out(obj: Any, key: str) -> bool:
    """The object carries the opt-out label or annotation with a true value."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return False
    for where in ("labels", "annotations"):
        values = meta.get(where)
        if isinstance(values, dict):
            value = values.get(key)
            if isinstance(value, str) and value.strip().lower() in _TRUE:
                return True
    return False


def _untouched(req: AdmissionRequest, config: WebhookConfig) -> bool:
    if req.operation in ("DELETE", "CONNECT"):
        return True
    if req.sub_resource not in _JUDGED_SUBRESOURCES:
        return True
    if req.namespace and req.namespace in config.exempt_namespaces:
        return True
    return opted_out(req.obj, config.opt_out)


def _missing_object(req: AdmissionRequest) -> Answer | None:
    if isinstance(req.obj, dict):
        return None
    return Answer(
        review.response(
            req.uid, allowed=False, code=400, message=f"{req.operation} request has no object"
        ),
        "invalid",
    )


def validate(req: AdmissionRequest, config: WebhookConfig) -> Answer:
    if _untouched(req, config):
        return Answer(review.response(req.uid), "skipped")
    missing = _missing_object(req)
    if missing is not None:
        return missing
    messages = violations(req.obj, config)
    if not messages:
        return Answer(review.response(req.uid), "allowed")
    if config.enforce == "warn":
        return Answer(review.response(req.uid, warnings=messages), "warned")
    return Answer(review.response(req.uid, allowed=False, message="; ".join(messages)), "denied")


def admitted_images(
    obj: Any, config: WebhookConfig, patch: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """(who, image) for each pinned image ``obj`` is admitted with, ``patch`` applied."""
    from imgdigest.check import is_exempt
    from imgdigest.kubernetes import image_slots, json_pointer
    from imgdigest.pinned import is_pinned

    patched = {op["path"]: op["value"] for op in patch if op.get("op") == "replace"}
    out = []
    for slot in image_slots(obj) if isinstance(obj, dict) else ():
        image = patched.get(json_pointer(slot.path), slot.image)
        if not isinstance(image, str) or not is_pinned(image, strict=config.strict):
            continue
        if is_exempt(image, config.exempt_images):
            continue
        name = slot.name if isinstance(slot.name, str) else "?"
        out.append((f"{slot.role} <{name}>", image))
    return out


async def require_signatures(
    req: AdmissionRequest,
    config: WebhookConfig,
    gate: SignatureGate,
    answer: Answer,
    timeout: float,
    patch: list[dict[str, Any]] | None = None,
) -> Answer:
    """``answer``, or a refusal naming each admitted digest without a valid signature."""
    if answer.verdict in ("skipped", "invalid", "denied", "error"):
        return answer
    admitted = admitted_images(req.obj, config, patch or [])
    problems = await gate.problems((image for _, image in admitted), timeout)
    if not problems:
        return answer
    messages = list(
        dict.fromkeys(
            f"{who} uses a digest without a valid signature <{image}>: {problems[image]}"
            for who, image in admitted
            if image in problems
        )
    )
    if config.enforce == "warn":
        warnings = [*answer.review["response"].get("warnings", []), *messages]
        reply = review.response(req.uid, warnings=warnings, patch=patch or None)
        return Answer(reply, "warned", answer.pinned)
    return Answer(review.response(req.uid, allowed=False, message="; ".join(messages)), "denied")


async def mutate_request(
    req: AdmissionRequest,
    config: WebhookConfig,
    lookup: Lookup,
    timeout: float,
    gate: SignatureGate | None = None,
) -> Answer:
    """Pin, then (with ``require_signature``) verify the digests the object is admitted with."""
    import time

    started = time.perf_counter()
    if _untouched(req, config):
        return Answer(review.response(req.uid), "skipped")
    missing = _missing_object(req)
    if missing is not None:
        return missing
    result = await mutate(req.obj, req.old_obj, req.operation, config, lookup, timeout)
    if req.sub_resource == "ephemeralcontainers":
        # Through this subresource only ephemeral containers may change.
        result.patch = [op for op in result.patch if "/ephemeralContainers/" in op["path"]]
    if result.failures and config.on_resolve_error == "deny":
        return Answer(
            review.response(req.uid, allowed=False, message="; ".join(result.failures)),
            "denied",
        )
    # Fail-open: what could not be pinned is admitted as it is, and said so.
    warnings = result.failures
    verdict = "patched" if result.patch else ("warned" if warnings else "allowed")
    answer = Answer(
        review.response(req.uid, warnings=warnings, patch=result.patch), verdict, len(result.patch)
    )
    if gate is not None and gate.rules:
        left = timeout - (time.perf_counter() - started)
        answer = await require_signatures(req, config, gate, answer, left, result.patch)
    return answer
