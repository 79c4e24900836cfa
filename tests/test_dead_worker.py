"""A worker killed outright (kill -9 of its main process, a container killed): what it held comes
back within its lease (``broker.LEASE_SECONDS``) and a sweep, not after the visibility timeout.

Every test runs at the production visibility timeout (600 s): a message back sooner came back
by its owner's expired lease. Enrichment is off: these tests are about delivery.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis

from tests.conftest import ROOT, SEEDS
from tests.service import Service, outcome_count, wait_until, wait_while_progressing, write_articles
from worker.service.broker import LEASE_SECONDS, ORPHANS_PER_SWEEP

pytestmark = pytest.mark.integration

SWEEP_SECONDS = LEASE_SECONDS // 3  # ``unacked_restore_interval`` at the production visibility timeout


def _report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with capsys.disabled():
        print(f"\n    {text}")


def _held_by(client: redis.Redis, pid: int) -> list[str]:
    """Delivery tags owned by the worker whose main process is ``pid``."""
    prefix = f"{socket.gethostname()}:{pid}:".encode()
    return [tag.decode() for tag, owner in client.hgetall("unacked_owner").items() if owner.startswith(prefix)]


# A worker reserves this many messages ahead: killed holding 3 or more, at least two of them were
# not even started (it runs one at a time), and only their redelivery can finish the burst.
PREFETCH = "4"


def _kill_holding_messages(client: redis.Redis, process: subprocess.Popen[bytes]) -> int:
    """kill -9 of a worker's whole process group while it holds 3 messages or more; returns how
    many. The group is frozen first (SIGSTOP): what it holds cannot change between look and kill."""
    deadline = time.monotonic() + 30
    while True:
        os.killpg(process.pid, signal.SIGSTOP)
        held = len(_held_by(client, process.pid))
        if held >= 3:
            break
        os.killpg(process.pid, signal.SIGCONT)
        assert time.monotonic() < deadline, "the worker never held a message"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return held


def _assert_nothing_held(client: redis.Redis) -> None:
    """Every message acknowledged, and every ownership entry gone with it (none leaks)."""
    assert client.hlen("unacked") == 0
    assert client.zcard("unacked_index") == 0
    assert client.hlen("unacked_owner") == 0
    assert [key for key in client.keys("unacked_owned:*") if client.scard(key)] == []


def test_kill_9_of_one_of_two_workers_mid_burst_its_messages_come_back_in_seconds_not_the_visibility_timeout(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = 600
    service = Service(redis_url, tmp_path, enrich="off", prefetch=PREFETCH)  # visibility timeout: 600 s
    try:
        service.start_worker("worker-a", concurrency=1)
        service.start_worker("worker-b", concurrency=1)
        write_articles(service.inbox, files)
        service.start_watcher()
        wait_until(lambda: outcome_count(service) >= 150, 90, "150 records before the kill")
        held = _kill_holding_messages(redis_client, service.processes["worker-a"])
        killed_at, at_kill = time.monotonic(), outcome_count(service)
        # The survivor drains the queue; the dead worker's messages must come back within its
        # lease and a sweep, or the count stalls (for 600 s without leases).
        wait_while_progressing(lambda: outcome_count(service), files, LEASE_SECONDS + 2 * SWEEP_SECONDS + 10,
                               "outcomes after the kill")
        elapsed = time.monotonic() - killed_at
        time.sleep(1)
        records = service.records_list()
        assert service.failures_list() == []
        assert len(records) == files == len({r["source"]["sha256"] for r in records})
        _assert_nothing_held(redis_client)
        _report(capsys, f"kill -9 of worker-a holding {held} message(s) at {at_kill} outcomes: all {files} files "
                        f"one outcome each {elapsed:.1f}s after the kill (visibility timeout 600 s)")
    finally:
        service.stop_all()


def test_a_new_worker_started_alone_takes_back_the_killed_workers_messages_within_the_lease(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = 40
    service = Service(redis_url, tmp_path, enrich="off", prefetch=PREFETCH)  # visibility timeout: 600 s
    try:
        service.start_worker("dead", concurrency=1)
        write_articles(service.inbox, files)
        service.start_watcher()
        wait_until(lambda: outcome_count(service) >= 5, 90, "5 records before the kill")
        dead_pid = service.processes["dead"].pid
        held = _kill_holding_messages(redis_client, service.processes["dead"])
        killed_at = time.monotonic()
        service.start_worker("new", concurrency=1)
        service.wait_for_log("new", "ready.", 120)  # its start-up (up to 30 s in CI) is no part of the wait
        wait_until(lambda: outcome_count(service) == files, LEASE_SECONDS + 2 * SWEEP_SECONDS + 30,
                   "every file, the dead worker's included:\n" + service.log_text("new")[-3000:])
        elapsed = time.monotonic() - killed_at
        assert f"no longer alive (lease expired): {socket.gethostname()}:{dead_pid}:" in service.log_text("new")
        time.sleep(1)
        assert len({r["source"]["sha256"] for r in service.records_list()}) == files == outcome_count(service)
        _assert_nothing_held(redis_client)
        _report(capsys, f"a worker killed holding {held} message(s), a new one started alone: all {files} files "
                        f"{elapsed:.1f}s after the kill (lease {LEASE_SECONDS} s, visibility timeout 600 s)")
    finally:
        service.stop_all()


def _attempts_begun(client: redis.Redis) -> list[int]:
    return [int(client.get(key) or 0) for key in client.keys("ingest:attempts:*")]


def test_a_live_worker_whose_task_is_stalled_past_the_lease_keeps_its_message(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The lease is the worker's (its main process), not its task's: a task as slow as it may
    be (its pool process stopped here, far longer than the lease) is not given to another worker."""
    service = Service(redis_url, tmp_path, enrich="off")  # visibility timeout: 600 s
    try:
        service.start_worker("slow", concurrency=1)
        service.start_watcher()
        shutil.copy(SEEDS[0], service.inbox / "slow.txt")
        wait_until(lambda: _attempts_begun(redis_client) == [1], 60, "the task to begin")
        [pool_process] = [p for p in psutil.Process(service.processes["slow"].pid).children()
                          if p.status() != psutil.STATUS_ZOMBIE]
        pool_process.suspend()
        service.start_worker("other", concurrency=1)
        service.wait_for_log("other", "ready.", 120)
        time.sleep(LEASE_SECONDS + 2 * SWEEP_SECONDS)  # the lease would have lapsed twice over
        assert _attempts_begun(redis_client) == [1]  # not delivered again
        assert len(_held_by(redis_client, service.processes["slow"].pid)) == 1
        assert redis_client.llen("ingest") == 0 and service.records_list() == []
        pool_process.resume()
        [record] = service.wait_for_records(1, timeout=60)
        time.sleep(SWEEP_SECONDS + 1)
        assert record["source"]["name"] == "slow.txt" and outcome_count(service) == 1
        assert "no longer alive" not in service.log_text("other")
        _assert_nothing_held(redis_client)
        _report(capsys, f"a task stalled {LEASE_SECONDS + 2 * SWEEP_SECONDS} s in a live worker: kept by it, "
                        "processed once")
    finally:
        service.stop_all()


