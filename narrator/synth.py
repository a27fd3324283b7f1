"""Text chunks -> Clips, in order, in parallel worker processes, through the clip cache.

Every worker process owns one engine (espeak initialises once per process and is
not safe to share). Clips come back in the order of the text as soon as each is
ready, so assembly runs while later chunks are still being synthesized. Every
result is checked: no audio is an error, never a silent gap.
"""

from __future__ import annotations

import array
import contextlib
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .cache import ClipCache, clip_key
from .engines import Engine, Voice, create_engine, engine_version
from .errors import NarratorError, SynthesisError
from .models import Clip

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

#: Samples quieter than this (about -54 dBFS) count as silence when trimming a clip.
SILENCE_THRESHOLD = 64
#: Sound kept on each side of the trimmed speech, so soft consonants are not clipped.
TRIM_MARGIN_MS = 8
DEFAULT_PITCH = 50
T = TypeVar("T")


def window_for(jobs: int) -> int:
    """How many texts may be with the workers ahead of the one being delivered.

    Enough that the workers go on while this process is busy elsewhere (loading
    numpy and the encoder takes 0.2 s, in which two workers speak about eight
    sentences), few enough that memory stays bounded: at most about 10 MB of clips.
    """
    return max(32, 8 * jobs)


@dataclass(frozen=True, slots=True)
class Voicing:
    """What makes a clip sound the way it does: the cache key besides the text."""

    engine: str
    voice: str
    rate: int
    pitch: int = DEFAULT_PITCH


def trim_silence(pcm: bytes, sample_rate: int) -> bytes:
    """Cut the silence the engine leaves before and after speech.

    Runs in the worker processes; scans in from both ends, so it costs only
    the length of the silence (no numpy: workers start before it is imported).

    >>> import array
    >>> pcm = array.array("h", [0] * 1000 + [5000] * 10 + [0] * 1000).tobytes()
    >>> len(trim_silence(pcm, 22050)) // 2   # the sound plus 8 ms on each side
    362
    """
    body = pcm[: len(pcm) // 2 * 2]
    # Digital silence is skipped at C speed (espeak ends every clip with 0.3 s of zeros), the
    # rest sample by sample.
    lead = (len(body) - len(body.lstrip(b"\0"))) // 2
    trail = (len(body) - len(body.rstrip(b"\0"))) // 2
    samples = array.array("h")
    samples.frombytes(body)
    if sys.byteorder == "big":
        samples.byteswap()
    first = next((i for i in range(lead, len(samples)) if abs(samples[i]) > SILENCE_THRESHOLD), None)
    if first is None:
        return b""
    last = next(i for i in range(len(samples) - 1 - trail, first - 1, -1) if abs(samples[i]) > SILENCE_THRESHOLD)
    margin = sample_rate * TRIM_MARGIN_MS // 1000
    start = max(0, first - margin)
    end = min(len(samples), last + 1 + margin)
    return pcm[start * 2 : end * 2]


# --- worker side -------------------------------------------------------------------

_worker_engine: Engine | None = None


def _init_worker(engine_name: str, scratch: str) -> None:
    import gc
    import signal
    import tempfile

    global _worker_engine
    gc.enable()  # the parent may have paused collections while starting up; what it made is frozen
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    tempfile.tempdir = scratch  # the engine's files go where the parent cleans up, even if this worker is killed
    _worker_engine = create_engine(engine_name)


def _describe() -> tuple[tuple[Voice, ...], str, str]:
    assert _worker_engine is not None
    return _worker_engine.voices(), _worker_engine.default_voice(), _worker_engine.version


def _synthesize_one(text: str, voicing: Voicing, cache_root: str | None, key: str) -> Clip:
    assert _worker_engine is not None
    for _attempt in range(2):
        audio = _worker_engine.synthesize(text, voicing.voice, voicing.rate)
        pcm = trim_silence(audio.pcm, audio.sample_rate)
        if pcm:
            clip = Clip(pcm=pcm, sample_rate=audio.sample_rate)
            if cache_root is not None:
                ClipCache(Path(cache_root)).put(key, clip)
            return clip
    raise SynthesisError(f"the engine produced only silence for: {text[:80]!r}")


# --- parent side -------------------------------------------------------------------


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _noop() -> None:
    return None


class Workers:
    """Worker processes, one engine each, started before the work is known.

    They are forked at once and initialise their engines (about 0.1 s) while
    this process reads and segments the articles; the first one ready lists the
    engine's voices. Their temporary files live in a folder this process owns
    and removes, even when a worker had to be killed.
    """

    def __init__(self, engine: str, jobs: int) -> None:
        import multiprocessing
        import shutil
        import tempfile
        import threading
        import weakref
        from concurrent.futures import ProcessPoolExecutor

        self.engine = engine
        self.jobs = max(1, jobs)
        self._busy = 0
        """Tasks given and not yet finished: closing waits only for these."""
        self._lock = threading.Lock()
        self.scratch = tempfile.mkdtemp(prefix="narrator-engines-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.scratch, ignore_errors=True)
        # fork is cheap and keeps engines registered at run time; macOS and Windows need spawn.
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self.pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(engine, self.scratch),
        )
        self._described = self.pool.submit(_describe)
        for _ in range(self.jobs - 1):  # with spawn, workers start one per submitted task
            self.pool.submit(_noop)

    def describe(self, timeout_s: float) -> tuple[tuple[Voice, ...], str, str]:
        """The engine's voices, its default voice's id and its version, as the first worker ready lists them."""
        return _result(self._described, "", timeout_s)

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        if self.pool is None:
            raise SynthesisError("the speech engines were stopped")
        with self._lock:
            self._busy += 1
        try:
            future = self.pool.submit(fn, *args)
        except BaseException:
            with self._lock:
                self._busy -= 1
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any]) -> None:
        with self._lock:
            self._busy -= 1

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
        """Stop the workers at once: a stuck engine never returns from its call."""
        pool, self.pool = self.pool, None
        if pool is not None:
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(OSError, AttributeError):
                    process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
        self._cleanup()


