"""What a podcast folder must look like, whatever happened to the run that wrote it.

Used by the crash and fault tests and by bench/kill_campaign.py. Two levels:

- ``published_problems``: what podcast apps see must hold at every moment, even right
  after a kill: feed.xml is well-formed, and every file it names is there with the
  length it gives (so no app downloads half an episode or a file that is not its own).
- ``settled_problems``: once any command has run after the kill, the folder agrees with
  itself: the feed and the page list exactly the library's episodes, every file the
  library records is there with its recorded size, and nothing is left over (no
  temporary files, no episode files that no episode uses).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
EPISODE_SUFFIXES = (".mp3", ".vtt", ".srt", ".chapters.json")


def _name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def feed_items(folder: Path) -> list[dict[str, object]]:
    """Each item of the folder's feed.xml: its GUID, enclosure file and length, and linked files."""
    root = etree.parse(str(folder / "feed.xml")).getroot()
    items = []
    for item in root.iter("item"):
        enclosure = item.find("enclosure")
        assert enclosure is not None
        linked = [
            _name(e.get("url") or "")
            for e in item
            if e.tag in (f"{{{PODCAST_NS}}}transcript", f"{{{PODCAST_NS}}}chapters")
        ]
        items.append(
            {
                "guid": (item.findtext("guid") or "").strip(),
                "audio": _name(enclosure.get("url") or ""),
                "length": int(enclosure.get("length") or -1),
                "linked": linked,
            }
        )
    return items


def published_problems(folder: Path) -> list[str]:
    """What is wrong with what the folder publishes now (empty when podcast apps are safe)."""
    if not (folder / "feed.xml").exists():
        return []  # nothing published yet
    try:
        items = feed_items(folder)
    except (etree.XMLSyntaxError, OSError, AssertionError) as exc:
        return [f"feed.xml cannot be read: {exc}"]
    problems = []
    for item in items:
        audio = folder / str(item["audio"])
        if not audio.is_file():
            problems.append(f"the feed names {audio.name}, which is not there")
        elif audio.stat().st_size != item["length"]:
            problems.append(f"{audio.name} is {audio.stat().st_size} bytes, the feed says {item['length']}")
        for name in item["linked"]:  # type: ignore[attr-defined]
            if not (folder / name).is_file():
                problems.append(f"the feed links {name}, which is not there")
    return problems


def library_episodes(folder: Path) -> list[tuple[str, dict[str, tuple[str, int]]]]:
    """(GUID, {kind: (file name, size)}) of each episode in the library, read with sqlite3 directly."""
    path = folder / ".narrator" / "library.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        episodes = {int(i): str(g) for i, g in db.execute("SELECT id, guid FROM episodes")}
        files: dict[int, dict[str, tuple[str, int]]] = {i: {} for i in episodes}
        for episode, kind, name, size in db.execute("SELECT episode_id, kind, name, size_bytes FROM files"):
            files.setdefault(int(episode), {})[str(kind)] = (str(name), int(size))
    finally:
        db.close()
    return [(guid, files[i]) for i, guid in episodes.items()]


def feed_limit(folder: Path) -> int:
    """How many episodes the folder's feed lists at most (podcast.toml's feed_episodes; 0: all)."""
    from narrator.podcast import PodcastSettings, load_podcast

    path = folder / "podcast.toml"
    return (load_podcast(path) if path.exists() else PodcastSettings()).feed_episodes


def settled_problems(folder: Path) -> list[str]:
    """What is wrong once a command has run after whatever happened (empty when the folder agrees with itself)."""
    problems = published_problems(folder)
    episodes = library_episodes(folder)
    if episodes and not (folder / "feed.xml").exists():
        return [*problems, "the library has episodes but there is no feed.xml"]
    if (folder / "feed.xml").exists():
        guids = sorted(str(item["guid"]) for item in feed_items(folder))
        listed = min(len(episodes), feed_limit(folder) or len(episodes))  # the feed lists the newest
        if len(guids) != listed or not set(guids) <= {guid for guid, _ in episodes}:
            problems.append(f"the feed lists {len(guids)} episodes, the library {len(episodes)}")
        pages = [folder / "index.html", *sorted(folder.glob("episodes-*.html"))]  # the newest, then the archive
        shown = sum(p.read_text(encoding="utf-8").count('<article class="episode"') for p in pages if p.exists())
        if shown != len(episodes):
            problems.append("the pages do not list the library's episodes")
    used = set()
    for _guid, files in episodes:
        for kind, (name, size) in files.items():
            used.add(name)
            path = folder / name
            if not path.is_file():
                problems.append(f"the library records {name} ({kind}), which is not there")
            elif path.stat().st_size != size:
                problems.append(f"{name} is {path.stat().st_size} bytes, the library recorded {size}")
    for path in folder.iterdir():
        if path.name.startswith(".tmp-"):
            problems.append(f"{path.name} was left behind")
        elif path.name.endswith(EPISODE_SUFFIXES) and path.name not in used:
            problems.append(f"{path.name} belongs to no episode")
    return problems
