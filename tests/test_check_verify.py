"""``check --verify`` against a real registry: digests must exist, tags must not have moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgdigest.cli.main import main
from tests.harness import push_image, push_index


def test_verify_reports_missing_digests_and_moved_tags_but_not_current_pins(
    registry_http, unique_repo: str, tmp_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"{registry_http.host}/{unique_repo}"
    index = push_index(registry_http, unique_repo, "idx")
    amd64 = {c.platform: c.digest for c in index.children}[("linux", "amd64", "")]
    old = push_image(registry_http, unique_repo, "moving", seed="old")
    new = push_image(registry_http, unique_repo, "moving", seed="new")
    assert old.digest != new.digest
    missing = "sha256:" + "0" * 64
    images = {
        "current-index": f"{name}:idx@{index.digest}",
        "current-platform": f"{name}:idx@{amd64}",
        "digest-only": f"{name}@{old.digest}",
        "moved": f"{name}:moving@{old.digest}",
        "missing": f"{name}@{missing}",
        "unpinned": f"{name}:idx",
    }
    pod = tmp_home / "pod.yaml"
    pod.write_text(
        "kind: Pod\nspec:\n  containers:\n"
        + "".join(f"  - name: {key}\n    image: {image}\n" for key, image in images.items())
    )
    code = main(
        ["check", "--verify", "--format", "json", "--insecure", registry_http.host, str(pod)]
    )
    report = json.loads(capsys.readouterr().out)
    found = {f["name"]: (f["rule"], f["message"]) for f in report["findings"]}
    assert found == {
        "moved": (
            "tag-moved",
            f"container <moved> uses a digest its tag no longer points at <{images['moved']}>",
        ),
        "missing": (
            "digest-not-found",
            f"container <missing> uses a digest its registry does not have <{images['missing']}>",
        ),
        "unpinned": (
            "no-digest",
            f"container <unpinned> uses an image without a digest <{images['unpinned']}>",
        ),
    }
    moved = next(f for f in report["findings"] if f["name"] == "moved")
    assert new.digest in moved["detail"]
    assert code == 1


def test_verify_without_a_reachable_registry_reports_each_image_as_unverified(
    tmp_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = tmp_home / "pod.yaml"
    image = "127.0.0.1:9/team/app:1@sha256:" + "a" * 64
    pod.write_text(f"kind: Pod\nspec:\n  containers:\n  - name: a\n    image: {image}\n")
    code = main(
        ["check", "--verify", "--timeout", "1", "--retries", "0", "--format", "json", str(pod)]
    )
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert finding["rule"] == "unverified"
    assert finding["message"] == f"container <a> uses an image that could not be verified <{image}>"
    assert code == 1
