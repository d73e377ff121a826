"""Validation of built data (mldata/validate.py): pandera schemas, failure reports, quality
checks and schema inference, against docs/schema.md."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
import yaml

from mldata import validate as v
from mldata.errors import BuildError, ConfigError
from mldata.validate import (
    CheckResult,
    Failure,
    ValidationReport,
    infer_schema,
    load_schema,
    raise_if_failed,
    run_checks,
    validate_checks_config,
    validate_table,
    worst_level,
)

REPO = Path(__file__).resolve().parents[2]
PENGUIN_CSVS = sorted((REPO / "examples/penguins/data").glob("penguins_*.csv"))
DOC = REPO / "docs/schema.md"


@pytest.fixture(scope="module")
def penguins() -> tuple[pa.Table, list[tuple[int, str]]]:
    """penguins_clean as the example builds it (the same filter), with its row provenance."""
    tables, sources, start = [], [], 0
    options = pacsv.ConvertOptions(null_values=["NA", ""], strings_can_be_null=True)
    for path in PENGUIN_CSVS:
        t = pacsv.read_csv(path, convert_options=options)
        t = t.filter(pc.and_(pc.is_valid(t["body_mass_g"]), pc.is_valid(t["sex"])))
        t = t.set_column(t.schema.get_field_index("year"), "year", t["year"].cast(pa.int16()))
        sources.append((start, f"data/{path.name}"))
        start += t.num_rows
        tables.append(t)
    return pa.concat_tables(tables), sources


def doc_example_schema() -> str:
    """The penguins schema shown in docs/schema.md (the block starting with its file name)."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return next(b for b in blocks if b.startswith("# schemas/penguins_clean.yaml"))


def by_key(report: ValidationReport) -> dict[tuple[str | None, str], Failure]:
    return {(f.column, f.check): f for f in report.failures}


# ============================================================================================
# load_schema
# ============================================================================================


def test_the_documented_penguins_schema_should_load_and_accept_the_example_data(tmp_path, penguins):
    table, sources = penguins
    path = tmp_path / "penguins_clean.yaml"
    path.write_text(doc_example_schema(), encoding="utf-8")
    schema = load_schema(path)
    assert list(schema.columns)[:2] == ["species", "island"]
    report = validate_table(table, schema, source="penguins_clean", row_sources=sources)
    assert report.ok, report.message()
    assert report.rows == table.num_rows == 333
    assert report.message() == "penguins_clean: 333 rows valid"


def test_an_inline_schema_should_use_the_same_format_and_not_be_mutated():
    inline = {"columns": {"mass": {"dtype": "int64", "nullable": False, "checks": {"ge": 0, "le": 10}},
                          "species": {"dtype": "str", "isin": ["a", "b"]}}}
    before = json.dumps(inline, sort_keys=True)
    schema = load_schema(inline=inline)
    assert json.dumps(inline, sort_keys=True) == before
    assert [c.name for c in schema.columns["mass"].checks] == ["greater_than_or_equal_to", "less_than_or_equal_to"]
    assert [c.name for c in schema.columns["species"].checks] == ["isin"]
    assert schema.columns["mass"].nullable is False


def test_load_schema_should_take_exactly_one_source(tmp_path):
    with pytest.raises(TypeError):
        load_schema()
    with pytest.raises(TypeError):
        load_schema(tmp_path / "x.yaml", inline={})


