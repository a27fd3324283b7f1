"""The command line: help, version, voices, narrate's output streams, and bad input.

In-process with click's CliRunner, except where the real process matters (what
reaches file descriptor 1 from the engine's worker processes).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import narrator
from narrator.cli import main
from narrator.errors import ExitStatus

SHORT_ARTICLE = (
    "Ferry returns to the river\n\n"
    "By Anna Smith\n\n"
    "The river ferry returned to service on Monday after a winter of repairs.\n\n"
    "Advertisement\n\n"
    "Passengers said the crossing felt quicker than before. It runs every half hour until 7 p.m.\n"
)


def all_commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


COMMANDS = list(all_commands())


# --- help and version (as sqlite-utils tests/test_docs.py) -------------------------


def test_the_commands_of_the_work_order_exist() -> None:
    assert {("narrate",), ("voices",), ("script",)} <= set(COMMANDS)


def test_main_help_has_an_example(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    for (name,) in [c for c in COMMANDS if len(c) == 1]:
        assert name in result.output


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help_with_an_example(runner: CliRunner, command: tuple[str, ...]) -> None:
    result = runner.invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`narrator {' '.join(command)} --help` has no example"
    assert f"narrator {' '.join(command)}" in result.output.split("Example", 1)[1]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_option_has_help_text(command: tuple[str, ...]) -> None:
    target: click.Command = main
    for name in command:
        assert isinstance(target, click.Group)
        target = target.commands[name]
    assert target.help and target.help.strip()
    for param in target.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(command)} {param.opts[0]} has no help text"


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(runner: CliRunner, flag: str) -> None:
    result = runner.invoke(main, [flag])
    assert result.exit_code == 0, result.output
    assert result.output == f"narrator, version {narrator.__version__}\n"


def test_voices_lists_installed_voices(tmp_path: Path) -> None:
    # A real process: listing voices starts the engine, and this test process must stay free of it
    # (see test_narrating_after_listing_voices_in_the_same_process).
    done = run_cli("voices", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) >= 1
    assert all(len(line.split()) >= 2 for line in lines)
    assert done.stderr == ""


NARRATE_AFTER_VOICES = """
import sys

from click.testing import CliRunner

from narrator.cli import main
from narrator.errors import ExitStatus


def run(article, out):
    listed = CliRunner().invoke(main, ["voices"])
    assert listed.exit_code == 0, listed.output
    done = CliRunner().invoke(main, ["narrate", "-q", "--no-cache", article, "-o", out])
    print(done.output, end="")
    return done.exit_code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2]))