class Synthesizer:
    """Worker processes with warm engines, shared by every article of a run.

    ``warm_up()`` starts them before the text is known, so the engines initialise
    while the caller segments the article (or pass ``workers`` started earlier
    still). ``clips()`` asks the cache first and sends only what it lacks to the
    workers.
    """

    def __init__(
        self,
        voicing: Voicing,
        *,
        jobs: int,
        cache: ClipCache | None,
        timeout_s: float = 60.0,
        workers: Workers | None = None,
    ) -> None:
        if workers is not None and workers.engine != voicing.engine:
            raise ValueError(f"workers run {workers.engine!r}, not {voicing.engine!r}")
        self.voicing = voicing
        self.jobs = workers.jobs if workers is not None else max(1, jobs)
        self.cache = cache
        self.timeout_s = timeout_s
        self._workers = workers
        self._version: str | None = None
        self._voices: tuple[tuple[Voice, ...], str] | None = None

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = engine_version(self.voicing.engine)
        return self._version

    def warm_up(self) -> Workers:
        """Start the worker processes now (each initialises its engine in the background)."""
        if self._workers is None or self._workers.pool is None:
            self._workers = Workers(self.voicing.engine, self.jobs)
        return self._workers

    def voices(self) -> tuple[tuple[Voice, ...], str]:
        """The engine's voices and its default voice's id, as a worker's engine lists them.

        Asked of a worker, not of this process: espeak started here would be
        inherited half-alive by workers forked later, which then hang.
        """
        if self._voices is None:
            try:
                voices, default, self._version = self.warm_up().describe(self.timeout_s)
            except SynthesisError:
                _ = engine_version(self.voicing.engine)  # an engine that cannot load says so, with the fix
                raise
            self._voices = (voices, default)
        return self._voices

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    def kill(self) -> None:
        """Stop the workers at once: a stuck engine never returns from its call."""
        if self._workers is not None:
            self._workers.kill()
            self._workers = None

    def key(self, text: str) -> str:
        v = self.voicing
        return clip_key(
            engine=v.engine, engine_version=self.version, voice=v.voice, rate=v.rate, pitch=v.pitch, text=text
        )

    def clips(self, texts: Sequence[str], on_done: Callable[[], None] | None = None) -> Iterator[Clip]:
        """Start synthesizing ``texts`` now; the iterator yields one Clip per text, in order.

        Only a window of texts ahead of the one being delivered is in the
        workers' hands at a time, and cached clips are read when their turn
        comes, so memory stays bounded however long the article. A chunk the
        engine takes longer than ``timeout_s`` over (plus time for its length)
        stops the run with SynthesisError.
        """
        keys = [self.key(text) for text in texts]
        texts_by_key = dict(zip(keys, texts, strict=True))
        cached = {key for key in texts_by_key if self.cache is not None and self.cache.has(key)}
        missing = [key for key in texts_by_key if key not in cached]
        batch = _Batch(self, texts_by_key, missing)
        batch.top_up()  # now, not at the first next(): the workers start while the caller gets ready
        return self._deliver(keys, texts, cached, batch, on_done)

    def _deliver(
        self,
        keys: list[str],
        texts: Sequence[str],
        cached: set[str],
        batch: _Batch,
        on_done: Callable[[], None] | None,
    ) -> Iterator[Clip]:
        uses = Counter(keys)  # a repeated sentence is synthesized once and kept until its last use
        held: dict[str, Clip] = {}
        try:
            for key, text in zip(keys, texts, strict=True):
                clip = held.get(key)
                if clip is None and key in cached and self.cache is not None:
                    clip = self.cache.get(key)  # None if another run evicted it meanwhile
                if clip is None:
                    clip = _result(batch.take(key), text, self.timeout_s + len(text) / 20)
                batch.top_up()
                if on_done is not None:
                    on_done()
                uses[key] -= 1
                if uses[key]:
                    held[key] = clip
                else:
                    held.pop(key, None)
                yield clip
        except BaseException:
            self.kill()
            raise
        finally:
            if batch.synthesizes and self.cache is not None:
                self.cache.trim()


