"""feed.xml from the library, read back by feedparser, podcastparser and lxml.

The episode is the seed narrated by the real CLI (conftest's ``seed_episode``),
recorded in a library the way ``narrate`` will record it. Golden feeds in
tests/data/feed pin the exact output for hand-written libraries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import io
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from narrator.cover import publish_cover
from narrator.errors import OutputError
from narrator.feed import (
    ITUNES_NS,
    PODCAST_NS,
    PSC_NS,
    describe,
    format_timestamp,
    podcast_guid,
    render_feed,
)
from narrator.folder import FEED_NAME, Rendered, rendering_key
from narrator.library import (
    Action,
    Library,
    article_body,
    article_summary,
    open_library,
    read_chapters_json,
)
from narrator.markup import clean_text, one_line
from narrator.models import Chapter, EpisodeFiles, EpisodeRecord, StoredFile
from narrator.pipeline import feed_guid, render
from narrator.podcast import APPLE_CATEGORIES, PodcastSettings, validate
from narrator.readers.text import read_article

TESTS = Path(__file__).parent
DATA = TESTS / "data" / "feed"
SEED = TESTS.parent / "seeds" / "north-korea-troops-morale.txt"
BASE = "https://podcasts.example.com/narrator/"
NS = {"itunes": ITUNES_NS, "podcast": PODCAST_NS, "psc": PSC_NS, "atom": "http://www.w3.org/2005/Atom"}
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
SHOW = validate(
    PodcastSettings(
        title="Narrated World News",
        description="Long reads from around the world, narrated offline.",
        author="Narrator Desk",
        owner_name="Ada Owner",
        owner_email="owner@example.com",
        language="en",
        category="News",
        subcategory="Politics",
        link="https://example.com/",
        base_url=BASE,
    )
)
#: Text that breaks naive XML: markup characters, a CDATA end, quotes, emoji, accents, control characters.
TRICKY = "Tom & Jerry <b>bold</b> \"quoted\" 'single' ]]> 🎧 Ça va, Zoë? \x01\x1b[0m\x7f end"


def files_of(out: Path, stem: str) -> EpisodeFiles:
    return EpisodeFiles(out / f"{stem}.mp3", out / f"{stem}.vtt", out / f"{stem}.srt", out / f"{stem}.chapters.json")


def record_seed(lib: Library, stem: str, key: str, **overrides: Any) -> EpisodeRecord:
    """Record the seed's files in ``lib`` as `narrate` does: claim, then record what is on disk."""
    article = read_article(SEED)
    claim = lib.claim(article.source, slug=stem, text_hash=article.text_hash, build_key=key)
    if claim.action is Action.REUSE:
        assert claim.existing is not None
        return claim.existing
    files = files_of(lib.output_dir, claim.files_stem)
    if not files.mp3.exists():  # a new rendition of the episode: the files on disk under its names
        now = claim.existing.audio.name.removesuffix(".mp3") if claim.existing else stem
        for (_, source), (_, target) in zip(files_of(lib.output_dir, now).paths(), files.paths(), strict=True):
            shutil.copyfile(source, target)
    duration_ms = read_chapters_json(files.chapters_json, 0)[-1].end_ms  # chapters tile the audio
    fields: dict[str, Any] = {
        "title": article.title,
        "author": article.byline,
        "language": article.language,
        "duration_ms": duration_ms,
        "body": article_body(article),
        "description": article_summary(article),
    }
    return lib.record(claim, files, **{**fields, **overrides})


