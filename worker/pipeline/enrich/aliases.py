"""The reviewed alias table (aliases.yaml), merged with a user's own file, as lookups.

Aliases are matched case-sensitively ("US" is the country, "us" is not), with and without a
leading "the", so the table stays short and reviewable. Both files are validated against one
shape (``AliasFile``) when read, so a mistyped key or type is refused with its place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class AliasFileEntry(BaseModel):
    """One entry of an alias file: a canonical name, its type and the names written for it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    type: Literal["location", "organization", "person"] = "location"
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    aliases: list[str] = Field(default_factory=list)


class AliasFile(BaseModel):
    """The shape of ``aliases.yaml`` and of a user's alias file."""

    model_config = ConfigDict(extra="forbid")

    entries: list[AliasFileEntry] = Field(default_factory=list)
    product_nouns: list[str] = Field(default_factory=list)


def _read(path: Path) -> AliasFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return AliasFile.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"cannot read aliases from {path}: {exc}") from None


def _add(table: AliasTable, data: AliasFile) -> None:
    for raw in data.entries:
        entry = AliasEntry(name=raw.name, type=raw.type, country=raw.country, lat=raw.lat, lon=raw.lon)
        for alias in [entry.name, *raw.aliases]:
            table.by_alias[alias] = entry
            if alias.startswith("the "):
                table.by_alias.setdefault("The " + alias[4:], entry)
    if data.product_nouns:
        table.product_nouns = table.product_nouns | {n.lower() for n in data.product_nouns}


@lru_cache(maxsize=8)
def load_aliases(user_file: Path | None = None) -> AliasTable:
    """Built-in table, then the user's file over it (a user's alias wins). Cached per file."""
    table = AliasTable()
    _add(table, _read(BUILT_IN))
    if user_file is not None:
        _add(table, _read(Path(user_file)))
    return table
