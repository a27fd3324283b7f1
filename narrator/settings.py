"""Settings for a run, resolved once from defaults, the environment and flags into a frozen Settings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SettingsError

if TYPE_CHECKING:
    from .lexicon import Lexicon
    from .podcast import PodcastSettings

DEFAULT_ENGINE = "pyttsx3"
DEFAULT_RATE_WPM = 175
DEFAULT_BITRATE_KBPS = 64
BITRATES_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160)
#: The longest episode narrated without being asked (--max-hours): a 20 MB text would otherwise
#: make days of audio, and a spool of tens of gigabytes on the way.
DEFAULT_MAX_HOURS = 12.0
"""Bitrates MPEG-2 Layer III allows at 22.05 kHz (the engine's rate)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a narration run needs to know, checked."""

    output_dir: Path = Path("output")
    engine: str = DEFAULT_ENGINE
    voice: str = ""
    """Engine voice id; empty for the engine's default."""
    rate_wpm: int = DEFAULT_RATE_WPM
    bitrate_kbps: int = DEFAULT_BITRATE_KBPS
    jobs: int = 0
    """Worker processes for synthesis; 0 means one per core."""
    cache_dir: Path | None = field(default=None)
    """Where synthesized clips are kept; None disables the cache."""
    cache_max_bytes: int = 512 * 1024 * 1024
    timeout_s: float = 60.0
    """How long the engine may take over one sentence before the run stops."""
    podcast: PodcastSettings | None = None
    """The podcast's settings (podcast.toml and its flags); None outside a podcast folder."""
    language: str = ""
    """BCP 47 tag every article is read in (--language); empty: each article's own."""
    lexicon: Lexicon | None = None
    """How words are said: --lexicon over the podcast's lexicon.toml over the built-in entries; None: built-in only."""
    max_audio_hours: float = DEFAULT_MAX_HOURS
    """An article whose audio would last longer than this is refused before any work (--max-hours)."""
    cluster: str = ""
    """The Dask cluster that narrates (--cluster, NARRATOR_CLUSTER, podcast.toml): a scheduler's
    address, or local:N; empty: this machine's worker processes."""
    cluster_timeout_s: float = 10.0
    """How long reaching the cluster's scheduler and a first worker may take (NARRATOR_CLUSTER_TIMEOUT)."""
    worker_cache_dir: Path | None = None
    """With a cluster: the sentence cache every worker uses (--cache-dir, a folder all of them see);
    None: each worker its own (its NARRATOR_CACHE_DIR, else its user cache folder)."""
    shared_output: Path | None = None
    """With a cluster: the output folder as the workers see it on a shared file system
    (--shared-output); they leave the episodes' files there. None: the files travel as bytes."""


def resolve_cluster(cluster: str | None, output_dir: Path) -> str:
    """--cluster, else NARRATOR_CLUSTER, else podcast.toml's cluster, checked; "" for the local pool
    (an empty --cluster asks for it whatever the others say)."""
    from .executor import parse_cluster
    from .folder import podcast_path

    if cluster is None:
        cluster = os.environ.get("NARRATOR_CLUSTER")
    if cluster is None and podcast_path(output_dir).is_file():
        from .podcast import load_podcast

        cluster = load_podcast(podcast_path(output_dir)).cluster
    if not (cluster or "").strip():
        return ""
    parse_cluster(cluster or "")
    return (cluster or "").strip()


def resolve_engine(engine: str | None, output_dir: Path) -> str:
    """``--engine``, else the engine podcast.toml names, else pyttsx3; SettingsError for one narrator lacks."""
    from .engines import check_engine
    from .podcast import podcast_engine

    return check_engine(engine or podcast_engine(output_dir) or DEFAULT_ENGINE)


def resolve_jobs(jobs: int | None) -> int:
    """``--jobs``: at least 1; not given, one per core."""
    from .executor import default_jobs

    if jobs is not None and jobs < 1:
        raise SettingsError(f"--jobs must be at least 1, not {jobs}")
    return jobs or default_jobs()


def language_tag(value: str | None, flag: str = "--language") -> str:
    """A language flag's value as a BCP 47 tag; "" when not given (None); SettingsError when it is not one."""
    from .language import normalize_tag

    tag = normalize_tag(value or "")
    if value is not None and not tag:
        raise SettingsError(f"{flag} must be a language tag such as en, de or pt-BR, not {value!r}")
    return tag


def resolve(
    *,
    output_dir: Path,
    voice: str | None = None,
    rate_wpm: int | None = None,
    bitrate_kbps: int | None = None,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    no_cache: bool = False,
    engine: str = DEFAULT_ENGINE,
    podcast: dict[str, Any] | None = None,
    language: str | None = None,
    lexicon: Path | None = None,
    max_hours: float | None = None,
    cluster: str = "",
    shared_output: Path | None = None,
) -> Settings:
    """Combine flags (None = not given), the environment, podcast.toml and defaults into Settings.

    Nothing is written: podcast.toml is created when the first episode is published.
    """
    from .cache import default_cache_dir
    from .folder import LEXICON_FILE
    from .lexicon import load_lexicon
    from .podcast import resolve_podcast

    rate = DEFAULT_RATE_WPM if rate_wpm is None else rate_wpm
    if not 80 <= rate <= 450:
        raise SettingsError(f"--rate must be between 80 and 450 words per minute, not {rate}")
    bitrate = DEFAULT_BITRATE_KBPS if bitrate_kbps is None else bitrate_kbps
    if bitrate not in BITRATES_KBPS:
        raise SettingsError(f"--bitrate must be one of {', '.join(map(str, BITRATES_KBPS))} kb/s, not {bitrate}")
    max_audio_hours = DEFAULT_MAX_HOURS if max_hours is None else max_hours
    if not max_audio_hours > 0:
        raise SettingsError(f"--max-hours must be more than 0, not {max_hours}")
    try:
        timeout = float(os.environ.get("NARRATOR_ENGINE_TIMEOUT", "60"))
    except ValueError:
        raise SettingsError("NARRATOR_ENGINE_TIMEOUT must be a number of seconds") from None
    try:
        cluster_timeout = float(os.environ.get("NARRATOR_CLUSTER_TIMEOUT", "10"))
    except ValueError:
        raise SettingsError("NARRATOR_CLUSTER_TIMEOUT must be a number of seconds") from None
    if shared_output is not None and not cluster:
        raise SettingsError("--shared-output is for --cluster runs: the output folder as the cluster's workers see it")
    tag = language_tag(language or None)  # --language "" reads each article in its own language
    podcast_lexicon = output_dir / LEXICON_FILE
    lexicon_files = [podcast_lexicon] if podcast_lexicon.is_file() else []
    if lexicon is not None:
        lexicon_files.append(lexicon)  # a missing --lexicon file is an error; a podcast without lexicon.toml is not
    return Settings(
        output_dir=output_dir,
        engine=engine,
        voice=voice or "",
        rate_wpm=rate,
        bitrate_kbps=bitrate,
        jobs=resolve_jobs(jobs),
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
        timeout_s=timeout,
        podcast=resolve_podcast(output_dir, create=False, **(podcast or {})),
        language=tag,
        lexicon=load_lexicon(lexicon_files),
        max_audio_hours=max_audio_hours,
        cluster=cluster,
        cluster_timeout_s=cluster_timeout,
        # A --cache-dir given for a cluster run is the workers' (a folder they all see); without one
        # each worker keeps its own cache, on its own machine.
        worker_cache_dir=cache_dir if cluster and not no_cache else None,
        shared_output=shared_output,
    )
