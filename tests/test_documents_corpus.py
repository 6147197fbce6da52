"""Manifests whose images are listed by hand: every image is found exactly, and nothing else.

The project's own manifests (``tests/data/k8s``) always run; the real-world corpus of the
upstream tier joins them when present (its list was computed with PyYAML's full loader).
The finder reads with libyaml's composer and skips documents that cannot hold images, so
this is also the proof that the shortcuts lose nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgdigest.documents import FinderOptions, find_images
from imgdigest.documents.yamltext import iter_documents
from tests.shared import DATA, corpus_entries, corpus_id

ENTRIES = corpus_entries()
OWN = json.loads((DATA / "k8s" / "images.json").read_text())


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
@pytest.mark.parametrize("item", ENTRIES, ids=[corpus_id(i) for i in ENTRIES])
def test_every_corpus_image_is_found_where_it_is_and_nothing_else(
    item: tuple[Path, dict[str, Any]], parse_all: bool
) -> None:
    base, entry = item
    (scan,) = find_images([base / entry["file"]], FinderOptions(parse_all=parse_all))
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
    assert len(scan.sites) == entry["image_count"]


def test_the_own_corpus_folder_gives_its_13_images_and_no_decoy() -> None:
    images = [s.image for scan in find_images([DATA / "k8s"]) for s in scan.sites]
    assert len(images) == OWN["total_images"] == 13
    assert not {"nginx:1.24", "redis:7"} & set(images)
    assert images.count("busybox:1.36") == 1


def test_a_bare_equals_sign_parses_although_pyyaml_safe_loader_refuses_it() -> None:
    # YAML 1.1's "value" tag: a plain "=" scalar, as CRD schemas carry in enum lists.
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ops}\ndata:\n  ops: [=, '!=']\n"
    with pytest.raises(yaml.constructor.ConstructorError):
        list(yaml.load_all(text, Loader=yaml.SafeLoader))
    documents = list(iter_documents(text, "ops.yaml"))
    assert all(not isinstance(d, Exception) for d in documents)
    assert len(documents) == 1
