"""Caption cues measured: their size, and how near each inner cue boundary lies to the word boundary.

Narrates the seed and the long articles in tests/data/long with the real engine
(pyttsx3 over espeak-ng), then reads back what a listener gets: the WebVTT file
(webvtt-py) and the MP3 decoded by ffmpeg. Prints, per article and in all:

* cue statistics: cues, sentences, the longest line, lines per cue, characters
  and seconds per cue (the limits: 2 lines of 42 characters, 7 s);
* for each inner cue boundary (a cue that starts inside a sentence), its distance
  to the word boundary in the decoded audio, found from a 10 ms RMS envelope by
  the kind of boundary it is:
  - after a pause (a silence of 80 ms or more, below -60 dBFS, ending within 300 ms
    of it): the onset of sound after the pause, where the word starts;
  - a word starting with a stop consonant (p b t d k g c q) in running speech: the
    nearest dip of the envelope at least 12 dB below the sound within 80 ms on
    both sides (the closure before the burst), 0 inside one;
  - any other word in running speech: the same with dips of 6 dB. A boundary
    between two continuous sounds ("file is") has no dip at all, so this last
    figure is bounded by the reference, not by the timing.
  Beside each, for scale, the same for where an estimate by character counts
  would put the boundary (what captions did before word timings).

usage: python bench/cue_timing.py [ARTICLE...]
"""

from __future__ import annotations

import itertools
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import webvtt

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [ROOT / "seeds" / "north-korea-troops-morale.txt", *sorted((ROOT / "tests" / "data" / "long").glob("*.txt"))]
SILENCE_DB = 30.0  # dB re one 16-bit step: about -60 dBFS
FLANK_MS, REGION_DB, SEARCH_MS = 80, 3.0, 150


def decode(mp3: Path) -> tuple[np.ndarray, int]:
    rate = 22_050
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(mp3), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64), rate


