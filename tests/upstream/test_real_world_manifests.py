"""The real-world corpus as a whole: 25 files and 47 images, and a bundle PyYAML refuses.

Per-file image lists of this corpus run with the project's own in
``tests/test_documents_corpus.py`` and ``tests/pin/test_k8s_corpus.py``.
"""

from __future__ import annotations

import json

import pytest
import yaml

from imgdigest.documents import find_images
from imgdigest.documents.yamltext import iter_documents
from tests.shared import UPSTREAM

assert UPSTREAM is not None
CORPUS = json.loads((UPSTREAM / "k8s-corpus" / "corpus-images.json").read_text())


def test_the_corpus_lists_25_files_and_47_images() -> None:
    assert len(CORPUS["files"]) == 25 and CORPUS["total_images"] == 47


def test_the_whole_corpus_directory_gives_its_images() -> None:
    images = [s.image for scan in find_images([UPSTREAM / "k8s-corpus"]) for s in scan.sites]
    assert len(images) == sum(
        f["image_count"] for f in CORPUS["files"] if f["file"].startswith("k8s-corpus/")
    )


def test_the_prometheus_bundle_parses_although_pyyaml_safe_loader_refuses_it() -> None:
    path = UPSTREAM / "k8s-corpus" / "prometheus-operator-bundle-v0.70.0.yaml"
    text = path.read_text()
    with pytest.raises(yaml.constructor.ConstructorError):
        list(yaml.load_all(text, Loader=yaml.SafeLoader))
    documents = list(iter_documents(text, str(path)))
    assert all(not isinstance(d, Exception) for d in documents)
    assert len(documents) == 24
