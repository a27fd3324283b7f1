"""End to end with the real engines (pyttsx3 over espeak-ng, and Piper), never mocked.

The seed is narrated once per session by each engine (``seed_episode`` and
``piper_seed_episode`` in conftest.py; every seed test runs on both) and the
articles in tests/data/articles once, in one run over their folder; every test
here reads those files back with third-party tools: ffmpeg/ffprobe, mutagen,
webvtt-py, srt, jsonschema and libebur128.

The figures of the work order's "done when" are computed by the functions below
(chapter count, caption word coverage, cue boundaries in pauses, loudness).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import html
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import jsonschema
import numpy as np
import pyebur128
import pytest
import srt
import webvtt
from click.testing import CliRunner
from mutagen.id3 import ID3, CTOCFlags

from narrator.cli import main
from narrator.podcast import PodcastSettings
from narrator.readers.text import read_article
from narrator.segment import caption_title, segment_article

TESTS = Path(__file__).parent
SEED = TESTS.parent / "seeds" / "north-korea-troops-morale.txt"
SEED_TITLE = "Why fight for Russia? Deaths of North Korean officers in Ukraine raises questions about morale"
#: The seed's page chrome: lines a reader skips, left out of the word count.
SEED_CHROME = {"Close"}
SCHEMA = json.loads((TESTS / "data" / "podcast-chapters.schema.json").read_text(encoding="utf-8"))

#: Short-window RMS above this is sound; below it, a pause.
AUDIBLE_DBFS = -45.0
WINDOW_MS = 10
#: How near a cue's edges must lie to its sentence's sound.
CUE_TOLERANCE_MS = 50
#: The edges of a gap that may still hold the tail or onset of speech (well inside CUE_TOLERANCE_MS).
GAP_GUARD_MS = 10
#: "No chapter shorter than about 10 s".
MIN_CHAPTER_MS = 9_000


# --- reading the episode back ----------------------------------------------------


@dataclass(frozen=True)
class Audio:
    """An MP3 decoded by ffmpeg to mono samples (-1..1) as a player plays it."""

    samples: np.ndarray
    rate: int

    @property
    def duration_ms(self) -> float:
        return self.samples.size * 1000 / self.rate

    @functools.cached_property
    def envelope_db(self) -> np.ndarray:
        """RMS level in dBFS of a WINDOW_MS window centred on each millisecond."""
        power = np.concatenate([[0.0], np.cumsum(self.samples**2)])
        centres = (np.arange(int(self.duration_ms)) * self.rate) // 1000
        half = self.rate * WINDOW_MS // 2000
        lo = np.clip(centres - half, 0, self.samples.size)
        hi = np.clip(centres + half, 0, self.samples.size)
        mean = (power[hi] - power[lo]) / np.maximum(hi - lo, 1)
        return 10 * np.log10(mean + 1e-20)

    def audible(self) -> np.ndarray:
        return self.envelope_db > AUDIBLE_DBFS

    def loudness(self) -> tuple[float, float]:
        """Integrated loudness (LUFS) of the mono file heard as dual-mono, and its true peak (dBTP)."""
        state = pyebur128.R128State(
            1, self.rate, pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
        )
        state.set_channel(0, pyebur128.ChannelType.DUAL_MONO)
        state.add_frames(self.samples, self.samples.size)
        return pyebur128.get_loudness_global(state), 20 * math.log10(pyebur128.get_true_peak(state, 0))


@functools.lru_cache(maxsize=16)
def decode(mp3: Path) -> Audio:
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=sample_rate",
            "-of",
            "csv=p=0",
            str(mp3),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = int(probe.stdout.strip())
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(mp3), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return Audio(np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0, rate)


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str
    place: str = ""
    """The WebVTT identifier: PARAGRAPH.SENTENCE.PART."""

    @property
    def sentence(self) -> str:
        return self.place.rpartition(".")[0]


def read_vtt(path: Path) -> list[Cue]:
    return [
        Cue(c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), html.unescape(c.text), c.identifier or "")
        for c in webvtt.read(str(path))
    ]


def sentences_of(cues: list[Cue]) -> list[Cue]:
    """The cues of each sentence joined into one: from its first cue's start to its last one's end."""
    joined: list[Cue] = []
    for cue in cues:
        if joined and joined[-1].place == cue.sentence:
            last = joined[-1]
            joined[-1] = Cue(last.start_ms, cue.end_ms, f"{last.text} {' '.join(cue.text.split())}", last.place)
        else:
            joined.append(Cue(cue.start_ms, cue.end_ms, " ".join(cue.text.split()), cue.sentence))
    return joined


def read_srt(path: Path) -> list[Cue]:
    def ms(delta: dt.timedelta) -> int:
        return round(delta.total_seconds() * 1000)

    return [Cue(ms(s.start), ms(s.end), s.content) for s in srt.parse(path.read_text(encoding="utf-8"))]


def id3_chapters(mp3: Path) -> list[tuple[int, int, str]]:
    """CHAP frames in the order of the ordered top-level CTOC."""
    id3 = ID3(mp3)
    (toc,) = [f for f in id3.getall("CTOC") if f.flags & CTOCFlags.TOP_LEVEL]
    chaps = {f.element_id: f for f in id3.getall("CHAP")}
    return [
        (chaps[i].start_time, chaps[i].end_time, chaps[i].sub_frames["TIT2"].text[0]) for i in toc.child_element_ids
    ]


def json_chapters(path: Path) -> list[tuple[int, int, str]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [(round(c["startTime"] * 1000), round(c["endTime"] * 1000), c.get("title", "")) for c in doc["chapters"]]


# --- the done-when figures -------------------------------------------------------


def words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"\w+(?:['’.\-]\w+)*", text)]


def caption_coverage(article_text: str, chrome: set[str], cues: list[Cue]) -> float:
    """Share of the article's words (page chrome excluded) that the captions show."""
    kept = [line for line in article_text.splitlines() if line.strip() not in chrome]
    wanted = Counter(words(" ".join(kept)))
    shown = Counter(words(" ".join(c.text for c in cues)))
    return sum((wanted & shown).values()) / sum(wanted.values())


