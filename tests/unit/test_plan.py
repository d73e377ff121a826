"""The planner from plain fixtures: every decision and every reason, with no files involved."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

from mldata.plan import Action, decide_target, diff_keys
from mldata.scan import TargetState, Unit


def _unit(name: str, digest: str) -> Unit:
    return Unit(name=name, path="/x/" + name, digest=digest, format="csv", options={},
                part_name=name.split("/")[-1].replace(".csv", ".parquet"), cache_key="k" + digest)


def _state(**kw) -> TargetState:
    units = kw.pop("units", {"data/a.csv": "1", "data/b.csv": "2", "data/c.csv": "3"})
    base = TargetState(
        name="t",
        partitioned=True,
        has_global_suffix=False,
        recipe={"steps": [{"filter": "x > 1"}], "params": {}},
        encoding={"format": "parquet", "compression": {"codec": "zstd", "level": None}},
        code={},
        schema_file={},
        inputs=dict(units),
        upstream={},
        units={n: _unit(n, d) for n, d in units.items()},
        outputs={f"build/t/{n.split('/')[-1][0]}.parquet": "h" + d for n, d in units.items()},
        fingerprint="fp",
    )
    return replace(base, **kw)


def _entry(state: TargetState) -> dict:
    return {
        "fingerprint": state.fingerprint,
        "recipe": state.recipe,
        "encoding": state.encoding,
        "code": dict(state.code),
        "schema_file": dict(state.schema_file),
        "inputs": dict(state.inputs),
        "upstream": dict(state.upstream),
        "outputs": {
            rel: {"hash": h, "rows": 1, "bytes": 1, "data": "d", "input": f"data/{rel.split('/')[-1][0]}.csv"}
            for rel, h in state.outputs.items()
        },
    }


def test_given_an_unchanged_target_it_is_up_to_date() -> None:
    s = _state()
    d = decide_target(s, _entry(s), upstream_actions={})
    assert d.action is Action.UP_TO_DATE and not d.reasons


def test_given_no_lock_entry_it_is_new() -> None:
    d = decide_target(_state(), None, upstream_actions={})
    assert d.action is Action.BUILD and d.reasons[0].kind == "new"
    assert d.summary() == "build (new)"


def test_given_force_it_builds_with_the_reason() -> None:
    s = _state()
    d = decide_target(s, _entry(s), upstream_actions={}, force=True)
    assert d.action is Action.BUILD and [r.kind for r in d.reasons] == ["forced"]


def test_given_one_changed_input_a_partitioned_target_is_partial() -> None:
    old = _state()
    new = _state(units={"data/a.csv": "1", "data/b.csv": "22", "data/c.csv": "3"}, fingerprint="fp2")
    d = decide_target(new, _entry(old), upstream_actions={})
    assert d.action is Action.PARTIAL
    assert d.parts_to_build == ("data/b.csv",) and d.parts_total == 3
    assert d.reasons[0].message == "inputs: 1 changed (data/b.csv)"


def test_given_added_and_removed_inputs_they_are_counted_and_named() -> None:
    old = _state()
    new = _state(units={"data/a.csv": "1", "data/b.csv": "2", "data/d.csv": "4"}, fingerprint="fp2")
    d = decide_target(new, _entry(old), upstream_actions={})
    assert d.action is Action.PARTIAL
    assert d.parts_to_build == ("data/d.csv",) and d.parts_to_drop == ("data/c.csv",)
    assert "1 added (data/d.csv)" in d.reasons[0].message and "1 removed (data/c.csv)" in d.reasons[0].message


def test_given_many_changes_names_are_elided() -> None:
    units = {f"data/f{i:02}.csv": str(i) for i in range(8)}
    old = _state(units=units)
    new = _state(units={k: v + "x" for k, v in units.items()}, fingerprint="fp2")
    d = decide_target(new, _entry(old), upstream_actions={})
    assert "8 changed (data/f00.csv, data/f01.csv, data/f02.csv, data/f03.csv, data/f04.csv and 3 more)" in d.reasons[0].message
    assert len(d.reasons[0].items) == 8


def test_given_a_changed_step_the_config_key_is_named_and_all_parts_rebuild() -> None:
    old = _state()
    new = _state(recipe={"steps": [{"filter": "x > 2"}], "params": {}}, fingerprint="fp2")
    d = decide_target(new, _entry(old), upstream_actions={})
    assert d.action is Action.BUILD
    assert d.reasons[0].message == "config changed: steps[0].filter"
    assert len(d.parts_to_build) == 3


def test_given_changed_code_or_schema_file_they_are_named() -> None:
    old = _state(code={"p/f.py": "1"}, schema_file={"schemas/t.yaml": "1"})
    new = _state(code={"p/f.py": "2"}, schema_file={"schemas/t.yaml": "2"}, fingerprint="fp2")
    msgs = [r.message for r in decide_target(new, _entry(old), upstream_actions={}).reasons]
    assert msgs == ["code changed: p/f.py", "schema file changed: schemas/t.yaml"]


def test_given_a_compression_change_it_says_from_and_to() -> None:
    old = _state()
    new = _state(encoding={"format": "parquet", "compression": {"codec": "gzip", "level": 5}}, fingerprint="fp2")
    d = decide_target(new, _entry(old), upstream_actions={})
    assert d.action is Action.BUILD and d.reasons[0].message == "compression changed: zstd -> gzip:5"


def test_given_an_upstream_that_will_run_the_target_is_pending() -> None:
    s = _state()
    d = decide_target(s, _entry(s), upstream_actions={"up": Action.PARTIAL})
    assert d.action is Action.PENDING and d.pending_on == ("up",)
    assert "waits for up" in d.summary()


def test_given_a_changed_upstream_data_hash_it_rebuilds() -> None:
    old = _state(partitioned=False, units={}, upstream={"up": "d1"})
    new = _state(partitioned=False, units={}, upstream={"up": "d2"}, fingerprint="fp2")
    d = decide_target(new, _entry(old), upstream_actions={"up": Action.UP_TO_DATE})
    assert d.action is Action.BUILD and d.reasons[0].message == "upstream changed: up"


def test_given_a_missing_or_modified_output_only_that_part_is_redone() -> None:
    old = _state()
    outputs = dict(old.outputs)
    outputs["build/t/a.parquet"] = None
    outputs["build/t/c.parquet"] = "tampered"
    d = decide_target(replace(old, outputs=outputs), _entry(old), upstream_actions={})
    assert d.action is Action.PARTIAL and d.parts_to_build == ("data/a.csv", "data/c.csv")
    msgs = [r.message for r in d.reasons]
    assert msgs == ["output missing: build/t/a.parquet", "output modified: build/t/c.parquet"]


def test_given_a_global_suffix_a_missing_output_rebuilds_the_target() -> None:
    old = _state(has_global_suffix=True)
    outputs = dict(old.outputs)
    outputs["build/t/a.parquet"] = None
    d = decide_target(replace(old, outputs=outputs), _entry(old), upstream_actions={})
    assert d.action is Action.BUILD


def test_given_an_unpartitioned_target_input_changes_rebuild_it_whole() -> None:
    old = _state(partitioned=False, units={})
    new = replace(old, inputs={"data/a.csv": "9"}, fingerprint="fp2")
    d = decide_target(new, _entry(old), upstream_actions={})
    assert d.action is Action.BUILD


def test_decisions_are_json_ready() -> None:
    import json

    old = _state()
    new = _state(units={"data/a.csv": "1", "data/b.csv": "22", "data/c.csv": "3"}, fingerprint="fp2")
    data = decide_target(new, _entry(old), upstream_actions={}).to_json()
    assert json.loads(json.dumps(data))["action"] == "partial"


def test_diff_keys_names_nested_paths() -> None:
    assert diff_keys({"a": 1, "b": {"c": [1, 2]}}, {"a": 1, "b": {"c": [1, 3]}, "d": 0}) == ["b.c[1]", "d"]
    assert diff_keys({"s": [1]}, {"s": [1, 2]}) == ["s"]


def test_planning_modules_do_not_import_pyarrow_or_pydantic() -> None:
    code = (
        "import sys, mldata.plan, mldata.scan, mldata.schedule, mldata.api, mldata.cli;"
        "bad = [m for m in ('pyarrow', 'pandas', 'pandera', 'scipy', 'pydantic', 'ruamel', 'rich') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
