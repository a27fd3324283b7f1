"""narrator serve: the podcast folder over HTTP, for podcast apps and browsers.

Starlette's ``FileResponse`` under uvicorn does the HTTP: byte ranges (RFC 9110
section 14: 206 with Content-Range, multipart/byteranges for several ranges, 416
for a range past the end), HEAD, ETag and Last-Modified with conditional
requests (304, If-Range), and every file streamed in 64 KiB chunks from a worker
thread, never read whole. This module decides what may be served: the files at
the top of the folder whose type is published (``content_type``) and nothing
else. Dot-files (the library in .narrator/, temporary .tmp-* files),
podcast.toml, folders, and symbolic links that lead anywhere but to another
published file are all "404 Not Found"; there are no listings.

When the feed must name another address than the one it was written for
(serving on another port, or ``--base-url``), copies of feed.xml and index.html
with their links moved to this run's base URL are kept in a private temporary
folder and served instead; the podcast folder itself is never written. The
copies are made again whenever the folder's own files change (a narration or
``narrator feed`` ran), and nothing else in them changes, not even lastBuildDate.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import signal
import socket
import stat
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import NarratorError, ServeError
from .folder import FEED_NAME, MIME_TYPES, PAGE_NAME, write_atomic
from .models import FileKind

if TYPE_CHECKING:
    from starlette.types import ASGIApp

#: Content-Type by suffix for the files a podcast folder publishes. Text types say their charset;
#: the JSON chapters file has its own type (Podcasting 2.0 jsonChapters.md).
PUBLIC_TYPES: dict[str, str] = {
    ".mp3": MIME_TYPES[FileKind.AUDIO],
    ".vtt": MIME_TYPES[FileKind.VTT] + "; charset=utf-8",
    ".srt": MIME_TYPES[FileKind.SRT] + "; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
}
FEED_TYPE = "application/rss+xml; charset=utf-8"
CHAPTERS_SUFFIX = ".chapters.json"
#: Every response is revalidated (a cheap 304): an episode narrated again keeps its file name.
CACHE_CONTROL = "no-cache"
#: How long Ctrl-C waits for downloads in progress before closing them.
SHUTDOWN_GRACE_S = 3
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
ATOM_NS = "http://www.w3.org/2005/Atom"

log = logging.getLogger("narrator.serve")


@dataclass(frozen=True, slots=True)
class Listening:
    """Where ``serve`` listens and what it tells podcast apps to subscribe to."""

    page_url: str
    """The listening page on this server."""
    feed_url: str
    """The feed address to subscribe to."""
    base_url: str
    """Where the served feed's links point, ending in "/"."""
    written_for: str
    """The base URL the folder's feed.xml was written with; when it differs from ``base_url``, the
    feed and page are served with their links moved for this run."""
    host: str
    port: int
    """The port listened on (the one picked when 0 was asked for)."""
    page_urls: tuple[str, ...] = ()
    """Every address the page answers at: with --host 0.0.0.0, this machine's own and each network's."""


def content_type(name: str) -> str | None:
    """The Content-Type a file at the top of the folder is served with; None when it is not served.

    >>> content_type("feed.xml"), content_type("a.chapters.json"), content_type("Episode.MP3")
    ('application/rss+xml; charset=utf-8', 'application/json+chapters', 'audio/mpeg')
    >>> [content_type(n) for n in ("podcast.toml", ".narrator", ".tmp-1.mp3", "a/b.mp3", "notes.json", "x.xml")]
    [None, None, None, None, None, None]
    """
    if not name or name.startswith(".") or "/" in name or "\\" in name or not name.isprintable():
        return None
    if name == FEED_NAME:
        return FEED_TYPE
    lower = name.lower()
    if lower.endswith(CHAPTERS_SUFFIX):
        return MIME_TYPES[FileKind.CHAPTERS]
    return PUBLIC_TYPES.get(os.path.splitext(lower)[1])


