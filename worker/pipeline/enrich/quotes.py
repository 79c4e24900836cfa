"""Direct quotations and who said them, as GDELT's Quotations.

Attribution is read from the words right after the quote ('...," Zelensky said' / '...," said
Trump' / '...," he told reporters'), right before it ('Zelensky said: "..."'), or from the speech
verb of the sentence a quoted phrase sits in ('Trump stated that he would "..."'; the subject
must then be a person or organisation the article names). A quote's pronoun is the last person
told as speaking before it ("Mr Zelensky said ..."), else the last named speaker of a quote,
else the last person mentioned before it; a phrase's pronoun ('He added that Kyiv was "..."') is
the person its paragraph is about, else the last told as speaking, and otherwise stays unknown.
A quote with no attribution that follows an attributed one in the same paragraph, or opens the
next paragraph, continues it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from ...models import Quote
from ..normalise.patterns import alternation
from .wordlists import wordlists

_WORDS = wordlists()
_VERBS = f"(?:{alternation(_WORDS.speech_verbs)})"
# Up to six capitalised words on one line ("White House Press Secretary Stephanie Grisham"); a
# full stop only after a title, an initial or an abbreviation ("Mr. Smith", "J. Biden",
# "U.S. Attorney"), so "on Wednesday. He said" is not one.
_NAME = r"(?<![\w'’.-])(?:(?:(?:[A-Z]\.){2,}|[A-Z][a-z]{0,2}\.|[A-Z][\w'’-]*)[ \t]+){0,5}[A-Z][\w'’-]*[\w]"
_PRONOUN = r"(?:he|she|He|She)"
# A speaker may come with a short description before the name ('the 14th-ranked Schwartzman
# said', 'says veteran industry analyst Ken Doctor') or an apposition after it ('Morrison,
# Vindman's superior, said'); three lower-case words at most, none a preposition, so 'a source
# close to Trump said' does not make Trump the speaker.
_DESCRIPTION = r"(?:(?!(?:to|of|for|with|from|by|at|in|on|near|about|close|and|or)\b)[a-z0-9][\w'’-]*\s+){0,3}?"
_APPOSITION = r"(?:,[^\"“”\n]{1,140}?,)?"  # may hold commas: ', a scientist at Goddard in Greenbelt, Maryland,'"
_AFTER_SUBJECT = re.compile(
    rf"\s*[,–—-]?\s*(?:(?P<pron>{_PRONOUN})|(?:the\s+)?{_DESCRIPTION}(?P<name>{_NAME}){_APPOSITION})"
    rf"\s+(?:\w+ly\s+)?{_VERBS}\b"
)
_AFTER_VERB = re.compile(rf"\s*[,–—-]?\s*{_VERBS}\s+(?:the\s+)?{_DESCRIPTION}(?P<name>{_NAME})")
_BEFORE = re.compile(
    rf"(?:(?P<pron>{_PRONOUN})|(?P<name>{_NAME}))\s+(?:\w+ly\s+)?{_VERBS}\b[^\"“”.]{{0,60}}?[:,]\s*$"
)
_NARRATED = re.compile(rf"(?P<name>{_NAME}){_APPOSITION}\s+(?:\w+ly\s+)?{_VERBS}\b")  # "Mr Zelensky said ..."
# Reported speech carrying a quoted phrase: 'He added that Kyiv was "ready to buy ..."'.
# Verbs that frame someone's words as a description ('Trump described it as "..."') count too.
_DESCRIBING = f"(?:{alternation(_WORDS.describing_verbs)})"
_REPORTING = re.compile(
    rf"(?:\b(?P<pron>{_PRONOUN})|(?P<name>{_NAME}){_APPOSITION})\s+(?:\w+ly\s+)?(?:{_VERBS}|{_DESCRIBING})\b"
)
_REPORTED_SPAN = re.compile(r"[^\"“”.!?;]{0,140}")  # the rest of the clause, up to the quote
_LOOKBACK = 600
_TITLE = re.compile(r"(?:[A-Z0-9][\w'’:&-]*[.,!?]?\s*)+")  # every word capitalised: a name or a title
# A quotation closes on its line ('”', or the two apostrophes some wires use), or runs to the
# end of its paragraph when the next one opens with a quotation mark: a quote of several
# paragraphs closes only at the end of the last.
_QUOTE = re.compile(
    r"\"([^\"\n]+)\"|“([^“”\"\n]+?)(?:”|’’|\")"  # closed on its line ('“..."' too: scrapes mix marks)
    r"|\"([^\"\n]+)(?=\n\s*\")"
    r"|“([^“”\n]+)(?=\n\s*“)"
)
_NOT_NAMES = frozenset(_WORDS.not_names)  # sentence openers, not a speaker's name
_MIN_WORDS_UNATTRIBUTED = 6
_MIN_WORDS = 2


def find_quotes(
    body: str,
    resolve: Callable[[str], str],
    persons: Sequence[tuple[int, str]] = (),
    is_speaker: Callable[[str], bool] = lambda name: True,
    check: Callable[[str], None] = lambda stage: None,
) -> list[Quote]:
    """Quotes in `body`. `resolve` turns a name as written into a canonical name; `persons`
    are (offset, canonical name) of person mentions, used for pronouns with no named speaker;
    `is_speaker` says whether a name as written is a person or organisation the article knows,
    which a quoted phrase inside reported speech needs (not 'China said it is committed to the
    "one country, two systems" formula'); `check` (the article's time budget) is called every
    few quotes."""
    quotes: list[Quote] = []
    person_names = {name for _, name in persons}

    def person(name: str) -> bool:  # without the model (`fast`) any name may be one
        return not person_names or resolve(name) in person_names

    last_named: str | None = None
    last_named_at = -1
    last_end, last_line = -1, -1
    previous: Quote | None = None
    for number, match in enumerate(_QUOTE.finditer(body)):
        if number % 16 == 0:
            check("enrich (quotes)")
        text = next(g for g in match.groups() if g is not None).strip().rstrip(",;:– ")
        start, end = match.span()
        words = len(text.split())
        line = body.count("\n", 0, start)
        speaker, pronoun, reported = _attribution(body, start, end, is_speaker)
        if reported and _TITLE.fullmatch(text):
            speaker, pronoun, reported = None, False, False  # a title: 'their podcast "Beyond Finances"'
        follows = previous is not None and previous.speaker is not None and line == last_line \
            and _only_attribution(body[last_end:start])
        if speaker is not None:
            speaker = resolve(speaker)
        elif pronoun and reported and follows:
            speaker = previous.speaker  # '"...," he says, boasting that it can "..."'
        elif pronoun and reported:
            # 'Morrison was the third witness ... He said ... there would be "political
            # consequences"': the person the paragraph is about, else the last one told as
            # speaking; never a guess from the last person mentioned.
            speaker = _paragraph_subject(body, persons, start)
            if speaker is None:  # told as speaking in this paragraph or the one before
                narrated = _last_narrated(body, _previous_paragraph_start(body, start), start, person)
                speaker = resolve(narrated) if narrated is not None else None
        elif pronoun:
            narrated = _last_narrated(body, max(last_named_at, start - _LOOKBACK), start, person)
            if narrated is not None:
                speaker = resolve(narrated)
            else:
                speaker = last_named or _last_person(persons, start)
        if speaker is None and (follows or _next_paragraph(body, previous, last_end, start)):
            speaker = previous.speaker
        if words < _MIN_WORDS or (speaker is None and words < _MIN_WORDS_UNATTRIBUTED):
            continue
        # A phrase quoted in narration ('X described it as "..."') does not make X the one
        # a later "she said" refers to: the narration may have moved on to someone else.
        if speaker is not None and not pronoun and not reported:
            last_named, last_named_at = speaker, end
        previous = Quote(text=text, speaker=speaker, offset=(start, end))
        quotes.append(previous)
        last_end, last_line = end, line
    return quotes


def _attribution(body: str, start: int, end: int,
                 is_speaker: Callable[[str], bool]) -> tuple[str | None, bool, bool]:
    """(name as written, is-a-pronoun, is-reported-speech) of the quote's attribution, if any."""
    line_end = body.find("\n", end)
    tail = body[end:min(end + 200, line_end if line_end >= 0 else len(body))]
    for pattern in (_AFTER_SUBJECT, _AFTER_VERB):
        m = pattern.match(tail)
        if m:
            if m.groupdict().get("pron"):
                return None, True, False
            if m.group("name").split()[0] not in _NOT_NAMES:
                return m.group("name"), False, False
    head_start = max(body.rfind("\n", 0, start), body.rfind(".", 0, start), start - 160, 0)
    m = _BEFORE.search(body, head_start, start)
    if m:
        if m.group("pron"):
            return None, True, False
        if m.group("name").split()[0] not in _NOT_NAMES:
            return m.group("name"), False, False
    speaker, pronoun = _reported(body, head_start, start, is_speaker)
    return speaker, pronoun, speaker is not None or pronoun


