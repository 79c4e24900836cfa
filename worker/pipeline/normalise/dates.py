"""Publication dates from the lines news pages print them on.

Finding the line is ours (a news heuristic: "Last Updated : Jul 04 2025 | 8:41 PM IST", a bare
"June 25, 2025" under a headline); reading the date is the date library's (``dateutil``), given
the time-zone table from the rules, because it does not know that news sites mean India by IST.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Literal

from dateutil import parser as date_parser

from .patterns import MONTH

Label = Literal["header", "metadata", "published", "plain", "updated"]

_MONTH = rf"{MONTH}\.?"
_DATE_SHAPE = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d\b"  # June 25, 2025
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+(?:19|20)\d\d\b"  # 25 June 2025
    r"|\b(?:19|20)\d\d-\d\d-\d\d(?!\d)"  # 2025-06-25, 2025-06-25T08:41:00Z
    r"|\b\d{1,2}/\d{1,2}/(?:19|20)\d\d\b",  # 06/25/2025
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:19|20)\d\d")
_LABEL = re.compile(
    r"^\s*(?P<label>first published|published(?: on| at)?|posted(?: on| at)?|date(?:d)?|"
    r"last updated(?: on| at)?|last modified|updated(?: on| at)?|modified)\s*[:|\-–—]?\s*",
    re.IGNORECASE,
)
_NOISE = re.compile(r"[|•·]|\bat\b", re.IGNORECASE)
_DOTTED_TIME = re.compile(r"\b(\d{1,2})\.(\d{2})\b(?!\.\d)")  # 16.05 UTC
# "Published: 19:07 EDT, 23 August 2019 | Updated: 13:40 EDT, 24 August 2019": one line, two dates.
_LABELLED_PARTS = re.compile(
    r"\s*[|•·]\s*(?=(?:first published|published|posted|last updated|updated|modified)\b)", re.IGNORECASE)
_MERIDIEM = re.compile(r"\b([ap])\.m\.?", re.IGNORECASE)
_WEEKDAY = re.compile(r"\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s*", re.IGNORECASE)
MAX_DATE_LINE = 90
YEARS = range(1900, 2101)  # a publication date's year; anything else is a placeholder or a misreading
RANK: dict[str, int] = {"header": 0, "metadata": 0, "published": 0, "plain": 1, "updated": 2}


@dataclass(frozen=True)
class FoundDate:
    """A date a line gave, how it was labelled, and whether it carried a time of day."""

    value: datetime
    label: Label
    has_time: bool


def date_line(line: str, zones: dict[str, tzinfo]) -> FoundDate | None:
    """The date if ``line`` is a date line (a label and a date, or just a date), else None."""
    if len(line) > 2 * MAX_DATE_LINE or not _YEAR.search(line) or not _DATE_SHAPE.search(line):
        return None  # (a year first: one cheap search rules out almost every line)
    parts = _LABELLED_PARTS.split(line)
    if len(parts) > 1:
        found = [d for part in parts if (d := date_line(part, zones))]
        return min(found, key=lambda d: RANK[d.label]) if found else None
    if len(line) > MAX_DATE_LINE:
        return None
    label: Label = "plain"
    rest = line
    if m := _LABEL.match(line):
        word = m.group("label").lower()
        label = "updated" if ("updated" in word or "modified" in word) else "published"
        rest = line[m.end():]
    value = parse_date(rest, zones, fuzzy=False)
    if value is None:
        return None
    return FoundDate(value[0], label, value[1])


def parse_date(
    text: str, zones: dict[str, tzinfo], *, fuzzy: bool = True
) -> tuple[datetime, bool] | None:
    """A date string -> (aware datetime, has a time of day); None when it holds no date.

    Without a zone the time is taken as UTC. ``fuzzy=False`` accepts only text that is all date.
    """
    cleaned = _MERIDIEM.sub(r"\1M", _NOISE.sub(" ", text)).strip(" ,.;-–—")
    cleaned = _DOTTED_TIME.sub(r"\1:\2", cleaned)
    cleaned = _WEEKDAY.sub("", cleaned)
    if not cleaned or len(cleaned) > MAX_DATE_LINE:
        return None
    tzinfos = {abbr: tz for abbr, tz in zones.items()}
    try:
        parsed = date_parser.parse(cleaned, tzinfos=tzinfos, fuzzy=fuzzy, default=_DEFAULT)
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed.year not in YEARS or str(parsed.year) not in cleaned:
        return None  # no year written: the parser filled one in (a time alone is no date)
    # Words the parser took as a zone it does not know leave the value naive: UTC it is.
    has_time = (parsed.hour, parsed.minute, parsed.second) != (0, 0, 0) or bool(
        re.search(r"\d:\d\d", cleaned)
    )
    try:
        parsed.utcoffset()
    except ValueError:  # "+25:00": the parser keeps it, but every later use of the value raised
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed, has_time


_DEFAULT = datetime(2000, 1, 1)


def iso_date(text: str) -> tuple[datetime, bool] | None:
    """An ISO 8601 string (as JSON and HTML metadata carry) -> (aware datetime, has time).

    A year outside ``YEARS`` is a placeholder, not a date: exports write 0001-01-01 for "none"
    (.NET's ``DateTime.MinValue``) or 9999-12-31 for "never"; dates counted from it overflowed.
    """
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.year not in YEARS:
        return None
    has_time = "T" in text or ":" in text
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)), has_time


def choose_published(explicit: FoundDate | None, found: list[FoundDate]) -> datetime | None:
    """The publication date: an explicit one (header, metadata) wins, in-text ones otherwise.

    When the explicit date has no time and an in-text date names the same day with one, the
    in-text value is the same date, only more precise, so it is the one kept.
    """
    in_text = sorted(found, key=lambda d: RANK[d.label])
    if explicit is not None:
        if not explicit.has_time:
            for d in in_text:
                if d.has_time and d.value.date() == explicit.value.date():
                    return d.value
        return explicit.value
    return in_text[0].value if in_text else None
