"""Stable train/val/test splits.

How a row's split is chosen
===========================

**With ``key`` (or ``group``)** a row's split is a pure function of the seed and the values of
its key columns (its group columns when ``group`` is given; ``group`` takes precedence over
``key``)::

    u = split_unit(row's key values, seed)          # a number in [0, 1)
    split = the first declared split whose cumulative ratio exceeds u

So adding or removing rows never moves another row, reordering the table moves nothing, and
all rows that share a key (or group) value land in the same split. ``u`` depends only on the
*values*, not on column names or physical types (see "The split hash" below), so renaming a key
column or widening it from int32 to int64 moves nothing either. Changing the seed, the ratios,
the order of the splits or the key columns re-deals everything.

**Without a key** the rows are dealt by a seeded permutation of row order
(``numpy.random.default_rng(seed).permutation``), cut at exact counts (largest remainder). The
same table and seed give the same split (with the same NumPy version), but adding, removing or
reordering rows moves rows: the result is reported with ``stable=False`` so the caller can warn.

``stratify`` and what it guarantees
===================================

*A stable split cannot be stratified better than sampling noise.* "Adding or removing rows
never moves another row" means the split of a row may not depend on any other row (remove the
other rows one at a time: the row never moves, so its split equals its split in the table that
holds only itself). A split that depends on the row alone places each key in a split
independently of which other keys exist, so within one label the achieved shares carry
binomial noise; any method that does better (ranking rows within a label, cutting each label
at its own quantiles, low-discrepancy sequences over a label's rank) decides a row's split from
the other rows of its label, and inserting one row shifts the ranks after it and moves rows at
every cut. So with a key, ``stratify`` **does not change any assignment** (the row's split is
still the hash of its key alone; relabelling a row, or turning ``stratify`` on, moves nothing).
What it adds is a per-label measurement checked against an explicit tolerance:

For a label with rows grouped into hashing units (distinct key values, or groups) of sizes
w_1..w_m, let n_eff = (sum w)^2 / sum w^2 (Kish's effective sample size; the number of rows
when keys are unique). Modelling the hash as a random function of the key (which is what the
seed is for), the label's row share of split s has mean exactly r_s and standard deviation
sigma = sqrt(r_s (1 - r_s) / n_eff). The tolerance per label and split is
``STRATIFY_Z * sigma + 1/rows`` (4 standard deviations plus one row of rounding); by the normal
approximation a label and split fall outside it with probability about 6e-5, so that is
reported as a warning (:attr:`SplitResult.warnings`): the data is unusual (keys that are few,
very unequal in size, or correlated with the hash), not merely noisy. Every label's counts, shares and
tolerances are in :attr:`SplitResult.strata`. The overall split shares carry the same kind of
noise with n_eff over the whole table.

Without a key, ``stratify`` deals each label separately (one seeded permutation of all rows,
then each label's rows in permutation order are cut at that label's own exact counts), so every
label's share of every split is within 1/rows of its ratio; this is exact but not stable.

The split hash
==============

A vectorised 64-bit hash, implemented in numpy and fully specified here, so it is the same on
every platform and can be re-implemented elsewhere. All arithmetic is on unsigned 64-bit
integers modulo 2**64. ``mix(z)`` is the SplitMix64 finaliser (a bijection)::

    z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31

Each value is canonicalised to a tag and one or two 64-bit words, and hashed as
``h = mix(start(tag) ^ w0)`` or ``h = mix(mix(start(tag) ^ w0) ^ w1)`` with
``start(tag) = mix((tag + 1) * 0x9E3779B97F4A7C15)``:

====================  ====  ==============================================================
value                 tag   words
====================  ====  ==============================================================
null (any type)       0     none: ``h = start(0)``
bool                  1     0 or 1
integer in            2     the value as a two's-complement 64-bit word, whatever the integer
[-2^63, 2^63)               type (int8 .. uint64), or an integral float (see float)
integer in            3     the value as an unsigned 64-bit word (uint64, or integral float)
[2^63, 2^64)
float                 4     the IEEE-754 binary64 bits (float16/32 widen exactly), every NaN
                            as 0x7FF8000000000000; but an integral float in [-2^63, 2^64)
                            hashes as that integer (tag 2 or 3), so 1.0 hashes as 1 and
                            -0.0 as 0.0 and 0
string                5     byte length, then S (below) of the UTF-8 bytes
binary                6     byte length, then S of the bytes
decimal               7     byte length, then S of its canonical text: the exact value
                            without trailing fractional zeros ("1.50" -> "1.5", "-0.0" ->
                            "0"), so the scale does not matter
date                  8     days since 1970-01-01 (date64: floor of ms / 86400000)
time of day           9     nanoseconds since midnight
timestamp             10    floor(seconds since the epoch), then the nanoseconds within the
                            second: the stored UTC instant, whatever the unit or time zone
duration              11    as timestamp (floor seconds, then nanoseconds)
====================  ====  ==============================================================

``S(bytes) = sum over j of mix(w_j ^ mix(j + 0xD6E8FEB86659FD93))`` where w_j is the j-th 8-byte
little-endian word of the bytes (j = 0, 1, ...; the last word zero-padded). A
dictionary-encoded column hashes its decoded values. List, struct, map and union columns cannot
be keys.

A row's hash over key columns c_1..c_k (in the declared order) with seed s is::

    state = mix(s ^ 0x5851F42D4C957F2D); for each c_i: state = mix(state ^ h(c_i))
    u = (state >> 11) / 2**53           # in [0, 1), exactly representable

and the row goes to split i where i is the number of cumulative ratios (float64 sums in the
declared order, the last one excluded) that are <= u. Distinct integers of one column always get distinct hashes
(``mix`` is a bijection); other collisions have probability about 2**-64. Bump
:data:`SPLIT_HASH_VERSION` (which fingerprints include) if any of this ever changes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from mldata.errors import ConfigError, Location, StepError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

#: Version of the split assignment (hash and cut rules). Fingerprints of split targets should
#: include it, so a change to the algorithm rebuilds every split once.
SPLIT_HASH_VERSION = 1
#: Standard deviations of sampling noise allowed per label and split before a warning.
STRATIFY_Z = 4.0
#: Ratios must sum to 1 within this.
RATIO_SUM_TOLERANCE = 1e-9
#: Most splits one declaration may have.
MAX_SPLITS = 1000
#: Rows hashed per numpy pass (bounds temporary memory for long strings).
_HASH_SLICE_ROWS = 65536

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX_C1 = 0xBF58476D1CE4E5B9
_MIX_C2 = 0x94D049BB133111EB
_BYTE_KEY = 0xD6E8FEB86659FD93
_SEED_KEY = 0x5851F42D4C957F2D
_CANONICAL_NAN = 0x7FF8000000000000

TAG_NULL, TAG_BOOL, TAG_INT, TAG_UINT_BIG, TAG_FLOAT, TAG_STRING, TAG_BINARY, TAG_DECIMAL = range(8)
TAG_DATE, TAG_TIME, TAG_TIMESTAMP, TAG_DURATION = range(8, 12)

# ------------------------------------------------------------------------------------------
# validation (pure Python: used while loading mldata.yaml, before pyarrow is imported)
# ------------------------------------------------------------------------------------------

#: A split name becomes a folder: letters, digits, "_", "-", "."; not starting with "." or "_"
#: (pyarrow.dataset and others skip such folders as hidden), no "=" (hive partition syntax).
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def is_stable(key: str | Sequence[str] | None, group: str | Sequence[str] | None) -> bool:
    """Whether a split with these settings is stable under added and removed rows."""
    return bool(_columns(key)) or bool(_columns(group))


def check_split_config(
    ratios: Any,
    seed: Any,
    key: Any,
    group: Any = None,
    stratify: Any = None,
    *,
    location: Location | None = None,
) -> None:
    """Raise ConfigError if a split declaration is invalid (pure Python, no data needed).

    ratios: a non-empty mapping of split name -> number > 0, summing to 1 within 1e-9; names are
    valid, distinct (also ignoring case) folder names. seed: an int in [0, 2**64). key, group:
    None, a column name or a non-empty list of distinct column names. stratify: None or a
    column name.
    """

    def fail(what: str, message: str, hint: str | None = None) -> None:
        raise ConfigError(f"split.{what}: {message}", hint=hint, location=location)

    if not isinstance(ratios, Mapping) or not ratios:
        fail("ratios", "must be a non-empty mapping of split name to ratio, e.g. {train: 0.8, val: 0.1, test: 0.1}")
    if len(ratios) > MAX_SPLITS:
        fail("ratios", f"at most {MAX_SPLITS} splits, got {len(ratios)}")
    seen: dict[str, str] = {}
    for name, ratio in ratios.items():
        if not isinstance(name, str) or not _SPLIT_NAME.match(name) or name.endswith("."):
            fail(
                "ratios",
                f"invalid split name {name!r}",
                "split names become folder names: 1-64 letters, digits, '_', '-' or '.', starting "
                "with a letter or digit and not ending with '.'",
            )
        if name.lower() in _WINDOWS_RESERVED or name.split(".")[0].lower() in _WINDOWS_RESERVED:
            fail("ratios", f"split name {name!r} is a reserved file name on Windows")
        if name.lower() in seen:
            fail("ratios", f"split names {seen[name.lower()]!r} and {name!r} differ only in case "
                           "(they would share a folder on case-insensitive file systems)")
        seen[name.lower()] = name
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not math.isfinite(ratio):
            fail(f"ratios.{name}", f"must be a number, got {ratio!r}")
        if ratio <= 0:
            fail(f"ratios.{name}", f"must be greater than 0, got {ratio!r}", "remove the split instead")
    total = math.fsum(float(r) for r in ratios.values())
    if abs(total - 1.0) > RATIO_SUM_TOLERANCE:
        fail("ratios", f"must sum to 1, got {total!r}", f"e.g. {_suggest_ratios(ratios)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        fail("seed", f"must be an integer, got {seed!r}")
    if not 0 <= seed < 1 << 64:
        fail("seed", f"must be between 0 and 2**64 - 1, got {seed}")
    for what, value in (("key", key), ("group", group)):
        if value is None:
            continue
        cols = [value] if isinstance(value, str) else value
        if not isinstance(cols, (list, tuple)) or not cols:
            fail(what, f"must be a column name or a non-empty list of column names, got {value!r}")
        for col in cols:
            if not isinstance(col, str) or not col:
                fail(what, f"column names must be non-empty strings, got {col!r}")
        dupes = sorted({c for c in cols if cols.count(c) > 1})
        if dupes:
            fail(what, f"lists {', '.join(map(repr, dupes))} more than once")
    if stratify is not None and (not isinstance(stratify, str) or not stratify):
        fail("stratify", f"must be a column name, got {stratify!r}")


def _suggest_ratios(ratios: Mapping[str, Any]) -> str:
    try:
        total = math.fsum(float(r) for r in ratios.values())
        scaled = {k: round(float(v) / total, 6) for k, v in ratios.items()} if total > 0 else {}
    except (TypeError, ValueError):
        scaled = {}
    if not scaled:
        return "{train: 0.8, val: 0.1, test: 0.1}"
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in scaled.items()) + "}"


def _columns(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


# ------------------------------------------------------------------------------------------
# the split hash
# ------------------------------------------------------------------------------------------


def _np() -> Any:
    import numpy

    return numpy


def _mix(z: "np.ndarray") -> "np.ndarray":
    """SplitMix64's finaliser, in place on a uint64 array (returned for convenience)."""
    np = _np()
    z ^= z >> np.uint64(30)
    z *= np.uint64(_MIX_C1)
    z ^= z >> np.uint64(27)
    z *= np.uint64(_MIX_C2)
    z ^= z >> np.uint64(31)
    return z