def _reported(body: str, head_start: int, start: int, is_speaker: Callable[[str], bool]) -> tuple[str | None, bool]:
    """The subject of the last speech verb of the quote's own sentence, when nothing but the
    reported clause stands between them ('Trump stated that he would "..."'); of the subjects
    that verb could have ('On Monday, the People's Daily, ..., warned'), the first the article
    knows as a speaker."""
    best: re.Match[str] | None = None
    for m in _overlapping(_REPORTING, body, head_start, start):
        name = m.group("name")
        if name is not None and (name.split()[0] in _NOT_NAMES or not is_speaker(name)):
            continue
        if not _REPORTED_SPAN.fullmatch(body, m.end(), start):
            continue
        if best is None or m.end() > best.end():
            best = m
    if best is None:
        return None, False
    return (None, True) if best.group("pron") else (best.group("name"), False)


def _overlapping(pattern: re.Pattern[str], body: str, start: int, end: int) -> Iterator[re.Match[str]]:
    """Every match starting at each position: 'On Monday, the People's Daily, ..., warned' must
    not hide 'the People's Daily, ..., warned' behind a rejected 'On Monday'."""
    while (m := pattern.search(body, start, end)) is not None:
        yield m
        start = m.start() + 1


def _last_narrated(body: str, start: int, end: int, person: Callable[[str], bool]) -> str | None:
    """The last person told as speaking ('Mr Zelensky said') between two offsets, outside quotes:
    what a "he said" can refer to (not 'the High Commissioner for Human Rights said')."""
    last = None
    for m in _overlapping(_NARRATED, body, start, end):
        name = m.group("name")
        if name.split()[0] not in _NOT_NAMES and not _inside_quote(body, m.start()) and person(name):
            last = name
    return last


