"""The audit's answer: per workload and container, what runs and what is wrong with it.

Every type has a ``to_json()`` with stable keys; ``imgdigest audit --format json`` prints
``AuditReport.to_json()``, and the HTML page and the ``--fix`` patches are rendered from
the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from imgdigest.audit.imageid import IdKind

if TYPE_CHECKING:
    from imgdigest.audit.fix import Fix
    from imgdigest.resolver import Resolution

Problem = Literal["mixed", "unpinned", "stale", "mismatch", "not-running"]
PROBLEMS: tuple[Problem, ...] = ("mixed", "unpinned", "stale", "mismatch", "not-running")
#: ``container``, ``init`` or ``ephemeral``: where in the pod spec the container is.
Role = Literal["container", "init", "ephemeral"]


@dataclass(frozen=True)
class Finding:
    """One thing wrong with what a workload's container runs."""

    namespace: str
    kind: str  #: the workload's kind (``Deployment``, ``Pod`` for a pod without owner)
    workload: str
    container: str
    problem: Problem
    detail: str
    pods: tuple[str, ...] = ()  #: the pods it concerns (all of the workload's for ``unpinned``)
    running: str | None = None  #: the digest that runs, where one is at fault
    expected: str | None = None  #: what should run instead: the pin, or the tag's digest now

    def __str__(self) -> str:
        return f"{self.namespace}/{self.kind}/{self.workload}: {self.container}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "kind": self.kind,
            "workload": self.workload,
            "container": self.container,
            "problem": self.problem,
            "detail": self.detail,
            "pods": list(self.pods),
            "running": self.running,
            "expected": self.expected,
        }


@dataclass
class RunningDigest:
    """One digest a container runs in some of a workload's pods."""

    digest: str | None  #: None when the runtime did not say (``kind`` tells why)
    kind: IdKind  #: ``manifest`` (comparable), ``image-id`` (a config digest), ``none``…
    pods: int = 0
    name: str | None = None  #: the repository the runtime names, or the spec's
    tree: Resolution | None = None  #: index and platforms, when ``resolve`` asked for it

    @property
    def known(self) -> bool:
        """Whether this is a manifest digest, comparable with a tag's or a pin's."""
        return self.kind == "manifest"

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "kind": self.kind,
            "pods": self.pods,
            "name": self.name,
            "tree": _tree_json(self.tree) if self.tree is not None else None,
        }


def _tree_json(res: Resolution) -> dict[str, Any]:
    return {
        "reference": res.full_ref(keep_tag=False),
        "digest": res.digest,
        "kind": res.kind,
        "media_type": res.media_type,
        "children": [c.to_json() for c in res.children],
    }


@dataclass
class ContainerAudit:
    """One container of a workload across its pods."""

    name: str
    role: Role
    spec: list[str] = field(default_factory=list)  #: the image(s) the spec names
    running: list[RunningDigest] = field(default_factory=list)
    pods: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: the digest the workload should converge on (the pin, the tag's digest now, or the
    #: one most pods run), for ``--fix``; None when nothing names one
    target: str | None = None

    @property
    def unknown(self) -> int:
        """Pods whose runtime reported no manifest digest for this container."""
        return sum(r.pods for r in self.running if r.kind != "manifest")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "spec": list(self.spec),
            "pods": self.pods,
            "running": [r.to_json() for r in self.running],
            "unknown": self.unknown,
            "target": self.target,
            "findings": [f.problem for f in self.findings],
        }


@dataclass
class WorkloadAudit:
    """A workload (the top of its pods' owner chain) and what its containers run."""

    namespace: str
    kind: str
    name: str
    api_version: str
    pods: int = 0
    containers: list[ContainerAudit] = field(default_factory=list)
    #: how the workload was found: ``object`` (in the input), ``owner`` (named by an owner
    #: reference only), ``inferred`` (a Deployment named by its ReplicaSet's pod-template-hash)
    source: str = "object"

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.containers for f in c.findings]

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "kind": self.kind,
            "name": self.name,
            "api_version": self.api_version,
            "source": self.source,
            "pods": self.pods,
            "containers": [c.to_json() for c in self.containers],
        }


@dataclass(frozen=True)
class ResolveFailure:
    """A registry question that got no answer (the finding it would decide is left out)."""

    image: str
    message: str
    exit_code: int

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {"image": self.image, "message": self.message, "exit_code": self.exit_code}


@dataclass
class AuditReport:
    """Everything an audit found; ``exit_code`` is what CI should see."""

    workloads: list[WorkloadAudit] = field(default_factory=list)
    failures: list[ResolveFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pods: int = 0
    offline: bool = False
    lock: bool = False  #: offline, a lock file answered for the registry
    resolved: bool = False  #: whether running digests were resolved to their trees

    @property
    def findings(self) -> list[Finding]:
        return [f for w in self.workloads for f in w.findings]

    @property
    def exit_code(self) -> int:
        """A registry failure's code, else 1 when anything was found, else 0."""
        if self.failures:
            return self.failures[0].exit_code
        return 1 if self.findings else 0

    def summary(self) -> dict[str, int]:
        counts = {p: 0 for p in PROBLEMS}
        for f in self.findings:
            counts[f.problem] += 1
        return {
            "pods": self.pods,
            "workloads": len(self.workloads),
            **counts,
            "failures": len(self.failures),
        }

    def fixes(self) -> list[Fix]:
        """One patch per workload container with findings and a digest to converge on."""
        from imgdigest.audit.fix import fixes

        return fixes(self)

    def fix_patch(self) -> str:
        """Strategic-merge patches (one YAML document per workload) that pin the targets."""
        from imgdigest.audit.fix import patch_yaml

        return patch_yaml(self.fixes())

    def fix_kustomize(self) -> str:
        """The kustomization ``images:`` entries that pin the targets."""
        from imgdigest.audit.fix import kustomize_yaml

        return kustomize_yaml(self.fixes())

    def to_html(self) -> str:
        """The report as one self-contained HTML page (no external assets)."""
        from imgdigest.audit.page import render

        return render(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "workloads": [w.to_json() for w in self.workloads],
            "findings": [f.to_json() for f in self.findings],
            "failures": [f.to_json() for f in self.failures],
            "notes": list(self.notes),
            "offline": self.offline,
            "lock": self.lock,
            "summary": self.summary(),
        }
