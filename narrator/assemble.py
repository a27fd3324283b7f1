"""Clips -> one stream with pauses, and a timeline of cues and chapters.

Assembly streams: each clip and pause goes through pydub straight onto a raw
spool file on disk, so a one-hour episode is never held in memory. Cues are
timed from the clips themselves. The encoder (``encode.StreamEncoder``) is told
of every pause, where it may cut a part to encode while the rest is still being
synthesized.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .encode import CODEC_DELAY_SAMPLES, LIMIT_DB, Encoded, StreamEncoder
from .errors import SynthesisError
from .models import Chapter, Clip, Cue, Loudness, Script, Timeline


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
        every pause (between sentences, paragraphs and chapters), where it may end a
    part and encode what came before.
    """
    with warnings.catch_warnings():  # pydub imports audioop, deprecated since Python 3.11 (audioop-lts from 3.13)
        warnings.simplefilter("ignore", DeprecationWarning)
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

    position = 0  # samples written so far
    cues: list[tuple[int, int, str]] = []
    chapter_starts: list[tuple[int, str]] = []

    # Every piece goes to the spool as it comes: nothing is joined in memory, so time and memory
    # grow with the text, however long a paragraph is.
    def write(segment: AudioSegment) -> None:
        nonlocal position
        data = segment.raw_data
        spool.write(data)
        position += len(data) // 2

    def silence(ms: int) -> None:
        write(AudioSegment.silent(duration=ms, frame_rate=rate))

    def pause(ms: int) -> None:
        """Write a pause, and tell the encoder of it: it may end a part there."""
        start = position
        silence(ms)
        cut = encoder.cut_point(start, position) if encoder is not None else None
        if encoder is not None and cut is not None:
            spool.flush()  # the encoder reads the spool from its threads
            encoder.pause(cut, written=position, done=chunks_done, total=total_chunks)

    silence(pauses.lead_in_ms)
    for c, chapter in enumerate(script.chapters):
        if c:
            pause(pauses.chapter_ms)
        for p, paragraph in enumerate(chapter.paragraphs):
            if p:
                pause(pauses.paragraph_ms)
            for s, sentence in enumerate(paragraph.sentences):
                if s:
                    pause(pauses.sentence_ms)
                start = position
                for k, _chunk in enumerate(sentence.chunks):
                    if k:
                        silence(pauses.chunk_ms)
                    write(AudioSegment(data=take().pcm, sample_width=2, frame_rate=rate, channels=1))
                cues.append((start, position, sentence.text))
                if p == 0 and s == 0:
                    lead = rate * pauses.chapter_lead_ms // 1000
                    chapter_starts.append((0 if c == 0 else start - lead, chapter.title))
    silence(pauses.tail_ms)
    spool.flush()
    if next(clips, None) is not None:  # also lets the producer finish and release its workers
        raise SynthesisError("the engine returned more clips than there were pieces of text")

    return Assembly(
        sample_rate=rate,
        samples=position,
        cues=tuple(cues),
        chapter_starts=tuple(chapter_starts),
    )
