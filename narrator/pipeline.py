"""narrate(): read -> segment -> synthesize -> assemble -> encode -> tag and captions -> publish.

The only module that sees all of Settings. Every file of an episode is first
written into a private temporary folder inside the output folder and then renamed
into place, so an interrupted or failed run leaves what was there untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from . import article as article_mod
from .errors import OutputError
from .models import Article, Clip, Episode, EpisodeFiles, Script, Timeline
from .settings import Settings

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .lexicon import Lexicon
    from .show import Cover, ShowSettings
    from .synth import Synthesizer, Workers
    from .tagging import Tags


@dataclass(frozen=True, slots=True)
class Progress:
    """Callbacks the CLI passes in to show progress; all optional."""

    start: Callable[[str, int], None] = lambda label, total: None
    """A new article: its label and how many pieces of text it has."""
    advance: Callable[[], None] = lambda: None
    finish: Callable[[], None] = lambda: None


def slugify(text: str, limit: int = 60) -> str:
    """A file-name stem: ASCII lowercase words joined by hyphens.

    >>> slugify("Why fight for Russia? Deaths of North Korean officers"), slugify("Ça va, Zoë!")
    ('why-fight-for-russia-deaths-of-north-korean-officers', 'ca-va-zoe')
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "episode"


def episode_files(output_dir: Path, stem: str) -> EpisodeFiles:
    return EpisodeFiles(
        mp3=output_dir / f"{stem}.mp3",
        vtt=output_dir / f"{stem}.vtt",
        srt=output_dir / f"{stem}.srt",
        chapters_json=output_dir / f"{stem}.chapters.json",
    )


