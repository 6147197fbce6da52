"""How a non-string image value is printed, so messages match the policy engine's.

Kubernetes rejects a container whose ``image`` is not a string, but a policy engine
reading the raw object still judges it: the Gatekeeper template formats it with
``sprintf("%v")``. The finder reports such values with this text so ``check`` prints
the same words the engine does (``<1>``, ``<null>``, ``<["a"]>``).

It sits in the foundation rather than in ``documents`` because ``check`` formats values
from JSON objects with it too, and both must print one way.
"""

from __future__ import annotations

import json
import math
from typing import Any


def format_value(value: Any) -> str:
    """``sprintf("%v", value)`` as a Rego engine prints JSON values."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json(str(k))}: {_json(v)}" for k, v in value.items()) + "}"
    return str(value)


def _json(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return format_value(value)


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)
