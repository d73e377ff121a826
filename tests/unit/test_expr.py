"""The expression language: parsing, safety, semantics on data, and the docs' examples."""

from __future__ import annotations

import builtins
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.acero as acero
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mldata.errors import ConfigError, ExpressionError, StepError
from mldata.steps.builtin import filter_rows
from mldata.steps.expr import (
    FUNCTIONS,
    Binary,
    Call,
    Column,
    InList,
    IsNull,
    Literal,
    Unary,
    evaluate,
    format_expression,
    is_boolean_expression,
    parse_expression,
    referenced_columns,
    to_arrow_expression,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "expressions.md"


def col(name: str) -> Column:
    return Column(name)


def lit(value) -> Literal:
    return Literal(value)


def run_expression(expression: pc.Expression, data: pa.Table) -> list:
    """Evaluate a pc.Expression with Acero (pyarrow's own engine), for comparison."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    plan = acero.Declaration.from_sequence(
        [
            acero.Declaration("table_source", acero.TableSourceNodeOptions(data)),
            acero.Declaration("project", acero.ProjectNodeOptions([expression], ["out"])),
        ]
    )
    return plan.to_table(use_threads=False).column("out").to_pylist()


def docs_table() -> pa.Table:
    """The example table of docs/expressions.md."""
    return pa.table(
        {
            "name": ["Ann", "bob ", None, "Cy"],
            "price": [10.0, 2.5, None, 7.25],
            "qty": pa.array([3, None, 0, -2], pa.int64()),
            "city": ["Paris", None, "Berlin", "paris"],
            "joined": pa.array(
                ["2021-03-04 10:00:00", "2019-12-31 23:00:00", None, "2020-01-01 00:00:00"]
            ).cast(pa.timestamp("us")),
        }
    )


def docs_examples() -> list[tuple[str, list]]:
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("<!-- examples:start -->")[1].split("<!-- examples:end -->")[0]
    rows = re.findall(r"^\| `(.+?)` \| `(\[.*\])` \|$", block, flags=re.MULTILINE)
    return [(expr, json.loads(result)) for expr, result in rows]


# ------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, tree",
    [
        ("a + b * c", Binary("+", col("a"), Binary("*", col("b"), col("c")))),
        ("(a + b) * c", Binary("*", Binary("+", col("a"), col("b")), col("c"))),
        ("a - b - c", Binary("-", Binary("-", col("a"), col("b")), col("c"))),
        ("a / b % c", Binary("%", Binary("/", col("a"), col("b")), col("c"))),
        ("-a * b", Binary("*", Unary("-", col("a")), col("b"))),
        ("-2 * 3", Binary("*", lit(-2), lit(3))),
        ("a - -2", Binary("-", col("a"), lit(-2))),
        ("a + 1 > b * 2", Binary(">", Binary("+", col("a"), lit(1)), Binary("*", col("b"), lit(2)))),
        (
            "a or b and c",
            Binary("or", col("a"), Binary("and", col("b"), col("c"))),
        ),
        (
            "not a > 1 and b",
            Binary("and", Unary("not", Binary(">", col("a"), lit(1))), col("b")),
        ),
        ("not not a", Unary("not", Unary("not", col("a")))),
        ("x is null", IsNull(col("x"))),
        ("x IS NOT NULL", IsNull(col("x"), negated=True)),
        ("x + 1 is null", IsNull(Binary("+", col("x"), lit(1)))),
        ("x in [1, -2, 3.5]", InList(col("x"), (lit(1), lit(-2), lit(3.5)))),
        ("x not in ['a', \"b\",]", InList(col("x"), (lit("a"), lit("b")), negated=True)),
        (
            "not x in [true] or y",
            Binary("or", Unary("not", InList(col("x"), (lit(True),))), col("y")),
        ),
        ("TRUE And Null", Binary("and", lit(True), lit(None))),
        ("`odd name` == 'x'", Binary("==", col("odd name"), lit("x"))),
        ("`in` >= 1", Binary(">=", col("in"), lit(1))),
        ("`a``b`", col("a`b")),
        ("LOWER(s)", Call("lower", (col("s"),))),
        ("round(x, -1)", Call("round", (col("x"), lit(-1)))),
        ("coalesce(a, b, 0)", Call("coalesce", (col("a"), col("b"), lit(0)))),
        ("'it\\'s\\n'", lit("it's\n")),
        ("1.5e3", lit(1500.0)),
        (".5", lit(0.5)),
        ("-9223372036854775808", lit(-(2**63))),
        ("Price", col("Price")),
    ],
)
def test_given_text_we_should_build_the_tree_with_the_documented_precedence(text, tree):
    assert parse_expression(text) == tree


def test_given_literals_of_different_kinds_they_should_not_compare_equal():
    assert lit(1) != lit(True)
    assert lit(1) != lit(1.0)
    assert lit(0) != lit(False)
    assert lit("a") == Literal("a", pos=7)


@pytest.mark.parametrize(
    "text, position, fragment",
    [
        ("a < b < c", 6, "comparisons cannot be chained"),
        ("a = 1", 2, "unexpected character '='"),
        ("a == null", 2, "always null"),
        ("'abc", 0, "unterminated string"),
        ("a +", 3, "ends too early"),
        ("", 0, "empty"),
        ("(a", 2, "expected ')'"),
        ("a b", 2, "unexpected 'b'"),
        ("1 + not a", 4, "`not` must be in parentheses"),
        ("foo(1)", 0, "unknown function 'foo'"),
        ("a is 5", 5, "expected null after `is`"),
        ("a in (1, 2)", 5, "square brackets"),
        ("a in []", 6, "empty"),
        ("a in [1, 'x']", 12, "one kind"),
        ("a in [null]", 6, "null is not allowed"),
        ("a in [b]", 6, "literal values"),
        ("round(x, y)", 0, "integer literal"),
        ("starts_with(s, t)", 0, "string literal"),
        ("lower(a, b)", 0, "wrong number of arguments"),
        ("99999999999999999999", 0, "does not fit in 64 bits"),
        ("1abc", 1, "after the number"),
        ("a && b", 2, "unexpected character '&'"),
        ("'\\q'", 1, "unknown escape"),
        ("``", 0, "empty column name"),
        ("a not b", 2, "unexpected `not`"),
        ("x is null is null", 10, "chained"),
    ],
)
def test_given_bad_syntax_we_should_raise_an_expression_error_with_a_caret(text, position, fragment):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    err = info.value
    assert isinstance(err, ConfigError) and err.exit_status == 2
    assert fragment in err.message
    assert f"at character {position + 1}" in err.message
    assert err.position == position
    lines = err.message.splitlines()
    assert lines[1] == "    " + text
    assert lines[2] == "    " + " " * position + "^"


def test_given_an_unknown_function_we_should_list_the_allowed_ones_and_suggest_one():
    with pytest.raises(ExpressionError) as info:
        parse_expression("lowr(name)")
    message = info.value.message
    assert "did you mean 'lower'?" in message
    for name in FUNCTIONS:
        assert name in message


def test_given_common_mistakes_we_should_give_a_hint():
    hints = {}
    for text in ["a = 1", "a && b", "a || b", "x.y", "a <> b", "null == 1"]:
        with pytest.raises(ExpressionError) as info:
            parse_expression(text)
        hints[text] = info.value.hint
    assert "==" in hints["a = 1"]
    assert "and" in hints["a && b"]
    assert "or" in hints["a || b"]
    assert "backquote" in hints["x.y"]
    assert "!=" in hints["a <> b"]
    assert "is null" in hints["null == 1"]


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        "__import__('os')",
        "eval('1')",
        "exec('import os')",
        "open('/etc/passwd')",
        "a.__class__",
        "().__class__.__bases__[0]",
        "lambda: 1",
        "[x for x in y]",
        "a; b",
        "getattr(a, 'b')",
        "a if b else c",
        "f'{a}'",
        "a[0]",
        "{1: 2}",
        "a ** 2",
    ],
)
def test_given_python_code_we_should_reject_it(text, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the parser must never call eval/exec/compile")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", forbidden)
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_given_a_non_string_we_should_raise_an_expression_error():
    with pytest.raises(ExpressionError):
        parse_expression(42)  # type: ignore[arg-type]


def test_given_an_expression_we_should_list_the_columns_it_reads():
    node = parse_expression("coalesce(a, `b c`) > 1 and d in [1] or e is null and 'f' == lower(g)")
    assert referenced_columns(node) == {"a", "b c", "d", "e", "g"}
    assert referenced_columns(parse_expression("1 + 2")) == set()


@pytest.mark.parametrize(
    "text, boolean",
    [
        ("a > 1", True),
        ("a", True),
        ("not a", True),
        ("a is null", True),
        ("a in [1]", True),
        ("starts_with(a, 'x')", True),
        ("true", True),
        ("a + 1", False),
        ("'x'", False),
        ("-a", False),
        ("lower(a)", False),
        ("3", False),
    ],
)
def test_given_an_expression_we_should_know_if_it_can_be_a_condition(text, boolean):
    assert is_boolean_expression(parse_expression(text)) is boolean


def test_given_the_same_text_parsing_should_be_cached():
    assert parse_expression("a + 1") is parse_expression("a + 1")


def test_importing_the_steps_package_should_not_import_pyarrow():
    code = (
        "import sys\n"
        "import mldata.steps.expr, mldata.steps.types, mldata.steps.builtin, mldata.steps\n"
        "from mldata.steps.expr import parse_expression, format_expression, referenced_columns\n"
        "from mldata.steps.builtin import validate_step_params\n"
        "from mldata.steps.types import is_valid_type_name\n"
        "node = parse_expression('lower(a) == \"x\" and b in [1, 2]')\n"
        "format_expression(node); referenced_columns(node)\n"
        "validate_step_params('derive', {'c': 'a / b'})\n"
        "validate_step_params('cast', {'c': 'timestamp[us, tz=UTC]'})\n"
        "assert is_valid_type_name('category')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyarrow', 'numpy', 'pandas'))\n"
        "print(bad)\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout


# ------------------------------------------------------------------------------------------
# Canonical text
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("a>1", "a > 1"),
        ("(a + b) * c", "(a + b) * c"),
        ("a + (b * c)", "a + b * c"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a == b) == c", "(a == b) == c"),
        ("(not a) == b", "(not a) == b"),
        ("not (a and b)", "not (a and b)"),
        ("-(a + b)", "-(a + b)"),
        ("`my col` in [1,2]", "`my col` in [1, 2]"),
        ("x NOT IN ['it\\'s']", "x not in ['it\\'s']"),
        ("((a)) is null", "a is null"),
    ],
)
def test_given_an_expression_its_canonical_text_should_parse_back_to_it(text, canonical):
    node = parse_expression(text)
    assert format_expression(node) == canonical
    assert parse_expression(canonical) == node


_names = st.sampled_from(["a", "b", "my col", "in", "x1"])
_literals = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
).map(Literal)


def _trees():
    def extend(children):
        return st.one_of(
            st.builds(Unary, st.sampled_from(["-", "not"]), children).filter(
                lambda u: not (u.op == "-" and isinstance(u.operand, Literal) and isinstance(u.operand.value, (int, float)) and not isinstance(u.operand.value, bool))
            ),
            st.builds(
                Binary,
                st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "and", "or"]),
                children,
                children,
            ).filter(
                lambda b: b.op not in ("==", "!=", "<", "<=", ">", ">=")
                or not any(isinstance(s, Literal) and s.value is None for s in (b.left, b.right))
            ),
            st.builds(IsNull, children, st.booleans()),
            st.builds(
                InList,
                children,
                st.lists(st.integers(-5, 5).map(Literal), min_size=1, max_size=3).map(tuple),
                st.booleans(),
            ),
            st.builds(lambda args: Call("coalesce", tuple(args)), st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda arg: Call("lower", (arg,)), children),
            st.builds(lambda arg, n: Call("round", (arg, Literal(n))), children, st.integers(-3, 3)),
        )

    return st.recursive(st.one_of(_names.map(Column), _literals), extend, max_leaves=12)


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # of the recursive strategy
@settings(max_examples=300, deadline=None)
@given(_trees())
def test_given_any_tree_formatting_then_parsing_should_give_it_back(tree):
    text = format_expression(tree)
    assert parse_expression(text) == tree, text


# ------------------------------------------------------------------------------------------
# Semantics on data
# ------------------------------------------------------------------------------------------


def ev(text: str, data) -> list:
    return evaluate(parse_expression(text), data).to_pylist()


@pytest.mark.parametrize("text, expected", docs_examples())
def test_the_examples_in_the_docs_should_hold(text, expected):
    table = docs_table()
    result = ev(text, table)
    assert len(result) == len(expected)
    for got, want in zip(result, expected):
        if isinstance(want, float):
            assert got == pytest.approx(want)
        else:
            assert got == want and type(got) is type(want)
    # the pc.Expression built from the same tree gives the same values through Acero
    assert run_expression(to_arrow_expression(parse_expression(text), table.schema), table) == result


def test_the_docs_should_have_examples_for_every_function():
    examples = " ".join(text for text, _ in docs_examples())
    text = DOCS.read_text(encoding="utf-8")
    for name, spec in FUNCTIONS.items():
        assert f"{name}(" in examples, name
        assert f"`{spec.example}`" in text, spec.example
        parse_expression(spec.example)


def test_the_docs_filter_example_should_hold():
    kept = filter_rows(docs_table(), "price > 5")
    assert kept.column("name").to_pylist() == ["Ann", "Cy"]


NULLS = pa.table(
    {
        "p": pa.array([True, True, True, False, False, False, None, None, None]),
        "q": pa.array([True, False, None, True, False, None, True, False, None]),
    }
)


def test_and_or_not_should_use_three_valued_logic():
    T, F, N = True, False, None
    assert ev("p and q", NULLS) == [T, F, N, F, F, F, N, F, N]
    assert ev("p or q", NULLS) == [T, T, T, T, F, N, T, N, N]
    assert ev("not p", NULLS) == [F, F, F, T, T, T, N, N, N]
    assert ev("p and null", NULLS) == [N, N, N, F, F, F, N, N, N]
    assert ev("p or null", NULLS) == [T, T, T, N, N, N, N, N, N]
    assert ev("not null", NULLS) == [N] * 9


def test_comparisons_and_arithmetic_with_null_should_give_null():
    data = pa.table({"x": pa.array([1, None], pa.int64()), "s": ["a", None]})
    assert ev("x > 0", data) == [True, None]
    assert ev("x != 5", data) == [True, None]
    assert ev("x + 1", data) == [2, None]
    assert ev("x + null", data) == [None, None]
    assert ev("s == 'a'", data) == [True, None]
    assert ev("lower(s)", data) == ["a", None]
    assert ev("x in [1]", data) == [True, None]
    assert ev("x not in [1]", data) == [False, None]
    assert ev("x is null", data) == [False, True]
    assert ev("coalesce(x, null, 7)", data) == [1, 7]
    assert ev("coalesce(null)", data) == [None, None]


def test_filter_should_drop_rows_where_the_condition_is_false_or_null():
    data = pa.table({"x": pa.array([1, None, 3, 0], pa.int64())})
    assert filter_rows(data, "x > 0").column("x").to_pylist() == [1, 3]
    assert filter_rows(data, "not x > 0").column("x").to_pylist() == [0]
    assert filter_rows(data, "x > 0 or x is null").column("x").to_pylist() == [1, None, 3]
    assert filter_rows(data, "null").num_rows == 0
    assert filter_rows(data, "true").num_rows == 4


def test_nan_should_not_be_null():
    data = pa.table({"f": [float("nan"), None, 1.0]})
    assert ev("f is null", data) == [False, True, False]
    assert ev("f == f", data) == [False, None, True]


def test_division_should_be_true_division_giving_float64():
    data = pa.table({"a": pa.array([7, -7, 1, 0], pa.int8()), "b": pa.array([2, 2, 0, 0], pa.int8())})
    result = evaluate(parse_expression("a / b"), data)
    assert result.type == pa.float64()
    values = result.to_pylist()
    assert values[:2] == [3.5, -3.5]
    assert values[2] == math.inf and math.isnan(values[3])


def test_modulo_should_follow_python():
    data = pa.table({"a": pa.array([7, -7, 7, -7]), "b": pa.array([3, 3, -3, -3])})
    assert ev("a % b", data) == [7 % 3, -7 % 3, 7 % -3, -7 % -3]
    with pytest.raises(StepError, match="divide by zero"):
        ev("a % 0", data)


def test_integer_overflow_should_be_a_step_error():
    data = pa.table({"a": pa.array([100], pa.int8()), "u": pa.array([1], pa.uint8())})
    assert ev("a + 100", data) == [200]  # a literal is int64, so the result is int64
    with pytest.raises(StepError, match="overflow") as info:
        ev("a + a", data)
    assert info.value.exit_status == 1
    with pytest.raises(StepError, match="overflow"):
        ev("u - u - u", data)


def test_a_type_mismatch_should_be_a_step_error_naming_the_types():
    data = pa.table({"s": ["a"], "x": [1], "flag": [True]})
    for text, types in [
        ("s + 1", "(string, int64)"),
        ("s > 1", "(string, int64)"),
        ("flag == 1", "(bool, int64)"),
        ("year(s)", "(string)"),
        ("not x", "(int64)"),
        ("lower(x)", "(int64)"),
        ("s / 2", "(string, double)"),
    ]:
        with pytest.raises(StepError) as info:
            ev(text, data)
        assert types in info.value.message, (text, info.value.message)
        assert f"`{format_expression(parse_expression(text))}`" in info.value.message


def test_an_unknown_column_should_list_the_columns_and_suggest_a_close_one():
    data = pa.table({"price": [1.0], "qty": [2], "city": ["x"]})
    with pytest.raises(StepError) as info:
        ev("pirce * qty", data)
    message = info.value.message
    assert "unknown column 'pirce'" in message
    assert "did you mean 'price'?" in message
    assert "available columns: price, qty, city" in message
    assert info.value.exit_status == 1
    with pytest.raises(StepError) as info:
        ev("zzzz > 1", data)
    assert "did you mean" not in info.value.message
    assert "available columns: price, qty, city" in info.value.message
    with pytest.raises(StepError, match="available columns"):
        to_arrow_expression(parse_expression("pirce > 1"), data.schema)


def test_an_in_list_of_the_wrong_kind_should_be_a_step_error():
    data = pa.table({"x": pa.array([1], pa.int8()), "s": ["1"]})
    with pytest.raises(StepError, match="in-list holds string"):
        ev("x in ['1']", data)
    with pytest.raises(StepError, match="in-list holds number"):
        ev("s in [1]", data)
    assert ev("x in [1.0, 2.5]", data) == [True]
    assert ev("x in [300]", data) == [False]


def test_dates_and_timestamps_should_compare_with_iso_strings():
    data = pa.table(
        {
            "d": pa.array(["2020-01-01", "2021-06-30", None]).cast(pa.date32()),
            "t": pa.array(["2020-01-01 00:00:00", "2021-06-30 12:00:00", None]).cast(pa.timestamp("ms")),
            "z": pa.array(["2020-01-01 00:00:00+00:00", "2021-06-30 12:00:00+00:00", None]).cast(
                pa.timestamp("us", tz="Europe/Paris")
            ),
        }
    )
    assert ev("d >= '2021-01-01'", data) == [False, True, None]
    assert ev("'2021-01-01' > d", data) == [True, False, None]
    assert ev("t < '2021-06-30 12:00:00'", data) == [True, False, None]
    assert ev("d in ['2020-01-01']", data) == [True, False, None]
    # 2021-06-30 12:00 UTC is 14:00 in Paris: a naive literal is local time in the column's zone
    assert ev("z >= '2021-06-30 14:00:00'", data) == [False, True, None]
    assert ev("z > '2021-06-30T12:30:00+01:00'", data) == [False, True, None]
    assert ev("year(z)", data) == [2020, 2021, None]
    with pytest.raises(StepError, match="cannot be read as date32"):
        ev("d > 'yesterday'", data)


def test_category_columns_should_behave_like_strings():
    cat = pa.array(["Ab", None, "cd", "Ab"]).dictionary_encode()
    data = pa.Table.from_batches(
        [pa.record_batch([cat.slice(0, 2)], ["c"]), pa.record_batch([pa.array(["x", "Ab"]).dictionary_encode()], ["c"])]
    )
    assert ev("c == 'Ab'", data) == [True, None, False, True]
    assert ev("lower(c)", data) == ["ab", None, "x", "ab"]
    assert ev("c in ['x']", data) == [False, None, True, False]
    assert ev("starts_with(c, 'A')", data) == [True, None, False, True]
    assert ev("length(c) + 1", data) == [3, None, 2, 3]


def test_an_all_null_column_should_work_in_functions_and_logic():
    data = pa.table({"n": pa.nulls(2), "x": [1, 2]})
    assert ev("lower(n)", data) == [None, None]
    assert ev("n and true", data) == [None, None]
    assert ev("coalesce(n, x)", data) == [1, 2]
    assert ev("n in [1]", data) == [None, None]
    assert ev("n is null", data) == [True, True]


def test_a_constant_expression_should_give_one_value_per_row():
    batch = pa.record_batch({"x": [1, 2, 3]})
    assert ev("1 + 2", batch) == [3, 3, 3]
    assert ev("'k'", batch) == ["k", "k", "k"]
    assert ev("1", pa.record_batch({"x": pa.array([], pa.int64())})) == []


def test_evaluating_a_table_should_give_a_chunked_array_and_a_batch_an_array():
    table = pa.Table.from_batches([pa.record_batch({"x": [1, 2]})] * 2)
    assert isinstance(evaluate(parse_expression("x + 1"), table), pa.ChunkedArray)
    assert isinstance(evaluate(parse_expression("x + 1"), table.to_batches()[0]), pa.Array)


def test_round_should_round_halves_to_even_and_keep_the_type():
    data = pa.table({"f": [0.5, 1.5, 2.5, -2.5, 1.25], "i": [15, 25, 35, -15, 1]})
    assert ev("round(f)", data) == [0.0, 2.0, 2.0, -2.0, 1.0]
    assert ev("round(f, 1)", data) == [0.5, 1.5, 2.5, -2.5, 1.2]
    assert ev("round(i, -1)", data) == [20, 20, 40, -20, 0]


def test_string_functions_should_count_characters_and_handle_unicode():
    data = pa.table({"s": ["  Héllo ", "ÉCOLE", ""]})
    assert ev("length(s)", data) == [8, 5, 0]
    assert ev("strip(s)", data) == ["Héllo", "ÉCOLE", ""]
    assert ev("lower(s)", data) == ["  héllo ", "école", ""]
    assert ev("upper(strip(s))", data) == ["HÉLLO", "ÉCOLE", ""]
    assert ev("contains(s, 'll')", data) == [True, False, False]
    assert ev("ends_with(s, 'E')", data) == [False, True, False]


EQUIVALENCE_CASES = [
    "a + b * 2",
    "a / b",
    "a % 3",
    "-a",
    "abs(a - 10)",
    "round(f, 1)",
    "f > 1.5 and s != 'x'",
    "not (a > 2) or s is null",
    "a in [1, 2] or s not in ['y']",
    "coalesce(s, 'none')",
    "upper(s)",
    "starts_with(c, 'p')",
    "c == 'q'",
    "t >= '2020-06-01'",
    "month(t) * 100 + day(t)",
    "1 + 1",
]


@pytest.mark.parametrize("text", EQUIVALENCE_CASES)
def test_evaluate_and_the_arrow_expression_should_agree(text):
    table = pa.table(
        {
            "a": pa.array([1, 2, None, 4, 5], pa.int16()),
            "b": pa.array([2, 0, 3, None, -5], pa.int64()),
            "f": [1.25, None, 2.0, -0.5, float("nan")],
            "s": ["x", "y", None, "z", "x"],
            "c": pa.array(["p", "q", None, "p", "r"]).dictionary_encode(),
            "t": pa.array(["2020-01-01", "2020-06-01", None, "2021-12-31", "2019-02-03"]).cast(pa.timestamp("s")),
        }
    )
    node = parse_expression(text)
    eager = evaluate(node, table).to_pylist()
    via_acero = run_expression(to_arrow_expression(node, table.schema), table)
    assert repr(eager) == repr(via_acero)  # repr so that NaN == NaN


# ------------------------------------------------------------------------------------------
# Property: evaluate agrees with a pure-Python reference with SQL null semantics
# ------------------------------------------------------------------------------------------


def _ref(node, row):
    """Evaluate a tree on one row in Python with SQL null semantics (None is null)."""
    if isinstance(node, Column):
        return row[node.name]
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Unary):
        v = _ref(node.operand, row)
        if v is None:
            return None
        return (not v) if node.op == "not" else -v
    if isinstance(node, Binary):
        if node.op in ("and", "or"):
            l, r = _ref(node.left, row), _ref(node.right, row)
            if node.op == "and":
                if l is False or r is False:
                    return False
                return None if l is None or r is None else True
            if l is True or r is True:
                return True
            return None if l is None or r is None else False
        l, r = _ref(node.left, row), _ref(node.right, row)
        if l is None or r is None:
            return None
        if node.op == "/":
            with np.errstate(all="ignore"):
                return float(np.float64(l) / np.float64(r))
        ops = {
            "+": lambda: l + r, "-": lambda: l - r, "*": lambda: l * r,
            "==": lambda: l == r, "!=": lambda: l != r, "<": lambda: l < r,
            "<=": lambda: l <= r, ">": lambda: l > r, ">=": lambda: l >= r,
        }
        return ops[node.op]()
    if isinstance(node, IsNull):
        v = _ref(node.operand, row)
        return (v is not None) if node.negated else (v is None)
    if isinstance(node, InList):
        v = _ref(node.operand, row)
        if v is None:
            return None
        found = any(v == x.value for x in node.values)
        return (not found) if node.negated else found
    if isinstance(node, Call) and node.name == "abs":
        v = _ref(node.args[0], row)
        return None if v is None else abs(v)
    if isinstance(node, Call) and node.name == "coalesce":
        for arg in node.args:
            v = _ref(arg, row)
            if v is not None:
                # the result has the arguments' common type: coalesce(j, f) of j = -3 is -3.0,
                # and 0 * -3.0 is -0.0 (so i / (0 * coalesce(j, f)) is -inf, not inf)
                return float(v) if _is_float(node) and not isinstance(v, bool) else v
        return None
    raise AssertionError(node)


def _is_float(node) -> bool:
    """Whether a numeric tree of the generated expressions has type float64 (the column f, a
    division, or anything holding one) rather than int64."""
    if isinstance(node, Column):
        return node.name == "f"
    if isinstance(node, Literal):
        return isinstance(node.value, float)
    if isinstance(node, Binary):
        return node.op == "/" or _is_float(node.left) or _is_float(node.right)
    if isinstance(node, Unary):
        return _is_float(node.operand)
    if isinstance(node, Call):
        return any(_is_float(a) for a in node.args)
    return False


_int_cols = st.sampled_from(["i", "j"]).map(Column)
_num_leaf = st.one_of(_int_cols, st.just(Column("f")), st.integers(-20, 20).map(Literal))


def _numbers():
    return st.recursive(
        _num_leaf,
        lambda c: st.one_of(
            st.builds(Binary, st.sampled_from(["+", "-", "*", "/"]), c, c),
            st.builds(Unary, st.just("-"), c).filter(lambda u: not isinstance(u.operand, Literal)),
            st.builds(lambda a: Call("abs", (a,)), c),
            st.builds(lambda a, b: Call("coalesce", (a, b)), c, c),
        ),
        max_leaves=5,
    )


def _conditions():
    comparison = st.builds(Binary, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _numbers(), _numbers())
    string_cmp = st.builds(
        Binary, st.sampled_from(["==", "!=", "<", ">="]), st.just(Column("s")), st.sampled_from("abc").map(Literal)
    )
    leaf = st.one_of(
        comparison,
        string_cmp,
        st.builds(IsNull, _numbers(), st.booleans()),
        st.builds(
            InList, _int_cols, st.lists(st.integers(-3, 3).map(Literal), min_size=1, max_size=3).map(tuple), st.booleans()
        ),
        st.builds(
            InList, st.just(Column("s")), st.lists(st.sampled_from("abc").map(Literal), min_size=1, max_size=2).map(tuple),
            st.booleans(),
        ),
        st.just(Column("flag")),
        st.sampled_from([True, False, None]).map(Literal),
    )
    return st.recursive(
        leaf,
        lambda c: st.one_of(st.builds(Binary, st.sampled_from(["and", "or"]), c, c), st.builds(Unary, st.just("not"), c)),
        max_leaves=6,
    )


_rows = st.lists(
    st.fixed_dictionaries(
        {
            "i": st.one_of(st.none(), st.integers(-5, 5)),
            "j": st.one_of(st.none(), st.integers(-1000, 1000)),
            "f": st.one_of(st.none(), st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 2))),
            "s": st.one_of(st.none(), st.sampled_from(["a", "b", "c", "ab"])),
            "flag": st.one_of(st.none(), st.booleans()),
        }
    ),
    min_size=0,
    max_size=12,
)


def _table(rows):
    return pa.table(
        {
            "i": pa.array([r["i"] for r in rows], pa.int64()),
            "j": pa.array([r["j"] for r in rows], pa.int64()),
            "f": pa.array([r["f"] for r in rows], pa.float64()),
            "s": pa.array([r["s"] for r in rows], pa.string()),
            "flag": pa.array([r["flag"] for r in rows], pa.bool_()),
        }
    )


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12)
    return a == b and type(a) is type(b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows, _conditions())
def test_filter_should_keep_exactly_the_rows_where_python_says_true(rows, condition):
    text = format_expression(condition)
    table = _table(rows)
    kept = filter_rows(table, text).to_pylist()
    expected = [r for r in rows if _ref(parse_expression(text), r) is True]
    assert kept == expected, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows, _numbers())
def test_arithmetic_should_match_python(rows, expression):
    text = format_expression(expression)
    result = ev(text, _table(rows))
    expected = [_ref(parse_expression(text), r) for r in rows]
    for got, want in zip(result, expected):
        if want is not None and not isinstance(want, bool) and isinstance(got, float):
            want = float(want)
        assert _same(got, want), (text, result, expected)


def test_an_arrow_expression_built_without_a_schema_should_filter_with_pyarrow():
    batch = pa.record_batch({"a": [1, 2, None, 4], "s": ["x", "y", "z", None]})
    expression = to_arrow_expression(parse_expression("a > 1 and s != 'z'"))
    assert isinstance(expression, pc.Expression)
    assert batch.filter(expression).column("a").to_pylist() == [2]


def test_the_docs_should_list_every_type_name():
    from mldata.steps.types import KNOWN_TYPE_NAMES

    text = DOCS.read_text(encoding="utf-8")
    for name in KNOWN_TYPE_NAMES:
        assert f"`{name}`" in text, name
