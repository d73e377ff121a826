"""Column profiles against the definitions of docs/metrics.md (§3.0-§3.2).

Checked against the RNG-free test vectors, an independent naive reference implementation written
from the text (Python loops over sorted lists, below), and scipy/numpy/pandas where the definition
says they agree.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from mldata.stats import collect_columns, compact_profile, profile_batches, profile_columns
from mldata.stats.exactsum import fsum as _fsum
from mldata.stats.profile import category_key, format_ns, numeric_data, parse_iso_ns

INF = math.inf
NAN = math.nan


def rel_close(a: float | None, b: float | None) -> bool:
    """The profile conformance tolerance: relative 1e-9, absolute 1e-12 near zero."""
    if a is None or b is None:
        return a is b
    return abs(a - b) <= max(1e-9 * abs(b), 1e-12)


def profile_of(values, arrow_type=pa.float64(), chunk: int | None = None, **kwargs) -> dict:
    table = pa.table({"x": pa.array(values, type=arrow_type)})
    batches = table.to_batches(max_chunksize=chunk) if chunk else table.to_batches()
    return profile_batches(table.schema, batches, **kwargs)["columns"]["x"]


# ---------------------------------------------------------------------------------------------
# Reference implementation, from the text of METRICS.md §3.1-§3.2 (plain loops)
# ---------------------------------------------------------------------------------------------


def ref_numeric(values: list) -> dict:
    missing = [v for v in values if v is None or (isinstance(v, float) and math.isnan(v))]
    pos = [v for v in values if v is not None and v == INF]
    neg = [v for v in values if v is not None and v == -INF]
    x = sorted(float(v) for v in values if v is not None and math.isfinite(v))
    n = len(x)
    out = {"n": len(values), "n_missing": len(missing), "n_pos_inf": len(pos), "n_neg_inf": len(neg),
           "n_finite": n, "n_zeros": sum(1 for v in x if v == 0), "n_negative": sum(1 for v in x if v < 0)}
    distinct: list[float] = []
    for v in x:
        if not distinct or distinct[-1] != v:
            distinct.append(v)
    out["n_distinct"] = len(distinct)
    if n == 0:
        return out | dict.fromkeys(["mean", "m2", "variance", "std", "min", "max", "skewness", "kurtosis"])
    lo, hi = x[0], x[-1]
    mean = lo if lo == hi else min(max(math.fsum(x) / n, lo), hi)
    m2 = math.fsum((v - mean) ** 2 for v in x)
    m3 = math.fsum((v - mean) ** 3 for v in x)
    m4 = math.fsum((v - mean) ** 4 for v in x)
    out.update(mean=mean, m2=m2, min=lo, max=hi, variance=None, std=None, skewness=None, kurtosis=None)
    if n >= 2:
        out["variance"] = m2 / (n - 1)
        out["std"] = math.sqrt(m2 / (n - 1))
    if n >= 3 and m2 != 0 and not 0 < (m2 / n) ** 2 < math.inf:
        # g1 and g2 are scale-free: for deviations so small (or large) that (m2/n)**2 leaves
        # float64, use the moments of the deviations times a power of two (exact)
        scale = 2.0 ** -math.frexp(max(abs(lo - mean), abs(hi - mean)))[1]
        m2, m3, m4 = (math.fsum(((v - mean) * scale) ** k for v in x) for k in (2, 3, 4))
    if n >= 3 and m2 != 0:
        g1 = (m3 / n) / (m2 / n) ** 1.5
        out["skewness"] = math.sqrt(n * (n - 1)) / (n - 2) * g1
    if n >= 4 and m2 != 0:
        g2 = (m4 / n) / (m2 / n) ** 2 - 3
        out["kurtosis"] = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))
    quantiles = {}
    for name, p in (("p01", 0.01), ("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95), ("p99", 0.99)):
        h = (n - 1) * p
        j = math.floor(h)
        # Q = x_(j+1) + (h - j)(x_(j+2) - x_(j+1)), 1-based
        quantiles[name] = x[j] if j + 1 >= n else x[j] + (h - j) * (x[j + 1] - x[j])
    out["quantiles"] = quantiles
    if lo == hi:
        out["histogram"] = {"edges": [lo, hi], "counts": [n]}
    else:
        step = (hi - lo) / 20
        edges = [j * step + lo for j in range(20)] + [hi]
        counts = [0] * 20
        for v in x:
            for j in range(20):
                if edges[j] <= v < edges[j + 1] or (j == 19 and v == hi):
                    counts[j] += 1
                    break
        out["histogram"] = {"edges": edges, "counts": counts}
    points = []
    for i in range(1, 100):
        j = -(-n * i // 100)
        v = x[j - 1]
        if not points or points[-1][0] != v:
            points.append([v, sum(1 for w in x if w <= v)])
    out["drift_summary"] = {"resolution": 100, "n": n, "points": points}
    return out


def assert_matches_reference(actual: dict, expected: dict) -> None:
    for key, value in expected.items():
        if key in ("quantiles",):
            for name, q in value.items():
                assert rel_close(actual[key][name], q), (key, name)
        elif key == "histogram":
            assert actual[key]["counts"] == value["counts"]
            assert actual[key]["edges"] == value["edges"]  # bin edges are exact
        elif key == "drift_summary":
            assert actual[key] == value
        elif isinstance(value, float):
            assert rel_close(actual[key], value), key
        else:
            assert actual[key] == value, key


numeric_values = st.one_of(
    st.lists(st.integers(-3, 3).map(float), min_size=0, max_size=200),  # ties
    st.lists(st.one_of(st.just(0.0), st.floats(-1e6, 1e6, allow_nan=False, width=32)), max_size=200),
    st.lists(st.one_of(st.floats(-1e9, 1e9), st.none(), st.just(INF), st.just(-INF), st.just(NAN)), max_size=60),
    st.integers(1, 30).flatmap(lambda n: st.just([0.1] * n)),
)


# ---------------------------------------------------------------------------------------------
# Test vectors and edge cases of METRICS.md
# ---------------------------------------------------------------------------------------------


def test_given_a_constant_column_we_should_give_exact_mean_zero_std_and_one_bin():
    p = profile_of([3.25] * 1000)
    assert p["mean"] == 3.25 and p["std"] == 0.0 and p["m2"] == 0.0
    assert p["skewness"] is None and p["kurtosis"] is None
    assert p["histogram"] == {"edges": [3.25, 3.25], "counts": [1000]}
    assert p["n_distinct"] == 1
    # a value whose fsum(x)/n is not exactly x: the constant rule still gives std 0
    q = profile_of([0.1] * 3)
    assert q["mean"] == 0.1 and q["std"] == 0.0


def test_given_an_all_null_column_every_statistic_should_be_null():
    p = profile_of([None] * 5)
    assert (p["n"], p["n_missing"], p["n_finite"], p["missing_fraction"]) == (5, 5, 0, 1.0)
    for key in ("mean", "m2", "variance", "std", "min", "max", "skewness", "kurtosis", "histogram"):
        assert p[key] is None, key
    assert all(value is None for value in p["quantiles"].values())
    assert p["drift_summary"] == {"resolution": 100, "n": 0, "points": []}
    text = profile_of([None] * 3, pa.string())
    assert text["top_k"] == [] and text["length"] is None and text["n_distinct"] == 0


def test_given_a_single_value_std_should_be_null_and_all_quantiles_the_value():
    p = profile_of([7.0])
    assert p["std"] is None and p["variance"] is None and p["mean"] == 7.0
    assert set(p["quantiles"].values()) == {7.0}


def test_given_mixed_missing_and_infinite_values_we_should_count_them_apart():
    p = profile_of([1, 2, INF, -INF, None, NAN, 0])
    assert (p["n_missing"], p["n_pos_inf"], p["n_neg_inf"], p["n_finite"]) == (2, 1, 1, 3)
    assert p["mean"] == 1.0 and p["std"] == 1.0
    assert p["missing_fraction"] == 2 / 7 and p["n_zeros"] == 1


def test_given_one_two_three_we_should_match_pandas_describe():
    p = profile_of([1, 2, 3])
    assert p["std"] == 1.0 and p["quantiles"]["p25"] == 1.5 and p["quantiles"]["p75"] == 2.5
    described = pd.Series([1.0, 2.0, 3.0]).describe()
    assert (described["std"], described["25%"], described["75%"]) == (1.0, 1.5, 2.5)


# ---------------------------------------------------------------------------------------------
# Numeric: reference and scipy cross-checks
# ---------------------------------------------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(values=numeric_values, chunk=st.integers(1, 64))
def test_given_generated_numbers_the_profile_should_match_the_reference(values, chunk):
    assert_matches_reference(profile_of(values, chunk=chunk), ref_numeric(values))


def test_given_seeded_random_columns_the_profile_should_match_the_reference():
    rng = random.Random(77)
    for _ in range(30):
        n = rng.choice([1, 2, 3, 4, 5, 99, 100, 101, 1000])
        kind = rng.choice(["normal", "zero_inflated", "ties", "wide"])
        if kind == "normal":
            values = [rng.gauss(10, 3) for _ in range(n)]
        elif kind == "zero_inflated":
            values = [0.0 if rng.random() < 0.8 else rng.expovariate(0.1) for _ in range(n)]
        elif kind == "ties":
            values = [float(rng.randint(0, 2)) for _ in range(n)]
        else:
            values = [rng.uniform(-1e12, 1e12) for _ in range(n)]
        assert_matches_reference(profile_of(values, chunk=rng.randint(1, 300)), ref_numeric(values))


def test_given_random_samples_moments_and_quantiles_should_match_scipy_and_numpy():
    rng = np.random.default_rng(4)
    for sample in (rng.normal(5, 2, 1000), rng.exponential(3, 257), rng.integers(0, 5, 50).astype(float)):
        p = profile_of(sample)
        assert rel_close(p["mean"], float(np.mean(sample)))
        assert rel_close(p["std"], float(np.std(sample, ddof=1)))
        assert rel_close(p["skewness"], float(scipy.stats.skew(sample, bias=False)))
        assert rel_close(p["kurtosis"], float(scipy.stats.kurtosis(sample, bias=False)))
        assert rel_close(p["kurtosis"], float(pd.Series(sample).kurt()))
        assert rel_close(p["skewness"], float(pd.Series(sample).skew()))
        for name, q in (("p01", 0.01), ("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95), ("p99", 0.99)):
            assert rel_close(p["quantiles"][name], float(np.quantile(sample, q, method="linear")))
        counts, _ = np.histogram(sample, bins=np.asarray(p["histogram"]["edges"]))
        assert p["histogram"]["counts"] == counts.tolist() and sum(counts) == sample.size


def test_given_negative_and_positive_zero_we_should_count_one_distinct_value_and_write_plain_zero():
    p = profile_of([-0.0, 0.0, -0.0, 1.0])
    assert p["n_distinct"] == 2 and p["n_zeros"] == 3 and p["n_negative"] == 0
    assert p["min"] == 0.0 and math.copysign(1, p["min"]) == 1.0
    assert p["drift_summary"]["points"][0] == [0.0, 3]
    assert json.dumps(p["drift_summary"]["points"][0]) == "[0.0, 3]"


def test_given_integer_columns_we_should_profile_them_as_float64():
    p = profile_of([3, None, 1, 2], pa.int16())
    assert p["type"] == "numeric" and p["n_missing"] == 1 and p["mean"] == 2.0 and p["max"] == 3.0
    assert isinstance(p["max"], float)
    decimal = profile_of([Decimal("1.5"), Decimal("2.5")], pa.decimal128(5, 2))
    assert decimal["mean"] == 2.0


def test_given_huge_values_we_should_not_overflow_the_mean():
    p = profile_of([1e308, 1.5e308])
    assert p["mean"] == 1.25e308 and p["std"] is None  # m2 overflows: written as null
    assert p["histogram"]["counts"] == [1] + [0] * 18 + [1]


def _fsum_or_overflow(values) -> float | str:
    """The correctly rounded sum (exact rational arithmetic). math.fsum is the same except that
    it can raise "intermediate overflow" when the rounded sum is still finite (found by
    hypothesis: 1.0 - 6.39e305 - 1.79e308 rounds to -DBL_MAX)."""
    from fractions import Fraction

    try:
        return float(sum((Fraction(v) for v in values), Fraction(0)))
    except OverflowError:
        return "overflow"


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=40)
       | st.lists(st.floats(-1e-300, 1e-300, allow_nan=False), max_size=40)
       | st.lists(st.integers(-2**62, 2**62).map(float), max_size=40))
def test_given_any_finite_doubles_the_vectorised_exact_sum_should_equal_math_fsum(values):
    expected = _fsum_or_overflow(values)
    try:
        actual = _fsum(np.asarray(values, dtype=np.float64))
    except OverflowError:
        actual = "overflow"
    assert actual == expected


def test_given_cancellation_and_long_columns_the_exact_sum_should_equal_math_fsum():
    assert _fsum(np.array([1e100, 1.0, -1e100])) == 1.0
    assert _fsum(np.array([5e-324] * 3)) == 1.5e-323
    rng = np.random.default_rng(12)
    long = np.concatenate([rng.normal(size=(1 << 20) + 7) * 1e6, [1e15, -1e15]])  # more than one chunk
    assert _fsum(long) == math.fsum(long.tolist())


# ---------------------------------------------------------------------------------------------
# Drift summary (§3.2)
# ---------------------------------------------------------------------------------------------


def test_given_a_column_the_drift_summary_should_hold_unique_order_statistics_with_cumulative_counts():
    p = profile_of([float(v) for v in range(1, 901)])
    summary = p["drift_summary"]
    assert summary["resolution"] == 100 and summary["n"] == 900 and len(summary["points"]) == 99
    assert summary["points"][0] == [9.0, 9] and summary["points"][-1] == [891.0, 891]
    tied = profile_of([0.0] * 70 + [1.0] * 30)["drift_summary"]
    assert tied["points"] == [[0.0, 70], [1.0, 100]]


def test_given_a_large_column_the_summary_should_stay_small():
    rng = np.random.default_rng(0)
    p = profile_of(rng.normal(size=100_000))
    assert len(p["drift_summary"]["points"]) == 99
    assert len(json.dumps(p["drift_summary"])) < 4000


# ---------------------------------------------------------------------------------------------
# Categorical, boolean, datetime
# ---------------------------------------------------------------------------------------------


def test_category_keys_should_follow_the_encoding_rules():
    assert category_key("é") == "é" and category_key(True) == "true" and category_key(False) == "false"
    assert category_key(42) == "42" and category_key(np.int64(-7)) == "-7"
    assert category_key(1.0) == "1" and category_key(-0.0) == "0" and category_key(2.5) == "2.5"
    assert category_key(0.1) == "0.1" and category_key(1e20) == "100000000000000000000"
    assert category_key(1e-7) == "1e-07" and category_key(INF) == "inf"


def test_given_strings_we_should_count_top_k_by_count_then_code_point_order():
    values = ["b"] * 3 + ["a"] * 3 + ["B"] * 3 + ["é"] * 5 + ["", None, "z"]
    p = profile_of(values, pa.string(), chunk=4)
    assert p["top_k"] == [["é", 5], ["B", 3], ["a", 3], ["b", 3], ["", 1], ["z", 1]]
    assert (p["n"], p["n_missing"], p["n_distinct"], p["other_count"], p["n_empty_string"]) == (17, 1, 6, 0, 1)
    truncated = profile_of(values, pa.string(), top_k=2)
    assert truncated["top_k"] == [["é", 5], ["B", 3]] and truncated["other_count"] == 8


@settings(max_examples=150, deadline=None)
@given(counts=st.lists(st.integers(1, 4), min_size=0, max_size=300), k=st.integers(1, 40),
       wide=st.booleans())
def test_arrow_counts_top_k_should_rank_like_a_full_sort(counts, k, wide):
    # few distinct counts: many ties at the k-th count; `wide` makes the tied candidates exceed
    # the Python ranking's limit, so Arrow's select_k ranks them
    from mldata.stats.profile import ArrowCounts

    n = len(counts) * (20 if wide else 1)
    keys = [f"k{(i * 7919) % (n or 1)}é{i}" for i in range(n)]
    values = np.array((counts * (20 if wide else 1))[:n], dtype=np.int64)
    expected = sorted(zip(keys, values.tolist()), key=lambda kc: (-kc[1], kc[0]))[:k]
    assert ArrowCounts(pa.array(keys, pa.string()), values).top(k) == [[key, c] for key, c in expected]


def test_given_strings_lengths_should_be_in_code_points():
    p = profile_of(["", "a", "é", "😀😀", "abcd", None], pa.large_string())
    assert p["length"] == {"min": 0, "mean": 1.6, "p50": 1.0, "max": 4}
    assert pd.Series(["", "a", "é", "😀😀", "abcd"]).str.len().median() == 1.0


def test_given_dictionary_encoded_batches_with_different_dictionaries_we_should_merge_by_value():
    first = pa.array(["x", "y", None, "x"]).dictionary_encode()
    second = pa.array(["y", "z", "y"]).dictionary_encode()
    schema = pa.schema([("c", first.type)])
    batches = [pa.record_batch([first], schema=schema), pa.record_batch([second], schema=schema)]
    p = profile_batches(schema, batches)["columns"]["c"]
    assert p["type"] == "categorical" and p["top_k"] == [["y", 3], ["x", 2], ["z", 1]] and p["n_missing"] == 1


def test_given_integer_codes_declared_categorical_keys_should_be_decimal_text():
    p = profile_of([2001, 75001, 2001, None], pa.int64(), types={"x": "categorical"})
    assert p["type"] == "categorical" and p["top_k"] == [["2001", 2], ["75001", 1]]
    floats = profile_of([1.0, 1.5, NAN, -0.0, 0.0], pa.float64(), types={"x": "categorical"})
    assert floats["top_k"] == [["0", 2], ["1", 1], ["1.5", 1]] and floats["n_missing"] == 1
    with pytest.raises(ValueError, match="cannot be profiled"):
        profile_of(["a"], pa.string(), types={"x": "numeric"})


def test_given_booleans_we_should_count_true_and_false():
    p = profile_of([True, False, True, None], pa.bool_())
    assert p["type"] == "boolean" and (p["n_true"], p["n_false"], p["n_missing"]) == (2, 1, 1)
    assert p["true_fraction"] == 2 / 3 and p["top_k"] == [["true", 2], ["false", 1]]
    assert profile_of([None], pa.bool_())["true_fraction"] is None


def test_given_more_distinct_keys_than_the_bound_we_should_label_an_estimate():
    values = [f"k{i}" for i in range(20_000)] + ["hot"] * 50
    p = profile_of(values, pa.string(), chunk=1000, max_distinct=1000)
    assert p["n_distinct_approx"] is True and p["top_k_approx"] is True
    assert abs(p["n_distinct"] - 20_001) < 0.06 * 20_001
    assert p["top_k"][0] == ["hot", 50]
    assert p["other_count"] + sum(count for _, count in p["top_k"]) == 20_050
    exact = profile_of(values[:500], pa.string(), max_distinct=1000)
    assert exact["n_distinct_approx"] is False and exact["n_distinct"] == 500


def test_given_timestamps_we_should_report_iso_utc_and_type1_quantiles():
    base = dt.datetime(2024, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    stamps = [base + dt.timedelta(seconds=s) for s in range(10)] + [None]
    p = profile_of(stamps, pa.timestamp("ms", tz="Europe/Paris"))
    assert p["type"] == "datetime" and p["n_missing"] == 1
    assert p["min"] == "2024-03-01T12:00:00Z" and p["max"] == "2024-03-01T12:00:09Z"
    # type 1: x_(ceil(n p)); n = 10, p = 0.25 -> x_(3); p = 0.5 -> x_(5); p = 0.01 -> x_(1)
    assert p["quantiles"]["p25"] == "2024-03-01T12:00:02Z" and p["quantiles"]["p50"] == "2024-03-01T12:00:04Z"
    assert p["quantiles"]["p01"] == "2024-03-01T12:00:00Z" and p["quantiles"]["p99"] == "2024-03-01T12:00:09Z"
    dates = profile_of([dt.date(1969, 12, 31), dt.date(2000, 2, 29)], pa.date32())
    assert dates["min"] == "1969-12-31T00:00:00Z" and dates["max"] == "2000-02-29T00:00:00Z"


def test_iso_formatting_should_round_trip_nanoseconds():
    for ns in (0, 1, -1, 1_700_000_000_123_456_789, 1_700_000_000_500_000_000, -86_400 * 10**9 * 365):
        assert parse_iso_ns(format_ns(ns)) == ns
    assert format_ns(1_700_000_000_500_000_000) == "2023-11-14T22:13:20.5Z"


def test_given_other_types_we_should_count_rows_and_missing_only():
    p = profile_of([b"a", None], pa.binary())
    assert p == {"type": "other", "arrow_type": "binary", "n": 2, "n_missing": 1, "missing_fraction": 0.5}


# ---------------------------------------------------------------------------------------------
# Compact profile: bounded, deterministic, plain JSON
# ---------------------------------------------------------------------------------------------


def _mixed_table(n: int = 2000, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.05] = np.nan
    return pa.table({
        "x": x,
        "k": pa.array(rng.integers(0, 300, size=n)),
        "s": pa.array(rng.choice([f"cat{i}" for i in range(150)], size=n)),
        "b": pa.array(rng.random(n) < 0.4),
        "t": pa.array((1_700_000_000 + rng.integers(0, 10**6, size=n)).astype("datetime64[s]")),
    })


def _walk_plain(value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            _walk_plain(item)
    elif isinstance(value, list):
        for item in value:
            _walk_plain(item)
    else:
        assert value is None or type(value) in (int, float, str, bool), type(value)
        if type(value) is float:
            assert math.isfinite(value)


def test_given_the_same_data_in_any_batching_or_row_order_the_compact_bytes_should_be_identical():
    table = _mixed_table()
    reference = json.dumps(compact_profile(profile_batches(table.schema, table.to_batches())), sort_keys=True)
    rng = np.random.default_rng(1)
    for chunk in (1, 7, 500):
        shuffled = table.take(pa.array(rng.permutation(table.num_rows)))
        again = compact_profile(profile_batches(shuffled.schema, shuffled.to_batches(max_chunksize=chunk)))
        assert json.dumps(again, sort_keys=True) == reference


def test_given_a_profile_the_compact_form_should_be_bounded_and_plain_json():
    table = _mixed_table()
    full = profile_batches(table.schema, table.to_batches())
    compact = compact_profile(full)
    _walk_plain(full)
    _walk_plain(compact)
    columns = compact["columns"]
    assert set(columns["x"]) == {"type", "n", "n_missing", "n_pos_inf", "n_neg_inf", "min", "max", "mean", "m2",
                                 "drift_summary"}
    assert set(columns["s"]) == {"type", "n", "n_missing", "top_k", "other_count", "n_distinct",
                                 "n_distinct_approx", "top_k_approx"}
    assert len(columns["s"]["top_k"]) == 100 and columns["s"]["n_distinct"] == 150
    assert columns["s"]["other_count"] == 2000 - sum(count for _, count in columns["s"]["top_k"])
    assert set(columns["t"]) == {"type", "n", "n_missing", "min", "max"}
    assert columns["b"]["type"] == "boolean" and columns["k"]["type"] == "numeric"
    assert compact["n_rows"] == 2000 and compact["metrics_version"] == 1
    assert len(json.dumps(compact)) < 20_000
    assert json.loads(json.dumps(compact, allow_nan=False)) == compact


def test_given_profile_columns_we_should_get_the_same_profile_reading_one_column_at_a_time():
    table = _mixed_table(500)
    reads = []

    def read(names):
        reads.append(names)
        return table.select(names).to_batches(max_chunksize=64)

    one_at_a_time = profile_columns(table.schema, read)
    assert reads == [["x"], ["k"], ["s"], ["b"], ["t"]]
    assert json.dumps(one_at_a_time, sort_keys=True) == json.dumps(
        profile_batches(table.schema, table.to_batches()), sort_keys=True)


def test_given_column_selection_we_should_profile_only_those_and_reject_unknown_names():
    table = _mixed_table(50)
    p = profile_batches(table.schema, table.to_batches(), columns=["s", "x"])
    assert list(p["columns"]) == ["s", "x"] and p["n_rows"] == 50
    with pytest.raises(ValueError, match="unknown columns"):
        profile_batches(table.schema, table.to_batches(), columns=["nope"])


def test_given_no_batches_we_should_profile_empty_columns():
    schema = pa.schema([("x", pa.float64()), ("s", pa.string())])
    p = profile_batches(schema, [])
    assert p["n_rows"] == 0 and p["columns"]["x"]["n"] == 0 and p["columns"]["x"]["missing_fraction"] is None


def test_numeric_data_should_accept_numpy_lists_and_arrow():
    from_list = numeric_data([1.0, None, float("nan"), INF, 2.0])
    assert (from_list.n, from_list.n_missing, from_list.n_pos_inf, from_list.values.tolist()) == (5, 2, 1, [1.0, 2.0])
    from_arrow = numeric_data(pa.chunked_array([[3, None], [1]]))
    assert from_arrow.values.tolist() == [1.0, 3.0] and from_arrow.n_missing == 1
    stamps = numeric_data(np.array(["2024-01-01", "NaT"], dtype="datetime64[D]"))
    assert stamps.kind == "datetime" and stamps.n_missing == 1 and stamps.values.dtype == np.int64


def test_collect_columns_should_keep_sorted_finite_values_and_counts():
    table = pa.table({"x": [3.0, None, 1.0, INF]})
    data = collect_columns(table.schema, table.to_batches())["x"]
    assert data.values.tolist() == [1.0, 3.0] and (data.n_missing, data.n_pos_inf) == (1, 1)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.none() | st.sampled_from(["", "a", "b", "é", "日本", "a b", "\U0001f600", "Z"]) | st.text(max_size=4),
                max_size=200),
       st.integers(1, 50), st.booleans())
def test_string_columns_should_count_as_the_dictionary_accumulator_does(values, chunk, large):
    # strings are counted with Arrow (value_counts per batch, summed); other categorical types
    # with a dict per key: below the distinct bound both must give the same profile
    from mldata.stats.profile import _CategoricalAccumulator, _categorical_profile, _StringAccumulator

    array = pa.array(values, type=pa.large_string() if large else pa.string())
    arrow_acc = _StringAccumulator("categorical", str(array.type), 10**6)
    dict_acc = _CategoricalAccumulator("categorical", str(array.type), True, 10**6)
    for start in range(0, len(array), chunk):
        arrow_acc.add(array.slice(start, chunk))
        dict_acc.add(array.slice(start, chunk))
    for k in (1, 3, 100):
        assert _categorical_profile(arrow_acc.finish(), k) == _categorical_profile(dict_acc.finish(), k)


_FIXED_WIDTH = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64(),
                pa.float32(), pa.float64()]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_FIXED_WIDTH), st.lists(st.one_of(st.none(), st.integers(-2**70, 2**70),
                                                           st.floats(allow_nan=True, allow_infinity=True)), max_size=40),
       st.integers(0, 5), st.integers(0, 5))
def test_present_values_are_the_non_null_values_arrow_would_give(typ: pa.DataType, raw: list, start: int,
                                                                   cut: int) -> None:
    """present_values reads buffers with numpy (validity bits, slice offsets); the values must be
    Arrow's own: drop_null, then a cast to float64 (rounding to nearest) in the numeric profile."""
    from mldata.stats.profile import present_values

    def fits(v: Any) -> bool:
        if v is None:
            return True
        if pa.types.is_integer(typ):
            info = np.iinfo(typ.to_pandas_dtype())
            return isinstance(v, int) and info.min <= v <= info.max
        return isinstance(v, float) and (typ == pa.float64() or not math.isfinite(v) or abs(v) < 3e38)

    values = [v for v in raw if fits(v)]
    array = pa.array(values, type=typ).slice(min(start, len(values)))
    array = array.slice(0, max(len(array) - cut, 0))
    got = present_values(array)
    want = array.drop_null().to_numpy(zero_copy_only=False)
    assert got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True)
    as_float = array.drop_null().cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    assert np.array_equal(got.astype(np.float64), as_float, equal_nan=True)


