"""The one place that creates parallel work: worker processes, threads, a forked helper, clusters.

Everything parallel in narrator goes through ``concurrent.futures``: the speech
engines run in a pool of worker processes (``WorkerPool``, a
``ProcessPoolExecutor`` underneath), the encoder's parts on a thread pool
(``thread_pool``), the drawn cover on a thread of its own (``in_background``),
and the listening page is rendered in a forked child beside the feed
(``aside``). A stage asks this module for an executor and never starts a
process or a thread itself, so another executor (a cluster's) can take the
place of the local pool without touching the stages.

``open_cluster`` is that other executor: a running Dask scheduler's workers (or a
LocalCluster started here to try it on one machine) behind a
``concurrent.futures.Executor`` whose tasks are whole articles. Dask is imported
only there, when a cluster is asked for.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from .errors import ClusterError, SettingsError
from .folder import sweep_stale

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from distributed import Client, LocalCluster

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
            # Let the manager thread finish closing its wake-up pipe now: at exit, Python 3.11's
            # concurrent.futures writes to that pipe unlocked, and a close racing with the write
            # printed "OSError: [Errno 9] Bad file descriptor" with a traceback after a clean run.
            manager = getattr(pool, "_executor_manager_thread", None)
            if manager is not None and manager is not threading.current_thread():
                with contextlib.suppress(RuntimeError):
                    manager.join(timeout=2)
        self._cleanup()


def thread_pool(jobs: int, name: str) -> ThreadPoolExecutor:
    """Threads for work that releases the GIL (LAME encodes with it released)."""
    return ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix=f"narrator-{name}")


class HereExecutor(Executor):
    """An executor that runs each task at once, in the thread that submits it: for a process that should
    use one core (a cluster's worker is one core of its machine, beside others)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return run_here(lambda: fn(*args, **kwargs))


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


def run_here(work: Callable[..., T], *args: Any) -> Future[T]:
    """Run ``work(*args)`` now, in this thread; its result (or exception) as a finished future.

    Where no process may be started (a cluster worker's task runs in a daemonic
    process, which cannot have children), this stands in for a pool.
    """
    future: Future[T] = Future()
    try:
        future.set_result(work(*args))
    except Exception as exc:  # delivered to whoever asks for the result, as a pool delivers it
        future.set_exception(exc)
    return future


@contextlib.contextmanager
def deadline(seconds: float | None, expired: Callable[[], None]) -> Iterator[None]:
    """Call ``expired()`` on a thread of its own if the block takes longer than ``seconds`` (None: never).

    For a call that cannot be interrupted (an engine stuck in C), where the only way out is
    to end the process: a cluster's worker does, and the cluster gives the article to another.
    """
    if seconds is None:
        yield
        return
    timer = threading.Timer(seconds, expired)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


# --- clusters ----------------------------------------------------------------------------

#: How long reaching a scheduler may take (NARRATOR_CLUSTER_TIMEOUT): the TCP connection, Dask's
#: handshake, and a first worker.
DEFAULT_CONNECT_TIMEOUT_S = 10.0
#: How long closing the client and a LocalCluster may take before this process stops waiting.
CLOSE_TIMEOUT_S = 5.0
#: How long a cluster may have no worker at all before the run stops (its tasks would wait for ever).
NO_WORKERS_TIMEOUT_S = 60.0
#: Loggers that print on stderr by default (distributed installs a stderr handler of its own).
_NOISY_LOGGERS = ("distributed", "tornado", "bokeh")

ClusterKind = Literal["local-cluster", "cluster"]

#: Dask settings for a LocalCluster, set while it starts (its nannies hand them on to their worker
#: processes). Set only after ``import distributed``: "distributed.*" keys set before it are undone
#: with distributed's own defaults on exit, and the next cluster fails with KeyError: 'comm'.
LOCAL_CLUSTER_CONFIG: dict[str, object] = {
    # 1.0: a worker holds only the task it runs. Above 1 (the default 1.1 gives a single-threaded
    # worker two) an article waiting behind one that crashes its worker is counted as a suspect too,
    # and run again for nothing.
    "distributed.scheduler.worker-saturation": 1.0,
    # An idle LocalCluster(2) took 11 % of a core with the defaults, 2.5 % with these: the 10 ms
    # statistical profiler and the 20 ms / 100 ms / 500 ms monitors feed only the dashboard.
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


@dataclass(frozen=True, slots=True)
class ClusterAddress:
    """What ``--cluster`` asks for."""

    kind: ClusterKind
    address: str
    """The scheduler's address (tcp://host:port); "" for a LocalCluster, which picks its own."""
    workers: int = 0
    """With "local-cluster": how many worker processes to start."""


def parse_cluster(value: str) -> ClusterAddress:
    """``--cluster``'s value: ``local:N`` (a LocalCluster of N workers here), or a scheduler's address.

    >>> parse_cluster("local:3"), parse_cluster("tcp://10.0.0.5:8786").address, parse_cluster("sched:8786").address
    (ClusterAddress(kind='local-cluster', address='', workers=3), 'tcp://10.0.0.5:8786', 'tcp://sched:8786')
    """
    text = value.strip()
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2]
        if not count.isdigit() or int(count) < 1:
            raise SettingsError(f"--cluster {text}: expected local:N, N the number of workers to start (1 or more)")
        return ClusterAddress("local-cluster", "", int(count))
    if not text:
        raise SettingsError("--cluster is empty: give a Dask scheduler's address (tcp://HOST:8786) or local:N")
    address = text if "://" in text else f"tcp://{text}"
    scheme, _, rest = address.partition("://")
    if scheme not in ("tcp", "tls") or not rest.rpartition(":")[2].isdigit():
        raise SettingsError(f"--cluster {text}: not a Dask scheduler's address (tcp://HOST:PORT) nor local:N")
    return ClusterAddress("cluster", address)


@dataclass
class Cluster:
    """A cluster's executor and what a run needs around it."""

    executor: Executor
    kind: ClusterKind
    address: str
    """The scheduler's address (a LocalCluster's too)."""
    client: Client
    _cancel: Callable[[], None] = field(default=lambda: None)

    def threads(self) -> tuple[int, ...]:
        """Each live worker's threads (a cluster's workers can come and go during a run)."""
        try:
            return tuple(self.client.nthreads().values())
        except Exception:  # the scheduler is gone: the run hears of it through its futures
            return ()

    def workers(self) -> int:
        return len(self.threads())

    def on_every_worker(self, fn: Callable[..., T], *args: Any) -> list[Future[T]]:
        """``fn(*args)`` as a task of its own on each worker there is now, all at once (a worker that
        leaves has its task run by another); one task for the first worker to come when there is none."""
        try:
            addresses = list(self.client.nthreads())
        except Exception:  # the scheduler is gone: the task's future says so
            addresses = []
        if not addresses:
            return [self.executor.submit(fn, *args)]
        # Dask's own futures: result(timeout) and done() as concurrent.futures' have them.
        return [
            cast("Future[T]", self.client.submit(fn, *args, workers=[address], allow_other_workers=True, pure=False))
            for address in addresses
        ]

    def connected(self) -> bool:
        """Whether the client is still connected to the scheduler (it tries to reconnect for a while)."""
        return str(getattr(self.client, "status", "")) == "running"

    def label(self) -> str:
        """For the progress bar: "cluster: 3 workers"."""
        n = self.workers()
        return f"cluster: {n} worker" if n == 1 else f"cluster: {n} workers"

    def cancel(self) -> None:
        """Drop everything unfinished: queued articles never start; running ones finish on their workers."""
        self._cancel()


def quiet_dask_logs() -> None:
    """Keep Dask's own logging off stderr, so a failure is narrator's one line, not a dozen.

    distributed configures its loggers (and a stderr handler) when it is imported,
    some explicitly ("distributed.client" at WARNING): a level on "distributed" alone
    would still let "Failed to reconnect to scheduler" through. So: import, then set them all.
    """
    import logging

    import distributed  # noqa: F401 (its logging set-up must run first)

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in _NOISY_LOGGERS]
    for name in {*_NOISY_LOGGERS, *names}:
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[None]:
    """A Ctrl-C while a cluster is being set up is acted on once it is (and can be closed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


class SignalWatch:
    """Ctrl-C and SIGTERM that Python swallowed are raised again at the next ``check()``.

    A signal's exception is raised in whatever the main thread runs at that moment; in a
    destructor (a Dask future's ``__del__``) Python prints "Exception ignored in ..." and
    goes on, and the run would finish as if never interrupted. The handlers here note
    the signal, then do what the ones before them did (KeyboardInterrupt, Terminated).
    """

    def __init__(self) -> None:
        self.caught: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalWatch:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._noted)
            self._hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._noted:  # not where the handler before set another (SIGTERM's)
                signal.signal(signum, previous)
        if self._previous:
            sys.unraisablehook = self._hook

    def _unraisable(self, unraisable: Any) -> None:
        """A signal's exception swallowed in a destructor is raised again at ``check()``, not printed."""
        if self.caught and not isinstance(unraisable.exc_value, Exception):
            return
        self._hook(unraisable)

    def _noted(self, signum: int, frame: Any) -> None:
        self.caught.append(signum)
        self._raise(signum, frame)

    def _raise(self, signum: int, frame: Any) -> None:
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise what a signal raised before, if something swallowed it."""
        if self.caught:
            self._raise(self.caught[-1], None)


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """A second Ctrl-C while closing would leave processes behind; the close is bounded anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def open_cluster(value: str, *, connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S) -> Iterator[Cluster]:
    """The cluster ``value`` names (``parse_cluster``), closed on the way out.

    A scheduler is probed first and must have a worker within ``connect_timeout_s``;
    ClusterError names the address when it cannot be reached. ``local:N`` starts a
    LocalCluster of N single-threaded worker processes on 127.0.0.1 (1 to 2.5 s), which
    goes with the run. On an exception (Ctrl-C included) unfinished work is cancelled
    and the close does not wait for running articles.
    """
    wanted = parse_cluster(value)
    try:
        from distributed import Client
    except ImportError as exc:
        raise ClusterError(
            f"--cluster needs Dask ({exc.name or exc} is not installed): pip install 'narrator[distributed]'"
        ) from exc
    quiet_dask_logs()
    cluster: LocalCluster | None = None
    client: Client | None = None
    address = wanted.address
    try:
        with _deferred_interrupt():  # a Ctrl-C half-way through starting would leave processes behind
            if wanted.kind == "local-cluster":
                cluster = _local_cluster(wanted.workers)
                client = Client(cluster, set_as_default=False)
                address = str(cluster.scheduler_address)
            else:
                client = _connect(address, connect_timeout_s)
    except BaseException:
        _close(client, cluster)
        raise
    executor = DaskExecutor(client)

    def cancel() -> None:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=False, cancel_futures=True)

    try:
        yield Cluster(executor, wanted.kind, address, client, cancel)
    except BaseException:
        with _no_interrupts():
            cancel()
            _close(client, cluster, fast=True)
        raise
    with _no_interrupts():
        _close(client, cluster)


