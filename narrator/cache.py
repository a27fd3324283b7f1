"""A content-addressed cache of synthesized clips, shared between runs.

One WAV file per clip, named by the SHA-256 of everything that changes its sound
(engine, engine version, voice, rate, pitch, text). Writes go to a temporary
file that is renamed into place, so two runs sharing the cache never see half a
file. Reads refresh the file's modification time; when the cache grows past its
limit the least recently used clips are deleted first.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from .models import Clip

DEFAULT_MAX_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CacheInfo:
    path: Path
    entries: int
    size_bytes: int
    max_bytes: int


def clip_key(*, engine: str, engine_version: str, voice: str, rate: int, pitch: int, text: str) -> str:
    """The cache key of a clip.

    >>> clip_key(engine="e", engine_version="1", voice="v", rate=175, pitch=50, text="Hi")[:12]
    'de1673ae63bb'
    """
    parts = (engine, engine_version, voice, str(rate), str(pitch), text)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def default_cache_dir() -> Path:
    env = os.environ.get("NARRATOR_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("narrator")) / "clips"


class ClipCache:
    """Clips on disk under ``root``, at most ``max_bytes`` in all (checked by ``trim()``)."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.wav"

    def has(self, key: str) -> bool:
        return self._path(key).is_file()

    def get(self, key: str) -> Clip | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
            os.utime(path)  # mark as recently used for eviction
            with wave.open(io.BytesIO(data), "rb") as wav:
                clip = Clip(pcm=wav.readframes(wav.getnframes()), sample_rate=wav.getframerate())
        except (OSError, EOFError, wave.Error):
            return None  # missing, evicted meanwhile, or damaged: synthesize again
        return clip if clip.pcm else None

    def put(self, key: str, clip: Clip) -> None:
        path = self._path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{os.getpid()}-", suffix=".wav")
            with os.fdopen(fd, "wb") as handle, wave.open(handle, "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(clip.sample_rate)
                wav.writeframes(clip.pcm)
            os.replace(tmp, path)
        except OSError:
            # A cache that cannot be written only costs speed; the run goes on.
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def _entries(self) -> list[tuple[float, int, Path]]:
        found: list[tuple[float, int, Path]] = []
        if not self.root.is_dir():
            return found
        for path in self.root.glob("??/*.wav"):
            try:
                st = path.stat()
            except OSError:
                continue
            found.append((st.st_mtime, st.st_size, path))
        return found

    def trim(self) -> int:
        """Delete least recently used clips until the cache fits its limit, and what killed writers
        left half-written; returns how many clips went."""
        from .folder import sweep_stale

        for folder in self.root.glob("??"):
            sweep_stale(folder)
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def info(self) -> CacheInfo:
        entries = self._entries()
        return CacheInfo(self.root, len(entries), sum(size for _, size, _ in entries), self.max_bytes)

    def clear(self) -> int:
        entries = self._entries()
        for _, _, path in entries:
            path.unlink(missing_ok=True)
        for folder in self.root.glob("??"):
            with contextlib.suppress(OSError):
                folder.rmdir()
        return len(entries)
