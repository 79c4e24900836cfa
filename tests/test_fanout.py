"""Fan-out of big JSONL files: slices of a few hundred lines whose records are exactly the
records of the whole file (same ids, same lines, same failures), plain or gzip."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime, timezone

import pytest
import redis

from tests.service import jsonl_from_seeds
from worker import pipeline
from worker.models import FailureRecord, Record, SourceFile
from worker.pipeline.dedupe import DedupIndex
from worker.service import fanout
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