def _mix_int(z: int) -> int:
    """mix() on one Python int (for constants)."""
    z &= _M64
    z ^= z >> 30
    z = (z * _MIX_C1) & _M64
    z ^= z >> 27
    z = (z * _MIX_C2) & _M64
    return z ^ (z >> 31)


_START = [_mix_int((tag + 1) * _GOLDEN) for tag in range(12)]
_NULL_HASH = _START[TAG_NULL]


def _tagged(tags: "np.ndarray | int", *words: "np.ndarray") -> "np.ndarray":
    """h = mix(...mix(start(tag) ^ w0) ^ w1...) for a tag (scalar or per-row) and word arrays."""
    np = _np()
    if isinstance(tags, int):
        state = np.full(len(words[0]), _START[tags], dtype=np.uint64)
    else:
        state = np.asarray(_START, dtype=np.uint64)[tags]
    for word in words:
        state ^= word.astype(np.uint64, copy=False)
        _mix(state)
    return state


def _bytes_hash(tag: int, offsets: "np.ndarray", data: "np.ndarray") -> "np.ndarray":
    """Hash of variable-length values: tag, length, then S(bytes) (see the module docstring)."""
    np = _np()
    offsets = offsets.astype(np.int64, copy=False)
    lengths = np.diff(offsets)
    base = int(offsets[0])
    total = int(offsets[-1]) - base
    n = len(lengths)
    s = np.zeros(n, dtype=np.uint64)
    if total:
        padded = np.zeros(total + 8, dtype=np.uint8)
        padded[:total] = data[base : base + total]
        # every byte position as the start of an unaligned little-endian 64-bit word
        words_at = np.ndarray(shape=(total + 1,), dtype="<u8", buffer=padded, offset=0, strides=(1,))
        nwords = (lengths + 7) // 8
        word_count = int(nwords.sum())
        first_word = np.cumsum(nwords) - nwords
        j = np.arange(word_count, dtype=np.int64) - np.repeat(first_word, nwords)
        row_start = np.repeat(offsets[:-1] - base, nwords)
        left = np.repeat(lengths, nwords) - 8 * j  # bytes of the value from this word on (>= 1)
        words = words_at[row_start + 8 * j].astype(np.uint64)
        partial = left < 8
        if partial.any():
            shift = (8 * left[partial]).astype(np.uint64)
            words[partial] &= (np.uint64(1) << shift) - np.uint64(1)
        positions = j.astype(np.uint64) + np.uint64(_BYTE_KEY)
        words ^= _mix(positions)
        _mix(words)
        sums = np.concatenate(([np.uint64(0)], np.cumsum(words, dtype=np.uint64)))
        s = sums[first_word + nwords] - sums[first_word]
    return _tagged(tag, lengths.astype(np.uint64), s)


