"""The one place that creates parallel work: worker processes, threads, and a forked helper.

Everything parallel in narrator goes through ``concurrent.futures``: the speech
engines run in a pool of worker processes (``WorkerPool``, a
``ProcessPoolExecutor`` underneath), the encoder's parts on a thread pool
(``thread_pool``), the drawn cover on a thread of its own (``in_background``),
and the listening page is rendered in a forked child beside the feed
(``aside``). A stage asks this module for an executor and never starts a
process or a thread itself, so another executor (a cluster's) can take the
place of the local pool without touching the stages.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .folder import sweep_stale

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
#: The worker processes' temporary folder, in the system's temporary folder, starts with this and the pid.
SCRATCH_PREFIX = "narrator-engines-"


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _noop() -> None:
    return None


def _start_worker(parent: int, scratch: str, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    """What every worker process does first, before its own ``initializer``."""
    import gc
    import signal
    import tempfile

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, inherited by fork
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent(parent)
    gc.enable()  # the parent may have paused collections while starting up; what it made is frozen
    tempfile.tempdir = scratch  # the worker's files go where the parent cleans up, even if it is killed
    initializer(*initargs)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the process that started it dies, however it dies
    (prctl PR_SET_PDEATHSIG): a killed narrate leaves no engine running. A parent that died
    before this worker got here is not its parent any more: then the worker goes at once (it
    would hold its own pipes open and wait for work for ever)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG = 1, SIGKILL = 9
    if os.getppid() != parent:
        os._exit(1)


class WorkerPool:
    """Worker processes, started at once, each running ``initializer(*initargs)`` first.

    The processes are forked (on Linux; spawned elsewhere) as soon as the pool
    exists, so they get ready while this process does other work. Their
    temporary files live in one folder this process owns and removes, even when
    a worker had to be killed. ``close`` lets given work finish and stops idle
    workers at once; ``kill`` stops them all now.
    """

    def __init__(self, jobs: int, initializer: Callable[..., None], initargs: tuple[Any, ...] = ()) -> None:
        import multiprocessing
        import shutil
        import tempfile
        import weakref
        from concurrent.futures import ProcessPoolExecutor

        self.jobs = max(1, jobs)
        self._busy = 0
        """Tasks given and not yet finished: closing waits only for these."""
        self._lock = threading.Lock()
        # Named by this process's pid, so that what a killed run left is swept by the next.
        sweep_stale(Path(tempfile.gettempdir()), prefix=SCRATCH_PREFIX)
        self.scratch = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.scratch, ignore_errors=True)
        # fork is cheap and keeps engines registered at run time; macOS and Windows need spawn.
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self.pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_start_worker,
            initargs=(os.getpid(), self.scratch, initializer, initargs),
        )

    def start_all(self, given: int = 0) -> None:
        """Start every worker now, ``given`` tasks having been submitted already (with spawn,
        workers start one per submitted task; with fork, all at the first)."""
        if self.pool is not None:
            for _ in range(self.jobs - given):
                self.pool.submit(_noop)

    def submit(self, fn: Callable[..., T], *args: object, wait_on_close: bool = True) -> Future[T]:
        """Give the workers ``fn(*args)``; ``close`` waits for it unless ``wait_on_close`` is False."""
        from concurrent.futures.process import BrokenProcessPool

        from .errors import SynthesisError

        if self.pool is None:
            raise SynthesisError("the speech engines were stopped")
        with self._lock:
            self._busy += wait_on_close
        try:
            future = self.pool.submit(fn, *args)
        except BrokenProcessPool as exc:  # a worker died: the pool takes no more work
            with self._lock:
                self._busy -= wait_on_close
            raise SynthesisError(f"a speech engine process died ({exc})") from exc
        except BaseException:
            with self._lock:
                self._busy -= wait_on_close
            raise
        if not wait_on_close:
            return future
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any]) -> None:
        with self._lock:
            self._busy -= 1

    @property
    def running(self) -> bool:
        return self.pool is not None

    def close(self) -> None:
        """Let the workers finish what they were given and go; idle ones are stopped at once."""
        with self._lock:
            idle = self._busy == 0
        if idle:  # every result is in (and every cache file written): nothing to wait for
            self.kill()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        self._cleanup()

    def kill(self) -> None:
        """Stop the workers at once: a stuck engine never returns from its call.

        A worker killed while it was sending a result leaves half a message in the pool's
        result pipe, and the pool's manager thread would wait for the rest for ever (and with
        it the interpreter's exit, which joins that thread). Once the workers are gone, this
        process's own copy of the pipe's write end is closed too: the thread reads the end of
        the pipe instead, finds the pool broken, and ends.
        """
        pool, self.pool = self.pool, None
        if pool is not None:
            result_queue = getattr(pool, "_result_queue", None)  # shutdown() lets go of it
            processes = list((getattr(pool, "_processes", None) or {}).values())
            for process in processes:
                with contextlib.suppress(OSError, AttributeError, ValueError):
                    process.kill()
            for process in processes:
                with contextlib.suppress(OSError, AttributeError, ValueError, AssertionError):
                    process.join(timeout=2)
            pool.shutdown(wait=False, cancel_futures=True)
            with contextlib.suppress(OSError, AttributeError):
                result_queue._writer.close()  # type: ignore[union-attr]
        self._cleanup()


def thread_pool(jobs: int, name: str) -> ThreadPoolExecutor:
    """Threads for work that releases the GIL (LAME encodes with it released)."""
    return ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix=f"narrator-{name}")


def in_background(work: Callable[[], T], name: str) -> Future[T]:
    """Run ``work`` on a thread of its own; its result (or exception) goes to whoever asks the future."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # delivered to whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name=f"narrator-{name}", daemon=True).start()
    return future


def aside(work: Callable[[], bytes]) -> Callable[[], bytes | None]:
    """Run ``work`` in a forked child, on the other core, while this process goes on; the
    function returned waits for it and gives what it returned, or None if it failed.

    For pure-Python work of a few tenths of a second (rendering a large podcast's
    page beside its feed): side by side they take half the time. Where fork is
    unavailable, ``work`` runs here and now.
    """
    if not sys.platform.startswith("linux"):
        result = work()
        return lambda: result
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: do the work, hand over the result and leave at once, running no clean-up
        code = 1
        try:
            os.close(read_end)
            with open(write_end, "wb") as out:
                out.write(work())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)

    outcome: list[bytes | None] = []

    def finish() -> bytes | None:
        if not outcome:  # once: waited for on the way out of an error too
            with open(read_end, "rb") as result:
                data = result.read()  # before waiting: a full pipe would keep the child from ending
            outcome.append(data if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 else None)
        return outcome[0]

    return finish
