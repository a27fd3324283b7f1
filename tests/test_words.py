"""Word timings: espeak-ng's word events, through trimming and the clip cache, to the anchors cues start at.

The engine here is the real one (pyttsx3 over espeak-ng): what its marks mean is what
these tests are about. The alignment of the article's words with the spoken form is
checked on the rewrites the speech rules and the lexicon make.
"""

from __future__ import annotations

import array
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.cache import ClipCache
from narrator.cli import main
from narrator.engines import engine_times_words
from narrator.models import Article, Block, BlockKind, Clip, WordMark
from narrator.segment import make_sentence, segment_article
from narrator.synth import Synthesizer, Voicing, shift_words, trim_bounds, trim_silence
from narrator.words import PlacedClip, align, cut_at_cues, sentence_anchors, settle_on_sound, word_starts

RATE = 22_050


# --- espeak-ng's marks ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def espeak_clips() -> dict[str, Clip]:
    texts = [
        "Zoë's café – 3 € and 1,500 troops.",
        "Short one.",
        "He called him the “great leader” of the party.",
        "The deaths of six North Korean military officers highlighted a dilemma.",
    ]
    with Synthesizer(Voicing(engine="pyttsx3", voice="", rate=175), jobs=2, cache=None) as synthesizer:
        return dict(zip(texts, synthesizer.clips(texts), strict=True))


def test_the_engines_say_whether_they_time_words() -> None:
    assert engine_times_words("pyttsx3") and not engine_times_words("tone")


def test_espeak_clips_say_where_their_words_start(espeak_clips: dict[str, Clip]) -> None:
    for text, clip in espeak_clips.items():
        assert clip.words is not None and clip.words[0].sample == 0, text
        samples = [w.sample for w in clip.words]
        assert samples == sorted(samples) and samples[-1] < len(clip.pcm) // 2
        # Positions count characters of the text given (é, ë and € are one each), from 0.
        assert all(text[w.offset].strip() for w in clip.words)
    short = espeak_clips["Short one."]
    assert [w.offset for w in short.words or ()] == [0, 6]
    assert "café" in [
        "Zoë's café – 3 € and 1,500 troops."[w.offset :][:4]
        for w in espeak_clips["Zoë's café – 3 € and 1,500 troops."].words or ()
    ]


def test_curly_quotes_do_not_silence_the_words_inside_them(espeak_clips: dict[str, Clip]) -> None:
    text = "He called him the “great leader” of the party."
    starts = word_starts(text, espeak_clips[text].words or ())
    words = text.split()
    assert starts[words.index("leader”")] is not None and starts[words.index("party.")] is not None


def test_a_mark_points_at_the_sound_of_its_word(espeak_clips: dict[str, Clip]) -> None:
    """espeak's marks come where the word's sound starts: just before the level rises, never long after."""
    text = "The deaths of six North Korean military officers highlighted a dilemma."
    clip = espeak_clips[text]
    pcm = array.array("h", clip.pcm)
    starts = word_starts(text, clip.words or ())
    for word in ("deaths", "six", "Korean", "dilemma."):
        sample = starts[text.split().index(word)]
        assert sample is not None
        after = max(abs(x) for x in pcm[sample : sample + RATE * 60 // 1000])
        assert after > 300, word  # speech within 60 ms of the mark


# --- trimming and the cache ------------------------------------------------------------------------


def test_trimming_moves_the_marks_with_the_sound() -> None:
    pcm = array.array("h", [0] * 1000 + [4000] * 500 + [0] * 300 + [-3000] * 700 + [0] * 2000).tobytes()
    start, end = trim_bounds(pcm, RATE)
    assert trim_silence(pcm, RATE) == pcm[2 * start : 2 * end]
    words = shift_words((WordMark(0, 0), WordMark(4, 1800)), start, end)
    trimmed = array.array("h", pcm[2 * start : 2 * end])
    assert words[0].sample == 0 and trimmed[words[1].sample] == -3000 and trimmed[words[1].sample - 1] == 0


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 3000), st.integers(1, 500), st.integers(0, 400), st.integers(1, 500), st.integers(0, 3000))
def test_a_shifted_mark_keeps_its_sample(lead: int, first: int, gap: int, second: int, tail: int) -> None:
    pcm = array.array("h", [0] * lead + [900] * first + [0] * gap + [-900] * second + [0] * tail)
    start, end = trim_bounds(pcm.tobytes(), RATE)
    (shifted,) = shift_words((WordMark(1, lead + first + gap),), start, end)
    assert pcm[start + shifted.sample] == pcm[lead + first + gap] == -900


