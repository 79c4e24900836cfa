"""Normalise stage: a ``Document`` -> an ``Article``: the body is the article and nothing else.

A drop is read as a news page is laid out: labels and a headline (maybe repeated), a standfirst,
captions, a byline, a date line and "Listen to this article" above the body; share bars,
related links and wire trailers below it. Each paragraph is classified once (by the rules in
``boilerplate.yaml`` and the credit and date heuristics); metadata is taken from what the
classification found, and every paragraph that leaves the body is kept in ``boilerplate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ...errors import BadInput
from ...models import Article, Document
from . import credits
from .language import detect_language
from .dates import FoundDate, choose_published, date_line, iso_date, parse_date
from .patterns import AFTER_THE_NAME, BYLINE_LABEL, NOT_A_NAME, NOT_A_PERSON
from .rules import Rules, load_rules
from .text import clean_text, strip_markdown

# A plain-text drop may start with a scraper's header: " date 2026-01-16 <page chrome>".
_HEADER = re.compile(r"^date[:\s]\s*(?P<date>\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?)\s*(?P<rest>.*)$",
                     re.IGNORECASE)
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?…:;\"”’)\]]$")
_LEDE_END = re.compile(r"[.!?。！？][\"'”’»)]?$")  # a sentence's end: a lede, not a heading
MAX_BOILERPLATE_CHARS = 400  # longer paragraphs are prose, never furniture
TOP_WINDOW = 12  # paragraphs after the headline where page furniture may sit
MAX_STANDFIRST_WORDS = 70
MAX_TAIL_MARKER_CHARS = 60  # "Related stories", "More from Reuters"
MAX_LINK_CHARS = 150  # a headline in a list of links
LANGUAGE_SAMPLE = 240  # characters of body the language is read from (plenty for a news lede)


@dataclass
class _Para:
    text: str
    kind: str = "prose"  # prose | boilerplate | date | credit (byline, wire) | title | subtitle
    rule: str | None = None
    marks_top: bool = False
    top_only: bool = False  # matched a rule that only applies above the body
    date: FoundDate | None = None


@dataclass
class _Found:
    audit: list[str] = field(default_factory=list)
    dates: list[FoundDate] = field(default_factory=list)
    credits: credits.Credits = field(default_factory=credits.Credits)


def normalise(doc: Document, rules: Rules | None = None) -> Article:
    """Clean body and news metadata of one document."""
    rules = rules or load_rules()
    found = _Found()
    text = clean_text(doc.text)
    md_title = None
    if doc.format == "md":
        text, md_title = strip_markdown(text)
    text, explicit = _header(text, doc, rules, found)
    paras = [_classify(p, rules) for p in _paragraphs(text)]

    title = _title_without_site(_clean(doc.title), doc.site) or md_title
    if title is None and doc.format in ("txt", "md"):
        title = _headline(paras)
    subtitle = _clean(doc.subtitle)
    # A format's description that reads as a sentence is, when the text opens with it, the
    # lede itself (CMSs copy the first paragraph into the meta description): it stays in the
    # body. One that reads as a heading is a standfirst pasted above the body: it goes.
    dek = subtitle if subtitle and not _LEDE_END.search(subtitle) else None
    _drop_repeated(paras, title, "repeated_title")
    _drop_repeated(paras, dek, "repeated_subtitle")
    start = _body_start(paras, rules, given_subtitle=subtitle is not None)
    standfirst = [p for p in paras[:start] if p.kind == "prose"]
    if standfirst and subtitle is None:
        subtitle = standfirst[0].text
        standfirst[0].kind = "subtitle"
        dek = subtitle
    _drop_repeated_at_body_start(paras, start, title, dek)
    end = _body_end(paras, start, rules)

    body: list[str] = []
    for i, p in enumerate(paras):
        if p.kind in ("title", "subtitle"):
            continue
        if start <= i < end and p.kind == "prose":
            body.append(p.text)
            continue
        found.audit.append(p.text)
        _take_metadata(p, rules, found)
    _take_body_credits(body, rules, found)
    if not body:
        raise BadInput("no_text", "no article text is left after removing page furniture")

    body_text = "\n\n".join(body)
    authors = _authors(doc.authors, rules, found)
    return Article(
        title=title,
        subtitle=subtitle if subtitle != title else None,
        url=doc.url,
        site=doc.site,
        published_at=choose_published(explicit, found.dates),
        dateline=found.credits.dateline,
        agencies=found.credits.agencies,
        authors=authors,
        language=doc.language or detect_language(body_text[:LANGUAGE_SAMPLE]),
        body=body_text,
        word_count=len(body_text.split()),
        boilerplate=[*doc.dropped, *found.audit],
    )


def _title_without_site(title: str | None, site: str | None) -> str | None:
    """A page title without the site or section it carries: 'A city on the brink | Editorial',
    'Talks resume - Reuters'. A ' | ' tail of up to four words goes; a dash tail only when it
    names the site."""
    if not title:
        return title
    head, sep, tail = title.rpartition(" | ")
    if sep and len(tail.split()) <= 4 and len(head) >= 15:
        return head.strip()
    for dash in (" - ", " – ", " — "):
        head, sep, tail = title.rpartition(dash)
        if sep and site and len(head) >= 15 and _heading_key(tail) and _heading_key(tail) in _heading_key(site):
            return head.strip()
    return title


def _clean(value: str | None) -> str | None:
    return " ".join(clean_text(value).split()) or None if value else None


def _header(text: str, doc: Document, rules: Rules, found: _Found) -> tuple[str, FoundDate | None]:
    """Strip a scraper's date header; the explicit date (header or format metadata), if any."""
    explicit = None
    if doc.published:
        value = iso_date(doc.published) or parse_date(doc.published, rules.timezones)
        if value:
            explicit = FoundDate(value[0], "metadata", value[1])
    first, _, rest = text.partition("\n")
    if doc.format in ("txt", "md") and (m := _HEADER.match(first)):
        value = iso_date(m.group("date"))
        if value and explicit is None:
            explicit = FoundDate(value[0], "header", value[1])
        if m.group("rest"):
            found.audit.append(m.group("rest"))
        text = rest
    return text, explicit


