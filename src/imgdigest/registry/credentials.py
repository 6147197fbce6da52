"""Where credentials come from, and how ``login``/``logout`` store them.

The sources are the ones users already have, read as their own tools read them:

* Docker's ``config.json`` (``$DOCKER_CONFIG`` or ``~/.docker``): ``auths`` entries,
  ``credHelpers`` per registry, and ``credsStore`` for everything else, through the
  ``docker-credential-<name>`` helper protocol (``get``/``store``/``erase`` on stdin).
* containers' ``auth.json`` (``$REGISTRY_AUTH_FILE``, ``$XDG_RUNTIME_DIR/containers``,
  ``~/.config/containers``), whose keys may name a repository as well as a host.

A helper can take most of a second, so its answer is cached for the life of the
store. A helper that is configured but not installed is a warning, not an error:
public images must still resolve. ``Credential.__repr__`` hides every secret.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgdigest.errors import AuthError, ConfigError
from imgdigest.files import replace_file
from imgdigest.jsonfile import loads_object, read_bounded, type_name

log = logging.getLogger("imgdigest.credentials")

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io", DOCKER_HUB_KEY)
#: A credential helper gets this long to answer (some take most of a second) ...
HELPER_TIMEOUT = 30.0
#: ... and may print this much: a credential is a few KiB at most.
MAX_HELPER_OUTPUT = 1024 * 1024
# What docker-credential-<name> may be called: a name, never a path.
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Credential:
    """A username and password, or an identity (refresh) token, for one registry."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, secret=<hidden>)"

    def __bool__(self) -> bool:
        return bool(self.username or self.password or self.identity_token or self.registry_token)


ANONYMOUS = Credential()


def docker_config_path(explicit: str | Path | None = None) -> Path:
    """The config.json docker itself would use."""
    if explicit is not None:
        p = Path(explicit)
        return p if p.suffix == ".json" else p / "config.json"
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def auth_file_paths(explicit: str | Path | None = None) -> list[Path]:
    if explicit is not None:
        return [Path(explicit)]
    paths = []
    if os.environ.get("REGISTRY_AUTH_FILE"):
        paths.append(Path(os.environ["REGISTRY_AUTH_FILE"]))
    if os.environ.get("XDG_RUNTIME_DIR"):
        paths.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    paths.append(Path.home() / ".config" / "containers" / "auth.json")
    return paths


