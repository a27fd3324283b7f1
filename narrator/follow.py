"""Following sources: ``narrator follow`` adds feeds and lists of addresses, ``narrator update`` narrates
what is new in them.

An update is a short list of stages:

1. ``repair`` the folder (what a killed run left is finished first);
2. ``fetch`` every source, several at once: a feed with a conditional request
   (``If-None-Match``, ``If-Modified-Since``), so an unchanged one answers 304
   and costs nothing more; a list of addresses is read from its file;
3. ``triage`` each source's items against what the library has seen of it (by
   GUID): new, edited (a narrated item whose content changed), to try again (one
   that could not be read before), left out (past ``--max`` at the first update),
   or nothing to do;
4. ``read`` the articles of the items to narrate: the feed's own copy when it
   holds the whole article, else the linked page, fetched (``readers.feed.needs_page``);
5. ``publish`` them, grouped by the options their sources narrate with, through
   ``pipeline.publish``: the library's claims keep two updates at once from
   narrating an item twice, and an unchanged article is not narrated again;
   each episode is recorded, and once all are, the feed and the page are
   rendered, once;
6. ``settle`` each source: what became of each item, and the validators of the
   version read, saved only once every item of it is settled, so a run killed at
   any moment is finished by the next one (which fetches the feed in full again).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import InputError, NarratorError
from .library import MAX_ATTEMPTS, ItemState, item_key
from .models import Article, SourceKind, SourceOptions, SourceRecord
from .readers.feed import FeedItem

if TYPE_CHECKING:
    from typing import TypeAlias

    from .library import Library, SeenItem
    from .pipeline import Failed, Progress, Published, Skipped
    from .readers.base import InputFormat
    from .readers.url import Response
    from .settings import Settings

    #: What an update tells as it goes.
    UpdateEvent: TypeAlias = "Published | Skipped | Failed | SourceFailed | WouldNarrate | Summary"

T = TypeVar("T")
#: Sources fetched at once (network waits, not work: threads).
FETCHING = 8
#: How long one request may take, in seconds, by default (--timeout).
DEFAULT_TIMEOUT_S = 30.0


# --- follow -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """A source ``follow`` found and checked: a feed, or a list of addresses."""

    url: str
    """The feed's address as given, or the list's absolute path."""
    kind: SourceKind
    title: str


def find_sources(given: Sequence[str], *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[Found | InputError]:
    """What each of ``given`` is, checked: a feed's address (fetched, and read as a feed), an OPML file (each
    of its feeds, fetched and read), or a text file of article addresses. A source that is not one is an
    InputError naming it; the others are found all the same."""
    from .readers import is_url
    from .readers.base import read_bytes
    from .readers.feed import parse_feed
    from .readers.lists import is_opml, read_opml, read_url_list

    feeds: list[tuple[str, str]] = []  # (address, title from the OPML file)
    found: list[Found | InputError] = []
    for source in given:
        if is_url(source):
            feeds.append((source.strip(), ""))
            continue
        path = Path(source).expanduser()
        try:
            data = read_bytes(path)
            if is_opml(data):
                feeds.extend((outline.url, outline.title) for outline in read_opml(path))
            else:
                read_url_list(path)  # every line an address, or an error now
                found.append(Found(str(path.resolve()), SourceKind.URLS, path.name))
        except InputError as exc:
            found.append(exc)
    yield from found
    checked = _in_threads([functools.partial(_checked_feed, url, timeout_s) for url, _ in feeds])
    for (url, title), response in zip(feeds, checked, strict=True):
        if isinstance(response, InputError):
            yield response
            continue
        try:
            feed = parse_feed(response.data, url, mime=response.mime)
        except InputError as exc:
            yield exc
            continue
        yield Found(url, SourceKind.FEED, feed.title or title)


def _checked_feed(url: str, timeout_s: float) -> Response | InputError:
    try:
        return fetch_feed(url, timeout_s=timeout_s)
    except InputError as exc:
        return exc


def fetch_feed(url: str, *, timeout_s: float, etag: str = "", modified: str = "") -> Response:
    """The feed at ``url``, asked conditionally when validators are given (a 304 has no data)."""
    from .readers.feed import FEED_TYPES, MAX_FEED_BYTES
    from .readers.url import get

    return get(
        url,
        accept=FEED_TYPES,
        max_bytes=MAX_FEED_BYTES,
        timeout_s=timeout_s,
        etag=etag,
        modified=modified,
        what="a feed",
    )


# --- update -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """An item an update narrates, or would."""

    source: SourceRecord
    item: FeedItem
    why: str
    """"new", "edited" or "retry" (it could not be read before)."""
    key: str
    """The library's source for its episode (``library.item_key``, or a list's address)."""
    attempts: int = 0
    """Updates before this one that could not read it."""
    article: Article | None = None
    error: NarratorError | None = None
    """Why its article could not be read."""

    @property
    def label(self) -> str:
        """How messages name the item: its address, else its GUID."""
        return self.item.link or self.item.guid


@dataclass(frozen=True, slots=True)
class Check:
    """What an update found in one source."""

    source: SourceRecord
    error: NarratorError | None = None
    """Why the source could not be read (network, HTTP, not a feed)."""
    not_modified: bool = False
    """The server answered 304: nothing changed since the last update."""
    title: str = ""
    validators: tuple[str, str] = ("", "")
    """ETag and Last-Modified of what was read."""
    todo: tuple[Candidate, ...] = ()
    left_out: tuple[FeedItem, ...] = ()
    """Items past the newest ``max_items`` at the source's first update: left out for good."""


