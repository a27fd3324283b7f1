"""split_cues: a sentence into cues of caption size, by the break rules, timed by anchors.

Every split in this file is checked against the same invariants (``check_cues``): the
cues tile the sentence and rebuild it, no line is over its limit unless it is one piece
too long for any line, and times never go backwards. Real text (the seed, the longer
articles in tests/data/long) and generated text (Hypothesis) go through it.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator import cues as cues_module
from narrator.cues import CueSpan, Limits, limits_for, split_cues, width
from narrator.readers.text import read_article
from narrator.segment import segment_article

TESTS = Path(__file__).parent
SEED = TESTS.parent / "seeds" / "north-korea-troops-morale.txt"
LONG = sorted((TESTS / "data" / "long").glob("*.txt"))
_SPACE = re.compile(r"\s*[^\S\u00a0\u2007\u202f]\s*")

FILLER = re.findall(
    r"\S+",
    "the report said that officials in the capital had been told to expect a long and difficult winter "
    "while talks with the neighbouring countries continued for several more weeks without any result",
)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def check_cues(text: str, result: Sequence[CueSpan], limits: Limits, anchors: Sequence[tuple[int, float]] = ()) -> None:
    if not text.strip():
        assert result == ()
        return
    assert result and result[0].start == 0 and result[-1].end == len(text)
    for a, b in itertools.pairwise(result):
        assert a.end == b.start and a.start < a.end
        assert a.end_ms == b.start_ms  # a sentence's cues follow each other
    assert "".join(squash(c.text) for c in result) == squash(text)
    # A line over the limit is allowed only as one piece no break may enter (a URL, say).
    pieces = {_SPACE.sub(" ", text[a.start : a.end]) for a in cues_module._atoms(text)}
    for cue in result:
        span = _SPACE.sub(" ", text[cue.start : cue.end]).strip()
        assert span in (cue.text.replace("\n", " "), cue.text.replace("\n", "")), (span, cue.text)
        assert 1 <= len(cue.lines) <= limits.max_lines, cue.text
        for line in cue.lines:
            assert line and line == line.strip() and "  " not in line, repr(cue.text)
            assert width(line) <= limits.max_chars or line in pieces, line
        assert 0 <= cue.start_ms <= cue.end_ms
        stamps = [ms for _, ms in cue.words]
        assert stamps == sorted(stamps) and all(cue.start_ms <= ms <= cue.end_ms for ms in stamps)
        assert all(0 < offset < len(cue.text) for offset, _ in cue.words)
    if anchors:
        at = dict(anchors)
        for cue in result[1:]:
            assert not cue.timed or cue.start in at, cue
            if cue.timed:
                assert cue.start_ms == round(at[cue.start])


def lines_of(result: Sequence[CueSpan]) -> list[str]:
    return [line for cue in result for line in cue.lines]


def padded(phrase: str, before: int) -> str:
    text = " ".join([*FILLER[:before], phrase, *FILLER[before : before + 14]])
    return text[0].upper() + text[1:] + "."


def sentences_of(path: Path) -> list[tuple[str, str]]:
    article = read_article(path)
    return [(s.text, article.language) for s in segment_article(article, rate_wpm=175).sentences()]


# --- examples -------------------------------------------------------------------------------


def test_a_short_sentence_is_one_cue_on_one_line() -> None:
    (cue,) = split_cues("None can understand why.")
    assert (cue.text, cue.start, cue.end, cue.start_ms) == ("None can understand why.", 0, 24, 0)


def test_blank_text_has_no_cues() -> None:
    assert split_cues("") == () and split_cues(" \n\t ") == ()


def test_two_lines_before_two_cues_and_no_cue_ends_on_a_weak_break() -> None:
    (cue,) = split_cues("The atmosphere inside North Korea is complicated and chaotic among the young.")
    assert len(cue.lines) == 2
    text = "The atmosphere inside North Korea is complicated and chaotic, especially among the young."
    assert [c.text for c in split_cues(text)] == [
        "The atmosphere inside North Korea\nis complicated and chaotic,",
        "especially among the young.",
    ]


@pytest.mark.parametrize(
    "phrase",
    [
        "1,500",
        "€1.2 billion",
        "2019 – 2024",
        "10 000",
        "50 per cent",
        "North Korea",
        "Kim Jong Un",
        "Charles de Gaulle",
        "https://www.example.org/reports/2024/north-korea?lang=en",
        "press@example.co.uk",
    ],
)
def test_names_numbers_and_addresses_are_never_broken(phrase: str) -> None:
    for before in range(16):
        text = padded(phrase, before)
        result = split_cues(text)
        check_cues(text, result, limits_for("en"))
        assert any(phrase.lower() in line.lower() for line in lines_of(result)), (phrase, lines_of(result))


def test_no_line_ends_with_an_article_or_preposition_and_no_cue_is_one_word() -> None:
    for text, language in sentences_of(SEED):
        result = split_cues(text, language=language)
        for line in lines_of(result)[:-1]:
            assert line.split()[-1].lower() not in {"a", "an", "the", "of", "to", "in", "with", "for", "by"}, line
        if len(text.split()) > 1:
            assert all(len(c.text.split()) > 1 for c in result), [c.text for c in result]


def test_line_length_is_a_per_language_setting() -> None:
    assert (limits_for("en").max_chars, limits_for("de-AT").max_chars, limits_for("ja").max_chars) == (42, 42, 13)
    text = "東京都は今年の夏、記録的な暑さに見舞われ、電力の需要が過去最高を更新した。"
    assert all(width(line) <= 13 for line in lines_of(split_cues(text, language="ja")))


# --- timing ---------------------------------------------------------------------------------


def at_pace(text: str, ms_per_char: float = 66.7) -> list[tuple[int, float]]:
    """An anchor at every word, as if it were spoken at about 15 characters a second."""
    return [(m.start(), m.start() * ms_per_char) for m in re.finditer(r"\S+", text)]


def test_cues_start_only_where_an_anchor_is() -> None:
    text = (
        "The deaths of six North Korean military officers in the Russian-occupied part of Ukraine, in a "
        "Ukrainian missile strike that wounded 20 other soldiers, highlighted a dilemma for North Korea."
    )
    anchors = [a for a in at_pace(text) if text[a[0] :].split()[0] not in ("in", "that", "highlighted")]
    result = split_cues(text, anchors, duration_ms=len(text) * 66.7)
    check_cues(text, result, limits_for("en"), anchors)
    assert len(result) > 1 and all(c.timed for c in result)


def test_with_no_anchor_in_reach_a_cue_starts_by_estimate_and_says_so() -> None:
    text = " ".join(["word"] * 60) + "."
    result = split_cues(text, [(0, 0.0)], duration_ms=20_000)
    check_cues(text, result, limits_for("en"), [(0, 0.0)])
    assert len(result) > 1 and not any(c.timed for c in result[1:])


def test_slow_speech_is_split_by_time() -> None:
    text = "We waited, and we waited, for a very long time."
    (fast,) = split_cues(text, at_pace(text, 40), duration_ms=len(text) * 40)
    slow = split_cues(text, at_pace(text, 300), duration_ms=len(text) * 300)
    assert fast.end_ms <= 7000 and len(slow) > 1 and all(c.end_ms - c.start_ms <= 7000 for c in slow)


def test_every_anchor_after_a_cues_start_is_a_word_timestamp() -> None:
    text = "Park, an artillery officer who defected in 2018, believes that soldiers are taught to defend."
    anchors = at_pace(text)
    result = split_cues(text, anchors, duration_ms=len(text) * 66.7)
    stamps = [(c.start + offset, ms) for c in result for offset, ms in c.words]
    inside = {offset for offset, _ in anchors} - {c.start for c in result}
    assert len(stamps) == len(inside)
    for cue in result:  # each timestamp stands before its word in the cue's text
        for offset, _ in cue.words:
            assert not cue.text[offset - 1].isalnum() and cue.text[offset].strip()


# --- real and generated text ----------------------------------------------------------------


@pytest.mark.parametrize("path", [SEED, *LONG], ids=lambda p: p.stem)
def test_real_articles_split_within_the_limits(path: Path) -> None:
    for text, language in sentences_of(path):
        limits = limits_for(language)
        result = split_cues(text, at_pace(text), duration_ms=len(text) * 66.7, language=language)
        check_cues(text, result, limits, at_pace(text))
        assert all(c.end_ms - c.start_ms <= limits.max_ms for c in result if len(c.text.split()) > 2)


_LETTERS = "abcdefghijklmnopqrstuvwxyzäöüéèçñ"
_word = st.text(alphabet=_LETTERS, min_size=1, max_size=12)
_punctuated = st.tuples(
    st.sampled_from(["", "", "", "(", "“", "«\u00a0"]),
    _word,
    st.sampled_from(["", "", "", "", ",", ".", ";", ":", "?", "”", ")", " —", "\u202f?", " ;"]),
).map("".join)
_special = st.sampled_from(
    ["1,500", "€1.2 billion", "10 000", "https://example.org/a?b=c", "x@example.org", "U.S.", "z. B.", "日本語です。"]
)
_token = st.one_of(_punctuated, _punctuated, _word.map(str.capitalize), _special, st.sampled_from(FILLER))


@st.composite
def sentences(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(_token, min_size=1, max_size=60))
    seps = draw(
        st.lists(st.sampled_from([" ", " ", " ", "  ", "\n", "\t"]), min_size=len(tokens), max_size=len(tokens))
    )
    return "".join(t + s for t, s in zip(tokens, seps, strict=True)).strip()


@settings(max_examples=200, deadline=None)
@given(sentences(), st.sampled_from(["en", "de", "fr", "ja", "xx"]))
def test_any_sentence_keeps_the_invariants(text: str, language: str) -> None:
    check_cues(text, split_cues(text, language=language), limits_for(language))


@settings(max_examples=200, deadline=None)
@given(sentences(), st.data())
def test_cues_with_some_anchors_start_at_them_or_say_they_do_not(text: str, data: st.DataObject) -> None:
    anchors = [a for a in at_pace(text) if data.draw(st.booleans())]
    result = split_cues(text, anchors, duration_ms=len(text) * 66.7 + 100)
    check_cues(text, result, limits_for("en"), anchors)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["en", "ja", "ar"]))
def test_any_unicode_at_all(text: str, language: str) -> None:
    check_cues(text, split_cues(text, language=language), limits_for(language))


class _CountingPattern:
    """A compiled pattern that counts the characters it is asked to scan."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.scanned = 0

    def findall(self, text: str) -> list[str]:
        self.scanned += len(text)
        return self.pattern.findall(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        self.scanned += len(text)
        return self.pattern.finditer(text)


@pytest.mark.parametrize("mark", ["- ", ". ", "— ", "” ", "。 "])
def test_a_long_run_of_marks_is_split_in_linear_time(monkeypatch: pytest.MonkeyPatch, mark: str) -> None:
    """Marks alone join the atom before them, so "Start - - - ..." is one atom that grows by each
    token; asking the whole atom about its last tokens each time was quadratic ("Start " + 20,000
    "- " took 28 s). The work is counted, not timed: the characters scanned for whitespace-free runs."""
    counting = _CountingPattern(cues_module._NOT_SPACE)
    monkeypatch.setattr(cues_module, "_NOT_SPACE", counting)
    text = "Start " + mark * 3000
    (cue,) = split_cues(text)
    assert cue.text.split() == text.split()
    assert counting.scanned <= 4 * len(text)  # 9 million before: every token scanned the atom so far


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\u00a0\u2007ab1-—.,東京。", max_size=30), st.data())
def test_the_last_runs_of_a_piece_are_those_findall_gives(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    runs = [m.span() for m in cues_module._NOT_SPACE.finditer(text)]
    found = cues_module._last_runs(text, runs, [a for a, _ in runs], start, end)
    assert found == cues_module._NOT_SPACE.findall(text[start:end])[-2:]


class _ScanCounter:
    """Stands for a compiled pattern and adds up the characters it is asked to search."""

    def __init__(self, pattern: re.Pattern[str], total: list[int]) -> None:
        self._pattern = pattern
        self._total = total

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self._pattern, name)
        if not callable(attribute):
            return attribute

        def counted(*args: object, **kwargs: object) -> object:
            self._total[0] += sum(len(a) for a in args if isinstance(a, str))
            return attribute(*args, **kwargs)

        return counted


def _work_of_split_cues(text: str) -> tuple[int, int]:
    """What ``split_cues(text)`` does, counted, not timed: the characters that the cues module's
    patterns search, and the function calls made (Python's and C's, by a profile hook)."""
    scanned = [0]
    calls = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        calls += event in ("call", "c_call")

    with pytest.MonkeyPatch.context() as patch:
        for name, value in list(vars(cues_module).items()):
            if isinstance(value, re.Pattern):
                patch.setattr(cues_module, name, _ScanCounter(value, scanned))
        sys.setprofile(profile)
        try:
            split_cues(text)
        finally:
            sys.setprofile(None)
    return scanned[0], calls


@pytest.mark.parametrize("mark", ["- ", "。 "])
def test_building_cues_for_a_run_of_marks_grows_linearly(mark: str) -> None:
    """ "Start " + 20,000 "- " took 28 s before the atoms' last tokens were found by bisection.
    Twice the marks must cost about twice the work, measured by what is scanned and called (4x
    when quadratic), so neither that nor another quadratic step can come back; the cue is right."""
    small, large = (_work_of_split_cues("Start " + mark * n) for n in (10_000, 20_000))
    assert large[0] <= 2.5 * small[0], (small, large)  # characters scanned
    assert large[1] <= 2.5 * small[1], (small, large)  # function calls
    text = "Start " + mark * 20_000
    (cue,) = split_cues(text)
    check_cues(text, (cue,), limits_for("en"))
    assert cue.text.split() == text.split()