def _local_cluster(workers: int) -> LocalCluster:
    import logging

    import dask
    from distributed import LocalCluster

    try:
        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,  # one article at a time per process: one engine, never shared
                processes=True,
                dashboard_address=None,
                # The scheduler serves HTTP (health, metrics) even without a dashboard, on port 8787 by
                # default: a second run beside this one would warn "Port 8787 is already in use".
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.CRITICAL,
                host="127.0.0.1",  # no port on every interface: only this machine's processes use it
                # dask_setup() in each: this module's in every worker process (restarted ones too),
                # then the worker side's, which loads what narrating needs before the first article.
                preload=[__name__, "narrator.remote"],
            )
    except Exception as exc:  # "Nanny failed to start", a worker that could not import what it needs
        raise ClusterError(f"the local Dask cluster did not start: {exc}", "local") from exc


def dask_setup(worker: object) -> None:
    """Preloaded in a LocalCluster's worker processes: Ctrl-C is the client's to handle.

    A terminal's Ctrl-C reaches the whole process group, workers included: without
    this each would print a KeyboardInterrupt traceback while the client closes them.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


class DaskExecutor(Executor):
    """``concurrent.futures`` over a Dask client, like ``Client.get_executor()`` but letting go of results.

    Each task is submitted with ``pure=False`` (every article is its own task, even two
    identical ones) and never with ``retries=``: an exception raised by a task is its
    article's own and must not run again, while a task whose worker *died* is
    rescheduled by the scheduler itself (up to ``distributed.scheduler.allowed-failures``
    deaths, then KilledWorker). As soon as a result is on the client its Dask future is
    released, so the worker frees the bytes at once and a worker dying later does not
    make the scheduler compute an already delivered result again (it recomputes every
    lost result whose future is still held: innocent articles ran two to four times).
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._live: dict[object, Any] = {}
        """Dask futures not yet settled, by key."""
        self._shutdown = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            task = self._client.submit(fn, *args, pure=False, **kwargs)
            self._live[task.key] = task
        result: Future[T] = Future()

        def cancel_task(done: Future[T]) -> None:
            if done.cancelled() and task.status != "cancelled":
                with contextlib.suppress(Exception):  # the client may be closed already
                    task.cancel()

        def settle(task: Any) -> None:  # on Dask's callback thread
            try:
                if task.cancelled() and result.cancelled():
                    return
                if task.cancelled() and self._shutdown and result.cancel():
                    result.set_running_or_notify_cancel()  # wakes wait() and as_completed()
                    return
                try:
                    value = task.result()
                except BaseException as exc:
                    if not result.done():
                        result.set_exception(exc)
                else:
                    if not result.done():
                        result.set_result(value)
            except InvalidStateError:  # cancelled by the caller meanwhile
                pass
            finally:
                with self._lock:
                    self._live.pop(task.key, None)
                task.release()

        result.add_done_callback(cancel_task)
        task.add_done_callback(settle)
        return result

    def pending(self) -> int:
        """Tasks submitted and not yet settled."""
        with self._lock:
            return len(self._live)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            tasks = list(self._live.values())
        if cancel_futures and tasks:
            with contextlib.suppress(Exception):
                self._client.cancel(tasks)
        elif wait and tasks:
            from distributed import wait as wait_tasks

            with contextlib.suppress(Exception):
                wait_tasks(tasks)


