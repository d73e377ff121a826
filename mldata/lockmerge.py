"""Merging mldata.lock across git branches: a three-way merge driver and `mldata lock resolve`.

The lock is a set of independent per-target entries, so a merge is per target:

* ``merge_locks(base, ours, theirs)`` (the git merge driver): an entry changed on one side only
  takes that side; changed identically on both, either; changed differently on both, it is
  *dropped*, so the next ``mldata make`` rebuilds that target (reusing cached parts). Dropping
  is always safe: a missing entry can only cause a rebuild, never a wrong "up to date".
* ``resolve`` (after a merge that left conflict markers, or any doubt): for every target, keep
  the candidate entry (ours or theirs) that matches the merged configuration and the files on
  disk, and drop the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mldata.errors import LockError
from mldata.lock import LOCK_VERSION, Lock


def split_conflict(text: str) -> tuple[str, str]:
    """The two sides of a file with git conflict markers (common lines go to both)."""
    ours: list[str] = []
    theirs: list[str] = []
    side = None
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            side = "ours"
        elif line.startswith("||||||| ") and side == "ours":
            side = "base"
        elif line.rstrip("\r\n") == "=======" and side in ("ours", "base"):
            side = "theirs"
        elif line.startswith(">>>>>>> ") and side == "theirs":
            side = None
        elif side is None:
            ours.append(line)
            theirs.append(line)
        elif side == "ours":
            ours.append(line)
        elif side == "theirs":
            theirs.append(line)
    return "".join(ours), "".join(theirs)


def _targets(text: str, label: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise LockError(f"the {label} side of mldata.lock is not valid JSON ({exc})",
                        hint="restore one side with `git checkout --ours mldata.lock` (or --theirs), then "
                             "run `mldata make --rebuild-lock`") from None
    return dict(doc.get("targets", {}))


@dataclass
class MergeResult:
    lock: Lock
    dropped: list[str] = field(default_factory=list)  # conflicting entries, rebuilt by the next make


def merge_locks(base_text: str, ours_text: str, theirs_text: str) -> MergeResult:
    """Three-way merge of lock files, per target (see the module docstring)."""
    base, ours, theirs = (_targets(t, n) for t, n in ((base_text, "base"), (ours_text, "our"), (theirs_text, "their")))
    merged: dict[str, Any] = {}
    dropped: list[str] = []
    for name in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = base.get(name), ours.get(name), theirs.get(name)
        if o == t:
            chosen = o
        elif o == b:
            chosen = t
        elif t == b:
            chosen = o
        else:
            chosen = None
            dropped.append(name)
        if chosen is not None:
            merged[name] = chosen
    return MergeResult(Lock(targets=merged), dropped)


@dataclass
class Resolution:
    lock: Lock
    kept: dict[str, str] = field(default_factory=dict)  # target -> "ours" | "theirs" | "current"
    dropped: list[str] = field(default_factory=list)


def resolve(project: Any, text: str) -> Resolution:
    """A lock built from the candidate entries in ``text`` (one or two sides of a conflict) that
    match the project as it is now: its configuration, inputs, code and output files."""
    from mldata.scan import Scanner
    from mldata.statcache import StatCache
    from mldata.plan import Action, decide_target

    if any(line.startswith("<<<<<<< ") for line in text.splitlines()):
        ours_text, theirs_text = split_conflict(text)
        sides = [("ours", _targets(ours_text, "our")), ("theirs", _targets(theirs_text, "their"))]
    else:
        sides = [("current", _targets(text, "current"))]
    statcache = StatCache(project.root / ".mldata" / "statcache.json")
    scanner = Scanner(project.spec, statcache)
    result = Resolution(Lock())
    for name in project.graph.order:
        for label, targets in sides:
            entry = targets.get(name)
            if entry is None:
                continue
            trial = Lock(targets={**result.lock.targets, name: entry})
            state = scanner.target_state(name, trial)
            decision = decide_target(state, entry, upstream_actions={u: Action.UP_TO_DATE for u in project.graph.deps[name]})
            if decision.action is Action.UP_TO_DATE:
                result.lock.targets[name] = entry
                result.kept[name] = label
                break
        else:
            if any(name in targets for _, targets in sides):
                result.dropped.append(name)
    statcache.save()
    return result


__all__ = ["merge_locks", "resolve", "split_conflict", "MergeResult", "Resolution", "LOCK_VERSION"]
