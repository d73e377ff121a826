"""Drift metrics against the definitions of docs/metrics.md (§3.3-§3.11).

The production code is checked three ways: the RNG-free test vectors of the definition, an
independent naive reference implementation written from the text (Python loops over sorted
lists, below), and scipy where the definition says the results agree.
"""

from __future__ import annotations

import bisect
import json
import math
import pickle
import random

import numpy as np
import pyarrow as pa
import pytest
import scipy.spatial.distance
import scipy.stats
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mldata.stats import (
    CategoryCounts,
    ColumnSettings,
    DriftConfig,
    Severity,
    Thresholds,
    baseline_bins_from_summary,
    compact_profile,
    drift_batches,
    drift_categorical,
    drift_numeric_raw,
    drift_numeric_vs_summary,
    drift_profiles,
    profile_batches,
)
from mldata.stats.drift import bin_counts, ks_bounds_from_summary, numeric_edges, psi_kl_js, psi_pvalue
from mldata.stats.profile import drift_summary

EPS = 1e-4
ALL_BINS = (2, 4, 5, 10, 20, 25, 50, 100)


def close(a: float, b: float) -> bool:
    """The drift conformance tolerance: |a - b| <= 1e-9 * max(1, |a|)."""
    return abs(a - b) <= 1e-9 * max(1.0, abs(a))


# ---------------------------------------------------------------------------------------------
# Reference implementation, written from the text of METRICS.md with plain Python loops
# ---------------------------------------------------------------------------------------------


def ref_edges(values: list[float], k: int) -> list[float]:
    """§3.3: s[j_i - 1] with j_i = ceil(n*i/k), i = 1..k-1; sorted unique."""
    s = sorted(values)
    n = len(s)
    out: list[float] = []
    for i in range(1, k):
        j = -(-n * i // k)  # ceil with integers
        if s[j - 1] not in out:
            out.append(s[j - 1])
    return sorted(out)


def ref_counts(values: list[float], edges: list[float]) -> list[int]:
    """Right-closed bins: a value goes to the first bin whose upper edge is >= the value."""
    counts = [0] * (len(edges) + 1)
    for x in values:
        index = 0
        while index < len(edges) and x > edges[index]:
            index += 1
        counts[index] += 1
    return counts


def ref_metrics(b: list[float], c: list[float], eps: float = EPS) -> dict:
    """PSI, KL(cur||base), JS distance base 2 and the PSI p-value on bins (empty-both dropped)."""
    pairs = [(x, y) for x, y in zip(b, c) if x > 0 or y > 0]
    n = sum(x for x, _ in pairs)
    m = sum(y for _, y in pairs)
    p = [x / n for x, _ in pairs]
    q = [y / m for _, y in pairs]
    pf = [max(v, eps) for v in p]
    qf = [max(v, eps) for v in q]
    ps = [v / sum(pf) for v in pf]
    qs = [v / sum(qf) for v in qf]
    psi = 0.0
    kl = 0.0
    for pi, qi in zip(ps, qs):
        psi += (qi - pi) * math.log(qi / pi)
        kl += qi * math.log(qi / pi)
    inner = 0.0
    for pi, qi in zip(p, q):
        mi = (pi + qi) / 2
        if pi > 0:
            inner += 0.5 * pi * math.log2(pi / mi)
        if qi > 0:
            inner += 0.5 * qi * math.log2(qi / mi)
    js = math.sqrt(min(1.0, max(0.0, inner)))
    B = len(pairs)
    pvalue = 1.0 if B < 2 else scipy.stats.chi2.sf(psi * n * m / (n + m), B - 1)
    return {"psi": psi, "kl": kl, "js": js, "psi_pvalue": pvalue, "B": B}


def ref_ks(b: list[float], c: list[float]) -> float:
    sb, sc = sorted(b), sorted(c)
    d = 0.0
    for x in sb + sc:
        d = max(d, abs(bisect.bisect_right(sb, x) / len(sb) - bisect.bisect_right(sc, x) / len(sc)))
    return d


def ref_points(values: list[float], resolution: int = 100) -> list[list]:
    s = sorted(values)
    n = len(s)
    out: list[list] = []
    for i in range(1, resolution):
        j = -(-n * i // resolution)
        v = s[j - 1]
        if not out or out[-1][0] != v:
            out.append([v, sum(1 for x in s if x <= v)])
    return out


def ref_chi2(b: list[float], c: list[float]) -> tuple[float, int]:
    """Pearson χ² of homogeneity on the 2×B table (bins empty on both sides dropped)."""
    pairs = [(x, y) for x, y in zip(b, c) if x > 0 or y > 0]
    n = sum(x for x, _ in pairs)
    m = sum(y for _, y in pairs)
    total = n + m
    stat = 0.0
    for x, y in pairs:
        col = x + y
        for observed, row in ((x, n), (y, m)):
            expected = row * col / total
            stat += (observed - expected) ** 2 / expected
    return stat, len(pairs) - 1


# ---------------------------------------------------------------------------------------------
# Data generators: ties, zero-inflation, tiny n, constants
# ---------------------------------------------------------------------------------------------

values_strategy = st.one_of(
    st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=300),  # heavy ties
    st.lists(st.one_of(st.just(0.0), st.floats(-1e6, 1e6, allow_nan=False, width=32)), min_size=1, max_size=300),
    st.lists(st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False), min_size=1, max_size=40),
    st.integers(1, 50).flatmap(lambda n: st.just([2.5] * n)),
)


