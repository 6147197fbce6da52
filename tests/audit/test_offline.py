"""``audit`` from kubectl dumps alone: grouping by owner, each runtime's form, the offline
findings, ``--fix``, and bad input. The fixtures in tests/data/audit were written by hand
for this suite (see tests/data/README.md); expected values are spelled out here."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

import imgdigest
from tests.audit.helpers import CLUSTER, DATA, dump, pod, run

R = "registry.example.com"
A, B, D = ("sha256:" + c * 64 for c in "abd")
D1, D2, D4, D5, D6, D8, D9, D3 = ("sha256:" + c * 64 for c in "12456893")
OFFLINE = imgdigest.AuditOptions(offline=True)


def shape(report: imgdigest.AuditReport) -> list[tuple]:
    """Each workload's containers with their running digests and findings, in order."""
    return [
        (
            f"{w.namespace}/{w.kind}/{w.name}",
            w.pods,
            [
                (
                    c.name,
                    c.role,
                    [(r.digest, r.kind, r.pods) for r in c.running],
                    [f.problem for f in c.findings],
                )
                for c in w.containers
            ],
        )
        for w in report.workloads
    ]


def test_a_cluster_with_its_workloads_groups_pods_by_the_top_of_their_owner_chain() -> None:
    report = imgdigest.audit_pods(CLUSTER, options=OFFLINE)
    assert report.pods == 12
    assert shape(report) == [
        ("batch/CronJob/nightly", 1, [("report", "container", [(D9, "manifest", 1)], [])]),
        ("batch/Job/once", 1, [("once", "container", [(D3, "manifest", 1)], [])]),
        (
            "kube-system/DaemonSet/node-agent",
            2,
            [("agent", "container", [(D8, "manifest", 2)], [])],
        ),
        (
            "shop/Deployment/broken",
            1,
            [("app", "container", [(None, "none", 1)], ["not-running", "unpinned"])],
        ),
        (
            "shop/Deployment/web",
            3,
            [
                ("migrate", "init", [(D4, "manifest", 3)], []),
                (
                    "web",
                    "container",
                    [(A, "manifest", 2), (B, "manifest", 1)],
                    ["mixed", "unpinned"],
                ),
            ],
        ),
        (
            "shop/Pod/debug",
            1,
            [
                ("shell", "container", [(D5, "manifest", 1)], ["unpinned"]),
                ("debugger", "ephemeral", [(D6, "manifest", 1)], []),
            ],
        ),
        # its Deployment was deleted: the ReplicaSet in the input has no owner
        (
            "shop/ReplicaSet/legacy-5c5c5",
            1,
            [("legacy", "container", [(D2, "manifest", 1)], ["unpinned"])],
        ),
        (
            "shop/StatefulSet/db",
            2,
            [("db", "container", [(D1, "manifest", 1), (D, "manifest", 1)], ["mismatch", "mixed"])],
        ),
    ]
    assert report.exit_code == 1
    assert [w.source for w in report.workloads] == ["object"] * 8


def test_the_rollout_caught_half_way_names_both_digests_and_the_spec_of_the_deployment() -> None:
    report = imgdigest.audit_pods(CLUSTER, options=OFFLINE)
    web = next(w for w in report.workloads if w.name == "web").containers[1]
    assert web.spec == [f"{R}/shop/web:2.0"]
    [mixed] = [f for f in web.findings if f.problem == "mixed"]
    assert mixed.detail == (
        "replicas run 2 digests: 2 pods sha256:aaaaaaaaaaaa, 1 pod sha256:bbbbbbbbbbbb"
    )
    assert mixed.pods == ("web-6f7d8-aaaaa", "web-6f7d8-bbbbb", "web-8b9c0-ccccc")
    # the digest to converge on is the one the spec's own pods run, not the majority's
    assert web.target == B


