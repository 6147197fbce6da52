"""Regular expressions a module compiles on first use, not at import.

The reference grammar and the strict rule are a dozen large expressions; compiling them
at import cost every command that never parses a reference (``--help``, ``policy``) a few
milliseconds of start-up. A module hands its patterns to ``lazy_patterns`` and gets its
``__getattr__`` (so ``module.NAME`` still works from outside) and a getter for its own code
(a module's globals do not go through its ``__getattr__``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

Getter = Callable[[str], re.Pattern[str]]


def lazy_patterns(
    namespace: MutableMapping[str, Any], patterns: Mapping[str, str]
) -> tuple[Getter, Getter]:
    """``(__getattr__, get)`` for the module whose ``globals()`` is ``namespace``."""

    def getattr_(name: str) -> re.Pattern[str]:
        pattern = patterns.get(name)
        if pattern is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        compiled = namespace[name] = re.compile(pattern)
        return compiled

    def get(name: str) -> re.Pattern[str]:
        found: re.Pattern[str] | None = namespace.get(name)
        return found if found is not None else getattr_(name)

    return getattr_, get
