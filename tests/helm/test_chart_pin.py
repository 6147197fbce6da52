"""``pin --chart`` and ``check --chart``: the real ``helm template``, the real registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import imgdigest
from imgdigest.check import CheckOptions
from imgdigest.documents import scan_text
from imgdigest.errors import ChartError
from imgdigest.lock import Lock, LockEntry
from imgdigest.pin import PinOptions, check_chart, pin_chart
from imgdigest.reference import normalize
from tests.harness import push_image, push_index
from tests.pin.helpers import fake_digest
from tests.registry.helpers import options
from tests.shared import TOOLS, tool

from .charts import copy_chart

R = "registry.example:5000"
D = fake_digest("chart")

#: What the shapes chart renders with values-prod.yaml: (container, image, values file:line).
TRACED = [
    ("kubectl", f"{R}/shapes/kubectl:1.30", "values.yaml:43"),
    ("web", f"{R}/shapes/web:1.0", "values.yaml:6"),
    ("worker", f"{R}/shapes/worker:2.1", "values-prod.yaml:6"),
    ("metrics", f"{R}/shapes/metrics:3.1", "values-prod.yaml:9"),
    ("proxy", f"{R}/shapes/proxy:4.0.1", "values.yaml:28"),
    ("log", f"{R}/shapes/log:5.0", "values.yaml:33"),
    ("controller", f"{R}/shapes/controller:v6", "values.yaml:40"),
    ("cache", f"{R}/shapes/cache:7.0", "values.yaml:50"),
    ("exporter", f"{R}/shapes/exporter:8.0", "charts/cache/values.yaml:5"),
]


def lock_of(*refs: str, digest: str = D) -> Lock:
    lock = Lock()
    for ref in refs:
        lock.add(LockEntry(str(normalize(ref)), digest))
    return lock


def rendered(chart: Path, *args: str, binary: str = "helm") -> dict[str, str]:
    """Container name -> image, as the real helm renders the chart now."""
    out = subprocess.run(
        [tool(binary), "template", "release", str(chart), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return {s.name or "": s.image for s in scan_text(out, "out.yaml").sites}


def cli(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path if path is not None else f"{TOOLS}:{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "imgdigest", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.parametrize("binary", ["helm", "helm3"])
def test_pin_chart_pins_the_values_each_rendered_image_comes_from(tmp_path, binary) -> None:
    chart = copy_chart("shapes", tmp_path)
    prod = str(chart / "values-prod.yaml")
    lock = lock_of(*(image for _, image, _ in TRACED))
    plan = pin_chart(chart, [prod], options=PinOptions(lock=lock, offline=True), helm=tool(binary))
    # every image traced to the values line that feeds it; the literal to its template line
    by_image = {i.image: i for i in plan.images}
    for _, image, where in TRACED:
        assert by_image[image].values == (f"{chart}/{where}",)
        assert by_image[image].digest == D
    assert by_image["busybox:1.36"].literal == f"{chart}/templates/job.yaml:11"
    assert [(f.file, f.line, f.reference) for f in plan.failures] == [
        (f"{chart}/templates/job.yaml", 11, "busybox:1.36")
    ]
    assert plan.exit_code == 1
    before = rendered(chart, "-f", prod, binary=binary)
    assert plan.write() == []  # a failure writes nothing...
    assert rendered(chart, "-f", prod, binary=binary) == before
    written = plan.write(partial=True)  # ...unless asked to write what could be pinned
    assert sorted(Path(f).relative_to(chart).as_posix() for f in written) == [
        "charts/cache/values.yaml",
        "values-prod.yaml",
        "values.yaml",
    ]
    after = rendered(chart, "-f", prod, binary=binary)
    expected = {name: f"{image}@{D}" for name, image, _ in TRACED}
    expected["metrics"] = f"{R}/shapes/metrics@{D}"  # Bitnami drops the tag once digest is set
    expected["proxy"] = f"{R}/shapes/proxy@{D}"
    expected["controller"] = f"{R}/shapes/controller@{D}"
    expected["migrate"] = "busybox:1.36"
    assert after == expected
    # the subchart's own default, overridden by the parent, is left as it was
    assert '  tag: "6.0"\n' in (chart / "charts/cache/values.yaml").read_text()
    assert '      tag: "2.0"\n' in (chart / "values.yaml").read_text()


def test_pin_chart_against_the_registry_then_check_chart_passes(
    registry_http, unique_repo, tmp_home, monkeypatch
) -> None:
    host = registry_http.host
    chart = copy_chart("shapes", tmp_home, host, unique_repo)
    (chart / "templates" / "job.yaml").unlink()  # no literal: the whole chart can be pinned
    pushed: dict[str, str] = {}
    for name, image, _ in TRACED:
        repo, tag = image.removeprefix(f"{R}/shapes/").split(":")
        pushed[name] = push_image(registry_http, f"{unique_repo}/{repo}", tag, seed=name).digest
    pushed["web"] = push_index(registry_http, f"{unique_repo}/web", "1.0", seed="web").digest
    prod = str(chart / "values-prod.yaml")
    monkeypatch.setenv("PATH", f"{TOOLS}{os.pathsep}{os.environ['PATH']}")  # found on PATH
    report = check_chart(chart, [prod])
    assert report.exit_code == 1 and len(report.violations) == 9
    opts = options(registry_http, tmp_home)
    plan = pin_chart(chart, [prod], options=PinOptions(), resolve_options=opts)
    assert plan.failures == [] and len(plan.changes) == 9
    plan.write()
    assert check_chart(chart, [prod]).exit_code == 0
    after = rendered(chart, "-f", prod)
    assert after["web"] == f"{host}/{unique_repo}/web:1.0@{pushed['web']}"
    assert after["metrics"] == f"{host}/{unique_repo}/metrics@{pushed['metrics']}"
    assert after["exporter"] == f"{host}/{unique_repo}/exporter:8.0@{pushed['exporter']}"
    assert after["worker"] == f"{host}/{unique_repo}/worker:2.1@{pushed['worker']}"


def test_a_chart_that_ignores_its_digest_key_gets_the_pin_in_its_tag(tmp_path) -> None:
    """The first render proves the digest key unread; the pin moves to the tag."""
    chart = tmp_path / "plain"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: plain\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(
        f"image:\n  repository: {R}/x\n  tag: '1'\n  digest: ''  # offered, never read\n"
    )
    (chart / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        '  - name: c\n    image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n'
    )
    lock = lock_of(f"{R}/x:1")
    plan = pin_chart(chart, options=PinOptions(lock=lock, offline=True), helm=tool("helm"))
    assert plan.failures == []
    plan.write()
    assert (chart / "values.yaml").read_text() == (
        f"image:\n  repository: {R}/x\n  tag: '1@{D}'\n  digest: ''  # offered, never read\n"
    )
    assert rendered(chart) == {"c": f"{R}/x:1@{D}"}


def test_an_image_set_with_set_is_reported_not_pinned(tmp_path) -> None:
    chart = copy_chart("shapes", tmp_path)
    (chart / "templates" / "job.yaml").unlink()
    refs = [image for _, image, _ in TRACED] + [f"{R}/shapes/worker:2.0", f"{R}/shapes/metrics:3.0"]
    plan = pin_chart(
        chart,
        set_values=[f"image={R}/other/web:9"],
        options=PinOptions(lock=lock_of(*refs), offline=True),
        helm=tool("helm"),
    )
    assert [(f.file, f.reference, f.reason) for f in plan.failures] == [
        ("--set", f"{R}/other/web:9", "set with --set image: pin it there")
    ]


def test_cli_check_chart_names_values_lines_and_the_template_literal(tmp_path) -> None:
    chart = copy_chart("shapes", tmp_path)
    done = cli("check", "--chart", str(chart), "-f", str(chart / "values-prod.yaml"))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 10
    assert (
        f"{chart}/values-prod.yaml:6:13: Helm value <backend.worker.image> uses an image without "
        f"a digest <{R}/shapes/worker:2.1> (rendered in {chart}/templates/deployment.yaml as "
        "container <worker>)"
    ) in lines
    assert (
        f"{chart}/templates/job.yaml:11:1: container <migrate> uses an image without a digest "
        "<busybox:1.36> (a template literal, not a values entry)"
    ) in lines


def test_cli_pin_chart_offline_with_a_lock_writes_the_values(tmp_path) -> None:
    chart = copy_chart("shapes", tmp_path)
    (chart / "templates" / "job.yaml").unlink()
    lock = tmp_path / "images.lock"
    lock.write_text("".join(f"{image}@{D}\n" for _, image, _ in TRACED))
    prod = str(chart / "values-prod.yaml")
    args = ("--chart", str(chart), "-f", prod, "--offline", "--lock", str(lock), "--write")
    shown = cli("pin", *args[:-1], "--format", "json")
    assert shown.returncode == 0, shown.stderr
    plan = json.loads(shown.stdout)
    assert (plan["chart"], plan["written"], len(plan["changes"])) == (str(chart), [], 9)
    assert {i["image"]: (i["values"], i["digest"]) for i in plan["images"]} == {
        image: ([f"{chart}/{where}"], D) for _, image, where in TRACED
    }
    done = cli("pin", *args)
    assert done.returncode == 0, done.stderr
    assert f'tag: "2.1@{D}"' in (chart / "values-prod.yaml").read_text()
    assert "pinned 9 references in 3 files" in done.stderr
    assert cli("check", "--chart", str(chart), "-f", prod).returncode == 0


def test_a_chart_that_fails_to_render_is_exit_2_with_helms_message(tmp_path) -> None:
    chart = tmp_path / "broken"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (chart / "templates" / "x.yaml").write_text("x: {{ .Values.nope.deeper }}\n")
    before = (chart / "templates" / "x.yaml").read_bytes()
    for command in ("pin", "check"):
        done = cli(command, "--chart", str(chart))
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.splitlines() == [
            f"imgdigest: error: {chart}: helm template failed: broken/templates/x.yaml:1:13 "
            'executing "broken/templates/x.yaml" at <.Values.nope.deeper>: nil pointer '
            "evaluating interface {}.deeper"
        ]
    assert (chart / "templates" / "x.yaml").read_bytes() == before
    with pytest.raises(ChartError) as caught:
        pin_chart(chart, helm=tool("helm"))
    assert caught.value.exit_code == 2


def test_no_helm_and_no_chart_are_exit_2_naming_them(tmp_path) -> None:
    chart = copy_chart("shapes", tmp_path)
    done = cli("pin", "--chart", str(chart), path="/nonexistent")
    assert (done.returncode, done.stderr) == (
        2,
        "imgdigest: error: helm: not found on PATH; --chart renders with Helm 3 or 4 "
        "(https://helm.sh/docs/intro/install/)\n",
    )
    done = cli("check", "--chart", str(tmp_path))
    assert (done.returncode, done.stderr) == (
        2,
        f"imgdigest: error: {tmp_path}: not a chart (no Chart.yaml)\n",
    )
    done = cli("pin", "-f", str(chart / "values.yaml"), str(chart))
    assert (done.returncode, done.stderr) == (
        2,
        "imgdigest: error: -f and --set need --chart DIR\n",
    )


def small_chart(root: Path, values: str, pod_extra: str = "") -> Path:
    chart = root / "small"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: small\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(values)
    (chart / "templates" / "pod.yaml").write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n{pod_extra}spec:\n  containers:\n"
        '  - name: c\n    image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n'
    )
    return chart


def test_a_pin_that_would_change_more_than_images_is_refused(tmp_path) -> None:
    """The tag also feeds a label: pinning it would change the label, so nothing is pinned."""
    values = f"image:\n  repository: {R}/x\n  tag: '1'\n"
    label = "  labels:\n    version: {{ .Values.image.tag | trunc 63 | quote }}\n"
    chart = small_chart(tmp_path, values, label)
    lock = lock_of(f"{R}/x:1")
    plan = pin_chart(chart, options=PinOptions(lock=lock, offline=True), helm=tool("helm"))
    assert [(f.file, f.reason) for f in plan.failures] == [
        (str(chart), "pinning changed the rendered output outside its images; nothing pinned")
    ]
    assert plan.exit_code == 1 and plan.changes == [] and plan.write(partial=True) == []
    assert (chart / "values.yaml").read_text() == values


def test_update_refreshes_a_pinned_value_through_the_chart(tmp_path) -> None:
    old = fake_digest("old")
    values = f"image:\n  repository: {R}/x\n  tag: '1@{old}'  # pinned\n"
    chart = small_chart(tmp_path, values)
    lock = lock_of(f"{R}/x:1")
    kept = pin_chart(chart, options=PinOptions(lock=lock, offline=True), helm=tool("helm"))
    assert kept.changes == [] and kept.failures == []
    plan = pin_chart(
        chart, options=PinOptions(lock=lock, offline=True, update=True), helm=tool("helm")
    )
    assert [(c.old, c.new, c.mode) for c in plan.changes] == [(f"1@{old}", f"1@{D}", "update")]
    plan.write()
    assert rendered(chart) == {"c": f"{R}/x:1@{D}"}


def test_check_chart_verify_reports_a_moved_tag_at_its_values_line(
    registry_http, unique_repo, tmp_home, monkeypatch
) -> None:
    host = registry_http.host
    chart = copy_chart("shapes", tmp_home, host, unique_repo)
    (chart / "templates" / "job.yaml").unlink()
    for name, image, _ in TRACED:
        repo, tag = image.removeprefix(f"{R}/shapes/").split(":")
        push_image(registry_http, f"{unique_repo}/{repo}", tag, seed=name)
    first = push_index(registry_http, f"{unique_repo}/web", "1.0", seed="web").digest
    prod = str(chart / "values-prod.yaml")
    monkeypatch.setenv("PATH", f"{TOOLS}{os.pathsep}{os.environ['PATH']}")
    opts = options(registry_http, tmp_home)
    plan = pin_chart(chart, [prod], options=PinOptions(), resolve_options=opts)
    plan.write()
    with imgdigest.Client(opts) as client:
        verify = CheckOptions(verify=True)
        assert client.check_chart(chart, [prod], options=verify).violations == []
        # the web tag moves after pinning: --verify reports it where the value is set
        now = push_index(registry_http, f"{unique_repo}/web", "1.0", seed="web, rebuilt").digest
        report = client.check_chart(chart, [prod], options=verify)
    web = str(chart / "values.yaml")
    assert [(v.rule, v.file, v.line) for v in report.violations] == [("tag-moved", web, 6)]
    violation = report.violations[0]
    assert violation.message.startswith("Helm value <")
    assert violation.detail == (
        f"tag 1.0 has moved: pinned {first}, now {now}; "
        f"rendered in {chart}/templates/deployment.yaml as container <web>"
    )
    done = cli("check", "--chart", str(chart), "-f", prod, "--verify", "-q")
    assert done.returncode == 1, done.stderr
    # the CLI prints what the library found, at the same line
    assert done.stdout.splitlines() == [f"{web}:6:8: {violation.message} ({violation.detail})"]
