"""The content-addressed part cache in `.mldata/cache/parts/`, and keeping it small.

A cached part that is also hard-linked into `build/` costs no extra disk space; only parts
that no output uses any more (older versions of changed files, other git branches) do. Those
are pruned, least recently used first, once they exceed a bound (``MLDATA_CACHE_MAX_BYTES``,
default 2 GiB). On filesystems without hard links every cached part counts.

Beside the parts, `.mldata/cache/profiles/` keeps the merged lock profiles of the last
PROFILES_KEPT sets of parts (a few KB each), keyed by the parts' data: when a target's files
return to contents seen before (a git branch switched back), its profile is not merged again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mldata.scan import CACHE_DIR

DEFAULT_MAX_BYTES = 2 << 30
#: Merged profiles kept in the profile cache (the most recently used).
PROFILES_KEPT = 64


def max_bytes_from_env() -> int:
    raw = os.environ.get("MLDATA_CACHE_MAX_BYTES")
    if raw is None:
        return DEFAULT_MAX_BYTES
    try:
        return max(0, int(raw))
    except ValueError:
        from mldata.errors import UsageError

        raise UsageError(f"MLDATA_CACHE_MAX_BYTES must be a whole number of bytes, not {raw!r}") from None


def part_path(root: Path, key: str) -> Path:
    """Where the part with this content address lives: one flat folder. (Two-character fan-out
    folders, as git's, cost a directory inode per part on a fresh build; ext4 handles folders of
    a few hundred thousand files well.)"""
    return root / CACHE_DIR / "parts" / f"{key}.parquet"


def profile_path(root: Path, key: str) -> Path:
    """Where the merged profile with this key is cached: a blob (mldata/blob.py) with no buffers."""
    return root / CACHE_DIR / "profiles" / f"{key}.profile"


def load_profile(root: Path, key: str) -> dict[str, Any] | None:
    """The merged profile cached under ``key`` (None if absent or damaged), marked as used."""
    from mldata import blob

    path = profile_path(root, key)
    try:
        profile = blob.read_header(path).get("merged_profile")
    except (OSError, ValueError):
        return None
    if not isinstance(profile, dict) or "columns" not in profile:
        return None
    touch(path)
    return profile


def store_profile(root: Path, key: str, profile: dict[str, Any]) -> None:
    """Cache a merged profile under ``key`` (atomically; a failure only costs a merge later)."""
    from mldata import blob

    path = profile_path(root, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        blob.write(path, {"merged_profile": profile})
    except OSError:
        pass


def prune(root: Path, max_bytes: int) -> list[Path]:
    """Remove unused cached parts, oldest use first, until they fit in ``max_bytes``, and all
    but the PROFILES_KEPT most recently used merged profiles."""
    _prune_profiles(root / CACHE_DIR / "profiles")
    folder = root / CACHE_DIR / "parts"
    if not folder.is_dir():
        return []
    for legacy in [p for p in folder.iterdir() if p.is_dir()]:  # the fan-out layout of mldata 0.1
        import shutil

        shutil.rmtree(legacy, ignore_errors=True)
    unused: list[tuple[int, int, Path]] = []
    total = 0
    for path in folder.glob("*.parquet"):
        try:
            st = path.stat()
        except OSError:
            continue
        if st.st_nlink > 1:
            continue  # also an output in build/: free
        unused.append((st.st_atime_ns, st.st_size, path))
        total += st.st_size
    removed: list[Path] = []
    for _, size, path in sorted(unused):
        if total <= max_bytes:
            break
        path.with_suffix(".meta").unlink(missing_ok=True)  # its sidecar (build.sidecar_path)
        for legacy in (".json", ".profile.arrow", ".profile.arrow.skipped"):  # sidecars before 0.2
            path.with_name(path.stem + legacy).unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        total -= size
        removed.append(path)
    return removed


def _prune_profiles(folder: Path) -> None:
    if not folder.is_dir():
        return
    entries = []
    for path in folder.glob("*.profile"):
        try:
            entries.append((path.stat().st_atime_ns, path))
        except OSError:
            continue
    for _, path in sorted(entries, reverse=True)[PROFILES_KEPT:]:
        path.unlink(missing_ok=True)


def touch(path: Path) -> None:
    """Mark a cached part as used now (pruning removes the least recently used).

    Only the access time is set: the modification time stays, so the stat cache (and outputs
    hard-linked to the same file) still see the file as unchanged.
    """
    try:
        st = path.stat()
        os.utime(path, ns=(max(st.st_atime_ns, _now_ns()), st.st_mtime_ns))
    except OSError:
        pass


def _now_ns() -> int:
    import time

    return time.time_ns()
