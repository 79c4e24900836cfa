"""The data that flows through the pipeline, as pydantic models.

``SourceFile`` (what the watcher saw) -> ``Document`` (parse: text and the metadata the format
carried) -> ``Article`` (normalise: clean body and news metadata) -> ``DedupResult`` (dedupe)
-> ``Enrichment`` (enrich) -> ``Record`` (what the sink writes). A file that cannot become a
record becomes a ``FailureRecord`` instead: every input ends as one or the other.

Field names of ``Record`` and ``FailureRecord`` are read by other tools; the JSON Schema in
``schema/record.schema.json`` is generated from them and a test keeps it in step.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Format = Literal["txt", "html", "json", "jsonl", "md"]
DedupStatus = Literal["unique", "exact_duplicate", "near_duplicate"]
EnrichLevel = Literal["full", "fast", "off"]


class _Model(BaseModel):
    # Every field is written, defaults and nulls too: the schema says so (all keys required),
    # so code generated from it does not treat present keys as optional.
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


def record_id(sha256: str, line: int | None = None) -> str:
    """A record's id: the same input gives the same id, so re-processing never duplicates.

    A file holding one article is named by its content hash; one line of a JSONL file by the
    file's hash and the line number.
    """
    if line is None:
        return sha256[:24]
    return hashlib.sha256(f"{sha256}:{line}".encode()).hexdigest()[:24]


class SourceFile(_Model):
    """An input file as the watcher (or `ingest process`) found it."""

    name: str = Field(description="File name as dropped (never used to name outputs).")
    path: str = Field(description="Path relative to the inbox (or as given to `ingest process`).")
    sha256: str = Field(description="SHA-256 of the file's bytes.")
    size: int = Field(description="Size in bytes.")
    received_at: datetime = Field(description="When the file was found ready (UTC).")
    format: Format | None = Field(None, description="Format decided by content and extension.")
    encoding: str | None = Field(None, description="Text encoding detected (`utf-8`, `cp1252`, ...).")
    compression: Literal["gzip"] | None = Field(None, description="Compression the file had.")
    line: int | None = Field(
        None, description="1-based line number, for a record from a JSONL file; 1-based "
        "position, for an article of a JSON array.",
    )


class Document(_Model):
    """Text decoded from a file, with whatever metadata its format carried (parse stage)."""

    text: str = Field(description="Decoded text (for HTML: the extracted main text).")
    format: Format
    encoding: str
    compression: Literal["gzip"] | None = None
    line: int | None = Field(None, description="JSONL line (or JSON array position) it came from.")
    title: str | None = None
    subtitle: str | None = None
    url: str | None = None
    published: str | None = Field(None, description="Date string as the format gave it.")
    authors: list[str] = Field(default_factory=list)
    site: str | None = Field(None, description="Publisher or source name the format gave.")
    language: str | None = None
    dropped: list[str] = Field(
        default_factory=list,
        description="Lines the HTML extractor left out of `text` (links, chrome), for audit.",
    )


class Article(_Model):
    """A normalised article: clean body and news metadata (normalise stage)."""

    title: str | None = None
    subtitle: str | None = None
    url: str | None = None
    site: str | None = None
    published_at: datetime | None = None
    dateline: str | None = Field(None, description="Place the story was filed from ('KYIV').")
    agencies: list[str] = Field(default_factory=list, description="Wire agencies credited.")
    authors: list[str] = Field(default_factory=list)
    language: str | None = Field(None, description="ISO 639-1 code of the body's language.")
    body: str = ""
    word_count: int = Field(0, description="Words in `body` (separated by white space).")
    boilerplate: list[str] = Field(
        default_factory=list, description="Every line removed from the body, for audit."
    )


class DedupResult(_Model):
    status: DedupStatus = "unique"
    duplicate_of: str | None = Field(None, description="Id of the first-seen record.")
    similarity: float | None = Field(
        None, description="Estimated similarity to that record (1.0 for an exact duplicate)."
    )


class Entity(_Model):
    name: str = Field(description="Canonical name.")
    type: str = Field(description="person | organization | location | other spaCy label.")
    surface_forms: list[str] = Field(default_factory=list)
    mentions: int = 0
    offsets: list[tuple[int, int]] = Field(
        default_factory=list, description="Character offsets [start, end) in `body`."
    )
    country_code: str | None = Field(None, description="ISO 3166-1 alpha-2, for places.")
    latitude: float | None = None
    longitude: float | None = None


class Entities(_Model):
    persons: list[Entity] = Field(default_factory=list)
    organizations: list[Entity] = Field(default_factory=list)
    locations: list[Entity] = Field(default_factory=list)
    other: list[Entity] = Field(default_factory=list, description="Events, products, groups...")


class Quote(_Model):
    text: str
    speaker: str | None = Field(None, description="Canonical name of who said it, if known.")
    offset: tuple[int, int] | None = None


class Amount(_Model):
    text: str = Field(description="As written ('US$800 billion').")
    value: float
    kind: Literal["money", "count"] = "money"
    currency: str | None = Field(None, description="ISO 4217 code, for money.")
    unit: str | None = Field(None, description="What is counted ('casualties'), for counts.")
    offset: tuple[int, int] | None = None


class DateMention(_Model):
    text: str
    date: str = Field(description="ISO 8601 date, resolved relative to `published_at`.")
    offset: tuple[int, int] | None = None


class Tone(_Model):
    score: float = Field(description="Compound tone from -1 (negative) to +1 (positive).")
    positive: float = 0.0
    negative: float = 0.0
    neutral: float = 0.0


class Enrichment(_Model):
    level: EnrichLevel = "off"
    entities: Entities = Field(default_factory=Entities)
    quotes: list[Quote] = Field(default_factory=list)
    amounts: list[Amount] = Field(default_factory=list)
    dates: list[DateMention] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    summary: str | None = None
    tone: Tone | None = None


class StorySeen(_Model):
    id: str = Field(description="Record id of the story's first article.")
    at: datetime = Field(description="Its publication time (arrival time, if it had none).")


class StoryInfo(_Model):
    """The story (event) an article reports, shared with other outlets' reports of it."""

    id: str = Field(description="The story's id: the record id of its first article.")
    size: int = Field(description="Articles in the story when this one joined it, this one included.")
    first_seen: StorySeen
    similarity: float = Field(
        description="Similarity to the story when this article joined, after time decay: the "
        "better of its lead's cosine with the story's words and its words' cosine with the story's "
        "leads (1.0: this article opened the story)."
    )
    basis: list[Literal["body", "entities", "keywords"]] = Field(
        default_factory=list,
        description="What the similarity used: title and body words (`entities` and `keywords`: "
        "earlier versions).",
    )


