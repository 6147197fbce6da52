"""Open-loop HTTPS load generator for the webhook benchmark, run in its own process.

Requests are sent on a fixed schedule (``--rate`` per second) over a pool of keep-alive
TLS connections, and each latency is measured from the moment its request was *due*,
not from when a connection became free, so a server that falls behind is charged for
the queue it causes (no coordinated omission). Raw asyncio streams, not an HTTP
library, keep the generator's own cost per request small next to the server's.

Prints one JSON object: counts, achieved rate and latency percentiles in milliseconds.
Usage: python -m benchmarks.webhook_load URL BODY_FILE --ca PEM --rate N --duration S
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import statistics
import sys
import time
from urllib.parse import urlsplit


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


async def _run(args: argparse.Namespace) -> dict[str, object]:
    url = urlsplit(args.url)
    body = open(args.body, "rb").read()  # noqa: SIM115
    request = (
        f"POST {url.path} HTTP/1.1\r\nHost: {url.hostname}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    ctx = ssl.create_default_context(cafile=args.ca)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(args.connections):
        pool.put_nowait(await asyncio.open_connection(url.hostname, url.port, ssl=ctx))
    latencies: list[float] = []
    failures: dict[str, int] = {}
    expect = args.expect.encode() if args.expect else None

    async def one(due: float, record: bool) -> None:
        reader, writer = await pool.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            payload = await reader.readexactly(length)
            done = time.perf_counter()
            ok = status == b"200" and (expect is None or expect in payload)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
            reader, writer = await asyncio.open_connection(url.hostname, url.port, ssl=ctx)
            pool.put_nowait((reader, writer))
            return
        pool.put_nowait((reader, writer))
        if not record:
            return
        if ok:
            latencies.append(done - due)
        else:
            key = f"status {status.decode()}" if status != b"200" else "unexpected body"
            failures[key] = failures.get(key, 0) + 1

    interval = 1.0 / args.rate
    total = int(args.rate * args.duration)
    warm = int(args.rate * args.warmup)
    tasks = []
    start = time.perf_counter()
    for i in range(warm + total):
        due = start + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(due, i >= warm)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start - args.warmup
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return {
        "sent": total,
        "ok": len(latencies),
        "failed": sum(failures.values()),
        "failures": failures,
        "rate": round(total / elapsed, 1),
        "p50_ms": round(_percentile(ms, 0.50), 3),
        "p90_ms": round(_percentile(ms, 0.90), 3),
        "p99_ms": round(_percentile(ms, 0.99), 3),
        "max_ms": round(ms[-1], 3) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 3) if ms else None,
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("body")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--expect", default="", help="bytes every 200 answer must contain")
    args = ap.parse_args(argv)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    print(json.dumps(runner(_run(args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
