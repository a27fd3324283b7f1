"""The stages of a run, in order; the only module that sees all of Settings.

``publish`` narrates articles into the podcast folder: plan (what to narrate,
decided before the folder is touched), prepare the folder, then for each
article claim it in the library, narrate it, record it and render the feed and
page. ``Narrator.narrate`` makes one episode: synthesize, assemble, encode,
tag and caption, and move the files into place. Every file of an episode is
first written into a private temporary folder inside the output folder and
then renamed into place, so an interrupted or failed run leaves what was there
untouched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import math
import os
import re
import time
import unicodedata
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import EngineUnavailable, InputError, NarratorError, OutputError, SynthesisError
from .folder import FEED_NAME, episode_files, staging
from .models import Article, Clip, Episode, Script
from .readers import STDIN, is_url
from .settings import Settings
from .synth import WordTimings

if TYPE_CHECKING:
    from concurrent.futures import Future
    from types import TracebackType

    from .cover import Cover
    from .engines import Voice
    from .executor import Cluster
    from .language import InstalledVoices
    from .lexicon import Lexicon
    from .library import Claim, Library
    from .page import ArchivePage
    from .podcast import PodcastSettings
    from .remote import ArticleJob, RemoteEpisode
    from .synth import Synthesizer, Workers
    from .tagging import Tags


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Progress:
    """Callbacks the CLI passes in to show progress; all optional."""

    start: Callable[[str, int], None] = lambda label, total: None
    """A new article: its label and how many pieces of text it has."""
    advance: Callable[[], None] = lambda: None
    finish: Callable[[], None] = lambda: None
    note: Callable[[str], None] = lambda message: None
    """Something the user should know that is not an error."""
    articles: Callable[[str, int, int], None] = lambda label, done, total: None
    """A run that narrates several articles at once (on a cluster): its label, how many of its
    articles are done and how many there are."""


def assembled(progress: Progress, timings: WordTimings, article: Article, engine: str) -> None:
    """An article's audio is assembled: the bar ends, and the user hears of clips timed by estimate."""
    progress.finish()
    if timings.missing:
        progress.note(timings.describe(source_label(article.source), engine))


@dataclass(frozen=True, slots=True)
class Published:
    """What happened to one article in a run."""

    mp3: Path
    duration_ms: int
    chapters: int
    captions: int
    """Caption cues; 0 when the episode was kept as it was."""
    loudness_lufs: float | None
    reused: bool
    """True when neither the article nor the settings changed, so nothing was redone."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """An article this run left alone, and why."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    """An article this run could not narrate, and why; the run goes on with the others (as cp and rsync do)."""

    source: str
    error: NarratorError
    """The error, naming the article."""


#: What is wrong with one article, not with the run: the article is reported, the others narrated.
ARTICLE_ERRORS: tuple[type[NarratorError], ...] = (InputError, SynthesisError, EngineUnavailable)


def naming(error: NarratorError, source: str) -> NarratorError:
    """``error`` as it concerns the article ``source``: one that names no file names it."""
    if error.path is not None:
        return error
    named = type(error)(error.reason, source)
    named.__cause__ = error
    return named


@dataclass(frozen=True, slots=True)
class Step:
    """One article of a run, as planned."""

    article: Article
    build_key: str
    """What the episode's files depend on (``Narrator.build_key``)."""
    script: Script | None
    """The article segmented, when it is to be narrated; None when the library has it unchanged, or
    on a cluster when it is segmented only as it is sent to a worker (so that the workers start on
    the first articles while this process segments the others, holding a bounded number of scripts)."""


# --- the run ------------------------------------------------------------------------


def publish(
    articles: Sequence[Article],
    settings: Settings,
    *,
    as_new: bool = False,
    progress: Progress = Progress(),
    workers: Workers | None = None,
    keep_base_url: bool = False,
    render_each: bool = True,
) -> Iterator[Published | Skipped | Failed]:
    """Narrate ``articles`` into the podcast folder: each becomes an episode in the library and feed.xml.

    An article that cannot be narrated (``ARTICLE_ERRORS``: no words, no voice for
    its language, too long, an engine failing on its text) is given back as Failed
    and the others are narrated; when none can be, the folder is not touched.
    An article already in the library (same source) is narrated again under its
    old stem and GUID, unless nothing changed; ``as_new`` publishes it afresh.
    The feed is rewritten after every episode, so an interrupted run leaves a
    feed that matches the files. An article another run is narrating at the
    same moment is skipped. ``workers``, started early by the caller, are used
    and closed. With ``keep_base_url`` (--base-url was given), the base URL is
    kept in podcast.toml: it says where the folder is published. Without
    ``render_each`` the episodes are recorded and the caller renders once, when
    it has recorded them all (``narrator update`` publishes once; a run killed
    before then is rendered by the next command's ``repair``).
    """
    from .library import open_library
    from .podcast import PodcastSettings

    out = settings.output_dir
    podcast = settings.podcast or PodcastSettings()
    with Narrator(settings, album=podcast.title, cover_id=cover_identity(podcast), workers=workers) as narrator:
        planned = plan(narrator, articles, as_new=as_new)
        steps = [step for step in planned if isinstance(step, Step)]
        yield from (step for step in planned if isinstance(step, Failed))
        if not steps:
            return
        prepare_folder(out, podcast, narrator)
        if keep_base_url:
            from .podcast import keep_base_url as save

            note = save(out, podcast.base_url)
            if note:
                progress.note(note)
        if owner_missing(podcast):
            progress.note(owner_missing(podcast))
        with open_library(out) as library:
            repair(out, podcast, library, cover=narrator.cover)
            if settings.cluster:
                narrated = yield from narrate_on_cluster(
                    narrator, library, podcast, steps, progress, as_new=as_new, render_each=render_each
                )
            else:
                narrated = yield from narrate_here(
                    narrator, library, podcast, steps, progress, as_new=as_new, render_each=render_each
                )
            if not narrated and not (out / FEED_NAME).exists():
                render(out, podcast, library, cover=narrator.cover)