def _hosts_for(registry: str) -> tuple[str, ...]:
    """Keys under which a registry's credentials may be stored."""
    if registry in _HUB_ALIASES:
        return _HUB_ALIASES
    return (registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/")


def _read_json(path: Path) -> dict[str, Any] | None:
    """A credentials file, checked whole: a malformed one is an error for every registry."""
    try:
        data = read_bounded(path, "credentials file")
    except FileNotFoundError:
        return None
    if not data.strip():
        return {}
    obj = loads_object(data, str(path), "credentials file")
    _check_shape(obj, str(path))
    return obj


def _check_shape(obj: dict[str, Any], where: str) -> None:
    """Types of the fields Docker and containers define, and every ``auth`` value decodes."""
    auths = obj.get("auths")
    if auths is not None:
        if not isinstance(auths, dict):
            raise ConfigError(f"{where}: auths: expected an object, got {type_name(auths)}")
        for key, entry in auths.items():
            _decode_entry(entry, f"{where}: auths[{key}]")
    helpers = obj.get("credHelpers")
    if helpers is not None:
        if not isinstance(helpers, dict):
            raise ConfigError(f"{where}: credHelpers: expected an object, got {type_name(helpers)}")
        for key, name in helpers.items():
            _check_helper_name(name, f"{where}: credHelpers[{key}]")
    store = obj.get("credsStore")
    if store is not None:
        _check_helper_name(store, f"{where}: credsStore")


def _check_helper_name(name: object, where: str) -> None:
    if not isinstance(name, str):
        raise ConfigError(f"{where}: expected a string, got {type_name(name)}")
    if name and not _HELPER_NAME.fullmatch(name):
        raise ConfigError(f"{where}: {name[:60]!r} is not a credential helper name")


def _decode_entry(entry: Any, where: str) -> Credential:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object, got {type_name(entry)}")
    for name in ("auth", "username", "password", "identitytoken", "registrytoken"):
        value = entry.get(name)
        if value is not None and not isinstance(value, str):
            # The type only: the value may be a secret.
            raise ConfigError(f"{where}.{name}: expected a string, got {type_name(value)}")
    if entry.get("identitytoken"):
        return Credential(username=entry.get("username", ""), identity_token=entry["identitytoken"])
    if entry.get("registrytoken"):
        return Credential(registry_token=entry["registrytoken"])
    if entry.get("auth"):
        try:
            # Go's decoder, which wrote it, skips line breaks; anything else is not base64.
            raw = base64.b64decode("".join(entry["auth"].split()), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raw = ""
        user, sep, password = raw.partition(":")
        if not sep:
            raise ConfigError(f"{where}.auth: not base64 of user:password")
        return Credential(username=user, password=password)
    if entry.get("username") and entry.get("password"):
        return Credential(username=entry["username"], password=entry["password"])
    return ANONYMOUS


class CredentialStore:
    """Looks up credentials for a registry (and repository) from the configured files."""

    def __init__(
        self,
        docker_config: str | Path | None = None,
        auth_file: str | Path | None = None,
        warn: Any = None,
        helper_timeout: float | None = None,
    ) -> None:
        self._docker_path = docker_config_path(docker_config)
        self._auth_paths = auth_file_paths(auth_file)
        self._warn = warn or (lambda msg: log.warning("%s", msg))
        self._helper_cache: dict[tuple[str, str], Credential] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._explicit: dict[str, Credential] = {}
        self._helper_timeout = HELPER_TIMEOUT if helper_timeout is None else helper_timeout

    def set(self, registry: str, credential: Credential) -> None:
        """Credentials given directly (flags, a mounted Secret) win over files."""
        self._explicit[registry] = credential

    def add_dockerconfigjson(self, path: str | Path) -> None:
        """Read a ``kubernetes.io/dockerconfigjson`` Secret file's ``auths``."""
        p = Path(path)
        obj = _read_json(p) or {}
        for key, entry in (obj.get("auths") or {}).items():
            host = _host_of_key(key)
            cred = _decode_entry(entry, f"{p}: auths[{key}]")
            if cred:
                self._explicit.setdefault(host, cred)

    def get(self, registry: str, repository: str = "") -> Credential:
        if registry in self._explicit:
            return self._explicit[registry]
        for path in self._auth_paths[:1] if os.environ.get("REGISTRY_AUTH_FILE") else []:
            cred = self._from_auth_file(path, registry, repository)
            if cred:
                return cred
        cred = self._from_docker_config(registry)
        if cred:
            return cred
        for path in self._auth_paths:
            cred = self._from_auth_file(path, registry, repository)
            if cred:
                return cred
        return ANONYMOUS

    def _from_auth_file(self, path: Path, registry: str, repository: str) -> Credential:
        obj = _read_json(path)
        if not obj:
            return ANONYMOUS
        auths = obj.get("auths") or {}
        # Most specific key first: host/namespace/repo, then shorter paths, then the host.
        candidates = []
        if repository:
            parts = repository.split("/")
            for n in range(len(parts), 0, -1):
                candidates.append(f"{registry}/{'/'.join(parts[:n])}")
        candidates.extend(_hosts_for(registry))
        for key in candidates:
            if key in auths:
                return _decode_entry(auths[key], f"{path}: auths[{key}]")
        return ANONYMOUS

    def _from_docker_config(self, registry: str) -> Credential:
        obj = _read_json(self._docker_path)
        if not obj:
            return ANONYMOUS
        helpers = obj.get("credHelpers") or {}
        for key in _hosts_for(registry):
            if key in helpers:
                return self._from_helper(helpers[key], key)
        auths = obj.get("auths") or {}
        if obj.get("credsStore"):
            for key in _hosts_for(registry):
                cred = self._from_helper(obj["credsStore"], key)
                if cred:
                    return cred
        for key in _hosts_for(registry):
            if key in auths:
                cred = _decode_entry(auths[key], f"{self._docker_path}: auths[{key}]")
                if cred:
                    return cred
        return ANONYMOUS

    def _from_helper(self, helper: str, server: str) -> Credential:
        with self._lock:
            if (helper, server) in self._helper_cache:
                return self._helper_cache[(helper, server)]
        cred = self._run_helper_get(helper, server)
        with self._lock:
            self._helper_cache[(helper, server)] = cred
        return cred

    def _run_helper_get(self, helper: str, server: str) -> Credential:
        exe = shutil.which(f"docker-credential-{helper}")
        if exe is None:
            if helper not in self._warned:
                self._warned.add(helper)
                self._warn(
                    f"credential helper docker-credential-{helper} is configured but not "
                    f"installed; continuing without credentials for {server}"
                )
            return ANONYMOUS
        code, out = run_helper(exe, "get", server.encode(), self._helper_timeout)
        if code != 0:
            # "credentials not found" is the normal answer for an unknown server.
            return ANONYMOUS
        name = f"credential helper docker-credential-{helper}"
        try:
            obj = json.loads(out)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, nested without end
            obj = None
        if not isinstance(obj, dict):
            raise AuthError(f"{name} answered something other than a JSON object for {server}")
        user, secret = obj.get("Username", ""), obj.get("Secret", "")
        if not isinstance(user, str) or not isinstance(secret, str):
            raise AuthError(f"{name} answered a non-string Username or Secret for {server}")
        if user == "<token>":
            return Credential(identity_token=secret)
        return Credential(username=user, password=secret)


def run_helper(exe: str, action: str, payload: bytes, timeout: float) -> tuple[int, bytes]:
    """Run a credential helper with bounded time and output; its exit code and stdout.

    A helper is somebody else's program: one that hangs, or prints without end, must
    cost at most ``timeout`` seconds and ``MAX_HELPER_OUTPUT`` bytes, and is then killed
    with everything it started. stderr is discarded: it may echo the secret.
    """
    name = Path(exe).name
    try:
        proc = subprocess.Popen(
            [exe, action],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        raise AuthError(f"credential helper {name} could not be run: {exc.strerror}") from None
    assert proc.stdin is not None and proc.stdout is not None
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    total, code = 0, -1
    problem = ""
    try:
        with suppress(BrokenPipeError):
            proc.stdin.write(payload)
            proc.stdin.close()
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    problem = f"did not answer within {timeout:g}s"
                    break
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                total += len(chunk)
                if total > MAX_HELPER_OUTPUT:
                    problem = f"printed more than {MAX_HELPER_OUTPUT // 1024} KiB"
                    break
                chunks.append(chunk)
        if not problem:
            try:
                code = proc.wait(max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                problem = f"did not exit within {timeout:g}s"
    finally:
        if proc.poll() is None:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
    if problem:
        raise AuthError(f"credential helper {name} {problem} ({action}); it was stopped")
    return code, b"".join(chunks)


def _host_of_key(key: str) -> str:
    host = key
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("/", 1)[0]
    return "docker.io" if host in _HUB_ALIASES else host


def _login_key(registry: str) -> str:
    return DOCKER_HUB_KEY if registry in _HUB_ALIASES else registry


def _write_json_atomic(path: Path, obj: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = (json.dumps(obj, indent="\t") + "\n").encode()
    replace_file(path, data, mode=0o600, durable=True)


def login(
    registry: str, username: str, password: str, docker_config: str | Path | None = None
) -> Path:
    """Store credentials as ``docker login`` does: in the credsStore, or base64 in auths."""
    path = docker_config_path(docker_config)
    obj = _read_json(path) or {}
    key = _login_key(registry)
    helper = (obj.get("credHelpers") or {}).get(key) or obj.get("credsStore")
    auths = obj.setdefault("auths", {})
    if helper:
        exe = shutil.which(f"docker-credential-{helper}")
        if exe is None:
            raise ConfigError(
                f"{path}: credential helper docker-credential-{helper} is not installed"
            )
        payload = json.dumps({"ServerURL": key, "Username": username, "Secret": password})
        code, _ = run_helper(exe, "store", payload.encode(), HELPER_TIMEOUT)
        if code != 0:
            raise AuthError(
                f"credential helper docker-credential-{helper} could not store the login"
            )
        auths[key] = {}
    else:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        auths[key] = {"auth": token}
    _write_json_atomic(path, obj)
    return path


def logout(registry: str, docker_config: str | Path | None = None) -> bool:
    """Remove stored credentials; returns whether any were there."""
    path = docker_config_path(docker_config)
    obj = _read_json(path) or {}
    key = _login_key(registry)
    helper = (obj.get("credHelpers") or {}).get(key) or obj.get("credsStore")
    removed = False
    if helper and (exe := shutil.which(f"docker-credential-{helper}")):
        code, _ = run_helper(exe, "erase", key.encode(), HELPER_TIMEOUT)
        removed = code == 0
    auths = obj.get("auths") or {}
    if key in auths:
        del auths[key]
        removed = True
        _write_json_atomic(path, obj)
    return removed
