"""Captions (WebVTT, SRT) and JSON chapters, and the timeline they are written from.

Formats are pinned by golden files in tests/data/captions (NAME.input.json -> NAME.vtt,
NAME.srt, NAME.chapters.json; NARRATOR_UPDATE_GOLDEN=1 rewrites them) and read back with
third-party parsers: webvtt-py, srt and jsonschema against the Podcasting 2.0 chapters schema.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import math
import os
import re
import string
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.assemble import Pauses, assemble
from narrator.captions import (
    chapters_document,
    format_srt_time,
    format_vtt_time,
    render_chapters_json,
    render_srt,
    render_vtt,
    srt_cue_text,
)
from narrator.cues import limits_for
from narrator.encode import CODEC_DELAY_SAMPLES, TARGET_LUFS, Encoded
from narrator.models import Article, Block, BlockKind, Chapter, Clip, Cue, CueWord, Script, Timeline, WordMark
from narrator.segment import segment_article
from narrator.words import cut_at_cues

DATA = Path(__file__).parent / "data"
GOLDEN = sorted((DATA / "captions").glob("*.input.json"))
SCHEMA = json.loads((DATA / "podcast-chapters.schema.json").read_text(encoding="utf-8"))
RATE = 22050


def load_input(path: Path) -> tuple[list[Cue], list[Chapter], dict[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return (
        [
            Cue(
                start_ms=c["start"],
                end_ms=c["end"],
                text=c["text"],
                words=tuple(CueWord(offset, ms) for offset, ms in c.get("words", ())),
                paragraph=c["place"][0],
                sentence=c["place"][1],
                part=c["place"][2],
            )
            for c in data["cues"]
        ],
        [Chapter(start_ms=a, end_ms=b, title=t) for a, b, t in data["chapters"]],
        data["meta"],
    )


def read_vtt(text: str) -> list[tuple[int, int, str]]:
    """Cues as webvtt-py reads them: times, and the text without its timestamp tags, unescaped."""
    return [
        (c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), html.unescape(c.text))
        for c in webvtt.from_string(text)
    ]


def read_srt(text: str) -> list[tuple[int, int, str]]:
    def ms(delta: dt.timedelta) -> int:
        return round(delta.total_seconds() * 1000)

    return [(ms(s.start), ms(s.end), s.content) for s in srt.parse(text)]


def lines_of(text: str) -> str:
    """A cue's text as a file shows it: its lines, spaces made single, blank lines gone."""
    return "\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())


def karaoke(text: str) -> list[tuple[int, int]]:
    """The cue timestamps of a WebVTT cue's raw text: (offset in the text without tags, ms)."""
    found, plain = [], ""
    for piece in re.split(r"(<\d\d:\d\d:\d\d\.\d\d\d>)", text):
        if piece.startswith("<"):
            found.append(
                (len(html.unescape(plain)), webvtt.models.Timestamp.from_string(piece[1:-1]).in_milliseconds())
            )
        else:
            plain += piece
    return found


def validate_chapters(document: object) -> None:
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)
    starts = [c["startTime"] for c in document["chapters"]]  # type: ignore[index]
    assert starts == sorted(starts), "chapters must be in ascending startTime order"


# --- timestamps ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "vtt", "srt_time"),
    [
        (0, "00:00:00.000", "00:00:00,000"),
        (61_500, "00:01:01.500", "00:01:01,500"),
        (3_599_999, "00:59:59.999", "00:59:59,999"),
        (3_600_000 * 11 + 5, "11:00:00.005", "11:00:00,005"),
    ],
)
def test_timestamps(ms: int, vtt: str, srt_time: str) -> None:
    assert format_vtt_time(ms) == vtt
    assert format_srt_time(ms) == srt_time


@settings(max_examples=500)
@given(st.integers(min_value=0, max_value=100 * 3_600_000 - 1))
def test_format_vtt_time_round_trips(ms: int) -> None:
    assert webvtt.models.Timestamp.from_string(format_vtt_time(ms)).in_milliseconds() == ms


@settings(max_examples=500)
@given(st.integers(min_value=0, max_value=100 * 3_600_000 - 1))
def test_format_srt_time_round_trips(ms: int) -> None:
    assert srt.srt_timestamp_to_timedelta(format_srt_time(ms)) == dt.timedelta(milliseconds=ms)


# --- golden files ----------------------------------------------------------------


