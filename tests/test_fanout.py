"""Fan-out of big JSONL files: slices of a few hundred lines whose records are exactly the
records of the whole file (same ids, same lines, same failures), plain or gzip."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis

from tests.crashing_stage import MESSAGE, crashing
from tests.service import jsonl_from_seeds
from worker import pipeline
from worker.models import FailureRecord, Record, SourceFile, record_id
from worker.pipeline.dedupe import DedupIndex
from worker.service import fanout, policy
from worker.service.delivery import deliver
from worker.service.redis_client import DEAD_MESSAGE
from worker.settings import Settings
from worker.sources.messages import make_message, open_message


def message(data: bytes, name: str) -> dict:
    source = SourceFile(name=name, path=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                        received_at=datetime(2026, 12, 1, tzinfo=timezone.utc))
    return make_message(source, data)


@pytest.fixture
def settings() -> Settings:
    return Settings(enrich="off", fanout_articles=40)


def run_message(item: dict, client: redis.Redis, settings: Settings) -> list:
    source, data, _ = open_message(item)
    index = DedupIndex.from_settings(client, settings)
    return pipeline.run(source, data, index, settings, first_line=fanout.first_line(item))


def test_a_file_of_fanout_articles_lines_or_fewer_runs_whole(settings: Settings) -> None:
    assert fanout.slices(message(jsonl_from_seeds(40), "feed.jsonl"), settings) == []


def test_a_big_file_splits_into_slices_of_fanout_articles_lines_numbered_from_the_whole(settings: Settings) -> None:
    parts = fanout.slices(message(jsonl_from_seeds(130), "feed.jsonl"), settings)
    assert [p["slice"] for p in parts] == [
        {"first_line": 1, "lines": 40}, {"first_line": 41, "lines": 40},
        {"first_line": 81, "lines": 40}, {"first_line": 121, "lines": 10},
    ]
    assert {p["source"]["sha256"] for p in parts} == {message(jsonl_from_seeds(130), "x")["source"]["sha256"]}


def test_a_big_file_not_named_jsonl_runs_whole(settings: Settings) -> None:
    assert fanout.slices(message(jsonl_from_seeds(130), "feed.txt"), settings) == []


def test_slices_give_the_records_of_the_whole_file_with_the_same_ids(
        settings: Settings, redis_client: redis.Redis) -> None:
    item = message(jsonl_from_seeds(100, bad_line=57), "feed.jsonl")
    whole = run_message(item, redis_client, settings)
    redis_client.flushdb()
    split = [o for part in fanout.slices(item, settings) for o in run_message(part, redis_client, settings)]
    assert [(o.id, o.source.line, type(o).__name__) for o in split] == \
           [(o.id, o.source.line, type(o).__name__) for o in whole]
    assert [o.body for o in split if isinstance(o, Record)] == [o.body for o in whole if isinstance(o, Record)]
    [bad] = [o for o in split if isinstance(o, FailureRecord)]
    assert bad.source.line == 57 and bad.error.message.startswith("line 57:")


def test_slices_of_a_gzip_file_are_gzip_and_their_records_say_so(settings: Settings, redis_client: redis.Redis) -> None:
    item = message(gzip.compress(jsonl_from_seeds(90)), "feed.jsonl.gz")
    parts = fanout.slices(item, settings)
    assert len(parts) == 3
    records = [o for part in parts for o in run_message(part, redis_client, settings)]
    assert len(records) == 90
    assert {r.source.compression for r in records} == {"gzip"}
    assert [r.source.line for r in records] == list(range(1, 91))


def _array(lines: int, *, wrapper: str | None = None, bad: int | None = None) -> bytes:
    """The articles of ``jsonl_from_seeds`` as one JSON array (optionally under a wrapper key;
    element ``bad`` a string, not an article)."""
    articles = [json.loads(line) for line in jsonl_from_seeds(lines).splitlines()]
    if bad is not None:
        articles[bad - 1] = "not an article"
    return json.dumps({wrapper: articles} if wrapper else articles).encode("utf-8")


def test_a_big_json_array_splits_into_arrays_numbered_from_the_whole_and_no_lone_last_element(
        settings: Settings) -> None:
    parts = fanout.slices(message(_array(81), "export.json"), settings)
    assert [p["slice"] for p in parts] == [{"first_line": 1, "lines": 40}, {"first_line": 41, "lines": 41}]
    assert fanout.slices(message(_array(40), "export.json"), settings) == []


@pytest.mark.parametrize("wrapper", [None, "articles", "items"])
def test_slices_of_a_json_export_give_the_records_of_the_whole_file_with_the_same_ids(
        settings: Settings, redis_client: redis.Redis, wrapper: str | None) -> None:
    item = message(_array(95, wrapper=wrapper, bad=57), "export.json")
    whole = run_message(item, redis_client, settings)
    redis_client.flushdb()
    split = [o for part in fanout.slices(item, settings) for o in run_message(part, redis_client, settings)]
    assert len(split) == 95
    assert [(o.id, o.source.line, o.source.format) for o in split] == \
           [(o.id, o.source.line, o.source.format) for o in whole]
    [bad] = [o for o in split if isinstance(o, FailureRecord)]
    assert bad.source.line == 57 and bad.error.message.startswith("article 57 of the JSON array:")


def _with_bad_lines(lines: int, bad: set[int]) -> bytes:
    """``jsonl_from_seeds(lines)`` with each line of ``bad`` cut short (malformed JSON)."""
    rows = jsonl_from_seeds(lines).splitlines(keepends=True)
    for line in bad:
        rows[line - 1] = b'{"title": "cut short", "text": \n'
    return b"".join(rows)


def _dead_letters(item: dict, client: redis.Redis, settings: Settings) -> dict[str, dict]:
    """Run ``item`` as the task does and deliver its outcomes; the message each dead letter keeps."""
    source, data, error = open_message(item)
    outcomes = policy.run_or_fail(source, data, error, DedupIndex.from_settings(client, settings), settings,
                                  first_line=fanout.first_line(item))
    deliver(outcomes, item, client, settings, per_article=True)
    return {key.decode().removeprefix(DEAD_MESSAGE): json.loads(client.get(key))
            for key in client.scan_iter(match=DEAD_MESSAGE + "*")}


@pytest.fixture
def delivering(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"records_dir": tmp_path / "records", "sinks": "files"})


def test_each_failed_line_of_a_slice_is_dead_lettered_with_a_message_of_that_line_alone(
        delivering: Settings, redis_client: redis.Redis) -> None:
    data = _with_bad_lines(100, {45, 47})
    item = message(data, "feed.jsonl")
    second = fanout.slices(item, delivering)[1]  # lines 41-80
    kept = _dead_letters(second, redis_client, delivering)
    sha256 = item["source"]["sha256"]
    assert set(kept) == {record_id(sha256, 45), record_id(sha256, 47)}
    for line in (45, 47):
        retry = kept[record_id(sha256, line)]
        assert retry["slice"] == {"first_line": line, "lines": 1}
        assert retry["source"] == item["source"]  # the whole file's identity
        assert base64.b64decode(retry["content"]) == data.splitlines(keepends=True)[line - 1]


def test_retrying_every_dead_letter_of_a_slice_runs_each_failed_line_once_and_no_good_line(
        delivering: Settings, redis_client: redis.Redis) -> None:
    item = message(_with_bad_lines(100, {45, 47, 52}), "feed.jsonl")
    kept = _dead_letters(fanout.slices(item, delivering)[1], redis_client, delivering)
    retried = {failure_id: run_message(retry, redis_client, delivering) for failure_id, retry in kept.items()}
    assert {failure_id: [(o.id, type(o).__name__) for o in outcomes] for failure_id, outcomes in retried.items()} == \
           {failure_id: [(failure_id, "FailureRecord")] for failure_id in kept}
    assert sorted(o.source.line for outcomes in retried.values() for o in outcomes) == [45, 47, 52]
    assert all(o.error.message.startswith(f"line {o.source.line}:") for outcomes in retried.values() for o in outcomes)


def test_an_internal_error_of_one_line_of_a_slice_is_dead_lettered_and_retried_as_that_line_alone(
        delivering: Settings, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Line 55 is titled for the injected fault (``tests.crashing_stage``): enrichment raises on it."""
    monkeypatch.setattr(pipeline, "enrich", crashing(pipeline.enrich))
    settings = delivering.model_copy(update={"enrich": "fast"})
    data = jsonl_from_seeds(100, crashing=55)
    item = message(data, "feed.jsonl")
    [(failure_id, retry)] = _dead_letters(fanout.slices(item, settings)[1], redis_client, settings).items()
    assert failure_id == record_id(item["source"]["sha256"], 55)
    assert retry["slice"] == {"first_line": 55, "lines": 1}
    assert base64.b64decode(retry["content"]) == data.splitlines(keepends=True)[54]
    [again] = policy.run_or_fail(*open_message(retry), DedupIndex.from_settings(redis_client, settings), settings,
                                 first_line=fanout.first_line(retry))
    assert (again.id, again.error.type, again.error.message) == \
           (failure_id, "internal_error", f"line 55: {MESSAGE}")