def sound_edges(audio: Audio, cues: list[Cue], i: int) -> tuple[int, int]:
    """Where cue i's sound starts and ends: audible milliseconds between the middles of the gaps around it."""
    loud = audio.audible()
    lo = (cues[i - 1].end_ms + cues[i].start_ms) // 2 if i else 0
    hi = (cues[i].end_ms + cues[i + 1].start_ms) // 2 if i + 1 < len(cues) else loud.size
    found = np.flatnonzero(loud[lo:hi])
    assert found.size, f"no sound at all around cue {i}: {cues[i].text!r}"
    return lo + int(found[0]), lo + int(found[-1]) + 1


def gap_is_a_pause(audio: Audio, before: Cue, after: Cue) -> bool:
    start, end = before.end_ms + GAP_GUARD_MS, after.start_ms - GAP_GUARD_MS
    return end - start >= WINDOW_MS and not audio.audible()[start:end].any()


def boundaries_in_pauses(audio: Audio, cues: list[Cue]) -> float:
    pairs = list(pairwise(cues))
    return sum(gap_is_a_pause(audio, a, b) for a, b in pairs) / len(pairs)


# --- the seed ----------------------------------------------------------------------


@pytest.fixture(scope="module", params=["pyttsx3", "piper"])
def seed_episode(request: pytest.FixtureRequest, seed_episode):  # type: ignore[no-untyped-def]
    """Every check of the seed below, for the episode of each engine (conftest's seed_episode, piper_seed_episode)."""
    return seed_episode if request.param == "pyttsx3" else request.getfixturevalue("piper_seed_episode")