def matches_golden(rendered: str, golden: Path) -> bool:
    if os.environ.get("NARRATOR_UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    return rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("source", GOLDEN, ids=[p.name.split(".")[0] for p in GOLDEN])
def test_vtt_matches_golden(source: Path) -> None:
    cues, _, _ = load_input(source)
    assert matches_golden(render_vtt(cues), source.with_name(source.name.replace(".input.json", ".vtt")))


@pytest.mark.parametrize("source", GOLDEN, ids=[p.name.split(".")[0] for p in GOLDEN])
def test_srt_matches_golden(source: Path) -> None:
    cues, _, _ = load_input(source)
    assert matches_golden(render_srt(cues), source.with_name(source.name.replace(".input.json", ".srt")))


@pytest.mark.parametrize("source", GOLDEN, ids=[p.name.split(".")[0] for p in GOLDEN])
def test_chapters_json_matches_golden(source: Path) -> None:
    _, chapters, meta = load_input(source)
    golden = source.with_name(source.name.replace(".input.json", ".chapters.json"))
    rendered = render_chapters_json(chapters, **meta)
    assert json.loads(rendered) == json.loads(golden.read_text(encoding="utf-8"))
    assert rendered.endswith("\n")
    validate_chapters(json.loads(rendered))


@pytest.mark.parametrize("source", GOLDEN, ids=[p.name.split(".")[0] for p in GOLDEN])
def test_golden_captions_round_trip_through_parsers(source: Path) -> None:
    cues, _, _ = load_input(source)
    assert read_vtt(render_vtt(cues)) == [(c.start_ms, c.end_ms, lines_of(c.text)) for c in cues]
    assert read_srt(render_srt(cues)) == [(c.start_ms, c.end_ms, srt_cue_text(c.text)) for c in cues]
    assert [c.identifier for c in webvtt.from_string(render_vtt(cues))] == [
        f"{c.paragraph}.{c.sentence}.{c.part}" for c in cues
    ]


def test_word_timestamps_lie_strictly_inside_their_cue_and_go_forwards() -> None:
    cues, _, _ = load_input(DATA / "captions" / "basic.input.json")
    for cue, parsed in zip(cues, webvtt.from_string(render_vtt(cues)), strict=True):
        stamps = karaoke(parsed.raw_text)
        assert stamps, cue.text
        times = [ms for _, ms in stamps]
        assert all(cue.start_ms < ms < cue.end_ms for ms in times) and times == sorted(set(times))
        # Each timestamp stands before the word the cue says starts then.
        expected = {w.offset: w.start_ms for w in cue.words}
        assert all(expected[offset] == ms for offset, ms in stamps)


# Every way SRT text can turn into markup in some player (see captions.py): HTML-like tags, ASS
# override blocks, ASS escapes, character references (Android decodes them).
SRT_MARKUP = re.compile(r"<[A-Za-z/!?]|[{}]|\\[nNhH]|&#?\w+;")


def test_no_article_text_reaches_an_srt_file_as_markup() -> None:
    cues, _, _ = load_input(DATA / "captions" / "markup.input.json")
    rendered = render_srt(cues)
    texts = [s.content for s in srt.parse(rendered)]
    assert not [t for t in texts if SRT_MARKUP.search(t)]
    assert "<" not in rendered and ">" not in rendered.replace("-->", "")
    # What a reader sees is still the article's text: look-alikes, invisible joiners.
    undone = [t.replace("\u2060", "").translate(str.maketrans("‹›｛｝", "<>{}")) for t in texts]
    assert undone == [lines_of(c.text) for c in cues]


def test_chapters_json_keeps_non_ascii_text() -> None:
    rendered = render_chapters_json(
        [Chapter(0, 1000, "“great leader” — Pyongyang…")], title="Zoë", author="", podcast_name="", file_name="z.mp3"
    )
    assert "“great leader” — Pyongyang…" in rendered
    assert "author" not in json.loads(rendered)


# --- round trips with any cues ---------------------------------------------------

cue_text = st.text(
    alphabet=string.ascii_letters + string.digits + " .,;:!?'\"()-&<>/=…’“”éüß한국", min_size=1, max_size=120
).filter(lambda t: t.strip())


@st.composite
def cue_lists(draw: st.DrawFn) -> list[Cue]:
    texts = draw(st.lists(st.lists(cue_text, min_size=1, max_size=2), min_size=1, max_size=12))
    cues, at = [], draw(st.integers(0, 5000))
    paragraph, sentence = 1, 0
    for lines in texts:
        text = "\n".join(lines)
        if draw(st.booleans()):
            paragraph, sentence = paragraph + 1, 0
        sentence += 1
        start = at + draw(st.integers(0, 2000))
        end = start + draw(st.integers(1, 20_000))
        offsets = sorted({m.start() for m in re.finditer(r"\S+", text)} - {0})
        times = sorted(draw(st.lists(st.integers(start, end), max_size=len(offsets))))
        words = tuple(CueWord(o, t) for o, t in zip(offsets, times, strict=False))
        cues.append(Cue(start, end, text, words, paragraph, sentence, 1))
        at = end
    return cues


@settings(max_examples=150, deadline=None)
@given(cue_lists())
def test_vtt_round_trips_through_webvtt_py(cues: list[Cue]) -> None:
    rendered = render_vtt(cues)
    assert read_vtt(rendered) == [(c.start_ms, c.end_ms, lines_of(c.text)) for c in cues]
    for cue, parsed in zip(cues, webvtt.from_string(rendered), strict=True):
        times = [ms for _, ms in karaoke(parsed.raw_text)]
        assert all(cue.start_ms < ms < cue.end_ms for ms in times) and times == sorted(set(times))


@settings(max_examples=150, deadline=None)
@given(cue_lists())
def test_srt_round_trips_through_srt(cues: list[Cue]) -> None:
    parsed = read_srt(render_srt(cues))
    assert parsed == [(c.start_ms, c.end_ms, srt_cue_text(c.text)) for c in cues]
    assert [s.index for s in srt.parse(render_srt(cues))] == list(range(1, len(cues) + 1))
    assert not any(SRT_MARKUP.search(text) for _, _, text in parsed)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 600_000), min_size=1, max_size=40), st.text(max_size=40), st.text(max_size=20))
