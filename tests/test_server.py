"""narrator serve, started for real on an ephemeral port and asked over real HTTP.

The podcast folder is a copy of the narrated seed (conftest's ``seed_episode``)
with hostile neighbours added: private files, temporary files, a folder, and
symbolic links that lead out of the folder or into its library. Requests are
made with http.client, which sends the path exactly as written (httpx and
browsers would remove the ".." first).
"""

from __future__ import annotations

import email.utils
import http.client
import io
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import podcastparser
import pytest
from click.testing import CliRunner
from lxml import etree

from narrator.cli import main
from narrator.feed import PODCAST_NS, render_feed
from narrator.library import open_library
from narrator.page import feed_url_field
from narrator.podcast import DEFAULT_BASE_URL, PodcastSettings, validate
from narrator.server import feed_base_url, rebase_feed

#: Time-box for the server to start or stop; generous, the machine is shared. Not an assertion on speed.
START_TIMEOUT_S = 60
SECRET = b"top secret, outside the podcast folder\n"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


@dataclass
class Server:
    """A `narrator serve` subprocess and what it printed when it started."""

    process: subprocess.Popen[str]
    feed_url: str
    """The first line on stdout: the address to subscribe to."""
    page_url: str
    """http://127.0.0.1:PORT/, from the line on stderr."""
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return urlsplit(self.page_url).port or 80

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=START_TIMEOUT_S)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> Reply:
        return self.request("GET", path, {k.replace("_", "-"): v for k, v in headers.items()})

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        """Ctrl-C (or ``sig``), then wait; returns the exit status and everything it wrote on stderr."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Read through the text stream: part of stderr may already be in its buffer.
        err = self.process.stderr.read() if self.process.stderr else ""
        return self.process.returncode, "".join(self.stderr_lines) + err


def _read_line(stream: io.TextIOBase, process: subprocess.Popen[str]) -> str:
    ready, _, _ = select.select([stream], [], [], START_TIMEOUT_S)
    if not ready:
        process.kill()
        raise AssertionError(f"narrator serve printed nothing within {START_TIMEOUT_S} s")
    return stream.readline()


def start_server(folder: Path, *args: str) -> Server:
    """Start `narrator serve FOLDER --port 0 ARGS` and wait until it prints its addresses."""
    command = [sys.executable, "-m", "narrator", "serve", str(folder), "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    feed_url = _read_line(process.stdout, process).strip()  # type: ignore[arg-type]
    if not feed_url:
        process.wait(timeout=START_TIMEOUT_S)
        raise AssertionError(f"narrator serve did not start: {process.stderr.read()}")
    first = _read_line(process.stderr, process)  # type: ignore[arg-type]
    found = re.search(r" at (http://\S+/) ", first)
    assert found, first
    return Server(process, feed_url, found.group(1), [first])


def make_hostile_folder(seed_dir: Path, tmp: Path) -> Path:
    """A copy of a podcast folder with private files and traps beside the published ones."""
    folder = tmp / "podcast"
    shutil.copytree(seed_dir, folder, symlinks=True)
    (tmp / "secret.txt").write_bytes(SECRET)
    (tmp / "secret.mp3").write_bytes(SECRET)
    (folder / ".tmp-4242-abc").mkdir()
    (folder / ".tmp-4242-abc" / "episode.mp3").write_bytes(SECRET)
    (folder / ".tmp-xyz").write_bytes(SECRET)
    (folder / ".hidden.mp3").write_bytes(SECRET)
    (folder / "notes.txt").write_bytes(SECRET)
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.mp3").write_bytes(SECRET)
    (folder / "outside.mp3").symlink_to(tmp / "secret.mp3")
    (folder / "relative-outside.mp3").symlink_to(Path("..") / "secret.mp3")
    (folder / "library.mp3").symlink_to(folder / ".narrator" / "library.sqlite")
    (folder / "settings.vtt").symlink_to(folder / "podcast.toml")
    (folder / "root").symlink_to("/")
    return folder


@dataclass(frozen=True)
class Podcast:
    folder: Path
    stem: str

    def file(self, suffix: str) -> Path:
        return self.folder / f"{self.stem}{suffix}"


@pytest.fixture(scope="module")
def podcast(seed_episode, tmp_path_factory: pytest.TempPathFactory) -> Podcast:  # type: ignore[no-untyped-def]
    folder = make_hostile_folder(seed_episode.output_dir, tmp_path_factory.mktemp("served"))
    (folder / "alias.mp3").symlink_to(folder / f"{seed_episode.stem}.mp3")  # inside, to a published file
    return Podcast(folder, seed_episode.stem)


@pytest.fixture(scope="module")
def server(podcast: Podcast) -> Iterator[Server]:
    """The folder as podcast.toml leaves it (the default base URL), served on another port."""
    running = start_server(podcast.folder)
    yield running
    status, err = running.stop()
    assert status == 0, err


@pytest.fixture(scope="module")
def as_published(podcast: Podcast) -> Iterator[Server]:
    """The same folder served with the base URL it was written for: feed.xml is served as it is on disk."""
    running = start_server(podcast.folder, "--base-url", DEFAULT_BASE_URL)
    yield running
    running.stop()


# -- what a podcast app does --------------------------------------------------------------------------------


def test_an_app_subscribes_and_downloads_every_episode_byte_identical(server: Server, podcast: Podcast) -> None:
    assert server.feed_url == server.page_url + "feed.xml"
    feed = server.get(urlsplit(server.feed_url).path)
    assert feed.status == 200
    parsed = podcastparser.parse(server.feed_url, io.BytesIO(feed.body))
    assert parsed["episodes"]
    for episode in parsed["episodes"]:
        for enclosure in episode["enclosures"]:
            url = urlsplit(enclosure["url"])
            assert f"{url.scheme}://{url.netloc}/" == server.page_url, "the enclosure must lead to this server"
            download = server.get(url.path)
            local = podcast.folder / url.path.lstrip("/")
            assert download.status == 200
            assert download.body == local.read_bytes()
            assert enclosure["file_size"] == len(download.body) == int(download.header("Content-Length"))
            assert enclosure["mime_type"] == download.header("Content-Type") == "audio/mpeg"


def test_the_feeds_captions_chapters_and_cover_are_all_here(server: Server, podcast: Podcast) -> None:
    root = etree.fromstring(server.get("/feed.xml").body)
    urls = [el.get("url") for el in root.iter(f"{{{PODCAST_NS}}}transcript", f"{{{PODCAST_NS}}}chapters")]
    urls += [el.text for el in root.iter("url")]
    assert len(urls) == 4
    for url in urls:
        assert url and url.startswith(server.page_url)
        reply = server.get(urlsplit(url).path)
        assert reply.status == 200, url
        assert reply.body == (podcast.folder / urlsplit(url).path.lstrip("/")).read_bytes()


def test_the_folder_is_not_written_when_the_feed_is_served_for_another_address(
    server: Server, podcast: Podcast, seed_episode
) -> None:  # type: ignore[no-untyped-def]
    served = server.get("/feed.xml").body
    on_disk = (podcast.folder / "feed.xml").read_bytes()
    assert on_disk == (seed_episode.output_dir / "feed.xml").read_bytes()
    assert DEFAULT_BASE_URL.encode() in on_disk and DEFAULT_BASE_URL.encode() not in served
    assert server.page_url.encode() in served
    # The podcast:guid stays the folder's own.
    guid = etree.fromstring(on_disk).find(f".//{{{PODCAST_NS}}}guid")
    assert guid is not None and guid.text and guid.text.encode() in served


def test_with_its_own_base_url_the_feed_and_page_are_served_as_they_are_on_disk(
    as_published: Server, podcast: Podcast
) -> None:
    assert as_published.feed_url == DEFAULT_BASE_URL + "feed.xml"
    assert as_published.get("/feed.xml").body == (podcast.folder / "feed.xml").read_bytes()
    assert as_published.get("/").body == (podcast.folder / "index.html").read_bytes()
    assert "for this run" not in "".join(as_published.stderr_lines)


def test_base_url_overrides_the_feed_and_the_page_for_this_run(podcast: Podcast) -> None:
    running = start_server(podcast.folder, "--base-url", "https://cdn.example.org/pod")
    try:
        assert running.feed_url == "https://cdn.example.org/pod/feed.xml"
        feed = running.get("/feed.xml").body
        assert b'url="https://cdn.example.org/pod/' in feed and DEFAULT_BASE_URL.encode() not in feed
        page = running.get("/").body.decode()
        assert 'value="https://cdn.example.org/pod/feed.xml"' in page
        old, new = feed_url_field(DEFAULT_BASE_URL + "feed.xml"), feed_url_field(running.feed_url)
        assert page.replace(new, old) == (podcast.folder / "index.html").read_text(encoding="utf-8")
    finally:
        status, err = running.stop()
    assert status == 0, err
    assert f"feed.xml was written for {DEFAULT_BASE_URL}" in err


def test_a_served_feed_follows_changes_to_the_folder(tmp_path: Path, seed_episode) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "podcast"
    shutil.copytree(seed_episode.output_dir, folder)
    running = start_server(folder)
    try:
        before = running.get("/feed.xml")
        assert b"<title>Narrated articles</title>" in before.body
        result = CliRunner().invoke(main, ["feed", "-o", str(folder), "--title", "Renamed <show>"])
        assert result.exit_code == 0, result.output
        after = running.get("/feed.xml")
        assert b"<title>Renamed &#x3C;show&gt;</title>" in after.body
        assert running.page_url.encode() in after.body
        assert after.header("ETag") != before.header("ETag")
        assert "<h1>Renamed &lt;show&gt;</h1>" in running.get("/").body.decode()
    finally:
        running.stop()


@pytest.mark.parametrize("link", ["", "https://example.com/blog/"])
def test_moving_a_feed_changes_its_links_and_nothing_else(seed_episode, link: str) -> None:  # type: ignore[no-untyped-def]
    with open_library(seed_episode.output_dir, create=False) as library:
        episodes = library.episodes()

    def render(base_url: str) -> bytes:
        show = validate(PodcastSettings(title="Tom & <Jerry> ]]>", base_url=base_url, link=link))
        when = datetime(2026, 11, 27, tzinfo=UTC)
        return render_feed(
            show, episodes, cover_name="cover.jpg", guid="4a1c9f3e-0000-5000-8000-000000000000", build_date=when
        )

    here, there = render("http://localhost:8000/"), render("https://cdn.example.org/pod/")
    assert feed_base_url(here) == "http://localhost:8000/"
    assert rebase_feed(here, "http://localhost:8000/", "https://cdn.example.org/pod/") == there
    assert rebase_feed(here, "http://localhost:8000/", "http://localhost:8000/") == here


# -- types ------------------------------------------------------------------------------------------------------

TYPES = {
    "feed.xml": "application/rss+xml; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
    "/": "text/html; charset=utf-8",
    "cover.jpg": "image/jpeg",
    "{stem}.mp3": "audio/mpeg",
    "{stem}.vtt": "text/vtt; charset=utf-8",
    "{stem}.srt": "application/x-subrip; charset=utf-8",
    "{stem}.chapters.json": "application/json+chapters",
    "alias.mp3": "audio/mpeg",
}


@pytest.mark.parametrize(("name", "mime"), TYPES.items(), ids=list(TYPES))
def test_every_published_file_has_its_type(server: Server, podcast: Podcast, name: str, mime: str) -> None:
    path = "/" + name.format(stem=podcast.stem).lstrip("/")
    for method in ("GET", "HEAD"):
        reply = server.request(method, path)
        assert reply.status == 200, (method, path)
        assert reply.header("Content-Type") == mime
        assert reply.header("X-Content-Type-Options") == "nosniff"


def test_a_symbolic_link_to_a_published_file_serves_that_file(server: Server, podcast: Podcast) -> None:
    assert server.get("/alias.mp3").body == podcast.file(".mp3").read_bytes()


# -- byte ranges (RFC 9110 section 14) --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mp3(podcast: Podcast) -> tuple[str, bytes]:
    return f"/{podcast.stem}.mp3", podcast.file(".mp3").read_bytes()


def test_a_whole_file_says_ranges_are_accepted(server: Server, mp3: tuple[str, bytes]) -> None:
    path, data = mp3
    reply = server.get(path)
    assert reply.status == 200 and reply.body == data
    assert reply.header("Accept-Ranges") == "bytes"
    assert int(reply.header("Content-Length")) == len(data)


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [("0-99", 0, 100), ("1000-", 1000, None), ("-500", -500, None), ("5-5", 5, 6), ("0-999999999", 0, None)],
)
def test_a_range_is_answered_with_206_and_exactly_those_bytes(
    server: Server, mp3: tuple[str, bytes], spec: str, start: int, end: int | None
) -> None:
    path, data = mp3
    expected = data[start:end]
    first = start if start >= 0 else len(data) + start
    reply = server.get(path, Range=f"bytes={spec}")
    assert reply.status == 206
    assert reply.body == expected
    assert reply.header("Content-Range") == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    assert int(reply.header("Content-Length")) == len(expected)
    assert reply.header("Content-Type") == "audio/mpeg"


@pytest.mark.parametrize("spec", ["{size}-", "{size}-{more}", "-0"])
def test_a_range_past_the_end_is_416(server: Server, mp3: tuple[str, bytes], spec: str) -> None:
    path, data = mp3
    reply = server.get(path, Range="bytes=" + spec.format(size=len(data), more=len(data) + 10))
    assert reply.status == 416
    assert reply.header("Content-Range") == f"bytes */{len(data)}"


@pytest.mark.parametrize("spec", ["items=0-10", "seconds=1-2", "frames"])
def test_a_range_in_a_unit_the_server_does_not_know_is_ignored(
    server: Server, mp3: tuple[str, bytes], spec: str
) -> None:
    """RFC 9110, 14.2: an origin server ignores a Range header with a unit it does not understand."""
    name, data = mp3
    reply = server.get(name, Range=spec)
    assert reply.status == 200 and reply.body == data
    assert not reply.header("Content-Range")


@pytest.mark.parametrize("path", ["/", "/no-such-file.mp3", "/.narrator/library.sqlite", "/podcast.toml"])
def test_the_page_and_every_error_say_no_sniffing_and_no_framing(server: Server, path: str) -> None:
    reply = server.get(path)
    assert reply.header("X-Content-Type-Options") == "nosniff"
    policy = reply.header("Content-Security-Policy")
    assert "frame-ancestors 'none'" in policy
    if path == "/":
        page = reply.body.decode()
        meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
        assert meta and policy == f"{meta.group(1)}; frame-ancestors 'none'", "the page's own policy, as a header too"
    else:
        assert reply.status == 404 and policy.startswith("default-src 'none'")


def test_an_mp3_opened_in_a_browser_tab_is_not_stopped_by_a_policy(server: Server, mp3: tuple[str, bytes]) -> None:
    """A browser plays an MP3 it is sent to in a document of its own; a page's policy there would stop it."""
    assert not server.get(mp3[0]).header("Content-Security-Policy")


