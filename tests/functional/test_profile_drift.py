"""`mldata profile`, `mldata drift` and the drift gate of `make`, end to end."""

from __future__ import annotations

import json
import subprocess

import numpy as np

from tests.conftest import ProjectDir

CONFIG = """
version: 1
sources:
  raw: {path: data/*.csv}
targets:
  t:
    from: raw
"""


def _data(project: ProjectDir, shift: float = 0.0, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    for f in range(2):
        lines = ["x,y,cat"]
        for i in range(600):
            x = rng.normal(10 + shift, 2)
            y = rng.normal(0, 1)
            cat = "abc"[int(rng.integers(0, 3))] if shift == 0 else "abd"[int(rng.integers(0, 3))]
            lines.append(f"{x:.4f},{y:.4f},{cat}")
        project.write(f"data/f{f}.csv", "\n".join(lines) + "\n")


def _git(project: ProjectDir, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project.root, check=True, capture_output=True)


def test_drift_against_the_committed_lock_needs_no_old_data(project: ProjectDir) -> None:
    project.config(CONFIG)
    project.write(".gitignore", "build/\n.mldata/\n")
    _data(project)
    _git(project, "init", "-q")
    _git(project, "config", "user.email", "t@example.com")
    _git(project, "config", "user.name", "t")
    assert project.run("make").code == 0
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "baseline")
    assert project.run("drift", "t").code == 0  # the same data: no drift
    _data(project, shift=3.0, seed=2)
    r = project.run("make")
    assert r.code == 0 and "drift fails on x" in r.err  # make warns (the default gate)
    project.run("clean", "--cache-only")  # the old data is nowhere on disk now
    r = project.run("drift", "t", "--json")
    assert r.code == 1
    columns = json.loads(r.out)["columns"]
    assert columns["x"]["severity"] == "fail" and columns["x"]["psi"] > 0.25
    assert columns["y"]["severity"] == "ok"
    assert columns["cat"]["severity"] == "fail" and columns["cat"]["unseen_fraction"] > 0.2


def test_the_drift_gate_can_fail_the_build_and_keep_the_previous_outputs(project: ProjectDir) -> None:
    project.config(CONFIG + "    drift: {on_fail: fail, columns: {cat: {enabled: false}}}\n")
    _data(project)
    assert project.run("make").code == 0
    before = (project.root / "build/t/f0.parquet").read_bytes()
    lock = project.lock_text()
    _data(project, shift=3.0, seed=2)
    r = project.run("make")
    assert r.code == 1 and "data drift against the previous build fails on x" in r.err
    assert "cat" not in r.err.split("fails on")[1].split("\n")[0]
    assert (project.root / "build/t/f0.parquet").read_bytes() == before
    assert project.lock_text() == lock


def test_profile_outputs_json_markdown_and_html(project: ProjectDir, tmp_path) -> None:
    project.config(CONFIG)
    _data(project)
    project.run("make")
    r = project.run("profile", "t", "--json")
    assert r.code == 0
    prof = json.loads(r.out)
    assert prof["n_rows"] == 1200 and prof["columns"]["x"]["type"] == "numeric"
    assert set(prof["columns"]["x"]["quantiles"]) >= {"p01", "p05", "p25", "p50", "p75", "p95", "p99"}
    md = project.run("profile", "t", "--markdown").out
    assert "| column |" in md and "## numeric" in md
    page = tmp_path / "p.html"
    assert project.run("profile", str(project.root / "data"), "--html", str(page), "--sample", "0.5").code == 0
    text = page.read_text()
    assert "<svg" in text and "SAMPLED" in text and "http" not in text.replace("http://www.w3.org/2000/svg", "")


def test_drift_between_two_paths(project: ProjectDir, tmp_path) -> None:
    project.config(CONFIG)
    _data(project)
    r = project.run("drift", str(project.root / "data/f0.csv"), str(project.root / "data/f1.csv"), "--json")
    assert r.code == 0, r.err
    assert {c["severity"] for c in json.loads(r.out)["columns"].values()} <= {"ok", "insufficient_data"}
    page = tmp_path / "d.html"
    project.run("drift", str(project.root / "data/f0.csv"), str(project.root / "data/f1.csv"), "--html", str(page))
    assert "<svg" in page.read_text()


def test_a_large_csv_is_profiled_column_by_column_with_the_same_result(project: ProjectDir, monkeypatch) -> None:
    """Parquet inputs are read one column at a time; CSV inputs above SPILL_BYTES are first
    streamed into a temporary Parquet file: both must give the one-pass profile exactly."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from mldata import inspect
    from mldata.stats.profile import profile_batches

    project.config(CONFIG)
    _data(project)
    one_pass = {}
    csv = project.root / "data" / "f0.csv"
    ref = inspect.DataRef("f0", ((str(csv), "csv"),))
    schema, batches = inspect.schema_and_batches(ref)
    one_pass = profile_batches(schema, batches)["columns"]
    calls = []
    original = inspect._spill
    monkeypatch.setattr(inspect, "_spill", lambda *a: calls.append(1) or original(*a))
    monkeypatch.setattr(inspect, "SPILL_BYTES", 0)
    assert inspect.full_profile(ref)["columns"] == one_pass and calls == [1]
    monkeypatch.setattr(inspect, "SPILL_BYTES", 1 << 40)
    assert inspect.full_profile(ref)["columns"] == one_pass and calls == [1]  # small: one pass
    # two Parquet files (one empty): read one column at a time
    table = pcsv.read_csv(csv)
    pq.write_table(table, project.root / "a.parquet")
    pq.write_table(table.slice(0, 0), project.root / "b.parquet")
    files = ((str(project.root / "a.parquet"), "parquet"), (str(project.root / "b.parquet"), "parquet"))
    assert inspect.full_profile(inspect.DataRef("ab", files))["columns"] == one_pass
    assert calls == [1]
