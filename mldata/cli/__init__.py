"""The command-line interface: the only package that imports click and rich.

Commands parse flags, call the public API (mldata.api) and render what it returns. Errors are
mapped to exit statuses in one place, :func:`main`: 0 success, 1 build failure or stale
(`status --check`), 2 usage or configuration error, 130 cancelled.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from mldata import __version__
from mldata.errors import MldataError, UsageError

EXAMPLES = {
    "make": "mldata make                      # build everything that is stale\n"
    "mldata make flights_clean        # one target (and what it needs)\n"
    "mldata make --force -j 4         # rebuild all, 4 workers\n"
    "mldata make --compression zstd:9 # this run writes zstd level 9\n"
    "mldata make --executor dask --address tcp://HOST:8786  # on a Dask cluster",
    "plan": "mldata plan          # what make would do, and why\nmldata plan --json   # the same as data",
    "status": "mldata status            # up to date or stale, per target\nmldata status --check    # exit 1 when anything is stale (CI)",
}


def _project_dir_option(f: Any) -> Any:
    return click.option(
        "-C", "--directory", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Run as if started in this project folder.",
    )(f)


def _dir(ctx: click.Context, directory: Path | None) -> Path:
    if directory is not None:
        return directory
    return ctx.find_root().params.get("directory") or Path(".")


def _open(ctx: click.Context, directory: Path | None) -> Any:
    from mldata.api import open_project

    return open_project(_dir(ctx, directory))


def _complete_targets(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of target names (with the + selection forms)."""
    from click.shell_completion import CompletionItem

    try:
        from mldata import config

        directory = ctx.params.get("directory") or (ctx.find_root().params.get("directory") if ctx.parent else None)
        spec = config.load(config.find_root(Path(directory or ".")))
    except Exception:  # completion must never fail loudly
        return []
    prefix = "+" if incomplete.startswith("+") else ""
    word = incomplete.lstrip("+")
    return [CompletionItem(prefix + name) for name in spec.targets if name.startswith(word)]


def _compression(value: str | None) -> Any:
    """The --compression flag, checked (see settings.parse_compression)."""
    if value is None:
        return None
    from mldata.settings import parse_compression

    return parse_compression(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="mldata")
@_project_dir_option
def cli(directory: Path | None) -> None:
    """mldata: a Make-like, incremental build system for ML datasets.

    Declare sources and targets in mldata.yaml; `mldata make` rebuilds only what changed,
    recording content hashes in mldata.lock.

    \b
    Examples:
      mldata init                 # start a project here
      mldata plan                 # what would be rebuilt, and why
      mldata make                 # build
      mldata -C examples/penguins make
    """


# ------------------------------------------------------------------------------------------------
# init
# ------------------------------------------------------------------------------------------------


@cli.command()
@_project_dir_option
@click.pass_context
def init(ctx: click.Context, directory: Path | None) -> None:
    """Create a commented starter mldata.yaml and .gitignore entries.

    \b
    Example:
      mkdir my-project && cd my-project && mldata init
    """
    from mldata.init import init_project

    root = _dir(ctx, directory)
    for line in init_project(root):
        click.echo(line)


# ------------------------------------------------------------------------------------------------
# plan / status
# ------------------------------------------------------------------------------------------------


