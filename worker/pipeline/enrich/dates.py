"""Dates an article mentions, resolved to ISO dates relative to its publication date.

Candidates are found with one precompiled regex and parsed with python-dateutil (a date
library, about 100 times cheaper per string than dateparser). A date with no year takes the
year that puts it closest to publication ("Dec. 26" in a January article is last December),
a day ahead counting twice a day back: news mostly tells what happened ("May 18" in a November
article is this past May, not next);
a weekday is the latest such day on or before publication ("on Friday"), or after it when
the text says "next". Without a publication date only dates that carry their year resolve.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta, weekday

from ...models import DateMention
from ..normalise.dates import YEARS
from ..normalise.patterns import MONTH

_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]|20)\d\d"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DATE = re.compile(
    rf"\b(?:"
    rf"(?P<iso>{_YEAR}-[01]\d-[0-3]\d)"
    rf"|(?P<md>{MONTH}\.?\s{_DAY}(?:,?\s{_YEAR})?)(?![\d:])"
    rf"|(?P<dm>{_DAY}\s(?:of\s)?{MONTH}\.?(?:,?\s{_YEAR})?)"
    rf"|(?P<my>{MONTH}\.?,?\s{_YEAR})"
    rf"|(?P<wd>(?:(?P<rel>last|next|this|earlier|on)\s)?(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)"
    rf"|(?P<rd>yesterday|today|tomorrow)"
    rf")\b",
)
_HAS_YEAR = re.compile(_YEAR + r"\b")
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b")

FUTURE_WEIGHT = 2  # a day after publication counts as far as two days before it


def find_dates(body: str, published: datetime | None) -> list[DateMention]:
    # Dates are counted from a plausible publication date only ("Jan. 23" from year 1 overflowed).
    base = published.date() if published is not None and published.year in YEARS else None
    found: list[DateMention] = []
    for m in _DATE.finditer(body):
        resolved = _resolve(m, base)
        if resolved is not None:
            found.append(DateMention(text=m.group(0), date=resolved, offset=m.span()))
    return found


def _resolve(m: re.Match[str], base: date | None) -> str | None:
    text = m.group(0)
    if m.group("iso"):
        return m.group("iso")
    if m.group("my"):
        parsed = _parse(m.group("my"), date(2000, 1, 1))
        return f"{parsed:%Y-%m}" if parsed else None
    if m.group("md") or m.group("dm"):
        has_year = bool(_HAS_YEAR.search(text))
        if not has_year and base is None:
            return None
        parsed = _parse(text, base or date(2000, 1, 1))
        if parsed is None:
            return None
        if not has_year:
            parsed = min(
                (parsed.replace(year=parsed.year + k) for k in (-1, 0, 1) if _valid(parsed, k)),
                key=lambda d: (d - base).days * FUTURE_WEIGHT if d > base else (base - d).days,
            )
        return parsed.isoformat()
    if base is None:
        return None
    if m.group("rd"):
        shift = {"yesterday": -1, "today": 0, "tomorrow": 1}[m.group("rd").lower()]
        return (base + timedelta(days=shift)).isoformat()
    day = _WEEKDAYS.index(text.split()[-1].lower())
    if (m.group("rel") or "").lower() == "next":
        return (base + relativedelta(days=1, weekday=weekday(day)(+1))).isoformat()
    return (base + relativedelta(weekday=weekday(day)(-1))).isoformat()


def _valid(d: date, years: int) -> bool:
    return not (d.month == 2 and d.day == 29 and (d.year + years) % 4)


def _parse(text: str, default: date) -> date | None:
    cleaned = _ORDINAL.sub("", text.replace(".", " ").replace(" of ", " "))
    try:
        return date_parser.parse(cleaned, default=datetime(default.year, default.month, default.day)).date()
    except (ValueError, OverflowError):
        return None
