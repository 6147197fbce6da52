"""``pin --write`` loses nothing: all or nothing when a rename fails, owner, mode and hard
links kept, and temporary files of a killed run removed by the next one.

Offline pinning from a lock file keeps these about writing; real files, real processes
(one in-process test fakes ``os.replace`` failing, as the brief for these tests allows
only for that)."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgdigest import files as writer
from imgdigest.errors import DocumentError
from imgdigest.files import TEMP_PREFIX, Replacement, remove_stale_temps, replace_files
from tests.pin.helpers import D

POD = "kind: Pod\nspec:\n  containers:\n  - image: {image}  # keep\n"


def pod(image: str) -> str:
    return POD.format(image=image)


def pin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgdigest", "pin", "--write", "--offline", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def temps(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob(f"{TEMP_PREFIX}*"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three manifests naming nginx:1.25 and a lock answering it with ``D``."""
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        (tmp_path / name).write_text(pod("nginx:1.25"))
    (tmp_path / "images.lock").write_text(f"nginx:1.25@{D}\n")
    return tmp_path


def lock(root: Path) -> tuple[str, str]:
    return ("--lock", str(root / "images.lock"))


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Files to make immutable with ``chattr +i`` (root on ext4); made mutable again after."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_rename_refused_by_the_filesystem_changes_no_file(project, immutable):
    # c.yaml is renamed last: a.yaml and b.yaml are already replaced when it fails.
    c = project / "c.yaml"
    subprocess.run(["chattr", "+i", str(c)], check=True)
    immutable.append(c)
    inode = (project / "a.yaml").stat().st_ino
    p = pin(*lock(project), str(project / "a.yaml"), str(project / "b.yaml"), str(c))
    assert p.returncode == 2, p.stderr
    assert p.stderr == (
        f"imgdigest: error: {c}: cannot write: Operation not permitted; no file was changed\n"
    )
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        assert (project / name).read_text() == pod("nginx:1.25"), name
    # it was replaced, then its backup link renamed back: the very file it was
    assert (project / "a.yaml").stat().st_ino == inode
    assert temps(project) == []


def test_a_hard_linked_file_written_in_place_is_put_back_in_place(project, immutable):
    a, c = project / "a.yaml", project / "c.yaml"
    os.link(a, project / "link.yaml")
    inode = a.stat().st_ino
    subprocess.run(["chattr", "+i", str(c)], check=True)
    immutable.append(c)
    p = pin(*lock(project), str(a), str(c))
    assert p.returncode == 2, p.stderr
    assert p.stderr.endswith(f"{c}: cannot write: Operation not permitted; no file was changed\n")
    assert (a.stat().st_ino, a.stat().st_nlink) == (inode, 2)
    assert (project / "link.yaml").read_text() == pod("nginx:1.25")
    assert temps(project) == []


def test_a_failed_rename_in_process_rolls_back_those_before_it(tmp_path, monkeypatch):
    files = [tmp_path / n for n in ("a", "b", "c")]
    for f in files:
        f.write_text(f"old {f.name}")
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == files[1] and Path(src).name.startswith(TEMP_PREFIX + "b."):
            raise OSError(errno.EIO, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(writer.os, "replace", replace)
    reps = [Replacement(f, f"new {f.name}".encode(), f"old {f.name}".encode()) for f in files]
    with pytest.raises(DocumentError) as caught:
        replace_files(reps)
    assert str(caught.value) == f"{files[1]}: cannot write: Input/output error; no file was changed"
    assert [f.read_text() for f in files] == ["old a", "old b", "old c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]


def test_a_hard_linked_file_stays_linked_and_keeps_mode_and_owner(project):
    a = project / "a.yaml"
    other = project / "elsewhere.yaml"
    os.link(a, other)
    os.chmod(a, 0o640)
    os.chown(a, 1234, 5678)
    inode = a.stat().st_ino
    p = pin(*lock(project), str(a))
    assert p.returncode == 0, p.stderr
    st = a.stat()
    assert (st.st_ino, st.st_nlink) == (inode, 2)
    assert other.read_text() == pod(f"nginx:1.25@{D}")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1234, 5678)
    assert temps(project) == []


def test_a_replaced_file_keeps_mode_and_owner(project):
    b = project / "b.yaml"
    os.chmod(b, 0o640)
    os.chown(b, 1234, 5678)
    p = pin(*lock(project), str(b))
    assert p.returncode == 0, p.stderr
    st = b.stat()
    assert b.read_text() == pod(f"nginx:1.25@{D}")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_nlink) == (0o640, 1234, 5678, 1)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_next_run_removes_temporary_files_of_a_killed_one(project):
    dead = project / f"{TEMP_PREFIX}a.yaml.{_dead_pid()}.k1ll3d.tmp"
    dead.write_text("half")
    old = project / f"{TEMP_PREFIX}b.yaml.abc123.tmp"  # no pid: an older version's name
    old.write_text("half")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    fresh = project / f"{TEMP_PREFIX}c.yaml.zz9.tmp"  # no pid, recent: maybe in use
    fresh.write_text("in progress")
    alive = project / f"{TEMP_PREFIX}c.yaml.{os.getpid()}.l1ve.tmp"
    alive.write_text("in progress")
    p = pin(*lock(project), str(project / "a.yaml"))
    assert p.returncode == 0, p.stderr
    assert temps(project) == sorted([fresh.name, alive.name])


def test_a_stale_temporary_file_goes_even_if_its_pid_is_alive(tmp_path):
    reused = tmp_path / f"{TEMP_PREFIX}x.yaml.{os.getpid()}.abc.tmp"
    reused.write_text("old")
    assert remove_stale_temps(tmp_path) == []
    assert remove_stale_temps(tmp_path, now=time.time() + writer.STALE_AFTER + 1) == [reused]


def test_partial_summary_counts_only_what_was_written(project):
    (project / "b.yaml").write_text(pod("nginx:1.25") + "  - image: redis:7\n")
    p = pin("--partial", *lock(project), str(project / "a.yaml"), str(project / "b.yaml"))
    assert p.returncode == 3
    assert p.stderr == (
        f"{project}/b.yaml:5: redis:7: not in the lock file (offline)\n"
        "imgdigest: pinned 1 reference in 1 file; left 1 reference in 1 file unchanged, as each"
        " also holds a reference that failed or an error (2 unique, 1 from lock, 1 failed)\n"
    )
    assert (project / "a.yaml").read_text() == pod(f"nginx:1.25@{D}")
    assert "@sha256" not in (project / "b.yaml").read_text()
