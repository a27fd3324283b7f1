"""How well narrator finds the article in saved web pages: token F1 against hand-checked bodies.

The page set is built at bench time from two source distributions on the package
index (downloaded with ``pip download`` into a cache folder outside the repo):

* newspaper4k 0.9.6 ships real news pages (``tests/data/html/NAME.html``) beside
  the article body its maintainers checked by hand (``tests/data/txt/NAME.txt``,
  no title or byline): these are scored by F1;
* trafilatura 1.1.0 (the last sdists with ``tests/cache/``) ships real news, blog
  and company pages, and ``tests/realworld_tests.py`` names sentences each must
  yield and chrome it must not (read with ``ast``, never run): these are scored
  by snippets found and leaked, since they have no whole body.

F1 is over word tokens (``\\w+``, lowercased, NFKC; one token per character in
scripts written without spaces), as a bag per page, averaged over pages; the
"shingle" column is the ScrapingHub article-extraction-benchmark's own formula
(4-gram shingles, F1 of mean precision and mean recall), for comparison with
published figures. narrator's text is its blocks as narrated (captions without
credits), title and byline aside. A page "fails" when the reader refuses it or
returns nothing. Nothing is asserted: this prints figures.

    python bench/extract_f1.py                    # build (or reuse) the set, print the table
    python bench/extract_f1.py --cache DIR        # where sdists and pages are kept
    python bench/extract_f1.py --pages            # also every body page's F1
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tarfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {"newspaper4k": "0.9.6", "trafilatura": "1.1.0"}
ESPEAK_README = Path("/usr/share/doc/espeak-ng/README.html")

# --- the page set ---------------------------------------------------------------------


@dataclass
class Page:
    id: str
    kind: str
    """"body" (a whole reference body) or "snippets" (must / must-not strings)."""
    html: bytes
    body: str = ""
    with_: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "narrator-bench"


def fetch_sdist(name: str, version: str, cache: Path) -> Path:
    """The sdist in ``cache``, downloaded with pip when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"{name}-{version}.tar.gz")) + sorted(
        cache.glob(f"{name.replace('-', '_')}-{version}.tar.gz")
    )
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", "-d", str(cache)]
        subprocess.run([*cmd, f"{name}=={version}"], check=True)
        found = sorted(cache.glob(f"{name}-{version}.tar.gz")) + sorted(cache.glob(f"{name}_{version}.tar.gz"))
    if not found:
        raise SystemExit(f"pip left no {name}-{version}.tar.gz in {cache}")
    return found[0]


def members(sdist: Path) -> dict[str, bytes]:
    """Every file of the tarball, by its path below the top folder."""
    out: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                out[member.name.split("/", 1)[1]] = handle.read()
    return out


def newspaper_pages(files: dict[str, bytes]) -> list[Page]:
    pages = []
    for path in sorted(files):
        if path.startswith("tests/data/html/") and path.endswith(".html"):
            txt = files.get(f"tests/data/txt/{Path(path).stem}.txt")
            if txt is not None:  # a site's front page, kept upstream for other tests, has no body
                pages.append(Page(f"np-{Path(path).stem}", "body", files[path], body=txt.decode("utf-8")))
    return pages


def _asserts(test: ast.Assert) -> list[tuple[bool, str]]:
    """(must_contain, text) for each ``'text' in result`` / ``'text' not in result`` of one assert."""
    parts = test.test.values if isinstance(test.test, ast.BoolOp) and isinstance(test.test.op, ast.And) else [test.test]
    found = []
    for part in parts:
        if (
            isinstance(part, ast.Compare)
            and len(part.ops) == 1
            and isinstance(part.left, ast.Constant)
            and isinstance(part.left.value, str)
            and part.left.value.strip()
            and isinstance(part.comparators[0], ast.Name)
            and isinstance(part.ops[0], ast.In | ast.NotIn)
        ):
            found.append((isinstance(part.ops[0], ast.In), part.left.value))
    return found


