"""Validation of built data: pandera schemas, failure reports, quality checks, schema inference.

Runs inside worker processes. pyarrow, pandas and pandera are imported inside the functions that
need them, so importing this module is cheap (``validate_checks_config`` is used while loading
``mldata.yaml``, where no data library may be imported; pandera alone takes ~0.8 s to import).

How Arrow data is shown to pandera (docs/schema.md, "Types"): only the columns the schema needs
are converted, in row chunks when every check is element-wise, with these pandas dtypes:

==========================  ==================================  =============================
Arrow type                  pandas dtype                        schema ``dtype`` that matches
==========================  ==================================  =============================
int8 ... uint64             nullable ``Int8`` ... ``UInt64``    ``int64`` (or ``Int64``, ...)
float16/32/64               numpy ``float16/32/64`` (NaN=null)  ``float64``
string, large_string        pandas' default string (``str``)    ``str``
bool                        ``boolean`` (numpy ``bool`` when    ``boolean``; ``bool`` when the
                            the schema says bool and there are  column has no nulls
                            no nulls)
timestamp[unit, tz]         ``datetime64[unit(, tz)]``          ``datetime64[ns]`` (naive, any
                                                                unit); ``datetime64[us, UTC]``
date32, date64              ``object`` of ``datetime.date``     ``date``
dictionary<values=string>   ``category`` (decoded to ``str``    ``category`` (or ``str``)
                            when the schema says str)
anything, declared as       ``pd.ArrowDtype``                   ``int64[pyarrow]``, ...
``...[pyarrow]``
==========================  ==================================  =============================
"""

from __future__ import annotations

import bisect
import copy
import datetime as _dt
import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

from mldata.errors import BuildError, ConfigError, Location

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pandera.api.pandas.container import DataFrameSchema

__all__ = [
    "CheckResult",
    "Failure",
    "ValidationReport",
    "infer_schema",
    "load_schema",
    "raise_if_failed",
    "run_checks",
    "validate_checks_config",
    "validate_table",
    "worst_level",
]

PANDERA_CHECKS_URL = "https://pandera.readthedocs.io/en/stable/reference/generated/pandera.api.checks.Check.html"
_CHUNK_ROWS = 500_000
_MAX_REPR = 80

# ================================================================================================
# Loading a pandera schema
# ================================================================================================

# Top-level keys of pandera's DataFrameSchema YAML (pandera.io.pandas_io.deserialize_schema).
_SCHEMA_KEYS = frozenset({
    "schema_type", "version", "api", "dataframe_library", "columns", "checks", "index", "multiindex",
    "dtype", "coerce", "strict", "name", "ordered", "unique", "report_duplicates",
    "unique_column_names", "add_missing_columns", "title", "description", "metadata",
    "drop_invalid_rows",
})
# Keys of a column that are options, not checks (pandera.io._flat_checks.COMPONENT_RESERVED_KEYS).
_COLUMN_KEYS = frozenset({
    "title", "description", "dtype", "nullable", "checks", "name", "unique", "coerce", "required",
    "regex", "default", "report_duplicates", "drop_invalid_rows",
})
_DTYPE_HINT = ("common dtypes: int64, int32, float64, str, bool, boolean, category, date, "
               "datetime64[ns], datetime64[us, UTC], or any Arrow type as int64[pyarrow]; "
               "see docs/schema.md")


def _import_pandera() -> None:
    import pandera.pandas  # noqa: F401  (registers the built-in checks)


def _check_names() -> frozenset[str]:
    """The check names pandera's YAML accepts: registered built-ins, custom checks, aliases."""
    from pandera.api.checks import Check

    names = set(Check.CHECK_FUNCTION_REGISTRY) | set(Check.REGISTERED_CUSTOM_CHECKS)
    names |= {a for a in ("eq", "ne", "gt", "ge", "lt", "le", "between") if callable(getattr(Check, a, None))}
    return frozenset(names)


class _Where:
    """Locations of keys in a YAML document (line and column of the key), for error messages."""

    def __init__(self, label: str, node: Any = None) -> None:
        self.label = label
        self.node = node

    def __call__(self, *path: Any) -> Location:
        import yaml

        node, found = self.node, None
        for key in path:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if getattr(k, "value", None) == str(key):
                        found, node = k, v
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
                found = node = node.value[key]
            else:
                break
        if found is None:
            return Location(self.label)
        return Location(self.label, found.start_mark.line + 1, found.start_mark.column + 1)


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_schema(path: Path | str | None = None, inline: Mapping[str, Any] | None = None, *,
                label: str | None = None) -> "DataFrameSchema":
    """A pandera ``DataFrameSchema`` from a YAML file in pandera's own format, or from the same
    structure given inline (``{"columns": {name: {"dtype", "nullable", "checks": {...}}}}``).

    Everything pandera would ignore or crash on is a :class:`ConfigError` naming the file (``label``
    when given, else the path), the line and the column where the file can be fixed: a missing or
    unreadable file, invalid YAML, an unknown key or check name (with a "did you mean"), a check
    with bad arguments, an unknown dtype.
    """
    if (path is None) == (inline is None):
        raise TypeError("load_schema takes exactly one of path= or inline=")
    import yaml

    _import_pandera()
    if path is not None:
        label = label or str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"schema file {label} does not exist",
                hint="fix the `schema:` path of the target, or write a starting schema from built data "
                     "with `mldata schema infer TARGET`",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read schema file {label}: {exc}",
                              hint="the schema must be a UTF-8 YAML file") from None
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            loc = Location(label, mark.line + 1, mark.column + 1) if mark is not None else Location(label)
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"the schema is not valid YAML: {problem}",
                              hint="fix the YAML syntax at this line (indentation, a missing ':' or quote)",
                              location=loc) from None
        where = _Where(label, node)
    else:
        label = label or "inline schema"
        doc = copy.deepcopy(dict(inline)) if isinstance(inline, Mapping) else inline
        where = _Where(label)
    doc = _check_schema_doc(doc, where)
    return _deserialize(doc, where)


