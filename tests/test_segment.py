"""Article -> Script: sentences (sentencex), chunks for the engine, chapters and their titles."""

from __future__ import annotations

import itertools
import re
import string
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from narrator.models import Article, Block, BlockKind, Script
from narrator.readers.text import parse_text, read_article
from narrator.segment import (
    MAX_CHAPTERS,
    MAX_CHUNK_CHARS,
    caption_title,
    cut_points,
    has_words,
    heading_title,
    opening_title,
    segment_article,
    split_chunks,
    split_sentences,
    spoken_form,
)

if TYPE_CHECKING:
    from narrator.synth import Synthesizer

SEED = Path(__file__).parent.parent / "seeds" / "north-korea-troops-morale.txt"
RATE = 175
#: Words spoken in ten seconds at RATE: the shortest chapter the rules allow.
MIN_CHAPTER_WORDS = RATE * 10 // 60


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def words_of(text: str) -> str:
    """The letters and digits of ``text``: what is said."""
    return "".join(ch for ch in text if ch.isalnum())


def chapter_words(script: Script) -> list[int]:
    return [sum(len(s.text.split()) for p in c.paragraphs for s in p.sentences) for c in script.chapters]


def article(*blocks: Block, title: str = "A title", byline: str = "") -> Article:
    return Article(source="test.txt", title=title, byline=byline, blocks=blocks)


def para(text: str) -> Block:
    return Block(BlockKind.PARAGRAPH, text)


# --- sentences -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Dr. Kim met U.S. officials at 9 a.m. on Monday.",
        "The U.S. Army and the U.K. Navy trained together.",
        "Growth was 3.5 per cent in the third quarter, e.g. in Seoul.",
        "Items, e.g. drills, ladders and saws, are free to borrow.",
        "They met at 10:30 a.m. at the U.N. headquarters.",
        "Dr. Lee, Mr. Kim and Prof. Park arrived on Jan. 5 with St. John.",
        'She said, "Stop right there," and walked away.',
        "She paused... and then she spoke again.",
        "The answer was… complicated, he said.",
        "The plan (approved in Jan. 2024) was scrapped.",
        "It cost $1.5bn, i.e. more than 3.5 times the estimate.",
    ],
)
def test_abbreviations_decimals_quotes_and_ellipses_do_not_split(sentence: str) -> None:
    assert split_sentences(sentence) == (sentence,)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "Dr. Kim met U.S. officials at 9 a.m. on Monday. It rained.",
            ("Dr. Kim met U.S. officials at 9 a.m. on Monday.", "It rained."),
        ),
        ("They met at 10:30 a.m. Then they left.", ("They met at 10:30 a.m.", "Then they left.")),
        ("He called it “a mistake.” Nobody agreed.", ("He called it “a mistake.”", "Nobody agreed.")),
        ('He said "We will win. We must." Then he left.', ('He said "We will win. We must."', "Then he left.")),
        ("Why? Because he said so!", ("Why?", "Because he said so!")),
    ],
)
def test_sentences_split_where_they_end(text: str, sentences: tuple[str, ...]) -> None:
    assert split_sentences(text) == sentences


def test_seed_sentences() -> None:
    script = segment_article(read_article(SEED), rate_wpm=RATE)
    texts = [s.text for s in script.sentences()]
    assert "None can understand why they should fight for Russia." in texts
    assert (
        "To North Koreans, this was a hindrance of their little country by “great powers” only further "
        "justified why they had to rely on their “great leader.”" in texts
    )
    assert any(t.startswith("Ever since that “betrayal”") and t.endswith("aloof toward Moscow.") for t in texts)
    assert len(texts) == 29


