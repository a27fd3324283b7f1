"""The library as a podcast feed: OUTPUT/feed.xml (RSS 2.0 + iTunes + Podcasting 2.0 + Podlove chapters).

feedgen and its podcast extension write RSS and the iTunes tags; what they lack
comes from one feedgen extension here (``_ShowExtension``/``_EpisodeExtension``):
itunes:explicit as Apple now wants it ("true"/"false", where feedgen 1.0 knows
only yes/no/clean), podcast:guid, podcast:locked, podcast:transcript,
podcast:chapters and psc:chapters. Every element is built with lxml, so any text
gives well-formed XML; characters XML cannot carry are dropped first.

Chapters come from one place, the library (read from STEM.chapters.json when
the episode was recorded), and appear three ways: the JSON file
(podcast:chapters), Podlove Simple Chapters inline, and timestamps in the
description. ``render_feed`` is pure; ``write_feed`` renders under the
library's lock and replaces feed.xml in one rename; it writes the listening
page, index.html (``page.render_page``), the same way beside it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import marshal
import os
import re
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

from feedgen.feed import FeedGenerator
from lxml import etree

from .models import Chapter, EpisodeRecord
from .show import FEED_NAME, MAX_DESCRIPTION_BYTES, ShowSettings, is_public_url, write_atomic

if TYPE_CHECKING:
    from .library import Library

T = TypeVar("T")

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
PSC_NS = "http://podlove.org/simple-chapters"
#: Podcasting 2.0 <podcast:guid>: UUIDv5 of the feed URL in this namespace (podcast-namespace docs/1.0.md#guid).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
#: Library meta key under which the podcast:guid is kept once the feed has a public URL.
GUID_META_KEY = "podcast_guid"
GENERATOR = "narrator"

MIME_TYPES = {"audio": "audio/mpeg", "vtt": "text/vtt", "srt": "application/x-subrip"}
CHAPTERS_MIME = "application/json+chapters"

# Characters XML 1.0 cannot carry (C0 controls but tab, newline and CR; surrogates;
# U+FFFE/U+FFFF) and the C1 controls and DEL, which no reader wants in a title.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: Sources worth a link: web pages only (never javascript:, file: and the like).
_WEB = re.compile(r"^https?://", re.IGNORECASE)


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids and without control characters.

    >>> clean_text("A\\x00B\\x1b[0mC\\tD\\u0085")
    'AB[0mC\\tD'
    """
    return _UNWANTED.sub("", text)


@functools.lru_cache(maxsize=1 << 16)
def one_line(text: str) -> str:
    """Clean text on one line, runs of white space as one space.

    >>> one_line("  Tom &\\n Jerry\\x07 ")
    'Tom & Jerry'
    """
    return " ".join(clean_text(text).split())


def format_timestamp(ms: int) -> str:
    """A chapter's start as shown in show notes, which apps turn into links (HH:MM:SS, rounded down).

    >>> format_timestamp(0), format_timestamp(61_999), format_timestamp(3_723_000)
    ('00:00:00', '00:01:01', '01:02:03')
    """
    seconds = ms // 1000
    return "%02d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)  # noqa: UP031 (twice as fast)


def format_npt(ms: int) -> str:
    """Normal Play Time as Podlove Simple Chapters' ``start`` attribute wants it (HH:MM:SS.mmm).

    >>> format_npt(17_515), format_npt(3_600_000)
    ('00:00:17.515', '01:00:00.000')
    """
    return f"{format_timestamp(ms)}.{ms % 1000:03d}"


def duration_seconds(ms: int) -> str:
    """itunes:duration in whole seconds, the form Apple recommends.

    >>> duration_seconds(227_500), duration_seconds(400)
    ('228', '0')
    """
    return str((ms + 500) // 1000)


def file_url(base_url: str, name: str) -> str:
    """The absolute, ASCII URL of a published file (the name percent-encoded).

    >>> file_url("https://example.com/pod/", "Zoë & co.mp3")
    'https://example.com/pod/Zo%C3%AB%20%26%20co.mp3'
    """
    return base_url + quote(name, safe="-._~")


def ascii_url(url: str) -> str:
    """A URL with anything outside ASCII or unsafe in XML percent-encoded (already-encoded parts kept).

    >>> ascii_url("https://example.com/a b/ä?q=ö")
    'https://example.com/a%20b/%C3%A4?q=%C3%B6'
    """
    return quote(clean_text(url).strip(), safe=":/?#[]@!$&'()*+,;=-._~%")


def podcast_guid(feed_url: str) -> str:
    """The Podcasting 2.0 GUID of a feed: UUIDv5 of its URL without scheme and trailing slashes.

    >>> podcast_guid("https://podnews.net/rss")  # the example in the podcast namespace's docs
    '9b024349-ccf0-5f69-a609-6b82873eab3c'
    """
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, _SCHEME.sub("", feed_url).rstrip("/")))