def random_dataset(rng: random.Random) -> list[float]:
    n = rng.choice([1, 2, 3, 7, 25, 99, 100, 101, 137, 250, 999, 1000, 2001])
    shape = rng.choice(["normal", "ties", "zero_inflated", "constant", "integers"])
    if shape == "normal":
        return [rng.gauss(0, 1) for _ in range(n)]
    if shape == "ties":
        return [float(rng.randint(0, 4)) for _ in range(n)]
    if shape == "zero_inflated":
        return [0.0 if rng.random() < 0.7 else rng.expovariate(1.0) for _ in range(n)]
    if shape == "constant":
        return [1.5] * n
    return [float(rng.randint(-1000, 1000)) for _ in range(n)]


def summary_of(values) -> dict:
    return drift_summary(np.sort(np.asarray(values, dtype=np.float64)))


# ---------------------------------------------------------------------------------------------
# Test vectors (RNG-free; bins = 10, ε = 1e-4)
# ---------------------------------------------------------------------------------------------


def test_given_shifted_integers_we_should_reproduce_the_numeric_test_vector():
    result = drift_numeric_raw(np.arange(1, 1001), np.arange(101, 1101))
    assert close(result.psi, 0.7593856779395003)
    assert close(result.kl, 0.1378248730969479)
    assert close(result.js, 0.24951077109380781)
    assert close(result.ks_statistic, 0.1)
    assert result.severity is Severity.FAIL
    assert result.edges == tuple(float(100 * i) for i in range(1, 10))
    assert result.baseline_counts == (100,) * 10
    assert result.current_counts == (0,) + (100,) * 8 + (200,)


def test_given_a_new_category_we_should_reproduce_the_categorical_test_vector():
    result = drift_categorical({"a": 5000, "b": 3000, "c": 2000}, {"a": 4500, "b": 3000, "c": 2000, "d": 500})
    assert close(result.psi, 0.31537176453499266)
    assert close(result.kl, 0.2634181678754211)
    assert close(result.js, 0.1610887338104616)
    assert round(result.chi2, 4) == 526.3158
    assert result.chi2_dof == 3
    assert round(result.cramers_v, 4) == 0.1622
    assert result.severity is Severity.FAIL
    assert result.keys == ("a", "b", "c", "__other__")
    assert result.unseen_fraction == 0.05
    assert result.unseen_top == (("d", 500),)


def test_given_a_constant_baseline_we_should_give_zero_against_itself_and_the_vector_against_another():
    same = drift_numeric_raw(np.full(1000, 3.25), np.full(1000, 3.25))
    assert same.psi == 0.0 and same.kl == 0.0 and same.js == 0.0
    assert same.edges == (3.25,) and same.n_bins == 1 and same.severity is Severity.OK
    other = drift_numeric_raw(np.full(1000, 3.25), np.full(1000, 4.0))
    assert close(other.psi, 18.41699697618035)
    assert close(other.js, 1.0)
    assert other.baseline_counts == (1000, 0) and other.current_counts == (0, 1000)
    assert other.severity is Severity.FAIL


def test_given_an_all_null_column_we_should_report_null_metrics_and_insufficient_data():
    result = drift_numeric_raw([None] * 200, np.arange(200.0))
    assert result.psi is None and result.kl is None and result.js is None and result.ks_statistic is None
    assert result.distribution_severity is Severity.INSUFFICIENT_DATA
    # the column went from all-missing to complete: the missing-value check fails
    assert result.missing.delta == -1.0 and result.missing.severity is Severity.FAIL
    both_null = drift_numeric_raw([None] * 200, [float("nan")] * 200)
    assert both_null.severity is Severity.INSUFFICIENT_DATA
    data = both_null.to_dict()
    assert data["psi"] is None and data["severity"] == "insufficient_data"


def test_given_an_empty_categorical_side_we_should_report_insufficient_data():
    result = drift_categorical({}, {"a": 10})
    assert result.psi is None and result.severity is Severity.INSUFFICIENT_DATA


# ---------------------------------------------------------------------------------------------
# Binning (§3.3)
# ---------------------------------------------------------------------------------------------


def test_given_n25_and_p028_we_should_pick_the_seventh_order_statistic_not_numpys_eighth():
    s = np.arange(1.0, 26.0)  # x_(j) = j
    edges = numeric_edges(s, 25)
    assert edges[6] == 7.0  # i = 7: j = ceil(25 * 7 / 25) = 7
    # numpy's inverted_cdf computes 25 * 0.28 = 7.000000000000001 and returns x_(8)
    assert np.quantile(s, 0.28, method="inverted_cdf") == 8.0