@pytest.mark.parametrize("text,where,message", [
    ("columns:\n  a:\n    dtype: str\n    checks:\n      isinn: [x]\n", ":5:7", "unknown check 'isinn' (did you mean 'isin'?)"),
    ("columns:\n  a:\n    dtype: str\n    nulable: false\n", ":4:5", "unknown key 'nulable' (did you mean 'nullable'?)"),
    ("colums:\n  a: {dtype: str}\n", ":1:1", "unknown schema key 'colums' (did you mean 'columns'?)"),
    ("columns:\n  a:\n    dtype: str\n   nullable: false\n", ":4:4", "not valid YAML"),
    ("columns:\n  a:\n    dtype: int65\n", ":3:5", "unknown dtype 'int65'"),
    ("columns:\n  a:\n    dtype: int64\n    checks: {in_range: 5}\n", ":2:3", "missing required argument: 'max_value'"),
    ("columns:\n  a:\n    dtype: int64\n    ge: 0\n    checks: {le: 5}\n", ":4:5", "written beside `checks:`"),
    ("columns:\n  a: 5\n", ":2:3", "column 'a' must be a mapping"),
    ("columns:\n  a: {nullable: maybe}\n", ":2:7", "nullable must be true or false"),
    ("columns:\n  a: {checks: [{value: 1}]}\n", ":2:16", "checks[0] is not a known pandera check"),
    ("- a\n- b\n", "", "must be a mapping with a `columns:` key"),
    ("", "", "the schema is empty"),
])
def test_a_bad_schema_file_should_be_a_config_error_naming_the_file_and_line(tmp_path, text, where, message):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_schema(path, label="schemas/s.yaml")
    err = info.value
    assert message in err.message
    assert str(err).startswith(f"schemas/s.yaml{where}: ")
    assert err.hint


def test_a_missing_schema_file_should_say_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_schema(tmp_path / "nope.yaml", label="schemas/nope.yaml")
    assert "schema file schemas/nope.yaml does not exist" in str(info.value)
    assert "mldata schema infer" in info.value.hint


def test_an_inline_error_should_name_the_label():
    with pytest.raises(ConfigError) as info:
        load_schema(inline={"columns": {"a": {"checks": {"bogus": 1}}}}, label="mldata.yaml: targets.t.schema")
    assert str(info.value) == "mldata.yaml: targets.t.schema: column 'a': unknown check 'bogus'"


def test_list_columns_and_null_column_specs_should_load():
    schema = load_schema(inline={"columns": [{"name": "a", "dtype": "int64"}]})
    assert list(schema.columns) == ["a"]
    schema = load_schema(inline={"columns": {"a": None}})
    assert schema.columns["a"].dtype is None


# ============================================================================================
# validate_table
# ============================================================================================

SCHEMA = {
    "columns": {
        "species": {"dtype": "str", "nullable": False, "checks": {"isin": ["Adelie", "Gentoo", "Chinstrap"]}},
        "body_mass_g": {"dtype": "int64", "nullable": False,
                        "checks": {"in_range": {"min_value": 2500, "max_value": 6500}}},
        "year": {"dtype": "int16", "checks": {"ge": 2007}},
        "sex": {"dtype": "str"},
    }
}


def bad_table() -> pa.Table:
    return pa.table({
        "species": ["Adelie", "Gentoo", "Dodo", None, "Emu", "Adelie", "Moa"],
        "body_mass_g": pa.array([3000, 100, None, 4000, 9000, 3500, 7000], pa.int64()),
        "year": pa.array([2007, 2008, 2009, 2007, 2006, 2007, 2007], pa.int16()),
        "extra": ["x"] * 7,
    })


def test_lazy_validation_should_report_every_column_and_check_at_once():
    report = validate_table(bad_table(), load_schema(inline=SCHEMA), source="penguins_clean")
    assert not report.ok
    assert list(by_key(report)) == [
        ("species", "not_nullable"),
        ("species", "isin(['Adelie', 'Gentoo', 'Chinstrap'])"),
        ("body_mass_g", "not_nullable"),
        ("body_mass_g", "in_range(2500, 6500)"),
        ("year", "greater_than_or_equal_to(2007)"),
        ("sex", "column_in_dataframe"),
    ]
    f = by_key(report)
    assert f[("species", "isin(['Adelie', 'Gentoo', 'Chinstrap'])")].count == 3
    assert f[("species", "isin(['Adelie', 'Gentoo', 'Chinstrap'])")].examples == (
        ("'Dodo'", "row 2"), ("'Emu'", "row 4"), ("'Moa'", "row 6"))
    assert f[("body_mass_g", "in_range(2500, 6500)")].examples == (("100", "row 1"), ("9000", "row 4"), ("7000", "row 6"))
    assert f[("body_mass_g", "not_nullable")].examples == (("null", "row 2"),)
    assert f[("year", "greater_than_or_equal_to(2007)")].examples == (("2006", "row 4"),)
    missing = f[("sex", "column_in_dataframe")]
    assert missing.count == 0 and missing.examples == ()
    # the detail lists the table's columns, not just the ones converted for pandera
    assert missing.detail == "column 'sex' is not in the table; its columns: species, body_mass_g, year, extra"


