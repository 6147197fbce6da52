"""``safe``: control, escape and bidi characters are shown, never obeyed."""

from __future__ import annotations

import pytest

from imgdigest.display import safe


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("nginx:1.25", "nginx:1.25"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("a\rb\nc\td", "a\\x0db\\x0ac\\x09d"),
        ("\x00\x7f\x85\x9f", "\\x00\\x7f\\x85\\x9f"),
        ("abc\u202edcb", "abc\\u202edcb"),
        ("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),
        ("\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"),
        ("caf\u00e9 \u00a0 \u4e2d", "caf\u00e9 \u00a0 \u4e2d"),  # printable text is kept
        ("back\\slash", "back\\slash"),
    ],
)
def test_safe(raw: str, shown: str) -> None:
    assert safe(raw) == shown
