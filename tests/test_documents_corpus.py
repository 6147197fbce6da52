"""Real-world manifests: every image of corpus-images.json is found exactly, and nothing else.

The expected list was computed with PyYAML's full loader over the same files; the finder
reads them with libyaml's composer and skips documents that cannot hold images, so
this is also the proof that the shortcuts lose nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from imgdigest.documents import FinderOptions, find_images
from imgdigest.documents.yamltext import iter_documents
from tests.shared import CONFORMANCE

CORPUS = json.loads((CONFORMANCE / "k8s-corpus" / "corpus-images.json").read_text())
FILES: list[dict[str, Any]] = CORPUS["files"]


def expected(entry: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            i["document_index"],
            i["list_item_index"],
            i["kind"],
            i["name"],
            i["namespace"],
            i["container_type"].removesuffix("s"),
            i["container_name"],
            i["path"],
            i["image"],
        )
        for i in entry["images"]
    ]


@pytest.mark.parametrize("parse_all", [False, True], ids=["prefiltered", "parse-all"])
@pytest.mark.parametrize("entry", FILES, ids=[f["file"].rsplit("/", 1)[-1] for f in FILES])
def test_every_corpus_image_is_found_where_it_is_and_nothing_else(
    entry: dict[str, Any], parse_all: bool
) -> None:
    (scan,) = find_images([CONFORMANCE / entry["file"]], FinderOptions(parse_all=parse_all))
    assert scan.errors == []
    got = [
        (
            s.document,
            s.list_item,
            s.kind,
            s.object_name,
            s.namespace,
            s.role,
            s.name,
            s.location,
            s.image,
        )
        for s in scan.sites
    ]
    assert got == expected(entry)
    assert scan.text is not None
    for site in scan.sites:
        assert scan.text[site.start : site.end] == site.image
        line = scan.text.splitlines()[site.line - 1]
        assert line[site.column - 1 :].startswith(site.image) or line[site.column - 1 :].startswith(
            site.raw
        )
    assert scan.documents == entry["documents"]
    assert len(CORPUS["files"]) == 25 and CORPUS["total_images"] == 47


def test_the_whole_corpus_directory_gives_the_47_images() -> None:
    images = [s.image for scan in find_images([CONFORMANCE / "k8s-corpus"]) for s in scan.sites]
    assert len(images) == sum(
        f["image_count"] for f in FILES if f["file"].startswith("k8s-corpus/")
    )


def test_the_prometheus_bundle_parses_although_pyyaml_safe_loader_refuses_it() -> None:
    path = CONFORMANCE / "k8s-corpus" / "prometheus-operator-bundle-v0.70.0.yaml"
    text = path.read_text()
    with pytest.raises(yaml.constructor.ConstructorError):
        list(yaml.load_all(text, Loader=yaml.SafeLoader))
    documents = list(iter_documents(text, str(path)))
    assert all(not isinstance(d, Exception) for d in documents)
    assert len(documents) == 24
