"""Column profiles: streaming, bounded-memory statistics of Arrow record batches.

The definitions are normative and live in ``docs/metrics.md`` (§3.0-§3.2 of the metric
specification). In short, per column kind:

* **numeric** (integer, floating, decimal): counts of missing (null or NaN), +inf, -inf, finite
  values, zeros, negatives and distinct values; mean, m2, variance and std (ddof=1), min, max,
  bias-corrected skewness and excess kurtosis, type-7 quantiles, a 20-bin display histogram, and
  the ``drift_summary`` that drift is computed from.
* **categorical** (strings, dictionary-encoded columns, or any column declared categorical):
  counts, exact distinct count (estimated, and labelled so, above ``max_distinct`` keys), the top
  K categories, the count outside them, and for strings empty-string count and length statistics.
* **boolean**: the categorical fields plus ``n_true``, ``n_false`` and ``true_fraction``.
* **datetime** (timestamp, date): min, max and type-1 quantiles as ISO-8601 UTC.
* **other** (binary, nested, ...): ``n`` and ``n_missing`` only.

Memory. Batches are read once, column by column. A numeric or datetime column keeps its finite
values as one numpy array (8 bytes per row) because exact quantiles and the drift summary need the
sorted values; everything else a column keeps is bounded (category counts up to ``max_distinct``
keys, string-length counts). With ``profile_batches`` every selected numeric column is held at
once; to keep the peak at about one column, call it once per column with a reader that projects
that column (``columns=[name]``), as :func:`profile_columns` does.

Integer columns are profiled as float64, as the metric definitions require (exact up to 2**53).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# METRICS_VERSION and SUMMARY_RESOLUTION (R, §3.2) are defined apart, in mldata/formats.py, and
# re-exported here; format_ns and parse_iso_ns live in stats/timestamps.py and are re-exported too.
from mldata.formats import METRICS_VERSION, SUMMARY_RESOLUTION  # noqa: F401
from mldata.stats.exactsum import exact_mean, sum_of_squares
from mldata.stats.sketch import DistinctSketch
from mldata.stats.timestamps import format_ns, parse_iso_ns  # noqa: F401

#: K: number of categories kept in ``top_k`` (§3.1).
TOP_K = 100
#: Distinct categories counted exactly per column; above it the count is an estimate.
MAX_DISTINCT = 1_000_000
#: Bins of the display histogram (§3.1).
HISTOGRAM_BINS = 20
#: Quantiles reported for numeric and datetime columns: name and percent.
QUANTILES: tuple[tuple[str, int], ...] = (
    ("p01", 1), ("p05", 5), ("p25", 25), ("p50", 50), ("p75", 75), ("p95", 95), ("p99", 99),
)

_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


# ---------------------------------------------------------------------------------------------
# What one streaming pass collects per column
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumericData:
    """The finite values of a numeric or datetime column, sorted, with its missing/inf counts.

    ``values`` is float64 for numeric columns (with -0.0 normalised to 0.0, so equal values have
    one representation) and int64 epoch nanoseconds for datetime columns. ``n`` counts all rows;
    ``n_missing`` null or NaN rows; ``n_pos_inf``/``n_neg_inf`` the infinities.
    """

    kind: str
    arrow_type: str
    n: int
    n_missing: int
    n_pos_inf: int
    n_neg_inf: int
    values: np.ndarray

    @property
    def n_finite(self) -> int:
        """Number of finite values: neither missing nor infinite."""
        return int(self.values.size)


@dataclass(frozen=True)
class CategoricalData:
    """Category counts of a categorical or boolean column.

    ``counts`` maps the category key (§3.1 encoding) to its row count. ``other_count`` is the
    number of non-missing rows not in ``counts``: 0 unless the column had more than
    ``max_distinct`` keys, in which case rare keys were pruned and the counts are lower bounds.
    ``n_distinct_estimate`` is None when ``len(counts)`` is the exact distinct count.
    ``string_lengths`` maps a length in code points to its row count (strings only).
    """

    kind: str
    arrow_type: str
    n: int
    n_missing: int
    counts: Mapping[str, int]
    other_count: int
    n_distinct_estimate: int | None
    string_lengths: dict[int, int] | None


@dataclass(frozen=True)
class OtherData:
    """A column of a type without a distribution profile (binary, nested, ...)."""

    kind: str
    arrow_type: str
    n: int
    n_missing: int


ColumnData = Union[NumericData, CategoricalData, OtherData]


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def column_kind(arrow_type: pa.DataType) -> str:
    """The profile kind of an Arrow type: numeric, categorical, boolean, datetime or other."""
    t = arrow_type
    if pa.types.is_dictionary(t):
        value = column_kind(t.value_type)
        return "categorical" if value in ("numeric", "categorical", "boolean") else "other"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if _is_string(t):
        return "categorical"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    return "other"


def collect_columns(
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    *,
    columns: Sequence[str] | None = None,
    types: Mapping[str, str] | None = None,
    max_distinct: int = MAX_DISTINCT,
) -> dict[str, ColumnData]:
    """Read ``batches`` once and collect, per selected column, what its profile and drift need.

    ``columns`` selects and orders columns (default: all, in schema order). ``types`` overrides
    the inferred kind of a column: a numeric or boolean column may be declared ``"categorical"``
    (keys then follow the §3.1 encoding, e.g. zip codes as integers in decimal).
    """
    names = _select(schema, columns)
    overrides = dict(types or {})
    unknown = sorted(set(overrides) - set(schema.names))
    if unknown:
        raise ValueError(f"types names unknown columns {unknown}; the columns are {schema.names}")
    accumulators: dict[str, _Accumulator] = {}
    positions: dict[str, int] = {}
    for name in names:
        field = schema.field(name)
        positions[name] = schema.get_field_index(name)
        accumulators[name] = _accumulator_for(field.type, _resolve_kind(name, field.type, overrides.get(name)), max_distinct)
    for batch in batches:
        for name, acc in accumulators.items():
            acc.add(batch.column(positions[name]))
    return {name: acc.finish() for name, acc in accumulators.items()}


def profile_batches(
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    *,
    columns: Sequence[str] | None = None,
    types: Mapping[str, str] | None = None,
    top_k: int = TOP_K,
    max_distinct: int = MAX_DISTINCT,
) -> dict[str, Any]:
    """The full profile of a stream of record batches, as a JSON-ready dict.

    ``{"metrics_version": 1, "n_rows": N, "columns": {name: column_profile}}``; each column
    profile carries ``"type"`` (its kind) and the fields of docs/metrics.md. Floats are plain
    Python floats; non-finite and undefined statistics are None.
    """
    n_rows = 0

    def counted() -> Iterable[pa.RecordBatch]:
        nonlocal n_rows
        for batch in batches:
            n_rows += batch.num_rows
            yield batch

    data = collect_columns(schema, counted(), columns=columns, types=types, max_distinct=max_distinct)
    profiles: dict[str, Any] = {}
    for name in list(data):
        # pop so that each column's values can be freed as soon as it is profiled
        profiles[name] = profile_column(data.pop(name), top_k=top_k)
    return {"metrics_version": METRICS_VERSION, "n_rows": n_rows, "columns": profiles}


def profile_columns(
    schema: pa.Schema,
    read: Callable[[list[str]], Iterable[pa.RecordBatch]],
    *,
    columns: Sequence[str] | None = None,
    types: Mapping[str, str] | None = None,
    top_k: int = TOP_K,
    max_distinct: int = MAX_DISTINCT,
) -> dict[str, Any]:
    """Like :func:`profile_batches`, but reads one column at a time, so peak memory is one column.

    ``read([name])`` must return a fresh stream of batches holding just that column (for example
    ``pyarrow.dataset.dataset(path).to_batches(columns=[name])``).
    """
    names = _select(schema, columns)
    profiles: dict[str, Any] = {}
    n_rows = 0
    for name in names:
        field = schema.field(name)
        sub = pa.schema([field])
        overrides = {name: types[name]} if types and name in types else None
        result = profile_batches(sub, read([name]), types=overrides, top_k=top_k, max_distinct=max_distinct)
        profiles[name] = result["columns"][name]
        n_rows = result["n_rows"]
    return {"metrics_version": METRICS_VERSION, "n_rows": n_rows, "columns": profiles}


def profile_column(data: ColumnData, *, top_k: int = TOP_K) -> dict[str, Any]:
    """The full profile of one collected column (see :func:`collect_columns`)."""
    if isinstance(data, NumericData):
        return _numeric_profile(data) if data.kind == "numeric" else _datetime_profile(data)
    if isinstance(data, CategoricalData):
        return _categorical_profile(data, top_k)
    return {"type": "other", "arrow_type": data.arrow_type, "n": data.n, "n_missing": data.n_missing,
            "missing_fraction": _ratio(data.n_missing, data.n)}


def compact_profile(full_profile: Mapping[str, Any], *, datetime_summaries: Iterable[str] = ()) -> dict[str, Any]:
    """The bounded, deterministic lockfile summary (§3.2) of a full profile.

    Per numeric column: n, n_missing, n_pos_inf, n_neg_inf, min, max, mean, m2 and the
    drift_summary; per categorical/boolean column: n, n_missing, top_k, other_count, n_distinct
    (and whether it or top_k is approximate); per datetime column: n, n_missing, min, max, plus its
    drift_summary only for the columns named in ``datetime_summaries`` (datetime drift is opt-in,
    and a monotone time column's summary would change on every build). Identical data gives an
    identical dict, hence identical ``json.dumps(..., sort_keys=True)`` bytes.
    """
    keep_datetime = set(datetime_summaries)
    columns: dict[str, Any] = {}
    for name, col in full_profile["columns"].items():
        kind = col["type"]
        if kind == "numeric":
            keys = ("type", "n", "n_missing", "n_pos_inf", "n_neg_inf", "min", "max", "mean", "m2", "drift_summary")
        elif kind in ("categorical", "boolean"):
            keys = ("type", "n", "n_missing", "top_k", "other_count", "n_distinct", "n_distinct_approx", "top_k_approx")
        elif kind == "datetime":
            keys = ("type", "n", "n_missing", "min", "max")
            if name in keep_datetime:
                keys += ("drift_summary",)
        else:
            keys = ("type", "n", "n_missing")
        columns[name] = {key: _plain(col[key]) for key in keys}
    return {"metrics_version": full_profile.get("metrics_version", METRICS_VERSION),
            "n_rows": full_profile["n_rows"], "columns": columns}


def numeric_data(values: Any) -> NumericData:
    """Collect a numeric or datetime sample given as a numpy array, a sequence or an Arrow array.

    Null, None, NaN and NaT are missing; ±inf are counted apart; datetime64 values and Arrow
    timestamps/dates become int64 epoch nanoseconds.
    """
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        kind = column_kind(values.type)
        if kind not in ("numeric", "datetime"):
            raise ValueError(f"expected a numeric or datetime array, got {values.type}")
        acc = _NumericAccumulator(str(values.type)) if kind == "numeric" else _DatetimeAccumulator(str(values.type))
        chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
        for chunk in chunks:
            acc.add(chunk)
        return acc.finish()
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        ns = arr.astype("datetime64[ns]")
        present = ~np.isnat(ns)
        ints = np.sort(ns[present].view(np.int64))
        return NumericData("datetime", "datetime64[ns]", int(arr.size), int(arr.size - ints.size), 0, 0, ints)
    x = np.asarray(values, dtype=np.float64).ravel()
    acc = _NumericAccumulator(str(arr.dtype))
    acc.add_numpy(x)
    return acc.finish()


# ---------------------------------------------------------------------------------------------
# Numeric statistics (§3.1)
# ---------------------------------------------------------------------------------------------


def _numeric_profile(data: NumericData) -> dict[str, Any]:
    s = data.values
    n_f = data.n_finite
    out: dict[str, Any] = {
        "type": "numeric",
        "arrow_type": data.arrow_type,
        "n": data.n,
        "n_missing": data.n_missing,
        "missing_fraction": _ratio(data.n_missing, data.n),
        "n_pos_inf": data.n_pos_inf,
        "n_neg_inf": data.n_neg_inf,
        "n_finite": n_f,
        "n_zeros": int(np.count_nonzero(s == 0.0)),
        "n_negative": int(np.count_nonzero(s < 0.0)),
        "n_distinct": _n_distinct_sorted(s),
    }
    out.update(_moments(s))
    out["quantiles"] = {name: (_quantile7(s, pct / 100) if n_f else None) for name, pct in QUANTILES}
    out["histogram"] = _histogram(s) if n_f else None
    out["drift_summary"] = drift_summary(s)
    return out


def _moments(s: np.ndarray) -> dict[str, Any]:
    """mean, m2, variance, std, min, max, skewness and kurtosis of sorted finite float64 values."""
    n = int(s.size)
    if n == 0:
        return dict.fromkeys(("mean", "m2", "variance", "std", "min", "max", "skewness", "kurtosis"))
    lo, hi = float(s[0]), float(s[-1])
    mean = exact_mean(s, lo, hi)
    out: dict[str, Any] = {"mean": mean, "m2": None, "min": lo, "max": hi,
                           "variance": None, "std": None, "skewness": None, "kurtosis": None}
    # mean and m2 go into the lockfile, so their sums are exact (correctly rounded): identical on
    # every machine. m3 and m4 only feed skewness/kurtosis in the full profile and use numpy's
    # pairwise sum, which the definitions allow, at a fraction of the cost. Squares beyond float64
    # make a statistic inf or nan (written as null) rather than raising or warning.
    with np.errstate(over="ignore", invalid="ignore"):
        d = s - mean
        d2 = d * d
        m2 = sum_of_squares(s, mean, lo, hi)  # fsum(d2), correctly rounded; None: beyond float64
        m2 = math.inf if m2 is None else m2
        out["m2"] = m2
        if n >= 2:
            variance = m2 / (n - 1)
            out["variance"] = variance
            out["std"] = math.sqrt(variance)
        if m2 > 0 and n >= 3:  # False for m2 = nan as well
            m3 = float(np.sum(d2 * d))
            m4 = float(np.sum(d2 * d2)) if n >= 4 else math.nan
            if not 0.0 < (m2 / n) ** 2 < math.inf:
                # (m2/n)**1.5 or **2 leaves float64 (deviations below ~1e-77 or above ~1e77): g1 and g2
                # do not depend on the scale, so take the moments of the deviations scaled by a power
                # of two (exactly) to around 1
                scale = 2.0 ** -math.frexp(max(abs(lo - mean), abs(hi - mean)))[1]
                ds = d * scale
                ds2 = ds * ds
                m2, m3, m4 = float(np.sum(ds2)), float(np.sum(ds2 * ds)), float(np.sum(ds2 * ds2))
            g1 = (m3 / n) / (m2 / n) ** 1.5
            out["skewness"] = math.sqrt(n * (n - 1)) / (n - 2) * g1
            if n >= 4:
                g2 = (m4 / n) / (m2 / n) ** 2 - 3.0
                out["kurtosis"] = ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))
    return {key: _finite_or_none(value) for key, value in out.items()}


def _quantile7(s: np.ndarray, p: float) -> float:
    """Hyndman-Fan type 7 quantile of sorted values: h = (n-1)p, linear between neighbours."""
    n = int(s.size)
    h = (n - 1) * p
    j = math.floor(h)
    frac = h - j
    lo = float(s[j])
    if frac == 0.0 or j + 1 >= n:
        return lo
    return lo + frac * (float(s[j + 1]) - lo)


def _histogram(s: np.ndarray) -> dict[str, list]:
    """20 equal-width bins [e_j, e_j+1), the last closed; one bin [min, max] if min == max."""
    lo, hi = float(s[0]), float(s[-1])
    if lo == hi:
        return {"edges": [lo, hi], "counts": [int(s.size)]}
    step = (hi - lo) / HISTOGRAM_BINS
    if not math.isfinite(step):  # hi - lo overflows for values near ±1.8e308
        step = hi / HISTOGRAM_BINS - lo / HISTOGRAM_BINS
    edges = [j * step + lo for j in range(HISTOGRAM_BINS)] + [hi]
    counts, _ = np.histogram(s, bins=np.asarray(edges))
    return {"edges": edges, "counts": [int(c) for c in counts]}


def drift_summary(s: np.ndarray, resolution: int = SUMMARY_RESOLUTION) -> dict[str, Any]:
    """The §3.2 summary of sorted finite values: unique order statistics with cumulative counts.

    For i = 1..R-1 the order statistic x_(j), j = ceil(n*i/R) (integer arithmetic), paired with
    #(x <= x_(j)); duplicates dropped. From it the exact drift bins for any ``bins`` dividing R
    can be recovered (see :func:`mldata.stats.drift.baseline_bins_from_summary`).
    """
    n = int(s.size)
    points: list[list] = []
    last = None
    for i in range(1, resolution):
        j = (n * i + resolution - 1) // resolution
        if j < 1:
            continue
        value = s[j - 1]
        if last is not None and value == last:
            continue
        last = value
        cum = int(np.searchsorted(s, value, side="right"))
        points.append([_plain_scalar(value), cum])
    return {"resolution": resolution, "n": n, "points": points}


def _n_distinct_sorted(s: np.ndarray) -> int:
    if s.size == 0:
        return 0
    return int(np.count_nonzero(s[1:] != s[:-1])) + 1


# ---------------------------------------------------------------------------------------------
# Datetime (§3.1)
# ---------------------------------------------------------------------------------------------


def _datetime_profile(data: NumericData) -> dict[str, Any]:
    s = data.values
    n_f = int(s.size)
    quantiles: dict[str, Any] = {}
    for name, pct in QUANTILES:
        # type 1 (inverted CDF) with integer arithmetic: x_(j), j = max(1, ceil(n*pct/100))
        j = max(1, (n_f * pct + 99) // 100)
        quantiles[name] = format_ns(int(s[j - 1])) if n_f else None
    return {
        "type": "datetime",
        "arrow_type": data.arrow_type,
        "n": data.n,
        "n_missing": data.n_missing,
        "missing_fraction": _ratio(data.n_missing, data.n),
        "n_finite": n_f,
        "min": format_ns(int(s[0])) if n_f else None,
        "max": format_ns(int(s[-1])) if n_f else None,
        "quantiles": quantiles,
        "drift_summary": drift_summary(s),
    }


# ---------------------------------------------------------------------------------------------
# Categorical and boolean (§3.1)
# ---------------------------------------------------------------------------------------------


def category_key(value: Any) -> str:
    """The JSON key of a category value (§3.1).

    Strings as-is; booleans "true"/"false"; integers in decimal; floats that are integral as
    integers, others in shortest round-trip form (``repr``).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    raise TypeError(f"no category key for {type(value).__name__} values")


def top_k_items(counts: Mapping[str, int], k: int = TOP_K) -> list[list]:
    """The k most frequent keys as [key, count], by count descending then key ascending."""
    if isinstance(counts, ArrowCounts):
        return counts.top(k)
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [[key, int(count)] for key, count in items[:k]]


def _categorical_profile(data: CategoricalData, top_k: int) -> dict[str, Any]:
    n_present = data.n - data.n_missing
    top = top_k_items(data.counts, top_k)
    exact_distinct = data.n_distinct_estimate is None
    out: dict[str, Any] = {
        "type": data.kind,
        "arrow_type": data.arrow_type,
        "n": data.n,
        "n_missing": data.n_missing,
        "missing_fraction": _ratio(data.n_missing, data.n),
        "n_distinct": len(data.counts) if exact_distinct else data.n_distinct_estimate,
        "n_distinct_approx": not exact_distinct,
        "top_k": top,
        "top_k_approx": data.other_count > 0,
        "other_count": n_present - sum(count for _, count in top),
    }
    if data.kind == "boolean":
        n_true = data.counts.get("true", 0)
        out.update(n_true=n_true, n_false=data.counts.get("false", 0), true_fraction=_ratio(n_true, n_present))
        return out
    lengths = data.string_lengths
    out["n_empty_string"] = lengths.get(0, 0) if lengths is not None else None
    out["length"] = _length_stats(lengths) if lengths else None
    return out


def _length_stats(lengths: Mapping[int, int]) -> dict[str, Any]:
    """min / mean / p50 (type 7) / max of string lengths given as {length: rows}."""
    items = sorted(lengths.items())
    total = sum(count for _, count in items)
    h = (total - 1) * 0.5
    j = math.floor(h)
    lo = _value_at_rank(items, j)
    p50 = float(lo) if h == j else lo + (h - j) * (_value_at_rank(items, j + 1) - lo)
    return {"min": items[0][0], "mean": sum(length * count for length, count in items) / total,
            "p50": p50, "max": items[-1][0]}


def _value_at_rank(items: list[tuple[int, int]], rank: int) -> int:
    """The value at 0-based position ``rank`` of the sorted multiset {value: count}."""
    seen = 0
    for value, count in items:
        seen += count
        if rank < seen:
            return value
    raise IndexError(rank)


# ---------------------------------------------------------------------------------------------
# Accumulators: one per column, fed batch by batch
# ---------------------------------------------------------------------------------------------


class _Accumulator:
    def add(self, array: pa.Array) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def finish(self) -> ColumnData:  # pragma: no cover - interface
        raise NotImplementedError


class _NumericAccumulator(_Accumulator):
    """Counts missing/inf and keeps finite float64 values (8 bytes per row)."""

    def __init__(self, arrow_type: str) -> None:
        self.arrow_type = arrow_type
        self.n = self.n_missing = self.n_pos_inf = self.n_neg_inf = 0
        self.chunks: list[np.ndarray] = []

    def add(self, array: pa.Array) -> None:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if pa.types.is_decimal(array.type):
            array = array.cast(pa.float64())
        n = len(array)
        nulls = array.null_count
        self.n += n
        self.n_missing += nulls
        t = array.type
        present = present_values(array) if pa.types.is_integer(t) or pa.types.is_floating(t) else None
        if present is None:  # not a number numpy reads directly (e.g. half floats)
            present = numpy_values(array.drop_null() if nulls else array, np.float64)
        elif present.dtype != np.float64:
            present = present.astype(np.float64)  # rounds to nearest, as Arrow's cast does
        if pa.types.is_integer(t):  # all finite: no NaN/inf to look for
            if present.size:
                self.chunks.append(present)
            return
        self._add_finite(present)

    def add_numpy(self, x: np.ndarray) -> None:
        self.n += int(x.size)
        self._add_finite(x)

    def _add_finite(self, x: np.ndarray) -> None:
        """Count NaN (missing) and ±inf, keep the finite values (normalised in :meth:`finish`)."""
        finite = np.isfinite(x)
        n_finite = int(np.count_nonzero(finite))
        if n_finite < x.size:
            n_pos_inf = int(np.count_nonzero(x == np.inf))
            n_neg_inf = int(np.count_nonzero(x == -np.inf))
            self.n_pos_inf += n_pos_inf
            self.n_neg_inf += n_neg_inf
            self.n_missing += int(x.size) - n_finite - n_pos_inf - n_neg_inf
            x = x[finite]
        if x.size:
            self.chunks.append(x)

    def finish(self) -> NumericData:
        # concatenate copies (the chunks may be read-only views of Arrow buffers)
        values = np.concatenate(self.chunks) if self.chunks else np.empty(0, dtype=np.float64)
        self.chunks = []
        np.add(values, 0.0, out=values)  # -0.0 + 0.0 == +0.0: one representation per value
        values.sort()
        return NumericData("numeric", self.arrow_type, self.n, self.n_missing, self.n_pos_inf, self.n_neg_inf, values)


class _DatetimeAccumulator(_Accumulator):
    """Counts missing values and keeps int64 epoch nanoseconds (8 bytes per row)."""

    def __init__(self, arrow_type: str) -> None:
        self.arrow_type = arrow_type
        self.n = self.n_missing = 0
        self.chunks: list[np.ndarray] = []

    def add(self, array: pa.Array) -> None:
        self.n += len(array)
        self.n_missing += array.null_count
        self.chunks.append(_epoch_ns(array))

    def finish(self) -> NumericData:
        values = np.concatenate(self.chunks) if self.chunks else np.empty(0, dtype=np.int64)
        self.chunks = []
        values.sort()
        return NumericData("datetime", self.arrow_type, self.n, self.n_missing, 0, 0, values)


class _CategoricalAccumulator(_Accumulator):
    """Counts rows per category key, exactly up to ``max_distinct`` keys."""

    def __init__(self, kind: str, arrow_type: str, is_string: bool, max_distinct: int) -> None:
        self.kind = kind
        self.arrow_type = arrow_type
        self.max_distinct = max_distinct
        self.n = self.n_missing = self.other = 0
        self.counts: dict[str, int] = {}
        self.lengths: dict[int, int] | None = {} if is_string else None
        self.sketch: DistinctSketch | None = None

    def add(self, array: pa.Array) -> None:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if pa.types.is_decimal(array.type):
            array = array.cast(pa.float64())  # decimal keys follow the float rule
        self.n += len(array)
        present = array.drop_null() if array.null_count else array
        if pa.types.is_floating(present.type):
            present = present.filter(pc.invert(pc.is_nan(present)))  # NaN is missing (§3.0)
        self.n_missing += len(array) - len(present)
        if len(present) == 0:
            return
        batch_keys = _merge_value_counts(self.counts, pc.value_counts(present))
        if self.lengths is not None:
            _merge_value_counts(self.lengths, pc.value_counts(pc.utf8_length(present)), raw=True)
        if self.sketch is not None:
            self.sketch.add(batch_keys)
        if len(self.counts) > self.max_distinct:
            self._prune()

    def _prune(self) -> None:
        """Keep the most frequent half of the keys; the rows of the others move to ``other``."""
        if self.sketch is None:
            self.sketch = DistinctSketch()
            self.sketch.add(self.counts)  # every key seen so far is still here: none pruned yet
        keep = max(1, self.max_distinct // 2)
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        self.other += sum(count for _, count in ranked[keep:])
        self.counts = dict(ranked[:keep])

    def finish(self) -> CategoricalData:
        estimate = None if self.sketch is None else max(self.sketch.estimate(), len(self.counts))
        return CategoricalData(self.kind, self.arrow_type, self.n, self.n_missing, self.counts,
                               self.other, estimate, self.lengths)


class ArrowCounts(Mapping):
    """A ``{key: count}`` mapping held as an Arrow string array of distinct keys and a numpy
    array of counts: a near-unique column of millions of keys costs a few bytes per key instead
    of a Python string and int each, and its top K comes from Arrow (:meth:`top`) instead of a
    Python sort. The dict is built only if some caller needs lookups (raw categorical drift)."""

    def __init__(self, keys: pa.Array, counts: np.ndarray) -> None:
        self.keys = keys
        self.counts = counts
        self._dict: dict[str, int] | None = None

    def _as_dict(self) -> dict[str, int]:
        if self._dict is None:
            self._dict = dict(zip(self.keys.to_pylist(), self.counts.tolist()))
        return self._dict

    def __getitem__(self, key: str) -> int:
        return self._as_dict()[key]

    def __iter__(self) -> Any:
        return iter(self._as_dict())

    def __len__(self) -> int:
        return len(self.keys)

    def items(self) -> Any:
        return self._as_dict().items()

    def top(self, k: int) -> list[list]:
        """The k most frequent keys as [key, count], by count descending then key ascending
        (Arrow compares strings by UTF-8 bytes: Unicode code-point order, as Python does)."""
        n = len(self.keys)
        if k <= 0 or n == 0:
            return []
        from mldata.steps.types import arrow_from_numpy

        # Only keys counted at least as often as the k-th most frequent can be in the top k: find
        # that count in linear time and rank the few candidates in Python (a sort of the whole
        # table cost ~35 ms per 500,000 keys). Many keys tied at the boundary: Arrow ranks them.
        candidates = np.arange(n)
        if n > k:
            boundary = np.partition(self.counts, n - k)[n - k]
            candidates = np.flatnonzero(self.counts >= boundary)
        if len(candidates) <= 4 * k + 1024:
            keys = self.keys.take(arrow_from_numpy(candidates, pa.int64())).to_pylist()
            ranked = sorted(zip(keys, self.counts[candidates].tolist()), key=lambda kc: (-kc[1], kc[0]))
            return [[key, count] for key, count in ranked[:k]]
        table = pa.table({"key": self.keys, "count": arrow_from_numpy(self.counts, pa.int64())})
        chosen = table.take(pc.select_k_unstable(table, min(k, len(self.keys)),
                                                 sort_keys=[("count", "descending"), ("key", "ascending")]))
        return [[key, int(count)] for key, count in zip(chosen.column("key").to_pylist(),
                                                         chosen.column("count").to_pylist())]


class _StringAccumulator(_Accumulator):
    """Counts the keys of a string column with Arrow: ``value_counts`` per batch, the batches'
    counts summed (dictionary-encoded, numpy sums) whenever they hold more than twice
    ``max_distinct`` pairs and at the end. A Python dict per key cost ~10 s per million distinct
    keys; this costs about as much as reading them. Beyond ``max_distinct`` distinct keys the most
    frequent half is kept (ties by key), the rows of the others count as ``other``, and the
    distinct count becomes a sketch's estimate, as in :class:`_CategoricalAccumulator`."""

    def __init__(self, kind: str, arrow_type: str, max_distinct: int, *, lengths: bool = True) -> None:
        self.kind, self.arrow_type, self.max_distinct = kind, arrow_type, max_distinct
        self.n = self.n_missing = self.other = 0
        self.keys: list[pa.Array] = []
        self.counts: list[np.ndarray] = []
        self.held = 0
        self.lengths: dict[int, int] | None = {} if lengths else None
        self.sketch: DistinctSketch | None = None

    def add(self, array: pa.Array) -> None:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        self.n += len(array)
        self.n_missing += array.null_count
        present = array.drop_null() if array.null_count else array
        if len(present) == 0:
            return
        counted = pc.value_counts(present)
        keys = counted.field("values")
        keys = keys if keys.type == pa.string() else keys.cast(pa.string())
        if self.lengths is not None:
            _merge_value_counts(self.lengths, pc.value_counts(pc.utf8_length(present)), raw=True)
        if self.sketch is not None:
            self.sketch.add(keys)
        self.keys.append(keys)
        self.counts.append(numpy_values(counted.field("counts"), np.int64))
        self.held += len(keys)
        if self.held > 2 * self.max_distinct:
            self._compact()
            self._prune()

    def _compact(self) -> None:
        """Sum the held counts per key: one Arrow array of distinct keys, one count array."""
        if len(self.keys) <= 1:
            return
        keys, counts = sum_counts(self.keys, self.counts)
        self.keys, self.counts, self.held = [keys], [counts], len(counts)

    def _prune(self) -> None:
        """Past ``max_distinct`` keys: keep the keys more frequent than the ``max_distinct // 2``-th
        most frequent one (the others' rows become ``other``; keys tied at that boundary go
        too, so no string has to be sorted: Arrow's select_k over a million keys with ties took
        seconds), and estimate the distinct count from here on with a sketch."""
        if not self.keys or len(self.keys[0]) <= self.max_distinct:
            return
        keys, counts = self.keys[0], self.counts[0]
        if self.sketch is None:
            self.sketch = DistinctSketch()
            self.sketch.add(keys)  # every key seen so far is still here: none pruned yet
        keep = max(1, self.max_distinct // 2)
        boundary = np.partition(counts, counts.size - keep)[counts.size - keep]  # the keep-th largest
        kept = np.flatnonzero(counts > boundary)
        from mldata.steps.types import arrow_from_numpy

        self.other += int(counts.sum() - counts[kept].sum())
        self.keys, self.counts = [keys.take(arrow_from_numpy(kept, pa.int64()))], [counts[kept]]
        self.held = len(kept)

    def compacted(self) -> tuple[pa.Array, np.ndarray]:
        """The distinct keys and their counts so far (pruned past ``max_distinct``)."""
        self._compact()
        self._prune()
        if not self.keys:
            return pa.nulls(0, type=pa.string()), np.zeros(0, dtype=np.int64)
        return self.keys[0], self.counts[0]

    def finish(self) -> CategoricalData:
        keys, counts = self.compacted()
        estimate = None if self.sketch is None else max(self.sketch.estimate(), len(keys))
        return CategoricalData(self.kind, self.arrow_type, self.n, self.n_missing, ArrowCounts(keys, counts),
                               self.other, estimate, self.lengths)


class _BooleanAccumulator(_Accumulator):
    def __init__(self, arrow_type: str) -> None:
        self.arrow_type = arrow_type
        self.n = self.n_missing = self.n_true = self.n_false = 0

    def add(self, array: pa.Array) -> None:
        n_true = pc.sum(array).as_py() or 0
        self.n += len(array)
        self.n_missing += array.null_count
        self.n_true += n_true
        self.n_false += len(array) - array.null_count - n_true

    def finish(self) -> CategoricalData:
        counts = {key: count for key, count in (("true", self.n_true), ("false", self.n_false)) if count}
        return CategoricalData("boolean", self.arrow_type, self.n, self.n_missing, counts, 0, None, None)


class _OtherAccumulator(_Accumulator):
    def __init__(self, arrow_type: str) -> None:
        self.arrow_type = arrow_type
        self.n = self.n_missing = 0

    def add(self, array: pa.Array) -> None:
        self.n += len(array)
        self.n_missing += array.null_count

    def finish(self) -> OtherData:
        return OtherData("other", self.arrow_type, self.n, self.n_missing)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _resolve_kind(name: str, arrow_type: pa.DataType, override: str | None) -> str:
    kind = column_kind(arrow_type)
    if override is None or override == kind:
        return kind
    if override == "categorical" and kind in ("numeric", "boolean"):
        return "categorical"
    raise ValueError(f"column {name!r} of type {arrow_type} cannot be profiled as {override!r}")


def _accumulator_for(arrow_type: pa.DataType, kind: str, max_distinct: int) -> _Accumulator:
    if kind == "numeric":
        return _NumericAccumulator(str(arrow_type))
    if kind == "datetime":
        return _DatetimeAccumulator(str(arrow_type))
    if kind == "boolean":
        return _BooleanAccumulator(str(arrow_type))
    if kind == "categorical":
        value_type = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
        if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
            return _StringAccumulator("categorical", str(arrow_type), max_distinct)
        return _CategoricalAccumulator("categorical", str(arrow_type), _is_string(value_type), max_distinct)
    return _OtherAccumulator(str(arrow_type))


def sum_counts(keys: Sequence[pa.Array], counts: Sequence[np.ndarray]) -> tuple[pa.Array, np.ndarray]:
    """Sum (key, count) pairs given as string arrays and count arrays: the distinct keys and
    their total counts. Keys are dictionary-encoded and the counts summed with numpy
    (Table.group_by would load Arrow's Acero engine, whose import pulls in pyarrow.dataset and
    pandas: about half a second)."""
    encoded = pc.dictionary_encode(pa.concat_arrays(list(keys)))
    sums = np.zeros(len(encoded.dictionary), dtype=np.int64)
    # exact integer sums (bincount would sum in float64)
    np.add.at(sums, numpy_values(encoded.indices, np.int32), np.concatenate(list(counts)).astype(np.int64))
    return encoded.dictionary, sums


def _merge_value_counts(into: dict, value_counts: pa.StructArray, raw: bool = False) -> list:
    """Add a pyarrow value_counts result into ``into``; return the keys of this batch."""
    values = value_counts.field("values").to_pylist()
    counts = value_counts.field("counts").to_pylist()
    keys = values if raw else [category_key(value) for value in values]
    for key, count in zip(keys, counts):
        # distinct raw values can share a key (e.g. -0.0 and 0.0 are both "0")
        into[key] = into.get(key, 0) + count
    return keys


#: numpy's type of the values of a fixed-width Arrow array, by Arrow type id: integers, floats,
#: and dates and timestamps (their integer counts of days, milliseconds or the unit)
_RAW_DTYPES: dict[int, np.dtype] = {
    pa_type.id: np.dtype(dtype) for pa_type, dtype in [
        (pa.int8(), np.int8), (pa.int16(), np.int16), (pa.int32(), np.int32), (pa.int64(), np.int64),
        (pa.uint8(), np.uint8), (pa.uint16(), np.uint16), (pa.uint32(), np.uint32), (pa.uint64(), np.uint64),
        (pa.float32(), np.float32), (pa.float64(), np.float64), (pa.date32(), np.int32), (pa.date64(), np.int64),
        (pa.timestamp("s"), np.int64),
    ]
}


def present_values(array: pa.Array) -> np.ndarray | None:
    """The non-null values of a fixed-width numeric, date or timestamp Arrow array as numpy
    values of the array's own width (a view of its buffer when it has no nulls); None for
    other types.

    Read from the buffers with numpy: Arrow's drop_null and cast cost ~50 us each per call, as
    much as the whole profile of a 6,300-row column otherwise (a part profiles every column).
    """
    dtype = _RAW_DTYPES.get(array.type.id)
    if dtype is None:
        return None
    n = len(array)
    validity, data = array.buffers()[:2]
    if n == 0 or data is None:
        return np.empty(0, dtype=dtype)
    values = np.frombuffer(data, dtype=dtype, count=n, offset=array.offset * dtype.itemsize)
    if array.null_count == 0:
        return values
    bits = np.frombuffer(validity, dtype=np.uint8, count=(array.offset + n + 7) // 8)
    valid = np.unpackbits(bits, bitorder="little", count=array.offset + n)[array.offset:].view(np.bool_)
    return values[valid]


def numpy_values(array: pa.Array | pa.ChunkedArray, dtype: Any) -> np.ndarray:
    """A fixed-width Arrow array as a numpy array of ``dtype`` (nulls as NaN for floats).

    pyarrow's ``to_numpy`` imports pandas (about 0.4 s, in every worker) even for zero-copy
    conversions, so the values are read from the data buffer directly.
    """
    if isinstance(array, pa.ChunkedArray):
        chunks = [numpy_values(c, dtype) for c in array.chunks]
        return np.concatenate(chunks) if chunks else np.empty(0, dtype=dtype)
    target = pa.from_numpy_dtype(np.dtype(dtype))
    if array.type != target:
        array = array.cast(target, safe=False)  # int64 -> float64 rounds to nearest, as numpy does
    if array.null_count:
        if not pa.types.is_floating(target):
            raise ValueError("numpy_values: integer arrays must be null-free")
        from mldata.steps.types import arrow_scalar

        array = pc.fill_null(array, arrow_scalar(float("nan")).cast(target))
    buffer = array.buffers()[1]
    if buffer is None or len(array) == 0:
        return np.empty(0, dtype=dtype)
    width = np.dtype(dtype).itemsize
    return np.frombuffer(buffer, dtype=dtype, count=len(array), offset=array.offset * width)


def _epoch_ns(array: pa.Array) -> np.ndarray:
    """int64 epoch nanoseconds of the non-null values of a timestamp/date array."""
    t = array.type
    if pa.types.is_date32(t):
        factor = 86_400 * 10**9
    elif pa.types.is_date64(t):
        factor = 10**6
    else:
        factor = _NS_PER_UNIT[t.unit]
    values = present_values(array)
    if values is None:  # pragma: no cover - dates and timestamps are 32/64-bit
        values = numpy_values((array.drop_null() if array.null_count else array).cast(pa.int64()), np.int64)
    values = values.astype(np.int64, copy=False)
    if factor != 1:
        limit = np.iinfo(np.int64).max // factor
        if values.size and (values.max() > limit or values.min() < -limit):
            raise ValueError(f"{t} values outside the range of nanosecond timestamps (1677-2262)")
        values = values * factor
    return values


def _is_string(t: pa.DataType) -> bool:
    is_view = getattr(pa.types, "is_string_view", lambda _: False)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or is_view(t)


def _select(schema: pa.Schema, columns: Sequence[str] | None) -> list[str]:
    names = list(schema.names)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate column names in schema: {names}")
    if columns is None:
        return names
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise ValueError(f"unknown columns {unknown}; the columns are {names}")
    return list(dict.fromkeys(columns))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain_scalar(value: Any) -> Any:
    """A numpy scalar as a plain Python int/float (non-finite floats as None)."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return _finite_or_none(float(value))


def _plain(value: Any) -> Any:
    """A deep copy of a profile value with plain Python types only (for deterministic JSON)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, (np.generic, int, float)):
        return _plain_scalar(value)
    return value
