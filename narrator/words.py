"""Where the article's words are spoken: from the engine's word marks to anchors for the cues.

Caption cues show the article's words (``Sentence.text``); the engine spoke
another text (``Sentence.chunks``: the lexicon and the speech rules rewrite words,
"&" becomes "and", markup goes, a caption gains "Image caption:"). So the two are
aligned word by word (difflib over words made comparable: case folded, only letters
and digits kept), and a written word is an anchor only where it corresponds to a
spoken word the audio times; never inside a rewritten span, where one side's words
have no counterpart on the other.

espeak-ng's marks are not one per written word (measured on 4,279 words of English,
German and French, /work/proto/words): pairs such as "of the" are one phonological
word with one mark, so the second word has none and no cue may start there; some
dictionary phrases ("such as", "no longer") report the second word at the first
one's position + 1; numbers give one mark per spoken part, kept with their token.

Around a pause espeak-ng's mark may lie anywhere in it, or even just before it, at
the end of the word before (seen on the seed: up to 240 ms before the word's sound);
``settle_on_sound`` moves such a mark to where the sound after the pause starts.

For an engine without word marks, ``cut_at_cues`` cuts each sentence's spoken
form where its cues will break, so every cue is a clip of its own and starts where
the clip does.
"""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .cues import split_cues
from .models import Script, Sentence, WordMark

_TOKEN = re.compile(r"\S+")
#: Quieter than this is silence (the same as synth.SILENCE_THRESHOLD, about -54 dBFS).
SILENCE = 64
#: A silence this long is a pause between words; shorter ones are the closure of a stop ("p", "t").
PAUSE_MS = 80
#: How far after a mark a pause may begin and still be the one before the mark's word.
REACH_MS = 150


@dataclass(frozen=True, slots=True)
class PlacedClip:
    """One clip of a sentence as assembly laid it down."""

    start: int
    """Its first sample, counted from the start of the sentence's sound."""
    samples: int
    words: tuple[WordMark, ...] | None
    """The clip's word marks (samples of the clip), or None when the engine gave none."""


def settle_on_sound(pcm: bytes, rate: int, words: Sequence[WordMark]) -> tuple[WordMark, ...]:
    """The marks with each one in, or just before, a pause moved to where the sound after it starts.
    Marks that come with their words' ends (Piper's alignments) lie on the sound already: kept.

    >>> import array
    >>> pcm = array.array("h", [900] * 2205 + [0] * 4410 + [900] * 2205).tobytes()  # 0.1 s, a 0.2 s pause, 0.1 s
    >>> settle_on_sound(pcm, 22050, [WordMark(0, 0), WordMark(6, 2000)])
    (WordMark(offset=0, sample=0, end=None), WordMark(offset=6, sample=6615, end=None))
    """
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2")
    per = max(1, rate // 1000)
    n = x.size // per
    loud = np.abs(x[: n * per].astype(np.int32)).reshape(n, per).max(axis=1) > SILENCE
    # Each silent run of milliseconds [a, b), with sound after it, at least PAUSE_MS long.
    edges = np.flatnonzero(np.diff(np.concatenate(([1], loud.astype(np.int8), [1]))))
    pauses = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= PAUSE_MS and b < n]
    settled: list[WordMark] = []
    for i, word in enumerate(words):
        limit = words[i + 1].sample if i + 1 < len(words) else x.size
        at = word.sample
        if i and word.end is None:
            for a, b in pauses:
                if a * per <= at + REACH_MS * per and at < b * per < limit:
                    onset = np.flatnonzero(np.abs(x[b * per : (b + 1) * per].astype(np.int32)) > SILENCE)
                    at = b * per + int(onset[0])  # the first loud sample
                    break
        settled.append(WordMark(word.offset, at, word.end))
    return tuple(settled)


def comparable(token: str) -> str:
    """A word as the alignment compares it: letters and digits only, case folded.

    >>> comparable("“Russia’s"), comparable("U.S."), comparable("—")
    ('russias', 'us', '')
    """
    return "".join(ch for ch in unicodedata.normalize("NFKC", token).casefold() if ch.isalnum())