@cli.command(epilog="\b\nExamples:\n" + EXAMPLES["plan"])
@click.argument("targets", nargs=-1, shell_complete=_complete_targets)
@click.option("--dry-run", is_flag=True, help="Accepted for symmetry with `make --dry-run` (plan never builds).")
@click.option("--force", is_flag=True, help="Plan as if every selected target were forced.")
@click.option("--compression", help="Plan with this run's compression, e.g. zstd:9.")
@click.option("--exclude", multiple=True, metavar="TARGET", help="Leave a target out (repeatable; NAME+ with downstream).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@_project_dir_option
@click.pass_context
def plan(ctx: click.Context, targets: tuple[str, ...], dry_run: bool, force: bool, compression: str | None,
         exclude: tuple[str, ...], as_json: bool, directory: Path | None) -> None:
    """Show what `make` would do for each target, and exactly why. Builds nothing."""
    from mldata import api
    from mldata.cli.render import print_plan

    project = _open(ctx, directory)
    from mldata.settings import compression_override

    result = api.plan(project, targets, force=force, compression=compression_override(_compression(compression)),
                      exclude=exclude)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        print_plan(result)


@cli.command(epilog="\b\nExamples:\n" + EXAMPLES["status"])
@click.argument("targets", nargs=-1, shell_complete=_complete_targets)
@click.option("--check", is_flag=True, help="Exit with status 1 when any target is stale (for CI).")
@click.option("--exclude", multiple=True, metavar="TARGET", help="Leave a target out (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@_project_dir_option
@click.pass_context
def status(ctx: click.Context, targets: tuple[str, ...], check: bool, exclude: tuple[str, ...], as_json: bool,
           directory: Path | None) -> None:
    """Show whether each target is up to date."""
    from mldata import api
    from mldata.cli.render import print_status
    from mldata.errors import StaleError

    project = _open(ctx, directory)
    result = api.plan(project, targets, exclude=exclude)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        print_status(result)
    if check and result.stale:
        stale = [d.target for d in result.decisions if d.stale]
        raise StaleError(f"{len(stale)} target(s) stale: {', '.join(stale)}", hint="run `mldata make`")


# ------------------------------------------------------------------------------------------------
# make
# ------------------------------------------------------------------------------------------------


@cli.command(epilog="\b\nExamples:\n" + EXAMPLES["make"])
@click.argument("targets", nargs=-1, shell_complete=_complete_targets)
@click.option("-n", "--dry-run", is_flag=True, help="Show the plan (as `mldata plan`) and build nothing.")
@click.option("--force", is_flag=True, help="Rebuild the selected targets even if up to date.")
@click.option("--compression", metavar="CODEC[:LEVEL]", help="Compression for this run, e.g. zstd:9, gzip, none.")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help="Worker processes (default: MLDATA_WORKERS, else the `workers` setting, else one per CPU).")
@click.option("--executor", type=click.Choice(["process", "inline", "dask"]), default=None,
              help="Where tasks run (dask: see --address and docs/dask.md).")
@click.option("--address", metavar="tcp://HOST:PORT",
              help="With --executor dask: the scheduler of a running Dask cluster (default: start a local one).")
@click.option("-x", "--fail-fast", is_flag=True, help="Stop at the first failing target.")
@click.option("--rebuild-lock", is_flag=True, help="Ignore mldata.lock and rewrite it (reusing cached parts).")
@click.option("--no-wait", is_flag=True, help="Fail at once if another build of this project is running.")
@click.option("--allow-breaking", is_flag=True, help="Build despite breaking schema changes (warn instead).")
@click.option("--exclude", multiple=True, metavar="TARGET", help="Leave a target out (repeatable; NAME+ with downstream).")
@click.option("--locked", is_flag=True, help="Fail (exit 1) instead of building if mldata.lock would change (CI).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the final summary line.")
@click.option("-v", "--verbose", is_flag=True, help="Also print every part and every worker phase (plain output).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_project_dir_option
@click.pass_context
def make(ctx: click.Context, targets: tuple[str, ...], dry_run: bool, force: bool, compression: str | None,
         jobs: int | None, executor: str, address: str | None, fail_fast: bool, rebuild_lock: bool, no_wait: bool,
         allow_breaking: bool, exclude: tuple[str, ...], locked: bool,
         quiet: bool, verbose: bool, as_json: bool, directory: Path | None) -> None:
    """Build the selected targets (default: all), rebuilding only what changed.

    Settings come from flags, then MLDATA_* environment variables, then the target, the
    project's `defaults:`, the user's config file, and built-in defaults (`mldata config list`).
    """
    from mldata import api
    from mldata.cli.render import LineReporter, RichReporter, print_plan, print_result
    from mldata.errors import BuildError

    from mldata.settings import compression_override, resolve

    early = None  # the worker pool, started before loading the project when a first build is certain
    if not dry_run:
        from mldata.config import find_root
        from mldata.errors import MldataError

        try:
            early = api.prestart(find_root(_dir(ctx, directory)), jobs=jobs, executor=executor, locked=locked)
        except (MldataError, OSError):  # no project here, a bad MLDATA_WORKERS, ...: the build reports it
            early = None
    try:
        project = _open(ctx, directory)
        comp = compression_override(_compression(compression))
        executor = resolve(project.spec, "executor", flag=executor).value
        if dry_run:
            result = api.plan(project, targets, force=force, compression=comp, exclude=exclude)
            if as_json:
                click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
            else:
                print_plan(result)
            return
        if address and executor != "dask":
            raise UsageError(f"--address is for the dask executor, not {executor}", hint="add --executor dask")
        options = api.MakeOptions(force=force, compression=comp, jobs=jobs, executor=executor, address=address,
                                  keep_going=not fail_fast, rebuild_lock=rebuild_lock, wait=not no_wait,
                                  allow_breaking=allow_breaking, exclude=exclude, locked=locked)
        progress = resolve(project.spec, "progress").value
        color = resolve(project.spec, "color").value
        fancy = not (quiet or as_json or verbose) and (progress == "rich" or (progress == "auto" and sys.stdout.isatty()))
        quiet = quiet or progress == "none"
        if fancy:
            from rich.console import Console

            reporter: Any = RichReporter(Console(no_color=color == "never", force_terminal=True if color == "always" else None))
        else:
            reporter = LineReporter(quiet=quiet or as_json, verbose=verbose)
        try:
            result = api.make(project, targets, options, reporter, prestarted=early)
        finally:
            if fancy:
                reporter.close()
    finally:
        if early is not None:
            early.shutdown(cancel=True)  # unused, or already shut down by the build
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        print_result(result, quiet=quiet, rich=fancy)
    if result.failed:
        failed = [o.target for o in result.outcomes if o.status == "failed"]
        raise BuildError(f"{len(failed)} target(s) failed: {', '.join(failed)}", hint=None)


# ------------------------------------------------------------------------------------------------
# dag / clean
# ------------------------------------------------------------------------------------------------


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "mermaid"]), default="text", show_default=True,
              help="A text tree, Graphviz DOT, or a Mermaid flowchart.")
