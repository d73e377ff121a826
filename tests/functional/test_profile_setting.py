"""A target's `profile:` setting: every column (the default), none, or a list of columns."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import BASIC_CONFIG, ProjectDir

WITH_LIST = BASIC_CONFIG.replace("      - derive: {double: \"value * 2\"}\n",
                                 "      - derive: {double: \"value * 2\"}\n    profile: [value, group]\n")
WITH_OFF = BASIC_CONFIG.replace("      - derive: {double: \"value * 2\"}\n",
                                "      - derive: {double: \"value * 2\"}\n    profile: false\n")


def _profile(project: ProjectDir, target: str) -> dict:
    return json.loads(project.lock_text())["targets"][target]["profile"]


def _cache_state(project: ProjectDir) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (project.root / ".mldata/cache/parts").glob("*.parquet")}


def test_a_column_list_profiles_exactly_those_columns_as_the_full_profile_does(basic: ProjectDir) -> None:
    assert basic.run("make").code == 0
    full = _profile(basic, "clean")
    basic.config(WITH_LIST)
    assert basic.run("make").code == 0
    listed = _profile(basic, "clean")
    assert sorted(listed["columns"]) == ["group", "value"]
    for name in ("group", "value"):  # a column's summary does not depend on the others
        assert listed["columns"][name] == full["columns"][name]
    assert listed["n_rows"] == full["n_rows"]


def test_changing_the_setting_reprofiles_from_the_cache_and_matches_a_clean_build(basic: ProjectDir) -> None:
    assert basic.run("make").code == 0
    default_lock = basic.lock_text()
    cached = _cache_state(basic)
    outputs = sorted(p.name for p in (basic.root / "build/clean").glob("*.parquet"))
    for config in (WITH_LIST, WITH_OFF, BASIC_CONFIG):
        basic.config(config)
        plan = basic.run("plan")
        assert "profile" in plan.out  # the reason names the changed key
        assert basic.run("make").code == 0
        assert _cache_state(basic) == cached  # no part recomputed or rewritten
        assert sorted(p.name for p in (basic.root / "build/clean").glob("*.parquet")) == outputs
        incremental_lock = basic.lock_text()
        # a clean build with the same setting gives the same bytes
        shutil.rmtree(basic.root / ".mldata")
        shutil.rmtree(basic.root / "build")
        (basic.root / "mldata.lock").unlink()
        assert basic.run("make").code == 0
        assert basic.lock_text() == incremental_lock
        cached = _cache_state(basic)
    assert basic.lock_text() == default_lock
    assert basic.run("make").code == 0 and basic.lock_text() == default_lock  # idempotent


def test_profile_false_keeps_the_reason_and_drift_against_it_says_so(basic: ProjectDir) -> None:
    basic.config(WITH_OFF)
    basic.write(".gitignore", "build/\n.mldata/\n")
    assert basic.run("make").code == 0
    assert _profile(basic, "clean") == {"skipped": "profile: false in mldata.yaml"}
    assert "columns" in _profile(basic, "top")  # the other target keeps its profile
    for args in (["init", "-q"], ["config", "user.email", "t@example.com"], ["config", "user.name", "t"],
                 ["add", "-A"], ["commit", "-qm", "build"]):
        subprocess.run(["git", *args], cwd=basic.root, check=True, capture_output=True)
    r = basic.run("drift", "clean")
    assert r.code == 2
    assert "keeps no profile" in r.err and "profile: false" in r.err
    assert basic.run("drift", "top").code in (0, 1)


def test_a_listed_column_missing_from_the_output_fails_the_target_and_keeps_the_previous_build(basic: ProjectDir) -> None:
    assert basic.run("make").code == 0
    before = basic.lock_text()
    outputs = {p.name: p.read_bytes() for p in (basic.root / "build/clean").glob("*.parquet")}
    basic.config(BASIC_CONFIG.replace("      - derive: {double: \"value * 2\"}\n",
                                      "      - derive: {double: \"value * 2\"}\n    profile: [value, valeu]\n"))
    r = basic.run("make")
    assert r.code == 1
    assert "valeu" in r.err and "double" in r.err  # names the bad column and the columns there are
    assert basic.lock_text() == before
    assert {p.name: p.read_bytes() for p in (basic.root / "build/clean").glob("*.parquet")} == outputs


def test_a_global_target_profiles_its_listed_columns(basic: ProjectDir) -> None:
    basic.config(BASIC_CONFIG + "    profile: [id]\n")  # on `top`, whose sort is a global step
    assert basic.run("make").code == 0
    assert list(_profile(basic, "top")["columns"]) == ["id"]
    assert "value" in _profile(basic, "clean")["columns"]


def test_bad_profile_settings_are_config_errors_with_a_location(basic: ProjectDir, tmp_path: Path) -> None:
    for bad, message in (("[]", "profiles no column"), ("[value, value]", "more than once"), ('"yes"', "profile")):
        basic.config(BASIC_CONFIG.replace("      - derive: {double: \"value * 2\"}\n",
                                          f"      - derive: {{double: \"value * 2\"}}\n    profile: {bad}\n"))
        r = basic.run("make")
        assert r.code == 2, (bad, r.err)
        assert message in r.err and "mldata.yaml:" in r.err, (bad, r.err)
