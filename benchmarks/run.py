"""The mldata benchmark harness: SPEC §10 figures and ratios, measured in one run.

Every timed figure is the wall-clock time of a whole process (``subprocess`` + ``os.wait4``,
timed with ``time.perf_counter``), so Python start-up and imports count, as they do for a user.
Compared variants run alternately (the order rotates every repeat) and each figure is the
median of its repeats, so a burst of background load hits all variants alike. Nothing here is
asserted: the harness prints a table with the SPEC §10 target of each figure and OK / MISS.

    python benchmarks/run.py                 # the reference workload (200 files, ~100 MB)
    python benchmarks/run.py --quick         # a small smoke run (20 files)
    python benchmarks/run.py --json out.json --repeats 5

See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workload  # noqa: E402

RACY_WAIT = 2.2  # seconds: mldata's stat cache does not trust mtimes younger than 2 s
CHANGED_FILE_INDEX = 100  # the file "changed" by the one-file rebuild benchmark
BIG_RSS_TARGET_MB = 500.0  # "a few hundred MB" (SPEC §10) for a 1 GB CSV through row-local steps
# issue 7's goals: profile 100 MB at least as fast as polars (0.84 s on the reference machine),
# at most 1.5 GiB at 10x, drift of two builds within 1.5 s
PROFILE_TARGET_S = 0.84
PROFILE_BIG_RSS_MB = 1536.0
DRIFT_TARGET_S = 1.5


# ------------------------------------------------------------------------------------------------
# running and timing processes
# ------------------------------------------------------------------------------------------------


@dataclass
class Proc:
    """One finished process: wall seconds, CPU seconds (user+sys, with its children), peak RSS."""

    wall: float
    cpu: float
    maxrss_mb: float  # the largest single process of its tree (wait4's ru_maxrss; see _RSS_LAUNCHER)
    returncode: int
    output: str
    tree_peak_mb: float | None = None  # sampled peak of the summed PSS of the whole process tree


#: The environment of every measured process (see configure_env).
ENV: dict[str, str] = dict(os.environ)


def configure_env(pycache: Path | None) -> None:
    """Measure what a user sees: Python may write and reuse .pyc files.

    With PYTHONDONTWRITEBYTECODE set (as in some sandboxes and CI images), every changed module
    is compiled from source on every run, which adds tens of milliseconds to each no-op. The
    harness unsets it and keeps the .pyc files under ``pycache`` (PYTHONPYCACHEPREFIX), so it
    writes nothing into the source tree.
    """
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    if pycache is not None:
        ENV["PYTHONPYCACHEPREFIX"] = str(pycache)
    ENV.setdefault("NO_COLOR", "1")


#: Runs argv[2:] and writes its peak RSS (KB, from wait4) to the file argv[1]. A freshly exec'd
#: launcher is needed because Linux keeps a process's RSS high-water mark across fork and exec:
#: a command forked straight from this harness (which may hold hundreds of MB) would report the
#: harness's own peak as its ru_maxrss.
_RSS_LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_proc(cmd: list[str], *, cwd: str | None = None, sample_tree: bool = False, timeout: float = 900,
             check: bool = True) -> Proc:
    """Run a command to completion, timing it.

    With ``sample_tree``, also measure memory: the command runs under a small launcher that reports
    its true peak RSS, and a thread samples the summed PSS of its process tree.
    """
    rss_file = None
    if sample_tree:
        fd, rss_file = tempfile.mkstemp(prefix="mldata-bench-rss-")
        os.close(fd)
        cmd = [sys.executable, "-c", _RSS_LAUNCHER, rss_file, *cmd]
    try:
        result = _run_proc(cmd, cwd=cwd, sample_tree=sample_tree, timeout=timeout)
        if rss_file:
            with open(rss_file) as fh:
                text = fh.read().strip()
            if text:
                result.maxrss_mb = int(text) / 1024
    finally:
        if rss_file:
            os.unlink(rss_file)
    if check and result.returncode != 0:
        raise RuntimeError(f"command failed ({result.returncode}): {' '.join(cmd)}\n{result.output[-3000:]}")
    return result


def _run_proc(cmd: list[str], *, cwd: str | None, sample_tree: bool, timeout: float) -> Proc:
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=ENV)
        sampler = _TreeSampler(p.pid) if sample_tree else None
        if sampler:
            sampler.start()
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                break
            # Busy-ish wait with a short sleep: the harness must not add much to short timings.
            time.sleep(0.0005)
        wall = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        if sampler:
            sampler.stop()
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    # ru_maxrss is only meaningful through the launcher (see _RSS_LAUNCHER); run_proc replaces it.
    return Proc(wall=wall, cpu=usage.ru_utime + usage.ru_stime, maxrss_mb=usage.ru_maxrss / 1024,
                returncode=p.returncode, output=text, tree_peak_mb=sampler.peak_mb if sampler else None)


class _TreeSampler(threading.Thread):
    """Polls /proc every 50 ms and records the peak of the summed PSS of a process and its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                total = sum(_pss_kb(p) for p in _descendants(self.pid))
                self.peak_mb = max(self.peak_mb, total / 1024)
            except OSError:
                pass
            self._halt.wait(0.05)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ------------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------------


@dataclass
class Series:
    """Repeated measurements of one figure."""

    key: str
    label: str
    unit: str = "s"
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)  # for non-time figures (GB/s, MB)
    notes: list[str] = field(default_factory=list)

    def add(self, p: Proc) -> Proc:
        self.walls.append(p.wall)
        self.cpus.append(p.cpu)
        return p

    @property
    def median(self) -> float:
        data = self.walls if self.unit == "s" else self.values
        return statistics.median(data) if data else float("nan")

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "unit": self.unit, "median": _r(self.median),
                "cpu_median": _r(self.cpu_median) if self.cpu_median is not None else None,
                "samples": [_r(x) for x in (self.walls if self.unit == "s" else self.values)],
                "cpu_samples": [_r(x) for x in self.cpus], "notes": self.notes}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@dataclass
