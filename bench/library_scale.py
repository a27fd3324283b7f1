"""A podcast of 10,000 episodes: how long recording an episode takes as the library grows, and how
long and how large the feed and the pages are at 1,000 and at 10,000 episodes.

    python bench/library_scale.py [--episodes 10000] [--at 1000,10000] [--runs 5] [--narrator-root DIR]

One article is narrated for real; its files are then hard-linked under new stems and each
is claimed and recorded as a distinct episode (own source, text, chapters), as
bench/feed_library.py builds its library, so the feed and pages point at real files. Each
claim and record is timed; at each size in --at, the render a run does after each episode is
timed (the renderings the library keeps reused; and every one rendered afresh, as after an
upgrade), one more article is narrated into the podcast, and the files' sizes are measured.
With --narrator-root, the same is measured for another checkout of narrator (its own .venv),
for a before-and-after table. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "north-korea-troops-morale.txt"

#: Run by the checkout's own Python: builds the library up to N episodes, timing each claim + record.
BUILD = r"""
import json, os, sys, time
from pathlib import Path
from narrator.folder import episode_files
from narrator.library import build_key, open_library

folder, upto = Path(sys.argv[1]), int(sys.argv[2])
times = []
with open_library(folder) as library:
    first = library.episodes()[-1]
    original = episode_files(folder, first.stem)
    chapters = json.loads(original.chapters_json.read_text(encoding="utf-8"))
    have = int(library._query("SELECT COUNT(*) FROM episodes")[0][0])
    for n in range(have, upto):
        stem = f"{first.stem}-{n:05d}"
        files = episode_files(folder, stem)
        for name in ("mp3", "vtt", "srt"):
            os.link(getattr(original, name), getattr(files, name))
        titles = [c["title"] for c in json.loads(original.chapters_json.read_text(encoding="utf-8"))["chapters"]]
        for chapter, title in zip(chapters["chapters"], titles):
            chapter["title"] = f"{title} ({n})"
        files.chapters_json.write_text(json.dumps(chapters), encoding="utf-8")
        started = time.perf_counter()
        claim = library.claim(f"{first.source}#{n}", slug=stem, text_hash=f"{first.text_hash}-{n}",
                              build_key=build_key(f"{first.text_hash}-{n}", {}))
        library.record(claim, files, title=f"{first.title} (part {n})", author=first.author,
                       language=first.language, duration_ms=first.duration_ms, body=f"Part {n}.\n\n{first.body}")
        times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


