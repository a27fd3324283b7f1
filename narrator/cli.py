"""The command line: parse options, call the pipeline, turn errors into one line and an exit code."""

from __future__ import annotations

import atexit
import functools
import gc
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from .cache import ClipCache

from . import __version__
from .engines import engine_names, speech_engines
from .errors import ExitStatus, NarratorError, Terminated

if TYPE_CHECKING:
    from .models import Article
    from .pipeline import Published
    from .settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
#: The speech engines narrator knows (``engines.register``), for --engine.
ENGINES = engine_names()
#: The ones that speak (not the test engine), for help texts.
SPEAKING = ", ".join(speech_engines())


def _fail(message: str, status: int) -> None:
    click.echo(f"narrator: {message}", err=True)
    sys.exit(status)


def plural(count: int, noun: str) -> str:
    """
    >>> plural(1, "chapter"), plural(11, "chapter"), plural(0, "caption")
    ('1 chapter', '11 chapters', '0 captions')
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def translate_errors(command: F) -> F:
    """Turn NarratorError into one line on stderr and its exit code; --debug shows tracebacks."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return command(*args, **kwargs)
        except NarratorError as exc:
            if debug:
                raise
            _fail(f"error: {exc}", exc.exit_status)
        except BrokenPipeError:
            # `narrator voices | head`: the reader has gone; say nothing more (Python docs, signal notes).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(ExitStatus.BROKEN_PIPE)
        except KeyboardInterrupt:
            if debug:
                raise
            _fail("interrupted; the output folder is as it was before this article", ExitStatus.INTERRUPTED)
        except Terminated:
            _fail("terminated; the output folder is as it was before this article", ExitStatus.TERMINATED)
        except Exception as exc:  # a bug: say so briefly, --debug shows it all
            if debug:
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", ExitStatus.ERROR)

    return wrapper  # type: ignore[return-value]


