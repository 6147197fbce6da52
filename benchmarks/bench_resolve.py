"""Resolve 500 references over 50 repositories on a TLS + token-auth registry.

Compares, in one run, side by side:

* ``imgdigest digest --from-file`` (one process, the whole batch),
* Debian's ``skopeo inspect`` once per reference (what a shell loop does),
* a plain keep-alive loop of HEAD requests with a token fetched beforehand (the floor),

each directly against the registry and through a TCP relay that delays every answer by
20 ms (a realistic round trip; on loopback the registry's own CPU dominates; TLS stays end
to end). Reports wall time (median of several runs), requests per reference counted at the
registry's access log plus the token server, peak RSS and CPU seconds of the measured
process(es), and the CPU the registry process spent meanwhile (read from /proc): on loopback
the registry's CPU, shared with the client on the same cores, is what sets the floor.

Usage: python -m benchmarks.bench_resolve [--runs N] [--skopeo-runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.latency import LatencyRelay
from tests.harness import RegistryServer, TestCA, TokenServer
from tests.harness.images import build_image, push_built

REPOS = 50
TAGS_PER_REPO = 10


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds of one child process; fails loudly."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {cmd[:4]}…\n{err[-2000:]}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def token_for(tokens: TokenServer, repos: list[str]) -> str:
    params = [("service", tokens.service)] + [("scope", f"repository:{r}:pull") for r in repos]
    r = httpx.get(
        tokens.realm, params=params, auth=(tokens.username, tokens.password), verify=tokens.ca_file
    )
    r.raise_for_status()
    return r.json()["token"]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skopeo-runs", type=int, default=1)
    args = ap.parse_args(argv)
    skopeo = shutil.which("skopeo")
    with tempfile.TemporaryDirectory(prefix="imgdigest-bench-") as tmp:
        work = Path(tmp)
        (work / "reg").mkdir()
        ca = TestCA()
        with (
            TokenServer(ca) as tokens,
            RegistryServer("token", ca=ca, token_server=tokens, workdir=work / "reg") as reg,
            LatencyRelay(int(reg.host.rsplit(":", 1)[1]), 0.020) as relay,
        ):
            print(f"seeding {REPOS * TAGS_PER_REPO} tags in {REPOS} repositories…", flush=True)
            repos = [f"bench/app{i:02d}" for i in range(REPOS)]
            for repo in repos:
                img = build_image(seed=repo)
                push_built(reg, repo, "t0", img)
                for t in range(1, TAGS_PER_REPO):
                    push_built(reg, repo, f"t{t}", img)
            env = {**os.environ, "HOME": str(work), "XDG_CACHE_HOME": str(work / "cache")}
            (work / ".docker").mkdir()
            for host in (reg.host, relay.host):
                login = ["login", host, "--ca-file", ca.ca_file, "-u", tokens.username]
                subprocess.run(
                    [sys.executable, "-m", "imgdigest", *login, "--password-stdin"],
                    input=tokens.password.encode(),
                    env=env,
                    check=True,
                    capture_output=True,
                )
            certs = work / "certs"
            certs.mkdir()
            shutil.copy(ca.ca_file, certs / "ca.crt")
            rows = []
            for label, host in (("direct", reg.host), ("+20 ms", relay.host)):
                refs = [f"{host}/{r}:t{t}" for r in repos for t in range(TAGS_PER_REPO)]
                refs_file = work / f"refs-{host.rsplit(':', 1)[1]}.txt"
                refs_file.write_text("\n".join(refs) + "\n")
                imgd = [
                    sys.executable,
                    "-m",
                    "imgdigest",
                    "digest",
                    "-q",
                    "--no-cache",
                    "--ca-file",
                    ca.ca_file,
                    "--from-file",
                    str(refs_file),
                ]
                loop = [
                    sys.executable,
                    "-m",
                    "benchmarks.headloop",
                    str(refs_file),
                    f"https://{host}",
                    "",
                    ca.ca_file,
                ]
                cases = {"imgdigest digest --from-file": imgd, "HEAD loop (floor)": loop}
                registry_pid = reg._process.pid  # type: ignore[union-attr]
                for name, cmd in cases.items():
                    times, rss, per_ref, cpus, reg_cpus = [], [], [], [], []
                    for _ in range(args.runs):
                        if name.startswith("HEAD"):
                            cmd[-2] = token_for(tokens, repos)
                        reg.reset_count()
                        before = tokens.request_count
                        reg_before = process_cpu(registry_pid)
                        t, m, c = timed(cmd, env)
                        reg_cpus.append(process_cpu(registry_pid) - reg_before)
                        served = reg.request_count() + tokens.request_count - before
                        times.append(t)
                        rss.append(m)
                        cpus.append(c)
                        per_ref.append(served / len(refs))
                    rows.append(
                        (
                            label,
                            name,
                            statistics.median(times),
                            statistics.median(per_ref),
                            max(rss),
                            statistics.median(cpus),
                            statistics.median(reg_cpus),
                        )
                    )
                    progress(rows[-1])
                if skopeo and args.skopeo_runs:
                    tls = ["--cert-dir", str(certs)]
                    times, rss, cpus, reg_cpus = [], [], [], []
                    for _ in range(args.skopeo_runs):
                        reg.reset_count()
                        before = tokens.request_count
                        reg_before = process_cpu(registry_pid)
                        started = time.perf_counter()
                        peak, cpu = 0, 0.0
                        for ref in refs:
                            _, m, c = timed(
                                [
                                    skopeo,
                                    "inspect",
                                    "--raw",
                                    *tls,
                                    "--creds",
                                    f"{tokens.username}:{tokens.password}",
                                    f"docker://{ref}",
                                ],
                                env,
                            )
                            peak = max(peak, m)
                            cpu += c
                        times.append(time.perf_counter() - started)
                        reg_cpus.append(process_cpu(registry_pid) - reg_before)
                        rss.append(peak)
                        cpus.append(cpu)
                        served = reg.request_count() + tokens.request_count - before
                    rows.append(
                        (
                            label,
                            "skopeo inspect, per ref",
                            statistics.median(times),
                            served / len(refs),
                            max(rss),
                            statistics.median(cpus),
                            statistics.median(reg_cpus),
                        )
                    )
                    progress(rows[-1])
            print_table(rows, args)
    return 0


Row = tuple[str, str, float, float, int, float, float]


def progress(row: Row) -> None:
    label, name, t, per_ref, rss, cpu, reg_cpu = row
    print(
        f"{label:7} {name:30} {t:7.2f}s  {per_ref:.3f} req/ref  {rss / 1024:.0f} MiB  "
        f"CPU {cpu:.2f}s  registry CPU {reg_cpu:.2f}s",
        flush=True,
    )


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print(
        "\n| round trip | tool | wall time | vs imgdigest | requests / ref | peak RSS "
        "| client CPU | registry CPU |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    base = {row[0]: row[2] for row in rows if row[1].startswith("imgdigest")}
    for label, name, t, per_ref, rss, cpu, reg_cpu in rows:
        ratio = t / base[label]
        print(
            f"| {label} | {name} | {t:.2f} s | {ratio:.1f}× | {per_ref:.3f} | {rss >> 10} MiB "
            f"| {cpu:.2f} s | {reg_cpu:.2f} s |"
        )
    print(
        f"\n(imgdigest and the HEAD loop: median of {args.runs} runs; "
        f"skopeo: {args.skopeo_runs} run(s) of 500 processes)"
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
