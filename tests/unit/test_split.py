"""Stable splits: the hash (against a pure-Python reference), stability, groups, stratify, config."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mldata.errors import ConfigError, StepError
from mldata.split import (
    STRATIFY_Z,
    check_split_config,
    compute_splits,
    is_stable,
    split_hash,
    split_table,
    split_unit,
    assign_splits,
)

RATIOS = {"train": 0.8, "val": 0.1, "test": 0.1}

# ------------------------------------------------------------------------------------------
# A scalar reference implementation of the documented hash (module docstring of mldata.split),
# written from the description, not from the vectorised code.
# ------------------------------------------------------------------------------------------

M64 = (1 << 64) - 1


def ref_mix(z: int) -> int:
    z &= M64
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & M64
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def ref_start(tag: int) -> int:
    return ref_mix((tag + 1) * 0x9E3779B97F4A7C15)


def ref_tagged(tag: int, *words: int) -> int:
    h = ref_start(tag)
    for w in words:
        h = ref_mix(h ^ (w & M64))
    return h


def ref_bytes(tag: int, data: bytes) -> int:
    s = 0
    for j in range(0, (len(data) + 7) // 8):
        word = int.from_bytes(data[8 * j : 8 * j + 8].ljust(8, b"\0"), "little")
        s = (s + ref_mix(word ^ ref_mix(j + 0xD6E8FEB86659FD93))) & M64
    return ref_tagged(tag, len(data), s)


def ref_value(v, kind: str | None = None) -> int:
    """Hash of one Python value; kind disambiguates date/time/duration/binary/decimal."""
    if v is None:
        return ref_start(0)
    if isinstance(v, bool):
        return ref_tagged(1, int(v))
    if isinstance(v, int):
        if -(1 << 63) <= v < (1 << 63):
            return ref_tagged(2, v & M64)
        return ref_tagged(3, v)
    if isinstance(v, float):
        if math.isnan(v):
            return ref_tagged(4, 0x7FF8000000000000)
        if math.isfinite(v) and v == math.floor(v) and -(2.0**63) <= v < 2.0**64:
            return ref_value(int(v))
        return ref_tagged(4, struct.unpack("<Q", struct.pack("<d", v))[0])
    if isinstance(v, str):
        return ref_bytes(5, v.encode("utf-8"))
    if isinstance(v, bytes):
        return ref_bytes(6, v)
    if isinstance(v, decimal.Decimal):
        text = format(v, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
        return ref_bytes(7, text.encode())
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        delta = v - dt.datetime(1970, 1, 1)
        total_us = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        secs, us = divmod(total_us, 1_000_000)
        return ref_tagged(10, secs, us * 1000)
    if isinstance(v, dt.date):
        return ref_tagged(8, (v - dt.date(1970, 1, 1)).days)
    if isinstance(v, dt.time):
        nanos = ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000_000 + v.microsecond * 1000
        return ref_tagged(9, nanos)
    if isinstance(v, dt.timedelta):
        total_us = (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds
        secs, us = divmod(total_us, 1_000_000)
        return ref_tagged(11, secs, us * 1000)
    raise TypeError(type(v))


def ref_row(values: list, seed: int) -> int:
    state = ref_mix(seed ^ 0x5851F42D4C957F2D)
    for v in values:
        state = ref_mix(state ^ ref_value(v))
    return state


def ref_unit(values: list, seed: int) -> float:
    return (ref_row(values, seed) >> 11) / 2.0**53


def hashes(arr: pa.Array | pa.ChunkedArray, seed: int = 7) -> list[int]:
    return [int(h) for h in split_hash(pa.table({"k": arr}), ["k"], seed)]


def ref_hashes(values: list, seed: int = 7) -> list[int]:
    return [ref_row([v], seed) for v in values]


# ------------------------------------------------------------------------------------------
# the hash
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([0, 1, -1, 2**62, -(2**63), 2**63 - 1, None], pa.int64()),
        pa.array([0, 1, 2**63, 2**64 - 1, None], pa.uint64()),
        pa.array([0.5, -0.0, 1.0, float("inf"), float("-inf"), float("nan"), 1e300, 2.0**63, 2.0**64, -(2.0**63), None]),
        pa.array([True, False, None]),
        pa.array(["", "a", "abcdefgh", "abcdefghi", "ünïcødé ✓", "x" * 1000, None]),
        pa.array([b"", b"\x00", b"\xff" * 9, None], pa.binary()),
        pa.array([dt.date(1970, 1, 1), dt.date(1969, 12, 31), dt.date(2024, 2, 29), None]),
        pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 6), dt.datetime(1960, 1, 1, 0, 0, 0, 1), None], pa.timestamp("us")),
        pa.array([dt.time(0, 0), dt.time(23, 59, 59, 999999), None], pa.time64("us")),
        pa.array([dt.timedelta(0), dt.timedelta(microseconds=-1), dt.timedelta(days=3, seconds=5), None], pa.duration("us")),
        pa.array([decimal.Decimal("1.50"), decimal.Decimal("-0.00"), decimal.Decimal("12"), None], pa.decimal128(10, 2)),
    ],
    ids=["int64", "uint64", "float", "bool", "string", "binary", "date", "timestamp", "time", "duration", "decimal"],
)
def test_vectorised_hash_matches_reference(arr):
    assert hashes(arr) == ref_hashes(arr.to_pylist())


def test_golden_values_pin_the_algorithm():
    # If this fails, the split assignment changed: bump SPLIT_HASH_VERSION and update these.
    table = pa.table({"id": [1, 2, 3], "s": ["a", "bb", None]})
    assert [int(h) for h in split_hash(table, ["id"], 42)] == [ref_row([1], 42), ref_row([2], 42), ref_row([3], 42)]
    assert [hex(int(h)) for h in split_hash(table, ["id", "s"], 42)] == GOLDEN_ID_S_42
    assert [round(u, 12) for u in split_unit(table, ["id"], 0)] == GOLDEN_UNITS_ID_0


GOLDEN_ID_S_42 = ["0x83e08a2e5c6c5593", "0xa6aba531d16bb38e", "0x822c8ea6410c3acd"]
GOLDEN_UNITS_ID_0 = [0.120858998413, 0.762834545867, 0.275615593719]


def test_multi_column_matches_reference():
    table = pa.table({"a": pa.array([1, 2, None], pa.int16()), "b": ["x", None, "z"]})
    assert [int(h) for h in split_hash(table, ["a", "b"], 3)] == [ref_row(r, 3) for r in ([1, "x"], [2, None], [None, "z"])]
    # column order matters; column names do not
    assert list(split_hash(table, ["b", "a"], 3)) != list(split_hash(table, ["a", "b"], 3))
    renamed = table.rename_columns(["p", "q"])
    assert list(split_hash(renamed, ["p", "q"], 3)) == list(split_hash(table, ["a", "b"], 3))


@pytest.mark.parametrize("typ", [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()])
def test_integers_hash_the_same_whatever_their_type(typ):
    assert hashes(pa.array([0, 1, 7, 100, None], typ)) == hashes(pa.array([0, 1, 7, 100, None], pa.int64()))


def test_integral_floats_hash_as_integers_and_zero_and_nan_are_canonical():
    assert hashes(pa.array([1.0, -3.0, 0.0, -0.0])) == hashes(pa.array([1, -3, 0, 0]))
    assert hashes(pa.array([1.0, 2.5], pa.float32())) == hashes(pa.array([1.0, 2.5], pa.float64()))
    assert hashes(pa.array([2.5], pa.float16())) == hashes(pa.array([2.5]))
    other_nan = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000123))[0]
    assert hashes(pa.array([float("nan"), other_nan])) == hashes(pa.array([float("nan"), float("nan")]))
    assert hashes(pa.array([2.0**63])) == hashes(pa.array([2**63], pa.uint64()))


def test_strings_hash_the_same_whatever_their_layout():
    values = ["a", "", None, "long string " * 10]
    expected = hashes(pa.array(values, pa.string()))
    assert hashes(pa.array(values, pa.large_string())) == expected
    assert hashes(pa.array(values, pa.string_view())) == expected
    assert hashes(pa.array(values).dictionary_encode()) == expected
    assert hashes(pa.chunked_array([pa.array(values[:1]), pa.array(values[1:])])) == expected
    assert hashes(pa.array(["zz"] + values).slice(1)) == expected  # an array with an offset
    assert hashes(pa.array([b"a"], pa.binary())) != hashes(pa.array(["a"]))  # types are tagged


def test_timestamps_hash_the_instant_whatever_the_unit_or_zone():
    instant = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    seconds = int(instant.timestamp())
    expected = hashes(pa.array([seconds], pa.timestamp("s")))
    assert hashes(pa.array([seconds * 1000], pa.timestamp("ms"))) == expected
    assert hashes(pa.array([seconds * 10**9], pa.timestamp("ns", tz="Asia/Tokyo"))) == expected
    assert hashes(pa.array([instant], pa.timestamp("us", tz="UTC"))) == expected
    assert hashes(pa.array([-1], pa.timestamp("ns"))) == [ref_tagged_ts(-1, 999_999_999)]  # floor seconds
    assert hashes(pa.array([19000], pa.date32())) == hashes(pa.array([19000 * 86_400_000], pa.date64()))
    assert hashes(pa.array([3600], pa.time32("s"))) == hashes(pa.array([3600 * 10**9], pa.time64("ns")))


def ref_tagged_ts(secs: int, nanos: int, seed: int = 7) -> int:
    return ref_mix(ref_mix(seed ^ 0x5851F42D4C957F2D) ^ ref_tagged(10, secs & M64, nanos))


def test_decimals_hash_their_value_whatever_the_scale():
    a = pa.array([decimal.Decimal("1.5"), decimal.Decimal("-2")], pa.decimal128(5, 1))
    b = pa.array([decimal.Decimal("1.500"), decimal.Decimal("-2.000")], pa.decimal128(12, 3))
    assert hashes(a) == hashes(b)


def test_nulls_hash_alike_in_every_type():
    null = ref_hashes([None])
    for typ in (pa.int32(), pa.string(), pa.float64(), pa.null(), pa.timestamp("ms"), pa.bool_()):
        assert hashes(pa.array([None], typ)) == null
    assert hashes(pa.array(["a", None]).dictionary_encode()) == ref_hashes(["a", None])


def test_distinct_integers_never_collide():
    h = split_hash(pa.table({"k": np.arange(200_000)}), ["k"], 1)
    assert len(np.unique(h)) == 200_000


def test_units_are_uniform():
    u = split_unit(pa.table({"k": [f"user-{i}" for i in range(100_000)]}), ["k"], 9)
    counts, _ = np.histogram(u, bins=10, range=(0, 1))
    assert ((u >= 0) & (u < 1)).all()
    assert (abs(counts - 10_000) < 5 * math.sqrt(100_000 * 0.1 * 0.9)).all()


def test_unhashable_key_type_is_a_step_error():
    table = pa.table({"k": pa.array([[1], [2]])})
    with pytest.raises(StepError, match="cannot be a split key"):
        assign_splits(table, ratios=RATIOS, seed=0, key=["k"])


def test_unhashable_stratify_type_is_a_step_error():
    table = pa.table({"id": [1, 2], "y": pa.array([[1], [2]])})
    with pytest.raises(StepError, match="cannot be a stratify label"):
        assign_splits(table, ratios=RATIOS, seed=0, key=["id"], stratify="y")


def test_unknown_columns_are_step_errors_that_list_columns():
    table = pa.table({"id": [1], "y": [0]})
    with pytest.raises(StepError, match="unknown column 'nope'.*id, y"):
        assign_splits(table, ratios=RATIOS, seed=0, key=["nope"])
    with pytest.raises(StepError, match="unknown column 'lab'"):
        assign_splits(table, ratios=RATIOS, seed=0, key=["id"], stratify="lab")


# ------------------------------------------------------------------------------------------
# assignment and stability
# ------------------------------------------------------------------------------------------


def test_split_is_the_cut_of_the_unit_at_cumulative_ratios():
    table = pa.table({"id": np.arange(5000)})
    result = compute_splits(table, ratios=RATIOS, seed=5, key=["id"])
    u = np.array([ref_unit([i], 5) for i in range(5000)])
    expected = np.where(u < 0.8, 0, np.where(u < 0.9, 1, 2))
    assert (result.index == expected).all()
    assert result.stable and result.method == "hash"
    arr = result.splits
    assert arr.dictionary.to_pylist() == ["train", "val", "test"]
    assert arr.to_pylist()[:3] == [["train", "val", "test"][i] for i in expected[:3]]


def test_declared_order_of_ratios_matters():
    table = pa.table({"id": np.arange(2000)})
    a = assign_splits(table, ratios={"train": 0.5, "test": 0.5}, seed=1, key=["id"]).to_pylist()
    b = assign_splits(table, ratios={"test": 0.5, "train": 0.5}, seed=1, key=["id"]).to_pylist()
    assert a != b
    assert [{"train": "test", "test": "train"}[x] for x in a] == b


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    keys=st.lists(st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=12)), min_size=1, max_size=60, unique=True),
    extra=st.lists(st.integers(-(2**40), 2**40).map(lambda i: f"new-{i}"), max_size=30),
    seed=st.integers(0, 2**64 - 1),
    data=st.data(),
)
def test_adding_removing_or_reordering_rows_never_moves_a_row(keys, extra, seed, data):
    keys = [str(k) for k in keys]
    base = pa.table({"k": keys, "pos": list(range(len(keys)))})
    before = dict(zip(keys, assign_splits(base, ratios=RATIOS, seed=seed, key=["k"]).to_pylist()))
    kept = data.draw(st.lists(st.sampled_from(keys), unique=True))
    new_keys = data.draw(st.permutations(kept + [e for e in extra if e not in keys]))
    after_table = pa.table({"k": pa.array(new_keys, pa.string())})
    after = dict(zip(new_keys, assign_splits(after_table, ratios=RATIOS, seed=seed, key=["k"]).to_pylist()))
    assert all(after[k] == before[k] for k in kept)


def test_proportions_are_close_to_the_ratios():
    n = 100_000
    result = compute_splits(pa.table({"id": np.arange(n)}), ratios=RATIOS, seed=3, key=["id"])
    for name, r in RATIOS.items():
        assert abs(result.counts[name] / n - r) < STRATIFY_Z * math.sqrt(r * (1 - r) / n)


def test_rows_sharing_a_key_share_a_split():
    table = pa.table({"k": [1, 2, 1, 3, 2, 1] * 50})
    splits = assign_splits(table, ratios={"a": 0.34, "b": 0.33, "c": 0.33}, seed=0, key=["k"]).to_pylist()
    by_key: dict[int, set[str]] = {}
    for k, s in zip(table["k"].to_pylist(), splits):
        by_key.setdefault(k, set()).add(s)
    assert all(len(v) == 1 for v in by_key.values())


def test_group_keeps_groups_together_and_takes_precedence_over_key():
    rng = np.random.default_rng(0)
    table = pa.table({"id": np.arange(3000), "patient": rng.integers(0, 200, 3000)})
    result = compute_splits(table, ratios=RATIOS, seed=11, key=["id"], group=["patient"])
    assert result.method == "group-hash" and result.stable
    patients = table["patient"].to_numpy()
    for p in np.unique(patients):
        assert len(set(result.index[patients == p])) == 1
    by_group_only = compute_splits(table, ratios=RATIOS, seed=11, key=None, group="patient")
    assert (by_group_only.index == result.index).all()
    # a group's split is the hash of the group value: rows of other groups do not matter
    alone = compute_splits(table.filter(pa.array(patients == patients[0])), ratios=RATIOS, seed=11, key=None, group="patient")
    assert set(alone.index) == {result.index[0]}


def test_split_table_preserves_row_order_and_partitions_rows():
    table = pa.table({"id": np.arange(1000), "v": np.arange(1000) * 2})
    parts = split_table(table, ratios=RATIOS, seed=4, key=["id"])
    assert list(parts) == ["train", "val", "test"]
    assert sum(p.num_rows for p in parts.values()) == 1000
    for p in parts.values():
        ids = p["id"].to_pylist()
        assert ids == sorted(ids)
        assert p.schema == table.schema
    assert sorted(i for p in parts.values() for i in p["id"].to_pylist()) == list(range(1000))


def test_empty_table_and_empty_splits():
    empty = pa.table({"id": pa.array([], pa.int64())})
    parts = split_table(empty, ratios=RATIOS, seed=0, key=["id"])
    assert {k: v.num_rows for k, v in parts.items()} == {"train": 0, "val": 0, "test": 0}
    one = split_table(pa.table({"id": [1]}), ratios=RATIOS, seed=0, key=["id"])
    assert sorted(v.num_rows for v in one.values()) == [0, 0, 1]


# ------------------------------------------------------------------------------------------
# without a key
# ------------------------------------------------------------------------------------------


def test_without_key_the_split_is_seeded_exact_and_reported_unstable():
    table = pa.table({"v": np.arange(1001)})
    a = compute_splits(table, ratios=RATIOS, seed=8, key=None)
    b = compute_splits(table, ratios=RATIOS, seed=8, key=None)
    c = compute_splits(table, ratios=RATIOS, seed=9, key=None)
    assert not a.stable and a.method == "random"
    assert not is_stable(None, None) and is_stable("id", None) and is_stable(None, ["g"])
    assert (a.index == b.index).all() and not (a.index == c.index).all()
    assert a.counts == {"train": 801, "val": 100, "test": 100}  # largest remainder: 800.8, 100.1, 100.1
    perm = np.random.default_rng(8).permutation(1001)
    assert (a.index[perm[:801]] == 0).all() and (a.index[perm[801:901]] == 1).all()


def test_without_key_stratify_is_exact_per_label():
    rng = np.random.default_rng(1)
    labels = rng.choice(["a", "b", "c", None], size=997, p=[0.6, 0.3, 0.09, 0.01])
    table = pa.table({"y": pa.array(labels.tolist())})
    result = compute_splits(table, ratios=RATIOS, seed=2, key=None, stratify="y")
    assert result.method == "random-stratified" and not result.stable
    for s in result.strata:
        for name, r in RATIOS.items():
            assert abs(s.counts[name] - r * s.rows) < 1
        assert s.ok
    assert {s.label for s in result.strata} == {"a", "b", "c", None}


# ------------------------------------------------------------------------------------------
# stratify with a key
# ------------------------------------------------------------------------------------------


def test_stratify_never_changes_assignments_and_reports_per_label():
    rng = np.random.default_rng(5)
    n = 20_000
    table = pa.table({"id": np.arange(n), "y": rng.choice(["cat", "dog", "eel"], n, p=[0.7, 0.25, 0.05])})
    plain = compute_splits(table, ratios=RATIOS, seed=1, key=["id"])
    strat = compute_splits(table, ratios=RATIOS, seed=1, key=["id"], stratify="y")
    assert (plain.index == strat.index).all()
    assert [s.label for s in strat.strata] == list(dict.fromkeys(table["y"].to_pylist()))
    for s in strat.strata:
        assert s.units == s.rows and s.effective_units == s.rows  # unique keys
        assert sum(s.counts.values()) == s.rows
        for name, r in RATIOS.items():
            sigma = math.sqrt(r * (1 - r) / s.rows)
            assert s.tolerance[name] == pytest.approx(STRATIFY_Z * sigma + 1 / s.rows)
            assert abs(s.shares[name] - r) <= s.tolerance[name]
        assert s.ok
    assert strat.warnings == ()
    # relabelling rows moves nothing either
    relabelled = table.set_column(1, "y", pa.array(rng.choice(["x", "z"], n)))
    assert (compute_splits(relabelled, ratios=RATIOS, seed=1, key=["id"], stratify="y").index == plain.index).all()


def test_stratify_uses_effective_units_for_groups_and_warns_when_far_off():
    # one label made of 3 huge groups: its shares can only be 0, 1/3, 2/3 or 1 of the rows
    table = pa.table({
        "g": [1] * 300 + [2] * 300 + [3] * 300 + list(range(10, 3010)),
        "y": ["big"] * 900 + ["small"] * 3000,
    })
    result = compute_splits(table, ratios=RATIOS, seed=0, key=None, group=["g"], stratify="y")
    big = next(s for s in result.strata if s.label == "big")
    assert big.units == 3 and big.effective_units == pytest.approx(3.0)
    assert big.tolerance["train"] == pytest.approx(STRATIFY_Z * math.sqrt(0.16 / 3) + 1 / 900)
    # unequal unit sizes: one group of 1000 rows and 1000 groups of one row
    skewed = pa.table({"g": [1] * 1000 + list(range(2, 1002)), "y": ["s"] * 2000})
    res = compute_splits(skewed, ratios={"a": 0.5, "b": 0.5}, seed=0, key=None, group="g", stratify="y")
    s = res.strata[0]
    assert s.units == 1001 and s.effective_units == pytest.approx(2000**2 / (1000**2 + 1000))
    assert s.tolerance["a"] == pytest.approx(STRATIFY_Z * math.sqrt(0.25 / s.effective_units) + 1 / 2000)


def test_no_false_warnings_with_many_unique_keys():
    table = pa.table({"id": np.arange(10_000), "y": ["a"] * 10_000})
    for seed in range(50):
        res = compute_splits(table, ratios={"train": 0.5, "test": 0.5}, seed=seed, key="id", stratify="y")
        assert res.strata[0].ok and res.warnings == ()


def test_stratify_warns_and_names_the_label_when_a_label_is_far_off():
    # keys picked so that every "rare" key hashes into train: possible only with unusual data
    rare = [i for i in range(10_000) if ref_unit([i], 0) < 0.8][:100]
    common = list(range(20_000, 30_000))
    table = pa.table({"id": rare + common, "y": ["rare"] * 100 + ["common"] * 10_000})
    res = compute_splits(table, ratios=RATIOS, seed=0, key="id", stratify="y")
    rare_report = next(s for s in res.strata if s.label == "rare")
    assert rare_report.counts == {"train": 100, "val": 0, "test": 0} and not rare_report.ok
    assert rare_report.max_deviation == pytest.approx(0.2)
    assert len(res.warnings) == 1 and "label 'rare' (100 rows" in res.warnings[0]
    assert next(s for s in res.strata if s.label == "common").ok


def test_stratify_column_with_nulls_and_dictionary_type():
    table = pa.table({"id": np.arange(100), "y": pa.array(["a", None] * 50).dictionary_encode()})
    res = compute_splits(table, ratios=RATIOS, seed=0, key="id", stratify="y")
    assert sorted(s.rows for s in res.strata) == [50, 50]
    assert {s.label for s in res.strata} == {"a", None}


# ------------------------------------------------------------------------------------------
# configuration
# ------------------------------------------------------------------------------------------


def test_valid_configs_pass():
    check_split_config(RATIOS, 42, "id", None, None)
    check_split_config({"train": 0.7, "val": 0.2, "test": 0.1}, 0, ["a", "b"], ["g"], "y")
    check_split_config({"all": 1}, 2**64 - 1, None, None, None)
    check_split_config({"fold-1": 1 / 3, "fold-2": 1 / 3, "fold-3": 1 / 3}, 1, None, None, None)


@pytest.mark.parametrize(
    "ratios, seed, key, group, stratify, match",
    [
        ({}, 0, None, None, None, "non-empty mapping"),
        ([0.5, 0.5], 0, None, None, None, "non-empty mapping"),
        ({"train": 0.8, "test": 0.1}, 0, None, None, None, "must sum to 1, got 0.9"),
        ({"train": 0.9, "test": 0.1, "val": 0.0}, 0, None, None, None, "ratios.val: must be greater than 0"),
        ({"train": 1.1, "test": -0.1}, 0, None, None, None, "ratios.test: must be greater than 0"),
        ({"train": "0.5", "test": 0.5}, 0, None, None, None, "ratios.train: must be a number"),
        ({"train": True}, 0, None, None, None, "must be a number"),
        ({"train": float("nan")}, 0, None, None, None, "must be a number"),
        ({"tr/ain": 1.0}, 0, None, None, None, "invalid split name"),
        ({"_hidden": 1.0}, 0, None, None, None, "invalid split name"),
        ({".dot": 1.0}, 0, None, None, None, "invalid split name"),
        ({"a=b": 1.0}, 0, None, None, None, "invalid split name"),
        ({"": 1.0}, 0, None, None, None, "invalid split name"),
        ({"trailing.": 1.0}, 0, None, None, None, "invalid split name"),
        ({"x" * 65: 1.0}, 0, None, None, None, "invalid split name"),
        ({"con": 1.0}, 0, None, None, None, "reserved file name"),
        ({"Train": 0.5, "train": 0.5}, 0, None, None, None, "differ only in case"),
        ({"a": 1.0}, -1, None, None, None, "split.seed"),
        ({"a": 1.0}, 2**64, None, None, None, "split.seed"),
        ({"a": 1.0}, 1.5, None, None, None, "split.seed: must be an integer"),
        ({"a": 1.0}, True, None, None, None, "split.seed: must be an integer"),
        ({"a": 1.0}, None, None, None, None, "split.seed: must be an integer"),
        ({"a": 1.0}, 0, [], None, None, "split.key"),
        ({"a": 1.0}, 0, ["a", "a"], None, None, "split.key: lists 'a' more than once"),
        ({"a": 1.0}, 0, [1], None, None, "split.key: column names must be non-empty strings"),
        ({"a": 1.0}, 0, None, 3, None, "split.group"),
        ({"a": 1.0}, 0, None, None, ["y"], "split.stratify"),
        ({"a": 1.0}, 0, None, None, "", "split.stratify"),
    ],
)
def test_invalid_configs_raise_config_errors(ratios, seed, key, group, stratify, match):
    with pytest.raises(ConfigError, match=match):
        check_split_config(ratios, seed, key, group, stratify)


def test_ratio_sum_tolerance_and_suggestion():
    check_split_config({"a": 0.1, "b": 0.2, "c": 0.7}, 0, None, None, None)  # 0.1+0.2 != 0.3 exactly
    check_split_config({"a": 0.5 + 1e-10, "b": 0.5}, 0, None, None, None)
    with pytest.raises(ConfigError) as info:
        check_split_config({"train": 8, "val": 1, "test": 1}, 0, None, None, None)
    assert "train: 0.8, val: 0.1, test: 0.1" in info.value.hint


def test_config_error_carries_location():
    from mldata.errors import Location

    where = Location("mldata.yaml", 12, 7)
    with pytest.raises(ConfigError) as info:
        check_split_config({"a": 2.0}, 0, None, None, None, location=where)
    assert str(info.value).startswith("mldata.yaml:12:7: split.ratios")


def test_compute_splits_validates_its_arguments():
    with pytest.raises(ConfigError):
        compute_splits(pa.table({"id": [1]}), ratios={"a": 0.5}, seed=0, key="id")
