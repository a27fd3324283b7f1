"""Bylines and datelines: who wrote an article and when, as articles print it, in several languages.

A byline is the author's name, alone ("Jang Seiul") or after the language's word
for "by" ("By", "Von", "Par", "Por"...), perhaps followed by a role or a date:
"By Priya Raman, transport correspondent · 2 October 2026". A dateline is a
short line giving the date, perhaps with the author: "Published 3 March 2026 ·
by Lena Park". Every reader (plain text, Markdown, web pages) uses these rules,
so the same line is read the same way whatever the input's format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Name particles written in lower case inside a name: "Anna van der Berg".
PARTICLES = frozenset({"van", "von", "de", "der", "da", "di", "du", "la", "le", "bin", "al", "el"})
_WORD = r"[A-Z\u00C0-\u024F][\w'’.\-]*"
_NAME = rf"{_WORD}(?:\s+(?:(?:{'|'.join(sorted(PARTICLES))})\s+)?{_WORD}){{1,4}}"
#: A byline: optionally "By", then two to five capitalised name words
#: (particles such as "van" or "de" allowed), optionally "and" another name.
BYLINE = re.compile(rf"^(?:by\s+)?({_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*)$", re.IGNORECASE)
#: "By NAME", then perhaps "| date" or " - date"; a hyphen inside a name ("Jean-Luc") is the name's.
BYLINE_BY = re.compile(r"^by\s+(.{2,80}?)(?:\s*[|•·,]\s*.*|\s+[–—-]\s+.*)?$", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?…:;\"'”’)\]]$")

#: The word for "by" before an author's name, by language: what the opening says before a name
#: printed alone. Languages without one here are read with the name alone.
BY_WORDS = {
    "en": "By",
    "de": "Von",
    "fr": "Par",
    "es": "Por",
    "pt": "Por",
    "it": "Di",
    "nl": "Door",
    "sv": "Av",
    "nb": "Av",
    "no": "Av",
    "nn": "Av",
    "da": "Af",
}
#: "By" in the languages above, as bylines begin.
LOCAL_BY = re.compile(r"(?:by|von|par|por|door|di|av|af)\s+", re.IGNORECASE)

#: Month names (and their usual abbreviations) in English, German, French, Spanish, Italian,
#: Portuguese and Dutch.
MONTHS = {
    **dict.fromkeys(["january", "jan", "januar", "jänner", "janvier", "enero", "gennaio", "janeiro", "januari"], 1),
    **dict.fromkeys(["february", "feb", "februar", "février", "fevrier", "febrero", "febbraio", "fevereiro"], 2),
    **dict.fromkeys(["februari"], 2),
    **dict.fromkeys(["march", "mar", "märz", "mars", "marzo", "março", "maart", "mrz"], 3),
    **dict.fromkeys(["april", "apr", "avril", "abril", "aprile"], 4),
    **dict.fromkeys(["may", "mai", "mayo", "maggio", "maio", "mei"], 5),
    **dict.fromkeys(["june", "jun", "juni", "juin", "junio", "giugno", "junho"], 6),
    **dict.fromkeys(["july", "jul", "juli", "juillet", "julio", "luglio", "julho"], 7),
    **dict.fromkeys(["august", "aug", "août", "aout", "agosto", "augustus"], 8),
    **dict.fromkeys(["september", "sep", "sept", "septembre", "septiembre", "setiembre", "settembre", "setembro"], 9),
    **dict.fromkeys(["october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "outubro"], 10),
    **dict.fromkeys(["november", "nov", "novembre", "noviembre", "novembro"], 11),
    **dict.fromkeys(["december", "dec", "dezember", "dez", "décembre", "decembre", "diciembre", "dicembre"], 12),
    **dict.fromkeys(["dezembro"], 12),
}
_MONTH = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|\.|º)?"
#: A date as articles print it: ISO 8601, "3 March 2026", "3. März 2026", "March 3, 2026",
#: "5 de mayo de 2026", "12.05.2026".
DATE = re.compile(
    rf"\b(?:(?P<iy>\d{{4}})-(?P<im>[01]\d)-(?P<id>[0-3]\d)(?:T[\d:.+\-Z]*)?"
    rf"|{_DAY}\s+(?:de\s+)?(?P<m>{_MONTH})\.?,?\s+(?:de\s+)?(?P<y>\d{{4}})"
    rf"|(?P<m2>{_MONTH})\.?\s+(?P<d2>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}})"
    rf"|(?P<nd>[0-3]?\d)\.(?P<nm>[01]?\d)\.(?P<ny>\d{{4}}))\b",
    re.IGNORECASE,
)
#: A time of day, which datelines often give after the date.
TIME = re.compile(
    r"\b(?:um\s+|at\s+|à\s+|a las\s+)?[0-2]?\d[:.h][0-5]\d(?:\s*(?:am|pm|a\.m\.|p\.m\.|uhr|h))?"
    r"(?:\s*(?:gmt|utc|bst|cet|cest|est|edt|pst|pdt|mez|mesz)\b)?",
    re.IGNORECASE,
)
#: Words that introduce a date in a dateline: "Published", "Veröffentlicht am", "publié le"...
DATE_WORDS = re.compile(
    r"\b(?:first\s+)?(?:published|updated|posted|last\s+updated|modified|on|"
    r"veröffentlicht|aktualisiert|erschienen|stand|zuletzt\s+aktualisiert|am|vom|"
    r"publié|mis\s+à\s+jour|le|publicado|actualizado|el|pubblicato|aggiornato|il|gepubliceerd|bijgewerkt|op)"
    r"(?:\s+(?:on|am|le|el|il|op|em))?\b[:]?",
    re.IGNORECASE,
)
#: What else a dateline may hold: a reading time, a place of writing in capitals ("BERLIN").
DATELINE_EXTRAS = re.compile(r"\d+\s*(?:min(?:ute)?s?|minuten)(?:\s+(?:read|lesezeit|de lecture))?", re.IGNORECASE)
#: The separators between a dateline's parts.
DATELINE_PARTS = re.compile(r"\s*(?:[·•|—–;]|\s-\s|,)\s*")
#: Longest line taken for a byline or dateline.
MAX_BYLINE_CHARS = 160
#: Most words a role after the name may have: "transport correspondent", "Korrespondentin in Berlin".
MAX_ROLE_WORDS = 6


@dataclass(frozen=True, slots=True)
class Byline:
    """What a byline or dateline says."""

    name: str
    """The author as printed: "Priya Raman", "Lena Park and Tom Ellis"; empty when only a date is given."""
    credit: str
    """The words that credit the author, as printed, without role or date: "Von Jonas Weber"; "" when
    the name stands alone."""
    date: str
    """The date it gives, ISO 8601 (YYYY-MM-DD); empty when none."""


def match_byline(block: str) -> str:
    """The author's name if ``block`` is a byline, else "".

    >>> match_byline("Jang Seiul"), match_byline("By Anna van der Berg | 3 March 2024")
    ('Jang Seiul', 'Anna van der Berg')
    >>> match_byline("The war goes on")
    ''
    """
    line = block.strip()
    if len(line) > 100 or "\n" in line or (SENTENCE_END.search(line) and not line.endswith(".")):
        return ""
    by = BYLINE_BY.match(line)
    name = by.group(1).strip() if by else line
    plain = BYLINE.match(name)
    if plain and not name.endswith("."):
        words = plain.group(1).split()
        # Every significant word capitalised: "Jang Seiul", not "The war goes on" or "By late afternoon".
        if all(w[0].isupper() or w.lower() in PARTICLES | {"and", "&"} for w in words):
            return plain.group(1).strip()
    return ""


def strip_by(byline: str) -> str:
    """A byline without the word for "by" in another language.

    Only when a name of two words or more is left: "Von Miller" may be a name.

    >>> strip_by("Von Jana Schröder"), strip_by("Par Claire Martin"), strip_by("Von Miller")
    ('Jana Schröder', 'Claire Martin', 'Von Miller')
    """
    found = LOCAL_BY.match(byline)
    rest = byline[found.end() :] if found else ""
    return rest if len(rest.split()) >= 2 and match_byline(rest) == rest else byline


def find_date(text: str) -> tuple[str, int, int] | None:
    """The first date in ``text``: (ISO 8601 date, start, end), or None.

    >>> find_date("Published 3 March 2026 · by Lena Park")
    ('2026-03-03', 10, 22)
    >>> find_date("el 5 de mayo de 2026")[0], find_date("March 3rd, 2026")[0], find_date("am 12.05.2026")[0]
    ('2026-05-05', '2026-03-03', '2026-05-12')
    >>> find_date("In 2026 the town grew.") is None
    True
    """
    for found in DATE.finditer(text):
        groups = found.groupdict()
        if groups["iy"]:
            year, month, day = int(groups["iy"]), int(groups["im"]), int(groups["id"])
        elif groups["m"]:
            year, month, day = int(groups["y"]), MONTHS[groups["m"].lower()], int(groups["d"])
        elif groups["m2"]:
            year, month, day = int(groups["y2"]), MONTHS[groups["m2"].lower()], int(groups["d2"])
        else:
            year, month, day = int(groups["ny"]), int(groups["nm"]), int(groups["nd"])
        if 1 <= month <= 12 and 1 <= day <= 31 and 1900 <= year <= 2200:
            return f"{year:04d}-{month:02d}-{day:02d}", found.start(), found.end()
    return None


def _credit(part: str) -> tuple[str, str]:
    """(name, credit) when ``part`` is "By NAME" in some language, else ("", "")."""
    found = LOCAL_BY.match(part)
    if not found:
        return "", ""
    name = match_byline(part[found.end() :])
    if not name or name != part[found.end() :].strip():
        return "", ""
    credit = part[: found.end()] + name
    return name, credit[:1].upper() + credit[1:]


def _is_role(part: str) -> bool:
    """A role or place after the name: a few words, not a sentence ("transport correspondent")."""
    words = part.split()
    return 0 < len(words) <= MAX_ROLE_WORDS and not re.search(r"[.!?]$", part) and not any(c.isdigit() for c in part)


def parse_byline(line: str) -> Byline | None:
    """The author, the way the line credits them, and the date, when ``line`` is a byline or a
    dateline; None for anything else (a sentence, a heading).

    >>> parse_byline("Published 3 March 2026 · by Lena Park")
    Byline(name='Lena Park', credit='By Lena Park', date='2026-03-03')
    >>> parse_byline("By Priya Raman, transport correspondent · 2 October 2026")
    Byline(name='Priya Raman', credit='By Priya Raman', date='2026-10-02')
    >>> parse_byline("Von Jonas Weber"), parse_byline("Jang Seiul")
    (Byline(name='Jonas Weber', credit='Von Jonas Weber', date=''), Byline(name='Jang Seiul', credit='', date=''))
    >>> parse_byline("Par Claire Martin — publié le 3 juin 2024")
    Byline(name='Claire Martin', credit='Par Claire Martin', date='2024-06-03')
    >>> parse_byline("By the end of the day, the river had burst its banks."), parse_byline("The war goes on")
    (None, None)
    """
    line = " ".join(line.split())
    if not line or len(line) > MAX_BYLINE_CHARS:
        return None
    dated = find_date(line)
    rest = line
    if dated:
        rest = line[: dated[1]] + " · " + line[dated[2] :]
    rest = DATELINE_EXTRAS.sub(" · ", TIME.sub(" · ", rest))
    name = credit = ""
    unknown: list[str] = []
    for part in (p.strip() for p in DATELINE_PARTS.split(rest)):
        part = DATE_WORDS.sub("", part).strip() if dated else part
        if not part:
            continue
        found_name, found_credit = _credit(part)
        if found_name and not credit:
            name, credit = found_name, found_credit
        elif not name and match_byline(part) == part:
            name = part  # the name alone: "Jang Seiul", "Jonas Weber, Korrespondent in Berlin"
        else:
            unknown.append(part)
    if not name and not dated:
        return None
    # What is left must be a role or a place, and only after a name ("Staff writer"); never a sentence.
    if unknown and (not name or not all(_is_role(part) for part in unknown)):
        return None
    if not dated and not credit and unknown and len(line.split()) > 2 * MAX_ROLE_WORDS:
        return None
    return Byline(name=name, credit=credit, date=dated[0] if dated else "")


def credit_for(name: str, language: str) -> str:
    """How the opening credits an author printed without a word for "by": in the article's language.

    >>> credit_for("Jonas Weber", "de-AT"), credit_for("Lena Park", "en"), credit_for("Sato Yuki", "ja")
    ('Von Jonas Weber', 'By Lena Park', 'Sato Yuki')
    """
    word = BY_WORDS.get(language.split("-")[0].lower(), "")
    return f"{word} {name}" if word else name
