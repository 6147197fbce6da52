"""deploy/argocd: imgdigest as an Argo CD Config Management Plugin sidecar.

The Component is built with the real kubectl onto a stand-in argocd-repo-server shaped
like Argo CD's own (a ``copyutil`` init container and the ``var-files`` and ``plugins``
volumes), and every built-in object is validated strictly against the Kubernetes schema.
The plugin file is not a Kubernetes object: it is checked against the fields Argo CD's
documentation lists, and its ``generate`` and ``discover`` commands are run as the CMP
server runs them (``sh -c`` in the application's directory, Argo's variables set) with the
real helm and kustomize (kubectl's, behind a ``kustomize`` name) against the test registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.harness import push_image, push_index
from tests.pin.helpers import fake_digest
from tests.shared import ROOT, tool

from .test_helm_postrender import pinned_as
from .tools import BIN, CHART

COMPONENT = ROOT / "deploy" / "argocd"
K8S_VERSION = "1.30"

REPO_SERVER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: argocd-repo-server}
  template:
    metadata:
      labels: {app.kubernetes.io/name: argocd-repo-server}
    spec:
      initContainers:
        - name: copyutil
          image: quay.io/argoproj/argocd:v3.1.0
          command: [/bin/cp, -n, /usr/local/bin/argocd, /var/run/argocd/argocd-cmp-server]
          volumeMounts: [{name: var-files, mountPath: /var/run/argocd}]
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v3.1.0
          volumeMounts: [{name: tmp, mountPath: /tmp}]
      volumes:
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
        - {name: tmp, emptyDir: {}}
"""

