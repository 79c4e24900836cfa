"""The Celery app: Redis broker, JSON only, at-least-once delivery.

Messages are acknowledged only after the task has written its outcome (``acks_late``), given
back when a worker process dies (``task_reject_on_worker_lost``), and never acknowledged when
a task raises (the task catches every error it can turn into a record itself, so a raise means
"could not even record the failure": better redelivered than lost).
"""

from __future__ import annotations

import os

from celery import Celery

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
    )
    return app


app = create_app()


def use_broker(url: str) -> None:
    """Point the process's app at ``url`` (after an embedded Redis was started)."""
    app.conf.broker_url = url
