"""Following sources: narrator follow, sources, unfollow and update, against feeds served on 127.0.0.1.

A real HTTP server in a thread (tests/feedsite.py) stands in for the blogs and news
sites; feedparser, the readers, the library and the engines are the real ones (the
tone engine where speech does not matter, pyttsx3 over espeak-ng end to end). Kills
and two updates at once run narrator as real processes.
"""

from __future__ import annotations

import html
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from consistency import feed_items, library_episodes, published_problems, settled_problems
from feedsite import Post, Site, edited, serve_site
from test_safety import left_running

from narrator.cli import main
from narrator.readers.feed import FULL_CONTENT_WORDS, needs_page, parse_feed
from narrator.readers.lists import read_opml

TESTS = Path(__file__).parent
FAULTS = TESTS / "faults.py"


@pytest.fixture
def site() -> Iterator[Site]:
    with serve_site() as running:
        yield running


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def narrator(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "narrator", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def episodes(out: Path) -> list[dict[str, object]]:
    code, stdout, stderr = cli("episodes", "-o", str(out), "--json")
    assert code == 0, stderr
    return list(json.loads(stdout))


def sources(out: Path) -> list[dict[str, object]]:
    code, stdout, stderr = cli("sources", "-o", str(out), "--json")
    assert code == 0, stderr
    return list(json.loads(stdout))


def follow(out: Path, *args: str) -> None:
    code, _, stderr = cli("follow", *args, "-o", str(out), "--engine", "tone")
    assert code == 0, stderr


def update(out: Path, *args: str) -> tuple[int, str, str]:
    return cli("update", "-o", str(out), "--no-cache", *args)


# --- feeds and items -------------------------------------------------------------------


def test_rss2_atom_and_rss1_are_read_with_dates_links_and_authors() -> None:
    posts = [Post(1), Post(2)]
    from feedsite import atom, rss

    for data in (rss(posts, "http://b.example"), atom(posts, "http://b.example")):
        feed = parse_feed(data, "http://b.example/feed")
        assert [item.guid for item in feed.items] == ["tag:blog.example,2026:post-2", "tag:blog.example,2026:post-1"]
        item = feed.items[1]
        assert item.link == "http://b.example/posts/1.html"
        assert item.author == "Ana Lima"
        assert item.published_at == Post(1).when
        assert item.words >= FULL_CONTENT_WORDS and not needs_page(item)
    rdf = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://b.example/"><title>RDF blog</title><link>http://b.example/</link>
<description>d</description><items><rdf:Seq><rdf:li resource="http://b.example/1"/></rdf:Seq></items></channel>
<item rdf:about="http://b.example/1"><title>One</title><link>http://b.example/1</link>
<description>A teaser.</description><dc:date>2026-02-01T10:00:00Z</dc:date><dc:creator>Lee</dc:creator></item>
</rdf:RDF>"""
    feed = parse_feed(rdf, "http://b.example/rdf")
    assert feed.title == "RDF blog"
    (item,) = feed.items
    assert (item.guid, item.author, item.published_at.isoformat() if item.published_at else "") == (
        "http://b.example/1",
        "Lee",
        "2026-02-01T10:00:00+00:00",
    )
    assert needs_page(item)  # a teaser: its page is read


def test_a_document_that_is_no_feed_is_one_clear_error() -> None:
    from narrator.errors import InputError

    with pytest.raises(InputError, match="is not an RSS or Atom feed"):
        parse_feed(b"<html><body><p>Hello</p></body></html>", "http://b.example/page")
    with pytest.raises(InputError, match="is not an RSS or Atom feed"):
        parse_feed(b"<rss><channel><item><title>broken", "http://b.example/broken")


# --- the shapes of real feeds ------------------------------------------------------------
# Each test below has the shape of a feed nobody wrote for narrator (the copies tried are listed in the
# README's "Following feeds"); the words are made up here, the markup is what those feeds send.


def _wordpress(items: str, base: str = "http://b.example") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Harbour Notes</title><link>{base}/</link><description>d</description>"
        f"<generator>https://wordpress.org/?v=6.5.5</generator>{items}</channel></rss>"
    ).encode()


def _footer(base: str, n: int) -> str:
    """The back-link Yoast SEO ends every WordPress item with (its default ``rssafter``)."""
    return (
        f'<p>The post <a href="{base}/{n}/">Story {n}</a> appeared first on <a href="{base}">Harbour Notes</a>.</p>\n'
    )


def test_the_wordpress_footer_is_not_read_and_does_not_hide_a_teaser() -> None:
    from narrator.readers.feed import content_article

    base = "http://b.example"
    whole = "".join(f"<p>{p}</p>" for p in Post(1).paragraphs_text())
    teaser = "<p>" + " ".join(Post(2).paragraphs_text())[:1100] + " [...]</p>"
    teaser += f'<p><a class="read-more-link" href="{base}/2/">Read More...</a></p>'
    items = (
        f"<item><title>Story 1</title><link>{base}/1/</link><guid>{base}/?p=1</guid>"
        f"<description><![CDATA[<p>Short.</p>{_footer(base, 1)}]]></description>"
        f"<content:encoded><![CDATA[{whole}{_footer(base, 1)}]]></content:encoded></item>"
        f"<item><title>Story 2</title><link>{base}/2/</link><guid>{base}/?p=2</guid>"
        f"<description><![CDATA[{teaser}{_footer(base, 2)}]]></description></item>"
        f"<item><title>Story 3</title><link>{base}/3/</link><guid>{base}/?p=3</guid>"  # the footer as plain text
        "<description>The crew waited. The post Story 3 appeared first on Harbour Notes .</description></item>"
    )
    one, two, three = parse_feed(_wordpress(items), base + "/feed/").items
    assert not needs_page(one)
    article = content_article(one, source=one.link)
    assert "appeared first on" not in " ".join(block.text for block in article.blocks)
    assert article.blocks[-1].text == Post(1).paragraphs_text()[-1]
    assert two.words >= FULL_CONTENT_WORDS and needs_page(two)  # "[...] Read More..." is seen through the footer
    assert "appeared first" not in three.content and three.content.endswith("The crew waited.")


def test_a_body_beside_a_shorter_summary_is_read_from_the_feed_however_short(site: Site, tmp_path: Path) -> None:
    """Pelican's Atom (and Jekyll's, Hugo's, WordPress's "full text"): a short article whole in <content>,
    its first line in <summary>. Its page is not fetched (here it would be a 404)."""
    out = tmp_path / "out"
    words = " ".join(Post(1).paragraphs_text())[:300]
    entry = (
        f"<entry><title>Premier café</title><link href='{site.url('/cafe.html')}' rel='alternate'/>"
        "<published>2017-09-22T13:00:00+02:00</published><author><name>Thomas</name></author>"
        "<id>tag:None,2017-09-22:cafe.html</id>"
        f"<summary type='html'>{html.escape('<p>The first coffee!</p>')}</summary>"
        f"<content type='html'>{html.escape(f'<p>{words}.</p>')}</content></entry>"
    )
    body = f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Site</title>{entry}</feed>'
    feed = site.set("/all.atom.xml", ("application/atom+xml", body.encode()))
    follow(out, feed)
    code, _, stderr = update(out)
    assert code == 0, stderr
    assert site.requests["/cafe.html"] == 0
    (episode,) = episodes(out)
    assert (episode["title"], episode["link"]) == ("Premier café", site.url("/cafe.html"))


def test_a_podcast_episode_linking_to_its_audio_is_one_clear_line_and_is_not_downloaded(
    site: Site, tmp_path: Path
) -> None:
    """A podcast feed (Podcastblaster's): each item's link is its MP3, the description a line of notes."""
    out = tmp_path / "out"
    mp3 = site.set("/episode1.mp3", ("audio/mpeg", b"\xff\xfb" * 1000))
    podcast = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>Tanner\'s Podcast</title>'
        f"<link>{site.base}/</link><description>podcast</description><item><title>Episode 1</title>"
        f"<link>{mp3}</link><description>Sample episode description</description>"
        "<pubDate>Sat, 05 May 2018 23:34:57 GMT</pubDate><itunes:duration>00:00:00</itunes:duration>"
        f'<enclosure url="{mp3}" length="2000" type="audio/mpeg" /><guid>{mp3}</guid></item></channel></rss>'
    )
    feed = site.set("/podcast.xml", ("application/rss+xml", podcast.encode()))
    blog = site.blog("/blog.xml", [Post(1)])
    follow(out, feed, blog)
    code, _, stderr = update(out)
    assert code != 0
    errors = [line for line in stderr.splitlines() if line.startswith("narrator: error:")]
    said = "is a recording (audio/mpeg), not an article: the item links to its audio and the feed holds no article text"
    assert errors == [f"narrator: error: {mp3}: {said} to read"]
    assert site.requests["/episode1.mp3"] == 0
    assert [e["title"] for e in episodes(out)] == [Post(1).headline]
    assert "Traceback" not in stderr


def test_a_link_that_answers_with_audio_is_refused_without_reading_it(site: Site) -> None:
    from narrator.errors import InputError
    from narrator.readers.url import fetch

    url = site.set("/listen", ("audio/mpeg", b"\0" * (21 * 2**20)))  # past the 20 MB a page may be
    with pytest.raises(InputError, match=r"is audio/mpeg, not a web page$"):
        fetch(url)


# --- follow, update, sources -------------------------------------------------------------


def test_first_update_narrates_the_newest_max_with_the_items_link_date_and_author(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    feed = site.blog("/feed.xml", [Post(n) for n in range(1, 6)])
    follow(out, feed, "--max", "2")
    code, stdout, stderr = update(out)
    assert code == 0, stderr
    assert len(stdout.splitlines()) == 2
    found = episodes(out)
    assert [e["title"] for e in found] == [Post(5).headline, Post(4).headline]
    assert found[0]["link"] == site.url("/posts/5.html")
    assert found[0]["author"] == "Ana Lima"
    assert found[0]["published_at"] == Post(5).when.isoformat()
    assert site.requests["/posts/5.html"] == 0  # the feed holds the whole article: no page fetched
    (source,) = sources(out)
    assert (source["narrated"], source["skipped"], source["failed"], source["error"]) == (2, 3, 0, "")
    assert source["title"] == "The Blog"
    # Podcast apps see the item's link, date and author.
    parsed = feedparser.parse((out / "feed.xml").read_bytes())
    entry = parsed.entries[0]
    assert entry.link == site.url("/posts/5.html")
    assert entry.published == "Fri, 06 Mar 2026 08:00:00 +0000"
    assert entry.author == "Ana Lima"
    assert settled_problems(out) == []


def test_an_update_with_nothing_new_costs_one_request_per_feed_and_writes_nothing(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    feed = site.blog("/feed.xml", [Post(1), Post(2)])
    follow(out, feed)
    assert update(out)[0] == 0
    feed_bytes, feed_mtime = (out / "feed.xml").read_bytes(), (out / "feed.xml").stat().st_mtime_ns
    before = site.total()
    code, stdout, stderr = update(out)
    assert code == 0, stderr
    assert stdout == ""
    assert "1 source checked (1 unchanged): nothing new; 1 request" in stderr
    assert site.total() - before == 1 and site.not_modified["/feed.xml"] == 1
    assert (out / "feed.xml").read_bytes() == feed_bytes
    assert (out / "feed.xml").stat().st_mtime_ns == feed_mtime


def test_new_edited_and_removed_items(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    posts = [Post(1), Post(2)]
    feed = site.blog("/feed.xml", posts)
    follow(out, feed)
    assert update(out)[0] == 0
    first = {e["guid"]: e for e in episodes(out)}

    # A new item: one new episode.
    posts.append(Post(3))
    site.blog("/feed.xml", posts)
    code, stdout, stderr = update(out)
    assert code == 0, stderr
    assert len(stdout.splitlines()) == 1
    assert len(episodes(out)) == 3

    # An item edited in place: the same episode (GUID, date) narrated again, as a new rendition.
    posts[0] = edited(posts[0])
    site.blog("/feed.xml", posts)
    code, stdout, stderr = update(out)
    assert code == 0, stderr
    now = {e["title"]: e for e in episodes(out)}
    assert len(now) == 3
    again = now[Post(1).headline]
    assert again["guid"] in first and again["published_at"] == first[str(again["guid"])]["published_at"]
    assert str(dict(again["files"])["audio"]["name"]).endswith(".v2.mp3")  # type: ignore[index]

    # An item whose markup changed but not its text: nothing narrated.
    site.set(
        "/feed.xml",
        ("application/rss+xml", site.routes["/feed.xml"][1].replace(b"<p>", b'<p class="x">')),  # type: ignore[index]
    )
    code, stdout, stderr = update(out)
    assert code == 0, stderr
    assert len(stdout.splitlines()) == 3 and all(line.endswith("unchanged") for line in stdout.splitlines())
    assert len(episodes(out)) == 3

    # An item gone from the feed: its episode stays (the others' markup changed back: found unchanged).
    site.blog("/feed.xml", posts[1:])
    code, stdout, stderr = update(out)
    assert code == 0, stderr
    assert all(line.endswith("unchanged") for line in stdout.splitlines())
    assert len(episodes(out)) == 3
    assert settled_problems(out) == []


def test_a_teaser_feed_is_read_from_the_linked_pages(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    posts = [Post(1, full=False), Post(2, full=False)]
    feed = site.blog("/atom.xml", posts, kind="atom")
    follow(out, feed)
    code, _, stderr = update(out)
    assert code == 0, stderr
    assert site.requests["/posts/1.html"] == 1 and site.requests["/posts/2.html"] == 1
    found = {e["title"]: e for e in episodes(out)}
    assert set(found) == {Post(1).headline, Post(2).headline}
    body = sqlite3.connect(out / ".narrator" / "library.sqlite").execute("SELECT body FROM episodes").fetchall()
    assert all(Post(1).paragraphs_text()[-1] in text or Post(2).paragraphs_text()[-1] in text for (text,) in body)
    assert not any("© 2026" in text for (text,) in body)  # the page's chrome is not read


def test_full_page_always_reads_the_linked_page(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    feed = site.blog("/feed.xml", [Post(1)])
    code, _, stderr = cli("follow", feed, "-o", str(out), "--engine", "tone", "--full-page")
    assert code == 0, stderr
    assert update(out)[0] == 0
    assert site.requests["/posts/1.html"] == 1


def test_a_failing_source_is_one_line_and_the_others_are_narrated(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    good = site.blog("/good.xml", [Post(1)])
    names = ("malformed", "missing", "huge", "slow", "no-article")
    feeds = {name: site.blog(f"/{name}.xml", [Post(10 + i)]) for i, name in enumerate(names)}
    follow(out, good, *feeds.values())
    # Now they break, each its own way.
    site.set("/malformed.xml", ("application/rss+xml", b"<rss><channel><item><title>cut off"))
    del site.routes["/missing.xml"]
    site.set("/huge.xml", ("application/rss+xml", b"<rss>" + b" " * (9 * 2**20) + b"</rss>"))
    site.slow("/slow.xml")
    teaser = Post(14, full=False)
    site.blog("/no-article.xml", [teaser])
    site.set(f"/posts/{teaser.n}.html", ("text/html", b"<html><body><nav><a href='/'>Home</a></nav></body></html>"))

    code, _, stderr = update(out, "--timeout", "2")
    assert code != 0
    errors = [line for line in stderr.splitlines() if line.startswith("narrator: error:")]
    assert len(errors) == 5, stderr
    assert any(feeds["malformed"] in e and "not an RSS or Atom feed" in e for e in errors)
    assert any(feeds["missing"] in e and "HTTP 404" in e for e in errors)
    assert any(feeds["huge"] in e and "larger than 8 MB" in e for e in errors)
    assert any(feeds["slow"] in e and "did not answer within 2 s" in e for e in errors)
    assert any(site.url(f"/posts/{teaser.n}.html") in e and "no article" in e for e in errors)
    assert "Traceback" not in stderr
    assert [e["title"] for e in episodes(out)] == [Post(1).headline]  # the good one, all the same
    assert update(out, "--timeout", "2")[0] != 0
    listed = {s["url"]: s for s in sources(out)}
    assert listed[good]["failures"] == 0 and listed[good]["error"] == ""
    for name in ("malformed", "missing", "huge", "slow"):
        assert listed[feeds[name]]["failures"] == 2 and listed[feeds[name]]["error"]
    code, table, _ = cli("sources", "-o", str(out))
    assert "last error (2 checks in a row)" in table


def test_opml_import_follows_each_feed(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    one = site.blog("/one.xml", [Post(1)], title="One")
    two = site.blog("/two.xml", [Post(2)], kind="atom", title="Two")
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>Feeds</title></head><body>'
        f'<outline text="One" type="rss" xmlUrl="{one}"/>'
        f'<outline text="News"><outline text="Two" type="rss" xmlUrl="{two}"/></outline>'
        "</body></opml>",
        encoding="utf-8",
    )
    assert [o.url for o in read_opml(opml)] == [one, two]
    follow(out, str(opml))
    assert [(s["url"], s["title"], s["kind"]) for s in sources(out)] == [(one, "One", "feed"), (two, "Two", "feed")]
    assert update(out)[0] == 0
    assert {e["title"] for e in episodes(out)} == {Post(1).headline, Post(2).headline}


def test_a_dead_feed_in_an_opml_file_is_one_line_and_the_others_are_followed(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    one = site.blog("/one.xml", [Post(1)], title="One")
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(
        f'<opml version="1.0"><body><outline text="One" xmlUrl="{one}"/>'
        f'<outline text="Gone" xmlUrl="{site.url("/gone.xml")}"/></body></opml>',
        encoding="utf-8",
    )
    code, _, stderr = cli("follow", str(opml), "-o", str(out), "--engine", "tone")
    assert code == 3
    errors = [line for line in stderr.splitlines() if line.startswith("narrator: error:")]
    assert errors == [f"narrator: error: {site.url('/gone.xml')}: the server answered HTTP 404 Not Found"]
    assert [s["url"] for s in sources(out)] == [one]


def test_an_opml_file_declaring_entities_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.opml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<opml version="2.0"><body><outline text="&b;" xmlUrl="http://b.example/f"/></body></opml>',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, _, stderr = cli("follow", str(bomb), "-o", str(out))
    assert code == 3
    assert stderr.strip().startswith(f"narrator: error: {bomb}: is refused")
    assert not out.exists()


def test_a_list_of_addresses(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for n in (1, 2, 3):
        site.set(f"/posts/{n}.html", ("text/html; charset=utf-8", Post(n).page()))
    reading = tmp_path / "reading-list.txt"
    reading.write_text(f"# saved links\n{site.url('/posts/1.html')}\n\n{site.url('/posts/2.html')}\n", encoding="utf-8")
    follow(out, str(reading))
    code, stdout, stderr = update(out)
    assert code == 0, stderr
    assert len(stdout.splitlines()) == 2
    with reading.open("a", encoding="utf-8") as lines:
        lines.write(site.url("/posts/3.html") + "\n")
    code, stdout, stderr = update(out)
    assert code == 0, stderr
    assert len(stdout.splitlines()) == 1
    found = episodes(out)
    assert found[0]["title"] == Post(3).headline
    assert found[0]["source"] == site.url("/posts/3.html")
    assert update(out)[1] == ""  # nothing new: nothing fetched but the list itself
    assert site.requests["/posts/1.html"] == 1


def test_bad_sources_are_one_line_each_and_change_nothing(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    page = site.set("/posts/1.html", ("text/html", Post(1).page()))
    listing = tmp_path / "list.txt"
    listing.write_text("https://a.example/1\nnot an address\n", encoding="utf-8")
    code, _, stderr = cli("follow", page, str(listing), str(tmp_path / "missing.txt"), "-o", str(out))
    assert code == 3
    lines = stderr.strip().splitlines()
    assert len(lines) == 3, stderr
    assert any(page in line and "not an RSS or Atom feed" in line for line in lines)
    assert any(str(listing) in line and "line 2 is not a web address" in line for line in lines)
    assert any("missing.txt" in line for line in lines)
    assert not out.exists()
    code, _, stderr = cli("update", "-o", str(out))
    assert code == 1 and "follows no sources yet" in stderr and "narrator follow" in stderr  # no library


def test_unfollow_keeps_the_episodes(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    feed = site.blog("/feed.xml", [Post(1)])
    follow(out, feed)
    assert update(out)[0] == 0
    code, _, stderr = cli("unfollow", feed, "-o", str(out))
    assert code == 0, stderr
    assert sources(out) == [] and len(episodes(out)) == 1
    code, _, stderr = cli("unfollow", feed, "-o", str(out))
    assert code == 1 and "narrator sources" in stderr


def test_dry_run_lists_what_would_be_narrated_and_writes_nothing(site: Site, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    feed = site.blog("/feed.xml", [Post(1), Post(2)])
    follow(out, feed)

    def state() -> tuple[object, list[str]]:
        files = {name: data for name, data in snapshot(out).items() if not name.startswith(".narrator")}
        db = sqlite3.connect(out / ".narrator" / "library.sqlite")
        try:
            return files, list(db.iterdump())
        finally:
            db.close()

    before = state()
    code, stdout, stderr = update(out, "--dry-run")
    assert code == 0, stderr
    assert [line.split()[0] for line in stdout.splitlines()] == ["new", "new"]
    assert Post(2).headline in stdout and site.url("/posts/2.html") in stdout
    assert state() == before


# --- two at once, and kills -----------------------------------------------------------------


def test_two_updates_at_once_narrate_each_item_once(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    feeds = [site.blog(f"/feed{i}.xml", [Post(10 * i + n) for n in range(3)]) for i in range(3)]
    follow(out, *feeds)
    args = [sys.executable, "-m", "narrator", "update", "-o", str(out), "--no-cache", "--jobs", "1", "-q"]
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
    found = episodes(out)
    wanted = sorted(Post(10 * i + n).headline for i in range(3) for n in range(3))
    assert sorted(str(e["title"]) for e in found) == wanted
    assert settled_problems(out) == []
    code, stdout, _ = update(out)  # and nothing is left for a third
    assert code == 0 and stdout == ""
    assert len(episodes(out)) == 9


@pytest.mark.parametrize("step", ["move-audio", "record", "feed", "settle"])
def test_a_killed_update_is_finished_by_the_next(site: Site, tmp_path: Path, step: str) -> None:
    out = tmp_path / "out"
    feeds = [site.blog(f"/feed{i}.xml", [Post(10 * i + n) for n in range(2)]) for i in range(2)]
    follow(out, *feeds)
    killed = subprocess.run(
        [sys.executable, str(FAULTS), step, "kill", "update", "-o", str(out), "--no-cache", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    assert left_running(out) == [], "no engine outlived the killed update"
    assert published_problems(out) == []
    if step == "feed":  # an update publishes once: the feed is first written when every episode is recorded
        assert len(library_episodes(out)) == 4
    done = narrator("update", "-o", str(out), "--no-cache", "-q")
    assert done.returncode == 0, done.stderr
    assert settled_problems(out) == []
    titles = sorted(str(e["title"]) for e in episodes(out))
    assert titles == sorted(Post(10 * i + n).headline for i in range(2) for n in range(2))
    assert len({item["guid"] for item in feed_items(out)}) == 4
    assert all(s["narrated"] == 2 for s in sources(out))


# --- end to end, with the real engine -----------------------------------------------------


def test_three_feeds_updated_twice_give_each_article_once(site: Site, tmp_path: Path) -> None:
    """The work order's "done when": three local feeds, two updates, each new article exactly once."""
    out = tmp_path / "out"
    short = {"paragraphs": 4}
    blog = [Post(1, **short), Post(2, **short)]  # type: ignore[arg-type]
    news = [Post(11, full=False, **short)]  # type: ignore[arg-type]
    notes = [Post(21, **short)]  # type: ignore[arg-type]
    feeds = [
        site.blog("/blog.xml", blog),
        site.blog("/news.atom", news, kind="atom"),
        site.blog("/notes.xml", notes, title="Notes"),
    ]
    code, _, stderr = cli("follow", *feeds, "-o", str(out))  # the default engine: pyttsx3 over espeak-ng
    assert code == 0, stderr
    code, stdout, stderr = cli("update", "-o", str(out))
    assert code == 0, stderr
    assert len(stdout.splitlines()) == 4
    blog.append(Post(3, **short))  # type: ignore[arg-type]
    site.blog("/blog.xml", blog)
    code, stdout, stderr = cli("update", "-o", str(out))
    assert code == 0, stderr
    assert len(stdout.splitlines()) == 1
    found = episodes(out)
    assert sorted(str(e["title"]) for e in found) == sorted(p.headline for p in (*blog, *news, *notes))
    assert all(int(str(e["duration_ms"])) > 20_000 for e in found)
    parsed = feedparser.parse((out / "feed.xml").read_bytes())
    assert len(parsed.entries) == 5 and len({entry.id for entry in parsed.entries}) == 5
    assert {entry.link for entry in parsed.entries} == {site.url(f"/posts/{p.n}.html") for p in (*blog, *news, *notes)}
    assert settled_problems(out) == []


def test_an_item_without_guid_is_known_by_its_link(site: Site, tmp_path: Path) -> None:
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://b.example/</link>'
        b"<description>d</description><item><title>One</title><link>http://b.example/1</link>"
        b"<description>A teaser.</description></item></channel></rss>"
    )
    (item,) = parse_feed(data, "http://b.example/feed").items
    assert item.guid == "http://b.example/1"
    assert replace(item, link="").guid == item.guid


@pytest.fixture(autouse=True)
def _quiet_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The feeds are on 127.0.0.1: never through a proxy a developer's environment may name."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    os.environ.setdefault("NARRATOR_ENGINE_TIMEOUT", "60")


def test_update_narrates_the_new_articles_of_every_source_on_a_cluster(site: Site, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    feeds = [site.blog(f"/feed{i}.xml", [Post(10 * i + n) for n in range(2)]) for i in range(2)]
    follow(out, *feeds)
    code, stdout, stderr = update(out, "--cluster", "local:1")
    assert code == 0, stderr
    assert len(stdout.splitlines()) == 4
    assert sorted(str(e["title"]) for e in episodes(out)) == sorted(
        Post(10 * i + n).headline for i in range(2) for n in range(2)
    )
    assert all(s["narrated"] == 2 for s in sources(out))
    assert settled_problems(out) == []
