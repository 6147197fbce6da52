"""require_signature: the real HTTPS server denies digests without a valid cosign signature."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness import push_image, signing

from .reviews import admission_review, answer, patch_of, workload


@pytest.fixture
def scene(registry_http, unique_repo: str, tmp_path: Path, webhook_process):
    key = signing.new_key("p256")
    pub = tmp_path / "team.pub"
    pub.write_bytes(signing.public_pem(key))
    name = f"{registry_http.host}/{unique_repo}"
    signed = push_image(registry_http, unique_repo, "signed", seed="s")
    unsigned = push_image(registry_http, unique_repo, "unsigned", seed="u")
    layer = signing.signature_layer(key, signed.digest, name)
    signing.push_signatures(registry_http, unique_repo, signed.digest, [layer])
    server = webhook_process(
        "--insecure", registry_http.host, "--timeout", "5",
        "--require-signature", f"{name}*={pub}",
    )  # fmt: skip
    return server, name, signed, unsigned, pub


def _metric(server, name: str) -> float:
    text = server.client.get(server.url + "/metrics").text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_validate_admits_a_signed_digest_and_denies_an_unsigned_one(scene) -> None:
    server, name, signed, unsigned, pub = scene
    ok = admission_review(workload("Pod", f"{name}@{signed.digest}"))
    assert answer(ok, server.post("/validate", ok)) == {
        "uid": ok["request"]["uid"],
        "allowed": True,
    }
    bad = admission_review(workload("Deployment", f"{name}:unsigned@{unsigned.digest}"))
    resp = answer(bad, server.post("/validate", bad))
    assert resp["allowed"] is False
    assert resp["status"]["message"] == (
        f"container <c0> uses a digest without a valid signature <{name}:unsigned@"
        f"{unsigned.digest}>: no signature (key {pub})"
    )


def test_images_outside_the_patterns_are_not_asked_about(scene) -> None:
    server, *_ = scene
    other = "127.0.0.1:9/elsewhere@sha256:" + "ab" * 32  # nothing listens there
    review = admission_review(workload("Pod", other))
    assert answer(review, server.post("/validate", review))["allowed"] is True


def test_mutate_verifies_the_digest_it_pins(scene) -> None:
    server, name, signed, unsigned, _ = scene
    good = admission_review(workload("Pod", f"{name}:signed"))
    resp = answer(good, server.post("/mutate", good))
    assert resp["allowed"] is True
    assert [op["value"] for op in patch_of(resp)] == [f"{name}:signed@{signed.digest}"]
    bad = admission_review(workload("Pod", f"{name}:unsigned"))
    resp = answer(bad, server.post("/mutate", bad))
    assert resp["allowed"] is False
    assert resp["status"]["message"].startswith(
        f"container <c0> uses a digest without a valid signature <{name}:unsigned@"
        f"{unsigned.digest}>: no signature"
    )
    assert "patch" not in resp


def test_verdicts_are_cached_by_digest_and_counted(scene) -> None:
    server, name, signed, *_ = scene
    review = admission_review(workload("Pod", f"{name}@{signed.digest}"))
    for _ in range(3):
        assert answer(review, server.post("/validate", review))["allowed"] is True
    assert _metric(server, 'imgdigest_webhook_signature_verifications_total{result="valid"}') == 1
    assert _metric(server, "imgdigest_webhook_signature_cache_misses_total") == 1
    assert _metric(server, "imgdigest_webhook_signature_cache_hits_total") == 2


def test_an_unreadable_key_stops_the_server_at_start(tmp_path: Path, webhook_process) -> None:
    missing = tmp_path / "nope.pub"
    with pytest.raises(RuntimeError) as caught:
        webhook_process("--require-signature", f"registry.example/*={missing}")
    assert (
        f"imgdigest: error: require_signature: {missing}: cannot read the public key: "
        "No such file or directory"
    ) in str(caught.value)


def test_warn_mode_admits_with_the_message_as_a_warning(
    registry_http, unique_repo: str, tmp_path: Path, webhook_process
) -> None:
    pub = tmp_path / "team.pub"
    pub.write_bytes(signing.public_pem(signing.new_key("p256")))
    name = f"{registry_http.host}/{unique_repo}"
    unsigned = push_image(registry_http, unique_repo, "unsigned")
    server = webhook_process(
        "--insecure", registry_http.host, "--enforce", "warn",
        "--require-signature", f"{name}*={pub}",
    )  # fmt: skip
    review = admission_review(workload("Pod", f"{name}@{unsigned.digest}"))
    resp = answer(review, server.post("/validate", review))
    assert resp["allowed"] is True
    [warning] = resp["warnings"]  # cut to the API server's warning length, so a prefix
    assert warning.startswith(
        f"container <c0> uses a digest without a valid signature <{name}@{unsigned.digest}>: "
        "no signature"
    )


def test_a_registry_that_does_not_answer_in_time_fails_closed(
    registry_http, unique_repo: str, tmp_path: Path, webhook_process, fault_proxy
) -> None:
    key = signing.new_key("p256")
    pub = tmp_path / "team.pub"
    pub.write_bytes(signing.public_pem(key))
    signed = push_image(registry_http, unique_repo, "signed")
    layer = signing.signature_layer(key, signed.digest, f"{registry_http.host}/{unique_repo}")
    signing.push_signatures(registry_http, unique_repo, signed.digest, [layer])
    proxy = fault_proxy(registry_http)
    stall = proxy.stall(path=r"\.sig$", max_stall=20)
    name = f"{proxy.host}/{unique_repo}"
    server = webhook_process(
        "--insecure", proxy.host, "--timeout-seconds", "2", "--budget-seconds", "1",
        "--require-signature", f"{name}*={pub}",
    )  # fmt: skip
    review = admission_review(workload("Pod", f"{name}@{signed.digest}"))
    resp = answer(review, server.post("/validate", review))
    assert resp["allowed"] is False
    assert resp["status"]["message"] == (
        f"container <c0> uses a digest without a valid signature <{name}@{signed.digest}>: "
        "its signature could not be verified within the budget"
    )
    proxy.remove(stall)
