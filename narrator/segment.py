"""Article -> Script: sentences (sentencex), paragraphs and chapters.

Chapters follow the article's headings when it has any; otherwise a chapter is a
paragraph, and short paragraphs merge until a chapter lasts about ten seconds
at the speaking rate. The first chapter opens with the title and the byline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .models import Article, BlockKind, ChapterPlan, Paragraph, Script, Sentence
from .readers.text import strip_credit

if TYPE_CHECKING:
    from .lexicon import Lexicon

#: Longest piece of text sent to the engine in one call. pyttsx3's espeak driver
#: concatenates bytes as audio arrives, so its cost grows with the square of the length.
MAX_CHUNK_CHARS = 250
#: Most chapters one CTOC frame can list: its entry count is a single byte (ID3 chapter spec, 3.2).
MAX_CHAPTERS = 255
MIN_CHAPTER_MS = 10_000
TITLE_CHARS = 60

_CLAUSE_BREAK = re.compile(r"(?<=[,;:—–])\s+|\s+(?=[—–]\s)|\s+(?=\()")
_MARKUP = re.compile(r"<!\[CDATA\[|\]\]>|[<>{}\[\]\\|^~`]")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)


def split_sentences(text: str, language: str = "en") -> tuple[str, ...]:
    """Split a paragraph into sentences with sentencex (Wikimedia's rule-based splitter), which
    knows each language's abbreviations, decimals, quotations and ellipses. Chosen over pysbd,
    which splits the same way on English news text but took 25 times longer (42 ms against
    1.7 ms for the seed article).

    >>> split_sentences("Dr. Kim met U.S. officials at 9 a.m. on Monday. It rained.")
    ('Dr. Kim met U.S. officials at 9 a.m. on Monday.', 'It rained.')
    >>> split_sentences("Das kostet z. B. 3,5 Euro. Dr. Müller kam am 3. Mai.", "de")
    ('Das kostet z. B. 3,5 Euro.', 'Dr. Müller kam am 3. Mai.')
    """
    import sentencex

    sentences = (s.strip() for s in sentencex.segment(language.split("-")[0].lower() or "en", text))
    return tuple(s for s in sentences if s)


def spoken_form(text: str) -> str:
    """What the engine is given: the words only, so nothing can be read as markup.

    >>> spoken_form('<speak>Hi</speak> <break time="10s"/> Tom &amp; Jerry')
    'speak Hi /speak break time="10s"/ Tom and Jerry'
    """
    text = _ENTITY.sub(lambda m: " and " if m.group(1).lower() == "amp" else " ", text)
    text = _MARKUP.sub(" ", text.replace("&", " and "))
    return re.sub(r"\s+", " ", text).strip()


def split_chunks(text: str, max_chars: int = MAX_CHUNK_CHARS) -> tuple[str, ...]:
    """Split an over-long sentence for synthesis, at the clause boundary nearest its middle.

    >>> split_chunks("one two, three four", max_chars=12)
    ('one two,', 'three four')
    """
    text = text.strip()
    if len(text) <= max_chars:
        return (text,) if text else ()
    middle = len(text) // 2
    breaks = [m for m in _CLAUSE_BREAK.finditer(text) if 0 < m.start() < len(text)]
    if not breaks:  # no clause boundary: fall back to the space nearest the middle
        breaks = list(re.finditer(r"\s+", text))
    if not breaks:
        return tuple(text[i : i + max_chars] for i in range(0, len(text), max_chars))
    cut = min(breaks, key=lambda m: abs(m.start() - middle))
    return split_chunks(text[: cut.start()], max_chars) + split_chunks(text[cut.end() :], max_chars)


def caption_title(text: str, limit: int = TITLE_CHARS) -> str:
    """A chapter title made from a sentence: at most ``limit`` characters, cut on a word.

    >>> caption_title("The deaths of six North Korean military officers in the Russian-occupied part")
    'The deaths of six North Korean military officers in the…'
    >>> caption_title("Short and sweet.")
    'Short and sweet'
    """
    text = re.sub(r"\s+", " ", text).strip().rstrip(".!?;:,")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[: limit - 1]
    return cut.rstrip(",;:—– ") + "…"


def _as_written(text: str) -> str:
    return text


def make_sentence(text: str, spoken: str | None = None, say: Callable[[str], str] = _as_written) -> Sentence:
    """A sentence: ``text`` for captions; ``spoken`` (else the text) through ``say``, the lexicon, for the engine."""
    chunks = split_chunks(spoken_form(say(spoken if spoken is not None else text)))
    return Sentence(text=text, chunks=chunks)


def segment_article(
    article: Article, *, rate_wpm: int, min_chapter_ms: int = MIN_CHAPTER_MS, lexicon: Lexicon | None = None
) -> Script:
    """Segment an article into chapters of paragraphs of sentences for narration.

    Image captions are read, marked as such ("Image caption: ..."), without the credit.
    ``lexicon`` changes how words are said, never the text the captions show.
    """
    say = lexicon.pronouncer(article.language) if lexicon is not None else _as_written
    opening = [make_sentence(article.title, say=say)]
    if article.byline:  # the article's own words ("Von Jonas Weber"), else "By"
        opening.append(make_sentence(article.credit or f"By {article.byline}", say=say))
    sections: list[tuple[str | None, list[Paragraph]]] = [(article.title, [Paragraph(tuple(opening))])]
    for block in article.blocks:
        if block.kind is BlockKind.HEADING:
            sections.append((block.text, [Paragraph((make_sentence(block.text, say=say),))]))
            continue
        if block.kind is BlockKind.CAPTION:
            said = strip_credit(block.text)
            caption = make_sentence(block.text, f"Image caption: {said}", say)
            sentences: tuple[Sentence, ...] = (caption,) if said else ()
        else:
            # A numbered item's number stays with its first sentence, never a sentence of its own ("1.").
            parts = list(split_sentences(block.text[len(block.label) :], article.language))
            if block.label and parts:
                parts[0] = f"{block.label} {parts[0]}"
            sentences = tuple(make_sentence(s, say=say) for s in parts)
        sentences = tuple(s for s in sentences if s.chunks)
        if sentences:
            sections[-1][1].append(Paragraph(sentences))
    words_per_chapter = max(1, rate_wpm * min_chapter_ms // 60_000)
    chapters: list[ChapterPlan] = []
    for title, paragraphs in sections:
        chapters.extend(_merge_short(title, paragraphs, words_per_chapter))
    if not article.marked_headings:  # a guessed subheading does not earn a chapter of a few seconds
        chapters = _merge_short_chapters(chapters, words_per_chapter)
    while len(chapters) > MAX_CHAPTERS:
        chapters = list(_pairwise_merge(chapters))
    return Script(title=article.title, byline=article.byline, language=article.language, chapters=tuple(chapters))


def _words(paragraphs: Iterable[Paragraph]) -> int:
    return sum(len(s.text.split()) for p in paragraphs for s in p.sentences)


def _merge_short(title: str | None, paragraphs: list[Paragraph], min_words: int) -> list[ChapterPlan]:
    """Group a section's paragraphs into chapters of at least ``min_words`` words.

    A titled section (the opening, or under a heading) keeps its title on its first
    chapter; the rest are titled by their first sentence.
    """
    groups: list[list[Paragraph]] = []
    for paragraph in paragraphs:
        if groups and _words(groups[-1]) < min_words:
            groups[-1].append(paragraph)
        else:
            groups.append([paragraph])
    if len(groups) > 1 and _words(groups[-1]) < min_words:
        groups[-2].extend(groups.pop())
    plans = []
    for i, group in enumerate(groups):
        name = caption_title(title if i == 0 and title else group[0].sentences[0].text)
        plans.append(ChapterPlan(title=name, paragraphs=tuple(group)))
    return plans


def _merge_short_chapters(chapters: list[ChapterPlan], min_words: int) -> list[ChapterPlan]:
    """Merge a chapter still under ``min_words`` (a short section under a heading, or the opening
    right before one) into the next chapter, or the last one into the one before; the earlier
    title stays, so the opening keeps the article's title."""
    merged: list[ChapterPlan] = []
    carry: ChapterPlan | None = None
    for chapter in chapters:
        if carry is not None:
            chapter = ChapterPlan(title=carry.title, paragraphs=carry.paragraphs + chapter.paragraphs)
            carry = None
        if _words(chapter.paragraphs) < min_words:
            carry = chapter
        else:
            merged.append(chapter)
    if carry is not None:
        if merged:
            last = merged.pop()
            carry = ChapterPlan(title=last.title, paragraphs=last.paragraphs + carry.paragraphs)
        merged.append(carry)
    return merged


def _pairwise_merge(chapters: list[ChapterPlan]) -> Iterable[ChapterPlan]:
    for i in range(0, len(chapters), 2):
        pair = chapters[i : i + 2]
        yield ChapterPlan(title=pair[0].title, paragraphs=tuple(p for c in pair for p in c.paragraphs))