def test_several_ranges_come_as_multipart_byteranges(server: Server, mp3: tuple[str, bytes]) -> None:
    path, data = mp3
    reply = server.get(path, Range="bytes=0-9,1000-1019")
    assert reply.status == 206
    kind = reply.header("Content-Type")
    assert kind.startswith("multipart/byteranges; boundary=")
    boundary = kind.split("boundary=", 1)[1].encode()
    parts = [p for p in reply.body.split(b"--" + boundary) if p.strip(b"-\r\n")]
    assert len(parts) == 2
    for part, (first, last) in zip(parts, [(0, 9), (1000, 1019)], strict=True):
        head, body = part.split(b"\r\n\r\n", 1)
        assert f"Content-Range: bytes {first}-{last}/{len(data)}".encode() in head
        assert body.removesuffix(b"\r\n") == data[first : last + 1]
    assert int(reply.header("Content-Length")) == len(reply.body)


def test_if_range_with_the_current_etag_gives_the_range_and_a_stale_one_the_whole_file(
    server: Server, mp3: tuple[str, bytes]
) -> None:
    path, data = mp3
    etag = server.request("HEAD", path).header("ETag")
    assert etag.startswith('"')
    assert server.get(path, Range="bytes=0-9", If_Range=etag).status == 206
    stale = server.get(path, Range="bytes=0-9", If_Range='"not-the-etag"')
    assert stale.status == 200 and stale.body == data


