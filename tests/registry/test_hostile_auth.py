"""Hostile token services, credentials files and credential helpers: one line, one code.

Token answers come from the harness's real token server in front of the real registry,
switched to answer garbage (``HostileAnswer``); files are written to the test's home. The
command runs in-process through ``main`` so each case costs milliseconds, not a process.
"""

from __future__ import annotations

import base64
import io
import json
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgdigest.cli.main import main
from imgdigest.errors import AuthError, ConfigError
from imgdigest.registry.credentials import CredentialStore, login
from tests.harness import HostileAnswer, TokenServer

MiB = 1024 * 1024


@pytest.fixture
def hostile(token_server: TokenServer) -> Iterator[TokenServer]:
    """The session token server, answering ``token_server.hostile`` for this test only."""
    yield token_server
    token_server.hostile = None


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def digest(capsys, registry, repo, ca_file, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "digest", f"{registry.host}/{repo}:1", "--ca-file", ca_file, *extra)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"[]", "answered JSON that is not an object"),
        (b'{"token": 5}', "answered a token that is not a string"),
        (b'{"token": "abc", "expires_in": "soon"}', "answered an expires_in that is not a number"),
        (b'{"token": "abc", "expires_in": -1}', "answered expires_in -1, outside 0 to 31622400"),
        (b'{"token": "abc", "expires_in": 1e400}', "answered expires_in inf, outside 0 to"),
        (b'{"token": "a\\r\\nX-Injected: 1"}', "answered a token with characters a header"),
        (b"<html>maintenance</html>", "answered a body that is not JSON"),
        (b'{"token": ""}', "answered without a token"),
    ],
)
def test_malformed_token_answer_is_exit_4_naming_the_token_host(
    capsys, hostile, registry_token, unique_repo, tmp_home, test_ca, body, problem
):
    hostile.hostile = HostileAnswer(body)
    code, out, err = digest(capsys, registry_token, unique_repo, test_ca.ca_file)
    ref = f"{registry_token.host}/{unique_repo}:1"
    expected = f"token service {hostile.host} for {registry_token.host} {problem}"
    assert (code, out) == (AuthError.exit_code, "")
    assert err.startswith(f"imgdigest: error: {ref}: {expected}"), err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_50_mib_token_answer_is_refused_after_at_most_1_mib(
    capsys, hostile, registry_token, unique_repo, tmp_home, test_ca, chunked
):
    # The secret-looking filler must never be echoed, whatever the cut.
    hostile.hostile = HostileAnswer(b"S3CRET" * (MiB // 6) + b"SECRET"[: MiB % 6], 50, chunked)
    started = time.monotonic()
    code, _, err = digest(capsys, registry_token, unique_repo, test_ca.ca_file)
    took = time.monotonic() - started
    assert code == AuthError.exit_code
    assert err == (
        f"imgdigest: error: {registry_token.host}/{unique_repo}:1: token service "
        f"{hostile.host} for {registry_token.host} answered more than 1 MiB; refusing to read it\n"
    )
    assert took < 5, took  # 50 MiB over loopback would still be quick; 1 MiB is quicker


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_50_mib_503_from_the_token_service_is_retried_unread_then_exit_5(
    capsys, hostile, registry_token, unique_repo, tmp_home, test_ca, chunked
):
    hostile.hostile = HostileAnswer(b"<p>down</p>" * (MiB // 11), 50, chunked, status=503)
    hostile.reset()
    started = time.monotonic()
    code, _, err = digest(capsys, registry_token, unique_repo, test_ca.ca_file, "--retries", "2")
    assert time.monotonic() - started < 10
    assert code == 5, err
    assert err == (
        f"imgdigest: error: {registry_token.host}/{unique_repo}:1: token service "
        f"{hostile.host} for {registry_token.host}: registry answered HTTP 503\n"
    )
    # Each batch's token request and each reference's own: three tries apiece.
    assert hostile.request_count == 6


@pytest.mark.parametrize(
    "realm",
    ["ftp://127.0.0.1/token", "::::", "https://[::1/token", "https://127.0.0.1:99999/token", "/t"],
)
def test_a_challenge_naming_an_unusable_realm_is_exit_4(
    capsys, registry_token, fault_proxy, unique_repo, tmp_home, test_ca, realm
):
    proxy = fault_proxy(registry_token)
    challenge = f'Bearer realm="{realm}",service="imgdigest-test-registry"'
    proxy.status_then_ok(401, times=100, path=r"^/v2/$", headers={"WWW-Authenticate": challenge})
    code, out, err = digest(capsys, proxy, unique_repo, test_ca.ca_file)
    assert (code, out) == (AuthError.exit_code, "")
    assert err == (
        f"imgdigest: error: {proxy.host}/{unique_repo}:1: registry {proxy.host} named a token "
        "realm that is not an http(s) URL\n"
    )


def test_a_valid_token_answer_still_works(
    capsys, anonymous_pull, registry_token, unique_repo, tmp_home, test_ca
):
    from tests.harness import push_image

    img = push_image(registry_token, unique_repo, "1")
    code, out, err = digest(capsys, registry_token, unique_repo, test_ca.ca_file)
    assert (code, out) == (0, f"{img.digest}\n"), err


# -- Docker config.json / auth.json ---------------------------------------------------------


def _config(home: Path, text: str | bytes) -> Path:
    path = home / ".docker" / "config.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{\n  nope\n}", ":2: credentials file is not valid JSON: Expecting property name"),
        ("[]", ": credentials file must be a JSON object, got array"),
        ('"x"', ": credentials file must be a JSON object, got string"),
        ('{"auths": []}', ": auths: expected an object, got array"),
        ('{"auths": {"r.io": "x"}}', ": auths[r.io]: expected an object, got string"),
        ('{"auths": {"r.io": {"auth": "!!!"}}}', ": auths[r.io].auth: not base64 of user:password"),
        (
            '{"auths": {"r.io": {"auth": "' + _b64("no-colon") + '"}}}',
            ": auths[r.io].auth: not base64 of user:password",
        ),
        ('{"auths": {"r.io": {"auth": 5}}}', ": auths[r.io].auth: expected a string, got integer"),
        ('{"credHelpers": []}', ": credHelpers: expected an object, got array"),
        ('{"credHelpers": {"r.io": 1}}', ": credHelpers[r.io]: expected a string, got integer"),
        ('{"credsStore": "../../bin/sh"}', ": credsStore: '../../bin/sh' is not a credential"),
        ('{"credsStore": true}', ": credsStore: expected a string, got boolean"),
        (b"\x00\x01binary", ": credentials file is a binary file, not text"),
        (b'{"auths": {"caf\xe9": {}}}', ":1: credentials file is not UTF-8 text"),
        ("[" * 100_000 + "]" * 100_000, ": credentials file is nested too deeply"),
    ],
)
def test_malformed_docker_config_is_exit_2_naming_the_file(
    capsys, registry_basic, unique_repo, tmp_home, test_ca, text, problem
):
    path = _config(tmp_home, text)
    code, out, err = digest(capsys, registry_basic, unique_repo, test_ca.ca_file)
    assert (code, out) == (ConfigError.exit_code, "")
    ref = f"{registry_basic.host}/{unique_repo}:1"
    assert err.startswith(f"imgdigest: error: {ref}: {path}{problem}"), err
    assert err.count("\n") == 1 and err.count(str(path)) == 1


def test_same_malformed_config_is_exit_2_in_every_command(
    capsys, monkeypatch, registry_basic, unique_repo, tmp_home, test_ca
):
    path = _config(tmp_home, "not json")
    ref = f"{registry_basic.host}/{unique_repo}:1"
    problem = f"{path}:1: credentials file is not valid JSON: Expecting value"
    for argv in (
        ["digest", ref],
        ["manifest", ref],
        ["ls", f"{registry_basic.host}/{unique_repo}"],
        ["login", registry_basic.host, "-u", registry_basic.username, "--password-stdin"],
    ):
        monkeypatch.setattr(sys, "stdin", io.StringIO(f"{registry_basic.password}\n"))
        code, _, err = run(capsys, *argv, "--ca-file", test_ca.ca_file)
        assert code == ConfigError.exit_code, (argv, err)
        assert problem in err and err.count("\n") == 1, (argv, err)
    assert path.read_text() == "not json"  # login wrote nothing over it


def test_malformed_auth_json_is_exit_2_naming_it(capsys, registry_basic, unique_repo, tmp_home):
    auth = tmp_home / ".config" / "containers" / "auth.json"
    auth.parent.mkdir(parents=True, exist_ok=True)
    auth.write_text('{"auths": {"r.io": {"auth": "%%%"}}}')
    with pytest.raises(ConfigError) as info:
        CredentialStore().get("r.io")
    assert str(info.value) == f"{auth}: auths[r.io].auth: not base64 of user:password"


def test_messages_never_show_the_secret(capsys, registry_basic, unique_repo, tmp_home, test_ca):
    secret = "hunter2-" + "x" * 20
    _config(tmp_home, json.dumps({"auths": {"r.io": {"auth": secret, "password": 7}}}))
    code, _, err = digest(capsys, registry_basic, unique_repo, test_ca.ca_file)
    assert code == ConfigError.exit_code
    assert secret not in err and "hunter2" not in err


# -- credential helpers ----------------------------------------------------------------------


def _helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> None:
    """A real docker-credential-NAME program on PATH whose ``get`` runs ``body``."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    script = bindir / f"docker-credential-{name}"
    script.write_text(f"#!{sys.executable}\nimport sys, time, os\nsys.stdin.read()\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}:{Path(sys.executable).parent}:/usr/bin:/bin")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("print('garbage, not json')", "answered something other than a JSON object for r.io"),
        ("print('[1, 2]')", "answered something other than a JSON object for r.io"),
        (
            'print(\'{"Username": 1, "Secret": "s3cret"}\')',
            "answered a non-string Username or Secret for r.io",
        ),
        (
            "os.write(1, b'{' * (8 * 1024 * 1024))",
            "printed more than 1024 KiB (get); it was stopped",
        ),
        ("time.sleep(60)", "did not answer within 1s (get); it was stopped"),
        (
            "os.close(1); time.sleep(60)",  # closes stdout, then hangs: EOF is not the end
            "did not exit within 1s (get); it was stopped",
        ),
    ],
)
def test_misbehaving_helper_is_exit_4_bounded_in_time_and_output(
    tmp_path, tmp_home, monkeypatch, body, problem
):
    _helper(tmp_path, monkeypatch, "bad", body)
    _config(tmp_home, '{"credHelpers": {"r.io": "bad"}}')
    started = time.monotonic()
    with pytest.raises(AuthError) as info:
        CredentialStore(helper_timeout=1.0).get("r.io")
    assert time.monotonic() - started < 5
    assert str(info.value) == f"credential helper docker-credential-bad {problem}"
    assert "s3cret" not in str(info.value)


def test_helper_that_hangs_on_store_stops_login(tmp_path, tmp_home, monkeypatch):
    _helper(tmp_path, monkeypatch, "slow", "time.sleep(60)")
    path = _config(tmp_home, '{"credsStore": "slow"}')
    monkeypatch.setattr("imgdigest.registry.credentials.HELPER_TIMEOUT", 1.0)
    with pytest.raises(AuthError) as info:
        login("r.io", "u", "pw", tmp_home / ".docker")
    assert str(info.value) == (
        "credential helper docker-credential-slow did not answer within 1s (store); it was stopped"
    )
    assert path.read_text() == '{"credsStore": "slow"}'
