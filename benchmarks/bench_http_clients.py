"""HTTP clients side by side: import time, and client CPU per HEAD against a real registry.

Candidates: ``imgdigest.registry.http`` itself (httptools with its own keep-alive pool);
aiohttp as that module used it before; h11 over asyncio streams and httptools' parser over
asyncio streams (minimal keep-alive HEAD loops, written here only); httpcore's async
connection pool (if it imports). For each one, in one run:

* **import**: the client's modules imported in a fresh interpreter, timed inside it after
  ``asyncio`` (every network command imports asyncio anyway), median of ``--import-runs``;
* **first answer**: in each request-loop process, from before the import to the first
  answered HEAD (client set-up and the first connection included);
* **CPU per request and wall**: ``--requests`` keep-alive HEADs of distinct tags,
  ``--in-flight`` at a time over at most ``--connections`` connections, against a
  distribution registry over plain HTTP on 127.0.0.1; ``time.process_time()`` and
  ``time.perf_counter()`` around the request loop in the client process (the registry
  runs in its own process). Median of ``--runs`` runs, clients interleaved.

Every answer is checked (status 200 and ``Docker-Content-Digest`` equal to the pushed
digest) and the connections each client opened are counted, so a broken loop or one
without keep-alive cannot pass for a fast one. Bytecode is written and used, as for an
installed package, and one untimed run per client comes first.

For the start-up reading, ``imgdigest digest 127.0.0.1:9/x:1`` (a network command up to
its first, refused, connection; see ``bench_startup``) is timed in the same run.

Usage: python -m benchmarks.bench_http_clients [--runs 5] [--import-runs 11]
       [--requests 500] [--in-flight 16] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
USER_AGENT = "imgdigest-bench"

# What each client needs imported by its first request (asyncio already loaded).
IMPORTS = {
    "imgdigest": "import imgdigest.registry.http",
    "aiohttp": "import aiohttp, yarl",
    "h11": "import h11",
    "httptools": "import httptools",
    "httpcore": "import httpcore, httpcore._backends.anyio",
}
LABELS = {
    "imgdigest": "imgdigest.registry.http (httptools, own pool)",
    "aiohttp": "aiohttp (as imgdigest used it until now)",
    "h11": "h11 over asyncio streams",
    "httptools": "httptools parser over asyncio streams",
    "httpcore": "httpcore AsyncConnectionPool (anyio)",
}

Head = Callable[[str], Awaitable[tuple[int, str | None]]]


# -- the clients (run in the child process) ---------------------------------------------


class Pool:
    """At most ``limit`` keep-alive connections, handed to one request at a time."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.opened = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.idle.empty() and self.opened < self.limit:
            self.opened += 1
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.writers.append(writer)
            return reader, writer
        return await self.idle.get()

    def release(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        self.idle.put_nowait(conn)

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()


async def client_imgdigest(
    host: str, port: int, limit: int
) -> tuple[Head, Callable[[], int], Callable[[], Awaitable[None]]]:
    from imgdigest.registry.http import HttpClient

    client = HttpClient(timeout=30, user_agent=USER_AGENT, ca_file=None, per_host=limit)
    base = f"http://{host}:{port}"
    netloc = f"{host}:{port}"
    headers = {"Accept": ACCEPT}

    async def head(path: str) -> tuple[int, str | None]:
        resp = await client.send("HEAD", base + path, headers, None, True, netloc)
        status, digest = resp.status_code, resp.headers.get("docker-content-digest")
        await resp.aclose()
        return status, digest

    seen: set[object] = set()

    def opened() -> int:
        for pool in client._pools.values():
            seen.update(pool.open)
        return len(seen)

    async def close() -> None:
        opened()  # count them before the pools go
        await client.aclose()

    return head, opened, close


async def client_aiohttp(
    host: str, port: int, limit: int
) -> tuple[Head, Callable[[], int], Callable[[], Awaitable[None]]]:
    import aiohttp
    from yarl import URL

    opened = 0

    async def on_create(*_: object) -> None:
        nonlocal opened
        opened += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_create)
    # As imgdigest.registry.http builds its session (30 s timeouts, no TLS for plain HTTP).
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=limit),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=30, connect=30),
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
        trace_configs=[trace],
    )
    base = f"http://{host}:{port}"
    headers = {"Accept": ACCEPT}

    async def head(path: str) -> tuple[int, str | None]:
        raw = await session.request(
            "HEAD",
            URL(base + path, encoded=True),
            headers=dict(headers),
            data=None,
            allow_redirects=False,
            ssl=False,
        )
        status, digest = raw.status, raw.headers.get("Docker-Content-Digest")
        raw.release()
        return status, digest

    return head, lambda: opened, session.close