def test_given_integer_arithmetic_we_should_match_exact_rationals_for_all_small_n():
    for n in range(1, 400):
        s = np.arange(1.0, n + 1)
        for k in ALL_BINS:
            edges = numeric_edges(s, k)
            expected = sorted({float(math.ceil(n * i / k)) if (n * i) % k else float(n * i // k) for i in range(1, k)})
            assert edges.tolist() == expected


def test_given_right_closed_bins_we_should_put_a_point_mass_at_the_minimum_into_the_first_bin():
    baseline = np.array([0.0] * 60 + list(range(1, 41)), dtype=float)
    edges = numeric_edges(baseline, 10)
    counts = bin_counts(baseline, edges)
    assert edges[0] == 0.0 and counts[0] == 60
    assert bin_counts(np.array([-5.0, 0.0, 1e9]), edges).tolist() == [2] + [0] * (len(edges) - 1) + [1]


def test_given_bins_empty_on_both_sides_we_should_drop_them_from_b():
    result = drift_numeric_raw(np.full(1000, 3.25), np.full(1000, 3.25))
    assert result.n_bins == 1 and result.psi_pvalue == 1.0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(baseline=values_strategy, current=values_strategy, bins=st.sampled_from(ALL_BINS + (3, 7)))
def test_given_random_data_raw_drift_should_match_the_reference(baseline, current, bins):
    config = DriftConfig(bins=bins) if 100 % bins == 0 else None
    if config is None:
        edges = numeric_edges(np.sort(np.asarray(baseline)), bins)
        assert edges.tolist() == ref_edges(baseline, bins)
        return
    result = drift_numeric_raw(np.asarray(baseline), np.asarray(current), config)
    edges = ref_edges(baseline, bins)
    b_counts, c_counts = ref_counts(baseline, edges), ref_counts(current, edges)
    assert list(result.edges) == edges
    assert list(result.baseline_counts) == b_counts and list(result.current_counts) == c_counts
    ref = ref_metrics(b_counts, c_counts)
    assert result.n_bins == ref["B"]
    for name in ("psi", "kl", "js", "psi_pvalue"):
        assert close(getattr(result, name), ref[name]), name
    assert close(result.ks_statistic, ref_ks(baseline, current))


@settings(max_examples=60, deadline=None)
@given(values=values_strategy)
def test_given_random_data_the_summary_points_should_match_the_reference(values):
    assert summary_of(values)["points"] == ref_points(values)
    assert summary_of(values)["n"] == len(values)


# ---------------------------------------------------------------------------------------------
# Stored baseline == raw baseline (§3.2)
# ---------------------------------------------------------------------------------------------


def _check_bins_identity(baseline: list[float], bins: int) -> tuple[dict, np.ndarray]:
    """Edges and counts recovered from the summary equal those of the raw baseline, exactly."""
    summary = summary_of(baseline)
    edges, counts = baseline_bins_from_summary(summary, bins)
    raw_edges = numeric_edges(np.sort(np.asarray(baseline)), bins)
    assert edges.tolist() == raw_edges.tolist()
    assert counts.tolist() == bin_counts(np.asarray(baseline), raw_edges).tolist()
    return summary, counts


def _check_summary_identity(baseline: list[float], current: list[float], bins: int) -> None:
    config = DriftConfig(bins=bins)
    summary, counts = _check_bins_identity(baseline, bins)
    raw = drift_numeric_raw(np.asarray(baseline), np.asarray(current), config)
    stored = drift_numeric_vs_summary(summary, np.asarray(current), config)
    for name in ("psi", "kl", "js", "psi_pvalue", "n_bins", "edges", "baseline_counts", "current_counts",
                 "distribution_severity"):
        assert getattr(stored, name) == getattr(raw, name), name  # identical, not merely close
    low, high = stored.ks_bounds
    assert low - 1e-12 <= raw.ks_statistic <= high + 1e-12
    assert high - low <= 1 / 100 + max(counts) / len(baseline) + 1e-12


def test_given_seeded_random_datasets_a_stored_baseline_should_equal_the_raw_baseline_for_every_bins():
    rng = random.Random(20240607)
    for _ in range(25):
        baseline, current = random_dataset(rng), random_dataset(rng)
        for bins in ALL_BINS:
            _check_summary_identity(baseline, current, bins)


@pytest.mark.slow
def test_given_400_seeded_datasets_a_stored_baseline_should_equal_the_raw_baseline():
    # PSI, KL and JS are functions of the bin edges and counts, so equal bins mean equal metrics
    rng = random.Random(400)
    for _ in range(400):
        baseline = random_dataset(rng)
        for bins in ALL_BINS:
            _check_bins_identity(baseline, bins)


@settings(max_examples=60, deadline=None)
@given(baseline=values_strategy, current=values_strategy, bins=st.sampled_from(ALL_BINS))
def test_given_generated_data_a_stored_baseline_should_equal_the_raw_baseline(baseline, current, bins):
    _check_summary_identity(baseline, current, bins)


def test_given_a_json_round_trip_the_stored_baseline_should_still_be_exact():
    rng = np.random.default_rng(3)
    baseline, current = rng.lognormal(size=3001), rng.lognormal(0.2, size=1234)
    table = pa.table({"x": baseline})
    stored = json.loads(json.dumps(compact_profile(profile_batches(table.schema, table.to_batches()))))
    from_lock = drift_numeric_vs_summary(stored["columns"]["x"], current)
    raw = drift_numeric_raw(baseline, current)
    assert (from_lock.psi, from_lock.kl, from_lock.js) == (raw.psi, raw.kl, raw.js)
    assert from_lock.mode == "summary" and raw.mode == "raw"


def test_given_bins_that_do_not_divide_the_resolution_we_should_refuse():
    with pytest.raises(ValueError, match="divide"):
        baseline_bins_from_summary(summary_of([1.0, 2.0, 3.0]), 3)
    with pytest.raises(ValueError, match="divides 100"):
        DriftConfig(bins=7)


def test_given_an_inconsistent_summary_we_should_refuse_it():
    with pytest.raises(ValueError, match="inconsistent"):
        baseline_bins_from_summary({"resolution": 100, "n": 10, "points": [[2.0, 5], [1.0, 10]]}, 10)
    with pytest.raises(ValueError, match="inconsistent"):
        baseline_bins_from_summary({"resolution": 100, "n": 10, "points": [[1.0, 5]]}, 10)


# ---------------------------------------------------------------------------------------------
# PSI / KL / JS (§3.4-§3.6)
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), min_size=1, max_size=30)
       .filter(lambda ps: sum(b for b, _ in ps) > 0 and sum(c for _, c in ps) > 0))
