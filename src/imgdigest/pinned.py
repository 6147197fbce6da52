"""What "pinned" means: the rules, and which command applies which.

"Does this image have a digest?" has two right answers, and each command needs one:

* **Gatekeeper's rule** (``has_digest``): the ``K8sImageDigests`` template's unanchored
  pattern ``GATEKEEPER_DIGEST`` occurs somewhere in the string; no parse, no length
  check, so ``nginx@sha256:abc`` is pinned. ``check`` and the admission webhook (both
  ``/validate`` and ``/mutate``'s "already pinned, leave it") apply it by default,
  because a manifest must pass here exactly when it passes the cluster's policy.
* **The strict rule** (``strict_problem``): the whole string is a reference by the
  distribution grammar, with a digest well-formed for its algorithm
  (``STRICT_REFERENCE``, RE2-compatible so the ``--strict`` Rego shares its text).
  ``check --strict`` and the webhook's ``strict`` setting add it on top of Gatekeeper's:
  there ``nginx@sha256:abc`` is not pinned (validate denies it, mutate reports it).
  ``is_pinned`` combines the two as the webhook needs them.
* **The parse** (``reference_state``, ``kustomize_state``): ``pin``, ``drift`` and
  ``lock`` must know the tag to resolve and the digest to compare, not only whether the
  text looks pinned, so they read the reference fully (Docker's normalization) and an
  invalid one is an error, never "unpinned". A kustomize entry is read key by key,
  because kustomize itself reads ``newTag`` and ``digest`` apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from imgdigest import reference as references
from imgdigest.digest import ALGORITHMS
from imgdigest.lazyre import lazy_patterns
from imgdigest.reference import NAME_TOTAL_LENGTH_MAX, PATTERNS, Reference

#: The template's own test for "has a digest" (searched, not anchored).
GATEKEEPER_DIGEST_PATTERN = "@[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"
GATEKEEPER_DIGEST = re.compile(GATEKEEPER_DIGEST_PATTERN)

_STRICT_DIGEST = "|".join(
    f"{name}:[a-f0-9]{{{size * 2}}}" for name, size in sorted(ALGORITHMS.items())
)
#: A reference with a digest valid for its algorithm, by the distribution grammar.
#: Groups: 1 domain, 2 remote name (at most 255 characters), 3 digest. RE2-compatible,
#: so the ``--strict`` Rego uses the same text; match it whole (``fullmatch``/``^$``).
_NAME_AND_TAG = PATTERNS["ANCHORED_NAME_RE"] + f"(?::{PATTERNS['ANCHORED_TAG_RE']})?"
STRICT_REFERENCE_PATTERN = _NAME_AND_TAG + f"@({_STRICT_DIGEST})"
#: The name and tag are fine, whatever follows the ``@``: the digest is what is wrong.
NAME_THEN_DIGEST_PATTERN = _NAME_AND_TAG + "@[^@]*"

#: Compiled on first use (1 ms): only ``--strict`` and the webhook's strict mode need them.
_LAZY = {"STRICT_REFERENCE": STRICT_REFERENCE_PATTERN, "NAME_THEN_DIGEST": NAME_THEN_DIGEST_PATTERN}

if TYPE_CHECKING:
    STRICT_REFERENCE: re.Pattern[str]
    NAME_THEN_DIGEST: re.Pattern[str]


__getattr__, _strict = lazy_patterns(globals(), _LAZY)

#: What the strict rule finds wrong (also ``check``'s rule names).
StrictProblem = Literal["invalid-digest", "invalid-reference"]

#: Every verdict ``check`` and the webhook can give; the last four need a registry.
Rule = Literal[
    "no-digest",
    "invalid-digest",
    "invalid-reference",
    "digest-not-found",
    "tag-moved",
    "unverified",
    "unsigned",
]

#: How each rule's message reads after the ``<role> <NAME>`` label (the Gatekeeper
#: template's words for ``no-digest``; the Rego ``policy`` emits shares them).
PHRASES: Mapping[str, str] = {
    "no-digest": "uses an image without a digest",
    "invalid-digest": "uses an image with an invalid digest",
    "invalid-reference": "uses an invalid image reference",
    "digest-not-found": "uses a digest its registry does not have",
    "tag-moved": "uses a digest its tag no longer points at",
    "unverified": "uses an image that could not be verified",
    "unsigned": "uses a digest without a valid signature",
}


def has_digest(image: str) -> bool:
    """Gatekeeper's test: the digest pattern occurs somewhere in the string."""
    return GATEKEEPER_DIGEST.search(image) is not None


def strict_problem(image: str) -> StrictProblem | None:
    """What the strict rule finds wrong with an image that has a digest, if anything."""
    match = _strict("STRICT_REFERENCE").fullmatch(image)
    if match is not None and len(match.group(2)) <= NAME_TOTAL_LENGTH_MAX:
        return None
    if _strict("NAME_THEN_DIGEST").fullmatch(image) is not None:
        return "invalid-digest"
    return "invalid-reference"


def is_pinned(image: str, *, strict: bool = False) -> bool:
    """Pinned by Gatekeeper's rule and, with ``strict``, by the strict one too."""
    return has_digest(image) and not (strict and strict_problem(image) is not None)


def reference_state(image: str) -> tuple[Reference | None, str | None]:
    """The normalized ``name:tag`` an image names (None without a tag), and its digest.

    Raises ``InvalidReferenceError`` for text that is not a reference.
    """
    ref = references.normalize(image)
    tagged = ref.without_digest() if ref.tag is not None else None
    return tagged, ref.digest


def kustomize_state(
    name: str | None, new_tag: str | None, digest: str | None
) -> tuple[Reference | None, str | None]:
    """``reference_state`` of a kustomize ``images:`` entry, from its keys' values.

    ``name`` is ``newName`` or else ``name``. The tag is ``newTag`` before any ``@``, even
    when ``digest`` is set and kustomize ignores it: it still says which tag the pin was
    taken from. The digest is ``digest``, or else the one ``newTag: TAG@DIGEST`` carries.
    """
    if name is None:
        return None, None
    tag, _, tag_digest = (new_tag or "").partition("@")
    current = digest if digest is not None else (tag_digest or None)
    tagged = references.normalize(f"{name}:{tag}") if tag else None
    return tagged, current
