"""Rendering plans, events and results for people (plain lines; rich when on a terminal)."""

from __future__ import annotations

import sys
from typing import Any

import click

from mldata.events import (
    Event,
    PartFinished,
    TargetFailed,
    TargetFinished,
    TargetSkipped,
    TargetStarted,
    TargetUpToDate,
    WaitingForBuild,
)
from mldata.plan import Action, Plan


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def human_rows(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.2f}M"
    if n >= 10_000:
        return f"{n / 1e3:.1f}k"
    return str(n)


_MARK = {Action.UP_TO_DATE: "=", Action.BUILD: "+", Action.PARTIAL: "~", Action.PENDING: "?"}


def print_plan(plan: Plan) -> None:
    """Each target, what would happen, and every reason."""
    if not plan.decisions:
        click.echo("no targets")
        return
    width = max(len(d.target) for d in plan.decisions)
    for d in plan.decisions:
        click.echo(f"{_MARK[d.action]} {d.target:<{width}}  {d.summary()}")
        for r in d.reasons:
            click.echo(f"  {'':<{width}}  - {r.message}")
    stale = sum(1 for d in plan.decisions if d.stale)
    click.echo(f"{stale} of {len(plan.decisions)} target(s) would run" if stale else "nothing to do: all targets up to date")


def print_status(plan: Plan) -> None:
    width = max((len(d.target) for d in plan.decisions), default=0)
    for d in plan.decisions:
        state = "up to date" if not d.stale else "stale: " + (d.reasons[0].message if d.reasons else d.summary())
        click.echo(f"{d.target:<{width}}  {state}")


class LineReporter:
    """Plain progress lines, one per finished target (the rich progress display comes later)."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet

    def emit(self, event: Event) -> None:
        if isinstance(event, WaitingForBuild):
            click.echo(f"waiting for another mldata build of this project to finish ({event.holder})...", err=True)
            return
        if isinstance(event, TargetFailed):
            click.echo(f"FAILED {event.target}: {event.message}", err=True)
            if event.hint:
                click.echo(f"  hint: {event.hint}", err=True)
            return
        if self.quiet:
            return
        if isinstance(event, TargetStarted):
            extra = f", {event.parts_cached} from cache" if event.parts_cached and event.parts_to_compute else ""
            click.echo(f"building {event.target}: {event.summary}{extra}")
        elif isinstance(event, TargetFinished):
            click.echo(
                f"built    {event.target}: {human_rows(event.rows)} rows, {human_bytes(event.bytes)}, "
                f"{event.seconds:.2f} s" + ("" if event.data_changed else " (data unchanged)")
            )
        elif isinstance(event, TargetUpToDate) and event.cutoff:
            click.echo(f"skipped  {event.target}: upstream rebuilt with unchanged data")
        elif isinstance(event, TargetSkipped):
            click.echo(f"skipped  {event.target}: {event.reason}", err=True)
        elif isinstance(event, PartFinished):
            pass


def print_result(result: Any, *, quiet: bool = False) -> None:
    counts: dict[str, int] = {}
    for o in result.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    if not any(o.status != "up_to_date" for o in result.outcomes):
        click.echo(f"nothing to do: {len(result.outcomes)} target(s) up to date")
        return
    order = ["built", "partial", "up_to_date", "failed", "skipped"]
    parts = [f"{counts[k]} {k.replace('_', ' ')}" for k in order if counts.get(k)]
    rows = sum(o.rows for o in result.outcomes if o.status in ("built", "partial"))
    click.echo("done: " + ", ".join(parts) + (f"; {human_rows(rows)} rows written" if rows else ""))


def dag_lines(spec: Any, graph: Any) -> list[str]:
    """A text tree: each source with the targets that read it, nested by dependency."""
    lines: list[str] = []
    children: dict[str, list[str]] = {n: [] for n in list(spec.sources) + list(spec.targets)}
    for name in graph.order:
        for inp in spec.targets[name].inputs:
            children[inp].append(name)
    shown: set[str] = set()

    def walk(name: str, prefix: str, last: bool, top: bool) -> None:
        label = name
        if name in spec.sources:
            label += f"  (source: {spec.sources[name].path})"
        elif name in shown:
            label += "  (see above)"
        if top:
            lines.append(label)
        else:
            lines.append(prefix + ("└── " if last else "├── ") + label)
        if name in shown and not top:
            return
        shown.add(name)
        kids = children[name]
        for i, kid in enumerate(kids):
            walk(kid, prefix + ("" if top else ("    " if last else "│   ")), i == len(kids) - 1, False)

    for src in spec.sources:
        walk(src, "", True, True)
    return lines