def claim_step(library: Library, step: Step, *, as_new: bool) -> Claim:
    """Claim the article of ``step`` in the library: what to do with it, and the stem its files take."""
    return library.claim(
        step.article.key or step.article.source,
        slug=slugify(source_stem(step.article)),
        text_hash=step.article.text_hash,
        build_key=step.build_key,
        as_new=as_new,
    )


def unclaimed(claim: Claim, step: Step, out: Path) -> Published | Skipped | None:
    """What becomes of an article the library says not to narrate (unchanged, or another run's); None
    when it is to be narrated."""
    from .library import Action

    if claim.action is Action.REUSE and claim.existing is not None:
        old = claim.existing
        return Published(out / old.audio.name, old.duration_ms, len(old.chapters), 0, None, reused=True)
    if claim.action is Action.BUSY:
        return Skipped(step.article.source, f"another narrator run (process {claim.busy_pid}) is narrating it now")
    return None


def published(episode: Episode) -> Published:
    t = episode.timeline
    return Published(episode.files.mp3, t.duration_ms, len(t.chapters), len(t.cues), t.loudness.integrated_lufs, False)


def narrate_here(
    narrator: Narrator,
    library: Library,
    podcast: PodcastSettings,
    steps: Sequence[Step],
    progress: Progress,
    *,
    as_new: bool,
    render_each: bool = True,
) -> Generator[Published | Skipped | Failed, None, bool]:
    """Narrate the articles one after the other, each sentence by sentence on the local worker
    processes; the feed and the page are rendered after each (with ``render_each``). Returns whether
    any was narrated."""
    out = narrator.settings.output_dir
    narrated = False
    for step in steps:
        claim = claim_step(library, step, as_new=as_new)
        settled_already = unclaimed(claim, step, out)
        if settled_already is not None:
            yield settled_already
            continue
        try:
            episode = narrate_claimed(narrator, library, claim, step, progress)
        except ARTICLE_ERRORS as exc:
            progress.finish()
            yield Failed(step.article.source, naming(exc, step.article.source))
            continue
        record(library, claim, episode)
        if render_each:
            render(out, podcast, library, cover=narrator.cover)
        narrated = True
        yield published(episode)
    return narrated


def narrate_on_cluster(
    narrator: Narrator,
    library: Library,
    podcast: PodcastSettings,
    steps: Sequence[Step],
    progress: Progress,
    *,
    as_new: bool,
    render_each: bool = True,
) -> Generator[Published | Skipped | Failed, None, bool]:
    """Narrate the articles on the cluster's workers, a whole article each, several at once.

    Every article is claimed first (in one transaction), so the stems are reserved
    before any work; then each is sent as an ``ArticleJob``, a bounded number at a
    time (the scheduler keeps what it has not started, and the results come back
    here). As results come in, this process, the only writer of the folder, puts
    each episode's files in place, records them and renders the feed and the page
    (once for all the results that came in together). An article that fails for a
    reason of its own is given back as Failed and its claim released; the others go
    on. On Ctrl-C, or when the cluster is lost, every unfinished claim is released
    and the unfinished work cancelled: the folder keeps what was recorded.
    """
    from collections import deque

    from .executor import settled
    from .remote import narrate_article

    out = narrator.settings.output_dir
    todo: deque[tuple[Step, Claim]] = deque()
    with library.locked():  # one transaction (and one write to the disk) for every claim
        claims = [(step, claim_step(library, step, as_new=as_new)) for step in steps]
    for step, claim in claims:
        settled_already = unclaimed(claim, step, out)
        if settled_already is not None:
            yield settled_already
        else:
            todo.append((step, claim))
    if not todo:
        return False
    total, done, narrated = len(todo), 0, False
    rendered_at, unrendered = time.monotonic(), False
    running: dict[Future[RemoteEpisode], tuple[Step, Claim]] = {}
    try:
        cluster = narrator.cluster
        note = crowded_workers(cluster)
        if note:
            progress.note(note)

        def top_up() -> list[Failed]:
            # A few articles per worker: enough that none waits for the next, while the scheduler holds
            # a bounded number of scripts and covers however many articles the run has. An article
            # segmented only now that has nothing to say, or no voice, fails on its own.
            room, failed = max(4, 2 * cluster.workers()) - len(running), []
            while todo and room > 0:
                step, claim = todo.popleft()
                try:
                    job = narrator.job(step, claim)
                except (InputError, EngineUnavailable) as exc:
                    library.release(claim)
                    failed.append(Failed(step.article.source, naming(exc, step.article.source)))
                    continue
                future = cluster.executor.submit(narrate_article, job)
                running[future] = (step, claim)
                waiting.add(future)
                room -= 1
            return failed

        waiting: set[Future[RemoteEpisode]] = set()
        failed = top_up()
        done = len(failed)
        progress.articles(cluster.label(), done, total)
        yield from failed
        for finished in settled(cluster, waiting):
            outcomes: list[Published | Failed] = []
            recorded: list[Episode] = []
            for future in finished:
                step, claim = running[future]  # until it is settled: released if this run stops now
                outcome = received(future, step, claim, library, out, cluster, progress, narrator.settings.engine)
                if isinstance(outcome, Failed):
                    library.release(claim)
                    outcomes.append(outcome)
                else:
                    recorded.append(outcome)
                del running[future]
            for episode in recorded:
                outcomes.append(published(episode))
            if recorded:
                narrated = unrendered = True
            # Results that come in together, or within RENDER_EVERY_S of the last rendering, are published
            # together: with many workers the feed is not rendered for each (the last ones always are).
            last_one = not running and not todo
            if unrendered and render_each and (last_one or time.monotonic() - rendered_at >= RENDER_EVERY_S):
                render(out, podcast, library, cover=narrator.cover)
                rendered_at, unrendered = time.monotonic(), False
            failed = top_up()
            done += len(finished) + len(failed)
            progress.articles(cluster.label(), done, total)
            yield from outcomes
            yield from failed
    except BaseException:
        library.release(*(claim for _step, claim in (*running.values(), *todo)))
        # What was recorded is published before the run ends (an interrupt may have come between an
        # episode's record and ``unrendered``): else the next command's repair publishes it.
        if render_each:
            with contextlib.suppress(NarratorError, OSError):
                if not library.feed_is_current():
                    render(out, podcast, library, cover=narrator.cover)
        raise
    return narrated