def _check_schema_doc(doc: Any, where: _Where) -> dict[str, Any]:
    """Reject what pandera would silently ignore or crash on; return a normalized copy."""
    example = "columns:\n  species: {dtype: str, nullable: false, checks: {isin: [Adelie, Gentoo]}}"
    if doc is None:
        raise ConfigError("the schema is empty", hint=f"describe the columns, e.g.\n{example}",
                          location=where())
    if not isinstance(doc, Mapping):
        raise ConfigError(f"the schema must be a mapping with a `columns:` key, not {type(doc).__name__}",
                          hint=f"for example:\n{example}", location=where())
    doc = dict(doc)
    for key in doc:
        if key not in _SCHEMA_KEYS:
            raise ConfigError(
                f"unknown schema key {key!r}{_suggest(str(key), sorted(_SCHEMA_KEYS))}",
                hint="a pandera schema has `columns:` and optionally `checks:`, `strict:`, `unique:`, "
                     "`coerce:`, `ordered:`; see docs/schema.md",
                location=where(key))
    names = _check_names()
    columns = doc.get("columns")
    if columns is None:
        doc.pop("columns", None)
    elif isinstance(columns, Mapping):
        fixed = {}
        for name, spec in columns.items():
            fixed[name] = _check_column(name, spec, names, where, ("columns", name))
        doc["columns"] = fixed
    elif isinstance(columns, list):
        fixed_list = []
        for i, spec in enumerate(columns):
            if not isinstance(spec, Mapping) or "name" not in spec:
                raise ConfigError(f"columns[{i}] must be a mapping with a `name:`",
                                  hint=f"or write columns as a mapping:\n{example}", location=where("columns", i))
            fixed_list.append(_check_column(spec["name"], spec, names, where, ("columns", i)))
        doc["columns"] = fixed_list
    else:
        raise ConfigError("`columns:` must map column names to their dtype, nullable and checks",
                          hint=f"for example:\n{example}", location=where("columns"))
    if doc.get("checks") is not None:
        _check_checks(doc["checks"], names, where, ("checks",), "the table")
    return doc


def _check_column(name: Any, spec: Any, names: frozenset[str], where: _Where, path: tuple) -> dict[str, Any]:
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"column {name!r} must be a mapping (dtype, nullable, checks), not {type(spec).__name__}",
            hint=f"for example:\n  {name}: {{dtype: float64, nullable: false, checks: {{ge: 0}}}}",
            location=where(*path))
    spec = dict(spec)
    flat_checks = []
    for key in spec:
        if key in _COLUMN_KEYS:
            continue
        if key in names:
            flat_checks.append(key)
            continue
        raise ConfigError(
            f"column {name!r}: unknown key {key!r}{_suggest(str(key), sorted(_COLUMN_KEYS | names))}",
            hint="a column takes dtype, nullable, unique, required, regex, coerce, checks, or a "
                 f"pandera check name; the checks are listed at {PANDERA_CHECKS_URL}",
            location=where(*path, key))
    if flat_checks and spec.get("checks") is not None:
        raise ConfigError(
            f"column {name!r}: {flat_checks[0]!r} is written beside `checks:`, where pandera ignores it",
            hint=f"move {', '.join(flat_checks)} under `checks:`",
            location=where(*path, flat_checks[0]))
    if spec.get("checks") is not None:
        _check_checks(spec["checks"], names, where, (*path, "checks"), f"column {name!r}")
    if "nullable" in spec and not isinstance(spec["nullable"], bool):
        raise ConfigError(f"column {name!r}: nullable must be true or false, not {spec['nullable']!r}",
                          hint="write `nullable: true` to allow nulls (pandera's default is false)",
                          location=where(*path, "nullable"))
    return spec


def _check_checks(checks: Any, names: frozenset[str], where: _Where, path: tuple, what: str) -> None:
    if isinstance(checks, Mapping):
        for check in checks:
            if check not in names:
                raise ConfigError(
                    f"{what}: unknown check {check!r}{_suggest(str(check), sorted(names))}",
                    hint=f"use one of pandera's built-in checks ({PANDERA_CHECKS_URL}), e.g. "
                         "ge, le, in_range, isin, notin, str_matches, str_length",
                    location=where(*path, check))
    elif isinstance(checks, list):
        for i, entry in enumerate(checks):
            check = (entry.get("options") or {}).get("check_name") if isinstance(entry, Mapping) else None
            if check not in names:
                raise ConfigError(
                    f"{what}: checks[{i}] is not a known pandera check"
                    + (f" ({check!r}{_suggest(str(check), sorted(names))})" if check else ""),
                    hint="write checks as a mapping, e.g. `checks: {ge: 0, le: 100}`",
                    location=where(*path, i))
    else:
        raise ConfigError(f"{what}: `checks:` must be a mapping of check name to argument",
                          hint="for example `checks: {ge: 0, le: 100, isin: [a, b]}`", location=where(*path))


