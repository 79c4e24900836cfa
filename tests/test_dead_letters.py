"""Bad input becomes a failure record and a dead letter; the service keeps going."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, SEEDS
from tests.service import Service, wait_until

pytestmark = pytest.mark.integration

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64


@pytest.fixture
def service(redis_url: str, tmp_path: Path):
    svc = Service(redis_url, tmp_path)
    svc.start_worker()
    svc.start_watcher()
    yield svc
    svc.stop_all()


def _cli(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], cwd=ROOT, env=service.env,
                          capture_output=True, text=True, timeout=60)


def test_binary_file_becomes_a_failure_record_and_the_next_file_still_a_record(
        service: Service, redis_client: redis.Redis) -> None:
    (service.inbox / "image.txt").write_bytes(PNG)
    shutil.copy(SEEDS[0], service.inbox / "after.txt")
    service.wait_for_records(1)
    wait_until(lambda: len(service.failures_list()) == 1, 30, "one failure record")
    failure = service.failures_list()[0]
    assert failure["source"]["name"] == "image.txt"
    assert failure["error"]["type"] == "not_text"
    assert redis_client.hlen("ingest:dead") == 1


def test_failed_list_shows_the_dead_letter_and_retry_queues_it_again(
        service: Service, redis_client: redis.Redis) -> None:
    (service.inbox / "empty.txt").write_bytes(b"")
    wait_until(lambda: redis_client.hlen("ingest:dead") == 1, 30, "a dead letter")
    listed = _cli(service, "failed", "list")
    assert "empty.txt" in listed.stdout and "empty:" in listed.stdout
    retried = _cli(service, "failed", "retry")
    assert "1 dead letter(s) queued again" in retried.stdout
    wait_until(lambda: redis_client.hlen("ingest:dead") == 1 and redis_client.hget("ingest:stats", "failed") == b"2",
               30, "the retried input to fail again")


def test_status_reports_queue_and_counters(service: Service) -> None:
    shutil.copy(SEEDS[1], service.inbox / "one.txt")
    service.wait_for_records(1)
    result = _cli(service, "status")
    assert result.returncode == 0
    assert "records     1" in result.stdout
