"""Old versions of ``mldata.lock``, read from git history without checking anything out.

``mldata schema diff --against REV``, ``mldata schema log`` and ``mldata drift --against REV``
compare the current build with builds recorded in earlier commits. The lock is a committed,
deterministic file, so its history *is* the build history: this module reads it with
``git cat-file`` / ``git log`` in the project folder, which may be a subfolder of the repository
(``git rev-parse --show-prefix`` gives the path of the lock inside the repository). The working
tree, the index and HEAD are never touched.

Every git problem a user can hit is a :class:`~mldata.errors.UsageError` (exit status 2) that
says plainly what is missing: git itself, a repository, or the revision.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from mldata import lock as lockfile
from mldata.errors import LockError, UsageError
from mldata.schema import diff_schemas

__all__ = ["Commit", "SchemaVersionEntry", "lock_at", "lock_history", "resolve_rev", "schema_at", "schema_log"]

LOCK_FILE = lockfile.LOCK_FILE
_NO_REPO_HINT = ("commit mldata.lock in git (e.g. `git init && git add mldata.yaml mldata.lock && "
                 "git commit -m build`) to compare builds across revisions")


@dataclass(frozen=True)
class Commit:
    """A commit that changed ``mldata.lock``, with the lock as of that commit.

    ``lock`` is the parsed document (``{"lock_version": 1, "targets": {...}}``), or None when the
    commit deleted the lock or the lock it holds cannot be read (``error`` then says why). ``date``
    is the committer date in strict ISO 8601; ``path`` is the lock's path in the repository at
    that commit (it differs from today's when the project folder was moved).
    """

    sha: str
    short: str
    date: str
    subject: str
    lock: dict[str, Any] | None
    path: str = ""
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"sha": self.sha, "short": self.short, "date": self.date, "subject": self.subject,
                "path": self.path, "error": self.error, "has_lock": self.lock is not None}


@dataclass(frozen=True)
class SchemaVersionEntry:
    """One schema version of a target, as first recorded in a commit (``mldata schema log``).

    ``changes`` are the human diff lines against the previous version (for the first version,
    one line that says so). ``commit`` is empty for the working tree's uncommitted lock.
    """

    version: int | None
    commit: str
    short: str
    date: str
    subject: str
    columns: tuple[Mapping[str, Any], ...]
    changes: tuple[str, ...]
    breaking: bool

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "commit": self.commit, "short": self.short, "date": self.date,
                "subject": self.subject, "columns": [dict(c) for c in self.columns],
                "changes": list(self.changes), "breaking": self.breaking}


# ------------------------------------------------------------------------------------------------
# Running git
# ------------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"LC_ALL": "C", "LANGUAGE": "C", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0",
                "GIT_OPTIONAL_LOCKS": "0"})
    return env


def _git(root: Path, args: Sequence[str], what: str, *, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=root, input=stdin,
                              capture_output=True, env=_env(), check=False)
    except FileNotFoundError:
        raise UsageError(f"git is not installed (or not on PATH): {what} needs git history",
                         hint="install git, or compare two built paths instead") from None
    except NotADirectoryError:
        raise UsageError(f"project folder {root} is not a directory") from None


def _stderr(proc: subprocess.CompletedProcess) -> str:
    text = proc.stderr.decode("utf-8", "replace").strip()
    lines = [ln.removeprefix("fatal: ").strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else f"git exited with status {proc.returncode}"


def _prefix(root: Path, what: str) -> str:
    """The project folder's path inside its repository ("" at the top, else ending in "/")."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"project folder {root} does not exist")
    proc = _git(root, ["rev-parse", "--show-prefix"], what)
    if proc.returncode != 0:
        reason = _stderr(proc)
        if "not a git repository" in reason.lower():
            raise UsageError(f"not a git repository: {what} needs git history ({root} is not inside one)",
                             hint=_NO_REPO_HINT)
        raise UsageError(f"git cannot read the repository of {root}: {reason}",
                         hint="run `git status` in the project folder to see the problem")
    return proc.stdout.decode("utf-8", "replace").strip()


def _resolve(root: Path, rev: str, what: str) -> str:
    if not rev or rev.startswith("-") or "\n" in rev:
        raise UsageError(f"invalid git revision {rev!r}", hint="give a commit, branch or tag, e.g. HEAD~1")
    proc = _git(root, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], what)
    if proc.returncode != 0:
        raise UsageError(
            f"unknown git revision {rev!r}",
            hint="give a commit, branch or tag, e.g. HEAD~1 or main; "
                 f"`git log --oneline -- {LOCK_FILE}` lists the commits that changed the lock")
    return proc.stdout.decode().strip()


