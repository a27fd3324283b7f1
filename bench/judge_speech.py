"""How often espeak-ng says the judged sentences right: as written, and as speech.py normalises them.

    python bench/judge_speech.py            # prints the share right per language
    python bench/judge_speech.py --write    # and records the spoken forms and verdicts in the judged list
    python bench/judge_speech.py --speed    # and how long normalising takes (real text, adversarial input)

tests/data/speech/judged.json holds 163 real sentences (news and blog pages from trafilatura
1.1.0's test cache, newspaper4k's test texts, /usr/share/doc; each entry names its source),
each with the spoken form judged right by hand, written before any rule was ("{a|b}" lists
readings equally right). A reading is right when espeak-ng's phonemes for it (``espeak-ng -x``,
stress and pause marks dropped) are those of one of the right forms, after ``FOLDS``: espeak
says a number written in digits a little differently from the same number in words
("forty": fo@ti / fO@ti, "and": @n / and, "vingt": vE~ / vE~t), which is no error.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from narrator.lexicon import default_lexicon
from narrator.segment import spoken_form
from narrator.speech import speak

JUDGED = Path(__file__).resolve().parent.parent / "tests" / "data" / "speech" / "judged.json"
LANGUAGES = ("en", "de", "fr")
_ALTERNATIVES = re.compile(r"\{([^{}]*\|[^{}]*)\}")

#: Spots where espeak says a number in digits a little differently from the same number in
#: words, found by reading the mismatches one by one; both sides are folded the same way.
FOLDS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": ((r"d:?and", "d@n"), (r"O@", "o@"), (r"eIs0n", "eIs@n")),
    "de": ((r"taUz[E@]n[dt]", "taUz@nt"), (r"fi:rts", "fIrts")),
    "fr": (
        (r"vE~t(?=[^aeiouyE@OW])", "vE~"),
        (r"W~n(?=[aeiouyE@OW])", "W~"),
        (r"sE~k(?=m)", "sE~"),
        (r"katr@", "katr"),
    ),
}
#: espeak-ng misreads long German number words ("neunundvierzig": v,i:rtsIC, where it says "49"
#: right); the right forms are written with a break after each part before they are read, as
#: the German table's [fix] writes them.
SAFE_SPELLING: dict[str, tuple[tuple[str, str], ...]] = {
    "de": (
        (r"(?<=[^h]und)(?=\w)", "-"),
        (r"(?<=tausend)(?=\w)(?!st)", "-"),
        (r"(?<=hundert)(?=\w)(?!st)", "-"),
        (r"(?<=acht)(?=hundert)", "-"),
    ),
}
_NUMBER_WORD = re.compile(r"\w*(?:hundert|tausend|zig|ßig|zehn)\w*")


def variants(expected: str) -> list[str]:
    """
    >>> variants("in {twenty ten|two thousand and ten}{ A|}")
    ['in twenty ten A', 'in twenty ten', 'in two thousand and ten A', 'in two thousand and ten']
    """
    parts = _ALTERNATIVES.split(expected)
    choices = [p.split("|") if i % 2 else [p] for i, p in enumerate(parts)]
    return ["".join(c) for c in itertools.product(*choices)]


@functools.cache
def phonemes(text: str, language: str) -> str:
    result = subprocess.run(
        ["espeak-ng", "-v", language, "-x", "-q", "--stdin"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def sounds(text: str, language: str) -> str:
    """The sounds espeak makes of ``text``: no stress, pauses, language switches or word gaps; folded."""
    ph = phonemes(text, language)
    ph = re.sub(r"\((?:[a-z]{2,3}(?:-[a-z0-9]+)?)\)", "", ph)
    ph = re.sub(r"(?<=[bdfgkmnprstvzSZTDN]):|(?:_[:!^]*)+|[',;=\-|\s#]|(?<=[A-Za-z@])2", "", ph)
    for pattern, replacement in FOLDS.get(language, ()):
        ph = re.sub(pattern, replacement, ph)
    return ph


def safe(form: str, language: str) -> str:
    """
    >>> safe("Die Bundesrepublik hat fünfzehnhundertvierundsechzig Gebundene", "de")
    'Die Bundesrepublik hat fünfzehnhundert-vierund-sechzig Gebundene'
    """
    rules = SAFE_SPELLING.get(language, ())

    def spell(m: re.Match[str]) -> str:
        word = m.group()
        for pattern, replacement in rules:
            word = re.sub(pattern, replacement, word)
        return word

    return _NUMBER_WORD.sub(spell, form) if rules else form


def spoken(text: str, language: str) -> str:
    """What narrator gives the engine for a sentence: the lexicon's words kept, the rest normalised."""
    return spoken_form(speak(text, language, default_lexicon().matcher(language)))


def judge(case: dict[str, Any]) -> dict[str, Any]:
    """The case with its spoken form and whether espeak-ng reads it (and the raw text) right."""
    language = case["language"]
    right = {sounds(spoken_form(safe(form, language)), language) for form in variants(case["expected"])}
    said = spoken(case["text"], language)
    return {
        **case,
        "spoken": said,
        "right": sounds(said, language) in right,
        "raw_right": sounds(case["text"], language) in right,
    }


def shares(judged: list[dict[str, Any]]) -> list[str]:
    lines = [f"{'language':8} {'cases':>5} {'as written':>12} {'normalised':>12}"]
    for language in (*LANGUAGES, "all"):
        rows = [j for j in judged if language in ("all", j["language"])]
        raw = sum(bool(r["raw_right"]) for r in rows)
        right = sum(bool(r["right"]) for r in rows)
        n = len(rows)
        lines.append(f"{language:8} {n:5} {raw:5} {100 * raw / n:4.0f}% {right:5} {100 * right / n:4.0f}%")
    wrong = [f"{j['id']}" for j in judged if not j["right"]]
    lines.append(f"still wrong: {', '.join(wrong) or 'none'}")
    return lines


#: Inputs built to make a pattern backtrack: tests/test_speech.py runs them too.
ADVERSARIAL = ("1" * 10000, "$1" * 3000, "." * 10000, "1." * 5000, "1:00" * 2500, "Dr. " * 2500, "A&" * 5000)


def speed(cases: list[dict[str, Any]]) -> list[str]:
    """Milliseconds to normalise 10 KB of the judged sentences, and the slowest adversarial input."""
    import time

    from narrator.speech import normalize

    lines = []
    for language in LANGUAGES:
        real = (" ".join(c["text"] for c in cases if c["language"] == language) * 20)[:10_240]
        normalize(real[:300], language)  # the table loads and compiles once, on first use
        start = time.perf_counter()
        normalize(real, language)
        took = time.perf_counter() - start
        worst = 0.0
        for text in ADVERSARIAL:
            start = time.perf_counter()
            normalize(text, language)
            worst = max(worst, time.perf_counter() - start)
        lines.append(
            f"{language}: 10 KB of real text {1000 * took:5.1f} ms; slowest adversarial input {1000 * worst:5.1f} ms"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record the spoken forms and verdicts in the list")
    parser.add_argument("--speed", action="store_true", help="also time normalising (no assertion: a figure)")
    args = parser.parse_args()
    cases = json.loads(JUDGED.read_text(encoding="utf-8"))
    judged = [judge(case) for case in cases]
    print("\n".join(shares(judged)))
    if args.speed:
        print("\n".join(speed(cases)))
    if args.write:
        JUDGED.write_text(json.dumps(judged, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
