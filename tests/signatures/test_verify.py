"""``verify`` against the real registry: signatures the suite wrote in cosign's format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imgdigest.cli.main import main
from imgdigest.client import Client
from tests.harness import push_image, signing


def _name(registry, repo: str) -> str:
    return f"{registry.host}/{repo}"


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa", "rsa-pss", "ed25519"])
def test_a_signature_of_each_key_type_verifies(
    registry_http, unique_repo: str, tmp_path: Path, client_for: Callable[[str], Client], kind: str
) -> None:
    image = push_image(registry_http, unique_repo, "v1")
    private = signing.new_key("rsa" if kind == "rsa-pss" else kind)
    pub = tmp_path / "k.pub"
    pub.write_bytes(signing.public_pem(private))
    name = _name(registry_http, unique_repo)
    layer = signing.signature_layer(private, image.digest, name, rsa_pss=kind == "rsa-pss")
    signing.push_signatures(registry_http, unique_repo, image.digest, [layer])
    report = client_for(registry_http.host).verify(f"{name}:v1", str(pub))
    assert report.error() is None
    assert report.digest == image.digest
    assert [(c.status, c.signed_digest) for c in report.checks] == [("valid", image.digest)]


def test_verify_cli_exit_codes_say_which_failure(
    registry_http, unique_repo: str, key, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, pub = key
    name = _name(registry_http, unique_repo)
    signed = push_image(registry_http, unique_repo, "signed", seed="a")
    unsigned = push_image(registry_http, unique_repo, "unsigned", seed="b")
    copied = push_image(registry_http, unique_repo, "copied", seed="c")
    other_key = tmp_path / "other.pub"
    other_key.write_bytes(signing.public_pem(signing.new_key("p256")))
    good = signing.signature_layer(private, signed.digest, name)
    signing.push_signatures(registry_http, unique_repo, signed.digest, [good])
    # a valid signature of another digest, copied under this image's tag
    signing.push_signatures(registry_http, unique_repo, copied.digest, [good])

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["verify", "--insecure", registry_http.host, *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = run("--key", pub, f"{name}:signed")
    assert code == 0
    assert out == f"valid          signature   {signing.sha256_digest(good.payload)}\n"
    assert err == f"imgdigest verify: {signed.digest}: 1 valid signature\n"

    code, out, err = run("--key", pub, f"{name}:unsigned")
    sig_tag = signing.sig_tag(unsigned.digest)
    assert (code, out) == (8, "")
    assert err == (
        f"imgdigest: error: {name}:unsigned@{unsigned.digest}: no signature "
        f"(nothing at tag {sig_tag})\n"
    )

    code, out, err = run("--key", pub, f"{name}:copied")
    assert code == 9
    assert err == (
        f"imgdigest: error: {name}:copied@{copied.digest}: 1 signature(s) at "
        f"{signing.sig_tag(copied.digest)}, none for it: one signs digest {signed.digest}\n"
    )

    code, out, err = run("--key", str(other_key), f"{name}:signed")
    assert code == 10
    assert err == (
        f"imgdigest: error: {name}:signed@{signed.digest}: 1 signature(s) at "
        f"{signing.sig_tag(signed.digest)}, none verifies with {other_key} (signed by another "
        "key, or the payload or signature was altered)\n"
    )

    code, out, err = run("--key", pub, "--identity", "example.com/elsewhere", f"{name}:signed")
    assert code == 9
    assert err.endswith("none for it: one signs identity " + name + "\n")

    code, out, err = run("--key", pub, "--identity", name, f"{name}@{signed.digest}")
    assert code == 0


def test_one_valid_signature_among_others_is_enough_and_json_lists_each(
    registry_http, unique_repo: str, key, capsys: pytest.CaptureFixture[str]
) -> None:
    private, pub = key
    name = _name(registry_http, unique_repo)
    image = push_image(registry_http, unique_repo, "v1")
    stranger = signing.signature_layer(signing.new_key("p256"), image.digest, name)
    good = signing.signature_layer(private, image.digest, name)
    signing.push_signatures(registry_http, unique_repo, image.digest, [stranger, good])
    code = main(
        ["verify", "--format", "json", "--insecure", registry_http.host, "--key", pub, name + ":v1"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["verified"] is True
    assert report["exit_code"] == 0
    assert [c["status"] for c in report["checks"]] == ["invalid", "valid"]
    assert report["checks"][1]["signed_digest"] == image.digest


def test_a_missing_key_file_is_exit_2_before_any_request(
    registry_http, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.pub"
    code = main(
        [
            "verify",
            "--insecure",
            registry_http.host,
            "--key",
            str(missing),
            f"{registry_http.host}/{unique_repo}:v1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"imgdigest: error: {missing}: cannot read the public key: No such file or directory\n"
    )


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("nginx:1.25", "index.docker.io/library/nginx"),
        ("docker.io/team/app@sha256:" + "a" * 64, "index.docker.io/team/app"),
        ("ghcr.io/org/app:v1", "ghcr.io/org/app"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b"),
    ],
)
def test_the_identity_sign_writes_is_cosigns_docker_reference(given: str, written: str) -> None:
    from imgdigest.reference import normalize
    from imgdigest.signatures.verify import identity_name

    assert identity_name(normalize(given)) == written


@pytest.mark.parametrize(
    ("claimed", "wanted", "same"),
    [
        ("index.docker.io/library/nginx", "nginx", True),
        ("index.docker.io/library/nginx", "docker.io/library/nginx", True),
        ("ghcr.io/org/app", "ghcr.io/org/app:v1", True),
        ("ghcr.io/org/app", "ghcr.io/org/other", False),
        ("not a reference!", "ghcr.io/org/app", False),
    ],
)
def test_identity_comparison_reads_both_as_repositories(
    claimed: str, wanted: str, same: bool
) -> None:
    from imgdigest.signatures.verify import _same_identity

    assert _same_identity(claimed, wanted) is same
