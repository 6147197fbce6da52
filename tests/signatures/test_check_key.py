"""``check --verify --key``: a pinned digest without a valid signature is a violation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgdigest.cli.main import main
from tests.harness import push_image, signing


def test_unsigned_digests_are_violations_with_their_reason(
    registry_http, unique_repo: str, key, tmp_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, pub = key
    name = f"{registry_http.host}/{unique_repo}"
    signed = push_image(registry_http, unique_repo, "signed", seed="s")
    unsigned = push_image(registry_http, unique_repo, "unsigned", seed="u")
    copied = push_image(registry_http, unique_repo, "copied", seed="c")
    layer = signing.signature_layer(private, signed.digest, name)
    signing.push_signatures(registry_http, unique_repo, signed.digest, [layer])
    signing.push_signatures(registry_http, unique_repo, copied.digest, [layer])
    missing = "sha256:" + "0" * 64
    pod = tmp_home / "pod.yaml"
    images = {
        "signed": f"{name}:signed@{signed.digest}",
        "unsigned": f"{name}@{unsigned.digest}",
        "copied": f"{name}@{copied.digest}",
        "missing": f"{name}@{missing}",
    }
    pod.write_text(
        "kind: Pod\nspec:\n  containers:\n"
        + "".join(f"  - name: {k}\n    image: {v}\n" for k, v in images.items())
    )
    code = main(
        ["check", "--key", pub, "--format", "json", "--insecure", registry_http.host, str(pod)]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    found = {f["name"]: (f["rule"], f["message"], f.get("detail")) for f in report["findings"]}
    assert set(found) == {"unsigned", "copied", "missing"}
    assert found["unsigned"] == (
        "unsigned",
        f"container <unsigned> uses a digest without a valid signature <{images['unsigned']}>",
        "no signature",
    )
    assert found["copied"][0] == "unsigned"
    assert found["copied"][2] == (
        f"1 signature(s) at {signing.sig_tag(copied.digest)}, none for it: one signs digest "
        f"{signed.digest}"
    )
    assert found["missing"][0] == "digest-not-found"  # asked once, not again for a signature


def test_all_signed_passes_and_identity_is_enforced(
    registry_http, unique_repo: str, key, tmp_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, pub = key
    name = f"{registry_http.host}/{unique_repo}"
    image = push_image(registry_http, unique_repo, "v1")
    layer = signing.signature_layer(private, image.digest, name)
    signing.push_signatures(registry_http, unique_repo, image.digest, [layer])
    pod = tmp_home / "pod.yaml"
    pod.write_text(
        f"kind: Pod\nspec:\n  containers:\n  - name: app\n    image: {name}@{image.digest}\n"
    )
    base = ["check", "--verify", "--key", pub, "--insecure", registry_http.host]
    assert main([*base, str(pod)]) == 0
    capsys.readouterr()
    assert main([*base, "--identity", "example.com/other", "--format", "json", str(pod)]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["rule"] == "unsigned"
    assert finding["detail"].endswith(f"one signs identity {name}")


def test_identity_without_key_is_a_usage_error(tmp_home: Path, capsys) -> None:
    pod = tmp_home / "pod.yaml"
    pod.write_text("kind: Pod\n")
    assert main(["check", "--identity", "x/y", str(pod)]) == 2
    assert capsys.readouterr().err == "imgdigest: error: --identity needs --key\n"


def test_the_library_check_takes_the_key_in_its_options(
    registry_http, unique_repo: str, key, tmp_home: Path
) -> None:
    from imgdigest import CheckOptions, Client, ResolveOptions
    from imgdigest.registry.options import RegistryOptions

    _, pub = key
    name = f"{registry_http.host}/{unique_repo}"
    image = push_image(registry_http, unique_repo, "v1")
    pod = tmp_home / "pod.yaml"
    pod.write_text(
        f"kind: Pod\nspec:\n  containers:\n  - name: a\n    image: {name}@{image.digest}\n"
    )
    options = ResolveOptions(registry=RegistryOptions(insecure=(registry_http.host,)))
    with Client(options) as client:
        report = client.check([str(pod)], CheckOptions(key=pub))
    assert [(v.rule, v.detail) for v in report.violations] == [("unsigned", "no signature")]
    assert report.exit_code == 1
