"""Nothing lost, nothing stuck: kills, full disks, failing disks, signals and two runs at once.

Every case runs narrator as a real process (the kills must be real) with the
deterministic tone engine, which keeps the cases fast; what is checked is the
folder (tests/consistency.py): what podcast apps see is right at every moment,
and the next command of any kind leaves the folder agreeing with itself.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from consistency import feed_items, library_episodes, published_problems, settled_problems

TESTS = Path(__file__).parent
FAULTS = TESTS / "faults.py"
ARTICLE = """Night ferry returns

By Ana Lima

The night ferry across the harbour returns on Friday after two years, the council said.

Crews have trained since the spring. Tickets cost the same as the day boat, and bicycles travel free.

Residents of the islands had asked for the service since it stopped. "It is our last bus home," one said.
"""


def long_article(parts: int) -> str:
    """An article of ``parts`` paragraphs, no sentence repeated (a repeated one is synthesized once)."""
    paragraphs = [
        f"In part {n}, the ferry leaves at {n % 24} o'clock. Crew number {n} checks {n + 3} bicycles."
        for n in range(parts)
    ]
    return "A long day on the ferry\n\n" + "\n\n".join(paragraphs) + "\n"


def narrator(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "narrator", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def with_fault(step: str, action: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(FAULTS), step, action, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def podcast(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with one episode narrated, and its article (the tone engine, no cache)."""
    article = tmp_path / "ferry.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out"
    done = narrator("narrate", str(article), "-o", str(out), "--engine", "tone", "--no-cache", "-q")
    assert done.returncode == 0, done.stderr
    assert settled_problems(out) == []
    return article, out


