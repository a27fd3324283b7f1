"""Read an input into an Article: title, byline and body blocks, page chrome dropped.

Plain text copied from a news page has a recognisable shape: the headline on the
first line, sometimes an image caption ending in a credit such as "(Image: KCNA)",
paragraphs separated by blank lines, a byline as a short line of capitalised
names (before or after the body), and page chrome such as "Close", "Advertisement"
or "Read more: ..." that a reader skips. The rules below describe that shape in
general terms; they are tested on several articles, not only the seed.

Markdown (markdown-it-py, CommonMark) and saved web pages (trafilatura, which
finds the article among the page's chrome) come with their structure: their
readers keep the headings and figures and leave the rest of the markup unsaid.
read_input() picks the reader by --format, the file name's ending, then the
content, and also reads web addresses and standard input.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from .errors import InputError
from .language import normalize_tag
from .models import Article, Block, BlockKind

#: Whole lines that are page furniture, not article text (matched case-insensitively).
CHROME_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"close|menu|search|home|print|email|e-mail|share|tweet|comments?|reply|skip to (main )?content",
        r"advertisement|advert|sponsored( content)?|ad|scroll to continue( with content)?",
        r"share (this|on|via)\b.*|copy link|link copied|(listen|watch)( to)? this( article| story)?.*",
        r"(read|see) (more|also|next)\b.*|related( articles?| stories| content)?\b.*|recommended( for you)?.*",
        r"(sign up|subscribe|follow us|newsletter)\b.{0,80}",
        r"(we use )?cookies?\b.{0,120}|accept( all)?( cookies)?|manage (cookie )?preferences",
        r"continue reading.*|show more|load more|back to top|top stories|most (read|popular)",
        r"(image|photo|picture|video)( credit)?s?: .{0,60}",
        r"\d+\s*(min(ute)?s?|hours?)( read| ago)?|updated .{0,40}|published .{0,40}",
        r"(facebook|twitter|x|linkedin|whatsapp|reddit|pinterest|telegram)(\s*[,|/]\s*\w+)*",
        r"[\W_]+",
    )
)

#: A caption ends in a bracketed credit, or starts with one.
CAPTION_CREDIT = re.compile(
    r"\((?:image|photo|picture|photograph|credit|source|illustration|file photo|pictured)s?"
    r"(?:\s+credit)?\s*[:/]\s*[^()]{1,80}\)\s*$",
    re.IGNORECASE,
)
CAPTION_PREFIX = re.compile(r"^(?:image|photo|picture|caption)s?(?:\s+caption)?\s*:\s+", re.IGNORECASE)

#: A byline: optionally "By", then two to five capitalised name words
#: (particles such as "van" or "de" allowed), optionally "and" another name.
PARTICLES = frozenset({"van", "von", "de", "der", "da", "di", "du", "la", "le", "bin", "al", "el"})
_WORD = r"[A-Z\u00C0-\u024F][\w'’.\-]*"
_NAME = rf"{_WORD}(?:\s+(?:(?:{'|'.join(sorted(PARTICLES))})\s+)?{_WORD}){{1,4}}"
BYLINE = re.compile(rf"^(?:by\s+)?({_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*)$", re.IGNORECASE)
#: "By NAME", then perhaps "| date" or " - date"; a hyphen inside a name ("Jean-Luc") is the name's.
BYLINE_BY = re.compile(r"^by\s+(.{2,80}?)(?:\s*[|•·,]\s*.*|\s+[–—-]\s+.*)?$", re.IGNORECASE)

SENTENCE_END = re.compile(r"[.!?…:;\"'”’)\]]$")
MAX_HEADING_WORDS = 12
MAX_TITLE_CHARS = 200


def read_article(path: Path) -> Article:
    """Read a plain-text article from ``path``.

    Raises InputError naming the file for anything that cannot be narrated.
    """
    data = _read_bytes(path)
    return parse_text(decode_text(data, path), source=str(path), fallback_title=_title_from_name(path))


def decode_text(data: bytes, path: Path | str) -> str:
    """Decode UTF-8 (with or without BOM; UTF-16 with BOM), refusing binary data.

    Text that is not valid UTF-8 is refused rather than guessed at: a wrong guess
    would be narrated as gibberish.
    """
    if not data.strip():
        raise InputError("is empty", path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("is not valid UTF-16 text", path) from None
    if b"\x00" in data[:8192]:
        raise InputError("looks like binary data, not text", path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert it first, e.g. iconv -f latin1 -t utf-8",
            path,
        ) from None
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls > max(8, len(text) // 100):
        raise InputError("looks like binary data, not text", path)
    return text


def parse_text(text: str, *, source: str, fallback_title: str = "Untitled") -> Article:
    """Turn plain text into an Article (see the module docstring for the rules)."""
    text_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch in "\n\t")
    raw_blocks = _split_blocks(text)
    if not raw_blocks:
        raise InputError("is empty", source)

    dropped: list[str] = []
    kept: list[str] = []
    for block in raw_blocks:
        (dropped if is_chrome(block) else kept).append(block)

    title = ""
    if kept and _looks_like_title(kept[0]):
        title = kept.pop(0)

    byline = ""
    for index in (0, -1):  # a byline stands right under the title or at the very end
        if kept and not byline:
            found = match_byline(kept[index])
            if found and (len(kept) > 1 or index == 0):
                byline = found
                kept.pop(index)

    blocks = tuple(_classify(block, is_last=i == len(kept) - 1) for i, block in enumerate(kept))
    if not blocks and any(ch.isalnum() for ch in title):
        # A one-line text is all body: its file name becomes the title.
        blocks, title = (Block(BlockKind.PARAGRAPH, title),), ""
    if not any(any(ch.isalnum() for ch in b.text) for b in blocks):
        raise InputError("has no words to narrate", source)
    return Article(
        source=source,
        title=title or fallback_title,
        byline=byline,
        blocks=blocks,
        dropped=tuple(dropped),
        text_hash=text_hash,
    )


def is_chrome(block: str) -> bool:
    """True for a line of page furniture such as "Close" or "Read more: ...".

    >>> is_chrome("Advertisement"), is_chrome("Read more: Why it matters"), is_chrome("Close the door.")
    (True, True, False)
    """
    line = block.strip()
    if len(line) > 160:
        return False
    # A full sentence is the article's, even when it starts like chrome ("Published in 1998, the book ...").
    if len(line.split()) >= 4 and re.search(r"[.!?…][\"'”’)]*$", line):
        return False
    return any(p.fullmatch(line) for p in CHROME_PATTERNS)


def match_byline(block: str) -> str:
    """The author's name if ``block`` is a byline, else "".

    >>> match_byline("Jang Seiul"), match_byline("By Anna van der Berg | 3 March 2024")
    ('Jang Seiul', 'Anna van der Berg')
    >>> match_byline("The war goes on")
    ''
    """
    line = block.strip()
    if len(line) > 100 or "\n" in line or (SENTENCE_END.search(line) and not line.endswith(".")):
        return ""
    by = BYLINE_BY.match(line)
    name = by.group(1).strip() if by else line
    plain = BYLINE.match(name)
    if plain and not name.endswith("."):
        words = plain.group(1).split()
        # Every significant word capitalised: "Jang Seiul", not "The war goes on" or "By late afternoon".
        if all(w[0].isupper() or w.lower() in PARTICLES | {"and", "&"} for w in words):
            return plain.group(1).strip()
    return ""


def is_caption(block: str) -> bool:
    """True for an image caption: ends in a credit like "(Image: KCNA)" or starts "Photo:".

    >>> is_caption("Troops on parade (Image: KCNA)"), is_caption("Troops on parade.")
    (True, False)
    """
    return bool(CAPTION_CREDIT.search(block) or CAPTION_PREFIX.match(block))


def strip_credit(caption: str) -> str:
    """A caption without its credit or "Photo:" prefix: what is worth saying aloud.

    >>> strip_credit("Troops on parade (Image: KCNA)")
    'Troops on parade'
    """
    return CAPTION_PREFIX.sub("", CAPTION_CREDIT.sub("", caption)).strip()


def _split_blocks(text: str) -> list[str]:
    """Blocks separated by blank lines; without any blank line, each line is a block."""
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.strip().split("\n")]
    if any(not line for line in lines) or len(lines) < 2:
        blocks, current = [], []
        for line in lines:
            if line:
                current.append(line)
            elif current:
                blocks.append(current)
                current = []
        if current:
            blocks.append(current)
        # A title or chrome line glued to the next line is still its own block when short.
        out: list[str] = []
        for group in blocks:
            out.extend(_unwrap(group))
        return out
    return [line for line in lines if line]


def _unwrap(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines of one block, keeping chrome lines separate."""
    out: list[str] = []
    current: list[str] = []
    for line in lines:
        if is_chrome(line):
            if current:
                out.append(" ".join(current))
                current = []
            out.append(line)
        else:
            current.append(line)
    if current:
        out.append(" ".join(current))
    return out