def probe_scheduler(address: str, timeout_s: float) -> str:
    """What answers at ``address`` ("Scheduler", "Worker"...), found within ``timeout_s`` in all.

    ``Client(address, timeout=...)`` bounds only the TCP connection: a server that
    accepts and says nothing (an HTTP server, a stuck process) held it for more than
    ten minutes, and one that speaks first (sshd) made it fail with MemoryError and a
    traceback from ``Client.__del__``. This does Dask's handshake under one deadline.
    """
    import asyncio
    import socket

    from distributed.comm import connect

    location = address.partition("://")[2]
    host, _, port_text = location.rpartition(":")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ClusterError(f"not a Dask scheduler address: {address} (port {port} is out of range)")
    # Dask retries a refused connection until its time-out (a scheduler may be starting); for a
    # command line a refusal or an unknown host is an answer: say so at once.
    try:
        socket.create_connection((host.strip("[]"), port), timeout=timeout_s).close()
    except ConnectionRefusedError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: connection refused") from exc
    except socket.gaierror as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: unknown host {host!r}") from exc
    except TimeoutError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: no answer within {timeout_s:g} s") from exc
    except OSError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}") from exc

    async def identity() -> str:
        comm = await connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            reply = await comm.read()
        finally:
            comm.abort()
        return str(reply.get("type", "?")) if isinstance(reply, dict) else "?"

    async def bounded() -> str:
        return await asyncio.wait_for(identity(), timeout_s)

    try:
        return asyncio.run(bounded())
    except (OSError, TimeoutError) as exc:
        reason = f"no Dask handshake within {timeout_s:g} s: is it a Dask scheduler's port?"
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {reason}") from exc
    except Exception as exc:  # what another kind of server sends unpacks as garbage (MemoryError...)
        raise ClusterError(f"{address} does not speak Dask's protocol: is it a Dask scheduler's port?") from exc