def test_findings_say_what_is_wrong_with_the_input_s_own_words() -> None:
    report = imgdigest.audit_pods(CLUSTER, options=OFFLINE)
    by = {(f.workload, f.problem): f for f in report.findings}
    assert by[("broken", "not-running")].detail == (
        f"pod broken-7d7d7-k8k8k is not running: ImagePullBackOff: Back-off pulling image "
        f'"{R}/shop/broken:9.9"'
    )
    assert by[("db", "mismatch")].detail == f"{D} runs in 1 pod, but the spec pins {D1}"
    assert (by[("db", "mismatch")].running, by[("db", "mismatch")].expected) == (D, D1)
    assert by[("db", "mismatch")].pods == ("db-1",)
    assert by[("debug", "unpinned")].detail == "busybox:1.36 names a tag only"
    assert report.summary() == {
        "pods": 12,
        "workloads": 8,
        "mixed": 2,
        "unpinned": 4,
        "stale": 0,
        "mismatch": 1,
        "not-running": 1,
        "failures": 0,
    }


def test_without_the_workloads_owners_are_read_from_the_pods_alone() -> None:
    report = imgdigest.audit_pods([CLUSTER[0]], options=OFFLINE)
    names = [(f"{w.namespace}/{w.kind}/{w.name}", w.source) for w in report.workloads]
    assert names == [
        ("batch/Job/nightly-29000000", "owner"),
        ("batch/Job/once", "owner"),
        ("kube-system/DaemonSet/node-agent", "owner"),
        ("shop/Deployment/broken", "inferred"),
        # pod-template-hash names the Deployment when no ReplicaSet was read
        ("shop/Deployment/legacy", "inferred"),
        ("shop/Deployment/web", "inferred"),
        ("shop/Pod/debug", "object"),
        ("shop/StatefulSet/db", "owner"),
    ]
    web = next(w for w in report.workloads if w.name == "web").containers[1]
    assert web.spec == [f"{R}/shop/web:1.9", f"{R}/shop/web:2.0"]


def test_docker_image_ids_and_an_image_without_repository_digest() -> None:
    report = imgdigest.audit_pods([str(DATA / "pods-docker.json")], options=OFFLINE)
    assert shape(report) == [
        ("default/Deployment/api", 2, [("api", "container", [(A, "manifest", 2)], ["unpinned"])]),
        (
            "default/Pod/local-tool",
            1,
            [("tool", "container", [("sha256:" + "e" * 64, "image-id", 1)], ["unpinned"])],
        ),
    ]
    tool = report.workloads[1].containers[0]
    assert (tool.unknown, tool.target) == (1, None)


def test_cri_o_image_ids_are_unknown_digests_not_mismatches() -> None:
    report = imgdigest.audit_pods([str(DATA / "pods-crio.json")], options=OFFLINE)
    assert shape(report) == [
        (
            "obs/DaemonSet/collector",
            2,
            [
                (
                    "collector",
                    "container",
                    [(B, "manifest", 1), ("sha256:" + "e" * 64, "image-id", 1)],
                    [],
                )
            ],
        ),
        (
            "obs/StatefulSet/cache",
            1,
            [("cache", "container", [("sha256:" + "f" * 64, "image-id", 1)], [])],
        ),
    ]
    assert [c.unknown for w in report.workloads for c in w.containers] == [1, 1]
    assert report.notes == [
        "2 containers reported no repository digest (an image ID, the config's digest, or none "
        "yet): what they run cannot be compared with a tag or a pin"
    ]
    assert report.exit_code == 0