# -- HEAD and conditional requests -----------------------------------------------------------------------------


def test_head_gives_the_headers_of_get_without_the_body(server: Server, mp3: tuple[str, bytes]) -> None:
    path, data = mp3
    head, get = server.request("HEAD", path), server.get(path)
    assert head.status == 200 and head.body == b""
    for name in ("Content-Length", "Content-Type", "ETag", "Last-Modified", "Accept-Ranges"):
        assert head.header(name) == get.header(name), name
    ranged = server.request("HEAD", path, {"Range": "bytes=10-19"})
    assert ranged.status == 206 and ranged.body == b""
    assert ranged.header("Content-Range") == f"bytes 10-19/{len(data)}"


@pytest.mark.parametrize("path", ["/feed.xml", "/", "/{stem}.mp3", "/{stem}.vtt"])
def test_an_unchanged_file_is_304(server: Server, podcast: Podcast, path: str) -> None:
    path = path.format(stem=podcast.stem)
    first = server.get(path)
    etag, modified = first.header("ETag"), first.header("Last-Modified")
    assert etag and email.utils.parsedate_to_datetime(modified)
    assert first.header("Cache-Control") == "no-cache"
    by_etag = server.get(path, If_None_Match=etag)
    assert by_etag.status == 304 and by_etag.body == b""
    assert by_etag.header("ETag") == etag
    assert server.get(path, If_None_Match=f'"other", W/{etag}').status == 304
    assert server.get(path, If_Modified_Since=modified).status == 304
    assert server.request("HEAD", path, {"If-None-Match": etag}).status == 304
    changed = server.get(path, If_None_Match='"something-else"')
    assert changed.status == 200 and changed.body == first.body