def received(
    future: Future[RemoteEpisode],
    step: Step,
    claim: Claim,
    library: Library,
    out: Path,
    cluster: Cluster,
    progress: Progress,
    engine: str,
) -> Episode | Failed:
    """A worker's result for ``step``: its files put in place and recorded, or why the article failed.

    A reason of the article's own (its text, its engine's failure, a worker it crashed
    each time it was tried) is Failed; a lost scheduler stops the run (ClusterError).
    """
    from .errors import ClusterError
    from .executor import cluster_failure

    source = step.article.source
    try:
        remote = future.result()
    except ClusterError:
        raise
    except NarratorError as exc:  # raised on the worker, about this article
        return Failed(source, naming(exc, source))
    except Exception as exc:
        reason, go_on = cluster_failure(exc, connected=cluster.connected(), address=cluster.address)
        if not go_on:
            raise ClusterError(f"{reason} ({cluster.address})") from exc
        return Failed(source, SynthesisError(f"could not be narrated on the cluster: {reason}", source))
    episode = place_remote(remote, step.article, out)
    record(library, claim, episode)
    if remote.timings.missing:  # as a local run says it once the audio is assembled
        progress.note(remote.timings.describe(source_label(source), engine))
    return episode


def place_remote(remote: RemoteEpisode, article: Article, out: Path) -> Episode:
    """Put a worker's episode files in place in ``out``: written from the bytes it sent, or renamed from
    the staging folder it left in the shared folder; captions first, the MP3 last."""
    import shutil

    from .episode import move_episode

    final = episode_files(out, remote.stem)
    try:
        if remote.staged:
            staged = out / Path(remote.staged).name  # the workers' path to the folder need not be ours
            if not staged.is_dir():
                raise OutputError(
                    f"the workers left the episode in {remote.staged}, which is not in this folder:"
                    " --shared-output must be the output folder as the workers see it",
                    out,
                )
            try:
                move_episode(staged, out, remote.stem)
            finally:
                shutil.rmtree(staged, ignore_errors=True)
        else:
            with staging(out) as work:
                for name, data in remote.files:
                    (work / name).write_bytes(data)
                move_episode(work, out, remote.stem)
    except OSError as exc:  # the disk is full, or failing: one line, and the folder as it was
        raise OutputError(f"cannot write the episode's files ({exc.strerror or exc})", out) from exc
    return Episode(article=article, files=final, timeline=remote.timeline, size_bytes=final.mp3.stat().st_size)


def crowded_workers(cluster: Cluster) -> str:
    """What to say when a worker runs several threads (its articles then take turns with its one engine)."""
    threads = max(cluster.threads(), default=1)
    if threads <= 1:
        return ""
    return (
        f"a worker of the cluster runs {threads} threads, which take turns with its one engine;"
        " start workers with `dask worker --nthreads 1 --nworkers N`"
    )


