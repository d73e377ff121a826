"""The rebuilder: decide, for each target, whether it is up to date, and if not, exactly why.

`decide_target` is pure: it compares a :class:`~mldata.scan.TargetState` (what the workspace
defines now) with the target's lock entry (what it was last built from) and returns a
:class:`Decision`, a printable value. Nothing here reads files or imports pyarrow.

Decisions are a small closed set (redo's three states, plus ninja's partial work):

* ``up_to_date``: nothing the target depends on changed, and its outputs are intact;
* ``build``: the whole target is (re)built, with the reasons;
* ``partial``: a partitioned target reprocesses k of its n parts (inputs added, changed or
  removed, or parts of its output missing or modified);
* ``pending``: an upstream target will be rebuilt; whether this one must follow is known only
  after that upstream's new data hash is (early cutoff).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

from mldata.scan import TargetState

if TYPE_CHECKING:
    from mldata.graph import Graph

_SHOW = 5  # names shown in a reason before "and N more"


class Action(str, Enum):
    UP_TO_DATE = "up_to_date"
    BUILD = "build"
    PARTIAL = "partial"
    PENDING = "pending"


@dataclass(frozen=True)
class Reason:
    """One specific reason a target must run: a kind, a message for people, and the names involved."""

    kind: str  # forced, new, config, code, schema_file, compression, inputs, upstream, outputs
    message: str
    items: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "items": list(self.items)}


@dataclass(frozen=True)
class Decision:
    target: str
    action: Action
    reasons: tuple[Reason, ...] = ()
    parts_total: int = 0
    parts_to_build: tuple[str, ...] = ()  # unit names (input paths)
    parts_to_drop: tuple[str, ...] = ()
    pending_on: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        return self.action is not Action.UP_TO_DATE

    def summary(self) -> str:
        """One line for people: what will happen."""
        if self.action is Action.UP_TO_DATE:
            return "up to date"
        if self.action is Action.PENDING:
            return f"waits for {', '.join(self.pending_on)} (rebuilt only if its data changes)"
        if self.action is Action.PARTIAL:
            out = f"partial: {len(self.parts_to_build)} of {self.parts_total} parts"
            if self.parts_to_drop:
                out += f", {len(self.parts_to_drop)} dropped"
            return out
        if self.reasons and self.reasons[0].kind == "new":
            return "build (new)"
        return "rebuild"

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "action": self.action.value,
            "summary": self.summary(),
            "reasons": [r.to_json() for r in self.reasons],
            "parts_total": self.parts_total,
            "parts_to_build": list(self.parts_to_build),
            "parts_to_drop": list(self.parts_to_drop),
            "pending_on": list(self.pending_on),
        }


@dataclass(frozen=True)
class Plan:
    """Decisions for the selected targets, in build order."""

    decisions: tuple[Decision, ...] = field(default_factory=tuple)

    @property
    def stale(self) -> bool:
        return any(d.stale for d in self.decisions)

    def get(self, target: str) -> Decision | None:
        for d in self.decisions:
            if d.target == target:
                return d
        return None

    def to_json(self) -> dict[str, Any]:
        return {"targets": [d.to_json() for d in self.decisions], "stale": self.stale}


def decide(
    graph: "Graph",
    selected: list[str],
    state_of: Callable[[str], TargetState],
    entry_of: Callable[[str], dict[str, Any] | None],
    *,
    force: bool = False,
) -> tuple[Plan, dict[str, TargetState]]:
    """Decide every selected target, in build order (``selected`` is topologically sorted).

    ``state_of`` and ``entry_of`` give a target's current state and its lock entry; targets
    outside the selection count as up to date.
    """
    states: dict[str, TargetState] = {}
    decisions: dict[str, Decision] = {}
    for name in selected:
        states[name] = state_of(name)
        ups = {u: (decisions[u].action if u in decisions else Action.UP_TO_DATE) for u in graph.deps[name]}
        decisions[name] = decide_target(states[name], entry_of(name), upstream_actions=ups, force=force)
    return Plan(tuple(decisions[n] for n in selected)), states


def decide_target(
    state: TargetState,
    entry: dict[str, Any] | None,
    *,
    upstream_actions: dict[str, Action],
    force: bool = False,
) -> Decision:
    """Compare a target's current state with its lock entry and decide what to do.

    ``upstream_actions`` holds the decisions already taken for the targets it reads (targets
    not selected count as up to date). A target whose upstream will run is ``pending``.
    """
    waiting = tuple(u for u, a in upstream_actions.items() if a is not Action.UP_TO_DATE)
    reasons, partial_parts, dropped = _reasons(state, entry, force=force)
    total = len(state.units)
    if waiting:
        return Decision(state.name, Action.PENDING, tuple(reasons), total, pending_on=waiting)
    if not reasons:
        return Decision(state.name, Action.UP_TO_DATE, parts_total=total)
    structural = any(r.kind not in ("inputs", "outputs", "upstream") for r in reasons)
    if state.partitioned and not structural and partial_parts is not None:
        return Decision(
            state.name, Action.PARTIAL, tuple(reasons), total,
            parts_to_build=tuple(sorted(partial_parts)), parts_to_drop=tuple(sorted(dropped)),
        )
    return Decision(
        state.name, Action.BUILD, tuple(reasons), total,
        parts_to_build=tuple(sorted(state.units)), parts_to_drop=tuple(sorted(dropped)),
    )


def _reasons(
    state: TargetState, entry: dict[str, Any] | None, *, force: bool
) -> tuple[list[Reason], set[str] | None, set[str]]:
    """The reasons to run, the parts a partial build needs (None: not partial-able), dropped parts."""
    reasons: list[Reason] = []
    if force:
        reasons.append(Reason("forced", "forced (--force)"))
    if entry is None:
        reasons.append(Reason("new", "new: never built"))
        return reasons, None, set()
    if entry.get("fingerprint") == state.fingerprint and all(
        state.outputs.get(rel) == rec.get("hash") for rel, rec in entry.get("outputs", {}).items()
    ):
        return reasons, set(), set()

    changed_keys = diff_keys(entry.get("recipe", {}), state.recipe)
    if changed_keys:
        reasons.append(Reason("config", "config changed: " + _names(changed_keys), tuple(changed_keys)))
    code_changed = _changed_names(entry.get("code", {}), state.code)
    if code_changed:
        reasons.append(Reason("code", "code changed: " + _names(code_changed), tuple(code_changed)))
    schema_changed = _changed_names(entry.get("schema_file", {}), state.schema_file)
    if schema_changed:
        reasons.append(Reason("schema_file", "schema file changed: " + _names(schema_changed), tuple(schema_changed)))
    old_enc, new_enc = entry.get("encoding", {}), state.encoding
    if old_enc != new_enc:
        reasons.append(
            Reason("compression", f"compression changed: {_codec(old_enc)} -> {_codec(new_enc)}",
                   (_codec(old_enc), _codec(new_enc)))
        )
    up_changed = sorted(u for u, h in state.upstream.items() if entry.get("upstream", {}).get(u) != h)
    if up_changed:
        reasons.append(Reason("upstream", "upstream changed: " + _names(up_changed), tuple(up_changed)))

    old_inputs: dict[str, str] = entry.get("inputs", {})
    added = sorted(set(state.inputs) - set(old_inputs))
    removed = sorted(set(old_inputs) - set(state.inputs))
    changed = sorted(k for k in state.inputs if k in old_inputs and old_inputs[k] != state.inputs[k])
    if added or removed or changed:
        bits = []
        for label, names in (("changed", changed), ("added", added), ("removed", removed)):
            if names:
                bits.append(f"{len(names)} {label} ({_names(names)})")
        reasons.append(Reason("inputs", "inputs: " + "; ".join(bits), tuple(changed + added + removed)))

    bad_outputs: list[str] = []
    missing: list[str] = []
    for rel, rec in entry.get("outputs", {}).items():
        now = state.outputs.get(rel)
        if now is None:
            missing.append(rel)
        elif now != rec.get("hash"):
            bad_outputs.append(rel)
    if missing:
        reasons.append(Reason("outputs", "output missing: " + _names(missing), tuple(missing)))
    if bad_outputs:
        reasons.append(Reason("outputs", "output modified: " + _names(bad_outputs), tuple(bad_outputs)))

    if not reasons and entry.get("fingerprint") != state.fingerprint:
        # Defensive: every fingerprint ingredient is compared above, so this means the lock was
        # written by another mldata version or edited by hand.
        reasons.append(Reason("fingerprint", "fingerprint differs from the lock (lock edited or mldata upgraded)"))

    partial: set[str] | None = None
    if state.partitioned:
        partial = set(added) | set(changed)
        output_unit = {rel: rec.get("input") for rel, rec in entry.get("outputs", {}).items()}
        for rel in missing + bad_outputs:
            unit = output_unit.get(rel)
            if unit in removed:
                continue  # its part is dropped anyway
            if unit in state.units and not state.has_global_suffix:
                partial.add(unit)
            else:
                partial = None  # a global output (or an unknown file) needs the whole target
                break
    return reasons, partial, set(removed)


def diff_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the keys whose values differ between two JSON-like values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(path)
            else:
                out += diff_keys(old[key], new[key], path)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += diff_keys(a, b, f"{prefix}[{i}]")
        return out
    return [] if old == new else [prefix or "(root)"]


def _changed_names(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _codec(encoding: dict[str, Any]) -> str:
    comp = encoding.get("compression") or {}
    codec = comp.get("codec", "?")
    return codec if comp.get("level") is None else f"{codec}:{comp['level']}"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOW])
    return shown + (f" and {len(names) - _SHOW} more" if len(names) > _SHOW else "")