def _paragraphs(text: str) -> list[str]:
    """Lines are paragraphs, except that a line broken mid-sentence is joined to the next.

    In a hard-wrapped text (lines cut near one width, as e-mail and wire copy are) every long
    line continues onto the next one that follows it directly; elsewhere only a long line
    without a closing stop continues, and only onto a line starting in lower case.
    """
    lines = text.split("\n")
    width = _wrap_width(lines)
    blank_separated = width and lines.count("") >= 3
    paras: list[str] = []
    joinable = False
    for line in lines:
        if not line:
            joinable = False
            continue
        if joinable and (line[0].islower() or width):
            paras[-1] += " " + line
        else:
            paras.append(line)
        if width:
            joinable = len(line) >= 0.6 * width and (
                blank_separated or not _SENTENCE_END.search(line))
        else:
            joinable = not _SENTENCE_END.search(paras[-1]) and len(paras[-1]) > 60
    return paras


def _wrap_width(lines: list[str]) -> int:
    """The width a text was hard-wrapped at, or 0 when it was not."""
    lengths = [len(line) for line in lines if line]
    if len(lengths) < 6:
        return 0
    width = max(lengths)
    if width > 100 or width < 40:
        return 0
    near = sum(1 for n in lengths if n >= 0.8 * width)
    return width if near >= 0.4 * len(lengths) else 0


def _classify(text: str, rules: Rules) -> _Para:
    para = _Para(text)
    if len(text) > MAX_BOILERPLATE_CHARS:
        return para
    if found := date_line(text, rules.timezones):
        para.kind, para.date, para.marks_top = "date", found, True
    elif credits.agency_line(text, rules) or credits.byline(text, rules):
        para.kind, para.marks_top = "credit", True
    elif match := rules.line_match(text):
        para.kind, para.rule, para.marks_top = "boilerplate", match.name, match.marks_top
        para.top_only = match.where == "top"
    return para