def _cat(root: Path, specs: Sequence[str], what: str) -> list[bytes | None]:
    """The contents of ``rev:path`` objects, in one ``git cat-file --batch`` (None when absent)."""
    if not specs:
        return []
    proc = _git(root, ["cat-file", "--batch"], what, stdin="".join(f"{s}\n" for s in specs).encode())
    if proc.returncode != 0:
        raise UsageError(f"git cat-file failed: {_stderr(proc)}")
    out, pos, blobs = proc.stdout, 0, []
    for _ in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode("utf-8", "replace").split(" ")
        pos = end + 1
        if len(header) == 3 and header[1] == "blob":
            size = int(header[2])
            blobs.append(out[pos:pos + size])
            pos += size + 1
        elif len(header) == 3 and header[2].isdigit():  # not a blob (a folder named mldata.lock?)
            pos += int(header[2]) + 1
            blobs.append(None)
        else:  # "<spec> missing" / "ambiguous"
            blobs.append(None)
    return blobs


def _parse_lock(blob: bytes, where: str) -> dict[str, Any]:
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise LockError(f"{where} is not UTF-8 text") from None
    try:
        parsed = lockfile.parse(text)
    except LockError as exc:
        raise LockError(f"{where}: {exc.message}",
                        hint="that revision's lockfile cannot be read; compare against another revision") from None
    return {"lock_version": lockfile.LOCK_VERSION, "targets": parsed.targets}


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------


def resolve_rev(root: Path, rev: str, *, what: str = "`--against`") -> str:
    """The full commit hash ``rev`` names in the repository of ``root`` (UsageError if unknown)."""
    _prefix(Path(root), what)
    return _resolve(Path(root), rev, what)


def lock_at(root: Path, rev: str, *, what: str = "`--against`") -> dict[str, Any] | None:
    """The lock document of the project at ``root`` as committed in ``rev``, or None when the lock
    did not exist at that revision. ``what`` names the feature in error messages."""
    root = Path(root)
    prefix = _prefix(root, what)
    sha = _resolve(root, rev, what)
    [blob] = _cat(root, [f"{sha}:{prefix}{LOCK_FILE}"], what)
    if blob is None:
        return None
    return _parse_lock(blob, f"{LOCK_FILE} at {rev} ({sha[:12]})")


def schema_at(root: Path, rev: str, target: str, *, what: str = "`schema diff --against`") -> dict[str, Any] | None:
    """The ``schema`` entry of ``target`` in the lock committed at ``rev`` (None if absent)."""
    doc = lock_at(root, rev, what=what)
    entry = (doc or {}).get("targets", {}).get(target)
    schema = entry.get("schema") if isinstance(entry, dict) else None
    return schema if isinstance(schema, dict) else None


