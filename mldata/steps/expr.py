"""The safe expression language of ``filter`` and ``derive`` steps.

An expression is parsed by a hand-written tokenizer and a Pratt (precedence-climbing) parser
into a small tree of frozen dataclasses; user text is never given to ``eval``, ``exec`` or
``ast``. The tree is then lowered to pyarrow compute functions, either as a
``pyarrow.compute.Expression`` (:func:`to_arrow_expression`) or evaluated eagerly on a batch
(:func:`evaluate`). Both go through one lowering (:class:`_Lowering`), so they share one set
of semantics: the same Arrow kernels, options, casts and null handling.

Parsing is pure Python: this module imports pyarrow only inside the functions that need it,
so ``mldata plan`` can validate expressions without paying for pyarrow's import.

Grammar (lowest precedence first; see docs/expressions.md for the user-facing version)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum
                      | "is" ["not"] "null"
                      | ["not"] "in" "[" literal ("," literal)* [","] "]" ]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | STRING | "true" | "false" | "null" | IDENT | `QUOTED IDENT`
                | FUNCTION "(" [expr ("," expr)*] ")" | "(" expr ")"

Keywords (``and or not is in null true false``) and function names are case-insensitive;
column names are case-sensitive.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Union

from mldata.errors import ExpressionError, StepError
from mldata.steps.types import _python_type, arrow_array, arrow_scalar

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow as pa
    import pyarrow.compute as pc

__all__ = [
    "Column",
    "Literal",
    "Unary",
    "Binary",
    "Call",
    "IsNull",
    "InList",
    "Node",
    "FunctionSpec",
    "FUNCTIONS",
    "KEYWORDS",
    "parse_expression",
    "format_expression",
    "referenced_columns",
    "is_boolean_expression",
    "check_columns",
    "unknown_column_error",
    "to_arrow_expression",
    "evaluate",
]

# --------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------

LiteralValue = Union[int, float, str, bool, None]


@dataclass(frozen=True)
class Column:
    """A reference to the column called ``name`` (``pos``: offset in the source text)."""

    name: str
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, eq=False)
class Literal:
    """A constant: an int, a float, a string, a bool, or ``None`` for ``null``."""

    value: LiteralValue
    pos: int = field(default=0, compare=False, repr=False)

    # ``True == 1 == 1.0`` in Python; literals of different kinds must not compare equal.
    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Literal)
            and type(self.value) is type(other.value)
            and self.value == other.value
        )

    def __hash__(self) -> int:
        return hash((type(self.value), self.value))


@dataclass(frozen=True)
class Unary:
    """``-operand`` (op ``"-"``) or ``not operand`` (op ``"not"``)."""

    op: str
    operand: "Node"
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Binary:
    """``left op right`` for arithmetic, comparison, ``and`` and ``or``."""

    op: str
    left: "Node"
    right: "Node"
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Call:
    """A call of a whitelisted function (``name`` is lower-case, see :data:`FUNCTIONS`)."""

    name: str
    args: tuple["Node", ...]
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class IsNull:
    """``operand is null`` (or ``operand is not null`` when ``negated``)."""

    operand: "Node"
    negated: bool = False
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class InList:
    """``operand in [values]`` (or ``not in`` when ``negated``); values are non-null literals."""

    operand: "Node"
    values: tuple[Literal, ...]
    negated: bool = False
    pos: int = field(default=0, compare=False, repr=False)


Node = Union[Column, Literal, Unary, Binary, Call, IsNull, InList]

# --------------------------------------------------------------------------------------------
# Functions
# --------------------------------------------------------------------------------------------


class FunctionSpec(NamedTuple):
    """One whitelisted function.

    ``arrow`` is the pyarrow.compute function it lowers to; ``literal_arg`` says that the
    second argument must be a literal of that kind (it becomes a kernel option);
    ``null_type`` is the type a ``null`` argument is read as (Arrow has no kernels for the
    null type); ``returns_bool`` says whether the result is true/false.
    """

    name: str
    min_args: int
    max_args: int | None
    arrow: str
    usage: str
    example: str
    literal_arg: str | None = None  # "int" or "str"
    null_type: str | None = None  # "string", "timestamp", "float64"
    returns_bool: bool = False


FUNCTIONS: dict[str, FunctionSpec] = {
    f.name: f
    for f in (
        FunctionSpec("abs", 1, 1, "abs_checked", "abs(x)", "abs(qty) > 2", null_type="float64"),
        FunctionSpec(
            "round", 1, 2, "round", "round(x[, ndigits])", "round(price / 3, 2)",
            literal_arg="int", null_type="float64",
        ),
        FunctionSpec("lower", 1, 1, "utf8_lower", "lower(s)", "lower(city) == 'paris'", null_type="string"),
        FunctionSpec("upper", 1, 1, "utf8_upper", "upper(s)", "upper(name) == 'ANN'", null_type="string"),
        FunctionSpec("strip", 1, 1, "utf8_trim_whitespace", "strip(s)", "strip(name) != ''", null_type="string"),
        FunctionSpec("length", 1, 1, "utf8_length", "length(s)", "length(name) > 3", null_type="string"),
        FunctionSpec("year", 1, 1, "year", "year(t)", "year(joined) >= 2020", null_type="timestamp"),
        FunctionSpec("month", 1, 1, "month", "month(t)", "month(joined) == 12", null_type="timestamp"),
        FunctionSpec("day", 1, 1, "day", "day(t)", "day(joined) == 1", null_type="timestamp"),
        FunctionSpec("hour", 1, 1, "hour", "hour(t)", "hour(joined) < 6", null_type="timestamp"),
        FunctionSpec("coalesce", 1, None, "coalesce", "coalesce(a, b, ...)", "coalesce(city, 'unknown')"),
        FunctionSpec(
            "starts_with", 2, 2, "starts_with", "starts_with(s, 'prefix')", "starts_with(name, 'A')",
            literal_arg="str", null_type="string", returns_bool=True,
        ),
        FunctionSpec(
            "ends_with", 2, 2, "ends_with", "ends_with(s, 'suffix')", "ends_with(city, 'is')",
            literal_arg="str", null_type="string", returns_bool=True,
        ),
        FunctionSpec(
            "contains", 2, 2, "match_substring", "contains(s, 'text')", "contains(lower(city), 'par')",
            literal_arg="str", null_type="string", returns_bool=True,
        ),
    )
}

KEYWORDS = frozenset({"and", "or", "not", "is", "in", "null", "true", "false"})

_COMPARISONS = {
    "==": "equal",
    "!=": "not_equal",
    "<": "less",
    "<=": "less_equal",
    ">": "greater",
    ">=": "greater_equal",
}
_ARITHMETIC = {"+": "add_checked", "-": "subtract_checked", "*": "multiply_checked", "%": "modulo"}

# Binding powers: a higher number binds tighter.
_BP_OR, _BP_AND, _BP_NOT, _BP_CMP, _BP_SUM, _BP_PRODUCT, _BP_UNARY, _BP_ATOM = (
    10, 20, 25, 30, 40, 50, 60, 100,
)
_INFIX_BP = {"or": _BP_OR, "and": _BP_AND, "+": _BP_SUM, "-": _BP_SUM, "*": _BP_PRODUCT,
             "/": _BP_PRODUCT, "%": _BP_PRODUCT, **{op: _BP_CMP for op in _COMPARISONS}}

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # "num", "str", "ident", "qident", "kw", "op", "eof"
    text: str  # the source text of the token
    value: Any  # the decoded value: number, string, identifier name, lower-case keyword, op
    pos: int


_TWO_CHAR_OPS = ("==", "!=", "<=", ">=")
_ONE_CHAR_OPS = "+-*/%<>()[],"
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def _syntax_error(text: str, pos: int, message: str, hint: str | None = None) -> ExpressionError:
    """An :class:`ExpressionError` that shows the expression with a caret under ``pos``."""
    shown = text.replace("\n", " ").replace("\t", " ")
    caret = " " * min(pos, len(shown)) + "^"
    err = ExpressionError(
        f"invalid expression at character {pos + 1}: {message}\n    {shown}\n    {caret}", hint=hint
    )
    err.expression = text  # type: ignore[attr-defined]
    err.position = pos  # type: ignore[attr-defined]
    return err


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        start = i
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            tokens.append(_number(text, i))
            i = start + len(tokens[-1].text)
            if i < n and (text[i].isalpha() or text[i] == "_"):
                raise _syntax_error(text, i, f"unexpected {text[i]!r} after the number {tokens[-1].text}")
            continue
        if c in "'\"":
            value, i = _string(text, i)
            tokens.append(_Token("str", text[start:i], value, start))
            continue
        if c == "`":
            value, i = _quoted_ident(text, i)
            tokens.append(_Token("qident", text[start:i], value, start))
            continue
        if c.isalpha() or c == "_":
            while i < n and (text[i].isalnum() or text[i] == "_"):
                i += 1
            word = text[start:i]
            if word.lower() in KEYWORDS:
                tokens.append(_Token("kw", word, word.lower(), start))
            else:
                tokens.append(_Token("ident", word, word, start))
            continue
        two = text[i : i + 2]
        if two == "<>":
            raise _unexpected_char(text, i)
        if two in _TWO_CHAR_OPS:
            tokens.append(_Token("op", two, two, start))
            i += 2
            continue
        if c in _ONE_CHAR_OPS:
            tokens.append(_Token("op", c, c, start))
            i += 1
            continue
        raise _unexpected_char(text, i)
    tokens.append(_Token("eof", "", None, n))
    return tokens


def _unexpected_char(text: str, i: int) -> ExpressionError:
    c, two = text[i], text[i : i + 2]
    if two == "<>":
        c = two
    hints = {
        "=": "use == to compare for equality",
        "&&": "use `and`",
        "||": "use `or`",
        "&": "use `and`",
        "|": "use `or`",
        "!": "use `not` or !=",
        "<>": "use !=",
        ".": "backquote column names that contain dots: `a.b`",
    }
    hint = hints.get(two) or hints.get(c)
    return _syntax_error(text, i, f"unexpected character {c!r}", hint)


def _number(text: str, i: int) -> _Token:
    n, start = len(text), i
    while i < n and text[i].isdigit():
        i += 1
    is_float = False
    if i < n and text[i] == ".":
        is_float = True
        i += 1
        while i < n and text[i].isdigit():
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j].isdigit():
            is_float = True
            i = j
            while i < n and text[i].isdigit():
                i += 1
    literal = text[start:i]
    value: int | float = float(literal) if is_float else int(literal)
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise _syntax_error(text, start, f"number {literal} is too large")
    return _Token("num", literal, value, start)


def _string(text: str, i: int) -> tuple[str, int]:
    quote, start, out = text[i], i, []
    i += 1
    while i < len(text):
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(text):
                break
            esc = text[i + 1]
            if esc not in _ESCAPES:
                raise _syntax_error(
                    text, i, f"unknown escape \\{esc} in a string",
                    "known escapes: \\\\ \\' \\\" \\n \\t \\r \\0",
                )
            out.append(_ESCAPES[esc])
            i += 2
            continue
        out.append(c)
        i += 1
    raise _syntax_error(text, start, "unterminated string", f"close the string with {quote}")


def _quoted_ident(text: str, i: int) -> tuple[str, int]:
    start, out = i, []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "`":
            if text[i + 1 : i + 2] == "`":  # a doubled backquote is a literal backquote
                out.append("`")
                i += 2
                continue
            if not out:
                raise _syntax_error(text, start, "empty column name ``")
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise _syntax_error(text, start, "unterminated backquoted column name", "close it with `")


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


class _Parser:
    """A Pratt parser over the token list; see the grammar in the module docstring."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    # -- token helpers
    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (value is None or tok.value == value)

    def expect(self, kind: str, value: Any, what: str) -> _Token:
        if not self.at(kind, value):
            raise self.error(self.peek(), f"expected {what}, found {self.describe(self.peek())}")
        return self.advance()

    def describe(self, tok: _Token) -> str:
        return "the end of the expression" if tok.kind == "eof" else repr(tok.text)

    def error(self, tok: _Token, message: str, hint: str | None = None) -> ExpressionError:
        return _syntax_error(self.text, tok.pos, message, hint)

    # -- grammar
    def parse(self) -> Node:
        if self.at("eof"):
            raise self.error(self.peek(), "the expression is empty")
        node = self.expression(0)
        if not self.at("eof"):
            tok = self.peek()
            hint = None
            if tok.kind in ("ident", "qident", "num", "str") or tok.value == "(":
                hint = "is an operator (and, or, +, ==, ...) or a comma missing?"
            raise self.error(tok, f"unexpected {self.describe(tok)}", hint)
        return node

    def expression(self, min_bp: int) -> Node:
        left = self.prefix(min_bp)
        while True:
            tok = self.peek()
            if tok.kind == "kw" and tok.value in ("is", "in", "not"):
                if _BP_CMP <= min_bp:
                    break
                left = self.postfix_predicate(left)
                self.no_chained_comparison()
                continue
            op = tok.value if tok.kind in ("op", "kw") else None
            bp = _INFIX_BP.get(op) if isinstance(op, str) else None
            if bp is None or bp <= min_bp:
                break
            self.advance()
            right = self.expression(bp)
            if op in _COMPARISONS:
                self.check_null_comparison(tok, left, right)
            left = Binary(op, left, right, pos=tok.pos)
            if op in _COMPARISONS:
                self.no_chained_comparison()
        return left

    def no_chained_comparison(self) -> None:
        tok = self.peek()
        if (tok.kind == "op" and tok.value in _COMPARISONS) or (
            tok.kind == "kw" and tok.value in ("is", "in")
        ) or (tok.kind == "kw" and tok.value == "not" and self.peek(1).value == "in"):
            raise self.error(
                tok, "comparisons cannot be chained", "combine them with `and`: a < b and b < c"
            )

    def check_null_comparison(self, tok: _Token, left: Node, right: Node) -> None:
        if (isinstance(left, Literal) and left.value is None) or (
            isinstance(right, Literal) and right.value is None
        ):
            raise self.error(
                tok, f"comparing with null using {tok.value} is always null",
                "use `x is null` or `x is not null`",
            )

    def prefix(self, min_bp: int) -> Node:
        tok = self.advance()
        if tok.kind == "op" and tok.value == "-":
            nxt = self.peek()
            if nxt.kind == "num":  # fold -<number> into a literal so lists and ndigits accept it
                self.advance()
                return self.number_literal(-nxt.value, tok)
            return Unary("-", self.expression(_BP_UNARY), pos=tok.pos)
        if tok.kind == "kw" and tok.value == "not":
            if min_bp >= _BP_CMP:
                raise self.error(tok, "`not` must be in parentheses here", "write (not x)")
            return Unary("not", self.expression(_BP_NOT), pos=tok.pos)
        if tok.kind == "op" and tok.value == "(":
            inner = self.expression(0)
            self.expect("op", ")", "')'")
            return inner
        if tok.kind == "num":
            return self.number_literal(tok.value, tok)
        if tok.kind == "str":
            return Literal(tok.value, pos=tok.pos)
        if tok.kind == "kw" and tok.value in ("true", "false"):
            return Literal(tok.value == "true", pos=tok.pos)
        if tok.kind == "kw" and tok.value == "null":
            return Literal(None, pos=tok.pos)
        if tok.kind == "qident":
            return Column(tok.value, pos=tok.pos)
        if tok.kind == "ident":
            if self.at("op", "("):
                return self.call(tok)
            return Column(tok.value, pos=tok.pos)
        if tok.kind == "eof":
            raise self.error(tok, "the expression ends too early")
        hint = None
        if tok.kind == "kw":
            hint = f"to use a column called {tok.text!r}, backquote it: `{tok.text}`"
        raise self.error(tok, f"unexpected {self.describe(tok)}", hint)

    def number_literal(self, value: int | float, tok: _Token) -> Literal:
        if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
            raise self.error(tok, f"integer {value} does not fit in 64 bits", "write it as a float: 1e20")
        return Literal(value, pos=tok.pos)

    def call(self, name_tok: _Token) -> Call:
        name = name_tok.value.lower()
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self.error(
                name_tok,
                f"unknown function {name_tok.value!r}{_did_you_mean(name, FUNCTIONS)}; "
                f"allowed functions: {', '.join(sorted(FUNCTIONS))}",
            )
        self.expect("op", "(", "'('")
        args: list[Node] = []
        if not self.at("op", ")"):
            while True:
                args.append(self.expression(0))
                if self.at("op", ","):
                    self.advance()
                    continue
                break
        self.expect("op", ")", f"')' to close {spec.name}(")
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            raise self.error(name_tok, f"wrong number of arguments ({len(args)}) to {spec.usage}")
        if spec.literal_arg and len(args) > 1:
            arg = args[1]
            ok = isinstance(arg, Literal) and type(arg.value) is (int if spec.literal_arg == "int" else str)
            if not ok:
                kind = "an integer" if spec.literal_arg == "int" else "a string"
                raise self.error(name_tok, f"the second argument of {spec.usage} must be {kind} literal")
        return Call(name, tuple(args), pos=name_tok.pos)

    def postfix_predicate(self, left: Node) -> Node:
        tok = self.advance()
        if tok.value == "is":
            negated = False
            if self.at("kw", "not"):
                self.advance()
                negated = True
            if not self.at("kw", "null"):
                raise self.error(
                    self.peek(), f"expected null after `is`, found {self.describe(self.peek())}",
                    "use `x is null`, `x is not null`, or == to compare values",
                )
            self.advance()
            return IsNull(left, negated, pos=tok.pos)
        negated = tok.value == "not"
        if negated:
            if not self.at("kw", "in"):
                raise self.error(
                    tok, "unexpected `not`", "`not` goes before a condition (not x) or before in (x not in [...])"
                )
            self.advance()
        return InList(left, self.literal_list(), negated, pos=tok.pos)

    def literal_list(self) -> tuple[Literal, ...]:
        if self.at("op", "("):
            raise self.error(self.peek(), "in-lists use square brackets", "write x in [1, 2]")
        self.expect("op", "[", "'[' to start the list of values")
        values: list[Literal] = []
        while not self.at("op", "]"):
            item_tok = self.peek()
            item = self.prefix(_BP_ATOM)
            if not isinstance(item, Literal):
                raise self.error(item_tok, "in-lists may only contain literal values")
            if item.value is None:
                raise self.error(item_tok, "null is not allowed in an in-list", "add `or x is null`")
            values.append(item)
            if self.at("op", ","):
                self.advance()
            elif not self.at("op", "]"):
                raise self.error(self.peek(), f"expected ',' or ']', found {self.describe(self.peek())}")
        close = self.advance()
        if not values:
            raise self.error(close, "the in-list is empty")
        kinds = {_literal_kind(v.value) for v in values}
        if len(kinds) > 1:
            raise self.error(
                close, f"in-list values must all be of one kind, found {' and '.join(sorted(kinds))}"
            )
        return tuple(values)


