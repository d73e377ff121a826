"""`mldata make` on temporary projects: outputs, lockfile, incrementality, failures."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import BASIC_CONFIG, ProjectDir, csv_rows, dictionary_columns


def _parts(project: ProjectDir, target: str) -> dict[str, tuple[int, int]]:
    """Output files of a target with (inode, mtime_ns): a rewrite changes one of them."""
    folder = project.root / "build" / target
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.parquet"))}


def test_given_a_fresh_project_make_builds_parts_and_a_lock(basic: ProjectDir) -> None:
    r = basic.run("make")
    assert r.code == 0, r.err
    assert sorted(_parts(basic, "clean")) == ["part0.parquet", "part1.parquet", "part2.parquet"]
    table = basic.read("build/clean")
    assert table.num_rows == sum(1 for f in range(3) for i in range(f * 100, f * 100 + 20) if i % 7 != 3)
    assert "double" in table.column_names
    top = basic.read("build/top")
    assert top.column("id").to_pylist() == sorted(top.column("id").to_pylist(), reverse=True)
    lock = json.loads(basic.lock_text())
    entry = lock["targets"]["clean"]
    for key in ("fingerprint", "inputs", "outputs", "data_hash", "rows", "schema", "code", "recipe", "encoding"):
        assert key in entry
    assert set(entry["inputs"]) == {"data/part0.csv", "data/part1.csv", "data/part2.csv"}
    assert entry["schema"]["version"] == 1
    assert {c["name"] for c in entry["schema"]["columns"]} == {"id", "group", "value", "label", "double"}
    assert lock["targets"]["top"]["upstream"] == {"clean": entry["data_hash"]}
    out = next(iter(entry["outputs"].values()))
    assert set(out) >= {"hash", "bytes", "rows", "data", "input"}


def test_given_no_change_a_second_make_runs_nothing_and_keeps_the_lock_identical(basic: ProjectDir) -> None:
    assert basic.run("make").code == 0
    lock1 = basic.lock_text()
    parts1 = _parts(basic, "clean")
    r = basic.run("make")
    assert r.code == 0
    assert "nothing to do" in r.out
    assert basic.lock_text() == lock1
    assert _parts(basic, "clean") == parts1


def test_given_one_changed_file_only_its_part_is_rewritten(basic: ProjectDir) -> None:
    basic.run("make")
    before = _parts(basic, "clean")
    basic.write("data/part1.csv", csv_rows(25, start=100))
    plan = basic.run("plan")
    assert "partial: 1 of 3 parts" in plan.out
    assert "1 changed (data/part1.csv)" in plan.out
    r = basic.run("make")
    assert r.code == 0, r.err
    after = _parts(basic, "clean")
    assert after["part0.parquet"] == before["part0.parquet"]
    assert after["part2.parquet"] == before["part2.parquet"]
    assert after["part1.parquet"] != before["part1.parquet"]
    assert pq.read_table(basic.root / "build/clean/part1.parquet").num_rows == sum(
        1 for i in range(100, 125) if i % 7 != 3
    )


def test_given_a_touch_without_content_change_nothing_is_rebuilt(basic: ProjectDir) -> None:
    basic.run("make")
    lock = basic.lock_text()
    before = _parts(basic, "clean")
    path = basic.root / "data/part0.csv"
    future = time.time() + 10
    os.utime(path, (future, future))
    r = basic.run("make")
    assert "nothing to do" in r.out
    assert _parts(basic, "clean") == before
    assert basic.lock_text() == lock


def test_given_added_and_deleted_files_parts_follow(basic: ProjectDir) -> None:
    basic.run("make")
    basic.write("data/part9.csv", csv_rows(5, start=900))
    (basic.root / "data/part0.csv").unlink()
    plan = basic.run("plan")
    assert "1 added (data/part9.csv)" in plan.out and "1 removed (data/part0.csv)" in plan.out
    assert basic.run("make").code == 0
    assert sorted(_parts(basic, "clean")) == ["part1.parquet", "part2.parquet", "part9.parquet"]
    assert set(json.loads(basic.lock_text())["targets"]["clean"]["inputs"]) == {"data/part1.csv", "data/part2.csv", "data/part9.csv"}


def test_given_the_same_project_in_another_folder_the_lock_is_byte_identical(basic: ProjectDir, tmp_path: Path, capsys) -> None:
    basic.run("make")
    other = ProjectDir(tmp_path / "elsewhere" / "copy", capsys)
    shutil.copytree(basic.root, other.root, ignore=shutil.ignore_patterns("build", ".mldata", "mldata.lock"))
    assert other.run("make").code == 0
    assert other.lock_text() == basic.lock_text()


def test_given_a_compression_change_only_that_target_is_rewritten(basic: ProjectDir) -> None:
    basic.run("make")
    lock_before = json.loads(basic.lock_text())
    basic.config(BASIC_CONFIG.replace("  clean:\n    from: raw\n", "  clean:\n    from: raw\n    compression: gzip:6\n"))
    plan = basic.run("plan")
    assert "compression changed: zstd -> gzip:6" in plan.out
    r = basic.run("make")
    assert r.code == 0, r.err
    lock_after = json.loads(basic.lock_text())
    assert lock_after["targets"]["clean"]["data_hash"] == lock_before["targets"]["clean"]["data_hash"]
    assert lock_after["targets"]["top"] == lock_before["targets"]["top"]
    assert "top: upstream rebuilt with unchanged data" in r.out
    meta = pq.ParquetFile(basic.root / "build/clean/part0.parquet").metadata
    assert meta.row_group(0).column(0).compression == "GZIP"


def test_given_a_run_compression_flag_it_applies_to_that_run(basic: ProjectDir) -> None:
    basic.run("make")
    assert basic.run("make", "--compression", "snappy").code == 0
    meta = pq.ParquetFile(basic.root / "build/top/data.parquet").metadata
    assert meta.row_group(0).column(0).compression == "SNAPPY"
    bad = basic.run("make", "--compression", "gzip:42")
    assert bad.code == 2 and "1..9" in bad.err


def test_given_a_filter_change_that_keeps_data_dependents_are_cut_off(basic: ProjectDir) -> None:
    basic.run("make")
    # value is never negative: adding "and value >= 0" changes the recipe, not the data
    basic.config(BASIC_CONFIG.replace('"value is not null"', '"value is not null and value >= 0"'))
    plan = basic.run("plan")
    assert "config changed: steps[0].filter" in plan.out
    r = basic.run("make")
    assert r.code == 0
    assert "built    clean" in r.out
    assert "top: upstream rebuilt with unchanged data" in r.out


def test_given_a_deleted_or_modified_output_it_is_rebuilt(basic: ProjectDir) -> None:
    basic.run("make")
    good = (basic.root / "build/top/data.parquet").read_bytes()
    (basic.root / "build/top/data.parquet").unlink()
    plan = basic.run("plan")
    assert "output missing: build/top/data.parquet" in plan.out
    basic.run("make")
    assert (basic.root / "build/top/data.parquet").read_bytes() == good
    part = basic.root / "build/clean/part2.parquet"
    os.chmod(part, 0o644)
    part.write_bytes(b"garbage")
    plan = basic.run("plan")
    assert "output modified: build/clean/part2.parquet" in plan.out
    assert "partial: 1 of 3 parts" in plan.out
    assert basic.run("make").code == 0
    assert pq.read_table(part).num_rows > 0


def test_given_a_file_that_returns_to_old_content_its_part_comes_from_the_cache(basic: ProjectDir) -> None:
    from mldata import api
    from mldata.events import ListReporter, TargetStarted

    basic.run("make")
    original = (basic.root / "data/part1.csv").read_text()
    basic.write("data/part1.csv", csv_rows(3, start=500))
    basic.run("make")
    basic.write("data/part1.csv", original)
    reporter = ListReporter()
    project = api.open_project(basic.root)
    api.make(project, [], api.MakeOptions(executor="inline"), reporter)
    started = [e for e in reporter.events if isinstance(e, TargetStarted) and e.target == "clean"]
    assert started and started[0].parts_to_compute == 0


def test_given_parts_seen_before_their_merged_profile_comes_from_the_cache(basic: ProjectDir, monkeypatch) -> None:
    from mldata import cache
    from mldata.stats import partial

    assert basic.run("make").code == 0
    first_lock = basic.lock_text()
    original = (basic.root / "data/part1.csv").read_text()
    basic.write("data/part1.csv", csv_rows(3, start=500))
    assert basic.run("make").code == 0
    basic.write("data/part1.csv", original)  # back to the first build's data: no merge needed

    merge = partial.merge_profiles

    def no_merge(parts, *args, **kwargs):
        if len(parts) > 1:  # `clean`'s parts; `top` (a global step) profiles its one table anew
            raise AssertionError("merged again")
        return merge(parts, *args, **kwargs)

    monkeypatch.setattr(partial, "merge_profiles", no_merge)
    assert basic.run("make").code == 0
    assert basic.lock_text() == first_lock
    monkeypatch.undo()
    for path in (basic.root / ".mldata/cache/profiles").glob("*.profile"):
        path.write_text("{damaged")  # a damaged entry is merged again, with the same result
    basic.write("data/part1.csv", csv_rows(3, start=500))
    assert basic.run("make").code == 0
    basic.write("data/part1.csv", original)
    assert basic.run("make").code == 0 and basic.lock_text() == first_lock
    monkeypatch.setattr(cache, "PROFILES_KEPT", 1)
    basic.write("data/part1.csv", csv_rows(4, start=600))
    assert basic.run("make").code == 0
    assert len(list((basic.root / ".mldata/cache/profiles").glob("*.profile"))) == 1  # the newest only


def test_given_a_malformed_csv_row_the_build_fails_naming_file_and_line_and_keeps_the_rest(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          good: {path: data/good.csv}
          bad: {path: data/bad.csv}
        targets:
          g: {from: good}
          b: {from: bad}
        """)
    project.write("data/good.csv", csv_rows(5))
    project.write("data/bad.csv", csv_rows(5))
    assert project.run("make").code == 0
    lock_before = json.loads(project.lock_text())
    b_bytes = (project.root / "build/b/bad.parquet").read_bytes()
    project.write("data/bad.csv", csv_rows(3) + "99,a,1.0,yes,EXTRA\n")
    project.write("data/good.csv", csv_rows(6))
    r = project.run("make")
    assert r.code == 1
    assert "data/bad.csv:5" in r.err
    lock_after = json.loads(project.lock_text())
    assert lock_after["targets"]["b"] == lock_before["targets"]["b"]
    assert lock_after["targets"]["g"]["rows"] == 6
    assert (project.root / "build/b/bad.parquet").read_bytes() == b_bytes
    assert not list((project.root / "build").rglob(".tmp-*"))