def test_a_failed_line_of_a_jsonl_file_run_whole_is_dead_lettered_alone_too(
        delivering: Settings, redis_client: redis.Redis) -> None:
    item = message(_with_bad_lines(30, {7, 9}), "feed.jsonl")  # under fanout_articles: one task
    kept = _dead_letters(item, redis_client, delivering)
    assert sorted(retry["slice"]["first_line"] for retry in kept.values()) == [7, 9]
    assert {retry["slice"]["lines"] for retry in kept.values()} == {1}


def test_a_failed_line_of_a_gzip_file_is_retried_as_that_line_in_gzip(
        delivering: Settings, redis_client: redis.Redis) -> None:
    data = _with_bad_lines(90, {50})
    item = message(gzip.compress(data), "feed.jsonl.gz")
    [retry] = _dead_letters(fanout.slices(item, delivering)[1], redis_client, delivering).values()
    assert gzip.decompress(base64.b64decode(retry["content"])) == data.splitlines(keepends=True)[49]
    [again] = run_message(retry, redis_client, delivering)
    assert again.id == record_id(item["source"]["sha256"], 50)


def test_a_failed_element_of_a_json_slice_is_retried_as_an_array_of_that_element_under_its_id(
        delivering: Settings, redis_client: redis.Redis) -> None:
    item = message(_array(95, bad=57), "export.json")
    [retry] = _dead_letters(fanout.slices(item, delivering)[1], redis_client, delivering).values()
    assert json.loads(base64.b64decode(retry["content"])) == ["not an article"]
    [again] = run_message(retry, redis_client, delivering)
    assert again.id == record_id(item["source"]["sha256"], 57)
    assert again.error.message.startswith("article 57 of the JSON array:")


