"""``audit --offline --lock``: a lock file answers what the registry would.

Offline, a runtime that records a platform manifest's digest under an index pin looks like
another image; the lock file ``imgdigest lock`` writes lists each index's platform
digests, so with it the audit tells the two apart, and judges ``stale`` against the digest
each tag is locked to. The lock is written by the real command against the real registry
(through a proxy that counts requests: the audit itself must ask nothing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import imgdigest
from tests.audit.helpers import dump, pod, run
from tests.harness import push_image, push_index


def test_a_lock_tells_platform_digests_from_other_images_and_finds_stale_tags(
    registry_http, fault_proxy, unique_repo, tmp_home
):
    idx = push_index(registry_http, unique_repo, "2.0")
    other = push_image(registry_http, unique_repo, "old", seed="an older build")
    amd64 = idx.child("linux", "amd64").digest
    proxy = fault_proxy(registry_http)
    name = f"{proxy.host}/{unique_repo}"
    manifest = tmp_home / "deploy.yaml"
    manifest.write_text(f"kind: Pod\nspec:\n  containers:\n    - image: {name}:2.0\n")
    lock_file = tmp_home / "images.lock"
    locked = subprocess.run(
        [sys.executable, "-m", "imgdigest", "lock", str(manifest), "-o", str(lock_file)],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
    )
    assert locked.returncode == 0, locked.stderr
    ds = ("DaemonSet", "agent")
    items = [
        # replicas on two architectures: one runtime records the index, one the platform
        pod("agent-a", f"{name}:2.0", f"{name}@{idx.digest}", owner=ds),
        pod("agent-b", f"{name}:2.0", f"{name}@{amd64}", owner=ds),
        pod("pinned", f"{name}@{idx.digest}", f"{name}@{amd64}"),
        pod("behind", f"{name}:2.0", f"{name}@{other.digest}"),
        pod("wrong", f"{name}@{idx.digest}", f"{name}@{other.digest}"),
        pod("unlocked", f"{name}:old", f"{name}@{other.digest}"),
    ]
    path = dump(tmp_home / "pods.json", items)
    proxy.reset_counts()

    plain = imgdigest.audit_pods([path], options=imgdigest.AuditOptions(offline=True))
    lock = imgdigest.read_lock(lock_file)
    judged = imgdigest.audit_pods([path], options=imgdigest.AuditOptions(offline=True, lock=lock))
    assert proxy.count() == 0  # offline: the lock answered

    def problems(report: imgdigest.AuditReport) -> list[tuple[str, list[str]]]:
        return [(w.name, sorted(f.problem for f in w.findings)) for w in report.workloads]

    assert problems(plain) == [
        ("agent", ["mixed", "unpinned"]),
        ("behind", ["unpinned"]),
        ("pinned", ["mismatch"]),
        ("unlocked", ["unpinned"]),
        ("wrong", ["mismatch"]),
    ]
    assert problems(judged) == [
        ("agent", ["unpinned"]),
        ("behind", ["stale", "unpinned"]),
        ("pinned", []),
        ("unlocked", ["unpinned"]),
        ("wrong", ["mismatch"]),
    ]
    stale = [f for f in judged.findings if f.problem == "stale"]
    assert [(f.detail, f.expected) for f in stale] == [
        (f"{other.digest} runs in 1 pod, but {name}:2.0 is locked to {idx.digest}", idx.digest)
    ]
    assert judged.notes == [f"{name}:old is not in the lock file: not judged stale"]

    p = run("--offline", "--lock", str(lock_file), "--format", "json", path)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert (doc["offline"], doc["lock"]) == (True, True)
    assert sorted(f["problem"] for f in doc["findings"]) == [
        "mismatch", "stale", "unpinned", "unpinned", "unpinned"
    ]  # fmt: skip
    assert p.stderr.splitlines()[-1].endswith("(offline: stale judged against the lock file)")
    assert proxy.count() == 0


def test_lock_needs_offline_and_a_readable_lock(tmp_home):
    path = dump(tmp_home / "pods.json", [])
    online = run("--lock", str(tmp_home / "images.lock"), path)
    assert (online.returncode, online.stderr) == (
        2,
        "imgdigest: error: --lock answers for the registry: use it with --offline\n",
    )
    missing = run("--offline", "--lock", str(tmp_home / "nope.lock"), path)
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"imgdigest: error: {tmp_home / 'nope.lock'}")
    assert "Traceback" not in missing.stderr
