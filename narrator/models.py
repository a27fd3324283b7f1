"""The small frozen dataclasses that flow between the pipeline's stages.

Times are integer milliseconds (``_ms``), sizes bytes (``_bytes``), paths
``pathlib.Path``, collections tuples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path


class BlockKind(StrEnum):
    """What a block of an article is."""

    PARAGRAPH = "paragraph"
    HEADING = "heading"
    CAPTION = "caption"
    ITEM = "item"
    """An item of a bulleted or numbered list: read as a paragraph of its own."""


@dataclass(frozen=True, slots=True)
class Block:
    """One block of an article's body, in reading order."""

    kind: BlockKind
    text: str
    """The article's own words, whitespace normalised."""
    label: str = ""
    """A numbered item's number as printed ("1.", "b)"), which ``text`` starts with; else empty."""


@dataclass(frozen=True, slots=True)
class Article:
    """What the reader found in an input: the parts worth narrating."""

    source: str
    """Where it came from: a path or ``-`` for standard input."""
    title: str
    byline: str
    """The author as printed, without a leading "By"; empty when unknown."""
    blocks: tuple[Block, ...]
    dropped: tuple[str, ...] = ()
    """Page chrome that was recognised and left out, for reporting."""
    text_hash: str = ""
    """Identifies the article's text: equal hashes, the same text to narrate. SHA-256 of a file's
    decoded text, or of the article found in a web page (see ``readers.base``)."""
    language: str = "en"
    """BCP 47 language tag of the text."""
    date: str = ""
    """When the article was published, as the input says (ISO 8601 from pages and front matter); often empty."""
    marked_headings: bool = False
    """Headings come from markup (Markdown, HTML), not guessed from short lines: each starts a
    chapter however short its section."""
    credit: str = ""
    """The byline as the opening says it, in the article's words: "Von Jonas Weber", "By Lena Park"
    (the name alone when its language has no word for "by" here); empty without a byline."""
    skipped: tuple[str, ...] = ()
    """What was deliberately not read, described for the captions file: "a code block of 12 lines"."""
    key: str = ""
    """What the library knows the episode by, when not by ``source``: a followed feed's item is known by
    its feed and GUID (``library.item_key``), so an item edited in place, even under a new link, is the
    same episode."""
    link: str = ""
    """The article's web address, for the feed item's link: a feed item's link; empty for files."""
    published_at: datetime | None = None
    """When the article was published, for the episode's date (a feed item's); None: when it is narrated."""


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence: what captions show and what the engine says."""

    text: str
    """The article's own words, never the spoken form."""
    chunks: tuple[str, ...]
    """The spoken form, split at clause boundaries into engine-sized pieces."""


@dataclass(frozen=True, slots=True)
class Paragraph:
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True, slots=True)
class ChapterPlan:
    """A chapter before synthesis: its title and its paragraphs."""

    title: str
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True, slots=True)
class Script:
    """An article segmented for narration: chapters of paragraphs of sentences."""

    title: str
    byline: str
    language: str
    chapters: tuple[ChapterPlan, ...]

    def sentences(self) -> tuple[Sentence, ...]:
        return tuple(s for c in self.chapters for p in c.paragraphs for s in p.sentences)


@dataclass(frozen=True, slots=True)
class WordMark:
    """Where the engine says a word of the text it was given starts in the audio it made."""

    offset: int
    """Index of the word's first character in the text given to the engine (a ``str`` index)."""
    sample: int
    """The word's first sample in the audio."""
    end: int | None = None
    """The sample just after the word's sound, when the engine tells (Piper's alignments do);
    None: the word lasts until the next one starts."""


@dataclass(frozen=True, slots=True)
class Clip:
    """Synthesized speech for one chunk of text, silence trimmed from both ends."""

    pcm: bytes
    """Signed 16-bit little-endian mono samples."""
    sample_rate: int
    words: tuple[WordMark, ...] | None = None
    """Where the chunk's words start (and end, when the engine tells), in samples of ``pcm``, in time
    order; None when the engine does not tell (captions are then timed by clips cut at the cues, see
    ``words.cut_at_cues``)."""

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // (2 * self.sample_rate)


@dataclass(frozen=True, slots=True)
class CueWord:
    """When a word of a cue is spoken: a WebVTT cue timestamp."""

    offset: int
    """Index of the word's first character in the cue's ``text``."""
    start_ms: int
    """Where the word's sound starts in the episode."""


@dataclass(frozen=True, slots=True)
class Cue:
    """One caption: a sentence, or a part of one, and where its sound lies in the episode."""

    start_ms: int
    """Where the sound of the cue's first word starts in the episode."""
    end_ms: int
    """Where the cue's sound ends: its sentence's end, or where the next cue's first word starts."""
    text: str
    """The article's own words, never the spoken form: one or two lines, joined by "\\n"."""
    words: tuple[CueWord, ...] = ()
    """When the words after the first start, in order; empty without word timings."""
    paragraph: int = 1
    """The paragraph of the episode the cue's sentence belongs to, counted from 1."""
    sentence: int = 1
    """The sentence of that paragraph the cue shows, counted from 1."""
    part: int = 1
    """The cue's place in its sentence, counted from 1."""


@dataclass(frozen=True, slots=True)
class Chapter:
    """A chapter of the finished episode; chapters tile the audio without gaps."""

    start_ms: int
    end_ms: int
    title: str


@dataclass(frozen=True, slots=True)
class Loudness:
    """How the episode was brought to the podcast loudness standard."""

    measured_lufs: float
    """Integrated loudness (ITU-R BS.1770) of the stitched speech before any gain,
    the mono channel measured as dual-mono, as it is heard on two speakers."""
    gain_db: float
    """Gain applied to reach -16 LUFS."""
    integrated_lufs: float
    """Loudness of the finished episode: the normalised, limited audio, less what MP3 takes."""
    limit_db: float
    """Ceiling of the peak limiter that follows the gain."""


