"""Bad configuration: exit 2, file:line:column, the offending key, a suggestion; nothing built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ProjectDir, csv_rows


def _bad(project: ProjectDir, yaml: str, *fragments: str) -> str:
    project.config(yaml)
    project.write("data/a.csv", csv_rows(3))
    r = project.run("make")
    assert r.code == 2, (r.out, r.err)
    for fragment in fragments:
        assert fragment in r.err, r.err
    assert not (project.root / "build").exists()
    assert not (project.root / "mldata.lock").exists()
    return r.err


def test_given_a_typo_in_a_target_key_we_name_file_line_column_and_suggest(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          t:
            from: raw
            stesp: []
        """, "mldata.yaml:7:5", "unknown key 'stesp'", "did you mean 'steps'?")


def test_given_an_unknown_step_we_suggest_the_nearest(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          t:
            from: raw
            steps:
              - filtr: "id > 1"
        """, "mldata.yaml:8:9", "unknown step 'filtr'", "did you mean 'filter'?")


def test_given_an_unknown_key_inside_a_step_we_point_at_it(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          t:
            from: raw
            steps:
              - sort: {by: [id], decending: true}
        """, "mldata.yaml:8", "unknown key 'decending'", "did you mean 'descending'?")


def test_given_an_unknown_input_name_we_suggest_the_declared_one(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          t: {from: rwa}
        """, "mldata.yaml:5", "'rwa'", "did you mean 'raw'?")


def test_given_a_cycle_we_name_it(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          a: {from: b}
          b: {from: a}
        """, "dependency cycle", "a -> b")


def test_given_duplicate_names_we_point_at_the_second(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          t: {from: raw}
          t: {from: raw}
        """, "mldata.yaml:6", "duplicate key")


def test_given_a_target_named_like_a_source_it_is_an_error(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          raw: {from: raw}
        """, "same name as a source")


def test_given_two_targets_with_one_output_it_is_an_error(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          a: {from: raw, output: build/x}
          b: {from: raw, output: build/x}
        """, "same or overlapping output")


def test_given_an_output_outside_the_project_it_is_an_error(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          a: {from: raw, output: ../elsewhere}
        """, "mldata.yaml:5", "outside the project")


@pytest.mark.parametrize(
    "compression, message",
    [("zstd:30", "valid levels are 1..22"), ("snappy:3", "takes no compression level"), ("zip", "unknown compression codec 'zip'")],
)
def test_given_an_invalid_codec_or_level_it_is_an_error(project: ProjectDir, compression: str, message: str) -> None:
    _bad(project, f"""
        version: 1
        defaults:
          compression: {compression}
        sources:
          raw: {{path: data/a.csv}}
        targets:
          a: {{from: raw}}
        """, "mldata.yaml:3", message)


def test_given_a_malformed_expression_we_show_where(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          a:
            from: raw
            steps:
              - filter: "id > > 1"
        """, "mldata.yaml:8", "id > > 1")


def test_given_a_missing_source_file_it_is_a_config_error(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/nothing-*.csv}
        targets:
          a: {from: raw}
        """, "no file matches 'data/nothing-*.csv'", "mldata.yaml:3")


def test_given_a_python_tag_yaml_is_loaded_safely(project: ProjectDir, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _bad(project, f"""
        version: 1
        sources:
          raw: !!python/object/apply:os.system ["touch {marker}"]
        targets: {{}}
        """, "mldata.yaml")
    assert not marker.exists()


def test_given_a_wrong_type_we_say_what_was_expected(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        defaults:
          workers: many
        sources:
          raw: {path: data/a.csv}
        targets:
          a: {from: raw}
        """, "mldata.yaml:3", "workers")


@pytest.mark.parametrize("value, message", [
    ("maybe", "mldata.yaml:7:5: targets.a.dictionary: expected 'auto', a valid boolean or a valid list (got 'maybe')"),
    ("[1, x]", "mldata.yaml:7:18: targets.a.dictionary[0]: Input should be a valid string (got 1)"),
])
def test_given_a_value_that_fits_no_choice_of_a_key_we_say_so_once(project: ProjectDir, value: str, message: str) -> None:
    # pydantic reports such a value once per choice (auto, a boolean, a list), under each choice's name
    project.write("data/a.csv", csv_rows(3))
    project.config(f"""
        version: 1
        sources:
          raw: {{path: data/a.csv}}
        targets:
          a:
            from: raw
            dictionary: {value}
        """)
    r = project.run("make")
    assert r.code == 2
    assert message in r.err and "problems" not in r.err and "bool" not in r.err.replace("boolean", "")


def test_given_several_inputs_without_a_function_it_is_an_error(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
          raw2: {path: data/a.csv}
        targets:
          a: {from: [raw, raw2]}
        """, "python", "combine")


def test_given_an_unknown_type_in_cast_we_suggest(project: ProjectDir) -> None:
    _bad(project, """
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          a:
            from: raw
            steps:
              - cast: {id: int33}
        """, "mldata.yaml:8", "int33")


def test_given_no_config_we_say_how_to_start(tmp_path: Path, capsys) -> None:
    from mldata.cli import main

    code = main(["-C", str(tmp_path), "plan"])
    assert code == 2
    assert "mldata init" in capsys.readouterr().err


def test_given_a_corrupt_lock_we_say_how_to_recover(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          raw: {path: data/a.csv}
        targets:
          a: {from: raw}
        """)
    project.write("data/a.csv", csv_rows(3))
    assert project.run("make").code == 0
    good = project.lock_text()
    lines = good.splitlines()
    project.write("mldata.lock", "\n".join(["<<<<<<< HEAD", *lines, "=======", *lines, ">>>>>>> other"]) + "\n")
    r = project.run("make")
    assert r.code == 2
    assert "merge conflict" in r.err and "--rebuild-lock" in r.err
    r = project.run("make", "--rebuild-lock")
    assert r.code == 0, r.err
    assert project.lock_text() == good
    project.write("mldata.lock", "{not json")
    r = project.run("status")
    assert r.code == 2 and "not valid JSON" in r.err


def test_json_schema_of_the_config_is_in_sync() -> None:
    from mldata.config import json_schema

    path = Path(__file__).parents[2] / "schemas" / "mldata.schema.json"
    expected = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    assert path.read_text() == expected, "run `python -m mldata.jsonschema` to regenerate schemas/mldata.schema.json"
