"""Webhook server processes for the tests: one per distinct command line, per session.

Starting a server costs about a second, so servers with the same flags are shared by
every test that asks for them; tests that need a per-test registry proxy (stalls) start
their own with ``webhook_process``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.harness import RegistryServer, TestCA

from .process import WebhookProcess


@pytest.fixture(scope="session")
def webhook_factory(test_ca: TestCA) -> Iterator[Callable[..., WebhookProcess]]:
    """``webhook_factory(*args) -> WebhookProcess``, started, shared by identical args."""
    servers: dict[tuple[str, ...], WebhookProcess] = {}

    def make(*args: str) -> WebhookProcess:
        if args not in servers:
            servers[args] = WebhookProcess(test_ca, args).start()
        server = servers[args]
        assert server.proc is not None and server.proc.poll() is None, server.log()
        return server

    yield make
    for server in servers.values():
        server.cleanup()


@pytest.fixture
def webhook_process(test_ca: TestCA) -> Iterator[Callable[..., WebhookProcess]]:
    """Per-test servers, stopped after the test."""
    servers: list[WebhookProcess] = []

    def make(
        *args: str, cert_files: tuple[str, str] | None = None, module: str = "imgdigest"
    ) -> WebhookProcess:
        server = WebhookProcess(test_ca, args, cert_files=cert_files, module=module).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.cleanup()


@pytest.fixture(scope="session")
def validating(webhook_factory: Callable[..., WebhookProcess]) -> WebhookProcess:
    """Enforcing server with one exempted image prefix and no registry.

    It pins only images of a closed loopback port, so fuzzed images on /mutate never
    send a lookup off this machine.
    """
    return webhook_factory(
        "--exempt", "registry.k8s.io/pause*", "--exempt-namespace", "kube-system",
        "--pin", "127.0.0.1:9/*",
    )  # fmt: skip


@pytest.fixture(scope="session")
def mutating(
    webhook_factory: Callable[..., WebhookProcess], registry_http: RegistryServer
) -> WebhookProcess:
    """Server that pins through the real test registry."""
    return webhook_factory("--insecure", registry_http.host, "--timeout", "5")