def test_cli_text_json_and_exit_codes() -> None:
    p = run("--offline", *CLUSTER)
    assert p.returncode == 1, p.stderr
    assert "shop/StatefulSet/db (2 pods)\n" in p.stdout
    assert f"    mismatch: {D} runs in 1 pod, but the spec pins {D1}\n" in p.stdout
    assert p.stderr == (
        "imgdigest: 12 pods in 8 workloads: 2 mixed, 4 unpinned, 0 stale, 1 mismatch, "
        "1 not running (offline: stale not checked)\n"
    )
    j = run("--offline", "--format", "json", *CLUSTER)
    assert j.returncode == 1
    doc = json.loads(j.stdout)
    assert list(doc) == ["workloads", "findings", "failures", "notes", "offline", "lock", "summary"]
    assert doc["workloads"][2] == {
        "namespace": "kube-system",
        "kind": "DaemonSet",
        "name": "node-agent",
        "api_version": "apps/v1",
        "source": "object",
        "pods": 2,
        "containers": [
            {
                "name": "agent",
                "role": "container",
                "spec": [f"{R}/infra/agent@{D8}"],
                "pods": 2,
                "running": [
                    {
                        "digest": D8,
                        "kind": "manifest",
                        "pods": 2,
                        "name": f"{R}/infra/agent",
                        "tree": None,
                    }
                ],
                "unknown": 0,
                "target": D8,
                "findings": [],
            }
        ],
    }
    clean = run("--offline", "-q", str(DATA / "pods-crio.json"))
    assert (clean.returncode, clean.stderr) == (0, "")


def test_stdin_and_a_stream_of_several_documents() -> None:
    stream = "".join(Path(p).read_text() for p in CLUSTER)
    p = run("--offline", "--format", "json", "-", stdin=stream)
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout)["summary"]["workloads"] == 8