def test_examples_should_name_the_input_file_of_a_row():
    report = validate_table(bad_table(), load_schema(inline=SCHEMA), source="t",
                            row_sources=[(4, "data/penguins_2008.csv"), (0, "data/penguins_2007.csv")])
    f = by_key(report)[("body_mass_g", "in_range(2500, 6500)")]
    assert f.examples == (("100", "row 1 (data/penguins_2007.csv)"), ("9000", "row 4 (data/penguins_2008.csv)"),
                          ("7000", "row 6 (data/penguins_2008.csv)"))


def test_the_message_should_summarize_per_column_and_check():
    report = validate_table(bad_table(), load_schema(inline=SCHEMA), source="penguins_clean", max_examples=2)
    text = report.message()
    assert text.splitlines()[0] == "penguins_clean: validation failed: 6 checks failed on 4 columns (7 rows checked)"
    assert "  species: isin(['Adelie', 'Gentoo', 'Chinstrap']): 3 rows\n      'Dodo'  at row 2\n      'Emu'  at row 4\n      … and 1 more" in text
    assert "  sex: column_in_dataframe: column 'sex' is not in the table" in text
    assert all(len(f.examples) <= 2 for f in report.failures)


def test_many_failing_rows_should_keep_the_count_and_five_examples():
    table = pa.table({"x": pa.array(range(-1000, 10), pa.int64())})
    report = validate_table(table, load_schema(inline={"columns": {"x": {"dtype": "int64", "checks": {"ge": 0}}}}),
                            source="t")
    [f] = report.failures
    assert f.count == 1000
    assert f.examples == tuple((str(i - 1000), f"row {i}") for i in range(5))


def test_chunked_validation_should_report_the_same_as_whole_table_validation():
    schema = load_schema(inline=SCHEMA)
    whole = validate_table(bad_table(), schema, source="t", chunk_rows=1_000_000)
    for chunk in (1, 2, 3):
        assert validate_table(bad_table(), schema, source="t", chunk_rows=chunk) == whole


def test_cross_row_checks_should_see_the_whole_table_even_with_small_chunks():
    table = pa.table({"id": [1, 2, 3, 4, 5, 1], "k": ["a", "b", "c", "d", "e", "f"]})
    report = validate_table(table, load_schema(inline={"columns": {"id": {"dtype": "int64", "unique": True}}}),
                            source="t", chunk_rows=2)
    [f] = report.failures
    assert (f.column, f.check, f.count) == ("id", "field_uniqueness", 2)
    assert [w for _, w in f.examples] == ["row 0", "row 5"]


def test_a_table_wide_check_should_show_the_whole_failing_rows():
    table = pa.table({"a": [1, 2, 1], "b": ["x", "y", "x"]})
    schema = load_schema(inline={"columns": {"a": {"dtype": "int64"}, "b": {"dtype": "str"}}, "unique": ["a", "b"]})
    [f] = validate_table(table, schema, source="t").failures
    assert f.column is None and f.check == "multiple_fields_uniqueness" and f.count == 2
    assert f.examples[0] == ("a=1, b='x'", "row 0")
    text = validate_table(table, schema, source="t").message()
    assert text.startswith("t: validation failed: 1 check failed on the table (3 rows checked)")
    assert "(table): multiple_fields_uniqueness: 2 rows" in text


