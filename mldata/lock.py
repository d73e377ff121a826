"""mldata.lock: the committed, deterministic record of what every target was built from.

Why it is shaped so: the lock is a *verifying trace* (per target, the digests of everything it
read and everything it wrote) meant to live in git. It is JSON with sorted keys, two-space
indent and a final newline; paths are relative with forward slashes; there are no timestamps,
host names or absolute paths. Building the same inputs on any machine therefore produces the
same bytes, so the lock diffs, reviews and merges like source code. It is replaced atomically,
only when its content changed, and a target's entry changes only after its outputs are in place.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mldata.errors import LockError

LOCK_FILE = "mldata.lock"
LOCK_VERSION = 1

_RECOVER = (
    "run `mldata make --rebuild-lock` to rewrite it from the configuration and the data present "
    "(cached parts are reused, not recomputed), or restore it with `git checkout mldata.lock`"
)


@dataclass
class Lock:
    """The parsed lockfile: one JSON-ready entry per target name."""

    targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entry(self, name: str) -> dict[str, Any] | None:
        return self.targets.get(name)

    def to_text(self) -> str:
        doc = {"lock_version": LOCK_VERSION, "targets": self.targets}
        return _dump(doc, 0) + "\n"


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _dump(value: Any, level: int) -> str:
    """JSON with sorted keys and two-space indentation, except that a list of scalars stays on
    one line (so a profile's [value, count] pairs take a line each, not four)."""
    pad = "  " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        if all(type(k) is str and _scalar(v) for k, v in value.items()):
            # one json call for the whole mapping (the lock's many small records): the same text
            return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).replace("\n", "\n" + "  " * level)
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_dump(value[k], level + 1)}"
                 for k in sorted(value, key=str)]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(_scalar(v) for v in value):
            return json.dumps(value, ensure_ascii=False)  # its separators are ", " and ": "
        return "[\n" + ",\n".join(pad + _dump(v, level + 1) for v in value) + "\n" + "  " * level + "]"
    return json.dumps(value, ensure_ascii=False)


def read(root: Path) -> Lock:
    """Read root/mldata.lock; a missing lock is empty; a corrupt one is a LockError."""
    path = root / LOCK_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lock()
    return parse(text)


def parse(text: str) -> Lock:
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
            raise LockError(
                f"{LOCK_FILE}:{lineno}: the lockfile has git merge conflict markers",
                hint=_RECOVER,
            )
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise LockError(f"{LOCK_FILE} is not valid JSON ({exc})", hint=_RECOVER) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("targets"), dict):
        raise LockError(f"{LOCK_FILE} does not look like an mldata lockfile", hint=_RECOVER)
    version = doc.get("lock_version")
    if version != LOCK_VERSION:
        raise LockError(
            f"{LOCK_FILE} has lock_version {version!r}; this mldata reads version {LOCK_VERSION}",
            hint="upgrade mldata, or " + _RECOVER,
        )
    for name, entry in doc["targets"].items():
        if not isinstance(entry, dict) or "fingerprint" not in entry or "outputs" not in entry:
            raise LockError(f"{LOCK_FILE}: the entry of target {name!r} is malformed", hint=_RECOVER)
    return Lock(targets=doc["targets"])


def write(root: Path, lock: Lock) -> bool:
    """Write the lock atomically if its bytes changed; return whether it was written."""
    path = root / LOCK_FILE
    text = lock.to_text()
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    tmp = path.with_name(f".{LOCK_FILE}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return True