def test_given_bin_counts_metrics_should_match_the_reference_scipy_and_their_identities(pairs):
    b = [x for x, _ in pairs]
    c = [y for _, y in pairs]
    psi, kl, js = psi_kl_js(b, c, EPS)
    ref = ref_metrics(b, c)
    assert close(psi, ref["psi"]) and close(kl, ref["kl"]) and close(js, ref["js"])
    assert psi >= 0 and kl >= 0 and 0 <= js <= 1
    reverse_kl = psi_kl_js(c, b, EPS)[1]
    assert close(psi, kl + reverse_kl)  # PSI = KL(q||p) + KL(p||q): renormalised floors
    assert close(psi, psi_kl_js(c, b, EPS)[0])  # symmetric
    expected_js = scipy.spatial.distance.jensenshannon(np.asarray(b, float), np.asarray(c, float), base=2)
    assert abs(js - expected_js) <= 1e-9


def test_given_no_proportion_below_epsilon_renormalisation_should_be_a_no_op():
    b, c = [30, 30, 40], [25, 35, 40]
    p, q = [x / 100 for x in b], [x / 100 for x in c]
    plain = sum((qi - pi) * math.log(qi / pi) for pi, qi in zip(p, q))
    assert close(psi_kl_js(b, c, EPS)[0], plain)


def test_given_a_new_five_percent_category_psi_should_fail_by_design():
    result = drift_categorical({"a": 10_000}, {"a": 9_500, "new": 500})
    assert 0.25 <= result.psi and result.severity is Severity.FAIL


def test_given_the_conversions_we_should_recover_other_tools_values():
    result = drift_numeric_raw(np.arange(1, 1001), np.arange(101, 1101))
    b, c = result.baseline_counts, result.current_counts
    reverse = psi_kl_js(c, b, EPS)[1]  # Evidently's direction: D(baseline||current)
    assert close(result.psi - result.kl, reverse)


# ---------------------------------------------------------------------------------------------
# KS (§3.8)
# ---------------------------------------------------------------------------------------------


def test_given_raw_data_ks_should_be_scipys_asymptotic_two_sample_test():
    rng = np.random.default_rng(11)
    b, c = rng.normal(size=700), rng.normal(0.1, size=500)
    result = drift_numeric_raw(b, c)
    expected = scipy.stats.ks_2samp(b, c, alternative="two-sided", method="asymp")
    assert close(result.ks_statistic, expected.statistic) and close(result.ks_pvalue, expected.pvalue)
    en = np.round(700 * 500 / 1200)
    assert close(result.ks_pvalue, scipy.stats.kstwo.sf(result.ks_statistic, en))


def test_given_a_stored_baseline_the_ks_bracket_should_contain_the_exact_statistic():
    rng = random.Random(8)
    for _ in range(100):
        baseline, current = random_dataset(rng), random_dataset(rng)
        low, high = ks_bounds_from_summary(summary_of(baseline), np.sort(np.asarray(current)))
        exact = ref_ks(baseline, current)
        assert low - 1e-12 <= exact <= high + 1e-12


def test_given_a_continuous_baseline_the_ks_bracket_should_be_about_one_over_r_wide():
    rng = np.random.default_rng(5)
    b, c = rng.normal(size=10_000), rng.normal(0.05, size=8_000)
    result = drift_numeric_vs_summary(summary_of(b), c)
    low, high = result.ks_bounds
    assert high - low <= 0.0101
    assert result.ks_pvalue_bounds[0] <= result.ks_pvalue_bounds[1]
    assert result.ks_statistic is None


# ---------------------------------------------------------------------------------------------
# Categorical (§3.7)
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(base=st.dictionaries(st.sampled_from("abcdefgh"), st.integers(1, 500), min_size=1),
       cur=st.dictionaries(st.sampled_from("abcdefghxyz"), st.integers(1, 500), min_size=1),
       top_k=st.integers(1, 10))
def test_given_random_categories_chi2_and_metrics_should_match_the_reference(base, cur, top_k):
    result = drift_categorical(base, cur, DriftConfig(top_k=top_k))
    ranked = sorted(base.items(), key=lambda kv: (-kv[1], kv[0]))
    keys = [k for k, _ in ranked[:top_k]]
    b = [base[k] for k in keys] + [sum(v for _, v in ranked[top_k:])]
    c = [cur.get(k, 0) for k in keys] + [sum(v for k, v in cur.items() if k not in keys)]
    assert list(result.keys) == keys + ["__other__"]
    assert list(result.baseline_counts) == b and list(result.current_counts) == c
    ref = ref_metrics(b, c)
    assert close(result.psi, ref["psi"]) and close(result.kl, ref["kl"]) and close(result.js, ref["js"])
    stat, dof = ref_chi2(b, c)
    if dof < 1:
        assert (result.chi2, result.chi2_pvalue, result.chi2_dof) == (0.0, 1.0, 0)
    else:
        assert close(result.chi2, stat) and result.chi2_dof == dof
        assert close(result.chi2_pvalue, scipy.stats.chi2.sf(stat, dof))
    assert close(result.cramers_v, math.sqrt(result.chi2 / (sum(b) + sum(c))))
    unseen = {k: v for k, v in cur.items() if k not in base}
    assert close(result.unseen_fraction, sum(unseen.values()) / sum(cur.values()))
    assert [k for k, _ in result.unseen_top] == sorted(unseen, key=lambda k: (-unseen[k], k))[:10]


