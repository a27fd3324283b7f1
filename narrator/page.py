"""The listening page: OUTPUT/index.html, the show and a player for every episode.

``pipeline.render`` writes it beside feed.xml, so it works on any static host as well
as under ``narrator serve``. Everything it needs is inline (no fonts, scripts or
styles from elsewhere) and every link is relative, so the page keeps working
wherever the folder is copied. The script only enhances: chapter links are
plain ``STEM.mp3#t=SECONDS`` media fragments (W3C Media Fragments URI 1.0,
temporal dimension) that a browser follows without JavaScript. All text from
articles and settings is escaped, so an article about ``<script>`` shows the
characters.

The page stays small and quick with a thousand episodes: no audio is preloaded,
and no transcript is inline. An episode's transcript is built, when it is opened
or the episode played, from the cues of the WebVTT track its player already has
(the cue identifiers PARAGRAPH.SENTENCE.PART give the paragraphs and sentences,
the cue timestamps the words); it then reads along: the word being spoken is
marked and kept in view inside the transcript's own scrolling box, so the page
never jumps, and every sentence is a link that plays from its start.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from .folder import FEED_NAME, PAGE_NAME, Rendered, rendering_key
from .markup import ascii_url, clean_text, one_line, paragraphs_html
from .models import Chapter, EpisodeRecord
from .podcast import PodcastSettings

_STYLE = """
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fdfdfb;--muted:#595959;--accent:#0a58a8;--line:#d6d6d6;--mark:#ffe58a}
@media (prefers-color-scheme:dark){:root{--fg:#ececec;--bg:#141414;--muted:#b0b0b0;--accent:#8cc2ff;--line:#3a3a3a;
--mark:#5c4a00}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:46rem;padding:1rem;color:var(--fg);background:var(--bg);
font:1.0625rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;overflow-wrap:break-word}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-100vw}
.skip:focus{left:1rem;top:1rem;padding:.5rem;background:var(--bg)}
.show{display:flex;flex-wrap:wrap;gap:1rem 1.25rem;align-items:flex-start}
.show>div{flex:1 1 16rem;min-width:0}
.cover{width:10rem;height:10rem;border-radius:.5rem;object-fit:cover}
h1{margin:0 0 .25rem;line-height:1.2}
h3{margin:0 0 .25rem;line-height:1.3}
h4{margin:1rem 0 .25rem;font-size:1rem}
.meta,.author,.files,.source{color:var(--muted)}
.subscribe a{display:inline-block;padding:.5rem .9rem;border-radius:.4rem;background:var(--accent);color:var(--bg);
font-weight:600;text-decoration:none}
.feed label{display:block;font-size:.95rem}
.feed-row{display:flex;gap:.5rem}
.feed input{flex:1;min-width:0;font:inherit;padding:.4rem;color:inherit;background:transparent;
border:1px solid var(--line);border-radius:.3rem}
button{font:inherit;padding:.4rem .8rem}
.episode{border-top:1px solid var(--line);margin-top:1.5rem;padding-top:1rem;
content-visibility:auto;contain-intrinsic-size:auto 32rem}
audio{display:block;width:100%;margin:.5rem 0}
.caption{min-height:3.1em;margin:.25rem 0;font-style:italic;white-space:pre-line}
.chapters ol{margin:0;padding:0;list-style:none}
.chapters a{display:flex;gap:.75rem;padding:.45rem .5rem;text-decoration:none;border-left:3px solid transparent}
.chapters a:hover{text-decoration:underline}
.chapters a[aria-current]{border-left-color:var(--accent);font-weight:700}
.chapters time{min-width:4.5ch;color:var(--muted);font-variant-numeric:tabular-nums}
details{margin:1rem 0}
summary{cursor:pointer;font-weight:600;padding:.3rem 0}
.read{max-height:18rem;overflow-y:auto;padding:0 .5rem;border:1px solid var(--line);border-radius:.3rem}
.read a{color:inherit;text-decoration:none}
.read a:hover{text-decoration:underline}
.read .now{background:var(--mark);color:var(--fg);border-radius:.2rem;box-shadow:0 0 0 2px var(--mark)}
@media (forced-colors:active){.read .now{background:Highlight;color:HighlightText}}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
@media (max-width:32rem){.cover{width:6rem;height:6rem}body{padding:.75rem}}
"""

# Progressive enhancement only: without it the chapter links still open the MP3 at their time,
# and the transcript links to the captions. Nothing runs per episode until one is used (a
# page of a thousand episodes starts at once): the media events are caught on the document.
_SCRIPT = """
"use strict";
(function () {
  var episodes = {};
  var STAMP = /^(?:(\\d+):)?(\\d\\d):(\\d\\d\\.\\d+)$/;
  function startOf(link) {
    var m = /#t=([\\d.]+)$/.exec(link.getAttribute("href") || "");
    return m ? Number(m[1]) : NaN;
  }
  function seconds(stamp) {
    var m = STAMP.exec(stamp.trim());
    return m ? Number(m[1] || 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) : NaN;
  }
  function episodeOf(audio) {
    if (!audio || !audio.id || audio.tagName !== "AUDIO") return null;
    var e = episodes[audio.id];
    if (e) return e;
    var key = audio.id.replace(/-audio$/, "");
    e = episodes[audio.id] = {
      audio: audio, track: audio.querySelector("track"), caption: document.getElementById(key + "-caption"),
      details: document.getElementById(key + "-transcript"),
      links: Array.prototype.slice.call(audio.closest("article").querySelectorAll("nav.chapters a")),
      words: [], times: [], box: null, now: null, frame: 0
    };
    return e;
  }
  // The captions load only when wanted: when the episode plays or its transcript opens.
  function load(e, then) {
    var element = e.track, track = element && element.track;
    if (!track) return;
    if (track.mode === "disabled") {
      track.mode = "hidden";
      track.addEventListener("cuechange", function () { caption(e); });
    }
    if (element.readyState === 2) then(e);
    else element.addEventListener("load", function () { then(e); }, {once: true});
  }
  function caption(e) {
    var cues = e.track.track.activeCues || [], texts = [];
    for (var i = 0; i < cues.length; i++) texts.push(cues[i].getCueAsHTML().textContent);
    if (e.caption) e.caption.textContent = texts.join("\\n");
  }
  // The transcript: a paragraph per PARAGRAPH, a link per SENTENCE, a span per word the cues time.
  function build(e) {
    if (e.box || !e.details) return;
    var cues = e.track.track.cues, box = document.createElement("div"), href = e.audio.querySelector("source");
    var paragraph = null, sentence = null, last = "";
    box.className = "read";
    for (var i = 0; i < cues.length; i++) {
      var cue = cues[i], place = /^(\\d+)\\.(\\d+)\\.\\d+$/.exec(cue.id) || [null, "1", String(i)];
      if (!paragraph || place[1] !== last.split(".")[0]) {
        paragraph = box.appendChild(document.createElement("p"));
        sentence = null;
      }
      if (!sentence || place[1] + "." + place[2] !== last) {
        if (sentence) paragraph.appendChild(document.createTextNode(" "));
        sentence = paragraph.appendChild(document.createElement("a"));
        sentence.href = (href ? href.getAttribute("src") : "") + "#t=" + cue.startTime;
      } else {
        sentence.appendChild(document.createTextNode(" "));
      }
      last = place[1] + "." + place[2];
      var word = span(e, sentence, cue.startTime), nodes = cue.getCueAsHTML().childNodes;
      for (var k = 0; k < nodes.length; k++) {
        var node = nodes[k];
        if (node.nodeType === 7 && node.target === "timestamp") {
          var at = seconds(node.data);
          if (at > e.times[e.times.length - 1]) word = span(e, sentence, at);
        } else {
          word.appendChild(document.createTextNode(node.textContent.replace(/\\n/g, " ")));
        }
      }
    }
    e.details.replaceChild(box, e.details.querySelector(".read"));
    e.box = box;
    follow(e, true);
  }
  function span(e, parent, at) {
    var before = e.words[e.words.length - 1], tail = before && before.lastChild;
    if (tail && tail.nodeType === 3 && /\\s$/.test(tail.data)) {  // the space between words is no word's
      tail.data = tail.data.replace(/\\s+$/, "");
      before.parentNode.insertBefore(document.createTextNode(" "), before.nextSibling);
    }
    var word = parent.appendChild(document.createElement("span"));
    word.setAttribute("data-t", String(at));
    e.words.push(word);
    e.times.push(at);
    return word;
  }
  function follow(e, jump) {
    var now = e.audio.currentTime, links = e.links, current = null;
    links.forEach(function (link) { if (startOf(link) <= now + 0.05) current = link; });
    links.forEach(function (link) {
      if (link === current) link.setAttribute("aria-current", "time"); else link.removeAttribute("aria-current");
    });
    if (!e.box) return;
    var lo = 0, hi = e.times.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (e.times[mid] <= now + 0.01) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    var word = found < 0 ? null : e.words[found];
    if (word === e.now) return;
    var before = e.now, box = e.box;
    if (before) before.classList.remove("now");
    e.now = word;
    if (!word) return;
    word.classList.add("now");
    // Kept in view inside the transcript's own box, so the page never moves; and only while the
    // reader has not scrolled the box elsewhere (the word before was in view).
    var b = box.getBoundingClientRect(), w = word.getBoundingClientRect();
    var seen = function (r) { return r.top >= b.top && r.bottom <= b.bottom; };
    if (!seen(w) && (jump || !before || seen(before.getBoundingClientRect()))) {
      box.scrollTop += w.top - b.top - box.clientHeight / 3;
    }
  }
  function tick(e) {
    e.frame = 0;
    follow(e, false);
    if (!e.audio.paused) e.frame = requestAnimationFrame(function () { tick(e); });
  }
  document.addEventListener("play", function (event) {
    var e = episodeOf(event.target);
    if (!e) return;
    if (e.caption) e.caption.hidden = false;
    load(e, function () { if (e.details && e.details.open) build(e); });
    if (!e.frame) e.frame = requestAnimationFrame(function () { tick(e); });
  }, true);
  ["seeked", "timeupdate", "pause"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var e = episodes[event.target.id];
      if (e && event.target === e.audio) follow(e, type === "seeked");
    }, true);
  });
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.open || !details.classList || !details.classList.contains("transcript")) return;
    var e = episodeOf(details.closest("article").querySelector("audio"));
    if (e) load(e, build);
  }, true);
  document.addEventListener("click", function (event) {
    // A chapter or a sentence: a link to the episode's MP3 at a time (#t=SECONDS) plays it there.
    var link = event.target.closest ? event.target.closest('a[href*="#t="]') : null;
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var article = link.closest("article"), audio = article && article.querySelector("audio");
    if (!audio || isNaN(startOf(link))) return;
    event.preventDefault();
    audio.currentTime = startOf(link);
    var playing = audio.play();
    if (playing && playing.catch) playing.catch(function () {});
  });
  var field = document.getElementById("feed-url"), copy = document.getElementById("copy-feed");
  var status = document.getElementById("copy-status");
  if (field) field.addEventListener("focus", function () { field.select(); });
  if (field && copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(
        function () { status.textContent = "Copied."; },
        function () { field.focus(); }
      );
    });
  }
})();
"""


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


#: Only the page's own script and style may run, whatever an article contains (CSP Level 3 hash sources).
CONTENT_SECURITY_POLICY = (
    f"script-src {_csp_hash(_SCRIPT)}; style-src {_csp_hash(_STYLE)}; object-src 'none'; base-uri 'none'"
)


def escape(text: str) -> str:
    """Text for HTML content or a quoted attribute: control characters dropped, markup escaped.

    >>> escape('<script>alert("x")</script> & \\x07more')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more'
    """
    return html.escape(clean_text(text), quote=True)


def href(name: str) -> str:
    """A relative link to a file in the folder, percent-encoded and escaped for an attribute.

    >>> href("Zoë & co.mp3")
    'Zo%C3%AB%20%26%20co.mp3'
    """
    return escape(quote(name, safe="-._~"))


def format_clock(ms: int) -> str:
    """A time as players show it, rounded down to the second: M:SS, or H:MM:SS from an hour.

    >>> format_clock(17_565), format_clock(227_474), format_clock(3_725_000)
    ('0:17', '3:47', '1:02:05')
    """
    hours, rest = divmod(ms // 1000, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def format_seconds(ms: int) -> str:
    """Milliseconds as decimal seconds without trailing zeros, as media fragments and <time> want them.

    >>> format_seconds(17_565), format_seconds(61_000), format_seconds(500), format_seconds(0)
    ('17.565', '61', '0.5', '0')
    """
    whole, millis = divmod(ms, 1000)
    return f"{whole}.{millis:03d}".rstrip("0").rstrip(".") if millis else str(whole)


def media_fragment(ms: int) -> str:
    """The fragment that opens media at ``ms`` (Media Fragments URI 1.0, temporal, NPT seconds).

    >>> media_fragment(17_565)
    '#t=17.565'
    """
    return f"#t={format_seconds(ms)}"


def html_duration(ms: int) -> str:
    """A valid HTML duration string for <time datetime>, whole seconds.

    >>> html_duration(227_474), html_duration(3_725_000)
    ('PT3M47S', 'PT1H2M5S')
    """
    hours, rest = divmod(ms // 1000, 3600)
    minutes, seconds = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if hours or minutes else "") + f"{seconds}S"


def format_size(size_bytes: int) -> str:
    """A file size for a download link (decimal units, as most systems now show them).

    >>> format_size(1_948_394), format_size(999), format_size(48_000)
    ('1.9 MB', '999 bytes', '48 kB')
    """
    if size_bytes < 1000:
        return f"{size_bytes} bytes"
    if size_bytes < 1_000_000:
        return f"{size_bytes / 1000:.0f} kB"
    return f"{size_bytes / 1_000_000:.1f} MB"


def feed_url_field(feed_url: str) -> str:
    """The field that shows the feed's address to copy (``narrator serve`` finds it to show its own).

    >>> feed_url_field("https://example.com/pod/feed.xml?a=1&b=2")
    '<input id="feed-url" type="url" value="https://example.com/pod/feed.xml?a=1&amp;b=2" readonly>'
    """
    return f'<input id="feed-url" type="url" value="{escape(feed_url)}" readonly>'


def _chapters_html(chapters: Sequence[Chapter], audio_name: str, heading_id: str) -> str:
    audio_href = href(audio_name)
    items = []
    for chapter in chapters:
        start = format_seconds(chapter.start_ms)
        items.append(
            f'<li><a href="{audio_href}{media_fragment(chapter.start_ms)}"><time datetime="PT{start}S">'
            f"{format_clock(chapter.start_ms)}</time> {escape(one_line(chapter.title))}</a></li>"
        )
    return (
        f'<nav class="chapters" aria-labelledby="{heading_id}"><h4 id="{heading_id}">Chapters</h4>'
        f"<ol>{''.join(items)}</ol></nav>"
    )


def _section(record: EpisodeRecord, podcast: PodcastSettings, sections: Rendered[str] | None) -> str:
    if sections is None:
        return _episode_html(record, podcast)
    key = rendering_key(podcast, record)
    section = sections.get(record.id, key)
    if section is None:
        section = _episode_html(record, podcast)
        sections.fresh[record.id] = (key, section)
    return section


def _episode_html(record: EpisodeRecord, podcast: PodcastSettings) -> str:
    key = f"e{record.id}"
    title_id, audio_id = f"{key}-title", f"{key}-audio"
    title = one_line(record.title) or record.stem
    language = record.language or podcast.language
    lang = f' lang="{escape(language)}"' if language != podcast.language else ""
    published = record.published_at
    meta = [
        f'<time datetime="{escape(published.isoformat())}">{published.strftime("%Y-%m-%d")}</time>',
        # Rounded down, as the players show it.
        f'<time datetime="{html_duration(record.duration_ms)}">{format_clock(record.duration_ms)}</time>',
    ]
    if record.author.strip():
        meta.append(f"by {escape(one_line(record.author))}")
    parts = [
        f'<article class="episode" id="{key}" aria-labelledby="{title_id}"{lang}>',
        f'<h3 id="{title_id}">{escape(title)}</h3>',
        f'<p class="meta">{" · ".join(meta)}</p>',
    ]
    if record.image is not None:
        parts.append(f'<img class="cover" src="{href(record.image.name)}" alt="" loading="lazy">')
    if record.description.strip():
        parts.append(f'<p class="summary">{escape(one_line(record.description))}</p>')
    track = ""
    if record.vtt is not None:
        # WebVTT captions, not `default`: the script turns them on when the episode is played or its
        # transcript opened, so a page of many episodes loads none of them before they are wanted.
        track = f'<track kind="captions" src="{href(record.vtt.name)}" srclang="{escape(language)}" label="Captions">'
    parts += [
        # preload="none": a thousand players would otherwise each fetch the start of their MP3.
        f'<audio id="{audio_id}" controls preload="none" aria-labelledby="{title_id}">'
        f'<source src="{href(record.audio.name)}" type="audio/mpeg">{track}'
        f'<a href="{href(record.audio.name)}">Download the episode</a></audio>',
        f'<p class="caption" id="{key}-caption" hidden></p>',
    ]
    if record.chapters:
        parts.append(_chapters_html(record.chapters, record.audio.name, f"{key}-chapters"))
    if record.vtt is not None:
        # Built from the captions' cues when opened; without the script, the captions file itself.
        parts.append(
            f'<details class="transcript" id="{key}-transcript"><summary>Transcript</summary>'
            f'<div class="read"><p>In the captions: <a href="{href(record.vtt.name)}">WebVTT</a>.</p></div></details>'
        )
    elif transcript := paragraphs_html(record.body):
        parts.append(f'<details class="transcript"><summary>Transcript</summary>{transcript}</details>')
    files = [f'<a href="{href(record.audio.name)}" download>MP3, {format_size(record.audio.size_bytes)}</a>']
    if record.vtt is not None:
        files.append(f'<a href="{href(record.vtt.name)}">captions (WebVTT)</a>')
    if record.srt is not None:
        files.append(f'<a href="{href(record.srt.name)}">captions (SRT)</a>')
    if record.chapters_json is not None:
        files.append(f'<a href="{href(record.chapters_json.name)}">chapters (JSON)</a>')
    parts.append(f'<p class="files">Download: {" · ".join(files)}</p>')
    if urlsplit(record.address).scheme.lower() in ("http", "https"):  # never a javascript: link
        url = escape(ascii_url(record.address))
        parts.append(f'<p class="source">Source: <a href="{url}" rel="nofollow noopener">{url}</a></p>')
    parts.append("</article>")
    return "\n".join(parts)


#: How many episodes a page lists: index.html the newest, each archive page (``archive_plan``) as
#: many of the older ones, counted from the first episode, so a full archive page never changes.
PAGE_EPISODES = 100


@dataclass(frozen=True, slots=True)
class ArchivePage:
    """One page of older episodes, as ``archive_plan`` lays them out."""

    number: int
    """Counted from 1, the page of the podcast's first episodes."""
    episodes: tuple[int, ...]
    """Its episodes' ids, oldest first."""
    first: int
    """The place of its oldest episode among all, counted from 1 (the podcast's first episode)."""
    older: str
    """The page of the episodes before these ("" for the first page)."""
    newer: str
    """The page of the episodes after these: the next archive page, or index.html."""

    @property
    def name(self) -> str:
        return archive_name(self.number)

    @property
    def last(self) -> int:
        return self.first + len(self.episodes) - 1


