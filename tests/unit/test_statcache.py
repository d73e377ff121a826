"""The stat cache: hash once, trust (size, mtime, inode) afterwards, never trust a racy entry."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mldata.fingerprint import file_digest
from mldata.statcache import RACY_SECONDS, StatCache


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_given_an_old_file_it_is_hashed_once_and_then_trusted(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("x\n1\n")
    _age(f, 60)
    cache = StatCache(tmp_path / "cache.json")
    assert cache.digest(f) == file_digest(f)
    cache.save()
    again = StatCache(tmp_path / "cache.json")
    assert again.digest(f) == file_digest(f)
    assert again.hashed_files == 0


def test_given_a_racily_recent_file_it_is_rehashed_every_time(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("x\n1\n")  # modified just now: within RACY_SECONDS
    cache = StatCache(tmp_path / "cache.json")
    cache.digest(f)
    cache.save()
    again = StatCache(tmp_path / "cache.json")
    # same size, same mtime tick, new content: only rehashing can notice
    st = f.stat()
    f.write_text("x\n2\n")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert again.digest(f) == file_digest(f)
    assert again.hashed_files == 1
    assert RACY_SECONDS >= 1


def test_given_a_changed_stat_the_file_is_rehashed(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("x\n1\n")
    _age(f, 60)
    cache = StatCache(tmp_path / "cache.json")
    old = cache.digest(f)
    f.write_text("x\n22\n")
    _age(f, 30)
    assert cache.digest(f) != old
    assert cache.hashed_files == 2


def test_given_a_large_file_hashing_reports_progress_and_windows_agree(tmp_path: Path, monkeypatch) -> None:
    import blake3

    import mldata.fingerprint as fp

    monkeypatch.setattr(fp, "_MMAP_WINDOW", 1 << 16)  # force several windows
    monkeypatch.setattr(fp, "_READ_MAX_BYTES", 0)  # (and no plain read)
    f = tmp_path / "big.bin"
    f.write_bytes(os.urandom(300_000))
    assert fp.file_digest(f) == blake3.blake3(f.read_bytes()).hexdigest()
    seen: list[tuple[str, int]] = []
    cache = StatCache(tmp_path / "cache.json", on_hash=lambda path, size: seen.append((path, size)), report_min_bytes=1)
    cache.digest(f)
    assert seen == [(str(f), 300_000)]


def test_given_a_corrupt_cache_file_it_starts_empty(tmp_path: Path) -> None:
    (tmp_path / "cache.json").write_text("{nope")
    f = tmp_path / "a"
    f.write_text("1")
    assert StatCache(tmp_path / "cache.json").digest(f) == file_digest(f)


def test_many_files_are_hashed_in_threads_with_the_same_digests_and_cache_entries(tmp_path: Path, monkeypatch) -> None:
    import threading

    import mldata.statcache as statcache

    files = []
    for i in range(40):
        f = tmp_path / f"f{i:02d}.csv"
        f.write_bytes(os.urandom(1000 * i))  # sizes 0 .. 39 KB, the empty file too
        _age(f, 60)
        files.append(f)
    threads: set[str] = set()
    real = statcache.file_digest

    def spy(path):
        threads.add(threading.current_thread().name)
        return real(path)

    monkeypatch.setattr(statcache, "file_digest", spy)
    cache = StatCache(tmp_path / "cache.json")
    cache.digest(files[3])  # one known already
    assert cache.digest_many(files) == [file_digest(f) for f in files]
    assert cache.hashed_files == 40 and cache.hashed_bytes == sum(f.stat().st_size for f in files)
    assert any(name.startswith("mldata-hash") for name in threads)
    cache.save()
    again = StatCache(tmp_path / "cache.json")
    assert again.digest_many(files) == [file_digest(f) for f in files]
    assert again.hashed_files == 0  # all entries were stored


def test_small_files_are_read_and_large_ones_mapped_with_equal_digests(tmp_path: Path, monkeypatch) -> None:
    import blake3

    import mldata.fingerprint as fingerprint

    data = os.urandom(3 << 20)
    f = tmp_path / "a.bin"
    f.write_bytes(data)
    expected = blake3.blake3(data).hexdigest()
    assert fingerprint.file_digest(f) == expected  # mapped (3 MB > _READ_MAX_BYTES)
    monkeypatch.setattr(fingerprint, "_READ_MAX_BYTES", 4 << 20)
    assert fingerprint.file_digest(f) == expected  # read


def test_many_files_are_reported_before_hashing_from_the_reporting_size(tmp_path: Path) -> None:
    files = []
    for i in range(20):
        f = tmp_path / f"f{i:02d}.csv"
        f.write_bytes(b"x" * (100 * i))
        files.append(f)
    seen: list[tuple[str, int]] = []
    cache = StatCache(tmp_path / "cache.json", on_hash=lambda path, size: seen.append((path, size)),
                      report_min_bytes=1000)
    cache.digest_many(files)
    assert seen == [(str(f), f.stat().st_size) for f in files[10:]]