def test_chapters_document_validates(lengths: list[int], title: str, author: str) -> None:
    bounds = [0, *np.cumsum(lengths).tolist()]
    chapters = [Chapter(bounds[i], bounds[i + 1], f"Chapter {i}") for i in range(len(lengths))]
    document = chapters_document(chapters, title=title, author=author, podcast_name="P", file_name="e.mp3")
    validate_chapters(document)
    assert [round(c["startTime"] * 1000) for c in document["chapters"]] == bounds[:-1]  # type: ignore[index]
    assert [round(c["endTime"] * 1000) for c in document["chapters"]] == bounds[1:]  # type: ignore[index]


# --- the timeline: cues and chapters from assembled clips --------------------------
#
# Clips of a tone stand in for speech (the STYLE's deterministic test engine): the
# timing rules are exact here, and the real engine is checked in test_e2e.py.


def tone(ms: int, amplitude: int = 8000) -> Clip:
    """A clip of a 300 Hz tone whose sound fills it end to end, like a trimmed clip of speech."""
    samples = RATE * ms // 1000
    wave = (amplitude * np.sin(2 * math.pi * 300 * np.arange(samples) / RATE)).astype("<i2")
    wave[0] = wave[-1] = amplitude
    return Clip(pcm=wave.tobytes(), sample_rate=RATE)


#: Silence between the words of a spoken tone: where a word boundary is, seen in the sound.
WORD_GAP_MS = 20


