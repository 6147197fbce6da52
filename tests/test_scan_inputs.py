"""Hostile inputs to ``check`` and ``pin`` through the real CLI: never hang, crash or pass.

FIFOs, devices, symlink loops, unreadable files, Helm templates without their chart,
files in UTF-16/32 and files that cannot be decoded. Each case names the exact exit
code and message; ``pin`` runs offline from a lock file, so no registry is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgdigest.cli.main import main
from tests.rss import peak_rss

D64 = "sha256:" + "a" * 64
POD = "kind: Pod\nspec:\n  containers:\n  - name: web\n    image: nginx:1.25  # keep\n"
PINNED = POD.replace("nginx:1.25", f"nginx:1.25@{D64}")
#: what check prints for POD's one container, after the file name
VIOLATION = ":5:12: container <web> uses an image without a digest <nginx:1.25>\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def lock(tmp_path: Path) -> str:
    path = tmp_path / "images.lock"
    path.write_text(f"docker.io/library/nginx:1.25@{D64}\n")
    return str(path)


def pin(*args: str, lock: str) -> list[str]:
    return ["pin", "--offline", "--lock", lock, *args]


# --- 1. things that are not regular files ------------------------------------------------


@pytest.fixture
def odd_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "pod.yaml").write_text(POD)
    os.mkfifo(root / "fifo.yaml")
    os.symlink("b.yaml", root / "a.yaml")  # a -> b -> a
    os.symlink("a.yaml", root / "b.yaml")
    os.symlink("..", root / "up.yaml")  # a directory link to its parent
    os.symlink("missing.yaml", root / "dangling.yaml")
    return root


def test_check_skips_fifo_and_symlink_loops_with_notes(
    odd_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "check", str(odd_tree))
    assert code == 1
    assert out == f"{odd_tree}/pod.yaml{VIOLATION}"
    assert err.splitlines() == [
        f"imgdigest: note: {odd_tree}/a.yaml: symlink loop: skipped",
        f"imgdigest: note: {odd_tree}/b.yaml: symlink loop: skipped",
        f"imgdigest: note: {odd_tree}/dangling.yaml: broken symlink: skipped",
        f"imgdigest: note: {odd_tree}/fifo.yaml: a FIFO, not a regular file: skipped",
        "imgdigest check: 1 image in 5 files, 1 violation",
    ]


def test_pin_skips_fifo_and_symlink_loops_and_pins_the_rest(
    odd_tree: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *pin("--write", str(odd_tree), lock=lock))
    assert code == 0, err
    assert (odd_tree / "pod.yaml").read_text() == PINNED
    assert f"imgdigest: note: {odd_tree}/a.yaml: symlink loop: skipped" in err.splitlines()
    assert (
        f"imgdigest: note: {odd_tree}/fifo.yaml: a FIFO, not a regular file: skipped"
        in err.splitlines()
    )


def test_a_fifo_named_on_the_command_line_never_blocks(odd_tree: Path) -> None:
    fifo = str(odd_tree / "fifo.yaml")
    p = subprocess.run(
        [sys.executable, "-m", "imgdigest", "check", fifo],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode == 0
    assert p.stderr == (
        f"imgdigest: note: {fifo}: a FIFO with no writer: nothing to read\n"
        "imgdigest check: 0 images in 1 file, 0 violations\n"
    )


def test_a_fifo_with_a_writer_is_read_like_process_substitution(odd_tree: Path) -> None:
    fifo = str(odd_tree / "fifo.yaml")
    script = f'{sys.executable} -m imgdigest check "{fifo}" & printf %s "$POD" > "{fifo}"; wait $!'
    env = {**os.environ, "POD": POD}
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 1, p.stderr
    assert p.stdout == f"{fifo}{VIOLATION}"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("/dev/zero", "a character device, not a regular file"),
        ("LOOP", "symlink loop"),
    ],
)
def test_a_device_or_loop_named_directly_is_an_error_exit_2(
    name: str, message: str, odd_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(odd_tree / "a.yaml") if name == "LOOP" else name
    code, out, err = run(capsys, "check", path)
    assert code == 2
    assert out == ""
    assert err.splitlines()[0] == f"imgdigest: error: {path}: {message}"


SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(SETPRIV is None, reason="setpriv (util-linux) drops root's file access")
def test_an_unreadable_file_is_an_error_and_the_others_are_still_checked(tmp_path: Path) -> None:
    """chmod 000 means nothing to root, so the run drops root's override capabilities."""
    (tmp_path / "pod.yaml").write_text(POD)
    secret = tmp_path / "secret.yaml"
    secret.write_text(POD)
    secret.chmod(0)
    drop = "-dac_override,-dac_read_search"
    setpriv = [SETPRIV or "", f"--bounding-set={drop}", f"--inh-caps={drop}"]
    p = subprocess.run(
        [*setpriv, sys.executable, "-m", "imgdigest", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2, p.stderr
    assert p.stdout == f"{tmp_path}/pod.yaml{VIOLATION}"
    assert p.stderr.splitlines() == [
        f"imgdigest: error: {secret}: cannot read: Permission denied",
        "imgdigest check: 1 image in 2 files, 1 violation, 1 unreadable",
    ]


# --- 2. Helm templates without a chart, and crashes kept to their file --------------------


HELM_IMAGE = "kind: Pod\nspec:\n  containers:\n  - name: web\n    image: {{ .Values.image }}\n"
HELM_IF = "{{- if .Values.x }}\n" + POD + "{{- end }}\n"


@pytest.mark.parametrize(("text", "line"), [(HELM_IMAGE, 5), (HELM_IF, 1)])
def test_a_helm_template_without_its_chart_is_a_note_for_check_and_pin(
    text: str, line: int, tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.yaml").write_text(text)
    (tmp_path / "pod.yaml").write_text(POD)
    helm = "Helm template left alone (not YAML until rendered)"
    note = f"imgdigest: note: {tmp_path}/t.yaml:{line}: {helm}"
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 1
    assert out == f"{tmp_path}/pod.yaml{VIOLATION}"
    assert note in err.splitlines()
    code, _, err = run(capsys, *pin("--write", str(tmp_path), lock=lock))
    assert code == 0, err
    assert note in err.splitlines()
    assert (tmp_path / "pod.yaml").read_text() == PINNED
    assert (tmp_path / "t.yaml").read_text() == text


def test_an_unbuildable_value_without_braces_is_an_error_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text(POD.replace("nginx:1.25", "{[a]: b}"))
    (tmp_path / "pod.yaml").write_text(POD)
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 2
    assert out.endswith("uses an image without a digest <nginx:1.25>\n")
    assert err.splitlines()[0].startswith(f"imgdigest: error: {tmp_path}/bad.yaml:5:")
    assert "found unhashable key" in err.splitlines()[0]


def test_an_unexpected_crash_in_one_file_is_that_files_error(
    tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one reader must not lose the report on every other file."""
    import imgdigest.documents.finder as finder

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise KeyError("boom")

    monkeypatch.setattr(finder, "compose_sites", broken)
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n")
    (tmp_path / "pod.yaml").write_text(POD)
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 2
    assert out == f"{tmp_path}/pod.yaml{VIOLATION}"
    assert err.splitlines()[0] == (
        f"imgdigest: error: {tmp_path}/compose.yaml: "
        "internal error while scanning: KeyError('boom')"
    )
    code, _, err = run(capsys, *pin("--write", str(tmp_path), lock=lock))
    assert code == 2
    assert err.splitlines()[0] == (
        f"imgdigest: error: {tmp_path}/compose.yaml: "
        "internal error while scanning: KeyError('boom')"
    )
    assert (tmp_path / "pod.yaml").read_text() == PINNED


# --- 3. encodings ---------------------------------------------------------------------------


ENCODINGS = [
    ("utf-8-sig", b"\xef\xbb\xbf"),
    ("utf-16-le", b"\xff\xfe"),
    ("utf-16-be", b"\xfe\xff"),
    ("utf-32-le", b"\xff\xfe\x00\x00"),
    ("utf-32-be", b"\x00\x00\xfe\xff"),
]


@pytest.mark.parametrize(("codec", "bom"), ENCODINGS)
def test_a_pod_with_a_bom_is_checked_and_pinned_in_its_own_encoding(
    codec: str, bom: bytes, tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = POD.replace("\n", "\r\n") + "# caf\u00e9 \u4e2d\r\n"
    data = bom + text.encode(codec.removesuffix("-sig"))
    path = tmp_path / "pod.yaml"
    path.write_bytes(data)
    code, out, _ = run(capsys, "check", str(path))
    assert code == 1
    assert out == f"{path}:5:12: container <web> uses an image without a digest <nginx:1.25>\n"
    code, _, err = run(capsys, *pin("--write", str(path), lock=lock))
    assert code == 0, err
    want = bom + text.replace("nginx:1.25", f"nginx:1.25@{D64}").encode(codec.removesuffix("-sig"))
    assert path.read_bytes() == want
    code, out, _ = run(capsys, "check", str(path))
    assert (code, out) == (0, "")


NUL = "NUL byte: not a text file, cannot be checked"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            POD.encode().replace(b"nginx", b"ngi\xe9nx"),
            "pod.yaml:5: not valid UTF-8 (byte 0xe9 at offset 58), cannot be checked",
        ),
        (POD.encode().replace(b"kind", b"ki\0d"), f"pod.yaml:1: {NUL}"),
        (POD.encode("utf-16-le"), f"pod.yaml:1: {NUL}"),
        (
            b"\xff\xfe" + POD.encode("utf-16-le")[:-1],
            "pod.yaml: not valid UTF-16LE (byte 0x0a at offset 148), cannot be checked",
        ),
    ],
    ids=["latin-1", "nul", "utf-16-without-bom", "odd-utf-16"],
)
def test_a_file_that_cannot_be_decoded_fails_the_check(
    data: bytes, error: str, tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pod.yaml"
    path.write_bytes(data)
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 2
    assert out == ""
    assert err.splitlines()[0] == f"imgdigest: error: {tmp_path}/{error}"
    code, _, err = run(capsys, *pin("--write", str(tmp_path), lock=lock))
    assert code == 2
    assert err.splitlines()[0] == f"imgdigest: error: {tmp_path}/{error}"
    assert path.read_bytes() == data


# --- 6. one note format, English plurals, SARIF rule text --------------------------------------


def test_check_and_pin_print_notes_the_same_way(
    tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(POD.replace("nginx:1.25", "'{{ .Values.image }}'"))
    want = f"imgdigest: note: {path}:5: templated image left alone: {{{{ .Values.image }}}}"
    _, _, check_err = run(capsys, "check", str(path))
    _, _, pin_err = run(capsys, *pin(str(path), lock=lock))
    assert check_err.splitlines()[0] == want
    assert pin_err.splitlines()[0] == want


@pytest.mark.parametrize(
    ("files", "summary"),
    [
        (["pod.yaml"], "imgdigest check: 1 image in 1 file, 1 violation"),
        (["empty.yaml"], "imgdigest check: 0 images in 1 file, 0 violations"),
        (["pod.yaml", "two.yaml"], "imgdigest check: 3 images in 2 files, 3 violations"),
    ],
)
def test_check_summary_counts_in_english(
    files: list[str], summary: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = {"pod.yaml": POD, "empty.yaml": "", "two.yaml": POD + "---\n" + POD}
    for name in files:
        (tmp_path / name).write_text(contents[name])
    _, _, err = run(capsys, "check", *(str(tmp_path / n) for n in files))
    assert err.splitlines()[-1] == summary


def test_pin_summary_counts_in_english(
    tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(POD)
    _, _, err = run(capsys, *pin(str(path), lock=lock))
    assert err.splitlines()[-1] == (
        "imgdigest: 1 reference in 1 file would change (1 unique, 1 from lock)"
    )
    path.write_text(POD.replace("nginx:1.25", "nginx:9"))
    code, _, err = run(capsys, *pin("--write", str(path), lock=lock))
    assert code == 3
    assert err.splitlines()[-1] == (
        "imgdigest: nothing written: 1 reference failed; 0 references in 0 files would change"
        " (1 unique, 0 from lock, 1 failed)"
    )


def test_sarif_rules_read_as_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    (tmp_path / "pod.yaml").write_text(POD)
    _, out, _ = run(capsys, "check", "--format", "sarif", str(tmp_path))
    rules = {
        r["id"]: r["shortDescription"]["text"]
        for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    }
    assert rules["no-digest"] == "an image without a digest"
    assert rules["invalid-reference"] == "an invalid image reference"
    assert rules["tag-moved"] == "a digest its tag no longer points at"


# --- 7. text from files never drives the terminal -------------------------------------------


HOSTILE = (
    'kind: Pod\nspec:\n  containers:\n  - name: "w\\e[31meb\\u202e"\n'
    '    image: "nginx\\e[2J:1\\u202e"\n'
)


def test_control_and_bidi_characters_are_escaped_in_every_message(
    tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "po\x1b[1md\u2066.yaml"
    path.write_text(HOSTILE)
    shown = f"{tmp_path}/po\\x1b[1md\\u2066.yaml"
    image = "nginx\\x1b[2J:1\\u202e"
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 1
    assert out == (
        f"{shown}:5:13: container <w\\x1b[31meb\\u202e> uses an image without a digest <{image}>\n"
    )
    _, out, _ = run(capsys, "check", "--format", "github", str(tmp_path))
    assert "\x1b" not in out and "\u202e" not in out and f"file={shown}," in out
    code, _, err = run(capsys, *pin(str(tmp_path), lock=lock))
    assert code == 0
    assert err.splitlines()[0] == (
        f"imgdigest: note: {shown}:5: {image}: "
        "value written with escapes or line folding left alone"
    )
    path.write_text(POD.replace("nginx:1.25", "nginx:1.25\u202e"))  # the raw character
    code, _, err = run(capsys, *pin(str(tmp_path), lock=lock))
    assert code == 2
    assert err.splitlines()[0].startswith(f"{shown}:5: nginx:1.25\\u202e: ")
    assert "\x1b" not in err and "\u2066" not in err and "\u202e" not in err


# --- 4. one huge line: cut short for libyaml, positions still exact -------------------------


BLOB = "Zm9v" * 40_000  # 160,000 characters of base64, far past the cut threshold


def test_a_huge_line_keeps_exact_positions_for_check_and_pin(
    tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = (
        '{"kind":"Pod","metadata":{"annotations":{"blob":"' + BLOB + '"}},'
        '"spec":{"containers":[{"name":"web","image":"nginx:1.25"}]}}'
    )
    text = f"# one line\n{line}\n---\n{POD}"
    path = tmp_path / "big.yaml"
    path.write_text(text)
    column = line.index("nginx:1.25") + 1
    code, out, _ = run(capsys, "check", str(path))
    assert code == 1
    assert out == (
        f"{path}:2:{column}: container <web> uses an image without a digest <nginx:1.25>\n"
        f"{path}:8:12: container <web> uses an image without a digest <nginx:1.25>\n"
    )
    code, _, err = run(capsys, *pin("--write", str(path), lock=lock))
    assert code == 0, err
    assert path.read_text() == text.replace("nginx:1.25", f"nginx:1.25@{D64}")


def test_a_syntax_error_after_a_huge_run_names_its_true_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(f"kind: Pod\nmetadata: {{annotations: {{blob: {BLOB} ]}}}}\n")
    code, _, err = run(capsys, "check", "--parse-all", str(path))
    assert code == 2
    column = len("metadata: {annotations: {blob: ") + len(BLOB) + 2
    assert err.splitlines()[0].startswith(f"imgdigest: error: {path}:2:{column}: invalid YAML")


def test_a_50_mb_line_costs_about_twice_its_size_not_five_times(tmp_path: Path) -> None:
    """The text and the bytes it was decoded from; libyaml sees the line cut short."""
    size = 50 * 1024 * 1024
    path = tmp_path / "big.yaml"
    path.write_text(
        "kind: Pod\nmetadata:\n  annotations:\n    blob: " + "x" * size + "\n"
        "spec:\n  containers:\n  - name: web\n    image: nginx:1.25\n"
    )
    err = tmp_path / "err"
    cmd = [sys.executable, "-m", "imgdigest", "check", str(path)]
    code, kib = peak_rss(cmd, stdout=tmp_path / "out", stderr=err)
    assert code == 1, err.read_text()
    assert err.read_text().endswith("1 image in 1 file, 1 violation\n")
    assert kib < (2 * 50 + 60) * 1024, f"peak RSS {kib} KiB"


def test_drift_summary_counts_in_english(
    tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(POD)
    code, out, err = run(capsys, "pin", "--check", "--offline", "--lock", lock, str(path))
    assert code == 1
    assert out == f"{path}:5: nginx:1.25: not pinned to a digest\n"
    assert err == "imgdigest: 1 image in 1 file: 1 unpinned, 0 moved, 0 missing, 0 failed\n"


def test_pin_on_stdin_answers_in_the_input_encoding(lock: str) -> None:
    data = b"\xff\xfe" + POD.encode("utf-16-le")
    p = subprocess.run(
        [sys.executable, "-m", "imgdigest", "pin", "-q", "--offline", "--lock", lock, "-"],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"\xff\xfe" + PINNED.encode("utf-16-le")


def test_junit_stays_well_formed_xml_with_controls_in_names_and_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import xml.etree.ElementTree as ET

    (tmp_path / "po\x1bd.yaml").write_text(HOSTILE)
    code, out, _ = run(capsys, "check", "--format", "junit", str(tmp_path))
    assert code == 1
    case = ET.fromstring(out).find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == f"{tmp_path}/po\\x1bd.yaml"
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert failure.text.endswith("uses an image without a digest <nginx\\x1b[2J:1\\u202e>")
