"""Exact (correctly rounded) sums of float64 values, vectorised: what ``math.fsum`` returns.

The profiles' ``mean`` and ``m2`` go into the lockfile, so their sums must be identical on every
machine: correctly rounded, not numpy's pairwise sums. ``math.fsum`` over a million values takes
~50 ms; these take a fraction of that. Used by the whole-column profile (stats/profile.py) and the
merge of partial profiles (stats/partial.py).
"""

from __future__ import annotations

import math

import numpy as np

# Exact sums are integers in units of 2**-1074, the spacing of the smallest subnormal double.
_UNIT_EXP = 1074
# exact_sum_units: terms per flush of the float64 slot sums (so that they stay exact), terms per
# cache-sized block, slots (sign and exponent), the exponent field from which a slot's sum could
# overflow float64 and the exact scaling applied to those terms, and the split of a significand.
_SUM_CHUNK = 1 << 26
_SUM_BLOCK = 1 << 15
_SLOTS = 0x1000
_BIG_EXPONENT = 2000
_BIG_SCALE = 600
_LOW_BITS = 26
# sum_of_squares: integer-valued doubles below 2**41 summed in float64 in groups of 2**12 are exact
_LIMB_GROUP = 1 << 12
_HIGH_MASK = np.int64(~((1 << _LOW_BITS) - 1))


def exact_sum_units(a: np.ndarray, center: float | None = None) -> int | None:
    """The exact sum of float64 values, as an integer number of units of 2**-1074.

    With ``center``, the sum of the float64 squares ``(a - center)**2`` (each difference and
    square rounded as numpy rounds them), without materialising them. None if a term is inf or NaN.

    Every finite double is an integer multiple of 2**-1074. Each term is split into a high part
    (its sign, exponent and top 26 fraction bits) and the low 26 bits; both are summed per
    sign-and-exponent slot with a weighted ``bincount``. Within a slot the high parts are integer
    multiples of one unit below 2**27 and the low parts below 2**26, so over at most 2**26 terms
    every float64 partial sum is an integer below 2**53 units: exact. The slot sums are then added
    as Python integers. Terms from 2**977 up, whose slot sums could overflow, are summed apart,
    scaled by 2**-600 (exactly). The work is done in cache-sized blocks: about 8 cheap vectorised
    passes, several times faster than ``math.fsum``; :func:`units_to_float` of the result is exactly
    what ``math.fsum`` returns.
    """
    a = np.asarray(a, dtype=np.float64)
    total = 0
    high_sums = np.zeros(_SLOTS)
    low_sums = np.zeros(_SLOTS)
    size = min(_SUM_BLOCK, a.size)
    terms = np.empty(size) if center is not None else None
    slots = np.empty(size, dtype=np.int64)
    high = np.empty(size, dtype=np.int64)
    low = np.empty(size)
    in_sums = 0
    big = False
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, a.size, _SUM_BLOCK):
            chunk = a[start:start + _SUM_BLOCK]
            k = chunk.size
            if terms is not None:
                x = terms[:k]
                np.subtract(chunk, center, out=x)
                np.multiply(x, x, out=x)
            else:
                x = np.ascontiguousarray(chunk)
            bits = x.view(np.int64)
            slot, hi, lo = slots[:k], high[:k], low[:k]
            np.right_shift(bits, 52, out=slot)
            if terms is None:  # squares are >= 0: no sign bit to drop
                np.bitwise_and(slot, 0xFFF, out=slot)
            np.bitwise_and(bits, _HIGH_MASK, out=hi)
            hi_f = hi.view(np.float64)
            np.subtract(x, hi_f, out=lo)
            high_sums += np.bincount(slot, weights=hi_f, minlength=_SLOTS)
            low_sums += np.bincount(slot, weights=lo, minlength=_SLOTS)
            in_sums += k
            if in_sums + _SUM_BLOCK > _SUM_CHUNK or start + _SUM_BLOCK >= a.size:
                used = np.flatnonzero((high_sums != 0) | (low_sums != 0))
                exponents = used & 0x7FF
                if (exponents == 0x7FF).any():
                    return None
                if (exponents >= _BIG_EXPONENT).any():
                    big = True
                    used = used[exponents < _BIG_EXPONENT]
                # a slot's sums are integer multiples of its unit 2**(e-1075), e = max(exponent, 1)
                e = np.maximum(used & 0x7FF, 1)
                scale = 1075 - e
                for hi_units, lo_units, shift in zip(np.ldexp(high_sums[used], scale).tolist(),
                                                     np.ldexp(low_sums[used], scale).tolist(), (e - 1).tolist()):
                    total += (int(hi_units) + int(lo_units)) << shift
                high_sums[:] = 0.0
                low_sums[:] = 0.0
                in_sums = 0
        if big:  # rare: terms of 2**977 and more, summed apart after an exact scaling
            x = a if center is None else np.square(a - center)
            huge = x[(x.view(np.int64) >> 52 & 0x7FF) >= _BIG_EXPONENT]
            scaled = exact_sum_units(huge * 2.0**-_BIG_SCALE)
            assert scaled is not None
            total += scaled << _BIG_SCALE
    return total


def sum_of_squares(values: np.ndarray, center: float, lo: float, hi: float) -> float | None:
    """``fsum((values - center)**2)`` (None if inf): the ``m2`` of the profiles.

    Fast path with a certificate (:func:`_certified`), falling back to :func:`exact_sum_units`.
    The squares are all below 2**E, the largest being at ``lo`` or ``hi`` since rounding is
    monotone. Plain float passes, no scatter: about twice as fast as the exact method.
    """
    d_lo, d_hi = lo - center, hi - center  # Python floats: inf on overflow, as numpy's
    tmax = max(d_lo * d_lo, d_hi * d_hi)
    if not math.isfinite(tmax):
        return None  # a square beyond float64: m2 is inf, written as null
    if tmax == 0.0:
        return 0.0
    total = _certified(values, center, math.frexp(tmax)[1])
    if total is not None:
        return None if math.isinf(total) else total
    return rounded_or_none(exact_sum_units(values, center=center))


