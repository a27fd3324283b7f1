"""Benchmarks for narrator's speed and memory targets; prints a table of medians and ratios.

Every comparison is measured side by side in one run, alternating the commands,
so a busy machine slows both sides alike. Nothing here asserts: it reports.

    python bench/run.py              # all targets
    python bench/run.py --runs 7     # more alternations
    python bench/run.py --only cold,scale

Targets (from the speed work order, on a 2-core machine):
  1. cold run        narrator narrate SEED (empty cache, fresh folder)  <= 0.8 x  espeak-ng + lame
  2. unchanged rerun same article, settings and folder                  <= 0.25 x the cold run
  3. scale           ~10,000 distinct words                             <= 17 x a ~630-word article,
                     largest process                                    <= 300 MiB resident
  4. feed            feed.xml + index.html for 1,000 episodes           <= 1 s
  5. wall of text    50 KB in one paragraph                             <= 1.5 x the same text in paragraphs,
                     largest process                                    <= 300 MiB resident
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "north-korea-troops-morale.txt"
NARRATOR = [sys.executable, "-m", "narrator"]


def run(cmd: list[str], **kwargs: object) -> float:
    """Wall time of one command, which must succeed."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - start


def run_with_rss(cmd: list[str]) -> tuple[float, float]:
    """Wall time and the largest resident set of any process in the command's tree, in MiB.

    A separate Python process waits for the command, so RUSAGE_CHILDREN covers
    exactly that command and its descendants (the synthesis workers included).
    """
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True).stdout
    wall, rss_kib = out.split()
    return float(wall), int(rss_kib) / 1024


def alternate(commands: dict[str, list[str]], runs: int, prepare: dict[str, object] | None = None) -> dict[str, float]:
    """Median wall time of each command, running them in turn ``runs`` times (after one warm-up each)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, cmd in commands.items():
            if prepare and name in prepare:
                prepare[name]()  # type: ignore[operator]
            elapsed = run(cmd)
            if round_:  # the first round warms the page cache and is not counted
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def baseline_command(article: Path, work: Path) -> list[str]:
    wav, mp3 = work / "x.wav", work / "x.mp3"
    return ["bash", "-c", f"espeak-ng -f '{article}' -w '{wav}' && lame --quiet -b 64 -m m '{wav}' '{mp3}'"]


def synthetic_article(words: int, seed: int = 7) -> str:
    """An article of about ``words`` words, no sentence repeated: paragraphs of 4-6 sentences
    made from the seed article's vocabulary, each sentence numbered so none repeats."""
    vocabulary = sorted(set(re.findall(r"[A-Za-z][a-z]+", SEED.read_text(encoding="utf-8"))))
    rng = random.Random(seed)
    paragraphs, count, n = [], 0, 0
    while count < words:
        sentences = []
        for _ in range(rng.randint(4, 6)):
            n += 1
            body = " ".join(rng.choice(vocabulary).lower() for _ in range(rng.randint(9, 17)))
            sentences.append(f"Point {n}: {body}.")
            count += len(body.split()) + 2
        paragraphs.append(" ".join(sentences))
    return f"A long synthetic article of {words} words\n\nBy Bench Mark\n\n" + "\n\n".join(paragraphs) + "\n"


def bench_cold_and_rerun(runs: int, work: Path) -> list[tuple[str, str, str]]:
    rows = []
    cache = work / "cache"
    fresh = work / "fresh"

    def reset() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(fresh, ignore_errors=True)

    cold_cmd = [*NARRATOR, "narrate", str(SEED), "-o", str(fresh), "--cache-dir", str(cache), "-q"]
    medians = alternate(
        {"baseline": baseline_command(SEED, work), "cold": cold_cmd},
        runs,
        prepare={"cold": reset},
    )
    ratio = medians["cold"] / medians["baseline"]
    rows.append(("espeak-ng -w + lame -b 64 (bare job)", f"{medians['baseline']:.2f} s", ""))
    rows.append(("1. cold narrate (empty cache)", f"{medians['cold']:.2f} s", f"{ratio:.2f}x baseline (<= 0.8)"))

    # Unchanged re-run: same folder, same settings, cache warm.
    kept = work / "kept"
    shutil.rmtree(kept, ignore_errors=True)
    run([*NARRATOR, "narrate", str(SEED), "-o", str(kept), "--cache-dir", str(cache), "-q"])
    rerun_cmd = [*NARRATOR, "narrate", str(SEED), "-o", str(kept), "--cache-dir", str(cache), "-q"]
    medians2 = alternate({"cold": cold_cmd, "rerun": rerun_cmd}, runs, prepare={"cold": reset})
    ratio2 = medians2["rerun"] / medians2["cold"]
    rows.append(("2. unchanged re-run", f"{medians2['rerun']:.2f} s", f"{ratio2:.2f}x cold (<= 0.25)"))

    # One paragraph changed: only its sentences are synthesized again.
    edited = work / "edited.txt"
    text = SEED.read_text(encoding="utf-8").replace("None can understand why", "Nobody can understand why")
    edited.write_text(text, encoding="utf-8")
    shutil.copy(SEED, work / "original.txt")
    before = sum(1 for _ in cache.rglob("*.wav"))
    elapsed = run([*NARRATOR, "narrate", str(edited), "-o", str(kept), "--cache-dir", str(cache), "-q"])
    after = sum(1 for _ in cache.rglob("*.wav"))
    rows.append(("   one sentence edited", f"{elapsed:.2f} s", f"{after - before} sentence(s) synthesized"))
    return rows


