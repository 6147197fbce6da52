"""/mutate: pins tags through the real test registry; the patch is applied with jsonpatch."""

from __future__ import annotations

import base64
import concurrent.futures
import json

import pytest

from tests.harness import push_image, push_index

from .reviews import admission_review, answer, patch_of, patched, workload

WORKLOAD_KINDS = [
    "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
    "PodTemplate", "ReplicationController",
]  # fmt: skip


@pytest.fixture
def image(registry_http, unique_repo):
    """A pushed single-platform image: (reference with tag, its digest)."""
    pushed = push_image(registry_http, unique_repo, "v1")
    return f"{registry_http.host}/{unique_repo}:v1", pushed.digest


def _images(obj):
    from imgdigest.kubernetes import image_slots

    return [s.image for s in image_slots(obj)]


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_every_kind_is_pinned_keeping_the_tag(mutating, image, kind):
    ref, digest = image
    obj = workload(kind, ref, init=(ref,))
    review = admission_review(obj)
    resp = answer(review, mutating.post("/mutate", review))
    assert resp["allowed"] is True
    after = patched(obj, resp)
    assert _images(after) == [f"{ref}@{digest}", f"{ref}@{digest}"]
    # Nothing but the image strings changed.
    assert {op["op"] for op in patch_of(resp)} == {"replace"}
    assert all(op["path"].endswith("/image") for op in patch_of(resp))


def test_second_call_returns_no_patch(mutating, image):
    ref, _ = image
    obj = workload("Deployment", ref)
    first = admission_review(obj)
    once = patched(obj, answer(first, mutating.post("/mutate", first)))
    second = admission_review(once)
    resp = answer(second, mutating.post("/mutate", second))
    assert resp == {"uid": second["request"]["uid"], "allowed": True}


def test_pinned_and_exempt_images_are_left_alone(webhook_factory, registry_http, image):
    ref, digest = image
    server = webhook_factory(
        "--insecure", registry_http.host, "--exempt", f"{registry_http.host}/t/keep*"
    )
    pinned = f"nginx@sha256:{'cd' * 32}"
    exempt = f"{registry_http.host}/t/keep-me:latest"
    obj = workload("Deployment", pinned, exempt, ref)
    review = admission_review(obj)
    resp = answer(review, server.post("/mutate", review))
    assert patch_of(resp) == [
        {
            "op": "replace",
            "path": "/spec/template/spec/containers/2/image",
            "value": f"{ref}@{digest}",
        }
    ]


def test_only_configured_images_are_pinned(webhook_factory, registry_http, image):
    ref, digest = image
    server = webhook_factory("--insecure", registry_http.host, "--pin", f"{registry_http.host}/*")
    obj = workload("Pod", "example.invalid/other:1", ref)
    review = admission_review(obj)
    resp = answer(review, server.post("/mutate", review))
    assert _images(patched(obj, resp)) == ["example.invalid/other:1", f"{ref}@{digest}"]


def test_index_digest_by_default_and_platform_digest_when_configured(
    webhook_factory, mutating, registry_http, unique_repo
):
    idx = push_index(registry_http, unique_repo, "multi")
    ref = f"{registry_http.host}/{unique_repo}:multi"
    obj = workload("Pod", ref)
    review = admission_review(obj)
    assert _images(patched(obj, answer(review, mutating.post("/mutate", review)))) == [
        f"{ref}@{idx.digest}"
    ]
    arm = webhook_factory("--insecure", registry_http.host, "--platform", "linux/arm64")
    resp = answer(review, arm.post("/mutate", review))
    assert _images(patched(obj, resp)) == [f"{ref}@{idx.child('linux', 'arm64', 'v8').digest}"]


def test_update_keeps_the_old_digest_when_the_tag_text_is_unchanged(
    mutating, registry_http, unique_repo
):
    first = push_image(registry_http, unique_repo, "stable", seed="one")
    ref = f"{registry_http.host}/{unique_repo}:stable"
    old = workload("Deployment", f"{ref}@{first.digest}")
    # The tag moves; a GitOps tool re-applies the tag-only manifest.
    push_image(registry_http, unique_repo, "stable", seed="two")
    new = workload("Deployment", ref)
    review = admission_review(new, "UPDATE", old=old)
    resp = answer(review, mutating.post("/mutate", review))
    assert _images(patched(new, resp)) == [f"{ref}@{first.digest}"]


def test_update_with_a_new_tag_resolves_it(mutating, registry_http, unique_repo):
    v1 = push_image(registry_http, unique_repo, "v1")
    v2 = push_image(registry_http, unique_repo, "v2")
    base = f"{registry_http.host}/{unique_repo}"
    old = workload("Deployment", f"{base}:v1@{v1.digest}")
    new = workload("Deployment", f"{base}:v2")
    review = admission_review(new, "UPDATE", old=old)
    resp = answer(review, mutating.post("/mutate", review))
    assert _images(patched(new, resp)) == [f"{base}:v2@{v2.digest}"]


