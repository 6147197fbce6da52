"""Webhook latency and throughput over TLS, against the same stack answering a constant.

Servers (each its own process, HTTPS on 127.0.0.1 with a harness certificate):

* ``floor`` - the webhook's server stack returning a constant AdmissionReview
  (``webhook_floor.py``): the cost of TLS, HTTP and the event loop alone;
* ``webhook`` - ``imgdigest webhook serve`` pinning through a local registry, cache on;
* ``webhook (cold)`` - the same with ``--cache-ttl 0``: every review asks the registry.

Scenarios, each measured by an open-loop generator in its own process
(``webhook_load.py``: fixed rate, keep-alive, latency from the due time) and by ``wrk``
(closed loop, for the most requests per second the server can take):
validate a Deployment at 1,000/s, mutate with a warm cache at 500/s, mutate with a cold
cache at 200/s, and the floor at both rates. Then a soak of warm mutation at 500/s
measures the webhook's RSS growth (30 s by default; ``--soak 600`` for ten minutes).

Targets (docs/webhook.md): validate p99 < 10 ms and <= 1.5x the floor's p99 at 1,000/s;
warm mutate p99 < 15 ms at 500/s; no failed request; RSS growth < 10% over the soak.
Each open-loop scenario runs ``--repeat`` times (3) and reports the run with the median p99.
Usage: python -m benchmarks.bench_webhook [--duration S] [--repeat N] [--soak S] [--no-wrk]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.harness import RegistryServer, TestCA, free_port, push_image
from tests.webhook.process import ROOT, WebhookProcess
from tests.webhook.reviews import admission_review, workload


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_floor(ca: TestCA) -> tuple[subprocess.Popen[bytes], str]:
    cert, key = ca.server_files("127.0.0.1", "localhost")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.webhook_floor", "--tls-cert", cert, "--tls-key", key,
         "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.post(url + "/", content=b"{}", verify=ca.client_context())
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("floor server did not start")


def load(url: str, body: Path, ca: TestCA, rate: int, duration: float, expect: str) -> dict:
    cmd = [
        sys.executable, "-m", "benchmarks.webhook_load", url, str(body), "--ca", ca.ca_file,
        "--rate", str(rate), "--duration", str(duration), "--warmup", "2", "--expect", expect,
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, body: Path, duration: float, connections: int = 16) -> dict:
    script = body.with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = io.open("{body}", "rb"):read("*a")\n'
    )
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--latency"]
    done = subprocess.run(
        [*cmd, "-s", str(script), url], capture_output=True, text=True, check=True
    )
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {}
    for q in ("50", "99"):
        m = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)$", out, re.M)
        pct[q] = float(m.group(1)) * _WRK_UNITS[m.group(2)] if m else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": pct["50"],
        "p99_ms": pct["99"],
        "non2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sock.group(1) if sock else "",
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=10, help="seconds per open-loop run")
    ap.add_argument(
        "--soak", type=float, default=30, help="soak seconds (600 for the 10-minute run)"
    )
    ap.add_argument("--no-wrk", action="store_true", help="skip the closed-loop throughput runs")
    ap.add_argument("--repeat", type=int, default=3, help="open-loop runs per scenario (median)")
    args = ap.parse_args(argv)
    use_wrk = not args.no_wrk and shutil.which("wrk") is not None

    work = Path(tempfile.mkdtemp(prefix="imgdigest-bench-webhook-"))
    ca = TestCA(work / "ca")
    (work / "registry").mkdir()
    registry = RegistryServer("http", ca=ca, workdir=work / "registry").start()
    servers: list[WebhookProcess] = []
    floor_proc = None
    try:
        images = [f"{registry.host}/bench/app:v1", f"{registry.host}/bench/sidecar:v2"]
        push_image(registry, "bench/app", "v1")
        push_image(registry, "bench/sidecar", "v2")
        digest = "sha256:" + "ab" * 32
        bodies = {
            "validate": admission_review(
                workload("Deployment", *(f"{i}@{digest}" for i in images))
            ),
            "mutate": admission_review(workload("Deployment", *images)),
        }
        files = {}
        for name, review in bodies.items():
            files[name] = work / f"{name}.json"
            files[name].write_text(json.dumps(review))

        warm = WebhookProcess(ca, ["--insecure", registry.host, "--cache-ttl", "3600"]).start()
        cold = WebhookProcess(ca, ["--insecure", registry.host, "--cache-ttl", "0"]).start()
        servers += [warm, cold]
        floor_proc, floor_url = start_floor(ca)
        # Prime the warm cache and check every server answers as expected.
        first = warm.post("/mutate", bodies["mutate"]).json()["response"]
        assert first["allowed"] and "patch" in first, first

        scenarios = [
            ("floor", floor_url + "/validate", files["validate"], 1000, '"allowed":true'),
            ("validate", warm.url + "/validate", files["validate"], 1000, '"allowed":true'),
            ("floor @500", floor_url + "/mutate", files["mutate"], 500, '"allowed":true'),
            ("mutate (warm cache)", warm.url + "/mutate", files["mutate"], 500, '"patch"'),
            ("mutate (cold cache)", cold.url + "/mutate", files["mutate"], 200, '"patch"'),
        ]
        rows = []
        for name, url, body, rate, expect in scenarios:
            # Runs at the same rate, reported by the median p99: one burst of another
            # process on a shared machine should not decide the verdict.
            runs = [load(url, body, ca, rate, args.duration, expect) for _ in range(args.repeat)]
            runs.sort(key=lambda r: r["p99_ms"])
            result = runs[len(runs) // 2]
            result["p99_runs_ms"] = [r["p99_ms"] for r in runs]
            result["failed"] = sum(r["failed"] for r in runs)
            closed = wrk(url, body, min(args.duration, 8)) if use_wrk else None
            rows.append((name, rate, result, closed))
            print(f"{name}: {json.dumps(result)} wrk={closed}", file=sys.stderr, flush=True)

        # Soak: warm mutation at 500/s; RSS after the warm-up against RSS at the end.
        pid = warm.proc.pid  # type: ignore[union-attr]
        before = rss_kib(pid)
        soak = load(warm.url + "/mutate", files["mutate"], ca, 500, args.soak, '"patch"')
        after = rss_kib(pid)
    finally:
        for server in servers:
            server.cleanup()
        if floor_proc is not None:
            floor_proc.terminate()
            floor_proc.wait(10)
        registry.stop()
        ca.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    print("| scenario | rate (req/s) | p50 ms | p99 ms (median run) | p99 of each run | failed "
          "| wrk max req/s | wrk p99 ms |")  # fmt: skip
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for name, rate, r, c in rows:
        wrk_cells = f"{c['rps']:.0f} | {c['p99_ms']:.2f}" if c else "- | -"
        each = ", ".join(f"{v:.1f}" for v in r["p99_runs_ms"])
        print(f"| {name} | {r['rate']:.0f} of {rate} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
              f"{each} | {r['failed']} | {wrk_cells} |")  # fmt: skip
    growth = (after - before) / before * 100
    print(f"\nsoak: {args.soak:.0f} s of warm mutate at 500/s, {soak['ok']} answered, "
          f"{soak['failed']} failed, p99 {soak['p99_ms']:.2f} ms; "
          f"RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB ({growth:+.1f}%)")  # fmt: skip

    loadavg = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min): {loadavg} on {os.cpu_count()} cores")

    by = {name: r for name, _, r, _ in rows}
    checks = [
        ("validate p99 < 10 ms at 1,000/s", by["validate"]["p99_ms"] < 10),
        ("validate p99 <= 1.5x floor p99", by["validate"]["p99_ms"] <= 1.5 * by["floor"]["p99_ms"]),
        ("warm mutate p99 < 15 ms at 500/s", by["mutate (warm cache)"]["p99_ms"] < 15),
        ("no failed requests", all(r["failed"] == 0 for r in by.values()) and soak["failed"] == 0),
        ("RSS growth < 10% over the soak", growth < 10),
    ]
    print()
    for text, ok in checks:
        print(f"- {'PASS' if ok else 'FAIL'}: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
