"""index.html, the listening page: rendered from hand-written libraries and from the narrated seed.

Golden pages in tests/data/page pin the exact output for the feed tests' libraries
(tests/data/feed/NAME.json); the rest reads the page back with lxml.html and checks
what a listener, a screen reader and a static host need.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import itertools
import json
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import html5lib
import pytest
from click.testing import CliRunner

from narrator.cli import main
from narrator.errors import OutputError
from narrator.folder import PAGE_NAME
from narrator.library import open_library
from narrator.models import Chapter, EpisodeRecord, StoredFile
from narrator.page import render_page
from narrator.podcast import PodcastSettings, resolve_podcast, validate

DATA = Path(__file__).parent / "data"
GOLDEN_INPUTS = sorted((DATA / "feed").glob("*.json"))
GOLDEN_DIR = DATA / "page"
SHOW = validate(PodcastSettings(title="Morning reads", base_url="https://example.org/pod/", language="en"))


def load_library(path: Path) -> tuple[PodcastSettings, list[EpisodeRecord], dict[str, Any]]:
    """A show and its episodes from the feed tests' hand-written NAME.json."""
    spec = json.loads(path.read_text(encoding="utf-8"))
    show = validate(PodcastSettings(**spec["show"]))
    episodes = []
    for item in spec["episodes"]:
        kinds = ("audio", "vtt", "srt", "chapters_json", "image")
        files = {k: (StoredFile(**item[k]) if item.get(k) else None) for k in kinds}
        fields = {k: v for k, v in item.items() if k not in files and k != "chapters"}
        for key in ("published_at", "updated_at"):
            fields[key] = datetime.fromisoformat(fields[key])
        episodes.append(EpisodeRecord(**fields, **files, chapters=tuple(Chapter(*c) for c in item["chapters"])))
    return show, episodes, spec


def episode(**changes: Any) -> EpisodeRecord:
    record = EpisodeRecord(
        id=3,
        guid="g-3",
        stem="tale",
        source="/articles/tale.txt",
        text_hash="h",
        build_key="k",
        title="A tale",
        author="Ada",
        language="en",
        description="What happened.",
        body="First paragraph.\n\nSecond paragraph.",
        published_at=datetime.fromisoformat("2026-11-27T08:00:00+00:00"),
        updated_at=datetime.fromisoformat("2026-11-27T08:00:00+00:00"),
        duration_ms=227_474,
        audio=StoredFile("tale.mp3", 1_948_394),
        vtt=StoredFile("tale.vtt", 4822),
        srt=StoredFile("tale.srt", 4814),
        chapters_json=StoredFile("tale.chapters.json", 1812),
        image=None,
        chapters=(Chapter(0, 17_565, "Opening"), Chapter(17_565, 227_474, "The rest")),
    )
    return dataclasses.replace(record, **changes)


def parse(page: str) -> Any:
    """The page as a browser parses it (the HTML5 algorithm); any parse error fails the test."""
    parser = html5lib.HTMLParser(strict=True, tree=html5lib.getTreeBuilder("lxml"), namespaceHTMLElements=False)
    return parser.parse(page).getroot()


def text(element: Any) -> str:
    return "".join(element.itertext())


def by_id(doc: Any, element_id: str) -> Any:
    found = doc.xpath(f"//*[@id='{element_id}']")
    assert len(found) == 1, element_id
    return found[0]


