"""docs/api.md runs: every Python block of the page, in order, against a real registry.

``registry.example.com`` in the page stands for the test registry. The expected values
checked after the run come from the harness that pushed the images (their digests,
their files), never from the library under test.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.explore.helpers import tar_listing, write_layout
from tests.harness import push_index
from tests.shared import TOOLS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[str]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_an_example_per_job() -> None:
    code = "\n".join(blocks())
    jobs = [
        "resolve(", "resolve_many(", "manifest(", "config(", "layers(", "tree(", "files(",
        "blob(", "tags(", "tags_of(", "copy(", "pin(", "pin_text(", "lock(", "drift(",
        "check_files(", "check_text(", "check_object(", "gatekeeper_policy(",
        "kyverno_policy(", "AsyncClient(", "audit(", "pin_chart(", "check_chart(",
        "pin_resources(", "generate_keys(", "sign(", "verify(",
    ]  # fmt: skip
    assert [job for job in jobs if job not in code] == []


@pytest.fixture
def workspace(tmp_path, monkeypatch, registry_http, tmp_home):
    host = registry_http.host
    idx = push_index(registry_http, "team/app", "1.4", layers=2, seed="api-docs")
    work = tmp_path / "work"
    (work / "k8s").mkdir(parents=True)
    (work / "k8s" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: app\n"
        "          image: registry.example.com/team/app:1.4\n".replace("registry.example.com", host)
    )
    (work / "compose.yaml").write_text(
        f"services:\n  web:\n    image: {host}/team/app:1.4\n"
    )
    write_layout(work / "layout", {"1.4": idx})
    running = {"name": "app", "image": f"{host}/team/app:1.4",
               "imageID": f"{host}/team/app@{idx.digest}"}
    pod = {"kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"containers": [{"name": "app", "image": running["image"]}]},
           "status": {"containerStatuses": [running]}}
    (work / "pods.json").write_text(json.dumps({"kind": "List", "items": [pod]}))
    chart = work / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(f"image:\n  repository: {host}/team/app\n  tag: '1.0'\n")
    (chart / "values-prod.yaml").write_text("image:\n  tag: '1.4'\n")
    (chart / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: app\n"
        '    image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n'
    )
    monkeypatch.setenv("PATH", f"{TOOLS}{os.pathsep}{os.environ['PATH']}")  # helm, as make test
    monkeypatch.chdir(work)
    return host, idx, work


def test_every_example_runs_and_gives_what_the_registry_holds(workspace, capsys) -> None:
    host, idx, work = workspace
    ns: dict[str, object] = {"__name__": "api_docs"}
    for n, block in enumerate(blocks()):
        code = block.replace("registry.example.com", host)
        exec(compile(code, f"docs/api.md block {n + 1}", "exec"), ns)

    amd64, arm64 = idx.child("linux", "amd64"), idx.child("linux", "arm64", "v8")
    assert ns["res"].digest == idx.digest
    assert ns["res"].kind == "index"
    assert ns["arm"].digest == arm64.digest
    assert ns["platforms"] == ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]
    assert ns["ok"].digest == idx.digest
    assert ns["missing"].exit_code == 3
    assert ns["local"].endpoint.startswith("oci:layout")
    assert ns["manifest"].raw == idx.manifest_bytes
    assert ns["config"].raw == amd64.config_bytes
    assert [r.descriptor.digest for r in ns["layers"].layers] == amd64.layer_digests
    assert [r.diff_id for r in ns["layers"].layers] == amd64.diff_ids
    expected_paths = [
        p.rstrip("/") for layer in amd64.layer_bytes for p in tar_listing({}, layer)
    ]
    assert [p.rstrip("/") for p in ns["paths"]] == expected_paths
    assert ns["blob"] == amd64.config_bytes
    assert ns["tags"] == ["1.4"]
    assert ns["running"] == [("Pod", "web", [idx.digest])]
    assert [f.problem for f in ns["audit"].findings] == ["unpinned"]
    assert f"image: {host}/team/app:1.4@{idx.digest}\n" in ns["patches"]
    assert [m.tag for m in ns["found"].matches] == ["1.4"]
    assert ns["copied"].reference == f"{host}/mirror/app:1.4@{idx.digest}"
    blobs = {d for image in [*idx.children, *idx.attestations] for d in image.blobs}
    assert ns["copied"].blobs == len(blobs)
    assert ns["copied"].blobs_mounted + ns["copied"].blobs_uploaded == len(blobs)
    assert (ns["again"].blobs_mounted, ns["again"].blobs_skipped) == (0, len(blobs))
    assert (work / "export" / "index.json").is_file()

    # pin wrote the manifest, byte for byte what was there plus the digest
    deploy = (work / "k8s" / "deploy.yaml").read_text()
    assert deploy.endswith(f"image: {host}/team/app:1.4@{idx.digest}\n")
    assert ns["text_plan"].files[0].new_text == f"FROM {host}/team/app:1.4@{idx.digest}\n"
    assert ns["pinned_offline"].files[0].new_text == f"FROM {host}/team/app:1.4@{idx.digest}\n"
    assert f"{host}/team/app:1.4" in (work / "images.lock").read_text()

    # the ResourceList's image, pinned to the arm64 manifest the settings asked for
    assert ns["krm"].text == ns["resource_list"].replace(
        f"{host}/team/app:1.4\n", f"{host}/team/app:1.4@{arm64.digest}\n"
    )

    # the chart's image came from the overlay's tag: pinned there, and checked clean after
    prod = (work / "chart" / "values-prod.yaml").read_text()
    assert prod == f"image:\n  tag: '1.4@{idx.digest}'\n"
    assert ns["chart_check"].exit_code == 0 and ns["chart_check"].images == 1

    # compose.yaml was never pinned: drift and check both name its line 3
    assert [(f.file, f.line, f.problem) for f in ns["drift"].findings] == [
        ("compose.yaml", 3, "unpinned")
    ]
    assert ns["drift"].exit_code == 1
    assert ns["verified"].violations == []  # k8s/ is pinned now, to a digest its tag names
    assert [(v.file, v.line, v.rule) for v in ns["checked"].violations] == [
        ("compose.yaml", 3, "no-digest")
    ]
    assert "kind: K8sImageDigests" in ns["gatekeeper"]
    assert "kind: ClusterPolicy" in ns["kyverno"]
    async_paths = [p.rstrip("/") for layer in arm64.layer_bytes for p in tar_listing({}, layer)]
    digest, *paths = ns["async_answers"]
    assert (digest, [p.rstrip("/") for p in paths]) == (idx.digest, async_paths)
    out = capsys.readouterr().out
    assert "container <web> uses an image without a digest <nginx:1.25>" in out
    assert "3 " in out and "no manifest for platform windows/amd64" in out