def certified_fsum(values: np.ndarray, lo: float, hi: float) -> float | None:
    """``math.fsum(values)`` of finite float64 values whose min and max are ``lo`` and ``hi``,
    when the fast certificate of :func:`_certified` decides it (about 3x faster than
    :func:`exact_sum_units`); None when it does not (about n * 2**-82 of an ulp from a tie, or
    magnitudes beyond 2**+-900) or when the sum leaves float64: then ask :func:`fsum`."""
    amax = max(abs(lo), abs(hi))
    if amax == 0.0:
        return 0.0
    total = _certified(values, None, math.frexp(amax)[1])
    return None if total is None or math.isinf(total) else total


def _certified(values: np.ndarray, center: float | None, exponent: int) -> float | None:
    """The correctly rounded sum of the terms t (``values``, or with ``center`` the float64
    squares ``(values - center)**2``), all of magnitude below 2**``exponent``, or None when the
    certificate cannot decide it (inf: the sum leaves float64).

    Each term is cut into two fixed-point limbs, truncated toward zero: a = trunc(t / u1) and
    b = trunc((t - a*u1) / u2) with u1 = 2**(E-41) and u2 = 2**(E-82). Every step is exact in
    float64: scalings by powers of two (a term whose scaling underflows is below one limb unit,
    and truncates to 0 either way), and the Sterbenz subtraction t - a*u1, of two numbers of one
    sign within a factor of two (or a = 0). The limbs are integers below 2**41 in magnitude,
    summed exactly in float64 over blocks of 4096 and then as integers. Each term lies between
    a*u1 + b*u2 and the same plus or minus u2 (by its sign), so the sum lies within n*u2 of
    A*u1 + B*u2; when both ends of that interval round to the same double, that double is the
    correctly rounded sum.
    """
    if not -900 <= exponent <= 900:
        return None
    scale1, unit1 = 2.0 ** (41 - exponent), 2.0 ** (exponent - 41)
    scale2 = 2.0 ** (82 - exponent)
    size = min(_SUM_BLOCK, values.size)
    squares = np.empty(size) if center is not None else None
    limb1, limb2 = np.empty(size), np.empty(size)
    total1 = total2 = 0
    for start in range(0, values.size, _SUM_BLOCK):
        chunk = values[start:start + _SUM_BLOCK]
        k = chunk.size
        a, b = limb1[:k], limb2[:k]
        if squares is not None:
            t = squares[:k]
            np.subtract(chunk, center, out=t)
            np.multiply(t, t, out=t)
        else:
            t = chunk
        np.multiply(t, scale1, out=a)
        np.trunc(a, out=a)
        np.multiply(a, unit1, out=b)
        np.subtract(t, b, out=b)
        np.multiply(b, scale2, out=b)
        np.trunc(b, out=b)
        total1 += _sum_limbs(a)
        total2 += _sum_limbs(b)
    shift2 = exponent - 82 + _UNIT_EXP
    middle = (total1 << (exponent - 41 + _UNIT_EXP)) + (total2 << shift2)
    slack = values.size << shift2
    try:
        low = units_to_float(middle - slack)
    except OverflowError:
        return math.inf if middle > 0 else None
    try:
        high = units_to_float(middle + slack)
    except OverflowError:
        return None
    return low if low == high else None


def _sum_limbs(limbs: np.ndarray) -> int:
    """Exact sum of integer-valued doubles below 2**41: float64 sums of 4096 of them are exact.
    (The group sums are added as Python integers: in int64 they overflow past 2**22 limbs.)"""
    whole = limbs.size - limbs.size % _LIMB_GROUP
    total = 0
    if whole:
        total = sum(limbs[:whole].reshape(-1, _LIMB_GROUP).sum(axis=1).astype(np.int64).tolist())
    if whole < limbs.size:
        total += int(limbs[whole:].sum())
    return total


def rounded_or_none(units: int | None) -> float | None:
    if units is None:
        return None
    try:
        return units_to_float(units)
    except OverflowError:
        return None


def units_to_float(units: int) -> float:
    """``units * 2**-1074`` correctly rounded (Python's int / int is); OverflowError beyond float64."""
    return units / (1 << _UNIT_EXP)


def fsum(a: np.ndarray) -> float:
    """The correctly rounded sum of finite float64 values (``math.fsum``'s result). Raises
    OverflowError when the sum is beyond float64, as ``math.fsum`` does, and ValueError for a
    non-finite term."""
    units = exact_sum_units(a)
    if units is None:
        raise ValueError("fsum: the values must be finite")
    return units_to_float(units)


def exact_mean(values: np.ndarray, lo: float, hi: float) -> float:
    """The profiles' mean of finite float64 values whose min and max are ``lo`` and ``hi``:
    ``fsum(values) / n``, clamped to [lo, hi]; exactly ``lo`` for a constant column (fsum/n can be
    1 ulp off, which would make its std non-zero)."""
    if lo == hi:
        return lo
    n = values.size
    total = certified_fsum(values, lo, hi)
    if total is not None:
        mean = total / n
    else:
        try:
            mean = fsum(values) / n
        except OverflowError:  # the sum leaves float64; the mean itself does not
            mean = fsum(values / n)
    return min(max(mean, lo), hi)
