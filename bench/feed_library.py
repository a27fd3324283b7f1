"""Build a podcast folder with many episodes quickly, for the feed benchmark.

One article is narrated for real; its files are then hard-linked under new stems
and recorded in the library as distinct episodes (each with its own source, text
hash and chapters), so the feed has ``episodes`` items that all point at real files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from narrator.folder import episode_files
from narrator.library import Action, build_key, open_library


def build_library(folder: Path, *, episodes: int, seed_article: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "narrator", "narrate", str(seed_article), "-o", str(folder), "-q"],
        check=True,
    )
    with open_library(folder) as library:
        first = library.episodes()[0]
        original = episode_files(folder, first.stem)
        for n in range(1, episodes):
            stem = f"{first.stem}-{n:04d}"
            files = episode_files(folder, stem)
            for name in ("mp3", "vtt", "srt"):
                os.link(getattr(original, name), getattr(files, name))
            # Text differs per episode, as in a real library (nothing shared for a cache to find).
            chapters = json.loads(original.chapters_json.read_text(encoding="utf-8"))
            for chapter in chapters["chapters"]:
                chapter["title"] = f"{chapter['title']} ({n})"
            files.chapters_json.write_text(json.dumps(chapters), encoding="utf-8")
            claim = library.claim(
                f"{seed_article}#{n}",
                slug=stem,
                text_hash=f"{first.text_hash}-{n}",
                build_key=build_key(f"{first.text_hash}-{n}", {}),
            )
            assert claim.action is Action.NEW and claim.stem == stem, claim
            library.record(
                claim,
                files,
                title=f"{first.title} (part {n})",
                author=first.author,
                language=first.language,
                duration_ms=first.duration_ms,
                body=f"Part {n}.\n\n{first.body}",
            )
