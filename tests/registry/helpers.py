"""Small helpers shared by the registry-facing tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from imgdigest.registry.credentials import login
from imgdigest.registry.options import RegistryOptions
from imgdigest.registry.trace import Trace
from imgdigest.resolver import ResolveOptions, Resolver


def options(
    endpoint: object,
    home: Path,
    *,
    trace: Trace | None = None,
    cache: bool = True,
    **registry: object,
) -> ResolveOptions:
    """Options that trust the harness CA and keep caches inside the test's home."""
    reg = RegistryOptions(
        ca_file=registry.pop("ca_file", getattr(endpoint, "ca_file", None)),  # type: ignore[arg-type]
        docker_config=home / ".docker",
        on_request=trace,
        timeout=registry.pop("timeout", 5.0),  # type: ignore[arg-type]
        backoff=registry.pop("backoff", 0.01),  # type: ignore[arg-type]
        **registry,  # type: ignore[arg-type]
    )
    return ResolveOptions(registry=reg, cache=cache, cache_dir=home / ".cache" / "imgdigest")


def resolver(endpoint: object, home: Path, **kw: object) -> Resolver:
    return Resolver(options(endpoint, home, **kw))  # type: ignore[arg-type]


def store_login(endpoint: object, home: Path, password: str | None = None) -> None:
    login(
        endpoint.host,  # type: ignore[attr-defined]
        endpoint.username,  # type: ignore[attr-defined]
        password if password is not None else endpoint.password,  # type: ignore[attr-defined]
        home / ".docker",
    )


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``imgdigest ARGS`` as a new process, as a user runs it: exit code, stdout, stderr."""
    return subprocess.run(
        [sys.executable, "-m", "imgdigest", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ},
        timeout=60,
    )
