"""sign and verify through an authenticating registry: credentials and passwords never shown."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from imgdigest.signatures import keys
from tests.harness import push_image

ROOT = Path(__file__).resolve().parent.parent.parent


def _run(*args: str, stdin: str = "", env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgdigest", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def test_sign_and_verify_with_credentials_show_no_secret(
    registry_basic, unique_repo: str, tmp_path: Path, tmp_home: Path
) -> None:
    import os

    host = registry_basic.host
    push_image(registry_basic, unique_repo, "v1")
    ref = f"{host}/{unique_repo}:v1"
    key_password = "key-pass-7f3a"
    keys.generate_keys(str(tmp_path / "cosign"), key_password.encode())
    auth = base64.b64encode(f"{registry_basic.username}:{registry_basic.password}".encode())
    (tmp_home / ".docker" / "config.json").write_text(
        json.dumps({"auths": {host: {"auth": auth.decode()}}})
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("COSIGN_PASSWORD", None)
    common = ("--ca-file", registry_basic.ca_file, "--explain")
    signed = _run(
        "sign", "--key", str(tmp_path / "cosign.key"), "--password-stdin", *common, ref,
        stdin=key_password + "\n", env=env,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    checked = _run("verify", "--key", str(tmp_path / "cosign.pub"), *common, ref, env=env)
    assert checked.returncode == 0, checked.stderr
    wrong = _run(
        "sign", "--key", str(tmp_path / "cosign.key"), "--password-stdin", *common, ref,
        stdin="guess-" + key_password + "\n", env=env,
    )  # fmt: skip
    assert wrong.returncode == 2
    private_pem = (tmp_path / "cosign.key").read_text().splitlines()[1]
    for out in (signed, checked, wrong):
        for secret in (registry_basic.password, key_password, auth.decode(), private_pem):
            assert secret not in out.stdout + out.stderr
