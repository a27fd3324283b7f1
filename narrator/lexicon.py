"""The pronunciation lexicon: words and patterns, and how the engine should say them.

Only the audio changes: speech.py applies the lexicon to a sentence's spoken
form (its chunks), never to its text, so captions, chapter titles, the
transcript and the feed keep the article's own words. The lexicon sees the
written text first and wins: what it matches is said as it says, and speech.py
normalises only the rest (numbers, dates, abbreviations: see speech.py).

A lexicon file is TOML. Keys at the top apply to every language; a table named
after a language tag applies to that language ("de" also covers "de-AT")::

    nginx = "engine x"
    [en]
    SQL = "sequel"                  # a capital letter in the word: case-sensitive
    "e.g." = "for example"          # all lower case: any case ("E.g." too)
    GIF = { say = "jif", case_sensitive = false }
    'v(\\d+)' = { say = 'version \\1', regex = true }
    [de]
    "z. B." = "zum Beispiel"        # a space matches any space, or none ("z.B.")

Every entry matches whole words only. Where entries overlap, the --lexicon file
wins over the podcast folder's lexicon.toml, which wins over the built-in entries
below; within one file a language's own entries win over those for every
language, and longer words over shorter ones.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import SettingsError
from .language import normalize_tag, primary

BUILTIN = "built-in"
_OPTIONS = frozenset({"say", "regex", "case_sensitive"})


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon entry: what to find and how to say it."""

    match: str
    """The word or phrase as written, or a regular expression when ``regex``."""
    say: str
    """The spoken form; a regular expression's groups are written \\1 or \\g<name>."""
    language: str = ""
    """BCP 47 tag the entry is for ("de" covers "de-AT"); empty for every language."""
    regex: bool = False
    case_sensitive: bool = True
    origin: str = BUILTIN
    """The file the entry comes from, or "built-in"."""

    def pattern(self) -> re.Pattern[str]:
        """The compiled pattern: whole words only, so "ca." never matches inside "Jamaica."."""
        body = self.match if self.regex else re.escape(self.match).replace(r"\ ", r"\s*")
        return re.compile(rf"(?<!\w)(?:{body})(?!\w)", 0 if self.case_sensitive else re.IGNORECASE)

    def applies_to(self, language: str) -> bool:
        """
        >>> Entry("z. B.", "zum Beispiel", language="de").applies_to("de-AT")
        True
        >>> Entry("lift", "elevator", language="en-US").applies_to("en-GB")
        False
        """
        if not self.language:
            return True
        mine, theirs = self.language.lower(), language.lower()
        return mine == theirs or ("-" not in mine and mine == primary(theirs))


#: Host of a web address, for saying it short: "https://www.bbc.co.uk/news/x?id=1" -> "bbc.co.uk".
#: The address ends before trailing punctuation, so a sentence's full stop stays.
_URL = r"(?:https?://|www\.)(?:www\.)?([\w-]+(?:\.[\w-]+)+)(?::\d+)?(?:[/?#]\S*?)?(?=[.,;:!?)\]}'\"’”»]*(?:\s|$))"
_EMAIL = r"(?:mailto:)?([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)"

#: What espeak-ng reads badly, found with `espeak-ng -x`: web addresses character by character,
#: slashes and all. Abbreviations ("vs.", "z. B.", "n°") are speech.py's tables, which know their context.
#: The announcements segment.py speaks in English ("By", "Image caption:") are said in the article's language.
_BUILTIN: tuple[tuple[str, str, str], ...] = (
    # (language, match, say); a match starting "re:" is a regular expression.
    ("", f"re:{_URL}", r"\1"),
    ("en", f"re:{_EMAIL}", r"\1 at \2"),
    ("de", f"re:{_EMAIL}", r"\1 ät \2"),
    ("de", "Image caption:", "Bildunterschrift:"),
    ("de", r"re:^By(?=\s)", "Von"),
    ("fr", f"re:{_EMAIL}", r"\1 arobase \2"),
    ("fr", "Image caption:", "Légende :"),
    ("fr", r"re:^By(?=\s)", "Par"),
    ("es", f"re:{_EMAIL}", r"\1 arroba \2"),
    ("es", "Image caption:", "Pie de foto:"),
    ("es", r"re:^By(?=\s)", "Por"),
    ("it", f"re:{_EMAIL}", r"\1 chiocciola \2"),
    ("it", "Image caption:", "Didascalia:"),
    ("it", r"re:^By(?=\s)", "Di"),
    ("nl", "Image caption:", "Bijschrift:"),
    ("nl", r"re:^By(?=\s)", "Door"),
    ("pt", f"re:{_EMAIL}", r"\1 arroba \2"),
    ("pt", "Image caption:", "Legenda:"),
    ("pt", r"re:^By(?=\s)", "Por"),
    ("", f"re:{_EMAIL}", r"\1 at \2"),
)


def builtin_entries() -> tuple[Entry, ...]:
    """The entries narrator starts from; a lexicon file can override any of them."""
    entries = []
    for language, match, say in _BUILTIN:
        regex = match.startswith("re:")
        text = match[3:] if regex else match
        entries.append(Entry(text, say, language, regex=regex, case_sensitive=regex or _has_capital(text)))
    return tuple(entries)


