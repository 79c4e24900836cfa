"""One name per person, organisation or place within an article.

Titles and possessives are stripped ("Mr Zelensky's" -> "Zelensky"); a surname or first name
alone attaches to the full name it belongs to; spelling variants of a name fold to one key
(Zelensky / Zelenskyy / Zelenskiy); an acronym attaches to the organisation it abbreviates.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from .wordlists import wordlists

_WORDS = wordlists()
# Words before a name that are not part of it: titles, nationalities, offices (wordlists.yaml)
TITLES = frozenset([*_WORDS.titles, *_WORDS.nationalities, *_WORDS.offices])
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[^\w.]+$")
_LEADING_S = re.compile(r"^s\s+")  # the tail of a possessive the model split: "city’s Hoa Lo"
SUFFIXES = frozenset(_WORDS.name_suffixes)
_STRAY_QUOTES = re.compile(r"[\"“”]")
_LEADING_ARTICLE = re.compile(r"^(?:the|The|a|A|an|An)\s+")
_NON_LETTER = re.compile(r"[^a-z]")
_VARIANT_ENDING = re.compile(r"(?:iy|yy|ij|ii|yi|i)$")
_DOUBLED = re.compile(r"(.)\1+")
_ACRONYM_SKIP = frozenset(_WORDS.acronym_skip)


def clean_surface(text: str) -> str:
    """A mention without possessive, edge punctuation or a leading 'the'."""
    text = text.split("\n")[0]  # a span across a line break is two things; keep the first
    text = " ".join(w for w in text.split() if w[0] not in "@#")
    text = _POSSESSIVE.sub("", _STRAY_QUOTES.sub("", text).strip())
    text = _EDGE_PUNCT.sub("", text)
    if text.endswith(".") and "." not in text[:-1]:
        text = text[:-1]  # a sentence's full stop, not an abbreviation's ("U.S.")
    text = _LEADING_ARTICLE.sub("", _LEADING_S.sub("", text))
    if "(" in text and ")" not in text:
        text = text[: text.index("(")].rstrip()  # "Shanghai Composite (SHCOMP"
    return " ".join(text.split())


def strip_titles(name: str) -> str:
    """'President Volodymyr Zelensky' -> 'Volodymyr Zelensky'; a title alone stays."""
    words = name.split()
    while len(words) > 1 and words[0].lower().rstrip(".") in TITLES:
        words = words[1:]
    return " ".join(words)


def spelling_key(word: str) -> str:
    """A spelling-insensitive key: accents, case, doubled letters, -iy/-yy/-i endings folded."""
    plain = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()
    plain = _NON_LETTER.sub("", plain)
    if len(plain) > 4:
        plain = _VARIANT_ENDING.sub("y", plain)
    return _DOUBLED.sub(r"\1", plain)


def acronym(name: str) -> str:
    """'World Economic Forum' -> 'WEF'."""
    return "".join(w[0] for w in name.split() if w.lower() not in _ACRONYM_SKIP and w[0].isalpha()).upper()


@dataclass
class PersonCluster:
    """One person's mentions in an article."""

    first: str | None
    last: str
    surfaces: Counter[str] = field(default_factory=Counter)
    full_forms: Counter[str] = field(default_factory=Counter)
    mentions: list[int] = field(default_factory=list)  # indexes into the caller's mention list

    @property
    def name(self) -> str:
        if self.full_forms:
            top = max(len(f.split()) for f in self.full_forms)
            # the longest form, most frequent spelling first, then first seen
            return max((f for f in self.full_forms if len(f.split()) == top), key=self.full_forms.__getitem__)
        return self.surfaces.most_common(1)[0][0]


def cluster_persons(names: list[str]) -> tuple[list[PersonCluster], list[int]]:
    """Group person mentions (titles already stripped) into people; return clusters and, per
    mention, the index of its cluster.

    Full names group by folded first and last name; a single word joins the most mentioned
    full name with that surname (or first name), else forms its own cluster.
    """
    clusters: list[PersonCluster] = []
    by_full: dict[tuple[str, str], int] = {}
    assignment = [-1] * len(names)
    singles: list[int] = []
    for i, name in enumerate(names):
        words = _name_words(name)
        if len(words) < 2:
            singles.append(i)
            continue
        key = (spelling_key(words[0]), spelling_key(words[-1]))
        index = by_full.get(key)
        if index is None:
            index = len(clusters)
            by_full[key] = index
            clusters.append(PersonCluster(first=key[0], last=key[1]))
        clusters[index].full_forms[name] += 1
        assignment[i] = index
    by_last: dict[str, list[int]] = {}
    by_first: dict[str, list[int]] = {}
    for index, cluster in enumerate(clusters):
        by_last.setdefault(cluster.last, []).append(index)
        if cluster.first:
            by_first.setdefault(cluster.first, []).append(index)
    for i in singles:
        key = spelling_key(_name_words(names[i])[-1])
        candidates = by_last.get(key) or by_first.get(key)
        if candidates:
            index = max(candidates, key=lambda c: sum(clusters[c].full_forms.values()))
        else:
            index = len(clusters)
            clusters.append(PersonCluster(first=None, last=key))
            by_last[key] = [index]
        assignment[i] = index
    for i, index in enumerate(assignment):
        clusters[index].surfaces[names[i]] += 1
        clusters[index].mentions.append(i)
    return clusters, assignment


def _name_words(name: str) -> list[str]:
    """Words of a name without a generational suffix ('Patrick Carlineo Jr.')."""
    words = name.split()
    while len(words) > 1 and words[-1].lower().rstrip(".,") in SUFFIXES:
        words = words[:-1]
    return words


def person_keys(names: list[str]) -> set[str]:
    """Folded surnames and full names of known persons: lets a mislabelled 'Trump' be a person."""
    keys: set[str] = set()
    for name in names:
        words = _name_words(name)
        if len(words) >= 2:
            keys.add(spelling_key(words[-1]))
            keys.add(spelling_key(name))
    return keys
