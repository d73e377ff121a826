"""The one error tree of mldata.

Every error a user can see is an :class:`MldataError`. Each carries a short ``code``, a
``message`` (what went wrong, naming the file or line), an optional ``hint`` (what to do) and the
process ``exit_status`` the CLI maps it to. The CLI is the only place that turns these into exit
codes; the core only raises them.

::

    MldataError                      exit 2 unless noted
    ├── UsageError                   bad command-line usage (unknown target, bad flag value)
    ├── ConfigError                  mldata.yaml is invalid; carries file, line, column
    │   └── ExpressionError          a filter/derive expression does not parse or names an unknown column
    ├── LockError                    mldata.lock is corrupt or conflict-marked (how to recover in hint)
    ├── BuildError                   exit 1: a target or part failed to build
    │   ├── InputError               exit 1: an input file could not be read (file, line)
    │   └── StepError                exit 1: a step failed on real data (unknown column, bad cast)
    ├── StaleError                   exit 1: `status --check` found stale targets
    ├── BusyError                    exit 1: another mldata process holds the project (--no-wait)
    └── Cancelled                    exit 130: the user interrupted the build
"""

from __future__ import annotations

from dataclasses import dataclass


class MldataError(Exception):
    """Base of every error mldata reports to a user."""

    code: str = "error"
    exit_status: int = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keep errors picklable across worker processes
        return (_rebuild_error, (type(self), self.__dict__.copy()))


def _rebuild_error(cls: type, state: dict) -> "MldataError":
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class UsageError(MldataError):
    code = "usage"
    exit_status = 2


@dataclass(frozen=True)
class Location:
    """A place in a text file, 1-based line and column, for error messages."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        out = self.file
        if self.line is not None:
            out += f":{self.line}"
            if self.column is not None:
                out += f":{self.column}"
        return out


class ConfigError(MldataError):
    """mldata.yaml (or a file it names) is invalid. Nothing is built or changed."""

    code = "config"
    exit_status = 2

    def __init__(self, message: str, hint: str | None = None, location: Location | None = None) -> None:
        super().__init__(message, hint)
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ExpressionError(ConfigError):
    """A filter/derive expression is malformed or refers to an unknown column."""

    code = "expression"


class LockError(MldataError):
    code = "lock"
    exit_status = 2


class BuildError(MldataError):
    """A task failed on real data; the target keeps its previous outputs and lock entry."""

    code = "build"
    exit_status = 1


class InputError(BuildError):
    code = "input"


class StepError(BuildError):
    code = "step"


class StaleError(MldataError):
    code = "stale"
    exit_status = 1


class BusyError(MldataError):
    code = "busy"
    exit_status = 1


class Cancelled(MldataError):
    code = "cancelled"
    exit_status = 130
