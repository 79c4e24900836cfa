"""Enrich stage, amounts: money with currency and scale normalised, counts with their noun."""

from __future__ import annotations

from pathlib import Path

from worker.pipeline.enrich.amounts import find_amounts

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seed_body(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def money(text: str) -> list[tuple[str, float, str | None]]:
    return [(a.text, a.value, a.currency) for a in find_amounts(text) if a.kind == "money"]


def test_seed_004_dollar_sums_are_usd():
    assert money(seed_body("004")) == [
        ("$500 million", 500_000_000, "USD"),
        ("$3.85 billion", 3_850_000_000, "USD"),
        ("$66 billion", 66_000_000_000, "USD"),
    ]


def test_seed_000_names_no_sum_of_money():
    assert money(seed_body("000")) == []


def test_us_dollar_prefix_and_a_second_currency_in_brackets():
    assert money(seed_body("001")) == [
        ("US$800 billion", 800_000_000_000, "USD"),
        ("S$1 trillion", 1_000_000_000_000, "SGD"),
    ]


def test_scale_written_without_a_space_and_other_symbols():
    text = "Chelsea paid the £71.6million fee, up from €5bn and 40,000 euros."
    assert money(text) == [
        ("£71.6million", 71_600_000, "GBP"),
        ("€5bn", 5_000_000_000, "EUR"),
        ("40,000 euros", 40_000, "EUR"),
    ]


def test_counts_keep_their_noun():
    text = "They reported 1,200 casualties and 3 million people displaced."
    counts = [(a.value, a.unit) for a in find_amounts(text) if a.kind == "count"]
    assert counts == [(1200, "casualties"), (3_000_000, "people")]


def test_durations_years_and_percentages_are_not_counts():
    text = "For 15 years, since 2022 troops, growth of 5 percent over 50 minutes."
    assert [a for a in find_amounts(text) if a.kind == "count"] == []


def test_offsets_cover_the_text():
    body = seed_body("004")
    for amount in find_amounts(body):
        start, end = amount.offset
        assert body[start:end] == amount.text
