"""A podcast of many episodes: claims and records that cost the same however many there are, a feed of
the newest, and archive pages that list every other episode and stay as they are once full.

Sizes and times are bench/library_scale.py's to measure (10,000 episodes); here the library is
small, and what is checked is what makes the cost constant: every statement of a claim and a
record is answered from an index, and a render writes only the pages that changed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from consistency import settled_problems
from lxml import etree

from narrator.folder import episode_files
from narrator.library import Library, open_library
from narrator.page import PAGE_EPISODES
from narrator.pipeline import render
from narrator.podcast import PodcastSettings, save_podcast

SHOW = PodcastSettings(title="Many episodes", feed_episodes=30)


def add_episode(library: Library, folder: Path, n: int, edition: int = 1) -> None:
    """A small episode with real files, recorded as narrate records one (a later ``edition``: a new rendition)."""
    source, key = f"/articles/story-{n}.txt", f"k{n}-{edition}"
    claim = library.claim(source, slug=f"story-{n}", text_hash=f"h{n}-{edition}", build_key=key)
    files = episode_files(folder, claim.files_stem)
    files.mp3.write_bytes(b"\xff\xfb" + bytes(100 + n))
    files.vtt.write_text("WEBVTT\n", encoding="utf-8")
    files.srt.write_text("", encoding="utf-8")
    files.chapters_json.write_text('{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "One"}]}', "utf-8")
    library.record(
        claim, files, title=f"Story {n}", author="", language="en", duration_ms=1000 + n, body=f"Body of story {n}."
    )


@pytest.fixture
def podcast(tmp_path: Path) -> tuple[Path, Library]:
    folder = tmp_path / "podcast"
    folder.mkdir()
    save_podcast(SHOW, folder / "podcast.toml")
    library = open_library(folder)
    for n in range(250):
        add_episode(library, folder, n)
    return folder, library


def plans(db: sqlite3.Connection, statements: list[str]) -> list[tuple[str, str]]:
    """(statement, how SQLite answers it) for the statements that read or change rows."""
    found = []
    for sql in statements:
        words = sql.lstrip().split(None, 1)
        if words and words[0].upper() in ("SELECT", "UPDATE", "DELETE", "INSERT") and " FROM " in sql.upper():
            for row in db.execute("EXPLAIN QUERY PLAN " + sql):
                found.append((sql, str(row[-1])))
    return found


def test_a_claim_and_a_record_are_answered_from_indexes(podcast: tuple[Path, Library]) -> None:
    """Nothing scans a table whose size grows with the podcast: a claim and a record cost the same at
    10,000 episodes as at 10 (bench/library_scale.py times them)."""
    folder, library = podcast
    db: sqlite3.Connection = library._db
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        add_episode(library, folder, 1000)  # a new one
        add_episode(library, folder, 7, edition=2)  # a new rendition of an old one
    finally:
        db.set_trace_callback(None)
    growing = ("episodes", "claims", "files", "chapters", "rendered")
    scans = [
        (sql, plan) for sql, plan in plans(db, statements) if plan.startswith("SCAN") and plan.split()[1] in growing
    ]
    assert scans == []
    assert (folder / "story-7.v2.mp3").exists()


def feed_titles(folder: Path) -> list[str]:
    return [str(item.findtext("title")) for item in etree.parse(str(folder / "feed.xml")).getroot().iter("item")]


def page_titles(path: Path) -> list[str]:
    doc = etree.parse(str(path), etree.HTMLParser())
    return [str("".join(h.itertext())) for h in doc.iterfind(".//article/h3")]


def test_the_feed_lists_the_newest_and_the_pages_every_episode(podcast: tuple[Path, Library]) -> None:
    folder, library = podcast
    render(folder, SHOW, library)
    assert feed_titles(folder) == [f"Story {n}" for n in range(249, 219, -1)]  # the newest 30, newest first
    assert page_titles(folder / "index.html") == [f"Story {n}" for n in range(249, 249 - PAGE_EPISODES, -1)]
    archive = sorted(folder.glob("episodes-*.html"))
    assert [p.name for p in archive] == ["episodes-1.html", "episodes-2.html"]
    assert page_titles(folder / "episodes-1.html") == [f"Story {n}" for n in range(99, -1, -1)]
    assert page_titles(folder / "episodes-2.html") == [f"Story {n}" for n in range(149, 99, -1)]
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert '<a href="episodes-2.html" rel="prev">Older episodes</a>' in index
    second = (folder / "episodes-2.html").read_text(encoding="utf-8")
    assert '<a href="index.html" rel="next">Newest episodes</a>' in second
    assert '<a href="episodes-1.html" rel="prev">Older episodes</a>' in second
    assert "<h2>Episodes 101–150, the oldest counted first</h2>" in second
    assert settled_problems(folder) == []


def test_a_new_episode_rewrites_only_the_last_archive_page(podcast: tuple[Path, Library]) -> None:
    folder, library = podcast
    render(folder, SHOW, library)
    first = folder / "episodes-1.html"
    before = first.stat().st_mtime_ns, first.read_bytes()
    add_episode(library, folder, 250)
    render(folder, SHOW, library)
    assert (first.stat().st_mtime_ns, first.read_bytes()) == before  # a full page never changes
    assert page_titles(folder / "episodes-2.html")[0] == "Story 150"  # one moved from index.html to the archive
    assert feed_titles(folder)[0] == "Story 250"
    add_episode(library, folder, 7, edition=2)  # a new rendition of an archived episode: its page is written again
    render(folder, SHOW, library)
    assert first.read_bytes() != before[1]
    assert "story-7.v2.mp3" in first.read_text(encoding="utf-8")
    assert not (folder / "story-7.mp3").exists()  # the old rendition went once no page named it
    assert settled_problems(folder) == []


def test_removing_episodes_takes_their_pages_away(podcast: tuple[Path, Library]) -> None:
    folder, library = podcast
    render(folder, SHOW, library)
    for n in range(100, 200):
        library.remove(f"story-{n}")
    render(folder, SHOW, library)
    assert [p.name for p in folder.glob("episodes-*.html")] == ["episodes-1.html"]
    assert page_titles(folder / "episodes-1.html") == [f"Story {n}" for n in range(49, -1, -1)]
    assert settled_problems(folder) == []


def test_feed_episodes_zero_lists_every_episode(podcast: tuple[Path, Library]) -> None:
    folder, library = podcast
    every = replace(SHOW, feed_episodes=0)
    save_podcast(every, folder / "podcast.toml")
    render(folder, every, library)
    assert len(feed_titles(folder)) == 250
    assert settled_problems(folder) == []
