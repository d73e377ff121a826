"""The built-in data steps of ``mldata.yaml``, as pure functions over pyarrow data.

Row-local steps (:data:`ROW_LOCAL`) take one ``pa.RecordBatch`` (or a ``pa.Table``) and return
the same kind, so a target can stream a file batch by batch and cache one part per input file.
Global steps (:data:`GLOBAL`) need the whole ``pa.Table``.

:func:`apply_row_local` and :func:`apply_global` call a step with the parameters exactly as
written in YAML; :func:`validate_step_params` checks those parameters (shapes, expressions,
type names) in pure Python, before anything runs.

This module imports pyarrow only inside the step functions, so the planner can import the
registries and the validator without paying for pyarrow.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from mldata.errors import ExpressionError, StepError
from mldata.steps.expr import (
    check_columns,
    evaluate,
    format_expression,
    is_boolean_expression,
    parse_expression,
)
from mldata.steps.types import _spec as _type_spec
from mldata.steps.types import arrow_scalar, parse_type

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow as pa

__all__ = [
    "STEP_SEMANTICS_VERSION",
    "ROW_LOCAL",
    "GLOBAL",
    "STEP_KINDS",
    "select",
    "drop",
    "rename",
    "cast",
    "filter_rows",
    "derive",
    "fill_null",
    "dedupe",
    "sort",
    "sample",
    "apply_row_local",
    "apply_global",
    "validate_step_params",
]

#: Bump when the result of any built-in step on the same input and parameters changes, so
#: that fingerprints (which include it) force a rebuild.
STEP_SEMANTICS_VERSION = 1

Data = TypeVar("Data", "pa.RecordBatch", "pa.Table")


def _context(step: str, detail: str = "") -> str:
    return f"in step `{step}`" + (f" ({detail})" if detail else "")


# --------------------------------------------------------------------------------------------
# Row-local steps
# --------------------------------------------------------------------------------------------


def select(batch: Data, columns: list[str]) -> Data:
    """Keep only ``columns``, in the given order."""
    check_columns(columns, batch.schema.names, _context("select"))
    return batch.select(list(columns))


def drop(batch: Data, columns: list[str]) -> Data:
    """Remove ``columns``; the others keep their order."""
    check_columns(columns, batch.schema.names, _context("drop"))
    gone = set(columns)
    return batch.select([i for i, name in enumerate(batch.schema.names) if name not in gone])


def rename(batch: Data, mapping: dict[str, str]) -> Data:
    """Rename columns ``{old: new}``; columns keep their positions. Names must stay unique."""
    names = list(batch.schema.names)
    check_columns(mapping, names, _context("rename"))
    new_names = [mapping.get(name, name) for name in names]
    seen: set[str] = set()
    for name in new_names:
        if name in seen:
            raise StepError(
                f"in step `rename`: two columns would be called {name!r}; columns: {', '.join(names)}",
                hint="drop or rename the existing column first",
            )
        seen.add(name)
    return batch.rename_columns(new_names)


def cast(batch: Data, mapping: dict[str, str]) -> Data:
    """Convert columns to the named types ``{column: type name}`` (see types.py).

    The cast is safe: a value that does not fit (``'abc'`` to int64, ``1.5`` to int64,
    ``300`` to int8) raises :class:`StepError` naming the column, the type and that value.
    """
    check_columns(mapping, batch.schema.names, _context("cast"))
    for name, type_name in mapping.items():
        target = parse_type(type_name)
        index = batch.schema.get_field_index(name)
        column = batch.column(index)
        if column.type == target:
            continue
        batch = batch.set_column(index, name, _cast_column(column, target, name, type_name))
    return batch


def _cast_column(column: Any, target: "pa.DataType", name: str, type_name: str) -> Any:
    import pyarrow as pa

    try:
        return _cast_values(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        if isinstance(exc, pa.ArrowNotImplementedError):
            raise StepError(
                f"in step `cast`: column {name!r} of type {column.type} cannot be cast to {type_name}",
                hint=f"cast it to an intermediate type first (e.g. string), or check the type name: {exc}",
            ) from None
        bad = _first_bad_value(column, target)
        example = f": the value {bad!r} does not fit" if bad is not None else ""
        raise StepError(
            f"in step `cast`: cannot cast column {name!r} to {type_name}{example} ({exc})",
            hint="filter or fill the bad values first, or cast to a wider type such as float64 or string",
        ) from None


def _cast_values(column: Any, target: "pa.DataType") -> Any:
    """Safe cast that also handles dictionary (category) sources and targets."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type) and not (
        pa.types.is_dictionary(target) and column.type.value_type == target.value_type
    ):
        column = column.cast(column.type.value_type)  # decode first
    if pa.types.is_dictionary(target) and not pa.types.is_dictionary(column.type):
        column = column.cast(target.value_type)  # e.g. int -> string -> category
    return column.cast(target, safe=True)