def _pandera_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace("'<class 'pandera.api.checks.Check'>' object has no attribute", "no check named")


def _deserialize(doc: dict[str, Any], where: _Where) -> "DataFrameSchema":
    from pandera.io.pandas_io import _deserialize_dtype, deserialize_schema

    try:
        return deserialize_schema(copy.deepcopy(doc))
    except Exception as exc:  # pinpoint the column, then report pandera's reason
        columns = doc.get("columns") or {}
        items = columns.items() if isinstance(columns, Mapping) else \
            [(spec.get("name"), spec) for spec in columns]
        for i, (name, spec) in enumerate(items):
            key = name if isinstance(columns, Mapping) else i
            if spec.get("dtype") is not None:
                try:
                    _deserialize_dtype(spec["dtype"])
                except Exception:
                    raise ConfigError(f"column {name!r}: unknown dtype {spec['dtype']!r}", hint=_DTYPE_HINT,
                                      location=where("columns", key, "dtype")) from None
            try:
                deserialize_schema({"columns": {name: copy.deepcopy(spec)}})
            except Exception as col_exc:
                raise ConfigError(
                    f"column {name!r}: {_pandera_reason(col_exc)}",
                    hint=f"check the arguments of its checks against {PANDERA_CHECKS_URL} "
                         "(e.g. `in_range: {min_value: 0, max_value: 10}`)",
                    location=where("columns", key)) from None
        raise ConfigError(f"invalid pandera schema: {_pandera_reason(exc)}",
                          hint="see docs/schema.md for the format", location=where()) from None


# ================================================================================================
# Validating a table
# ================================================================================================


@dataclass(frozen=True)
class Failure:
    """One failing (column, check): how many rows fail and up to a few examples.

    ``column`` is None for a table-wide check. ``count`` is the number of failing rows; it is 0
    when the failure is about the column itself (a wrong dtype, a missing column), which
    ``detail`` then explains. ``examples`` are ``(value_repr, where)`` pairs, ``where`` being
    ``"row 12"`` or ``"row 12 (data/penguins_2008.csv)"``.
    """

    column: str | None
    check: str
    count: int
    examples: tuple[tuple[str, str], ...] = ()
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"column": self.column, "check": self.check, "count": self.count, "detail": self.detail,
                "examples": [{"value": v, "where": w} for v, w in self.examples]}


@dataclass(frozen=True)
class ValidationReport:
    """All the failures of one lazy validation; ``ok`` when there are none."""

    ok: bool
    failures: tuple[Failure, ...] = ()
    source: str = ""
    rows: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "source": self.source, "rows": self.rows,
                "failures": [f.to_json() for f in self.failures]}

    def message(self) -> str:
        """A multi-line human summary (one block per failing column and check)."""
        who = self.source or "table"
        if self.ok:
            return f"{who}: {self.rows} rows valid"
        columns = {f.column for f in self.failures if f.column is not None}
        n, c = len(self.failures), len(columns)
        where = f"{c} column{'s' if c != 1 else ''}" if columns else ""
        if any(f.column is None for f in self.failures):
            where = f"{where} and the table" if where else "the table"
        lines = [f"{who}: validation failed: {n} check{'s' if n != 1 else ''} failed on "
                 f"{where} ({self.rows} rows checked)"]
        for f in self.failures:
            head = f"  {f.column if f.column is not None else '(table)'}: {f.check}"
            if f.count:
                head += f": {f.count} row{'s' if f.count != 1 else ''}"
                if f.detail:
                    head += f" ({f.detail})"
            elif f.detail:
                head += f": {f.detail}"
            lines.append(head)
            for value, where in f.examples:
                lines.append(f"      {value}  at {where}")
            more = f.count - len(f.examples)
            if f.examples and more > 0:
                lines.append(f"      … and {more} more")
        return "\n".join(lines)


def raise_if_failed(report: ValidationReport, target: str, *, schema: str | None = None) -> None:
    """Raise the :class:`BuildError` a failing target reports (exit status 1); the error carries
    the report as ``.report`` (JSON-ready) for ``--json`` output. ``schema`` names the schema file
    in the hint."""
    if report.ok:
        return
    text = report.message()
    if report.source != target:
        text = f"{target}: " + text
    err = BuildError(
        text,
        hint=(f"fix the data or the steps that produce it, or relax the schema"
              f"{f' ({schema})' if schema else ''}; "
              f"the previous outputs and lock entry of {target} are kept. "
              f"`mldata schema infer {target}` shows a schema that fits the data as it is now."),
    )
    err.code = "validation"
    err.report = report.to_json()
    raise err


# Checks whose result for a row depends on that row only: a schema made of them is validated in
# row chunks (bounded memory) and the chunk reports are merged.
_ELEMENTWISE_CHECKS = frozenset({
    "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to", "equal_to",
    "not_equal_to", "in_range", "isin", "notin", "str_matches", "str_contains", "str_startswith",
    "str_endswith", "str_length",
})


def _chunkable(schema: "DataFrameSchema") -> bool:
    if schema.checks or schema.unique or schema.index is not None:
        return False
    for col in schema.columns.values():
        if col.unique:
            return False
        for check in col.checks:
            if check.name not in _ELEMENTWISE_CHECKS or getattr(check, "groupby", None) is not None:
                return False
    return True


