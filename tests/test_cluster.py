"""narrate --cluster: a Dask cluster's workers narrate whole articles; this process writes the folder.

The executor's semantics are tested on an in-process LocalCluster (its workers are
threads here); ``--cluster local:2`` with worker processes and the tone engine, whose
output is the same on every run, must make a folder equal to a local run's byte for
byte. The end-to-end tests start ``dask scheduler`` and ``dask worker`` processes on
127.0.0.1 (port 0: the kernel picks free ports, the scheduler writes its address to a
file), run ``narrator narrate --cluster tcp://127.0.0.1:PORT`` as a real process, and
stop every process by its id. Faults in a worker are struck from inside the call that
fails (tests/cluster_faults.py, preloaded into the worker processes).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import CancelledError, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from consistency import settled_problems
from test_first_minutes import run_on_a_terminal

from narrator.cli import main
from narrator.executor import DaskExecutor
from narrator.library import open_library

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
ARTICLES = TESTS / "data" / "articles"
SEED = ROOT / "seeds" / "north-korea-troops-morale.txt"
DASK = str(Path(sys.executable).with_name("dask"))
#: espeak-ng's timing of a sentence varies with what the same engine spoke before, by up to about
#: 0.2 s (README, "Running on a cluster"); a whole episode's length by the sum of such changes. Two
#: local runs of the seed differed by up to 0.33 s in length (bench/cluster.py measures it).
SENTENCE_VARIATION_MS = 200
EPISODE_VARIATION_MS = 600


# --- the executor, on an in-process cluster -------------------------------------------------------


@pytest.fixture(scope="module")
def thread_cluster() -> Iterator[Any]:
    """A LocalCluster whose two workers are threads of this process: the executor's semantics, fast."""
    import logging

    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=logging.CRITICAL
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


CALLS: Counter[str] = Counter()


def _count(name: str) -> str:
    CALLS[name] += 1
    return name


def _fail(name: str) -> str:
    CALLS[name] += 1
    raise ValueError(f"{name} is broken")


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_the_executor_is_a_concurrent_futures_one_that_lets_go_of_results(thread_cluster: Any) -> None:
    executor = DaskExecutor(thread_cluster)
    futures = [executor.submit(_count, f"a{i}") for i in range(20)]
    assert sorted(f.result() for f in as_completed(futures, timeout=30)) == sorted(f"a{i}" for i in range(20))
    deadline = time.monotonic() + 5
    while executor.pending() and time.monotonic() < deadline:  # the release follows the result at once
        time.sleep(0.01)
    assert executor.pending() == 0


def test_each_submission_is_a_task_of_its_own_and_an_error_runs_once(thread_cluster: Any) -> None:
    executor = DaskExecutor(thread_cluster)
    assert [f.result(timeout=30) for f in [executor.submit(_count, "same") for _ in range(3)]] == ["same"] * 3
    assert CALLS["same"] == 3  # pure=False: the same arguments are three articles, not one
    failing = executor.submit(_fail, "broken")
    with pytest.raises(ValueError, match="broken is broken"):
        failing.result(timeout=30)
    assert CALLS["broken"] == 1  # an article's own error is not tried again (no retries=)


def test_shutting_down_cancels_what_has_not_started(thread_cluster: Any) -> None:
    executor = DaskExecutor(thread_cluster)
    futures = [executor.submit(_sleep, 0.5) for _ in range(8)]
    time.sleep(0.2)
    executor.shutdown(wait=False, cancel_futures=True)
    outcomes = []
    for future in as_completed(futures, timeout=20):
        try:
            future.result()
            outcomes.append("done")
        except CancelledError:
            outcomes.append("cancelled")
    assert outcomes.count("cancelled") >= 6  # the two running may finish
    with pytest.raises(RuntimeError):
        executor.submit(_count, "late")


# --- narrate --cluster local:N ------------------------------------------------------------------------


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """A folder of the test articles (tests/data/articles' .txt files, without what they are checked against)."""
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder, ignore=shutil.ignore_patterns("*.json"))
    return folder


