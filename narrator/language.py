"""Languages: BCP 47 tags, detecting an article's language, and the installed voice that speaks it.

An episode's language comes from its input (the page's ``lang`` attribute, the
Markdown front matter), else from an offline detector (Google's CLD3 through
cld3-py: its model is compiled in, so it is ready in milliseconds where py3langid
took 0.9 s to load its model — most of a cold run's budget), else the
podcast's own language. It chooses the voice, the ID3 TLAN frame and the feed's
language, so it is settled once, in the parent process, before synthesis.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import EngineUnavailable, NarratorError, SettingsError

if TYPE_CHECKING:
    from .engines import Voice
    from .synth import Synthesizer

#: Language, optional script, optional region: the parts of a BCP 47 tag (RFC 5646, 2.1)
#: that choose a voice; variants and private-use subtags after them are dropped.
_TAG = re.compile(r"([a-z]{2,3})(?:-([a-z]{4}))?(?:-([a-z]{2}|\d{3}))?(?:-[a-z0-9]{1,8})*", re.IGNORECASE)
#: Below this the detector's guess is no better than the podcast's own language.
MIN_CONFIDENCE = 0.5
#: Letters a text needs before its language is worth guessing.
MIN_LETTERS = 12
#: Enough text to tell a language; detection cost grows with the length.
DETECT_CHARS = 4000
#: Codes a detector or a page may use that the voices know under another name:
#: macrolanguages (ISO 639-3) and withdrawn ISO 639-1 codes.
ALIASES: dict[str, tuple[str, ...]] = {
    "zh": ("cmn", "yue"),
    "no": ("nb", "nn"),
    "nb": ("no",),
    "nn": ("no", "nb"),
    "iw": ("he",),
    "in": ("id",),
    "ji": ("yi",),
    "fil": ("tl",),
    "tl": ("fil",),
}


def normalize_tag(tag: str) -> str:
    """A language tag in BCP 47's usual case, or "" when ``tag`` is not one.

    Underscores (``fr_FR``, as in og:locale) are read as hyphens; variants are dropped.

    >>> normalize_tag("en_us"), normalize_tag("DE"), normalize_tag("zh-hant-tw"), normalize_tag("en-GB-x-rp")
    ('en-US', 'de', 'zh-Hant-TW', 'en-GB')
    >>> normalize_tag("x-default"), normalize_tag("english"), normalize_tag("")
    ('', '', '')
    """
    match = _TAG.fullmatch(tag.strip().replace("_", "-"))
    if match is None:
        return ""
    language, script, region = match.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def primary(tag: str) -> str:
    """The language subtag alone.

    >>> primary("de-AT"), primary("en")
    ('de', 'en')
    """
    return tag.split("-")[0].lower()


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    import gcld3

    return gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=DETECT_CHARS * 4)


def detect_language(text: str, *, fallback: str = "en", min_confidence: float = MIN_CONFIDENCE) -> str:
    """The language ``text`` is written in, or ``fallback`` when it is too short or unclear to tell
    (``min_confidence``: the detector's probability needed).

    >>> detect_language("Der Gemeinderat hat am Dienstag beschlossen, die Brücke zu sanieren.")
    'de'
    >>> detect_language("?!", fallback="fr")
    'fr'
    """
    sample = text[:DETECT_CHARS]
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return fallback
    result = _identifier().FindLanguage(text=sample)
    if not result.is_reliable or result.probability < min_confidence or result.language in {"und", "zxx"}:
        return fallback
    return normalize_tag(result.language) or fallback


# --- voices ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstalledVoices:
    """The voices one engine has here, and the one it speaks with unless told otherwise."""

    voices: tuple[Voice, ...]
    default: str
    """Id of the engine's default voice."""
    engine: str = ""
    """The engine's name; "" when not known."""

    def languages(self) -> tuple[str, ...]:
        """Every language some voice speaks, as primary subtags, sorted."""
        return tuple(sorted({primary(lang) for v in self.voices for lang in v.languages if lang}))


@functools.lru_cache(maxsize=4)
def installed_voices(engine: str) -> InstalledVoices:
    """The engine's voices, listed once per process by a synthesis worker.

    Not in this process: espeak keeps global state, and once it has been started
    here, synthesis workers forked from this process later hang on their first
    sentence (seen with pyttsx3 2.99 over espeak-ng 1.51).
    """
    from .synth import Synthesizer, Voicing

    with Synthesizer(Voicing(engine=engine, voice="", rate=175), jobs=1, cache=None) as synthesizer:
        return voices_of(synthesizer)


def voices_of(synthesizer: Synthesizer) -> InstalledVoices:
    """The voices the engine of ``synthesizer`` has, as its workers list them."""
    voices, default = synthesizer.voices()
    return InstalledVoices(voices=voices, default=default, engine=synthesizer.voicing.engine)


def other_engines(engine: str) -> Iterator[InstalledVoices]:
    """The voices of every other engine that speaks and can run here (for messages: each is asked by a worker)."""
    from .engines import speech_engines

    speaking = speech_engines()
    for other in speaking if engine in speaking else ():  # a test engine's run asks no others
        if other != engine:
            try:
                yield installed_voices(other)
            except NarratorError:
                continue  # not installed here: nothing to offer


def _voice_rank(voice: Voice, tag: str, default: str) -> tuple[int, int, str] | None:
    """How well ``voice`` speaks ``tag``: lower is better, None when it does not speak it at all."""
    want = tag.lower()
    lang = primary(want)
    accepted = {lang, *ALIASES.get(lang, ())}
    best: tuple[int, int, str] | None = None
    for spoken in (s.lower() for s in voice.languages):
        if primary(spoken) not in accepted:
            continue
        if spoken == want:
            rank = 0  # exactly the tag: en-us for en-US
        elif voice.id == default:
            rank = 1  # the engine's own choice for the language: its default voice
        elif spoken == lang:
            rank = 2  # the language without a region
        elif spoken == f"{lang}-{lang}":
            rank = 3  # the language where it is named from: fr-fr for fr, de-de for de
        elif "-x-" not in spoken:
            rank = 4  # another region
        else:
            rank = 5  # a private-use variant such as en-gb-x-rp
        candidate = (rank, len(spoken), voice.id)
        best = candidate if best is None or candidate < best else best
    return best


def matching_voices(tag: str, installed: InstalledVoices) -> tuple[Voice, ...]:
    """The voices that speak ``tag``'s language, the best match first."""
    ranked = []
    for voice in installed.voices:
        rank = _voice_rank(voice, tag, installed.default)
        if rank is not None:
            ranked.append((rank, voice))
    return tuple(voice for _rank, voice in sorted(ranked, key=lambda pair: pair[0]))


def choose_voice(tag: str, installed: InstalledVoices, others: Iterable[InstalledVoices] = ()) -> str:
    """The id of the voice to read ``tag`` with; EngineUnavailable naming what is installed when none speaks it:
    the languages of this engine's voices, and of the ``others`` engines' (asked only then), and which speaks it."""
    found = matching_voices(tag, installed)
    if found:
        return found[0].id
    languages = ", ".join(installed.languages())
    engines = list(others)
    if not engines:
        raise EngineUnavailable(
            f"no installed voice speaks {tag!r} (installed languages: {languages}); "
            "choose one of those with --language, or a voice with --voice"
        )
    spoken = "; ".join(f"{e.engine}: {', '.join(e.languages()) or 'none'}" for e in engines)
    able = [e.engine for e in engines if matching_voices(tag, e)]
    hint = f"--engine {able[0]} speaks it, or " if able else ""
    raise EngineUnavailable(
        f"no installed voice speaks {tag!r} (installed languages: {languages}, for {installed.engine}; {spoken}); "
        f"{hint}choose one of those with --language, or a voice with --voice"
    )


def check_voice(voice: str, installed: InstalledVoices) -> str:
    """``voice`` (``--voice``, in any case) as the engine names it, when the engine has it or reads it as a
    model file; SettingsError naming the installed voices otherwise."""
    ids = {v.id.casefold(): v.id for v in installed.voices}
    if voice.casefold() in ids:
        return ids[voice.casefold()]  # as the engine lists it: gmw/en-GB-x-rp is gmw/en-gb-x-rp
    from .engines import voice_digest

    if installed.engine and voice_digest(installed.engine, voice):  # a model file the engine reads
        return voice
    names = [v.id for v in installed.voices]
    listed = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    engine = installed.engine or "speech"
    raise SettingsError(
        f"--voice {voice!r} is not a voice of the {engine} engine here (installed: {listed or 'none'});"
        f" `narrator voices --engine {engine}` lists them"
    )