@pytest.fixture(scope="module")
def seed(seed_episode):  # type: ignore[no-untyped-def]
    return seed_episode


@pytest.fixture(scope="module")
def seed_audio(seed_episode) -> Audio:  # type: ignore[no-untyped-def]
    return decode(seed_episode.mp3)


@pytest.fixture(scope="module")
def seed_cues(seed_episode) -> list[Cue]:  # type: ignore[no-untyped-def]
    return read_vtt(seed_episode.vtt)


@pytest.fixture(scope="module")
def seed_sentences(seed_cues: list[Cue]) -> list[Cue]:
    return sentences_of(seed_cues)


def test_seed_files_are_written(seed) -> None:  # type: ignore[no-untyped-def]
    for path in (seed.mp3, seed.vtt, seed.srt, seed.chapters_json, seed.output_dir / "cover.jpg"):
        assert path.is_file() and path.stat().st_size > 0, path
    leftovers = [p.name for p in seed.output_dir.rglob(".tmp*")]
    assert leftovers == [], "temporary files left in the output folder"


def test_seed_summary_line_names_the_episode(seed) -> None:  # type: ignore[no-untyped-def]
    assert any(line.startswith(str(seed.mp3)) for line in seed.result.stdout.splitlines())
    assert "Audio saved to" not in seed.result.output


def test_seed_is_an_mp3_ffprobe_reads(seed) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(seed.mp3)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    streams = json.loads(out)["streams"]
    (audio,) = [s for s in streams if s["codec_type"] == "audio"]
    assert audio["codec_name"] == "mp3"
    assert audio["channels"] == 1
    (cover,) = [s for s in streams if s["codec_type"] == "video"]
    assert cover["disposition"]["attached_pic"] == 1


# chapters


def test_seed_has_at_least_five_titled_chapters_and_a_ctoc(seed) -> None:  # type: ignore[no-untyped-def]
    chapters = id3_chapters(seed.mp3)
    assert len(chapters) >= 5
    assert all(title.strip() for _, _, title in chapters)
    (ctoc,) = ID3(seed.mp3).getall("CTOC")
    assert ctoc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert ctoc.sub_frames["TIT2"].text[0].strip()


def test_seed_chapters_are_contiguous_from_zero_to_the_end_of_the_audio(seed, seed_audio: Audio) -> None:  # type: ignore[no-untyped-def]
    chapters = id3_chapters(seed.mp3)
    assert chapters[0][0] == 0
    for (_, end, _), (start, _, _) in pairwise(chapters):
        assert end == start
    assert abs(chapters[-1][1] - seed_audio.duration_ms) <= 50, (chapters[-1][1], seed_audio.duration_ms)


def test_seed_chapters_in_the_file_are_in_time_order(seed, probe_chapters, read_tag) -> None:  # type: ignore[no-untyped-def]
    in_file = [(c.start_ms, c.end_ms) for c in read_tag(seed.mp3).chaps()]
    assert in_file == sorted(in_file)
    assert [(f.start_time, f.end_time) for f in ID3(seed.mp3).getall("CHAP")] == in_file  # mutagen: file order
    assert probe_chapters(seed.mp3) == id3_chapters(seed.mp3)  # ffprobe lists chapters in file order


def test_seed_chapter_titles_caption_their_first_sentence(seed, seed_sentences: list[Cue]) -> None:  # type: ignore[no-untyped-def]
    chapters = id3_chapters(seed.mp3)
    assert chapters[0][2] == SEED_TITLE  # the title is a heading: its own words, whole
    for start, _, title in chapters[1:]:
        first = next(c for c in seed_sentences if c.start_ms >= start)
        assert title == caption_title(first.text)
        assert len(title) <= 60


def test_seed_chapters_last_about_ten_seconds(seed) -> None:  # type: ignore[no-untyped-def]
    lengths = [end - start for start, end, _ in id3_chapters(seed.mp3)]
    assert min(lengths) >= MIN_CHAPTER_MS, lengths


