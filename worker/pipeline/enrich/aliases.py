"""The reviewed alias table (aliases.yaml), merged with a user's own file, as lookups.

Aliases are matched case-sensitively ("US" is the country, "us" is not), with and without a
leading "the", so the table stays short and reviewable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

BUILT_IN = Path(__file__).with_name("aliases.yaml")


@dataclass(frozen=True)
class AliasEntry:
    name: str
    type: str  # "location" | "organization" | "person"
    country: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(eq=False)
class AliasTable:
    by_alias: dict[str, AliasEntry] = field(default_factory=dict)
    product_nouns: frozenset[str] = frozenset()

    def lookup(self, text: str) -> AliasEntry | None:
        """The entry a surface form names, trying it as written and without a leading 'the'."""
        entry = self.by_alias.get(text)
        if entry is None and text[:4] in ("the ", "The "):
            entry = self.by_alias.get(text[4:])
        return entry


def _read(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with `entries`")
    return data


def _add(table: AliasTable, data: dict) -> None:
    for raw in data.get("entries") or []:
        entry = AliasEntry(
            name=str(raw["name"]),
            type=str(raw.get("type", "location")),
            country=raw.get("country"),
            lat=raw.get("lat"),
            lon=raw.get("lon"),
        )
        for alias in [entry.name, *(raw.get("aliases") or [])]:
            alias = str(alias)
            table.by_alias[alias] = entry
            if alias.startswith("the "):
                table.by_alias.setdefault("The " + alias[4:], entry)
    nouns = data.get("product_nouns")
    if nouns:
        table.product_nouns = table.product_nouns | {str(n).lower() for n in nouns}


@lru_cache(maxsize=8)
def load_aliases(user_file: Path | None = None) -> AliasTable:
    """Built-in table, then the user's file over it (a user's alias wins). Cached per file."""
    table = AliasTable()
    _add(table, _read(BUILT_IN))
    if user_file is not None:
        _add(table, _read(Path(user_file)))
    return table
