"""A batch of articles: one that cannot be narrated is given back as Failed, naming it, and the
others are narrated (as cp and rsync go on); ``preview``, what ``narrator script`` shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from narrator.engines import Audio, register, tone
from narrator.errors import InputError, SynthesisError
from narrator.models import Article, Block, BlockKind
from narrator.pipeline import Failed, Preview, Published, naming, preview, publish
from narrator.settings import Settings


class FailingEngine(tone.ToneEngine):
    """The tone engine, failing as an engine may on one article's text (fault injection)."""

    name = "failing"

    def synthesize(self, text: str, voice: str, rate: int) -> Audio:
        if "breaks" in text:
            raise SynthesisError(f"the speech engine failed on {text[:60]!r}: it broke")
        return super().synthesize(text, voice, rate)


@pytest.fixture(scope="module", autouse=True)
def _failing_engine() -> None:
    register(FailingEngine.name, lambda: FailingEngine, for_tests=True)  # forked workers inherit the registry


def article(name: str, text: str, language: str = "en", title: str = "") -> Article:
    blocks = (Block(BlockKind.PARAGRAPH, text),)
    title = title or Path(name).stem.title()
    return Article(source=name, title=title, byline="", blocks=blocks, text_hash=name, language=language)


def test_an_engine_failing_on_one_article_names_it_and_the_others_are_narrated(tmp_path: Path) -> None:
    settings = Settings(output_dir=tmp_path / "out", engine="failing", jobs=1)
    articles = [
        article("first.txt", "The first article reads well."),
        article("second.txt", "The second one breaks the engine."),
        article("third.txt", "The third article reads well too."),
    ]
    results = list(publish(articles, settings))
    assert [type(r) for r in results] == [Published, Failed, Published]
    failed = results[1]
    assert isinstance(failed, Failed) and failed.source == "second.txt"
    assert str(failed.error).startswith("second.txt: the speech engine failed on ")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mp3")) == ["first.mp3", "third.mp3"]


def test_when_no_article_can_be_narrated_the_folder_is_not_touched(tmp_path: Path) -> None:
    settings = Settings(output_dir=tmp_path / "out", engine="tone", jobs=1)
    articles = [article("tokyo.txt", "東京は大きい 😀", title="東京"), article("klingon.txt", "Qapla'", "tlh")]
    results = list(publish(articles, settings))
    assert all(isinstance(r, Failed) for r in results)
    assert [str(r.error) for r in results if isinstance(r, Failed)] == [
        "tokyo.txt: has no words to narrate",
        "klingon.txt: no installed voice speaks 'tlh' (installed languages: de, en, fr); choose one of those with"
        " --language, or a voice with --voice",
    ]
    assert not (tmp_path / "out").exists()


def test_naming_puts_the_article_in_an_error_that_names_no_file() -> None:
    error = naming(SynthesisError("the engine produced only silence for: ')'"), "a.txt")
    assert str(error) == "a.txt: the engine produced only silence for: ')'"
    assert isinstance(error, SynthesisError)
    kept = InputError("is empty", "b.txt")
    assert naming(kept, "a.txt") is kept


def test_preview_says_what_narrate_would_and_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(output_dir=tmp_path / "out", engine="tone", jobs=1)
    found = list(preview([article("a.txt", "It cost $5 in 1990."), article("b.txt", "😀", title="🙂")], settings))
    first, second = found
    assert isinstance(first, Preview) and first.voice == "tone/en"
    assert [(s.text, s.chunks) for s in first.script.sentences()][1] == (
        "It cost $5 in 1990.",
        ("It cost five dollars in nineteen ninety.",),
    )
    assert isinstance(second, Failed) and str(second.error) == "b.txt: has no words to narrate"
    assert not (tmp_path / "out").exists()
