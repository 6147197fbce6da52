"""Registry content parses one way wherever it is read: an image config, a manifest, a page."""

from __future__ import annotations

import pytest

from imgdigest.errors import ConfigError, PlatformNotFoundError, UnsupportedError
from imgdigest.jsonfile import json_object, loads_object
from imgdigest.media import config_platform, content_object, parse_config
from imgdigest.platform import Platform

WHERE = "reg.io/a@sha256:x"


def test_an_image_config_names_its_platform() -> None:
    data = b'{"os": "linux", "architecture": "arm64", "variant": "v8"}'
    assert config_platform(data, WHERE) == Platform("linux", "arm64", "")  # normalized


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "image config is not valid JSON"),
        (b"[" * 100_000, "image config is not valid JSON"),
        (b"\xff\xfe\x00", "image config is not valid JSON"),
        (b"[]", "image config is not a JSON object"),
        (b'"linux"', "image config is not a JSON object"),
    ],
    ids=["text", "deep", "binary", "array", "string"],
)
def test_a_config_that_does_not_parse_is_unsupported_content(data: bytes, message: str) -> None:
    for read in (parse_config, config_platform):
        with pytest.raises(UnsupportedError) as info:
            read(data, WHERE)
        assert str(info.value) == f"{WHERE}: {message}"


@pytest.mark.parametrize("data", [b"{}", b'{"os": "linux"}', b'{"architecture": "amd64"}'])
def test_a_config_without_os_and_architecture_has_no_platform(data: bytes) -> None:
    with pytest.raises(PlatformNotFoundError) as info:
        config_platform(data, WHERE)
    assert str(info.value) == f"{WHERE}: image config names no os/architecture"


def test_registry_content_and_files_share_the_rule_but_not_the_error() -> None:
    with pytest.raises(UnsupportedError, match=r"^x: tag list is not a JSON object$"):
        content_object(b"[1]", "x", "tag list")
    with pytest.raises(ConfigError, match=r"^f\.json: lock file must be a JSON object, got array$"):
        loads_object(b"[1]", "f.json", "lock file")
    with pytest.raises(ConfigError, match=r"^f\.json:2: lock file is not valid JSON: "):
        json_object("{\n nope}", "f.json", "lock file", ConfigError, lines=True)
    assert json_object(b'{"a": 1}', "x", "y", UnsupportedError) == {"a": 1}