def _needed_columns(table: "pa.Table", schema: "DataFrameSchema") -> list[int]:
    """Indices of the columns pandera must see: the schema's own, or all when it needs them."""
    names = table.column_names
    regex = any(getattr(col, "regex", False) for col in schema.columns.values())
    if schema.strict or schema.ordered or schema.checks or schema.dtype is not None or regex \
            or getattr(schema, "unique_column_names", False):
        return list(range(len(names)))
    wanted = set(schema.columns)
    unique = schema.unique
    if unique:
        wanted |= {unique} if isinstance(unique, str) else set(unique)
    return [i for i, n in enumerate(names) if n in wanted]


def _column_to_pandas(arr: Any, declared: Any) -> Any:
    """One Arrow column as the pandas Series pandera checks (see the module docstring)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    typ = arr.type
    target = getattr(declared, "type", None)
    if isinstance(target, pd.ArrowDtype):
        return arr.to_pandas(types_mapper=pd.ArrowDtype)
    if pa.types.is_dictionary(typ) and _is_string_type(typ.value_type) \
            and (isinstance(target, pd.StringDtype) or target == np.dtype(object)):
        arr = arr.cast(typ.value_type)
        typ = arr.type
    if pa.types.is_timestamp(typ) and typ.tz and isinstance(target, pd.DatetimeTZDtype) \
            and str(target.unit) != typ.unit:
        try:  # a tz-aware pandas dtype must match in unit too: cast when it is lossless
            arr = arr.cast(pa.timestamp(str(target.unit), typ.tz))
        except (pa.ArrowInvalid, ValueError):
            pass
    if pa.types.is_integer(typ):
        return arr.to_pandas(types_mapper=_nullable_ints().get)
    if pa.types.is_boolean(typ):
        if arr.null_count == 0 and target == np.dtype(bool):
            return arr.to_pandas()
        return arr.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    if _is_string_type(typ) and target == np.dtype(object):
        return arr.to_pandas().astype(object)
    return arr.to_pandas()


_NULLABLE_INTS: dict[Any, Any] = {}


def _nullable_ints() -> dict[Any, Any]:
    import pandas as pd
    import pyarrow as pa

    if not _NULLABLE_INTS:
        _NULLABLE_INTS.update({
            pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
            pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
            pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
        })
    return _NULLABLE_INTS


def _is_string_type(typ: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_string(typ) or pa.types.is_large_string(typ) or \
        (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(typ))


def _to_pandas(table: "pa.Table", declared: Mapping[str, Any], start: int) -> Any:
    import pandas as pd

    index = pd.RangeIndex(start, start + table.num_rows)
    data = {}
    for i, name in enumerate(table.column_names):
        series = _column_to_pandas(table.column(i), declared.get(name))
        series.index = index
        data[name] = series
    return pd.DataFrame(data, index=index, copy=False)


def _value_repr(value: Any) -> str:
    import numpy as np
    import pandas as pd

    try:
        if value is None or (not isinstance(value, (str, bytes, list, tuple, dict, np.ndarray)) and pd.isna(value)):
            return "null"
    except (TypeError, ValueError):
        pass
    if isinstance(value, np.generic) and not isinstance(value, (np.datetime64, np.timedelta64)):
        value = value.item()
    text = repr(value) if isinstance(value, (str, bytes, float)) else str(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 1] + "…"


class _Collector:
    """Merges pandera's errors (of one or several chunks) into Failures keyed by (column, check)."""

    def __init__(self, max_examples: int, row_sources: Sequence[tuple[int, str]] | None,
                 schema_columns: Sequence[str], table_columns: Sequence[str]) -> None:
        self.max_examples = max_examples
        self.schema_columns = {name: i for i, name in enumerate(schema_columns)}
        self.table_columns = list(table_columns)
        ranges = sorted(row_sources or [])
        self.starts = [s for s, _ in ranges]
        self.files = [f for _, f in ranges]
        self.items: dict[tuple[str | None, str], dict[str, Any]] = {}

    def where(self, index: Any) -> str:
        try:
            row = int(index)
        except (TypeError, ValueError):
            return "column"
        i = bisect.bisect_right(self.starts, row) - 1
        return f"row {row} ({self.files[i]})" if i >= 0 else f"row {row}"

    def add(self, err: Any) -> None:
        import pandas as pd
        from pandera.api.pandas.container import DataFrameSchema

        check = _check_label(err.check)
        cases = err.failure_cases
        reason = getattr(err.reason_code, "name", str(err.reason_code))
        if isinstance(err.schema, DataFrameSchema):
            column = str(cases) if reason in ("COLUMN_NOT_IN_DATAFRAME", "COLUMN_NOT_IN_SCHEMA") else None
        else:
            column = getattr(err.schema, "name", None)
        item = self.items.get((column, check))
        if item is None:
            item = self.items[(column, check)] = {"count": 0, "examples": [], "detail": "",
                                                  "rank": self._rank(column, check, err)}
        frame = isinstance(cases, pd.DataFrame) and "index" in cases.columns
        if reason == "COLUMN_NOT_IN_DATAFRAME":
            item["detail"] = (f"column {column!r} is not in the table"
                              f"{_suggest(str(column), self.table_columns)}; its columns: "
                              f"{', '.join(self.table_columns)}")
            return
        if reason == "COLUMN_NOT_IN_SCHEMA":
            item["detail"] = f"column {column!r} is not in the schema, which is strict"
            return
        if not frame or reason in ("WRONG_DATATYPE", "CHECK_ERROR"):
            item["detail"] = item["detail"] or _first_line(err)
        if not frame or reason == "WRONG_DATATYPE":  # about the column, not about rows
            return
        cases = cases[cases["index"].notna()]
        if "column" in cases.columns and column is None:  # a table-wide check: one example per row
            item["count"] += int(cases["index"].nunique())
            for index, group in cases.groupby("index", sort=False):
                if len(item["examples"]) >= self.max_examples:
                    break
                value = ", ".join(f"{c}={_value_repr(v)}" for c, v in zip(group["column"], group["failure_case"]))
                item["examples"].append((value, self.where(index)))
            return
        item["count"] += int(cases["index"].nunique())
        room = self.max_examples - len(item["examples"])
        if room > 0:
            for index, value in zip(cases["index"].head(room * 4), cases["failure_case"].head(room * 4)):
                if len(item["examples"]) >= self.max_examples:
                    break
                item["examples"].append((_value_repr(value), self.where(index)))

    def _rank(self, column: str | None, check: str, err: Any) -> tuple:
        """Report order: schema column order (table-wide checks last), then within a column:
        presence, dtype, nulls, the checks in schema order, uniqueness."""
        position = self.schema_columns.get(column, len(self.schema_columns)) if column is not None \
            else len(self.schema_columns) + 1
        kind = {"column_in_dataframe": 0, "not_nullable": 2, "field_uniqueness": 4}.get(check)
        if kind is None:
            kind = 1 if check.startswith("dtype(") else 3
        index = err.check_index if isinstance(getattr(err, "check_index", None), int) else 0
        return (position, kind, index, check)

    def failures(self) -> tuple[Failure, ...]:
        ordered = sorted(self.items.items(), key=lambda kv: kv[1]["rank"])
        return tuple(Failure(column, check, v["count"], tuple(v["examples"]), v["detail"])
                     for (column, check), v in ordered)


