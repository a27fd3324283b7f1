"""Languages: tags, detection, choosing a voice, and a German article narrated in German."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.cli import main
from narrator.engines import Voice
from narrator.errors import EngineUnavailable, ExitStatus
from narrator.language import (
    InstalledVoices,
    choose_voice,
    detect_language,
    installed_voices,
    matching_voices,
    normalize_tag,
)

INPUTS_DIR = Path(__file__).parent / "data" / "inputs"
GERMAN_TEXT = INPUTS_DIR / "bahn-takt-de.txt"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("EN-gb", "en-GB"),
        ("fr_FR", "fr-FR"),
        ("sr-latn-rs", "sr-Latn-RS"),
        ("es-419", "es-419"),
        ("en-GB-oxendict", "en-GB"),
        ("de-DE-x-private", "de-DE"),
        ("", ""),
        ("x-default", ""),
        ("english", ""),
        ("e", ""),
        ("en-", ""),
    ],
)
def test_normalize_tag(tag: str, expected: str) -> None:
    assert normalize_tag(tag) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GERMAN_TEXT.read_text(encoding="utf-8"), "de"),
        ("Le nombre de cyclistes a doublé en cinq ans dans la métropole de Lyon, selon le bilan publié lundi.", "fr"),
        ("The ferry that links the old town with the north quay will run on electricity from April.", "en"),
        ("El tren nocturno vuelve a circular entre Madrid y Lisboa a partir del próximo viernes.", "es"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text, fallback="xx") == expected


@pytest.mark.parametrize("text", ["OK", "12 345 678", "Hi!", ""])
def test_too_little_text_falls_back(text: str) -> None:
    assert detect_language(text, fallback="nl") == "nl"


# --- choosing a voice ------------------------------------------------------------------------

FAKE = InstalledVoices(
    voices=(
        Voice("gmw/en", "English (Great Britain)", ("en-gb",), "male"),
        Voice("gmw/en-us", "English (America)", ("en-us",), "male"),
        Voice("gmw/en-gb-x-rp", "English (Received Pronunciation)", ("en-gb-x-rp",), "male"),
        Voice("gmw/de", "German", ("de",), "male"),
        Voice("roa/fr-be", "French (Belgium)", ("fr-be",), "male"),
        Voice("roa/fr", "French (France)", ("fr-fr",), "male"),
        Voice("sit/cmn", "Chinese (Mandarin)", ("cmn",), "male"),
        Voice("gmq/nb", "Norwegian Bokmål", ("nb",), "male"),
    ),
    default="gmw/en",
)


@pytest.mark.parametrize(
    ("tag", "voice"),
    [
        ("en", "gmw/en"),  # the engine's default voice, when it speaks the language
        ("en-GB", "gmw/en"),
        ("en-US", "gmw/en-us"),  # the region, exactly
        ("en-AU", "gmw/en"),  # no such region: the default English voice
        ("de", "gmw/de"),
        ("de-AT", "gmw/de"),
        ("fr", "roa/fr"),  # fr-fr before fr-be
        ("fr-BE", "roa/fr-be"),
        ("zh", "sit/cmn"),  # a macrolanguage
        ("no", "gmq/nb"),
    ],
)
def test_choose_voice(tag: str, voice: str) -> None:
    assert choose_voice(tag, FAKE) == voice


def test_a_language_without_a_voice_names_the_installed_languages() -> None:
    with pytest.raises(EngineUnavailable) as caught:
        choose_voice("tlh", FAKE)
    assert str(caught.value).startswith("no installed voice speaks 'tlh' (installed languages: cmn, de, en, fr, nb)")


def test_matching_voices_best_first() -> None:
    assert [v.id for v in matching_voices("en", FAKE)] == ["gmw/en", "gmw/en-us", "gmw/en-gb-x-rp"]
    assert matching_voices("pt", FAKE) == ()


def test_installed_voices_of_the_real_engine() -> None:
    installed = installed_voices("pyttsx3")
    assert installed.default
    assert {"en", "de", "fr"} <= set(installed.languages())
    assert "german" in next(v for v in installed.voices if v.id == choose_voice("de", installed)).name.lower()


def test_listing_voices_first_does_not_break_the_forked_workers() -> None:
    """espeak started in the parent makes forked workers hang: the listing must happen elsewhere."""
    from narrator.synth import Synthesizer, Voicing

    installed_voices.cache_clear()
    installed = installed_voices("pyttsx3")
    voice = choose_voice("de", installed)
    with Synthesizer(Voicing("pyttsx3", voice, 175), jobs=2, cache=None, timeout_s=20) as synth:
        clips = list(synth.clips(["Guten Tag.", "Wie geht es Ihnen heute?"]))
    assert all(clip.duration_ms > 300 for clip in clips)


# --- the command line and real narrations ----------------------------------------------------------


def test_voices_lists_id_name_languages_and_gender(runner: CliRunner) -> None:
    result = runner.invoke(main, ["voices"])
    assert result.exit_code == 0, result.output
    german = next(line for line in result.output.splitlines() if line.split()[1] == "gmw/de")
    assert german.split() == ["pyttsx3", "gmw/de", "de", "male", "German"]


def test_voices_for_a_language(runner: CliRunner) -> None:
    result = runner.invoke(main, ["voices", "--language", "fr"])
    assert result.exit_code == 0, result.output
    ids = [line.split()[1] for line in result.output.splitlines()]
    assert ids[0] == "roa/fr" and set(ids) == {"roa/fr", "roa/fr-be", "roa/fr-ch"}  # Piper's joe speaks only English


@pytest.mark.parametrize(("language", "status"), [("tlh", ExitStatus.ENGINE), ("not a tag", ExitStatus.USAGE)])
def test_voices_for_an_unknown_language(runner: CliRunner, language: str, status: ExitStatus) -> None:
    result = runner.invoke(main, ["voices", "--language", language])
    assert result.exit_code == status
    assert result.output.count("\n") == 1


def _cached(cache: Path, voice: str, text: str) -> bool:
    from narrator.cache import ClipCache, clip_key
    from narrator.engines import engine_version

    key = clip_key(
        engine="pyttsx3", engine_version=engine_version("pyttsx3"), voice=voice, rate=175, pitch=50, text=text
    )
    return ClipCache(cache).get(key) is not None


@pytest.fixture(scope="module")
def german_episode(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The German article from standard input, after an English one, in one run: the voice must switch."""
    out = tmp_path_factory.mktemp("german")
    cache = tmp_path_factory.mktemp("german-cache")
    english = tmp_path_factory.mktemp("english") / "ferry.txt"
    english.write_text("Ferry news\n\nThe harbour ferry will run on batteries from April.", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["narrate", str(english), "-", "-o", str(out), "--cache-dir", str(cache)],
        input=GERMAN_TEXT.read_bytes(),
    )
    assert result.exit_code == 0, result.output
    return out, cache