def lock_history(root: Path, *, what: str = "`mldata schema log`") -> list[Commit]:
    """Every commit that changed the project's ``mldata.lock``, newest first, each with the lock
    as of that commit. Renames of the project folder are followed; a commit that deleted the
    lock, or whose lock cannot be parsed, has ``lock=None``. No commits: an empty list."""
    root = Path(root)
    prefix = _prefix(root, what)
    head = _git(root, ["rev-parse", "--verify", "--quiet", "HEAD"], what)
    if head.returncode != 0:
        return []  # a repository without commits
    proc = _git(root, ["log", "--follow", "--format=%x1e%H%x1f%h%x1f%cI%x1f%s", "--name-status",
                       "--end-of-options", "HEAD", "--", LOCK_FILE], what)  # pathspecs are cwd-relative
    if proc.returncode != 0:
        raise UsageError(f"git log failed: {_stderr(proc)}")
    records = []
    for chunk in proc.stdout.decode("utf-8", "replace").split("\x1e")[1:]:
        lines = chunk.split("\n")
        fields = lines[0].split("\x1f")
        if len(fields) != 4:
            continue
        sha, short, date, subject = fields
        status, path = "M", f"{prefix}{LOCK_FILE}"
        for line in lines[1:]:
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0]:
                status, path = parts[0][0], parts[-1]
        records.append((sha, short, date, subject, status, path))
    blobs = _cat(root, [f"{r[0]}:{r[5]}" for r in records if r[4] != "D"], what)
    it = iter(blobs)
    commits = []
    for sha, short, date, subject, status, path in records:
        doc, error = None, None
        if status == "D":
            error = "the lock was deleted in this commit"
        else:
            blob = next(it)
            if blob is None:
                error = "the lock is not in this commit"
            else:
                try:
                    doc = _parse_lock(blob, f"{LOCK_FILE} at {short}")
                except LockError as exc:
                    error = exc.message
        commits.append(Commit(sha, short, date, subject, doc, path, error))
    return commits


def _columns_key(columns: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, bool]]:
    return [(str(c.get("name")), str(c.get("type")), bool(c.get("nullable", True))) for c in columns]


def _target_schema(doc: Mapping[str, Any] | None, target: str) -> dict[str, Any] | None:
    entry = ((doc or {}).get("targets") or {}).get(target)
    schema = entry.get("schema") if isinstance(entry, dict) else None
    if not isinstance(schema, dict) or not isinstance(schema.get("columns"), list):
        return None
    return schema


def schema_log(root: Path, target: str, *, include_worktree: bool = False,
               what: str = "`mldata schema log`") -> list[SchemaVersionEntry]:
    """The schema versions of ``target`` across the git history of ``mldata.lock``, newest first:
    for each version, the commit that first recorded it and the changes from the previous
    version. With ``include_worktree``, an uncommitted lock whose schema differs from the last
    committed one is listed first (``commit`` empty). A target never committed: an empty list."""
    root = Path(root)
    history = lock_history(root, what=what)
    entries: list[SchemaVersionEntry] = []
    prev: dict[str, Any] | None = None

    def add(schema: dict[str, Any], sha: str, short: str, date: str, subject: str) -> None:
        nonlocal prev
        columns = schema["columns"]
        version = schema.get("version") if isinstance(schema.get("version"), int) else None
        if prev is not None and _columns_key(prev["columns"]) == _columns_key(columns) \
                and prev.get("version") == schema.get("version"):
            return
        if prev is None:
            lines = (f"first recorded version: {len(columns)} column{'s' if len(columns) != 1 else ''}",)
            breaking = False
        else:
            diff = diff_schemas(prev["columns"], columns)
            lines = tuple(diff.lines()) or ("version renumbered; columns unchanged",)
            breaking = diff.breaking
        entries.append(SchemaVersionEntry(version, sha, short, date, subject,
                                          tuple(dict(c) for c in columns), lines, breaking))
        prev = schema

    for commit in reversed(history):
        schema = _target_schema(commit.lock, target)
        if schema is not None:
            add(schema, commit.sha, commit.short, commit.date, commit.subject)
    if include_worktree:
        try:
            current = lockfile.read(root)
        except LockError:
            current = None
        schema = _target_schema({"targets": current.targets} if current else None, target)
        if schema is not None:
            add(schema, "", "working tree", "", "uncommitted build")
    return list(reversed(entries))