def test_a_worker_paused_past_its_lease_loses_its_message_to_another_and_the_file_still_ends_as_one_record(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGSTOP of the whole worker (``docker pause``, a host frozen): it can no longer say it is
    alive, so its message goes to another worker; resumed, it finishes the file too. Twice
    processed, never lost: the record is the same (its id comes from the content)."""
    service = Service(redis_url, tmp_path, enrich="off")  # visibility timeout: 600 s
    try:
        service.start_worker("paused", concurrency=1)
        service.start_watcher()
        shutil.copy(SEEDS[0], service.inbox / "paused.txt")
        wait_until(lambda: _attempts_begun(redis_client) == [1], 60, "the task to begin")
        paused = service.processes["paused"]
        os.killpg(paused.pid, signal.SIGSTOP)
        assert len(_held_by(redis_client, paused.pid)) == 1 and service.records_list() == []
        stopped_at = time.monotonic()
        service.start_worker("other", concurrency=1)
        service.wait_for_log("other", "ready.", 120)  # its start-up is no part of the wait
        [record] = service.wait_for_records(1, timeout=LEASE_SECONDS + 2 * SWEEP_SECONDS + 30)
        taken_over = time.monotonic() - stopped_at
        assert _held_by(redis_client, paused.pid) == []
        os.killpg(paused.pid, signal.SIGCONT)
        service.wait_for_log("paused", "this worker's lease had expired", 30)
        wait_until(lambda: _attempts_begun(redis_client) == [], 30, "the paused worker to finish its task")
        time.sleep(1)
        assert [r["id"] for r in service.records_list()] == [record["id"]] and service.failures_list() == []
        _assert_nothing_held(redis_client)
        _report(capsys, f"a worker paused mid-task: its file processed by another {taken_over:.1f}s later, "
                        "then by itself once resumed; one record")
    finally:
        service.stop_all()


# Takes every message of the queue, as a worker's prefetch and waiting retries do, and is
# killed holding them all.
_TAKE_ALL_AND_DIE = """
import os, signal
from worker.service.celery_app import create_app
channel = create_app().connection_for_read().default_channel
while channel.basic_get("ingest", no_ack=False) is not None:
    pass
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_sweep_gives_back_a_bounded_number_of_a_dead_workers_messages_each_once(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    messages = 2 * ORPHANS_PER_SWEEP + 50
    service = Service(redis_url, tmp_path, enrich="off")
    from worker.service.celery_app import create_app

    channel = create_app(redis_url).connection_for_read().default_channel
    for number in range(messages):
        channel.basic_publish(channel.prepare_message(f"message {number}"), exchange="", routing_key="ingest")
    taker = subprocess.run([sys.executable, "-c", _TAKE_ALL_AND_DIE], cwd=ROOT, env=service.env,
                           capture_output=True, text=True, timeout=120)
    assert taker.returncode == -signal.SIGKILL, taker.stderr
    assert redis_client.llen("ingest") == 0 and redis_client.hlen("unacked_owner") == messages
    assert channel.qos.restore_orphans(redis_client) == 0  # its lease still runs
    wait_until(lambda: not redis_client.keys("unacked_lease:*"), LEASE_SECONDS + 5, "the dead one's lease to expire")
    given_back = [channel.qos.restore_orphans(redis_client) for _ in range(4)]
    assert given_back == [ORPHANS_PER_SWEEP, ORPHANS_PER_SWEEP, 50, 0]
    bodies = [channel.basic_get("ingest", no_ack=True).body for _ in range(messages)]
    assert sorted(bodies) == sorted(f"message {number}".encode() for number in range(messages))  # each once
    assert redis_client.llen("ingest") == 0
    _assert_nothing_held(redis_client)
    assert redis_client.smembers("unacked_owners") == set()  # the dead owner forgotten
    channel.connection.client.release()


def test_status_tells_the_messages_held_by_a_worker_no_longer_alive(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path, enrich="off")
    from worker.service.celery_app import create_app

    def status() -> str:
        result = subprocess.run([sys.executable, "-m", "worker.cli", "status"], cwd=ROOT, env=service.env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    channel = create_app(redis_url).connection_for_read().default_channel
    for number in range(3):
        channel.basic_publish(channel.prepare_message(f"message {number}"), exchange="", routing_key="ingest")
    channel.connection.client.release()
    taker = subprocess.run([sys.executable, "-c", _TAKE_ALL_AND_DIE], cwd=ROOT, env=service.env,
                           capture_output=True, text=True, timeout=120)
    assert taker.returncode == -signal.SIGKILL, taker.stderr
    assert "held        3 message(s) taken by workers, not yet acknowledged\n" in status()  # its lease still runs
    wait_until(lambda: not redis_client.keys("unacked_lease:*"), LEASE_SECONDS + 5, "the dead one's lease to expire")
    assert ("held        3 message(s) taken by workers, not yet acknowledged; 3 of them held by 1 worker(s) "
            "no longer alive, given back by the next sweep of a live worker\n") in status()
