"""Sums of money (currency and scale normalised) and counts of things with their noun."""

from __future__ import annotations

import re

from ...models import Amount

_CURRENCY_PREFIX = {
    "US$": "USD", "U.S.$": "USD", "$": "USD", "S$": "SGD", "A$": "AUD", "AU$": "AUD",
    "C$": "CAD", "CA$": "CAD", "HK$": "HKD", "NZ$": "NZD", "R$": "BRL", "NT$": "TWD",
    "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₽": "RUB", "₩": "KRW", "₴": "UAH",
    "Rs": "INR", "Rs.": "INR", "USD": "USD", "EUR": "EUR", "GBP": "GBP", "JPY": "JPY",
    "CHF": "CHF", "CNY": "CNY", "INR": "INR", "AUD": "AUD", "CAD": "CAD", "SGD": "SGD",
}
_CURRENCY_WORD = {
    "dollars": "USD", "dollar": "USD", "euros": "EUR", "euro": "EUR", "pounds": "GBP",
    "yen": "JPY", "yuan": "CNY", "rupees": "INR", "roubles": "RUB", "rubles": "RUB",
    "hryvnias": "UAH", "francs": "CHF",
}
_SCALE = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "mln": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12, "trn": 1e12,
}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE_RE = r"thousand|million|billion|trillion|mln|mn|bn|trn|tn|k|m|b"
_PREFIX_RE = "|".join(re.escape(p) for p in sorted(_CURRENCY_PREFIX, key=len, reverse=True))
_MONEY_PREFIXED = re.compile(
    rf"(?<![\w$])(?P<cur>{_PREFIX_RE})\s?(?P<num>{_NUM})(?:\s?(?P<scale>{_SCALE_RE})\b)?"
)
_MONEY_WORD = re.compile(
    rf"(?<![\w$.,])(?P<num>{_NUM})(?:\s?(?P<scale>thousand|million|billion|trillion)\b)?\s+"
    rf"(?:(?:US|U\.S\.|Australian|Canadian|Singapore|Hong Kong)\s+)?(?P<word>{'|'.join(_CURRENCY_WORD)})\b"
)
_COUNT = re.compile(
    rf"(?<![\w$€£¥.,:/-])(?P<num>{_NUM})(?:\s(?P<scale>thousand|million|billion)\b)?\s+"
    r"(?P<unit>[a-z][a-z-]+s|people|children|men|women|personnel|staff|police)\b"
)
_NOT_COUNTED = frozenset(
    """years months weeks days hours minutes seconds decades centuries times percent pts
    points per of ms mins hrs yrs kms miles metres meters feet inches pounds dollars euros
    degrees kilometres kilometers""".split()
)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def find_amounts(body: str) -> list[Amount]:
    """Money first; then counts that do not overlap money ('1,200 casualties')."""
    found: list[Amount] = []
    taken: list[tuple[int, int]] = []
    for m in _MONEY_PREFIXED.finditer(body):
        scale = _SCALE.get((m.group("scale") or "").lower(), 1.0)
        found.append(Amount(
            text=m.group(0), value=_number(m.group("num")) * scale, kind="money",
            currency=_CURRENCY_PREFIX[m.group("cur")], offset=m.span(),
        ))
        taken.append(m.span())
    for m in _MONEY_WORD.finditer(body):
        if _overlaps(m.span(), taken):
            continue
        scale = _SCALE.get((m.group("scale") or "").lower(), 1.0)
        found.append(Amount(
            text=m.group(0), value=_number(m.group("num")) * scale, kind="money",
            currency=_CURRENCY_WORD[m.group("word")], offset=m.span(),
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