TOKENS = [
    "Dr.",
    "U.S.",
    "e.g.",
    "i.e.",
    "3.5",
    "a.m.",
    "p.m.",
    "Mr.",
    "St.",
    "Jan.",
    "No.",
    "the",
    "Kim",
    "said",
    "it",
    "rained.",
    "Why?",
    "Yes!",
    "fine,",
    "...",
    "…",
    "“Hi.”",
    '"No!"',
    "(approx.)",
    "—",
    "1.",
    "2024.",
    "'quoted'",
    "&",
    "<b>",
    "\n",
    "A.",
    "$1.5bn.",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40).map(" ".join))
def test_sentences_rejoin_to_the_text(text: str) -> None:
    sentences = split_sentences(text)
    assert squash("".join(sentences)) == squash(text)
    assert all(s == s.strip() and s for s in sentences)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_sentences_rejoin_to_any_text(text: str) -> None:
    assert squash("".join(split_sentences(text))) == squash(text)


# --- chunks: over-long sentences, for the engine only ----------------------------

LONG = (
    "With some 1,500 North Korean troops believed to be in Russia and another 8,500 about to be sent, "
    "according to Ukrainian and South Korean intelligence, the morale question is of immediate significance; "
    "although the lid may be kept on as the country is a dictatorship, pressure will mount if the regime fails "
    "to address it, and the soldiers who return home will talk."
)


def test_an_over_long_sentence_is_one_caption_but_several_chunks() -> None:
    script = segment_article(article(para(LONG)), rate_wpm=RATE)
    (sentence,) = [s for s in script.sentences() if s.text != "A title"]
    assert sentence.text == LONG
    assert len(sentence.chunks) >= 2
    assert all(len(chunk) <= MAX_CHUNK_CHARS for chunk in sentence.chunks)
    assert squash("".join(sentence.chunks)) == squash(LONG)


def test_over_long_sentences_split_at_clause_boundaries() -> None:
    chunks = split_chunks(LONG)
    assert len(chunks) >= 2
    for chunk in chunks[:-1]:
        assert chunk[-1] in ",;:", chunk


def test_short_sentences_are_one_chunk() -> None:
    assert split_chunks("Short and sweet, as it should be.") == ("Short and sweet, as it should be.",)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*TOKENS, "supercalifragilistic", "x" * 40]), min_size=1, max_size=60).map(" ".join),
    st.integers(min_value=8, max_value=120),
)
def test_chunks_rejoin_and_fit(text: str, max_chars: int) -> None:
    chunks = split_chunks(text, max_chars)
    assert words_of("".join(chunks)) == words_of(text)
    assert all(0 < len(chunk) <= max_chars for chunk in chunks)
    assert all(has_words(chunk) for chunk in chunks) or not has_words(text)  # a cut-off ")" is not a chunk


# --- what the engine is given ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("<speak>Hello there</speak>", ["speak", "Hello", "there"]),
        ('Wait <break time="10s"/> here.', ["Wait", "break", "time", "10s", "here"]),
        ("Tom &amp; Jerry", ["Tom", "and", "Jerry"]),
        ("The feed ended ]]> abruptly.", ["The", "feed", "ended", "abruptly"]),
        ("<![CDATA[ data ]]>", ["data"]),
    ],
)
def test_markup_is_read_as_words(text: str, words: list[str]) -> None:
    spoken = spoken_form(text)
    assert not set("<>&") & set(spoken)
    assert "]]>" not in spoken
    assert all(word in spoken for word in words)


def test_markup_stays_in_the_caption_text() -> None:
    text = 'He typed <speak> and <break time="10s"/> and Tom &amp; Jerry, then ]]> by mistake.'
    (sentence,) = [s for s in segment_article(article(para(text)), rate_wpm=RATE).sentences() if s.text != "A title"]
    assert sentence.text == text
    assert not any(ch in chunk for chunk in sentence.chunks for ch in "<>&")


# --- the script of an article ------------------------------------------------------


def test_opening_is_title_then_byline() -> None:
    script = segment_article(article(para("Body text here."), title="The title", byline="Anna Smith"), rate_wpm=RATE)
    opening = script.chapters[0].paragraphs[0].sentences
    assert [s.text for s in opening] == ["The title", "By Anna Smith"]