def _kustomize(root: Path) -> str:
    out = subprocess.run(
        ["kubectl", "kustomize", str(root)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


DEPLOYMENT = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: {R}/shop/web:2.0
      - name: sidecar
        image: {R}/shop/sidecar:1
"""


def test_fix_as_a_strategic_merge_patch_applied_by_real_kustomize(tmp_path: Path) -> None:
    p = run("--offline", "-q", "--fix", *CLUSTER)
    assert p.returncode == 1, p.stderr
    docs = p.stdout.split("---\n")[1:]
    assert len(docs) == 4
    [web] = [d for d in docs if "name: web\n" in d]
    assert web.startswith(f"# web: mixed, unpinned -> {B}\n")
    (tmp_path / "deployment.yaml").write_text(DEPLOYMENT)
    (tmp_path / "patch.yaml").write_text(web)
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [deployment.yaml]\npatches:\n- path: patch.yaml\n"
    )
    out = _kustomize(tmp_path)
    assert re.findall(r"image: (\S+)", out) == [f"{R}/shop/web:2.0@{B}", f"{R}/shop/sidecar:1"]


def test_fix_as_kustomize_images_applied_by_real_kustomize(tmp_path: Path) -> None:
    p = run("--offline", "-q", "--fix-as", "kustomize", *CLUSTER)  # implies --fix
    assert p.returncode == 1, p.stderr
    assert p.stdout == (
        f"images:\n- name: {R}/shop/web\n  digest: {B}\n- name: busybox\n  digest: {D5}\n"
        f"- name: {R}/shop/legacy\n  digest: {D2}\n- name: {R}/shop/db\n  digest: {D1}\n"
    )
    (tmp_path / "deployment.yaml").write_text(DEPLOYMENT)
    (tmp_path / "kustomization.yaml").write_text("resources: [deployment.yaml]\n" + p.stdout)
    out = _kustomize(tmp_path)
    assert re.findall(r"image: (\S+)", out) == [f"{R}/shop/web@{B}", f"{R}/shop/sidecar:1"]


def test_two_workloads_converging_one_name_on_two_digests_leave_a_comment(tmp_path) -> None:
    items = [
        pod("a", f"{R}/x:1", f"{R}/x@{A}", owner=("DaemonSet", "one")),
        pod("b", f"{R}/x:1", f"{R}/x@{B}", owner=("DaemonSet", "two")),
    ]
    report = imgdigest.audit_pods([dump(tmp_path / "p.json", items)], options=OFFLINE)
    assert report.fix_kustomize() == (
        f"images:\n- name: {R}/x\n  digest: {A}\n"
        f"# default/DaemonSet/two (app) needs {R}/x@{B}, but default/DaemonSet/one needs {A}: "
        "use a patch for one of them\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "{f}: no JSON object (expected what kubectl get -o json prints)"),
        (
            '{"kind": "List", "items": [\n  {"kind": "Service"},\n  {"kind" "Pod"}\n]}',
            "{f}:3: not valid JSON: Expecting ':' delimiter",
        ),
        ("[1, 2]", "{f}: expected a JSON object (kubectl get -o json), got an array"),
        (
            '{"kind": "List", "items": [{"kind": "Service"}, 7]}',
            "{f}: items[1]: expected an object, got int",
        ),
        ('{"kind": "List", "items": {"kind": "Pod"}}', "{f}: items: expected an array"),
        (
            '{"kind": "List", "items": [{"kind": "Pod", "metadata": "x"}]}',
            "{f}: items[0]: metadata: expected an object, got a string",
        ),
        (
            '{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p"}, '
            '"spec": {"containers": {"name": "c"}}}]}',
            "{f}: items[0]: spec.containers: expected an array, got an object",
        ),
        (
            '{"kind": "List", "items": [{"metadata": {}}]}',
            "{f}: items[0]: no kind (is this kubectl get -o json?)",
        ),
        (b"\xff\xfe{}", None),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_on_stdout(tmp_path, content, message) -> None:
    f = tmp_path / "dump.json"
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content)
    p = run("--offline", str(f))
    assert (p.returncode, p.stdout) == (2, ""), p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith(f"imgdigest: error: {f}")
    if message is not None:
        assert p.stderr == f"imgdigest: error: {message.format(f=f)}\n"


def test_usage_errors() -> None:
    missing = run("--offline", "/nonexistent/pods.json")
    assert missing.returncode == 2
    assert missing.stderr == (
        "imgdigest: error: /nonexistent/pods.json: cannot read: No such file or directory\n"
    )
    both = run("--offline", "--resolve", CLUSTER[0])
    assert both.returncode == 2
    assert both.stderr == (
        "imgdigest: error: --resolve asks the registry: it cannot be combined with --offline\n"
    )
    twice = run("--offline", "-", "-", stdin="{}")
    assert (twice.returncode, twice.stderr) == (
        2,
        "imgdigest: error: - (stdin) can be named only once\n",
    )


def test_an_empty_pod_list_is_noted_and_passes(tmp_path: Path) -> None:
    p = run("--offline", dump(tmp_path / "empty.json", []))
    assert (p.returncode, p.stdout) == (0, "")
    assert p.stderr == (
        "imgdigest: note: no pods in the input (pipe kubectl get pods -A -o json)\n"
        "imgdigest: 0 pods in 0 workloads: 0 mixed, 0 unpinned, 0 stale, 0 mismatch, "
        "0 not running (offline: stale not checked)\n"
    )


def test_owners_beyond_the_built_in_kinds_group_their_pods_too(tmp_path: Path) -> None:
    static = pod("etcd-node-1", f"{R}/etcd:3@{D1}", f"{R}/etcd@{D1}", owner=("Node", "node-1"))
    static["metadata"]["ownerReferences"][0]["apiVersion"] = "v1"
    rc = [
        pod(f"old-{n}", f"{R}/old:1", f"{R}/old@{A}", owner=("ReplicationController", "old"))
        for n in (1, 2)
    ]
    for p in rc:
        p["metadata"]["ownerReferences"][0]["apiVersion"] = "v1"
    rolled = pod(
        "canary-5d-x", f"{R}/canary:2", f"{R}/canary@{B}", owner=("ReplicaSet", "canary-5d")
    )
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "canary-5d",
            "namespace": "default",
            "uid": "uid-canary-5d",
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Rollout",
                    "name": "canary",
                    "uid": "r1",
                    "controller": True,
                }
            ],
        },
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"{R}/canary:2"}]}}},
    }
    path = dump(tmp_path / "p.json", [static, *rc, rolled, rs])
    report = imgdigest.audit_pods([path], options=OFFLINE)
    assert [(w.kind, w.name, w.api_version, w.source, w.pods) for w in report.workloads] == [
        ("Pod", "etcd-node-1", "v1", "object", 1),
        ("ReplicationController", "old", "v1", "owner", 2),
        ("Rollout", "canary", "argoproj.io/v1alpha1", "owner", 1),
    ]
