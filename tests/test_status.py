"""What an operator sees of a stuck service: `ingest status` and the web view's counters.

A message taken from the queue by a worker that died before recording it sits in the taking
list (``service/broker.py``) until a live worker's sweep gives it back: it is work not done,
and must show in the depth, apart, with the age of the oldest message.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, SEEDS
from tests.service import Service, wait_until
from worker.service.embedded import free_port

pytestmark = pytest.mark.integration

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64


def _status(service: Service) -> str:
    result = subprocess.run([sys.executable, "-m", "worker.cli", "status"], cwd=ROOT, env=service.env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _strand_one_message(service: Service, client: redis.Redis) -> float:
    """Queue a file, then take its message as a worker that died before recording it would;
    returns when the message was first seen in the queue."""
    service.start_watcher()
    shutil.copy(SEEDS[0], service.inbox / "taken.txt")
    wait_until(lambda: client.llen("ingest") == 1, 30, "the file's message in the queue")
    seen = time.monotonic()
    client.lmove("ingest", "ingest:taking", "RIGHT", "LEFT")
    return seen


def test_status_counts_a_message_stuck_in_the_taking_list_with_its_age(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path)
    client = redis.Redis.from_url(redis_url)
    try:
        dropped = time.monotonic()
        seen = _strand_one_message(service, client)
        time.sleep(1.5)  # so that the age shown has a lower bound above zero
        asked = time.monotonic()
        shown = _status(service)
        answered = time.monotonic()
    finally:
        service.stop_all()
        client.close()
    assert "queue       1 message(s) in 'ingest': 0 waiting, 1 in the taking list" in shown
    age = int(re.search(r"^oldest +(\d+)s ago$", shown, re.M).group(1))
    assert int(asked - seen) <= age <= answered - dropped  # sent after the drop, before it was seen


def test_status_of_an_empty_queue_shows_no_age(redis_url: str, tmp_path: Path) -> None:
    shown = _status(Service(redis_url, tmp_path))
    assert "queue       0 message(s) in 'ingest': 0 waiting, 0 in the taking list" in shown
    assert re.search(r"^oldest +-$", shown, re.M)


def test_status_counts_dead_letters_by_kind_and_the_failure_records_folder(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path)
    client = redis.Redis.from_url(redis_url)
    try:
        service.start_worker(concurrency=1)
        service.start_watcher()
        (service.inbox / "empty.txt").write_bytes(b"")
        (service.inbox / "image.txt").write_bytes(PNG)
        wait_until(lambda: client.hlen("ingest:dead") == 2, 60, lambda: "two dead letters:\n" + service.log_text("worker"))
        shown = _status(service)
    finally:
        service.stop_all()
        client.close()
    assert "dead        2 dead letter(s) (`ingest failed list`): 1 empty, 1 not_text" in shown
    assert f"failures    2 failure record(s) in {service.records / '_failed'}" in shown


def test_web_counters_count_the_taking_list_in_the_depth_and_show_the_oldest_age(
        redis_url: str, postgres_server, tmp_path: Path) -> None:
    port = free_port()
    service = Service(redis_url, tmp_path, postgres_url=postgres_server.url, web_port=str(port))
    client = redis.Redis.from_url(redis_url)
    url = f"http://127.0.0.1:{port}/api/counters"

    def counters() -> dict | None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            return None

    try:
        service.start("web", "web")
        wait_until(lambda: counters() is not None, 30, lambda: f"the web view:\n{service.log_text('web')}")
        _strand_one_message(service, client)
        shown = counters()
    finally:
        service.stop_all()
        client.close()
    assert (shown["depth"], shown["taking"]) == (1, 1)
    assert re.fullmatch(r"\d+s ago", shown["oldest"])


def test_watcher_gauges_show_the_taking_list_apart_and_the_oldest_age(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    service = Service(redis_url, tmp_path, metrics_port=str(port))
    client = redis.Redis.from_url(redis_url)

    def gauge(name: str) -> float | None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            found = re.search(rf"^{name} (\S+)$", response.read().decode(), re.M)
        return float(found.group(1)) if found else None

    try:
        _strand_one_message(service, client)
        time.sleep(1.1)  # the gauges are read at most once a second: the next send reads them
        shutil.copy(SEEDS[1], service.inbox / "next.txt")
        wait_until(lambda: client.llen("ingest") == 1, 30, "the next file's message in the queue")
        depth, taking, oldest = (gauge(f"ingest_queue_{n}") for n in ("depth", "taking", "oldest_seconds"))
    finally:
        service.stop_all()
        client.close()
    assert (depth, taking) == (1.0, 1.0)  # as the watcher saw it before sending the next file
    assert oldest >= 1.0
