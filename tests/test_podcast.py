"""podcast.toml: defaults, the TOML writer, checks (Apple's categories, e-mail, base URL), flags, the cover."""

from __future__ import annotations

import dataclasses
import io
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.cover import publish_cover
from narrator.errors import SettingsError
from narrator.folder import podcast_path
from narrator.podcast import (
    APPLE_CATEGORIES,
    DEFAULT_BASE_URL,
    PodcastSettings,
    apply_overrides,
    check_category,
    check_cover,
    init_podcast,
    load_podcast,
    normalize_base_url,
    parse_category,
    render_toml,
    resolve_podcast,
    save_podcast,
    validate,
)


def image_file(path: Path, size: tuple[int, int], kind: str = "PNG") -> Path:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, "#204060").save(out, format=kind)
    path.write_bytes(out.getvalue())
    return path


def test_defaults_are_valid_and_local() -> None:
    show = validate(PodcastSettings())
    assert show == PodcastSettings()
    assert show.base_url == DEFAULT_BASE_URL == "http://127.0.0.1:8000/"  # a dotted address: validators want one
    assert show.feed_url == "http://127.0.0.1:8000/feed.xml"
    assert show.website == show.base_url
    assert show.category in APPLE_CATEGORIES


def test_saved_settings_load_back_the_same(tmp_path: Path) -> None:
    (tmp_path / "art").mkdir()
    cover = image_file(tmp_path / "art" / "cover.png", (1400, 1400))
    show = validate(
        PodcastSettings(
            title='My "Show" \\ 🎧',
            description="Line one\nLine two\ttabbed",
            author="Zoë Ångström",
            owner_name="Owner",
            owner_email="owner@example.com",
            language="de-AT",
            category="Society & Culture",
            subcategory="Documentary",
            explicit=True,
            link="https://example.com/blog",
            cover=cover,
            base_url="https://example.com/pod/",
            show_type="serial",
            locked=True,
            guid="917393e3-1b1e-5cef-ace4-edaa54e1f810",
        )
    )
    path = podcast_path(tmp_path)
    save_podcast(show, path)
    text = path.read_text(encoding="utf-8")
    assert 'cover = "art/cover.png"' in text  # inside the folder: kept relative, so the folder can move
    assert load_podcast(path) == show
    assert tomllib.loads(text)["explicit"] is True


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_any_text_survives_the_toml_writer(text: str) -> None:
    show = dataclasses.replace(PodcastSettings(), title=text, description=text, author=text)
    data = tomllib.loads(render_toml(show))
    assert (data["title"], data["description"], data["author"]) == (text, text, text)


def test_every_setting_has_a_comment_in_the_file() -> None:
    text = render_toml(PodcastSettings())
    for field in dataclasses.fields(PodcastSettings):
        assert f"\n{field.name} = " in text
        before = text.split(f"\n{field.name} = ")[0].rstrip().splitlines()[-1]
        assert before.startswith("# "), field.name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://example.com/podcast", "https://example.com/podcast/"),
        ("HTTP://EXAMPLE.com:8080", "http://example.com:8080/"),
        ("example.com/a b/", "https://example.com/a%20b/"),
        ("http://[::1]:8000/x", "http://[::1]:8000/x/"),
        ("https://bücher.example/ä/", "https://xn--bcher-kva.example/%C3%A4/"),
        ("https://example.com/already%20encoded/", "https://example.com/already%20encoded/"),
    ],
)
def test_base_url_is_normalised(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


@pytest.mark.parametrize(
    "bad", ["", "ftp://example.com/", "https://example.com/?q=1", "https://example.com/#top", "http://"]
)
def test_bad_base_urls_are_refused(bad: str) -> None:
    with pytest.raises(SettingsError, match="base URL"):
        normalize_base_url(bad)


def test_categories_are_checked_against_apples_list() -> None:
    assert parse_category("society & culture > documentary") == ("Society & Culture", "Documentary")
    assert parse_category("TV & Film") == ("TV & Film", "")
    assert check_category("Education", "How To") == ("Education", "How To")
    with pytest.raises(SettingsError, match=r"not an Apple Podcasts category.*True Crime"):
        parse_category("Podcasts")
    with pytest.raises(SettingsError, match=r"not a subcategory of 'News'.*Politics"):
        parse_category("News > Documentary")
    with pytest.raises(SettingsError, match="allowed: none"):
        parse_category("History > Ancient")
    assert (len(APPLE_CATEGORIES), sum(len(subs) for subs in APPLE_CATEGORIES.values())) == (19, 91)  # Apple, 2019


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner_email": "not-an-address"}, "not an e-mail address"),
        ({"owner_email": "a@b"}, "not an e-mail address"),
        ({"title": "  "}, "title is empty"),
        ({"title": "\x01\x1b "}, "title is empty"),
        ({"description": ""}, "description is empty"),
        ({"description": "é" * 2001}, "4000 bytes"),
        ({"language": "english please"}, "not a language tag"),
        ({"show_type": "daily"}, "episodic or serial"),
        ({"link": "example.com"}, "website link"),
        ({"guid": "not-a-uuid"}, "UUID"),
    ],
)
def test_bad_settings_are_refused(change: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        validate(dataclasses.replace(PodcastSettings(), **change))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('title = "unterminated', "not valid TOML"),
        ('colour = "blue"', "unknown setting 'colour'"),
        ("explicit = 'yes'", "explicit must be true or false"),
        ("title = 3", "title must be a string"),
        ('category = "Podcasting"', "not an Apple Podcasts category"),
    ],
)
def test_a_bad_file_names_itself(tmp_path: Path, text: str, message: str) -> None:
    path = podcast_path(tmp_path)
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=message) as caught:
        load_podcast(path)
    assert caught.value.path == path
    assert str(path) in str(caught.value)


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="narrator init"):
        load_podcast(tmp_path / "podcast.toml")