def _var_hash(tag: int, arr: "pa.Array") -> "np.ndarray":
    import pyarrow as pa

    np = _np()
    if len(arr) == 0:
        return np.zeros(0, dtype=np.uint64)
    t = arr.type
    if pa.types.is_string_view(t):
        arr = arr.cast(pa.large_string())
    elif pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        arr = arr.cast(pa.large_binary())
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_binary(t):
        off_type = np.int32
    else:  # large_string, large_binary
        off_type = np.int64
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=off_type)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return _bytes_hash(tag, offsets, data)


def _decimal_text(arr: "pa.Array") -> "pa.Array":
    """The canonical text of decimals: no trailing fractional zeros, "-0" -> "0"."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(arr, pa.string())
    stripped = pc.replace_substring_regex(pc.replace_substring_regex(text, r"0+$", ""), r"\.$", "")
    text = pc.if_else(pc.match_substring(text, "."), stripped, text)
    return pc.if_else(pc.equal(text, "-0"), "0", text)


def _float_hash(x: "np.ndarray") -> "np.ndarray":
    np = _np()
    x = x.astype(np.float64, copy=False)
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(x) & (np.floor(x) == x) & (x >= -(2.0**63)) & (x < 2.0**64)
    small = integral & (x < 2.0**63)
    big = integral & ~small
    out = np.empty(len(x), dtype=np.uint64)
    if small.any():
        out[small] = _tagged(TAG_INT, x[small].astype(np.int64).view(np.uint64))
    if big.any():
        out[big] = _tagged(TAG_UINT_BIG, x[big].astype(np.uint64))
    rest = ~integral
    if rest.any():
        bits = x[rest].view(np.uint64).copy()
        bits[np.isnan(x[rest])] = np.uint64(_CANONICAL_NAN)
        out[rest] = _tagged(TAG_FLOAT, bits)
    return out


def _split_seconds(v: "np.ndarray", per_second: int) -> tuple["np.ndarray", "np.ndarray"]:
    np = _np()
    secs = np.floor_divide(v, per_second)
    nanos = (v - secs * per_second) * (1_000_000_000 // per_second)
    return secs.view(np.uint64), nanos.view(np.uint64)


_PER_SECOND = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}


def _values_hash(arr: "pa.Array") -> "np.ndarray":
    """Per-row hash of one (non-chunked) array's values; null slots are filled by the caller."""
    import pyarrow as pa
    import pyarrow.compute as pc

    np = _np()
    t = arr.type
    n = len(arr)
    if pa.types.is_dictionary(t):
        dict_hash = _column_hash(arr.dictionary)
        idx = pc.fill_null(arr.indices, 0).to_numpy(zero_copy_only=False).astype(np.int64)
        return dict_hash[idx] if len(dict_hash) else np.full(n, _NULL_HASH, dtype=np.uint64)
    if pa.types.is_null(t):
        return np.full(n, _NULL_HASH, dtype=np.uint64)
    if pa.types.is_boolean(t):
        return _tagged(TAG_BOOL, pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(np.uint64))
    if pa.types.is_integer(t):
        v = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False)
        if pa.types.is_uint64(t):
            big = v >= np.uint64(1 << 63)
            out = _tagged(TAG_INT, v.view(np.uint64))
            if big.any():
                out[big] = _tagged(TAG_UINT_BIG, v[big].view(np.uint64))
            return out
        return _tagged(TAG_INT, v.astype(np.int64).view(np.uint64))
    if pa.types.is_floating(t):
        return _float_hash(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False))
    if pa.types.is_decimal(t):
        return _var_hash(TAG_DECIMAL, _decimal_text(arr))
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return _var_hash(TAG_STRING, arr)
    if (
        pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    ):
        return _var_hash(TAG_BINARY, arr)
    if pa.types.is_date32(t):
        return _tagged(TAG_DATE, _ints(arr, pa.int32()).astype(np.int64).view(np.uint64))
    if pa.types.is_date64(t):
        days = np.floor_divide(_ints(arr, pa.int64()), 86_400_000)
        return _tagged(TAG_DATE, days.view(np.uint64))
    if pa.types.is_time(t):
        v = _ints(arr, pa.int32() if pa.types.is_time32(t) else pa.int64()).astype(np.int64)
        return _tagged(TAG_TIME, (v * (1_000_000_000 // _PER_SECOND[t.unit])).view(np.uint64))
    if pa.types.is_timestamp(t) or pa.types.is_duration(t):
        secs, nanos = _split_seconds(_ints(arr, pa.int64()), _PER_SECOND[t.unit])
        return _tagged(TAG_TIMESTAMP if pa.types.is_timestamp(t) else TAG_DURATION, secs, nanos)
    raise TypeError(f"cannot hash values of type {t}")


def _ints(arr: "pa.Array", storage: "pa.DataType") -> "np.ndarray":
    import pyarrow.compute as pc

    return pc.fill_null(arr.view(storage), 0).to_numpy(zero_copy_only=False)


def _column_hash(arr: "pa.Array") -> "np.ndarray":
    """Per-row value hash of one array, nulls included."""
    np = _np()
    out = _values_hash(arr)
    if arr.null_count:  # (a dictionary's null values already hash as null through its dictionary)
        out[arr.is_null().to_numpy(zero_copy_only=False)] = np.uint64(_NULL_HASH)
    return out


def _chunked_hash(column: "pa.ChunkedArray | pa.Array") -> "np.ndarray":
    import pyarrow as pa

    np = _np()
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        for start in range(0, len(chunk), _HASH_SLICE_ROWS):
            parts.append(_column_hash(chunk.slice(start, _HASH_SLICE_ROWS)))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def split_hash(table: "pa.Table", columns: Sequence[str], seed: int) -> "np.ndarray":
    """The 64-bit split hash of every row over ``columns`` (uint64 array; see the module doc)."""
    np = _np()
    _require_columns(table, columns, "split key")
    state = np.full(table.num_rows, _mix_int(seed ^ _SEED_KEY), dtype=np.uint64)
    for name in columns:
        try:
            h = _chunked_hash(table.column(name))
        except TypeError:
            raise StepError(
                f"split: column {name!r} has type {table.schema.field(name).type}, which cannot be a split key",
                hint="use scalar columns (integers, strings, dates, ...) as split key or group",
            ) from None
        state ^= h
        _mix(state)
    return state


def split_unit(table: "pa.Table", columns: Sequence[str], seed: int) -> "np.ndarray":
    """The split hash mapped to [0, 1): (hash >> 11) / 2**53, one float64 per row."""
    np = _np()
    return (split_hash(table, columns, seed) >> np.uint64(11)).astype(np.float64) * (2.0**-53)


def _require_columns(table: "pa.Table", columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise StepError(
            f"{what}: unknown column {missing[0]!r}; available columns: {', '.join(table.column_names)}",
        )


# ------------------------------------------------------------------------------------------
# assignment
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StratumReport:
    """How one label of the stratify column was split."""

    label: Any  # the label value (None for nulls)
    rows: int
    units: int  # distinct hashing units (keys or groups) within the label; rows without a key
    effective_units: float  # Kish n_eff = (sum w)^2 / sum w^2 over unit sizes w
    counts: dict[str, int]
    shares: dict[str, float]
    tolerance: dict[str, float]  # allowed |share - ratio| per split
    max_deviation: float  # max over splits of |share - ratio|
    ok: bool  # every split within tolerance


@dataclass(frozen=True)
class SplitResult:
    """A split: the split of every row, and how it came out."""

    names: tuple[str, ...]
    index: "np.ndarray"  # int16 per row: position of the row's split in ``names``
    counts: dict[str, int]
    stable: bool  # False: rows were dealt by position (no key), adding rows moves rows
    method: str  # "hash", "group-hash", "random" or "random-stratified"
    strata: tuple[StratumReport, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def splits(self) -> "pa.DictionaryArray":
        """The split name of every row (dictionary-encoded, dictionary = names in declared order)."""
        import pyarrow as pa

        return pa.DictionaryArray.from_arrays(pa.array(self.index, type=pa.int16()), pa.array(list(self.names), pa.string()))

    def tables(self, table: "pa.Table") -> dict[str, "pa.Table"]:
        """Each split's rows, in their original order (every split present, possibly empty)."""
        import pyarrow as pa

        out = {}
        for i, name in enumerate(self.names):
            out[name] = table.filter(pa.array(self.index == i))
        return out


def compute_splits(
    table: "pa.Table",
    *,
    ratios: Mapping[str, float],
    seed: int,
    key: str | Sequence[str] | None = None,
    group: str | Sequence[str] | None = None,
    stratify: str | None = None,
) -> SplitResult:
    """Assign every row of ``table`` to a split; see the module docstring for the guarantees."""
    np = _np()
    check_split_config(ratios, seed, key, group, stratify)
    names = tuple(ratios)
    fractions = np.array([float(ratios[n]) for n in names], dtype=np.float64)
    key_cols = _columns(group) or _columns(key)
    n = table.num_rows
    if stratify is not None:
        _require_columns(table, [stratify], "split stratify")
    if key_cols:
        state = split_hash(table, key_cols, seed)
        u = (state >> np.uint64(11)).astype(np.float64) * (2.0**-53)
        edges = np.cumsum(fractions)[:-1]
        index = np.searchsorted(edges, u, side="right").astype(np.int16)
        method = "group-hash" if _columns(group) else "hash"
        stable = True
    else:
        state = None
        codes = _label_codes(table, stratify)[0] if stratify is not None else None
        index = _random_index(n, fractions, seed, codes)
        method = "random-stratified" if stratify is not None else "random"
        stable = False
    counts = {name: int(c) for name, c in zip(names, np.bincount(index, minlength=len(names)))}
    strata: tuple[StratumReport, ...] = ()
    warnings: list[str] = []
    if stratify is not None:
        strata = _strata(table, stratify, names, fractions, index, state)
        for s in strata:
            if not s.ok:
                worst = max(names, key=lambda k: abs(s.shares[k] - float(ratios[k])) - s.tolerance[k])
                warnings.append(
                    f"split stratify {stratify!r}: label {s.label!r} ({s.rows} rows, {s.units} keys) has "
                    f"{worst} {s.shares[worst]:.1%} vs {float(ratios[worst]):.1%} expected "
                    f"(tolerance ±{s.tolerance[worst]:.1%}); its keys are few or very unequal in size"
                )
    return SplitResult(
        names=names, index=index, counts=counts, stable=stable, method=method, strata=strata,
        warnings=tuple(warnings),
    )


def assign_splits(
    table: "pa.Table",
    *,
    ratios: Mapping[str, float],
    seed: int,
    key: str | Sequence[str] | None,
    group: str | Sequence[str] | None = None,
    stratify: str | None = None,
) -> "pa.DictionaryArray":
    """The split name of every row (a dictionary array whose dictionary is the split names)."""
    return compute_splits(table, ratios=ratios, seed=seed, key=key, group=group, stratify=stratify).splits


def split_table(
    table: "pa.Table",
    *,
    ratios: Mapping[str, float],
    seed: int,
    key: str | Sequence[str] | None,
    group: str | Sequence[str] | None = None,
    stratify: str | None = None,
) -> dict[str, "pa.Table"]:
    """Split ``table`` into one table per split name (declared order), row order preserved."""
    result = compute_splits(table, ratios=ratios, seed=seed, key=key, group=group, stratify=stratify)
    return result.tables(table)


def _exact_counts(total: int, fractions: "np.ndarray") -> "np.ndarray":
    """Integer counts summing to ``total``, each within 1 of total*fraction (largest remainder;
    ties go to the split declared first)."""
    np = _np()
    ideal = fractions * total
    counts = np.floor(ideal).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        order = np.lexsort((np.arange(len(fractions)), -(ideal - counts)))
        counts[order[:short]] += 1
    return counts


def _random_index(n: int, fractions: "np.ndarray", seed: int, codes: "np.ndarray | None") -> "np.ndarray":
    np = _np()
    perm = np.random.default_rng(seed).permutation(n)
    index = np.empty(n, dtype=np.int16)
    if codes is None:
        index[perm] = np.repeat(np.arange(len(fractions), dtype=np.int16), _exact_counts(n, fractions))
        return index
    permuted = codes[perm]
    order = np.argsort(permuted, kind="stable")  # by label, permutation order within a label
    sorted_codes = permuted[order]
    bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [n]))
    dealt = np.empty(n, dtype=np.int16)
    for a, b in zip(starts, ends):
        dealt[a:b] = np.repeat(np.arange(len(fractions), dtype=np.int16), _exact_counts(int(b - a), fractions))
    index[perm[order]] = dealt
    return index


def _label_codes(table: "pa.Table", column: str) -> tuple["np.ndarray", list[Any]]:
    """Per-row code of the stratify label, and the labels (first-appearance order)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    np = _np()
    col = table.column(column)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    try:
        labels = pc.unique(col)
        codes = pc.index_in(col, value_set=labels)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        raise StepError(
            f"split: column {column!r} has type {col.type}, which cannot be a stratify label",
            hint="stratify on a scalar column (strings, integers, booleans, ...)",
        ) from None
    return pc.fill_null(codes, -1).to_numpy().astype(np.int64), labels.to_pylist()


def _strata(
    table: "pa.Table", column: str, names: tuple[str, ...], fractions: "np.ndarray", index: "np.ndarray",
    state: "np.ndarray | None",
) -> tuple[StratumReport, ...]:
    np = _np()
    if table.num_rows == 0:
        return ()
    codes, labels = _label_codes(table, column)
    k = len(names)
    nlab = len(labels)
    cell = np.bincount(codes * k + index.astype(np.int64), minlength=nlab * k).reshape(nlab, k)
    rows = cell.sum(axis=1)
    if state is not None:  # unit sizes per label: rows per distinct (label, key hash)
        pair = state ^ _mix(codes.astype(np.uint64) + np.uint64(_GOLDEN))  # collisions ~2**-64
        order = np.argsort(pair)
        sorted_pair = pair[order]
        first = np.flatnonzero(np.concatenate(([True], sorted_pair[1:] != sorted_pair[:-1])))
        sizes = np.diff(np.append(first, len(pair))).astype(np.float64)
        unit_label = codes[order[first]]
        units = np.bincount(unit_label, minlength=nlab)
        sum_sq = np.bincount(unit_label, weights=sizes * sizes, minlength=nlab)
    else:
        units = rows
        sum_sq = rows.astype(np.float64)
    out = []
    for j, label in enumerate(labels):
        m = int(rows[j])
        shares = cell[j] / m
        if state is not None:
            n_eff = m * m / sum_sq[j]
            tol = STRATIFY_Z * np.sqrt(fractions * (1 - fractions) / n_eff) + 1.0 / m
        else:
            n_eff = float(m)
            tol = np.full(k, 1.0 / m)
        dev = np.abs(shares - fractions)
        out.append(
            StratumReport(
                label=label,
                rows=m,
                units=int(units[j]),
                effective_units=float(n_eff),
                counts={names[i]: int(cell[j, i]) for i in range(k)},
                shares={names[i]: float(shares[i]) for i in range(k)},
                tolerance={names[i]: float(tol[i]) for i in range(k)},
                max_deviation=float(dev.max()),
                ok=bool((dev <= tol + 1e-12).all()),
            )
        )
    return tuple(out)
