"""Flags shared by every command that talks to registries, and output helpers."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from imgdigest.errors import ImgdigestError, UsageError

if TYPE_CHECKING:  # loaded on use: offline commands (check, ref) import this module too
    from imgdigest.registry.trace import RequestRecord, Trace
    from imgdigest.resolver import ResolveOptions


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` reads it: ``COLUMNS``, else
    the terminal on stdout, else 80."""
    import os

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class Formatter(argparse.HelpFormatter):
    """argparse's help layout, sized without ``shutil``: argparse builds a formatter for
    every option it adds and imports ``shutil`` (with its archive modules, 2 ms) to size it."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = _columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """``argparse`` whose bad option values are one line: ``imgdigest digest: --timeout: ...``.

    Other usage errors (missing arguments, unknown options) keep argparse's usage hint.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.startswith("argument "):
            self.exit(2, f"{self.prog}: {message[len('argument ') :]}\n")
        super().error(message)


class Commands(argparse._SubParsersAction):
    """The top-level commands; a command's one-line help comes from the table ``--help``
    lists (``cli.main.SUMMARIES``), so it is written once."""

    summaries: Mapping[str, str] = {}

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if "help" not in kwargs and name in self.summaries:
            kwargs["help"] = self.summaries[name]
        return super().add_parser(name, **kwargs)


# -- option value validators: every number and string option has a range ---------------
#
# Each returns an argparse ``type=`` callable; a bad value exits 2 with one line naming the
# option and the value, before anything is read, resolved or written.

Convert = Callable[[str], object]