# -- golden pages ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN_INPUTS, ids=[p.stem for p in GOLDEN_INPUTS])
def test_pages_match_their_golden_files(path: Path) -> None:
    """NAME.json renders exactly tests/data/page/NAME.html; NARRATOR_UPDATE_GOLDEN=1 rewrites them."""
    show, episodes, spec = load_library(path)
    page = render_page(show, episodes, cover_name=spec["cover_name"])
    golden = GOLDEN_DIR / f"{path.stem}.html"
    if os.environ.get("NARRATOR_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(page, encoding="utf-8")
    assert page == golden.read_text(encoding="utf-8")


def test_rendering_is_pure() -> None:
    assert render_page(SHOW, [episode()], cover_name="cover.jpg") == render_page(
        SHOW, [episode()], cover_name="cover.jpg"
    )


# -- what a listener sees ------------------------------------------------------------------------------------------


def test_the_show_has_its_cover_title_description_and_a_feed_to_subscribe_to() -> None:
    show = dataclasses.replace(SHOW, description="Long reads.\n\nEvery morning.", author="The Desk")
    doc = parse(render_page(show, [episode()], cover_name="cover.png"))
    assert doc.get("lang") == "en"
    assert doc.findtext(".//title") == "Morning reads"
    assert text(doc.xpath("//h1")[0]) == "Morning reads"
    assert [text(p) for p in doc.xpath("//div[@class='description']/p")] == ["Long reads.", "Every morning."]
    assert doc.xpath("//img[@class='cover']")[0].get("src") == "cover.png"
    subscribe = doc.xpath("//p[@class='subscribe']/a")[0]
    assert subscribe.get("href") == "feed.xml" and "Subscribe" in text(subscribe)
    assert doc.xpath("//link[@rel='alternate']")[0].get("href") == "feed.xml"
    field = by_id(doc, "feed-url")
    assert field.get("value") == "https://example.org/pod/feed.xml" and field.get("readonly") is not None
    assert doc.xpath("//label[@for='feed-url']")
    assert doc.xpath("//meta[@name='viewport']")[0].get("content") == "width=device-width, initial-scale=1"


def test_every_episode_has_a_player_with_captions() -> None:
    other = episode(
        id=4,
        stem="other",
        title="Other",
        language="de",
        audio=StoredFile("other.mp3", 9),
        vtt=StoredFile("other.vtt", 9),
    )
    records = [episode(), other]
    doc = parse(render_page(SHOW, records, cover_name="cover.jpg"))
    audios = doc.xpath("//audio")
    assert [a.get("id") for a in audios] == ["e3-audio", "e4-audio"]
    for audio, record in zip(audios, records, strict=True):
        # Nothing of the audio is fetched before the listener asks (a page of 1,000 players).
        assert audio.get("controls") is not None and audio.get("preload") == "none"
        assert audio.xpath("source")[0].get("src") == f"{record.stem}.mp3"
        assert audio.xpath("source")[0].get("type") == "audio/mpeg"
        track = audio.xpath("track")[0]
        assert track.get("kind") == "captions" and track.get("default") is None  # loaded when wanted
        assert track.get("src") == f"{record.stem}.vtt" and track.get("srclang") == record.language
        assert audio.xpath("a")[0].get("href") == f"{record.stem}.mp3"  # for browsers without <audio>
    assert by_id(doc, "e4").get("lang") == "de"  # differs from the page's language
    assert by_id(doc, "e3").get("lang") is None


def test_an_episode_without_captions_has_no_track() -> None:
    doc = parse(render_page(SHOW, [episode(vtt=None)], cover_name="cover.jpg"))
    assert doc.xpath("//track") == []


def test_chapters_are_links_that_seek_with_or_without_script() -> None:
    doc = parse(render_page(SHOW, [episode()], cover_name="cover.jpg"))
    links = doc.xpath("//nav[@class='chapters']//a")
    # Media Fragments URI 1.0: the MP3 itself, opened at the chapter's start.
    assert [a.get("href") for a in links] == ["tale.mp3#t=0", "tale.mp3#t=17.565"]
    assert [text(a) for a in links] == ["0:00 Opening", "0:17 The rest"]
    assert doc.xpath("//nav[@class='chapters']")[0].get("aria-labelledby") == "e3-chapters"


def test_duration_date_transcript_and_downloads_are_shown() -> None:
    doc = parse(render_page(SHOW, [episode()], cover_name="cover.jpg"))
    times = doc.xpath("//p[@class='meta']/time")
    assert [(t.get("datetime"), t.text) for t in times] == [
        ("2026-11-27T08:00:00+00:00", "2026-11-27"),
        ("PT3M47S", "3:47"),
    ]
    # Rounded down, as the player shows it: 1:05.9 is 1:05 beside the player and in it.
    short = parse(render_page(SHOW, [episode(duration_ms=65_900)], cover_name="cover.jpg"))
    assert [t.text for t in short.xpath("//p[@class='meta']/time")][1] == "1:05"
    assert "by Ada" in text(doc.xpath("//p[@class='meta']")[0])
    transcript = doc.xpath("//details[@class='transcript']")[0]
    assert transcript.xpath("summary")[0].text == "Transcript"
    # Not inline: built from the captions when opened; without the script, the captions file is linked.
    assert "First paragraph" not in text(transcript)
    assert transcript.get("id") == "e3-transcript"
    assert transcript.xpath(".//a")[0].get("href") == "tale.vtt"
    # Without captions, the text itself.
    bare = parse(render_page(SHOW, [episode(vtt=None)], cover_name="cover.jpg"))
    transcript = bare.xpath("//details[@class='transcript']")[0]
    assert [p.text for p in transcript.xpath("p")] == ["First paragraph.", "Second paragraph."]
    downloads = {a.get("href"): text(a) for a in doc.xpath("//p[@class='files']/a")}
    assert downloads == {
        "tale.mp3": "MP3, 1.9 MB",
        "tale.vtt": "captions (WebVTT)",
        "tale.srt": "captions (SRT)",
        "tale.chapters.json": "chapters (JSON)",
    }


def test_an_empty_library_says_so() -> None:
    doc = parse(render_page(SHOW, [], cover_name="cover.jpg"))
    assert "No episodes yet." in text(by_id(doc, "episodes"))


# -- escaping -----------------------------------------------------------------------------------------------------

TRICKY = "<script>alert('x')</script> & <b>bold</b> \"quoted\" ]]> 🎧 Zoë"


def test_an_article_about_script_shows_the_characters() -> None:
    record = episode(
        title=TRICKY,
        author=TRICKY,
        description=TRICKY,
        body=f"{TRICKY}\n\nNext.",
        chapters=(Chapter(0, 1000, TRICKY),),
        vtt=None,  # so the transcript is the text itself
    )
    show = dataclasses.replace(SHOW, title=TRICKY, description=TRICKY, author=TRICKY)
    page = render_page(show, [record], cover_name="cover.jpg")
    doc = parse(page)
    assert len(doc.xpath("//script")) == 1 and doc.xpath("//b") == []
    assert "<script>alert" not in page and "<b>" not in page
    assert doc.findtext(".//title") == TRICKY
    assert text(doc.xpath("//h1")[0]) == TRICKY
    assert text(doc.xpath("//h3")[0]) == TRICKY
    assert text(doc.xpath("//p[@class='summary']")[0]) == TRICKY
    assert text(doc.xpath("//details/p")[0]) == TRICKY
    assert text(doc.xpath("//nav[@class='chapters']//a")[0]).split(" ", 1)[1] == TRICKY
    assert doc.xpath("//meta[@name='description']")[0].get("content") == TRICKY


def test_control_characters_are_dropped() -> None:
    doc = parse(render_page(SHOW, [episode(title="Bell\x07 and \x1b[0mescape")], cover_name="cover.jpg"))
    assert text(doc.xpath("//h3")[0]) == "Bell and [0mescape"


@pytest.mark.parametrize(
    ("source", "linked"),
    [
        ("https://news.example.com/a?b=1&c=2", True),
        ("javascript://x%0Aalert(1)", False),
        ("data://text/html,<script>", False),
        ("/articles/a.txt", False),
    ],
)
def test_only_web_sources_are_linked(source: str, linked: bool) -> None:
    doc = parse(render_page(SHOW, [episode(source=source)], cover_name="cover.jpg"))
    links = doc.xpath("//p[@class='source']/a")
    assert bool(links) == linked
    if linked:
        assert links[0].get("href") == source


# -- self-contained, accessible -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tricky_page() -> str:
    show, episodes, spec = load_library(DATA / "feed" / "tricky-text.json")
    return render_page(show, episodes, cover_name=spec["cover_name"])


def test_there_are_no_external_assets(tricky_page: str) -> None:
    doc = parse(tricky_page)
    for element in doc.iter():
        for name in ("src", "srcset", "poster", "data"):
            value = element.get(name)
            assert value is None or ("://" not in value and not value.startswith("//")), (element.tag, value)
    for link in doc.xpath("//link"):
        assert "://" not in link.get("href", "") and not link.get("href", "").startswith("//")
    assert all(script.get("src") is None for script in doc.xpath("//script"))
    style = doc.xpath("//style")[0].text
    assert "@import" not in style and "url(" not in style
    # Only plain links (<a>) may lead elsewhere, and the feed address is shown to be copied.
    external = {a.get("href") for a in doc.xpath("//a[contains(@href, '://')]")}
    assert external <= {"https://news.example.com/story?id=7&lang=fr#top"}


def test_the_content_security_policy_admits_exactly_the_inline_script_and_style(tricky_page: str) -> None:
    doc = parse(tricky_page)
    policy = doc.xpath("//meta[@http-equiv='Content-Security-Policy']")[0].get("content")

    def source(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"

    assert f"script-src {source(doc.xpath('//script')[0].text)};" in policy
    assert f"style-src {source(doc.xpath('//style')[0].text)};" in policy
    assert "object-src 'none'" in policy and "base-uri 'none'" in policy


def test_ids_are_unique_and_every_reference_finds_its_target(tricky_page: str) -> None:
    doc = parse(tricky_page)
    ids = [element.get("id") for element in doc.iter() if element.get("id")]
    assert len(ids) == len(set(ids))
    for element in doc.xpath("//*[@aria-labelledby]"):
        assert element.get("aria-labelledby") in ids
    for label in doc.xpath("//label"):
        assert label.get("for") in ids
    for field in doc.xpath("//input"):
        assert doc.xpath(f"//label[@for='{field.get('id')}']")
    for article in doc.xpath("//article"):  # a chapter link opens its own episode's MP3
        mp3 = article.xpath(".//audio/source")[0].get("src")
        assert all(a.get("href").startswith(f"{mp3}#t=") for a in article.xpath(".//nav[@class='chapters']//a"))


def test_headings_go_down_one_level_at_a_time(tricky_page: str) -> None:
    levels = [int(h.tag[1]) for h in parse(tricky_page).iter("h1", "h2", "h3", "h4", "h5", "h6")]
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))


