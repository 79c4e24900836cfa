"""Search over the store: ranking, the window of newest records, filters together, snippets, and
the upgrade of a store written before search had its own lead vectors.

Records are the seeds through the real pipeline (full enrichment), and dated copies of them under
new ids where a test needs a store larger than search's first window.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta, timezone

import psycopg
import pytest
import redis

from tests.conftest import DATA, SEEDS
from worker import pipeline
from worker.models import Record
from worker.pipeline.dedupe import DedupIndex
from worker.settings import Settings
from worker.sources.messages import read_source
from worker.store import connect, migrate, migrations
from worker.store.queries import MARK_START, MARK_STOP, WINDOW, search
from worker.store.writes import mention_rows, write_outcomes
from worker.web.queries import KINDS, Filters, records, top_entities


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory, redis_server) -> dict[str, Record]:
    """The records of the five seeds and of a wire copy of seed 001, by file name prefix."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    settings = Settings(enrich="full", records_dir=tmp_path_factory.mktemp("unused"))
    index = DedupIndex.from_settings(client, settings)
    found = {}
    for path in [*SEEDS, DATA / "dedupe" / "001_wire_copy.txt"]:
        source, data, _ = read_source(path, path.parent, settings.max_file_bytes)
        for outcome in pipeline.run(source, data, index, settings):
            found[path.name[:3] if path.parent.name == "seeds" else "wire"] = outcome
    client.flushall()
    return found


@pytest.fixture
def conn(postgres_url: str) -> psycopg.Connection:
    with connect(postgres_url, autocommit=True) as connection:
        yield connection


def dated(record: Record, number: int, day: datetime) -> Record:
    """``record`` under a new id, published on ``day`` (a different article for the store)."""
    return record.model_copy(update={"id": f"{number:024x}", "published_at": day,
                                     "source": record.source.model_copy(update={"name": f"copy-{number}.txt"})})


DAY0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_the_best_match_comes_first_though_it_is_the_oldest(conn: psycopg.Connection, seeds: dict) -> None:
    # Seed 003 names Patriot missiles in its title and lead; 000 and 002 once each, deep in the body.
    copies = [dated(seeds[n], i, DAY0 + timedelta(days=1 + i)) for i, n in enumerate(["000", "002"] * 20)]
    best = dated(seeds["003"], 99, DAY0)
    write_outcomes(conn, [best, *copies])
    hits = search(conn, "patriot missiles", scan=50)
    assert len(hits) == 20 and hits[0].id == best.id
    for a, b in zip(hits, hits[1:]):  # best first; among equals, the newer (ids count days here)
        assert a.rank > b.rank or (a.rank == b.rank and a.id > b.id)


def test_search_reaches_an_old_rare_match_beyond_the_window_of_newest_records(conn: psycopg.Connection, seeds: dict) -> None:
    scan = 5
    newer = [dated(seeds[n], i, DAY0 + timedelta(days=1 + i)) for i, n in enumerate(["001", "004"] * (scan * WINDOW))]
    old = dated(seeds["003"], 999, DAY0)  # the only one naming Patriot, older than the first window
    write_outcomes(conn, [old, *newer])
    assert [h.id for h in search(conn, "patriot", scan=scan)] == [old.id]


def test_search_ranks_only_the_newest_scan_matches_of_a_large_store(conn: psycopg.Connection, seeds: dict) -> None:
    scan = 4
    matching = [dated(seeds["002"], i, DAY0 + timedelta(days=i)) for i in range(scan * WINDOW * 2)]
    write_outcomes(conn, matching)
    hits = search(conn, "patriot", scan=scan, limit=scan)
    assert {h.id for h in hits} == {r.id for r in matching[-scan:]}


