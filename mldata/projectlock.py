"""One build at a time per project: an advisory lock on `.mldata/build.lock`.

The lock is a kernel file lock (flock), so it is released when its holder exits in any way,
including SIGKILL or power loss: a lock left by a killed process is never "stale", it is simply
free. The holder's pid is written into the file for the waiting message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Callable

from mldata.errors import BusyError

LOCK_PATH = ".mldata/build.lock"


class ProjectLock:
    """Hold the project's build lock for the duration of a ``with`` block."""

    def __init__(self, root: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> None:
        self.path = root / LOCK_PATH
        self.wait = wait
        self.on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> "ProjectLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            if not self.wait:
                os.close(fd)
                raise BusyError(
                    f"another mldata build is running in this project ({holder})",
                    hint="wait for it to finish, or run without --no-wait to wait for it",
                ) from None
            if self.on_wait:
                self.on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "pid unknown"
