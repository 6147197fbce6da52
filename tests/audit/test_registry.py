"""``audit`` online, against the real registry: stale tags after a re-push, platform digests
of an index, the index → platform tree, and a registry failure."""

from __future__ import annotations

import base64
import json
import re

import imgdigest
from tests.audit.helpers import dump, pod, run
from tests.harness import push_image, push_index


def test_a_re_pushed_tag_makes_the_running_pods_stale(registry_http, unique_repo, tmp_home):
    host = registry_http.host
    tag = f"{host}/{unique_repo}:1.0"
    old = push_image(registry_http, unique_repo, "1.0", seed="first")
    items = [
        pod(f"app-{n}", tag, f"{host}/{unique_repo}@{old.digest}", owner=("DaemonSet", "app"))
        for n in (1, 2)
    ]
    path = dump(tmp_home / "pods.json", items)
    with imgdigest.Client() as client:
        before = client.audit([path])
    assert [f.problem for f in before.findings] == ["unpinned"]
    assert before.workloads[0].containers[0].target == old.digest

    new = push_image(registry_http, unique_repo, "1.0", seed="second")
    assert new.digest != old.digest
    p = run("--format", "json", "--explain", path)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    stale = [f for f in doc["findings"] if f["problem"] == "stale"]
    assert stale == [
        {
            "namespace": "default",
            "kind": "DaemonSet",
            "workload": "app",
            "container": "app",
            "problem": "stale",
            "detail": f"{old.digest} runs in 2 pods, but {tag} now names {new.digest}",
            "pods": ["app-1", "app-2"],
            "running": old.digest,
            "expected": new.digest,
        }
    ]
    assert doc["workloads"][0]["containers"][0]["target"] == new.digest
    # one HEAD for the one tag, whatever the number of pods
    heads = re.findall(r"^  HEAD (\S+)", p.stderr, re.M)
    assert heads == [f"{host}/v2/{unique_repo}/manifests/1.0"]


def test_platform_digests_of_the_tag_s_index_are_neither_stale_nor_a_mismatch(
    registry_http, unique_repo, tmp_home
):
    host = registry_http.host
    idx = push_index(registry_http, unique_repo, "2.0")
    amd64 = idx.child("linux", "amd64").digest
    name = f"{host}/{unique_repo}"
    items = [
        pod("by-index", f"{name}:2.0", f"{name}@{idx.digest}"),
        pod("by-platform", f"{name}:2.0", f"{name}@{amd64}"),
        pod("pinned", f"{name}@{idx.digest}", f"{name}@{amd64}"),
    ]
    path = dump(tmp_home / "pods.json", items)
    online = imgdigest.audit_pods([path])
    assert [(w.name, [f.problem for f in w.findings]) for w in online.workloads] == [
        ("by-index", ["unpinned"]),
        ("by-platform", ["unpinned"]),
        ("pinned", []),
    ]
    offline = imgdigest.audit_pods([path], options=imgdigest.AuditOptions(offline=True))
    pinned = offline.workloads[2].findings
    assert [(f.problem, f.running, f.expected) for f in pinned] == [("mismatch", amd64, idx.digest)]


def test_resolve_shows_each_running_digest_s_index_and_platforms(
    registry_http, unique_repo, tmp_home
):
    host = registry_http.host
    idx = push_index(registry_http, unique_repo, "3.0")
    name = f"{host}/{unique_repo}"
    pinned = f"{name}@{idx.digest}"
    path = dump(tmp_home / "pods.json", [pod("web", pinned, pinned)])
    p = run("--resolve", "--format", "json", path)
    assert p.returncode == 0, p.stderr
    tree = json.loads(p.stdout)["workloads"][0]["containers"][0]["running"][0]["tree"]
    assert (tree["digest"], tree["kind"]) == (idx.digest, "index")
    assert tree["reference"] == f"{name}@{idx.digest}"
    platforms = [(c["platform"], c["digest"]) for c in tree["children"] if not c["attestation"]]
    assert platforms == [
        ("linux/amd64", idx.child("linux", "amd64").digest),
        ("linux/arm64/v8", idx.child("linux", "arm64", "v8").digest),
        ("linux/arm/v7", idx.child("linux", "arm", "v7").digest),
    ]
    text = run("--resolve", path)
    assert f"      index {idx.digest}\n" in text.stdout
    assert f"        linux/arm/v7 {idx.child('linux', 'arm', 'v7').digest}\n" in text.stdout


