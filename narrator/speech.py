"""How each sentence is spoken: its written form turned into the words an engine should say.

``normalize(text, language)`` rewrites what espeak-ng (and any engine) reads wrongly:
money ("$1.2 billion" -> "one point two billion dollars"), years and decades
("by 2040", "the 1990s"), ranges ("2019-2024"), dates ("Jan. 14", "3. März 2026"),
clock times ("14h30"), ordinals, units ("km/h"), signs ("No. 5", "#1", "-5"),
abbreviations ("Dr.", "z. B.", "Mme"), "&" ("AT&T"), a few acronyms espeak gets wrong,
and drops what a voice cannot read (emoji, letters of another script).

The rules are data: one TOML table per language in ``speech_tables/`` (``en.toml``,
``de.toml``, ``fr.toml``) says how that language writes numbers and what it
calls things; a new language is a new table. num2words turns numbers into words
(cardinals, ordinals, years). Plain numbers outside those constructs are left as
digits: espeak-ng reads "1,500" (en), "1.500" (de) and "1 500" (fr) right.

The lexicon wins: ``speak(text, language, matches)`` lets the lexicon find its
words in the written text first; what it matched is said as the lexicon says and
is never normalised (``Lexicon.matcher`` finds them).

>>> normalize("Microsoft will invest US$1 billion by 2030.", "en")
'Microsoft will invest one billion US dollars by twenty thirty.'
>>> normalize("Am 3. Oktober 1990 trat die DDR bei.", "de")
'Am dritten Oktober neunzehnhundert-neunzig trat die DDR bei.'
>>> normalize("M. Dupont arrive à 14h30.", "fr")
'Monsieur Dupont arrive à quatorze heures trente.'
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

#: One TOML table per language, and common.toml (package data; speech_tables/README.md lists the keys).
TABLES = Path(__file__).with_name("speech_tables")
#: Private-use code points stand for the lexicon's matches while the rest is normalised:
#: no rule matches them (they are neither letters nor digits), and no text keeps them.
_PLACEHOLDER_BASE = 0xF0000
_PLACEHOLDERS = re.compile("[\U000f0000-\U000ffffd]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010fffd]")
#: Spaces a page may put between digits or before "%" and "€" (no-break, narrow no-break, thin).
_SPACES = re.compile("[\u00a0\u202f\u2009\u2007]")
#: A number can start only where no letter, digit or decimal mark touches it ("COVID19", "8.0").
_START = r"(?<![\w])(?<!\d[.,:])"
_END = r"(?!\d)(?![.,:]\d)"
_WORD_BEFORE = re.compile(r"([^\s(\[]+)[\s(\[]*$")
_WORD_AFTER = re.compile(r"^[\s\"'“”«»„]*([^\s]+)")
_UPPER = re.compile(r"[A-ZÀ-ÖØ-ÞĀ-Ž]")
_ROMAN = r"(?:X{0,3}(?:IX|IV|V?I{0,3}))"
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_SPACE_RUN = re.compile(r"[ \t]{2,}")
_TEMPLATE = re.compile(r"\[([^\[\]]*)\]|\{(\w+)(?::(\w+))?\}")


def normalize(text: str, language: str) -> str:
    """The words to say for ``text``, written in ``language`` (a BCP 47 tag: "en", "de-AT").

    Never raises; a language without a table only loses its emoji.

    >>> normalize("Prices rose 5% in the 1990s (ie, a lot) 😀", "en")
    'Prices rose five percent in the nineteen nineties (that is, a lot)'
    """
    return _normalize(_PRIVATE_USE.sub("", text), language)


def speak(text: str, language: str, matches: Callable[[str], Iterable[tuple[int, int, str]]] | None = None) -> str:
    """The spoken form of ``text``: the lexicon's matches as it says them, the rest normalised.

    ``matches`` finds the lexicon's words in the written text, as ``(start, end, say)``,
    left to right without overlaps (``Lexicon.matcher``).

    >>> speak("Dr. Who costs $5.", "en", lambda text: [(0, 7, "Doctor Who")])
    'Doctor Who costs five dollars.'
    """
    text = _PRIVATE_USE.sub("", text)
    if matches is None:
        return _normalize(text, language)
    said: list[str] = []
    parts: list[str] = []
    pos = 0
    for start, end, say in matches(text):
        if start < pos or end < start or len(said) >= 0xFFFD:
            continue
        parts.append(text[pos:start])
        parts.append(chr(_PLACEHOLDER_BASE + len(said)))
        said.append(say)
        pos = end
    parts.append(text[pos:])
    spoken = _normalize("".join(parts), language)
    return _PLACEHOLDERS.sub(lambda m: said[ord(m.group()) - _PLACEHOLDER_BASE], spoken)


def speaker(
    language: str, matches: Callable[[str], Iterable[tuple[int, int, str]]] | None = None
) -> Callable[[str], str]:
    """``speak`` for one language and lexicon: what segment.py hands make_sentence as ``say``.

    >>> speaker("fr")("Mme Curie, n° 5")
    'Madame Curie, numéro 5'
    """
    return functools.partial(speak, language=language, matches=matches)


def function_words(language: str) -> frozenset[str]:
    """The language's small words (articles, prepositions, conjunctions), lower case; empty without a table.

    >>> sorted(function_words("en"))[:3]
    ['a', 'about', 'after']
    """
    speaker = _speaker(language.split("-")[0].split("_")[0].lower())
    return frozenset() if speaker is None else speaker.function_words


def _normalize(text: str, language: str) -> str:
    code = language.split("-")[0].split("_")[0].lower()
    speaker = _speaker(code)
    text = unicodedata.normalize("NFC", _SPACES.sub(" ", text))
    if speaker is None:
        return _tidy(_readable(code)(text))
    return speaker.normalize(text)


@functools.lru_cache(maxsize=32)
def _readable(code: str) -> Callable[[str], str]:
    """What a language without a table drops: emoji, and letters of scripts it is not written in."""
    common = _common()
    return common.readable(common.written_in.get(code))


@functools.lru_cache(maxsize=32)
def _speaker(code: str) -> _Speaker | None:
    path = TABLES / f"{code}.toml"
    if not code.isalpha() or not path.is_file():
        return None
    return _Speaker(code, tomllib.loads(path.read_text(encoding="utf-8")))


class _Common:
    """The language-independent data: emoji, the letters of each script, and which scripts the
    languages without a table of their own are written in."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.emoji_ranges: list[list[int]] = list(data["emoji"]["ranges"])
        self.scripts: dict[str, list[list[int]]] = dict(data["scripts"])
        self.written_in: dict[str, list[str]] = dict(data.get("written_in", {}))
        self.silent_runs = re.compile(str(data["symbols"]["silent_runs"]))

    def readable(self, kept: Iterable[str] | None) -> Callable[[str], str]:
        """What drops the characters a voice reading the scripts ``kept`` cannot say.

        Emoji and invisible characters go; a compatibility form that folds (NFKC) into a
        readable one is folded ("ﬁ" -> "fi", "①" -> "1"); letters, digits and marks of any
        other script go, each leaving a space. ``kept`` None keeps every script's letters
        (a language narrator has no table for: its voice may read anything). espeak-ng
        says nothing at all for some ("Ꭰ", "٣"), and "letter 1D00" for others.
        """
        kept_ranges = [[0x00, 0x24F], [0x1E00, 0x1EFF]]
        if kept is not None:
            kept_ranges += [r for name in kept for r in self.scripts.get(name, [])]
        # Punctuation, currency signs, letter-like symbols and arrows: espeak names them or pauses.
        # The lexicon's placeholders (speak) are private-use characters: they stay.
        plain = [[0x2000, 0x205F], [0x20A0, 0x20CF], [0x2100, 0x214F], [0xF0000, 0xFFFFD], *kept_ranges]
        others = re.compile(f"[^{_char_class(plain)[1:-1]}]+")
        emoji = re.compile(f"{_char_class(self.emoji_ranges)}")
        readable = re.compile(f"{_char_class(plain)}*")

        def char(ch: str) -> str:
            if emoji.match(ch):
                return " "
            category = unicodedata.category(ch)
            if category[0] == "C":  # format (joiners), unassigned, private use: nothing to say
                return ""
            folded = unicodedata.normalize("NFKC", ch)
            if folded != ch and readable.fullmatch(folded):
                return folded
            if kept is not None and category[0] in "LMN":
                return " "
            return ch

        def run(m: re.Match[str]) -> str:
            return "".join(char(ch) for ch in m.group())

        def drop(text: str) -> str:
            text = others.sub(run, text) if max(text, default="") > "\u024f" else text
            # Runs of signs are found in the text as it will be said, spaces collapsed: a dropped word
            # ("##東京#") or a double space must not hide a run that the next reading would find.
            return self.silent_runs.sub(" ", _SPACE_RUN.sub(" ", text))

        return drop


