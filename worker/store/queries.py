"""Reading the store: ranked full-text search, one record, and the numbers of `ingest stats`.

Search parses the query as a web search (`patriot missiles`, `"air defence" -drill`, `a or b`)
against the weighted vector of title (A) and body (B), and puts the best matches first
(``ts_rank_cd``; the newer first among equals) among the newest ``scan`` matches
(`INGEST_SEARCH_SCAN`). Ranking reads a small vector of title and lead kept in its row (table
``leads``), not the TOASTed whole-body vector. Finding the newest matches costs about the same
whatever the query matches: the GIN match is intersected with a window of the newest
``WINDOW * scan`` records (``BitmapAnd`` with the date index, whose cut-off an index-only scan
finds); only when the window holds fewer than ``scan`` matches (a rare word, a narrow filter:
few rows to read) is the whole store searched.
Snippets (``ts_headline`` re-parses its text, about a millisecond per article) are made for the
returned page only, in the same statement, from the passages of the body around the query's words
(``search_passages``, migration 060), not the whole body: a search is one round trip.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ..models import in_field_order

MARK_START, MARK_STOP = "\x02", "\x03"  # highlight markers: the CLI turns them into colour or [..]
DAY = "coalesce(r.published_at, r.received_at)"
# Records naming an entity, from the smaller side: its mentions (an index-only scan) give the ids,
# and the records are fetched by id. A semi-join walking the newest records, testing each, reads
# the whole store for an entity that was in the news only a while ago.
MENTIONED = "r.id = ANY(ARRAY(SELECT m.record_id FROM mentions m WHERE lower(m.name) = lower(%(entity)s)))"


@dataclass
class Hit:
    id: str
    title: str | None
    site: str | None
    published_at: datetime | None
    dedup_status: str
    rank: float
    snippet: str


SCAN = 500     # matches ranked per search (the newest ones): INGEST_SEARCH_SCAN
WINDOW = 8     # the first window holds this many times ``scan`` of the newest records
HEADLINE = (f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords=35, MinWords=15, MaxFragments=2, "
            "FragmentDelimiter=\" … \"")


def ranked(conn: psycopg.Connection, query: str, where: list[str], params: dict[str, Any], columns: str, *,
           scan: int, limit: int, offset: int = 0, narrow: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Rows (``columns`` of ``records r``, plus ``rank``) of the best matches of ``query`` that meet
    ``where``, among the newest ``scan`` matches; and how many candidates were ranked (<= ``scan``).
    ``narrow``: ``where`` has a filter of its own index (a source, an entity) that leaves few rows;
    the window of newest records would then hold too few and only cost a second GIN match."""
    conditions = ["r.search @@ (SELECT q FROM q)", *where]
    params = {**params, "query": query, "scan": scan, "limit": limit, "offset": offset}
    with conn.cursor(row_factory=dict_row) as cur:
        cutoff = None if narrow else _cutoff(cur, max(scan, 1) * WINDOW)
        # The cut-off is a value, not a sub-query, and the statement is planned for it (never a
        # generic plan): the planner then sees how few rows the window holds and intersects the
        # indexes (BitmapAnd) rather than reading every match's row to test its day. The whole
        # store is searched only when the window holds fewer than ``scan`` matches (a rare word,
        # a narrow filter: few rows to read), in the same statement.
        match = f"SELECT r.id, {DAY} AS day FROM records r WHERE {' AND '.join(conditions)}"
        newest = "ORDER BY day DESC, r.id DESC LIMIT %(scan)s"
        if cutoff is None:
            candidates = f"candidates AS MATERIALIZED ({match} {newest})"
        else:
            candidates = f"""windowed AS MATERIALIZED ({match} AND {DAY} >= %(cutoff)s {newest}),
                candidates AS MATERIALIZED (
                    SELECT * FROM windowed WHERE (SELECT count(*) FROM windowed) >= %(scan)s
                    UNION ALL  -- not run at all when the window had enough
                    SELECT * FROM ({match} {newest}) s WHERE (SELECT count(*) FROM windowed) < %(scan)s)"""
        sql = f"""
            WITH q AS MATERIALIZED (SELECT websearch_to_tsquery('english', %(query)s) AS q),
            {candidates},
            page AS MATERIALIZED (  -- ranked by the small vector of title and lead
                SELECT c.id, c.day, ts_rank_cd(l.lead, (SELECT q FROM q)) AS rank
                FROM candidates c JOIN leads l USING (id)
                ORDER BY rank DESC, c.day DESC, c.id
                LIMIT %(limit)s OFFSET %(offset)s)
            SELECT {columns}, page.rank, (SELECT count(*) FROM candidates) AS candidates
            FROM page JOIN records r USING (id)
            ORDER BY page.rank DESC, page.day DESC, r.id"""
        params["cutoff"] = cutoff
        rows = cur.execute(sql, params, prepare=False).fetchall()
        if rows or offset == 0:
            return rows, rows[0]["candidates"] if rows else 0
        # Past the last page: count the candidates alone.
        count = f"WITH q AS MATERIALIZED (SELECT websearch_to_tsquery('english', %(query)s) AS q), {candidates}"
        return rows, cur.execute(count + " SELECT count(*) AS found FROM candidates", params,
                                 prepare=False).fetchone()["found"]


