"""The seeds through the whole pipeline (full enrichment) into a real Redis: four events on one
topic over thirteen months stay apart, and another outlet's report of seed 003's phone call joins
it. Seeds 000 and 001 (the Davos meeting, a week apart) may share a story."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import redis

from worker import pipeline
from worker.models import Record
from worker.pipeline.dedupe import DedupIndex
from worker.settings import Settings
from worker.sources.messages import read_source

from .conftest import DATA, SEEDS

PARAPHRASE_003 = DATA / "stories" / "003_call_other_outlet.txt"
# Seed 000 carries no date line; it reports a meeting of Jan. 23, 2026 and arrives then.
ARRIVED = datetime(2026, 1, 23, 18, 0, tzinfo=timezone.utc)


def records(redis_url: str) -> dict[str, Record]:
    """Seeds 000-003 and the other outlet's report, in that order: record by seed number."""
    settings = Settings(enrich="full")
    index = DedupIndex.from_settings(redis.Redis.from_url(redis_url), settings)
    out = {}
    for name, path in [*((seed.name[:3], seed) for seed in SEEDS[:4]), ("other", PARAPHRASE_003)]:
        source, data, _ = read_source(path, path.parent, settings.max_file_bytes)
        source = source.model_copy(update={"received_at": ARRIVED})
        [out[name]] = pipeline.run(source, data, index, settings)
    return out


def test_seeds_000_to_003_stay_four_events_000_and_001_may_share_one(redis_url: str) -> None:
    story = {name: record.story.id for name, record in records(redis_url).items()}
    assert story["002"] != story["003"]
    assert {story["000"], story["001"]}.isdisjoint({story["002"], story["003"]})


def test_another_outlets_report_of_the_call_joins_seed_003s_story(redis_url: str) -> None:
    got = records(redis_url)
    assert got["003"].story.id == got["003"].id  # the call opened its story
    assert got["other"].story.id == got["003"].id
    assert got["other"].story.size == 2
    assert got["other"].story.basis == ["body"]


def test_with_stories_off_a_record_has_no_story_and_the_index_stays_empty(redis_url: str, monkeypatch) -> None:
    monkeypatch.setenv("INGEST_STORIES", "off")
    settings = Settings(enrich="fast")
    client = redis.Redis.from_url(redis_url)
    source, data, _ = read_source(SEEDS[3], SEEDS[3].parent, settings.max_file_bytes)
    [record] = pipeline.run(source, data, DedupIndex.from_settings(client, settings), settings)
    assert isinstance(record, Record) and record.dedup.status == "unique"
    assert record.story is None
    assert list(client.scan_iter(match="ingest:stories:*")) == []
