"""Entity mentions (from NER, or from the name scanner at `fast`) to one Entity per thing.

The model's labels are repaired with cheap, general rules before grouping:
1. a name in the reviewed alias table, or a country name, takes the table's / gazetteer's type;
2. mentions with the same text take their most frequent label within the article;
3. a surname or full name of a person named in the article is a person, even if tagged ORG;
4. a lone capitalised word tagged PERSON, never given a first name in the article and directly
   followed by a product noun ("Patriot missiles"), is a product; so is a "person" with a digit
   ("F-16s");
a bare title ("Defense", "President") is no entity at all.
Then a person the model named in full is also found where it missed them by surname.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate
from dataclasses import dataclass

from ...models import Entities, Entity
from .aliases import AliasTable
from .canonical import (
    TITLES, PersonCluster, acronym, clean_surface, cluster_persons, person_keys, spelling_key, strip_titles,
)
from .gazetteer import Gazetteer, NameHit
from .nlp import Mention

KIND = {
    "PERSON": "person", "ORG": "organization", "GPE": "location", "LOC": "location",
    "FAC": "location", "NORP": "norp", "PRODUCT": "product", "EVENT": "event",
    "WORK_OF_ART": "work_of_art", "LAW": "law", "LANGUAGE": "language",
}
_NEXT_WORD = re.compile(r"[\s-]+([a-z]+)")
_ACRONYM = re.compile(r"^[A-Z]{2,6}$")
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")


@dataclass
class _Span:
    start: int
    end: int
    text: str  # cleaned surface (no 'the', possessive, edge punctuation)
    kind: str


@dataclass(frozen=True)
class PersonMention:
    start: int
    end: int
    name: str  # canonical


def _trim(body: str, start: int, end: int) -> tuple[int, int]:
    """Offsets of the cleaned surface inside [start, end)."""
    raw = body[start:end]
    cleaned = clean_surface(raw)
    if not cleaned:
        return start, start
    inner = raw.find(cleaned.split()[0])
    if inner < 0:
        return start, end
    s = start + inner
    last = cleaned.split()[-1]
    e = start + raw.rfind(last) + len(last)
    return s, max(e, s)


def _spans_from_mentions(body: str, mentions: Sequence[Mention], gaz: Gazetteer) -> list[_Span]:
    spans = []
    for m in mentions:
        kind = KIND.get(m.label)
        if kind is None:
            continue
        whole, begin = _POSSESSIVE.sub("", m.text), m.start
        if kind == "location" and body[max(0, begin - 4):begin] == "The ":
            whole, begin = "The " + whole, begin - 4
        if kind == "location" and whole.startswith("The ") and gaz.resolve(whole):
            spans.append(_Span(begin, begin + len(whole), whole, kind))  # "The Hague"
            continue
        start, end = _trim(body, m.start, m.end)
        text = clean_surface(body[start:end])
        if text and any(c.isalpha() for c in text) and (kind == "norp" or text.lower() not in TITLES):
            spans.append(_Span(start, end, text, kind))
    return spans


def _repair(body: str, spans: list[_Span], aliases: AliasTable, gaz: Gazetteer) -> None:
    for span in spans:  # 1. the reviewed table and the gazetteer's countries know the type
        entry = aliases.lookup(span.text)
        if entry is not None:
            span.kind = entry.type
        elif gaz.is_country(span.text):
            span.kind = "location"
    fixed = {id(s) for s in spans if aliases.lookup(s.text) or gaz.is_country(s.text)}
    votes: dict[str, Counter[str]] = {}
    for span in spans:  # 2. most frequent label per name
        votes.setdefault(span.text, Counter())[span.kind] += 1
    for span in spans:
        if id(span) not in fixed:
            span.kind = votes[span.text].most_common(1)[0][0]
    persons = [strip_titles(s.text) for s in spans if s.kind == "person"]
    keys = person_keys(persons)
    for span in spans:  # 3. a known person's name is a person
        if span.kind != "person" and id(span) not in fixed and not gaz.resolve(span.text):
            stripped = strip_titles(span.text)
            if spelling_key(stripped) in keys:
                span.kind = "person"
    for span in spans:  # 4. "Patriot missiles", "F-16s": products, not persons
        if span.kind == "person" and not span.text[0].isupper():
            span.kind = "none"  # "gaunt": no name starts in lower case
        elif span.kind == "person" and any(c.isdigit() for c in span.text):
            span.kind = "product"
        elif span.kind == "person" and " " not in span.text and spelling_key(span.text) not in keys:
            nxt = _NEXT_WORD.match(body, span.end)
            if nxt and nxt.group(1) in aliases.product_nouns:
                span.kind = "product"


def _entity(name: str, kind: str, group: list[_Span], body: str) -> Entity:
    group = sorted(group, key=lambda s: s.start)
    forms: list[str] = []
    for s in group:
        surface = body[s.start:s.end]
        if surface not in forms:
            forms.append(surface)
    return Entity(
        name=name, type=kind, surface_forms=forms, mentions=len(group),
        offsets=[(s.start, s.end) for s in group],
    )


def _order(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (-e.mentions, e.offsets[0][0] if e.offsets else 0))


def _group(spans: list[_Span], canonical) -> dict[str, tuple[str, list[_Span]]]:
    groups: dict[str, tuple[str, list[_Span]]] = {}
    for span in spans:
        name = canonical(span.text)
        key = name.lower()
        if key not in groups:
            groups[key] = (name, [])
        groups[key][1].append(span)
    return groups


def _person_name(cluster: PersonCluster, aliases: AliasTable) -> str:
    """The table's name for a person written several ways across articles (an article that
    says "Zelenskyy" and one that says "Zelensky" name one person), else the article's own."""
    for form in [cluster.name, *cluster.full_forms, *cluster.surfaces]:
        entry = aliases.lookup(form)
        if entry is not None and entry.type == "person":
            return entry.name
    return cluster.name


