"""Pinning at render time with Helm's post-renderers, leaving the chart alone.

Helm 3 runs an executable (``--post-renderer PATH``); Helm 4 runs a ``postrenderer/v1``
plugin (``helm plugin install`` then ``--post-renderer NAME``). Both are the real binaries
from ``make tools``, on a chart of the suite's own whose images are pushed to the real
test registry. The post-rendered output must be the plain render with each image field
pinned and not one other byte changed. Helm 4 re-serializes whatever a post-renderer
returns, so its reference is the same render through a post-renderer that changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.harness import push_image, push_index
from tests.pin.helpers import fake_digest

from .tools import CHART, PLUGIN, POSTRENDER, environment, run

HELMS = ["helm3", "helm"]


def pinned_as(text: str, pins: dict[str, str]) -> str:
    """``text`` with each image field of the test chart naming ``ref`` given ``@digest``.

    Written out per quoting style of the chart, so the annotation and the ConfigMap text
    that also spell the references (not image fields) stay as they are.
    """
    for ref, digest in pins.items():
        pinned = f"{ref}@{digest}"
        text = text.replace(f'image: "{ref}"', f'image: "{pinned}"')
        text = text.replace(f"image: '{ref}'", f"image: '{pinned}'")
        text = text.replace(f"image: {ref} ", f"image: {pinned} ")
    return text


class Helm:
    """One Helm line (3 or 4) in a home of its own, with imgdigest's post-renderer."""

    def __init__(self, binary: str, home: Path) -> None:
        self.binary, self.env = binary, environment(home)
        if binary == "helm":
            done = run("helm", "plugin", "install", str(PLUGIN), env=self.env)
            assert done.returncode == 0, done.stderr
            assert "Installed plugin: imgdigest" in done.stdout
            identity = home / "identity"
            identity.mkdir()
            (identity / "plugin.yaml").write_text(
                "apiVersion: v1\ntype: postrenderer/v1\nname: identity\nversion: 0.1.0\n"
                "runtime: subprocess\nruntimeConfig:\n  platformCommand:\n    - command: cat\n"
            )
            done = run("helm", "plugin", "install", str(identity), env=self.env)
            assert done.returncode == 0, done.stderr

    def template(self, sets: list[str], *post: str, renderer: str | None = None):
        args = ["template", "rel", str(CHART)]
        for value in sets:
            args += ["--set", value]
        if renderer is not None:
            args += ["--post-renderer", renderer]
            args += [f"--post-renderer-args={a}" for a in post]
        return run(self.binary, *args, env=self.env)

    def reference(self, sets: list[str]) -> str:
        """What Helm outputs when a post-renderer changes nothing."""
        done = self.template(sets, renderer="identity" if self.binary == "helm" else None)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def pinned(self, sets: list[str], *post: str):
        return self.template(sets, *post, renderer=self.renderer)

    @property
    def renderer(self) -> str:
        return "imgdigest" if self.binary == "helm" else str(POSTRENDER)


@pytest.fixture(params=HELMS)
def helm(request, tmp_path) -> Helm:
    return Helm(request.param, tmp_path / request.param)


@pytest.fixture
def images(registry_http, unique_repo, tmp_home):
    """The chart's two images in the test registry: (values, {reference: digest})."""
    web = push_index(registry_http, f"{unique_repo}/web", "1.0")
    proxy = push_image(registry_http, f"{unique_repo}/proxy", "2.0")
    web_ref = f"{registry_http.host}/{unique_repo}/web:1.0"
    proxy_ref = f"{registry_http.host}/{unique_repo}/proxy:2.0"
    sets = [
        f"image.repository={registry_http.host}/{unique_repo}/web",
        "image.tag=1.0",
        f"sidecar={proxy_ref}",
    ]
    return sets, {web_ref: web.digest, proxy_ref: proxy.digest}


