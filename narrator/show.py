"""The show's settings: podcast.toml in the output folder, defaults, checks, and the cover image.

``narrator init`` writes podcast.toml; ``narrate`` creates it with defaults when
it is missing. Flags override the file for one run (``apply_overrides``). The
checks follow Apple Podcasts' feed requirements: a category from Apple's list,
an owner e-mail that can receive mail, a square JPEG or PNG cover of 1400 to
3000 pixels, a description of at most 4,000 bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import SettingsError

SHOW_FILE = "podcast.toml"
FEED_NAME = "feed.xml"
DEFAULT_BASE_URL = "http://localhost:8000/"
#: Apple's limit for channel and episode descriptions, in bytes of UTF-8.
MAX_DESCRIPTION_BYTES = 4000
#: Remembers how OUTPUT/cover.* was made, so a drawn cover follows the title.
COVER_STAMP = Path(".narrator") / "cover.stamp"

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

_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


@dataclass(frozen=True, slots=True)
class ShowSettings:
    """The podcast as a whole: what the feed's channel says."""

    title: str = "Narrated articles"
    description: str = "Articles narrated by narrator."
    author: str = "narrator"
    """The show's author (itunes:author)."""
    owner_name: str = ""
    """Who Apple contacts about the show (itunes:owner); defaults to the author."""
    owner_email: str = ""
    """Apple and other directories send verification mail here; leave empty for a private feed."""
    language: str = "en"
    """BCP 47 tag of the show's language (RSS <language>)."""
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

    @property
    def feed_url(self) -> str:
        return self.base_url + "feed.xml"

    @property
    def website(self) -> str:
        return self.link or self.base_url

    @property
    def owner(self) -> str:
        return self.owner_name or self.author


@dataclass(frozen=True, slots=True)
class Cover:
    """The show's cover as published in the output folder."""

    path: Path
    mime: str
    """"image/jpeg" or "image/png"."""
    data: bytes


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
}


def show_path(output_dir: Path) -> Path:
    return output_dir / SHOW_FILE


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


def check_email(email: str) -> str:
    """An owner e-mail address, or SettingsError.

    >>> check_email(" editor@example.com ")
    'editor@example.com'
    """
    email = email.strip()
    if email and not _EMAIL.match(email):
        raise SettingsError(f"{email!r} is not an e-mail address")
    return email


def validate(show: ShowSettings) -> ShowSettings:
    """Check every setting; returns the settings normalised (category spelling, base URL) or raises SettingsError."""
    if not _visible(show.title):
        raise SettingsError("the show's title is empty")
    if not _visible(show.description):
        raise SettingsError("the show's description is empty (RSS requires one)")
    if len(show.description.encode("utf-8")) > MAX_DESCRIPTION_BYTES:
        raise SettingsError(f"the show's description is longer than Apple's {MAX_DESCRIPTION_BYTES} bytes")
    if not _LANGUAGE.match(show.language):
        raise SettingsError(f"{show.language!r} is not a language tag such as en or pt-BR")
    if show.show_type not in ("episodic", "serial"):
        raise SettingsError(f"show_type must be episodic or serial, not {show.show_type!r}")
    category, subcategory = check_category(show.category, show.subcategory)
    link = normalize_link(show.link) if show.link.strip() else ""
    if show.guid.strip():
        try:
            uuid.UUID(show.guid.strip())
        except ValueError:
            raise SettingsError(f"guid must be a UUID, not {show.guid!r}") from None
    return dataclasses.replace(
        show,
        title=show.title.strip(),
        description=show.description.strip(),
        author=show.author.strip(),
        owner_name=show.owner_name.strip(),
        owner_email=check_email(show.owner_email),
        category=category,
        subcategory=subcategory,
        link=link,
        base_url=normalize_base_url(show.base_url),
        guid=show.guid.strip().lower(),
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


def render_toml(show: ShowSettings, *, base_dir: Path | None = None) -> str:
    """podcast.toml for ``show``, a comment above each setting; the cover relative to ``base_dir``."""
    lines = ["# narrator's settings for this podcast. `narrator feed` rebuilds feed.xml after a change.", ""]
    for field in dataclasses.fields(show):
        value: Any = getattr(show, field.name)
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


def parse_toml(text: str, *, path: Path, base_dir: Path) -> ShowSettings:
    """ShowSettings from podcast.toml text, checked; unknown keys and wrong types are errors naming ``path``."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"not valid TOML ({exc})", path) from None
    return from_mapping(data, path=path, base_dir=base_dir)


def from_mapping(data: dict[str, Any], *, path: Path | str | None = None, base_dir: Path | None = None) -> ShowSettings:
    """ShowSettings from parsed TOML (or any mapping), checked."""
    fields = {f.name: f for f in dataclasses.fields(ShowSettings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise SettingsError(f"unknown setting {key!r}; known: {', '.join(fields)}", path)
        default = getattr(ShowSettings(), key)
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
        elif not isinstance(value, str):
            raise SettingsError(f"{key} must be a string, not {value!r}", path)
        else:
            values[key] = value
    try:
        return validate(ShowSettings(**values))
    except SettingsError as exc:
        raise SettingsError(exc.reason, path) from None


def load_show(path: Path) -> ShowSettings:
    """Read and check podcast.toml."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError("no such file; `narrator init` writes one", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot be read ({exc})", path) from None
    return parse_toml(text, path=path, base_dir=path.parent)