def _has_capital(word: str) -> bool:
    return any(ch.isupper() for ch in word)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Every entry of a run, highest priority first."""

    entries: tuple[Entry, ...] = ()

    def pronouncer(self, language: str) -> Callable[[str], str]:
        """A function turning text into its spoken form for ``language``."""
        return functools.partial(_speak, _rules(self, language.lower()))

    def matcher(self, language: str) -> Callable[[str], list[tuple[int, int, str]]]:
        """Where the entries for ``language`` match a text, as ``(start, end, say)``, left to right and
        never overlapping: what speech.speak says as the lexicon says it while it normalises the rest."""
        rules = _rules(self, language.lower())
        return lambda text: list(_matches(rules, text))

    def digest(self, language: str) -> str:
        """A hash of the user's entries for ``language``; "" when there are none.

        Part of an episode's build key: editing lexicon.toml re-narrates only the
        articles it can change the sound of.
        """
        mine = [asdict(e) for e in self.entries if e.origin != BUILTIN and e.applies_to(language)]
        if not mine:
            return ""
        for entry in mine:
            entry.pop("origin")  # moving the file changes nothing
        return hashlib.sha256(json.dumps(mine, ensure_ascii=False).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=16)
def _rules(lexicon: Lexicon, language: str) -> tuple[tuple[re.Pattern[str], Entry], ...]:
    """The entries for ``language`` compiled, highest priority first."""
    origins = list(dict.fromkeys(e.origin for e in lexicon.entries))

    def priority(item: tuple[int, Entry]) -> tuple[int, int, int, int]:
        index, entry = item
        specificity = 0 if "-" in entry.language else 1 if entry.language else 2
        # Literal words before patterns, longer words first ("z. B." before "B."); patterns keep file order.
        length = index if entry.regex else -len(entry.match)
        return (origins.index(entry.origin), specificity, int(entry.regex), length)

    chosen = sorted(((i, e) for i, e in enumerate(lexicon.entries) if e.applies_to(language)), key=priority)
    return tuple((entry.pattern(), entry) for _index, entry in chosen)


def _speak(rules: tuple[tuple[re.Pattern[str], Entry], ...], text: str) -> str:
    """Replace every match, left to right, in one pass: a spoken form is never matched again."""
    out: list[str] = []
    pos = 0
    for start, end, say in _matches(rules, text):
        out.append(text[pos:start])
        out.append(say)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _matches(rules: tuple[tuple[re.Pattern[str], Entry], ...], text: str) -> Iterator[tuple[int, int, str]]:
    """The matches left to right, none overlapping; where two entries match at the same place,
    the one listed first wins."""
    pos = 0
    found: list[re.Match[str] | None] = [pattern.search(text) for pattern, _entry in rules]
    while True:
        best: re.Match[str] | None = None
        best_entry: Entry | None = None
        for i, (pattern, entry) in enumerate(rules):
            match = found[i]
            # A match behind the cursor is stale; an empty one says nothing: look further on.
            while match is not None and (match.start() < pos or match.end() == match.start()):
                start = pos if match.start() < pos else match.start() + 1
                match = pattern.search(text, start) if start <= len(text) else None
            found[i] = match
            if match is not None and (best is None or match.start() < best.start()):
                best, best_entry = match, entry
        if best is None or best_entry is None:
            return
        yield best.start(), best.end(), best.expand(best_entry.say) if best_entry.regex else best_entry.say
        pos = best.end()


def default_lexicon() -> Lexicon:
    """The built-in entries alone."""
    return Lexicon(builtin_entries())


def load_lexicon(paths: Iterable[Path]) -> Lexicon:
    """The built-in entries under the entries of ``paths``, later files winning over earlier ones.

    Raises SettingsError naming the file and the entry for anything that cannot be used.
    """
    entries: list[Entry] = []
    for path in paths:
        entries[:0] = read_lexicon(path)
    return Lexicon((*entries, *builtin_entries()))


def read_lexicon(path: Path) -> tuple[Entry, ...]:
    """The entries of one lexicon file, in the order written."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError("lexicon file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"lexicon cannot be read ({exc})", path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"lexicon is not valid TOML ({exc})", path) from exc
    return parse_lexicon(data, origin=str(path))


def parse_lexicon(data: dict[str, Any], *, origin: str) -> tuple[Entry, ...]:
    """Entries from a lexicon file's TOML data (see the module docstring for the layout)."""
    entries: list[Entry] = []
    for key, value in data.items():
        if isinstance(value, dict) and "say" not in value:
            language = "" if key in {"all", "*"} else normalize_tag(key)
            if not language and key not in {"all", "*"}:
                raise SettingsError(f"[{key}] is not a language tag such as en or de-AT (or all)", origin)
            entries.extend(_entry(word, spoken, language, origin) for word, spoken in value.items())
        else:
            entries.append(_entry(key, value, "", origin))
    return tuple(entries)


def _entry(match: str, value: Any, language: str, origin: str) -> Entry:
    where = f"[{language}] {match!r}" if language else repr(match)
    if isinstance(value, str):
        options: dict[str, Any] = {"say": value}
    elif isinstance(value, dict):
        unknown = set(value) - _OPTIONS
        if unknown:
            raise SettingsError(
                f"{where}: unknown option {', '.join(sorted(unknown))} (use say, regex, case_sensitive)", origin
            )
        options = value
    else:
        raise SettingsError(f'{where}: give the spoken form as a string, or {{ say = "..." }}', origin)
    say, regex = options.get("say"), options.get("regex", False)
    case_sensitive = options.get("case_sensitive", True if regex else _has_capital(match))
    if not isinstance(say, str) or not isinstance(regex, bool) or not isinstance(case_sensitive, bool):
        raise SettingsError(f"{where}: say must be a string, regex and case_sensitive true or false", origin)
    if not match.strip():
        raise SettingsError("an entry has an empty word", origin)
    entry = Entry(match, say, language, regex=regex, case_sensitive=case_sensitive, origin=origin)
    try:
        pattern = entry.pattern()
        if regex:
            pattern.sub(say, "")  # checks the groups the spoken form refers to
    except re.error as exc:
        raise SettingsError(f"{where}: not a valid regular expression or replacement ({exc})", origin) from exc
    return entry
