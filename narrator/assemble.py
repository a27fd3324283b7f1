"""Clips -> one episode: pauses, a timeline of cues and chapters, loudness, MP3.

Assembly streams: each paragraph is stitched with pydub and appended to a raw
spool file on disk while the loudness meter (libebur128, ITU-R BS.1770) reads
it, so a one-hour episode is never held in memory. The gain that brings the
whole episode to -16 LUFS is known only at the end; ffmpeg then applies it,
with a peak limiter, while encoding the spool to MP3 (libmp3lame, which writes
the LAME header that makes playback sample-exact: captions stay in sync).
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import EncodeError, SynthesisError
from .models import Chapter, Clip, Cue, Loudness, Script

#: Podcast loudness: -16 LUFS integrated, mono heard on two speakers (dual-mono).
TARGET_LUFS = -16.0
#: Sample-peak ceiling of the limiter; leaves room for inter-sample and MP3 overshoot
#: under the -1 dBTP true-peak limit.
LIMIT_DB = -2.0


@dataclass(frozen=True, slots=True)
class Pauses:
    """Silences between pieces of speech, in milliseconds."""

    chunk_ms: int = 150
    """Between the pieces of one over-long sentence: a comma's breath."""
    sentence_ms: int = 300
    paragraph_ms: int = 700
    chapter_ms: int = 1200
    lead_in_ms: int = 300
    tail_ms: int = 1000
    chapter_lead_ms: int = 250
    """A chapter mark stands this far before its first word."""


@dataclass(frozen=True, slots=True)
class Assembly:
    """The stitched, not yet normalised episode on the spool, and where everything lies in it."""

    sample_rate: int
    samples: int
    cues: tuple[Cue, ...]
    chapters: tuple[Chapter, ...]
    integrated_lufs: float

    @property
    def duration_ms(self) -> int:
        return self.samples * 1000 // self.sample_rate

    def loudness(self) -> Loudness:
        return Loudness(measured_lufs=self.integrated_lufs, gain_db=self.gain_db, target_lufs=TARGET_LUFS, limit_db=LIMIT_DB)

    @property
    def gain_db(self) -> float:
        return round(TARGET_LUFS - self.integrated_lufs, 2)


class LoudnessMeter:
    """Integrated loudness (ITU-R BS.1770) of a mono stream measured as dual-mono."""

    def __init__(self, sample_rate: int) -> None:
        import pyebur128

        self._lib = pyebur128
        self._state = pyebur128.R128State(1, sample_rate, pyebur128.MeasurementMode.MODE_I)
        # A mono file plays on both speakers: BS.1770 counts it twice (+3 dB).
        self._state.set_channel(0, pyebur128.ChannelType.DUAL_MONO)

    def add(self, pcm: bytes) -> None:
        import numpy as np

        if pcm:
            frames = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
            self._state.add_frames(frames, frames.size)

    def integrated(self) -> float:
        return float(self._lib.get_loudness_global(self._state))


def assemble(script: Script, clips: Iterator[Clip], spool: BinaryIO, pauses: Pauses = Pauses()) -> Assembly:
    """Stitch the clips of ``script`` (one per chunk, in order) onto ``spool`` as raw 16-bit mono.

    Cues are timed from the clips themselves: each starts and ends where its
    sentence's trimmed sound does.
    """
    from pydub import AudioSegment

    first = next(clips, None)
    if first is None:
        raise SynthesisError("there was nothing to synthesize")
    rate = first.sample_rate
    pending: list[Clip] = [first]

    def take() -> Clip:
        clip = pending.pop() if pending else next(clips)
        if clip.sample_rate != rate:
            raise SynthesisError(f"the engine changed sample rate mid-episode ({clip.sample_rate} != {rate} Hz)")
        return clip

    def silence(ms: int) -> AudioSegment:
        return AudioSegment.silent(duration=ms, frame_rate=rate)

    meter = LoudnessMeter(rate)
    position = 0  # samples written so far
    cues: list[Cue] = []
    chapter_starts: list[tuple[int, str]] = []

    def write(segment: AudioSegment) -> None:
        nonlocal position
        data = segment.raw_data
        spool.write(data)
        meter.add(data)
        position += len(data) // 2

    def ms(samples: int) -> int:
        return round(samples * 1000 / rate)

    write(silence(pauses.lead_in_ms))
    for c, chapter in enumerate(script.chapters):
        if c:
            write(silence(pauses.chapter_ms))
        for p, paragraph in enumerate(chapter.paragraphs):
            segment = silence(pauses.paragraph_ms) if p else AudioSegment.empty().set_frame_rate(rate)
            for s, sentence in enumerate(paragraph.sentences):
                if s:
                    segment += silence(pauses.sentence_ms)
                start = position + len(segment.raw_data) // 2
                for k, _chunk in enumerate(sentence.chunks):
                    if k:
                        segment += silence(pauses.chunk_ms)
                    clip = take()
                    segment += AudioSegment(data=clip.pcm, sample_width=2, frame_rate=rate, channels=1)
                end = position + len(segment.raw_data) // 2
                cues.append(Cue(start_ms=ms(start), end_ms=ms(end), text=sentence.text))
                if p == 0 and s == 0:
                    lead = rate * pauses.chapter_lead_ms // 1000
                    chapter_starts.append((0 if c == 0 else start - lead, chapter.title))
            write(segment)
    write(silence(pauses.tail_ms))

    loudness = meter.integrated()
    if not math.isfinite(loudness):
        raise SynthesisError("the synthesized audio is silent")
    bounds = [start for start, _ in chapter_starts] + [position]
    chapters = tuple(
        Chapter(start_ms=ms(bounds[i]), end_ms=ms(bounds[i + 1]), title=title) for i, (_, title) in enumerate(chapter_starts)
    )
    return Assembly(sample_rate=rate, samples=position, cues=tuple(cues), chapters=chapters, integrated_lufs=loudness)


def ffmpeg_command() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise EncodeError("ffmpeg is not installed: apt-get install ffmpeg (macOS: brew install ffmpeg)")
    return found


def encode_mp3(spool: Path, target: Path, *, sample_rate: int, gain_db: float, bitrate_kbps: int) -> None:
    """Encode the raw spool to a mono MP3 at ``target``, applying gain and the peak limiter."""
    command = [
        ffmpeg_command(),
        "-hide_banner", "-nostdin", "-v", "error", "-y",
        "-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", str(spool),
        # Gain to the loudness target, then a look-ahead limiter for the peaks it pushes up.
        "-af", f"volume={gain_db:.2f}dB,alimiter=limit={LIMIT_DB}dB:level=disabled:attack=5:release=50",
        "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-compression_level", "7",
        "-ar", str(sample_rate), "-ac", "1",
        # No ID3 from ffmpeg: tagging writes ID3v2.3 itself. Keep the Xing/LAME header for gapless timing.
        "-id3v2_version", "0", "-write_xing", "1",
        "-f", "mp3", str(target),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise EncodeError(f"ffmpeg could not be started: {exc}") from exc
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise EncodeError(f"ffmpeg failed (exit {result.returncode}): {tail}", target)