@dataclass(frozen=True, slots=True)
class SourceFailed:
    """A source an update could not read, and why (the error names its address)."""

    source: SourceRecord
    error: NarratorError


@dataclass(frozen=True, slots=True)
class WouldNarrate:
    """``--dry-run``: an item the update would narrate."""

    candidate: Candidate


@dataclass(frozen=True, slots=True)
class Summary:
    """What an update did, in figures."""

    sources: int
    not_modified: int
    """Sources that answered 304."""
    failed_sources: int
    candidates: int
    """Items that were new, edited or tried again."""
    narrated: int
    """Of those, the ones now in the podcast (narrated, or found unchanged)."""
    requests: int
    """HTTP requests made: feeds and pages."""


@dataclass(slots=True)
class _Tally:
    requests: int = 0
    results: dict[str, list[Failed]] = field(default_factory=dict)


def update(
    output_dir: Path,
    *,
    settings_for: Callable[[SourceOptions], Settings],
    dry_run: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Progress | None = None,
) -> Iterator[UpdateEvent]:
    """Check every source the podcast in ``output_dir`` follows and narrate what is new; yields what
    happened, a Summary last. ``settings_for`` makes a run's Settings for a source's
    options. With ``dry_run`` nothing is narrated and nothing written: the items are yielded as
    WouldNarrate."""
    from .errors import LibraryError
    from .pipeline import Failed, Progress, publish, repair
    from .podcast import resolve_podcast

    progress = progress or Progress()
    tally = _Tally()
    with open_sources(output_dir) as library:
        sources = library.sources()
        if not sources:
            raise LibraryError(NO_SOURCES, output_dir)
        podcast = resolve_podcast(output_dir, create=False)
        if not dry_run:
            repair(output_dir, podcast, library)  # a killed update's episodes are published before anything else
        seen = {source.id: library.seen_items(source.id) for source in sources}
        checks = [triage(source, answer, seen[source.id]) for source, answer in fetch_all(sources, timeout_s, tally)]
        checks = read_articles(checks, timeout_s, tally, default_language=podcast.language)
        for check in checks:
            if check.error is not None:
                yield SourceFailed(check.source, check.error)
        candidates = [c for check in checks for c in check.todo]
        for candidate in candidates:
            if candidate.error is not None:
                yield Failed(candidate.label, candidate.error)
        readable = [c for c in candidates if c.article is not None]
        if dry_run:
            yield from (WouldNarrate(c) for c in readable)
        else:
            for options, group in _groups(readable):
                try:
                    settings = settings_for(options)  # a lexicon removed since, a voice podcast.toml cannot have
                except NarratorError as exc:
                    for candidate in group:
                        failed = Failed(candidate.label, exc)
                        tally.results.setdefault(candidate.label, []).append(failed)
                        yield failed
                    continue
                articles = [c.article for c in group if c.article is not None]
                for result in publish(articles, settings, progress=progress, render_each=False):
                    if isinstance(result, Failed):
                        tally.results.setdefault(result.source, []).append(result)
                    yield result
        narrated = 0
        if not dry_run:
            if readable:  # every episode recorded: the feed and the page are rendered once
                podcast = resolve_podcast(output_dir, create=False)  # as the first publish wrote it
                repair(output_dir, podcast, library)
            with library.locked():  # one transaction (one write to the disk) for every source's check
                narrated = settle(library, checks, tally)
    yield Summary(
        sources=len(sources),
        not_modified=sum(check.not_modified for check in checks),
        failed_sources=sum(check.error is not None for check in checks),
        candidates=len(candidates),
        narrated=narrated,
        requests=tally.requests,
    )


