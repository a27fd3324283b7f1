"""A local web site of feeds and article pages, for the tests of following sources and bench/update_cost.py.

It stands in for the blogs and news sites narrator follows: a real HTTP server on
127.0.0.1 (an ephemeral port, a thread), answering conditional requests with 304
as real servers do, counting every request. The feeds and pages are made here.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import html
import http.server
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

#: What ``Site.set`` serves at a path: a body and its type, or a function making the answer.
Route = tuple[str, bytes] | Callable[["_Handler"], None]

WORDS = (
    *("harbour", "ferry", "council", "island", "crew", "ticket", "bicycle", "winter", "timetable", "station"),
    *("morning", "evening", "bridge", "tunnel", "river", "market", "library", "school", "garden", "museum"),
    *("festival", "weather", "coast", "road", "village"),
)


def article_text(n: int, paragraphs: int = 3, edit: str = "") -> list[str]:
    """Paragraphs of a made-up article number ``n``: no two articles (or sentences) alike."""
    out = []
    for p in range(paragraphs):
        words = [WORDS[(n * 7 + p * 3 + i) % len(WORDS)] for i in range(9)]
        out.append(
            f"In part {p + 1} of story {n}, the {words[0]} met the {words[1]} near the {words[2]}. "
            f"Residents said the {words[3]} and the {words[4]} had waited since {2000 + n} for the {words[5]}. "
            f"The {words[6]} will open on day {n * 10 + p} with the {words[7]} and the {words[8]}.{edit}"
        )
    return out


@dataclass(frozen=True)
class Post:
    """An item of a feed and the article page it links to."""

    n: int
    title: str = ""
    author: str = "Ana Lima"
    paragraphs: int = 5
    edit: str = ""
    """Words added to every paragraph: an edited article."""
    full: bool = True
    """The feed holds the whole article (else a teaser ending in "…", the page has the rest)."""
    date: datetime = field(default_factory=lambda: datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    guid: str = ""

    @property
    def headline(self) -> str:
        return self.title or f"Story {self.n}: the {WORDS[self.n % len(WORDS)]} returns"

    @property
    def id(self) -> str:
        return self.guid or f"tag:blog.example,2026:post-{self.n}"

    @property
    def when(self) -> datetime:
        return self.date + timedelta(days=self.n)

    def paragraphs_text(self) -> list[str]:
        return article_text(self.n, self.paragraphs, self.edit)

    def content_html(self) -> str:
        paras = self.paragraphs_text()
        if self.full:
            return "".join(f"<p>{html.escape(p)}</p>" for p in paras)
        return f"<p>{html.escape(paras[0][:80])}…</p>"

    def page(self) -> bytes:
        body = "".join(f"<p>{html.escape(p)}</p>" for p in self.paragraphs_text())
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.headline)}'
            f" - The Blog</title></head><body><nav><a href='/'>Home</a> <a href='/about'>About</a></nav>"
            f"<main><article><h1>{html.escape(self.headline)}</h1><p class='byline'>By {html.escape(self.author)}</p>"
            f"{body}</article></main><footer>© 2026 The Blog</footer></body></html>"
        ).encode()


def rss(posts: list[Post], base: str, title: str = "The Blog") -> bytes:
    """An RSS 2.0 feed of ``posts``, newest first, each with content:encoded."""
    items = []
    for post in sorted(posts, key=lambda p: p.when, reverse=True):
        content = post.content_html()
        items.append(
            f"<item><title>{html.escape(post.headline)}</title><link>{base}/posts/{post.n}.html</link>"
            f'<guid isPermaLink="false">{html.escape(post.id)}</guid>'
            f"<pubDate>{email.utils.format_datetime(post.when)}</pubDate>"
            f"<dc:creator>{html.escape(post.author)}</dc:creator>"
            f"<description>{html.escape(content[:120])}</description>"
            f"<content:encoded><![CDATA[{content}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{html.escape(title)}</title><link>{base}/</link><description>Posts</description>"
        f"<language>en</language>{''.join(items)}</channel></rss>"
    ).encode()


def atom(posts: list[Post], base: str, title: str = "The Atom Blog") -> bytes:
    """An Atom 1.0 feed of ``posts``: whole articles in ``content``, teasers in ``summary``."""
    entries = []
    for post in sorted(posts, key=lambda p: p.when, reverse=True):
        body = (
            f'<content type="html">{html.escape(post.content_html())}</content>'
            if post.full
            else f'<summary type="html">{html.escape(post.content_html())}</summary>'
        )
        entries.append(
            f"<entry><title>{html.escape(post.headline)}</title><id>{html.escape(post.id)}</id>"
            f'<link rel="alternate" href="{base}/posts/{post.n}.html"/>'
            f"<published>{post.when.isoformat()}</published><updated>{post.when.isoformat()}</updated>"
            f"<author><name>{html.escape(post.author)}</name></author>{body}</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
        f"<title>{html.escape(title)}</title><id>{base}/atom</id><updated>2026-03-01T08:00:00Z</updated>"
        f"{''.join(entries)}</feed>"
    ).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    site: Site

    def do_GET(self) -> None:
        site = self.site
        with site.lock:
            site.requests[self.path] += 1
            route = site.routes.get(self.path)
        if route is None:
            self.answer(404, "text/html", b"<html><body>Not here</body></html>")
            return
        if callable(route):
            route(self)
            return
        mime, body = route
        tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == tag:
            with site.lock:
                site.not_modified[self.path] += 1
            self.send_response(304)
            self.send_header("ETag", tag)
            self.end_headers()
            return
        self.answer(200, mime, body, etag=tag)

    def answer(self, status: int, mime: str, body: bytes, etag: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (a size cap)
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Site:
    """The running site: its address, what it serves, and the requests it has answered."""

    base: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    not_modified: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)
    """Set when the site stops: a slow answer waits for it (never for ever)."""

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, route: Route) -> str:
        with self.lock:
            self.routes[path] = route
        return self.url(path)

    def blog(self, path: str, posts: list[Post], *, kind: str = "rss", title: str = "") -> str:
        """Serve ``posts`` as a feed at ``path`` and each post's page under /posts/."""
        for post in posts:
            self.set(f"/posts/{post.n}.html", ("text/html; charset=utf-8", post.page()))
        make = atom if kind == "atom" else rss
        body = make(posts, self.base, title) if title else make(posts, self.base)
        mime = "application/atom+xml" if kind == "atom" else "application/rss+xml"
        return self.set(path, (mime, body))

    def slow(self, path: str) -> str:
        """An address that answers only when the site stops (or after 60 s)."""

        def wait(handler: _Handler) -> None:
            self.released.wait(60)
            handler.answer(200, "application/rss+xml", b"<rss/>")

        return self.set(path, wait)

    def total(self) -> int:
        with self.lock:
            return sum(self.requests.values())


@contextmanager
def serve_site() -> Iterator[Site]:
    site = Site()
    handler = type("Handler", (_Handler,), {"site": site})
    server_class = type("Server", (http.server.ThreadingHTTPServer,), {"request_queue_size": 128})
    server = server_class(("127.0.0.1", 0), handler)  # a listen queue of 5 would drop concurrent connections
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        site.released.set()
        server.shutdown()
        server.server_close()


def edited(post: Post, words: str = " It was later corrected.") -> Post:
    return replace(post, edit=words)
