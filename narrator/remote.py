"""What a cluster's worker runs: one article, narrated by the worker's own engine, its files handed back.

The client (``narrate --cluster``) reads, checks and segments every article,
claims its files' stem in the library and sends an ``ArticleJob``: everything the
episode is made of, so a worker reads nothing from the client's disk. The worker
speaks the script with the one engine its process keeps between tasks
(``synth.worker_engine``, the same as a local worker process's), through its own
sentence cache, makes the files with the same code as a local run
(``episode.write_episode``) and returns them as bytes with their timeline; or,
when the workers see the podcast folder too (a shared file system), leaves them
in a staging folder there for the client to rename into place. Only the client
writes the library, the feed and the page.

This module is what the workers import: narrator, at the client's version, must
be installed on each with the same engines and voices. ``dask worker --preload
narrator.remote`` loads what narrating needs when the worker starts.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ClusterError, OutputError
from .models import Article, Clip, Script, Timeline
from .synth import WordTimings

if TYPE_CHECKING:
    from .engines import Voice
    from .synth import Voicing
    from .tagging import Tags


@dataclass(frozen=True, slots=True)
class ArticleJob:
    """One article, read and checked by the client: all a worker needs to narrate it."""

    article: Article
    script: Script
    stem: str
    """The stem of the files to make: the one the client claimed (STEM, or STEM.vN for a new rendition)."""
    voicing: Voicing
    """The engine, the voice the client chose for the article's language, the rate."""
    tags: Tags
    """What the ID3 tag says (its chapters come from the audio), the podcast's cover included."""
    bitrate_kbps: int
    encoders: int
    """How many encoder threads a local run on the client would use (--jobs): the worker encodes in its
    own thread, but cuts the MP3's parts as those threads would, so the file is the same."""
    cue_by_cue: bool
    """The engine cannot time words: each cue's part of a sentence is spoken on its own."""
    use_cache: bool
    cache_dir: str
    """The sentence cache to use: "" for the worker's own (its NARRATOR_CACHE_DIR, else its user
    cache folder), else a folder every worker sees (a shared file system)."""
    cache_max_bytes: int
    timeout_s: float
    """How long the engine may take over one text (NARRATOR_ENGINE_TIMEOUT): a worker whose engine is stuck
    longer ends, and the cluster gives the article to another."""
    version: str
    """narrator's version on the client: a worker running another version refuses the job."""
    shared_output: str = ""
    """The podcast folder as the workers see it, when they can write there: the files are left in a
    staging folder inside it, and only their names travel. "" sends them back as bytes."""
    client_pid: int = 0
    """Names the staging folder, so that the client's next run sweeps it if this one dies."""


@dataclass(frozen=True, slots=True)
class RemoteEpisode:
    """What a worker hands back: the episode's files and where everything lies in its audio."""

    stem: str
    timeline: Timeline
    files: tuple[tuple[str, bytes], ...]
    """Each file's name and contents, the MP3 last; empty when the files were staged."""
    staged: str
    """With ``ArticleJob.shared_output``: the staging folder inside it that holds the files."""
    worker: str
    """host:pid of the worker process that narrated it."""
    timings: WordTimings = field(default_factory=WordTimings)
    """How many of its clips came without word timings (their captions timed by estimate)."""


#: A worker started with more than one thread runs several tasks at once in one process, and
#: the process has one engine (espeak is process-global): they take turns with it.
_engine_lock = threading.Lock()


def narrate_article(job: ArticleJob) -> RemoteEpisode:
    """Narrate ``job``'s article here, with this process's engine; the files as bytes, or staged."""
    from . import __version__

    if job.version != __version__:
        raise ClusterError(
            f"a worker ({socket.gethostname()}) runs narrator {__version__}, this client {job.version}:"
            " install the same version on every worker"
        )
    with _engine_lock:
        return _narrate(job)


def _narrate(job: ArticleJob) -> RemoteEpisode:
    from .cache import ClipCache, default_cache_dir
    from .folder import episode_files
    from .synth import HereWorkers, Synthesizer
    from .warmup import tune_worker_memory

    tune_worker_memory()  # again for workers started without --preload: it is cheap

    cache = None
    if job.use_cache:
        cache = ClipCache(Path(job.cache_dir) if job.cache_dir else default_cache_dir(), job.cache_max_bytes)
    here = HereWorkers(job.voicing.engine, timeout_s=job.timeout_s)
    synthesizer = Synthesizer(job.voicing, jobs=1, cache=cache, workers=here)
    timings = WordTimings()
    chunks = [chunk for sentence in job.script.sentences() for chunk in sentence.chunks]
    clips = synthesizer.clips(chunks)
    if not job.cue_by_cue:  # an engine that times words (one that cannot speaks cue by cue)
        clips = timings.count(clips)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        if job.shared_output:
            # In the podcast folder itself (the same file system, so the client's renames are atomic),
            # named like the client's own temporary folders: its next run sweeps what a dead run left.
            folder = Path(tempfile.mkdtemp(prefix=f".tmp-{job.client_pid}-w", dir=job.shared_output))
            try:
                timeline = _write(job, folder, clips)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            return RemoteEpisode(job.stem, timeline, (), str(folder), worker, timings)
        with tempfile.TemporaryDirectory(prefix="narrator-article-") as work:
            timeline = _write(job, Path(work), clips)
            files = tuple((path.name, path.read_bytes()) for _kind, path in episode_files(Path(work), job.stem).paths())
    except OSError as exc:  # the worker's disk is full, or failing: this article's failure, said in one line
        raise OutputError(f"cannot write the episode's files on the worker {worker} ({exc.strerror or exc})") from exc
    return RemoteEpisode(job.stem, timeline, files, "", worker, timings)


def _write(job: ArticleJob, folder: Path, clips: Iterator[Clip]) -> Timeline:
    from .episode import write_episode

    return write_episode(
        folder,
        job.stem,
        job.article,
        job.script,
        clips,
        tags=lambda: job.tags,
        bitrate_kbps=job.bitrate_kbps,
        jobs=job.encoders,
        one_core=True,  # one worker per core: its engine and its encoder take turns
        cue_by_cue=job.cue_by_cue,
        mp3_name=Path(f"{job.stem}.mp3"),
    )


def describe_engine(engine: str) -> tuple[tuple[Voice, ...], str, str]:
    """The voices of this worker's engine, its default voice and its version: what the client chooses
    voices from (the workers' voices are the ones that speak, not the client's)."""
    from .synth import HereWorkers

    with _engine_lock:
        return HereWorkers(engine).describe(0)


def dask_setup(worker: object) -> None:
    """``dask worker --preload narrator.remote``: load what narrating needs while the worker starts,
    not in its first article (numpy, LAME, mutagen and the rest: about 0.3 s), and tune its memory."""
    from . import assemble, captions, encode, episode, synth, tagging  # noqa: F401
    from .warmup import tune_worker_memory

    tune_worker_memory()
