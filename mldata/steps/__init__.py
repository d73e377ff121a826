"""Built-in data steps and the safe expression language of ``filter`` and ``derive``.

Importing this package (or any module in it) does not import pyarrow; the step functions
import it when they run, so the planner can validate steps cheaply.
"""

from mldata.steps.builtin import (
    GLOBAL,
    ROW_LOCAL,
    STEP_KINDS,
    STEP_SEMANTICS_VERSION,
    apply_global,
    apply_row_local,
    validate_step_params,
)
from mldata.steps.expr import evaluate, format_expression, parse_expression, referenced_columns, to_arrow_expression
from mldata.steps.types import KNOWN_TYPE_NAMES, is_valid_type_name, parse_type

__all__ = [
    "GLOBAL",
    "ROW_LOCAL",
    "STEP_KINDS",
    "STEP_SEMANTICS_VERSION",
    "apply_global",
    "apply_row_local",
    "validate_step_params",
    "evaluate",
    "format_expression",
    "parse_expression",
    "referenced_columns",
    "to_arrow_expression",
    "KNOWN_TYPE_NAMES",
    "is_valid_type_name",
    "parse_type",
]
