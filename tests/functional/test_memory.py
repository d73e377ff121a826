"""Bounded memory: a source file larger than the memory a build may use still builds.

The build runs in a subprocess under an address-space limit (RLIMIT_AS) below the decoded
size of its one CSV file. Allocators reserve address space they never touch (mimalloc, and
glibc's per-thread arenas), which RLIMIT_AS counts, so the subprocess uses Arrow's system pool
and one malloc arena: what is left measured is what the build really maps.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LIMIT = 640 << 20  # bytes of address space, shared libraries (~270 MB) included
TARGET_CSV_BYTES = 560 << 20


def _write_big_csv(path: Path) -> int:
    block = "".join(f"{i},{i * 0.37:.4f},{'abcde'[i % 5]},note {i % 977}\n" for i in range(50_000)).encode()
    rows = 0
    with open(path, "wb") as fh:
        fh.write(b"id,x,cat,note\n")
        written = 0
        while written < TARGET_CSV_BYTES:
            fh.write(block)
            written += len(block)
            rows += 50_000
    return rows


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def _env() -> dict[str, str]:
    return {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_ARENA_MAX": "1"}


def test_given_a_csv_larger_than_the_memory_limit_row_local_steps_stream_through(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    rows = _write_big_csv(root / "data" / "big.csv")
    (root / "mldata.yaml").write_text(
        "version: 1\nsources:\n  big: {path: data/big.csv}\ntargets:\n  out:\n    from: big\n"
        "    steps:\n      - filter: \"x >= 0\"\n      - derive: {y: \"x * 2\"}\n"
    )
    # The limit bites: reading the file whole does not fit.
    whole = subprocess.run(
        [sys.executable, "-c", "import pyarrow.csv as c, sys; t = c.read_csv(sys.argv[1]); print(t.nbytes)",
         str(root / "data" / "big.csv")],
        capture_output=True, text=True, preexec_fn=_limited, env=_env(),
    )
    assert whole.returncode != 0, f"reading whole fitted ({whole.stdout.strip()} bytes decoded): raise TARGET_CSV_BYTES"
    build = subprocess.run(
        [sys.executable, "-m", "mldata", "-C", str(root), "make", "-j", "1", "--json"],
        capture_output=True, text=True, preexec_fn=_limited, env=_env(), timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(root / "build" / "out" / "big.parquet").metadata
    assert meta.num_rows == rows
