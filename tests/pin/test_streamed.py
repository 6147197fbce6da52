"""``pin --offline`` over a tree: each file planned as it is read and its text let go,
edits proven in place without a re-scan where they cannot change the structure, and a
file changed after planning refused when it is shown or written (all or nothing)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import pytest

import imgdigest.documents.finder as finder
import imgdigest.pin.planner as planner
from imgdigest.errors import DocumentError
from imgdigest.files import TEMP_PREFIX
from imgdigest.pin import PinOptions, pin_text_document, plan_paths
from tests.pin.helpers import D, fake_digest, lock_for

REF = "registry.example.com/team/app:1.4"
PINNED = f"{REF}@{D}"
OPTIONS = PinOptions(lock=lock_for(REF), offline=True)

DEPLOY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
    "    spec:\n      containers:\n      - name: web\n        image: {plain}  # keep\n"
    "      - {{name: side, image: '{single}'}}\n"
    '      initContainers:\n      - name: init\n        image: "{double}"\n'
)
KUSTOMIZATION = (
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n"
    "- name: registry.example.com/team/app\n  newTag: '1.4'\n"
)


def deploy(image: str) -> str:
    return DEPLOY.format(plain=image, single=image, double=image)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "a.yaml").write_text(deploy(REF))
    (tmp_path / "b.yaml").write_text(deploy(REF).replace("\n", "\r\n"))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "kustomization.yaml").write_text(KUSTOMIZATION)
    return tmp_path


def test_a_tree_is_pinned_as_each_file_alone_would_be(tree: Path) -> None:
    plan = plan_paths([str(tree)], OPTIONS)
    assert plan.exit_code == 0 and plan.summary()["references_changed"] == 7
    by_name = {Path(fp.file).name: fp for fp in plan.files}
    assert by_name["a.yaml"].new_text == deploy(PINNED)
    assert by_name["b.yaml"].new_text == deploy(PINNED).replace("\n", "\r\n")
    assert by_name["kustomization.yaml"].new_text == KUSTOMIZATION.replace(
        "newTag: '1.4'", f"newTag: '1.4@{D}'"
    )
    for fp in plan.files:
        alone = pin_text_document(Path(fp.file).read_bytes().decode(), fp.file, OPTIONS)
        assert [c.to_json() for c in fp.changes] == [c.to_json() for c in alone.changes]
        assert fp.diff() == alone.files[0].diff() != ""
        assert fp.scan.text is None  # let go once planned


def test_a_file_without_changes_still_reads_as_it_was(tree: Path) -> None:
    (tree / "done.yaml").write_text(deploy(PINNED))
    plan = plan_paths([str(tree / "done.yaml")], OPTIONS)
    assert plan.files[0].scan.text is None and not plan.files[0].changed
    assert plan.files[0].new_text == deploy(PINNED) and plan.files[0].diff() == ""


def test_the_write_matches_the_plan(tree: Path) -> None:
    plan = plan_paths([str(tree)], OPTIONS)
    assert sorted(Path(f).name for f in plan.write()) == ["a.yaml", "b.yaml", "kustomization.yaml"]
    assert (tree / "a.yaml").read_text() == deploy(PINNED)
    assert (tree / "b.yaml").read_bytes() == deploy(PINNED).replace("\n", "\r\n").encode()
    assert not list(tree.rglob(f"{TEMP_PREFIX}*"))


def test_a_file_changed_after_planning_is_refused_and_nothing_is_written(tree: Path) -> None:
    plan = plan_paths([str(tree)], OPTIONS)
    changed = tree / "b.yaml"
    changed.write_text(changed.read_text().replace("keep", "kept"))  # same size
    before = {p: p.read_bytes() for p in tree.rglob("*.yaml")}
    with pytest.raises(DocumentError, match=r"b\.yaml: changed while being pinned; left alone"):
        plan.write()
    assert {p: p.read_bytes() for p in tree.rglob("*.yaml")} == before
    assert not list(tree.rglob(f"{TEMP_PREFIX}*"))
    with pytest.raises(DocumentError, match=r"b\.yaml: changed while being pinned"):
        next(fp for fp in plan.files if fp.file.endswith("b.yaml")).diff()


def test_a_removed_file_is_refused_too(tree: Path) -> None:
    plan = plan_paths([str(tree)], OPTIONS)
    (tree / "a.yaml").unlink()
    with pytest.raises(DocumentError, match=r"a\.yaml: cannot read it back"):
        plan.write()
    assert (tree / "b.yaml").read_bytes() == deploy(REF).replace("\n", "\r\n").encode()


def count_rescans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = planner.scan_text

    def counting(text: str, file: str = "-", **kw: object) -> object:
        seen.append(file)
        return real(text, file, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(planner, "scan_text", counting)
    return seen


def test_scalar_edits_need_no_rescan_and_other_edits_get_one(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rescanned = count_rescans(monkeypatch)
    plan = plan_paths([str(tree)], OPTIONS)
    assert plan.exit_code == 0
    assert [Path(f).name for f in rescanned] == ["kustomization.yaml"]


# Edits that read back as the expected image but change something else, or that read
# back as another value. ``rewritten`` is made to return them; each file must be refused.
BAD_EDITS: list[tuple[str, Callable[[str], str], str]] = [
    ("plain", lambda new: new + "  # sneaked in", "would change more than the image value"),
    (
        "plain",
        lambda new: new + "\n        imagePullPolicy: Always",
        "would change more than the image value",
    ),
    ("single", lambda new: new + "', extra: 'x", "would change more than the image value"),
    ("double", lambda new: new + '"\n        args: ["x"]\n#"', "would change more"),
    ("double", lambda new: new + '\\"', "would read back as"),
    ("plain", lambda new: new.replace(D, fake_digest("another")), "would read back as"),
    ("plain", lambda new: new + ":", "no longer parses"),
]


@pytest.mark.parametrize(("style", "spoil", "why"), BAD_EDITS)
def test_an_edit_that_changes_anything_but_the_image_value_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    style: str,
    spoil: Callable[[str], str],
    why: str,
) -> None:
    done = f"busybox@{D}"  # already pinned: the one edit is the spoiled one
    text = DEPLOY.format(
        plain=REF if style == "plain" else done,
        single=REF if style == "single" else done,
        double=REF if style == "double" else done,
    )
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    real = planner.rewritten
    monkeypatch.setattr(planner, "rewritten", lambda *a: spoil(real(*a)))
    plan = plan_paths([str(path)], OPTIONS)
    assert plan.exit_code == 1
    reasons = [f.reason for f in plan.failures]
    assert len(reasons) == 1 and why in reasons[0] and reasons[0].endswith("left alone")
    assert plan.changed_files == [] and plan.write() == []
    assert path.read_text() == text


def test_the_collector_settings_are_restored(tree: Path) -> None:
    before = gc.get_threshold()
    plan_paths([str(tree)], OPTIONS)
    assert gc.get_threshold() == before
    with finder.fewer_collections():
        assert gc.get_threshold()[0] == finder.GC_YOUNG
        with finder.fewer_collections():  # another run at the same time
            pass
        assert gc.get_threshold()[0] == finder.GC_YOUNG
    assert gc.get_threshold() == before
