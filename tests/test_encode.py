"""Encoding: parts joined sample-exactly, the codec delay accounted for, loudness and peaks, frames counted."""

from __future__ import annotations

import itertools
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

import narrator.encode as encode_mod
from narrator.encode import (
    CODEC_DELAY_SAMPLES,
    LIMIT_DB,
    MP3_FRAME_SAMPLES,
    TARGET_LUFS,
    StreamEncoder,
    count_frames,
    limit_peaks,
)

RATE = 22_050


def decode(mp3: Path) -> np.ndarray:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(mp3), "-f", "s16le", "-ac", "1", "-"], capture_output=True, check=True
    ).stdout
    return np.frombuffer(out, dtype="<i2")


def burst_spool(path: Path, bursts: int, gap_s: float = 2.0) -> tuple[list[int], int]:
    """Speech-like bursts (tones with a loud click) separated by silence; returns their starts."""
    rng = np.random.default_rng(1)
    pieces, starts, position = [], [], 0
    for i in range(bursts):
        silence = np.zeros(int(RATE * gap_s), dtype=np.float64)
        n = RATE * (1 + i % 3) // 2
        t = np.arange(n) / RATE
        tone = 0.3 * np.sin(2 * np.pi * (180 + 40 * i) * t) * (0.6 + 0.4 * rng.random(n))
        tone[n // 3] = 0.99  # a peak the limiter must catch
        pieces += [silence, tone]
        starts.append(position + silence.size)
        position += silence.size + tone.size
    pieces.append(np.zeros(RATE, dtype=np.float64))
    samples = np.concatenate(pieces)
    path.write_bytes((samples * 20000).astype("<i2").tobytes())
    return starts, samples.size


def encode(tmp_path: Path, name: str, jobs: int, cuts: list[int], samples: int, speculate_at: int | None) -> Path:
    target = tmp_path / f"{name}.mp3"
    with StreamEncoder(tmp_path / "spool.raw", target, bitrate_kbps=64, jobs=jobs) as encoder:
        encoder.start(RATE)
        for cut in cuts:
            if speculate_at is not None and cut >= speculate_at and not encoder.speculating:
                encoder.speculate(cut)
            encoder.offer(cut)
        result = encoder.finish(samples=samples)
    assert result.decoded_samples == decode(target).size
    return target


def onsets(audio: np.ndarray, threshold: int = 2000) -> list[int]:
    loud = np.abs(audio.astype(np.int32)) > threshold
    edges = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    found: list[int] = []
    previous = -RATE
    for edge in edges:
        if edge - previous > RATE // 2:  # a burst starts after half a second of quiet
            found.append(int(edge))
        previous = edge
    return found


def test_parts_encoded_apart_play_exactly_like_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encode_mod, "PART_SECONDS", 4)  # many parts, many junctions
    starts, samples = burst_spool(tmp_path / "spool.raw", bursts=9)
    cuts = [s - RATE // 2 for s in starts[1:]]
    cuts = [c - c % MP3_FRAME_SAMPLES for c in cuts]
    whole = decode(encode(tmp_path, "whole", 1, [], samples, None))
    parts = decode(encode(tmp_path, "parts", 3, cuts, samples, speculate_at=cuts[1]))
    expected = [s + CODEC_DELAY_SAMPLES for s in starts]
    for found in (onsets(whole), onsets(parts)):
        assert len(found) == len(expected)
        # Each burst starts where the timeline says it does, within half a millisecond.
        assert max(abs(f - e) for f, e in zip(found, expected, strict=True)) <= RATE // 2000
    assert abs(parts.size - whole.size) <= MP3_FRAME_SAMPLES


def test_loudness_and_peaks_of_the_encoded_audio(tmp_path: Path) -> None:
    import pyebur128

    starts, samples = burst_spool(tmp_path / "spool.raw", bursts=12)
    cuts = [s - RATE // 2 - (s - RATE // 2) % MP3_FRAME_SAMPLES for s in starts[1:]]
    audio = decode(encode(tmp_path, "x", 2, cuts, samples, speculate_at=cuts[2])).astype(np.float64) / 32768
    state = pyebur128.R128State(1, RATE, pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK)
    state.set_channel(0, pyebur128.ChannelType.DUAL_MONO)
    state.add_frames(audio, audio.size)
    assert pyebur128.get_loudness_global(state) == pytest.approx(TARGET_LUFS, abs=1.0)
    assert 20 * math.log10(pyebur128.get_true_peak(state, 0)) <= -1.0


def test_the_limiter_holds_the_ceiling_and_leaves_quiet_audio_alone() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3000, RATE * 5).astype(np.float32)
    x[::997] = 40_000
    y = limit_peaks(x.copy(), 10 ** (LIMIT_DB / 20) * 32767, RATE)
    assert np.abs(y).max() <= 10 ** (LIMIT_DB / 20) * 32767 + 1e-3
    quiet = rng.normal(0, 1000, RATE).astype(np.float32)
    assert np.array_equal(limit_peaks(quiet.copy(), 30_000, RATE), quiet)
    # Dips are smooth: no sample-to-sample gain jump bigger than the peak needs.
    audible = np.flatnonzero(np.abs(x) > 100)  # where the gain can be read off the samples
    gain = y[audible] / x[audible]
    assert gain.min() < 0.8
    assert np.abs(np.diff(gain)).max() < 0.05


def test_parts_end_only_at_offered_cuts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encode_mod, "PART_SECONDS", 3)
    starts, samples = burst_spool(tmp_path / "spool.raw", bursts=8)
    cuts = [s - RATE // 2 - (s - RATE // 2) % MP3_FRAME_SAMPLES for s in starts[1:]]
    with StreamEncoder(tmp_path / "spool.raw", tmp_path / "x.mp3", bitrate_kbps=64, jobs=2) as encoder:
        encoder.start(RATE)
        encoder.speculate(cuts[0])
        for cut in cuts:
            encoder.offer(cut)
        encoder.finish(samples=samples)
        parts = encoder.parts
    assert parts[0][0] == 0 and parts[-1][1] == samples
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    assert all(end in cuts for _, end in parts[:-1])
    assert len(parts) >= 3


def test_frames_are_counted_from_their_headers(tmp_path: Path) -> None:
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(RATE)
    encoder.set_channels(1)
    pcm = (np.sin(np.arange(RATE * 3) / 10) * 10_000).astype("<i2").tobytes()
    data = bytes(encoder.encode(pcm) + encoder.flush())
    (tmp_path / "t.mp3").write_bytes(data)
    assert count_frames(data) * MP3_FRAME_SAMPLES == decode(tmp_path / "t.mp3").size
