"""Interrupting builds: Ctrl+C, SIGTERM and SIGKILL at random moments, and concurrent builds.

These run `mldata make` as a real subprocess with a process pool; a row-local python step sleeps
per batch so the build lasts long enough to be interrupted at chosen moments.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CONFIG = """
version: 1
sources:
  raw: {path: data/*.csv}
targets:
  slow:
    from: raw
    steps:
      - filter: "value is not null"
      - python: pipes:nap
        row_local: true
        params: {seconds: 0.15}
      - derive: {double: "value * 2"}
  ranked:
    from: slow
    steps:
      - sort: {by: [value, id]}
"""


def _project(root: Path, files: int = 16) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "mldata.yaml").write_text(CONFIG)
    (root / "pipes.py").write_text("import time\n\ndef nap(batch, seconds):\n    time.sleep(seconds)\n    return batch\n")
    for f in range(files):
        rows = ["id,value"] + [f"{f * 1000 + i},{'' if i % 5 == 0 else i * 0.5}" for i in range(200)]
        (root / "data" / f"f{f:02}.csv").write_text("\n".join(rows) + "\n")
    return root


def _start(root: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "mldata", "-C", str(root), "make", "-j", "2", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_sigint_as_in_a_terminal)


def _sigint_as_in_a_terminal() -> None:
    """A build started from a terminal gets Ctrl+C. One started where SIGINT is ignored (a
    background job of a non-interactive shell, as some CI runners start the suite) inherits the
    ignoring, and Python then ignores SIGINT too, rightly: reset it, as a terminal would have it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _make(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mldata", "-C", str(root), "make", "-j", "2"],
                          capture_output=True, text=True, timeout=120)


def _snapshot(root: Path) -> dict[str, bytes]:
    out = {"mldata.lock": (root / "mldata.lock").read_bytes()}
    for p in sorted((root / "build").rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def _no_temporaries(root: Path) -> None:
    assert not [p for p in root.rglob(".tmp-*")], "temporary files left behind"
    assert not [p for p in root.glob(".mldata.lock.tmp*")]


def _wait_for_parts(root: Path, n: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(list((root / ".mldata/cache/parts").glob("*.meta"))) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the build made no progress")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = _project(tmp_path_factory.mktemp("ref") / "p")
    assert _make(root).returncode == 0
    return _snapshot(root)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_given_an_interrupt_the_build_stops_quickly_cleanly_and_resumes(tmp_path: Path, reference, sig) -> None:
    root = _project(tmp_path / "p")
    proc = _start(root)
    _wait_for_parts(root, 3)
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    elapsed = time.monotonic() - sent
    assert proc.returncode == 130, (out, err)
    assert elapsed < 3.0, f"took {elapsed:.1f} s to stop"
    assert "interrupted" in err and "not done: slow" in err and "kept in the cache" in err
    _no_temporaries(root)
    if (root / "mldata.lock").exists():
        json.loads((root / "mldata.lock").read_text())  # still valid
    kept = len(list((root / ".mldata/cache/parts").glob("*.meta")))
    resumed = _make(root)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{kept} from cache" in resumed.stdout
    assert _snapshot(root) == reference


def test_given_sigkill_at_random_moments_the_next_make_gives_a_clean_result(tmp_path: Path, reference) -> None:
    rng = random.Random(20261126)
    root = _project(tmp_path / "p")
    for trial in range(4):
        proc = _start(root, "--force") if trial else _start(root)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.kill()  # the parent only: its workers must die with it (PR_SET_PDEATHSIG)
        proc.communicate(timeout=20)
        # workers orphaned by the kill finish or die on their own; the lock must stay valid
        if (root / "mldata.lock").exists():
            json.loads((root / "mldata.lock").read_text())
    time.sleep(0.5)
    result = _make(root)
    assert result.returncode == 0, result.stderr
    _no_temporaries(root)
    assert _snapshot(root) == reference


def test_given_two_builds_at_once_the_second_waits_or_refuses(tmp_path: Path, reference) -> None:
    root = _project(tmp_path / "p")
    first = _start(root)
    _wait_for_parts(root, 1)
    refused = subprocess.run([sys.executable, "-m", "mldata", "-C", str(root), "make", "--no-wait"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "another mldata build is running" in refused.stderr
    second = _start(root)
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    assert "waiting for another mldata build" in err2
    assert "nothing to do" in out2
    assert _snapshot(root) == reference


def test_ctrl_c_while_the_command_is_still_importing_exits_130_without_a_traceback() -> None:
    # A Ctrl+C in the first ~0.1 s (the CLI's imports) lands here: simulated by an import hook.
    script = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'mldata.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from mldata._launch import main\n"
        "main()\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 130
    assert r.stderr == "interrupted\n"