@functools.lru_cache(maxsize=4096)
def paragraphs_html(text: str) -> str:
    """Plain text as HTML paragraphs, one per blank-line-separated block.

    Cached: the feed's content:encoded and the page's transcript render the same text.

    >>> paragraphs_html("Fish & <chips>\\n\\nSecond\\nline")
    '<p>Fish &amp; &lt;chips&gt;</p><p>Second line</p>'
    """
    blocks = [one_line(block) for block in clean_text(text).split("\n\n")]
    return "".join(f"<p>{html.escape(block, quote=False)}</p>" for block in blocks if block)


def chapter_lines(chapters: Sequence[Chapter]) -> list[str]:
    """One "HH:MM:SS Title" line per chapter, the form apps link in show notes."""
    return [f"{format_timestamp(c.start_ms)} {one_line(c.title)}" for c in chapters]


def shorten_html_text(text: str, max_bytes: int) -> str:
    """Plain text cut at a word, with "…", so that its HTML-escaped form fits ``max_bytes`` of UTF-8.

    >>> shorten_html_text("Fish & chips for tea", 20)
    'Fish & chips…'
    """

    def size(candidate: str) -> int:
        return len(html.escape(candidate, quote=False).encode("utf-8"))

    if size(text) <= max_bytes:
        return text
    words = text.split(" ")
    low, high = 0, len(words)  # binary search for the most words that fit
    while low < high:
        mid = (low + high + 1) // 2
        if size(" ".join(words[:mid]).rstrip(" ,;:") + "…") <= max_bytes:
            low = mid
        else:
            high = mid - 1
    return " ".join(words[:low]).rstrip(" ,;:") + "…" if low else ""