def cluster_result(future: Future[T], cluster: Cluster, doing: str) -> T:
    """The result of a task the run needs before it can go on (the workers' voices), or ClusterError."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from .errors import ClusterError
    from .executor import cluster_failure

    try:
        return future.result(timeout=CLUSTER_ANSWER_S)
    except FutureTimeout:
        raise ClusterError(f"the cluster's workers did not {doing} within {CLUSTER_ANSWER_S:g} s") from None
    except NarratorError:
        raise
    except Exception as exc:
        reason, _ = cluster_failure(exc)
        raise ClusterError(f"the cluster's workers could not {doing}: {reason}") from exc


#: Seconds between renderings of the feed and the page while a cluster's results come in.
RENDER_EVERY_S = 1.0
#: How long the run waits for an answer it needs from the cluster before it starts (the voices).
CLUSTER_ANSWER_S = 120.0


def plan(narrator: Narrator, articles: Sequence[Article], *, as_new: bool) -> list[Step | Failed]:
    """What the run has to do, found before anything is written: a Step per article, or why it fails.

    Everything that can fail on the input fails here: a language that no
    installed voice speaks, above all (the engines list their voices), an
    article with nothing to say or too long to narrate unasked. The engines
    start on the first article's sentences at once, before the folder is set
    up, and the feed's libraries load meanwhile.
    """
    settings = narrator.settings
    if settings.podcast is not None and settings.podcast.cover is not None:
        from .podcast import check_cover

        check_cover(settings.podcast.cover)  # a bad cover stops the run before the folder is made
    keys = [narrator.build_key(article) for article in articles]
    waiting = pending(settings.output_dir, articles, keys, as_new=as_new)
    too_long = {id(article): error for article, error in too_long_articles(waiting, settings)}
    waiting = [article for article in waiting if id(article) not in too_long]
    check_room(waiting, settings)
    todo = {id(article) for article in waiting}
    if todo:
        narrator.warm_up()  # engines start while the articles are segmented
    else:
        narrator.stop_early_workers()  # nothing to narrate: engines started early stop now, not at the end
    steps: list[Step | Failed] = []
    narratable = False
    for article, key in zip(articles, keys, strict=True):
        if id(article) in too_long:
            steps.append(Failed(article.source, too_long[id(article)]))
            continue
        if settings.cluster and narratable and id(article) in todo:
            # One article is known to be narratable (so the folder may be made): the others are
            # segmented as they are sent, and one with nothing to say fails then, on its own.
            steps.append(Step(article, key, None))  # segmented by Narrator.job
            continue
        try:
            script = narrator.segment(article) if id(article) in todo else None
        except InputError as exc:  # nothing to say
            steps.append(Failed(article.source, naming(exc, article.source)))
            continue
        if script is not None:
            narrator.installed_voices()  # an engine that cannot list its voices stops the run here
            try:
                narrator.voice_for(article)
            except EngineUnavailable as exc:  # no installed voice speaks its language
                steps.append(Failed(article.source, naming(exc, article.source)))
                continue
            narratable = True
        steps.append(Step(article, key, script))
    first = next((step for step in steps if isinstance(step, Step) and step.script is not None), None)
    if first is not None and first.script is not None:
        from .warmup import preload

        if not settings.cluster:  # a cluster's workers start on the articles once they are claimed
            narrator.start(first.article, first.script)
        preload()
    return steps


#: What one second of speech takes on the spool (16-bit samples at the engines' 22.05 kHz), and
#: what every episode file besides the MP3 takes at most, in bytes.
SPOOL_BYTES_PER_SECOND = 2 * 22_050
OTHER_FILES_BYTES = 2 * 1024 * 1024


def estimated_seconds(article: Article, rate_wpm: int) -> float:
    """About how long the article's audio will last: its words at the speaking rate, and the pauses."""
    words = len(article.title.split()) + sum(len(block.text.split()) for block in article.blocks)
    return words * 60 / rate_wpm + 0.7 * len(article.blocks)


def too_long_articles(articles: Sequence[Article], settings: Settings) -> Iterator[tuple[Article, InputError]]:
    """The articles whose audio would last longer than narrate makes unasked (--max-hours), each with its error."""
    for article in articles:
        length = estimated_seconds(article, settings.rate_wpm)
        if length > settings.max_audio_hours * 3600:
            yield (
                article,
                InputError(
                    f"would make about {length / 3600:.1f} hours of audio, more than the {settings.max_audio_hours:g}"
                    f" hours narrate makes unasked; --max-hours {math.ceil(length / 3600)} allows it",
                    article.source,
                ),
            )


def check_room(articles: Sequence[Article], settings: Settings) -> None:
    """Refuse, before any work, a run the output folder's disk has no room for (the largest spool,
    and every MP3)."""
    import shutil

    seconds = [estimated_seconds(article, settings.rate_wpm) for article in articles]
    if not seconds:
        return
    needed = max(seconds) * SPOOL_BYTES_PER_SECOND + sum(
        length * settings.bitrate_kbps * 125 + OTHER_FILES_BYTES for length in seconds
    )
    folder = settings.output_dir.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # nothing to tell: writing will say what is wrong
    if needed > free:
        raise OutputError(
            f"needs about {_size(needed)} free for the audio (the spool of the longest article and the MP3s),"
            f" but its disk has {_size(free)}; free some space, or narrate fewer articles at once",
            settings.output_dir,
        )


def _size(size_bytes: float) -> str:
    """
    >>> _size(3_500_000_000), _size(120_000_000)
    ('3.5 GB', '120 MB')
    """
    return f"{size_bytes / 1e9:.1f} GB" if size_bytes >= 1e9 else f"{size_bytes / 1e6:.0f} MB"


def prepare_folder(out: Path, podcast: PodcastSettings, narrator: Narrator) -> None:
    """The output folder made, a killed run's leftovers swept, podcast.toml and the cover in place."""
    from .folder import podcast_path, sweep_stale
    from .podcast import PodcastSettings, save_podcast

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror or exc})", out) from exc
    sweep_stale(out)
    if not podcast_path(out).exists():
        save_podcast(PodcastSettings(), podcast_path(out))  # the defaults, for the user to edit
    narrator.publish_cover(podcast, out)


def owner_missing(podcast: PodcastSettings) -> str:
    """What to say when a feed published for the world has no owner e-mail, which Apple needs; else ""."""
    from .podcast import is_public_url

    if podcast.owner_email or not is_public_url(podcast.base_url):
        return ""
    return (
        "the feed has no owner e-mail (itunes:email), which Apple Podcasts needs to accept it;"
        " set owner_email in podcast.toml (narrator init --owner-email ADDRESS)"
    )


def rebuild(output_dir: Path, podcast: PodcastSettings, library: Library) -> Path:
    """``narrator feed``: forget dead runs, then render the feed and the page afresh from the library."""
    forget_dead_runs(output_dir, library)
    return render(output_dir, podcast, library)


def forget_dead_runs(output_dir: Path, library: Library) -> None:
    """What killed runs left: their temporary files, and their claims (with the files they wrote)."""
    from .folder import sweep_stale

    sweep_stale(output_dir)
    library.drop_dead_claims()


def narrate_claimed(narrator: Narrator, library: Library, claim: Claim, step: Step, progress: Progress) -> Episode:
    """Narrate a claimed article into its rendition's files; the claim is given back if that fails."""
    try:
        return narrator.narrate(step.article, stem=claim.files_stem, script=step.script, progress=progress)
    except BaseException:
        library.release(claim)
        raise


