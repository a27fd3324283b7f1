"""Text chunks -> Clips, in order, in parallel worker processes, through the clip cache.

Every worker process owns one engine (espeak initialises once per process and is
not safe to share). Clips come back in the order of the text as soon as each is
ready, so assembly runs while later chunks are still being synthesized. Every
result is checked: no audio is an error, never a silent gap, unless the engine,
asked for a digit then, speaks (the text was one it has nothing to say for).
"""

from __future__ import annotations

import array
import contextlib
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .cache import ClipCache, clip_key
from .engines import Engine, Voice, create_engine, engine_version, voice_digest
from .errors import NarratorError, SynthesisError
from .executor import WorkerPool, deadline, run_here
from .models import Clip, WordMark

if TYPE_CHECKING:
    from concurrent.futures import Future

#: Samples quieter than this (about -54 dBFS) count as silence when trimming a clip.
SILENCE_THRESHOLD = 64
#: Sound kept on each side of the trimmed speech, so soft consonants are not clipped.
TRIM_MARGIN_MS = 8
DEFAULT_PITCH = 50
#: What a piece of text the voice says nothing for becomes: a pause this long (so its caption has a time).
UNSAYABLE_MS = 200
T = TypeVar("T")


def window_for(jobs: int) -> int:
    """How many texts may be with the workers ahead of the one being delivered.

    Enough that the workers go on while this process is busy elsewhere (loading
    numpy and the encoder takes 0.2 s, in which two workers speak about eight
    sentences), few enough that memory stays bounded: at most about 10 MB of clips.
    """
    return max(32, 8 * jobs)


@dataclass(slots=True)
class WordTimings:
    """How many of an article's clips came without word marks from an engine that times words
    (espeak-ng's events lost, a Piper phoneme without alignment): their captions are timed by estimate."""

    clips: int = 0
    missing: int = 0

    def count(self, clips: Iterator[Clip]) -> Iterator[Clip]:
        for clip in clips:
            self.clips += 1
            self.missing += clip.words is None
            yield clip

    def describe(self, label: str, engine: str) -> str:
        """
        >>> WordTimings(clips=120, missing=3).describe("ferry.txt", "pyttsx3")
        'ferry.txt: 3 of 120 pieces came without word timings from pyttsx3; their captions are timed by estimate'
        """
        pieces = "piece" if self.clips == 1 else "pieces"
        return (
            f"{label}: {self.missing} of {self.clips} {pieces} came without word timings from {engine}; "
            "their captions are timed by estimate"
        )


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
    start, end = trim_bounds(pcm, sample_rate)
    return pcm[start * 2 : end * 2]