def _headline(paras: list[_Para]) -> str | None:
    """The headline: the first prose line near the top that reads as one (three to thirty
    words, no closing full stop). Shorter lines above it are section labels; a long or
    full-stopped line first means the drop has no headline."""
    for i, p in enumerate(paras[:TOP_WINDOW]):
        if p.kind != "prose":
            continue
        words = len(p.text.split())
        if words < 3 and not p.text.endswith("."):
            continue
        if words <= 30 and len(p.text) <= 250 and not re.search(r"[.,;:]$", p.text) \
                and i < len(paras) - 1:
            p.kind = "title"
            for label in paras[:i]:
                if label.kind == "prose":
                    label.kind, label.rule = "boilerplate", "label"
            return p.text
        return None
    return None


def _drop_repeated(paras: list[_Para], heading: str | None, rule: str) -> None:
    """A headline (or standfirst) pasted again above the body, or repeated at the top of a
    body the format already titled, leaves the body; a restatement further down stays."""
    if not heading:
        return
    key = _heading_key(heading)
    for p in paras[:TOP_WINDOW]:
        if p.kind != "prose":
            continue
        if abs(len(p.text) - len(heading)) < 20 and _heading_key(p.text) == key:
            p.kind, p.rule = "boilerplate", rule
        else:
            return


def _heading_key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _body_start(paras: list[_Para], rules: Rules, given_subtitle: bool = False) -> int:
    """Index of the first body paragraph: after the furniture that sits under a headline.

    The furniture ends at the last "marks top" paragraph (date line, byline, credited caption,
    "Listen to this article") near the top, or just before a paragraph opening with a dateline.
    Two prose paragraphs in a row mean the body has begun, so furniture further down (a date
    line closing the article) does not count; and furniture must leave a body below it. Prose
    above the furniture is the standfirst (the first) and uncredited captions (the rest). When
    the format already gave a standfirst, prose above a dateline paragraph is body: a clean
    record we wrote, dropped in again, keeps its body whole.
    """
    last_mark = -1
    in_a_row = 0
    for i, p in enumerate(paras[:TOP_WINDOW]):
        if p.kind == "prose":
            if credits.find_dateline(p.text, rules):
                if not (given_subtitle and in_a_row):
                    last_mark = max(last_mark, i - 1)
                break
            in_a_row += 1
            if in_a_row > 2 or len(p.text.split()) > MAX_STANDFIRST_WORDS:
                break
        elif p.marks_top or p.kind in ("title", "date", "credit"):
            last_mark, in_a_row = i, 0
    start = last_mark + 1
    if not any(p.kind == "prose" for p in paras[start:]):
        start = 0
    first_prose = True
    for p in paras[:start]:
        if p.kind == "prose":
            if not first_prose:
                p.kind, p.rule = "boilerplate", "caption"
            first_prose = False
    for p in paras[start:]:
        if p.top_only:
            p.kind = "prose"  # top-only rules do not reach into the body
    return start


def _body_end(paras: list[_Para], start: int, rules: Rules) -> int:
    """Index after the last body paragraph: a trailing block of links ("Related stories" and
    the short headlines under it) goes."""
    for i in range(start + 1, len(paras)):
        text = paras[i].text
        if len(text) <= MAX_TAIL_MARKER_CHARS and rules.tail_marker.fullmatch(text) and all(
            _is_link_text(p.text) for p in paras[i + 1:] if p.kind == "prose"
        ):
            for p in paras[i:]:
                if p.kind == "prose":
                    p.kind, p.rule = "boilerplate", "trailing_links"
            return i
    return len(paras)