def test_given_a_2x2_boolean_table_chi2_should_be_the_squared_pooled_z_test():
    base, cur = {"true": 600, "false": 400}, {"true": 520, "false": 480}
    result = drift_categorical(base, cur, kind="boolean")
    p1, p2 = 600 / 1000, 520 / 1000
    pooled = (600 + 520) / 2000
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert close(result.chi2, z * z)
    assert result.kind == "boolean" and result.n_bins == 2


def test_given_a_stored_top_k_the_baseline_tail_should_become_the_other_bin():
    stored = CategoryCounts({"a": 50, "b": 30}, other=20, n_missing=5)
    result = drift_categorical(stored, {"a": 50, "b": 30, "c": 10, "z": 10})
    assert result.mode == "summary"
    assert result.baseline_counts == (50, 30, 20) and result.current_counts == (50, 30, 20)
    assert "unseen_fraction_approximate" in result.notes
    assert result.missing is None  # the current side's missing count is unknown here


def test_given_a_current_top_k_missing_a_baseline_key_we_should_mark_the_result_approximate():
    result = drift_categorical({"a": 50, "b": 50}, CategoryCounts({"a": 60}, other=40))
    assert result.approximate and "approximate" in result.notes
    exact = drift_categorical({"a": 50, "b": 50}, CategoryCounts({"a": 60, "b": 40}, other=0))
    assert not exact.approximate


# ---------------------------------------------------------------------------------------------
# Severity, gates, missing values (§3.9)
# ---------------------------------------------------------------------------------------------


def test_given_threshold_values_lower_bounds_should_be_inclusive():
    config = DriftConfig(gate="kl", thresholds={"kl": Thresholds(0.05, 0.125)}, significance_alpha=None, min_rows=0)
    from mldata.stats.drift import _level

    bounds = config.thresholds["kl"]
    assert _level(0.05, bounds) is Severity.WARN and _level(0.125, bounds) is Severity.FAIL
    assert _level(0.0499999, bounds) is Severity.OK
    assert config.thresholds["psi"] == Thresholds(0.10, 0.25)  # defaults kept for the others
    assert config.thresholds["js"] == Thresholds(0.13, 0.21) and config.thresholds["missing"] == Thresholds(0.05, 0.20)


def test_given_small_samples_the_noise_gate_should_downgrade_a_threshold_crossing_to_ok():
    # 150 vs 150 with a modest shift: PSI above 0.1 but well within sampling noise
    base = np.repeat(np.arange(10.0), 15)
    cur = np.concatenate([np.repeat(np.arange(10.0), 13), np.full(20, 9.0)])
    gated = drift_numeric_raw(base, cur)
    assert gated.psi >= 0.10 and gated.psi_pvalue >= 0.05
    assert gated.distribution_severity is Severity.OK and "not_significant" in gated.notes
    ungated = drift_numeric_raw(base, cur, DriftConfig(significance_alpha=None))
    assert ungated.distribution_severity in (Severity.WARN, Severity.FAIL)
    assert close(gated.psi_pvalue, psi_pvalue(gated.psi, 150, 150, gated.n_bins))


def test_given_fewer_than_min_rows_we_should_report_metrics_but_insufficient_data():
    result = drift_numeric_raw(np.arange(99.0), np.arange(50.0, 149.0))
    assert result.psi is not None and result.distribution_severity is Severity.INSUFFICIENT_DATA
    assert drift_numeric_raw(np.arange(99.0), np.arange(50.0, 149.0), DriftConfig(min_rows=10)).psi == result.psi


@pytest.mark.parametrize("gate", ["psi", "kl", "js"])
def test_given_each_gate_metric_severity_should_follow_its_thresholds(gate):
    result = drift_numeric_raw(np.arange(1, 1001), np.arange(101, 1101), DriftConfig(gate=gate))
    assert result.severity is Severity.FAIL  # psi 0.76, kl 0.138, js 0.250: all above fail
    calm = drift_numeric_raw(np.arange(1, 1001), np.arange(3, 1003), DriftConfig(gate=gate))
    assert calm.severity is Severity.OK


def test_given_missing_values_we_should_check_their_share_separately():
    base = np.concatenate([np.arange(900.0), np.full(100, np.nan)])  # 10% missing
    cur = np.concatenate([np.arange(700.0), np.full(300, np.nan)])  # 30% missing
    result = drift_numeric_raw(base, cur)
    missing = result.missing
    assert (missing.baseline_count, missing.current_count) == (100, 300)
    assert close(missing.delta, 0.2) and missing.severity is Severity.FAIL
    expected_p = scipy.stats.chi2_contingency([[100, 900], [300, 700]], correction=False)[1]
    assert close(missing.pvalue, expected_p)
    assert result.severity is Severity.FAIL


