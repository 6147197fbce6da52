"""Pin a generated corpus of 20,000 Kubernetes documents naming 1,000 unique images.

Measures separately, as ``benchmarks/README.md`` (section ``## pin``) reports:

(a) the text work - ``imgdigest pin --offline --lock`` with a warm lock file, writing a
    copy of the corpus, against the time libyaml (``yaml.CSafeLoader``) alone takes to
    load the same files (target: at most 1.5x);
(b) the network work - ``imgdigest pin`` with no lock against the local registry
    (token auth), directly and through a proxy adding 20 ms per response: registry
    requests per unique image (target: at most 1.05, tokens and pings included) and
    wall time;

peak RSS of every ``imgdigest`` process (target: under 300 MB), and a ruamel.yaml
round-trip rewrite of the same files (the usual Python approach) on speed and on how
many bytes outside image scalars it changes.

The corpus is ``benchmarks.corpus`` (shared with the check benchmark): files of 100
documents, about half of them workloads, ~50 MB in all. Images are
``bench/appNNN:vM``: 100 repositories x 10 tags, pushed to one registry.

Usage: python -m benchmarks.bench_pin [--docs N] [--images N] [--runs N] [--ruamel-files N]
"""

from __future__ import annotations

import argparse
import difflib
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.corpus import DOCS_PER_FILE, generate, image_names
from tests.harness import FaultProxy, RegistryServer, TestCA, TokenServer
from tests.harness.images import build_image, push_built

DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}")


# -- measuring ---------------------------------------------------------------------------


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and stderr of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd[:6])}…\n{err[-2000:]}")
    return elapsed, usage.ru_maxrss, err


def libyaml_seconds(files: list[Path]) -> float:
    started = time.perf_counter()
    for f in files:
        for _ in yaml.load_all(f.read_text(), Loader=yaml.CSafeLoader):
            pass
    return time.perf_counter() - started


def ruamel_rewrite(files: list[Path], digests: dict[str, str]) -> tuple[float, int, int]:
    """Round-trip rewrite with ruamel.yaml: seconds, bytes changed outside images, files."""
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)  # the corpus's usual list style
    outside = 0
    started = time.perf_counter()
    outputs = []
    for f in files:
        text = f.read_text()
        docs = list(rt.load_all(text))
        for doc in docs:
            for container in _containers(doc):
                old = container["image"]
                new = f"{old}@{digests[str(old)]}"
                # keep the quoting ruamel recorded (its quoted scalars are str subclasses)
                container["image"] = new if type(old) is str else type(old)(new)
        buf = io.StringIO()
        rt.dump_all(docs, buf)
        outputs.append((text, buf.getvalue()))
    seconds = time.perf_counter() - started
    for before, after in outputs:
        outside += changed_bytes(before, DIGEST_RE.sub("", after))
    return seconds, outside, len(files)


def _containers(doc: object) -> list[dict]:
    if not isinstance(doc, dict):
        return []
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = ((spec.get("template") or {}).get("spec")) or {}
    return [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]


