"""The Kyverno equivalent: a ClusterPolicy that validates digests, and can pin them.

The validate rule applies the same test as the Gatekeeper template - the unanchored
digest pattern through Kyverno's ``regex_match`` (Go regular expressions, as in
Gatekeeper) - to every container, initContainer and ephemeralContainer of a Pod.
Kyverno's auto-generation then applies it to the pod templates of Deployments, Jobs,
CronJobs and the other controllers, as ``check`` does by default.

Exemptions become a ``foreach`` precondition. Kyverno's wildcards (``*`` anywhere,
``?``) are wider than the template's "exact, or prefix when it ends in ``*``", so only
entries whose single ``*`` is the last character (or that have none) are accepted:
with those, both engines exempt exactly the same images.

``mutate_digest`` adds a ``verifyImages`` rule with ``mutateDigest: true`` and no
attestors: Kyverno resolves each tag and writes the digest into the resource at
admission (``required: false``: it checks no signature).

``public_key`` (the PEM text of ``cosign.pub``) adds the signature rule ``imgdigest
verify`` and ``check --verify --key`` apply: a ``verifyImages`` entry with one key
attestor, ``required`` and ``verifyDigest`` on, and the transparency log and certificate
timestamps ignored (``rekor.ignoreTlog``, ``ctlog.ignoreSCT``), since a key signature
verified offline needs neither; it also pins tags when ``mutate_digest`` is asked.

There is no strict variant: Kyverno substitutes ``{{ }}`` variables in its expressions,
and the counted repetitions (``{64}``) of the strict pattern do not survive that.
``imgdigest policy gatekeeper --strict`` and ``imgdigest check --strict`` have it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imgdigest.errors import UsageError
from imgdigest.pinned import GATEKEEPER_DIGEST_PATTERN
from imgdigest.policy.render import to_yaml

DEFAULT_NAME = "require-image-digests"
FAILURE_ACTIONS = ("Enforce", "Audit")
_CONTAINERS = "request.object.spec.[ephemeralContainers, initContainers, containers][]"


def check_exemptions(exempt: Sequence[str]) -> list[str]:
    """Exemptions Kyverno matches exactly as the Gatekeeper template does."""
    for entry in exempt:
        body = entry[:-1] if entry.endswith("*") else entry
        if "*" in body or "?" in body:
            raise UsageError(
                f"exemption {entry!r}: Kyverno would read its '*' or '?' as a wildcard; "
                "only a trailing '*' (a prefix) means the same in both engines"
            )
    return list(exempt)


def _condition(pattern: str, expected: bool) -> dict[str, Any]:
    return {
        "key": f"{{{{ regex_match('{pattern}', '{{{{ element.image }}}}') }}}}",
        "operator": "Equals",
        "value": expected,
    }


def _foreach(exempt: Sequence[str], deny_any: list[dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"list": _CONTAINERS}
    if exempt:
        entry["preconditions"] = {
            "all": [{"key": "{{ element.image }}", "operator": "AnyNotIn", "value": list(exempt)}]
        }
    entry["deny"] = {"conditions": {"any": deny_any}}
    return entry


def _match(namespaces: Sequence[str] | None) -> dict[str, Any]:
    resources: dict[str, Any] = {"kinds": ["Pod"]}
    if namespaces:
        resources["namespaces"] = list(namespaces)
    return {"any": [{"resources": resources}]}


def cluster_policy(
    *,
    exempt: Sequence[str] = (),
    namespaces: Sequence[str] | None = None,
    mutate_digest: bool = False,
    failure_action: str = "Enforce",
    name: str = DEFAULT_NAME,
    public_key: str | None = None,
) -> dict[str, Any]:
    """The ClusterPolicy as a dict."""
    exempt = check_exemptions(exempt)
    if failure_action not in FAILURE_ACTIONS:
        raise UsageError(f"failure action must be one of {', '.join(FAILURE_ACTIONS)}")
    rules: list[dict[str, Any]] = []
    if public_key is not None:
        signed: dict[str, Any] = {
            "imageReferences": ["*"],
            "failureAction": failure_action,
            "mutateDigest": mutate_digest,
            "verifyDigest": True,
            "required": True,
            "attestors": [
                {
                    "count": 1,
                    "entries": [
                        {
                            "keys": {
                                "publicKeys": public_key.strip(),
                                "rekor": {"ignoreTlog": True},
                                "ctlog": {"ignoreSCT": True},
                            }
                        }
                    ],
                }
            ],
        }
        if exempt:
            signed["skipImageReferences"] = list(exempt)
        rules.append(
            {
                "name": "verify-image-signatures",
                "match": _match(namespaces),
                "verifyImages": [signed],
            }
        )
    elif mutate_digest:
        verify: dict[str, Any] = {
            "imageReferences": ["*"],
            "mutateDigest": True,
            "verifyDigest": False,
            "required": False,
        }
        if exempt:
            verify["skipImageReferences"] = list(exempt)
        rules.append(
            {"name": "pin-image-digests", "match": _match(namespaces), "verifyImages": [verify]}
        )
    rules.append(
        {
            "name": "require-image-digests",
            "match": _match(namespaces),
            "validate": {
                "failureAction": failure_action,
                "message": "Every container image must name a digest (name@sha256:...).",
                "foreach": [_foreach(exempt, [_condition(GATEKEEPER_DIGEST_PATTERN, False)])],
            },
        }
    )
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {
            "name": name,
            "annotations": {
                "policies.kyverno.io/title": "Require image digests",
                "policies.kyverno.io/category": "Supply Chain Security",
                "policies.kyverno.io/severity": "medium",
                "policies.kyverno.io/subject": "Pod",
                "policies.kyverno.io/description": (
                    "A tag can be moved to other content at any time; a digest cannot. "
                    "Images must be referenced by digest so what runs is what was reviewed."
                ),
            },
        },
        "spec": {"background": True, "rules": rules},
    }


def render(**options: Any) -> str:
    return to_yaml([cluster_policy(**options)])