def test_only_the_schema_columns_should_be_converted_to_pandas(monkeypatch):
    seen = []
    real = v._column_to_pandas

    def spy(arr, declared):
        seen.append(str(arr.type))
        return real(arr, declared)

    monkeypatch.setattr(v, "_column_to_pandas", spy)
    table = pa.table({"keep": [1, 2], "big": pa.array([[1, 2], [3]]), "other": ["a", "b"]})
    report = validate_table(table, load_schema(inline={"columns": {"keep": {"dtype": "int64"}}}), source="t")
    assert report.ok and seen == ["int64"]
    seen.clear()
    strict = load_schema(inline={"columns": {"keep": {"dtype": "int64"}}, "strict": True})
    report = validate_table(table, strict, source="t")
    assert seen == ["int64", "list<item: int64>", "string"]  # strict needs every column name
    assert [(f.column, f.check, f.detail) for f in report.failures] == [
        ("big", "column_in_schema", "column 'big' is not in the schema, which is strict"),
        ("other", "column_in_schema", "column 'other' is not in the schema, which is strict")]


@pytest.mark.parametrize("array,dtype", [
    (pa.array([1, None, 3], pa.int64()), "int64"),          # nulls: nullable Int64, still "int64"
    (pa.array([1, None, 3], pa.int64()), "Int64"),
    (pa.array([1, 2, None], pa.uint8()), "uint8"),
    (pa.array([1, 2, None], pa.int16()), "int16"),
    (pa.array([1.5, None], pa.float64()), "float64"),
    (pa.array([1.5, None], pa.float32()), "float32"),
    (pa.array(["a", None]), "str"),
    (pa.array(["a", None], pa.large_string()), "str"),
    (pa.array(["a", None]), "object"),
    (pa.array([True, False]), "bool"),                      # no nulls: numpy bool when asked
    (pa.array([True, False]), "boolean"),
    (pa.array([True, None]), "boolean"),
    (pa.array(["x", "y", None]).dictionary_encode(), "category"),
    (pa.array(["x", "y", None]).dictionary_encode(), "str"),  # decoded when the schema says str
    (pa.array([1, None], pa.timestamp("us")), "datetime64[ns]"),
    (pa.array([1, None], pa.timestamp("ms")), "datetime64[ms]"),
    (pa.array([1, None], pa.timestamp("us", tz="UTC")), "datetime64[us, UTC]"),
    (pa.array([1, None], pa.timestamp("us", tz="UTC")), "datetime64[ns, UTC]"),  # cast to the declared unit
    (pa.array([dt.date(2020, 1, 1), None]), "date"),
    (pa.array([1, None], pa.int32()), "int32[pyarrow]"),
    (pa.array([True, None]), "bool[pyarrow]"),
    (pa.array(["a", None]), "string[pyarrow]"),
    (pa.array([1, 2], pa.duration("s")), "timedelta64[s]"),
])
def test_arrow_types_should_match_the_documented_schema_dtypes(array, dtype):
    schema = load_schema(inline={"columns": {"c": {"dtype": dtype, "nullable": True}}})
    report = validate_table(pa.table({"c": array}), schema, source="t")
    assert report.ok, report.message()


@pytest.mark.parametrize("array,dtype", [
    (pa.array([1, 2], pa.int16()), "int64"),
    (pa.array([1.0, 2.0]), "int64"),
    (pa.array([True, None]), "bool"),       # numpy bool cannot hold a null: write boolean
    (pa.array(["a"]), "int64"),
    (pa.array([1], pa.int64()), "str"),
])
def test_a_wrong_dtype_should_be_a_column_level_failure(array, dtype):
    schema = load_schema(inline={"columns": {"c": {"dtype": dtype, "nullable": True}}})
    [f] = validate_table(pa.table({"c": array}), schema, source="t").failures
    assert f.check.startswith("dtype(") and f.count == 0 and f.examples == ()
    assert f.detail.startswith("expected series 'c' to have type ")


