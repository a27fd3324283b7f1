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
    """Whitespace collapsed, NFC, control characters gone: how block text is kept.

    >>> clean(" Caf\\u0065\\u0301\\n\\x07 au lait ")
    'Café au lait'
    """
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if unicodedata.category(ch) != "Cc" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def has_words(blocks: Iterable[Block]) -> bool:
    return any(any(ch.isalnum() for ch in b.text) for b in blocks)


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