@functools.lru_cache(maxsize=1)
def _common() -> _Common:
    return _Common(tomllib.loads((TABLES / "common.toml").read_text(encoding="utf-8")))


def _char_class(ranges: Iterable[Iterable[int]]) -> str:
    parts = []
    for first, last in ranges:
        parts.append(re.escape(chr(first)) if first == last else f"{re.escape(chr(first))}-{re.escape(chr(last))}")
    return f"[{''.join(parts)}]"


def _alternation(words: Iterable[str], spaced: bool = False, capital: bool = False) -> str:
    """A regex alternation of literal ``words``, longest first.

    ``spaced``: a space in a word matches any space or none ("z. B.", "z.B.").
    ``capital``: a word in lower case also matches with a capital first letter ("E.g.", not "E.G.").
    """
    out = []
    for word in sorted(set(words), key=lambda w: (-len(w), w)):
        body = re.escape(word)
        if spaced:
            body = body.replace(r"\ ", r"\s*")
        if capital and word[:1].islower() and not any(c.isupper() for c in word):
            body = f"[{re.escape(word[0])}{re.escape(word[0].upper())}]{body[len(re.escape(word[0])) :]}"
        out.append(body)
    return "|".join(out) if out else "(?!)"


def _pair(value: Any) -> tuple[str, str]:
    """A table's ``[one, many]`` or ``{one = .., many = ..}`` as a pair."""
    if isinstance(value, str):
        return value, value
    if isinstance(value, list):
        return str(value[0]), str(value[-1])
    return str(value["one"]), str(value.get("many", value["one"]))