@contextmanager
def staging(output_dir: Path) -> Iterator[Path]:
    """A temporary folder inside ``output_dir`` (same file system, so renames are atomic)."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        # The pid in the name lets a later run sweep what a killed run left.
        folder = Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", dir=output_dir))
    except OSError as exc:
        raise OutputError(f"cannot write to the output folder ({exc.strerror or exc})", output_dir) from exc
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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
        self._started: tuple[Article, Iterator[Clip]] | None = None
        self._progress = Progress()

    @property
    def cover(self) -> Cover | None:
        if self._cover_future is not None:
            self._cover, self._cover_future = self._cover_future.result(), None
        return self._cover

    def publish_cover(self, show: ShowSettings, out: Path) -> None:
        """Put the podcast's cover in place; drawing one (0.2 s) happens beside synthesis, on a thread."""
        from .show import publish_cover

        if show.cover is not None:  # the user's image: checked now, so a bad one stops the run early
            self._cover = publish_cover(show, out)
            return
        import threading
        from concurrent.futures import Future

        future: Future[Cover] = Future()

        def draw() -> None:
            try:
                future.set_result(publish_cover(show, out))
            except BaseException as exc:  # delivered to whoever asks for the cover
                future.set_exception(exc)

        threading.Thread(target=draw, name="narrator-cover", daemon=True).start()
        self._cover_future = future

    @property
    def lexicon(self) -> Lexicon:
        from .lexicon import default_lexicon

        return self.settings.lexicon or default_lexicon()

    def voice_for(self, article: Article) -> str:
        """The voice that reads ``article``: --voice, else the installed voice that best speaks its language.

        Always a voice id, never "the default": a worker's engine keeps the last
        voice it was given, so a German article followed by an English one in the
        same run must name the English voice.
        """
        if self.settings.voice:
            return self.settings.voice
        from .language import choose_voice, voices_of

        return choose_voice(article.language, voices_of(self.synthesizer))

    def __enter__(self) -> Narrator:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._synthesizer is not None:
            self._synthesizer.close()

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

        return segment_article(article, rate_wpm=self.settings.rate_wpm, lexicon=self.lexicon)

    def start(self, article: Article, script: Script) -> None:
        """Start synthesizing ``article`` now, while its episode is still being set up; ``narrate`` takes it on."""
        self._started = (article, self._clips(article, script))

    def _clips(self, article: Article, script: Script) -> Iterator[Clip]:
        synthesizer = self.synthesizer
        synthesizer.voicing = replace(synthesizer.voicing, voice=self.voice_for(article))
        texts = [chunk for sentence in script.sentences() for chunk in sentence.chunks]
        return synthesizer.clips(texts, on_done=lambda: self._progress.advance())

    def narrate(
        self, article: Article, *, stem: str, script: Script | None = None, progress: Progress = Progress()
    ) -> Episode:
        """Narrate one article (segmented already, or here) as STEM.mp3, .vtt, .srt and .chapters.json."""
        settings = self.settings
        self.synthesizer.warm_up()  # engines initialise while the article is segmented
        script = script or self.segment(article)
        self._progress = progress
        started, self._started = self._started, None
        clips = started[1] if started is not None and started[0] is article else self._clips(article, script)
        progress.start(article.title, sum(len(sentence.chunks) for sentence in script.sentences()))
        # Imported only now, while the engines work.
        from .assemble import Pauses, StreamEncoder, assemble
        from .captions import render_chapters_json, render_srt, render_vtt
        from .tagging import write_tags

        output_dir = settings.output_dir
        final = episode_files(output_dir, stem)
        with staging(output_dir) as work:
            spool_path = work / "episode.raw"
            staged = episode_files(work, stem)
            with (
                spool_path.open("wb") as spool,
                StreamEncoder(
                    spool_path, staged.mp3, bitrate_kbps=settings.bitrate_kbps, jobs=settings.jobs
                ) as encoder,
            ):
                assembly = assemble(script, clips, spool, encoder, Pauses())
                progress.finish()
                encoded = encoder.finish(samples=assembly.samples)
            spool_path.unlink()
            timeline = assembly.timeline(encoded)
            write_tags(staged.mp3, self._tags(article, script, timeline))
            staged.vtt.write_text(render_vtt(timeline.cues), encoding="utf-8")
            staged.srt.write_text(render_srt(timeline.cues), encoding="utf-8")
            staged.chapters_json.write_text(
                render_chapters_json(
                    timeline.chapters,
                    title=article.title,
                    author=article.byline,
                    podcast_name=self.album,
                    file_name=final.mp3.name,
                ),
                encoding="utf-8",
            )
            # Captions and chapters first, the MP3 last: a reader who sees the new MP3 finds its captions.
            for name in ("vtt", "srt", "chapters_json", "mp3"):
                os.replace(getattr(staged, name), getattr(final, name))
        return Episode(article=article, files=final, timeline=timeline, size_bytes=final.mp3.stat().st_size)

    def _tags(self, article: Article, script: Script, timeline: Timeline) -> Tags:
        from .tagging import Tags, language_code

        body = "\n\n".join(
            " ".join(s.text for s in paragraph.sentences)
            for chapter in script.chapters
            for paragraph in chapter.paragraphs
        )
        return Tags(
            title=article.title,
            artist=article.byline,
            album=self.album,
            date=dt.date.today().isoformat(),
            language=language_code(article.language),
            comment=f"Narrated by narrator from {source_label(article.source)}",
            lyrics=body,
            chapters=timeline.chapters,
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


def publish(
    articles: Sequence[Article],
    settings: Settings,
    *,
    as_new: bool = False,
    progress: Progress = Progress(),
    workers: Workers | None = None,
) -> Iterator[Published]:
    """Narrate ``articles`` into the podcast folder: each becomes an episode in the library and feed.xml.

    An article already in the library (same source) is narrated again under its
    old stem and GUID, unless nothing changed; ``as_new`` publishes it afresh.
    The feed is rewritten after every episode, so an interrupted run leaves a
    feed that matches the files. ``workers``, started early by the caller, are
    used and closed.
    """
    from .library import Action, article_body, article_summary, open_library
    from .show import FEED_NAME, ShowSettings, save_show, show_path

    out = settings.output_dir
    show = settings.show or ShowSettings()
    with Narrator(settings, album=show.title, cover_id=cover_identity(show), workers=workers) as narrator:
        keys = [narrator.build_key(article) for article in articles]
        todo = pending(out, articles, keys, as_new=as_new)
        if todo:
            narrator.synthesizer.warm_up()  # engines start while the articles are segmented
        elif workers is not None:
            workers.close()  # nothing to narrate: engines started early stop now, not at the end
        scripts = {id(article): narrator.segment(article) for article in todo}
        # Everything that can fail on the input fails before the folder is touched: here, a
        # language that no installed voice speaks (the engines list their voices).
        for article in todo:
            narrator.voice_for(article)
        if todo:  # the first article's sentences go to the engines now, before the folder is set up
            narrator.start(todo[0], scripts[id(todo[0])])
            from . import feed  # noqa: F401 (feedgen loads while the engines work)

        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the output folder ({exc.strerror or exc})", out) from exc
        sweep_stale(out)
        if not show_path(out).exists():
            save_show(ShowSettings(), show_path(out))  # the defaults, for the user to edit
        narrator.publish_cover(show, out)
        changed = False
        with open_library(out) as library:
            for article, key in zip(articles, keys, strict=True):
                claim = library.claim(
                    article.source,
                    slug=slugify(source_stem(article)),
                    text_hash=article.text_hash,
                    build_key=key,
                    as_new=as_new,
                )
                if claim.action is Action.REUSE and claim.existing is not None:
                    old = claim.existing
                    yield Published(out / old.audio.name, old.duration_ms, len(old.chapters), 0, None, reused=True)
                    continue
                try:
                    script = scripts.get(id(article))
                    episode = narrator.narrate(article, stem=claim.stem, script=script, progress=progress)
                except BaseException:
                    library.release(claim)
                    raise
                library.record(
                    claim,
                    episode.files,
                    title=article.title,
                    author=article.byline,
                    language=article.language,
                    duration_ms=episode.timeline.duration_ms,
                    body=article_body(article),
                    description=article_summary(article),
                )
                from .feed import write_feed

                write_feed(out, show, library)
                changed = True
                t = episode.timeline
                yield Published(
                    episode.files.mp3, t.duration_ms, len(t.chapters), len(t.cues), t.loudness.integrated_lufs, False
                )
            if not changed and not (out / FEED_NAME).exists():
                from .feed import write_feed

                write_feed(out, show, library)


def cover_identity(show: ShowSettings) -> str:
    """What the episodes' cover art depends on, known before the cover is published."""
    if show.cover is None:
        return f"drawn:{show.title}"
    try:
        return hashlib.sha256(show.cover.read_bytes()).hexdigest()
    except OSError:
        return f"missing:{show.cover}"  # publishing it will say what is wrong


def pending(out: Path, articles: Sequence[Article], keys: Sequence[str], *, as_new: bool) -> list[Article]:
    """The articles a run has to narrate: all but those the library has, unchanged, with their files."""
    from .library import library_path, open_library

    if as_new or not library_path(out).exists():
        return list(articles)
    with open_library(out, create=False) as library:
        return [
            article
            for article, key in zip(articles, keys, strict=True)
            if library.reusable(article.source, text_hash=article.text_hash, build_key=key) is None
        ]


def sweep_stale(output_dir: Path) -> None:
    """Remove temporary folders that runs killed before they could clean up left behind."""
    from .library import pid_alive

    for folder in output_dir.glob(".tmp-*"):
        pid = folder.name.split("-")[1] if folder.name.count("-") >= 2 else ""
        if folder.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def read(
    source: Path | str,
    *,
    fmt: str | None = None,
    language: str = "",
    default_language: str = "en",
    stdin: BinaryIO | None = None,
) -> Article:
    """Read one input (a file, a web address or ``-`` for stdin) into an Article in its language.

    The language is ``language`` (--language) when given, else what the input
    declares, else what the detector makes of the text, else ``default_language``.
    InputError names the input when it cannot be narrated.
    """
    from .language import detect_language

    found = article_mod.read_input(source, fmt=article_mod.InputFormat(fmt) if fmt else None, stdin=stdin)
    tag = language or found.language
    if not tag:
        text = "\n\n".join([found.title, *(block.text for block in found.blocks)])
        tag = detect_language(text, fallback=default_language)
    return replace(found, language=tag)


def source_stem(article: Article) -> str:
    """What a new episode's file names are made from: the file's name, or the title for stdin and web pages."""
    if article.source == article_mod.STDIN or article_mod.is_url(article.source):
        return article.title
    return Path(article.source).stem


def source_label(source: str) -> str:
    """
    >>> source_label("/home/me/news/ferry.md"), source_label("-"), source_label("https://example.org/a")
    ('ferry.md', 'standard input', 'https://example.org/a')
    """
    if source == article_mod.STDIN:
        return "standard input"
    return source if article_mod.is_url(source) else Path(source).name
