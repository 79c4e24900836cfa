"""Golden facts about the seeds, written by reading them: who, where, what was said, how much, when.

Each seed's body is enriched as given (Article built from the file's text, with the publication
date its header states), so the facts do not depend on title or date detection upstream.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pytest

from worker.models import Article, Enrichment
from worker.pipeline.enrich import enrich

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PUBLISHED = {  # from each seed's own header or dateline ("date 2026-01-16", "said on Jan. 23")
    "000": datetime(2026, 1, 23, tzinfo=timezone.utc),
    "001": datetime(2026, 1, 16, tzinfo=timezone.utc),
    "002": datetime(2025, 6, 25, tzinfo=timezone.utc),
    "003": datetime(2025, 7, 4, tzinfo=timezone.utc),
    "004": None,
}
PERSONS = {
    "000": {"Volodymyr Zelensky", "Donald Trump", "Joe Biden"},
    "001": {"Volodymyr Zelensky", "Donald Trump", "Petr Pavel"},
    "002": {"Volodymyr Zelensky", "Donald Trump", "Vladimir Putin"},
    "003": {"Volodymyr Zelensky", "Donald Trump", "Vladimir Putin", "Friedrich Merz"},
    "004": {"Volodymyr Zelensky", "Lloyd Austin"},
}
PLACES = {
    "000": {"Ukraine": "UA", "United States": "US", "France": "FR", "United Kingdom": "GB"},
    "001": {"Ukraine": "UA", "United States": "US", "Russia": "RU", "Kyiv": "UA", "Moscow": "RU"},
    "002": {"Ukraine": "UA", "United States": "US", "Kyiv": "UA", "The Hague": "NL", "Israel": "IL"},
    "003": {"Ukraine": "UA", "United States": "US", "Kyiv": "UA", "Germany": "DE", "Russia": "RU"},
    "004": {"Ukraine": "UA", "United States": "US", "Germany": "DE", "North Korea": "KP"},
}
QUOTES = {
    "000": [("Nothing else works", "Volodymyr Zelensky"), ("It's up to him", "Volodymyr Zelensky")],
    "001": [("Ultimatums are not, in my view", "Volodymyr Zelensky"),
            ("I think we have worked well with the American side", "Volodymyr Zelensky")],
    "002": [("Couldn't have been nicer", "Donald Trump"),
            ("We discussed the protection of our people", "Volodymyr Zelensky")],
}
DATES = {
    "000": [("Jan. 23", "2026-01-23"), ("Dec. 26", "2025-12-26"), ("Jan. 12", "2026-01-12")],
    "001": [("Jan 16", "2026-01-16"), ("Jan 14", "2026-01-14")],
    "002": [("June 25, 2025", "2025-06-25"), ("on Wednesday", "2025-06-25")],
    "003": [("July 04, 2025", "2025-07-04"), ("on Thursday", "2025-07-03")],
    "004": [("February 2022", "2022-02")],
}


@lru_cache(maxsize=None)
def full(prefix: str) -> Enrichment:
    body = next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")
    return enrich(Article(body=body, published_at=PUBLISHED[prefix]), "full")


@pytest.mark.parametrize("prefix", sorted(PERSONS))
def test_seed_persons(prefix: str):
    assert PERSONS[prefix] <= {p.name for p in full(prefix).entities.persons}


@pytest.mark.parametrize("prefix", sorted(PLACES))
def test_seed_places_with_country_codes_and_coordinates(prefix: str):
    places = {loc.name: loc for loc in full(prefix).entities.locations}
    for name, code in PLACES[prefix].items():
        assert places[name].country_code == code
        assert places[name].latitude is not None and places[name].longitude is not None


@pytest.mark.parametrize("prefix", sorted(QUOTES))
def test_seed_quotes_and_speakers(prefix: str):
    quotes = full(prefix).quotes
    for fragment, speaker in QUOTES[prefix]:
        assert [q.speaker for q in quotes if fragment in q.text] == [speaker]


@pytest.mark.parametrize("prefix", sorted(DATES))
def test_seed_dates(prefix: str):
    found = [(d.text, d.date) for d in full(prefix).dates]
    for expected in DATES[prefix]:
        assert expected in found


def test_seed_money_only_where_the_text_names_a_sum():
    assert [a.text for a in full("000").amounts if a.kind == "money"] == []
    assert [a.text for a in full("001").amounts if a.kind == "money"] == ["US$800 billion", "S$1 trillion"]
    assert [(a.value, a.currency) for a in full("004").amounts if a.kind == "money"] == [
        (500e6, "USD"), (3.85e9, "USD"), (66e9, "USD"),
    ]