def test_no_byline_means_no_by_sentence() -> None:
    script = segment_article(article(para("Body text here.")), rate_wpm=RATE)
    assert not any(s.text.startswith("By ") for s in script.sentences())


def test_image_caption_is_marked_and_its_credit_not_spoken() -> None:
    caption = "Troops on parade in Pyongyang on Thursday (Image: KCNA)"
    script = segment_article(article(para("Before."), Block(BlockKind.CAPTION, caption), para("After.")), rate_wpm=RATE)
    (sentence,) = [s for s in script.sentences() if s.text == caption]
    spoken = " ".join(sentence.chunks)
    assert spoken.startswith("Image caption: Troops on parade in Pyongyang on Thursday")
    assert "KCNA" not in spoken and "Image:" not in spoken


def test_seed_caption_is_marked_and_its_credit_not_spoken() -> None:
    script = segment_article(read_article(SEED), rate_wpm=RATE)
    (sentence,) = [s for s in script.sentences() if s.text.endswith("(Image: KCNA)")]
    assert sentence.text.startswith("Amid ongoing reports")
    assert " ".join(sentence.chunks).startswith("Image caption: Amid ongoing reports")
    assert "KCNA" not in " ".join(sentence.chunks)


def test_page_chrome_is_not_narrated(article_path: Path) -> None:
    import json

    dropped = json.loads(article_path.with_suffix(".json").read_text(encoding="utf-8"))["dropped"]
    script = segment_article(read_article(article_path), rate_wpm=RATE)
    spoken = [chunk for s in script.sentences() for chunk in s.chunks]
    for chrome in dropped:
        assert not any(chrome in s.text for s in script.sentences()), chrome
        assert not any(chrome in chunk for chunk in spoken), chrome


def test_seed_page_chrome_is_not_narrated() -> None:
    script = segment_article(read_article(SEED), rate_wpm=RATE)
    assert not any(re.search(r"\bClose\b", s.text) for s in script.sentences())


def test_sentences_rejoin_to_the_article(article_path: Path) -> None:
    source = read_article(article_path)
    script = segment_article(source, rate_wpm=RATE)
    paragraphs = [p for c in script.chapters for p in c.paragraphs][1:]  # the first is the title and byline
    assert [squash(" ".join(s.text for s in p.sentences)) for p in paragraphs] == [
        squash(b.text) for b in source.blocks
    ]


# --- chapters ----------------------------------------------------------------------


def test_seed_chapters_are_paragraphs_titled_by_their_first_sentence() -> None:
    script = segment_article(read_article(SEED), rate_wpm=RATE)
    assert len(script.chapters) >= 5
    assert script.chapters[0].title == heading_title(script.title) == script.title
    for chapter in script.chapters[1:]:
        assert chapter.title == opening_title(chapter.paragraphs)
        assert len(chapter.title) <= 60


def test_chapter_titles_from_the_seed() -> None:
    """The title whole (it is a heading); else a sentence's opening clause, or its words and "…",
    never ending on "the" or "and"."""
    titles = [c.title for c in segment_article(read_article(SEED), rate_wpm=RATE).chapters]
    assert titles == [
        "Why fight for Russia? Deaths of North Korean officers in Ukraine raises questions about morale",
        "The deaths of six North Korean military officers…",
        "That is that, while military cooperation between the two…",
        "The atmosphere inside North Korea is complicated…",
        "Ever since that “betrayal” of the communist cause…",
        "North Korea has strongly criticized Soviet and Chinese…",
        "While awareness of China is greater",
        "According to Lee, who defected in 2016",
        "Park, an artillery officer who defected in 2018",
        "Defectors generally concur with this",
        "The incident is more likely to be seen as an accident",
    ]


