"""Bad input becomes a failure record and a dead letter; the service keeps going."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, SEEDS
from tests.crashing_stage import MESSAGE
from tests.service import Service, jsonl_from_seeds, outcome_count, wait_until

pytestmark = pytest.mark.integration

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64


@pytest.fixture
def service(redis_url: str, tmp_path: Path):
    svc = Service(redis_url, tmp_path)
    svc.start_worker()
    svc.start_watcher()
    yield svc
    svc.stop_all()


def _cli(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], cwd=ROOT, env=service.env,
                          capture_output=True, text=True, timeout=60)


def test_binary_file_becomes_a_failure_record_and_the_next_file_still_a_record(
        service: Service, redis_client: redis.Redis) -> None:
    (service.inbox / "image.txt").write_bytes(PNG)
    shutil.copy(SEEDS[0], service.inbox / "after.txt")
    service.wait_for_records(1)
    wait_until(lambda: len(service.failures_list()) == 1, 30, "one failure record")
    failure = service.failures_list()[0]
    assert failure["source"]["name"] == "image.txt"
    assert failure["error"]["type"] == "not_text"
    # the worker writes the failure's file first, its dead letter a moment after
    wait_until(lambda: redis_client.hlen("ingest:dead") == 1, 30, "one dead letter")


def test_failed_list_shows_the_dead_letter_and_retry_queues_it_again(
        service: Service, redis_client: redis.Redis) -> None:
    (service.inbox / "empty.txt").write_bytes(b"")
    wait_until(lambda: redis_client.hlen("ingest:dead") == 1, 30, "a dead letter")
    listed = _cli(service, "failed", "list")
    assert "empty.txt" in listed.stdout and "empty:" in listed.stdout
    retried = _cli(service, "failed", "retry")
    assert "1 dead letter(s) queued again" in retried.stdout
    wait_until(lambda: redis_client.hlen("ingest:dead") == 1 and redis_client.hget("ingest:stats", "failed") == b"2",
               30, "the retried input to fail again")


def test_status_reports_queue_and_counters(service: Service, redis_client: redis.Redis) -> None:
    shutil.copy(SEEDS[1], service.inbox / "one.txt")
    service.wait_for_records(1)
    # the worker counts a record in Redis a moment after it writes the record's file
    wait_until(lambda: redis_client.hget("ingest:stats", "records") == b"1", 30, "the record counted")
    result = _cli(service, "status")
    assert result.returncode == 0
    assert "records     1" in result.stdout


def _file_message(tmp_path: Path, seed: Path) -> dict:
    from worker.sources.messages import make_message, read_source

    shutil.copy(seed, tmp_path / seed.name)
    return make_message(*read_source(tmp_path / seed.name, tmp_path, 1 << 20)[:2])


def test_messages_celery_refuses_before_the_task_runs_become_dead_letters(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """An unknown task name, arguments that do not fit, a body that is no task: Celery logs and
    drops each before our code runs; each must end as a failure record that `failed list` shows."""
    from kombu import Connection

    from worker.models import record_id
    from worker.service.celery_app import create_app

    service = Service(redis_url, tmp_path / "svc")
    unknown, extra_arg, as_keyword = (_file_message(tmp_path, seed) for seed in SEEDS[:3])
    app = create_app(redis_url)
    try:
        app.send_task("ingest.no_such_task", args=[unknown], queue="ingest")
        app.send_task("ingest.process_file", args=[extra_arg, "surplus"], queue="ingest")
        app.send_task("ingest.process_file", kwargs={"msg": as_keyword}, queue="ingest")
        with Connection(redis_url) as connection:  # a JSON body with no task in it at all
            connection.SimpleQueue("ingest").put({"hello": "world"}, serializer="json")
        service.start_worker()
        wait_until(lambda: len(service.failures_list()) == 4, 60,
                   lambda: "four failure records:\n" + service.log_text("worker"))
        wait_until(lambda: redis_client.hlen("ingest:dead") == 4, 30, "four dead letters")  # written after the files
    finally:
        app.close()
        service.stop_all()
    failures = {f["id"]: f for f in service.failures_list()}
    assert {f["error"]["type"] for f in failures.values()} == {"invalid_task"}
    named = {message["source"]["sha256"]: message for message in (unknown, extra_arg, as_keyword)}
    for sha256 in named:  # a file message found in the arguments names its own failure
        assert record_id(sha256) in failures
    assert "ingest.no_such_task" in failures[record_id(unknown["source"]["sha256"])]["error"]["message"]
    assert "TypeError" in failures[record_id(extra_arg["source"]["sha256"])]["error"]["message"]
    assert redis_client.hlen("ingest:dead") == 4
    assert int(redis_client.hget("ingest:stats", "failed")) == 4
    listed = _cli(service, "failed", "list").stdout
    assert all(failure_id in listed for failure_id in failures)
    assert service.records_list() == []


def test_a_message_whose_body_cannot_be_decoded_becomes_a_dead_letter(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Bytes that claim to be JSON and are not: Celery logs and acknowledges them; a failure
    record must say so."""
    from kombu import Connection

    service = Service(redis_url, tmp_path / "svc")
    try:
        with Connection(redis_url) as connection:
            connection.SimpleQueue("ingest").put(b"\xff\xfe{not json", serializer=None,
                                                 content_type="application/json", content_encoding="binary")
        service.start_worker()
        wait_until(lambda: len(service.failures_list()) == 1, 60, lambda: "a failure record:\n" + service.log_text("worker"))
        wait_until(lambda: redis_client.hlen("ingest:dead") == 1, 30, "a dead letter")  # written after the file
    finally:
        service.stop_all()
    (failure,) = service.failures_list()
    assert failure["error"]["type"] == "invalid_task"
    assert "cannot be decoded" in failure["error"]["message"]
    assert redis_client.hlen("ingest:dead") == 1
    assert redis_client.llen("ingest") == 0


