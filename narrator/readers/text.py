"""Plain text: an article copied from a news page, or a README, as it reads.

Plain text has conventions that a reader follows without thinking, and so do
these rules (each tried on real text: the seed, the READMEs that Debian packages
install under /usr/share/doc, see tests/test_text.py):

* the title is the first line underlined with ``===`` or ``---`` near the top,
  else a first line standing alone above a blank line; the file name otherwise;
* a line underlined with ``===`` or ``---`` is a heading; in a text without any,
  a short line without final punctuation between paragraphs is a subheading;
* a line starting with a bullet (``*``, ``-``, ``+``, ``•``) or a number (``1.``,
  ``2)``, ``b)``) is a list item, its wrapped lines with it; a bullet is never said,
  a number stays in the caption;
* ``*emphasis*`` and ``_emphasis_`` lose their markers (never inside a web
  address, a path or a name_with_underscores);
* fenced code blocks, indented blocks that look like code (shell commands, a
  program, columns of numbers) and ASCII tables are not read: the captions file
  says what was skipped;
* a byline (a short line of capitalised names, perhaps after "By", "Von",
  "Par"...) or a dateline ("Published 3 March 2026 · by Lena Park") under the
  title or at the very end gives the author and the date;
* an image caption ends in a credit such as "(Image: KCNA)", or starts "Photo:";
* page chrome such as "Close", "Advertisement" or "Read more: ..." is skipped;
* paragraphs are separated by blank lines (hard-wrapped lines are joined); a
  text without any blank line has one paragraph per line.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError
from ..models import Article, Block, BlockKind
from .base import (
    ADDRESS,
    CAPTION_PREFIX,
    clean,
    decode_text,
    describe_skipped,
    hash_text,
    read_bytes,
    strip_emphasis,
    title_from_name,
)
from .byline import BYLINE, BYLINE_BY, LOCAL_BY, Byline, match_byline, parse_byline, strip_by

__all__ = [
    "BYLINE",
    "BYLINE_BY",
    "LOCAL_BY",
    "is_caption",
    "is_chrome",
    "match_byline",
    "parse_text",
    "read",
    "read_article",
    "strip_by",
]

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
        r"-\*-.*-\*-",  # an editor's mode line: "-*- text -*-"
        r"[\W_]+",
    )
)

#: A line of plain text is a caption when it ends in a bracketed credit ("(Image: KCNA)") or starts with a
#: label (CAPTION_PREFIX); ``base.strip_credit`` takes either off, as it does every reader's captions'.
CAPTION_CREDIT = re.compile(
    r"\((?:image|photo|picture|photograph|credit|source|illustration|file photo|pictured)s?"
    r"(?:\s+credit)?\s*[:/]\s*[^()]{1,80}\)\s*$",
    re.IGNORECASE,
)

SENTENCE_END = re.compile(r"[.!?…:;\"'”’)\]]$")
MAX_HEADING_WORDS = 12
MAX_TITLE_CHARS = 200
#: An underlined title may have this many blocks above it (a note, a mode line, badges).
TITLE_WINDOW = 3
#: Section names that head a part of a text, never the whole: not a title even when underlined first.
SECTION_NAMES = frozenset(
    {"introduction", "overview", "abstract", "summary", "contents", "table of contents", "description"}
    | {"synopsis", "preface", "foreword", "background", "about", "notes", "readme"}
)

#: A setext underline: three or more ``=`` or ``-`` alone on a line.
UNDERLINE = re.compile(r"(=|-)\1{2,}\s*")
#: A code fence: three or more backticks or tildes.
FENCE = re.compile(r"(`{3,}|~{3,})")
#: A list item's marker: a bullet, or a number or letter with a full stop or bracket, then a space.
LIST_MARKER = re.compile(r"(?:[*+•‣◦▪–-]|(?P<label>\(?(?:\d{1,3}|[a-z])[.)]))\s+(?=\S)")
#: A line that reads as code: a shell prompt, an option, a line ending like a statement, operators.
CODE_LINE = re.compile(
    r"^(?:[$#%]\s|>>>\s|\.\.\.\s|[\w.-]+@[\w.-]+[:~]|-{1,2}\w|[{}])"
    r"|[;{}\\]\s*$|\s(?:=|==|->|=>|&&|\|\||::)\s|\w\(.*\)\s*$|^\w[\w.-]*\s+-{1,2}[a-zA-Z]"
)
#: What a line of a command, a listing or a program's output has when CODE_LINE finds nothing. An
#: indented run of short lines is code only with these (a title page, a verse, an address has none).
COMMAND_SIGN = re.compile(
    r"""
    \w=\S                                # an assignment: CC=cc, --prefix=/usr
    | (?:^|[\s"'(\[=:])(?:\.+|~)?/\w     # a path's start: ./configure, .../configure, ~/bin, /usr/bin
    | /[\w.-]+/                          # a path's folder: [4m/usr/share/man
    | \$[A-Za-z_{(]                      # a shell variable or substitution: $HOME/bin, ${x}, $(pwd)
    | ^[a-z]                             # a lower-case first word: make install, cd vcpkg
    | (?:^|\s)(?:--?|\+)[a-z]            # an option: --enable-gdbmi, compress -c, +ssh-rsa
    | </?[A-Za-z][^<>]*>                 # a markup tag: <family>
    | ^\#\w | \w::\w | \w\(              # a directive, a scope, a call: #include, a::b, install(
    | /\* | \*/ | ^//                    # a comment
    | \w_\w | (?:^|\s)_\w                # an identifier: PANGO_GLYPH_EMPTY, _fileno
    | [a-z][A-Z]                         # a name in camel case: XRenderQueryFormats, VerifyHostKeyDNS
    | \w\|\w | \|-- | --\| | ={3}        # alternatives, a diagram's or a log's rule: a|b, |--, ===
    | (?:^|\s)(?:->|=>|<-)(?:\s|$)       # an arrow: -> await-request-response
    | ^\([a-z]{2,}\)(?:\s|$)             # a debugger's prompt: (gdb) thread 2.1
    | \\                                 # an escape: \M-[A, \n
    | [^\s.!?]\ {2,}\S                   # columns: 4     VISUALID     visual-id
    """,
    re.VERBOSE,
)
#: Spaces that separate a table's columns: two or more, not after the end of a sentence.
COLUMN_GAP = re.compile(r"(?<![.!?:;,])\s{2,}(?=\S)")
#: A border line of an ASCII table: "+----+----+", "|----|", "====  ====".
TABLE_BORDER = re.compile(r"[+|]?(?:[-=:]{3,}[+|]|[-=]{3,}\s{2,}[-=]{3,})[-=:+|\s]*")
#: Most characters of a code line are not letters; prose has at least this share of them.
PROSE_LETTERS = 0.6
#: A line of this many words, nearly all letters, is prose whatever code it mentions.
PROSE_LINE_WORDS = 6
PROSE_LINE_LETTERS = 0.8
#: A table's column starts at the same place on this share of its lines.
TABLE_SHARE = 0.6
#: Lines of code are short: fewer words than this on average, where wrapped prose has more.
SHORT_LINE_WORDS = 5


@dataclass
class _Chunk:
    """A piece of the source before it becomes a block: its kind and lines."""

    kind: str
    """"text", "heading" (underlined), "item", "code" or "table"."""
    lines: list[str]
    label: str = ""
    underline: str = ""
    """The heading's underline character."""
    raw: list[str] = field(default_factory=list)
    """The lines as written (for what is skipped)."""

    @property
    def text(self) -> str:
        return " ".join(line.strip() for line in self.lines if line.strip())


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
    chunks = _chunks(text)
    if not chunks:
        raise InputError("is empty", source)

    dropped: list[str] = []
    skipped: list[str] = []
    kept: list[_Chunk] = []
    #: Chrome-looking lines that may be the byline's dateline ("Published 3 March 2026 · by Lena Park").
    datelines: list[_Chunk] = []
    for index, chunk in enumerate(chunks):
        if chunk.kind in {"code", "table"}:
            dropped.append("\n".join(line.rstrip() for line in chunk.raw))
            skipped.append(describe_skipped(chunk.kind, len(chunk.raw)))
        elif chunk.kind in {"text", "item"} and is_chrome(chunk.text):
            if chunk.kind == "text" and index < TITLE_WINDOW and _byline(chunk.text) is not None:
                datelines.append(chunk)
                kept.append(chunk)
            else:
                dropped.append(chunk.text)
        else:
            kept.append(chunk)

    title = _take_title(kept)
    byline = credit = date = ""
    for index in (0, -1):  # a byline stands right under the title or at the very end
        if kept and not byline and kept[index].kind == "text" and (len(kept) > 1 or index == 0):
            found = _byline(kept[index].text)
            if found is not None:
                byline, credit, date = found.name, found.credit, found.date
                kept.pop(index)
    for chunk in datelines:
        if chunk in kept:  # not the byline after all: chrome
            kept.remove(chunk)
            dropped.append(chunk.text)
    marked = any(chunk.kind == "heading" for chunk in kept)
    blocks = tuple(_classify(chunk, kept, i, marked) for i, chunk in enumerate(kept))
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
        date=date,
        marked_headings=marked,
        credit=credit,
        skipped=_merge_skipped(chunks, skipped),
    )


def _byline(line: str) -> Byline | None:
    """The line's byline or dateline (see ``byline.parse_byline``), else None."""
    return parse_byline(line) if line and "\n" not in line else None


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


def is_caption(block: str) -> bool:
    """True for an image caption: ends in a credit like "(Image: KCNA)" or starts "Photo:".

    >>> is_caption("Troops on parade (Image: KCNA)"), is_caption("Troops on parade.")
    (True, False)
    """
    return bool(CAPTION_CREDIT.search(block) or CAPTION_PREFIX.match(block))


# --- the source, line by line ------------------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _base_indent(lines: list[str]) -> int:
    """How far the text's prose is indented: the usual indentation of lines of several words."""
    counts = Counter(_indent(line) for line in lines if len(line.split()) >= 4 and not CODE_LINE.search(line.strip()))
    return min(counts, key=lambda n: (-counts[n], n)) if counts else 0


def _chunks(text: str) -> list[_Chunk]:
    """The source cut into chunks: fenced code, then groups of lines between blank lines, each cut
    further into headings, list items, code, tables and paragraphs."""
    lines = [line.expandtabs(8).rstrip().replace("\u00a0", " ") for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    if not lines:
        return []
    base = _base_indent(lines)
    blank_separated = any(not line.strip() for line in lines) or len(lines) < 2
    chunks: list[_Chunk] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        fence = FENCE.match(lines[i].strip())
        if fence:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence.group(1))), len(lines))
            raw = lines[i + 1 : end]
            chunks.append(_Chunk("code", raw, raw=raw or [""]))
            i = end + 1
            continue
        group: list[str] = []
        while i < len(lines) and lines[i].strip() and not FENCE.match(lines[i].strip()):
            group.append(lines[i])
            i += 1
        if blank_separated:
            chunks.extend(_split_group(group, base, previous=chunks[-1] if chunks else None))
        else:  # a text without blank lines: one paragraph per line
            chunks.extend(_split_group([line], base, one_per_line=True)[0] for line in group)
    return chunks


def _has_code_sign(line: str) -> bool:
    """Whether one line (stripped) of an indented run shows a sign of code: what CODE_LINE or
    COMMAND_SIGN find ("make install", "CC=cc ./configure"), only addresses and paths, or more
    symbols than prose has. Digits are no sign: an address has its postcode, a title page its date."""
    if CODE_LINE.search(line) or COMMAND_SIGN.search(line):
        return True
    words = LIST_MARKER.sub("", line, count=1).split()  # "* https://..." lists only addresses
    if words and all(ADDRESS.fullmatch(word) for word in words):
        return True
    return sum(ch.isalnum() or ch.isspace() for ch in line) < PROSE_LETTERS * len(line)


def _code_like(lines: list[str]) -> bool:
    """Whether lines read as code or program output rather than prose: most of them have code's signs."""
    signs = 0
    for line in (line.strip() for line in lines):
        letters = sum(ch.isalpha() or ch.isspace() for ch in line)
        if len(line.split()) >= PROSE_LINE_WORDS and letters >= PROSE_LINE_LETTERS * len(line):
            continue  # a line of prose that happens to mention "gzip -l" or end in ";"
        signs += bool(CODE_LINE.search(line)) or letters < PROSE_LETTERS * len(line)
    # A shell prompt starts a command and its output, however wordy the output.
    prompt = any(re.match(r"[$#%]\s|>>>\s", line.strip()) for line in lines)
    return prompt or signs * 2 >= len(lines)


def _is_table(lines: list[str]) -> bool:
    """An ASCII table: border lines, or two or more lines whose columns start at the same places."""
    if sum(bool(TABLE_BORDER.fullmatch(line.strip())) for line in lines) >= 1 and len(lines) >= 2:
        return True
    if len(lines) < 2 or sum(bool(LIST_MARKER.match(line.strip())) for line in lines) * 2 >= len(lines):
        return False  # a list whose markers are followed by two spaces: "*  Can produce speech"
    starts = [{m.end() for m in COLUMN_GAP.finditer(line) if m.start() > 0} for line in lines]
    with_gaps = [s for s in starts if s]
    if len(with_gaps) < 2 or len(with_gaps) * 2 < len(lines):
        return False
    # Justified prose has gaps too, at columns that differ from line to line: a table's columns
    # start at the same place on most of its lines.
    shared = Counter(col for s in with_gaps for col in s)
    return max(shared.values()) >= max(2, TABLE_SHARE * len(with_gaps))


def _split_group(
    group: list[str], base: int, *, one_per_line: bool = False, previous: _Chunk | None = None
) -> list[_Chunk]:
    """One group of lines (between blank lines) as chunks; ``previous`` is the chunk before the group."""
    if _is_table(group) and len(group) >= 2:
        return [_Chunk("table", group, raw=group)]
    out: list[_Chunk] = []
    k = 0
    while k < len(group):
        line = group[k]
        stripped = line.strip()
        indent = _indent(line)
        following = group[k + 1].strip() if k + 1 < len(group) else ""
        if UNDERLINE.fullmatch(following) and indent <= base + 3 and not UNDERLINE.fullmatch(stripped):
            out.append(_Chunk("heading", [stripped], underline=following[0], raw=[line]))
            k += 2
            continue
        if UNDERLINE.fullmatch(stripped) or TABLE_BORDER.fullmatch(stripped):
            out.append(_Chunk("text", [stripped], raw=[line]))  # a rule between parts: chrome
            k += 1
            continue
        marker = LIST_MARKER.match(stripped) if indent <= base + 3 else None
        if marker:
            column = indent + marker.end()
            item = [stripped[marker.end() :]]
            k += 1
            while k < len(group) and not one_per_line:
                nxt = group[k]
                if LIST_MARKER.match(nxt.strip()) and _indent(nxt) < column:
                    break
                if _indent(nxt) >= column + 4 or UNDERLINE.fullmatch(nxt.strip()):
                    break  # code inside the item, or a heading's underline
                item.append(nxt.strip())
                k += 1
            label = marker.group("label") or ""
            text = " ".join([label, *item]) if label else " ".join(item)
            out.append(_Chunk("item", [text], label=label, raw=group[k - len(item) : k]))
            continue
        if indent > base:
            run = []
            while (
                k < len(group)
                and _indent(group[k]) > base
                and not (LIST_MARKER.match(group[k].strip()) and _indent(group[k]) <= base + 3)
            ):
                run.append(group[k])
                k += 1
            continued = previous is not None and previous.kind == "code" and not out
            if _is_table(run):
                out.append(_Chunk("table", run, raw=run))
                continue
            if _is_code(run, base, after_code=continued):
                out.append(_Chunk("code", run, raw=run))
                continue
            if LIST_MARKER.match(run[0].strip()):  # a list indented further than the prose: its items
                out.extend(_split_group(run, min(map(_indent, run)), one_per_line=one_per_line))
                continue
            if len(run) > 1 or k == len(group):
                out.append(_Chunk("text", [x.strip() for x in run], raw=run))  # an indented paragraph, a quote
                continue
            k -= 1  # a paragraph whose first line is indented: read on below
            stripped = run[0].strip()
        paragraph = [stripped]
        k += 1
        while k < len(group) and not one_per_line:
            nxt = group[k]
            after = group[k + 1].strip() if k + 1 < len(group) else ""
            if (
                LIST_MARKER.match(nxt.strip())
                or UNDERLINE.fullmatch(after)
                or UNDERLINE.fullmatch(nxt.strip())
                or (_indent(nxt) > base and (_indent(nxt) >= base + 4 or _code_like([nxt])))
                or is_chrome(nxt)
                or is_chrome(paragraph[-1])
            ):
                break
            paragraph.append(nxt.strip())
            k += 1
        out.append(_Chunk("text", paragraph, raw=group[k - len(paragraph) : k]))
    return out


def _is_code(run: list[str], base: int, *, after_code: bool) -> bool:
    """Whether an indented run of lines is code: it reads as code, or it is indented like a Markdown
    code block (four spaces more than the prose) and made of short lines that no sentence ends
    ("./configure --prefix=/usr", "$HOME/bin"), or it goes on with the code block just before it;
    either way with a sign of code on one of its lines at least (``_has_code_sign``). A title page,
    a verse, an address is indented and short-lined too, but has none: "Advanced Bash-Scripting Guide"."""
    if _code_like(run):
        return True
    text = " ".join(line.strip() for line in run)
    sentence = bool(re.search(r"[.!?:]$", text))
    short_lines = len(text.split()) < SHORT_LINE_WORDS * len(run)
    signs = any(_has_code_sign(line.strip()) for line in run)
    return not sentence and signs and (after_code or (min(map(_indent, run)) >= base + 4 and short_lines))


def _merge_skipped(chunks: list[_Chunk], skipped: list[str]) -> tuple[str, ...]:
    """What was skipped, code blocks separated only by blank lines counted as one."""
    merged: list[tuple[str, int]] = []
    previous = ""
    for chunk in chunks:
        if chunk.kind in {"code", "table"}:
            if previous == chunk.kind == "code" and merged:
                merged[-1] = (chunk.kind, merged[-1][1] + len(chunk.raw))
            else:
                merged.append((chunk.kind, len(chunk.raw)))
        previous = chunk.kind
    return tuple(describe_skipped(kind, count) for kind, count in merged) if skipped else ()


# --- title and blocks -----------------------------------------------------------------------


def _take_title(kept: list[_Chunk]) -> str:
    """Remove the title's chunk from ``kept`` and return its text ("" when there is none).

    A first line standing alone is the title; else the first underlined line within the first
    few chunks, unless it only names a section ("Introduction")."""
    if not kept:
        return ""
    first = kept[0]
    # A title wrapped over two lines is still a title; a wrapped paragraph ends in a full stop.
    standing = len(first.lines) == 1 or not re.search(r"[.!?]$", first.text)
    if first.kind == "heading" or (first.kind == "text" and standing and _looks_like_title(first.text)):
        kept.pop(0)
        return strip_emphasis(first.text)
    for index, chunk in enumerate(kept[:TITLE_WINDOW]):
        if chunk.kind == "heading":
            if chunk.text.casefold().rstrip(":") in SECTION_NAMES:
                return ""
            kept.pop(index)
            return strip_emphasis(chunk.text)
    return ""


def _looks_like_title(block: str) -> bool:
    words = block.split()
    return (
        0 < len(block) <= MAX_TITLE_CHARS
        and len(words) <= 30
        and not is_caption(block)
        and not LIST_MARKER.match(block)
        and parse_byline(block) is None
    )


def _classify(chunk: _Chunk, chunks: list[_Chunk], index: int, marked: bool) -> Block:
    text = clean(strip_emphasis(chunk.text))
    if chunk.kind == "heading":
        return Block(BlockKind.HEADING, text)
    if chunk.kind == "item":
        return Block(BlockKind.ITEM, text, label=chunk.label)
    if is_caption(text):
        return Block(BlockKind.CAPTION, text)
    words = text.split()
    is_last = index == len(chunks) - 1
    if (
        not marked
        and not is_last
        and len(words) <= MAX_HEADING_WORDS
        and not SENTENCE_END.search(text)
        and text[0].isalnum()
    ):
        return Block(BlockKind.HEADING, text)
    return Block(BlockKind.PARAGRAPH, text)


def read(data: bytes, *, source: str, fallback_title: str = "Untitled") -> Article:
    """A plain-text input: the rules above; it declares no language (the pipeline detects it)."""
    article = parse_text(decode_text(data, source), source=source, fallback_title=fallback_title)
    return replace(article, language="", byline=strip_by(article.byline))
