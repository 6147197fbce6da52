"""referrers: the tag schema and cosign tags on the real registry, the API through a front."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.harness import push_index
from tests.harness.referrers import (
    SLSA_V1,
    ReferrersFront,
    build_attestation_artifact,
    build_cosign_signature,
    build_notation,
    build_sbom,
    push_cosign,
    push_referrer,
    tag_of,
)

from .helpers import cli


@pytest.fixture
def signed(registry_http, unique_repo, tmp_home):
    """An index with an SPDX SBOM and an attestation (tag schema), and a cosign signature."""
    idx = push_index(registry_http, unique_repo, "v1")
    sbom = push_referrer(registry_http, unique_repo, build_sbom(idx), idx)
    att = push_referrer(registry_http, unique_repo, build_attestation_artifact(idx), idx)
    sig = push_cosign(registry_http, unique_repo, build_cosign_signature(idx), idx)
    return idx, sbom, att, sig, f"{registry_http.host}/{unique_repo}"


def test_tag_schema_and_cosign_tags_on_a_registry_without_the_api(signed, capsysbinary):
    idx, sbom, att, sig, name = signed
    code, out, err = cli(capsysbinary, "referrers", f"{name}:v1", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["digest"] == idx.digest
    assert doc["method"] == "tag schema"
    rows = {r["digest"]: r for r in doc["referrers"]}
    assert set(rows) == {sbom.digest, att.digest, sig.digest}
    assert rows[sbom.digest]["kind"] == "SPDX SBOM"
    assert rows[sbom.digest]["created"] == "2024-01-02T03:04:05Z"
    assert rows[sbom.digest]["size"] == sbom.size
    assert rows[sbom.digest]["artifact_type"] == "application/spdx+json"
    assert rows[att.digest]["kind"] == "in-toto attestation"
    assert rows[att.digest]["predicate_type"] == SLSA_V1
    assert rows[att.digest]["description"] == "in-toto attestation (SLSA provenance v1)"
    assert rows[sig.digest]["kind"] == "cosign signature"
    assert rows[sig.digest]["found_by"] == "cosign tag"
    assert rows[sig.digest]["tag"] == tag_of(idx.digest, "sig")
    assert doc["notes"] == []


def test_text_rows_name_kind_digest_size_and_created(signed, capsysbinary):
    idx, sbom, _, sig, name = signed
    code, out, err = cli(capsysbinary, "referrers", f"{name}@{idx.digest}")
    assert code == 0
    lines = out.decode().splitlines()
    assert f"SPDX SBOM\t{sbom.digest}\t{sbom.size} B\t2024-01-02T03:04:05Z\ttag schema" in lines
    assert any(line.startswith(f"cosign signature\t{sig.digest}\t") for line in lines)
    assert f"# 3 referrers of {idx.digest} (tag schema)" in err


def test_nothing_attached_is_an_empty_list(registry_http, unique_repo, tmp_home, capsysbinary):
    idx = push_index(registry_http, unique_repo, "v1", attestations=False)
    code, out, _ = cli(
        capsysbinary, "referrers", f"{registry_http.host}/{unique_repo}:v1", "--format", "json"
    )
    assert code == 0
    assert json.loads(out)["referrers"] == []
    assert json.loads(out)["digest"] == idx.digest


def test_platform_manifest_has_its_own_referrers(signed, registry_http, capsysbinary):
    idx, _, _, _, name = signed
    child = idx.child("linux", "arm64", "v8")
    note = push_referrer(registry_http, name.split("/", 1)[1], build_notation(child), child)
    code, out, _ = cli(capsysbinary, "referrers", f"{name}@{child.digest}", "--format", "json")
    assert code == 0
    rows = json.loads(out)["referrers"]
    assert [(r["digest"], r["kind"]) for r in rows] == [(note.digest, "notation signature")]


# -- the referrers API, through a front that implements it -----------------------------
@pytest.fixture
def front(registry_http, test_ca) -> Iterator[ReferrersFront]:
    proxy = ReferrersFront(registry_http, page_size=2).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def api_signed(front, unique_repo, tmp_home):
    idx = push_index(front, unique_repo, "v1")
    arts = [
        push_referrer(front, unique_repo, build_sbom(idx), idx, tag_schema=False),
        push_referrer(front, unique_repo, build_sbom(idx, "cyclonedx"), idx, tag_schema=False),
        push_referrer(front, unique_repo, build_attestation_artifact(idx), idx, tag_schema=False),
    ]
    return idx, arts, f"{front.host}/{unique_repo}"


def test_api_pages_are_followed(api_signed, front, capsysbinary):
    _idx, arts, name = api_signed
    code, out, err = cli(capsysbinary, "referrers", f"{name}:v1", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["method"] == "referrers API"
    assert [r["digest"] for r in doc["referrers"]] == [a.digest for a in arts]
    assert [r["kind"] for r in doc["referrers"]] == [
        "SPDX SBOM",
        "CycloneDX SBOM",
        "in-toto attestation",
    ]
    assert front.count("GET", r"/referrers/") == 2  # three entries, two per page
    assert front.count("GET", r"/manifests/sha256-[0-9a-f]{64}$") == 0  # no tag schema asked
    # cosign's tags are asked with HEAD: a GET of a manifest may count as a pull
    assert front.count("HEAD", r"/manifests/sha256-[0-9a-f]{64}\.(sig|att|sbom)$") == 3
    assert front.count("GET", r"/manifests/sha256-[0-9a-f]{64}\.") == 0


@pytest.mark.parametrize("registry_filters", [True, False])
def test_artifact_type_filter(api_signed, front, capsysbinary, registry_filters):
    _idx, arts, name = api_signed
    front.filters = registry_filters
    code, out, _ = cli(
        capsysbinary,
        "referrers",
        f"{name}:v1",
        "--artifact-type",
        "application/vnd.cyclonedx+json",
        "--format",
        "json",
    )
    assert code == 0
    assert [r["digest"] for r in json.loads(out)["referrers"]] == [arts[1].digest]


def test_a_lying_registry_is_not_believed(api_signed, front, registry_http, capsysbinary):
    idx, _arts, name = api_signed
    other = push_index(front, name.split("/", 1)[1], "other", seed="other")
    stray = push_referrer(front, name.split("/", 1)[1], build_sbom(other), other, tag_schema=False)
    front.mode = "lie"
    code, out, err = cli(capsysbinary, "referrers", f"{name}:v1", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert stray.digest not in [r["digest"] for r in doc["referrers"]]
    assert len(doc["referrers"]) == 3
    assert doc["notes"] == [
        f"{stray.digest} (referrers API) skipped: its subject is {other.digest}, not {idx.digest}"
    ]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("garbage", '"manifests" is not a list'),
        ("loop", "next-page link loops"),
    ],
)
def test_a_broken_api_is_a_clear_error(api_signed, front, capsysbinary, mode, message):
    _, _, name = api_signed
    front.mode = mode
    code, out, err = cli(capsysbinary, "referrers", f"{name}:v1")
    assert code == 7
    assert out == b""
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# -- tree ------------------------------------------------------------------------------
def _referrers_under(node: dict) -> dict[str, list[tuple[str, str]]]:
    """subject digest -> [(referrer digest, kind)], over the whole JSON tree."""
    out: dict[str, list[tuple[str, str]]] = {}
    for child in node.get("children", []):
        if child["role"] == "referrer":
            out.setdefault(node["digest"], []).append((child["digest"], child["kind"]))
        for k, v in _referrers_under(child).items():
            out.setdefault(k, []).extend(v)
    return out


def test_tree_shows_referrers_under_index_and_platform_manifests(
    signed, registry_http, capsysbinary
):
    idx, sbom, att, sig, name = signed
    repo = name.split("/", 1)[1]
    child = idx.child("linux", "arm64", "v8")
    note = push_referrer(registry_http, repo, build_notation(child), child)
    att_sig = push_referrer(
        registry_http, repo, build_cosign_signature(att, with_subject=True), att
    )
    code, out, err = cli(capsysbinary, "tree", f"{name}:v1", "--format", "json")
    assert code == 0, err
    under = _referrers_under(json.loads(out))
    assert sorted(under[idx.digest]) == sorted(
        [
            (sbom.digest, "SPDX SBOM"),
            (att.digest, "in-toto attestation (SLSA provenance v1)"),
            (sig.digest, "cosign signature"),
        ]
    )
    assert under[child.digest] == [(note.digest, "notation signature")]
    assert under[att.digest] == [(att_sig.digest, "cosign signature")]
    assert set(under) == {idx.digest, child.digest, att.digest}

    code, out, _ = cli(capsysbinary, "tree", f"{name}:v1", "--full-digests")
    text = out.decode()
    assert f"cosign signature  {sig.digest}  referrer" in text
    assert f"[{tag_of(idx.digest, 'sig')}]" in text

    code, out, _ = cli(capsysbinary, "tree", f"{name}:v1", "--no-referrers", "--format", "json")
    assert _referrers_under(json.loads(out)) == {}


def test_library_calls_answer_typed_results(signed, capsysbinary):
    import asyncio

    import imgdigest

    idx, sbom, att, sig, name = signed
    options = imgdigest.ResolveOptions(cache=False)
    with imgdigest.Client(options) as client:
        found = client.referrers(f"{name}:v1", artifact_type="application/spdx+json")
    assert isinstance(found, imgdigest.ReferrerList)
    assert all(isinstance(r, imgdigest.Referrer) for r in found.referrers)
    # the tag schema cannot filter: the client does, and cosign tags carry no artifactType
    assert [r.digest for r in found.referrers] == [sbom.digest]

    async def both() -> imgdigest.ReferrerList:
        async with imgdigest.AsyncClient(options) as aio:
            return await aio.referrers(f"{name}@{idx.digest}")

    every = asyncio.run(both())
    assert {r.digest for r in every.referrers} == {sbom.digest, att.digest, sig.digest}
    code, out, _ = cli(capsysbinary, "referrers", f"{name}@{idx.digest}", "--format", "json")
    assert code == 0
    assert json.loads(out) == {**every.to_json(), "reference": f"{name}@{idx.digest}"}
