"""Entry point: build the parser from the command modules and map errors to exit codes.

Ctrl-C must give exit 130 and one line however early it comes, so this module imports
nothing but ``sys`` at load time, ``entry`` takes SIGINT over on its first line and
``main`` catches ``KeyboardInterrupt`` around everything else. Output goes through
guards installed here once for every command: a failed write to stdout becomes one line
and exit 1 (a closed pipe exits 141 quietly, as a tool killed by SIGPIPE would), and
stderr shows control and bidi characters escaped.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing takes ~10 ms
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any, TextIO

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
    (("referrers",), "imgdigest.cli.cmd_referrers"),
    (("copy",), "imgdigest.cli.cmd_copy"),
    (("verify",), "imgdigest.cli.cmd_verify"),
    (("sign",), "imgdigest.cli.cmd_sign"),
    (("keygen",), "imgdigest.cli.cmd_keygen"),
    (("pin",), "imgdigest.cli.cmd_pin"),
    (("drift",), "imgdigest.cli.cmd_drift"),
    (("lock",), "imgdigest.cli.cmd_lock"),
    (("krm",), "imgdigest.cli.cmd_krm"),
    (("check",), "imgdigest.cli.cmd_check"),
    (("audit",), "imgdigest.cli.cmd_audit"),
    (("policy",), "imgdigest.cli.cmd_policy"),
    (("webhook",), "imgdigest.cli.cmd_webhook"),
    (("login", "logout"), "imgdigest.cli.cmd_login"),
)
COMMAND_MODULES: tuple[str, ...] = tuple(module for _, module in COMMANDS)

# What ``--help`` says of each command, so listing them imports none of their modules.
SUMMARIES: dict[str, str] = {
    "digest": "print the digest of image references",
    "ref": "parse and normalize references (no network)",
    "manifest": "print a manifest or index as served (its sha256 is the digest)",
    "config": "print an image's config (architecture, entrypoint, env, history, diff_ids)",
    "blob": "download a blob (config or layer) by digest, verified",
    "tree": "show index -> platform manifests -> config and layers, with sizes",
    "layers": "list an image's layers: digest, media type, size, diff_id",
    "files": "list the files in an image's layers (gzip, zstd or plain tar), streamed",
    "ls": "list a repository's tags, or the images in oci:DIR / docker-archive:FILE",
    "tags-of": "find the tags that name a digest (directly or through an index)",
    "referrers": "list the signatures, attestations and SBOMs attached to a digest",
    "copy": "copy an image or index between registries, OCI layouts and archives, by digest",
    "verify": "verify a digest's cosign signatures or in-toto attestations with a public key",
    "sign": "sign a digest with a cosign key and push the signature as cosign does",
    "keygen": "write a cosign key pair (encrypted cosign.key, cosign.pub)",
    "pin": "pin image references in files to digests",
    "drift": "check that every image in files is pinned and every pin still holds",
    "lock": "write a lock file of reference -> digest for the images in files",
    "krm": "kustomize transformer (KRM function): pin every image of a build on stdin",
    "check": "report images without a digest in manifests, Dockerfiles, Compose and workflows",
    "audit": "which digests a cluster runs, and where replicas, pins and tags disagree",
    "policy": "print a Gatekeeper or Kyverno policy that requires image digests",
    "webhook": "the Kubernetes admission webhook (validate and pin digests)",
    "login": "check and store registry credentials (Docker's config.json)",
    "logout": "remove stored registry credentials",
}

EXIT_INTERRUPTED = 130
EXIT_OUTPUT_ERROR = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -c1`


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
    """Only the invoked command's module is imported; without one (``--help``, a typo) the
    commands are listed from ``SUMMARIES``. ``argv=None`` builds every command in full."""
    import importlib

    from imgdigest import __version__
    from imgdigest.cli._common import Commands, Parser

    parser = Parser(
        prog="imgdigest",
        description="Find, explore, pin and enforce container image digests.",
    )
    parser.add_argument("--version", action="version", version=f"imgdigest {__version__}")
    Commands.summaries = SUMMARIES
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", action=Commands)
    sub.required = True
    invoked = _invoked(argv) if argv is not None else None
    for names, module in COMMANDS:
        if invoked is not None and module != invoked:
            continue
        if invoked is None and argv is not None and all(n in SUMMARIES for n in names):
            for name in names:
                sub.add_parser(name)  # listed, never run: the line is parsed again in full
        else:
            importlib.import_module(module).register(sub)
    return parser


class OutputError(Exception):
    """Writing to stdout failed; raised by ``_GuardedOutput`` so no other OSError is mistaken."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error


