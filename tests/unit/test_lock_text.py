"""The lockfile's text: JSON with sorted keys, two-space indentation, scalar lists on one line."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mldata.lock import Lock, _dump


def _reference(value: Any, level: int) -> str:
    """The format spelled out one value at a time (what lock._dump's shortcuts must reproduce)."""
    pad = "  " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_reference(value[k], level + 1)}"
                 for k in sorted(value, key=str)]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(v is None or isinstance(v, (str, int, float, bool)) for v in value):
            return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
        return "[\n" + ",\n".join(pad + _reference(v, level + 1) for v in value) + "\n" + "  " * level + "]"
    return json.dumps(value, ensure_ascii=False)


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                           max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(values, st.integers(min_value=0, max_value=3))
def test_the_lock_text_is_the_format_spelled_out(value: Any, level: int) -> None:
    assert _dump(value, level) == _reference(value, level)


def test_a_lock_reads_back_from_its_text() -> None:
    lock = Lock(targets={"t": {"fingerprint": "f", "outputs": {"build/t/a.parquet": {"rows": 3, "hash": "h"}},
                               "profile": {"columns": {"x": {"top_k": [["a", 2], ["é", 1]], "n": 3}}}}})
    text = lock.to_text()
    assert json.loads(text)["targets"] == lock.targets
    assert '"top_k": [\n' in text and '["a", 2]' in text and '"é"' in text
