"""``check``'s text output is written file by file: memory does not grow with findings.

A tree where every image is unpinned is the worst case for a report that keeps every
finding until the end (about 2 kB each). Ten times the files (and the findings) must not
cost ten times the memory; peak RSS is measured from a launcher (``tests.rss``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.rss import peak_rss

DOCS_PER_FILE = 2000


def tree(root: Path, files: int) -> Path:
    root.mkdir()
    for f in range(files):
        docs = (
            f"kind: Pod\nmetadata:\n  name: p{f}-{d}\nspec:\n  containers:\n"
            f"  - name: app\n    image: registry.example/team/app{d % 50}:1.{f}\n"
            for d in range(DOCS_PER_FILE)
        )
        (root / f"m{f:02d}.yaml").write_text("---\n".join(docs))
    return root


def check(root: Path, tmp: Path) -> tuple[int, int, list[str], str]:
    out, err = tmp / f"{root.name}.out", tmp / f"{root.name}.err"
    code, kib = peak_rss([sys.executable, "-m", "imgdigest", "check", str(root)], stdout=out,
                         stderr=err)  # fmt: skip
    return code, kib, out.read_text().splitlines(), err.read_text()


def test_ten_times_the_findings_is_not_ten_times_the_memory(tmp_path: Path) -> None:
    small = check(tree(tmp_path / "small", 2), tmp_path)
    large = check(tree(tmp_path / "large", 20), tmp_path)
    assert (small[0], len(small[2])) == (1, 2 * DOCS_PER_FILE)
    assert (large[0], len(large[2])) == (1, 20 * DOCS_PER_FILE)
    assert large[3] == "imgdigest check: 40000 images in 20 files, 40000 violations\n"
    first = large[2][0]
    assert first == (
        f"{tmp_path}/large/m00.yaml:7:12: container <app> uses an image without a digest "
        "<registry.example/team/app0:1.0>"
    )
    # 36,000 more findings held to the end cost ~64 MB more (as --format github still
    # does); printed as they come, the difference is one file's findings and the counting.
    assert large[1] - small[1] < 12 * 1024, (small[1], large[1])
