"""A hostile (or careless) neighbour of the running service: each test one attack found by
running it, against real worker processes and a real Redis."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import SEEDS
from tests.service import Service, wait_until
from worker.service.celery_app import create_app
from worker.service.embedded import EmbeddedRedis
from worker.sources.messages import make_message, read_source

pytestmark = pytest.mark.integration


class _SmallRedis(EmbeddedRedis):
    """The embedded Redis with a memory cap (`maxmemory`, no eviction: what production runs)."""

    def _config(self) -> str:
        return super()._config() + "maxmemory 40mb\n"


@pytest.fixture
def small_redis(tmp_path: Path):
    server = _SmallRedis(tmp_path / "redis", appendonly=False)
    server.start()
    yield server
    server.stop()


class _Pressure(threading.Thread):
    """Keeps Redis at `maxmemory`: writes junk until Redis refuses even a small write ("OOM
    command not allowed"), and again whenever it takes one (its buffers shrink after a while)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url)
        self.keys: list[str] = []
        self.full = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        size = 250_000
        while not self.stopping.is_set():
            try:
                self.client.set(key := f"junk:{len(self.keys)}", b"x" * size)
                self.keys.append(key)
            except redis.exceptions.OutOfMemoryError:
                if size == 10:
                    self.full.set()
                    time.sleep(0.05)
                size = max(10, size // 25)

    def release(self) -> None:
        self.stopping.set()
        self.join()
        self.client.delete(*self.keys)
        self.client.close()


def test_a_worker_facing_redis_out_of_memory_waits_and_processes_the_file_once_memory_is_freed(
        small_redis: EmbeddedRedis, tmp_path: Path) -> None:
    """Redis at `maxmemory` refuses the worker's taking of a message (BLMOVE) and its record of
    it (`unacked`): the worker died ("Unrecoverable error: OutOfMemoryError") and the message
    waited for some other worker; it must treat that as Redis away and carry on."""
    service = Service(small_redis.url, tmp_path / "svc")
    shutil.copy(SEEDS[0], tmp_path / "seed.txt")
    app = create_app(small_redis.url)
    pressure = _Pressure(small_redis.url)
    try:
        app.send_task("ingest.process_file", queue="ingest",
                      args=[make_message(*read_source(tmp_path / "seed.txt", tmp_path, 1 << 20)[:2])])
        pressure.start()
        assert pressure.full.wait(30)
        service.start_worker()
        service.wait_for_log("worker", "used memory > 'maxmemory'", timeout=60)
        assert service.processes["worker"].poll() is None, service.log_text("worker")[-3000:]
        pressure.release()
        service.wait_for_records(1, timeout=90)
        assert service.processes["worker"].poll() is None
    finally:
        app.close()
        if pressure.is_alive():
            pressure.release()
        service.stop_all()
