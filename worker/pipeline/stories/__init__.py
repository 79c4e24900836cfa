"""Stories stage: which articles, from different outlets, report the same event.

Online, single-pass clustering as in news stream clustering (Miranda et al., EMNLP 2018): an
article is a TF-IDF vector of its title and body words (headline and lede weighted up) and one
of its lead alone (``story_vector``, pure); it joins the story it is most similar to, after a
time decay by publication time, when that similarity reaches the threshold, and opens a new
story otherwise. Similarity is the better of the article's lead against the story's words and
the article's words against the story's leads: two reports of one event each tell, somewhere,
the event the other's lede names, while two events on one topic (or one outlet's two reports
with its boilerplate) share background far from their ledes. Candidates come from an inverted
index of each story's anchor terms (its strongest words), so an article is compared with a few
stories, not all.

The index lives in Redis, shared by every worker, and assign-or-create is one atomic step
(``assign.lua``), like the dedup index: two reports of one event handled at the same moment
cannot open two stories. Copies (dedup's duplicates) join their original's story. Stories are
matched within ``INGEST_STORY_WINDOW`` of publication time and forgotten one window after their
last article, so memory holds only live stories (see BENCHMARKS.md, `stories`).
"""

from __future__ import annotations

import heapq
import math
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field
from redis import Redis

from ...models import Article, DedupResult, Enrichment, StoryInfo, StorySeen
from ...settings import Settings
from .terms import entries, term_id

CONFIG_FILE = Path(__file__).with_name("stories.yaml")
_SCRIPT = resources.files(__package__).joinpath("assign.lua").read_text()


class StoryConfig(BaseModel):
    """The shape of ``stories.yaml``."""

    model_config = ConfigDict(extra="forbid")

    lead: float = Field(ge=0)
    idf_cap: float = Field(gt=0)
    lead_words: float = Field(gt=0)
    lead_span: int = Field(ge=1)
    lead_terms: int = Field(ge=1)
    body_terms: int = Field(ge=1)
    anchors: int = Field(ge=1)
    centroid_terms: int = Field(ge=1, le=65535)
    lead_centroid_terms: int = Field(ge=1, le=65535)
    candidates: int = Field(ge=1)
    stories_per_anchor: int = Field(ge=1)


@lru_cache(maxsize=1)
def load_config() -> StoryConfig:
    return StoryConfig.model_validate(yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8")))


@dataclass
class StoryVector:
    """An article as the story index sees it: unit-length weights by term id, strongest first, of
    its words (``terms``) and of its lead alone (``lead``: the headline and first sentences)."""

    terms: dict[int, float]
    anchors: list[int]
    basis: list[str] = field(default_factory=list)
    lead: dict[int, float] = field(default_factory=dict)

    def packed(self) -> bytes:
        return _pack(self.terms)

    def packed_lead(self) -> bytes:
        return _pack(self.lead)


def _pack(terms: dict[int, float]) -> bytes:
    return _format(len(terms)).pack(*[x for pair in terms.items() for x in pair])


@lru_cache(maxsize=256)
def _format(terms: int) -> struct.Struct:
    return struct.Struct(">" + "If" * terms)


def body_weights(text: str, config: StoryConfig) -> tuple[dict[int, float], dict[int, float]]:
    """Term id -> weight, of the whole text and of its first ``lead_span`` words: occurrences
    weighted by position (headline and lede first), times IDF (at most ``idf_cap``); the strongest ``body_terms`` and
    ``lead_terms``, strongest first."""
    tokens = entries(text, config.idf_cap)
    acc: dict[int, float] = {}
    get = acc.get
    weighted = zip(tokens, _position_weights(len(tokens), config.lead, config.lead_words))
    for (term, idf), weight in islice(weighted, config.lead_span):
        if term:
            acc[term] = get(term, 0.0) + weight * idf
    lead = heapq.nlargest(config.lead_terms, acc.items(), key=itemgetter(1))
    for (term, idf), weight in weighted:  # the rest of the text
        if term:
            acc[term] = get(term, 0.0) + weight * idf
    return dict(heapq.nlargest(config.body_terms, acc.items(), key=itemgetter(1))), dict(lead)


def _position_weights(count: int, lead: float, lead_words: float) -> list[float]:
    weights = _POSITION_WEIGHTS.get((lead, lead_words), [])
    if len(weights) < count:
        weights = [1.0 + lead / (1.0 + i / lead_words) for i in range(max(count, 2 * len(weights), 1024))]
        _POSITION_WEIGHTS[(lead, lead_words)] = weights
    return weights


_POSITION_WEIGHTS: dict[tuple[float, float], list[float]] = {}


def _unit(weights: dict[int, float]) -> dict[int, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {term: w / norm for term, w in weights.items()} if norm else {}


def story_vector(article: Article, enrichment: Enrichment | None = None, config: StoryConfig | None = None) -> StoryVector:
    """The article's story vector (pure): its title and body words. Enrichment's entities and
    keywords are not used: their names are body words already, and as families of their own or as
    a boost of the words they name they did not help on the pairs benchmark (BENCHMARKS.md,
    `stories`) while costing a third of the vector's time; ``enrichment`` is accepted for callers
    that have it."""
    config = config or load_config()
    text = f"{article.title}\n{article.body}" if article.title else article.body
    weights, lead = body_weights(text, config)
    terms = _unit(weights)
    if not terms:
        return StoryVector(terms={}, anchors=[], basis=[])
    return StoryVector(terms=terms, anchors=list(terms)[: config.anchors], basis=["body"], lead=_unit(lead))


def similarity(a: StoryVector, b: StoryVector) -> float:
    """How far two articles report the same event: the better of the cosine of a's lead with b's
    words and of a's words with b's lead (the event a lede names is in the other report, wherever
    it tells it; shared background and an outlet's boilerplate, far from both ledes, count little).
    What an article scores against a story of one article, before time decay."""
    return max(_dot(a.lead, b.terms), _dot(a.terms, b.lead))


def _dot(a: dict[int, float], b: dict[int, float]) -> float:
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return sum(w * large.get(t, 0.0) for t, w in small.items())


_HEADER = struct.Struct(">IIIIffHB")  # a story's head in Redis (assign.lua), then its id


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
            vector.packed_lead(), self.config.lead_centroid_terms,
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
        story = self.redis.get(f"{self.prefix}:s:{number}") or b""
        if story[_HEADER.size:_HEADER.size + len(story_id)] != story_id.encode():
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


__all__ = ["StoryIndex", "StoryVector", "assign_story", "similarity", "story_vector", "load_config", "term_id"]
