"""Mirrors fall back to the registry itself, and a failure says what each endpoint said.

Both the mirror and the "origin" are fault proxies in front of one real registry, so
each endpoint's requests are counted on its own proxy; the mirror serves the
registry's ``mirror/`` namespace, where an image is present only when a test puts it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imgdigest.errors import ForbiddenError, NotFoundError
from tests.harness import free_port, push_image

from .helpers import resolver

MANIFEST = r"/manifests/"


def _conf(tmp_path: Path, origin: str, mirror: str) -> Path:
    path = tmp_path / "registries.conf"
    path.write_text(
        f'[[registry]]\nprefix = "{origin}"\nlocation = "{origin}"\n'
        f'[[registry.mirror]]\nlocation = "{mirror}/mirror"\n'
    )
    return path


@pytest.fixture
def endpoints(registry_http, fault_proxy, unique_repo):
    """(origin proxy, mirror proxy, pushed image) with the image only at the origin."""
    img = push_image(registry_http, unique_repo, "v1")
    return fault_proxy(registry_http), fault_proxy(registry_http), img


def test_mirror_that_lacks_the_tag_falls_back_to_the_origin(
    endpoints, unique_repo, tmp_home, tmp_path
):
    origin, mirror, img = endpoints
    conf = _conf(tmp_path, origin.host, mirror.host)
    with resolver(origin, tmp_home, registries_conf=conf) as r:
        res = r.resolve(f"{origin.host}/{unique_repo}:v1")
    assert (res.digest, res.endpoint) == (img.digest, f"{origin.host}/{unique_repo}")
    assert mirror.count("HEAD", MANIFEST) == 1 and origin.count("HEAD", MANIFEST) == 1


def test_mirror_that_has_the_tag_answers_alone(
    registry_http, endpoints, unique_repo, tmp_home, tmp_path
):
    origin, mirror, _ = endpoints
    img = push_image(registry_http, f"mirror/{unique_repo}", "v1", seed="mirrored")
    conf = _conf(tmp_path, origin.host, mirror.host)
    with resolver(origin, tmp_home, registries_conf=conf) as r:
        res = r.resolve(f"{origin.host}/{unique_repo}:v1")
    assert (res.digest, res.endpoint) == (img.digest, f"{mirror.host}/mirror/{unique_repo}")
    assert origin.count() == 0


@pytest.mark.parametrize("status", [401, 403])
def test_mirror_refusing_us_does_not_stop_the_fallback(
    endpoints, unique_repo, tmp_home, tmp_path, status
):
    origin, mirror, img = endpoints
    mirror.status_then_ok(status, times=100, path=MANIFEST)
    conf = _conf(tmp_path, origin.host, mirror.host)
    with resolver(origin, tmp_home, registries_conf=conf) as r:
        assert r.resolve(f"{origin.host}/{unique_repo}:v1").digest == img.digest
    assert mirror.count("HEAD", MANIFEST) == 1 and origin.count("HEAD", MANIFEST) == 1


def test_unreachable_mirror_falls_back_to_the_origin(endpoints, unique_repo, tmp_home, tmp_path):
    origin, _, img = endpoints
    conf = _conf(tmp_path, origin.host, f"127.0.0.1:{free_port()}")
    with resolver(origin, tmp_home, registries_conf=conf) as r:
        assert r.resolve(f"{origin.host}/{unique_repo}:v1").digest == img.digest
    assert origin.count("HEAD", MANIFEST) == 1


def test_when_all_fail_the_error_lists_each_endpoint(endpoints, unique_repo, tmp_home, tmp_path):
    _, mirror, _ = endpoints
    gone = f"127.0.0.1:{free_port()}"
    ref = f"{gone}/{unique_repo}:v1"
    conf = _conf(tmp_path, gone, mirror.host)
    with resolver(None, tmp_home, registries_conf=conf) as r, pytest.raises(NotFoundError) as err:
        r.resolve(ref)
    # the mirror answered, the origin did not: the answer decides the kind (exit 3)
    assert err.value.exit_code == 3
    assert str(err.value) == (
        f"{ref}: not found: mirror {mirror.host} said not found; "
        f"{gone}: cannot reach: connection refused"
    )
    assert (err.value.reference, err.value.host) == (ref, gone)


def test_origin_answer_decides_the_kind_and_the_cli_prints_one_line(
    endpoints, unique_repo, tmp_home, tmp_path
):
    origin, mirror, _ = endpoints
    mirror.status_then_ok(403, times=100, path=MANIFEST)
    ref = f"{origin.host}/{unique_repo}:absent"
    conf = _conf(tmp_path, origin.host, mirror.host)
    with resolver(None, tmp_home, registries_conf=conf) as r, pytest.raises(NotFoundError):
        r.resolve(ref)
    p = subprocess.run(
        [sys.executable, "-m", "imgdigest", "digest", "--registries-conf", str(conf), ref],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
    )
    assert p.returncode == 3
    assert p.stderr.splitlines() == [
        f"imgdigest: error: {ref}: not found: mirror {mirror.host} said access denied "
        f"(HTTP 403); {origin.host} said not found"
    ]


def test_origin_refusal_after_a_missing_mirror_is_an_auth_error(
    endpoints, unique_repo, tmp_home, tmp_path
):
    origin, mirror, _ = endpoints
    origin.status_then_ok(403, times=100, path=MANIFEST)
    ref = f"{origin.host}/{unique_repo}:v1"
    conf = _conf(tmp_path, origin.host, mirror.host)
    with resolver(None, tmp_home, registries_conf=conf) as r, pytest.raises(ForbiddenError) as err:
        r.resolve(ref)
    assert err.value.exit_code == 4
    assert str(err.value) == (
        f"{ref}: access denied: mirror {mirror.host} said not found; "
        f"{origin.host} said access denied (HTTP 403)"
    )


def test_a_single_registry_names_the_reference_once(registry_http, unique_repo, tmp_home):
    ref = f"{registry_http.host}/{unique_repo}:nope"
    p = subprocess.run(
        [sys.executable, "-m", "imgdigest", "digest", ref, "Bad:tag:twice"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
    )
    assert (p.returncode, p.stderr.splitlines()) == (
        3,
        [
            f"imgdigest: error: {ref}: not found",
            "imgdigest: error: Bad:tag:twice: invalid reference format: repository name "
            "(library/Bad) must be lowercase",
        ],
    )
