"""One real-world file: ``imgdigest check`` and offline ``pin``, start-up included, vs libyaml.

The question a CI step asks: how long does ``imgdigest check FILE`` take next to just
loading FILE with libyaml? Each command is a new process (as CI runs it) and its wall
time counts everything: the interpreter, imports, reading, parsing, printing. libyaml's
figure is the other way round, the time ``yaml.load_all(text, Loader)`` takes inside an
already started Python (CSafeLoader plus the YAML 1.1 ``value`` constructor, without
which the Prometheus bundle stops with an error at line 5668), so it leaves out the
interpreter and the import of ``yaml`` that any Python tool pays. Target: ≤ 1.3×.

Inputs: the big manifests of ``../shared/conformance/k8s-corpus`` when that folder
exists (skipped with a note otherwise), and two generated Grafana dashboard files of
about 1.2 MB (the shape kube-prometheus ships: ConfigMaps of JSON), one as a
``ConfigMapList`` and one as a ConfigMap per document, so they need no checkout.

Every run's exit code and output are checked against what the file holds (the corpus'
``corpus-images.json`` for the real files; none for the dashboards): a crash or a wrong
answer cannot pass for a fast one. Bytecode is written and used as for an installed
package (``PYTHONDONTWRITEBYTECODE`` dropped, one untimed run per command first), and the
commands of one file run interleaved so they meet the same machine load. With
``--before REV`` the same commands also run from that revision (a ``git worktree``).

Usage: python -m benchmarks.bench_single_file [--runs N] [--before REV]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_startup import checkout

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "single-file"
CORPUS = ROOT.parent / "shared" / "conformance" / "k8s-corpus"
REAL_FILES = ("prometheus-operator-bundle-v0.70.0.yaml", "argo-cd-install.yaml")
FAKE_DIGEST = "sha256:" + "5e" * 32


@dataclass
class Input:
    """One file and what a correct run over it prints."""

    label: str
    path: Path
    violations: int  #: images without a digest: check's findings, pin's changed lines
    images: list[str] = field(default_factory=list)  #: for the lock file


# --- the inputs ---------------------------------------------------------------------------


def _panel(n: int) -> dict[str, object]:
    query = (
        'sum(rate(container_cpu_usage_seconds_total{job="kubelet", cluster="$cluster", '
        'namespace="$namespace", pod=~"$pod", image!="", container!=""}[5m])) by (container)'
    )
    return {
        "id": n,
        "type": "timeseries",
        "title": f"CPU usage {n}",
        "datasource": {"type": "prometheus", "uid": "$datasource"},
        "targets": [{"expr": query, "legendFormat": "{{container}}", "refId": "A"}],
        "fieldConfig": {"defaults": {"unit": "short", "min": 0}, "overrides": []},
        "gridPos": {"h": 7, "w": 12, "x": (n % 2) * 12, "y": n * 7},
        "options": {"legend": {"showLegend": True}, "tooltip": {"mode": "multi"}},
    }


def _dashboards(size: int) -> list[tuple[str, list[str]]]:
    """(name, JSON lines) of Grafana dashboards adding up to ``size`` characters."""
    out: list[tuple[str, list[str]]] = []
    total = 0
    while total < size:
        n = len(out)
        board = {
            "title": f"Kubernetes / Compute Resources / Part {n}",
            "uid": f"k8s-resources-{n:04d}",
            "panels": [_panel(i) for i in range(40)],
            "schemaVersion": 39,
            "tags": ["kubernetes-mixin"],
            "time": {"from": "now-1h", "to": "now"},
        }
        text = json.dumps(board, indent=4)
        out.append((f"part-{n}", text.splitlines()))
        total += len(text)
    return out


def dashboards(size: int = 850_000) -> list[Input]:
    """The two dashboard files: one ``ConfigMapList`` (kube-prometheus' own shape, one
    document), and one ConfigMap per document (what charts render)."""
    WORK.mkdir(parents=True, exist_ok=True)
    boards = _dashboards(size)
    listed = ["apiVersion: v1", "items:"]
    for name, lines in boards:
        listed += ["- apiVersion: v1", "  data:", f"    {name}.json: |-"]
        listed += ["      " + line for line in lines]
        listed += ["  kind: ConfigMap", "  metadata:", f"    name: grafana-dashboard-{name}"]
        listed += ["    namespace: monitoring"]
    listed.append("kind: ConfigMapList")
    one = WORK / "dashboards-list.yaml"
    one.write_text("\n".join(listed) + "\n")
    documents = []
    for name, lines in boards:
        head = ["apiVersion: v1", "kind: ConfigMap", "metadata:"]
        head += [f"  name: grafana-dashboard-{name}", "  namespace: monitoring", "data:"]
        documents.append("\n".join([*head, f"  {name}.json: |-", *("    " + x for x in lines)]))
    many = WORK / "dashboards-documents.yaml"
    many.write_text("---\n" + "\n---\n".join(documents) + "\n")
    return [
        Input(f"dashboards as a ConfigMapList (generated, {_mb(one)})", one, 0),
        Input(f"dashboards, a ConfigMap per document (generated, {_mb(many)})", many, 0),
    ]


def real_files() -> list[Input]:
    """The corpus' big manifests, with their images as ``corpus-images.json`` lists them."""
    listing = CORPUS / "corpus-images.json"
    if not listing.is_file():
        print(f"note: {CORPUS} not found: the real-world files are skipped", file=sys.stderr)
        return []
    known = {Path(f["file"]).name: f for f in json.loads(listing.read_text())["files"]}
    out = []
    for name in REAL_FILES:
        path = CORPUS / name
        if not path.is_file() or name not in known:
            print(f"note: {path} not found: skipped", file=sys.stderr)
            continue
        images = [i["image"] for i in known[name]["images"]]
        unpinned = [i for i in images if "@" not in i]
        out.append(Input(f"{name} ({_mb(path)})", path, len(unpinned), sorted(set(unpinned))))
    return out


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def write_lock(inputs: list[Input]) -> Path:
    """``name:tag@digest`` lines for every image: pin then finds all of them offline."""
    lock = WORK / "images.lock"
    images = sorted({image for item in inputs for image in item.images})
    lock.write_text("".join(f"{image}@{FAKE_DIGEST}\n" for image in images) or "\n")
    return lock


