"""imgdigest: find, explore, pin and enforce container image digests.

Every job of the command line is a call here; submodules may move, these names will
not. A :class:`Client` (or :class:`AsyncClient`) is one session shared by its calls::

    import imgdigest

    res = imgdigest.resolve("nginx:1.25")                       # index digest
    with imgdigest.Client() as c:                               # one login per registry
        arm = c.resolve("nginx:1.25", platform="linux/arm64")
        tree = c.tree("nginx:1.25")
        plan = c.pin(["k8s/"])                                  # plan, then plan.write()

Files are judged without a session: ``check_files``, ``check_text``, ``check_object``;
policies are rendered by ``gatekeeper_policy`` and ``kyverno_policy``. Every error the
library raises on purpose is an :class:`ImgdigestError` (exported with its subclasses)
that names its input in ``reference``, ``host``, ``file`` or ``line``.

No public name is also a submodule's name (``pin_files``, not ``pin``): importing a
submodule sets an attribute of the package, and would hide a function of that name.
Names are loaded on first use, so importing one submodule (or running an offline
command) does not pay for the HTTP client.
"""

from __future__ import annotations

import importlib

# Not ``typing.TYPE_CHECKING``: this module loads before the CLI can catch Ctrl-C, and
# importing typing would widen that window by ~10 ms.
TYPE_CHECKING = False

__version__ = "0.1.0"

_EXPORTS = {
    "Client": "imgdigest.client",
    "AsyncClient": "imgdigest.client",
    "LayerFile": "imgdigest.client",
    "Resolver": "imgdigest.resolver",
    "AsyncResolver": "imgdigest.resolver",
    "Resolution": "imgdigest.resolver",
    "Child": "imgdigest.resolver",
    "ResolveOptions": "imgdigest.resolver",
    "resolve": "imgdigest.client",
    "RegistryOptions": "imgdigest.registry.options",
    "Digest": "imgdigest.digest",
    "Platform": "imgdigest.platform",
    "Reference": "imgdigest.reference",
    "parse_reference": "imgdigest.reference:parse",
    "normalize_reference": "imgdigest.reference:normalize",
    "parse_platform": "imgdigest.platform:parse",
    "format_platform": "imgdigest.platform:format",
    "ManifestInfo": "imgdigest.inspect",
    "ImageConfig": "imgdigest.inspect",
    "LayerList": "imgdigest.inspect",
    "ImageTree": "imgdigest.inspect",
    "TagList": "imgdigest.inspect",
    "TagsOf": "imgdigest.tagsof",
    "CopyReport": "imgdigest.copy",
    "Referrer": "imgdigest.referrers",
    "ReferrerList": "imgdigest.referrers",
    "VerifyReport": "imgdigest.signatures",
    "SignatureCheck": "imgdigest.signatures",
    "SignResult": "imgdigest.signatures",
    "KeyPair": "imgdigest.signatures",
    "generate_keys": "imgdigest.signatures.keys",
    "FinderOptions": "imgdigest.documents",
    "PinOptions": "imgdigest.pin",
    "PinPlan": "imgdigest.pin",
    "pin_files": "imgdigest.pin:plan_paths",
    "pin_text": "imgdigest.pin:pin_text_document",
    "ChartPlan": "imgdigest.pin",
    "pin_chart": "imgdigest.pin",
    "check_chart": "imgdigest.pin",
    "DriftReport": "imgdigest.drift",
    "drift_files": "imgdigest.drift:drift_paths",
    "Lock": "imgdigest.lock",
    "LockReport": "imgdigest.lock",
    "read_lock": "imgdigest.lock",
    "lock_files": "imgdigest.lock:lock_paths",
    "KrmSettings": "imgdigest.krm",
    "KrmResult": "imgdigest.krm",
    "pin_resources": "imgdigest.krm",
    "AuditOptions": "imgdigest.audit",
    "AuditReport": "imgdigest.audit",
    "audit_pods": "imgdigest.audit:audit_paths",
    "CheckOptions": "imgdigest.check",
    "CheckReport": "imgdigest.check",
    "check_files": "imgdigest.check:check_paths",
    "check_text": "imgdigest.check",
    "check_object": "imgdigest.check:object_messages",
    "gatekeeper_policy": "imgdigest.policy.gatekeeper:render",
    "kyverno_policy": "imgdigest.policy.kyverno:render",
    "ImgdigestError": "imgdigest.errors",
    "UsageError": "imgdigest.errors",
    "InvalidReferenceError": "imgdigest.errors",
    "InvalidDigestError": "imgdigest.errors",
    "InvalidPlatformError": "imgdigest.errors",
    "DocumentError": "imgdigest.errors",
    "ConfigError": "imgdigest.errors",
    "ChartError": "imgdigest.errors",
    "NotFoundError": "imgdigest.errors",
    "PlatformNotFoundError": "imgdigest.errors",
    "AuthError": "imgdigest.errors",
    "UnauthorizedError": "imgdigest.errors",
    "ForbiddenError": "imgdigest.errors",
    "NetworkError": "imgdigest.errors",
    "RegistryTimeoutError": "imgdigest.errors",
    "RateLimitedError": "imgdigest.errors",
    "ServerError": "imgdigest.errors",
    "VerificationError": "imgdigest.errors",
    "UnsupportedError": "imgdigest.errors",
    "KeyFileError": "imgdigest.errors",
    "SignatureError": "imgdigest.errors",
    "NoSignatureError": "imgdigest.errors",
    "WrongSubjectError": "imgdigest.errors",
    "InvalidSignatureError": "imgdigest.errors",
    "ReferenceSyntaxError": "imgdigest.reference",
    "DocumentSyntaxError": "imgdigest.documents.model",
}