def _is_link_text(text: str) -> bool:
    """A line that reads as a link: a headline ("Royal Self Indicting Arrogance"), not prose."""
    return len(text) <= MAX_LINK_CHARS and not re.search(r"[.!?\"”’]$", text)


def _drop_repeated_at_body_start(paras: list[_Para], start: int, title: str | None,
                                 subtitle: str | None) -> None:
    """The body does not open by repeating the headline or standfirst."""
    headings = {_heading_key(h) for h in (title, subtitle) if h}
    for p in paras[start:]:
        if p.kind != "prose":
            continue
        if _heading_key(p.text) not in headings:
            return
        p.kind, p.rule = "boilerplate", "repeated_title"


def _take_metadata(p: _Para, rules: Rules, found: _Found) -> None:
    """What a removed paragraph says about the article: dates, wire credits, bylines."""
    if p.date is not None:
        found.dates.append(p.date)
        return
    if line := credits.agency_line(p.text, rules):
        found.credits.add_agency(line[0])
        if line[1] and found.credits.dateline is None:
            found.credits.dateline = line[1]
        return
    if by := credits.byline(p.text, rules):
        for name in by.authors:
            found.credits.add_author(name)
        for agency in by.agencies:
            found.credits.add_agency(agency)
        for text in by.dates:
            if value := parse_date(text, rules.timezones):
                found.dates.append(FoundDate(value[0], "published", value[1]))
        return
    for name in credits.reporting_credits(p.text, rules):
        found.credits.add_author(name)
    if p.rule == "source_credit":
        for agency in credits.agencies_named(p.text, rules):
            found.credits.add_agency(agency)


def _take_body_credits(body: list[str], rules: Rules, found: _Found) -> None:
    """The dateline of the first body paragraphs, and a wire credit closing the last one."""
    for para in body[:3]:
        if hit := credits.find_dateline(para, rules):
            found.credits.dateline = found.credits.dateline or hit[0]
            found.credits.add_agency(hit[1])
            break
    while body and (hit := credits.trailing_credit(body[-1], rules)):
        rest, agencies = hit
        found.audit.append(body[-1][len(rest):].strip())
        for agency in agencies:
            found.credits.add_agency(agency)
        if rest:
            body[-1] = rest
        else:
            body.pop()


def _authors(given: list[str], rules: Rules, found: _Found) -> list[str]:
    """The format's authors (a wire credit among them is an agency; one that ends with its
    agency, 'JILL LAWLESS Associated Press', is both) and the bylines'."""
    authors: list[str] = []
    for name in given:
        name = AFTER_THE_NAME.sub("", BYLINE_LABEL.sub("", " ".join(name.split())))
        if not name or NOT_A_NAME.fullmatch(name):
            continue
        if line := credits.agency_line(name, rules):
            found.credits.add_agency(line[0])
            found.credits.dateline = found.credits.dateline or line[1]
            continue
        m = _trailing_agency(rules.agency_pattern).match(name)
        if m and (agency := rules.agency(m.group("agency"))):
            found.credits.add_agency(agency)
            name = m.group("name")
        if NOT_A_PERSON.search(name):  # "AP National Security Writer", "NJ Advance Media"
            for agency in credits.agencies_named(name, rules):
                found.credits.add_agency(agency)
            continue
        name = _name_case(name)
        if name and name not in authors:
            authors.append(name)
    return authors + [a for a in found.credits.authors if a not in authors]


@lru_cache(maxsize=4)
def _trailing_agency(agency_pattern: str) -> re.Pattern[str]:
    return re.compile(rf"^(?P<name>[^\d,|/]+?)\s*[,|/–-]?\s+(?P<agency>(?i:{agency_pattern}))$")


def _name_case(name: str) -> str:
    """'DANICA KIRKA' -> 'Danica Kirka', "JOHN O'NEILL" -> "John O'Neill"; other names as given."""
    if not name.isupper():
        return name
    return re.sub(r"[^\W\d_]+", lambda m: m.group().capitalize(), name)
