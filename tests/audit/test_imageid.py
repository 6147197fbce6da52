"""Every runtime's ``imageID`` form, read to the digest it names (or to why none is known)."""

from __future__ import annotations

import pytest

from imgdigest.audit.imageid import RuntimeImage, read_image_id

A = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("image_id", "expected"),
    [
        # containerd: the repository digest
        (f"docker.io/library/nginx@{A}", RuntimeImage("manifest", A, "docker.io/library/nginx")),
        (f"127.0.0.1:5000/team/app@{A}", RuntimeImage("manifest", A, "127.0.0.1:5000/team/app")),
        # Docker (cri-dockerd): pulled by a repository, or only an image ID
        (f"docker-pullable://nginx@{A}", RuntimeImage("manifest", A, "nginx")),
        (f"docker://{A}", RuntimeImage("image-id", A)),
        # CRI-O: a bare image ID (the config digest), with or without the algorithm
        (A, RuntimeImage("image-id", A)),
        ("a" * 64, RuntimeImage("image-id", A)),
        # no image yet, and forms no runtime writes
        ("", RuntimeImage("none")),
        (None, RuntimeImage("none")),
        ("nginx@sha256:short", RuntimeImage("unreadable")),
        ("nginx:1.25", RuntimeImage("unreadable")),
    ],
)
def test_each_runtime_form(image_id: str | None, expected: RuntimeImage) -> None:
    assert read_image_id(image_id) == expected


def test_only_a_repository_digest_can_be_compared() -> None:
    assert read_image_id(f"docker-pullable://nginx@{A}").known is True
    assert read_image_id(A).known is False
    assert read_image_id("").known is False