def record(library: Library, claim: Claim, episode: Episode) -> None:
    """Put the episode, its files now in place, into the library."""
    from .library import article_body, article_summary

    article = episode.article
    library.record(
        claim,
        episode.files,
        title=article.title,
        author=article.byline,
        language=article.language,
        duration_ms=episode.timeline.duration_ms,
        body=article_body(article),
        description=article_summary(article),
        published_at=article.published_at,
        link=article.link,
    )


def render(
    output_dir: Path,
    podcast: PodcastSettings,
    library: Library,
    *,
    now: datetime | None = None,
    cover: Cover | None = None,
) -> Path:
    """Rebuild OUTPUT/feed.xml and the listening page OUTPUT/index.html from the library; return the feed's path.

    The feed lists the newest ``podcast.feed_episodes`` episodes, index.html the newest
    PAGE_EPISODES; the older ones are on archive pages (``page.archive_plan``), of which
    only those whose episodes changed are written again (a new episode changes the last).
    The cover is put in place first; then everything is rendered and renamed into place
    inside the library's write lock, so of two runs finishing together the later one
    writes a feed with both episodes. index.html is rendered in a forked child beside the
    feed, both pure Python. Each episode's renderings are kept in the library, so a
    rebuild renders only what changed; what a render reads and writes does not grow
    with the podcast.
    """
    import marshal

    from .cover import publish_cover
    from .executor import aside
    from .feed import render_feed
    from .folder import PAGE_NAME, Rendered, renderings_to_keep, write_atomic
    from .page import PAGE_EPISODES, archive_plan, render_page

    if cover is None:  # not put in place by this run already
        cover = publish_cover(output_dir, image=podcast.cover, title=podcast.title)
    cover_name = cover.path.name
    path, page_path = output_dir / FEED_NAME, output_dir / PAGE_NAME
    with library.locked():
        generation = library.generation
        guid = feed_guid(podcast, library)
        order = library.order()
        limit = podcast.feed_episodes or len(order)
        newest = library.newest(max(limit, PAGE_EPISODES))
        archive = archive_plan([episode for episode, _revision in order])
        on_page = newest[:PAGE_EPISODES]
        older = archive[-1].name if archive else ""

        known = library.rendered(record.id for record in newest)
        sections = Rendered({episode: (key, section) for episode, (key, _, section) in known.items()})

        # The child only renders: this process writes, under the library's lock (a child that
        # outlived a killed run must not write a page after it).
        def page() -> bytes:
            text = render_page(podcast, on_page, cover_name=cover_name, sections=sections, older=older)
            return marshal.dumps((text.encode(), sections.fresh))

        finish_page = aside(page)
        items = Rendered({episode: (key, item) for episode, (key, item, _) in known.items()})
        try:
            data = render_feed(
                podcast,
                newest[:limit],
                cover_name=cover_name,
                guid=guid,
                build_date=now or datetime.now(UTC).replace(microsecond=0),
                items=items,
            )
            archived = render_archive(output_dir, podcast, library, archive, dict(order), cover_name)
        except BaseException:
            finish_page()  # the child is let finish, not left behind
            raise
        rendered = finish_page()
        if rendered is None:  # the page could not be rendered on the side: render it here, to say why
            rendered = page()
        page_bytes, fresh_sections = marshal.loads(rendered)
        # The page first: whoever sees the new feed (narrator serve watches it) finds the page to match.
        write_atomic(page_path, page_bytes)
        write_atomic(path, data)
        library.rendered_from(generation, rendered_with(podcast))
        fresh: dict[int, tuple[str, str]] = {**fresh_sections, **archived}
        library.keep_rendered(
            renderings_to_keep(library.rendered(items.fresh.keys() | fresh.keys()), items.fresh, fresh)
        )
        drop_archive_pages(output_dir, library, len(archive))
    library.collect_garbage()  # the files that the feed named before and no longer does
    return path


#: Library meta keys: how many archive pages there are, and what each was rendered from.
ARCHIVE_PAGES_KEY = "archive_pages"
ARCHIVE_KEY_PREFIX = "page:"


def render_archive(
    output_dir: Path,
    podcast: PodcastSettings,
    library: Library,
    archive: Sequence[ArchivePage],
    revisions: dict[int, int],
    cover_name: str,
) -> dict[int, tuple[str, str]]:
    """Write the archive pages whose episodes or links changed since they were written (read a page
    at a time); returns the page sections rendered anew."""
    from .folder import Rendered, page_key, write_atomic
    from .page import render_archive_page

    fresh: dict[int, tuple[str, str]] = {}
    for page in archive:
        key = page_key(
            podcast.base_url,
            podcast.language,
            podcast.title,
            cover_name,
            page.name,
            page.first,
            page.older,
            page.newer,
            tuple((episode, revisions[episode]) for episode in page.episodes),
        )
        if library.get_meta(ARCHIVE_KEY_PREFIX + page.name) == key and (output_dir / page.name).is_file():
            continue
        known = library.rendered(page.episodes)
        sections = Rendered({episode: (k, section) for episode, (k, _, section) in known.items()})
        records = library.records(page.episodes)
        html = render_archive_page(podcast, page, records, cover_name=cover_name, sections=sections)
        write_atomic(output_dir / page.name, html.encode())
        library.set_meta(ARCHIVE_KEY_PREFIX + page.name, key)
        fresh.update(sections.fresh)
    return fresh


