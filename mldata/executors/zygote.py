"""A fork server started by fork: one process imports pyarrow, and the workers are forked from it.

The process pool's workers each used to import pyarrow (and numpy, and mldata's part code): about
0.35 s of CPU per worker, paid while the parent loads the project on the same cores, so a first
build's parts could start only ~0.75 s in. multiprocessing's "forkserver" start method imports
them once and forks every worker from that process, but it starts its server by exec'ing a new
interpreter, which then imports site, mldata and pyarrow from scratch, serially, before the
first worker exists (measured: slower than plain fork). Here the server is started by *forking*
the build process (which already holds Python, click and mldata's planning modules), so it only
imports what the workers need, on the second core, while the parent loads the project.

After :func:`forked_server_context` the standard forkserver machinery takes over: the pool's
``ProcessPoolExecutor`` asks the server for each worker, passing its pipes as file descriptors.
The server exits when the build process closes its end of the "alive" pipe, or dies.

This uses multiprocessing.forkserver's module state (the server's address, pid and alive fd),
stable from Python 3.4 to 3.13. Where it differs (e.g. the authenticated server of 3.14), or
anything fails, the caller gets None and uses the plain "fork" method, as before.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from typing import Any, NoReturn, Sequence


def forked_server_context(preload: Sequence[str]) -> Any | None:
    """A "forkserver" multiprocessing context whose server was forked from this process and has
    imported ``preload``; None where that cannot be done (then use "fork")."""
    if not sys.platform.startswith("linux") or sys.version_info >= (3, 14):
        return None
    import multiprocessing
    from multiprocessing import connection, forkserver, resource_tracker, util

    from mldata.executors.process import stop_signals_deferred

    server = getattr(forkserver, "_forkserver", None)
    if server is None or not all(hasattr(server, a) for a in
                                 ("_lock", "_forkserver_pid", "_forkserver_address", "_forkserver_alive_fd")):
        return None
    with server._lock:
        if server._forkserver_pid is not None:
            return None  # a server is already running in this process: leave it alone
        # The forkserver context tracks its named semaphores in multiprocessing's resource tracker
        # (a small process that unlinks them if the build is killed). Start it now, so that the
        # server and the workers know its pipe. After a SIGKILL it would warn about the
        # "leaked" semaphores it then cleans up, which tells a user nothing: silence that.
        saved = os.environ.get("PYTHONWARNINGS")
        os.environ["PYTHONWARNINGS"] = "ignore::UserWarning"
        try:
            resource_tracker.ensure_running()
        finally:
            if saved is None:
                os.environ.pop("PYTHONWARNINGS", None)
            else:
                os.environ["PYTHONWARNINGS"] = saved
        address = connection.arbitrary_address("AF_UNIX")
        listener = socket.socket(socket.AF_UNIX)
        try:
            listener.bind(address)
            if not util.is_abstract_socket_namespace(address):
                os.chmod(address, 0o600)
            listener.listen()
            alive_r, alive_w = os.pipe()
        except OSError:
            listener.close()
            return None
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()  # or the child would flush a copy of the buffered output
            except (OSError, ValueError, AttributeError):
                pass
        # the server, and the workers it forks, start with SIGINT ignored and the default SIGTERM
        try:
            with stop_signals_deferred():
                pid = os.fork()
                if pid == 0:  # the server: it never leaves this block (nor restores the handlers)
                    _serve(server, listener, alive_r, alive_w, preload)
        except OSError:
            os.close(alive_r)
            os.close(alive_w)
            listener.close()
            return None
        os.close(alive_r)
        listener.close()
        server._forkserver_address = address
        server._forkserver_alive_fd = alive_w
        server._forkserver_pid = pid
    return multiprocessing.get_context("forkserver")


def stop_server() -> None:
    """Stop the fork server this process started, if any, once the pool's workers are gone. It is
    killed rather than asked to stop: it holds no state, and it may still be importing (a build
    interrupted early, or one that ran inline), which would make a polite stop wait for that."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    with server._lock:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (OSError, ChildProcessError):
            pass
        try:
            os.close(server._forkserver_alive_fd)
        except (OSError, TypeError):
            pass
        server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None


def _serve(server: Any, listener: socket.socket, alive_r: int, alive_w: int, preload: Sequence[str]) -> NoReturn:
    """Run the fork server in the forked child, then exit it."""
    from multiprocessing import forkserver

    from mldata.executors.process import _die_with_parent

    code = 0
    try:
        # forked while holding the lock: a worker's own forkserver use (a user step that starts a
        # pool) must not find it taken forever
        server._lock = threading.Lock()
        os.close(alive_w)
        _die_with_parent()
        forkserver.main(listener.fileno(), alive_r, list(preload))
    except SystemExit:
        pass
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # never run the build process's atexit handlers or flush its buffers