def _literal_kind(value: LiteralValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


@functools.lru_cache(maxsize=1024)
def parse_expression(text: str) -> Node:
    """Parse ``text`` into an expression tree; raise :class:`ExpressionError` if it is invalid.

    Results are cached by text (trees are immutable), so parsing the same step for every
    batch costs one dictionary lookup.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, got {type(text).__name__}: {text!r}")
    return _Parser(text).parse()


# --------------------------------------------------------------------------------------------
# Tree utilities (pure Python)
# --------------------------------------------------------------------------------------------


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Unary, IsNull, InList)):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


def referenced_columns(node: Node) -> set[str]:
    """The names of all columns the expression reads."""
    if isinstance(node, Column):
        return {node.name}
    out: set[str] = set()
    for child in _children(node):
        out |= referenced_columns(child)
    return out


def _ordered_columns(node: Node) -> list[str]:
    """Referenced columns in order of first appearance (for deterministic error messages)."""
    if isinstance(node, Column):
        return [node.name]
    out: list[str] = []
    for child in _children(node):
        out += [c for c in _ordered_columns(child) if c not in out]
    return out


def is_boolean_expression(node: Node) -> bool:
    """False when the expression certainly does not give true/false (e.g. ``a + 1``, ``'x'``).

    Used to reject a non-boolean ``filter`` before any data is read; a bare column or
    ``coalesce`` may be boolean, so they pass and are checked against the data.
    """
    if isinstance(node, Literal):
        return node.value is None or isinstance(node.value, bool)
    if isinstance(node, Binary):
        return node.op in _COMPARISONS or node.op in ("and", "or")
    if isinstance(node, Unary):
        return node.op == "not"
    if isinstance(node, Call):
        return FUNCTIONS[node.name].returns_bool or node.name == "coalesce"
    return True  # Column, IsNull, InList


def _precedence(node: Node) -> int:
    if isinstance(node, Binary):
        return _INFIX_BP[node.op]
    if isinstance(node, (IsNull, InList)):
        return _BP_CMP
    if isinstance(node, Unary):
        return _BP_NOT if node.op == "not" else _BP_UNARY
    if isinstance(node, Literal) and isinstance(node.value, (int, float)) and not isinstance(
        node.value, bool
    ) and (node.value < 0 or str(node.value).startswith("-")):
        return _BP_UNARY  # a negative number reads like a unary minus
    return _BP_ATOM


def _format_literal(value: LiteralValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    escaped = escaped.replace("\t", "\\t").replace("\r", "\\r").replace("\0", "\\0")
    return f"'{escaped}'"


def _format_column(name: str) -> str:
    bare = (
        name
        and (name[0].isalpha() or name[0] == "_")
        and all(c.isalnum() or c == "_" for c in name)
        and name.lower() not in KEYWORDS
    )
    return name if bare else "`" + name.replace("`", "``") + "`"


def format_expression(node: Node) -> str:
    """Canonical text of an expression: parsing it again gives an equal tree.

    Useful in messages and as a normalized form (``a>1`` and ``a > 1`` format the same).
    """

    def wrap(child: Node, min_prec: int) -> str:
        text = format_expression(child)
        return f"({text})" if _precedence(child) < min_prec else text

    if isinstance(node, Column):
        return _format_column(node.name)
    if isinstance(node, Literal):
        return _format_literal(node.value)
    if isinstance(node, Unary):
        if node.op == "not":
            return f"not {wrap(node.operand, _BP_NOT)}"
        return f"-{wrap(node.operand, _BP_UNARY)}"
    if isinstance(node, Binary):
        prec = _INFIX_BP[node.op]
        # Comparisons do not associate, so both sides need to bind tighter; other operators
        # are left-associative, so only the right side does.
        left_min = prec + 1 if node.op in _COMPARISONS else prec
        return f"{wrap(node.left, left_min)} {node.op} {wrap(node.right, prec + 1)}"
    if isinstance(node, IsNull):
        return f"{wrap(node.operand, _BP_CMP + 1)} is {'not ' if node.negated else ''}null"
    if isinstance(node, InList):
        values = ", ".join(_format_literal(v.value) for v in node.values)
        return f"{wrap(node.operand, _BP_CMP + 1)} {'not ' if node.negated else ''}in [{values}]"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(format_expression(a) for a in node.args)})"
    raise TypeError(f"not an expression node: {node!r}")


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_column_error(name: str, available: Iterable[str], context: str = "") -> StepError:
    """A :class:`StepError` for a missing column, listing the available ones.

    ``context`` says where the column was named, e.g. "in filter `a > 1`".
    """
    available = list(available)
    where = f" {context}" if context else ""
    listing = ", ".join(available) if available else "(none)"
    return StepError(
        f"unknown column {name!r}{where}{_did_you_mean(name, available)}; available columns: {listing}",
        hint="column names are case-sensitive; backquote names with spaces or dots: `my col`",
    )


def check_columns(names: Iterable[str], available: Iterable[str], context: str = "") -> None:
    """Raise :func:`unknown_column_error` for the first of ``names`` not in ``available``."""
    available = list(available)
    present = set(available)
    for name in names:
        if name not in present:
            raise unknown_column_error(name, available, context)


# --------------------------------------------------------------------------------------------
# Lowering to pyarrow (imports pyarrow lazily)
# --------------------------------------------------------------------------------------------

# Per-node results that do not depend on the data (column lists, Arrow scalars and value
# sets), so that evaluating the same parsed step on every batch does not redo them. Keyed by
# node identity: each entry keeps its node alive, so the id cannot be reused while cached.
_MEMO: dict[tuple[int, str], tuple[Any, Any]] = {}
_MEMO_LIMIT = 4096


def _memo(node: Any, what: str, make: Any) -> Any:
    hit = _MEMO.get((id(node), what))
    if hit is not None and hit[0] is node:
        return hit[1]
    value = make()
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[(id(node), what)] = (node, value)
    return value


def _columns_of(node: Node) -> tuple[str, ...]:
    """Referenced columns in order of first appearance, cached per node."""
    return _memo(node, "columns", lambda: tuple(_ordered_columns(node)))


def _check_expression_columns(node: Node, names: list[str]) -> None:
    """Raise :class:`StepError` if ``node`` reads a column not in ``names`` (or a duplicated one)."""
    columns = _columns_of(node)
    if not columns:
        return
    present = set(names)
    for name in columns:
        if name not in present:
            raise unknown_column_error(name, names, f"in expression `{format_expression(node)}`")
    if len(present) != len(names):
        for name in columns:
            if names.count(name) > 1:
                raise StepError(f"the data has more than one column named {name!r}")


class _Lowering:
    """Turns a tree into pyarrow compute calls; subclasses choose what the values are.

    Every operator and function is mapped here once. :class:`_ExpressionLowering` builds a
    ``pc.Expression``; :class:`_EagerLowering` calls the same functions on the batch's arrays
    (pyarrow's function wrappers accept either). When a schema is known, it is used to
    (1) read a string literal compared with a date/timestamp column as that type,
    (2) decode dictionary (category) columns before string functions and arithmetic,
    (3) check in-list values against the column type, (4) give ``null`` arguments a type.
    """

    def __init__(self, root: Node, schema: "pa.Schema | None") -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.pa, self.pc = pa, pc
        self.root = root
        self.schema = schema

    # -- backend hooks
    def column(self, name: str) -> Any:
        raise NotImplementedError

    def scalar(self, value: "pa.Scalar") -> Any:
        raise NotImplementedError

    def cast(self, value: Any, to: "pa.DataType") -> Any:
        raise NotImplementedError

    def call(self, node: Node, function: str, args: list[Any], **options: Any) -> Any:
        return getattr(self.pc, function)(*args, **options)

    # -- helpers
    def static_type(self, node: Node) -> "pa.DataType | None":
        """The type of a column or literal when it is known before evaluation."""
        pa = self.pa
        if isinstance(node, Column) and self.schema is not None:
            idx = self.schema.get_field_index(node.name)
            return self.schema.field(idx).type if idx >= 0 else None
        if isinstance(node, Literal):
            return _literal_type(pa, node.value)
        return None

    def value_type(self, node: Node) -> "pa.DataType | None":
        """Like :meth:`static_type`, but looks through dictionary encoding."""
        t = self.static_type(node)
        if t is not None and self.pa.types.is_dictionary(t):
            return t.value_type
        return t

    def literal(self, value: LiteralValue, to: "pa.DataType | None" = None) -> Any:
        pa = self.pa
        if to is None:
            key = (type(value), repr(value))
            scalar = _SCALARS.get(key)
            if scalar is None:
                if len(_SCALARS) >= _MEMO_LIMIT:
                    _SCALARS.clear()
                scalar = _SCALARS[key] = arrow_scalar(value, _literal_type(pa, value))
            return self.scalar(scalar)
        if value is None:
            return self.scalar(arrow_scalar(None, to))
        try:
            return self.scalar(arrow_scalar(value).cast(to))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise StepError(
                f"in expression `{format_expression(self.root)}`: {value!r} cannot be read as {to}: {exc}",
                hint="write dates as 'YYYY-MM-DD' and timestamps as 'YYYY-MM-DD HH:MM:SS' "
                "(with a +HH:MM offset for time-zone-aware columns)",
            ) from None

    def temporal_literal(self, value: str, to: "pa.DataType") -> Any:
        """A string literal read as a date/timestamp of type ``to`` (naive text in ``to``'s zone)."""
        pa = self.pa
        tz = getattr(to, "tz", None)
        if tz:
            try:  # text with an offset ('...+01:00', '...Z') casts as it is
                return self.scalar(arrow_scalar(value).cast(to))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
            try:  # text without an offset is a local time in the column's zone
                naive = arrow_scalar(value).cast(pa.timestamp(to.unit))
                return self.scalar(self.pc.assume_timezone(naive, timezone=tz))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        return self.literal(value, to)

    def plain(self, node: Node) -> Any:
        """Lower ``node``, decoding a dictionary column to its values (for kernels that need it)."""
        t = self.static_type(node)
        value = self.lower(node)
        if t is not None and self.pa.types.is_dictionary(t):
            return self.cast(value, t.value_type)
        return value

    def boolean(self, node: Node) -> Any:
        """Lower an operand of and/or/not; ``null`` (or an all-null column) is a boolean null."""
        if isinstance(node, Literal) and node.value is None:
            return self.literal(None, self.pa.bool_())
        t = self.static_type(node)
        if t is not None and self.pa.types.is_null(t):
            return self.cast(self.lower(node), self.pa.bool_())
        return self.lower(node)

    # -- the mapping
    def lower(self, node: Node) -> Any:
        if isinstance(node, Column):
            return self.column(node.name)
        if isinstance(node, Literal):
            return self.literal(node.value)
        if isinstance(node, Unary):
            if node.op == "not":
                return self.call(node, "invert", [self.boolean(node.operand)])
            return self.call(node, "negate_checked", [self.plain(node.operand)])
        if isinstance(node, Binary):
            if node.op in ("and", "or"):
                fn = "and_kleene" if node.op == "and" else "or_kleene"
                return self.call(node, fn, [self.boolean(node.left), self.boolean(node.right)])
            if node.op in _COMPARISONS:
                left, right = self.comparison_operands(node.left, node.right)
                return self.call(node, _COMPARISONS[node.op], [left, right])
            left, right = self.plain(node.left), self.plain(node.right)
            if node.op == "/":
                # True division: multiplying by 1.0 turns integers into float64 with Arrow's
                # implicit casts, while a string operand still fails with a type error (an
                # explicit cast to float64 would silently parse strings).
                left = self.call(node, "multiply", [left, self.literal(1.0)])
                return self.call(node, "divide", [left, right])
            return self.call(node, _ARITHMETIC[node.op], [left, right])
        if isinstance(node, IsNull):
            return self.call(node, "is_valid" if node.negated else "is_null", [self.lower(node.operand)])
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, Call):
            return self.function(node)
        raise TypeError(f"not an expression node: {node!r}")  # pragma: no cover

    def comparison_operands(self, left: Node, right: Node) -> tuple[Any, Any]:
        lt, rt = self.value_type(left), self.value_type(right)
        if isinstance(right, Literal) and isinstance(right.value, str) and _is_temporal(self.pa, lt):
            return self.lower(left), self.temporal_literal(right.value, lt)
        if isinstance(left, Literal) and isinstance(left.value, str) and _is_temporal(self.pa, rt):
            return self.temporal_literal(left.value, rt), self.lower(right)
        return self.lower(left), self.lower(right)

    def in_list(self, node: InList) -> Any:
        pa = self.pa
        kind = _literal_kind(node.values[0].value)
        value_set = _memo(node, "value_set", lambda: arrow_array([v.value for v in node.values]))
        t = self.value_type(node.operand)
        if t is not None and not pa.types.is_null(t):
            if _is_temporal(pa, t) and kind == "string":
                try:
                    value_set = value_set.cast(t)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise StepError(
                        f"in expression `{format_expression(self.root)}`: the in-list values "
                        f"cannot be read as {t}: {exc}"
                    ) from None
            elif _type_kind(pa, t) != kind:
                raise StepError(
                    f"in expression `{format_expression(self.root)}`: "
                    f"`{format_expression(node.operand)}` is {t} but the in-list holds {kind} values",
                    hint="make the list values the same kind as the column, or cast the column first",
                )
        operand = self.lower(node.operand)
        if t is not None and pa.types.is_null(t):
            operand = self.cast(operand, value_set.type)
        found = self.call(node, "is_in", [operand], value_set=value_set)
        # SQL semantics: a null operand gives null, not false.
        result = self.call(
            node, "if_else", [self.call(node, "is_valid", [operand]), found, self.literal(None, pa.bool_())]
        )
        return self.call(node, "invert", [result]) if node.negated else result

    def function(self, node: Call) -> Any:
        pa = self.pa
        spec = FUNCTIONS[node.name]
        null_type = {"string": pa.string(), "timestamp": pa.timestamp("us"), "float64": pa.float64()}.get(
            spec.null_type or ""
        )
        args = []
        for arg in node.args[: 1 if spec.literal_arg else None]:
            t = self.static_type(arg)
            if node.name == "coalesce" and t is not None and pa.types.is_null(t):
                continue  # coalesce(x, null) is x; Arrow has no kernel for a null-typed argument
            value = self.plain(arg)
            if null_type is not None and t is not None and pa.types.is_null(t):
                value = self.cast(value, null_type)
            args.append(value)
        if not args:  # coalesce(null, ...)
            return self.literal(None)
        if node.name == "round":
            ndigits = node.args[1].value if len(node.args) > 1 else 0  # type: ignore[union-attr]
            return self.call(node, spec.arrow, args, ndigits=ndigits, round_mode="half_to_even")
        if spec.literal_arg == "str":
            return self.call(node, spec.arrow, args, pattern=node.args[1].value)  # type: ignore[union-attr]
        return self.call(node, spec.arrow, args)


# Arrow scalars of literals, by (Python type, repr) so that 0.0 and -0.0 stay apart.
_SCALARS: dict[tuple[type, str], Any] = {}


def _literal_type(pa: Any, value: LiteralValue) -> "pa.DataType":
    return pa.null() if value is None else _python_type(pa, value)


def _is_temporal(pa: Any, t: "pa.DataType | None") -> bool:
    return t is not None and (pa.types.is_timestamp(t) or pa.types.is_date(t))


def _type_kind(pa: Any, t: "pa.DataType") -> str:
    """The literal kind ("number", "string", "boolean") that matches values of type ``t``."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    return str(t)


class _ExpressionLowering(_Lowering):
    def column(self, name: str) -> Any:
        return self.pc.field(name)

    def scalar(self, value: "pa.Scalar") -> Any:
        return self.pc.scalar(value)

    def cast(self, value: Any, to: "pa.DataType") -> Any:
        return value.cast(to)


class _EagerLowering(_Lowering):
    def __init__(self, root: Node, data: "pa.RecordBatch | pa.Table") -> None:
        super().__init__(root, data.schema)
        self.data = data

    def column(self, name: str) -> Any:
        return self.data.column(name)

    def scalar(self, value: "pa.Scalar") -> Any:
        return value

    def cast(self, value: Any, to: "pa.DataType") -> Any:
        return self.pc.cast(value, to)

    def call(self, node: Node, function: str, args: list[Any], **options: Any) -> Any:
        pa = self.pa
        try:
            return getattr(self.pc, function)(*args, **options)
        except pa.ArrowNotImplementedError:
            types = ", ".join(str(a.type) for a in args)
            raise StepError(
                f"in expression `{format_expression(self.root)}`: {_describe(node, self.root)} "
                f"does not accept values of type ({types})",
                hint="convert the column with a `cast` step first (e.g. cast: {col: float64}); "
                "see docs/expressions.md for the types each operator accepts",
            ) from None
        except pa.ArrowInvalid as exc:
            raise StepError(
                f"in expression `{format_expression(self.root)}`: "
                f"`{format_expression(node)}` failed on the data: {exc}",
                hint="integer arithmetic stops on overflow and integer % 0; "
                "cast to a wider type (e.g. int64 or float64) first",
            ) from None


def _describe(node: Node, root: Node) -> str:
    where = "" if node is root else f" in `{format_expression(node)}`"
    if isinstance(node, Binary):
        return f"the operator `{node.op}`{where}"
    if isinstance(node, Unary):
        return f"`{node.op}`{where}"
    if isinstance(node, Call):
        return f"the function {node.name}(){where}"
    return f"`{format_expression(node)}`"


def to_arrow_expression(node: Node, schema: "pa.Schema | None" = None) -> "pc.Expression":
    """The ``pyarrow.compute.Expression`` for ``node``.

    Give ``schema`` to get exactly :func:`evaluate`'s semantics (reading date strings as
    dates, decoding categories, checking in-lists); unknown columns then raise
    :class:`StepError`. Without it the expression is built from names alone.
    """
    if schema is not None:
        _check_expression_columns(node, schema.names)
    return _ExpressionLowering(node, schema).lower(node)


def evaluate(node: Node, batch: "pa.RecordBatch | pa.Table") -> "pa.Array | pa.ChunkedArray":
    """Evaluate ``node`` on ``batch``: one value per row (an Array, or a ChunkedArray for a Table).

    Raises :class:`StepError` for unknown columns (listing the available ones), type
    mismatches and failures such as integer overflow.

    Implementation note: we call pyarrow's kernels directly on the batch's columns rather than
    running the equivalent ``pc.Expression`` through Acero (``table_source`` + ``project``)
    or ``pyarrow.dataset``. Measured on pyarrow 26 with a 3-operator expression: Acero costs
    about 0.15 ms per batch of 10 rows and 0.8 ms per 100k rows (and splits the result into
    32k-row chunks), ``dataset.to_table(columns=...)`` 0.4 ms / 1.1 ms, direct kernels
    0.07 ms / 0.5 ms. Both paths share :class:`_Lowering`, and the tests check they agree.
    """
    import pyarrow as pa

    _check_expression_columns(node, batch.schema.names)
    result = _EagerLowering(node, batch).lower(node)
    if isinstance(result, pa.Scalar):  # no column referenced: repeat the constant for every row
        result = pa.repeat(result, batch.num_rows)
    return result