"""


def test_narrating_after_listing_voices_in_the_same_process(short_article: Path, tmp_path: Path) -> None:
    # A long-lived process (a server, a notebook) may list voices and then narrate.
    env = {**os.environ, "NARRATOR_ENGINE_TIMEOUT": "10"}
    script = tmp_path / "narrate_after_voices.py"
    script.write_text(NARRATE_AFTER_VOICES, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(short_article), str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / "ferry-returns.mp3").is_file()


def test_voices_with_an_unknown_engine_is_one_clear_line(runner: CliRunner) -> None:
    result = runner.invoke(main, ["voices", "--engine", "no-such-engine"])
    assert result.exit_code != 0
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "no-such-engine" in result.stderr


# --- narrate: what goes where --------------------------------------------------------


@pytest.fixture
def short_article(write_article) -> Path:
    return write_article(SHORT_ARTICLE, name="ferry-returns.txt")


def test_narrate_prints_one_summary_line_per_episode_on_stdout(
    runner: CliRunner, short_article: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(main, ["narrate", str(short_article), "-o", str(out), "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    # stdout is for data: lines naming what was written, one of them the episode's summary.
    lines = result.stdout.splitlines()
    assert all(line.startswith(str(out)) for line in lines), lines
    (summary,) = [line for line in lines if line.startswith(str(out / "ferry-returns.mp3"))]
    assert re.search(r"  1 chapter  \d+ captions  -\d+\.\d LUFS$", summary), summary  # "1 chapter", not "1 chapters"
    assert "Audio saved to" not in result.output
    for suffix in (".mp3", ".vtt", ".srt", ".chapters.json"):
        assert (out / f"ferry-returns{suffix}").is_file()


def test_quiet_prints_nothing_on_success(runner: CliRunner, short_article: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        main, ["narrate", "-q", str(short_article), "-o", str(out), "--cache-dir", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == ""
    assert (out / "ferry-returns.mp3").is_file()


def test_the_cache_dir_is_used_and_nothing_else(runner: CliRunner, short_article: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    default = Path(os.environ["NARRATOR_CACHE_DIR"])
    before = sorted(default.rglob("*"))
    result = runner.invoke(
        main, ["narrate", "-q", str(short_article), "-o", str(tmp_path / "o"), "--cache-dir", str(cache)]
    )
    assert result.exit_code == 0, result.output
    assert list(cache.rglob("*.wav"))
    assert sorted(default.rglob("*")) == before


def test_no_cache_writes_no_cache(runner: CliRunner, short_article: Path, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("NARRATOR_CACHE_DIR", str(cache))
    result = runner.invoke(main, ["narrate", "-q", "--no-cache", str(short_article), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert not cache.exists() or not list(cache.rglob("*.wav"))


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "narrator", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("article", ["short", "missing"])
def test_a_run_leaves_no_temporary_files_behind(short_article: Path, tmp_path: Path, article: str) -> None:
    # The engines start before the input is read: whether it is narrated or not, they and their files go.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    source = short_article if article == "short" else tmp_path / "missing.txt"
    done = run_cli(
        "narrate", "-q", str(source), "-o", str(tmp_path / "out"), cwd=tmp_path, env={"TMPDIR": str(scratch)}
    )
    assert (done.returncode == 0) == (article == "short"), done.stderr
    assert list(scratch.iterdir()) == []


def test_no_engine_chatter_on_stdout(short_article: Path, tmp_path: Path) -> None:
    # A real process: the engine's driver writes "Audio saved to ..." on file descriptor 1 of its workers.
    out = tmp_path / "out"
    done = run_cli("narrate", str(short_article), "-o", str(out), "--no-cache", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Audio saved to" not in done.stdout
    assert "Audio saved to" not in done.stderr
    lines = done.stdout.splitlines()
    assert all(line.startswith(str(out)) for line in lines), lines
    assert len([line for line in lines if ".mp3" in line]) == 1


def test_quiet_process_prints_nothing(short_article: Path, tmp_path: Path) -> None:
    done = run_cli(
        "narrate",
        "-q",
        str(short_article),
        "-o",
        str(tmp_path / "out"),
        "--cache-dir",
        str(tmp_path / "cache"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


# --- bad input: one line naming the file, non-zero exit, the output folder untouched ---


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    """An output folder holding an earlier episode, which a failed run must leave exactly as it was."""
    out = tmp_path / "out"
    out.mkdir()
    for name, data in {
        "earlier.mp3": b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xf3" * 500,
        "earlier.vtt": b"WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\nEarlier.\n",
        "earlier.srt": b"1\n00:00:00,000 --> 00:00:01,000\nEarlier.\n",
        "earlier.chapters.json": b'{"version": "1.2.0", "chapters": []}\n',
        "cover.jpg": b"\xff\xd8\xff\xe0" + bytes(100) + b"\xff\xd9",
        "bad-input.mp3": b"an episode of the same name, narrated before",
    }.items():
        (out / name).write_bytes(data)
    os.utime(out / "earlier.mp3", ns=(1_000_000_000, 1_000_000_000))
    return out


BAD_INPUTS = {
    "empty": b"",
    "whitespace-only": b"   \n\n\t  \r\n",
    "only-punctuation": b"!!! ??? ...\n\n--- *** ---\n",
    "binary": bytes(range(256)) * 16,
    "non-utf8": "Caf\u00e9 au lait\n\nIl fait tr\u00e8s beau aujourd'hui.\n".encode("latin-1"),
}


def assert_one_clear_line(result, path: Path) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exc_info
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_one_line_and_changes_nothing(
    runner: CliRunner, write_article, output_dir: Path, snapshot, content: bytes, tmp_path: Path
) -> None:
    path = write_article(content, name="bad-input.txt")
    before = snapshot(output_dir)
    result = runner.invoke(main, ["narrate", str(path), "-o", str(output_dir), "--cache-dir", str(tmp_path / "c")])
    assert_one_clear_line(result, path)
    assert snapshot(output_dir) == before


def test_missing_file_is_one_line_and_changes_nothing(
    runner: CliRunner, output_dir: Path, snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "in" / "bad-input.txt"
    before = snapshot(output_dir)
    result = runner.invoke(main, ["narrate", str(path), "-o", str(output_dir), "--no-cache"])
    assert_one_clear_line(result, path)
    assert snapshot(output_dir) == before


@pytest.mark.parametrize("contents", [{}, {"image.jpg": "\xff\xd8", "data.csv": "a,b\n"}], ids=["empty", "no-text"])
def test_folder_with_nothing_to_read_is_one_line_and_changes_nothing(
    runner: CliRunner, output_dir: Path, snapshot, tmp_path: Path, contents: dict[str, str]
) -> None:
    folder = tmp_path / "in" / "bad-input"
    folder.mkdir(parents=True)
    for name, text in contents.items():
        (folder / name).write_text(text, encoding="utf-8")
    before = snapshot(output_dir)
    result = runner.invoke(main, ["narrate", str(folder), "-o", str(output_dir), "--no-cache"])
    assert_one_clear_line(result, folder)
    assert snapshot(output_dir) == before


def test_one_bad_input_among_good_ones_is_one_line_and_the_good_ones_are_narrated(
    runner: CliRunner, write_article, output_dir: Path, tmp_path: Path
) -> None:
    """As cp and rsync do. (Until issue 11 one bad input stopped the run before anything was written.)"""
    good = write_article(SHORT_ARTICLE, name="good.txt")
    bad = write_article(b"\x00\x01\x02binary", name="bad-input.txt")
    args = ["narrate", str(bad), str(good), "-o", str(output_dir), "--no-cache", "--engine", "tone"]
    result = runner.invoke(main, args)
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr == f"narrator: error: {bad}: looks like binary data, not text\n"
    assert result.stdout.startswith(f"{output_dir / 'good.mp3'}  ")
    assert (output_dir / "good.mp3").exists()
    assert (output_dir / "bad-input.mp3").read_bytes() == b"an episode of the same name, narrated before"


def test_every_bad_input_is_one_line_and_nothing_is_written(
    runner: CliRunner, write_article, output_dir: Path, snapshot, tmp_path: Path
) -> None:
    first = write_article(b"", name="empty.txt")
    second = write_article(b"\x00\x01\x02binary", name="bad-input.txt")
    folder = tmp_path / "in" / "nothing-here"
    folder.mkdir()
    before = snapshot(output_dir)
    result = runner.invoke(main, ["narrate", str(first), str(folder), str(second), "-o", str(output_dir), "--no-cache"])
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert [line.split(": ")[2] for line in result.stderr.splitlines()] == [str(first), str(folder), str(second)]
    assert result.stdout == ""
    assert snapshot(output_dir) == before


def test_articles_that_cannot_be_narrated_are_said_and_the_others_narrated(
    runner: CliRunner, write_article, tmp_path: Path
) -> None:
    """No voice for its language, or nothing a voice can say: found after reading, each one line."""
    good = write_article(SHORT_ARTICLE, name="good.txt")
    klingon = write_article("---\nlang: tlh\n---\n# Qapla'\n\nHeghlu'meH QaQ jajvam.\n", name="klingon.md")
    unsayable = write_article("---\nlang: en\n---\n# 東京\n\n東京は大きい。\n", name="tokyo.md")
    out = tmp_path / "out"
    args = ["narrate", str(klingon), str(good), str(unsayable), "-o", str(out), "--engine", "tone", "--no-cache"]
    result = runner.invoke(main, args)
    assert result.exit_code != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"narrator: error: {klingon}: no installed voice speaks 'tlh'")
    assert lines[1] == f"narrator: error: {unsayable}: has no words to narrate"
    assert [Path(line.split()[0]).name for line in result.stdout.splitlines()] == ["good.mp3"]
    assert sorted(p.name for p in out.glob("*.mp3")) == ["good.mp3"]


def test_bad_input_in_a_real_process_has_no_traceback(
    write_article, output_dir: Path, snapshot, tmp_path: Path
) -> None:
    path = write_article("Caf\u00e9\n".encode("latin-1"), name="bad-input.txt")
    before = snapshot(output_dir)
    done = run_cli("narrate", str(path), "-o", str(output_dir), "--no-cache", cwd=tmp_path)
    assert done.returncode != 0
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert str(path) in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(output_dir) == before


@pytest.mark.parametrize(("option", "value"), [("--rate", "10"), ("--bitrate", "65"), ("--jobs", "0")])
def test_bad_settings_are_one_line(
    runner: CliRunner, short_article: Path, tmp_path: Path, option: str, value: str
) -> None:
    result = runner.invoke(
        main, ["narrate", str(short_article), "-o", str(tmp_path / "o"), "--no-cache", option, value]
    )
    assert result.exit_code != 0
    assert len(result.stderr.splitlines()) == 1
    assert option in result.stderr
    assert not (tmp_path / "o").exists()


# --- when the engines start ------------------------------------------------------------


def test_work_is_likely_without_a_library_or_with_anything_newer_than_it(tmp_path: Path) -> None:
    from narrator.library import library_path
    from narrator.warmup import work_likely

    out = tmp_path / "out"
    folder = tmp_path / "articles"
    folder.mkdir()
    old, other = folder / "old.txt", folder / "other.md"
    old.write_text("An old story\n\nIt has one sentence.\n", encoding="utf-8")
    other.write_text("# Another\n\nIt has one too.\n", encoding="utf-8")
    assert work_likely((str(old),), out), "a podcast without a library has everything to narrate"
    library = library_path(out)
    library.parent.mkdir(parents=True)
    library.write_bytes(b"")
    for path in (old, other):
        os.utime(path, (library.stat().st_mtime - 60,) * 2)
    assert not work_likely((str(old),), out), "an article older than the library is most likely unchanged"
    assert not work_likely((str(folder),), out)
    for source in ("-", "https://example.org/story", str(tmp_path / "missing.txt")):
        assert work_likely((str(old), source), out), source
    os.utime(other, (library.stat().st_mtime + 1,) * 2)
    assert work_likely((str(folder),), out), "a folder with an edited article"
    assert work_likely((str(other),), out)


def test_a_rerun_with_new_settings_narrates_though_the_engines_start_late(short_article: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_cli("narrate", str(short_article), "-o", str(out), "--no-cache", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run_cli("narrate", str(short_article), "-o", str(out), "--no-cache", "--rate", "200", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "unchanged" not in again.stdout and "captions" in again.stdout
    same = run_cli("narrate", str(short_article), "-o", str(out), "--no-cache", "--rate", "200", cwd=tmp_path)
    assert "unchanged" in same.stdout


def test_the_collector_is_as_it_was_when_the_engines_cannot_start(
    runner: CliRunner, short_article: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    import narrator.synth

    class NoEngines:
        def __init__(self, *args: object) -> None:
            raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(narrator.synth, "Workers", NoEngines)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    result = runner.invoke(main, ["narrate", "-q", str(short_article), "-o", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert gc.isenabled() and gc.get_freeze_count() == 0


# --- narrator script: what will be said, without synthesizing ---------------------------------------

SEED = Path(__file__).parent.parent / "seeds" / "north-korea-troops-morale.txt"


def script_json(runner: CliRunner, *args: str) -> list[dict[str, object]]:
    result = runner.invoke(main, ["script", *args, "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_script_json_is_one_object_per_article_with_text_and_spoken_form(
    runner: CliRunner, write_article, tmp_path: Path
) -> None:
    money = write_article("Prices\n\nIt cost $5 in 1990, said Dr. Kim.\n", name="prices.txt")
    found = script_json(runner, str(money), str(SEED), "--engine", "tone", "-o", str(tmp_path / "out"))
    assert [f["source"] for f in found] == [str(money), str(SEED)]
    first = found[0]
    assert list(first) == ["source", "title", "author", "language", "voice", "chapters"]
    assert (first["title"], first["author"], first["language"], first["voice"]) == ("Prices", "", "en", "tone/en")
    assert first["chapters"] == [
        {
            "title": "Prices",
            "sentences": [
                {"text": "Prices", "spoken": "Prices"},
                {
                    "text": "It cost $5 in 1990, said Dr. Kim.",
                    "spoken": "It cost five dollars in nineteen ninety, said Doctor Kim.",
                },
            ],
        }
    ]
    assert not (tmp_path / "out").exists()  # nothing written


def test_script_shows_what_narrate_narrates(runner: CliRunner, tmp_path: Path) -> None:
    """The same sentences as the captions, the same chapters as the episode's, from the same options."""
    import webvtt

    out = tmp_path / "out"
    (found,) = script_json(runner, str(SEED), "--engine", "tone", "--rate", "200", "-o", str(out))
    result = runner.invoke(main, ["narrate", str(SEED), "--engine", "tone", "--rate", "200", "-o", str(out)])
    assert result.exit_code == 0, result.output
    # A sentence's cues are named PARAGRAPH.SENTENCE.PART: joined, they are the sentence.
    sentences: dict[str, list[str]] = {}
    for cue in webvtt.read(str(out / f"{SEED.stem}.vtt")):
        sentences.setdefault(cue.identifier.rsplit(".", 1)[0], []).append(" ".join(cue.text.split()))
    captions = [" ".join(parts) for parts in sentences.values()]
    chapters = json.loads((out / f"{SEED.stem}.chapters.json").read_text(encoding="utf-8"))["chapters"]
    said = [s for c in found["chapters"] for s in c["sentences"]]  # type: ignore[attr-defined]
    assert [s["text"] for s in said] == captions
    assert [c["title"] for c in found["chapters"]] == [c["title"] for c in chapters]  # type: ignore[attr-defined]


