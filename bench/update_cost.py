"""What `narrator update` costs when nothing is new: 50 local feeds, each answering 304.

    python bench/update_cost.py [--sources 50] [--runs 5]

Serves 50 feeds of 3 items each on 127.0.0.1 (tests/feedsite.py), follows them,
runs one update (which narrates the newest item of each with the tone engine,
--max 1), then times --runs more updates with nothing new as real processes, and
counts the requests the site answered. Prints the figures; asserts nothing (the
machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from feedsite import Post, serve_site  # noqa: E402


def narrator(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "narrator", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"narrator {' '.join(args)} failed:\n{done.stderr}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with serve_site() as site, tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "podcast"
        feeds = [
            site.blog(f"/feed{i}.xml", [Post(1000 * i + n, paragraphs=4) for n in range(3)], title=f"Blog {i}")
            for i in range(args.sources)
        ]
        narrator("follow", *feeds, "-o", str(out), "--max", "1", "--engine", "tone")
        narrator("update", "-o", str(out), "--no-cache", "-q")
        seconds, requests, not_modified = [], [], []
        for _ in range(args.runs):
            before, before_304 = site.total(), sum(site.not_modified.values())
            start = time.perf_counter()
            done = narrator("update", "-o", str(out), "--no-cache")
            seconds.append(time.perf_counter() - start)
            requests.append(site.total() - before)
            not_modified.append(sum(site.not_modified.values()) - before_304)
            assert done.stdout == "", done.stdout
        baseline = []
        for _ in range(args.runs):  # what any command costs: Python, narrator's start-up, the library opened
            start = time.perf_counter()
            narrator("sources", "-o", str(out))
            baseline.append(time.perf_counter() - start)
        print(f"narrator update, nothing new, {args.sources} local feeds ({args.runs} runs, after a first update):")
        print(
            f"  wall time   median {statistics.median(seconds):.2f} s  (min {min(seconds):.2f}, max {max(seconds):.2f})"
        )
        print(
            f"  requests    {statistics.median(requests):.0f} per update,"
            f" {statistics.median(not_modified):.0f} of them answered 304"
        )
        print(f"  last line   {done.stderr.strip().splitlines()[-1]}")
        print(f"  narrator sources (start-up and the library alone): median {statistics.median(baseline):.2f} s")


if __name__ == "__main__":
    main()