def save_show(show: ShowSettings, path: Path) -> None:
    """Write podcast.toml atomically (a temporary file beside it, then a rename)."""
    write_atomic(path, render_toml(show, base_dir=path.parent).encode("utf-8"))


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename, so readers see the old file or the new one."""
    from .errors import OutputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror or exc})", path) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; published files are for everyone
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write ({exc.strerror or exc})", path) from exc


def apply_overrides(show: ShowSettings, **flags: Any) -> ShowSettings:
    """``show`` with the flags that were given (None = not given) put in, checked.

    Flags use the field names (``title``, ``owner_email``, ``explicit``...);
    ``category`` may be "Category > Subcategory". A relative ``cover`` is taken
    from the current folder.
    """
    fields = {f.name for f in dataclasses.fields(ShowSettings)}
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
    return validate(dataclasses.replace(show, **changes))


def resolve_show(output_dir: Path, *, create: bool = True, **flags: Any) -> ShowSettings:
    """The show's settings for a run: podcast.toml (written with defaults when missing and ``create``), then flags.

    The flags apply to this run only; ``init_show`` saves them.
    """
    path = show_path(output_dir)
    if path.exists():
        show = load_show(path)
    else:
        show = ShowSettings()
        if create:
            save_show(show, path)
    return apply_overrides(show, **flags)


def init_show(output_dir: Path, **flags: Any) -> Path:
    """``narrator init``: write podcast.toml, keeping what an existing one says unless a flag changes it."""
    path = show_path(output_dir)
    show = load_show(path) if path.exists() else ShowSettings()
    show = apply_overrides(show, **flags)
    if show.cover is not None:
        check_cover_file(show.cover)
    save_show(show, path)
    return path


def check_cover_file(path: Path) -> str:
    """Check a user's cover (square JPEG or PNG, 1400-3000 px); returns its MIME type."""
    from .cover import check_cover

    return check_cover(path)


def publish_cover(show: ShowSettings, output_dir: Path) -> Cover:
    """Put the show's cover into the output folder and return it.

    The user's image is checked and copied as cover.jpg or cover.png; without
    one, a 1400x1400 JPEG is drawn from the title, and drawn again when the
    title changes. An unchanged cover is not rewritten.
    """
    stamp_path = output_dir / COVER_STAMP
    if show.cover is not None:
        mime = check_cover_file(show.cover)
        try:
            data = show.cover.read_bytes()
        except OSError as exc:
            raise SettingsError(f"cover image cannot be read ({exc.strerror or exc})", show.cover) from None
        target = output_dir / ("cover.jpg" if mime == "image/jpeg" else "cover.png")
        stamp = "user " + hashlib.sha256(data).hexdigest()
    else:
        mime, target, data = "image/jpeg", output_dir / "cover.jpg", b""
        stamp = "drawn " + hashlib.sha256(show.title.encode("utf-8")).hexdigest()
    current = stamp_path.read_text(encoding="utf-8").strip() if stamp_path.is_file() else ""
    if current == stamp and target.is_file():
        return Cover(path=target, mime=mime, data=target.read_bytes())
    if not data:
        from .cover import draw_cover

        data = draw_cover(show.title)
    write_atomic(target, data)
    write_atomic(stamp_path, (stamp + "\n").encode("utf-8"))
    return Cover(path=target, mime=mime, data=data)
