"""Shared fixtures: article fixtures, a CLI runner, a narrated seed episode, MP3 and ID3 readers.

Everything a test writes goes under pytest's temporary folders: the clip cache and
the engine's scratch files included (see ``_isolated_environment``).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings as hypothesis_settings

from narrator.cli import main

TESTS = Path(__file__).parent
DATA = TESTS / "data"
ARTICLES_DIR = DATA / "articles"
#: Articles written for these tests, each beside a hand-written NAME.json of what the reader must find.
ARTICLES = sorted(ARTICLES_DIR.glob("*.txt"))
SEED = TESTS.parent / "seeds" / "north-korea-troops-morale.txt"
CHAPTERS_SCHEMA = DATA / "podcast-chapters.schema.json"

# No example database: Hypothesis would otherwise write .hypothesis/ into the repository
# (its other caches are moved to a temporary folder by ``_isolated_environment``).
hypothesis_settings.register_profile("narrator", database=None, deadline=None)
hypothesis_settings.load_profile("narrator")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Any test taking ``article_path`` runs once per article fixture in tests/data/articles.
    if "article_path" in metafunc.fixturenames:
        metafunc.parametrize("article_path", ARTICLES, ids=[p.stem for p in ARTICLES])


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the clip cache, Hypothesis's caches and every temporary file of the run under pytest's tmp."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    scratch = tmp_path_factory.mktemp("tmpdir")
    cache = tmp_path_factory.mktemp("default-cache")
    saved = {name: os.environ.get(name) for name in ("TMPDIR", "NARRATOR_CACHE_DIR")}
    os.environ["TMPDIR"] = str(scratch)
    os.environ["NARRATOR_CACHE_DIR"] = str(cache)
    tempfile.tempdir = None  # re-read TMPDIR
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    tempfile.tempdir = None
    set_hypothesis_home_dir(None)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def write_article(tmp_path: Path) -> Callable[..., Path]:
    """Write text (str, UTF-8) or raw bytes to a file in tmp_path and return its path."""

    def write(content: str | bytes, name: str = "article.txt") -> Path:
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_bytes(content.encode("utf-8"))
        else:
            path.write_bytes(content)
        return path

    return write


# --- a narrated seed, once per session ---------------------------------------------


@dataclass(frozen=True)
class NarratedEpisode:
    """One narration run through the CLI and the files it wrote."""

    result: Result
    output_dir: Path
    stem: str
    cache_dir: Path | None = None
    """The clip cache the run filled; None when it ran without one."""

    @property
    def mp3(self) -> Path:
        return self.output_dir / f"{self.stem}.mp3"

    @property
    def vtt(self) -> Path:
        return self.output_dir / f"{self.stem}.vtt"

    @property
    def srt(self) -> Path:
        return self.output_dir / f"{self.stem}.srt"

    @property
    def chapters_json(self) -> Path:
        return self.output_dir / f"{self.stem}.chapters.json"


def run_narrate(args: list[str]) -> Result:
    return CliRunner().invoke(main, ["narrate", *args], catch_exceptions=False)


@pytest.fixture(scope="session")
def seed_episode(tmp_path_factory: pytest.TempPathFactory) -> NarratedEpisode:
    """The seed article narrated by the real engine, without the cache, once for the whole session."""
    out = tmp_path_factory.mktemp("seed-episode")
    result = run_narrate([str(SEED), "-o", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    return NarratedEpisode(result=result, output_dir=out, stem=SEED.stem)


@pytest.fixture(scope="session")
def piper_seed_episode(tmp_path_factory: pytest.TempPathFactory) -> NarratedEpisode:
    """The seed article narrated by Piper (its voice from the narrator[piper] extra), once for the whole session."""
    out = tmp_path_factory.mktemp("piper-seed-episode")
    cache = tmp_path_factory.mktemp("piper-seed-cache")
    result = run_narrate([str(SEED), "-o", str(out), "--engine", "piper", "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    return NarratedEpisode(result=result, output_dir=out, stem=SEED.stem, cache_dir=cache)


@pytest.fixture(scope="session")
def articles_episodes(tmp_path_factory: pytest.TempPathFactory) -> NarratedEpisode:
    """Every article in tests/data/articles narrated in one run, the folder given as the input."""
    out = tmp_path_factory.mktemp("articles-episodes")
    cache = tmp_path_factory.mktemp("articles-cache")
    result = run_narrate([str(ARTICLES_DIR), "-o", str(out), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    return NarratedEpisode(result=result, output_dir=out, stem="")


# --- MP3 files and their ID3 tags -------------------------------------------------


@pytest.fixture(scope="session")
def tone_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-second mono 22.05 kHz MP3 without tags, made by ffmpeg; copy it before tagging."""
    path = tmp_path_factory.mktemp("tone") / "tone.mp3"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=12:sample_rate=22050",
            "-ac",
            "1",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
            "-id3v2_version",
            "0",
            str(path),
        ],
        check=True,
    )
    return path