def drop_archive_pages(output_dir: Path, library: Library, count: int) -> None:
    """Delete the archive pages past ``count`` (episodes were removed), now that nothing links to them."""
    from .page import archive_name

    before = int(library.get_meta(ARCHIVE_PAGES_KEY) or 0)
    for number in range(count + 1, before + 1):
        name = archive_name(number)
        (output_dir / name).unlink(missing_ok=True)
        library.delete_meta(ARCHIVE_KEY_PREFIX + name)
    if before != count:
        library.set_meta(ARCHIVE_PAGES_KEY, str(count))


def rendered_with(podcast: PodcastSettings) -> str:
    """What the feed and the page show besides the episodes: the podcast's settings and the code
    that renders them. A feed rendered with other ones is rendered again (a --base-url kept while
    nothing was narrated, an upgraded narrator)."""
    from .folder import rendering_code

    return hashlib.sha256(f"{rendering_code()}\n{podcast!r}".encode("utf-8", "surrogatepass")).hexdigest()


def repair(output_dir: Path, podcast: PodcastSettings, library: Library, *, cover: Cover | None = None) -> None:
    """Bring the folder to what the library says, whatever moment a run was killed at: forget
    dead runs' claims (their files go), render the feed if the library has changed since it was
    rendered, and delete the files nothing uses any more."""
    forget_dead_runs(output_dir, library)
    published = library.generation > 0 or library.has_episodes()
    stale = published and (not library.feed_is_current() or library.rendered_with() != rendered_with(podcast))
    if stale or (library.has_episodes() and not (output_dir / FEED_NAME).exists()):
        render(output_dir, podcast, library, cover=cover)
    else:
        library.collect_garbage()


#: Library meta key under which the podcast:guid is kept once the feed has a public URL.
GUID_META_KEY = "podcast_guid"


def feed_guid(podcast: PodcastSettings, library: Library) -> str:
    """The podcast:guid: the one set in podcast.toml, else the one kept in the library, else a new one.

    Podcasting 2.0 asks that the GUID never change, even when the feed moves, so
    the first one derived from a public feed URL is kept in the library. While
    the feed is only on this machine (the default base URL) it is not kept.
    """
    from .feed import podcast_guid
    from .podcast import is_public_url

    if podcast.guid:
        return podcast.guid
    kept = library.get_meta(GUID_META_KEY)
    if kept:
        return kept
    guid = podcast_guid(podcast.feed_url)
    if is_public_url(podcast.base_url):
        library.set_meta(GUID_META_KEY, guid)
    return guid


# --- one episode ------------------------------------------------------------------------


