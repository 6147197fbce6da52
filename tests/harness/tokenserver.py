"""A token server speaking the Docker registry token protocol, for ``token`` mode registries.

The registry (distribution 2.8) accepts a JWT when its header either carries an ``x5c``
chain that verifies against ``auth.token.rootcertbundle``, or a ``kid`` equal to the
libtrust key ID of a certificate in that bundle. Both are implemented (``signing="x5c"``
or ``"kid"``) so tests can show that either is honoured; ``x5c`` is the default.

Grant policy, kept deliberately simple and predictable: a user with the right password
gets every action asked for; an anonymous caller gets ``pull`` only when the server was
made with ``anonymous_pull=True`` and a 401 otherwise; a wrong password is always a 401.
A ``policy`` callable can replace this to model forbidden repositories.

Every request is recorded (never with its password) so tests and benchmarks can assert
how many tokens a client asked for and with which scopes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .httpserver import QuietHandler, ThreadedServer
from .tls import TestCA

Policy = Callable[[str | None, str, str, list[str]], list[str]]
"""``(user or None, type, name, requested actions) -> granted actions``."""


class TokenRequest(NamedTuple):
    """One request the token server received; ``query`` is the raw query (or form, redacted)."""

    method: str
    path: str
    query: str


@dataclass
class IssuedToken:
    """What one answered request granted."""

    user: str | None
    service: str
    scopes: list[str]
    access: list[dict[str, object]]
    claims: dict[str, object] = field(repr=False)


def libtrust_key_id(public_key: rsa.RSAPublicKey) -> str:
    """The key ID libtrust (and so distribution 2.8) derives from a public key.

    SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 without padding, in
    twelve colon-separated groups of four characters.
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """Split ``type:name:actions``; the name may itself contain colons (a port)."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
    return kind, name, [a for a in actions.split(",") if a]


@dataclass
class HostileAnswer:
    """An answer (200 unless ``status`` says) a broken or hostile token service gives.

    ``body`` is sent ``repeat`` times over, so a 50 MiB answer costs the test no 50 MiB
    buffer; ``chunked`` leaves out Content-Length, so the client cannot see the size
    coming and must stop reading on its own.
    """

    body: bytes
    repeat: int = 1
    chunked: bool = False
    status: int = 200


class TokenServer:
    """Threaded HTTPS (or HTTP) token server; use as a context manager or start()/stop()."""

    def __init__(
        self,
        ca: TestCA | None = None,
        *,
        users: dict[str, str] | None = None,
        anonymous_pull: bool = False,
        service: str = "imgdigest-test-registry",
        issuer: str = "imgdigest-test-issuer",
        expires_in: int = 300,
        signing: Literal["x5c", "kid"] = "x5c",
        tls: bool = True,
        policy: Policy | None = None,
    ) -> None:
        self._own_ca = ca is None and tls
        self.ca = TestCA() if ca is None and tls else ca
        self.users = dict(users if users is not None else {"tester": secrets.token_hex(12)})
        self.anonymous_pull = anonymous_pull
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in
        self.signing = signing
        self.policy = policy
        self.tls = tls
        self.requests: list[TokenRequest] = []
        self.issued: list[IssuedToken] = []
        #: When set, every token request is answered with this instead of a token.
        self.hostile: HostileAnswer | None = None
        self._lock = threading.Lock()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._cert = self._self_signed(self._key)
        self.key_id = libtrust_key_id(self._key.public_key())
        self._server: ThreadedServer | None = None
        self._bundle_dir: Path | None = None

    # -- identity -----------------------------------------------------------------
    @property
    def username(self) -> str:
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.username]

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("token server is not running")
        return self._server.port

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    @property
    def ca_file(self) -> str | None:
        return self.ca.ca_file if self.tls and self.ca else None

    def write_root_bundle(self, directory: str | Path) -> str:
        """Write the signing certificate as the registry's ``rootcertbundle``; return its path."""
        path = Path(directory) / "token-signing.pem"
        path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        return str(path)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        """Forget recorded requests and issued tokens."""
        with self._lock:
            self.requests.clear()
            self.issued.clear()

    # -- tokens -------------------------------------------------------------------
    def issue(self, user: str | None, service: str, scopes: list[str]) -> tuple[str, list]:
        """Sign a token granting what the policy allows for ``scopes``."""
        access: list[dict[str, object]] = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            kind, name, wanted = parsed
            granted = self._grant(user, kind, name, wanted)
            if granted:
                access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        headers: dict[str, object] = {"typ": "JWT"}
        if self.signing == "x5c":
            der = self._cert.public_bytes(serialization.Encoding.DER)
            headers["x5c"] = [base64.b64encode(der).decode()]
        else:
            headers["kid"] = self.key_id
        token = jwt.encode(claims, self._key, algorithm="RS256", headers=headers)
        with self._lock:
            self.issued.append(IssuedToken(user, service, list(scopes), access, claims))
        return token, access

    def _grant(self, user: str | None, kind: str, name: str, wanted: list[str]) -> list[str]:
        if self.policy is not None:
            return self.policy(user, kind, name, wanted)
        if user is not None:
            return list(wanted)
        return [a for a in wanted if a == "pull"] if self.anonymous_pull else []

    def authenticate(self, username: str | None, password: str | None) -> tuple[bool, str | None]:
        """``(ok, user)``: anonymous is ``(anonymous_pull, None)``, a bad password is not ok."""
        if username is None:
            return self.anonymous_pull, None
        expected = self.users.get(username)
        ok = expected is not None and secrets.compare_digest(expected, password or "")
        return ok, username if ok else None

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> TokenServer:
        context = self.ca.server_context() if self.tls and self.ca else None
        self._server = ThreadedServer(_make_handler(self), ssl_context=context)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._own_ca and self.ca is not None:
            self.ca.cleanup()

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, method: str, path: str, query: str) -> None:
        with self._lock:
            self.requests.append(TokenRequest(method, path, query))

    @staticmethod
    def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imgdigest token signer")])
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )


