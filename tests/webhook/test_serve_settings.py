"""``webhook serve``'s settings: flags and config keys are one set; bad input stops it cleanly."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from .process import ROOT

SECRET = "s3cr3t-Pa55"
GOOD = {
    "auths": {
        "registry.example.com": {"auth": base64.b64encode(b"bob:" + SECRET.encode()).decode()}
    }
}

BAD_PULL_SECRETS = [
    # (case, file content, message after "FILE")
    ("auths is a list", json.dumps({"auths": [{"registry.example.com": {"auth": "eA=="}}]}),
     ": auths must map each registry to its credentials, not be a list"),
    ("auths is empty list", '{"auths": []}',
     ": auths must map each registry to its credentials, not be a list"),
    ("entry is a string", json.dumps({"auths": {"r.example.com": SECRET}}),
     ": auths[r.example.com] must be an object, not a string"),
    ("auth is a number", json.dumps({"auths": {"r.example.com": {"auth": 5}}}),
     ": auths[r.example.com].auth must be a string, not a number"),
    ("password is a list",
     json.dumps({"auths": {"r.example.com": {"username": "u", "password": [SECRET]}}}),
     ": auths[r.example.com].password must be a string, not a list"),
    ("auth not base64", json.dumps({"auths": {"r.example.com": {"auth": SECRET + "!"}}}),
     ": auths[r.example.com].auth is not base64 of user:password"),
    ("not JSON", "{\n  'auths': {}\n}\n", ":2: pull secret is not JSON"),
    ("a list", "[]", ": pull secret must be a JSON object, not a list"),
    ("still base64", base64.b64encode(json.dumps(GOOD).encode()).decode() + "\n",
     ": pull secret is base64-encoded: pass the file of the mounted Secret, "
     "or decode its .dockerconfigjson value (base64 -d)"),
]  # fmt: skip


def _serve(test_ca, *args: str) -> subprocess.CompletedProcess[str]:
    cert, key = test_ca.server_files("127.0.0.1")
    return subprocess.run(
        [sys.executable, "-m", "imgdigest", "webhook", "serve", "--tls-cert", cert,
         "--tls-key", key, "--listen", "127.0.0.1:0", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"), [c[1:] for c in BAD_PULL_SECRETS], ids=[c[0] for c in BAD_PULL_SECRETS]
)
def test_a_malformed_pull_secret_stops_serve_with_one_line(test_ca, tmp_path, content, message):
    path = tmp_path / ".dockerconfigjson"
    path.write_text(content)
    done = _serve(test_ca, "--pull-secret", str(path))
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"imgdigest: error: {path}{message}\n"
    assert SECRET not in done.stdout + done.stderr


def test_a_well_formed_pull_secret_lets_the_server_start(webhook_process, tmp_path):
    path = tmp_path / ".dockerconfigjson"
    path.write_text(json.dumps(GOOD))
    server = webhook_process("--pull-secret", str(path))
    assert server.client.get(server.url + "/readyz").status_code == 200