def test_dry_run_is_answered_the_same(mutating, image):
    ref, _ = image
    obj = workload("Pod", ref)
    real, dry = admission_review(obj), admission_review(obj, dry_run=True)
    a = answer(real, mutating.post("/mutate", real))
    b = answer(dry, mutating.post("/mutate", dry))
    assert patch_of(a) == patch_of(b) != []


def test_unknown_tag_is_denied_by_default_and_allowed_unpinned_when_configured(
    webhook_factory, mutating, registry_http, unique_repo
):
    ref = f"{registry_http.host}/{unique_repo}:missing"
    review = admission_review(workload("Pod", ref))
    denied = answer(review, mutating.post("/mutate", review))
    assert denied["allowed"] is False
    assert denied["status"]["message"].startswith(f"container <c0> cannot be pinned <{ref}>")
    lenient = webhook_factory("--insecure", registry_http.host, "--on-resolve-error", "allow")
    allowed = answer(review, lenient.post("/mutate", review))
    assert allowed["allowed"] is True and "patch" not in allowed
    assert allowed["warnings"][0].startswith(f"container <c0> cannot be pinned <{ref}>")


def test_concurrent_requests_for_one_tag_share_one_registry_request(
    webhook_process, registry_http, fault_proxy, unique_repo
):
    proxy = fault_proxy(registry_http)
    pushed = push_image(registry_http, unique_repo, "burst")
    proxy.delay(300, path="/manifests/")
    server = webhook_process("--insecure", proxy.host)
    ref = f"{proxy.host}/{unique_repo}:burst"
    reviews = [admission_review(workload("Pod", ref, name=f"p{i}")) for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        resps = list(pool.map(lambda r: answer(r, server.post("/mutate", r)), reviews))
    assert all(
        _images(patched(workload("Pod", ref), r)) == [f"{ref}@{pushed.digest}"] for r in resps
    )
    assert proxy.count(path=f"/v2/{unique_repo}/manifests/") == 1
    # And later ones come from the cache.
    again = admission_review(workload("Pod", ref))
    answer(again, server.post("/mutate", again))
    assert proxy.count(path=f"/v2/{unique_repo}/manifests/") == 1


def test_credentials_come_from_a_mounted_dockerconfigjson_secret(
    webhook_process, registry_basic, unique_repo, tmp_path
):
    pushed = push_image(registry_basic, unique_repo, "private")
    ref = f"{registry_basic.host}/{unique_repo}:private"
    review = admission_review(workload("Pod", ref))
    # Without the Secret the registry refuses, and the refusal is the answer.
    anonymous = webhook_process("--ca-file", registry_basic.ca_file)
    denied = answer(review, anonymous.post("/mutate", review))
    assert denied["allowed"] is False
    assert registry_basic.password not in denied["status"]["message"]
    # The Secret's key, as kubelet mounts it.
    secret = tmp_path / "pull" / ".dockerconfigjson"
    secret.parent.mkdir()
    auth = base64.b64encode(f"{registry_basic.username}:{registry_basic.password}".encode())
    secret.write_text(json.dumps({"auths": {registry_basic.host: {"auth": auth.decode()}}}))
    server = webhook_process("--ca-file", registry_basic.ca_file, "--pull-secret", str(secret))
    resp = answer(review, server.post("/mutate", review))
    assert _images(patched(workload("Pod", ref), resp)) == [f"{ref}@{pushed.digest}"]
    assert registry_basic.password not in server.log()


def test_a_malformed_digest_is_left_alone_by_default_and_reported_under_strict(
    webhook_factory, validating
):
    """Gatekeeper's rule calls ``nginx@sha256:abc`` pinned; the strict one does not, and
    mutate says so in ``/validate``'s words instead of replacing a digest the user wrote."""
    review = admission_review(workload("Pod", "nginx@sha256:abc"))
    lenient = answer(review, validating.post("/mutate", review))
    assert lenient == {"uid": review["request"]["uid"], "allowed": True}
    strict = webhook_factory("--strict")
    denied = answer(review, strict.post("/mutate", review))
    assert denied["allowed"] is False and "patch" not in denied
    assert (
        denied["status"]["message"]
        == "container <c0> uses an image with an invalid digest <nginx@sha256:abc>"
    )
    warned = answer(
        review, webhook_factory("--strict", "--on-resolve-error", "allow").post("/mutate", review)
    )
    assert warned["allowed"] is True and "patch" not in warned
    assert warned["warnings"] == [
        "container <c0> uses an image with an invalid digest <nginx@sha256:abc>"
    ]


def test_under_strict_an_old_malformed_digest_is_not_kept():
    from imgdigest.webhook.mutate import old_pins

    old = workload("Pod", "nginx@sha256:abc")
    assert list(old_pins(old).values()) == ["nginx@sha256:abc"]
    assert old_pins(old, strict=True) == {}
