"""Markdown (markdown-it-py, CommonMark with front matter, tables and footnotes), read as its rendered page."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from ..errors import InputError
from ..language import normalize_tag
from ..models import Article, Block, BlockKind
from .base import CHAPTER_HEADINGS, clean, decode_text, describe_skipped, has_words, hash_text
from .byline import Byline, parse_byline


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
    or ``###`` heading starts a chapter; a byline or dateline under the title ("By
    NAME", "Von NAME", "*Published 3 March 2026* · by **NAME**") or front matter
    ``author`` and ``date`` give the author and the date; ``lang`` in front matter
    is the language. Links read as their text, images as captions of their alt
    text, list items as items (an ordered list's numbers kept), table rows as
    paragraphs of their own. Code blocks, raw HTML blocks, footnotes, struck-out
    text and rows of badge images are left out (listed in ``dropped``; code blocks
    also in ``skipped``, for the captions file).
    """
    text_hash = hash_text(text)
    tokens = _markdown().parse(unicodedata.normalize("NFC", text).replace("\r\n", "\n"))
    meta: dict[str, str] = {}
    title = ""
    blocks: list[Block] = []
    dropped: list[str] = []
    cells: list[str] = []
    skipped: list[str] = []
    printed: Byline | None = None
    #: The open list items, innermost last: [label, paragraphs read so far].
    items: list[list[Any]] = []
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
        elif kind == "list_item_open":
            label = f"{token.info}{token.markup}" if token.info else ""
            items.append([label, 0])
        elif kind == "list_item_close":
            items.pop()
        elif kind in {"fence", "code_block"}:
            code = token.content.rstrip("\n")
            dropped.append(code)
            if code.strip():
                skipped.append(describe_skipped("code", len(code.splitlines())))
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
                found = parse_byline(said) if after_title and printed is None and not items else None
                # A name alone may be a title-cased phrase ("Quick Start Guide"): it needs "By" or a date.
                if found is not None and (found.credit or found.date):
                    printed = found  # "By NAME", "Von NAME", "*Published 3 March 2026* · by **NAME**"
                elif said and items:
                    label = items[-1][0] if not items[-1][1] else ""
                    items[-1][1] += 1
                    blocks.append(Block(BlockKind.ITEM, f"{label} {said}" if label else said, label=label))
                elif said:
                    blocks.append(Block(BlockKind.PARAGRAPH, said))
                blocks.extend(Block(BlockKind.CAPTION, alt) for alt in images)
                after_title = False
    title = title or meta.get("title", "")
    byline = meta.get("author", "") or (printed.name if printed else "")
    credit = printed.credit if printed and printed.name and printed.name == byline else ""
    if not has_words(blocks):
        raise InputError("has no words to narrate", source)
    return Article(
        source=source,
        title=title or fallback_title,
        byline=byline,
        blocks=tuple(blocks),
        dropped=tuple(d for d in dropped if d),
        text_hash=text_hash,
        language=normalize_tag(meta.get("lang", "")),
        date=meta.get("date", "") or (printed.date if printed else ""),
        marked_headings=True,
        credit=credit,
        skipped=tuple(skipped),
    )


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
            alt = clean(child.content)
            if alt:
                (badges if in_link else images).append(alt)
        # html_inline tags, emphasis markers and footnote references are never said.
    said = clean("".join(words))
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
        items = [clean(item) for item in items if item.strip()]
        if items and field not in found:
            found[field] = " and ".join(items) if field == "author" else items[0]
    return found


def read(data: bytes, *, source: str, fallback_title: str = "Untitled") -> Article:
    """A Markdown input."""
    return parse_markdown(decode_text(data, source), source=source, fallback_title=fallback_title)
