"""Bodies the API server would never send get a 4xx or a well-formed answer, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .reviews import admission_review, answer, workload

ENVELOPE = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}

BAD_ENVELOPES = [
    # (description, body, status, text in the answer)
    ("not JSON", b"{not json", 400, "not JSON"),
    ("not UTF-8", b"\xff\xfe\x00", 400, "not JSON"),
    ("empty", b"", 400, "not JSON"),
    ("JSON array", b"[]", 400, "not a JSON object"),
    ("wrong kind", json.dumps({**ENVELOPE, "kind": "Pod"}).encode(), 400, "kind must be"),
    ("v1beta1", json.dumps({**ENVELOPE, "apiVersion": "admission.k8s.io/v1beta1"}).encode(),
     400, "apiVersion must be"),
    ("missing request", json.dumps(ENVELOPE).encode(), 400, "has no request"),
    ("request not an object", json.dumps({**ENVELOPE, "request": []}).encode(),
     400, "has no request"),
    ("missing uid", json.dumps({**ENVELOPE, "request": {"operation": "CREATE"}}).encode(),
     400, "uid"),
    ("unknown operation", json.dumps({**ENVELOPE, "request": {"uid": "u", "operation": "PATCH",
                                                               "kind": {"kind": "Pod"}}}).encode(),
     400, "operation"),
    ("deeply nested", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400, "nests too deeply"),
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ["/validate", "/mutate"])
@pytest.mark.parametrize(
    ("body", "status", "text"), [c[1:] for c in BAD_ENVELOPES], ids=[c[0] for c in BAD_ENVELOPES]
)
def test_bad_envelopes_get_400_with_the_reason(validating, endpoint, body, status, text):
    resp = validating.post(endpoint, body)
    assert resp.status_code == status
    assert text in resp.text


def test_a_body_over_the_limit_gets_413_before_it_is_read(validating):
    huge = admission_review(workload("Pod", "nginx"))
    huge["request"]["object"]["metadata"]["annotations"] = {"big": "x" * (9 * 1024 * 1024)}
    resp = validating.post("/validate", huge)
    assert resp.status_code == 413


def test_a_large_object_within_the_limit_is_judged(validating):
    obj = workload("Pod", *[f"img{i}:1" for i in range(2000)])
    review = admission_review(obj)
    resp = answer(review, validating.post("/validate", review))
    assert resp["allowed"] is False
    assert resp["status"]["message"].count("uses an image without a digest") == 2000


ODD_OBJECTS = [
    ("non-string image", {"kind": "Pod", "spec": {"containers": [{"name": "a", "image": 42}]}},
     False),
    ("null image", {"kind": "Pod", "spec": {"containers": [{"name": "a", "image": None}]}}, False),
    ("containers is a string", {"kind": "Pod", "spec": {"containers": "nginx"}}, True),
    ("spec is a list", {"kind": "Pod", "spec": []}, True),
    ("container is a number", {"kind": "Pod", "spec": {"containers": [7]}}, True),
    ("object is a string", "Pod", None),
    ("object is missing", None, None),
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ["/validate", "/mutate"])
@pytest.mark.parametrize(
    ("obj", "allowed"), [c[1:] for c in ODD_OBJECTS], ids=[c[0] for c in ODD_OBJECTS]
)
def test_odd_objects_get_a_well_formed_answer(validating, endpoint, obj, allowed):
    review = admission_review(None, kind="Pod")
    review["request"]["object"] = obj
    resp = answer(review, validating.post(endpoint, review))
    if allowed is None:  # nothing to review on a CREATE: a denial that says so
        assert resp["allowed"] is False
        assert (resp["status"]["code"], resp["status"]["reason"]) == (400, "BadRequest")
        assert "has no object" in resp["status"]["message"]
    elif endpoint == "/validate":
        assert resp["allowed"] is allowed
    else:
        assert resp["allowed"] is True and "patch" not in resp  # nothing pinnable


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/validate", 405), ("PUT", "/mutate", 405), ("POST", "/healthz", 405),
    ("GET", "/nope", 404), ("GET", "/healthz", 200), ("GET", "/readyz", 200),
])  # fmt: skip
def test_routes_and_methods(validating, method, path, status):
    assert validating.client.request(method, validating.url + path).status_code == status


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
images = st.one_of(
    st.sampled_from(["nginx", "nginx:1.25", f"nginx@sha256:{'a' * 64}", "a/b:c@sha256:x", "@", ""]),
    st.text(max_size=30),
    json_values,
)
containers = st.lists(
    st.fixed_dictionaries({"name": st.one_of(st.text(max_size=10), json_values), "image": images}),
    max_size=4,
)
kinds = st.sampled_from(["Pod", "Deployment", "CronJob", "Job", "ConfigMap", "Widget", ""])


@st.composite
def reviews(draw):
    kind = draw(kinds)
    spec = {"containers": draw(containers), "initContainers": draw(containers)}
    obj = draw(st.sampled_from([
        {"kind": kind, "spec": spec},
        {"kind": kind, "spec": {"template": {"spec": spec}}},
        {"kind": kind, "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}},
    ]))  # fmt: skip
    if draw(st.booleans()):
        obj["metadata"] = draw(json_values)
    review = admission_review(
        obj,
        draw(st.sampled_from(["CREATE", "UPDATE", "DELETE", "CONNECT"])),
        old=draw(st.none() | st.just(obj)),
        kind=kind or "Pod",
    )
    review["request"]["dryRun"] = draw(st.sampled_from([True, False, None, "yes"]))
    if draw(st.booleans()):  # sometimes break the envelope too
        key = draw(st.sampled_from(["uid", "kind", "operation", "object", "namespace"]))
        review["request"][key] = draw(json_values)
    return review


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(review=reviews())
def test_fuzzed_reviews_never_get_a_500(validating, review):
    """Each generated review goes to both endpoints: 2,000 reviews per run."""
    for endpoint in ("/validate", "/mutate"):
        try:
            resp = validating.post(endpoint, review)
        except httpx.TransportError as exc:  # the server must never drop a connection
            raise AssertionError(f"connection failed: {exc}\n{validating.log()}") from exc
        assert resp.status_code in (200, 400), resp.text
        if resp.status_code == 200:
            status = answer(review, resp).get("status", {})
            # A crash answered inside the review is still a crash.
            assert status.get("code") != 500 and status.get("reason") != "InternalError", status
            assert "in the webhook)" not in status.get("message", ""), status
    assert validating.proc is not None and validating.proc.poll() is None


def test_the_fuzzed_server_counted_no_internal_error(validating):
    """Run after the fuzz test (same server): no review ended in the handlers' except."""
    metrics = validating.client.get(validating.url + "/metrics").text
    assert 'verdict="error"' not in metrics


