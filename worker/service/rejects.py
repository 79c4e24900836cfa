"""Task messages Celery drops before (or instead of) our task: dead letters, not silence.

Anyone who reaches Redis can queue a message. One naming an unknown task, one Celery cannot
read as a task, or one whose arguments do not fit ``process_file`` (the call raises
``TypeError`` before the task's body runs) is logged by Celery and dropped: no failure
record, nothing for ``ingest failed list``. Celery's signals let us see each of them
(``task_unknown``, ``task_rejected``, ``task_failure``); every file message found among the
arguments that validates (``FileMessage``: the sha256 names the record, no path is trusted)
becomes an ``invalid_task`` failure record with its message kept for ``ingest failed retry``;
with none, one failure named by a hash of the message, like any other invalid message. An
error our task did not foresee (the soft time limit) is an ``internal_error`` the same way.
Counted in ``ingest_rejected_messages_total{reason}``.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import redis
from celery.signals import task_failure, task_rejected, task_unknown

from . import fanout, metrics, policy
from .delivery import deliver
from .redis_client import connect
from ..models import SourceFile
from ..settings import get_settings
from ..sources.messages import is_valid, message_items, open_message

log = logging.getLogger(__name__)
_SHOWN = 200  # characters of a task name or error kept in a reason

_clients: dict[str, redis.Redis] = {}


def _client(url: str) -> redis.Redis:
    if url not in _clients:
        _clients[url] = connect(url, wait=5)
    return _clients[url]


def _body(message: Any) -> tuple[list[Any], dict[str, Any]]:
    """Arguments of a task message in either Celery protocol; nothing when it is not one."""
    try:
        body = message.decode()
    except Exception:  # not JSON, not our content type: nothing to take from it
        return [], {}
    if isinstance(body, (list, tuple)) and len(body) >= 2:  # protocol 2: (args, kwargs, embed)
        args, kwargs = body[0], body[1]
    elif isinstance(body, dict):  # protocol 1
        args, kwargs = body.get("args"), body.get("kwargs")
    else:
        args, kwargs = [body], {}
    return (list(args) if isinstance(args, (list, tuple)) else [args],
            kwargs if isinstance(kwargs, dict) else {})


def _source(item: dict[str, Any]) -> SourceFile:
    """A file message's identity; a slice's is its first line (as the task names it)."""
    source = open_message(item)[0]
    return source.model_copy(update={"line": fanout.first_line(item)}) if "slice" in item else source


def dead_letter(url: str, kind: str, reason: str, task: str, args: Any, kwargs: Any, *,
                error: str = "invalid_task") -> int:
    """Failure records and dead letters for a message Celery did not run; how many."""
    settings = get_settings()
    args = list(args) if isinstance(args, (list, tuple)) else [args]
    kwargs = kwargs if isinstance(kwargs, dict) else {}
    files = [item for value in [*args, *kwargs.values()] for item in message_items(value) if is_valid(item)]
    failures: list[tuple[SourceFile, dict | None]] = [(_source(item), item) for item in files]
    if not failures:  # a stand-in identity, named by a hash of what was sent
        failures = [(open_message({"task": task, "args": args, "kwargs": kwargs})[0], None)]
    client = _client(url)
    for source, item in failures:
        failure = policy.fail(source, error, f"the task message was refused: {reason}", settings)
        deliver([failure], item, client, settings)
    metrics.REJECTED.labels(kind).inc()
    return len(failures)


def _safely(url: str, kind: str, reason: str, task: str, args: Any, kwargs: Any, *,
            error: str = "invalid_task") -> None:
    try:
        count = dead_letter(url, kind, reason, task, args, kwargs, error=error)
        log.warning("task message refused (%s): %d failure record(s) written: %s", kind, count, reason)
    except Exception:  # never let the dead letter take the worker down; Celery logged the message
        log.exception("task message refused (%s): could not write its dead letter: %s", kind, reason)


@task_unknown.connect
def _unknown(sender: Any = None, message: Any = None, name: str = "", **_: Any) -> None:
    args, kwargs = _body(message)
    reason = f"unknown task {str(name)[:_SHOWN]!r} (this queue runs ingest.process_file)"
    _safely(sender.app.conf.broker_url, "unknown_task", reason, str(name), args, kwargs)


@task_rejected.connect
def _rejected(sender: Any = None, message: Any = None, exc: Any = None, **_: Any) -> None:
    args, kwargs = _body(message)
    task = str((getattr(message, "headers", None) or {}).get("task", ""))
    reason = f"invalid task message: {str(exc or 'not a Celery task message')[:_SHOWN]}"
    _safely(sender.app.conf.broker_url, "not_a_task", reason, task, args, kwargs)


@task_failure.connect
def _failed(sender: Any = None, exception: BaseException | None = None, args: Any = None,
            kwargs: Any = None, **_: Any) -> None:
    """A task that raises is rejected without requeue: on Redis, deleted. Our task records its
    own failures, so this is a call that does not fit its signature (``invalid_task``), or an
    error nobody foresaw, such as the soft time limit (``internal_error``)."""
    name = getattr(sender, "name", "")
    raised = f"{type(exception).__name__}: {str(exception)[:_SHOWN]}"
    try:
        inspect.signature(sender.run).bind(*(args or ()), **(kwargs or {}))
    except TypeError:
        _safely(sender.app.conf.broker_url, "arguments", f"task {name!r} called with arguments that do not fit: "
                f"{raised}", name, args, kwargs)
    else:
        _safely(sender.app.conf.broker_url, "raised", f"task {name!r} raised {raised}; Celery dropped its message",
                name, args, kwargs, error="internal_error")

