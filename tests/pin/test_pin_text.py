"""Pinning file text offline from a lock: only image scalars change, in place, in style."""

from __future__ import annotations

import pytest

from imgdigest.pin import PinOptions, pin_text_document

from .helpers import D, fake_digest, lock_for

REFS = (
    "nginx:1.25",
    "nginx",
    "busybox:1.36",
    "ghcr.io/org/app:v2",
    "my.reg/redis:7",
    "golang:1.22",
)


def pinned(text: str, file: str, **kw: object) -> str:
    options = PinOptions(lock=lock_for(*REFS), offline=True, **kw)  # type: ignore[arg-type]
    plan = pin_text_document(text, file, options)
    assert not plan.failures, [str(f) for f in plan.failures]
    assert not plan.errors
    out = plan.files[0].new_text
    assert out is not None
    return out


CASES = [
    # (case, file name, input, expected output)
    (
        "plain",
        "a.yaml",
        "kind: Pod\nspec:\n  containers:\n  - image: nginx:1.25\n",
        f"kind: Pod\nspec:\n  containers:\n  - image: nginx:1.25@{D}\n",
    ),
    (
        "double quoted, comment kept",
        "a.yaml",
        'kind: Pod\nspec:\n  containers:\n  - image: "nginx:1.25"  # web\n',
        f'kind: Pod\nspec:\n  containers:\n  - image: "nginx:1.25@{D}"  # web\n',
    ),
    (
        "single quoted",
        "a.yaml",
        "kind: Pod\nspec:\n  containers:\n  - image: 'nginx:1.25'\n",
        f"kind: Pod\nspec:\n  containers:\n  - image: 'nginx:1.25@{D}'\n",
    ),
    (
        "CRLF and trailing spaces",
        "a.yaml",
        "kind: Pod  \r\nspec:\r\n  containers:\r\n  - image: nginx:1.25   \r\n",
        f"kind: Pod  \r\nspec:\r\n  containers:\r\n  - image: nginx:1.25@{D}   \r\n",
    ),
    (
        "flow style",
        "a.yaml",
        "kind: Pod\nspec: {containers: [{name: a, image: busybox:1.36,},]}  # x\n",
        f"kind: Pod\nspec: {{containers: [{{name: a, image: busybox:1.36@{D},}},]}}  # x\n",
    ),
    (
        "no tag keeps its spelling",
        "a.yaml",
        "kind: Pod\nspec:\n  containers:\n  - image: nginx\n",
        f"kind: Pod\nspec:\n  containers:\n  - image: nginx@{D}\n",
    ),
    (
        "anchor and alias",
        "a.yaml",
        "kind: Pod\nspec:\n  initContainers:\n  - image: &img nginx:1.25\n"
        "  containers:\n  - image: *img\n",
        f"kind: Pod\nspec:\n  initContainers:\n  - image: &img nginx:1.25@{D}\n"
        "  containers:\n  - image: *img\n",
    ),
    (
        "multi-document with separators",
        "a.yaml",
        "---\nkind: Service\n---\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - image: ghcr.io/org/app:v2\n...\n",
        "---\nkind: Service\n---\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        f"      containers:\n      - image: ghcr.io/org/app:v2@{D}\n...\n",
    ),
    (
        "JSON",
        "pod.json",
        '{"kind": "Pod", "spec": {"containers": [{"image": "nginx:1.25"}]}}',
        f'{{"kind": "Pod", "spec": {{"containers": [{{"image": "nginx:1.25@{D}"}}]}}}}',
    ),
    (
        "kustomize newTag becomes TAG@DIGEST",
        "kustomization.yaml",
        'images:\n- name: nginx\n  newTag: "1.25"\n'
        "- name: redis\n  newName: my.reg/redis\n  newTag: 7\n",
        f'images:\n- name: nginx\n  newTag: "1.25@{D}"\n- name: redis\n  newName: my.reg/redis\n'
        f"  newTag: 7@{D}\n",
    ),
    (
        "Dockerfile FROM, COPY --from, RUN --mount from",
        "Dockerfile",
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\r\n"
        "RUN --mount=type=cache,from=busybox:1.36,target=/x true\r\n"
        "FROM build\r\nCOPY --from=build /a /a\r\nCOPY --from=nginx:1.25 /b /b\r\n",
        f"FROM --platform=$BUILDPLATFORM golang:1.22@{D} AS build\r\n"
        f"RUN --mount=type=cache,from=busybox:1.36@{D},target=/x true\r\n"
        f"FROM build\r\nCOPY --from=build /a /a\r\nCOPY --from=nginx:1.25@{D} /b /b\r\n",
    ),
    (
        "Compose",
        "compose.yaml",
        "services:\n  web:\n    image: nginx:1.25\n",
        f"services:\n  web:\n    image: nginx:1.25@{D}\n",
    ),
    (
        "workflow container, service and docker:// step",
        ".github/workflows/ci.yml",
        "jobs:\n  t:\n    container: golang:1.22\n    services:\n"
        "      db: {image: 'my.reg/redis:7'}\n"
        "    steps:\n    - uses: docker://busybox:1.36\n",
        f"jobs:\n  t:\n    container: golang:1.22@{D}\n    services:\n"
        f"      db: {{image: 'my.reg/redis:7@{D}'}}\n"
        f"    steps:\n    - uses: docker://busybox:1.36@{D}\n",
    ),
    (
        "byte-order mark kept",
        "a.yaml",
        "\ufeffkind: Pod\nspec:\n  containers:\n  - image: nginx:1.25",
        f"\ufeffkind: Pod\nspec:\n  containers:\n  - image: nginx:1.25@{D}",
    ),
]