def envelope_db(samples: np.ndarray, rate: int) -> np.ndarray:
    """RMS over 10 ms centred on every millisecond, in dB re one 16-bit step."""
    cs = np.concatenate(([0.0], np.cumsum(samples * samples)))
    centres = np.arange(samples.size * 1000 // rate) * rate // 1000  # exactly every millisecond, no drift
    half = rate * 10 // 2000
    lo, hi = np.clip(centres - half, 0, samples.size), np.clip(centres + half, 0, samples.size)
    return 10 * np.log10((cs[hi] - cs[lo]) / np.maximum(1, hi - lo) + 1e-9)


def low_regions(env: np.ndarray, dip_db: float) -> list[tuple[int, int]]:
    """Silences, and dips at least ``dip_db`` below the sound on both sides: [start, end) in ms."""
    silent = env < SILENCE_DB
    edges = np.flatnonzero(np.diff(np.concatenate(([0], silent.astype(np.int8), [0]))))
    regions = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    minima = np.flatnonzero((env[1:-1] <= env[:-2]) & (env[1:-1] < env[2:]) & ~silent[1:-1]) + 1
    n = env.size
    for i in minima:
        left = env[max(0, i - FLANK_MS) : i].max(initial=-np.inf)
        right = env[i + 1 : i + 1 + FLANK_MS].max(initial=-np.inf)
        if min(left, right) - env[i] < dip_db:
            continue
        limit, a, b = env[i] + REGION_DB, i, i + 1
        while a > 0 and env[a - 1] <= limit:
            a -= 1
        while b < n and env[b] <= limit:
            b += 1
        regions.append((int(a), int(b)))
    return sorted(regions)


def error_ms(at: float, regions: list[tuple[int, int]]) -> float:
    """Distance from ``at`` to the nearest region (0 inside one; SEARCH_MS when none is that near)."""
    best = float(SEARCH_MS)
    for a, b in regions:
        if a <= at < b:
            return 0.0
        best = min(best, abs(at - (b - 1)) if at >= b else abs(a - at))
    return best


def summary(errors: list[float]) -> str:
    if not errors:
        return "n/a"
    ordered = sorted(errors)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    within = sum(e <= 60 for e in errors) / len(errors)
    return f"median {statistics.median(errors):5.1f} ms  p90 {p90:5.1f}  max {max(errors):5.1f}  <=60 ms {within:6.1%}"


def pauses(env: np.ndarray) -> list[tuple[int, int]]:
    """Silent stretches of 80 ms or more with sound after them: [start, end) in ms."""
    silent = env < SILENCE_DB
    edges = np.flatnonzero(np.diff(np.concatenate(([0], silent.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 80 and b < env.size]


KINDS = ("after a pause", "stop consonant", "other")


def judge(at: float, word: str, onsets: list[int], dips: dict[str, list[tuple[int, int]]]) -> tuple[str, float, object]:
    """The kind of boundary near ``at`` starting ``word``, its error, and how to judge another point the same way."""
    near = [b for b in onsets if abs(b - at) <= 300]
    if near:
        onset = min(near, key=lambda b: abs(b - at))
        return KINDS[0], abs(at - onset), lambda t: abs(t - onset)
    regions = dips["dip12"] if word[:1].lower() in "pbtdkgcq" else dips["dip6"]
    kind = KINDS[1] if word[:1].lower() in "pbtdkgcq" else KINDS[2]
    return kind, error_ms(at, regions), lambda t: error_ms(t, regions)


def main() -> None:
    texts = [Path(a) for a in sys.argv[1:]] or TEXTS
    with tempfile.TemporaryDirectory(prefix="narrator-cues-") as tmp:
        out = Path(tmp) / "out"
        command = [sys.executable, "-m", "narrator", "narrate", *map(str, texts), "-o", str(out), "--no-cache", "-q"]
        subprocess.run(command, check=True)
        totals: dict[str, list[float]] = {"cues": [], "sentences": [], "ms": [], "chars": []}
        errors: dict[str, list[float]] = {kind: [] for kind in KINDS}
        estimates: dict[str, list[float]] = {kind: [] for kind in KINDS}
        max_line = max_lines = 0
        for text in texts:
            stem = next(p.stem for p in out.glob("*.vtt") if p.stem.startswith(text.stem[:20]))
            cues = list(webvtt.read(str(out / f"{stem}.vtt")))
            samples, rate = decode(out / f"{stem}.mp3")
            env = envelope_db(samples, rate)
            dips = {"dip6": low_regions(env, 6.0), "dip12": low_regions(env, 12.0)}
            onsets = [b for _, b in pauses(env)]
            sentences: dict[str, list[webvtt.Caption]] = {}
            for cue in cues:
                sentences.setdefault(cue.identifier.rpartition(".")[0], []).append(cue)
            lengths = [c.end_time.in_milliseconds() - c.start_time.in_milliseconds() for c in cues]
            lines = [line for c in cues for line in c.text.split("\n")]
            max_line = max(max_line, *map(len, lines))
            max_lines = max(max_lines, *(len(c.text.split("\n")) for c in cues))
            totals["cues"].append(len(cues))
            totals["sentences"].append(len(sentences))
            totals["ms"] += lengths
            totals["chars"] += [len(c.text.replace("\n", " ")) for c in cues]
            inner = 0
            for group in sentences.values():
                start, end = group[0].start_time.in_milliseconds(), group[-1].end_time.in_milliseconds()
                whole = sum(len(c.text.replace("\n", " ")) + 1 for c in group) - 1
                done = 0
                for before, cue in itertools.pairwise(group):
                    done += len(before.text.replace("\n", " ")) + 1
                    word = cue.text.split()[0].lstrip("“\"'(‘«")
                    kind, error, same = judge(cue.start_time.in_milliseconds(), word, onsets, dips)
                    errors[kind].append(error)
                    estimates[kind].append(same(start + (end - start) * done / whole))  # type: ignore[operator]
                    inner += 1
            print(
                f"{text.name:34} {len(cues):4} cues {len(sentences):4} sentences  longest line "
                f"{max(map(len, lines))}  longest cue {max(lengths) / 1000:.2f} s  inner boundaries {inner}"
            )
        ms, chars = totals["ms"], totals["chars"]
        print()
        print(
            f"all: {sum(totals['cues'])} cues for {sum(totals['sentences'])} sentences; longest line {max_line} "
            f"characters, at most {max_lines} lines; cues over 2 x 42 characters {sum(c > 85 for c in chars)}"
        )
        print(
            f"     characters per cue median {statistics.median(chars):.0f}, max {max(chars)}; seconds per cue median "
            f"{statistics.median(ms) / 1000:.2f}, max {max(ms) / 1000:.2f}, over 7 s {sum(m > 7000 for m in ms)}"
        )
        print()
        every = [e for kind in KINDS for e in errors[kind]]
        print(f"inner cue boundaries: {len(every)}; distance to the word boundary in the decoded MP3")
        for kind in KINDS:
            print(f"  {kind:15} {len(errors[kind]):4}  cue start  {summary(errors[kind])}")
            print(f"  {'':15} {'':4}  estimate   {summary(estimates[kind])}")
        print(f"  {'all':15} {len(every):4}  cue start  {summary(every)}")
        print(f"  {'':15} {'':4}  estimate   {summary([e for kind in KINDS for e in estimates[kind]])}")


if __name__ == "__main__":
    sys.exit(main())
