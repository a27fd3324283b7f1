"""How long the chapters of real texts come out, as they are and run together into one paragraph.

    python bench/chapters.py                      # the seed and tests/data/real, at 175 words a minute
    python bench/chapters.py --rate 150 FILE...   # other texts, another rate

For each text: its words, its chapters, the longest and shortest chapter in minutes at the rate
(words / rate, the estimate segment.py goes by) and the titles, then the same for the text as one
wall of a paragraph (headings and paragraphs run together), which is where the cuts at topic
shifts do all the work.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from narrator.models import Article, Block, BlockKind, Script
from narrator.readers import read
from narrator.segment import segment_article

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    ROOT / "seeds" / "north-korea-troops-morale.txt",
    *sorted((ROOT / "tests" / "data" / "real").glob("*-README*")),
]


def wall(article: Article) -> Article:
    body = " ".join(block.text for block in article.blocks)
    return Article(source=article.source, title=article.title, byline="", blocks=(Block(BlockKind.PARAGRAPH, body),))


def describe(label: str, script: Script, rate: int) -> list[str]:
    words = [sum(len(s.text.split()) for p in c.paragraphs for s in p.sentences) for c in script.chapters]
    lines = [
        f"{label}: {sum(words)} words, {len(words)} chapters, longest {max(words) / rate:.1f} min,"
        f" shortest {min(words) / rate:.1f} min"
    ]
    lines += [f"    {n / rate:4.1f} min  {c.title}" for c, n in zip(script.chapters, words, strict=True)]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=TEXTS)
    parser.add_argument("--rate", type=int, default=175, help="words per minute")
    args = parser.parse_args()
    for path in args.files:
        article = read(path)
        print("\n".join(describe(path.name, segment_article(article, rate_wpm=args.rate), args.rate)))
        print(
            "\n".join(
                describe(f"{path.name} as one paragraph", segment_article(wall(article), rate_wpm=args.rate), args.rate)
            )
        )
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
