"""The Celery task: run the pipeline on one file and deliver every outcome.

I/O lives here (Redis, the records folder); what an error means and whether it is retried is
decided by ``policy``, shared with `ingest process`. Around the pipeline the task guards the
service itself:
- poison: a message whose worker process died on it ``max_attempts`` times (killed for memory,
  crashed) becomes a ``poison`` failure record instead of killing the next process; a batch is
  first split into single files, so only the culprit is marked;
- fan-out: a big JSONL file becomes tasks of ``fanout_articles`` lines (``fanout``);
- a records folder that cannot be written (disk full) is retried until it heals, with the
  reason on the worker's /healthz meanwhile; the message is kept all along.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import Counter
from dataclasses import dataclass

import redis
from celery import Task
from celery.app.trace import LOG_RETRY
from celery.exceptions import Reject
from celery.signals import worker_init, worker_process_init

from . import fanout, metrics, policy
from . import rejects  # noqa: F401  (dead letters for messages Celery refuses before a task runs)
from .. import pipeline
from .celery_app import app
from .delivery import deliver, summary
from ..errors import BadInput
from ..models import SourceFile
from ..sources.messages import message_items, open_message
from ..pipeline.dedupe import DedupIndex
from .redis_client import ATTEMPTS, FAULTS, connect
from ..settings import Settings, get_settings

log = logging.getLogger(__name__)


def _not_a_retry(record: logging.LogRecord) -> bool:
    return record.msg != LOG_RETRY


# One line per back-off: ours (`_retry_or_give_up`) says why and for how long; drop Celery's echo.
logging.getLogger("celery.app.trace").addFilter(_not_a_retry)


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


@app.task(bind=True, name="ingest.process_file", max_retries=None)  # limits: policy.classify
def process_file(self: Task, message: dict) -> str:
    """Turn each file of ``message`` (their bytes travel in it) into records or failure records.

    Never lets an exception reach Celery as a plain failure: with ``acks_late`` Celery would
    reject such a message *without* requeueing it, and on Redis that deletes it.
    """
    items = message_items(message)
    try:
        ctx = context()
        deaths = _begin_attempt(ctx, self.request.id)
        if deaths >= ctx.settings.max_attempts:
            result = _poisoned(ctx, items, deaths)
        elif deaths and len(items) > 1:
            result = _split(ctx, items, deaths)
        else:
            counts: Counter[str] = Counter()
            for item in items:
                opened = open_message(item)  # validated once: invalid, or unreadable, is (.., .., error)
                parts = fanout.slices(item, ctx.settings, opened[1]) if opened[2] is None else []
                if parts:
                    _publish(ctx, parts)
                    log.info("%s: %d lines fanned out as %d tasks", opened[0].path,
                             sum(p["slice"]["lines"] for p in parts), len(parts))
                    counts["slices"] += len(parts)
                else:
                    counts.update(_process_item(ctx, item, opened))
            result = summary(counts)
        pipe = ctx.redis.pipeline(transaction=False)
        pipe.hdel(FAULTS, metrics.fault_field(os.getppid()))  # writes work (again)
        _end_attempt(pipe, self.request.id)
        pipe.execute()
        return result
    except policy.RETRYABLE as exc:
        return _retry_or_give_up(self, items, exc)


def _process_item(ctx: _Context, item: dict, opened: tuple[SourceFile, bytes, BadInput | None]) -> Counter[str]:
    """One file (or a slice of one) as ``open_message`` read it: the pipeline, then delivery.
    Raises only retryable errors."""
    source, data, error = opened
    outcomes = policy.run_or_fail(source, data, error, ctx.index, ctx.settings, first_line=fanout.first_line(item))
    return deliver(outcomes, item, ctx.redis, ctx.settings, per_article=True)


def _publish(ctx: _Context, messages: list[dict]) -> None:
    """Queue each message as its own task; the caller's message is acknowledged only after."""
    for message in messages:
        process_file.apply_async(args=[message], queue=ctx.settings.queue)


def _begin_attempt(ctx: _Context, task_id: str) -> int:
    """Count this delivery; returns how many earlier ones began and never ended (deaths)."""
    key = ATTEMPTS + task_id
    pipe = ctx.redis.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, max(3600, 4 * ctx.settings.visibility_timeout))
    return int(pipe.execute()[0]) - 1


