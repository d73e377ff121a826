"""The distinct-count sketch: a fixed vectorised key hash and k-minimum-values estimates."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mldata.stats import sketch
from mldata.stats.sketch import SKETCH_SIZE, DistinctSketch, key_hashes, union


def test_the_hash_of_a_key_should_not_depend_on_how_the_keys_are_stored():
    keys = ["", "a", "ab", "ba", "\x00", "\x00\x00", "日本", "\U0001f600", "x" * 1000]
    expected = key_hashes(keys)
    assert expected.dtype == np.uint64 and len(expected) == len(keys)
    assert len(set(expected.tolist())) == len(keys)
    assert key_hashes(pa.array(keys, type=pa.large_string())).tolist() == expected.tolist()
    assert key_hashes(pa.array(keys).dictionary_encode()).tolist() == expected.tolist()
    padded = pa.array(["zz", *keys, "zz"]).slice(1, len(keys))
    assert key_hashes(padded).tolist() == expected.tolist()
    one_by_one = [int(key_hashes([key])[0]) for key in keys]
    assert one_by_one == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=40), st.integers(0, 5))
def test_keys_of_one_length_should_hash_as_keys_of_mixed_lengths(keys, width):
    # the fixed-length path (a matrix) must agree with the general path (reduceat)
    same = [key[:width].ljust(width, "q") for key in keys]
    mixed = key_hashes([*same, "a" * (width + 1)])
    assert key_hashes(same).tolist() == mixed[: len(same)].tolist()
    assert key_hashes(keys).tolist() == [int(key_hashes([k])[0]) for k in keys]


def test_the_hash_should_be_fixed_forever():
    # lock files store sketches of these hashes: a change of the function changes them
    assert key_hashes(["", "mldata", "abc"]).tolist() == FROZEN_HASHES


FROZEN_HASHES = [17299443513133803897, 11330263853549897635, 973326169650829266]


def test_null_keys_should_be_rejected():
    with pytest.raises(ValueError, match="null"):
        key_hashes(pa.array(["a", None]))


@pytest.mark.parametrize("n", [0, 1, 100, SKETCH_SIZE - 1, SKETCH_SIZE, 5_000, 60_000, 400_000])
def test_estimates_should_be_exact_below_k_and_close_above(n):
    s = DistinctSketch()
    s.add(pa.array([f"key-{i}" for i in range(n)]))
    s.add(pa.array([f"key-{i}" for i in range(0, n, 3)]))  # repeats change nothing
    if n < SKETCH_SIZE:
        assert s.estimate() == n
    else:
        assert abs(s.estimate() - n) <= 4 * n / np.sqrt(SKETCH_SIZE - 2)  # 4 standard errors


def test_the_union_of_sketches_should_be_the_sketch_of_the_union():
    rng = random.Random(5)
    keys = [f"{rng.getrandbits(40):x}" for _ in range(30_000)]
    groups = [keys[i::7] + keys[:50] for i in range(7)]  # overlapping groups
    parts = []
    for group in groups:
        s = DistinctSketch()
        s.add(group)
        parts.append(s.hashes)
    whole = DistinctSketch()
    whole.add(keys)
    assert union(parts).hashes.tolist() == whole.hashes.tolist()
    assert union(reversed(parts)).hashes.tolist() == whole.hashes.tolist()
    assert union([union(parts[:3]).hashes, union(parts[3:]).hashes]).hashes.tolist() == whole.hashes.tolist()


def test_sorted_unique_should_match_numpy():
    rng = np.random.default_rng(0)
    for size in (0, 1, 2, 1000):
        a = rng.integers(0, 50, size).astype(np.uint64)
        assert sketch.sorted_unique(a).tolist() == np.unique(a).tolist()
