"""The audit itself: group what runs by workload, then judge it, offline and online.

Offline (from the dump alone): ``mixed``, ``unpinned``, ``mismatch`` and ``not-running``.
Offline with a lock file, its digests answer what the registry would: ``stale`` against
the digest a tag is locked to, and an index's platform manifests from its ``children``.
Online, through the library's resolver so every question shares one session:

* ``stale``: one HEAD per unique tag that a pod's spec names without a digest. When a
  running digest differs from the tag's and the tag names an index, the index's children
  are read once: a runtime that recorded a platform manifest's digest is not stale;
* ``mismatch`` is confirmed the same way against the pinned index's children;
* ``resolve``: each running digest's index → platform tree, for the report.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from imgdigest import reference as references
from imgdigest.audit.inventory import Inventory, Key, Seen, read_inventory
from imgdigest.audit.model import (
    AuditReport,
    ContainerAudit,
    Finding,
    ResolveFailure,
    Role,
    RunningDigest,
    WorkloadAudit,
)
from imgdigest.digest import Digest
from imgdigest.display import count
from imgdigest.errors import ImgdigestError
from imgdigest.media import OCI_INDEX
from imgdigest.reference import Reference
from imgdigest.resolver import (
    AsyncResolver,
    Child,
    Resolution,
    ResolveOptions,
    run_with_resolver,
)

if TYPE_CHECKING:
    from imgdigest.lock import Lock

_ROLE_ORDER = {"init": 0, "container": 1, "ephemeral": 2}


@dataclass(frozen=True)
class AuditOptions:
    """``offline``: no registry (no ``stale`` unless ``lock`` answers for it); ``resolve``:
    each running digest's tree."""

    offline: bool = False
    resolve: bool = False
    #: offline, the digests a lock file records stand in for the registry's answers
    lock: Lock | None = None


@dataclass
class _Group:
    workload: WorkloadAudit
    seen: dict[tuple[Role, str], list[Seen]]


def audit_paths(
    paths: Iterable[str],
    resolve_options: ResolveOptions | None = None,
    options: AuditOptions | None = None,
) -> AuditReport:
    """Audit the pods (and workloads) kubectl printed as JSON into ``paths`` (``-``: stdin)."""
    options = options or AuditOptions()
    inventory = read_inventory(paths)
    if options.offline:
        return asyncio.run(audit_inventory(inventory, None, options))
    return run_with_resolver(resolve_options, lambda r: audit_inventory(inventory, r, options))


async def audit_inventory(
    inventory: Inventory, resolver: AsyncResolver | None, options: AuditOptions
) -> AuditReport:
    """Judge what ``inventory`` runs; without a resolver nothing is asked of a registry."""
    report = AuditReport(pods=len(inventory.pods), offline=resolver is None)
    for kind, n in sorted(inventory.skipped.items()):
        if kind != "List":
            report.notes.append(f"skipped {count(n, kind + ' object')} (not a workload)")
    if not inventory.pods:
        report.notes.append("no pods in the input (pipe kubectl get pods -A -o json)")
    groups = _groups(inventory)
    for group in groups:
        for (role, name), seen in group.seen.items():
            spec = _spec_images(inventory, group.workload, role, name, seen)
            audit = ContainerAudit(name, role, spec, _running(seen), len({s.pod for s in seen}))
            group.workload.containers.append(audit)
            _offline_findings(group.workload, audit, seen)
    report.workloads = [g.workload for g in groups]
    unknown = sum(c.unknown - _waiting(c) for w in report.workloads for c in w.containers)
    if unknown:
        report.notes.append(
            f"{count(unknown, 'container')} reported no repository digest (an image ID, the "
            "config's digest, or none yet): what they run cannot be compared with a tag or a pin"
        )
    if resolver is not None:

        async def ask(refs: dict[str, Reference], children: bool) -> dict[str, Resolution]:
            return await _ask(report, resolver, refs, children=children)

        await _judge(groups, ask, "now names")
        if options.resolve:
            await _trees(report, groups, resolver)
            report.resolved = True
    elif options.lock is not None:
        report.lock = True
        await _judge(groups, _lock_answers(report, options.lock), "is locked to")
    for group in groups:
        for audit in group.workload.containers:
            seen = group.seen[(audit.role, audit.name)]
            audit.target = audit.target or _fallback_target(audit, seen)
            audit.findings.sort(key=lambda f: (_PROBLEM_ORDER[f.problem], f.pods))
    return report