async def client_h11(
    host: str, port: int, limit: int
) -> tuple[Head, Callable[[], int], Callable[[], Awaitable[None]]]:
    import h11

    pool = Pool(host, port, limit)
    states: dict[asyncio.StreamWriter, h11.Connection] = {}
    fixed = [
        ("Host", f"{host}:{port}"),
        ("User-Agent", USER_AGENT),
        ("Accept", ACCEPT),
    ]

    async def head(path: str) -> tuple[int, str | None]:
        reader, writer = conn = await pool.acquire()
        state = states.get(writer)
        if state is None:
            state = states[writer] = h11.Connection(h11.CLIENT)
        writer.write(
            state.send(h11.Request(method="HEAD", target=path, headers=fixed))
            + state.send(h11.EndOfMessage())
        )
        status, digest = 0, None
        while True:
            event = state.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                state.receive_data(data)
                if not data:
                    raise ConnectionError("registry closed the connection")
            elif isinstance(event, h11.Response):
                status = event.status_code
                for name, value in event.headers:
                    if name == b"docker-content-digest":
                        digest = value.decode()
            elif isinstance(event, h11.EndOfMessage):
                break
        state.start_next_cycle()  # raises if the connection cannot be reused
        pool.release(conn)
        return status, digest

    return head, lambda: pool.opened, pool.close


async def client_httptools(
    host: str, port: int, limit: int
) -> tuple[Head, Callable[[], int], Callable[[], Awaitable[None]]]:
    import httptools

    pool = Pool(host, port, limit)
    request_head = (
        f"Host: {host}:{port}\r\nUser-Agent: {USER_AGENT}\r\nAccept: {ACCEPT}\r\n\r\n"
    ).encode()

    class Answer:
        """Parser callbacks; a HEAD answer ends with its headers (its length is not sent)."""

        __slots__ = ("digest", "done")

        def __init__(self) -> None:
            self.digest: str | None = None
            self.done = False

        def on_header(self, name: bytes, value: bytes) -> None:
            if name.lower() == b"docker-content-digest":
                self.digest = value.decode()

        def on_headers_complete(self) -> None:
            self.done = True

    async def head(path: str) -> tuple[int, str | None]:
        reader, writer = conn = await pool.acquire()
        writer.write(b"HEAD " + path.encode() + b" HTTP/1.1\r\n" + request_head)
        answer = Answer()
        # llhttp cannot be told that an answer is to a HEAD (it would wait for
        # Content-Length bytes of body), so each answer gets a parser of its own.
        parser = httptools.HttpResponseParser(answer)
        while not answer.done:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("registry closed the connection")
            parser.feed_data(data)
        if not parser.should_keep_alive():
            raise ConnectionError("registry will close the connection")
        pool.release(conn)
        return parser.get_status_code(), answer.digest

    return head, lambda: pool.opened, pool.close


async def client_httpcore(
    host: str, port: int, limit: int
) -> tuple[Head, Callable[[], int], Callable[[], Awaitable[None]]]:
    import httpcore

    opened = 0

    async def trace(name: str, info: dict) -> None:
        nonlocal opened
        if name == "connection.connect_tcp.complete":
            opened += 1

    pool = httpcore.AsyncConnectionPool(
        max_connections=limit, max_keepalive_connections=limit, http1=True, http2=False
    )
    base = f"http://{host}:{port}"
    headers = [(b"User-Agent", USER_AGENT.encode()), (b"Accept", ACCEPT.encode())]

    async def head(path: str) -> tuple[int, str | None]:
        r = await pool.request("HEAD", base + path, headers=headers, extensions={"trace": trace})
        digest = None
        for name, value in r.headers:
            if name.lower() == b"docker-content-digest":
                digest = value.decode()
        return r.status, digest

    return head, lambda: opened, pool.aclose


CLIENTS = {
    "imgdigest": client_imgdigest,
    "aiohttp": client_aiohttp,
    "h11": client_h11,
    "httptools": client_httptools,
    "httpcore": client_httpcore,
}


