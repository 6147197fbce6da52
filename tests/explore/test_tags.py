"""ls and tags-of against a real registry: pagination, 10,000 tags, tags through indexes."""

from __future__ import annotations

import json

import pytest

from imgdigest.registry.tags import _parse_page, next_link
from tests.harness import push_image, push_index
from tests.harness.client import RegistryClient
from tests.harness.images import push_manifest

from .helpers import cli, tag_on_disk
from .tagfront import TagFront


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('</v2/a/tags/list?n=2&last=b>; rel="next"', "/v2/a/tags/list?n=2&last=b"),
        (
            "<https://r.example/v2/a/tags/list?last=b>;rel=next",
            "https://r.example/v2/a/tags/list?last=b",
        ),
        ('</x>; rel="prev", </y>; rel="next"', "/y"),
        ('</x>; rel="prev"', None),
        (None, None),
    ],
)
def test_next_link_follows_rel_next_only(header, expected):
    assert next_link(header) == expected


@pytest.mark.parametrize(
    ("body", "tags", "digests"),
    [
        (b'{"name": "a", "tags": null}', [], {}),
        (b'{"name": "a", "tags": ["1", "2"]}', ["1", "2"], {}),
        (
            b'{"tags": ["1"], "manifest": {"sha256:aa": {"tag": ["1"], "mediaType": "x"}}}',
            ["1"],
            {"sha256:aa": ["1"]},
        ),
    ],
)
def test_tag_pages_keep_the_manifest_map_where_sent(body, tags, digests):
    page = _parse_page(body, "r/a tag list")
    assert page.tags == tags
    assert {d: v["tag"] for d, v in page.manifests.items()} == digests


@pytest.fixture
def tagged(registry_http, unique_repo, tmp_home):
    img = push_image(registry_http, unique_repo, "base")
    names = [f"v{i:03d}" for i in range(25)]
    with RegistryClient(registry_http) as c:
        for t in names:
            push_manifest(c, unique_repo, t, img.manifest_bytes, img.media_type)
    return img, f"{registry_http.host}/{unique_repo}", sorted([*names, "base"])


@pytest.fixture
def front(registry_http):
    """The harness registry behind a front that pages tag lists (see ``tagfront``)."""
    servers = []

    def make(manifest_map: bool = False) -> TagFront:
        servers.append(TagFront(registry_http.url, manifest_map).start())
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


@pytest.mark.parametrize(("page_size", "requests"), [(7, 4), (26, 1), (1000, 1)])
def test_ls_follows_link_pagination(tagged, front, unique_repo, capsysbinary, page_size, requests):
    _, _, names = tagged
    paged = front()
    argv = ("ls", f"{paged.host}/{unique_repo}", "--page-size", str(page_size))
    code, out, _ = cli(capsysbinary, *argv)
    assert code == 0
    assert out.decode().splitlines() == names  # in order, none lost or repeated
    assert paged.tag_requests == requests


def test_ls_json_carries_the_manifest_map_where_sent(tagged, front, unique_repo, capsysbinary):
    img, _, names = tagged
    paged = front(manifest_map=True)
    argv = ("ls", f"{paged.host}/{unique_repo}", "--page-size", "10", "--format", "json")
    code, out, _ = cli(capsysbinary, *argv)
    assert code == 0
    obj = json.loads(out)
    assert obj["tags"] == names
    assert sorted(obj["manifest"][img.digest]["tag"]) == names


def test_ls_streams_ten_thousand_tags(registry_http, unique_repo, tmp_home, capsysbinary):
    img = push_image(registry_http, unique_repo, "base")
    names = [f"t{i:05d}" for i in range(10_000)]
    tag_on_disk(registry_http, unique_repo, img.digest, names)
    name = f"{registry_http.host}/{unique_repo}"
    code, out, _ = cli(capsysbinary, "ls", name)
    assert code == 0
    assert sorted(out.decode().splitlines()) == sorted([*names, "base"])