class PipelineInfo(_Model):
    version: str
    enrich: EnrichLevel = "off"
    timings_ms: dict[str, float] = Field(default_factory=dict, description="Per-stage wall time.")


class Record(_Model):
    """One article, clean, deduplicated and enriched: what `<records>/<id>.json` holds."""

    id: str
    source: SourceFile
    url: str | None = None
    site: str | None = None
    title: str | None = None
    subtitle: str | None = None
    published_at: datetime | None = None
    dateline: str | None = None
    agencies: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    language: str | None = None
    body: str
    word_count: int = Field(description="Words in `body` (separated by white space).")
    truncated: bool = Field(
        False, description="Enrichment read only the body's first `INGEST_ENRICH_WORDS` words "
        "(the body itself is whole).",
    )
    boilerplate: list[str] = Field(default_factory=list)
    dedup: DedupResult = Field(default_factory=DedupResult)
    entities: Entities = Field(default_factory=Entities)
    quotes: list[Quote] = Field(default_factory=list)
    amounts: list[Amount] = Field(default_factory=list)
    dates: list[DateMention] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    summary: str | None = None
    tone: Tone | None = None
    story: StoryInfo | None = Field(None, description="The story this article is part of.")
    pipeline: PipelineInfo


class ErrorInfo(_Model):
    type: str = Field(description="Short machine-readable kind ('too_large', 'not_text', ...).")
    message: str = Field(description="One line a person can act on.")


class FailureRecord(_Model):
    """An input that could not become a record: what `<records>/_failed/<id>.json` holds."""

    id: str
    source: SourceFile
    error: ErrorInfo
    failed_at: datetime
    pipeline: PipelineInfo


Outcome = Record | FailureRecord
"""What one article (or one input that could not become one) ends as: sinks take either."""


def in_field_order(data: object, model: type[BaseModel] | None = None) -> object:
    """A stored outcome (JSONB keeps keys in its own order) with its keys in the order the
    record file has them: the models' field order, nested models too; unknown keys (a record
    of another version) follow, in the order given. ``model``: FailureRecord when ``data``
    has an ``error``, else Record."""
    if isinstance(data, list):
        return [in_field_order(item, model) for item in data]
    if not isinstance(data, dict):
        return data
    if model is None:
        model = FailureRecord if "error" in data else Record
    fields = model.model_fields
    ordered = {name: data[name] for name in fields if name in data}
    ordered.update((name, value) for name, value in data.items() if name not in ordered)
    for name, value in ordered.items():
        inner = _model_in(fields[name].annotation) if name in fields else None
        if inner is not None:
            ordered[name] = in_field_order(value, inner)
    return ordered


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model an annotation holds (``X``, ``X | None``, ``list[X]``), if any."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        if (found := _model_in(argument)) is not None:
            return found
    return None
