"""Synthesis in worker processes: order, the cache, bounded windows, and engines that fail or hang.

Most tests use small deterministic engines registered here (tones whose length
follows the text, so every clip is checkable); they run in forked workers
exactly as the real engine does. The cache's end-to-end behaviour with the real
engine is tested at the bottom.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from narrator.cache import ClipCache, clip_key
from narrator.engines import Audio, Voice, register, tone
from narrator.engines.tone import RATE, tone_for
from narrator.errors import SynthesisError
from narrator.synth import Synthesizer, Voicing, Workers, trim_silence, window_for


class ToneEngine(tone.ToneEngine):
    """The deterministic tone engine, with two voices, logging every call (from every worker) to
    $TONES_LOG for the tests that count them."""

    name = "tones"

    def voices(self) -> tuple[Voice, ...]:
        return (Voice("tone/a", "A", ("en",), ""), Voice("tone/b", "B", ("de",), ""))

    def default_voice(self) -> str:
        return "tone/a"

    def synthesize(self, text: str, voice: str, rate: int) -> Audio:
        log = os.environ.get("TONES_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()}\t{voice}\t{rate}\t{text}\n")
        return super().synthesize(text, voice, rate)


class SilentEngine(ToneEngine):
    name = "silent"

    def synthesize(self, text: str, voice: str, rate: int) -> Audio:
        return Audio(b"\0\0" * RATE, RATE)


class StuckEngine(ToneEngine):
    name = "stuck"

    def synthesize(self, text: str, voice: str, rate: int) -> Audio:
        if "stuck" in text:
            time.sleep(3600)
        return super().synthesize(text, voice, rate)


class ScratchEngine(ToneEngine):
    """Leaves a temporary file behind on every call, and hangs on "stuck", as an engine might."""

    name = "scratch"

    def synthesize(self, text: str, voice: str, rate: int) -> Audio:
        import tempfile

        handle, _ = tempfile.mkstemp(prefix="scratch-", suffix=".wav")
        os.close(handle)
        if "stuck" in text:
            time.sleep(3600)
        return super().synthesize(text, voice, rate)


@pytest.fixture(scope="module", autouse=True)
def _test_engines() -> None:
    """The engines above, registered for this module's tests (forked workers inherit the registry)."""
    for engine in (ToneEngine, SilentEngine, StuckEngine, ScratchEngine):
        register(engine.name, lambda engine=engine: engine, for_tests=True)


TEXTS = [f"Sentence number {i} has some words." for i in range(12)] + ["Short.", "Sentence number 3 has some words."]


def samples_of(pcm: bytes) -> int:
    return len(pcm) // 2


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.log"
    monkeypatch.setenv("TONES_LOG", str(path))
    return path


