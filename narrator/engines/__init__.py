"""Speech engines: the Engine protocol and a registry of engines by name.

Only this package imports text-to-speech libraries, and only inside the engine
that needs them, so ``narrator --help`` never loads one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..errors import EngineUnavailable
from ..models import WordMark


@dataclass(frozen=True, slots=True)
class Voice:
    """An installed voice."""

    id: str
    """What ``--voice`` takes."""
    name: str
    languages: tuple[str, ...]
    gender: str
    """"male", "female" or "" when the engine does not say."""


@dataclass(frozen=True, slots=True)
class Audio:
    """Raw engine output, before trimming."""

    pcm: bytes
    """Signed 16-bit little-endian mono samples."""
    sample_rate: int
    words: tuple[WordMark, ...] | None = None
    """Where each word of the text starts, in samples of ``pcm`` (offsets into the text given to
    ``synthesize``), in time order; None when the engine cannot tell. Any engine may fill it:
    espeak-ng from its word events, a neural engine from its alignments."""


class Engine(Protocol):
    """A text-to-speech engine. One instance lives in one process."""

    name: str
    version: str
    """Changes whenever the same text may sound different; part of the cache key."""
    word_timings: bool
    """Whether ``synthesize`` tells where words start (``Audio.words``): captions are then cut
    anywhere in a sentence; without, each caption cue's part of a sentence is spoken on its own."""

    def voices(self) -> tuple[Voice, ...]: ...

    def default_voice(self) -> str: ...

    def synthesize(self, text: str, voice: str, rate: int) -> Audio:
        """Speak ``text`` (plain words, never markup) with ``voice`` at ``rate`` words per minute."""
        ...


class EngineFactory(Protocol):
    """An engine class: builds an instance, and tells its version without starting one."""

    word_timings: bool
    """The same as the engine's, known without starting one."""

    def __call__(self) -> Engine: ...

    def probe_version(self) -> str: ...


_REGISTRY: dict[str, Callable[[], EngineFactory]] = {}


def register(name: str, loader: Callable[[], EngineFactory]) -> None:
    """Make an engine available by name; ``loader`` imports it only when it is used."""
    _REGISTRY[name] = loader


def engine_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def _factory(name: str) -> EngineFactory:
    try:
        loader = _REGISTRY[name]
    except KeyError:
        raise EngineUnavailable(f"unknown engine {name!r} (available: {', '.join(engine_names())})") from None
    return loader()


def create_engine(name: str) -> Engine:
    """A new engine instance; EngineUnavailable when it is unknown or cannot run."""
    return _factory(name)()


def engine_version(name: str) -> str:
    """The engine's version string, cheaply, without starting the engine (cache keys need it)."""
    return _factory(name).probe_version()


def engine_times_words(name: str) -> bool:
    """Whether the engine's clips tell where their words start, without starting the engine
    (an engine that does not say is taken not to)."""
    return bool(getattr(_factory(name), "word_timings", False))


def _pyttsx3() -> EngineFactory:
    from .pyttsx3_engine import Pyttsx3Engine

    return Pyttsx3Engine


def _tone() -> EngineFactory:
    from .tone import ToneEngine

    return ToneEngine


register("pyttsx3", _pyttsx3)
register("tone", _tone)
