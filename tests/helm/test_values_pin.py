"""Pin, check, drift and lock over Helm values files: offline with a lock, and on a registry."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgdigest.check import check_paths
from imgdigest.documents import find_images, scan_text
from imgdigest.drift import drift_paths
from imgdigest.lock import lock_paths
from imgdigest.pin import PinOptions, pin_text_document, plan_paths
from tests.harness import push_image, push_index
from tests.pin.helpers import fake_digest, lock_for
from tests.registry.helpers import options

from .charts import copy_chart

R = "registry.example:5000"
D = fake_digest("helm values")
D2 = fake_digest("helm values, moved")

#: values.yaml of the shapes chart once pinned: each line as the chart reads it.
PINNED_LINES = {
    f"image: {R}/shapes/web:1.0\n": f"image: {R}/shapes/web:1.0@{D}\n",
    '      tag: "2.0"\n': f'      tag: "2.0@{D}"\n',
    '    digest: ""\n': f'    digest: "{D}"\n',
    "  imageDigest:\n": f"  imageDigest: {D}\n",
    'tag: "5.0"}': f'tag: "5.0@{D}"}}',
    "    digest: ~\n": f"    digest: {D}\n",
    f"kubectlImage: '{R}/shapes/kubectl:1.30'": f"kubectlImage: '{R}/shapes/kubectl:1.30@{D}'",
    '    tag: "7.0"\n': f'    tag: "7.0@{D}"\n',
}


def chart_images(chart: Path) -> list[str]:
    return [s.image for scan in find_images([str(chart)]) for s in scan.sites]


def test_offline_pin_writes_each_digest_where_the_chart_reads_it(tmp_path: Path) -> None:
    chart = copy_chart("shapes", tmp_path)
    before = (chart / "values.yaml").read_text()
    expected = before
    for old, new in PINNED_LINES.items():
        assert expected.count(old) == 1, old
        expected = expected.replace(old, new)
    plan = plan_paths(
        [str(chart)], PinOptions(lock=lock_for(*chart_images(chart), digest=D), offline=True)
    )
    assert plan.failures == [] and plan.errors == []
    plan.write()
    assert (chart / "values.yaml").read_text() == expected
    assert (chart / "charts/cache/values.yaml").read_text() == (
        f'image:\n  repository: {R}/shapes/cache\n  tag: "6.0@{D}"\n'
        f'exporter:\n  image: "{R}/shapes/exporter:8.0@{D}"\n'
    )
    assert f'tag: "2.1@{D}"' in (chart / "values-prod.yaml").read_text()
    assert len(plan.changes) == 11
    again = plan_paths([str(chart)], PinOptions(lock=lock_for(*chart_images(chart)), offline=True))
    assert again.changes == [] and again.failures == []


def test_check_reports_each_unpinned_value_at_its_line_and_passes_once_pinned(
    tmp_path: Path,
) -> None:
    chart = copy_chart("shapes", tmp_path)
    report = check_paths([str(chart / "values.yaml")])
    assert report.exit_code == 1
    no_digest = "uses an image without a digest"
    assert [(v.line, v.message) for v in report.violations][:3] == [
        (6, f"Helm value <image> {no_digest} <{R}/shapes/web:1.0>"),
        (
            13,
            f"Helm value <backend.worker.image> {no_digest} <{R}/shapes/worker:2.0>",
        ),
        (22, f"Helm value <metrics.image> {no_digest} <{R}/shapes/metrics:3.0>"),
    ]
    assert len(report.violations) == 8
    plan_paths([str(chart)], PinOptions(lock=lock_for(*chart_images(chart)), offline=True)).write()
    pinned = check_paths([str(chart)])
    assert pinned.violations == [] and pinned.exit_code == 0 and pinned.images == 11


def test_update_rewrites_the_digest_key_and_the_tag_pin(tmp_path: Path) -> None:
    text = (
        f"a:\n  image: {{registry: {R}, repository: x/a, tag: '1', digest: '{D}'}}\n"
        f"b:\n  image:\n    repository: {R}/x/b\n    tag: 2@{D}  # pinned\n"
    )
    lock = lock_for(f"{R}/x/a:1", f"{R}/x/b:2", digest=D2)
    plan = pin_text_document(text, "values.yaml", PinOptions(update=True, lock=lock, offline=True))
    assert plan.files[0].new_text == text.replace(f"'{D}'", f"'{D2}'").replace(f"2@{D}", f"2@{D2}")
    assert [c.mode for c in plan.changes] == ["update", "update"]
    untouched = pin_text_document(text, "values.yaml", PinOptions(lock=lock, offline=True))
    assert untouched.changes == []


# --- property: pinning touches only image values ----------------------------------------------

SHAPES = ("string", "map", "bitnami", "sibling", "flow")
KEYS = ("image", "initImage", "sidecar_image")
quotes = st.sampled_from(["", "'", '"'])
comments = st.sampled_from(["", "  # keep me", "  # image: nginx:1"])
digest_values = st.sampled_from(['""', "''", ""])


@st.composite
def values_file(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A values file of image entries at random depths, and the references it names."""
    lines: list[str] = ["# generated\n"]
    refs: list[str] = []
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    for n in range(draw(st.integers(1, 6))):
        depth = draw(st.integers(1, 3))  # under a parent of its own: keys stay unique
        pad = "  " * depth
        for level in range(depth):
            lines.append("  " * level + f"level{n}x{level}:{draw(comments)}\n")
        key = draw(st.sampled_from(KEYS))
        q, q2 = draw(quotes), draw(quotes)
        repo, tag = f"{R}/img{n}", f"v{draw(st.integers(0, 99))}.{n}"
        shape = draw(st.sampled_from(SHAPES))
        refs.append(f"{repo}:{tag}")
        if shape == "string":
            lines.append(f"{pad}{key}: {q}{repo}:{tag}{q}{draw(comments)}\n")
        elif shape == "flow":
            lines.append(f"{pad}{key}: {{repository: {q}{repo}{q}, tag: {q2}{tag}{q2}}}\n")
        elif shape == "bitnami":
            lines.append(f"{pad}{key}:{draw(comments)}\n{pad}  registry: {R}\n")
            lines.append(f"{pad}  repository: {q}img{n}{q}\n{pad}  tag: {q2}{tag}{q2}\n")
            lines.append(f"{pad}  digest: {draw(digest_values)}\n".replace(": \n", ":\n"))
        else:
            lines.append(f"{pad}{key}:\n{pad}  repository: {q}{repo}{q}{draw(comments)}\n")
            lines.append(f"{pad}  tag: {q2}{tag}{q2}\n{pad}  pullPolicy: IfNotPresent\n")
            if shape == "sibling":
                lines.append(f"{pad}{key}Digest: {draw(digest_values)}\n".replace(": \n", ":\n"))
        lines.append(f"{pad}title{n}: {q}{repo}:{tag}{q}\n")  # looks like an image, is not one
    return "".join(lines).replace("\n", newline), refs


