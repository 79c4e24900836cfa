"""A burst far larger than the queue's high-water mark: all processed, watcher memory bounded."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import SEEDS
from tests.service import Service, outcome_count, wait_until, wait_while_progressing

pytestmark = pytest.mark.integration

FILES = 20_000
HIGH_WATER = 1000


def _small_articles(count: int) -> list[str]:
    """Short, distinct articles of seed words (seeded): unlike one template with a number
    changed, they do not all share the dedup index's band keys, as real briefs do not."""
    words = sorted({w for seed in SEEDS for w in seed.read_text("utf-8").split() if w.isalpha()})
    rng = random.Random(20_000)
    return [f"Brief {number}\n\n" + " ".join(rng.choices(words, k=40)) + ".\n" for number in range(count)]


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_burst_of_20000_small_files_is_processed_with_bounded_queue_and_memory(
        redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Durability is not what this test is about: records are written without fsync.
    service = Service(redis_url, tmp_path, enrich="off", queue_high_water=str(HIGH_WATER),
                      fsync="false")
    client = redis.Redis.from_url(redis_url)
    deepest = 0
    done = threading.Event()

    def sample_depth() -> None:
        nonlocal deepest
        while not done.is_set():
            deepest = max(deepest, client.llen("ingest"))
            time.sleep(0.05)

    try:
        for number, text in enumerate(_small_articles(FILES)):
            (service.inbox / f"n{number:05d}.txt").write_text(text)
        service.start_worker(concurrency=2)
        started = time.monotonic()
        service.start_watcher()
        sampler = threading.Thread(target=sample_depth, daemon=True)
        sampler.start()
        # Correctness, not speed (bench/ measures that): it may take as long as the machine
        # needs, as long as outcomes keep coming.
        wait_while_progressing(lambda: outcome_count(service), FILES, 60, "outcomes")
        elapsed = time.monotonic() - started
        done.set()
        watcher_pid = service.processes["watcher"].pid
        peak = _peak_rss_mib(watcher_pid)
        assert len(service.failures_list()) == 0
        assert outcome_count(service) == FILES
        assert "pausing until workers catch up" in service.log_text("watcher")
        assert deepest <= HIGH_WATER + 1
        assert peak < 300
        with capsys.disabled():
            print(f"\n    back-pressure: {FILES} files in {elapsed:.1f}s ({FILES / elapsed:.0f}/s), "
                  f"deepest queue {deepest} (high water {HIGH_WATER}), watcher peak RSS {peak:.0f} MiB")
    finally:
        done.set()
        service.stop_all()
        client.close()


def test_messages_stuck_in_the_taking_list_count_towards_the_high_water_mark(redis_url: str, tmp_path: Path) -> None:
    """A message taken by a worker that died before recording it is work not done: the watcher
    holds the next file until a live worker's sweep gives the stuck one back and takes it."""
    service = Service(redis_url, tmp_path, enrich="off", queue_high_water="1", visibility_timeout="20")
    client = redis.Redis.from_url(redis_url)
    try:
        service.start_watcher()
        (service.inbox / "taken.txt").write_bytes(SEEDS[0].read_bytes())
        wait_until(lambda: client.llen("ingest") == 1, 30, "the first file's message in the queue")
        client.lmove("ingest", "ingest:taking", "RIGHT", "LEFT")  # taken, then the taker was gone
        (service.inbox / "next.txt").write_bytes(SEEDS[1].read_bytes())
        service.wait_for_log("watcher", "queue at 1 messages (high-water mark): pausing")
        assert client.llen("ingest") == 0  # the next file waits in the watcher, not in the queue
        service.start_worker(concurrency=1)
        records = service.wait_for_records(2, timeout=90)
    finally:
        service.stop_all()
        client.close()
    assert sorted(r["source"]["path"] for r in records) == ["next.txt", "taken.txt"]
