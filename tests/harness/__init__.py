"""Real-registry test harness: registries, a token server, a fault proxy and image builders.

Importable from the project root (``import tests.harness``) by the test suite, the
benchmarks and the demo alike, so nothing here depends on pytest; the pytest fixtures
live in ``tests/conftest.py``.
"""

from __future__ import annotations

from .client import Endpoint, RegistryClient, parse_challenge
from .faultproxy import Fault, FaultProxy, ProxiedRequest, tamper
from .httpserver import free_port
from .images import (
    DEFAULT_PLATFORMS,
    PushedImage,
    PushedIndex,
    build_attestation,
    build_image,
    build_index,
    make_layer,
    push_blob,
    push_built,
    push_image,
    push_index,
    push_manifest,
    push_nested_index,
    serialize,
    sha256_digest,
)
from .recorder import RecordedRequest, RecorderServer
from .registry import MISSING_BINARY, MODES, HarnessError, RegistryServer, registry_binary
from .tls import TestCA, verify_for
from .tokenserver import (
    HostileAnswer,
    IssuedToken,
    TokenRequest,
    TokenServer,
    libtrust_key_id,
    parse_scope,
)

__all__ = [
    "DEFAULT_PLATFORMS",
    "MISSING_BINARY",
    "MODES",
    "Endpoint",
    "Fault",
    "FaultProxy",
    "HarnessError",
    "HostileAnswer",
    "IssuedToken",
    "ProxiedRequest",
    "PushedImage",
    "PushedIndex",
    "RecordedRequest",
    "RecorderServer",
    "RegistryClient",
    "RegistryServer",
    "TestCA",
    "TokenRequest",
    "TokenServer",
    "build_attestation",
    "build_image",
    "build_index",
    "free_port",
    "libtrust_key_id",
    "make_layer",
    "parse_challenge",
    "parse_scope",
    "push_blob",
    "push_built",
    "push_image",
    "push_index",
    "push_manifest",
    "push_nested_index",
    "registry_binary",
    "serialize",
    "sha256_digest",
    "tamper",
    "verify_for",
]
