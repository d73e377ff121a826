"""Reading old versions of mldata.lock from git (mldata/githistory.py), in temporary repositories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mldata.errors import LockError, UsageError
from mldata.githistory import Commit, lock_at, lock_history, resolve_rev, schema_at, schema_log

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch, tmp_path):
    """Keep the user's and the system's git configuration (signing, hooks, templates) out."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


class Repo:
    """A temporary git repository holding an mldata project, possibly in a subfolder."""

    def __init__(self, top: Path, project: str = "") -> None:
        self.top = top
        self.root = top / project if project else top
        self.root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Test")
        self.git("config", "user.email", "test@example.com")
        self.git("config", "commit.gpgsign", "false")
        self.tick = 0

    def git(self, *args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=self.top, capture_output=True, text=True, check=True)
        return proc.stdout.strip()

    def write_lock(self, schemas: dict[str, tuple[int, list[dict]]]) -> None:
        targets = {name: {"fingerprint": f"fp-{name}-{v}", "outputs": {}, "schema": {"version": v, "columns": cols}}
                   for name, (v, cols) in schemas.items()}
        doc = {"lock_version": 1, "targets": targets}
        (self.root / "mldata.lock").write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n", encoding="utf-8")

    def commit(self, message: str) -> str:
        self.tick += 1
        date = f"2026-01-{self.tick:02d}T12:00:00+00:00"
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        subprocess.run(["git", "add", "-A"], cwd=self.top, check=True, env=env)
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message], cwd=self.top, check=True, env=env)
        return self.git("rev-parse", "HEAD")


def col(name: str, typ: str = "int64", nullable: bool = True) -> dict:
    return {"name": name, "type": typ, "nullable": nullable}


V1 = [col("species", "string"), col("year", "int16")]
V2 = V1 + [col("bill_ratio", "double")]
V3 = [col("species", "string"), col("year", "int32"), col("bill_ratio", "double")]


@pytest.fixture
def history(tmp_path) -> Repo:
    """Four commits of the lock in a project subfolder, plus one commit that leaves it alone."""
    repo = Repo(tmp_path / "repo", "projects/penguins")
    repo.write_lock({"clean": (1, V1)})
    repo.commit("First build")
    (repo.root / "README.md").write_text("hello\n")
    repo.commit("Docs only")
    repo.write_lock({"clean": (1, V1), "summary": (1, [col("n")])})
    repo.commit("Add summary")
    repo.write_lock({"clean": (2, V2), "summary": (1, [col("n")])})
    repo.commit("Add bill_ratio")
    repo.write_lock({"clean": (3, V3), "summary": (1, [col("n")])})
    repo.commit("Widen year")
    return repo


# --------------------------------------------------------------------------------------------
# lock_at
# --------------------------------------------------------------------------------------------


def test_lock_at_should_read_a_committed_lock_from_a_project_subfolder(history):
    doc = lock_at(history.root, "HEAD~1")
    assert doc["lock_version"] == 1
    assert doc["targets"]["clean"]["schema"] == {"version": 2, "columns": V2}
    assert lock_at(history.root, "HEAD")["targets"]["clean"]["schema"]["version"] == 3
    assert lock_at(history.root, "main~4")["targets"].keys() == {"clean"}


def test_lock_at_should_not_touch_the_working_tree(history):
    history.write_lock({"clean": (9, [col("uncommitted")])})
    before = (history.root / "mldata.lock").read_text()
    assert lock_at(history.root, "HEAD")["targets"]["clean"]["schema"]["version"] == 3
    assert (history.root / "mldata.lock").read_text() == before
    assert history.git("status", "--porcelain") == "M projects/penguins/mldata.lock"


def test_lock_at_should_return_none_when_the_lock_did_not_exist(tmp_path):
    repo = Repo(tmp_path / "r")
    (repo.root / "mldata.yaml").write_text("version: 1\n")
    repo.commit("Config only")
    repo.write_lock({"clean": (1, V1)})
    repo.commit("First build")
    assert lock_at(repo.root, "HEAD~1") is None
    assert lock_at(repo.root, "HEAD") is not None


def test_schema_at_should_pick_the_target_entry(history):
    assert schema_at(history.root, "HEAD~1", "clean") == {"version": 2, "columns": V2}
    assert schema_at(history.root, "HEAD~4", "summary") is None
    assert schema_at(history.root, "HEAD", "nope") is None


def test_an_unknown_revision_should_be_a_usage_error(history):
    with pytest.raises(UsageError) as info:
        lock_at(history.root, "no-such-branch")
    assert str(info.value) == "unknown git revision 'no-such-branch'"
    assert "HEAD~1" in info.value.hint and info.value.exit_status == 2
    with pytest.raises(UsageError):
        lock_at(history.root, "HEAD~99")
    with pytest.raises(UsageError):
        lock_at(history.root, "--output=/tmp/x")  # never passed to git as an option


def test_outside_a_repository_we_should_say_so_plainly(tmp_path):
    project = tmp_path / "plain"
    project.mkdir()
    with pytest.raises(UsageError) as info:
        lock_at(project, "HEAD", what="schema diff --against")
    assert str(info.value).startswith("not a git repository: schema diff --against needs git history")
    assert "git init" in info.value.hint
    with pytest.raises(UsageError, match="not a git repository: `mldata schema log` needs git history"):
        lock_history(project)
    with pytest.raises(UsageError, match="not a git repository"):
        schema_log(project, "clean")


def test_without_git_we_should_say_git_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(UsageError) as info:
        lock_at(tmp_path, "HEAD")
    assert str(info.value) == "git is not installed (or not on PATH): `--against` needs git history"


