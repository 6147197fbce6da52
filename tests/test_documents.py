"""The image finder, source by source: what is found, where, and what is left alone."""

from __future__ import annotations

import pytest

from imgdigest.documents import (
    DockerfileImage,
    FinderOptions,
    ImageSite,
    KustomizeImage,
    scan_text,
)
from imgdigest.kubernetes import ExtraPaths, parse_path


def sites(text: str, file: str = "manifest.yaml", **options: object) -> list[ImageSite]:
    scan = scan_text(text, file, options=FinderOptions(**options))  # type: ignore[arg-type]
    assert not scan.errors, scan.errors
    for site in scan.sites:
        assert scan.text is not None
        assert scan.text[site.start : site.end] == site.raw
        if site.exact:
            assert scan.text[site.start : site.end] == site.image
    return scan.sites


def brief(site: ImageSite) -> tuple[str, str | None, str, str]:
    return (site.role, site.name, site.image, site.field_path)


POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  initContainers:
  - name: init
    image: busybox:1.36
  containers:
  - name: app
    image: nginx:1.25
  ephemeralContainers:
  - name: debug
    image: alpine
  volumes:
  - name: data
    image:
      reference: registry.example/data:v1
"""


def workload(kind: str, spec_path: str) -> str:
    """A manifest of ``kind`` whose pod spec sits at ``spec_path``."""
    lines = [f"kind: {kind}", "metadata:", "  name: w"]
    indent = ""
    for key in spec_path.split("."):
        lines.append(f"{indent}{key}:")
        indent += "  "
    lines += [f"{indent}containers:", f"{indent}- name: c", f"{indent}  image: img:{kind.lower()}"]
    return "\n".join(lines) + "\n"


KINDS = [
    ("Pod", "spec"),
    ("PodTemplate", "template.spec"),
    ("Deployment", "spec.template.spec"),
    ("StatefulSet", "spec.template.spec"),
    ("DaemonSet", "spec.template.spec"),
    ("ReplicaSet", "spec.template.spec"),
    ("ReplicationController", "spec.template.spec"),
    ("Job", "spec.template.spec"),
    ("CronJob", "spec.jobTemplate.spec.template.spec"),
    ("Rollout", "spec.template.spec"),  # Argo Rollouts: any kind with spec.template.spec
    ("CloneSet", "spec.template.spec"),  # OpenKruise
]


@pytest.mark.parametrize(("kind", "spec_path"), KINDS)
def test_every_workload_kind_has_its_pod_spec_found(kind: str, spec_path: str) -> None:
    (site,) = sites(workload(kind, spec_path))
    assert site.kind == kind
    assert site.field_path == f"{spec_path}.containers[0].image"
    assert site.image == f"img:{kind.lower()}"
    assert site.in_pod_spec == (kind == "Pod")
    assert site.location == f"{kind}/w/{spec_path}.containers[0].image"


def test_a_pod_gives_init_app_ephemeral_containers_then_image_volumes() -> None:
    found = sites(POD)
    assert [brief(s) for s in found] == [
        ("initContainer", "init", "busybox:1.36", "spec.initContainers[0].image"),
        ("container", "app", "nginx:1.25", "spec.containers[0].image"),
        ("ephemeralContainer", "debug", "alpine", "spec.ephemeralContainers[0].image"),
        ("imageVolume", "data", "registry.example/data:v1", "spec.volumes[0].image.reference"),
    ]
    assert {(s.kind, s.object_name, s.namespace) for s in found} == {("Pod", "web", "shop")}
    assert [(s.line, s.column) for s in found] == [(7, 12), (10, 12), (13, 12), (17, 18)]
    assert found[1].json_pointer == "/spec/containers/0/image"


NOT_IMAGES = [
    # A CRD schema mentions image and containers but holds no images.
    "kind: CustomResourceDefinition\nspec:\n  template:\n    spec:\n      containers:\n"
    "      - name: x\n        image: not-an-image\n",
    # Images in args, env and annotations are not container images.
    "kind: Deployment\nmetadata:\n  annotations: {image: nginx}\nspec:\n  template:\n    spec:\n"
    "      containers:\n      - name: c\n        image: real:1\n        args: ['--image=fake:1']\n"
    "        env: [{name: IMAGE, value: 'fake:2'}]\n",
    # A Pod has no spec.template; a Deployment has no spec.containers.
    "kind: Pod\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: 'fake:3'}]\n",
    "kind: Deployment\nspec:\n  containers: [{name: c, image: 'fake:4'}]\n",
    # An unknown kind's spec.template.spec counts only if it has containers.
    "kind: Widget\nspec:\n  template:\n    spec:\n"
    "      initContainers: [{name: c, image: 'fake:5'}]\n",
]


@pytest.mark.parametrize("text", NOT_IMAGES)
def test_nothing_outside_pod_specs_is_reported(text: str) -> None:
    assert [s.image for s in sites(text)] in ([], ["real:1"])


def test_list_items_are_objects_of_their_own() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n- kind: Service\n  metadata: {name: s}\n"
        "- kind: Deployment\n  metadata: {name: d}\n  spec:\n    template:\n      spec:\n"
        "        containers:\n        - {name: c, image: 'nginx:1'}\n"
    )
    (site,) = sites(text)
    assert (site.list_item, site.kind, site.object_name) == (1, "Deployment", "d")
    assert site.location == "List/items[1]/Deployment/d/spec.template.spec.containers[0].image"
    assert site.quoting == "single"


def test_typed_lists_such_as_pod_list_are_expanded() -> None:
    text = (
        "kind: PodList\nitems:\n- kind: Pod\n  spec:\n    containers:\n    - {name: c, image: x}\n"
    )
    assert [(s.list_item, s.image) for s in sites(text)] == [(0, "x")]


def test_documents_are_indexed_as_libyaml_counts_them_empty_ones_included() -> None:
    text = (
        "# leading comment\n---\n---\nkind: Pod\nspec: {containers: [{name: a, image: one}]}\n"
        "--- # a comment after the marker\nkind: Pod\nspec: {containers: [{name: b, image: two}]}\n"
        "---\n"
    )
    scan = scan_text(text, "multi.yaml")
    assert [(s.document, s.image) for s in scan.sites] == [(1, "one"), (2, "two")]
    assert scan.documents == 4


QUOTING = [
    ("image: nginx:1", "plain", "nginx:1", True),
    ("image: 'nginx:1'", "single", "nginx:1", True),
    ('image: "nginx:1"', "double", "nginx:1", True),
    ("image: 'it''s'", "single", "it's", False),
    ('image: "ngi\\x6ex:1"', "double", "nginx:1", False),
    ('image: "nginx:1\\t"', "double", "nginx:1\t", False),
    ("image: !!str nginx:1", "plain", "nginx:1", True),
    ("image: &img nginx:1", "plain", "nginx:1", True),
    ("image: !!str 'nginx:1'", "single", "nginx:1", True),
    ("image: >-\n      nginx:1", "folded", "nginx:1", False),
    ("image: |-\n      nginx:1", "literal", "nginx:1", False),
    ("image: nginx\n      :1", "plain", "nginx :1", False),
]


@pytest.mark.parametrize(("line", "quoting", "image", "exact"), QUOTING)
def test_quoting_is_reported_and_spans_exclude_quotes_and_properties(
    line: str, quoting: str, image: str, exact: bool
) -> None:
    text = f"kind: Pod\nspec:\n  containers:\n  - name: c\n    {line}\n"
    (site,) = sites(text)
    assert (site.quoting, site.image, site.exact) == (quoting, image, exact)
    if exact:
        assert site.column == text.splitlines()[4].index(image) + 1


def test_crlf_files_keep_character_offsets_and_lines() -> None:
    text = "kind: Pod\r\nspec:\r\n  containers:\r\n  - name: c\r\n    image: nginx:1\r\n"
    (site,) = sites(text)
    assert text[site.start : site.end] == "nginx:1"
    assert (site.line, site.column) == (5, 12)


def test_a_byte_order_mark_is_counted_in_offsets() -> None:
    text = "\ufeffkind: Pod\nspec:\n  containers:\n  - {name: c, image: 'x:1'}\n"
    (site,) = sites(text)
    assert text[site.start : site.end] == "x:1"


def test_non_ascii_text_before_an_image_counts_characters_not_bytes() -> None:
    text = (
        "kind: Pod\nmetadata: {name: café-😀}\nspec:\n  containers:\n  - {name: é, image: 'x:1'}\n"
    )
    (site,) = sites(text)
    assert text[site.start : site.end] == "x:1"
    assert site.object_name == "café-😀"


def test_flow_style_manifest() -> None:
    text = '{"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "nginx:1",}],},}\n'
    (site,) = sites(text)
    column = text.index("nginx:1") + 1
    assert (site.image, site.quoting, site.line, site.column) == ("nginx:1", "double", 1, column)


def test_json_with_tab_indentation_is_read_with_exact_offsets() -> None:
    text = '{\n\t"kind": "Pod",\n\t"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}\n}\n'
    (site,) = sites(text, "pod.json")
    assert text[site.start : site.end] == "nginx:1"


def test_an_alias_reports_the_anchor_and_says_so() -> None:
    text = (
        "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: &img nginx:1\n"
        "  - name: b\n    image: *img\n"
    )
    a, b = sites(text)
    assert (a.start, a.image) == (b.start, b.image)
    assert a.alias and b.alias
    assert (a.name, b.name) == ("a", "b")


def test_merge_keys_are_honoured() -> None:
    text = (
        "base: &base {name: c, image: 'nginx:1'}\nkind: Pod\n"
        "spec:\n  containers:\n  - <<: *base\n    name: d\n"
    )
    (site,) = sites(text)
    assert (site.name, site.image, site.alias) == ("d", "nginx:1", True)


def test_non_string_images_keep_their_type_and_the_policy_spelling() -> None:
    text = (
        "kind: Pod\nspec:\n  containers:\n  - {name: a, image: 1.0}\n  - {name: b, image: null}\n"
    )
    a, b = sites(text)
    assert (a.value_type, a.value, a.image, a.exact) == ("float", 1.0, "1", False)
    assert (b.value_type, b.image) == ("null", "null")


def test_a_missing_image_field_is_no_site() -> None:
    assert sites("kind: Pod\nspec:\n  containers:\n  - name: a\n") == []


def test_templated_images_are_left_alone_with_a_note() -> None:
    text = (
        "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: '{{ .Values.image }}'\n"
        "  - name: b\n    image: ${IMAGE}\n"
    )
    scan = scan_text(text, "pod.yaml")
    assert scan.sites == []
    assert [n.line for n in scan.notes] == [5, 7]
    assert all("templated" in n.message for n in scan.notes)


def test_a_helm_template_that_is_not_yaml_is_a_note_not_an_error() -> None:
    text = (
        "{{- if .Values.enabled }}\nkind: Pod\n"
        "spec: {containers: [{name: a, image: x}]}\n{{- end }}\n"
    )
    scan = scan_text(text, "pod.yaml")
    assert scan.errors == []
    assert "Helm" in scan.notes[0].message


def test_invalid_yaml_names_file_and_line_and_other_documents_are_still_read() -> None:
    text = (
        "kind: Pod\nspec: {containers: [{name: a, image: one}]}\n---\nkind: Pod\n"
        "spec: {containers: [{name: b, image: two}]\n---\nkind: Pod\n"
        "spec: {containers: [{name: c, image: three}]}\n"
    )
    scan = scan_text(text, "bad.yaml")
    assert [s.image for s in scan.sites] == ["one", "three"]
    (error,) = scan.errors
    assert (error.file, error.line) == ("bad.yaml", 6)
    assert str(error).startswith("bad.yaml:6:")


def test_documents_that_cannot_hold_images_are_validated_only_with_parse_all() -> None:
    text = (
        "kind: ConfigMap\ndata: [unclosed\n---\n"
        "kind: Pod\nspec: {containers: [{name: a, image: x}]}\n"
    )
    quick = scan_text(text, "cm.yaml")
    full = scan_text(text, "cm.yaml", options=FinderOptions(parse_all=True))
    assert [s.image for s in quick.sites] == [s.image for s in full.sites] == ["x"]
    assert quick.errors == []
    assert [e.line for e in full.errors] == [3]


def test_bare_equals_scalars_that_pyyaml_rejects_are_just_strings() -> None:
    text = (
        "kind: Pod\nmetadata: {annotations: {op: =}}\nspec: {containers: [{name: c, image: x}]}\n"
    )
    assert [s.image for s in sites(text, parse_all=True)] == ["x"]


def test_extra_paths_from_config_find_images_in_custom_resources() -> None:
    text = (
        "kind: Task\nspec:\n  steps:\n"
        "  - {name: a, image: 'alpine:3'}\n  - {name: b, image: 'go:1'}\n"
        "---\nkind: AppWrapper\nspec:\n  components:\n  - template:\n      spec:\n"
        "        containers: [{name: c, image: 'x:1'}]\n"
    )
    extra = ExtraPaths(
        pod_specs={"AppWrapper": (parse_path("spec.components[*].template.spec"),)},
        images={"Task": (parse_path("spec.steps[*].image"),)},
    )
    found = sites(text, extra=extra)
    assert [(s.role, s.image, s.field_path) for s in found] == [
        ("image", "alpine:3", "spec.steps[0].image"),
        ("image", "go:1", "spec.steps[1].image"),
        ("container", "x:1", "spec.components[0].template.spec.containers[0].image"),
    ]


def test_gatekeeper_scope_reads_only_spec_container_lists_of_any_object() -> None:
    text = (
        workload("Deployment", "spec.template.spec")
        + "---\n"
        + POD
        + ("---\nkind: Widget\nspec:\n  containers:\n    first: {name: w, image: 'w:1'}\n")
    )
    found = sites(text, scope="gatekeeper")
    assert [(s.kind, s.role, s.image) for s in found] == [
        ("Pod", "initContainer", "busybox:1.36"),
        ("Pod", "container", "nginx:1.25"),
        ("Pod", "ephemeralContainer", "alpine"),
        ("Widget", "container", "w:1"),
    ]


# --- kustomize --------------------------------------------------------------------------------

KUSTOMIZATION = """\
resources: [deployment.yaml]
images:
- name: nginx
  newTag: "1.25"
