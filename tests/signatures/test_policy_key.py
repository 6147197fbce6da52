"""``policy kyverno --key`` carries the key into a verifyImages rule; Gatekeeper says it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imgdigest.cli.main import main


def test_kyverno_key_becomes_a_required_key_attestor(
    key, capsys: pytest.CaptureFixture[str]
) -> None:
    _, pub = key
    assert main(["policy", "kyverno", "--key", pub, "--exempt", "registry.k8s.io/*"]) == 0
    [policy] = yaml.safe_load_all(capsys.readouterr().out)
    rules = {r["name"]: r for r in policy["spec"]["rules"]}
    assert list(rules) == ["verify-image-signatures", "require-image-digests"]
    [entry] = rules["verify-image-signatures"]["verifyImages"]
    assert entry["imageReferences"] == ["*"]
    assert entry["skipImageReferences"] == ["registry.k8s.io/*"]
    assert (entry["required"], entry["verifyDigest"], entry["mutateDigest"]) == (True, True, False)
    assert entry["failureAction"] == "Enforce"
    [attestor] = entry["attestors"]
    assert attestor["count"] == 1
    [keys] = [e["keys"] for e in attestor["entries"]]
    assert keys["publicKeys"] + "\n" == Path(pub).read_text()
    assert keys["rekor"] == {"ignoreTlog": True}
    assert keys["ctlog"] == {"ignoreSCT": True}


def test_kyverno_refuses_a_private_key_so_it_never_lands_in_a_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imgdigest.signatures.keys import generate_keys

    generate_keys(str(tmp_path / "cosign"), b"")
    assert main(["policy", "kyverno", "--key", str(tmp_path / "cosign.key")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"imgdigest: error: {tmp_path / 'cosign.key'}: this is a private key; verification "
        "takes the public key (cosign.pub)\n"
    )


def test_gatekeeper_output_says_rego_cannot_verify_signatures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["policy", "gatekeeper"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Gatekeeper's Rego cannot verify image signatures")
    assert "--require-signature" in out.split("---", 1)[0]
    assert [d["kind"] for d in yaml.safe_load_all(out)] == ["ConstraintTemplate", "K8sImageDigests"]