def test_a_heading_keeps_its_own_words_and_punctuation() -> None:
    blocks = (Block(BlockKind.HEADING, "Why now?"), para("Because the council voted on Monday, after years. " * 3))
    page = Article(source="t.md", title="Trams: what next?", byline="", blocks=blocks, marked_headings=True)
    script = segment_article(page, rate_wpm=RATE)
    assert [c.title for c in script.chapters] == ["Trams: what next?", "Why now?"]


def test_headings_title_their_chapters() -> None:
    path = Path(__file__).parent / "data" / "articles" / "trams-subheadings.txt"
    titles = [c.title for c in segment_article(read_article(path), rate_wpm=RATE).chapters]
    assert titles == [
        "How the city plans to cut traffic in half",
        "Trams return to the centre",
        "A charge for drivers",
        "What happens next",
    ]


def test_short_paragraphs_merge_into_chapters_of_ten_seconds() -> None:
    blocks = [para(f"Item {i} of the list is short.") for i in range(40)]
    script = segment_article(article(*blocks), rate_wpm=RATE)
    assert 1 < len(script.chapters) < 40
    assert min(chapter_words(script)) >= MIN_CHAPTER_WORDS


@pytest.mark.parametrize("rate", [90, 175, 300])
def test_every_chapter_lasts_about_ten_seconds(article_path: Path, rate: int) -> None:
    script = segment_article(read_article(article_path), rate_wpm=rate)
    if len(script.chapters) > 1:
        assert min(chapter_words(script)) >= rate * 10 // 60


def test_short_sections_under_headings_still_make_ten_second_chapters() -> None:
    text = (
        "City plans to cut traffic\n\n"
        "Trams return\n\n"
        "The first of three tram lines will run from the railway station to the university. Engineers expect it "
        "to carry 40,000 passengers a day when it opens next year, and more later.\n\n"
        "A charge for drivers\n\n"
        "Drivers will pay a daily charge.\n\n"
        "What happens next\n\n"
        "The council will vote on the plan in March. If it is approved, work on the first tram line could begin "
        "next year, officials said on Monday afternoon.\n"
    )
    script = segment_article(parse_text(text, source="trams.txt"), rate_wpm=RATE)
    assert len(script.chapters) > 1
    assert min(chapter_words(script)) >= MIN_CHAPTER_WORDS, [
        (c.title, n) for c, n in zip(script.chapters, chapter_words(script), strict=True)
    ]


def test_never_more_than_255_chapters() -> None:
    sentence = "is long enough to be a chapter of its own, because it has many words in it, and more besides."
    blocks = [para(f"Paragraph {i} {sentence} It has two sentences.") for i in range(1000)]
    script = segment_article(article(*blocks), rate_wpm=RATE)
    assert len(script.chapters) <= MAX_CHAPTERS == 255
    assert len(script.chapters) >= 100
    # Merging keeps every sentence, in order.
    assert " ".join(s.text for s in script.sentences()[1:]) == " ".join(b.text for b in blocks)


def test_never_more_than_255_chapters_with_headings() -> None:
    blocks = []
    for i in range(400):
        blocks += [Block(BlockKind.HEADING, f"Part {i}"), para("A paragraph of some length follows. " * 8)]
    script = segment_article(article(*blocks), rate_wpm=RATE)
    assert 100 <= len(script.chapters) <= 255


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=80), min_size=1, max_size=80), st.integers(80, 450))
def test_chapters_keep_every_paragraph_in_order(sizes: list[int], rate: int) -> None:
    blocks = [para(" ".join(["word"] * (n - 1) + [f"end{i}."])) for i, n in enumerate(sizes)]
    script = segment_article(article(*blocks), rate_wpm=rate)
    assert [p.sentences[-1].text for c in script.chapters for p in c.paragraphs][1:] == [b.text for b in blocks]
    assert 1 <= len(script.chapters) <= MAX_CHAPTERS
    assert all(c.paragraphs for c in script.chapters)
    if len(script.chapters) > 1:
        assert min(chapter_words(script)) >= rate * 10 // 60