#: Run by the checkout's own Python: renders the feed and the pages as a run does after each episode.
RENDER = r"""
import json, sys, time
from pathlib import Path
from narrator.library import open_library
from narrator.pipeline import render
from narrator.podcast import resolve_podcast

folder, runs, warm = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "warm"
podcast = resolve_podcast(folder, create=False)
times = []
with open_library(folder) as library:
    if warm:
        render(folder, podcast, library)  # what the last episodes need; the page cache warmed
    for _ in range(runs):
        started = time.perf_counter()
        render(folder, podcast, library)
        times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


def narrator(root: Path) -> list[str]:
    python = root / ".venv" / "bin" / "python"
    return [str(python if python.exists() else sys.executable), "-m", "narrator"]


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def forget_renderings(folder: Path) -> None:
    """As after an upgrade of narrator: every feed item, page section and archive page is rendered afresh."""
    with sqlite3.connect(folder / ".narrator" / "library.sqlite") as db:
        db.execute("DELETE FROM rendered")
        db.execute("DELETE FROM meta WHERE key LIKE 'page:%'")


def rendered(python: str, folder: Path, runs: int, root: Path, *, warm: bool) -> list[float]:
    """``runs`` timings of the render a run does after each episode (in a process of the checkout's own)."""
    mode = "warm" if warm else "cold"
    out = subprocess.run(
        [python, "-c", RENDER, str(folder), str(runs), mode], check=True, capture_output=True, cwd=root
    )
    return [float(t) for t in json.loads(out.stdout)]


def sizes(folder: Path) -> dict[str, int]:
    archive = list(folder.glob("episodes-*.html"))
    return {
        "feed": (folder / "feed.xml").stat().st_size,
        "items": (folder / "feed.xml").read_bytes().count(b"<item>"),
        "index": (folder / "index.html").stat().st_size,
        "archive_pages": len(archive),
        "archive_bytes": sum(p.stat().st_size for p in archive),
    }


def measure(root: Path, work: Path, episodes: int, at: list[int], runs: int) -> dict[str, object]:
    folder = work / f"library-{root.name}"
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([*narrator(root), "narrate", str(SEED), "-o", str(folder), "-q"], check=True, cwd=root)
    record_times: list[float] = []
    renders: dict[int, dict[str, object]] = {}
    python = narrator(root)[0]
    for size in sorted(at):
        out = subprocess.run([python, "-c", BUILD, str(folder), str(size)], check=True, capture_output=True, cwd=root)
        record_times += json.loads(out.stdout)
        kept = rendered(python, folder, runs, root, warm=True)
        afresh = []
        for _ in range(max(1, runs // 2)):
            forget_renderings(folder)
            afresh += rendered(python, folder, 1, root, warm=False)
        measured = sizes(folder)
        # One more article narrated into the podcast (the tone engine: the library's cost, not the engine's).
        article = work / f"one-more-{size}.txt"
        article.write_text(f"One more, at {size}\n\nA short article about the ferry, number {size}.\n", "utf-8")
        one_more = timed([*narrator(root), "narrate", str(article), "-o", str(folder), "--engine", "tone", "-q"], root)
        renders[size] = {
            "kept_s": statistics.median(kept),
            "afresh_s": statistics.median(afresh),
            "narrate_one_more_s": one_more,
            **measured,
        }
    chunk = max(1, min(1000, len(record_times) // 10))
    return {
        "record_first_ms": 1000 * statistics.median(record_times[:chunk]),
        "record_last_ms": 1000 * statistics.median(record_times[-chunk:]),
        "record_last_p99_ms": 1000 * sorted(record_times[-chunk:])[int(0.99 * (chunk - 1))],
        "build_s": sum(record_times),
        "chunk": chunk,
        "renders": renders,
    }


def report(name: str, result: dict[str, object]) -> None:
    print(f"\n{name}")
    print(
        f"  claim + record, median of the first {result['chunk']}: {result['record_first_ms']:.1f} ms;"
        f" of the last {result['chunk']}: {result['record_last_ms']:.1f} ms"
        f" (p99 {result['record_last_p99_ms']:.1f} ms); {result['build_s']:.0f} s in all"
    )
    renders = result["renders"]
    assert isinstance(renders, dict)
    for size, r in renders.items():
        print(
            f"  {size:>6,} episodes: feed.xml {r['feed'] / 1e6:.2f} MB ({r['items']} items),"
            f" index.html {r['index'] / 1e6:.2f} MB, {r['archive_pages']} archive pages"
            f" ({r['archive_bytes'] / 1e6:.1f} MB); render {r['kept_s']:.2f} s"
            f" (everything rendered afresh {r['afresh_s']:.2f} s);"
            f" narrate one more article {r['narrate_one_more_s']:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--at", default="1000,10000", help="sizes at which the feed is timed and measured")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--narrator-root", type=Path, help="another checkout to measure the same way (before)")
    args = parser.parse_args()
    at = sorted({int(x) for x in args.at.split(",") if int(x) <= args.episodes} | {args.episodes})
    if args.narrator_root:
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # the other checkout is only read
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="narrator-scale-") as tmp:
        results = {}
        for root in [ROOT, *([args.narrator_root.resolve()] if args.narrator_root else [])]:
            results[str(root)] = measure(root, Path(tmp), args.episodes, at, args.runs)
            report(str(root), results[str(root)])
    print(f"\nload average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
