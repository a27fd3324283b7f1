"""The episode library: one SQLite database per output folder, one row per episode.

It lives at ``OUTPUT/.narrator/library.sqlite``: a dot-folder, so a static host
that publishes the output folder leaves it out. WAL mode lets ``narrator
episodes`` read while a narration writes; every change is one ``BEGIN
IMMEDIATE`` transaction, so two runs into the same folder take turns instead of
losing each other's episodes, and a run killed at any moment leaves the last
committed state. The schema version is SQLite's ``user_version``; MIGRATIONS
bring an older library up to date when it is opened.

A narration talks to the library twice: ``claim()`` before the audio is made
(is this article new, a replacement, or unchanged?) and ``record()`` after its
files are in place.

Publishing is atomic as a whole, with the library as its journal. Every
rendition of an episode has files of its own (``STEM.mp3``, then
``STEM.v2.mp3``...), so the files the feed names are never overwritten: a run
writes the new rendition's files, records them (the old ones become garbage),
renders the feed, and only then deletes the garbage. Each change to the
episodes bumps the library's generation; the feed records the generation it
was rendered from. Whatever moment a run is killed at, the feed on disk names
files that exist as recorded, and the next command of any kind (``repair``)
renders what the library has and the feed lacks, deletes what a dead run left,
and collects the garbage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from .errors import EpisodeNotFoundError, LibraryError
from .folder import LIBRARY_NAME, PRIVATE_DIR, pid_alive
from .models import (
    Article,
    BlockKind,
    Chapter,
    EpisodeFiles,
    EpisodeRecord,
    FileKind,
    SourceKind,
    SourceOptions,
    SourceRecord,
    StoredFile,
)

#: A claim older than this belongs to a run that died without releasing it.
CLAIM_LIFETIME = timedelta(hours=12)
#: How long a writer waits for another one to finish its transaction.
BUSY_TIMEOUT_S = 60.0

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


#: MIGRATIONS[n] brings a library from schema version n to n + 1 (0 is an empty file). Each is a
#: list of statements run in one transaction with the version bump (not executescript(), which commits).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the first library: episodes with their files and chapters.
    (
        """CREATE TABLE episodes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            guid TEXT NOT NULL UNIQUE,
            stem TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            title TEXT NOT NULL,
            author TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT 'en',
            description TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            published_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            duration_ms INTEGER NOT NULL,
            chapter_count INTEGER NOT NULL
        )""",
        "CREATE INDEX episodes_source ON episodes (source)",
        """CREATE TABLE files (
            episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('audio', 'vtt', 'srt', 'chapters', 'image')),
            name TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            PRIMARY KEY (episode_id, kind)
        )""",
        """CREATE TABLE chapters (
            episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            title TEXT NOT NULL,
            PRIMARY KEY (episode_id, position)
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # 2: build keys (skip unchanged articles) and claims (two runs never pick the same stem).
    # Episodes from version 1 get an empty key, which matches nothing: they are narrated
    # once more the next time their article comes by.
    (
        "ALTER TABLE episodes ADD COLUMN build_key TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX episodes_build_key ON episodes (build_key)",
        """CREATE TABLE claims (
            stem TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            claimed_at TEXT NOT NULL
        )""",
    ),
    # 3: each episode's feed item and page section as last rendered, so a podcast of many
    # episodes renders only what changed. A cache: a row is replaced when its key (everything
    # the two are made of) changes, and goes with its episode.
    (
        """CREATE TABLE rendered (
            episode_id INTEGER PRIMARY KEY REFERENCES episodes (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            item BLOB NOT NULL,
            section TEXT NOT NULL
        )""",
    ),
    # 4: publishing as a journal. A claim names the files its run writes (so a dead run's files
    # can be deleted); garbage lists files no episode uses any more, deleted once the feed no
    # longer names them.
    (
        "ALTER TABLE claims ADD COLUMN files_stem TEXT NOT NULL DEFAULT ''",
        "CREATE TABLE garbage (name TEXT PRIMARY KEY)",
    ),
    # 5: a podcast of many thousand episodes. Each episode's revision (the generation that last
    # recorded it) tells which archive pages changed without reading the episodes; indexes make
    # claiming, recording, the newest episodes and collecting garbage cost the same however many
    # episodes there are.
    (
        "ALTER TABLE episodes ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX episodes_order ON episodes (published_at, id)",
        "CREATE INDEX claims_source ON claims (source)",
        "CREATE INDEX files_name ON files (name)",
    ),
    # 6: following sources (narrator follow, update). A source is a feed or a list of addresses, with
    # the options its articles are narrated with and the state of its last check (the validators of
    # the last version read whose every item was settled, for conditional requests; the last error);
    # source_items remembers every item seen in it by GUID, what became of it and the digest of what
    # it said, so an update narrates only what is new or edited. An episode keeps its article's link
    # (a feed item is known by its GUID, so its source is not its link).
    (
        "ALTER TABLE episodes ADD COLUMN link TEXT NOT NULL DEFAULT ''",
        """CREATE TABLE sources (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            url TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('feed', 'urls')),
            title TEXT NOT NULL DEFAULT '',
            options TEXT NOT NULL DEFAULT '{}',
            added_at TEXT NOT NULL,
            checked_at TEXT,
            ok_at TEXT,
            etag TEXT NOT NULL DEFAULT '',
            modified TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            failures INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE source_items (
            source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
            guid TEXT NOT NULL,
            entry_hash TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('narrated', 'skipped', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            seen_at TEXT NOT NULL,
            PRIMARY KEY (source_id, guid)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class Action(StrEnum):
    """What a narration should do with an article, as the library sees it."""

    NEW = "new"
    """Not in the library (or --as-new): a new episode with a new GUID."""
    REPLACE = "replace"
    """In the library but changed: new audio under the same GUID and publication date."""
    REUSE = "reuse"
    """Unchanged text and settings, files intact: nothing to encode."""
    BUSY = "busy"
    """Another run is narrating the same source right now: this one leaves it to that one."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The library's answer to "I am about to narrate this article"."""

    action: Action
    stem: str
    """File-name stem to narrate into; reserved against other runs until recorded or released."""
    source: str
    """The article's source, normalised (see ``normalize_source``)."""
    guid: str
    """The GUID the episode will have."""
    text_hash: str
    build_key: str
    existing: EpisodeRecord | None = None
    """The episode being replaced or reused."""
    files_stem: str = ""
    """The stem of the files this rendition is written to: the stem for a new episode,
    ``STEM.v2``, ``STEM.v3``... for each rendition after it (see ``rendition_stem``)."""
    busy_pid: int = 0
    """With ``Action.BUSY``: the process that is narrating the source."""


#: STEM.vN: the Nth rendition of an episode's files (the first has no suffix).
_RENDITION = re.compile(r"^(?P<stem>.+)\.v(?P<n>[0-9]+)$")
#: What follows the files stem in the name of each kind of file.
FILE_SUFFIXES = (".mp3", ".vtt", ".srt", ".chapters.json")
#: Library meta keys: the generation of the episodes (bumped by every change), and the one the
#: feed was last rendered from.
GENERATION_KEY = "generation"
RENDERED_GENERATION_KEY = "rendered_generation"
RENDERED_WITH_KEY = "rendered_with"


def rendition_stem(stem: str, audio_name: str) -> str:
    """The files stem of the rendition after the one whose MP3 is ``audio_name``.

    >>> rendition_stem("ferry", "ferry.mp3"), rendition_stem("ferry", "ferry.v2.mp3")
    ('ferry.v2', 'ferry.v3')
    """
    current = _RENDITION.match(audio_name.removesuffix(".mp3"))
    n = int(current["n"]) if current and current["stem"] == stem else 1
    return f"{stem}.v{n + 1}"


def _source_key(source: str, text_hash: str) -> str:
    """How the library knows a source: standard input by its text, anything else normalised."""
    return f"stdin:{text_hash}" if source.strip() == "-" else normalize_source(source)


def library_path(output_dir: Path) -> Path:
    """Where the library of ``output_dir`` lives."""
    return output_dir / PRIVATE_DIR / LIBRARY_NAME


def normalize_source(source: str) -> str:
    """The identity of an article's source: URLs as given, paths made absolute.

    >>> normalize_source(" https://example.com/a?b=1 ")
    'https://example.com/a?b=1'
    >>> normalize_source("/srv/articles/../articles/a.txt")
    '/srv/articles/a.txt'
    """
    source = source.strip()
    if _URL.match(source) or source.startswith(("stdin:", ITEM_PREFIX)):
        return source
    return str(Path(source).expanduser().resolve())


#: How the library knows an episode made from a followed feed's item: ``item:FEED GUID``.
ITEM_PREFIX = "item:"


def item_key(feed_url: str, guid: str) -> str:
    """The library's source for the item ``guid`` of the feed at ``feed_url``: an item edited in place,
    even under a new link, stays the same episode (RSS 2.0: the guid "uniquely identifies the item").

    >>> item_key("https://blog.example/feed.xml", "tag:blog.example,2026:42")
    'item:https://blog.example/feed.xml tag:blog.example,2026:42'
    """
    return f"{ITEM_PREFIX}{feed_url} {guid}"


def build_key(text_hash: str, settings: Mapping[str, object]) -> str:
    """Hash of an article's text and the settings that shape its files.

    Pass every setting that changes a byte of the episode's files (engine and its
    version, voice, rate, bitrate, the show title written into the tags, the
    cover's hash...); equal keys mean the files can be kept as they are.

    >>> build_key("ab12", {"voice": "en", "rate_wpm": 175})[:16]
    '998cc0e0f7959298'
    >>> build_key("ab12", {"rate_wpm": 175, "voice": "en"}) == build_key("ab12", {"voice": "en", "rate_wpm": 175})
    True
    """
    payload = json.dumps({"text": text_hash, "settings": dict(settings)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def summarize(body: str, limit: int = 400) -> str:
    """A plain-text description: the first paragraph, cut at a word to ``limit`` characters.

    >>> summarize("First para.\\n\\nSecond para.")
    'First para.'
    >>> summarize("one two three four", limit=12)
    'one two…'
    """
    first = next((p for p in body.split("\n\n") if p.strip()), "")
    first = " ".join(first.split())
    if len(first) <= limit:
        return first
    cut = first[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def article_body(article: Article) -> str:
    """What ``record(body=...)`` wants: the article's blocks as paragraphs separated by blank lines."""
    return "\n\n".join(block.text for block in article.blocks)


def article_summary(article: Article, limit: int = 400) -> str:
    """What ``record(description=...)`` wants: the first real paragraph (not a caption), shortened."""
    first = next((b.text for b in article.blocks if b.kind is BlockKind.PARAGRAPH), "")
    return summarize(first or article_body(article), limit)


def episode_dict(record: EpisodeRecord) -> dict[str, object]:
    """A record as JSON-ready data, for ``narrator episodes --json`` (the article text left out)."""
    files = {str(kind): {"name": f.name, "size_bytes": f.size_bytes} for kind, f in record.files()}
    return {
        "id": record.id,
        "guid": record.guid,
        "stem": record.stem,
        "title": record.title,
        "author": record.author,
        "language": record.language,
        "description": record.description,
        "source": record.source,
        "link": record.link,
        "text_hash": record.text_hash,
        "build_key": record.build_key,
        "published_at": record.published_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "duration_ms": record.duration_ms,
        "chapter_count": record.chapter_count,
        "chapters": [{"start_ms": c.start_ms, "end_ms": c.end_ms, "title": c.title} for c in record.chapters],
        "files": files,
    }


def read_chapters_json(path: Path, duration_ms: int) -> tuple[Chapter, ...]:
    """Chapters from a Podcasting 2.0 JSON chapters file (jsonChapters.md: times in seconds).

    A chapter without ``endTime`` ends where the next one starts, the last one
    with the episode.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        items = [c for c in doc["chapters"] if c.get("toc", True) is not False]
        starts = [round(float(c["startTime"]) * 1000) for c in items]
        chapters = []
        for i, item in enumerate(items):
            following = starts[i + 1] if i + 1 < len(items) else duration_ms
            end = round(float(item["endTime"]) * 1000) if "endTime" in item else following
            chapters.append(Chapter(start_ms=starts[i], end_ms=end, title=str(item.get("title", ""))))
    except OSError as exc:
        raise LibraryError(f"cannot read the chapters ({exc.strerror or exc})", path) from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LibraryError(f"not a JSON chapters file ({exc})", path) from exc
    return tuple(chapters)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("publication times must be timezone-aware")
    return moment.astimezone(UTC).isoformat()


class Library:
    """The episodes of one output folder. Open with ``open_library``; close when done (or use ``with``)."""

    def __init__(self, output_dir: Path, db: sqlite3.Connection) -> None:
        self.output_dir = output_dir
        self.path = library_path(output_dir)
        self._db = db
        self._depth = 0

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # -- transactions ---------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One write transaction: other writers wait until it ends. Nests.

        ``narrator feed`` renders inside it, so the feed written last is built
        from everything recorded before it.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self._errors():
            if self._db.in_transaction:  # left open by an interrupt (Ctrl-C) between BEGIN and its block
                self._db.execute("ROLLBACK")  # undone, as the interrupted block would have been
            self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            with self._errors():
                self._db.execute("ROLLBACK")
            raise
        self._depth = 0
        with self._errors():
            self._db.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """sqlite3's errors as LibraryError naming the database."""
        try:
            yield
        except sqlite3.Error as exc:
            raise LibraryError(f"library error: {exc}", self.path) from exc

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._errors():
            return self._db.execute(sql, params).fetchall()

    def _execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._errors():
            return self._db.execute(sql, params)

    @property
    def schema_version(self) -> int:
        return int(self._query("PRAGMA user_version")[0][0])

    # -- reading ----------------------------------------------------------------

    def episodes(self) -> tuple[EpisodeRecord, ...]:
        """Every episode, newest first (the feed's order)."""
        rows = self._query("SELECT * FROM episodes ORDER BY published_at DESC, id DESC")
        return self._records(rows, every=True)

    def newest(self, limit: int) -> tuple[EpisodeRecord, ...]:
        """The newest ``limit`` episodes, newest first (what the feed and index.html list)."""
        rows = self._query("SELECT * FROM episodes ORDER BY published_at DESC, id DESC LIMIT ?", (limit,))
        return self._records(rows)

    def order(self) -> tuple[tuple[int, int], ...]:
        """Every episode's id and revision, oldest first: what the archive pages are laid out from,
        without reading the episodes themselves (10,000 take a few milliseconds)."""
        rows = self._query("SELECT id, revision FROM episodes ORDER BY published_at, id")
        return tuple((int(episode), int(revision)) for episode, revision in rows)

    def records(self, ids: Sequence[int]) -> tuple[EpisodeRecord, ...]:
        """The episodes ``ids`` (in that order; ones removed meanwhile left out)."""
        found: dict[int, EpisodeRecord] = {}
        for start in range(0, len(ids), 500):  # SQLite's limit on parameters is 999 in old builds
            chunk = tuple(ids[start : start + 500])
            rows = self._query(f"SELECT * FROM episodes WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            found.update((record.id, record) for record in self._records(rows))
        return tuple(found[episode] for episode in ids if episode in found)

    def get(self, episode_id: int) -> EpisodeRecord | None:
        return self._one("SELECT * FROM episodes WHERE id = ?", (episode_id,))

    def by_source(self, source: str) -> EpisodeRecord | None:
        """The latest episode narrated from ``source`` (a path or URL, normalised here)."""
        return self._one(
            "SELECT * FROM episodes WHERE source = ? ORDER BY published_at DESC, id DESC LIMIT 1",
            (normalize_source(source),),
        )

    def by_build_key(self, key: str) -> EpisodeRecord | None:
        """An episode built from the same text and settings, if any."""
        if not key:
            return None
        return self._one("SELECT * FROM episodes WHERE build_key = ? ORDER BY id DESC LIMIT 1", (key,))

    def find(self, ref: str) -> EpisodeRecord:
        """The episode ``ref`` names: its id, GUID, stem, MP3 file name or source."""
        ref = ref.strip()
        if ref.isdigit():
            found = self.get(int(ref))
            if found:
                return found
        for column, value in (("guid", ref), ("stem", ref), ("stem", ref.removesuffix(".mp3"))):
            found = self._one(f"SELECT * FROM episodes WHERE {column} = ?", (value,))
            if found:
                return found
        found = self._one(
            "SELECT * FROM episodes WHERE id = (SELECT episode_id FROM files WHERE name = ? LIMIT 1)", (ref,)
        )
        if found:
            return found
        found = self.by_source(ref)
        if found:
            return found
        raise EpisodeNotFoundError(
            f"no episode {ref!r} in the library; `narrator episodes` lists ids and stems", self.output_dir
        )

    def files_intact(self, record: EpisodeRecord) -> bool:
        """True when every file of ``record`` is in the output folder with the size recorded."""
        for _kind, stored in record.files():
            try:
                if (self.output_dir / stored.name).stat().st_size != stored.size_bytes:
                    return False
            except OSError:
                return False
        return True

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.locked():
            self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        with self.locked():
            self._execute("DELETE FROM meta WHERE key = ?", (key,))

    def rendered(self, ids: Iterable[int] | None = None) -> dict[int, tuple[str, bytes, str]]:
        """Each episode's feed item and page section as last rendered: id -> (key, item XML, section HTML);
        of the episodes ``ids`` only, when given. An empty item or section was not rendered."""
        if ids is None:
            rows = self._query("SELECT episode_id, key, item, section FROM rendered")
        else:
            wanted, rows = list(ids), []
            for start in range(0, len(wanted), 500):
                chunk = tuple(wanted[start : start + 500])
                rows += self._query(
                    "SELECT episode_id, key, item, section FROM rendered"
                    f" WHERE episode_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
        return {episode: (key, bytes(item), section) for episode, key, item, section in rows}

    def keep_rendered(self, rows: Mapping[int, tuple[str, bytes, str]]) -> None:
        """Remember newly rendered feed items and page sections (see ``rendered``)."""
        if not rows:
            return
        with self.locked(), self._errors():
            self._db.executemany(
                "INSERT OR REPLACE INTO rendered (episode_id, key, item, section)"
                " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM episodes WHERE id = ?)",
                [(episode, key, item, section, episode) for episode, (key, item, section) in rows.items()],
            )

    # -- writing ----------------------------------------------------------------

    def claim(self, source: str, *, slug: str, text_hash: str, build_key: str, as_new: bool = False) -> Claim:
        """Decide what narrating ``source`` should do, and reserve the stem it will use.

        ``slug`` is the stem wanted for a new episode; if another episode (or a
        run in progress) has it, ``-2``, ``-3``... is added. Source ``-``
        (standard input) is told apart by its text. Pair with ``record()``
        after the files are written, or ``release()`` when the run fails.
        """
        if not _STEM.match(slug):
            raise ValueError(f"not a file-name stem: {slug!r}")
        source = _source_key(source, text_hash)
        with self.locked():
            self._drop_stale_claims(source=source)  # this source's only: the cost of a claim stays the same
            busy = self._query("SELECT pid FROM claims WHERE source = ? AND pid != ?", (source, os.getpid()))
            if busy:  # one run at a time narrates a source: the other one would make a second episode of it
                return Claim(Action.BUSY, "", source, "", text_hash, build_key, busy_pid=int(busy[0][0]))
            existing = None if as_new else self.by_source(source)
            if existing is not None:
                if self._unchanged(existing, build_key):
                    return Claim(Action.REUSE, existing.stem, source, existing.guid, text_hash, build_key, existing)
                action, stem, guid = Action.REPLACE, existing.stem, existing.guid
                files_stem = rendition_stem(stem, existing.audio.name)
            else:
                action, stem, guid = Action.NEW, self._free_stem(slug), str(uuid.uuid4())
                files_stem = stem
            self._execute(
                "INSERT OR REPLACE INTO claims (stem, source, pid, host, claimed_at, files_stem)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (stem, source, os.getpid(), socket.gethostname(), _iso(_now()), files_stem),
            )
            # Names a dead run left as garbage may be this rendition's again: they are this run's now.
            for name in _files_of(files_stem):
                self._execute("DELETE FROM garbage WHERE name = ?", (name,))
        return Claim(action, stem, source, guid, text_hash, build_key, existing, files_stem)

    def reusable(self, source: str, *, text_hash: str, build_key: str) -> EpisodeRecord | None:
        """The episode ``claim`` would reuse as it is (same source, same build key, files intact), asked
        without writing anything: lets a run find out what it has to do before it changes the folder."""
        existing = self.by_source(_source_key(source, text_hash))
        return existing if existing is not None and self._unchanged(existing, build_key) else None

    def _unchanged(self, record: EpisodeRecord, build_key: str) -> bool:
        return record.build_key == build_key and self.files_intact(record)

    def release(self, *claims: Claim) -> None:
        """Give back claims whose narration failed or was stopped (in one transaction); their stems are
        free again, and whatever files the run wrote for them go."""
        given = [claim for claim in claims if claim.action in (Action.NEW, Action.REPLACE)]
        if given:
            with self.locked():
                for claim in given:
                    self._execute("DELETE FROM claims WHERE stem = ? AND source = ?", (claim.stem, claim.source))
                    self._discard(_files_of(claim.files_stem))
            self.collect_garbage()

    def record(
        self,
        claim: Claim,
        files: EpisodeFiles,
        *,
        title: str,
        author: str,
        language: str,
        duration_ms: int,
        body: str,
        description: str | None = None,
        image: Path | None = None,
        published_at: datetime | None = None,
        link: str = "",
    ) -> EpisodeRecord:
        """Record the episode whose files are now in the output folder, and return it.

        Sizes are measured and chapters read from ``files.chapters_json`` here, so
        the library agrees with what is published. A replacement keeps the
        episode's id, GUID and publication date. ``description`` defaults to the
        first paragraph of ``body``; ``published_at`` (new episodes only) to now.
        """
        stored = {kind: self._stored(path, required=kind is FileKind.AUDIO) for kind, path in files.paths()}
        stored[FileKind.IMAGE] = self._stored(image)
        chapters = read_chapters_json(files.chapters_json, duration_ms) if stored[FileKind.CHAPTERS] else ()
        audio = stored[FileKind.AUDIO]
        if audio is None or audio.name != f"{claim.files_stem or claim.stem}.mp3":
            raise ValueError(f"{files.mp3} is not the claimed rendition {claim.files_stem or claim.stem!r}")
        now = _now()
        summary = summarize(body) if description is None else description
        fields = (claim.source, claim.text_hash, claim.build_key, title, author, language, summary, body, link)
        with self.locked():
            row = self._query("SELECT id FROM episodes WHERE stem = ?", (claim.stem,))
            if row:
                episode_id = int(row[0][0])
                before = self._query("SELECT name FROM files WHERE episode_id = ?", (episode_id,))
                self._execute(
                    "UPDATE episodes SET source = ?, text_hash = ?, build_key = ?, title = ?, author = ?,"
                    " language = ?, description = ?, body = ?, link = ?, updated_at = ?, duration_ms = ?,"
                    " chapter_count = ?"
                    " WHERE id = ?",
                    (*fields, _iso(now), duration_ms, len(chapters), episode_id),
                )
            else:
                # Replacing an episode that was removed meanwhile keeps its date all the same.
                first_published = claim.existing.published_at if claim.existing else min(published_at or now, now)
                cursor = self._execute(
                    "INSERT INTO episodes (guid, stem, source, text_hash, build_key, title, author, language,"
                    " description, body, link, published_at, updated_at, duration_ms, chapter_count)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (claim.guid, claim.stem, *fields, _iso(first_published), _iso(now), duration_ms, len(chapters)),
                )
                episode_id = int(cursor.lastrowid or 0)
                before = []
            self._execute("DELETE FROM files WHERE episode_id = ?", (episode_id,))
            self._execute("DELETE FROM chapters WHERE episode_id = ?", (episode_id,))
            for kind, item in stored.items():
                if item is not None:
                    self._execute(
                        "INSERT INTO files (episode_id, kind, name, size_bytes) VALUES (?, ?, ?, ?)",
                        (episode_id, kind, item.name, item.size_bytes),
                    )
            for position, chapter in enumerate(chapters):
                self._execute(
                    "INSERT INTO chapters (episode_id, position, start_ms, end_ms, title) VALUES (?, ?, ?, ?, ?)",
                    (episode_id, position, chapter.start_ms, chapter.end_ms, chapter.title),
                )
            self._execute("DELETE FROM claims WHERE stem = ?", (claim.stem,))
            kept = {item.name for item in stored.values() if item is not None}
            self._discard(str(name) for (name,) in before if name not in kept)  # the rendition before
            self._bump_generation()
            self._execute(
                "UPDATE episodes SET revision = (SELECT value FROM meta WHERE key = ?) WHERE id = ?",
                (GENERATION_KEY, episode_id),
            )
            record = self.get(episode_id)
        assert record is not None
        return record

    def remove(self, ref: str) -> EpisodeRecord:
        """Take the episode ``ref`` names (see ``find``) out of the library; its files stay.

        Rebuild the feed next, then ``delete_files()``: the feed never points at
        a deleted file, and a run killed in between leaves only stray files.
        """
        with self.locked():
            record = self.find(ref)
            self._execute("DELETE FROM episodes WHERE id = ?", (record.id,))
            self._discard(stored.name for _kind, stored in record.files())
            self._bump_generation()
        return record

    # -- followed sources ---------------------------------------------------------

    def follow(self, url: str, kind: SourceKind, *, title: str, options: SourceOptions) -> tuple[SourceRecord, bool]:
        """Add the source ``url`` (a feed's address, a list's absolute path), or give a followed one the new
        ``options``; returns it, and whether it is new. Its items and episodes are kept."""
        with self.locked():
            found = self._query("SELECT id FROM sources WHERE url = ?", (url,))
            if found:
                self._execute(
                    "UPDATE sources SET options = ?, title = CASE WHEN ? != '' THEN ? ELSE title END WHERE id = ?",
                    (_options_json(options), title, title, int(found[0][0])),
                )
                source_id, added = int(found[0][0]), False
            else:
                cursor = self._execute(
                    "INSERT INTO sources (url, kind, title, options, added_at) VALUES (?, ?, ?, ?, ?)",
                    (url, str(kind), title, _options_json(options), _iso(_now())),
                )
                source_id, added = int(cursor.lastrowid or 0), True
        record = self.source(source_id)
        assert record is not None
        return record, added

    def sources(self) -> tuple[SourceRecord, ...]:
        """Every followed source, in the order they were added, with the counts of their items."""
        return tuple(_source(row) for row in self._query(f"{_SOURCES} ORDER BY s.id"))

    def source(self, source_id: int) -> SourceRecord | None:
        rows = self._query(f"{_SOURCES} WHERE s.id = ?", (source_id,))
        return _source(rows[0]) if rows else None

    def find_source(self, ref: str) -> SourceRecord:
        """The source ``ref`` names: its id, its address, or (a list) its path."""
        ref = ref.strip()
        for record in self.sources():
            if ref == str(record.id) or ref == record.url or normalize_source(ref) == record.url:
                return record
        raise EpisodeNotFoundError(f"no followed source {ref!r}; `narrator sources` lists them", self.output_dir)

    def unfollow(self, ref: str) -> SourceRecord:
        """Stop following the source ``ref`` names (see ``find_source``); its episodes stay."""
        with self.locked():
            record = self.find_source(ref)
            self._execute("DELETE FROM sources WHERE id = ?", (record.id,))
        return record

    def seen_items(self, source_id: int) -> dict[str, SeenItem]:
        """What became of every item seen in the source so far, by GUID."""
        rows = self._query(
            "SELECT guid, entry_hash, state, attempts FROM source_items WHERE source_id = ?", (source_id,)
        )
        return {str(g): SeenItem(str(h), ItemState(str(state)), int(n)) for g, h, state, n in rows}

    def settle_items(self, source_id: int, settled: Iterable[tuple[str, str, ItemState, str]]) -> None:
        """Remember what became of items of the source: (GUID, entry digest, state, error) each. A failed
        item counts one more attempt; a narrated or skipped one is settled for good (until it is edited)."""
        now = _iso(_now())
        with self.locked():
            for guid, entry_hash, state, error in settled:
                self._execute(
                    "INSERT INTO source_items (source_id, guid, entry_hash, state, attempts, error, seen_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, guid) DO UPDATE SET"
                    " entry_hash = excluded.entry_hash, state = excluded.state, error = excluded.error,"
                    " attempts = CASE WHEN excluded.state = 'failed' THEN attempts + 1 ELSE 0 END",
                    (source_id, guid, entry_hash, str(state), 1 if state is ItemState.FAILED else 0, error, now),
                )

    def checked(
        self,
        source_id: int,
        *,
        error: str = "",
        title: str = "",
        validators: tuple[str, str] | None = None,
    ) -> None:
        """Note a check of the source: ``error`` when something went wrong (one more failure in a row), else
        it went well; ``title`` the feed's own; ``validators`` (ETag, Last-Modified) once every item of the
        version read is settled (None keeps the ones before)."""
        now = _iso(_now())
        with self.locked():
            if error:
                self._execute(
                    "UPDATE sources SET checked_at = ?, error = ?, failures = failures + 1 WHERE id = ?",
                    (now, error, source_id),
                )
            else:
                self._execute(
                    "UPDATE sources SET checked_at = ?, ok_at = ?, error = '', failures = 0 WHERE id = ?",
                    (now, now, source_id),
                )
            if title:
                self._execute("UPDATE sources SET title = ? WHERE id = ?", (title, source_id))
            if validators is not None:
                self._execute("UPDATE sources SET etag = ?, modified = ? WHERE id = ?", (*validators, source_id))

    # -- the journal: generations, dead runs, garbage ------------------------------------

    def has_episodes(self) -> bool:
        return bool(self._query("SELECT 1 FROM episodes LIMIT 1"))

    @property
    def generation(self) -> int:
        """Bumped by every change to the episodes: the feed is current when it was rendered from this."""
        return int(self.get_meta(GENERATION_KEY) or 0)

    def feed_is_current(self) -> bool:
        """Whether the feed was last rendered from the episodes as they are now."""
        rendered = self.get_meta(RENDERED_GENERATION_KEY)
        return rendered is not None and int(rendered) == self.generation

    def rendered_from(self, generation: int, settings: str) -> None:
        """Note that the feed now on disk was rendered from ``generation`` with ``settings`` (a digest of
        what it shows besides the episodes), inside the render's lock."""
        self.set_meta(RENDERED_GENERATION_KEY, str(generation))
        self.set_meta(RENDERED_WITH_KEY, settings)

    def rendered_with(self) -> str:
        """The digest of the settings the feed on disk was rendered with ("" when not known)."""
        return self.get_meta(RENDERED_WITH_KEY) or ""

    def _bump_generation(self) -> None:
        self._execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value = value + 1",
            (GENERATION_KEY,),
        )

    def _discard(self, names: Iterable[str]) -> None:
        """Mark files for deletion once the feed no longer names them (inside a transaction)."""
        for name in names:
            self._execute("INSERT OR IGNORE INTO garbage (name) VALUES (?)", (name,))

    def drop_dead_claims(self) -> None:
        """Forget the claims of runs that died, and mark what they wrote as garbage."""
        with self.locked():
            self._drop_stale_claims()

    def collect_garbage(self) -> tuple[Path, ...]:
        """Delete the files marked as garbage that no episode uses, once the feed is current.

        A file the feed may still name stays until the feed has been rendered again.
        """
        with self.locked():
            if not self.feed_is_current():
                return ()
            in_use = {
                str(row[0])  # only the garbage's names are looked up in the files (by their index)
                for row in self._query(
                    "SELECT name FROM garbage WHERE EXISTS (SELECT 1 FROM files WHERE files.name = garbage.name)"
                )
            }
            for (files_stem,) in self._query("SELECT files_stem FROM claims"):  # a live run is writing these
                in_use.update(_files_of(str(files_stem)))
            deleted = []
            for (name,) in self._query("SELECT name FROM garbage"):
                if name not in in_use:
                    path = self.output_dir / str(name)
                    try:
                        path.unlink()
                        deleted.append(path)
                    except FileNotFoundError:
                        pass
                    except OSError as exc:
                        raise LibraryError(f"cannot delete ({exc.strerror or exc})", path) from exc
                self._execute("DELETE FROM garbage WHERE name = ?", (name,))
        return tuple(deleted)

    def disagreements(self) -> list[str]:
        """What the library records and the folder holds differently: one line per episode file."""
        found = []
        for record in self.episodes():
            for kind, stored in record.files():
                path = self.output_dir / stored.name
                try:
                    size = path.stat().st_size
                except OSError:
                    found.append(f"{stored.name}: the {kind} file of episode {record.id} is missing")
                    continue
                if size != stored.size_bytes:
                    found.append(
                        f"{stored.name}: {size} bytes, where the library recorded {stored.size_bytes}"
                        f" for episode {record.id}"
                    )
        return found

    def delete_files(self, record: EpisodeRecord) -> tuple[Path, ...]:
        """Delete a removed episode's files, except any that another episode still uses."""
        in_use = {str(row[0]) for row in self._query("SELECT name FROM files")}
        deleted = []
        for _kind, stored in record.files():
            if stored.name in in_use:
                continue
            path = self.output_dir / stored.name
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise LibraryError(f"cannot delete ({exc.strerror or exc})", path) from exc
            deleted.append(path)
        return tuple(deleted)

    # -- helpers ------------------------------------------------------------------

    def _stored(self, path: Path | None, *, required: bool = False) -> StoredFile | None:
        if path is None:
            return None
        if path.parent.resolve() != self.output_dir.resolve():
            raise ValueError(f"{path} is not in the output folder {self.output_dir}")
        try:
            return StoredFile(name=path.name, size_bytes=path.stat().st_size)
        except FileNotFoundError:
            if required:
                raise LibraryError("the episode's file is missing", path) from None
            return None
        except OSError as exc:
            raise LibraryError(f"cannot read ({exc.strerror or exc})", path) from exc

    def _free_stem(self, slug: str) -> str:
        """``slug``, or ``slug-2``, ``slug-3``... whichever no episode and no live claim has (each looked up
        by its index, so a library of many episodes claims as fast as an empty one)."""
        stem, n = slug, 1
        while self._query("SELECT 1 FROM episodes WHERE stem = ?", (stem,)) or self._claimed(stem):
            n += 1
            stem = f"{slug}-{n}"
        return stem

    def _claimed(self, stem: str) -> bool:
        """Whether a live run has claimed ``stem`` (a dead run's claim is dropped here)."""
        rows = self._query("SELECT stem, pid, host, claimed_at, files_stem FROM claims WHERE stem = ?", (stem,))
        return bool(rows) and not self._drop_if_stale(rows)

    def _drop_stale_claims(self, *, source: str | None = None) -> None:
        """Forget the claims of runs that died (of ``source``'s claims only, when given)."""
        sql = "SELECT stem, pid, host, claimed_at, files_stem FROM claims"
        self._drop_if_stale(self._query(sql + " WHERE source = ?", (source,)) if source else self._query(sql))

    def _drop_if_stale(self, rows: Iterable[sqlite3.Row]) -> bool:
        """Drop the claims among ``rows`` whose run died (their files become garbage); whether all were."""
        host = socket.gethostname()
        expired = _iso(_now() - CLAIM_LIFETIME)
        every = True
        for stem, pid, claim_host, claimed_at, files_stem in rows:
            if claimed_at < expired or (claim_host == host and not pid_alive(int(pid))):
                self._execute("DELETE FROM claims WHERE stem = ?", (stem,))
                self._discard(_files_of(files_stem))
            else:
                every = False
        return every

    def _one(self, sql: str, params: tuple[object, ...]) -> EpisodeRecord | None:
        records = self._records(self._query(sql, params))
        return records[0] if records else None

    def _records(self, rows: list[sqlite3.Row], *, every: bool = False) -> tuple[EpisodeRecord, ...]:
        """Records for episode ``rows``, with their files and chapters (``every``: the rows are all episodes)."""
        if not rows:
            return ()
        ids = [int(r["id"]) for r in rows]
        where, params = ("", ()) if every else (f"WHERE episode_id IN ({','.join('?' * len(ids))})", tuple(ids))
        files: dict[int, dict[str, StoredFile]] = {i: {} for i in ids}
        # (An episode added by another run between these queries is not among ``ids``: skipped.)
        for episode, kind, name, size in self._query(
            f"SELECT episode_id, kind, name, size_bytes FROM files {where}", params
        ):
            if episode in files:
                files[episode][kind] = StoredFile(name, size)
        chapters: dict[int, list[Chapter]] = {i: [] for i in ids}
        sql = f"SELECT episode_id, start_ms, end_ms, title FROM chapters {where} ORDER BY episode_id, position"
        for episode, start, end, title in self._query(sql, params):
            if episode in chapters:
                chapters[episode].append(Chapter(start, end, title))
        return tuple(_record(row, files[int(row["id"])], tuple(chapters[int(row["id"])])) for row in rows)


class ItemState(StrEnum):
    """What became of an item of a followed source."""

    NARRATED = "narrated"
    """It is an episode (narrated by this update or an earlier one, or found unchanged)."""
    SKIPPED = "skipped"
    """Left out for good: older than the newest ``max_items`` when the source was first read."""
    FAILED = "failed"
    """It could not be read (no article in it, its page could not be fetched); tried again while
    ``attempts`` is below ``MAX_ATTEMPTS``."""


#: How many updates try an item that cannot be read before it is given up.
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class SeenItem:
    """An item seen in a followed source, as the library remembers it."""

    entry_hash: str
    """The digest of what the item said when last read (``FeedItem.entry_hash``)."""
    state: ItemState
    attempts: int
    """Updates in a row that could not read it."""


_SOURCES = (
    "SELECT s.*,"
    " (SELECT COUNT(*) FROM source_items i WHERE i.source_id = s.id AND i.state = 'narrated') AS narrated,"
    " (SELECT COUNT(*) FROM source_items i WHERE i.source_id = s.id AND i.state = 'skipped') AS skipped,"
    " (SELECT COUNT(*) FROM source_items i WHERE i.source_id = s.id AND i.state = 'failed') AS failed"
    " FROM sources s"
)


def _options_dict(options: SourceOptions) -> dict[str, object]:
    """A source's options as the library stores them and ``narrator sources --json`` shows them."""
    return {
        "max": options.max_items,
        "language": options.language,
        "voice": options.voice,
        "engine": options.engine,
        "lexicon": options.lexicon,
        "full_page": options.full_page,
    }


def _options_json(options: SourceOptions) -> str:
    return json.dumps(_options_dict(options), sort_keys=True)


def source_options(data: str) -> SourceOptions:
    """A source's options as the library keeps them (JSON), missing ones at their defaults.

    >>> source_options('{"max": 5, "voice": "en-gb"}')
    SourceOptions(max_items=5, language='', voice='en-gb', engine='', lexicon='', full_page=False)
    """
    raw = json.loads(data or "{}")
    default = SourceOptions()
    return SourceOptions(
        max_items=int(raw.get("max", default.max_items)),
        language=str(raw.get("language", "")),
        voice=str(raw.get("voice", "")),
        engine=str(raw.get("engine", "")),
        lexicon=str(raw.get("lexicon", "")),
        full_page=bool(raw.get("full_page", False)),
    )


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _source(row: sqlite3.Row) -> SourceRecord:
    return SourceRecord(
        id=int(row["id"]),
        url=str(row["url"]),
        kind=SourceKind(str(row["kind"])),
        title=str(row["title"]),
        options=source_options(str(row["options"])),
        added_at=datetime.fromisoformat(str(row["added_at"])),
        checked_at=_when(row["checked_at"]),
        ok_at=_when(row["ok_at"]),
        etag=str(row["etag"]),
        modified=str(row["modified"]),
        error=str(row["error"]),
        failures=int(row["failures"]),
        narrated=int(row["narrated"]),
        skipped=int(row["skipped"]),
        failed=int(row["failed"]),
    )


def source_dict(record: SourceRecord) -> dict[str, object]:
    """A source as JSON-ready data, for ``narrator sources --json``."""
    options = record.options
    return {
        "id": record.id,
        "url": record.url,
        "kind": str(record.kind),
        "title": record.title,
        "options": _options_dict(options),
        "added_at": record.added_at.isoformat(),
        "checked_at": record.checked_at.isoformat() if record.checked_at else None,
        "ok_at": record.ok_at.isoformat() if record.ok_at else None,
        "error": record.error,
        "failures": record.failures,
        "narrated": record.narrated,
        "skipped": record.skipped,
        "failed": record.failed,
    }


def _files_of(files_stem: str) -> list[str]:
    """The names a rendition's files have."""
    return [files_stem + suffix for suffix in FILE_SUFFIXES] if files_stem else []


def _record(row: sqlite3.Row, files: dict[str, StoredFile], chapters: tuple[Chapter, ...]) -> EpisodeRecord:
    return EpisodeRecord(
        id=int(row["id"]),
        guid=str(row["guid"]),
        stem=str(row["stem"]),
        source=str(row["source"]),
        text_hash=str(row["text_hash"]),
        build_key=str(row["build_key"]),
        title=str(row["title"]),
        author=str(row["author"]),
        language=str(row["language"]),
        description=str(row["description"]),
        body=str(row["body"]),
        published_at=datetime.fromisoformat(str(row["published_at"])),
        updated_at=datetime.fromisoformat(str(row["updated_at"])),
        duration_ms=int(row["duration_ms"]),
        audio=files.get(FileKind.AUDIO) or StoredFile(f"{row['stem']}.mp3", 0),
        vtt=files.get(FileKind.VTT),
        srt=files.get(FileKind.SRT),
        chapters_json=files.get(FileKind.CHAPTERS),
        image=files.get(FileKind.IMAGE),
        chapters=chapters,
        link=str(row["link"]),
    )


def migrate(db: sqlite3.Connection, path: Path, target: int = SCHEMA_VERSION) -> int:
    """Bring the database up to schema version ``target``, in one transaction; returns the version found."""
    try:
        db.execute("BEGIN IMMEDIATE")  # re-read the version under the lock: another run may have migrated
        found = int(db.execute("PRAGMA user_version").fetchone()[0])
        if found > SCHEMA_VERSION:
            db.execute("ROLLBACK")
            raise LibraryError(
                f"the library has schema version {found}, newer than this narrator knows ({SCHEMA_VERSION});"
                " upgrade narrator",
                path,
            )
        for version in range(found, target):
            for statement in MIGRATIONS[version]:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise LibraryError(f"cannot update the library to schema version {target}: {exc}", path) from exc
    return found


def connect(path: Path) -> sqlite3.Connection:
    """A connection set up the way the library needs it (WAL, foreign keys, waiting for other writers)."""
    # isolation_level=None: no implicit transactions; Library.locked() says where they begin and end.
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    db.row_factory = sqlite3.Row
    try:
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise LibraryError(f"the library needs WAL mode, but SQLite chose {mode!r} here", path)
        db.execute("PRAGMA synchronous = FULL")  # a committed episode survives a power cut
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        db.close()
        raise LibraryError(f"not a narrator library ({exc})", path) from exc
    except LibraryError:
        db.close()
        raise
    return db


def open_library(output_dir: Path, *, create: bool = True) -> Library:
    """Open (with ``create``: make) the library of ``output_dir``, migrated to the current schema."""
    path = library_path(output_dir)
    if not path.exists():
        if not create:
            raise LibraryError("no episode library here yet; narrate an article into this folder first", output_dir)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create the library folder ({exc.strerror or exc})", path.parent) from exc
    try:
        db = connect(path)
    except sqlite3.Error as exc:
        raise LibraryError(f"cannot open the library ({exc})", path) from exc
    try:
        migrate(db, path)
    except LibraryError:
        db.close()
        raise
    return Library(output_dir, db)
