"""Shared fixtures: a real Redis server (the embedded one), seeds, and settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import settings

from worker.service.embedded import EmbeddedRedis
from worker.store.embedded import SYSTEM_DATA, EmbeddedPostgres, remove_store, system_home

# The suite's service tests are about the pipeline and delivery: their records go to files.
# Tests of the store, the stream and `ingest run`'s defaults set INGEST_SINKS themselves.
os.environ.setdefault("INGEST_SINKS", "files")

# Property tests draw the same examples on every run (`make test`, CI): a red build then means
# a change broke something, not that a new random draw found an old bug. To hunt for new
# failures, run them with `HYPOTHESIS_PROFILE=explore` (a new random draw each run), and pin
# what they find with `@example`.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session", autouse=True)
def no_store_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fails the run if a test left the data of a store it started in one of its tmp folders
    under SYSTEM_DATA (as root, where it outlives the folder: see `tmp_path_store_removed`),
    and deletes it. Torn down last, after the session's own store."""
    yield
    if not SYSTEM_DATA.is_dir():
        return
    kept = set(os.listdir(SYSTEM_DATA))
    base = tmp_path_factory.getbasetemp()
    folders = [base, *base.glob("*"), *base.glob("*/*"), *base.glob("*/*/*")]
    left = [folder for folder in folders if folder.is_dir() and not folder.is_symlink() and system_home(folder).name in kept]
    for folder in left:
        remove_store(folder)
    assert not left, f"tests left their stores' data under {SYSTEM_DATA} (now deleted): {left}"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedRedis:
    """One real redis-server for the session; tests isolate themselves with `redis_db`."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis-state"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    """A URL to an emptied database of the session's Redis."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedPostgres:
    """One real PostgreSQL server for the session, stopped and its data deleted even when tests
    fail (as root the data lives outside the tmp folder, under /var/lib/ingest-postgres)."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres-state"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        remove_store(server.state_dir)


@pytest.fixture
def tmp_path_store_removed(tmp_path: Path) -> Iterator[None]:
    """For a test that starts `ingest run` in ``tmp_path`` (a user's project folder): the store
    it starts goes after the test, since as root its data lives outside the folder, under
    /var/lib/ingest-postgres. The test stops `ingest run` itself: a running store is refused."""
    yield
    remove_store(tmp_path / ".ingest")


@pytest.fixture
def postgres_url(postgres_server: EmbeddedPostgres) -> str:
    """A URL to the session's PostgreSQL, its schema migrated and its tables emptied."""
    from worker.store import connect, empty, migrate

    with connect(postgres_server.url) as conn:
        migrate(conn)
        empty(conn)
    return postgres_server.url


@pytest.fixture
def redis_client(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def seed_bytes() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in SEEDS}
