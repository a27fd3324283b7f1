"""Saved web pages: trafilatura finds the article among the page's chrome; headings, lists and figures are kept.

trafilatura (precision mode) finds the article, on a copy of the page prepared
so that its structure survives:

* containers that page templates name for comments, "related" links, sharing,
  newsletters or donations are removed first, unless they hold the page's h1,
  its ``<article>`` or most of its text (a whole page inside one ``<form>`` or
  ``<aside>`` stays, and is read);
* what balanced mode finds *inside* the article that precision mode found
  (interview questions, short paragraphs) is added, not what it adds around it;
* a page without an article container (``<article>``, ``<main>``, a
  ``post-content`` div...) sends trafilatura to its "wild text" recovery, which
  keeps paragraphs but drops every heading and list (the espeak-ng README lost
  its four h2 chapters and its 8-item list that way): such a page is extracted
  again with its body wrapped in ``<main>``, kept when it holds the first result
  and adds only its structure.

Images and links are never asked for: asking for either changes which part of
the page trafilatura 2.3 takes for the article (mean F1 0.965 -> 0.916 and 0.943
on the test pages, see bench/extract_f1.py). Figure captions are put back from
the page itself, between the two paragraphs around the figure, without their
credits; alt texts that label ("print header logo") are not read.

h2 and h3 start chapters, list items are items (an ``<ol>``'s numbered), lines
that a ``<br>`` separates are paragraphs of their own, program code is skipped
(and noted in the captions file). The title is said once: a ``<title>``'s site
suffix ("Storm hits coast - Daily Bugle" over an h1 "Storm hits coast") is left
out, and a first block repeating the title is not read. The page's declared
language is checked against its text (CLD3): when they clearly disagree, the
text wins.
"""

from __future__ import annotations

import copy
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..language import normalize_tag
from ..models import Article, Block, BlockKind
from .base import (
    CHAPTER_HEADINGS,
    SENTENCE_END,
    UNSPACED,
    clean,
    describe_skipped,
    hash_content,
    is_prose,
    sayable,
    strip_credit,
)
from .byline import parse_byline
from .text import CHROME_PATTERNS

#: Alt text shorter than this is a label ("logo", "photo"), not a description worth reading.
MIN_ALT_WORDS = 3
#: A line naming the author among a page's first blocks is its byline, already kept as the author.
BYLINE_WINDOW = 4
#: Declared and detected languages must differ with at least this confidence before the text wins.
LANGUAGE_OVERRIDE_CONFIDENCE = 0.9
#: Letters the text needs before its language is checked against the declared one.
LANGUAGE_MIN_LETTERS = 120
#: A block is a link's when links' text makes up this share of it.
LINKED_SHARE = 0.7
#: Links' texts shorter than this (squashed) count for nothing in that share.
LINK_KEY = 4
#: The re-extraction with <main> is kept when at most this much longer than the first (plus its new structure).
STRUCTURE_GROWTH = 1.6
#: What balanced mode's body must keep of precision mode's words to be used.
INTERIOR_KEEPS = 0.98
#: What the re-extraction with <main> must keep of the first result's words.
RETRY_KEEPS = 0.95
#: Words the re-extraction may add around the first result that would be read.
RETRY_OUTSIDE_WORDS = 10
#: A container named like chrome is removed only when it holds less than this share of the page's text.
CHROME_CONTAINER_SHARE = 0.4

#: Class or id words that page templates give to things around an article (matched as whole words).
CHROME_CONTAINER = re.compile(
    r"(?:^|[\s_-])(?:comments?|comment-?form|respond|disqus|related|recirc|recirculation|more-stories|"
    r"share|sharing|social|newsletter|subscribe|promo|sponsored|outbrain|"
    r"taboola|plista|support-pay|donate|cookie|breadcrumbs?)(?:$|[\s_-])",
    re.IGNORECASE,
)
#: Class or id words for an article's lead paragraph (standfirst), which trafilatura often leaves out.
LEAD_CONTAINER = re.compile(
    r"(?:^|[\s_-])(?:lead|standfirst|intro|summary|subtitle|subheadline|dek|deck|excerpt|abstract|teaser|"
    r"sapo|chapo)(?:$|[\s_-])",
    re.IGNORECASE,
)
#: What a lead may hold: text and inline markup, not headings, images or blocks of its own.
LEAD_INLINE = frozenset({"p", "span", "strong", "em", "b", "i", "br", "a", "abbr", "q", "sup", "sub"})
#: Landmarks that are page furniture, as tags and ARIA roles.
#: Elements that may be removed for their class or id: containers, never paragraphs or headings.
CONTAINER_TAGS = frozenset({"div", "section", "aside", "ul", "ol", "form", "footer", "nav", "span", "figure"})
CHROME_TAGS = frozenset({"nav", "footer", "aside", "form", "menu"})
CHROME_ROLES = frozenset({"navigation", "contentinfo", "complementary", "search", "banner"})

