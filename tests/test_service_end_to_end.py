"""The service end to end: real Redis server, real Celery worker processes, real observer."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS
from tests.service import Service, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def service(redis_url: str, tmp_path: Path):
    svc = Service(redis_url, tmp_path)
    yield svc
    svc.stop_all()


def test_dropped_seeds_become_five_unique_records_with_title_body_and_date(service: Service) -> None:
    service.start_worker()
    service.start_watcher()
    for seed in SEEDS:
        shutil.copy(seed, service.inbox / seed.name)
    records = service.wait_for_records(5)
    by_name = {r["source"]["name"]: r for r in records}
    assert set(by_name) == {s.name for s in SEEDS}
    for record in records:
        assert record["dedup"]["status"] == "unique"
        assert record["body"] and record["word_count"] > 100
        assert record["language"] == "en"
    assert by_name["000_1c0c5df0f7ed7e12.txt"]["title"].startswith("Zelensky 'counting on' more US air defense")
    assert by_name["002_31c179ac7f171f91.txt"]["published_at"].startswith("2025-06-25")
    assert by_name["001_34f2c2ac72de5d4c.txt"]["published_at"].startswith("2026-01-16")


def test_queued_file_is_moved_to_done(service: Service) -> None:
    service.start_worker()
    service.start_watcher()
    shutil.copy(SEEDS[0], service.inbox / "a.txt")
    service.wait_for_records(1)
    wait_until(lambda: (service.inbox / ".done" / "a.txt").exists(), 10, "a.txt in .done")
    assert not (service.inbox / "a.txt").exists()


def test_dropping_the_same_file_again_gives_no_new_record(service: Service) -> None:
    service.start_worker()
    service.start_watcher()
    shutil.copy(SEEDS[1], service.inbox / "first.txt")
    service.wait_for_records(1)
    shutil.copy(SEEDS[1], service.inbox / "again.txt")
    service.wait_for_log("watcher", "again.txt: the same bytes were queued before")
    time.sleep(1.0)
    assert len(service.records_list()) == 1
    assert service.failures_list() == []


def test_file_written_slowly_in_chunks_is_processed_once_and_whole(service: Service) -> None:
    service.start_worker()
    service.start_watcher()
    data = SEEDS[2].read_bytes()
    with open(service.inbox / "slow.txt", "wb") as handle:
        for start in range(0, len(data), 400):
            handle.write(data[start:start + 400])
            handle.flush()
            time.sleep(0.3)  # longer than a tick, shorter than the settle time
    records = service.wait_for_records(1)
    time.sleep(1.5)
    records = service.records_list()
    assert len(records) == 1
    assert records[0]["source"]["size"] == len(data)
    assert records[0]["body"].rstrip().endswith("said Trump.")


def test_file_arriving_while_the_watcher_is_down_is_processed_when_it_starts(service: Service) -> None:
    service.start_worker()
    shutil.copy(SEEDS[3], service.inbox / "early.txt")
    (service.inbox / "sub").mkdir()
    shutil.copy(SEEDS[4], service.inbox / "sub" / "nested.txt")
    service.start_watcher()
    records = service.wait_for_records(2)
    assert {r["source"]["path"] for r in records} == {"early.txt", "sub/nested.txt"}


def test_hidden_and_partial_files_are_ignored(service: Service) -> None:
    service.start_worker()
    service.start_watcher()
    for name in (".hidden.txt", "draft.txt.tmp", "download.part", "page.crdownload", "~$doc.txt"):
        shutil.copy(SEEDS[0], service.inbox / name)
    shutil.copy(SEEDS[4], service.inbox / "real.txt")
    records = service.wait_for_records(1)
    time.sleep(1.5)
    assert [r["source"]["name"] for r in service.records_list()] == ["real.txt"]
    assert (service.inbox / "draft.txt.tmp").exists()


def test_file_over_the_size_limit_becomes_a_failure_record(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path, max_file_bytes="1000")
    try:
        service.start_worker()
        service.start_watcher()
        shutil.copy(SEEDS[0], service.inbox / "big.txt")
        wait_until(lambda: len(service.failures_list()) == 1, 30, "a failure record")
        failure = service.failures_list()[0]
        assert failure["error"]["type"] == "too_large"
        assert failure["source"]["name"] == "big.txt"
        assert service.records_list() == []
    finally:
        service.stop_all()


def test_ingest_process_writes_the_same_records_as_the_service(service: Service, tmp_path: Path) -> None:
    service.start_worker()
    service.start_watcher()
    for seed in SEEDS:
        shutil.copy(seed, service.inbox / seed.name)
    served = {r["id"]: r for r in service.wait_for_records(5)}
    out = tmp_path / "backfill"
    env = {**service.env, "INGEST_RECORDS_DIR": str(tmp_path / "unused")}
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "process", "--out", str(out), *map(str, SEEDS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "5 record(s)" in result.stdout
    import json

    processed = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert set(processed) == set(served)
    for rid, record in processed.items():
        for field in ("title", "body", "published_at", "language", "word_count", "boilerplate"):
            assert record[field] == served[rid][field]
        assert record["dedup"]["status"] == "unique"  # the same record again, not a duplicate of itself


def test_polling_observer_picks_up_dropped_files(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path, polling="true")
    try:
        service.start_worker()
        service.start_watcher()
        assert "polling observer" in service.log_text("watcher")
        shutil.copy(SEEDS[0], service.inbox / "polled.txt")
        assert service.wait_for_records(1)[0]["source"]["name"] == "polled.txt"
    finally:
        service.stop_all()


def test_jsonl_file_gives_one_record_per_line_and_a_failure_for_a_bad_line(service: Service) -> None:
    import json

    lines = [json.dumps({"title": f"Story {i}", "text": SEEDS[i].read_text(encoding="utf-8")}) for i in (0, 2)]
    (service.inbox / "feed.jsonl").write_text("\n".join([lines[0], "{not json", lines[1]]) + "\n")
    service.start_worker()
    service.start_watcher()
    records = service.wait_for_records(2)
    assert sorted(r["source"]["line"] for r in records) == [1, 3]
    wait_until(lambda: len(service.failures_list()) == 1, 30, "a failure record for line 2")
    assert service.failures_list()[0]["source"]["line"] == 2
