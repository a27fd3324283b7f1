"""The pronunciation lexicon: what it matches, which entry wins, and that only the audio changes."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.cli import main
from narrator.errors import ExitStatus, SettingsError
from narrator.lexicon import Entry, Lexicon, default_lexicon, load_lexicon, parse_lexicon, read_lexicon
from narrator.models import Article, Block, BlockKind
from narrator.segment import sayer, segment_article


def lexicon_of(toml: str, *, builtin: bool = False, origin: str = "lexicon.toml") -> Lexicon:
    entries = parse_lexicon(tomllib.loads(toml), origin=origin)
    return Lexicon(entries + (default_lexicon().entries if builtin else ()))


def say(lexicon: Lexicon, text: str, language: str = "en") -> str:
    """The lexicon's spoken form alone."""
    return lexicon.pronouncer(language)(text)


def said(lexicon: Lexicon, text: str, language: str = "en") -> str:
    """What narrator says: the lexicon's entries first, speech.py's normalisation around them."""
    return sayer(language, lexicon)(text)


# --- matching ---------------------------------------------------------------------------------


def test_whole_words_only() -> None:
    lexicon = lexicon_of('ca = "circa"\nSQL = "sequel"')
    assert (
        say(lexicon, "Jamaica has ca 20 SQL servers, MySQL too.") == "Jamaica has circa 20 sequel servers, MySQL too."
    )


def test_a_capital_in_the_word_makes_it_case_sensitive() -> None:
    lexicon = lexicon_of('US = "United States"\n"e.g." = "for example"')
    assert say(lexicon, "The US told us so.") == "The United States told us so."
    assert say(lexicon, "E.g. this, e.g. that.") == "for example this, for example that."


def test_case_sensitivity_can_be_set() -> None:
    lexicon = lexicon_of(
        'GIF = { say = "jif", case_sensitive = false }\nnasa = { say = "Nasa", case_sensitive = true }'
    )
    assert say(lexicon, "A gif, a GIF; NASA and nasa.") == "A jif, a jif; NASA and Nasa."


def test_a_space_in_a_word_matches_any_space_or_none() -> None:
    lexicon = lexicon_of('[de]\n"z. B." = "zum Beispiel"')
    assert say(lexicon, "Obst, z. B. Äpfel, z.B. Birnen, z.  B. Nüsse", "de") == (
        "Obst, zum Beispiel Äpfel, zum Beispiel Birnen, zum Beispiel Nüsse"
    )


def test_patterns_with_groups() -> None:
    lexicon = lexicon_of(r"""'v(\d+)\.(\d+)' = { say = 'version \1 point \2', regex = true }""")
    assert say(lexicon, "Upgrade to v2.5 today, not tv2.5.") == "Upgrade to version 2 point 5 today, not tv2.5."


def test_one_pass_a_spoken_form_is_never_matched_again() -> None:
    lexicon = lexicon_of('"e.g." = "for example"\nexample = "instance"')
    assert say(lexicon, "e.g. an example") == "for example an instance"


def test_longer_words_win_over_shorter_ones() -> None:
    lexicon = lexicon_of('New = "Old"\n"New York" = "the Big Apple"')
    assert say(lexicon, "New York is New.") == "the Big Apple is Old."


# --- languages and priority ----------------------------------------------------------------------


def test_entries_apply_to_their_language_and_its_regions() -> None:
    lexicon = lexicon_of('lift = "lift"\n[en-US]\nlift = "elevator"\n[de]\nGleis = "Gleiss"')
    assert say(lexicon, "Take the lift to Gleis 3", "en-US") == "Take the elevator to Gleis 3"
    assert say(lexicon, "Take the lift to Gleis 3", "en-GB") == "Take the lift to Gleis 3"
    assert say(lexicon, "Der lift zu Gleis 3", "de-AT") == "Der lift zu Gleiss 3"


def test_the_lexicon_flag_wins_over_the_podcast_file_over_the_builtin(tmp_path: Path) -> None:
    podcast = tmp_path / "lexicon.toml"
    podcast.write_text('[en]\n"e.g." = "say for instance"\nnginx = "engine x"\n', encoding="utf-8")
    flag = tmp_path / "mine.toml"
    flag.write_text('nginx = "N G I N X"\n', encoding="utf-8")
    lexicon = load_lexicon([podcast, flag])
    assert said(lexicon, "nginx, e.g. i.e. this") == "N G I N X, say for instance that is this"


