"""The episode library: add, replace, reuse, remove, migrations, and several processes at once.

These tests are about the database, so the episode files are small stand-ins
written here; test_feed.py records real narrations.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from narrator.captions import render_chapters_json
from narrator.errors import EpisodeNotFoundError, LibraryError
from narrator.library import (
    SCHEMA_VERSION,
    Action,
    Library,
    article_body,
    article_summary,
    build_key,
    episode_dict,
    library_path,
    normalize_source,
    open_library,
    read_chapters_json,
)
from narrator.models import Article, Block, BlockKind, Chapter, EpisodeFiles

DATA = Path(__file__).parent / "data" / "feed"
CHAPTERS = (Chapter(0, 1500, "One"), Chapter(1500, 3250, "Two & <three>"))


def write_episode(out: Path, stem: str, audio: bytes = b"\xff\xfb" * 500, chapters=CHAPTERS) -> EpisodeFiles:  # type: ignore[no-untyped-def]
    """Stand-in files for an episode: what the pipeline would leave in ``out`` under ``stem``."""
    files = EpisodeFiles(
        mp3=out / f"{stem}.mp3",
        vtt=out / f"{stem}.vtt",
        srt=out / f"{stem}.srt",
        chapters_json=out / f"{stem}.chapters.json",
    )
    out.mkdir(parents=True, exist_ok=True)
    files.mp3.write_bytes(audio)
    files.vtt.write_text("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\nHello\n", encoding="utf-8")
    files.srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n", encoding="utf-8")
    document = render_chapters_json(chapters, title=stem, author="", podcast_name="Show", file_name=files.mp3.name)
    files.chapters_json.write_text(document, encoding="utf-8")
    return files


def add(
    library: Library,
    source: str,
    *,
    slug: str = "article",
    key: str = "key-1",
    as_new: bool = False,
    audio: bytes = b"\xff\xfb" * 500,
    title: str = "A title",
):  # type: ignore[no-untyped-def]
    """Claim, write stand-in files, record: what one narration does."""
    claim = library.claim(source, slug=slug, text_hash="hash-" + source, build_key=key, as_new=as_new)
    files = write_episode(library.output_dir, claim.files_stem, audio)
    record = library.record(
        claim,
        files,
        title=title,
        author="Ada Lovelace",
        language="en",
        duration_ms=3250,
        body="First paragraph.\n\nSecond paragraph.",
    )
    return claim, record


@pytest.fixture
def library(tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_library(tmp_path / "out") as lib:
        yield lib


def test_the_library_is_a_hidden_wal_database(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with open_library(out) as lib:
        assert lib.path == library_path(out) == out / ".narrator" / "library.sqlite"
        assert lib.schema_version == SCHEMA_VERSION
        assert lib.episodes() == ()
    db = sqlite3.connect(library_path(out))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_opening_without_create_needs_a_library(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="narrate an article"):
        open_library(tmp_path, create=False)
    assert not (tmp_path / ".narrator").exists()


def test_a_new_article_becomes_an_episode(library: Library, tmp_path: Path) -> None:
    source = tmp_path / "articles" / "one.txt"
    claim, record = add(library, str(source), slug="one")
    assert claim.action is Action.NEW and claim.existing is None
    assert record.stem == "one" and record.source == str(source.resolve())
    assert record.guid == claim.guid and len(record.guid) == 36
    assert record.audio.name == "one.mp3"
    assert record.audio.size_bytes == (library.output_dir / "one.mp3").stat().st_size
    assert record.vtt and record.srt and record.chapters_json
    assert record.chapters == CHAPTERS and record.chapter_count == 2
    assert record.description == "First paragraph."
    assert record.published_at.tzinfo is not None and record.published_at == record.updated_at
    assert library.episodes() == (record,)
    assert library.by_source(str(source)) == record == library.by_build_key("key-1")
    assert library.by_build_key("other") is None


def test_unchanged_article_and_settings_mean_nothing_to_encode(library: Library) -> None:
    _, record = add(library, "/articles/a.txt")
    again = library.claim("/articles/a.txt", slug="article", text_hash="x", build_key="key-1")
    assert again.action is Action.REUSE
    assert again.existing == record and again.stem == record.stem and again.guid == record.guid
    (library.output_dir / record.audio.name).write_bytes(b"truncated")  # a damaged file is made again
    assert library.claim("/articles/a.txt", slug="article", text_hash="x", build_key="key-1").action is Action.REPLACE


def test_a_changed_article_replaces_the_audio_and_keeps_guid_and_date(library: Library) -> None:
    _, first = add(library, "/articles/a.txt", audio=b"a" * 100)
    time.sleep(1.1)  # updated_at has whole seconds
    claim, second = add(library, "/articles/a.txt", key="key-2", audio=b"b" * 200, title="New title")
    assert claim.action is Action.REPLACE and claim.existing == first
    assert (second.id, second.guid, second.stem, second.published_at) == (
        first.id,
        first.guid,
        first.stem,
        first.published_at,
    )
    assert second.updated_at > first.updated_at
    assert second.audio.size_bytes == 200 and second.title == "New title" and second.build_key == "key-2"
    assert len(library.episodes()) == 1


def test_as_new_publishes_a_second_episode_beside_the_first(library: Library) -> None:
    _, first = add(library, "/articles/a.txt", slug="a")
    claim, second = add(library, "/articles/a.txt", slug="a", as_new=True)
    assert claim.action is Action.NEW
    assert second.stem == "a-2" and second.guid != first.guid and second.id != first.id
    assert (library.output_dir / "a.mp3").exists()  # the first episode's files are untouched
    assert [r.id for r in library.episodes()] == [second.id, first.id]  # newest first
    assert library.by_source("/articles/a.txt") == second  # a later narration replaces the newest


def test_different_sources_with_the_same_name_get_their_own_stems(library: Library) -> None:
    _, one = add(library, "/a/article.txt", slug="article")
    _, two = add(library, "/b/article.txt", slug="article")
    _, three = add(library, "https://example.com/article", slug="article")
    assert (one.stem, two.stem, three.stem) == ("article", "article-2", "article-3")


def test_a_claim_reserves_its_stem_until_recorded_or_released(library: Library) -> None:
    first = library.claim("/a/x.txt", slug="x", text_hash="1", build_key="1")
    second = library.claim("/b/x.txt", slug="x", text_hash="2", build_key="2")
    assert (first.stem, second.stem) == ("x", "x-2")
    library.release(first)
    assert library.claim("/c/x.txt", slug="x", text_hash="3", build_key="3").stem == "x"


def test_claims_of_dead_runs_are_dropped(library: Library) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    library.claim("/a/x.txt", slug="x", text_hash="1", build_key="1")
    with library.locked():
        library._db.execute("UPDATE claims SET pid = ?", (int(dead.stdout),))
    assert library.claim("/b/x.txt", slug="x", text_hash="2", build_key="2").stem == "x"


def test_standard_input_is_told_apart_by_its_text(library: Library) -> None:
    one = library.claim("-", slug="stdin", text_hash="aaa", build_key="k")
    assert one.source == "stdin:aaa"
    files = write_episode(library.output_dir, one.stem)
    library.record(one, files, title="t", author="", language="en", duration_ms=3250, body="b")
    assert library.claim("-", slug="stdin", text_hash="bbb", build_key="k2").action is Action.NEW
    assert library.claim("-", slug="stdin", text_hash="aaa", build_key="k").action is Action.REUSE


def test_sources_are_compared_as_absolute_paths(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _, record = add(library, "articles/../articles/a.txt")
    assert record.source == str(tmp_path / "articles" / "a.txt")
    assert library.by_source(str(tmp_path / "articles" / "a.txt")) == record
    assert normalize_source("https://example.com/x") == "https://example.com/x"


@pytest.mark.parametrize("ref", ["{id}", "{guid}", "{stem}", "{stem}.mp3", "/articles/a.txt"])
def test_remove_takes_id_guid_stem_file_or_source(library: Library, ref: str) -> None:
    _, record = add(library, "/articles/a.txt", slug="a")
    _, other = add(library, "/articles/b.txt", slug="b")
    removed = library.remove(ref.format(id=record.id, guid=record.guid, stem=record.stem))
    assert removed == record
    assert library.episodes() == (other,)
    assert (library.output_dir / "a.mp3").exists()  # the files go after the feed is rebuilt
    deleted = library.delete_files(removed)
    assert {p.name for p in deleted} == {"a.mp3", "a.vtt", "a.srt", "a.chapters.json"}
    assert sorted(p.name for p in library.output_dir.iterdir() if p.is_file()) == [
        "b.chapters.json",
        "b.mp3",
        "b.srt",
        "b.vtt",
    ]


def test_removing_an_unknown_episode_says_how_to_list_them(library: Library) -> None:
    add(library, "/articles/a.txt")
    with pytest.raises(EpisodeNotFoundError, match="narrator episodes"):
        library.remove("nope")
    assert len(library.episodes()) == 1


def test_ids_are_never_reused(library: Library) -> None:
    _, first = add(library, "/articles/a.txt", slug="a")
    library.remove(str(first.id))
    _, second = add(library, "/articles/b.txt", slug="b")
    assert second.id > first.id


def test_episode_dict_is_json(library: Library) -> None:
    _, record = add(library, "/articles/a.txt")
    data = json.loads(json.dumps(episode_dict(record)))
    assert data["guid"] == record.guid and data["chapter_count"] == 2
    assert data["files"]["audio"] == {"name": "article.mp3", "size_bytes": 1000}
    assert datetime.fromisoformat(data["published_at"]) == record.published_at
    assert "body" not in data


def test_record_needs_the_audio(library: Library) -> None:
    claim = library.claim("/articles/a.txt", slug="a", text_hash="h", build_key="k")
    files = write_episode(library.output_dir, "a")
    files.mp3.unlink()
    with pytest.raises(LibraryError, match="missing"):
        library.record(claim, files, title="t", author="", language="en", duration_ms=1, body="")
    assert library.episodes() == ()


def test_a_publication_date_can_be_given_for_new_episodes(library: Library) -> None:
    claim = library.claim("/articles/a.txt", slug="a", text_hash="h", build_key="k")
    files = write_episode(library.output_dir, "a")
    when = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    record = library.record(
        claim, files, title="t", author="", language="en", duration_ms=1, body="", published_at=when
    )
    assert record.published_at == when


def test_chapters_files_are_read_as_the_podcasting_20_spec_allows(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"version": "1.2.0", "chapters": [{"startTime": 0}, {"startTime": 1.5, "title": "B"}]}))
    assert read_chapters_json(path, 4000) == (Chapter(0, 1500, ""), Chapter(1500, 4000, "B"))
    path.write_text("{not json")
    with pytest.raises(LibraryError, match="not a JSON chapters file"):
        read_chapters_json(path, 1)


def test_article_helpers_skip_captions_in_the_summary() -> None:
    article = Article(
        source="a.txt",
        title="T",
        byline="",
        blocks=(Block(BlockKind.CAPTION, "A photo."), Block(BlockKind.PARAGRAPH, "The story starts.")),
    )
    assert article_body(article) == "A photo.\n\nThe story starts."
    assert article_summary(article) == "The story starts."


def test_build_keys_change_with_any_setting() -> None:
    base = build_key("hash", {"voice": "en", "rate_wpm": 175, "bitrate_kbps": 64})
    assert base == build_key("hash", {"bitrate_kbps": 64, "rate_wpm": 175, "voice": "en"})
    assert base != build_key("hash", {"voice": "en", "rate_wpm": 176, "bitrate_kbps": 64})
    assert base != build_key("other", {"voice": "en", "rate_wpm": 175, "bitrate_kbps": 64})


# -- schema versions -------------------------------------------------------------------


def test_a_version_1_library_is_migrated_and_keeps_its_episodes(tmp_path: Path) -> None:
    path = library_path(tmp_path)
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.executescript((DATA / "library-v1.sql").read_text(encoding="utf-8"))
    db.close()
    with open_library(tmp_path) as lib:
        assert lib.schema_version == SCHEMA_VERSION == 6
        (old,) = lib.episodes()
        assert old.guid == "5b0f6f3e-7c43-4d52-9a57-0d7f3b6f2a11" and old.build_key == ""
        assert old.chapters == (Chapter(0, 30000, "Beginning"), Chapter(30000, 61500, "End"))
        assert old.published_at == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
        assert lib.get_meta("podcast_guid") == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
        # No build key yet: narrated again, as a replacement under the old GUID and date.
        claim, record = add(lib, "/articles/old-article.txt", slug="ignored")
        assert claim.action is Action.REPLACE
        assert (record.id, record.guid, record.stem, record.published_at) == (
            old.id,
            old.guid,
            "old-article",
            old.published_at,
        )
    with open_library(tmp_path) as lib:  # opening a current library changes nothing
        assert lib.schema_version == SCHEMA_VERSION and len(lib.episodes()) == 1


def test_a_library_from_a_newer_narrator_is_left_alone(tmp_path: Path) -> None:
    with open_library(tmp_path) as lib:
        add(lib, "/articles/a.txt")
    db = sqlite3.connect(library_path(tmp_path))
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(LibraryError, match="newer than this narrator"):
        open_library(tmp_path)
    db = sqlite3.connect(library_path(tmp_path))
    assert db.execute("PRAGMA user_version").fetchone()[0] == 99
    db.close()


def test_a_file_that_is_not_a_library_is_reported(tmp_path: Path) -> None:
    path = library_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(LibraryError, match="not a narrator library") as caught:
        open_library(tmp_path)
    assert caught.value.path == path


# -- several processes ---------------------------------------------------------------------

#: One narration run after another, as `narrator narrate` will do them: claim, write the files,
#: record, rebuild the feed. argv: output folder, run name, how many (-1: until killed).
WORKER = r"""
import sys, time
from pathlib import Path
from narrator.captions import render_chapters_json
from narrator.pipeline import render
from narrator.library import open_library
from narrator.models import Chapter, EpisodeFiles
from narrator.podcast import PodcastSettings

out, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
while not (out / "go").exists():
    time.sleep(0.002)
show = PodcastSettings(base_url="https://example.com/")
i = 0
with open_library(out) as lib:
    while count < 0 or i < count:
        claim = lib.claim(f"/articles/{name}/{i}.txt", slug="same", text_hash=f"{name}{i}", build_key=f"{name}{i}")
        stem = claim.stem
        files = EpisodeFiles(*(out / f"{stem}.{ext}" for ext in ("mp3", "vtt", "srt", "chapters.json")))
        files.mp3.write_bytes(b"\xff\xfb" * (100 + i))
        files.vtt.write_text("WEBVTT\n")
        files.srt.write_text("")
        files.chapters_json.write_text(render_chapters_json((Chapter(0, 1000, f"{name} {i}"),), title=stem,
                                       author="", podcast_name="", file_name=stem + ".mp3"))
        lib.record(claim, files, title=f"{name} {i}", author="", language="en", duration_ms=1000, body="Text.")
        render(out, show, lib)
        i += 1
"""


def start_worker(out: Path, name: str, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(out), name, str(count)], stderr=subprocess.PIPE)


def feed_items(out: Path) -> list[str]:
    from lxml import etree

    root = etree.parse(str(out / "feed.xml")).getroot()
    return [str(title) for title in root.xpath("/rss/channel/item/title/text()")]


def check_consistent(out: Path) -> None:
    db = sqlite3.connect(library_path(out))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()


def test_two_processes_writing_at_once_both_end_up_in_library_and_feed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with open_library(out):
        pass
    from narrator.cover import publish_cover
    from narrator.podcast import PodcastSettings

    publish_cover(out, image=None, title=PodcastSettings().title)  # drawn once here, not by both workers
    workers = [start_worker(out, name, 12) for name in ("left", "right")]
    (out / "go").touch()
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()
    check_consistent(out)
    with open_library(out) as lib:
        records = lib.episodes()
        assert len(records) == 24
        assert len({r.stem for r in records}) == 24  # "same" for all: claims kept them apart
        assert {r.title for r in records} == {f"{n} {i}" for n in ("left", "right") for i in range(12)}
        for record in records:
            assert (out / record.audio.name).stat().st_size == record.audio.size_bytes
    assert sorted(feed_items(out)) == sorted(r.title for r in records)


@pytest.mark.parametrize("delay_s", [0.0, 0.003, 0.011, 0.029, 0.07, 0.15])
def test_a_run_killed_at_any_moment_leaves_a_working_library_and_feed(tmp_path: Path, delay_s: float) -> None:
    out = tmp_path / "out"
    with open_library(out) as lib:
        add(lib, "/articles/before.txt", slug="before", title="before")
        from narrator.pipeline import render
        from narrator.podcast import PodcastSettings

        show = PodcastSettings(base_url="https://example.com/")
        render(out, show, lib)
    worker = start_worker(out, "killed", -1)
    (out / "go").touch()
    deadline = time.monotonic() + 60
    while "killed 0" not in feed_items(out):  # the run is under way: its first episode is out
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.005)
    time.sleep(delay_s)  # ...then it dies somewhere in claim, files, record or feed
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    check_consistent(out)
    titles = feed_items(out)  # the feed is whole: the old one or a newer one
    assert "before" in titles
    with open_library(out) as lib:
        assert {"before", *titles} <= {r.title for r in lib.episodes()}
        add(lib, "/articles/after.txt", slug="after", title="after")
        render(out, show, lib)
        assert sorted(feed_items(out)) == sorted(r.title for r in lib.episodes())
        for stored in lib.episodes():
            assert (out / stored.audio.name).stat().st_size == stored.audio.size_bytes


def test_a_dead_runs_garbage_never_takes_the_files_a_new_claim_writes(library: Library) -> None:
    """A dead run's rendition names go to the garbage; the next claim of the same rendition writes them
    again, and no collection may delete them before they are recorded."""
    import subprocess
    import sys

    add(library, "/articles/a.txt", slug="a")
    claim = library.claim("/articles/a.txt", slug="a", text_hash="hash-/articles/a.txt", build_key="key-2")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with library.locked():
        library._execute("UPDATE claims SET pid = ?", (int(dead.stdout),))
    library.drop_dead_claims()
    again = library.claim("/articles/a.txt", slug="a", text_hash="hash-/articles/a.txt", build_key="key-2")
    assert again.files_stem == claim.files_stem == "a.v2"
    files = write_episode(library.output_dir, again.files_stem, b"\xff\xfb" * 600)
    with library.locked():  # as if the feed were current: collection may run
        library._execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('rendered_generation', ?)", (str(library.generation),)
        )
    library.collect_garbage()
    assert files.mp3.exists() and files.vtt.exists(), "the live claim's files were collected"
    record = library.record(
        again, files, title="t", author="", language="en", duration_ms=3250, body="First paragraph."
    )
    assert record.audio.name == "a.v2.mp3"


def test_a_transaction_an_interrupt_left_open_is_undone_by_the_next(tmp_path: Path) -> None:
    """A Ctrl-C between BEGIN and the block it guards left the transaction open, and the cleanup
    after it (releasing the run's claims) failed: "cannot start a transaction within a transaction"."""
    with open_library(tmp_path) as library:
        library._db.execute("BEGIN IMMEDIATE")  # as the interrupted locked() left it
        library._db.execute("INSERT INTO garbage (name) VALUES ('half.mp3')")
        with library.locked():
            assert library._query("SELECT COUNT(*) FROM garbage")[0][0] == 0  # the half-done work undone
        assert not library._db.in_transaction
