"""Speech engines: the Engine protocol and a registry of engines by name.

Only this package imports text-to-speech libraries, and only inside the engine
that needs them, so ``narrator --help`` never loads one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..errors import EngineUnavailable

if TYPE_CHECKING:  # not at run time: narrator --help imports this package, and models takes 8 ms
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
    """Where each word of the text starts (and ends, when the engine tells), in samples of ``pcm``
    (offsets into the text given to ``synthesize``), in time order; None when the engine cannot
    tell. Any engine may fill it: espeak-ng from its word events, a neural engine from its alignments."""
    words_lost: bool = False
    """The engine times words but lost this clip's (espeak-ng's word events missing or short, twice):
    ``words`` is None, its captions are timed by estimate, and the clip is not cached, so that the
    next run asks again rather than keep it so."""


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

    def voice_digest(self, voice: str) -> str:
        """What names ``voice``'s sound besides its id, cheaply and in any process: the SHA-256 of
        its model file for engines whose voices are files, "" for the others. Part of the cache key.
        SettingsError, listing the installed voices, for a voice the engine does not have."""
        ...


_REGISTRY: dict[str, Callable[[], EngineFactory]] = {}
_FOR_TESTS: set[str] = set()


def register(name: str, loader: Callable[[], EngineFactory], *, for_tests: bool = False) -> None:
    """Make an engine available by name; ``loader`` imports it only when it is used.

    An engine ``for_tests`` can be chosen like any other, but ``narrator voices`` lists it only when asked.
    """
    _REGISTRY[name] = loader
    if for_tests:
        _FOR_TESTS.add(name)


def engine_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def speech_engines() -> tuple[str, ...]:
    """The engines that speak (not the test engines), in the order they were registered: the default first."""
    return tuple(name for name in _REGISTRY if name not in _FOR_TESTS)


def check_engine(name: str) -> str:
    """``name`` if narrator has such an engine; SettingsError listing those that speak otherwise."""
    if name not in _REGISTRY:
        from ..errors import SettingsError

        raise SettingsError(f"unknown engine {name!r}; narrator has: {', '.join(speech_engines())}")
    return name


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


def voice_digest(name: str, voice: str) -> str:
    """The digest of the engine's voice's model file, or "" (``EngineFactory.voice_digest``)."""
    return _factory(name).voice_digest(voice)


def engine_times_words(name: str) -> bool:
    """Whether the engine's clips tell where their words start, without starting the engine
    (an engine that does not say is taken not to)."""
    return bool(getattr(_factory(name), "word_timings", False))


def _pyttsx3() -> EngineFactory:
    from .pyttsx3_engine import Pyttsx3Engine

    return Pyttsx3Engine


def _piper() -> EngineFactory:
    from .piper import PiperEngine

    return PiperEngine


def _tone() -> EngineFactory:
    from .tone import ToneEngine

    return ToneEngine


register("pyttsx3", _pyttsx3)
register("piper", _piper)
register("tone", _tone, for_tests=True)