def spoken_tone(chunk: str) -> Clip:
    """A clip that speaks ``chunk`` in tones: a burst per word, 20 ms apart, with a mark at each burst's start."""
    pieces, marks, at = [], [], 0
    for match in re.finditer(r"\S+", chunk):
        if pieces:
            pieces.append(np.zeros(RATE * WORD_GAP_MS // 1000, dtype="<i2"))
            at += pieces[-1].size
        burst = np.frombuffer(tone(30 + 7 * len(match.group())).pcm, dtype="<i2")
        marks.append(WordMark(match.start(), at))
        pieces.append(burst)
        at += burst.size
    return Clip(pcm=np.concatenate(pieces).tobytes(), sample_rate=RATE, words=tuple(marks))


def article_of(paragraphs: list[list[str]]) -> Article:
    blocks = tuple(Block(BlockKind.PARAGRAPH, " ".join(p)) for p in paragraphs)
    return Article(source="t.txt", title="A title", byline="Anna Smith", blocks=blocks)


@dataclass(frozen=True)
class Assembled:
    script: Script
    timeline: Timeline
    played: np.ndarray
    """What a player plays: the spool behind the codec's delay, as the timeline counts it."""


def assemble_tones(paragraphs: list[list[str]], rate_wpm: int = 175, *, timed: bool = True) -> Assembled:
    """The paragraphs assembled from tone clips: with word marks (``timed``), or, as for an
    engine without them, one plain tone per cue's part of each sentence (what the pipeline does)."""
    script = segment_article(article_of(paragraphs), rate_wpm=rate_wpm)
    if not timed:
        script = cut_at_cues(script, rate_wpm=rate_wpm)
    chunks = [c for s in script.sentences() for c in s.chunks]
    clips = [spoken_tone(chunk) if timed else tone(60 + 7 * len(chunk)) for chunk in chunks]
    spool = io.BytesIO()
    assembly = assemble(script, iter(clips), spool, pauses=Pauses() if timed else Pauses(chunk_ms=0))
    pcm = np.frombuffer(spool.getvalue(), dtype="<i2")
    played = np.concatenate([np.zeros(CODEC_DELAY_SAMPLES, dtype="<i2"), pcm])
    encoded = Encoded(
        decoded_samples=played.size, gain_db=0.0, loudness_lufs=TARGET_LUFS, measured_lufs=TARGET_LUFS, passes=1
    )
    return Assembled(script, assembly.timeline(encoded), played)


def by_sentence(cues: tuple[Cue, ...]) -> list[list[Cue]]:
    """The cues grouped by the sentence they show, in order."""
    groups: list[list[Cue]] = []
    for cue in cues:
        if groups and (groups[-1][0].paragraph, groups[-1][0].sentence) == (cue.paragraph, cue.sentence):
            groups[-1].append(cue)
        else:
            groups.append([cue])
    return groups


sentence_text = st.lists(
    st.sampled_from(["the", "river", "rose", "again", "slowly,", "and", "then", "fell", "Rhône;", "1,500", "—"]),
    min_size=1,
    max_size=45,
).map(lambda ws: " ".join(ws).capitalize() + ".")
paragraph_lists = st.lists(st.lists(sentence_text, min_size=1, max_size=4), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(paragraph_lists, st.booleans())
def test_cues_show_each_sentence_in_order_and_never_go_backwards(paragraphs: list[list[str]], timed: bool) -> None:
    done = assemble_tones(paragraphs, timed=timed)
    groups = by_sentence(done.timeline.cues)
    assert [" ".join(" ".join(c.text.split()) for c in g) for g in groups] == [
        " ".join(s.text.split()) for s in done.script.sentences()
    ]
    assert [[c.part for c in g] for g in groups] == [list(range(1, len(g) + 1)) for g in groups]
    for cue in done.timeline.cues:
        assert 0 <= cue.start_ms < cue.end_ms <= done.timeline.duration_ms
    for group in groups:
        for before, after in pairwise(group):
            assert before.end_ms == after.start_ms  # a sentence's cues follow each other without a gap
    for before, after in pairwise(groups):
        assert before[-1].end_ms < after[0].start_ms


@settings(max_examples=40, deadline=None)
@given(paragraph_lists, st.booleans())
def test_every_cue_is_of_caption_size(paragraphs: list[list[str]], timed: bool) -> None:
    limits = limits_for("en")
    for cue in assemble_tones(paragraphs, timed=timed).timeline.cues:
        lines = cue.text.split("\n")
        assert len(lines) <= limits.max_lines and all(0 < len(line) <= limits.max_chars for line in lines), cue
        assert cue.end_ms - cue.start_ms <= limits.max_ms


@settings(max_examples=30, deadline=None)
@given(paragraph_lists)
def test_a_cue_inside_a_sentence_starts_where_its_first_word_sounds(paragraphs: list[list[str]]) -> None:
    done = assemble_tones(paragraphs)
    loud = np.abs(done.played.astype(np.int32)) > 64
    for group in by_sentence(done.timeline.cues):
        for cue in group[1:]:
            at = cue.start_ms * RATE // 1000
            # The word gap lies just before the cue's start and the burst begins at it (within rounding).
            assert not loud[at - RATE * (WORD_GAP_MS - 2) // 1000 : at - RATE // 1000].any(), cue
            assert loud[at : at + RATE // 500].any(), cue
        for cue in group:
            for word in cue.words:
                at = word.start_ms * RATE // 1000
                assert cue.start_ms < word.start_ms < cue.end_ms
                assert not loud[at - RATE * (WORD_GAP_MS - 2) // 1000 : at - RATE // 1000].any(), (cue, word)


@settings(max_examples=40, deadline=None)
@given(paragraph_lists)
def test_chapters_are_contiguous_from_zero_to_the_end(paragraphs: list[list[str]]) -> None:
    done = assemble_tones(paragraphs)
    chapters = done.timeline.chapters
    assert [c.title for c in chapters] == [c.title for c in done.script.chapters]
    assert chapters[0].start_ms == 0
    assert chapters[-1].end_ms == done.timeline.duration_ms == done.played.size * 1000 // RATE
    for before, after in pairwise(chapters):
        assert before.end_ms == after.start_ms
    assert all(c.start_ms < c.end_ms for c in chapters)


@settings(max_examples=30, deadline=None)
@given(paragraph_lists, st.booleans())
def test_sentences_lie_on_their_sound_and_gaps_between_them_are_silent(
    paragraphs: list[list[str]], timed: bool
) -> None:
    done = assemble_tones(paragraphs, timed=timed)
    loud = np.abs(done.played.astype(np.int32)) > 64
    sentences = [(g[0].start_ms, g[-1].end_ms) for g in by_sentence(done.timeline.cues)]

    def at(ms: int) -> int:
        return ms * RATE // 1000

    for i, (start, end) in enumerate(sentences):
        sound = np.flatnonzero(loud[at(start) - at(50) : at(end) + at(50)]) + at(start) - at(50)
        assert abs(sound[0] * 1000 / RATE - start) <= 50
        assert abs((sound[-1] + 1) * 1000 / RATE - end) <= 50
        if i + 1 < len(sentences):
            # Within a millisecond of the cues (their rounding), the gap between them is silent.
            assert not loud[at(end + 1) : at(sentences[i + 1][0] - 1)].any(), f"sound after sentence {i}"
    assert not loud[: at(sentences[0][0] - 1)].any()
    assert not loud[at(sentences[-1][1] + 1) :].any()


@settings(max_examples=30, deadline=None)
@given(paragraph_lists)
def test_chapters_start_in_silence_before_their_first_cue(paragraphs: list[list[str]]) -> None:
    done = assemble_tones(paragraphs)
    for chapter in done.timeline.chapters[1:]:
        first = min(c.start_ms for c in done.timeline.cues if c.start_ms >= chapter.start_ms)
        assert 0 < first - chapter.start_ms <= 1000
        at = chapter.start_ms * RATE // 1000
        assert not (np.abs(done.played[at - 200 : at + 200].astype(np.int32)) > 64).any()


def test_stitched_loudness_is_measured_as_dual_mono(tmp_path: Path) -> None:
    import pyebur128

    from narrator.encode import StreamEncoder

    # One paragraph, its sentence pauses too short to cut at: nothing fixes the gain early, so the
    # whole spool is measured.
    script = segment_article(article_of([["One sentence here.", "Another one there."] * 6]), rate_wpm=175)
    chunks = [c for s in script.sentences() for c in s.chunks]
    spool_path = tmp_path / "spool.raw"
    with spool_path.open("wb") as spool, StreamEncoder(spool_path, tmp_path / "x.mp3", bitrate_kbps=64, jobs=2) as enc:
        clips = iter([tone(60 + 7 * len(chunk)) for chunk in chunks])
        assembly = assemble(script, clips, spool, enc, Pauses(sentence_ms=150))
        encoded = enc.finish(samples=assembly.samples)
    state = pyebur128.R128State(1, RATE, pyebur128.MeasurementMode.MODE_I)
    state.set_channel(0, pyebur128.ChannelType.DUAL_MONO)
    frames = np.frombuffer(spool_path.read_bytes(), dtype="<i2").astype(np.float64) / 32768
    state.add_frames(frames, frames.size)
    assert encoded.measured_lufs == pytest.approx(pyebur128.get_loudness_global(state), abs=0.01)
    assert encoded.loudness_lufs == pytest.approx(TARGET_LUFS, abs=0.3)


def test_one_long_paragraph_is_written_piece_by_piece_and_encoded_in_bounded_parts(tmp_path: Path) -> None:
    """A wall of text: nothing of the size of the paragraph is ever held, joined or encoded at once."""
    from narrator.encode import PART_SECONDS, StreamEncoder

    sentences = [f"Sentence number {n} of a paragraph that never ends." for n in range(400)]
    script = segment_article(article_of([sentences]), rate_wpm=175)
    chunks = [c for s in script.sentences() for c in s.chunks]
    spool_path = tmp_path / "spool.raw"
    writes: list[int] = []

    class Spool:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def write(self, data: bytes) -> int:
            writes.append(len(data))
            return int(self.handle.write(data))

        def flush(self) -> None:
            self.handle.flush()

    with spool_path.open("wb") as handle, StreamEncoder(spool_path, tmp_path / "x.mp3", bitrate_kbps=64, jobs=2) as enc:
        clips = iter([tone(900) for _ in chunks])
        assembly = assemble(script, clips, Spool(handle), enc, Pauses())
        enc.finish(samples=assembly.samples)
        parts = list(enc.parts)
    assert assembly.samples > 300 * RATE  # about six minutes in one paragraph
    assert max(writes) <= RATE * 1.2 * 2, "the largest write is one clip or one pause, not the paragraph"
    longest = max(end - start for start, end in parts)
    assert longest <= (PART_SECONDS + 2) * RATE, "parts end at sentence pauses, however long the paragraph"
