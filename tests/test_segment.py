"""Article -> Script: sentences (sentencex), chunks for the engine, chapters and their titles."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.models import Article, Block, BlockKind, Script
from narrator.readers.text import parse_text, read_article
from narrator.segment import (
    MAX_CHAPTERS,
    MAX_CHUNK_CHARS,
    caption_title,
    segment_article,
    split_chunks,
    split_sentences,
    spoken_form,
)

SEED = Path(__file__).parent.parent / "seeds" / "north-korea-troops-morale.txt"
RATE = 175
#: Words spoken in ten seconds at RATE: the shortest chapter the rules allow.
MIN_CHAPTER_WORDS = RATE * 10 // 60


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


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
    assert squash("".join(chunks)) == squash(text)
    assert all(0 < len(chunk) <= max_chars for chunk in chunks)


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
    assert script.chapters[0].title == caption_title(script.title)
    for chapter in script.chapters[1:]:
        assert chapter.title == caption_title(chapter.paragraphs[0].sentences[0].text)
        assert len(chapter.title) <= 60


def test_chapter_titles_from_the_seed() -> None:
    titles = [c.title for c in segment_article(read_article(SEED), rate_wpm=RATE).chapters]
    assert titles[0] == "Why fight for Russia? Deaths of North Korean officers in…"
    assert "The deaths of six North Korean military officers in the…" in titles
    assert "Defectors generally concur with this" in titles


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
        (
            "The deaths of six North Korean military officers in the Russian-occupied part",
            "The deaths of six North Korean military officers in the…",
        ),
        (
            "Why fight for Russia? Deaths of North Korean officers in Ukraine raises questions about morale",
            "Why fight for Russia? Deaths of North Korean officers in…",
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
    if title.endswith("…"):
        kept = title[:-1]
        assert text.startswith(kept)
        if " " in text[:60]:
            assert text[len(kept)] in " ,;:—–", (text, title)  # the cut falls between words
    else:
        assert text.startswith(title)