def test_an_empty_table_should_validate():
    table = pa.table({"species": pa.array([], pa.string()), "body_mass_g": pa.array([], pa.int64()),
                      "year": pa.array([], pa.int16()), "sex": pa.array([], pa.string())})
    report = validate_table(table, load_schema(inline=SCHEMA), source="t")
    assert report.ok and report.rows == 0


def test_reports_should_serialize_and_raise_a_picklable_build_error():
    report = validate_table(bad_table(), load_schema(inline=SCHEMA), source="penguins_clean")
    data = report.to_json()
    assert data["ok"] is False and data["source"] == "penguins_clean" and data["rows"] == 7
    assert data["failures"][1] == {
        "column": "species", "check": "isin(['Adelie', 'Gentoo', 'Chinstrap'])", "count": 3, "detail": "",
        "examples": [{"value": "'Dodo'", "where": "row 2"}, {"value": "'Emu'", "where": "row 4"},
                     {"value": "'Moa'", "where": "row 6"}]}
    json.dumps(data)
    assert pickle.loads(pickle.dumps(report)) == report
    with pytest.raises(BuildError) as info:
        raise_if_failed(report, "penguins_clean", schema="schemas/penguins_clean.yaml")
    err = info.value
    assert err.exit_status == 1 and err.code == "validation"
    assert err.message == report.message()
    assert "relax the schema (schemas/penguins_clean.yaml)" in err.hint
    assert "previous outputs" in err.hint and "mldata schema infer penguins_clean" in err.hint
    again = pickle.loads(pickle.dumps(err))
    assert again.report == data and again.message == err.message and again.code == "validation"
    raise_if_failed(ValidationReport(ok=True, source="t", rows=3), "t")  # no error


def test_a_check_that_cannot_run_should_be_reported_not_crash():
    schema = load_schema(inline={"columns": {"n": {"dtype": "int64", "checks": {"str_matches": "^x"}}}})
    [f] = validate_table(pa.table({"n": [1, 2]}), schema, source="t").failures
    assert f.column == "n" and f.check.startswith("str_matches") and "Error while executing check" in f.detail


# ============================================================================================
# Quality checks
# ============================================================================================


def levels(results: list[CheckResult]) -> dict[str, str]:
    return {r.name: r.level for r in results}


def test_row_count_should_fail_outside_the_bounds():
    t = pa.table({"a": list(range(10))})
    assert levels(run_checks(t, {"row_count": {"min": 10, "max": 10}})) == {"row_count": "ok"}
    [low] = run_checks(t, {"row_count": {"min": 11}})
    assert (low.level, low.value, low.threshold) == ("fail", 10, 11)
    assert low.message == "10 rows, fewer than the minimum 11"
    [high] = run_checks(t, {"row_count": {"max": 9}})
    assert (high.level, high.threshold) == ("fail", 9)