def _number(text: str, kind: Callable[[str], float | int]) -> float | int | None:
    try:
        value = kind(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _between(low: float, high: float) -> str:
    def show(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    return f"between {show(low)} and {show(high)}"


def seconds(low: float, high: float) -> Convert:
    """A finite number of seconds in ``[low, high]`` (rejects nan, inf, negatives)."""

    def convert(text: str) -> float:
        value = _number(text, float)
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a number of seconds {_between(low, high)}, got {text!r}"
            )
        return float(value)

    return convert


def whole(low: int, high: int, unit: str = "") -> Convert:
    """A whole number in ``[low, high]``; ``unit`` names what is counted in the message."""

    def convert(text: str) -> int:
        value = _number(text, int)
        if value is None or not low <= value <= high:
            what = f"a whole number of {unit}" if unit else "a whole number"
            raise argparse.ArgumentTypeError(f"expected {what} {_between(low, high)}, got {text!r}")
        return int(value)

    return convert


def nonblank(what: str, max_length: int = 4096) -> Convert:
    """A non-blank string of printable characters, at most ``max_length`` long."""

    def convert(value: str) -> str:
        if not value.strip() or len(value) > max_length or not value.isprintable():
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
        return value

    return convert


def platform_spec(allow_all: bool = False) -> Convert:
    """A platform specifier ``parse`` accepts (and ``all`` where a command lists every one)."""
    check = nonblank("OS/ARCH[/VARIANT]" + (" or all" if allow_all else ""), 255)

    def convert(value: str) -> str:
        check(value)
        if allow_all and value == "all":
            return value
        from imgdigest.errors import InvalidPlatformError
        from imgdigest.platform import parse

        try:
            parse(value)
        except InvalidPlatformError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    return convert


PATH = nonblank("a path")
TIMEOUT = seconds(0.1, 3600)
RETRIES = whole(0, 20, "retries")
MAX_AGE = seconds(0, 366 * 24 * 3600)


def insecure_host(value: str) -> str:
    """``--insecure`` names a registry host, never a reference it would otherwise swallow."""
    host = value.removeprefix("http://").removeprefix("https://").rstrip("/")
    if not host or "/" in host or "@" in host or any(c.isspace() for c in host):
        raise argparse.ArgumentTypeError(
            f"expects a registry HOST[:PORT] such as 127.0.0.1:5000, not {value!r} "
            "(write --insecure HOST before the references)"
        )
    return host


def add_trust_args(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--insecure HOST`` and ``--ca-file``: the same meaning on every command, login too."""
    p.add_argument(
        "--insecure",
        action="append",
        default=[],
        type=insecure_host,
        metavar="HOST",
        help="allow plain HTTP and unverified TLS for this registry (repeatable)",
    )
    p.add_argument(
        "--ca-file", type=PATH, metavar="PEM", help="also trust the CAs in this PEM file"
    )


def checked_ca_file(path: str | None) -> str | None:
    """A missing or malformed CA file is the caller's mistake (exit 2), not a registry's."""
    if path is None:
        return None
    import ssl

    if not Path(path).is_file():
        raise UsageError(f"--ca-file {path}: no such file")
    try:  # a bare context: checks the file without loading the system store
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError:  # before OSError, of which it is a subclass
        raise UsageError(f"--ca-file {path}: not a PEM file of certificates") from None
    except OSError as exc:
        raise UsageError(f"--ca-file {path}: cannot read: {exc.strerror}") from None
    return path


def add_registry_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("registry access")
    add_trust_args(g)
    g.add_argument(
        "--registries-conf",
        type=PATH,
        metavar="FILE",
        help="containers-registries.conf (v2) with mirrors and rewrites",
    )
    g.add_argument(
        "--docker-config", type=PATH, metavar="DIR", help="Docker config directory (credentials)"
    )
    g.add_argument(
        "--authfile", type=PATH, metavar="FILE", help="containers auth.json with credentials"
    )
    g.add_argument(
        "--timeout", type=TIMEOUT, default=10.0, metavar="SECONDS", help="per request (0.1-3600)"
    )
    g.add_argument(
        "--retries", type=RETRIES, default=3, metavar="N", help="on 5xx, 429, network (0-20)"
    )
    g.add_argument("--no-cache", action="store_true", help="do not use the local manifest cache")
    g.add_argument(
        "--max-age",
        type=MAX_AGE,
        metavar="SECONDS",
        help="reuse a tag's digest from the cache if younger than this (default: never)",
    )
    g.add_argument(
        "-v",
        "--explain",
        action="store_true",
        help="trace every registry request on stderr, with totals",
    )


def resolve_options(args: argparse.Namespace, trace: Trace | None) -> ResolveOptions:
    from imgdigest.registry.options import RegistryOptions
    from imgdigest.resolver import ResolveOptions

    callback = None
    if trace is not None:

        def callback(record: RequestRecord) -> None:
            trace(record)
            print("  " + trace.format_record(record), file=sys.stderr)

    reg = RegistryOptions(
        insecure=tuple(args.insecure),
        ca_file=checked_ca_file(args.ca_file),
        registries_conf=args.registries_conf,
        docker_config=args.docker_config,
        auth_file=args.authfile,
        timeout=args.timeout,
        retries=args.retries,
        on_request=callback,
    )
    return ResolveOptions(
        registry=reg,
        cache=not args.no_cache,
        max_age=args.max_age,
        verify=bool(getattr(args, "verify_content", False)),
    )


def add_verify_arg(p: argparse.ArgumentParser) -> None:
    """``--verify`` of the commands that write or gate on digests (pin, lock, drift)."""
    p.add_argument(
        "--verify",
        dest="verify_content",
        action="store_true",
        help="also GET each tag's manifest and check it hashes to the digest the registry "
        "announced (a HEAD alone trusts the registry's Docker-Content-Digest header); "
        "a mismatch exits 6",
    )


@contextmanager
def explained(args: argparse.Namespace) -> Iterator[Trace | None]:
    """Collect a request trace when ``--explain`` is on, and print totals at the end."""
    if not getattr(args, "explain", False):
        yield None
        return
    from imgdigest.registry.trace import Trace

    trace = Trace()
    try:
        yield trace
    finally:
        s = trace.summary()
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(s["by_status"].items()))  # type: ignore[union-attr]
        line = f"total: {s['requests']} requests ({statuses}), {s['bytes']} bytes"
        line += f", {s['pulls_counted']} counted as pulls by Docker Hub"
        if s["ratelimit_remaining"] is not None:
            line += f", rate limit remaining: {s['ratelimit_remaining']}"
        print(line, file=sys.stderr)


class ByteProgress:
    """``label: 12.3 / 157.0 MB`` on stderr, repainted in place at most 5 times a second.

    Only for a terminal (``on_terminal``): in a log or a pipe it would be noise.
    """

    INTERVAL = 0.2

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label = label
        self.stream = stream
        self.sent = 0
        self.total: int | None = None
        self._shown = 0.0
        self._width = 0

    @classmethod
    def on_terminal(cls, label: str) -> ByteProgress | None:
        return cls(label, sys.stderr) if sys.stderr.isatty() else None

    def update(self, done: int, total: int | None = None, force: bool = False) -> None:
        import time

        self.sent, self.total = done, total if total is not None else self.total
        now = time.monotonic()
        if not force and now - self._shown < self.INTERVAL:
            return
        self._shown = now
        line = f"{self.label}: {_mb(self.sent)}"
        if self.total is not None:
            line += f" / {_mb(self.total)}"
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def count(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Pass ``chunks`` through, counting their bytes."""
        for chunk in chunks:
            self.update(self.sent + len(chunk))
            yield chunk

    def finish(self) -> None:
        """Show the final count and end the line."""
        self.update(self.sent, force=True)
        self.stream.write("\n")
        self.stream.flush()


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def read_refs(args_refs: list[str], from_file: str | None) -> list[str]:
    """References from arguments and/or a file (``-`` = stdin); blank lines and # comments skip."""
    refs = list(args_refs)
    if from_file:
        try:
            f: TextIO = sys.stdin if from_file == "-" else open(from_file, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"{from_file}: cannot read: {exc.strerror}") from None
        with f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    refs.append(line)
    if not refs:
        raise UsageError("no image references given (pass them as arguments or with --from-file)")
    return refs


def print_json_lines(objs: list[dict[str, Any]]) -> None:
    for o in objs:
        print(json.dumps(o, sort_keys=False))


def failure_line(given: str, exc: ImgdigestError) -> str:
    """A per-reference failure naming the input once: the error may already name it."""
    named = exc.reference is not None and str(exc).startswith(f"{exc.reference}: ")
    return str(exc) if named else f"{given}: {exc}"


def warn(msg: str) -> None:
    print(f"imgdigest: {msg}", file=sys.stderr)