def public_name(route_path: str) -> str | None:
    """The published file a (percent-decoded) request path names, or None.

    The folder is flat, so a path has one segment; "/" is the listening page.
    Anything with "..", a dot-file, a second "/" (also from %2f) or an absolute
    path inside names nothing.

    >>> public_name("/"), public_name("/feed.xml")
    ('index.html', 'feed.xml')
    >>> paths = ("/../feed.xml", "/a/../feed.xml", "/.narrator/library.sqlite", "//etc/passwd", "/feed.xml/")
    >>> [public_name(p) for p in paths]
    [None, None, None, None, None]
    """
    if route_path in ("", "/"):
        return PAGE_NAME
    if not route_path.startswith("/"):
        return None
    name = route_path[1:]
    return name if content_type(name) is not None else None


def machine_addresses() -> tuple[str, ...]:
    """This machine's IPv4 addresses other devices may reach it at (none when it has no network)."""
    found: list[str] = []
    with contextlib.suppress(OSError):
        for *_, address in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET, socket.SOCK_STREAM):
            found.append(str(address[0]))
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent; the kernel picks the outgoing address
        found.append(str(probe.getsockname()[0]))
    return tuple(dict.fromkeys(a for a in found if not a.startswith("127.") and a != "0.0.0.0"))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_loopback(host: str) -> bool:
    return host == "localhost" or host == "::1" or host.startswith("127.")


def serve_base_url(written_for: str, *, host: str, port: int, override: str | None = None) -> str:
    """The base URL the served feed's links start with.

    ``written_for`` is the base URL the folder's feed was written with.
    ``override`` (--base-url) wins. A public base URL is kept: the folder is
    published there, perhaps by this server behind a proxy. A local one is kept
    when it already leads to this server; otherwise this server's address
    replaces it, so that an app subscribed here downloads from here.

    >>> serve_base_url("http://localhost:8000/", host="127.0.0.1", port=8000)
    'http://localhost:8000/'
    >>> serve_base_url("http://localhost:8000/", host="127.0.0.1", port=8080)
    'http://127.0.0.1:8080/'
    >>> serve_base_url("https://example.org/pod/", host="127.0.0.1", port=8080)
    'https://example.org/pod/'
    >>> serve_base_url("http://localhost:8000/", host="0.0.0.0", port=9000, override="http://192.168.1.5:9000")
    'http://192.168.1.5:9000/'
    """
    from .podcast import is_public_url, normalize_base_url

    if override:
        return normalize_base_url(override)
    if is_public_url(written_for):
        return written_for
    parts = urlsplit(written_for)
    feed_host = parts.hostname or "localhost"
    same_host = host in _WILDCARD_HOSTS or _is_loopback(host) == _is_loopback(feed_host)
    if parts.scheme == "http" and (parts.port or 80) == port and parts.path == "/" and same_host:
        return written_for
    url_host = feed_host if host in _WILDCARD_HOSTS else host
    return f"http://{_url_host(url_host)}:{port}/"


def _xml_parser() -> Any:
    from lxml import etree

    # The feed is our own file, but it is parsed as if it were not: no entities, no network.
    return etree.XMLParser(resolve_entities=False, no_network=True, strip_cdata=False, huge_tree=True)


