"""Bounded work per article: a word limit, an enrichment window and a time budget that fails as
`timeout` naming the stage (``worker/pipeline/budget.py``)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis

from tests.conftest import SEEDS
from worker import pipeline
from worker.errors import BadInput
from worker.models import Article, FailureRecord, Record, SourceFile
from worker.pipeline.budget import Deadline, first_words, has_more_words
from worker.pipeline.dedupe import DedupIndex
from worker.pipeline.enrich import enrich
from worker.settings import Settings


def source(data: bytes, name: str) -> SourceFile:
    return SourceFile(name=name, path=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                      received_at=datetime.now(timezone.utc))


def run(data: bytes, name: str, redis_client: redis.Redis, settings: Settings):
    return pipeline.run(source(data, name), data, DedupIndex.from_settings(redis_client, settings), settings)


def long_article() -> str:
    """The five seed articles one after another: a real, long news text (about 1,900 words)."""
    return "\n\n".join(path.read_text(encoding="utf-8") for path in SEEDS)


def test_word_counting_stops_at_the_limit_and_the_window_ends_on_a_word() -> None:
    assert has_more_words("one two three", 2) and not has_more_words("one two three", 3)
    assert first_words("one two  three four", 3) == "one two  three"
    assert first_words("one two", 2) is None


def test_an_article_longer_than_the_enrich_window_is_kept_whole_flagged_and_enriched_over_its_start(
        redis_client: redis.Redis, tmp_path: Path) -> None:
    text = long_article()
    settings = Settings(enrich="full", enrich_words=400, records_dir=tmp_path)
    [record] = run(text.encode(), "long.txt", redis_client, settings)
    assert isinstance(record, Record), record
    assert record.truncated and record.word_count > 1500
    window_end = len(first_words(record.body, 400))
    spans = [o for group in (record.entities.persons, record.entities.locations) for e in group for o in e.offsets]
    assert spans and all(end <= window_end for _, end in spans)
    assert all(q.offset[1] <= window_end for q in record.quotes)


def test_an_article_within_the_enrich_window_is_not_flagged(redis_client: redis.Redis, tmp_path: Path) -> None:
    data = SEEDS[0].read_bytes()
    [record] = run(data, "seed.txt", redis_client, Settings(enrich="fast", records_dir=tmp_path))
    assert isinstance(record, Record) and not record.truncated


def test_a_deadline_names_the_step_that_ran_past_it() -> None:
    deadline = Deadline(30, clock=iter([0.0, 10.0, 31.0]).__next__)
    deadline.check("enrich (ner)")  # 10 s in: within the budget
    with pytest.raises(BadInput) as caught:
        deadline.check("enrich (quotes)")
    assert caught.value.kind == "timeout"
    assert caught.value.message.startswith("timeout: enrich (quotes) exceeded 30 s")


@pytest.mark.parametrize("level, steps", [
    ("fast", ["names", "entities", "quotes", "amounts", "dates", "keywords", "tone"]),
    ("full", ["names", "ner", "entities", "quotes", "amounts", "dates", "keywords", "tone"]),
])
def test_enrich_checks_the_budget_before_every_step(level: str, steps: list[str]) -> None:
    called: list[str] = []
    enrich(Article(body=SEEDS[4].read_text(encoding="utf-8")), level, check=called.append)
    assert list(dict.fromkeys(called)) == [f"enrich ({step})" for step in steps]


def test_the_model_checks_the_budget_before_each_chunk_of_a_long_body() -> None:
    called: list[str] = []
    enrich(Article(body=long_article() * 2), "full", check=called.append)  # 24,000 characters
    assert called.count("enrich (ner)") > 1


def test_an_article_past_its_time_budget_is_a_timeout_failure_naming_the_stage(
        redis_client: redis.Redis, tmp_path: Path) -> None:
    data = SEEDS[0].read_bytes()
    [outcome] = run(data, "seed.txt", redis_client, Settings(enrich="fast", article_seconds=0, records_dir=tmp_path))
    assert isinstance(outcome, FailureRecord), outcome
    assert outcome.error.type == "timeout"
    assert outcome.error.message.startswith("timeout: parse exceeded 0 s")


def test_each_line_of_a_jsonl_file_has_its_own_budget_and_failure(redis_client: redis.Redis, tmp_path: Path) -> None:
    lines = [f'{{"title": "Story {n}", "text": "Officials met on Monday in Geneva, story {n}."}}' for n in (1, 2)]
    data = "\n".join(lines).encode()
    results = run(data, "two.jsonl", redis_client, Settings(enrich="fast", article_seconds=0, records_dir=tmp_path))
    assert [(o.source.line, o.error.type) for o in results] == [(1, "timeout"), (2, "timeout")]
