"""Walking paths: which files are read, which are skipped, and why; and document splitting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from imgdigest.documents import FinderOptions, classify, find_images, load_config
from imgdigest.documents.yamltext import iter_documents, resolve_tags
from imgdigest.errors import ConfigError

POD = "kind: Pod\nspec:\n  containers:\n  - {name: c, image: 'nginx:1'}\n"

NAMES = [
    ("Dockerfile", "dockerfile"),
    ("build/Containerfile", "dockerfile"),
    ("app.Dockerfile", "dockerfile"),
    ("Dockerfile.prod", "dockerfile"),
    ("overlays/prod/kustomization.yaml", "kustomize"),
    ("kustomization.yml", "kustomize"),
    ("compose.yaml", "compose"),
    ("docker-compose.override.yml", "compose"),
    (".github/workflows/ci.yml", "actions"),
    ("action.yml", "actions"),
    ("deploy/app.yaml", "yaml"),
    ("list.json", "yaml"),
    ("README.md", None),
    ("script.sh", None),
]


@pytest.mark.parametrize(("name", "reader"), NAMES)
def test_files_are_routed_by_name(name: str, reader: str | None) -> None:
    assert classify(name) == reader


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_directory_walk_reads_known_files_and_skips_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "a/pod.yaml", POD)
    write(tmp_path, "a/notes.txt", POD)  # not a name the walk knows
    write(tmp_path, ".git/objects/pod.yaml", POD)
    write(tmp_path, "vendor/pod.yaml", POD)
    write(tmp_path, "b/skip.tmpl.yaml", POD)
    write(tmp_path, "b/Dockerfile", "FROM alpine:3\n")
    write(tmp_path, "b/binary.yaml", b"kind: Pod\x00\x01")
    write(tmp_path, "b/latin1.yaml", "image: caf\xe9\n".encode("latin-1"))
    options = FinderOptions(exclude=("vendor", "*.tmpl.yaml"))
    scans = {
        Path(s.file).relative_to(tmp_path).as_posix(): s for s in find_images([tmp_path], options)
    }
    assert sorted(scans) == ["a/pod.yaml", "b/Dockerfile", "b/binary.yaml", "b/latin1.yaml"]
    assert [s.image for s in scans["a/pod.yaml"].sites] == ["nginx:1"]
    # a file the check could not read fails it, naming the line
    assert scans["b/binary.yaml"].errors[0].problem.startswith("NUL byte: not a text file")
    assert scans["b/latin1.yaml"].errors[0].line == 1
    assert scans["b/latin1.yaml"].errors[0].problem.startswith("not valid UTF-8 (byte 0xe9")
    assert not scans["a/pod.yaml"].errors and not scans["b/Dockerfile"].errors


def test_an_explicit_file_is_read_whatever_its_name(tmp_path: Path) -> None:
    path = write(tmp_path, "manifest.txt", POD)
    (scan,) = find_images([path])
    assert [s.image for s in scan.sites] == ["nginx:1"]


def test_excludes_apply_to_files_named_one_by_one(tmp_path: Path) -> None:
    kept = write(tmp_path, "app/pod.yaml", POD)
    skipped = write(tmp_path, "vendor/pod.yaml", POD)
    scans = find_images([kept, skipped], FinderOptions(exclude=("vendor",)))
    assert [s.file for s in scans] == [str(kept)]


def test_a_missing_path_is_an_error_of_its_own_and_the_walk_goes_on(tmp_path: Path) -> None:
    good = write(tmp_path, "pod.yaml", POD)
    missing, found = find_images([tmp_path / "nope.yaml", good])
    assert "no such file" in str(missing.errors[0])
    assert [s.image for s in found.sites] == ["nginx:1"]


def test_symlinks_out_of_the_tree_are_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path, "outside/pod.yaml", POD)
    tree = tmp_path / "tree"
    write(tree, "inside.yaml", POD)
    os.symlink(outside, tree / "escape.yaml")
    os.symlink(tree / "inside.yaml", tree / "alias.yaml")
    os.symlink(tmp_path / "outside", tree / "dir-link")
    scans = {Path(s.file).name: s for s in find_images([tree])}
    assert sorted(scans) == ["alias.yaml", "escape.yaml", "inside.yaml"]
    assert scans["escape.yaml"].sites == []
    assert "symlink" in scans["escape.yaml"].notes[0].message
    assert [s.image for s in scans["alias.yaml"].sites] == ["nginx:1"]


def test_helm_chart_templates_are_left_alone_and_values_are_read(tmp_path: Path) -> None:
    write(tmp_path, "chart/Chart.yaml", "name: c\nversion: 1.0.0\n")
    write(tmp_path, "chart/templates/deploy.yaml", "image: {{ .Values.image }}\n")
    write(tmp_path, "chart/values.yaml", "image: nginx:1\n")
    scans = {Path(s.file).name: s for s in find_images([tmp_path / "chart"])}
    assert scans["deploy.yaml"].notes[0].message == "Helm chart template left alone"
    assert not scans["deploy.yaml"].sites and not scans["Chart.yaml"].sites
    assert [(s.source, s.image) for s in scans["values.yaml"].sites] == [("helm", "nginx:1")]
    assert all(not s.errors for s in scans.values())


def test_config_file_gives_exemptions_excludes_and_custom_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "imgdigest.yaml",
        "exemptImages: ['registry.k8s.io/pause*']\nexclude: [vendor]\n"
        "imagePaths:\n  Task: ['spec.steps[*].image']\npodSpecPaths:\n  W: spec.pod\n",
    )
    config = load_config(path)
    assert config.exempt_images == ("registry.k8s.io/pause*",)
    options = config.finder_options()
    assert options.exclude == ("vendor",)
    assert options.extra.images == {"Task": (("spec", "steps", "*", "image"),)}
    assert options.extra.pod_specs == {"W": (("spec", "pod"),)}


@pytest.mark.parametrize(
    "content",
    ["exemptImages: nginx\n", "imagePaths: [a]\n", "- a\n", "a: [\n"],
)
def test_a_malformed_config_file_is_a_config_error_naming_it(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "bad.yaml", content)
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_config(path)


# --- document splitting agrees with libyaml ----------------------------------------------------

PIECES = [
    "a: 1\n",
    "kind: Pod\n",
    "# comment\n",
    "\n",
    "---\n",
    "--- # c\n",
    "--- |\n  text\n",
    "---\n...\n",
    "l:\n- x\n",
    "s: >\n  folded\n",
    "'q': \"v\"\n",
    "k: v\r\n",
    "%YAML 1.1\n---\n",
    "---a: 1\n",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=8))
def test_cut_documents_are_the_documents_libyaml_sees(pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        reference = [yaml.CSafeLoader(text)]
        loader = reference[0]
        expected = []
        while loader.check_node():
            expected.append(yaml.serialize(loader.get_node()))
    except yaml.YAMLError:
        return  # invalid streams only need an error, checked elsewhere
    got = []
    for doc in iter_documents(text, "t.yaml"):
        assert not isinstance(doc, Exception), doc
        got.append(yaml.serialize(resolve_tags(doc.node)))
    assert got == expected