def _previous_paragraph_start(body: str, offset: int) -> int:
    line_start = body.rfind("\n", 0, offset)
    while line_start > 0 and not body[body.rfind("\n", 0, line_start) + 1:line_start].strip():
        line_start = body.rfind("\n", 0, line_start)  # skip blank lines
    return body.rfind("\n", 0, max(line_start, 0)) + 1


def _inside_quote(body: str, offset: int) -> bool:
    line_start = body.rfind("\n", 0, offset) + 1
    before = body[line_start:offset]
    return before.count('"') % 2 == 1 or before.count("“") > before.count("”")


def _only_attribution(gap: str) -> bool:
    """Text between two quotes of a line that does no more than attribute the first ('," Will
    Moy, chief executive of Full Fact, told the BBC. "'): the second goes on in the same voice."""
    if len(gap) >= 160 or gap.count(".") > 1:
        return False
    return "." not in gap or len(gap.rsplit(".", 1)[-1]) < 25


def _next_paragraph(body: str, previous: Quote | None, last_end: int, start: int) -> bool:
    """An unattributed quote opening the paragraph after an attributed one: news style goes on
    quoting the same speaker that way, and names a new one."""
    if previous is None or previous.speaker is None:
        return False
    line_start = body.rfind("\n", 0, start) + 1
    if body[line_start:start].strip() or last_end > line_start:
        return False
    between = body[last_end:line_start].strip()  # the attribution after the previous quote
    return "\n" not in between and len(between) < 150


def _paragraph_subject(body: str, persons: Sequence[tuple[int, str]], before: int) -> str | None:
    """The first person named in the paragraph before an offset."""
    start = body.rfind("\n", 0, before) + 1
    named = [(offset, name) for offset, name in persons if start <= offset < before]
    return min(named)[1] if named else None


def _last_person(persons: Sequence[tuple[int, str]], before: int) -> str | None:
    named = [name for offset, name in persons if offset < before]
    return named[-1] if named else None
