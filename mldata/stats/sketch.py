"""Distinct-count sketch: a deterministic k-minimum-values (KMV) estimate over 64-bit key hashes.

Used where an exact distinct count is not kept: a column with more than ``MAX_DISTINCT`` keys in
a single-pass profile, and near-unique string columns (ids, free text) in the per-part partial
profiles of the lock (see :mod:`mldata.stats.partial`). A sketch holds the ``k`` smallest
distinct hashes of the keys seen, as a sorted ``uint64`` array. The union of two sketches is the
sketch of the union of their keys, exactly, so part sketches merge in any order and grouping to
the same bytes. With ``h_k`` the largest kept hash as a fraction of 2**64, the distinct count is
estimated as ``(k - 1) / h_k`` (relative standard error about ``1 / sqrt(k - 2)``); with fewer
than ``k`` distinct hashes it is their number, which is exact up to hash collisions.

The hash (:func:`key_hashes`) is computed with numpy over the Arrow string buffers, so hashing
a part's keys costs about as much as counting them (a Python hash call per key costs ~1 us: more
than a second for a near-unique column of a million rows). It is a polynomial hash of the UTF-8
bytes modulo 2**64, ``sum((b_i + 1) * P**(i + 1))``, mixed with the length and finished with
SplitMix64's finaliser so that the high bits, which decide the estimate, are well spread. It is
fixed forever (changing it changes lock files) and is not meant to resist crafted inputs.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

#: Hashes kept by a sketch: relative standard error about 2.2%.
SKETCH_SIZE = 2048

_P = 0x100000001B3 * 0x9E3779B97F4A7C15 % 2**64 | 1  # odd multiplier of the polynomial hash
_LENGTH_MIX = 0xC2B2AE3D27D4EB4F
_SEED = 0x6D6C64617461  # b"mldata"
_MASK = 2**64 - 1


def _powers(count: int) -> np.ndarray:
    """P**1 .. P**count modulo 2**64, as uint64."""
    powers = np.empty(count, dtype=np.uint64)
    value = 1
    # a doubling loop would be faster for long strings; keys are short and the table is cached
    for i in range(count):
        value = value * _P & _MASK
        powers[i] = value
    return powers


_POWERS = _powers(256)


def _power_table(length: int) -> np.ndarray:
    global _POWERS
    if length > _POWERS.size:
        _POWERS = _powers(max(length, 2 * _POWERS.size))
    return _POWERS


def _finalise(h: np.ndarray) -> np.ndarray:
    """SplitMix64's output function, in place (uint64 arithmetic wraps modulo 2**64)."""
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def key_hashes(keys: pa.Array | Iterable[str]) -> np.ndarray:
    """The 64-bit hashes (uint64) of string keys, one per key, in order. Nulls are not allowed."""
    if not isinstance(keys, pa.Array):
        from mldata.steps.types import arrow_array

        keys = arrow_array(list(keys), pa.string())
    if pa.types.is_dictionary(keys.type):
        keys = keys.dictionary_decode()
    if not (pa.types.is_string(keys.type) or pa.types.is_large_string(keys.type)):
        keys = keys.cast(pa.string())
    if keys.null_count:
        raise ValueError("key_hashes: keys must not be null")
    n = len(keys)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    offset_type = np.int64 if pa.types.is_large_string(keys.type) else np.int32
    _, offsets_buffer, data_buffer = keys.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type, count=n + 1, offset=keys.offset * offset_type(0).itemsize)
    offsets = offsets.astype(np.int64)
    lengths = np.diff(offsets)
    start = int(offsets[0])
    total = int(offsets[-1]) - start
    raw = np.zeros(n, dtype=np.uint64)
    if total:
        data = np.frombuffer(data_buffer, dtype=np.uint8, count=total, offset=start)
        longest = int(lengths.max())
        powers = _power_table(longest)
        terms = data.astype(np.uint64)
        terms += np.uint64(1)  # so that zero bytes count
        if int(lengths.min()) == longest:  # keys of one length (ids, hashes, codes): a matrix
            terms = terms.reshape(n, longest)
            terms *= powers[:longest]
            raw = terms.sum(axis=1, dtype=np.uint64)
        else:
            starts = offsets[:-1] - start
            # the position of every byte within its key
            terms *= powers[np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)]
            nonempty = lengths > 0
            # reduceat over the starts of the non-empty keys: empty keys hold no bytes in between
            raw[nonempty] = np.add.reduceat(terms, starts[nonempty])
    raw += np.uint64(_SEED)
    raw ^= lengths.astype(np.uint64) * np.uint64(_LENGTH_MIX)
    return _finalise(raw)


class DistinctSketch:
    """The ``k`` smallest distinct key hashes seen (see the module docstring)."""

    def __init__(self, k: int = SKETCH_SIZE, hashes: np.ndarray | None = None) -> None:
        self.k = k
        self.hashes = np.empty(0, dtype=np.uint64)
        if hashes is not None:
            self.add_hashes(hashes)

    def add(self, keys: pa.Array | Iterable[str]) -> None:
        """Add string keys."""
        self.add_hashes(key_hashes(keys))

    def add_hashes(self, hashes: np.ndarray) -> None:
        """Add already hashed keys (another sketch's ``hashes``: the union is exact)."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        if hashes.size == 0:
            return
        self.hashes = sorted_unique(np.concatenate([self.hashes, hashes]))[: self.k]

    def estimate(self) -> int:
        """The estimated number of distinct keys (exact below ``k``, up to hash collisions)."""
        if self.hashes.size < self.k:
            return int(self.hashes.size)
        return round((self.k - 1) * 2.0**64 / (float(self.hashes[-1]) + 1.0))


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a NaN-free array, as ``np.unique`` returns them. (np.unique
    hashes in numpy 2.x, several times slower than sorting on arrays of random 64-bit values, and
    its first call imports numpy.ma: 20 ms on every rebuild.)"""
    a = np.sort(a)
    if a.size < 2:
        return a
    keep = np.empty(a.size, dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def union(sketches: Iterable[np.ndarray], k: int = SKETCH_SIZE) -> DistinctSketch:
    """The sketch of the union of sketches given by their hash arrays."""
    arrays = [np.asarray(s, dtype=np.uint64) for s in sketches]
    sketch = DistinctSketch(k)
    if arrays:
        sketch.add_hashes(np.concatenate(arrays))
    return sketch
