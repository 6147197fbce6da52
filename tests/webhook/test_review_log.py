"""One JSON line per review on stderr, at info level, with what an operator asks about."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.harness import push_image

from .process import WebhookProcess
from .reviews import admission_review, answer, workload


def _review_lines(server: WebhookProcess, expected: int = 0) -> list[dict[str, Any]]:
    """The review lines, once ``expected`` are there (a line follows its answer)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
        if len(lines) >= expected or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_each_review_is_logged_as_one_json_line(webhook_process, registry_http, unique_repo):
    push_image(registry_http, unique_repo, "v1")
    server = webhook_process("--log-level", "info", "--insecure", registry_http.host)
    image = f"{registry_http.host}/{unique_repo}:v1"
    name = "web\n\x1b[31mred\x00"  # control characters an attacker might hope to inject
    review = admission_review(workload("Deployment", image, image, name=name), namespace="team-a")
    assert answer(review, server.post("/mutate", review))["allowed"] is True
    server.post("/validate", b"{not json")

    lines = _review_lines(server, expected=2)
    assert len(lines) == 2, server.log()
    mutated, invalid = lines
    assert set(mutated) == {
        "time", "level", "msg", "endpoint", "status", "uid", "kind", "namespace", "name",
        "operation", "dry_run", "decision", "pinned", "latency_ms",
    }  # fmt: skip
    assert {k: mutated[k] for k in mutated if k not in ("time", "latency_ms")} == {
        "level": "info",
        "msg": "review",
        "endpoint": "mutate",
        "status": 200,
        "uid": review["request"]["uid"],
        "kind": "Deployment",
        "namespace": "team-a",
        "name": name,
        "operation": "CREATE",
        "dry_run": False,
        "decision": "patched",
        "pinned": 2,
    }
    assert 0 < mutated["latency_ms"] < 10_000
    assert mutated["time"].endswith("Z")
    assert invalid == {
        "time": invalid["time"],
        "level": "info",
        "msg": "review",
        "endpoint": "validate",
        "status": 400,
        "decision": "invalid",
        "pinned": 0,
        "latency_ms": invalid["latency_ms"],
        "error": "body is not JSON",
    }
    # The name's control characters are escaped by JSON, so the line stays one line.
    raw = next(line for line in server.log().splitlines() if '"endpoint": "mutate"' in line)
    assert "\\n\\u001b[31mred\\u0000" in raw and "\x1b" not in raw


def test_no_review_lines_above_info(webhook_process):
    server = webhook_process("--log-level", "warning")
    review = admission_review(workload("Pod", "nginx"))
    answer(review, server.post("/validate", review))
    time.sleep(0.5)  # time enough for a line to follow its answer
    assert _review_lines(server) == []
