"""What the web pages read from the store: lists, one record, clusters, entities, throughput.

Every list is bounded (a page of rows, a capped count) so a page costs the same with 100 or
100,000 records. Full-text search is `ingest search`'s (``store.queries.ranked``): the best of
the newest ``scan`` matches, found within a window of the newest records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ..models import in_field_order
from ..store.queries import MENTIONED, SCAN, ranked

COUNT_CAP = 1000  # "1000+" rather than counting every match of a broad filter
KINDS = {"person": "persons", "organization": "organizations", "location": "locations"}
DAY = "coalesce(r.published_at, r.received_at)"


@dataclass
class Filters:
    q: str = ""
    since: date | None = None
    until: date | None = None
    status: str = ""
    entity: str = ""
    source: str = ""
    page: int = 1
    per_page: int = 20
    scan: int = SCAN

    def where(self) -> tuple[list[str], dict[str, Any]]:
        """The filters but the full-text query (``ranked`` adds it), as SQL over ``records r``."""
        where: list[str] = []
        params: dict[str, Any] = {}
        if self.since:
            where.append(f"{DAY} >= %(since)s")
            params["since"] = self.since
        if self.until:
            where.append(f"{DAY} < %(until)s")
            params["until"] = self.until + timedelta(days=1)
        if self.status == "duplicate":
            where.append("r.dedup_status <> 'unique'")
        elif self.status:
            where.append("r.dedup_status = %(status)s")
            params["status"] = self.status
        if self.entity:
            where.append(MENTIONED)
            params["entity"] = self.entity
        if self.source:
            where.append("(r.site = %(source)s OR r.source_name = %(source)s)")
            params["source"] = self.source
        return where, params


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    capped: bool
    filters: Filters
    sources: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filters.per_page))


def records(conn: psycopg.Connection, filters: Filters) -> Page:
    """One page of records: the best matches of a search, else the newest first."""
    where, params = filters.where()
    offset = (filters.page - 1) * filters.per_page
    columns = ("r.id, r.title, r.site, r.source_name, r.published_at, r.received_at, r.dedup_status,"
               " r.duplicate_of, r.word_count")
    if filters.q:  # the page and the count both come from one ranking of the newest matches
        rows, total = ranked(conn, filters.q, where, params, columns, scan=filters.scan,
                             limit=filters.per_page, offset=offset, narrow=bool(filters.source or filters.entity))
        return Page(rows=rows, total=min(total, COUNT_CAP), capped=total >= filters.scan, filters=filters)
    where = where or ["true"]
    params.update(limit=filters.per_page, offset=offset, cap=COUNT_CAP + 1)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"""SELECT {columns} FROM records r WHERE {' AND '.join(where)}
                               ORDER BY {DAY} DESC, r.id LIMIT %(limit)s OFFSET %(offset)s""", params).fetchall()
        total = cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM records r WHERE {' AND '.join(where)}"
                            " LIMIT %(cap)s) s", params).fetchone()["count"]
    return Page(rows=rows, total=min(total, COUNT_CAP), capped=total > COUNT_CAP, filters=filters)


def sources(conn: psycopg.Connection, limit: int = 200) -> list[str]:
    """Sites seen in the newest records, for the source filter."""
    rows = conn.execute(
        "SELECT DISTINCT site FROM (SELECT site FROM records r WHERE site IS NOT NULL"
        f" ORDER BY {DAY} DESC LIMIT 5000) s ORDER BY site LIMIT %s", (limit,)).fetchall()
    return [row[0] for row in rows]


def record(conn: psycopg.Connection, record_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT record FROM records WHERE id = %s", (record_id,)).fetchone()
    return in_field_order(row[0]) if row else None  # the JSON shown as the record file has it


def copies(conn: psycopg.Connection, record_id: str) -> list[dict[str, Any]]:
    """The records that copy ``record_id``, most similar first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, title, site, source_name, dedup_status, (record->'dedup'->>'similarity')::float AS similarity"
            " FROM records WHERE duplicate_of = %s ORDER BY similarity DESC NULLS LAST, id LIMIT 200",
            (record_id,)).fetchall()


