"""Editing mldata.yaml (or the user config) in place, keeping comments, key order, quoting and
indentation (ruamel.yaml round trip), and refusing any edit that would make it invalid.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Callable

from mldata.errors import ConfigError, UsageError

#: Setting names accepted as shorthand for their place under `defaults:`.
_SHORTHAND = {"workers", "compression", "executor", "progress", "color", "drift.warn", "drift.fail", "drift"}


def key_path(key: str) -> list[str]:
    """``compression`` -> [defaults, compression]; ``targets.clean.compression`` as written."""
    parts = [p for p in key.split(".") if p]
    if not parts:
        raise UsageError("empty key", hint="e.g. defaults.compression or targets.NAME.compression")
    if key in _SHORTHAND:
        parts = ["defaults", *parts]
    return parts


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    return yaml


def _guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, dash offset of block sequences) as the file is written.

    ruamel's own guess reports the sequence indent for both when a file has sequences, which
    would re-indent every mapping; this looks at keys and dashes separately.
    """
    import re

    mapping: int | None = None
    offset: int | None = None
    previous = 0
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if stripped.startswith("- "):
            if offset is None and indent >= previous:
                offset = indent - previous
        elif re.match(r"[^\s#][^:]*:(\s|$)", stripped) and indent > 0 and mapping is None:
            mapping = indent
        previous = indent
    return mapping or 2, offset if offset is not None else 0


def _load(text: str) -> tuple[Any, Any]:
    yaml = _yaml()
    mapping, offset = _guess_indent(text)
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    doc = yaml.load(text) if text.strip() else None
    if doc is None:
        from ruamel.yaml.comments import CommentedMap

        doc = CommentedMap()
    return yaml, doc


def parse_value(text: str) -> Any:
    """A value as typed on the command line, read as YAML (``4``, ``gzip``, ``{codec: zstd, level: 9}``)."""
    from ruamel.yaml import YAML

    try:
        return YAML(typ="rt").load(text)
    except Exception as exc:  # ruamel raises several error types for bad flow syntax
        raise UsageError(f"cannot read the value {text!r}: {exc}") from None


def get_raw(text: str, key: str) -> Any:
    """The value at a dotted key of a YAML document, as plain data (KeyError if absent)."""
    from mldata.config import _plain

    _, doc = _load(text)
    node = doc
    for part in key_path(key):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return _plain(node)


def edit(path: Path, key: str, value: Any, *, validate: Callable[[str], None], delete: bool = False) -> str:
    """Set (or delete) ``key`` in the YAML file at ``path``; validate the whole new text with
    ``validate`` (which raises ConfigError) before anything is written. Returns the new text."""
    text = path.read_text() if path.exists() else ""
    yaml, doc = _load(text)
    parts = key_path(key)
    node = doc
    for part in parts[:-1]:
        if part not in node or node[part] is None:
            if delete:
                raise UsageError(f"{key} is not set in {path.name}")
            from ruamel.yaml.comments import CommentedMap

            node[part] = CommentedMap()
        node = node[part]
        if not isinstance(node, dict):
            raise UsageError(f"cannot set {key}: {part} is not a mapping in {path.name}")
    last = parts[-1]
    if delete:
        if last not in node:
            raise UsageError(f"{key} is not set in {path.name}")
        del node[last]
    else:
        node[last] = value
    out = io.StringIO()
    yaml.dump(doc, out)
    new_text = out.getvalue()
    try:
        validate(new_text)
    except ConfigError as exc:
        raise ConfigError(f"not changed: {key} = {value!r} would make {path.name} invalid: {exc.message}",
                          hint=exc.hint, location=exc.location) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(new_text)
    os.replace(tmp, path)
    return new_text
