"""A content-addressed cache of synthesized clips, shared between runs.

One WAV file per clip, named by the SHA-256 of everything that changes its sound
(engine, engine version, voice and its model's digest, rate, pitch, text). Writes go to a temporary
file that is renamed into place, so two runs sharing the cache never see half a
file. Reads refresh the file's modification time; when the cache grows past its
limit the least recently used clips are deleted first. A clip's word marks, when it
has them, travel in the same file, in RIFF chunks of their own after the audio (WAV
readers skip chunks they do not know), so they are never separated from the audio
they were measured on.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import io
import os
import struct
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from .models import Clip, WordMark

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: RIFF chunk holding a clip's word marks: (offset, sample) pairs of little-endian int32s.
WORDS_CHUNK = b"nwrd"
#: RIFF chunk holding where each of those words ends (an int32 sample each), for engines that tell.
WORD_ENDS_CHUNK = b"nwen"


def _int32s(values: list[int]) -> bytes:
    packed = array.array("i", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _chunk(name: bytes, body: bytes) -> bytes:
    return name + struct.pack("<I", len(body)) + body


def wav_with_words(wav: bytes, words: tuple[WordMark, ...] | None) -> bytes:
    """A WAV file's bytes with the word marks appended as a WORDS_CHUNK (unchanged when None),
    and their ends as a WORD_ENDS_CHUNK when every word has one."""
    if words is None:
        return wav
    data = wav + _chunk(WORDS_CHUNK, _int32s([v for w in words for v in (w.offset, w.sample)]))
    ends = [w.end for w in words]
    if words and all(end is not None for end in ends):
        data += _chunk(WORD_ENDS_CHUNK, _int32s([end for end in ends if end is not None]))
    return data[:4] + struct.pack("<I", len(data) - 8) + data[8:]  # the RIFF size covers the new chunks


def words_in_wav(data: bytes) -> tuple[WordMark, ...] | None:
    """The word marks wav_with_words put in a WAV file's bytes; None when it has none.

    >>> words = (WordMark(0, 0), WordMark(4, 1234))
    >>> words_in_wav(wav_with_words(b"RIFF\\0\\0\\0\\0WAVE", words)) == words
    True
    >>> timed = (WordMark(0, 0, 900), WordMark(4, 1234, 2000))
    >>> words_in_wav(wav_with_words(b"RIFF\\0\\0\\0\\0WAVE", timed)) == timed
    True
    """
    chunks: dict[bytes, array.array[int]] = {}
    pos = 12
    while pos + 8 <= len(data):
        name, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if name in (WORDS_CHUNK, WORD_ENDS_CHUNK):
            values = array.array("i")
            values.frombytes(data[pos + 8 : pos + 8 + size - size % 4])
            if sys.byteorder == "big":
                values.byteswap()
            chunks[name] = values
        pos += 8 + size + (size & 1)
    marks = chunks.get(WORDS_CHUNK)
    if marks is None:
        return None
    count = len(marks) // 2
    ends = chunks.get(WORD_ENDS_CHUNK)
    if ends is None or len(ends) != count:
        return tuple(WordMark(marks[2 * i], marks[2 * i + 1]) for i in range(count))
    return tuple(WordMark(marks[2 * i], marks[2 * i + 1], ends[i]) for i in range(count))


@dataclass(frozen=True, slots=True)
class CacheInfo:
    path: Path
    entries: int
    size_bytes: int
    max_bytes: int


def clip_key(
    *, engine: str, engine_version: str, voice: str, rate: int, pitch: int, text: str, voice_digest: str = ""
) -> str:
    """The cache key of a clip; ``voice_digest`` names the voice's model file, for engines whose voices are files.

    >>> clip_key(engine="e", engine_version="1", voice="v", rate=175, pitch=50, text="Hi")[:12]
    'de1673ae63bb'
    >>> clip_key(engine="e", engine_version="1", voice="v", rate=175, pitch=50, text="Hi", voice_digest="ab")[:12]
    '40311c6c091c'
    """
    parts: tuple[str, ...] = (engine, engine_version, voice, str(rate), str(pitch), text)
    if voice_digest:
        parts += (voice_digest,)
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
                pcm, rate = wav.readframes(wav.getnframes()), wav.getframerate()
            clip = Clip(pcm=pcm, sample_rate=rate, words=words_in_wav(data))
        except (OSError, EOFError, wave.Error, struct.error):
            return None  # missing, evicted meanwhile, or damaged: synthesize again
        return clip if clip.pcm else None

    def put(self, key: str, clip: Clip) -> None:
        path = self._path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            with wave.open(buffer, "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(clip.sample_rate)
                wav.writeframes(clip.pcm)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{os.getpid()}-", suffix=".wav")
            with os.fdopen(fd, "wb") as handle:
                handle.write(wav_with_words(buffer.getvalue(), clip.words))
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