def test_failed_retry_takes_a_unique_prefix_of_a_dead_letters_id(
        service: Service, redis_client: redis.Redis) -> None:
    (service.inbox / "empty.txt").write_bytes(b"")
    wait_until(lambda: redis_client.hlen("ingest:dead") == 1, 30, "a dead letter")
    [failure_id] = [key.decode() for key in redis_client.hkeys("ingest:dead")]
    retried = _cli(service, "failed", "retry", failure_id[:8])
    assert "1 dead letter(s) queued again" in retried.stdout, retried.stderr


def test_failed_retry_of_an_unknown_id_says_so_and_queues_nothing(redis_url: str, tmp_path: Path) -> None:
    refused = _cli(Service(redis_url, tmp_path), "failed", "retry", "abcdef12")
    assert refused.returncode != 0
    assert "no dead letter id starts with 'abcdef12'" in refused.stderr


def test_retrying_the_dead_letters_of_two_failed_lines_of_one_slice_runs_each_line_once(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Two bad lines in one slice of a fanned-out file: `failed retry` queues one message per
    failed line, each holding that line alone, so each fails once more and no slice runs again."""
    rows = jsonl_from_seeds(30).splitlines(keepends=True)
    rows[12] = rows[16] = b'{"title": "cut short", "text": \n'  # lines 13 and 17: slice 11-20
    service = Service(redis_url, tmp_path, enrich="off", fanout_articles="10")
    try:
        service.start_worker()
        service.start_watcher()
        (service.inbox / "feed.jsonl").write_bytes(b"".join(rows))
        wait_until(lambda: service.log_text("worker").count("succeeded in") == 4, 60,  # the file, 3 slices
                   lambda: "the file's tasks to end:\n" + service.log_text("worker"))
        assert outcome_count(service) == 30
        assert redis_client.hget("ingest:stats", "failed") == b"2"
        retried = _cli(service, "failed", "retry")
        assert "2 dead letter(s) queued again" in retried.stdout, retried.stderr
        wait_until(lambda: service.log_text("worker").count("succeeded in") == 6, 60,
                   lambda: "the two retried messages to run:\n" + service.log_text("worker"))
    finally:
        service.stop_all()
    assert redis_client.hget("ingest:stats", "failed") == b"4"  # 2 + 1 + 1: not 2 + 2 + 2
    assert redis_client.hlen("ingest:dead") == 2
    kept = [json.loads(redis_client.get(key)) for key in redis_client.scan_iter(match="ingest:dead:msg:*")]
    assert sorted(message["slice"]["first_line"] for message in kept) == [13, 17]
    assert {message["slice"]["lines"] for message in kept} == {1}


def test_an_article_that_crashes_a_stage_fails_alone_and_failed_retry_runs_that_line_alone(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Line 15 of a fanned-out file is titled for the injected fault (``tests.crashing_stage``,
    the worker started with it): enrichment raises on it. Its slice (lines 11-20) gives 9 records
    and that line's failure; retried, the line runs alone and fails again, and no good line runs
    again."""
    service = Service(redis_url, tmp_path, launcher="tests.crashing_stage", fanout_articles="10")
    try:
        service.start_worker()
        service.start_watcher()
        (service.inbox / "feed.jsonl").write_bytes(jsonl_from_seeds(30, crashing=15))
        wait_until(lambda: service.log_text("worker").count("succeeded in") == 4, 60,  # the file, 3 slices
                   "the file's tasks to end:\n" + service.log_text("worker"))
        assert len(service.records_list()) == 29
        [failure] = service.failures_list()
        assert (failure["source"]["line"], failure["error"]["type"], failure["error"]["message"]) == \
               (15, "internal_error", f"line 15: {MESSAGE}")
        assert "failed on feed.jsonl, line 15" in service.log_text("worker")
        listed = _cli(service, "failed", "list")
        assert f"{failure['id']}  feed.jsonl  internal_error: line 15: {MESSAGE}" \
            in listed.stdout, listed.stderr
        retried = _cli(service, "failed", "retry")
        assert "1 dead letter(s) queued again" in retried.stdout, retried.stderr
        wait_until(lambda: service.log_text("worker").count("succeeded in") == 5, 60,
                   "the retried line to run:\n" + service.log_text("worker"))
    finally:
        service.stop_all()
    assert redis_client.hget("ingest:stats", "failed") == b"2"
    assert redis_client.hget("ingest:stats", "records") == b"29"
    assert json.loads(redis_client.get("ingest:dead:msg:" + failure["id"]))["slice"] == {"first_line": 15, "lines": 1}


def test_failed_retry_sends_a_message_kept_by_several_dead_letters_once(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Dead letters written before a failed line kept itself alone: each of a slice's failed
    lines kept the whole slice. Retrying them all must run that slice once, not once a line."""
    from worker.models import record_id
    from worker.service import fanout
    from worker.settings import Settings
    from worker.sources.messages import make_message, read_source

    (tmp_path / "feed.jsonl").write_bytes(jsonl_from_seeds(30))
    whole = make_message(*read_source(tmp_path / "feed.jsonl", tmp_path, 1 << 20)[:2])
    part = fanout.slices(whole, Settings(fanout_articles=10))[1]
    for line in (13, 17):
        failure_id = record_id(whole["source"]["sha256"], line)
        entry = {"id": failure_id, "source": {**whole["source"], "line": line},
                 "error": {"type": "bad_json", "message": f"line {line}: malformed JSON"},
                 "failed_at": "2026-12-01T00:00:00Z"}
        redis_client.hset("ingest:dead", failure_id, json.dumps(entry))
        redis_client.set("ingest:dead:msg:" + failure_id, json.dumps(part))
    retried = _cli(Service(redis_url, tmp_path / "svc"), "failed", "retry")
    assert "2 dead letter(s) queued again in 1 message(s)" in retried.stdout, retried.stderr
    assert redis_client.llen("ingest") == 1
    assert redis_client.hlen("ingest:dead") == 0