def _end_attempt(client: redis.Redis | redis.client.Pipeline, task_id: str) -> None:
    client.delete(ATTEMPTS + task_id)


def stopped_not_died(task_id: str) -> None:
    """A pool process killed because its worker is stopping (SIGTERM to the process group, as
    systemd sends; `ingest run` after its grace) did not die of its file: its delivery is not
    counted towards ``poison``, or a few restarts during a long file would fail a good file."""
    try:
        client = context().redis
        if client.decr(ATTEMPTS + task_id) <= 0:  # never below none: the key had expired
            client.delete(ATTEMPTS + task_id)
    except policy.RETRYABLE as exc:  # Redis away: the death stays counted, the file is retried
        log.warning("could not uncount the interrupted delivery of task %s (%s)", task_id, exc)


def _poisoned(ctx: _Context, items: list[dict], deaths: int) -> str:
    counts: Counter[str] = Counter()
    for item in items:
        source = _source(item)
        lines = f" (lines {source.line}-{source.line + item['slice']['lines'] - 1})" if item.get("slice") else ""
        log.error("poison: the worker died %d times on %s%s; writing a failure record", deaths, source.path, lines)
        counts.update(deliver([policy.poisoned(source, deaths, ctx.settings)], item, ctx.redis, ctx.settings))
        metrics.POISON.inc()
    return summary(counts)


def _source(item: dict) -> SourceFile:
    """The file a message is about; a slice is named by its first line, so that the failure
    records of two slices of one file do not share an id."""
    source = open_message(item)[0]
    return source.model_copy(update={"line": fanout.first_line(item)}) if "slice" in item else source


def _split(ctx: _Context, items: list[dict], deaths: int) -> str:
    """A batch that killed its worker: each file on its own, so only the culprit is marked."""
    log.warning("the worker died on a batch of %d files; queueing them one by one", len(items))
    _publish(ctx, items)
    return f"split into {len(items)} tasks after {deaths} worker death(s)"


def _retry_or_give_up(task: Task, items: list[dict], exc: Exception) -> str:
    """Retry after the policy's back-off; when a limited kind runs out, write failure records.

    A retry is a new message (same task id) that waits in the worker, unacknowledged, for its
    countdown: ``retry_backoff_max`` must stay well under ``visibility_timeout``. A retry runs
    the whole message again; files already done are not written twice (ids come from content).
    If even the retry or the failure records cannot be published or written (Redis still
    away), the message is rejected *with* requeue; should the reject itself not reach Redis,
    it stays unacknowledged and comes back after the visibility timeout. It is never lost.
    """
    settings = get_settings()
    verdict = policy.classify(exc, settings)
    retries = task.request.retries
    names = ", ".join(open_message(item)[0].path for item in items[:3]) + (" ..." if len(items) > 3 else "")
    with contextlib.suppress(*policy.RETRYABLE):  # the process did not die on it
        _end_attempt(context().redis, task.request.id)
    if verdict.limit is None or retries < verdict.limit:
        delay = policy.backoff(retries, settings)
        of = "until it heals" if verdict.limit is None else f"of {verdict.limit}"
        log.warning("%s; retry %d %s in %ss: %s", verdict.reason, retries + 1, of, delay, names)
        metrics.RETRIES.labels(verdict.kind).inc()
        if verdict.kind == "sink":
            with contextlib.suppress(*policy.RETRYABLE):
                context().redis.hset(FAULTS, metrics.fault_field(os.getppid()), verdict.reason)
        try:
            raise task.retry(exc=exc, countdown=delay)
        except Reject:  # the retry could not be published: the broker is away too
            raise Reject(exc, requeue=True) from None
    log.error("giving up on %s after %d retries: %s", names, retries, verdict.reason)
    counts: Counter[str] = Counter()
    try:
        ctx = context()
        for item in items:
            failure = policy.gave_up(_source(item), verdict, retries, settings)
            counts.update(deliver([failure], item, ctx.redis, ctx.settings))
    except policy.RETRYABLE:
        raise Reject(exc, requeue=True) from None
    return summary(counts)


@app.task(bind=True, name="ingest.noop")
def noop(self: Task, message: dict) -> None:
    """Takes a file's message and does nothing: the benchmark's floor for Celery + Redis."""