def test_given_a_failing_upstream_its_dependents_are_skipped_and_named(basic: ProjectDir) -> None:
    basic.run("make")
    basic.config(BASIC_CONFIG.replace('"value is not null"', '"no_such_column > 1"'))
    r = basic.run("make")
    assert r.code == 1
    assert "no_such_column" in r.err and "value" in r.err  # lists the available columns
    assert "top: upstream clean failed" in r.err


def test_given_a_python_target_its_code_and_local_imports_are_fingerprinted(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          raw: {path: data/*.csv}
        targets:
          feat:
            from: raw
            python: pipes.feat:build
            params: {factor: 3}
        """)
    project.write("data/a.csv", csv_rows(4))
    project.write("pipes/__init__.py", "")
    project.write("pipes/helpers.py", "import pyarrow.compute as pc\n\ndef scale(x, f):\n    return pc.multiply(x, f)\n")
    project.write(
        "pipes/feat.py",
        "import pyarrow.compute as pc\nfrom .helpers import scale\n\n"
        "def build(table, factor):\n    return table.append_column('scaled', scale(table['id'], factor))\n",
    )
    r = project.run("make")
    assert r.code == 0, r.err
    assert project.read("build/feat").column("scaled").to_pylist() == [0, 3, 6, 9]
    code = json.loads(project.lock_text())["targets"]["feat"]["code"]
    assert set(code) == {"pipes/__init__.py", "pipes/feat.py", "pipes/helpers.py"}
    project.write("pipes/helpers.py", "def scale(x, f):\n    import pyarrow.compute as pc\n    return pc.multiply(x, f + 1)\n")
    plan = project.run("plan")
    assert "code changed: pipes/helpers.py" in plan.out
    assert project.run("make").code == 0
    assert project.read("build/feat").column("scaled").to_pylist() == [0, 4, 8, 12]


def test_given_a_python_function_that_raises_the_target_fails_cleanly(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          feat: {from: raw, python: "pipes:boom"}
        """)
    project.write("data/a.csv", csv_rows(4))
    project.write("pipes.py", "def boom(table):\n    raise ValueError('bad things')\n")
    r = project.run("make")
    assert r.code == 1
    assert "ValueError: bad things" in r.err


def test_given_the_process_executor_outputs_and_lock_match_inline(basic: ProjectDir, tmp_path: Path, capsys) -> None:
    assert basic.run("make", "--executor", "process", "-j", "2").code == 0
    other = ProjectDir(tmp_path / "inline", capsys)
    shutil.copytree(basic.root, other.root, ignore=shutil.ignore_patterns("build", ".mldata", "mldata.lock"))
    assert other.run("make").code == 0
    assert other.lock_text() == basic.lock_text()


def test_given_a_mixed_schema_across_files_parts_are_unified(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          raw: {path: data/*.csv}
        targets:
          t: {from: raw}
        """)
    project.write("data/a.csv", "id,x\n1,2\n2,3\n")
    project.write("data/b.csv", "id,x\n3,\n4,\n")  # x is all null: typed null by the reader
    project.write("data/c.csv", "id,x\n5,1.5\n")  # x is a float here
    r = project.run("make")
    assert r.code == 0, r.err
    table = project.read("build/t")
    assert table.schema.field("x").type == "double"
    assert table.num_rows == 5


def test_given_a_cache_bound_unused_parts_are_pruned_oldest_first(basic: ProjectDir, monkeypatch) -> None:
    basic.run("make")
    for i in range(3):
        basic.write("data/part1.csv", csv_rows(10 + i, start=100))
        basic.run("make")
    parts = list((basic.root / ".mldata/cache/parts").glob("*.parquet"))
    unused = [p for p in parts if p.stat().st_nlink == 1 and "lz4" not in p.name]
    assert unused  # older versions of part1 (and intermediate parts) stay cached...
    monkeypatch.setenv("MLDATA_CACHE_MAX_BYTES", "0")
    basic.write("data/part1.csv", csv_rows(30, start=100))
    assert basic.run("make").code == 0
    left = list((basic.root / ".mldata/cache/parts").glob("*.parquet"))
    assert all(p.stat().st_nlink > 1 for p in left)  # ...until the bound prunes all unused ones
    assert basic.run("make").code == 0 and "nothing to do" in basic.run("make").out


def test_leftover_temporaries_and_the_old_fan_out_cache_layout_are_cleared(basic: ProjectDir) -> None:
    assert basic.run("make").code == 0
    lock = basic.lock_text()
    cache = basic.root / ".mldata/cache/parts"
    leftover = cache / ".tmp-0123456789ab-deadbeef.meta"  # a sidecar write killed half-way
    leftover.write_bytes(b"MLDBLOB1")
    legacy = cache / "ab"  # mldata 0.1 kept parts in two-character folders
    legacy.mkdir()
    (legacy / "ab00.parquet").write_bytes(b"old")
    (legacy / "ab00.json").write_text("{}")
    basic.write("data/part1.csv", csv_rows(21, start=100))
    assert basic.run("make").code == 0
    assert not leftover.exists() and not legacy.exists()
    basic.write("data/part1.csv", csv_rows(20, start=100))
    assert basic.run("make").code == 0 and basic.lock_text() == lock


def test_clean_removes_outputs_and_the_next_make_restores_them_from_cache(basic: ProjectDir) -> None:
    basic.run("make")
    lock = basic.lock_text()
    r = basic.run("clean")
    assert r.code == 0 and "build/clean" in r.out
    assert not (basic.root / "build/clean").exists()
    assert "output missing" in basic.run("plan").out
    assert basic.run("make").code == 0
    assert basic.lock_text() == lock
    basic.run("clean", "--cache")
    assert not (basic.root / ".mldata/cache").exists()


def test_after_a_cache_clean_a_partial_build_puts_the_kept_parts_back_in_the_cache(basic: ProjectDir) -> None:
    assert basic.run("make").code == 0
    basic.run("clean", "--cache")
    basic.write("data/part1.csv", csv_rows(21, start=100))
    assert basic.run("make").code == 0
    cache = basic.root / ".mldata/cache/parts"
    outputs = sorted((basic.root / "build/clean").glob("*.parquet"))
    linked = [p for p in outputs if p.stat().st_nlink > 1]
    assert len(linked) == 3  # the two kept parts were linked back, the rebuilt one was cached anyway
    sidecars = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.meta")}
    assert len(sidecars) >= 3
    basic.write("data/part2.csv", csv_rows(22, start=200))
    assert basic.run("make").code == 0
    after = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.meta")}
    assert sum(1 for name, t in sidecars.items() if after.get(name) == t) >= 2  # loaded, not rewritten
    lock = basic.lock_text()
    shutil.rmtree(basic.root / ".mldata")
    shutil.rmtree(basic.root / "build")
    (basic.root / "mldata.lock").unlink()
    assert basic.run("make").code == 0 and basic.lock_text() == lock


def test_given_the_process_executor_worker_phases_reach_the_reporter(basic: ProjectDir) -> None:
    from mldata import api
    from mldata.events import ListReporter, WorkerPhase

    reporter = ListReporter()
    api.make(api.open_project(basic.root), [], api.MakeOptions(executor="process", jobs=2), reporter)
    phases = [e for e in reporter.events if isinstance(e, WorkerPhase)]
    assert {"reading", "hashing", "done", "linking", "reading_parts", "transforming", "writing"} <= {e.phase for e in phases}
    assert all(e.worker != os.getpid() for e in phases)
    assert {e.unit for e in phases if e.phase == "reading" and e.target == "clean"} == {
        "data/part0.csv", "data/part1.csv", "data/part2.csv"}


class _NoPhases:
    """A reporter that shows no worker phases (as the plain line output without -v): it records
    whatever reaches it, to check the workers sent none."""

    worker_phases = False

    def __init__(self) -> None:
        self.events: list = []

    def emit(self, event) -> None:
        self.events.append(event)


@pytest.mark.parametrize("prestarted", [False, True])
def test_workers_send_no_phases_to_a_reporter_that_does_not_show_them(basic: ProjectDir, prestarted: bool) -> None:
    from mldata import api
    from mldata.events import TargetFinished, WorkerPhase

    pool = api.prestart(basic.root, jobs=2) if prestarted else None  # started with no reporter known
    assert (pool is not None) == prestarted
    reporter = _NoPhases()
    result = api.make(api.open_project(basic.root), [], api.MakeOptions(executor="process", jobs=2), reporter,
                      prestarted=pool)
    assert not result.failed
    assert not [e for e in reporter.events if isinstance(e, WorkerPhase)]
    assert [e for e in reporter.events if isinstance(e, TargetFinished)]  # the build's own events still come


def test_the_line_reporter_wants_worker_phases_only_when_verbose() -> None:
    from mldata.cli.render import LineReporter
    from mldata.events import ListReporter, NullReporter, wants_worker_phases

    assert wants_worker_phases(LineReporter(verbose=True))
    assert not wants_worker_phases(LineReporter())
    assert not wants_worker_phases(LineReporter(quiet=True, verbose=True))
    assert not wants_worker_phases(NullReporter())
    assert wants_worker_phases(ListReporter())

def test_the_live_display_renders_progress_and_failures(basic: ProjectDir) -> None:
    from rich.console import Console

    from mldata import api
    from mldata.cli.render import RichReporter

    reporter = RichReporter(Console(record=True, width=100, force_terminal=True))
    basic.config(BASIC_CONFIG.replace('"value is not null"', '"nope > 1"').replace("  top:", "  other:\n    from: raw\n  top:"))
    api.make(api.open_project(basic.root), [], api.MakeOptions(executor="inline"), reporter)
    reporter.close()
    text = reporter.console.export_text()
    assert "FAILED clean" in text and "nope" in text
    assert "built other" in text


def test_the_lock_profile_equals_a_profile_of_the_whole_target_after_partial_rebuilds(basic: ProjectDir) -> None:
    import pyarrow.dataset as ds

    from mldata.stats.profile import compact_profile, profile_batches

    def expected(target: str) -> dict:
        files = sorted(str(p) for p in (basic.root / "build" / target).glob("*.parquet"))
        table = ds.dataset(files, format="parquet").to_table()
        return compact_profile(profile_batches(table.schema, table.to_batches()))

    basic.run("make")
    basic.write("data/part1.csv", csv_rows(30, start=100))
    basic.run("make")
    basic.run("clean", "--cache")  # partial profiles gone: recomputed from the outputs
    basic.write("data/part2.csv", csv_rows(9, start=200))
    assert basic.run("make").code == 0
    lock = json.loads(basic.lock_text())
    for target in ("clean", "top"):
        assert json.dumps(lock["targets"][target]["profile"], sort_keys=True) == json.dumps(expected(target), sort_keys=True)
    assert lock["targets"]["clean"]["profile"]["columns"]["value"]["drift_summary"]["points"]


def test_derive_runs_in_declared_order_also_from_the_config_cache(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          raw: {path: data/*.csv}
        targets:
          t:
            from: raw
            steps:
              - derive: {z: "id * 2", y: "z + 1"}
        """)
    project.write("data/a.csv", csv_rows(3))
    assert project.run("make").code == 0
    assert project.run("make", "--force").code == 0  # the spec now comes from .mldata's cache
    assert project.read("build/t").column("y").to_pylist() == [1, 3, 5]


def test_a_rebuild_imports_neither_pandas_nor_scipy(basic: ProjectDir) -> None:
    """pandas and scipy cost about 1.5 s of imports (scipy.special alone 0.3 s, for the drift
    gate's p-values): the build path, drift gate included, must not need them."""
    basic.run("make")
    # more rows than writers.DICTIONARY_SAMPLE_ROWS, so that dictionary: auto samples the part
    basic.write("data/part1.csv", csv_rows(600, start=100))
    _make_without_importing(basic.root, ["-j", "1", "-q"], ("pandas", "scipy", "pyarrow.dataset", "pandera"))


def _make_without_importing(root: Path, args: list[str], modules: tuple[str, ...]) -> str:
    """Run `mldata make ARGS` in a fresh interpreter; check that it imported none of ``modules``
    and that the drift gate ran (it imports mldata.stats.drift); return what it printed."""
    import subprocess
    import sys

    code = (
        "import sys; from mldata.cli import main; code = main(['-C', sys.argv[1], 'make', *sys.argv[2:]]);"
        f"loaded = [m for m in {modules!r} if m in sys.modules];"
        "gated = 'mldata.stats.drift' in sys.modules;"
        "print(loaded, gated); sys.exit(code or (1 if loaded or not gated else 0))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(root), *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_a_rebuild_from_cached_parts_imports_no_pyarrow(project: ProjectDir) -> None:
    """Reverting a file: its part and the merged profile come from the cache, the drift gate
    compares two stored profiles; none of it needs pyarrow (0.3 s of imports) or numpy (0.1 s)
    in the build."""
    project.config(BASIC_CONFIG.split("  top:")[0])  # the partitioned target alone: finished inline
    for i in range(3):
        project.write(f"data/part{i}.csv", csv_rows(20, start=i * 100))
    original = (project.root / "data/part1.csv").read_text()
    assert project.run("make").code == 0
    first = json.loads(project.lock_text())["targets"]["clean"]
    project.write("data/part1.csv", csv_rows(25, start=100))
    assert project.run("make").code == 0
    project.write("data/part1.csv", original)
    out = _make_without_importing(project.root, [], ("pyarrow", "numpy", "mldata.stats.profile",
                                                     "mldata.stats.partial"))
    assert "1 partial" in out
    reverted = json.loads(project.lock_text())["targets"]["clean"]
    assert reverted["profile"] == first["profile"] and reverted["data_hash"] == first["data_hash"]


def test_given_a_part_above_the_profile_row_limit_the_profile_is_left_out_with_the_reason(basic: ProjectDir,
                                                                                           monkeypatch) -> None:
    monkeypatch.setenv("MLDATA_PROFILE_MAX_ROWS", "10")
    assert basic.run("make").code == 0
    profile = json.loads(basic.lock_text())["targets"]["clean"]["profile"]
    assert "MLDATA_PROFILE_MAX_ROWS" in profile["skipped"]
    basic.write("data/part1.csv", csv_rows(22, start=100))
    assert basic.run("make").code == 0  # no drift gate against a skipped profile, no failure
    r = basic.run("drift", "clean")
    assert r.code == 2


def test_given_parquet_options_on_a_partitioned_target_its_part_files_follow_them(basic: ProjectDir) -> None:
    part = basic.root / "build/clean/part0.parquet"
    assert basic.run("make").code == 0
    # dictionary: auto (the default) encodes the columns that repeat their values
    assert dictionary_columns(part) == ["group", "label"]
    basic.config(BASIC_CONFIG.replace("  clean:\n    from: raw\n", "  clean:\n    from: raw\n    dictionary: auto\n"))
    assert basic.run("make").out.startswith("nothing to do")  # saying the default changes nothing
    basic.config(BASIC_CONFIG.replace("  clean:\n    from: raw\n",
                                      "  clean:\n    from: raw\n    dictionary: false\n    row_group_size: 5\n"))
    assert "clean" in basic.run("plan").out
    r = basic.run("make")
    assert r.code == 0, r.err
    meta = pq.ParquetFile(part).metadata
    assert dictionary_columns(part) == [] and meta.row_group(0).num_rows == 5
    basic.config(BASIC_CONFIG.replace("  clean:\n    from: raw\n", "  clean:\n    from: raw\n    dictionary: [id]\n"))
    assert basic.run("make").code == 0
    assert dictionary_columns(part) == ["id"]
    assert basic.run("make").out.startswith("nothing to do")
    # the global-step target downstream is one file, written with its own options
    top = dictionary_columns(basic.root / "build/top/data.parquet")
    assert "id" not in top and {"group", "label"} <= set(top)


def test_given_mixed_schemas_the_conformed_parts_keep_the_targets_parquet_options(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          raw: {path: data/*.csv}
        targets:
          t: {from: raw, dictionary: [x]}
        """)
    project.write("data/a.csv", "id,x\n1,2\n2,3\n")
    project.write("data/b.csv", "id,x\n3,\n4,\n")  # x all null: cast to the unified double, rewritten
    assert project.run("make").code == 0
    assert dictionary_columns(project.root / "build/t/b.parquet") == ["x"]
    assert dictionary_columns(project.root / "build/t/a.parquet") == ["x"]
