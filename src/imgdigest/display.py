"""Text from files and registries, made safe to print on a terminal.

A file name, an image value or a registry's error can hold control characters: an
ANSI escape that recolours or clears the screen, a carriage return that overwrites
the line, or a bidi control (``U+202E``) that makes a message read differently from
what it says. Everything that puts such text into a message passes it through
``safe`` so it is shown as an escape (``\\x1b``, ``\\u202e``) instead of obeyed.
"""

from __future__ import annotations

import re

#: C0 controls (tab and newline included: a message is one line), DEL, C1 controls,
#: and the Unicode bidi controls: embeddings/overrides, isolates, marks, the Arabic mark.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """``text`` with every control and bidi character written as a visible escape."""
    return _UNSAFE.sub(_escape, text)


def problem(level: str, text: str) -> str:
    """The one stderr line every file command prints for a note or an error.

    ``imgdigest: note: FILE[:LINE]: message`` - the same in check, pin, drift and lock,
    and the same prefix as the CLI's other errors, so one pattern greps them all.
    """
    return f"imgdigest: {level}: {safe(text)}"


def count(n: int, noun: str, many: str | None = None) -> str:
    """``1 image``, ``0 images``, ``2 files``: summaries read as English."""
    return f"{n} {noun if n == 1 else many or noun + 's'}"


def safe_lines(text: str) -> str:
    """Like ``safe`` but keeps newlines, for multi-line output such as usage text."""
    return "\n".join(safe(line) for line in text.split("\n"))
