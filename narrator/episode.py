"""One article's script and clips -> the episode's files in a folder: what a local run and a cluster's worker share.

``write_episode`` stitches the clips with their pauses into a spool, encodes it while
it grows, tags the MP3 and writes the captions and chapters beside it, every file
named STEM.*, into a folder of the caller's: a staging folder, from which
``move_episode`` renames them into the podcast folder. ``Narrator.narrate`` (the
clips from the local worker processes) and ``remote.narrate_article`` (the clips
from a cluster worker's own engine) both make their episodes with it, so the same
code makes the same files wherever the article was narrated.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import OutputError
from .folder import episode_files
from .models import Article, Clip, Script, Timeline

if TYPE_CHECKING:
    from .tagging import Tags


def write_episode(
    folder: Path,
    stem: str,
    article: Article,
    script: Script,
    clips: Iterator[Clip],
    *,
    tags: Callable[[], Tags],
    bitrate_kbps: int,
    jobs: int,
    cue_by_cue: bool,
    mp3_name: Path,
    assembled: Callable[[], None] = lambda: None,
    one_core: bool = False,
) -> Timeline:
    """Write STEM.mp3, .vtt, .srt and .chapters.json for ``script`` into ``folder``; return the timeline.

    ``clips`` gives one clip per chunk of the script, in order; ``tags()`` what the ID3
    tag says (its chapters are the timeline's). ``jobs`` threads encode; ``cue_by_cue``:
    the engine spoke each cue's part of a sentence on its own, so no pause is added
    between them. ``mp3_name`` is the MP3 as the user will know it, for errors.
    ``assembled`` is called once every clip is in. ``one_core``: everything happens in
    this thread (a cluster's worker is one core), the MP3 cut in parts as for ``jobs``.
    """
    # Imported only now, while the engines work.
    from .assemble import Pauses, assemble
    from .captions import render_chapters_json, render_srt, render_vtt
    from .encode import StreamEncoder
    from .tagging import write_tags

    files = episode_files(folder, stem)
    spool_path = folder / "episode.raw"
    with (
        spool_path.open("wb") as spool,
        StreamEncoder(spool_path, files.mp3, bitrate_kbps=bitrate_kbps, jobs=jobs, here=one_core) as encoder,
    ):
        # Cues spoken one by one each end like a sentence already: no breath added between them.
        pauses = Pauses(chunk_ms=0) if cue_by_cue else Pauses()
        try:
            assembly = assemble(script, clips, spool, encoder, pauses)
        except BaseException:
            close = getattr(clips, "close", None)
            if close is not None:
                close()  # the engines stop on what they were given
            raise
        assembled()
        encoded = encoder.finish(samples=assembly.samples)
    spool_path.unlink()
    timeline = assembly.timeline(encoded)
    tag = replace(tags(), chapters=timeline.chapters)
    try:
        write_tags(files.mp3, tag)
    except OutputError as exc:  # named as the user will know it, not by its staged name
        raise OutputError(exc.reason, mp3_name) from exc
    notes = [f"Not read: {what}" for what in article.skipped]
    files.vtt.write_text(render_vtt(timeline.cues, notes), encoding="utf-8")
    files.srt.write_text(render_srt(timeline.cues), encoding="utf-8")
    files.chapters_json.write_text(
        render_chapters_json(
            timeline.chapters,
            title=article.title,
            author=article.byline,
            podcast_name=tag.album,
            file_name=f"{stem}.mp3",
        ),
        encoding="utf-8",
    )
    return timeline


def move_episode(staged: Path, output_dir: Path, stem: str) -> None:
    """Rename the episode ``stem``'s files from the folder ``staged`` into ``output_dir`` (the same file
    system): captions and chapters first, the MP3 last, so a reader who sees the new MP3 finds its captions."""
    for (_kind, staged_path), (_, final_path) in zip(
        episode_files(staged, stem).paths(), episode_files(output_dir, stem).paths(), strict=True
    ):
        os.replace(staged_path, final_path)
