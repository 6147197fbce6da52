"""Pin at kustomize build time: images in a stream of resources, as a KRM function sees them.

kustomize hands a transformer the built resources on stdin and takes back what it writes.
Two protocols exist and both are served here:

* an **exec KRM function** (``config.kubernetes.io/function: {exec: {path: ...}}`` with
  ``kustomize build --enable-alpha-plugins --enable-exec``, or ``kpt fn eval --exec``)
  reads a ``ResourceList`` whose ``functionConfig`` carries the settings;
* a **legacy exec plugin** (found under ``$KUSTOMIZE_PLUGIN_HOME`` by its config's
  ``apiVersion`` and ``kind``), the only kind ``kubectl kustomize --enable-alpha-plugins``
  runs, reads the plain resource stream and gets its config file's path as an argument.

Either way the text is pinned by ``pin``'s byte-exact editor (a ``ResourceList`` is a
``List`` kind, so its ``items`` are walked and its ``functionConfig`` is not): kustomize's
own annotations, comments and ordering pass through untouched, and nothing is returned
when any image fails, so a build never deploys a half-pinned set.

Settings (``spec`` of the config, or its top level for a legacy plugin's config):
``lock`` (a path or a list of paths, relative to ``base``), ``offline``, ``platform``,
``dropTag``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imgdigest import platform as platforms
from imgdigest.documents import STDIN, scan_text
from imgdigest.errors import ConfigError, DocumentError, ImgdigestError, UsageError
from imgdigest.lock import read_lock
from imgdigest.pin import PinOptions, PinPlan, plan_scans
from imgdigest.resolver import AsyncResolver, ResolveOptions, run_with_resolver

RESOURCE_LIST = "ResourceList"
#: The settings a function config may hold, and the type each must have.
SETTINGS: Mapping[str, type | tuple[type, ...]] = {
    "lock": (str, list),
    "offline": bool,
    "platform": str,
    "dropTag": bool,
}
#: What kustomize and kpt add to a function config, never a setting.
_IGNORED = {"apiVersion", "kind", "metadata"}


@dataclass(frozen=True)
class KrmSettings:
    """How a kustomize transformer pins: the ``pin`` options a function config can set."""

    lock: tuple[str, ...] = ()
    offline: bool = False
    platform: str | None = None
    drop_tag: bool = False

    @classmethod
    def from_config(cls, config: Any, source: str) -> KrmSettings:
        """Settings from a function config object; ``source`` names it in errors."""
        if config is None:
            return cls()
        if not isinstance(config, Mapping):
            raise ConfigError(f"{source}: the function config must be a mapping")
        if "spec" in config:
            spec = config["spec"] or {}
            if not isinstance(spec, Mapping):
                raise ConfigError(f"{source}: spec must be a mapping")
            values = dict(spec)
        else:
            values = {k: v for k, v in config.items() if k not in _IGNORED}
        unknown = sorted(str(k) for k in values if k not in SETTINGS)
        if unknown:
            known = ", ".join(SETTINGS)
            raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)} (known: {known})")
        for key, value in values.items():
            if not isinstance(value, SETTINGS[key]):
                raise ConfigError(f"{source}: {key}: got {type(value).__name__} {value!r}")
        if "platform" in values:
            try:
                platforms.parse(values["platform"])
            except ImgdigestError as exc:
                raise ConfigError(f"{source}: platform: {exc}") from None
        lock = values.get("lock", [])
        locks = [lock] if isinstance(lock, str) else lock
        if not all(isinstance(p, str) and p for p in locks):
            raise ConfigError(f"{source}: lock: expected a path or a list of paths")
        return cls(
            lock=tuple(locks),
            offline=values.get("offline", False),
            platform=values.get("platform"),
            drop_tag=values.get("dropTag", False),
        )

    def merged(self, other: KrmSettings) -> KrmSettings:
        """These settings with ``other``'s (command-line flags) added on top."""
        return KrmSettings(
            lock=self.lock + other.lock,
            offline=self.offline or other.offline,
            platform=other.platform or self.platform,
            drop_tag=self.drop_tag or other.drop_tag,
        )

    def pin_options(self, base: Path) -> PinOptions:
        if self.offline and not self.lock:
            raise UsageError("offline needs a lock file: there is nowhere else to find digests")
        locks = [p if Path(p).is_absolute() else str(base / p) for p in self.lock]
        return PinOptions(
            keep_tag=not self.drop_tag,
            platform=self.platform,
            lock=read_lock(locks) if locks else None,
            offline=self.offline,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "lock": list(self.lock),
            "offline": self.offline,
            "platform": self.platform,
            "drop_tag": self.drop_tag,
        }


