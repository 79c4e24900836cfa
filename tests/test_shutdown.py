"""Stopping the service while a worker is busy on a long file: the work in hand is finished, or
given back without being counted against the file (a stop is not a crash)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.conftest import SEEDS
from tests.service import Service, wait_until
from worker.service.redis_client import ATTEMPTS

pytestmark = pytest.mark.integration


def _long_jsonl(lines: int) -> bytes:
    """``lines`` distinct articles of about 2,300 words each (every seed in turn): with full
    enrichment a worker spends seconds on the file."""
    texts = [seed.read_text(encoding="utf-8") for seed in SEEDS]
    rows = []
    for number in range(lines):
        body = "\n\n".join(texts[number % len(texts):] + texts[:number % len(texts)])
        rows.append(json.dumps({"title": f"Markets digest {number}", "text": f"{body}\n\nDigest number {number}."}))
    return ("\n".join(rows) + "\n").encode()


def test_a_worker_stopped_mid_file_gives_it_back_uncounted_so_a_restart_makes_records_not_poison(
        redis_url: str, tmp_path: Path) -> None:
    # max_attempts 1: a single counted death would make the file a `poison` failure
    service = Service(redis_url, tmp_path, enrich="full", max_attempts="1", fanout_articles="1000")
    try:
        service.start_worker(concurrency=1)
        service.start_watcher()
        (service.inbox / "digest.jsonl").write_bytes(_long_jsonl(40))
        service.wait_for_log("worker", "received", 60)
        task_id = re.search(r"process_file\[([0-9a-f-]+)\] received", service.log_text("worker")).group(1)
        client = redis.Redis.from_url(redis_url)
        wait_until(lambda: client.exists(ATTEMPTS + task_id), 60, "a pool process to begin the file")
        assert service.records_list() == []
        service.stop("worker")  # SIGTERM to the whole process group, as systemd sends it
        service.start_worker(name="worker-again", concurrency=1)
        service.wait_for_log("worker-again", "succeeded", 240)  # the stopped delivery came back, and ended
        assert [f["error"]["type"] for f in service.failures_list()] == []
        assert len(service.records_list()) == 40
    finally:
        service.stop_all()


def test_ingest_run_stopped_while_its_worker_is_busy_finishes_the_file_before_exiting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env.update(INGEST_SINKS="files", INGEST_ENRICH="full", INGEST_METRICS_PORT="0", INGEST_WORKER_METRICS_PORT="0",
               INGEST_WEB_PORT="0", INGEST_FANOUT_ARTICLES="1000", INGEST_SETTLE_SECONDS="0.5")
    log_path = tmp_path / "run.log"
    run = subprocess.Popen([sys.executable, "-m", "worker.cli", "run"], cwd=tmp_path, env=env,
                           stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: b"ready." in log_path.read_bytes(), 90, "the worker to start")
        (tmp_path / "inbox" / "digest.jsonl").write_bytes(_long_jsonl(15))
        wait_until(lambda: b"received" in log_path.read_bytes(), 60, "the worker to take the file")
        run.send_signal(signal.SIGTERM)
        assert run.wait(120) == 0
    finally:
        if run.poll() is None:
            run.kill()
    text = log_path.read_text()
    assert text.index("stopping (SIGTERM)") < text.index("succeeded"), "the file was done before the stop"
    assert "WorkerLostError" not in text
    assert len(list((tmp_path / "records").glob("*.json"))) == 15