# --- chapter titles ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "title"),
    [
        ("Short and sweet.", "Short and sweet"),
        ("Why now?", "Why now?"),
        ("- Z is the revision.", "Z is the revision"),
        (
            "The deaths of six North Korean military officers in the Russian-occupied part",
            "The deaths of six North Korean military officers…",
        ),
        (
            "Why fight for Russia? Deaths of North Korean officers in Ukraine raises questions about morale",
            "Why fight for Russia?",
        ),
        (
            "According to Lee, who defected in 2016, soldiers have no particular hostility.",
            "According to Lee, who defected in 2016",
        ),
        (
            "The incident is more likely to be seen as an accident, and, as such, forgotten.",
            "The incident is more likely to be seen as an accident",
        ),
        (
            "The institute's website (https://www.example.org/a/very/long/path/to/the/page) says so.",
            "The institute's website",
        ),
        ("x" * 80, "x" * 59 + "…"),
    ],
)
def test_caption_title(sentence: str, title: str) -> None:
    assert caption_title(sentence) == title


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.text(alphabet=string.ascii_letters + "éü,;.’“”-", min_size=1, max_size=14), min_size=1, max_size=30
    ).map(" ".join)
)
def test_caption_title_is_short_and_cut_on_a_word(sentence: str) -> None:
    title = caption_title(sentence)
    assert len(title) <= 60
    text = " ".join(sentence.split())
    kept = title.removesuffix("…")
    start = text.find(kept)
    assert 0 <= start <= 4, (text, title)  # the sentence's start, or after a list's bullet
    assert start == 0 or text[start - 1] == " "
    end = start + len(kept)
    if end < len(text) and " " in text[:60]:
        assert text[end] in ' ,;:—–.!?…"“”‘’«»()[]', (text, title)  # between words, or before an unclosed quote


# --- nothing in an article's text stops a run ------------------------------------------------

REAL = Path(__file__).parent / "data" / "real"


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Use gzip (or bzip2 [bz].)", ("Use gzip (or bzip2 [bz].)",)),
        ("Then run ./configure --prefix=/usr and make.", ("Then run ./configure --prefix=/usr and make.",)),
        ("Run ./configure --prefix=/usr. Then make.", ("Run ./configure --prefix=/usr.", "Then make.")),
        ("Read https://tukaani.org/xz/. It is fine.", ("Read https://tukaani.org/xz/.", "It is fine.")),
        ("Edit ./src/man_db.conf first. Then build.", ("Edit ./src/man_db.conf first.", "Then build.")),
        ("See lzma.h and xz-5.4.1.tar.gz for v5.2.0. Done.", ("See lzma.h and xz-5.4.1.tar.gz for v5.2.0.", "Done.")),
        ("It is (see A. Smith. B. Jones.) fine. Next.", ("It is (see A. Smith. B. Jones.) fine.", "Next.")),
        ("He paused... ... Then he left.", ("He paused... ...", "Then he left.")),
        ("Do this: 1. Try it. 2. Report it.", ("Do this:", "1. Try it.", "2. Report it.")),
        ("1. Try to create a small example.", ("1. Try to create a small example.",)),
    ],
)
def test_the_splitter_never_cuts_inside_paths_addresses_versions_or_brackets(
    text: str, sentences: tuple[str, ...]
) -> None:
    assert split_sentences(text) == sentences


@pytest.mark.parametrize(
    "unsayable",
    ["...", "____________", "’", "\u2060\u2060", "* * *", ")"],
    ids=["ellipsis", "underscores", "quote", "word-joiners", "stars", "bracket"],
)
def test_a_fragment_with_nothing_to_say_joins_its_neighbour(unsayable: str) -> None:
    """What real pages had between two sentences, and the engine said nothing for."""
    script = segment_article(article(para("He paused."), para(unsayable), para("Then he left.")), rate_wpm=RATE)
    texts = [s.text for s in script.sentences()]
    assert texts == ["A title", f"He paused. {unsayable}", "Then he left."]
    assert all(has_words(chunk) for s in script.sentences() for chunk in s.chunks)