def trafilatura_pages(files: dict[str, bytes]) -> list[Page]:
    tree = ast.parse(files["tests/realworld_tests.py"].decode("utf-8"))
    mock: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and getattr(statement.targets[0], "id", "") == "MOCK_PAGES":
            mock = ast.literal_eval(statement.value)
    snippets: dict[str, tuple[list[str], list[str]]] = {}
    for func in (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")):
        current: str | None = None
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                call = node.value
                if getattr(call.func, "id", "") == "load_mock_page" and call.args:
                    first = call.args[0]
                    current = str(first.value) if isinstance(first, ast.Constant) else current
            elif isinstance(node, ast.Assert) and current:
                with_, without = snippets.setdefault(current, ([], []))
                for must, text in _asserts(node):
                    (with_ if must else without).append(text)
    pages = []
    for url, (with_, without) in sorted(snippets.items(), key=lambda kv: mock.get(kv[0], "")):
        name = mock.get(url)
        raw = files.get(f"tests/cache/{name}") if name else None
        if raw is not None and with_:
            page_id = "tf-" + Path(name or "").stem.replace(" ", "_")
            pages.append(
                Page(page_id, "snippets", raw, with_=list(dict.fromkeys(with_)), without=list(dict.fromkeys(without)))
            )
    return pages


def build_set(cache: Path) -> list[Page]:
    """The page set, from the sdists in ``cache`` (downloaded when missing), kept gzipped there."""
    stored = cache / "pages.json.gz"
    if stored.exists():
        raw = json.loads(gzip.decompress(stored.read_bytes()))
        return [Page(**{**p, "html": p["html"].encode("latin-1")}) for p in raw]
    pages = newspaper_pages(members(fetch_sdist("newspaper4k", SOURCES["newspaper4k"], cache)))
    pages += trafilatura_pages(members(fetch_sdist("trafilatura", SOURCES["trafilatura"], cache)))
    raw = [{**p.__dict__, "html": p.html.decode("latin-1")} for p in pages]
    stored.write_bytes(gzip.compress(json.dumps(raw).encode("utf-8"), mtime=0))
    return pages


# --- the measure ------------------------------------------------------------------------

_UNSPACED = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_TOKEN = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")


def tokens(text: str) -> list[str]:
    """Lowercased word tokens; one per character in unspaced scripts.

    >>> tokens("Hello, World! 東京都")
    ['hello', 'world', '東', '京', '都']
    """
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def f1(reference: str, extracted: str) -> float:
    """Bag-of-tokens F1 of one page.

    >>> round(f1("the cat sat on the mat", "the cat sat on a mat"), 3)
    0.833
    """
    ref, got = Counter(tokens(reference)), Counter(tokens(extracted))
    tp = sum((ref & got).values())
    if not tp:
        return 0.0
    precision, recall = tp / sum(got.values()), tp / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def shingle_f1(pairs: Iterable[tuple[str, str]], n: int = 4) -> float:
    """The article-extraction-benchmark's F1: case-kept ``\\w+`` 4-gram shingles, tp/fp/fn normalised
    per page, harmonic mean of mean precision and mean recall."""
    precisions, recalls = [], []
    for reference, extracted in pairs:

        def shingles(text: str) -> Counter[tuple[str, ...]]:
            toks = re.findall(r"\w+", text or "")
            return Counter(tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1)) if toks[i : i + n])

        ref, got = shingles(reference), shingles(extracted)
        tp = float(sum((ref & got).values()))
        fp, fn = float(sum(got.values())) - tp, float(sum(ref.values())) - tp
        total = tp + fp + fn or 1.0
        tp, fp, fn = tp / total, fp / total, fn / total
        if tp + fp > 0:
            precisions.append(1.0 if fp == fn == 0 else tp / (tp + fp))
        if tp + fn > 0:
            recalls.append(1.0 if fp == fn == 0 else tp / (tp + fn))
    p = statistics.mean(precisions) if precisions else 0.0
    r = statistics.mean(recalls) if recalls else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


# --- what is measured -----------------------------------------------------------------------


@dataclass
class Output:
    text: str = ""
    headings: int = 0
    items: int = 0
    error: str = ""


def narrator_reader(html: bytes) -> Output:
    """narrator's reader: the blocks it narrates, joined (captions as said, without credits)."""
    from narrator.errors import NarratorError
    from narrator.models import BlockKind
    from narrator.readers.base import strip_credit
    from narrator.readers.html import parse_html

    try:
        article = parse_html(html, source="page.html")
    except NarratorError as exc:
        return Output(error=str(exc))
    texts = [strip_credit(b.text) if b.kind is BlockKind.CAPTION else b.text for b in article.blocks]
    return Output(
        text="\n\n".join(texts),
        headings=sum(b.kind is BlockKind.HEADING for b in article.blocks),
        items=sum(b.kind is BlockKind.ITEM for b in article.blocks),
    )


def _trafilatura(**options: Any) -> Callable[[bytes], Output]:
    def run(html: bytes) -> Output:
        import trafilatura

        doc: Any = trafilatura.bare_extraction(html, include_comments=False, with_metadata=True, **options)
        if doc is None or doc.body is None:
            return Output(error="no document")
        return Output(
            text=doc.text or "", headings=len(doc.body.findall(".//head")), items=len(doc.body.findall(".//item"))
        )

    return run


