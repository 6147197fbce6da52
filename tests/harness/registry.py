"""A real OCI registry (CNCF distribution 2.8, Debian's ``docker-registry``) for tests.

Each ``RegistryServer`` owns a temporary directory holding its ``config.yml``, its
filesystem storage, its TLS material and its logs, and runs ``docker-registry serve`` on
a free 127.0.0.1 port. Four modes cover what a client meets in the wild:

``http``  plain HTTP, no auth.
``tls``   HTTPS with a certificate from the harness CA (``ca_file``).
``basic`` HTTPS plus htpasswd (bcrypt) basic auth (``username`` / ``password``).
``token`` HTTPS plus bearer tokens from a ``TokenServer`` (its realm, service, issuer and
          signing certificate are wired into ``auth.token``).

The registry's access log (Apache combined format on stdout) is kept in ``access.log``
so ``request_count()`` can count what actually reached the registry.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal

import bcrypt
import httpx
import yaml

from .httpserver import free_port
from .tls import TestCA, verify_for
from .tokenserver import TokenServer

Mode = Literal["http", "tls", "basic", "token"]
MODES: tuple[Mode, ...] = ("http", "tls", "basic", "token")
REGISTRY_BINARY = os.environ.get("IMGDIGEST_REGISTRY_BINARY", "/usr/bin/docker-registry")
MISSING_BINARY = "run `make test`, which installs docker-registry"

_ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


class HarnessError(RuntimeError):
    """The test harness could not provide what was asked (missing binary, failed start)."""


def registry_binary() -> str:
    """Path of the registry binary, or a ``HarnessError`` telling how to install it."""
    path = REGISTRY_BINARY if os.path.exists(REGISTRY_BINARY) else shutil.which("docker-registry")
    if not path:
        raise HarnessError(MISSING_BINARY)
    return path


class RegistryServer:
    """One running registry; use as a context manager or call ``start()`` / ``stop()``."""

    def __init__(
        self,
        mode: Mode = "http",
        *,
        ca: TestCA | None = None,
        token_server: TokenServer | None = None,
        username: str = "tester",
        password: str | None = None,
        workdir: str | Path | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown registry mode {mode!r}; expected one of {MODES}")
        self.mode: Mode = mode
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=f"imgdigest-registry-{mode}-")
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self._own_ca = ca is None and mode != "http"
        self.ca = TestCA(self.workdir / "ca") if self._own_ca else ca
        self._own_token_server = mode == "token" and token_server is None
        if self._own_token_server:
            token_server = TokenServer(self.ca, users={username: password or secrets.token_hex(12)})
        self.token_server = token_server if mode == "token" else None
        if mode == "basic":
            self.username: str | None = username
            self.password: str | None = password or secrets.token_hex(12)
        elif self.token_server is not None:
            self.username = self.token_server.username
            self.password = self.token_server.password
        else:
            self.username = self.password = None
        self.startup_timeout = startup_timeout
        self.port = 0
        self.config_file = self.workdir / "config.yml"
        self.access_log = self.workdir / "access.log"
        self.error_log = self.workdir / "registry.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._baseline = 0

    # -- addresses ----------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "http" if self.mode == "http" else "https"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def ca_file(self) -> str | None:
        return self.ca.ca_file if self.ca is not None and self.mode != "http" else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __repr__(self) -> str:
        return f"RegistryServer(mode={self.mode!r}, url={self.url!r})"

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> RegistryServer:
        binary = registry_binary()
        if self.token_server is not None and self.token_server._server is None:
            self.token_server.start()
        last_error = ""
        for _attempt in range(3):
            self.port = free_port()
            self._write_config()
            with self.access_log.open("ab") as out, self.error_log.open("ab") as err:
                self._process = subprocess.Popen(
                    [binary, "serve", str(self.config_file)],
                    # The registry reads REGISTRY_* variables as configuration overrides;
                    # REGISTRY_AUTH_FILE (containers' auth.json) would become auth.file.
                    env={k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            try:
                self._wait_ready()
            except HarnessError as error:
                last_error = str(error)
                self._terminate()
                continue
            self._baseline = len(self._access_entries())
            return self
        self.stop()
        raise HarnessError(f"docker-registry ({self.mode}) did not start: {last_error}")

    def stop(self) -> None:
        self._terminate()
        if self._own_token_server and self.token_server is not None:
            self.token_server.stop()
        if self._own_ca and self.ca is not None:
            self.ca.cleanup()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(verify=verify_for(self.ca_file), timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    raise HarnessError(f"exited early; log tail: {self._log_tail()}")
                try:
                    response = client.get(f"{self.url}/v2/")
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                if response.status_code in (200, 401):
                    return
                time.sleep(0.05)
        raise HarnessError(f"/v2/ did not answer within {self.startup_timeout}s")

    def _log_tail(self) -> str:
        try:
            return self.error_log.read_text(errors="replace")[-800:].strip()
        except OSError:
            return ""

    # -- configuration ------------------------------------------------------------
    def config(self) -> dict[str, object]:
        """The registry configuration this server runs with."""
        http: dict[str, object] = {
            "addr": self.host,
            "secret": "imgdigest-harness-secret",
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        }
        if self.mode != "http":
            assert self.ca is not None
            cert_file, key_file = self.ca.server_files()
            http["tls"] = {"certificate": cert_file, "key": key_file}
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.workdir / "storage")},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http,
        }
        if self.mode == "basic":
            config["auth"] = {
                "htpasswd": {"realm": "imgdigest-test", "path": self._write_htpasswd()}
            }
        elif self.mode == "token":
            assert self.token_server is not None
            config["auth"] = {
                "token": {
                    "realm": self.token_server.realm,
                    "service": self.token_server.service,
                    "issuer": self.token_server.issuer,
                    "rootcertbundle": self.token_server.write_root_bundle(self.workdir),
                }
            }
        return config

    def _write_config(self) -> None:
        self.config_file.write_text(yaml.safe_dump(self.config(), sort_keys=False))

    def _write_htpasswd(self) -> str:
        assert self.username is not None and self.password is not None
        hashed = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=5)).decode()
        path = self.workdir / "htpasswd"
        path.write_text(f"{self.username}:{hashed}\n")
        return str(path)

    # -- observation --------------------------------------------------------------
    def _access_entries(self) -> list[tuple[str, str, int]]:
        try:
            text = self.access_log.read_text(errors="replace")
        except OSError:
            return []
        return [
            (m["method"], m["target"], int(m["status"]))
            for m in map(_ACCESS_LINE.search, text.splitlines())
            if m
        ]

    def access_entries(self, settle: float = 0.05) -> list[tuple[str, str, int]]:
        """``(method, target, status)`` of every request since start (or the last reset).

        The registry logs a request after answering it, so a client can see the answer
        before the line exists; ``settle`` waits until the log stops growing.
        """
        entries = self._access_entries()
        deadline = time.monotonic() + 2.0
        while settle and time.monotonic() < deadline:
            time.sleep(settle)
            again = self._access_entries()
            if len(again) == len(entries):
                break
            entries = again
        return entries[self._baseline :]

    def request_count(
        self, method: str | None = None, path: str | None = None, settle: float = 0.05
    ) -> int:
        """How many requests reached the registry, optionally by method and path regex."""
        pattern = re.compile(path) if path else None
        return sum(
            1
            for m, target, _ in self.access_entries(settle)
            if (method is None or m == method) and (pattern is None or pattern.search(target))
        )

    def reset_count(self) -> None:
        """Make ``request_count()`` count from now on."""
        self._baseline += len(self.access_entries())
