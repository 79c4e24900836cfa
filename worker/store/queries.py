"""Reading the store: ranked full-text search, one record, and the numbers of `ingest stats`.

Search parses the query as a web search (`patriot missiles`, `"air defence" -drill`, `a or b`)
against the weighted vector of title (A) and body (B). Ranking (``ts_rank_cd``) reads each
candidate's whole vector, tens of microseconds a row, so a broad query over a large store would
spend most of its time ranking thousands of matches: it ranks the newest ``scan`` matches (found
through the GIN index and the date index, without reading vectors), which for news is what
a reader wants, and bounds the cost. Snippets (``ts_headline`` re-parses a body) are made for
the returned page only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

MARK_START, MARK_STOP = "\x02", "\x03"  # highlight markers: the CLI turns them into colour or [..]


@dataclass
class Hit:
    id: str
    title: str | None
    site: str | None
    published_at: datetime | None
    dedup_status: str
    rank: float
    snippet: str


SCAN = 500


def search(conn: psycopg.Connection, query: str, *, since: date | None = None, entity: str | None = None,
           status: str | None = None, limit: int = 20, scan: int = SCAN) -> list[Hit]:
    """Records matching ``query``, best first among the newest ``scan`` matches, with snippets."""
    where = ["r.search @@ q.q"]
    params: dict[str, Any] = {"query": query, "limit": limit, "scan": max(scan, limit),
                              "options": f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords=35, MinWords=15, "
                                         "MaxFragments=2, FragmentDelimiter=\" … \""}
    if since is not None:
        where.append("coalesce(r.published_at, r.received_at) >= %(since)s")
        params["since"] = since
    if entity:
        where.append("EXISTS (SELECT 1 FROM mentions m WHERE m.record_id = r.id AND lower(m.name) = lower(%(entity)s))")
        params["entity"] = entity
    if status:
        where.append("r.dedup_status = %(status)s")
        params["status"] = status
    sql = f"""
        WITH q AS (SELECT websearch_to_tsquery('english', %(query)s) AS q),
        matches AS MATERIALIZED (  -- through the GIN index: never walk the date index testing rows
            SELECT r.id, coalesce(r.published_at, r.received_at) AS day FROM records r, q
            WHERE {' AND '.join(where)}
        ),
        newest AS (SELECT id FROM matches ORDER BY day DESC LIMIT %(scan)s),
        page AS (
            SELECT r.id, r.title, r.site, r.published_at, r.dedup_status, r.record,
                   ts_rank_cd(r.search, q.q) AS rank
            FROM newest JOIN records r USING (id), q
            ORDER BY rank DESC, r.id
            LIMIT %(limit)s
        )
        SELECT page.id, page.title, page.site, page.published_at, page.dedup_status, page.rank,
               ts_headline('english', page.record->>'body', q.q, %(options)s) AS snippet
        FROM page, q
        ORDER BY page.rank DESC, page.id
    """
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return [Hit(*row) for row in cur.fetchall()]


def show(conn: psycopg.Connection, record_id: str) -> dict[str, Any] | None:
    """The stored record (or failure record) of ``record_id``, or of the one id it starts."""
    for table in ("records", "failures"):
        rows = conn.execute(
            f"SELECT record FROM {table} WHERE id = %s OR id LIKE %s || '%%' ORDER BY id = %s DESC LIMIT 2",
            (record_id, record_id, record_id)).fetchall()
        if len(rows) == 1 or (rows and rows[0][0]["id"] == record_id):
            return rows[0][0]
    return None


def stats(conn: psycopg.Connection, *, days: int = 14, top: int = 10) -> dict[str, Any]:
    """Articles per day (of publication, else of receipt), top entities, duplicate rate."""
    with conn.cursor(row_factory=dict_row) as cur:
        totals = cur.execute(
            "SELECT count(*) AS records, count(*) FILTER (WHERE dedup_status <> 'unique') AS duplicates,"
            " (SELECT count(*) FROM failures) AS failures FROM records").fetchone()
        per_day = cur.execute(
            "SELECT coalesce(published_at, received_at)::date AS day, count(*) AS articles,"
            " count(*) FILTER (WHERE dedup_status <> 'unique') AS duplicates"
            " FROM records GROUP BY 1 ORDER BY 1 DESC LIMIT %s", (days,)).fetchall()
        entities = cur.execute(
            "SELECT m.kind, m.name, count(*) AS records, sum(m.count) AS mentions"
            " FROM mentions m JOIN records r ON r.id = m.record_id AND r.dedup_status = 'unique'"
            " GROUP BY m.kind, m.name ORDER BY records DESC, mentions DESC, m.name LIMIT %s", (top,)).fetchall()
    records = totals["records"]
    return {
        "records": records,
        "duplicates": totals["duplicates"],
        "duplicate_rate": round(totals["duplicates"] / records, 4) if records else 0.0,
        "failures": totals["failures"],
        "per_day": [{**row, "day": row["day"].isoformat()} for row in reversed(per_day)],
        "top_entities": [{**row, "mentions": int(row["mentions"])} for row in entities],
    }
