"""`ingest run` (what `make run` starts): embedded Redis, a worker, the watcher; Ctrl-C stops all."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import SEEDS
from tests.service import run_env, start_ingest_run, wait_until, write_articles

pytestmark = pytest.mark.integration


def test_ingest_run_turns_dropped_seeds_into_records_and_ctrl_c_leaves_no_process(tmp_path: Path) -> None:
    # the store's own tests cover the default sinks (test_store_service.py)
    run = start_ingest_run(tmp_path, run_env(INGEST_SINKS="files", INGEST_ENRICH="fast"))
    try:
        wait_until(lambda: b"watching" in (tmp_path / "run.log").read_bytes(), 60, "the watcher to start")
        children = psutil.Process(run.pid).children(recursive=True)
        assert any("redis-server" in " ".join(c.cmdline()) for c in children)
        for seed in SEEDS:
            shutil.copy(seed, tmp_path / "inbox" / seed.name)
        wait_until(lambda: len(list((tmp_path / "records").glob("*.json"))) == 5, 60,
                   lambda: "five records:\n" + (tmp_path / "run.log").read_text())
        assert (tmp_path / ".ingest" / "appendonly.aof").exists()
    finally:
        run.send_signal(signal.SIGINT)  # what Ctrl-C sends
        run.wait(60)
    psutil.wait_procs(children, timeout=10)
    assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []


def test_ingest_run_uses_the_configured_redis_and_starts_none(tmp_path: Path, redis_url: str) -> None:
    # the store's own tests cover the default sinks (test_store_service.py)
    run = start_ingest_run(tmp_path, run_env(INGEST_SINKS="files", INGEST_ENRICH="off", INGEST_REDIS_URL=redis_url,
                                             INGEST_METRICS_PORT="0", INGEST_WORKER_METRICS_PORT="0"))
    try:
        wait_until(lambda: b"watching" in (tmp_path / "run.log").read_bytes(), 60, "the watcher to start")
        children = psutil.Process(run.pid).children(recursive=True)
        assert not any("redis-server" in " ".join(c.cmdline()) for c in children)
        shutil.copy(SEEDS[0], tmp_path / "inbox" / "one.txt")
        wait_until(lambda: len(list((tmp_path / "records").glob("*.json"))) == 1, 60, "a record")
        assert not (tmp_path / ".ingest" / "appendonly.aof").exists()
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(60)


def _embedded_redis(run: subprocess.Popen[bytes]) -> psutil.Process | None:
    for child in psutil.Process(run.pid).children(recursive=True):
        try:
            if "redis-server" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                return child
        except psutil.NoSuchProcess:
            pass
    return None


def _start_run(tmp_path: Path) -> subprocess.Popen[bytes]:
    run = start_ingest_run(tmp_path, run_env(INGEST_ENRICH="off", INGEST_METRICS_PORT="0", INGEST_WORKER_METRICS_PORT="0",
                                             INGEST_SETTLE_SECONDS="0.5", INGEST_RESCAN_SECONDS="2"))
    wait_until(lambda: b"watching" in (tmp_path / "run.log").read_bytes(), 60, "the watcher to start")
    return run


@pytest.mark.usefixtures("tmp_path_store_removed")
def test_ingest_run_restarts_its_redis_after_kill_9_and_every_file_ends_as_one_outcome(tmp_path: Path) -> None:
    run = _start_run(tmp_path)
    records = tmp_path / "records"
    try:
        write_articles(tmp_path / "inbox", 20, prefix="before")
        wait_until(lambda: len(list(records.glob("*.json"))) == 20, 90, "20 records before the kill")
        first = _embedded_redis(run)
        url = (tmp_path / ".ingest" / "redis.url").read_text()
        first.kill()
        write_articles(tmp_path / "inbox", 20, prefix="during")  # dropped while Redis is down
        wait_until(lambda: (second := _embedded_redis(run)) is not None and second.pid != first.pid, 30,
                   lambda: "a new redis-server:\n" + (tmp_path / "run.log").read_text())
        assert (tmp_path / ".ingest" / "redis.url").read_text() == url  # same port, same data
        write_articles(tmp_path / "inbox", 20, prefix="after")
        wait_until(lambda: len(list(records.glob("*.json"))) == 60, 120,
                   lambda: "60 records after the restart:\n" + (tmp_path / "run.log").read_text()[-3000:])
        time.sleep(1)
        names = sorted(json.loads(p.read_text())["source"]["name"] for p in records.glob("*.json"))
        assert len(names) == len(set(names)) == 60
        assert list((records / "_failed").glob("*.json")) == []
        assert run.poll() is None
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(60)


@pytest.mark.usefixtures("tmp_path_store_removed")
def test_ingest_run_exits_non_zero_with_a_clear_message_when_its_redis_cannot_be_restarted(tmp_path: Path) -> None:
    run = _start_run(tmp_path)
    try:
        port = int((tmp_path / ".ingest" / "redis.url").read_text().rsplit(":", 1)[1].split("/")[0])
        server = _embedded_redis(run)
        # A crash that leaves the append-only file unreadable: no restart can load the data.
        # (Written before the kill: the supervisor restarts within a second, so nothing done
        # after the kill could win that race.) Redis appends at its own end of the file.
        with open(tmp_path / ".ingest" / "appendonly.aof", "r+b") as aof:
            aof.write(b"not the Redis protocol\n")
        server.kill()
        code = run.wait(60)
        log = (tmp_path / "run.log").read_text()
        assert code == 1
        assert f"Error: the embedded Redis could not be restarted (port {port}" in log
        assert not (tmp_path / ".ingest" / "redis.url").exists()
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)
            run.wait(60)


def test_a_second_ingest_run_in_the_same_folder_exits_1_naming_the_first_which_keeps_working(tmp_path: Path) -> None:
    env = run_env(INGEST_SINKS="files", INGEST_ENRICH="off", INGEST_METRICS_PORT="0", INGEST_WORKER_METRICS_PORT="0")
    first = start_ingest_run(tmp_path, env)
    try:
        wait_until(lambda: b"watching" in (tmp_path / "run.log").read_bytes(), 60, "the first to start")
        second = subprocess.run([sys.executable, "-m", "worker.cli", "run"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"another `ingest run` (pid {first.pid}) already uses the state folder" in second.stderr
        shutil.copy(SEEDS[0], tmp_path / "inbox" / SEEDS[0].name)
        wait_until(lambda: len(list((tmp_path / "records").glob("*.json"))) == 1, 60,
                   lambda: "the first one's record:\n" + (tmp_path / "run.log").read_text())
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(60)


def test_a_second_watcher_of_one_inbox_exits_1_saying_so(redis_url: str, tmp_path: Path) -> None:
    from tests.service import Service

    service = Service(redis_url, tmp_path)
    try:
        service.start_watcher()
        second = service.start("second-watcher", "watch")
        assert second.wait(60) == 1
        assert f"another watcher already watches the inbox {service.inbox}" in service.log_text("second-watcher")
    finally:
        service.stop_all()
