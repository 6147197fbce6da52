"""The admission webhook: validate (``check``'s verdict) and mutate (pin tags) at admission.

Modules, from the wire inwards: ``server`` (uvicorn over HTTPS, ``tlsreload`` for
certificate rotation), ``app`` (the ASGI routes and metrics), ``review`` (AdmissionReview
in and out), ``handlers`` (what each endpoint answers), ``validate`` and ``mutate`` (the
verdict and the JSONPatch), ``lookup`` and ``cache`` (registry lookups within a deadline),
``config`` (the policy of one process) and ``certs`` (a CA for clusters without
cert-manager).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgdigest.webhook.app import WebhookApp
    from imgdigest.webhook.config import WebhookConfig

__all__ = ["WebhookApp", "WebhookConfig"]


def __getattr__(name: str) -> Any:
    """Load the server only when it is asked for: ``--help`` reads just the config."""
    if name == "WebhookApp":
        from imgdigest.webhook.app import WebhookApp

        return WebhookApp
    if name == "WebhookConfig":
        from imgdigest.webhook.config import WebhookConfig

        return WebhookConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
