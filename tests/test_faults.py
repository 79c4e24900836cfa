"""Faults inflicted on real processes: every file still ends as exactly one outcome.

Each test prints the figures it checked. Enrichment is off: these tests are about delivery.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis

from tests.conftest import ROOT, SEEDS
from tests.service import Service, jsonl_from_seeds, outcome_count, wait_until, wait_while_progressing, write_articles
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
        wait_while_progressing(lambda: outcome_count(service), files, 60, "outcomes after the kill")
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
    # The production visibility timeout (600 s): messages the worker held when the connection
    # broke must come back as it reconnects, not ten minutes later.
    service = Service(server.url, tmp_path / "svc", enrich="off")
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
        wait_while_progressing(lambda: outcome_count(service), files, 60, "outcomes after the restart")
        time.sleep(1)
        _assert_one_outcome_per_file(service, files)
        _report(capsys, f"Redis restart: {files} files, restarted at {at_restart} outcomes; "
                        f"{outcome_count(service)} outcomes, 0 missing, 0 doubled")
    finally:
        service.stop_all()
        server.stop()


def test_a_message_taken_by_a_worker_that_lost_its_connection_is_given_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The in-flight loss of a Redis restart, set up by hand: a message moved out of the queue
    by a take whose worker never recorded it (its reply lost as Redis shut down) is not lost."""
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    service = Service(server.url, tmp_path / "svc", enrich="off")  # production visibility timeout
    try:
        client = redis.Redis.from_url(server.url)
        service.start_watcher()
        shutil.copy(SEEDS[0], service.inbox / "taken.txt")
        wait_until(lambda: client.llen("ingest") == 1, 30, "the file's message in the queue")
        client.lmove("ingest", "ingest:taking", "RIGHT", "LEFT")  # taken, then the taker was gone
        service.start_worker(concurrency=1)
        service.wait_for_log("worker", "ready.", 120)  # its start-up is no part of the wait
        started = time.monotonic()
        records = service.wait_for_records(1, timeout=60)
        assert [r["source"]["path"] for r in records] == ["taken.txt"]
        assert client.llen("ingest:taking") == 0
        _report(capsys, f"stranded take: given back and processed {time.monotonic() - started:.1f}s after a worker was ready")
    finally:
        service.stop_all()
        server.stop()


