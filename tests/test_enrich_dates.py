"""Enrich stage, dates: every date mentioned, as an ISO date relative to publication."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from worker.pipeline.enrich.dates import find_dates

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PUBLISHED = datetime(2026, 1, 23, 15, 0, tzinfo=timezone.utc)


def resolved(text: str, published: datetime | None = PUBLISHED) -> list[tuple[str, str]]:
    return [(d.text, d.date) for d in find_dates(text, published)]


def test_jan_23_in_an_article_of_23_january_2026():
    body = next(SEEDS.glob("000_*.txt")).read_text(encoding="utf-8")
    assert ("Jan. 23", "2026-01-23") in resolved(body)


def test_a_yearless_date_takes_the_nearest_year():
    body = next(SEEDS.glob("000_*.txt")).read_text(encoding="utf-8")
    assert ("Dec. 26", "2025-12-26") in resolved(body)
    assert ("Jan. 12", "2026-01-12") in resolved(body)


def test_dates_with_a_year_and_month_only():
    text = "Aid since February 2022, signed on 23 January 2026 and July 04, 2025."
    assert resolved(text) == [
        ("February 2022", "2022-02"), ("23 January 2026", "2026-01-23"), ("July 04, 2025", "2025-07-04"),
    ]


def test_weekdays_are_the_last_such_day_up_to_publication():
    wednesday = datetime(2025, 6, 25, tzinfo=timezone.utc)  # seed 002 was published on a Wednesday
    assert resolved("He spoke on Wednesday and on Monday, and will meet next Monday.", wednesday) == [
        ("on Wednesday", "2025-06-25"), ("on Monday", "2025-06-23"), ("next Monday", "2025-06-30"),
    ]


def test_without_a_publication_date_only_dated_mentions_resolve():
    assert resolved("Zelensky said on Jan. 23 that the 2025-12-26 draft was ready.", None) == [
        ("2025-12-26", "2025-12-26"),
    ]


def test_may_the_verb_is_not_a_date():
    assert resolved("He may meet with Mr Zelensky at the WEF.") == []


def test_a_yearless_date_about_as_far_back_as_ahead_is_the_past_one():
    # "May 18" in a November article: this past May (185 days back), not next May (181 ahead).
    published = datetime(2019, 11, 19, tzinfo=timezone.utc)
    assert resolved("The girl was taken on May 18 and found hours later.", published) == [("May 18", "2019-05-18")]


def test_a_yearless_date_just_ahead_is_the_coming_one():
    published = datetime(2019, 12, 28, tzinfo=timezone.utc)
    assert resolved("The vote is on Jan. 5.", published) == [("Jan. 5", "2020-01-05")]


def test_a_placeholder_publication_date_resolves_only_dated_mentions():
    """Counted from year 1 (an export's "no date"), "Jan. 23" raised ValueError: year 0."""
    for placeholder in (datetime(1, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, tzinfo=timezone.utc)):
        assert resolved("On Friday, Jan. 23, not May 2019.", placeholder) == [("May 2019", "2019-05")]
