"""The Celery task: run the pipeline on one file and deliver every outcome.

I/O lives here (Redis, the records folder); the pipeline itself is pure but for the dedup
index. Errors are sorted in two: transient ones (Redis away, disk full) are retried with
exponential back-off; anything else becomes a failure record plus a dead-letter entry, so
nothing is dropped silently.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass

import redis
from celery import Task
from celery.exceptions import Reject
from celery.signals import worker_init, worker_process_init

from . import metrics
from .. import pipeline
from .celery_app import app
from .delivery import deliver, summary
from ..errors import BadInput
from ..sources.messages import message_items, open_message
from ..pipeline.dedupe import DedupIndex
from .redis_client import connect
from ..settings import Settings, get_settings

log = logging.getLogger(__name__)

TRANSIENT = (redis.RedisError, OSError)


@dataclass
class _Context:
    pid: int
    settings: Settings
    redis: redis.Redis
    index: DedupIndex


_context: _Context | None = None


def context() -> _Context:
    """Per-process Redis client and dedup index (created after the fork, once)."""
    global _context
    if _context is None or _context.pid != os.getpid():
        settings = get_settings()
        client = connect(app.conf.broker_url)
        _context = _Context(os.getpid(), settings, client, DedupIndex.from_settings(client, settings))
    return _context


@worker_init.connect
def _load_models(**_: object) -> None:
    """Load the language and NER models once in the parent, so pool processes share them."""
    try:
        pipeline.warm_up(get_settings())
    except Exception:  # a model that fails to load will fail loudly on the first task instead
        log.exception("warming up the pipeline failed")


@worker_process_init.connect
def _connect(**_: object) -> None:
    context()


@app.task(bind=True, name="ingest.process_file")
def process_file(self: Task, message: dict) -> str:
    """Turn each file of ``message`` (their bytes travel in it) into records or failure records.

    Never lets an exception reach Celery as a plain failure: with ``acks_late`` Celery would
    reject such a message *without* requeueing it, and on Redis that deletes it.
    """
    items = message_items(message)
    try:
        ctx = context()
        counts: Counter[str] = Counter()
        for item in items:
            counts.update(_process_item(ctx, item))
        return summary(counts)
    except TRANSIENT as exc:
        return _retry_or_give_up(self, items, exc)


def _process_item(ctx: _Context, item: dict) -> Counter[str]:
    """One file: the pipeline, then delivery. Raises only transient errors."""
    source, data, error = open_message(item)
    try:
        if error is not None:
            outcomes = [pipeline.failure(source, error, ctx.settings.enrich)]
        else:
            outcomes = pipeline.run(source, data, ctx.index, ctx.settings)
    except TRANSIENT:
        raise
    except Exception as exc:  # a bug or an input nobody foresaw: record it, keep going
        log.exception("failed on %s", source.path, extra={"file_id": source.sha256[:24], "file": source.path})
        outcomes = [pipeline.failure(source, BadInput("internal_error", f"{type(exc).__name__}: {exc}"))]
    return deliver(outcomes, item, ctx.redis, ctx.settings)


def _retry_or_give_up(task: Task, items: list[dict], exc: Exception) -> str:
    """Retry with exponential back-off; after the last retry, write failure records.

    A retry runs the whole message again; files already done are not written twice (ids come
    from content). If even the failure records cannot be written (Redis still away), the
    message is rejected *with* requeue; should the reject itself not reach Redis, it stays
    unacknowledged and comes back after the visibility timeout. Either way it is not lost.
    """
    settings = get_settings()
    retries = task.request.retries
    names = ", ".join(open_message(item)[0].path for item in items[:3]) + (" ..." if len(items) > 3 else "")
    if retries < settings.max_retries:
        delay = min(2 ** retries, settings.retry_backoff_max)
        log.warning("retrying %s in %ss: %s", names, delay, exc)
        metrics.RETRIES.inc()
        try:
            raise task.retry(exc=exc, countdown=delay, max_retries=settings.max_retries)
        except Reject:  # the retry could not be published: the broker is away too
            raise Reject(exc, requeue=True) from None
    log.error("giving up on %s after %d retries: %s", names, retries, exc)
    counts: Counter[str] = Counter()
    try:
        ctx = context()
        for item in items:
            source = open_message(item)[0]
            failure = pipeline.failure(
                source, BadInput("transient", f"gave up after {retries} retries: {type(exc).__name__}: {exc}")
            )
            counts.update(deliver([failure], item, ctx.redis, ctx.settings))
    except TRANSIENT:
        raise Reject(exc, requeue=True) from None
    return summary(counts)


@app.task(bind=True, name="ingest.noop")
def noop(self: Task, message: dict) -> None:
    """Takes a file's message and does nothing: the benchmark's floor for Celery + Redis."""
