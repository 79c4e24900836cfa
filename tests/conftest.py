"""Shared fixtures: a real Redis server (the embedded one), seeds, and settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from worker.embedded import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
DATA = Path(__file__).resolve().parent / "data"


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


@pytest.fixture
def redis_client(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def seed_bytes() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in SEEDS}
