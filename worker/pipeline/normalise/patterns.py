"""News conventions several stages read, built once from ``lexicon.yaml``: month names, byline
labels, role words.

One definition each, so the normaliser's credit and date lines, the HTML extractor's head lines
and the enrich stage's dates agree on what a month or a byline is. The words are data (validated
when read); the patterns are compiled once, at import.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

LEXICON = Path(__file__).with_name("lexicon.yaml")


class Lexicon(BaseModel):
    """The shape of ``lexicon.yaml``."""

    model_config = ConfigDict(extra="forbid")

    months: dict[str, list[str]] = Field(min_length=12, max_length=12)
    byline_labels: list[str] = Field(min_length=1)
    roles: list[str] = Field(min_length=1)
    role_qualifiers: list[str] = Field(default_factory=list)
    desks: list[str] = Field(default_factory=list)
    not_places: list[str] = Field(default_factory=list)
    name_particles: list[str] = Field(default_factory=list)


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    return Lexicon.model_validate(yaml.safe_load(LEXICON.read_text(encoding="utf-8")))


def alternation(words: list[str] | set[str]) -> str:
    """A regex alternation of plain words, longest first (so "Sept" is tried before "Sep")."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


def month_words() -> set[str]:
    """Every month name and abbreviation, as written ("September", "Sept")."""
    return {w for name, short in lexicon().months.items() for w in (name, *short)}


_LEX = lexicon()

# A month's name or abbreviation, capitalised ("Jan", "January"); a reader compiled with
# IGNORECASE takes it in any case. No trailing full stop: readers add `\.?` where they allow it.
MONTH = f"(?:{alternation(month_words())})"

# What opens a byline, and the space or colon after it: "By ", "Written by ", "Author: "
BYLINE_LABEL = re.compile(rf"^(?i:{alternation(_LEX.byline_labels)})\b\s*:?\s*")

# A role after a name in a byline: "Jane Doe, Senior Correspondent", "Reuters staff"
ROLE_SUFFIX = re.compile(
    rf"\s*\b(?:(?:{alternation([f'{q} ' for q in _LEX.role_qualifiers])})?(?:{alternation(_LEX.roles)}))$",
    re.IGNORECASE,
)

# A metadata "author" that is a role, a desk or a publisher, not a person
NOT_A_PERSON = re.compile(rf"\b(?:{alternation([*_LEX.roles, *_LEX.desks])})$", re.IGNORECASE)

NOT_PLACES = frozenset(_LEX.not_places)
NAME_PARTICLES = frozenset(_LEX.name_particles)
