"""ID3v2.3 tags, CHAP/CTOC chapter frames and cover art, read back three ways:
mutagen, ffprobe, and the raw bytes of the tag (frame order as it lies in the file)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutagen.id3 import ID3, CTOCFlags

from narrator.errors import OutputError
from narrator.models import Chapter
from narrator.tagging import Tags, language_code, read_chapters, write_tags

COVER = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 4 + b"\xff\xd9"

#: Frame ids that ID3v2.3 defines (id3v2.3.0 section 4, plus the Chapter Frame Addendum's CHAP and CTOC).
# fmt: off
V23_FRAMES = {
    "AENC", "APIC", "COMM", "COMR", "ENCR", "EQUA", "ETCO", "GEOB", "GRID", "IPLS", "LINK", "MCDI", "MLLT",
    "OWNE", "PRIV", "PCNT", "POPM", "POSS", "RBUF", "RVAD", "RVRB", "SYLT", "SYTC", "TALB", "TBPM", "TCOM",
    "TCON", "TCOP", "TDAT", "TDLY", "TENC", "TEXT", "TFLT", "TIME", "TIT1", "TIT2", "TIT3", "TKEY", "TLAN",
    "TLEN", "TMED", "TOAL", "TOFN", "TOLY", "TOPE", "TORY", "TOWN", "TPE1", "TPE2", "TPE3", "TPE4", "TPOS",
    "TPUB", "TRCK", "TRDA", "TRSN", "TRSO", "TSIZ", "TSRC", "TSSE", "TYER", "TXXX", "UFID", "USER", "USLT",
    "WCOM", "WCOP", "WOAF", "WOAR", "WOAS", "WORS", "WPAY", "WPUB", "WXXX", "CHAP", "CTOC",
}
# fmt: on


def chapters_of(lengths: list[int], titles: list[str] | None = None) -> tuple[Chapter, ...]:
    start, out = 0, []
    for i, length in enumerate(lengths):
        out.append(Chapter(start, start + length, titles[i] if titles else f"Chapter {i + 1}"))
        start += length
    return tuple(out)


def make_tags(chapters: tuple[Chapter, ...], **changes: object) -> Tags:
    fields: dict[str, object] = {
        "title": "Why fight for Russia? Deaths of North Korean officers",
        "artist": "Jang Seiul",
        "album": "Narrated articles",
        "date": "2026-11-27",
        "language": "eng",
        "comment": "Narrated by narrator from north-korea-troops-morale.txt",
        "lyrics": "Why fight for Russia?\n\nThe deaths of six North Korean military officers…",
        "chapters": chapters,
        "cover": COVER,
    }
    fields.update(changes)
    return Tags(**fields)  # type: ignore[arg-type]


SEED_LIKE = chapters_of(
    [17515, 12597, 30306, 20592, 26865, 27794, 11740, 14472, 20283, 23614, 21680],
    [
        "Why fight for Russia? Deaths of North Korean officers in…",
        "The deaths of six North Korean military officers in the…",
        "That is that, while military cooperation between the two…",
        "The atmosphere inside North Korea is complicated and…",
        "Ever since that “betrayal” of the communist cause and, with…",
        "North Korea has strongly criticized Soviet and Chinese…",
        "While awareness of China is greater, the view of Russia…",
        "According to Lee, who defected in 2016, soldiers have no…",
        "Park, an artillery officer who defected in 2018, believes…",
        "Defectors generally concur with this",
        "The incident is more likely to be seen as an accident, and…",
    ],
)


@pytest.fixture
def tagged(mp3_copy: Path) -> Path:
    write_tags(mp3_copy, make_tags(SEED_LIKE))
    return mp3_copy


def test_tag_is_id3v2_3(tagged: Path, read_tag) -> None:
    assert read_tag(tagged).version == 3
    assert ID3(tagged).version == (2, 3, 0)


def test_text_frames_round_trip(tagged: Path) -> None:
    id3 = ID3(tagged)
    assert id3["TIT2"].text == ["Why fight for Russia? Deaths of North Korean officers"]
    assert id3["TPE1"].text == ["Jang Seiul"]
    assert id3["TALB"].text == ["Narrated articles"]
    assert str(id3["TDRC"].text[0]).startswith("2026")
    assert id3["TLAN"].text == ["eng"]


def test_comment_lyrics_and_cover_round_trip(tagged: Path) -> None:
    id3 = ID3(tagged)
    (comment,) = id3.getall("COMM")
    assert comment.text == ["Narrated by narrator from north-korea-troops-morale.txt"]
    assert comment.lang == "eng"
    (lyrics,) = id3.getall("USLT")
    assert lyrics.text == "Why fight for Russia?\n\nThe deaths of six North Korean military officers…"
    (cover,) = id3.getall("APIC")
    assert cover.data == COVER
    assert cover.mime == "image/jpeg"
    assert cover.type == 3  # front cover


def test_every_frame_is_an_id3v2_3_frame(tagged: Path, read_tag) -> None:
    # A v2.3 tag holding v2.4-only frames (TDRC, TDRL, ...) is read by v2.3 players without them.
    ids = read_tag(tagged).ids()
    assert set(ids) <= V23_FRAMES, sorted(set(ids) - V23_FRAMES)


def test_the_date_is_stored_the_id3v2_3_way(tagged: Path, read_tag) -> None:
    # ID3v2.3 has no TDRC: the year goes in TYER (and day and month in TDAT, as DDMM).
    frames = {f.id: f.body for f in read_tag(tagged).frames}
    assert "TYER" in frames
    assert frames["TYER"][1:].decode("utf-16" if frames["TYER"][0] == 1 else "latin-1").strip("\x00") == "2026"


def test_text_encodings_are_allowed_in_id3v2_3(tagged: Path, read_tag) -> None:
    # v2.3 knows only ISO-8859-1 (0) and UTF-16 with BOM (1); UTF-8 (3) is a v2.4 addition.
    tag = read_tag(tagged)
    text_frames = [f for f in tag.frames if f.id.startswith("T") or f.id in ("COMM", "USLT", "APIC")]
    for chap in tag.chaps():
        text_frames += chap.sub_frames
    for ctoc in tag.ctocs():
        text_frames += ctoc.sub_frames
    assert text_frames
    assert all(frame.body[0] in (0, 1) for frame in text_frames), [(f.id, f.body[0]) for f in text_frames]


def test_chap_frames_lie_in_time_order_in_the_file(tagged: Path, read_tag) -> None:
    chaps = read_tag(tagged).chaps()
    assert [(c.start_ms, c.end_ms) for c in chaps] == [(c.start_ms, c.end_ms) for c in SEED_LIKE]


def test_chap_frames_have_titles_and_no_byte_offsets(tagged: Path, read_tag) -> None:
    chaps = read_tag(tagged).chaps()
    for chap, chapter in zip(chaps, SEED_LIKE, strict=True):
        (title,) = [f for f in chap.sub_frames if f.id == "TIT2"]
        assert title.body[1:].decode("utf-16").rstrip("\x00") == chapter.title
        assert chap.start_offset == chap.end_offset == 0xFFFFFFFF


def test_one_top_level_ordered_ctoc_with_its_own_title(tagged: Path, read_tag) -> None:
    tag = read_tag(tagged)
    (ctoc,) = tag.ctocs()
    assert ctoc.flags & 0x01, "top-level flag"
    assert ctoc.flags & 0x02, "ordered flag"
    assert ctoc.children == [c.element_id for c in tag.chaps()]
    assert [f.id for f in ctoc.sub_frames] == ["TIT2"]
    assert ctoc.sub_frames[0].body[1:].decode("utf-16").rstrip("\x00")


def test_ctoc_comes_before_the_chapters(tagged: Path, read_tag) -> None:
    ids = read_tag(tagged).ids()
    assert ids.index("CTOC") < ids.index("CHAP")


def test_mutagen_reads_the_chapters(tagged: Path) -> None:
    id3 = ID3(tagged)
    (ctoc,) = id3.getall("CTOC")
    assert ctoc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert ctoc.sub_frames["TIT2"].text[0]
    chaps = {f.element_id: f for f in id3.getall("CHAP")}
    in_toc = [chaps[child] for child in ctoc.child_element_ids]
    assert [(c.start_time, c.end_time, c.sub_frames["TIT2"].text[0]) for c in in_toc] == [
        (c.start_ms, c.end_ms, c.title) for c in SEED_LIKE
    ]
    assert read_chapters(tagged) == SEED_LIKE


def test_ffprobe_lists_the_chapters_in_time_order(tagged: Path, probe_chapters) -> None:
    assert probe_chapters(tagged) == [(c.start_ms, c.end_ms, c.title) for c in SEED_LIKE]


def test_chapters_given_out_of_order_are_still_written_in_time_order(mp3_copy: Path, read_tag, probe_chapters) -> None:
    shuffled = list(SEED_LIKE)
    random.Random(4).shuffle(shuffled)
    write_tags(mp3_copy, make_tags(tuple(shuffled)))
    chaps = read_tag(mp3_copy).chaps()
    assert [c.start_ms for c in chaps] == sorted(c.start_ms for c in SEED_LIKE)
    assert [start for start, _, _ in probe_chapters(mp3_copy)] == sorted(c.start_ms for c in SEED_LIKE)


def test_no_artist_frame_without_a_byline(mp3_copy: Path) -> None:
    write_tags(mp3_copy, make_tags(SEED_LIKE, artist=""))
    assert "TPE1" not in ID3(mp3_copy)


def test_tagging_twice_replaces_the_tag(mp3_copy: Path, read_tag) -> None:
    write_tags(mp3_copy, make_tags(SEED_LIKE))
    write_tags(mp3_copy, make_tags(chapters_of([4000, 8000]), title="Second"))
    tag = read_tag(mp3_copy)
    assert len(tag.chaps()) == 2
    assert tag.ids().count("TIT2") == 1
    assert ID3(mp3_copy)["TIT2"].text == ["Second"]


def test_the_audio_is_untouched(tone_mp3: Path, tagged: Path) -> None:
    audio = tone_mp3.read_bytes()
    data = tagged.read_bytes()
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | byte
    assert data[10 + size :].lstrip(b"\x00") == audio


def test_255_chapters_fit(mp3_copy: Path, read_tag, probe_chapters) -> None:
    chapters = chapters_of([40] * 255)
    write_tags(mp3_copy, make_tags(chapters))
    assert len(read_tag(mp3_copy).chaps()) == 255
    assert len(read_tag(mp3_copy).ctocs()[0].children) == 255
    assert len(probe_chapters(mp3_copy)) == 255


def test_256_chapters_are_refused_without_touching_the_file(mp3_copy: Path) -> None:
    before = mp3_copy.read_bytes()
    with pytest.raises(OutputError) as caught:
        write_tags(mp3_copy, make_tags(chapters_of([40] * 256)))
    assert "255" in str(caught.value)
    assert str(mp3_copy) in str(caught.value)
    assert mp3_copy.read_bytes() == before


def test_a_missing_file_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError):
        write_tags(tmp_path / "nowhere" / "missing.mp3", make_tags(SEED_LIKE))


@pytest.mark.parametrize(
    ("tag", "code"), [("en", "eng"), ("en-GB", "eng"), ("de", "deu"), ("ko", "kor"), ("xx", "und")]
)
def test_language_code(tag: str, code: str) -> None:
    assert language_code(tag) == code


titles = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 3_600_000), titles), min_size=1, max_size=30))
def test_any_chapters_round_trip(mp3_copy: Path, read_tag, chapters: list[tuple[int, str]]) -> None:
    expected = chapters_of([n for n, _ in chapters], [t for _, t in chapters])
    write_tags(mp3_copy, make_tags(expected))
    assert read_chapters(mp3_copy) == expected
    chaps = read_tag(mp3_copy).chaps()
    assert [c.start_ms for c in chaps] == [c.start_ms for c in expected]
