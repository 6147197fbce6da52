"""Finding images in Helm values files: which files are values, every shape, every note."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgdigest.documents import HelmImage, find_images, scan_text

from .charts import copy_chart

R = "registry.example:5000"
NO_TAG = "sets no tag (the chart's default, often its appVersion, applies)"


def sites(paths: list[str]) -> list[tuple[str, int, int, str, str]]:
    return [
        (Path(s.file).name, s.line, s.column, s.field_path, s.image)
        for scan in find_images(paths)
        for s in scan.sites
    ]


def test_a_chart_walk_reads_every_shape_of_its_values_and_its_subchart(tmp_path: Path) -> None:
    chart = copy_chart("shapes", tmp_path)
    assert sites([str(chart)]) == [
        ("values-prod.yaml", 6, 13, "backend.worker.image", f"{R}/shapes/worker:2.1"),
        ("values.yaml", 6, 8, "image", f"{R}/shapes/web:1.0"),
        ("values.yaml", 13, 13, "backend.worker.image", f"{R}/shapes/worker:2.0"),
        ("values.yaml", 22, 14, "metrics.image", f"{R}/shapes/metrics:3.0"),
        ("values.yaml", 29, 15, "proxy.image", f"{R}/shapes/proxy:4.0.1"),
        ("values.yaml", 33, 67, "sidecars[0].image", f"{R}/shapes/log:5.0"),
        ("values.yaml", 41, 13, "controller.image", f"{R}/shapes/controller:v6"),
        ("values.yaml", 43, 16, "kubectlImage", f"{R}/shapes/kubectl:1.30"),
        ("values.yaml", 50, 11, "cache.image", f"{R}/shapes/cache:7.0"),
        ("values.yaml", 3, 9, "image", f"{R}/shapes/cache:6.0"),
        ("values.yaml", 5, 11, "exporter.image", f"{R}/shapes/exporter:8.0"),
    ]


def test_templates_are_left_alone_and_a_tag_alone_is_noted(tmp_path: Path) -> None:
    chart = copy_chart("shapes", tmp_path)
    notes = [
        str(n).replace(str(chart) + "/", "") for s in find_images([str(chart)]) for n in s.notes
    ]
    assert (
        "values-prod.yaml:9: metrics.image: sets a tag but no repository; pin --chart "
        "renders the chart to find it" in notes
    )
    assert "templates/deployment.yaml: Helm chart template left alone" in notes


def test_each_key_of_a_map_keeps_its_own_span(tmp_path: Path) -> None:
    chart = copy_chart("shapes", tmp_path)
    scan = next(s for s in find_images([str(chart / "values.yaml")]))
    by_path = {s.field_path: s.detail for s in scan.sites}
    metrics, proxy, controller = (
        by_path["metrics.image"],
        by_path["proxy.image"],
        by_path["controller.image"],
    )
    assert isinstance(metrics, HelmImage) and isinstance(proxy, HelmImage)
    assert isinstance(controller, HelmImage)
    assert (metrics.digest_key, metrics.digest.raw, metrics.digest.quoting) == (
        "digest",
        "",
        "double",
    )  # type: ignore[union-attr]
    assert (proxy.digest_key, proxy.digest.line, proxy.tag.raw) == ("imageDigest", 29, "4.0.1")  # type: ignore[union-attr]
    assert (controller.repository.raw, controller.digest.raw) == ("shapes/controller", "~")  # type: ignore[union-attr]
    assert isinstance(by_path["backend.worker.image"], HelmImage)
    assert by_path["backend.worker.image"].digest is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("values.yaml", "helm-values"),
        ("values-prod.yml", "helm-values"),
        ("prod.values.yaml", "helm-values"),
        ("my_values.yaml", "helm-values"),
        ("overrides.yaml", "yaml"),
        ("valuesfile.yaml", "yaml"),
        ("novalues.yaml", "yaml"),
    ],
)
def test_a_file_named_explicitly_is_values_when_its_name_says_so(
    tmp_path: Path, name: str, reader: str
) -> None:
    f = tmp_path / name
    f.write_text("image: {repository: nginx, tag: '1.25'}\n")
    scan = next(find_images([str(f)]))
    assert scan.source == reader
    assert [s.image for s in scan.sites] == (["nginx:1.25"] if reader == "helm-values" else [])


def test_values_yaml_outside_a_chart_is_sniffed_as_any_yaml(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("image: {repository: nginx, tag: '1.25'}\n")
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "chart" / "values-dev.yaml").write_text("image: nginx:1.25\n")
    found = [
        (Path(s.file).relative_to(tmp_path).as_posix(), s.source)
        for s in find_images([str(tmp_path)])
    ]
    assert found == [
        ("values.yaml", "yaml"),
        ("chart/Chart.yaml", "yaml"),
        ("chart/values-dev.yaml", "helm-values"),
    ]
    assert sites([str(tmp_path)]) == [("values-dev.yaml", 1, 8, "image", "nginx:1.25")]


def test_a_manifest_named_like_values_is_read_as_a_manifest() -> None:
    text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: c\n    image: nginx:1\n"
    scan = scan_text(text, "values-pod.yaml")
    assert [(s.source, s.field_path) for s in scan.sites] == [
        ("kubernetes", "spec.containers[0].image")
    ]


def test_global_image_registry_wins_over_a_maps_own_registry() -> None:
    text = (
        "global:\n  imageRegistry: mirror.example\n"
        "a:\n  image: {registry: docker.io, repository: bitnami/redis, tag: '7.2'}\n"
        "b:\n  image: {repository: bitnami/redis, tag: '7.2'}\n"
    )
    scan = scan_text(text, "values.yaml")
    assert [s.image for s in scan.sites] == [
        "mirror.example/bitnami/redis:7.2",
        "bitnami/redis:7.2",
    ]


def test_a_set_digest_is_what_the_chart_renders() -> None:
    d = "sha256:" + "a" * 64
    text = (
        f"image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: '7.2'\n  digest: {d}\n"
    )
    (site,) = scan_text(text, "values.yaml").sites
    assert site.image == f"docker.io/bitnami/redis@{d}"


def test_a_string_image_without_a_tag_is_noted_not_guessed() -> None:
    scan = scan_text("web:\n  image: ghcr.io/acme/web\n", "values.yaml")
    assert scan.sites == []
    assert [str(n) for n in scan.notes] == [
        "values.yaml:2: web.image: ghcr.io/acme/web names no tag or digest (the chart may add "
        "one); left alone"
    ]


@pytest.mark.parametrize(
    ("text", "note"),
    [
        (
            "image: {repository: nginx, tag: 1.10}\n",
            "values.yaml:1: image: tag 1.10 is a YAML float, not a string; quote it to pin it",
        ),
        (
            "image: {repository: nginx, tag: ''}\n",
            f"values.yaml:1: image: nginx {NO_TAG}",
        ),
        (
            "image: {repository: nginx}\n",
            f"values.yaml:1: image: nginx {NO_TAG}",
        ),
        (
            "image:\n  repository: '{{ .Values.repo }}'\n  tag: '1'\n",
            "values.yaml:2: templated image left alone: image",
        ),
        (
            "init:\n  image: '{{ .Values.x }}:1'\n",
            "values.yaml:2: templated image left alone: {{ .Values.x }}:1",
        ),
    ],
)
def test_what_cannot_be_pinned_is_noted(text: str, note: str) -> None:
    scan = scan_text(text, "values.yaml")
    assert scan.sites == [] and [str(n) for n in scan.notes] == [note]


@pytest.mark.parametrize(
    "text",
    [
        "image: ''\n",
        "baseImage: Ubuntu 22.04\n",
        "image: true\n",
        "image:\n  pullPolicy: Always\n",
        "imagePullSecrets: [{name: regcred}]\n",
        "title: 'nginx:1.25'\n",
        "logoImage: logo.png\n",
        "baseImage: ghcr.io/acme/base\n",
    ],
)
def test_values_that_are_no_image_are_not_reported(text: str) -> None:
    scan = scan_text(text, "values.yaml")
    assert scan.sites == [] and scan.notes == [] and scan.errors == []