def _first_bad_value(column: Any, target: "pa.DataType") -> Any:
    """The first value that fails to cast, found by bisection (only on the error path)."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    lo, hi = 0, len(column)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            _cast_values(column.slice(lo, mid - lo), target)
            lo = mid  # the first half casts: the bad value is in the second half
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
    if hi - lo == 1:
        try:
            _cast_values(column.slice(lo, 1), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return column[lo].as_py()
    return None


def filter_rows(batch: Data, expression: str) -> Data:
    """Keep the rows where ``expression`` is true; rows where it is false or null are dropped."""
    import pyarrow as pa

    node = parse_expression(expression)
    mask = evaluate(node, batch)
    if pa.types.is_null(mask.type):
        mask = mask.cast(pa.bool_())
    if not pa.types.is_boolean(mask.type):
        raise StepError(
            f"in step `filter`: `{format_expression(node)}` gives {mask.type} values, not true/false",
            hint="compare it with something, e.g. `x > 0` or `x is not null`",
        )
    return batch.filter(mask, null_selection_behavior="drop")


def derive(batch: Data, mapping: dict[str, str]) -> Data:
    """Add (or replace, in place) columns ``{name: expression}``, in order.

    A later expression can use a column derived earlier in the same step.
    """
    for name, text in mapping.items():
        values = evaluate(parse_expression(text), batch)
        index = batch.schema.get_field_index(name)
        if index >= 0:
            batch = batch.set_column(index, name, values)
        else:
            batch = batch.append_column(name, values)
    return batch


def fill_null(batch: Data, mapping: dict[str, Any]) -> Data:
    """Replace nulls in columns ``{column: value}`` with a literal, read as the column's type.

    NaN is not null and is left as it is. Dates and timestamps take ISO strings.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    check_columns(mapping, batch.schema.names, _context("fill_null"))
    for name, value in mapping.items():
        index = batch.schema.get_field_index(name)
        column = batch.column(index)
        if pa.types.is_null(column.type):  # an all-null column takes the value's own type
            filled = pa.repeat(arrow_scalar(value), batch.num_rows)
        else:
            value_type = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
            try:
                fill = arrow_scalar(value).cast(value_type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise StepError(
                    f"in step `fill_null`: the value {value!r} for column {name!r} "
                    f"does not fit its type {column.type} ({exc})",
                    hint="give a value of the column's type, or cast the column first",
                ) from None
            filled = pc.fill_null(column, fill)
        batch = batch.set_column(index, name, filled)
    return batch


# --------------------------------------------------------------------------------------------
# Global steps
# --------------------------------------------------------------------------------------------


def _key_column(table: "pa.Table", name: str, step: str) -> Any:
    """A column prepared as a grouping/sorting key: categories decoded, -0.0 read as 0.0."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = table.column(name)
    if pa.types.is_nested(column.type):
        raise StepError(
            f"in step `{step}`: column {name!r} of type {column.type} cannot be used as a key",
            hint=f"name the key columns explicitly, e.g. {step}: {{on: [id]}}" if step == "dedupe" else None,
        )
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if step == "dedupe" and pa.types.is_floating(column.type):
        column = pc.add(column, arrow_scalar(0.0).cast(column.type))  # -0.0 + 0.0 == +0.0
    return column


def dedupe(table: "pa.Table", on: list[str] | None = None) -> "pa.Table":
    """Keep the first row (in row order) of each distinct key; the kept rows stay in order.

    ``on`` names the key columns (all columns when None). For this step null equals null,
    NaN equals NaN and -0.0 equals 0.0.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = list(table.schema.names) if on is None else list(on)
    check_columns(keys, table.schema.names, _context("dedupe"))
    if table.num_rows == 0:
        return table
    if not keys:
        return table.slice(0, 1)
    columns = {f"k{i}": _key_column(table, name, "dedupe") for i, name in enumerate(keys)}
    columns["row"] = pa.array(range(table.num_rows), pa.int64())
    try:
        groups = pa.table(columns).group_by(list(columns)[:-1], use_threads=False).aggregate([("row", "min")])
    except pa.ArrowNotImplementedError as exc:
        raise StepError(f"in step `dedupe`: cannot group by {keys}: {exc}") from None
    first = pc.sort_indices(groups.column("row_min"))
    return table.take(pc.take(groups.column("row_min"), first))


def sort(table: "pa.Table", by: list[str], descending: bool | list[bool] = False) -> "pa.Table":
    """Sort by the columns ``by``; stable (ties keep their order); NaN after all numbers, nulls last.

    ``descending`` is one flag for all columns or one per column.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    by = list(by)
    check_columns(by, table.schema.names, _context("sort"))
    if descending is None:
        descending = False
    flags = [descending] * len(by) if isinstance(descending, bool) else list(descending)
    if len(flags) != len(by):
        raise StepError(f"in step `sort`: {len(flags)} descending flags for {len(by)} columns")
    keys = pa.table({f"k{i}": _key_column(table, name, "sort") for i, name in enumerate(by)})
    order = [(f"k{i}", "descending" if flag else "ascending") for i, flag in enumerate(flags)]
    try:
        indices = pc.sort_indices(keys, sort_keys=order)  # stable; nulls at the end by default
    except pa.ArrowNotImplementedError as exc:
        raise StepError(f"in step `sort`: cannot sort by {by}: {exc}") from None
    return table.take(indices)


def sample(
    table: "pa.Table", n: int | None = None, fraction: float | None = None, seed: int = 0
) -> "pa.Table":
    """A random subset of rows in their original order: ``n`` rows (all if fewer) or
    ``round(fraction * rows)`` rows (halves round up), chosen without replacement by
    ``numpy.random.default_rng(seed)``; the same table and seed give the same rows."""
    import numpy as np

    if (n is None) == (fraction is None):
        raise StepError("in step `sample`: give exactly one of n or fraction")
    rows = table.num_rows
    if n is not None:
        count = min(int(n), rows)
    else:
        count = min(rows, int(math.floor(float(fraction) * rows + 0.5)))  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(rows, size=count, replace=False)) if count else np.empty(0, np.int64)
    return table.take(indices)


# --------------------------------------------------------------------------------------------
# Registry and YAML parameters
# --------------------------------------------------------------------------------------------

#: Steps that work one batch at a time (a target whose steps start with these is partitioned).
ROW_LOCAL: dict[str, Callable[..., Any]] = {
    "select": select,
    "drop": drop,
    "rename": rename,
    "cast": cast,
    "filter": filter_rows,
    "derive": derive,
    "fill_null": fill_null,
}

#: Steps that need the whole table.
GLOBAL: dict[str, Callable[..., Any]] = {"dedupe": dedupe, "sort": sort, "sample": sample}

STEP_KINDS: tuple[str, ...] = tuple(ROW_LOCAL) + tuple(GLOBAL)


def apply_row_local(kind: str, params: Any, batch: Data) -> Data:
    """Run the row-local step ``kind`` with its YAML parameters on a batch (or table)."""
    if kind not in ROW_LOCAL:
        raise StepError(f"{kind!r} is not a row-local step; row-local steps: {', '.join(ROW_LOCAL)}")
    if kind in ("select", "drop") and isinstance(params, str):
        params = [params]
    return ROW_LOCAL[kind](batch, params)


def apply_global(kind: str, params: Any, table: "pa.Table") -> "pa.Table":
    """Run the global step ``kind`` with its YAML parameters on a whole table."""
    if kind == "dedupe":
        on = params.get("on") if isinstance(params, dict) else params
        return dedupe(table, [on] if isinstance(on, str) else on)
    if kind == "sort":
        by = params["by"]
        return sort(table, [by] if isinstance(by, str) else by, params.get("descending") or False)
    if kind == "sample":
        return sample(table, params.get("n"), params.get("fraction"), params.get("seed", 0))
    raise StepError(f"{kind!r} is not a global step; global steps: {', '.join(GLOBAL)}")


def _bad(kind: str, message: str, hint: str | None = None) -> ExpressionError:
    return ExpressionError(f"step `{kind}`: {message}", hint=hint)


def _names_list(kind: str, value: Any, what: str = "a list of column names") -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise _bad(kind, f"expected {what}, got {value!r}", f"e.g. {kind}: [a, b]")
    dupes = sorted({v for v in value if value.count(v) > 1})
    if dupes:
        raise _bad(kind, f"column {dupes[0]!r} is listed twice")
    return value


def _mapping(kind: str, value: Any, example: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value or not all(isinstance(k, str) and k for k in value):
        raise _bad(kind, f"expected a mapping of column names, got {value!r}", f"e.g. {kind}: {example}")
    return value


def _suggest(name: str, choices: tuple[str, ...]) -> str:
    """' (did you mean X?)' for a near-miss or a prefix of a choice, else ''."""
    import difflib

    close = difflib.get_close_matches(name, choices, n=1) or [c for c in choices if name and c.startswith(name)]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _options(kind: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(kind, f"expected a mapping with keys {', '.join(allowed)}, got {value!r}")
    for key in value:
        if key not in allowed:
            raise _bad(kind, f"unknown option {key!r}{_suggest(str(key), allowed)}; options: {', '.join(allowed)}")
    return value


def _check_expression(kind: str, name: str | None, text: Any) -> Any:
    where = f" for {name!r}" if name else ""
    if not isinstance(text, str):
        raise _bad(kind, f"the expression{where} must be a string, got {text!r}")
    try:
        return parse_expression(text)
    except ExpressionError as exc:
        exc.message = f"step `{kind}`{where}: {exc.message}"
        exc.args = (exc.message,)
        raise


def validate_step_params(kind: str, params: Any) -> None:
    """Check a step's YAML parameters without data; raise :class:`ExpressionError` if invalid.

    Pure Python (no pyarrow): checks shapes, parses expressions and type names.
    """
    if kind not in ROW_LOCAL and kind not in GLOBAL:
        raise ExpressionError(f"unknown step {kind!r}{_suggest(str(kind), STEP_KINDS)}; steps: {', '.join(STEP_KINDS)}")
    if kind in ("select", "drop"):
        _names_list(kind, params)
    elif kind == "rename":
        mapping = _mapping(kind, params, "{old_name: new_name}")
        for old, new in mapping.items():
            if not isinstance(new, str) or not new:
                raise _bad(kind, f"the new name for {old!r} must be a non-empty string, got {new!r}")
        targets = list(mapping.values())
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        if dupes:
            raise _bad(kind, f"two columns would be renamed to {dupes[0]!r}")
    elif kind == "cast":
        for column, type_name in _mapping(kind, params, "{age: int32}").items():
            try:
                _type_spec(type_name)
            except ExpressionError as exc:
                raise _bad(kind, f"column {column!r}: {exc.message}", exc.hint) from None
    elif kind == "filter":
        node = _check_expression(kind, None, params)
        if not is_boolean_expression(node):
            raise _bad(
                kind, f"`{format_expression(node)}` is not a condition (true/false)",
                "compare it with something, e.g. `x > 0`",
            )
    elif kind == "derive":
        for name, text in _mapping(kind, params, "{ratio: 'a / b'}").items():
            _check_expression(kind, name, text)
    elif kind == "fill_null":
        for column, value in _mapping(kind, params, "{count: 0, label: 'unknown'}").items():
            if value is None or not isinstance(value, (str, int, float, bool)):
                raise _bad(kind, f"the fill value for {column!r} must be a string, number or boolean, got {value!r}")
    elif kind == "dedupe":
        if isinstance(params, (list, str)):
            _names_list(kind, params)
        else:
            options = _options(kind, params, ("on",))
            if options.get("on") is not None:
                _names_list(kind, options["on"], "`on` to be a list of column names")
    elif kind == "sort":
        options = _options(kind, params, ("by", "descending"))
        if "by" not in options:
            raise _bad(kind, "missing `by`", "e.g. sort: {by: [date, id], descending: false}")
        by = _names_list(kind, options["by"], "`by` to be a list of column names")
        descending = options.get("descending") or False
        if isinstance(descending, list):
            if len(descending) != len(by) or not all(isinstance(d, bool) for d in descending):
                raise _bad(kind, f"`descending` must be true/false or a list of {len(by)} true/false values")
        elif not isinstance(descending, bool):
            raise _bad(kind, f"`descending` must be true or false, got {descending!r}")
    elif kind == "sample":
        options = _options(kind, params, ("n", "fraction", "seed"))
        n, fraction, seed = options.get("n"), options.get("fraction"), options.get("seed", 0)
        if (n is None) == (fraction is None):
            raise _bad(kind, "give exactly one of `n` or `fraction`", "e.g. sample: {n: 1000, seed: 0}")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise _bad(kind, f"`n` must be a whole number >= 0, got {n!r}")
        if fraction is not None and (
            isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1
        ):
            raise _bad(kind, f"`fraction` must be a number between 0 and 1, got {fraction!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise _bad(kind, f"`seed` must be a whole number >= 0, got {seed!r}")