def test_a_tag_the_registry_does_not_have_is_a_failure_with_its_exit_code(
    registry_http, unique_repo, tmp_home
):
    host = registry_http.host
    tag = f"{host}/{unique_repo}:gone"
    digest = "sha256:" + "a" * 64
    path = dump(tmp_home / "pods.json", [pod("p", tag, f"{host}/{unique_repo}@{digest}")])
    p = run(path)
    assert p.returncode == 3, p.stderr
    first = p.stderr.splitlines()[0]
    assert first.startswith(f"imgdigest: error: {tag}: ") and "not found" in first
    assert "Traceback" not in p.stderr


def test_credentials_are_used_and_never_shown(registry_basic, unique_repo, tmp_path, tmp_home):
    host = registry_basic.host
    pushed = push_image(registry_basic, unique_repo, "1")
    tag = f"{host}/{unique_repo}:1"
    path = dump(tmp_path / "pods.json", [pod("p", tag, f"{host}/{unique_repo}@{pushed.digest}")])

    def config(password: str) -> str:
        folder = tmp_path / password
        folder.mkdir()
        auth = base64.b64encode(f"{registry_basic.username}:{password}".encode()).decode()
        (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
        return str(folder)

    common = ("--ca-file", registry_basic.ca_file, "--format", "json", "--explain", path)
    good = run("--docker-config", config(registry_basic.password), *common)
    assert good.returncode == 1, good.stderr  # unpinned, and not stale
    assert [f["problem"] for f in json.loads(good.stdout)["findings"]] == ["unpinned"]
    wrong = "not-the-password-" + registry_basic.password
    refused = run("--docker-config", config(wrong), *common)
    assert refused.returncode == 4, refused.stderr
    for out in (good, refused):
        for secret in (registry_basic.password, wrong):
            assert secret not in out.stdout + out.stderr


def test_replicas_reporting_an_index_and_its_platform_manifest_are_not_mixed(
    registry_http, unique_repo, tmp_home
):
    host = registry_http.host
    idx = push_index(registry_http, unique_repo, "4.0")
    other = push_image(registry_http, unique_repo, None, seed="another image")
    name = f"{host}/{unique_repo}"
    arm64 = idx.child("linux", "arm64", "v8").digest
    agent = [
        pod("amd64-node", f"{name}:4.0", f"{name}@{idx.digest}", owner=("DaemonSet", "agent")),
        pod("arm64-node", f"{name}:4.0", f"{name}@{arm64}", owner=("DaemonSet", "agent")),
    ]
    odd = pod("odd-node", f"{name}:4.0", f"{name}@{other.digest}", owner=("DaemonSet", "odd"))
    pair = [
        pod(f"odd-{n}", f"{name}:4.0", f"{name}@{idx.digest}", owner=("DaemonSet", "odd"))
        for n in (1, 2)
    ]
    path = dump(tmp_home / "pods.json", [*agent, odd, *pair])
    offline = imgdigest.audit_pods([path], options=imgdigest.AuditOptions(offline=True))
    assert [(w.name, [f.problem for f in w.findings]) for w in offline.workloads] == [
        ("agent", ["mixed", "unpinned"]),
        ("odd", ["mixed", "unpinned"]),
    ]
    online = imgdigest.audit_pods([path])
    assert [(w.name, [f.problem for f in w.findings]) for w in online.workloads] == [
        ("agent", ["unpinned"]),
        ("odd", ["stale", "mixed", "unpinned"]),
    ]
    [stale] = [f for f in online.findings if f.problem == "stale"]
    assert (stale.pods, stale.running, stale.expected) == (("odd-node",), other.digest, idx.digest)