- name: redis
  newName: registry.example/redis
  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
- name: app
  newName: registry.example/app
- name: both
  newTag: v2
  digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
- {name: flow, newTag: v3}
"""


def test_kustomize_entries_give_the_reference_kustomize_writes() -> None:
    scan = scan_text(KUSTOMIZATION, "overlay/kustomization.yaml")
    assert [(s.name, s.image) for s in scan.sites] == [
        ("nginx", "nginx:1.25"),
        ("redis", "registry.example/redis@sha256:" + "0" * 64),
        ("both", "both@sha256:" + "1" * 64),  # kustomize ignores newTag when digest is set
        ("flow", "flow:v3"),
    ]
    assert [n.message for n in scan.notes] == [
        "kustomize image registry.example/app sets no tag or digest"
    ]
    nginx = scan.sites[0]
    assert isinstance(nginx.detail, KustomizeImage)
    assert nginx.detail.new_tag is not None and nginx.detail.new_tag.quoting == "double"
    assert KUSTOMIZATION[nginx.start : nginx.end] == "1.25"
    assert (nginx.detail.key_column, nginx.detail.flow) == (2, False)
    assert scan.sites[3].detail.flow  # type: ignore[union-attr]


def test_a_kustomization_kind_inside_any_yaml_file_is_read_as_one() -> None:
    text = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "images:\n- {name: a, newTag: '1'}\n"
    )
    assert [s.source for s in sites(text, "base.yaml")] == ["kustomize"]


# --- Dockerfile -------------------------------------------------------------------------------

DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG BASE=alpine:3.19
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
RUN --mount=type=cache,target=/root/.cache \\
    --mount=type=bind,from=tools:1,source=/bin,target=/t go build
COPY --from=build /out /out
FROM ${BASE}
COPY --from=registry.example/assets:2 /a /a
COPY --from=0 /x /x
RUN <<EOF
FROM not-an-instruction:1
EOF
from scratch
FROM build AS again
"""


