"""``imgdigest audit`` of a kubectl dump against ``json.load`` of the same file.

The input is generated here in the shape ``kubectl get pods -A -o json`` prints (managed
fields, conditions, env, volumes: about 4.5 kB a pod), with a containerd ``imageID`` per
container, five pods per Deployment, plus the workloads dump (``kubectl get deploy,rs -A
-o json``). Two sizes show whether memory stays flat: 10,000 pods in 2,000 workloads, and
four times that.

Commands, each a fresh process, interleaved, ``--runs`` times (medians reported):

* ``json.load`` - ``python -c 'json.load(open(FILE))'`` of the pod dump: the floor the
  issue states the target against (it reads the file and holds all of it);
* ``imgdigest audit --offline --format json PODS WORKLOADS`` - the whole job, output
  discarded; ``--offline`` so no registry time is counted;
* ``imgdigest audit --offline`` of an empty list - start-up alone.

Usage: python -m benchmarks.bench_audit [--runs N] [--pods N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_check import measure_all, table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "audit"
COMMAND = ".venv/bin/python -m benchmarks.bench_audit"
PER_WORKLOAD = 5


def _pod(w: int, r: int) -> dict[str, Any]:
    name, ns, rs = f"web{w}", f"ns{w % 40}", f"web{w}-7f9c{w % 10}"
    image = f"registry.example.com/team/app{w}:1.{w % 7}"
    digest = "sha256:" + f"{w:064x}" if r else "sha256:" + f"{w + 1:064x}"  # one drifted pod
    fields = {"f:status": {"f:conditions": {'k:{"type":"Ready"}': {".": {}}}}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{rs}-{r:05d}",
            "namespace": ns,
            "uid": f"00000000-0000-0000-{w:04x}-{r:012x}",
            "labels": {"app": name, "pod-template-hash": f"7f9c{w % 10}"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": rs,
                    "uid": f"rs-{w}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": [{"manager": "kubelet", "operation": "Update", "fieldsV1": fields}]
            * 3,
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "env": [{"name": f"SETTING_{i}", "value": "x" * 40} for i in range(5)],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                    "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                }
            ],
            "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}}],
            "nodeName": f"node-{w % 50}",
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": t, "status": "True"}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {
                    "name": "app",
                    "image": image,
                    "imageID": f"registry.example.com/team/app{w}@{digest}",
                    "ready": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": "2026-12-01T10:00:00Z"}},
                }
            ],
        },
    }


def _workloads(w: int) -> list[dict[str, Any]]:
    name, ns, rs = f"web{w}", f"ns{w % 40}", f"web{w}-7f9c{w % 10}"
    template = {
        "spec": {
            "containers": [{"name": "app", "image": f"registry.example.com/team/app{w}:1.{w % 7}"}]
        }
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "uid": f"dep-{w}"},
            "spec": {"template": template},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs,
                "namespace": ns,
                "uid": f"rs-{w}",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": name,
                        "uid": f"dep-{w}",
                        "controller": True,
                    }
                ],
            },
            "spec": {"template": template},
        },
    ]


def _write_list(path: Path, items: Any) -> None:
    """Written item by item, as kubectl prints it (4-space indent), without holding it."""
    with path.open("w") as f:
        f.write('{\n    "apiVersion": "v1",\n    "items": [\n')
        for n, item in enumerate(items):
            f.write(",\n" if n else "")
            f.write(json.dumps(item, indent=4))
        f.write('\n    ],\n    "kind": "List",\n    "metadata": {"resourceVersion": ""}\n}\n')


def ensure(pods: int) -> tuple[Path, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    workloads = pods // PER_WORKLOAD
    pod_file = WORK / f"pods-{pods}.json"
    wl_file = WORK / f"workloads-{workloads}.json"
    if not pod_file.exists():
        _write_list(pod_file, (_pod(w, r) for w in range(workloads) for r in range(PER_WORKLOAD)))
    if not wl_file.exists():
        _write_list(wl_file, (x for w in range(workloads) for x in _workloads(w)))
    return pod_file, wl_file


def bench(pods: int, runs: int) -> list[tuple[str, str, float, float]]:
    python = sys.executable
    pod_file, wl_file = ensure(pods)
    empty = WORK / "empty.json"
    empty.write_text('{"kind": "List", "items": []}\n')
    label = (
        f"{pods:,} pods, {pods // PER_WORKLOAD:,} workloads, {pod_file.stat().st_size / 1e6:.0f} MB"
    )
    audit = [python, "-m", "imgdigest", "audit", "--offline", "-q", "--format", "json"]
    commands = {
        "python -c 'json.load(...)' (pods only)": [
            python,
            "-c",
            "import json, sys; json.load(open(sys.argv[1]))",
            str(pod_file),
        ],
        "imgdigest audit --offline (pods + workloads)": [*audit, str(pod_file), str(wl_file)],
        "imgdigest audit --offline (pods only)": [*audit, str(pod_file)],
        "(imgdigest audit of an empty list: start-up alone)": [*audit, str(empty)],
    }
    return measure_all(label, commands, runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pods", type=int, default=10_000)
    args = parser.parse_args(argv)
    rows = bench(args.pods, args.runs) + bench(args.pods * 4, args.runs)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"`{COMMAND}` (medians of {args.runs} runs, each command a fresh process, interleaved; "
        f"{os.cpu_count()} CPUs shared with other work, load average {load} at the end; "
        f"Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}):\n"
    )
    print(table(rows, "json.load"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
