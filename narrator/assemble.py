"""Clips -> one episode: pauses, a timeline of cues and chapters, loudness, MP3.

Assembly streams: each paragraph is stitched with pydub and appended to a raw
spool file on disk while the loudness meter (libebur128, ITU-R BS.1770) reads
it, so a one-hour episode is never held in memory. The gain that brings the
whole episode to -16 LUFS is known only at the end; encoding then reads the
spool back in parts cut inside pauses, applies the gain and a peak limiter,
and encodes the parts on all cores with LAME (lameenc), joining them
sample-exactly.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import EncodeError, SynthesisError
from .models import Chapter, Clip, Cue, Loudness, Script, Timeline

#: Podcast loudness: -16 LUFS integrated, mono heard on two speakers (dual-mono).
TARGET_LUFS = -16.0
#: Sample-peak ceiling of the limiter; leaves room for inter-sample and MP3 overshoot
#: under the -1 dBTP true-peak limit.
LIMIT_DB = -1.5
#: LAME at 22.05 kHz low-passes close to Nyquist, which takes this much K-weighted
#: loudness off speech (measured on the seed: 0.45 LU at 48, 64 and 96 kb/s, quality 2 and 7).
MP3_LOUDNESS_LOSS_DB = 0.45


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
    """The stitched, not yet normalised episode on the spool, and where everything lies in it.

    Positions are in samples of the spool; ``timeline()`` turns them into the
    milliseconds a player shows.
    """

    sample_rate: int
    samples: int
    cues: tuple[tuple[int, int, str], ...]
    """(start, end, text) of each sentence's sound."""
    chapter_starts: tuple[tuple[int, str], ...]

    def timeline(self, encoded: Encoded) -> Timeline:
        """Cues and chapters in milliseconds of the encoded file, which plays ``decoded_samples``."""
        rate = self.sample_rate

        def ms(spool_sample: int) -> int:
            return round((spool_sample + CODEC_DELAY_SAMPLES) * 1000 / rate)

        end_ms = encoded.decoded_samples * 1000 // rate
        starts = [0] + [ms(start) for start, _ in self.chapter_starts[1:]]
        ends = [*starts[1:], end_ms]
        return Timeline(
            duration_ms=end_ms,
            cues=tuple(Cue(start_ms=ms(a), end_ms=ms(b), text=text) for a, b, text in self.cues),
            chapters=tuple(
                Chapter(start_ms=s, end_ms=e, title=title)
                for s, e, (_, title) in zip(starts, ends, self.chapter_starts, strict=True)
            ),
            loudness=Loudness(
                measured_lufs=encoded.measured_lufs,
                gain_db=encoded.gain_db,
                integrated_lufs=encoded.loudness_lufs,
                limit_db=LIMIT_DB,
            ),
        )


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


def assemble(
    script: Script,
    clips: Iterator[Clip],
    spool: BinaryIO,
    encoder: StreamEncoder | None = None,
    pauses: Pauses = Pauses(),
) -> Assembly:
    """Stitch the clips of ``script`` (one per chunk, in order) onto ``spool`` as raw 16-bit mono.

    Cues are timed from the clips themselves: each starts and ends where its
    sentence's trimmed sound does. When an ``encoder`` is given, it is offered
    every point inside a long pause where it may start encoding what came before.
    """
    from pydub import AudioSegment

    first = next(clips, None)
    if first is None:
        raise SynthesisError("there was nothing to synthesize")
    rate = first.sample_rate
    if encoder is not None:
        encoder.start(rate)
    pending: list[Clip] = [first]
    total_chunks = sum(len(s.chunks) for s in script.sentences())
    chunks_done = 0

    def take() -> Clip:
        nonlocal chunks_done
        clip = pending.pop() if pending else next(clips)
        if clip.sample_rate != rate:
            raise SynthesisError(f"the engine changed sample rate mid-episode ({clip.sample_rate} != {rate} Hz)")
        chunks_done += 1
        return clip

    def silence(ms: int) -> AudioSegment:
        return AudioSegment.silent(duration=ms, frame_rate=rate)

    position = 0  # samples written so far
    cues: list[tuple[int, int, str]] = []
    chapter_starts: list[tuple[int, str]] = []

    def write(segment: AudioSegment) -> None:
        nonlocal position
        data = segment.raw_data
        spool.write(data)
        position += len(data) // 2

    def pause(ms: int) -> None:
        """Write a pause; a long one, 100 ms in, is where the encoder may cut."""
        cut = -(-(position + rate // 10) // MP3_FRAME_SAMPLES) * MP3_FRAME_SAMPLES
        write(silence(ms))
        if encoder is not None and cut + PART_JUNCTION_SAMPLES < position - rate // 10:
            spool.flush()
            if not encoder.speculating and chunks_done >= SPECULATE_AFTER * total_chunks:
                encoder.speculate(position)
            encoder.offer(cut)

    write(silence(pauses.lead_in_ms))
    for c, chapter in enumerate(script.chapters):
        if c:
            pause(pauses.chapter_ms)
        for p, paragraph in enumerate(chapter.paragraphs):
            if p:
                pause(pauses.paragraph_ms)
            segment = AudioSegment.empty().set_frame_rate(rate)
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
                cues.append((start, end, sentence.text))
                if p == 0 and s == 0:
                    lead = rate * pauses.chapter_lead_ms // 1000
                    chapter_starts.append((0 if c == 0 else start - lead, chapter.title))
            write(segment)
    write(silence(pauses.tail_ms))
    spool.flush()
    if next(clips, None) is not None:  # also lets the producer finish and release its workers
        raise SynthesisError("the engine returned more clips than there were pieces of text")

    return Assembly(
        sample_rate=rate,
        samples=position,
        cues=tuple(cues),
        chapter_starts=tuple(chapter_starts),
    )


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


def _return_freed_memory() -> None:
    """Make glibc give large freed buffers back to the system.

    Paragraphs, parts and sample arrays of megabytes are allocated and freed
    all run long, on several threads; glibc's adaptive mmap threshold moves
    them into heap arenas that never shrink, and the resident size of an
    hour-long episode only grew (measured: 229 MiB and rising). Fixed at 4 MiB
    it stays flat (about 130 MiB); at the 128 KiB default every clip would be
    mapped and unmapped, which cost 0.2 s of system time on the seed.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").mallopt(-3, 4 * 1024 * 1024)  # -3 is M_MMAP_THRESHOLD


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

    def __init__(self, spool: Path, target: Path, *, bitrate_kbps: int, jobs: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        _return_freed_memory()
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
        self.pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="narrator-encode")

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
