"""A deterministic test engine: tones whose length follows the text, in place of speech.

For tests of everything that is not the engine (assembly, timing, the library,
the feed, the page, the server): every clip is checkable and the same on every
run, and nothing needs espeak-ng. 100 ms of silence, then a 440 Hz tone as many
centiseconds long as the text has characters (shorter at a higher rate), then
100 ms of silence. ``narrator voices --engine tone`` lists its voices. It tells no
word timings, so it also stands for every engine that cannot: captions are then timed
by speaking each cue's part of a sentence on its own.
"""

from __future__ import annotations

import array
import math

from . import Audio, Voice

RATE = 22_050
#: The rate the tone lengths are measured at: at 175 words a minute a character lasts 10 ms.
REFERENCE_WPM = 175


def tone_for(text: str, rate: int) -> bytes:
    """The audio for ``text`` at ``rate`` words per minute: silence, a tone, silence (16-bit mono)."""
    n = RATE * len(text) // 100 * REFERENCE_WPM // rate
    body = [int(8000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(n)]
    pad = [0] * (RATE // 10)
    return array.array("h", pad + body + pad).tobytes()


class ToneEngine:
    name = "tone"
    version = "1"
    word_timings = False

    @classmethod
    def probe_version(cls) -> str:
        return cls.version

    @classmethod
    def voice_digest(cls, voice: str) -> str:
        return ""

    def voices(self) -> tuple[Voice, ...]:
        return (
            Voice("tone/en", "Tone (English)", ("en",), ""),
            Voice("tone/de", "Tone (German)", ("de",), ""),
            Voice("tone/fr", "Tone (French)", ("fr",), ""),
        )

    def default_voice(self) -> str:
        return "tone/en"

    def synthesize(self, text: str, voice: str, rate: int) -> Audio:
        return Audio(tone_for(text, rate), RATE)
