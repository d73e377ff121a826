"""Schema snapshots, versions and classified diffs (mldata/schema.py, docs/schema.md)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

from mldata.errors import BuildError
from mldata.schema import (
    BREAKING_KINDS,
    Change,
    SchemaDiff,
    diff_entries,
    diff_schemas,
    enforce_policy,
    next_version,
    policy_outcome,
    schema_entry,
    type_relation,
)


def col(name: str, typ: str = "int64", nullable: bool = True) -> dict:
    return {"name": name, "type": typ, "nullable": nullable}


def kinds(diff: SchemaDiff) -> list[tuple[str, str, bool]]:
    return [(c.kind, c.column, c.breaking) for c in diff.changes]


BASE = [col("species", "string"), col("year", "int16"), col("mass", "int64", False)]


# --------------------------------------------------------------------------------------------
# Each diff class, with its breaking flag
# --------------------------------------------------------------------------------------------


def test_given_identical_schemas_we_should_report_no_change():
    diff = diff_schemas(BASE, [dict(c) for c in BASE])
    assert not diff.changed and not diff.breaking
    assert diff.changes == () and diff.lines() == []
    assert diff.summary() == "no schema change"


def test_given_a_nullable_column_added_we_should_call_it_compatible():
    diff = diff_schemas(BASE, BASE + [col("bill_ratio", "double")])
    assert kinds(diff) == [("added", "bill_ratio", False)]
    assert diff.changed and not diff.breaking
    assert diff.lines() == ["+ column added: bill_ratio (double, nullable) — compatible"]


def test_given_a_non_nullable_column_added_we_should_call_it_breaking():
    diff = diff_schemas(BASE, BASE + [col("id", "int64", nullable=False)])
    assert kinds(diff) == [("added", "id", True)]
    assert diff.breaking
    assert diff.lines() == ["+ column added: id (int64, not null) — breaking"]


def test_given_a_column_removed_we_should_call_it_breaking():
    diff = diff_schemas(BASE, BASE[:2])
    assert kinds(diff) == [("removed", "mass", True)]
    assert diff.lines() == ["- column removed: mass (int64, not null) — breaking"]


def test_given_a_rename_we_should_show_removed_plus_added():
    renamed = [BASE[0], col("study_year", "int16"), BASE[2]]
    diff = diff_schemas(BASE, renamed)
    assert kinds(diff) == [("removed", "year", True), ("added", "study_year", False)]
    assert diff.breaking


@pytest.mark.parametrize("old,new", [
    ("int8", "int16"), ("int16", "int32"), ("int32", "int64"), ("int8", "int64"),
    ("uint8", "uint16"), ("uint16", "uint64"), ("uint8", "int16"), ("uint16", "int32"), ("uint32", "int64"),
    ("halffloat", "float"), ("float", "double"), ("halffloat", "double"),
    ("int8", "double"), ("int32", "double"), ("int64", "double"), ("uint64", "double"),
    ("int8", "float"), ("int16", "float"), ("uint16", "float"),
    ("string", "large_string"), ("binary", "large_binary"), ("date32[day]", "date64[ms]"),
    ("timestamp[s]", "timestamp[ms]"), ("timestamp[ms]", "timestamp[us]"), ("timestamp[us]", "timestamp[ns]"),
    ("timestamp[ms, tz=UTC]", "timestamp[us, tz=UTC]"), ("duration[s]", "duration[ns]"),
    ("time32[s]", "time32[ms]"), ("time32[ms]", "time64[us]"),
    ("decimal128(10, 2)", "decimal128(12, 2)"), ("decimal128(10, 2)", "decimal128(11, 3)"),
    ("decimal128(10, 2)", "decimal256(40, 2)"),
    ("null", "string"), ("null", "int64"),
    ("dictionary<values=string, indices=int8, ordered=0>", "dictionary<values=string, indices=int32, ordered=0>"),
    ("dictionary<values=string, indices=int32, ordered=0>", "dictionary<values=large_string, indices=int32, ordered=0>"),
    ("list<item: int32>", "list<item: int64>"), ("list<item: int64>", "large_list<item: int64>"),
    ("list<item: int64 not null>", "list<item: int64>"),
])
def test_given_a_widening_we_should_call_it_compatible_and_the_reverse_narrowed_breaking(old, new):
    assert type_relation(old, new) == "widened"
    assert type_relation(new, old) == "narrowed"
    widened = diff_schemas([col("x", old)], [col("x", new)])
    assert kinds(widened) == [("widened", "x", False)]
    assert widened.lines() == [f"~ type widened: x {old} → {new} — compatible"]
    narrowed = diff_schemas([col("x", new)], [col("x", old)])
    assert kinds(narrowed) == [("narrowed", "x", True)]
    assert narrowed.changes[0].old == new and narrowed.changes[0].new == old


@pytest.mark.parametrize("old,new", [
    ("int64", "string"), ("string", "int64"), ("bool", "int8"),
    ("int32", "float"),          # float32 holds integers exactly only up to 2**24
    ("int8", "uint8"), ("uint8", "int8"), ("int64", "uint64"),
    ("date32[day]", "timestamp[us]"),   # a day becomes an instant: a change of meaning
    ("timestamp[us]", "timestamp[us, tz=UTC]"), ("timestamp[us, tz=UTC]", "timestamp[us, tz=Europe/Paris]"),
    ("timestamp[us, tz=UTC]", "timestamp[ns]"),
    ("string", "dictionary<values=string, indices=int32, ordered=0>"),
    ("dictionary<values=string, indices=int32, ordered=0>", "dictionary<values=string, indices=int32, ordered=1>"),
    ("string", "string_view"), ("struct<a: int64>", "struct<a: int64, b: string>"),
    ("list<item: int64>", "list<item: string>"), ("decimal128(10, 2)", "decimal128(10, 3)"),
    ("list<item: int64>", "fixed_size_list<item: int64>[2]"),
])
def test_given_an_unrelated_type_change_we_should_call_it_type_changed_and_breaking(old, new):
    assert type_relation(old, new) == "changed"
    diff = diff_schemas([col("x", old)], [col("x", new)])
    assert kinds(diff) == [("type_changed", "x", True)]
    assert diff.lines() == [f"~ type changed: x {old} → {new} — breaking"]


def test_given_nullability_changes_we_should_classify_loosened_and_tightened():
    loosened = diff_schemas([col("mass", nullable=False)], [col("mass", nullable=True)])
    assert kinds(loosened) == [("nullability_loosened", "mass", False)]
    assert loosened.lines() == ["~ nullability loosened: mass not null → nullable — compatible"]
    tightened = diff_schemas([col("mass", nullable=True)], [col("mass", nullable=False)])
    assert kinds(tightened) == [("nullability_tightened", "mass", True)]
    assert tightened.changes[0].old == "nullable" and tightened.changes[0].new == "not null"


def test_given_a_type_and_a_nullability_change_on_one_column_we_should_report_both():
    diff = diff_schemas([col("year", "int16", False)], [col("year", "int32", True)])
    assert kinds(diff) == [("widened", "year", False), ("nullability_loosened", "year", False)]


def test_given_a_moved_column_we_should_report_it_reordered_and_compatible():
    moved = [BASE[2], BASE[0], BASE[1]]
    diff = diff_schemas(BASE, moved)
    assert kinds(diff) == [("reordered", "mass", False)]
    assert diff.changed and not diff.breaking
    assert diff.lines() == ["~ column moved: mass (position 3 → 1) — compatible"]
    assert (diff.changes[0].old, diff.changes[0].new) == ("3", "1")


def test_given_an_added_column_in_the_middle_we_should_not_call_the_others_moved():
    diff = diff_schemas(BASE, [BASE[0], col("island", "string"), BASE[1], BASE[2]])
    assert kinds(diff) == [("added", "island", False)]


def test_given_many_changes_we_should_order_removed_then_per_column_then_moves():
    old = [col("a", "int16"), col("b"), col("c", "string"), col("d")]
    new = [col("c", "string"), col("a", "int32", False), col("e", "double"), col("d", "string")]
    diff = diff_schemas(old, new)
    assert kinds(diff) == [
        ("removed", "b", True),
        ("widened", "a", False), ("nullability_tightened", "a", True),
        ("added", "e", False),
        ("type_changed", "d", True),
        ("reordered", "a", False),   # c and a swapped: one of them is reported as moved
    ]
    assert diff.summary() == "6 changes (3 breaking)"
    assert [c.kind for c in diff.breaking_changes] == ["removed", "nullability_tightened", "type_changed"]
    assert all((c.kind in BREAKING_KINDS) == c.breaking for c in diff.changes if c.kind != "added")


def test_given_missing_snapshots_we_should_diff_against_nothing():
    assert kinds(diff_schemas(None, [col("a")])) == [("added", "a", False)]
    assert kinds(diff_schemas([col("a")], None)) == [("removed", "a", True)]
    assert kinds(diff_entries(None, {"version": 1, "columns": [col("a")]})) == [("added", "a", False)]
    assert not diff_entries({"version": 2, "columns": BASE}, {"version": 2, "columns": BASE}).changed


def test_diff_should_serialize_to_json_and_pickle():
    diff = diff_schemas(BASE, [BASE[0], col("year", "int32")])
    data = diff.to_json()
    assert data["changed"] is True and data["breaking"] is True
    assert data["changes"][0] == {"kind": "removed", "column": "mass", "old": "int64", "new": None,
                                  "breaking": True, "message": "column removed: mass (int64, not null)"}
    json.dumps(data)
    assert pickle.loads(pickle.dumps(diff)) == diff
    assert isinstance(diff.changes[0], Change)


# --------------------------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------------------------


def test_given_no_previous_entry_the_version_should_be_1():
    assert next_version(None, BASE) == 1
    assert next_version({}, BASE) == 1


def test_given_the_same_columns_the_version_should_stay():
    assert next_version({"version": 4, "columns": [dict(c) for c in BASE]}, BASE) == 4


@pytest.mark.parametrize("new", [
    BASE + [col("x")],                                  # added
    BASE[:2],                                           # removed
    [BASE[0], col("year", "int32"), BASE[2]],           # widened
    [BASE[0], BASE[1], col("mass", "int64", True)],     # nullability
    [BASE[1], BASE[0], BASE[2]],                        # reordered
])
def test_given_any_column_change_the_version_should_grow_by_one(new):
    assert next_version({"version": 4, "columns": BASE}, new) == 5


def test_given_a_malformed_previous_entry_the_version_should_restart_at_1():
    assert next_version({"columns": BASE}, BASE) == 1
    assert next_version({"version": "3", "columns": BASE}, BASE) == 1
    assert next_version({"version": True, "columns": BASE}, BASE) == 1


def test_schema_entry_should_build_the_lock_value():
    entry = schema_entry(None, [{"name": "a", "type": "int64", "nullable": False, "extra": 1}])
    assert entry == {"version": 1, "columns": [{"name": "a", "type": "int64", "nullable": False}]}
    assert schema_entry(entry, entry["columns"])["version"] == 1
    assert schema_entry(entry, [col("a")])["version"] == 2


# --------------------------------------------------------------------------------------------
# Policy: on_breaking fail|warn|allow and --allow-breaking
# --------------------------------------------------------------------------------------------

BREAKING = diff_schemas(BASE, BASE[:2])
COMPATIBLE = diff_schemas(BASE, BASE + [col("x")])


@pytest.mark.parametrize("diff,on_breaking,allow,expected", [
    (COMPATIBLE, "fail", False, "ok"),
    (BREAKING, "fail", False, "fail"),
    (BREAKING, "fail", True, "warn"),
    (BREAKING, "warn", False, "warn"),
    (BREAKING, "allow", False, "ok"),
    (BREAKING, "allow", True, "ok"),
])
def test_policy_outcome(diff, on_breaking, allow, expected):
    assert policy_outcome(diff, on_breaking=on_breaking, allow_breaking=allow) == expected


def test_given_a_breaking_change_under_fail_enforce_should_raise_a_build_error_with_the_lines():
    with pytest.raises(BuildError) as info:
        enforce_policy(BREAKING, "penguins_clean")
    err = info.value
    assert err.exit_status == 1
    assert "penguins_clean: breaking schema change" in err.message
    assert "- column removed: mass (int64, not null) — breaking" in err.message
    assert "--allow-breaking" in err.hint
    assert enforce_policy(BREAKING, "t", allow_breaking=True) == "warn"
    assert enforce_policy(COMPATIBLE, "t") == "ok"
    with pytest.raises(ValueError):
        policy_outcome(BREAKING, on_breaking="explode")


def test_importing_schema_should_not_import_pyarrow():
    code = "import sys, mldata.schema; sys.exit(1 if 'pyarrow' in sys.modules or 'pandas' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
