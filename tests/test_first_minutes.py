"""What a newcomer meets in the first ten minutes: messages, the progress bar, the folder left alone.

Each test here pins a defect found by walking through the README on a real
80-column terminal; the engine is the deterministic tone engine wherever the
speech is not what the test is about.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.cli import main

ARTICLE = (
    "Ferry returns to the river\n\n"
    "The river ferry returned to service on Monday after a winter of repairs.\n\n"
    "Passengers said the crossing felt quicker than before. It runs every half hour until 7 p.m.\n"
)


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "ferry.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("narrator: error: "), output
    return lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["narrate"], "missing argument"),
        (["narrate", "ferry.txt", "--cover", "."], "--cover"),
        (["narrate", "ferry.txt", "--rate", "abc"], "--rate"),
        (["serve", "--port", "99999"], "--port"),
        (["narrate", "ferry.txt", "--no-such-flag"], "no such option"),
    ],
)
def test_usage_errors_are_one_line_like_every_other_error(
    args: list[str], says: str, article: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(article.parent)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    line = one_line(result.output)
    assert says in line.lower() and "--help" in line


def test_an_unknown_voice_is_an_error_naming_the_command_that_lists_them(article: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["narrate", str(article), "-o", str(out), "--engine", "tone", "--voice", "x/y"])
    assert result.exit_code == 2
    line = one_line(result.output)
    assert "'x/y' is not a voice" in line and "narrator voices --engine tone" in line
    assert not out.exists(), "nothing written"


def test_a_bad_cover_creates_no_output_folder(article: Path, tmp_path: Path) -> None:
    cover = tmp_path / "cover.png"
    cover.write_bytes(b"not an image")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["narrate", str(article), "-o", str(out), "--engine", "tone", "--cover", str(cover)]
    )
    assert result.exit_code == 2
    assert "cover image cannot be read" in one_line(result.output)
    assert not out.exists()


def test_feed_into_a_folder_without_a_library_writes_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["feed", "-o", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no episode library here yet" in one_line(result.output)
    assert not (tmp_path / "nowhere").exists()


def test_removing_an_unknown_episode_is_an_error_not_a_usage_error(article: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["narrate", str(article), "-o", str(out), "--engine", "tone", "-q"]).exit_code == 0
    result = CliRunner().invoke(main, ["remove", "no-such-episode", "-o", str(out)])
    assert result.exit_code == 1
    assert "narrator episodes" in one_line(result.output)


def test_quiet_says_nothing_about_skipped_files(article: Path, tmp_path: Path) -> None:
    (article.parent / "notes.pdf").write_bytes(b"%PDF")
    out = tmp_path / "out"
    loud = CliRunner().invoke(main, ["narrate", str(article.parent), "-o", str(out), "--engine", "tone"])
    assert "skipping" in loud.output
    quiet = CliRunner().invoke(main, ["narrate", str(article.parent), "-o", str(out), "--engine", "tone", "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""


def test_one_chapter_is_one_chapter(article: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["narrate", str(article), "-o", str(tmp_path / "out"), "--engine", "tone"])
    assert result.exit_code == 0, result.output
    assert "  1 chapter  " in result.stdout and "1 chapters" not in result.stdout


def test_rate_and_bitrate_help_give_their_ranges() -> None:
    text = " ".join(CliRunner().invoke(main, ["narrate", "--help"], terminal_width=200).output.split())
    assert "80 to 450" in text
    assert "32, 40, 48, 56, 64, 80, 96, 112, 128 or 160" in text


def test_a_base_url_given_once_is_kept(article: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["narrate", str(article), "-o", str(out), "--engine", "tone", "-q"]
    first = CliRunner().invoke(main, [*args, "--base-url", "https://pod.example.org/reads/"])
    assert first.exit_code == 0, first.output
    assert "base_url = 'https://pod.example.org/reads/'" in first.stderr
    plain = CliRunner().invoke(main, ["feed", "-o", str(out)])
    assert plain.exit_code == 0, plain.output
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    assert "https://pod.example.org/reads/ferry.mp3" in feed and "127.0.0.1" not in feed


def test_a_long_input_is_refused_with_its_estimate_and_how_to_allow_it(tmp_path: Path) -> None:
    wall = tmp_path / "wall.txt"
    wall.write_text("A very long text\n\n" + " ".join(f"word{n}" for n in range(200_000)) + ".\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["narrate", str(wall), "-o", str(out), "--engine", "tone", "--max-hours", "1"])
    assert result.exit_code == 3
    line = one_line(result.output)
    assert "about 19.0 hours of audio" in line and "--max-hours 20" in line
    assert not out.exists()


def test_a_disk_without_room_for_the_audio_is_refused_before_anything_is_written(
    article: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["narrate", str(article), "-o", str(out), "--engine", "tone"])
    assert result.exit_code == 1
    assert "but its disk has" in one_line(result.output)
    assert not out.exists()


def run_on_a_terminal(args: list[str], columns: int, interrupt_at: str | None = None) -> tuple[int, str]:
    """Run narrator on a pseudo-terminal COLUMNS wide, with Ctrl-C once it has shown ``interrupt_at``;
    returns its status and everything it showed."""
    parent, child = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns)}
    process = subprocess.Popen(
        [sys.executable, "-m", "narrator", *args], stdin=child, stdout=child, stderr=child, env=env, close_fds=True
    )
    os.close(child)
    shown = b""
    interrupted = False
    while True:
        if interrupt_at is not None and not interrupted and interrupt_at.encode() in shown:
            process.send_signal(signal.SIGINT)
            interrupted = True
        ready, _, _ = select.select([parent], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(parent, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    os.close(parent)
    return process.wait(timeout=60), shown.decode("utf-8", "replace")


def test_the_progress_bar_fits_an_80_column_terminal(tmp_path: Path) -> None:
    article = tmp_path / "a-rather-long-file-name-for-an-article-about-ferries.txt"
    article.write_text(
        "An unusually long headline about the river ferry that returns to service on Monday\n\n"
        + "\n\n".join(f"Paragraph {n} says the ferry runs every half hour until seven." for n in range(40)),
        encoding="utf-8",
    )
    status, shown = run_on_a_terminal(["narrate", str(article), "-o", str(tmp_path / "out"), "--engine", "tone"], 80)
    assert status == 0, shown
    frames = [frame for line in shown.replace("\r\n", "\n").split("\n") for frame in line.split("\r")]
    bars = [frame for frame in frames if "[" in frame and "]" in frame and "/" in frame]
    assert bars, shown
    assert max(len(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", bar)) for bar in bars) <= 80


def test_ctrl_c_during_the_bar_says_so_on_a_line_of_its_own(tmp_path: Path) -> None:
    article = tmp_path / "ferry.txt"
    article.write_text(
        "The ferry\n\n" + "\n\n".join(f"Part {n}: the ferry leaves at {n % 24} o'clock." for n in range(2000)),
        encoding="utf-8",
    )
    status, shown = run_on_a_terminal(
        ["narrate", str(article), "-o", str(tmp_path / "out"), "--engine", "tone", "--no-cache"], 80, " 20/2001 "
    )
    assert status == 130, shown
    message = [line for line in shown.replace("\r\n", "\n").split("\n") if "interrupted" in line]
    assert message and message[0].lstrip("\r").startswith("narrator: interrupted"), shown


def test_a_public_feed_without_an_owner_e_mail_says_what_apple_needs(article: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["narrate", str(article), "-o", str(out), "--engine", "tone", "-q"]
    local = CliRunner().invoke(main, args)
    assert local.exit_code == 0 and "owner e-mail" not in local.stderr  # a feed only this machine sees
    public = CliRunner().invoke(main, ["feed", "-o", str(out), "--base-url", "https://pod.example.org/"])
    assert public.exit_code == 0
    assert "no owner e-mail (itunes:email)" in public.stderr and "--owner-email" in public.stderr
    owned = CliRunner().invoke(main, ["feed", "-o", str(out), "--owner-email", "ana@example.org"])
    assert "owner e-mail" not in owned.stderr


def test_a_base_url_given_when_nothing_is_narrated_moves_the_feed_too(article: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["narrate", str(article), "-o", str(out), "--engine", "tone", "-q"]
    assert CliRunner().invoke(main, args).exit_code == 0
    again = CliRunner().invoke(main, [*args, "--base-url", "https://pod.example.org/"])
    assert again.exit_code == 0, again.output
    assert "https://pod.example.org/ferry.mp3" in (out / "feed.xml").read_text(encoding="utf-8")
