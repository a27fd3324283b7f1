"""Timeline -> captions (WebVTT, SRT) and Podcasting 2.0 JSON chapters."""

from __future__ import annotations

import json
from collections.abc import Iterable

from .models import Chapter, Cue

#: JSON chapters format version written (Podcasting 2.0, jsonChapters.md).
CHAPTERS_VERSION = "1.2.0"


def format_vtt_time(ms: int) -> str:
    """WebVTT timestamp.

    >>> format_vtt_time(61_500)
    '00:01:01.500'
    >>> format_vtt_time(3_600_000 * 11 + 5)
    '11:00:00.005'
    """
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def format_srt_time(ms: int) -> str:
    """SRT timestamp: like WebVTT's, with a comma before the milliseconds.

    >>> format_srt_time(61_500)
    '00:01:01,500'
    """
    return format_vtt_time(ms).replace(".", ",")


def _cue_text(text: str) -> str:
    """Cue text on one line; WebVTT needs ``&``, ``<`` and ``>`` escaped and forbids ``-->``.

    >>> _cue_text("A <b> & B --> C")
    'A &lt;b&gt; &amp; B --&gt; C'
    """
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(cues: Iterable[Cue], notes: Iterable[str] = ()) -> str:
    """A WebVTT file, one cue per sentence, numbered from 1; each of ``notes`` a NOTE block after the header."""
    lines = ["WEBVTT", ""]
    for note in notes:  # a NOTE may not contain "-->" (WebVTT 4.1)
        lines += [f"NOTE {' '.join(note.split()).replace('-->', '->')}", ""]
    for i, cue in enumerate(cues, 1):
        lines += [str(i), f"{format_vtt_time(cue.start_ms)} --> {format_vtt_time(cue.end_ms)}", _cue_text(cue.text), ""]
    return "\n".join(lines)


def render_srt(cues: Iterable[Cue]) -> str:
    """A SubRip file; SRT has no escaping, so the text is written as it is, on one line."""
    lines: list[str] = []
    for i, cue in enumerate(cues, 1):
        text = " ".join(cue.text.split())
        lines += [str(i), f"{format_srt_time(cue.start_ms)} --> {format_srt_time(cue.end_ms)}", text, ""]
    return "\n".join(lines)


def chapters_document(
    chapters: Iterable[Chapter], *, title: str, author: str, podcast_name: str, file_name: str
) -> dict[str, object]:
    """The Podcasting 2.0 JSON chapters document (times in seconds)."""
    doc: dict[str, object] = {"version": CHAPTERS_VERSION, "title": title}
    if author:
        doc["author"] = author
    if podcast_name:
        doc["podcastName"] = podcast_name
    doc["fileName"] = file_name
    doc["chapters"] = [{"startTime": c.start_ms / 1000, "endTime": c.end_ms / 1000, "title": c.title} for c in chapters]
    return doc


def render_chapters_json(chapters: Iterable[Chapter], **meta: str) -> str:
    return json.dumps(chapters_document(chapters, **meta), ensure_ascii=False, indent=2) + "\n"
