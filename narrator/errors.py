"""narrator's own exceptions: everything the CLI turns into one line and an exit code."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """Process exit codes, one per kind of failure."""

    OK = 0
    ERROR = 1
    USAGE = 2
    BAD_INPUT = 3
    ENGINE = 4
    CLUSTER = 5
    INTERRUPTED = 130
    BROKEN_PIPE = 141
    TERMINATED = 143


class NarratorError(Exception):
    """Something the user can fix; carries the file it concerns and the reason."""

    exit_status = ExitStatus.ERROR

    def __init__(self, reason: str, path: Path | str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path is not None else self.reason


class InputError(NarratorError):
    """An article could not be read: missing, empty, binary or without words."""

    exit_status = ExitStatus.BAD_INPUT


class SettingsError(NarratorError):
    """A setting, flag or configuration file has a value that cannot be used."""

    exit_status = ExitStatus.USAGE


class EngineUnavailable(NarratorError):
    """The speech engine cannot run here; the message says what to install."""

    exit_status = ExitStatus.ENGINE


class SynthesisError(NarratorError):
    """The engine failed, timed out or returned no audio for a piece of text."""

    exit_status = ExitStatus.ENGINE


class EncodeError(NarratorError):
    """The audio could not be encoded or written; includes the encoder's stderr tail."""


class OutputError(NarratorError):
    """The output folder or one of its files could not be written."""


class LibraryError(NarratorError):
    """The episode library cannot be opened, read or updated; the message says why."""


class EpisodeNotFoundError(NarratorError):
    """No episode in the library matches what was asked for."""


class ServeError(NarratorError):
    """narrator serve cannot start: the port is taken or unusable, or the folder has no feed."""


class ClusterError(NarratorError):
    """The Dask cluster cannot be used: not installed, unreachable, without workers, or lost mid-run."""

    exit_status = ExitStatus.CLUSTER


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM): it cleans up as after Ctrl-C, then exits 143."""
