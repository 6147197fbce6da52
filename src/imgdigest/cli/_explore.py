"""What the exploring commands share: one library session, one place for options.

Every exploring command takes a reference that may be a registry image, ``oci:DIR`` or
``docker-archive:FILE``, and the same registry flags; ``session`` opens a
:class:`~imgdigest.client.Client` with them (and ``--explain`` tracing) and closes it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from imgdigest import platform as platforms
from imgdigest.cli._common import add_registry_args, explained, platform_spec, resolve_options
from imgdigest.client import Client
from imgdigest.inspect import ImageConfig, LayerList

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


@contextmanager
def session(args: argparse.Namespace) -> Iterator[Client]:
    """A library session with the command's registry options and ``--explain`` tracing."""
    with explained(args) as trace, Client(resolve_options(args, trace)) as client:
        yield client


def note_selection(args: argparse.Namespace, ref: str, image: LayerList | ImageConfig) -> None:
    """Say on stderr which child of an index the answer is about, when it was not asked."""
    if image.defaulted and image.platform is not None and not getattr(args, "quiet", False):
        digest = image.manifest_digest if isinstance(image, ImageConfig) else image.digest
        print(
            f"# {ref} is an index; showing {platforms.format(image.platform)} "
            f"({digest}); pick another with --platform",
            file=sys.stderr,
        )
