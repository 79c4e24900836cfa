"""The PostgreSQL store and sink, against the session's real PostgreSQL server.

Records are the seeds through the real pipeline (full enrichment), plus a wire copy of seed 001
that the dedup stage marks as a near duplicate.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import psycopg
import pytest
import redis

from tests.conftest import DATA, SEEDS
from worker import pipeline
from worker.errors import BadInput, SinkUnavailable
from worker.models import Record
from worker.pipeline.dedupe import DedupIndex
from worker.settings import Settings
from worker.sinks import write_all
from worker.sinks.postgres import PostgresSink, health
from worker.sources.messages import read_source
from worker.store import connect, migrate, migrations
from worker.store.load import load, outcome_files
from worker.store.embedded import SYSTEM_DATA, EmbeddedPostgres, remove_store
from worker.store.queries import MARK_START, MARK_STOP, search, show, stats
from worker.store.writes import write_outcomes


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, redis_server) -> list:
    """The five seeds and a wire copy of seed 001, through the real pipeline."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    settings = Settings(enrich="full", records_dir=tmp_path_factory.mktemp("unused"))
    index = DedupIndex.from_settings(client, settings)
    result = []
    for path in [*SEEDS, DATA / "dedupe" / "001_wire_copy.txt"]:
        source, data, _ = read_source(path, path.parent, settings.max_file_bytes)
        result += pipeline.run(source, data, index, settings)
    client.flushall()
    return result


@pytest.fixture
def conn(postgres_url: str) -> psycopg.Connection:
    with connect(postgres_url) as connection:
        yield connection


def _seed_id(outcomes: list, number: int) -> str:
    return next(o.id for o in outcomes if o.source.name.startswith(f"{number:03d}_"))