def test_every_image_has_alt_text_and_the_page_a_skip_link(tricky_page: str) -> None:
    doc = parse(tricky_page)
    assert all(img.get("alt") is not None for img in doc.xpath("//img"))
    skip = doc.xpath("//a[@class='skip']")[0]
    assert skip.get("href") == "#episodes" and by_id(doc, "episodes").tag == "main"


def test_the_page_parses_without_a_single_html5_parse_error(tricky_page: str) -> None:
    parse(tricky_page)  # html5lib in strict mode raises on the first parse error
    for path in GOLDEN_INPUTS:
        show, episodes, spec = load_library(path)
        parse(render_page(show, episodes, cover_name=spec["cover_name"]))


# -- written with the feed ----------------------------------------------------------------------------------------


def test_the_feed_command_writes_the_page_beside_the_feed(tmp_path: Path, seed_episode) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "podcast"
    shutil.copytree(seed_episode.output_dir, folder)
    (folder / PAGE_NAME).unlink()
    result = CliRunner().invoke(main, ["feed", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    with open_library(folder, create=False) as library:
        expected = render_page(resolve_podcast(folder, create=False), library.episodes(), cover_name="cover.jpg")
    assert (folder / PAGE_NAME).read_text(encoding="utf-8") == expected
    assert oct((folder / PAGE_NAME).stat().st_mode & 0o777) == "0o644"


def test_narrating_writes_the_page(seed_episode) -> None:  # type: ignore[no-untyped-def]
    page = (seed_episode.output_dir / PAGE_NAME).read_text(encoding="utf-8")
    doc = parse(page)
    assert doc.xpath("//audio/source")[0].get("src") == f"{seed_episode.stem}.mp3"
    assert len(doc.xpath("//nav[@class='chapters']//a")) == len(
        json.loads(seed_episode.chapters_json.read_text(encoding="utf-8"))["chapters"]
    )


def test_a_failed_write_leaves_the_old_page(
    tmp_path: Path,
    seed_episode,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "podcast"
    shutil.copytree(seed_episode.output_dir, folder)
    before = {name: (folder / name).read_bytes() for name in (PAGE_NAME, "feed.xml")}

    def fail(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    from narrator.pipeline import render

    monkeypatch.setattr(os, "replace", fail)
    with open_library(folder, create=False) as library, pytest.raises(OutputError, match="No space left"):
        render(folder, dataclasses.replace(resolve_podcast(folder, create=False), title="Changed"), library)
    monkeypatch.undo()
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]
