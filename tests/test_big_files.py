"""Big JSONL files through the real service: fanned out into tasks of a few hundred lines,
every line one record with the id it would have unsplit, none lost, none doubled."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import redis

from tests.service import Service, jsonl_from_seeds, outcome_count, wait_until, wait_while_progressing
from worker.models import record_id
from worker.service.celery_app import use_broker
from worker.service.tasks import process_file
from worker.sources.messages import make_message, read_source

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
        wait_while_progressing(lambda: outcome_count(service), 3000, 60, "outcomes")
        assert service.failures_list() == []
        records = service.records_list()
        assert sorted(r["id"] for r in records) == sorted(record_id(sha256, line) for line in range(1, 3001))
        assert {r["source"]["sha256"] for r in records} == {sha256}
        assert "3000 lines fanned out as 12 tasks" in service.log_text("worker")

        # The same message again (as after a worker died between publishing and acknowledging):
        # its slices run again and change nothing.
        use_broker(redis_url)
        source, _, _ = read_source(service.inbox / ".done" / "feed.jsonl", service.inbox / ".done", 16 << 20)
        process_file.apply_async(args=[make_message(source, data)], queue="ingest")
        wait_until(lambda: service.log_text("worker").count("3000 lines fanned out as 12 tasks") == 2, 60, "the second fan-out")
        wait_until(lambda: redis_client.llen("ingest") == 0 and redis_client.hlen("unacked") == 0, 120, "the queue to drain")
        assert len(service.records_list()) == 3000 and service.failures_list() == []
        with capsys.disabled():
            print("\n    fan-out: 3000 JSONL lines -> 12 tasks -> 3000 records, ids as unsplit; sent twice, still 3000")
    finally:
        service.stop_all()