def _connect(address: str, timeout_s: float) -> Client:
    from distributed import Client

    started = time.monotonic()
    kind = probe_scheduler(address, timeout_s)
    if kind != "Scheduler":
        raise ClusterError(f"{address} is a Dask {kind}, not a scheduler: give the scheduler's address")
    try:
        client = Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot connect to the Dask scheduler at {address}: {exc}") from exc
    left = max(1.0, timeout_s - (time.monotonic() - started))
    try:
        client.wait_for_workers(1, timeout=left)
    except (TimeoutError, OSError) as exc:
        _close(client, None)
        raise ClusterError(f"the Dask scheduler at {address} has no workers (waited {left:.0f} s)") from exc
    return client


def _close(client: Client | None, cluster: LocalCluster | None, *, fast: bool = False) -> None:
    """Close what was opened, bounded in time and silently.

    ``fast`` (after an error or Ctrl-C): a LocalCluster's workers are stopped at once;
    closing it normally waits up to 4 s (0.8 of the nanny's 5 s) for running tasks.
    """
    if client is not None:
        with contextlib.suppress(Exception):
            client.close(timeout=CLOSE_TIMEOUT_S)
    if cluster is not None:
        if fast:
            with contextlib.suppress(Exception):
                _stop_workers_now(cluster)
        with contextlib.suppress(Exception):
            cluster.close(timeout=CLOSE_TIMEOUT_S)


