"""Prometheus metrics and the health endpoint of the watcher and the workers.

Each process kind serves ``/metrics`` (Prometheus text format) and ``/healthz`` (JSON, 200 when
healthy, 503 when not) on its own port. Celery's prefork pool runs tasks in child processes,
so a worker uses prometheus_client's multiprocess mode: children write to a folder that the
worker's main process aggregates when scraped. ``PROMETHEUS_MULTIPROC_DIR`` must be set
before prometheus_client is first imported: `ingest worker` sets it before importing this.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)

Health = Callable[[], dict[str, object]]


from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

FILES_SEEN = Counter("ingest_files_seen_total", "Files the watcher found ready in the inbox.")
FILES_QUEUED = Counter("ingest_files_queued_total", "Files queued for the workers.")
FILES_REPEATED = Counter("ingest_files_repeated_total", "Files not queued: the same bytes were queued before.")
QUEUE_DEPTH = Gauge("ingest_queue_depth", "Messages waiting in the queue or being taken (as the watcher last saw it).")
QUEUE_TAKING = Gauge("ingest_queue_taking", "Of those, messages taken and not yet recorded by a worker (its taking list).")
QUEUE_OLDEST = Gauge("ingest_queue_oldest_seconds", "Seconds since the oldest message in the queue was sent (0: none).")
BACKPRESSURE = Counter("ingest_backpressure_pauses_total", "Times the watcher paused at the high-water mark.")
OUTCOMES = Counter("ingest_outcomes_total", "Outcomes written by the workers.", ["kind"])
STAGE_SECONDS = Histogram(
    "ingest_stage_seconds", "Time spent in each pipeline stage per article.", ["stage"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)
RETRIES = Counter("ingest_task_retries_total", "Task retries: Redis away (transient) or records folder unwritable (sink).", ["kind"])
POISON = Counter("ingest_poison_messages_total", "Messages given up after their worker process died on them max_attempts times.")
REJECTED = Counter("ingest_rejected_messages_total", "Task messages Celery refused before the task ran (dead-lettered).", ["reason"])


def fault_field(worker_pid: int) -> str:
    """The field of ``ingest:faults`` where a worker's pool processes report why writes fail."""
    return f"{socket.gethostname()}:{worker_pid}"


def _registry() -> CollectorRegistry | None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return None  # the default registry
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    return registry


def serve(port: int, health: Health, host: str = "127.0.0.1",
          setting: str = "INGEST_METRICS_PORT") -> ThreadingHTTPServer | None:
    """Serve /metrics and /healthz on ``host:port`` in a daemon thread; None when disabled or taken.

    Loopback unless configured (``INGEST_METRICS_HOST``): the endpoints have no authentication.
    """
    if port <= 0:
        return None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.startswith("/metrics"):
                registry = _registry()
                body = generate_latest(registry) if registry else generate_latest()
                self._send(200, CONTENT_TYPE_LATEST, body)
            elif self.path.startswith("/healthz"):
                try:
                    status = health()
                except Exception as exc:  # a health check must answer, not raise
                    # The kind only: a Redis error's text names its host and port.
                    status = {"ok": False, "error": type(exc).__name__}
                self._send(200 if status.get("ok") else 503, "application/json", json.dumps(status).encode())
            else:
                self._send(404, "text/plain", b"not found: try /metrics or /healthz\n")

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # scrapes are not worth a log line
            pass

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        log.warning("metrics and health not served on %s:%d: %s; set %s to a free port (0: none)",
                    host, port, exc.strerror, setting)
        return None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics on http://%s:%d/metrics, health on /healthz", host, port)
    return server
