"""ID3v2.3 tags, chapter frames (CHAP/CTOC) and cover art: the only module importing mutagen.

ID3v2.3 rather than 2.4 because Apple's apps read chapters reliably from 2.3.
Chapters follow the ID3v2 Chapter Frame Addendum: one CHAP per chapter with a TIT2
sub-frame, times in milliseconds, byte offsets unused (0xFFFFFFFF), and one
top-level, ordered CTOC listing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mutagen.id3 import APIC, CHAP, COMM, CTOC, ID3, TALB, TDRC, TIT2, TLAN, TPE1, USLT, CTOCFlags, Encoding
from mutagen.id3._tags import save_frame

from .errors import OutputError
from .models import Chapter

#: "Byte offset not used" in a CHAP frame (Chapter Frame Addendum, section 3.1).
NO_OFFSET = 0xFFFFFFFF
TOC_ID = "toc"


@dataclass(frozen=True, slots=True)
class Tags:
    """What the episode's ID3 tag says."""

    title: str
    artist: str
    album: str
    date: str
    """ISO date, "2026-11-27"."""
    language: str
    """ISO 639-2 code, "eng"."""
    comment: str
    lyrics: str
    """The full text, as unsynchronised lyrics (USLT)."""
    chapters: tuple[Chapter, ...]
    toc_title: str = "Chapters"
    cover: bytes | None = None
    cover_mime: str = "image/jpeg"


def _time_ordered_id3() -> Any:
    """mutagen's ID3 with chapter frames written in time order.

    mutagen orders frames by size when saving, which scrambles chapters; players
    built on ffmpeg (VLC, mpv, ffprobe) list chapters in file order.
    """

    class TimeOrderedID3(ID3):  # type: ignore[misc]
        def _write(self, config: Any) -> bytearray:
            first = ["TIT2", "TPE1", "TALB", "TDRC", "TYER", "TDAT", "TLAN", "CTOC"]

            def sort_key(item: tuple[int, Any]) -> tuple[int, int, int]:
                index, frame = item
                if frame.FrameID in first:
                    return (0, first.index(frame.FrameID), 0)
                if frame.FrameID == "CHAP":
                    return (1, frame.start_time, index)
                if frame.FrameID == "APIC":
                    return (3, index, 0)
                return (2, index, 0)

            ordered = [frame for _, frame in sorted(enumerate(self.values()), key=sort_key)]
            return bytearray().join(save_frame(frame, config=config) for frame in ordered)

    return TimeOrderedID3()


def write_tags(mp3: Path, tags: Tags) -> None:
    """Write ``tags`` as an ID3v2.3 tag at the start of ``mp3`` (replacing any)."""

    if len(tags.chapters) > 255:  # a CTOC's entry count is one byte
        raise OutputError(f"{len(tags.chapters)} chapters do not fit one table of contents (255 at most)", mp3)
    id3 = _time_ordered_id3()
    utf8 = Encoding.UTF8  # mutagen writes UTF-16 when saving as v2.3
    id3.add(TIT2(encoding=utf8, text=[tags.title]))
    if tags.artist:
        id3.add(TPE1(encoding=utf8, text=[tags.artist]))
    id3.add(TALB(encoding=utf8, text=[tags.album]))
    id3.add(TDRC(encoding=utf8, text=[tags.date]))
    id3.add(TLAN(encoding=utf8, text=[tags.language]))
    id3.add(COMM(encoding=utf8, lang=tags.language, desc="", text=[tags.comment]))
    id3.add(USLT(encoding=utf8, lang=tags.language, desc="", text=tags.lyrics))
    if tags.cover:
        id3.add(APIC(encoding=utf8, mime=tags.cover_mime, type=3, desc="Cover", data=tags.cover))
    ids = [f"chp{i}" for i in range(len(tags.chapters))]
    id3.add(
        CTOC(
            element_id=TOC_ID,
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=utf8, text=[tags.toc_title])],
        )
    )
    for element_id, chapter in zip(ids, tags.chapters, strict=True):
        id3.add(
            CHAP(
                element_id=element_id,
                start_time=chapter.start_ms,
                end_time=chapter.end_ms,
                start_offset=NO_OFFSET,
                end_offset=NO_OFFSET,
                sub_frames=[TIT2(encoding=utf8, text=[chapter.title])],
            )
        )
    id3.update_to_v23()  # TDRC is a v2.4 frame: v2.3 readers find the date in TYER and TDAT
    try:
        id3.save(str(mp3), v2_version=3)
    except OSError as exc:
        raise OutputError(f"could not write the ID3 tag ({exc.strerror or exc})", mp3) from exc
    except Exception as exc:  # mutagen's own errors
        raise OutputError(f"could not write the ID3 tag: {exc}", mp3) from exc


def read_chapters(mp3: Path) -> tuple[Chapter, ...]:
    """Chapters as stored in the file, in file order (used to check what was written)."""

    id3 = ID3(str(mp3))
    return tuple(
        Chapter(start_ms=f.start_time, end_ms=f.end_time, title=str(f.sub_frames["TIT2"].text[0]))
        for f in id3.values()
        if f.FrameID == "CHAP"
    )


def language_code(tag: str) -> str:
    """The ISO 639-2/T code that ID3's TLAN frame expects, for a BCP 47 language tag.

    >>> language_code("en-GB"), language_code("de"), language_code("xx")
    ('eng', 'deu', 'und')
    """
    return _ISO639_2.get(tag.split("-")[0].lower(), "und")


_ISO639_2 = {
    "ar": "ara", "ca": "cat", "cs": "ces", "da": "dan", "de": "deu", "el": "ell", "en": "eng", "es": "spa",
    "et": "est", "fa": "fas", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun",
    "id": "ind", "is": "isl", "it": "ita", "ja": "jpn", "ko": "kor", "lt": "lit", "lv": "lav", "nl": "nld",
    "nb": "nob", "no": "nor", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sk": "slk", "sl": "slv",
    "sr": "srp", "sv": "swe", "sw": "swa", "ta": "tam", "th": "tha", "tr": "tur", "uk": "ukr", "vi": "vie",
    "zh": "zho", "cy": "cym", "ga": "gle", "eu": "eus", "gl": "glg", "bg": "bul", "mk": "mkd", "ms": "msa",
}  # fmt: skip
