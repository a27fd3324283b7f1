"""Read, segment and speak (with the real engine) many real texts, and say what stopped any of them.

    python bench/survey.py                           # READMEs and HTML manuals under /usr/share/doc
    python bench/survey.py --limit 20 DIR_OR_FILE... # others (.txt, .md, .html, and the same .gz)

Every piece of text goes to espeak-ng as narrate sends it (no cache, no MP3): a text passes when
every chunk gives a clip. Prints, per text that did not pass, its error; then how many passed,
how many have no words to narrate, how many pieces espeak-ng said nothing for (short pauses,
not errors), and the longest chapter in minutes at 175 words a minute.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from narrator.errors import NarratorError
from narrator.language import choose_voice, voices_of
from narrator.lexicon import default_lexicon
from narrator.readers import read
from narrator.segment import segment_article
from narrator.synth import Synthesizer, Voicing

RATE = 175
KINDS = {".txt": ".txt", ".md": ".md", ".html": ".html", ".htm": ".html", "": ".txt"}


def texts(roots: list[Path], limit: int) -> Iterator[Path]:
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
            continue
        for path in sorted(root.rglob("*")):
            name = path.name.lower().removesuffix(".gz")
            if path.is_file() and (name.startswith("readme") or name.endswith((".html", ".htm", ".md"))):
                found.append(path)
    yield from found[:limit]


def readable(path: Path, scratch: Path) -> Path:
    """The text itself, decompressed and named by its kind, for the readers."""
    name = path.name.removesuffix(".gz")
    suffix = KINDS.get(Path(name).suffix.lower(), ".txt")
    if path.suffix != ".gz" and path.suffix.lower() == suffix:
        return path
    target = scratch / f"{len(list(scratch.iterdir()))}-{Path(name).stem}{suffix}"
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    target.write_bytes(data)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", type=Path, default=[Path("/usr/share/doc")])
    parser.add_argument("--limit", type=int, default=120, help="at most this many texts")
    args = parser.parse_args()
    passed = no_words = pauses = chunks_said = 0
    failed: list[str] = []
    longest = (0.0, "")
    with (
        tempfile.TemporaryDirectory() as scratch,
        Synthesizer(Voicing("pyttsx3", "", RATE), jobs=2, cache=None) as synthesizer,
    ):
        paths = list(texts(args.roots, args.limit))
        for number, path in enumerate(paths, 1):
            print(f"{number}/{len(paths)} {path}", file=sys.stderr, flush=True)
            try:
                article = read(readable(path, Path(scratch)))
                script = segment_article(article, rate_wpm=RATE, lexicon=default_lexicon())
                voice = choose_voice(article.language, voices_of(synthesizer))
                synthesizer.voicing = replace(synthesizer.voicing, voice=voice)
                chunks = [chunk for sentence in script.sentences() for chunk in sentence.chunks]
                for clip in synthesizer.clips(chunks):
                    pauses += not clip.pcm.strip(b"\0")
                chunks_said += len(chunks)
            except NarratorError as exc:
                if "has no words" in str(exc) or "has no article text" in str(exc):
                    no_words += 1
                else:
                    failed.append(f"{path}: {exc}")
                    print(failed[-1], flush=True)
                continue
            passed += 1
            for chapter in script.chapters:
                minutes = sum(len(s.text.split()) for p in chapter.paragraphs for s in p.sentences) / RATE
                longest = max(longest, (minutes, f"{path.name}: {chapter.title}"))
    print(
        f"{len(paths)} texts: {passed} narrated ({chunks_said} pieces of text spoken, {pauses} of them silent:"
        f" short pauses), {no_words} with nothing to narrate, {len(failed)} stopped"
    )
    print(f"longest chapter: {longest[0]:.1f} min ({longest[1]})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