def bench_scale(runs: int, work: Path) -> list[tuple[str, str, str]]:
    small, large = work / "small.txt", work / "large.txt"
    small.write_text(synthetic_article(630, seed=1), encoding="utf-8")
    large.write_text(synthetic_article(10_000, seed=2), encoding="utf-8")
    results: dict[str, list[tuple[float, float]]] = {"small": [], "large": []}
    for _ in range(max(1, runs // 2)):
        for name, article in (("small", small), ("large", large)):
            out = work / f"scale-{name}"
            shutil.rmtree(out, ignore_errors=True)
            results[name].append(run_with_rss([*NARRATOR, "narrate", str(article), "-o", str(out), "--no-cache", "-q"]))
    t_small = statistics.median(t for t, _ in results["small"])
    t_large = statistics.median(t for t, _ in results["large"])
    rss = max(r for runs_ in results.values() for _, r in runs_)
    duration = subprocess.run(
        [
            *("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"),
            str(work / "scale-large" / "large.mp3"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return [
        ("3. ~630 words", f"{t_small:.2f} s", ""),
        (
            f"   ~10,000 words ({float(duration) / 60:.0f} min of audio)",
            f"{t_large:.2f} s",
            f"{t_large / t_small:.1f}x small (<= 17)",
        ),
        ("   largest process, resident", f"{rss:.0f} MiB", "(<= 300 MiB)"),
    ]


def bench_wall(runs: int, work: Path, size_bytes: int = 50_000) -> list[tuple[str, str, str]]:
    """The same text in paragraphs and as one paragraph: time and memory must not depend on its shape."""
    text = synthetic_article(size_bytes // 6, seed=3)
    head, _, body = text.partition("\n\nBy Bench Mark\n\n")
    body = body[: max(size_bytes - len(head), 0)].rsplit(".", 1)[0] + ".\n"
    paragraphs, wall = work / "paragraphs.txt", work / "wall.txt"
    paragraphs.write_text(f"{head}\n\n{body}", encoding="utf-8")
    wall.write_text(f"{head}\n\n" + " ".join(body.split()) + "\n", encoding="utf-8")
    results: dict[str, list[tuple[float, float]]] = {"paragraphs": [], "wall": []}
    for _ in range(max(1, runs // 2)):
        for name, article in (("paragraphs", paragraphs), ("wall", wall)):
            out = work / f"wall-{name}"
            shutil.rmtree(out, ignore_errors=True)
            results[name].append(run_with_rss([*NARRATOR, "narrate", str(article), "-o", str(out), "--no-cache", "-q"]))
    t_paragraphs = statistics.median(t for t, _ in results["paragraphs"])
    t_wall = statistics.median(t for t, _ in results["wall"])
    rss = max(r for _, r in results["wall"])
    kb = wall.stat().st_size // 1000
    return [
        (f"5. {kb} KB in paragraphs", f"{t_paragraphs:.2f} s", ""),
        (f"   {kb} KB in one paragraph", f"{t_wall:.2f} s", f"{t_wall / t_paragraphs:.2f}x paragraphs (<= 1.5)"),
        ("   largest process, resident", f"{rss:.0f} MiB", "(<= 300 MiB)"),
    ]


def bench_feed(runs: int, work: Path) -> list[tuple[str, str, str]]:
    sys.path.insert(0, str(ROOT))
    try:
        from bench.feed_library import build_library
    except ImportError as exc:  # the library and feed arrive with the feed work order
        return [("4. feed for 1,000 episodes", "n/a", f"not available: {exc}")]
    import sqlite3

    folder = work / "feed-library"
    shutil.rmtree(folder, ignore_errors=True)
    build_library(folder, episodes=1000, seed_article=SEED)
    command = [*NARRATOR, "feed", "-o", str(folder)]
    run(command)  # the library's migration and the first renderings

    def forget_renderings() -> None:  # as after an upgrade of narrator, or a new base URL
        with sqlite3.connect(folder / ".narrator" / "library.sqlite") as db:
            db.execute("DELETE FROM rendered")

    medians = alternate({"kept": command, "afresh": command}, runs, prepare={"afresh": forget_renderings})
    return [
        ("4. feed.xml + index.html, 1,000 episodes", f"{medians['kept']:.2f} s", "(<= 1 s)"),
        ("   the same, every episode rendered afresh", f"{medians['afresh']:.2f} s", ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="alternations per comparison (default 5)")
    parser.add_argument("--only", default="cold,scale,feed,wall", help="comma-separated: cold, scale, feed, wall")
    args = parser.parse_args()
    for tool in ("espeak-ng", "lame", "ffprobe"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is needed (apt-get install espeak-ng lame ffmpeg)")
    # As an installed package is: compiled to bytecode (an edited module would otherwise be
    # compiled again on every run where PYTHONDONTWRITEBYTECODE is set).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "narrator")], check=True)
    chosen = set(args.only.split(","))
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="narrator-bench-") as tmp:
        work = Path(tmp)
        if "cold" in chosen:
            rows += bench_cold_and_rerun(args.runs, work)
        if "scale" in chosen:
            rows += bench_scale(args.runs, work)
        if "feed" in chosen:
            rows += bench_feed(args.runs, work)
        if "wall" in chosen:
            rows += bench_wall(args.runs, work)
    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.platform()}")
    print(f"medians of {args.runs} alternated runs\n")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>9}  {note}")


if __name__ == "__main__":
    main()