def test_migrations_are_numbered_and_applied_once(conn: psycopg.Connection) -> None:
    versions = [version for version, _, _ in migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1
    assert migrate(conn) == []  # the fixture applied them; a second run changes nothing
    applied = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert applied == versions


def test_a_batch_written_twice_is_one_row_per_outcome(conn: psycopg.Connection, outcomes: list) -> None:
    assert write_outcomes(conn, outcomes) == [True] * len(outcomes)
    assert write_outcomes(conn, outcomes) == [False] * len(outcomes)
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == len(outcomes)


def test_record_columns_and_jsonb_hold_the_record(conn: psycopg.Connection, outcomes: list) -> None:
    write_outcomes(conn, outcomes)
    copy = next(o for o in outcomes if o.source.name == "001_wire_copy.txt")
    row = conn.execute("SELECT dedup_status, duplicate_of, word_count, source_name, record FROM records WHERE id = %s",
                       (copy.id,)).fetchone()
    assert row[:4] == ("near_duplicate", _seed_id(outcomes, 1), copy.word_count, "001_wire_copy.txt")
    assert Record.model_validate(row[4]) == copy


def test_a_record_replaces_an_earlier_failure_of_the_same_input(conn: psycopg.Connection, outcomes: list) -> None:
    record = outcomes[0]
    failure = pipeline.failure(record.source, BadInput("transient", "gave up after 5 retries"))
    assert failure.id == record.id
    write_outcomes(conn, [failure])
    write_outcomes(conn, [record])
    assert conn.execute("SELECT count(*) FROM failures").fetchone()[0] == 0
    assert write_outcomes(conn, [failure]) == [False]  # a late failure never shadows the record
    assert conn.execute("SELECT count(*) FROM failures").fetchone()[0] == 0


def test_entity_mentions_get_a_row_per_record_and_canonical_name(conn: psycopg.Connection, outcomes: list) -> None:
    write_outcomes(conn, outcomes)
    seed = outcomes[0]
    expected = {("person", e.name) for e in seed.entities.persons} | {("location", e.name) for e in seed.entities.locations}
    assert expected  # the seed names people and places
    stored = set(conn.execute("SELECT kind, name FROM mentions WHERE record_id = %s", (seed.id,)).fetchall())
    assert expected <= stored


def test_search_patriot_finds_seeds_000_002_003_and_not_001_004(conn: psycopg.Connection, outcomes: list) -> None:
    write_outcomes(conn, outcomes)
    found = {hit.id for hit in search(conn, "patriot")}
    assert found == {_seed_id(outcomes, n) for n in (0, 2, 3)}


def test_search_ranks_the_article_about_patriots_first_and_highlights_the_word(
        conn: psycopg.Connection, outcomes: list) -> None:
    write_outcomes(conn, outcomes)
    hits = search(conn, "patriot missiles")
    assert hits[0].id == _seed_id(outcomes, 3)  # four mentions, against one in 000 and 002
    assert f"{MARK_START}Patriot{MARK_STOP}" in hits[0].snippet


def test_search_filters_by_status_entity_and_date(conn: psycopg.Connection, outcomes: list) -> None:
    write_outcomes(conn, outcomes)
    copy = next(o for o in outcomes if o.source.name == "001_wire_copy.txt")
    word = "Reuters" if "reuters" in copy.body.lower() else copy.body.split()[10]
    assert {h.id for h in search(conn, word, status="near_duplicate")} == {copy.id}
    assert {h.id for h in search(conn, "patriot", entity="joe biden")} == {_seed_id(outcomes, 0)}
    assert search(conn, "patriot", since=date(2999, 1, 1)) == []


def test_show_finds_a_record_by_id_or_unique_prefix(conn: psycopg.Connection, outcomes: list) -> None:
    write_outcomes(conn, outcomes)
    record = outcomes[2]
    assert show(conn, record.id)["title"] == record.title
    assert show(conn, record.id[:10])["id"] == record.id
    assert show(conn, "0" * 24) is None


def test_show_gives_a_record_with_its_keys_in_the_order_of_its_file(conn: psycopg.Connection, outcomes: list) -> None:
    """JSONB orders keys its own way (`body` before `source`): `ingest show` and the web view
    give the JSON a reader knows from the record file and the README."""
    def keys(value: object) -> object:  # every dict's key order, but the stage timings' (free keys)
        if isinstance(value, dict):
            return [(k, keys(v)) for k, v in value.items() if k != "timings_ms"]
        return [keys(v) for v in value] if isinstance(value, list) else None

    write_outcomes(conn, outcomes)
    for outcome in outcomes:
        assert keys(show(conn, outcome.id)) == keys(outcome.model_dump(mode="json"))


def test_stats_count_days_duplicates_and_top_entities(conn: psycopg.Connection, outcomes: list) -> None:
    write_outcomes(conn, outcomes)
    numbers = stats(conn)
    assert numbers["records"] == 6 and numbers["duplicates"] == 1
    assert numbers["duplicate_rate"] == round(1 / 6, 4)
    assert sum(day["articles"] for day in numbers["per_day"]) == 6
    top = numbers["top_entities"][0]
    assert top["records"] >= 2  # someone named in several articles leads


def test_load_a_records_folder_is_idempotent(conn: psycopg.Connection, outcomes: list, tmp_path: Path) -> None:
    settings = Settings(records_dir=tmp_path, sinks="files", fsync=False)
    failure = pipeline.failure(outcomes[0].source.model_copy(update={"sha256": "cd" * 32}), BadInput("not_text", "binary"))
    write_all([*outcomes, failure], settings)
    (tmp_path / "broken.json").write_text("{")
    paths = outcome_files(tmp_path)
    assert load(conn, paths, batch=4) == {"new": 7, "present": 0, "unreadable": 1}
    assert load(conn, paths, batch=4) == {"new": 0, "present": 7, "unreadable": 1}
    assert conn.execute("SELECT count(*) FROM failures").fetchone()[0] == 1


def test_postgres_unreachable_raises_a_transient_error_and_writes_no_file(outcomes: list, tmp_path: Path) -> None:
    from worker.service.embedded import free_port

    url = f"postgresql://ingest:x@127.0.0.1:{free_port()}/ingest"
    settings = Settings(records_dir=tmp_path, sinks="files,postgres", postgres_url=url, postgres_wait_seconds=0.5)
    with pytest.raises(SinkUnavailable) as raised:
        write_all(outcomes[:1], settings)
    assert isinstance(raised.value, OSError)  # what the task's retry path catches
    assert "ingest:***@127.0.0.1" in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # files come last: a record file means every sink holds it
    assert health(url)["ok"] is False


def test_files_and_postgres_sinks_hold_the_same_outcomes(postgres_url: str, outcomes: list, tmp_path: Path) -> None:
    settings = Settings(records_dir=tmp_path, sinks="files,postgres", postgres_url=postgres_url, fsync=False)
    assert write_all(outcomes, settings) == [True] * len(outcomes)
    assert write_all(outcomes, settings) == [False] * len(outcomes)
    with connect(postgres_url) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM records")}
    assert ids == {p.stem for p in tmp_path.glob("*.json")}
    PostgresSink.for_settings(settings).close()


def test_the_store_requires_a_password(postgres_server) -> None:
    wrong = postgres_server.url.replace(postgres_server.password, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)
    without = postgres_server.url.replace(f":{postgres_server.password}@", "@")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(without, connect_timeout=5)


def test_record_json_in_the_store_equals_the_record_file(postgres_url: str, outcomes: list, tmp_path: Path) -> None:
    settings = Settings(records_dir=tmp_path, sinks="files,postgres", postgres_url=postgres_url, fsync=False)
    write_all(outcomes[:1], settings)
    with connect(postgres_url) as conn:
        stored = show(conn, outcomes[0].id)
    assert stored == json.loads((tmp_path / f"{outcomes[0].id}.json").read_text())
    PostgresSink.for_settings(settings).close()


def test_search_ranks_only_the_newest_scan_matches(conn: psycopg.Connection, outcomes: list) -> None:
    write_outcomes(conn, outcomes)
    # 000 has no date (received today), 003 was published 2025-07-04, 002 on 2025-06-25
    hits = search(conn, "patriot", scan=2, limit=2)
    assert {hit.id for hit in hits} == {_seed_id(outcomes, 0), _seed_id(outcomes, 3)}


def test_cli_load_then_stats_search_and_show(postgres_url: str, outcomes: list, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from worker.cli import main as cli

    write_all(outcomes, Settings(records_dir=tmp_path, sinks="files", fsync=False))
    monkeypatch.setenv("INGEST_POSTGRES_URL", postgres_url)
    runner = CliRunner()
    loaded = runner.invoke(cli, ["load", str(tmp_path)])
    assert loaded.exit_code == 0 and "6 new, 0 already stored" in loaded.output
    numbers = json.loads(runner.invoke(cli, ["stats", "--json"]).output)
    assert (numbers["records"], numbers["duplicates"]) == (6, 1)
    found = runner.invoke(cli, ["search", "patriot", "--json", "--limit", "1"]).output.splitlines()
    assert [json.loads(line)["id"] for line in found] == [_seed_id(outcomes, 3)]
    assert "**Patriot**" in json.loads(found[0])["snippet"]
    shown = runner.invoke(cli, ["show", _seed_id(outcomes, 3)])
    assert json.loads(shown.output)["source"]["name"].startswith("003_")
    unknown = runner.invoke(cli, ["show", "ffffffff"])
    assert unknown.exit_code != 0 and "no record id starts with 'ffffffff'" in unknown.output


@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0, reason="data goes outside the state folder only as root")
def test_a_removed_private_state_folder_leaves_a_store_that_starts_again(tmp_path: Path) -> None:
    """As root a private state folder (0700, as the embedded Redis makes it) cannot be reached
    by the server's account, so the data lives under /var/lib: `make clean` removes the state
    folder and its password, and the next `make run` must still open that data."""
    state = tmp_path / ".ingest"
    state.mkdir(mode=0o700)
    first = again = EmbeddedPostgres(state)
    try:
        assert first.home.parent == SYSTEM_DATA
        with connect(first.start(), wait=10) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.commit()
        first.stop()
        shutil.rmtree(state)
        state.mkdir(mode=0o700)
        again = EmbeddedPostgres(state)
        with connect(again.start(), wait=10) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        first.stop()
        again.stop()  # a running server's store is not removed
        remove_store(state)
