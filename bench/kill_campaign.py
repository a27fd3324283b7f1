"""Kill narrate at random moments and check what every kill left; prints the figures, asserts nothing.

    python bench/kill_campaign.py              # 60 kills with the real engine
    python bench/kill_campaign.py --kills 200 --engine tone

Each round narrates into one podcast folder, taking turns between a new article
and an article already in the podcast narrated again in place (the case where a
kill once left the MP3 and the feed disagreeing), and sends SIGKILL at a random
moment of the run (uniform over how long such a run takes), sometimes to two
runs at once. After each kill it checks, with tests/consistency.py:
  - right away: what the folder publishes is sound (the feed names files that are
    there with the lengths it gives), as podcast apps would see it mid-crash;
  - after the next command (``narrator episodes``): the folder agrees with itself
    (feed, page and library list the same episodes, nothing left over);
  - that no process of the killed run is left (its engines die with it);
  - and that the next narration succeeds.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from consistency import published_problems, settled_problems  # noqa: E402

NARRATOR = [sys.executable, "-m", "narrator"]


def article(n: int, version: int) -> str:
    paragraphs = [
        f"Part {p} of story {n}, version {version}: the harbour ferry leaves at {p % 24} o'clock, and crew {p + n}"
        " checks the bicycles before the crossing."
        for p in range(6)
    ]
    return f"Harbour story {n}\n\n" + "\n\n".join(paragraphs) + "\n"


def left_running(marker: str, wait_s: float = 5) -> list[str]:
    """Processes whose command line names ``marker`` still running after ``wait_s`` (killed then)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
        if not found or time.monotonic() > deadline:
            for pid in found:
                subprocess.run(["kill", "-9", pid], check=False)
            return found
        time.sleep(0.1)


def timed_run(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--engine", default="pyttsx3")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tally = {
        "kills": 0,
        "in place": 0,
        "two at once": 0,
        "no process left": 0,
        "sound right away": 0,
        "settled": 0,
        "next run ok": 0,
    }
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="narrator-kills-") as tmp:
        work = Path(tmp)
        out, cache = work / "podcast", work / "cache"
        common = ["-o", str(out), "--engine", args.engine, "--cache-dir", str(cache), "-q"]
        sources = [work / f"story-{n}.txt" for n in range(4)]
        for n, path in enumerate(sources):
            path.write_text(article(n, 0), encoding="utf-8")
        length = timed_run([*NARRATOR, "narrate", str(sources[0]), *common])  # how long one run takes
        shutil.rmtree(cache, ignore_errors=True)
        for round_ in range(args.kills):
            n = rng.randrange(len(sources))
            in_place = (out / f"story-{n}.mp3").exists() or any(out.glob(f"story-{n}.v*.mp3"))
            sources[n].write_text(article(n, round_ + 1), encoding="utf-8")  # changed: narrated again
            both = rng.random() < 0.2
            targets = [sources[n], sources[(n + 1) % len(sources)]] if both else [sources[n]]
            runs = [
                subprocess.Popen([*NARRATOR, "narrate", str(t), *common], stderr=subprocess.DEVNULL) for t in targets
            ]
            time.sleep(rng.uniform(0, length * 1.2))
            for run in runs:
                run.send_signal(signal.SIGKILL)
                run.wait()
            orphans = left_running(str(out))
            tally["no process left"] += not orphans
            problems += [f"round {round_}: process {pid} outlived the killed run" for pid in orphans]
            tally["kills"] += 1
            tally["in place"] += in_place
            tally["two at once"] += both
            now = published_problems(out)
            tally["sound right away"] += not now
            problems += [f"round {round_}, right away: {p}" for p in now]
            subprocess.run([*NARRATOR, "episodes", "-o", str(out)], capture_output=True, check=False)
            later = settled_problems(out)
            tally["settled"] += not later
            problems += [f"round {round_}, after the next command: {p}" for p in later]
            again = subprocess.run([*NARRATOR, "narrate", str(sources[n]), *common], capture_output=True, text=True)
            ok = again.returncode == 0 and not settled_problems(out)
            tally["next run ok"] += ok
            if not ok:
                problems.append(f"round {round_}, next run: {again.stderr.strip() or settled_problems(out)}")
    print(f"engine {args.engine}, one run about {length:.2f} s, kills at random moments up to {length * 1.2:.2f} s")
    for name, count in tally.items():
        print(f"{name:<18} {count:>4}" + (f"  of {tally['kills']}" if name != "kills" else ""))
    for problem in problems:
        print("problem:", problem)


if __name__ == "__main__":
    main()
