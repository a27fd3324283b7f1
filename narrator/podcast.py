"""The podcast's own settings: podcast.toml in the output folder, its defaults and its checks.

``narrator init`` writes podcast.toml; ``narrate`` creates it with defaults when
it is missing. Flags override the file for one run (``apply_overrides``). The
checks follow Apple Podcasts' feed requirements: a category from Apple's list,
an owner e-mail that can receive mail, a square JPEG or PNG cover of 1400 to
3000 pixels, a description of at most 4,000 bytes.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import SettingsError
from .folder import FEED_NAME, podcast_path, write_atomic
from .markup import MAX_DESCRIPTION_BYTES

#: What narrator serve answers at by default; a dotted address, as feed validators want (not "localhost").
DEFAULT_BASE_URL = "http://127.0.0.1:8000/"

#: Apple Podcasts categories and their subcategories, spelled as the feed must spell them
#: (Apple Podcasts Connect, "Apple Podcasts categories", 2019 revision).
APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": ("Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality"),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies", "Home & Garden", "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News", "Daily News", "Entertainment News", "News Commentary", "Politics", "Sports News", "Tech News",
    ),
    "Religion & Spirituality": ("Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion", "Spirituality"),
    "Science": (
        "Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics", "Natural Sciences", "Nature",
        "Physics", "Social Sciences",
    ),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships"),
    "Sports": (
        "Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf", "Hockey", "Rugby", "Running",
        "Soccer", "Swimming", "Tennis", "Volleyball", "Wilderness", "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}  # fmt: skip

#: How many episodes the feed lists by default: podcast apps fetch the whole feed on every check
#: (hourly, for many), and hosts cap it likewise (300 is a common cap).
DEFAULT_FEED_EPISODES = 300

#: The sides a cover may have, in pixels (Apple Podcasts).
MIN_COVER_SIDE, MAX_COVER_SIDE = 1400, 3000
_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


@dataclass(frozen=True, slots=True)
class PodcastSettings:
    """The podcast as a whole: what the feed's channel says."""

    title: str = "Narrated articles"
    description: str = "Articles narrated by narrator."
    author: str = "narrator"
    """The podcast's author (itunes:author)."""
    owner_name: str = ""
    """Who Apple contacts about the podcast (itunes:owner); defaults to the author."""
    owner_email: str = ""
    """Apple and other directories send verification mail here; leave empty for a private feed."""
    language: str = "en"
    """BCP 47 tag of the podcast's language (RSS <language>)."""
    category: str = "News"
    """One of Apple's top-level categories (``APPLE_CATEGORIES``)."""
    subcategory: str = ""
    """A subcategory of ``category``, or empty."""
    explicit: bool = False
    link: str = ""
    """The show's website; empty means the base URL."""
    cover: Path | None = None
    """The user's cover image (square JPEG or PNG, 1400-3000 px); None draws one from the title."""
    base_url: str = DEFAULT_BASE_URL
    """Where the output folder is published, ending in "/"; every URL in the feed starts with it."""
    show_type: str = "episodic"
    """itunes:type: "episodic" (newest first) or "serial" (in order)."""
    locked: bool = False
    """podcast:locked: True asks other platforms not to import the feed."""
    guid: str = ""
    """podcast:guid; empty means derived from the feed URL once and kept in the library."""
    feed_episodes: int = DEFAULT_FEED_EPISODES
    """How many of the newest episodes feed.xml lists (0: every one); the page and the library keep all."""
    cluster: str = ""
    """The Dask cluster that narrates this podcast's articles (``narrate --cluster`` overrides it): a
    scheduler's address, tcp://HOST:8786, or local:N; empty: this machine."""
    engine: str = ""
    """The speech engine that narrates the episodes (``narrate --engine`` overrides it); empty: pyttsx3."""

    @property
    def feed_url(self) -> str:
        return self.base_url + FEED_NAME

    @property
    def website(self) -> str:
        return self.link or self.base_url

    @property
    def owner(self) -> str:
        return self.owner_name or self.author