def test_pinned_as_spells_the_expected_output_by_hand():
    text = "image: \"r/a:1\"\nimage: 'r/a:1'\nimage: r/a:1 # c\nnote: image: r/a:1\n"
    assert pinned_as(text, {"r/a:1": "sha256:d"}) == (
        "image: \"r/a:1@sha256:d\"\nimage: 'r/a:1@sha256:d'\nimage: r/a:1@sha256:d # c\n"
        "note: image: r/a:1\n"
    )


def test_post_renderer_pins_every_image_and_changes_nothing_else(helm, images):
    sets, pins = images
    reference = helm.reference(sets)
    done = helm.pinned(sets)
    assert done.returncode == 0, done.stderr
    assert done.stdout == pinned_as(reference, pins)
    assert done.stdout != reference
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    web, proxy = pins.items()
    assert pod["initContainers"][0]["image"] == f"{web[0]}@{web[1]}"
    assert [c["image"] for c in pod["containers"]] == [
        f"{web[0]}@{web[1]}",
        f"{proxy[0]}@{proxy[1]}",
    ]
    # Not image fields: left as rendered.
    assert deployment["metadata"]["annotations"]["example.com/built-from"] == web[0]
    configmap = next(d for d in docs if d["kind"] == "ConfigMap")
    assert configmap["data"]["note.txt"] == f"image: {proxy[0]}\n(text, not an image field)\n"


def test_post_renderer_offline_with_a_lock_file_needs_no_registry(helm, tmp_path):
    web, proxy = "registry.invalid/web:1.0", "registry.invalid/proxy:2.0"
    pins = {web: fake_digest("web"), proxy: fake_digest("proxy")}
    lock = tmp_path / "images.lock"
    lock.write_text("".join(f"{ref}@{digest}\n" for ref, digest in pins.items()))
    reference = helm.reference([])
    done = helm.pinned([], "--offline", f"--lock={lock}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == pinned_as(reference, pins)
    assert done.stdout.count("@sha256:") == 5  # four pinned fields and the chart's own pin


def test_post_renderer_failure_stops_helm_with_imgdigests_reason(helm, tmp_path):
    lock = tmp_path / "images.lock"
    lock.write_text(f"registry.invalid/web:1.0@{fake_digest('web')}\n")
    done = helm.pinned([], "--offline", f"--lock={lock}")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "registry.invalid/proxy:2.0: not in the lock file (offline)" in done.stderr
    assert "registry.invalid/web:1.0:" not in done.stderr  # the one in the lock is no failure


def test_post_renderer_names_a_tag_the_registry_does_not_have(helm, images, registry_http):
    sets, _ = images
    missing = [*sets[:-1], f"sidecar={registry_http.host}/t/no-such-repo:9.9"]
    done = helm.pinned(missing)
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"{registry_http.host}/t/no-such-repo:9.9" in done.stderr


HOOK = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    "helm.sh/hook": pre-install
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.invalid/hook:1
"""


@pytest.mark.parametrize(("binary", "pinned"), [("helm", True), ("helm3", False)])
def test_hooks_are_post_rendered_by_helm_4_only(binary, pinned, tmp_path):
    """What docs/helm.md tells Helm 3 users: a hook's image is not pinned at render time."""
    chart = tmp_path / "hooked"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: hooked\nversion: 0.1.0\n")
    (chart / "templates" / "hook.yaml").write_text(HOOK)
    lock = tmp_path / "images.lock"
    lock.write_text(f"registry.invalid/hook:1@{fake_digest('hook')}\n")
    helm = Helm(binary, tmp_path / binary)
    done = run(
        binary, "template", "rel", str(chart), "--post-renderer", helm.renderer,
        f"--post-renderer-args=--lock={lock}", "--post-renderer-args=--offline", env=helm.env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job = yaml.safe_load(done.stdout)
    image = job["spec"]["template"]["spec"]["containers"][0]["image"]
    expected = (
        f"registry.invalid/hook:1@{fake_digest('hook')}" if pinned else "registry.invalid/hook:1"
    )
    assert image == expected
