"""The OPA Gatekeeper policy: a ``K8sImageDigests`` ConstraintTemplate and its Constraint.

The Rego is the seed's policy in the form the Gatekeeper library ships today
(``not regex.match(...)`` where the seed used the deprecated ``re_match`` with
``all``): the same verdicts and the same messages, so ``imgdigest check --compat
gatekeeper`` and the cluster agree. Options only ever *add* rules:

* ``strict`` adds, for images that pass the digest pattern, a full check of the
  reference (``pinned.STRICT_REFERENCE_PATTERN``: distribution grammar, digest length
  per algorithm, remote name at most 255 characters) - the rule of ``check --strict``;
* ``workloads`` adds the pod templates of Deployments, StatefulSets, DaemonSets,
  ReplicaSets, ReplicationControllers, Jobs, CronJobs and PodTemplates, so a bad
  template is refused when it is applied, not when its Pods are created.

The Constraint defaults to the seed's: Pods in the ``default`` namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from imgdigest.errors import UsageError
from imgdigest.kubernetes import CONTAINER_LISTS
from imgdigest.pinned import (
    GATEKEEPER_DIGEST_PATTERN,
    NAME_THEN_DIGEST_PATTERN,
    PHRASES,
    STRICT_REFERENCE_PATTERN,
)
from imgdigest.policy.render import Literal, to_yaml
from imgdigest.reference import NAME_TOTAL_LENGTH_MAX

TEMPLATE_NAME = "k8simagedigests"
CONSTRAINT_KIND = "K8sImageDigests"
DEFAULT_CONSTRAINT_NAME = "container-image-must-have-digest"
DEFAULT_NAMESPACES: tuple[str, ...] = ("default",)
DEFAULT_KINDS: tuple[str, ...] = ("Pod",)
ENFORCEMENT_ACTIONS = ("deny", "warn", "dryrun")

#: API group of each kind the policy knows; others are given as ``group/Kind``.
KIND_GROUPS: Mapping[str, str] = {
    "Pod": "",
    "PodTemplate": "",
    "ReplicationController": "",
    "Deployment": "apps",
    "StatefulSet": "apps",
    "DaemonSet": "apps",
    "ReplicaSet": "apps",
    "Job": "batch",
    "CronJob": "batch",
}

_LIB = """\
package lib.exempt_container

is_exempt(container) {
    exempt_images := object.get(object.get(input, "parameters", {}), "exemptImages", [])
    img := container.image
    exemption := exempt_images[_]
    _matches_exemption(img, exemption)
}

_matches_exemption(img, exemption) {
    not endswith(exemption, "*")
    exemption == img
}

_matches_exemption(img, exemption) {
    endswith(exemption, "*")
    prefix := trim_suffix(exemption, "*")
    startswith(img, prefix)
}
"""

_RULE = """\
violation[{{"msg": msg}}] {{
  container := {source}.{list}[_]
  not is_exempt(container)
  not regex.match("{pattern}", container.image)
  msg := sprintf("{word} <%v> {phrase} <%v>", [container.name, container.image])
}}
"""

_STRICT_RULE = """\
violation[{{"msg": msg}}] {{
  container := {source}.{list}[_]
  not is_exempt(container)
  regex.match("{pattern}", container.image)
  problem := strict_problem(container.image)
  msg := sprintf("{word} <%v> %v <%v>", [container.name, problem, container.image])
}}
"""

_STRICT_HELPERS = """\
# --strict: the whole reference must follow the distribution grammar, with a digest
# of the right length for its algorithm and a repository path of at most {max} characters.
valid_reference(image) {{
  groups := regex.find_all_string_submatch_n(`^(?:{strict})$`, image, 1)
  count(groups[0][2]) <= {max}
}}

strict_problem(image) = "{invalid_digest}" {{
  not valid_reference(image)
  regex.match(`^(?:{name_then_digest})$`, image)
}}

strict_problem(image) = "{invalid_reference}" {{
  not valid_reference(image)
  not regex.match(`^(?:{name_then_digest})$`, image)
}}
"""

_WORKLOAD_SPECS = """\
# Pod templates of workloads: judged when the workload is applied.
template_specs[spec] {
  spec := input.review.object.spec.template.spec
}

template_specs[spec] {
  input.review.object.kind == "PodTemplate"
  spec := input.review.object.template.spec
}

