"""A real ``imgdigest webhook serve`` process on 127.0.0.1, for tests and benchmarks.

The server runs exactly as in a Pod - its own process, HTTPS with a certificate from
the harness CA, flags on the command line - and is reached over TLS with keep-alive.
Its home directory is an empty temporary one, so no credential of the machine is read.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.harness import TestCA, free_port

ROOT = Path(__file__).resolve().parents[2]


class WebhookProcess:
    """``imgdigest webhook serve ARGS`` with a fresh loopback certificate."""

    def __init__(
        self,
        ca: TestCA,
        args: list[str] | tuple[str, ...] = (),
        cert_files: tuple[str, str] | None = None,
        python: str = sys.executable,
        verify: ssl.SSLContext | bool | None = None,
        module: str = "imgdigest",
    ) -> None:
        self.ca = ca
        self.args = list(args)
        self.cert_file, self.key_file = cert_files or ca.server_files("127.0.0.1", "localhost")
        self.python = python
        self.module = module  # ``python -m MODULE webhook serve ...``
        # How the test client trusts the server (the harness CA unless told otherwise).
        self.verify = ca.client_context() if verify is None else verify
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._home = tempfile.TemporaryDirectory(prefix="imgdigest-webhook-home-")
        self._log = Path(self._home.name) / "server.log"
        self.client: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> WebhookProcess:
        self.port = free_port()
        home = Path(self._home.name)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "REGISTRY_"))}
        env.update(
            HOME=str(home),
            DOCKER_CONFIG=str(home / ".docker"),
            XDG_RUNTIME_DIR=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
            PYTHONPATH=os.pathsep.join((str(ROOT / "src"), str(ROOT))),
        )
        cmd = [
            self.python, "-m", self.module, "webhook", "serve",
            "--tls-cert", self.cert_file, "--tls-key", self.key_file,
            "--listen", f"127.0.0.1:{self.port}", "--log-level", "warning",
            *self.args,
        ]  # fmt: skip
        log = self._log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self.client = httpx.Client(verify=self.verify, timeout=30.0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"webhook exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.client.get(self.url + "/readyz").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"webhook not ready within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def post(self, endpoint: str, body: Any, **kw: Any) -> httpx.Response:
        assert self.client is not None
        if isinstance(body, bytes | str):
            return self.client.post(self.url + endpoint, content=body, **kw)
        return self.client.post(self.url + endpoint, json=body, **kw)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        self._home.cleanup()

    def __enter__(self) -> WebhookProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
