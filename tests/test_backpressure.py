"""A burst far larger than the queue's high-water mark: all processed, watcher memory bounded."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import SEEDS
from tests.service import Service, outcome_count, wait_while_progressing

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