@click.option("--json", "as_json", is_flag=True, help="Print nodes and edges as JSON.")
@_project_dir_option
@click.pass_context
def dag(ctx: click.Context, fmt: str, as_json: bool, directory: Path | None) -> None:
    """Show sources and targets as a tree (or as DOT / Mermaid for diagrams).

    \b
    Examples:
      mldata dag
      mldata dag --format dot | dot -Tsvg > dag.svg
      mldata dag --format mermaid >> README.md
    """
    from mldata.cli.render import dag_lines

    project = _open(ctx, directory)
    if as_json:
        spec = project.spec
        data = {
            "sources": {n: {"path": s.path} for n, s in spec.sources.items()},
            "targets": {n: {"from": list(t.inputs), "partitioned": t.partitioned} for n, t in spec.targets.items()},
            "order": list(project.graph.order),
        }
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    if fmt == "dot":
        click.echo(project.graph.to_dot(project.spec), nl=False)
    elif fmt == "mermaid":
        click.echo(project.graph.to_mermaid(project.spec), nl=False)
    else:
        for line in dag_lines(project.spec, project.graph):
            click.echo(line)


@cli.command()
@click.option("--cache", is_flag=True, help="Also remove the part cache in .mldata/cache.")
@click.option("--cache-only", is_flag=True, help="Remove only the part cache; keep build outputs.")
@_project_dir_option
@click.pass_context
def clean(ctx: click.Context, cache: bool, cache_only: bool, directory: Path | None) -> None:
    """Remove build outputs (the lock is kept, so the next make restores them, from cache if possible).

    \b
    Examples:
      mldata clean            # remove build/ outputs
      mldata clean --cache    # and the part cache
    """
    from mldata import api

    project = _open(ctx, directory)
    removed = api.clean(project, outputs=not cache_only, cache=cache or cache_only)
    click.echo("removed: " + ", ".join(removed) if removed else "nothing to remove")


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script (commands, options and target names).

    \b
    Examples:
      eval "$(mldata completion bash)"        # in ~/.bashrc
      mldata completion fish > ~/.config/fish/completions/mldata.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "mldata", "_MLDATA_COMPLETE").source())


# ------------------------------------------------------------------------------------------------
# profile / drift
# ------------------------------------------------------------------------------------------------


def _maybe_project(ctx: click.Context, directory: Path | None) -> Any:
    """The project when there is one (profile and drift also work on bare paths)."""
    from mldata.errors import ConfigError

    try:
        return _open(ctx, directory)
    except ConfigError as exc:
        if "no mldata.yaml" in exc.message:
            return None
        raise