def feed_base_url(data: bytes) -> str:
    """The base URL a feed.xml was written for: its atom:link rel="self" without "feed.xml"."""
    from lxml import etree

    try:
        root = etree.fromstring(data, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise ServeError(f"{FEED_NAME} is not well-formed XML ({exc}); `narrator feed` rebuilds it") from None
    for link in root.iter(f"{{{ATOM_NS}}}link"):
        href = link.get("href") or ""
        if link.get("rel") == "self" and href.endswith("/" + FEED_NAME):
            return href.removesuffix(FEED_NAME)
    raise ServeError(f"{FEED_NAME} has no atom:link to itself; `narrator feed` rebuilds it")


def rebase_feed(data: bytes, old_base: str, new_base: str) -> bytes:
    """feed.xml with every link into the folder moved from ``old_base`` to ``new_base``; nothing else changes.

    Links are the attributes (enclosure url, itunes:image href, podcast:transcript
    and podcast:chapters url, atom:link href) and the <link> and <url> elements
    that start with the old base. The podcast:guid stays: it names the show, not
    the address (Podcasting 2.0, guid).
    """
    from lxml import etree

    root = etree.fromstring(data, _xml_parser())
    for element in root.iter():
        for name in ("url", "href"):
            value = element.get(name)
            if value and value.startswith(old_base):
                element.set(name, new_base + value[len(old_base) :])
        if element.tag in ("link", "url") and element.text and element.text.strip().startswith(old_base):
            element.text = new_base + element.text.strip()[len(old_base) :]
    from .markup import hex_references

    out = hex_references(bytes(etree.tostring(etree.ElementTree(root), xml_declaration=True, encoding="UTF-8")))
    return out + b"\n" if data.endswith(b"\n") else out


class Rendition:
    """The folder's feed.xml and index.html with this run's base URL, kept in a private folder.

    ``path()`` makes them again whenever the folder's own files have changed
    since the last time; it is called from worker threads.
    """

    def __init__(self, output_dir: Path, base_url: str, scratch: Path) -> None:
        self.output_dir = output_dir
        self.base_url = base_url
        self.scratch = scratch
        self._lock = threading.Lock()
        self._seen: tuple[tuple[int, int, int], ...] | None = None
        self._made = False

    def _state(self) -> tuple[tuple[int, int, int], ...]:
        states = []
        for name in (FEED_NAME, PAGE_NAME):
            try:
                st = os.stat(self.output_dir / name)
                states.append((st.st_ino, st.st_mtime_ns, st.st_size))
            except OSError:
                states.append((0, 0, 0))
        return tuple(states)

    def make(self) -> None:
        """Make both files now (ServeError when the folder's feed cannot be read)."""
        from .page import feed_url_field

        state = self._state()
        try:
            data = (self.output_dir / FEED_NAME).read_bytes()
        except OSError as exc:
            raise ServeError(f"cannot read {FEED_NAME} ({exc.strerror or exc})", self.output_dir) from None
        old_base = feed_base_url(data)
        write_atomic(self.scratch / FEED_NAME, rebase_feed(data, old_base, self.base_url))
        try:
            page = (self.output_dir / PAGE_NAME).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            (self.scratch / PAGE_NAME).unlink(missing_ok=True)  # none yet: `narrator feed` writes it
        else:
            old, new = feed_url_field(old_base + FEED_NAME), feed_url_field(self.base_url + FEED_NAME)
            write_atomic(self.scratch / PAGE_NAME, page.replace(old, new).encode("utf-8"))
        self._seen, self._made = state, True

    def path(self, name: str) -> Path:
        with self._lock:
            if self._state() != self._seen:
                try:
                    self.make()
                except NarratorError as exc:
                    if not self._made:
                        raise
                    log.warning("%s; serving the previous %s", exc, FEED_NAME)
        return self.scratch / name


def create_app(output_dir: Path, rendition: Rendition | None = None) -> ASGIApp:
    """The ASGI app that serves ``output_dir``'s published files (and ``rendition``'s feed and page)."""
    from starlette.applications import Starlette
    from starlette.datastructures import Headers
    from starlette.exceptions import HTTPException
    from starlette.responses import FileResponse, Response
    from starlette.routing import Mount
    from starlette.staticfiles import NotModifiedResponse, StaticFiles
    from starlette.types import Scope

    root = os.path.realpath(output_dir)

    class PodcastFile(FileResponse):
        # Four times Starlette's 64 KiB: a typical player's range in one read, a quarter of the thread hand-offs.
        chunk_size = 256 * 1024

        @classmethod
        def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
            # RFC 9110, 14.2: a range unit the server does not understand is ignored (200, the whole file).
            if http_range.partition("=")[0].strip().lower() != "bytes":
                return []
            return super()._parse_range_header(http_range, file_size)  # type: ignore[no-any-return]

    class PodcastFiles(StaticFiles):
        """StaticFiles narrowed to the published files of one flat folder."""

        def get_path(self, scope: Scope) -> str:
            name = public_name(scope["path"])
            if name is None:
                raise HTTPException(status_code=404)
            return name

        def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
            folder = root
            if rendition is not None and path in (FEED_NAME, PAGE_NAME):
                folder = os.path.realpath(rendition.scratch)
                full = os.path.realpath(rendition.path(path))
            else:
                full = os.path.realpath(os.path.join(root, path))
            # A symbolic link is followed only to another published file at the top of the folder.
            if os.path.dirname(full) != folder or content_type(os.path.basename(full)) is None:
                return "", None
            try:
                return full, os.stat(full)
            except OSError:
                return "", None

        def file_response(
            self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
        ) -> Response:
            if not stat.S_ISREG(stat_result.st_mode):
                raise HTTPException(status_code=404)
            response = PodcastFile(
                full_path,
                status_code=status_code,
                stat_result=stat_result,
                media_type=content_type(os.path.basename(full_path)),
                headers={"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"},
            )
            if self.is_not_modified(response.headers, Headers(scope=scope)):
                return NotModifiedResponse(response.headers)
            return response

    files = Starlette(routes=[Mount("/", app=PodcastFiles(directory=root))])
    page = PagePolicy(rendition.scratch if rendition is not None else output_dir)
    return with_security_headers(files, page)


class PagePolicy:
    """The content-security policy of the listening page being served, as its own <meta> tag says.

    Sent as a header too, so a page written by another version of narrator (other script
    hashes) is served with the policy it was written with; read again when the page changes.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / PAGE_NAME
        self._seen: tuple[int, int] | None = None
        self._policy = DEFAULT_POLICY
        self._lock = threading.Lock()

    def policy(self) -> str:
        with self._lock:
            try:
                st = os.stat(self.path)
            except OSError:
                return DEFAULT_POLICY
            if (st.st_mtime_ns, st.st_size) != self._seen:
                self._seen = (st.st_mtime_ns, st.st_size)
                try:
                    head = self.path.read_text(encoding="utf-8", errors="replace")[:8192]
                except OSError:
                    head = ""
                found = _META_POLICY.search(head)
                self._policy = found.group(1).replace("&#x27;", "'").replace("&quot;", '"') if found else DEFAULT_POLICY
            return self._policy


#: What an error page may load: nothing.
DEFAULT_POLICY = "default-src 'none'"
_META_POLICY = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


def with_security_headers(app: ASGIApp, page: PagePolicy) -> ASGIApp:
    """``app`` with the headers every response gets, 404s included: no type sniffing; and on the
    page and on errors a content-security policy (the page's own) and no framing by other sites.
    Media, feed and captions get none: a browser that opens an MP3 plays it in a document of its
    own making, which a policy meant for pages would stop."""
    from starlette.datastructures import MutableHeaders
    from starlette.types import Message, Receive, Scope, Send

    async def secured(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = f"{page.policy()}; frame-ancestors 'none'"
                elif message["status"] >= 400:
                    headers["Content-Security-Policy"] = f"{DEFAULT_POLICY}; frame-ancestors 'none'"
            await send(message)

        await app(scope, receive, send_secured)

    return secured


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``, or ServeError saying why there cannot be one."""
    where = f"{_url_host(host)}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host!r}: {exc.strerror}; give an address such as 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    try:
        # A previous run's connections in TIME_WAIT do not make the port busy; another listener does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = (
                f"port {port} on {host} is already in use; stop what uses it, or choose --port (0 picks a free one)"
            )
        elif exc.errno == errno.EACCES:
            reason = f"no permission to listen on {where}; ports below 1024 need root, try --port 8000"
        elif exc.errno == errno.EADDRNOTAVAIL:
            reason = f"{host} is not an address of this machine; try --host 127.0.0.1 or 0.0.0.0"
        else:
            reason = f"cannot listen on {where} ({exc.strerror or exc})"
        raise ServeError(reason) from None
    return sock


def _log_config(access_log: bool) -> dict[str, Any]:
    """uvicorn's logging on stderr (stdout is for the feed URL), one plain line per message."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "narrator serve: %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(client_addr)s "%(request_line)s" %(status_code)s',
                "use_colors": False,
            },
        },
        "handlers": {"plain": {**handler, "formatter": "plain"}, "access": {**handler, "formatter": "access"}},
        "loggers": {
            "uvicorn": {"handlers": ["plain"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"level": "WARNING"},
            "uvicorn.access": {
                "handlers": ["access"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
            "narrator.serve": {"handlers": ["plain"], "level": "INFO", "propagate": False},
        },
    }


def serve(
    output_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    base_url: str | None = None,
    access_log: bool = False,
    on_ready: Callable[[Listening], None] = lambda listening: None,
) -> None:
    """Serve the podcast folder ``output_dir`` until Ctrl-C (or SIGTERM).

    ``on_ready`` is called once the port is open, before the first request is
    answered. Raises ServeError when the folder has no feed or the port cannot
    be had.
    """
    try:
        feed = (output_dir / FEED_NAME).read_bytes()
    except FileNotFoundError:
        raise ServeError(
            f"no {FEED_NAME} here; narrate an article into this folder first (narrator narrate ARTICLE -o DIR)",
            output_dir,
        ) from None
    except OSError as exc:
        raise ServeError(f"cannot read {FEED_NAME} ({exc.strerror or exc})", output_dir) from None
    written_for = feed_base_url(feed)
    sock = bind(host, port)
    try:
        port = sock.getsockname()[1]
        effective = serve_base_url(written_for, host=host, port=port, override=base_url)
        hosts = ["127.0.0.1", *machine_addresses()] if host in _WILDCARD_HOSTS else [_url_host(host)]
        page_urls = tuple(f"http://{name}:{port}/" for name in hosts)
        listening = Listening(
            page_url=page_urls[0],
            page_urls=page_urls,
            feed_url=effective + FEED_NAME,
            base_url=effective,
            written_for=written_for,
            host=host,
            port=port,
        )
        with tempfile.TemporaryDirectory(prefix="narrator-serve-") as scratch:
            rendition = None
            if effective != written_for:
                rendition = Rendition(output_dir, effective, Path(scratch))
                rendition.make()  # fail now, with the reason, rather than at the first request
            if not (output_dir / PAGE_NAME).is_file():
                log.warning("no %s in %s yet; `narrator feed -o %s` writes it", PAGE_NAME, output_dir, output_dir)
            _run(create_app(output_dir, rendition), sock, access_log=access_log, ready=lambda: on_ready(listening))
    finally:
        sock.close()


def _run(app: ASGIApp, sock: socket.socket, *, access_log: bool, ready: Callable[[], None]) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        log_config=_log_config(access_log),
        access_log=access_log,
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # Announced only now, when uvicorn handles Ctrl-C: announced before, a Ctrl-C at once
            # could land while asyncio was starting and be lost, leaving the server running.
            ready()

    server = Server(config)
    # uvicorn shuts down gracefully on Ctrl-C or SIGTERM, then raises the signal again with the
    # handler it found: here, both are the way to stop, and end in a normal return.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stopped) if main_thread else None
    try:
        with contextlib.suppress(KeyboardInterrupt, _Stopped):
            server.run(sockets=[sock])
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


class _Stopped(Exception):
    """SIGTERM arrived after uvicorn had shut down."""


def _stopped(signum: int, frame: object) -> None:
    raise _Stopped
