"""A local blob is read bounded and hashed as it is read, by a layout and an archive alike."""

from __future__ import annotations

import io

import pytest

from imgdigest.digest import Digest
from imgdigest.errors import UsageError, VerificationError
from imgdigest.sources.base import CHUNK, read_verified, verified_chunks

DATA = b"x" * (CHUNK + 10)
DIGEST = str(Digest.of(DATA))


def test_a_blob_within_the_bound_is_returned_verified() -> None:
    assert read_verified(io.BytesIO(DATA), DIGEST, "b", len(DATA)) == DATA


def test_a_blob_over_the_bound_is_refused_before_hashing() -> None:
    with pytest.raises(UsageError, match=rf"^b: blob larger than {len(DATA) - 1} bytes$"):
        read_verified(io.BytesIO(DATA), DIGEST, "b", len(DATA) - 1)


def test_a_blob_that_does_not_hash_to_its_digest_is_refused() -> None:
    with pytest.raises(VerificationError, match=r"^b: content does not match its digest"):
        read_verified(io.BytesIO(DATA + b"!"), DIGEST, "b", 2 * len(DATA))


def test_chunks_pass_through_and_a_mismatch_fails_at_the_end() -> None:
    assert b"".join(verified_chunks(io.BytesIO(DATA), DIGEST, "b")) == DATA
    seen: list[bytes] = []
    with pytest.raises(VerificationError, match=r"^b: content does not match its digest"):
        seen.extend(verified_chunks(io.BytesIO(DATA[:-1] + b"!"), DIGEST, "b"))
    assert sum(map(len, seen)) == len(DATA)