def test_script_text_lists_chapters_with_both_forms(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["script", str(SEED), "--engine", "tone", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        f"source:   {SEED}",
        "title:    Why fight for Russia? Deaths of North Korean officers in Ukraine raises questions about morale",
        "author:   Jang Seiul",
        "language: en",
        "voice:    tone/en",
    ]
    assert (
        "chapter 1: Why fight for Russia? Deaths of North Korean officers in Ukraine raises questions about morale"
        in lines
    )
    assert (
        "  text:   According to Lee, who defected in 2016, soldiers have no particular hostility toward Ukraine."
        in lines
    )
    spoken = "According to Lee, who defected in twenty sixteen, soldiers have no particular hostility toward Ukraine."
    assert f"  spoken: {spoken}" in lines


def test_script_uses_the_lexicon_and_the_voice_narrate_would(runner: CliRunner, write_article, tmp_path: Path) -> None:
    from narrator.language import choose_voice, installed_voices

    lexicon = tmp_path / "words.toml"
    lexicon.write_text('[en]\nnginx = "engine x"\n', encoding="utf-8")
    notes = write_article("Servers\n\nWe run nginx on port 8080.\n", name="servers.txt")
    (found,) = script_json(runner, str(notes), "--lexicon", str(lexicon), "-o", str(tmp_path / "out"))
    assert found["voice"] == choose_voice("en", installed_voices("pyttsx3"))
    sentence = found["chapters"][0]["sentences"][1]  # type: ignore[index]
    assert sentence == {"text": "We run nginx on port 8080.", "spoken": "We run engine x on port 8080."}
    (chosen,) = script_json(runner, str(notes), "--voice", "gmw/en-GB-x-rp", "-o", str(tmp_path / "out"))
    assert chosen["voice"] == "gmw/en-gb-x-rp"  # as the engine lists it


def test_script_says_each_bad_article_in_one_line_and_goes_on(runner: CliRunner, write_article, tmp_path: Path) -> None:
    bad = write_article(b"", name="empty.txt")
    tokyo = write_article("---\nlang: en\n---\n# 東京\n\n東京は大きい。\n", name="tokyo.md")
    good = write_article(SHORT_ARTICLE, name="good.txt")
    result = runner.invoke(main, ["script", str(bad), str(tokyo), str(good), "--json", "--engine", "tone"])
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr.splitlines() == [
        f"narrator: error: {bad}: is empty",
        f"narrator: error: {tokyo}: has no words to narrate",
    ]
    assert [json.loads(line)["source"] for line in result.stdout.splitlines()] == [str(good)]


# --- nothing in an article's text stops a run (the real engine) -------------------------------------

REAL = Path(__file__).parent / "data" / "real"


def real_paragraph(name: str, marker: str) -> str:
    """The paragraph of a real text (tests/data/real) that holds ``marker``."""
    from narrator.readers import read

    return next(block.text for block in read(REAL / name).blocks if marker in block.text)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Notes", "Use gzip (or bzip2 [bz].)"),
        ("Build", "To build it, run ./configure --prefix=/usr in a shell, then make."),
        ("xz", real_paragraph("xz-utils-README.txt", "--disable-shared. If you are")),
        ("man-db", real_paragraph("man-db-README.md", "[gzip].)")),
    ],
    ids=["gzip-brackets", "configure", "xz-utils-readme", "man-db-readme"],
)
def test_what_stopped_runs_narrates_with_the_real_engine(
    runner: CliRunner, write_article, tmp_path: Path, title: str, body: str
) -> None:
    """Each gave "the engine produced only silence for: ')'" (or '.'), without naming the file."""
    path = write_article(f"{title}\n\n{body}\n", name="repro.txt")
    result = runner.invoke(main, ["narrate", str(path), "-o", str(tmp_path / "out"), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
