"""The PostgreSQL sink: records, failures and entity mentions in the store (``worker/store``).

One connection per process (made after the fork), the schema migrated on first use. When the
server cannot be reached, or goes away mid-write, the write is tried again with back-off for up
to ``INGEST_POSTGRES_WAIT_SECONDS``; then ``SinkUnavailable`` goes up to the task, which
retries the message later. Nothing is acknowledged meanwhile, so nothing is lost. When the
server refuses an outcome for what it holds (a search vector over 1 MB, a NUL character), no
retry can help: ``SinkRefused`` names those outcomes, and nothing of the batch is written.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

import psycopg

from ..errors import SinkRefused, SinkUnavailable
from ..models import Outcome
from ..settings import Settings
from ..store import connect, migrate, reason, redact
from ..store.writes import write_outcomes

log = logging.getLogger(__name__)

# What the data itself causes: a value out of range or not storable (DataError), a limit such
# as tsvector's 1 MB (ProgramLimitExceeded, which psycopg files under OperationalError)
REFUSALS = (psycopg.DataError, psycopg.errors.ProgramLimitExceeded)


class PostgresSink:
    name = "postgres"
    _per_process: dict[tuple[int, str], PostgresSink] = {}

    def __init__(self, url: str, *, wait: float) -> None:
        self.url = url
        self.wait = wait
        self.conn: psycopg.Connection | None = None
        self.migrated = False

    @classmethod
    def for_settings(cls, settings: Settings) -> PostgresSink:
        """This process's sink for the configured server (a connection is not shared across a fork)."""
        if not settings.postgres_url:
            raise RuntimeError("the postgres sink needs INGEST_POSTGRES_URL (or a running `ingest run`)")
        key = (os.getpid(), settings.postgres_url)
        sink = cls._per_process.get(key)
        if sink is None:
            sink = cls._per_process[key] = cls(settings.postgres_url, wait=settings.postgres_wait_seconds)
        return sink

    def _connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = connect(self.url, autocommit=True)  # each batch is one atomic statement
            if not self.migrated:
                migrate(self.conn)
                self.migrated = True
        return self.conn

    def write(self, outcomes: Sequence[Outcome]) -> list[bool]:
        deadline = time.monotonic() + self.wait
        delay = 0.2
        while True:
            try:
                try:
                    return write_outcomes(self._connection(), outcomes)
                except REFUSALS as exc:  # finding the culprits may meet the server going away too
                    raise SinkRefused(self.name, self._refused(outcomes) or {o.id: reason(exc) for o in outcomes}) from None
            except psycopg.OperationalError as exc:  # refused, shut down, connection lost
                self.close()
                why = reason(exc)
                if time.monotonic() + delay > deadline:
                    raise SinkUnavailable(f"PostgreSQL at {redact(self.url)} is unavailable: {why}") from None
                log.warning("PostgreSQL at %s is unavailable (%s); trying again in %.1fs",
                            redact(self.url), why, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _refused(self, outcomes: Sequence[Outcome]) -> dict[str, str]:
        """Which outcomes of a refused batch the server refuses, and why: each written alone in
        a transaction rolled back, so the batch can be written whole once they are replaced."""
        conn = self._connection()
        refused: dict[str, str] = {}
        for outcome in outcomes:
            try:
                with conn.transaction():
                    write_outcomes(conn, [outcome])
                    raise psycopg.Rollback()
            except REFUSALS as exc:
                refused[outcome.id] = reason(exc)
        return refused

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass


def health(url: str | None) -> dict[str, object]:
    """For /healthz: can this process reach the store, and if not, why."""
    if not url:
        return {"ok": False, "postgres": "no INGEST_POSTGRES_URL"}
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return {"ok": True, "postgres": "ok"}
    except psycopg.Error as exc:
        return {"ok": False, "postgres": f"unreachable: {reason(exc)}"}
