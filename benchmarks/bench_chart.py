"""What ``pin --chart`` costs next to ``helm template`` alone.

A chart of 50 Deployments whose images come from 50 ``image: {repository, tag}`` values
entries (50 unique references pushed to a local plain-HTTP registry). ``pin --chart`` renders
the chart, resolves each unique image once, edits the values and renders again to prove the
edit, so its floor is two renders plus one HEAD per image. Measured side by side, each a
fresh process, medians of ``--runs`` runs, interleaved:

* ``helm template`` once, and twice in a row (the renders of the floor);
* ``imgdigest digest`` of the 50 references in one process (the HEADs of the floor);
* ``imgdigest pin --chart`` against the registry (no manifest cache), and offline from a lock.

Nothing is written (``pin`` without ``--write`` prints the diff), so every run does the same
work. Usage: python -m benchmarks.bench_chart [--images N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.harness import RegistryServer
from tests.harness.images import build_image, push_built

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".tools" / "bin"
BIN = Path(sys.executable).parent

TEMPLATE = """\
{{- range $name, $app := .Values.apps }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
spec:
  selector:
    matchLabels: {app: {{ $name }}}
  template:
    metadata:
      labels: {app: {{ $name }}}
    spec:
      containers:
        - name: app
          image: "{{ $app.image.repository }}:{{ $app.image.tag }}"
{{- end }}
"""


def chart(root: Path, images: list[tuple[str, str]]) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 0.1.0\n")
    values = "".join(
        f"  app{n:03d}:\n    image:\n      repository: {repo}\n      tag: \"{tag}\"\n"
        for n, (repo, tag) in enumerate(images)
    )
    (root / "values.yaml").write_text("apps:\n" + values)
    (root / "templates" / "apps.yaml").write_text(TEMPLATE)
    return root


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed, done


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="imgdigest-bench-chart-") as tmp:
        work = Path(tmp)
        (work / "reg").mkdir()
        with RegistryServer("http", workdir=work / "reg") as reg:
            images: list[tuple[str, str]] = []
            lock: list[str] = []
            for n in range(args.images):
                repo, tag = f"bench/chart{n:03d}", "v1"
                pushed = push_built(reg, repo, tag, build_image(seed=repo))
                images.append((f"{reg.host}/{repo}", tag))
                lock.append(f"{reg.host}/{repo}:{tag}@{pushed.digest}\n")
            src = chart(work / "chart", images)
            (work / "images.lock").write_text("".join(lock))
            (work / "refs.txt").write_text("".join(f"{r}:{t}\n" for r, t in images))
            home = work / "home"
            (home / ".docker").mkdir(parents=True)
            env = {
                **os.environ,
                "PATH": f"{TOOLS}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
                "HOME": str(home),
                "DOCKER_CONFIG": str(home / ".docker"),
                "XDG_CACHE_HOME": str(home / ".cache"),
            }
            helm = [str(TOOLS / "helm"), "template", "release", str(src)]
            imgdigest = str(BIN / "imgdigest")
            pin = [imgdigest, "pin", "-q", "--chart", str(src)]
            cases: list[tuple[str, list[list[str]]]] = [
                ("helm template (one render)", [helm]),
                ("helm template, twice (the floor's renders)", [helm, helm]),
                ("imgdigest digest of every image (the floor's HEADs)",
                 [[imgdigest, "digest", "--no-cache", "--from-file", str(work / "refs.txt")]]),
                ("imgdigest pin --chart, registry", [[*pin, "--no-cache"]]),
                ("imgdigest pin --chart, lock",
                 [[*pin, "--offline", "--lock", str(work / "images.lock")]]),
            ]  # fmt: skip
            times: dict[str, list[float]] = {name: [] for name, _ in cases}
            for _ in range(args.runs):
                for name, commands in cases:
                    total = 0.0
                    for cmd in commands:
                        seconds, done = timed(cmd, env)
                        total += seconds
                        if "pin --chart" in name:
                            assert done.stdout.count("@sha256:") == args.images, name
                    times[name].append(total)
            report(times, args)
    return 0


def report(times: dict[str, list[float]], args: argparse.Namespace) -> None:
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    floor = medians["helm template (one render)"]
    print(f"\n{args.images} unique images, medians of {args.runs} runs\n")
    print("| command | median wall (s) | × helm template |")
    print("|---|---:|---:|")
    for name, median in medians.items():
        print(f"| {name} | {median:.2f} | {median / floor:.2f} |")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
