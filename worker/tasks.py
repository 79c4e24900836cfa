"""The Celery task: run the pipeline on one file and deliver every outcome.

I/O lives here (Redis, the records folder); the pipeline itself is pure but for the dedup
index. Errors are sorted in two: transient ones (Redis away, disk full) are retried with
exponential back-off; anything else becomes a failure record plus a dead-letter entry, so
nothing is dropped silently.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import redis
from celery import Task
from celery.exceptions import Reject
from celery.signals import worker_init, worker_process_init

from . import metrics, pipeline
from .celery_app import app
from .delivery import deliver, summary
from .errors import BadInput
from .messages import open_message
from .models import SourceFile
from .pipeline.dedupe import DedupIndex
from .redis_client import connect
from .settings import Settings, get_settings

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
    """Turn one file (its bytes are in ``message``) into records or a failure record.

    Never lets an exception reach Celery as a plain failure: with ``acks_late`` Celery would
    reject such a message *without* requeueing it, and on Redis that deletes it.
    """
    source, data, error = open_message(message)
    log_extra = {"file_id": source.sha256[:24], "file": source.path}
    try:
        ctx = context()
        try:
            if error is not None:
                outcomes = [pipeline.failure(source, error, ctx.settings.enrich)]
            else:
                outcomes = pipeline.run(source, data, ctx.index, ctx.settings)
        except TRANSIENT:
            raise
        except Exception as exc:  # a bug or an input nobody foresaw: record it, keep going
            log.exception("failed on %s", source.path, extra=log_extra)
            outcomes = [pipeline.failure(source, BadInput("internal_error", f"{type(exc).__name__}: {exc}"))]
        return summary(deliver(outcomes, message, ctx.redis, ctx.settings))
    except TRANSIENT as exc:
        return _retry_or_give_up(self, message, source, exc, log_extra)


def _retry_or_give_up(task: Task, message: dict, source: SourceFile, exc: Exception,
                      log_extra: dict[str, str]) -> str:
    """Retry with exponential back-off; after the last retry, write a failure record.

    If even that cannot be done (Redis still away), the message is rejected *with* requeue;
    should the reject itself not reach Redis, the message stays unacknowledged and comes back
    after the visibility timeout. Either way it is not lost.
    """
    settings = get_settings()
    retries = task.request.retries
    if retries < settings.max_retries:
        delay = min(2 ** retries, settings.retry_backoff_max)
        log.warning("retrying %s in %ss: %s", source.path, delay, exc, extra=log_extra)
        metrics.RETRIES.inc()
        try:
            raise task.retry(exc=exc, countdown=delay, max_retries=settings.max_retries)
        except Reject:  # the retry could not be published: the broker is away too
            raise Reject(exc, requeue=True) from None
    log.error("giving up on %s after %d retries: %s", source.path, retries, exc, extra=log_extra)
    failure = pipeline.failure(
        source, BadInput("transient", f"gave up after {retries} retries: {type(exc).__name__}: {exc}")
    )
    try:
        ctx = context()
        return summary(deliver([failure], message, ctx.redis, ctx.settings))
    except TRANSIENT:
        raise Reject(exc, requeue=True) from None


@app.task(bind=True, name="ingest.noop")
def noop(self: Task, message: dict) -> None:
    """Takes a file's message and does nothing: the benchmark's floor for Celery + Redis."""
