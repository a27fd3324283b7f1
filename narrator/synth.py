"""Text chunks -> Clips, in order, in parallel worker processes, through the clip cache.

Every worker process owns one engine (espeak initialises once per process and is
not safe to share). Clips come back in the order of the text as soon as each is
ready, so assembly runs while later chunks are still being synthesized. Every
result is checked: no audio is an error, never a silent gap.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from .cache import ClipCache, clip_key
from .engines import Engine, create_engine, engine_version
from .errors import NarratorError, SynthesisError
from .models import Clip

#: Samples quieter than this (about -54 dBFS) count as silence when trimming a clip.
SILENCE_THRESHOLD = 64
#: Sound kept on each side of the trimmed speech, so soft consonants are not clipped.
TRIM_MARGIN_MS = 8
DEFAULT_PITCH = 50


@dataclass(frozen=True, slots=True)
class Voicing:
    """What makes a clip sound the way it does: the cache key besides the text."""

    engine: str
    voice: str
    rate: int
    pitch: int = DEFAULT_PITCH


def trim_silence(pcm: bytes, sample_rate: int) -> bytes:
    """Cut the silence the engine leaves before and after speech.

    >>> import array
    >>> pcm = array.array("h", [0] * 1000 + [5000] * 10 + [0] * 1000).tobytes()
    >>> len(trim_silence(pcm, 22050)) // 2   # the sound plus 8 ms on each side
    362
    """
    import numpy as np

    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE_THRESHOLD)
    if loud.size == 0:
        return b""
    margin = sample_rate * TRIM_MARGIN_MS // 1000
    start = max(0, int(loud[0]) - margin)
    end = min(samples.size, int(loud[-1]) + 1 + margin)
    return samples[start:end].tobytes()


# --- worker side -------------------------------------------------------------------

_worker_engine: Engine | None = None


def _init_worker(engine_name: str) -> None:
    global _worker_engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _worker_engine = create_engine(engine_name)


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


def _pool(jobs: int, engine_name: str) -> ProcessPoolExecutor:
    # fork is cheap and keeps test-registered engines; macOS and Windows need spawn.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
        initargs=(engine_name,),
    )


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop workers at once: a stuck engine never returns from its call."""
    for process in list(getattr(pool, "_processes", {}).values()):
        try:
            process.kill()
        except (OSError, AttributeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def synthesize(
    texts: Sequence[str],
    voicing: Voicing,
    *,
    jobs: int,
    cache: ClipCache | None,
    timeout_s: float = 60.0,
    on_done: Callable[[], None] | None = None,
) -> Iterator[Clip]:
    """Yield one Clip per text, in order, synthesizing what the cache lacks on ``jobs`` processes.

    A chunk the engine takes longer than ``timeout_s`` over (plus time for its length)
    stops the run with SynthesisError.
    """
    version = engine_version(voicing.engine)
    keys = [
        clip_key(
            engine=voicing.engine,
            engine_version=version,
            voice=voicing.voice,
            rate=voicing.rate,
            pitch=voicing.pitch,
            text=text,
        )
        for text in texts
    ]
    ready: dict[str, Clip] = {}
    if cache is not None:
        for key in dict.fromkeys(keys):
            clip = cache.get(key)
            if clip is not None:
                ready[key] = clip
    missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in ready}
    pool = _pool(min(jobs, len(missing)), voicing.engine) if missing else None
    futures: dict[str, Future[Clip]] = {}
    uses = Counter(keys)  # a repeated sentence is synthesized once and kept until its last use
    try:
        if pool is not None:
            root = str(cache.root) if cache is not None else None
            futures = {key: pool.submit(_synthesize_one, text, voicing, root, key) for key, text in missing.items()}
        for key, text in zip(keys, texts, strict=True):
            if key not in ready:
                ready[key] = _result(futures[key], text, timeout_s + len(text) / 20)
            if on_done is not None:
                on_done()
            uses[key] -= 1
            yield ready[key] if uses[key] else ready.pop(key)
    except BaseException:
        if pool is not None:
            _kill(pool)
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        if cache is not None and missing:
            cache.trim()


def _result(future: Future[Clip], text: str, timeout_s: float) -> Clip:
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