def test_seed_chapter_marks_fall_in_silence(seed, seed_audio: Audio) -> None:  # type: ignore[no-untyped-def]
    loud = seed_audio.audible()
    for start, _, title in id3_chapters(seed.mp3)[1:]:
        assert not loud[start - 20 : start + 20].any(), f"chapter {title!r} starts in the middle of speech"


def test_seed_json_chapters_validate(seed) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(seed.chapters_json.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)
    starts = [c["startTime"] for c in doc["chapters"]]
    assert starts == sorted(starts)
    assert doc["title"] == SEED_TITLE
    assert doc["author"] == "Jang Seiul"
    assert doc["fileName"] == seed.mp3.name


def test_seed_json_chapters_agree_with_id3(seed) -> None:  # type: ignore[no-untyped-def]
    assert json_chapters(seed.chapters_json) == id3_chapters(seed.mp3)


# captions


def test_seed_vtt_and_srt_agree(seed, seed_cues: list[Cue]) -> None:  # type: ignore[no-untyped-def]
    assert read_srt(seed.srt) == [Cue(c.start_ms, c.end_ms, c.text) for c in seed_cues]
    places = [c.place for c in seed_cues]
    assert len(set(places)) == len(places) and all(re.fullmatch(r"\d+\.\d+\.\d+", p) for p in places)


def test_seed_cues_rejoin_to_its_sentences(seed_sentences: list[Cue]) -> None:
    script = segment_article(read_article(SEED), rate_wpm=175)
    assert [c.text for c in seed_sentences] == [" ".join(s.text.split()) for s in script.sentences()]


def test_seed_cues_are_of_caption_size(seed_cues: list[Cue]) -> None:
    """At most two lines of 42 characters, at most 7 s (the work order's limits)."""
    for cue in seed_cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2 and max(map(len, lines)) <= 42, cue
        assert cue.end_ms - cue.start_ms <= 7000, cue
    assert len(seed_cues) > len(sentences_of(seed_cues))  # long sentences were split


def test_seed_vtt_times_its_words_inside_each_cue(seed) -> None:  # type: ignore[no-untyped-def]
    timed = 0
    for cue in webvtt.read(str(seed.vtt)):
        stamps = [
            webvtt.models.Timestamp.from_string(t).in_milliseconds()
            for t in re.findall(r"<(\d\d:\d\d:\d\d\.\d{3})>", cue.raw_text)
        ]
        start, end = cue.start_time.in_milliseconds(), cue.end_time.in_milliseconds()
        assert all(start < t < end for t in stamps) and stamps == sorted(set(stamps)), cue.raw_text
        timed += len(stamps)
    words = len(SEED.read_text(encoding="utf-8").split())
    assert timed > 0.8 * words  # nearly every word but each cue's first


def test_seed_inner_cue_boundaries_lie_at_word_boundaries(seed_cues: list[Cue], seed_audio: Audio) -> None:
    """Where a cue starts inside a sentence, the sound dips: a word starts there (the figure
    itself, the distance to the acoustic boundary, comes from bench/cue_timing.py)."""
    inner = [after.start_ms for before, after in pairwise(seed_cues) if before.sentence == after.sentence]
    assert inner
    level = seed_audio.envelope_db
    near = [t for t in inner if level[t - 60 : t + 60].min() < level[t - 150 : t + 150].max() - 12]
    assert len(near) >= 0.9 * len(inner), (len(near), len(inner))


#: What ends a clause inside a sentence: where the engines pause.
CLAUSE_ENDS = (",", ";", ":", "—", "–", ")", "”", '"')


