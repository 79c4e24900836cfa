"""The Celery app: Redis broker, JSON only, at-least-once delivery.

Messages are acknowledged only after the task has written its outcome (``acks_late``), given
back when a worker process dies (``task_reject_on_worker_lost``), and never acknowledged when
a task raises (the task catches every error it can turn into a record itself, so a raise means
"could not even record the failure": better redelivered than lost). Messages a worker had
taken but not started when its broker connection broke are given back as it reconnects
(``Consumer``), not after the visibility timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os

from celery import Celery
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.state import active_requests, reserved_requests, scheduled_requests

from ..settings import get_settings


def create_app(broker_url: str | None = None) -> Celery:
    settings = get_settings()
    url = broker_url or settings.redis_url or os.environ.get("INGEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    app = Celery("ingest", broker=url, include=["worker.service.tasks"])
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
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            # Sweep for messages of dead workers often enough to honour the timeout.
            "unacked_restore_interval": max(1, min(10, settings.visibility_timeout // 4)),
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


class Consumer(CeleryConsumer):
    """Celery's consumer, giving back at once what it drops when the broker connection breaks.

    On a connection loss Celery forgets the messages it had prefetched and the retries waiting
    for their countdown; on Redis they stay in the ``unacked`` hash until the visibility timeout
    (600 s) restores them. After a Redis restart that left every file of a burst in hand waiting
    ten minutes. This consumer notes their delivery tags as it closes the connection and puts
    them back in the queue as it reconnects (a message already restored is skipped).
    """

    dropped: list[str] = []

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        # kombu 5.7's Redis channel, used after its connection was closed (a task finishing
        # after a Redis restart acks on it), raises AttributeError instead of a connection
        # error, and Celery then exits as on a bug. Counted as a connection error, the ack is
        # logged as failed (the message comes back after the visibility timeout, and processing
        # it again is idempotent) and the consumer reconnects.
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

    def on_close(self) -> None:
        self.dropped = [
            r.message.delivery_tag for r in (*reserved_requests, *scheduled_requests) if r not in active_requests
        ]
        super().on_close()

    def connect(self):  # type: ignore[no-untyped-def]
        connection = super().connect()
        dropped, self.dropped = self.dropped, []
        if dropped:
            qos = connection.default_channel.qos
            for tag in dropped:
                with contextlib.suppress(Exception):  # if it fails, the visibility timeout still restores it
                    qos.restore_by_tag(tag)
            log.info("gave back %d message(s) taken before the broker connection broke", len(dropped))
        return connection


app = create_app()


def use_broker(url: str) -> None:
    """Point the process's app at ``url`` (after an embedded Redis was started)."""
    app.conf.broker_url = url
