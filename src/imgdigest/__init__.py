"""imgdigest: find, explore, pin and enforce container image digests.

The public API is re-exported here; submodules may move, these names will not::

    import imgdigest

    res = imgdigest.resolve("nginx:1.25")                       # index digest
    arm = imgdigest.resolve("nginx:1.25", platform="linux/arm64")
    with imgdigest.Resolver() as r:                             # many, one token per registry
        results = r.resolve_many(["nginx:1.25", "redis:7"])

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
    "AsyncResolver": "imgdigest.resolver",
    "Child": "imgdigest.resolver",
    "Resolution": "imgdigest.resolver",
    "ResolveOptions": "imgdigest.resolver",
    "Resolver": "imgdigest.resolver",
    "resolve": "imgdigest.resolver",
    "RegistryOptions": "imgdigest.registry.options",
    "Digest": "imgdigest.digest",
    "ImgdigestError": "imgdigest.errors",
    "Platform": "imgdigest.platform",
    "Reference": "imgdigest.reference",
    "parse_reference": "imgdigest.reference:normalize",
}

__all__ = [
    "AsyncResolver",
    "Child",
    "Digest",
    "ImgdigestError",
    "Platform",
    "Reference",
    "RegistryOptions",
    "Resolution",
    "ResolveOptions",
    "Resolver",
    "__version__",
    "parse_reference",
    "resolve",
]

if TYPE_CHECKING:
    from typing import Any

    from imgdigest.digest import Digest
    from imgdigest.errors import ImgdigestError
    from imgdigest.platform import Platform
    from imgdigest.reference import Reference
    from imgdigest.reference import normalize as parse_reference
    from imgdigest.registry.options import RegistryOptions
    from imgdigest.resolver import (
        AsyncResolver,
        Child,
        Resolution,
        ResolveOptions,
        Resolver,
        resolve,
    )


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'imgdigest' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value
    return value
