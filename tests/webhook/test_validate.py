"""/validate: check's verdicts and messages on what the API server sends."""

from __future__ import annotations

import pytest

from .reviews import admission_review, answer, workload

DIGEST = "sha256:" + "ab" * 32
WORKLOAD_KINDS = [
    "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
    "PodTemplate", "ReplicationController",
]  # fmt: skip


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_every_kind_with_a_pod_spec_is_refused_with_checks_message(validating, kind):
    review = admission_review(workload(kind, "nginx:1.25", f"redis@{DIGEST}"))
    resp = answer(review, validating.post("/validate", review))
    assert resp["allowed"] is False
    assert resp["status"]["code"] == 403
    assert resp["status"]["message"] == "container <c0> uses an image without a digest <nginx:1.25>"


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_every_kind_with_only_digests_is_allowed(validating, kind):
    review = admission_review(workload(kind, f"nginx:1.25@{DIGEST}", f"redis@{DIGEST}"))
    resp = answer(review, validating.post("/validate", review))
    assert resp == {"uid": review["request"]["uid"], "allowed": True}


def test_all_violations_of_an_object_are_listed_in_order(validating):
    obj = workload("Deployment", "a:1", "b", init=("c:2",))
    review = admission_review(obj)
    resp = answer(review, validating.post("/validate", review))
    assert resp["status"]["message"] == "; ".join(
        [
            "initContainer <i0> uses an image without a digest <c:2>",
            "container <c0> uses an image without a digest <a:1>",
            "container <c1> uses an image without a digest <b>",
        ]
    )


SKIP = "imgdigest.dev/skip"
CASES = [
    # (description, object, namespace, operation, allowed)
    ("exempted image prefix", workload("Pod", "registry.k8s.io/pause:3.9"),
     "default", "CREATE", True),
    ("exempted namespace", workload("Pod", "nginx"), "kube-system", "CREATE", True),
    ("opt-out label", workload("Pod", "nginx", metadata={"labels": {SKIP: "true"}}),
     "default", "CREATE", True),
    ("opt-out annotation", workload("Pod", "nginx", metadata={"annotations": {SKIP: "true"}}),
     "default", "CREATE", True),
    ("opt-out label set to false still judged",
     workload("Pod", "nginx", metadata={"labels": {SKIP: "false"}}), "default", "CREATE", False),
    ("kind without images", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                             "data": {"image": "nginx"}}, "default", "CREATE", True),
    ("update judged like create", workload("Pod", "nginx"), "default", "UPDATE", False),
    ("short digest passes as in the Gatekeeper template", workload("Pod", "nginx@sha256:abc"),
     "default", "CREATE", True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("obj", "namespace", "operation", "allowed"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_scope_and_exemptions(validating, obj, namespace, operation, allowed):
    old = obj if operation == "UPDATE" else None
    review = admission_review(obj, operation, old=old, namespace=namespace)
    resp = answer(review, validating.post("/validate", review))
    assert resp["allowed"] is allowed


@pytest.mark.parametrize("endpoint", ["/validate", "/mutate"])
@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
def test_delete_and_connect_are_allowed_untouched(validating, operation, endpoint):
    old = workload("Pod", "127.0.0.1:9/nginx")
    review = admission_review(old, operation, old=old)
    review["request"]["object"] = None
    resp = answer(review, validating.post(endpoint, review))
    assert resp == {"uid": review["request"]["uid"], "allowed": True}


def test_status_subresource_is_not_judged_but_ephemeral_containers_are(validating):
    pod = workload("Pod", f"nginx@{DIGEST}")
    pod["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox"}]
    status = admission_review(pod, "UPDATE", old=pod, sub_resource="status")
    assert answer(status, validating.post("/validate", status))["allowed"] is True
    ephemeral = admission_review(pod, "UPDATE", old=pod, sub_resource="ephemeralcontainers")
    resp = answer(ephemeral, validating.post("/validate", ephemeral))
    assert resp["status"]["message"] == (
        "ephemeralContainer <debug> uses an image without a digest <busybox>"
    )


def test_dry_run_gets_the_same_answer(validating):
    obj = workload("Deployment", "nginx:1.25")
    real, dry = admission_review(obj), admission_review(obj, dry_run=True)
    a = answer(real, validating.post("/validate", real))
    b = answer(dry, validating.post("/validate", dry))
    a.pop("uid"), b.pop("uid")
    assert a == b and a["allowed"] is False


def test_warn_mode_allows_with_the_messages_as_warnings(webhook_factory):
    server = webhook_factory("--enforce", "warn")
    review = admission_review(workload("Deployment", "nginx:1.25", "redis"))
    resp = answer(review, server.post("/validate", review))
    assert resp["allowed"] is True
    assert resp["warnings"] == [
        "container <c0> uses an image without a digest <nginx:1.25>",
        "container <c1> uses an image without a digest <redis>",
    ]
    assert "status" not in resp


def test_strict_mode_refuses_a_short_digest(webhook_factory):
    server = webhook_factory("--strict")
    review = admission_review(workload("Pod", "nginx@sha256:abc"))
    resp = answer(review, server.post("/validate", review))
    assert resp["allowed"] is False
    assert (
        resp["status"]["message"]
        == "container <c0> uses an image with an invalid digest <nginx@sha256:abc>"
    )
