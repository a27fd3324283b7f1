"""pyttsx3: espeak-ng on Linux, SAPI5 on Windows, the system voices on macOS.

pyttsx3 2.99 over espeak-ng 1.51 has quirks this module hides (measured on Debian 12):
runAndWait() returns after one 10 ms turn of the driver loop, whether or not espeak-ng
has finished (which is why a fresh engine's first save seemed to write no file, and
why a busy pool sometimes got no audio), so each call waits for "finished-utterance";
the driver prints "Audio saved to ..." on stdout, so stdout is silenced around it;
it concatenates audio bytes as they arrive, so callers keep texts sentence-sized;
and every result is still checked, and retried when empty.

Word timings: espeak-ng reports every word in its synthesis callback (espeakEVENT_WORD,
speak_lib.h: ``text_position``, 1-based, in characters; ``sample``, the word's first
sample counted from the start of the message, which is sample 0 of the WAV the driver
writes; ``audio_position`` is the same rounded down to milliseconds). The driver drops
them, so _WordTap puts a callback of its own in front of the driver's that reads the
events and then hands every call on unchanged. Curly double quotes are spoken as straight
ones: inside “…” espeak-ng reports no word after the first (same phonemes, same length).
Marks that stop short of the text's end, or are too few for its words, are events lost
(``_covers``): the text is spoken once more, and if they are lost again the clip has no
marks (``Audio.words_lost``) and its captions are timed by estimate, never by half its marks.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import re
import shutil
import sys
import tempfile
import threading
import time
import wave
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import EngineUnavailable, SynthesisError
from ..models import WordMark
from . import Audio, Voice

RETRIES = 3
UTTERANCE_LIMIT_S = 600
#: espeak_EVENT_TYPE values (speak_lib.h) the tap reads.
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_MSG_TERMINATED = 6
#: No event list is read past this: espeak allocates buflength/5 + 20 entries (220 here).
_MAX_EVENTS = 1024
#: Same length, so the events' character positions still index the caller's text.
_STRAIGHT_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"'})
#: A word espeak-ng speaks: a run without spaces that has a letter or a digit.
_SPOKEN_WORD = re.compile(r"\S*[^\W_]\S*")
#: espeak-ng gives at least this many marks a word: one for two words at times ("of the", "such as"),
#: 0.83 at the fewest on 428 pieces of real text (the seed, tests/data, three READMEs; en, de, fr).
_MIN_MARKS_PER_WORD = 0.5


def _install_hint() -> str:
    system = platform.system()
    if system == "Linux":
        return "apt-get install espeak-ng libespeak-ng1"
    if system == "Darwin":
        return "pyttsx3 uses the macOS system voices (pip install pyobjc if it is missing)"
    return "pyttsx3 uses SAPI5 (pip install pywin32 if it is missing)"


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence both Python's and the C library's stdout: the driver prints on every save."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        with contextlib.redirect_stdout(open(os.devnull, "w")):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _installed_version(package: str) -> str:
    """An installed package's version, from the Version line of its dist-info's METADATA.

    What importlib.metadata reads, without importing it (35 ms: email, zipfile, csv...)
    in every engine process; it is asked only when the files are not where pip puts them.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise EngineUnavailable(f"{package} is not installed: pip install {package}")
    found = list(Path(spec.origin).parent.parent.glob(f"{package}-*.dist-info/METADATA"))
    if len(found) == 1:
        with contextlib.suppress(OSError), found[0].open(encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
                if not line.strip():  # the headers end at the first blank line
                    break
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        raise EngineUnavailable(f"{package} is not installed: pip install {package}") from None


class _WordTap:
    """Collects espeak-ng's word events for each utterance, in front of the driver's callback.

    Per utterance: ``begin()``, then save_to_file + runAndWait + "finished-utterance",
    then ``take()``. Events are grouped by espeak's message identifier (1, 2, 3... per
    process, carried by every event, list terminators included); whatever message had
    been seen before ``begin()`` is stale, so a late utterance never leaks into the next.
    """

    def __init__(self, driver: Any, espeak: Any) -> None:
        self._driver_callback = driver._onSynth
        self._lock = threading.Lock()
        self._seen = 0
        self._floor = 0
        self._words: dict[int, list[WordMark]] = {}
        self._finished: tuple[WordMark, ...] | None = None
        self.failed = False
        # The driver registered its bound method as a ctypes thunk: replacing the method would do
        # nothing, so a new callback is registered that delegates to it.
        espeak.SetSynthCallback(self._on_synth)
        self._c_callback = espeak.SynthCallback  # the thunk lives as long as the tap

    @classmethod
    def attach(cls, engine: Any) -> _WordTap | None:
        """A tap on the engine's espeak driver; None under the other drivers (SAPI5, NSSpeech)."""
        driver = getattr(getattr(engine, "proxy", None), "_driver", None)
        if driver is None or not callable(getattr(driver, "_onSynth", None)):
            return None
        try:
            from pyttsx3.drivers import _espeak
        except (ImportError, OSError, RuntimeError):
            return None
        return cls(driver, _espeak) if callable(getattr(_espeak, "SetSynthCallback", None)) else None

    def begin(self) -> None:
        with self._lock:
            self._floor = self._seen
            self._words.clear()
            self._finished = None
            self.failed = False

    def take(self, text: str, frames: int) -> tuple[WordMark, ...] | None:
        """The finished utterance's words if they are all there: they fit its text and its ``frames``
        samples, in order, and cover the text (``_covers``); None when any is missing."""
        with self._lock:
            marks, self._finished = self._finished, None
            failed = self.failed
        if marks is None or failed:
            return None
        last = 0
        for mark in marks:
            if not 0 <= mark.offset < len(text) or not last <= mark.sample <= frames:
                return None
            last = mark.sample
        return marks if _covers(text, marks) else None

    def _on_synth(self, wav: Any, numsamples: int, events: Any) -> int:
        # Read first: the driver announces "finished-utterance" from inside its callback.
        try:
            self._record(events)
        except Exception:  # nothing may raise into espeak's thread
            self.failed = True
        return int(self._driver_callback(wav, numsamples, events) or 0)

    def _record(self, events: Any) -> None:
        if not events:
            return
        with self._lock:
            for i in range(_MAX_EVENTS):
                event = events[i]
                uid = int(event.unique_identifier)
                self._seen = max(self._seen, uid)
                if event.type == _EVENT_LIST_TERMINATED:
                    return
                if uid <= self._floor:
                    continue  # an earlier utterance, still running after its caller gave up
                if event.type == _EVENT_WORD and event.length > 0:
                    mark = WordMark(offset=event.text_position - 1, sample=event.sample)
                    self._words.setdefault(uid, []).append(mark)
                elif event.type == _EVENT_MSG_TERMINATED:
                    self._finished = tuple(self._words.pop(uid, ()))


def _covers(text: str, marks: Sequence[WordMark]) -> bool:
    """Whether ``marks`` can be all of ``text``'s: enough of them for its words, the last one on its
    last word or the one before (a pair spoken as one: "such as:"). Fewer means events were lost.

    >>> marks = [WordMark(0, 0), WordMark(4, 2000), WordMark(10, 5000), WordMark(17, 8000)]
    >>> _covers("The ferry leaves at dawn.", marks), _covers("The ferry leaves at dawn.", marks[:2])
    (True, False)
    >>> _covers("“…”", []), _covers("Ferry", [])
    (True, False)
    """
    words = [m.start() for m in _SPOKEN_WORD.finditer(text)]
    if not words:
        return True
    return len(marks) >= _MIN_MARKS_PER_WORD * len(words) and marks[-1].offset >= words[max(0, len(words) - 2)]


class Pyttsx3Engine:
    name = "pyttsx3"
    #: espeak-ng's word events (Linux); SAPI5 and NSSpeech give none through pyttsx3.
    word_timings = sys.platform.startswith("linux")

    def __init__(self) -> None:
        try:
            import pyttsx3
        except ImportError as exc:
            raise EngineUnavailable(f"pyttsx3 is not installed ({exc}): pip install pyttsx3") from exc
        try:
            with _quiet_stdout():
                self._engine: Any = pyttsx3.init()
        except (OSError, RuntimeError, ImportError) as exc:
            raise EngineUnavailable(f"the speech engine cannot start ({exc}): {_install_hint()}") from exc
        self.version = self.probe_version()
        self._voice = ""
        # One folder for the engine's life, one file overwritten by every call: a folder made and
        # removed per sentence cost more than the file itself. Removed when the engine goes.
        self._folder = Path(tempfile.mkdtemp(prefix="narrator-tts-"))
        self._target = self._folder / "clip.wav"
        weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        # runAndWait() can return before espeak-ng has finished: its driver loop ends after one
        # 10 ms sleep while synthesis goes on in espeak's own thread. The driver announces the
        # end, after writing the file, with "finished-utterance": wait for that.
        self._finished = threading.Event()
        self._engine.connect("finished-utterance", lambda **_: self._finished.set())
        self._tap = _WordTap.attach(self._engine)
        self._say("Warming up.")

    @classmethod
    def probe_version(cls) -> str:
        """pyttsx3's version and the backend's, read without initialising the backend."""
        version = _installed_version("pyttsx3")
        backend = platform.system().lower()
        if backend == "linux":
            try:
                from pyttsx3.drivers import _espeak

                info = _espeak.Info()  # type: ignore[attr-defined]
                backend = "espeak-ng-" + (info.decode() if isinstance(info, bytes) else str(info))
            except (OSError, AttributeError) as exc:
                raise EngineUnavailable(f"libespeak-ng cannot be loaded ({exc}): {_install_hint()}") from exc
        # "+words": clips carry word marks, so clips cached without them are not reused.
        return f"pyttsx3-{version}/{backend}+words"

    @classmethod
    def voice_digest(cls, voice: str) -> str:
        """The platform's voices are not files narrator reads: their ids (and the version) say it all."""
        return ""

    def voices(self) -> tuple[Voice, ...]:
        found = []
        for v in self._engine.getProperty("voices"):
            languages = tuple(
                lang.decode("utf-8", "ignore") if isinstance(lang, bytes) else str(lang) for lang in (v.languages or ())
            )
            found.append(Voice(id=v.id, name=v.name or v.id, languages=languages, gender=(v.gender or "").lower()))
        return tuple(found)

    def default_voice(self) -> str:
        return str(self._engine.getProperty("voice") or "")

    def synthesize(self, text: str, voice: str, rate: int) -> Audio:
        self._configure(voice, rate)
        text = text.translate(_STRAIGHT_QUOTES)
        without_words: Audio | None = None
        for _attempt in range(RETRIES):
            audio = self._say(text)
            if audio is None or not audio.pcm:
                continue
            if audio.words is not None or self._tap is None:
                return audio
            if without_words is not None:
                break  # the word events lost twice: the audio is kept without them
            without_words = audio  # the audio came and its word events did not: once more
        if without_words is not None:
            return replace(without_words, words_lost=True)
        raise SynthesisError(f"the engine returned no audio {RETRIES} times for: {text[:80]!r}")

    def _configure(self, voice: str, rate: int) -> None:
        """Make sure voice and rate are in effect before speaking.

        espeak-ng applies a rate change through its command queue, and pyttsx3's
        end of loop may cancel that queue before the change is applied: the rate
        is then silently lost (seen: one worker of two speaking every sentence at
        the default 200 words a minute). So the setting is read back, and set
        again until it has taken.
        """
        if voice and voice != self._voice:
            try:
                self._engine.setProperty("voice", voice)
            except (ValueError, KeyError) as exc:
                raise SynthesisError(f"voice {voice!r} cannot be used: {exc}") from exc
            self._voice = voice
        for _attempt in range(200):
            if self._engine.getProperty("rate") == rate:
                return
            self._engine.setProperty("rate", rate)
            time.sleep(0.002)
        raise SynthesisError(f"the engine did not accept the rate {rate} words per minute")

    def _say(self, text: str) -> Audio | None:
        target = self._target
        target.unlink(missing_ok=True)  # so a call that writes nothing is not mistaken for the last one
        self._finished.clear()
        if self._tap is not None:
            self._tap.begin()
        with _quiet_stdout():
            self._engine.save_to_file(text, str(target))
            self._engine.runAndWait()
            # The caller's time-out stops a worker that never finishes; this bound is a backstop.
            self._finished.wait(timeout=UTTERANCE_LIMIT_S)
        try:
            with wave.open(str(target), "rb") as wav:
                if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                    raise SynthesisError(
                        f"the engine wrote {wav.getnchannels()} channel(s) of {8 * wav.getsampwidth()}-bit "
                        "audio; narrator needs 16-bit mono"
                    )
                frames = wav.getnframes()
                pcm = wav.readframes(frames)
                rate = wav.getframerate()
        except (FileNotFoundError, EOFError, wave.Error):
            return None
        words = self._tap.take(text, frames) if self._tap is not None else None
        return Audio(pcm=pcm, sample_rate=rate, words=words)
