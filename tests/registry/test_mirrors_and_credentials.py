"""Mirrors from registries.conf, and credentials from the files users already have."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys

import pytest

from imgdigest.errors import AuthError, ConfigError, UsageError
from imgdigest.registry.credentials import CredentialStore
from imgdigest.registry.mirrors import Mirrors
from tests.harness import push_image, push_index

from .helpers import resolver


def _conf(tmp_path, text):
    p = tmp_path / "registries.conf"
    p.write_text(text)
    return p


def test_public_name_resolves_through_local_mirror(registry_http, tmp_home, tmp_path):
    idx = push_index(registry_http, "k8s/pause", "3.9")
    conf = _conf(
        tmp_path,
        f"""
[[registry]]
prefix = "registry.k8s.io"
location = "registry.k8s.io"
[[registry.mirror]]
location = "{registry_http.host}/k8s"
insecure = true
""",
    )
    registry_http.reset_count()
    with resolver(registry_http, tmp_home, registries_conf=conf) as r:
        res = r.resolve("registry.k8s.io/pause:3.9")
        child = r.resolve("registry.k8s.io/pause:3.9", platform="linux/arm64")
    assert res.digest == idx.digest
    assert res.endpoint == f"{registry_http.host}/k8s/pause"
    assert child.digest == idx.child("linux", "arm64", "v8").digest
    # everything was answered by the mirror: the ping, two HEADs and the index GET
    assert registry_http.request_count("HEAD", "^/v2/k8s/pause/manifests/3.9$") == 2
    assert registry_http.request_count("GET", "^/v2/k8s/pause/manifests/sha256:") == 1


def test_docker_hub_names_map_through_mirror(registry_http, tmp_home, tmp_path):
    img = push_image(registry_http, "hub/library/nginx", "1.25")
    conf = _conf(
        tmp_path,
        f'[[registry]]\nprefix = "docker.io"\nlocation = "{registry_http.host}/hub"\n',
    )
    with resolver(registry_http, tmp_home, registries_conf=conf) as r:
        assert r.resolve("nginx:1.25").digest == img.digest


def test_digest_only_mirror_is_skipped_for_tags():
    m = Mirrors.load(None)
    assert m.endpoints("example.com/a", by_digest=False)[0].host == "example.com"
    from imgdigest.registry.mirrors import _parse

    m = Mirrors(
        _parse(
            {
                "registry": [
                    {
                        "prefix": "example.com",
                        "mirror": [{"location": "m.local/x", "pull-from-mirror": "digest-only"}],
                    }
                ]
            },
            "conf",
        )
    )
    assert [e.host for e in m.endpoints("example.com/a", by_digest=False)] == ["example.com"]
    assert [e.name for e in m.endpoints("example.com/a", by_digest=True)] == [
        "m.local/x/a",
        "example.com/a",
    ]


def test_blocked_registry_and_bad_config(tmp_path):
    m = Mirrors.load(_conf(tmp_path, '[[registry]]\nprefix = "bad.io"\nblocked = true\n'))
    with pytest.raises(UsageError, match="blocked"):
        m.endpoints("bad.io/x", by_digest=False)
    with pytest.raises(ConfigError, match=r"registries\.conf:1: not valid TOML"):
        Mirrors.load(_conf(tmp_path, "[[registry]\n"))


def _helper(tmp_path, name, secret_by_server):
    """A real credential helper program speaking the docker-credential protocol."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / f"{name}.log"
    script = bindir / f"docker-credential-{name}"
    script.write_text(
        f"""#!{sys.executable}
import json, sys
action = sys.argv[1]
server = sys.stdin.read().strip()
open({str(log)!r}, "a").write(action + " " + server + "\\n")
table = {json.dumps(secret_by_server)}
if action == "get":
    if server in table:
        user, secret = table[server]
        print(json.dumps({{"ServerURL": server, "Username": user, "Secret": secret}}))
    else:
        print("credentials not found in native keychain"); sys.exit(1)
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bindir, log


def test_credential_helper_is_used_and_cached(
    registry_basic, unique_repo, tmp_home, tmp_path, monkeypatch
):
    img = push_image(registry_basic, unique_repo, "h")
    bindir, log = _helper(
        tmp_path, "fake", {registry_basic.host: [registry_basic.username, registry_basic.password]}
    )
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    (tmp_home / ".docker" / "config.json").write_text(
        json.dumps({"credHelpers": {registry_basic.host: "fake"}})
    )
    other = push_image(registry_basic, unique_repo, "h2", seed="other")
    with resolver(registry_basic, tmp_home) as r:
        out = r.resolve_many(
            [f"{registry_basic.host}/{unique_repo}:h", f"{registry_basic.host}/{unique_repo}:h2"]
        )
    assert [o.digest for o in out] == [img.digest, other.digest]
    assert log.read_text().splitlines() == [f"get {registry_basic.host}"]


def test_missing_helper_warns_and_proceeds_anonymously(registry_http, unique_repo, tmp_home):
    img = push_image(registry_http, unique_repo, "anon")
    (tmp_home / ".docker" / "config.json").write_text(json.dumps({"credsStore": "does-not-exist"}))
    warnings: list[str] = []
    store = CredentialStore(tmp_home / ".docker", warn=warnings.append)
    assert not store.get(registry_http.host)
    assert "docker-credential-does-not-exist" in warnings[0]
    with resolver(registry_http, tmp_home) as r:
        assert r.resolve(f"{registry_http.host}/{unique_repo}:anon").digest == img.digest


def test_auth_json_with_repository_scoped_key(registry_basic, unique_repo, tmp_home, monkeypatch):
    img = push_image(registry_basic, unique_repo, "aj")
    auth = base64.b64encode(
        f"{registry_basic.username}:{registry_basic.password}".encode()
    ).decode()
    path = tmp_home / "auth.json"
    path.write_text(
        json.dumps(
            {"auths": {f"{registry_basic.host}/{unique_repo.split('/')[0]}": {"auth": auth}}}
        )
    )
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(path))
    with resolver(registry_basic, tmp_home) as r:
        assert r.resolve(f"{registry_basic.host}/{unique_repo}:aj").digest == img.digest


def test_malformed_docker_config_names_the_file(tmp_home):
    cfg = tmp_home / ".docker" / "config.json"
    cfg.write_text('{"auths": {\n  "x": \n}')
    with pytest.raises(ConfigError, match=r"config\.json:3: credentials file is not valid JSON"):
        CredentialStore(tmp_home / ".docker").get("example.com")


def test_credential_repr_hides_secret():
    from imgdigest.registry.credentials import Credential

    c = Credential("u", "s3cret-value", "tok-value")
    assert "s3cret" not in repr(c) and "tok-value" not in repr(c) and "s3cret" not in str(c)


def test_cli_login_writes_docker_format_and_logout_removes(tmp_home, registry_basic, unique_repo):
    img = push_image(registry_basic, unique_repo, "cli")
    env = {**os.environ}
    run = lambda *a, **kw: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "imgdigest", *a], capture_output=True, text=True, env=env, **kw
    )
    p = run(
        "login",
        registry_basic.host,
        "-u",
        registry_basic.username,
        "--password-stdin",
        "--ca-file",
        registry_basic.ca_file,
        input=registry_basic.password + "\n",
    )
    assert p.returncode == 0, p.stderr
    stored = json.loads((tmp_home / ".docker" / "config.json").read_text())
    assert base64.b64decode(stored["auths"][registry_basic.host]["auth"]).decode() == (
        f"{registry_basic.username}:{registry_basic.password}"
    )
    assert oct((tmp_home / ".docker" / "config.json").stat().st_mode & 0o777) == "0o600"
    d = run(
        "digest",
        "--ca-file",
        registry_basic.ca_file,
        f"{registry_basic.host}/{unique_repo}:cli",
        "-v",
    )
    assert d.returncode == 0, d.stderr
    assert d.stdout.strip() == img.digest
    assert registry_basic.password not in d.stdout + d.stderr
    assert run("logout", registry_basic.host).returncode == 0
    d2 = run(
        "digest", "--ca-file", registry_basic.ca_file, f"{registry_basic.host}/{unique_repo}:cli"
    )
    assert d2.returncode == AuthError.exit_code, d2.stderr
    assert "Traceback" not in d2.stderr


@pytest.mark.parametrize("mode", ["registry_basic", "registry_token"])
def test_cli_login_refuses_wrong_password_and_stores_nothing(request, tmp_home, mode):
    reg = request.getfixturevalue(mode)
    p = subprocess.run(
        [sys.executable, "-m", "imgdigest", "login", reg.host, "-u", reg.username],
        input="Wrong-Pass-77\n",
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2  # --password-stdin is required
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "imgdigest",
            "login",
            reg.host,
            "-u",
            reg.username,
            "--password-stdin",
            "--ca-file",
            reg.ca_file,
        ],
        input="Wrong-Pass-77\n",
        capture_output=True,
        text=True,
    )
    assert p.returncode == AuthError.exit_code, p.stderr
    assert "Wrong-Pass-77" not in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_home / ".docker" / "config.json").exists()