__all__ = [
    "AsyncClient",
    "AsyncResolver",
    "AuditOptions",
    "AuditReport",
    "AuthError",
    "ChartError",
    "ChartPlan",
    "CheckOptions",
    "CheckReport",
    "Child",
    "Client",
    "ConfigError",
    "CopyReport",
    "Digest",
    "DocumentError",
    "DocumentSyntaxError",
    "DriftReport",
    "FinderOptions",
    "ForbiddenError",
    "ImageConfig",
    "ImageTree",
    "ImgdigestError",
    "InvalidDigestError",
    "InvalidPlatformError",
    "InvalidReferenceError",
    "InvalidSignatureError",
    "KeyFileError",
    "KeyPair",
    "KrmResult",
    "KrmSettings",
    "LayerFile",
    "LayerList",
    "Lock",
    "LockReport",
    "ManifestInfo",
    "NetworkError",
    "NoSignatureError",
    "NotFoundError",
    "PinOptions",
    "PinPlan",
    "Platform",
    "PlatformNotFoundError",
    "RateLimitedError",
    "Reference",
    "ReferenceSyntaxError",
    "Referrer",
    "ReferrerList",
    "RegistryOptions",
    "RegistryTimeoutError",
    "Resolution",
    "ResolveOptions",
    "Resolver",
    "ServerError",
    "SignResult",
    "SignatureCheck",
    "SignatureError",
    "TagList",
    "TagsOf",
    "UnauthorizedError",
    "UnsupportedError",
    "UsageError",
    "VerificationError",
    "VerifyReport",
    "WrongSubjectError",
    "__version__",
    "audit_pods",
    "check_chart",
    "check_files",
    "check_object",
    "check_text",
    "drift_files",
    "format_platform",
    "gatekeeper_policy",
    "generate_keys",
    "kyverno_policy",
    "lock_files",
    "normalize_reference",
    "parse_platform",
    "parse_reference",
    "pin_chart",
    "pin_files",
    "pin_resources",
    "pin_text",
    "read_lock",
    "resolve",
]

if TYPE_CHECKING:
    from typing import Any

    from imgdigest.audit import AuditOptions, AuditReport
    from imgdigest.audit import audit_paths as audit_pods
    from imgdigest.check import (
        CheckOptions,
        CheckReport,
        check_text,
    )
    from imgdigest.check import (
        check_paths as check_files,
    )
    from imgdigest.check import (
        object_messages as check_object,
    )
    from imgdigest.client import AsyncClient, Client, LayerFile, resolve
    from imgdigest.copy import CopyReport
    from imgdigest.digest import Digest
    from imgdigest.documents import FinderOptions
    from imgdigest.documents.model import DocumentSyntaxError
    from imgdigest.drift import DriftReport
    from imgdigest.drift import drift_paths as drift_files
    from imgdigest.errors import (
        AuthError,
        ChartError,
        ConfigError,
        DocumentError,
        ForbiddenError,
        ImgdigestError,
        InvalidDigestError,
        InvalidPlatformError,
        InvalidReferenceError,
        InvalidSignatureError,
        KeyFileError,
        NetworkError,
        NoSignatureError,
        NotFoundError,
        PlatformNotFoundError,
        RateLimitedError,
        RegistryTimeoutError,
        ServerError,
        SignatureError,
        UnauthorizedError,
        UnsupportedError,
        UsageError,
        VerificationError,
        WrongSubjectError,
    )
    from imgdigest.inspect import ImageConfig, ImageTree, LayerList, ManifestInfo, TagList
    from imgdigest.krm import KrmResult, KrmSettings, pin_resources
    from imgdigest.lock import Lock, LockReport, read_lock
    from imgdigest.lock import lock_paths as lock_files
    from imgdigest.pin import (
        ChartPlan,
        PinOptions,
        PinPlan,
        check_chart,
        pin_chart,
    )
    from imgdigest.pin import (
        pin_text_document as pin_text,
    )
    from imgdigest.pin import (
        plan_paths as pin_files,
    )
    from imgdigest.platform import Platform
    from imgdigest.platform import format as format_platform
    from imgdigest.platform import parse as parse_platform
    from imgdigest.policy.gatekeeper import render as gatekeeper_policy
    from imgdigest.policy.kyverno import render as kyverno_policy
    from imgdigest.reference import (
        Reference,
        ReferenceSyntaxError,
    )
    from imgdigest.reference import (
        normalize as normalize_reference,
    )
    from imgdigest.reference import (
        parse as parse_reference,
    )
    from imgdigest.referrers import Referrer, ReferrerList
    from imgdigest.registry.options import RegistryOptions
    from imgdigest.resolver import AsyncResolver, Child, Resolution, ResolveOptions, Resolver
    from imgdigest.signatures import KeyPair, SignatureCheck, SignResult, VerifyReport
    from imgdigest.signatures.keys import generate_keys
    from imgdigest.tagsof import TagsOf


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'imgdigest' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