@pytest.fixture
def mp3_copy(tone_mp3: Path, tmp_path: Path) -> Path:
    path = tmp_path / "episode.mp3"
    shutil.copyfile(tone_mp3, path)
    return path


@dataclass(frozen=True)
class RawFrame:
    """One frame of an ID3v2.3 tag as it lies in the file."""

    id: str
    body: bytes


def _read_frames(data: bytes, pos: int, end: int) -> list[RawFrame]:
    frames: list[RawFrame] = []
    while pos + 10 <= end and data[pos : pos + 4] != b"\x00\x00\x00\x00":
        frame_id = data[pos : pos + 4].decode("latin-1")
        (length,) = struct.unpack(">I", data[pos + 4 : pos + 8])  # v2.3: a plain 32-bit size
        frames.append(RawFrame(frame_id, data[pos + 10 : pos + 10 + length]))
        pos += 10 + length
    return frames


@dataclass(frozen=True)
class RawChap:
    """A CHAP frame's body (ID3v2 Chapter Frame Addendum, 3.1)."""

    element_id: str
    start_ms: int
    end_ms: int
    start_offset: int
    end_offset: int
    sub_frames: list[RawFrame]


@dataclass(frozen=True)
class RawCtoc:
    """A CTOC frame's body (ID3v2 Chapter Frame Addendum, 3.2)."""

    element_id: str
    flags: int
    children: list[str]
    sub_frames: list[RawFrame]


def parse_chap(body: bytes) -> RawChap:
    cut = body.index(b"\x00")
    start, end, start_offset, end_offset = struct.unpack(">IIII", body[cut + 1 : cut + 17])
    subs = _read_frames(body, cut + 17, len(body))
    return RawChap(body[:cut].decode("latin-1"), start, end, start_offset, end_offset, subs)


def parse_ctoc(body: bytes) -> RawCtoc:
    cut = body.index(b"\x00")
    flags, count = body[cut + 1], body[cut + 2]
    pos, children = cut + 3, []
    for _ in range(count):
        nul = body.index(b"\x00", pos)
        children.append(body[pos:nul].decode("latin-1"))
        pos = nul + 1
    return RawCtoc(body[:cut].decode("latin-1"), flags, children, _read_frames(body, pos, len(body)))


@dataclass(frozen=True)
class RawTag:
    """An ID3v2 tag read byte by byte, without mutagen: frames in the order they lie in the file."""

    version: int
    frames: list[RawFrame]

    @classmethod
    def read(cls, path: Path) -> RawTag:
        data = path.read_bytes()
        assert data[:3] == b"ID3", f"{path} has no ID3v2 tag at its start"
        size = 0
        for byte in data[6:10]:  # a synchsafe integer
            size = (size << 7) | (byte & 0x7F)
        return cls(version=data[3], frames=_read_frames(data, 10, 10 + size))

    def ids(self) -> list[str]:
        return [f.id for f in self.frames]

    def chaps(self) -> list[RawChap]:
        return [parse_chap(f.body) for f in self.frames if f.id == "CHAP"]

    def ctocs(self) -> list[RawCtoc]:
        return [parse_ctoc(f.body) for f in self.frames if f.id == "CTOC"]


@pytest.fixture(scope="session")
def read_tag() -> Callable[[Path], RawTag]:
    return RawTag.read


def ffprobe_chapters(path: Path) -> list[tuple[int, int, str]]:
    """Chapters as ffprobe lists them (file order): (start ms, end ms, title)."""
    import json

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        (round(float(c["start_time"]) * 1000), round(float(c["end_time"]) * 1000), c.get("tags", {}).get("title", ""))
        for c in json.loads(out)["chapters"]
    ]


@pytest.fixture(scope="session")
def probe_chapters() -> Callable[[Path], list[tuple[int, int, str]]]:
    return ffprobe_chapters


# --- the output folder, before and after --------------------------------------------


def folder_snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``folder`` (hidden ones included) with its mtime in ns and its bytes."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="session")
def snapshot() -> Callable[[Path], dict[str, tuple[int, bytes]]]:
    return folder_snapshot