#: What ``render_toml`` writes above each setting.
_COMMENTS = {
    "title": "The podcast's name.",
    "description": "What the show is about (at most 4,000 bytes).",
    "author": "Shown as the show's artist.",
    "owner_name": "Who Apple Podcasts contacts; empty means the author.",
    "owner_email": "Directories send verification mail here; needed to submit the feed.",
    "language": "Language of the show, a BCP 47 tag such as en or de-AT.",
    "category": "One of Apple's categories: " + ", ".join(APPLE_CATEGORIES) + ".",
    "subcategory": "A subcategory of the category (see Apple's list), or empty.",
    "explicit": "true if the show contains explicit material.",
    "link": "The show's website; empty means the base URL.",
    "cover": "Cover image: a square JPEG or PNG, 1400-3000 px, relative to this file; empty draws one.",
    "base_url": "Where this folder is published; every URL in feed.xml starts with it.",
    "show_type": "episodic (newest first) or serial (in order).",
    "locked": "true asks other podcast platforms not to import this feed.",
    "guid": "podcast:guid; empty means derived from the first public feed URL and kept.",
    "feed_episodes": "How many of the newest episodes feed.xml lists; 0 lists every one (the page lists all).",
    "cluster": "A Dask scheduler that narrates the articles (tcp://HOST:8786, or local:N); empty: this machine.",
    "engine": "Speech engine for new episodes: pyttsx3 or piper (see `narrator voices`); empty means pyttsx3.",
}


def normalize_base_url(url: str) -> str:
    """An absolute http(s) URL ending in "/", ASCII only (IDNA host, percent-encoded path).

    >>> normalize_base_url("HTTPS://Example.com/podcast")
    'https://example.com/podcast/'
    >>> normalize_base_url("http://bücher.example/my show/")
    'http://xn--bcher-kva.example/my%20show/'
    >>> normalize_base_url("example.org")
    'https://example.org/'
    """
    text = url.strip()
    if not text:
        raise SettingsError("the base URL is empty; give the address the output folder is published at")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"the base URL must be an http:// or https:// address, not {url!r}")
    if parts.query or parts.fragment:
        raise SettingsError(f"the base URL cannot have a query or fragment: {url!r}")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise SettingsError(f"the base URL's host name is not valid: {parts.hostname!r}") from exc
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    if not path.endswith("/"):
        path += "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, "", ""))


def is_public_url(url: str) -> bool:
    """False for addresses only this machine can reach (the default base URL).

    >>> is_public_url("http://localhost:8000/"), is_public_url("https://example.com/")
    (False, True)
    """
    host = (urlsplit(url).hostname or "").lower()
    return not (host in _LOCAL_HOSTS or host.startswith("127.") or host.endswith(".local"))


def parse_category(text: str) -> tuple[str, str]:
    """A ``--category`` value: "Category" or "Category > Subcategory", matched case-insensitively.

    >>> parse_category("news > politics")
    ('News', 'Politics')
    >>> parse_category("Technology")
    ('Technology', '')
    """
    main, _, sub = text.partition(">")
    return check_category(main.strip(), sub.strip())


def check_category(category: str, subcategory: str = "") -> tuple[str, str]:
    """The category and subcategory as Apple spells them, or SettingsError listing what is allowed."""
    names = {name.lower(): name for name in APPLE_CATEGORIES}
    found = names.get(category.strip().lower())
    if found is None:
        allowed = ", ".join(APPLE_CATEGORIES)
        raise SettingsError(f"{category!r} is not an Apple Podcasts category; choose one of: {allowed}")
    if not subcategory.strip():
        return found, ""
    subs = {name.lower(): name for name in APPLE_CATEGORIES[found]}
    sub = subs.get(subcategory.strip().lower())
    if sub is None:
        allowed = ", ".join(APPLE_CATEGORIES[found]) or "none"
        raise SettingsError(f"{subcategory!r} is not a subcategory of {found!r}; allowed: {allowed}")
    return found, sub


