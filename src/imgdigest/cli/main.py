"""Entry point: build the parser from the command modules and map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from imgdigest.errors import ImgdigestError

# Command modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "imgdigest.cli.cmd_digest",
    "imgdigest.cli.cmd_ref",
    "imgdigest.cli.cmd_login",
    "imgdigest.cli.cmd_pin",
    "imgdigest.cli.cmd_drift",
    "imgdigest.cli.cmd_lock",
    "imgdigest.cli.cmd_check",
    "imgdigest.cli.cmd_policy",
    "imgdigest.cli.cmd_webhook",
    "imgdigest.cli.cmd_manifest",
    "imgdigest.cli.cmd_config",
    "imgdigest.cli.cmd_blob",
    "imgdigest.cli.cmd_tree",
    "imgdigest.cli.cmd_layers",
    "imgdigest.cli.cmd_files",
    "imgdigest.cli.cmd_ls",
    "imgdigest.cli.cmd_tags_of",
    "imgdigest.cli.cmd_copy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imgdigest",
        description="Find, explore, pin and enforce container image digests.",
    )
    from imgdigest import __version__

    parser.add_argument("--version", action="version", version=f"imgdigest {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except ImgdigestError as exc:
        print(f"imgdigest: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("imgdigest: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as coreutils do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