def _check_label(check: Any) -> str:
    if isinstance(check, str):
        return check
    label = getattr(check, "error", None) or getattr(check, "name", None) or str(check)
    label = str(label)
    return label if len(label) <= 120 else label[:119] + "…"


def _first_line(err: Any) -> str:
    text = (err.args[0] if err.args else str(err)) or ""
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= 300 else line[:299] + "…"


def validate_table(table: "pa.Table", schema: "DataFrameSchema", *, source: str, max_examples: int = 5,
                   row_sources: Sequence[tuple[int, str]] | None = None,
                   chunk_rows: int = _CHUNK_ROWS) -> ValidationReport:
    """Validate ``table`` against a pandera ``schema``, collecting every failure (lazy validation).

    ``source`` names what is validated in messages (a target name). ``row_sources`` is the
    provenance of the rows as sorted ``(first_row_index, input_file)`` ranges, so that examples
    name the file a failing row came from. Only the columns the schema needs are converted to
    pandas; when every check is element-wise the table is validated ``chunk_rows`` rows at a time.
    """
    import pandera.errors as pe

    _import_pandera()
    if max_examples < 0:
        raise ValueError("max_examples must be >= 0")
    sub = table.select(_needed_columns(table, schema))
    declared = {name: col.dtype for name, col in schema.columns.items() if not getattr(col, "regex", False)}
    n = table.num_rows
    step = max(1, chunk_rows) if _chunkable(schema) else max(1, n)
    collector = _Collector(max_examples, row_sources, list(schema.columns), table.column_names)
    for start in range(0, max(n, 1), step):
        frame = _to_pandas(sub.slice(start, step), declared, start)
        try:
            schema.validate(frame, lazy=True, inplace=True)
        except pe.SchemaErrors as exc:
            for err in exc.schema_errors:
                collector.add(err)
        except pe.SchemaError as exc:
            collector.add(exc)
        except Exception as exc:
            raise BuildError(f"{source}: the schema could not be checked: {type(exc).__name__}: {exc}",
                             hint="a check in the schema does not apply to this data; see docs/schema.md") from None
    failures = collector.failures()
    return ValidationReport(ok=not failures, failures=failures, source=source, rows=n)


# ================================================================================================
# Quality checks
# ================================================================================================