#: Whole blocks that are page furniture: the plain-text reader's, adverts and "further reading" and
#: tag lines in the languages narrator reads.
CHROME_LINE = (
    *CHROME_PATTERNS,
    *(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"anzeige|werbung|publicidad|publicité",
            r"(weiterführende[rn]? )?links?|mehr zum thema|lesen sie (auch|mehr)\b.*"
            r"|das könnte sie auch interessieren.*"
            r"|siehe auch\b.*|weiterlesen|more on this( story)?|further reading|see also\b.*"
            r"|(à )?lire aussi\b.*|voir aussi\b.*|lee también\b.*|leer más|ver también\b.*|leggi anche\b.*"
            r"|(tags?|schlagw[oö]rte?r?|stichw[oö]rte?r?|themen|topics|mots-clés|etiquetas)\s*:.*",
        )
    ),
)
COPYRIGHT = re.compile(r"©|\(c\)\s*\d{4}|\ball rights reserved\b|\balle rechte vorbehalten\b", re.IGNORECASE)
MAX_COPYRIGHT_CHARS = 200

#: Alt texts that label a picture rather than describe it.
ALT_LABEL = re.compile(
    r"\b(?:logo|icon|avatar|banner|header|footer|placeholder|spacer|pixel|thumbnail|button|badge|sprite)s?\b"
    r"|\.(?:jpe?g|png|gif|webp|svg)\b",
    re.IGNORECASE,
)
#: Typographic quotation marks and their plain forms.
QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
#: A title that is only a web address.
DOMAIN = re.compile(r"(?:www\.)?[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
#: A page's <title> often ends in its site's name after one of these (in Chinese and Japanese, a
#: dash with no space: "…需求-新华网").
TITLE_SEPARATOR = re.compile(r"\s+[-–—|:·•»]\s+|\s*[|·•»_]\s*|[-–—_](?=[\u3000-\u9fff\uac00-\ud7af])")


def is_chrome_line(text: str) -> bool:
    """True for a whole block of page furniture: "Share", "Read more: ...", "© 2013 CNN. All rights reserved."

    >>> is_chrome_line("Advertisement"), is_chrome_line("™ & © 2013 Cable News Network, Inc.")
    (True, True)
    >>> is_chrome_line("Close the door."), is_chrome_line("Tags: Barbour, Ostsee")
    (False, True)
    """
    line = text.strip()
    if len(line) <= MAX_COPYRIGHT_CHARS and COPYRIGHT.search(line):
        return True
    if len(line) > 160:
        return False
    if len(line.split()) >= 4 and re.search(r"[.!?…][\"'”’)]*$", line):
        return False  # a full sentence is the article's, even when it starts like chrome
    return any(p.fullmatch(line) for p in CHROME_LINE)


def caption_text(caption: str) -> str:
    """A caption without its credit: what is worth saying; "" when only a credit or a label is left.

    >>> caption_text("Troops on parade. Photo: Reuters/John Doe")
    'Troops on parade.'
    >>> caption_text("(c) Getty Images"), caption_text("Getty Images/AFP"), caption_text("print header logo")
    ('', '', '')
    >>> caption_text("Justices pose for a photo. Olivier Douliery/AFP/Getty Images")
    'Justices pose for a photo.'
    >>> caption_text("AP reporters met the chief in Rome. He praised them.")
    'AP reporters met the chief in Rome. He praised them.'

    """
    text = strip_credit(caption, labelled=False)
    if not text or ALT_LABEL.search(text) or len(text.split()) < MIN_ALT_WORDS:
        return ""
    return text


def _tag(element: Any) -> str:
    return element.tag if isinstance(element.tag, str) else ""


def _holds_article(element: Any) -> bool:
    """True when a landmark holds the article itself (a page inside one <form>, an article in an <aside>)."""
    return any(_tag(e) in {"h1", "article", "main"} for e in element.iter())


def chrome_texts(tree: Any) -> list[str]:
    """The text of the page's navigation, footers, sidebars and forms, less those holding the article."""
    found = []
    for element in tree.iter():
        tag = _tag(element)
        landmark = tag in CHROME_TAGS or (element.get("role") or "") in CHROME_ROLES
        if landmark and not _holds_article(element):
            found.append(clean(element.text_content()))
    return found


def page_language(tree: Any) -> str:
    """The page's declared language: ``<html lang>``, else xml:lang, Content-Language or og:locale; "" when none."""
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


def choose_language(declared: str, text: str) -> str:
    """The declared language, unless the text is clearly in another one.

    >>> choose_language("de", "The council met on Tuesday and agreed to repair the old bridge before winter. " * 4)
    'en'
    >>> choose_language("en-GB", "The council met on Tuesday and agreed to repair the old bridge before winter. " * 4)
    'en-GB'
    """
    from ..language import detect_language, primary

    if not declared or sum(ch.isalpha() for ch in text[:4000]) < LANGUAGE_MIN_LETTERS:
        return declared  # an undeclared page's language is detected with the other inputs' (readers.read)
    detected = detect_language(text, fallback="", min_confidence=LANGUAGE_OVERRIDE_CONFIDENCE)
    same = not detected or primary(declared) == primary(detected) or {primary(declared), detected} <= {"no", "nb", "nn"}
    return declared if same else detected


def choose_title(
    candidates: Iterable[str], h1s: list[str], site: str, lead_heading: str = "", article_h1: str = ""
) -> str:
    """The article's title, said once, without the site's name.

    ``candidates`` are the metadata's title and the <title>; ``h1s`` the page's h1s;
    ``lead_heading`` a heading that opens the article; ``article_h1`` an h1 inside it. An h1
    or heading that a <title> holds plus a site's name wins (the longest, when several do);
    a title that only names the site gives way to the article's h1 or opening heading.

    >>> choose_title(["Storm hits coast - Daily Bugle"], ["Storm hits coast"], "")
    'Storm hits coast'
    >>> choose_title(["Daily Bugle | Storm hits coast"], ["Daily Bugle", "Storm hits coast"], "")
    'Storm hits coast'
    >>> choose_title(["Storm hits coast | Bugle"], [], "Bugle"), choose_title(["Q&A: a life at sea"], [], "")
    ('Storm hits coast', 'Q&A: a life at sea')
    >>> choose_title(["Gendersprache » SciLogs - Blogs"], [], "SciLogs - Blogs")
    'Gendersprache'
    >>> choose_title(["The Blog", "Leader spotlight | The Blog"], ["The Blog", "Leader spotlight"], "The Blog")
    'Leader spotlight'
    >>> choose_title(["Internet-Law"], ["Internet-Law"], "internet-law.de", "Is the ban on pseudonyms lawful?")
    'Is the ban on pseudonyms lawful?'
    >>> choose_title(["The GitHub Blog"], ["The GitHub Blog"], "The GitHub Blog", article_h1="Leader spotlight")
    'Leader spotlight'
    """
    titles = [clean(t) for t in candidates if t and clean(t)]
    # trafilatura names the site after the title when the page names none: then the name says nothing.
    site_is_title = bool(titles) and same_text(site, titles[0])
    named = "" if site_is_title else site
    headings = [h for h in (clean(h) for h in [article_h1, *h1s]) if h and not _names_site(h, named)]
    held = [
        heading
        for heading in [*headings, clean(lead_heading)]
        if heading and any(same_text(title, heading) or _is_affixed(title, heading) for title in titles)
    ]
    if site_is_title and article_h1 and clean(article_h1) not in held:
        return clean(article_h1)  # the "title" is the site's name: the article's own h1 is its title
    if held:
        return max(held, key=len)  # "Daily Bugle | Storm hits coast" holds both: the headline is longer
    if not titles or _names_site(titles[0], named) or (site_is_title and article_h1):
        fallback = clean(article_h1) or clean(lead_heading) or (headings[0] if headings else "")
        return fallback or (titles[0] if titles else "")
    title = titles[0]
    if site and not same_text(title, site):
        folded, name = title.casefold(), site.casefold()
        if folded.endswith(name) and _is_affixed(title, title[: len(title) - len(site)].rstrip(" -–—|:·•»")):
            return clean(title[: len(title) - len(site)]).rstrip(" -–—|:·•»")
        if folded.startswith(name) and _is_affixed(title, title[len(site) :].lstrip(" -–—|:·•»")):
            return clean(title[len(site) :]).lstrip(" -–—|:·•»")
    return title


def _names_site(text: str, site: str) -> bool:
    """Whether ``text`` is the site's name or address rather than an article's title.

    >>> _names_site("Internet-Law", "internet-law.de"), _names_site("iloveponysmag.com", "")
    (True, True)
    """
    if DOMAIN.fullmatch(text):
        return True
    mine, theirs = _squash(text), _squash(site)
    return bool(mine and theirs) and (theirs.startswith(mine) or mine.startswith(theirs))


def _is_affixed(title: str, core: str) -> bool:
    """Whether ``title`` is ``core`` with something added after or before one separator ("core - Site").

    >>> _is_affixed("Storm - Bugle", "Storm"), _is_affixed("Stormy weather", "Storm")
    (True, False)
    """
    folded, want = _fold_quotes(title).casefold(), _fold_quotes(core).casefold()
    added = len(title) - len(core)
    if added <= 0 or len(core) < 0.25 * (added - 3):
        return False  # what is added is the site's name, not much longer than the headline
    if folded.startswith(want):
        return bool(TITLE_SEPARATOR.match(title[len(core) :]))
    if folded.endswith(want):
        rest = title[: len(title) - len(core)]
        return any(m.end() == len(rest) for m in TITLE_SEPARATOR.finditer(rest))
    return False


def _fold_quotes(text: str) -> str:
    """Typographic quotes as plain ones, so a <title> and its h1 compare equal."""
    return text.translate(QUOTES)


def same_text(a: str, b: str) -> bool:
    """Equal once case, spacing and punctuation are set aside."""
    squash = re.compile(r"\W+")
    return bool(a) and squash.sub("", a.casefold()) == squash.sub("", b.casefold())


def _squash(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def figure_anchors(tree: Any) -> list[tuple[str, str, str]]:
    """(the text just before a figure, its caption, the text just after it) for each captioned
    figure outside page furniture, texts squashed (see ``_squash``).

    trafilatura keeps a figure's image only when asked for images, and asking changes what it
    takes for the article; so captions are put back between the blocks that surround them.
    """
    events: list[tuple[str, str]] = []
    for element in tree.iter():
        tag = _tag(element)
        if tag == "figure":
            if any(_is_furniture(a) for a in element.iterancestors()):
                continue
            caption = next(iter(element.iter("figcaption")), None)
            text = clean(caption.text_content()) if caption is not None else ""
            if not text:
                text = next((clean(i.get("alt") or "") for i in element.iter("img") if i.get("alt")), "")
            if text and not any(_tag(a) == "a" for a in element.iter()):  # a linked figure is a teaser
                events.append(("figure", text))
        elif tag in {"p", "h1", "h2", "h3", "h4", "li", "blockquote"} and not any(
            _tag(a) == "figure" for a in element.iterancestors()
        ):
            said = _squash(element.text_content())
            if len(said) >= 12:
                events.append(("text", said))
    anchors = []
    for i, (kind, caption) in enumerate(events):
        if kind != "figure":
            continue
        before = next((t for k, t in reversed(events[:i]) if k == "text"), "")
        after = next((t for k, t in events[i + 1 :] if k == "text"), "")
        if before and after:
            anchors.append((before[-40:], caption, after[:40]))
    return anchors


def _is_furniture(element: Any) -> bool:
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    return _tag(element) in CHROME_TAGS - {"form"} or bool(CHROME_CONTAINER.search(names))


def source_links(tree: Any) -> set[str]:
    """The squashed text of every link on the page: a block that is all one link's text is "linked"."""
    return {s for s in (_squash(a.text_content()) for a in tree.iter("a")) if s}


# --- extraction ----------------------------------------------------------------------------


def _prepare(tree: Any) -> Any:
    """A copy of the page without containers named for comments, related links, sharing or paywalls."""
    prepared = copy.deepcopy(tree)
    body = prepared.find(".//body")
    total = len((body if body is not None else prepared).text_content()) or 1
    doomed = []
    for element in prepared.iter():
        if _tag(element) not in CONTAINER_TAGS:
            continue  # a <p class="paywall"> is the article's own text (wired.com)
        names = f"{element.get('class') or ''} {element.get('id') or ''}"
        small = len(element.text_content()) < CHROME_CONTAINER_SHARE * total
        if small and CHROME_CONTAINER.search(names) and not _holds_article(element):
            doomed.append(element)
    for element in doomed:
        parent = element.getparent()
        if parent is not None:
            _drop_keep_tail(element)
    for landmark in prepared.iter("form", "aside"):
        if _holds_article(landmark):
            landmark.tag = "div"  # a whole page inside an ASP.NET <form>, an article in an <aside>: not chrome
    return prepared


def _drop_keep_tail(element: Any) -> None:
    parent = element.getparent()
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _trafilatura(tree: Any, focus: str) -> Any:
    import trafilatura

    return trafilatura.bare_extraction(
        copy.deepcopy(tree),
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        # Images and links are left out: asking for either changes which part of the page
        # trafilatura 2.3 takes for the article (mean F1 0.965 -> 0.916 and 0.943 on pages/).
        include_images=False,
        include_formatting=False,
        include_links=False,
        favor_precision=focus == "precision",
        favor_recall=focus == "recall",
    )


def _has_structure(body: Any) -> bool:
    return body is not None and (body.find(".//head") is not None or body.find(".//item") is not None)


def _lost_structure(body: Any, tree: Any) -> bool:
    """Whether the page has headings (or lists) that the extraction has none of."""
    if body.find(".//head") is None and next(tree.iter("h2", "h3"), None) is not None:
        return True
    return not _has_structure(body) and next(tree.iter("li"), None) is not None


def _wrapped_in_main(tree: Any) -> Any:
    """The page with its body's children inside one <main>, so trafilatura reads it as an article container."""
    wrapped = copy.deepcopy(tree)
    body = wrapped.find(".//body")
    if body is None:
        return wrapped
    main = body.makeelement("main", {})
    main.text, body.text = body.text, None
    for child in list(body):
        main.append(child)
    body.append(main)
    return wrapped


_WORD = re.compile(rf"{UNSPACED.pattern}|[^\W{UNSPACED.pattern[1:-1]}]+")


def _words(body: Any) -> list[str]:
    """Word tokens of an element, one per character in unspaced scripts."""
    return _WORD.findall(" ".join(body.itertext()).casefold()) if body is not None else []


def _adds_only_structure(again: Any, first: Any, links: set[str], titles: list[str]) -> bool:
    """Whether ``again`` holds (nearly) every word of ``first`` and adds next to nothing that
    would be read before or after it (the title and lists of links are not read): the same
    article with its structure, not page furniture around it."""

    old = _words(first)
    children = [(_tag(c), _words(c)) for c in again]
    new = [w for _tag_name, words in children for w in words]
    if not old:
        return bool(new)
    if sum((Counter(old) & Counter(new)).values()) < RETRY_KEEPS * len(old):
        return False
    if len(new) > STRUCTURE_GROWTH * len(old) + 50:
        return False
    head, tail = old[:5], old[-5:]
    starts = [i for i in range(len(new) - 4) if new[i : i + 5] == head]
    ends = [i + 5 for i in range(len(new) - 4) if new[i : i + 5] == tail]
    if not starts or not ends:
        return False
    offset, outside = 0, 0
    for child, (_name, words) in zip(again, children, strict=True):
        lies_outside = offset + len(words) <= starts[0] or offset >= ends[-1]
        offset += len(words)
        if not lies_outside:
            continue
        text = clean(" ".join(child.itertext()))
        items = [_squash(" ".join(i.itertext())) for i in child.iter("item")]
        if any(same_text(text, t) for t in titles) or (items and all(i in links for i in items if i)):
            continue
        outside += len(words)
    return outside <= RETRY_OUTSIDE_WORDS


def _interior(wide: Any, narrow: Any) -> Any:
    """``wide`` cut to the span between its first and last element that ``narrow`` also has:
    what balanced mode finds inside the article precision mode found (interview questions,
    short paragraphs), without what it adds around it (comments, related links, footers).
    None when the cut would lose words of ``narrow``."""

    if wide is None:
        return None
    kept = {_squash(" ".join(c.itertext())) for c in narrow}
    matched = [i for i, c in enumerate(wide) if _squash(" ".join(c.itertext())) in kept]
    if not matched:
        return None
    cut = copy.deepcopy(wide)
    for i, child in reversed(list(enumerate(list(cut)))):
        if i < matched[0] or i > matched[-1]:
            cut.remove(child)
    old, new = Counter(_words(narrow)), Counter(_words(cut))
    return cut if sum((old & new).values()) >= INTERIOR_KEEPS * sum(old.values()) else None


def extract(tree: Any, links: set[str], titles: list[str]) -> tuple[Any, Any]:
    """(trafilatura's document, its body element); the body is None when nothing was found."""
    prepared = _prepare(tree)
    document = _trafilatura(prepared, "precision")
    body = getattr(document, "body", None)
    if body is not None:
        balanced = _trafilatura(prepared, "balanced")
        inner = _interior(getattr(balanced, "body", None), body)
        if inner is not None:
            document.body, body = inner, inner
    if body is not None and _lost_structure(body, prepared):
        again = _trafilatura(_wrapped_in_main(prepared), "precision")
        body2 = getattr(again, "body", None)
        if (
            body2 is not None
            and len(body2.findall(".//head")) + len(body2.findall(".//item"))
            > len(body.findall(".//head")) + len(body.findall(".//item"))
            and _adds_only_structure(body2, body, links, titles)
        ):
            document, body = again, body2
    return document, body


# --- blocks --------------------------------------------------------------------------------


@dataclass
class _Block:
    kind: str
    text: str
    linked: bool = False
    """Every word of it is a link's (a list of related stories, a table of contents)."""
    list_id: int = -1
    label: str = ""
    """A numbered list item's number, "3."."""


#: Stands for a <br> while an element's text is gathered (U+2029 PARAGRAPH SEPARATOR is never in the text).
LINE_BREAK = "\u2029"


def _text_with_breaks(element: Any) -> str:
    """The element's text, LINE_BREAK where a <br> (trafilatura's <lb/>) breaks it; the source's
    own newlines are only wrapping."""
    out = [element.text or ""]
    for child in element:
        tag = _tag(child)
        if tag in {"lb", "br"}:
            out.append(LINE_BREAK)
        elif tag in {"graphic", "img"}:
            out.append(" ")
        else:
            out.append(_text_with_breaks(child))
        out.append(child.tail or "")
    return "".join(out)


def _lines(element: Any) -> Iterator[str]:
    """The element's lines: what its line breaks separate, each cleaned; empty ones skipped."""
    for line in _text_with_breaks(element).split(LINE_BREAK):
        said = clean(line)
        if said:
            yield said


class _Builder:
    """Walks trafilatura's XML (head, p, list/item, quote, table/row/cell, graphic) or HTML into blocks."""

    def __init__(self, links: set[str]) -> None:
        self.links = links
        # Links by their first LINK_KEY characters: a block asks only the links that start as some
        # part of it does, not every link on the page (nodejs's all.html: 5,500 link texts, 20,000 blocks).
        self._by_key: dict[str, list[str]] = {}
        for link in links:
            if len(link) >= LINK_KEY:
                self._by_key.setdefault(link[:LINK_KEY], []).append(link)
        self.blocks: list[_Block] = []
        self.lists = 0
        self.numbered: dict[int, int] = {}
        """Items so far of each numbered list."""
        self.skipped: list[str] = []

    def add(self, kind: str, text: str, list_id: int = -1, label: str = "") -> None:
        if label:
            text = f"{label} {text}"
        self.blocks.append(_Block(kind, text, self.linked(text), list_id, label))

    def linked(self, text: str) -> bool:
        """Whether most of ``text`` is the text of links: "Konzerte (7)", "Crates are leaving Rocket League"."""
        said = _squash(text)
        if not said or said in self.links:
            return bool(said)
        if len(said) > 200:
            return False
        found = {
            link
            for i in range(len(said) - LINK_KEY + 1)
            for link in self._by_key.get(said[i : i + LINK_KEY], ())
            if said.startswith(link, i)
        }
        covered = sum(len(link) for link in found)  # each link's text once, wherever and however often it is
        return covered >= LINKED_SHARE * len(said)

    def graphic(self, element: Any) -> None:
        """An image in trafilatura's output: its alt text, when it describes, is a caption."""
        text = caption_text(element.get("alt") or "")
        if text:
            self.blocks.append(_Block("caption", text))

    def walk(self, element: Any, list_id: int = -1) -> None:
        tag = _tag(element)
        if tag in {"head", "h1", "h2", "h3", "h4", "h5", "h6"}:
            rend = (element.get("rend") or (tag if tag != "head" else "h2")).lower()
            text = clean("".join(element.itertext()))
            if text:
                kind = "heading" if rend in CHAPTER_HEADINGS or rend == "h1" else "paragraph"
                self.blocks.append(_Block(kind if rend != "h1" else "h1", text))
        elif tag in {"graphic", "img"}:
            self.graphic(element)
        elif tag in {"list", "ul", "ol"}:
            self.lists += 1
            if tag == "ol" or (element.get("rend") or "").lower() == "ol":
                self.numbered[self.lists] = 0
            for child in element:
                self.walk(child, self.lists)
        elif tag in {"item", "li"}:
            nested = [c for c in element if _tag(c) in {"list", "ul", "ol", "p", "div"}]
            own = copy.copy(element)
            for child in own:
                if _tag(child) in {"list", "ul", "ol", "p", "div"}:
                    _drop_keep_tail(child)
            label = ""
            if list_id in self.numbered:
                self.numbered[list_id] += 1
                label = f"{self.numbered[list_id]}."
            for text in _lines(own):
                self.add("item", text, list_id, label)
                label = ""
            for child in nested:
                self.walk(child, list_id)
        elif tag in {"table"}:
            for row in element.iter("row", "tr"):
                cells = [c for c in row if _tag(c) in {"cell", "td", "th"}]
                if any(_tag(x) in BLOCK_TAGS for c in cells for x in c):
                    for cell in cells:  # a page laid out in a table: its cells hold paragraphs
                        self.walk(cell)
                    continue
                text = ", ".join(t for t in (clean(" ".join(c.itertext())) for c in cells) if t)
                if text:
                    self.add("paragraph", text)
        elif tag in {"code", "pre"}:
            # Program code is not read aloud; the captions file says it was there.
            lines = [line for line in "".join(element.itertext()).splitlines() if line.strip()]
            if lines:
                self.skipped.append(describe_skipped("code", len(lines)))
        elif tag in {"script", "style"}:
            return
        elif tag in {
            "quote",
            "blockquote",
            "div",
            "body",
            "section",
            "article",
            "main",
            "figure",
            "cell",
            "td",
        } and any(_tag(c) in BLOCK_TAGS for c in element):
            for text in _lines(_without_blocks(element)):
                self.add("paragraph", text)
            for child in element:
                if _tag(child) in BLOCK_TAGS or _tag(child) in {"graphic", "img"}:
                    self.walk(child)
        elif tag:
            for text in _lines(element):
                self.add("paragraph", text)
            for graphic in element.iter("graphic", "img"):  # an image inside a paragraph follows it
                self.graphic(graphic)


BLOCK_TAGS = frozenset(
    {"p", "head", "list", "item", "quote", "table", "code", "div", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"ul", "ol", "li", "blockquote", "pre", "section", "article", "main", "figure", "graphic"}
)


def _without_blocks(element: Any) -> Any:
    """A shallow copy of ``element`` keeping its own inline text, without nested blocks."""
    own = copy.copy(element)
    for child in list(own):
        if _tag(child) in BLOCK_TAGS or _tag(child) in {"graphic", "img"}:
            _drop_keep_tail(child)
    return own


def _drop_link_lists(blocks: list[_Block]) -> tuple[list[_Block], list[str]]:
    """Lists whose every item is a link (related stories, a table of contents), the heading that
    introduces one, and runs of three or more linked lines are furniture, not the article."""
    by_list: dict[int, list[_Block]] = {}
    for block in blocks:
        if block.kind == "item":
            by_list.setdefault(block.list_id, []).append(block)
    doomed = {id(b) for items in by_list.values() if len(items) >= 2 and all(b.linked for b in items) for b in items}
    # A section (under a heading) of nothing but links: "Weiterführender Link", "Mehr zum Thema".
    section: list[_Block] = []
    for block in [*blocks, _Block("heading", "")]:
        if block.kind in {"heading", "h1"}:
            body = section[1:]
            if section and section[0].kind == "heading" and body and all(b.linked for b in body if b.kind != "caption"):
                doomed.update(id(b) for b in section)
            section = []
        section.append(block)
    run: list[_Block] = []
    for block in [*blocks, _Block("end", "")]:
        if block.linked and block.kind == "paragraph":
            run.append(block)
            continue
        if len(run) >= 3:
            doomed.update(id(b) for b in run)
        run = []
    kept: list[_Block] = []
    dropped: list[str] = []
    for i, block in enumerate(blocks):
        if id(block) in doomed:
            dropped.append(block.text)
            continue
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        introduces = block.kind in {"heading", "paragraph"} and following is not None and id(following) in doomed
        if introduces and len(block.text.split()) <= 6 and not SENTENCE_END.search(block.text):
            dropped.append(block.text)  # "Related stories", "More Must-Reads From TIME"
            continue
        kept.append(block)
    return kept, dropped


def _with_lead(blocks: list[_Block], tree: Any, links: set[str]) -> list[_Block]:
    """The article's lead (standfirst) first, when trafilatura left it out: an element the template
    names "lead", "standfirst", "intro" ..., between the h1 and the article's first block."""
    if not blocks:
        return blocks
    said = _squash(" ".join(b.text for b in blocks))
    first = _squash(blocks[0].text)[:40]
    seen_h1 = next(tree.iter("h1"), None) is None
    for element in tree.iter():
        tag = _tag(element)
        if tag == "h1":
            seen_h1 = True
            continue
        if tag in {"p", "div", "section"} and first and _squash(element.text_content()).startswith(first):
            return blocks  # the article begins: no lead above it
        names = f"{element.get('class') or ''} {element.get('id') or ''}"
        if not seen_h1 or tag not in {"p", "div", "h2", "section", "span"} or not LEAD_CONTAINER.search(names):
            continue
        if _is_furniture(element) or any(
            _is_furniture(a) or _tag(a) in {"figure", "a"} for a in element.iterancestors()
        ):
            continue
        if any(_tag(d) not in LEAD_INLINE for d in element.iterdescendants()):
            continue  # a header block (title, byline, date, share buttons), a figure, a teaser
        text = clean(element.text_content())
        linked = sum(len(_squash(a.text_content())) for a in element.iter("a"))
        if linked > 0.3 * len(_squash(text)):
            continue
        if is_prose(text) and len(text) <= 1000 and _squash(text) not in said and _squash(text) not in links:
            return [_Block("paragraph", text), *blocks]
    return blocks


def _with_captions(blocks: list[_Block], anchors: list[tuple[str, str, str]]) -> list[_Block]:
    """Each figure's caption, without its credit, between the two article blocks that surround
    the figure on the page; a figure outside the article (a teaser, a gallery) has no such pair."""
    out = list(blocks)
    for before, caption, after in reversed(anchors):
        said = caption_text(caption)
        if not said or any(o.kind == "caption" and o.text == said for o in out):
            continue
        texts = [_squash(o.text) if o.kind != "caption" else "" for o in out]
        for i in range(len(out) - 1, -1, -1):
            if texts[i].endswith(before):
                following = [j for j in range(i + 1, min(i + 3, len(out))) if texts[j]]
                if following and texts[following[0]].startswith(after):
                    out.insert(i + 1, _Block("caption", said))
                break
    return out


def _is_byline_line(text: str, byline: str, index: int) -> bool:
    names = [name for name in re.split(r"\s+and\s+|;\s*", byline) if name]
    return index < BYLINE_WINDOW and len(text) <= 120 and bool(names) and any(name in text for name in names)


def parse_html(data: bytes | str, *, source: str, fallback_title: str = "Untitled", url: str | None = None) -> Article:
    """A web page -> its main article, without navigation, banners, adverts, related links or comments
    (see the module docstring). InputError when the page has no article text."""
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # its notes about discarded parts are not ours
    if isinstance(data, bytes) and not data.strip():
        raise InputError("is empty", source)
    tree = trafilatura.load_html(data)
    if tree is None:
        raise InputError("is not an HTML page that can be read", source)
    declared = page_language(tree)
    chrome = chrome_texts(tree)
    h1s = [clean(h.text_content()) for h in tree.iter("h1")]
    html_title = tree.findtext(".//title") or ""
    links = source_links(tree)
    document, body = extract(tree, links, [*h1s, html_title])
    builder = _Builder(links)
    for element in body if body is not None else ():
        builder.walk(element)
    blocks = _with_captions(_with_lead(builder.blocks, tree, links), figure_anchors(tree))
    # trafilatura falls back to whatever text there is: a page of menus must not become an episode.
    if not any(
        b.kind in {"paragraph", "item"} and is_prose(b.text) and not any(b.text in part for part in chrome)
        for b in blocks
    ):
        raise InputError("has no article text to narrate", source)

    meta_title = clean(getattr(document, "title", None) or "")
    site = clean(getattr(document, "sitename", None) or "")
    article_h1 = next((b.text for b in blocks[:6] if b.kind == "h1"), "")
    opening = blocks[0].text if blocks and blocks[0].kind == "heading" else ""
    title = choose_title([meta_title, html_title], h1s, site, opening, article_h1) or fallback_title
    printed = _printed_byline(tree)
    byline = _author(getattr(document, "author", None) or "") or (printed.name if printed else "")
    if printed and printed.name and printed.name in byline:
        byline = printed.name  # trafilatura may take a role for a second author: "Priya Raman; Transport Correspondent"
    credit = printed.credit if printed and printed.name == byline else ""
    date = getattr(document, "date", None) or (printed.date if printed else "")

    blocks, dropped = _drop_link_lists(blocks)
    kept: list[Block] = []
    for block in blocks:
        text, kind, position = block.text, block.kind, len(kept)
        found = parse_byline(text) if position < BYLINE_WINDOW and kind == "paragraph" else None
        if not sayable(text):
            dropped.append(text)  # a line of underscores, a lone quote mark: nothing to say
        elif position < 3 and any(
            same_text(text, t) or _is_affixed(t, text) for t in (title, meta_title, clean(html_title))
        ):
            dropped.append(text)  # the title, read once in the opening
        elif found is not None and (found.name or found.date) and (not byline or _names_match(found.name, byline)):
            # The byline or dateline printed in the article: "Von Jonas Weber", "Published 3 March 2026".
            byline = found.name if found.name and (not byline or found.name in byline) else byline
            credit = credit or (found.credit if found.name else "")
            date = date or found.date
            dropped.append(text)
        elif kind == "h1":
            kept.append(Block(BlockKind.HEADING, text))  # a headline that the metadata's title does not match
        elif kind in {"paragraph", "item"} and (is_chrome_line(text) or _is_byline_line(text, byline, position)):
            dropped.append(text)
        else:
            kept.append(Block(BLOCK_KINDS[kind], text, label=block.label))
    if not kept:
        raise InputError("has no article text to narrate", source)
    language = choose_language(declared, " ".join(b.text for b in kept if b.kind is not BlockKind.CAPTION))
    return Article(
        source=source,
        title=title,
        byline=byline,
        blocks=tuple(kept),
        dropped=tuple(dropped),
        text_hash=hash_content(title, byline, kept),
        language=language,
        date=date,
        marked_headings=True,
        credit=credit,
        skipped=tuple(builder.skipped),
    )


#: The prototype's block kinds as narrator's.
BLOCK_KINDS = {
    "heading": BlockKind.HEADING,
    "paragraph": BlockKind.PARAGRAPH,
    "item": BlockKind.ITEM,
    "caption": BlockKind.CAPTION,
}
#: Class, id, rel or itemprop words of the element that prints a page's byline.
BYLINE_CONTAINER = re.compile(r"byline|author|dateline|meta-?info", re.IGNORECASE)


def _author(author: str) -> str:
    """trafilatura's author field as a byline: names joined with "and", any role after a name left out.

    >>> _author("Priya Raman, transport correspondent"), _author("Ana Lima; Tom Ellis")
    ('Priya Raman', 'Ana Lima and Tom Ellis')
    """
    names = []
    for name in (clean(n) for n in author.split(";")):
        found = parse_byline(name) if name else None
        if name:
            names.append(found.name if found is not None and found.name else name)
    return " and ".join(names)


def _names_match(found: str, byline: str) -> bool:
    return bool(found) and (found in byline or byline in found)


def _printed_byline(tree: Any) -> Any:
    """The byline as the page prints it, from the element its template names for it ("byline",
    "author"): how it credits the author ("By", "Von"...), and the date it gives; None when none reads as one."""
    for element in tree.iter():
        names = " ".join(element.get(a) or "" for a in ("class", "id", "rel", "itemprop"))
        if not _tag(element) or not BYLINE_CONTAINER.search(names) or _is_furniture(element):
            continue
        found = parse_byline(clean(element.text_content()))
        if found is not None and found.name:
            return found
    return None


def read(data: bytes, *, source: str, fallback_title: str = "Untitled") -> Article:
    """A saved web page."""
    return parse_html(data, source=source, fallback_title=fallback_title)
