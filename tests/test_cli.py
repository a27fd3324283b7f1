"""The command line: help, version, voices, narrate's output streams, and bad input.

In-process with click's CliRunner, except where the real process matters (what
reaches file descriptor 1 from the engine's worker processes).
"""

from __future__ import annotations

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
    assert {("narrate",), ("voices",)} <= set(COMMANDS)


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


def test_one_bad_input_among_good_ones_stops_the_run_before_anything_is_written(
    runner: CliRunner, write_article, output_dir: Path, snapshot, tmp_path: Path
) -> None:
    good = write_article(SHORT_ARTICLE, name="good.txt")
    bad = write_article(b"\x00\x01\x02binary", name="bad-input.txt")
    before = snapshot(output_dir)
    result = runner.invoke(main, ["narrate", str(good), str(bad), "-o", str(output_dir), "--no-cache"])
    assert_one_clear_line(result, bad)
    assert snapshot(output_dir) == before


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
