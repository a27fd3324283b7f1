"""What every reader shares: input formats, decoding, cleaning block text, and the text hash."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from ..errors import InputError
from ..models import Block

STDIN = "-"
#: Headings that start a chapter; deeper ones are read as a line of their own.
CHAPTER_HEADINGS = frozenset({"h2", "h3"})
#: Format characters never said, which confuse a sentence splitter: soft hyphen, zero-width
#: space, word joiner and its kin, byte order mark.
INVISIBLE = re.compile("[\u00ad\u200b\u2060-\u2064\ufeff]")
#: Characters of scripts written without spaces between words (kana, Han, Thai, Lao, Myanmar, Khmer).
UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
#: A sentence's end in the scripts narrator reads (Latin and CJK full stops), then closing quotes.
SENTENCE_END = re.compile(r"\w[.!?…。！？][\"'”’»)」』）]*$")
#: A block needs this many words (or characters of an unspaced script) to be prose without a full stop.
PROSE_WORDS = 8
PROSE_UNSPACED_CHARS = 20
#: Web addresses, e-mail addresses and paths: never cut, never stripped of markup-looking characters.
ADDRESS = re.compile(
    r"((?:[a-z][a-z0-9+.-]*://|www\.|mailto:)\S+|\S+@\S+\.\w+|(?:\.{0,2}/)?[\w.-]+(?:/[\w.*-]+)+/?)", re.I
)
#: What a picture's credit is called, as captions print it before the name: "Photo: Reuters", "Foto: dpa".
_CREDIT_WORDS = (
    r"(?:photo(?:graph)?|image|picture|pictured|foto|bild|credit|source|quelle|illustration|file photo|video|"
    r"screenshot)s?(?:\s+credits?)?"
)
#: A credit ending a caption: "Photo: Reuters/John Doe", "(c) Getty Images", "Foto: dpa", "Credit: AP", "(Photo by
#: Jane Doe)". "By" and "copyright" start a credit only where a credit can start (the caption's start, a bracket,
#: after a sentence or a separator), not in "Children pose for a picture by the fountain".
CREDIT = re.compile(
    rf"(?:[(\[]?\s*\b{_CREDIT_WORDS}\s*[:/]"
    rf"|(?:^|(?<=[.!?”\"’)|,;–—-]\s)|[(\[]\s*)(?:{_CREDIT_WORDS}\s+(?:by|courtesy)\b|copyright\b)"
    r"|©|\(c\))"
    r"[^()\[\]]{0,100}[)\]]?\s*$",
    re.IGNORECASE,
)
#: A credit that names only a picture agency: "Getty Images/AFP", "Reuters".
AGENCY_ONLY = re.compile(
    r"^(?:getty(?: images)?|afp|ap|reuters|dpa|epa|shutterstock|istock(?:photo)?|imago|picture alliance)"
    r"(?:\s*[/|,]\s*[\w .-]{1,40})?$",
    re.IGNORECASE,
)
#: What follows a caption's last sentence when it names a picture agency: "Mike Blake/Reuters files".
AGENCY_TAIL = re.compile(
    r"(?<=[.!?”\"’)])\s+(?=(?:\S+\s+){0,7}\S+$)[^.!?]{0,60}?"
    r"\b(?:getty(?: images)?|afp|ap|reuters|dpa|epa|shutterstock|istock|imago|picture alliance|associated press|"
    r"keystone|anadolu)\b[^.!?]{0,40}$",
    re.IGNORECASE,
)
#: The label a caption starts with in plain text, where nothing else marks it: "Photo: ", "Image caption: ".
CAPTION_PREFIX = re.compile(r"^(?:image|photo|picture|caption)s?(?:\s+caption)?\s*:\s+", re.IGNORECASE)
#: Plain-text emphasis: ``*word*``, ``**words**``, ``_word_``, ``__words__``, not inside a word.
EMPHASIS = re.compile(r"(?<![\w*])(\*{1,2}|_{1,2})(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![\w*])")


class InputFormat(StrEnum):
    """How an input is read (``--format``)."""

    TEXT = "text"
    MARKDOWN = "markdown"
    HTML = "html"


def read_bytes(path: Path) -> bytes:
    """A file's bytes, or InputError naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not an article", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", path) from exc


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


