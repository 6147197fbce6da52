"""The project configuration file the finder and ``check`` read (``--config FILE``).

One YAML file, so a repository states once where its images are and which are exempt::

    exemptImages:            # check: exact names, or prefixes ending in *
      - registry.k8s.io/pause*
    exclude:                 # globs skipped when walking directories
      - vendor
      - "charts/*/templates/*"
    podSpecPaths:            # custom resources: kind -> paths to PodSpec-shaped objects
      AppWrapper: ["spec.components[*].template.spec"]
    imagePaths:              # custom resources: kind -> paths to image strings
      Task: ["spec.steps[*].image"]

Other top-level keys belong to other commands and are ignored here. Values are read
with ``KubeLoader`` so the file is read as Kubernetes reads YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from imgdigest.documents.finder import FinderOptions
from imgdigest.documents.yamltext import KubeLoader
from imgdigest.errors import ConfigError
from imgdigest.jsonfile import decode_text, read_bounded, type_name
from imgdigest.kubernetes import NO_EXTRA_PATHS, ExtraPaths, parse_path
from imgdigest.kubernetes import Path as FieldPath


@dataclass(frozen=True, slots=True)
class FinderConfig:
    """The parts of the configuration file that say where images are and which are exempt."""

    file: str | None = None
    exempt_images: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extra: ExtraPaths = NO_EXTRA_PATHS

    def finder_options(self, base: FinderOptions | None = None) -> FinderOptions:
        """``base`` with this file's excludes added and its custom-resource paths."""
        base = base or FinderOptions()
        return replace(base, exclude=(*base.exclude, *self.exclude), extra=self.extra)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of strings, got {_kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{where}[{i}]: expected a string, got {_kind(item)}")
    return tuple(value)


def _kind(value: object) -> str:
    """YAML's words for a value's type: mapping and list, as the file's author wrote them."""
    return {"object": "mapping", "array": "list"}.get(type_name(value), type_name(value))


def _paths(value: Any, where: str) -> Mapping[str, tuple[FieldPath, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of kind to field paths, got {_kind(value)}")
    out: dict[str, tuple[FieldPath, ...]] = {}
    for kind, paths in value.items():
        texts = _strings([paths] if isinstance(paths, str) else paths, f"{where}.{kind}")
        parsed = []
        for text in texts:
            try:
                parsed.append(parse_path(text))
            except ValueError:
                raise ConfigError(
                    f"{where}.{kind}: {text[:80]!r} is not a field path like spec.steps[*].image"
                ) from None
        out[str(kind)] = tuple(parsed)
    return out


def load_config(path: str | Path) -> FinderConfig:
    """Read a configuration file; a missing or malformed one is a ``ConfigError``."""
    file = str(path)
    try:
        raw = read_bounded(path, "configuration")
    except FileNotFoundError:
        raise ConfigError(f"{file}: configuration not found") from None
    text = decode_text(raw, file, "configuration")
    try:
        data = yaml.load(text, Loader=KubeLoader)
    except RecursionError:
        raise ConfigError(f"{file}: invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{file}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return FinderConfig(file=file)
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the configuration must be a mapping, got {_kind(data)}")
    return FinderConfig(
        file=file,
        exempt_images=_strings(data.get("exemptImages"), f"{file}: exemptImages"),
        exclude=_strings(data.get("exclude"), f"{file}: exclude"),
        extra=ExtraPaths(
            pod_specs=_paths(data.get("podSpecPaths"), f"{file}: podSpecPaths"),
            images=_paths(data.get("imagePaths"), f"{file}: imagePaths"),
        ),
    )
