"""Settings of the registry client, passed in rather than read from globals.

Callers (the CLI, the webhook, tests) build one ``RegistryOptions`` and hand it to
the client; nothing in the registry package reads the environment on its own except
through the documented defaults of credential and mirror files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imgdigest.registry.trace import RequestRecord


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries: transport, trust, credentials and mirrors."""

    # Registries (host[:port]) allowed over plain HTTP and with unverified TLS.
    insecure: tuple[str, ...] = ()
    # Extra CA bundle (PEM) trusted in addition to the system store.
    ca_file: str | Path | None = None
    # containers-registries.conf v2 file; None reads nothing (see mirrors.default_path()).
    registries_conf: str | Path | None = None
    # Docker config directory or file; None uses $DOCKER_CONFIG or ~/.docker.
    docker_config: str | Path | None = None
    # containers auth.json; None uses $REGISTRY_AUTH_FILE or the usual places.
    auth_file: str | Path | None = None
    # Seconds to wait for a connection and between bytes of an answer.
    timeout: float = 10.0
    # Attempts after the first on connection errors, 5xx and 429.
    retries: int = 3
    # First backoff step in seconds; doubled each attempt, with jitter.
    backoff: float = 0.25
    # Longest Retry-After honoured, in seconds; longer waits become an error.
    max_retry_after: float = 60.0
    # Requests in flight to one registry at once (one connection each).
    concurrency: int = 16
    user_agent: str = "imgdigest"
    # Called for every request made, for --explain and metrics.
    on_request: Callable[[RequestRecord], None] | None = field(default=None, compare=False)
