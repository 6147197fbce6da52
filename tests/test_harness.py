"""The harness itself: real registries accept pushes, auth works, every fault happens.

If these fail, every registry-backed test of imgdigest is suspect, so each behaviour a
later test relies on is demonstrated here against the real registry.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.harness import (
    DEFAULT_PLATFORMS,
    RegistryClient,
    RegistryServer,
    TokenServer,
    build_image,
    parse_challenge,
    push_image,
    push_index,
    push_nested_index,
    sha256_digest,
)
from tests.harness.images import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from tests.harness.tls import verify_for

MODES = ["registry_http", "registry_tls", "registry_basic", "registry_token"]


def _get(client: RegistryClient, repo: str, ref: str) -> httpx.Response:
    response = client.get_manifest(repo, ref)
    assert response.status_code == 200, response.text
    return response


# -- registries -----------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_serves_back_the_pushed_manifest_under_its_digest(mode, request, unique_repo):
    registry = request.getfixturevalue(mode)
    pushed = push_image(registry, unique_repo, "v1", layers=2)
    with RegistryClient(registry) as client:
        response = _get(client, unique_repo, "v1")
    assert response.content == pushed.manifest_bytes
    assert sha256_digest(response.content) == response.headers["Docker-Content-Digest"]
    assert response.headers["Docker-Content-Digest"] == pushed.digest
    assert response.headers["Content-Type"] == OCI_MANIFEST


@pytest.mark.parametrize(
    ("media", "index_type", "child_type"),
    [("oci", OCI_INDEX, OCI_MANIFEST), ("docker", DOCKER_LIST, DOCKER_MANIFEST)],
)
def test_index_holds_platform_children_and_attestations(
    registry_http, unique_repo, media, index_type, child_type
):
    index = push_index(registry_http, unique_repo, "multi", media=media)
    with RegistryClient(registry_http) as client:
        response = _get(client, unique_repo, "multi")
        assert response.headers["Content-Type"] == index_type
        assert response.headers["Docker-Content-Digest"] == index.digest
        entries = response.json()["manifests"]
        platforms = [e["platform"] for e in entries]
        images = [e for e in entries if e["platform"]["os"] != "unknown"]
        notes = [e for e in entries if e["platform"]["os"] == "unknown"]
        assert [(p["os"], p["architecture"], p.get("variant", "")) for p in platforms[:3]] == list(
            DEFAULT_PLATFORMS
        )
        assert {e["mediaType"] for e in images} == {child_type}
        assert [n["annotations"]["vnd.docker.reference.digest"] for n in notes] == [
            e["digest"] for e in images
        ]
        assert {n["annotations"]["vnd.docker.reference.type"] for n in notes} == {
            "attestation-manifest"
        }
        for entry in entries:
            child = _get(client, unique_repo, entry["digest"])
            assert sha256_digest(child.content) == entry["digest"]
    assert index.child("linux", "arm", "v7").platform == ("linux", "arm", "v7")


def test_nested_index_is_accepted_and_served(registry_http, unique_repo):
    inner = push_index(registry_http, unique_repo, None, attestations=False)
    outer = push_nested_index(
        registry_http, unique_repo, "nested", [inner, build_image(("linux", "s390x"))]
    )
    with RegistryClient(registry_http) as client:
        served = _get(client, unique_repo, "nested").json()
    assert [m["digest"] for m in served["manifests"]] == [c.digest for c in outer.children]
    assert served["manifests"][0]["mediaType"] == OCI_INDEX


def test_manifests_are_stable_but_not_canonical_json():
    first, again = build_image(seed="a"), build_image(seed="a")
    other = build_image(seed="b")
    compact = json.dumps(json.loads(first.manifest_bytes), separators=(",", ":")).encode()
    assert first.digest == again.digest
    assert other.digest != first.digest
    assert sha256_digest(compact) != first.digest


def test_layers_are_gzipped_tars_with_the_listed_files():
    image = build_image(layers=2, seed="files")
    for blob, files, diff_id in zip(
        image.layer_bytes, image.layer_files, image.diff_ids, strict=True
    ):
        raw = gzip.decompress(blob)
        assert sha256_digest(raw) == diff_id
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            regular = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        assert regular == files
    config = json.loads(image.config_bytes)
    assert config["rootfs"]["diff_ids"] == image.diff_ids


def test_registry_access_log_counts_requests(registry_tls):
    registry_tls.reset_count()
    with httpx.Client(verify=verify_for(registry_tls.ca_file)) as client:
        for _ in range(3):
            assert client.get(f"{registry_tls.url}/v2/").status_code == 200
    assert registry_tls.request_count("GET", r"^/v2/$") == 3


# -- auth -----------------------------------------------------------------------------
def test_basic_mode_challenges_and_rejects_a_wrong_password(registry_basic):
    with httpx.Client(verify=verify_for(registry_basic.ca_file)) as client:
        anonymous = client.get(f"{registry_basic.url}/v2/")
        wrong = client.get(f"{registry_basic.url}/v2/", auth=(registry_basic.username, "nope"))
        right = client.get(
            f"{registry_basic.url}/v2/", auth=(registry_basic.username, registry_basic.password)
        )
    assert anonymous.status_code == 401
    assert parse_challenge(anonymous.headers["WWW-Authenticate"])[0] == "basic"
    assert (wrong.status_code, right.status_code) == (401, 200)


def _token(server: TokenServer, *scopes: str, auth: tuple[str, str] | None) -> httpx.Response:
    query = [("service", server.service)] + [("scope", s) for s in scopes]
    with httpx.Client(verify=verify_for(server.ca_file)) as client:
        return client.get(server.realm, params=query, auth=auth)


def test_token_mode_rejects_anonymous_push_and_accepts_a_token(
    registry_token, token_server, unique_repo
):
    url = f"{registry_token.url}/v2/{unique_repo}/blobs/uploads/"
    with httpx.Client(verify=verify_for(registry_token.ca_file)) as client:
        anonymous = client.post(url)
        scheme, params = parse_challenge(anonymous.headers["WWW-Authenticate"])
        assert (anonymous.status_code, scheme) == (401, "bearer")
        assert params["realm"] == token_server.realm
        kind, name, actions = params["scope"].split(":")  # the registry orders actions randomly
        assert (kind, name, sorted(actions.split(","))) == (
            "repository",
            unique_repo,
            ["pull", "push"],
        )
        assert _token(token_server, params["scope"], auth=None).status_code == 401
        creds = (registry_token.username, registry_token.password)
        assert _token(token_server, params["scope"], auth=(creds[0], "wrong")).status_code == 401
        answer = _token(token_server, params["scope"], auth=creds)
        assert answer.status_code == 200
        body = answer.json()
        assert body["token"] == body["access_token"]
        assert body["expires_in"] == token_server.expires_in and body["issued_at"]
        started = client.post(url, headers={"Authorization": f"Bearer {body['token']}"})
    assert started.status_code == 202
    pushed = push_image(registry_token, unique_repo, "v1")
    assert sorted(token_server.issued[-1].access[0]["actions"]) == ["pull", "push"]
    with RegistryClient(registry_token) as reader:
        assert _get(reader, unique_repo, "v1").headers["Docker-Content-Digest"] == pushed.digest


def test_one_token_with_several_scopes_serves_several_repositories(
    registry_token, token_server, unique_repo
):
    repos = [f"{unique_repo}-a", f"{unique_repo}-b"]
    pushed = [push_image(registry_token, repo, "v1") for repo in repos]
    token_server.reset()
    creds = (registry_token.username, registry_token.password)
    answer = _token(token_server, *(f"repository:{r}:pull" for r in repos), auth=creds)
    headers = {"Authorization": f"Bearer {answer.json()['token']}", "Accept": OCI_MANIFEST}
    with httpx.Client(verify=verify_for(registry_token.ca_file)) as client:
        for repo, image in zip(repos, pushed, strict=True):
            response = client.get(f"{registry_token.url}/v2/{repo}/manifests/v1", headers=headers)
            assert response.headers.get("Docker-Content-Digest") == image.digest
        outside = client.get(f"{registry_token.url}/v2/{unique_repo}-c/tags/list", headers=headers)
    assert outside.status_code == 401
    assert token_server.request_count == 1
    assert [a["name"] for a in token_server.issued[0].access] == repos


def test_anonymous_pull_grants_pull_but_not_push(registry_token, anonymous_pull, unique_repo):
    image = push_image(registry_token, unique_repo, "v1")
    with RegistryClient(registry_token, anonymous=True) as client:
        assert client.get_manifest(unique_repo, "v1").headers["Docker-Content-Digest"] == (
            image.digest
        )
        refused = client.request("POST", f"/v2/{unique_repo}/blobs/uploads/", repo=unique_repo)
    assert refused.status_code == 401
    assert anonymous_pull.issued[-1].access == [
        {"type": "repository", "name": unique_repo, "actions": ["pull"]}
    ]


def test_post_password_grant_issues_a_usable_token(registry_token, token_server):
    form = {
        "grant_type": "password",
        "username": registry_token.username,
        "password": registry_token.password,
        "service": token_server.service,
        "scope": "registry:catalog:*",
        "client_id": "imgdigest-tests",
    }
    with httpx.Client(verify=verify_for(token_server.ca_file)) as client:
        token = client.post(token_server.realm, data=form).json()["access_token"]
        catalog = client.get(
            f"{registry_token.url}/v2/_catalog", headers={"Authorization": f"Bearer {token}"}
        )
    assert catalog.status_code == 200
    assert registry_token.password not in token_server.requests[-1].query


@pytest.mark.parametrize("signing", ["x5c", "kid"])
def test_registry_trusts_both_signing_styles_and_rejects_a_stranger(test_ca, signing, tmp_path):
    trusted = TokenServer(test_ca, signing=signing)
    stranger = TokenServer(test_ca, signing=signing, users=trusted.users)
    with trusted, stranger, RegistryServer("token", ca=test_ca, token_server=trusted) as reg:
        scope = "repository:x/y:pull"
        creds = (trusted.username, trusted.password)
        with httpx.Client(verify=verify_for(test_ca.ca_file)) as client:
            statuses = [
                client.get(
                    f"{reg.url}/v2/x/y/tags/list",
                    headers={
                        "Authorization": f"Bearer {_token(s, scope, auth=creds).json()['token']}"
                    },
                ).status_code
                for s in (trusted, stranger)
            ]
    assert statuses == [404, 401]  # trusted token reaches the (empty) repo, stranger is refused


# -- skopeo as a second witness ------------------------------------------------------
def test_skopeo_agrees_with_the_pushed_digests(registry_http, registry_tls, test_ca, tmp_home):
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.fail("skopeo is missing: run `make test`, which installs it", pytrace=False)
    image = push_image(registry_http, "skopeo/plain", "v1", media="docker")
    secure = push_image(registry_tls, "skopeo/secure", "v1")
    index = push_index(registry_tls, "skopeo/multi", "v1")
    runs = [
        (["--tls-verify=false", f"docker://{registry_http.host}/skopeo/plain:v1"], image.digest),
        (
            [f"--cert-dir={test_ca.cert_dir()}", f"docker://{registry_tls.host}/skopeo/secure:v1"],
            secure.digest,
        ),
    ]
    for args, digest in runs:
        out = subprocess.run(
            [skopeo, "inspect", "--no-creds", "--format", "{{.Digest}}", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert out.stdout.strip() == digest
    raw = subprocess.run(
        [
            skopeo,
            "inspect",
            "--raw",
            "--no-creds",
            f"--cert-dir={test_ca.cert_dir()}",
            f"docker://{registry_tls.host}/skopeo/multi:v1",
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert sha256_digest(raw.stdout) == index.digest


# -- fault proxy ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeded(registry_token):
    """One image in the token registry that the proxy tests read through faults."""
    return push_image(registry_token, "proxy/subject", "v1", layers=1)


@pytest.fixture
def proxied(fault_proxy, registry_token, seeded):
    proxy = fault_proxy(registry_token)
    client = RegistryClient(proxy)
    _get(client, "proxy/subject", "v1")  # authenticate once, outside every fault
    proxy.reset_counts()
    yield proxy, client
    client.close()


def test_proxy_forwards_uploads_and_counts_by_method_and_path(
    fault_proxy, registry_token, unique_repo
):
    proxy = fault_proxy(registry_token)
    image = push_image(proxy, unique_repo, "v1", chunk_size=64)
    counts = proxy.counts()
    patches = sum(n for (method, path), n in counts.items() if method == "PATCH")
    assert patches >= 2  # chunks went to the rewritten Location, i.e. back through the proxy
    assert counts[("PUT", f"/v2/{unique_repo}/manifests/v1")] == 1
    assert proxy.count("PUT", r"/manifests/") == 1
    with RegistryClient(registry_token) as direct:
        assert _get(direct, unique_repo, "v1").headers["Docker-Content-Digest"] == image.digest


def test_tamper_body_breaks_the_digest_but_keeps_json(proxied, seeded):
    proxy, client = proxied
    proxy.tamper_body(path="/manifests/")
    response = _get(client, "proxy/subject", "v1")
    assert response.headers["Docker-Content-Digest"] == seeded.digest
    assert sha256_digest(response.content) != seeded.digest
    assert response.json()["schemaVersion"] == 2


def test_drop_header_removes_it(proxied):
    proxy, client = proxied
    proxy.drop_header("Docker-Content-Digest", path="/manifests/")
    assert "Docker-Content-Digest" not in _get(client, "proxy/subject", "v1").headers


def test_head_can_be_refused_with_405_while_get_works(proxied, seeded):
    proxy, client = proxied
    proxy.method_not_allowed("HEAD")
    head = client.request("HEAD", "/v2/proxy/subject/manifests/v1", repo="proxy/subject")
    assert head.status_code == 405
    assert _get(client, "proxy/subject", "v1").headers["Docker-Content-Digest"] == seeded.digest


@pytest.mark.parametrize(("status", "times", "retry_after"), [(429, 2, "1"), (503, 1, None)])
def test_status_then_ok_fails_n_times_then_forwards(proxied, status, times, retry_after):
    proxy, client = proxied
    proxy.status_then_ok(status, times=times, path="/manifests/")
    answers = [client.get_manifest("proxy/subject", "v1") for _ in range(times + 1)]
    assert [a.status_code for a in answers] == [status] * times + [200]
    assert answers[0].headers.get("Retry-After") == retry_after
    assert proxy.count("GET", "/manifests/") == times + 1


def test_stall_before_headers_times_out_until_cleared(proxied):
    proxy, client = proxied
    fault = proxy.stall(path="/manifests/")
    with pytest.raises(httpx.ReadTimeout):
        client._http.get(f"{proxy.url}/v2/proxy/subject/manifests/v1", timeout=0.3)
    proxy.remove(fault)
    assert client.get_manifest("proxy/subject", "v1").status_code == 200


def test_stall_after_headers_sends_status_then_hangs(proxied, seeded):
    proxy, client = proxied
    proxy.stall(phase="body", path="/blobs/")
    url = f"{proxy.url}/v2/proxy/subject/blobs/{seeded.layer_digests[0]}"
    auth = client._auth["proxy/subject"]
    with client._http.stream("GET", url, headers={"Authorization": auth}, timeout=0.3) as resp:
        assert resp.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            resp.read()


def test_delay_adds_latency_to_each_response(proxied):
    proxy, client = proxied
    started = time.monotonic()
    client.get_manifest("proxy/subject", "v1")
    baseline = time.monotonic() - started
    proxy.delay(150)
    started = time.monotonic()
    client.get_manifest("proxy/subject", "v1")
    assert time.monotonic() - started >= max(0.15, baseline)


@pytest.mark.parametrize("honest", [False, True])
def test_truncate_cuts_the_body(proxied, seeded, honest):
    proxy, client = proxied
    proxy.truncate(path="/blobs/", keep=0.5, honest_length=honest)
    digest = seeded.layer_digests[0]
    if honest:
        body = client.get_blob("proxy/subject", digest).content
        assert len(body) == len(seeded.layer_bytes[0]) // 2
    else:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get_blob("proxy/subject", digest)


def test_redirect_to_another_host_is_served_and_recorded(
    proxied, seeded, redirect_recorder, registry_token
):
    proxy, client = proxied
    recorder = redirect_recorder(registry_token)
    proxy.redirect_to(recorder.url)
    digest = seeded.layer_digests[0]
    response = client.get_blob("proxy/subject", digest)  # httpx drops auth across hosts
    assert response.history[0].status_code == 307
    assert response.history[0].headers["Location"].startswith("http://localhost:")
    assert sha256_digest(response.content) == digest
    assert recorder.authorization_headers() == []
    # A client that leaks its credentials on redirect is caught:
    leaked = httpx.get(
        recorder.url + f"/v2/proxy/subject/blobs/{digest}",
        headers={"Authorization": client._auth["proxy/subject"]},
    )
    assert leaked.status_code == 200
    assert recorder.authorization_headers() == [client._auth["proxy/subject"]]


def test_faults_can_be_limited_matched_and_cleared(proxied):
    proxy, client = proxied
    proxy.status_then_ok(500, times=5, method="HEAD")
    assert client.get_manifest("proxy/subject", "v1").status_code == 200  # GET does not match
    proxy.status_then_ok(503, times=5, path="/tags/")
    assert client.get_manifest("proxy/subject", "v1").status_code == 200  # path does not match
    proxy.status_then_ok(502, times=5, path="/manifests/")
    assert client.get_manifest("proxy/subject", "v1").status_code == 502
    proxy.clear()
    assert proxy.faults == []
    assert client.get_manifest("proxy/subject", "v1").status_code == 200


def test_proxy_serves_tls_with_the_test_ca_and_many_concurrent_clients(
    fault_proxy, registry_http, seeded, test_ca
):
    image = push_image(registry_http, "proxy/tls", "v1")
    proxy = fault_proxy(registry_http, tls=True)
    assert proxy.url.startswith("https://") and proxy.ca_file == test_ca.ca_file
    with RegistryClient(proxy) as client, ThreadPoolExecutor(8) as pool:
        digests = list(
            pool.map(
                lambda _: client.get_manifest("proxy/tls", "v1").headers["Docker-Content-Digest"],
                range(120),
            )
        )
    assert set(digests) == {image.digest}
    assert proxy.count("GET", "/manifests/") == 120