def trim_bounds(pcm: bytes, sample_rate: int) -> tuple[int, int]:
    """The samples ``[start, end)`` that trim_silence keeps; (0, 0) when there is only silence.

    >>> import array
    >>> trim_bounds(array.array("h", [0] * 1000 + [5000] * 10 + [0] * 1000).tobytes(), 22050)
    (824, 1186)
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
        return 0, 0
    last = next(i for i in range(len(samples) - 1 - trail, first - 1, -1) if abs(samples[i]) > SILENCE_THRESHOLD)
    margin = sample_rate * TRIM_MARGIN_MS // 1000
    return max(0, first - margin), min(len(samples), last + 1 + margin)


def shift_words(words: tuple[WordMark, ...], start: int, end: int) -> tuple[WordMark, ...]:
    """Word marks of audio cut to its samples ``[start, end)``.

    A mark in the cut lead (the first word's, which espeak puts at sample 0) moves to 0,
    one in the cut tail to the end; so do the words' ends.

    >>> shift_words((WordMark(0, 0), WordMark(6, 5000)), 1200, 10_200)
    (WordMark(offset=0, sample=0, end=None), WordMark(offset=6, sample=3800, end=None))
    >>> shift_words((WordMark(0, 1000, 4000), WordMark(6, 5000, 11_000)), 1200, 10_200)
    (WordMark(offset=0, sample=0, end=2800), WordMark(offset=6, sample=3800, end=9000))
    """

    def inside(sample: int) -> int:
        return min(end - start, max(0, sample - start))

    return tuple(
        WordMark(offset=w.offset, sample=inside(w.sample), end=None if w.end is None else inside(w.end)) for w in words
    )


# --- worker side -------------------------------------------------------------------

_worker_engine: tuple[str, Engine] | None = None


def _init_worker(engine_name: str) -> None:
    """Start this worker's engine now, before it is given any text.

    An engine that cannot start (not installed, no voice) is tried again by the first task,
    whose caller gets its one-line error: raised here, it would only break the pool, with a
    traceback on stderr.
    """
    with contextlib.suppress(NarratorError):
        worker_engine(engine_name)


def worker_engine(engine_name: str) -> Engine:
    """This process's engine, created on first use and kept: one engine per worker process."""
    global _worker_engine
    if _worker_engine is None or _worker_engine[0] != engine_name:
        _worker_engine = (engine_name, create_engine(engine_name))
    return _worker_engine[1]


def _describe(engine_name: str) -> tuple[tuple[Voice, ...], str, str]:
    engine = worker_engine(engine_name)
    return engine.voices(), engine.default_voice(), engine.version


def _synthesize_one(text: str, voicing: Voicing, cache_root: str | None, key: str) -> Clip:
    engine = worker_engine(voicing.engine)
    for _attempt in range(2):
        audio = engine.synthesize(text, voicing.voice, voicing.rate)
        start, end = trim_bounds(audio.pcm, audio.sample_rate)
        if end > start:
            words = None if audio.words is None else shift_words(audio.words, start, end)
            clip = Clip(pcm=audio.pcm[start * 2 : end * 2], sample_rate=audio.sample_rate, words=words)
            if cache_root is not None and not audio.words_lost:  # lost marks: asked for again next run
                ClipCache(Path(cache_root)).put(key, clip)
            return clip
    # Silence twice: a text the voice has nothing to say for ("Ꭰ" in an English voice), or an engine
    # that has stopped speaking. A digit is said by every voice: if it is, the text was the silent one,
    # and its sentence is a short pause, not a failed run.
    probe = engine.synthesize("1", voicing.voice, voicing.rate)
    if trim_silence(probe.pcm, probe.sample_rate):
        pause = bytes(2 * probe.sample_rate * UNSAYABLE_MS // 1000)
        # A pause says no words: none of its marks is missing.
        return Clip(pcm=pause, sample_rate=probe.sample_rate, words=() if engine.word_timings else None)
    raise SynthesisError(f"the engine produced only silence for: {text[:80]!r}")


# --- parent side -------------------------------------------------------------------


class Workers(WorkerPool):
    """Worker processes, one engine each, started before the work is known.

    They are forked at once and initialise their engines (about 0.1 s) while
    this process reads and segments the articles; the first one ready lists the
    engine's voices.
    """

    def __init__(self, engine: str, jobs: int) -> None:
        super().__init__(jobs, _init_worker, (engine,))
        self.engine = engine
        self._described = self.submit(_describe, engine, wait_on_close=False)
        self.start_all(given=1)

    def describe(self, timeout_s: float) -> tuple[tuple[Voice, ...], str, str]:
        """The engine's voices, its default voice's id and its version, as the first worker ready lists them."""
        return _result(self._described, "", timeout_s)


class HereWorkers:
    """This process's one engine in place of worker processes, where none may be started: a
    cluster worker's task runs in a daemonic process, which cannot have children. Each text is
    synthesized when its clip is wanted, and the engine is kept for the next article.

    An engine stuck on a text for longer than ``timeout_s`` (and time for its length) cannot
    be stopped from here: the process ends (exit status 70), so that its cluster gives the
    article to another worker, and after a few such deaths reports it failed.
    """

    jobs = 1
    running = True

    def __init__(self, engine: str, timeout_s: float | None = None) -> None:
        self.engine = engine
        self.timeout_s = timeout_s

    def submit(self, fn: Callable[..., T], *args: object, wait_on_close: bool = True) -> Future[T]:
        import os

        text = args[0] if args and isinstance(args[0], str) else ""
        limit = None if self.timeout_s is None else self.timeout_s + len(text) / 20
        with deadline(limit, lambda: os._exit(70)):
            return run_here(fn, *args)

    def describe(self, timeout_s: float) -> tuple[tuple[Voice, ...], str, str]:
        return _describe(self.engine)

    def close(self) -> None:
        """Nothing to stop: the engine stays warm for the next article."""

    def kill(self) -> None:
        """Nothing to stop: a call to the engine here cannot be taken back."""


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
        workers: Workers | HereWorkers | None = None,
    ) -> None:
        if workers is not None and workers.engine != voicing.engine:
            raise ValueError(f"workers run {workers.engine!r}, not {voicing.engine!r}")
        self.voicing = voicing
        self.jobs = workers.jobs if workers is not None else max(1, jobs)
        self.cache = cache
        self.timeout_s = timeout_s
        self._workers = workers
        self._version: str | None = None
        self._digests: dict[str, str] = {}
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

    @property
    def in_process(self) -> bool:
        """Whether texts are synthesized here, by this process's engine (``HereWorkers``)."""
        return isinstance(self._workers, HereWorkers)

    def voice_digest(self, voice: str) -> str:
        """The digest of ``voice``'s model file ("" for engines whose voices are not files), asked once."""
        if voice not in self._digests:
            self._digests[voice] = voice_digest(self.voicing.engine, voice)
        return self._digests[voice]

    def warm_up(self) -> Workers | HereWorkers:
        """Start the worker processes now (each initialises its engine in the background)."""
        if self._workers is None or not self._workers.running:
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
        if self._workers is not None and not self.in_process:  # this process's engine stays
            self._workers.close()
            self._workers = None

    def kill(self) -> None:
        """Stop the workers at once: a stuck engine never returns from its call."""
        if self._workers is not None and not self.in_process:
            self._workers.kill()
            self._workers = None

    def key(self, text: str) -> str:
        v = self.voicing
        return clip_key(
            engine=v.engine,
            engine_version=self.version,
            voice=v.voice,
            voice_digest=self.voice_digest(v.voice),
            rate=v.rate,
            pitch=v.pitch,
            text=text,
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
        # In this process a text is synthesized when its clip is wanted (``take``), not ahead.
        self.window = 0 if synthesizer.in_process else window_for(synthesizer.jobs)
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
