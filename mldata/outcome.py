"""What a build did: one outcome per target, and the result of a whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mldata.plan import Plan


@dataclass
class TargetOutcome:
    """What happened to one target in a run."""

    target: str
    status: str  # built, partial, up_to_date, failed, skipped
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    parts_computed: int = 0
    message: str = ""
    hint: str | None = None
    cutoff: bool = False
    warnings: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)  # quality check results
    schema_changes: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None  # a validation report, when validation failed
    splits: dict[str, int] | None = None  # rows per split

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target, "status": self.status, "rows": self.rows, "bytes": self.bytes,
            "seconds": round(self.seconds, 3), "parts_computed": self.parts_computed,
            "message": self.message, "hint": self.hint, "cutoff": self.cutoff,
            "warnings": self.warnings, "checks": self.checks, "schema_changes": self.schema_changes,
            "validation": self.report, "splits": self.splits,
        }


@dataclass
class BuildResult:
    plan: Plan
    outcomes: list[TargetOutcome] = field(default_factory=list)
    lock_written: bool = False

    @property
    def failed(self) -> list[TargetOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "skipped")]

    def to_json(self) -> dict[str, Any]:
        return {"targets": [o.to_json() for o in self.outcomes], "ok": not self.failed}