def test_dockerfile_images_stages_and_args() -> None:
    scan = scan_text(DOCKERFILE, "Dockerfile")
    found = [(s.image, s.line, s.column, s.detail.instruction) for s in scan.sites]  # type: ignore[union-attr]
    assert found == [
        ("golang:1.22", 3, 32, "FROM"),
        ("tools:1", 5, 28, "RUN"),
        ("registry.example/assets:2", 8, 13, "COPY"),
    ]
    first = scan.sites[0].detail
    assert isinstance(first, DockerfileImage)
    assert (first.platform, first.stage, first.stage_index) == ("$BUILDPLATFORM", "build", 0)
    assert all(DOCKERFILE[s.start : s.end] == s.image for s in scan.sites)
    notes = [n.message for n in scan.notes]
    assert notes == [
        "COPY names build stage 'build', not an image",
        "FROM built from ARG values left alone: ${BASE}",
        "COPY names build stage '0', not an image",
        "FROM names build stage 'build', not an image",
    ]


def test_dockerfile_escape_directive_and_continuations() -> None:
    text = "# escape=`\nFROM `\n  # a comment inside\n  mcr.example/base:1 AS b\n"
    (site,) = scan_text(text, "Containerfile").sites
    assert (site.image, site.line, site.column, site.name) == ("mcr.example/base:1", 4, 3, "b")


