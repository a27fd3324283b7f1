"""Plain text: an article copied from a news page, as it reads.

Plain text copied from a news page has a recognisable shape: the headline on the
first line, sometimes an image caption ending in a credit such as "(Image: KCNA)",
paragraphs separated by blank lines, a byline as a short line of capitalised
names (before or after the body), and page chrome such as "Close", "Advertisement"
or "Read more: ..." that a reader skips. The rules below describe that shape in
general terms; they are tested on several articles, not only the seed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from ..models import Article, Block, BlockKind
from .base import decode_text, hash_text, read_bytes, title_from_name

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
    return parse_text(decode_text(read_bytes(path), path), source=str(path), fallback_title=title_from_name(path))


def parse_text(text: str, *, source: str, fallback_title: str = "Untitled") -> Article:
    """Turn plain text into an Article (see the module docstring for the rules)."""
    text_hash = hash_text(text)
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


#: "By" in the languages narrator has announcements for (lexicon.py), as bylines begin.
LOCAL_BY = re.compile(r"(?:von|par|por|door|di|av|af)\s+", re.IGNORECASE)


def strip_by(byline: str) -> str:
    """A byline without the word for "by" in another language, which the plain-text rules keep.

    Only when a name of two words or more is left: "Von Miller" may be a name.

    >>> strip_by("Von Jana Schröder"), strip_by("Par Claire Martin"), strip_by("Von Miller")
    ('Jana Schröder', 'Claire Martin', 'Von Miller')
    """
    found = LOCAL_BY.match(byline)
    rest = byline[found.end() :] if found else ""
    return rest if len(rest.split()) >= 2 and match_byline(rest) == rest else byline


def read(data: bytes, *, source: str, fallback_title: str = "Untitled") -> Article:
    """A plain-text input: the rules above; it declares no language (the pipeline detects it)."""
    article = parse_text(decode_text(data, source), source=source, fallback_title=fallback_title)
    return replace(article, language="", byline=strip_by(article.byline))
