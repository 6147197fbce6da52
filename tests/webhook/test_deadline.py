"""A registry that stalls or crawls must not hold an answer past the budget."""

from __future__ import annotations

import time

import pytest

from tests.harness import push_image

from .reviews import admission_review, answer, patched, workload

BUDGET = 1.0
TIMEOUT_SECONDS = 3.0  # the API server would give up here


@pytest.mark.parametrize(
    ("outcome", "allowed"), [("deny", False), ("allow", True)], ids=["fail-closed", "fail-open"]
)
def test_stalled_registry_gets_the_configured_outcome_within_the_budget(
    webhook_process, registry_http, fault_proxy, unique_repo, outcome, allowed
):
    proxy = fault_proxy(registry_http)
    push_image(registry_http, unique_repo, "v1")
    proxy.stall(path="/manifests/", max_stall=30)
    server = webhook_process(
        "--insecure", proxy.host, "--timeout-seconds", str(TIMEOUT_SECONDS),
        "--budget", str(BUDGET), "--timeout", "20", "--on-resolve-error", outcome,
    )  # fmt: skip
    ref = f"{proxy.host}/{unique_repo}:v1"
    review = admission_review(workload("Deployment", ref))
    started = time.monotonic()
    resp = answer(review, server.post("/mutate", review))
    elapsed = time.monotonic() - started
    # It waited for the registry as long as allowed, and answered well before the API
    # server's timeout (the upper bound leaves room for a loaded test machine).
    assert BUDGET * 0.9 <= elapsed < TIMEOUT_SECONDS - 1.0
    assert resp["allowed"] is allowed
    text = resp["status"]["message"] if not allowed else resp["warnings"][0]
    assert "did not answer within the 1.0s admission budget" in text
    assert "patch" not in resp


def test_a_lookup_that_missed_the_budget_still_fills_the_cache(
    webhook_process, registry_http, fault_proxy, unique_repo
):
    proxy = fault_proxy(registry_http)
    pushed = push_image(registry_http, unique_repo, "slow")
    proxy.delay(1500, path="/manifests/")
    server = webhook_process("--insecure", proxy.host, "--timeout-seconds", "3", "--budget", "0.5")
    obj = workload("Pod", f"{proxy.host}/{unique_repo}:slow")
    first = admission_review(obj)
    assert answer(first, server.post("/mutate", first))["allowed"] is False
    time.sleep(1.5)  # the lookup lands after the answer went out
    retry = admission_review(obj)  # the API server retries the request
    started = time.monotonic()
    resp = answer(retry, server.post("/mutate", retry))
    assert time.monotonic() - started < 0.5
    assert patched(obj, resp)["spec"]["containers"][0]["image"].endswith(pushed.digest)


def test_validate_never_waits_for_a_registry(webhook_process, registry_http, fault_proxy):
    proxy = fault_proxy(registry_http)
    proxy.stall(max_stall=30)
    server = webhook_process("--insecure", proxy.host, "--budget", "1")
    review = admission_review(workload("Pod", f"{proxy.host}/any:1"))
    started = time.monotonic()
    resp = answer(review, server.post("/validate", review))
    assert time.monotonic() - started < 0.5
    assert resp["allowed"] is False
    assert proxy.count() == 0
