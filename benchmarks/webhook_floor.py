"""The benchmark's floor: the webhook's server stack answering a constant AdmissionReview.

Same uvicorn configuration, same TLS context handling, same body reading as the real
webhook; the only thing missing is the work. Comparing against it separates the cost of
the stack (TLS, HTTP parsing, the event loop) from the cost of imgdigest's own code.
Usage: python -m benchmarks.webhook_floor --tls-cert F --tls-key F --listen HOST:PORT
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from imgdigest.webhook.server import serve
from imgdigest.webhook.tlsreload import ReloadingTLS

ANSWER = json.dumps(
    {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "00000000-0000-0000-0000-000000000000", "allowed": True},
    },
    separators=(",", ":"),
).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the body, as the webhook does
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls-cert", required=True)
    ap.add_argument("--tls-key", required=True)
    ap.add_argument("--listen", required=True)
    args = ap.parse_args(argv)
    return serve(app, args.listen, ReloadingTLS(args.tls_cert, args.tls_key), "warning")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