def test_only_get_and_head_are_allowed(server: Server) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        reply = server.request(method, "/feed.xml")
        assert reply.status == 405, method
        assert reply.header("Allow") == "GET, HEAD"


# -- nothing but the published files ------------------------------------------------------------------------

REFUSED = [
    "/../secret.txt",
    "/../secret.mp3",
    "/..%2fsecret.mp3",
    "/%2e%2e/secret.mp3",
    "/%2e%2e%2fsecret.mp3",
    "/%2E%2E%2Fsecret.mp3",
    "/.%2e/secret.mp3",
    "/sub/../feed.xml",
    "/sub/%2e%2e/feed.xml",
    "/./feed.xml",
    "/..\\secret.mp3",
    "/%5c..%5csecret.mp3",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/etc/passwd",
    "/root/etc/passwd",
    "/root/",
    "/root",
    "/outside.mp3",
    "/relative-outside.mp3",
    "/library.mp3",
    "/settings.vtt",
    "/.narrator/library.sqlite",
    "/.narrator/library.sqlite-wal",
    "/.narrator/cover.stamp",
    "/%2enarrator/library.sqlite",
    "/.narrator%2flibrary.sqlite",
    "/.narrator/",
    "/.narrator",
    "/podcast.toml",
    "/.tmp-4242-abc/episode.mp3",
    "/.tmp-4242-abc/",
    "/.tmp-xyz",
    "/.hidden.mp3",
    "/notes.txt",
    "/sub/inner.mp3",
    "/sub/",
    "/sub",
    "/feed.xml/",
    "/feed.xml%00.mp3",
    "/index.html/..",
    "/.",
    "/..",
    "/...",
]


