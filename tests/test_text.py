"""Reading plain text into an Article: title, byline, body blocks, page chrome left out.

The rules are checked on the seed and on the articles in tests/data/articles, each
pinned by a hand-written NAME.json beside it (title, byline, blocks, dropped chrome).
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.errors import InputError, NarratorError
from narrator.models import Article, BlockKind
from narrator.readers.base import decode_text, strip_credit
from narrator.readers.text import is_caption, is_chrome, match_byline, parse_text, read_article
from narrator.segment import segment_article

TESTS = Path(__file__).parent
ARTICLES = sorted((TESTS / "data" / "articles").glob("*.txt"))
SEED = TESTS.parent / "seeds" / "north-korea-troops-morale.txt"


def as_golden(article: Article) -> dict[str, object]:
    return {
        "title": article.title,
        "byline": article.byline,
        "blocks": [[block.kind.value, block.text] for block in article.blocks],
        "dropped": list(article.dropped),
    }


def test_articles_match_their_golden_files(article_path: Path) -> None:
    expected = json.loads(article_path.with_suffix(".json").read_text(encoding="utf-8"))
    assert as_golden(read_article(article_path)) == expected


def test_every_article_has_a_golden_file() -> None:
    assert len(ARTICLES) >= 6
    assert all(path.with_suffix(".json").is_file() for path in ARTICLES)


def test_the_fixtures_have_the_shapes_they_claim() -> None:
    folder = TESTS / "data" / "articles"
    crlf = (folder / "night-buses-crlf-bom.txt").read_bytes()
    assert crlf.startswith(b"\xef\xbb\xbf") and b"\r\n" in crlf and b"\n\n" not in crlf
    assert "\n\n" not in (folder / "library-no-blank-lines.txt").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: t.replace("\n", "\r"), id="cr"),
        pytest.param(lambda t: "\ufeff" + t, id="bom"),
        pytest.param(lambda t: "\ufeff" + t.replace("\n", "\r\n"), id="bom-crlf"),
        pytest.param(lambda t: t.replace("\n", "  \n\t"), id="trailing-whitespace"),
        pytest.param(lambda t: "\n\n" + t, id="leading-blank-lines"),
        pytest.param(lambda t: t + "\n\n", id="trailing-blank-line"),
    ],
)
def test_line_endings_and_bom_do_not_change_the_reading(article_path: Path, transform, tmp_path: Path) -> None:
    text = decode_text(article_path.read_bytes(), article_path).replace("\r\n", "\n")
    plain = tmp_path / "plain.txt"
    plain.write_bytes(text.encode("utf-8"))
    changed = tmp_path / "changed.txt"
    changed.write_bytes(transform(text).encode("utf-8"))
    assert as_golden(read_article(changed)) == as_golden(read_article(plain))


def test_utf16_with_bom_reads_like_utf8(article_path: Path, tmp_path: Path) -> None:
    text = decode_text(article_path.read_bytes(), article_path)
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(text.encode("utf-16"))  # Python writes the BOM
    assert as_golden(read_article(utf16)) == as_golden(read_article(article_path))


# --- the seed --------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Article:
    return read_article(SEED)


def test_seed_title_is_its_first_line(seed: Article) -> None:
    assert (
        seed.title == "Why fight for Russia? Deaths of North Korean officers in Ukraine raises questions about morale"
    )


def test_seed_byline_is_the_author(seed: Article) -> None:
    assert seed.byline == "Jang Seiul"
    assert all("Jang Seiul" not in block.text for block in seed.blocks)


def test_seed_page_chrome_is_not_in_the_body(seed: Article) -> None:
    assert "Close" in seed.dropped
    assert all(block.text != "Close" for block in seed.blocks)


def test_seed_image_caption_is_a_caption_block(seed: Article) -> None:
    captions = [block for block in seed.blocks if block.kind is BlockKind.CAPTION]
    assert len(captions) == 1
    assert captions[0].text.startswith("Amid ongoing reports of North Korean troops")
    assert captions[0].text.endswith("(Image: KCNA)")
    assert seed.blocks[0] == captions[0]


def test_seed_paragraph_without_a_full_stop_is_kept_whole(seed: Article) -> None:
    unfinished = [b for b in seed.blocks if b.text.endswith("the collapse over 30 years ago of the Soviet Union")]
    assert len(unfinished) == 1
    assert unfinished[0].kind is BlockKind.PARAGRAPH
    assert unfinished[0].text.startswith("This is not such an easy matter")


def test_seed_keeps_every_paragraph(seed: Article) -> None:
    paragraphs = [b for b in seed.blocks if b.kind is BlockKind.PARAGRAPH]
    assert len(paragraphs) == 14
    assert paragraphs[-1].text.endswith("manage this situation.")
    assert not any(b.text.endswith("\u00a0") or "  " in b.text for b in seed.blocks)


def test_seed_text_hash_is_of_the_decoded_text(seed: Article) -> None:
    import hashlib

    assert seed.text_hash == hashlib.sha256(SEED.read_text(encoding="utf-8").encode("utf-8")).hexdigest()


# --- the rules, one at a time ----------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Close",
        "Advertisement",
        "ADVERTISEMENT",
        "Share this article",
        "Read more: Why the old ferry closed",
        "See also: Five things to know",
        "Related stories",
        "Sign up for our newsletter",
        "5 min read",
        "Skip to main content",
        "* * *",
        "Facebook | Twitter | LinkedIn",
    ],
)
def test_chrome_lines_are_recognised(line: str) -> None:
    assert is_chrome(line)


@pytest.mark.parametrize(
    "sentence",
    [
        "Published in 1998, the book sold well.",
        "Updated figures are due next week.",
        "Cookies were handed out to every child at the gate.",
        "Share this with your neighbours, the mayor said on Friday.",
        "Related issues will be discussed at the meeting on Friday.",
        "Close the door behind you.",
    ],
)
def test_a_sentence_that_starts_like_chrome_is_narrated(sentence: str) -> None:
    # A paragraph of one ordinary sentence is article text, whatever its first word.
    text = (
        "Notes from the town meeting\n\n"
        "The meeting began at seven and lasted three hours.\n\n"
        f"{sentence}\n\n"
        "It ended late."
    )
    article = parse_text(text, source="meeting.txt")
    assert sentence in [block.text for block in article.blocks]
    assert sentence not in article.dropped


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("Jang Seiul", "Jang Seiul"),
        ("By Anna Smith", "Anna Smith"),
        ("by Anna Smith", "Anna Smith"),
        ("By Anna van der Berg | 3 March 2024", "Anna van der Berg"),
        ("By Anna Smith and Tom Jones", "Anna Smith and Tom Jones"),
        ("By Mary O’Brien", "Mary O’Brien"),
        ("By Jean-Luc Martin", "Jean-Luc Martin"),
        ("By Seo Ji-yeon", "Seo Ji-yeon"),
        ("By Anna Smith-Jones | 3 March 2024", "Anna Smith-Jones"),
    ],
)
def test_bylines_give_the_whole_name(line: str, author: str) -> None:
    assert match_byline(line) == author


@pytest.mark.parametrize(
    "line",
    [
        "The war goes on",
        "None can understand why they should fight for Russia.",
        "By late afternoon, the flood had reached the town hall.",
        "By then it was too late.",
    ],
)
def test_sentences_are_not_bylines(line: str) -> None:
    assert match_byline(line) == ""


def test_a_first_paragraph_starting_with_by_is_narrated() -> None:
    text = (
        "Flood reaches the town hall\n\n"
        "By late afternoon, the flood had reached the town hall.\n\n"
        "Water was knee deep in the market square and still rising. Shops closed early.\n"
    )
    article = parse_text(text, source="flood.txt")
    assert article.byline == ""
    assert article.blocks[0].text == "By late afternoon, the flood had reached the town hall."


def test_byline_under_the_title_and_at_the_end() -> None:
    body = "The river rose by two metres overnight, and the old bridge was closed to traffic."
    top = parse_text(f"River closes bridge\n\nBy Anna Smith\n\n{body}\n", source="a.txt")
    end = parse_text(f"River closes bridge\n\n{body}\n\nAnna Smith\n\nClose\n", source="a.txt")
    for article in (top, end):
        assert article.title == "River closes bridge"
        assert article.byline == "Anna Smith"
        assert [b.text for b in article.blocks] == [body]


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("Troops on parade in Pyongyang (Image: KCNA)", "Troops on parade in Pyongyang"),
        ("Children play in a fountain (Photo: Reuters)", "Children play in a fountain"),
        ("A flooded street in the old town (Picture: Getty Images)", "A flooded street in the old town"),
        ("Caption: Volunteers at work in the tower", "Volunteers at work in the tower"),
        (
            "Photo: Children pose for a picture by the fountain in the old town square",
            "Children pose for a picture by the fountain in the old town square",
        ),
        ("Image caption: Firefighters at the scene. Mike Blake/Reuters", "Firefighters at the scene."),
    ],
)
def test_captions_are_recognised_and_lose_their_credit(line: str, said: str) -> None:
    assert is_caption(line)
    assert strip_credit(line) == said


def test_a_caption_in_the_middle_of_the_article_is_a_caption_block() -> None:
    text = (
        "Storm hits the coast\n\n"
        "Winds of 120 km/h brought down trees and power lines along the coast on Sunday night.\n\n"
        "A fallen tree blocks the coast road near Brest (Image: AFP)\n\n"
        "Power was restored to most homes by Monday evening, the grid operator said.\n"
    )
    kinds = [(b.kind, b.text) for b in parse_text(text, source="storm.txt").blocks]
    assert kinds[1] == (BlockKind.CAPTION, "A fallen tree blocks the coast road near Brest (Image: AFP)")
    assert [k for k, _ in kinds] == [BlockKind.PARAGRAPH, BlockKind.CAPTION, BlockKind.PARAGRAPH]


def test_hard_wrapped_lines_join_into_one_paragraph() -> None:
    text = "A title\n\nThe first line of a paragraph\nthat was wrapped by hand\nat a narrow width.\n\nA second one.\n"
    blocks = parse_text(text, source="w.txt").blocks
    assert [b.text for b in blocks] == [
        "The first line of a paragraph that was wrapped by hand at a narrow width.",
        "A second one.",
    ]


def test_without_blank_lines_each_line_is_a_paragraph() -> None:
    text = "A title\nThe first paragraph is one line.\nThe second paragraph is another.\nAdvertisement\nThe last one.\n"
    article = parse_text(text, source="n.txt")
    assert article.title == "A title"
    assert [b.text for b in article.blocks] == [
        "The first paragraph is one line.",
        "The second paragraph is another.",
        "The last one.",
    ]
    assert article.dropped == ("Advertisement",)


def test_a_one_line_text_is_body_titled_by_its_file_name(tmp_path: Path) -> None:
    path = tmp_path / "quick_note-for-today.txt"
    path.write_text("Remember to water the plants before you leave.\n", encoding="utf-8")
    article = read_article(path)
    assert article.title == "Quick note for today"
    assert [b.text for b in article.blocks] == ["Remember to water the plants before you leave."]


def test_markup_looking_text_is_kept_as_text() -> None:
    text = 'Markup\n\nThe page said <speak> and <break time="10s"/> and Tom &amp; Jerry and ]]> at the end.\n'
    (block,) = parse_text(text, source="m.txt").blocks
    assert block.text == 'The page said <speak> and <break time="10s"/> and Tom &amp; Jerry and ]]> at the end.'


# --- inputs that cannot be narrated ----------------------------------------------

BAD_INPUTS = {
    "empty": b"",
    "whitespace-only": b" \n\t\n   \r\n\n",
    "unicode-whitespace-only": "\u00a0\u3000\n\u2003\n".encode(),
    "bom-only": b"\xef\xbb\xbf\n",
    "only-punctuation": "!!! ... ???\n\n--- *** ---\n\n…\n".encode(),
    "binary": bytes(range(256)) * 8,
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
    "non-utf8": "Caf\u00e9 au lait\n\nIl fait tr\u00e8s beau aujourd'hui.\n".encode("latin-1"),
}


@pytest.mark.parametrize("content", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_raises_input_error_naming_the_file(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bad-input.txt"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_article(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_folder_raise_input_error(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.txt", tmp_path):
        with pytest.raises(InputError) as caught:
            read_article(path)
        assert str(path) in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_an_article_or_an_input_error(data: bytes) -> None:
    # Fault injection: whatever the bytes, only NarratorError escapes.
    try:
        article = parse_text(decode_text(data, "fuzz.txt"), source="fuzz.txt")
    except NarratorError:
        return
    assert any(ch.isalnum() for b in article.blocks for ch in b.text) or article.title


words = st.text(alphabet=string.ascii_letters + "äéñ", min_size=1, max_size=9).filter(lambda w: w.lower() != "by")
lines = st.lists(words, min_size=1, max_size=14).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(lines, min_size=1, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_no_words_are_lost_or_invented(paragraphs: list[str], newline: str, bom: bool) -> None:
    text = ("\ufeff" if bom else "") + (newline * 2).join(paragraphs) + newline
    try:
        article = parse_text(decode_text(text.encode("utf-8"), "p.txt"), source="p.txt", fallback_title="")
    except InputError:
        return
    found = [article.title, article.byline, *(b.text for b in article.blocks), *article.dropped]
    assert sorted(" ".join(found).split()) == sorted(" ".join(paragraphs).split())


# --- plain-text conventions, on READMEs that Debian packages install (tests/data/docs/SOURCES.md) ----------

DOCS = TESTS / "data" / "docs"


@pytest.fixture(scope="module")
def ijg() -> Article:
    return read_article(DOCS / "ijg-readme.txt")


def test_an_underlined_title_below_a_note_is_the_title(ijg: Article) -> None:
    assert ijg.title == "The Independent JPEG Group's JPEG software"  # not the file name
    assert ijg.blocks[0].text.startswith("libjpeg-turbo note: This file has been modified")
    assert ijg.marked_headings
    headings = [b.text for b in ijg.blocks if b.kind is BlockKind.HEADING]
    assert headings[:4] == ["DOCUMENTATION ROADMAP", "OVERVIEW", "LEGAL ISSUES", "REFERENCES"]


def test_a_long_first_line_above_an_underline_is_the_title() -> None:
    wizard = read_article(DOCS / "ijg-wizard.txt")
    assert wizard.title == "Advanced usage instructions for the Independent JPEG Group's JPEG software"
    assert next(b.text for b in wizard.blocks if b.kind is BlockKind.HEADING) == "Quantization Table Adjustment"


def test_a_long_first_line_above_a_blank_line_is_the_title() -> None:
    line = "Why fight for Russia? Deaths of North Korean officers in Ukraine raise questions about morale"
    article = parse_text(
        f"{line}\n\nThe deaths of six officers were reported on Monday by the ministry.\n", source="a.txt"
    )
    assert article.title == line


def test_numbered_items_are_items_with_their_numbers(ijg: Article) -> None:
    items = [(b.label, b.text) for b in ijg.blocks if b.kind is BlockKind.ITEM]
    assert items[0] == (
        "1.",
        "1. We don't promise that this software works. (But if you find any bugs, please let us know!)",
    )
    assert [label for label, _ in items[:6]] == ["1.", "2.", "3.", "(1)", "(2)", "(3)"]
    sentences = [s.text for s in segment_article(ijg, rate_wpm=175).sentences()]
    assert "1. We don't promise that this software works." in sentences
    assert not any(s.endswith(") 2.") or s == "1." for s in sentences)


def test_bullets_are_items_without_their_markers() -> None:
    text = "Notes\n\nBring these:\n\n* a torch\n* a map of the\n  coast path\n- a flask of tea\n• gloves\n"
    article = parse_text(text, source="n.txt")
    items = [b.text for b in article.blocks if b.kind is BlockKind.ITEM]
    assert items == ["a torch", "a map of the coast path", "a flask of tea", "gloves"]


def test_a_list_indented_further_than_the_prose_is_items() -> None:
    """A list a tab in was one paragraph, its bullets said ("asterisk Hierarchical storage
    asterisk Lossless JPEG"). The text is libjpeg-turbo's libjpeg.txt."""
    text = (
        "Overview\n\n"
        "A word about functions *not* provided by the library.  We handle a subset of\n"
        "the ISO JPEG standard; most baseline, extended-sequential, and progressive\n"
        "JPEG processes are supported.  (Our subset includes all features now in common\n"
        "use.)  Unsupported ISO options include:\n"
        "\t* Hierarchical storage\n\t* Lossless JPEG\n\t* DNL marker\n\t* Nonintegral subsampling ratios\n"
    )
    article = parse_text(text, source="libjpeg.txt")
    items = [b.text for b in article.blocks if b.kind is BlockKind.ITEM]
    assert items == ["Hierarchical storage", "Lossless JPEG", "DNL marker", "Nonintegral subsampling ratios"]
    xz = read_article(TESTS / "data" / "real" / "xz-utils-README.txt")
    items = [b.text for b in xz.blocks if b.kind is BlockKind.ITEM]
    assert any(item.startswith("Stable: Z is incremented when bugs get fixed") for item in items)
    assert not any(b.text.startswith(("* ", "- ")) for b in xz.blocks)


def test_emphasis_loses_its_markers_and_addresses_stay_whole(ijg: Article) -> None:
    text = (
        "Warnings\n\nThis is *not* a drill, and it is _really_ __important__ and **urgent**.\n\n"
        "See http://www.ijg.org/files/Wallace.JPEG.pdf or ./src/man_db.conf and my_var_name for *.1 pages.\n"
    )
    blocks = [b.text for b in parse_text(text, source="w.txt").blocks]
    assert blocks == [
        "This is not a drill, and it is really important and urgent.",
        "See http://www.ijg.org/files/Wallace.JPEG.pdf or ./src/man_db.conf and my_var_name for *.1 pages.",
    ]
    words = " ".join(b.text for b in ijg.blocks)
    assert "http://www.ijg.org/files/Wallace.JPEG.pdf." in words


def test_tables_are_skipped_and_noted(ijg: Article) -> None:
    words = " ".join(b.text for b in ijg.blocks)
    assert "General description of JPEG and the IJG software" not in words  # the roadmap's table
    assert "Usage instructions for cjpeg" not in words
    assert ijg.skipped == ("a table of 6 lines", "a table of 11 lines")
    assert "This file contains the following sections:" in words


def test_indented_code_and_shell_commands_are_skipped_and_noted() -> None:
    wizard = read_article(DOCS / "ijg-wizard.txt")
    words = " ".join(b.text for b in wizard.blocks)
    assert "16 11 10 16" not in words and "Quantization tables given in Annex K" not in words
    # The comment lines are code, the columns of numbers tables.
    assert wizard.skipped == ("a code block of 2 lines", "a table of 9 lines", "a table of 9 lines")
    libcap = read_article(DOCS / "libcap2-readme-debian.txt")
    words = " ".join(b.text for b in libcap.blocks)
    for command in ("$ ls -l", "chmod 755", "setcap", "rwsr-xr-x", "icmp_seq", "packet loss"):
        assert command not in words
    assert [b.text for b in libcap.blocks][2:5] == [
        "That is not good.",
        "Or use dpkg-statoverride.",
        "That is better but ping fails.",
    ]
    assert libcap.skipped and all(s.startswith("a code block of") for s in libcap.skipped)


PROSE = "The guide explains what each part of the program does and how the parts fit together."


@pytest.mark.parametrize(
    "lines",
    [
        ["Advanced Bash-Scripting Guide"],  # a title page
        ["GNU GENERAL PUBLIC LICENSE", "Version 2, June 1991"],
        ["Little Fly,", "Thy summer's play", "My thoughtless hand"],  # a verse (Blake, "The Fly")
        ["Free Software Foundation", "51 Franklin Street", "Boston, MA 02110-1301"],  # an address
    ],
)
def test_indented_lines_without_a_sign_of_code_are_read(lines: list[str]) -> None:
    """Short lines four spaces in that no sentence ends were all taken for code; a title page, a
    verse or an address is indented so too, but nothing on its lines looks like code."""
    indented = "\n".join(f"    {line}" for line in lines)
    article = parse_text(f"A title\n\n{PROSE}\n\n{indented}\n\n{PROSE}\n", source="a.txt")
    assert [b.text for b in article.blocks] == [PROSE, " ".join(lines), PROSE]
    assert article.skipped == ()


@pytest.mark.parametrize(
    "line",
    [
        "./configure --prefix=/usr",
        "make install",
        "$HOME/bin",
        "~/bin",
        ".../configure --enable-gdbmi",
        "(gdb) thread 2.1",
        "VerifyHostKeyDNS yes",
        "PANGO_GLYPH_EMPTY",
        "/usr/local/man:/usr/share/man",
        "https://web.mit.edu/kerberos/",
        "-> await-request-response",
        "4     VISUALID     visual-id",
    ],
)
def test_indented_commands_paths_and_listings_are_still_code(line: str) -> None:
    article = parse_text(f"A title\n\n{PROSE}\n\n    {line}\n\n{PROSE}\n", source="a.txt")
    assert [b.text for b in article.blocks] == [PROSE, PROSE]
    assert article.skipped == ("a code block of 1 line",)


def test_an_indented_title_page_is_read() -> None:
    """Debian's README for the Advanced Bash-Scripting Guide: its title page, tab-indented,
    was a code block of 4 lines; only the e-mail address is left out now."""
    article = read_article(DOCS / "abs-guide-readme.txt")
    said = " ".join(s.text for s in segment_article(article, rate_wpm=175).sentences())
    for line in ("Advanced Bash-Scripting Guide", "A complete guide to shell scripting, using Bash", "Mendel Cooper"):
        assert line in said
    assert article.skipped == ("a code block of 1 line",)
    assert article.dropped == ("\t\t\tthegrendel@theriver.com".expandtabs(8),)


def test_the_gdb_readme_keeps_its_paragraphs_and_skips_its_commands() -> None:
    """An indented first line right after a code block went with the code ("it goes on with the
    code block just before it"), so GDB's README lost the first line of eight paragraphs (three of them here)."""
    gdb = read_article(DOCS / "gdb-readme.txt")
    assert gdb.title == "README for GDB release"  # indented, and the first line
    texts = [b.text for b in gdb.blocks]
    assert (
        "If you want to typeset and print copies of this manual, you need TeX, a program to print its DVI "
        "output files, and `texinfo.tex', the Texinfo definitions file. This file is included in the GDB "
        "distribution, in the directory `gdb-VERSION/texinfo'." in texts
    )
    assert (
        "If you prefer to have the manual in PDF format, type this from the `gdb/doc' subdirectory of the "
        "main source directory:" in texts
    )
    assert "(Take note of how this differs from the invocation used to actually configure the build tree.)" in texts
    words = " ".join(texts)
    for command in ("cd gdb-VERSION", "make all install", "mkdir build", "cd gdb/doc", "make gdb.pdf", "# RIGHT"):
        assert command not in words
    assert all(s.startswith(("a code block of", "a table of")) for s in gdb.skipped)


def test_a_fenced_block_is_skipped_and_noted() -> None:
    text = "Setup\n\nRun this first:\n\n```\nmake\nmake install\n\nmake check\n```\n\nThen it works.\n"
    article = parse_text(text, source="s.txt")
    assert [b.text for b in article.blocks] == ["Run this first:", "Then it works."]
    assert article.skipped == ("a code block of 4 lines",)


@pytest.mark.parametrize(
    ("line", "byline", "credit", "date"),
    [
        ("Von Jonas Weber", "Jonas Weber", "Von Jonas Weber", ""),
        ("Par Claire Martin — publié le 3 juin 2024", "Claire Martin", "Par Claire Martin", "2024-06-03"),
        ("Published 3 March 2026 · by Lena Park", "Lena Park", "By Lena Park", "2026-03-03"),
        ("By Priya Raman, transport correspondent · 2 October 2026", "Priya Raman", "By Priya Raman", "2026-10-02"),
        ("Jonas Weber, Korrespondent in Berlin", "Jonas Weber", "", ""),
    ],
)
def test_bylines_and_datelines_under_the_title(line: str, byline: str, credit: str, date: str) -> None:
    body = "Die Fähre fährt ab Montag wieder, teilte der Gemeinderat am Dienstag mit. Die Reparatur dauerte länger."
    article = parse_text(f"Fähre fährt wieder\n\n{line}\n\n{body}\n", source="a.txt")
    assert (article.byline, article.credit, article.date) == (byline, credit, date)
    assert [b.text for b in article.blocks] == [body]
