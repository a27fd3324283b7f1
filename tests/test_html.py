"""Saved web pages: the failures measured on real pages, each as a small page, and the espeak-ng docs.

The espeak-ng HTML documentation is what the espeak-ng Debian package installs (narrator's setup
installs that package); the F1 on real news pages is measured by bench/extract_f1.py, not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.errors import InputError
from narrator.models import Article, BlockKind
from narrator.readers import read
from narrator.readers.html import _Builder, _squash, caption_text, choose_title, parse_html
from narrator.segment import segment_article

ESPEAK_DOCS = Path("/usr/share/doc/espeak-ng")
needs_espeak_docs = pytest.mark.skipif(
    not (ESPEAK_DOCS / "README.html").exists(), reason="apt-get install espeak-ng installs its HTML docs"
)
ENGLISH = (
    "The harbour ferry will run again from Monday, the council said on Tuesday evening. "
    "Repairs to the landing stage took longer than planned because of the storms in March. "
    "Passengers can buy tickets on board or at the kiosk beside the car park."
)
#: Different paragraphs: trafilatura reads a repeated paragraph once.
MORE = [
    "The first crossing leaves at seven in the morning and the last one returns at nine at night.",
    "A new timetable for the summer months will be published on the council's website in May.",
    "Cyclists travel free of charge, and dogs are welcome on the open deck if kept on a lead.",
    "The operator thanked residents for their patience while the work on the pier went on.",
]


def page(body: str, *, lang: str = "en", title: str = "Ferry returns", head: str = "") -> bytes:
    html = f'<!DOCTYPE html><html lang="{lang}"><head><title>{title}</title>{head}</head><body>{body}</body></html>'
    return html.encode()


def article(paragraphs: str, h1: str = "Ferry returns") -> str:
    return f"<article><h1>{h1}</h1>{paragraphs}</article>"


def texts(found: Article, kind: BlockKind | None = None) -> list[str]:
    return [b.text for b in found.blocks if kind is None or b.kind is kind]


def test_japanese_prose_is_an_article() -> None:
    text = (
        "東京都は十二日、新しい防災計画を発表した。大きな地震に備えて、避難所の数を増やす。"
        "計画では、すべての区に備蓄倉庫を置くことも決めた。都の担当者は「早く準備を進めたい」と話した。"
    )
    more = "港の連絡船は月曜日から運航を再開する。桟橋の修理は三月の嵐のために予定より長くかかった。"
    found = parse_html(
        page(article(f"<p>{text}</p><p>{more}</p>", h1="防災計画"), lang="ja", title="防災計画"), source="p"
    )
    assert found.language == "ja"
    assert texts(found) == [text, more]


def test_a_page_inside_one_form_is_read() -> None:
    body = f'<form id="aspnetForm" action="/x"><div class="content">{article(f"<p>{ENGLISH}</p>")}</div></form>'
    assert texts(parse_html(page(body), source="p")) == [ENGLISH]


def test_an_article_inside_an_aside_is_read() -> None:
    found = parse_html(
        page(f"<aside class='content'>{article(f'<p>{ENGLISH}</p><p>{MORE[0]}</p>')}</aside>"), source="p"
    )
    assert texts(found) == [ENGLISH, MORE[0]]


def test_a_menu_page_still_has_no_article() -> None:
    menu = "<nav><ul>" + "".join(f"<li><a href='/{i}'>Section {i}</a></li>" for i in range(9)) + "</ul></nav>"
    with pytest.raises(InputError, match="no article text"):
        parse_html(page(menu), source="p")


def test_declared_language_gives_way_to_the_text_before_it_picks_the_voice() -> None:
    english_in_german = page(article(f"<p>{ENGLISH}</p><p>{MORE[0]}</p>"), lang="de")
    assert parse_html(english_in_german, source="p").language == "en"
    assert parse_html(page(article(f"<p>{ENGLISH}</p><p>{MORE[0]}</p>"), lang="en-GB"), source="p").language == "en-GB"
    german = "Die Fähre fährt ab Montag wieder, teilte der Gemeinderat am Dienstagabend mit. " * 3
    assert parse_html(page(article(f"<p>{german}</p>"), lang="de-AT"), source="p").language == "de-AT"


def test_title_site_suffix_is_dropped_and_the_title_read_once() -> None:
    found = parse_html(page(article(f"<p>{ENGLISH}</p>"), title="Ferry returns - The Harbour Gazette"), source="p")
    assert found.title == "Ferry returns"
    script = segment_article(found, rate_wpm=175)
    assert [s.text for s in script.sentences()].count("Ferry returns") == 1


def test_title_choice() -> None:
    assert choose_title(["Storm hits coast - Daily Bugle"], ["Storm hits coast"], "") == "Storm hits coast"
    assert choose_title(["短缺药品保供稳价-新华网"], ["短缺药品保供稳价"], "") == "短缺药品保供稳价"


def test_br_separated_lines_are_separate_paragraphs() -> None:
    lines = [f"Line {i} of the notice says something about the ferry timetable." for i in range(12)]
    found = parse_html(page(article(f"<p>{ENGLISH}</p><p>{'<br>'.join(lines)}</p>")), source="p")
    assert texts(found)[1:] == lines
    assert max(len(s.text) for s in segment_article(found, rate_wpm=175).sentences()) < 200


def test_labels_and_credits_are_not_captions() -> None:
    body = article(
        f"<p>{ENGLISH}</p>"
        '<figure><img src="a.jpg" alt="print header logo"></figure>'
        f"<p>{MORE[0]}</p>"
        '<figure><img src="b.jpg"><figcaption>Photo: Reuters/John Doe</figcaption></figure>'
        f"<p>{MORE[1]}</p>"
        '<figure><img src="c.jpg"><figcaption>(c) Getty Images</figcaption></figure>'
        f"<p>{MORE[2]}</p>"
        '<figure><img src="d.jpg"><figcaption>The ferry leaves the harbour at dawn. '
        "Photo: Jane Roe/AFP</figcaption></figure>"
        f"<p>{MORE[3]}</p>"
    )
    found = parse_html(page(body), source="p")
    assert texts(found, BlockKind.CAPTION) == ["The ferry leaves the harbour at dawn."]


@pytest.mark.parametrize(
    ("caption", "said"),
    [
        ("Justices pose for a photo. Olivier Douliery/AFP/Getty Images", "Justices pose for a photo."),
        (
            "AP reporters met the chief in Rome. He praised them.",
            "AP reporters met the chief in Rome. He praised them.",
        ),
        ("Getty Images/AFP", ""),
        ("IMG_2041.jpg", ""),
        ("The harbour at night. Credit: Jane Doe for The New York Times", "The harbour at night."),
        # "by", "copyright", "resources" inside the description are no credit (they cut it to "Children pose for a")
        ("Children pose for a picture by the fountain", "Children pose for a picture by the fountain"),
        ("A copyright lawyer speaks outside the court", "A copyright lawyer speaks outside the court"),
        (
            "Resources: the library's reading room and its archive",
            "Resources: the library's reading room and its archive",
        ),
        ("Volunteers at work. (Photo by Jane Doe/Getty Images)", "Volunteers at work."),
    ],
)
def test_caption_credits(caption: str, said: str) -> None:
    assert caption_text(caption) == said


@pytest.mark.parametrize("junk", ["...", "__________", "’", "\u2060\u2060"])
def test_nothing_unsayable_is_a_block(junk: str) -> None:
    found = parse_html(page(article(f"<p>{ENGLISH}</p><p>{junk}</p><p>{MORE[0]}</p>")), source="p")
    assert texts(found) == [ENGLISH, MORE[0]]


def test_related_links_list_is_not_read() -> None:
    related = "<h2>Related stories</h2><ul>" + "".join(
        f"<li><a href='/s{i}'>Another story number {i} about boats</a></li>" for i in range(4)
    )
    found = parse_html(page(article(f"<p>{ENGLISH}</p><p>{MORE[0]}</p>{related}</ul>")), source="p")
    assert all("Another story" not in text and text != "Related stories" for text in texts(found))


def test_numbered_list_items_keep_their_numbers_and_code_is_noted() -> None:
    steps = "".join(f"<li>{text}</li>" for text in MORE[:3])
    code = "<pre><code>sudo apt-get install ferry\nferry --timetable\n</code></pre>"
    found = parse_html(page(article(f"<p>{ENGLISH}</p><ol>{steps}</ol>{code}<p>{MORE[3]}</p>")), source="p")
    items = [(b.label, b.text) for b in found.blocks if b.kind is BlockKind.ITEM]
    assert items == [(f"{i}.", f"{i}. {text}") for i, text in enumerate(MORE[:3], 1)]
    assert found.skipped == ("a code block of 2 lines",)
    assert "apt-get" not in " ".join(texts(found))


def _linked_as_the_rule_says(text: str, links: set[str]) -> bool:
    """The rule of ``_Builder.linked``, written the slow way: every link asked about every block."""
    said = _squash(text)
    if not said or said in links:
        return bool(said)
    if len(said) > 200:
        return False
    return sum(len(link) for link in links if len(link) >= 4 and link in said) >= 0.7 * len(said)


@settings(max_examples=300, deadline=None)
@given(st.sets(st.text(alphabet="abcd ", min_size=1, max_size=9), max_size=12), st.text(alphabet="abcd .", max_size=40))
def test_a_block_is_linked_when_links_texts_make_most_of_it(links: set[str], text: str) -> None:
    squashed = {s for s in map(_squash, links) if s}
    assert _Builder(squashed).linked(text) == _linked_as_the_rule_says(text, squashed)


class _CountingSet(set[str]):
    """A set that counts the elements its iterations hand out."""

    handed = 0

    def __iter__(self) -> Iterator[str]:
        for item in super().__iter__():
            self.handed += 1
            yield item


def test_blocks_are_not_each_compared_with_every_link_on_the_page() -> None:
    """nodejs's all.html (8.4 MB: 20,000 blocks, 5,500 link texts) spent 7 to 9 s deciding which
    blocks are links' text, each block asking every link whether it was inside it; under 1 s now.
    The work is counted, not timed."""
    links = _CountingSet(f"{word}{i:04}" for i in range(3000) for word in ("fsreadfile", "buffer"))
    builder = _Builder(links)
    blocks = [f"See buffer{i:04} and fsreadfile{i:04} for the details of stream number {i}." for i in range(500)]
    assert not any(builder.linked(text) for text in blocks)
    assert builder.linked("buffer0007, fsreadfile0007")
    assert links.handed <= len(links)  # the links indexed once; 3 million handed out before


# --- bylines -----------------------------------------------------------------------------------


def test_a_byline_in_the_articles_language_is_said_as_printed() -> None:
    german = (
        "Die Fähre zwischen Altstadt und Nordkai fährt ab Montag wieder, teilte der Gemeinderat mit. "
        "Die Reparatur des Anlegers hatte wegen der Stürme im März länger gedauert als geplant."
    )
    body = article(f"<p>Von Jonas Weber</p><p>{german}</p><p>{german.replace('Montag', 'Dienstag')}</p>", h1="Fähre")
    found = read(_saved(body, lang="de", title="Fähre"))
    assert (found.byline, found.credit, found.language) == ("Jonas Weber", "Von Jonas Weber", "de")
    opening = segment_article(found, rate_wpm=175).chapters[0].paragraphs[0].sentences
    assert [s.text for s in opening] == ["Fähre", "Von Jonas Weber"]


def test_the_author_is_kept_when_a_role_and_a_date_follow() -> None:
    byline = '<p class="byline">By Priya Raman, transport correspondent · 2 October 2026</p>'
    found = parse_html(
        page(f"<article><h1>Ferry returns</h1>{byline}<p>{ENGLISH}</p><p>{MORE[0]}</p></article>"), source="p"
    )
    assert (found.byline, found.credit, found.date) == ("Priya Raman", "By Priya Raman", "2026-10-02")
    assert texts(found) == [ENGLISH, MORE[0]]


def _saved(body: str, **kwargs: str) -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    path = folder / "page.html"
    path.write_bytes(page(body, **kwargs))
    return path


# --- the espeak-ng documentation, as Debian installs it ------------------------------------------------


@needs_espeak_docs
def test_espeak_readme_keeps_its_chapters_and_its_list() -> None:
    found = parse_html((ESPEAK_DOCS / "README.html").read_bytes(), source="README.html")
    assert found.title == "eSpeak NG Text-to-Speech"
    assert {"Features", "Documentation", "eSpeak Compatibility", "History"} <= set(texts(found, BlockKind.HEADING))
    items = texts(found, BlockKind.ITEM)
    assert "Written in C." in items and len(items) >= 8
    chapters = [c.title for c in segment_article(found, rate_wpm=175).chapters]
    assert {"Features", "Documentation", "eSpeak Compatibility", "History"} <= set(chapters)


@needs_espeak_docs
@pytest.mark.parametrize("name", ["building", "voices", "phonemes", "markup", "mbrola"])
def test_espeak_docs_keep_their_headings(name: str) -> None:
    import re

    path = ESPEAK_DOCS / "docs" / f"{name}.html"
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    html = path.read_text(encoding="utf-8")
    in_source = [re.sub(r"<[^>]+>|\s+", " ", h).strip() for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", html, re.S)]
    found = texts(parse_html(html, source=path.name), BlockKind.HEADING)
    assert in_source and len(found) >= 0.9 * len(in_source)
