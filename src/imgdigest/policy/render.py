"""YAML output for generated policies: block-literal Rego, key order kept, ready for kubectl."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml


class Literal(str):
    """A string written as a ``|`` block, so embedded Rego stays readable."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    pass


def _literal(dumper: yaml.SafeDumper, value: Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


_Dumper.add_representer(Literal, _literal)


def to_yaml(documents: Iterable[Mapping[str, Any]]) -> str:
    """Documents separated by ``---``, as ``kubectl apply -f -`` reads them."""
    return yaml.dump_all(
        list(documents),
        Dumper=_Dumper,
        sort_keys=False,
        explicit_start=True,
        default_flow_style=False,
        width=1000,
        allow_unicode=True,
    )