@dataclass(frozen=True, slots=True)
class Timeline:
    """Where everything lies in the encoded episode."""

    duration_ms: int
    cues: tuple[Cue, ...]
    chapters: tuple[Chapter, ...]
    loudness: Loudness


class FileKind(StrEnum):
    """The kinds of file an episode has (the library's ``files.kind``)."""

    AUDIO = "audio"
    VTT = "vtt"
    SRT = "srt"
    CHAPTERS = "chapters"
    IMAGE = "image"


@dataclass(frozen=True, slots=True)
class EpisodeFiles:
    """The files of one episode, all sharing one stem."""

    mp3: Path
    vtt: Path
    srt: Path
    chapters_json: Path

    def paths(self) -> Iterator[tuple[FileKind, Path]]:
        """Each file with its kind; the MP3 last (so a reader who sees the new MP3 finds its captions)."""
        yield FileKind.VTT, self.vtt
        yield FileKind.SRT, self.srt
        yield FileKind.CHAPTERS, self.chapters_json
        yield FileKind.AUDIO, self.mp3


@dataclass(frozen=True, slots=True)
class Episode:
    """What narrating one article produced."""

    article: Article
    files: EpisodeFiles
    timeline: Timeline
    size_bytes: int
    reused: bool = False
    """True when an unchanged episode was kept as it was."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One published file of an episode, as the library recorded it."""

    name: str
    """File name inside the output folder (no folders)."""
    size_bytes: int
    """Exact size when recorded: the feed's enclosure length."""


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    """One episode as the library keeps it: what the feed and `narrator episodes` show."""

    id: int
    """Stable number, never reused; what `narrator remove` takes."""
    guid: str
    """The feed item's GUID: kept when the audio is replaced, so apps see no duplicate."""
    stem: str
    """File-name stem shared by the episode's files."""
    source: str
    """Where the article came from: an absolute path or a URL, or a followed feed's item (``item:FEED GUID``)."""
    text_hash: str
    """The article's ``Article.text_hash``."""
    build_key: str
    """Hash of the text and every setting that changes the files; equal keys mean nothing to re-encode."""
    title: str
    author: str
    """The article's byline; empty when unknown."""
    language: str
    """BCP 47 language tag."""
    description: str
    """Plain text shown above the chapter list."""
    body: str
    """The article's text, paragraphs separated by blank lines (the feed's content:encoded)."""
    published_at: datetime
    """When the episode first appeared (UTC); kept when the audio is replaced."""
    updated_at: datetime
    """When its files were last recorded (UTC)."""
    duration_ms: int
    audio: StoredFile
    """The MP3."""
    vtt: StoredFile | None
    srt: StoredFile | None
    chapters_json: StoredFile | None
    """The Podcasting 2.0 JSON chapters file, the chapters' source of truth."""
    image: StoredFile | None
    """The episode's own cover, when it has one."""
    chapters: tuple[Chapter, ...]
    link: str = ""
    """The article's web address (a followed feed's item link), when ``source`` is not one."""

    @property
    def chapter_count(self) -> int:
        return len(self.chapters)

    @property
    def address(self) -> str:
        """Where the article is on the web, for the feed's and the page's links: its link, else its source."""
        return self.link or self.source

    def files(self) -> Iterator[tuple[FileKind, StoredFile]]:
        """Each of the episode's files that exists, with its kind: the MP3 first."""
        for kind, stored in (
            (FileKind.AUDIO, self.audio),
            (FileKind.VTT, self.vtt),
            (FileKind.SRT, self.srt),
            (FileKind.CHAPTERS, self.chapters_json),
            (FileKind.IMAGE, self.image),
        ):
            if stored is not None:
                yield kind, stored


class SourceKind(StrEnum):
    """What a followed source is (the library's ``sources.kind``)."""

    FEED = "feed"
    """An RSS 2.0, RSS 1.0 or Atom feed at a web address."""
    URLS = "urls"
    """A text file of article addresses, one a line."""


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How a followed source's articles are narrated (``narrator follow``'s per-source flags)."""

    max_items: int = 3
    """How many of its newest items the first update narrates; the older ones are left out for good."""
    language: str = ""
    """BCP 47 tag its articles are read in; empty: each article's own."""
    voice: str = ""
    engine: str = ""
    """The speech engine; empty: podcast.toml's, else pyttsx3."""
    lexicon: str = ""
    """An absolute path to a lexicon file over the folder's lexicon.toml; empty for none."""
    full_page: bool = False
    """Always read the item's linked page, never the feed's own copy of the article."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A followed source as the library keeps it: what ``narrator sources`` shows."""

    id: int
    url: str
    """The feed's address, or the absolute path of a list of addresses."""
    kind: SourceKind
    title: str
    """The feed's own title (the file's name for a list)."""
    options: SourceOptions
    added_at: datetime
    checked_at: datetime | None
    """The last update that looked at it, successfully or not."""
    ok_at: datetime | None
    """The last update that read it successfully."""
    etag: str
    """The validators of the last version read whose every item was settled, for conditional requests."""
    modified: str
    error: str
    """What went wrong at the last check; empty when it went well."""
    failures: int
    """How many checks in a row went wrong."""
    narrated: int = 0
    """Items that are episodes."""
    skipped: int = 0
    """Items left out: older than the newest ``max_items`` at the first update."""
    failed: int = 0
    """Items that could not be read (no article in them, or their page could not be fetched)."""