class _Speaker:
    """One language's table, compiled: its patterns and how it says numbers."""

    def __init__(self, code: str, data: Mapping[str, Any]) -> None:
        self.code = code
        self.data = data
        self.lang = str(data.get("num2words", code))
        self.words: dict[str, str] = {k: str(data.get(k, "")) for k in ("and", "to", "minus", "percent", "per")}
        self.words.update({k: str(data.get(k, "")) for k in ("point", "number", "approx", "multiplier")})
        self.plural_rule = str(data.get("plural", "not_one"))
        self.fixes: dict[str, str] = dict(data.get("fix", {}))
        decimal = re.escape(str(data.get("decimal", ".")))
        groups = "|".join(re.escape(g) for g in data.get("groups", [])) or "(?!)"
        self.decimal_mark = str(data.get("decimal", "."))
        self.group_marks: tuple[str, ...] = tuple(data.get("groups", ()))
        #: A written number: grouped thousands or up to 12 plain digits, and a decimal part.
        self.num = rf"(?:\d{{1,3}}(?:(?:{groups})\d{{3}}){{1,5}}(?!\d)|\d{{1,12}}(?!\d))(?:{decimal}\d{{1,9}}(?!\d))?"
        common = _common()
        self.readable = common.readable(data.get("scripts", ["latin"]))
        self.function_words = frozenset(str(w).lower() for w in data.get("function_words", ()))
        self._compile()

    # -- numbers -------------------------------------------------------------------------------

    def value(self, written: str) -> Decimal | None:
        """The value of a number as this language writes it ("1.500,5" in German)."""
        plain = written
        for mark in self.group_marks:
            plain = plain.replace(mark, "")
        plain = plain.replace(self.decimal_mark, ".")
        try:
            return Decimal(plain)
        except InvalidOperation:
            return None

    def cardinal(self, n: int) -> str:
        return _num2words(self.lang, n, "cardinal", tuple(self.fixes.items()))

    def ordinal(self, n: int) -> str:
        return _num2words(self.lang, n, "ordinal", tuple(self.fixes.items()))

    def year(self, n: int) -> str:
        if not self.data.get("years", {}).get("words", False):
            return self.cardinal(n)
        return _num2words(self.lang, n, "year", tuple(self.fixes.items()))

    def say_number(self, written: str, one: str = "") -> str:
        """A written number in words: "1,500.25" -> "one thousand five hundred point two five".

        A table with ``cardinals = "digits"`` keeps the digits instead, for an engine that
        reads them better than the words (espeak-ng says German "249" right and
        "zweihundertneunundvierzig" wrong).
        """
        value = self.value(written)
        if value is None:
            return written
        if self.data.get("cardinals") == "digits":
            return one if one and value == 1 else written
        whole, _, fraction = format(value, "f").partition(".")
        if not fraction and one and int(whole) == 1:
            return one
        words = self.cardinal(int(whole))
        if fraction:
            if self.data.get("fraction", "digits") == "number" and not fraction.startswith("0"):
                words += f" {self.words['point']} {self.cardinal(int(fraction))}"
            else:
                words += f" {self.words['point']} " + " ".join(self.cardinal(int(d)) for d in fraction)
        return words

    def plural(self, written: str) -> bool:
        value = self.value(written)
        if value is None:
            return True
        return value >= 2 if self.plural_rule == "two_or_more" else value != 1

    # -- compiling the table -------------------------------------------------------------------

    def _compile(self) -> None:
        d = self.data
        num = self.num
        dash = r"\s?[–—]\s?|-"
        self.currencies = {k: v for k, v in d.get("currencies", {}).items()}
        self.cents = {k: v for k, v in d.get("cents", {}).items() if k != "cents_say"}
        self.cents_say = str(d.get("cents", {}).get("cents_say", "{whole} {currency} {and} {cents} {cent}"))
        self.magnitudes: dict[str, Mapping[str, Any]] = {
            k: (v if isinstance(v, dict) else {"one": _pair(v)[0], "many": _pair(v)[1]})
            for k, v in d.get("magnitudes", {}).items()
        }
        sym = _alternation(self.currencies)
        mag = _alternation(self.magnitudes)
        per_units = d.get("per_units", {})
        per = rf"(?:\s?/\s?(?P<per>{_alternation(per_units)})(?!\w))?" if per_units else ""
        self.per_units: dict[str, str] = dict(per_units)
        self.money_before = re.compile(
            rf"(?<![\w$])(?P<sym>{sym})\s?(?P<a>{num})(?:\s?[–—-]\s?(?:{sym})?\s?(?P<b>{num}))?"
            rf"(?:(?P<hy>-)|\s?)(?P<mag>{mag})?(?!\w){per}"
        )
        # A number just after a currency sign is that sign's amount ("$1US$"): the amount said after it
        # would leave the sign before it, to be said again when the spoken form is normalised again.
        signs = re.escape(
            "".join(sorted({ch for s in self.currencies for ch in s if unicodedata.category(ch) == "Sc"}))
        )
        after_sign = rf"(?<![{signs}])(?<![{signs}]\s)" if signs else ""
        self.money_after = re.compile(
            rf"{_START}{after_sign}(?P<a>{num})(?:{dash}(?P<b>{num}))?(?:\s?(?P<mag>{mag}))?\s?(?P<sym>{sym})(?!\w){per}"
        )
        alone = [k for k, v in self.magnitudes.items() if v.get("alone")]
        self.magnitude = re.compile(
            rf"{_START}(?P<a>{num})(?:{dash}(?P<b>{num}))?\s?(?P<mag>{_alternation(alone)})(?!\w)"
        )
        self.units = {
            k: (v if isinstance(v, dict) else {"one": _pair(v)[0], "many": _pair(v)[1]})
            for k, v in d.get("units", {}).items()
        }
        self.unit = re.compile(
            rf"{_START}(?P<a>{num})(?:{dash}(?P<b>{num}))?(?P<space>\s?)(?P<unit>{_alternation(self.units, True)})"
            r"(?![\w²³/])"
        )
        self.percent = re.compile(rf"{_START}(?P<a>{num})(?:{dash}(?P<b>{num}))?\s?(?P<sign>%|‰)")
        self.range = re.compile(rf"{_START}(?<![-–])(?P<a>{num})(?P<dash>\s?[–—]\s?|-)(?P<b>{num})(?![\w%-]|[.,]\d)")
        # dates
        dates = d.get("dates", {})
        months = list(dates.get("months", []))
        self.months = {m.lower(): i + 1 for i, m in enumerate(months)}
        self.month_names = months
        abbrev = {str(k): int(v) for k, v in dates.get("abbreviations", {}).items()}
        self.month_abbrev = {k.rstrip(".").lower(): v for k, v in abbrev.items()}
        short = _alternation([k.rstrip(".") for k in abbrev], capital=True)
        month = rf"(?P<month>{_alternation(months, capital=True)}|(?:{short})\.?)"  # "January", "Jan", "Jan."
        suffix = str(dates.get("day_suffix", "(?!)"))
        self.dates = dates
        self.iso = re.compile(r"(?<![\w.-])(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})(?![\w-])")
        self.month_day = re.compile(
            rf"(?<![\w])(?:{month})\s(?P<day>\d{{1,2}})(?:{suffix})?(?!\d)(?:,?\s(?P<year>\d{{4}})(?!\d))?(?![\w])"
        )
        dot = r"\." if dates.get("day_dot") else rf"(?:{suffix})?"
        self.day_month = re.compile(
            rf"{_START}(?P<day>\d{{1,2}}){dot}\s?(?:of\s)?(?:{month})(?![\w])(?:,?\s(?P<year>\d{{4}})(?!\d))?"
        )
        self.month_year = re.compile(rf"(?<![\w]){month},?\s(?P<year>\d{{4}})(?![\w]|[.,]\d)")
        self.numeric = re.compile(
            r"(?<![\w.,])(?P<day>\d{1,2})\.(?P<mon>\d{1,2})\.(?P<year>\d{4}|\d{2})?(?![\d]|[.,]\d)"
        )
        self.slashed = re.compile(r"(?<![\w/.])(?P<day>\d{1,2})/(?P<mon>\d{1,2})/(?P<year>\d{4})(?![\w/])")
        # clock times
        times = d.get("times", {})
        self.times = times
        self.clock = re.compile(str(times["clock"])) if "clock" in times else None
        # ordinals
        ords = d.get("ordinals", {})
        self.ords = ords
        self.ordinal_dot = re.compile(r"(?<![\w.,:])(?P<n>\d{1,3})\.(?=[ \t]+(?P<next>[^\s\d]))")
        ords_suffix = str(ords.get("suffix", ""))
        self.ordinal_suffix = (
            re.compile(rf"{_START}(?P<n>\d{{1,4}})(?P<suf>{ords_suffix})(?![\w])") if "first" in ords else None
        )
        self.roman_ordinal = (
            re.compile(rf"(?<![\w])(?P<r>(?=[IVX]){_ROMAN})(?P<suf>{ords_suffix})(?![\w])") if "first" in ords else None
        )
        roman = d.get("roman", {})
        self.roman = roman
        self.roman_after = re.compile(rf"(?<![\w])(?P<name>[A-ZÀ-Þ][\w'’-]*)\s(?P<r>(?=[IVX]{{2}}){_ROMAN})(?![\w'’])")
        # years and decades
        self.years = d.get("years", {})
        self.year_pattern = re.compile(rf"{_START}(?<![-–/])(?P<y>\d{{4}})(?![\w]|[.,:/-]\d|[–-]\d)")
        dec = d.get("decades", {})
        self.decades_table = dec
        written = str(dec.get("written", ""))
        self.decade = (
            re.compile(
                rf"(?<![\w'’‘])(?<!\d[.,])(?:(?P<full>\d{{1,3}}0)|(?P<q>['’‘])?(?P<short>[1-9]0)){re.escape(written)}(?![\w])"
            )
            if written
            else None
        )
        # signs
        numbers = d.get("numbers", {})
        signs = _alternation([s for s in numbers.get("signs", []) if s != "#"])
        hashes = "#" in numbers.get("signs", [])
        self.sign = re.compile(rf"(?<![\w])(?:{signs}{'|#' if hashes else ''})\s?(?={num})")
        self.hashtag = re.compile(r"(?<![\w#&])#(?=[^\W\d_])") if "hashtag" in numbers else None
        self.hashtag_say = str(numbers.get("hashtag", ""))
        self.minus = re.compile(r"(?<![^\s(\[/])[-−](?=\d)")
        self.tilde = re.compile(r"~\s?(?=\d)")
        self.times_sign = re.compile(rf"{_START}(?P<n>\d{{1,3}}(?:[.,]\d{{1,3}})?)[x×](?=\s|[.,;:!?]|$)")
        # & between capitals ("AT&T", "R&D"), and between words
        self.amp_acronym = re.compile(r"(?<![\w&])(?P<a>[A-Z]{1,4})\s?&\s?(?P<b>[A-Z]{1,4})(?![\w&])")
        self.amp = re.compile(r"\s*&(?:amp;)?(?!#?\w+;)\s*")
        # abbreviations: literal keys in one alternation, patterns ("re:") on their own
        abbr = d.get("abbreviations", {})
        self.abbr: dict[str, list[Mapping[str, Any]]] = {}
        patterns: list[tuple[re.Pattern[str], list[Mapping[str, Any]]]] = []
        literal: list[str] = []
        for key, value in abbr.items():
            variants: list[Mapping[str, Any]] = [
                v if isinstance(v, dict) else {"say": v} for v in (value if isinstance(value, list) else [value])
            ]
            if key.startswith("re:"):
                patterns.append((re.compile(key[3:]), variants))
            else:
                literal.append(key)
                self.abbr[re.sub(r"\s+", "", key)] = variants
        self.abbr_patterns = patterns
        self.abbreviation = (
            re.compile(rf"(?<![\w.])(?:{_alternation(literal, spaced=True, capital=True)})(?![\w])")
            if literal
            else None
        )
        acr = d.get("acronyms", {})
        self.acronym_say: dict[str, str] = {**{k: _spelled(k) for k in acr.get("spell", [])}, **acr.get("say", {})}
        self.acronym = (
            re.compile(
                rf"(?<![\w.])(?:{'|'.join(map(re.escape, sorted(self.acronym_say, key=len, reverse=True)))})(?![\w])"
            )
            if self.acronym_say
            else None
        )

    # -- the passes ----------------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        text = _SPACE_RUN.sub(" ", self.readable(text))  # one space between words, as every pattern expects
        passes: tuple[Callable[[str], str], ...] = (
            self._ampersands,
            self._little_signs,
            self._dates,
            self._clock,
            self._money,
            self._magnitudes,
            self._units,
            self._percents,
            self._signs,
            self._decades,
            self._ranges,
            self._years,
            self._ordinals,
            self._romans,
            self._multipliers,
            self._abbreviations,
            self._acronyms,
        )
        for step in passes:
            text = step(text)
        return _tidy(text)

    def _ampersands(self, text: str) -> str:
        if "&" not in text:
            return text
        word = self.words["and"] or "and"
        text = self.amp_acronym.sub(lambda m: f"{_spelled(m['a'])} {word} {_spelled(m['b'])}", text)
        return self.amp.sub(f" {word} ", text)

    # dates

    def _month(self, written: str) -> int | None:
        key = written.rstrip(".").lower()
        return self.months.get(key) or self.month_abbrev.get(key)

    def _render(self, template: str, fields: Mapping[str, int | None], before: str) -> str:
        """Fill a date template: {day:ordinal}, {month}, {year:year}; [..] only when its fields are known."""

        def field(name: str, kind: str | None) -> str | None:
            if name == "the":
                return "" if before.rstrip().lower().endswith("the") else str(self.dates.get("the", ""))
            if name == "and":
                return self.words["and"]
            value = fields.get(name)
            if value is None:
                return None
            if name == "month":
                return self.month_names[value - 1]
            if kind == "ordinal":
                return self._inflected_ordinal(value, before, month=True)
            if kind == "day":
                return (
                    str(self.dates.get("first_day"))
                    if value == 1 and "first_day" in self.dates
                    else self.cardinal(value)
                )
            if kind == "year":
                return self.year(value)
            return self.cardinal(value)

        def fill(part: str) -> str | None:
            out: list[str] = []
            pos = 0
            for m in _TEMPLATE.finditer(part):
                out.append(part[pos : m.start()])
                if m.group(1) is not None:
                    out.append(fill(m.group(1)) or "")
                else:
                    value = field(m.group(2), m.group(3))
                    if value is None:
                        return None
                    out.append(value)
                pos = m.end()
            out.append(part[pos:])
            return "".join(out)

        return fill(template) or ""

    def _dates(self, text: str) -> str:
        if not self.month_names or not any(c.isdigit() for c in text):
            return text
        d = self.dates

        def iso(m: re.Match[str]) -> str:
            year, mon, day = int(m["year"]), int(m["mon"]), int(m["day"])
            if not (1 <= mon <= 12 and 1 <= day <= 31 and 1000 <= year <= 2999) or "iso" not in d:
                return m.group()
            return self._render(str(d["iso"]), {"day": day, "month": mon, "year": year}, _before(m))

        text = self.iso.sub(iso, text)

        def with_month(template_key: str) -> Callable[[re.Match[str]], str]:
            def say(m: re.Match[str]) -> str:
                month = self._month(m["month"])
                day = int(m["day"])
                year = int(m["year"]) if m["year"] else None
                if month is None or not 1 <= day <= 31 or template_key not in d:
                    return m.group()
                said = self._render(str(d[template_key]), {"day": day, "month": month, "year": year}, _before(m))
                return said + _final_stop(m, said)

            return say

        if "month_day" in d:
            text = self.month_day.sub(with_month("month_day"), text)
        if "day_month" in d:
            text = self.day_month.sub(with_month("day_month"), text)
        if "month_year" in d:
            text = self.month_year.sub(
                lambda m: self._render(
                    str(d["month_year"]), {"month": self._month(m["month"]), "year": int(m["year"])}, ""
                ),
                text,
            )

        def numeric(template_key: str) -> Callable[[re.Match[str]], str]:
            def say(m: re.Match[str]) -> str:
                day, mon = int(m["day"]), int(m["mon"])
                year = int(m["year"]) if m["year"] else None
                if year is not None and year < 100:
                    year += 2000 if year < 50 else 1900
                if not (1 <= mon <= 12 and 1 <= day <= 31):
                    return m.group()
                if year is None and not m.group().endswith("."):
                    return m.group()
                said = self._render(str(d[template_key]), {"day": day, "month": mon, "year": year}, _before(m))
                return said + (" " if m.group().endswith(".") and year is None else "")

            return say

        if "numeric" in d:
            text = self.numeric.sub(numeric("numeric"), text)
        if "numeric_slash" in d:
            text = self.slashed.sub(numeric("numeric_slash"), text)
        return text

    def _inflected_ordinal(self, n: int, before: str, month: bool = False, state: list[str] | None = None) -> str:
        """An ordinal, with the ending the words before it ask for (German: "am dritten", "der dritte")."""
        word = self.ordinal(n)
        endings = self.ords.get("endings")
        if not endings:
            return word
        ending = self._ending(before, str(self.ords.get("before_month" if month else "default", "e")), state)
        return (word[:-1] if word.endswith("e") else word) + ending

    def _ending(self, before: str, default: str, state: list[str] | None = None) -> str:
        endings: Mapping[str, str] = self.ords.get("endings", {})
        tokens = re.findall(r"[\w.]+", before[-60:])
        if not tokens or before.rstrip().endswith((",", ";", ":", "(", "–", "—")):
            return default
        last = tokens[-1].lower()
        if last in {c.lower() for c in self.ords.get("conjunctions", [])}:
            return state[-1] if state else endings.get(last, default)
        if last == "der" and len(tokens) > 1 and tokens[-2].lower() in self.ords.get("dative_prepositions", []):
            return "en"
        return str(endings.get(last, default))

    def _clock(self, text: str) -> str:
        if self.clock is None or not any(c.isdigit() for c in text):
            return text
        out: list[str] = []
        pos = 0
        last_end = -1
        for m in self.clock.finditer(text):
            said = self._say_time(m)
            if said is None:
                continue
            between = text[pos : m.start()]
            if last_end == pos and out and re.fullmatch(r"\s?[–—-]\s?", between):
                between = f" {self.words['to']} "
            out.append(between)
            out.append(said)
            pos = last_end = m.end()
        out.append(text[pos:])
        return "".join(out)

    def _say_time(self, m: re.Match[str]) -> str | None:
        t = self.times
        groups = m.groupdict()
        h_text = groups.get("h") or groups.get("h2")
        m_text = groups.get("m") if groups.get("h") else groups.get("m2")
        ap = groups.get("ap") or groups.get("ap2")
        if h_text is None:
            return None
        hour, minute = int(h_text), int(m_text) if m_text else 0
        if hour > 24 or minute > 59 or (ap and not 1 <= hour <= 12):
            return None
        fields: dict[str, str | None] = {
            "h": str(t["hour_one"]) if hour == 1 and "hour_one" in t else self.cardinal(hour),
            "ap": str(t.get("am" if ap.lower() == "a" else "pm", "")) if ap else None,
            "m": None,
            "hours": None,
        }
        if "hours" in t:
            one, many = _pair(t["hours"])
            fields["hours"] = many if (hour >= 2 if self.plural_rule == "two_or_more" else hour != 1) else one
        if minute == 0:
            template = str(t.get("on_the_hour_24" if hour > 12 and not ap and "on_the_hour_24" in t else "on_the_hour"))
        else:
            template = str(t["say"])
            fields["m"] = (
                str(t.get("minutes_below_ten", "{m}")).replace("{m}", self.cardinal(minute))
                if minute < 10
                else self.cardinal(minute)
            )
        said = _fill_simple(template, fields)
        return said + _final_stop(m, said)

    # money, magnitudes, units, percentages

    def _amounts(self, m: re.Match[str], one: str = "") -> str:
        a = self.say_number(m["a"], one if not m["b"] else "")
        if m["b"]:
            return f"{a} {self.words['to']} {self.say_number(m['b'])}"
        return a

    def _money(self, text: str) -> str:
        if not self.currencies or not any(c.isdigit() for c in text):
            return text
        return self.money_after.sub(self._say_money, self.money_before.sub(self._say_money, text))

    def _say_money(self, m: re.Match[str]) -> str:
        sym = m["sym"]
        currency = self.currencies.get(sym)
        if currency is None:
            return m.group()
        one, many = _pair(currency)
        last = m["b"] or m["a"]
        mag = self.magnitudes.get(m["mag"]) if m["mag"] else None
        per = f" {self.words['per']} {self.per_units[m['per']]}" if m.groupdict().get("per") else ""
        if mag is not None:
            amount = self._amounts(m, str(mag.get("one_number", "")) and f"{mag['one_number']} {mag['one']}")
            if amount.endswith(str(mag["one"])) and mag.get("one_number") and not m["b"]:
                scale = ""
            else:
                scale = " " + (str(mag["many"]) if self.plural(last) else str(mag["one"]))
            if m.groupdict().get("hy"):
                name = one  # "a $23-million centre": a twenty-three million dollar centre
            elif isinstance(currency, dict) and "of" in currency:
                name = str(currency["of"])
            else:
                name = many
            said = f"{amount}{scale} {name}{per}"
            return said + _final_stop(m, said)
        value = self.value(last)
        cents_names = self.cents.get(sym)
        if value is not None and not m["b"] and cents_names and re.search(r"[.,]\d\d$", m["a"]):
            whole, cents = int(value), int((value * 100) % 100)
            cent_one, cent_many = _pair(cents_names)
            name = one if whole == 1 else many
            if cents == 0:
                return f"{self.cardinal(whole)} {name}{per}"
            cent = cent_one if cents == 1 else cent_many
            if whole == 0:
                return f"{self.cardinal(cents)} {cent}{per}"
            said = _fill_simple(
                self.cents_say,
                {
                    "whole": self.cardinal(whole),
                    "currency": name,
                    "cents": self.cardinal(cents),
                    "cent": cent,
                    "and": self.words["and"],
                },
            )
            return said + per
        return f"{self._amounts(m)} {many if self.plural(last) else one}{per}"

    def _magnitudes(self, text: str) -> str:
        if not any(c.isdigit() for c in text):
            return text

        def say(m: re.Match[str]) -> str:
            mag = self.magnitudes[m["mag"]]
            one_number = str(mag.get("one_number", ""))
            if one_number and not m["b"] and self.value(m["a"]) == 1:
                said = f"{one_number} {mag['one']}"
            else:
                plural = self.plural(m["b"] or m["a"])
                said = f"{self._amounts(m)} {mag['many'] if plural else mag['one']}"
            return said + _final_stop(m, said)

        return self.magnitude.sub(say, text)

    def _units(self, text: str) -> str:
        if not self.units or not any(c.isdigit() for c in text):
            return text

        def say(m: re.Match[str]) -> str:
            key = m["unit"]
            unit = self.units.get(key) or self.units.get(re.sub(r"\s+", " ", key))
            if unit is None or (unit.get("space") and not m["space"]):
                return m.group()
            plural = self.plural(m["b"] or m["a"])
            one_number = str(unit.get("one_number", self.data.get("one_number", "")))
            said = f"{self._amounts(m, one_number)} {unit['many'] if plural else unit['one']}"
            return said + _final_stop(m, said)

        return self.unit.sub(say, text)

    def _percents(self, text: str) -> str:
        if "%" not in text and "‰" not in text:
            return text
        word = self.words["percent"]
        return self.percent.sub(lambda m: f"{self._amounts(m)} {word if m['sign'] == '%' else 'per mille'}", text)

    # signs: No. 5, #1, #hashtag

    def _signs(self, text: str) -> str:
        word = self.words["number"]
        if word and any(c.isdigit() for c in text):
            text = self.sign.sub(f"{word} ", text)
        if self.hashtag is not None and "#" in text:
            text = self.hashtag.sub(self.hashtag_say, text)
        return text

    def _little_signs(self, text: str) -> str:
        if not any(c.isdigit() for c in text):
            return text
        if self.words["minus"]:
            text = self.minus.sub(f"{self.words['minus']} ", text)
        if self.words["approx"]:
            text = self.tilde.sub(f"{self.words['approx']} ", text)
        return text

    def _multipliers(self, text: str) -> str:
        if self.words["multiplier"] and any(c.isdigit() for c in text):
            text = self.times_sign.sub(lambda m: self.words["multiplier"].replace("{n}", self.say_number(m["n"])), text)
        return text

    # years, decades, ranges

    def _is_year_context(self, m: re.Match[str], n: int, text: str) -> bool:
        y = self.years
        low, high = y.get("context", [0, -1])
        bare_low, bare_high = y.get("bare", [0, -1])
        before = text[max(0, m.start() - 40) : m.start()]
        after = text[m.end() : m.end() + 40]
        prev = _WORD_BEFORE.search(before)
        prev_word = prev.group(1) if prev else ""
        nxt = _WORD_AFTER.match(after)
        next_word = nxt.group(1) if nxt else ""
        if prev_word in y.get("not_after", []) or prev_word.lower() in y.get("not_after", []):
            return False
        if low <= n <= high:
            if prev_word in y.get("after", []) or prev_word.lower() in y.get("after", []):
                return True
            if prev_word.lower().rstrip(".,") in self.months or prev_word.lower().rstrip(".,") in self.month_abbrev:
                return True
            if y.get("parentheses") and before.endswith("(") and after.startswith(")"):
                return True
        if bare_low <= n <= bare_high:
            word = next_word.strip(".,;:!?)\"'”’").lower()
            if word in y.get("not_before", []):
                return False
            # German nouns are capitalised: "1990 Menschen" is a count, not a year.
            return not (y.get("bare_not_before_capital") and next_word[:1].isupper())
        return False

    def _years(self, text: str) -> str:
        if not self.years.get("words") or not any(c.isdigit() for c in text):
            return text

        def say(m: re.Match[str]) -> str:
            n = int(m["y"])
            return self.year(n) if self._is_year_context(m, n, text) else m.group()

        return self.year_pattern.sub(say, text)

    def _decades(self, text: str) -> str:
        if self.decade is None or not any(c.isdigit() for c in text):
            return text
        dec = self.decades_table

        def say(m: re.Match[str]) -> str:
            if m["full"]:
                n = int(m["full"])
                if n < 100:
                    words = self.cardinal(n)
                elif n < 1000:
                    return m.group()
                else:
                    words = self.year(n) if self.years.get("words") else self.cardinal(n)
            else:
                if m["q"] is None and not dec.get("short"):
                    return m.group()
                words = self.cardinal(int(m["short"]))
            for end, plural in dec.get("ending", {}).items():
                if words.endswith(end):
                    return words[: -len(end)] + plural
            return words + str(dec.get("suffix", ""))

        return self.decade.sub(say, text)

    def _ranges(self, text: str) -> str:
        if not any(c.isdigit() for c in text) or not self.words["to"]:
            return text

        def say(m: re.Match[str]) -> str:
            a, b = m["a"], m["b"]
            va, vb = self.value(a), self.value(b)
            if va is None or vb is None:
                return m.group()
            hyphen = m["dash"] == "-"
            plain = a.isdigit() and b.isdigit()
            if hyphen and not (plain and not (len(a) > 1 and a[0] == "0") and not (len(b) > 1 and b[0] == "0")):
                return m.group()
            if plain and len(a) == 4 and len(b) == 4 and 1000 <= va < vb <= 2099:  # "2019-2024"
                return f"{self.year(int(a))} {self.words['to']} {self.year(int(b))}"
            low, high = self.years.get("context", [0, -1]) if self.years.get("words") else (0, -1)
            if plain and len(a) == 4 and len(b) == 2 and low <= va <= high and vb > va % 100:
                return f"{self.year(int(a))} {self.words['to']} {self.cardinal(int(b))}"  # "1990-95"
            if hyphen and (len(a) > 3 or len(b) > 3):
                return m.group()  # "555-1234", "02110-1301": not a range
            return f"{a} {self.words['to']} {b}"

        return self.range.sub(say, text)

    # ordinals and roman numerals

    def _ordinals(self, text: str) -> str:
        if not any(c.isdigit() or c in "IVX" for c in text):
            return text
        ords = self.ords
        if ords.get("dot"):
            state: list[str] = []

            def dot(m: re.Match[str]) -> str:
                if m.start() == 0 or not text[: m.start()].strip(" -–—*•\"'„“«"):
                    return m.group()  # "1. Vorbereitung": a numbered list, not "erste"
                before = text[max(0, m.start() - 60) : m.start()]
                ending = self._ending(before, str(ords.get("default", "e")), state)
                state.append(ending)
                word = self.ordinal(int(m["n"]))
                return (word[:-1] if word.endswith("e") else word) + ending

            text = self.ordinal_dot.sub(dot, text)
        first: Mapping[str, str] = ords.get("first", {})
        second: Mapping[str, str] = ords.get("second", {})

        def suffixed(n: int, suf: str) -> str:
            if n == 1 and suf in first:
                return first[suf]
            if n == 2 and suf in second:
                return second[suf]
            return self.ordinal(n)

        if self.ordinal_suffix is not None:
            text = self.ordinal_suffix.sub(lambda m: suffixed(int(m["n"]), m["suf"]), text)
        if self.roman_ordinal is not None:

            def roman(m: re.Match[str]) -> str:
                n = _roman_value(m["r"])
                if n is None:
                    return m.group()
                return suffixed(n, m["suf"])

            text = self.roman_ordinal.sub(roman, text)
        return text

    def _romans(self, text: str) -> str:
        r = self.roman
        if not r or ("I" not in text and "V" not in text and "X" not in text):
            return text

        def say(m: re.Match[str]) -> str:
            n = _roman_value(m["r"])
            name = m["name"]
            if n is None:
                return m.group()
            if name in r.get("ordinal_after", []):
                return f"{name} {str(r.get('ordinal', '{n}')).replace('{n}', self.ordinal(n))}"
            # An all-capitals word before it is a heading or an acronym ("WWII", "MI V"): unsure, leave it.
            if name.isupper() and name not in r.get("cardinal_after", []):
                return m.group()
            # After any other name the cardinal beats espeak's "roman two" ("World War II", "Louis XIV").
            return f"{name} {self.cardinal(n)}"

        return self.roman_after.sub(say, text)

    # abbreviations and acronyms

    def _abbreviations(self, text: str) -> str:
        for pattern, variants in self.abbr_patterns:
            source = text
            text = pattern.sub(functools.partial(self._said_pattern, variants=variants, text=source), text)
        if self.abbreviation is None:
            return text
        source = text

        def say(m: re.Match[str]) -> str:
            key = re.sub(r"\s+", "", m.group())
            variants = self.abbr.get(key) or self.abbr.get(key.lower())
            if variants is None:
                lowered = {k.lower(): v for k, v in self.abbr.items() if k.islower() or not k.isalpha()}
                variants = lowered.get(key.lower())
            if variants is None:
                return m.group()
            return self._say_abbreviation(m, variants, source)

        return self.abbreviation.sub(say, text)

    def _said_pattern(self, m: re.Match[str], variants: list[Mapping[str, Any]], text: str) -> str:
        return self._say_abbreviation(m, variants, text)

    def _say_abbreviation(self, m: re.Match[str], variants: list[Mapping[str, Any]], text: str) -> str:
        before = text[max(0, m.start() - 60) : m.start()]
        after = text[m.end() : m.end() + 60]
        for v in variants:
            if not _holds(v.get("before"), after, forward=True) or not _holds(v.get("after"), before, forward=False):
                continue
            if "inflect" in v:
                said = str(v["inflect"]) + self._ending(before, str(self.ords.get("default", "e")))
            else:
                said = str(v["say"])
            if m.group()[:1].isupper() and said[:1].islower():
                said = said[0].upper() + said[1:]  # "E.g." at the start of a sentence: "For example"
            return said + _final_stop(m, said)
        return m.group()

    def _acronyms(self, text: str) -> str:
        if self.acronym is None:
            return text
        return self.acronym.sub(lambda m: self.acronym_say[m.group()], text)