def readability(html: bytes) -> Output:
    """readability-lxml's article (not a narrator dependency: ``pip install readability-lxml`` to compare)."""
    from lxml import html as lxml_html
    from readability import Document

    tree: Any = lxml_html.fromstring(Document(html).summary(html_partial=True))
    blocks = [re.sub(r"\s+", " ", el.text_content()).strip() for el in tree.iter("p", "h2", "h3", "li", "pre", "td")]
    return Output(
        text="\n".join(b for b in blocks if b),
        headings=len(tree.findall(".//h2")) + len(tree.findall(".//h3")),
        items=len(tree.findall(".//li")),
    )


CONFIGS: dict[str, Callable[[bytes], Output]] = {
    "narrator": narrator_reader,
    "trafilatura (defaults)": _trafilatura(),
    "trafilatura (precision)": _trafilatura(favor_precision=True),
    "trafilatura (images asked)": _trafilatura(favor_precision=True, include_images=True),
    "readability-lxml": readability,
}


def measure(name: str, pages: list[Page]) -> dict[str, Any]:
    extractor = CONFIGS[name]
    outputs: dict[str, Output] = {}
    started = time.perf_counter()
    for page in pages:
        try:
            outputs[page.id] = extractor(page.html)
        except Exception as exc:  # a crash is a failing page, reported, not a stop
            outputs[page.id] = Output(error=f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    body = [p for p in pages if p.kind == "body"]
    per_page = {p.id: f1(p.body, outputs[p.id].text) for p in body}
    found = wanted = leaked = unwanted = clean = 0
    snippet_pages = [p for p in pages if p.kind == "snippets"]
    for page in snippet_pages:
        text = _squash(outputs[page.id].text)
        a = sum(_squash(s) in text for s in page.with_)
        c = sum(_squash(s) in text for s in page.without)
        found, wanted, leaked, unwanted = found + a, wanted + len(page.with_), leaked + c, unwanted + len(page.without)
        clean += a == len(page.with_) and c == 0
    readme = extractor(ESPEAK_README.read_bytes()) if ESPEAK_README.exists() else Output(error="missing")
    return {
        "config": name,
        "mean_f1": statistics.mean(per_page.values()),
        "shingle_f1": shingle_f1((p.body, outputs[p.id].text) for p in body),
        "min_f1": min(per_page.values()),
        "failed_body": [p.id for p in body if not outputs[p.id].text.strip()],
        "failed_all": [pid for pid, o in outputs.items() if not o.text.strip()],
        "found": found / wanted if wanted else 0.0,
        "leaked": leaked / unwanted if unwanted else 0.0,
        "clean": f"{clean}/{len(snippet_pages)}",
        "readme": f"{readme.headings} h / {readme.items} li" if not readme.error else readme.error,
        "per_page": per_page,
        "seconds_per_page": seconds / len(pages),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cache", type=Path, default=default_cache(), help="sdists and the built set (default: %(default)s)"
    )
    parser.add_argument("--pages", action="store_true", help="print every body page's F1")
    parser.add_argument("--only", default="", help="comma-separated configurations (default: all)")
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    sys.path.insert(0, str(ROOT))
    pages = build_set(args.cache)
    body = sum(p.kind == "body" for p in pages)
    print(f"{len(pages)} pages: {body} with a hand-checked body (F1), {len(pages) - body} with snippets", flush=True)
    names = [n for n in args.only.split(",") if n] or list(CONFIGS)
    try:
        import readability  # noqa: F401
    except ImportError:
        names = [n for n in names if n != "readability-lxml"]
    header = (
        f"{'configuration':<27} {'mean F1':>7} {'shingle':>7} {'min':>5} {'fail':>4} | "
        f"{'found':>5} {'leaked':>6} {'clean':>6} | {'espeak README':>13} | s/page"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for name in names:
        row = measure(name, pages)
        rows.append(row)
        figures = f"{row['mean_f1']:>7.3f} {row['shingle_f1']:>7.3f} {row['min_f1']:>5.2f} {len(row['failed_body']):>4}"
        snippets = f"{row['found']:>5.3f} {row['leaked']:>6.3f} {row['clean']:>6}"
        print(f"{name:<27} {figures} | {snippets} | {row['readme']:>13} | {row['seconds_per_page']:.2f}", flush=True)
    for row in rows:
        if row["failed_all"]:
            print(f"{row['config']}: no article found in {', '.join(row['failed_all'])}")
    if args.pages:
        for pid in sorted(rows[0]["per_page"], key=rows[0]["per_page"].get):
            print(f"{pid:<32} " + "  ".join(f"{r['per_page'][pid]:.3f}" for r in rows))


if __name__ == "__main__":
    main()