def test_given_infinities_we_should_report_them_like_missing_values():
    base = np.arange(1000.0)
    cur = np.concatenate([np.arange(900.0), np.full(60, np.inf), np.full(40, -np.inf)])
    result = drift_numeric_raw(base, cur)
    assert result.pos_inf.current_count == 60 and result.pos_inf.severity is Severity.WARN
    assert result.neg_inf.current_count == 40 and result.neg_inf.severity is Severity.OK
    assert result.n_current == 900  # distribution metrics use finite values only


def test_given_a_tiny_missing_change_on_few_rows_the_gate_should_keep_it_ok():
    base = np.concatenate([np.arange(95.0), np.full(5, np.nan)])
    cur = np.concatenate([np.arange(88.0), np.full(12, np.nan)])
    result = drift_numeric_raw(base, cur, DriftConfig(min_rows=0))
    assert result.missing.delta >= 0.05 and result.missing.pvalue >= 0.05
    assert result.missing.severity is Severity.OK and "not_significant" in result.missing.notes


# ---------------------------------------------------------------------------------------------
# Summary vs summary (§3.10) and whole tables
# ---------------------------------------------------------------------------------------------


def _profile(**columns) -> dict:
    table = pa.table(columns)
    return compact_profile(profile_batches(table.schema, table.to_batches(max_chunksize=777)))


def test_given_two_summaries_psi_should_be_approximate_and_close_to_the_exact_value():
    rng = np.random.default_rng(21)
    b, c = rng.normal(size=20_000), rng.normal(0.3, 1.2, size=15_000)
    result = drift_profiles(_profile(x=b), _profile(x=c))["x"]
    exact = drift_numeric_raw(b, c)
    assert result.approximate and result.mode == "approximate" and "approximate" in result.notes
    assert abs(result.psi - exact.psi) < 0.02 * max(1.0, exact.psi)
    assert abs(sum(result.current_counts) - 15_000) < 1e-6
    same = drift_profiles(_profile(x=b), _profile(x=b))["x"]
    assert same.psi < 1e-3 and same.severity is Severity.OK


def test_given_two_profiles_we_should_compare_every_column_and_flag_schema_changes():
    rng = np.random.default_rng(1)
    n = 500
    x = rng.normal(size=n)
    base = _profile(x=x, cat=pa.array(rng.choice(["a", "b", "c"], size=n)),
                    flag=pa.array(rng.random(n) < 0.3), ts=pa.array(np.arange(n).astype("datetime64[s]")),
                    gone=np.zeros(n), changed=np.zeros(n))
    cur = _profile(x=x[::-1].copy(), cat=pa.array(rng.choice(["a", "b", "c", "d"], size=n)),
                   flag=pa.array(rng.random(n) < 0.7), ts=pa.array(np.arange(n, 2 * n).astype("datetime64[s]")),
                   new=np.zeros(n), changed=pa.array(["x"] * n))
    result = drift_profiles(base, cur)
    assert list(result) == ["x", "cat", "flag", "ts", "gone", "changed", "new"]
    assert result["x"].severity is Severity.OK and result["x"].approximate
    assert result["cat"].severity is Severity.FAIL and not result["cat"].approximate
    assert result["flag"].kind == "boolean" and result["flag"].severity is Severity.FAIL
    assert result["ts"].severity is Severity.NOT_APPLICABLE and result["ts"].notes == ("disabled",)
    assert result["gone"].notes == ("column_removed",) and result["new"].notes == ("column_added",)
    assert result["changed"].notes == ("type_changed:numeric->categorical",)
    json.dumps({name: drift.to_dict() for name, drift in result.items()})


def test_given_a_datetime_column_enabled_we_should_compute_its_drift():
    n = 1000
    ts_b = np.arange(n).astype("datetime64[s]")
    ts_c = np.arange(n // 2, n // 2 + n).astype("datetime64[s]")
    config = DriftConfig(columns={"ts": ColumnSettings(enabled=True)})
    raw = drift_numeric_raw(ts_b, ts_c, config)
    assert raw.kind == "datetime" and raw.severity is Severity.FAIL
    table_b = pa.table({"ts": ts_b})
    full = profile_batches(table_b.schema, table_b.to_batches())
    assert "drift_summary" not in compact_profile(full)["columns"]["ts"]  # opt-in only
    stored = compact_profile(full, datetime_summaries=["ts"])
    table_c = pa.table({"ts": ts_c})
    exact = drift_batches(stored, table_c.schema, table_c.to_batches(), config)["ts"]
    assert (exact.psi, exact.edges) == (raw.psi, raw.edges)
    approx = drift_profiles(stored, compact_profile(profile_batches(table_c.schema, table_c.to_batches()),
                                                    datetime_summaries=["ts"]), config)["ts"]
    assert approx.approximate and approx.severity is Severity.FAIL
    without = drift_profiles(compact_profile(full), compact_profile(full), config)["ts"]
    assert without.severity is Severity.INSUFFICIENT_DATA and without.notes == ("no_drift_summary",)


def test_given_batches_and_a_stored_baseline_drift_should_be_exact_per_column():
    rng = np.random.default_rng(9)
    n = 3000
    b = {"x": rng.exponential(size=n), "k": rng.integers(0, 30, size=n), "s": rng.choice(list("abcdefg"), size=n)}
    c = {"x": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(1.2, size=n)),
         "k": rng.integers(0, 35, size=n), "s": rng.choice(list("abcdefgh"), size=n)}
    config = DriftConfig(columns={"k": ColumnSettings(type="categorical")})
    base_table = pa.table(b)
    stored = compact_profile(profile_batches(base_table.schema, base_table.to_batches(), types=config.column_types()))
    assert stored["columns"]["k"]["type"] == "categorical"
    cur_table = pa.table(c)
    result = drift_batches(stored, cur_table.schema, cur_table.to_batches(max_chunksize=500), config)
    raw_x = drift_numeric_raw(b["x"], c["x"])
    assert (result["x"].psi, result["x"].kl, result["x"].js) == (raw_x.psi, raw_x.kl, raw_x.js)
    assert result["x"].missing.current_count == raw_x.missing.current_count
    counts = lambda values: {str(k): int(v) for k, v in zip(*np.unique(values, return_counts=True))}  # noqa: E731
    raw_k = drift_categorical(counts(b["k"]), counts(c["k"]))
    assert result["k"].psi == raw_k.psi and result["k"].unseen_fraction == raw_k.unseen_fraction
    raw_s = drift_categorical(counts(b["s"]), counts(c["s"]))
    assert result["s"].chi2 == raw_s.chi2 and result["s"].mode == "summary"