def changed_bytes(before: str, after: str) -> int:
    """Bytes of lines that differ (added plus removed) between two texts."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    total = 0
    for line in difflib.unified_diff(a, b, n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        total += len(line) - 1
    return total


def reg_args_options(ca: TestCA, work: Path, insecure: str) -> object:
    from imgdigest.registry.options import RegistryOptions
    from imgdigest.resolver import ResolveOptions

    reg = RegistryOptions(
        ca_file=ca.ca_file, docker_config=work / "home" / ".docker", insecure=(insecure,)
    )
    return ResolveOptions(registry=reg, cache=False)


def network_seconds(root: Path, options: object) -> float:
    """Time of the network phase alone: every unique target of the tree, resolved once."""
    from imgdigest.documents import find_images
    from imgdigest.pin import DigestSource, PinOptions
    from imgdigest.pin.planner import _collect
    from imgdigest.resolver import Resolver

    targets = [t for scan in find_images([str(root)]) for t in _collect(scan, PinOptions())[1]]
    with Resolver(options) as r:  # type: ignore[arg-type]
        started = time.perf_counter()
        answers = r.run(DigestSource(PinOptions(), r.inner, None).answer(targets))
        seconds = time.perf_counter() - started
    assert all(isinstance(a, str) for a in answers.values())
    return seconds


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--images", type=int, default=1_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ruamel-files", type=int, default=20, help="files for the ruamel run")
    args = ap.parse_args(argv)
    exe = [sys.executable, "-m", "imgdigest"]
    with tempfile.TemporaryDirectory(prefix="imgdigest-bench-pin-") as tmp:
        work = Path(tmp)
        (work / "reg").mkdir()
        env = {**os.environ, "HOME": str(work / "home"), "XDG_CACHE_HOME": str(work / "cache")}
        ca = TestCA()
        with (
            TokenServer(ca) as tokens,
            RegistryServer("token", ca=ca, token_server=tokens, workdir=work / "reg") as reg,
            FaultProxy(reg, ca=ca) as proxy,
        ):
            images = image_names(args.images)
            print(f"seeding {len(images)} tags…", flush=True)
            digests: dict[str, str] = {}
            built = {}
            for image in images:
                repo, tag = image.split(":")
                img = built.setdefault(repo, build_image(seed=repo))
                pushed = push_built(reg, repo, tag, img)
                digests[f"{proxy.host}/{image}"] = pushed.digest
                digests[f"{reg.host}/{image}"] = pushed.digest
            (work / "home" / ".docker").mkdir(parents=True)
            # Docker config with the registry's credentials, for both the registry and proxy.
            from imgdigest.registry.credentials import login

            for host in (reg.host, proxy.host):
                login(host, reg.username, reg.password, work / "home" / ".docker")
            reg_args = [
                "--ca-file",
                ca.ca_file,
                "--docker-config",
                str(work / "home" / ".docker"),
                "--insecure",
                proxy.host,
                "--no-cache",
            ]

            corpus = work / "corpus"
            size = generate(corpus, args.docs, reg.host, images).bytes
            files = sorted(corpus.rglob("*.yaml"))
            print(f"corpus: {args.docs} documents in {len(files)} files, {size / 1e6:.1f} MB")

            lockfile = work / "images.lock"
            lock_s, lock_rss, _ = run(
                [*exe, "lock", str(corpus), "-o", str(lockfile), "-q", *reg_args], env
            )
            print(f"lock: {lock_s:.2f} s, peak RSS {lock_rss / 1024:.0f} MB")

            # (a) text work
            base = [libyaml_seconds(files) for _ in range(args.runs)]
            text_runs = []
            rss_text = 0
            for _ in range(args.runs):
                out = work / "out"
                shutil.rmtree(out, ignore_errors=True)
                shutil.copytree(corpus, out)
                s, rss, _ = run(
                    [*exe, "pin", "--write", "--offline", "--lock", str(lockfile), "-q", str(out)],
                    env,
                )
                text_runs.append(s)
                rss_text = max(rss_text, rss)
            pinned = sum(
                len(DIGEST_RE.findall(f.read_text())) for f in (work / "out").rglob("*.yaml")
            )
            startup, _, _ = run([*exe, "--version"], env)
            lib = statistics.median(base)
            pin_s = statistics.median(text_runs)
            print(f"(a) libyaml CSafeLoader load_all: {lib:.2f} s")
            print(
                f"(a) pin --offline --lock --write: {pin_s:.2f} s (process start {startup:.2f} s)"
                f" = {pin_s / lib:.2f}x libyaml; {pinned} references pinned;"
                f" peak RSS {rss_text / 1024:.0f} MB"
            )
            # the same work in-process, without interpreter start-up
            from imgdigest.lock import read_lock
            from imgdigest.pin import PinOptions, plan_paths

            lock = read_lock(lockfile)
            inproc = []
            for _ in range(args.runs):
                started = time.perf_counter()
                plan = plan_paths([str(corpus)], PinOptions(lock=lock, offline=True))
                inproc.append(time.perf_counter() - started)
            assert not plan.failures
            plan_s = statistics.median(inproc)
            print(
                f"(a) in-process plan (find + edit + verify, no write): {plan_s:.2f} s"
                f" = {plan_s / lib:.2f}x libyaml"
            )

            # (b) network work
            for label, host in (("direct", reg.host), ("+20 ms proxy", proxy.host)):
                target = work / f"net-{host.replace(':', '_')}"
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(corpus, target)
                if host != reg.host:
                    for f in target.rglob("*.yaml"):
                        f.write_text(f.read_text().replace(reg.host, host))
                    proxy.delay(20)
                network = network_seconds(target, reg_args_options(ca, work, proxy.host))
                proxy.reset_counts()
                s, rss, err = run(
                    [*exe, "pin", "--write", "-q", "--explain", str(target), *reg_args], env
                )
                total = re.search(r"total: (\d+) requests", err)
                requests = int(total.group(1)) if total else -1
                unique = len(set(images))
                print(f"(b) {label}: network phase alone (in-process, no cache): {network:.2f} s")
                print(
                    f"(b) {label}: {s:.2f} s wall, {requests} requests for {unique} unique images"
                    f" = {requests / unique:.3f} per image; peak RSS {rss / 1024:.0f} MB"
                )
                proxy.clear()

            # ruamel.yaml round trip
            sample = files[: args.ruamel_files]
            r_s, outside, n = ruamel_rewrite(sample, digests)
            ours = work / "out"
            our_outside = sum(
                changed_bytes(
                    f.read_text(), DIGEST_RE.sub("", (ours / f.relative_to(corpus)).read_text())
                )
                for f in sample
            )
            sample_docs = n * DOCS_PER_FILE
            per_doc_ruamel = r_s / sample_docs
            per_doc_ours = pin_s / args.docs
            print(
                f"ruamel.yaml round trip on {n} files ({sample_docs} documents): {r_s:.2f} s"
                f" = {per_doc_ruamel * 1000:.2f} ms/document vs pin {per_doc_ours * 1000:.3f}"
                f" ms/document ({per_doc_ruamel / per_doc_ours:.0f}x slower);"
                f" bytes changed outside image scalars: ruamel {outside}, pin {our_outside}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
