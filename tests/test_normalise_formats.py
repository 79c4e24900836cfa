"""The same article, whatever it was saved as, normalises to the same body, so it is an exact
duplicate of itself: UTF-16 LE/BE with BOM, UTF-8 with BOM, cp1252, CRLF line ends, gzip, an
HTML page and a scraper's JSON record (the last two in tests/data/formats/)."""

from __future__ import annotations

import codecs
import json
import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from worker.models import Article
from worker.pipeline.normalise import normalise
from worker.pipeline.parse import parse

from .conftest import DATA, SEEDS

FORMATS = DATA / "formats"


def _normalise(data: bytes, name: str) -> Article:
    (doc,) = parse(data, name, max_decompressed_bytes=1 << 26)
    return normalise(doc)


def _text(seed: Path) -> str:
    return seed.read_text("utf-8")


VARIANTS: dict[str, Callable[[str], tuple[bytes, str]]] = {
    "utf-16-le-bom": lambda t: (codecs.BOM_UTF16_LE + t.encode("utf-16-le"), "a.txt"),
    "utf-16-be-bom": lambda t: (codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "a.txt"),
    "utf-8-bom": lambda t: (codecs.BOM_UTF8 + t.encode("utf-8"), "a.txt"),
    "crlf": lambda t: (t.replace("\n", "\r\n").encode("utf-8"), "a.txt"),
    "gzip": lambda t: (gzip.compress(t.encode("utf-8"), mtime=0), "a.txt.gz"),
    "crlf-utf-16-gzip": lambda t: (gzip.compress(codecs.BOM_UTF16_LE + t.replace("\n", "\r\n").encode("utf-16-le"), mtime=0), "a.txt.gz"),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.stem[:3])
def test_encoding_and_line_end_variants_give_the_same_body(seed: Path, variant: str) -> None:
    original = _normalise(seed.read_bytes(), seed.name)
    data, name = VARIANTS[variant](_text(seed))
    again = _normalise(data, name)
    assert again.body == original.body
    assert (again.title, again.published_at, again.dateline) == (
        original.title, original.published_at, original.dateline)


@pytest.mark.parametrize("seed", [s for s in SEEDS if s.stem[:3] != "003"], ids=lambda s: s.stem[:3])
def test_cp1252_gives_the_same_body(seed: Path) -> None:
    """Seed 003 carries Devanagari, which cp1252 cannot hold; the others are Western text."""
    original = _normalise(seed.read_bytes(), seed.name)
    again = _normalise(_text(seed).encode("cp1252"), "a.txt")
    assert again.body == original.body


def test_mojibake_is_repaired_to_the_same_body() -> None:
    seed = SEEDS[1]  # curly quotes and apostrophes: the usual victims
    original = _normalise(seed.read_bytes(), seed.name)
    import ftfy.bad_codecs  # noqa: F401  (registers the codec web pages mis-decode UTF-8 with)

    garbled = _text(seed).encode("utf-8").decode("sloppy-windows-1252").encode("utf-8")
    assert "â€" in garbled.decode("utf-8")
    assert _normalise(garbled, "a.txt").body == original.body


def test_html_page_of_seed_003_gives_the_same_body_and_metadata() -> None:
    original = _normalise(SEEDS[3].read_bytes(), SEEDS[3].name)
    page = _normalise((FORMATS / "003_page.html").read_bytes(), "003_page.html")
    assert page.body == original.body
    assert (page.title, page.published_at, page.dateline, page.agencies) == (
        original.title, original.published_at, original.dateline, original.agencies)


def test_html_page_saved_as_txt_is_still_read_as_html() -> None:
    original = _normalise((FORMATS / "003_page.html").read_bytes(), "003_page.html")
    assert _normalise((FORMATS / "003_page.html").read_bytes(), "page.txt").body == original.body


@pytest.mark.parametrize("number", ["001", "003"])
def test_json_record_gives_the_same_body_and_metadata(number: str) -> None:
    seed = next(s for s in SEEDS if s.stem.startswith(number))
    original = _normalise(seed.read_bytes(), seed.name)
    record = _normalise((FORMATS / f"{number}_record.json").read_bytes(), f"{number}_record.json")
    assert record.body == original.body
    assert (record.subtitle, record.published_at, record.dateline, record.agencies) == (
        original.subtitle, original.published_at, original.dateline, original.agencies)


def test_jsonl_line_gives_the_same_body_as_the_json_record() -> None:
    record = (FORMATS / "003_record.json").read_bytes().replace(b"\n", b" ")
    single = _normalise(record, "a.json")
    (_, doc2) = parse(record + b"\n" + record + b"\n", "a.jsonl",
                         max_decompressed_bytes=1 << 26)
    assert normalise(doc2).body == single.body and doc2.line == 2


def test_markdown_loses_its_markup_but_not_its_words() -> None:
    seed = SEEDS[0]
    original = _normalise(seed.read_bytes(), seed.name)
    lines = _text(seed).strip().split("\n")
    md = "# " + lines[0] + "\n\n" + "\n\n".join(lines[1:]).replace("Zelensky said", "**Zelensky** said")
    article = _normalise(md.encode(), "a.md")
    assert article.title == original.title
    assert article.body == original.body


def test_gzip_of_several_members_is_read_whole() -> None:
    """`cat a.gz b.gz > c.gz` is valid gzip: every member is part of the file."""
    text = SEEDS[4].read_text("utf-8")
    half = len(text) // 2
    data = gzip.compress(text[:half].encode(), mtime=0) + gzip.compress(text[half:].encode(), mtime=0)
    assert _normalise(data, "a.txt.gz").body == _normalise(SEEDS[4].read_bytes(), SEEDS[4].name).body


@pytest.mark.parametrize("placeholder", ["0001-01-01T00:00:00", "9999-12-31T23:59:59Z"])
def test_a_placeholder_publication_date_of_an_export_is_no_date(placeholder: str) -> None:
    """.NET exports write 0001-01-01 for "no date" (``DateTime.MinValue``), others 9999-12-31."""
    undated = {"title": "Talks", "text": SEEDS[0].read_text(encoding="utf-8")}
    article = _normalise(json.dumps({**undated, "published": placeholder}).encode(), "a.json")
    assert article.published_at is None
    assert article == _normalise(json.dumps(undated).encode(), "a.json")


def test_a_publication_date_with_an_impossible_zone_offset_is_no_date() -> None:
    """dateutil reads "+25:00" as a zone 25 hours ahead; every later use of the value raised."""
    undated = {"title": "Talks", "text": SEEDS[0].read_text(encoding="utf-8")}
    article = _normalise(json.dumps({**undated, "published": "2024-01-01T00:00:00+25:00"}).encode(), "a.json")
    assert article == _normalise(json.dumps(undated).encode(), "a.json")
