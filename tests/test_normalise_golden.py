"""Normalise stage on the seeds: each expected result in tests/golden/ was written by reading the
seed, not by running the code. One behaviour per test, for every seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.models import Article
from worker.pipeline.normalise import normalise
from worker.pipeline.parse import parse

from .conftest import SEEDS

GOLDEN = Path(__file__).parent / "golden"


def _article(seed: Path) -> Article:
    (doc,) = parse(seed.read_bytes(), seed.name, max_decompressed_bytes=1 << 26)
    return normalise(doc)


CASES = [pytest.param(seed, json.loads((GOLDEN / f"{seed.stem}.json").read_text("utf-8")), id=seed.stem[:3])
         for seed in SEEDS]


def test_every_seed_has_a_golden_file() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == [s.stem for s in SEEDS]


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_title_is_the_headline_once(seed: Path, expected: dict) -> None:
    assert _article(seed).title == expected["title"]


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_subtitle_is_the_standfirst(seed: Path, expected: dict) -> None:
    assert _article(seed).subtitle == expected["subtitle"]


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_published_at_comes_from_the_header_or_a_date_line(seed: Path, expected: dict) -> None:
    published = _article(seed).published_at
    assert (published.isoformat().replace("+00:00", "Z") if published else None) == expected["published_at"]


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_dateline_is_the_place_filed_from(seed: Path, expected: dict) -> None:
    assert _article(seed).dateline == expected["dateline"]


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_agencies_are_the_wire_credits(seed: Path, expected: dict) -> None:
    assert _article(seed).agencies == expected["agencies"]


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_language_is_identified(seed: Path, expected: dict) -> None:
    assert _article(seed).language == expected["language"]


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_body_starts_with_the_first_sentence_of_the_article(seed: Path, expected: dict) -> None:
    assert _article(seed).body.startswith(expected["first_sentence"])


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_body_ends_with_the_last_sentence_of_the_article(seed: Path, expected: dict) -> None:
    assert _article(seed).body.endswith(expected["last_sentence"])


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_body_paragraphs_are_separated_by_one_blank_line(seed: Path, expected: dict) -> None:
    body = _article(seed).body
    assert len(body.split("\n\n")) == expected["paragraphs"]
    assert "\n\n\n" not in body and all(p.strip() == p and p for p in body.split("\n\n"))


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_every_removed_line_is_in_the_boilerplate_audit(seed: Path, expected: dict) -> None:
    assert _article(seed).boilerplate == expected["boilerplate"]


@pytest.mark.parametrize(("seed", "expected"), CASES)
def test_no_boilerplate_line_is_left_in_the_body(seed: Path, expected: dict) -> None:
    body = _article(seed).body
    assert not [line for line in expected["boilerplate"] if line in body.split("\n\n")]


def test_seed_003_repeated_headline_gives_one_title_and_no_furniture_in_the_body() -> None:
    article = _article(SEEDS[3])
    assert article.title == "Zelenskyy, Trump talk Patriot missile deal, defence against Russia"
    assert article.title not in article.body
    assert "Listen to This Article" not in article.body
    assert "First Published" not in article.body
    assert "Last Updated" not in article.body


def test_seed_003_line_broken_mid_sentence_is_rejoined() -> None:
    assert "with US President Donald Trump on Friday, and agreed" in _article(SEEDS[3]).body


def test_seed_001_closing_wire_credit_leaves_the_last_paragraph() -> None:
    body = _article(SEEDS[1]).body
    assert body.endswith("he told reporters.")
    assert "REUTERS" not in body
