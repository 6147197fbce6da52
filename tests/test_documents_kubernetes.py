"""Pod-spec locations on plain JSON objects, as the admission webhook sees them."""

from __future__ import annotations

from typing import Any

import pytest

from imgdigest.check import object_messages
from imgdigest.documents import scan_text
from imgdigest.kubernetes import (
    DICT_ADAPTER,
    ExtraPaths,
    field_path,
    image_slots,
    iter_objects,
    json_pointer,
    parse_path,
)


def spec_at(path: str, spec: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = spec
    for key in reversed(path.split(".")):
        obj = {key: obj}
    return obj


POD_SPEC = {
    "initContainers": [{"name": "i", "image": "init:1"}],
    "containers": [{"name": "a", "image": "app:1"}, {"name": "b"}],
    "ephemeralContainers": [{"name": "e", "image": "debug:1"}],
    "volumes": [{"name": "cfg", "configMap": {}}, {"name": "v", "image": {"reference": "vol:1"}}],
}

LOCATIONS = [
    ("Pod", "spec"),
    ("PodTemplate", "template.spec"),
    ("Deployment", "spec.template.spec"),
    ("StatefulSet", "spec.template.spec"),
    ("DaemonSet", "spec.template.spec"),
    ("ReplicaSet", "spec.template.spec"),
    ("ReplicationController", "spec.template.spec"),
    ("Job", "spec.template.spec"),
    ("CronJob", "spec.jobTemplate.spec.template.spec"),
    ("Rollout", "spec.template.spec"),
]


@pytest.mark.parametrize(("kind", "path"), LOCATIONS)
def test_image_slots_of_every_kind_with_json_pointers(kind: str, path: str) -> None:
    obj = {"kind": kind, **spec_at(path, POD_SPEC)}
    slots = image_slots(obj)
    pointer = "/" + path.replace(".", "/")
    assert [(s.role, s.json_pointer, s.image) for s in slots] == [
        ("initContainer", f"{pointer}/initContainers/0/image", "init:1"),
        ("container", f"{pointer}/containers/0/image", "app:1"),
        ("container", f"{pointer}/containers/1/image", None),
        ("ephemeralContainer", f"{pointer}/ephemeralContainers/0/image", "debug:1"),
        ("imageVolume", f"{pointer}/volumes/1/image/reference", "vol:1"),
    ]
    assert all(s.in_pod_spec == (kind == "Pod") for s in slots)
    assert slots[0].field_path == f"{path}.initContainers[0].image"


def test_gatekeeper_scope_reads_spec_lists_of_any_kind_and_map_values() -> None:
    obj = {"kind": "Deployment", "spec": {"containers": {"x": {"name": "a", "image": "i"}}}}
    assert [(s.role, s.path) for s in image_slots(obj, scope="gatekeeper")] == [
        ("container", ("spec", "containers", "x", "image"))
    ]
    assert image_slots(obj) == []


def test_a_list_yields_its_items() -> None:
    doc = {"kind": "List", "items": [{"kind": "Pod"}, {"kind": "Service"}]}
    assert [index for index, _ in iter_objects(doc, DICT_ADAPTER)] == [0, 1]
    assert [index for index, _ in iter_objects({"kind": "Pod"}, DICT_ADAPTER)] == [None]


PATHS = [
    ("spec.steps[*].image", ("spec", "steps", "*", "image")),
    ("spec.steps[].image", ("spec", "steps", "*", "image")),
    ("spec.steps[2].image", ("spec", "steps", 2, "image")),
    ("spec.template.spec", ("spec", "template", "spec")),
]


@pytest.mark.parametrize(("text", "path"), PATHS)
def test_parse_path(text: str, path: tuple[object, ...]) -> None:
    assert parse_path(text) == path


def test_field_path_and_json_pointer_escape_as_their_formats_require() -> None:
    path = ("metadata", "annotations", "a/b~c", 0)
    assert field_path(path) == "metadata.annotations.a/b~c[0]"
    assert json_pointer(path) == "/metadata/annotations/a~1b~0c/0"


def test_custom_image_paths_are_judged_on_dicts_and_in_files() -> None:
    extra = ExtraPaths(images={"Task": (parse_path("spec.steps[*].image"),)})
    obj = {"kind": "Task", "spec": {"steps": [{"image": "alpine:3"}, {"image": "go@sha256:ab"}]}}
    assert object_messages(obj, compat=None, extra=extra) == [
        "field <spec.steps[0].image> uses an image without a digest <alpine:3>"
    ]
    from imgdigest.check import CheckOptions, check_scan
    from imgdigest.documents import FinderOptions

    scan = scan_text(
        "kind: Task\nspec:\n  steps:\n  - image: alpine:3\n",
        "task.yaml",
        options=FinderOptions(extra=extra),
    )
    (violation,) = check_scan(scan, CheckOptions())
    assert (
        violation.message == "field <spec.steps[0].image> uses an image without a digest <alpine:3>"
    )


def test_the_webhook_view_judges_workload_templates() -> None:
    deployment = {"kind": "Deployment", **spec_at("spec.template.spec", POD_SPEC)}
    assert object_messages(deployment, compat=None) == [
        "initContainer <i> uses an image without a digest <init:1>",
        "container <a> uses an image without a digest <app:1>",
        "ephemeralContainer <e> uses an image without a digest <debug:1>",
        "imageVolume <v> uses an image without a digest <vol:1>",
    ]
    assert object_messages(deployment) == []  # the template itself reads only spec.containers