@pytest.mark.parametrize("path", REFUSED)
def test_traversal_private_and_unpublished_paths_are_refused(server: Server, path: str) -> None:
    for method in ("GET", "HEAD"):
        reply = server.request(method, path)
        assert reply.status in (403, 404), (method, path, reply.status)
        assert SECRET not in reply.body and b"SQLite" not in reply.body and b"base_url" not in reply.body


def test_an_absolute_url_as_the_request_target_is_refused(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=START_TIMEOUT_S) as sock:
        sock.sendall(b"GET http://127.0.0.1/../secret.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.split(b" ", 2)[1] in (b"400", b"403", b"404")
    assert SECRET not in answer


def test_there_are_no_directory_listings(server: Server, podcast: Podcast) -> None:
    page = server.get("/")
    assert page.body == server.get("/index.html").body
    assert b"library.sqlite" not in page.body and b"podcast.toml" not in page.body
    assert server.get("/?C=N;O=D").body == page.body  # a query string does not turn it into a listing


# -- many clients at once -------------------------------------------------------------------------------------


def test_many_clients_at_once_each_get_their_range(server: Server, mp3: tuple[str, bytes]) -> None:
    path, data = mp3
    failures: list[str] = []

    def client(n: int) -> None:
        start = (n * 37_123) % (len(data) - 70_000)
        for size in (1, 4096, 65_536, 65_537):
            try:
                reply = server.get(path, Range=f"bytes={start}-{start + size - 1}")
                if reply.status != 206 or reply.body != data[start : start + size]:
                    failures.append(f"{n}: {reply.status}")
            except OSError as exc:
                failures.append(f"{n}: {exc}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=START_TIMEOUT_S)
    assert failures == []


# -- starting and stopping ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_the_server_cleanly(podcast: Podcast, sig: int) -> None:
    running = start_server(podcast.folder)
    assert running.get("/feed.xml").status == 200
    status, err = running.stop(sig)
    assert status == 0, err
    assert "Traceback" not in err
    assert err.rstrip().endswith("narrator: stopped")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port), timeout=5).close()


