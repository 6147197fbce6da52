"""The validating verdict: ``check``'s messages for the object under review.

Nothing is judged here: the rule, the exemptions and the message text are
``imgdigest.check``'s, so a manifest that passes ``imgdigest check`` in CI is admitted,
and a refusal reads exactly as the CI failure did. Pods and every kind with a pod
template are judged (``check``'s default scope), so a Deployment with a tag is refused
when it is applied rather than when its ReplicaSet fails to create Pods.
"""

from __future__ import annotations

from typing import Any

from imgdigest.check import object_messages
from imgdigest.webhook.config import WebhookConfig


def violations(obj: Any, config: WebhookConfig) -> list[str]:
    """``check``'s messages for ``obj``; none for anything that is not an object."""
    if not isinstance(obj, dict):
        return []
    return object_messages(obj, compat=None, strict=config.strict, exempt=config.exempt_images)