def test_dockerfile_on_stdin_is_recognised_by_its_first_instruction() -> None:
    scan = scan_text("FROM debian:12\n", "-")
    assert [s.image for s in scan.sites] == ["debian:12"]


# --- Compose and GitHub Actions ---------------------------------------------------------------


def test_compose_services() -> None:
    text = (
        "services:\n  web:\n    image: nginx:1\n  db:\n    image: 'postgres:16'\n"
        "  app:\n    build: .\n  env:\n    image: app:${TAG}\n"
    )
    scan = scan_text(text, "compose.yaml")
    assert [(s.name, s.image, s.field_path) for s in scan.sites] == [
        ("web", "nginx:1", "services.web.image"),
        ("db", "postgres:16", "services.db.image"),
    ]
    assert "templated" in scan.notes[0].message


WORKFLOW = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container: node:20
    services:
      redis:
        image: redis:7
    steps:
    - uses: actions/checkout@v4
    - uses: docker://alpine:3.19
    - uses: 'docker://${{ matrix.image }}'
  build:
    container:
      image: golang:1.22
"""


def test_actions_workflow_containers_services_and_docker_steps() -> None:
    scan = scan_text(WORKFLOW, ".github/workflows/ci.yml")
    assert [(s.image, s.field_path) for s in scan.sites] == [
        ("node:20", "jobs.test.container"),
        ("redis:7", "jobs.test.services.redis.image"),
        ("alpine:3.19", "jobs.test.steps[1].uses"),
        ("golang:1.22", "jobs.build.container.image"),
    ]
    assert all(WORKFLOW[s.start : s.end] == s.image for s in scan.sites)
    assert len(scan.notes) == 1


def test_docker_action_runs_image() -> None:
    text = "name: a\nruns:\n  using: docker\n  image: docker://ghcr.io/x/y:1\n"
    (site,) = scan_text(text, "action.yml").sites
    assert site.image == "ghcr.io/x/y:1"