def build_entities(
    body: str, spans: list[_Span], aliases: AliasTable, gaz: Gazetteer
) -> tuple[Entities, list[PersonMention]]:
    """Group repaired spans into entities with canonical names; also each person mention."""
    def alias_name(text: str) -> str:
        entry = aliases.lookup(text)
        return entry.name if entry is not None else text

    entities = Entities()
    person_spans = [s for s in spans if s.kind == "person"]
    clusters, _ = cluster_persons([strip_titles(s.text) for s in person_spans])
    person_mentions: list[PersonMention] = []
    for cluster in clusters:
        group = [person_spans[i] for i in cluster.mentions]
        name = _person_name(cluster, aliases)
        entities.persons.append(_entity(name, "person", group, body))
        person_mentions += [PersonMention(s.start, s.end, name) for s in group]
    entities.persons = _order(entities.persons)

    orgs = _group([s for s in spans if s.kind == "organization"], alias_name)
    by_acronym = {acronym(name): key for key, (name, _) in orgs.items() if len(name.split()) > 1}
    for key in list(orgs):  # "WEF" joins "World Economic Forum"
        name, group = orgs[key]
        target = by_acronym.get(name)
        if _ACRONYM.match(name) and target and target != key:
            orgs[target][1].extend(group)
            del orgs[key]
    entities.organizations = _order([_entity(n, "organization", g, body) for n, g in orgs.values()])

    def place_name(text: str) -> str:
        place = gaz.resolve(text, aliases)
        return place.name if place is not None else alias_name(text)

    for name, group in _group([s for s in spans if s.kind == "location"], place_name).values():
        entity = _entity(name, "location", group, body)
        place = gaz.resolve(name, aliases)
        if place is not None:
            entity.country_code, entity.latitude, entity.longitude = (
                place.country_code, place.latitude, place.longitude,
            )
        entities.locations.append(entity)
    entities.locations = _order(entities.locations)

    others: dict[tuple[str, str], list[_Span]] = {}
    for span in spans:
        if span.kind not in ("person", "organization", "location", "none"):
            others.setdefault((span.kind, span.text), []).append(span)
    entities.other = _order([_entity(text, kind, g, body) for (kind, text), g in others.items()])
    return entities, sorted(person_mentions, key=lambda p: p.start)


