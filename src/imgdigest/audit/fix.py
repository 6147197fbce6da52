"""``--fix``: the patches that converge each workload on one digest, never applied here.

A strategic-merge patch names the container and its new image (``name:tag@digest``) at
the place the workload's kind keeps its pod template; ``kubectl patch --type strategic``
or a kustomize ``patches:`` entry applies it. The kustomize ``images:`` form pins by image
name for a whole kustomization, so two workloads that must converge on different digests
of one name cannot both be expressed: the second is left as a comment saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from imgdigest import reference as references
from imgdigest.display import safe
from imgdigest.errors import ImgdigestError

if TYPE_CHECKING:
    from imgdigest.audit.model import AuditReport

_FIXABLE = frozenset(("mixed", "unpinned", "stale", "mismatch"))
_TEMPLATE = {
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
_FIELD = {"container": "containers", "init": "initContainers"}


@dataclass(frozen=True)
class Fix:
    """Converge one container of one workload on ``digest``."""

    namespace: str
    kind: str
    workload: str
    api_version: str
    container: str
    role: str
    name: str  #: the image's repository as the spec writes it (what kustomize matches)
    image: str  #: the new image: the spec's spelling, tag kept, with the digest
    digest: str
    problems: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "kind": self.kind,
            "workload": self.workload,
            "container": self.container,
            "image": self.image,
            "digest": self.digest,
            "problems": list(self.problems),
        }


def fixes(report: AuditReport) -> list[Fix]:
    found: list[Fix] = []
    for w in report.workloads:
        for c in w.containers:
            problems = tuple(dict.fromkeys(f.problem for f in c.findings if f.problem in _FIXABLE))
            if not problems or c.target is None or not c.spec or c.role == "ephemeral":
                continue
            spelled = c.spec[0]
            try:
                ref = references.parse_normalized(spelled)
            except ImgdigestError:
                continue
            image = references.pin_text(spelled, c.target, keep_tag=True)
            name = spelled.split("@", 1)[0]
            if ref.tag is not None and name.endswith(f":{ref.tag}"):
                name = name[: -len(ref.tag) - 1]
            found.append(
                Fix(
                    w.namespace,
                    w.kind,
                    w.name,
                    w.api_version,
                    c.name,
                    c.role,
                    name,
                    image,
                    c.target,
                    problems,
                )
            )
    return found


def patch_yaml(found: list[Fix]) -> str:
    """One strategic-merge patch document per workload."""
    docs: dict[tuple[str, str, str], dict[str, Any]] = {}
    comments: dict[tuple[str, str, str], list[str]] = {}
    for fix in found:
        key = (fix.namespace, fix.kind, fix.workload)
        doc = docs.get(key)
        if doc is None:
            doc = docs[key] = {
                "apiVersion": fix.api_version,
                "kind": fix.kind,
                "metadata": {"name": fix.workload, "namespace": fix.namespace},
            }
        node = doc
        for part in _TEMPLATE.get(fix.kind, ("spec", "template", "spec")):
            node = node.setdefault(part, {})
        node.setdefault(_FIELD[fix.role], []).append({"name": fix.container, "image": fix.image})
        comments.setdefault(key, []).append(
            safe(f"# {fix.container}: {', '.join(fix.problems)} -> {fix.digest}")
        )
    out = []
    for key, doc in docs.items():
        head = "\n".join(comments[key])
        out.append(f"---\n{head}\n{yaml.safe_dump(doc, sort_keys=False)}")
    return "".join(out)


def kustomize_yaml(found: list[Fix]) -> str:
    """A kustomization ``images:`` block; a name claimed twice is left as a comment."""
    entries: dict[str, Fix] = {}
    clashes: list[str] = []
    for fix in found:
        first = entries.setdefault(fix.name, fix)
        if first.digest != fix.digest:
            clashes.append(
                safe(
                    f"# {fix.namespace}/{fix.kind}/{fix.workload} ({fix.container}) needs "
                    f"{fix.name}@{fix.digest}, but {first.namespace}/{first.kind}/{first.workload} "
                    f"needs {first.digest}: use a patch for one of them"
                )
            )
    body = {"images": [{"name": name, "digest": fix.digest} for name, fix in entries.items()]}
    text = yaml.safe_dump(body, sort_keys=False) if entries else "images: []\n"
    return text + "".join(line + "\n" for line in clashes)