def word_starts(text: str, marks: Sequence[WordMark]) -> list[int | None]:
    """For each whitespace-separated word of ``text``: the sample its sound starts at, from the marks.

    None where the engine spoke the word joined to the one before ("of the": one mark).

    >>> text = "(Tom said no longer of the updated"
    >>> marks = [WordMark(1, 0), WordMark(5, 4000), WordMark(10, 6000), WordMark(11, 7000),
    ...          WordMark(20, 8000), WordMark(27, 9000)]
    >>> word_starts(text, marks)
    [0, 4000, 6000, 7000, 8000, None, 9000]
    """
    tokens = [m.span() for m in _TOKEN.finditer(text)]
    starts = [s for s, _ in tokens]
    owned: list[list[WordMark]] = [[] for _ in tokens]
    for mark in marks:
        i = max(0, bisect.bisect_right(starts, mark.offset) - 1)
        if tokens and mark.offset >= tokens[i][1] and i + 1 < len(tokens):
            i += 1  # a mark on the space between words belongs to the next one
        if tokens:
            owned[i].append(mark)
    samples: list[int | None] = [None] * len(tokens)
    handed_on: list[int | None] = [None] * len(tokens)
    for i, (s, e) in enumerate(tokens):
        first = s
        while first < e and not text[first].isalnum():
            first += 1
        own = [m for m in owned[i] if m.offset <= first]
        if own:
            samples[i] = min(m.sample for m in own)
        elif owned[i]:
            samples[i] = min(m.sample for m in owned[i])
        # "no longer": espeak reports the second word at the first one's position + 1
        extra = [m for m in owned[i] if m.offset == first + 1]
        word = text[s:e]
        if own and extra and not any(c.isdigit() for c in word) and i + 1 < len(tokens) and not owned[i + 1]:
            handed_on[i + 1] = min(m.sample for m in extra)
    for i, sample in enumerate(handed_on):
        if samples[i] is None and sample is not None:
            samples[i] = sample
    last = -1
    for i, sample in enumerate(samples):  # a time going back (never seen) is dropped, not trusted
        if sample is None:
            continue
        if sample < last:
            samples[i] = None
        else:
            last = sample
    return samples


def align(written: str, spoken: Sequence[str]) -> list[tuple[int, int, int]]:
    """Written words that correspond to spoken ones: (offset in ``written``, chunk, word of that chunk).

    Only words in runs that match on both sides, in order: none inside a rewritten span.

    >>> align("It cost $1.2 billion & more.", ["It cost one point two billion dollars and more."])
    [(0, 0, 0), (3, 0, 1), (13, 0, 5), (23, 0, 8)]
    """
    left = [(m.start(), comparable(m.group())) for m in _TOKEN.finditer(written)]
    right = [
        (k, w, comparable(m.group())) for k, chunk in enumerate(spoken) for w, m in enumerate(_TOKEN.finditer(chunk))
    ]
    # Words of punctuation alone ("—", "&") take no part: they are spoken, or not, with their neighbours.
    left = [t for t in left if t[1]]
    right = [t for t in right if t[2]]
    matcher = difflib.SequenceMatcher(None, [t[1] for t in left], [t[2] for t in right], autojunk=False)
    pairs: list[tuple[int, int, int]] = []
    for a, b, size in matcher.get_matching_blocks():
        for n in range(size):
            offset, _ = left[a + n]
            chunk, word, _ = right[b + n]
            pairs.append((offset, chunk, word))
    return pairs


def sentence_anchors(written: str, spoken: Sequence[str], clips: Sequence[PlacedClip]) -> list[tuple[int, int]]:
    """Where the audio says written words start: (offset in ``written``, sample from the sentence's start).

    A clip's first word starts with the clip; the others where its marks say (none
    without marks). ``clips`` are the sentence's clips, one per chunk of ``spoken``.
    """
    times: list[list[int | None]] = []
    for text, clip in zip(spoken, clips, strict=True):
        count = len(_TOKEN.findall(text))
        if clip.words is None:
            starts: list[int | None] = [None] * count
        else:
            starts = [None if s is None else min(s, clip.samples) for s in word_starts(text, clip.words)]
        if starts:
            starts[0] = 0  # the clip is trimmed to its sound: its first word starts with it
        times.append([None if s is None else clip.start + s for s in starts])
    anchors: list[tuple[int, int]] = []
    for offset, chunk, word in align(written, spoken):
        sample = times[chunk][word]
        if sample is not None and (not anchors or sample >= anchors[-1][1]):
            anchors.append((offset, sample))
    return anchors


def cut_at_cues(script: Script, *, rate_wpm: int) -> Script:
    """The script with each sentence's spoken form cut where its cues will break.

    For an engine that cannot time words: each cue's part of a sentence is then
    spoken on its own, and assembly times the cues by the clips. A boundary with no
    spoken counterpart (inside a rewritten span) is not cut; the chunks' own cuts stay.
    """
    from dataclasses import replace

    def cut(sentence: Sentence) -> Sentence:
        words = len(sentence.text.split())
        cues = split_cues(sentence.text, duration_ms=words * 60_000 / rate_wpm, language=script.language)
        if len(cues) < 2:
            return sentence
        boundaries = {cue.start for cue in cues[1:]}
        cuts = {(chunk, word) for offset, chunk, word in align(sentence.text, sentence.chunks) if offset in boundaries}
        chunks: list[str] = []
        for k, chunk in enumerate(sentence.chunks):
            piece: list[str] = []
            for w, token in enumerate(_TOKEN.findall(chunk)):
                if piece and (k, w) in cuts:
                    chunks.append(" ".join(piece))
                    piece = []
                piece.append(token)
            if piece:
                chunks.append(" ".join(piece))
        return replace(sentence, chunks=tuple(chunks))

    return replace(
        script,
        chapters=tuple(
            replace(
                chapter,
                paragraphs=tuple(
                    replace(paragraph, sentences=tuple(cut(s) for s in paragraph.sentences))
                    for paragraph in chapter.paragraphs
                ),
            )
            for chapter in script.chapters
        ),
    )