class Narrator:
    """Narrates articles into ``settings.output_dir``; one set of warm engines serves them all.

    ``album`` and ``cover`` are the podcast's title and cover art, for the ID3 tag;
    ``cover_id`` names the cover in build keys before it is published.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        album: str = "",
        cover: Cover | None = None,
        cover_id: str = "",
        workers: Workers | None = None,
    ) -> None:
        self.settings = settings
        self._workers = workers
        self.album = album
        self._cover = cover
        self._cover_future: Future[Cover] | None = None
        self.cover_id = cover_id or (hashlib.sha256(cover.data).hexdigest() if cover else "")
        self._synthesizer: Synthesizer | None = None
        self._started: tuple[Article, Iterator[Clip], WordTimings] | None = None
        self._progress = Progress()
        self._cluster: Cluster | None = None
        self._cluster_voices: InstalledVoices | None = None
        self._warming: list[Future[tuple[tuple[Voice, ...], str, str]]] = []
        self._closing = contextlib.ExitStack()

    def __enter__(self) -> Narrator:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self._synthesizer is not None:
                if kind is None:
                    self._synthesizer.close()
                else:  # the run is ending on an error: stopped at once, not waited for (an engine may be stuck)
                    self._synthesizer.kill()
            self.stop_early_workers()
        finally:
            self._closing.__exit__(kind, error, trace)  # the cluster: cancelled at once after an error or Ctrl-C

    @property
    def cluster(self) -> Cluster:
        """The Dask cluster that narrates this run's articles (``settings.cluster``), reached on first use."""
        if self._cluster is None:
            from .executor import open_cluster

            s = self.settings
            self._cluster = self._closing.enter_context(open_cluster(s.cluster, connect_timeout_s=s.cluster_timeout_s))
        return self._cluster

    def warm_up(self) -> None:
        """Get the engines ready while the articles are segmented: the local ones, or the cluster."""
        if self.settings.cluster:
            _ = self.cluster
        else:
            self.synthesizer.warm_up()

    def installed_voices(self) -> InstalledVoices:
        """The engine's voices as the processes that speak list them: the local workers, or the cluster's."""
        from .language import InstalledVoices, voices_of

        if not self.settings.cluster:
            return voices_of(self.synthesizer)
        if self._cluster_voices is None:
            from .remote import describe_engine

            # Asked of every worker at once: each starts its engine now, not in its first article.
            # The futures are kept for the run: a Dask future let go of may have its task cancelled.
            self._warming = self.cluster.on_every_worker(describe_engine, self.settings.engine)
            voices, default, _version = cluster_result(self._warming[0], self.cluster, "list the engine's voices")
            self._cluster_voices = InstalledVoices(voices=voices, default=default)
        return self._cluster_voices

    def stop_early_workers(self) -> None:
        """Stop engines started early that no synthesizer took on."""
        if self._workers is not None and self._synthesizer is None:
            self._workers.close()

    @property
    def cover(self) -> Cover | None:
        if self._cover_future is not None:
            self._cover, self._cover_future = self._cover_future.result(), None
        return self._cover

    def publish_cover(self, podcast: PodcastSettings, out: Path) -> None:
        """Put the podcast's cover in place; drawing one (0.02 s) happens beside synthesis."""
        from .cover import publish_cover
        from .executor import in_background

        if podcast.cover is not None:  # the user's image: checked now, so a bad one stops the run early
            self._cover = publish_cover(out, image=podcast.cover, title=podcast.title)
            return
        self._cover_future = in_background(lambda: publish_cover(out, image=None, title=podcast.title), "cover")

    @property
    def lexicon(self) -> Lexicon:
        from .lexicon import default_lexicon

        return self.settings.lexicon or default_lexicon()

    def voice_for(self, article: Article) -> str:
        """The voice that reads ``article``: --voice (SettingsError when the engine has no such voice),
        else the installed voice that best speaks its language.

        Always a voice id, never "the default": a worker's engine keeps the last
        voice it was given, so a German article followed by an English one in the
        same run must name the English voice.
        """
        from .language import check_voice, choose_voice, other_engines

        installed = self.installed_voices()
        if self.settings.voice:
            return check_voice(self.settings.voice, installed)
        # The other engines are asked for their voices only to say, when none here speaks it, which does.
        return choose_voice(article.language, installed, other_engines(installed.engine))

    @property
    def synthesizer(self) -> Synthesizer:
        """The engines, started on first use (a run with nothing to narrate never starts them)."""
        if self._synthesizer is None:
            from .cache import ClipCache
            from .synth import Synthesizer, Voicing

            s = self.settings
            cache = ClipCache(s.cache_dir, s.cache_max_bytes) if s.cache_dir else None
            voicing = Voicing(engine=s.engine, voice=s.voice, rate=s.rate_wpm)
            self._synthesizer = Synthesizer(
                voicing, jobs=s.jobs, cache=cache, timeout_s=s.timeout_s, workers=self._workers
            )
        return self._synthesizer

    def segment(self, article: Article) -> Script:
        from .segment import segment_article

        script = segment_article(article, rate_wpm=self.settings.rate_wpm, lexicon=self.lexicon)
        if self.speaks_cue_by_cue:
            from .words import cut_at_cues

            script = cut_at_cues(script, rate_wpm=self.settings.rate_wpm)
        return script

    @property
    def speaks_cue_by_cue(self) -> bool:
        """Whether sentences are spoken cue by cue: the engine cannot tell where words start."""
        from .engines import engine_times_words

        return not engine_times_words(self.settings.engine)

    def start(self, article: Article, script: Script) -> None:
        """Start synthesizing ``article`` now, while its episode is still being set up; ``narrate`` takes it on."""
        timings = WordTimings()
        self._started = (article, self._clips(article, script, timings), timings)

    def _clips(self, article: Article, script: Script, timings: WordTimings) -> Iterator[Clip]:
        synthesizer = self.synthesizer
        synthesizer.voicing = replace(synthesizer.voicing, voice=self.voice_for(article))
        texts = [chunk for sentence in script.sentences() for chunk in sentence.chunks]
        # The progress counts sentences (as the user thinks of the text), not the engine's pieces.
        ends = iter(itertools.accumulate(len(sentence.chunks) for sentence in script.sentences()))
        state = {"done": 0, "next": next(ends, 0)}

        def piece_done() -> None:
            state["done"] += 1
            while state["done"] >= state["next"] > 0:
                self._progress.advance()
                state["next"] = next(ends, 0)

        clips = synthesizer.clips(texts, on_done=piece_done)
        return clips if self.speaks_cue_by_cue else timings.count(clips)

    def narrate(
        self, article: Article, *, stem: str, script: Script | None = None, progress: Progress = Progress()
    ) -> Episode:
        """Narrate one article (segmented already, or here) as STEM.mp3, .vtt, .srt and .chapters.json."""
        settings = self.settings
        self.synthesizer.warm_up()  # engines initialise while the article is segmented
        script = script or self.segment(article)
        self._progress = progress
        started, self._started = self._started, None
        if started is not None and started[0] is article:
            _, clips, timings = started
        else:
            timings = WordTimings()
            clips = self._clips(article, script, timings)
        progress.start(article.title, len(script.sentences()))
        from .episode import move_episode, write_episode  # imported only now, while the engines work
        from .warmup import return_freed_memory

        return_freed_memory()
        output_dir = settings.output_dir
        final = episode_files(output_dir, stem)
        try:
            with staging(output_dir) as work:
                timeline = write_episode(
                    work,
                    stem,
                    article,
                    script,
                    clips,
                    tags=lambda: self.tags(article, script),
                    bitrate_kbps=settings.bitrate_kbps,
                    jobs=settings.jobs,
                    cue_by_cue=self.speaks_cue_by_cue,
                    mp3_name=final.mp3,
                    assembled=lambda: assembled(progress, timings, article, settings.engine),
                )
                move_episode(work, output_dir, stem)
        except OSError as exc:  # the disk is full, or failing: one line, and the folder as it was
            raise OutputError(f"cannot write the episode's files ({exc.strerror or exc})", output_dir) from exc
        return Episode(article=article, files=final, timeline=timeline, size_bytes=final.mp3.stat().st_size)

    def job(self, step: Step, claim: Claim) -> ArticleJob:
        """What a cluster's worker needs to narrate the claimed article of ``step``, and nothing else."""
        from . import __version__
        from .remote import ArticleJob
        from .synth import Voicing

        s = self.settings
        script = step.script if step.script is not None else self.segment(step.article)  # segmented only now
        return ArticleJob(
            article=step.article,
            script=script,
            stem=claim.files_stem,
            voicing=Voicing(engine=s.engine, voice=self.voice_for(step.article), rate=s.rate_wpm),
            tags=self.tags(step.article, script),
            bitrate_kbps=s.bitrate_kbps,
            encoders=s.jobs,
            cue_by_cue=self.speaks_cue_by_cue,
            use_cache=s.cache_dir is not None,
            cache_dir=str(s.worker_cache_dir or ""),
            cache_max_bytes=s.cache_max_bytes,
            timeout_s=s.timeout_s,
            version=__version__,
            shared_output=str(s.shared_output or ""),
            client_pid=os.getpid(),
        )

    def tags(self, article: Article, script: Script) -> Tags:
        """What the episode's ID3 tag says; its chapters are filled in once the audio is made."""
        from .tagging import Tags, language_code

        body = "\n\n".join(
            " ".join(s.text for s in paragraph.sentences)
            for chapter in script.chapters
            for paragraph in chapter.paragraphs
        )
        podcast = self.settings.podcast
        return Tags(
            title=article.title,
            # Players show "Unknown artist" without one: an article that names no author is the podcast's.
            artist=article.byline or (podcast.author if podcast is not None else ""),
            album=self.album,
            date=dt.date.today().isoformat(),
            language=language_code(article.language),
            comment=f"Narrated by narrator from {source_label(article.source)}",
            lyrics=body,
            chapters=(),
            cover=self.cover.data if self.cover else None,
            cover_mime=self.cover.mime if self.cover else "image/jpeg",
        )

    def build_key(self, article: Article) -> str:
        """What the episode's files depend on: same key, same files (so an unchanged article is not redone)."""
        from . import __version__
        from .library import build_key

        s = self.settings
        parts: dict[str, object] = {
            "narrator": __version__,
            # Not the engine's version: an upgraded espeak-ng keeps published episodes as they are
            # (the clip cache, which must not mix versions within an episode, does key on it).
            "engine": s.engine,
            # The voice that --voice names, or "auto": the best installed voice for the language (which
            # is part of the key), so an unchanged article is recognised without asking the engine.
            "voice": s.voice or "auto",
            "rate": s.rate_wpm,
            "bitrate": s.bitrate_kbps,
            "album": self.album,
            "cover": self.cover_id,
            "language": article.language,
        }
        lexicon = self.lexicon.digest(article.language)
        if lexicon:  # only with the user's own entries: a podcast without a lexicon keeps its keys
            parts["lexicon"] = lexicon
        return build_key(article.text_hash, parts)


