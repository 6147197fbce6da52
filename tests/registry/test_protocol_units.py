"""Protocol details that need no server: challenges, media types, the request trace."""

from __future__ import annotations

import json

import pytest

from imgdigest.errors import UnsupportedError
from imgdigest.media import DOCKER_SCHEMA1_SIGNED, OCI_INDEX, Manifest
from imgdigest.reference import pin_text
from imgdigest.registry.auth import TokenCache, parse_challenges
from imgdigest.registry.trace import RequestRecord, Trace, parse_ratelimit
from imgdigest.registry.transport import is_loopback


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/ubuntu:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/ubuntu:pull",
            },
        ),
        ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
        ('bearer realm="a\\"b", service=svc', "bearer", {"realm": 'a"b', "service": "svc"}),
    ],
)
def test_parse_challenges(header, scheme, params):
    (ch,) = parse_challenges(header)
    assert ch.scheme == scheme and ch.params == params


def test_token_cache_expiry_and_push_implies_pull(monkeypatch):
    cache = TokenCache()
    cache.put(["repository:a:pull,push"], "tok", 300)
    assert cache.get("repository:a:pull") == "tok"
    cache.put(["repository:b:pull"], "short", 5)  # inside the refresh margin
    assert cache.get("repository:b:pull") is None


def test_schema1_is_refused_clearly():
    raw = json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode()
    with pytest.raises(UnsupportedError, match="schema 1"):
        Manifest.parse(raw, DOCKER_SCHEMA1_SIGNED, "example.com/x:1")


def test_artifact_manifest_is_parsed_not_crashed_on():
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "artifactType": "application/vnd.example+type",
            "manifests": [],
        }
    ).encode()
    m = Manifest.parse(raw, "", "x")
    assert m.is_index and m.artifact_type == "application/vnd.example+type"


def test_docker_hub_pull_accounting_and_ratelimit():
    t = Trace()
    get = RequestRecord(
        "GET",
        "registry-1.docker.io",
        "/v2/library/a/manifests/1",
        200,
        10,
        0.1,
        ratelimit_remaining=parse_ratelimit("99;w=21600"),
    )
    head = RequestRecord("HEAD", "registry-1.docker.io", "/v2/library/a/manifests/1", 200, 0, 0.1)
    other = RequestRecord("GET", "ghcr.io", "/v2/a/manifests/1", 200, 10, 0.1)
    for r in (get, head, other):
        t(r)
    assert [r.counts_as_pull for r in (get, head, other)] == [True, False, False]
    s = t.summary()
    assert s["pulls_counted"] == 1 and s["ratelimit_remaining"] == "99" and s["requests"] == 3


@pytest.mark.parametrize(
    ("host", "loop"),
    [
        ("localhost:5000", True),
        ("127.0.0.2", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("registry.local", False),
    ],
)
def test_loopback_detection(host, loop):
    assert is_loopback(host) is loop


@pytest.mark.parametrize(
    ("text", "keep", "expected"),
    [
        ("nginx:1.25", True, "nginx:1.25@sha256:x"),
        ("nginx:1.25", False, "nginx@sha256:x"),
        ("localhost:5000/a:1@sha256:old", True, "localhost:5000/a:1@sha256:x"),
        ("localhost:5000/a", False, "localhost:5000/a@sha256:x"),
    ],
)
def test_pin_text_keeps_spelling(text, keep, expected):
    assert pin_text(text, "sha256:x", keep) == expected