CUTOFF_TTL = 5.0  # seconds a window's cut-off is reused by the searches of one process
_cutoffs: dict[tuple[str, int], tuple[datetime | None, float]] = {}


def _cutoff(cur: psycopg.Cursor, window: int) -> datetime | None:
    """The day of the ``window``-th newest record (an index-only scan), None if the store holds
    fewer; reused for a few seconds. A stale one is harmless: records stored since only widen
    the window, and a window holding too few matches (an emptied store) falls back to the whole."""
    key, now = (cur.connection.info.dsn, window), time.monotonic()
    cached = _cutoffs.get(key)
    if cached is None or now - cached[1] > CUTOFF_TTL:
        row = cur.execute(f"SELECT {DAY} AS day FROM records r ORDER BY 1 DESC OFFSET %s LIMIT 1",
                          (window - 1,)).fetchone()
        cached = _cutoffs[key] = (row["day"] if row else None, now)
    return cached[0]


def search(conn: psycopg.Connection, query: str, *, since: date | None = None, entity: str | None = None,
           status: str | None = None, limit: int = 20, scan: int = SCAN) -> list[Hit]:
    """Records matching ``query``, best first among the newest ``scan`` matches, with snippets."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if since is not None:
        where.append(f"{DAY} >= %(since)s")
        params["since"] = since
    if entity:
        where.append(MENTIONED)
        params["entity"] = entity
    if status:
        where.append("r.dedup_status = %(status)s")
        params["status"] = status
    params["headline"] = HEADLINE
    snippet = ("ts_headline('english', search_passages(r.record->>'body', (SELECT q FROM q)), (SELECT q FROM q),"
               " %(headline)s) AS snippet")  # the page's rows only
    rows, _ = ranked(conn, query, where, params, f"r.id, r.title, r.site, r.published_at, r.dedup_status, {snippet}",
                     scan=max(scan, limit), limit=limit, narrow=bool(entity))
    return [Hit(row["id"], row["title"], row["site"], row["published_at"], row["dedup_status"], row["rank"],
                row["snippet"]) for row in rows]


def ids_starting(conn: psycopg.Connection, prefix: str, limit: int = 6) -> list[str]:
    """Ids of stored records and failure records that start with ``prefix`` (lowercase hex), a few."""
    rows = conn.execute("(SELECT id FROM records WHERE id LIKE %s || '%%' LIMIT %s) UNION ALL"
                        " (SELECT id FROM failures WHERE id LIKE %s || '%%' LIMIT %s)",
                        (prefix, limit, prefix, limit)).fetchall()
    return [row[0] for row in rows]


def show(conn: psycopg.Connection, record_id: str) -> dict[str, Any] | None:
    """The stored record (or failure record) of ``record_id``, or of the one id it starts."""
    for table in ("records", "failures"):
        rows = conn.execute(
            f"SELECT record FROM {table} WHERE id = %s OR id LIKE %s || '%%' ORDER BY id = %s DESC LIMIT 2",
            (record_id, record_id, record_id)).fetchall()
        if len(rows) == 1 or (rows and rows[0][0]["id"] == record_id):
            return in_field_order(rows[0][0])  # JSONB keeps keys in an order of its own
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
