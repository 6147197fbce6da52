"""``/metrics`` stays small whatever registries submitted pods name."""

from __future__ import annotations

import re
import time

from imgdigest.webhook.metrics import MAX_REGISTRY_LABELS

from .reviews import admission_review, answer, workload

HOSTS = 1500
PER_REVIEW = 100


def _series(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_registry_labels_are_bounded_whatever_pods_name(webhook_process):
    # Every host is a closed loopback port: each lookup fails at once, one request each.
    server = webhook_process("--retries", "0", "--timeout", "2")
    hosts = [f"127.0.{i // 250}.{i % 250 + 1}:9" for i in range(HOSTS)]
    for start in range(0, HOSTS, PER_REVIEW):
        images = [f"{host}/app:1" for host in hosts[start : start + PER_REVIEW]]
        review = admission_review(workload("Pod", *images))
        assert answer(review, server.post("/mutate", review))["allowed"] is False
    deadline = time.monotonic() + 60
    while True:  # lookups may outlive the answers: wait until all are counted
        text = server.client.get(server.url + "/metrics").text
        done = re.search(r"^imgdigest_webhook_resolve_errors_total\{[^}]*\} (\d+)", text, re.M)
        if (done and int(done[1]) >= HOSTS) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    labels = set(re.findall(r'registry="([^"]*)"', text))
    assert len(labels) == MAX_REGISTRY_LABELS + 1 and "other" in labels
    assert labels - {"other"} <= set(hosts)
    series = _series(text)
    # Each registry label costs 19 series here (1 status, errors, 17 histogram series).
    assert len(series) <= 150 + 19 * (MAX_REGISTRY_LABELS + 1), len(series)
    # Nothing is lost: ``other`` counts the requests of every host beyond the bound.
    requests = r'^imgdigest_webhook_registry_requests_total{registry="([^"]+)",status="0"} (\S+)'
    counts = dict(re.findall(requests, text, re.M))
    per_host = {float(v) for k, v in counts.items() if k != "other"}
    assert len(per_host) == 1  # every lookup made the same requests (1 or 2 attempts)
    assert float(counts["other"]) == per_host.pop() * (HOSTS - MAX_REGISTRY_LABELS)
