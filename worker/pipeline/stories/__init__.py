"""Stories stage: which articles, from different outlets, report the same event.

Online, single-pass clustering as in news stream clustering (Miranda et al., EMNLP 2018): an
article is a TF-IDF vector of its words (headline and lede weighted up), its entities and its
keywords (``story_vector``, pure); it joins the story whose centroid is most similar, after a
time decay by publication time, when that similarity reaches the threshold, and opens a new
story otherwise. Candidates come from an inverted index of each story's anchor terms (its
rarest words and its entities), so an article is compared with a few stories, not all.

The index lives in Redis, shared by every worker, and assign-or-create is one atomic step
(``assign.lua``), like the dedup index: two reports of one event handled at the same moment
cannot open two stories. Copies (dedup's duplicates) join their original's story. Stories are
matched within ``INGEST_STORY_WINDOW`` of publication time and forgotten one window after their
last article, so memory holds only live stories (see BENCHMARKS.md, `stories`).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field
from redis import Redis

from ...models import Article, DedupResult, Enrichment, StoryInfo, StorySeen
from ...settings import Settings
from .terms import idf_table, words

CONFIG_FILE = Path(__file__).with_name("stories.yaml")
_SCRIPT = resources.files(__package__).joinpath("assign.lua").read_text()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Weights(_Strict):
    body: float = Field(gt=0)
    entities: float = Field(ge=0)
    keywords: float = Field(ge=0)


class Anchors(_Strict):
    body: int = Field(ge=1)
    entities: int = Field(ge=0)


class StoryConfig(_Strict):
    """The shape of ``stories.yaml``."""

    lead: float = Field(ge=0)
    lead_words: float = Field(gt=0)
    body_terms: int = Field(ge=1)
    entity_terms: int = Field(ge=0)
    keyword_terms: int = Field(ge=0)
    weights: Weights
    anchors: Anchors
    centroid_terms: int = Field(ge=1)
    candidates: int = Field(ge=1)
    stories_per_anchor: int = Field(ge=1)


@lru_cache(maxsize=1)
def load_config() -> StoryConfig:
    return StoryConfig.model_validate(yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8")))


def term_id(family: str, term: str) -> int:
    """A term's 32-bit id in the index (the family keeps a name and a word of it apart)."""
    return zlib.crc32(f"{family}:{term}".encode())


@dataclass
class StoryVector:
    """An article as the story index sees it: unit-length weights by term id, strongest first."""

    terms: dict[int, float]
    anchors: list[int]
    basis: list[str] = field(default_factory=list)

    def packed(self) -> bytes:
        return b"".join(struct.pack(">If", term, weight) for term, weight in self.terms.items())


def body_weights(text: str, config: StoryConfig) -> dict[str, float]:
    """Word -> weight: occurrences weighted by position (headline and lede first), times IDF."""
    idf, floor = idf_table()
    counts: dict[str, float] = {}
    tokens = words(text)
    for word, weight in zip(tokens, _position_weights(len(tokens), config.lead, config.lead_words)):
        if word:
            counts[word] = counts.get(word, 0.0) + weight
    weights = {word: count * idf.get(word, floor) for word, count in counts.items()}
    return dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[: config.body_terms])


def _position_weights(count: int, lead: float, lead_words: float) -> list[float]:
    weights = _POSITION_WEIGHTS.get((lead, lead_words), [])
    if len(weights) < count:
        weights = [1.0 + lead / (1.0 + i / lead_words) for i in range(max(count, 2 * len(weights), 1024))]
        _POSITION_WEIGHTS[(lead, lead_words)] = weights
    return weights


_POSITION_WEIGHTS: dict[tuple[float, float], list[float]] = {}


def entity_weights(enrichment: Enrichment, config: StoryConfig) -> dict[str, float]:
    """Canonical name -> mentions times the IDF of its last word (a surname, a city)."""
    idf, floor = idf_table()
    weights: dict[str, float] = {}
    groups = enrichment.entities
    for entity in [*groups.persons, *groups.organizations, *groups.locations, *groups.other]:
        name = entity.name.lower()
        last = (words(name) or [""])[-1]
        weights[name] = weights.get(name, 0.0) + max(1, entity.mentions) * idf.get(last, floor if last else 1.0)
    return dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[: config.entity_terms])