Level = Literal["ok", "warn", "fail"]
_LEVEL_RANK = {"ok": 0, "warn": 1, "fail": 2}
_CHECK_KINDS = ("row_count", "duplicates", "missing", "label_balance")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one quality check: its level and the value compared to the threshold."""

    name: str
    level: str
    value: float | int | None
    threshold: float | int | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "level": self.level, "value": self.value, "threshold": self.threshold,
                "message": self.message}


def worst_level(results: Sequence[CheckResult]) -> str:
    """``fail`` if any result fails, else ``warn`` if any warns, else ``ok``."""
    return max((r.level for r in results), key=_LEVEL_RANK.__getitem__, default="ok")


def _cfg_error(path: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(f"{path}: {message}", hint=hint)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_thresholds(value: Any, path: str, *, lower: bool) -> None:
    example = "{warn: 0.1, fail: 0.05}" if lower else "{warn: 0.05, fail: 0.2}"
    if not isinstance(value, Mapping):
        raise _cfg_error(path, f"must be a mapping with warn and/or fail, not {value!r}", f"for example {example}")
    for key in value:
        if key not in ("warn", "fail"):
            raise _cfg_error(path, f"unknown key {key!r}{_suggest(str(key), ['warn', 'fail'])}",
                             f"thresholds are `warn:` and `fail:`, e.g. {example}")
    if value.get("warn") is None and value.get("fail") is None:
        raise _cfg_error(path, "needs a warn or a fail threshold", f"for example {example}")
    for key in ("warn", "fail"):
        v = value.get(key)
        if v is not None and not (_is_number(v) and 0 <= v <= 1):
            raise _cfg_error(f"{path}.{key}", f"must be a share between 0 and 1, not {v!r}",
                             "e.g. 0.05 for 5%")
    warn, fail = value.get("warn"), value.get("fail")
    if warn is not None and fail is not None:
        if not lower and warn > fail:
            raise _cfg_error(path, f"warn ({warn}) is above fail ({fail}), so it could never warn",
                             "a share above warn warns, above fail fails: make warn <= fail")
        if lower and warn < fail:
            raise _cfg_error(path, f"warn ({warn}) is below fail ({fail}), so it could never warn",
                             "a share below warn warns, below fail fails: make warn >= fail")


def _check_keys(value: Any, path: str, allowed: Sequence[str], example: str) -> None:
    if not isinstance(value, Mapping):
        raise _cfg_error(path, f"must be a mapping, not {value!r}", f"for example {example}")
    for key in value:
        if key not in allowed:
            raise _cfg_error(path, f"unknown key {key!r}{_suggest(str(key), list(allowed))}",
                             f"allowed: {', '.join(allowed)}; for example {example}")


def _check_column_list(value: Any, path: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise _cfg_error(path, f"must be a column name or a non-empty list of column names, not {value!r}",
                         "for example `on: [flight_id]`, or `on: null` for whole rows")


def validate_checks_config(checks: Any, *, path: str = "checks") -> None:
    """Check the shape of a target's ``checks:`` mapping (pure Python; a :class:`ConfigError`
    names the offending key and shows a correct example)."""
    if checks is None:
        return
    if not isinstance(checks, Mapping):
        raise _cfg_error(path, f"must be a mapping of quality checks, not {checks!r}",
                         "for example `checks: {duplicates: {fail: 0}, row_count: {min: 1}}`")
    for kind, cfg in checks.items():
        where = f"{path}.{kind}"
        if kind not in _CHECK_KINDS:
            raise _cfg_error(path, f"unknown quality check {kind!r}{_suggest(str(kind), _CHECK_KINDS)}",
                             f"the quality checks are {', '.join(_CHECK_KINDS)}")
        if kind == "duplicates":
            cfg = {} if cfg is None else cfg
            _check_keys(cfg, where, ("on", "warn", "fail"), "{on: [id], warn: 0, fail: 0.01}")
            if cfg.get("on") is not None:
                _check_column_list(cfg["on"], f"{where}.on")
            thresholds = {k: cfg[k] for k in ("warn", "fail") if k in cfg}
            if thresholds:
                _check_thresholds(thresholds, where, lower=False)
        elif kind == "missing":
            _check_keys(cfg, where, ("columns", "default"), "{default: {warn: 0.05, fail: 0.2}}")
            if cfg.get("columns") is None and cfg.get("default") is None:
                raise _cfg_error(where, "needs `columns:` or `default:` thresholds",
                                 "for example {columns: {age: {warn: 0.05, fail: 0.2}}, default: {fail: 0.5}}")
            if cfg.get("default") is not None:
                _check_thresholds(cfg["default"], f"{where}.default", lower=False)
            columns = cfg.get("columns")
            if columns is not None:
                if not isinstance(columns, Mapping) or not columns:
                    raise _cfg_error(f"{where}.columns", "must map column names to thresholds",
                                     "for example {age: {warn: 0.05, fail: 0.2}}")
                for col, th in columns.items():
                    _check_thresholds(th, f"{where}.columns.{col}", lower=False)
        elif kind == "label_balance":
            _check_keys(cfg, where, ("column", "min_share", "classes"),
                        "{column: label, min_share: {warn: 0.1, fail: 0.05}}")
            if not isinstance(cfg.get("column"), str) or not cfg["column"]:
                raise _cfg_error(f"{where}.column", "must name the label column",
                                 "for example {column: label, min_share: {warn: 0.1, fail: 0.05}}")
            if cfg.get("min_share") is None:
                raise _cfg_error(f"{where}.min_share", "is required", "for example {warn: 0.1, fail: 0.05}")
            _check_thresholds(cfg["min_share"], f"{where}.min_share", lower=True)
            classes = cfg.get("classes")
            if classes is not None and (not isinstance(classes, list) or not classes):
                raise _cfg_error(f"{where}.classes", "must be a non-empty list of the expected labels",
                                 "a class listed here but absent from the data has share 0")
        elif kind == "row_count":
            _check_keys(cfg, where, ("min", "max"), "{min: 1000, max: 5000000}")
            if cfg.get("min") is None and cfg.get("max") is None:
                raise _cfg_error(where, "needs min and/or max", "for example {min: 1000}")
            for key in ("min", "max"):
                v = cfg.get(key)
                if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                    raise _cfg_error(f"{where}.{key}", f"must be a whole number of rows >= 0, not {v!r}")
            if cfg.get("min") is not None and cfg.get("max") is not None and cfg["min"] > cfg["max"]:
                raise _cfg_error(where, f"min ({cfg['min']}) is above max ({cfg['max']})")


def _upper(value: float, th: Mapping[str, Any]) -> tuple[str, float | None]:
    warn, fail = th.get("warn"), th.get("fail")
    if fail is not None and value > fail:
        return "fail", fail
    if warn is not None and value > warn:
        return "warn", warn
    return "ok", warn if warn is not None else fail


def _lower(value: float, th: Mapping[str, Any]) -> tuple[str, float | None]:
    warn, fail = th.get("warn"), th.get("fail")
    if fail is not None and value < fail:
        return "fail", fail
    if warn is not None and value < warn:
        return "warn", warn
    return "ok", warn if warn is not None else fail


def _verdict(level: str, threshold: Any, *, lower: bool = False) -> str:
    if level == "ok":
        return ""
    side = "below" if lower else "above"
    shown = f"{threshold:.2%}" if isinstance(threshold, float) or threshold in (0, 1) else str(threshold)
    return f": {side} the {level} threshold {shown}"


def run_checks(table: "pa.Table", checks: Mapping[str, Any] | None) -> list[CheckResult]:
    """Run a target's quality checks (``checks:``) on built data, in the order row_count,
    duplicates, missing (per column), label_balance. Thresholds are exclusive: a share *above*
    ``fail`` fails (below, for ``min_share``)."""
    validate_checks_config(checks)
    if not checks:
        return []
    results: list[CheckResult] = []
    if "row_count" in checks:
        results.append(_row_count(table, checks["row_count"]))
    if "duplicates" in checks:
        results.append(_duplicates(table, checks["duplicates"] or {}))
    if "missing" in checks:
        results.extend(_missing(table, checks["missing"]))
    if "label_balance" in checks:
        results.append(_label_balance(table, checks["label_balance"]))
    return results


def _unknown(name: str, table: "pa.Table", columns: Sequence[str]) -> CheckResult | None:
    unknown = [c for c in columns if c not in table.column_names]
    if not unknown:
        return None
    return CheckResult(name, "fail", None, None,
                       f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                       f"the table has {', '.join(table.column_names)}")


def _row_count(table: "pa.Table", cfg: Mapping[str, Any]) -> CheckResult:
    n = table.num_rows
    lo, hi = cfg.get("min"), cfg.get("max")
    if lo is not None and n < lo:
        return CheckResult("row_count", "fail", n, lo, f"{n} rows, fewer than the minimum {lo}")
    if hi is not None and n > hi:
        return CheckResult("row_count", "fail", n, hi, f"{n} rows, more than the maximum {hi}")
    bounds = " and ".join(x for x in (f"at least {lo}" if lo is not None else "",
                                      f"at most {hi}" if hi is not None else "") if x)
    return CheckResult("row_count", "ok", n, lo if lo is not None else hi, f"{n} rows ({bounds})")


def _duplicates(table: "pa.Table", cfg: Mapping[str, Any]) -> CheckResult:
    import pyarrow as pa

    on = cfg.get("on")
    on = [on] if isinstance(on, str) else on
    name = "duplicates"
    bad = _unknown(name, table, on or [])
    if bad:
        return bad
    th = {k: cfg[k] for k in ("warn", "fail") if cfg.get(k) is not None} or {"fail": 0}
    cols = list(on or table.column_names)
    n = table.num_rows
    if n == 0 or not cols:
        dups = 0
    else:
        try:
            dups = n - table.select(cols).group_by(cols, use_threads=False).aggregate([]).num_rows
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            return CheckResult(name, "fail", None, None,
                               f"rows cannot be compared ({exc}); name key columns with `on:`")
    share = dups / n if n else 0.0
    level, threshold = _upper(share, th)
    what = f"the key ({', '.join(cols)}) of an earlier row" if on else "an earlier row"
    return CheckResult(name, level, share, threshold,
                       f"{dups} of {n} rows ({share:.2%}) repeat {what}{_verdict(level, threshold)}")


def _missing_count(col: Any) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    count = col.null_count
    if pa.types.is_floating(col.type) and len(col):
        count += int(pc.sum(pc.is_nan(col)).as_py() or 0)
    return count


def _missing(table: "pa.Table", cfg: Mapping[str, Any]) -> list[CheckResult]:
    per = dict(cfg.get("columns") or {})
    default = cfg.get("default")
    n = table.num_rows
    results = []
    for i, col_name in enumerate(table.column_names):
        th = per.get(col_name, default)
        if th is None:
            continue
        missing = _missing_count(table.column(i))
        share = missing / n if n else 0.0
        level, threshold = _upper(share, th)
        results.append(CheckResult(f"missing:{col_name}", level, share, threshold,
                                   f"{col_name}: {missing} of {n} values missing ({share:.2%})"
                                   f"{_verdict(level, threshold)}"))
    for col_name in per:
        if col_name not in table.column_names:
            results.append(_unknown(f"missing:{col_name}", table, [col_name]))
    return results


def _label_balance(table: "pa.Table", cfg: Mapping[str, Any]) -> CheckResult:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = cfg["column"]
    name = f"label_balance:{column}"
    bad = _unknown(name, table, [column])
    if bad:
        return bad
    col = table.column(column)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    counts: dict[Any, int] = {}
    for row in pc.value_counts(col).to_pylist() if len(col) else []:
        if row["values"] is not None:
            counts[row["values"]] = int(row["counts"])
    for cls in cfg.get("classes") or []:
        counts.setdefault(cls, 0)
    total = sum(counts.values())
    if not counts or total == 0:
        return CheckResult(name, "warn", None, None, f"{column}: no labels to check (no non-null values)")
    smallest = min(counts, key=lambda k: (counts[k], str(k)))
    share = counts[smallest] / total
    level, threshold = _lower(share, cfg["min_share"])
    return CheckResult(name, level, share, threshold,
                       f"{column}: smallest class {smallest!r} has {counts[smallest]} of {total} labelled rows "
                       f"({share:.2%}, {len(counts)} class{'es' if len(counts) != 1 else ''}){_verdict(level, threshold, lower=True)}")


# ================================================================================================
# Inferring a starting schema
# ================================================================================================


def _yaml_dump(doc: Any) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_list(dumper: Any, data: list) -> Any:
        flow = all(isinstance(x, (str, int, float, bool)) or x is None for x in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    Dumper.add_representer(list, represent_list)
    return yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _pandera_dtype(typ: Any, has_nulls: bool) -> str | None:
    """The schema ``dtype`` that matches how :func:`validate_table` shows an Arrow type."""
    import pyarrow as pa

    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        return {"halffloat": "float16", "float": "float32", "double": "float64"}.get(str(typ), str(typ))
    if _is_string_type(typ):
        return "str"
    if pa.types.is_boolean(typ):
        return "boolean" if has_nulls else "bool"
    if pa.types.is_timestamp(typ):
        return f"datetime64[{typ.unit}, {typ.tz}]" if typ.tz else f"datetime64[{typ.unit}]"
    if pa.types.is_date(typ):
        return "date"
    if pa.types.is_duration(typ):
        return f"timedelta64[{typ.unit}]"
    if pa.types.is_dictionary(typ):
        return "category"
    return None


def infer_schema(table: "pa.Table", *, max_categories: int = 20) -> str:
    """A starting pandera schema (YAML text) for ``table``: per column its dtype, whether it has
    nulls, the observed range of numbers and naive timestamps (ge/le), and the allowed values of
    strings and categories with at most ``max_categories`` distinct values. It loads with
    :func:`load_schema` and validates ``table`` itself."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns: dict[str, Any] = {}
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        typ = col.type
        has_nulls = _missing_count(col) > 0 if pa.types.is_floating(typ) else col.null_count > 0
        spec: dict[str, Any] = {}
        dtype = _pandera_dtype(typ, has_nulls)
        if dtype is not None:
            spec["dtype"] = dtype
        spec["nullable"] = bool(has_nulls)
        checks: dict[str, Any] = {}
        present = len(col) - col.null_count
        if present and (pa.types.is_integer(typ) or pa.types.is_floating(typ)):
            mm = pc.min_max(col).as_py() if not pa.types.is_floating(typ) else \
                pc.min_max(pc.if_else(pc.is_nan(col), None, col)).as_py()
            lo, hi = mm["min"], mm["max"]
            if lo is not None and hi is not None and (not isinstance(lo, float) or (math.isfinite(lo) and math.isfinite(hi))):
                checks["greater_than_or_equal_to"] = lo
                checks["less_than_or_equal_to"] = hi
        elif present and pa.types.is_timestamp(typ) and not typ.tz:
            mm = pc.min_max(col).as_py()
            lo, hi = mm["min"], mm["max"]
            if isinstance(lo, _dt.datetime) and isinstance(hi, _dt.datetime):
                floor = lo.replace(microsecond=0)
                ceil = hi if hi.microsecond == 0 else hi.replace(microsecond=0) + _dt.timedelta(seconds=1)
                if 1000 <= floor.year and ceil.year <= 9999:
                    checks["greater_than_or_equal_to"] = floor.strftime("%Y-%m-%d %H:%M:%S")
                    checks["less_than_or_equal_to"] = ceil.strftime("%Y-%m-%d %H:%M:%S")
        elif present and (_is_string_type(typ) or (pa.types.is_dictionary(typ) and _is_string_type(typ.value_type))):
            values = col.cast(typ.value_type) if pa.types.is_dictionary(typ) else col
            if pc.count_distinct(values).as_py() <= max_categories:
                checks["isin"] = sorted(v for v in pc.unique(values).to_pylist() if v is not None)
        if checks:
            spec["checks"] = checks
        columns[name] = spec
    header = (
        f"# A pandera schema inferred by `mldata schema infer` from {table.num_rows} rows.\n"
        "# The ranges and allowed values are those of the data seen so far: review them, they are a\n"
        "# starting point, not rules. Format: pandera's YAML (see docs/schema.md).\n"
    )
    return header + _yaml_dump({"schema_type": "dataframe", "columns": columns})


def merge_reports(reports: Sequence[ValidationReport], *, source: str, max_examples: int = 5) -> ValidationReport:
    """One report for several validated pieces (the parts of a partitioned target).

    Failures of the same (column, check) add their counts and keep the first examples.
    """
    merged: dict[tuple[str | None, str], Failure] = {}
    rows = 0
    for report in reports:
        rows += report.rows
        for f in report.failures:
            key = (f.column, f.check)
            if key not in merged:
                merged[key] = Failure(f.column, f.check, f.count, f.examples[:max_examples], f.detail)
            else:
                old = merged[key]
                merged[key] = Failure(old.column, old.check, old.count + f.count,
                                      (old.examples + f.examples)[:max_examples], old.detail or f.detail)
    failures = tuple(merged.values())
    return ValidationReport(ok=not failures, failures=failures, source=source, rows=rows)
