"""Connecting to Redis, and the keys the service keeps there (one place to read them all)."""

from __future__ import annotations

import logging
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .logs import redact

log = logging.getLogger(__name__)

PREFIX = "ingest"
SEEN = f"{PREFIX}:seen:"          # + sha256 -> "queued" | "done" (idempotency)
STATS = f"{PREFIX}:stats"         # hash of counters: queued, records, duplicates, skipped, failed
DEAD = f"{PREFIX}:dead"           # hash: failure id -> dead-letter entry (JSON)
DEAD_MESSAGE = f"{PREFIX}:dead:msg:"  # + failure id -> the original task message, for retry
ATTEMPTS = f"{PREFIX}:attempts:"  # + task id -> deliveries begun and not ended (worker deaths)
FAULTS = f"{PREFIX}:faults"       # hash: "<host>:<worker pid>" -> why its writes fail now (health)
IGNORED = f"{PREFIX}:ignored"     # hash: inbox path -> why the watcher leaves it there (JSON)

PROBE_CONNECT_SECONDS = 1.0  # a probe's wait to connect (a host that drops packets: at most this)
PROBE_REPLY_SECONDS = 2.0    # ... and for a reply (a Redis that hangs)
PROBE_NAME = "ingest-probe"  # what a probe's connection is called in CLIENT LIST


def connect(url: str, *, wait: float | None = None) -> redis.Redis:
    """A client for ``url``; with ``wait``, keep trying (logging why) for up to that many seconds.

    ``wait=float('inf')`` waits for ever: a watcher or worker started before Redis is up waits
    for it rather than exiting, and files stay in the inbox meanwhile.
    """
    client = redis.Redis.from_url(
        url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=30,
        retry_on_timeout=True,
    )
    if wait is None:
        return client
    deadline = time.monotonic() + wait
    delay = 0.2
    while True:
        try:
            client.ping()
            return client
        except redis.RedisError as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("Redis at %s is not reachable (%s); retrying in %.1fs", redact(url), exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def probe(client: redis.Redis) -> redis.Redis:
    """A client for health probes and `ingest status` on the server ``client`` talks to: one
    attempt, short timeouts, no retries, so a dead or hung Redis is reported at once.

    The service's own work keeps ``connect``'s policy (redis-py retries a dropped connection,
    and the task retries with back-off): a probe that did the same would answer only after
    every retry, longer than an orchestrator waits for a health check.
    """
    pool = client.connection_pool
    return redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=pool.connection_class,
        **{**pool.connection_kwargs, "socket_connect_timeout": PROBE_CONNECT_SECONDS,
           "socket_timeout": PROBE_REPLY_SECONDS, "retry": Retry(NoBackoff(), 0), "retry_on_timeout": False,
           "retry_on_error": [], "health_check_interval": 0, "client_name": PROBE_NAME},
    ))