def _basic_credentials(header: str | None) -> tuple[str | None, str | None, bool]:
    """``(user, password, malformed)`` from an Authorization header."""
    if not header:
        return None, None, False
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None, True
    try:
        user, sep, password = base64.b64decode(value.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, None, True
    return (user, password, False) if sep else (None, None, True)


def _make_handler(server: TokenServer) -> type[QuietHandler]:
    class TokenHandler(QuietHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            server._record("GET", parts.path, parts.query)
            if parts.path != "/token":
                self.send_simple(404, b'{"error":"not found"}')
                return
            query = parse_qsl(parts.query, keep_blank_values=True)
            user, password, malformed = _basic_credentials(self.headers.get("Authorization"))
            scopes = [value for key, value in query if key == "scope"]
            service = next((v for k, v in query if k == "service"), server.service)
            self._answer(user, password, malformed, service, scopes)

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            form = parse_qsl(self.read_request_body().decode(), keep_blank_values=True)
            redacted = "&".join(f"{k}={'***' if k == 'password' else v}" for k, v in form)
            server._record("POST", parts.path, redacted)
            if parts.path != "/token":
                self.send_simple(404, b'{"error":"not found"}')
                return
            fields = dict(form)
            if fields.get("grant_type") != "password":
                self.send_simple(400, b'{"error":"unsupported_grant_type"}')
                return
            scopes = [s for k, v in form if k == "scope" for s in v.split()]
            service = fields.get("service", server.service)
            self._answer(fields.get("username"), fields.get("password"), False, service, scopes)

        def _answer(
            self,
            user: str | None,
            password: str | None,
            malformed: bool,
            service: str,
            scopes: list[str],
        ) -> None:
            if server.hostile is not None:
                self._hostile(server.hostile)
                return
            ok, who = server.authenticate(user, password)
            if malformed or not ok:
                self.send_simple(
                    401,
                    b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                    headers={"WWW-Authenticate": 'Basic realm="imgdigest-test"'},
                )
                return
            token, _ = server.issue(who, service, scopes)
            issued_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = json.dumps(
                {
                    "token": token,
                    "access_token": token,
                    "expires_in": server.expires_in,
                    "issued_at": issued_at,
                }
            ).encode()
            self.send_simple(200, body)

        def _hostile(self, answer: HostileAnswer) -> None:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            if answer.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(answer.body) * answer.repeat))
            self.end_headers()
            try:
                for _ in range(answer.repeat):
                    if answer.chunked:
                        self.wfile.write(f"{len(answer.body):x}\r\n".encode())
                        self.wfile.write(answer.body + b"\r\n")
                    else:
                        self.wfile.write(answer.body)
                if answer.chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client stopped reading, as it should

    return TokenHandler
