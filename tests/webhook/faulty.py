"""``python -m tests.webhook.faulty ARGS``: ``imgdigest ARGS`` with a bug planted in the handlers.

A real server cannot be made to fail from outside when it has no bug, so this one has a
known one: reviewing an object named ``explode`` raises, in either endpoint, and every
other review is the real handlers' answer.
"""

from __future__ import annotations

import sys
from typing import Any

from imgdigest.cli.main import main
from imgdigest.webhook import handlers

_validate, _mutate = handlers.validate, handlers.mutate_request


def _planted(req: Any) -> None:
    if req.name == "explode":
        raise KeyError("planted")


def validate(req: Any, config: Any) -> handlers.Answer:
    _planted(req)
    return _validate(req, config)


async def mutate_request(
    req: Any, config: Any, lookup: Any, timeout: float, gate: Any = None
) -> handlers.Answer:
    _planted(req)
    return await _mutate(req, config, lookup, timeout, gate)


handlers.validate = validate
handlers.mutate_request = mutate_request
sys.exit(main())
