"""kubectl JSON built in a test: pods and workloads in the shape ``kubectl get -o json`` prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "audit"
CLUSTER = [str(DATA / "pods.json"), str(DATA / "workloads.json")]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgdigest", "audit", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ},
        timeout=60,
    )


def pod(
    name: str,
    image: str,
    image_id: str,
    *,
    namespace: str = "default",
    owner: tuple[str, str] | None = None,
    container: str = "app",
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}"}
    if owner is not None:
        kind, owner_name = owner
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": f"uid-{owner_name}",
             "controller": True}
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": container, "image": image}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": container, "image": image, "imageID": image_id, "ready": True,
                 "state": {"running": {"startedAt": "2026-12-01T10:00:00Z"}}}
            ],
        },
    }


def dump(path: Path, items: list[dict[str, Any]]) -> str:
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=4))
    return str(path)
