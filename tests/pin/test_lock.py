"""Lock files: our JSON, `pack build --quiet` lines and buildx metadata all read as locks."""

from __future__ import annotations

import json

import pytest

from imgdigest.errors import ConfigError
from imgdigest.lock import Lock, LockEntry, loads, read_lock
from imgdigest.reference import normalize

from .helpers import fake_digest

A = fake_digest("a")
B = fake_digest("b")


def test_own_format_round_trips_with_platforms_and_children():
    lock = Lock(
        [
            LockEntry(
                "docker.io/library/nginx:1.25",
                A,
                None,
                "application/vnd.oci.image.index.v1+json",
                {"linux/amd64": B},
            ),
            LockEntry("docker.io/library/nginx:1.25", B, "linux/amd64"),
        ]
    )
    again = loads(lock.dumps())
    assert again.entries() == lock.entries()
    assert json.loads(lock.dumps())["imgdigest-lock"] == 1


@pytest.mark.parametrize(
    ("case", "text", "ref", "digest"),
    [
        ("pack prints name@digest", f"gcr.io/proj/app@{A}\n", "gcr.io/proj/app:v3", A),
        ("name:tag@digest line", f"# built\n\napp:v3@{A}\n", "docker.io/library/app:v3", A),
        (
            "buildx metadata",
            json.dumps(
                {"containerimage.digest": A, "image.name": "reg.io/a/b:1,reg.io/a/b:latest"}
            ),
            "reg.io/a/b:latest",
            A,
        ),
        (
            "buildx bake metadata, one object per target",
            json.dumps(
                {
                    "web": {"containerimage.digest": A, "image.name": "reg.io/web:1"},
                    "api": {"containerimage.digest": B, "image.name": "reg.io/api:1"},
                }
            ),
            "reg.io/api:1",
            B,
        ),
    ],
)
def test_build_outputs_read_as_locks(case, text, ref, digest):
    entry = loads(text).lookup(normalize(ref))
    assert entry is not None and entry.digest == digest


def test_an_exact_tag_entry_wins_over_the_repository_entry():
    lock = loads(f"reg.io/app@{A}\nreg.io/app:v1@{B}\n")
    assert lock.lookup(normalize("reg.io/app:v1")).digest == B  # type: ignore[union-attr]
    assert lock.lookup(normalize("reg.io/app:v2")).digest == A  # type: ignore[union-attr]
    assert lock.lookup(normalize("reg.io/other:v1")) is None


def test_a_platform_question_is_answered_from_an_index_entry_children():
    lock = Lock([LockEntry("reg.io/app:v1", A, children={"linux/arm/v7": B})])
    assert lock.lookup(normalize("reg.io/app:v1"), "linux/armhf").digest == B  # type: ignore[union-attr]
    assert lock.lookup(normalize("reg.io/app:v1"), "linux/arm64") is None


@pytest.mark.parametrize(
    ("case", "text", "message"),
    [
        ("line without digest", "app:v1\n", "lock.txt:1: app:v1: expected name@digest"),
        ("bad reference on line 2", f"# c\nApp@{A}\n", "lock.txt:2: App@"),
        (
            "bad digest in buildx",
            '{"containerimage.digest": "sha256:zz", "image.name": "a"}',
            "lock.txt: ",
        ),
        ("JSON of another kind", '{"hello": 1}', "neither an imgdigest lock nor buildx metadata"),
        (
            "future lock version",
            '{"imgdigest-lock": 9, "images": []}',
            "unsupported lock version 9",
        ),
        ("broken JSON", "{", "lock.txt:1: lock file is not valid JSON"),
    ],
)
def test_malformed_locks_are_usage_errors_naming_file_and_line(case, text, message):
    with pytest.raises(ConfigError) as info:
        loads(text, "lock.txt")
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_read_lock_merges_files_later_ones_winning(tmp_path):
    (tmp_path / "a").write_text(f"reg.io/app:v1@{A}\n")
    (tmp_path / "b").write_text(f"reg.io/app:v1@{B}\n")
    assert (
        read_lock([tmp_path / "a", tmp_path / "b"]).lookup(normalize("reg.io/app:v1")).digest == B
    )  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="cannot read lock file"):
        read_lock(tmp_path / "missing")


def _lock_json(**item: object) -> str:
    return json.dumps({"imgdigest-lock": 1, "images": [{"reference": "reg.io/a:1", **item}]})


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x00\x01\x02\x03", ": lock file is a binary file, not text"),
        (f"reg.io/a:1@{A}\n# caf\xe9\n".encode("latin-1"), ":2: lock file is not UTF-8 text"),
        (b"{not json", ":1: lock file is not valid JSON: Expecting property name"),
        (b'[{"reference": "reg.io/a:1"}]', ": lock file must be a JSON object, got array"),
        (b"[" * 100_000 + b"]" * 100_000, ": lock file is nested too deeply"),
        (b'{"imgdigest-lock": true, "images": []}', ": unsupported lock version true"),
        (b'{"imgdigest-lock": "1", "images": []}', ': unsupported lock version "1"'),
        (b'{"imgdigest-lock": 1, "images": {}}', ": images: expected an array, got object"),
        (_lock_json(digest=A, platform=5).encode(), ": images[0].platform: expected a string"),
        (_lock_json(digest=A, media_type=[]).encode(), ": images[0].media_type: expected a"),
        (_lock_json(digest=5).encode(), ": images[0]: digest must be a string"),
        (_lock_json(digest=A, children=[B]).encode(), ": images[0]: 'children' must map"),
        (
            json.dumps(
                {
                    "containerimage.digest": A,
                    "image.name": "reg.io/a:1",
                    "containerimage.descriptor": [],
                }
            ).encode(),
            ": containerimage.descriptor: expected an object, got array",
        ),
        (
            json.dumps(
                {
                    "containerimage.digest": A,
                    "image.name": "reg.io/a:1",
                    "containerimage.descriptor": {"mediaType": 7},
                }
            ).encode(),
            ": containerimage.descriptor.mediaType: expected a string, got integer",
        ),
    ],
)
def test_hostile_lock_file_is_one_exit_2_line_through_pin(tmp_path, capsys, content, problem):
    from imgdigest.cli.main import main

    (tmp_path / "k.yaml").write_text("image: reg.io/a:1\n")
    lock = tmp_path / "images.lock"
    lock.write_bytes(content)
    code = main(["pin", str(tmp_path / "k.yaml"), "--lock", str(lock), "--offline"])
    out, err = capsys.readouterr()
    assert (code, out) == (ConfigError.exit_code, "")
    assert err.startswith(f"imgdigest: error: {lock}{problem}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert (tmp_path / "k.yaml").read_text() == "image: reg.io/a:1\n"


def test_oversized_or_unreadable_lock_file(tmp_path):
    big = tmp_path / "big.lock"
    with big.open("wb") as f:
        f.truncate(65 * 1024 * 1024)  # sparse
    with pytest.raises(ConfigError) as info:
        read_lock(big)
    assert str(info.value) == f"{big}: lock file is larger than 64 MiB"
    with pytest.raises(ConfigError) as info:
        read_lock(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot read lock file: Is a directory"
