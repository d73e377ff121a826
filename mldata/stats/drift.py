"""Drift between a baseline and a current dataset, per column (§3.3-§3.11 of docs/metrics.md).

Numeric columns are binned at the baseline's exact order statistics (integer arithmetic,
right-closed bins, outer bins open); categorical columns at the baseline's top-K keys plus
``__other__``. On those bins: PSI and KL(current‖baseline) with an ε = 1e-4 floor and
renormalisation, the Jensen-Shannon distance (base 2, raw proportions), the sampling-noise
p-value of PSI, and a test (KS for numbers, χ² for categories). Severity comes from the gate
metric (PSI by default) and its thresholds; missing values and infinities are checked apart.

Baselines come in three forms, each with its own entry point:

* raw values on both sides: :func:`drift_numeric_raw`, :func:`drift_categorical`;
* a stored lockfile summary against current raw values: :func:`drift_numeric_vs_summary`,
  :func:`drift_categorical` with a :class:`CategoryCounts` from the profile, or, for a whole
  table streamed as record batches, :func:`drift_batches`. These are exact: the bins recovered
  from a summary equal the bins computed from the raw baseline;
* two summaries (two past builds): :func:`drift_profiles`, approximate for numeric columns.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mldata.formats import SUMMARY_RESOLUTION

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mldata.stats.profile import NumericData

# This module imports neither numpy, pyarrow nor the profiler (mldata.stats.profile) at load time,
# and comparing two stored profiles (drift_profiles) needs none of them: make's drift gate does
# that, often in the build process itself (a rebuild from cached parts), where importing numpy
# alone cost ~0.1 s. Drift of raw data imports numpy where it starts.


def _chi2_sf(x: float, dof: int) -> float:
    """chi2.sf(x, dof) for an integer ``dof`` >= 1: the regularised upper incomplete gamma
    function Q(dof/2, x/2), by its finite series for integer and half-integer order

        Q(m, y)       = sum_{i<m} e^-y y^i / i!                       (dof = 2m)
        Q(m + 1/2, y) = erfc(sqrt y) + sum_{1<=i<=m} e^-y y^(i-1/2) / Gamma(i + 1/2)

    with every term positive and computed in log space (no overflow, no cancellation): agrees
    with scipy.stats.chi2.sf to about 1e-13 relative (tested). scipy.special costs ~0.3 s to
    import, which make's drift gate paid on every rebuild for this one function.
    """
    if math.isnan(x):
        return math.nan
    if x <= 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    y = x / 2.0
    log_y = math.log(y)
    if dof % 2 == 0:
        total = 0.0
        for i in range(dof // 2):
            total += math.exp(-y + i * log_y - math.lgamma(i + 1.0))
        return min(total, 1.0)
    total = math.erfc(math.sqrt(y))
    for i in range(1, (dof - 1) // 2 + 1):
        total += math.exp(-y + (i - 0.5) * log_y - math.lgamma(i + 0.5))
    return min(total, 1.0)


def _chi2_homogeneity(table: Sequence[Sequence[float]]) -> tuple[float, float, int]:
    """Pearson's chi-square test of homogeneity without Yates correction: (statistic, p, dof),
    as scipy.stats.chi2_contingency(table, correction=False) computes it: expected counts
    row total * column total / total, and the sum of (observed - expected)**2 / expected (here
    correctly rounded, where scipy's numpy sum is pairwise: they agree to about 1e-15)."""
    observed = [[float(x) for x in row] for row in table]
    rows = [math.fsum(row) for row in observed]
    columns = [math.fsum(column) for column in zip(*observed)]
    total = math.fsum(rows)
    terms = []
    for row, row_total in zip(observed, rows):
        for count, column_total in zip(row, columns):
            expected = row_total * column_total / total
            terms.append((count - expected) * (count - expected) / expected)
    stat = math.fsum(terms)
    dof = (len(observed) - 1) * (len(columns) - 1)
    return stat, _chi2_sf(stat, dof), dof


def _scipy_stats() -> Any:
    """scipy.stats, imported on first use: it costs about a second, and a build that only
    compares profiles against thresholds (make's drift gate) rarely needs a p-value."""
    import scipy.stats

    return scipy.stats


#: Label of the trailing categorical bin that holds every key outside the baseline's top K.
OTHER_KEY = "__other__"
#: Metrics that can gate severity.
GATE_METRICS = ("psi", "kl", "js")
#: How many unseen categories are listed in ``unseen_top``.
UNSEEN_TOP = 10
#: Distinct keys per column counted exactly on the current side of a drift against a stored
#: summary. The baseline holds at most its top-K keys, so beyond this only the current side's
#: tail is pruned (and the result says ``approximate`` where that matters); counting the million
#: keys of an id column exactly took 2 s of a 5 s drift.
CURRENT_MAX_DISTINCT = 100_000


class Severity(str, enum.Enum):
    """How far a column drifted. ``ok`` < ``warn`` < ``fail``; the other two mean "not judged"."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    INSUFFICIENT_DATA = "insufficient_data"
    NOT_APPLICABLE = "not_applicable"


# Order used to combine the checks of one column: a real signal (warn, fail) wins, and "could not
# be judged" wins over "ok" so that an unchecked distribution is never reported as fine.
_RANK = {Severity.NOT_APPLICABLE: 0, Severity.OK: 1, Severity.INSUFFICIENT_DATA: 2, Severity.WARN: 3, Severity.FAIL: 4}


def worst(*levels: Severity) -> Severity:
    """The level that dominates when several checks of one column are combined."""
    return max(levels, key=_RANK.__getitem__, default=Severity.NOT_APPLICABLE)


# ---------------------------------------------------------------------------------------------
# Configuration (§3.11)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Lower bounds (inclusive) of the ``warn`` and ``fail`` levels of one metric."""

    warn: float
    fail: float


def _default_thresholds() -> dict[str, Thresholds]:
    return {
        "psi": Thresholds(0.10, 0.25),
        "kl": Thresholds(0.05, 0.125),
        "js": Thresholds(0.13, 0.21),
        "missing": Thresholds(0.05, 0.20),
    }


@dataclass(frozen=True)
class ColumnSettings:
    """Per-column drift settings.

    ``enabled``: None means the default for the column's kind (datetime columns are off, since a
    monotone time column drifts by construction; every other kind is on). ``type``: profile the
    column as another kind (``"categorical"`` for integer codes such as zip codes); it takes
    effect when the column is profiled, see :meth:`DriftConfig.column_types`.
    """

    enabled: bool | None = None
    type: str | None = None


@dataclass(frozen=True)
class DriftConfig:
    """The drift settings of docs/metrics.md §3.11, with their defaults.

    ``significance_alpha`` None disables the sampling-noise gate. ``missing`` thresholds apply to
    the absolute change of the missing (and ±inf) fraction.
    """

    bins: int = 10
    epsilon: float = 1e-4
    top_k: int = 100
    gate: str = "psi"
    thresholds: Mapping[str, Thresholds] = field(default_factory=_default_thresholds)
    significance_alpha: float | None = 0.05
    min_rows: int = 100
    columns: Mapping[str, ColumnSettings] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.bins, int) or self.bins < 2 or SUMMARY_RESOLUTION % self.bins:
            raise ValueError(f"drift.bins must be an integer >= 2 that divides {SUMMARY_RESOLUTION}"
                             f" (2, 4, 5, 10, 20, 25, 50 or 100), got {self.bins!r}")
        if not 0 < self.epsilon < 1:
            raise ValueError(f"drift.epsilon must be in (0, 1), got {self.epsilon!r}")
        if self.top_k < 1:
            raise ValueError(f"drift.top_k must be >= 1, got {self.top_k!r}")
        if self.gate not in GATE_METRICS:
            raise ValueError(f"drift.gate must be one of {', '.join(GATE_METRICS)}, got {self.gate!r}")
        thresholds = {**_default_thresholds(), **self.thresholds}
        for name, bounds in thresholds.items():
            if name not in _default_thresholds():
                raise ValueError(f"unknown drift threshold {name!r}; known: psi, kl, js, missing")
            if not 0 <= bounds.warn <= bounds.fail:
                raise ValueError(f"drift.thresholds.{name} needs 0 <= warn <= fail, got {bounds}")
        # private copies (plain dicts, so that the config pickles into worker processes)
        object.__setattr__(self, "thresholds", thresholds)
        object.__setattr__(self, "columns", dict(self.columns))
        if self.significance_alpha is not None and not 0 < self.significance_alpha < 1:
            raise ValueError(f"drift.significance_alpha must be in (0, 1) or null, got {self.significance_alpha!r}")
        if self.min_rows < 0:
            raise ValueError(f"drift.min_rows must be >= 0, got {self.min_rows!r}")
        for name, settings in self.columns.items():
            if settings.type not in (None, "numeric", "categorical"):
                raise ValueError(f"drift.columns.{name}.type must be numeric or categorical, got {settings.type!r}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> DriftConfig:
        """Build from the ``drift:`` mapping of mldata.yaml (§3.11).

        Also accepts the shorthand ``{warn: 0.1, fail: 0.25}`` for the PSI thresholds.
        """
        known = {"bins", "epsilon", "top_k", "gate", "thresholds", "significance_alpha", "min_rows",
                 "columns", "warn", "fail"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown drift settings {unknown}; known: {sorted(known)}")
        kwargs: dict[str, Any] = {k: raw[k] for k in ("bins", "epsilon", "top_k", "gate", "significance_alpha", "min_rows") if k in raw}
        thresholds = {name: Thresholds(float(pair[0]), float(pair[1])) for name, pair in raw.get("thresholds", {}).items()}
        if "warn" in raw or "fail" in raw:
            psi = thresholds.get("psi", _default_thresholds()["psi"])
            thresholds["psi"] = Thresholds(float(raw.get("warn", psi.warn)), float(raw.get("fail", psi.fail)))
        kwargs["thresholds"] = thresholds
        columns = {}
        for name, settings in (raw.get("columns") or {}).items():
            extra = sorted(set(settings) - {"enabled", "type"})
            if extra:
                raise ValueError(f"unknown settings {extra} for drift column {name!r}; known: enabled, type")
            columns[name] = ColumnSettings(enabled=settings.get("enabled"), type=settings.get("type"))
        kwargs["columns"] = columns
        return cls(**kwargs)

    def column_types(self) -> dict[str, str]:
        """Kind overrides to pass to ``profile_batches(types=...)``."""
        return {name: s.type for name, s in self.columns.items() if s.type is not None}

    def enabled(self, column: str, kind: str) -> bool:
        """Whether drift is computed for ``column`` of the given profile kind."""
        settings = self.columns.get(column)
        if settings is not None and settings.enabled is not None:
            return settings.enabled
        return kind != "datetime"


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountDrift:
    """Change in the share of missing (or +inf, or -inf) rows of a column (§3.9).

    ``delta`` = current fraction − baseline fraction; ``pvalue`` is the 2×2 χ² test (no Yates
    correction) on (count, rest) of both sides; ``severity`` uses the ``missing`` thresholds on
    |delta| and the same sampling-noise gate as PSI.
    """

    baseline_count: int
    baseline_total: int
    current_count: int
    current_total: int
    baseline_fraction: float | None
    current_fraction: float | None
    delta: float | None
    pvalue: float | None
    severity: Severity
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnDrift:
    """Drift of one column.

    ``severity`` is the overall level: the worst of ``distribution_severity`` (from the gate
    metric) and the missing/±inf checks. ``mode`` says what the baseline was: ``raw`` values,
    a stored ``summary`` (exact), two summaries (``approximate``, outside the 1e-9 guarantee), or
    ``none`` when nothing was compared.

    Bins: numeric columns have ``edges`` (the interior edges; bins (-inf, e1], (e1, e2], ...,
    (em, +inf)); categorical columns have ``keys`` (top-K keys then ``__other__``). The counts are
    per bin before empty-on-both-sides bins are dropped; ``n_bins`` (B) counts the bins kept.
    ``n_baseline``/``n_current`` are the finite (numeric) or non-missing (categorical) values.
    """

    kind: str
    mode: str
    severity: Severity
    distribution_severity: Severity
    notes: tuple[str, ...] = ()
    approximate: bool = False
    n_baseline: float | None = None
    n_current: float | None = None
    n_bins: int | None = None
    edges: tuple[Any, ...] | None = None
    keys: tuple[str, ...] | None = None
    baseline_counts: tuple[Any, ...] | None = None
    current_counts: tuple[Any, ...] | None = None
    psi: float | None = None
    kl: float | None = None
    js: float | None = None
    psi_pvalue: float | None = None
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    ks_bounds: tuple[float, float] | None = None
    ks_pvalue_bounds: tuple[float, float] | None = None
    chi2: float | None = None
    chi2_pvalue: float | None = None
    chi2_dof: int | None = None
    cramers_v: float | None = None
    unseen_fraction: float | None = None
    unseen_top: tuple[tuple[str, int], ...] | None = None
    missing: CountDrift | None = None
    pos_inf: CountDrift | None = None
    neg_inf: CountDrift | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: enums as their values, tuples as lists, non-finite floats as None."""
        return _json_ready(dataclasses.asdict(self))


@dataclass(frozen=True)
class KSResult:
    """Two-sample KS: the exact statistic and p-value, or (from a stored baseline) brackets."""

    statistic: float | None = None
    pvalue: float | None = None
    bounds: tuple[float, float] | None = None
    pvalue_bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class CategoryCounts:
    """Category counts of one side of a categorical comparison.

    ``counts`` maps keys to rows for the keys that are known; ``other`` counts non-missing rows
    whose key is not listed (a truncated tail, as in a stored top-K); 0 means ``counts`` is
    complete. ``n_missing``, when known, enables the missing-value check.
    """

    counts: Mapping[str, float]
    other: float = 0
    n_missing: int | None = None

    @classmethod
    def from_profile(cls, column: Mapping[str, Any]) -> CategoryCounts:
        """From a categorical/boolean column of a full or compact profile."""
        return cls({key: count for key, count in column["top_k"]}, column["other_count"], column.get("n_missing"))

    @property
    def total(self) -> float:
        """Non-missing rows."""
        return sum(self.counts.values()) + self.other


# ---------------------------------------------------------------------------------------------
# Binning (§3.3) and recovery from a stored summary (§3.2)
# ---------------------------------------------------------------------------------------------


def numeric_edges(sorted_baseline: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges: the unique order statistics x_(j), j = ceil(n*i/bins), i = 1..bins-1.

    Integer arithmetic picks the order statistic; ``np.quantile(method="inverted_cdf")`` does not
    (it computes n*p in floating point and can pick x_(j+1)).
    """
    import numpy as np

    from mldata.stats.sketch import sorted_unique

    n = int(sorted_baseline.size)
    if n == 0:
        raise ValueError("no baseline values to bin")

    candidates = [sorted_baseline[(n * i + bins - 1) // bins - 1] for i in range(1, bins)]
    return sorted_unique(np.asarray(candidates, dtype=sorted_baseline.dtype))


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Rows per right-closed bin (-inf, e1], (e1, e2], ..., (em, +inf)."""
    import numpy as np

    index = np.searchsorted(edges, values, side="left")
    return np.bincount(index, minlength=len(edges) + 1).astype(np.int64)


def baseline_bins_from_summary(drift_summary: Mapping[str, Any], bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact baseline ``(edges, counts)`` for ``bins`` bins, from a stored §3.2 drift summary.

    Edge i is x_(t) with t = ceil(n*i/bins); since bins divides R, t is one of the ranks the
    summary stored, and x_(t) is the first stored point whose cumulative count reaches t. Counts
    are differences of cumulative counts. The result equals binning the raw baseline.
    """
    import numpy as np

    edges, counts = _bins_from_summary(drift_summary, bins)
    return np.asarray(edges), np.asarray(counts, dtype=np.int64)


def _bins_from_summary(drift_summary: Mapping[str, Any], bins: int) -> tuple[list[Any], list[int]]:
    """:func:`baseline_bins_from_summary` as plain lists (no numpy: make's drift gate)."""
    resolution = int(drift_summary["resolution"])
    n = int(drift_summary["n"])
    points = drift_summary["points"]
    if bins < 2 or resolution % bins:
        raise ValueError(f"bins={bins} does not divide the summary resolution {resolution}")
    if n == 0:
        raise ValueError("the summary holds no values")
    values = [point[0] for point in points]
    if any(isinstance(v, float) for v in values):  # one type for all edges, as np.asarray gives
        values = [float(v) for v in values]
    cums = [int(point[1]) for point in points]
    if any(b <= a for a, b in zip(cums, cums[1:])) or any(b <= a for a, b in zip(values, values[1:])) or cums[-1] > n:
        raise ValueError("inconsistent drift_summary: points must increase and counts stay <= n")
    edges: list[Any] = []
    edge_cums: list[int] = []
    for i in range(1, bins):
        rank = (n * i + bins - 1) // bins
        k = bisect.bisect_left(cums, rank)
        if k == len(cums):
            raise ValueError(f"inconsistent drift_summary: no stored point reaches rank {rank} of {n}")
        if edges and values[k] == edges[-1]:
            continue
        edges.append(values[k])
        edge_cums.append(cums[k])
    bounds = [0, *edge_cums, n]
    return edges, [b - a for a, b in zip(bounds, bounds[1:])]


# ---------------------------------------------------------------------------------------------
# Metrics on aligned bins (§3.4-§3.7)
# ---------------------------------------------------------------------------------------------


def _smoothed(counts: Sequence[float], epsilon: float) -> list[float]:
    """Proportions floored at ε and renormalised to sum to 1."""
    total = math.fsum(counts)
    floored = [max(count / total, epsilon) for count in counts]
    norm = math.fsum(floored)
    return [value / norm for value in floored]


def psi_kl_js(baseline: Sequence[float], current: Sequence[float], epsilon: float) -> tuple[float, float, float]:
    """PSI, KL(current‖baseline) in nats and the JS distance (base 2) of two aligned bin counts.

    Both sides must have a positive total. Bins empty on both sides contribute nothing to any of
    the three: they are dropped here (as callers do, so that B counts only real bins), since
    their floor would otherwise enter the renormalisation of the other bins.
    """
    kept = [(b, c) for b, c in zip(baseline, current) if b or c]
    baseline, current = [b for b, _ in kept], [c for _, c in kept]
    p = _smoothed(baseline, epsilon)
    q = _smoothed(current, epsilon)
    psi = math.fsum((qi - pi) * math.log(qi / pi) for pi, qi in zip(p, q))
    kl = math.fsum(qi * math.log(qi / pi) for pi, qi in zip(p, q))
    n, m = math.fsum(baseline), math.fsum(current)
    terms = []
    for b, c in zip(baseline, current):
        pi, qi = b / n, c / m
        mi = (pi + qi) / 2
        if pi > 0:
            terms.append(pi * math.log2(pi / mi))
        if qi > 0:
            terms.append(qi * math.log2(qi / mi))
    half = math.fsum(terms) / 2
    js = math.sqrt(min(max(half, 0.0), 1.0))
    return psi, kl, js


def psi_pvalue(psi: float, n: float, m: float, n_bins: int) -> float:
    """Sampling-noise p-value of a PSI: chi2.sf(PSI*n*m/(n+m), B-1); 1 when B < 2."""
    if n_bins < 2:
        return 1.0
    return _chi2_sf(psi * n * m / (n + m), n_bins - 1)


def _level(value: float, thresholds: Thresholds) -> Severity:
    if value >= thresholds.fail:
        return Severity.FAIL
    if value >= thresholds.warn:
        return Severity.WARN
    return Severity.OK


@dataclass(frozen=True)
class _Compared:
    """Metrics of two aligned bin-count vectors (after dropping bins empty on both sides)."""

    n: float
    m: float
    n_bins: int
    psi: float
    kl: float
    js: float
    psi_pvalue: float
    kept_baseline: tuple[float, ...]
    kept_current: tuple[float, ...]


def _compare(baseline_counts: Sequence[float], current_counts: Sequence[float], config: DriftConfig) -> _Compared:
    kept = [(b, c) for b, c in zip(baseline_counts, current_counts) if b > 0 or c > 0]
    kept_b = tuple(b for b, _ in kept)
    kept_c = tuple(c for _, c in kept)
    psi, kl, js = psi_kl_js(kept_b, kept_c, config.epsilon)
    n, m = _total(kept_b), _total(kept_c)
    return _Compared(n, m, len(kept), psi, kl, js, psi_pvalue(psi, n, m, len(kept)), kept_b, kept_c)


def _total(counts: Sequence[float]) -> float:
    """Sum of bin counts: exact integers for real counts, fsum for estimated (float) counts."""
    if all(isinstance(count, int) for count in counts):
        return sum(counts)
    return math.fsum(counts)


def _distribution_severity(result: _Compared, config: DriftConfig) -> tuple[Severity, tuple[str, ...]]:
    if result.n < config.min_rows or result.m < config.min_rows:
        return Severity.INSUFFICIENT_DATA, ("below_min_rows",)
    value = {"psi": result.psi, "kl": result.kl, "js": result.js}[config.gate]
    level = _level(value, config.thresholds[config.gate])
    alpha = config.significance_alpha
    if level is not Severity.OK and alpha is not None and result.psi_pvalue >= alpha:
        return Severity.OK, ("not_significant",)
    return level, ()


# ---------------------------------------------------------------------------------------------
# Missing values and infinities (§3.9)
# ---------------------------------------------------------------------------------------------


def count_drift(baseline_count: int, baseline_total: int, current_count: int, current_total: int,
                config: DriftConfig) -> CountDrift:
    """Missing-value (or ±inf) drift: change of the share of such rows between two sides."""
    counts = (int(baseline_count), int(baseline_total), int(current_count), int(current_total))
    if baseline_total == 0 or current_total == 0:
        return CountDrift(*counts, None, None, None, None, Severity.INSUFFICIENT_DATA, ("no_rows",))
    fb = baseline_count / baseline_total
    fc = current_count / current_total
    # one rounding of the exact rational difference, so 30% - 10% is 0.2 and reaches a 0.2 bound
    delta = (current_count * baseline_total - baseline_count * current_total) / (baseline_total * current_total)
    table = [[baseline_count, baseline_total - baseline_count], [current_count, current_total - current_count]]
    if min(table[0][0] + table[1][0], table[0][1] + table[1][1]) == 0:
        pvalue = 1.0  # the same share (all or none) on both sides: nothing to test
    else:
        pvalue = _chi2_homogeneity(table)[1]
    notes: tuple[str, ...] = ()
    if baseline_total < config.min_rows or current_total < config.min_rows:
        severity, notes = Severity.INSUFFICIENT_DATA, ("below_min_rows",)
    else:
        severity = _level(abs(delta), config.thresholds["missing"])
        alpha = config.significance_alpha
        if severity is not Severity.OK and alpha is not None and pvalue >= alpha:
            severity, notes = Severity.OK, ("not_significant",)
    return CountDrift(*counts, fb, fc, delta, pvalue, severity, notes)


# ---------------------------------------------------------------------------------------------
# Numeric drift
# ---------------------------------------------------------------------------------------------


def drift_numeric_raw(baseline: Any, current: Any, config: DriftConfig = DriftConfig()) -> ColumnDrift:
    """Numeric drift of raw values against raw values (both builds available).

    ``baseline``/``current``: numpy arrays, sequences or Arrow arrays; null/NaN are missing and
    ±inf are counted apart (both are checked by the missing/inf checks, not the distribution).
    KS is exact: ``_scipy_stats().ks_2samp(method="asymp")``.
    """
    import numpy as np

    from mldata.stats.profile import numeric_data

    b = numeric_data(baseline)
    c = numeric_data(current)
    checks = _numeric_count_checks(b.n, b.n_missing, b.n_pos_inf, b.n_neg_inf, c, config)
    if b.n_finite == 0 or c.n_finite == 0:
        return _insufficient(b.kind, "raw", b.n_finite, c.n_finite, checks)
    edges = numeric_edges(b.values, config.bins)
    with np.errstate(divide="ignore"):  # scipy divides by round(nm/(n+m)), which is 0 for n = m = 1
        ks = _scipy_stats().ks_2samp(b.values, c.values, alternative="two-sided", method="asymp")
    return _numeric_result(b.kind, "raw", edges, bin_counts(b.values, edges), bin_counts(c.values, edges), config, checks,
                           ks=KSResult(statistic=float(ks.statistic), pvalue=float(ks.pvalue)))


def drift_numeric_vs_summary(baseline_summary: Mapping[str, Any], current: Any,
                             config: DriftConfig = DriftConfig()) -> ColumnDrift:
    """Numeric drift of raw current values against a stored baseline summary (exact).

    ``baseline_summary`` is a numeric (or datetime) column of a compact/full profile, or just its
    ``drift_summary``. PSI, KL and JS equal the raw-vs-raw values exactly; KS is reported as the
    bracket ``ks_bounds = (D_lower, D_upper)`` that contains the exact statistic.
    """
    from mldata.stats.profile import numeric_data

    return _numeric_vs_summary(baseline_summary, numeric_data(current), config)


def _numeric_vs_summary(baseline: Mapping[str, Any], current: NumericData, config: DriftConfig) -> ColumnDrift:
    import numpy as np

    summary = baseline["drift_summary"] if "drift_summary" in baseline else baseline
    kind = baseline.get("type", current.kind)
    checks = {}  # a bare drift_summary has no missing/inf counts to compare
    if "n_missing" in baseline:
        checks = _numeric_count_checks(baseline["n"], baseline["n_missing"], baseline.get("n_pos_inf", 0),
                                       baseline.get("n_neg_inf", 0), current, config)
    n = int(summary["n"])
    if n == 0 or current.n_finite == 0:
        return _insufficient(kind, "summary", n, current.n_finite, checks)
    edges, b_counts = baseline_bins_from_summary(summary, config.bins)
    values = current.values
    d_lower, d_upper = ks_bounds_from_summary(summary, values)
    big_n = np.round(n * current.n_finite / (n + current.n_finite))
    with np.errstate(divide="ignore"):  # as in ks_2samp: big_n is 0 for n = m = 1
        p_bounds = (float(_scipy_stats().kstwo.sf(d_upper, big_n)), float(_scipy_stats().kstwo.sf(d_lower, big_n)))
    return _numeric_result(kind, "summary", edges, b_counts, bin_counts(values, edges), config, checks,
                           ks=KSResult(bounds=(d_lower, d_upper), pvalue_bounds=p_bounds))


def ks_bounds_from_summary(drift_summary: Mapping[str, Any], current_sorted: np.ndarray) -> tuple[float, float]:
    """Bracket [D_lower, D_upper] of the two-sample KS statistic from a stored baseline summary.

    F_b is known exactly at the stored points t only: D_lower = max_t |F_b(t) - F_c(t)|. Between
    consecutive points (and in the two open ends) both CDFs are monotone, so
    D_upper = max over gaps of max(F_b(t+) - F_c(t-), F_c(t+) - F_b(t-)).
    """
    import numpy as np

    n = int(drift_summary["n"])
    m = int(current_sorted.size)
    points = drift_summary["points"]
    t = np.asarray([point[0] for point in points])
    fb = [0.0] + [int(point[1]) / n for point in points] + [1.0]
    fc = [0.0] + (np.searchsorted(current_sorted, t, side="right") / m).tolist() + [1.0]
    d_lower = max((abs(b - c) for b, c in zip(fb[1:-1], fc[1:-1])), default=0.0)
    d_upper = max(max(fb[k + 1] - fc[k], fc[k + 1] - fb[k]) for k in range(len(fb) - 1))
    return float(d_lower), float(max(d_upper, d_lower))


def _numeric_result(kind: str, mode: str, edges: np.ndarray, b_counts: Sequence[float], c_counts: Sequence[float],
                    config: DriftConfig, checks: Mapping[str, CountDrift], ks: KSResult | None = None) -> ColumnDrift:
    b_counts = [_plain(x) for x in b_counts]
    c_counts = [_plain(x) for x in c_counts]
    result = _compare(b_counts, c_counts, config)
    severity, notes = _distribution_severity(result, config)
    approximate = mode == "approximate"
    if approximate:
        notes = ("approximate", *notes)
    return ColumnDrift(
        kind=kind, mode=mode, severity=worst(severity, *(check.severity for check in checks.values())),
        distribution_severity=severity, notes=notes, approximate=approximate,
        n_baseline=_plain(result.n), n_current=_plain(result.m), n_bins=result.n_bins,
        edges=tuple(_plain(e) for e in edges), baseline_counts=tuple(b_counts), current_counts=tuple(c_counts),
        psi=result.psi, kl=result.kl, js=result.js, psi_pvalue=result.psi_pvalue,
        ks_statistic=ks.statistic if ks else None, ks_pvalue=ks.pvalue if ks else None,
        ks_bounds=ks.bounds if ks else None, ks_pvalue_bounds=ks.pvalue_bounds if ks else None,
        missing=checks.get("missing"), pos_inf=checks.get("pos_inf"), neg_inf=checks.get("neg_inf"),
    )


def _numeric_count_checks(n: int, n_missing: int, n_pos_inf: int, n_neg_inf: int, current: NumericData,
                          config: DriftConfig) -> dict[str, CountDrift]:
    checks = {"missing": count_drift(n_missing, n, current.n_missing, current.n, config)}
    if current.kind == "numeric":
        checks["pos_inf"] = count_drift(n_pos_inf, n, current.n_pos_inf, current.n, config)
        checks["neg_inf"] = count_drift(n_neg_inf, n, current.n_neg_inf, current.n, config)
    return checks


def _insufficient(kind: str, mode: str, n: float, m: float, checks: Mapping[str, CountDrift]) -> ColumnDrift:
    """No finite values on one side: metrics are None, the distribution is insufficient_data."""
    level = Severity.INSUFFICIENT_DATA
    return ColumnDrift(kind=kind, mode=mode, severity=worst(level, *(c.severity for c in checks.values())),
                       distribution_severity=level, notes=("no_values",), n_baseline=n, n_current=m,
                       missing=checks.get("missing"), pos_inf=checks.get("pos_inf"), neg_inf=checks.get("neg_inf"))


# ---------------------------------------------------------------------------------------------
# Summary vs summary (§3.10)
# ---------------------------------------------------------------------------------------------


def approximate_current_counts(current_summary: Mapping[str, Any], edges: Sequence[Any],
                               current_min: float | None, current_max: float | None) -> list[float]:
    """Estimated current rows per baseline bin when the current side is only a summary.

    The current CDF is linearly interpolated between its stored (value, cumulative count) points,
    uniform in the tails between the extreme points and min/max, and clamped to [0, m]. (Plain
    floats, computed as ``np.interp`` computes them: no numpy for make's drift gate.)
    """
    m = float(current_summary["n"])
    xs = [float(point[0]) for point in current_summary["points"]]
    ys = [float(point[1]) for point in current_summary["points"]]
    if current_min is not None and current_min < xs[0]:
        xs.insert(0, float(current_min))
        ys.insert(0, 0.0)
    if current_max is not None and current_max > xs[-1]:
        xs.append(float(current_max))
        ys.append(m)
    cdf: list[float] = []
    running = -math.inf
    for edge in edges:
        running = max(running, _interp(float(edge), xs, ys, 0.0, m))  # a CDF does not decrease
        cdf.append(min(max(running, 0.0), m))
    bounds = [0.0, *cdf, m]
    return [b - a for a, b in zip(bounds, bounds[1:])]


def _interp(x: float, xp: Sequence[float], fp: Sequence[float], left: float, right: float) -> float:
    """``np.interp(x, xp, fp, left, right)`` for one point and increasing ``xp``, with numpy's
    operations and special cases (so the same float)."""
    if x > xp[-1]:
        return right
    if x < xp[0]:
        return left
    if x == xp[-1]:
        return fp[-1]
    j = bisect.bisect_right(xp, x) - 1
    if xp[j] == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    value = slope * (x - xp[j]) + fp[j]
    if math.isnan(value):  # an infinite slope: numpy retries from the right end, then the flat case
        value = slope * (x - xp[j + 1]) + fp[j + 1]
        if math.isnan(value) and fp[j] == fp[j + 1]:
            value = fp[j]
    return value


def _numeric_summaries(baseline: Mapping[str, Any], current: Mapping[str, Any], config: DriftConfig) -> ColumnDrift:
    kind = baseline["type"]
    n, m = int(baseline["drift_summary"]["n"]), int(current["drift_summary"]["n"])
    checks = {"missing": count_drift(baseline["n_missing"], baseline["n"], current["n_missing"], current["n"], config)}
    if kind == "numeric":
        checks["pos_inf"] = count_drift(baseline["n_pos_inf"], baseline["n"], current["n_pos_inf"], current["n"], config)
        checks["neg_inf"] = count_drift(baseline["n_neg_inf"], baseline["n"], current["n_neg_inf"], current["n"], config)
    if n == 0 or m == 0:
        return _insufficient(kind, "approximate", n, m, checks)
    edges, b_counts = _bins_from_summary(baseline["drift_summary"], config.bins)
    lo, hi = current.get("min"), current.get("max")
    if kind == "datetime":
        from mldata.stats.timestamps import parse_iso_ns  # numpy: datetime drift is opt-in

        lo, hi = (parse_iso_ns(lo) if lo else None), (parse_iso_ns(hi) if hi else None)
    c_counts = approximate_current_counts(current["drift_summary"], edges, lo, hi)
    return _numeric_result(kind, "approximate", edges, b_counts, c_counts, config, checks)


# ---------------------------------------------------------------------------------------------
# Categorical drift (§3.7)
# ---------------------------------------------------------------------------------------------


def drift_categorical(baseline_counts: Mapping[str, float] | CategoryCounts,
                      current_counts: Mapping[str, float] | CategoryCounts,
                      config: DriftConfig = DriftConfig(), *, kind: str = "categorical") -> ColumnDrift:
    """Categorical (or boolean) drift on the baseline's top-K keys plus ``__other__``.

    Either side is a full ``{key: count}`` mapping or a :class:`CategoryCounts` (for example from
    a stored profile's ``top_k``/``other_count``). χ² is Pearson's test of homogeneity on the 2×B
    table (no Yates correction) with Cramér's V = sqrt(χ²/(n+m)). The result is ``approximate``
    when the current side's counts of some baseline keys are unknown (hidden in its tail).
    """
    base = baseline_counts if isinstance(baseline_counts, CategoryCounts) else CategoryCounts(baseline_counts)
    cur = current_counts if isinstance(current_counts, CategoryCounts) else CategoryCounts(current_counts)
    mode = "summary" if isinstance(baseline_counts, CategoryCounts) else "raw"
    checks = {}
    if base.n_missing is not None and cur.n_missing is not None:
        checks["missing"] = count_drift(base.n_missing, base.n_missing + base.total, cur.n_missing,
                                        cur.n_missing + cur.total, config)
    n, m = base.total, cur.total
    if n == 0 or m == 0:
        return _insufficient(kind, mode, _plain(n), _plain(m), checks)

    ranked = sorted(base.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top, tail = ranked[:config.top_k], ranked[config.top_k:]
    keys = [key for key, _ in top] + [OTHER_KEY]
    b_bins = [count for _, count in top] + [base.other + sum(count for _, count in tail)]
    c_known = [cur.counts.get(key, 0) for key, _ in top]
    c_bins = c_known + [m - sum(c_known)]
    approximate = cur.other > 0 and any(key not in cur.counts for key, _ in top)

    unseen = sorted(((key, count) for key, count in cur.counts.items() if key not in base.counts and count > 0),
                    key=lambda kv: (-kv[1], kv[0]))
    notes: list[str] = []
    if base.other > 0 or cur.other > 0:
        notes.append("unseen_fraction_approximate")  # a truncated tail hides which keys are new

    result = _compare(b_bins, c_bins, config)
    if result.n_bins < 2:
        chi2, chi2_p, dof = 0.0, 1.0, 0
    else:
        chi2, chi2_p, dof = _chi2_homogeneity([list(result.kept_baseline), list(result.kept_current)])
    severity, gate_notes = _distribution_severity(result, config)
    if approximate:
        notes.insert(0, "approximate")
    return ColumnDrift(
        kind=kind, mode=mode, severity=worst(severity, *(c.severity for c in checks.values())),
        distribution_severity=severity, notes=tuple(notes) + gate_notes, approximate=approximate,
        n_baseline=_plain(n), n_current=_plain(m), n_bins=result.n_bins, keys=tuple(keys),
        baseline_counts=tuple(_plain(x) for x in b_bins), current_counts=tuple(_plain(x) for x in c_bins),
        psi=result.psi, kl=result.kl, js=result.js, psi_pvalue=result.psi_pvalue,
        chi2=chi2, chi2_pvalue=chi2_p, chi2_dof=dof, cramers_v=math.sqrt(chi2 / (result.n + result.m)),
        unseen_fraction=sum(count for _, count in unseen) / m,
        unseen_top=tuple((key, _plain(count)) for key, count in unseen[:UNSEEN_TOP]),
        missing=checks.get("missing"),
    )


# ---------------------------------------------------------------------------------------------
# Whole tables
# ---------------------------------------------------------------------------------------------


def drift_profiles(baseline: Mapping[str, Any], current: Mapping[str, Any],
                   config: DriftConfig = DriftConfig()) -> dict[str, ColumnDrift]:
    """Drift of every column between two stored profiles (compact or full), no raw data.

    Categorical columns are exact when the current top-K holds every baseline key (or its tail is
    empty); numeric columns are approximate (§3.10). Columns present on one side only are
    ``not_applicable`` with a note ``column_added``/``column_removed``.
    """
    current_columns = current["columns"]
    kinds = {name: column["type"] for name, column in current_columns.items()}
    return _drift_table(baseline["columns"], kinds, config,
                        lambda name, base: _drift_column_summaries(base, current_columns[name], config))


def drift_batches(baseline: Mapping[str, Any], schema: pa.Schema, batches: Iterable[pa.RecordBatch],
                  config: DriftConfig = DriftConfig()) -> dict[str, ColumnDrift]:
    """Exact drift of a table streamed as record batches against a stored baseline profile.

    One pass over ``batches`` collects the baseline's enabled columns (a numeric column costs 8
    bytes per row); each is compared with its stored summary as :func:`drift_numeric_vs_summary`
    and :func:`drift_categorical` do. A column the baseline profiled as categorical is read as
    categorical here too, whatever its Arrow type.
    """
    from mldata.stats.profile import CategoricalData, NumericData, collect_columns, column_kind

    base_columns = baseline["columns"]
    kinds = {field.name: column_kind(field.type) for field in schema}
    types = {}
    for name, kind in kinds.items():
        base = base_columns.get(name)
        if base is not None and base["type"] == "categorical" and kind in ("numeric", "boolean"):
            types[name] = kinds[name] = "categorical"
    wanted = [name for name in schema.names if name in base_columns and config.enabled(name, base_columns[name]["type"])
              and _family(kinds[name]) == _family(base_columns[name]["type"])]
    data = collect_columns(schema, batches, columns=wanted, types={k: v for k, v in types.items() if k in wanted},
                           max_distinct=CURRENT_MAX_DISTINCT)

    def compare(name: str, base: Mapping[str, Any]) -> ColumnDrift:
        column = data.pop(name)  # free each column once compared
        if isinstance(column, NumericData):
            if "drift_summary" not in base:
                return _no_summary(base["type"])
            return _numeric_vs_summary(base, column, config)
        if isinstance(column, CategoricalData):
            cur = CategoryCounts(column.counts, column.other_count, column.n_missing)
            return drift_categorical(CategoryCounts.from_profile(base), cur, config, kind=base["type"])
        return _other_kind(base["type"], base["n_missing"], base["n"], column.n_missing, column.n, config)

    return _drift_table(base_columns, kinds, config, compare)


def _drift_table(baseline_columns: Mapping[str, Any], current_kinds: Mapping[str, str], config: DriftConfig,
                 compare: Callable[[str, Mapping[str, Any]], ColumnDrift]) -> dict[str, ColumnDrift]:
    """Per-column drift in baseline column order, then columns only the current side has."""
    out: dict[str, ColumnDrift] = {}
    for name, base in baseline_columns.items():
        kind = base["type"]
        if name not in current_kinds:
            out[name] = _not_applicable(kind, "column_removed")
        elif not config.enabled(name, kind):
            out[name] = _not_applicable(kind, "disabled")
        elif _family(kind) != _family(current_kinds[name]):
            out[name] = _not_applicable(kind, f"type_changed:{kind}->{current_kinds[name]}")
        else:
            out[name] = compare(name, base)
    for name, kind in current_kinds.items():
        if name not in baseline_columns:
            out[name] = _not_applicable(kind, "column_added")
    return out


def _drift_column_summaries(base: Mapping[str, Any], cur: Mapping[str, Any], config: DriftConfig) -> ColumnDrift:
    kind = base["type"]
    if kind in ("numeric", "datetime"):
        if "drift_summary" not in base or "drift_summary" not in cur:
            return _no_summary(kind)
        return _numeric_summaries(base, cur, config)
    if kind in ("categorical", "boolean"):
        return drift_categorical(CategoryCounts.from_profile(base), CategoryCounts.from_profile(cur), config, kind=kind)
    return _other_kind(kind, base["n_missing"], base["n"], cur["n_missing"], cur["n"], config)


def _other_kind(kind: str, b_missing: int, b_n: int, c_missing: int, c_n: int, config: DriftConfig) -> ColumnDrift:
    """A column without a distribution (binary, nested): only its missing values are checked."""
    missing = count_drift(b_missing, b_n, c_missing, c_n, config)
    return ColumnDrift(kind=kind, mode="none", severity=worst(Severity.NOT_APPLICABLE, missing.severity),
                       distribution_severity=Severity.NOT_APPLICABLE, notes=("no_distribution",), missing=missing)


def _no_summary(kind: str) -> ColumnDrift:
    # e.g. a datetime column whose baseline was built before its drift was enabled
    level = Severity.INSUFFICIENT_DATA
    return ColumnDrift(kind=kind, mode="none", severity=level, distribution_severity=level, notes=("no_drift_summary",))


def _not_applicable(kind: str, note: str) -> ColumnDrift:
    level = Severity.NOT_APPLICABLE
    return ColumnDrift(kind=kind, mode="none", severity=level, distribution_severity=level, notes=(note,))


def _family(kind: str) -> str:
    """Kinds that can be compared with each other: a boolean is a 2-key categorical."""
    return "categorical" if kind == "boolean" else kind


# ---------------------------------------------------------------------------------------------
# JSON helpers
# ---------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A count or edge as a plain Python number: integral floats of counts stay as they are."""
    np = sys.modules.get("numpy")  # a numpy number exists only if numpy was imported
    if np is not None:
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
    return value


def _json_ready(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    value = _plain(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value