def describe(record: EpisodeRecord, limit: int = MAX_DESCRIPTION_BYTES) -> str:
    """The episode's description as HTML: its summary, then the chapters with timestamps.

    Apple shows at most 4,000 bytes and allows <p>, <ul> and <li>. When it does not
    fit, the summary is shortened (to no less than a quarter of the limit, when
    the chapters need the room) and then chapters are dropped from the end.
    """
    items = [f"<li>{html.escape(line, quote=False)}</li>" for line in chapter_lines(record.chapters)]
    summary = one_line(record.description)

    def build(summary: str, items: list[str], more: bool = False) -> str:
        head = f"<p>{html.escape(summary, quote=False)}</p>" if summary else ""
        if not items:
            return head
        return head + "<p>Chapters:</p><ul>" + "".join(items) + ("<li>…</li>" if more else "") + "</ul>"

    def size(text: str) -> int:
        return len(text.encode("utf-8"))

    text = build(summary, items)
    if size(text) <= limit:
        return text
    room = limit - size(build("", items)) - len("<p></p>")
    summary = shorten_html_text(summary, max(room, limit // 4))
    kept = len(items)
    text = build(summary, items)
    while size(text) > limit and kept:
        kept -= 1
        text = build(summary, items[:kept], more=True)
    return text


def content_html(record: EpisodeRecord) -> str:
    """The article itself, for content:encoded: its paragraphs, then where it came from when that is a URL."""
    out = paragraphs_html(record.body)
    if _WEB.match(record.source):
        url = html.escape(ascii_url(record.source))
        out += f'<p>Source: <a href="{url}">{url}</a></p>'
    return out


class _ShowExtension:
    """feedgen channel extension: what feedgen's podcast extension lacks or writes the old way."""

    def __init__(self) -> None:
        self.explicit: bool | None = None
        self.guid = ""
        self.locked: bool | None = None
        self.locked_owner = ""
        self.items: list[Any] = []
        """The episodes' <item> elements, rendered one by one (see ``render_feed``); they close the channel."""

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS, "psc": PSC_NS}

    def extend_rss(self, rss: Any) -> Any:
        channel = rss[0]
        if self.explicit is not None:
            # Apple's feed requirements: itunes:explicit is "true" or "false".
            etree.SubElement(channel, f"{{{ITUNES_NS}}}explicit").text = "true" if self.explicit else "false"
        if self.guid:
            etree.SubElement(channel, f"{{{PODCAST_NS}}}guid").text = self.guid
        if self.locked is not None:
            locked = etree.SubElement(channel, f"{{{PODCAST_NS}}}locked")
            locked.text = "yes" if self.locked else "no"
            if self.locked_owner:
                locked.set("owner", self.locked_owner)
        channel.extend(self.items)  # where feedgen puts its entries: after every extension's elements
        return rss

    def extend_atom(self, feed: Any) -> Any:
        return feed


_PSC_CHAPTERS, _PSC_CHAPTER = f"{{{PSC_NS}}}chapters", f"{{{PSC_NS}}}chapter"


class _EpisodeExtension:
    """feedgen item extension: transcripts and chapters (Podcasting 2.0, Podlove Simple Chapters)."""

    def __init__(self) -> None:
        self.transcripts: list[tuple[str, str, str]] = []
        """(url, MIME type, language)"""
        self.chapters_url = ""
        self.chapters: tuple[Chapter, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS, "psc": PSC_NS}

    def extend_rss(self, item: Any) -> Any:
        for url, mime, language in self.transcripts:
            # podcast:transcript: rel="captions" marks timed captions (podcast-namespace docs/1.0.md#transcript).
            attrs = {"url": url, "type": mime, "rel": "captions"}
            if language:
                attrs["language"] = language
            etree.SubElement(item, f"{{{PODCAST_NS}}}transcript", attrs)
        if self.chapters_url:
            etree.SubElement(item, f"{{{PODCAST_NS}}}chapters", {"url": self.chapters_url, "type": CHAPTERS_MIME})
        if self.chapters:
            # Podlove Simple Chapters 1.2: start in Normal Play Time, title required.
            psc = etree.SubElement(item, _PSC_CHAPTERS, version="1.2")
            for chapter in self.chapters:
                etree.SubElement(psc, _PSC_CHAPTER, start=format_npt(chapter.start_ms), title=one_line(chapter.title))
        return item

    def extend_atom(self, entry: Any) -> Any:
        return entry


@dataclass
class Rendered(Generic[T]):
    """Each episode's rendering (feed item or page section) from before, by episode id: (key,
    rendering); a render uses those whose key still matches and adds what it made to ``fresh``."""

    known: dict[int, tuple[str, T]] = field(default_factory=dict)
    fresh: dict[int, tuple[str, T]] = field(default_factory=dict)

    def get(self, episode_id: int, key: str) -> T | None:
        known = self.known.get(episode_id)
        return known[1] if known is not None and known[0] == key else None


@functools.cache
def _rendering_code() -> str:
    """What every rendering also depends on: the code that renders and the libraries it uses."""
    from feedgen.version import version_str

    from . import __version__

    code = hashlib.sha256()
    for module in ("feed.py", "page.py"):
        with contextlib.suppress(OSError):  # not installed as files: the version has to do
            code.update(Path(__file__).with_name(module).read_bytes())
    return f"{__version__}/{code.hexdigest()}/feedgen-{version_str}/lxml-{etree.__version__}/{MAX_DESCRIPTION_BYTES}"


def rendering_key(show: ShowSettings, record: EpisodeRecord) -> str:
    """Everything an episode's feed item and page section are made of: the same key, the same renderings."""
    key = hashlib.sha256(f"{_rendering_code()}\n{show.base_url}\n{show.language}\n".encode())
    for text in (record.body, record.description):  # hashed as they are: repr() would escape them first
        data = text.encode("utf-8", "surrogatepass")
        key.update(b"%d:%b" % (len(data), data))  # with its length: where one ends and the next begins
    key.update(repr(replace(record, body="", description="")).encode("utf-8", "surrogatepass"))
    return key.hexdigest()


_ITEM_PARSER = etree.XMLParser(remove_blank_text=True)


def render_feed(
    show: ShowSettings,
    episodes: Sequence[EpisodeRecord],
    *,
    cover_name: str,
    guid: str,
    build_date: datetime,
    items: Rendered[bytes] | None = None,
) -> bytes:
    """feed.xml for ``show`` and ``episodes`` (newest first), as UTF-8 bytes.

    ``cover_name`` is the show's cover in the output folder, ``guid`` the
    podcast:guid. Only ``build_date`` (lastBuildDate) varies between two renders
    of the same library. Each episode's <item> is rendered by feedgen on its
    own and closes the channel, where feedgen puts its entries. With ``items``,
    an item rendered before from the same things is used again (1,000 episodes:
    0.45 s to render, 0.15 s to reuse); the feed is the same byte for byte.
    What is rendered is added to ``items.fresh``.
    """
    base = show.base_url
    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("narrator", _ShowExtension, _EpisodeExtension)
    fg.title(one_line(show.title))
    fg.description(clean_text(show.description).strip())
    # feedgen takes the RSS <link> from the last link() call: self first, the website last.
    fg.link(href=show.feed_url, rel="self", type="application/rss+xml")
    fg.link(href=ascii_url(show.website), rel="alternate")
    fg.language(show.language)
    fg.generator(GENERATOR)
    fg.lastBuildDate(build_date.astimezone(UTC))
    cover_url = file_url(base, cover_name)
    fg.image(url=cover_url, title=one_line(show.title), link=ascii_url(show.website))
    podcast = fg.podcast
    if show.author:
        podcast.itunes_author(one_line(show.author))
    if show.owner_email:
        podcast.itunes_owner(name=one_line(show.owner) or one_line(show.title), email=show.owner_email)
    podcast.itunes_image(cover_url)
    category = {"cat": show.category, "sub": show.subcategory} if show.subcategory else {"cat": show.category}
    podcast.itunes_category(category)
    podcast.itunes_type(show.show_type)
    fg.narrator.explicit = show.explicit
    fg.narrator.guid = guid
    fg.narrator.locked = show.locked
    fg.narrator.locked_owner = show.owner_email

    elements: list[Any] = [None] * len(episodes)
    keys = [rendering_key(show, record) for record in episodes] if items is not None else []
    if items is not None:
        for n, record in enumerate(episodes):
            known = items.get(record.id, keys[n])
            if known is not None:
                with contextlib.suppress(etree.XMLSyntaxError):  # a damaged cache entry is rendered again
                    elements[n] = etree.fromstring(known, _ITEM_PARSER)
    missing = [n for n, element in enumerate(elements) if element is None]
    for n, item in zip(missing, _render_items(show, [episodes[n] for n in missing]), strict=True):
        elements[n] = item
        if items is not None:
            items.fresh[episodes[n].id] = (keys[n], etree.tostring(item))
    fg.narrator.items = elements
    return bytes(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def _render_items(show: ShowSettings, episodes: Sequence[EpisodeRecord]) -> list[Any]:
    """Each episode's <item> element, rendered by feedgen on its own."""
    base = show.base_url
    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("narrator", _ShowExtension, _EpisodeExtension)
    rendered = []
    for record in episodes:
        fe = fg.add_entry(order="append")
        fe.title(one_line(record.title) or record.stem)  # an RSS item needs a title or a description
        ext = fe.narrator
        fe.guid(record.guid, permalink=False)
        fe.pubDate(record.published_at.astimezone(UTC))
        fe.description(describe(record))
        fe.content(content_html(record))
        if _WEB.match(record.source):
            fe.link(href=ascii_url(record.source))
        fe.enclosure(file_url(base, record.audio.name), str(record.audio.size_bytes), MIME_TYPES["audio"])
        fe.podcast.itunes_duration(duration_seconds(record.duration_ms))
        fe.podcast.itunes_episode_type("full")
        if record.author:
            fe.podcast.itunes_author(one_line(record.author))
        if record.image is not None and record.image.name.lower().endswith((".jpg", ".png")):
            fe.podcast.itunes_image(file_url(base, record.image.name))
        language = record.language or show.language
        for kind, stored in (("vtt", record.vtt), ("srt", record.srt)):
            if stored is not None:
                ext.transcripts.append((file_url(base, stored.name), MIME_TYPES[kind], language))
        if record.chapters_json is not None:
            ext.chapters_url = file_url(base, record.chapters_json.name)
        ext.chapters = record.chapters
        rendered.append(fe.rss_entry())
    return rendered


def feed_guid(show: ShowSettings, library: Library) -> str:
    """The podcast:guid: the one set in podcast.toml, else the one kept in the library, else a new one.

    Podcasting 2.0 asks that the GUID never change, even when the feed moves, so
    the first one derived from a public feed URL is kept in the library. While
    the feed is only on this machine (the default base URL) it is not kept.
    """
    if show.guid:
        return show.guid
    kept = library.get_meta(GUID_META_KEY)
    if kept:
        return kept
    guid = podcast_guid(show.feed_url)
    if is_public_url(show.base_url):
        library.set_meta(GUID_META_KEY, guid)
    return guid


def _rows(
    known: dict[int, tuple[str, bytes, str]],
    items: dict[int, tuple[str, bytes]],
    sections: dict[int, tuple[str, str]],
) -> dict[int, tuple[str, bytes, str]]:
    """Library rows for the episodes whose feed item or page section was rendered anew."""
    rows = {}
    for episode in items.keys() | sections.keys():
        before = known.get(episode, ("", b"", ""))
        key, item = items.get(episode) or (before[0], before[1])
        section_key, section = sections.get(episode) or (before[0], before[2])
        if key == section_key and item and section:  # both made of the same things
            rows[episode] = (key, item, section)
    return rows


def _aside(work: Callable[[], bytes]) -> Callable[[], bytes | None]:
    """Run ``work`` in a forked child, on the other core, while this process goes on; the
    function returned waits for it and gives what it returned, or None if it failed.

    The feed and the page of a large library take about as long to render each
    (1,000 episodes: 0.3 s apiece), and both are pure Python: side by side they
    take half the time. Where fork is unavailable, ``work`` runs here and now.
    """
    if not sys.platform.startswith("linux"):
        result = work()
        return lambda: result
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: do the work, hand over the result and leave at once, running no clean-up
        code = 1
        try:
            os.close(read_end)
            with open(write_end, "wb") as out:
                out.write(work())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)

    outcome: list[bytes | None] = []

    def finish() -> bytes | None:
        if not outcome:  # once: waited for on the way out of an error too
            with open(read_end, "rb") as result:
                data = result.read()  # before waiting: a full pipe would keep the child from ending
            outcome.append(data if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 else None)
        return outcome[0]

    return finish


def write_feed(output_dir: Path, show: ShowSettings, library: Library, *, now: datetime | None = None) -> Path:
    """Rebuild OUTPUT/feed.xml and the listening page OUTPUT/index.html from the library; return the feed's path.

    The cover is put in place first (``show.publish_cover``); then the feed and
    the page are rendered and renamed into place inside the library's write
    lock, so of two runs finishing together the later one writes a feed with
    both episodes.
    """
    from .page import PAGE_NAME, render_page
    from .show import publish_cover

    cover_name = publish_cover(show, output_dir).path.name
    path, page_path = output_dir / FEED_NAME, output_dir / PAGE_NAME
    with library.locked():
        guid = feed_guid(show, library)
        episodes = library.episodes()

        known = library.rendered()
        sections = Rendered({episode: (key, section) for episode, (key, _, section) in known.items()})

        # The page first: whoever sees the new feed (narrator serve watches it) finds the page to match.
        def write_page() -> bytes:
            write_atomic(page_path, render_page(show, episodes, cover_name=cover_name, sections=sections).encode())
            return marshal.dumps(sections.fresh)  # for this process to keep, when this runs in a child

        finish_page = _aside(write_page)
        items = Rendered({episode: (key, item) for episode, (key, item, _) in known.items()})
        try:
            data = render_feed(
                show,
                episodes,
                cover_name=cover_name,
                guid=guid,
                build_date=now or datetime.now(UTC).replace(microsecond=0),
                items=items,
            )
        except BaseException:
            finish_page()  # the child is let finish, not left behind
            raise
        fresh_sections = finish_page()
        if fresh_sections is None:  # the page could not be written on the side: write it here, to say why
            fresh_sections = write_page()
        write_atomic(path, data)
        library.keep_rendered(_rows(known, items.fresh, marshal.loads(fresh_sections)))
    return path
