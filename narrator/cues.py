"""One sentence -> caption cues people can read: where lines and cues break, and when each cue starts.

A sentence longer than one cue is cut where a reader expects it, following the
Netflix Timed Text Style Guide (General Requirements, "Line Treatment": break
after punctuation, before conjunctions and prepositions; never between an
article and its noun, a first and a last name, a pronoun and its verb, a verb
and its auxiliary or negation) and the BBC Subtitle Guidelines (3.4 "Break at
natural points", 3.10 "Prioritise editing and timing over line breaks").

Every gap between two unbreakable pieces of text gets a cost (a comma is cheap,
the gap after "the" dear, the gap inside "North Korean" dearer still); every cue
a cost for its shape, its duration and its reading speed. Dynamic programming
over the gaps finds the cheapest way to cut the whole sentence, so a good break
three words early beats a poor one at the line limit, which a greedy filler
cannot see. The work grows linearly with the sentence: a 1,600-character
sentence takes about 5 to 15 ms.

Timing comes from anchors: places in the sentence where the audio says a word's
sound starts (``words.sentence_anchors`` finds them from the engine's word marks, or
from the starts of clips cut at the cues). A cue may only start at an anchor, so
every inner cue boundary is a word boundary of the audio; between anchors, times
are interpolated by characters, which only the cost of a cue's length uses.

Words per language live in tables (``RULES``): a new language is a new entry.
Han and kana text, which has no spaces, breaks between characters in any
language, by the Japanese line-breaking rules (JIS X 4051 "kinsoku": no line
starts with a closing mark or a small kana, none ends with an opening bracket).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# --------------------------------------------------------------------------- limits and language tables


@dataclass(frozen=True, slots=True)
class Limits:
    """What one cue may hold. Defaults: Netflix's English guide."""

    max_chars: int = 42
    """Characters per line, spaces and punctuation included (Netflix: 42 for Latin scripts)."""
    max_lines: int = 2
    """Lines per cue: 1 or 2 (Netflix: 2 at most; BBC: 3 only when nothing in the picture is hidden)."""
    max_ms: int = 7000
    """Longest cue (Netflix: 7 seconds per subtitle event)."""
    min_ms: int = 833
    """Shortest comfortable cue (Netflix: five-sixths of a second, 20 frames at 24 fps)."""
    max_cps: float = 20.0
    """Reading speed worth staying under, characters per second (Netflix English adult: 20)."""


