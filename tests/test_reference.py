"""Reference conformance: every case of ``conformance/reference.json`` plus the Python API.

Each group names the distribution/reference function it exercises; the table below
maps it to ours. Where a case records what the library returned (``observed*``), the
whole observed result is compared too, including exact error messages.

One environment difference is deliberate: distribution's tests link go-digest v1.0.0
with sha256 only, so a sha512 digest is "unsupported" there. This toolkit hashes with
sha512 like go-digest HEAD does, so rows carrying ``observed_with_go_digest_head``
(the sha512 cases) assert that result instead, and check that the upstream row really
is the sha512-unsupported case and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from imgdigest import reference as rf
from imgdigest.errors import InvalidReferenceError, UsageError
from imgdigest.reference import Reference
from tests.shared import DATA as TABLES

DATA = json.loads((TABLES / "reference.json").read_text(encoding="utf-8"))
GROUPS: dict[str, list[dict[str, Any]]] = {g["id"]: g["cases"] for g in DATA["groups"]}
ERRORS: dict[str, str] = DATA["errors"]


def cases(group: str) -> Any:
    return pytest.mark.parametrize("case", GROUPS[group], ids=lambda c: c["id"])


def kind(ref: Reference) -> str:
    if ref.digest_only:
        return "digest"
    return (
        "name"
        + ("+tag" if ref.tag is not None else "")
        + ("+digest" if ref.digest is not None else "")
    )


def assert_observed(func: Callable[[str], Reference], text: str, observed: dict[str, Any]) -> None:
    """Run ``func(text)`` and compare everything the Go library was seen to return."""
    if not observed["ok"]:
        with pytest.raises(InvalidReferenceError) as info:
            func(text)
        assert str(info.value) == observed["error"]
        return
    ref = func(text)
    assert str(ref) == observed["string"]
    assert kind(ref) == observed["kind"]
    assert ref.familiar_string == observed["familiar_string"]
    assert ref.digest == observed.get("digest")
    assert ref.tag == observed.get("tag")
    if observed["kind"] != "digest":
        assert ref.name == observed["name"]
        assert ref.domain == observed["domain"]
        assert ref.path == observed["path"]
        assert ref.familiar_name == observed["familiar_name"]


def observed_here(case: dict[str, Any], key: str = "observed") -> dict[str, Any]:
    """The observation that applies to this toolkit (sha512 supported, see module doc)."""
    head = case.get(f"{key}_with_go_digest_head")
    if head is not None:
        assert "sha512:" in case["input"]
        assert case[key] == {"ok": False, "error": ERRORS["digest.ErrDigestUnsupported"]}
        return head
    return case[key]


def test_every_group_is_covered():
    assert set(GROUPS) == {
        "parse", "with-name-failure", "domain-and-path", "serialization", "with-tag",
        "with-digest", "parse-named", "validate-reference-name", "validate-remote-name",
        "parse-repository-info", "parse-reference-with-tag-and-digest",
        "invalid-reference-components", "parse-any-reference", "normalized-split-hostname",
        "match-error", "match", "parse-docker-ref", "domain-regexp", "full-name-regexp",
        "reference-regexp", "identifier-regexp", "sort", "disabled-upstream", "observed-extra",
    }  # fmt: skip


def test_error_constants_are_the_library_messages():
    assert ERRORS["ErrReferenceInvalidFormat"] == rf.ERR_REFERENCE_INVALID_FORMAT
    assert ERRORS["ErrTagInvalidFormat"] == rf.ERR_TAG_INVALID_FORMAT
    assert ERRORS["ErrDigestInvalidFormat"] == rf.ERR_DIGEST_INVALID_FORMAT
    assert ERRORS["ErrNameContainsUppercase"] == rf.ERR_NAME_CONTAINS_UPPERCASE
    assert ERRORS["ErrNameEmpty"] == rf.ERR_NAME_EMPTY
    assert ERRORS["ErrNameNotCanonical"] == rf.ERR_NAME_NOT_CANONICAL
    assert ERRORS["ErrNameTooLong"] == rf.ERR_NAME_TOO_LONG
    assert DATA["constants"]["RepositoryNameTotalLengthMax"] == rf.NAME_TOTAL_LENGTH_MAX


# Parse: the literal grammar.


@cases("parse")
def test_parse(case):
    observed = observed_here(case)
    if "observed_with_go_digest_head" not in case:
        if case["valid"]:
            ref = rf.parse(case["input"])
            expected = case["expected"]
            assert str(ref) == expected["string"] == case["input"]
            assert ref.name == expected["name"]
            assert ref.domain == expected["domain"]
            assert ref.tag == expected["tag"]
            assert ref.digest == expected["digest"]
        else:
            with pytest.raises(InvalidReferenceError) as info:
                rf.parse(case["input"])
            assert str(info.value) == case["error_message"] == ERRORS[case["error"]]
    assert_observed(rf.parse, case["input"], observed)


@cases("disabled-upstream")
def test_uppercase_first_component_is_taken_as_a_domain(case):
    # Upstream would like this to fail but the library accepts it; we do the same.
    assert_observed(rf.parse, case["input"], case["observed"])


@cases("serialization")
def test_serialization_round_trip(case):
    if not case["valid"]:
        with pytest.raises(InvalidReferenceError) as info:
            rf.parse(case["input"])
        assert str(info.value) == case["error_message"]
        return
    document = json.dumps({"Description": case["description"], "Field": case["input"]})
    ref = rf.parse(json.loads(document)["Field"])
    assert ref.name == case["expected"]["name"]
    assert ref.tag == case["expected"]["tag"]
    assert ref.digest == case["expected"]["digest"]
    assert json.dumps({"Description": case["description"], "Field": str(ref)}) == document
    assert_observed(rf.parse, case["input"], case["observed"])


# Building references from parts.


@cases("with-name-failure")
def test_with_name_rejects(case):
    with pytest.raises(InvalidReferenceError) as info:
        rf.with_name(case["input"])
    assert str(info.value) == case["error_message"] == case["observed"]["error"]


@cases("domain-and-path")
def test_with_name_splits_domain_and_path(case):
    ref = rf.with_name(case["input"])
    assert (ref.domain, ref.path) == (case["expected"]["domain"], case["expected"]["path"])
    assert_observed(rf.with_name, case["input"], case["observed"])


def build(case: dict[str, Any]) -> Reference:
    assert case["steps"][0] == "WithName"
    ref = rf.with_name(case["name"])
    for step in case["steps"][1:]:
        ref = ref.with_tag(case["tag"]) if step == "WithTag" else ref.with_digest(case["digest"])
    return ref


@cases("with-tag")
def test_with_tag(case):
    assert str(build(case)) == case["expected"]["string"]
    assert_observed(lambda _: build(case), case["name"], case["observed"])


@cases("with-digest")
def test_with_digest_checks_only_the_generic_digest_grammar(case):
    assert str(build(case)) == case["expected"]["string"]
    assert_observed(lambda _: build(case), case["name"], case["observed"])


@cases("invalid-reference-components")
def test_invalid_components(case):
    def run(text: str) -> Reference:
        if case["function"] == "ParseNormalizedNamed":
            return rf.parse_normalized(text)
        named = rf.parse_normalized(case["name"])
        if case["function"] == "WithTag":
            return named.with_tag(case["tag"])
        return named.with_digest(case["digest"])

    assert not case["valid"]
    assert_observed(run, case.get("input", ""), case["observed"])


# Docker's reading: parse_normalized and friends.


@cases("parse-named")
def test_parse_named_requires_canonical_input(case):
    if case["valid"]:
        ref = rf.parse_named(case["input"])
        assert (ref.domain, ref.path) == (case["expected"]["domain"], case["expected"]["path"])
    else:
        with pytest.raises(InvalidReferenceError) as info:
            rf.parse_named(case["input"])
        assert str(info.value) == case["error_message"]
    assert_observed(rf.parse_named, case["input"], case["observed"])


@pytest.mark.parametrize(
    "case",
    GROUPS["validate-reference-name"] + GROUPS["validate-remote-name"],
    ids=lambda c: c["id"],
)
def test_normalized_name_validation(case):
    if case["valid"]:
        rf.parse_normalized(case["input"])
    else:
        with pytest.raises(InvalidReferenceError):
            rf.parse_normalized(case["input"])
    assert case["observed"]["ok"] is case["valid"]
    assert_observed(rf.parse_normalized, case["input"], case["observed"])


@cases("parse-repository-info")
def test_every_spelling_of_a_repository_normalizes_alike(case):
    ref = rf.parse_normalized(case["input"])
    expected = case["expected"]
    assert ref.familiar_name == expected["familiar_name"]
    assert str(ref) == expected["string"]
    assert (ref.domain, ref.path) == (expected["domain"], expected["path"])
    row = case["group_index"]
    siblings = [c for c in GROUPS["parse-repository-info"] if c["group_index"] == row]
    assert all(c["expected"] == expected for c in siblings)
    assert_observed(rf.parse_normalized, case["input"], case["observed"])


@cases("parse-reference-with-tag-and-digest")
def test_tag_and_digest_are_both_kept(case):
    ref = rf.parse_normalized(case["input"])
    assert str(ref) == case["expected"]["string"]
    assert (ref.tag is not None) is case["expected"]["tagged"]
    assert (ref.digest is not None) is case["expected"]["digested"]
    assert ref.familiar_string == case["expected"]["familiar_string"]
    assert_observed(rf.parse_normalized, case["input"], case["observed"])


@cases("normalized-split-hostname")
def test_normalized_domain_and_path(case):
    ref = rf.parse_normalized(case["input"])
    assert (ref.domain, ref.path) == (case["expected"]["domain"], case["expected"]["path"])
    assert_observed(rf.parse_normalized, case["input"], case["observed"])


@cases("parse-any-reference")
def test_parse_any_accepts_names_digests_and_image_ids(case):
    ref = rf.parse_any(case["input"])
    assert str(ref) == case["expected"]["string"]
    assert ref.digest_only is case["expected"]["digest_only"]
    if not case["expected"]["digest_only"]:
        assert ref == rf.parse(case["expected"]["equals_parse_of"])
    assert_observed(rf.parse_any, case["input"], case["observed"])


@cases("parse-docker-ref")
def test_parse_docker_ref(case):
    ref = rf.parse_docker_ref(case["input"])
    assert str(ref) == case["expected"]["string"]
    assert str(rf.parse(case["expected"]["string"])) == case["expected"]["string"]
    assert_observed(rf.parse_docker_ref, case["input"], case["observed"])


@cases("observed-extra")
def test_parse_and_parse_normalized_side_by_side(case):
    assert_observed(rf.parse, case["input"], observed_here(case, "observed_parse"))
    assert_observed(
        rf.parse_normalized,
        case["input"],
        observed_here(case, "observed_parse_normalized_named"),
    )


# Matching and sorting.


@cases("match")
def test_familiar_match(case):
    ref = rf.parse_any(case["input"])
    assert rf.familiar_match(case["pattern"], ref) is case["expected"]["match"]
    assert rf.familiar_match(case["pattern"], case["input"]) is case["observed"]["match"]


@cases("match-error")
def test_familiar_match_rejects_malformed_patterns(case):
    with pytest.raises(UsageError) as info:
        rf.familiar_match(case["pattern"], case["input"])
    assert str(info.value).startswith(case["observed"]["error"])
    assert case["pattern"] in str(info.value)


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("ubuntu", "ubuntu:22.04", True),
        ("ub?ntu:*", "ubuntu:22.04", True),
        ("*", "library/foo/bar", False),
        ("[a-c]*", "busybox", True),
        ("[^a-c]*", "busybox", False),
        ("[z-a]*", "busybox", False),
        (r"foo\:bar", "foo:bar", True),
        ("gcr.io/*/app", "gcr.io/proj/app:v1", True),
    ],
)
def test_glob_semantics(pattern, text, matches):
    assert rf.familiar_match(pattern, text) is matches


@pytest.mark.parametrize("pattern", ["[", "[]", "[a", "[a-", "abc\\", "[^]"])
def test_glob_syntax_errors(pattern):
    with pytest.raises(UsageError):
        rf.familiar_match(pattern, "busybox")


@cases("sort")
def test_sort_references(case):
    assert rf.sort_references(case["input_list"]) == case["expected"]["sorted"]
    assert rf.sort_references(case["input_list"]) == case["observed"]["sorted"]


# The grammar's regular expressions.


@cases("domain-regexp")
def test_domain_grammar(case):
    assert (rf.ANCHORED_DOMAIN_RE.fullmatch(case["input"]) is not None) is case["match"]


@cases("full-name-regexp")
def test_name_grammar(case):
    match = rf.ANCHORED_NAME_RE.fullmatch(case["input"])
    assert (match is not None) is case["match"]
    if match is not None and "subs" in case:
        assert (match.group(1) or "", match.group(2)) == (
            case["subs"]["domain"],
            case["subs"]["path"],
        )


@cases("reference-regexp")
def test_reference_grammar(case):
    match = rf.REFERENCE_RE.fullmatch(case["input"])
    assert (match is not None) is case["match"]
    if match is not None:
        name, tag, digest = match.groups()
        assert (name, tag or "", digest or "") == (
            case["subs"]["name"],
            case["subs"]["tag"],
            case["subs"]["digest"],
        )


@cases("identifier-regexp")
def test_identifier_grammar(case):
    assert (rf.ANCHORED_IDENTIFIER_RE.fullmatch(case["input"]) is not None) is case["match"]


# The Python API beyond the upstream tables.

DIGEST = "sha256:" + "e" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ubuntu", "docker.io/library/ubuntu:latest"),
        ("ubuntu:22.04", "docker.io/library/ubuntu:22.04"),
        (f"ubuntu@{DIGEST}", f"docker.io/library/ubuntu@{DIGEST}"),
        (f"ubuntu:22.04@{DIGEST}", f"docker.io/library/ubuntu:22.04@{DIGEST}"),
        ("localhost:5000/x", "localhost:5000/x:latest"),
        ("[::1]:5000/x", "[::1]:5000/x:latest"),
        ("index.docker.io/foo/bar", "docker.io/foo/bar:latest"),
    ],
)
def test_normalize_adds_latest_only_when_nothing_pins(text, expected):
    assert str(rf.normalize(text)) == expected


@pytest.mark.parametrize(
    ("text", "registry", "repository"),
    [
        ("ubuntu", "registry-1.docker.io", "library/ubuntu"),
        ("ghcr.io/owner/app", "ghcr.io", "owner/app"),
        ("[::1]:5000/x", "[::1]:5000", "x"),
        ("localhost:5000/a/b", "localhost:5000", "a/b"),
    ],
)
def test_registry_is_the_api_host(text, registry, repository):
    ref = rf.normalize(text)
    assert (ref.registry, ref.repository) == (registry, repository)


def test_with_and_without_return_new_references():
    ref = rf.normalize("alpine:3.20")
    pinned = ref.with_digest(DIGEST)
    assert str(pinned) == f"docker.io/library/alpine:3.20@{DIGEST}"
    assert str(pinned.without_tag()) == f"docker.io/library/alpine@{DIGEST}"
    assert str(pinned.without_digest()) == "docker.io/library/alpine:3.20"
    assert str(ref.with_tag("edge")) == "docker.io/library/alpine:edge"
    assert str(ref) == "docker.io/library/alpine:3.20"


@pytest.mark.parametrize(
    ("build_it", "message"),
    [
        (lambda: rf.normalize("alpine").with_tag("bad tag"), rf.ERR_TAG_INVALID_FORMAT),
        (lambda: rf.normalize("alpine").with_digest("nope"), rf.ERR_DIGEST_INVALID_FORMAT),
        (lambda: Reference("docker.io", "Library/x"), rf.ERR_REFERENCE_INVALID_FORMAT),
        (lambda: Reference("bad_host", "x"), rf.ERR_REFERENCE_INVALID_FORMAT),
        (lambda: Reference("", "", tag="t"), rf.ERR_REFERENCE_INVALID_FORMAT),
        (lambda: Reference("", "a" * 256), rf.ERR_NAME_TOO_LONG),
        (lambda: rf.parse_any(DIGEST).without_digest(), rf.ERR_REFERENCE_INVALID_FORMAT),
    ],
)
def test_references_are_validated_on_construction(build_it, message):
    with pytest.raises(InvalidReferenceError) as info:
        build_it()
    assert str(info.value) == message


def test_digest_only_reference_has_no_name():
    ref = rf.parse_any(DIGEST)
    assert ref.digest_only
    assert (ref.domain, ref.path, ref.name, str(ref)) == ("", "", "", DIGEST)


def test_errors_carry_the_input_and_a_short_reason():
    with pytest.raises(rf.ReferenceSyntaxError) as info:
        rf.parse_normalized("UBUNTU")
    exc = info.value
    assert str(exc) == (
        "invalid reference format: repository name (library/UBUNTU) must be lowercase"
    )
    assert exc.reference == "UBUNTU"
    assert exc.reason == rf.ERR_NAME_CONTAINS_UPPERCASE
    assert isinstance(exc, InvalidReferenceError)
    assert exc.exit_code == 2


def test_digest_errors_inside_a_reference_are_reference_errors():
    with pytest.raises(InvalidReferenceError) as info:
        rf.parse("repo@sha256:abc" + "d" * 40)
    assert str(info.value) == "invalid checksum digest length"
    assert info.value.reference == "repo@sha256:abc" + "d" * 40  # type: ignore[attr-defined]


def test_trailing_newline_is_not_accepted():
    with pytest.raises(InvalidReferenceError):
        rf.parse("ubuntu\n")


def test_split_docker_domain():
    assert rf.split_docker_domain("ubuntu:22.04") == ("docker.io", "library/ubuntu:22.04")
    assert rf.split_docker_domain("index.docker.io/x") == ("docker.io", "library/x")
    assert rf.split_docker_domain("me/app") == ("docker.io", "me/app")
    assert rf.split_docker_domain("quay.io/me/app") == ("quay.io", "me/app")