def _looks_like_title(block: str) -> bool:
    words = block.split()
    return 0 < len(block) <= MAX_TITLE_CHARS and len(words) <= 30 and not is_caption(block)


def _classify(block: str, *, is_last: bool) -> Block:
    if is_caption(block):
        return Block(BlockKind.CAPTION, block)
    words = block.split()
    if not is_last and len(words) <= MAX_HEADING_WORDS and not SENTENCE_END.search(block) and block[0].isalnum():
        return Block(BlockKind.HEADING, block)
    return Block(BlockKind.PARAGRAPH, block)


def _title_from_name(path: Path) -> str:
    """A readable title from a file name: ``my-first_article.txt`` -> "My first article"."""
    stem = re.sub(r"[-_]+", " ", path.stem).strip()
    return stem[:1].upper() + stem[1:] if stem else "Untitled"


# --- every kind of input ------------------------------------------------------------


class InputFormat(StrEnum):
    """How an input is read (``--format``)."""

    TEXT = "text"
    MARKDOWN = "markdown"
    HTML = "html"


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
STDIN = "-"
#: "By" in the languages narrator has announcements for (lexicon.py), as bylines begin.
LOCAL_BY = re.compile(r"(?:von|par|por|door|di|av|af)\s+", re.IGNORECASE)
#: Largest page fetched from the web.
MAX_PAGE_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT_S = 30.0
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
    data = _read_bytes(path)
    fmt = fmt or FORMAT_SUFFIXES.get(path.suffix.lower()) or sniff_format(data)
    return parse_input(data, fmt, source=str(path), fallback_title=_title_from_name(path))