class _GuardedOutput:
    """Stdout (text or ``.buffer``) whose failed writes raise ``OutputError``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: Any) -> int:
        try:
            written = self._stream.write(data)
        except OSError as error:
            raise OutputError(error) from None
        return len(data) if written is None else int(written)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            raise OutputError(error) from None

    @property
    def buffer(self) -> _GuardedOutput:
        return _GuardedOutput(self._stream.buffer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _SafeErrors:
    """Stderr that shows control, escape and bidi characters as visible escapes.

    Newlines separate messages and stay; a write that starts with a carriage return (a
    progress line repainting itself) keeps that one.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from imgdigest.display import safe_lines

        head = "\r" if text.startswith("\r") else ""
        self._stream.write(head + safe_lines(text[len(head) :]))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every exit, including Ctrl-C during start-up, is an exit code."""
    try:
        return _guarded(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:
        return interrupted()


_startup_handler: Any = None  # SIGINT's handler before ``entry`` took it over


def _interrupted_at_startup(signum: int, frame: object) -> None:
    """Ctrl-C before the command runs: nothing to clean up, so leave at once."""
    import os

    os.write(2, b"imgdigest: interrupted\n")
    os._exit(EXIT_INTERRUPTED)


def entry() -> None:
    """The console script and ``python -m imgdigest``: ``sys.exit(main())``, made Ctrl-C proof.

    Until the command's modules are loaded, SIGINT exits 130 directly: a
    ``KeyboardInterrupt`` raised inside the import machinery can be printed as "Exception
    ignored" and lost, or leave a traceback. ``_signal`` (what ``signal`` wraps) is used
    because it is loaded with the interpreter; ``signal`` would cost an import first.
    Exit 130 leaves through ``os._exit`` after flushing: CPython 3.11 may otherwise kill
    itself with SIGINT at exit even though the interrupt was handled (a ``KeyboardInterrupt``
    inside a string ``exec``, as dataclasses do, marks it as unhandled).
    """
    global _startup_handler
    import _signal

    try:
        _startup_handler = _signal.signal(_signal.SIGINT, _interrupted_at_startup)
    except ValueError:  # not the main thread (embedded): keep Python's handling
        _startup_handler = None
    code = main()
    if code == EXIT_INTERRUPTED:
        import contextlib
        import os

        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _started() -> None:
    """The command's modules are loaded: Ctrl-C raises ``KeyboardInterrupt`` again (cleanup)."""
    global _startup_handler
    if _startup_handler is not None:
        import _signal

        _signal.signal(_signal.SIGINT, _startup_handler)
        _startup_handler = None


def interrupted() -> int:
    """One line and exit 130, whatever state the streams are in."""
    try:
        sys.stderr.write("imgdigest: interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return EXIT_INTERRUPTED


def _guarded(argv: list[str]) -> int:
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = _GuardedOutput(stdout)  # type: ignore[assignment]
    sys.stderr = _SafeErrors(stderr)  # type: ignore[assignment]
    try:
        try:
            try:
                code = _dispatch(argv)
            except SystemExit:  # argparse's --help, --version and usage errors
                sys.stdout.flush()
                raise
            sys.stdout.flush()
        except OutputError as exc:
            _discard_output(stdout)
            import errno

            if exc.error.errno == errno.EPIPE:
                return EXIT_BROKEN_PIPE
            print(f"imgdigest: cannot write output: {exc}", file=sys.stderr)
            return EXIT_OUTPUT_ERROR
        return code
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _discard_output(stdout: TextIO) -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush cannot fail again."""
    import contextlib
    import os

    if stdout is not sys.__stdout__:
        return
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)


def _dispatch(argv: list[str]) -> int:
    from imgdigest.errors import ImgdigestError

    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        _started()
        return int(args.func(args) or 0)
    except ImgdigestError as exc:
        print(f"imgdigest: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    entry()
