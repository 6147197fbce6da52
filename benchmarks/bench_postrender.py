"""What pinning at render time costs: Helm post-renderers and the kustomize transformer.

A chart of 50 Deployments, each naming its own image (50 unique references, pushed to a
local plain-HTTP registry), rendered by the real helm 4 and helm 3 from ``make tools``:

* ``helm template`` alone - the floor;
* with imgdigest's post-renderer against the registry (one HEAD per unique image), and
  offline from a lock file;
* for kustomize: ``kubectl kustomize`` of the rendered output alone, and with the
  ``ImagePins`` transformer (``imgdigest krm``), offline from the lock.

Each command is a fresh process; medians of ``--runs`` runs, interleaved. The manifest cache
is off, so every online run asks the registry.

Usage: python -m benchmarks.bench_postrender [--images N] [--runs N]
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
PLUGIN = ROOT / "integrations" / "helm" / "imgdigest"
KUSTOMIZE_PLUGINS = ROOT / "integrations" / "kustomize" / "plugin"
BIN = Path(sys.executable).parent

TEMPLATE = """\
{{- range $i, $image := .Values.images }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{{ $i }}
spec:
  selector:
    matchLabels: {app: app-{{ $i }}}
  template:
    metadata:
      labels: {app: app-{{ $i }}}
    spec:
      containers:
        - name: app
          image: {{ $image | quote }}
{{- end }}
"""


def chart(root: Path, images: list[str]) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("images:\n" + "".join(f"  - {i}\n" for i in images))
    (root / "templates" / "apps.yaml").write_text(TEMPLATE)
    return root


def timed(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="imgdigest-bench-postrender-") as tmp:
        work = Path(tmp)
        (work / "reg").mkdir()
        with RegistryServer("http", workdir=work / "reg") as reg:
            images, lock = [], []
            for n in range(args.images):
                repo, tag = f"bench/app{n:03d}", "v1"
                pushed = push_built(reg, repo, tag, build_image(seed=repo))
                images.append(f"{reg.host}/{repo}:{tag}")
                lock.append(f"{reg.host}/{repo}:{tag}@{pushed.digest}\n")
            src = chart(work / "chart", images)
            (work / "images.lock").write_text("".join(lock))
            home = work / "home"
            (home / ".docker").mkdir(parents=True)
            env = {
                **os.environ,
                "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
                "HOME": str(home),
                "DOCKER_CONFIG": str(home / ".docker"),
                "XDG_CACHE_HOME": str(home / ".cache"),
                "HELM_DATA_HOME": str(home / "helm"),
                "HELM_CONFIG_HOME": str(home / "helm-config"),
                "HELM_CACHE_HOME": str(home / "helm-cache"),
                "KUSTOMIZE_PLUGIN_HOME": str(KUSTOMIZE_PLUGINS),
            }
            timed([str(TOOLS / "helm"), "plugin", "install", str(PLUGIN)], env)
            helm4, helm3 = str(TOOLS / "helm"), str(TOOLS / "helm3")
            script = str(PLUGIN / "imgdigest-postrender")
            lock_args = [f"--post-renderer-args=--lock={work / 'images.lock'}",
                         "--post-renderer-args=--offline"]  # fmt: skip
            no_cache = ["--post-renderer-args=--no-cache"]
            base = ["template", "bench", str(src)]

            kdir = work / "kustomize"
            kdir.mkdir()
            _, rendered = timed([helm4, *base], env)
            (kdir / "apps.yaml").write_text(rendered)
            (kdir / "images.lock").write_text("".join(lock))
            (kdir / "pin.yaml").write_text(
                "apiVersion: imgdigest.dev/v1\nkind: ImagePins\nmetadata:\n  name: pin\n"
                "lock: images.lock\noffline: true\n"
            )
            kplain = work / "kustomize-plain"
            kplain.mkdir()
            (kplain / "apps.yaml").write_text(rendered)
            (kplain / "kustomization.yaml").write_text("resources: [apps.yaml]\n")
            (kdir / "kustomization.yaml").write_text(
                "resources: [apps.yaml]\ntransformers: [pin.yaml]\n"
            )
            kubectl = [str(TOOLS / "kubectl"), "kustomize", "--enable-alpha-plugins"]

            cases: list[tuple[str, list[str]]] = [
                ("helm 4 template (floor)", [helm4, *base]),
                ("helm 4 + imgdigest plugin, registry", [helm4, *base, "--post-renderer",
                                                          "imgdigest", *no_cache]),
                ("helm 4 + imgdigest plugin, lock", [helm4, *base, "--post-renderer",
                                                      "imgdigest", *lock_args]),
                ("helm 3 template (floor)", [helm3, *base]),
                ("helm 3 + imgdigest-postrender, registry", [helm3, *base, "--post-renderer",
                                                              script, *no_cache]),
                ("helm 3 + imgdigest-postrender, lock", [helm3, *base, "--post-renderer",
                                                          script, *lock_args]),
                ("imgdigest pin - of the rendered output, lock", [str(BIN / "imgdigest"), "pin",
                  "-q", "--lock", str(work / "images.lock"), "--offline", "-"]),
                ("imgdigest pin - of an empty input (start-up)", [str(BIN / "imgdigest"), "pin",
                  "-q", "--lock", str(work / "images.lock"), "--offline", "-"]),
                ("kubectl kustomize (floor)", [*kubectl, str(kplain)]),
                ("kubectl kustomize + ImagePins, lock", [*kubectl, str(kdir)]),
            ]  # fmt: skip
            times: dict[str, list[float]] = {name: [] for name, _ in cases}
            for _ in range(args.runs):
                for name, cmd in cases:
                    given = "" if "empty" in name else rendered if "pin -" in name else None
                    seconds, out = timed(cmd, env, given)
                    pinned = out.count("@sha256:")
                    if ("imgdigest" in name or "ImagePins" in name) and "empty" not in name:
                        assert pinned == args.images, (name, pinned)
                    times[name].append(seconds)
            report(times, args)
    return 0


def report(times: dict[str, list[float]], args: argparse.Namespace) -> None:
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    floors = {"helm 4": "helm 4 template (floor)", "helm 3": "helm 3 template (floor)",
              "imgdigest": "helm 4 template (floor)",
              "kubectl": "kubectl kustomize (floor)"}  # fmt: skip

    def floor_of(name: str) -> float:
        return medians[next(f for prefix, f in floors.items() if name.startswith(prefix))]

    print(f"\n{args.images} unique images, medians of {args.runs} runs\n")
    print("| command | median wall (s) | × floor | added (s) |")
    print("|---|---:|---:|---:|")
    for name, median in medians.items():
        floor = floor_of(name)
        print(f"| {name} | {median:.2f} | {median / floor:.2f} | {median - floor:+.2f} |")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