def story_vector(article: Article, enrichment: Enrichment, config: StoryConfig | None = None) -> StoryVector:
    """The article's story vector (pure). Entities and keywords count when enrichment found any:
    with `off` the vector is body words alone, and ``basis`` says so."""
    config = config or load_config()
    text = f"{article.title}\n{article.body}" if article.title else article.body
    families = {
        "body": body_weights(text, config),
        "entities": entity_weights(enrichment, config),
        "keywords": {k.lower(): 1.0 for k in enrichment.keywords[: config.keyword_terms]},
    }
    terms: dict[int, float] = {}
    basis = []
    for family, weights in families.items():
        norm = math.sqrt(sum(w * w for w in weights.values()))
        scale = getattr(config.weights, family)
        if norm == 0 or scale == 0:
            continue
        basis.append(family)
        for term, weight in weights.items():
            tid = term_id(family[0], term)
            terms[tid] = terms.get(tid, 0.0) + scale * weight / norm
    norm = math.sqrt(sum(w * w for w in terms.values())) or 1.0
    ordered = dict(sorted(((t, w / norm) for t, w in terms.items()), key=lambda kv: (-kv[1], kv[0])))
    anchors = [term_id("b", w) for w in list(families["body"])[: config.anchors.body]]
    anchors += [term_id("e", n) for n in list(families["entities"])[: config.anchors.entities]]
    return StoryVector(terms=ordered, anchors=anchors, basis=basis)


def similarity(a: StoryVector, b: StoryVector) -> float:
    """Cosine of two story vectors (both unit length): what an article scores against a story of
    one article, before time decay."""
    small, large = (a, b) if len(a.terms) <= len(b.terms) else (b, a)
    return sum(w * large.terms.get(t, 0.0) for t, w in small.terms.items())


class StoryIndex:
    """The story index in Redis, shared by every worker (keys under ``prefix``)."""

    def __init__(
        self,
        redis: Redis,
        *,
        window: int,
        threshold: float,
        prefix: str = "ingest:stories",
        config: StoryConfig | None = None,
    ) -> None:
        self.redis = redis
        self.window = window
        self.threshold = threshold
        self.prefix = prefix
        self.config = config or load_config()
        self._script = redis.register_script(_SCRIPT)

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> StoryIndex:
        return cls(redis, window=settings.story_window, threshold=settings.story_threshold)

    def assign(
        self, vector: StoryVector, record_id: str, *, published: datetime, duplicate_of: str | None = None
    ) -> StoryInfo:
        """The article's story, joined or opened in one Redis round trip. The same record
        assigned again gets the same answer (a retried task)."""
        story_id, size, first, sim, _how = self._script(args=[
            self.prefix, record_id, duplicate_of or "", int(published.timestamp()), self.window,
            self.threshold, vector.packed(), b"".join(struct.pack(">I", a) for a in vector.anchors),
            self.config.centroid_terms, self.config.candidates, self.config.stories_per_anchor,
        ])
        return StoryInfo(
            id=story_id.decode(),
            size=int(size),
            first_seen=StorySeen(id=story_id.decode(), at=datetime.fromtimestamp(int(first), timezone.utc)),
            similarity=round(float(sim), 4),
            basis=vector.basis,
        )

    def members(self, story_id: str) -> list[str]:
        """Record ids of a live story's articles, in the order they joined (empty: no such story
        in the window)."""
        raw = self.redis.get(f"{self.prefix}:r:{story_id}")
        if raw is None:
            return []
        number = struct.unpack(">IIf", raw)[0]
        if self.redis.hget(f"{self.prefix}:s:{number}", "id") != story_id.encode():
            return []
        listed = (self.redis.get(f"{self.prefix}:m:{number}") or b"").decode().split()
        return list(dict.fromkeys(listed))


_indexes: dict[tuple[int, int, float], StoryIndex] = {}


def assign_story(
    redis: Redis, settings: Settings, article: Article, enrichment: Enrichment,
    record_id: str, dedup: DedupResult, received_at: datetime,
) -> StoryInfo | None:
    """The stage: the article's story, by publication time (or arrival, when it has none);
    none with ``INGEST_STORIES=off`` (no vector, no Redis round trip)."""
    if settings.stories == "off":
        return None
    key = (id(redis), settings.story_window, settings.story_threshold)
    index = _indexes.get(key)
    if index is None or index.redis is not redis:
        index = _indexes[key] = StoryIndex.from_settings(redis, settings)
    return index.assign(
        story_vector(article, enrichment), record_id,
        published=article.published_at or received_at,
        duplicate_of=dedup.duplicate_of if dedup.status != "unique" else None,
    )


__all__ = ["StoryIndex", "StoryVector", "assign_story", "similarity", "story_vector", "load_config"]
