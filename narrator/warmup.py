"""Start-up and process tuning: everything narrate does to be quick that is not narration itself.

A short article's run is dominated by start-up, so ``narrate`` starts the
speech engines first (``head_start``), before it even reads the articles, when
the run will likely narrate anything. Python's cyclic garbage collector pauses
meanwhile, as the gc module's docs advise before a fork: what exists is frozen,
so collections in the workers never touch (and copy) this process's pages. It
stays paused through the first episode, whose imports it would otherwise
traverse again and again (0.15 s measured); what they made is frozen after it.
The feed's libraries load while the engines speak (``preload``), and glibc is told to give large freed buffers back
(``return_freed_memory``).
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import InputError

if TYPE_CHECKING:
    from .synth import Workers

T = TypeVar("T")


def work_likely(sources: Iterable[str], output_dir: Path) -> bool:
    """Whether a run will probably narrate anything; it decides only whether the engines start early.

    Articles that have not changed since the podcast's library was last written
    are most often a re-run with nothing to do, where engines started early would
    only be stopped again. Anything else (a new folder, an edited file, standard
    input, a web page) starts them at once.
    """
    from .library import library_path
    from .readers import STDIN, find_inputs, is_url

    library = library_path(output_dir)
    stamps = []
    for path in (library, library.with_name(library.name + "-wal")):  # SQLite writes to the log first
        with contextlib.suppress(OSError):
            stamps.append(path.stat().st_mtime)
    if not stamps:  # no library yet: everything is to be narrated
        return True
    written = max(stamps)
    for source in sources:
        if source == STDIN or is_url(source):
            return True
        path = Path(source)
        try:
            files = find_inputs(path)[0] if path.is_dir() else (path,)  # a folder's articles, as narrate reads them
            if any(file.stat().st_mtime >= written for file in files):
                return True
        except (OSError, InputError):
            return True  # reading it will say what is wrong
    return False


class HeadStart:
    """The engines started before anything else (or None), and the collector paused meanwhile."""

    def __init__(self, workers: Workers | None, collecting: bool) -> None:
        self.workers = workers
        self._collecting = collecting

    def settling(self, results: Iterable[T]) -> Iterator[T]:
        """``results`` as they come; after each (the first episode above all), what its run made is
        frozen and the collector runs again, as it was."""
        for result in results:
            gc.freeze()
            if self._collecting:
                gc.enable()
            yield result


@contextlib.contextmanager
def head_start(
    sources: Iterable[str], output_dir: Path, *, engine: str, jobs: int | None, local: bool = True
) -> Iterator[HeadStart]:
    """Pause the collector and, when the run will likely narrate here (``local``: not on a cluster),
    start the engines now.

    The engines take about 0.1 s to start; started first, they are ready by the
    time the articles are read. On the way out the engines are closed and the
    collector is as it was, however the run ended.
    """
    from .settings import resolve_jobs

    collecting = gc.isenabled()
    workers = None
    try:
        gc.disable()
        gc.freeze()
        if local and work_likely(sources, output_dir):
            from .synth import Workers

            workers = Workers(engine, resolve_jobs(jobs))
        yield HeadStart(workers, collecting)
    finally:
        if workers is not None:
            workers.close()
        gc.unfreeze()
        if collecting:
            gc.enable()


def preload() -> None:
    """Import the feed's libraries (feedgen, lxml) while the engines work."""
    from . import feed  # noqa: F401


def return_freed_memory() -> None:
    """Make glibc give large freed buffers back to the system.

    Paragraphs, parts and sample arrays of megabytes are allocated and freed
    all run long, on several threads; glibc's adaptive mmap threshold moves
    them into heap arenas that never shrink, and the resident size of an
    hour-long episode only grew (measured: 229 MiB and rising). Fixed at 4 MiB
    it stays flat (about 130 MiB); at the 128 KiB default every clip would be
    mapped and unmapped, which cost 0.2 s of system time on the seed.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").mallopt(-3, 4 * 1024 * 1024)  # -3 is M_MMAP_THRESHOLD
