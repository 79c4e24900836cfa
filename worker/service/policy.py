"""The one failure policy of the Celery task and `ingest process`: run-or-fail, and retries.

Three answers, whoever runs the pipeline:
- the input is at fault (``BadInput``, or anything the pipeline raises that nobody foresaw):
  a failure record, never a retry; of the one article that raised it, when the file holds several
  (a JSONL line, a JSON array's element: the other articles are still recorded), else of the file
  or slice (reading the file failed, or the task's time limit cut it short);
- Redis is away (``redis.RedisError``, kombu's ``OperationalError``): retried with capped exponential back-off, at most
  ``max_retries`` times, then a ``transient`` failure record;
- the records folder cannot be written (``OSError``: disk full, quota, read-only, permissions):
  retried with the same back-off *until it heals*, since the failure record would go to the
  same folder; the service reports the fault on its health endpoint meanwhile; so is a sink that
  cannot take outcomes now (``SinkUnavailable``: PostgreSQL away, or its disk full), named by its
  own reason, not as the records folder;
- a sink refuses an outcome for what it holds (``SinkRefused``: too big for the store's search
  index): the input is at fault after all, so a failure record naming why, never a retry.
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass

import redis
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError

from .. import pipeline
from ..errors import BadInput, SinkRefused, SinkUnavailable
from ..models import FailureRecord, Outcome, Record, SourceFile
from ..pipeline.dedupe import DedupIndex
from ..settings import Settings
from ..sinks.files import planted_link

log = logging.getLogger(__name__)

RETRYABLE = (redis.RedisError, OperationalError, OSError)  # OperationalError: kombu's "broker away"
NOT_ONE_ARTICLES = (redis.RedisError, OperationalError, SoftTimeLimitExceeded)
"""Raised while an article ran, but no fault of it: Redis away is retried (the whole message),
and the task's time limit ends the whole slice, not that article, or the next ones would run on
into the hard limit that kills the process."""

_SINK_ERRNOS = {
    errno.ENOSPC: "the records folder's disk is full",
    errno.EDQUOT: "the records folder's disk quota is used up",
    errno.EROFS: "the records folder is on a read-only file system",
    errno.EACCES: "the records folder is not writable (permission denied)",
    errno.EPERM: "the records folder is not writable (operation not permitted)",
    errno.EIO: "the records folder's disk reports I/O errors",
}


@dataclass(frozen=True)
class Verdict:
    """What a retryable error means: its kind, one line saying why, and how many retries it gets."""

    kind: str  # "transient" (Redis) or "sink" (the records folder)
    reason: str
    limit: int | None  # None: retried until it heals


def classify(exc: BaseException, settings: Settings) -> Verdict:
    """The verdict on an error raised by the pipeline or by delivery (Redis or the sink)."""
    if isinstance(exc, SinkUnavailable):  # it says which sink and why (PostgreSQL's disk full, ...)
        return Verdict("sink", str(exc), None)
    if isinstance(exc, OSError) and not isinstance(exc, (redis.RedisError, OperationalError)):
        what = _SINK_ERRNOS.get(exc.errno or 0, "the records folder cannot be written")
        return Verdict("sink", f"{what}: {exc.strerror or exc}", None)
    return Verdict("transient", f"Redis is unavailable: {type(exc).__name__}: {exc}", settings.max_retries)


def backoff(retries: int, settings: Settings) -> int:
    """Seconds before retry number ``retries + 1``: 1, 2, 4, ... capped at ``retry_backoff_max``."""
    return min(2 ** retries, settings.retry_backoff_max)


def run_or_fail(source: SourceFile, data: bytes, error: BadInput | None, index: DedupIndex,
                settings: Settings, *, first_line: int | None = None) -> list[Outcome]:
    """Every outcome of one file: records, or failure records. Raises only ``RETRYABLE`` errors.

    A failure of a whole slice (``first_line``) is named by its first line, as the task names a
    slice's other failures (poison, gave up): the slices of one file never share a failure id.
    """
    if first_line is not None:
        source = source.model_copy(update={"line": first_line})
    if error is not None:
        return [pipeline.failure(source, error, settings.enrich)]

    def one_article(article: SourceFile, exc: Exception) -> Outcome:
        if isinstance(exc, NOT_ONE_ARTICLES):
            raise exc
        return internal_error(article, exc, settings, where=_place(article))

    try:
        outcomes = pipeline.run(source, data, index, settings, first_line=first_line, on_error=one_article)
    except (redis.RedisError, OperationalError):
        raise
    except Exception as exc:  # a bug, or an input nobody foresaw, reading the file: record it, keep going
        return [internal_error(source, exc, settings)]
    return [_unless_linked(outcome, settings) for outcome in outcomes]


_SAID = 500  # characters of an unforeseen exception's text kept in its failure record (the log has it all)


def internal_error(source: SourceFile, exc: Exception, settings: Settings, *,
                   where: str | None = None) -> FailureRecord:
    """The failure record of an exception nobody foresaw (a bug, an input no rule expected), of
    a file or slice, or of one article of it at ``where``; logged with its traceback, the
    failure's id and the line."""
    said = " ".join(str(exc).split())  # a failure's message is one line, however the exception spoke
    said = said if len(said) <= _SAID else said[:_SAID - 1] + "…"
    failure = fail(source, "internal_error", f"{where + ': ' if where else ''}{type(exc).__name__}: {said}", settings)
    log.exception("failed on %s%s", source.path, f", {where}" if where else "",
                  extra={"file_id": failure.id, "file": source.path, "line": source.line})
    return failure


def _place(article: SourceFile) -> str | None:
    """Where an article of a file of several is, as its bad lines are named; None in a file of one."""
    if article.line is None:
        return None
    return f"article {article.line} of the JSON array" if article.format == "json" else f"line {article.line}"


def _unless_linked(outcome: Outcome, settings: Settings) -> Outcome:
    """A record whose file path holds a planted symbolic link cannot be written without
    following it: a failure record naming the link instead, before any sink takes the record."""
    if not isinstance(outcome, Record) or "files" not in settings.sink_names:
        return outcome
    link = planted_link(outcome, settings.records_dir, settings.failed_dir)
    if link is None:
        return outcome
    return fail(outcome.source, "unsafe_path",
                f"a symbolic link sits at this record's path {link}: not followed, not replaced", settings)


def refused(outcomes: list[Outcome], exc: SinkRefused, settings: Settings) -> list[Outcome]:
    """``outcomes`` with each one the sink refused replaced by a failure record saying why."""
    return [
        fail(o.source, "unstorable", f"the {exc.sink} sink cannot store this record: {exc.reasons[o.id]}", settings)
        if o.id in exc.reasons else o
        for o in outcomes
    ]


def fail(source: SourceFile, kind: str, message: str, settings: Settings) -> FailureRecord:
    """A failure record with the configured enrichment level, whatever the path that wrote it."""
    return pipeline.failure(source, BadInput(kind, message), settings.enrich)


def gave_up(source: SourceFile, verdict: Verdict, retries: int, settings: Settings) -> FailureRecord:
    return fail(source, "transient", f"gave up after {retries} retries: {verdict.reason}", settings)


def poisoned(source: SourceFile, deaths: int, settings: Settings) -> FailureRecord:
    return fail(
        source, "poison",
        f"the worker process died {deaths} times while processing this file (killed by the "
        f"kernel, out of memory, or crashed); not tried again",
        settings,
    )
