"""Slow and silent clients are cut off at the documented bounds; the others are still served.

Every hostile connection runs at once against one real HTTPS server, in its own thread,
while a well-behaved client keeps getting answers: the whole module takes about one
bound (10 s), not one per case.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from imgdigest.webhook.guard import BODY_SECONDS, HANDSHAKE_SECONDS, HEADER_SECONDS

from .process import WebhookProcess
from .reviews import admission_review, answer, workload

MARGIN = 3.0  # a busy 2-core machine; the bounds themselves are 10 s
HEAD = b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def _tls(server: WebhookProcess) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    return server.ca.client_context().wrap_socket(sock, server_hostname="localhost")


def _until_closed(
    sock: socket.socket, dribble: bytes = b"", limit: float = 30.0
) -> tuple[float, bytes]:
    """Send ``dribble`` 2 bytes a second until the server closes; (seconds, bytes received)."""
    started = time.monotonic()
    received = b""
    sock.settimeout(1.0)
    while time.monotonic() - started < limit:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            if dribble:
                try:
                    sock.sendall(dribble[:2])
                except OSError:
                    break
                dribble = dribble[2:] or dribble
            continue
        except (ConnectionResetError, ssl.SSLError):
            break
        if not data:
            break
        received += data
    return time.monotonic() - started, received


def slow_headers(server: WebhookProcess) -> tuple[float, bytes]:
    with _tls(server) as sock:
        sock.sendall(HEAD)
        return _until_closed(sock, dribble=b"X-Slow: " + b"a" * 1000)


def slow_body(server: WebhookProcess) -> tuple[float, bytes]:
    with _tls(server) as sock:
        sock.sendall(HEAD + b"Content-Length: 5000\r\n\r\n{")
        return _until_closed(sock, dribble=b' "a": 1,' * 1000)


def half_request_then_silence(server: WebhookProcess) -> tuple[float, bytes]:
    with _tls(server) as sock:
        sock.sendall(HEAD[:30])
        return _until_closed(sock)


def silence_after_handshake(server: WebhookProcess) -> tuple[float, bytes]:
    with _tls(server) as sock:
        return _until_closed(sock)


def half_handshake(server: WebhookProcess) -> tuple[float, bytes]:
    """A TLS ClientHello cut short: the server is still waiting for the rest."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        return _until_closed(sock)


def _exchange(sock: ssl.SSLSocket, review: dict) -> dict:
    """One review over ``sock``: send it, read the whole answer, leave the connection open."""
    body = json.dumps(review).encode()
    sock.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    length = int(re.search(rb"content-length: (\d+)", head, re.I)[1])
    while len(rest) < length:
        rest += sock.recv(65536)
    return json.loads(rest)["response"]


def idle_keep_alive(server: WebhookProcess) -> tuple[float, bytes]:
    """A legitimate client, idle between two requests for longer than the header bound."""
    review = admission_review(workload("Pod", "nginx"))
    with _tls(server) as sock:
        sock.settimeout(5)
        assert _exchange(sock, review)["allowed"] is False
        time.sleep(HEADER_SECONDS + 1)
        assert _exchange(sock, review)["allowed"] is False  # same connection, still open
    return 0.0, b""


def test_slow_and_silent_clients_are_cut_off_while_others_are_served(validating):
    cases: dict[str, tuple[Callable[[WebhookProcess], tuple[float, bytes]], float, bytes]] = {
        # case: (client, bound in seconds, how the answer starts)
        "slow headers": (slow_headers, HEADER_SECONDS, b"HTTP/1.1 408 Request Timeout\r\n"),
        "slow body": (slow_body, BODY_SECONDS, b"HTTP/1.1 408 Request Timeout\r\n"),
        "half a request": (
            half_request_then_silence, HEADER_SECONDS, b"HTTP/1.1 408 Request Timeout\r\n"
        ),
        "silence": (silence_after_handshake, HEADER_SECONDS, b"HTTP/1.1 408 Request Timeout\r\n"),
        "half a handshake": (half_handshake, HANDSHAKE_SECONDS, b""),
    }  # fmt: skip
    with ThreadPoolExecutor(len(cases) + 1) as pool:
        futures = {name: pool.submit(client, validating) for name, (client, _, _) in cases.items()}
        keep_alive = pool.submit(idle_keep_alive, validating)
        time.sleep(2)  # every hostile connection is open now
        for _ in range(5):  # the server still answers a normal review at once
            review = admission_review(workload("Pod", "nginx"))
            started = time.monotonic()
            assert answer(review, validating.post("/validate", review))["allowed"] is False
            assert time.monotonic() - started < 1.0
            time.sleep(1)
        results = {name: future.result() for name, future in futures.items()}
        keep_alive.result()
    for name, (_, bound, start) in cases.items():
        seconds, received = results[name]
        assert bound - 0.5 <= seconds <= bound + MARGIN, (name, seconds)
        assert received.startswith(start), (name, received)
    assert validating.proc.poll() is None


def test_oversized_headers_are_refused_at_once(validating):
    with _tls(validating) as sock:
        sock.sendall(HEAD + b"X-Big: " + b"a" * (70 * 1024) + b"\r\n")
        seconds, received = _until_closed(sock)
    assert seconds < 2.0
    assert received.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


def test_an_oversized_body_is_refused_and_the_connection_closed(validating):
    with _tls(validating) as sock:
        sock.sendall(HEAD + b"Content-Length: 99999999\r\n\r\n{")
        seconds, received = _until_closed(sock)
    assert seconds < 2.0
    assert received.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close\r\n" in received.lower()