class _Batch:
    """The texts of one ``clips()`` call that the cache lacks: a window of them is with the workers."""

    def __init__(self, synthesizer: Synthesizer, texts_by_key: dict[str, str], missing: list[str]) -> None:
        self.synthesizer = synthesizer
        self.voicing = synthesizer.voicing
        self.root = str(synthesizer.cache.root) if synthesizer.cache is not None else None
        self.texts_by_key = texts_by_key
        self.queue = iter(missing)  # first-use order, the order they are needed in
        self.synthesizes = bool(missing)
        self.window = window_for(synthesizer.jobs)
        self.in_flight: dict[str, Future[Clip]] = {}

    def submit(self, key: str) -> None:
        workers = self.synthesizer.warm_up()
        self.in_flight[key] = workers.submit(_synthesize_one, self.texts_by_key[key], self.voicing, self.root, key)

    def top_up(self) -> None:
        while len(self.in_flight) < self.window:
            key = next(self.queue, None)
            if key is None:
                return
            self.submit(key)

    def take(self, key: str) -> Future[Clip]:
        """The clip's future, submitted now if it is not with the workers (a cached clip evicted meanwhile)."""
        if key not in self.in_flight:
            self.submit(key)
        return self.in_flight.pop(key)


def _result(future: Future[T], text: str, timeout_s: float) -> T:
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result(timeout=timeout_s)
    except FutureTimeout:
        raise SynthesisError(f"the speech engine did not finish within {timeout_s:.0f} s on: {text[:60]!r}") from None
    except BrokenProcessPool as exc:
        raise SynthesisError(f"a speech engine process died ({exc}) while reading: {text[:60]!r}") from exc
    except NarratorError:
        raise
    except Exception as exc:  # the engine's own errors, raised in the worker
        raise SynthesisError(f"the speech engine failed on {text[:60]!r}: {exc}") from exc