template_specs[spec] {
  spec := input.review.object.spec.jobTemplate.spec.template.spec
}
"""


def rego(*, strict: bool = False, workloads: bool = False) -> str:
    """The ``admission.k8s.gatekeeper.sh`` Rego module."""
    sources = ["input.review.object.spec"]
    parts = ["package k8simagedigests\n", "import data.lib.exempt_container.is_exempt\n"]
    if workloads:
        sources.append("spec")
    for source in sources:
        for list_key, word in CONTAINER_LISTS:
            fields = {
                "source": source,
                "list": list_key,
                "word": word,
                "pattern": GATEKEEPER_DIGEST_PATTERN,
                "phrase": PHRASES["no-digest"],
            }
            rules = [_RULE.format(**fields)]
            if strict:
                rules.append(_STRICT_RULE.format(**fields))
            for rule in rules:
                if source == "spec":
                    rule = rule.replace(
                        "{\n  container :=", "{\n  template_specs[spec]\n  container :=", 1
                    )
                parts.append(rule)
    if workloads:
        parts.append(_WORKLOAD_SPECS)
    if strict:
        parts.append(
            _STRICT_HELPERS.format(
                strict=STRICT_REFERENCE_PATTERN,
                name_then_digest=NAME_THEN_DIGEST_PATTERN,
                max=NAME_TOTAL_LENGTH_MAX,
                invalid_digest=PHRASES["invalid-digest"],
                invalid_reference=PHRASES["invalid-reference"],
            )
        )
    return "\n".join(parts)


def library() -> str:
    """The ``lib.exempt_container`` module the template imports."""
    return _LIB


def constraint_template(*, strict: bool = False, workloads: bool = False) -> dict[str, Any]:
    description = (
        "Requires container images to name a digest (name@sha256:...), so a workload "
        "runs exactly the content that was reviewed, whatever happens to its tags."
    )
    if strict:
        description += " Strict: the reference must be valid and its digest well-formed."
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {
            "name": TEMPLATE_NAME,
            "annotations": {
                "metadata.gatekeeper.sh/title": "Image Digests",
                "metadata.gatekeeper.sh/version": "1.0.1",
                "description": description,
            },
        },
        "spec": {
            "crd": {
                "spec": {
                    "names": {"kind": CONSTRAINT_KIND},
                    "validation": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": description,
                            "properties": {
                                "exemptImages": {
                                    "description": (
                                        "Images exempt from the rule: an exact reference, or a "
                                        "prefix when the entry ends in `*`. Prefer full names with "
                                        "their registry, so no other registry's image matches."
                                    ),
                                    "type": "array",
                                    "items": {"type": "string"},
                                }
                            },
                        }
                    },
                }
            },
            "targets": [
                {
                    "target": "admission.k8s.gatekeeper.sh",
                    "rego": Literal(rego(strict=strict, workloads=workloads)),
                    "libs": [Literal(library())],
                }
            ],
        },
    }


def match_kinds(kinds: Iterable[str]) -> list[dict[str, list[str]]]:
    """``spec.match.kinds`` entries, one per API group, in the order first named."""
    groups: dict[str, list[str]] = {}
    for kind in kinds:
        group, _, name = kind.rpartition("/")
        if not group:
            if kind not in KIND_GROUPS:
                raise UsageError(
                    f"unknown kind {kind!r}: give it with its API group, as GROUP/{kind}"
                )
            group = KIND_GROUPS[kind]
        group = "" if group in ("core", "v1") else group
        groups.setdefault(group, [])
        if name not in groups[group]:
            groups[group].append(name)
    return [{"apiGroups": [group], "kinds": names} for group, names in groups.items()]


def constraint(
    *,
    exempt: Sequence[str] = (),
    namespaces: Sequence[str] | None = DEFAULT_NAMESPACES,
    kinds: Sequence[str] = DEFAULT_KINDS,
    name: str = DEFAULT_CONSTRAINT_NAME,
    enforcement_action: str | None = None,
) -> dict[str, Any]:
    """The ``K8sImageDigests`` Constraint; ``namespaces=None`` matches every namespace."""
    match: dict[str, Any] = {"kinds": match_kinds(kinds)}
    if namespaces:
        match["namespaces"] = list(namespaces)
    spec: dict[str, Any] = {}
    if enforcement_action is not None:
        if enforcement_action not in ENFORCEMENT_ACTIONS:
            raise UsageError(f"enforcement action must be one of {', '.join(ENFORCEMENT_ACTIONS)}")
        spec["enforcementAction"] = enforcement_action
    spec["match"] = match
    if exempt:
        spec["parameters"] = {"exemptImages": list(exempt)}
    return {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": CONSTRAINT_KIND,
        "metadata": {"name": name},
        "spec": spec,
    }


def needs_workload_rules(kinds: Iterable[str]) -> bool:
    return any(kind.rpartition("/")[2] != "Pod" for kind in kinds)


def render(
    *,
    exempt: Sequence[str] = (),
    namespaces: Sequence[str] | None = DEFAULT_NAMESPACES,
    kinds: Sequence[str] = DEFAULT_KINDS,
    strict: bool = False,
    name: str = DEFAULT_CONSTRAINT_NAME,
    enforcement_action: str | None = None,
) -> str:
    """Template and Constraint as one YAML stream."""
    template = constraint_template(strict=strict, workloads=needs_workload_rules(kinds))
    return to_yaml(
        [
            template,
            constraint(
                exempt=exempt,
                namespaces=namespaces,
                kinds=kinds,
                name=name,
                enforcement_action=enforcement_action,
            ),
        ]
    )