def check_cover(path: Path) -> str:
    """Check a user's cover image; returns its MIME type or raises SettingsError naming the problem."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            kind, (width, height) = image.format, image.size
    except FileNotFoundError:
        raise SettingsError("cover image not found", path) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise SettingsError(f"cover image cannot be read ({exc})", path) from None
    if kind not in ("JPEG", "PNG"):
        raise SettingsError(f"cover image must be JPEG or PNG, not {kind}", path)
    if width != height:
        raise SettingsError(f"cover image must be square, not {width}x{height}", path)
    if not MIN_COVER_SIDE <= width <= MAX_COVER_SIDE:
        raise SettingsError(
            f"cover image must be {MIN_COVER_SIDE} to {MAX_COVER_SIDE} pixels a side, not {width}", path
        )
    return "image/jpeg" if kind == "JPEG" else "image/png"


def check_email(email: str) -> str:
    """An owner e-mail address, or SettingsError.

    >>> check_email(" editor@example.com ")
    'editor@example.com'
    """
    email = email.strip()
    if email and not _EMAIL.match(email):
        raise SettingsError(f"{email!r} is not an e-mail address")
    return email


def validate(podcast: PodcastSettings) -> PodcastSettings:
    """Check every setting; returns the settings normalised (category spelling, base URL) or raises SettingsError."""
    if not _visible(podcast.title):
        raise SettingsError("the show's title is empty")
    if not _visible(podcast.description):
        raise SettingsError("the show's description is empty (RSS requires one)")
    if len(podcast.description.encode("utf-8")) > MAX_DESCRIPTION_BYTES:
        raise SettingsError(f"the show's description is longer than Apple's {MAX_DESCRIPTION_BYTES} bytes")
    if not _LANGUAGE.match(podcast.language):
        raise SettingsError(f"{podcast.language!r} is not a language tag such as en or pt-BR")
    if podcast.show_type not in ("episodic", "serial"):
        raise SettingsError(f"show_type must be episodic or serial, not {podcast.show_type!r}")
    category, subcategory = check_category(podcast.category, podcast.subcategory)
    link = normalize_link(podcast.link) if podcast.link.strip() else ""
    if podcast.feed_episodes < 0:
        raise SettingsError(f"feed_episodes must be 0 (every episode) or more, not {podcast.feed_episodes}")
    if podcast.cluster.strip():
        from .executor import parse_cluster

        parse_cluster(podcast.cluster)
    if podcast.engine.strip():
        from .engines import check_engine

        check_engine(podcast.engine.strip())
    if podcast.guid.strip():
        try:
            uuid.UUID(podcast.guid.strip())
        except ValueError:
            raise SettingsError(f"guid must be a UUID, not {podcast.guid!r}") from None
    return dataclasses.replace(
        podcast,
        title=podcast.title.strip(),
        description=podcast.description.strip(),
        author=podcast.author.strip(),
        owner_name=podcast.owner_name.strip(),
        owner_email=check_email(podcast.owner_email),
        category=category,
        subcategory=subcategory,
        link=link,
        base_url=normalize_base_url(podcast.base_url),
        guid=podcast.guid.strip().lower(),
        cluster=podcast.cluster.strip(),
        engine=podcast.engine.strip(),
    )


def _visible(text: str) -> bool:
    """True when ``text`` has something to show besides white space and control characters."""
    return any(char.isprintable() and not char.isspace() for char in text)


def normalize_link(url: str) -> str:
    """The website link: an absolute http(s) URL.

    >>> normalize_link("https://example.com/blog")
    'https://example.com/blog'
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"the website link must be an http:// or https:// address, not {url!r}")
    return url.strip()


def _toml_value(value: object) -> str:
    """A TOML value: booleans, integers, or a basic string with TOML's escapes.

    >>> print(_toml_value('Say "hi"\\\\ \\n'), _toml_value(True), _toml_value("Ça\\x7f"))
    "Say \\"hi\\"\\\\ \\n" true "Ça\\u007F"
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:  # TOML forbids raw control characters in strings
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def render_toml(podcast: PodcastSettings, *, base_dir: Path | None = None) -> str:
    """podcast.toml for ``podcast``, a comment above each setting; the cover relative to ``base_dir``."""
    lines = ["# narrator's settings for this podcast. `narrator feed` rebuilds feed.xml after a change.", ""]
    for field in dataclasses.fields(podcast):
        value: Any = getattr(podcast, field.name)
        if field.name == "cover":
            value = "" if value is None else _relative(value, base_dir)
        lines += [f"# {_COMMENTS[field.name]}", f"{field.name} = {_toml_value(value)}", ""]
    return "\n".join(lines)


def _relative(path: Path, base_dir: Path | None) -> str:
    if base_dir is not None:
        try:
            return path.resolve().relative_to(base_dir.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def parse_toml(text: str, *, path: Path, base_dir: Path) -> PodcastSettings:
    """PodcastSettings from podcast.toml text, checked; unknown keys and wrong types are errors naming ``path``."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"not valid TOML ({exc})", path) from None
    return from_mapping(data, path=path, base_dir=base_dir)