def test_a_sentence_the_voice_cannot_read_is_said_with_its_neighbour_and_keeps_its_caption() -> None:
    script = segment_article(article(para("東京は大きい。"), para("Tokyo is big.")), rate_wpm=RATE)
    texts = [s.text for s in script.sentences()]
    assert texts == ["A title 東京は大きい。", "Tokyo is big."]
    assert [s.chunks for s in script.sentences()] == [("A title",), ("Tokyo is big.",)]


def test_an_article_with_nothing_to_say_is_the_one_has_no_words_error() -> None:
    from narrator.errors import InputError

    with pytest.raises(InputError, match="has no words to narrate"):
        segment_article(article(para("東京 😀"), title="😀"), rate_wpm=RATE)


@pytest.mark.parametrize("name", ["xz-utils-README.txt", "man-db-README.md"])
def test_debian_readmes_have_nothing_the_engine_cannot_say(name: str) -> None:
    """Both stopped a run: a "." cut off "./configure", a ")" cut off "[bz].)"."""
    from narrator.readers import read

    script = segment_article(read(REAL / name), rate_wpm=RATE)
    chunks = [chunk for s in script.sentences() for chunk in s.chunks]
    assert chunks and all(has_words(chunk) for chunk in chunks)
    assert not any(s.text in {".", ")"} or s.text.startswith("/configure") for s in script.sentences())


# --- structure for text that has none ------------------------------------------------------------

#: Words in three minutes at RATE: the longest chapter the rules aim for ("about": pieces come near even).
MAX_CHAPTER_WORDS = RATE * 3


def wall_of_text(path: Path) -> Article:
    """A real text with its headings and paragraphs run together into one paragraph."""
    from narrator.readers import read

    source = read(path)
    return article(para(" ".join(block.text for block in source.blocks)), title=source.title)


def test_a_wall_of_text_becomes_chapters_of_about_three_minutes() -> None:
    """The xz-utils README, 1,900 words in one paragraph: 11 minutes in one chapter before."""
    script = segment_article(wall_of_text(REAL / "xz-utils-README.txt"), rate_wpm=RATE)
    words = chapter_words(script)
    assert sum(words) > 1700  # its code blocks and tables are not read
    assert len(script.chapters) >= 4
    assert max(words) <= MAX_CHAPTER_WORDS * 1.05
    assert min(words) >= MAX_CHAPTER_WORDS * 0.4  # near even, not one long and one short
    for chapter in script.chapters:
        assert not chapter.title.endswith(("the…", "and…", "of…", "in…"))


@pytest.mark.parametrize("rate", [90, 175, 300])
def test_every_chapter_lasts_at_most_about_three_minutes(article_path: Path, rate: int) -> None:
    longest = rate * 3 * 1.05
    for source in (read_article(article_path), wall_of_text(REAL / "man-db-README.md")):
        assert max(chapter_words(segment_article(source, rate_wpm=rate))) <= longest


def test_a_text_without_full_stops_is_cut_too() -> None:
    words = " ".join(f"word{i}," if i % 17 == 16 else f"word{i}" for i in range(2000))
    script = segment_article(article(para(words)), rate_wpm=RATE)
    assert max(chapter_words(script)) <= MAX_CHAPTER_WORDS * 1.05
    assert " ".join(s.text for s in script.sentences()[1:]) == words
    assert max(len(s.text.split()) for s in script.sentences()) <= 120


