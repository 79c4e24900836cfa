"""Delivering a file's outcomes: write them, count them, dead-letter the failures.

Shared by the Celery task and `ingest process`, so both behave the same. A dead letter keeps
the message that retries its failure: a failed article of a JSONL file or JSON array (or of a
slice of one) keeps a message of that article alone, so retrying every dead letter runs each
failed article once and the file's good articles never again. The "seen" marker
of the file's content is committed only after every configured sink holds its outcomes
(``sinks.write_all``): a crash before that
leaves the message unacknowledged, and it is processed again (idempotently).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import orjson
import redis

from . import fanout, metrics, policy
from ..errors import SinkRefused
from ..models import FailureRecord, Outcome, Record
from .redis_client import DEAD, DEAD_MESSAGE, SEEN, STATS
from ..settings import Settings
from ..sinks import write_all

log = logging.getLogger(__name__)


def deliver(outcomes: list[Outcome], message: dict[str, Any] | None, client: redis.Redis,
            settings: Settings, *, per_article: bool = False) -> Counter[str]:
    """Write ``outcomes`` and update Redis; returns what happened (records, duplicates, ...).

    ``per_article``: ``outcomes`` are the pipeline's over ``message``: one per article, or one
    failure of it all; else each is about the whole message (poison, gave up, refused by Celery).
    A failure among several outcomes is one article's: its dead letter keeps that article alone.
    """
    counts: Counter[str] = Counter()
    dead: list[FailureRecord] = []
    kept: list[Outcome] = []
    for outcome in outcomes:
        if isinstance(outcome, Record) and outcome.dedup.status != "unique" and settings.on_duplicate == "skip":
            counts["skipped"] += 1
            log.info("skipped %s: %s of %s", outcome.source.path, outcome.dedup.status,
                     outcome.dedup.duplicate_of, extra={"file_id": outcome.id, "file": outcome.source.path})
        else:
            kept.append(outcome)
    try:
        written = write_all(kept, settings, client)  # every sink, in one batch
    except SinkRefused as exc:  # what a sink cannot hold becomes a failure record saying why
        kept = policy.refused(kept, exc, settings)
        written = write_all(kept, settings, client)
    for outcome, new in zip(kept, written):
        extra = {"file_id": outcome.id, "file": outcome.source.path}
        if isinstance(outcome, Record):
            if new:
                counts["records"] += 1
                counts["duplicates"] += outcome.dedup.status != "unique"
                log.info("record %s <- %s (%s)", outcome.id, outcome.source.path, outcome.dedup.status, extra=extra)
        elif new:
            counts["failed"] += 1
            dead.append(outcome)
            log.warning("failure %s <- %s (%s): %s", outcome.id, outcome.source.path, outcome.error.type,
                        outcome.error.message, extra=extra)
    for kind, count in counts.items():
        metrics.OUTCOMES.labels(kind).inc(count)
    for outcome in outcomes[:1]:  # stage timings are per file (shared by a JSONL file's lines)
        for stage, ms in outcome.pipeline.timings_ms.items():
            metrics.STAGE_SECONDS.labels(stage).observe(ms / 1000)
    alone: dict[int, dict[str, Any]] = {}
    if per_article and message is not None and len(outcomes) > 1:
        alone = fanout.article_messages(message, [f.source.line for f in dead if f.source.line is not None], settings)
    pipe = client.pipeline(transaction=False)
    for failure in dead:
        pipe.hset(DEAD, failure.id, orjson.dumps(failure.model_dump(mode="json", exclude={"pipeline"})))
        if message is not None:
            retry = alone.get(failure.source.line, message)  # a failure of no one article: all of it
            pipe.set(DEAD_MESSAGE + failure.id, orjson.dumps(retry), ex=settings.idempotency_ttl)
    for key, value in counts.items():
        pipe.hincrby(STATS, key, value)
    if outcomes:
        pipe.set(SEEN + outcomes[0].source.sha256, "done", ex=settings.idempotency_ttl)
    pipe.execute()
    return counts


def summary(counts: Counter[str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing new"
