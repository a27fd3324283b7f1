"""Reading Markdown, saved web pages, web addresses, standard input and folders.

Each input in tests/data/inputs is pinned by a hand-checked NAME.json beside it:
what is read (title, byline, date, language, blocks) and what is left out. The
tests below then check the rules one by one, and narrate each kind of input with
the real engine.
"""

from __future__ import annotations

import http.server
import io
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from narrator.cli import main
from narrator.errors import ExitStatus, InputError
from narrator.models import Article, BlockKind
from narrator.readers import InputFormat, find_inputs, read, read_input, read_url, sniff_format
from narrator.readers.html import page_language, parse_html
from narrator.readers.markdown import parse_front_matter, parse_markdown
from narrator.readers.text import parse_text
from narrator.segment import segment_article

INPUTS_DIR = Path(__file__).parent / "data" / "inputs"
INPUTS = sorted(p for p in INPUTS_DIR.iterdir() if p.suffix != ".json")
MARKDOWN = INPUTS_DIR / "field-guide.md"
NEWS_PAGE = INPUTS_DIR / "harbour-news-page.html"
FRENCH_PAGE = INPUTS_DIR / "velo-lyon-fr.html"
GERMAN_TEXT = INPUTS_DIR / "bahn-takt-de.txt"


def as_golden(article: Article) -> dict[str, object]:
    return {
        "title": article.title,
        "byline": article.byline,
        "date": article.date,
        "language": article.language,
        "blocks": [[block.kind.value, block.text] for block in article.blocks],
        "dropped": list(article.dropped),
    }


def every_word(article: Article) -> str:
    """Everything that will be narrated or shown, in one string."""
    return "\n".join([article.title, article.byline, *(block.text for block in article.blocks)])


@pytest.mark.parametrize("path", INPUTS, ids=[p.name for p in INPUTS])
def test_inputs_match_their_golden_files(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert as_golden(read_input(path)) == expected


# --- Markdown ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guide() -> Article:
    return read_input(MARKDOWN)


def test_markdown_title_byline_and_front_matter(guide: Article) -> None:
    assert guide.title == "A field guide to recording birdsong"  # the first # heading, emphasis unsaid
    assert guide.byline == "Sam Okoro"
    assert guide.date == "2024-05-02"
    assert guide.language == "en"
    assert "by Sam Okoro" not in every_word(guide)
    assert "guides" not in every_word(guide) and "2024-05-02" not in every_word(guide)


def test_markdown_headings_become_chapters(guide: Article) -> None:
    headings = [b.text for b in guide.blocks if b.kind is BlockKind.HEADING]
    assert headings == ["Choosing a microphone", "Settings that matter", "Setext headings count as well"]
    # An h4 is read, but starts no chapter.
    assert ["paragraph", "A smaller heading"] in as_golden(guide)["blocks"]  # type: ignore[operator]
    # Long sections are split further, into chapters of about ten seconds titled by their first words.
    chapters = [c.title for c in segment_article(guide, rate_wpm=175).chapters]
    assert chapters[0] == "A field guide to recording birdsong"
    assert [title for title in chapters if title in headings] == headings


@pytest.mark.parametrize(
    "markup",
    ["#", "**", "__", "~~", "`", "|", "---", "](", "![", "[^", "<div", "<abbr", "&amp;", "- a", "* a", "> "],
)
def test_markdown_markup_is_never_read(guide: Article, markup: str) -> None:
    assert markup not in every_word(guide)


@pytest.mark.parametrize(
    "left_out",
    [
        "https://example.org/kit",  # a link's target
        "https://example.org/notes",  # a reference link's target
        "Kit list",  # a link's title
        "images/robin.jpg",
        "luck",  # struck out
        "dawn-chorus.wav",  # a fenced code block
        "print(",  # an indented code block
        "raw HTML block",
        "last updated in May",  # a footnote
        "Build status",  # a row of badges
        "Digital Signal Processing",  # an HTML attribute
        "mailto:",
    ],
)
def test_markdown_drops_what_is_not_prose(guide: Article, left_out: str) -> None:
    assert left_out not in every_word(guide)


def test_markdown_code_and_footnotes_are_listed_as_dropped(guide: Article) -> None:
    assert "rec --rate 48000 --bits 24 dawn-chorus.wav" in guide.dropped
    assert "The equipment list was last updated in May." in guide.dropped


def test_markdown_links_read_as_their_text_and_images_as_captions(guide: Article) -> None:
    words = every_word(guide)
    assert "walks through the equipment you need" in words
    assert "Read the field notes before you go, and look for the sign at the gate." in words
    assert "Send questions to sam@example.org or visit https://example.org/birdsong." in words  # autolinks
    captions = [b.text for b in guide.blocks if b.kind is BlockKind.CAPTION]
    assert captions == ["A robin singing on a fence post at first light", "a painted wooden owl on a gate post"]


def test_markdown_list_items_are_items_with_their_numbers_and_table_rows_are_paragraphs(guide: Article) -> None:
    items = [(b.label, b.text) for b in guide.blocks if b.kind is BlockKind.ITEM]
    assert items == [
        ("", "a small shotgun microphone,"),
        ("", "a foam windshield, and"),
        ("1.", "1. a spare battery"),  # an ordered list's numbers stay in the captions
        ("2.", "2. a second memory card"),
        ("", "a pair of closed headphones."),
    ]
    sentences = [s.text for s in segment_article(guide, rate_wpm=175).sentences()]
    assert "1. a spare battery" in sentences and "1." not in sentences
    paragraphs = [b.text for b in guide.blocks if b.kind is BlockKind.PARAGRAPH]
    first = paragraphs.index("Setting, Value")
    assert paragraphs[first : first + 3] == ["Setting, Value", "Sample rate, 48 kHz", "Bit depth, 24 bits"]


def test_markdown_captions_are_announced_and_shown_as_written(guide: Article) -> None:
    script = segment_article(guide, rate_wpm=175)
    robin = next(s for s in script.sentences() if s.text.startswith("A robin"))
    assert robin.chunks == ("Image caption: A robin singing on a fence post at first light",)


def test_markdown_front_matter_title_when_there_is_no_h1() -> None:
    text = (
        "---\ntitle: 'Notes from the marsh'\nauthors:\n  - Ana Lima\n  - Tom Ellis\nlanguage: pt-br\n---\n\nSome text."
    )
    article = parse_markdown(text, source="notes.md")
    assert (article.title, article.byline, article.language) == (
        "Notes from the marsh",
        "Ana Lima and Tom Ellis",
        "pt-BR",
    )


def test_markdown_without_title_uses_the_file_name() -> None:
    article = parse_markdown("## Only a section\n\nWords here.", source="x.md", fallback_title="Marsh notes")
    assert article.title == "Marsh notes"
    assert article.blocks[0].kind is BlockKind.HEADING


def test_markdown_a_paragraph_starting_with_by_is_not_a_byline() -> None:
    article = parse_markdown("# Storm\n\nBy the end of the day, the river had burst its banks.", source="x.md")
    assert article.byline == ""
    assert article.blocks[0].text.startswith("By the end of the day")


def test_markdown_with_only_code_has_nothing_to_narrate() -> None:
    with pytest.raises(InputError, match="no words to narrate"):
        parse_markdown("```\nprint(1)\n```\n", source="code.md")


def test_front_matter_fields() -> None:
    assert parse_front_matter("author: Sam\nAuthor: Someone else") == {"author": "Sam"}
    assert parse_front_matter("by: [A, B]\nlocale: fr_FR\ntitle:") == {"author": "A and B", "lang": "fr_FR"}


# --- saved web pages ---------------------------------------------------------------------

#: Page chrome in the saved news page: none of it may be read.
NEWS_CHROME = [
    "cookies",
    "Accept all",
    "Skip to main content",
    "Subscribe",
    "Search the Courier",
    "Advertisement",
    "sofas from",
    "summer cruise",
    "Related stories",
    "Bus fares",
    "Bridge repairs",
    "Share on",
    "Copy link",
    "Transport correspondent",
    "Topics",
    "Comments",
    "SeaDog77",
    "taxpayer",
    "Most read",
    "Council approves",
    "Lifeboat",
    "morning briefing",
    "Sign up",
    "All rights reserved",
    "Privacy policy",
    "The Coastal Courier",
    "logo",
    "dataLayer",
    "position:fixed",
]


@pytest.fixture(scope="module")
def news() -> Article:
    return read_input(NEWS_PAGE)


@pytest.mark.parametrize("chrome", NEWS_CHROME)
def test_news_page_chrome_is_never_read(news: Article, chrome: str) -> None:
    assert chrome.lower() not in every_word(news).lower()


def test_news_page_metadata(news: Article) -> None:
    assert news.title == "Harbour ferry to run on batteries from spring"  # not the <title>'s "| The Coastal Courier"
    assert news.byline == "Priya Raman"
    assert news.date == "2024-03-14"
    assert news.language == "en-GB"


def test_news_page_headings_start_chapters_and_the_headline_is_not_repeated(news: Article) -> None:
    headings = [b.text for b in news.blocks if b.kind is BlockKind.HEADING]
    assert headings == ["Quieter and cleaner", "What passengers need to know", "Accessibility"]
    assert news.title not in [b.text for b in news.blocks]
    titles = [c.title for c in segment_article(news, rate_wpm=175).chapters]
    assert [t for t in titles if t in headings] == headings


def test_news_page_figure_caption_is_read_without_its_credit(news: Article) -> None:
    # A page's caption is kept without its credit: captions files and speech alike.
    (caption,) = [b for b in news.blocks if b.kind is BlockKind.CAPTION]
    assert caption.text == "The new ferry during sea trials in the estuary last month"
    sentence = next(s for s in segment_article(news, rate_wpm=175).sentences() if s.text == caption.text)
    assert sentence.chunks == ("Image caption: The new ferry during sea trials in the estuary last month",)


#: (caption, as it is said, whether a line of plain text is seen as a caption: by a credit in brackets
#: with an English word for it, "(Image: KCNA)").
CAPTIONS = [
    ("Troops on parade in Pyongyang (Image: KCNA)", "Troops on parade in Pyongyang", True),
    ("The ferry leaves the harbour at dawn (Photo: Jane Roe/AFP)", "The ferry leaves the harbour at dawn", True),
    (
        "Children pose for a picture by the fountain (Photo: Reuters)",
        "Children pose for a picture by the fountain",
        True,
    ),
    ("Die Fähre im Hafen von Kiel am Morgen (Bild: Stadt Kiel)", "Die Fähre im Hafen von Kiel am Morgen", False),
    (
        "Rishi Sunak speaks in Downing Street. Photograph: Stefan Rousseau/PA",
        "Rishi Sunak speaks in Downing Street.",
        False,
    ),
]


def _said_captions(article: Article) -> list[str]:
    return [c for s in segment_article(article, rate_wpm=175).sentences() for c in s.chunks if "Image caption" in c]


@pytest.mark.parametrize(("caption", "said", "in_plain_text"), CAPTIONS)
def test_every_reader_says_a_caption_without_its_credit_alike(caption: str, said: str, in_plain_text: bool) -> None:
    """One rule (``base.strip_credit``) for a page's figcaption, a Markdown image's alt text and a
    caption line of plain text."""
    body = "The harbour ferry will run again from Monday, the council said on Tuesday evening."
    more = "Repairs to the landing stage took longer than planned because of the storms in March."
    said_as = [f"Image caption: {said}"]
    html = (
        f'<!DOCTYPE html><html lang="en"><head><title>Ferry</title></head><body><article><h1>Ferry</h1>'
        f"<p>{body} {more}</p><figure><img src='a.jpg'><figcaption>{caption}</figcaption></figure>"
        f"<p>{more} {body}</p></article></body></html>"
    )
    assert _said_captions(parse_html(html.encode(), source="p.html")) == said_as
    markdown = f"# Ferry\n\n{body}\n\n![{caption}](a.jpg)\n\n{more}\n"
    assert _said_captions(parse_markdown(markdown, source="a.md")) == said_as
    text = f"Ferry\n\n{body}\n\n{caption}\n\n{more}\n"
    assert _said_captions(parse_text(text, source="a.txt")) == (said_as if in_plain_text else [])


def test_news_page_keeps_the_standfirst_and_every_paragraph(news: Article) -> None:
    words = every_word(news)
    assert news.blocks[0].text == "The crossing will be the first in the region served by an electric ferry."
    assert "“I won’t miss it.”" in words
    assert "space for two wheelchairs" in words


def test_french_page_language_byline_line_and_lists() -> None:
    article = read_input(FRENCH_PAGE)
    assert article.language == "fr-FR"
    assert article.byline == "Claire Martin"
    assert "Par Claire Martin — publié le 3 juin 2024" in article.dropped
    assert (article.credit, article.date) == ("Par Claire Martin", "2024-06-03")
    words = every_word(article)
    for chrome in ("cookies", "Publicité", "Soldes", "À lire aussi", "métro B", "Commentaires", "garent", "Partager"):
        assert chrome not in words
    assert "la hausse du prix des carburants ;" in [b.text for b in article.blocks]


def _page(body: str, head: str = "", html_attrs: str = "") -> bytes:
    return f"<!doctype html><html{html_attrs}><head>{head}</head><body>{body}</body></html>".encode()


@pytest.mark.parametrize(
    ("html_attrs", "head", "expected"),
    [
        (' lang="de-at"', "", "de-AT"),
        (' xml:lang="nl"', "", "nl"),
        ("", '<meta http-equiv="Content-Language" content="es, en">', "es"),
        ("", '<meta property="og:locale" content="pt_BR">', "pt-BR"),
        (' lang="x-default"', "", ""),
        ("", "", ""),
    ],
)
def test_page_language(html_attrs: str, head: str, expected: str) -> None:
    import trafilatura

    assert page_language(trafilatura.load_html(_page("<p>x</p>", head, html_attrs))) == expected


def test_alt_text_is_read_when_it_describes_and_skipped_when_it_labels() -> None:
    # A figure without a figcaption is read as its alt text; a bare image's alt text is not read (on the
    # test pages of bench/extract_f1.py they are mostly labels and file names: "02 trump court 110623").
    body = (
        "<article><h1>Birds</h1><p>Swifts are back in the old town, and they are screaming over the roofs again.</p>"
        '<figure><img src="a.jpg" alt="Swifts circling the church tower at dusk"></figure>'
        "<p>Most of them nest under the eaves of the old houses around the square, the volunteers said.</p>"
        '<figure><img src="b.jpg" alt="photo"></figure><p>They stay until August, when they fly south.</p>'
        '<p><img src="c.jpg" alt="Swifts over the market"></p><p>The count is repeated every summer.</p></article>'
    )
    captions = [b.text for b in parse_html(_page(body), source="p.html").blocks if b.kind is BlockKind.CAPTION]
    assert captions == ["Swifts circling the church tower at dusk"]


def test_code_in_a_page_is_not_read() -> None:
    body = (
        "<article><h1>Shell tips</h1><p>Use the loop below to rename every file in a folder at once.</p>"
        "<pre><code>for f in *.txt; do mv $f ${f%.txt}.md; done</code></pre><p>It works in bash and zsh.</p></article>"
    )
    words = every_word(parse_html(_page(body), source="p.html"))
    assert "mv $f" not in words and "It works in bash and zsh." in words


@pytest.mark.parametrize(
    "body",
    [
        '<nav><a href="/">Home</a> <a href="/news">News</a></nav><footer>© 2024 Example</footer>',
        "<header><h1>Site</h1></header><form><input><button>Search</button></form>",
        "",
    ],
    ids=["menus", "form", "empty body"],
)
def test_a_page_without_an_article_is_an_error(body: str) -> None:
    with pytest.raises(InputError, match="no article text"):
        parse_html(_page(body), source="p.html")


def test_a_page_re_saved_with_new_adverts_is_the_same_article() -> None:
    page = NEWS_PAGE.read_text(encoding="utf-8")
    changed = page.replace("sofas from £299", "beds from £499").replace("Comments (3)", "Comments (4)")
    a, b = parse_html(page, source="a.html"), parse_html(changed, source="a.html")
    assert a.text_hash == b.text_hash


def test_a_latin1_page_is_decoded_by_its_meta_charset() -> None:
    body = "<article><h1>Café</h1><p>Die Stadt hat viele Cafés, und sie sind am Sonntag alle voll.</p></article>"
    data = _page(body, '<meta charset="iso-8859-1">').decode().encode("latin-1")
    assert (
        parse_html(data, source="p.html").blocks[0].text
        == "Die Stadt hat viele Cafés, und sie sind am Sonntag alle voll."
    )


# --- choosing the reader -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<!DOCTYPE html>\n<html><body><p>x</p></body></html>", InputFormat.HTML),
        (b"\xef\xbb\xbf  <html lang=fr><p>x</p>", InputFormat.HTML),
        (b"<!-- saved -->\n<html>", InputFormat.HTML),
        (b"---\ntitle: x\n---\nText", InputFormat.MARKDOWN),
        (b"Intro\n\n## Part one\n\nText", InputFormat.MARKDOWN),
        (b"Title\n=====\n\nText", InputFormat.MARKDOWN),
        (b"See [the report](https://example.org/r) for more.", InputFormat.MARKDOWN),
        (b"Title\n\nThe #1 hit of 1999 was 5 < 6.\n\nBody text.", InputFormat.TEXT),
        (b"Plain title\n\nPlain text, <b>with</b> a tag in it.", InputFormat.TEXT),
    ],
)
def test_sniff_format(data: bytes, expected: InputFormat) -> None:
    assert sniff_format(data) is expected


def test_the_ending_chooses_the_reader_and_format_overrides_it(tmp_path: Path) -> None:
    text = "# Heading\n\nSome **bold** words here."
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "a.unknown").write_text(text, encoding="utf-8")
    assert read_input(tmp_path / "a.md").title == "Heading"
    assert read_input(tmp_path / "a.unknown").title == "Heading"  # sniffed
    assert read_input(tmp_path / "a.txt").title == "# Heading"  # a .txt is plain text
    assert read_input(tmp_path / "a.md", fmt=InputFormat.TEXT).title == "# Heading"
    assert read_input(tmp_path / "a.txt", fmt=InputFormat.MARKDOWN).title == "Heading"


def test_plain_text_declares_no_language_and_the_pipeline_detects_it() -> None:
    assert read_input(GERMAN_TEXT).language == ""
    assert read(GERMAN_TEXT).language == "de"
    assert read(GERMAN_TEXT, language="fr").language == "fr"  # --language wins
    assert read(NEWS_PAGE).language == "en-GB"  # the page says so


def test_stdin_is_read_and_sniffed() -> None:
    article = read_input("-", stdin=io.BytesIO(MARKDOWN.read_bytes()))
    assert article.source == "-"
    assert article.title == "A field guide to recording birdsong"
    article = read_input("-", stdin=io.BytesIO(b"Just one line of text."))
    assert article.title == "Untitled article"


def test_empty_stdin_is_an_error() -> None:
    with pytest.raises(InputError, match="empty"):
        read_input("-", stdin=io.BytesIO(b"  \n"))


def test_find_inputs_in_name_order_with_the_rest_reported(tmp_path: Path) -> None:
    for name in ("b.md", "a.txt", "c.HTML", "d.htm", "photo.jpg", "notes.docx", ".hidden.md", "lexicon.toml"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.md").write_text("x", encoding="utf-8")
    readable, skipped = find_inputs(tmp_path)
    assert [p.name for p in readable] == ["a.txt", "b.md", "c.HTML", "d.htm"]
    assert [p.name for p in skipped] == ["lexicon.toml", "notes.docx", "photo.jpg"]


# --- web addresses, from a local server ----------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, str, bytes]]] = {
        "/news/harbour-ferry.html": (200, "text/html; charset=utf-8", NEWS_PAGE.read_bytes()),
        "/latin1.html": (
            200,
            "text/html; charset=iso-8859-1",
            "<html><body><article><h1>Caf\u00e9s</h1><p>Die Stadt hat viele Caf\u00e9s, und alle sind voll.</p>"
            "</article></body></html>".encode("latin-1"),
        ),
        "/notes.txt": (200, "text/plain; charset=utf-8", GERMAN_TEXT.read_bytes()),
        "/photo.png": (200, "image/png", b"\x89PNG\r\n\x1a\n"),
        "/menus.html": (200, "text/html", _page('<nav><a href="/">Home</a> <a href="/a">News</a></nav>')),
        "/gone.html": (410, "text/html", b"<html><body><p>Gone</p></body></html>"),
        "/accepted.html": (202, "text/html", NEWS_PAGE.read_bytes()),
    }

    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/news/harbour-ferry.html")
            self.end_headers()
            return
        status, mime, body = self.routes.get(self.path, (404, "text/html", b"<html><body>Not here</body></html>"))
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A local port with nothing listening: connections to it are refused at once, as when offline."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_url_is_read_as_a_saved_page(site: str) -> None:
    url = f"{site}/news/harbour-ferry.html"
    article = read_input(url)
    assert article.source == url
    assert as_golden(article)["blocks"] == as_golden(read_input(NEWS_PAGE))["blocks"]
    assert article.language == "en-GB"


