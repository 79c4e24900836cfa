"""The Celery app: Redis broker, JSON only, at-least-once delivery.

Messages are acknowledged only after the task has written its outcome (``acks_late``), given
back when a worker process dies (``task_reject_on_worker_lost``), and never acknowledged when
a task raises (the task catches every error it can turn into a record itself, so a raise means
"could not even record the failure": better redelivered than lost).

A Redis restart must not leave messages parked for the visibility timeout (10 minutes): what a
worker had taken but not started when its broker connection broke is given back as it
reconnects (``Consumer``), and an acknowledgement or a give-back that could not reach Redis
is settled on the live connection as soon as there is one (``Request``, ``Unsettled``). Nor
does a worker killed outright (kill -9, the OOM killer, a container killed): what it held comes
back once its lease expires, within about 20 s (``broker``).
"""

from __future__ import annotations

import hashlib
import logging
import os

import celery
from billiard.exceptions import WorkerLostError
from celery import Celery
from celery.signals import before_task_publish
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.request import Request as CeleryRequest
from celery.worker import state as worker_state
from celery.worker.state import active_requests, reserved_requests, scheduled_requests

from ..settings import get_settings
from .broker import LEASE_SECONDS, stamp


def create_app(broker_url: str | None = None) -> Celery:
    settings = get_settings()
    url = broker_url or settings.redis_url or os.environ.get("INGEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    app = Celery("ingest", broker=url, include=["worker.service.tasks"], task_cls="worker.service.celery_app:Task")
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=False,
        worker_prefetch_multiplier=settings.prefetch,
        task_default_queue=settings.queue,
        task_time_limit=300,
        task_soft_time_limit=240,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # wait for Redis for ever, logging each attempt
        # kombu's Redis transport, taking messages atomically (``broker``): none lost in flight.
        broker_transport="worker.service.broker:Transport",
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "priority_steps": [0],  # one list per queue: what ``broker`` takes from atomically
            # Sweep for messages of dead workers, and refresh this worker's lease on what it
            # holds, often enough to honour the timeout and the lease (``broker.LEASE_SECONDS``).
            "unacked_restore_interval": max(1, min(LEASE_SECONDS // 3, settings.visibility_timeout // 4)),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_max_memory_per_child=1_500_000,  # KiB: recycle a process whose NER buffers grew
        worker_consumer="worker.service.celery_app:Consumer",
    )
    return app


log = logging.getLogger(__name__)


class Unsettled:
    """Messages this worker must still acknowledge or give back, by delivery tag.

    A delivery tag names the message's copy in Redis's ``unacked`` hash, so any channel of the
    current connection can settle it: ``None`` removes it (done), ``True`` puts it back in its
    queue. Until settled, the visibility timeout would bring it back, ten minutes late.
    """

    def __init__(self) -> None:
        self.pending: dict[str, bool | None] = {}
        self.channel = None  # the live connection's channel, once connected

    def add(self, tag: str, requeue: bool | None) -> None:
        self.pending[tag] = requeue
        self.settle()

    def settle(self) -> None:
        """Settle what is pending on the live channel; what fails stays for the next connection."""
        if self.channel is None:
            return
        qos = self.channel.qos
        for tag, requeue in list(self.pending.items()):
            try:
                if requeue:
                    qos.give_back(tag, leftmost=True)  # leftmost: kombu's name for "next out"
                else:
                    qos._remove_from_indices(tag).execute()  # its ownership too
            except Exception as error:  # Redis away again: kept for the next connection
                log.warning("could not settle message %s yet (%s); retrying on the next connection", tag, error)
                return
            del self.pending[tag]


unsettled = Unsettled()


class Request(CeleryRequest):
    """Celery's request, whose acknowledgement or give-back is never lost to a broken connection.

    With ``acks_late`` a task settles its message on the channel it came from. After a Redis
    restart that channel is closed (kombu then raises ``AttributeError``) or its connection is
    down: Celery would log the failure and leave the message to the visibility timeout, so a
    file whose task gave it back (``Reject(requeue=True)``, Redis away) waited ten minutes.
    """

    def acknowledge(self) -> None:
        if not self.acknowledged:
            self._settle(None)
            self.acknowledged = True

    def reject(self, requeue: bool = False) -> None:
        if not self.acknowledged:
            self._settle(True if requeue else None)
            self.acknowledged = True
            self.send_event("task-rejected", requeue=requeue)

    def _settle(self, requeue: bool | None) -> None:
        try:
            if requeue:
                self.message.reject(requeue=True)
            else:
                self.message.ack()
        except (*self._connection_errors, AttributeError) as error:
            log.warning("could not %s message %s on its broken channel (%s); settling it on the live connection",
                        "give back" if requeue else "acknowledge", self.message.delivery_tag, error)
            unsettled.add(self.message.delivery_tag, requeue)

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):  # type: ignore[no-untyped-def]
        """A pool process lost while this worker is stopping was killed by the stop, not by its
        file: the message is given back as for any lost process, but not counted as a death."""
        lost = getattr(exc_info.exception, "exc", exc_info.exception)  # unwrap ExceptionWithTraceback
        if isinstance(lost, WorkerLostError) and (
                worker_state.should_stop is not None or worker_state.should_terminate is not None):
            from .tasks import stopped_not_died  # the task side (it loads the pipeline)

            log.warning("task %s interrupted by the worker's shutdown; given back, not counted as a death", self.id)
            stopped_not_died(self.id)
        return super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)


