"""`ingest run` (what `make run` starts): embedded Redis, a worker, the watcher; Ctrl-C stops all."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.conftest import SEEDS
from tests.service import wait_until

pytestmark = pytest.mark.integration


def test_ingest_run_turns_dropped_seeds_into_records_and_ctrl_c_leaves_no_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env["INGEST_SINKS"] = "files"  # the store's own tests cover the default sinks (test_store_service.py)
    env["INGEST_ENRICH"] = "fast"
    log = open(tmp_path / "run.log", "wb")
    run = subprocess.Popen([sys.executable, "-m", "worker.cli", "run"], cwd=tmp_path, env=env,
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: b"watching" in (tmp_path / "run.log").read_bytes(), 60, "the watcher to start")
        children = psutil.Process(run.pid).children(recursive=True)
        assert any("redis-server" in " ".join(c.cmdline()) for c in children)
        for seed in SEEDS:
            shutil.copy(seed, tmp_path / "inbox" / seed.name)
        wait_until(lambda: len(list((tmp_path / "records").glob("*.json"))) == 5, 60,
                   "five records:\n" + (tmp_path / "run.log").read_text())
        assert (tmp_path / ".ingest" / "appendonly.aof").exists()
    finally:
        run.send_signal(signal.SIGINT)  # what Ctrl-C sends
        run.wait(60)
    psutil.wait_procs(children, timeout=10)
    assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []


def test_ingest_run_uses_the_configured_redis_and_starts_none(tmp_path: Path, redis_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env["INGEST_SINKS"] = "files"  # the store's own tests cover the default sinks (test_store_service.py)
    env.update(INGEST_ENRICH="off", INGEST_REDIS_URL=redis_url, INGEST_METRICS_PORT="0", INGEST_WORKER_METRICS_PORT="0")
    log = open(tmp_path / "run.log", "wb")
    run = subprocess.Popen([sys.executable, "-m", "worker.cli", "run"], cwd=tmp_path, env=env,
                           stdout=log, stderr=subprocess.STDOUT)
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