def test_seed_cues_after_a_pause_start_where_the_sound_does(seed_cues: list[Cue], seed_audio: Audio) -> None:
    """A cue that starts inside a sentence after a pause (a comma's) starts with the word's sound,
    not with the pause: espeak-ng may put the word's mark anywhere in the pause, or before it."""
    loud = seed_audio.audible()
    edges = np.flatnonzero(np.diff(np.concatenate(([1], loud.astype(np.int8), [1]))))
    onsets = [int(b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 80 and b < loud.size]
    checked = 0
    for before, after in pairwise(seed_cues):
        near = [b for b in onsets if abs(b - after.start_ms) <= 300]
        # After a clause's punctuation only: elsewhere a silence nearby is a stop's closure in the word before
        # ("part of": Piper's /t/), not a pause before this cue's word.
        if before.sentence == after.sentence and before.text.rstrip().endswith(CLAUSE_ENDS) and near:
            onset = min(near, key=lambda b: abs(b - after.start_ms))
            assert abs(onset - after.start_ms) <= 60, (after.text, after.start_ms - onset)
            checked += 1
    assert checked >= 10


def test_seed_cues_show_the_articles_own_words(seed_sentences: list[Cue]) -> None:
    texts = [c.text for c in seed_sentences]
    assert texts[0] == SEED_TITLE
    assert any(t.endswith("(Image: KCNA)") and t.startswith("Amid ongoing reports") for t in texts)
    assert not any(t.startswith("Image caption") for t in texts)
    assert not any(re.search(r"\bClose\b", t) for t in texts)


def test_seed_captions_cover_the_article(seed_cues: list[Cue]) -> None:
    coverage = caption_coverage(SEED.read_text(encoding="utf-8"), SEED_CHROME, seed_cues)
    assert coverage >= 0.95, coverage


def test_seed_sentences_start_and_end_on_their_sound(seed_sentences: list[Cue], seed_audio: Audio) -> None:
    off = []
    for i, cue in enumerate(seed_sentences):
        start, end = sound_edges(seed_audio, seed_sentences, i)
        if abs(start - cue.start_ms) > CUE_TOLERANCE_MS or abs(end - cue.end_ms) > CUE_TOLERANCE_MS:
            off.append((i, cue.start_ms - start, cue.end_ms - end, cue.text[:40]))
    assert off == [], "sentences' cues more than 50 ms from their sound (sentence, start error, end error)"


def test_seed_gaps_between_sentences_are_pauses(seed_sentences: list[Cue], seed_audio: Audio) -> None:
    loud_gaps = [i for i, (a, b) in enumerate(pairwise(seed_sentences)) if not gap_is_a_pause(seed_audio, a, b)]
    assert loud_gaps == []


def test_seed_sentence_boundaries_in_pauses_figure(seed_sentences: list[Cue], seed_audio: Audio) -> None:
    assert boundaries_in_pauses(seed_audio, seed_sentences) >= 0.90


def test_seed_lead_in_and_tail_are_silent(seed_cues: list[Cue], seed_audio: Audio) -> None:
    loud = seed_audio.audible()
    assert not loud[: seed_cues[0].start_ms - GAP_GUARD_MS].any()
    assert not loud[seed_cues[-1].end_ms + GAP_GUARD_MS :].any()


# loudness


def test_seed_loudness_is_minus_16_lufs(seed_audio: Audio) -> None:
    integrated, _ = seed_audio.loudness()
    assert -17.0 <= integrated <= -15.0, integrated


def test_seed_true_peak_is_below_minus_1_dbtp(seed_audio: Audio) -> None:
    _, peak = seed_audio.loudness()
    assert peak <= -1.0, peak


# tags


def test_seed_tags(seed) -> None:  # type: ignore[no-untyped-def]
    id3 = ID3(seed.mp3)
    assert id3.version == (2, 3, 0)
    assert id3["TIT2"].text == [SEED_TITLE]
    assert id3["TPE1"].text == ["Jang Seiul"]
    assert id3["TALB"].text[0].strip()
    assert re.fullmatch(r"\d{4}(-\d\d-\d\d)?", str(id3["TDRC"].text[0]))
    assert id3["TLAN"].text == ["eng"]
    assert id3.getall("COMM")[0].text[0].strip()


def test_seed_cover_is_the_podcast_cover(seed) -> None:  # type: ignore[no-untyped-def]
    (apic,) = ID3(seed.mp3).getall("APIC")
    assert apic.data == (seed.output_dir / "cover.jpg").read_bytes()
    assert apic.data[:3] == b"\xff\xd8\xff"


def test_seed_lyrics_are_the_article(seed) -> None:  # type: ignore[no-untyped-def]
    (lyrics,) = ID3(seed.mp3).getall("USLT")
    assert "None can understand why they should fight for Russia." in lyrics.text
    assert "It will be interesting to see how the North Korean authorities manage this situation." in lyrics.text
    assert not re.search(r"\bClose\b", lyrics.text)


# --- the articles in tests/data/articles ------------------------------------------------


def episode_of(articles_episodes, article_path: Path):  # type: ignore[no-untyped-def]
    return dataclasses.replace(articles_episodes, stem=article_path.stem)


def golden(article_path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(article_path.with_suffix(".json").read_text(encoding="utf-8"))


def test_article_episodes_are_written(articles_episodes, article_path: Path) -> None:  # type: ignore[no-untyped-def]
    episode = episode_of(articles_episodes, article_path)
    for path in (episode.mp3, episode.vtt, episode.srt, episode.chapters_json):
        assert path.is_file(), path
    assert any(line.startswith(str(episode.mp3)) for line in articles_episodes.result.stdout.splitlines())


def test_article_title_and_author_reach_the_tags(articles_episodes, article_path: Path) -> None:  # type: ignore[no-untyped-def]
    episode, expected = episode_of(articles_episodes, article_path), golden(article_path)
    id3 = ID3(episode.mp3)
    assert id3["TIT2"].text == [expected["title"]]
    if expected["byline"]:
        assert id3["TPE1"].text == [expected["byline"]]
        assert json.loads(episode.chapters_json.read_text(encoding="utf-8"))["author"] == expected["byline"]
    else:  # no author named: the podcast's, not "Unknown artist" in players
        assert id3["TPE1"].text == [PodcastSettings().author]


def test_article_captions_cover_it_without_chrome(articles_episodes, article_path: Path) -> None:  # type: ignore[no-untyped-def]
    episode, expected = episode_of(articles_episodes, article_path), golden(article_path)
    cues = read_vtt(episode.vtt)
    text = read_article(article_path)
    body = "\n".join([text.title, text.byline, *(b.text for b in text.blocks)])
    assert caption_coverage(body, set(), cues) >= 0.95
    for chrome in expected["dropped"]:
        assert not any(chrome in c.text for c in sentences_of(cues)), chrome
    assert read_srt(episode.srt) == [Cue(c.start_ms, c.end_ms, c.text) for c in cues]


def test_article_chapters(articles_episodes, article_path: Path, probe_chapters) -> None:  # type: ignore[no-untyped-def]
    episode = episode_of(articles_episodes, article_path)
    audio = decode(episode.mp3)
    chapters = id3_chapters(episode.mp3)
    assert chapters[0][0] == 0
    assert all(a[1] == b[0] for a, b in pairwise(chapters))
    assert abs(chapters[-1][1] - audio.duration_ms) <= 50
    assert json_chapters(episode.chapters_json) == chapters == probe_chapters(episode.mp3)
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(episode.chapters_json.read_text(encoding="utf-8")))


def test_article_chapters_last_about_ten_seconds(articles_episodes, article_path: Path) -> None:  # type: ignore[no-untyped-def]
    chapters = id3_chapters(episode_of(articles_episodes, article_path).mp3)
    if len(chapters) > 1:
        assert min(end - start for start, end, _ in chapters) >= MIN_CHAPTER_MS, chapters


def test_article_sentences_lie_on_their_sound(articles_episodes, article_path: Path) -> None:  # type: ignore[no-untyped-def]
    episode = episode_of(articles_episodes, article_path)
    audio, cues = decode(episode.mp3), sentences_of(read_vtt(episode.vtt))
    for i, cue in enumerate(cues):
        start, end = sound_edges(audio, cues, i)
        assert abs(start - cue.start_ms) <= CUE_TOLERANCE_MS, (i, cue.text)
        assert abs(end - cue.end_ms) <= CUE_TOLERANCE_MS, (i, cue.text)
    assert all(gap_is_a_pause(audio, a, b) for a, b in pairwise(cues))


def test_article_loudness(articles_episodes, article_path: Path) -> None:  # type: ignore[no-untyped-def]
    integrated, peak = decode(episode_of(articles_episodes, article_path).mp3).loudness()
    assert -17.0 <= integrated <= -15.0
    assert peak <= -1.0


# --- markup is read as words -----------------------------------------------------------

MARKUP = (
    "Markup in the newsroom\n\n"
    "The editor typed <speak> at the top of the page by mistake.\n\n"
    'Then a stray tag, <break time="10s"/>, appeared in the middle of the second paragraph.\n\n'
    "Tom &amp; Jerry was the headline, and the feed ended with ]]> for no reason.\n"
)


@pytest.fixture(scope="module")
def markup_episodes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("markup-in")
    (source / "markup.txt").write_text(MARKUP, encoding="utf-8")
    (source / "control.txt").write_text(MARKUP.replace(' <break time="10s"/>,', ""), encoding="utf-8")
    out = tmp_path_factory.mktemp("markup-out")
    result = CliRunner().invoke(main, ["narrate", "-q", str(source), "-o", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    return out


def test_a_break_tag_does_not_pause_the_audio(markup_episodes: Path) -> None:
    with_tag = decode(markup_episodes / "markup.mp3").duration_ms
    without = decode(markup_episodes / "control.mp3").duration_ms
    # Saying the words "break time 10s" takes a second or two; obeying the tag would take ten.
    assert with_tag - without < 5_000, (with_tag, without)


def test_markup_is_shown_as_written_in_the_captions(markup_episodes: Path) -> None:
    text = " ".join(c.text for c in sentences_of(read_vtt(markup_episodes / "markup.vtt")))
    for literal in ("<speak>", '<break time="10s"/>', "&amp;", "]]>"):
        assert literal in text, literal
    # SRT has no escaping: look-alikes every font has stand in for what players read as markup.
    srt_text = " ".join(" ".join(c.text.split()) for c in read_srt(markup_episodes / "markup.srt"))
    for literal in ("‹speak›", '‹break time="10s"/›', "&\u2060amp;", "]]›"):
        assert literal in srt_text, literal
    assert "<" not in (markup_episodes / "markup.srt").read_text(encoding="utf-8")


def test_markup_words_are_spoken(markup_episodes: Path) -> None:
    cues = sentences_of(read_vtt(markup_episodes / "markup.vtt"))
    audio = decode(markup_episodes / "markup.mp3")
    (cue,) = [c for c in cues if "<break" in c.text]
    loud = audio.audible()[cue.start_ms : cue.end_ms]
    assert loud.mean() > 0.5, "the sentence with the tag is mostly sound, not a long silence"


# --- nothing left behind -----------------------------------------------------------------


def test_narrating_leaves_no_temporary_files(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    article = TESTS / "data" / "articles" / "heatwave-no-byline.txt"
    done = subprocess.run(
        [sys.executable, "-m", "narrator", "narrate", "-q", str(article), "-o", str(tmp_path / "o"), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in scratch.iterdir()) == []
    assert [p.name for p in (tmp_path / "o").rglob(".tmp*")] == []
