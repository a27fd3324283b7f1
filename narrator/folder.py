"""The podcast folder: what its files are called, and writing them so that no reader sees half a file.

Everything narrator publishes lies flat in the output folder; what is private
(the library, the cover's stamp) lies in the dot-folder ``.narrator``, which
static hosts and ``narrator serve`` leave out. Every file is written to a
temporary file or folder inside the output folder and renamed into place when
complete (a rename within one file system is atomic), so a run that is killed
leaves the previous files as they were; the next run sweeps what it left.

The render cache lives here too: each episode's feed item and page section,
kept in the library with a key of everything they are made of, so a rebuild
renders only what changed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from .errors import OutputError
from .models import EpisodeFiles, EpisodeRecord, FileKind

FEED_NAME = "feed.xml"
PAGE_NAME = "index.html"
PODCAST_FILE = "podcast.toml"
LEXICON_FILE = "lexicon.toml"
#: The private part of the folder: never published.
PRIVATE_DIR = ".narrator"
LIBRARY_NAME = "library.sqlite"
#: Remembers how OUTPUT/cover.* was made, so a drawn cover follows the title.
COVER_STAMP = Path(PRIVATE_DIR) / "cover.stamp"
#: Temporary files and folders start with this (a dot-file: never served).
TEMP_PREFIX = ".tmp-"

#: The MIME type of each kind of episode file, as the feed and the server give it.
MIME_TYPES = {
    FileKind.AUDIO: "audio/mpeg",
    FileKind.VTT: "text/vtt",
    FileKind.SRT: "application/x-subrip",
    # Podcasting 2.0 jsonChapters.md names its own type.
    FileKind.CHAPTERS: "application/json+chapters",
}

T = TypeVar("T")


def episode_files(output_dir: Path, stem: str) -> EpisodeFiles:
    """The files of the episode ``stem``: STEM.mp3, .vtt, .srt and .chapters.json."""
    return EpisodeFiles(
        mp3=output_dir / f"{stem}.mp3",
        vtt=output_dir / f"{stem}.vtt",
        srt=output_dir / f"{stem}.srt",
        chapters_json=output_dir / f"{stem}.chapters.json",
    )


def podcast_path(output_dir: Path) -> Path:
    return output_dir / PODCAST_FILE


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename, so readers see the old file or the new one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(), dir=path.parent)
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


@contextmanager
def staging(output_dir: Path) -> Iterator[Path]:
    """A temporary folder inside ``output_dir`` (same file system, so renames are atomic)."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        # The pid in the name lets a later run sweep what a killed run left.
        folder = Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=output_dir))
    except OSError as exc:
        raise OutputError(f"cannot write to the output folder ({exc.strerror or exc})", output_dir) from exc
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def temp_prefix() -> str:
    """What this process's temporary files and folders start with: the pid in it lets a later run
    sweep what a killed one left."""
    return f"{TEMP_PREFIX}{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs on this machine (a run's leftovers are swept once it has gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: A temporary file without a pid in its name (from narrator 0.1) is swept once it is this old.
ORPHAN_AGE_S = 3600


def sweep_stale(folder: Path, prefix: str = TEMP_PREFIX) -> int:
    """Remove the temporary files and folders that killed runs left in ``folder`` (named
    ``PREFIX``, the run's pid, a dash); returns how many.

    Those of a process that still runs stay: it may be writing them now.
    """
    import time

    swept = 0
    for path in folder.glob(f"{prefix}*"):
        pid = path.name[len(prefix) :].split("-")[0]
        try:
            if pid.isdigit() and "-" in path.name[len(prefix) :]:
                if pid_alive(int(pid)):
                    continue
            elif time.time() - path.lstat().st_mtime < ORPHAN_AGE_S:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            swept += 1
        except OSError:
            continue
    return swept


# --- the render cache -----------------------------------------------------------------


@dataclass
class Rendered(Generic[T]):
    """Each episode's rendering (feed item or page section) from before, by episode id: (key,
    rendering); a render uses those whose key still matches and adds what it made to ``fresh``."""

    known: dict[int, tuple[str, T]] = field(default_factory=dict)
    fresh: dict[int, tuple[str, T]] = field(default_factory=dict)

    def get(self, episode_id: int, key: str) -> T | None:
        known = self.known.get(episode_id)
        return known[1] if known is not None and known[0] == key and known[1] else None  # empty: not rendered


class RenderedFor(Protocol):
    """What of the podcast's settings an episode's renderings show besides the episode itself."""

    @property
    def base_url(self) -> str: ...

    @property
    def language(self) -> str: ...


#: The modules whose code every rendering depends on.
RENDERING_MODULES = ("feed.py", "page.py", "markup.py")


@functools.cache
def rendering_code() -> str:
    """What every rendering also depends on: the code that renders and the libraries it uses."""
    from feedgen.version import version_str
    from lxml import etree

    from . import __version__

    code = hashlib.sha256()
    for module in RENDERING_MODULES:
        with contextlib.suppress(OSError):  # not installed as files: the version has to do
            code.update(Path(__file__).with_name(module).read_bytes())
    return f"{__version__}/{code.hexdigest()}/feedgen-{version_str}/lxml-{etree.__version__}"


def rendering_key(podcast: RenderedFor, record: EpisodeRecord) -> str:
    """Everything an episode's feed item and page section are made of: the same key, the same renderings."""
    key = hashlib.sha256(f"{rendering_code()}\n{podcast.base_url}\n{podcast.language}\n".encode())
    for text in (record.body, record.description):  # hashed as they are: repr() would escape them first
        data = text.encode("utf-8", "surrogatepass")
        key.update(b"%d:%b" % (len(data), data))  # with its length: where one ends and the next begins
    key.update(repr(replace(record, body="", description="")).encode("utf-8", "surrogatepass"))
    return key.hexdigest()


def page_key(*parts: object) -> str:
    """Everything an archive page is made of (its episodes' ids and revisions, its links, the podcast's
    title...), with the code that renders it: the same key, the same page.

    >>> page_key("episodes-1.html", ((1, 4), (2, 4))) == page_key("episodes-1.html", ((1, 4), (2, 5)))
    False
    """
    return hashlib.sha256(f"{rendering_code()}\n{parts!r}".encode("utf-8", "surrogatepass")).hexdigest()


def renderings_to_keep(
    known: dict[int, tuple[str, bytes, str]],
    items: dict[int, tuple[str, bytes]],
    sections: dict[int, tuple[str, str]],
) -> dict[int, tuple[str, bytes, str]]:
    """Library rows for the episodes whose feed item or page section was rendered anew.

    Both are kept under one key; when only one of them is made of the current things (an
    episode on an archive page, beyond the feed's newest), the other is kept empty, and
    rendered when it is needed.
    """
    rows = {}
    for episode in items.keys() | sections.keys():
        before = known.get(episode, ("", b"", ""))
        key, item = items.get(episode) or (before[0], before[1])
        section_key, section = sections.get(episode) or (before[0], before[2])
        if key == section_key and item and section:  # both made of the same things
            rows[episode] = (key, item, section)
        elif episode in sections:
            rows[episode] = (section_key, b"", section)
        elif item:
            rows[episode] = (key, item, "")
    return rows