@pytest.mark.parametrize("cfg,level,threshold", [
    ({"on": ["id"], "warn": 0, "fail": 0.2}, "warn", 0),
    ({"on": ["id"], "warn": 0, "fail": 0.05}, "fail", 0.05),
    ({"on": ["id"], "warn": 0.1, "fail": 0.2}, "ok", 0.1),     # exactly at the threshold: not above it
    ({"on": "id", "fail": 0}, "fail", 0),
    ({"on": ["id", "k"], "fail": 0}, "ok", 0),
    ({}, "fail", 0),                                        # default: any duplicate row fails
    ({"on": None, "warn": 0}, "warn", 0),
])
def test_duplicates_should_measure_the_share_of_repeated_rows_or_keys(cfg, level, threshold):
    t = pa.table({"id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 1], "k": list("abcdefghij"), "c": ["x"] * 9 + ["x"]})
    t = t if cfg.get("on") else pa.table({"id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 1], "c": ["x"] * 10})
    [r] = run_checks(t, {"duplicates": cfg})
    assert r.name == "duplicates"
    assert (r.level, r.threshold) == (level, threshold)
    assert r.value == (0.0 if cfg.get("on") == ["id", "k"] else 0.1)


def test_duplicates_should_name_the_keys_and_unknown_columns():
    t = pa.table({"id": [1, 1, 2], "v": [1.0, float("nan"), float("nan")]})
    [r] = run_checks(t, {"duplicates": {"on": ["id"], "fail": 0.5}})
    assert r.message == "1 of 3 rows (33.33%) repeat the key (id) of an earlier row"
    [r] = run_checks(t, {"duplicates": {"on": ["v"], "fail": 0}})
    assert r.value == pytest.approx(1 / 3)  # NaN equals NaN for duplicates
    [r] = run_checks(t, {"duplicates": {"on": ["nope"]}})
    assert r.level == "fail" and "unknown column 'nope'" in r.message


def test_missing_should_count_nulls_and_nan_per_column():
    t = pa.table({"a": [1.0, None, float("nan"), 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
                  "b": ["x", None, "y", "z", "x", "x", "x", "x", "x", "x"],
                  "c": list(range(10))})
    results = run_checks(t, {"missing": {"columns": {"a": {"warn": 0.1, "fail": 0.3}, "zz": {"fail": 0.1}},
                                         "default": {"warn": 0.05, "fail": 0.5}}})
    assert [(r.name, r.level, r.value, r.threshold) for r in results] == [
        ("missing:a", "warn", 0.2, 0.1),
        ("missing:b", "warn", 0.1, 0.05),
        ("missing:c", "ok", 0.0, 0.05),
        ("missing:zz", "fail", None, None),
    ]
    assert results[0].message == "a: 2 of 10 values missing (20.00%): above the warn threshold 10.00%"
    assert levels(run_checks(t, {"missing": {"columns": {"a": {"fail": 0.15}}}})) == {"missing:a": "fail"}


@pytest.mark.parametrize("min_share,level", [
    ({"warn": 0.1, "fail": 0.05}, "ok"),
    ({"warn": 0.3, "fail": 0.05}, "warn"),
    ({"warn": 0.5, "fail": 0.25}, "fail"),
])
def test_label_balance_should_compare_the_smallest_class_share(min_share, level):
    t = pa.table({"y": ["a"] * 8 + ["b"] * 2 + [None]})
    [r] = run_checks(t, {"label_balance": {"column": "y", "min_share": min_share}})
    assert (r.name, r.level, r.value) == ("label_balance:y", level, 0.2)
    assert r.message.startswith("y: smallest class 'b' has 2 of 10 labelled rows (20.00%, 2 classes)")


def test_label_balance_should_count_an_expected_but_absent_class_as_zero():
    t = pa.table({"y": pa.array(["a", "b", "a", "b"]).dictionary_encode()})
    [r] = run_checks(t, {"label_balance": {"column": "y", "min_share": {"fail": 0.1}, "classes": ["a", "b", "c"]}})
    assert (r.level, r.value) == ("fail", 0.0) and "'c'" in r.message
    [r] = run_checks(t, {"label_balance": {"column": "nope", "min_share": {"fail": 0.1}}})
    assert r.level == "fail"


def test_checks_should_run_in_a_stable_order_and_combine_to_the_worst_level():
    t = pa.table({"id": [1, 2, 2], "y": ["a", "a", "b"]})
    results = run_checks(t, {"label_balance": {"column": "y", "min_share": {"warn": 0.4}},
                             "duplicates": {"on": ["id"], "warn": 0}, "row_count": {"min": 1}})
    assert [r.name for r in results] == ["row_count", "duplicates", "label_balance:y"]
    assert worst_level(results) == "warn"
    assert worst_level([]) == "ok"
    assert worst_level(results + [CheckResult("x", "fail", 1, 0, "")]) == "fail"
    assert json.loads(json.dumps([r.to_json() for r in results]))[0]["name"] == "row_count"
    assert run_checks(t, None) == [] and run_checks(t, {}) == []


@pytest.mark.parametrize("checks,message", [
    ([1], "checks: must be a mapping of quality checks"),
    ({"dupes": {}}, "unknown quality check 'dupes' (did you mean 'duplicates'?)"),
    ({"duplicates": {"key": ["a"]}}, "checks.duplicates: unknown key 'key'"),
    ({"duplicates": {"on": []}}, "checks.duplicates.on: must be a column name or a non-empty list"),
    ({"duplicates": {"fail": 1.5}}, "checks.duplicates.fail: must be a share between 0 and 1"),
    ({"duplicates": {"warn": 0.2, "fail": 0.1}}, "warn (0.2) is above fail (0.1)"),
    ({"missing": {}}, "checks.missing: needs `columns:` or `default:`"),
    ({"missing": {"default": {"fial": 0.1}}}, "unknown key 'fial' (did you mean 'fail'?)"),
    ({"missing": {"columns": {"a": 0.1}}}, "checks.missing.columns.a: must be a mapping with warn and/or fail"),
    ({"missing": {"columns": {"a": {}}}}, "checks.missing.columns.a: needs a warn or a fail threshold"),
    ({"missing": {"default": {"fail": True}}}, "must be a share between 0 and 1, not True"),
    ({"label_balance": {"min_share": {"fail": 0.1}}}, "checks.label_balance.column: must name the label column"),
    ({"label_balance": {"column": "y"}}, "checks.label_balance.min_share: is required"),
    ({"label_balance": {"column": "y", "min_share": {"warn": 0.01, "fail": 0.05}}}, "warn (0.01) is below fail (0.05)"),
    ({"label_balance": {"column": "y", "min_share": {"fail": 0.05}, "classes": "a"}}, "classes: must be a non-empty list"),
    ({"row_count": {}}, "checks.row_count: needs min and/or max"),
    ({"row_count": {"min": -1}}, "checks.row_count.min: must be a whole number of rows >= 0"),
    ({"row_count": {"min": 1.5}}, "checks.row_count.min: must be a whole number"),
    ({"row_count": {"min": 10, "max": 5}}, "min (10) is above max (5)"),
])
def test_a_bad_checks_config_should_be_a_clear_config_error(checks, message):
    with pytest.raises(ConfigError) as info:
        validate_checks_config(checks)
    assert message in str(info.value)
    assert info.value.exit_status == 2


def test_a_good_checks_config_should_pass():
    validate_checks_config(None)
    validate_checks_config({
        "duplicates": {"on": ["flight_id"], "warn": 0, "fail": 0.01},
        "missing": {"columns": {"age": {"warn": 0.05, "fail": 0.2}}, "default": {"fail": 0.5}},
        "label_balance": {"column": "y", "min_share": {"warn": 0.1, "fail": 0.05}, "classes": [0, 1]},
        "row_count": {"min": 1, "max": 10},
    })
    validate_checks_config({"duplicates": None})


# ============================================================================================
# infer_schema
# ============================================================================================


def many_types() -> pa.Table:
    return pa.table({
        "i": pa.array([1, 2, None, -4], pa.int64()), "u": pa.array([1, 2, 3, None], pa.uint8()),
        "f": [1.0, None, 3.5, float("nan")], "f32": pa.array([1.5, 2, 3, 4], pa.float32()),
        "s": ["a", "b", None, "zz"], "ls": pa.array(["x", "y", "x", "y"], pa.large_string()),
        "b": [True, False, None, True], "b2": [True, False, True, True],
        "ts": pa.array([1_500_000, 2, 3, None], pa.timestamp("us")),
        "tsz": pa.array([1, 2, 3, 4], pa.timestamp("ms", tz="Europe/Paris")),
        "d": pa.array(["x", "y", "x", None]).dictionary_encode(),
        "dt": pa.array([dt.date(2020, 1, 1), None, dt.date(2021, 5, 1), dt.date(2020, 1, 2)]),
        "dur": pa.array([1, 2, 3, 4], pa.duration("s")), "n": pa.array([None] * 4, pa.null()),
        "lst": pa.array([[1], [2], None, []]),
        "dec": pa.array([1, 2, 3, 4], pa.int8()).cast(pa.decimal128(5, 2)),
        "inf": [1.0, float("inf"), 2.0, 3.0],
    })


def test_an_inferred_schema_should_round_trip_and_validate_its_own_table(tmp_path):
    table = many_types()
    text = infer_schema(table)
    doc = yaml.safe_load(text)
    cols = doc["columns"]
    assert cols["i"] == {"dtype": "int64", "nullable": True,
                         "checks": {"greater_than_or_equal_to": -4, "less_than_or_equal_to": 2}}
    assert cols["f"]["checks"] == {"greater_than_or_equal_to": 1.0, "less_than_or_equal_to": 3.5}
    assert cols["f"]["nullable"] is True  # NaN counts as missing
    assert cols["f32"]["dtype"] == "float32" and cols["f32"]["nullable"] is False
    assert cols["s"]["checks"] == {"isin": ["a", "b", "zz"]}
    assert cols["b"]["dtype"] == "boolean" and cols["b2"]["dtype"] == "bool"
    assert cols["ts"]["dtype"] == "datetime64[us]"
    assert cols["ts"]["checks"] == {"greater_than_or_equal_to": "1970-01-01 00:00:00",
                                    "less_than_or_equal_to": "1970-01-01 00:00:02"}  # rounded outwards
    assert cols["tsz"] == {"dtype": "datetime64[ms, Europe/Paris]", "nullable": False}
    assert cols["d"]["dtype"] == "category" and cols["d"]["checks"] == {"isin": ["x", "y"]}
    assert cols["dt"]["dtype"] == "date"
    assert "dtype" not in cols["lst"] and "dtype" not in cols["dec"] and cols["n"] == {"nullable": True}
    assert "checks" not in cols["inf"]  # no range from non-finite values
    path = tmp_path / "inferred.yaml"
    path.write_text(text, encoding="utf-8")
    report = validate_table(table, load_schema(path), source="t")
    assert report.ok, report.message()
    assert text.startswith("# A pandera schema inferred by `mldata schema infer` from 4 rows.")
    assert infer_schema(table) == text  # deterministic


def test_an_inferred_schema_should_catch_later_out_of_range_data(penguins):
    table, sources = penguins
    schema = load_schema(inline=yaml.safe_load(infer_schema(table)))
    assert validate_table(table, schema, source="t").ok
    masses = table["body_mass_g"].to_pylist()
    masses[200] = 99_999
    changed = table.set_column(table.schema.get_field_index("body_mass_g"), "body_mass_g",
                               pa.array(masses, pa.int64()))
    [f] = validate_table(changed, schema, source="t", row_sources=sources).failures
    assert f.column == "body_mass_g" and f.check == "less_than_or_equal_to(6300)"
    assert f.examples == (("99999", "row 200 (data/penguins_2008.csv)"),)


def test_isin_should_only_be_inferred_for_low_cardinality_strings():
    table = pa.table({"s": [f"v{i}" for i in range(30)]})
    assert "checks" not in yaml.safe_load(infer_schema(table))["columns"]["s"]
    assert yaml.safe_load(infer_schema(table, max_categories=30))["columns"]["s"]["checks"]["isin"][:2] == ["v0", "v1"]


def test_an_empty_table_should_infer_a_loadable_schema():
    table = pa.table({"a": pa.array([], pa.int64()), "s": pa.array([], pa.string())})
    schema = load_schema(inline=yaml.safe_load(infer_schema(table)))
    assert validate_table(table, schema, source="t").ok


def test_importing_validate_should_not_import_data_libraries():
    code = ("import sys, mldata.validate as v; v.validate_checks_config({'row_count': {'min': 1}}); "
            "sys.exit(1 if {'pyarrow', 'pandas', 'pandera'} & set(sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
