"""Entry point: build the parser from the command modules and map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from imgdigest.errors import ImgdigestError

# Commands and the module that defines each, in the order ``--help`` lists them.
COMMANDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("digest",), "imgdigest.cli.cmd_digest"),
    (("ref",), "imgdigest.cli.cmd_ref"),
    (("manifest",), "imgdigest.cli.cmd_manifest"),
    (("config",), "imgdigest.cli.cmd_config"),
    (("blob",), "imgdigest.cli.cmd_blob"),
    (("tree",), "imgdigest.cli.cmd_tree"),
    (("layers",), "imgdigest.cli.cmd_layers"),
    (("files",), "imgdigest.cli.cmd_files"),
    (("ls",), "imgdigest.cli.cmd_ls"),
    (("tags-of",), "imgdigest.cli.cmd_tags_of"),
    (("copy",), "imgdigest.cli.cmd_copy"),
    (("pin",), "imgdigest.cli.cmd_pin"),
    (("drift",), "imgdigest.cli.cmd_drift"),
    (("lock",), "imgdigest.cli.cmd_lock"),
    (("check",), "imgdigest.cli.cmd_check"),
    (("policy",), "imgdigest.cli.cmd_policy"),
    (("webhook",), "imgdigest.cli.cmd_webhook"),
    (("login", "logout"), "imgdigest.cli.cmd_login"),
)
COMMAND_MODULES: tuple[str, ...] = tuple(module for _, module in COMMANDS)


def _invoked(argv: Sequence[str]) -> str | None:
    """The module of the command on the line, if there is exactly one known command."""
    for arg in argv:
        if arg.startswith("-"):
            continue
        for names, module in COMMANDS:
            if arg in names:
                return module
        return None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Only the invoked command's module is imported; ``--help`` alone imports them all."""
    parser = argparse.ArgumentParser(
        prog="imgdigest",
        description="Find, explore, pin and enforce container image digests.",
    )
    from imgdigest import __version__

    parser.add_argument("--version", action="version", version=f"imgdigest {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    invoked = _invoked(argv) if argv is not None else None
    for name in (invoked,) if invoked else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