def test_a_language_table_wins_over_entries_for_every_language() -> None:
    lexicon = lexicon_of('[all]\nDr = "Doctor"\n[de]\nDr = "Doktor"')
    assert say(lexicon, "Dr Kim", "de") == "Doktor Kim"
    assert say(lexicon, "Dr Kim", "fr") == "Doctor Kim"


# --- the built-in entries, and the abbreviations speech.py's tables say --------------------------------


@pytest.mark.parametrize(
    ("language", "text", "spoken"),
    [
        ("en", "See https://www.example.com/news/2024/story?id=3.", "See example.com."),
        ("en", "(www.bbc.co.uk/news) and http://localhost:8000/x", "(bbc.co.uk) and http://localhost:8000/x"),
        ("en", "Write to jane.doe@example.org today.", "Write to jane.doe at example.org today."),
        (
            "en",
            "Cats, e.g. lions, i.e. big ones, vs. dogs etc.",
            "Cats, for example lions, that is big ones, versus dogs et cetera.",
        ),
        (
            "de",
            "Mail an info@bahn.example, z. B. heute, bzw. Nr. 5",
            "Mail an info ät bahn.example, zum Beispiel heute, beziehungsweise Nummer 5",
        ),
        ("de", "By Jana Schröder", "Von Jana Schröder"),
        ("de", "Image caption: Ein Zug", "Bildunterschrift: Ein Zug"),
        ("fr", "M. Dupont, c.-à-d. le n° 5", "Monsieur Dupont, c'est-à-dire le numéro 5"),
        ("fr", "By Claire Martin", "Par Claire Martin"),
        ("en", "By Jana Schröder", "By Jana Schröder"),
        ("en", "Baby steps, by the way.", "Baby steps, by the way."),
    ],
)
def test_builtin_entries(language: str, text: str, spoken: str) -> None:
    assert said(default_lexicon(), text, language) == spoken


def test_a_user_entry_overrides_a_builtin_one_and_the_speech_table() -> None:
    lexicon = lexicon_of('[en]\n"e.g." = "e.g."\nexample = "instance"', builtin=True)
    assert said(lexicon, "Cats, e.g. lions, see https://example.org/a.") == "Cats, e.g. lions, see example.org."


def test_the_abbreviations_are_the_speech_tables_not_the_lexicons() -> None:
    """They moved to speech.py's tables, which know their context ("1 Mio." is "eine Million")."""
    assert say(default_lexicon(), "z. B. 1 Mio. Einwohner", "de") == "z. B. 1 Mio. Einwohner"
    assert said(default_lexicon(), "z. B. 1 Mio. Einwohner", "de") == "zum Beispiel eine Million Einwohner"


