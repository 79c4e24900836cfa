"""The one failure policy of the task and `ingest process`: what an error means, how often it
is retried, and that every failure record says the enrichment level the service runs at."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import socket
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis

from tests.conftest import SEEDS
from tests.crashing_stage import CRASHES, MESSAGE, crashing
from tests.service import jsonl_from_seeds
from worker.errors import BadInput, SinkUnavailable
from worker.models import FailureRecord, Record, SourceFile, record_id
from worker.pipeline.dedupe import DedupIndex
from worker import pipeline
from worker.service import policy
from worker.settings import Settings

DATA = SEEDS[0].read_bytes()
SOURCE = SourceFile(name="a.txt", path="a.txt", sha256=hashlib.sha256(DATA).hexdigest(), size=len(DATA),
                    received_at=datetime(2026, 12, 1, tzinfo=timezone.utc))


def source(data: bytes, name: str) -> SourceFile:
    return SourceFile(name=name, path=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                      received_at=datetime(2026, 12, 1, tzinfo=timezone.utc))


def test_disk_full_is_a_sink_fault_retried_until_it_heals() -> None:
    verdict = policy.classify(OSError(errno.ENOSPC, "No space left on device"), Settings())
    assert verdict.kind == "sink" and verdict.limit is None
    assert verdict.reason == "the records folder's disk is full: No space left on device"


def test_a_store_that_cannot_take_outcomes_is_a_sink_fault_named_as_the_store_not_the_records_folder() -> None:
    reason = "PostgreSQL at postgresql://ingest:***@127.0.0.1:5432/ingest is unavailable: could not extend file: No space left on device"
    verdict = policy.classify(SinkUnavailable(reason), Settings())
    assert (verdict.kind, verdict.reason, verdict.limit) == ("sink", reason, None)


def test_redis_away_is_transient_and_retried_max_retries_times() -> None:
    verdict = policy.classify(redis.ConnectionError("Connection refused"), Settings(max_retries=4))
    assert verdict.kind == "transient" and verdict.limit == 4


def test_back_off_doubles_up_to_its_cap() -> None:
    settings = Settings(retry_backoff_max=10)
    assert [policy.backoff(n, settings) for n in range(6)] == [1, 2, 4, 8, 10, 10]


def test_an_error_nobody_foresaw_inside_the_pipeline_is_an_internal_error_record_not_a_retry(
        redis_client: redis.Redis, tmp_path: Path) -> None:
    settings = Settings(enrich="fast", boilerplate_file=tmp_path / "missing.yaml")
    [outcome] = policy.run_or_fail(SOURCE, DATA, None, DedupIndex.from_settings(redis_client, settings), settings)
    assert outcome.error.type == "internal_error"
    assert outcome.error.message.startswith("ValueError: cannot read boilerplate rules")
    assert outcome.pipeline.enrich == "fast"


@pytest.fixture
def crashing_enrichment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enrichment raises on the article titled ``CRASHES`` (``tests.crashing_stage``)."""
    monkeypatch.setattr(pipeline, "enrich", crashing(pipeline.enrich))


