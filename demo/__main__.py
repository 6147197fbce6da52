"""``make demo``: start a local registry, push sample images, and resolve their digests.

Everything runs on 127.0.0.1 with no account and no internet: the registry is the
CNCF distribution registry from Debian's ``docker-registry`` package, started in a
temporary directory and stopped at the end. Each step prints the command a user
would type and its output.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.harness import RegistryServer, push_image, push_index


def step(title: str, *args: str, env: dict[str, str] | None = None) -> str:
    print(f"\n## {title}\n$ imgdigest {shlex.join(args)}", flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "imgdigest", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    sys.stdout.write(proc.stdout)
    sys.stdout.write("".join(f"  {line}\n" for line in proc.stderr.splitlines()))
    if proc.returncode != 0:
        raise SystemExit(f"demo step failed (exit {proc.returncode}): {title}")
    return proc.stdout.strip()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="imgdigest-demo-") as tmp:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache"), "HOME": tmp}
        (Path(tmp) / "registry").mkdir()
        with RegistryServer("http", workdir=Path(tmp) / "registry") as reg:
            print(f"local registry: http://{reg.host} (distribution {reg.mode} mode)")
            index = push_index(reg, "demo/web", "1.0")
            single = push_image(reg, "demo/tool", "2.3", platform=("linux", "arm64"))
            push_index(reg, "mirror/pause", "3.9", attestations=False)
            print(
                "pushed demo/web:1.0 (amd64, arm64, arm/v7 + attestations), demo/tool:2.3 (arm64)"
            )
            web = f"{reg.host}/demo/web:1.0"
            tool = f"{reg.host}/demo/tool:2.3"

            got = step("The digest to pin: what the tag names (an index)", "digest", web, env=env)
            assert got == index.digest, "index digest disagrees with the pushed bytes"
            step("One platform's manifest", "digest", "--platform", "linux/arm64", web, env=env)
            step("Every platform of the index", "digest", "--platform", "all", web, env=env)
            step("Pinned references, many at once", "digest", "--full-ref", web, tool, env=env)
            conf = Path(tmp) / "registries.conf"
            conf.write_text(
                '[[registry]]\nprefix = "registry.k8s.io"\nlocation = "registry.k8s.io"\n'
                f'[[registry.mirror]]\nlocation = "{reg.host}/mirror"\ninsecure = true\n'
            )
            step(
                "A public name through an air-gapped mirror (registries.conf)",
                "digest",
                "--registries-conf",
                str(conf),
                "--explain",
                "registry.k8s.io/pause:3.9",
                env=env,
            )
            step(
                "Canonical names, offline",
                "ref",
                "ubuntu",
                "quay.io/org/app:1@" + single.digest,
                env=env,
            )
    print("\ndemo finished: every digest above is the sha256 of the bytes the registry holds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
