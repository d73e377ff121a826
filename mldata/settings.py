"""Where each setting comes from: flag, environment, target, project, user config, built-in.

Settings resolve in this order, first wins (SPEC §2): a command-line flag, an ``MLDATA_*``
environment variable, the target (for per-target settings), the project's ``defaults:`` in
mldata.yaml, the user's config file (``$XDG_CONFIG_HOME/mldata/config.yaml``, else
``~/.config/mldata/config.yaml``, with the same ``defaults:`` keys), then the built-in default.

This module is pure (no YAML parsing): it reads the resolved :class:`~mldata.spec.ProjectSpec`.
`mldata config` adds file and line positions on top (see cli).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from mldata.errors import UsageError
from mldata.spec import (
    DEFAULT_COMPRESSION,
    Compression,
    Defaults,
    ProjectSpec,
    check_compression,
    parse_compression_text,
)


@dataclass(frozen=True)
class Setting:
    """One setting: its key under `defaults:`, environment variable, built-in value and meaning."""

    key: str  # dotted, under `defaults:` (e.g. "compression", "drift.warn")
    attr: str  # the Defaults field
    env: str
    builtin: Any
    help: str
    parse: Callable[[str], Any]
    per_target: bool = False


def _workers(text: str) -> Any:
    if text == "auto":
        return "auto"
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise UsageError(f"workers must be 'auto' or a whole number >= 1, not {text!r}")
    return n


def parse_compression(text: str) -> Compression:
    """A CODEC[:LEVEL] string, checked (UsageError with the valid range)."""
    try:
        codec, level = parse_compression_text(text)
    except ValueError:
        raise UsageError(f"invalid compression {text!r}", hint="write CODEC or CODEC:LEVEL, e.g. zstd:9") from None
    problem = check_compression(codec, level)
    if problem:
        raise UsageError(problem)
    return Compression(codec, level)


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise UsageError(f"{text!r} is not one of {', '.join(choices)}")
        return text

    return parse


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a number") from None


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("workers", "workers", "MLDATA_WORKERS", "auto", "worker processes (auto: one per CPU)", _workers),
        Setting("compression", "compression", "MLDATA_COMPRESSION", Compression(*DEFAULT_COMPRESSION),
                "Parquet codec and level", parse_compression, per_target=True),
        Setting("executor", "executor", "MLDATA_EXECUTOR", "process", "where tasks run: process, inline, dask",
                _choice("process", "inline", "dask")),
        Setting("progress", "progress", "MLDATA_PROGRESS", "auto",
                "progress display: auto, rich, plain, none", _choice("auto", "rich", "plain", "none")),
        Setting("color", "color", "MLDATA_COLOR", "auto", "colour: auto, always, never (NO_COLOR is honoured)",
                _choice("auto", "always", "never")),
        Setting("drift.warn", "drift_warn", "MLDATA_DRIFT_WARN", 0.1, "PSI at which drift warns", _number),
        Setting("drift.fail", "drift_fail", "MLDATA_DRIFT_FAIL", 0.25, "PSI at which drift fails", _number),
    )
}


@dataclass(frozen=True)
class Resolved:
    """An effective setting and the layer it came from."""

    key: str
    value: Any
    layer: str  # flag, env, target, project, user, builtin
    where: str | None = None  # e.g. "MLDATA_WORKERS", "mldata.yaml", "~/.config/mldata/config.yaml"

    def display(self) -> str:
        return display_value(self.value)


def display_value(value: Any) -> str:
    return str(value) if not isinstance(value, bool) else str(value).lower()


def resolve(spec: ProjectSpec, key: str, *, flag: Any = None, target: str | None = None,
            env: Mapping[str, str] | None = None) -> Resolved:
    """The effective value of a setting for the project (and target), with its source."""
    setting = SETTINGS.get(key)
    if setting is None:
        raise UsageError(f"unknown setting {key!r}", hint=f"settings: {', '.join(SETTINGS)}")
    env = os.environ if env is None else env
    if flag is not None:
        return Resolved(key, flag, "flag")
    if key == "color" and env.get("NO_COLOR"):
        return Resolved(key, "never", "env", "NO_COLOR")
    value = env_value(key, env)
    if value is not None:
        return Resolved(key, value, "env", setting.env)
    if setting.per_target and target is not None:
        value = getattr(spec.targets[target], setting.attr, None)
        if value is not None:
            return Resolved(key, value, "target", f"{spec.config_file} (targets.{target})")
    value = getattr(spec.defaults, setting.attr)
    if value is not None:
        return Resolved(key, value, "project", spec.config_file)
    value = getattr(spec.user_defaults, setting.attr)
    if value is not None:
        return Resolved(key, value, "user", spec.user_config)
    return Resolved(key, setting.builtin, "builtin")


def env_value(key: str, env: Mapping[str, str] | None = None) -> Any:
    """A setting's value from its environment variable, parsed (None when unset or empty)."""
    setting = SETTINGS[key]
    raw = (os.environ if env is None else env).get(setting.env)
    return setting.parse(raw) if raw else None


def resolve_workers(spec: ProjectSpec, flag: int | None = None) -> int:
    """The number of worker processes to use."""
    return worker_count(resolve(spec, "workers", flag=flag).value)


def worker_count(value: Any) -> int:
    """A `workers` value as a number: "auto" is one per CPU."""
    return (os.cpu_count() or 1) if value == "auto" else int(value)


def compression_override(flag: Compression | None, env: Mapping[str, str] | None = None) -> Compression | None:
    """The run-wide compression: the flag, else MLDATA_COMPRESSION (both override every target)."""
    if flag is not None:
        return flag
    raw = (os.environ if env is None else env).get(SETTINGS["compression"].env)
    return parse_compression(raw) if raw else None


def all_resolved(spec: ProjectSpec, env: Mapping[str, str] | None = None) -> list[Resolved]:
    """Every setting's effective value (per-target compression included)."""
    out = [resolve(spec, key, env=env) for key in SETTINGS]
    for name in spec.targets:
        r = resolve(spec, "compression", target=name, env=env)
        out.append(Resolved(f"targets.{name}.compression", r.value, r.layer, r.where))
    return out


__all__ = ["SETTINGS", "Setting", "Resolved", "resolve", "resolve_workers", "compression_override", "parse_compression",
           "all_resolved", "Defaults"]
