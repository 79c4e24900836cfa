"""Big JSONL files through the real service: fanned out into tasks of a few hundred lines,
every line one record with the id it would have unsplit, none lost, none doubled."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import redis

from tests.service import Service, jsonl_from_seeds, outcome_count, wait_until
from worker.models import record_id

pytestmark = pytest.mark.integration


def test_a_jsonl_file_of_3000_lines_gives_3000_records_with_the_ids_of_its_lines(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = jsonl_from_seeds(3000)
    sha256 = hashlib.sha256(data).hexdigest()
    service = Service(redis_url, tmp_path, enrich="off", fanout_articles="250")
    try:
        service.start_worker(concurrency=2)
        service.start_watcher()
        (service.inbox / "feed.jsonl").write_bytes(data)
        wait_until(lambda: outcome_count(service) >= 3000, 240, "3000 outcomes:\n" + service.log_text("worker")[-2000:])
        assert service.failures_list() == []
        records = service.records_list()
        assert sorted(r["id"] for r in records) == sorted(record_id(sha256, line) for line in range(1, 3001))
        assert {r["source"]["sha256"] for r in records} == {sha256}
        assert "3000 lines fanned out as 12 tasks" in service.log_text("worker")
        with capsys.disabled():
            print("\n    fan-out: 3000 JSONL lines -> 12 tasks -> 3000 records, ids as unsplit")
    finally:
        service.stop_all()