def brief(conn: psycopg.Connection, record_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT id, title, site, source_name FROM records WHERE id = %s", (record_id,)).fetchone()


def clusters(conn: psycopg.Connection, *, page: int = 1, per_page: int = 20) -> list[dict[str, Any]]:
    """Originals with their copies, largest cluster first."""
    with conn.cursor(row_factory=dict_row) as cur:
        groups = cur.execute(
            "SELECT duplicate_of AS id, count(*) AS copies FROM records WHERE duplicate_of IS NOT NULL"
            " GROUP BY duplicate_of ORDER BY copies DESC, duplicate_of LIMIT %s OFFSET %s",
            (per_page, (page - 1) * per_page)).fetchall()
        ids = [g["id"] for g in groups]
        originals = {row["id"]: row for row in cur.execute(
            "SELECT id, title, site, source_name, published_at FROM records WHERE id = ANY(%s)", (ids,)).fetchall()}
        members: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        for row in cur.execute(
                "SELECT id, title, site, source_name, duplicate_of, dedup_status,"
                " (record->'dedup'->>'similarity')::float AS similarity FROM ("
                "  SELECT *, row_number() OVER (PARTITION BY duplicate_of ORDER BY id) AS n"
                "  FROM records WHERE duplicate_of = ANY(%s)) c WHERE n <= 20"
                " ORDER BY similarity DESC NULLS LAST, id", (ids,)).fetchall():
            members[row["duplicate_of"]].append(row)
    return [{**g, "original": originals.get(g["id"]), "members": members[g["id"]]} for g in groups]


def top_entities(conn: psycopg.Connection, *, days: int | None, limit: int = 15) -> dict[str, list[dict[str, Any]]]:
    """The most named people, organisations and places of the period's days (records, then
    mentions), counted over originals only, from the counts per day (``entity_days``)."""
    period = "AND day >= ((now() - make_interval(days => %(days)s)) AT TIME ZONE 'UTC')::date" if days else ""
    tops: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    with conn.cursor(row_factory=dict_row) as cur:
        for row in cur.execute(
                "SELECT kind, name, records, mentions FROM ("
                " SELECT kind, name, sum(records)::int AS records, sum(mentions)::int AS mentions,"
                "  row_number() OVER (PARTITION BY kind ORDER BY sum(records) DESC, sum(mentions) DESC, name) AS n"
                f" FROM entity_days WHERE kind = ANY(%(kinds)s) {period}"
                " GROUP BY kind, name) ranked WHERE n <= %(limit)s ORDER BY kind, n",
                {"kinds": list(KINDS), "days": days, "limit": limit}).fetchall():
            tops[row["kind"]].append(row)
    return tops


def entity(conn: psycopg.Connection, kind: str, name: str, *, days: int | None,
           limit: int = 50) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mentions per day and the newest articles naming one entity."""
    period = f"AND {DAY} >= now() - make_interval(days => %(days)s)" if days else ""
    params = {"kind": kind, "name": name, "days": days, "limit": limit}
    with conn.cursor(row_factory=dict_row) as cur:
        per_day = cur.execute(
            f"SELECT {DAY}::date AS day, sum(m.count)::int AS mentions, count(*) AS records"
            " FROM mentions m JOIN records r ON r.id = m.record_id"
            f" WHERE m.kind = %(kind)s AND lower(m.name) = lower(%(name)s) {period}"
            " GROUP BY 1 ORDER BY 1", params).fetchall()
        articles = cur.execute(
            "SELECT r.id, r.title, r.site, r.source_name, r.published_at, r.received_at, r.dedup_status, m.count"
            " FROM mentions m JOIN records r ON r.id = m.record_id"
            f" WHERE m.kind = %(kind)s AND lower(m.name) = lower(%(name)s) {period}"
            f" ORDER BY {DAY} DESC LIMIT %(limit)s", params).fetchall()
    return per_day, articles


def throughput(conn: psycopg.Connection, minutes: int = 60) -> list[dict[str, Any]]:
    """Outcomes stored per minute over the last ``minutes``: records, duplicates, failures."""
    now = conn.execute("SELECT date_trunc('minute', now())").fetchone()[0]
    first = now - timedelta(minutes=minutes - 1)
    slots = {first + timedelta(minutes=i): {"records": 0, "duplicates": 0, "failures": 0} for i in range(minutes)}
    for minute, unique, duplicates in conn.execute(
            "SELECT date_trunc('minute', stored_at), count(*) FILTER (WHERE dedup_status = 'unique'),"
            " count(*) FILTER (WHERE dedup_status <> 'unique') FROM records WHERE stored_at >= %s GROUP BY 1",
            (first,)).fetchall():
        if minute in slots:
            slots[minute].update(records=unique, duplicates=duplicates)
    for minute, failed in conn.execute(
            "SELECT date_trunc('minute', failed_at), count(*) FROM failures WHERE failed_at >= %s GROUP BY 1",
            (first,)).fetchall():
        if minute in slots:
            slots[minute]["failures"] = failed
    return [{"minute": minute, **counts} for minute, counts in slots.items()]


def latest(conn: psycopg.Connection, limit: int = 10) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, title, site, source_name, dedup_status, stored_at FROM records"
            " ORDER BY stored_at DESC LIMIT %s", (limit,)).fetchall()


def failures(conn: psycopg.Connection, limit: int = 200) -> dict[str, dict[str, Any]]:
    """Failure records in the store, by id (the dead letters in Redis are the ones to retry)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT id, source_name, error_type, error_message, failed_at FROM failures"
            " ORDER BY failed_at DESC LIMIT %s", (limit,)).fetchall()
    return {row["id"]: row for row in rows}


def as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None