def test_a_slice_of_one_element_of_a_json_array_is_that_element_of_the_array_not_a_whole_file(
        settings: Settings, redis_client: redis.Redis) -> None:
    item = message(_array(95), "export.json")
    whole = {o.id: o for o in run_message(item, redis_client, settings)}
    redis_client.flushdb()
    [alone] = fanout.article_messages(item, [60], settings).values()
    [record] = run_message(alone, redis_client, settings)
    assert record.id == record_id(item["source"]["sha256"], 60)
    assert (record.source.line, record.source.format, record.body) == \
           (60, "json", whole[record.id].body)


def test_a_message_whose_slice_is_null_runs_as_the_whole_file(settings: Settings, redis_client: redis.Redis) -> None:
    item = {**message(jsonl_from_seeds(3), "feed.jsonl"), "slice": None}  # valid: FileMessage allows it
    assert [o.source.line for o in run_message(item, redis_client, settings)] == [1, 2, 3]


def test_failures_of_two_whole_slices_of_one_file_keep_a_dead_letter_each_holding_its_slice(
        delivering: Settings, redis_client: redis.Redis, tmp_path: Path) -> None:
    broken = delivering.model_copy(update={"boilerplate_file": tmp_path / "missing.yaml"})  # internal_error
    parts = fanout.slices(message(jsonl_from_seeds(100), "feed.jsonl"), broken)
    for part in parts[:2]:
        kept = _dead_letters(part, redis_client, broken)
    assert sorted((retry["slice"]["first_line"], retry["slice"]["lines"]) for retry in kept.values()) == \
           [(1, 40), (41, 40)]