def test_ls_pages_through_ten_thousand_tags(
    registry_http, unique_repo, tmp_home, capsysbinary, front
):
    img = push_image(registry_http, unique_repo, "base")
    names = [f"t{i:05d}" for i in range(10_000)]
    tag_on_disk(registry_http, unique_repo, img.digest, names)
    paged = front()
    code, out, _ = cli(capsysbinary, "ls", f"{paged.host}/{unique_repo}")
    assert code == 0
    assert out.decode().splitlines() == sorted([*names, "base"])
    assert paged.tag_requests == 11  # pages of 1000


def test_ls_of_unknown_repository_is_not_found(registry_http, unique_repo, tmp_home, capsysbinary):
    code, _, err = cli(capsysbinary, "ls", f"{registry_http.host}/{unique_repo}")
    assert code == 3
    assert unique_repo in err


def test_tags_of_finds_direct_tags_and_index_tags(
    registry_http, unique_repo, tmp_home, capsysbinary
):
    idx = push_index(registry_http, unique_repo, "multi")
    solo = push_image(registry_http, unique_repo, "solo")
    with RegistryClient(registry_http) as c:
        push_manifest(c, unique_repo, "multi-again", idx.manifest_bytes, idx.media_type)
        push_manifest(c, unique_repo, "solo-again", solo.manifest_bytes, solo.media_type)
    name = f"{registry_http.host}/{unique_repo}"
    arm64 = idx.child("linux", "arm64", "v8")

    code, out, _ = cli(capsysbinary, "tags-of", f"{name}@{solo.digest}")
    assert (code, out.decode().split()) == (0, ["solo", "solo-again"])

    registry_http.reset_count()
    code, out, _ = cli(capsysbinary, "tags-of", f"{name}@{arm64.digest}", "--format", "json")
    assert code == 0
    found = json.loads(out)["tags"]
    assert [(m["tag"], m["digest"], m["via_index"], m["platform"]) for m in found] == [
        ("multi", idx.digest, True, "linux/arm64/v8"),
        ("multi-again", idx.digest, True, "linux/arm64/v8"),
    ]
    # One HEAD per tag, and the shared index fetched once.
    assert registry_http.request_count("HEAD", r"/manifests/") == 4
    assert registry_http.request_count("GET", rf"/manifests/{idx.digest}") == 1

    code, out, _ = cli(capsysbinary, "tags-of", f"{name}@{idx.digest}")
    assert (code, out.decode().split()) == (0, ["multi", "multi-again"])


def test_tags_of_uses_the_manifest_map_without_a_head_per_tag(
    registry_http, unique_repo, tmp_home, capsysbinary, front
):
    idx = push_index(registry_http, unique_repo, "multi")
    push_image(registry_http, unique_repo, "other")
    paged = front(manifest_map=True)
    amd64 = idx.child("linux", "amd64")
    argv = ("tags-of", f"{paged.host}/{unique_repo}@{amd64.digest}")
    code, out, err = cli(capsysbinary, *argv)
    assert code == 0
    assert out.decode().splitlines() == [f"multi  (index {idx.digest} as linux/amd64)"]
    assert "(tag list manifest map)" in err
    assert [m for m, _ in paged.forwarded if m == "HEAD"] == []
    assert paged.forwarded.count(("GET", f"/v2/{unique_repo}/manifests/{idx.digest}")) == 1


def test_tags_of_an_unknown_digest_is_empty(registry_http, unique_repo, tmp_home, capsysbinary):
    push_image(registry_http, unique_repo, "one")
    missing = "sha256:" + "0" * 64
    code, out, err = cli(capsysbinary, "tags-of", f"{registry_http.host}/{unique_repo}@{missing}")
    assert (code, out) == (0, b"")
    assert "0 of 1 tags (HEAD per tag)" in err


def test_tags_of_needs_a_digest(registry_http, unique_repo, capsysbinary):
    code, _, err = cli(capsysbinary, "tags-of", f"{registry_http.host}/{unique_repo}:v1")
    assert code == 2
    assert "NAME@sha256" in err
