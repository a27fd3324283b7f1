"""Web addresses: fetch the page over HTTP(S), with a time-out and a size limit, and say how to read it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InputError
from .base import InputFormat, title_from_name

#: Largest page fetched from the web.
MAX_PAGE_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT_S = 30.0
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def fetch(
    url: str, *, fmt: InputFormat | None = None, timeout_s: float = FETCH_TIMEOUT_S
) -> tuple[bytes | str, InputFormat]:
    """The page at ``url`` and the format to read it as; one clear InputError for anything that is not a page.

    An HTML page comes back decoded when the server names its charset (the server's
    word beats what the page guesses); other text stays bytes, for its reader to decode.
    """
    import http.client
    import urllib.error
    import urllib.request

    from .. import __version__

    accept = "text/html,application/xhtml+xml;q=0.9,text/*;q=0.5"
    request = urllib.request.Request(url, headers={"User-Agent": f"narrator/{__version__}", "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status = response.status
            mime = response.headers.get_content_type()
            charset = response.headers.get_content_charset()
            data = response.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise InputError(f"the server answered HTTP {exc.code} {exc.reason}", url) from None
    except urllib.error.URLError as exc:
        reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
        raise InputError(f"cannot be fetched ({reason}); check the address and that you are online", url) from None
    except TimeoutError:
        raise InputError(f"did not answer within {timeout_s:.0f} s", url) from None
    except (OSError, http.client.HTTPException) as exc:
        raise InputError(f"cannot be fetched ({exc})", url) from None
    if status != 200:
        raise InputError(f"the server answered HTTP {status}, not a page (200)", url)
    if len(data) > MAX_PAGE_BYTES:
        raise InputError(f"is larger than {MAX_PAGE_BYTES // 2**20} MB", url)
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