def test_a_wall_of_text_is_cut_where_its_topic_changes() -> None:
    """Two real texts on two topics run together, each about two and a half minutes long: the seed
    (soldiers' morale) and the xz-utils README (compression). The cut falls where one ends."""
    from narrator.readers import read

    news = [s for b in read_article(SEED).blocks for s in split_sentences(b.text)]
    manual = [s for b in read(REAL / "xz-utils-README.txt").blocks[1:] for s in split_sentences(b.text)]

    def about(sentences: list[str], words: int) -> list[str]:
        return sentences[: next(i for i in range(len(sentences)) if len(" ".join(sentences[:i]).split()) >= words)]

    a, b = about(news, MAX_CHAPTER_WORDS * 5 // 6), about(manual, MAX_CHAPTER_WORDS * 5 // 6)
    script = segment_article(article(para(" ".join(a + b))), rate_wpm=RATE)
    assert len(script.chapters) == 2
    first_chapter_ends = script.chapters[0].paragraphs[-1].sentences[-1].text
    assert first_chapter_ends in (a[-2], a[-1], b[0]), first_chapter_ends  # one sentence off at most


def test_a_last_sentence_too_long_for_any_chapter_is_a_piece_of_its_own() -> None:
    """A run of marks that the engine cannot say joins one sentence ("Start - - - ..."): as the
    last of its chapter it was cut after as well, and the empty piece after it raised IndexError."""
    assert cut_points(["a b", "x " * 50], 10, 2) == [1]
    text = "Start " + "- " * 5000
    script = segment_article(article(para(text.strip())), rate_wpm=RATE)
    assert [s.text for s in script.sentences()] == ["A title", text.strip()]
    assert [len(c.paragraphs) for c in script.chapters] == [1, 1]
    # After shorter sentences too, at the size that made cue building quadratic.
    text = "Start " + "- " * 20_000
    opening = "The ferry leaves at dawn. It crosses the bay in an hour. " * 30
    script = segment_article(article(para(opening.strip()), para(text.strip())), rate_wpm=RATE)
    assert script.chapters[-1].paragraphs[-1].sentences[-1].text == text.strip()
    assert all(c.paragraphs for c in script.chapters)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=40), st.integers(5, 80), st.integers(0, 10))
def test_cut_points_cut_inside_the_run_into_pieces_that_fit(lengths: list[int], max_words: int, min_words: int) -> None:
    """Every cut starts a piece that has a sentence (never after the last one), and a piece is over
    ``max_words`` only when it is one sentence too long for any piece."""
    sentences = [" ".join(["word"] * n) for n in lengths]
    cuts = cut_points(sentences, max_words, min_words)
    assert cuts == sorted(set(cuts)) and all(0 < c < len(sentences) for c in cuts)
    for a, b in itertools.pairwise([0, *cuts, len(sentences)]):
        assert sum(lengths[a:b]) <= max_words or b - a == 1, (a, b)


def test_cut_points_prefer_the_topic_change_to_the_middle() -> None:
    cats = ["Cats purr when content and knead soft blankets."] * 7
    rockets = ["Rockets launch satellites into orbit from coastal pads."] * 3
    assert cut_points(cats + rockets, max_words=60, min_words=10) == [7]


def test_titles_of_the_pieces_read_as_titles() -> None:
    script = segment_article(wall_of_text(REAL / "man-db-README.md"), rate_wpm=RATE)
    for chapter in script.chapters[1:]:
        assert len(chapter.title) <= 60
        title = chapter.title.removesuffix("…")
        assert title.split()[-1].lower() not in {"the", "a", "and", "of", "in", "to"}, chapter.title


# --- any text at all: it narrates, or is the one "has no words" error ---------------------------