def _holds(condition: Any, context: str, forward: bool) -> bool:
    """Whether the words after (``forward``) or before an abbreviation meet its condition."""
    if condition is None:
        return True
    if forward:
        found = _WORD_AFTER.match(context)
        word = found.group(1) if found else ""
    else:
        found = _WORD_BEFORE.search(context)
        word = found.group(1) if found else ""
        if context and not context[-1:].isspace() and condition != "paren":
            return False
    if condition == "name":
        return (bool(word) and bool(_UPPER.match(word)) and not word.isupper()) or (len(word) == 1 and word.isupper())
    if condition == "number":
        return word[:1].isdigit()
    if condition == "lower":
        return word[:1].islower()
    if condition == "end":
        return not word
    return False


def _before(m: re.Match[str]) -> str:
    return m.string[max(0, m.start() - 60) : m.start()]


def _final_stop(m: re.Match[str], said: str) -> str:
    """A full stop an abbreviation swallowed at the end of the sentence ("Acme Inc." -> "Acme Incorporated.")."""
    if m.group().endswith(".") and not said.endswith(".") and not m.string[m.end() :].strip():
        return "."
    return ""


def _fill_simple(template: str, fields: Mapping[str, str | None]) -> str:
    """Fill ``{name}`` fields; a ``[...]`` part is dropped when a field in it is empty."""

    def part(text: str) -> str | None:
        out: list[str] = []
        pos = 0
        for m in _TEMPLATE.finditer(text):
            out.append(text[pos : m.start()])
            if m.group(1) is not None:
                out.append(part(m.group(1)) or "")
            else:
                value = fields.get(m.group(2))
                if value is None:
                    return None
                out.append(value)
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)

    return part(template) or ""


