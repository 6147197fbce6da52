"""What the exploring commands share: one resolver, one source, one place for options.

Every exploring command takes a reference that may be a registry image, ``oci:DIR`` or
``docker-archive:FILE``, and the same registry flags; ``session`` opens the resolver
(with ``--explain`` tracing) and the source, and closes both.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from imgdigest import platform as platforms
from imgdigest.cli._common import add_registry_args, explained, platform_spec, resolve_options
from imgdigest.explore import Selected
from imgdigest.resolver import Resolver
from imgdigest.sources import ImageSource, open_source

T = TypeVar("T")

REF_HELP = "image reference, oci:DIR[:TAG] or docker-archive:FILE[:REF]"


def add_common(p: argparse.ArgumentParser, platform: bool = True) -> None:
    if platform:
        p.add_argument(
            "--platform",
            type=platform_spec(),
            metavar="OS/ARCH[/VARIANT]",
            help="the platform to pick from an index (default: this machine's, linux/ARCH)",
        )
    add_registry_args(p)


@dataclass
class Session:
    resolver: Resolver
    source: ImageSource

    def run(self, coro: Awaitable[T]) -> T:
        return self.resolver.run(coro)


@contextmanager
def session(args: argparse.Namespace, ref: str) -> Iterator[Session]:
    with explained(args) as trace, Resolver(resolve_options(args, trace)) as resolver:
        source = open_source(ref, resolver.inner)
        try:
            yield Session(resolver, source)
        finally:
            resolver.run(source.aclose())


def note_selection(args: argparse.Namespace, ref: str, sel: Selected) -> None:
    """Say on stderr which child of an index the answer is about, when it was not asked."""
    if sel.defaulted and sel.platform is not None and not getattr(args, "quiet", False):
        print(
            f"# {ref} is an index; showing {platforms.format(sel.platform)} "
            f"({sel.digest}); pick another with --platform",
            file=sys.stderr,
        )