@pytest.mark.parametrize(("case", "file", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_pin_rewrites_only_the_image_scalar(case, file, text, expected):
    assert pinned(text, file) == expected


@pytest.mark.parametrize(("case", "file", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_pinning_a_pinned_file_changes_nothing(case, file, text, expected):
    assert pinned(expected, file) == expected


def test_drop_tag_writes_name_at_digest():
    text = "kind: Pod\nspec:\n  containers:\n  - image: 'ghcr.io/org/app:v2'\n"
    assert pinned(text, "a.yaml", keep_tag=False) == (
        f"kind: Pod\nspec:\n  containers:\n  - image: 'ghcr.io/org/app@{D}'\n"
    )


def test_update_replaces_a_moved_digest_and_keeps_a_current_one():
    old = fake_digest("old")
    text = (
        f"kind: Pod\nspec:\n  containers:\n  - image: nginx:1.25@{old}\n"
        f"  - image: busybox:1.36@{D}\n  - image: ghcr.io/org/app@{old}\n"
    )
    plan = pin_text_document(
        text, "a.yaml", PinOptions(lock=lock_for(*REFS), offline=True, update=True)
    )
    assert plan.files[0].new_text == text.replace(f"nginx:1.25@{old}", f"nginx:1.25@{D}")
    assert [c.mode for c in plan.changes] == ["update"]
    assert any("pinned without a tag" in str(n) for n in plan.notes)


def test_without_update_an_existing_pin_is_left_alone():
    text = f"kind: Pod\nspec:\n  containers:\n  - image: nginx:1.25@{fake_digest('old')}\n"
    assert pinned(text, "a.yaml") == text


def test_kustomize_entry_with_digest_gets_its_digest_updated():
    old = fake_digest("old")
    text = f"images:\n- name: nginx\n  newTag: '1.25'\n  digest: {old}\n"
    options = PinOptions(lock=lock_for(*REFS), offline=True, update=True)
    plan = pin_text_document(text, "kustomization.yaml", options)
    assert plan.files[0].new_text == text.replace(old, D)
    assert [(c.line, c.column, c.old) for c in plan.changes] == [(4, 11, old)]


@pytest.mark.parametrize(
    ("case", "text", "note"),
    [
        (
            "escaped double-quoted value",
            'kind: Pod\nspec:\n  containers:\n  - image: "nginx:1.2\\x35"\n',
            "escapes",
        ),
        (
            "folded over two lines",
            "kind: Pod\nspec:\n  containers:\n  - image: >-\n      nginx:1.25\n",
            "escapes or line folding",
        ),
        ("a number", "kind: Pod\nspec:\n  containers:\n  - image: 125\n", "not a string"),
    ],
)
def test_values_not_written_as_themselves_are_left_alone_with_a_note(case, text, note):
    plan = pin_text_document(text, "a.yaml", PinOptions(lock=lock_for(*REFS), offline=True))
    assert plan.files[0].new_text == text
    assert any(note in str(n) for n in plan.notes), [str(n) for n in plan.notes]


def test_a_reference_missing_from_the_lock_fails_with_file_line_reference_reason():
    text = "kind: Pod\nspec:\n  containers:\n  - image: nginx:1.25\n  - image: alpine:3\n"
    plan = pin_text_document(text, "a.yaml", PinOptions(lock=lock_for(*REFS), offline=True))
    assert [str(f) for f in plan.failures] == ["a.yaml:5: alpine:3: not in the lock file (offline)"]
    assert plan.exit_code == 3
    assert list(plan.replacements()) == [] and plan.writable() == []


def test_an_invalid_reference_is_a_usage_failure_naming_file_and_line():
    text = "kind: Pod\nspec:\n  containers:\n  - image: Nginx:1.25\n"
    plan = pin_text_document(text, "a.yaml", PinOptions(lock=lock_for(*REFS), offline=True))
    (failure,) = plan.failures
    assert str(failure).startswith("a.yaml:4: Nginx:1.25: ")
    assert failure.exit_code == 2


def test_invalid_yaml_is_reported_with_line_and_left_untouched():
    text = "kind: Pod\nspec:\n  containers:\n  - image: nginx:1.25\n   bad: [\n"
    plan = pin_text_document(text, "a.yaml", PinOptions(lock=lock_for(*REFS), offline=True))
    (error,) = plan.errors
    assert str(error).startswith("a.yaml:")
    assert plan.changed_files == []
    assert plan.exit_code == 2


def test_platform_pin_from_a_lock_with_index_children():
    from imgdigest.lock import Lock, LockEntry

    arm = fake_digest("arm64")
    lock = Lock([LockEntry("docker.io/library/nginx:1.25", D, children={"linux/arm64": arm})])
    text = "kind: Pod\nspec:\n  containers:\n  - image: nginx:1.25\n"
    plan = pin_text_document(
        text, "a.yaml", PinOptions(lock=lock, offline=True, platform="linux/arm64/v8")
    )
    assert plan.files[0].new_text == text.replace("nginx:1.25", f"nginx:1.25@{arm}")


def test_changes_report_file_line_column_old_and_new():
    text = 'kind: Pod\nspec:\n  containers:\n  - image: "nginx:1.25"\n'
    plan = pin_text_document(text, "a.yaml", PinOptions(lock=lock_for(*REFS), offline=True))
    assert [c.to_json() for c in plan.changes] == [
        {
            "file": "a.yaml",
            "line": 4,
            "column": 13,
            "old": "nginx:1.25",
            "new": f"nginx:1.25@{D}",
            "reference": "docker.io/library/nginx:1.25",
            "digest": D,
            "mode": "pin",
        }
    ]
