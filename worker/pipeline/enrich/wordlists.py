"""The enrich stage's word lists (``wordlists.yaml``), validated and read once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

WORDLISTS = Path(__file__).with_name("wordlists.yaml")


class WordLists(BaseModel):
    """The shape of ``wordlists.yaml`` (what each list is for is said in the file)."""

    model_config = ConfigDict(extra="forbid")

    titles: list[str] = Field(min_length=1)
    nationalities: list[str] = Field(default_factory=list)
    offices: list[str] = Field(default_factory=list)
    name_suffixes: list[str] = Field(default_factory=list)
    acronym_skip: list[str] = Field(default_factory=list)
    speech_verbs: list[str] = Field(min_length=1)
    describing_verbs: list[str] = Field(default_factory=list)
    not_names: list[str] = Field(default_factory=list)
    currency_prefixes: dict[str, str] = Field(min_length=1)
    currency_words: dict[str, str] = Field(default_factory=dict)
    currency_qualifiers: list[str] = Field(default_factory=list)
    scales: dict[str, float] = Field(default_factory=dict)
    count_units: list[str] = Field(default_factory=list)
    not_counted: list[str] = Field(default_factory=list)
    stopwords: list[str] = Field(default_factory=list)
    calendar_words: list[str] = Field(default_factory=list)


@lru_cache(maxsize=1)
def wordlists() -> WordLists:
    return WordLists.model_validate(yaml.safe_load(WORDLISTS.read_text(encoding="utf-8")))
