"""Timeline -> captions (WebVTT, SRT) and Podcasting 2.0 JSON chapters.

Cues come at caption size (``cues.split_cues``: at most two lines of 42 characters,
about 7 s at most). Each WebVTT cue is named PARAGRAPH.SENTENCE.PART ("3.2.1": the
first cue of the second sentence of the third paragraph), which is how the listening
page rebuilds the transcript from the track, and carries the start of every word the
audio times as a cue timestamp (WebVTT 4.2.1, "cue timestamp"), for karaoke-style
display. The SRT has the same cues without them: SRT has no escaping at all, so its
text is made so that no player reads any of it as markup.
"""

from __future__ import annotations

import json
import re
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


#: Control characters other than white space (which becomes a space); no reader wants them.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def escape_vtt(text: str) -> str:
    """Cue text for WebVTT: ``&``, ``<`` and ``>`` as character references, so nothing reads as a
    tag and "-->" cannot appear (WebVTT 4.2.1, cue text).

    >>> escape_vtt("A <b> & B --> C")
    'A &lt;b&gt; &amp; B --&gt; C'
    """
    text = _CONTROL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: Runs of white space other than the no-break spaces (U+00A0, U+2007, U+202F), which stay.
_SPACES = re.compile(r"[^\S\u00a0\u2007\u202f]+")


def _lines(text: str) -> list[str]:
    """A cue's lines, spaces made single, none blank (a blank line would end the cue).

    >>> _lines("Tom  and\\n\\nJerry\\u202f!")
    ['Tom and', 'Jerry\u202f!']
    """
    return [_SPACES.sub(" ", line).strip(" ") for line in text.split("\n") if line.strip()]


def vtt_cue_text(cue: Cue) -> str:
    r"""The payload of a WebVTT cue: its lines, escaped, with a timestamp before each timed word.

    Each timestamp must be later than the cue's start and every earlier timestamp, and earlier
    than its end (WebVTT 4.2.1, "cue timestamp"), so words too near those get none.

    >>> from narrator.models import CueWord
    >>> print(vtt_cue_text(Cue(1000, 2500, "Tom & Jerry\nran", (CueWord(6, 1400), CueWord(12, 2000)))))
    Tom &amp; <00:00:01.400>Jerry
    <00:00:02.000>ran
    """
    text = "\n".join(_lines(cue.text))
    if not cue.words or text != cue.text:  # word offsets count in the text as it is
        return "\n".join(escape_vtt(line) for line in text.split("\n"))
    parts: list[str] = []
    position, last = 0, cue.start_ms
    for word in cue.words:
        if last < word.start_ms < cue.end_ms and position < word.offset <= len(text):
            parts += [escape_vtt(text[position : word.offset]), f"<{format_vtt_time(word.start_ms)}>"]
            position, last = word.offset, word.start_ms
    parts.append(escape_vtt(text[position:]))
    return "".join(parts)


def cue_identifier(cue: Cue) -> str:
    """The cue's WebVTT identifier: paragraph, sentence and part.

    >>> cue_identifier(Cue(0, 1, "x", paragraph=3, sentence=2, part=1))
    '3.2.1'
    """
    return f"{cue.paragraph}.{cue.sentence}.{cue.part}"


def render_vtt(cues: Iterable[Cue], notes: Iterable[str] = ()) -> str:
    """A WebVTT file: each cue named by its place (PARAGRAPH.SENTENCE.PART), with word timestamps;
    each of ``notes`` a NOTE block after the header."""
    lines = ["WEBVTT", ""]
    for note in notes:  # a NOTE may not contain "-->" (WebVTT 4.1)
        lines += [f"NOTE {' '.join(note.split()).replace('-->', '->')}", ""]
    for cue in cues:
        timing = f"{format_vtt_time(cue.start_ms)} --> {format_vtt_time(cue.end_ms)}"
        lines += [cue_identifier(cue), timing, vtt_cue_text(cue), ""]
    return "\n".join(lines)


#: SRT has no escaping, and players read markup of several dialects in it: HTML-like tags
#: (<i>, <font>; VLC swallows everything from an unknown "<tag" to the next ">", FFmpeg's
#: SubRip decoder, and so mpv, drops unknown tags), ASS override blocks ("{\\an8}": libass
#: hides any "{...}"), and ASS escapes ("\\N", "\\n", "\\h" in VLC and libass); Android's
#: player passes the text through Html.fromHtml, which also decodes "&amp;". An escape that
#: works in one player shows in another, so the characters that open markup are replaced by
#: look-alikes every Latin font has, and escapes are broken by an invisible WORD JOINER.
_SRT_LOOKALIKES = str.maketrans({"<": "\u2039", ">": "\u203a", "{": "\uff5b", "}": "\uff5d"})
_SRT_ESCAPE = re.compile(r"\\(?=[nNhH])")
_SRT_ENTITY = re.compile(r"&(?=#?\w+;)")


def srt_cue_text(text: str) -> str:
    r"""Cue text for SRT that no player reads as markup.

    ``<`` and ``>`` become the single angle quotation marks ‹ › (U+2039, U+203A); braces
    become full-width braces; a backslash before n, N, h or H and an ampersand that would
    start a character reference get a WORD JOINER (U+2060, here +) after them.

    >>> srt_cue_text("<b>bold</b> {\\an8} a\\Nb &amp; AT&T").replace("\u2060", "+")
    '‹b›bold‹/b› ｛\\an8｝ a\\+Nb &+amp; AT&T'
    """
    text = _CONTROL.sub("", text).translate(_SRT_LOOKALIKES)
    text = _SRT_ENTITY.sub("&\u2060", _SRT_ESCAPE.sub("\\\\\u2060", text))
    return "\n".join(_lines(text))


def render_srt(cues: Iterable[Cue]) -> str:
    """A SubRip file: the WebVTT file's cues, numbered from 1, without word timestamps."""
    lines: list[str] = []
    for i, cue in enumerate(cues, 1):
        lines += [
            str(i),
            f"{format_srt_time(cue.start_ms)} --> {format_srt_time(cue.end_ms)}",
            srt_cue_text(cue.text),
            "",
        ]
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