def test_an_unexpected_failure_is_a_clear_denial_not_a_500(webhook_process):
    """A bug planted in the handlers (tests/webhook/faulty.py) fails closed, and says so."""
    server = webhook_process("--pin", "127.0.0.1:9/*", module="tests.webhook.faulty")
    for endpoint in ("/validate", "/mutate"):
        bad = admission_review(workload("Pod", "nginx", name="explode"))
        resp = answer(bad, server.post(endpoint, bad))
        uid = bad["request"]["uid"]
        assert resp["allowed"] is False
        assert resp["status"] == {
            "code": 403,
            "reason": "Forbidden",
            "message": "imgdigest webhook: could not review this Pod (KeyError in the webhook), "
            f"so it is refused; the webhook's log has the details (uid {uid})",
        }
        good = admission_review(workload("Pod", f"nginx@sha256:{'a' * 64}"))
        assert answer(good, server.post(endpoint, good)) == {
            "uid": good["request"]["uid"],
            "allowed": True,
        }
    assert "KeyError: 'planted'" in server.log()  # the details, for the operator
    metrics = server.client.get(server.url + "/metrics").text.splitlines()
    for endpoint in ("validate", "mutate"):
        assert f'imgdigest_webhook_requests_total{{endpoint="{endpoint}",verdict="error"}} 1.0' in (
            metrics
        )


def test_a_registry_failure_under_deny_is_a_clear_denial(
    webhook_process, registry_http, fault_proxy, unique_repo
):
    """Fail-closed on a resolver failure: a 403 naming the image and the registry's error."""
    from tests.harness import push_image

    proxy = fault_proxy(registry_http)
    push_image(registry_http, unique_repo, "v1")
    proxy.status_then_ok(500, times=1000, path="/manifests/")
    server = webhook_process("--insecure", proxy.host, "--retries", "0")  # deny: the default
    ref = f"{proxy.host}/{unique_repo}:v1"
    review = admission_review(workload("Deployment", ref))
    resp = answer(review, server.post("/mutate", review))
    assert resp["allowed"] is False and "patch" not in resp
    assert resp["status"] == {
        "code": 403,
        "reason": "Forbidden",
        "message": f"container <c0> cannot be pinned <{ref}>: {ref}: registry answered HTTP 500",
    }
