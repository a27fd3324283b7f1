"""Read an input into an Article: title, byline and body blocks, page chrome dropped.

One module per kind of input: ``text`` (plain text copied from a news page),
``markdown`` (markdown-it-py, CommonMark), ``html`` (saved web pages, through
trafilatura, which finds the article among the page's chrome) and ``url``
(fetching a web address). ``read_input()`` picks the reader by --format, the
file name's ending, then the content, and also reads standard input; ``read()``
settles the article's language too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError
from ..models import Article
from .base import STDIN, InputFormat, read_bytes, title_from_name

__all__ = [
    "ARTICLE_SUFFIXES",
    "FORMAT_SUFFIXES",
    "STDIN",
    "InputFormat",
    "expand_sources",
    "find_inputs",
    "is_url",
    "read",
    "read_input",
    "settle_language",
    "sniff_format",
]

#: File name endings narrator reads, and how; a folder's other files are skipped.
FORMAT_SUFFIXES: dict[str, InputFormat] = {
    ".txt": InputFormat.TEXT,
    ".text": InputFormat.TEXT,
    ".md": InputFormat.MARKDOWN,
    ".markdown": InputFormat.MARKDOWN,
    ".mdown": InputFormat.MARKDOWN,
    ".mkd": InputFormat.MARKDOWN,
    ".html": InputFormat.HTML,
    ".htm": InputFormat.HTML,
    ".xhtml": InputFormat.HTML,
}
#: The endings a folder's articles have, as messages name them.
ARTICLE_SUFFIXES = ".txt, .md or .html"
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
#: A page, or a fragment of one saved on its own, starts with one of these tags.
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|article|main|h1)[\s>]",
    re.IGNORECASE | re.DOTALL,
)
#: Unmistakable Markdown: front matter, an ATX heading, a code fence, a [link](target) or a setext underline.
_MARKDOWN_SIGNS = re.compile(
    r"\A---[ \t]*\n.*?\n---[ \t]*\n"  # front matter
    r"|^ {0,3}#{1,6}[ \t]+\S|^\S[^\n]*\n(?:=+|-{2,})[ \t]*$"  # ATX and setext headings
    r"|^ {0,3}```|\[[^\]\n]+\]\([^)\s]+\)",  # a code fence, a link
    re.MULTILINE | re.DOTALL,
)


def is_url(source: str) -> bool:
    """
    >>> is_url("https://example.org/news/1"), is_url("news.html")
    (True, False)
    """
    return bool(_URL.fullmatch(source.strip()))


def sniff_format(data: bytes) -> InputFormat:
    """Tell HTML, Markdown and plain text apart by their content (for stdin and unknown endings).

    >>> sniff_format(b"<!DOCTYPE html><html lang=de>").value, sniff_format(b"# Title\\n\\nText").value
    ('html', 'markdown')
    >>> sniff_format(b"Title\\n\\nText").value
    'text'
    """
    head = data[:65536].lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(head[:4096]):
        return InputFormat.HTML
    text = head.decode("utf-8", "replace").replace("\r\n", "\n")
    return InputFormat.MARKDOWN if _MARKDOWN_SIGNS.search(text) else InputFormat.TEXT


def find_inputs(folder: Path) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The articles in ``folder`` in name order, and its other files (to report as skipped).

    Hidden files and sub-folders are left alone.
    """
    try:
        files = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())
    except OSError as exc:
        raise InputError(f"folder cannot be read ({exc.strerror or exc})", folder) from exc
    readable = tuple(p for p in files if p.suffix.lower() in FORMAT_SUFFIXES)
    return readable, tuple(p for p in files if p not in readable)


