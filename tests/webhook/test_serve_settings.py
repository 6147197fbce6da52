"""``webhook serve``'s settings: flags and config keys are one set; bad input stops it cleanly."""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
from dataclasses import fields

import pytest
import yaml

from imgdigest import platform as platforms
from imgdigest.cli.main import build_parser
from imgdigest.webhook.config import WebhookConfig, load

from .process import ROOT
from .reviews import admission_review, answer, workload

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


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise AssertionError(f"no subcommand {name}")


def test_every_setting_is_a_flag_and_every_flag_a_setting():
    serve = _subparser(_subparser(build_parser(["webhook"]), "webhook"), "serve")
    (group,) = [g for g in serve._action_groups if g.title == "settings"]
    flags = {action.dest: action for action in group._group_actions}
    keys = {f.name for f in fields(WebhookConfig)}
    assert set(flags) == keys
    for key, action in flags.items():
        assert "--" + key.replace("_", "-") in action.option_strings, key
        assert action.default is None, key  # only flags given override the file
        assert "default: " in action.help, key  # --help shows every default


def test_the_help_shows_the_defaults():
    done = subprocess.run(
        [sys.executable, "-m", "imgdigest", "webhook", "serve", "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=30, check=True,
    )  # fmt: skip
    text = " ".join(done.stdout.split())
    for shown in (
        "--enforce {deny,warn} refuse, or allow with warnings (default: deny)",
        '--opt-out KEY label or annotation that exempts an object when "true" '
        "(default: imgdigest.dev/skip)",
        "--budget-seconds S, --budget S answer within this (default: timeout-seconds - 1.5)",
        "--max-body-bytes N refuse larger reviews with 413 (default: 8388608)",
    ):
        assert shown in text


# A value other than the default for every setting, as a config file writes it.
EVERY_KEY = {
    "enforce": "warn",
    "strict": True,
    "on_resolve_error": "allow",
    "exempt_images": ["a/*"],
    "exempt_namespaces": ["ops"],
    "opt_out": "example.com/off",
    "pin_images": ["b/*"],
    "platform": "linux/arm64",
    "timeout_seconds": 5,
    "budget_seconds": 2,
    "cache_ttl": 5,
    "cache_size": 7,
    "max_body_bytes": 4000,
    "keep_old_digests": False,
    "require_signature": [
        f"c/*={ROOT / 'tests' / 'data' / 'cosign' / 'cosign-written-signature.pub'}"
    ],
}


def test_the_config_file_takes_every_flag_name(tmp_path):
    assert set(EVERY_KEY) == {f.name for f in fields(WebhookConfig)}
    path = tmp_path / "webhook.yaml"
    # Dashes as on the command line, or underscores: the same keys.
    path.write_text(yaml.safe_dump({k.replace("_", "-"): v for k, v in EVERY_KEY.items()}))
    config = load(path)
    for key, value in EVERY_KEY.items():
        got = getattr(config, key)
        assert (list(got) if isinstance(got, tuple) else got) == (
            value if key != "platform" else platforms.parse(value)
        ), key


def test_file_settings_and_flags_on_a_running_server(webhook_process, tmp_path):
    path = tmp_path / "webhook.yaml"
    path.write_text("enforce: warn\nopt-out: example.com/off\nmax_body_bytes: 4000\n")
    server = webhook_process("--config", str(path), "--enforce", "deny", "--no-keep-old-digests")
    plain = admission_review(workload("Pod", "nginx:1.25"))
    resp = answer(plain, server.post("/validate", plain))
    assert resp["allowed"] is False  # the flag won over the file's warn
    labels = {"labels": {"example.com/off": "true"}}
    opted = admission_review(workload("Pod", "nginx:1.25", metadata=labels))
    assert answer(opted, server.post("/validate", opted)) == {
        "uid": opted["request"]["uid"],
        "allowed": True,
    }  # the file's opt-out key
    big = admission_review(workload("Pod", *[f"nginx:{i}" for i in range(100)]))
    resp = server.post("/validate", big)
    assert (resp.status_code, resp.text) == (413, "body larger than 4000 bytes\n")
