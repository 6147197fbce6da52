"""A generated corpus of Kubernetes manifests for the check and pin benchmarks.

20,000 documents (~51 MB) in files of 100, naming 1,000 unique images in about 33,000
image values: dense, as install manifests are, rather than a best case. Nineteen documents
in twenty are workloads - Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and bare Pods of
one or two containers, 30% with an init container, with env lists, probes, resources,
volumes, plain and quoted images, trailing comments - and the rest Services, ConfigMaps
with sizeable data, Secrets, ServiceAccounts, RBAC objects and autoscalers. Decoys that
look like images but are not image fields (in comments, annotations and env values) test
that nothing else is touched. Everything is derived from a seed, so two runs write the
same bytes.

Images are ``<host>/bench/app<NNN>:v<M>`` - 100 repositories x 10 tags - so the pin
benchmark can push them to a local registry (``image_names`` lists them).

Usage: ``python -m benchmarks.corpus [--docs N] [--images N] [--host H] [DIR]``.
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"
DOCS_PER_FILE = 100
DEFAULT_HOST = "localhost:5000"


def image_names(count: int = 1000) -> list[str]:
    """``bench/appNNN:vM`` for ``count`` images: count/10 repositories of 10 tags."""
    repos = max(1, count // 10)
    return [f"bench/app{i % repos:03d}:v{i // repos}" for i in range(count)]


#: An image field as the generator writes it (one per container; decoys never match).
IMAGE_FIELD = re.compile(r"^ +image: ", re.M)


@dataclass(frozen=True)
class Corpus:
    root: Path
    files: list[Path]
    documents: int
    images: list[str]  #: the unique references (with host) the documents use
    bytes: int
    values: int = 0  #: image fields written (each container's ``image:``)


def _quoted(rng: random.Random, ref: str) -> str:
    style = rng.random()
    if style < 0.6:
        return ref
    return f"'{ref}'" if style < 0.8 else f'"{ref}"'


def _container(rng: random.Random, ref: str, name: str, pad: str) -> str:
    env = "".join(
        f'{pad}    - name: SETTING_{k}\n{pad}      value: "{rng.randrange(10**8)}"\n'
        for k in range(rng.randrange(3, 10))
    )
    if rng.random() < 0.3:  # a decoy: an image string in an env value
        env += f'{pad}    - name: UPGRADE_FROM\n{pad}      value: "{ref.rsplit(":", 1)[0]}:v0"\n'
    comment = "  # bumped by the release job" if rng.random() < 0.3 else ""
    return (
        f"{pad}  # previous: {ref.rsplit(':', 1)[0]}:v0\n"  # a decoy in a comment
        f"{pad}  - name: {name}\n"
        f"{pad}    image: {_quoted(rng, ref)}{comment}\n"
        f"{pad}    imagePullPolicy: IfNotPresent\n"
        f'{pad}    args: ["--listen=:8080", "--log-format=json"]  # keep in sync with the chart\n'
        f"{pad}    ports:\n{pad}    - {{name: http, containerPort: 8080, protocol: TCP}}\n"
        f"{pad}    env:\n{env}"
        f"{pad}    resources:\n{pad}      requests: {{cpu: 50m, memory: 64Mi}}\n"
        f"{pad}      limits: {{cpu: '1', memory: 512Mi}}\n"
        f"{pad}    livenessProbe:\n{pad}      httpGet: {{path: /livez, port: http}}\n"
        f"{pad}      periodSeconds: 10\n"
        f"{pad}    readinessProbe:\n{pad}      httpGet: {{path: /readyz, port: http}}\n"
        f"{pad}    volumeMounts:\n"
        f"{pad}    - {{name: config, mountPath: /etc/app, readOnly: true}}\n"
    )


def _metadata(kind: str, api: str, n: int) -> str:
    return (
        f"# {kind} {n} of the generated benchmark corpus\n"
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: svc-{n}\n  namespace: team-{n % 23}\n"
        f"  labels:\n    app.kubernetes.io/name: svc-{n}\n    app.kubernetes.io/part-of: shop\n"
        f'  annotations:\n    owner: "team-{n % 23}@example.com"\n'
        f'    example.com/last-image: "localhost:5000/bench/app{n % 100:03d}:v0"\n'  # a decoy
    )


def _pod_spec(rng: random.Random, refs: list[str], pad: str, n: int) -> str:
    out = f"{pad}serviceAccountName: svc-{n}\n{pad}securityContext: {{runAsNonRoot: true}}\n"
    if rng.random() < 0.3:
        out += f"{pad}initContainers:\n" + _container(rng, rng.choice(refs), "migrate", pad)
    out += f"{pad}containers:\n"
    for k in range(1 + (rng.random() < 0.45)):
        out += _container(rng, rng.choice(refs), f"main-{k}", pad)
    out += f"{pad}volumes:\n{pad}- name: config\n{pad}  configMap: {{name: svc-{n}}}\n"
    return out


def _workload(rng: random.Random, refs: list[str], n: int) -> str:
    kind = rng.choice(["Deployment"] * 5 + ["StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"])
    api = {"Job": "batch/v1", "CronJob": "batch/v1", "Pod": "v1"}.get(kind, "apps/v1")
    head = _metadata(kind, api, n)
    if kind == "Pod":
        return head + "spec:\n" + _pod_spec(rng, refs, "  ", n)
    labels = f"      labels: {{app.kubernetes.io/name: svc-{n}}}\n"
    if kind == "CronJob":
        return (
            head
            + (
                'spec:\n  schedule: "17 * * * *"\n  jobTemplate:\n    spec:\n      template:\n'
                "        spec:\n          restartPolicy: OnFailure\n"
            )
            + _pod_spec(rng, refs, " " * 10, n)
        )
    if kind == "Job":
        return (
            head
            + "spec:\n  backoffLimit: 2\n  template:\n    metadata:\n"
            + labels
            + ("    spec:\n      restartPolicy: Never\n")
            + _pod_spec(rng, refs, " " * 6, n)
        )
    selector = f"  selector:\n    matchLabels: {{app.kubernetes.io/name: svc-{n}}}\n"
    replicas = f"  replicas: {rng.randrange(1, 6)}\n" if kind != "DaemonSet" else ""
    return (
        head
        + "spec:\n"
        + replicas
        + selector
        + "  template:\n    metadata:\n"
        + labels
        + ("    spec:\n")
        + _pod_spec(rng, refs, " " * 6, n)
    )


def _other(rng: random.Random, n: int) -> str:
    kind = rng.choice(
        [
            "Service",
            "Service",
            "ConfigMap",
            "ConfigMap",
            "Secret",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
        ]
    )
    if kind == "Service":
        ports = "".join(
            f"  - {{name: p{k}, port: {8000 + k}, targetPort: {8000 + k}}}\n" for k in range(40)
        )
        return (
            _metadata(kind, "v1", n)
            + "spec:\n  type: ClusterIP\n  selector: {app: x}\n  ports:\n"
            + ports
        )
    if kind == "ConfigMap":
        lines = "".join(f"    setting.{k} = {'v' * rng.randrange(10, 70)}\n" for k in range(75))
        return (
            _metadata(kind, "v1", n)
            + "data:\n  app.properties: |\n"
            + lines
            + "  mode: production\n"
        )
    if kind == "Secret":
        data = "".join(f"  key{k}: {'QUJD' * rng.randrange(4, 20)}\n" for k in range(20))
        return _metadata(kind, "v1", n) + "type: Opaque\ndata:\n" + data
    if kind == "ServiceAccount":
        return _metadata(kind, "v1", n) + "automountServiceAccountToken: false\n"
    if kind in ("Role", "RoleBinding"):
        rules = "".join(
            f'- apiGroups: [""]\n  resources: [configmaps, secrets, pods{k}]\n'
            "  verbs: [get, list, watch]\n"
            for k in range(15)
        )
        return _metadata(kind, "rbac.authorization.k8s.io/v1", n) + "rules:\n" + rules
    if kind == "HorizontalPodAutoscaler":
        return _metadata(kind, "autoscaling/v2", n) + (
            f"spec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: svc-{n}}}\n"
            "  minReplicas: 2\n  maxReplicas: 10\n  metrics:\n"
            "  - type: Resource\n"
            "    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}\n"
        )
    return (
        _metadata(kind, "policy/v1", n)
        + f"spec:\n  minAvailable: 1\n  selector: {{matchLabels: {{app: svc-{n}}}}}\n"
    )


def generate(
    root: Path,
    docs: int = 20_000,
    host: str = DEFAULT_HOST,
    images: list[str] | None = None,
    seed: int = 20_000,
) -> Corpus:
    """Write the corpus under ``root`` (files of 100 documents) and describe it."""
    refs = [f"{host}/{name}" for name in (images or image_names())]
    rng = random.Random(seed)
    files: list[Path] = []
    total = values = 0
    for first in range(0, docs, DOCS_PER_FILE):
        parts = []
        for n in range(first, min(docs, first + DOCS_PER_FILE)):
            parts.append(_workload(rng, refs, n) if rng.random() < 0.95 else _other(rng, n))
        text = "---\n".join(parts)
        path = root / f"team-{first // 2000:02d}" / f"manifests-{first:05d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files.append(path)
        total += len(text)
        values += len(IMAGE_FIELD.findall(text))
    return Corpus(root, files, docs, refs, total, values)


def ensure(
    root: Path | None = None, docs: int = 20_000, host: str = DEFAULT_HOST, images: int = 1000
) -> Corpus:
    """The corpus under ``benchmarks/.work``, generated the first time it is asked for."""
    root = root or WORK / f"corpus-dense-{docs}-{images}-{host.replace(':', '_')}"
    marker = root / ".complete"
    if marker.exists():
        files = sorted(root.rglob("*.yaml"))
        refs = [f"{host}/{name}" for name in image_names(images)]
        values = sum(len(IMAGE_FIELD.findall(f.read_text())) for f in files)
        return Corpus(root, files, docs, refs, sum(f.stat().st_size for f in files), values)
    corpus = generate(root, docs, host, image_names(images))
    marker.write_text("")
    return corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--host", default=DEFAULT_HOST)
    args = parser.parse_args(argv)
    corpus = ensure(args.dir, args.docs, args.host, args.images)
    print(
        f"{corpus.root}: {corpus.documents} documents in {len(corpus.files)} files, "
        f"{corpus.bytes / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