def calls(log: Path) -> list[list[str]]:
    return [line.split("\t") for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []


def test_clips_come_back_in_text_order_trimmed(log: Path) -> None:
    with Synthesizer(Voicing("tones", "tone/a", 175), jobs=2, cache=None) as synth:
        clips = list(synth.clips(TEXTS))
    assert len(clips) == len(TEXTS)
    for text, clip in zip(TEXTS, clips, strict=True):
        expected = samples_of(trim_silence(tone_for(text, 175), RATE))
        assert samples_of(clip.pcm) == expected
        assert clip.sample_rate == RATE
    # Both workers took part, and a repeated sentence was synthesized once.
    assert len({pid for pid, *_ in calls(log)}) == 2
    assert len(calls(log)) == len(set(TEXTS))


def test_the_cache_is_asked_first_and_filled(tmp_path: Path, log: Path) -> None:
    cache = ClipCache(tmp_path / "cache")
    with Synthesizer(Voicing("tones", "tone/a", 175), jobs=2, cache=cache) as synth:
        first = [c.pcm for c in synth.clips(TEXTS)]
    assert cache.info().entries == len(set(TEXTS))
    before = len(calls(log))
    with Synthesizer(Voicing("tones", "tone/a", 175), jobs=2, cache=cache) as synth:
        again = [c.pcm for c in synth.clips(TEXTS)]
    assert len(calls(log)) == before, "a warm cache synthesizes nothing"
    assert again == first, "clips from the cache are the clips that were synthesized"


@pytest.mark.parametrize("change", [{"voice": "tone/b"}, {"rate": 200}, {"pitch": 60}])
def test_a_change_of_voice_rate_or_pitch_misses_the_cache(tmp_path: Path, log: Path, change: dict) -> None:
    cache = ClipCache(tmp_path / "cache")
    base = {"engine": "tones", "voice": "tone/a", "rate": 175}
    with Synthesizer(Voicing(**base), jobs=2, cache=cache) as synth:
        list(synth.clips(TEXTS[:4]))
    count = len(calls(log))
    with Synthesizer(Voicing(**{**base, **change}), jobs=2, cache=cache) as synth:
        list(synth.clips(TEXTS[:4]))
    assert len(calls(log)) == count + 4
    assert cache.info().entries == 8


def test_cache_keys_cover_everything_that_changes_the_sound() -> None:
    base = {"engine": "e", "engine_version": "1", "voice": "v", "rate": 175, "pitch": 50, "text": "Hi"}
    keys = {clip_key(**base)}
    for field, other in [("engine", "f"), ("engine_version", "2"), ("voice", "w"), ("rate", 176), ("pitch", 51)]:
        keys.add(clip_key(**{**base, field: other}))
    keys.add(clip_key(**{**base, "text": "Hi."}))
    assert len(keys) == 7


def test_eviction_removes_the_least_recently_used_first(tmp_path: Path) -> None:
    from narrator.models import Clip

    cache = ClipCache(tmp_path / "cache", max_bytes=10**9)
    clip = Clip(b"\1\0" * 1000, RATE)
    for i in range(5):
        cache.put(f"{i:064x}", clip)
        path = cache.root / f"{i:064x}"[:2] / f"{i:064x}.wav"
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    assert cache.get(f"{0:064x}") is not None  # reading the oldest makes it the newest
    size = cache.info().size_bytes // 5
    cache.max_bytes = size * 3
    assert cache.trim() == 2
    assert cache.get(f"{0:064x}") is not None
    assert cache.get(f"{1:064x}") is None and cache.get(f"{2:064x}") is None
    assert cache.get(f"{4:064x}") is not None
    assert cache.info().entries == 3


def test_a_damaged_cache_file_is_a_miss(tmp_path: Path) -> None:
    from narrator.models import Clip

    cache = ClipCache(tmp_path / "cache")
    cache.put("ab" * 32, Clip(b"\1\0" * 100, RATE))
    path = next(cache.root.rglob("*.wav"))
    path.write_bytes(b"RIFF garbage")
    assert cache.get("ab" * 32) is None


def _hammer(root: str, seed: int, rounds: int) -> int:
    from narrator.models import Clip

    cache = ClipCache(Path(root), max_bytes=40_000)
    bad = 0
    for i in range(rounds):
        key = f"{(seed * 7 + i) % 9:064x}"
        cache.put(key, Clip(bytes([i % 256, 0]) * 4000, RATE))
        got = cache.get(f"{(i + seed) % 9:064x}")
        if got is not None and (len(got.pcm) != 8000 or got.sample_rate != RATE):
            bad += 1
        cache.trim()
    return bad


def test_two_processes_sharing_a_cache_never_see_half_a_clip(tmp_path: Path) -> None:
    root = str(tmp_path / "cache")
    with multiprocessing.get_context("fork").Pool(2) as pool:
        bad = pool.starmap(_hammer, [(root, 1, 300), (root, 2, 300)])
    assert bad == [0, 0]
    assert not list(Path(root).rglob(".tmp-*")), "no temporary files are left"


def test_no_audio_is_an_error_not_a_silent_gap() -> None:
    with (
        Synthesizer(Voicing("silent", "tone/a", 175), jobs=1, cache=None) as synth,
        pytest.raises(SynthesisError, match="only silence"),
    ):
        list(synth.clips(["Hello there."]))


def test_a_stuck_engine_times_out_with_a_clear_error() -> None:
    started = time.monotonic()
    with (
        Synthesizer(Voicing("stuck", "tone/a", 175), jobs=2, cache=None, timeout_s=2) as synth,
        pytest.raises(SynthesisError, match="did not finish within") as error,
    ):
        list(synth.clips(["Fine.", "This one is stuck.", "Never reached."]))
    assert "This one is stuck" in str(error.value)
    assert time.monotonic() - started < 60, "the stuck worker was killed, not waited for"


def test_only_a_window_of_texts_is_with_the_workers(log: Path) -> None:
    texts = [f"Sentence {i}." for i in range(200)]
    with Synthesizer(Voicing("tones", "tone/a", 175), jobs=2, cache=None) as synth:
        clips = synth.clips(texts)
        next(clips)
        time.sleep(1.0)  # workers finish whatever they were given
        given = len(calls(log))
        list(clips)
    assert given <= 2 + window_for(2) + 1, f"{given} texts were handed out ahead of the consumer"
    assert len(calls(log)) == 200


def test_voices_are_listed_by_a_worker() -> None:
    with Synthesizer(Voicing("tones", "", 175), jobs=1, cache=None) as synth:
        voices, default = synth.voices()
        assert default == "tone/a"
        assert [v.id for v in voices] == ["tone/a", "tone/b"]
        assert synth.version == "1"


def wait_for(condition, timeout_s: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_synthesis_starts_when_clips_is_called_not_at_the_first_clip(log: Path) -> None:
    with Synthesizer(Voicing("tones", "tone/a", 175), jobs=2, cache=None) as synth:
        clips = synth.clips(TEXTS)
        assert wait_for(lambda: len(calls(log)) >= 2), "the engines got nothing before the first clip was asked for"
        assert len(list(clips)) == len(TEXTS)


def test_workers_started_early_are_the_ones_that_synthesize(log: Path) -> None:
    workers = Workers("tones", 2)
    pids = {process.pid for process in workers.pool._processes.values()}  # type: ignore[union-attr]
    with Synthesizer(Voicing("tones", "tone/a", 175), jobs=1, cache=None, workers=workers) as synth:
        assert synth.jobs == 2
        assert synth.voices()[1] == "tone/a"
        assert len(list(synth.clips(TEXTS))) == len(TEXTS)
    assert {int(pid) for pid, *_ in calls(log)} <= pids
    assert not Path(workers.scratch).exists()


def test_workers_for_another_engine_are_refused() -> None:
    workers = Workers("tones", 1)
    try:
        with pytest.raises(ValueError, match="tones"):
            Synthesizer(Voicing("silent", "tone/a", 175), jobs=1, cache=None, workers=workers)
    finally:
        workers.close()


def test_workers_never_given_text_are_stopped_not_waited_for() -> None:
    def gone(pid: int) -> bool:  # exited, reaped or not (whichever thread reaps it)
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in "ZX"
        except (FileNotFoundError, ProcessLookupError):
            return True

    workers = Workers("tones", 2)
    pids = list(workers.pool._processes)  # type: ignore[union-attr]
    workers.close()
    assert all(wait_for(lambda pid=pid: gone(pid)) for pid in pids)
    assert not Path(workers.scratch).exists()


def test_a_killed_worker_leaves_no_temporary_files(log: Path) -> None:
    synth = Synthesizer(Voicing("scratch", "tone/a", 175), jobs=2, cache=None, timeout_s=2)
    workers = synth.warm_up()
    scratch = Path(workers.scratch)
    with pytest.raises(SynthesisError, match="did not finish within"):
        list(synth.clips(["Fine.", "This one is stuck.", "Never reached."]))
    assert not scratch.exists(), "the killed worker's files went with the workers' folder"
    assert not list(Path(tempfile.gettempdir()).glob("scratch-*")), "no engine file was made anywhere else"
    synth.close()


# --- with the real engine ------------------------------------------------------------


def test_output_from_a_warm_cache_is_identical_to_the_run_that_filled_it(tmp_path: Path) -> None:
    """The cache never changes what is published: the second run reads every clip and
    writes byte-identical files (espeak-ng itself is not bit-identical between runs,
    so a third run without the cache is checked for the same structure instead)."""
    from click.testing import CliRunner

    from narrator.cli import main

    article = tmp_path / "a.txt"
    article.write_text(
        "A test of the cache\n\nBy Sam Okoro\n\nThe first paragraph has two sentences. It ends here.\n\n"
        "The second paragraph is a little longer, and it has a comma. Then a full stop.\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    outputs = []
    for name, extra in (("cold", ["--cache-dir", str(tmp_path / "c")]), ("warm", ["--cache-dir", str(tmp_path / "c")])):
        out = tmp_path / name
        result = runner.invoke(main, ["narrate", str(article), "-o", str(out), "-q", *extra])
        assert result.exit_code == 0, result.output
        outputs.append(out)
    cold, warm = outputs
    for suffix in (".mp3", ".vtt", ".srt", ".chapters.json"):
        assert (cold / f"a{suffix}").read_bytes() == (warm / f"a{suffix}").read_bytes(), suffix
    result = runner.invoke(main, ["narrate", str(article), "-o", str(tmp_path / "none"), "-q", "--no-cache"])
    assert result.exit_code == 0, result.output
    uncached = (tmp_path / "none" / "a.vtt").read_text(encoding="utf-8")
    cached = (cold / "a.vtt").read_text(encoding="utf-8")

    def text_lines(vtt: str) -> list[str]:  # without the times, which may differ by a millisecond
        return [re.sub(r"<[\d:.]+>", "", line) for line in vtt.splitlines() if "-->" not in line]

    assert text_lines(uncached) == text_lines(cached)


def test_one_changed_sentence_is_the_only_one_synthesized_again(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from narrator.cli import main

    cache = tmp_path / "cache"
    article = tmp_path / "story.txt"
    paragraphs = [f"Paragraph {i} opens here. It closes with a second sentence of its own." for i in range(4)]
    article.write_text("A story\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["narrate", str(article), "-o", str(tmp_path / "out"), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    before = {p.name for p in cache.rglob("*.wav")}
    paragraphs[2] = paragraphs[2].replace("opens here", "begins here")
    article.write_text("A story\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["narrate", str(article), "-o", str(tmp_path / "out"), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    assert len({p.name for p in cache.rglob("*.wav")} - before) == 1
    assert "unchanged" not in result.output


def test_the_engines_version_is_read_as_importlib_metadata_reads_it() -> None:
    from importlib import metadata

    from narrator.engines.pyttsx3_engine import _installed_version
    from narrator.errors import EngineUnavailable

    for package in ("pyttsx3", "click", "numpy"):
        assert _installed_version(package) == metadata.version(package)
    with pytest.raises(EngineUnavailable, match="not installed"):
        _installed_version("no_such_package_here")


def test_silence_for_a_text_the_voice_cannot_say_is_a_pause_not_an_error(tmp_path: Path) -> None:
    """espeak-ng says nothing for a lone ")" or a Cherokee letter; it says a digit, so the engine
    works and the text was the silent one: a short pause, where "only silence" used to stop the run."""
    from narrator.language import choose_voice, voices_of
    from narrator.synth import UNSAYABLE_MS, Synthesizer, Voicing

    with Synthesizer(Voicing(engine="pyttsx3", voice="", rate=175), jobs=1, cache=None) as synthesizer:
        voice = choose_voice("en", voices_of(synthesizer))
        synthesizer.voicing = Voicing(engine="pyttsx3", voice=voice, rate=175)
        silent, said = list(synthesizer.clips([")", "Hello there."]))
    assert silent.pcm == bytes(2 * silent.sample_rate * UNSAYABLE_MS // 1000)
    assert said.pcm.strip(b"\0")
