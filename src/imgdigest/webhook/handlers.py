"""From a parsed AdmissionRequest to the AdmissionReview answer, per endpoint.

The gates every request passes first are shared by both endpoints, so validation and
mutation never disagree about what is in scope: DELETE and CONNECT, subresources other
than ``ephemeralcontainers``, exempted namespaces and opted-out objects are allowed
untouched. ``dryRun`` changes nothing: the webhook has no side effects to skip (a
lookup only fills a cache), so a dry run gets the very answer the real request would.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from imgdigest.webhook import review
from imgdigest.webhook.config import WebhookConfig
from imgdigest.webhook.lookup import Lookup
from imgdigest.webhook.mutate import mutate
from imgdigest.webhook.review import AdmissionRequest
from imgdigest.webhook.validate import violations


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


async def mutate_request(
    req: AdmissionRequest, config: WebhookConfig, lookup: Lookup, timeout: float
) -> Answer:
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
    return Answer(
        review.response(req.uid, warnings=warnings, patch=result.patch), verdict, len(result.patch)
    )