# A worker that takes the file's message and the redelivery sweep's lock, then is killed:
# what kill -9 does to a worker caught in its sweep (kombu's ``restore_visible``, every second).
_DIE_HOLDING_THE_SWEEP_LOCK = """
import os, signal
from worker.service.celery_app import create_app
channel = create_app().connection_for_read().default_channel
assert channel.basic_get("ingest", no_ack=False) is not None  # unacknowledged, as a worker holds it
lock = channel.client.lock(channel.qos.unacked_mutex_key, timeout=channel.unacked_mutex_expire)
assert lock.acquire(blocking=False)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_worker_killed_holding_the_redelivery_sweeps_lock_delays_no_redelivery(
        redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """kombu's sweep lock outlived its killed holder by 5 minutes, and every message of the dead
    worker waited for it (a burst of 2,000 files stalled at 1,996 in CI): redelivery takes the
    visibility timeout and a few seconds, whoever died holding what."""
    service = Service(redis_url, tmp_path, enrich="off", visibility_timeout="5")
    client = redis.Redis.from_url(redis_url)
    try:
        service.start_watcher()
        shutil.copy(SEEDS[0], service.inbox / "held.txt")
        wait_until(lambda: client.llen("ingest") == 1, 30, "the file's message in the queue")
        victim = subprocess.run([sys.executable, "-c", _DIE_HOLDING_THE_SWEEP_LOCK], cwd=ROOT, env=service.env,
                                capture_output=True, text=True, timeout=60)
        assert victim.returncode == -signal.SIGKILL, victim.stderr
        assert client.llen("ingest") == 0 and client.hlen("unacked") == 1
        service.start_worker("survivor", concurrency=1)
        service.wait_for_log("survivor", "ready.", 120)  # its start-up is no part of the wait
        started = time.monotonic()
        wait_until(lambda: outcome_count(service) == 1, 30, "the dead worker's file redelivered")
        assert [r["source"]["path"] for r in service.records_list()] == ["held.txt"]
        _report(capsys, f"killed holding the sweep lock: its message redelivered {time.monotonic() - started:.1f}s "
                        f"after the survivor was ready (visibility timeout 5 s)")
    finally:
        service.stop_all()


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
        wait_while_progressing(lambda: outcome_count(service), files + 1, 60, "outcomes")
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


def _attempts_begun(client: redis.Redis) -> list[int]:
    return [int(client.get(key) or 0) for key in client.keys("ingest:attempts:*")]


def test_a_watcher_waiting_for_unreachable_redis_stops_on_sigterm(tmp_path: Path) -> None:
    service = Service(f"redis://127.0.0.1:{free_port()}/0", tmp_path)  # nothing listens there
    watcher = service.start("watcher", "watch")
    try:
        service.wait_for_log("watcher", "is not reachable")
        watcher.send_signal(signal.SIGTERM)  # what systemd and docker stop send
        assert watcher.wait(30) == 0
    finally:
        service.stop_all()


def test_a_file_whose_worker_process_is_killed_each_time_ends_as_one_poison_failure_record(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Full enrichment makes 60 articles take seconds: long enough to be killed in the middle,
    # by SIGKILL from outside as the kernel's OOM killer does; nothing in the service is faked.
    service = Service(redis_url, tmp_path, enrich="full", max_attempts="2")
    try:
        service.start_worker(concurrency=1)
        service.start_watcher()
        (service.inbox / "heavy.jsonl").write_bytes(jsonl_from_seeds(60))
        worker = psutil.Process(service.processes["worker"].pid)
        for attempt in (1, 2):
            wait_until(lambda: _attempts_begun(redis_client) == [attempt], 120, f"delivery {attempt} to begin")
            [pool_process] = [p for p in worker.children() if p.status() != psutil.STATUS_ZOMBIE]
            pool_process.kill()
        wait_until(lambda: len(service.failures_list()) == 1, 120, lambda: "the poison failure record:\n"
                   + service.log_text("worker")[-3000:])
        [failure] = service.failures_list()
        assert failure["error"]["type"] == "poison"
        assert failure["error"]["message"].startswith("the worker process died 2 times while processing this file")
        assert service.records_list() == []
        assert _attempts_begun(redis_client) == []
        shutil.copy(SEEDS[0], service.inbox / "next.txt")
        [record] = service.wait_for_records(1, timeout=120)
        assert record["source"]["name"] == "next.txt"
        _report(capsys, "poison: worker process killed on 2 deliveries -> 1 poison failure record; the next file a record")
    finally:
        service.stop_all()


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


@pytest.fixture
def full_records_dir(tmp_path: Path):
    """A records folder on a 1 MiB tmpfs, filled up: writes fail with ENOSPC, as on a full disk."""
    folder = tmp_path / "svc" / "records"
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, and mounting one failed (root with "
                    f"CAP_SYS_ADMIN is needed): {mounted.stderr.strip()}")
    filler = folder / "filler.bin"
    try:
        with open(filler, "wb") as handle:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_records_folder_full_backs_off_reports_unhealthy_and_resumes_by_itself_when_space_is_freed(
        redis_url: str, full_records_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    service = Service(redis_url, tmp_path / "svc", enrich="off", worker_metrics_port=str(port),
                      retry_backoff_max="2", batch_files="1")
    try:
        service.start_worker(concurrency=2)
        service.start_watcher()
        for seed in SEEDS:
            shutil.copy(seed, service.inbox / seed.name)
        wait_until(lambda: _health(port)[0] == 503, 60, lambda: "the worker's /healthz to say not ok:\n"
                   + service.log_text("worker")[-3000:])
        reason = _health(port)[1]["reason"]
        assert reason == "the records folder's disk is full: No space left on device"
        backoffs_before = service.log_text("worker").count("disk is full")
        time.sleep(6)
        backoffs = service.log_text("worker").count("disk is full") - backoffs_before
        # 5 messages, each at most one back-off line per back-off of 1-2 s: at most 5 x 6 lines
        assert 0 < backoffs <= 30, backoffs
        assert service.records_list() == [] and service.failures_list() == []
        (full_records_dir / "filler.bin").unlink()
        wait_until(lambda: outcome_count(service) >= len(SEEDS), 60, "the records once space is free")
        wait_until(lambda: _health(port)[0] == 200, 30, "the worker's /healthz to say ok again")
        time.sleep(1)
        _assert_one_outcome_per_file(service, len(SEEDS))
        _report(capsys, f"disk full: {backoffs} back-off lines in 6 s, /healthz 503 ({reason}); "
                        f"after freeing space {len(SEEDS)} records, /healthz 200")
    finally:
        service.stop_all()


def test_status_names_the_worker_whose_records_folder_is_full_until_space_is_freed(
        redis_url: str, full_records_dir: Path, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path / "svc", enrich="off", retry_backoff_max="2", batch_files="1")

    def status() -> str:
        return subprocess.run([sys.executable, "-m", "worker.cli", "status"], cwd=ROOT, env=service.env,
                              capture_output=True, text=True, timeout=60).stdout
    try:
        service.start_worker(concurrency=1)
        service.start_watcher()
        shutil.copy(SEEDS[0], service.inbox / SEEDS[0].name)
        worker = f"{socket.gethostname()}:{service.processes['worker'].pid}"
        wait_until(lambda: f"fault       worker {worker}: the records folder's disk is full" in status(), 60,
                   "`ingest status` to name the fault:\n" + status())
        (full_records_dir / "filler.bin").unlink()
        wait_until(lambda: "faults      none" in status(), 60, "the fault to clear:\n" + status())
    finally:
        service.stop_all()


def test_a_worker_facing_redis_with_a_full_disk_waits_and_processes_the_file_once_space_is_freed(
        tmp_path: Path) -> None:
    state = tmp_path / "redis-state"
    state.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(state)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, and mounting one failed: {mounted.stderr.strip()}")
    server = EmbeddedRedis(state)
    service = None
    try:
        service = Service(server.start(), tmp_path / "svc", enrich="off", retry_backoff_max="2")
        service.start_worker(concurrency=1)
        service.start_watcher()
        service.wait_for_log("worker", "ready.", 60)
        with open(state / "filler.bin", "wb") as handle, pytest.raises(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        redis.Redis.from_url(server.url).set("ingest:probe", "x" * 1000)  # its AOF write fails now
        wait_until(lambda: _refuses_writes(server.url), 30, "Redis to refuse writes (MISCONF)")
        service.wait_for_log("worker", "No space left on device", 60)  # taking a message is a write
        (state / "filler.bin").unlink()
        shutil.copy(SEEDS[0], service.inbox / SEEDS[0].name)
        service.wait_for_records(1, timeout=90)
        assert service.processes["worker"].poll() is None
        assert "Unrecoverable error" not in service.log_text("worker")
    finally:
        if service is not None:
            service.stop_all()
        server.stop()
        subprocess.run(["umount", "-l", str(state)], check=False)


def _refuses_writes(url: str) -> bool:
    try:
        redis.Redis.from_url(url).set("ingest:probe", "y")
        return False
    except redis.ResponseError as error:
        return "AOF" in str(error)


def test_retries_waiting_for_their_countdown_during_a_redis_restart_run_on_time_not_after_the_visibility_timeout(
        full_records_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    server = EmbeddedRedis(tmp_path / "redis", port=port)
    server.start()
    # The production visibility timeout (600 s); back-offs of 1, 2, 4, 8 s while the disk is full.
    service = Service(server.url, tmp_path / "svc", enrich="off", retry_backoff_max="8", batch_files="1")
    try:
        service.start_worker(concurrency=2)
        service.start_watcher()
        for seed in SEEDS:
            shutil.copy(seed, service.inbox / seed.name)
        wait_until(lambda: service.log_text("worker").count("in 8s") >= len(SEEDS), 90,
                   lambda: "every file to wait for an 8 s retry:\n" + service.log_text("worker")[-3000:])
        server.stop()  # the retries waiting in the worker are dropped with the connection
        server = EmbeddedRedis(tmp_path / "redis", port=port)
        server.start()
        (full_records_dir / "filler.bin").unlink()
        started = time.monotonic()
        wait_until(lambda: outcome_count(service) >= len(SEEDS), 60,
                   lambda: f"{len(SEEDS)} records within a back-off or two:\n" + service.log_text("worker")[-3000:])
        elapsed = time.monotonic() - started
        time.sleep(1)
        _assert_one_outcome_per_file(service, len(SEEDS))
        _report(capsys, f"Redis restart with {len(SEEDS)} retries waiting: all records {elapsed:.0f}s after the "
                        f"restart (visibility timeout 600 s)")
    finally:
        service.stop_all()
        server.stop()