class _Group(click.Group):
    """click's group, with its usage errors said in one line like every other error."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            status = super().main(*args, **kwargs)
        except click.ClickException as exc:
            command = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "narrator"  # type: ignore[attr-defined]
            hint = f" (see `{command} --help`)" if isinstance(exc, click.UsageError) else ""
            message = exc.format_message().rstrip(".")
            _fail(f"error: {message[:1].lower() + message[1:]}{hint}", exc.exit_code)
        except click.Abort:
            _fail("interrupted", ExitStatus.INTERRUPTED)
        if isinstance(status, int) and status:
            sys.exit(status)
        return status


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="narrator")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
def main(debug: bool) -> None:
    """Turn written articles into podcast episodes, offline.

    \b
    Example:
      narrator narrate seeds/*.txt -o output
    """


def run() -> None:
    """The ``narrator`` command: the console script and ``python -m narrator``."""
    # When a command is over the interpreter still collects garbage over every object left
    # (0.08 s with numpy, feedgen and the rest loaded). Frozen, they are skipped.
    atexit.register(gc.freeze)
    signal.signal(signal.SIGTERM, _terminated)  # as Ctrl-C: clean up (workers, temporary files), then go
    main()


def _terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated()


class Failures:
    """The articles of a batch that could not be narrated. Each is said in one line when it
    fails and the others go on; the exit status says so at the end, as cp and rsync do."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    def report(self, error: NarratorError) -> None:
        click.echo(f"narrator: error: {error}", err=True)
        self.statuses.append(error.exit_status)

    def exit(self) -> None:
        """Exit with the failures' status (theirs when they agree, else 1); return when there were none."""
        if self.statuses:
            sys.exit(self.statuses[0] if len(set(self.statuses)) == 1 else ExitStatus.ERROR)


def expand_inputs(sources: tuple[str, ...], *, quiet: bool = False, failures: Failures | None = None) -> list[str]:
    """Inputs as given; a folder becomes the articles inside it, in name order, its other files reported and skipped.

    A folder without articles is one of ``failures`` (an error when there is no ``failures``).
    """
    from .errors import InputError
    from .readers import ARTICLE_SUFFIXES, STDIN, expand_sources

    if sources.count(STDIN) > 1:
        raise InputError("standard input can be read only once", STDIN)
    found: list[str] = []
    for source in sources:
        try:
            articles, skipped = expand_sources([source])
        except InputError as exc:
            if failures is None:
                raise
            failures.report(exc)
            continue
        found.extend(articles)
        for other in [] if quiet else skipped:
            click.echo(f"narrator: skipping {other}: not an article ({ARTICLE_SUFFIXES})", err=True)
    if STDIN in found and sys.stdin.isatty():
        click.echo("narrator: reading the article from standard input; end it with Ctrl-D", err=True)
    return found


def read_inputs(
    sources: tuple[str, ...], *, input_format: str, settings: Settings, quiet: bool, failures: Failures
) -> list[Article]:
    """Every input read as narrate reads it (--format, --language, the podcast's language), in the
    order given; one that cannot be read is one of ``failures``, said in that order too."""
    from .errors import InputError
    from .readers import STDIN, read

    if sources.count(STDIN) > 1:
        raise InputError("standard input can be read only once", STDIN)
    fmt = None if input_format == "auto" else input_format
    default_language = settings.podcast.language if settings.podcast else "en"
    articles = []
    for given in sources:
        for source in expand_inputs((given,), quiet=quiet, failures=failures):
            try:
                articles.append(
                    read(
                        source,
                        fmt=fmt,
                        language=settings.language,
                        default_language=default_language,
                        stdin=sys.stdin.buffer,
                    )
                )
            except InputError as exc:
                failures.report(exc)
    return articles


class _Bar:
    """A progress bar over the article's sentences (a cluster run's: over its articles) on stderr, only when
    stderr is a terminal, as wide as it."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    @staticmethod
    def _short(label: str) -> str:
        import shutil

        room = max(8, min(30, shutil.get_terminal_size().columns // 3))
        return label if len(label) <= room else label[: room - 1].rstrip() + "…"

    def start(self, label: str, total: int, unit: str = "sentences") -> None:
        if self.enabled:
            import shutil

            columns = shutil.get_terminal_size().columns
            short = self._short(label)
            # click's line: LABEL  [BAR]  NNN/NNN  100%  00:00:00 (the info takes at most 26 columns).
            width = max(8, columns - len(short) - 4 - 26 - 1)
            self.bar = click.progressbar(
                length=total,
                label=short,
                file=sys.stderr,
                show_pos=True,
                width=width - len(f"  {unit}"),
                item_show_func=lambda _item: unit,
            )
            self.bar.__enter__()

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def articles(self, label: str, done: int, total: int) -> None:
        """A run's articles done of ``total`` (a cluster's): one bar for the run, drawn again after a line
        of output ended it."""
        if not self.enabled:
            return
        if self.bar is not None and (self.bar.label != self._short(label) or self.bar.length != total):
            self.finish()
        if self.bar is None:
            self.start(label, total, unit="articles")
        if self.bar is not None and done > self.bar.pos:
            self.bar.update(done - self.bar.pos)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[_Bar]:
    """A progress bar that is finished however the run ends, so no message lands on its line."""
    bar = _Bar(enabled)
    try:
        yield bar
    finally:
        bar.finish()


def format_duration(ms: int) -> str:
    """
    >>> format_duration(221_400), format_duration(3_725_000)
    ('3:41', '1:02:05')
    """
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def podcast_options(command: F) -> F:
    """The podcast's settings as flags: they override podcast.toml (``init`` saves them)."""
    options = [
        click.option("--title", help="The podcast's title."),
        click.option("--description", help="The podcast's description."),
        click.option("--author", help="The podcast's author (itunes:author)."),
        click.option("--owner-name", help="The feed owner's name (itunes:owner)."),
        click.option("--owner-email", help="The feed owner's e-mail (itunes:owner)."),
        click.option("--podcast-language", "language", help="The podcast's language, e.g. en or de-AT."),
        click.option("--category", help='Apple Podcasts category, e.g. "News > Politics".'),
        click.option("--explicit/--clean", "explicit", default=None, help="itunes:explicit true or false."),
        click.option("--link", help="The podcast's website."),
        click.option(
            "--cover",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Square JPEG or PNG, 1400-3000 px; default: drawn from the title.",
        ),
        click.option(
            "--base-url",
            help="Where the output folder is published (kept in podcast.toml).  [default: http://127.0.0.1:8000/]",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


_PODCAST_FLAGS = (
    "title",
    "description",
    "author",
    "owner_name",
    "owner_email",
    "language",
    "category",
    "explicit",
    "link",
    "cover",
    "base_url",
)


def _podcast_flags(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs.pop(name) for name in _PODCAST_FLAGS}


_output_option = click.option(
    "-o",
    "--output",
    "output_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default="output",
    show_default=True,
    help="The podcast folder.",
)


def _timeout_option(what: str) -> Callable[[F], F]:
    """--timeout of the commands that fetch: how long ``what`` may take to answer."""
    return click.option(
        "--timeout",
        "timeout_s",
        type=click.FloatRange(1, 600),
        default=30.0,
        show_default=True,
        help=f"Seconds {what} may take to answer.",
    )


def synthesis_options(command: F) -> F:
    """Where the sentences are synthesized and cached: the options narrate and update share."""
    options = [
        click.option("--jobs", type=int, help="Synthesis processes and encoding threads.  [default: one per core]"),
        click.option(
            "--cache-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Where synthesized sentences are cached (also NARRATOR_CACHE_DIR).",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the sentence cache."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def reading_options(command: F) -> F:
    """How articles are read and said: the options narrate and script share, so script shows what narrate says."""
    options = [
        click.option(
            "--format",
            "input_format",
            type=click.Choice(["auto", "text", "markdown", "html"]),
            default="auto",
            show_default=True,
            help="How to read the inputs; auto goes by the file name's ending, then by the content.",
        ),
        click.option(
            "--language",
            "article_language",
            metavar="TAG",
            help="Read every article as this language (en, de, pt-BR); default: what it says or is detected as.",
        ),
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            help=f"Speech engine: {SPEAKING} (tone: beeps as long as the text, for tests).  [default: podcast.toml's"
            " engine, else pyttsx3]",
        ),
        click.option(
            "--voice",
            help="Voice id (see `narrator voices`), or a Piper .onnx model with its .onnx.json beside it; default:"
            " the engine's best voice for the article's language.",
        ),
        click.option(
            "--lexicon",
            type=click.Path(path_type=Path, dir_okay=False),
            help="TOML file of words and how to say them, over the podcast folder's lexicon.toml.",
        ),
        click.option(
            "--rate",
            "rate_wpm",
            type=int,
            help="Speaking rate in words per minute, 80 to 450 (Piper's voices top out near 380).  [default: 175]",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@click.argument("articles", nargs=-1, required=True)
@_output_option
@reading_options
@click.option(
    "--bitrate",
    "bitrate_kbps",
    type=int,
    help="MP3 bitrate in kb/s: 32, 40, 48, 56, 64, 80, 96, 112, 128 or 160.  [default: 64]",
)
@synthesis_options
@click.option(
    "--max-hours",
    type=float,
    help="Refuse an article whose audio would last longer than this.  [default: 12]",
)
@click.option("--as-new", is_flag=True, help="Publish as a new episode even if the article is in the podcast.")
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help="Narrate on a Dask cluster: its scheduler's address (tcp://HOST:8786), or local:N to start N workers"
    " here (also NARRATOR_CLUSTER, and cluster in podcast.toml); needs narrator[distributed].",
)
@click.option(
    "--shared-output",
    type=click.Path(path_type=Path, file_okay=False),
    help="With --cluster: the output folder as the workers see it (a shared file system); they write the"
    " episodes there, and only their names travel.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary; errors only.")
@podcast_options
@translate_errors
def narrate(
    articles: tuple[str, ...],
    output_dir: Path,
    input_format: str,
    article_language: str | None,
    engine: str | None,
    voice: str | None,
    lexicon: Path | None,
    rate_wpm: int | None,
    bitrate_kbps: int | None,
    jobs: int | None,
    cache_dir: Path | None,
    no_cache: bool,
    max_hours: float | None,
    as_new: bool,
    cluster: str | None,
    shared_output: Path | None,
    quiet: bool,
    **podcast: Any,
) -> None:
    """Narrate ARTICLES into podcast episodes: text, Markdown or saved web page files,
    web addresses, - for standard input, or folders of articles.

    Each article becomes STEM.mp3 with chapters, STEM.vtt and STEM.srt captions and
    STEM.chapters.json in the output folder, is added to the podcast's library and
    feed.xml. An article already in the podcast is narrated again in place (same
    GUID), or not at all when neither it nor the settings changed. One engine speaks
    every episode of a run: --engine, else podcast.toml's engine, else pyttsx3.

    The language (from the page or front matter, else detected) picks the voice;
    lexicon.toml in the output folder and --lexicon change how words are said,
    not the captions (`narrator script` shows what will be said).

    An article that cannot be narrated (unreadable, no words, no voice for its
    language) is reported in one line and the others are narrated; the exit
    status is then not 0, as with cp.

    With --cluster the articles are read and checked here, and a Dask cluster's
    workers narrate them, a whole article each; this process writes the folder,
    which holds what a local run would make.

    \b
    Examples:
      narrator narrate seeds/north-korea-troops-morale.txt -o output --rate 180
      narrator narrate notes.md saved-page.html https://example.org/story -o output
      narrator narrate - --language de -o output < zeitung.txt
      narrator narrate seeds/north-korea-troops-morale.txt --engine piper
      narrator narrate archive/ -o output --cluster tcp://10.0.0.5:8786
    """
    from .pipeline import Failed, Progress, Skipped, publish
    from .settings import resolve, resolve_cluster, resolve_engine
    from .warmup import head_start

    podcast_flags = _podcast_flags(podcast)
    engine = resolve_engine(engine, output_dir)  # before the engines start: podcast.toml may name one
    cluster = resolve_cluster(cluster, output_dir)  # before the engines start: a cluster's workers speak
    with head_start(articles, output_dir, engine=engine, jobs=jobs, local=not cluster) as start:  # engines first
        settings = resolve(
            output_dir=output_dir,
            engine=engine,
            voice=voice,
            rate_wpm=rate_wpm,
            bitrate_kbps=bitrate_kbps,
            jobs=jobs,
            cache_dir=cache_dir,
            no_cache=no_cache,
            podcast=podcast_flags,
            language=article_language,
            lexicon=lexicon,
            max_hours=max_hours,
            cluster=cluster,
            shared_output=shared_output,
        )
        # Everything is read first; an input that cannot be read is said and left out, the rest narrated.
        failures = Failures()
        inputs = read_inputs(articles, input_format=input_format, settings=settings, quiet=quiet, failures=failures)
        if not inputs:
            failures.exit()
        with _progress_bar(enabled=not quiet and sys.stderr.isatty()) as bar:
            progress = Progress(
                start=bar.start, advance=bar.advance, finish=bar.finish, note=_note, articles=bar.articles
            )
            keep_base_url = podcast_flags.get("base_url") is not None
            for result in start.settling(
                publish(
                    inputs,
                    settings,
                    as_new=as_new,
                    progress=progress,
                    workers=start.workers,
                    keep_base_url=keep_base_url,
                )
            ):
                bar.finish()
                if isinstance(result, Failed):
                    failures.report(result.error)
                elif isinstance(result, Skipped):
                    click.echo(f"narrator: {result.source}: {result.reason}; skipped", err=True)
                elif not quiet:
                    click.echo(summary(result))
    failures.exit()


def summary(result: Published) -> str:
    """The line narrate prints for an episode."""
    line = f"{result.mp3}  {format_duration(result.duration_ms)}  {plural(result.chapters, 'chapter')}"
    if result.reused:
        return f"{line}  unchanged"
    return f"{line}  {plural(result.captions, 'caption')}  {result.loudness_lufs:.1f} LUFS"


def _note(message: str) -> None:
    click.echo(f"narrator: {message}", err=True)


@main.command()
@click.argument("articles", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    "output_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default="output",
    show_default=True,
    help="The podcast folder whose lexicon.toml and language apply, as for narrate (nothing is written).",
)
@reading_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article, one per line, for scripts.")
@translate_errors
def script(
    articles: tuple[str, ...],
    output_dir: Path,
    input_format: str,
    article_language: str | None,
    engine: str | None,
    voice: str | None,
    lexicon: Path | None,
    rate_wpm: int | None,
    as_json: bool,
) -> None:
    """Print what narrate would say for ARTICLES, without synthesizing anything: the title,
    author, language and voice, then each chapter with its sentences, each as the captions
    show it and as it is spoken (numbers, dates and abbreviations said out, the lexicon
    applied). Articles are read exactly as narrate reads them, so a lexicon can be checked
    before a long run.

    --json prints one object per article and line: {"source", "title", "author",
    "language", "voice", "chapters": [{"title", "sentences": [{"text", "spoken"}]}]}.

    \b
    Examples:
      narrator script seeds/north-korea-troops-morale.txt
      narrator script notes.md --lexicon words.toml --json | jq '.chapters[].sentences[].spoken'
    """
    import json

    from .pipeline import Failed, preview, script_dict
    from .settings import resolve, resolve_engine

    settings = resolve(
        output_dir=output_dir,
        engine=resolve_engine(engine, output_dir),  # as narrate: --engine, else podcast.toml's
        voice=voice,
        rate_wpm=rate_wpm,
        jobs=1,  # one engine, to list its voices
        no_cache=True,
        language=article_language,
        lexicon=lexicon,
    )
    failures = Failures()
    inputs = read_inputs(articles, input_format=input_format, settings=settings, quiet=False, failures=failures)
    for found in preview(inputs, settings) if inputs else ():
        if isinstance(found, Failed):
            failures.report(found.error)
        elif as_json:
            click.echo(json.dumps(script_dict(found), ensure_ascii=False))
        else:
            click.echo(format_script(script_dict(found)))
    failures.exit()


def format_script(found: dict[str, Any]) -> str:
    """``narrator script``'s text: the article's particulars, then each chapter's sentences, as written and as said.

    >>> print(format_script({"source": "a.txt", "title": "T", "author": "", "language": "en", "voice": "v",
    ...     "chapters": [{"title": "T", "sentences": [{"text": "It costs $5.", "spoken": "It costs five dollars."}]}]}))
    source:   a.txt
    title:    T
    author:   -
    language: en
    voice:    v
    <BLANKLINE>
    chapter 1: T
      text:   It costs $5.
      spoken: It costs five dollars.
    <BLANKLINE>
    """
    lines = [f"{key + ':':9} {found[key] or '-'}" for key in ("source", "title", "author", "language", "voice")]
    for number, chapter in enumerate(found["chapters"], 1):
        lines += ["", f"chapter {number}: {chapter['title']}"]
        for sentence in chapter["sentences"]:
            lines += [f"  text:   {sentence['text']}", f"  spoken: {sentence['spoken']}"]
    return "\n".join(lines) + "\n"


@main.command()
@_output_option
@podcast_options
@click.option("--engine", type=click.Choice(ENGINES), help=f"Speech engine that narrates the episodes: {SPEAKING}.")
@translate_errors
def init(output_dir: Path, engine: str | None, **podcast: Any) -> None:
    """Write the podcast's settings to DIR/podcast.toml (flags change what is there).

    \b
    Example:
      narrator init -o output --title "Morning reads" --owner-email me@example.org \\
        --category "News > Daily News" --base-url https://example.org/podcast/ --engine piper
    """
    from .podcast import init_podcast

    click.echo(init_podcast(output_dir, engine=engine, **_podcast_flags(podcast)))


@main.command()
@_output_option
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@translate_errors
def episodes(output_dir: Path, as_json: bool) -> None:
    """List the podcast's episodes, newest first.

    \b
    Example:
      narrator episodes -o output --json | jq '.[].title'
    """
    import json

    from .library import episode_dict, open_library
    from .pipeline import repair
    from .podcast import resolve_podcast

    with open_library(output_dir, create=False) as library:
        repair(output_dir, resolve_podcast(output_dir), library)
        records = library.episodes()
    if as_json:
        click.echo(json.dumps([episode_dict(r) for r in records], ensure_ascii=False, indent=2))
        return
    if not records:
        click.echo("no episodes yet", err=True)
        return
    rows = [
        (
            str(r.id),
            r.published_at.strftime("%Y-%m-%d"),
            format_duration(r.duration_ms),
            str(len(r.chapters)),
            r.stem,
            r.title,
        )
        for r in records
    ]
    headers = ("ID", "DATE", "LENGTH", "CHAP", "FILE", "TITLE")
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers[:-1])]
    for row in (headers, *rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        click.echo(line.rstrip())


@main.command()
@click.argument("episode")
@_output_option
@translate_errors
def remove(episode: str, output_dir: Path) -> None:
    """Remove EPISODE (its id, file name, GUID or source) with its files, and update the feed.

    \b
    Example:
      narrator remove north-korea-troops-morale -o output
    """
    from .library import open_library
    from .pipeline import render, repair
    from .podcast import resolve_podcast

    with open_library(output_dir, create=False) as library:
        podcast = resolve_podcast(output_dir)
        repair(output_dir, podcast, library)
        record = library.remove(episode)
        render(output_dir, podcast, library)  # then its files go: the feed never names a deleted file
    click.echo(f"removed {record.stem}: {record.title}", err=True)


@main.command()
@_output_option
@podcast_options
@translate_errors
def feed(output_dir: Path, **podcast: Any) -> None:
    """Rebuild feed.xml and index.html from the library, and say where the folder's files and the
    library disagree (flags apply to this build only; --base-url is kept in podcast.toml).

    \b
    Example:
      narrator feed -o output --base-url https://example.org/podcast/
    """
    from .library import open_library
    from .pipeline import owner_missing, rebuild
    from .podcast import keep_base_url, resolve_podcast

    flags = _podcast_flags(podcast)
    with open_library(output_dir, create=False) as library:  # no library, no feed: and nothing written
        podcast_settings = resolve_podcast(output_dir, **flags)
        if flags.get("base_url") is not None:
            note = keep_base_url(output_dir, podcast_settings.base_url)
            if note:
                _note(note)
        path = rebuild(output_dir, podcast_settings, library)
        if owner_missing(podcast_settings):
            _note(owner_missing(podcast_settings))
        for disagreement in library.disagreements():
            click.echo(f"narrator: warning: {disagreement}; narrate its article again, or remove it", err=True)
    click.echo(path)


@main.command()
@click.option(
    "--engine", type=click.Choice(ENGINES), help=f"Only this engine's voices.  [default: every engine here: {SPEAKING}]"
)
@click.option("--language", metavar="TAG", help="Only voices for this language (de, en-US), narrate's choice first.")
@translate_errors
def voices(engine: str | None, language: str | None) -> None:
    """List the installed voices: engine, id, languages, gender and name.

    Every engine that can run here is listed (one that cannot is named on stderr,
    with what to install); --voice takes an id from the list.

    \b
    Examples:
      narrator voices
      narrator voices --engine piper
      narrator voices --language de
    """
    from .errors import EngineUnavailable
    from .language import InstalledVoices, choose_voice, installed_voices, matching_voices
    from .settings import language_tag

    tag = language_tag(language) if language is not None else ""
    found: list[InstalledVoices] = []
    for name in (engine,) if engine else speech_engines():
        try:
            found.append(installed_voices(name))  # by a worker process: espeak started here would hang later forks
        except EngineUnavailable as exc:
            if engine:
                raise
            _note(f"{name}: {exc}")
    if not found:
        raise EngineUnavailable(f"no speech engine can run here ({SPEAKING}); see the messages above")
    if tag and not any(matching_voices(tag, installed) for installed in found):
        choose_voice(tag, found[0], found[1:])  # none speaks it: say which languages there are
    rows = [
        (installed.engine, v.id, ",".join(v.languages) or "-", v.gender or "-", v.name)
        for installed in found
        for v in (matching_voices(tag, installed) if tag else installed.voices)
    ]
    widths = [max([len(row[i]) for row in rows] + [0]) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])


@main.group()
def cache() -> None:
    """Inspect or empty the cache of synthesized sentences.

    \b
    Example:
      narrator cache info
    """


def _clip_cache(cache_dir: Path | None) -> ClipCache:
    from .cache import ClipCache, default_cache_dir

    return ClipCache(cache_dir or default_cache_dir())


_cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The cache folder (also NARRATOR_CACHE_DIR).",
)


@cache.command("info")
@_cache_dir_option
@translate_errors
def cache_info(cache_dir: Path | None) -> None:
    """Show where the cache is, how many sentences it holds and its size.

    \b
    Example:
      narrator cache info --cache-dir /tmp/clips
    """
    info = _clip_cache(cache_dir).info()
    click.echo(f"folder:    {info.path}")
    click.echo(f"sentences: {info.entries}")
    click.echo(f"size:      {info.size_bytes / 2**20:.1f} MiB of {info.max_bytes / 2**20:.0f} MiB")


@cache.command("clear")
@_cache_dir_option
@translate_errors
def cache_clear(cache_dir: Path | None) -> None:
    """Delete every cached sentence.

    \b
    Example:
      narrator cache clear
    """
    removed = _clip_cache(cache_dir).clear()
    click.echo(f"removed {removed} cached sentence(s)", err=True)


@main.command()
@click.argument("folder", default="output", type=click.Path(path_type=Path, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; 0.0.0.0 for every network.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port; 0 picks a free one."
)
@click.option(
    "--base-url",
    help="Where the served feed's links point, for this run only.  [default: the one feed.xml was written"
    " for, or this server's address when that one is local]",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every request on stderr.")
@translate_errors
def serve(folder: Path, host: str, port: int, base_url: str | None, verbose: bool) -> None:
    """Serve the podcast in FOLDER over HTTP: feed.xml, the episodes and the listening page.

    Prints the feed address to subscribe to on stdout; Ctrl-C stops the server.
    Only published files are served: not the library, podcast.toml or any
    dot-file.

    \b
    Example:
      narrator serve output --port 8080
      narrator serve output --host 0.0.0.0 --base-url http://192.168.1.20:8000/
    """
    from .server import Listening
    from .server import serve as run_server

    def announce(listening: Listening) -> None:
        click.echo(listening.feed_url)
        addresses = " and ".join(listening.page_urls or (listening.page_url,))
        click.echo(f"narrator: serving {folder} at {addresses} (Ctrl-C to stop)", err=True)
        if listening.base_url != listening.written_for:
            click.echo(
                f"narrator: the feed's links point at {listening.base_url} for this run"
                f" (feed.xml was written for {listening.written_for})",
                err=True,
            )
        if listening.host in ("0.0.0.0", "::") and listening.base_url.startswith(("http://localhost", "http://127.")):
            example = next((url for url in listening.page_urls[1:]), f"http://192.168.1.20:{listening.port}/")
            click.echo(
                f"narrator: for podcast apps on other devices, give --base-url with this machine's address: {example}",
                err=True,
            )

    from .library import library_path, open_library
    from .pipeline import repair
    from .podcast import resolve_podcast

    if library_path(folder).exists():  # what a killed run left is put right before anything is served
        with open_library(folder, create=False) as library:
            repair(folder, resolve_podcast(folder, create=False), library)
    run_server(folder, host=host, port=port, base_url=base_url, access_log=verbose, on_ready=announce)
    click.echo("narrator: stopped", err=True)


# --- following sources ---------------------------------------------------------------


@main.command()
@click.argument("sources", nargs=-1, required=True)
@_output_option
@click.option(
    "--max",
    "max_items",
    type=click.IntRange(1, 200),
    default=3,
    show_default=True,
    help="How many of a source's newest articles the first update narrates (the older ones are left out).",
)
@click.option("--language", "article_language", metavar="TAG", help="Read the source's articles as this language.")
@click.option("--voice", help="Voice id for the source's articles (see `narrator voices`).")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    help=f"Speech engine for the source's articles: {SPEAKING} (tone: beeps, for tests)."
    "  [default: podcast.toml's engine, else pyttsx3]",
)
@click.option(
    "--lexicon",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="TOML file of words and how to say them, for the source's articles.",
)
@click.option("--full-page", is_flag=True, help="Always read the item's linked page, never the feed's copy.")
@_timeout_option("a feed")
@translate_errors
def follow(
    sources: tuple[str, ...],
    output_dir: Path,
    max_items: int,
    article_language: str | None,
    voice: str | None,
    engine: str | None,
    lexicon: Path | None,
    full_page: bool,
    timeout_s: float,
) -> None:
    """Follow SOURCES: each new article in them becomes an episode at `narrator update`.

    A source is a feed's address (RSS 2.0, RSS 1.0 or Atom), an OPML file (each of
    its feeds is followed) or a text file of article addresses, one a line (each new
    line is a new article). Every feed is fetched now, to check that it is one.
    Following a source again gives it the options of this command.

    \b
    Examples:
      narrator follow https://blog.example.org/feed.xml -o output
      narrator follow subscriptions.opml --max 1 -o output
      narrator follow reading-list.txt --voice en-gb -o output
      narrator follow https://zeitung.example/rss --language de --full-page -o output
    """
    from .follow import find_sources
    from .lexicon import load_lexicon
    from .library import open_library
    from .models import SourceOptions
    from .settings import language_tag

    if lexicon is not None:
        load_lexicon([lexicon])  # a lexicon that cannot be read is an error now, not at every update
    options = SourceOptions(
        max_items=max_items,
        language=language_tag(article_language),
        voice=voice or "",
        engine=engine or "",
        lexicon=str(lexicon.resolve()) if lexicon else "",
        full_page=full_page,
    )
    failures = Failures()
    found = []
    for source in find_sources(sources, timeout_s=timeout_s):
        if isinstance(source, NarratorError):
            failures.report(source)
        else:
            found.append(source)
    if found:
        with open_library(output_dir) as library:
            for source in found:
                record, added = library.follow(source.url, source.kind, title=source.title, options=options)
                what = "following" if added else "already followed, with these options now:"
                click.echo(f"narrator: {what} {record.url} ({record.title or record.kind})", err=True)
    failures.exit()


@main.command()
@click.argument("source")
@_output_option
@translate_errors
def unfollow(source: str, output_dir: Path) -> None:
    """Stop following SOURCE (its id, address or path, see `narrator sources`); its episodes stay.

    \b
    Example:
      narrator unfollow https://blog.example.org/feed.xml -o output
    """
    from .follow import open_sources

    with open_sources(output_dir) as library:
        record = library.unfollow(source)
    click.echo(f"narrator: no longer following {record.url}; its {plural(record.narrated, 'episode')} stay", err=True)


@main.command("sources")
@_output_option
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@translate_errors
def list_sources(output_dir: Path, as_json: bool) -> None:
    """List the sources the podcast follows: when each was last checked, its last error and its items
    (narrated, left out at the first update, failed).

    \b
    Example:
      narrator sources -o output
      narrator sources -o output --json | jq '.[] | select(.failures > 0) | .url'
    """
    import json

    from .follow import open_sources
    from .library import source_dict

    with open_sources(output_dir) as library:
        records = library.sources()
    if as_json:
        click.echo(json.dumps([source_dict(r) for r in records], ensure_ascii=False, indent=2))
        return
    if not records:
        click.echo("no sources followed yet; narrator follow FEED adds one", err=True)
        return
    headers = ("ID", "KIND", "CHECKED", "EPISODES", "LEFT OUT", "FAILED", "SOURCE")
    rows = []
    for r in records:
        checked = r.checked_at.strftime("%Y-%m-%d %H:%M") if r.checked_at else "never"
        rows.append((str(r.id), str(r.kind), checked, str(r.narrated), str(r.skipped), str(r.failed), r.url))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers[:-1])]
    for row, record in zip((headers, *rows), (None, *records), strict=True):
        click.echo(("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]).rstrip())
        if record is not None and record.error:
            times = f" ({plural(record.failures, 'check')} in a row)" if record.failures > 1 else ""
            click.echo(f"    last error{times}: {record.error}")


@main.command()
@_output_option
@click.option("--dry-run", is_flag=True, help="List what would be narrated; narrate nothing, write nothing.")
@_timeout_option("a feed or a page")
@synthesis_options
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help="Narrate the new articles on a Dask cluster, as narrate --cluster does (tcp://HOST:8786, local:N).",
)
@click.option(
    "--shared-output",
    type=click.Path(path_type=Path, file_okay=False),
    help="With --cluster: the output folder as the workers see it (a shared file system).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary; errors only (for cron).")
@translate_errors
def update(
    output_dir: Path,
    dry_run: bool,
    timeout_s: float,
    jobs: int | None,
    cache_dir: Path | None,
    no_cache: bool,
    cluster: str | None,
    shared_output: Path | None,
    quiet: bool,
) -> None:
    """Check every source the podcast follows and narrate what is new or edited, then publish.

    Feeds are asked conditionally (ETag, Last-Modified): one that has not changed
    answers 304 and costs nothing more. A source that cannot be read is one line on
    stderr and the others go on; the exit status says whether anything failed. Two
    updates at once never narrate an item twice, and an update that is killed is
    finished by the next one: safe to run from cron.

    \b
    Examples:
      narrator update -o output
      narrator update -o output --dry-run
      narrator update -o output --cluster tcp://10.0.0.5:8786
      */30 * * * *  narrator update -o /srv/podcast -q   (a crontab line)
    """
    from .follow import SourceFailed, Summary, WouldNarrate
    from .follow import update as run_update
    from .models import SourceOptions
    from .pipeline import Failed, Progress, Skipped
    from .settings import resolve, resolve_cluster, resolve_engine

    cluster = resolve_cluster(cluster, output_dir)

    def settings_for(options: SourceOptions) -> Settings:
        return resolve(
            output_dir=output_dir,
            engine=resolve_engine(options.engine or None, output_dir),
            voice=options.voice or None,
            jobs=jobs,
            cache_dir=cache_dir,
            no_cache=no_cache,
            language=options.language or None,
            lexicon=Path(options.lexicon) if options.lexicon else None,
            cluster=cluster,
            shared_output=shared_output,
        )

    failures = Failures()
    with _progress_bar(enabled=not quiet and sys.stderr.isatty()) as bar:
        progress = Progress(start=bar.start, advance=bar.advance, finish=bar.finish, note=_note, articles=bar.articles)
        for event in run_update(
            output_dir, settings_for=settings_for, dry_run=dry_run, timeout_s=timeout_s, progress=progress
        ):
            bar.finish()
            if isinstance(event, (Failed, SourceFailed)):
                failures.report(event.error)
            elif isinstance(event, Skipped):
                if not quiet:  # another update has it: nothing for cron to mail about
                    click.echo(f"narrator: {event.source}: {event.reason}; skipped", err=True)
            elif isinstance(event, WouldNarrate):
                article = event.candidate.article
                click.echo(f"{event.candidate.why:6}  {article.title if article else ''}  {event.candidate.label}")
            elif isinstance(event, Summary):
                if not quiet:
                    _note(update_summary(event, dry_run=dry_run))
            elif not quiet:
                click.echo(summary(event))
    failures.exit()


def update_summary(found: Any, *, dry_run: bool = False) -> str:
    """What ``narrator update`` says at the end (on stderr).

    >>> from narrator.follow import Summary
    >>> update_summary(Summary(sources=50, not_modified=50, failed_sources=0, candidates=0, narrated=0, requests=50))
    '50 sources checked (50 unchanged): nothing new; 50 requests'
    >>> update_summary(Summary(sources=3, not_modified=1, failed_sources=1, candidates=2, narrated=2, requests=5))
    '3 sources checked (1 unchanged, 1 failed): 2 new or edited items, 2 in the podcast; 5 requests'
    """
    parts = [f"{found.not_modified} unchanged"] if found.not_modified else []
    if found.failed_sources:
        parts.append(f"{found.failed_sources} failed")
    checked = f"{plural(found.sources, 'source')} checked" + (f" ({', '.join(parts)})" if parts else "")
    if not found.candidates:
        news = "nothing new"
    elif dry_run:
        news = f"{plural(found.candidates, 'new or edited item')} to narrate"
    else:
        news = f"{plural(found.candidates, 'new or edited item')}, {found.narrated} in the podcast"
    return f"{checked}: {news}; {plural(found.requests, 'request')}"
