"""Article -> Script: sentences (sentencex), paragraphs and chapters.

Chapters follow the article's headings when it has any; otherwise a chapter is a
paragraph, and short paragraphs merge until a chapter lasts about ten seconds
at the speaking rate. A chapter longer than about three minutes (a long
paragraph, or a whole text in one) is cut between sentences where the text
changes topic, near even lengths. The first chapter opens with the title and the
byline. How each sentence is said is speech.py's: its text stays the article's.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import InputError
from .models import Article, BlockKind, ChapterPlan, Paragraph, Script, Sentence
from .readers.base import strip_credit

if TYPE_CHECKING:
    from .lexicon import Lexicon

#: Longest piece of text sent to the engine in one call. pyttsx3's espeak driver
#: concatenates bytes as audio arrives, so its cost grows with the square of the length.
MAX_CHUNK_CHARS = 250
#: Most chapters one CTOC frame can list: its entry count is a single byte (ID3 chapter spec, 3.2).
MAX_CHAPTERS = 255
MIN_CHAPTER_MS = 10_000
#: A chapter longer than this is cut between sentences (about: the pieces come out near even lengths).
MAX_CHAPTER_MS = 180_000
#: A title made from a sentence is at most this long; a heading is kept whole up to HEADING_CHARS.
TITLE_CHARS = 60
HEADING_CHARS = 100
#: A sentence longer than this (a text without full stops) is cut at a clause, so no caption, and
#: no chapter, is endless.
MAX_SENTENCE_WORDS = 120
#: Brackets longer than this may be cut inside: an unclosed "(" must not make a page one sentence.
MAX_BRACKET_CHARS = 600

_CLAUSE_BREAK = re.compile(r"(?<=[,;:—–])\s+|\s+(?=[—–]\s)|\s+(?=\()")
_MARKUP = re.compile(r"<!\[CDATA\[|\]\]>|[<>{}\[\]\\|^~`]")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)
#: A token that is a web address, a path, a file name, a version number or an option ("./configure",
#: "--prefix=/usr", "lzma.h", "5.4.1", "user@example.org"): a full stop inside it ends no sentence.
_TECHNICAL = re.compile(r"[/\\@=]|\w\.\w|^\.\.?/|\w_\w")
_TOKEN = re.compile(r"\S+")
_OPENERS = "([{"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_TOKEN_TRAIL = ".,;:!?)]}'\"’”»…"
_TOKEN_LEAD = "([{'\"‘“«¿¡"
#: A list item's number or bullet: "1.", "2.3.", "b)", "iv.", "-", "•".
_MARKER_AFTER_COLON = re.compile(r"[:;]\s+(\(?\d{1,3}[.)])$")
_LIST_MARKER = re.compile(r"\(?(?:\d{1,3}(?:\.\d{1,3})*|[A-Za-z]|[ivxIVX]{1,4})[.)]|[-*•–—▪◦]")


def has_words(text: str) -> bool:
    """Whether ``text`` has anything to say: a letter or a digit.

    >>> has_words("..."), has_words("’"), has_words("\\u2060\\u2060"), has_words("3")
    (False, False, False, True)
    """
    return any(ch.isalnum() for ch in text)


def split_sentences(text: str, language: str = "en") -> tuple[str, ...]:
    """Split a paragraph into sentences with sentencex (Wikimedia's rule-based splitter), which
    knows each language's abbreviations, decimals, quotations and ellipses. Chosen over pysbd,
    which splits the same way on English news text but took 25 times longer (42 ms against
    1.7 ms for the seed article).

    sentencex's cuts inside a web address, a path, a file name, a version number or brackets
    are undone; a piece with nothing to say joins its neighbour; an endless sentence is cut at
    a clause.

    >>> split_sentences("Dr. Kim met U.S. officials at 9 a.m. on Monday. It rained.")
    ('Dr. Kim met U.S. officials at 9 a.m. on Monday.', 'It rained.')
    >>> split_sentences("Das kostet z. B. 3,5 Euro. Dr. Müller kam am 3. Mai.", "de")
    ('Das kostet z. B. 3,5 Euro.', 'Dr. Müller kam am 3. Mai.')
    >>> split_sentences("Use gzip (or bzip2 [bz].) Run ./configure --prefix=/usr. Done.")
    ('Use gzip (or bzip2 [bz].)', 'Run ./configure --prefix=/usr.', 'Done.')
    """
    import sentencex

    pieces = [p for p in sentencex.segment(language.split("-")[0].lower() or "en", text) if p.strip()]
    if len(pieces) > 1:
        pieces = _undo_protected_cuts(text, pieces)
    sentences = merge_unsayable(_join_list_markers(p.strip() for p in pieces))
    return tuple(merge_unsayable(part for sentence in sentences for part in _split_endless(sentence)))


def _undo_protected_cuts(text: str, pieces: list[str]) -> list[str]:
    """Join the pieces around every cut that falls inside a protected span of ``text``; a cut just
    inside a closing bracket ("[bz].|)") moves past it instead."""
    cuts: list[int] = []  # where each piece but the last ends in the text
    pos = 0
    for piece in pieces:
        found = text.find(piece.strip(), pos)
        if found < 0:  # the splitter changed the text: leave its cuts as they are
            return pieces
        pos = found + len(piece.strip())
        cuts.append(pos)
    cuts.pop()
    sentences: list[str] = []
    start = 0
    for cut, open_until in zip(cuts, _inside_protected(text, cuts), strict=True):
        if open_until is not None:
            if text[cut:open_until].strip(_TOKEN_TRAIL):
                continue  # inside: no cut here
            cut = open_until
        if text[start:cut].strip():
            sentences.append(text[start:cut])
            start = cut
    sentences.append(text[start:])
    return sentences


def _inside_protected(text: str, cuts: Sequence[int]) -> list[int | None]:
    """For each cut (an offset, ascending), where the protected spans it falls strictly inside end
    (technical tokens, brackets); None when it falls inside none."""
    spans = list(_bracket_spans(text))
    for m in _TOKEN.finditer(text):
        token = m.group()
        core_start = m.start() + len(token) - len(token.lstrip(_TOKEN_LEAD))
        core_end = m.end() - (len(token) - len(token.rstrip(_TOKEN_TRAIL)))
        if core_end - core_start > 2 and _TECHNICAL.search(text, core_start, core_end):
            spans.append((core_start, core_end))
    spans.sort()
    ends: list[int] = []  # a heap of the ends of the spans that start before the cut
    verdicts: list[int | None] = []
    i = 0
    for cut in cuts:
        while i < len(spans) and spans[i][0] < cut:
            heapq.heappush(ends, spans[i][1])
            i += 1
        while ends and ends[0] <= cut:
            heapq.heappop(ends)
        verdicts.append(max(ends) if ends else None)
    return verdicts


def _bracket_spans(text: str) -> Iterable[tuple[int, int]]:
    """Balanced (), [] and {} no longer than MAX_BRACKET_CHARS, as (start, end) offsets."""
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if ch in _OPENERS:
            stack.append((ch, i))
            if len(stack) > 100:  # a page of unclosed brackets: forget the oldest
                del stack[0]
        elif ch in _CLOSERS and stack and stack[-1][0] == _CLOSERS[ch]:
            _, start = stack.pop()
            if i + 1 - start <= MAX_BRACKET_CHARS:
                yield start, i + 1


def _join_list_markers(pieces: Iterable[str]) -> Iterator[str]:
    """A list's number or bullet ("1.", "b)", "•") starts the piece after it, whether it is a piece of
    its own or ends one after a colon ("Steps: 1.").

    >>> list(_join_list_markers(["Do this: 1.", "Try it.", "2.", "Report it."]))
    ['Do this:', '1. Try it.', '2. Report it.']
    """
    marker = ""
    for piece in pieces:
        if _LIST_MARKER.fullmatch(piece):
            marker = f"{marker} {piece}".strip()
            continue
        piece = f"{marker} {piece}" if marker else piece
        marker = ""
        after_colon = _MARKER_AFTER_COLON.search(piece)
        if after_colon:
            piece, marker = piece[: after_colon.start() + 1], after_colon.group(1)
        yield piece
    if marker:
        yield marker


def merge_unsayable(sentences: Iterable[str]) -> list[str]:
    """Sentences, a piece without a letter or digit joined to its neighbour: a "..." split off
    between two sentences, a lone "’" after a closing quote, a line of underscores. An engine
    says nothing for such a piece.

    >>> merge_unsayable(["He paused.", "...", "Then he left."])
    ['He paused. ...', 'Then he left.']
    >>> merge_unsayable(["’", "“Go,” she said.", "\\u2060\\u2060"])
    ['’ “Go,” she said. \\u2060\\u2060']
    """
    out: list[str] = []
    pending = ""
    for sentence in sentences:
        if not sentence:
            continue
        if not has_words(sentence):
            if out:
                out[-1] = f"{out[-1]} {sentence}"
            else:
                pending = f"{pending} {sentence}".strip()
            continue
        out.append(f"{pending} {sentence}".strip() if pending else sentence)
        pending = ""
    if pending:
        out.append(pending)  # nothing at all to say: the caller decides
    return out


def _split_endless(sentence: str, max_words: int = MAX_SENTENCE_WORDS) -> list[str]:
    """A sentence of more than ``max_words`` words cut at the clause (else the space) nearest its
    middle, outside brackets and technical tokens, until every piece fits."""
    words = sentence.split()
    if len(words) <= max_words:
        return [sentence]
    middle = len(sentence) // 2
    breaks = [m for m in _CLAUSE_BREAK.finditer(sentence) if 0 < m.start() < len(sentence)]
    spaces = list(re.finditer(r"\s+", sentence))
    for candidates in (breaks, spaces):
        inside = _inside_protected(sentence, [m.start() for m in candidates])
        allowed = [m for m, until in zip(candidates, inside, strict=True) if until is None]
        if allowed:
            break
    else:
        allowed = spaces
    # Each side keeps at least a tenth of the words, so the recursion ends.
    low, high = len(sentence) // 10, len(sentence) - len(sentence) // 10
    allowed = [m for m in allowed if low <= m.start() <= high] or spaces
    cut = min(allowed, key=lambda m: abs(m.start() - middle))
    return _split_endless(sentence[: cut.start()], max_words) + _split_endless(sentence[cut.end() :], max_words)


def spoken_form(text: str) -> str:
    """What the engine is given: the words only, so nothing can be read as markup.

    >>> spoken_form('<speak>Hi</speak> <break time="10s"/> Tom &amp; Jerry')
    'speak Hi /speak break time="10s"/ Tom and Jerry'
    """
    text = _ENTITY.sub(lambda m: " and " if m.group(1).lower() == "amp" else " ", text)
    text = _MARKUP.sub(" ", text.replace("&", " and "))
    return re.sub(r"\s+", " ", text).strip()


def split_chunks(text: str, max_chars: int = MAX_CHUNK_CHARS) -> tuple[str, ...]:
    """Split an over-long sentence for synthesis, at the clause boundary nearest its middle. A piece
    with nothing to say (a bracket cut off) is left out: an engine says nothing for it anyway.

    >>> split_chunks("one two, three four", max_chars=12)
    ('one two,', 'three four')
    """
    chunks = _split_chunks(text.strip(), max_chars)
    said = tuple(chunk for chunk in chunks if has_words(chunk))
    return said or chunks


def _split_chunks(text: str, max_chars: int) -> tuple[str, ...]:
    if len(text) <= max_chars:
        return (text,) if text else ()
    middle = len(text) // 2
    breaks = [m for m in _CLAUSE_BREAK.finditer(text) if 0 < m.start() < len(text)]
    if not breaks:  # no clause boundary: fall back to the space nearest the middle
        breaks = list(re.finditer(r"\s+", text))
    if not breaks:
        return tuple(text[i : i + max_chars] for i in range(0, len(text), max_chars))
    cut = min(breaks, key=lambda m: abs(m.start() - middle))
    return _split_chunks(text[: cut.start()], max_chars) + _split_chunks(text[cut.end() :], max_chars)


# --- chapter titles ---------------------------------------------------------------------

#: Where a title may end without "…": after a clause's punctuation, or before a dash or a bracket.
_TITLE_BREAK = re.compile(r"[,;:?!](?=\s)|\s(?=[—–(])")
_PAIRS = (("(", ")"), ("[", "]"), ("“", "”"), ("‘", "’"), ("«", "»"))
_GERMAN_QUOTES = ("„", "“")


def heading_title(text: str, language: str = "en") -> str:
    """A heading as a chapter title: its own words and punctuation, question marks included.

    Only a heading longer than HEADING_CHARS is shortened, as a sentence is.

    >>> heading_title("Why now?"), heading_title("  A charge   for drivers ")
    ('Why now?', 'A charge for drivers')
    """
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= HEADING_CHARS else caption_title(text, language)


def caption_title(text: str, language: str = "en", limit: int = TITLE_CHARS) -> str:
    """A chapter title made from a sentence: the sentence, else its longest opening clause that fits
    in ``limit`` characters, else its opening words (never a word cut, nor a small word such as
    "the" last) and "…".

    >>> caption_title("Short and sweet."), caption_title("Why now? Because.")
    ('Short and sweet', 'Why now? Because')
    >>> caption_title("Defectors generally concur with this, saying that the army's food is scarce.")
    'Defectors generally concur with this'
    >>> caption_title("The deaths of six North Korean military officers in the Russian-occupied part")
    'The deaths of six North Korean military officers…'
    """
    text = re.sub(r"\s+", " ", text).strip()
    marker = _LIST_MARKER.match(text)
    if marker and text[marker.end() : marker.end() + 1] == " ":  # "- Z is the revision": the bullet is no title
        text = text[marker.end() :].lstrip()
    text = text.rstrip(".,;:…— ")
    if len(text) <= limit:
        return text
    shortest = min(limit // 3, 24)  # a clause shorter than this says too little to be a title
    small = _function_words(language)
    clauses = [m.start() + (1 if m.group().strip() else 0) for m in _TITLE_BREAK.finditer(text, 0, limit + 1)]
    for end in reversed(clauses):
        clause = text[:end].rstrip(",;: ")
        last = clause.rsplit(" ", 1)[-1].lower()
        if shortest <= len(clause) <= limit and _balanced(clause) and last not in small:
            return clause
    whole = text[: limit - 1].split(" ")
    if len(whole) > 1 and not text[limit - 1 : limit].isspace():
        whole.pop()  # the last one is cut: it goes
    words = list(whole)
    while len(words) > 1 and (words[-1].lower().strip(",;:—–\"“‘'(") in small or not has_words(words[-1])):
        words.pop()
    title = " ".join(words).rstrip(",;:—– ")
    for opening, _closing in _pairs(title):
        if not _balanced(title):  # an opened bracket or quote the cut leaves open: the title ends before it
            title = title[: title.rindex(opening)].rstrip(",;:—– ") if opening in title else title
    if not has_words(title):
        title = " ".join(whole)  # no words to end on: the whole words that fit
    # Only a first word longer than the limit (an address) is cut inside.
    return (title or text[: limit - 1]) + "…"


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """The brackets and quotes ``text`` pairs: German „…“ closes with the mark English opens with."""
    return tuple(_GERMAN_QUOTES if pair[0] == "“" and "„" in text else pair for pair in _PAIRS)


def opening_title(paragraphs: Sequence[Paragraph], language: str = "en") -> str:
    """The title of a chapter without a heading: made from its first sentence that reads as prose
    (two words or more of letters, not a web address or a list's number), else its first sentence."""
    sentences = [s.text for p in paragraphs for s in p.sentences]
    for text in sentences[:5]:
        if _reads_as_prose(text):
            return caption_title(text, language)
    return caption_title(sentences[0], language)


def _reads_as_prose(text: str, words: int = 2) -> bool:
    """``words`` words or more of letters, not counting web addresses, paths and e-mail addresses."""
    return len(_PROSE_WORD.findall(_TECHNICAL_TOKEN.sub(" ", text))) >= words


def paragraphs_of(sentences: Sequence[tuple[int, Sentence]]) -> list[Paragraph]:
    """(paragraph number, sentence) pairs grouped back into paragraphs."""
    paragraphs: list[list[Sentence]] = []
    for i, (number, sentence) in enumerate(sentences):
        if i == 0 or number != sentences[i - 1][0]:
            paragraphs.append([])
        paragraphs[-1].append(sentence)
    return [Paragraph(tuple(p)) for p in paragraphs]


_PROSE_WORD = re.compile(r"(?<![\w./@-])[^\W\d_]{2,}(?![\w/@])")
_TECHNICAL_TOKEN = re.compile(r"\S*(?:://|@|/)\S*")


def _balanced(text: str) -> bool:
    return all(text.count(opening) <= text.count(closing) for opening, closing in _pairs(text))


def _function_words(language: str) -> frozenset[str]:
    from .speech import function_words

    return function_words(language)


# --- sentences -------------------------------------------------------------------------


def _as_written(text: str) -> str:
    return text


def make_sentence(text: str, spoken: str | None = None, say: Callable[[str], str] = _as_written) -> Sentence:
    """A sentence: ``text`` for captions; ``spoken`` (else the text) through ``say``, speech.py, for the engine."""
    chunks = split_chunks(spoken_form(say(spoken if spoken is not None else text)))
    return Sentence(text=text, chunks=chunks if any(has_words(c) for c in chunks) else ())


def sayer(language: str, lexicon: Lexicon | None) -> Callable[[str], str]:
    """How sentences of ``language`` are said: speech.py's normalisation, the lexicon's entries first."""
    from .speech import speaker

    return speaker(language, lexicon.matcher(language) if lexicon is not None else None)


@dataclass
class _Section:
    """A heading (or the opening) and the paragraphs under it, while the script is built."""

    title: str | None
    paragraphs: list[list[Sentence]] = field(default_factory=list)


def segment_article(
    article: Article,
    *,
    rate_wpm: int,
    min_chapter_ms: int = MIN_CHAPTER_MS,
    max_chapter_ms: int = MAX_CHAPTER_MS,
    lexicon: Lexicon | None = None,
) -> Script:
    """Segment an article into chapters of paragraphs of sentences for narration.

    Image captions are read, marked as such ("Image caption: ..."), without the credit.
    ``lexicon`` changes how words are said, never the text the captions show. A sentence
    with nothing to say (emoji, another script's letters) is said with its neighbour, its
    text kept in that neighbour's caption. InputError when the article has nothing to say at all.
    """
    say = sayer(article.language, lexicon)
    language = article.language
    opening = [make_sentence(article.title, say=say)]
    if article.byline:  # the article's own words ("Von Jonas Weber"), else "By"
        opening.append(make_sentence(article.credit or f"By {article.byline}", say=say))
    sections = [_Section(article.title, [opening])]
    for block in article.blocks:
        if block.kind is BlockKind.HEADING:
            heading = make_sentence(block.text, say=say)
            if heading.chunks:
                sections.append(_Section(block.text, [[heading]]))
            else:  # nothing to say ("* * *"): no chapter, its text goes with a neighbour
                sections[-1].paragraphs.append([heading])
            continue
        if block.kind is BlockKind.CAPTION:
            said = strip_credit(block.text)
            sentences = [make_sentence(block.text, f"Image caption: {said}", say)] if said else []
        else:
            # A numbered item's number stays with its first sentence, never a sentence of its own ("1.").
            parts = list(split_sentences(block.text[len(block.label) :], language))
            if block.label and parts:
                parts[0] = f"{block.label} {parts[0]}"
            sentences = [make_sentence(s, say=say) for s in parts]
        if sentences:
            sections[-1].paragraphs.append(sentences)
    if not _join_silent(sections):
        raise InputError("has no words to narrate", article.source)
    words_per_chapter = max(1, rate_wpm * min_chapter_ms // 60_000)
    max_words = max(words_per_chapter * 2, rate_wpm * max_chapter_ms // 60_000)
    chapters: list[ChapterPlan] = []
    for section in sections:
        paragraphs = [Paragraph(tuple(p)) for p in section.paragraphs if p]
        if paragraphs:
            chapters.extend(
                _merge_short(section.title, paragraphs, words_per_chapter, language, marked=article.marked_headings)
            )
    if not article.marked_headings:  # a guessed subheading does not earn a chapter of a few seconds
        chapters = _merge_short_chapters(chapters, words_per_chapter)
    chapters = [piece for chapter in chapters for piece in _split_long(chapter, max_words, words_per_chapter, language)]
    chapters = _at_most(chapters, MAX_CHAPTERS)
    return Script(title=article.title, byline=article.byline, language=article.language, chapters=tuple(chapters))


def _join_silent(sections: list[_Section]) -> bool:
    """Give each sentence with nothing to say to the sentence before it (else after it), text
    joined, so its caption keeps it; False when no sentence has anything to say."""
    places = [(s, p) for s, section in enumerate(sections) for p in range(len(section.paragraphs))]
    flat = [(s, p, i) for s, p in places for i in range(len(sections[s].paragraphs[p]))]
    if not any(sections[s].paragraphs[p][i].chunks for s, p, i in flat):
        return False
    pending: list[str] = []
    last: tuple[int, int, int] | None = None
    removed: set[tuple[int, int, int]] = set()
    for s, p, i in flat:
        sentence = sections[s].paragraphs[p][i]
        if sentence.chunks:
            if pending:
                sections[s].paragraphs[p][i] = Sentence(" ".join([*pending, sentence.text]), sentence.chunks)
                pending = []
            last = (s, p, i)
            continue
        removed.add((s, p, i))
        if last is None:
            pending.append(sentence.text)
        else:
            ls, lp, li = last
            before = sections[ls].paragraphs[lp][li]
            sections[ls].paragraphs[lp][li] = Sentence(f"{before.text} {sentence.text}", before.chunks)
    for s, p in places:
        kept = [x for i, x in enumerate(sections[s].paragraphs[p]) if (s, p, i) not in removed]
        sections[s].paragraphs[p] = kept
    return True


# --- chapters ---------------------------------------------------------------------------


def _words(paragraphs: Iterable[Paragraph]) -> int:
    return sum(len(s.text.split()) for p in paragraphs for s in p.sentences)


def _merge_short(
    title: str | None, paragraphs: list[Paragraph], min_words: int, language: str, *, marked: bool = True
) -> list[ChapterPlan]:
    """Group a section's paragraphs into chapters of at least ``min_words`` words.

    A titled section (the opening, or under a heading) keeps its title on its first
    chapter; the rest are titled by their first sentence. A heading guessed from a short
    line (not ``marked``) without a word of letters (a web address) titles nothing: its first sentence does.
    """
    if title and not marked and not _reads_as_prose(title, words=1):
        title = None
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
        name = heading_title(title, language) if i == 0 and title else opening_title(group, language)
        plans.append(ChapterPlan(title=name, paragraphs=tuple(group)))
    return plans


def _merge_short_chapters(chapters: list[ChapterPlan], min_words: int) -> list[ChapterPlan]:
    """Merge a chapter still under ``min_words`` (a short section under a heading, or the opening
    right before one) into the next chapter, or the last one into the one before; the earlier
    title stays, so the opening keeps the article's title, unless it titles nothing but itself."""
    merged: list[ChapterPlan] = []
    carry: ChapterPlan | None = None
    for chapter in chapters:
        if carry is not None:
            # A guessed heading with nothing under it ("http://..." alone on a line) gives way to the next title.
            bare = bool(merged) and len(carry.paragraphs) == 1 and len(carry.paragraphs[0].sentences) == 1
            title = chapter.title if bare else carry.title
            chapter = ChapterPlan(title=title, paragraphs=carry.paragraphs + chapter.paragraphs)
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


def _split_long(chapter: ChapterPlan, max_words: int, min_words: int, language: str) -> list[ChapterPlan]:
    """A chapter of more than ``max_words`` words cut between sentences into pieces of near even
    length, each cut where the words on either side have least in common (see ``cut_points``)."""
    sentences = [(p, s) for p, paragraph in enumerate(chapter.paragraphs) for s in paragraph.sentences]
    lengths = [len(s.text.split()) for _, s in sentences]
    if sum(lengths) <= max_words or len(sentences) < 2:
        return [chapter]
    paragraph_starts = {i for i in range(1, len(sentences)) if sentences[i][0] != sentences[i - 1][0]}
    cuts = cut_points([s.text for _, s in sentences], max_words, min_words, paragraph_starts, _function_words(language))
    pieces: list[ChapterPlan] = []
    for n, (start, end) in enumerate(zip([0, *cuts], [*cuts, len(sentences)], strict=True)):
        paragraphs = paragraphs_of(sentences[start:end])
        title = chapter.title if n == 0 else opening_title(paragraphs, language)
        pieces.append(ChapterPlan(title=title, paragraphs=tuple(paragraphs)))
    return pieces


#: How many words on each side of a gap are compared to see whether the topic changes there.
COHESION_WINDOW_WORDS = 80
#: How many gaps away a dip's peaks are looked for.
PEAK_GAPS = 30
_CONTENT_WORD = re.compile(r"[^\W\d_]{4,}")


def cut_points(
    sentences: Sequence[str],
    max_words: int,
    min_words: int,
    paragraph_starts: Collection[int] = (),
    small_words: Collection[str] = (),
) -> list[int]:
    """Where to cut a run of sentences into pieces of at most ``max_words`` words (about: a single
    sentence longer than that is a piece of its own): the indexes of the sentences that start a
    new piece.

    As many pieces as the length needs, each near the even length; among the gaps that give a
    piece between 0.6 and 1.4 times it, the one the text changes topic at most, as TextTiling
    (Hearst 1997) finds it: the depth of the dip in lexical cohesion (cosine similarity of the
    content words in a window on either side) there. A paragraph's start counts in its favour.

    >>> cut_points(["Cats purr loudly."] * 3 + ["Rockets launch satellites."] * 3, 9, 2)
    [3]
    """
    lengths = [len(s.split()) for s in sentences]
    depth = _cohesion_depths(sentences, small_words)
    ends = [0]
    for n in lengths:
        ends.append(ends[-1] + n)
    cuts: list[int] = []
    start = 0
    # The last sentence alone too long is a piece of its own: nothing after it to cut at.
    while ends[-1] - ends[start] > max_words and start + 1 < len(sentences):
        remaining = ends[-1] - ends[start]
        target = remaining / math.ceil(remaining / max_words)
        low, high = max(min_words, 0.6 * target), min(max_words, 1.4 * target)
        last = min(bisect.bisect_right(ends, ends[start] + max_words) - 1, len(sentences) - 1)
        fitting = range(start + 1, last + 1)  # the gaps that leave a piece of at most max_words
        gaps = [g for g in fitting if low <= ends[g] - ends[start] <= high]
        if not gaps:  # sentences too long for the window: the last gap that fits, or after one sentence
            gaps = [fitting[-1]] if fitting else [start + 1]

        def score(g: int, start: int = start, target: float = target) -> float:
            evenness = abs(ends[g] - ends[start] - target) / target
            return depth[g] + (0.3 if g in paragraph_starts else 0.0) - 1.5 * evenness

        best = max(gaps, key=score)
        cuts.append(best)
        start = best
    return cuts


def _cohesion_depths(sentences: Sequence[str], small_words: Collection[str]) -> list[float]:
    """For each gap before sentence ``g`` (index g), how deep lexical cohesion dips there (0 to 2)."""
    bags = [
        Counter(w for w in (x.lower() for x in _CONTENT_WORD.findall(s)) if w not in small_words) for s in sentences
    ]
    lengths = [max(1, len(s.split())) for s in sentences]
    n = len(sentences)
    similarity = [1.0] * (n + 1)
    for g in range(1, n):
        similarity[g] = _cosine(_window(bags, lengths, range(g - 1, -1, -1)), _window(bags, lengths, range(g, n)))
    depth = [0.0] * (n + 1)
    for g in range(1, n):
        # The peaks on either side, climbing while cohesion rises; no further than PEAK_GAPS away, so a
        # text whose cohesion only ever rises costs no more than any other.
        left = right = similarity[g]
        i = g - 1
        while i >= max(1, g - PEAK_GAPS) and similarity[i] >= left:
            left = similarity[i]
            i -= 1
        i = g + 1
        while i < min(n, g + PEAK_GAPS) and similarity[i] >= right:
            right = similarity[i]
            i += 1
        depth[g] = (left - similarity[g]) + (right - similarity[g])
    return depth


def _window(bags: Sequence[Counter[str]], lengths: Sequence[int], order: Iterable[int]) -> Counter[str]:
    window: Counter[str] = Counter()
    words = 0
    for i in order:
        window.update(bags[i])
        words += lengths[i]
        if words >= COHESION_WINDOW_WORDS:
            break
    return window


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(count * b[word] for word, count in a.items() if word in b)
    return dot / math.sqrt(sum(c * c for c in a.values()) * sum(c * c for c in b.values()))


def _at_most(chapters: list[ChapterPlan], limit: int) -> list[ChapterPlan]:
    """Neighbouring chapters merged until there are at most ``limit``, the longest as short as it can be:
    the smallest cap on a group's words that greedy grouping meets in ``limit`` groups, by bisection."""
    if len(chapters) <= limit:
        return chapters
    sizes = [_words(c.paragraphs) for c in chapters]

    def groups(cap: int) -> list[list[int]]:
        out: list[list[int]] = []
        total = 0
        for i, size in enumerate(sizes):
            if out and total + size <= cap:
                out[-1].append(i)
                total += size
            else:
                out.append([i])
                total = size
        return out

    low, high = max(sizes), sum(sizes)
    while low < high:
        middle = (low + high) // 2
        if len(groups(middle)) <= limit:
            high = middle
        else:
            low = middle + 1
    return [
        ChapterPlan(
            title=chapters[group[0]].title,
            paragraphs=tuple(p for i in group for p in chapters[i].paragraphs),
        )
        for group in groups(low)
    ]