_PROBLEM_ORDER = {
    p: n for n, p in enumerate(("not-running", "mismatch", "stale", "mixed", "unpinned"))
}


def _waiting(audit: ContainerAudit) -> int:
    """Pods still waiting for their image: their unknown digest is a ``not-running`` finding."""
    return sum(1 for f in audit.findings if f.problem == "not-running")


def _groups(inventory: Inventory) -> list[_Group]:
    found: dict[Key, _Group] = {}
    for pod in inventory.pods:
        key, api, source = inventory.top(pod)
        group = found.get(key)
        if group is None:
            group = _Group(WorkloadAudit(*key, api_version=api, source=source), {})
            found[key] = group
        group.workload.pods += 1
        for seen in pod.containers:
            group.seen.setdefault((seen.role, seen.name), []).append(seen)
    for group in found.values():
        group.seen = dict(sorted(group.seen.items(), key=lambda kv: _ROLE_ORDER[kv[0][0]]))
    return [found[k] for k in sorted(found)]


def _spec_images(
    inventory: Inventory, workload: WorkloadAudit, role: Role, name: str, seen: list[Seen]
) -> list[str]:
    record = inventory.workloads.get((workload.namespace, workload.kind, workload.name))
    if record is not None and (role, name) in record.images:
        return [record.images[(role, name)]]
    images = Counter(s.spec_image for s in seen if s.spec_image)
    return [image for image, _ in images.most_common()]


def _running(seen: list[Seen]) -> list[RunningDigest]:
    by: dict[tuple[str, str | None], RunningDigest] = {}
    for s in seen:
        key = (s.running.kind, s.running.digest)
        entry = by.get(key)
        if entry is None:
            name = s.running.name or _name(s.spec_image)
            entry = by[key] = RunningDigest(s.running.digest, s.running.kind, 0, name)
        entry.pods += 1
    order = {"manifest": 0, "image-id": 1, "unreadable": 2, "none": 3}
    return sorted(by.values(), key=lambda r: (order[r.kind], -r.pods, r.digest or ""))


def _name(image: str | None) -> str | None:
    if not image:
        return None
    try:
        return references.normalize(image).name
    except ImgdigestError:
        return None


def _finding(
    workload: WorkloadAudit,
    audit: ContainerAudit,
    problem: str,
    detail: str,
    pods: Iterable[str],
    running: str | None = None,
    expected: str | None = None,
) -> Finding:
    return Finding(
        workload.namespace,
        workload.kind,
        workload.name,
        audit.name,
        problem,  # type: ignore[arg-type]
        detail,
        tuple(sorted(set(pods))),
        running,
        expected,
    )


