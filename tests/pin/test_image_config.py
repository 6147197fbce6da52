"""An image config that is not JSON is exit 7 wherever it is read, pin included.

Registry content that does not parse is unsupported content (docs/exit-codes.md), like a
malformed manifest; pin used to call it "not found" (exit 3) while resolve said 7.
"""

from __future__ import annotations

import json

import pytest

from imgdigest.cli.main import main
from imgdigest.errors import UnsupportedError
from imgdigest.media import OCI_MANIFEST, Manifest
from tests.harness import RegistryClient, push_blob, push_index, push_manifest, sha256_digest

from .test_registry_pin import pod, write


def _image_with_config(registry, repo: str, tag: str, config: bytes) -> str:
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256_digest(config),
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()
    with RegistryClient(registry) as client:
        push_blob(client, repo, config)
        return push_manifest(client, repo, tag, manifest, OCI_MANIFEST)


@pytest.mark.parametrize("config", [b"not json", b"[" * 100_000], ids=["text", "deep"])
def test_update_of_a_pin_whose_old_config_is_not_json_is_exit_7(
    capsys, registry_http, unique_repo, tmp_home, config
):
    ref = f"{registry_http.host}/{unique_repo}:v1"
    old = _image_with_config(registry_http, unique_repo, "v1", config)
    f = write(tmp_home, pod(f"{ref}@{old}"))
    push_index(registry_http, unique_repo, "v1")  # the tag now names an index
    code = main(["pin", "--update", "--no-cache", str(f)])
    _, err = capsys.readouterr()
    assert code == UnsupportedError.exit_code, err
    first = err.splitlines()[0]
    assert first == (
        f"{f}:4: {ref}@{old}: {registry_http.host}/{unique_repo}@{old}: "
        "image config is not valid JSON"
    )
    assert "Traceback" not in err
    assert f.read_text() == pod(f"{ref}@{old}")


def test_a_manifest_nested_without_end_is_exit_7_not_a_traceback():
    with pytest.raises(UnsupportedError) as info:
        Manifest.parse(b"[" * 1_000_000, OCI_MANIFEST, "reg.io/a@sha256:x")
    assert str(info.value) == "reg.io/a@sha256:x: manifest is not valid JSON"
