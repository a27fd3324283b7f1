"""The executor: worker processes that start at once, stop at once, and never keep narrator from exiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from narrator.executor import WorkerPool, aside, in_background

ROOT = Path(__file__).resolve().parent.parent


def _nothing() -> None:
    return None


def _pid() -> int:
    return os.getpid()


def test_every_worker_is_started_at_once_and_runs_the_initializer_first() -> None:
    pool = WorkerPool(2, _nothing)
    try:
        pool.start_all()
        pids = {pool.submit(_pid).result(timeout=10) for _ in range(20)}
        assert pids <= set((pool.pool._processes or {}).keys())  # type: ignore[union-attr]
    finally:
        pool.close()
    assert not pool.running


def test_in_background_and_aside_hand_back_results_and_errors() -> None:
    assert in_background(lambda: 42, "test").result(timeout=10) == 42

    def fail() -> int:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError, match="no"):
        in_background(fail, "test").result(timeout=10)
    assert aside(lambda: b"rendered")() == b"rendered"

    def broken() -> bytes:
        raise RuntimeError("in the child")

    assert aside(broken)() is None


# A run whose engine fails while the other worker is sending a large result: the pool is stopped
# at once, as a failed narration stops it, eight times in one process. A worker killed mid-send
# leaves half a message in the pool's pipe (about one stop in six did, before the fix).
STOPPED_MID_RESULT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from narrator.executor import WorkerPool

    def init():
        pass

    def large(i):
        if i == 12:
            raise RuntimeError("the engine failed")
        return b"x" * (16 * 1024 * 1024)

    for _ in range(8):
        pool = WorkerPool(2, init)
        futures = [pool.submit(large, i) for i in range(50)]
        try:
            for future in futures:
                future.result(timeout=30)
        except RuntimeError:
            pool.kill()
    print("stopped", flush=True)
    """
)


@pytest.mark.parametrize("attempt", range(3))
def test_workers_stopped_while_one_sends_a_result_never_keep_the_process_from_exiting(attempt: int) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", STOPPED_MID_RESULT, str(ROOT)], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the process did not exit: the pool's manager thread waits for the rest of a message")
    assert done.returncode == 0, done.stderr
    assert "stopped" in done.stdout


def test_a_worker_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """Killed with SIGKILL, narrate cannot stop its workers: the kernel does (PR_SET_PDEATHSIG)."""
    script = textwrap.dedent(
        """
        import sys, time
        sys.path.insert(0, sys.argv[1])
        from narrator.executor import WorkerPool
        import os

        def init():
            pass

        def pid():
            return os.getpid()

        pool = WorkerPool(1, init)
        print(pool.submit(pid).result(), flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script, str(ROOT)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{worker}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            return
        if state in "ZX":
            return
        time.sleep(0.05)
    os.kill(worker, signal.SIGKILL)
    pytest.fail("the worker outlived the process that started it")


def test_a_killed_runs_engine_folder_is_swept_by_the_next(tmp_path: Path) -> None:
    import tempfile

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = Path(tempfile.gettempdir()) / f"narrator-engines-{int(dead.stdout)}-abcd"
    left.mkdir()
    (left / "clip.wav").write_bytes(b"RIFF")
    pool = WorkerPool(1, _nothing)
    try:
        assert not left.exists()
        assert Path(pool.scratch).name.startswith(f"narrator-engines-{os.getpid()}-")
    finally:
        pool.close()


def test_a_ctrl_c_that_a_destructor_swallowed_is_raised_at_the_next_check(capfd: pytest.CaptureFixture[str]) -> None:
    """A signal's KeyboardInterrupt raised inside __del__ is printed as "Exception ignored" and lost;
    a run on a cluster (a Dask future's __del__) then finished as if never interrupted."""
    from narrator.executor import SignalWatch

    class Interrupting:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # delivered now, inside the destructor
            for _ in range(1000):  # the handler runs between these bytecodes
                pass

    with SignalWatch() as signals:
        Interrupting()  # collected at once: its destructor swallows the interrupt
        assert signals.caught == [signal.SIGINT]
        with pytest.raises(KeyboardInterrupt):
            signals.check()
    assert "Exception ignored" not in capfd.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