def test_ctrl_c_stops_the_server_while_a_download_is_stalled(podcast: Podcast) -> None:
    running = start_server(podcast.folder)
    stalled = http.client.HTTPConnection("127.0.0.1", running.port, timeout=START_TIMEOUT_S)
    idle = http.client.HTTPConnection("127.0.0.1", running.port, timeout=START_TIMEOUT_S)
    try:
        idle.request("GET", "/feed.xml")
        idle.getresponse().read()  # a keep-alive connection with nothing to do
        stalled.request("GET", f"/{podcast.stem}.mp3")
        response = stalled.getresponse()
        assert response.read(10) and response.status == 200  # the rest is never read
        status, err = running.stop()
    finally:
        stalled.close()
        idle.close()
    assert status == 0, err
    assert "Traceback" not in err


def test_a_busy_port_is_a_clear_error(podcast: Podcast, runner: CliRunner) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(main, ["serve", str(podcast.folder), "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.output
    assert "--port" in result.output and "Traceback" not in result.output


def test_a_folder_without_a_feed_is_a_clear_error(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["serve", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    assert "no feed.xml here; narrate an article into this folder first" in result.output


def test_an_address_that_is_not_here_is_a_clear_error(podcast: Podcast, runner: CliRunner) -> None:
    result = runner.invoke(main, ["serve", str(podcast.folder), "--host", "192.0.2.1", "--port", "0"])
    assert result.exit_code == 1
    assert "192.0.2.1 is not an address of this machine" in result.output


def test_the_feed_url_is_the_only_thing_on_stdout(podcast: Podcast) -> None:
    running = start_server(podcast.folder)
    running.stop()
    remaining = running.process.stdout.read() if running.process.stdout else ""
    assert remaining == ""
    assert running.feed_url.endswith("/feed.xml")


def test_ctrl_c_right_after_the_address_is_printed_stops_the_server(podcast: Podcast) -> None:
    # The address is printed once Ctrl-C is handled: a script that stops the server at once is obeyed.
    for _ in range(5):
        status, err = start_server(podcast.folder).stop()
        assert status == 0, err
        assert "never awaited" not in err


def test_serve_does_not_import_the_http_stack_for_help() -> None:
    code = "import sys, narrator.cli; narrator.cli.main(['--help'], standalone_mode=False); print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for heavy in ("starlette", "uvicorn", "anyio"):
        assert f"'{heavy}'" not in out


def test_the_folder_keeps_no_trace_of_serving(tmp_path: Path, seed_episode) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "podcast"
    shutil.copytree(seed_episode.output_dir, folder)
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    running = start_server(folder)
    running.get("/feed.xml")
    running.stop()
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before


def test_on_every_network_it_prints_the_addresses_that_work(podcast: Podcast) -> None:
    running = start_server(podcast.folder, "--host", "0.0.0.0")
    try:
        first = running.stderr_lines[0]
        assert f"at http://127.0.0.1:{running.port}/" in first and "localhost" not in first
        assert running.get("/").status == 200
    finally:
        status, err = running.stop()
    assert status == 0, err
    assert "--base-url" in err  # what other devices need