def episode_files(folder: Path) -> dict[str, bytes]:
    """Every episode file and the cover, by name."""
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.name.endswith((".mp3", ".vtt", ".srt", ".chapters.json")) or p.name.startswith("cover.")
    }


def test_a_local_cluster_makes_the_folder_a_local_run_makes(articles: Path, tmp_path: Path) -> None:
    """With the tone engine every run makes the same audio: the cluster's files equal the local run's."""
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    common = [str(articles), "--engine", "tone", "--no-cache"]
    here = CliRunner().invoke(main, ["narrate", *common, "-o", str(local)])
    assert here.exit_code == 0, here.output
    there = CliRunner().invoke(main, ["narrate", *common, "-o", str(cluster), "--cluster", "local:2"])
    assert there.exit_code == 0, there.output
    assert there.stderr == ""
    assert sorted(there.stdout.splitlines()) == sorted(here.stdout.replace(str(local), str(cluster)).splitlines())
    assert episode_files(cluster) == episode_files(local)
    assert settled_problems(cluster) == []
    with open_library(local) as a, open_library(cluster) as b:
        mine, theirs = a.episodes(), b.episodes()
    assert sorted((e.stem, e.title, e.duration_ms, e.chapters) for e in theirs) == sorted(
        (e.stem, e.title, e.duration_ms, e.chapters) for e in mine
    )


def test_an_unchanged_rerun_on_a_cluster_does_nothing_and_a_changed_article_gets_a_new_rendition(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in"
    shutil.copytree(ARTICLES, source, ignore=shutil.ignore_patterns("*.json"))
    out = tmp_path / "out"
    args = ["narrate", str(source), "-o", str(out), "--engine", "tone", "--no-cache", "--cluster", "local:1"]
    assert CliRunner().invoke(main, args).exit_code == 0
    again = CliRunner().invoke(main, args)
    lines = again.stdout.splitlines()
    assert again.exit_code == 0 and len(lines) == len(list(ARTICLES.glob("*.txt")))
    assert all(line.endswith("  unchanged") for line in lines)
    edited = source / "heatwave-no-byline.txt"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\nOne more paragraph, added later.\n", encoding="utf-8")
    third = CliRunner().invoke(main, args)
    assert third.exit_code == 0, third.output
    assert "heatwave-no-byline.v2.mp3" in third.stdout
    assert not (out / "heatwave-no-byline.mp3").exists()  # the old rendition is garbage once the feed moved on
    assert settled_problems(out) == []


# --- what is said before any work ---------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "narrator", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        cwd=ROOT,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_scheduler_that_cannot_be_reached_is_one_line_naming_it(articles: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{free_port()}"
    done = run_cli("narrate", str(articles), "-o", str(out), "--engine", "tone", "--cluster", address)
    assert done.returncode == 5, done.stderr
    assert done.stderr == f"narrator: error: cannot reach the Dask scheduler at {address}: connection refused\n"
    assert not out.exists()  # nothing was written: the cluster is reached before the folder is touched

    with socket.socket() as silent:  # accepts, and never answers: Dask's own time-out would not end
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        done = run_cli(
            "narrate", str(articles), "-o", str(out), "--cluster", address, env={"NARRATOR_CLUSTER_TIMEOUT": "1"}
        )
    assert time.monotonic() - started < 20
    assert done.returncode == 5
    assert done.stderr.splitlines() == [
        f"narrator: error: cannot reach the Dask scheduler at {address}: no Dask handshake within 1 s:"
        " is it a Dask scheduler's port?"
    ]


@pytest.mark.parametrize("value", ["local:0", "local:x", "ftp://host:1", "tcp://host"])
def test_a_cluster_that_is_no_address_is_a_usage_error(value: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["narrate", str(SEED), "-o", str(tmp_path / "out"), "--cluster", value])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"narrator: error: --cluster {value}")
    assert len(result.stderr.splitlines()) == 1


