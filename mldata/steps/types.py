"""User-facing type names (as written in ``cast`` steps) and their Arrow types.

Names are parsed in pure Python (:func:`is_valid_type_name` never imports pyarrow, so the
config loader can check them cheaply); :func:`parse_type` returns the ``pyarrow.DataType``.

Accepted names (case-insensitive, except time-zone names)::

    int8 int16 int32 int64 uint8 uint16 uint32 uint64    int = int64
    float32 float64                                     float = double = float64
    string large_string                                 str = utf8 = string
    bool                                                boolean = bool
    date32                                              date = date32
    timestamp[s|ms|us|ns]                               timestamp = timestamp[us]
    timestamp[UNIT, tz=ZONE]                            e.g. timestamp[us, tz=UTC]
    decimal(P, S)                                       decimal128, 1 <= P <= 38, 0 <= S <= P
    category                                            dictionary<int32, string>
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mldata.errors import ExpressionError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow as pa

__all__ = ["KNOWN_TYPE_NAMES", "TYPE_ALIASES", "parse_type", "is_valid_type_name", "canonical_type_name"]

_SIMPLE = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "string", "large_string", "bool", "date32",
    "timestamp[s]", "timestamp[ms]", "timestamp[us]", "timestamp[ns]", "category",
)

#: Other spellings of the simple names.
TYPE_ALIASES: dict[str, str] = {
    "int": "int64",
    "float": "float64",
    "double": "float64",
    "str": "string",
    "utf8": "string",
    "boolean": "bool",
    "date": "date32",
    "timestamp": "timestamp[us]",
}

#: Every plain type name, canonical names first; parameterized forms are
#: ``timestamp[UNIT, tz=ZONE]`` and ``decimal(P, S)``.
KNOWN_TYPE_NAMES: tuple[str, ...] = _SIMPLE + tuple(TYPE_ALIASES)

_TIMESTAMP = re.compile(r"timestamp\s*\[\s*(s|ms|us|ns)\s*(?:,\s*tz\s*=\s*([^\]\s]+)\s*)?\]", re.IGNORECASE)
_DECIMAL = re.compile(r"decimal(?:128)?\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", re.IGNORECASE)
_OFFSET = re.compile(r"[+-]\d\d:\d\d")


def _valid_zone(tz: str) -> bool:
    if tz.upper() == "UTC" or _OFFSET.fullmatch(tz):
        return True
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(tz)
        return True
    except Exception:  # unknown zone, bad key, or no time-zone database
        return False


def _spec(name: str) -> tuple:
    """Parse ``name`` into a plain tuple: ("simple", canonical) / ("timestamp", unit, tz) /
    ("decimal", precision, scale). Raises :class:`ExpressionError` when it is not valid."""
    if not isinstance(name, str):
        raise _unknown(repr(name))
    text = name.strip()
    lower = text.lower()
    lower = TYPE_ALIASES.get(lower, lower)
    if lower in _SIMPLE:
        match = _TIMESTAMP.fullmatch(lower)
        if match:
            return ("timestamp", match.group(1), None)
        return ("simple", lower)
    match = _TIMESTAMP.fullmatch(text)
    if match:
        tz = match.group(2)
        if tz is not None and not _valid_zone(tz):
            raise ExpressionError(
                f"unknown time zone {tz!r} in type {name!r}",
                hint="use UTC, an offset like +01:00, or an IANA name like Europe/Paris",
            )
        return ("timestamp", match.group(1).lower(), tz)
    match = _DECIMAL.fullmatch(text)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if not (1 <= precision <= 38 and 0 <= scale <= precision):
            raise ExpressionError(
                f"invalid decimal type {name!r}: need 1 <= precision <= 38 and 0 <= scale <= precision"
            )
        return ("decimal", precision, scale)
    raise _unknown(repr(name))


def _unknown(shown: str) -> ExpressionError:
    import difflib

    close = difflib.get_close_matches(shown.strip("'\"").lower(), KNOWN_TYPE_NAMES, n=1)
    suggestion = f" (did you mean {close[0]!r}?)" if close else ""
    return ExpressionError(
        f"unknown type {shown}{suggestion}; valid types: {', '.join(KNOWN_TYPE_NAMES)}, "
        "timestamp[UNIT, tz=ZONE], decimal(P, S)",
    )


def is_valid_type_name(name: str) -> bool:
    """Whether ``name`` is a type name :func:`parse_type` accepts (pure Python, no pyarrow)."""
    try:
        _spec(name)
        return True
    except ExpressionError:
        return False


def canonical_type_name(name: str) -> str:
    """The canonical spelling of a type name: ``int`` -> ``int64``, ``DATE`` -> ``date32``."""
    spec = _spec(name)
    if spec[0] == "simple":
        return spec[1]
    if spec[0] == "timestamp":
        return f"timestamp[{spec[1]}]" if spec[2] is None else f"timestamp[{spec[1]}, tz={spec[2]}]"
    return f"decimal({spec[1]}, {spec[2]})"


def parse_type(name: str) -> "pa.DataType":
    """The Arrow type for a user type name; raises :class:`ExpressionError` listing valid names."""
    import pyarrow as pa

    spec = _spec(name)
    if spec[0] == "timestamp":
        return pa.timestamp(spec[1], tz=spec[2])
    if spec[0] == "decimal":
        return pa.decimal128(spec[1], spec[2])
    simple = spec[1]
    if simple == "category":
        return pa.dictionary(pa.int32(), pa.string())
    factories = {
        "string": pa.string,
        "large_string": pa.large_string,
        "bool": pa.bool_,
        "date32": pa.date32,
    }
    if simple in factories:
        return factories[simple]()
    return getattr(pa, simple)()  # int8..uint64, float32, float64


# --------------------------------------------------------------------------------------------
# Python values to Arrow without pandas
# --------------------------------------------------------------------------------------------
# pyarrow imports pandas (about 0.4 s) the first time it converts any Python value (pa.scalar,
# pa.array, a Python number passed to a compute function). Expression literals are the only
# Python values on mldata's hot path, so they are built from raw buffers instead.


def arrow_array(values: list[Any], arrow_type: "pa.DataType | None" = None) -> "pa.Array":
    """An Arrow array of plain Python values (None, bool, int, float, str), without pandas.

    ``type`` defaults to the type of the first non-null value (null if all are None). Other
    values fall back to ``pa.array``.
    """
    import struct

    import pyarrow as pa

    present = [v for v in values if v is not None]
    if arrow_type is None:
        arrow_type = _python_type(pa, present[0]) if present else pa.null()
    n = len(values)
    if pa.types.is_null(arrow_type):
        return pa.nulls(n)
    kinds = {type(v) for v in present}
    validity = None
    if len(present) < n:
        bits = bytearray((n + 7) // 8)
        for i, v in enumerate(values):
            if v is not None:
                bits[i // 8] |= 1 << (i % 8)
        validity = pa.py_buffer(bytes(bits))
    if pa.types.is_boolean(arrow_type) and kinds <= {bool}:
        data = bytearray((n + 7) // 8)
        for i, v in enumerate(values):
            if v:
                data[i // 8] |= 1 << (i % 8)
        return pa.Array.from_buffers(arrow_type, n, [validity, pa.py_buffer(bytes(data))])
    if arrow_type == pa.int64() and kinds <= {int} and all(-(2**63) <= v < 2**63 for v in present):
        data = struct.pack(f"<{n}q", *[v if v is not None else 0 for v in values])
        return pa.Array.from_buffers(arrow_type, n, [validity, pa.py_buffer(data)])
    if arrow_type == pa.float64() and kinds <= {int, float}:
        data = struct.pack(f"<{n}d", *[float(v) if v is not None else 0.0 for v in values])
        return pa.Array.from_buffers(arrow_type, n, [validity, pa.py_buffer(data)])
    if arrow_type == pa.string() and kinds <= {str}:
        import numpy as np

        encoded = [v.encode("utf-8") if v is not None else b"" for v in values]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=n), out=offsets[1:])
        if offsets[-1] < 2**31:
            return pa.Array.from_buffers(
                arrow_type, n, [validity, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(encoded))]
            )
    return pa.array(values, arrow_type)


def arrow_scalar(value: Any, arrow_type: "pa.DataType | None" = None) -> "pa.Scalar":
    """An Arrow scalar of a plain Python value, without importing pandas (see arrow_array)."""
    return arrow_array([value], arrow_type)[0]


def _python_type(pa: Any, value: Any) -> "pa.DataType":
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    if isinstance(value, str):
        return pa.string()
    return pa.scalar(value).type


def arrow_from_numpy(values: Any, arrow_type: "pa.DataType | None" = None) -> "pa.Array":
    """A null-free fixed-width numpy array as an Arrow array, without pandas (see arrow_array)."""
    import numpy as np
    import pyarrow as pa

    values = np.asarray(values)
    arrow_type = arrow_type or pa.from_numpy_dtype(values.dtype)
    numpy_type = _NUMPY_OF.get(str(arrow_type))
    if numpy_type is None:
        return pa.array(values, type=arrow_type)
    values = np.ascontiguousarray(values, dtype=numpy_type)  # converts (e.g. int -> float) when needed
    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(values)])


_NUMPY_OF = {
    "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
    "float": "float32", "double": "float64",
}
