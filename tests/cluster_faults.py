"""A Dask preload for the cluster tests: a fault in a worker process, struck from inside the call that fails.

    NARRATOR_TEST_FAULT=ACTION:STEM dask worker ... --preload tests/cluster_faults.py

When the worker writes the captions of the episode STEM (``STEM.vtt``), ACTION happens:
``enospc`` (the write fails: the disk is full), ``die`` (the worker process dies there,
every time, as a crashing engine would) or ``die-once`` (it dies the first time only, a
marker file NARRATOR_TEST_MARKER saying it did). ``hang:TEXT`` makes the tone engine
never return from a text containing TEXT, as a stuck engine would. The probes below are run on the workers
and the scheduler by the tests. Used by tests/test_cluster.py; nothing here is part of narrator.
"""

from __future__ import annotations

import errno
import os
import pathlib
import time
from typing import Any


def dask_setup(worker: object) -> None:
    fault = os.environ.get("NARRATOR_TEST_FAULT", "")
    if not fault:
        return
    action, _, stem = fault.partition(":")
    if action == "hang":
        from narrator.engines.tone import ToneEngine

        speak = ToneEngine.synthesize

        def stuck(self: ToneEngine, text: str, voice: str, rate: int) -> Any:
            while stem in text:
                time.sleep(3600)
            return speak(self, text, voice, rate)

        ToneEngine.synthesize = stuck  # type: ignore[method-assign]
        return
    original = pathlib.Path.write_text

    def write_text(self: pathlib.Path, *args: Any, **kwargs: Any) -> int:
        if self.name == f"{stem}.vtt":
            if action == "enospc":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
            if action == "die":
                os._exit(1)
            if action == "die-once":
                marker = pathlib.Path(os.environ["NARRATOR_TEST_MARKER"])
                try:
                    marker.touch(exist_ok=False)
                except FileExistsError:
                    pass
                else:
                    os._exit(1)
        return original(self, *args, **kwargs)

    pathlib.Path.write_text = write_text  # type: ignore[method-assign]


def engine_state(dask_worker: object) -> tuple[int, int]:
    """This worker process's id and its engine's (0 before it has spoken)."""
    from narrator import synth

    engine = synth._worker_engine
    return os.getpid(), id(engine[1]) if engine is not None else 0


def scheduler_tasks(dask_scheduler: Any) -> int:
    """How many tasks the scheduler still holds."""
    return len(dask_scheduler.tasks)