def parse_input(data: bytes, fmt: InputFormat, *, source: str, fallback_title: str = "Untitled") -> Article:
    """Parse an input's bytes as ``fmt``."""
    if fmt is InputFormat.HTML:
        return parse_html(data, source=source, fallback_title=fallback_title)
    text = decode_text(data, source)
    if fmt is InputFormat.MARKDOWN:
        return parse_markdown(text, source=source, fallback_title=fallback_title)
    # Plain text declares no language: the pipeline detects it.
    article = parse_text(text, source=source, fallback_title=fallback_title)
    return replace(article, language="", byline=strip_by(article.byline))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not an article", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", path) from exc


def _clean(text: str) -> str:
    """Whitespace collapsed, NFC, control characters gone: how block text is kept."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if unicodedata.category(ch) != "Cc" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def _content_hash(title: str, byline: str, blocks: list[Block]) -> str:
    """SHA-256 of what was read, so a page re-saved with new adverts around it is still the same article."""
    joined = "\n\n".join([title, byline, *(f"{b.kind.value}: {b.text}" for b in blocks)])
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def _has_words(blocks: list[Block]) -> bool:
    return any(any(ch.isalnum() for ch in b.text) for b in blocks)


# --- Markdown -------------------------------------------------------------------------

#: Headings that start a chapter; deeper ones are read as a line of their own.
CHAPTER_HEADINGS = frozenset({"h2", "h3"})


@functools.lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.front_matter import front_matter_plugin

    # CommonMark plus the GitHub extensions articles use: tables, strikethrough, footnotes, front matter.
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(front_matter_plugin).use(footnote_plugin)


def parse_markdown(text: str, *, source: str, fallback_title: str = "Untitled") -> Article:
    """Markdown -> Article, read the way a person reads the rendered page.

    The first ``#`` heading is the title (else front matter ``title``); each ``##``
    or ``###`` heading starts a chapter; a "By NAME" line under the title or front
    matter ``author`` is the byline; ``lang`` in front matter is the language.
    Links read as their text, images as captions of their alt text, list items and
    table rows as paragraphs of their own. Code blocks, raw HTML blocks, footnotes,
    struck-out text and rows of badge images are left out (listed in ``dropped``).
    """
    text_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    tokens = _markdown().parse(unicodedata.normalize("NFC", text).replace("\r\n", "\n"))
    meta: dict[str, str] = {}
    title = ""
    blocks: list[Block] = []
    dropped: list[str] = []
    cells: list[str] = []
    byline_line = ""
    depth_footnote = 0
    after_title = False  # the next block is the first under the title: a "By" line there is the byline
    heading = ""
    for index, token in enumerate(tokens):
        kind = token.type
        if kind == "front_matter":
            meta = parse_front_matter(token.content)
        elif kind == "footnote_block_open":
            depth_footnote += 1
        elif kind == "footnote_block_close":
            depth_footnote -= 1
        elif kind == "heading_open":
            heading = token.tag
        elif kind in {"fence", "code_block"}:
            dropped.append(token.content.rstrip("\n"))
            after_title = False
        elif kind == "html_block":
            dropped.append(token.content.strip())
        elif kind == "tr_close":
            row = ", ".join(cell for cell in cells if cell)
            if row:
                blocks.append(Block(BlockKind.PARAGRAPH, row))
            cells = []
            after_title = False
        elif kind == "inline":
            said, images, badges = _inline_text(token.children or [])
            parent = tokens[index - 1].type if index else ""
            if depth_footnote:
                dropped.append(said)
            elif parent in {"th_open", "td_open"}:
                cells.append(said)
            elif heading:
                if heading == "h1" and not title:
                    title, after_title = said, True
                elif said:
                    chapter = heading in CHAPTER_HEADINGS or heading == "h1"
                    blocks.append(Block(BlockKind.HEADING if chapter else BlockKind.PARAGRAPH, said))
                    after_title = False
                heading = ""
            elif badges and not said:
                dropped.extend(badges)
            else:
                if after_title and not byline_line and _by_line(said):
                    byline_line = said
                elif said:
                    blocks.append(Block(BlockKind.PARAGRAPH, said))
                blocks.extend(Block(BlockKind.CAPTION, alt) for alt in images)
                after_title = False
    title = title or meta.get("title", "")
    byline = meta.get("author", "") or _by_line(byline_line)
    if not _has_words(blocks):
        raise InputError("has no words to narrate", source)
    return Article(
        source=source,
        title=title or fallback_title,
        byline=byline,
        blocks=tuple(blocks),
        dropped=tuple(d for d in dropped if d),
        text_hash=text_hash,
        language=normalize_tag(meta.get("lang", "")),
        date=meta.get("date", ""),
        marked_headings=True,
    )


def strip_by(byline: str) -> str:
    """A byline without the word for "by" in another language, which the plain-text rules keep.

    Only when a name of two words or more is left: "Von Miller" may be a name.

    >>> strip_by("Von Jana Schröder"), strip_by("Par Claire Martin"), strip_by("Von Miller")
    ('Jana Schröder', 'Claire Martin', 'Von Miller')
    """
    found = LOCAL_BY.match(byline)
    rest = byline[found.end() :] if found else ""
    return rest if len(rest.split()) >= 2 and match_byline(rest) == rest else byline


def _by_line(line: str) -> str:
    """The name in a "By NAME" line (or "Von", "Par"... NAME), or "" (not for "By the end of the day, ...").

    >>> _by_line("by Sam Okoro"), _by_line("By the end of the day, it rained."), _by_line("Von Jana Schröder")
    ('Sam Okoro', '', 'Jana Schröder')
    """
    found = BYLINE_BY.match(line) if len(line) <= 100 else None
    name = found.group(1).strip() if found else strip_by(line) if LOCAL_BY.match(line) else ""
    return name if name and name != line and match_byline(name) == name else ""


def _inline_text(children: list[Any]) -> tuple[str, list[str], list[str]]:
    """An inline run's words, the alt texts of its images, and the alt texts of linked images (badges)."""
    words: list[str] = []
    images: list[str] = []
    badges: list[str] = []
    in_link = autolink = False
    struck = 0
    for child in children:
        kind = child.type
        if kind == "link_open":
            in_link, autolink = True, child.markup == "autolink"
        elif kind == "link_close":
            in_link = autolink = False
        elif kind == "s_open":
            struck += 1  # struck-out text is what the author took back
        elif kind == "s_close":
            struck -= 1
        elif struck:
            continue
        elif kind == "text":
            words.append(child.content.removeprefix("mailto:") if autolink else child.content)
        elif kind == "code_inline":
            words.append(child.content)
        elif kind in {"softbreak", "hardbreak"}:
            words.append(" ")
        elif kind == "image":
            alt = _clean(child.content)
            if alt:
                (badges if in_link else images).append(alt)
        # html_inline tags, emphasis markers and footnote references are never said.
    said = _clean("".join(words))
    if badges and said:  # a linked image inside prose is an ordinary image
        images, badges = images + badges, []
    return said, images, badges