def test_a_missing_project_folder_should_be_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        lock_at(tmp_path / "nope", "HEAD")


def test_a_corrupt_committed_lock_should_be_a_lock_error_naming_the_revision(tmp_path):
    repo = Repo(tmp_path / "r")
    (repo.root / "mldata.lock").write_text("<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> other\n")
    repo.commit("Oops")
    with pytest.raises(LockError) as info:
        lock_at(repo.root, "HEAD")
    assert str(info.value).startswith("mldata.lock at HEAD (")
    assert "merge conflict markers" in str(info.value)


def test_resolve_rev_should_give_the_full_hash(history):
    assert resolve_rev(history.root, "HEAD") == history.git("rev-parse", "HEAD")


# --------------------------------------------------------------------------------------------
# lock_history
# --------------------------------------------------------------------------------------------


def test_lock_history_should_list_the_commits_that_changed_the_lock_newest_first(history):
    commits = lock_history(history.root)
    assert [c.subject for c in commits] == ["Widen year", "Add bill_ratio", "Add summary", "First build"]
    first = commits[-1]
    assert isinstance(first, Commit)
    assert first.date == "2026-01-01T12:00:00+00:00"
    assert len(first.sha) == 40 and first.sha.startswith(first.short)
    assert first.path == "projects/penguins/mldata.lock"
    assert first.lock["targets"]["clean"]["schema"]["columns"] == V1
    assert [c.lock["targets"]["clean"]["schema"]["version"] for c in commits] == [3, 2, 1, 1]
    assert all(c.error is None for c in commits)
    assert commits[0].to_json()["has_lock"] is True


def test_lock_history_should_follow_a_moved_project_and_record_a_deleted_lock(history):
    history.git("mv", "projects/penguins", "penguins")
    history.commit("Move the project")
    moved = history.top / "penguins"
    commits = lock_history(moved)
    assert [c.subject for c in commits] == ["Move the project", "Widen year", "Add bill_ratio", "Add summary",
                                            "First build"]
    assert commits[0].path == "penguins/mldata.lock"
    assert commits[1].path == "projects/penguins/mldata.lock"
    assert all(c.lock is not None for c in commits)
    history.git("rm", "-q", "penguins/mldata.lock")
    history.commit("Drop the lock")
    commits = lock_history(moved)
    assert commits[0].subject == "Drop the lock" and commits[0].lock is None
    assert "deleted" in commits[0].error
    assert lock_at(moved, "HEAD") is None


def test_a_repository_without_commits_or_lock_history_should_give_an_empty_list(tmp_path):
    repo = Repo(tmp_path / "r")
    assert lock_history(repo.root) == []
    assert schema_log(repo.root, "clean") == []
    (repo.root / "x").write_text("x")
    repo.commit("No lock yet")
    assert lock_history(repo.root) == []


def test_an_unreadable_lock_in_history_should_be_kept_with_its_error(tmp_path):
    repo = Repo(tmp_path / "r")
    repo.write_lock({"clean": (1, V1)})
    repo.commit("Good")
    (repo.root / "mldata.lock").write_text("not json")
    repo.commit("Bad")
    repo.write_lock({"clean": (2, V2)})
    repo.commit("Fixed")
    commits = lock_history(repo.root)
    assert [(c.subject, c.lock is None) for c in commits] == [("Fixed", False), ("Bad", True), ("Good", False)]
    assert "not valid JSON" in commits[1].error
    assert [e.version for e in schema_log(repo.root, "clean")] == [2, 1]


# --------------------------------------------------------------------------------------------
# schema_log
# --------------------------------------------------------------------------------------------


def test_schema_log_should_list_each_version_once_with_its_changes(history):
    entries = schema_log(history.root, "clean")
    assert [(e.version, e.subject) for e in entries] == [(3, "Widen year"), (2, "Add bill_ratio"), (1, "First build")]
    assert entries[0].changes == ("~ type widened: year int16 → int32 — compatible",)
    assert entries[1].changes == ("+ column added: bill_ratio (double, nullable) — compatible",)
    assert entries[2].changes == ("first recorded version: 2 columns",)
    assert not any(e.breaking for e in entries)
    assert entries[2].date == "2026-01-01T12:00:00+00:00" and len(entries[2].commit) == 40
    assert list(entries[0].columns) == V3
    assert json.loads(json.dumps(entries[0].to_json()))["version"] == 3
    assert [e.version for e in schema_log(history.root, "summary")] == [1]
    assert schema_log(history.root, "nope") == []


def test_schema_log_should_mark_breaking_versions(history):
    history.write_lock({"clean": (4, [col("species", "string")])})
    history.commit("Drop year and bill_ratio")
    [latest, *_] = schema_log(history.root, "clean")
    assert latest.version == 4 and latest.breaking
    assert latest.changes == ("- column removed: year (int32, nullable) — breaking",
                              "- column removed: bill_ratio (double, nullable) — breaking")


def test_schema_log_can_include_the_uncommitted_build(history):
    assert schema_log(history.root, "clean", include_worktree=True)[0].version == 3  # unchanged: no entry
    history.write_lock({"clean": (4, V3 + [col("island", "string")])})
    entries = schema_log(history.root, "clean", include_worktree=True)
    assert (entries[0].version, entries[0].commit, entries[0].short) == (4, "", "working tree")
    assert entries[0].changes == ("+ column added: island (string, nullable) — compatible",)
    assert [e.version for e in schema_log(history.root, "clean")] == [3, 2, 1]