def _spelled(acronym: str) -> str:
    """Letters said one by one: "OCDE" -> "O.C.D.E.", which espeak-ng spells in every voice.

    >>> _spelled("AfD")
    'A.F.D.'
    """
    return "".join(f"{c.upper()}." for c in acronym if c.isalpha())


def _roman_value(numeral: str) -> int | None:
    """
    >>> _roman_value("XIV"), _roman_value("XXe".rstrip("e")), _roman_value("IIII")
    (14, 20, None)
    """
    if not numeral or not re.fullmatch(_ROMAN, numeral):
        return None
    total = 0
    for i, c in enumerate(numeral):
        value = _ROMAN_VALUES[c]
        total += -value if i + 1 < len(numeral) and _ROMAN_VALUES[numeral[i + 1]] > value else value
    return total or None


@functools.lru_cache(maxsize=4096)
def _num2words(lang: str, n: int, to: str, fixes: tuple[tuple[str, str], ...]) -> str:
    from num2words import num2words

    try:
        words = str(num2words(n, lang=lang, to=to))
    except (NotImplementedError, OverflowError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return str(n)
    for old, new in fixes:
        words = re.sub(old[3:], new, words) if old.startswith("re:") else words.replace(old, new)
    return words


def _tidy(text: str) -> str:
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"(?<=\w) (?=[,.](?:\s|$))", "", text)  # where a dropped word or emoji left "Seoul , Cairo"
    return re.sub(r"^[\s,;:]+", "", text).strip()  # where a dropped word left ", hello"
