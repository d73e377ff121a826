"""Typed events the core emits while it works, and the Reporter protocol that receives them.

The core never prints. The CLI (or a test, or an embedding program) passes a Reporter; each
event is a small frozen value that says what happened, in the order it happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Event:
    """Base of all events."""


@dataclass(frozen=True)
class TargetStarted(Event):
    target: str
    summary: str  # the decision, e.g. "partial: 1 of 200 parts"
    parts_to_compute: int
    parts_cached: int
    bytes_to_read: int = 0  # input bytes of the parts to compute


@dataclass(frozen=True)
class PartFinished(Event):
    target: str
    unit: str
    rows: int
    bytes: int
    input_bytes: int = 0


@dataclass(frozen=True)
class TargetFinished(Event):
    target: str
    rows: int
    bytes: int
    seconds: float
    data_changed: bool
    parts_computed: int
    schema_changes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    splits: dict[str, int] | None = None  # rows per split


@dataclass(frozen=True)
class TargetUpToDate(Event):
    target: str
    cutoff: bool  # True when an upstream was rebuilt but its data did not change


@dataclass(frozen=True)
class TargetFailed(Event):
    target: str
    message: str
    hint: str | None


@dataclass(frozen=True)
class TargetSkipped(Event):
    target: str
    reason: str


@dataclass(frozen=True)
class WorkerPhase(Event):
    """A worker moved to another phase of a task (sent from worker processes to the parent).

    ``phase`` is one of: reading (read, transform and write stream together, batch by batch),
    hashing, reading_parts, transforming, writing, linking, done.
    """

    worker: int  # process id
    target: str
    unit: str  # the input file of a part, or "" for a whole-target task
    phase: str


@dataclass(frozen=True)
class HashingFile(Event):
    """A large file is being hashed (it changed since it was last hashed)."""

    path: str
    bytes: int


@dataclass(frozen=True)
class WaitingForBuild(Event):
    """Another mldata build holds the project; this one waits for it."""

    holder: str


class Reporter(Protocol):
    """Receives a build's events. A reporter may also have a ``worker_phases`` attribute: False
    when it shows no WorkerPhase events (see :func:`wants_worker_phases`)."""

    def emit(self, event: Event) -> None: ...


def wants_worker_phases(reporter: Reporter) -> bool:
    """Whether the reporter shows what each worker is doing (WorkerPhase events); True unless it
    says otherwise. When it does not, workers do not send them: ~800 messages on a 200-file build,
    each pickled, piped and unpickled while the workers need the CPU."""
    return bool(getattr(reporter, "worker_phases", True))


class NullReporter:
    """Discards events."""

    worker_phases = False

    def emit(self, event: Event) -> None:
        return None


class ListReporter:
    """Keeps every event (for tests and programs that inspect a build afterwards)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)