def _stop_workers_now(cluster: LocalCluster, grace_s: float = 0.25) -> None:
    """Close every nanny with a short grace: its worker process is killed after 0.8 x ``grace_s``."""
    import asyncio

    nannies = list(cluster.workers.values())

    async def stop_all() -> None:
        await asyncio.gather(*(nanny.close(timeout=grace_s) for nanny in nannies), return_exceptions=True)

    cluster.sync(stop_all)


def settled(
    cluster: Cluster, futures: Iterable[Future[T]], *, no_workers_timeout_s: float = NO_WORKERS_TIMEOUT_S
) -> Iterator[set[Future[T]]]:
    """The futures in batches as they finish (all those done by then), like ``concurrent.futures.wait``
    in a loop; ClusterError when the cluster has had no worker for ``no_workers_timeout_s``.

    Tasks with no worker to run on wait for ever (Dask's "no-worker" state): this stops
    such a run instead. Futures may be added to ``futures`` (a set) between batches.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = futures if isinstance(futures, set) else set(futures)
    idle_since: float | None = None
    with SignalWatch() as signals:
        while pending:
            done, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            signals.check()  # a Ctrl-C that a destructor swallowed meanwhile
            if done:
                pending -= done
                idle_since = None
                yield done
                continue
            if cluster.workers() > 0:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > no_workers_timeout_s:
                raise ClusterError(
                    f"the Dask cluster at {cluster.address} has had no workers for {no_workers_timeout_s:g} s"
                )
        signals.check()  # the last batch's handling may have swallowed one too


def cluster_failure(exc: BaseException, *, connected: bool = True, address: str = "") -> tuple[str, bool]:
    """Why a cluster's task failed, in one line, and whether the run may go on with other articles.

    KilledWorker: the article killed a worker each time it was tried (allowed-failures + 1
    times): its own fault. A lost scheduler or a cancelled task: the run's; it stops.
    ``connected``: whether the client still is (a lost scheduler cancels every task).
    """
    name = type(exc).__name__
    if not connected and name in ("CancelledError", "FutureCancelledError"):
        return "the connection to the Dask scheduler was lost", False
    if name == "KilledWorker":
        return f"it killed {getattr(exc, 'allowed_failures', 3) + 1} workers in a row (the engine crashed?)", True
    if name == "FutureCancelledError" and getattr(exc, "reason", "") == "scheduler-connection-lost":
        return "the connection to the Dask scheduler was lost", False
    if name in ("CancelledError", "FutureCancelledError"):
        return f"the cluster cancelled it ({getattr(exc, 'reason', '') or exc})", False
    if name in ("CommClosedError", "StreamClosedError"):
        # The scheduler's own connection (its address in the message), or any once the client has lost it.
        if not connected or (address and address.partition("://")[2] in str(exc)):
            return "the connection to the Dask scheduler was lost", False
        return f"the connection to the cluster was lost ({exc})", False
    return f"{type(exc).__name__}: {exc}", True
