"""Writing outcomes to the store: a batch in one transaction, idempotent.

Each table is written with one ``INSERT ... SELECT FROM unnest(...)`` per batch (one round trip
however many outcomes) and ``ON CONFLICT (id) DO NOTHING``: a record is never rewritten, so
processing an input again, or two hosts writing the same one, changes nothing. As in the files
sink, a record replaces an earlier failure of the same id, and a failure never shadows a record.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import psycopg

from ..models import Entities, FailureRecord, Outcome, Record

_RECORDS = """
WITH new AS (
    INSERT INTO records (id, source_name, source_path, source_sha256, url, site, title, published_at,
                         received_at, dedup_status, duplicate_of, language, word_count, record)
    SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                         %s::text[], %s::timestamptz[], %s::timestamptz[], %s::text[], %s::text[],
                         %s::text[], %s::int[], %s::jsonb[])
    ON CONFLICT (id) DO NOTHING
    RETURNING id, title, record->>'body' AS body, dedup_status,
              (coalesce(published_at, received_at) AT TIME ZONE 'UTC')::date AS day
), ranked AS (
    INSERT INTO leads (id, lead) SELECT id, search_lead(title, body) FROM new
), stale AS (
    DELETE FROM failures WHERE id IN (SELECT id FROM new)
), given AS (
    SELECT DISTINCT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[]) AS m(record_id, kind, name, count)
), mentioned AS (
    INSERT INTO mentions (record_id, kind, name, count)
    SELECT m.* FROM given m WHERE m.record_id IN (SELECT id FROM new)
    ON CONFLICT DO NOTHING
), counted AS (  -- in key order: concurrent batches lock shared rows in the same order, no deadlock
    INSERT INTO entity_days AS e (day, kind, name, records, mentions)
    SELECT n.day, m.kind, m.name, count(*), sum(m.count)
    FROM given m JOIN new n ON n.id = m.record_id AND n.dedup_status = 'unique'
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, kind, name) DO UPDATE
        SET records = e.records + excluded.records, mentions = e.mentions + excluded.mentions
)
SELECT id FROM new
"""

_FAILURES = """
INSERT INTO failures AS f (id, source_name, source_path, source_sha256, received_at, error_type,
                           error_message, failed_at, record)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],
                     %s::text[], %s::text[], %s::timestamptz[], %s::jsonb[]) AS n(id)
WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = n.id)
ON CONFLICT (id) DO UPDATE SET error_type = excluded.error_type, error_message = excluded.error_message,
                               failed_at = excluded.failed_at, record = excluded.record
RETURNING id, (xmax = 0) AS inserted
"""

KINDS = {"persons": "person", "organizations": "organization", "locations": "location"}


def mention_rows(record_id: str, entities: Entities) -> list[tuple[str, str, str, int]]:
    """(record id, kind, canonical name, mentions) of each entity of a record."""
    rows: dict[tuple[str, str], int] = {}
    for group, kind in (*KINDS.items(), ("other", None)):
        for entity in getattr(entities, group):
            key = (kind or entity.type, entity.name)
            rows[key] = rows.get(key, 0) + max(entity.mentions, 1)
    return [(record_id, kind, name, count) for (kind, name), count in rows.items()]


def _json(outcome: Outcome) -> str:
    return orjson.dumps(outcome.model_dump(mode="json")).decode()


def write_outcomes(conn: psycopg.Connection, outcomes: Sequence[Outcome]) -> list[bool]:
    """Write ``outcomes`` atomically; True for each that was not in the store before.

    Records (with their mentions, search leads and entity counts per day, and the removal of earlier failures) are one statement, and so
    are failures: on an autocommit connection a batch of one kind is one round trip.
    """
    records = [o for o in outcomes if isinstance(o, Record)]
    failures = list({o.id: o for o in outcomes if isinstance(o, FailureRecord)}.values())  # last wins
    statements = []
    if records:
        columns = [list(c) for c in zip(*(
            (r.id, r.source.name, r.source.path, r.source.sha256, r.url, r.site, r.title,
             r.published_at, r.source.received_at, r.dedup.status, r.dedup.duplicate_of,
             r.language, r.word_count, _json(r))
            for r in records
        ))]
        mentions = [row for r in records for row in mention_rows(r.id, r.entities)]
        mention_columns = [list(c) for c in zip(*mentions)] if mentions else [[], [], [], []]
        statements.append((_RECORDS, columns + mention_columns, lambda row: True))
    if failures:
        columns = [list(c) for c in zip(*(
            (f.id, f.source.name, f.source.path, f.source.sha256, f.source.received_at, f.error.type,
             f.error.message, f.failed_at, _json(f))
            for f in failures
        ))]
        statements.append((_FAILURES, columns, lambda row: row[1]))
    new: set[str] = set()
    if len(statements) == 1 and conn.autocommit:
        sql, params, is_new = statements[0]
        new = {row[0] for row in conn.execute(sql, params) if is_new(row)}
    else:
        with conn.transaction():
            for sql, params, is_new in statements:
                new |= {row[0] for row in conn.execute(sql, params) if is_new(row)}
    return [o.id in new for o in outcomes]
