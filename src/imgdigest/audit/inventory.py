"""Pods and workloads from kubectl's JSON, reduced to what the audit needs, and grouped.

Each object is reduced to a small record as it is read (the JSON is dropped at once), so
memory grows with the number of containers, not with the size of the dump. Pods are
grouped by the top of their owner chain: Pod → ReplicaSet → Deployment, Pod → Job →
CronJob, Pod → StatefulSet or DaemonSet. An owner missing from the input still groups
its pods under its own kind and name, except a ReplicaSet when no ReplicaSet was read at
all: its pods carry ``pod-template-hash``, and a ReplicaSet named ``NAME-HASH`` belongs to
Deployment ``NAME`` (as kubectl itself reads it). When ReplicaSets were read, an absent or
ownerless one is taken at its word: its Deployment was deleted.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from imgdigest.audit.imageid import RuntimeImage, read_image_id
from imgdigest.audit.model import Role
from imgdigest.audit.reader import read_objects
from imgdigest.errors import DocumentError

WORKLOAD_KINDS = frozenset(
    ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")
)
DEFAULT_API = {
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "Pod": "v1",
}
#: Waiting reasons that mean the image could not be pulled (kubelet's own words).
PULL_ERRORS = frozenset(
    (
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "RegistryUnavailable",
        "SignatureValidationFailed",
    )
)
_ROLES: tuple[tuple[Role, str, str], ...] = (
    ("init", "initContainers", "initContainerStatuses"),
    ("container", "containers", "containerStatuses"),
    ("ephemeral", "ephemeralContainers", "ephemeralContainerStatuses"),
)

Key = tuple[str, str, str]  # namespace, kind, name


@dataclass(slots=True)
class Seen:
    """One container of one pod: what its spec says, and what its runtime reports."""

    pod: str
    name: str
    role: Role
    spec_image: str | None
    running: RuntimeImage
    waiting: tuple[str, str] | None  #: a pull error's reason and message


@dataclass(slots=True)
class Owner:
    kind: str
    name: str
    uid: str
    api_version: str


@dataclass(slots=True)
class PodRecord:
    namespace: str
    name: str
    owner: Owner | None
    template_hash: str | None
    containers: list[Seen]


@dataclass(slots=True)
class WorkloadRecord:
    namespace: str
    kind: str
    name: str
    uid: str
    api_version: str
    owner: Owner | None
    images: dict[tuple[Role, str], str]  #: (role, container name) → the template's image


@dataclass
class Inventory:
    """Everything read: pod records, workload objects by key and by uid, notes."""

    pods: list[PodRecord] = field(default_factory=list)
    workloads: dict[Key, WorkloadRecord] = field(default_factory=dict)
    by_uid: dict[str, WorkloadRecord] = field(default_factory=dict)
    kinds_read: set[str] = field(default_factory=set)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, where: str, obj: dict[str, Any]) -> None:
        kind = obj.get("kind")
        if not isinstance(kind, str):
            raise DocumentError(f"{where}: no kind (is this kubectl get -o json?)")
        if kind not in WORKLOAD_KINDS:
            self.skipped[kind] = self.skipped.get(kind, 0) + 1
            return
        self.kinds_read.add(kind)
        meta = _object(obj.get("metadata"), where, "metadata")
        name = _text(meta.get("name"), where, "metadata.name")
        namespace = _text(meta.get("namespace", "default"), where, "metadata.namespace")
        owner = _owner(meta, where)
        if kind == "Pod":
            spec = _object(obj.get("spec"), where, "spec")
            status = _object(obj.get("status", {}), where, "status")
            labels = meta.get("labels")
            hash_ = labels.get("pod-template-hash") if isinstance(labels, dict) else None
            self.pods.append(
                PodRecord(
                    sys.intern(namespace),
                    name,
                    owner,
                    hash_ if isinstance(hash_, str) else None,
                    _containers(name, spec, status, where),
                )
            )
            return
        template = _pod_template(obj, kind, where)
        images = {
            (role, c["name"]): c["image"]
            for role, field_, _ in _ROLES
            for c in _list(template.get(field_), where, field_)
            if isinstance(c, dict)
            and isinstance(c.get("name"), str)
            and isinstance(c.get("image"), str)
        }
        api = obj.get("apiVersion")
        record = WorkloadRecord(
            namespace,
            kind,
            name,
            str(meta.get("uid") or ""),
            api if isinstance(api, str) else DEFAULT_API[kind],
            owner,
            images,
        )
        self.workloads[(namespace, kind, name)] = record
        if record.uid:
            self.by_uid[record.uid] = record

    def top(self, pod: PodRecord) -> tuple[Key, str, str]:
        """The workload ``pod`` belongs to, its apiVersion, and how it was found."""
        owner = pod.owner
        if owner is None or owner.kind in ("Node", "Pod"):  # a static pod's mirror: itself
            return (pod.namespace, "Pod", pod.name), "v1", "object"
        record = self._find(pod.namespace, owner)
        if record is None:
            if (
                owner.kind == "ReplicaSet"
                and "ReplicaSet" not in self.kinds_read
                and pod.template_hash
                and owner.name.endswith(f"-{pod.template_hash}")
            ):
                name = owner.name[: -len(pod.template_hash) - 1]
                deployment = self.workloads.get((pod.namespace, "Deployment", name))
                api = deployment.api_version if deployment else "apps/v1"
                return (pod.namespace, "Deployment", name), api, "inferred"
            return (pod.namespace, owner.kind, owner.name), owner.api_version, "owner"
        for _ in range(8):  # owner chains are short; a cycle in bad input must not loop
            parent = record.owner
            if parent is None or parent.kind in ("Node", "Pod"):
                break
            above = self._find(record.namespace, parent)
            if above is None:  # deleted, not in the input, or a custom resource (a Rollout)
                key = (record.namespace, parent.kind, parent.name)
                return key, parent.api_version, "owner"
            record = above
        return (record.namespace, record.kind, record.name), record.api_version, "object"

    def _find(self, namespace: str, owner: Owner) -> WorkloadRecord | None:
        found = self.by_uid.get(owner.uid) if owner.uid else None
        return found or self.workloads.get((namespace, owner.kind, owner.name))


def read_inventory(paths: Iterable[str]) -> Inventory:
    """Read every object of ``paths`` (``-``: stdin) into one inventory."""
    inventory = Inventory()
    for path in paths:
        for where, obj in read_objects(path):
            try:
                inventory.add(where, obj)
            except DocumentError as exc:
                raise DocumentError(str(exc), file=path) from None
    return inventory


def _containers(pod: str, spec: dict[str, Any], status: dict[str, Any], where: str) -> list[Seen]:
    seen: list[Seen] = []
    for role, spec_field, status_field in _ROLES:
        images = {
            c.get("name"): c.get("image")
            for c in _list(spec.get(spec_field), where, f"spec.{spec_field}")
            if isinstance(c, dict)
        }
        reported = set()
        for st in _list(status.get(status_field), where, f"status.{status_field}"):
            if not isinstance(st, dict) or not isinstance(st.get("name"), str):
                continue
            name = st["name"]
            reported.add(name)
            image = images.get(name)
            seen.append(
                Seen(
                    pod,
                    sys.intern(name),
                    role,
                    sys.intern(image) if isinstance(image, str) else None,
                    read_image_id(st.get("imageID") if isinstance(st.get("imageID"), str) else ""),
                    _pull_error(st),
                )
            )
        for name, image in images.items():  # no status yet (pending pod): spec only
            if isinstance(name, str) and name not in reported:
                spec_image = image if isinstance(image, str) else None
                seen.append(Seen(pod, sys.intern(name), role, spec_image, read_image_id(""), None))
    return seen


def _pull_error(status: dict[str, Any]) -> tuple[str, str] | None:
    state = status.get("state")
    waiting = state.get("waiting") if isinstance(state, dict) else None
    if not isinstance(waiting, dict):
        return None
    reason = waiting.get("reason")
    if reason not in PULL_ERRORS:
        return None
    message = waiting.get("message")
    return str(reason), message if isinstance(message, str) else ""


def _pod_template(obj: dict[str, Any], kind: str, where: str) -> dict[str, Any]:
    spec = _object(obj.get("spec", {}), where, "spec")
    if kind == "CronJob":
        job = _object(spec.get("jobTemplate", {}), where, "spec.jobTemplate")
        spec = _object(job.get("spec", {}), where, "spec.jobTemplate.spec")
    template = _object(spec.get("template", {}), where, "spec.template")
    return _object(template.get("spec", {}), where, "spec.template.spec")


def _owner(meta: dict[str, Any], where: str) -> Owner | None:
    refs = [
        r
        for r in _list(meta.get("ownerReferences"), where, "metadata.ownerReferences")
        if isinstance(r, dict)
    ]
    chosen = next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)
    if chosen is None:
        return None
    kind, name, uid = chosen.get("kind"), chosen.get("name"), chosen.get("uid")
    if not isinstance(kind, str) or not isinstance(name, str):
        raise DocumentError(f"{where}: metadata.ownerReferences: an owner without kind or name")
    api = chosen.get("apiVersion")
    api = api if isinstance(api, str) and api else DEFAULT_API.get(kind, "v1")
    return Owner(kind, name, uid if isinstance(uid, str) else "", api)


def _object(value: object, where: str, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DocumentError(f"{where}: {what}: expected an object, got {_type(value)}")
    return value


def _list(value: object, where: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DocumentError(f"{where}: {what}: expected an array, got {_type(value)}")
    return value


def _text(value: object, where: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise DocumentError(f"{where}: {what}: expected a name, got {_type(value)}")
    return value


def _type(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )
