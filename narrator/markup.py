"""Text made safe for the feed and the page: what both renderers share (and nothing else).

Articles carry any characters at all; XML 1.0 cannot carry some of them, and no
reader wants control characters in a title. URLs go out ASCII-only.
"""

from __future__ import annotations

import functools
import html
import re
from urllib.parse import quote

#: Apple's limit for channel and episode descriptions, in bytes of UTF-8.
MAX_DESCRIPTION_BYTES = 4000

# Characters XML 1.0 cannot carry (C0 controls but tab, newline and CR; surrogates;
# U+FFFE/U+FFFF) and the C1 controls and DEL, which no reader wants in a title.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids and without control characters.

    >>> clean_text("A\\x00B\\x1b[0mC\\tD\\u0085")
    'AB[0mC\\tD'
    """
    return _UNWANTED.sub("", text)


@functools.lru_cache(maxsize=1 << 16)
def one_line(text: str) -> str:
    """Clean text on one line, runs of white space as one space.

    >>> one_line("  Tom &\\n Jerry\\x07 ")
    'Tom & Jerry'
    """
    return " ".join(clean_text(text).split())


def ascii_url(url: str) -> str:
    """A URL with anything outside ASCII or unsafe in XML percent-encoded (already-encoded parts kept).

    >>> ascii_url("https://example.com/a b/ä?q=ö")
    'https://example.com/a%20b/%C3%A4?q=%C3%B6'
    """
    return quote(clean_text(url).strip(), safe=":/?#[]@!$&'()*+,;=-._~%")


@functools.lru_cache(maxsize=4096)
def paragraphs_html(text: str) -> str:
    """Plain text as HTML paragraphs, one per blank-line-separated block.

    Cached: the feed's content:encoded and the page's transcript render the same text.

    >>> paragraphs_html("Fish & <chips>\\n\\nSecond\\nline")
    '<p>Fish &amp; &lt;chips&gt;</p><p>Second line</p>'
    """
    blocks = [one_line(block) for block in clean_text(text).split("\n\n")]
    return "".join(f"<p>{html.escape(block, quote=False)}</p>" for block in blocks if block)


def hex_references(xml: bytes) -> bytes:
    """XML with "&" and "<" in text written as hexadecimal character references.

    The same document to any XML reader; but some podcast apps show titles as HTML, and
    the W3C feed validator asks for &#x26; and &#x3C; in plain text, where serialisers
    write &amp; and &lt;.

    >>> hex_references(b"<title>Tom &amp; Jerry &lt;3</title>")
    b'<title>Tom &#x26; Jerry &#x3C;3</title>'
    """
    return xml.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")
