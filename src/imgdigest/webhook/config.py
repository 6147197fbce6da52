"""What the webhook enforces and pins, read from flags and an optional YAML file.

Every decision the webhook makes that a cluster operator may want to change lives in
one frozen ``WebhookConfig``, so a request handler never reads flags or files. Its
fields are the keys of the file and, with dashes, the flags (``on_resolve_error``:
``--on-resolve-error``), so that a ConfigMap and a command line say the same thing;
flags given on the command line win.

Image patterns are judged by ``check``'s exemption rule (exact, or a prefix when the
pattern ends with ``*``). Namespaces are exempted by name here; opting whole namespaces
*in* by label is the job of the webhook configuration's ``namespaceSelector`` (the API
server knows a namespace's labels, an AdmissionReview does not carry them).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from imgdigest import platform as platforms
from imgdigest.errors import ConfigError, ImgdigestError
from imgdigest.platform import Platform

Enforce = Literal["deny", "warn"]
OnError = Literal["allow", "deny"]

#: Label or annotation (value ``"true"``/``"skip"``... see ``opted_out``) that exempts an object.
DEFAULT_OPT_OUT = "imgdigest.dev/skip"

DEFAULT_TIMEOUT_SECONDS = 10.0
#: Time kept back from ``timeoutSeconds`` for the network and the API server's own work.
BUDGET_MARGIN = 1.5


@dataclass(frozen=True)
class WebhookConfig:
    """Policy of one webhook process."""

    enforce: Enforce = "deny"
    # Also refuse digests invalid for their algorithm, as ``check --strict`` does.
    strict: bool = False
    on_resolve_error: OnError = "deny"
    # Images never judged nor pinned: exact, or prefix when ending with ``*``.
    exempt_images: tuple[str, ...] = ()
    exempt_namespaces: tuple[str, ...] = ("kube-system",)
    # A label or annotation with this key set to "true" exempts the object.
    opt_out: str = DEFAULT_OPT_OUT
    # Images mutation pins; empty means every unpinned image that is not exempted.
    pin_images: tuple[str, ...] = ()
    # Pin the digest of this platform's manifest instead of the index digest.
    platform: Platform | None = None
    # The webhook configuration's timeoutSeconds; answers come within ``budget``.
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    budget_seconds: float | None = None
    # Tag answers are reused this long; digest answers (per-platform) forever.
    cache_ttl: float = 60.0
    cache_size: int = 10_000
    # Bodies larger than this are refused with 413 before parsing.
    max_body_bytes: int = 8 * 1024 * 1024
    # Digests kept on UPDATE when name:tag did not change (see mutate.py).
    keep_old_digests: bool = True
    # PATTERN=KEY.pub: images matching PATTERN are admitted only with a digest that
    # carries a cosign signature KEY.pub verifies (see signed.py).
    require_signature: tuple[str, ...] = ()

    @property
    def budget(self) -> float:
        """Seconds an answer may take: below timeoutSeconds, so the API server hears it."""
        if self.budget_seconds is not None:
            return self.budget_seconds
        return max(self.timeout_seconds - BUDGET_MARGIN, self.timeout_seconds * 0.5)

    def validate(self) -> WebhookConfig:
        if self.enforce not in ("deny", "warn"):
            raise ConfigError(f"enforce must be deny or warn, not {self.enforce!r}")
        if self.on_resolve_error not in ("allow", "deny"):
            raise ConfigError(
                f"on_resolve_error must be allow or deny, not {self.on_resolve_error!r}"
            )
        if not 0 < self.timeout_seconds <= 30:
            raise ConfigError("timeout_seconds must be within (0, 30], as Kubernetes requires")
        if not 0 < self.budget < self.timeout_seconds:
            raise ConfigError(
                f"budget ({self.budget:g}s) must be positive and below timeout_seconds "
                f"({self.timeout_seconds:g}s)"
            )
        if self.cache_ttl < 0 or self.cache_size < 1:
            raise ConfigError("cache_ttl must not be negative and cache_size must be positive")
        if self.max_body_bytes < 1:
            raise ConfigError("max_body_bytes must be positive")
        from imgdigest.webhook.signed import parse_rules

        parse_rules(self.require_signature)  # every key readable now, not at the first Pod
        return self


_LIST_KEYS = ("exempt_images", "exempt_namespaces", "pin_images", "require_signature")
_FLOAT_KEYS = ("timeout_seconds", "budget_seconds", "cache_ttl")
_INT_KEYS = ("cache_size", "max_body_bytes")


def load(path: str | Path | None, **overrides: Any) -> WebhookConfig:
    """A config from a YAML file (optional) with flag values applied on top."""
    values: dict[str, Any] = {}
    if path is not None:
        values = _read(Path(path))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(WebhookConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        where = f"{path}: " if path else ""
        raise ConfigError(f"{where}unknown webhook setting(s): {', '.join(unknown)}")
    if isinstance(values.get("require_signature"), dict):  # the file's {pattern: key} form
        values["require_signature"] = [
            f"{pattern}={key}" for pattern, key in values["require_signature"].items()
        ]
    try:
        for key in _LIST_KEYS:
            if key in values:
                values[key] = _strings(values[key], key)
        for key in _FLOAT_KEYS:
            if key in values and values[key] is not None:
                values[key] = float(values[key])
        for key in _INT_KEYS:
            if key in values:
                values[key] = int(values[key])
        if isinstance(values.get("platform"), str):
            values["platform"] = platforms.parse(values["platform"])
    except ImgdigestError as exc:
        raise ConfigError(f"{path or 'webhook settings'}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path or 'webhook settings'}: {exc}") from None
    return replace(WebhookConfig(), **values).validate()


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{key} must be a list of strings")
    return tuple(value)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read webhook config: {exc.strerror}") from None
    try:
        obj = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: webhook config is not valid YAML") from None
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise ConfigError(f"{path}: webhook config must be a mapping")
    return {str(k).replace("-", "_"): v for k, v in obj.items()}


def check_pull_secret(path: str | Path) -> None:
    """Refuse a malformed ``.dockerconfigjson`` at start, in one line naming the file.

    The credential store reads only what it can use and would fail on a wrong shape
    (``auths`` a list, a number for ``auth``) with a traceback, or at the first pull. A
    missing file is no error: the Deployment mounts the Secret only if it exists.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(f"{p}: cannot read pull secret: {why}") from None
    if not text.strip():
        return
    try:
        obj = json.loads(text)
    except ValueError as exc:
        if _is_base64_json(text):
            raise ConfigError(
                f"{p}: pull secret is base64-encoded: pass the file of the mounted Secret, "
                "or decode its .dockerconfigjson value (base64 -d)"
            ) from None
        line = getattr(exc, "lineno", 1)
        raise ConfigError(f"{p}:{line}: pull secret is not JSON") from None
    if not isinstance(obj, dict):
        raise ConfigError(f"{p}: pull secret must be a JSON object, not {_json_type(obj)}")
    auths = obj.get("auths", {})
    if not isinstance(auths, dict):
        raise ConfigError(
            f"{p}: auths must map each registry to its credentials, not be {_json_type(auths)}"
        )
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{p}: auths[{key}] must be an object, not {_json_type(entry)}")
        for field in ("auth", "username", "password", "identitytoken", "registrytoken"):
            if entry.get(field) is not None and not isinstance(entry[field], str):
                raise ConfigError(
                    f"{p}: auths[{key}].{field} must be a string, not {_json_type(entry[field])}"
                )
        if entry.get("auth"):
            try:
                base64.b64decode(entry["auth"], validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                raise ConfigError(
                    f"{p}: auths[{key}].auth is not base64 of user:password"
                ) from None


def _is_base64_json(text: str) -> bool:
    try:
        json.loads(base64.b64decode("".join(text.split()), validate=True))
    except (binascii.Error, ValueError):
        return False
    return True


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return names.get(type(value), "a number")