#: What commands about sources say in a folder that follows none.
NO_SOURCES = "the podcast follows no sources yet; add one with `narrator follow FEED -o FOLDER`"


def open_sources(output_dir: Path) -> Library:
    """The library of ``output_dir``, for the commands about its sources (LibraryError when it has none)."""
    from .errors import LibraryError
    from .library import library_path, open_library

    if not library_path(output_dir).exists():
        raise LibraryError(NO_SOURCES, output_dir)
    return open_library(output_dir, create=False)


def fetch_all(
    sources: Sequence[SourceRecord], timeout_s: float, tally: _Tally
) -> list[tuple[SourceRecord, Response | tuple[str, ...] | NarratorError]]:
    """Every source's latest version: a feed's answer (a 304 when unchanged), a list's addresses, or why
    it could not be read. Feeds are fetched several at once."""
    from .readers.lists import read_url_list

    def one(source: SourceRecord) -> Response | tuple[str, ...] | NarratorError:
        try:
            if source.kind is SourceKind.URLS:
                return read_url_list(Path(source.url))
            return fetch_feed(source.url, timeout_s=timeout_s, etag=source.etag, modified=source.modified)
        except InputError as exc:
            return exc

    tally.requests += sum(source.kind is SourceKind.FEED for source in sources)
    answers = _in_threads([functools.partial(one, source) for source in sources])
    return list(zip(sources, answers, strict=True))


def triage(
    source: SourceRecord, answer: Response | tuple[str, ...] | NarratorError, seen: dict[str, SeenItem]
) -> Check:
    """What to do with each item of ``source``, given its latest version and what the library has seen of it."""
    from .readers.feed import parse_feed

    if isinstance(answer, NarratorError):
        return Check(source, error=answer)
    if isinstance(answer, tuple):  # a list of addresses: the last lines are the newest
        items = tuple(_listed(url) for url in reversed(answer))
        title, validators = source.title, ("", "")
    elif answer.status == 304:
        return Check(source, not_modified=True, validators=(source.etag, source.modified))
    else:
        try:
            feed = parse_feed(answer.data, source.url, mime=answer.mime)
        except InputError as exc:
            return Check(source, error=exc)
        items, title, validators = feed.items, feed.title, (answer.etag, answer.modified)
    first = not seen
    todo: list[Candidate] = []
    left_out: list[FeedItem] = []
    for item in items:
        known = seen.get(item.guid)
        key = item.guid if source.kind is SourceKind.URLS else item_key(source.url, item.guid)
        if known is None:
            if first and len(todo) >= source.options.max_items:
                left_out.append(item)
            else:
                todo.append(Candidate(source, item, "new", key))
        elif known.state is ItemState.FAILED and known.attempts < MAX_ATTEMPTS:
            todo.append(Candidate(source, item, "retry", key, attempts=known.attempts))
        elif known.state is ItemState.NARRATED and known.entry_hash != item.entry_hash:
            todo.append(Candidate(source, item, "edited", key))
    todo.reverse()  # the oldest first: an update's episodes are dated in the order the feed has them
    return Check(source, title=title, validators=validators, todo=tuple(todo), left_out=tuple(left_out))


def _listed(url: str) -> FeedItem:
    """An address of a list as an item: known by the address, its page always read."""
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
    return FeedItem(
        guid=url, link=url, title="", author="", published_at=None, content="", language="", entry_hash=digest
    )


