"""The stitched episode -> MP3: loudness to -16 LUFS, a peak limiter, LAME in parts on threads.

The gain that brings the whole episode to -16 LUFS (ITU-R BS.1770, through
libebur128) is fixed from its first part while synthesis goes on, and confirmed
when the whole episode is measured. The spool is read back in parts cut inside
pauses, the gain and a look-ahead limiter applied, and the parts encoded on all
cores with LAME (lameenc, which releases the GIL), joined sample-exactly. MP3
frames are counted as they are written, so the episode's exact length is known.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import EncodeError, SynthesisError
from .executor import HereExecutor, thread_pool

#: Podcast loudness: -16 LUFS integrated, mono heard on two speakers (dual-mono).
TARGET_LUFS = -16.0
#: Sample-peak ceiling of the limiter; leaves room for inter-sample and MP3 overshoot
#: under the -1 dBTP true-peak limit.
LIMIT_DB = -1.5
#: LAME at 22.05 kHz low-passes close to Nyquist, which takes this much K-weighted
#: loudness off speech (measured on the seed: 0.45 LU at 48, 64 and 96 kb/s, quality 2 and 7).
MP3_LOUDNESS_LOSS_DB = 0.45


#: Samples of silence that LAME's encoder (576) and every MP3 decoder (529) put before the
#: first sample when the file carries no gapless-playback header; lameenc writes none,
#: so the timeline is shifted by this much to match what players actually play.
CODEC_DELAY_SAMPLES = 1105
#: A part encoded on its own adds one frame of padding and one of encoder delay at its
#: start; the next part skips this much of its leading silence to stay sample-exact.
PART_JUNCTION_SAMPLES = 1152
MP3_FRAME_SAMPLES = 576
#: Encoding works on parts of about this many seconds, cut inside pauses: small enough
#: to start early and keep memory bounded, large enough that each costs little overhead.
PART_SECONDS = 20
#: The gain is fixed, for the parts encoded while synthesis goes on, once this share of
#: the text has been assembled; the whole episode's loudness then confirms it.
SPECULATE_AFTER = 0.15
#: How far the finished episode may sit from the target before it is encoded again.
TOLERANCE_LU = 0.3


class LoudnessMeter:
    """Integrated loudness (ITU-R BS.1770, libebur128) of a mono stream measured as dual-mono."""

    def __init__(self, sample_rate: int) -> None:
        import pyebur128

        self._lib = pyebur128
        self.sample_rate = sample_rate
        self.state = pyebur128.R128State(1, sample_rate, pyebur128.MeasurementMode.MODE_I)
        # A mono file plays on both speakers: BS.1770 counts it twice (+3 dB).
        self.state.set_channel(0, pyebur128.ChannelType.DUAL_MONO)

    def add_samples(self, samples: np.ndarray) -> None:
        """Samples on the 16-bit scale (-32768..32767), any float dtype.

        Fed in blocks of 0.5 s: libebur128 holds the GIL while it works (6 ms for a
        20 s part), and meanwhile no other thread here can take in a clip or hand
        the engines their next sentence.
        """
        frames = samples.astype(np.float64) / 32768.0
        block = max(1, self.sample_rate // 2)
        for start in range(0, frames.size, block):
            chunk = frames[start : start + block]
            self.state.add_frames(chunk, chunk.size)

    def integrated(self) -> float:
        return float(self._lib.get_loudness_global(self.state))

    @staticmethod
    def combined(meters: list[LoudnessMeter]) -> float:
        """Integrated loudness of consecutive parts measured by separate meters, as one programme."""
        import pyebur128

        return float(pyebur128.get_loudness_global_multiple([m.state for m in meters]))


def limit_peaks(samples: np.ndarray, ceiling: float, sample_rate: int) -> np.ndarray:
    """A look-ahead peak limiter: dips the gain smoothly around every sample above ``ceiling``.

    Each run of loud samples gets a gain just low enough for its highest peak,
    reached over 5 ms before it and released over 50 ms after, so the envelope
    never clicks. Works in place on float samples; returns them.

    >>> x = np.array([0.1] * 400 + [1.0] + [0.1] * 2000)
    >>> y = limit_peaks(x.copy(), 0.5, 22050)
    >>> float(abs(y).max()) <= 0.5, float(y[0]), float(y[-1])
    (True, 0.1, 0.1)
    """
    over = np.flatnonzero(np.abs(samples) > ceiling)
    if over.size == 0:
        return samples
    attack = max(1, sample_rate * 5 // 1000)
    release = max(1, sample_rate * 50 // 1000)
    # Runs of overs closer than the attack time share one dip.
    splits = np.flatnonzero(np.diff(over) > attack) + 1
    starts = np.concatenate(([0], splits))
    firsts = over[starts].tolist()
    lasts = over[np.concatenate((splits - 1, [over.size - 1]))].tolist()
    peaks = np.maximum.reduceat(np.abs(samples[over]), starts).tolist()
    fall, rise = _ramp(attack, falling=True), _ramp(release, falling=False)
    envelope = np.ones(samples.size, dtype=np.float32)
    for first, last, peak in zip(firsts, lasts, peaks, strict=True):
        need = ceiling / peak
        depth = 1.0 - need
        envelope[first : last + 1] = np.minimum(envelope[first : last + 1], need)
        a0 = max(0, first - attack)
        ramp_in = 1.0 - depth * (fall if first - a0 == attack else _ramp(first - a0, falling=True))
        np.minimum(envelope[a0:first], ramp_in, out=envelope[a0:first])
        r1 = min(samples.size, last + 1 + release)
        ramp_out = 1.0 - depth * (rise if r1 - last - 1 == release else _ramp(r1 - last - 1, falling=False))
        np.minimum(envelope[last + 1 : r1], ramp_out, out=envelope[last + 1 : r1])
    samples *= envelope
    return samples


def _ramp(length: int, *, falling: bool) -> np.ndarray:
    """Half a raised cosine over ``length`` samples: 0 to 1 (how far a dip has gone), or 1 to 0."""
    shape = np.cos(np.linspace(0.0, np.pi, length, endpoint=False, dtype=np.float32))
    return 0.5 - 0.5 * shape if falling else 0.5 + 0.5 * shape


def count_frames(mp3: bytes) -> int:
    """Number of MPEG audio frames in a headerless MP3 stream (each holds 576 samples here)."""
    count, i = 0, 0
    while i + 4 <= len(mp3):
        header = int.from_bytes(mp3[i : i + 4], "big")
        if header >> 21 != 0x7FF:
            raise EncodeError(f"LAME wrote an unexpected byte at {i}")
        mpeg1 = (header >> 19) & 3 == 3
        bitrate = (_BITRATES_V1 if mpeg1 else _BITRATES_V2)[(header >> 12) & 15] * 1000
        rate = _SAMPLE_RATES[(header >> 19) & 3][(header >> 10) & 3]
        i += (144 if mpeg1 else 72) * bitrate // rate + ((header >> 9) & 1)
        count += 1
    return count


_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {0: (11025, 12000, 8000), 2: (22050, 24000, 16000), 3: (44100, 48000, 32000)}


def encode_part(samples: np.ndarray, *, sample_rate: int, bitrate_kbps: int) -> bytes:
    """Encode float samples on the 16-bit scale with LAME (lameenc releases the GIL while encoding)."""
    import lameenc

    np.rint(samples, out=samples)
    np.clip(samples, -32768, 32767, out=samples)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(7)  # measured: speech at 64 kb/s sounds no different from 2, at a third of the time
    try:
        return bytes(encoder.encode(samples.astype("<i2").tobytes()) + encoder.flush())
    except RuntimeError as exc:
        raise EncodeError(f"LAME could not encode the audio: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Encoded:
    """What encoding produced."""

    decoded_samples: int
    """Samples a player decodes: whole frames, codec delay included."""
    gain_db: float
    loudness_lufs: float
    """Integrated loudness of the normalised, limited audio, less what MP3 encoding takes."""
    measured_lufs: float
    """Loudness of the stitched speech before any gain (of the part that fixed the gain)."""
    passes: int
    """1, or 2 when the first gain missed the target and everything was encoded again."""


class StreamEncoder:
    """Normalises and encodes the spool in parts on threads, starting while it is still being written.

    Assembly offers cut points as it writes. Once the gain is known (``speculate``,
    from the first part of the episode) each part of about PART_SECONDS is encoded
    as soon as it is complete, overlapping with synthesis. ``finish`` encodes the
    rest and checks the whole episode's loudness; if the gain fixed early missed
    the target by more than TOLERANCE_LU, everything is encoded again with the gain
    the whole episode asks for.

    The limiter takes a little loudness off the peaks it lowers and MP3 a little
    more; the gain is set so that the limited audio measures the target plus what
    MP3 takes (MP3_LOUDNESS_LOSS_DB).
    """

    def __init__(self, spool: Path, target: Path, *, bitrate_kbps: int, jobs: int, here: bool = False) -> None:
        self.spool = spool
        self.target = target
        self._out: BinaryIO | None = None
        self.frames = 0
        self.meters: list[LoudnessMeter] = []
        """One per part written, for the episode's loudness."""
        self.bitrate_kbps = bitrate_kbps
        self.gain_db: float | None = None
        self.measured_lufs = math.nan
        self.ceiling = 10 ** (LIMIT_DB / 20) * 32767.0
        self.rate = 0
        self.part_samples = 0
        self.parts: list[tuple[int, int]] = []
        self.futures: list[Future[tuple[bytes, LoudnessMeter]]] = []
        self.next_start = 0
        self.cuts: list[int] = []
        """Offered cut points after ``next_start``."""
        self._gain: Future[tuple[float, float]] | None = None
        self.jobs = max(1, jobs)
        """Threads that encode, and how many parts what is left at the end is split into."""
        # ``here``: each part is encoded when it is ready, in this thread (a cluster's worker uses one
        # core); the parts are cut as with ``jobs`` threads, so the MP3 is the same file.
        self.pool: Executor = HereExecutor() if here else thread_pool(self.jobs, "encode")

    def start(self, sample_rate: int) -> None:
        """The spool's sample rate, known once the first clip is in."""
        self.rate = sample_rate
        self.part_samples = PART_SECONDS * sample_rate

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self._out is not None:
            self._out.close()

    def __enter__(self) -> StreamEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, index: int, gain_db: float) -> np.ndarray:
        start, end = self.parts[index]
        if index:
            start += PART_JUNCTION_SAMPLES  # silence that the previous part's padding stands in for
        return self._limited(start, end, gain_db)

    def _limited(self, start: int, end: int, gain_db: float | None) -> np.ndarray:
        """spool[start:end] as float samples, with ``gain_db`` applied and the peaks limited (None: as it is)."""
        with self.spool.open("rb") as handle:
            handle.seek(start * 2)
            pcm = handle.read((end - start) * 2)
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        if gain_db is None:
            return samples
        samples *= np.float32(10 ** (gain_db / 20))
        return limit_peaks(samples, self.ceiling, self.rate)

    def _encode(self, index: int, gain_db: float) -> tuple[bytes, LoudnessMeter]:
        samples = self._read(index, gain_db)
        meter = LoudnessMeter(self.rate)
        meter.add_samples(samples)
        return encode_part(samples, sample_rate=self.rate, bitrate_kbps=self.bitrate_kbps), meter

    def _calibrate(self, end: int) -> tuple[float, float]:
        """The gain for spool[0:end], and that audio's loudness as stitched.

        Two passes over it: its loudness gives a first gain; the audio limited at
        that gain is measured again, and the gain corrected by what the limiter took.
        """
        step = self.part_samples
        raw = LoudnessMeter(self.rate)
        for start in range(0, end, step):
            raw.add_samples(self._limited(start, min(end, start + step), None))
        measured = raw.integrated()
        if not math.isfinite(measured):
            raise SynthesisError("the synthesized audio is silent")
        first = TARGET_LUFS + MP3_LOUDNESS_LOSS_DB - measured
        limited = LoudnessMeter(self.rate)
        for start in range(0, end, step):
            limited.add_samples(self._limited(start, min(end, start + step), first))
        after = limited.integrated()
        gain = round(first + (TARGET_LUFS + MP3_LOUDNESS_LOSS_DB - after), 2) if math.isfinite(after) else first
        return gain, round(measured, 2)

    def cut_point(self, start: int, end: int) -> int | None:
        """Where a part may end inside the pause spool[start:end]: 100 ms in, on a frame boundary,
        with room for the next part's junction before the speech resumes; None when it is too short."""
        cut = -(-(start + self.rate // 10) // MP3_FRAME_SAMPLES) * MP3_FRAME_SAMPLES
        return cut if cut + PART_JUNCTION_SAMPLES < end - self.rate // 10 else None

    def pause(self, cut: int, *, written: int, done: int, total: int) -> None:
        """spool[0:written] is on disk and ``cut`` (from ``cut_point``) lies in a pause, with ``done``
        of the episode's ``total`` pieces of text assembled: fix the gain once enough is known, and
        encode whatever parts are ready."""
        if not self.speculating and done >= SPECULATE_AFTER * total:
            self.speculate(written)
        self.offer(cut)

    def speculate(self, end: int) -> None:
        """Fix the gain from the loudness of spool[0:end], on a thread; parts are encoded once it is known."""
        if self._gain is None:
            self._gain = self.pool.submit(self._calibrate, end)

    @property
    def speculating(self) -> bool:
        return self._gain is not None

    def offer(self, cut: int) -> None:
        """spool[0:cut] is written and ``cut`` lies in a pause: encode whatever parts are ready."""
        self.cuts.append(cut)
        if self.gain_db is None and self._gain is not None and self._gain.done():
            self.gain_db, self.measured_lufs = self._gain.result()
        if self.gain_db is not None:
            self._submit_parts(self.part_samples)
        self._drain(wait=False)

    def _write(self, data: bytes, meter: LoudnessMeter) -> None:
        try:
            if self._out is None:
                self._out = self.target.open("wb")
            self._out.write(data)
        except OSError as exc:
            raise EncodeError(f"cannot write the MP3 ({exc.strerror or exc})", self.target) from exc
        self.frames += count_frames(data)
        self.meters.append(meter)

    def _drain(self, *, wait: bool) -> None:
        """Write finished parts in order, so encoded audio does not pile up in memory."""
        while self.futures and (wait or self.futures[0].done()):
            self._write(*self.futures.pop(0).result())

    def _submit_parts(self, length: int) -> None:
        """Submit parts of at least ``length`` samples, ending at offered cuts."""
        assert self.gain_db is not None
        for cut in self.cuts:
            if cut - self.next_start >= length:
                self.parts.append((self.next_start, cut))
                self.futures.append(self.pool.submit(self._encode, len(self.parts) - 1, self.gain_db))
                self.next_start = cut
        self.cuts = [cut for cut in self.cuts if cut > self.next_start]

    def finish(self, *, samples: int) -> Encoded:
        """Encode what is left, check the whole episode's loudness, complete the MP3."""
        if self.gain_db is None:
            self.gain_db, self.measured_lufs = self._gain.result() if self._gain else self._calibrate(samples)
        # Split what is left evenly over the threads, leaving no sliver of a part at the end.
        remaining = samples - self.next_start
        self.cuts = [cut for cut in self.cuts if samples - cut >= self.part_samples // 4]
        self._submit_parts(max(1, min(self.part_samples, remaining // self.jobs)))
        self.cuts = [samples]
        self._submit_parts(0)
        self._drain(wait=True)
        loudness = LoudnessMeter.combined(self.meters) - MP3_LOUDNESS_LOSS_DB
        passes = 1
        if abs(loudness - TARGET_LUFS) > TOLERANCE_LU:
            # The gain fixed early missed: encode everything again with what the whole episode asks for.
            self.gain_db = round(self.gain_db + TARGET_LUFS - loudness, 2)
            assert self._out is not None
            self._out.seek(0)
            self._out.truncate()
            self.frames, self.meters = 0, []
            gain = self.gain_db
            self.futures = [self.pool.submit(self._encode, i, gain) for i in range(len(self.parts))]
            self._drain(wait=True)
            loudness = LoudnessMeter.combined(self.meters) - MP3_LOUDNESS_LOSS_DB
            passes = 2
        if self._out is not None:
            self._out.close()
            self._out = None
        if not math.isfinite(loudness):
            raise SynthesisError("the synthesized audio is silent")
        return Encoded(self.frames * MP3_FRAME_SAMPLES, self.gain_db, round(loudness, 2), self.measured_lufs, passes)
