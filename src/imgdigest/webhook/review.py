"""AdmissionReview ``admission.k8s.io/v1``: the request as the API server sends it, the answers.

Parsing is strict about the envelope and lenient about the object: a body that is not
an AdmissionReview is the caller's mistake and gets a 400 (``ReviewError``), while an
object of any shape inside a well-formed review gets an answer, because the API server
is the only legitimate caller and an unanswerable review must never become a 500.

Responses echo ``uid`` and carry only what Kubernetes reads: ``allowed``, a
``status`` with code and message for denials, ``warnings``, and a base64 JSONPatch.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"

# The API server may truncate warnings longer than 256 characters and drops warnings
# past 4096 characters in total; stay within both so every message arrives whole.
MAX_WARNINGS = 15
MAX_WARNING_CHARS = 256


_REASONS = {400: "BadRequest", 403: "Forbidden", 500: "InternalError"}


class ReviewError(ValueError):
    """The body is not an AdmissionReview this webhook can answer (HTTP 400)."""


@dataclass(frozen=True)
class AdmissionRequest:
    """The parts of ``request`` the webhook reads."""

    uid: str
    operation: str
    kind: str
    namespace: str
    name: str
    sub_resource: str
    obj: Any
    old_obj: Any
    dry_run: bool


def parse(body: bytes) -> AdmissionRequest:
    """The request of an AdmissionReview body; ``ReviewError`` names what is wrong."""
    try:
        review = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ReviewError("body is not JSON") from None
    except RecursionError:
        raise ReviewError("body nests too deeply to be a Kubernetes object") from None
    if not isinstance(review, dict):
        raise ReviewError("body is not a JSON object")
    if review.get("kind") != KIND:
        raise ReviewError(f"kind must be {KIND}, not {_short(review.get('kind'))}")
    if review.get("apiVersion") != API_VERSION:
        raise ReviewError(
            f"apiVersion must be {API_VERSION}, not {_short(review.get('apiVersion'))}"
        )
    request = review.get("request")
    if not isinstance(request, dict):
        raise ReviewError("AdmissionReview has no request")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError("request.uid must be a non-empty string")
    operation = request.get("operation")
    if operation not in ("CREATE", "UPDATE", "DELETE", "CONNECT"):
        raise ReviewError(f"request.operation {_short(operation)} is not one Kubernetes sends")
    kind = request.get("kind")
    kind_name = kind.get("kind") if isinstance(kind, dict) else None
    if not isinstance(kind_name, str):
        raise ReviewError("request.kind.kind must be a string")
    return AdmissionRequest(
        uid=uid,
        operation=operation,
        kind=kind_name,
        namespace=_text(request.get("namespace")),
        name=_text(request.get("name")),
        sub_resource=_text(request.get("subResource")),
        obj=request.get("object"),
        old_obj=request.get("oldObject"),
        dry_run=request.get("dryRun") is True,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def response(
    uid: str,
    *,
    allowed: bool = True,
    message: str = "",
    code: int = 403,
    warnings: list[str] | None = None,
    patch: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A complete AdmissionReview answer."""
    answer: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        answer["status"] = {
            "code": code,
            "reason": _REASONS.get(code, "InternalError"),
            "message": message,
        }
    if warnings:
        answer["warnings"] = [_warning(w) for w in warnings[:MAX_WARNINGS]]
    if patch:
        answer["patchType"] = "JSONPatch"
        answer["patch"] = base64.b64encode(
            json.dumps(patch, separators=(",", ":")).encode()
        ).decode("ascii")
    return {"apiVersion": API_VERSION, "kind": KIND, "response": answer}


def _warning(text: str) -> str:
    # The API server rejects warnings with control characters; keep them one line.
    text = " ".join(text.split())
    return text if len(text) <= MAX_WARNING_CHARS else text[: MAX_WARNING_CHARS - 3] + "..."
