"""narrate(): read -> segment -> synthesize -> assemble -> encode -> tag and captions -> publish.

The only module that sees all of Settings. Every file of an episode is first
written into a private temporary folder inside the output folder and then renamed
into place, so an interrupted or failed run leaves what was there untouched.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import article as article_mod
from .cache import ClipCache
from .captions import render_chapters_json, render_srt, render_vtt
from .errors import OutputError
from .models import Article, Episode, EpisodeFiles, Script, Timeline
from .segment import segment_article
from .settings import Settings
from .synth import Synthesizer, Voicing
from .tagging import Tags, language_code, write_tags

COVER_NAME = "cover.jpg"


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
        folder = Path(tempfile.mkdtemp(prefix=".tmp-", dir=output_dir))
    except OSError as exc:
        raise OutputError(f"cannot write to the output folder ({exc.strerror or exc})", output_dir) from exc
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ensure_cover(output_dir: Path, title: str) -> bytes:
    """The podcast's cover, drawn once and kept in the output folder."""
    path = output_dir / COVER_NAME
    if path.is_file():
        return path.read_bytes()
    from .cover import draw_cover

    data = draw_cover(title)
    publish_bytes(path, data)
    return data


def publish_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file beside it, then a rename."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; published files are for everyone
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write ({exc.strerror or exc})", path) from exc


class Narrator:
    """Narrates articles into ``settings.output_dir``; one set of warm engines serves them all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        cache = ClipCache(settings.cache_dir, settings.cache_max_bytes) if settings.cache_dir else None
        voicing = Voicing(engine=settings.engine, voice=settings.voice, rate=settings.rate_wpm)
        self.synthesizer = Synthesizer(voicing, jobs=settings.jobs, cache=cache, timeout_s=settings.timeout_s)

    def __enter__(self) -> Narrator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.synthesizer.close()

    def narrate(self, article: Article, *, stem: str, progress: Progress = Progress()) -> Episode:
        """Narrate one article as STEM.mp3, STEM.vtt, STEM.srt and STEM.chapters.json."""
        settings = self.settings
        self.synthesizer.warm_up()  # engines initialise while the article is segmented
        script = segment_article(article, rate_wpm=settings.rate_wpm)
        texts = [chunk for sentence in script.sentences() for chunk in sentence.chunks]
        output_dir = settings.output_dir
        final = episode_files(output_dir, stem)
        progress.start(article.title, len(texts))
        with staging(output_dir) as work:
            clips = self.synthesizer.clips(texts, on_done=progress.advance)
            # Imported only now: numpy and pydub load while the engines work.
            from .assemble import Pauses, StreamEncoder, assemble

            spool_path = work / "episode.raw"
            staged = episode_files(work, stem)
            with (
                spool_path.open("wb") as spool,
                StreamEncoder(spool_path, bitrate_kbps=settings.bitrate_kbps, jobs=settings.jobs) as encoder,
            ):
                assembly = assemble(script, clips, spool, encoder, Pauses())
                progress.finish()
                encoded = encoder.finish(staged.mp3, samples=assembly.samples, measured_lufs=assembly.integrated_lufs)
            spool_path.unlink()
            timeline = assembly.timeline(encoded)
            cover = ensure_cover(output_dir, settings.podcast_title)
            write_tags(staged.mp3, _tags(article, script, timeline, settings, cover))
            staged.vtt.write_text(render_vtt(timeline.cues), encoding="utf-8")
            staged.srt.write_text(render_srt(timeline.cues), encoding="utf-8")
            staged.chapters_json.write_text(
                render_chapters_json(
                    timeline.chapters,
                    title=article.title,
                    author=article.byline,
                    podcast_name=settings.podcast_title,
                    file_name=final.mp3.name,
                ),
                encoding="utf-8",
            )
            # Captions and chapters first, the MP3 last: a reader who sees the new MP3 finds its captions.
            for name in ("vtt", "srt", "chapters_json", "mp3"):
                os.replace(getattr(staged, name), getattr(final, name))
        return Episode(article=article, files=final, timeline=timeline, size_bytes=final.mp3.stat().st_size)


def _tags(article: Article, script: Script, timeline: Timeline, settings: Settings, cover: bytes) -> Tags:
    body = "\n\n".join(
        " ".join(s.text for s in paragraph.sentences) for chapter in script.chapters for paragraph in chapter.paragraphs
    )
    return Tags(
        title=article.title,
        artist=article.byline,
        album=settings.podcast_title,
        date=dt.date.today().isoformat(),
        language=language_code(article.language),
        comment=f"Narrated by narrator from {Path(article.source).name}",
        lyrics=body,
        chapters=timeline.chapters,
        cover=cover,
    )


def read(path: Path) -> Article:
    return article_mod.read_article(path)
