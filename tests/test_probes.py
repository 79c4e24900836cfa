"""Health probes answer at once: one attempt at Redis, never the service's retries.

A Redis that accepts and drops every connection stands for a dead or restarting one: each
attempt to reach it is one accepted connection, counted here (no timing).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT
from tests.service import Service, wait_until
from worker.service.embedded import free_port
from worker.service.redis_client import PROBE_NAME, connect, probe
from worker.settings import Settings
from worker.sources.watcher import Watcher


class DroppingServer:
    """Listens on a free loopback port, accepts every connection and closes it at once."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1  # counted before the close the client sees
            conn.close()

    def attempts(self, call) -> int:  # noqa: ANN001 (any call that reaches Redis)
        """Connections ``call`` made, after it raised the Redis error a dropped connection gives."""
        self.accepted = 0
        with pytest.raises(redis.ConnectionError):
            call()
        return self.accepted

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def dropping() -> Iterator[DroppingServer]:
    server = DroppingServer()
    yield server
    server.close()


def test_a_probe_of_a_redis_that_drops_connections_tries_once(dropping: DroppingServer) -> None:
    assert dropping.attempts(probe(connect(dropping.url)).ping) == 1


def test_the_services_own_client_still_retries_a_dropped_connection(dropping: DroppingServer) -> None:
    assert dropping.attempts(connect(dropping.url).ping) > 1


def test_the_watchers_health_tries_redis_once(dropping: DroppingServer, tmp_path: Path) -> None:
    settings = Settings(inbox=tmp_path / "inbox", records_dir=tmp_path / "records")
    watcher = Watcher(settings, connect(dropping.url), lambda message: None)
    assert dropping.attempts(watcher.health) == 1


@pytest.mark.integration
def test_status_of_a_redis_that_drops_connections_says_it_is_unavailable_after_one_attempt(
        dropping: DroppingServer, tmp_path: Path) -> None:
    env = {**os.environ, "INGEST_REDIS_URL": dropping.url, "INGEST_STATE_DIR": str(tmp_path / "state")}
    dropping.accepted = 0
    shown = subprocess.run([sys.executable, "-m", "worker.cli", "status"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 1
    assert f"Redis at {dropping.url} is unavailable: " in shown.stderr
    assert dropping.accepted == 1


@pytest.mark.integration
def test_the_workers_health_reads_redis_through_a_probe(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    service = Service(redis_url, tmp_path, worker_metrics_port=str(port))
    client = redis.Redis.from_url(redis_url)
    try:
        service.start_worker(concurrency=1)
        wait_until(lambda: _health(port) == 200, 60, lambda: "the worker's /healthz:\n" + service.log_text("worker"))
        names = [entry["name"] for entry in client.client_list()]
    finally:
        service.stop_all()
        client.close()
    assert PROBE_NAME in names


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0
