"""Pytest fixtures over the real-registry harness in ``tests/harness``.

Registries and the token server are session-scoped and start lazily, on first use, so a
test run that needs none of them pays nothing. Fault proxies and redirect recorders are
per test, because faults and counters are per test state. A missing ``docker-registry``
is a failure, never a skip: a suite that silently skips its registry tests proves nothing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import (
    FaultProxy,
    HarnessError,
    RecorderServer,
    RegistryServer,
    TestCA,
    TokenServer,
)
from tests.harness.client import Endpoint
from tests.shared import UPSTREAM, UPSTREAM_ABSENT


def _started(server: RegistryServer) -> RegistryServer:
    try:
        return server.start()
    except HarnessError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestCA]:
    """The CA behind every harness TLS endpoint; ``test_ca.ca_file`` is its PEM."""
    ca = TestCA(tmp_path_factory.mktemp("ca"))
    yield ca
    ca.cleanup()


@pytest.fixture(scope="session")
def token_server(test_ca: TestCA) -> Iterator[TokenServer]:
    """HTTPS token server behind ``registry_token`` (one user, no anonymous pull)."""
    server = TokenServer(test_ca).start()
    yield server
    server.stop()


def _registry_fixture(mode: str) -> Callable[..., Iterator[RegistryServer]]:
    @pytest.fixture(scope="session")
    def fixture(
        request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory,
        test_ca: TestCA,
    ) -> Iterator[RegistryServer]:
        tokens = request.getfixturevalue("token_server") if mode == "token" else None
        server = RegistryServer(
            mode,  # type: ignore[arg-type]
            ca=test_ca,
            token_server=tokens,
            workdir=tmp_path_factory.mktemp(f"registry-{mode}"),
        )
        yield _started(server)
        server.stop()

    fixture.__doc__ = f"Session-wide ``{mode}`` mode registry (see RegistryServer)."
    return fixture


registry_http = _registry_fixture("http")
registry_tls = _registry_fixture("tls")
registry_basic = _registry_fixture("basic")
registry_token = _registry_fixture("token")


@pytest.fixture
def anonymous_pull(token_server: TokenServer) -> Iterator[TokenServer]:
    """Let anonymous callers get pull tokens from ``token_server`` for this test only."""
    previous, token_server.anonymous_pull = token_server.anonymous_pull, True
    yield token_server
    token_server.anonymous_pull = previous


@pytest.fixture
def fault_proxy(test_ca: TestCA) -> Iterator[Callable[..., FaultProxy]]:
    """Factory: ``fault_proxy(registry, tls=False) -> FaultProxy``, stopped after the test."""
    proxies: list[FaultProxy] = []

    def make(upstream: Endpoint, tls: bool = False) -> FaultProxy:
        proxy = FaultProxy(upstream, tls=tls, ca=test_ca).start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def redirect_recorder() -> Iterator[Callable[..., RecorderServer]]:
    """Factory: ``redirect_recorder(upstream=None) -> RecorderServer`` on ``localhost``."""
    recorders: list[RecorderServer] = []

    def make(upstream: Endpoint | None = None) -> RecorderServer:
        recorder = RecorderServer(upstream).start()
        recorders.append(recorder)
        return recorder

    yield make
    for recorder in recorders:
        recorder.stop()


_repo_counter = itertools.count()


@pytest.fixture
def unique_repo(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses, derived from the test's name."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    return f"t/{slug}-{next(_repo_counter)}"


@pytest.fixture
def tmp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every credential and cache location at an empty temporary home."""
    home = tmp_path / "home"
    for sub in (".docker", ".config", ".cache", "run"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / ".docker"))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(home / ".config" / "containers" / "auth.json"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
    return home


# --- the upstream tier ---------------------------------------------------------------------


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave ``tests/upstream`` out when the upstream documents are not beside the project."""
    tier = Path(__file__).parent / "upstream"
    if UPSTREAM is None and (collection_path == tier or tier in collection_path.parents):
        return True
    return None


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say in one line that a tier did not run, and why, so its absence is never silent."""
    if UPSTREAM is None:
        terminalreporter.write_line(UPSTREAM_ABSENT, yellow=True)