# ---------------------------------------------------------------------------------------------
# Configuration and JSON
# ---------------------------------------------------------------------------------------------


def test_given_the_yaml_mapping_we_should_build_the_config_and_reject_unknown_keys():
    config = DriftConfig.from_mapping({
        "bins": 20, "thresholds": {"psi": [0.2, 0.3], "missing": [0.1, 0.4]}, "significance_alpha": None,
        "columns": {"ts": {"enabled": True}, "zip_code": {"type": "categorical"}},
    })
    assert config.bins == 20 and config.thresholds["psi"] == Thresholds(0.2, 0.3)
    assert config.significance_alpha is None and config.enabled("ts", "datetime")
    assert config.column_types() == {"zip_code": "categorical"}
    assert DriftConfig.from_mapping({"warn": 0.2, "fail": 0.4}).thresholds["psi"] == Thresholds(0.2, 0.4)
    with pytest.raises(ValueError, match="unknown drift settings"):
        DriftConfig.from_mapping({"binz": 10})
    with pytest.raises(ValueError, match="gate"):
        DriftConfig(gate="ks")
    with pytest.raises(ValueError, match="warn <= fail"):
        DriftConfig(thresholds={"psi": Thresholds(0.3, 0.2)})


def test_given_a_config_it_should_pickle_for_worker_processes():
    config = DriftConfig(columns={"ts": ColumnSettings(enabled=True)}, thresholds={"psi": Thresholds(0.2, 0.3)})
    assert pickle.loads(pickle.dumps(config)) == config


def test_given_defaults_datetime_columns_should_be_disabled_and_others_enabled():
    config = DriftConfig()
    assert not config.enabled("ts", "datetime") and config.enabled("x", "numeric")
    assert not DriftConfig(columns={"x": ColumnSettings(enabled=False)}).enabled("x", "numeric")
    assert (config.bins, config.epsilon, config.top_k, config.gate, config.min_rows, config.significance_alpha) == (
        10, 1e-4, 100, "psi", 100, 0.05)


def test_given_a_result_to_dict_should_be_strict_json():
    result = drift_numeric_raw(np.full(1000, 3.25), np.full(1000, 4.0))
    data = result.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["severity"] == "fail"
    assert isinstance(data["edges"], list) and data["missing"]["severity"] == "ok"


def test_the_chi_square_survival_function_should_agree_with_scipy():
    # make's drift gate computes chi2.sf by its finite series instead of importing scipy.special
    import numpy as np
    import scipy.stats

    from mldata.stats.drift import _chi2_sf

    for dof in [*range(1, 40), 99, 100, 199, 400]:
        for x in [*np.geomspace(1e-9, 4e3, 120), float(dof), dof + 0.5, 2.0 * dof]:
            expected = float(scipy.stats.chi2.sf(x, dof))
            got = _chi2_sf(float(x), dof)
            assert got == pytest.approx(expected, rel=1e-11, abs=1e-300), (x, dof)
    assert _chi2_sf(0.0, 3) == 1.0 and _chi2_sf(float("inf"), 3) == 0.0


def test_past_the_current_key_bound_categorical_drift_is_computed_and_labelled_approximate(monkeypatch):
    import pyarrow as pa

    from mldata.stats import drift as drift_module
    from mldata.stats.partial import merge_profiles, partial_profile

    keys = ["a"] * 400 + ["b"] * 300 + [f"id{i}" for i in range(300)]
    table = pa.table({"k": pa.array(keys)})
    baseline = merge_profiles([partial_profile(table.schema, table.to_batches())], table.schema)
    exact = drift_module.drift_batches(baseline, table.schema, table.to_batches(max_chunksize=100))["k"]
    monkeypatch.setattr(drift_module, "CURRENT_MAX_DISTINCT", 50)
    bounded = drift_module.drift_batches(baseline, table.schema, table.to_batches(max_chunksize=100))["k"]
    assert exact.psi == pytest.approx(0.0, abs=1e-12) and not exact.approximate
    # the frequent keys survive the pruning of the current side's tail: same bins for them
    assert bounded.current_counts[:2] == exact.current_counts[:2] == (400, 300)
    assert sum(bounded.current_counts) == sum(exact.current_counts) == 1000
    # the baseline's rare top-K keys were pruned from the current side: said, not hidden
    assert bounded.approximate and "approximate" in bounded.notes