def _offline_findings(workload: WorkloadAudit, audit: ContainerAudit, seen: list[Seen]) -> None:
    add = audit.findings.append
    for s in seen:
        if s.waiting is not None:
            reason, message = s.waiting
            detail = f"pod {s.pod} is not running: {reason}" + (f": {message}" if message else "")
            add(_finding(workload, audit, "not-running", detail, [s.pod]))
    for image in audit.spec:
        ref = _parsed(image)
        if ref is None or ref.digest is None:
            pods = [s.pod for s in seen if s.spec_image in (image, None)]
            add(_finding(workload, audit, "unpinned", f"{image} names a tag only", pods))
    for kind in ("manifest", "image-id"):
        distinct = [r for r in audit.running if r.kind == kind]
        if len(distinct) > 1:
            what = "digests" if kind == "manifest" else "image IDs"
            runs = ", ".join(f"{count(r.pods, 'pod')} {_short(r.digest)}" for r in distinct)
            pods = [s.pod for s in seen if s.running.kind == kind]
            add(
                _finding(
                    workload, audit, "mixed", f"replicas run {len(distinct)} {what}: {runs}", pods
                )
            )
    mismatched: dict[tuple[str, str], list[str]] = {}
    for s in seen:
        ref = _parsed(s.spec_image)
        if ref is not None and ref.digest and s.running.known and s.running.digest != ref.digest:
            mismatched.setdefault((str(s.running.digest), ref.digest), []).append(s.pod)
    for (running, pinned), pods in mismatched.items():
        detail = f"{running} runs in {count(len(pods), 'pod')}, but the spec pins {pinned}"
        add(_finding(workload, audit, "mismatch", detail, pods, running, pinned))


@lru_cache(maxsize=4096)  # a cluster has far fewer distinct images than containers
def _parsed(image: str | None) -> Reference | None:
    if not image:
        return None
    try:
        return references.normalize(image)
    except ImgdigestError:
        return None


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "?"


Ask = Callable[[dict[str, Reference], bool], Awaitable[dict[str, Resolution]]]


async def _judge(groups: list[_Group], ask: Ask, says: str) -> None:
    """``stale``, and ``mismatch``/``mixed`` confirmed, from what ``ask`` answers: the
    registry (``says``: "now names") or a lock file ("is locked to")."""
    tags: dict[str, Reference] = {}
    for group in groups:
        for seen in group.seen.values():
            for s in seen:
                ref = _parsed(s.spec_image)
                if ref is not None and ref.digest is None and s.running.known:
                    tags.setdefault(str(ref), ref)
    answers = await ask(tags, False)
    # Only where a running digest differs from an index's: read that index's children.
    pinned: dict[str, Reference] = {}
    second: dict[str, Reference] = {}
    for group in groups:
        for seen in group.seen.values():
            for s in seen:
                ref = _parsed(s.spec_image)
                differs = ref is not None and ref.digest and s.running.digest != ref.digest
                if ref is not None and differs and s.running.known:
                    pin = ref.without_tag()
                    pinned.setdefault(str(pin), pin)
        for seen in group.seen.values():
            for s in seen:
                answer = answers.get(str(_parsed(s.spec_image)))
                if (
                    isinstance(answer, Resolution)
                    and answer.is_index
                    and s.running.digest != answer.digest
                ):
                    second[str(answer.reference)] = answer.reference  # type: ignore[assignment]
    children = await ask({**second, **pinned}, True)
    # A platform manifest's digest stands for its index: replicas on different
    # architectures (or runtimes) that report the two run the same image.
    family = {c.digest: res.digest for res in children.values() for c in res.children}
    for group in groups:
        workload = group.workload
        for audit in workload.containers:
            seen = group.seen[(audit.role, audit.name)]
            families = {family.get(r.digest, r.digest) for r in audit.running if r.known}
            ids = {r.digest for r in audit.running if r.kind == "image-id"}
            same = len(families) <= 1 and len(ids) <= 1
            audit.findings = [
                f
                for f in audit.findings
                if not (f.problem == "mismatch" and _is_child(children, f, audit))
                and not (f.problem == "mixed" and same)
            ]
            _stale(workload, audit, seen, answers, children, says)