@dataclass(frozen=True, slots=True)
class LanguageRules:
    """How one language's text breaks: its line length and the words that bind to their neighbours.

    The word lists are lower case; elided forms keep their apostrophe (``l'``, ``qu'``).
    """

    max_chars: int = 42
    max_cps: float = 17.0
    speech_cps: float = 15.0
    """How fast a voice reads the language, characters per second: the pace assumed when nothing
    says how long the speech takes (about 175 words a minute in English)."""
    conjunctions: frozenset[str] = frozenset()
    """A line may start with these: a clause begins (Netflix: break before conjunctions)."""
    prepositions: frozenset[str] = frozenset()
    """A line may start with these, and must not end with them (BBC: keep the preposition with its phrase)."""
    determiners: frozenset[str] = frozenset()
    """Articles and the like: never the last word of a line (Netflix: not a noun from its article)."""
    pronouns: frozenset[str] = frozenset()
    """Subject pronouns: not separated from their verb."""
    auxiliaries: frozenset[str] = frozenset()
    """Auxiliary and modal verbs: not separated from the verb they go with."""
    negations: frozenset[str] = frozenset()
    """Not parted from the verb on either side: "does / not" and "has not / had" read badly."""
    magnitudes: frozenset[str] = frozenset()
    """Words that belong to the number before them: "1.2 billion", "50 per cent", "30 Millionen"."""
    particles: frozenset[str] = frozenset()
    """Lower-case parts of names: "Charles de Gaulle", "Ludwig van Beethoven"."""
    abbreviations: frozenset[str] = frozenset()
    """Words a full stop shortens ("Dr", "etc"): that stop does not end a clause."""
    adverb_particles: frozenset[str] = frozenset()
    """Prepositions that often finish phrasal verbs ("stir up", "kept on"): when no noun phrase
    follows ("tied up in", "kept on as") they belong to the verb before them."""
    phrases: frozenset[str] = frozenset()
    """Two-word expressions never parted: "because of", "bis zum", "parce que"."""
    adjective_endings: tuple[str, ...] = ()
    """Endings of words that are mostly adjectives ("military", "Korean"): not parted from the noun after."""
    name_penalty: float = 40.0
    """Cost of breaking between two capitalised words (lower where every noun is capitalised)."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Units and symbols that stay with their number in every language ("5 km", "20 %", "10 €").
_UNITS = _words("% ‰ ° °c °f km m cm mm kg g mg t l ml h min s ms hz khz mhz ghz kb mb gb tb kw mw gw € $ £ ¥ ₹ ₩ ₽")

#: Break rules per language (primary subtag of the BCP 47 tag). Limits from the Netflix
#: timed-text style guides: 42 characters a line for Latin scripts, 13 for Japanese,
#: 16 for Chinese and Korean; reading speeds 20 (English), 17 (most others), 4, 9, 12 cps.
RULES: dict[str, LanguageRules] = {
    "en": LanguageRules(
        max_cps=20.0,
        conjunctions=_words(
            "and but or nor so yet because although though while whereas if unless until since when whenever "
            "where wherever whether that which who whom whose than once lest"
        ),
        prepositions=_words(
            "about above according across after against along alongside amid amidst among amongst around as at "
            "before behind below beneath beside besides between beyond by despite down during except for from in "
            "inside into like near of off on onto opposite out outside over past per through throughout till to "
            "toward towards under underneath unlike up upon via with within without"
        ),
        determiners=_words(
            "a an the this these those my your his her its our their some any no every each either neither "
            "another such both several many much few"
        ),
        pronouns=_words("i you he she it we they"),
        auxiliaries=_words(
            "am is are was were be been being have has had do does did will would shall should can could may might must"
        ),
        negations=_words("not"),
        magnitudes=_UNITS
        | _words(
            "hundred hundreds thousand thousands million millions billion billions trillion trillions percent "
            "per bn dollars euros pounds yen yuan won roubles rubles"
        ),
        particles=_words("van von de da di del della der den du dos das le la bin ibn al el ter"),
        adverb_particles=_words("up down out off back away on over"),
        phrases=frozenset(
            (
                "out of",
                "up to",
                "because of",
                "instead of",
                "according to",
                "due to",
                "next to",
                "apart from",
                "as well",
                "such as",
                "so that",
                "even though",
                "as if",
                "rather than",
                "let alone",
                "as such",
            )
        ),
        adjective_endings=(
            "al",
            "ar",
            "ary",
            "ous",
            "ive",
            "ful",
            "ic",
            "less",
            "able",
            "ible",
            "ian",
            "ean",
            "ese",
            "ish",
        ),
        abbreviations=_words(
            "mr mrs ms dr prof st jr sr gen sen rep gov col capt lt sgt maj rev hon mt ft vs etc approx inc ltd "
            "co corp no nos vol vols pp fig figs ie eg cf al dept est"
        ),
    ),
    "de": LanguageRules(
        conjunctions=_words(
            "und oder aber sondern denn doch weil dass daß ob wenn als obwohl obgleich während damit bevor "
            "nachdem seit seitdem bis sodass falls wie wo wobei indem sowie jedoch"
        ),
        prepositions=_words(
            "ab an am auf aus außer bei beim bis durch für gegen gegenüber hinter im in ins innerhalb außerhalb "
            "laut mit nach neben ohne seit statt trotz über um unter vom von vor während wegen zu zum zur "
            "zwischen entlang"
        ),
        determiners=_words(
            "der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner keines "
            "mein meine dein deine sein seine ihre unser unsere euer eure dieser diese dieses diesen diesem "
            "jeder jede jedes jeden jedem manche welche"
        ),
        pronouns=_words("ich du er sie es wir ihr man"),
        auxiliaries=_words(
            "bin bist ist sind seid war waren wird werden wurde wurden hat haben hatte hatten habe kann können "
            "konnte konnten muss müssen musste soll sollen sollte will wollen wollte darf dürfen"
        ),
        negations=_words("nicht"),
        magnitudes=_UNITS
        | _words("hundert tausend million millionen milliarde milliarden mio mrd prozent euro dollar"),
        particles=_words("van von zu de der den da di"),
        phrases=frozenset(("bis zum", "bis zur", "bis in", "bis auf", "sowohl als", "als auch", "so dass", "so wie")),
        abbreviations=_words("z b bzw usw ca dr prof nr hr fr str vgl ggf evtl inkl sog u a d h st"),
        name_penalty=20.0,  # every German noun is capitalised: two in a row are often no name
    ),
    "fr": LanguageRules(
        conjunctions=_words(
            "et ou mais donc or ni car que qu' qui quand lorsque lorsqu' puisque puisqu' parce comme si quoique "
            "tandis dont où alors"
        ),
        prepositions=_words(
            "à au aux de des du d' en dans par pour sur sous avec sans chez entre vers contre depuis pendant "
            "selon malgré avant après parmi jusqu' jusque envers dès hors près auprès"
        ),
        determiners=_words(
            "le la les l' un une ce cet cette ces mon ma mes ton ta tes son sa ses notre nos votre vos leur "
            "leurs chaque quelques plusieurs aucun aucune"
        ),
        pronouns=_words("je j' tu il elle on nous vous ils elles ne n' se s' me m' te t' y"),
        auxiliaries=_words(
            "suis es est sommes êtes sont étais était étaient sera seront ai as a avons avez ont avais avait "
            "avaient aura auront été peut peuvent doit doivent va vont"
        ),
        negations=_words("pas jamais rien"),
        magnitudes=_UNITS | _words("cent cents mille million millions milliard milliards pour euros dollars"),
        particles=_words("de du des d' la le"),
        phrases=frozenset(
            (
                "parce que",
                "parce qu'",
                "afin de",
                "afin que",
                "grâce à",
                "à cause",
                "au lieu",
                "lors de",
                "à partir",
                "en raison",
                "ainsi que",
                "bien que",
                "alors que",
                "tandis que",
                "depuis que",
                "près de",
                "plus de",
                "moins de",
            )
        ),
        abbreviations=_words("m mme mlle mm dr pr st ste etc cf ex env"),
    ),
    "es": LanguageRules(
        conjunctions=_words("y e o u pero sino porque aunque mientras que quien cuando donde como si pues"),
        prepositions=_words(
            "a al ante bajo con contra de del desde durante en entre hacia hasta mediante para por según sin sobre tras"
        ),
        determiners=_words(
            "el la los las un una unos unas este esta estos estas ese esa esos esas mi mis tu tus su sus "
            "nuestro nuestra nuestros nuestras cada"
        ),
        pronouns=_words("yo tú él ella nosotros vosotros ellos ellas se me te le les lo"),
        auxiliaries=_words("he has ha hemos han había es son era eran fue fueron está están"),
        negations=_words("no nunca"),
        magnitudes=_UNITS | _words("mil millón millones cien ciento por euros dólares"),
        particles=_words("de del la y"),
        abbreviations=_words("sr sra srta dr dra etc ud uds"),
    ),
    "ja": LanguageRules(max_chars=13, max_cps=4.0, speech_cps=8.0),
    "zh": LanguageRules(max_chars=16, max_cps=9.0, speech_cps=5.0),
    "ko": LanguageRules(max_chars=16, max_cps=12.0, speech_cps=7.0),
}
#: Rules for a language without a table: punctuation and names only.
GENERIC = LanguageRules()


def rules_for(language: str) -> LanguageRules:
    """The break rules for a BCP 47 language tag, by its primary subtag.

    >>> rules_for("de-AT").name_penalty, rules_for("ja").max_chars, rules_for("xx") is GENERIC
    (20.0, 13, True)
    """
    return RULES.get(language.split("-")[0].split("_")[0].lower(), GENERIC)


def limits_for(language: str) -> Limits:
    """Limits with the language's own line length and reading speed.

    >>> limits_for("en").max_chars, limits_for("zh").max_chars, limits_for("fr").max_cps
    (42, 16, 17.0)
    """
    rules = rules_for(language)
    return Limits(max_chars=rules.max_chars, max_cps=rules.max_cps)


# --------------------------------------------------------------------------- what comes out


@dataclass(frozen=True, slots=True)
class CueSpan:
    """One cue of a sentence: its lines, the part of the sentence it shows, and its times."""

    text: str
    """The article's own words, lines joined by "\\n", each run of spaces made one space."""
    start: int
    """Offset in the sentence where this cue's part begins. The cues' parts tile the sentence:
    each ends where the next begins, the first begins at 0 and the last ends at its length."""
    end: int
    start_ms: int
    """When the cue's first word starts, from the start of the sentence's sound."""
    end_ms: int
    """When the next cue's first word starts, or the sentence's sound ends."""
    words: tuple[tuple[int, int], ...] = ()
    """(offset in ``text``, ms) of each word after the first whose start the audio tells."""
    timed: bool = True
    """The start is an anchor (or the sentence's start); False: interpolated, no anchor in reach."""

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.text.split("\n"))


