"""Flags shared by every command that talks to registries, and output helpers."""

from __future__ import annotations

import argparse
import json
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from imgdigest.errors import ImgdigestError, UsageError
from imgdigest.registry.options import RegistryOptions
from imgdigest.registry.trace import RequestRecord, Trace
from imgdigest.resolve import ResolveOptions


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
    p.add_argument("--ca-file", metavar="PEM", help="also trust the CAs in this PEM file")


def checked_ca_file(path: str | None) -> str | None:
    """A missing or malformed CA file is the caller's mistake (exit 2), not a registry's."""
    if path is None:
        return None
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
        metavar="FILE",
        help="containers-registries.conf (v2) with mirrors and rewrites",
    )
    g.add_argument("--docker-config", metavar="DIR", help="Docker config directory (credentials)")
    g.add_argument("--authfile", metavar="FILE", help="containers auth.json with credentials")
    g.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per request")
    g.add_argument("--retries", type=int, default=3, metavar="N", help="on 5xx, 429, network")
    g.add_argument("--no-cache", action="store_true", help="do not use the local manifest cache")
    g.add_argument(
        "--max-age",
        type=float,
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
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if args.retries < 0:
        raise UsageError("--retries must not be negative")
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
    return ResolveOptions(registry=reg, cache=not args.no_cache, max_age=args.max_age)


@contextmanager
def explained(args: argparse.Namespace) -> Iterator[Trace | None]:
    """Collect a request trace when ``--explain`` is on, and print totals at the end."""
    if not getattr(args, "explain", False):
        yield None
        return
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
