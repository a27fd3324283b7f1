"""Web addresses: fetch the page over HTTP(S), with a time-out and a size limit, and say how to read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InputError
from .base import InputFormat, title_from_name

#: Largest page fetched from the web.
MAX_PAGE_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT_S = 30.0
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass(frozen=True, slots=True)
class Response:
    """What a server answered to a GET: the body (empty for 304), and the headers that matter here."""

    status: int
    """200, or 304 (Not Modified) for a conditional request whose validators still hold."""
    url: str
    """The address answered from, after redirects."""
    data: bytes
    mime: str
    charset: str | None
    etag: str
    """The ``ETag`` header, for the next conditional request (RFC 9110, 13.1.2: If-None-Match)."""
    modified: str
    """The ``Last-Modified`` header, for ``If-Modified-Since``."""


def get(
    url: str,
    *,
    accept: str,
    max_bytes: int,
    timeout_s: float = FETCH_TIMEOUT_S,
    etag: str = "",
    modified: str = "",
    what: str = "a page",
    readable: Callable[[str], bool] | None = None,
) -> Response:
    """GET ``url`` with narrator's user agent, a time-out for the whole answer (not only for each read: a
    server trickling bytes is stopped too) and a size cap; with ``etag`` or ``modified``, conditionally
    (a 304 comes back as a Response with no data). One clear InputError for everything else. When
    ``readable`` says no to the answer's type, its body is not read (the Response has no data): a link to
    a 50 MB recording costs its headers, not 20 MB of audio."""
    import http.client
    import time
    import urllib.error
    import urllib.request

    from .. import __version__

    headers = {"User-Agent": f"narrator/{__version__} (article-to-podcast)", "Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    request = urllib.request.Request(url, headers=headers)
    deadline = time.monotonic() + timeout_s
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            chunks, size = [], 0
            if readable is not None and not readable(response.headers.get_content_type()):
                size = max_bytes + 1  # nothing is read: the caller says why from the type
            while size <= max_bytes:
                if time.monotonic() > deadline:
                    raise TimeoutError()
                chunk = response.read1(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            found = Response(
                status=response.status,
                url=response.url or url,
                data=b"".join(chunks),
                mime=response.headers.get_content_type(),
                charset=response.headers.get_content_charset(),
                etag=response.headers.get("ETag", ""),
                modified=response.headers.get("Last-Modified", ""),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and (etag or modified):
            kept = (exc.headers.get("ETag", etag), exc.headers.get("Last-Modified", modified))
            return Response(304, url, b"", "", None, *kept)
        raise InputError(f"the server answered HTTP {exc.code} {exc.reason}", url) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise InputError(f"did not answer within {timeout_s:g} s", url) from None
        reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
        raise InputError(f"cannot be fetched ({reason}); check the address and that you are online", url) from None
    except TimeoutError:
        raise InputError(f"did not answer within {timeout_s:g} s", url) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise InputError(f"cannot be fetched ({exc})", url) from None
    if len(found.data) > max_bytes:
        raise InputError(f"is larger than {max_bytes / 2**20:g} MB, more than narrator reads", url)
    if found.status != 200:
        raise InputError(f"the server answered HTTP {found.status}, not {what} (200)", url)
    return found


def fetch(
    url: str, *, fmt: InputFormat | None = None, timeout_s: float = FETCH_TIMEOUT_S
) -> tuple[bytes | str, InputFormat]:
    """The page at ``url`` and the format to read it as; one clear InputError for anything that is not a page.

    An HTML page comes back decoded when the server names its charset (the server's
    word beats what the page guesses); other text stays bytes, for its reader to decode.
    """
    accept = "text/html,application/xhtml+xml;q=0.9,text/*;q=0.5"

    def readable(mime: str) -> bool:
        return mime in HTML_TYPES if fmt is None else fmt is InputFormat.HTML or mime.startswith("text/")

    response = get(url, accept=accept, max_bytes=MAX_PAGE_BYTES, timeout_s=timeout_s, readable=readable)
    mime, charset, data = response.mime, response.charset, response.data
    wanted = fmt or (InputFormat.HTML if mime in HTML_TYPES else None)
    if wanted is None or (wanted is not InputFormat.HTML and not mime.startswith("text/")):
        hint = " (--format text or --format markdown reads it)" if mime.startswith("text/") else ""
        raise InputError(f"is {mime}, not a web page{hint}", url)
    if wanted is InputFormat.HTML and charset:
        try:
            return data.decode(charset, "replace"), wanted
        except LookupError:
            pass
    return data, wanted


def title_from_url(url: str) -> str:
    """
    >>> title_from_url("https://example.org/news/harbour-ferry.html"), title_from_url("https://example.org/")
    ('Harbour ferry', 'example.org')
    """
    parts = urlsplit(url)
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return title_from_name(Path(last)) if last else parts.netloc
