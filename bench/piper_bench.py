"""Benchmarks for the Piper engine: speed and memory against bare piper, the rate, the piece length, levers.

Nothing here asserts: it prints figures. Commands are alternated and medians taken,
so a busy machine slows both sides alike; CPU seconds (user + system, every process
of the command) are given beside wall seconds, since they are steadier on a shared machine.

    python bench/piper_bench.py                     # speed, then rate
    python bench/piper_bench.py --only speed --runs 7
    python bench/piper_bench.py --only rate         # words a minute asked and heard, on the seed
    python bench/piper_bench.py --only pieces       # memory and CPU against the longest text per model run
    python bench/piper_bench.py --only levers       # onnxruntime session options: CPU, memory, same samples?

Targets (issue 12, on a 2-core machine):
  narrate SEED --engine piper (cold)  <= 0.9 x  python -m piper -m VOICE.onnx -i SEED -f out.wav, then lame
  its largest process                 <= 400 MiB resident
  an unchanged re-run                 <= 0.05 x the cold run
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "north-korea-troops-morale.txt"
NARRATOR = [sys.executable, "-m", "narrator"]
#: Runs a command and prints its wall seconds, its processes' CPU seconds and the largest resident set (KiB).
PROBE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss)\n"
)


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and the largest resident set (MiB) of any process of ``cmd``."""
    out = subprocess.run([sys.executable, "-c", PROBE, *cmd], check=True, capture_output=True, text=True).stdout
    wall, cpu, rss = out.split()
    return float(wall), float(cpu), int(rss) / 1024


def joe_model() -> Path:
    from narrator.engines.piper import discover_voices

    return next(v.model for v in discover_voices() if v.id == "en_US-joe-medium")


def seed_chunks() -> list[str]:
    """The seed's texts as narrate gives them to the engine."""
    from narrator.readers.text import read_article
    from narrator.segment import segment_article

    script = segment_article(read_article(SEED), rate_wpm=175)
    return [chunk for sentence in script.sentences() for chunk in sentence.chunks]


def bench_speed(runs: int, work: Path) -> list[str]:
    wav, mp3 = work / "bare.wav", work / "bare.mp3"
    piper = f"{sys.executable} -m piper -m '{joe_model()}' -i '{SEED}' -f '{wav}'"
    bare = f"{piper} && lame --quiet -b 64 -m m '{wav}' '{mp3}'"
    cache, fresh, kept = work / "cache", work / "fresh", work / "kept"
    cold = [*NARRATOR, "narrate", str(SEED), "--engine", "piper", "-o", str(fresh), "--cache-dir", str(cache), "-q"]
    rerun = [*NARRATOR, "narrate", str(SEED), "--engine", "piper", "-o", str(kept), "--cache-dir", str(work / "kc")]
    subprocess.run([*rerun, "-q"], check=True)  # the folder and cache the re-runs find unchanged
    commands = {"bare": ["bash", "-c", bare], "cold": cold, "rerun": [*rerun, "-q"]}
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, cmd in commands.items():
            if name == "cold":
                shutil.rmtree(cache, ignore_errors=True)
                shutil.rmtree(fresh, ignore_errors=True)
            figures = measure(cmd)
            print(f"  round {round_} {name}: {figures[0]:.2f} s, {figures[1]:.2f} s CPU, {figures[2]:.0f} MiB",
                  file=sys.stderr, flush=True)  # fmt: skip
            if round_:  # the first round warms the page cache and is not counted
                results[name].append(figures)

    def median(name: str, index: int) -> float:
        return statistics.median(r[index] for r in results[name])

    base, cold_wall = median("bare", 0), median("cold", 0)
    rows = [
        "| command | wall s (median) | ratio | CPU s (median) | largest process MiB (max) | walls |",
        "|---|---|---|---|---|---|",
    ]
    labels = {
        "bare": "`python -m piper -m VOICE.onnx -i SEED -f out.wav` + `lame -b 64` (bare job)",
        "cold": "`narrator narrate SEED --engine piper` (empty cache, new folder)",
        "rerun": "the same, unchanged re-run",
    }
    for name, runs_ in results.items():
        ratio = {"bare": "1.00", "cold": f"{cold_wall / base:.2f} x bare (<= 0.9)"}.get(
            name, f"{median(name, 0) / cold_wall:.3f} x cold (<= 0.05)"
        )
        walls = ", ".join(f"{w:.1f}" for w, _c, _r in runs_)
        rows.append(
            f"| {labels[name]} | {median(name, 0):.2f} | {ratio} | {median(name, 1):.2f} |"
            f" {max(r for _w, _c, r in runs_):.0f} | {walls} |"
        )
    return rows


def bench_rate(rates: list[int]) -> list[str]:
    """Words a minute heard at each asked rate: the seed's words over its clips as narrate trims them
    (the pauses inside sentences count; the pauses narrate puts between them do not)."""
    from narrator.engines.piper import PiperEngine, length_scale_for
    from narrator.synth import trim_silence

    engine = PiperEngine()
    chunks = seed_chunks()
    words = sum(len(chunk.split()) for chunk in chunks)
    rows = ["| asked wpm | length scale | heard wpm | error | seconds of speech |", "|---|---|---|---|---|"]
    for rate in rates:
        seconds = sum(len(trim_silence(engine.synthesize(c, "", rate).pcm, 22050)) / 2 / 22050 for c in chunks)
        heard = words * 60 / seconds
        error = 100 * (heard - rate) / rate
        rows.append(f"| {rate} | {length_scale_for(rate):.3f} | {heard:.1f} | {error:+.1f}% | {seconds:.1f} |")
    return rows