# --- running ------------------------------------------------------------------------------


def _env(src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def libyaml_load(path: str) -> None:
    """In a child: print the seconds ``yaml.load_all`` takes over the file, and the count."""
    import yaml

    class Loader(yaml.CSafeLoader):
        pass

    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: node.value)
    text = Path(path).read_text(encoding="utf-8")
    started = time.perf_counter()
    documents = sum(1 for _ in yaml.load_all(text, Loader=Loader))
    print(f"{time.perf_counter() - started} {documents}")


def run_libyaml(item: Input) -> float:
    cmd = [sys.executable, "-m", "benchmarks.bench_single_file", "--libyaml", str(item.path)]
    done = subprocess.run(cmd, cwd=ROOT, env=_env(None), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"libyaml failed on {item.path}: {done.stderr[-500:]}")
    seconds, documents = done.stdout.split()
    if int(documents) < 1:
        raise SystemExit(f"libyaml read no document from {item.path}")
    return float(seconds)


def _check_output(item: Input, stdout: str) -> None:
    found = [line for line in stdout.splitlines() if "uses an image without a digest" in line]
    if len(found) != item.violations:
        raise SystemExit(f"check {item.path}: {len(found)} findings, expected {item.violations}")


def _pin_output(item: Input, stdout: str) -> None:
    added = [x for x in stdout.splitlines() if x.startswith("+") and not x.startswith("+++")]
    if len(added) != item.violations or any(FAKE_DIGEST not in x for x in added):
        raise SystemExit(f"pin {item.path}: {len(added)} pinned lines, expected {item.violations}")


def run_imgdigest(command: str, item: Input, lock: Path, src: Path | None) -> float:
    """Wall seconds of one ``imgdigest`` process; its exit code and output are checked."""
    if command == "check":
        argv = ["check", str(item.path)]
        want = 1 if item.violations else 0
    else:
        argv = ["pin", "--offline", "--lock", str(lock), str(item.path)]
        want = 0
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "imgdigest", *argv],
        cwd=ROOT,
        env=_env(src),
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != want:
        raise SystemExit(f"{argv}: exit {done.returncode}, not {want}: {done.stderr[-500:]}")
    (_check_output if command == "check" else _pin_output)(item, done.stdout)
    return elapsed


def run_python(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(None), check=True)
    return time.perf_counter() - started


def measure(item: Input, lock: Path, runs: int, trees: dict[str, Path | None]) -> dict[str, float]:
    """Median seconds of libyaml's load and of each command in each tree, interleaved."""
    jobs = {"libyaml": lambda: run_libyaml(item)}
    for tree, src in trees.items():
        for command in ("check", "pin"):
            jobs[f"{command} {tree}"] = lambda c=command, s=src: run_imgdigest(c, item, lock, s)
    return medians(jobs, runs)


def floors(runs: int) -> dict[str, float]:
    """What any Python process pays before reading a byte, and what imgdigest's start-up is."""
    empty = WORK / "empty.yaml"
    empty.write_text("")
    jobs = {
        "`python -c pass`": lambda: run_python("pass"),
        "`python -c 'import yaml'`": lambda: run_python("import yaml"),
        "`imgdigest check empty.yaml`": lambda: run_imgdigest(
            "check", Input("empty", empty, 0), empty, None
        ),
    }
    return medians(jobs, runs)


def medians(jobs: dict[str, Callable[[], float]], runs: int) -> dict[str, float]:
    """Each job's median seconds over ``runs`` rounds, jobs interleaved; one untimed round
    first writes the bytecode, as an install would."""
    for job in jobs.values():
        job()
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(runs):
        for name, job in jobs.items():
            times[name].append(job())
    return {name: statistics.median(values) for name, values in times.items()}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def table(rows: list[tuple[Input, dict[str, float]]], before: str | None) -> str:
    head = "| file | libyaml load | `check` | × libyaml | `pin --offline` | × libyaml |"
    rule = "|---|---:|---:|---:|---:|---:|"
    if before:
        head += f" `check` at {before} | `pin` at {before} |"
        rule += "---:|---:|"
    out = [head, rule]
    for item, t in rows:
        base = t["libyaml"]
        check, pin = t["check now"], t["pin now"]
        line = (
            f"| {item.label} | {_ms(base)} | {_ms(check)} | {check / base:.2f} "
            f"| {_ms(pin)} | {pin / base:.2f} |"
        )
        if before:
            line += f" {_ms(t['check before'])} | {_ms(t['pin before'])} |"
        out.append(line)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", help="also run the commands from this revision")
    parser.add_argument("--libyaml", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.libyaml:
        libyaml_load(args.libyaml)
        return 0
    inputs = real_files() + dashboards()
    lock = write_lock(inputs)
    trees: dict[str, Path | None] = {"now": ROOT / "src"}
    if args.before:
        trees = {"before": checkout(args.before) / "src", **trees}
    rows = [(item, measure(item, lock, args.runs, trees)) for item in inputs]
    print(table(rows, args.before))
    print()
    for name, seconds in floors(args.runs).items():
        print(f"- {name}: {_ms(seconds)}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nmedians of {args.runs}, {os.cpu_count()} CPUs, load average {load} at the end, "
        f"Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