def expand_sources(sources: Iterable[str]) -> tuple[list[str], list[Path]]:
    """Inputs as given, a folder replaced by the articles inside it (in name order); and the folders'
    other files, skipped. InputError for a folder without articles, or standard input twice."""
    found: list[str] = []
    skipped: list[Path] = []
    for source in sources:
        path = Path(source)
        if source == STDIN or is_url(source) or not path.is_dir():
            found.append(source)
            continue
        readable, others = find_inputs(path)
        if not readable:
            more = f"; {len(others)} other file(s) there" if others else ""
            raise InputError(f"folder has no articles to read (looked for {ARTICLE_SUFFIXES} files{more})", path)
        skipped.extend(others)
        found.extend(str(p) for p in readable)
    if found.count(STDIN) > 1:
        raise InputError("standard input can be read only once", STDIN)
    return found, skipped


def _reader(fmt: InputFormat) -> Callable[..., Article]:
    """The reader of ``fmt``, imported when it is needed (trafilatura alone takes 0.2 s to load)."""
    if fmt is InputFormat.HTML:
        from . import html

        return html.read
    if fmt is InputFormat.MARKDOWN:
        from . import markdown

        return markdown.read
    from . import text

    return text.read


def parse_input(data: bytes, fmt: InputFormat, *, source: str, fallback_title: str = "Untitled") -> Article:
    """Parse an input's bytes as ``fmt``."""
    return _reader(fmt)(data, source=source, fallback_title=fallback_title)


def read_url(url: str, *, fmt: InputFormat | None = None) -> Article:
    """Fetch ``url`` and read it as a saved page (or as text, with ``fmt``)."""
    from .url import fetch

    page, wanted = fetch(url, fmt=fmt)
    return read_fetched(url, page, wanted)


def read_fetched(url: str, page: bytes | str, wanted: InputFormat) -> Article:
    """Read a page fetched from ``url`` (``url.fetch``'s answer) as ``wanted``."""
    from .url import title_from_url

    if wanted is InputFormat.HTML:
        from .html import parse_html

        return parse_html(page, source=url, fallback_title=title_from_url(url), url=url)
    assert isinstance(page, bytes)
    return parse_input(page, wanted, source=url, fallback_title=title_from_url(url))


def read_input(source: str | Path, *, fmt: InputFormat | None = None, stdin: BinaryIO | None = None) -> Article:
    """Read a file, a web address or standard input (``-``) into an Article.

    ``fmt`` overrides the format, which otherwise comes from the file name's ending
    or, failing that, from the content. ``Article.language`` is the language the
    input declares (a page's ``lang``, front matter), or "" when it says none.
    """
    text = str(source)
    if text == STDIN:
        if stdin is None:
            raise InputError("standard input is not available", STDIN)
        data = stdin.read()
        return parse_input(data, fmt or sniff_format(data), source=STDIN, fallback_title="Untitled article")
    if isinstance(source, str) and is_url(source):
        return read_url(source, fmt=fmt)
    path = Path(source)
    data = read_bytes(path)
    fmt = fmt or FORMAT_SUFFIXES.get(path.suffix.lower()) or sniff_format(data)
    return parse_input(data, fmt, source=str(path), fallback_title=title_from_name(path))


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
    declares, else what the detector makes of the text, else ``default_language``;
    the byline's credit, when the input printed the name alone, is in that language.
    InputError names the input when it cannot be narrated.
    """
    found = read_input(source, fmt=InputFormat(fmt) if fmt else None, stdin=stdin)
    return settle_language(found, language=language, default_language=default_language)


def settle_language(found: Article, *, language: str = "", default_language: str = "en") -> Article:
    """``found`` in its language: ``language`` when given, else what it declares, else what the detector
    makes of its text, else ``default_language``; a byline printed as the name alone credited in it."""
    from ..language import detect_language
    from .byline import credit_for

    tag = language or found.language
    if not tag:
        text = "\n\n".join([found.title, *(block.text for block in found.blocks)])
        tag = detect_language(text, fallback=default_language)
    # A byline printed as the name alone is credited in the article's language: "Von Jonas Weber".
    credit = found.credit or (credit_for(found.byline, tag) if found.byline else "")
    return replace(found, language=tag, credit=credit)