class Task(celery.Task):
    """Our tasks' base: their requests are ``Request`` above."""

    Request = "worker.service.celery_app:Request"


class Consumer(CeleryConsumer):
    """Celery's consumer, giving back at once what it drops when the broker connection breaks.

    On a connection loss Celery forgets the messages it had prefetched and the retries waiting
    for their countdown; on Redis they stay in the ``unacked`` hash until the visibility timeout
    (600 s) restores them. After a Redis restart that left every file of a burst in hand waiting
    ten minutes. This consumer notes their delivery tags as it closes the connection and puts
    them back in the queue as it reconnects (a message already restored is skipped).
    """

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        # kombu 5.7's Redis channel, used after its connection was closed (a task finishing
        # after a Redis restart acks on it), raises AttributeError instead of a connection
        # error, and Celery then exits as on a bug. Counted as a connection error, the consumer
        # reconnects (and ``Request`` settles the ack on the new connection).
        self.connection_errors = (*self.connection_errors, AttributeError)

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        """Survive the close of a broken connection (Celery 5.7 / kombu 5.7).

        Closing it makes kombu give back the channel's unacknowledged messages over the dead
        connection, which raises ``AttributeError`` (no connection info any more); Celery calls
        that unrecoverable and the whole worker exits on a mere Redis restart. Those messages
        are given back by ``connect`` below instead.
        """
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError as error:
            log.warning("closing the broken broker connection failed (%s); carrying on", error)

    def on_decode_error(self, message, exc) -> None:  # type: ignore[no-untyped-def]
        """A message whose body cannot even be decoded ends as a dead letter too (``rejects``),
        named by a hash of its bytes; then Celery logs it and acknowledges it (it can never run)."""
        from . import rejects  # the task side: imported when first needed (it loads the pipeline)

        body = message.body if isinstance(message.body, bytes) else str(message.body).encode("utf-8", "replace")
        try:
            rejects.dead_letter(self.app.conf.broker_url, "undecodable",
                                f"its body cannot be decoded ({type(exc).__name__})", "", [],
                                {"body_sha256": hashlib.sha256(body).hexdigest()})
        except Exception:
            log.exception("could not write the failure record of a message that cannot be decoded")
        super().on_decode_error(message, exc)

    def on_close(self) -> None:
        unsettled.channel = None
        for request in (*reserved_requests, *scheduled_requests):
            if request not in active_requests:
                unsettled.pending[request.message.delivery_tag] = True
        super().on_close()

    def connect(self):  # type: ignore[no-untyped-def]
        connection = super().connect()
        unsettled.channel = connection.default_channel
        given_back = sum(1 for requeue in unsettled.pending.values() if requeue)
        unsettled.settle()
        if given_back:
            log.info("gave back %d message(s) taken before the broker connection broke", given_back)
        return connection


app = create_app()


@before_task_publish.connect
def _stamp_queued_at(headers: dict, **_: object) -> None:
    """Every message carries when it was sent (a header: the task's arguments stay as validated),
    so `ingest status` can tell how long the oldest one has waited."""
    stamp(headers)


def use_broker(url: str) -> None:
    """Point the process's app at ``url`` (after an embedded Redis was started)."""
    app.conf.broker_url = url
