"""The built-in steps, their YAML parameters, and the cast type names."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mldata.errors import ExpressionError, StepError
from mldata.steps import builtin as steps
from mldata.steps.builtin import (
    GLOBAL,
    ROW_LOCAL,
    STEP_KINDS,
    apply_global,
    apply_row_local,
    cast,
    dedupe,
    derive,
    drop,
    fill_null,
    filter_rows,
    rename,
    sample,
    select,
    sort,
    validate_step_params,
)
from mldata.steps.types import KNOWN_TYPE_NAMES, canonical_type_name, is_valid_type_name, parse_type


@pytest.fixture
def batch() -> pa.RecordBatch:
    return pa.record_batch(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "name": ["ann", "bob", None, "cy"],
            "score": [1.5, None, 3.0, 4.0],
            "code": ["10", "x", None, "300"],
        }
    )


# ------------------------------------------------------------------------------------------
# Row-local steps
# ------------------------------------------------------------------------------------------


def test_select_should_keep_the_named_columns_in_the_given_order(batch):
    assert select(batch, ["score", "id"]).schema.names == ["score", "id"]


def test_drop_should_remove_the_named_columns(batch):
    assert drop(batch, ["name", "code"]).schema.names == ["id", "score"]


@pytest.mark.parametrize("step", [select, drop])
def test_select_and_drop_should_report_unknown_columns_with_the_available_ones(batch, step):
    with pytest.raises(StepError) as info:
        step(batch, ["id", "nmae"])
    assert "unknown column 'nmae'" in info.value.message
    assert "did you mean 'name'?" in info.value.message
    assert "available columns: id, name, score, code" in info.value.message


def test_rename_should_keep_positions(batch):
    assert rename(batch, {"name": "who", "id": "key"}).schema.names == ["key", "who", "score", "code"]


def test_rename_should_allow_swapping_names(batch):
    out = rename(batch, {"name": "code", "code": "name"})
    assert out.schema.names == ["id", "code", "score", "name"]
    assert out.column("code").to_pylist() == ["ann", "bob", None, "cy"]


def test_rename_should_refuse_duplicate_names(batch):
    with pytest.raises(StepError, match="two columns would be called 'id'"):
        rename(batch, {"name": "id"})
    with pytest.raises(StepError, match="unknown column 'nope'"):
        rename(batch, {"nope": "x"})


def test_cast_should_convert_types_by_name(batch):
    out = cast(batch, {"id": "int8", "score": "float32", "name": "category"})
    assert out.schema.field("id").type == pa.int8()
    assert out.schema.field("score").type == pa.float32()
    assert out.schema.field("name").type == pa.dictionary(pa.int32(), pa.string())
    assert out.column("name").to_pylist() == ["ann", "bob", None, "cy"]
    assert out.schema.names == batch.schema.names


@pytest.mark.parametrize(
    "column, type_name, bad",
    [
        ("code", "int64", "'x'"),  # a string that is not a number
        ("score", "int64", "1.5"),  # a float that would be truncated
        ("id", "uint8", None),  # fits
    ],
)
def test_an_impossible_cast_should_name_the_column_the_type_and_a_bad_value(batch, column, type_name, bad):
    if bad is None:
        assert cast(batch, {column: type_name}).schema.field(column).type == parse_type(type_name)
        return
    with pytest.raises(StepError) as info:
        cast(batch, {column: type_name})
    message = info.value.message
    assert f"column {column!r}" in message and type_name in message
    assert f"the value {bad} does not fit" in message
    assert info.value.exit_status == 1


def test_an_overflowing_cast_should_show_the_first_bad_value():
    data = pa.record_batch({"n": pa.array([1, 2, None, 127, 128, 500] + [3] * 100, pa.int64())})
    with pytest.raises(StepError, match="the value 128 does not fit"):
        cast(data, {"n": "int8"})


def test_cast_should_handle_categories_both_ways():
    data = pa.Table.from_batches(
        [
            pa.record_batch({"c": pa.array(["1", "2"]).dictionary_encode(), "n": [1, 2]}),
            pa.record_batch({"c": pa.array(["3", None]).dictionary_encode(), "n": [1, None]}),
        ]
    )
    out = cast(data, {"c": "int32", "n": "category"})
    assert out.column("c").to_pylist() == [1, 2, 3, None]
    assert out.column("c").type == pa.int32()
    assert out.column("n").to_pylist() == ["1", "2", "1", None]
    assert out.column("n").type == pa.dictionary(pa.int32(), pa.string())


def test_cast_should_parse_dates_and_timestamps():
    data = pa.record_batch({"d": ["2020-01-02", None], "t": ["2020-01-02 03:04:05", "2020-01-02T03:04:05"]})
    out = cast(data, {"d": "date", "t": "timestamp[s]"})
    assert out.schema.field("d").type == pa.date32()
    assert out.schema.field("t").type == pa.timestamp("s")
    assert out.column("t").to_pylist()[0].hour == 3


def test_an_unsupported_cast_should_be_a_step_error(batch):
    with pytest.raises(StepError, match="cannot be cast to date"):
        cast(batch, {"score": "date"})


def test_filter_should_keep_rows_where_the_condition_holds(batch):
    assert filter_rows(batch, "score > 2 and name is not null").column("id").to_pylist() == [4]


def test_a_filter_that_is_not_a_condition_should_be_a_step_error(batch):
    with pytest.raises(StepError, match="gives int64 values, not true/false"):
        filter_rows(batch, "id + 1")
    with pytest.raises(StepError, match="unknown column 'scor'.*did you mean 'score'"):
        filter_rows(batch, "scor > 1")


def test_derive_should_add_and_replace_columns_in_order(batch):
    out = derive(batch, {"double": "id * 2", "quad": "double * 2", "id": "id + 100"})
    assert out.schema.names == ["id", "name", "score", "code", "double", "quad"]
    assert out.column("quad").to_pylist() == [4, 8, 12, 16]
    assert out.column("id").to_pylist() == [101, 102, 103, 104]


def test_derive_should_work_on_a_table_too(batch):
    table = pa.Table.from_batches([batch, batch])
    out = derive(table, {"flag": "score >= 3", "one": "1"})
    assert out.column("flag").to_pylist() == [False, None, True, True] * 2
    assert out.column("one").to_pylist() == [1] * 8


def test_fill_null_should_read_the_value_as_the_column_type(batch):
    data = pa.record_batch(
        {
            "i": pa.array([None, 1], pa.int16()),
            "f": [None, 1.0],
            "s": [None, "a"],
            "c": pa.array([None, "a"]).dictionary_encode(),
            "d": pa.array([None, 1], pa.date32()),
            "n": pa.nulls(2),
            "nan": [float("nan"), None],
        }
    )
    out = fill_null(data, {"i": 0, "f": 2, "s": "?", "c": "z", "d": "2020-01-01", "n": "x", "nan": 0.0})
    assert out.column("i").to_pylist() == [0, 1] and out.schema.field("i").type == pa.int16()
    assert out.column("f").to_pylist() == [2.0, 1.0]
    assert out.column("s").to_pylist() == ["?", "a"]
    assert out.column("c").to_pylist() == ["z", "a"] and pa.types.is_dictionary(out.schema.field("c").type)
    assert str(out.column("d").to_pylist()[0]) == "2020-01-01"
    assert out.column("n").to_pylist() == ["x", "x"]
    nan, zero = out.column("nan").to_pylist()
    assert math.isnan(nan) and zero == 0.0  # NaN is not null


def test_fill_null_with_a_value_that_does_not_fit_should_be_a_step_error(batch):
    with pytest.raises(StepError, match="the value 'abc' for column 'id' does not fit its type int64"):
        fill_null(batch, {"id": "abc"})
    with pytest.raises(StepError, match="unknown column"):
        fill_null(batch, {"nope": 1})


# ------------------------------------------------------------------------------------------
# Global steps
# ------------------------------------------------------------------------------------------


def test_dedupe_should_keep_the_first_row_of_each_key_in_order():
    table = pa.table({"k": [3, 1, 3, 2, 1], "v": ["a", "b", "c", "d", "e"]})
    out = dedupe(table, ["k"])
    assert out.to_pydict() == {"k": [3, 1, 2], "v": ["a", "b", "d"]}
    assert dedupe(table, None).num_rows == 5


def test_dedupe_should_treat_nulls_nan_and_signed_zeros_as_equal():
    table = pa.table(
        {
            "f": [None, float("nan"), 0.0, None, float("nan"), -0.0, 1.0],
            "i": list(range(7)),
        }
    )
    assert dedupe(table, ["f"]).column("i").to_pylist() == [0, 1, 2, 6]


def test_dedupe_should_handle_categories_with_different_dictionaries_per_chunk():
    table = pa.Table.from_batches(
        [
            pa.record_batch({"c": pa.array(["a", "b"]).dictionary_encode(), "i": [0, 1]}),
            pa.record_batch({"c": pa.array(["b", "c", None, "a", None]).dictionary_encode(), "i": [2, 3, 4, 5, 6]}),
        ]
    )
    out = dedupe(table, ["c"])
    assert out.column("i").to_pylist() == [0, 1, 3, 4]
    assert out.schema == table.schema


def test_dedupe_should_report_unknown_and_unusable_columns():
    table = pa.table({"k": [1], "lst": [[1, 2]]})
    with pytest.raises(StepError, match="unknown column 'kk'.*did you mean 'k'"):
        dedupe(table, ["kk"])
    with pytest.raises(StepError, match="'lst' of type list"):
        dedupe(table, None)
    assert dedupe(table, ["k"]).num_rows == 1
    assert dedupe(table.slice(0, 0), ["k"]).num_rows == 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-2, 2)),
            st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.5, float("nan")])),
            st.one_of(st.none(), st.sampled_from(["a", "b", ""])),
        ),
        max_size=40,
    ),
    st.sampled_from([None, ["i"], ["f"], ["s", "i"], ["f", "s"], ["c"]]),
    st.integers(1, 4),
)
def test_dedupe_should_match_a_python_reference(rows, on, chunks):
    columns = {
        "i": pa.array([r[0] for r in rows], pa.int64()),
        "f": pa.array([r[1] for r in rows], pa.float64()),
        "s": pa.array([r[2] for r in rows], pa.string()),
    }
    table = pa.table(columns)
    # split into chunks, with a category column dictionary-encoded per chunk
    size = max(1, math.ceil(len(rows) / chunks))
    batches = []
    for offset in range(0, len(rows), size):
        part = table.slice(offset, size).combine_chunks().to_batches()[0]
        batches.append(part.append_column("c", part.column("s").dictionary_encode()))
    schema = table.schema.append(pa.field("c", pa.dictionary(pa.int32(), pa.string())))
    chunked = pa.Table.from_batches(batches, schema=schema)

    def norm(value):
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        return value  # -0.0 == 0.0 and hash alike in Python; None == None

    names = on or ["i", "f", "s", "c"]
    seen, expected = set(), []
    for index, row in enumerate(chunked.to_pylist()):
        key = tuple(norm(row[n]) for n in names)
        if key not in seen:
            seen.add(key)
            expected.append(index)
    got = dedupe(chunked, on)
    assert got.schema == chunked.schema
    assert repr(got.to_pylist()) == repr(chunked.take(pa.array(expected, pa.int64())).to_pylist())  # repr: NaN == NaN


def test_sort_should_be_stable_with_nulls_last():
    table = pa.table({"k": [2, None, 1, 2, 1, None], "i": [0, 1, 2, 3, 4, 5]})
    assert sort(table, ["k"]).column("i").to_pylist() == [2, 4, 0, 3, 1, 5]
    assert sort(table, ["k"], descending=True).column("i").to_pylist() == [0, 3, 2, 4, 1, 5]


def test_sort_should_take_one_direction_per_column_and_sort_categories_by_value():
    table = pa.Table.from_batches(
        [
            pa.record_batch({"c": pa.array(["b", "a"]).dictionary_encode(), "n": [1, 2]}),
            pa.record_batch({"c": pa.array(["a", "b"]).dictionary_encode(), "n": [3, 4]}),
        ]
    )
    out = sort(table, ["c", "n"], descending=[False, True])
    assert out.to_pydict() == {"c": ["a", "a", "b", "b"], "n": [3, 2, 4, 1]}
    with pytest.raises(StepError, match="2 columns"):
        sort(table, ["c", "n"], descending=[True])


def test_sort_should_put_nan_after_numbers_and_before_nulls():
    table = pa.table({"f": [None, float("nan"), 2.0, -1.0]})
    assert repr(sort(table, ["f"]).column("f").to_pylist()) == "[-1.0, 2.0, nan, None]"
    assert repr(sort(table, ["f"], True).column("f").to_pylist()) == "[2.0, -1.0, nan, None]"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 3)), st.one_of(st.none(), st.sampled_from("xyz"))), max_size=30),
    st.booleans(),
    st.booleans(),
)
def test_sort_should_match_python_sorted(rows, desc_a, desc_b):
    table = pa.table(
        {"a": pa.array([r[0] for r in rows], pa.int64()), "b": pa.array([r[1] for r in rows]), "i": range(len(rows))}
    )
    # Python reference: stable sorts from the last key to the first, nulls last either way.
    order = list(range(len(rows)))
    for pos, desc in ((1, desc_b), (0, desc_a)):
        present = [i for i in order if rows[i][pos] is not None]
        missing = [i for i in order if rows[i][pos] is None]
        order = sorted(present, key=lambda i: rows[i][pos], reverse=desc) + missing
    # sorted(reverse=True) keeps ties stable in Python too
    assert sort(table, ["a", "b"], [desc_a, desc_b]).column("i").to_pylist() == order


def test_sample_should_be_deterministic_and_keep_row_order():
    table = pa.table({"i": list(range(100))})
    first = sample(table, n=10, seed=7).column("i").to_pylist()
    assert first == sample(table, n=10, seed=7).column("i").to_pylist()
    assert first == sorted(first) and len(set(first)) == 10
    assert first != sample(table, n=10, seed=8).column("i").to_pylist()
    assert sample(table, n=1000).num_rows == 100
    assert sample(table, n=0).num_rows == 0
    assert sample(table, fraction=0.125).num_rows == 13  # 12.5 rounds half up
    assert sample(table, fraction=1.0).column("i").to_pylist() == list(range(100))
    assert sample(table.slice(0, 0), fraction=0.5).num_rows == 0
    with pytest.raises(StepError, match="exactly one"):
        sample(table, n=1, fraction=0.5)


# ------------------------------------------------------------------------------------------
# Registry and YAML parameters
# ------------------------------------------------------------------------------------------


def test_the_registry_should_split_row_local_and_global_steps():
    assert set(ROW_LOCAL) == {"select", "drop", "rename", "cast", "filter", "derive", "fill_null"}
    assert set(GLOBAL) == {"dedupe", "sort", "sample"}
    assert set(STEP_KINDS) == set(ROW_LOCAL) | set(GLOBAL)


def test_apply_row_local_should_take_yaml_parameters(batch):
    out = batch
    for kind, params in [
        ("rename", {"name": "who"}),
        ("filter", "score is not null"),
        ("derive", {"s2": "score * 2"}),
        ("cast", {"id": "int32"}),
        ("fill_null", {"who": "?"}),
        ("drop", ["code"]),
        ("select", ["id", "who", "s2"]),
    ]:
        validate_step_params(kind, params)
        out = apply_row_local(kind, params, out)
    assert out.to_pydict() == {"id": [1, 3, 4], "who": ["ann", "?", "cy"], "s2": [3.0, 6.0, 8.0]}
    assert out.schema.field("id").type == pa.int32()
    assert apply_row_local("select", "id", batch).schema.names == ["id"]
    with pytest.raises(StepError, match="not a row-local step"):
        apply_row_local("sort", {"by": ["id"]}, batch)


def test_apply_global_should_take_yaml_parameters():
    table = pa.table({"k": [2, 1, 2, 3], "v": [1, 2, 3, 4]})
    assert apply_global("dedupe", {"on": ["k"]}, table).column("v").to_pylist() == [1, 2, 4]
    assert apply_global("dedupe", None, table).num_rows == 4
    assert apply_global("dedupe", {}, table).num_rows == 4
    assert apply_global("dedupe", ["k"], table).num_rows == 3
    assert apply_global("sort", {"by": ["k", "v"], "descending": [True, False]}, table).column("v").to_pylist() == [4, 1, 3, 2]
    assert apply_global("sort", {"by": "v", "descending": True}, table).column("v").to_pylist() == [4, 3, 2, 1]
    assert apply_global("sample", {"n": 2, "seed": 1}, table).num_rows == 2
    assert apply_global("sample", {"fraction": 0.5}, table).equals(sample(table, fraction=0.5, seed=0))
    with pytest.raises(StepError, match="not a global step"):
        apply_global("filter", "k > 1", table)


@pytest.mark.parametrize(
    "kind, params",
    [
        ("select", ["a", "b"]),
        ("select", "a"),
        ("drop", ["a"]),
        ("rename", {"a": "b", "c": "d"}),
        ("cast", {"a": "int8", "b": "timestamp[ms, tz=Europe/Paris]", "c": "decimal(10, 2)", "d": "Category"}),
        ("filter", "a > 1 and b is not null"),
        ("filter", "flag"),
        ("derive", {"c": "a / b", "d": "lower(s)"}),
        ("fill_null", {"a": 0, "b": "x", "c": 1.5, "d": False}),
        ("dedupe", None),
        ("dedupe", {}),
        ("dedupe", {"on": ["id"]}),
        ("dedupe", {"on": None}),
        ("sort", {"by": ["a", "b"]}),
        ("sort", {"by": "a", "descending": True}),
        ("sort", {"by": ["a", "b"], "descending": [True, False]}),
        ("sample", {"n": 10}),
        ("sample", {"fraction": 0.5, "seed": 3}),
    ],
)
def test_valid_step_parameters_should_pass(kind, params):
    validate_step_params(kind, params)


@pytest.mark.parametrize(
    "kind, params, fragment",
    [
        ("dedup", None, "did you mean 'dedupe'?"),
        ("select", [], "expected a list of column names"),
        ("select", ["a", "a"], "listed twice"),
        ("select", {"a": 1}, "expected a list"),
        ("drop", [1], "expected a list"),
        ("rename", ["a"], "expected a mapping"),
        ("rename", {"a": 1}, "must be a non-empty string"),
        ("rename", {"a": "x", "b": "x"}, "renamed to 'x'"),
        ("cast", {"a": "int128"}, "unknown type 'int128'"),
        ("cast", {"a": "timestamp[us, tz=Nowhere/City]"}, "unknown time zone"),
        ("cast", {"a": "decimal(50, 2)"}, "precision"),
        ("filter", "a >", "ends too early"),
        ("filter", "a + 1", "is not a condition"),
        ("filter", ["a > 1"], "must be a string"),
        ("derive", {"x": "evil()"}, "unknown function 'evil'"),
        ("derive", {"x": 1}, "must be a string"),
        ("derive", "a + 1", "expected a mapping"),
        ("fill_null", {"a": None}, "must be a string, number or boolean"),
        ("fill_null", {"a": [1]}, "must be a string, number or boolean"),
        ("dedupe", {"by": ["a"]}, "unknown option 'by'"),
        ("dedupe", {"on": []}, "`on` to be a list"),
        ("sort", {}, "missing `by`"),
        ("sort", {"by": ["a"], "desc": True}, "did you mean 'descending'?"),
        ("sort", {"by": ["a"], "descending": "yes"}, "true or false"),
        ("sort", {"by": ["a", "b"], "descending": [True]}, "a list of 2"),
        ("sample", {}, "exactly one"),
        ("sample", {"n": 1, "fraction": 0.5}, "exactly one"),
        ("sample", {"n": -1}, "`n` must be"),
        ("sample", {"n": True}, "`n` must be"),
        ("sample", {"fraction": 1.5}, "`fraction` must be"),
        ("sample", {"n": 1, "seed": "x"}, "`seed` must be"),
    ],
)
def test_invalid_step_parameters_should_raise_an_expression_error(kind, params, fragment):
    with pytest.raises(ExpressionError) as info:
        validate_step_params(kind, params)
    assert fragment in info.value.message
    assert info.value.exit_status == 2


def test_every_example_in_validation_hints_should_be_valid():
    # the shapes suggested by hints must themselves pass
    validate_step_params("sort", {"by": ["date", "id"], "descending": False})
    validate_step_params("sample", {"n": 1000, "seed": 0})
    validate_step_params("cast", {"age": "int32"})


# ------------------------------------------------------------------------------------------
# Type names
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, arrow_type",
    [
        ("int8", pa.int8()),
        ("INT64", pa.int64()),
        ("int", pa.int64()),
        ("uint16", pa.uint16()),
        ("float", pa.float64()),
        ("double", pa.float64()),
        ("float32", pa.float32()),
        ("str", pa.string()),
        ("string", pa.string()),
        ("large_string", pa.large_string()),
        ("bool", pa.bool_()),
        ("boolean", pa.bool_()),
        ("date", pa.date32()),
        ("date32", pa.date32()),
        ("timestamp", pa.timestamp("us")),
        ("timestamp[ns]", pa.timestamp("ns")),
        ("timestamp[us, tz=UTC]", pa.timestamp("us", tz="UTC")),
        (" timestamp[ MS ,tz=Europe/Paris] ", pa.timestamp("ms", tz="Europe/Paris")),
        ("timestamp[s, tz=+01:00]", pa.timestamp("s", tz="+01:00")),
        ("decimal(10,2)", pa.decimal128(10, 2)),
        ("decimal128(38, 0)", pa.decimal128(38, 0)),
        ("category", pa.dictionary(pa.int32(), pa.string())),
    ],
)
def test_type_names_should_map_to_arrow_types(name, arrow_type):
    assert parse_type(name) == arrow_type
    assert is_valid_type_name(name)
    assert parse_type(canonical_type_name(name)) == arrow_type


def test_every_known_type_name_should_parse():
    for name in KNOWN_TYPE_NAMES:
        parse_type(name)


@pytest.mark.parametrize("name", ["int128", "varchar", "timestamp[h]", "decimal(0, 0)", "decimal(5, 6)", "", "list<int>", 5])
def test_unknown_type_names_should_be_rejected_with_the_valid_ones_listed(name):
    assert not is_valid_type_name(name)
    with pytest.raises(ExpressionError) as info:
        parse_type(name)
    if "decimal" not in str(name):
        assert "valid types: int8, int16" in info.value.message
        assert "category" in info.value.message


def test_a_misspelled_type_should_get_a_suggestion():
    with pytest.raises(ExpressionError, match="did you mean 'float32'"):
        parse_type("flaot32")


def test_the_steps_module_should_export_a_semantics_version():
    assert isinstance(steps.STEP_SEMANTICS_VERSION, int)


def test_sort_should_read_a_missing_descending_as_ascending():
    table = pa.table({"k": [2, 1]})
    assert apply_global("sort", {"by": ["k"], "descending": None}, table).column("k").to_pylist() == [1, 2]
    validate_step_params("sort", {"by": ["k"], "descending": None})
