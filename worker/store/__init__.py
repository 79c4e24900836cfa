"""The PostgreSQL store: connecting, and the schema as versioned SQL migrations.

Migrations are the files ``migrations/NNN_name.sql``, applied in order, each once, in its own
transaction, under an advisory lock: many workers starting at once apply each exactly once.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import psycopg

from ..service.logs import redact

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK = 0x1A57_0E57  # pg_advisory_xact_lock key of the migrations


def connect(url: str, *, wait: float | None = None, autocommit: bool = False) -> psycopg.Connection:
    """A connection to ``url``; with ``wait``, keep trying (logging why) for up to that many seconds."""
    deadline = time.monotonic() + (wait or 0)
    delay = 0.2
    while True:
        try:
            return psycopg.connect(url, connect_timeout=5, autocommit=autocommit,
                                   application_name="article-ingest")
        except psycopg.OperationalError as exc:
            if wait is None or time.monotonic() >= deadline:
                raise
            log.warning("PostgreSQL at %s is not reachable (%s); retrying in %.1fs",
                        redact(url), reason(exc), delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file, in order."""
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        found.append((int(version), name, path.read_text()))
    return found


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply the migrations ``conn``'s database lacks; returns the versions applied."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations():
            if version in done:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            applied.append(version)
            log.info("applied migration %03d_%s", version, name)
    return applied


# Every table of stored outcomes; a migration adding one adds it here, and `empty` keeps up.
TABLES = ("records", "failures", "mentions", "leads", "entity_days")


def empty(conn: psycopg.Connection) -> None:
    """Remove every stored outcome, keeping the schema (tests and benchmarks start clean)."""
    conn.execute(f"TRUNCATE {', '.join(TABLES)}")


def reason(exc: BaseException) -> str:
    """The first line of a driver error (the rest are hints), or its type."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__