@pytest.mark.usefixtures("crashing_enrichment")
def test_an_error_nobody_foresaw_in_one_article_of_a_jsonl_file_fails_that_line_alone(
        redis_client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    """Line 5 is titled for the injected fault (``tests.crashing_stage``): enrichment raises on it."""
    settings = Settings(enrich="fast")
    data = jsonl_from_seeds(12, crashing=5)
    with caplog.at_level(logging.ERROR, logger="worker.service.policy"):
        outcomes = policy.run_or_fail(source(data, "feed.jsonl"), data, None,
                                      DedupIndex.from_settings(redis_client, settings), settings)
    assert [(o.source.line, type(o).__name__) for o in outcomes] == \
           [(line, "FailureRecord" if line == 5 else "Record") for line in range(1, 13)]
    failure = outcomes[4]
    assert failure.id == record_id(hashlib.sha256(data).hexdigest(), 5)
    assert (failure.error.type, failure.error.message) == \
           ("internal_error", f"line 5: {MESSAGE}")
    [logged] = caplog.records
    assert (logged.getMessage(), logged.file_id, logged.line) == ("failed on feed.jsonl, line 5", failure.id, 5)
    assert logged.exc_info is not None


@pytest.mark.usefixtures("crashing_enrichment")
def test_an_error_nobody_foresaw_in_one_element_of_a_json_array_fails_that_element_alone(
        redis_client: redis.Redis) -> None:
    settings = Settings(enrich="fast")
    rows = [json.loads(row) for row in jsonl_from_seeds(6, crashing=5).splitlines()]
    data = json.dumps({"articles": rows}).encode()
    outcomes = policy.run_or_fail(source(data, "export.json"), data, None,
                                  DedupIndex.from_settings(redis_client, settings), settings)
    assert [type(o).__name__ for o in outcomes] == ["Record", "Record", "Record", "Record", "FailureRecord", "Record"]
    assert outcomes[4].error.message == f"article 5 of the JSON array: {MESSAGE}"


@pytest.mark.usefixtures("crashing_enrichment")
def test_an_error_nobody_foresaw_in_the_one_article_of_a_file_fails_the_file_under_its_own_id(
        redis_client: redis.Redis) -> None:
    settings = Settings(enrich="fast")
    data = json.dumps({"title": CRASHES, "text": SEEDS[0].read_text()}).encode()
    [failure] = policy.run_or_fail(source(data, "story.json"), data, None,
                                   DedupIndex.from_settings(redis_client, settings), settings)
    assert isinstance(failure, FailureRecord) and failure.source.line is None
    assert failure.id == hashlib.sha256(data).hexdigest()[:24]
    assert failure.error.message == MESSAGE


def test_the_tasks_time_limit_met_in_one_article_fails_the_whole_slice_not_that_article(
        redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery raises its soft time limit (a signal) in whatever article runs at the time; no input
    raises it within a test's time, so enrich is replaced in-process (pytest's monkeypatch) to
    raise it on the slice's second article. The slice fails whole: ending only that article, the
    next ones would run on into the hard limit, which kills the process."""
    from celery.exceptions import SoftTimeLimitExceeded

    from tests.crashing_stage import raising

    monkeypatch.setattr(pipeline, "enrich", raising(pipeline.enrich, lambda article: "Archive item 42." in article.body,
                                                    SoftTimeLimitExceeded("SoftTimeLimitExceeded()")))
    settings = Settings(enrich="fast")
    data = b"".join(jsonl_from_seeds(45).splitlines(keepends=True)[40:])  # lines 41-45
    [failure] = policy.run_or_fail(source(data, "feed.jsonl"), data, None,
                                   DedupIndex.from_settings(redis_client, settings), settings, first_line=41)
    assert (failure.source.line, failure.error.type) == (41, "internal_error")
    assert failure.error.message.startswith("SoftTimeLimitExceeded")


def test_redis_away_in_the_middle_of_a_file_is_still_raised_for_a_retry_not_an_articles_failure() -> None:
    """Guards the line between the two answers: each article's dedup check meets Redis gone."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(enrich="off")
    data = jsonl_from_seeds(3)
    gone = redis.Redis(port=port, socket_connect_timeout=1)
    with pytest.raises(redis.ConnectionError):
        policy.run_or_fail(source(data, "feed.jsonl"), data, None, DedupIndex.from_settings(gone, settings), settings)


def test_every_failure_record_carries_the_configured_enrichment_level(redis_client: redis.Redis) -> None:
    settings = Settings(enrich="full")
    index = DedupIndex.from_settings(redis_client, settings)
    verdict = policy.classify(redis.ConnectionError("gone"), settings)
    failures = [
        policy.run_or_fail(SOURCE, b"", BadInput("vanished", "gone"), index, settings)[0],
        policy.gave_up(SOURCE, verdict, 5, settings),
        policy.poisoned(SOURCE, 3, settings),
    ]
    assert [f.pipeline.enrich for f in failures] == ["full", "full", "full"]


def test_a_poison_failure_record_says_how_many_times_the_worker_died() -> None:
    failure = policy.poisoned(SOURCE, 3, Settings())
    assert failure.error.type == "poison"
    assert failure.error.message.startswith("the worker process died 3 times while processing this file")


def test_an_unforeseen_exception_of_many_lines_is_a_one_line_failure_message() -> None:
    said = "Traceback of a library:\n  line 1\n" + "x" * 2000
    failure = policy.internal_error(SOURCE, ValueError(said), Settings(enrich="fast"))
    assert failure.error.message.startswith("ValueError: Traceback of a library: line 1 xxx")
    assert "\n" not in failure.error.message and len(failure.error.message) <= 520