def _lock_answers(report: AuditReport, lock: Lock) -> Ask:
    """A lock file answering as the resolver would: a tag by its entry, a pinned digest by
    the index entry that has it (with its ``children``)."""
    indexes = {e.digest: e for e in lock.entries() if e.platform is None}
    missing: set[str] = set()

    async def ask(refs: dict[str, Reference], children: bool) -> dict[str, Resolution]:
        answers: dict[str, Resolution] = {}
        for key, ref in refs.items():
            entry = indexes.get(ref.digest) if ref.digest else lock.lookup(ref)
            if entry is None:
                if not ref.digest and key not in missing:
                    missing.add(key)
                    report.notes.append(f"{key} is not in the lock file: not judged stale")
                continue
            kids = tuple(
                Child(None, digest, "", 0) for _, digest in sorted(entry.children.items())
            )
            answers[key] = Resolution(
                given=key,
                reference=ref.with_digest(Digest.parse(entry.digest)),
                digest=entry.digest,
                media_type=entry.media_type or (OCI_INDEX if entry.children else ""),
                size=0,
                children=kids if children else (),
            )
        return answers

    return ask


async def _ask(
    report: AuditReport, resolver: AsyncResolver, refs: dict[str, Reference], *, children: bool
) -> dict[str, Resolution]:
    if not refs:
        return {}
    got = await resolver.resolve_many(list(refs.values()), children=children)
    answers: dict[str, Resolution] = {}
    for key, answer in zip(refs, got, strict=True):
        if isinstance(answer, ImgdigestError):
            report.failures.append(ResolveFailure(key, str(answer), answer.exit_code))
        else:
            answers[key] = answer
    return answers


def _is_child(children: dict[str, Resolution], f: Finding, audit: ContainerAudit) -> bool:
    for res in children.values():
        if res.digest == f.expected and any(c.digest == f.running for c in res.children):
            return True
    return False


def _stale(
    workload: WorkloadAudit,
    audit: ContainerAudit,
    seen: list[Seen],
    answers: dict[str, Resolution],
    children: dict[str, Resolution],
    says: str,
) -> None:
    by_digest: dict[tuple[str, str, str], list[str]] = {}
    for s in seen:
        ref = _parsed(s.spec_image)
        if ref is None or ref.digest is not None or not s.running.known:
            continue
        answer = answers.get(str(ref))
        if answer is None:
            continue
        audit.target = audit.target or answer.digest
        if s.running.digest == answer.digest:
            continue
        full = children.get(str(answer.reference))
        if full is not None and any(c.digest == s.running.digest for c in full.children):
            continue
        key = (str(s.spec_image), str(s.running.digest), answer.digest)
        by_digest.setdefault(key, []).append(s.pod)
    for (image, running, now), pods in by_digest.items():
        detail = f"{running} runs in {count(len(pods), 'pod')}, but {image} {says} {now}"
        audit.findings.append(_finding(workload, audit, "stale", detail, pods, running, now))


async def _trees(report: AuditReport, groups: list[_Group], resolver: AsyncResolver) -> None:
    refs: dict[str, Reference] = {}
    for group in groups:
        for audit in group.workload.containers:
            for r in audit.running:
                ref = _tree_ref(r)
                if ref is not None:
                    refs.setdefault(str(ref), ref)
    answers = await _ask(report, resolver, refs, children=True)
    for group in groups:
        for audit in group.workload.containers:
            for r in audit.running:
                ref = _tree_ref(r)
                r.tree = answers.get(str(ref)) if ref is not None else None


def _tree_ref(r: RunningDigest) -> Reference | None:
    if r.kind != "manifest" or not r.digest or not r.name:
        return None
    try:
        return references.normalize(r.name).without_tag().with_digest(Digest.parse(r.digest))
    except ImgdigestError:
        return None


def _fallback_target(audit: ContainerAudit, seen: list[Seen]) -> str | None:
    """The pin, else the digest most pods of the spec's image run (ties: the lowest).

    Only pods whose own spec names the workload's image count: in a rollout caught
    half-way, the old pods run the old image, which the spec no longer asks for.
    """
    for image in audit.spec:
        ref = _parsed(image)
        if ref is not None and ref.digest:
            return ref.digest
    wanted = audit.spec[0] if audit.spec else None
    runs = Counter(
        s.running.digest
        for s in seen
        if s.running.known and s.running.digest and s.spec_image in (wanted, None)
    )
    if not runs:
        return None
    return min(runs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
