"""Text from registries, files and the command line, made safe to print on a terminal.

A reference, an option value or a registry's error text can carry ANSI escapes, a
carriage return or bidi overrides that repaint or reorder what the user reads; every
message shows them as visible escapes (``\\x1b``, ``\\u202e``) instead.
"""

from __future__ import annotations

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_ESCAPES: dict[int, str] = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))},
    **{ord(c): f"\\u{ord(c):04x}" for c in _BIDI},
}


def safe(text: str) -> str:
    """``text`` with C0/C1 controls, DEL and bidi controls written as visible escapes."""
    return text.translate(_ESCAPES)


def safe_lines(text: str) -> str:
    """Like ``safe`` but keeps newlines, for multi-line output such as usage text."""
    return "\n".join(safe(line) for line in text.split("\n"))