@cli.command()
@click.argument("what", shell_complete=_complete_targets)
@click.option("--columns", help="Comma-separated columns to profile (default: all).")
@click.option("--sample", type=click.FloatRange(0, 1, min_open=True), help="Profile a seeded random share of rows "
              "(e.g. 0.1); the output says it is sampled.")
@click.option("--json", "as_json", is_flag=True, help="Print the full profile as JSON.")
@click.option("--markdown", is_flag=True, help="Print Markdown tables.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a self-contained HTML report (inline SVG histograms).")
@_project_dir_option
@click.pass_context
def profile(ctx: click.Context, what: str, columns: str | None, sample: float | None, as_json: bool, markdown: bool,
            html_file: Path | None, directory: Path | None) -> None:
    """Profile a target's built data, or a file or folder: per-column statistics (docs/metrics.md).

    Memory is bounded by one column: Parquet is read one column at a time, and CSV or JSON Lines
    inputs above 256 MB are first streamed into a temporary Parquet file (in $TMPDIR).

    \b
    Examples:
      mldata profile penguins_clean
      mldata profile data/ --columns amount,country --json
      mldata profile penguins_clean --html profile.html
    """
    from mldata.cli import reports
    from mldata.inspect import full_profile, resolve_data

    project = _maybe_project(ctx, directory)
    ref = resolve_data(what, project)
    result = full_profile(ref, columns=[c.strip() for c in columns.split(",")] if columns else None, sample=sample)
    if html_file is not None:
        html_file.write_text(reports.profile_html(result))
        click.echo(f"wrote {html_file}")
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True, default=str))
    elif markdown:
        click.echo(reports.profile_markdown(result))
    elif html_file is None:
        reports.print_profile(result)


@cli.command()
@click.argument("first", shell_complete=_complete_targets)
@click.argument("second", required=False, shell_complete=_complete_targets)
@click.option("--against", "rev", default=None, metavar="GIT_REV",
              help="Baseline: the target's profile in mldata.lock at this revision (default HEAD).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an HTML report with baseline/current bins per column.")
@_project_dir_option
@click.pass_context
def drift(ctx: click.Context, first: str, second: str | None, rev: str | None, as_json: bool,
          html_file: Path | None, directory: Path | None) -> None:
    """Data drift per column: PSI, KL, JS, KS or chi-square, missing-share change, severity.

    With one TARGET: the current build against the profile committed in mldata.lock at git HEAD
    (or --against REV); the old data need not exist. With A B (targets or paths): B against A,
    computed from the data. Exits 1 when any column reaches `fail` (for CI).

    \b
    Examples:
      mldata drift penguins_clean
      mldata drift penguins_clean --against v1.2 --json
      mldata drift data/2024-01.parquet data/2024-02.parquet --html drift.html
    """
    from mldata.cli import reports
    from mldata.config import drift_config
    from mldata.errors import BuildError
    from mldata.inspect import compact_of, drift as compute, resolve_data

    project = _maybe_project(ctx, directory)
    target = first if second is None else None
    if second is None:
        if project is None or first not in project.spec.targets:
            raise UsageError(f"{first!r} is not a target", hint="give a target, or two targets/paths to compare")
        if rev is None:
            rev = "HEAD"
        from mldata.githistory import lock_at

        old = (lock_at(project.root, rev) or {}).get("targets", {}).get(first)
        skipped = ((old or {}).get("profile") or {}).get("skipped")
        if skipped:
            raise UsageError(f"mldata.lock at {rev} keeps no profile of {first!r}: {skipped}",
                             hint="profile it (`profile: true`, the default, or a list of columns), build and commit;"
                                  " or compare two paths: mldata drift A B")
        if not old or not old.get("profile") or "columns" not in old["profile"]:
            raise UsageError(f"mldata.lock at {rev} has no profile of {first!r}",
                             hint="commit a build of it first, or compare two paths: mldata drift A B")
        baseline, current = old["profile"], resolve_data(first, project)
        title = f"drift of {first}: now vs {rev}"
    else:
        if rev is not None:
            raise UsageError("--against compares a target with its committed profile; not with two paths")
        base_ref = resolve_data(first, project)
        current = resolve_data(second, project)
        baseline = compact_of(base_ref)
        target = second if project is not None and second in project.spec.targets else None
        title = f"drift of {second} against {first}"
    spec = project.spec if project is not None else None
    config = drift_config(spec_defaults=spec.defaults if spec else None, user_defaults=spec.user_defaults if spec else None,
                          target_drift=spec.targets[target].drift if spec and target else None)
    results = compute(baseline, current, config)
    if html_file is not None:
        html_file.write_text(reports.drift_html(title, results))
        click.echo(f"wrote {html_file}")
    if as_json:
        click.echo(json.dumps({"title": title, "columns": {c: r.to_dict() for c, r in results.items()}},
                              indent=2, sort_keys=True))
    elif html_file is None:
        reports.print_drift(title, results)
    failing = sorted(c for c, r in results.items() if r.severity.value == "fail")
    if failing:
        raise BuildError(f"drift fails on {len(failing)} column(s): {', '.join(failing)}")


