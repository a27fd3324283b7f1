"""Saved web pages: trafilatura finds the article among the page's chrome; headings and figures are kept."""

from __future__ import annotations

import re
from typing import Any

from ..errors import InputError
from ..language import normalize_tag
from ..models import Article, Block, BlockKind
from .base import CHAPTER_HEADINGS, clean, hash_content
from .text import is_chrome

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
    title = clean(getattr(document, "title", None) or "")
    author = getattr(document, "author", None) or ""
    byline = " and ".join(clean(name) for name in author.split(";") if name.strip())
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
        text_hash=hash_content(title, byline, kept),
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
            found.append(clean(element.text_content()))
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
        text = clean(caption.text_content()) if caption is not None else ""
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
        text = clean(element.xpath("string()"))
        rend = (element.get("rend") or "h2").lower()
        if not text or (rend == "h1" and text.casefold() == title.casefold()):
            return
        kind = BlockKind.HEADING if rend in {"h1", *CHAPTER_HEADINGS} else BlockKind.PARAGRAPH
        out.append(Block(kind, text))
    elif tag == "graphic":
        src = element.get("src") or ""
        alt = clean(element.get("alt") or element.get("title") or "")
        caption = captions.get(src) or (alt if len(alt.split()) >= MIN_ALT_WORDS else "")
        if caption:
            out.append(Block(BlockKind.CAPTION, caption))
    elif tag in {"list", "quote", "table", "row", "item", "div"}:
        # Containers: every item, paragraph or row becomes a paragraph of its own.
        if tag == "row":
            cells = [clean(cell.xpath("string()")) for cell in element if cell.tag == "cell"]
            row = ", ".join(cell for cell in cells if cell)
            if row:
                out.append(Block(BlockKind.PARAGRAPH, row))
            return
        own = clean((element.text or "") + "".join(_tail_text(child) for child in element))
        if own and tag in {"item", "quote"}:
            out.append(Block(BlockKind.PARAGRAPH, own))
        for child in element:
            _html_blocks(child, out, captions, title)
    elif tag == "code":
        return  # program code is not read aloud
    elif tag:
        text = clean(element.xpath("string()"))
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


def read(data: bytes, *, source: str, fallback_title: str = "Untitled") -> Article:
    """A saved web page."""
    return parse_html(data, source=source, fallback_title=fallback_title)
