"""Sums of money (currency and scale normalised) and counts of things with their noun."""

from __future__ import annotations

import re

from ...models import Amount
from ..normalise.patterns import alternation
from .wordlists import wordlists

_WORDS = wordlists()
_SCALE = _WORDS.scales
_SCALE_WORDS = alternation([w for w in _SCALE if len(w) > 3])  # spelled out: "million"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MONEY_PREFIXED = re.compile(
    rf"(?<![\w$])(?P<cur>{alternation(_WORDS.currency_prefixes)})\s?(?P<num>{_NUM})"
    rf"(?:\s?(?P<scale>{alternation(_SCALE)})\b)?"
)
_MONEY_WORD = re.compile(
    rf"(?<![\w$.,])(?P<num>{_NUM})(?:\s?(?P<scale>{_SCALE_WORDS})\b)?\s+"
    rf"(?:(?:{alternation(_WORDS.currency_qualifiers)})\s+)?(?P<cur>{alternation(_WORDS.currency_words)})\b"
)
_COUNT = re.compile(
    rf"(?<![\w$€£¥.,:/-])(?P<num>{_NUM})(?:\s(?P<scale>{_SCALE_WORDS})\b)?\s+"
    rf"(?P<unit>[a-z][a-z-]+s|{alternation(_WORDS.count_units)})\b"
)
_NOT_COUNTED = frozenset(_WORDS.not_counted)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def find_amounts(body: str) -> list[Amount]:
    """Money first; then counts that do not overlap money ('1,200 casualties')."""
    found: list[Amount] = []
    taken: list[tuple[int, int]] = []
    for pattern, currencies in ((_MONEY_PREFIXED, _WORDS.currency_prefixes),
                                (_MONEY_WORD, _WORDS.currency_words)):
        for m in pattern.finditer(body):
            if _overlaps(m.span(), taken):
                continue
            scale = _SCALE.get((m.group("scale") or "").lower(), 1.0)
            found.append(Amount(
                text=m.group(0), value=_number(m.group("num")) * scale, kind="money",
                currency=currencies[m.group("cur")], offset=m.span(),
            ))
            taken.append(m.span())
    for m in _COUNT.finditer(body):
        unit = m.group("unit")
        if unit in _NOT_COUNTED or _overlaps(m.span(), taken):
            continue
        num = m.group("num")
        if re.fullmatch(r"(?:1[89]|20)\d\d", num) and not m.group("scale"):
            continue  # a year, not a count
        scale = _SCALE.get(m.group("scale") or "", 1.0)
        found.append(Amount(
            text=m.group(0), value=_number(num) * scale, kind="count", unit=unit, offset=m.span(),
        ))
    return sorted(found, key=lambda a: a.offset or (0, 0))


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(s < span[1] and span[0] < e for s, e in taken)