# --- files and their mistakes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[english]\nword = "x"', "[english] is not a language tag such as en or de-AT (or all)"),
        ('word = { say = "x", regexp = true }', "'word': unknown option regexp (use say, regex, case_sensitive)"),
        ("word = 3", "'word': give the spoken form as a string"),
        ('word = { say = "x", regex = "yes" }', "say must be a string, regex and case_sensitive true or false"),
        ("""'v(\\d+' = { say = 'x', regex = true }""", "not a valid regular expression or replacement"),
        ("""'v(\\d+)' = { say = 'version \\2', regex = true }""", "not a valid regular expression or replacement"),
        ('" " = "space"', "an entry has an empty word"),
    ],
)
def test_mistakes_in_a_lexicon_name_the_file_and_the_entry(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "lexicon.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        read_lexicon(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_lexicon_that_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.toml"
    path.write_text("word: spoken", encoding="utf-8")
    with pytest.raises(SettingsError, match="lexicon is not valid TOML"):
        read_lexicon(path)


def test_digest_covers_only_the_users_entries_for_the_language() -> None:
    lexicon = lexicon_of('[de]\nGleis = "Gleiss"', builtin=True)
    assert default_lexicon().digest("en") == ""
    assert lexicon.digest("en") == ""
    assert lexicon.digest("de-AT") != ""
    moved = lexicon_of('[de]\nGleis = "Gleiss"', builtin=True, origin="/elsewhere/lexicon.toml")
    assert moved.digest("de") == lexicon.digest("de")


def test_entry_applies_to() -> None:
    assert Entry("x", "y").applies_to("tlh")
    assert Entry("x", "y", language="pt").applies_to("pt-BR")
    assert not Entry("x", "y", language="pt-BR").applies_to("pt")


# --- only the audio changes ---------------------------------------------------------------------------


def test_spoken_forms_change_the_chunks_never_the_text() -> None:
    lexicon = lexicon_of('[en]\nferry = "boat"\nHarbour = "Port"', builtin=True)
    article = Article(
        source="a.txt",
        title="Harbour ferry news",
        byline="Ann Ferry",
        blocks=(
            Block(BlockKind.HEADING, "The ferry returns"),
            Block(
                BlockKind.PARAGRAPH, "The ferry runs again, e.g. on Sundays. See https://example.org/ferry for times."
            ),
            Block(BlockKind.CAPTION, "The ferry at dawn (Photo: Harbour Board)"),
        ),
    )
    plain = segment_article(article, rate_wpm=175)
    spoken = segment_article(article, rate_wpm=175, lexicon=lexicon)
    assert [s.text for s in spoken.sentences()] == [s.text for s in plain.sentences()]
    assert [c.title for c in spoken.chapters] == [c.title for c in plain.chapters]
    assert [s.chunks for s in spoken.sentences()] == [
        ("Port boat news",),
        ("By Ann boat",),
        ("The boat returns",),
        ("The boat runs again, for example on Sundays.",),
        ("See example.org for times.",),
        ("Image caption: The boat at dawn",),
    ]


def test_a_missing_lexicon_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Title\n\nSome words.", encoding="utf-8")
    result = runner.invoke(main, ["narrate", str(article), "--lexicon", str(tmp_path / "no.toml"), "-o", str(tmp_path)])
    assert result.exit_code == ExitStatus.USAGE
    assert result.output == f"narrator: error: {tmp_path / 'no.toml'}: lexicon file not found\n"


def chapter_titles(path: Path) -> list[str]:
    return [chapter["title"] for chapter in json.loads(path.read_text(encoding="utf-8"))["chapters"]]


def test_lexicon_entries_change_the_audio_but_not_the_captions(runner: CliRunner, tmp_path: Path) -> None:
    import webvtt

    from narrator.cache import ClipCache, clip_key
    from narrator.engines import engine_version
    from narrator.language import choose_voice, installed_voices

    article = tmp_path / "ferry.md"
    article.write_text("# Ferry news\n\nThe harbour ferry returns on Friday, e.g. for the festival.", encoding="utf-8")
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ["narrate", str(article), "-o", str(out), "--cache-dir", str(cache)]
    assert runner.invoke(main, args).exit_code == 0
    before = (out / "ferry.mp3").read_bytes()
    captions = [c.text for c in webvtt.read(str(out / "ferry.vtt"))]
    chapters = chapter_titles(out / "ferry.chapters.json")

    (out / "lexicon.toml").write_text('[en]\nferry = "hovercraft"\n', encoding="utf-8")
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "unchanged" not in result.output  # the podcast's lexicon is part of what the episode depends on
    mp3 = Path(result.stdout.split()[0])  # the new rendition: ferry.v2.mp3
    files = mp3.name.removesuffix(".mp3")
    assert mp3.read_bytes() != before
    assert [c.text for c in webvtt.read(str(out / f"{files}.vtt"))] == captions
    assert "ferry" in captions[0].lower() and not any("hovercraft" in c for c in captions)
    assert chapter_titles(out / f"{files}.chapters.json") == chapters == ["Ferry news"]
    from mutagen.id3 import ID3

    transcript = ID3(mp3).getall("USLT")[0].text
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    for shown in (transcript, feed):
        assert "harbour ferry returns" in shown and "hovercraft" not in shown

    # The engine was asked to say the spoken form.
    voice = choose_voice("en", installed_voices("pyttsx3"))
    key = clip_key(
        engine="pyttsx3",
        engine_version=engine_version("pyttsx3"),
        voice=voice,
        rate=175,
        pitch=50,
        text="The harbour hovercraft returns on Friday, for example for the festival.",
    )
    assert ClipCache(cache).get(key) is not None
