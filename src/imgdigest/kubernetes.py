"""Where Kubernetes objects keep their pod specs, and the image fields inside them.

One description of the Kubernetes object model serves three readers: the file finder
(``imgdigest.documents``) walks libyaml nodes so it can report exact positions, the
admission webhook walks the plain dicts of an AdmissionReview, and ``check --compat
gatekeeper`` walks whatever the Gatekeeper template would see. So the locations are
data (``POD_SPEC_PATHS``, ``CONTAINER_LISTS``) and the walk is written once against a
tiny ``TreeAdapter`` protocol; ``DICT_ADAPTER`` implements it for JSON-like values.

Two scopes exist because two questions are asked:

* ``"workloads"`` - every pod spec a manifest can hold: a Pod's ``spec``, a
  PodTemplate's ``template.spec``, the ``spec.template.spec`` of the workload kinds and
  of any other object that has one (Argo Rollouts, Knative, OpenKruise ...), CronJob's
  ``spec.jobTemplate.spec.template.spec``, plus configured paths for custom resources.
  Image volumes (``volumes[].image.reference``) are included.
* ``"gatekeeper"`` - exactly what the K8sImageDigests template reads: the object's own
  ``spec.containers``, ``spec.initContainers`` and ``spec.ephemeralContainers``,
  whatever its kind. Rego's ``xs[_]`` iterates the values of an object as well as the
  items of an array, so both are walked here too.

Paths are tuples of mapping keys and sequence indexes, from the object's root to the
image value; ``field_path`` and ``json_pointer`` render them for people and JSONPatch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

N = TypeVar("N")

PathSegment = str | int
Path = tuple[PathSegment, ...]
Scope = Literal["workloads", "gatekeeper"]

#: kind -> where its pod spec sits, for the kinds Kubernetes itself defines.
POD_SPEC_PATHS: Mapping[str, Path] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

#: Where any other object keeps a pod template (Argo Rollouts, Knative, OpenKruise ...).
GENERIC_POD_TEMPLATE: Path = ("spec", "template", "spec")

#: The container lists of a pod spec, in the order the Gatekeeper template reports them
#: (its message word for each list).
CONTAINER_LISTS: tuple[tuple[str, str], ...] = (
    ("initContainers", "initContainer"),
    ("containers", "container"),
    ("ephemeralContainers", "ephemeralContainer"),
)

#: Kinds that never hold an image: the finder may skip their documents unread.
NO_IMAGE_KINDS: frozenset[str] = frozenset(
    {
        "APIService",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "CustomResourceDefinition",
        "Endpoints",
        "EndpointSlice",
        "HorizontalPodAutoscaler",
        "Ingress",
        "IngressClass",
        "LimitRange",
        "MutatingWebhookConfiguration",
        "Namespace",
        "NetworkPolicy",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "PriorityClass",
        "ResourceQuota",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
    }
)

WILDCARD = "*"


class TreeAdapter(Protocol[N]):
    """Read access to one tree representation (plain dicts, libyaml nodes ...)."""

    def get(self, node: N, key: str) -> N | None:
        """The value under ``key`` when ``node`` is a mapping that has it, else None."""
        ...

    def entries(self, node: N) -> Iterator[tuple[PathSegment, N]]:
        """Items of a sequence (with their index) or values of a mapping (with their key)."""
        ...

    def items(self, node: N) -> Iterator[tuple[int, N]]:
        """Items of a sequence with their index; nothing for any other node."""
        ...

    def text(self, node: N | None) -> str | None:
        """The string value of a string scalar, else None."""
        ...


class _DictAdapter:
    """``TreeAdapter`` over JSON-like Python values (dict, list, str ...)."""

    def get(self, node: Any, key: str) -> Any:
        return node.get(key) if isinstance(node, Mapping) else None

    def entries(self, node: Any) -> Iterator[tuple[PathSegment, Any]]:
        if isinstance(node, Mapping):
            yield from node.items()
        elif isinstance(node, Sequence) and not isinstance(node, str | bytes):
            yield from enumerate(node)

    def items(self, node: Any) -> Iterator[tuple[int, Any]]:
        if isinstance(node, Sequence) and not isinstance(node, str | bytes):
            yield from enumerate(node)

    def text(self, node: Any) -> str | None:
        return node if isinstance(node, str) else None


DICT_ADAPTER: TreeAdapter[Any] = _DictAdapter()


@dataclass(frozen=True, slots=True)
class ImageSlot(Generic[N]):
    """One place in an object where an image reference lives (or would live)."""

    role: str  #: container, initContainer, ephemeralContainer, imageVolume, image
    path: Path  #: from the object's root to the image value
    owner: N  #: the container (or volume) mapping that holds the image
    name: N | None  #: the owner's ``name`` value
    image: N | None  #: the image value; None when the owner has no image field
    in_pod_spec: bool  #: directly in a Pod's ``spec`` (what admission of Pods sees)

    @property
    def field_path(self) -> str:
        return field_path(self.path)

    @property
    def json_pointer(self) -> str:
        return json_pointer(self.path)


@dataclass(frozen=True, slots=True)
class ExtraPaths:
    """Configured locations for custom resources: kind -> paths.

    ``pod_specs`` point at objects shaped like a PodSpec; ``images`` point straight at
    image strings. A ``*`` segment stands for every item of a list or value of a map.
    """

    pod_specs: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    images: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.pod_specs) | frozenset(self.images)


NO_EXTRA_PATHS = ExtraPaths()


def field_path(path: Path) -> str:
    """``spec.template.spec.containers[0].image`` - the way kubectl explain names fields."""
    out: list[str] = []
    for seg in path:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        else:
            out.append(f".{seg}" if out else seg)
    return "".join(out)


def json_pointer(path: Path) -> str:
    """RFC 6901 pointer, as JSONPatch operations need it."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in path)