def read_settings(path: str | Path) -> KrmSettings:
    """The settings in a legacy exec plugin's config file (kustomize passes its path)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError(f"{path}: cannot read the function config: {why}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the function config is not UTF-8 text") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML: {_yaml_problem(exc)}") from None
    return KrmSettings.from_config(config, str(path))


def resource_list_settings(text: str) -> KrmSettings:
    """The settings in a ``ResourceList``'s ``functionConfig``; the text must be one."""
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise DocumentError(
            f"{STDIN}: not a ResourceList: {_yaml_problem(exc)}",
            file=STDIN,
            line=None if line is None else line + 1,
        ) from None
    kind = doc.get("kind") if isinstance(doc, Mapping) else None
    if kind != RESOURCE_LIST or not isinstance(doc.get("items", []), list):
        found = f"kind {kind!r}" if kind else "no kind"
        raise DocumentError(
            f"{STDIN}: expected a ResourceList with items on stdin, found {found}"
            " (give the function config's path to pin a plain resource stream)",
            file=STDIN,
        )
    return KrmSettings.from_config(doc.get("functionConfig"), "functionConfig")


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)


@dataclass
class KrmResult:
    """The pinned resources (``None`` when any image failed), and the plan that made them."""

    plan: PinPlan
    settings: KrmSettings
    text: str | None

    @property
    def exit_code(self) -> int:
        return self.plan.exit_code

    def to_json(self) -> dict[str, Any]:
        return {
            "settings": self.settings.to_json(),
            "pinned": self.text is not None,
            "exit_code": self.exit_code,
            "plan": self.plan.to_json(),
        }


def settings_for(text: str, settings: KrmSettings | None, config: str | Path | None) -> KrmSettings:
    """The settings of a run: the config file's, else the ResourceList's, plus ``settings``."""
    found = read_settings(config) if config is not None else resource_list_settings(text)
    chosen = found.merged(settings) if settings is not None else found
    if chosen.offline and not chosen.lock:
        source = str(config) if config is not None else "functionConfig"
        raise ConfigError(f"{source}: offline needs a lock: there is nowhere else to look")
    return chosen


async def plan_resources(
    text: str,
    settings: KrmSettings | None = None,
    resolver: AsyncResolver | None = None,
    *,
    config: str | Path | None = None,
    base: str | Path | None = None,
) -> KrmResult:
    """:func:`pin_resources` through a resolver of the caller's (a session's)."""
    return await _plan(text, settings_for(text, settings, config), resolver, base)


async def _plan(
    text: str, chosen: KrmSettings, resolver: AsyncResolver | None, base: str | Path | None
) -> KrmResult:
    options = chosen.pin_options(Path(base) if base is not None else Path.cwd())
    scans = [scan_text(text, STDIN)]
    plan = await plan_scans(scans, options, None if options.offline else resolver)
    pinned = plan.files[0].new_text if plan.files and not plan.exit_code else None
    return KrmResult(plan=plan, settings=chosen, text=pinned)


def pin_resources(
    text: str,
    settings: KrmSettings | None = None,
    resolve_options: ResolveOptions | None = None,
    *,
    config: str | Path | None = None,
    base: str | Path | None = None,
) -> KrmResult:
    """Pin every image of a kustomize transformer's input, changing no other byte.

    ``text`` is a ``ResourceList`` (its ``functionConfig`` gives the settings), or, with
    ``config`` (a legacy exec plugin's config file), a plain stream of resources.
    ``settings`` are added on top; lock paths are relative to ``base`` (default: the
    current directory, where kustomize runs a function). The result's ``text`` is the
    pinned input, or ``None`` when any image failed (``plan`` says why).
    """
    chosen = settings_for(text, settings, config)
    if chosen.offline:
        return asyncio.run(_plan(text, chosen, None, base))
    return run_with_resolver(resolve_options, lambda r: _plan(text, chosen, r, base))