def test_present_values_of_dates_and_timestamps_and_other_types() -> None:
    from mldata.stats.profile import present_values

    ts = pa.array([1, None, -5, 2**40], type=pa.timestamp("ms", tz="UTC")).slice(1)
    assert present_values(ts).tolist() == [-5, 2**40]
    assert present_values(pa.array([3, None, 4], type=pa.date32())).tolist() == [3, 4]
    assert present_values(pa.array(["a"])) is None and present_values(pa.array([1.5], type=pa.float16())) is None
    assert present_values(pa.array([], type=pa.int64())).size == 0
    assert present_values(pa.array([None, None], type=pa.int64())).size == 0


def test_skewness_and_kurtosis_of_tiny_deviations_are_those_of_the_scaled_values() -> None:
    """(m2/n)**1.5 underflowed to 0 for values around 1e-139 (a ZeroDivisionError found by
    hypothesis); the statistics do not depend on the scale."""
    tiny = profile_of([0.0, 0.0, 6.164846021802822e-139, 0.0])
    unit = profile_of([0.0, 0.0, 1.0, 0.0])
    assert tiny["skewness"] == pytest.approx(unit["skewness"], rel=1e-12)
    assert tiny["kurtosis"] == pytest.approx(unit["kurtosis"], rel=1e-12)
    huge = profile_of([0.0, 0.0, 3e200, 0.0])
    assert huge["skewness"] == pytest.approx(unit["skewness"], rel=1e-12)
