"""Direct quotations and who said them, as GDELT's Quotations.

Attribution is read from the words right after the quote ('...," Zelensky said' / '...," said
Trump' / '...," he told reporters') or right before it ('Zelensky said: "..."'). A pronoun is
the last person told as speaking before it ("Mr Zelensky said ..."), else the last named
speaker of a quote, else the last person mentioned before it; a quote
with no attribution that follows an attributed one in the same paragraph continues it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ...models import Quote

_VERBS = (
    r"(?:said|says|told|tells|added|adds|stated|wrote|writes|posted|asked|explained|noted|"
    r"insisted|warned|continued|declared|tweeted|remarked|replied|argued|claimed|recalled|"
    r"stressed|emphasized|emphasised|acknowledged|admitted|announced|concluded|conceded)"
)
_NAME = r"(?:[A-Z][\w'’.-]*\s+){0,3}[A-Z][\w'’-]*[\w]"
_PRONOUN = r"(?:he|she|He|She)"
_AFTER_SUBJECT = re.compile(
    rf"\s*[,–—-]?\s*(?:(?P<pron>{_PRONOUN})|(?P<name>{_NAME}))\s+(?:\w+ly\s+)?{_VERBS}\b"
)
_AFTER_VERB = re.compile(rf"\s*[,–—-]?\s*{_VERBS}\s+(?P<name>{_NAME})")
_BEFORE = re.compile(
    rf"(?:(?P<pron>{_PRONOUN})|(?P<name>{_NAME}))\s+(?:\w+ly\s+)?{_VERBS}\b[^\"“”.]{{0,60}}?[:,]\s*$"
)
_NARRATED = re.compile(rf"(?P<name>{_NAME})\s+(?:\w+ly\s+)?{_VERBS}\b")  # "Mr Zelensky said ..."
_LOOKBACK = 600
_QUOTE = re.compile(r"\"([^\"\n]+)\"|“([^“”\n]+)”")
_NOT_NAMES = frozenset(
    "When If As After Before While But And Then So Asked It They We I You He She This That There"
    " The A An In On At".split()
)
_MIN_WORDS_UNATTRIBUTED = 6
_MIN_WORDS = 2


def find_quotes(
    body: str,
    resolve: Callable[[str], str],
    persons: Sequence[tuple[int, str]] = (),
) -> list[Quote]:
    """Quotes in `body`. `resolve` turns a name as written into a canonical name; `persons`
    are (offset, canonical name) of person mentions, used for pronouns with no named speaker."""
    quotes: list[Quote] = []
    last_named: str | None = None
    last_named_at = -1
    last_end, last_line = -1, -1
    previous: Quote | None = None
    for match in _QUOTE.finditer(body):
        text = (match.group(1) or match.group(2)).strip().rstrip(",;:– ")
        start, end = match.span()
        words = len(text.split())
        line = body.count("\n", 0, start)
        speaker, pronoun = _attribution(body, start, end)
        if speaker is not None:
            speaker = resolve(speaker)
        elif pronoun:
            narrated = _last_narrated(body, max(last_named_at, start - _LOOKBACK), start)
            if narrated is not None:
                speaker = resolve(narrated)
            else:
                speaker = last_named or _last_person(persons, start)
        elif previous is not None and previous.speaker and line == last_line and start - last_end < 80:
            speaker = previous.speaker
        if words < _MIN_WORDS or (speaker is None and words < _MIN_WORDS_UNATTRIBUTED):
            continue
        if speaker is not None and not pronoun:
            last_named, last_named_at = speaker, end
        previous = Quote(text=text, speaker=speaker, offset=(start, end))
        quotes.append(previous)
        last_end, last_line = end, line
    return quotes


def _attribution(body: str, start: int, end: int) -> tuple[str | None, bool]:
    """(name as written, is-a-pronoun) of the quote's attribution, if any."""
    line_end = body.find("\n", end)
    tail = body[end:min(end + 120, line_end if line_end >= 0 else len(body))]
    for pattern in (_AFTER_SUBJECT, _AFTER_VERB):
        m = pattern.match(tail)
        if m:
            if m.groupdict().get("pron"):
                return None, True
            if m.group("name").split()[0] not in _NOT_NAMES:
                return m.group("name"), False
    head_start = max(body.rfind("\n", 0, start), body.rfind(".", 0, start), start - 160, 0)
    m = _BEFORE.search(body, head_start, start)
    if m:
        if m.group("pron"):
            return None, True
        if m.group("name").split()[0] not in _NOT_NAMES:
            return m.group("name"), False
    return None, False


def _last_narrated(body: str, start: int, end: int) -> str | None:
    """The last name told as speaking ('Mr Zelensky said') between two offsets, outside quotes."""
    last = None
    for m in _NARRATED.finditer(body, start, end):
        name = m.group("name")
        if name.split()[0] not in _NOT_NAMES and not _inside_quote(body, m.start()):
            last = name
    return last


def _inside_quote(body: str, offset: int) -> bool:
    line_start = body.rfind("\n", 0, offset) + 1
    before = body[line_start:offset]
    return before.count('"') % 2 == 1 or before.count("“") > before.count("”")


def _last_person(persons: Sequence[tuple[int, str]], before: int) -> str | None:
    named = [name for offset, name in persons if offset < before]
    return named[-1] if named else None