# --- helpers ---------------------------------------------------------------------------


def cover_identity(podcast: PodcastSettings) -> str:
    """What the episodes' cover art depends on, known before the cover is published."""
    if podcast.cover is None:
        return f"drawn:{podcast.title}"
    try:
        return hashlib.sha256(podcast.cover.read_bytes()).hexdigest()
    except OSError:
        return f"missing:{podcast.cover}"  # publishing it will say what is wrong


def pending(out: Path, articles: Sequence[Article], keys: Sequence[str], *, as_new: bool) -> list[Article]:
    """The articles a run has to narrate: all but those the library has, unchanged, with their files."""
    from .library import library_path, open_library

    if as_new or not library_path(out).exists():
        return list(articles)
    with open_library(out, create=False) as library:
        return [
            article
            for article, key in zip(articles, keys, strict=True)
            if library.reusable(article.key or article.source, text_hash=article.text_hash, build_key=key) is None
        ]


def slugify(text: str, limit: int = 60) -> str:
    """A file-name stem: ASCII lowercase words joined by hyphens.

    >>> slugify("Why fight for Russia? Deaths of North Korean officers"), slugify("Ça va, Zoë!")
    ('why-fight-for-russia-deaths-of-north-korean-officers', 'ca-va-zoe')
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "episode"


def source_stem(article: Article) -> str:
    """What a new episode's file names are made from: the file's name, or the title for stdin and web pages."""
    if article.source == STDIN or is_url(article.source):
        return article.title
    return Path(article.source).stem


def source_label(source: str) -> str:
    """
    >>> source_label("/home/me/news/ferry.md"), source_label("-"), source_label("https://example.org/a")
    ('ferry.md', 'standard input', 'https://example.org/a')
    """
    if source == STDIN:
        return "standard input"
    return source if is_url(source) else Path(source).name


# --- what would be said -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    """An article as narrate would say it, without synthesizing it: ``narrator script``."""

    article: Article
    voice: str
    """The voice that would read it (``Narrator.voice_for``)."""
    script: Script


def preview(articles: Sequence[Article], settings: Settings) -> Iterator[Preview | Failed]:
    """Each article segmented and spoken as narrate would, with the voice narrate would choose, or
    why it cannot be narrated. Nothing is synthesized and nothing is written."""
    with Narrator(settings) as narrator:
        for article in articles:
            try:
                script = narrator.segment(article)
            except InputError as exc:
                yield Failed(article.source, naming(exc, article.source))
                continue
            narrator.synthesizer.voices()  # an engine that cannot list its voices stops the run here
            try:
                voice = narrator.voice_for(article)
            except EngineUnavailable as exc:
                yield Failed(article.source, naming(exc, article.source))
                continue
            yield Preview(article, voice, script)


def script_dict(found: Preview) -> dict[str, object]:
    """What ``narrator script --json`` prints for an article: each sentence's caption text and spoken form."""
    article, script = found.article, found.script
    return {
        "source": article.source,
        "title": article.title,
        "author": article.byline,
        "language": article.language,
        "voice": found.voice,
        "chapters": [
            {
                "title": chapter.title,
                "sentences": [
                    {"text": sentence.text, "spoken": " ".join(sentence.chunks)}
                    for paragraph in chapter.paragraphs
                    for sentence in paragraph.sentences
                ],
            }
            for chapter in script.chapters
        ],
    }