class Row:
    section: str
    label: str
    value: str
    cpu: str = ""
    target: str = ""
    status: str = ""  # OK, MISS, or "" (information)


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.python = sys.executable
        self.mldata = args.mldata or self._find_mldata()
        self.series: dict[str, Series] = {}
        self.ratios: dict[str, dict[str, Any]] = {}
        self.extra: dict[str, Any] = {}
        self.started = time.perf_counter()

    def _find_mldata(self) -> str:
        beside = Path(self.python).with_name("mldata")
        if beside.exists():
            return str(beside)
        found = shutil.which("mldata")
        if not found:
            raise SystemExit("cannot find the mldata command: pass --mldata PATH")
        return found

    def s(self, key: str, label: str, unit: str = "s") -> Series:
        if key not in self.series:
            self.series[key] = Series(key, label, unit)
        return self.series[key]

    def log(self, msg: str) -> None:
        if not self.args.quiet_progress:
            print(f"[{time.perf_counter() - self.started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    # --- commands ---------------------------------------------------------------------------------

    def make(self, project: Path, *extra: str, **kw: Any) -> Proc:
        return run_proc([self.mldata, "make", "-C", str(project), *extra], **kw)

    def plan(self, project: Path) -> Proc:
        return run_proc([self.mldata, "plan", "-C", str(project)])

    def plain(self, project: Path, out: Path, jobs: int, *extra: str, **kw: Any) -> Proc:
        return run_proc([self.python, str(HERE / "plain.py"), str(project), str(out), "--jobs", str(jobs), *extra],
                        **kw)

    @staticmethod
    def clean_state(project: Path) -> None:
        """The fully clean state: no lock, no outputs, no part or stat cache."""
        (project / "mldata.lock").unlink(missing_ok=True)
        for sub in ("build", ".mldata"):
            shutil.rmtree(project / sub, ignore_errors=True)

    # --- sections ---------------------------------------------------------------------------------

    def full_builds(self, project: Path, plain_out: Path) -> None:
        """Clean builds: plain serial, plain 2 processes, mldata default workers, mldata -j 1, and
        both mldata variants again with `profile: false` (the same build without the lock profile:
        what the engine costs apart from profiling every column)."""
        a = self.args
        unprofiled = self._unprofiled_project(project)
        variants: list[tuple[str, str, Callable[[], Proc]]] = [
            ("plain_serial", "plain pyarrow script, serial (1 process)",
             lambda: self.plain(project, plain_out, 1)),
            ("plain_2proc", f"plain pyarrow script, {a.plain_jobs} processes",
             lambda: self.plain(project, plain_out, a.plain_jobs)),
            # the same, writing Parquet with the dictionary columns mldata's default chooses
            ("plain_serial_auto", "plain script, serial, mldata's dictionary choice",
             lambda: self.plain(project, plain_out, 1, "--dictionary", "auto")),
            ("plain_2proc_auto", f"plain script, {a.plain_jobs} processes, mldata's dictionary choice",
             lambda: self.plain(project, plain_out, a.plain_jobs, "--dictionary", "auto")),
            ("mldata_default", f"mldata make, default workers ({os.cpu_count()} CPUs)",
             lambda: self.make(project)),
            ("mldata_j1", "mldata make -j 1", lambda: self.make(project, "-j", "1")),
            ("mldata_noprof", "mldata make, default workers, profile: false", lambda: self.make(unprofiled)),
            ("mldata_noprof_j1", "mldata make -j 1, profile: false", lambda: self.make(unprofiled, "-j", "1")),
        ]
        self.log("warm-up: one build of each variant (page cache, .pyc files), outputs checked")
        for key, _, fn in variants:
            self._clean_for(key, project, plain_out)
            p = fn()
            if key == "mldata_default" and "built" not in p.output:
                raise RuntimeError(f"mldata make did not build:\n{p.output}")
        self._check_outputs(project, plain_out)
        for r in range(a.repeats):
            order = variants[r % len(variants):] + variants[: r % len(variants)]
            for key, label, fn in order:
                self._clean_for(key, project, plain_out)
                p = self.s(key, label).add(fn())
                self.log(f"full build {r + 1}/{a.repeats}: {key:15s} {p.wall:6.2f} s (cpu {p.cpu:5.2f} s)")
        self.clean_state(unprofiled)  # do not keep a second set of outputs and cache

    def _clean_for(self, key: str, project: Path, plain_out: Path) -> None:
        if key.startswith("plain"):
            shutil.rmtree(plain_out, ignore_errors=True)
        elif key.startswith("mldata_noprof"):
            self.clean_state(self._unprofiled_project(project))
        else:
            self.clean_state(project)

    @staticmethod
    def _unprofiled_project(project: Path) -> Path:
        """A sibling project reading the same files, its target with `profile: false`."""
        other = project.with_name(project.name + "-noprofile")
        other.mkdir(exist_ok=True)
        text = (project / "mldata.yaml").read_text()
        text = text.replace("path: data/", f"path: ../{project.name}/data/", 1)
        text = text.replace("    from: events\n", "    from: events\n    profile: false\n", 1)
        if "profile: false" not in text or f"../{project.name}/data/" not in text:
            raise RuntimeError("cannot derive the profile: false variant of the workload's mldata.yaml")
        (other / "mldata.yaml").write_text(text)
        return other

    def _check_outputs(self, project: Path, plain_out: Path) -> None:
        """mldata's outputs and the plain script's must hold the same data (else the race is unfair)."""
        import pyarrow.parquet as pq

        mine = sorted((project / "build" / "events_clean").glob("*.parquet"))
        theirs = sorted(plain_out.glob("*.parquet"))
        rows_m = sum(pq.ParquetFile(p).metadata.num_rows for p in mine)
        rows_p = sum(pq.ParquetFile(p).metadata.num_rows for p in theirs)
        same_names = [p.name for p in mine] == [p.name for p in theirs]
        sample_equal = bool(mine) and pq.read_table(mine[0]).replace_schema_metadata(None).equals(
            pq.read_table(theirs[0]).replace_schema_metadata(None))
        codecs = {pq.ParquetFile(mine[0]).metadata.row_group(0).column(0).compression,
                  pq.ParquetFile(theirs[0]).metadata.row_group(0).column(0).compression} if mine else set()
        bytes_m = sum(p.stat().st_size for p in mine)
        bytes_p = sum(p.stat().st_size for p in theirs)
        self.extra["output_check"] = {
            "parts": len(mine), "rows_mldata": rows_m, "rows_plain": rows_p, "same_part_names": same_names,
            "first_part_equal": sample_equal, "codecs": sorted(codecs), "bytes_mldata": bytes_m, "bytes_plain": bytes_p,
        }
        ok = same_names and rows_m == rows_p and sample_equal
        self.log(f"outputs: {len(mine)} parts, {rows_m:,} rows (plain {rows_p:,}), first part equal: {sample_equal}, "
                 f"{bytes_m / 1e6:.1f} MB (plain {bytes_p / 1e6:.1f} MB), codecs {sorted(codecs)}")
        if not ok:
            print("WARNING: mldata's and the plain script's outputs differ; the comparison is not like for like",
                  file=sys.stderr)

    def incremental(self, project: Path, n_files: int) -> None:
        """No-op make, plan, touch + make, one changed file + make, and reverting it (a cache hit)."""
        a = self.args
        self.clean_state(project)
        self.make(project)
        time.sleep(RACY_WAIT)
        self.make(project)  # records the outputs in the stat cache now that their mtimes are old enough
        self._import_report("imports_noop", project)
        changed = project / "data" / workload.file_name(min(CHANGED_FILE_INDEX, n_files - 1))
        original = changed.read_bytes()
        touched = project / "data" / workload.file_name(min(CHANGED_FILE_INDEX + 1, n_files - 1) if n_files > 1 else 0)

        def python_start() -> Proc:
            return run_proc([self.python, "-c", "pass"])

        def noop() -> Proc:
            p = self.make(project)
            _expect_nothing(p, "no-op make")
            return p

        def plan() -> Proc:
            return self.plan(project)

        def touch() -> Proc:
            os.utime(touched)  # mtime = now, content unchanged
            p = self.make(project)
            _expect_nothing(p, "make after touch")
            return p

        variants = [("python_start", "python -c pass (interpreter start, for scale)", python_start),
                    ("noop_make", "mldata make, nothing changed (no-op)", noop),
                    ("noop_plan", "mldata plan, nothing changed", plan),
                    ("touch_make", "touch 1 file (same content), mldata make", touch)]
        self.log(f"no-op, plan and touch: {a.fast_repeats} alternating repeats")
        for r in range(a.fast_repeats):
            order = variants[r % len(variants):] + variants[: r % len(variants)]
            for key, label, fn in order:
                self.s(key, label).add(fn())
        self.log("  " + ", ".join(f"{k} {self.series[k].median:.3f} s" for k, *_ in variants))

        # One changed file. Each repeat writes a content never seen before (the file plus one row
        # whose id depends on the repeat), so the part cache cannot answer and the part is really
        # recomputed; then the original content is restored, whose part is in the cache.
        self.log(f"one changed file ({changed.name}): {a.fast_repeats} repeats of change + revert")
        change = self.s("one_file_make", f"change 1 of {n_files} files, mldata make")
        revert = self.s("revert_make", "revert that file, mldata make (part from cache)")
        change_plan = self.s("one_file_plan", f"change 1 of {n_files} files, mldata plan")
        try:
            for r in range(a.fast_repeats):
                changed.write_bytes(_variant(original, r))
                if r % 2 == 1:  # alternate which is measured first: plan (also hashes the file) or make
                    change_plan.add(self.plan(project))
                p = change.add(self.make(project))
                _expect_parts(p, 1, "one-file rebuild")
                if r % 2 == 0:
                    change_plan.add(self.plan(project))
                changed.write_bytes(original)
                p = revert.add(self.make(project))
                _expect_parts(p, 0, "revert to the original content")
        finally:
            changed.write_bytes(original)
        self.log(f"  change {change.median:.3f} s, revert {revert.median:.3f} s")
        try:  # what the one-file rebuild imports (fresh contents again, so each run recomputes the part)
            self._import_report("imports_one_file", project,
                                before=lambda i: changed.write_bytes(_variant(original, 1000 + i)))
        finally:
            changed.write_bytes(original)
        # leave the project fresh
        self.make(project)

    def against(self, project: Path, n_files: int, rev: str) -> None:
        """This checkout's mldata against the code of git revision ``rev``, run alternately in the
        same minutes: the clean default and -j 1 builds, the no-op, one changed file and its revert.

        Single figures move by +-0.15 in ratio between runs on a shared machine; two versions run
        turn about in one run see the same load, which is what judging a change needs. Each
        version builds its own sibling project over the same data files (so lock and cache
        formats never mix), and both run as ``python -c`` with their code first on sys.path.
        """
        a = self.args
        base_code = self._checkout(rev)
        versions = [("base", base_code), ("this", HERE.parent)]
        projects = {tag: self._sibling_project(project, f"-{tag}") for tag, _ in versions}

        def make(tag: str, code: Path, *extra: str) -> Proc:
            return run_proc([self.python, "-c", _RUN_FROM.format(code=str(code)), "make", "-C", str(projects[tag]),
                             *extra])

        def both(label: str, key: str, fn: Callable[[str, Path], Proc], r: int) -> None:
            for tag, code in (versions if r % 2 == 0 else versions[::-1]):
                self.s(f"against_{key}_{tag}", f"{label} ({tag if tag == 'this' else rev})").add(fn(tag, code))

        self.log(f"against {rev}: clean builds, {a.repeats} alternating repeats")
        for r in range(a.repeats):
            for extra, key, label in (((), "full", "full build, default workers"), (("-j", "1"), "j1", "full build, -j 1")):
                def full(tag: str, code: Path, extra: tuple[str, ...] = extra) -> Proc:
                    self.clean_state(projects[tag])
                    return make(tag, code, *extra)
                both(label, key, full, r)
        for tag, code in versions:
            self.clean_state(projects[tag])
            make(tag, code)
        time.sleep(RACY_WAIT)
        for tag, code in versions:
            make(tag, code)  # the stat cache records the outputs now that their mtimes are old enough
        changed = project / "data" / workload.file_name(min(CHANGED_FILE_INDEX, n_files - 1))
        original = changed.read_bytes()
        self.log(f"against {rev}: no-op, one changed file and its revert, {a.fast_repeats} alternating repeats")
        def noop(tag: str, code: Path) -> Proc:
            p = make(tag, code)
            _expect_nothing(p, f"no-op make ({tag})")
            return p

        def rebuild(tag: str, code: Path) -> Proc:
            p = make(tag, code)
            _expect_parts(p, 1, f"one-file rebuild ({tag})")
            return p

        try:
            for r in range(a.fast_repeats):
                both("no-op make", "noop", noop, r)
                changed.write_bytes(_variant(original, 2000 + r))
                both("change 1 file", "change", rebuild, r)
                changed.write_bytes(original)
                both("revert it", "revert", rebuild, r)
        finally:
            changed.write_bytes(original)
        for tag, _ in versions:
            self.clean_state(projects[tag])
        shutil.rmtree(base_code.parent, ignore_errors=True)

    def _checkout(self, rev: str) -> Path:
        """The ``mldata`` package of git revision ``rev``, extracted into a temporary folder; the
        folder to put first on sys.path."""
        repo = HERE.parent
        folder = Path(tempfile.mkdtemp(prefix="mldata-against-")) / "code"
        folder.mkdir()
        archive = subprocess.run(["git", "-C", str(repo), "archive", rev, "mldata"], capture_output=True)
        if archive.returncode != 0:
            raise SystemExit(f"--against {rev}: git archive failed: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
        return folder

    @staticmethod
    def _sibling_project(project: Path, suffix: str) -> Path:
        """A sibling project with the same mldata.yaml, reading the same data files."""
        other = project.with_name(project.name + suffix)
        other.mkdir(exist_ok=True)
        text = (project / "mldata.yaml").read_text()
        text = text.replace("path: data/", f"path: ../{project.name}/data/", 1)
        if f"../{project.name}/data/" not in text:
            raise RuntimeError("cannot derive a sibling of the workload's mldata.yaml")
        (other / "mldata.yaml").write_text(text)
        return other

    def gnu_make(self, project: Path, n_files: int) -> None:
        """The same pipeline as a Makefile, one `plain.py FILE OUT` process per file (the way make
        drives a Python step), when GNU make is installed: a full build with `make -j CPUS`, a
        no-op, and one changed file. For scale against mldata, not a target."""
        make = shutil.which("make")
        if make is None:
            self.log("gnu make: not installed, section skipped")
            return
        a = self.args
        folder = project.with_name(project.name + "-gnumake")
        folder.mkdir(exist_ok=True)
        (folder / "Makefile").write_text(
            f"SRC := $(wildcard ../{project.name}/data/*.csv)\n"
            f"OUT := $(patsubst ../{project.name}/data/%.csv,out/%.parquet,$(SRC))\n"
            "all: $(OUT)\n"
            f"out/%.parquet: ../{project.name}/data/%.csv\n"
            "\t@mkdir -p out\n"
            f"\t@{self.python} {HERE / 'plain.py'} $< $@\n")
        jobs = str(os.cpu_count() or 1)

        def run_make() -> Proc:
            return run_proc([make, "-s", "-C", str(folder), "-j", jobs])

        shutil.rmtree(folder / "out", ignore_errors=True)
        self.log(f"gnu make: full build of {n_files} files, one process each (-j {jobs}), once")
        self.s("make_full", f"GNU make -j {jobs}, one plain.py process per file: full build").add(run_make())
        noop = self.s("make_noop", "GNU make, nothing changed (no-op)")
        for _ in range(a.fast_repeats):
            noop.add(run_make())
        one = self.s("make_one_file", f"GNU make, change 1 of {n_files} files")
        self._after_changes(project, n_files, one, a.fast_repeats, 2000, run_make)
        run_make()
        self.log(f"  full {self.series['make_full'].median:.2f} s, no-op {noop.median:.3f} s, "
                 f"one file {one.median:.3f} s")
        shutil.rmtree(folder / "out", ignore_errors=True)

    @staticmethod
    def _after_changes(project: Path, n_files: int, series: Series, runs: int, seed: int,
                       run: Callable[[], Proc]) -> None:
        """Time ``run`` ``runs`` times, each after giving one input file a content never seen
        before (``seed`` keeps the contents apart from other sections'); then restore the file."""
        changed = project / "data" / workload.file_name(min(CHANGED_FILE_INDEX, n_files - 1))
        original = changed.read_bytes()
        try:
            for r in range(runs):
                changed.write_bytes(_variant(original, seed + r))
                series.add(run())
        finally:
            changed.write_bytes(original)

    def dvc(self, project: Path, n_files: int) -> None:
        """The same pipeline as one DVC stage, when DVC is installed (``--dvc PATH``, else ``dvc``
        on PATH): the data folder as the stage's dependency, ``plain.py --jobs N`` as its command,
        its output folder as the stage's output (cached by DVC, as mldata caches its parts). Times
        a clean ``dvc repro`` (no dvc.lock, no DVC cache or hash state), the no-op ``dvc status``
        and ``dvc repro``, and ``dvc repro`` after changing one file (it reruns the whole stage:
        a folder is one dependency). For scale against mldata, not a target."""
        dvc = self.args.dvc or shutil.which("dvc")
        if dvc is None:
            self.log("dvc: not installed (pip install dvc, then --dvc PATH), section skipped")
            return
        a = self.args
        folder = project.with_name(project.name + "-dvc")
        folder.mkdir(exist_ok=True)
        if not (folder / ".dvc").is_dir():
            run_proc([dvc, "init", "--no-scm", "-q"], cwd=str(folder))
        plain = HERE / "plain.py"
        (folder / "dvc.yaml").write_text(
            "stages:\n"
            "  build:\n"
            f"    cmd: {self.python} {plain} ../{project.name}/data out --jobs {a.plain_jobs}\n"
            "    deps:\n"
            f"      - ../{project.name}/data\n"
            f"      - {plain}\n"
            "    outs:\n"
            "      - out\n")

        def clean() -> None:
            shutil.rmtree(folder / "out", ignore_errors=True)
            (folder / "dvc.lock").unlink(missing_ok=True)
            for sub in ("cache", "tmp"):
                shutil.rmtree(folder / ".dvc" / sub, ignore_errors=True)

        def dvc_cmd(*args: str) -> Proc:
            return run_proc([dvc, *args, "-q"], cwd=str(folder))

        self.log(f"dvc: full dvc repro of {n_files} files, {a.repeats} repeats")
        full = self.s("dvc_full", f"DVC, one stage running plain.py --jobs {a.plain_jobs}: full `dvc repro`")
        for _ in range(a.repeats):
            clean()
            full.add(dvc_cmd("repro"))
        status = self.s("dvc_noop_status", "DVC, nothing changed: `dvc status`")
        repro = self.s("dvc_noop_repro", "DVC, nothing changed: `dvc repro`")
        for _ in range(a.fast_repeats):
            status.add(dvc_cmd("status"))
            repro.add(dvc_cmd("repro"))
        one = self.s("dvc_one_file", f"DVC, change 1 of {n_files} files: `dvc repro`")
        self._after_changes(project, n_files, one, a.repeats, 3000, lambda: dvc_cmd("repro"))
        self.log(f"  full {full.median:.2f} s, no-op status {status.median:.3f} s, repro {repro.median:.3f} s, "
                 f"one file {one.median:.2f} s")
        clean()

    def _import_report(self, key: str, project: Path, runs: int = 3,
                       before: Callable[[int], None] | None = None) -> None:
        """Which modules `mldata make` imports, and the costliest (python -X importtime, medians of runs).

        ``before(i)`` prepares run i (e.g. changes a file); the runs are not part of any timing.
        """
        code = "import sys; from mldata.cli import main; sys.argv=['mldata','make','-C',sys.argv[1]]; main()"
        self_us: dict[str, list[int]] = {}
        cumul_us: dict[str, list[int]] = {}
        totals = []
        for i in range(runs):
            if before:
                before(i)
            p = run_proc([self.python, "-X", "importtime", "-c", code, str(project)])
            total = 0
            for line in p.output.splitlines():
                m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
                if m:
                    self_us.setdefault(m.group(4), []).append(int(m.group(1)))
                    cumul_us.setdefault(m.group(4), []).append(int(m.group(2)))
                    total += int(m.group(1))
            totals.append(total)
        med_self = {k: statistics.median(v) for k, v in self_us.items()}
        heavy = ["pyarrow", "pandas", "numpy", "scipy", "pandera", "pydantic", "ruamel.yaml", "rich", "click",
                 "blake3", "concurrent.futures", "multiprocessing"]
        top_self = sorted(med_self.items(), key=lambda kv: -kv[1])[:12]
        self.extra[key] = {
            "total_import_ms": round(statistics.median(totals) / 1000, 1),
            "heavy_imported_cumulative_ms": {h: round(statistics.median(cumul_us[h]) / 1000, 1)
                                             for h in heavy if h in cumul_us},
            "top_self_ms": {k: round(v / 1000, 1) for k, v in top_self},
            "mldata_modules_self_ms": {k: round(v / 1000, 1) for k, v in sorted(med_self.items())
                                       if k.startswith("mldata")},
        }

    def hashing(self, project: Path, data_files: list[Path]) -> None:
        """GB/s of mldata's file_digest vs blake3 (1 thread, and all threads) on a page-cached file."""
        import blake3
        import numpy as np

        from mldata.fingerprint import file_digest

        a = self.args
        path = project / f"hash-{a.hash_mb}mb.bin"
        size = a.hash_mb * 1_000_000
        if not path.exists() or path.stat().st_size != size:
            rng = np.random.default_rng(workload.SEED)
            with open(path, "wb") as fh:
                left = size
                while left:
                    n = min(left, 64 << 20)
                    fh.write(rng.bytes(n))
                    left -= n

        def b3(threads: int) -> Callable[[], str]:
            def run() -> str:
                h = blake3.blake3(max_threads=threads)
                h.update_mmap(str(path))
                return h.hexdigest()
            return run

        fns = [("hash_file_digest", "mldata file_digest", lambda: file_digest(path)),
               ("hash_blake3_1t", "blake3, 1 thread, update_mmap", b3(1)),
               ("hash_blake3_mt", f"blake3, all threads ({os.cpu_count()} CPUs), update_mmap", b3(blake3.blake3.AUTO))]
        for _, _, fn in fns:  # warm the page cache and the thread pool
            fn()
        results = {}
        for r in range(a.hash_repeats):
            order = fns[r % len(fns):] + fns[: r % len(fns)]
            for key, label, fn in order:
                t = time.perf_counter()
                results[key] = fn()
                self.s(key, f"{label} ({a.hash_mb} MB file)", "GB/s").values.append(size / (time.perf_counter() - t) / 1e9)
        if len(set(results.values())) != 1:
            print("WARNING: file_digest and blake3 disagree", file=sys.stderr)
        # the inputs of the workload: many small files (each below the multi-thread threshold)
        total = sum(p.stat().st_size for p in data_files)
        for p in data_files:
            file_digest(p)
        for _ in range(a.hash_repeats):
            t = time.perf_counter()
            for p in data_files:
                file_digest(p)
            self.s("hash_inputs", f"mldata file_digest over the {len(data_files)} input files "
                                  f"({total / 1e6:.0f} MB)", "GB/s").values.append(total / (time.perf_counter() - t) / 1e9)
        self.log("hashing: " + ", ".join(f"{k} {self.series[k].median:.2f} GB/s" for k, *_ in fns))
        if a.tmp:
            path.unlink(missing_ok=True)

    def memory(self, project: Path, plain_out: Path) -> None:
        """Peak memory of one full build (mldata default workers, and the plain 2-process script)."""
        self.clean_state(project)
        p = self.make(project, sample_tree=True)
        s = self.s("rss_build_max", "full build, mldata default workers: largest process", "MB")
        s.values.append(p.maxrss_mb)
        self.s("rss_build_tree", "full build, mldata default workers: whole tree (PSS)", "MB").values.append(
            p.tree_peak_mb or 0)
        shutil.rmtree(plain_out, ignore_errors=True)
        q = self.plain(project, plain_out, self.args.plain_jobs, sample_tree=True)
        self.s("rss_plain_max", f"full build, plain {self.args.plain_jobs} processes: largest process",
               "MB").values.append(q.maxrss_mb)
        self.s("rss_plain_tree", f"full build, plain {self.args.plain_jobs} processes: whole tree (PSS)",
               "MB").values.append(q.tree_peak_mb or 0)
        self.log(f"memory: mldata {p.maxrss_mb:.0f} MB largest, {p.tree_peak_mb:.0f} MB tree; "
                 f"plain {q.maxrss_mb:.0f} MB largest, {q.tree_peak_mb:.0f} MB tree")

    def big_file(self, base: Path) -> None:
        """One large CSV through the same row-local steps: time and peak memory."""
        mb = self.args.big_file_mb
        project = base / f"big-{mb:g}mb"
        self.log(f"big file: generating/reusing a {mb:g} MB CSV in {project}")
        info = workload.generate_single(project, mb, quiet=self.args.quiet_progress)
        self.clean_state(project)
        p = self.make(project, sample_tree=True, timeout=1800)
        self.clean_state(project)  # do not keep ~1/3 of its size in outputs and cache
        size_mb = info["bytes"] / 1e6
        self.s("big_time", f"{size_mb:.0f} MB single CSV, mldata make (1 part: runs inline)").add(p)
        self.s("big_rss_max", f"{size_mb:.0f} MB single CSV: peak RSS, largest process", "MB").values.append(p.maxrss_mb)
        self.s("big_rss_tree", f"{size_mb:.0f} MB single CSV: peak PSS, whole tree", "MB").values.append(
            p.tree_peak_mb or 0)
        self.extra["big_file"] = {"bytes": info["bytes"], "rows": info["rows"]}
        self.log(f"big file: {p.wall:.1f} s, {p.maxrss_mb:.0f} MB peak RSS")


    # --- profile and drift (issue 7) -----------------------------------------------------------

    def profile_drift(self, base: Path) -> None:
        """``mldata profile`` on the workload as one Parquet file (and at 10x, and on the 1 GB CSV),
        ``mldata drift A B`` of two builds, and ``mldata drift TARGET`` against the lock alone."""
        a = self.args
        folder = base / "profile"
        folder.mkdir(exist_ok=True)
        small = workload.generate_single(base / "big-100mb", 100, quiet=a.quiet_progress)
        one = _parquet_of(base / "big-100mb" / "data" / "big.csv", folder / "events-100mb.parquet")
        shifted = _shifted_copy(one, folder / "events-100mb-shifted.parquet")
        n_fast = max(3, a.repeats)
        self.log(f"profile: {one.name} ({small['rows']:,} rows), {n_fast} repeats")
        for r in range(n_fast):
            p = self.s("profile_100", f"mldata profile, 100 MB workload as one Parquet file "
                                      f"({one.stat().st_size / 1e6:.0f} MB)").add(self.profile(one))
            self.s("profile_100_rss", "mldata profile, 100 MB workload: peak RSS", "MB").values.append(p.maxrss_mb)
            d = self.s("drift_two", "mldata drift A B: two builds of the 100 MB workload (raw data)").add(
                self.drift(str(one), str(shifted)))
            self.s("drift_two_rss", "mldata drift A B: peak RSS", "MB").values.append(d.maxrss_mb)
        project = self._drift_project(folder, one, shifted)
        for _ in range(n_fast):
            self.s("drift_lock", "mldata drift TARGET: against the lock at git HEAD (old data gone)").add(
                self.drift("-C", str(project), "events"))
        if a.big_file_mb > 0:
            big = workload.generate_single(base / f"big-{a.big_file_mb:g}mb", a.big_file_mb, quiet=a.quiet_progress)
            csv = base / f"big-{a.big_file_mb:g}mb" / "data" / "big.csv"
            ten = _parquet_of(csv, folder / f"events-{a.big_file_mb:g}mb.parquet")
            self.log(f"profile: {ten.name} ({big['rows']:,} rows) and the {a.big_file_mb:g} MB CSV, once each")
            p = self.s("profile_big", f"mldata profile, {a.big_file_mb:g} MB workload as one Parquet file "
                                      f"({ten.stat().st_size / 1e6:.0f} MB)").add(self.profile(ten, timeout=3600))
            self.s("profile_big_rss", f"mldata profile, {a.big_file_mb:g} MB workload: peak RSS",
                   "MB").values.append(p.maxrss_mb)
            q = self.s("profile_csv", f"mldata profile, the {a.big_file_mb:g} MB CSV").add(
                self.profile(csv, timeout=3600))
            self.s("profile_csv_rss", f"mldata profile, the {a.big_file_mb:g} MB CSV: peak RSS",
                   "MB").values.append(q.maxrss_mb)
        self.log("profile/drift: " + ", ".join(f"{k} {self.series[k].median:.2f}" for k in
                                               ("profile_100", "drift_two", "drift_lock") if k in self.series))

    def drift(self, *args: str) -> Proc:
        """``mldata drift ... --json``; exit status 1 means a column reached ``fail`` (expected here)."""
        p = run_proc([self.mldata, "drift", *args, "--json"], check=False)
        if p.returncode not in (0, 1) or '"columns"' not in p.output:
            raise RuntimeError(f"mldata drift {' '.join(args)} failed:\n{p.output[-2000:]}")
        return p

    def profile(self, path: Path, **kw: Any) -> Proc:
        p = run_proc([self.mldata, "profile", str(path), "--json"], **kw)
        if p.returncode != 0:
            raise RuntimeError(f"mldata profile {path} failed:\n{p.output[-2000:]}")
        return p

    def _drift_project(self, folder: Path, first: Path, second: Path) -> Path:
        """A git project whose target was built and committed from ``first``, then rebuilt from
        ``second``: `mldata drift events` compares the build with the lock at HEAD."""
        project = folder / "drift-project"
        shutil.rmtree(project, ignore_errors=True)
        (project / "data").mkdir(parents=True)
        (project / "mldata.yaml").write_text(
            "version: 1\nsources:\n  raw:\n    path: data/events.parquet\n"
            "targets:\n  events:\n    from: raw\n")
        shutil.copyfile(first, project / "data" / "events.parquet")
        git = ["git", "-C", str(project), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        subprocess.run(["git", "init", "-q", str(project)], check=True)
        (project / ".gitignore").write_text("build/\n.mldata/\ndata/\n")
        self.make(project)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "first build"], check=True)
        shutil.copyfile(second, project / "data" / "events.parquet")
        self.make(project)
        return project


def _variant(original: bytes, r: int) -> bytes:
    """The original file plus one row that depends on r: a content the part cache has never seen."""
    first = original.split(b"\n", 2)[1]
    fields = first.split(b",")
    fields[0] = str(90_000_000 + r).encode()
    return original + b",".join(fields) + b"\n"


def _parquet_of(csv: Path, out: Path) -> Path:
    """``csv`` as one zstd Parquet file (streamed; reused if already there)."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if out.is_file() and out.stat().st_mtime >= csv.stat().st_mtime:
        return out
    reader = pcsv.open_csv(csv, convert_options=pcsv.ConvertOptions(null_values=["", "NA"]),
                           read_options=pcsv.ReadOptions(block_size=16 << 20))
    tmp = out.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
    tmp.replace(out)
    return out


def _shifted_copy(path: Path, out: Path) -> Path:
    """A second "build": ``amount`` 15% higher, ``score`` +0.05, every 10th ``country`` -> "ZZ"."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if out.is_file() and out.stat().st_mtime >= path.stat().st_mtime:
        return out
    table = pq.ParquetFile(path).read()
    n = table.num_rows
    every_tenth = pa.array(np.arange(n) % 10 == 0)
    table = table.set_column(table.schema.get_field_index("amount"), "amount", pc.multiply(table["amount"], 1.15))
    table = table.set_column(table.schema.get_field_index("score"), "score", pc.add(table["score"], 0.05))
    table = table.set_column(table.schema.get_field_index("country"), "country",
                             pc.if_else(every_tenth, "ZZ", table["country"]))
    pq.write_table(table, out.with_suffix(".tmp"), compression="zstd")
    out.with_suffix(".tmp").replace(out)
    return out


def _expect_nothing(p: Proc, what: str) -> None:
    if "nothing to do" not in p.output:
        raise RuntimeError(f"{what} did something:\n{p.output}")


def _expect_parts(p: Proc, n: int, what: str) -> None:
    """Best-effort check of mldata's summary line; warns (does not fail) when it cannot tell."""
    if n == 0 and "nothing to do" in p.output:
        return
    if "built" not in p.output and "partial" not in p.output:
        print(f"WARNING: {what}: unexpected output:\n{p.output}", file=sys.stderr)


# ------------------------------------------------------------------------------------------------
# the table
# ------------------------------------------------------------------------------------------------


#: ``python -c`` program running the mldata CLI from the code in a folder (``--against``).
_RUN_FROM = "import sys; sys.path.insert(0, {code!r}); from mldata.cli import main; main()"



def build_rows(h: Harness) -> list[Row]:
    S = h.series
    rows: list[Row] = []

    def timed(key: str, section: str, target: float | None = None) -> None:
        if key not in S:
            return
        s = S[key]
        status = "" if target is None else ("OK" if s.median <= target else "MISS")
        rows.append(Row(section, s.label, f"{s.median:.3f} s", f"{s.cpu_median:.2f} s" if s.cpu_median is not None else "",
                        f"<= {target:g} s" if target is not None else "", status))

    def value(key: str, section: str, fmt: str = "{:.2f}", target: str = "", status: str = "") -> None:
        if key not in S:
            return
        s = S[key]
        rows.append(Row(section, s.label, f"{fmt.format(s.median)} {s.unit}", "", target, status))

    def ratio(key: str, section: str, label: str, num: str, den: str, *, at_most: float | None = None,
              at_least: float | None = None, note: str = "", cpu: bool = True) -> None:
        if num not in S or den not in S:
            return
        r = S[num].median / S[den].median
        cr = None
        if cpu and S[num].cpu_median and S[den].cpu_median:
            cr = S[num].cpu_median / S[den].cpu_median
        if at_most is not None:
            target, status = f"<= {at_most:g}x", "OK" if r <= at_most else "MISS"
        elif at_least is not None:
            target, status = f">= {at_least:g}x", "OK" if r >= at_least else "MISS"
        else:
            target, status = note, ""
        h.ratios[key] = {"label": label, "ratio": round(r, 4), "cpu_ratio": _r(cr), "target": target, "status": status}
        rows.append(Row(section, label, f"{r:.2f}x", f"{cr:.2f}x" if cr is not None else "", target, status))

    sec = "full build"
    for k in ("plain_serial", "plain_2proc", "plain_serial_auto", "plain_2proc_auto", "mldata_default", "mldata_j1",
              "mldata_noprof", "mldata_noprof_j1"):
        timed(k, sec)
    ratio("default_vs_plain2", sec, "mldata default / plain 2 processes", "mldata_default", "plain_2proc", at_most=1.15)
    ratio("j1_vs_plain1", sec, "mldata -j 1 / plain serial", "mldata_j1", "plain_serial", at_most=1.15)
    ratio("j1_vs_default", sec, "speed-up: mldata -j 1 / mldata default", "mldata_j1", "mldata_default",
          at_least=1.5, cpu=False)
    ratio("noprof_vs_plain2", sec, "profile: false: mldata default / plain 2 processes", "mldata_noprof",
          "plain_2proc", note="(engine alone)")
    ratio("noprof_j1_vs_plain1", sec, "profile: false: mldata -j 1 / plain serial", "mldata_noprof_j1",
          "plain_serial", note="(engine alone)")
    # like for like: the floor writing the same Parquet encodings as mldata (dictionary: auto)
    ratio("default_vs_plain2_auto", sec, "mldata default / plain 2 processes, same dictionary choice",
          "mldata_default", "plain_2proc_auto", note="(like for like)")
    ratio("j1_vs_plain1_auto", sec, "mldata -j 1 / plain serial, same dictionary choice", "mldata_j1",
          "plain_serial_auto", note="(like for like)")
    ratio("noprof_vs_plain2_auto", sec, "profile: false: mldata default / plain 2 processes, same dictionary choice",
          "mldata_noprof", "plain_2proc_auto", note="(engine alone, like for like)")
    ratio("plain_scaling", sec, "floor scaling: plain serial / plain 2 processes", "plain_serial", "plain_2proc",
          note="(SPEC: ~1.65x)", cpu=False)

    sec = "incremental"
    timed("python_start", sec)
    timed("noop_make", sec, 0.15)
    timed("noop_plan", sec, 0.15)
    timed("touch_make", sec, 0.15)
    timed("one_file_make", sec, 0.35)
    timed("one_file_plan", sec)
    timed("revert_make", sec, 0.35)

    sec = "against"
    for key in ("full", "j1", "noop", "change", "revert"):
        if f"against_{key}_this" in S:
            timed(f"against_{key}_base", sec)
            timed(f"against_{key}_this", sec)
            ratio(f"against_{key}", sec, f"{key}: this / {h.args.against}", f"against_{key}_this",
                  f"against_{key}_base", note="(< 1: faster)")

    sec = "gnu make"
    timed("make_full", sec)
    timed("make_noop", sec)
    timed("make_one_file", sec)
    ratio("make_full_vs_mldata", sec, "GNU make full build / mldata default", "make_full", "mldata_default",
          note="(information)")
    ratio("make_noop_vs_mldata", sec, "GNU make no-op / mldata no-op", "make_noop", "noop_make", note="(information)")
    ratio("make_one_vs_mldata", sec, "GNU make one file / mldata one file", "make_one_file", "one_file_make",
          note="(information)")

    sec = "dvc"
    timed("dvc_full", sec)
    timed("dvc_noop_status", sec)
    timed("dvc_noop_repro", sec)
    timed("dvc_one_file", sec)
    ratio("dvc_full_vs_mldata", sec, "DVC full build / mldata default", "dvc_full", "mldata_default",
          note="(information)")
    ratio("dvc_noop_vs_mldata", sec, "DVC no-op `dvc status` / mldata no-op", "dvc_noop_status", "noop_make",
          note="(information)")
    ratio("dvc_one_vs_mldata", sec, "DVC one file / mldata one file", "dvc_one_file", "one_file_make",
          note="(information)")

    sec = "hashing"
    value("hash_file_digest", sec)
    value("hash_blake3_1t", sec, target="(SPEC: ~3.3 here)")
    value("hash_blake3_mt", sec)
    ratio("hash_vs_1t", sec, "file_digest / blake3 1 thread", "hash_file_digest", "hash_blake3_1t", at_least=0.8,
          cpu=False)
    ratio("hash_vs_mt", sec, "file_digest / blake3 all threads (large file)", "hash_file_digest", "hash_blake3_mt",
          note="(uses threads on large files)", cpu=False)
    value("hash_inputs", sec)

    sec = "memory"
    for k in ("rss_build_max", "rss_build_tree", "rss_plain_max", "rss_plain_tree"):
        value(k, sec, "{:.0f}")
    if "big_time" in S:
        timed("big_time", sec)
        big = S["big_rss_max"].median
        value("big_rss_max", sec, "{:.0f}", f"<= {BIG_RSS_TARGET_MB:g} MB",
              "OK" if big <= BIG_RSS_TARGET_MB else "MISS")
        value("big_rss_tree", sec, "{:.0f}")

    sec = "profile"
    timed("profile_100", sec, PROFILE_TARGET_S)
    value("profile_100_rss", sec, "{:.0f}")
    timed("profile_big", sec)
    if "profile_big_rss" in S:
        big = S["profile_big_rss"].median
        value("profile_big_rss", sec, "{:.0f}", f"<= {PROFILE_BIG_RSS_MB:g} MB",
              "OK" if big <= PROFILE_BIG_RSS_MB else "MISS")
    timed("profile_csv", sec)
    value("profile_csv_rss", sec, "{:.0f}")
    timed("drift_two", sec, DRIFT_TARGET_S)
    value("drift_two_rss", sec, "{:.0f}")
    timed("drift_lock", sec)
    ratio("drift_lock_vs_two", sec, "drift against the lock / drift A B", "drift_lock", "drift_two", at_most=1.0,
          cpu=False)
    return rows


def render_markdown(rows: list[Row]) -> str:
    head = ["section", "figure", "median", "cpu", "target (SPEC §10)", "status"]
    body = [[r.section, r.label, r.value, r.cpu, r.target, r.status] for r in rows]
    widths = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    prev = None
    for b in body:
        if b[0] == prev:
            b = [""] + b[1:]
        else:
            prev = b[0]
        out.append(line(b))
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------------


def _cpu_snapshot() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this harness and its reaped children)."""
    busy = 0.0
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...
        busy = (sum(fields[:3]) + sum(fields[5:8])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for mod in ("pyarrow", "blake3", "numpy"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            out[mod] = "?"
    try:
        import mldata

        out["mldata"] = mldata.__version__
    except Exception:  # noqa: BLE001
        out["mldata"] = "?"
    try:
        out["git"] = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "mldata"],
                               capture_output=True, text=True).stdout.strip()
        out["git"] += " (mldata/ has uncommitted changes)" if dirty else ""
    except Exception:  # noqa: BLE001
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small workload (20 files), fewer repeats: a smoke test")
    ap.add_argument("--repeats", type=int, default=None, help="repeats of each full build (default 3; quick 1)")
    ap.add_argument("--fast-repeats", type=int, default=None,
                    help="repeats of the sub-second figures: no-op, plan, touch, one-file (default 7; quick 3)")
    ap.add_argument("--hash-repeats", type=int, default=5)
    ap.add_argument("--hash-mb", type=int, default=None, help="size of the hashed file (default 200; quick 50)")
    ap.add_argument("--files", type=int, default=None, help="files in the workload (default 200; quick 20)")
    ap.add_argument("--rows-per-file", type=int, default=workload.DEFAULT_ROWS_PER_FILE)
    ap.add_argument("--big-file-mb", type=float, default=None,
                    help="size of the single-CSV memory test (default 1000; quick 100; 0 skips it)")
    ap.add_argument("--plain-jobs", type=int, default=2, help="processes of the parallel plain script (default 2)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the workload lives (default benchmarks/workload/, reused between runs)")
    ap.add_argument("--tmp", action="store_true", help="generate the workload into a temporary folder instead")
    ap.add_argument("--mldata", help="the mldata command (default: beside this Python, else on PATH)")
    ap.add_argument("--dvc", help="the dvc command for the 'dvc' section (default: dvc on PATH; skipped if none)")
    ap.add_argument("--only", default="full,incremental,gnumake,dvc,hashing,memory,big,profile",
                    help="comma-separated sections to run (default: all)")
    ap.add_argument("--keep-env", action="store_true",
                    help="run commands with this environment as is (default: allow .pyc files, kept under "
                         "WORKDIR/pycache, even if PYTHONDONTWRITEBYTECODE is set)")
    ap.add_argument("--against", metavar="REV",
                    help="also time this checkout against git revision REV, alternately (section 'against')")
    ap.add_argument("--json", type=Path, help="also write every figure, sample and ratio to this JSON file")
    ap.add_argument("--quiet-progress", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    quick = args.quick
    args.repeats = args.repeats or (1 if quick else 3)
    args.fast_repeats = args.fast_repeats or (3 if quick else 7)
    args.hash_mb = args.hash_mb or (50 if quick else 200)
    args.files = args.files or (20 if quick else workload.DEFAULT_FILES)
    if args.big_file_mb is None:
        args.big_file_mb = 100 if quick else 1000
    sections = set(args.only.split(","))

    h = Harness(args)
    tmp_ctx = tempfile.TemporaryDirectory(prefix="mldata-bench-") if args.tmp else None
    base = Path(tmp_ctx.name) if tmp_ctx else (args.workdir or HERE / "workload")
    base.mkdir(parents=True, exist_ok=True)
    if not args.keep_env:
        configure_env(base / "pycache")
    name = f"ref-{args.files}x{args.rows_per_file}"
    project = base / name
    plain_out = base / f"{name}-plain-out"
    load_before = os.getloadavg()
    cpu_before = _cpu_snapshot()
    try:
        h.log(f"workload: {project}")
        info = workload.generate(project, args.files, args.rows_per_file, quiet=args.quiet_progress)
        data_files = sorted((project / "data").glob("*.csv"))
        if "full" in sections:
            h.full_builds(project, plain_out)
        if "incremental" in sections:
            h.incremental(project, len(data_files))
        if args.against:
            h.against(project, len(data_files), args.against)
        if "gnumake" in sections:
            h.gnu_make(project, len(data_files))
        if "dvc" in sections:
            h.dvc(project, len(data_files))
        if "hashing" in sections:
            h.hashing(project, data_files)
        if "memory" in sections:
            h.memory(project, plain_out)
        if "big" in sections and args.big_file_mb > 0:
            h.big_file(base)
        if "profile" in sections:
            h.profile_drift(base)
    finally:
        shutil.rmtree(plain_out, ignore_errors=True)
        if tmp_ctx:
            tmp_ctx.cleanup()
    load_after = os.getloadavg()
    cpu_after = _cpu_snapshot()
    rows = build_rows(h)
    elapsed = time.perf_counter() - h.started
    # CPU that other processes used while the harness ran: the machine's busy time minus ours.
    others = max(0.0, (cpu_after[0] - cpu_before[0]) - (cpu_after[1] - cpu_before[1]))
    others_cores = others / elapsed if elapsed > 0 else 0.0
    versions = _versions()
    header = "\n".join([
        f"mldata benchmarks, {_dt.date.today().isoformat()}, {os.cpu_count()} CPUs: {info['files']} CSV files x "
        f"{info['rows_per_file']:,} rows = {info['rows']:,} rows, {info['bytes'] / 1e6:.1f} MB",
        f"medians of {args.repeats} (full builds) / {args.fast_repeats} (sub-second figures) / {args.hash_repeats} "
        f"(hashing) alternating runs; {elapsed:.0f} s in all",
        f"background: load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; other processes used "
        f"{others_cores:.2f} of the {os.cpu_count()} CPUs meanwhile",
    ])
    print(header)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print()
    print(render_markdown(rows))
    for key, what in (("imports_noop", "no-op make"), ("imports_one_file", "one-file rebuild")):
        imp = h.extra.get(key)
        if imp:
            heavy = ", ".join(f"{k} {v:g}" for k, v in imp["heavy_imported_cumulative_ms"].items()) or "none"
            print(f"\n{what}: imports take {imp['total_import_ms']:g} ms (python -X importtime, median of 3); "
                  f"heavy packages imported (cumulative ms): {heavy}")
            print("  costliest modules (self ms): " + ", ".join(f"{k} {v:g}" for k, v in imp["top_self_ms"].items()))
    check = h.extra.get("output_check")
    if check:
        print(f"outputs checked: {check['parts']} parts, {check['rows_mldata']:,} rows (plain script "
              f"{check['rows_plain']:,}), first part equal: {check['first_part_equal']}, "
              f"{check['bytes_mldata'] / 1e6:.1f} MB (plain {check['bytes_plain'] / 1e6:.1f} MB)")
    misses = [r for r in rows if r.status == "MISS"]
    print(f"\n{sum(r.status == 'OK' for r in rows)} OK, {len(misses)} MISS"
          + (": " + "; ".join(r.label for r in misses) if misses else ""))
    if args.json:
        doc = {
            "date": _dt.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(), "versions": versions,
            "workload": info, "repeats": args.repeats, "fast_repeats": args.fast_repeats,
            "hash_repeats": args.hash_repeats, "loadavg_before": load_before, "loadavg_after": load_after,
            "other_processes_cpus": round(others_cores, 3),
            "seconds": round(elapsed, 1), "series": {k: s.to_json() for k, s in h.series.items()},
            "ratios": h.ratios, "extra": h.extra,
            "table": [r.__dict__ for r in rows],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