def left_running(marker: Path, wait_s: float = 10) -> list[str]:
    """Processes whose command line names ``marker`` that are still running after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        found = subprocess.run(["pgrep", "-f", str(marker)], capture_output=True, text=True).stdout.split()
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("narrator: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


WRITE_STEPS = ["staging", "spool", "tags", "captions", "move-captions", "move-audio", "record", "page", "feed"]
ALL_STEPS = [*WRITE_STEPS, "cover", "rendered", "garbage"]


@pytest.mark.parametrize("step", ALL_STEPS)
def test_killed_at_any_step_of_narrating_again_in_place(podcast: tuple[Path, Path], step: str) -> None:
    article, out = podcast
    before = feed_items(out)
    article.write_text(ARTICLE.replace("two years", "three years"), encoding="utf-8")
    args = ["narrate", str(article), "-o", str(out), "--engine", "tone", "--no-cache", "-q", "--title", "Harbour news"]
    killed = with_fault(step, "kill", *args)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert left_running(out) == [], "no engine outlived the killed run"
    assert published_problems(out) == [], "podcast apps see a feed that names what is there, even now"
    assert narrator("episodes", "-o", str(out)).returncode == 0  # any command puts the folder right
    assert settled_problems(out) == []
    again = narrator(*args)
    assert again.returncode == 0, again.stderr
    assert settled_problems(out) == []
    (after,) = feed_items(out)
    assert after["guid"] == before[0]["guid"] and after["audio"] != before[0]["audio"]  # the new rendition


@pytest.mark.parametrize(
    ("step", "action"), [(s, "enospc") for s in WRITE_STEPS] + [("tags", "eio"), ("record", "eio"), ("feed", "eio")]
)
def test_a_full_or_failing_disk_at_any_write_is_one_line_and_changes_nothing(
    podcast: tuple[Path, Path], step: str, action: str
) -> None:
    article, out = podcast
    before = feed_items(out)
    article.write_text(ARTICLE.replace("two years", "three years"), encoding="utf-8")
    args = ["narrate", str(article), "-o", str(out), "--engine", "tone", "--no-cache", "-q"]
    failed = with_fault(step, action, *args)
    assert failed.returncode not in (0, -signal.SIGKILL)
    line = one_error_line(failed.stderr)
    assert (
        ("No space left" in line or "full" in line)
        if action == "enospc"
        else ("I/O error" in line or "Input/output error" in line)
    ), line
    assert published_problems(out) == []
    if step not in ("page", "feed"):  # the episode was not published: the feed is as it was
        assert feed_items(out) == before
    assert narrator("episodes", "-o", str(out)).returncode == 0
    assert settled_problems(out) == []
    again = narrator(*args)
    assert again.returncode == 0, again.stderr
    assert settled_problems(out) == []


def test_a_new_episode_killed_before_it_is_recorded_leaves_no_files(podcast: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = podcast
    other = tmp_path / "buses.txt"
    other.write_text(ARTICLE.replace("ferry", "bus"), encoding="utf-8")
    killed = with_fault("record", "kill", "narrate", str(other), "-o", str(out), "--engine", "tone", "--no-cache")
    assert killed.returncode == -signal.SIGKILL
    assert (out / "buses.mp3").exists()  # written, not recorded
    assert narrator("feed", "-o", str(out)).returncode == 0
    assert not (out / "buses.mp3").exists(), "the dead run's files went with its claim"
    assert settled_problems(out) == [] and len(library_episodes(out)) == 1


def test_leftover_temporary_files_and_folders_of_dead_runs_are_swept(podcast: tuple[Path, Path]) -> None:
    _, out = podcast
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (out / f".tmp-{pid}-abcd1234").write_bytes(b"<rss>a complete feed, never renamed</rss>")
    (out / f".tmp-{pid}-folder").mkdir()
    (out / ".tmp-xyzw9876").write_bytes(b"from narrator 0.1, without a pid")
    old = time.time() - 2 * 3600
    os.utime(out / ".tmp-xyzw9876", (old, old))
    (out / f".tmp-{os.getpid()}-mine").write_bytes(b"a live process's: kept")
    assert narrator("episodes", "-o", str(out)).returncode == 0
    left = sorted(p.name for p in out.iterdir() if p.name.startswith(".tmp-"))
    assert left == [f".tmp-{os.getpid()}-mine"]


def test_the_same_article_narrated_twice_at_once_is_one_episode(tmp_path: Path) -> None:
    article = tmp_path / "ferry.txt"
    article.write_text(long_article(60), encoding="utf-8")  # long enough for the two runs to overlap
    out = tmp_path / "out"
    args = [sys.executable, "-m", "narrator", "narrate", str(article), "-o", str(out), "--engine", "tone", "--no-cache"]
    for _round in range(2):
        runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=300) for run in runs]
        assert all(run.returncode == 0 for run in runs), outputs
        assert len(library_episodes(out)) == 1, outputs
        assert not list(out.glob("ferry-2*")), "no second episode of the same source"
        assert settled_problems(out) == []
        article.write_text(long_article(70), encoding="utf-8")  # and again, in place
    skipped = [err for run, (_, err) in zip(runs, outputs, strict=True) if "skipped" in err]
    assert all("another narrator run" in err for err in skipped)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_at_a_random_moment_ends_the_run_cleanly(tmp_path: Path, sig: int) -> None:
    article = tmp_path / "ferry.txt"
    article.write_text(long_article(150), encoding="utf-8")
    out = tmp_path / "out"
    args = [sys.executable, "-m", "narrator", "narrate", str(article), "-o", str(out), "--engine", "tone", "--no-cache"]
    rng = random.Random(sig)
    for _attempt in range(3):
        run = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.2, 2.5))
        run.send_signal(sig)
        try:
            _, err = run.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            run.kill()
            pytest.fail("the run did not end within 10 s of the signal")
        assert "Traceback" not in err
        if run.returncode != 0:
            assert run.returncode in (130, 143, -sig), err
        assert published_problems(out) == []
        assert not [p for p in out.glob(".tmp-*")] if out.exists() else True, "its temporary files went with it"
        workers = subprocess.run(["pgrep", "-f", f"narrate {article}"], capture_output=True, text=True).stdout
        assert not workers.strip(), "no worker outlived the run"
    done = narrator("narrate", str(article), "-o", str(out), "--engine", "tone", "--no-cache", "-q")
    assert done.returncode == 0, done.stderr
    assert settled_problems(out) == []


def test_an_engine_worker_killed_mid_article_is_one_error_and_the_next_run_succeeds(tmp_path: Path) -> None:
    article = tmp_path / "ferry.txt"
    article.write_text(long_article(400), encoding="utf-8")
    out = tmp_path / "out"
    args = [sys.executable, "-m", "narrator", "narrate", str(article), "-o", str(out), "--engine", "tone", "--no-cache"]
    run = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    children: list[str] = []
    while time.monotonic() < deadline and not (children and list(out.glob(".tmp-*"))):  # assembling: mid-article
        children = subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True, text=True).stdout.split()
        time.sleep(0.01)
    assert children, "the run started no engine"
    os.kill(int(children[0]), signal.SIGKILL)
    _, err = run.communicate(timeout=60)
    assert run.returncode != 0
    line = one_error_line(err)
    assert "engine" in line
    assert published_problems(out) == []
    done = narrator("narrate", str(article), "-o", str(out), "--engine", "tone", "--no-cache", "-q")
    assert done.returncode == 0, done.stderr
    assert settled_problems(out) == []
