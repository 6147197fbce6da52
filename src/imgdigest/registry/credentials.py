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
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgdigest.errors import AuthError, ConfigError
from imgdigest.files import replace_file

log = logging.getLogger("imgdigest.credentials")

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io", DOCKER_HUB_KEY)


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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read credentials file: {exc.strerror}") from None
    if not text.strip():
        return {}
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: credentials file is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ConfigError(f"{path}: credentials file is not a JSON object")
    return obj


def _decode_entry(entry: Any, where: str) -> Credential:
    if not isinstance(entry, dict):
        return ANONYMOUS
    if entry.get("identitytoken"):
        return Credential(username=entry.get("username", ""), identity_token=entry["identitytoken"])
    if entry.get("registrytoken"):
        return Credential(registry_token=entry["registrytoken"])
    if entry.get("auth"):
        try:
            raw = base64.b64decode(entry["auth"]).decode("utf-8")
            user, _, password = raw.partition(":")
        except (ValueError, UnicodeDecodeError):
            raise ConfigError(f"{where}: the 'auth' value is not base64 of user:password") from None
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
    ) -> None:
        self._docker_path = docker_config_path(docker_config)
        self._auth_paths = auth_file_paths(auth_file)
        self._warn = warn or (lambda msg: log.warning("%s", msg))
        self._helper_cache: dict[tuple[str, str], Credential] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._explicit: dict[str, Credential] = {}

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
        try:
            proc = subprocess.run(
                [exe, "get"], input=server.encode(), capture_output=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self._warn(f"credential helper docker-credential-{helper} failed: {type(exc).__name__}")
            return ANONYMOUS
        if proc.returncode != 0:
            # "credentials not found" is the normal answer for an unknown server.
            return ANONYMOUS
        try:
            obj = json.loads(proc.stdout)
        except ValueError:
            self._warn(f"credential helper docker-credential-{helper} answered non-JSON")
            return ANONYMOUS
        user, secret = obj.get("Username", ""), obj.get("Secret", "")
        if user == "<token>":
            return Credential(identity_token=secret)
        return Credential(username=user, password=secret)


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
        proc = subprocess.run(
            [exe, "store"], input=payload.encode(), capture_output=True, timeout=30, check=False
        )
        if proc.returncode != 0:
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
        proc = subprocess.run(
            [exe, "erase"], input=key.encode(), capture_output=True, timeout=30, check=False
        )
        removed = proc.returncode == 0
    auths = obj.get("auths") or {}
    if key in auths:
        del auths[key]
        removed = True
        _write_json_atomic(path, obj)
    return removed
