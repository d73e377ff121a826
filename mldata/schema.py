"""Schema snapshots, versions and classified diffs (compatible / breaking).

Every build records a target's output Arrow schema in the lock as a *snapshot*::

    "schema": {"version": 3, "columns": [{"name": "year", "type": "int16", "nullable": true}, ...]}

``type`` is pyarrow's ``str(DataType)`` ("int64", "double", "string", "timestamp[us, tz=UTC]",
"dictionary<values=string, indices=int32, ordered=0>", ...). The version starts at 1 and grows by
one each time the columns (names, types, nullability or order) change, so ``mldata schema log``
can list the versions from the git history of the lock alone.

A change between two snapshots is classified so a build can gate on it (docs/schema.md):

========================  ==========  ====================================================
kind                      breaking    meaning
========================  ==========  ====================================================
``added``                 if not      a new column; compatible when nullable
                          nullable
``removed``               yes         a column is gone (a rename shows as removed + added)
``widened``               no          every old value fits the new type (int16 -> int32)
``narrowed``              yes         the reverse of a widening (int64 -> int16)
``type_changed``          yes         any other type change (int64 -> string)
``nullability_loosened``  no          not null -> nullable
``nullability_tightened`` yes         nullable -> not null
``reordered``             no          a column moved; informational
========================  ==========  ====================================================

This module is pure Python: it reads type *strings* and never imports pyarrow, so ``mldata
schema diff`` and ``schema log`` stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping, Sequence

from mldata.errors import BuildError

__all__ = [
    "BREAKING_KINDS",
    "Change",
    "KINDS",
    "SchemaDiff",
    "diff_entries",
    "diff_schemas",
    "enforce_policy",
    "next_version",
    "policy_outcome",
    "schema_entry",
    "type_relation",
]

ChangeKind = Literal[
    "added", "removed", "widened", "narrowed", "type_changed",
    "nullability_loosened", "nullability_tightened", "reordered",
]
KINDS: tuple[str, ...] = (
    "removed", "added", "type_changed", "narrowed", "widened",
    "nullability_tightened", "nullability_loosened", "reordered",
)
BREAKING_KINDS = frozenset({"removed", "narrowed", "type_changed", "nullability_tightened"})
OnBreaking = Literal["fail", "warn", "allow"]
ON_BREAKING_CHOICES: tuple[str, ...] = ("fail", "warn", "allow")

_SYMBOL = {"added": "+", "removed": "-"}


@dataclass(frozen=True)
class Change:
    """One classified difference between two schema snapshots.

    ``old`` and ``new`` describe the column before and after in the terms of the change: the
    Arrow types for added/removed/widened/narrowed/type_changed, "nullable"/"not null" for the
    nullability kinds, 1-based positions for ``reordered``.
    """

    kind: str
    column: str
    old: str | None
    new: str | None
    breaking: bool
    message: str

    def line(self) -> str:
        """The human line: ``+ column added: bill_ratio (double, nullable) — compatible``."""
        verdict = "breaking" if self.breaking else "compatible"
        return f"{_SYMBOL.get(self.kind, '~')} {self.message} — {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "old": self.old, "new": self.new,
                "breaking": self.breaking, "message": self.message}


@dataclass(frozen=True)
class SchemaDiff:
    """The classified changes from an old snapshot to a new one, in a stable order."""

    changes: tuple[Change, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the columns differ at all (a reorder counts)."""
        return bool(self.changes)

    @property
    def breaking(self) -> bool:
        """Whether any change is breaking (what ``on_breaking`` and ``--allow-breaking`` gate)."""
        return any(c.breaking for c in self.changes)

    @property
    def breaking_changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.breaking)

    def lines(self) -> list[str]:
        """One human line per change; empty when nothing changed."""
        return [c.line() for c in self.changes]

    def summary(self) -> str:
        """``no schema change`` or ``3 changes (1 breaking)``."""
        if not self.changes:
            return "no schema change"
        n, b = len(self.changes), len(self.breaking_changes)
        return f"{n} change{'s' if n != 1 else ''} ({b} breaking)" if b else \
            f"{n} change{'s' if n != 1 else ''} (all compatible)"

    def to_json(self) -> dict[str, Any]:
        return {"changed": self.changed, "breaking": self.breaking,
                "changes": [c.to_json() for c in self.changes]}


