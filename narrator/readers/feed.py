"""Feeds that narrator follows: RSS 2.0, RSS 1.0 and Atom, read by feedparser, and their items as articles.

``parse_feed`` turns a feed document into a ParsedFeed of FeedItems (the newest
``MAX_FEED_ITEMS`` at most). ``item_article`` turns an item into an Article: from
the feed's own copy of the article when it holds the whole of it, else from the
item's linked page, fetched and read like any web address (``needs_page`` says
which; the rule is in its docstring and the README's "Following feeds").
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..errors import InputError
from ..models import Article

#: Largest feed document read (a full-content feed of a busy blog is a few megabytes).
MAX_FEED_BYTES = 8 * 1024 * 1024
#: Items of one feed looked at, newest first: a feed of thousands of items is read as its newest.
MAX_FEED_ITEMS = 200
#: A feed's copy of an article holds the whole of it when it has at least this many words (and does
#: not end like a teaser); shorter, the linked page is read instead.
FULL_CONTENT_WORDS = 150
#: What the end of a teaser says: "…", "[...]", "Read more", "Continue reading →".
TRUNCATED = re.compile(
    r"(?:…|\.\.\.|\[\s*(?:…|\.\.\.)\s*\]|\b(?:read|see) (?:the )?(?:full|whole|rest|more)\b.{0,40}"
    r"|\bread more\b.{0,40}|\bcontinue reading\b.{0,60}|\bweiterlesen\b.{0,20}|\blire la suite\b.{0,20}"
    r"|\bkeep reading\b.{0,40})\W*$",
    re.IGNORECASE,
)
#: The back-link WordPress (and the Yoast SEO plug-in) puts at the end of every item of a feed: "The post
#: <a>Title</a> appeared first on <a>Blog</a>." (Yoast's default ``rssafter``), and the variants "This
#: post appeared first on", "first appeared on". It is no part of the article: left in, it would be read
#: aloud as its last paragraph, and it hides a teaser's "[...]" or "Read more" from TRUNCATED.
FOOTER = re.compile(
    r"(?:<p\b[^>]*>\s*)?\b(?:The|This) post\b(?:(?!</?p[\s>]).){0,600}?"
    r"\b(?:appeared first|first appeared|was first published) on\b(?:(?!</?p[\s>]).){0,400}?(?:</p>\s*)?$",
    re.IGNORECASE | re.DOTALL,
)
#: What Accept says when a feed is fetched.
FEED_TYPES = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One item (RSS) or entry (Atom) of a feed, as narrator needs it."""

    guid: str
    """The item's GUID (Atom ``id``), else its link: what tells it apart from the feed's other items."""
    link: str
    """The article's web address; empty when the item has none."""
    title: str
    author: str
    published_at: datetime | None
    """The item's publication date (else its update date), UTC; None when it gives neither."""
    content: str
    """The item's copy of the article as HTML: ``content:encoded`` or Atom ``content``, else its
    description or summary; empty when it has none."""
    language: str
    """The item's declared language (``xml:lang``), else the feed's; empty when neither says."""
    entry_hash: str
    """Digest of what the item says (title, link, author, content): changes when the item is edited."""
    full: bool = False
    """The item gives a body (``content:encoded``, Atom ``content``) beside a shorter summary: a feed that
    does so carries the whole article in the body, however short it is (WordPress set to "full text",
    Pelican, Jekyll and Hugo templates that give both)."""
    media: str = ""
    """The MIME type of the recording the item's link points at (a podcast episode whose link is its
    enclosure, or a link to an audio or video file); empty when the link is a page."""

    @property
    def words(self) -> int:
        """Words in ``content`` once its markup is taken away."""
        return len(_plain(self.content).split())


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document read by feedparser."""

    title: str
    items: tuple[FeedItem, ...]
    """Newest first, at most MAX_FEED_ITEMS."""


def parse_feed(data: bytes, url: str, *, mime: str = "") -> ParsedFeed:
    """The feed in ``data`` (fetched from ``url``); InputError when it is not a feed feedparser can read.

    feedparser reads RSS 0.9x, 1.0 and 2.0 and Atom 0.3 and 1.0, and is lenient:
    a feed with a small fault (a bad date, an undeclared entity) keeps its items.
    A document it cannot make a feed of (HTML, broken XML without items) is an error.
    """
    import feedparser

    headers = {"content-location": url, **({"content-type": mime} if mime else {})}
    parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=True, response_headers=headers)
    feed_language = str(parsed.feed.get("language", "") or "")
    items = [_item(entry, feed_language) for entry in parsed.entries[: MAX_FEED_ITEMS * 2]]
    items = [item for item in items if item.guid]
    # A small fault (an unescaped "&", a bad date) is forgiven when items can still be read, as feed
    # readers do; a document that is no feed, or broken so that no item with a link or GUID is left, is not.
    if not parsed.get("version") or (parsed.get("bozo") and not items):
        raise InputError(f"is not an RSS or Atom feed{_why(parsed.get('bozo_exception'), mime)}", url)
    # Newest first, by date where items give one (feeds usually list newest first; some list oldest first).
    dated = sorted(
        enumerate(items), key=lambda pair: (pair[1].published_at or datetime.min.replace(tzinfo=UTC), -pair[0])
    )
    if all(item.published_at for item in items):
        items = [item for _, item in reversed(dated)]
    unique: dict[str, FeedItem] = {}
    for item in items:
        unique.setdefault(item.guid, item)  # a GUID given twice: the first (newest) counts
    return ParsedFeed(
        title=_one_line(str(parsed.feed.get("title", "") or "")), items=tuple(unique.values())[:MAX_FEED_ITEMS]
    )


def _why(problem: object, mime: str) -> str:
    """What feedparser found wrong, said for people ("" when it says nothing useful).

    >>> try:
    ...     parse_feed(b"<rss><channel><item><title>cut off", "http://b.example/f")
    ... except InputError as exc:
    ...     print(exc.reason)
    is not an RSS or Atom feed (XML error at line 2, column 34: no element found)
    >>> _why(None, "text/html")
    ' (it is text/html)'
    """
    import xml.sax

    if isinstance(problem, xml.sax.SAXParseException):
        where = f"line {problem.getLineNumber()}, column {problem.getColumnNumber()}"
        return f" (XML error at {where}: {problem.getMessage()})"
    return f" (it is {mime})" if mime and "xml" not in mime else ""


def _item(entry: Any, feed_language: str) -> FeedItem:
    link = str(entry.get("link", "") or "").strip()
    guid = str(entry.get("id", "") or "").strip() or link
    contents = [c for c in entry.get("content", []) or [] if "html" in str(c.get("type", "html"))]
    raw = max((str(c.get("value", "")) for c in contents), key=len, default="")
    summary = str(entry.get("summary", "") or "")
    content, short = without_footer(raw), without_footer(summary)
    full = len(_plain(content).split()) > len(_plain(short).split()) > 0
    if len(_plain(short).split()) > len(_plain(content).split()):
        content, raw = short, summary  # RSS 2.0 feeds often put the whole article in <description>
    language = ""
    details = contents or ([entry.summary_detail] if entry.get("summary_detail") else [])
    for part in details:
        language = str(part.get("language", "") or "") or language
    title = _one_line(str(entry.get("title", "") or ""))
    author = _one_line(str(entry.get("author", "") or ""))
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    published_at = datetime.fromtimestamp(calendar.timegm(when), UTC) if when else None
    # The digest is of what the feed says (its footer too), so the footer rule never makes an item edited.
    digest = hashlib.sha256("\x00".join((title, link, author, raw)).encode("utf-8", "surrogatepass")).hexdigest()
    return FeedItem(
        guid=guid,
        link=link,
        title=title,
        author=author,
        published_at=published_at,
        content=content,
        language=language or feed_language,
        entry_hash=digest,
        full=full,
        media=_media(link, entry.get("enclosures", []) or []),
    )


def without_footer(markup: str) -> str:
    """The item's HTML without the back-link WordPress ends it with (FOOTER).

    >>> without_footer('<p>Text.</p>\\n<p>The post <a href="https://b.example/a">A</a> appeared first on '
    ...                '<a href="https://b.example">B</a>.</p>\\n')
    '<p>Text.</p>'
    >>> without_footer("<p>The post office opened on Monday.</p>")
    '<p>The post office opened on Monday.</p>'
    """
    found = FOOTER.search(markup)
    return markup[: found.start()].rstrip() if found else markup


def _media(link: str, enclosures: list[Any]) -> str:
    """The type of the recording ``link`` points at: an audio or video enclosure of the item at the same
    address, or a file whose name says audio or video (``.mp3``, ``.m4a``, ``.mp4``); else ""."""
    import mimetypes
    from urllib.parse import urlsplit

    if not link:
        return ""
    for enclosure in enclosures:
        kind = str(enclosure.get("type", "") or "")
        if str(enclosure.get("href", "") or "").strip() == link and kind.startswith(("audio/", "video/")):
            return kind
    guessed = mimetypes.guess_type(urlsplit(link).path)[0] or ""
    return guessed if guessed.startswith(("audio/", "video/")) else ""


def needs_page(item: FeedItem, *, full_page: bool = False) -> bool:
    """Whether the item's article is read from its linked page rather than from the feed.

    The feed's copy is used when it holds the whole article: at least
    FULL_CONTENT_WORDS words, or a body given beside a shorter summary (``full``), and
    it does not end as a teaser does ("…", "[...]", "Read more", "Continue reading").
    Otherwise, and always with ``full_page``, the
    linked page is fetched and read as ``narrate URL`` reads it. An item without a
    link is read from whatever the feed holds.

    >>> item = FeedItem("g", "https://blog.example/a", "T", "", None, "<p>" + "word " * 200 + "</p>", "", "")
    >>> needs_page(item), needs_page(item, full_page=True)
    (False, True)
    >>> needs_page(replace(item, content="<p>" + "word " * 200 + "[…]</p>"))
    True
    >>> needs_page(replace(item, content="<p>A short teaser.</p>")), needs_page(replace(item, content="", link=""))
    (True, False)
    >>> needs_page(replace(item, content="<p>A short article, whole.</p>", full=True))
    False
    """
    if not item.link:
        return False
    if full_page or (item.words < FULL_CONTENT_WORDS and not item.full):
        return True
    return bool(TRUNCATED.search(_plain(item.content)[-200:]))


def check_link(item: FeedItem, source: str) -> None:
    """InputError when the item's link is a recording (``media``), not a page with an article: a podcast
    episode is said as one, and its audio is never downloaded as if it were a page."""
    if item.media:
        raise InputError(
            f"is a recording ({item.media}), not an article: the item links to its audio and the feed holds no "
            "article text to read",
            source,
        )


def content_article(item: FeedItem, *, source: str) -> Article:
    """The article as the feed holds it: its HTML read by the web page reader (headings, lists and
    figures kept), titled and credited as the item is. InputError when it holds no article text."""
    import html

    from .html import parse_html

    if not _plain(item.content).strip():
        raise InputError("the feed item holds no article and links to no page", source)
    lang = f' lang="{html.escape(item.language)}"' if item.language else ""
    title = html.escape(item.title or "Untitled")
    head = f"<html{lang}><head><title>{title}</title></head>"
    page = f"{head}<body><article><h1>{title}</h1>{item.content}</article></body></html>"
    return parse_html(page, source=source, fallback_title=item.title or "Untitled")


def item_article(item: FeedItem, found: Article, *, key: str) -> Article:
    """``found`` (read from the feed or from the linked page) as the episode of ``item``: known by ``key``,
    with the item's link and date, its title and author where the reading found none."""
    return replace(
        found,
        title=found.title if found.title and found.title != "Untitled" else (item.title or found.title),
        byline=found.byline or item.author,
        key=key,
        link=item.link,
        published_at=item.published_at,
    )


def _plain(markup: str) -> str:
    """Text without tags or entities, for counting words.

    >>> _plain("<p>Tom &amp; Jerry</p><p>run</p>")
    'Tom & Jerry run'
    """
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", markup)).split())


def _one_line(text: str) -> str:
    return " ".join(text.split())