def test_narrate_creates_the_file_and_flags_override_it_for_one_run(tmp_path: Path) -> None:
    show = resolve_podcast(tmp_path, title="Just this once", explicit=None)
    assert show.title == "Just this once"
    assert load_podcast(podcast_path(tmp_path)) == PodcastSettings()  # the file keeps the defaults
    assert resolve_podcast(tmp_path) == PodcastSettings()


def test_resolve_without_create_writes_nothing(tmp_path: Path) -> None:
    assert resolve_podcast(tmp_path, create=False) == PodcastSettings()
    assert not podcast_path(tmp_path).exists()


def test_init_keeps_what_the_file_says_unless_a_flag_changes_it(tmp_path: Path) -> None:
    init_podcast(tmp_path, title="Morning Reads", owner_email="me@example.com", category="News > Politics")
    init_podcast(tmp_path, explicit=True, base_url="reads.example.com")
    show = load_podcast(podcast_path(tmp_path))
    assert (show.title, show.owner_email, show.category, show.subcategory) == (
        "Morning Reads",
        "me@example.com",
        "News",
        "Politics",
    )
    assert show.explicit is True
    assert show.base_url == "https://reads.example.com/"


def test_flags_category_and_subcategory_combine() -> None:
    base = PodcastSettings()
    assert apply_overrides(base, category="Science", subcategory="Physics").subcategory == "Physics"
    assert apply_overrides(base, subcategory="Physics", category="Science").subcategory == "Physics"
    assert apply_overrides(base, category="Science > Nature").subcategory == "Nature"
    changed = apply_overrides(apply_overrides(base, category="News > Politics"), category="Technology")
    assert (changed.category, changed.subcategory) == ("Technology", "")
    with pytest.raises(TypeError):
        apply_overrides(base, colour="blue")


def test_a_relative_cover_flag_is_taken_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_file(tmp_path / "art.png", (1500, 1500))
    monkeypatch.chdir(tmp_path)
    show = apply_overrides(PodcastSettings(), cover="art.png")
    assert show.cover == tmp_path / "art.png"


def test_a_relative_cover_in_the_file_is_taken_from_the_files_folder(tmp_path: Path) -> None:
    image_file(tmp_path / "art.png", (1500, 1500))
    podcast_path(tmp_path).write_text('cover = "art.png"\n', encoding="utf-8")
    assert load_podcast(podcast_path(tmp_path)).cover == tmp_path / "art.png"


def test_the_users_cover_is_checked_and_published(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    art = image_file(tmp_path / "art.png", (1400, 1400))
    cover = publish_cover(out, image=art, title="Narrated articles")
    assert cover.path == out / "cover.png"
    assert cover.mime == "image/png"
    assert cover.path.read_bytes() == art.read_bytes() == cover.data
    jpeg = image_file(tmp_path / "art.jpg", (3000, 3000), "JPEG")
    assert publish_cover(out, image=jpeg, title="Narrated articles").path == out / "cover.jpg"


@pytest.mark.parametrize(
    ("size", "kind", "message"),
    [((1000, 1000), "PNG", "1400 to 3000"), ((3200, 3200), "PNG", "1400 to 3000"), ((1600, 1400), "PNG", "square")],
)
def test_a_cover_apple_would_refuse_is_refused(tmp_path: Path, size: tuple[int, int], kind: str, message: str) -> None:
    art = image_file(tmp_path / "art.png", size, kind)
    with pytest.raises(SettingsError, match=message):
        publish_cover(tmp_path, image=art, title="Narrated articles")
    with pytest.raises(SettingsError, match=message):
        init_podcast(tmp_path, cover=str(art))


def test_a_gif_cover_is_refused(tmp_path: Path) -> None:
    art = image_file(tmp_path / "art.gif", (1400, 1400), "GIF")
    with pytest.raises(SettingsError, match="JPEG or PNG"):
        publish_cover(tmp_path, image=art, title="Narrated articles")


def test_without_a_cover_one_is_drawn_and_follows_the_title(tmp_path: Path) -> None:
    from PIL import Image

    first = publish_cover(tmp_path, image=None, title="Morning Reads")
    assert first.path == tmp_path / "cover.jpg"
    with Image.open(first.path) as image:
        assert (image.format, image.size) == ("JPEG", (1400, 1400))
    assert check_cover(first.path) == "image/jpeg", "the drawn cover meets Apple's rules"
    mtime = first.path.stat().st_mtime_ns
    assert publish_cover(tmp_path, image=None, title="Morning Reads").data == first.data
    assert first.path.stat().st_mtime_ns == mtime  # unchanged: not rewritten
    second = publish_cover(tmp_path, image=None, title="Evening Reads")
    assert second.data != first.data
    assert second.path.read_bytes() == second.data