#: The fields of a ConfigManagementPlugin that Argo CD's documentation describes.
PLUGIN_FIELDS = {"apiVersion", "kind", "metadata", "spec"}
SPEC_FIELDS = {
    "version", "init", "generate", "discover", "parameters", "preserveFileMode",
    "provideGitCreds",
}  # fmt: skip
COMMAND_FIELDS = {"command", "args"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> list[dict]:
    root = tmp_path_factory.mktemp("argocd")
    (root / "repo-server.yaml").write_text(REPO_SERVER)
    component = os.path.relpath(COMPONENT, root)
    (root / "kustomization.yaml").write_text(
        f"resources: [repo-server.yaml]\ncomponents: [{component}]\n"
    )
    done = subprocess.run(
        [tool("kubectl"), "kustomize", str(root)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def plugin_of(docs: list[dict]) -> dict:
    (configmap,) = [d for d in docs if d["kind"] == "ConfigMap"]
    return yaml.safe_load(configmap["data"]["plugin.yaml"])


def test_every_built_object_passes_strict_schema_validation(built):
    assert sorted(d["kind"] for d in built) == ["ConfigMap", "Deployment"]
    for doc in built:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_plugin_file_uses_only_the_fields_argo_cd_documents(built):
    plugin = plugin_of(built)
    assert set(plugin) == PLUGIN_FIELDS
    assert (plugin["apiVersion"], plugin["kind"]) == (
        "argoproj.io/v1alpha1",
        "ConfigManagementPlugin",
    )
    assert plugin["metadata"]["name"] == "imgdigest"
    spec = plugin["spec"]
    assert set(spec) <= SPEC_FIELDS
    assert isinstance(spec["version"], str)
    for step in ("init", "generate"):
        assert set(spec[step]) <= COMMAND_FIELDS
        assert all(isinstance(s, str) for s in spec[step]["command"] + spec[step]["args"])
    assert spec["preserveFileMode"] is False


def test_sidecar_is_wired_as_argo_cd_requires(built):
    (deployment,) = [d for d in built if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    sidecar = next(c for c in pod["containers"] if c["name"] == "imgdigest-cmp")
    assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert sidecar["securityContext"]["runAsUser"] == 999
    assert sidecar["image"] == "registry.example.com/imgdigest/webhook:0.1.0"
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
    assert mounts["/var/run/argocd"]["name"] == "var-files"
    assert mounts["/home/argocd/cmp-server/plugins"]["name"] == "plugins"
    config = mounts["/home/argocd/cmp-server/config/plugin.yaml"]
    assert config["subPath"] == "plugin.yaml"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[config["name"]]["configMap"]["name"] == "imgdigest-cmp-plugin"
    assert all(m["name"] in volumes for c in pod["containers"] for m in c["volumeMounts"])
    # A /tmp of its own: never the repo-server's (Argo CD's advice against path traversal).
    assert mounts["/tmp"]["name"] != "tmp"
    tools = next(c for c in pod["initContainers"] if c["name"] == "imgdigest-tools")
    assert tools["image"] == "quay.io/argoproj/argocd:v3.1.0"
    assert [c["name"] for c in pod["initContainers"]] == ["copyutil", "imgdigest-tools"]
    path = next(e["value"] for e in sidecar["env"] if e["name"] == "PATH")
    assert path.split(":")[0] == tools["volumeMounts"][0]["mountPath"] == "/custom-tools"


# -- the plugin's commands, run as the CMP server runs them -------------------------------


@pytest.fixture
def sidecar(built, tmp_path):
    """Runs a step of the plugin in a directory, with helm, kustomize and imgdigest on PATH."""
    plugin = plugin_of(built)
    tools = tmp_path / "custom-tools"
    tools.mkdir()
    (tools / "helm").symlink_to(tool("helm"))
    shim = tools / "kustomize"
    shim.write_text(
        f'#!/bin/sh\n[ "$1" = build ] && shift\nexec {tool("kubectl")} kustomize "$@"\n'
    )
    shim.chmod(0o755)
    helm_home = tmp_path / "helm-home"

    def run(step: dict, where: Path, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "PATH": f"{tools}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
            "HELM_DATA_HOME": str(helm_home / "data"),
            "HELM_CONFIG_HOME": str(helm_home / "config"),
            "HELM_CACHE_HOME": str(helm_home / "cache"),
            "ARGOCD_APP_NAME": "rel",
            "ARGOCD_APP_NAMESPACE": "apps",
            **{f"ARGOCD_ENV_{k}": v for k, v in env.items()},
        }
        return subprocess.run(
            [*step["command"], *step.get("args", [])],
            cwd=where,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return plugin["spec"], run


def test_generate_renders_a_chart_and_pins_it_against_the_registry(
    sidecar, registry_http, unique_repo, tmp_home, tmp_path
):
    spec, run = sidecar
    app = tmp_path / "app"
    shutil.copytree(CHART, app)
    web = push_index(registry_http, f"{unique_repo}/web", "1.0")
    proxy = push_image(registry_http, f"{unique_repo}/proxy", "2.0")
    refs = {
        f"{registry_http.host}/{unique_repo}/web:1.0": web.digest,
        f"{registry_http.host}/{unique_repo}/proxy:2.0": proxy.digest,
    }
    web_ref, proxy_ref = refs
    helm_args = (
        f"--set image.repository={web_ref.rsplit(':', 1)[0]} --set image.tag=1.0 "
        f"--set sidecar={proxy_ref}"
    )
    assert run(spec["init"], app).returncode == 0
    done = run(spec["generate"], app, HELM_ARGS=helm_args)
    assert done.returncode == 0, done.stderr
    plain = subprocess.run(
        [tool("helm"), "template", "rel", str(app), "--namespace", "apps", *helm_args.split()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert done.stdout == pinned_as(plain, refs)
    assert done.stdout.count("@sha256:") == 5


def test_generate_builds_a_kustomization_and_pins_it_offline(sidecar, tmp_path):
    spec, run = sidecar
    app = tmp_path / "app"
    app.mkdir()
    (app / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        "  - name: a\n    image: registry.invalid/a:1\n"
    )
    (app / "kustomization.yaml").write_text("resources: [pod.yaml]\n")
    (app / "images.lock").write_text(f"registry.invalid/a:1@{fake_digest('a')}\n")
    done = run(spec["generate"], app, IMGDIGEST_ARGS="--lock images.lock --offline")
    assert done.returncode == 0, done.stderr
    assert f"image: registry.invalid/a:1@{fake_digest('a')}\n" in done.stdout
    assert yaml.safe_load(done.stdout)["metadata"]["name"] == "p"


def test_generate_fails_with_helms_message_and_prints_nothing(sidecar, tmp_path):
    spec, run = sidecar
    app = tmp_path / "app"
    shutil.copytree(CHART, app)
    (app / "templates" / "broken.yaml").write_text("{{ .Values.nope.deeper }}\n")
    done = run(spec["generate"], app)
    assert done.returncode != 0
    assert done.stdout == ""
    assert "nil pointer evaluating interface {}.deeper" in done.stderr


def test_generate_fails_when_an_image_cannot_be_pinned(sidecar, tmp_path):
    spec, run = sidecar
    app = tmp_path / "app"
    shutil.copytree(CHART, app)
    (app / "images.lock").write_text(f"registry.invalid/web:1.0@{fake_digest('web')}\n")
    done = run(spec["generate"], app, IMGDIGEST_ARGS="--lock images.lock --offline")
    assert done.returncode == 3
    assert done.stdout == ""
    assert "registry.invalid/proxy:2.0: not in the lock file (offline)" in done.stderr


def test_applications_opt_in_by_name(built):
    """No discover rule: the plugin takes over no Application that does not name it."""
    plugin = plugin_of(built)
    assert "discover" not in plugin["spec"]
    assert f"{plugin['metadata']['name']}-{plugin['spec']['version']}" == "imgdigest-v1"
