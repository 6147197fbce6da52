"""Pinning at kustomize build time: ``imgdigest krm`` as a transformer, with the real kubectl.

``kubectl kustomize --enable-alpha-plugins`` runs legacy exec plugins (the shipped
``integrations/kustomize/plugin`` tree) but has no ``--enable-exec``, so it skips exec KRM
functions without a word. The ResourceList protocol those use is tested with the real KRM
runner this machine has, ``kpt fn eval --exec`` (Debian's ``google-cloud-cli-kpt``, part of
the machine's image), and on the process itself. Expected outputs are the tool's own output
without the transformer, with each image field given its digest by hand.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.harness import push_image, push_index
from tests.pin.helpers import fake_digest

from .tools import KUSTOMIZE, environment, run

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      initContainers:
        - name: migrate
          image: {web}
      containers:
        - name: web
          image: {web}
        - name: proxy
          image: {proxy}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
data:
  note: "image: {proxy}"
"""

CONFIG = """\
apiVersion: imgdigest.dev/v1
kind: ImagePins
metadata:
  name: pin
{settings}"""


def kustomization(root: Path, web: str, proxy: str, settings: str, pin: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.yaml").write_text(DEPLOYMENT.format(web=web, proxy=proxy))
    (root / "pin.yaml").write_text(CONFIG.format(settings=settings))
    transformers = "transformers: [pin.yaml]\n" if pin else ""
    (root / "kustomization.yaml").write_text(f"resources: [app.yaml]\n{transformers}")
    return root


def build(root: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**environment(home), "KUSTOMIZE_PLUGIN_HOME": str(KUSTOMIZE / "plugin")}
    return run("kubectl", "kustomize", "--enable-alpha-plugins", str(root), env=env)


def pinned_as(text: str, pins: dict[str, str]) -> str:
    for ref, digest in pins.items():
        text = text.replace(f"image: {ref}\n", f"image: {ref}@{digest}\n")
    return text


def expected(root: Path, home: Path) -> str:
    """kustomize's build of the same tree without the transformer."""
    (root / "kustomization.yaml").write_text("resources: [app.yaml]\n")
    done = build(root, home)
    assert done.returncode == 0, done.stderr
    (root / "kustomization.yaml").write_text("resources: [app.yaml]\ntransformers: [pin.yaml]\n")
    return done.stdout


def test_kubectl_kustomize_pins_every_image_through_the_registry(
    registry_http, unique_repo, tmp_home, tmp_path
):
    web = f"{registry_http.host}/{unique_repo}/web:1.0"
    proxy = f"{registry_http.host}/{unique_repo}/proxy:2.0"
    pins = {
        web: push_index(registry_http, f"{unique_repo}/web", "1.0").digest,
        proxy: push_image(registry_http, f"{unique_repo}/proxy", "2.0").digest,
    }
    root = kustomization(tmp_path / "app", web, proxy, "")
    plain = expected(root, tmp_path)
    done = build(root, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == pinned_as(plain, pins)
    assert done.stdout.count("@sha256:") == 3
    configmap = next(d for d in yaml.safe_load_all(done.stdout) if d["kind"] == "ConfigMap")
    assert configmap["data"]["note"] == f"image: {proxy}"  # text, not an image field


def test_kubectl_kustomize_offline_with_a_lock_beside_the_kustomization(tmp_path):
    web, proxy = "registry.invalid/web:1.0", "registry.invalid/proxy:2.0"
    pins = {web: fake_digest("web"), proxy: fake_digest("proxy")}
    root = kustomization(tmp_path / "app", web, proxy, "lock: images.lock\noffline: true\n")
    (root / "images.lock").write_text("".join(f"{r}@{d}\n" for r, d in pins.items()))
    plain = expected(root, tmp_path)
    done = build(root, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == pinned_as(plain, pins)


def test_kubectl_kustomize_stops_with_imgdigests_reason_when_an_image_fails(tmp_path):
    web, proxy = "registry.invalid/web:1.0", "registry.invalid/proxy:2.0"
    root = kustomization(tmp_path / "app", web, proxy, "lock: [images.lock]\noffline: true\n")
    (root / "images.lock").write_text(f"{web}@{fake_digest('web')}\n")
    done = build(root, tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"{proxy}: not in the lock file (offline)" in done.stderr


def test_a_bad_setting_is_one_line_naming_the_config(tmp_path):
    root = kustomization(tmp_path / "app", "a/web:1", "a/proxy:2", "ofline: true\n")
    done = build(root, tmp_path)
    assert done.returncode == 1
    assert "unknown setting(s) ofline (known: lock, offline, platform, dropTag)" in done.stderr
    assert "Traceback" not in done.stderr


def test_kubectl_kustomize_skips_exec_krm_functions_silently(tmp_path):
    """Why the plugin tree is shipped: kubectl runs no exec KRM function, and says nothing."""
    root = kustomization(tmp_path / "app", "a/web:1", "a/proxy:2", "")
    marker = tmp_path / "ran"
    script = root / "fn"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    script.chmod(0o755)
    (root / "pin.yaml").write_text(
        "apiVersion: imgdigest.dev/v1\nkind: ImagePins\nmetadata:\n  name: pin\n"
        "  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./fn\n"
    )
    done = build(root, tmp_path)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert "@sha256:" not in done.stdout


# -- the exec KRM function protocol: a ResourceList in, the same ResourceList out -------------

RESOURCE_LIST = """\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web # a comment
    annotations:
      config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'app.yaml'
  spec:
    template:
      spec:
        containers:
        - name: web
          image: {web}
        - name: proxy
          image: "{proxy}"
functionConfig:
  apiVersion: imgdigest.dev/v1
  kind: ImagePins
  metadata:
    name: pin
    annotations:
      config.kubernetes.io/function: |
        exec:
          path: ./imgdigest-krm
  spec:
{spec}"""


def krm(stdin: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgdigest", "krm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_resource_list_is_written_back_with_only_its_images_pinned(
    registry_http, unique_repo, tmp_home, tmp_path
):
    web = f"{registry_http.host}/{unique_repo}/web:1.0"
    proxy = f"{registry_http.host}/{unique_repo}/proxy:2.0"
    dw = push_index(registry_http, f"{unique_repo}/web", "1.0").digest
    dp = push_image(registry_http, f"{unique_repo}/proxy", "2.0").digest
    given = RESOURCE_LIST.format(web=web, proxy=proxy, spec="    dropTag: false\n")
    done = krm(given, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == given.replace(f"image: {web}\n", f"image: {web}@{dw}\n").replace(
        f'image: "{proxy}"', f'image: "{proxy}@{dp}"'
    )


def test_resource_list_offline_with_the_lock_its_function_config_names(tmp_path):
    web, proxy = "registry.invalid/web:1.0", "registry.invalid/proxy:2.0"
    (tmp_path / "images.lock").write_text(
        f"{web}@{fake_digest('web')}\n{proxy}@{fake_digest('proxy')}\n"
    )
    spec = "    lock: [images.lock]\n    offline: true\n    dropTag: true\n"
    given = RESOURCE_LIST.format(web=web, proxy=proxy, spec=spec)
    done = krm(given, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"image: registry.invalid/web@{fake_digest('web')}\n" in done.stdout
    assert f'image: "registry.invalid/proxy@{fake_digest("proxy")}"' in done.stdout
    assert (
        done.stdout.replace(f"@{fake_digest('web')}", ":1.0").replace(
            f"@{fake_digest('proxy')}", ":2.0"
        )
        == given
    )


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("kind: Deployment\n", "-: expected a ResourceList with items on stdin, found kind"),
        ("kind: ResourceList\nitems: [\n", "-: not a ResourceList: line 3"),
        (
            "kind: ResourceList\nitems: []\nfunctionConfig:\n  spec: {offline: true}\n",
            "functionConfig: offline needs a lock",
        ),
        (
            "kind: ResourceList\nitems: []\nfunctionConfig:\n  spec: {lock: 3}\n",
            "functionConfig: lock: got int 3",
        ),
    ],
)
def test_bad_input_is_exit_2_with_one_line(stdin, message, tmp_path):
    done = krm(stdin, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_flags_add_to_a_resource_list_without_function_config(tmp_path):
    lock = tmp_path / "images.lock"
    lock.write_text(f"registry.invalid/a:1@{fake_digest('a')}\n")
    given = "kind: ResourceList\nitems:\n- kind: Pod\n  spec:\n    containers:\n"
    given += "    - image: registry.invalid/a:1\n"
    done = krm(given, "--lock", str(lock), "--offline", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == given.replace("a:1\n", f"a:1@{fake_digest('a')}\n")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (None, "missing.yaml: cannot read the function config: No such file or directory"),
        ("kind: ImagePins\nplatform: 3\n", "pin.yaml: platform: got int 3"),
        ("kind: ImagePins\nplatform: linux/\n", "pin.yaml: platform: invalid platform"),
        ("kind: ImagePins\nspec: [1]\n", "pin.yaml: spec must be a mapping"),
        ("kind: ImagePins\nlock: [\n", "pin.yaml: not YAML: line 3"),
    ],
)
def test_a_bad_plugin_config_is_exit_2_naming_the_file(config, message, tmp_path):
    name = "missing.yaml"
    if config is not None:
        name = "pin.yaml"
        (tmp_path / name).write_text(config)
    done = krm("kind: Pod\n", name, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("imgdigest: error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# -- a real KRM function runner: kpt fn eval --exec ---------------------------------------


def kpt(folder: Path, config: Path, home: Path) -> subprocess.CompletedProcess[str]:
    found = shutil.which("kpt")
    assert found, "kpt is needed: Debian's google-cloud-cli-kpt, part of this machine's image"
    return subprocess.run(
        [found, "fn", "eval", str(folder), "--exec", str(KUSTOMIZE / "imgdigest-krm"),
         "--fn-config", str(config)],
        cwd=config.parent,
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip


def test_kpt_runs_the_krm_function_and_pins_in_place(tmp_path):
    web, proxy = "registry.invalid/web:1.0", "registry.invalid/proxy:2.0"
    app = tmp_path / "app"
    app.mkdir()
    source = DEPLOYMENT.format(web=web, proxy=proxy)
    (app / "app.yaml").write_text(source)
    (tmp_path / "images.lock").write_text(
        f"{web}@{fake_digest('web')}\n{proxy}@{fake_digest('proxy')}\n"
    )
    config = tmp_path / "fn-config.yaml"
    config.write_text(CONFIG.format(settings="spec:\n  lock: [images.lock]\n  offline: true\n"))
    done = kpt(app, config, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    expected = pinned_as(source, {web: fake_digest("web"), proxy: fake_digest("proxy")})
    assert (app / "app.yaml").read_text() == expected
    assert expected.count("@sha256:") == 3


def test_kpt_reports_imgdigests_reason_and_leaves_the_files(tmp_path):
    web, proxy = "registry.invalid/web:1.0", "registry.invalid/proxy:2.0"
    app = tmp_path / "app"
    app.mkdir()
    source = DEPLOYMENT.format(web=web, proxy=proxy)
    (app / "app.yaml").write_text(source)
    (tmp_path / "images.lock").write_text(f"{web}@{fake_digest('web')}\n")
    config = tmp_path / "fn-config.yaml"
    config.write_text(CONFIG.format(settings="spec:\n  lock: images.lock\n  offline: true\n"))
    done = kpt(app, config, tmp_path)
    assert done.returncode == 1
    assert f"{proxy}: not in the lock file (offline)" in done.stdout + done.stderr
    assert "Exit code: 3" in done.stdout + done.stderr
    assert (app / "app.yaml").read_text() == source
