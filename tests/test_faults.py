"""Faults inflicted on real processes: every file still ends as exactly one outcome.

Each test prints the figures it checked. Enrichment is off: these tests are about delivery.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.service import Service, outcome_count, wait_until, write_articles
from worker.service.embedded import EmbeddedRedis, free_port

pytestmark = pytest.mark.integration


def _report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with capsys.disabled():
        print(f"\n    {text}")


def _assert_one_outcome_per_file(service: Service, expected: int) -> None:
    records = service.records_list()
    failures = service.failures_list()
    assert failures == []
    assert len(records) == expected
    assert len({r["source"]["sha256"] for r in records}) == expected  # none doubled, none missing


def test_kill_9_of_one_of_two_workers_mid_burst_loses_nothing(redis_url: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    files = 2000
    service = Service(redis_url, tmp_path, enrich="off", visibility_timeout="5")
    try:
        service.start_worker("worker-a", concurrency=1)
        service.start_worker("worker-b", concurrency=1)
        write_articles(service.inbox, files)
        started = time.monotonic()
        service.start_watcher()
        wait_until(lambda: outcome_count(service) >= 300, 60, "300 records before the kill")
        victim = service.processes["worker-a"]
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        at_kill = outcome_count(service)
        wait_until(lambda: outcome_count(service) >= files, 90, f"{files} outcomes after the kill")
        elapsed = time.monotonic() - started
        time.sleep(1)
        _assert_one_outcome_per_file(service, files)
        _report(capsys, f"kill -9: {files} files, worker-a killed at {at_kill} outcomes; "
                        f"{outcome_count(service)} outcomes, 0 missing, 0 doubled, in {elapsed:.1f}s")
    finally:
        service.stop_all()


def test_redis_restart_mid_burst_loses_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = 1000
    port = free_port()
    server = EmbeddedRedis(tmp_path / "redis", port=port)
    server.start()
    service = Service(server.url, tmp_path / "svc", enrich="off", visibility_timeout="5")
    try:
        service.start_worker(concurrency=2)
        service.start_watcher()
        write_articles(service.inbox, files)
        wait_until(lambda: outcome_count(service) >= 150, 60, "150 records before the restart")
        server.stop()  # graceful: AOF flushed, as `redis-cli shutdown` or a container restart
        at_restart = outcome_count(service)
        time.sleep(1.0)
        server = EmbeddedRedis(tmp_path / "redis", port=port)
        server.start()
        wait_until(lambda: outcome_count(service) >= files, 120, f"{files} outcomes after the restart")
        time.sleep(1)
        _assert_one_outcome_per_file(service, files)
        _report(capsys, f"Redis restart: {files} files, restarted at {at_restart} outcomes; "
                        f"{outcome_count(service)} outcomes, 0 missing, 0 doubled")
    finally:
        service.stop_all()
        server.stop()


def test_files_dropped_while_the_watcher_is_down_are_all_processed(
        redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = 500
    service = Service(redis_url, tmp_path, enrich="off")
    try:
        service.start_worker(concurrency=2)
        service.start_watcher()
        shutil.copy(SEEDS[0], service.inbox / "before.txt")
        service.wait_for_records(1)
        service.stop("watcher")
        write_articles(service.inbox, files)
        service.start_watcher()
        wait_until(lambda: outcome_count(service) >= files + 1, 90, f"{files + 1} outcomes")
        _assert_one_outcome_per_file(service, files + 1)
        _report(capsys, f"watcher down: {files} files dropped while stopped, all {files} processed after start")
    finally:
        service.stop_all()


def test_watcher_and_worker_wait_for_unreachable_redis_and_files_wait_in_the_inbox(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())  # not started: its URL (with the password) is known
    service = Service(server.url, tmp_path / "svc", enrich="off")
    try:
        service.start_worker(concurrency=1)
        service.start("watcher", "watch")
        shutil.copy(SEEDS[2], service.inbox / "waiting.txt")
        service.wait_for_log("watcher", "is not reachable")
        service.wait_for_log("worker", "is not reachable")
        time.sleep(1.0)
        assert (service.inbox / "waiting.txt").exists()
        assert service.records_list() == []
        server.start()
        records = service.wait_for_records(1, timeout=60)
        assert records[0]["source"]["name"] == "waiting.txt"
        _report(capsys, "Redis down at start: watcher and worker logged and waited; the file was processed once Redis came up")
    finally:
        service.stop_all()
        server.stop()
