"""Pin, update, drift and lock against a real registry."""

from __future__ import annotations

from pathlib import Path

from imgdigest.drift import drift_paths
from imgdigest.lock import lock_paths
from imgdigest.pin import PinOptions, plan_paths
from tests.harness import push_image, push_index
from tests.registry.helpers import options

POD = "kind: Pod\nspec:\n  containers:\n{containers}"


def pod(*images: str) -> str:
    return POD.format(containers="".join(f"  - image: {i}\n" for i in images))


def write(tmp_path: Path, text: str, name: str = "pod.yaml") -> Path:
    f = tmp_path / name
    f.write_text(text)
    return f


def test_default_pins_the_index_and_platform_pins_the_child(registry_http, unique_repo, tmp_home):
    idx = push_index(registry_http, unique_repo, "v1")
    ref = f"{registry_http.host}/{unique_repo}:v1"
    f = write(tmp_home, pod(ref))
    opts = options(registry_http, tmp_home)
    index_plan = plan_paths([str(f)], PinOptions(), opts)
    arm_plan = plan_paths([str(f)], PinOptions(platform="linux/arm64"), opts)
    arm = {c.platform: c.digest for c in idx.children}[("linux", "arm64", "v8")]
    assert index_plan.files[0].new_text == pod(f"{ref}@{idx.digest}")
    assert arm_plan.files[0].new_text == pod(f"{ref}@{arm}")


def test_update_keeps_the_kind_of_each_pin(registry_http, unique_repo, tmp_home):
    old = push_index(registry_http, unique_repo, "v1", seed="first")
    ref = f"{registry_http.host}/{unique_repo}:v1"
    old_arm = {c.platform: c.digest for c in old.children}[("linux", "arm64", "v8")]
    f = write(tmp_home, pod(f"{ref}@{old.digest}", f"{ref}@{old_arm}"))
    new = push_index(registry_http, unique_repo, "v1", seed="second")
    new_arm = {c.platform: c.digest for c in new.children}[("linux", "arm64", "v8")]
    assert new.digest != old.digest and new_arm != old_arm
    plan = plan_paths([str(f)], PinOptions(update=True), options(registry_http, tmp_home))
    assert plan.files[0].new_text == pod(f"{ref}@{new.digest}", f"{ref}@{new_arm}")
    assert [c.mode for c in plan.changes] == ["update", "update"]


def test_update_leaves_a_current_platform_pin_alone(registry_http, unique_repo, tmp_home):
    idx = push_index(registry_http, unique_repo, "v1")
    ref = f"{registry_http.host}/{unique_repo}:v1"
    amd = {c.platform: c.digest for c in idx.children}[("linux", "amd64", "")]
    text = pod(f"{ref}@{amd}")
    plan = plan_paths(
        [str(write(tmp_home, text))], PinOptions(update=True), options(registry_http, tmp_home)
    )
    assert plan.changes == [] and plan.files[0].new_text == text


def test_drift_finds_unpinned_moved_and_missing_but_not_current_pins(
    registry_http, unique_repo, tmp_home
):
    host = registry_http.host
    idx = push_index(registry_http, unique_repo, "idx")
    amd = {c.platform: c.digest for c in idx.children}[("linux", "amd64", "")]
    old = push_image(registry_http, unique_repo, "moving", seed="old")
    new = push_image(registry_http, unique_repo, "moving", seed="new")
    missing = "sha256:" + "0" * 64
    f = write(
        tmp_home,
        pod(
            f"{host}/{unique_repo}:idx",
            f"{host}/{unique_repo}:idx@{idx.digest}",
            f"{host}/{unique_repo}:idx@{amd}",
            f"{host}/{unique_repo}:moving@{old.digest}",
            f"{host}/{unique_repo}@{missing}",
        ),
    )
    report = drift_paths([str(f)], options(registry_http, tmp_home))
    assert [(x.line, x.problem) for x in report.findings] == [
        (4, "unpinned"),
        (7, "moved"),
        (8, "missing"),
    ]
    assert report.findings[1].current == new.digest
    assert report.exit_code == 1
    assert report.failures == []


def test_drift_of_a_fully_pinned_current_file_is_clean(registry_http, unique_repo, tmp_home):
    img = push_image(registry_http, unique_repo, "v1")
    f = write(tmp_home, pod(f"{registry_http.host}/{unique_repo}:v1@{img.digest}"))
    report = drift_paths([str(f)], options(registry_http, tmp_home))
    assert report.findings == [] and report.exit_code == 0


def test_lock_then_offline_pin_gives_the_online_result(registry_http, unique_repo, tmp_home):
    push_index(registry_http, unique_repo, "a")
    push_image(registry_http, unique_repo, "b")
    host = registry_http.host
    f = write(tmp_home, pod(f"{host}/{unique_repo}:a", f"'{host}/{unique_repo}:b'"))
    opts = options(registry_http, tmp_home)
    report = lock_paths([str(f)], opts)
    lock, failures = report.lock, report.failures
    assert failures == [] and len(lock) == 2
    online = plan_paths([str(f)], PinOptions(), opts)
    offline = plan_paths([str(f)], PinOptions(lock=lock, offline=True))
    arm = plan_paths([str(f)], PinOptions(lock=lock, offline=True, platform="linux/arm64"))
    assert offline.files[0].new_text == online.files[0].new_text != f.read_text()
    assert offline.from_lock == 2
    # the index entry's children answer a platform pin; the single image has none
    assert [str(x).split(": ", 1)[1] for x in arm.failures] == [
        f"'{host}/{unique_repo}:b'".strip("'") + ": not in the lock file (offline)"
    ]


def test_each_unique_image_costs_one_request(registry_http, unique_repo, tmp_home):
    host = registry_http.host
    refs = [f"{host}/{unique_repo}-{i}:v" for i in range(12)]
    for i in range(12):
        push_image(registry_http, f"{unique_repo}-{i}", "v")
    # every image named twice, in two files
    a = write(tmp_home, pod(*refs), "a.yaml")
    b = write(tmp_home, pod(*reversed(refs)), "b.yaml")
    registry_http.reset_count()
    plan = plan_paths([str(a), str(b)], PinOptions(), options(registry_http, tmp_home))
    assert len(plan.changes) == 24 and plan.resolved == 12
    # counted where the requests arrive, not by the client's own trace
    assert registry_http.request_count("HEAD", f"^/v2/{unique_repo}-\\d+/manifests/") == 12
    assert registry_http.request_count(path="/manifests/") == 12


def test_progress_is_reported_up_to_the_total_and_answers_are_unchanged(
    registry_http, unique_repo, tmp_home
):
    host = registry_http.host
    refs = [f"{host}/{unique_repo}:t{i}" for i in range(30)]
    pushed = [push_image(registry_http, unique_repo, f"t{i}") for i in range(30)]
    f = write(tmp_home, pod(*refs))
    seen: list[tuple[int, int]] = []
    plan = plan_paths(
        [str(f)],
        PinOptions(),
        options(registry_http, tmp_home),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert plan.files[0].new_text == pod(
        *(f"{r}@{p.digest}" for r, p in zip(refs, pushed, strict=True))
    )
    assert seen[-1] == (30, 30)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
