"""Digest conformance: every case of ``conformance/digest.json`` plus the hashing API.

The JSON holds go-digest's own test tables and a generated matrix. This toolkit
supports sha256, sha384 and sha512, which is go-digest with sha384 registered: the
upstream ``parse`` group assumes exactly that (its ``precondition``), and for the
generated matrix the ``observed_with_sha384_registered`` column is the one that
applies. blake3 is not in the standard library and is deliberately unsupported, so
those cases assert go-digest's result without blake3 (``observed_default_registrations``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from imgdigest import digest as dg
from imgdigest.digest import Digest
from imgdigest.errors import InvalidDigestError, NotFoundError, VerificationError
from tests.shared import DATA as TABLES

DATA = json.loads((TABLES / "digest.json").read_text(encoding="utf-8"))
GROUPS: dict[str, list[dict[str, Any]]] = {g["id"]: g["cases"] for g in DATA["groups"]}
ERRORS: dict[str, str] = DATA["errors"]


def cases(group: str) -> Any:
    return pytest.mark.parametrize("case", GROUPS[group], ids=lambda c: c["id"])


def test_every_group_is_covered():
    assert set(GROUPS) == {
        "parse",
        "blake3",
        "algorithm-flag",
        "algorithm-name",
        "verifier-unsupported",
        "digestset",
        "generated-length-and-case",
    }


def test_supported_algorithms_have_the_registered_lengths():
    lengths = DATA["algorithm_encoded_hex_lengths"]
    assert {name: size * 2 for name, size in dg.ALGORITHMS.items()} == {
        name: lengths[name] for name in dg.ALGORITHMS
    }


def assert_parse_result(value: str, result: dict[str, Any]) -> None:
    if result["ok"]:
        d = Digest.parse(value)
        assert (d.algorithm, d.encoded) == (result["algorithm"], result["encoded"])
        assert str(d) == value
        assert Digest.parse(str(d)) == d
        assert dg.is_valid(value)
    else:
        with pytest.raises(InvalidDigestError) as info:
            Digest.parse(value)
        assert str(info.value) == result["error"]
        assert not dg.is_valid(value)


@cases("parse")
def test_parse_follows_go_digest(case):
    # The upstream table is run with sha384 registered, like this toolkit.
    if case["valid"]:
        d = Digest.parse(case["input"])
        assert d.algorithm == case["expected"]["algorithm"]
        assert d.encoded == case["expected"]["encoded"]
        assert str(d) == case["expected"]["string"]
        assert Digest.parse(str(d)) == d
    else:
        with pytest.raises(InvalidDigestError) as info:
            Digest.parse(case["input"])
        assert str(info.value) == case["error_message"] == ERRORS[case["error"]]
    assert_parse_result(case["input"], case["observed_with_sha384_registered"])


@cases("generated-length-and-case")
def test_length_and_case_matrix(case):
    assert_parse_result(case["input"], case["observed_with_sha384_registered"])


@cases("blake3")
def test_blake3_is_deliberately_unsupported(case):
    # blake3 needs a third-party hash; without it go-digest also says "unsupported".
    if "input" in case:
        assert_parse_result(case["input"], case["observed_default_registrations"])
    else:
        with pytest.raises(InvalidDigestError, match=dg.ERR_UNSUPPORTED):
            Digest.of(bytes.fromhex(case["input_bytes_hex"]), "blake3")


@cases("algorithm-flag")
def test_algorithm_choice_from_user_input(case):
    if case["value"] is None:
        assert case["expected"]["algorithm"] == dg.CANONICAL_ALGORITHM
    elif case["valid"]:
        assert dg.check_algorithm(case["value"]) == case["expected"]["algorithm"]
    else:
        with pytest.raises(InvalidDigestError) as info:
            dg.check_algorithm(case["value"])
        assert str(info.value) == case["error_message"]


@cases("algorithm-name")
def test_algorithm_name_grammar(case):
    assert dg.is_algorithm_name(case["name"]) is case["valid"]


@cases("verifier-unsupported")
def test_no_hasher_without_a_supported_algorithm(case):
    # Go panics when asked for a verifier of an unvalidated digest; here a Digest is
    # validated on construction, so neither parsing nor building one can succeed.
    with pytest.raises(InvalidDigestError):
        Digest.parse(case["input"])
    algorithm, _, encoded = case["input"].partition(":")
    with pytest.raises(InvalidDigestError):
        Digest(algorithm, encoded).verifier()


@pytest.mark.parametrize(
    "case",
    [
        {"set": c["set"], **lookup}
        for c in GROUPS["digestset"]
        if c["id"] == "digestset-lookup"
        for lookup in c["lookups"]
    ],
    ids=lambda c: c["query"],
)
def test_short_id_lookup(case):
    if case["valid"]:
        assert str(dg.lookup(case["set"], case["query"])) == case["expected"]["digest"]
    else:
        expected_error = NotFoundError if case["error"].endswith("NotFound") else InvalidDigestError
        with pytest.raises(expected_error) as info:
            dg.lookup(case["set"], case["query"])
        assert str(info.value) == f"{case['query']}: {case['error_message']}"


def test_short_code_table():
    (case,) = [c for c in GROUPS["digestset"] if c["id"] == "digestset-short-code-table"]
    codes = dg.short_codes(case["set"], case["min_length"])
    assert {str(d): short for d, short in codes.items()} == {
        row["digest"]: row["short"] for row in case["expected"]["short_codes"]
    }


def test_lookup_of_a_full_digest_returns_it_even_when_it_prefixes_nothing_else():
    full = "sha256:" + "1" * 64
    assert dg.lookup([full, "sha256:" + "2" * 64], full) == Digest.parse(full)


# The hashing API.

HELLO = b"hello\n"
HELLO_SHA256 = "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"


@pytest.mark.parametrize("algorithm", sorted(dg.ALGORITHMS))
def test_of_hashes_with_the_named_algorithm(algorithm):
    d = Digest.of(HELLO, algorithm)
    assert str(d) == f"{algorithm}:{hashlib.new(algorithm, HELLO).hexdigest()}"
    assert d.hasher().name == algorithm


def test_of_defaults_to_sha256():
    assert str(Digest.of(HELLO)) == HELLO_SHA256


def test_short_gives_leading_hex():
    d = Digest.parse(HELLO_SHA256)
    assert d.short() == "5891b5b522d5"
    assert d.short(4) == "5891"


def test_verifier_accepts_chunked_matching_content():
    v = Digest.parse(HELLO_SHA256).verifier()
    v.update(b"hel")
    v.update(b"lo\n")
    assert v.verified()
    assert str(v.actual) == HELLO_SHA256


def test_verifier_rejects_other_content_and_reports_what_it_saw():
    v = Digest.parse(HELLO_SHA256).verifier()
    v.update(b"goodbye\n")
    assert not v.verified()
    assert v.actual == Digest.of(b"goodbye\n")


def test_verify_passes_silently_on_match():
    dg.verify(HELLO, HELLO_SHA256, "blob")
    dg.verify(HELLO, Digest.of(HELLO, "sha512"), "blob")


def test_verify_names_the_content_and_both_digests_on_mismatch():
    with pytest.raises(VerificationError) as info:
        dg.verify(b"tampered", HELLO_SHA256, "manifest example.com/app@sha256:5891")
    assert str(info.value) == (
        f"manifest example.com/app@sha256:5891: content does not match digest {HELLO_SHA256};"
        f" got {Digest.of(b'tampered')}"
    )


def test_digests_are_values():
    a, b = Digest.parse(HELLO_SHA256), Digest.parse(HELLO_SHA256)
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.encoded = "0" * 64  # type: ignore[misc]
