"""imgdigest: find, explore, pin and enforce container image digests.

The public API is re-exported here; submodules may move, these names will not::

    import imgdigest

    res = imgdigest.resolve("nginx:1.25")                       # index digest
    arm = imgdigest.resolve("nginx:1.25", platform="linux/arm64")
    with imgdigest.Resolver() as r:                             # many, one token per registry
        results = r.resolve_many(["nginx:1.25", "redis:7"])
"""

from __future__ import annotations

from imgdigest.digest import Digest
from imgdigest.errors import ImgdigestError
from imgdigest.platform import Platform
from imgdigest.reference import Reference
from imgdigest.reference import normalize as parse_reference
from imgdigest.registry.options import RegistryOptions
from imgdigest.resolve import (
    AsyncResolver,
    Child,
    Resolution,
    ResolveOptions,
    Resolver,
    resolve,
)

__version__ = "0.1.0"

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