def from_mapping(
    data: dict[str, Any], *, path: Path | str | None = None, base_dir: Path | None = None
) -> PodcastSettings:
    """PodcastSettings from parsed TOML (or any mapping), checked."""
    fields = {f.name: f for f in dataclasses.fields(PodcastSettings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise SettingsError(f"unknown setting {key!r}; known: {', '.join(fields)}", path)
        default = getattr(PodcastSettings(), key)
        if key == "cover":
            if not isinstance(value, str):
                raise SettingsError("cover must be a string (a path to an image)", path)
            cover = Path(value).expanduser() if value.strip() else None
            if cover is not None and not cover.is_absolute() and base_dir is not None:
                cover = base_dir / cover
            values[key] = cover
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise SettingsError(f"{key} must be true or false, not {value!r}", path)
            values[key] = value
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise SettingsError(f"{key} must be a whole number, not {value!r}", path)
            values[key] = value
        elif not isinstance(value, str):
            raise SettingsError(f"{key} must be a string, not {value!r}", path)
        else:
            values[key] = value
    try:
        return validate(PodcastSettings(**values))
    except SettingsError as exc:
        raise SettingsError(exc.reason, path) from None


def load_podcast(path: Path) -> PodcastSettings:
    """Read and check podcast.toml."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError("no such file; `narrator init` writes one", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot be read ({exc})", path) from None
    return parse_toml(text, path=path, base_dir=path.parent)


def save_podcast(podcast: PodcastSettings, path: Path) -> None:
    """Write podcast.toml atomically (a temporary file beside it, then a rename)."""
    write_atomic(path, render_toml(podcast, base_dir=path.parent).encode("utf-8"))


def apply_overrides(podcast: PodcastSettings, **flags: Any) -> PodcastSettings:
    """``podcast`` with the flags that were given (None = not given) put in, checked.

    Flags use the field names (``title``, ``owner_email``, ``explicit``...);
    ``category`` may be "Category > Subcategory". A relative ``cover`` is taken
    from the current folder.
    """
    fields = {f.name for f in dataclasses.fields(PodcastSettings)}
    changes: dict[str, Any] = {}
    for name, value in flags.items():
        if value is None:
            continue
        if name not in fields:
            raise TypeError(f"apply_overrides() got an unknown setting {name!r}")
        if name == "category":
            changes["category"], sub = parse_category(str(value))
            if sub or "subcategory" not in flags or flags["subcategory"] is None:
                changes["subcategory"] = sub
        elif name == "cover":
            changes["cover"] = Path(value).expanduser().absolute() if str(value).strip() else None
        else:
            changes[name] = value
    return validate(dataclasses.replace(podcast, **changes))


def resolve_podcast(output_dir: Path, *, create: bool = True, **flags: Any) -> PodcastSettings:
    """The podcast's settings for a run: podcast.toml (written with defaults when missing and ``create``), then flags.

    The flags apply to this run only; ``init_podcast`` saves them.
    """
    path = podcast_path(output_dir)
    if path.exists():
        podcast = load_podcast(path)
    else:
        podcast = PodcastSettings()
        if create:
            save_podcast(podcast, path)
    return apply_overrides(podcast, **flags)


def podcast_engine(output_dir: Path) -> str:
    """The engine the folder's podcast.toml names; "" when it names none or there is no podcast.toml."""
    path = podcast_path(output_dir)
    return load_podcast(path).engine if path.exists() else ""


def init_podcast(output_dir: Path, **flags: Any) -> Path:
    """``narrator init``: write podcast.toml, keeping what an existing one says unless a flag changes it."""
    path = podcast_path(output_dir)
    podcast = load_podcast(path) if path.exists() else PodcastSettings()
    podcast = apply_overrides(podcast, **flags)
    if podcast.cover is not None:
        check_cover(podcast.cover)
    save_podcast(podcast, path)
    return path


def keep_base_url(output_dir: Path, base_url: str) -> str:
    """Put ``base_url`` in the folder's podcast.toml (keeping the rest); says what changed, or "".

    --base-url on narrate or feed is where the folder is published, not a setting for one
    build: kept, a later build without it does not move every URL of a feed apps subscribe to.
    """
    path = podcast_path(output_dir)
    podcast = load_podcast(path) if path.exists() else PodcastSettings()
    url = normalize_base_url(base_url)
    if podcast.base_url == url and path.exists():
        return ""
    save_podcast(dataclasses.replace(podcast, base_url=url), path)
    return f"{path} now says base_url = {url!r} (it said {podcast.base_url!r})"
