"""Reading configuration files defensively: bounded, UTF-8 text, a JSON object.

Credentials files, lock files and registries.conf come from users, from other tools and
sometimes from whoever can mount a Secret. Whatever they hold, reading one costs bounded
memory (``--registries-conf /dev/zero`` must not eat the machine) and a bad one is a
single ``ConfigError`` naming the file, never a traceback.

"Parse JSON, it must be an object" is also the first step for registry content
(manifests, image configs, tag lists), so :func:`json_object` is the one place that rule
lives; it takes the error class because the same failure means a bad file the user can
fix (``ConfigError``, exit 2, with the line) or content a registry served
(``UnsupportedError``, exit 7, named by its digest).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imgdigest.errors import ConfigError, ImgdigestError

MiB = 1024 * 1024
#: No configuration file the CLI reads is anywhere near this; a bigger one is a mistake.
MAX_CONFIG_BYTES = 16 * MiB


def read_bounded(path: str | Path, what: str, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """At most ``limit`` bytes of a file; ``FileNotFoundError`` is left to the caller."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ConfigError(f"{path}: {what} is larger than {limit // MiB} MiB")
    return data


def decode_text(data: bytes, where: str, what: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); a binary file is named as such."""
    if b"\0" in data:
        raise ConfigError(f"{where}: {what} is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{where}:{line}: {what} is not UTF-8 text") from None


def loads_object(text: str | bytes, where: str, what: str) -> dict[str, Any]:
    """Parse a file's JSON that must be an object; every failure names ``where`` (and the line)."""
    if isinstance(text, bytes):
        text = decode_text(text, where, what)
    return json_object(text, where, what, ConfigError, lines=True)


def json_object(
    data: str | bytes,
    where: str,
    what: str,
    error: type[ImgdigestError],
    *,
    lines: bool = False,
) -> dict[str, Any]:
    """JSON that must be an object, or ``error`` naming ``where`` and ``what``.

    ``lines`` adds the line and the parser's reason, for text a person edits; content
    served by a registry is named by its digest alone (``manifest is not valid JSON``).
    Bytes are decoded as JSON allows (UTF-8, -16 or -32); a decoding failure is invalid JSON.
    """
    try:
        obj = json.loads(data)
    except json.JSONDecodeError as exc:
        if lines:
            raise error(f"{where}:{exc.lineno}: {what} is not valid JSON: {exc.msg}") from None
        raise error(f"{where}: {what} is not valid JSON") from None
    except RecursionError:
        if lines:
            raise error(f"{where}: {what} is nested too deeply") from None
        raise error(f"{where}: {what} is not valid JSON") from None
    except ValueError as exc:  # not UTF-8, or an integer literal longer than Python converts
        if lines:
            raise error(f"{where}: {what} is not valid JSON: {exc}") from None
        raise error(f"{where}: {what} is not valid JSON") from None
    if not isinstance(obj, dict):
        if lines:
            raise error(f"{where}: {what} must be a JSON object, got {type_name(obj)}")
        raise error(f"{where}: {what} is not a JSON object")
    return obj


def type_name(value: object) -> str:
    """The JSON/TOML word for a value's type, for "expected X, got Y" messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