@cli.group("compression")
def compression_group() -> None:
    """Measure codecs on your own data.

    \b
    Examples:
      mldata compression bench penguins_clean
      mldata compression bench data/big.parquet --codecs zstd:1,zstd:9,lz4,gzip:6 --json
    """


@compression_group.command("bench")
@click.argument("what", shell_complete=_complete_targets)
@click.option("--codecs", help="Comma-separated CODEC[:LEVEL] candidates (default: a standard grid).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "jsonl", "arrow"]), default="parquet",
              show_default=True, help="The output format to measure.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True, help="Runs per codec (median).")
@click.option("--sample-rows", type=click.IntRange(min=1), help="Measure on the first N rows only (stated in the output).")
@click.option("--json", "as_json", is_flag=True, help="Print results and recommendations as JSON.")
@_project_dir_option
@click.pass_context
def compression_bench(ctx: click.Context, what: str, codecs: str | None, fmt: str, repeats: int,
                      sample_rows: int | None, as_json: bool, directory: Path | None) -> None:
    """For each codec and level: size ratio, write MB/s and read MB/s on a target's data or a path,
    with the smallest, fastest-reading and balanced choices.

    \b
    Example:
      mldata compression bench penguins_clean --codecs zstd:1,zstd:9,gzip:6
    """
    import pyarrow.dataset as ds

    from mldata.compression import bench, default_candidates, format_results, parse_candidates, recommend
    from mldata.inspect import resolve_data

    project = _maybe_project(ctx, directory)
    ref = resolve_data(what, project)
    if all(f == "parquet" for _, f in ref.files):
        table = ds.dataset([f for f, _ in ref.files], format="parquet").to_table()
    else:
        from mldata.compression import read_for_bench

        table = read_for_bench(what if ref.target is None else ref.files[0][0])
    if sample_rows is not None and table.num_rows > sample_rows:
        table = table.slice(0, sample_rows)
    candidates = parse_candidates(codecs, fmt) if codecs else default_candidates(fmt)
    results = bench(table, candidates, repeats=repeats, format=fmt)
    picks = recommend(results)
    if as_json:
        click.echo(json.dumps({"source": ref.label, "rows": table.num_rows, "sampled": sample_rows is not None,
                               "results": [r.to_json() for r in results],
                               "recommended": {k: r.label for k, r in picks.items()}}, indent=2, sort_keys=True))
        return
    click.echo(f"{ref.label}" + (f" (first {table.num_rows} rows)" if sample_rows else ""))
    click.echo(format_results(results, picks))
    for name, r in picks.items():
        click.echo(f"{name.replace('_', ' ')}: {r.label}")


# ------------------------------------------------------------------------------------------------
# lock
# ------------------------------------------------------------------------------------------------


@cli.group("lock")
def lock_group() -> None:
    """Repair and merge mldata.lock across git branches.

    \b
    Examples:
      mldata lock resolve                 # after a merge left conflict markers in mldata.lock
      git config merge.mldata.driver "mldata lock merge %O %A %B"
      echo "mldata.lock merge=mldata" >> .gitattributes
    """


@lock_group.command("resolve")
@_project_dir_option
@click.pass_context
def lock_resolve(ctx: click.Context, directory: Path | None) -> None:
    """Rewrite mldata.lock from the entries (of either side of a conflict) that match the project
    and the files on disk; the others are dropped, and `mldata make` rebuilds them (from the
    part cache where it can).

    \b
    Example:
      git merge feature && mldata lock resolve && mldata make
    """
    from mldata import lock as lockfile
    from mldata.lockmerge import resolve

    project = _open(ctx, directory)
    path = project.root / lockfile.LOCK_FILE
    text = path.read_text() if path.exists() else ""
    result = resolve(project, text)
    lockfile.write(project.root, result.lock)
    for name, side in sorted(result.kept.items()):
        click.echo(f"kept     {name} ({side})")
    for name in result.dropped:
        click.echo(f"dropped  {name}: matches neither side; `mldata make` rebuilds it")
    click.echo(f"wrote {lockfile.LOCK_FILE}: {len(result.kept)} kept, {len(result.dropped)} to rebuild")


@lock_group.command("merge")
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("ours", type=click.Path(path_type=Path))
@click.argument("theirs", type=click.Path(path_type=Path))
def lock_merge(base: Path, ours: Path, theirs: Path) -> None:
    """A git merge driver: merge BASE, OURS and THEIRS per target into OURS.

    An entry changed differently on both branches is dropped (the next make rebuilds it).

    \b
    Example (once per clone):
      git config merge.mldata.driver "mldata lock merge %O %A %B"
      echo "mldata.lock merge=mldata" >> .gitattributes
    """
    from mldata.lockmerge import merge_locks

    def read(path: Path) -> str:
        return path.read_text() if path.exists() else ""

    result = merge_locks(read(base), read(ours), read(theirs))
    ours.write_text(result.lock.to_text())
    for name in result.dropped:
        click.echo(f"mldata.lock: {name} changed on both branches; its entry is dropped and "
                   f"`mldata make` will rebuild it", err=True)


# ------------------------------------------------------------------------------------------------
# config
# ------------------------------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Show and edit settings: where each effective value comes from, and comment-preserving edits.

    \b
    Examples:
      mldata config list
      mldata config get compression
      mldata config set defaults.compression gzip
      mldata config set targets.clean.compression "{codec: zstd, level: 9}"
      mldata config set workers 4 --global        # in the user's config file
      mldata config unset defaults.workers
    """


def _positions(path: Path | None, keys: list[str]) -> str | None:
    """file:line of a dotted key in a YAML file (for `config list`), if it is there."""
    if path is None or not path.is_file():
        return None
    from ruamel.yaml import YAML

    from mldata.config import locate

    doc = YAML(typ="rt").load(path.read_text())
    if not isinstance(doc, dict):
        return None
    where = locate(doc, tuple(keys), path.name if path.name == "mldata.yaml" else str(path))
    return str(where)


@config_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@_project_dir_option
@click.pass_context
def config_list(ctx: click.Context, as_json: bool, directory: Path | None) -> None:
    """Every effective setting, the layer it came from, and where (file:line or variable).

    \b
    Example:
      mldata config list --json
    """
    from mldata.configedit import key_path
    from mldata.settings import all_resolved, display_value

    project = _open(ctx, directory)
    rows = []
    for r in all_resolved(project.spec):
        where = r.where
        if r.layer in ("project", "target"):
            where = _positions(project.root / "mldata.yaml", key_path(r.key)) or where
        elif r.layer == "user" and project.spec.user_config:
            where = _positions(Path(project.spec.user_config), key_path(r.key)) or where
        rows.append({"key": r.key, "value": display_value(r.value), "layer": r.layer, "where": where})
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    kw = max(len(r["key"]) for r in rows)
    vw = max(len(r["value"]) for r in rows)
    for r in rows:
        click.echo(f"{r['key']:<{kw}}  {r['value']:<{vw}}  {r['layer']}" + (f"  ({r['where']})" if r["where"] else ""))


@config_group.command("get")
@click.argument("key")
@_project_dir_option
@click.pass_context
def config_get(ctx: click.Context, key: str, directory: Path | None) -> None:
    """Print the effective value of a setting, or the value at any dotted key of mldata.yaml.

    \b
    Examples:
      mldata config get compression
      mldata config get targets.clean.steps
    """
    from mldata.configedit import get_raw
    from mldata.settings import SETTINGS, display_value, resolve

    project = _open(ctx, directory)
    short = key[len("defaults."):] if key.startswith("defaults.") else key
    if short in SETTINGS:
        click.echo(display_value(resolve(project.spec, short).value))
        return
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "targets" and parts[2] == "compression" and parts[1] in project.spec.targets:
        click.echo(display_value(resolve(project.spec, "compression", target=parts[1]).value))
        return
    try:
        value = get_raw((project.root / "mldata.yaml").read_text(), key)
    except KeyError:
        raise UsageError(f"{key} is not set in mldata.yaml",
                         hint=f"settings: {', '.join(SETTINGS)}; or a dotted path such as targets.NAME.steps") from None
    click.echo(value if isinstance(value, str) else json.dumps(value))


def _edit(ctx: click.Context, key: str, value: Any, is_global: bool, directory: Path | None, delete: bool) -> None:
    from mldata import config as configmod
    from mldata.configedit import edit

    if is_global:
        path = configmod.user_config_path()
        edit(path, key, value, delete=delete, validate=lambda text: configmod.parse_user_config(text, str(path)))
    else:
        root = configmod.find_root(_dir(ctx, directory))
        path = root / configmod.CONFIG_FILE
        edit(path, key, value, delete=delete, validate=lambda text: configmod.parse(text, root=root) and None)
    click.echo(f"{'unset' if delete else 'set'} {key}{'' if delete else ' = ' + json.dumps(value, default=str)} in {path}")


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--global", "is_global", is_flag=True, help="Edit the user's config file instead of mldata.yaml.")
@_project_dir_option
@click.pass_context
def config_set(ctx: click.Context, key: str, value: str, is_global: bool, directory: Path | None) -> None:
    """Set KEY to VALUE (read as YAML), keeping comments and formatting; invalid values change nothing.

    \b
    Examples:
      mldata config set defaults.compression gzip
      mldata config set targets.clean.compression "{codec: zstd, level: 9}"
    """
    from mldata.configedit import parse_value

    parsed = parse_value(value)
    _edit(ctx, key, parsed, is_global, directory, delete=False)


@config_group.command("unset")
@click.argument("key")
@click.option("--global", "is_global", is_flag=True, help="Edit the user's config file instead of mldata.yaml.")
@_project_dir_option
@click.pass_context
def config_unset(ctx: click.Context, key: str, is_global: bool, directory: Path | None) -> None:
    """Remove KEY, keeping comments and formatting.

    \b
    Example:
      mldata config unset defaults.workers
    """
    _edit(ctx, key, None, is_global, directory, delete=True)


# ------------------------------------------------------------------------------------------------
# schema
# ------------------------------------------------------------------------------------------------


@cli.group()
def schema() -> None:
    """Recorded schemas, their versions and changes; a starting pandera schema from data.

    \b
    Examples:
      mldata schema show penguins_clean
      mldata schema infer penguins_clean -o schemas/penguins_clean.yaml
      mldata schema diff penguins_clean --against HEAD~1
      mldata schema log penguins_clean
    """


def _entry(project: Any, target: str) -> dict[str, Any]:
    from mldata import lock as lockfile

    project.graph.select([target])  # a clear error for an unknown name
    entry = lockfile.read(project.root).entry(target)
    if entry is None:
        raise UsageError(f"target {target!r} has not been built yet", hint=f"run `mldata make {target}`")
    return entry


@schema.command("show")
@click.argument("target", shell_complete=_complete_targets)
@click.option("--json", "as_json", is_flag=True, help="Print the schema as JSON.")
@_project_dir_option
@click.pass_context
def schema_show(ctx: click.Context, target: str, as_json: bool, directory: Path | None) -> None:
    """Print the schema recorded in mldata.lock for TARGET (columns, types, version).

    \b
    Example:
      mldata schema show penguins_clean --json
    """
    entry = _entry(_open(ctx, directory), target)
    recorded = entry.get("schema", {})
    if as_json:
        click.echo(json.dumps(recorded, indent=2, sort_keys=True))
        return
    click.echo(f"{target}: schema version {recorded.get('version')}")
    columns = recorded.get("columns", [])
    width = max((len(c["name"]) for c in columns), default=0)
    for c in columns:
        click.echo(f"  {c['name']:<{width}}  {c['type']}{'' if c['nullable'] else '  not null'}")


@schema.command("infer")
@click.argument("target", shell_complete=_complete_targets)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.option("--max-categories", type=click.IntRange(min=0), default=20, show_default=True,
              help="String columns with at most this many values get an isin check.")
@_project_dir_option
@click.pass_context
def schema_infer(ctx: click.Context, target: str, output: Path | None, max_categories: int,
                 directory: Path | None) -> None:
    """Write a starting pandera schema (YAML) that the built data of TARGET passes.

    \b
    Example:
      mldata schema infer penguins_clean -o schemas/penguins_clean.yaml
    """
    import pyarrow.dataset as ds

    from mldata.validate import infer_schema

    project = _open(ctx, directory)
    entry = _entry(project, target)
    files = [str(project.root / rel) for rel in sorted(entry.get("outputs", {}))]
    table = ds.dataset(files, format="parquet").to_table()
    text = infer_schema(table, max_categories=max_categories)
    if output is None:
        click.echo(text, nl=False)
    else:
        path = output if output.is_absolute() else Path.cwd() / output
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        click.echo(f"wrote {output} ({table.num_rows} rows, {table.num_columns} columns); "
                   f"point `schema:` of {target} at it")


@schema.command("diff")
@click.argument("target", shell_complete=_complete_targets)
@click.option("--against", "rev", default="HEAD", show_default=True, help="The git revision to compare with.")
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
@_project_dir_option
@click.pass_context
def schema_diff(ctx: click.Context, target: str, rev: str, as_json: bool, directory: Path | None) -> None:
    """Compare TARGET's schema in the current mldata.lock with the one committed at a git revision.

    \b
    Example:
      mldata schema diff penguins_clean --against HEAD~3
    """
    from mldata.githistory import lock_at
    from mldata.schema import diff_entries

    project = _open(ctx, directory)
    entry = _entry(project, target)
    old_lock = lock_at(project.root, rev) or {}
    old = (old_lock.get("targets", {}).get(target) or {}).get("schema")
    diff = diff_entries(old, entry.get("schema"))
    if as_json:
        data = diff.to_json()
        data.update({"target": target, "against": rev, "old_version": (old or {}).get("version"),
                     "new_version": entry.get("schema", {}).get("version")})
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    if old is None:
        click.echo(f"{target}: not in mldata.lock at {rev}; every column is new")
    versions = f"v{(old or {}).get('version', '-')} ({rev}) -> v{entry.get('schema', {}).get('version')} (now)"
    if not diff.changed:
        click.echo(f"{target}: no schema change, {versions}")
        return
    click.echo(f"{target}: {diff.summary()}, {versions}")
    for line in diff.lines():
        click.echo(f"  {line}")


@schema.command("log")
@click.argument("target", shell_complete=_complete_targets)
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
@_project_dir_option
@click.pass_context
def schema_log(ctx: click.Context, target: str, as_json: bool, directory: Path | None) -> None:
    """List TARGET's schema versions across the git history of mldata.lock, newest first.

    \b
    Example:
      mldata schema log penguins_clean
    """
    from mldata.githistory import schema_log as history

    project = _open(ctx, directory)
    project.graph.select([target])
    entries = history(project.root, target, include_worktree=True)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in entries], indent=2, sort_keys=True))
        return
    if not entries:
        click.echo(f"{target}: no schema recorded in the git history of mldata.lock")
        return
    for e in entries:
        where = f"{e.short} {e.date[:10]} {e.subject}" if e.commit else "(uncommitted)"
        click.echo(f"v{e.version}  {where}")
        for line in e.changes:
            click.echo(f"      {line}")


# ------------------------------------------------------------------------------------------------
# entry point: the one place errors become exit statuses
# ------------------------------------------------------------------------------------------------


def _apply_context_settings(command: click.Command) -> None:
    """Give every command the group's context settings (-h as well as --help, the width), so a
    command's help reads the same however its context is made (docs, tests, completion)."""
    command.context_settings = {**cli.context_settings, **command.context_settings}
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _apply_context_settings(sub)


_apply_context_settings(cli)


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and exit with) the process exit status."""
    import signal
    import threading

    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM stops a build as Ctrl+C does: cleanly, with exit status 130.
        previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        code = _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if argv is None:
        _exit(code)
    return code


def _exit(code: int) -> NoReturn:
    """Exit the process, sparing the interpreter's final garbage collections.

    At exit Python collects every tracked object, and pydantic's validators (built on a first
    build, when the configuration is not cached) make that 65 ms. gc.freeze() takes the objects
    out of the collector's reach; they are still released by reference counting, and atexit
    handlers and stream flushes still run (unlike os._exit).
    """
    import gc

    gc.freeze()
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="mldata", standalone_mode=False)
        code = 0
    except MldataError as exc:
        _print_error(exc)
        code = exc.exit_status
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = 2
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        code = 130
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    return code


def _print_error(exc: MldataError) -> None:
    click.echo(f"error: {exc}", err=True)
    if exc.hint:
        click.echo(f"  hint: {exc.hint}", err=True)