def entities_from_ner(
    body: str, mentions: Sequence[Mention], hits: Sequence[NameHit], aliases: AliasTable, gaz: Gazetteer
) -> tuple[Entities, list[PersonMention]]:
    """`full`: the model's mentions, repaired, plus table/country names the model missed."""
    spans = _spans_from_mentions(body, mentions, gaz)
    taken = sorted((s.start, s.end) for s in spans)
    starts = [s for s, _ in taken]
    reach = list(accumulate((e for _, e in taken), max))  # furthest end of the spans so far
    for hit in hits:
        if aliases.lookup(hit.text) is None and not gaz.is_country(hit.text):
            continue
        i = bisect_left(starts, hit.end)  # taken[:i] start before the hit ends
        if not (i and reach[i - 1] > hit.start):  # none of them reaches into it: no overlap
            spans.append(_Span(hit.start, hit.end, clean_surface(hit.text), hit.kind))
    spans.sort(key=lambda s: s.start)
    _repair(body, spans, aliases, gaz)
    spans = sorted(spans + _later_mentions(body, spans, aliases, gaz), key=lambda s: s.start)
    return build_entities(body, spans, aliases, gaz)


_CAPITALISED_BEFORE = re.compile(r"(?:[A-Z][\w'’-]*|[A-Z][a-z]?\.)[ \t]+$")  # "Salem ", "J. ", not "Friday. "
_CAPITALISED_AFTER = re.compile(r"[ \t]+[A-Z]")


def _later_mentions(
    body: str, spans: Sequence[_Span], aliases: AliasTable, gaz: Gazetteer
) -> list[_Span]:
    """Mentions of a person the model named in full that it missed elsewhere: news names a
    person once in full and then by surname ('Mark Esper' ... 'Esper said'), and a small model
    drops some of those. Only a standalone capitalised word (not part of a longer name) that
    is no place or known organisation counts."""
    forms: set[str] = set()
    for span in spans:
        name = strip_titles(span.text)
        if span.kind != "person" or len(name.split()) < 2:
            continue
        forms.add(name)
        surname = name.split()[-1]
        entry = aliases.lookup(surname)
        if len(surname) >= 3 and surname[0].isupper() and (entry is None or entry.type == "person") \
                and not gaz.resolve(surname):
            forms.add(surname)
    if not forms:
        return []
    pattern = re.compile(
        r"(?<![\w'’-])(?:" + "|".join(map(re.escape, sorted(forms, key=len, reverse=True))) + r")(?![\w-])"
    )
    starts = [s.start for s in spans]  # sorted by start
    reach = list(accumulate((s.end for s in spans), max))  # furthest end of the spans so far
    found: list[_Span] = []
    for m in pattern.finditer(body):
        start, end = m.span()
        i = bisect_left(starts, end)  # spans[:i] start before this match ends
        if i and reach[i - 1] > start:
            continue  # overlaps a span already found
        if _CAPITALISED_BEFORE.search(body, max(0, start - 40), start) or _CAPITALISED_AFTER.match(body, end):
            continue  # part of a longer name: "Salem Bitar" when only "Bitar" is known
        found.append(_Span(start, end, m.group(), "person"))
    return found


def entities_from_scan(
    body: str, hits: Sequence[NameHit], aliases: AliasTable, gaz: Gazetteer
) -> Entities:
    """`fast`: places and organisations found by name alone (no persons without the model)."""
    spans = [_Span(h.start, h.end, clean_surface(h.text), h.kind) for h in hits]
    spans = [s for s in spans if s.kind in ("location", "organization")]
    return build_entities(body, spans, aliases, gaz)[0]
