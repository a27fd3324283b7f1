"""Clips -> one stream with pauses, and a timeline of cues and chapters.

Assembly streams: each clip and pause goes through pydub straight onto a raw
spool file on disk, so a one-hour episode is never held in memory. Cues are
timed from the clips themselves: each sentence is split into cues of caption size
(``cues.split_cues``), and a cue that starts inside a sentence starts where the
audio says its first word does (``words.sentence_anchors``: the engine's word marks,
or the start of a clip cut at the cue). The encoder (``encode.StreamEncoder``) is
told of every pause, where it may cut a part to encode while the rest is still
being synthesized.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .cues import Limits, split_cues
from .encode import CODEC_DELAY_SAMPLES, LIMIT_DB, Encoded, StreamEncoder
from .errors import SynthesisError
from .models import Chapter, Clip, Cue, CueWord, Loudness, Script, Sentence, Timeline
from .words import PlacedClip, sentence_anchors, settle_on_sound


@dataclass(frozen=True, slots=True)
class Pauses:
    """Silences between pieces of speech, in milliseconds."""

    chunk_ms: int = 150
    """Between the pieces of one over-long sentence: a comma's breath. 0 where the pieces are
    the cues of a sentence spoken one by one (``words.cut_at_cues``): each already ends like one."""
    sentence_ms: int = 300
    paragraph_ms: int = 700
    chapter_ms: int = 1200
    lead_in_ms: int = 300
    tail_ms: int = 1000
    chapter_lead_ms: int = 250
    """A chapter mark stands this far before its first word."""


@dataclass(frozen=True, slots=True)
class PlacedCue:
    """A cue as assembly placed it: in samples of the spool, before the codec's delay."""

    sentence_start: int
    """The first sample of the cue's sentence's sound; the times below count from it."""
    sentence_end: int
    start_ms: int
    end_ms: int
    text: str
    words: tuple[tuple[int, int], ...]
    """(offset in ``text``, ms from the sentence's start) of the words after the first."""
    paragraph: int
    sentence: int
    part: int
    last: bool
    """The last cue of its sentence: it ends where the sentence's sound does."""


@dataclass(frozen=True, slots=True)
class Assembly:
    """The stitched, not yet normalised episode on the spool, and where everything lies in it.

    Positions are in samples of the spool; ``timeline()`` turns them into the
    milliseconds a player shows.
    """

    sample_rate: int
    samples: int
    cues: tuple[PlacedCue, ...]
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
            cues=tuple(_cue(placed, ms(placed.sentence_start), ms(placed.sentence_end)) for placed in self.cues),
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


def _cue(placed: PlacedCue, start_ms: int, end_ms: int) -> Cue:
    """The cue in milliseconds of the episode, whose sentence lies at ``start_ms``..``end_ms``."""
    start = start_ms + placed.start_ms
    end = end_ms if placed.last else min(end_ms, start_ms + placed.end_ms)
    return Cue(
        start_ms=start,
        end_ms=max(end, start + 1),
        text=placed.text,
        words=tuple(CueWord(offset, start_ms + ms) for offset, ms in placed.words),
        paragraph=placed.paragraph,
        sentence=placed.sentence,
        part=placed.part,
    )


def place_cues(
    sentence: Sentence,
    clips: list[PlacedClip],
    *,
    start: int,
    rate: int,
    language: str,
    paragraph: int,
    number: int,
    limits: Limits | None = None,
) -> list[PlacedCue]:
    """The cues of one sentence whose clips were laid down from spool sample ``start``."""
    samples = clips[-1].start + clips[-1].samples if clips else 0
    anchors = sentence_anchors(sentence.text, sentence.chunks, clips)
    spans = split_cues(
        sentence.text,
        [(offset, sample * 1000 / rate) for offset, sample in anchors],
        duration_ms=samples * 1000 / rate,
        language=language,
        limits=limits,
    )
    return [
        PlacedCue(
            sentence_start=start,
            sentence_end=start + samples,
            start_ms=span.start_ms,
            end_ms=span.end_ms,
            text=span.text,
            words=span.words,
            paragraph=paragraph,
            sentence=number,
            part=k,
            last=k == len(spans),
        )
        for k, span in enumerate(spans, 1)
    ]


def assemble(
    script: Script,
    clips: Iterator[Clip],
    spool: BinaryIO,
    encoder: StreamEncoder | None = None,
    pauses: Pauses = Pauses(),
) -> Assembly:
    """Stitch the clips of ``script`` (one per chunk, in order) onto ``spool`` as raw 16-bit mono.

    Cues are timed from the clips themselves: a sentence's first cue starts and its
    last ends where the sentence's trimmed sound does, and the cues between change
    where a word starts. When an ``encoder`` is given, it is offered every pause
    (between sentences, paragraphs and chapters), where it may end a part and
    encode what came before.
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
    cues: list[PlacedCue] = []
    paragraphs = 0
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
            paragraphs += 1
            for s, sentence in enumerate(paragraph.sentences):
                if s:
                    pause(pauses.sentence_ms)
                start = position
                placed: list[PlacedClip] = []
                for k, _chunk in enumerate(sentence.chunks):
                    if k and pauses.chunk_ms:
                        silence(pauses.chunk_ms)
                    clip = take()
                    words = None if clip.words is None else settle_on_sound(clip.pcm, rate, clip.words)
                    placed.append(PlacedClip(position - start, len(clip.pcm) // 2, words))
                    write(AudioSegment(data=clip.pcm, sample_width=2, frame_rate=rate, channels=1))
                number = s + 1
                language = script.language
                cues += place_cues(
                    sentence, placed, start=start, rate=rate, language=language, paragraph=paragraphs, number=number
                )
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