# --------------------------------------------------------------------------- characters

#: No-break spaces (U+00A0, U+2007, U+202F: French puts U+202F before "?" and inside « »)
#: glue their neighbours, as in Unicode line breaking (UAX 14, class GL).
_NO_BREAK = "\u00a0\u2007\u202f"
_WHITESPACE = re.compile(r"\s+")
_NOT_SPACE = re.compile(r"(?:[^\s]|[\u00a0\u2007\u202f])+")


def _breakable_spaces(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Runs of whitespace a line may break at: those holding an ordinary space (a run of no-break
    spaces alone glues). Each becomes one space in a cue."""
    return [
        m.span()
        for m in _WHITESPACE.finditer(text, start, len(text) if end is None else end)
        if m.group().strip(_NO_BREAK)
    ]


def _one_space(text: str) -> str:
    """``text`` with each breakable run of whitespace made one space.

    >>> _one_space("a \\t\\n b\\u00a0c")
    'a b\\xa0c'
    """
    return _WHITESPACE.sub(lambda m: " " if m.group().strip(_NO_BREAK) else m.group(), text)


#: Punctuation that may not start a line; a token of nothing else joins the word before it.
_CLOSING = set(",.;:!?…%‰)]}»›”’\"'、。，．！？：；」』）］｝〕〉》】〟・")
#: Punctuation that may not end a line; a token of nothing else joins the word after it.
_OPENING = set("([{«‹“‘„‚¿¡「『（［｛〔〈《【〝")
_DASHES = set("—–-―‐‑−")
_CURRENCY = set("$€£¥₹₩₽¢")
#: Japanese kinsoku (JIS X 4051): characters that never begin a line.
_NO_LINE_START = _CLOSING | set(
    "ーヽヾゝゞ々〻ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ゠–〜～"
)


def _is_address(token: str) -> bool:
    """A URL or an e-mail address (never split, even with CJK characters in it)."""
    lower = token.lower()
    return "://" in lower or lower.startswith("www.") or ("@" in token and "." in token.rpartition("@")[2])


def _is_cjk(ch: str) -> bool:
    """Han, kana and the CJK punctuation and full-width forms: text that needs no spaces."""
    o = ord(ch)
    return (
        0x3000 <= o <= 0x30FF  # CJK symbols and punctuation, hiragana, katakana
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF  # full-width and half-width forms
        or 0x31F0 <= o <= 0x31FF
        or 0x20000 <= o <= 0x3FFFF
    )


def _script(ch: str) -> str:
    o = ord(ch)
    if 0x3040 <= o <= 0x309F:
        return "hira"
    if 0x30A0 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F:
        return "kata"
    if ch.isdigit():
        return "digit"
    if _is_cjk(ch) and ch.isalpha():
        return "han"
    return "other"


def width(text: str) -> int:
    """Characters a reader sees: combining marks and invisible format characters count for nothing.

    >>> width("café"), width("cafe\\u0301"), width("\\u200fשלום")
    (4, 4, 4)
    """
    return sum(1 for ch in text if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf")


# --------------------------------------------------------------------------- atoms: the pieces no break may enter


@dataclass(slots=True)
class _Atom:
    start: int
    end: int
    spaced: bool
    """Whitespace separates it from the atom before (else it is the next character of CJK text)."""
    width: int = 0
    words: int = 0
    """1 if it holds a letter or digit, else 0."""


def _tokens(text: str) -> list[tuple[int, int, bool]]:
    """Whitespace-free runs of ``text``, CJK runs split between characters: (start, end, spaced)."""
    out: list[tuple[int, int, bool]] = []
    for match in _NOT_SPACE.finditer(text):
        start, end = match.span()
        # A no-break space glues what is on either side; at a token's edge it glues nothing.
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            continue
        token = text[start:end]
        if not any(_is_cjk(ch) for ch in token) or _is_address(token):
            out.append((start, end, True))
            continue
        # One unit per CJK character; other runs (a Latin word, a number) stay whole.
        units: list[list[int]] = []
        for i, ch in enumerate(token, start):
            previous = text[i - 1]
            # a Latin word or a number stays whole, and a no-break space glues what is either side
            if units and ((not _is_cjk(ch) and not _is_cjk(previous)) or ch.isspace() or previous.isspace()):
                units[-1][1] = i + 1
            else:
                units.append([i, i + 1])
        # Kinsoku: closing marks and small kana join the character before, opening brackets the one after.
        merged: list[list[int]] = []
        glue_next = False
        for unit in units:
            piece = text[unit[0] : unit[1]]
            if merged and (glue_next or all(ch in _NO_LINE_START or ch in _DASHES for ch in piece)):
                merged[-1][1] = unit[1]
            else:
                merged.append(unit)
            glue_next = all(ch in _OPENING for ch in piece)
        out.extend((a, b, k == 0) for k, (a, b) in enumerate(merged))
    return out


_NUMBER = re.compile(r"[$€£¥₹₩₽¢]?[+\-−±]?\d")
_DIGIT_GROUP = re.compile(r"\d{3}(?:[.,]\d+)?[^\w\s]*")
_SHORT_DIGITS = re.compile(r"\d{1,3}")


def _last_runs(text: str, runs: list[tuple[int, int]], run_starts: list[int], start: int, end: int) -> list[str]:
    """The last two whitespace-free runs of ``text[start:end]`` (fewer when it has fewer), as
    ``_NOT_SPACE.findall`` of it would end; ``runs`` are the runs of the whole text.

    Found by bisection, not by scanning the piece: an atom that punctuation keeps growing
    ("Start - - - ..." thousands of times) is asked about once per token.
    """
    last = bisect.bisect_right(run_starts, end - 1) - 1
    out: list[str] = []
    for r in (last - 1, last):
        if r >= 0 and max(runs[r][0], start) < min(runs[r][1], end):
            out.append(text[max(runs[r][0], start) : min(runs[r][1], end)])
    return out


def _atoms(text: str) -> list[_Atom]:
    """Join the tokens that must never be parted into atoms."""
    atoms: list[_Atom] = []
    glue_next = False
    runs = [m.span() for m in _NOT_SPACE.finditer(text)]
    run_starts = [a for a, _ in runs]
    for start, end, spaced in _tokens(text):
        token = text[start:end]
        glue = bool(atoms) and glue_next
        if atoms and spaced and not glue:
            previous = _last_runs(text, runs, run_starts, atoms[-1].start, atoms[-1].end)
            glue = (
                # a mark alone ("mot ;" in French, a spaced dash) stays with the word before it
                all(ch in _CLOSING or ch in _DASHES for ch in token)
                # "10 000" and "1 500 000": digit groups separated by spaces
                or (_DIGIT_GROUP.fullmatch(token) is not None and _SHORT_DIGITS.fullmatch(previous[-1]) is not None)
                # "2019 – 2024": a range written with a spaced dash
                or (
                    previous[-1] in _DASHES
                    and len(previous) > 1
                    and _NUMBER.match(previous[-2]) is not None
                    and _NUMBER.match(token) is not None
                )
            )
        if glue:
            atoms[-1].end = end
        else:
            atoms.append(_Atom(start, end, spaced))
        glue_next = all(ch in _OPENING for ch in token)
    for atom in atoms:
        piece = _one_space(text[atom.start : atom.end])
        atom.width = width(piece)
        atom.words = 1 if any(ch.isalnum() for ch in piece) else 0
    return atoms


# --------------------------------------------------------------------------- the cost of each gap

#: Gap costs, from best to worst. A line or cue break at a gap costs its value; where a
#: strong boundary falls inside a line instead, that line pays _MISSED_*.
_TERMINAL, _CLAUSE, _COMMA, _BRACKET, _BEFORE_OPENING = 0.0, 1.0, 2.0, 3.0, 3.0
_BEFORE_CONJUNCTION, _BEFORE_PREPOSITION, _PLAIN = 4.0, 5.0, 10.0
#: Added to a break after a word that binds to the next one (Netflix: "should not separate").
_AFTER = {"determiner": 25.0, "preposition": 20.0, "conjunction": 15.0, "pronoun": 12.0, "auxiliary": 12.0}
_BEFORE_NEGATION, _BEFORE_PARTICLE, _AFTER_ADJECTIVE = 12.0, 10.0, 6.0  # negation: before or after it
_NUMBER_WORD, _MAGNITUDE, _ABBREVIATION_PAIR, _IN_PHRASE = 20.0, 200.0, 30.0, 30.0
_MISSED_TERMINAL, _MISSED_CLAUSE = 6.0, 2.0

_TAIL_MARKS = "".join(sorted(_CLOSING | _DASHES | _OPENING))
_CLOSERS = "\"'”’»›)]}」』）"
_OBJECT_PRONOUNS = _words("me him her us them it you this that")


def _core(token: str) -> str:
    """A token without the punctuation around it, apostrophes made straight.

    >>> _core("“leader.”"), _core("d’Ukraine,"), _core("—")
    ('leader', "d'Ukraine", '')
    """
    start, end = 0, len(token)
    while start < end and not token[start].isalnum():
        start += 1
    while end > start and not token[end - 1].isalnum():
        end -= 1
    return token[start:end].replace("’", "'")


def _capitalised(word: str) -> bool:
    return next((ch.isupper() for ch in word if ch.isalpha()), False)


def _class_of(word: str, rules: LanguageRules, *, leading: bool) -> str:
    """The word class of ``word`` (lower case) as the first word of a line (``leading``) or as the last."""
    candidates = [word]
    if "'" in word:
        head, _, tail = word.partition("'")
        candidates.append(head + "'" if leading else tail)  # "d'Ukraine" opens with "d'", "qu'il" ends with "il"
    tables = (
        ("determiner", rules.determiners),
        ("preposition", rules.prepositions),
        ("conjunction", rules.conjunctions),
        ("pronoun", rules.pronouns),
        ("auxiliary", rules.auxiliaries),
    )
    for candidate in candidates:
        for name, table in tables:
            if candidate in table:
                return name
    return "auxiliary" if word.endswith("n't") else ""


def _opens_phrase(word: str, rules: LanguageRules) -> bool:
    """Whether ``word`` can begin the noun phrase of a preposition: an article, a name, a number, a pronoun."""
    lower = word.lower()
    return (
        lower in rules.determiners
        or lower in rules.pronouns
        or lower in _OBJECT_PRONOUNS
        or _capitalised(word)
        or _NUMBER.match(word) is not None
    )


def _particle(word: str, token: str, following: str, rules: LanguageRules) -> bool:
    """Whether the preposition ``word`` (written ``token``, followed by the word ``following``)
    ends a phrasal verb ("tied up in", "stir up dissatisfaction") rather than opening a phrase."""
    if following == "" or _core(token) != token.replace("’", "'"):
        return True  # the last word, or punctuation after it: "what it is made of."
    lower = following.lower()
    if word not in rules.adverb_particles or f"{word} {lower}" in rules.phrases:
        return False  # "out of", "up to": the start of a longer preposition
    return _class_of(lower, rules, leading=True) in ("preposition", "conjunction") or not _opens_phrase(
        following, rules
    )


@dataclass(frozen=True, slots=True)
class _Gap:
    """What the rules look at around one gap: the tokens and words on either side."""

    left: str
    """The last token before the gap."""
    right: str
    """The first token after it."""
    lword: str
    """The last word before, without punctuation; "" for a token of marks alone."""
    rword: str
    before: str
    """The word before ``lword`` (for name particles: "Charles de | Gaulle")."""
    after: str
    """The word after ``rword``."""
    first: bool
    """The gap follows the sentence's first atom."""


def _punctuation_cost(gap: _Gap, rules: LanguageRules) -> tuple[float, float] | None:
    """(break cost, cost of not breaking) when punctuation ends the left side, else None."""
    standalone = not any(ch.isalnum() for ch in gap.left)  # "mot ;", "growing -"
    tail = gap.left if standalone else gap.left[len(gap.left.rstrip(_TAIL_MARKS)) :]
    inner = tail.rstrip(_CLOSERS)  # "leader.”" ends a sentence; the quote mark does not hide it
    if any(ch in inner for ch in "?!…。！？؟।") or inner.endswith(".."):
        return _TERMINAL, _MISSED_TERMINAL
    if inner.endswith("."):
        lword = gap.lword
        abbreviation = (len(lword) <= 2 and lword.isalpha()) or lword.lower() in rules.abbreviations or "." in lword
        starts_new = next((ch.isupper() or ch.isdigit() for ch in gap.right if ch.isalnum()), False)
        return (_TERMINAL, _MISSED_TERMINAL) if starts_new and not abbreviation else None
    if (inner and inner[-1] in ";:—–―；：؛") or (inner == "-" and standalone):
        return _CLAUSE, _MISSED_CLAUSE
    if inner and inner[-1] in ",、，،":
        return _COMMA, 0.0
    if tail and tail != inner:
        return _BRACKET, 0.0
    return None


def _word_cost(gap: _Gap, rules: LanguageRules) -> float:
    """The cost of breaking between two words with no punctuation between them."""
    lower_l, lower_r = gap.lword.lower(), gap.rword.lower()
    right_class = _class_of(lower_r, rules, leading=True)
    left_class = _class_of(lower_l, rules, leading=False)
    if right_class == "preposition" and _particle(lower_r, gap.right, gap.after, rules):
        right_class = "particle"
    if left_class == "preposition" and _particle(lower_l, gap.left, gap.rword, rules):
        left_class = ""
    if gap.right[0] in _OPENING:
        cost = _BEFORE_OPENING
    elif right_class == "conjunction":
        cost = _BEFORE_CONJUNCTION
    elif right_class == "preposition":
        cost = _BEFORE_PREPOSITION
    else:
        cost = _PLAIN + (_BEFORE_PARTICLE if right_class == "particle" else 0.0)
    if left_class:
        cost += _AFTER[left_class]
    elif (
        rules.adjective_endings
        and len(lower_l) >= 5
        and lower_l.endswith(rules.adjective_endings)
        and gap.rword[:1].islower()
        and not right_class
    ):
        cost += _AFTER_ADJECTIVE
    if lower_r in rules.negations or lower_l in rules.negations:
        cost += _BEFORE_NEGATION  # "does / not", "has not / had"
    if f"{lower_l} {lower_r}" in rules.phrases:
        cost += _IN_PHRASE
    if _in_name(gap, rules, sentence_start=gap.first and left_class != ""):
        cost += rules.name_penalty
    return cost + _number_cost(gap, rules)


def _in_name(gap: _Gap, rules: LanguageRules, *, sentence_start: bool) -> bool:
    """Whether the gap lies inside a name: "North Korean", "Kim Jong Un", "Charles de Gaulle", "Dr. Kim"."""
    left, right = _capitalised(gap.lword), _capitalised(gap.rword)
    if left and right:
        return not sentence_start  # "The North Korean…": a capital that only starts the sentence
    if left and gap.rword.lower() in rules.particles:
        return _capitalised(gap.after)
    if right and gap.lword.lower() in rules.particles:
        return _capitalised(gap.before)
    return False


def _number_cost(gap: _Gap, rules: LanguageRules) -> float:
    """What breaking costs beside a number: "€1.2 billion", "50 per cent", "1,500 troops", "May 2019", "$ 5"."""
    left_number = _NUMBER.match(gap.lword or gap.left) is not None
    if (left_number and (gap.rword.lower() in rules.magnitudes or gap.right[0] in "%‰")) or gap.left in _CURRENCY:
        return _MAGNITUDE
    if left_number or (_NUMBER.match(gap.rword) is not None and _capitalised(gap.lword)):
        return _NUMBER_WORD
    short = len(gap.lword) <= 2 and len(gap.rword) <= 2 and gap.lword.isalpha() and gap.rword.isalpha()
    if short and gap.left.endswith(".") and gap.right.endswith("."):
        return _ABBREVIATION_PAIR  # "z. B.", "J. R. R. Tolkien"
    return 0.0


def _gap_costs(text: str, atoms: list[_Atom], rules: LanguageRules) -> tuple[list[float], list[float]]:
    """For each gap g (between atoms g-1 and g): the cost of breaking there, and of running a line across it."""
    n = len(atoms)
    tokens = [_NOT_SPACE.findall(text[a.start : a.end]) for a in atoms]
    firsts, lasts = [t[0] for t in tokens], [t[-1] for t in tokens]
    first_words, last_words = [_core(t) for t in firsts], [_core(t) for t in lasts]
    breaks, missed = [0.0] * n, [0.0] * n
    for g in range(1, n):
        if not atoms[g].spaced:
            breaks[g], missed[g] = _cjk_gap(lasts[g - 1][-1], firsts[g][0])
            continue
        gap = _Gap(
            left=lasts[g - 1],
            right=firsts[g],
            lword=last_words[g - 1],
            rword=first_words[g],
            before=last_words[g - 2] if g >= 2 else "",
            after=first_words[g + 1] if g + 1 < n else "",
            first=g == 1,
        )
        punctuation = _punctuation_cost(gap, rules)
        if punctuation is not None:
            breaks[g], missed[g] = punctuation
        else:
            breaks[g] = _word_cost(gap, rules)
    return breaks, missed


def _cjk_gap(left: str, right: str) -> tuple[float, float]:
    """Cost of breaking between two characters of text without spaces, and of not breaking there."""
    if left in "。！？!?":
        return _TERMINAL, _MISSED_TERMINAL
    if left in "、，,;；：:":
        return _COMMA, 0.0
    if left in _CLOSING:
        # "「懸念」を": a particle after a closing bracket belongs to it
        return (16.0 if _script(right) == "hira" else _BRACKET), 0.0
    if right in _OPENING:
        return _BEFORE_OPENING, 0.0
    # Japanese phrases (bunsetsu) mostly end where kana particles meet the next kanji or katakana.
    pair = (_script(left), _script(right))
    costs = {
        ("hira", "han"): 6.0,
        ("hira", "kata"): 6.0,
        ("han", "hira"): 30.0,  # okurigana and particles: "支える", "家計を"
        ("kata", "hira"): 30.0,
        ("han", "han"): 20.0,  # mostly inside a compound: "全力", "增长"
        ("kata", "kata"): 30.0,  # inside a loanword
        ("digit", "han"): 25.0,  # "3月", "100円": a number and its counter
        ("digit", "digit"): _MAGNITUDE,
    }
    if pair in costs:
        return costs[pair], 0.0
    if "other" in pair or "digit" in pair:
        return 8.0, 0.0
    return _PLAIN + 2.0, 0.0


# --------------------------------------------------------------------------- choosing the breaks

#: Each cue costs this much (for lines of 42 characters, in proportion for others): fewer,
#: fuller cues are easier to follow than many short ones.
_CUE = 15.0
#: Breaking between cues is worse than between lines at the same gap: a line break is read
#: at a glance, a cue break makes the reader wait for the rest (BBC 3.4 applies to both; on
#: the seed and the sample paragraphs, 3 ended the most cues at a clause without adding cues).
_CUE_BREAK_WEIGHT = 3.0
_SHAPE_TOP_HEAVY, _SHAPE_BOTTOM_HEAVY = 30.0, 10.0
_LONE_WORD_LINE, _LONE_WORD_CUE = 150.0, 400.0
_OVER_MAX_MS, _OVER_MAX_PER_S, _UNDER_MIN, _OVER_CPS = 100.0, 100.0, 30.0, 0.1
#: A cue starting where the audio says nothing would be timed by a guess: only when nothing
#: else fits (a long run of words the engine merged or a rewritten number, say).
_UNTIMED_START = 1000.0


def _plan(
    atoms: list[_Atom],
    breaks: list[float],
    missed: list[float],
    atom_ms: list[float],
    untimed: list[float],
    limits: Limits,
) -> list[tuple[int, int, int]]:
    """The cheapest cues: (first atom, atom after the last, atom starting the second line or -1).

    ``atom_ms[i]`` is when atom i starts (``atom_ms[n]``: the end of the sound); ``untimed[i]``
    what starting a cue at atom i costs for want of an anchor there.

    best[j] is the cost of the best cues for atoms 0..j-1; a cue i..j-1 extends best[i].
    Lines are at most ``max_chars`` wide, so each i reaches only the few j within two
    lines of it, and each two-line cue tries only the few line breaks that fit: the
    work grows with the length of the sentence, not its square.
    """
    n = len(atoms)
    top = limits.max_chars
    two_lines = limits.max_lines >= 2
    # A line of atoms i..k-1 is prefix[k] - prefix[i] - sep[i] wide; cum_missed[x] sums missed[1..x].
    sep = [1 if a.spaced else 0 for a in atoms]
    sep[0] = 0
    prefix, words, cum_missed = [0] * (n + 1), [0] * (n + 1), [0.0] * (n + 1)
    for k, atom in enumerate(atoms):
        prefix[k + 1] = prefix[k] + sep[k] + atom.width
        words[k + 1] = words[k] + atom.words
        cum_missed[k + 1] = cum_missed[k] + (missed[k + 1] if k + 1 < n else 0.0)
    overlong = [a.width > top for a in atoms]
    # The two lines of a cue i..j-1 broken before k run across every boundary of the cue but k, so
    # together they pay cum_missed[j-1] - cum_missed[i] - missed[k]; fold -missed[k] into the break.
    split_cost = [b - m for b, m in zip(breaks, missed, strict=True)]
    # The shape of two lines depends only on the difference of their widths: bottom-heavy is
    # preferred (Netflix, BBC: the lower line longer hides less of the picture), balanced best.
    span = 2 * top + max((a.width for a in atoms), default=0)
    shape = [(_SHAPE_TOP_HEAVY if d > 0 else _SHAPE_BOTTOM_HEAVY) * (d / top) ** 2 for d in range(-span, span + 1)]
    # Lines i..k-1 (width a) and k..j-1 (width b): a - b = twice[k] - prefix[j] - prefix[i] - sep[i].
    twice = [2 * prefix[k] + (sep[k] if k < n else 0) for k in range(n + 1)]
    lone_cue = _LONE_WORD_CUE if words[n] > 1 else 0.0
    lone_line = _LONE_WORD_LINE if words[n] > 2 else 0.0
    max_ms, min_ms, max_cps = limits.max_ms, limits.min_ms, limits.max_cps
    cue = _CUE * top / 42

    def time_cost(i: int, j: int, chars: int) -> float:
        ms = atom_ms[j] - atom_ms[i]
        cost = 0.0
        if ms > max_ms:
            cost += _OVER_MAX_MS + _OVER_MAX_PER_S * (ms - max_ms) / 1000
        if ms < min_ms:
            cost += _UNDER_MIN * (min_ms - ms) / min_ms
        # Reading speed is the voice's: what splitting can do is keep a fast stretch with slower
        # neighbours, so the excess is charged per character and sums to the same for even speech.
        if ms > 0 and chars * 1000 / ms > max_cps:
            cost += _OVER_CPS * chars * (chars * 1000 / ms - max_cps) / max_cps
        return cost

    inf = float("inf")
    best = [inf] * (n + 1)
    choice = [(0, -1)] * (n + 1)
    best[0] = 0.0
    # kmax[i]: the longest first line starting at atom i ends before atom kmax[i].
    kmax = [0] * n
    k = 0
    for i in range(n):
        k = max(k, i + 1)
        while k < n and prefix[k + 1] - prefix[i] - sep[i] <= top:
            k += 1
        kmax[i] = k
    for i in range(n):
        if best[i] == inf:
            continue
        entry = best[i] + cue + (_CUE_BREAK_WEIGHT * breaks[i] + untimed[i] if i else 0.0)
        base_i = prefix[i] + sep[i]
        for j in range(i + 1, n + 1):
            w = prefix[j] - base_i
            lone = lone_cue if words[j] - words[i] == 1 else 0.0
            if w <= top or j - i == 1:
                # Netflix: keep the text on one line unless it is too long for one.
                cost = entry + (cum_missed[j - 1] - cum_missed[i]) + lone + time_cost(i, j, w)
                if cost < best[j]:
                    best[j], choice[j] = cost, (i, -1)
                continue
            first_end = kmax[i]
            if not two_lines or (prefix[j] - prefix[first_end] - sep[first_end] > top and j - first_end > 1):
                break  # the second line cannot start later than first_end: longer cues fit no better
            cue_cost = entry + lone + time_cost(i, j, w) + cum_missed[j - 1] - cum_missed[i]
            if cue_cost >= best[j]:
                continue  # no line break can make this cue cheaper than what j already has
            best_split, split_at = inf, -1
            offset = span - prefix[j] - base_i  # shape[twice[k] + offset]: the shape of a break before k
            for k in range(first_end, i, -1):
                if prefix[j] - prefix[k] - sep[k] > top and j - k > 1:
                    break  # the second line no longer fits
                cost = split_cost[k] + shape[twice[k] + offset]
                if (
                    lone_line
                    and (words[k] - words[i] == 1 or words[j] - words[k] == 1)
                    # a token too long for any line stands alone because it must, not by choice
                    and not ((overlong[i] and k - i == 1) or (overlong[k] and j - k == 1))
                ):
                    cost += lone_line
                if cost < best_split:
                    best_split, split_at = cost, k
            if split_at >= 0 and cue_cost + best_split < best[j]:
                best[j], choice[j] = cue_cost + best_split, (i, split_at)
    cues: list[tuple[int, int, int]] = []
    j = n
    while j > 0:
        i, k = choice[j]
        cues.append((i, j, k))
        j = i
    return cues[::-1]


# --------------------------------------------------------------------------- the public function


def _atom_ms(atoms: list[_Atom], anchors: dict[int, float], length: int, duration_ms: float) -> list[float]:
    """When each atom starts, and (last) when the sound ends: an anchor at the atom's start where
    there is one, else interpolated by characters between the anchors around it."""
    known = sorted(anchors.items())
    points = [(0, 0.0), *[(offset, ms) for offset, ms in known if 0 < offset < length], (length, duration_ms)]
    out: list[float] = []
    p = 0
    for atom in atoms:
        while p + 1 < len(points) - 1 and points[p + 1][0] <= atom.start:
            p += 1
        (c0, t0), (c1, t1) = points[p], points[p + 1]
        out.append(t0 + (t1 - t0) * (atom.start - c0) / max(1, c1 - c0))
    out.append(duration_ms)
    for k in range(1, len(out)):  # never backwards, whatever the anchors said
        out[k] = max(out[k], out[k - 1])
    return out


def split_cues(
    text: str,
    anchors: Sequence[tuple[int, float]] = (),
    *,
    duration_ms: float | None = None,
    language: str = "en",
    limits: Limits | None = None,
) -> tuple[CueSpan, ...]:
    """Split one sentence into cues of at most ``limits.max_lines`` lines of ``limits.max_chars``.

    ``anchors`` are (offset in ``text``, ms): where the audio says a word's sound starts,
    from the start of the sentence's sound, which lasts ``duration_ms``. With anchors, a
    cue starts only at an anchor (unless no cue could fit otherwise), and lasts until the
    next cue starts. Without any, every gap may start a cue and the times are estimates
    (from ``duration_ms``, else at the language's ``speech_cps``): the spans then tell
    where to cut the sentence to speak each cue on its own (``words.cut_at_cues``).

    >>> for cue in split_cues("The deaths of six North Korean military officers in the Russian-occupied "
    ...     "part of Ukraine, in a Ukrainian missile strike that wounded 20 other soldiers, highlighted "
    ...     "a dilemma for North Korea in its relationship with Russia."):
    ...     print(cue.text, end="\\n\\n")
    The deaths of six North Korean military
    officers in the Russian-occupied part
    <BLANKLINE>
    of Ukraine, in a Ukrainian missile strike
    that wounded 20 other soldiers,
    <BLANKLINE>
    highlighted a dilemma for North Korea
    in its relationship with Russia.
    <BLANKLINE>
    """
    rules = rules_for(language)
    limits = limits or limits_for(language)
    if limits.max_lines not in (1, 2):
        raise ValueError(f"max_lines must be 1 or 2, not {limits.max_lines}")
    if not text.strip():
        return ()
    atoms = _atoms(text)
    breaks, missed = _gap_costs(text, atoms, rules)
    total = sum(a.width for a in atoms) + sum(1 for a in atoms[1:] if a.spaced)
    if duration_ms is None:
        duration_ms = total * 1000 / rules.speech_cps
    duration_ms = max(0.0, duration_ms)
    at: dict[int, float] = {}
    for offset, ms in anchors:
        if 0 <= offset <= len(text):
            at[offset] = min(max(0.0, float(ms)), float(duration_ms))
    atom_ms = _atom_ms(atoms, at, len(text), float(duration_ms))
    untimed = [0.0 if not at or atom.start in at else _UNTIMED_START for atom in atoms]
    plan = _plan(atoms, breaks, missed, atom_ms, untimed, limits)
    cues: list[CueSpan] = []
    for number, (i, j, k) in enumerate(plan):
        start = 0 if number == 0 else atoms[i].start
        end = len(text) if number == len(plan) - 1 else atoms[j].start
        cue_text, where = _cue_text(text, atoms, i, j, k)
        first = atoms[i].start
        words = tuple(
            (where[offset], round(ms)) for offset, ms in sorted(at.items()) if first < offset < atoms[j - 1].end
        )
        cues.append(
            CueSpan(
                text=cue_text,
                start=start,
                end=end,
                start_ms=round(atom_ms[i]),
                end_ms=round(atom_ms[j]),
                words=words,
                timed=number == 0 or untimed[i] == 0.0,
            )
        )
    return tuple(cues)


def _cue_text(text: str, atoms: list[_Atom], i: int, j: int, k: int) -> tuple[str, dict[int, int]]:
    """The text of atoms i..j-1 with a line break before atom k, and where each sentence offset lands in it."""
    out: list[str] = []
    where: dict[int, int] = {}
    length = 0
    for m in range(i, j):
        atom = atoms[m]
        if m > i:
            gap = "\n" if m == k else " " if atom.spaced else ""
            for x in range(atoms[m - 1].end, atom.start + 1):
                where[x] = length
            out.append(gap)
            length += len(gap)
        position = atom.start
        for space_start, space_end in _breakable_spaces(text, atom.start, atom.end):
            for x in range(position, space_start):
                where[x] = length + x - position
            length += space_start - position
            out.append(text[position:space_start])
            for x in range(space_start, space_end):
                where[x] = length
            out.append(" ")
            length += 1
            position = space_end
        for x in range(position, atom.end + 1):
            where[x] = length + x - position
        out.append(text[position : atom.end])
        length += atom.end - position
    return "".join(out), where