def test_url_redirect_is_followed_and_the_server_charset_is_used(site: str) -> None:
    assert read_input(f"{site}/moved").title == "Harbour ferry to run on batteries from spring"
    assert "Cafés" in read_input(f"{site}/latin1.html").blocks[0].text


def test_a_text_url_is_read_with_format(site: str) -> None:
    assert read_url(f"{site}/notes.txt", fmt=InputFormat.TEXT).title == "Mehr Züge zwischen Hamburg und Berlin"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing.html", "the server answered HTTP 404 Not Found"),
        ("/gone.html", "the server answered HTTP 410 Gone"),
        ("/accepted.html", "the server answered HTTP 202, not a page (200)"),
        ("/photo.png", "is image/png, not a web page"),
        ("/notes.txt", "is text/plain, not a web page (--format text or --format markdown reads it)"),
        ("/menus.html", "has no article text to narrate"),
    ],
)
def test_url_errors_are_one_clear_line(site: str, path: str, message: str, runner: CliRunner, tmp_path: Path) -> None:
    url = f"{site}{path}"
    with pytest.raises(InputError) as caught:
        read_input(url)
    assert str(caught.value) == f"{url}: {message}"
    result = runner.invoke(main, ["narrate", url, "-o", str(tmp_path / "out")])
    assert result.exit_code == ExitStatus.BAD_INPUT, result.output
    assert result.output == f"narrator: error: {url}: {message}\n"
    assert not (tmp_path / "out").exists()


