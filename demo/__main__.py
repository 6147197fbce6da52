"""``make demo``: a local registry, seeded from an OCI layout, and imgdigest at work.

Everything runs on 127.0.0.1 with no account and no internet: the registry is the
CNCF distribution registry from Debian's ``docker-registry`` package, started in a
temporary directory and stopped at the end. The sample images come from the OCI
layout shipped in ``demo/layout`` (regenerate it with ``python demo/make_layout.py``).
Each step prints the command a user would type and its output.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.harness import RegistryServer, push_image

HERE = Path(__file__).resolve().parent
LAYOUT = HERE / "layout"

DEPLOYMENT = """\
# A Deployment as people write it: readable tags.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      initContainers:
        - name: setup
          image: "{registry}/demo/tool:2.3"   # quoted, with a comment
      containers:
        - name: web
          image: {registry}/demo/web:1.0
"""


def step(
    title: str, *args: str, env: dict[str, str], ok: tuple[int, ...] = (0,), lines: int = 0
) -> str:
    shown = [a.replace(str(HERE.parent) + os.sep, "") for a in args]
    print(f"\n## {title}\n$ imgdigest {shlex.join(shown)}", flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "imgdigest", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    out = proc.stdout.splitlines(keepends=True)
    if lines and len(out) > lines:
        out = [*out[:lines], f"  … ({len(out) - lines} more lines)\n"]
    sys.stdout.write("".join(out))
    sys.stdout.write("".join(f"  {line}\n" for line in proc.stderr.splitlines()))
    if proc.returncode not in ok:
        raise SystemExit(f"demo step failed (exit {proc.returncode}): {title}")
    if proc.returncode:
        print(f"  (exit {proc.returncode}, as expected)")
    return proc.stdout.strip()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="imgdigest-demo-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache"), "HOME": tmp}
        (work / "registry").mkdir()
        with RegistryServer("http", workdir=work / "registry") as reg:
            print(f"local registry: http://{reg.host} (CNCF distribution, plain HTTP on loopback)")
            web = f"{reg.host}/demo/web:1.0"
            tool = f"{reg.host}/demo/tool:2.3"
            copied = step(
                "Seed the registry from the OCI layout in the repository",
                "copy",
                "--all-platforms",
                f"oci:{LAYOUT}:1.0",
                web,
                env=env,
            )
            push_image(reg, "demo/tool", "2.3", platform=("linux", "arm64"))
            index_digest = step("The digest to pin: what the tag names", "digest", web, env=env)
            if not copied.endswith("@" + index_digest):
                raise SystemExit("copy and digest disagree: content addressing is broken")
            step("One platform's manifest", "digest", "--platform", "linux/arm64", web, env=env)
            step("The content-addressed graph of the image", "tree", web, env=env)
            conf = work / "registries.conf"
            conf.write_text(
                '[[registry]]\nprefix = "registry.k8s.io"\nlocation = "registry.k8s.io"\n'
                f'[[registry.mirror]]\nlocation = "{reg.host}/demo"\ninsecure = true\n'
            )
            step(
                "A public name through an air-gapped mirror (registries.conf)",
                "digest",
                "--registries-conf",
                str(conf),
                "--explain",
                "registry.k8s.io/web:1.0",
                env=env,
            )
            manifest = work / "deploy.yaml"
            manifest.write_text(DEPLOYMENT.format(registry=reg.host))
            step("Enforce digests before deploy", "check", str(manifest), env=env, ok=(1,))
            step("Pin the file: only the image scalars change", "pin", str(manifest), env=env)
            step("Write the pins", "pin", "--write", "-q", str(manifest), env=env)
            step("Now the check passes", "check", str(manifest), env=env)
            step(
                "And the same verdicts as a cluster policy",
                "policy",
                "gatekeeper",
                env=env,
                lines=12,
            )
            assert tool in manifest.read_text()
    print("\ndemo finished: every digest above is the sha256 of bytes the registry holds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
