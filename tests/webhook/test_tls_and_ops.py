"""Certificates (rotation without restart, ``webhook certs``), health and metrics."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography import x509

from tests.harness import TestCA

from .process import ROOT, WebhookProcess
from .reviews import admission_review, answer, workload


def _served_certificate(port: int, ca_file: str) -> x509.Certificate:
    ctx = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        ctx.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der)


def test_a_rotated_certificate_is_served_without_a_restart(webhook_process, test_ca, tmp_path):
    first = test_ca.server_files("localhost", "127.0.0.1")
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    shutil.copy(first[0], cert), shutil.copy(first[1], key)
    server = webhook_process(cert_files=(str(cert), str(key)))
    before = _served_certificate(server.port, test_ca.ca_file)
    pid = server.proc.pid
    # cert-manager renews: a new pair from a new CA, written over the mounted files.
    other = TestCA(tmp_path / "ca2")
    second = other.server_files("localhost", "127.0.0.1")
    shutil.copy(second[1], key), shutil.copy(second[0], cert)
    deadline = time.monotonic() + 10
    after = before
    while time.monotonic() < deadline and after.serial_number == before.serial_number:
        time.sleep(0.25)
        after = _served_certificate(server.port, other.ca_file) if _ready(server, other) else before
    assert after.serial_number != before.serial_number
    assert server.proc.pid == pid and server.proc.poll() is None
    metrics = httpx.get(server.url + "/metrics", verify=other.client_context()).text
    assert re.search(r"^imgdigest_webhook_certificate_reloads_total 1\.0$", metrics, re.M)
    other.cleanup()


def _ready(server: WebhookProcess, ca: TestCA) -> bool:
    try:
        _served_certificate(server.port, ca.ca_file)
    except ssl.SSLError:
        return False
    return True


def test_a_half_written_rotation_keeps_the_old_pair(webhook_process, test_ca, tmp_path):
    first = test_ca.server_files("localhost", "127.0.0.1")
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    shutil.copy(first[0], cert), shutil.copy(first[1], key)
    server = webhook_process(cert_files=(str(cert), str(key)))
    key.write_text("-----BEGIN PRIVATE KEY-----\ntruncated")
    time.sleep(2.5)  # one reload check
    review = admission_review(workload("Pod", "nginx"))
    assert answer(review, server.post("/validate", review))["allowed"] is False


def test_webhook_certs_writes_a_pair_the_server_serves_for_the_service_name(tmp_path, test_ca):
    out = tmp_path / "certs"
    done = subprocess.run(
        [sys.executable, "-m", "imgdigest", "webhook", "certs", "--service", "imgdigest-webhook",
         "--namespace", "imgdigest-system", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    assert sorted(Path(p).name for p in done.stdout.split()) == [
        "ca.crt",
        "cabundle-patch.yaml",
        "tls.crt",
        "tls.key",
    ]
    assert (out / "tls.key").stat().st_mode & 0o777 == 0o600
    assert "BEGIN" not in done.stdout + done.stderr  # no key material printed
    cert = x509.load_pem_x509_certificate((out / "tls.crt").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [
        "imgdigest-webhook",
        "imgdigest-webhook.imgdigest-system",
        "imgdigest-webhook.imgdigest-system.svc",
        "imgdigest-webhook.imgdigest-system.svc.cluster.local",
    ]
    # The API server's view: trust only the caBundle, call the Service's DNS name.
    pair = (str(out / "tls.crt"), str(out / "tls.key"))
    # The probe client cannot name the Service at 127.0.0.1; the handshake below checks it.
    with WebhookProcess(test_ca, cert_files=pair, verify=False) as server:
        ctx = ssl.create_default_context(cafile=str(out / "ca.crt"))
        with (
            socket.create_connection(("127.0.0.1", server.port)) as sock,
            ctx.wrap_socket(sock, server_hostname="imgdigest-webhook.imgdigest-system.svc") as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    import base64

    import yaml

    patches = list(yaml.safe_load_all((out / "cabundle-patch.yaml").read_text()))
    assert [p["kind"] for p in patches] == [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ]
    for p in patches:
        bundle = p["webhooks"][0]["clientConfig"]["caBundle"]
        assert base64.b64decode(bundle) == (out / "ca.crt").read_bytes()


def test_metrics_count_requests_by_endpoint_and_verdict(webhook_factory):
    server = webhook_factory("--enforce", "warn", "--exempt-namespace", "ops")
    for obj, ns in ((workload("Pod", "nginx"), "default"), (workload("Pod", "nginx"), "ops")):
        review = admission_review(obj, namespace=ns)
        answer(review, server.post("/validate", review))
    server.post("/validate", b"nope")
    text = server.client.get(server.url + "/metrics").text
    for line in (
        'imgdigest_webhook_requests_total{endpoint="validate",verdict="warned"} 1.0',
        'imgdigest_webhook_requests_total{endpoint="validate",verdict="skipped"} 1.0',
        'imgdigest_webhook_requests_total{endpoint="validate",verdict="invalid"} 1.0',
        'imgdigest_webhook_request_duration_seconds_count{endpoint="validate"} 3.0',
    ):
        assert line in text.splitlines()


def test_registry_requests_and_cache_hits_are_counted(webhook_process, registry_http, unique_repo):
    from tests.harness import push_image

    push_image(registry_http, unique_repo, "v1")
    server = webhook_process("--insecure", registry_http.host)
    for _ in range(3):
        review = admission_review(workload("Pod", f"{registry_http.host}/{unique_repo}:v1"))
        assert answer(review, server.post("/mutate", review))["allowed"] is True
    text = server.client.get(server.url + "/metrics").text
    assert "imgdigest_webhook_cache_hits_total 2.0" in text
    assert "imgdigest_webhook_cache_misses_total 1.0" in text
    host = re.escape(registry_http.host)
    counted = rf'^imgdigest_webhook_registry_requests_total{{registry="{host}",status="200"}} [1-9]'
    assert re.search(counted, text, re.M)


def test_serve_refuses_a_missing_certificate_with_a_one_line_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "imgdigest", "webhook", "serve",
         "--tls-cert", str(tmp_path / "no.crt"), "--tls-key", str(tmp_path / "no.key"),
         "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("imgdigest: error: ") and "Traceback" not in done.stderr
    assert "no.crt" in done.stderr