#: What a pin may add: ``@digest`` after a tag, a digest into an empty value.
ADDED = re.compile(r"@sha256:[0-9a-f]{64}|(?<=[\"'])sha256:[0-9a-f]{64}|(?<=:) sha256:[0-9a-f]{64}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values_file())
def test_pinning_changes_no_byte_outside_image_values(case: tuple[str, list[str]]) -> None:
    text, refs = case
    lock = lock_for(*refs, digest=D)
    plan = pin_text_document(text, "values.yaml", PinOptions(lock=lock, offline=True))
    assert plan.failures == [] and plan.errors == []
    new = plan.files[0].new_text
    assert new is not None
    assert ADDED.sub("", new) == text
    assert len(plan.changes) == len(refs)
    again = scan_text(new, "values.yaml")
    assert len(again.sites) == len(refs) and all(D in s.image for s in again.sites)
    assert pin_text_document(new, "values.yaml", PinOptions(lock=lock, offline=True)).changes == []


# --- against the real registry ------------------------------------------------------------------


def test_pin_check_drift_and_lock_a_chart_against_a_registry(registry_http, unique_repo, tmp_home):
    host = registry_http.host
    chart = copy_chart("shapes", tmp_home, host, unique_repo)
    # each tag the values name points at an image of its own; web's is an index
    tags = {"worker": "2.0", "metrics": "3.0", "proxy": "4.0.1", "log": "5.0", "controller": "v6"}
    tags |= {"kubectl": "1.30", "exporter": "8.0"}
    pushed = {
        name: push_image(registry_http, f"{unique_repo}/{name}", tag, seed=name)
        for name, tag in tags.items()
    }
    for repo, tag in (("worker", "2.1"), ("cache", "6.0"), ("cache", "7.0")):
        pushed[f"{repo}:{tag}"] = push_image(registry_http, f"{unique_repo}/{repo}", tag, seed=tag)
    index = push_index(registry_http, f"{unique_repo}/web", "1.0", seed="web-index")
    opts = options(registry_http, tmp_home)

    before = drift_paths([str(chart)], opts)
    assert sorted(f.problem for f in before.findings) == ["unpinned"] * 11 and before.exit_code == 1
    locked = lock_paths([str(chart)], opts)
    assert locked.failures == [] and len(locked.lock) == 11

    plan = plan_paths([str(chart)], PinOptions(), opts)
    assert plan.failures == [] and len(plan.changes) == 11
    plan.write()
    text = (chart / "values.yaml").read_text()
    assert f"image: {host}/{unique_repo}/web:1.0@{index.digest}\n" in text
    assert f'    digest: "{pushed["metrics"].digest}"\n' in text
    assert f"  imageDigest: {pushed['proxy'].digest}\n" in text
    assert f'    tag: "7.0@{pushed["cache:7.0"].digest}"\n' in text
    assert f"    digest: {pushed['controller'].digest}\n" in text
    sub = (chart / "charts/cache/values.yaml").read_text()
    assert f'tag: "6.0@{pushed["cache:6.0"].digest}"' in sub
    assert f'tag: "2.1@{pushed["worker:2.1"].digest}"' in (chart / "values-prod.yaml").read_text()

    assert check_paths([str(chart)]).exit_code == 0
    after = drift_paths([str(chart)], opts)
    assert after.findings == [] and after.failures == [] and after.exit_code == 0
    # the lock taken before pinning answers an offline pin of a fresh copy the same way
    fresh = copy_chart("shapes", tmp_home / "fresh", host, unique_repo)
    offline = plan_paths([str(fresh)], PinOptions(lock=locked.lock, offline=True))
    offline.write()
    assert (fresh / "values.yaml").read_text() == text