# ------------------------------------------------------------------------------------------------
# Snapshots and versions
# ------------------------------------------------------------------------------------------------


def _normalize(columns: Iterable[Mapping[str, Any]] | None) -> list[tuple[str, str, bool]]:
    return [(str(c["name"]), str(c["type"]), bool(c.get("nullable", True))) for c in (columns or [])]


def next_version(old_entry: Mapping[str, Any] | None, new_columns: Sequence[Mapping[str, Any]]) -> int:
    """The version to record for ``new_columns``: 1 for a first build, the old version when the
    columns are identical (names, types, nullability, order), the old version + 1 otherwise."""
    if not old_entry:
        return 1
    version = old_entry.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        version = 0  # a malformed or pre-versioning entry: the next version is 1
    if version and _normalize(old_entry.get("columns")) == _normalize(new_columns):
        return version
    return version + 1


def schema_entry(old_entry: Mapping[str, Any] | None, new_columns: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The lock's ``schema`` value for a new build: ``{"version": N, "columns": [...]}``."""
    columns = [{"name": n, "type": t, "nullable": nl} for n, t, nl in _normalize(new_columns)]
    return {"version": next_version(old_entry, columns), "columns": columns}


def diff_entries(old_entry: Mapping[str, Any] | None, new_entry: Mapping[str, Any] | None) -> SchemaDiff:
    """:func:`diff_schemas` of two lock ``schema`` entries (either may be absent)."""
    return diff_schemas((old_entry or {}).get("columns") or [], (new_entry or {}).get("columns") or [])


# ------------------------------------------------------------------------------------------------
# Diffs
# ------------------------------------------------------------------------------------------------


def _nullability(nullable: bool) -> str:
    return "nullable" if nullable else "not null"


def diff_schemas(old_columns: Sequence[Mapping[str, Any]] | None,
                 new_columns: Sequence[Mapping[str, Any]] | None) -> SchemaDiff:
    """Classify every difference from ``old_columns`` to ``new_columns`` (lock column lists).

    Columns are matched by name; a rename therefore shows as one column removed and one added.
    The changes come removed first (in the old order), then added, type and nullability changes
    (in the new order), then moved columns.
    """
    old = _normalize(old_columns)
    new = _normalize(new_columns)
    old_by = {n: (t, nl) for n, t, nl in reversed(old)}  # first occurrence wins
    new_by = {n: (t, nl) for n, t, nl in reversed(new)}
    changes: list[Change] = []

    for name, typ, nullable in old:
        if name not in new_by:
            changes.append(Change("removed", name, typ, None, True,
                                  f"column removed: {name} ({typ}, {_nullability(nullable)})"))
    for name, typ, nullable in new:
        if name not in old_by:
            changes.append(Change(
                "added", name, None, typ, not nullable,
                f"column added: {name} ({typ}, {_nullability(nullable)})"))
            continue
        old_typ, old_nullable = old_by[name]
        if old_typ != typ:
            relation = type_relation(old_typ, typ)
            if relation == "widened":
                changes.append(Change("widened", name, old_typ, typ, False,
                                      f"type widened: {name} {old_typ} → {typ}"))
            elif relation == "narrowed":
                changes.append(Change("narrowed", name, old_typ, typ, True,
                                      f"type narrowed: {name} {old_typ} → {typ}"))
            else:
                changes.append(Change("type_changed", name, old_typ, typ, True,
                                      f"type changed: {name} {old_typ} → {typ}"))
        if old_nullable != nullable:
            if nullable:
                changes.append(Change("nullability_loosened", name, "not null", "nullable", False,
                                      f"nullability loosened: {name} not null → nullable"))
            else:
                changes.append(Change("nullability_tightened", name, "nullable", "not null", True,
                                      f"nullability tightened: {name} nullable → not null"))

    # Moves: the common columns that are not on a longest common subsequence of the two orders.
    common_old = [n for n, _, _ in old if n in new_by]
    common_new = [n for n, _, _ in new if n in old_by]
    if common_old != common_new:
        stay = set(_lcs(common_old, common_new))
        old_pos = {n: i for i, (n, _, _) in reversed(list(enumerate(old, 1)))}
        new_pos = {n: i for i, (n, _, _) in reversed(list(enumerate(new, 1)))}
        for name in common_new:
            if name not in stay:
                changes.append(Change("reordered", name, str(old_pos[name]), str(new_pos[name]), False,
                                      f"column moved: {name} (position {old_pos[name]} → {new_pos[name]})"))

    changes.sort(key=lambda c: 0 if c.kind == "removed" else (2 if c.kind == "reordered" else 1))
    return SchemaDiff(tuple(changes))


def _lcs(a: list[str], b: list[str]) -> list[str]:
    """A longest common subsequence of two name lists (the columns that did not move)."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    out, i, j = [], 0, 0
    while i < n and j < m:
        if a[i] == b[j]:
            out.append(a[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


# ------------------------------------------------------------------------------------------------
# Type relations, read from pyarrow's type strings
# ------------------------------------------------------------------------------------------------

_SIGNED = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UNSIGNED = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
_FLOATS = {"halffloat": 16, "float16": 16, "float": 32, "float32": 32, "double": 64, "float64": 64}
# The widest integer a float holds exactly, in bits of magnitude (mantissa + 1). int64 -> double
# is accepted as a widening anyway (the product's rule): values beyond 2**53 lose precision.
_FLOAT_EXACT_INT_BITS = {16: 8, 32: 16, 64: 64}
_UNIT_RANK = {"s": 0, "ms": 1, "us": 2, "ns": 3}
# Pairs (narrow, wide) of same-meaning types where the wide one holds every value of the narrow.
_SIMPLE_WIDENINGS = {
    ("string", "large_string"), ("utf8", "large_utf8"), ("string", "large_utf8"), ("utf8", "large_string"),
    ("binary", "large_binary"), ("date32[day]", "date64[ms]"),
}


def type_relation(old: str, new: str) -> Literal["same", "widened", "narrowed", "changed"]:
    """How a column's Arrow type changed: ``same``, ``widened`` (every old value is representable
    in the new type, with the same meaning), ``narrowed`` (the reverse) or ``changed``."""
    old, new = old.strip(), new.strip()
    if old == new:
        return "same"
    if _widens(old, new):
        return "widened"
    if _widens(new, old):
        return "narrowed"
    return "changed"


def _widens(a: str, b: str) -> bool:
    """Whether type string ``b`` is a widening of ``a`` (a != b)."""
    if a == b:
        return True
    if a == "null":
        return True  # an all-null column that gained a real type
    if (a, b) in _SIMPLE_WIDENINGS:
        return True
    # Integers and floats.
    if a in _SIGNED and b in _SIGNED:
        return _SIGNED[b] > _SIGNED[a]
    if a in _UNSIGNED and b in _UNSIGNED:
        return _UNSIGNED[b] > _UNSIGNED[a]
    if a in _UNSIGNED and b in _SIGNED:
        return _SIGNED[b] > _UNSIGNED[a]
    if a in _FLOATS and b in _FLOATS:
        return _FLOATS[b] > _FLOATS[a]
    if (a in _SIGNED or a in _UNSIGNED) and b in _FLOATS:
        bits = _SIGNED.get(a) or _UNSIGNED[a]
        return bits <= _FLOAT_EXACT_INT_BITS[_FLOATS[b]]
    # Temporal types: the same meaning at a finer unit (and, for timestamps, the same time zone).
    pa_, pb = _parametric(a), _parametric(b)
    if pa_ and pb:
        (ka, argsa), (kb, argsb) = pa_, pb
        if ka == "timestamp" and kb == "timestamp":
            return argsa[1:] == argsb[1:] and _finer(argsa[0], argsb[0])
        if ka == "duration" and kb == "duration":
            return _finer(argsa[0], argsb[0])
        if ka in ("time32", "time64") and kb in ("time32", "time64"):
            return _finer(argsa[0], argsb[0])
        if ka in ("decimal128", "decimal256", "decimal32", "decimal64") and kb in ("decimal128", "decimal256", "decimal32", "decimal64"):
            try:
                p1, s1 = int(argsa[0]), int(argsa[1])
                p2, s2 = int(argsb[0]), int(argsb[1])
            except (IndexError, ValueError):
                return False
            return s2 >= s1 and (p2 - s2) >= (p1 - s1)
    # Dictionaries: same ordering, values and indices each equal or widened.
    da, db = _dictionary(a), _dictionary(b)
    if da and db:
        return da[2] == db[2] and _widens(da[0], db[0]) and _widens(da[1], db[1])
    # Lists: list -> large_list, and the item widened; a not-null item may become nullable.
    la, lb = _list(a), _list(b)
    if la and lb:
        (kind_a, item_a, notnull_a), (kind_b, item_b, notnull_b) = la, lb
        if (kind_a, kind_b) not in (("list", "list"), ("list", "large_list"), ("large_list", "large_list")):
            return False
        if notnull_b and not notnull_a:
            return False
        return _widens(item_a, item_b)
    return False


def _finer(unit_a: str, unit_b: str) -> bool:
    ra, rb = _UNIT_RANK.get(unit_a.strip()), _UNIT_RANK.get(unit_b.strip())
    return ra is not None and rb is not None and rb >= ra


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` outside any (), [] or <> nesting."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([<":
            depth += 1
        elif ch in ")]>":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return parts


def _parametric(t: str) -> tuple[str, list[str]] | None:
    """``timestamp[us, tz=UTC]`` -> ("timestamp", ["us", "tz=UTC"]); ``decimal128(10, 2)`` ->
    ("decimal128", ["10", "2"]); anything else -> None."""
    for open_, close in (("[", "]"), ("(", ")")):
        i = t.find(open_)
        if i > 0 and t.endswith(close) and t[:i].isalnum():
            return t[:i], _split_top(t[i + 1:-1])
    return None


def _dictionary(t: str) -> tuple[str, str, str] | None:
    """``dictionary<values=V, indices=I, ordered=O>`` -> (V, I, O)."""
    if not (t.startswith("dictionary<") and t.endswith(">")):
        return None
    fields = {}
    for part in _split_top(t[len("dictionary<"):-1]):
        key, _, value = part.partition("=")
        fields[key.strip()] = value.strip()
    if {"values", "indices"} <= fields.keys():
        return fields["values"], fields["indices"], fields.get("ordered", "0")
    return None


def _list(t: str) -> tuple[str, str, bool] | None:
    """``list<item: int64 not null>`` -> ("list", "int64", True)."""
    for kind in ("large_list", "list"):
        if t.startswith(kind + "<") and t.endswith(">"):
            inner = t[len(kind) + 1:-1]
            _, colon, item = inner.partition(": ")
            if not colon:
                return None
            item = item.strip()
            notnull = item.endswith(" not null")
            if notnull:
                item = item[: -len(" not null")].strip()
            return kind, item, notnull
    return None


# ------------------------------------------------------------------------------------------------
# Policy
# ------------------------------------------------------------------------------------------------


def policy_outcome(diff: SchemaDiff, *, on_breaking: str = "fail",
                   allow_breaking: bool = False) -> Literal["ok", "warn", "fail"]:
    """What a build should do with ``diff``.

    ``ok``: nothing breaking, or the target says ``on_breaking: allow``. ``warn``: breaking, and
    the target says ``on_breaking: warn`` or the run says ``--allow-breaking``. ``fail``: breaking
    under the default ``on_breaking: fail``.
    """
    if on_breaking not in ON_BREAKING_CHOICES:
        raise ValueError(f"on_breaking must be one of {', '.join(ON_BREAKING_CHOICES)}, got {on_breaking!r}")
    if not diff.breaking or on_breaking == "allow":
        return "ok"
    if on_breaking == "warn" or allow_breaking:
        return "warn"
    return "fail"


def enforce_policy(diff: SchemaDiff, target: str, *, on_breaking: str = "fail",
                   allow_breaking: bool = False) -> Literal["ok", "warn"]:
    """:func:`policy_outcome`, raising the :class:`BuildError` a failing target reports."""
    outcome = policy_outcome(diff, on_breaking=on_breaking, allow_breaking=allow_breaking)
    if outcome == "fail":
        lines = "\n".join("  " + line for line in diff.lines())
        raise BuildError(
            f"{target}: breaking schema change ({diff.summary()}):\n{lines}",
            hint=(f"if the change is intended, rebuild with `mldata make {target} --allow-breaking` "
                  "(or set `on_breaking: warn` on the target); otherwise fix the steps that changed "
                  "the columns. The previous outputs and lock entry are kept."),
        )
    return outcome