def clean(text: str) -> str:
    """Whitespace collapsed, NFC, control and invisible format characters gone: how block text is kept.

    >>> clean(" Caf\\u0065\\u0301\\n\\x07 au lait "), clean("Two\\u2060\\u2060 words\\u00ad")
    ('Café au lait', 'Two words')
    """
    text = INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = "".join(ch if unicodedata.category(ch) != "Cc" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def strip_credit(caption: str, *, labelled: bool = True) -> str:
    """A caption without its credit: what is worth saying aloud ("" when only a credit is left).

    The credit ends the caption: in brackets, after a label ("Photo: Reuters/John Doe", "© Getty"),
    or as an agency after its last sentence. A plain text's caption may start with a label too,
    which marks it as a caption and is dropped (``labelled``); in a page the element marks it,
    and "Photo: Jane Roe/AFP" there is only a credit. Every reader's captions go through here.

    >>> strip_credit("Troops on parade (Image: KCNA)"), strip_credit("Caption: Volunteers at work")
    ('Troops on parade', 'Volunteers at work')
    >>> strip_credit("Photo: Reuters/John Doe", labelled=False), strip_credit("Troops. Photo: Jane Roe/AFP")
    ('', 'Troops.')
    >>> strip_credit("Getty Images/AFP"), strip_credit("Children pose for a picture by the fountain")
    ('', 'Children pose for a picture by the fountain')
    """
    text = clean(caption)
    if labelled:
        text = CAPTION_PREFIX.sub("", text)
    for _ in range(2):  # "Caption. Photo: X (c) Y": two credits in a row
        text = CREDIT.sub("", text).strip(" |,;–—-")
        text = AGENCY_TAIL.sub("", text).strip(" |,;–—-")
    return "" if AGENCY_ONLY.match(text) else text


def has_words(blocks: Iterable[Block]) -> bool:
    return any(sayable(b.text) for b in blocks)


def sayable(text: str) -> bool:
    """True when there is something to say: a letter or a digit.

    >>> sayable("___"), sayable("…"), sayable("’"), sayable("5 %")
    (False, False, False, True)
    """
    return any(ch.isalnum() for ch in text)


def is_prose(text: str) -> bool:
    """A sentence or a longer run of words, not a menu's labels, in scripts with spaces and without.

    >>> is_prose("Short text here."), is_prose("Home News Sport"), is_prose("東京都は新しい計画を発表した。")
    (True, False, True)
    """
    return (
        len(text.split()) >= PROSE_WORDS
        or bool(SENTENCE_END.search(text))
        or len(UNSPACED.findall(text)) >= PROSE_UNSPACED_CHARS
    )


def strip_emphasis(text: str) -> str:
    """Text without the ``*``/``_`` markers of plain-text emphasis; web addresses, paths and
    names_with_underscores are left as they are.

    >>> strip_emphasis("Software *not* to get, and __really__ _not_ this: http://x.org/a_b_/*c*")
    'Software not to get, and really not this: http://x.org/a_b_/*c*'
    >>> strip_emphasis("Use my_var_name or *.1 files, 2 * 3 * 4.")
    'Use my_var_name or *.1 files, 2 * 3 * 4.'
    """
    if "*" not in text and "_" not in text:
        return text
    parts = ADDRESS.split(text)
    return "".join(part if i % 2 else EMPHASIS.sub(r"\2", part) for i, part in enumerate(parts))


def describe_skipped(kind: str, lines: int) -> str:
    """What the captions file says was not read.

    >>> describe_skipped("code", 12), describe_skipped("table", 1)
    ('a code block of 12 lines', 'a table of 1 line')
    """
    what = {"code": "a code block", "table": "a table"}.get(kind, kind)
    return f"{what} of {lines} line{'s' if lines != 1 else ''}"


# Article.text_hash identifies the article's text: equal hashes, the same text to narrate.
# A file's text is hashed as it was decoded; a web page's article as it was found in the page,
# so a page saved again with other adverts around it is still the same article.


def hash_text(text: str) -> str:
    """The text hash of a decoded text file (plain text, Markdown)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_content(title: str, byline: str, blocks: Iterable[Block]) -> str:
    """The text hash of an article found in a page: its title, byline and blocks."""
    joined = "\n\n".join([title, byline, *(f"{b.kind.value}: {b.text}" for b in blocks)])
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def title_from_name(path: Path) -> str:
    """A readable title from a file name.

    >>> title_from_name(Path("my-first_article.txt"))
    'My first article'
    """
    stem = re.sub(r"[-_]+", " ", path.stem).strip()
    return stem[:1].upper() + stem[1:] if stem else "Untitled"
