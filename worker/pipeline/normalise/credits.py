"""Who filed the story, from where: datelines, wire-agency credits and bylines.

These are news conventions, so they are written here by hand: "KYIV –", "KYIV, Jan 16
(Reuters) -", "WASHINGTON (AP) —", a "Reuters KYIV" line, a closing "REUTERS", "By Jane Doe and
John Roe", "(Reporting by ...; Editing by ...)". The agency list is data (the rules), and so
are the words these shapes share with other stages (``lexicon.yaml``, via ``patterns``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .patterns import BYLINE_LABEL, MONTH, NAME_PARTICLES, NOT_PLACES, ROLE_SUFFIX
from .rules import Rules

_DASH = r"(?:--|[-–—:])"
_CAPS_PLACE = r"[A-Z][A-Z.'’]+(?:[ -][A-Z][A-Z.'’]+){0,3}"
_TITLE_PLACE = r"[A-Z][\w.'’]+(?:[ -][A-Z][\w.'’]+){0,3}"
_REGION = r"[A-Z][\w.]+(?: [A-Z][\w.]+)?"
_SHORT_DATE = rf"{MONTH}\.?\s+\d{{1,2}}(?:,?\s+\d{{4}})?"


@dataclass
class Credits:
    """What the credit lines of one article said."""

    dateline: str | None = None
    agencies: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)

    def add_agency(self, name: str | None) -> None:
        if name and name not in self.agencies:
            self.agencies.append(name)

    def add_author(self, name: str) -> None:
        if name and name not in self.authors:
            self.authors.append(name)


@dataclass(frozen=True)
class _Patterns:
    dateline: re.Pattern[str]
    agency_line: re.Pattern[str]
    trailing_credit: re.Pattern[str]
    reporting: re.Pattern[str]


@lru_cache(maxsize=8)
def _patterns(agency_pattern: str) -> _Patterns:
    agency = f"(?i:{agency_pattern})"
    return _Patterns(
        # KYIV –  |  KYIV, Ukraine, Jan 16 (Reuters) -  |  Kyiv (AP) —  |  NEW DELHI:
        dateline=re.compile(
            rf"^(?:(?P<caps>{_CAPS_PLACE})|(?P<title>{_TITLE_PLACE})(?=(?:,\s*{_REGION})?(?:,?\s*{_SHORT_DATE})?\s*\())"
            rf"(?:,\s*(?P<region>{_REGION}))?(?:,?\s*(?P<date>{_SHORT_DATE}))?"
            rf"\s*(?:\((?P<agency>[^()]{{2,40}})\))?\s*{_DASH}\s+(?=\S)"
        ),
        # "Reuters KYIV", "KYIV (Reuters)", "Reuters", "— AFP", "Source: AP"
        agency_line=re.compile(
            rf"^[-–—(]*\s*(?:(?P<agency1>{agency})(?:\s+(?P<place1>{_CAPS_PLACE}))?"
            rf"|(?P<place2>{_CAPS_PLACE})\s*\((?P<agency2>{agency})\))\s*[).]*$"
        ),
        # "... he told reporters. REUTERS"  |  "... – AFP"  |  "... (Reuters)"
        trailing_credit=re.compile(
            rf"(?:(?<=[.!?\"”’)])\s+|\s*[-–—]\s*|\s*\()(?P<agencies>(?:{agency})(?:(?:\s*(?:,|/|and|&)\s*|\s+)(?:{agency}))*)\)?\.?$"
        ),
        reporting=re.compile(
            r"(?:^|[;(]\s*)(?:additional )?(?:reporting|writing|written|compiled) by\s+"
            r"(?P<names>[^;()]+)",
            re.IGNORECASE,
        ),
    )


def find_dateline(paragraph: str, rules: Rules) -> tuple[str, str | None] | None:
    """(place, agency or None) when the paragraph opens with a dateline."""
    m = _patterns(rules.agency_pattern).dateline.match(paragraph)
    if not m:
        return None
    place = m.group("caps") or m.group("title")
    if not place or place.upper() in NOT_PLACES or len(place) < 2:
        return None
    agency = rules.agency(m.group("agency")) if m.group("agency") else None
    if m.group("title") and not agency:
        return None  # a capitalised word before a dash is a dateline only with its credit
    if m.group("caps") and (not re.search(r"[A-Z]{2}", place) or rules.agency(place)):
        return None
    return place, agency


def agency_line(paragraph: str, rules: Rules) -> tuple[str, str | None] | None:
    """(agency, place or None) for a line that is only a wire credit ("Reuters KYIV")."""
    if len(paragraph) > 60:
        return None
    m = _patterns(rules.agency_pattern).agency_line.match(paragraph)
    if not m:
        return None
    agency = rules.agency(m.group("agency1") or m.group("agency2"))
    if agency is None:
        return None
    spelled = m.group("agency1") or m.group("agency2")
    # A lone short spelling ("AP", "PA") must be written in capitals to count as a credit.
    if len(spelled) <= 3 and spelled != spelled.upper():
        return None
    return agency, m.group("place1") or m.group("place2")


def trailing_credit(paragraph: str, rules: Rules) -> tuple[str, list[str]] | None:
    """(paragraph without it, agencies) when the last paragraph ends with a wire credit."""
    m = _patterns(rules.agency_pattern).trailing_credit.search(paragraph)
    if not m or m.start() == 0:
        return None
    agencies = agencies_named(m.group("agencies"), rules)
    credit = m.group("agencies")
    if len(credit) <= 3 and credit != credit.upper():
        return None
    return paragraph[: m.start()].rstrip(), agencies


@dataclass(frozen=True)
class CreditLine:
    """What a byline said: "By Jane Doe | July 2, 2018", "Tom Smith • Nov 20, 2019 • 4 min read"."""

    authors: list[str]
    agencies: list[str]
    dates: list[str]


_SEPARATOR = re.compile(r"[|•·]|\s[/–—-]\s")
_PARTS = re.compile(r"\s*(?:[|•·]|\s/\s|\s[-–—]\s)\s*")
_READ_TIME = re.compile(r"(?i:\d+\s*(?:-\s*)?min(?:ute)?s?(?:\s+read)?|updated|published)")
_TRAILING_DATE = re.compile(
    r"(?:,\s*|\s+(?i:on|at)\s+|\s+)(?P<date>(?:(?i:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
    r"(?:\d{1,2}\s+[A-Z][a-z]+\.?,?\s+\d{4}|[A-Z][a-z]+\.?\s+\d{1,2},?\s+\d{4}|\d{4}-\d\d-\d\d).*)$"
)
_DATE_PART = re.compile(r"\d{4}|\b\d{1,2}:\d\d\b|(?i:\b(?:today|yesterday|\d+\s*(?:h|hours?|mins?|minutes?|days?)\s+ago)\b)")


def byline(paragraph: str, rules: Rules) -> CreditLine | None:
    """A byline paragraph: "By" and names, or names beside a date, an agency or a reading time.

    Separators (|, •, ·, " / ") split the line into parts, each of which must be a name, an
    agency, a date or a reading time; without a "By" the line must also carry something other
    than names, or any short line of capitalised words would pass.
    """
    if len(paragraph) > 160:
        return None
    m = BYLINE_LABEL.match(paragraph)
    if m is None and not _SEPARATOR.search(paragraph):
        return None  # neither "By" nor parts: not a byline (the common case, so checked first)
    text, by = paragraph, False
    if m:
        text, by = text[m.end():], True
        if not text[:1].isupper():
            return None
    authors: list[str] = []
    agencies: list[str] = []
    dates: list[str] = []
    roles = False
    for part in _PARTS.split(text.strip()):
        if not part:
            continue
        if m := _TRAILING_DATE.search(part):
            dates.append(m.group("date"))
            part = part[: m.start()].strip(" ,")
            if not part:
                continue
        if _READ_TIME.fullmatch(part):
            continue
        if ROLE_SUFFIX.fullmatch(part):
            roles = True  # "Staff Writer": what a byline says beside a name
            continue
        if _DATE_PART.search(part):
            dates.append(part)
            continue
        if agency := rules.agency(part):
            agencies.append(agency)
            continue
        split = split_names(part, rules, strict=True)
        if split is None:
            return None
        names, named_agencies = split
        authors += names
        agencies += named_agencies
    if not (authors or agencies) or (not by and not (dates or agencies or roles)):
        return None
    return CreditLine(authors, agencies, dates)


def reporting_credits(paragraph: str, rules: Rules) -> list[str]:
    """Reporters named in a wire trailer: "(Reporting by Tom Balmforth in Kyiv; Editing by ...)"."""
    names: list[str] = []
    for m in _patterns(rules.agency_pattern).reporting.finditer(paragraph):
        names += (split_names(m.group("names"), rules) or ([], []))[0]
    return names


def agencies_named(text: str, rules: Rules) -> list[str]:
    """Every agency a credit line names ("With inputs from PTI and Reuters")."""
    found = re.finditer(rf"\b(?i:{rules.agency_pattern})\b", text)
    return [a for m in found if (len(m.group()) > 3 or m.group().isupper()) and (a := rules.agency(m.group()))]


_NAME_LIST = re.compile(r"\s*(?:,|;|&|\band\b)\s*")
_PLACE_SUFFIX = re.compile(r"\s+(?:in|from)\s+[A-Z][\w .'-]*$")


def split_names(text: str, rules: Rules, *, strict: bool = False) -> tuple[list[str], list[str]] | None:
    """(names, agencies) in "Jane Doe, John Roe and Reuters"; with ``strict``, None unless
    every part is one or the other."""
    authors: list[str] = []
    agencies: list[str] = []
    for part in _NAME_LIST.split(text.strip(" .)")):
        part = ROLE_SUFFIX.sub("", _PLACE_SUFFIX.sub("", part)).strip()
        if not part:
            continue
        if agency := rules.agency(part):
            agencies.append(agency)
        elif _looks_like_name(part):
            authors.append(part)
        elif strict:
            return None
    return authors, agencies


def _looks_like_name(text: str) -> bool:
    words = text.split()
    return 1 <= len(words) <= 5 and all(w[0].isupper() or w.lower() in NAME_PARTICLES for w in words)