def test_offline_is_one_clear_line(closed_port: int, runner: CliRunner, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port}/story.html"
    result = runner.invoke(main, ["narrate", url, "-o", str(tmp_path / "out")])
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"narrator: error: {url}: cannot be fetched (")
    assert "check the address and that you are online" in result.output


# --- the command line ---------------------------------------------------------------------------


def test_a_folder_with_nothing_to_read_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "photo.jpg").write_bytes(b"\xff\xd8")
    result = runner.invoke(main, ["narrate", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.output == (
        f"narrator: error: {tmp_path / 'in'}: folder has no articles to read"
        " (looked for .txt, .md or .html files; 1 other file(s) there)\n"
    )


def test_stdin_can_be_read_only_once(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["narrate", "-", "-", "-o", str(tmp_path / "out")], input="Hello there.")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "standard input can be read only once" in result.output


def test_an_unknown_format_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["narrate", str(MARKDOWN), "--format", "pdf", "-o", str(tmp_path)])
    assert result.exit_code == ExitStatus.USAGE


def test_a_bad_input_in_a_folder_is_one_line_and_the_others_are_narrated(runner: CliRunner, tmp_path: Path) -> None:
    """As cp and rsync do: each bad article is said, the others narrated, and the exit status is not 0.
    (Until issue 11 a bad input stopped the run before anything was written.)"""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.md").write_text("# Fine\n\nSome words to read.", encoding="utf-8")
    (folder / "b.html").write_text("<html><body><nav>Home</nav></body></html>", encoding="utf-8")
    (folder / "c.txt").write_text("Also fine\n\nMore words to read.", encoding="utf-8")
    result = runner.invoke(main, ["narrate", str(folder), "-o", str(tmp_path / "out"), "--engine", "tone"])
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr == f"narrator: error: {folder / 'b.html'}: has no article text to narrate\n"
    assert [Path(line.split()[0]).name for line in result.stdout.splitlines()] == ["a.mp3", "c.mp3"]
    assert (tmp_path / "out" / "a.mp3").exists() and (tmp_path / "out" / "c.mp3").exists()


# --- narrated with the real engine ---------------------------------------------------------------


@pytest.fixture(scope="module")
def narrated_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The inputs folder (Markdown, two saved pages, German text) plus a stray file, narrated in one run."""
    folder = tmp_path_factory.mktemp("inputs")
    for path in INPUTS:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "cover-photo.jpg").write_bytes(b"\xff\xd8\xff")
    out = tmp_path_factory.mktemp("podcast")
    cache = tmp_path_factory.mktemp("cache")
    result = CliRunner().invoke(main, ["narrate", str(folder), "-o", str(out), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    return out, result.output


def _vtt_texts(path: Path) -> list[str]:
    import webvtt

    return [caption.text for caption in webvtt.read(str(path))]


def _chapter_titles(path: Path) -> list[str]:
    return [chapter["title"] for chapter in json.loads(path.read_text(encoding="utf-8"))["chapters"]]


def test_folder_is_narrated_one_episode_per_article_in_name_order(narrated_folder: tuple[Path, str]) -> None:
    out, output = narrated_folder
    lines = [line for line in output.splitlines() if line.endswith("LUFS")]
    assert [Path(line.split()[0]).parent for line in lines] == [out] * len(INPUTS)
    assert [Path(line.split()[0]).name for line in lines] == [f"{p.stem}.mp3" for p in INPUTS]
    assert "skipping" in output and "cover-photo.jpg" in output


def test_markdown_episode_has_its_headings_as_chapters(narrated_folder: tuple[Path, str], probe_chapters) -> None:  # type: ignore[no-untyped-def]
    out, _ = narrated_folder
    mp3 = out / "field-guide.mp3"
    titles = [title for _start, _end, title in probe_chapters(mp3)]
    headings = ["Choosing a microphone", "Settings that matter", "Setext headings count as well"]
    assert titles[0] == "A field guide to recording birdsong"
    assert [title for title in titles if title in headings] == headings
    assert _chapter_titles(out / "field-guide.chapters.json") == titles
    captions = "\n".join(_vtt_texts(out / "field-guide.vtt"))
    for markup in ("**", "`", "|", "](", "#", "dawn-chorus.wav", "luck"):
        assert markup not in captions


def test_news_page_episode_has_none_of_the_page_chrome(narrated_folder: tuple[Path, str]) -> None:
    out, _ = narrated_folder
    captions = "\n".join(_vtt_texts(out / "harbour-news-page.vtt")).lower()
    for chrome in NEWS_CHROME:
        assert chrome.lower() not in captions
    assert "quieter and cleaner" in captions
    assert _chapter_titles(out / "harbour-news-page.chapters.json")[-3:] == [
        "Quieter and cleaner",
        "What passengers need to know",
        "Accessibility",
    ]


def test_episodes_carry_their_languages(narrated_folder: tuple[Path, str]) -> None:
    from mutagen.id3 import ID3

    out, _ = narrated_folder
    expected = {"field-guide": "eng", "harbour-news-page": "eng", "velo-lyon-fr": "fra", "bahn-takt-de": "deu"}
    assert {stem: ID3(out / f"{stem}.mp3")["TLAN"].text[0] for stem in expected} == expected


def test_stdin_is_narrated(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = "Night trains return\n\nThe night train to the coast runs again from Friday. Tickets are on sale now."
    result = runner.invoke(main, ["narrate", "-", "-o", str(out), "--no-cache"], input=text)
    assert result.exit_code == 0, result.output
    assert (out / "night-trains-return.mp3").exists()  # named after the title
    assert _vtt_texts(out / "night-trains-return.vtt")[0] == "Night trains return"
    again = runner.invoke(main, ["narrate", "-", "-o", str(out), "--no-cache"], input=text)
    assert again.output.rstrip().endswith("unchanged")  # told apart by its text, not its name


def test_url_is_narrated(site: str, runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(main, ["narrate", f"{site}/news/harbour-ferry.html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    mp3 = out / "harbour-ferry-to-run-on-batteries-from-spring.mp3"
    assert mp3.exists()
    listed = json.loads(runner.invoke(main, ["episodes", "-o", str(out), "--json"]).output)
    assert listed[0]["language"] == "en-GB"


# --- bylines, datelines, list items and notes of what was skipped --------------------------------------

DOCS = Path(__file__).parent / "data" / "docs"


def test_markdown_dateline_gives_the_date_and_the_author() -> None:
    dateline = "*Published 3 March 2026* · by **Lena Park**"
    text = f"# Night trains return\n\n{dateline}\n\nThe night train runs again from Friday."
    article = parse_markdown(text, source="n.md")
    assert (article.byline, article.credit, article.date) == ("Lena Park", "By Lena Park", "2026-03-03")
    assert [b.text for b in article.blocks] == ["The night train runs again from Friday."]


def test_markdown_byline_in_the_articles_language() -> None:
    article = read(
        _write_md("# Nachtzüge\n\nVon Jonas Weber\n\nDer Nachtzug fährt ab Freitag wieder nach Wien und Zürich.")
    )
    assert (article.byline, article.credit, article.language) == ("Jonas Weber", "Von Jonas Weber", "de")
    opening = segment_article(article, rate_wpm=175).chapters[0].paragraphs[0].sentences
    assert [s.text for s in opening] == ["Nachtzüge", "Von Jonas Weber"]


def test_a_name_printed_alone_is_credited_in_the_articles_language(tmp_path: Path) -> None:
    path = tmp_path / "fahre.txt"
    body = "Die Fähre fährt ab Montag wieder, teilte der Gemeinderat am Dienstag mit. Die Reparatur dauerte länger."
    path.write_text(f"Fähre fährt wieder\n\nJonas Weber\n\n{body}\n", encoding="utf-8")
    article = read(path)
    assert (article.byline, article.credit) == ("Jonas Weber", "Von Jonas Weber")
    assert read(path, language="en").credit == "By Jonas Weber"


def _write_md(text: str) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "article.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_man_db_readme_list_items_stay_whole() -> None:
    article = read_input(DOCS / "man-db-readme.md")
    items = [b.text for b in article.blocks if b.kind is BlockKind.ITEM]
    assert "Edit ./src/man_db.conf to your local requirements." in items
    assert "Run ./configure --help to see what --enable and --with options may be useful." in items
    assert not any(b.text == "Edit ." for b in article.blocks)


@pytest.mark.skipif(not Path("/usr/share/doc/espeak-ng/README.md.gz").exists(), reason="installed by espeak-ng")
def test_espeak_markdown_readme_keeps_its_list(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "README.md"
    path.write_bytes(gzip.decompress(Path("/usr/share/doc/espeak-ng/README.md.gz").read_bytes()))
    article = read_input(path)
    items = [b.text for b in article.blocks if b.kind is BlockKind.ITEM]
    assert "Written in C." in items and len(items) >= 8
    assert article.skipped and all(s.startswith("a code block of") for s in article.skipped)


def test_the_captions_file_notes_what_was_not_read(runner: CliRunner, tmp_path: Path) -> None:
    import webvtt

    out = tmp_path / "out"
    result = runner.invoke(
        main, ["narrate", str(DOCS / "libcap2-readme-debian.txt"), "-o", str(out), "--engine", "tone"]
    )
    assert result.exit_code == 0, result.output
    vtt = (out / "libcap2-readme-debian.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\nNOTE Not read: a code block of 3 lines\n\n")
    captions = [c.text for c in webvtt.read(str(out / "libcap2-readme-debian.vtt"))]
    assert "That is not good." in captions and not any("$ ls" in c for c in captions)
