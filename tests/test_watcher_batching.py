"""The watcher's batching and back-pressure: how ready files become messages, and when it waits.

Batches are computed from what was read (no I/O); back-pressure reads the real queue length
from the session's real Redis.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis

from worker.settings import Settings
from worker.sources.watcher import BATCH_BYTES, Watcher


def _watcher(tmp_path: Path, client: redis.Redis, **settings: object) -> Watcher:
    config = Settings(inbox=tmp_path / "inbox", records_dir=tmp_path / "records", **settings)
    config.inbox.mkdir(exist_ok=True)
    return Watcher(config, client, lambda message: None)


def _items(count: int, size: int) -> list[tuple]:
    """What the watcher batches: (path, source, data, error) per ready file."""
    return [(f"f{n}", None, b"x" * size, None) for n in range(count)]


def _flatten(batches: list[list[tuple]]) -> list[str]:
    return sorted(item[0] for batch in batches for item in batch)


def test_a_file_ready_alone_travels_alone(tmp_path: Path, redis_client: redis.Redis) -> None:
    assert [len(b) for b in _watcher(tmp_path, redis_client).batches(_items(1, 100))] == [1]


def test_a_burst_is_cut_into_even_batches_of_at_most_batch_files(tmp_path: Path, redis_client: redis.Redis) -> None:
    items = _items(20, 100)
    batches = _watcher(tmp_path, redis_client, batch_files=8).batches(items)
    assert [len(b) for b in batches] == [7, 7, 6]
    assert _flatten(batches) == sorted(i[0] for i in items)  # every file once, none twice


def test_big_files_make_more_batches_so_a_message_holds_about_a_mebibyte(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    items = _items(4, BATCH_BYTES // 2 + 1)
    batches = _watcher(tmp_path, redis_client, batch_files=8).batches(items)
    assert len(batches) == 3 and _flatten(batches) == sorted(i[0] for i in items)


def test_nothing_ready_makes_no_batch(tmp_path: Path, redis_client: redis.Redis) -> None:
    assert _watcher(tmp_path, redis_client).batches([]) == []


def test_below_the_high_water_mark_the_watcher_does_not_wait(tmp_path: Path, redis_client: redis.Redis) -> None:
    watcher = _watcher(tmp_path, redis_client, queue_high_water=10)
    redis_client.rpush(watcher.settings.queue, *[b"m"] * 5)
    started = time.monotonic()
    watcher.wait_for_room()
    assert time.monotonic() - started < 1.0


@pytest.mark.timeout(30)
def test_at_the_high_water_mark_the_watcher_waits_until_the_queue_drains_below_four_fifths(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    watcher = _watcher(tmp_path, redis_client, queue_high_water=10)
    queue = watcher.settings.queue
    redis_client.rpush(queue, *[b"m"] * 10)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (watcher.wait_for_room(), done.set()), daemon=True)
    thread.start()
    assert not done.wait(0.6)                      # full: it holds
    redis_client.ltrim(queue, 0, 8)                # 9 left: still above 8 (four fifths)
    assert not done.wait(0.6)
    redis_client.ltrim(queue, 0, 7)                # 8 left: room again
    assert done.wait(5)
    thread.join(5)