def _losing_word_events(monkeypatch: pytest.MonkeyPatch, *, every: int) -> None:
    """Fault injection into the real engine: of every ``every``-th utterance espeak-ng finishes (its
    message id), the tap keeps only the first word event, as if the others had been lost on the way.
    Patched before the workers fork, so they lose them too."""
    from narrator.engines.pyttsx3_engine import _WordTap

    record = _WordTap._record

    def lossy(self: _WordTap, events: object) -> None:
        record(self, events)
        if self._finished and self._seen % every == 0:
            self._finished = self._finished[:1]

    monkeypatch.setattr(_WordTap, "_record", lossy)


LOSSY_TEXTS = [
    "The harbour ferry will run again from Monday, the council said on Tuesday evening.",
    "Repairs to the landing stage took longer than planned because of the storms in March.",
]


def test_word_events_lost_once_are_asked_for_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every second utterance loses its word events: each text's first try does (the warm-up is the
    first), its second does not, and the clip has every mark, as without the loss."""
    _losing_word_events(monkeypatch, every=2)
    with Synthesizer(Voicing(engine="pyttsx3", voice="", rate=175), jobs=1, cache=ClipCache(tmp_path)) as synth:
        clips = list(synth.clips(LOSSY_TEXTS))
    for text, clip in zip(LOSSY_TEXTS, clips, strict=True):
        starts = word_starts(text, clip.words or ())
        assert clip.words is not None and sum(s is not None for s in starts) >= len(starts) - 2, text
    assert len(list(tmp_path.glob("*/*.wav"))) == 2  # complete: cached


def test_word_events_lost_for_good_leave_a_clip_without_marks_uncached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Half a sentence's marks were taken as all of them, cached so, and its captions timed by them
    with nothing said. Now the clip has none (captions timed by estimate) and is not cached."""
    _losing_word_events(monkeypatch, every=1)
    with Synthesizer(Voicing(engine="pyttsx3", voice="", rate=175), jobs=1, cache=ClipCache(tmp_path)) as synth:
        clips = list(synth.clips(LOSSY_TEXTS))
    assert all(clip.words is None and clip.pcm for clip in clips)
    assert not list(tmp_path.glob("*/*.wav"))


def test_a_run_says_when_captions_are_timed_by_estimate(
    monkeypatch: pytest.MonkeyPatch, runner: CliRunner, tmp_path: Path
) -> None:
    import webvtt

    article = tmp_path / "ferry.txt"
    article.write_text("The harbour ferry returns to the town\n\n" + " ".join(LOSSY_TEXTS) + "\n", encoding="utf-8")
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ["narrate", str(article), "-o", str(out), "--cache-dir", str(cache), "--jobs", "1"]
    _losing_word_events(monkeypatch, every=1)
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    note = "ferry.txt: 3 of 3 pieces came without word timings from pyttsx3; their captions are timed by estimate"
    assert f"narrator: {note}" in result.stderr
    starts = [cue.start_in_seconds for cue in webvtt.read(str(out / "ferry.vtt"))]
    assert len(starts) >= 3 and starts == sorted(starts)
    monkeypatch.undo()  # the events come again: the clips are synthesized again, not taken from the cache
    result = runner.invoke(main, [*args, "--as-new"])
    assert result.exit_code == 0, result.output
    assert "word timings" not in result.stderr
    assert len(list(cache.glob("*/*.wav"))) == 3


def test_the_cache_keeps_a_clips_words_in_its_file(tmp_path: Path) -> None:
    import wave

    cache = ClipCache(tmp_path)
    words = (WordMark(0, 0), WordMark(4, 1234))
    cache.put("ab" * 32, Clip(b"\1\0" * 2000, RATE, words))
    cache.put("cd" * 32, Clip(b"\1\0" * 2000, RATE))
    assert cache.get("ab" * 32) == Clip(b"\1\0" * 2000, RATE, words)
    assert cache.get("cd" * 32) == Clip(b"\1\0" * 2000, RATE, None)
    with wave.open(str(next(tmp_path.glob("ab/*.wav"))), "rb") as wav:  # still a WAV any reader opens
        assert wav.readframes(wav.getnframes()) == b"\1\0" * 2000