@pytest.fixture(scope="session")
def seed_library(seed_episode: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The narrated seed's folder with the episode recorded and the cover published: copied by each test."""
    out = tmp_path_factory.mktemp("feed-template") / "out"
    shutil.copytree(seed_episode.output_dir, out, ignore=shutil.ignore_patterns(".narrator"))  # a library of its own
    with open_library(out) as lib:
        record_seed(lib, seed_episode.stem, "seed-key")
    publish_cover(out, image=SHOW.cover, title=SHOW.title)
    return out


@dataclass
class Published:
    out: Path
    library: Library
    record: EpisodeRecord

    @property
    def feed_path(self) -> Path:
        return self.out / FEED_NAME

    def write(self, show: PodcastSettings = SHOW) -> bytes:
        render(self.out, show, self.library)
        return self.feed_path.read_bytes()


@pytest.fixture
def published(seed_library: Path, tmp_path: Path) -> Iterator[Published]:
    out = tmp_path / "out"
    shutil.copytree(seed_library, out)
    with open_library(out) as lib:
        (record,) = lib.episodes()
        result = Published(out, lib, record)
        result.write()
        yield result


@pytest.fixture
def pp_knows_podcastindex(monkeypatch: pytest.MonkeyPatch) -> None:
    """podcastparser 0.6.11 knows the Podcasting 2.0 namespace only by its old GitHub URLs.

    The namespace's docs/1.0.md says readers must treat https://podcastindex.org/namespace/1.0
    and the GitHub URL as the same; teach podcastparser the canonical one for these checks.
    """
    monkeypatch.setitem(podcastparser.Namespace.NAMESPACES, PODCAST_NS, "podcast")


def parse_pp(data: bytes, url: str = BASE + FEED_NAME) -> dict[str, Any]:
    return podcastparser.parse(url, io.BytesIO(data))  # type: ignore[no-any-return]


def xml(data: bytes) -> Any:
    return etree.fromstring(data)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("p", "li", "ul"):
            self.parts.append("\n")


def html_text(fragment: str) -> list[str]:
    """The lines of text an HTML fragment shows (tags dropped, entities decoded)."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return [line.strip() for line in "".join(parser.parts).split("\n") if line.strip()]


# -- the channel -------------------------------------------------------------------------------


def test_feedparser_reads_the_channel(published: Published) -> None:
    parsed = feedparser.parse(published.feed_path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    feed = parsed.feed
    assert feed.title == SHOW.title
    assert feed.link == "https://example.com/"
    assert feed.subtitle == SHOW.description
    assert feed.language == "en"
    assert {"rel": "self", "href": BASE + "feed.xml", "type": "application/rss+xml"} in feed.links
    # feedparser lets itunes:owner's name overwrite itunes:author; podcastparser and lxml read both apart.
    assert feed.publisher_detail == {"name": "Ada Owner", "email": "owner@example.com"}
    assert feed.image.href == BASE + "cover.jpg"
    assert [t.term for t in feed.tags] == ["News", "Politics"]
    assert feed.itunes_type == "episodic"
    assert feed.podcast_guid == podcast_guid(BASE + "feed.xml")
    assert feed.updated_parsed is not None
    assert parsed.namespaces["podcast"] == PODCAST_NS
    assert parsed.namespaces["psc"] == PSC_NS


def test_podcastparser_reads_the_channel(published: Published, pp_knows_podcastindex: None) -> None:
    podcast = parse_pp(published.feed_path.read_bytes())
    assert podcast["title"] == SHOW.title
    assert podcast["link"] == "https://example.com/"
    assert podcast["description"] == SHOW.description
    assert podcast["cover_url"] == BASE + "cover.jpg"
    assert podcast["language"] == "en"
    assert podcast["itunes_author"] == "Narrator Desk"
    assert podcast["itunes_owner"] == {"name": "Ada Owner", "email": "owner@example.com"}
    assert podcast["itunes_categories"] == [["News", "Politics"]]
    assert podcast["type"] == "episodic"
    assert podcast["explicit"] is False
    assert podcast["import_prohibited"] is False  # podcast:locked


def test_the_channel_carries_what_feedgen_lacks(published: Published) -> None:
    channel = xml(published.feed_path.read_bytes()).find("channel")
    assert channel.findtext("itunes:author", namespaces=NS) == "Narrator Desk"
    assert channel.findtext("itunes:explicit", namespaces=NS) == "false"  # Apple: "true"/"false", not yes/no
    assert channel.findtext("podcast:guid", namespaces=NS) == str(
        uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "podcasts.example.com/narrator/feed.xml")
    )
    locked = channel.find("podcast:locked", namespaces=NS)
    assert (locked.text, locked.get("owner")) == ("no", "owner@example.com")
    # feedgen writes the last link() as RSS <link>: the website, with the self link beside it.
    assert channel.findtext("link") == "https://example.com/"
    assert channel.find("atom:link", namespaces=NS).get("href") == BASE + "feed.xml"
    assert email.utils.parsedate_to_datetime(channel.findtext("lastBuildDate")).tzinfo is not None


def test_an_explicit_show_says_true(published: Published, pp_knows_podcastindex: None) -> None:
    data = published.write(dataclasses.replace(SHOW, explicit=True, locked=True))
    channel = xml(data).find("channel")
    assert channel.findtext("itunes:explicit", namespaces=NS) == "true"
    assert channel.findtext("podcast:locked", namespaces=NS) == "yes"
    podcast = parse_pp(data)
    assert podcast["explicit"] is True and podcast["import_prohibited"] is True


# -- the episode ---------------------------------------------------------------------------------


def test_feedparser_reads_the_episode(published: Published) -> None:
    record, out = published.record, published.out
    (entry,) = feedparser.parse(published.feed_path.read_bytes()).entries
    assert entry.title == record.title
    assert entry.id == record.guid and entry.guidislink is False
    assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == record.published_at
    (enclosure,) = entry.enclosures
    mp3 = out / f"{record.stem}.mp3"
    assert enclosure.href == BASE + mp3.name
    assert int(enclosure.length) == mp3.stat().st_size == record.audio.size_bytes
    assert enclosure.type == "audio/mpeg"
    assert entry.itunes_duration == str(round(record.duration_ms / 1000))
    assert entry.itunes_episodetype == "full"
    assert entry.author == record.author == "Jang Seiul"
    assert "content" not in entry  # the full text is the transcript, linked: the feed stays lean
    assert entry.summary.startswith("<p>" + record.description[:40])
    assert entry.podcast_transcript["url"] in (BASE + mp3.name.replace(".mp3", ext) for ext in (".vtt", ".srt"))
    assert entry.podcast_chapters == {
        "url": BASE + mp3.name.replace(".mp3", ".chapters.json"),
        "type": "application/json+chapters",
    }
    assert len(entry.psc_chapters.chapters) == record.chapter_count


def test_podcastparser_reads_the_episode(published: Published, pp_knows_podcastindex: None) -> None:
    record, out = published.record, published.out
    (episode,) = parse_pp(published.feed_path.read_bytes())["episodes"]
    assert episode["guid"] == record.guid
    assert episode["title"] == record.title
    assert episode["published"] == int(record.published_at.timestamp())
    assert episode["total_time"] == round(record.duration_ms / 1000)
    assert episode["type"] == "full"
    assert episode["itunes_author"] == "Jang Seiul"
    assert episode["enclosures"] == [
        {
            "url": BASE + record.audio.name,
            "file_size": (out / record.audio.name).stat().st_size,
            "mime_type": "audio/mpeg",
        }
    ]
    assert [(c["start"], c["title"]) for c in episode["chapters"]] == [
        (c.start_ms // 1000, c.title) for c in record.chapters
    ]
    assert episode["chapters_json_url"] == BASE + f"{record.stem}.chapters.json"
    assert episode["transcript_url"] in (BASE + f"{record.stem}.vtt", BASE + f"{record.stem}.srt")


def test_both_transcripts_and_the_chapters_file_are_linked(published: Published) -> None:
    record, out = published.record, published.out
    item = xml(published.feed_path.read_bytes()).find("channel/item")
    transcripts = [(t.get("url"), t.get("type"), t.get("rel")) for t in item.findall("podcast:transcript", NS)]
    assert transcripts == [
        (BASE + f"{record.stem}.vtt", "text/vtt", "captions"),
        (BASE + f"{record.stem}.srt", "application/x-subrip", "captions"),
    ]
    chapters = item.find("podcast:chapters", NS)
    assert chapters.get("type") == "application/json+chapters"
    for url in [t[0] for t in transcripts] + [chapters.get("url")]:
        assert (out / url.removeprefix(BASE)).is_file()
    assert item.find("guid").get("isPermaLink") == "false"
    assert item.find("itunes:image", NS) is None  # the episode has no cover of its own


def test_chapters_agree_in_every_form(published: Published) -> None:
    """The MP3's CHAP frames, the JSON file, the library, psc:chapters and the description's timestamps."""
    from narrator.tagging import read_chapters

    record, out = published.record, published.out
    in_mp3 = read_chapters(out / record.audio.name)
    in_json = read_chapters_json(out / f"{record.stem}.chapters.json", record.duration_ms)
    assert in_mp3 == in_json == record.chapters
    assert len(record.chapters) > 3 and record.chapters[0].start_ms == 0
    item = xml(published.feed_path.read_bytes()).find("channel/item")
    psc = item.find("psc:chapters", NS)
    assert psc.get("version") == "1.2"
    in_psc = [(c.get("start"), c.get("title")) for c in psc.findall("psc:chapter", NS)]
    assert in_psc == [(_npt(c.start_ms), c.title) for c in record.chapters]
    lines = html_text(item.findtext("description"))
    stamps = [line for line in lines if re.match(r"^\d\d:\d\d:\d\d ", line)]
    assert stamps == [f"{format_timestamp(c.start_ms)} {c.title}" for c in record.chapters]
    assert stamps[0].startswith("00:00:00 ")
    assert lines[0] == record.description


def _npt(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def test_every_url_is_absolute_ascii_and_under_the_base_url(published: Published) -> None:
    urls = all_urls(published.feed_path.read_bytes())
    assert len(urls) >= 10
    for url in urls:
        assert url.isascii() and " " not in url, url
        assert url.startswith((BASE, "https://example.com/", "http://www.rssboard.org/")), url


def test_changing_the_base_url_rewrites_every_url(published: Published) -> None:
    moved = dataclasses.replace(SHOW, base_url="https://cdn.example.org/shows/narrated/", link="")
    data = published.write(moved)
    urls = [u for u in all_urls(data) if "rssboard.org" not in u]
    assert urls and all(u.startswith("https://cdn.example.org/shows/narrated/") for u in urls), urls
    assert BASE.encode() not in data


def test_the_podcast_guid_stays_when_the_feed_moves(published: Published) -> None:
    first = podcast_guid(BASE + "feed.xml")
    moved = published.write(dataclasses.replace(SHOW, base_url="https://elsewhere.example.net/"))
    assert xml(moved).findtext("channel/podcast:guid", namespaces=NS) == first
    assert published.library.get_meta("podcast_guid") == first


def test_an_owner_without_a_name_is_named_after_the_show(published: Published) -> None:
    data = published.write(dataclasses.replace(SHOW, author="", owner_name=""))
    channel = xml(data).find("channel")
    assert channel.findtext("itunes:owner/itunes:name", namespaces=NS) == SHOW.title
    assert channel.find("itunes:author", NS) is None


def test_a_local_feed_url_is_not_kept_as_the_podcast_guid(tmp_path: Path) -> None:
    with open_library(tmp_path) as lib:
        local = PodcastSettings()
        assert feed_guid(local, lib) == podcast_guid("http://127.0.0.1:8000/feed.xml")
        assert lib.get_meta("podcast_guid") is None
        public = dataclasses.replace(local, base_url="https://example.com/")
        assert feed_guid(public, lib) == podcast_guid("https://example.com/feed.xml")
        assert lib.get_meta("podcast_guid") == podcast_guid("https://example.com/feed.xml")
        fixed = dataclasses.replace(public, guid="917393e3-1b1e-5cef-ace4-edaa54e1f810")
        assert feed_guid(fixed, lib) == "917393e3-1b1e-5cef-ace4-edaa54e1f810"


def test_the_same_library_gives_the_same_feed(published: Published) -> None:
    first = published.feed_path.read_bytes()
    second = published.write()

    def without_build_date(data: bytes) -> bytes:
        return re.sub(rb"<lastBuildDate>[^<]*</lastBuildDate>", b"", data)

    assert without_build_date(first) == without_build_date(second)
    episodes = published.library.episodes()
    one = render_feed(SHOW, episodes, cover_name="cover.jpg", guid="g", build_date=datetime(2020, 1, 1, tzinfo=UTC))
    two = render_feed(SHOW, episodes, cover_name="cover.jpg", guid="g", build_date=datetime(2020, 1, 1, tzinfo=UTC))
    assert one == two


def test_re_narrating_keeps_guid_and_publication_date(
    published: Published, tmp_path: Path, pp_knows_podcastindex: None
) -> None:
    """The article narrated again at another bitrate: new audio, the same item for podcast apps."""
    from narrator.cli import main

    before = parse_pp(published.feed_path.read_bytes())["episodes"][0]
    old_size = published.record.audio.size_bytes
    result = CliRunner().invoke(
        main,
        ["narrate", str(SEED), "-o", str(published.out), "--bitrate", "32", "-q", "--cache-dir", str(tmp_path / "c")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    record = record_seed(published.library, published.record.stem, "seed-key-32kbps")
    data = published.write()
    (after,) = parse_pp(data)["episodes"]
    new_size = (published.out / record.audio.name).stat().st_size
    assert new_size != old_size
    assert (after["guid"], after["published"]) == (before["guid"], before["published"])
    assert after["enclosures"][0]["file_size"] == new_size == record.audio.size_bytes
    assert record.id == published.record.id


def test_as_new_adds_a_second_item(published: Published) -> None:
    out, old = published.out, published.record
    article = read_article(SEED)
    claim = published.library.claim(
        article.source, slug=old.stem, text_hash=article.text_hash, build_key="seed-key", as_new=True
    )
    assert claim.action is Action.NEW and claim.stem == f"{old.stem}-2"
    for name in ("mp3", "vtt", "srt", "chapters.json"):  # what narrating under the new stem would write
        shutil.copyfile(out / f"{old.stem}.{name}", out / f"{claim.stem}.{name}")
    published.library.record(
        claim, files_of(out, claim.stem), title="Again", author="", language="en", duration_ms=1000, body="x"
    )
    items = xml(published.write()).findall("channel/item")
    assert [i.findtext("title") for i in items] == ["Again", old.title]
    assert len({i.findtext("guid") for i in items}) == 2
    assert len({i.find("enclosure").get("url") for i in items}) == 2


def test_a_removed_episode_leaves_the_feed(published: Published) -> None:
    removed = published.library.remove(published.record.stem)
    data = published.write()
    published.library.delete_files(removed)
    assert xml(data).findall("channel/item") == []
    assert not (published.out / removed.audio.name).exists()
    assert w3c_problems(data) == []


def test_an_episode_cover_becomes_its_itunes_image(published: Published) -> None:
    out, old = published.out, published.record
    article = read_article(SEED)
    claim = published.library.claim(article.source, slug=old.stem, text_hash=article.text_hash, build_key="with-art")
    shutil.copyfile(out / "cover.jpg", out / f"{old.stem}.jpg")
    for (_, source), (_, target) in zip(
        files_of(out, old.stem).paths(), files_of(out, claim.files_stem).paths(), strict=True
    ):
        shutil.copyfile(source, target)  # the new rendition's files
    published.library.record(
        claim,
        files_of(out, claim.files_stem),
        title="t",
        author="",
        language="en",
        duration_ms=1,
        body="",
        image=out / f"{old.stem}.jpg",
    )
    item = xml(published.write()).find("channel/item")
    assert item.find("itunes:image", NS).get("href") == BASE + f"{old.stem}.jpg"


def test_a_users_png_cover_is_the_shows_image(published: Published, tmp_path: Path) -> None:
    from PIL import Image

    art = tmp_path / "art.png"
    Image.new("RGB", (1400, 1400), "teal").save(art)
    data = published.write(dataclasses.replace(SHOW, cover=art))
    channel = xml(data).find("channel")
    assert channel.find("itunes:image", NS).get("href") == BASE + "cover.png"
    assert channel.findtext("image/url") == BASE + "cover.png"
    assert (published.out / "cover.png").read_bytes() == art.read_bytes()


# -- any text --------------------------------------------------------------------------------------------


def test_tricky_text_round_trips_through_every_reader(published: Published, pp_knows_podcastindex: None) -> None:
    out, old = published.out, published.record
    chapters = tuple(dataclasses.replace(c, title=f"{TRICKY} {i}") for i, c in enumerate(old.chapters))
    document = json.loads((out / f"{old.stem}.chapters.json").read_text(encoding="utf-8"))
    for item, chapter in zip(document["chapters"], chapters, strict=True):
        item["title"] = chapter.title
    (out / f"{old.stem}.chapters.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    body = f"{TRICKY}\n\nSecond paragraph & more {TRICKY}"
    record_seed(published.library, old.stem, "tricky", title=TRICKY, author=TRICKY, description=TRICKY, body=body)
    show = dataclasses.replace(SHOW, title=TRICKY, description=TRICKY, author=TRICKY, owner_name=TRICKY)
    data = published.write(show)
    want = one_line(TRICKY)
    assert want == "Tom & Jerry <b>bold</b> \"quoted\" 'single' ]]> 🎧 Ça va, Zoë? [0m end"
    assert w3c_problems(data, show) == []

    root = xml(data)  # lxml: exactly the text
    channel, item = root.find("channel"), root.find("channel/item")
    assert channel.findtext("title") == channel.findtext("description") == want
    assert channel.findtext("itunes:owner/itunes:name", namespaces=NS) == want
    assert item.findtext("title") == item.findtext("itunes:author", namespaces=NS) == want
    assert [c.get("title") for c in item.findall("psc:chapters/psc:chapter", NS)] == [
        one_line(c.title) for c in chapters
    ]
    assert item.find(CONTENT) is None
    assert html_text(item.findtext("description"))[0] == want

    parsed = feedparser.parse(data)  # feedparser
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == parsed.feed.subtitle == parsed.feed.author == want
    (entry,) = parsed.entries
    assert entry.title == entry.author == want
    assert [c.title for c in entry.psc_chapters.chapters] == [one_line(c.title) for c in chapters]
    assert html_text(entry.summary)[0] == want

    podcast = parse_pp(data)  # podcastparser
    assert podcast["title"] == podcast["description"] == podcast["itunes_author"] == want
    (episode,) = podcast["episodes"]
    assert episode["title"] == episode["itunes_author"] == want
    assert [c["title"] for c in episode["chapters"]] == [one_line(c.title) for c in chapters]
    assert html_text(episode["description_html"])[0] == want


def looks_double_encoded(text: str) -> bool:
    """Text feedparser "repairs": all Latin-1 and valid UTF-8 as bytes, like "Ã©" (mixin.py: iso-8859-1 fix-up)."""
    try:
        return text.encode("iso-8859-1").decode("utf-8") != text
    except UnicodeError:
        return False


def _record(title: str, description: str, chapter_title: str, body: str) -> EpisodeRecord:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    return EpisodeRecord(
        id=1, guid="guid-1", stem="ep", source="/a.txt", text_hash="h", build_key="k", title=title, author=title,
        language="en", description=description, body=body, published_at=when, updated_at=when, duration_ms=61_000,
        audio=StoredFile("ep.mp3", 1000), vtt=None, srt=None, chapters_json=StoredFile("ep.chapters.json", 10),
        image=None, chapters=(Chapter(0, 30_000, chapter_title), Chapter(30_000, 61_000, "Two")),
    )  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1), st.text(), st.text(), st.text())
def test_any_text_gives_well_formed_xml_that_reads_back(title: str, description: str, chapter: str, body: str) -> None:
    record = _record(title, description, chapter, body)
    show = dataclasses.replace(SHOW, title=one_line(title) or "x", description=clean_text(description).strip() or "x")
    data = render_feed(show, [record], cover_name="cover.jpg", guid="g", build_date=record.published_at)
    root = etree.fromstring(data)  # raises on anything not well-formed
    item = root.find("channel/item")
    assert item.findtext("title") == (one_line(title) or "ep")
    assert root.findtext("channel/description") == show.description
    assert item.find("psc:chapters/psc:chapter", NS).get("title") == one_line(chapter)
    assert item.find(CONTENT) is None  # the body is the transcript's, not the feed's
    assert len(item.findtext("description").encode("utf-8")) <= 4000
    if not looks_double_encoded(one_line(title)):
        assert feedparser.parse(data).entries[0].title == (one_line(title) or "ep")
    assert parse_pp(data)["episodes"][0]["title"] == (one_line(title) or "ep")


def test_descriptions_fit_apples_4000_bytes() -> None:
    chapters = tuple(Chapter(i * 1000, (i + 1) * 1000, f"Chapter {i} — “quoted” & long " * 3) for i in range(300))
    record = dataclasses.replace(_record("t", "Wörds & more " * 800, "c", "b"), chapters=chapters)
    text = describe(record)
    assert len(text.encode("utf-8")) <= 4000
    lines = html_text(text)
    assert lines[0].endswith("…") and len(lines[0]) > 10
    assert lines[2].startswith("00:00:00 Chapter 0") and lines[-1] == "…"
    short = dataclasses.replace(record, description="Short.", chapters=chapters[:3])
    assert html_text(describe(short)) == ["Short.", "Chapters:"] + [
        f"00:00:0{i} " + one_line(chapters[i].title) for i in range(3)
    ]


# -- writing ------------------------------------------------------------------------------------------------


def test_a_failed_write_leaves_the_old_feed(published: Published, monkeypatch: pytest.MonkeyPatch) -> None:
    before = published.feed_path.read_bytes()

    def fail(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OutputError, match="No space left"):
        published.write(dataclasses.replace(SHOW, title="Changed"))
    monkeypatch.undo()
    assert published.feed_path.read_bytes() == before
    assert not [p for p in published.out.iterdir() if p.name.startswith(".tmp-")]


# -- golden feeds ----------------------------------------------------------------------------------------------

GOLDEN_INPUTS = sorted(DATA.glob("*.json"))


def load_golden_input(path: Path) -> tuple[PodcastSettings, list[EpisodeRecord], dict[str, Any]]:
    spec = json.loads(path.read_text(encoding="utf-8"))
    show = validate(PodcastSettings(**spec["show"]))
    episodes = []
    for item in spec["episodes"]:
        files = {
            k: (StoredFile(**item[k]) if item.get(k) else None)
            for k in ("audio", "vtt", "srt", "chapters_json", "image")
        }
        episodes.append(
            EpisodeRecord(
                **{k: v for k, v in item.items() if k not in files and k != "chapters"},
                **files,
                chapters=tuple(Chapter(*c) for c in item["chapters"]),
            )
        )
        for key in ("published_at", "updated_at"):
            episodes[-1] = dataclasses.replace(episodes[-1], **{key: datetime.fromisoformat(item[key])})
    return show, episodes, spec


@pytest.mark.parametrize("path", GOLDEN_INPUTS, ids=[p.stem for p in GOLDEN_INPUTS])
def test_feeds_match_their_golden_files(path: Path) -> None:
    """NAME.json (a show and its episodes) renders exactly NAME.xml; NARRATOR_UPDATE_GOLDEN=1 rewrites them."""
    show, episodes, spec = load_golden_input(path)
    data = render_feed(
        show,
        episodes,
        cover_name=spec["cover_name"],
        guid=spec["guid"],
        build_date=datetime.fromisoformat(spec["build_date"]),
    )
    golden = path.with_suffix(".xml")
    if os.environ.get("NARRATOR_UPDATE_GOLDEN"):
        golden.write_bytes(data)
    assert data == golden.read_bytes()
    assert w3c_problems(data, show) == []


def test_there_are_golden_feeds() -> None:
    assert len(GOLDEN_INPUTS) >= 2


# -- what the W3C feed validator checks for RSS 2.0 + iTunes ---------------------------------------------------

RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} ([+-]\d{4}|GMT|UT)$"
)


def all_urls(data: bytes) -> list[str]:
    root = etree.fromstring(data)
    urls = [el.text.strip() for el in root.iter("link", "url", "docs") if el.text]
    urls += [v for el in root.iter() for a in ("href", "url") if (v := el.get(a))]
    return urls


def w3c_problems(data: bytes, show: PodcastSettings = SHOW) -> list[str]:
    """The rules the W3C Feed Validation Service applies to RSS 2.0 with iTunes tags, plus Apple's current ones.

    From the validator's docs (validator.w3.org/feed/docs): required channel elements, RFC 822
    dates, complete enclosures, full URLs, one guid per item; from Apple's podcast RSS
    requirements: itunes:category from the list, itunes:explicit true/false, itunes:image
    ending .jpg/.png, an owner e-mail, descriptions up to 4,000 bytes.
    """
    problems: list[str] = []
    root = etree.fromstring(data)
    if not data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>"):
        problems.append("missing XML declaration with UTF-8")
    if root.tag != "rss" or root.get("version") != "2.0":
        problems.append('root must be <rss version="2.0">')
    channels = root.findall("channel")
    if len(channels) != 1:
        return [*problems, "exactly one channel"]
    channel = channels[0]
    for name in ("title", "link", "description"):
        if not (channel.findtext(name) or "").strip():
            problems.append(f"channel lacks {name}")
    self_links = [a for a in channel.findall("atom:link", NS) if a.get("rel") == "self"]
    if len(self_links) != 1 or self_links[0].get("href") != show.feed_url:
        problems.append("atom:link rel=self must be the feed's own URL")
    elif self_links[0].get("type") != "application/rss+xml":
        problems.append("atom:link rel=self should say type application/rss+xml")
    for el in root.iter("pubDate", "lastBuildDate"):
        if not RFC822.match(el.text or "") or email.utils.parsedate_to_datetime(el.text) is None:
            problems.append(f"{el.tag} not RFC 822: {el.text!r}")
    if not re.match(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$", channel.findtext("language") or ""):
        problems.append("language not a language code")
    image = channel.find("image")
    same = ("title", "link")
    if image is not None and any(image.findtext(name) != channel.findtext(name) for name in same):
        problems.append("image title and link must match the channel's")
    categories = channel.findall("itunes:category", NS)
    if not categories:
        problems.append("itunes:category missing")
    for cat in categories:
        name = cat.get("text")
        if name not in APPLE_CATEGORIES:
            problems.append(f"itunes:category {name!r} not in Apple's list")
            continue
        for sub in cat.findall("itunes:category", NS):
            if sub.get("text") not in APPLE_CATEGORIES[name]:
                problems.append(f"itunes:category {sub.get('text')!r} not under {name!r}")
    if channel.findtext("itunes:explicit", namespaces=NS) not in ("true", "false"):
        problems.append("itunes:explicit must be true or false")
    image_href = channel.xpath("itunes:image/@href", namespaces=NS)
    href = str(image_href[0]) if image_href else ""
    if not href.endswith((".jpg", ".png")):
        problems.append("channel itunes:image must end in .jpg or .png")
    if show.owner_email and channel.findtext("itunes:owner/itunes:email", namespaces=NS) != show.owner_email:
        problems.append("itunes:owner lacks the e-mail")
    if channel.findtext("itunes:type", namespaces=NS) not in ("episodic", "serial"):
        problems.append("itunes:type must be episodic or serial")
    if len(channel.findtext("description", "").encode("utf-8")) > 4000:
        problems.append("channel description over 4000 bytes")
    guid = channel.findtext("podcast:guid", namespaces=NS)
    if guid is not None:
        try:
            uuid.UUID(guid)
        except ValueError:
            problems.append("podcast:guid is not a UUID")
    guids: set[str] = set()
    enclosures: set[str] = set()
    for item in channel.findall("item"):
        title = item.findtext("title") or ""
        if not title.strip() and not (item.findtext("description") or "").strip():
            problems.append("item needs a title or description")
        item_guid = item.findtext("guid") or ""
        if not item_guid or item_guid in guids:
            problems.append(f"item {title!r}: missing or repeated guid")
        guids.add(item_guid)
        if item.find("guid") is not None and item.find("guid").get("isPermaLink") not in ("false", "true"):
            problems.append("guid isPermaLink must be true or false")
        if item.findtext("pubDate") is None:
            problems.append(f"item {title!r} lacks pubDate")
        enclosure = item.find("enclosure")
        if enclosure is None:
            problems.append(f"item {title!r} lacks an enclosure")
        else:
            url, length, kind = enclosure.get("url"), enclosure.get("length"), enclosure.get("type")
            if not url or not length or not kind:
                problems.append("enclosure needs url, length and type")
            elif not length.isdigit() or int(length) <= 0:
                problems.append(f"enclosure length {length!r} is not a positive number of bytes")
            elif kind != "audio/mpeg":
                problems.append(f"enclosure type {kind!r}")
            if url in enclosures:
                problems.append(f"enclosure URL repeated: {url}")
            enclosures.add(url or "")
        duration = item.findtext("itunes:duration", namespaces=NS)
        if duration is not None and not re.match(r"^(\d+|\d{1,2}:\d{2}(:\d{2})?)$", duration):
            problems.append(f"itunes:duration {duration!r}")
        if item.findtext("itunes:episodeType", namespaces=NS) not in (None, "full", "trailer", "bonus"):
            problems.append("itunes:episodeType")
        art = item.find("itunes:image", NS)
        if art is not None and not (art.get("href") or "").endswith((".jpg", ".png")):
            problems.append("item itunes:image must end in .jpg or .png")
        if len((item.findtext("description") or "").encode("utf-8")) > 4000:
            problems.append(f"item {title!r}: description over 4000 bytes")
        for chapter in item.findall("psc:chapters/psc:chapter", NS):
            if (
                not re.match(r"^\d{2}:\d{2}:\d{2}(\.\d{3})?$", chapter.get("start") or "")
                or chapter.get("title") is None
            ):
                problems.append("psc:chapter needs start (NPT) and title")
        for transcript in item.findall("podcast:transcript", NS):
            if not transcript.get("url") or not transcript.get("type"):
                problems.append("podcast:transcript needs url and type")
    for url in all_urls(data):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"not a full URL: {url!r}")
        if not url.isascii() or " " in url:
            problems.append(f"URL not percent-encoded: {url!r}")
    return problems


def test_the_feed_passes_the_validators_rules(published: Published) -> None:
    assert w3c_problems(published.feed_path.read_bytes()) == []


@pytest.mark.parametrize(
    ("before", "after", "problem"),
    [
        (b"<itunes:explicit>false<", b"<itunes:explicit>no<", "itunes:explicit"),
        (b'href="https://podcasts.example.com/narrator/cover.jpg"', b'href="cover.jpg"', "not a full URL"),
        (b"+0000</pubDate>", b"UTC+0</pubDate>", "RFC 822"),
        (b'length="', b'length="-', "positive number"),
        (b'<itunes:category text="News">', b'<itunes:category text="Newz">', "Apple's list"),
    ],
)
def test_the_rules_catch_what_they_should(published: Published, before: bytes, after: bytes, problem: str) -> None:
    data = published.feed_path.read_bytes()
    assert before in data
    problems = w3c_problems(data.replace(before, after, 1))
    assert any(problem in p for p in problems), problems


def test_html_text_helper() -> None:
    assert html_text("<p>a &amp; b</p><ul><li>1</li></ul>") == ["a & b", "1"]


# --- renderings kept between rebuilds ----------------------------------------------------


def rendered_keys(library: Library) -> dict[int, str]:
    return {episode: key for episode, (key, _, _) in library.rendered().items()}


def test_a_rebuild_reuses_what_did_not_change_and_gives_the_same_files(published: Published) -> None:
    out, library = published.out, published.library
    page = out / "index.html"
    first_feed, first_page = published.feed_path.read_bytes(), page.read_bytes()
    keys = rendered_keys(library)
    assert list(keys) == [published.record.id], "the first build keeps the episode's item and page section"
    (row,) = library.rendered().values()
    assert row[1].startswith(b"<item") and row[2].startswith("<article")
    uncached = render_feed(SHOW, library.episodes(), cover_name="cover.jpg", guid="g", build_date=datetime(2020, 1, 1))
    cached = render_feed(
        SHOW,
        library.episodes(),
        cover_name="cover.jpg",
        guid="g",
        build_date=datetime(2020, 1, 1),
        items=Rendered({i: (k, x) for i, (k, x, _) in library.rendered().items()}),
    )
    assert cached == uncached
    second_feed = published.write()
    assert re.sub(rb"<lastBuildDate>[^<]*", b"", second_feed) == re.sub(rb"<lastBuildDate>[^<]*", b"", first_feed)
    assert page.read_bytes() == first_page
    assert rendered_keys(library) == keys


def test_what_an_item_is_made_of_decides_whether_it_is_rendered_again(published: Published) -> None:
    library, record = published.library, published.record
    key = rendering_key(SHOW, record)
    assert rendering_key(SHOW, record) == key
    for changed in (
        rendering_key(dataclasses.replace(SHOW, base_url="https://cdn.example.org/"), record),
        rendering_key(dataclasses.replace(SHOW, language="de"), record),
        rendering_key(SHOW, dataclasses.replace(record, body=record.body + " More.")),
        rendering_key(
            SHOW, dataclasses.replace(record, body=record.body[:-1], description=record.body[-1:] + record.description)
        ),
        rendering_key(SHOW, dataclasses.replace(record, chapters=record.chapters[:1])),
        rendering_key(SHOW, dataclasses.replace(record, audio=dataclasses.replace(record.audio, size_bytes=1))),
    ):
        assert changed != key
    assert rendering_key(dataclasses.replace(SHOW, title="Another title"), record) == key, "items do not show it"
    moved = dataclasses.replace(SHOW, base_url="https://cdn.example.org/shows/")
    data = published.write(moved)
    assert rendered_keys(library) == {record.id: rendering_key(moved, record)}
    assert b"https://cdn.example.org/shows/" in data


def test_a_damaged_kept_item_is_rendered_again(published: Published) -> None:
    library, record = published.library, published.record
    expected = published.feed_path.read_bytes()
    key, _, section = library.rendered()[record.id]
    with library.locked():
        library._execute("UPDATE rendered SET item = ? WHERE episode_id = ?", (b"<item><title>half", record.id))
    data = published.write()
    assert re.sub(rb"<lastBuildDate>[^<]*", b"", data) == re.sub(rb"<lastBuildDate>[^<]*", b"", expected)
    assert library.rendered()[record.id] == (key, library.rendered()[record.id][1], section)
    assert library.rendered()[record.id][1].startswith(b"<item")


def test_a_removed_episode_takes_its_renderings_with_it(published: Published) -> None:
    published.library.remove(published.record.stem)
    published.write()
    assert published.library.rendered() == {}


def test_a_failing_feed_render_leaves_no_process_or_descriptor_behind(
    published: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    import narrator.feed as feed_module

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("the feed could not be rendered")

    monkeypatch.setattr(feed_module, "render_feed", broken)
    descriptors = len(os.listdir("/proc/self/fd"))
    with pytest.raises(RuntimeError, match="could not be rendered"):
        published.write()
    assert len(os.listdir("/proc/self/fd")) == descriptors, "the page child's pipe is closed"
    with contextlib.suppress(ChildProcessError):  # raised when there is no child at all
        assert os.waitpid(-1, os.WNOHANG) == (0, 0), "the page child was waited for"


def test_ampersands_and_angle_brackets_in_titles_are_hexadecimal_references(published: Published) -> None:
    """Some apps show titles as HTML; the W3C validator asks for &#x26; and &#x3C; in plain text."""
    record = published.record
    with published.library.locked():
        published.library._execute("UPDATE episodes SET title = ? WHERE id = ?", ("Salt & Pepper <3", record.id))
    data = published.write()
    assert b"<title>Salt &#x26; Pepper &#x3C;3</title>" in data
    assert b"&amp;" not in data and b"&lt;" not in data
    (item,) = feedparser.parse(data).entries
    assert item.title == "Salt & Pepper <3"