def read_articles(checks: Sequence[Check], timeout_s: float, tally: _Tally, *, default_language: str) -> list[Check]:
    """Each candidate's article: from the feed's copy of it, or from its linked page (fetched several at
    once, read here); or why it could not be read."""
    from .readers import settle_language
    from .readers.feed import check_link, content_article, item_article, needs_page
    from .readers.url import fetch

    candidates = [c for check in checks for c in check.todo]
    pages = [c for c in candidates if needs_page(c.item, full_page=c.source.options.full_page)]

    def page(candidate: Candidate) -> tuple[bytes | str, InputFormat] | NarratorError:
        try:
            check_link(candidate.item, candidate.label)  # a podcast episode's audio is not fetched
            return fetch(candidate.item.link, timeout_s=timeout_s)
        except InputError as exc:
            return exc

    tally.requests += sum(not c.item.media for c in pages)
    fetched = dict(zip(map(id, pages), _in_threads([functools.partial(page, c) for c in pages]), strict=True))
    done: dict[int, Candidate] = {}
    for candidate in candidates:
        try:
            if id(candidate) in fetched:
                answer = fetched[id(candidate)]
                if isinstance(answer, NarratorError):
                    raise answer
                from .readers import read_fetched

                found = read_fetched(candidate.item.link, *answer)
            else:
                found = content_article(candidate.item, source=candidate.label)
            article = item_article(candidate.item, found, key=candidate.key)
            language = candidate.source.options.language
            article = settle_language(article, language=language, default_language=default_language or "en")
            done[id(candidate)] = replace(candidate, article=article)
        except InputError as exc:
            done[id(candidate)] = replace(candidate, error=exc)
    return [replace(check, todo=tuple(done[id(c)] for c in check.todo)) for check in checks]


def _groups(candidates: Sequence[Candidate]) -> list[tuple[SourceOptions, list[Candidate]]]:
    """The candidates by the options that shape their narration (one run of the engines each), in order."""
    groups: dict[SourceOptions, list[Candidate]] = {}
    for candidate in candidates:
        options = replace(candidate.source.options, max_items=0, full_page=False)
        groups.setdefault(options, []).append(candidate)
    return list(groups.items())


def settle(library: Library, checks: Sequence[Check], tally: _Tally) -> int:
    """Remember what became of every item, and each source's check; returns how many candidates are now
    in the podcast. An item is narrated when the library has its episode with its text; one that could
    not be read is failed (tried again up to MAX_ATTEMPTS); one another run was narrating, or whose run
    was stopped, is left for the next update. Only a source whose items are all settled keeps the
    validators of the version read."""
    narrated = 0
    for check in checks:
        source = check.source
        if check.error is not None:  # said without the source's address, which `narrator sources` shows
            wrong = check.error
            library.checked(source.id, error=wrong.reason if str(wrong.path) == source.url else str(wrong))
            continue
        if check.not_modified:
            library.checked(source.id)
            continue
        settled: list[tuple[str, str, ItemState, str]] = [
            (item.guid, item.entry_hash, ItemState.SKIPPED, "") for item in check.left_out
        ]
        unsettled, errors = 0, []
        for candidate in check.todo:
            item, article = candidate.item, candidate.article
            error = candidate.error
            if article is not None:
                episode = library.by_source(candidate.key)
                if episode is not None and episode.text_hash == article.text_hash:
                    settled.append((item.guid, item.entry_hash, ItemState.NARRATED, ""))
                    narrated += 1
                    continue
                failed = tally.results.get(article.source) or tally.results.get(candidate.label)
                error = failed[0].error if failed else None
            if error is None:
                unsettled += 1  # another run had it, or this one stopped: the next update sees it again
                continue
            settled.append((item.guid, item.entry_hash, ItemState.FAILED, str(error)))
            errors.append(str(error))
            if candidate.attempts + 1 < MAX_ATTEMPTS:
                unsettled += 1  # to be tried again: the feed must be read in full next time
        library.settle_items(source.id, settled)
        message = ""
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            message = f"{plural(len(errors), 'item')} could not be read: {errors[0]}{more}"
        library.checked(source.id, error=message, title=check.title, validators=None if unsettled else check.validators)
    return narrated


def plural(count: int, noun: str) -> str:
    """
    >>> plural(1, "item"), plural(3, "item")
    ('1 item', '3 items')
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _in_threads(calls: Sequence[Callable[[], T]]) -> list[T]:
    """The calls' results, in order, run a few at once (they wait on the network)."""
    if len(calls) <= 1:
        return [call() for call in calls]
    from .executor import thread_pool

    with thread_pool(min(FETCHING, len(calls)), "fetch") as pool:
        return list(pool.map(lambda call: call(), calls))