def test_podcast_toml_and_the_environment_name_the_cluster(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "podcast.toml").write_text('cluster = "local:x"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["narrate", str(SEED), "-o", str(out)])
    assert result.exit_code == 2 and "local:x" in result.stderr
    address = f"tcp://127.0.0.1:{free_port()}"
    (out / "podcast.toml").write_text(f'cluster = "{address}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["narrate", str(SEED), "-o", str(out), "--engine", "tone"])
    assert result.exit_code == 5 and address in result.stderr  # podcast.toml's cluster was asked
    result = CliRunner().invoke(
        main, ["narrate", str(SEED), "-o", str(out), "--engine", "tone"], env={"NARRATOR_CLUSTER": "local:y"}
    )
    assert result.exit_code == 2 and "local:y" in result.stderr  # the environment over podcast.toml
    result = CliRunner().invoke(main, ["narrate", str(SEED), "-o", str(out), "--engine", "tone", "--cluster", ""])
    assert result.exit_code == 0, result.output  # an empty --cluster: this machine, whatever the others say


# --- dask scheduler and dask worker processes --------------------------------------------------------


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # The probes below (cluster_faults) are run on the scheduler and the workers by reference.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
    # As narrator's LocalCluster has it (README): a single-threaded worker holds only the task it runs.
    env["DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"] = "1.0"
    env.update(extra or {})
    return env


def stop(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Stop a process started in a session of its own, and its children, by its id: SIGTERM, then SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # a worker process whose nanny went first
    process.wait(timeout=grace_s)


@dataclass
class DaskProcesses:
    """A `dask scheduler` and its `dask worker`s, each a process of its own."""

    folder: Path
    scheduler: subprocess.Popen[bytes]
    address: str
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0

    def start_worker(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        index, self.started = self.started, self.started + 1
        log = (self.folder / f"worker-{index}.log").open("wb")
        worker = subprocess.Popen(
            [
                DASK, "worker", "--scheduler-file", str(self.folder / "scheduler.json"),
                "--nthreads", "1", "--nworkers", "1",  # one article at a time per process: one engine
                "--host", "127.0.0.1", "--no-dashboard", "--name", f"w{index}", "--death-timeout", "30",
                "--preload", "narrator.remote", "--preload", str(TESTS / "cluster_faults.py"),
            ],
            stdout=log, stderr=subprocess.STDOUT, env=_environment(env), cwd=self.folder, start_new_session=True,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=20, set_as_default=False)

    def wait_for_workers(self, count: int, timeout_s: float = 60) -> None:
        with self.client() as client:
            client.wait_for_workers(count, timeout=timeout_s)

    def worker_processes(self) -> list[int]:
        """The ids of the worker processes (each nanny's child) that run now."""
        import psutil

        found = []
        for worker in self.workers:
            if worker.poll() is not None:
                continue
            for child in psutil.Process(worker.pid).children():
                with contextlib.suppress(psutil.Error):
                    if child.status() != psutil.STATUS_ZOMBIE:
                        found.append(child.pid)
        return found

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            stop(process)


def start_dask(folder: Path, workers: int, env: dict[str, str] | None = None) -> DaskProcesses:
    folder.mkdir(parents=True, exist_ok=True)
    scheduler_file = folder / "scheduler.json"
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        stdout=(folder / "scheduler.log").open("wb"), stderr=subprocess.STDOUT, env=_environment(),
        cwd=folder, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    address = ""
    while not address:
        with contextlib.suppress(OSError, ValueError, KeyError):
            address = json.loads(scheduler_file.read_text())["address"]
        if scheduler.poll() is not None or time.monotonic() > deadline:
            stop(scheduler)
            raise RuntimeError("dask scheduler did not start: " + (folder / "scheduler.log").read_text()[-2000:])
        time.sleep(0.05)
    processes = DaskProcesses(folder, scheduler, address)
    try:
        for _ in range(workers):
            processes.start_worker(env)
        if workers:
            processes.wait_for_workers(workers)
    except BaseException:
        processes.stop()
        raise
    return processes


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """A scheduler and two single-threaded workers, shared by the tests that leave them as they found them."""
    processes = start_dask(tmp_path_factory.mktemp("dask"), 2)
    try:
        yield processes
    finally:
        processes.stop()


def vtt_cues(path: Path) -> list[tuple[str, int, int, str]]:
    """(identifier, start ms, end ms, text without timestamps) of every cue of a WebVTT file."""

    def ms(stamp: str) -> int:
        h, m, rest = stamp.split(":")
        s, millis = rest.split(".")
        return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(millis)

    cues = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n")[1:]:
        lines = block.split("\n")
        if len(lines) > 1 and "-->" in lines[1]:
            start, end = lines[1].split(" --> ")
            cues.append((lines[0], ms(start), ms(end.split()[0]), re.sub(r"<[^>]*>", "", "\n".join(lines[2:]))))
    return cues


def sentence_lengths(cues: list[tuple[str, int, int, str]]) -> dict[str, int]:
    """How long each sentence (PARAGRAPH.SENTENCE) of an episode lasts, from its first cue to its last."""
    spans: dict[str, list[int]] = {}
    for identifier, start, end, _text in cues:
        span = spans.setdefault(".".join(identifier.split(".")[:2]), [start, end])
        span[1] = end
    return {sentence: end - start for sentence, (start, end) in spans.items()}


def test_two_dask_workers_make_what_a_local_run_makes(dask_cluster: DaskProcesses, tmp_path: Path) -> None:
    """The real engine on two `dask worker` processes: the same files, caption texts and chapter titles as a
    local run of the same folder, and times within the engine's own run-to-run variation."""
    source = tmp_path / "in"
    shutil.copytree(ARTICLES, source, ignore=shutil.ignore_patterns("*.json"))
    shutil.copy(SEED, source)
    local, remote = tmp_path / "local", tmp_path / "cluster"
    here = run_cli("narrate", str(source), "-o", str(local), "--no-cache")
    assert here.returncode == 0, here.stderr
    there = run_cli("narrate", str(source), "-o", str(remote), "--no-cache", "--cluster", dask_cluster.address)
    assert there.returncode == 0, there.stderr
    assert there.stderr == ""
    assert sorted(p.name for p in remote.iterdir()) == sorted(p.name for p in local.iterdir())
    assert settled_problems(remote) == []
    for vtt in sorted(local.glob("*.vtt")):
        mine, theirs = vtt_cues(vtt), vtt_cues(remote / vtt.name)
        assert [(c[0], c[3]) for c in theirs] == [(c[0], c[3]) for c in mine], vtt.name  # the same captions
        lengths, other = sentence_lengths(mine), sentence_lengths(theirs)
        assert all(abs(lengths[s] - other[s]) <= SENTENCE_VARIATION_MS for s in lengths), vtt.name
        assert abs(mine[-1][2] - theirs[-1][2]) <= EPISODE_VARIATION_MS, vtt.name
        chapters = json.loads((local / vtt.name.replace(".vtt", ".chapters.json")).read_text(encoding="utf-8"))
        remote_chapters = json.loads((remote / vtt.name.replace(".vtt", ".chapters.json")).read_text("utf-8"))
        assert [c["title"] for c in remote_chapters["chapters"]] == [c["title"] for c in chapters["chapters"]]
        assert all(
            abs(a["startTime"] - b["startTime"]) * 1000 <= EPISODE_VARIATION_MS
            for a, b in zip(chapters["chapters"], remote_chapters["chapters"], strict=True)
        )
    # Both workers spoke, each with one engine, kept from article to article and from run to run.
    from cluster_faults import engine_state

    with dask_cluster.client() as client:
        engines = client.run(engine_state)
        assert len(engines) == 2 and all(engine for _pid, engine in engines.values())
        more = run_cli("narrate", str(ARTICLES / "heatwave-no-byline.txt"), str(ARTICLES / "swifts-hard-wrapped.txt"),
                       "-o", str(tmp_path / "more"), "--no-cache", "--cluster", dask_cluster.address)  # fmt: skip
        assert more.returncode == 0, more.stderr
        assert client.run(engine_state) == engines


def audio_frames(mp3: Path) -> bytes:
    """An MP3's audio, without its ID3 tag (which names the article's file)."""
    data = mp3.read_bytes()
    size = 0
    for byte in data[6:10]:  # a synchsafe integer (ID3v2.3, 3.1)
        size = (size << 7) | (byte & 0x7F)
    return data[10 + size :]


def test_two_workers_sharing_one_cache_folder_stay_correct(dask_cluster: DaskProcesses, tmp_path: Path) -> None:
    """--cache-dir on a cluster run is every worker's cache (a folder they all see). Four copies of one
    article, narrated at once by two workers, write the same sentences at the same moment: the cache
    stays whole, and a second run takes every sentence from it (so its four copies are the same file)."""
    source = tmp_path / "in"
    source.mkdir()
    text = (ARTICLES / "trams-subheadings.txt").read_text(encoding="utf-8")
    for n in range(4):
        (source / f"copy-{n}.txt").write_text(text, encoding="utf-8")
    cache = tmp_path / "shared-cache"
    for run in ("first", "second"):
        done = run_cli(
            "narrate", str(source), "-o", str(tmp_path / run), "--cache-dir", str(cache), "--cluster",
            dask_cluster.address,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    clips = sorted(cache.rglob("*.wav"))
    spoken = run_cli("script", str(source / "copy-0.txt"), "--json")
    chunks = {s["spoken"] for c in json.loads(spoken.stdout)["chapters"] for s in c["sentences"]}
    assert len(clips) >= len(chunks)  # every sentence once (a long one in pieces), none lost
    assert not [p for p in cache.rglob("*") if p.name.startswith(".tmp-")]  # nothing half-written left
    import wave

    for clip in clips:
        with wave.open(str(clip), "rb") as wav:
            assert wav.getnframes() > 0
    second = [audio_frames(tmp_path / "second" / f"copy-{n}.mp3") for n in range(4)]
    assert second[1:] == second[:1] * 3  # the same clips, from the cache, in every copy
    assert (tmp_path / "second" / "copy-0.vtt").read_bytes() == (tmp_path / "second" / "copy-3.vtt").read_bytes()


def test_the_progress_bar_counts_articles_with_the_workers_in_its_label(
    dask_cluster: DaskProcesses, articles: Path, tmp_path: Path
) -> None:
    status, shown = run_on_a_terminal(
        ["narrate", str(articles), "-o", str(tmp_path / "out"), "--engine", "tone", "--cluster", dask_cluster.address],
        100,
    )
    assert status == 0, shown
    count = len(list(articles.glob("*.txt")))
    frames = [frame for line in shown.replace("\r\n", "\n").split("\n") for frame in line.split("\r")]
    bars = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", f) for f in frames if "cluster: 2 workers" in f]
    assert any(f"{count}/{count}" in bar for bar in bars), shown
    assert any(f"0/{count}" in bar for bar in bars), shown


def test_workers_that_see_the_folder_write_the_episodes_there(
    dask_cluster: DaskProcesses, articles: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["narrate", str(articles), "--engine", "tone", "--cluster", dask_cluster.address]
    done = run_cli(*args, "-o", str(out), "--shared-output", str(out))
    assert done.returncode == 0, done.stderr
    assert len(list(out.glob("*.mp3"))) == len(list(articles.glob("*.txt")))
    assert settled_problems(out) == []
    # A --shared-output that is not the output folder: each article says so, and nothing is published.
    wrong, other = tmp_path / "wrong", tmp_path / "other"
    wrong.mkdir()
    done = run_cli(*args, "-o", str(other), "--shared-output", str(wrong))
    assert done.returncode == 1
    assert done.stderr.count("--shared-output must be the output folder as the workers see it") == 1
    assert not list(other.glob("*.mp3")) and settled_problems(other) == []


def test_ctrl_c_cancels_the_clusters_work_and_leaves_the_folder_consistent(
    dask_cluster: DaskProcesses, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for n in range(12):
        paragraphs = "\n\n".join(f"Part {n}.{p}: the ferry leaves at {p % 24} o'clock today." for p in range(150))
        (source / f"ferry-{n:02d}.txt").write_text(f"Ferry {n}\n\n{paragraphs}\n", encoding="utf-8")
    out = tmp_path / "out"
    run = subprocess.Popen(
        [sys.executable, "-m", "narrator", "narrate", str(source), "-o", str(out), "--engine", "tone", "--no-cache",
         "--cluster", dask_cluster.address],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    assert run.stdout is not None
    first = run.stdout.readline()  # an episode is done, others are being narrated
    assert first.endswith("LUFS\n"), first
    os.killpg(run.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert err.splitlines() == ["narrator: interrupted; the output folder is as it was before this article"]
    assert settled_problems(out) == []
    with open_library(out) as library:
        assert library._query("SELECT COUNT(*) FROM claims")[0][0] == 0  # every unfinished claim released
        recorded = len(library.episodes())
    assert 1 <= recorded < 12
    assert len(list(out.glob("*.mp3"))) == recorded
    from cluster_faults import scheduler_tasks

    with dask_cluster.client() as client:
        deadline = time.monotonic() + 30
        while client.run_on_scheduler(scheduler_tasks) and time.monotonic() < deadline:
            time.sleep(0.2)  # the articles running when it stopped finish on their workers, and are dropped
        assert client.run_on_scheduler(scheduler_tasks) == 0
        assert len(client.nthreads()) == 2  # the cluster goes on, for the next run


# --- workers that die or fail ------------------------------------------------------------------------------


def many_articles(folder: Path, count: int, paragraphs: int = 40) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        body = "\n\n".join(
            f"Paragraph {p} of article {n} says the tram runs every {p + 2} minutes." for p in range(paragraphs)
        )
        (folder / f"tram-{n:02d}.txt").write_text(f"Trams, part {n}\n\n{body}\n", encoding="utf-8")
    return folder


def test_a_worker_killed_mid_run_has_its_article_narrated_by_another(tmp_path: Path) -> None:
    """SIGKILL a whole `dask worker` (its nanny and its process) while both are narrating: every episode is made."""
    processes = start_dask(tmp_path / "dask", 2)
    try:
        source = many_articles(tmp_path / "in", 8, paragraphs=60)
        out = tmp_path / "out"
        victim = processes.workers[0]

        def kill_at_the_first_episode() -> None:
            deadline = time.monotonic() + 120
            while not list(out.glob("*.mp3")) and time.monotonic() < deadline:
                time.sleep(0.02)
            os.killpg(victim.pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_at_the_first_episode)
        killer.start()
        done = run_cli("narrate", str(source), "-o", str(out), "--engine", "tone", "--cluster", processes.address)
        killer.join()
        assert victim.wait(timeout=10) == -signal.SIGKILL
        assert done.returncode == 0, done.stderr
        assert sorted(p.stem for p in out.glob("*.mp3")) == sorted(p.stem for p in source.glob("*.txt"))
        assert settled_problems(out) == []
    finally:
        processes.stop()


def test_a_worker_that_dies_in_an_article_has_it_tried_again_elsewhere(tmp_path: Path) -> None:
    marker = tmp_path / "died"
    fault = {"NARRATOR_TEST_FAULT": "die-once:tram-03", "NARRATOR_TEST_MARKER": str(marker)}
    processes = start_dask(tmp_path / "dask", 2, env=fault)
    try:
        source = many_articles(tmp_path / "in", 6)
        out = tmp_path / "out"
        done = run_cli("narrate", str(source), "-o", str(out), "--engine", "tone", "--cluster", processes.address)
        assert marker.exists()  # a worker died writing tram-03's captions
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert sorted(p.stem for p in out.glob("*.mp3")) == sorted(p.stem for p in source.glob("*.txt"))
        assert settled_problems(out) == []
    finally:
        processes.stop()


def test_articles_that_fail_on_their_workers_are_one_line_each_and_the_others_finish(tmp_path: Path) -> None:
    """One article's worker finds its disk full; another's engine never returns, so each worker it is given
    ends (Dask tries it on four, then gives up): each is one line naming its file, the others are
    published, nothing is left over."""
    processes = start_dask(tmp_path / "dask", 0)
    try:
        processes.start_worker({"NARRATOR_TEST_FAULT": "enospc:tram-01"})
        processes.start_worker({"NARRATOR_TEST_FAULT": "enospc:tram-01"})
        processes.wait_for_workers(2)
        source = many_articles(tmp_path / "in", 5, paragraphs=5)
        out = tmp_path / "out"
        done = run_cli("narrate", str(source), "-o", str(out), "--engine", "tone", "--cluster", processes.address)
        assert done.returncode == 1, done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"narrator: error: {source / 'tram-01.txt'}: cannot write the episode's files on the")
        assert line.endswith("(No space left on device)")
        assert sorted(p.stem for p in out.glob("*.mp3")) == ["tram-00", "tram-02", "tram-03", "tram-04"]
        assert settled_problems(out) == []
        with open_library(out) as library:
            assert library._query("SELECT COUNT(*) FROM claims")[0][0] == 0

        for worker in processes.workers:
            stop(worker)
        processes.workers.clear()
        stuck = {"NARRATOR_TEST_FAULT": "hang:of article 2 says"}  # the engine never returns on tram-02's text
        processes.start_worker(stuck)
        processes.start_worker(stuck)
        processes.wait_for_workers(2)
        again = many_articles(tmp_path / "again", 4, paragraphs=5)
        out = tmp_path / "out-again"
        done = run_cli(
            "narrate", str(again), "-o", str(out), "--engine", "tone", "--no-cache", "--cluster", processes.address,
            env={"NARRATOR_ENGINE_TIMEOUT": "1"},  # a worker whose engine is stuck longer ends
        )  # fmt: skip
        assert done.returncode == 4, done.stderr  # the engine's status: it is what crashes a worker
        assert done.stderr.splitlines() == [
            f"narrator: error: {again / 'tram-02.txt'}: could not be narrated on the cluster:"
            " it killed 4 workers in a row (the engine crashed?)"
        ]
        assert sorted(p.stem for p in out.glob("*.mp3")) == ["tram-00", "tram-01", "tram-03"]
        assert settled_problems(out) == []
    finally:
        processes.stop()


def test_a_scheduler_without_workers_is_one_error(tmp_path: Path) -> None:
    processes = start_dask(tmp_path / "dask", 0)
    try:
        started = time.monotonic()
        done = run_cli(
            "narrate", str(SEED), "-o", str(tmp_path / "out"), "--engine", "tone", "--cluster", processes.address,
            env={"NARRATOR_CLUSTER_TIMEOUT": "2"},
        )  # fmt: skip
        assert time.monotonic() - started < 30
        assert done.returncode == 5
        assert done.stderr.splitlines() == [
            f"narrator: error: the Dask scheduler at {processes.address} has no workers (waited 2 s)"
        ]
    finally:
        processes.stop()


def test_losing_the_scheduler_mid_run_stops_it_in_one_line_and_keeps_what_was_recorded(tmp_path: Path) -> None:
    processes = start_dask(tmp_path / "dask", 2)
    try:
        source = many_articles(tmp_path / "in", 10, paragraphs=80)
        out = tmp_path / "out"
        run = subprocess.Popen(
            [sys.executable, "-m", "narrator", "narrate", str(source), "-o", str(out), "--engine", "tone",
             "--cluster", processes.address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert run.stdout is not None
        assert run.stdout.readline().endswith("LUFS\n")  # an episode is in, others are being narrated
        os.killpg(processes.scheduler.pid, signal.SIGKILL)
        _, err = run.communicate(timeout=120)
        assert run.returncode == 5
        assert err == f"narrator: error: the connection to the Dask scheduler was lost ({processes.address})\n"
        assert settled_problems(out) == []
        with open_library(out) as library:
            assert library._query("SELECT COUNT(*) FROM claims")[0][0] == 0
            assert 1 <= len(library.episodes()) < 10
    finally:
        processes.stop()


def test_an_article_segmented_as_it_is_sent_that_has_nothing_to_say_fails_on_its_own(tmp_path: Path) -> None:
    """On a cluster only the first narratable article is segmented before the work starts; one found
    to have nothing to say when its turn comes is one line, and the articles before and after it finish."""
    source = tmp_path / "in"
    source.mkdir()
    (source / "a-first.txt").write_text("The first\n\nThe first article reads well.\n", encoding="utf-8")
    (source / "b-nothing.txt").write_text("東京\n\n東京は大きい 😀\n", encoding="utf-8")
    (source / "c-third.txt").write_text("The third\n\nThe third article reads well too.\n", encoding="utf-8")
    out = tmp_path / "out"
    run = CliRunner().invoke(
        main, ["narrate", str(source), "-o", str(out), "--engine", "tone", "--language", "en", "--cluster", "local:1"]
    )
    assert run.exit_code == 3, run.output  # bad input, as a local run says it
    assert run.stderr == f"narrator: error: {source / 'b-nothing.txt'}: has no words to narrate\n"
    assert sorted(p.name for p in out.glob("*.mp3")) == ["a-first.mp3", "c-third.mp3"]
    assert settled_problems(out) == []
    with open_library(out) as library:
        assert library._query("SELECT COUNT(*) FROM claims")[0][0] == 0


LOSSY_ON_A_WORKER = """
import logging, sys
from distributed import LocalCluster
from test_words import _losing_word_events
from narrator.__main__ import main

class Patch:  # what pytest's monkeypatch does, for this process's worker threads
    def setattr(self, owner, name, value):
        setattr(owner, name, value)

_losing_word_events(Patch(), every=1)
with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                  silence_logs=logging.CRITICAL, protocol="tcp", host="127.0.0.1") as cluster:
    sys.argv = ["narrator", "narrate", sys.argv[1], "-o", sys.argv[2], "--no-cache", "-q",
                "--cluster", cluster.scheduler_address]
    main()
"""


def test_clips_a_worker_got_without_word_timings_are_said_as_a_local_run_says_them(tmp_path: Path) -> None:
    """The worker's engine (a thread of a separate process here, so that the fault injected into it
    stays there) loses every word event: the client says so in the local run's words."""
    article = tmp_path / "ferry.txt"
    article.write_text(
        "The harbour ferry returns to the town\n\n"
        "The harbour ferry will run again from Monday, the council said on Tuesday evening.\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-c", LOSSY_ON_A_WORKER, str(article), str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    note = "ferry.txt: 2 of 2 pieces came without word timings from pyttsx3; their captions are timed by estimate"
    assert f"narrator: {note}\n" in run.stderr
    assert settled_problems(tmp_path / "out") == []


def test_a_closed_connection_to_the_scheduler_is_said_as_the_scheduler_lost() -> None:
    """Which exception a lost scheduler surfaces as depends on timing: a cancelled future, or the
    closed connection of a gather to it (seen in the fresh chroot); both are said the same way."""
    from narrator.executor import cluster_failure

    class CommClosedError(Exception):  # distributed.comm.core's, by name as cluster_failure knows it
        pass

    closed = CommClosedError(
        "in <TCP (closed) ConnectionPool.gather local=tcp://127.0.0.1:59820 remote=tcp://127.0.0.1:37971>:"
        " Stream is closed"
    )
    lost = ("the connection to the Dask scheduler was lost", False)
    assert cluster_failure(closed, address="tcp://127.0.0.1:37971") == lost
    assert cluster_failure(closed, connected=False, address="tcp://10.0.0.5:8786") == lost
    reason, go_on = cluster_failure(closed, address="tcp://10.0.0.5:8786")  # a worker's connection
    assert reason.startswith("the connection to the cluster was lost (in <TCP (closed)") and not go_on