def test_a_german_article_gets_a_german_voice_and_the_deu_tag(german_episode: tuple[Path, Path]) -> None:
    from mutagen.id3 import ID3

    out, cache = german_episode
    mp3 = out / "mehr-zuge-zwischen-hamburg-und-berlin.mp3"
    tag = ID3(mp3)
    assert tag["TLAN"].text == ["deu"]
    assert tag.getall("USLT")[0].lang == "deu"
    # Every German sentence went to the engine with the German voice, none with the English one.
    german = choose_voice("de", installed_voices("pyttsx3"))
    assert _cached(cache, german, "Mehr Züge zwischen Hamburg und Berlin")
    assert not _cached(cache, installed_voices("pyttsx3").default, "Mehr Züge zwischen Hamburg und Berlin")
    # ...and the English article before it kept the English voice.
    assert _cached(cache, choose_voice("en", installed_voices("pyttsx3")), "Ferry news")


def test_the_library_row_and_the_feed_carry_the_language(german_episode: tuple[Path, Path], runner: CliRunner) -> None:
    out, _ = german_episode
    listed = json.loads(runner.invoke(main, ["episodes", "-o", str(out), "--json"]).output)
    assert {row["title"]: row["language"] for row in listed} == {
        "Mehr Züge zwischen Hamburg und Berlin": "de",
        "Ferry news": "en",
    }


def test_language_and_voice_flags_override(runner: CliRunner, tmp_path: Path) -> None:
    from mutagen.id3 import ID3

    article = tmp_path / "short.txt"
    article.write_text("Short news\n\nThe harbour ferry will run on batteries from April.", encoding="utf-8")
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ["narrate", str(article), "-o", str(out), "--cache-dir", str(cache), "--language", "fr", "--voice", "gmw/de"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert ID3(out / "short.mp3")["TLAN"].text == ["fra"]
    assert _cached(cache, "gmw/de", "Short news")


def test_a_language_without_a_voice_stops_the_run_before_anything_is_written(runner: CliRunner, tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text("---\nlang: tlh\n---\n# Qapla'\n\nSome words.", encoding="utf-8")
    result = runner.invoke(main, ["narrate", str(article), "-o", str(tmp_path / "out")])
    assert result.exit_code == ExitStatus.ENGINE
    assert "no installed voice speaks 'tlh' (installed languages: af, " in result.output
    assert "for pyttsx3; piper: en); choose one of those with --language, or a voice with --voice" in result.output
    assert not (tmp_path / "out").exists()


def test_a_bad_language_flag_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["narrate", str(GERMAN_TEXT), "--language", "German", "-o", str(tmp_path)])
    assert result.exit_code == ExitStatus.USAGE
    assert "--language must be a language tag such as en, de or pt-BR, not 'German'" in result.output