def archive_name(number: int) -> str:
    """The file name of archive page ``number``.

    >>> archive_name(3)
    'episodes-3.html'
    """
    return f"episodes-{number}.html"


def archive_plan(ids: Sequence[int], per_page: int = PAGE_EPISODES) -> tuple[ArchivePage, ...]:
    """The archive pages for a podcast whose episodes are ``ids``, oldest first: every episode that
    index.html (the newest ``per_page``) does not list, ``per_page`` to a page from the first episode.

    A new episode moves one from index.html to the last archive page, so only that page changes.

    >>> [(p.name, p.episodes, p.older, p.newer) for p in archive_plan(range(1, 8), per_page=3)]
    [('episodes-1.html', (1, 2, 3), '', 'episodes-2.html'), ('episodes-2.html', (4,), 'episodes-1.html', 'index.html')]
    """
    older = list(ids)[: max(0, len(ids) - per_page)]
    count = -(-len(older) // per_page)
    return tuple(
        ArchivePage(
            number=n,
            episodes=tuple(older[(n - 1) * per_page : n * per_page]),
            first=(n - 1) * per_page + 1,
            older=archive_name(n - 1) if n > 1 else "",
            newer=archive_name(n + 1) if n < count else PAGE_NAME,
        )
        for n in range(1, count + 1)
    )


def _pages_nav(older: str, newer: str) -> str:
    """Links to the pages of older and newer episodes (rel=prev/next: the archive reads oldest first)."""
    links = []
    if newer:
        label = "Newest episodes" if newer == PAGE_NAME else "Newer episodes"
        links.append(f'<a href="{href(newer)}" rel="next">{label}</a>')
    if older:
        links.append(f'<a href="{href(older)}" rel="prev">Older episodes</a>')
    if not links:
        return ""
    return f'<nav class="pages" aria-label="More episodes"><p>{" · ".join(links)}</p></nav>\n'


def render_page(
    podcast: PodcastSettings,
    episodes: Sequence[EpisodeRecord],
    *,
    cover_name: str,
    sections: Rendered[str] | None = None,
    older: str = "",
) -> str:
    """index.html for ``podcast`` and ``episodes`` (in the order given, newest first), as text.

    ``cover_name`` is the podcast's cover in the folder. Pure: the same arguments
    give the same page. With ``sections``, an episode's section rendered before
    from the same things is used again (1,000 episodes: 0.4 s to render, 0.1 s
    to reuse), and what is rendered is added to ``sections.fresh``. ``older`` is
    the archive page of the episodes before these, when there is one.
    """
    title = one_line(podcast.title)
    description = paragraphs_html(podcast.description)
    author = f'<p class="author">by {escape(one_line(podcast.author))}</p>' if podcast.author.strip() else ""
    body = "\n".join(_section(record, podcast, sections) for record in episodes) or "<p>No episodes yet.</p>"
    header = f"""<header class="show">
<img class="cover" src="{href(cover_name)}" alt="" width="160" height="160">
<div>
<h1>{escape(title)}</h1>
{author}
<div class="description">{description}</div>
<p class="subscribe"><a href="{href(FEED_NAME)}" type="application/rss+xml">Subscribe: podcast feed (RSS)</a></p>
<div class="feed"><label for="feed-url">Feed address for your podcast app</label>
<div class="feed-row">{feed_url_field(podcast.feed_url)}
<button type="button" id="copy-feed" hidden>Copy</button></div>
<p id="copy-status" class="visually-hidden" role="status"></p></div>
</div>
</header>"""
    return _document(
        podcast,
        title=title,
        description=one_line(podcast.description),
        header=header,
        heading="Episodes",
        body=body + ("\n" + _pages_nav(older, "").rstrip("\n") if older else ""),
    )


def render_archive_page(
    podcast: PodcastSettings,
    page: ArchivePage,
    episodes: Sequence[EpisodeRecord],
    *,
    cover_name: str,
    sections: Rendered[str] | None = None,
) -> str:
    """An archive page: ``page``'s episodes (their records, in ``page.episodes``' order), newest first, with
    links to the pages of older and newer episodes and back to index.html. Pure, as ``render_page``."""
    title = one_line(podcast.title)
    span = f"Episodes {page.first}–{page.last}" if page.last > page.first else f"Episode {page.first}"
    body = "\n".join(_section(record, podcast, sections) for record in reversed(episodes))
    header = f"""<header class="show">
<img class="cover" src="{href(cover_name)}" alt="" width="160" height="160">
<div>
<h1>{escape(title)}</h1>
<p class="subscribe"><a href="{href(PAGE_NAME)}">The newest episodes</a> ·
<a href="{href(FEED_NAME)}" type="application/rss+xml">podcast feed (RSS)</a></p>
</div>
</header>"""
    nav = _pages_nav(page.older, page.newer)
    return _document(
        podcast,
        title=f"{title}: {span.lower()}",
        description=f"{span} of {title}, the oldest counted first.",
        header=header,
        heading=f"{span}, the oldest counted first",
        body=nav + body + "\n" + nav.rstrip("\n"),
    )


def _document(podcast: PodcastSettings, *, title: str, description: str, header: str, heading: str, body: str) -> str:
    """The page around its episodes: head, policy, style, the header, the list, the script."""
    return f"""<!doctype html>
<html lang="{escape(podcast.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<title>{escape(title)}</title>
<meta name="description" content="{escape(description)}">
<meta name="generator" content="narrator">
<link rel="alternate" type="application/rss+xml" title="{escape(one_line(podcast.title))}" href="{href(FEED_NAME)}">
<link rel="icon" href="data:,">
<style>{_STYLE}</style>
</head>
<body>
<a class="skip" href="#episodes">Skip to the episodes</a>
{header}
<main id="episodes">
<h2>{escape(heading)}</h2>
{body}
</main>
<script>{_SCRIPT}</script>
</body>
</html>
"""
