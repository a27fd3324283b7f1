"""Run the narrator command with a fault at one step of publishing: killed there, or a failing write.

    python tests/faults.py STEP ACTION narrate ARTICLE -o DIR ...

ACTION is ``kill`` (SIGKILL, as a power cut or the OOM killer would), ``enospc`` (the disk
is full) or ``eio`` (the disk fails). STEP names a place where publishing writes (``STEPS``);
the fault strikes the first time the run gets there, from inside the system call or the
SQL statement that fails there, so narrator meets it as it would meet the real thing.
Used by tests/test_safety.py and bench/kill_campaign.py; nothing here is part of narrator.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _ends(suffix: str) -> Callable[..., bool]:
    return lambda source, target, *args, **kwargs: str(target).endswith(suffix)


def _sql(prefix: str) -> Callable[..., bool]:
    return lambda library, sql, *args, **kwargs: sql.lstrip().startswith(prefix)


#: STEP -> (owner, attribute, which call): the function the fault is put into ("tags": mutagen's save).
STEPS: dict[str, tuple[Any, str, Callable[..., bool]]] = {
    # The episode's private folder in the output folder.
    "staging": (tempfile, "mkdtemp", lambda *a, **k: str(k.get("prefix", "")).startswith(".tmp-")),
    # The audio spool, the tags, the captions, and the moves into place.
    "spool": (Path, "open", lambda path, *a, **k: path.name == "episode.raw"),
    "captions": (Path, "write_text", lambda path, *a, **k: path.name.endswith(".vtt")),
    "move-captions": (
        os,
        "replace",
        lambda source, target: str(source).find("/.tmp-") >= 0 and str(target).endswith(".vtt"),
    ),
    "move-audio": (
        os,
        "replace",
        lambda source, target: str(source).find("/.tmp-") >= 0 and str(target).endswith(".mp3"),
    ),
    # The library: the episode recorded, and the feed's generation noted.
    "record": (None, "_execute", _sql("INSERT INTO files")),
    "rendered": (None, "_execute", lambda library, sql, params=(): "rendered_generation" in str(params)),
    # narrator update: what became of a followed source's items, noted once they are published.
    "settle": (None, "_execute", _sql("INSERT INTO source_items")),
    # The feed, the page, the cover, and the garbage collected after them.
    "page": (os, "replace", _ends("index.html")),
    "feed": (os, "replace", _ends("feed.xml")),
    "cover": (os, "replace", _ends("cover.jpg")),
    "garbage": (Path, "unlink", lambda path, *a, **k: path.name.endswith((".mp3", ".vtt", ".srt", ".json"))),
}


class _Spool:
    """The spool file, failing at its sixth write (a few clips in)."""

    def __init__(self, handle: Any, strike: Callable[[], None]) -> None:
        self.handle, self.strike, self.writes = handle, strike, 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        if self.writes == 6:
            self.strike()
        return int(self.handle.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)

    def __enter__(self) -> _Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def install(step: str, action: str) -> None:
    """Put the fault into the step's function: it strikes the first time that function is called there."""
    from narrator.library import Library

    if step not in (*STEPS, "tags"):
        raise SystemExit(f"faults.py: no step {step!r}; steps: tags, {', '.join(STEPS)}")
    struck: list[bool] = []

    def strike() -> None:
        struck.append(True)
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        code = errno.ENOSPC if action == "enospc" else errno.EIO
        if step in ("record", "rendered"):
            raise sqlite3.OperationalError("disk I/O error" if code == errno.EIO else "database or disk is full")
        raise OSError(code, os.strerror(code))

    if step == "tags":
        import narrator.tagging as tagging

        save = tagging.ID3.save

        def failing_save(*args: Any, **kwargs: Any) -> Any:
            if not struck:
                strike()
            return save(*args, **kwargs)

        tagging.ID3.save = failing_save  # type: ignore[method-assign]
        return
    owner, attribute, this_call = STEPS[step]
    owner = Library if owner is None else owner
    original = getattr(owner, attribute)

    def faulty(*args: Any, **kwargs: Any) -> Any:
        if not struck and this_call(*args, **kwargs):
            if step == "spool":
                return _Spool(original(*args, **kwargs), strike)
            if attribute == "_execute":
                with args[0]._errors():  # as the library meets a failing statement
                    strike()
            strike()
        return original(*args, **kwargs)

    setattr(owner, attribute, faulty)


def main() -> None:
    step, action, *args = sys.argv[1:]
    install(step, action)
    from narrator.cli import run

    sys.argv = ["narrator", *args]
    run()


if __name__ == "__main__":
    main()