async def request_loop(
    name: str, host: str, port: int, refs: list[tuple[str, str]], in_flight: int, limit: int
) -> dict[str, float]:
    started = time.perf_counter()
    head, opened, close = await CLIENTS[name](host, port, limit)
    first_path, first_digest = refs[0]
    answer = await head(first_path)
    first = time.perf_counter() - started
    if answer != (200, first_digest):
        raise SystemExit(f"{name}: first HEAD {first_path}: {answer}, want 200 {first_digest}")
    todo = iter(refs)
    wrong: list[str] = []

    async def worker() -> int:
        done = 0
        for path, digest in todo:
            status, got = await head(path)
            if status != 200 or got != digest:
                wrong.append(f"{path}: {status} {got}")
            done += 1
        return done

    cpu0, wall0 = time.process_time(), time.perf_counter()
    counts = await asyncio.gather(*(worker() for _ in range(in_flight)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await close()
    if wrong or sum(counts) != len(refs):
        raise SystemExit(f"{name}: {len(wrong)} wrong answers, e.g. {wrong[:3]}")
    return {"first": first, "cpu": cpu, "wall": wall, "connections": opened()}


def child(argv: list[str]) -> int:
    name, host, port, refs_file, in_flight, limit = argv
    refs = [tuple(line.split()) for line in Path(refs_file).read_text().splitlines()]
    result = asyncio.run(
        request_loop(name, host, int(port), refs, int(in_flight), int(limit))  # type: ignore[arg-type]
    )
    print(json.dumps(result))
    return 0


# -- the driver --------------------------------------------------------------------------


def bytecode_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src")])
    return env


def import_time(name: str) -> float:
    code = f"import asyncio, time\nt = time.perf_counter()\n{IMPORTS[name]}\n"
    code += "print(time.perf_counter() - t)"
    done = subprocess.run(
        [sys.executable, "-c", code], env=bytecode_env(), capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    return float(done.stdout)


def run_loop(name: str, host: str, port: int, refs_file: Path, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.bench_http_clients",
        "--child",
        name,
        host,
        str(port),
        str(refs_file),
        str(args.in_flight),
        str(args.connections),
    ]
    done = subprocess.run(cmd, env=bytecode_env(), capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"{name} request loop failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def seed(registry: object, refs_file: Path, count: int) -> None:
    from tests.harness import RegistryClient, build_image, push_built

    repos = max(1, count // 10)
    lines = []
    client = RegistryClient(registry)  # type: ignore[arg-type]
    try:
        for i in range(repos):
            repo = f"bench/http{i:02d}"
            image = build_image(seed=repo)
            for t in range(-(-count // repos)):
                pushed = push_built(registry, repo, f"t{t}", image, client=client)  # type: ignore[arg-type]
                lines.append(f"/v2/{repo}/manifests/t{t} {pushed.digest}")
    finally:
        client.close()
    refs_file.write_text("\n".join(lines[:count]) + "\n")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--import-runs", type=int, default=11)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--in-flight", type=int, default=16)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args(argv)

    from benchmarks.bench_startup import timed as timed_command
    from tests.harness import RegistryServer

    names = []
    for name in CLIENTS:
        try:
            import_time(name)  # also the untimed first import (bytecode written)
        except RuntimeError as exc:
            print(f"skipping {name}: {exc}", flush=True)
            continue
        names.append(name)
    imports: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(args.import_runs):
        for name in names:
            imports[name].append(import_time(name))
    imports["asyncio"] = []
    for _ in range(args.import_runs):
        code = "import time\nt = time.perf_counter()\nimport asyncio\n"
        code += "print(time.perf_counter() - t)"
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=bytecode_env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        imports["asyncio"].append(float(out))
    first_request = ["digest", "127.0.0.1:9/x:1"]
    timed_command(ROOT / "src", first_request, 5)  # untimed
    cli = statistics.median(
        timed_command(ROOT / "src", first_request, 5) for _ in range(args.import_runs)
    )

    loops: dict[str, list[dict]] = {n: [] for n in names}
    with (
        tempfile.TemporaryDirectory(prefix="bench-http-clients-") as tmp,
        RegistryServer("http", workdir=tmp) as registry,
    ):
        refs_file = Path(tmp) / "refs.txt"
        print(f"seeding {args.requests} tags…", flush=True)
        seed(registry, refs_file, args.requests)
        host, port = "127.0.0.1", registry.port
        for name in names:
            run_loop(name, host, port, refs_file, args)  # untimed
        for i in range(args.runs):
            for name in names:
                registry.reset_count()
                r = run_loop(name, host, port, refs_file, args)
                served = registry.request_count()
                if served != args.requests + 1:
                    raise SystemExit(f"{name}: registry logged {served} requests")
                loops[name].append(r)
                print(
                    f"run {i + 1} {name:10} first {r['first'] * 1e3:6.1f} ms  "
                    f"cpu {r['cpu'] * 1e3 / args.requests:.3f} ms/req  "
                    f"wall {r['wall']:.3f} s  {r['connections']} connections",
                    flush=True,
                )

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in loops[name])

    base_cpu = med("aiohttp", "cpu") if "aiohttp" in names else float("nan")
    print(
        f"\n{args.requests} HEADs, {args.in_flight} in flight over at most {args.connections} "
        f"connections; medians of {args.runs} runs (imports: of {args.import_runs})\n"
    )
    print(
        "| client | import (ms) | to first answer (ms) | client CPU / request (ms) "
        "| × aiohttp CPU | wall, all HEADs (s) | connections |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        imp = statistics.median(imports[name]) * 1e3
        cpu = med(name, "cpu")
        conns = statistics.median(r["connections"] for r in loops[name])
        print(
            f"| {LABELS[name]} | {imp:.0f} | {med(name, 'first') * 1e3:.0f} "
            f"| {cpu * 1e3 / args.requests:.3f} | {cpu / base_cpu:.2f}× "
            f"| {med(name, 'wall'):.2f} | {conns:.0f} |"
        )
    print(
        "\n`imgdigest digest 127.0.0.1:9/x:1` (start-up to one refused connect, "
        f"on the imgdigest client): {cli * 1e3:.0f} ms, median of {args.import_runs}; "
        f"`import asyncio` alone: {statistics.median(imports['asyncio']) * 1e3:.0f} ms."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