# --- the article's words against the spoken ones -----------------------------------------------------


def test_written_and_spoken_words_align_around_rewrites() -> None:
    written = "Tom & Jerry paid $1.2 billion for <b>bold</b> ideas in 2018."
    spoken = ["Tom and Jerry paid one point two billion dollars", "for b bold /b ideas in twenty eighteen."]
    words = {written[offset:].split()[0]: (chunk, word) for offset, chunk, word in align(written, spoken)}
    assert words == {
        "Tom": (0, 0),
        "Jerry": (0, 2),
        "paid": (0, 3),
        "billion": (0, 7),
        "for": (1, 0),
        "ideas": (1, 4),
        "in": (1, 5),
    }


def test_a_captions_spoken_prefix_and_a_lexicon_rewrite_are_skipped() -> None:
    sentence = make_sentence("Kim Jong Un waved (Image: KCNA)", "Image caption: Kim Jong Un waved")
    assert [sentence.text[o:].split()[0] for o, _, _ in align(sentence.text, sentence.chunks)] == [
        "Kim",
        "Jong",
        "Un",
        "waved",
    ]
    said = make_sentence("The Worcestershire sauce was good.", say=lambda t: t.replace("Worcestershire", "Wooster"))
    assert [sentence[1:] for sentence in align(said.text, said.chunks)] == [(0, 0), (0, 2), (0, 3), (0, 4)]


def test_anchors_come_from_marks_and_from_clip_starts() -> None:
    written = "One two three, four five six."
    spoken = ["One two three,", "four five six."]
    timed = [
        PlacedClip(0, 9000, (WordMark(0, 0), WordMark(4, 3000), WordMark(8, 6000))),
        PlacedClip(12_000, 9000, None),
    ]
    assert sentence_anchors(written, spoken, timed) == [(0, 0), (4, 3000), (8, 6000), (15, 12_000)]


def test_without_word_timings_a_sentence_is_spoken_cue_by_cue() -> None:
    long = (
        "The deaths of six North Korean military officers in the Russian-occupied part of Ukraine, in a "
        "Ukrainian missile strike that wounded 20 other soldiers, highlighted a dilemma for North Korea."
    )
    article = Article(source="a.txt", title="A title", byline="", blocks=(Block(BlockKind.PARAGRAPH, long),))
    script = segment_article(article, rate_wpm=175)
    cut = cut_at_cues(script, rate_wpm=175)
    (sentence,) = [s for s in cut.sentences() if s.text == long]
    assert len(sentence.chunks) == 3
    assert " ".join(sentence.chunks) == " ".join(c for s in script.sentences() if s.text == long for c in s.chunks)
    assert cut.sentences()[0] == script.sentences()[0]  # a sentence of one cue stays as it was


def test_a_mark_in_or_before_a_pause_settles_where_the_sound_starts() -> None:
    def ms(n: int, level: int) -> list[int]:
        return [level] * (RATE * n // 1000)

    # word, 40 ms closure (a "p"), word, 200 ms pause, word
    pcm = array.array("h", ms(300, 900) + ms(40, 0) + ms(300, 900) + ms(200, 0) + ms(300, 900)).tobytes()
    closure_end, pause_start, pause_end = RATE * 340 // 1000, RATE * 640 // 1000, RATE * 840 // 1000
    marks = [WordMark(0, 0), WordMark(5, RATE * 300 // 1000), WordMark(10, pause_start - RATE // 10)]
    settled = settle_on_sound(pcm, RATE, marks)
    assert settled[1] == marks[1]  # a stop's closure is no pause: the mark stays
    assert abs(settled[2].sample - pause_end) <= 1  # 100 ms before the pause: moved to the sound after it
    inside = settle_on_sound(pcm, RATE, [WordMark(0, 0), WordMark(10, pause_start + 500)])
    assert abs(inside[1].sample - pause_end) <= 1
    assert closure_end < pause_start