#: What real pages hold that an engine may say nothing for, beside any Unicode at all.
ODD_PIECES = [
    "...",
    "…",
    "____",
    "* * *",
    "’",
    "”",
    ")",
    "(",
    "[",
    "]",
    "{}",
    "\u2060\u2060",
    "—",
    "!!!",
    "?!",
    "-",
    "./configure",
    "--prefix=/usr",
    "(or bzip2 [bz].)",
    "v5.4.1",
    "https://example.org/a.b",
    "a@b.example",
    "😀",
    "👍🏽",
    "🇩🇪",
    "👨‍👩‍👧",
    "東京",
    "القاهرة",
    "Москва",
    "서울",
    "Ꭰ",
    "٣",
    "①",
    "ᴀ",
    "ǂ",
    "\u0301",
    "\x07",
    "\x1b[0m",
    "\u200b",
    "\ufeff",
    "\u202e",
    "\U000f0001",
    "\ue000",
    "$5",
    "€1.2bn",
    "3.",
    "1990s",
    "'90s",
    "Dr.",
    "z. B.",
    "M.",
    "§",
    "%",
    "&",
    "#",
    "1:00",
    "2019-2024",
]
WORDS = ["word", "Sentence.", "And more words here.", "Ja.", "Oui !"]
PARAGRAPHS = st.lists(
    st.lists(
        st.one_of(st.text(min_size=1, max_size=20), st.sampled_from(ODD_PIECES), st.sampled_from(WORDS)),
        min_size=1,
        max_size=10,
    ).map(lambda pieces: "".join(p if i % 3 else f" {p}" for i, p in enumerate(pieces))),
    min_size=1,
    max_size=4,
)


@pytest.fixture(scope="module")
def espeak() -> Iterator[Synthesizer]:
    """The real engine, in one worker process for the whole module."""
    from narrator.synth import Synthesizer, Voicing

    with Synthesizer(Voicing(engine="pyttsx3", voice="", rate=RATE), jobs=1, cache=None) as synthesizer:
        yield synthesizer


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paragraphs=PARAGRAPHS, language=st.sampled_from(["en", "de", "fr", "es"]))
def test_any_text_narrates_or_has_no_words(espeak: Synthesizer, paragraphs: list[str], language: str) -> None:
    """Arbitrary Unicode paragraphs (punctuation runs, brackets, emoji, mixed scripts, control
    characters) are read, segmented and said by espeak-ng, or are the one "has no words" error."""
    from dataclasses import replace

    from narrator.errors import InputError
    from narrator.language import choose_voice, voices_of

    text = "\n\n".join(paragraphs)
    assume(any(not ch.isspace() and unicodedata.category(ch)[0] != "C" for ch in text))  # else it "is empty"
    try:
        source = replace(parse_text(text, source="any.txt"), language=language)
        script = segment_article(source, rate_wpm=RATE)
    except InputError as exc:
        assert exc.reason == "has no words to narrate", exc
        event("has no words")
        return
    chunks = [chunk for s in script.sentences() for chunk in s.chunks]
    assert chunks and all(has_words(chunk) for chunk in chunks)
    espeak.voicing = replace(espeak.voicing, voice=choose_voice(language, voices_of(espeak)))
    clips = list(espeak.clips(chunks))  # SynthesisError, or any other, fails the test
    assert len(clips) == len(chunks) and all(clip.pcm for clip in clips)
    event("narrated")
    if any(not clip.pcm.strip(b"\0") for clip in clips):
        event("a chunk the voice said nothing for: a pause")


def test_a_huge_wall_of_text_is_cut_in_time_that_grows_with_its_length() -> None:
    """A text whose cohesion only ever rises made the search for peaks quadratic: 4,000 sentences took
    4 s, 16,000 a minute. Now bounded, so this (100,000 words) ends well within the guard."""
    import signal

    sentences = [" ".join(f"term{i // 3 + j}" for j in range(12)) + "." for i in range(8_000)]

    def stop(signum: int, frame: object) -> None:
        raise AssertionError("segmenting 100,000 words did not end within 60 s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    try:
        script = segment_article(article(para(" ".join(sentences))), rate_wpm=RATE)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert len(script.chapters) <= MAX_CHAPTERS
    assert max(chapter_words(script)) <= MAX_CHAPTER_WORDS * 1.05