PIECES_CHILD = """
import json, resource, sys, time
from narrator.engines import piper
piper.MAX_CHARS = int(sys.argv[1])
chunks = json.loads(sys.argv[2])
engine = piper.PiperEngine()
start = resource.getrusage(resource.RUSAGE_SELF)
from narrator.synth import trim_silence
seconds = sum(len(trim_silence(engine.synthesize(c, "", 175).pcm, 22050)) / 2 / 22050 for c in chunks)
end = resource.getrusage(resource.RUSAGE_SELF)
cpu = end.ru_utime + end.ru_stime - start.ru_utime - start.ru_stime
print(json.dumps({"rss": end.ru_maxrss / 1024, "cpu": cpu, "audio": seconds}))
"""


def bench_pieces(limits: list[int], runs: int) -> list[str]:
    """One engine process per limit, the seed's chunks spoken in pieces of at most that many characters."""
    chunks = json.dumps(seed_chunks())
    results: dict[int, list[dict[str, float]]] = {limit: [] for limit in limits}
    for _ in range(runs):
        for limit in limits:
            cmd = [sys.executable, "-c", PIECES_CHILD, str(limit), chunks]
            results[limit].append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
    rows = [
        "| max characters per model run | peak resident MiB (engine process) | CPU s (median) | seconds of speech |",
        "|---|---|---|---|",
    ]
    for limit, runs_ in results.items():
        rss = max(r["rss"] for r in runs_)
        cpu = statistics.median(r["cpu"] for r in runs_)
        audio = statistics.median(r["audio"] for r in runs_)
        rows.append(f"| {limit} | {rss:.0f} | {cpu:.2f} | {audio:.1f} |")
    return rows


LEVERS_CHILD = """
import json, resource, sys, time
import numpy as np
import onnxruntime
from narrator.engines import piper

level = sys.argv[1]
chunks = json.loads(sys.argv[2])
made = onnxruntime.SessionOptions
def options():
    o = made()
    o.graph_optimization_level = getattr(onnxruntime.GraphOptimizationLevel, level)
    return o
onnxruntime.SessionOptions = options
t0 = resource.getrusage(resource.RUSAGE_SELF)
engine = piper.PiperEngine()
t1 = resource.getrusage(resource.RUSAGE_SELF)
from piper import SynthesisConfig
voice = engine._voice(engine.default_voice())
quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False)
pcm = b"".join(c.audio_int16_bytes for text in chunks for c in voice.piper.synthesize(text, quiet))
t2 = resource.getrusage(resource.RUSAGE_SELF)
np.save(sys.argv[3], np.frombuffer(pcm, dtype="<i2"))
cpu = lambda a, b: b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime
print(json.dumps({"load": cpu(t0, t1), "speak": cpu(t1, t2), "rss": t2.ru_maxrss / 1024}))
"""


def bench_levers(runs: int, work: Path) -> list[str]:
    """Graph optimisation levels, with noise off so that the samples can be compared with the default's."""
    import numpy as np

    chunks = json.dumps(seed_chunks())
    levels = ["ORT_ENABLE_ALL", "ORT_ENABLE_EXTENDED", "ORT_ENABLE_BASIC", "ORT_DISABLE_ALL"]
    results: dict[str, list[dict[str, float]]] = {level: [] for level in levels}
    for _ in range(runs):
        for level in levels:
            cmd = [sys.executable, "-c", LEVERS_CHILD, level, chunks, str(work / f"{level}.npy")]
            results[level].append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
    reference = np.load(work / "ORT_ENABLE_ALL.npy").astype(np.int32)
    rows = [
        "| graph optimisation | load CPU s | synthesis CPU s | peak MiB | samples against ORT_ENABLE_ALL (noise off) |",
        "|---|---|---|---|---|",
    ]
    for level, runs_ in results.items():
        samples = np.load(work / f"{level}.npy").astype(np.int32)
        if samples.size != reference.size:
            same = f"{samples.size - reference.size:+d} samples"
        else:
            same = "identical" if (samples == reference).all() else f"differ by <= {np.abs(samples - reference).max()}"
        load = statistics.median(r["load"] for r in runs_)
        speak = statistics.median(r["speak"] for r in runs_)
        rows.append(f"| {level} | {load:.2f} | {speak:.2f} | {max(r['rss'] for r in runs_):.0f} | {same} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="alternations (default 5)")
    parser.add_argument("--only", default="speed,rate", help="comma-separated: speed, rate, pieces, levers")
    parser.add_argument("--rates", default="80,100,120,175,250,300,350,450", help="for rate: words a minute to ask")
    parser.add_argument("--limits", default="60,80,100,120,160,250", help="for pieces: characters per model run")
    args = parser.parse_args()
    for tool in ("lame",):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is needed (apt-get install {tool})")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "narrator")], check=True)
    chosen = args.only.split(",")
    with tempfile.TemporaryDirectory(prefix="narrator-bench-piper-") as tmp:
        work = Path(tmp)
        for part in chosen:
            if part == "speed":
                rows = bench_speed(args.runs, work)
            elif part == "rate":
                rows = bench_rate([int(r) for r in args.rates.split(",")])
            elif part == "pieces":
                rows = bench_pieces([int(n) for n in args.limits.split(",")], max(1, args.runs // 2))
            elif part == "levers":
                rows = bench_levers(max(1, args.runs // 2), work)
            else:
                sys.exit(f"bench: unknown part {part!r}")
            print("\n".join(rows) + "\n", flush=True)


if __name__ == "__main__":
    main()