def test_ingest_search_ranks_as_many_newest_matches_as_INGEST_SEARCH_SCAN_says(
        postgres_url: str, seeds: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from worker.cli import main as cli

    best = dated(seeds["003"], 99, DAY0)  # the best match, older than 25 weaker ones
    with connect(postgres_url, autocommit=True) as conn:
        write_outcomes(conn, [best, *(dated(seeds["002"], i, DAY0 + timedelta(days=1 + i)) for i in range(25))])
    monkeypatch.setenv("INGEST_POSTGRES_URL", postgres_url)

    def first() -> str:
        output = CliRunner().invoke(cli, ["search", "patriot", "--json", "--limit", "1"]).output
        return json.loads(output.splitlines()[0])["id"]

    assert first() == best.id  # among the newest 500 (the default)
    monkeypatch.setenv("INGEST_SEARCH_SCAN", "20")
    assert first() != best.id  # beyond the newest 20


def test_a_snippet_marks_a_word_found_deep_in_a_long_body(conn: psycopg.Connection, seeds: dict) -> None:
    record = seeds["000"]  # "Patriot" first at about character 1,460 of 2,700
    long = record.model_copy(update={"body": record.body + "\n" + "\n".join([seeds["004"].body] * 20)})
    write_outcomes(conn, [long])
    (hit,) = search(conn, "patriot")
    assert f"{MARK_START}Patriot{MARK_STOP}" in hit.snippet and len(hit.snippet) < 600


def test_passages_hold_each_words_first_occurrence_and_fall_back_to_the_start(conn: psycopg.Connection) -> None:
    body = "Opening words. " + "filler " * 200 + "The policy changed. " + "filler " * 200 + "Missiles flew."

    def passages(query: str) -> str:
        return conn.execute("SELECT search_passages(%s, websearch_to_tsquery('english', %s), 40)",
                            (body, query)).fetchone()[0]

    text = passages("policies missile")  # stems "polici" (not a prefix of "policy") and "missil"
    assert "policy changed" in text and "Missiles flew" in text and "Opening" not in text
    assert "Missiles" not in passages("policy -missiles")  # an excluded word is not looked for
    assert passages("absent").startswith("Opening words.")


def test_records_page_combines_search_status_source_and_dates(conn: psycopg.Connection, seeds: dict) -> None:
    write_outcomes(conn, list(seeds.values()))
    site = "example-site"
    conn.execute("UPDATE records SET site = %s WHERE id IN (%s, %s)", (site, seeds["003"].id, seeds["002"].id))
    both = Filters(q="patriot", source=site)
    assert {r["id"] for r in records(conn, both).rows} == {seeds["003"].id, seeds["002"].id}
    after = Filters(q="patriot", source=site, since=date(2025, 7, 1), status="unique")
    assert [r["id"] for r in records(conn, after).rows] == [seeds["003"].id]  # 002 is of 2025-06-25
    copies = Filters(q=seeds["wire"].body.split()[10], status="duplicate")
    assert [r["id"] for r in records(conn, copies).rows] == [seeds["wire"].id]
    assert records(conn, Filters(q="patriot", entity="joe biden")).rows[0]["id"] == seeds["000"].id


def test_records_page_counts_the_ranked_matches_and_pages_past_the_last(conn: psycopg.Connection, seeds: dict) -> None:
    write_outcomes(conn, list(seeds.values()))
    first = records(conn, Filters(q="patriot", per_page=2))
    assert (len(first.rows), first.total, first.capped, first.pages) == (2, 3, False, 2)
    beyond = records(conn, Filters(q="patriot", per_page=2, page=3))
    assert (beyond.rows, beyond.total) == ([], 3)


COUNT_OVER_MENTIONS = """
    SELECT m.kind, m.name, count(*), sum(m.count) FROM mentions m
    JOIN records r ON r.id = m.record_id AND r.dedup_status = 'unique'
    WHERE m.kind = ANY(%s) AND coalesce(r.published_at, r.received_at) >= now() - make_interval(days => %s)
    GROUP BY 1, 2"""


def _tops_over_mentions(conn: psycopg.Connection, days: int = 100_000) -> dict:
    """The top lists' numbers counted the long way: every mention of an original of the period."""
    rows = conn.execute(COUNT_OVER_MENTIONS, (list(KINDS), days))
    return {(kind, name): (n, int(total)) for kind, name, n, total in rows}


def _tops(conn: psycopg.Connection, days: int | None = None) -> dict:
    lists = top_entities(conn, days=days, limit=1000)
    return {(row["kind"], row["name"]): (row["records"], row["mentions"]) for rows in lists.values() for row in rows}


def test_the_top_entities_from_counts_per_day_equal_a_count_over_every_mention(
        conn: psycopg.Connection, seeds: dict) -> None:
    later = dated(seeds["000"], 5, DAY0 + timedelta(days=3))  # the same names on another day
    write_outcomes(conn, [*seeds.values(), later])
    write_outcomes(conn, [*seeds.values(), later])  # written again: counted once
    expected = _tops_over_mentions(conn)
    assert _tops(conn) == expected and expected[("person", "Joe Biden")][0] == 2
    recent = _tops_over_mentions(conn, days=30)  # seed 000 has no date: received today
    assert _tops(conn, days=30) == recent and 0 < len(recent) < len(expected)


def test_a_store_written_before_search_leads_upgrades_in_place(postgres_server, seeds: dict,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"upgrade_{secrets.token_hex(4)}"
    admin = postgres_server.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f"CREATE DATABASE {name}")
    try:
        url = postgres_server.url.rsplit("/", 1)[0] + "/" + name
        with connect(url) as conn:
            earlier = [m for m in migrations() if m[0] < 60]
            monkeypatch.setattr("worker.store.migrations", lambda: earlier)
            migrate(conn)
            for r in seeds.values():  # as the sink wrote them then: records and mentions
                conn.execute(
                    "INSERT INTO records (id, source_name, source_path, source_sha256, title, published_at,"
                    " received_at, dedup_status, duplicate_of, word_count, record)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                    (r.id, r.source.name, r.source.path, r.source.sha256, r.title, r.published_at,
                     r.source.received_at, r.dedup.status, r.dedup.duplicate_of, r.word_count,
                     r.model_dump_json()))
                for row in mention_rows(r.id, r.entities):
                    conn.execute("INSERT INTO mentions (record_id, kind, name, count) VALUES (%s, %s, %s, %s)", row)
            conn.commit()
            monkeypatch.undo()
            assert migrate(conn) == [60, 61]
            conn.commit()
            assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == len(seeds)
            assert _tops(conn) == _tops_over_mentions(conn) != {}
            hits = search(conn, "patriot missiles")
            assert hits[0].id == seeds["003"].id and {h.id for h in hits} == {seeds[n].id for n in ("000", "002", "003")}
            write_outcomes(conn, [dated(seeds["003"], 7, DAY0)])  # and the sink writes to the new schema
            conn.commit()
            assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == len(seeds) + 1
    finally:
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f"DROP DATABASE {name} WITH (FORCE)")