def parse_front_matter(text: str) -> dict[str, str]:
    """The few front matter fields narrator uses, from YAML's simple ``key: value`` form.

    Only flat keys are read: title, author (or authors, by, byline; a list is joined
    with "and"), date, and lang (or language, locale).

    >>> parse_front_matter('title: "Dawn chorus"\\nauthors: [Sam Okoro, Ana Lima]\\nlang: de_AT\\ndate: 2024-05-02')
    {'title': 'Dawn chorus', 'author': 'Sam Okoro and Ana Lima', 'lang': 'de_AT', 'date': '2024-05-02'}
    """
    names = {
        "title": "title",
        "author": "author",
        "authors": "author",
        "by": "author",
        "byline": "author",
        "date": "date",
        "lang": "lang",
        "language": "lang",
        "locale": "lang",
    }
    found: dict[str, str] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^([A-Za-z_]+)\s*:\s*(.*?)\s*$", line)
        if not match or match.group(1).lower() not in names:
            continue
        field, value = names[match.group(1).lower()], match.group(2)
        items: list[str]
        if value.startswith("[") and value.endswith("]"):
            items = [v.strip().strip("\"'") for v in value[1:-1].split(",")]
        elif not value:  # a block list on the lines below: "- Sam Okoro"
            items = []
            for below in lines[i + 1 :]:
                item = re.match(r"^\s+-\s+(.*?)\s*$", below)
                if not item:
                    break
                items.append(item.group(1).strip("\"'"))
        else:
            items = [value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'" else value]
        items = [_clean(item) for item in items if item.strip()]
        if items and field not in found:
            found[field] = " and ".join(items) if field == "author" else items[0]
    return found


# --- saved web pages and URLs -----------------------------------------------------------

#: Alt text shorter than this is a label ("logo", "photo"), not a description worth reading.
MIN_ALT_WORDS = 3
#: A line naming the author among a page's first blocks is its byline, already kept as the author.
BYLINE_WINDOW = 4
#: A page needs one paragraph that is a sentence, or this many words, to have an article in it.
PROSE_WORDS = 8


def parse_html(data: bytes | str, *, source: str, fallback_title: str = "Untitled", url: str | None = None) -> Article:
    """A web page -> its main article, without navigation, banners, adverts, related links or comments.

    trafilatura finds the article and its title, author and date; h2 and h3
    headings start chapters; a figure is read as its caption (figcaption, else a
    descriptive alt text); the page's ``lang`` attribute is the language.
    """
    import logging

    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # its notes about discarded parts are not ours
    if isinstance(data, bytes) and not data.strip():
        raise InputError("is empty", source)
    tree = trafilatura.load_html(data)
    if tree is None:
        raise InputError("is not an HTML page that can be read", source)
    language = page_language(tree)
    figure_captions = _figure_captions(tree, url)
    chrome = _chrome_text(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=True,
        include_formatting=False,
        include_links=False,
    )
    body = getattr(document, "body", None)
    if document is None or body is None:
        raise InputError("has no article text to narrate", source)
    title = _clean(getattr(document, "title", None) or "")
    author = getattr(document, "author", None) or ""
    byline = " and ".join(_clean(name) for name in author.split(";") if name.strip())
    blocks: list[Block] = []
    dropped: list[str] = []
    for element in body:
        _html_blocks(element, blocks, figure_captions, title)
    kept = []
    for index, block in enumerate(blocks):
        if block.kind is BlockKind.PARAGRAPH and (is_chrome(block.text) or _is_byline_line(block.text, byline, index)):
            dropped.append(block.text)
        else:
            kept.append(block)
    # trafilatura falls back to whatever text there is: a page of menus must not become an episode.
    if not any(
        _is_prose(b.text) and not any(b.text in part for part in chrome)
        for b in kept
        if b.kind is not BlockKind.CAPTION
    ):
        raise InputError("has no article text to narrate", source)
    title = title or fallback_title
    return Article(
        source=source,
        title=title,
        byline=byline,
        blocks=tuple(kept),
        dropped=tuple(dropped),
        text_hash=_content_hash(title, byline, kept),
        language=language,
        date=getattr(document, "date", None) or "",
        marked_headings=True,
    )


def _is_byline_line(text: str, byline: str, index: int) -> bool:
    """A short line near the top naming the author, in any language: "Par Claire Martin — 3 juin 2024".

    >>> _is_byline_line("Par Claire Martin — publié le 3 juin 2024", "Claire Martin", 1)
    True
    """
    names = [name for name in re.split(r"\s+and\s+", byline) if name]
    return index < BYLINE_WINDOW and len(text) <= 120 and bool(names) and any(name in text for name in names)


def _is_prose(text: str) -> bool:
    """A sentence or a longer run of words, not a menu's labels.

    >>> _is_prose("Short text here."), _is_prose("Home News Sport")
    (True, False)
    """
    return len(text.split()) >= PROSE_WORDS or bool(re.search(r"\w[.!?…][\"'”’»)]*$", text))


def _chrome_text(tree: Any) -> list[str]:
    """The text of the page's navigation, footers, sidebars and forms."""
    found = []
    roles = {"navigation", "contentinfo", "complementary", "search", "banner"}
    for element in tree.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in {"nav", "footer", "aside", "form", "menu"} or (element.get("role") or "") in roles:
            found.append(_clean(element.text_content()))
    return found


def page_language(tree: Any) -> str:
    """The page's language: ``<html lang>``, else xml:lang, Content-Language or og:locale; "" when none."""
    # An HTML parser keeps xml:lang as a plain attribute; an XHTML one puts it in the XML namespace.
    candidates = [tree.get("lang"), tree.get("xml:lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    for meta in tree.iter("meta"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in {"content-language", "og:locale", "language", "dc.language"}:
            candidates.append(meta.get("content"))
    for candidate in candidates:
        tag = normalize_tag((candidate or "").split(",")[0])
        if tag:
            return tag
    return ""


def _figure_captions(tree: Any, base_url: str | None) -> dict[str, str]:
    """Image address -> its figure's caption, read before trafilatura, which keeps the image but not the caption.

    Addresses are kept as written and resolved against ``base_url``, which trafilatura resolves them with.
    """
    from urllib.parse import urljoin

    captions: dict[str, str] = {}
    for figure in tree.iter("figure"):
        caption = next(iter(figure.iter("figcaption")), None)
        text = _clean(caption.text_content()) if caption is not None else ""
        if not text:
            continue
        for image in figure.iter("img"):
            for src in filter(None, (image.get("src"), image.get("data-src"))):
                captions[src] = captions[urljoin(base_url, src) if base_url else src] = text
    return captions


def _html_blocks(element: Any, out: list[Block], captions: dict[str, str], title: str) -> None:
    """Blocks from one element of trafilatura's output (its XML: head, p, list, quote, table, graphic, code)."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag == "head":
        text = _clean(element.xpath("string()"))
        rend = (element.get("rend") or "h2").lower()
        if not text or (rend == "h1" and text.casefold() == title.casefold()):
            return
        kind = BlockKind.HEADING if rend in {"h1", *CHAPTER_HEADINGS} else BlockKind.PARAGRAPH
        out.append(Block(kind, text))
    elif tag == "graphic":
        src = element.get("src") or ""
        alt = _clean(element.get("alt") or element.get("title") or "")
        caption = captions.get(src) or (alt if len(alt.split()) >= MIN_ALT_WORDS else "")
        if caption:
            out.append(Block(BlockKind.CAPTION, caption))
    elif tag in {"list", "quote", "table", "row", "item", "div"}:
        # Containers: every item, paragraph or row becomes a paragraph of its own.
        if tag == "row":
            cells = [_clean(cell.xpath("string()")) for cell in element if cell.tag == "cell"]
            row = ", ".join(cell for cell in cells if cell)
            if row:
                out.append(Block(BlockKind.PARAGRAPH, row))
            return
        own = _clean((element.text or "") + "".join(_tail_text(child) for child in element))
        if own and tag in {"item", "quote"}:
            out.append(Block(BlockKind.PARAGRAPH, own))
        for child in element:
            _html_blocks(child, out, captions, title)
    elif tag == "code":
        return  # program code is not read aloud
    elif tag:
        text = _clean(element.xpath("string()"))
        if text:
            out.append(Block(BlockKind.PARAGRAPH, text))
        for graphic in element.iter("graphic"):  # an image inside a paragraph follows it, as a caption
            _html_blocks(graphic, out, captions, title)


def _tail_text(child: Any) -> str:
    """The text of an inline child (line break, highlight) and what follows it; nothing for a nested block."""
    if child.tag in {"lb"}:
        return " " + (child.tail or "")
    if child.tag in {"hi", "ref"}:
        return child.xpath("string()") + (child.tail or "")
    return child.tail or ""


def read_url(url: str, *, fmt: InputFormat | None = None, timeout_s: float = FETCH_TIMEOUT_S) -> Article:
    """Fetch ``url`` and read it as a saved page; one clear InputError for anything that is not an article."""
    import http.client
    import urllib.error
    import urllib.request

    from . import __version__

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
    html_types = {"text/html", "application/xhtml+xml"}
    wanted = fmt or (InputFormat.HTML if mime in html_types else None)
    if wanted is None or (wanted is not InputFormat.HTML and not mime.startswith("text/")):
        hint = " (--format text or --format markdown reads it)" if mime.startswith("text/") else ""
        raise InputError(f"is {mime}, not a web page{hint}", url)
    if wanted is InputFormat.HTML:
        page: bytes | str = data
        if charset:  # the server's word on the encoding beats what the page guesses
            try:
                page = data.decode(charset, "replace")
            except LookupError:
                page = data
        return parse_html(page, source=url, fallback_title=_title_from_url(url), url=url)
    return parse_input(data, wanted, source=url, fallback_title=_title_from_url(url))


def _title_from_url(url: str) -> str:
    """
    >>> _title_from_url("https://example.org/news/harbour-ferry.html"), _title_from_url("https://example.org/")
    ('Harbour ferry', 'example.org')
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return _title_from_name(Path(last)) if last else parts.netloc
