"""Finding image references in files: Kubernetes, kustomize, Helm values, Dockerfile, CI.

``find_images(paths)`` streams one ``FileScan`` per file: the ``ImageSite`` records
(exact character spans, quoting, role, object and field path), ``Note`` records for
what was left alone on purpose, and per-file errors. ``check``, ``pin`` and the
admission webhook share this code, so they agree on where images are.
"""

from __future__ import annotations

from imgdigest.documents.config import FinderConfig, load_config
from imgdigest.documents.finder import (
    DEFAULT_OPTIONS,
    STDIN,
    FinderOptions,
    classify,
    find_images,
    iter_sites,
    scan_file,
    scan_text,
)
from imgdigest.documents.model import (
    DockerfileImage,
    DocumentSyntaxError,
    FileScan,
    HelmImage,
    ImageSite,
    KustomizeImage,
    Note,
    Quoting,
    Role,
    Scalar,
    Source,
)
from imgdigest.documents.yamltext import KubeLoader, load_all

__all__ = [
    "DEFAULT_OPTIONS",
    "STDIN",
    "DockerfileImage",
    "DocumentSyntaxError",
    "FileScan",
    "FinderConfig",
    "FinderOptions",
    "HelmImage",
    "ImageSite",
    "KubeLoader",
    "KustomizeImage",
    "Note",
    "Quoting",
    "Role",
    "Scalar",
    "Source",
    "classify",
    "find_images",
    "iter_sites",
    "load_all",
    "load_config",
    "scan_file",
    "scan_text",
]
