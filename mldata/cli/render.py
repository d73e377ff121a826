"""Rendering plans, events and results for people (plain lines; rich when on a terminal).

mldata.events is imported inside the reporters: a no-op build emits no events and should not pay
for defining them.
"""

from __future__ import annotations

from typing import Any

import click

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


def _without_prefix(message: str, target: str) -> str:
    """Messages often start with the target's name; the reporter already prints it."""
    return message[len(target) + 2:] if message.startswith(f"{target}: ") else message


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

    def __init__(self, *, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose and not quiet
        self.worker_phases = self.verbose  # only -v prints what each worker does

    def emit(self, event: Any) -> None:
        from mldata.events import (HashingFile, PartFinished, TargetFailed, TargetFinished, TargetSkipped,
                                   TargetStarted, TargetUpToDate, WaitingForBuild)

        if isinstance(event, HashingFile):
            if not self.quiet:
                click.echo(f"hashing  {event.path} ({human_bytes(event.bytes)})")
            return
        if isinstance(event, WaitingForBuild):
            click.echo(f"waiting for another mldata build of this project to finish ({event.holder})...", err=True)
            return
        if isinstance(event, TargetFailed):
            click.echo(f"FAILED {event.target}: {_without_prefix(event.message, event.target)}", err=True)
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
            if event.splits:
                click.echo("  splits: " + ", ".join(f"{k} {v}" for k, v in event.splits.items()))
            for line in event.schema_changes:
                click.echo(f"  schema: {line}")
            for line in event.warnings:
                click.echo(f"  warning: {line}", err=True)
        elif isinstance(event, TargetUpToDate) and event.cutoff:
            click.echo(f"skipped  {event.target}: upstream rebuilt with unchanged data")
        elif isinstance(event, TargetSkipped):
            click.echo(f"skipped  {event.target}: {event.reason}", err=True)
        elif isinstance(event, PartFinished):
            if self.verbose:
                click.echo(f"  part   {event.target}: {event.unit} -> {human_rows(event.rows)} rows, "
                           f"{human_bytes(event.bytes)}")
        elif self.verbose and type(event).__name__ == "WorkerPhase":
            click.echo(f"  worker {event.worker}: {event.phase.replace('_', ' ')} {event.target}"
                       + (f" {event.unit}" if event.unit else ""))


def print_result(result: Any, *, quiet: bool = False, rich: bool = False) -> None:
    """The final summary: a table of targets (unless quiet) and one closing line."""
    outcomes = result.outcomes
    if not any(o.status != "up_to_date" for o in outcomes):
        click.echo(f"nothing to do: {len(outcomes)} target(s) up to date")
        return
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    if not quiet:
        header = ("target", "status", "rows", "bytes", "time", "parts computed")
        rows = [
            (o.target, o.status.replace("_", " ") + (" (cutoff)" if o.cutoff else ""),
             human_rows(o.rows) if o.rows else "", human_bytes(o.bytes) if o.bytes else "",
             f"{o.seconds:.2f} s" if o.seconds else "", str(o.parts_computed) if o.parts_computed else "")
            for o in outcomes
        ]
        if rich:
            from rich.console import Console
            from rich.table import Table

            table = Table(title="build summary", title_justify="left")
            for i, h in enumerate(header):
                table.add_column(h, justify="right" if i >= 2 else "left")
            for row in rows:
                style = {"failed": "red", "skipped": "yellow", "built": "green", "partial": "green"}.get(
                    row[1].split(" ")[0], None)
                table.add_row(*row, style=style)
            Console().print(table)
        else:
            widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
            for row in [header, *rows]:
                click.echo("  ".join(str(c).ljust(widths[i]) if i < 2 else str(c).rjust(widths[i])
                                     for i, c in enumerate(row)).rstrip())
    order = ["built", "partial", "up_to_date", "failed", "skipped"]
    parts = [f"{counts[k]} {k.replace('_', ' ')}" for k in order if counts.get(k)]
    written = sum(o.rows for o in outcomes if o.status in ("built", "partial"))
    click.echo("done: " + ", ".join(parts) + (f"; {human_rows(written)} rows written" if written else ""))


class RichReporter:
    """Live progress on a terminal: an overall bar (parts, bytes, MB/s, ETA) and each worker's
    current operation. Failures are printed above the live display as they happen."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)

        self.console = console or Console(stderr=False)
        self.bytes = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=self.console, transient=True,
        )
        self.parts = Progress(TextColumn("{task.description}"), MofNCompleteColumn(), console=self.console,
                              transient=True)
        self.bytes_task = self.bytes.add_task("building", total=0)
        self.parts_task = self.parts.add_task("parts", total=0)
        self.workers: dict[int, str] = {}
        self.live = None

    def _render(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        lines = [Text(f"  worker {pid}: {what}", style="dim") for pid, what in sorted(self.workers.items())]
        return Group(self.bytes, self.parts, *lines)

    def _start(self) -> None:
        if self.live is None:
            from rich.live import Live

            self.live = Live(self._render(), console=self.console, refresh_per_second=8, transient=True)
            self.live.start()

    def emit(self, event: Any) -> None:
        from mldata.events import (HashingFile, PartFinished, TargetFailed, TargetFinished, TargetSkipped,
                                   TargetStarted, TargetUpToDate, WaitingForBuild, WorkerPhase)

        if isinstance(event, HashingFile):
            self.console.print(f"[dim]hashing {event.path} ({human_bytes(event.bytes)})...")
            return
        if isinstance(event, WaitingForBuild):
            self.console.print(f"[yellow]waiting for another mldata build of this project ({event.holder})...")
            return
        if isinstance(event, TargetStarted):
            self._start()
            self.bytes.update(self.bytes_task, total=(self.bytes.tasks[0].total or 0) + event.bytes_to_read)
            self.parts.update(self.parts_task, total=(self.parts.tasks[0].total or 0) + event.parts_to_compute)
        elif isinstance(event, PartFinished):
            self.bytes.advance(self.bytes_task, event.input_bytes)
            self.parts.advance(self.parts_task, 1)
        elif isinstance(event, WorkerPhase):
            if event.phase == "done":
                self.workers.pop(event.worker, None)
            else:
                what = f"{event.target}" + (f" {event.unit}" if event.unit else "")
                self.workers[event.worker] = f"{event.phase.replace('_', ' ')} {what}"
        elif isinstance(event, TargetFinished):
            self.console.print(f"[green]built[/] {event.target}: {human_rows(event.rows)} rows, "
                               f"{human_bytes(event.bytes)}, {event.seconds:.2f} s"
                               + ("" if event.data_changed else " (data unchanged)"))
            if event.splits:
                self.console.print("  splits: " + ", ".join(f"{k} {v}" for k, v in event.splits.items()))
            for line in event.schema_changes:
                self.console.print(f"  schema: {line}", highlight=False)
            for line in event.warnings:
                self.console.print(f"  [yellow]warning:[/] {line}", highlight=False)
            self.workers = {p: w for p, w in self.workers.items() if not w.endswith(event.target)}
        elif isinstance(event, TargetUpToDate) and event.cutoff:
            self.console.print(f"skipped {event.target}: upstream rebuilt with unchanged data")
        elif isinstance(event, TargetFailed):
            self.console.print(f"[red bold]FAILED[/] {event.target}: {_without_prefix(event.message, event.target)}",
                               highlight=False, markup=True)
            if event.hint:
                self.console.print(f"  hint: {event.hint}", highlight=False)
        elif isinstance(event, TargetSkipped):
            self.console.print(f"[yellow]skipped[/] {event.target}: {event.reason}")
        if self.live is not None:
            self.live.update(self._render())

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


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