def parse_path(text: str) -> Path:
    """Parse ``spec.workers[*].template.spec`` / ``spec.steps[0].image`` into a path."""
    segments: list[PathSegment] = []
    for part in text.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]"):
            inner = part[1:-1]
            segments.append(WILDCARD if inner in ("", WILDCARD) else int(inner))
        else:
            segments.append(part)
    if not segments:
        raise ValueError(f"empty field path {text!r}")
    return tuple(segments)


def is_list_kind(kind: str | None) -> bool:
    """``List`` and the typed ``*List`` kinds kubectl accepts (``PodList`` ...)."""
    return kind is not None and kind.endswith("List")


def iter_objects(doc: N, adapter: TreeAdapter[N]) -> Iterator[tuple[int | None, N]]:
    """The objects of a document: itself, or the items of a ``kind: List``."""
    kind = adapter.text(adapter.get(doc, "kind"))
    items = adapter.get(doc, "items") if is_list_kind(kind) else None
    if items is None:
        yield None, doc
        return
    yield from adapter.items(items)


def _resolve(
    node: N, path: Path, adapter: TreeAdapter[N], prefix: Path
) -> Iterator[tuple[Path, N]]:
    """Every node reached by ``path`` (``*`` fans out), with its concrete path."""
    if not path:
        yield prefix, node
        return
    head, rest = path[0], path[1:]
    if head == WILDCARD:
        for key, child in adapter.entries(node):
            yield from _resolve(child, rest, adapter, (*prefix, key))
        return
    if isinstance(head, int):
        for index, child in adapter.items(node):
            if index == head:
                yield from _resolve(child, rest, adapter, (*prefix, head))
        return
    child = adapter.get(node, head)
    if child is not None:
        yield from _resolve(child, rest, adapter, (*prefix, head))


def pod_spec_paths(
    obj: N, adapter: TreeAdapter[N], extra: ExtraPaths = NO_EXTRA_PATHS
) -> Iterator[tuple[Path, N]]:
    """The pod specs of one object (``scope="workloads"``), with their paths."""
    kind = adapter.text(adapter.get(obj, "kind"))
    known = POD_SPEC_PATHS.get(kind) if kind is not None else None
    if known is not None:
        yield from _resolve(obj, known, adapter, ())
    elif kind is not None and kind in extra.pod_specs:
        for path in extra.pod_specs[kind]:
            yield from _resolve(obj, path, adapter, ())
    else:
        for path, spec in _resolve(obj, GENERIC_POD_TEMPLATE, adapter, ()):
            if adapter.get(spec, "containers") is not None:
                yield path, spec


def _container_slots(
    spec: N, spec_path: Path, adapter: TreeAdapter[N], in_pod_spec: bool, any_entries: bool
) -> Iterator[ImageSlot[N]]:
    for list_key, role in CONTAINER_LISTS:
        containers = adapter.get(spec, list_key)
        if containers is None:
            continue
        entries = adapter.entries(containers) if any_entries else adapter.items(containers)
        for key, container in entries:
            yield ImageSlot(
                role=role,
                path=(*spec_path, list_key, key, "image"),
                owner=container,
                name=adapter.get(container, "name"),
                image=adapter.get(container, "image"),
                in_pod_spec=in_pod_spec,
            )


def _volume_slots(
    spec: N, spec_path: Path, adapter: TreeAdapter[N], in_pod_spec: bool
) -> Iterator[ImageSlot[N]]:
    volumes = adapter.get(spec, "volumes")
    if volumes is None:
        return
    for index, volume in adapter.items(volumes):
        source = adapter.get(volume, "image")
        if source is None:
            continue
        yield ImageSlot(
            role="imageVolume",
            path=(*spec_path, "volumes", index, "image", "reference"),
            owner=volume,
            name=adapter.get(volume, "name"),
            image=adapter.get(source, "reference"),
            in_pod_spec=in_pod_spec,
        )


def iter_image_slots(
    obj: N,
    adapter: TreeAdapter[N],
    *,
    scope: Scope = "workloads",
    extra: ExtraPaths = NO_EXTRA_PATHS,
) -> Iterator[ImageSlot[N]]:
    """Every image slot of one object, in document order of the Gatekeeper template.

    Per pod spec: initContainers, containers, ephemeralContainers, then image volumes;
    then the configured image paths of the object's kind.
    """
    kind = adapter.text(adapter.get(obj, "kind"))
    if scope == "gatekeeper":
        spec = adapter.get(obj, "spec")
        if spec is not None:
            yield from _container_slots(spec, ("spec",), adapter, kind == "Pod", True)
        return
    for spec_path, spec in pod_spec_paths(obj, adapter, extra):
        direct = kind == "Pod" and spec_path == ("spec",)
        yield from _container_slots(spec, spec_path, adapter, direct, False)
        yield from _volume_slots(spec, spec_path, adapter, direct)
    if kind is not None and kind in extra.images:
        for path in extra.images[kind]:
            for concrete, node in _resolve(obj, path, adapter, ()):
                yield ImageSlot(
                    role="image",
                    path=concrete,
                    owner=obj,
                    name=None,
                    image=node,
                    in_pod_spec=False,
                )


def image_slots(
    obj: Mapping[str, Any], *, scope: Scope = "workloads", extra: ExtraPaths = NO_EXTRA_PATHS
) -> list[ImageSlot[Any]]:
    """``iter_image_slots`` over a plain JSON object (an AdmissionReview's ``object``)."""
    return list(iter_image_slots(obj, DICT_ADAPTER, scope=scope, extra=extra))
