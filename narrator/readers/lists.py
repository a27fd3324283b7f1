"""Lists of sources: OPML files of feeds (what feed readers export) and text files of article addresses.

OPML is parsed with defusedxml's ElementTree: the standard library's parser
with entity declarations and external references refused, so an OPML file
from elsewhere cannot expand into gigabytes (a "billion laughs") or make
narrator read local files. OPML 2.0 (opml.org/spec2) says a subscription
list's outlines have ``type="rss"`` and an ``xmlUrl``; narrator takes every
outline with an ``xmlUrl``, nested in folders or not, as OPML 1.0 files do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .base import decode_text, read_bytes

#: Largest OPML file or address list read.
MAX_LIST_BYTES = 4 * 1024 * 1024
#: Most feeds taken from one OPML file, and most addresses from one list.
MAX_LIST_ENTRIES = 5000


@dataclass(frozen=True, slots=True)
class Outline:
    """A feed an OPML file subscribes to."""

    url: str
    title: str


def is_opml(data: bytes) -> bool:
    """
    >>> is_opml(b'<?xml version="1.0"?>\\n<opml version="2.0"><body/></opml>'), is_opml(b"https://a.example/x")
    (True, False)
    """
    head = data[:2048].lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") and b"<opml" in head.lower()


def read_opml(path: Path) -> tuple[Outline, ...]:
    """The feeds of the OPML file at ``path``, in its order; InputError naming the file when it is not one."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    data = _read(path)
    try:
        root = fromstring(data)
    except ParseError as exc:
        raise InputError(f"is not a well-formed OPML file ({exc})", path) from None
    except DefusedXmlException as exc:
        raise InputError(f"is refused: OPML files may not declare entities ({exc})", path) from None
    if root.tag != "opml" or root.find("body") is None:
        raise InputError("is not an OPML file (no <opml> with a <body>)", path)
    found: dict[str, Outline] = {}
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url and url not in found:
            title = " ".join((outline.get("title") or outline.get("text") or "").split())
            found[url] = Outline(url, title)
    if not found:
        raise InputError("lists no feeds (no <outline> with an xmlUrl)", path)
    if len(found) > MAX_LIST_ENTRIES:
        raise InputError(f"lists {len(found)} feeds, more than the {MAX_LIST_ENTRIES} narrator follows", path)
    return tuple(found.values())


def read_url_list(path: Path) -> tuple[str, ...]:
    """The article addresses in the text file at ``path``, one a line (blank lines and ``#`` comments left
    out, each address once); InputError naming the file and the line when one is not a web address."""
    from . import is_url

    text = decode_text(_read(path), path)
    urls: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not is_url(line):
            shown = line if len(line) <= 60 else line[:59] + "…"
            raise InputError(f"line {number} is not a web address (http:// or https://): {shown!r}", path)
        urls[line] = None
    if len(urls) > MAX_LIST_ENTRIES:
        raise InputError(f"lists {len(urls)} addresses, more than the {MAX_LIST_ENTRIES} narrator follows", path)
    return tuple(urls)


def _read(path: Path) -> bytes:
    data = read_bytes(path)
    if len(data) > MAX_LIST_BYTES:
        raise InputError(f"is larger than {MAX_LIST_BYTES // 2**20} MB, more than a list of sources", path)
    return data
