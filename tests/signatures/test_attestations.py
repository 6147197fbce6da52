"""``verify --attestations``: in-toto statements in DSSE envelopes at the ``.att`` tag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgdigest.cli.main import main
from tests.harness import push_image, signing

SPDX = "https://spdx.dev/Document"


def _run(registry, *args: str) -> int:
    return main(["verify", "--attestations", "--insecure", registry.host, *args])


def test_attestations_verify_and_name_their_predicates(
    registry_http, unique_repo: str, key, capsys: pytest.CaptureFixture[str]
) -> None:
    private, pub = key
    image = push_image(registry_http, unique_repo, "v1")
    layers = [
        signing.attestation_layer(private, image.digest),
        signing.attestation_layer(private, image.digest, SPDX),
    ]
    signing.push_signatures(registry_http, unique_repo, image.digest, layers, "att")
    ref = f"{registry_http.host}/{unique_repo}:v1"
    assert _run(registry_http, "--format", "json", "--key", pub, ref) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(c["status"], c["predicate"], c["predicate_type"]) for c in report["checks"]] == [
        ("valid", "SLSA provenance", signing.SLSA),
        ("valid", "SPDX SBOM", SPDX),
    ]
    assert _run(registry_http, "--key", pub, ref) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].endswith(f"  {signing.SLSA}")
    assert err == f"imgdigest verify: {image.digest}: 2 valid attestations\n"


def test_attestation_failures_have_the_signature_codes(
    registry_http, unique_repo: str, key, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, pub = key
    name = f"{registry_http.host}/{unique_repo}"
    a = push_image(registry_http, unique_repo, "a", seed="a")
    b = push_image(registry_http, unique_repo, "b", seed="b")
    c = push_image(registry_http, unique_repo, "c", seed="c")
    signing.push_signatures(
        registry_http, unique_repo, a.digest, [signing.attestation_layer(private, a.digest)], "att"
    )
    # b's tag holds a's statement (subject a), validly signed
    signing.push_signatures(
        registry_http, unique_repo, b.digest, [signing.attestation_layer(private, a.digest)], "att"
    )
    other = tmp_path / "other.pub"
    other.write_bytes(signing.public_pem(signing.new_key("ed25519")))
    assert _run(registry_http, "--key", pub, f"{name}:c") == 8
    assert capsys.readouterr().err == (
        f"imgdigest: error: {name}:c@{c.digest}: no attestation "
        f"(nothing at tag {signing.sig_tag(c.digest, 'att')})\n"
    )
    assert _run(registry_http, "--key", pub, f"{name}:b") == 9
    assert capsys.readouterr().err.endswith(f"one signs digest {a.digest}\n")
    assert _run(registry_http, "--key", str(other), f"{name}:a") == 10
    # signatures and attestations are separate questions: a has no .sig
    code = main(["verify", "--insecure", registry_http.host, "--key", pub, f"{name}:a"])
    assert code == 8
