"""News conventions several stages read, built once from ``lexicon.yaml``: month names, byline
labels, role words.

One definition each, so the normaliser's credit and date lines, the HTML extractor's head lines
and the enrich stage's dates agree on what a month or a byline is. The words are data (validated
when read); the patterns are compiled once, at import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


def alternation(words: Iterable[str]) -> str:
    """A regex matching any of the plain ``words``, written as a trie ("Jan(?:uary)?"): a longer
    word is tried before its prefix, and a miss costs one test per letter, where a flat
    alternation tries every word at each position."""
    trie: dict[str, dict] = {}
    for word in set(words):
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_pattern(trie)


def _trie_pattern(node: dict[str, dict]) -> str:
    branches = [re.escape(char) + _trie_pattern(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    if "" in node:  # a word ends here: what follows is optional (tried first: greedy)
        return body + "?" if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{body})?"
    return body


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
# What a page's author field carries after the name: the date it was cut from ("Carrie Arnold
# November" of "By Carrie Arnold November 18, 2019"), a "Published" label
AFTER_THE_NAME = re.compile(rf"(?:\s+(?i:{MONTH}\.?|published|updated|posted|on))+$")
# Not a person: a credential given apart ("MS", "RDN" of "Ilana Muhlstein, MS, RDN"), a CMS account
NOT_A_NAME = re.compile(r"[A-Z]{2,4}|(?i:\w*admin|administrator|webmaster)")
NOT_A_PERSON = re.compile(rf"\b(?:{alternation([*_LEX.roles, *_LEX.desks])})$", re.IGNORECASE)

NOT_PLACES = frozenset(_LEX.not_places)
NAME_PARTICLES = frozenset(_LEX.name_particles)