def test_a_bin_empty_on_both_sides_changes_no_metric():
    """Its floor would enter the renormalisation of the other bins (found by hypothesis:
    PSI 18.4152 instead of 18.4170 for bins [0, 0, 1] against [0, 1, 0])."""
    with_empty = psi_kl_js([0, 0, 1], [0, 1, 0], EPS)
    without = psi_kl_js([0, 1], [1, 0], EPS)
    assert with_empty == without
    ref = ref_metrics([0, 0, 1], [0, 1, 0])
    assert close(with_empty[0], ref["psi"]) and close(with_empty[1], ref["kl"]) and close(with_empty[2], ref["js"])


# ---------------------------------------------------------------------------------------------
# Comparing stored profiles without numpy (make's drift gate)
# ---------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(points=st.lists(st.tuples(st.floats(-1e6, 1e6), st.integers(1, 50)), min_size=1, max_size=40, unique_by=lambda p: p[0]),
       edges=st.lists(st.floats(-2e6, 2e6), min_size=1, max_size=30),
       low=st.one_of(st.none(), st.floats(-3e6, 3e6)), high=st.one_of(st.none(), st.floats(-3e6, 3e6)))
def test_approximate_current_counts_should_equal_numpys_interpolation(points, edges, low, high) -> None:
    """The summary-vs-summary path computes np.interp's floats without numpy."""
    from mldata.stats.drift import approximate_current_counts

    points = sorted(points)
    cums = np.cumsum([count for _, count in points]).tolist()
    summary = {"n": cums[-1], "points": [[value, cum] for (value, _), cum in zip(points, cums)]}
    edges = sorted(set(edges))
    # the reference: what this function computed with numpy
    m = float(summary["n"])
    xs, ys = [float(v) for v, _ in points], [float(c) for c in cums]
    if low is not None and low < xs[0]:
        xs.insert(0, low)
        ys.insert(0, 0.0)
    if high is not None and high > xs[-1]:
        xs.append(high)
        ys.append(m)
    cdf = np.interp(np.asarray(edges, dtype=np.float64), xs, ys, left=0.0, right=m)
    cdf = np.clip(np.maximum.accumulate(cdf), 0.0, m)
    expected = np.diff(np.concatenate([[0.0], cdf, [m]])).tolist()
    assert approximate_current_counts(summary, edges, low, high) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 10**6), min_size=2, max_size=12), min_size=2, max_size=2))
def test_chi2_homogeneity_should_match_scipy(table) -> None:
    from mldata.stats.drift import _chi2_homogeneity

    width = min(len(row) for row in table)
    table = [row[:width] for row in table]
    assume(all(sum(row) > 0 for row in table) and all(a + b > 0 for a, b in zip(*table)))
    stat, p, dof = _chi2_homogeneity(table)
    expected = scipy.stats.chi2_contingency(table, correction=False)
    assert dof == expected[2]
    assert abs(stat - expected[0]) <= 1e-12 * max(1.0, expected[0])
    assert abs(p - expected[1]) <= 1e-9 * max(1.0, expected[1]) or abs(p - expected[1]) < 1e-12


def test_comparing_two_stored_profiles_should_not_import_numpy() -> None:
    import subprocess
    import sys

    rng = np.random.default_rng(5)
    n = 2_000
    base = _profile(x=rng.normal(size=n), cat=pa.array(rng.choice(["a", "b", "c"], size=n)))
    cur = _profile(x=rng.normal(0.5, 1, size=n), cat=pa.array(rng.choice(["a", "b", "d"], size=n)))
    expected = {name: r.to_dict() for name, r in drift_profiles(base, cur).items()}
    code = ("import json, sys; from mldata.stats.drift import drift_profiles; b, c = json.loads(sys.stdin.read());"
            "out = {k: r.to_dict() for k, r in drift_profiles(b, c).items()};"
            "print(json.dumps([out, 'numpy' in sys.modules]))")
    run = subprocess.run([sys.executable, "-c", code], input=json.dumps([base, cur]), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got, numpy_loaded = json.loads(run.stdout)
    assert not numpy_loaded
    assert got == json.loads(json.dumps(expected))


def test_summary_edges_should_have_one_type_as_before() -> None:
    """A summary read back from JSON may mix 5 and 5.5: the edges are all floats then (as numpy
    made them), and stay ints for datetime nanoseconds."""
    from mldata.stats.drift import _bins_from_summary

    edges, counts = _bins_from_summary({"resolution": 100, "n": 4, "points": [[5, 1], [5.5, 2], [7, 3], [8, 4]]}, 2)
    assert edges == [5.5] and all(type(e) is float for e in edges) and counts == [2, 2]
    edges, _ = _bins_from_summary({"resolution": 100, "n": 4, "points": [[10, 1], [20, 2], [30, 3], [40, 4]]}, 4)
    assert edges == [10, 20, 30] and all(type(e) is int for e in edges)
    np_edges, np_counts = baseline_bins_from_summary({"resolution": 100, "n": 4, "points": [[5, 1], [5.5, 2], [7, 3], [8, 4]]}, 2)
    assert np_edges.dtype == np.float64 and np_counts.tolist() == [2, 2]
