"""Story assignment through the whole service: reports of twenty events dropped at once and
handled by two worker processes at the same moment still give one story per event."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.service import Service
from tests.stories_corpus import EVENTS, reports

pytestmark = pytest.mark.integration


def test_200_reports_of_20_events_on_two_workers_give_20_stories_none_split(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path)
    try:
        for number, (event, text) in enumerate(reports(per_event=10)):
            (service.inbox / f"event{event:02d}-{number:03d}.txt").write_text(text, encoding="utf-8")
        service.start_worker("worker-a", concurrency=2)
        service.start_worker("worker-b", concurrency=2)
        service.start_watcher()
        records = service.wait_for_records(200, timeout=180)
    finally:
        service.stop_all()
    stories_of_event: dict[str, set[str]] = defaultdict(set)
    for record in records:
        stories_of_event[record["source"]["name"][:7]].add(record["story"]["id"])
    assert len(stories_of_event) == len(EVENTS)
    assert all(len(ids) == 1 for ids in stories_of_event.values()), stories_of_event
    assert len({next(iter(ids)) for ids in stories_of_event.values()}) == len(EVENTS)
    sizes = defaultdict(list)
    for record in records:
        sizes[record["story"]["id"]].append(record["story"]["size"])
    assert all(sorted(s) == list(range(1, 11)) for s in sizes.values())  # each size given once


def test_ingest_story_lists_a_storys_articles_in_the_order_they_joined(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path)
    try:
        texts = [text for event, text in reports(per_event=3) if event == 0]
        for number, text in enumerate(texts):
            (service.inbox / f"report-{number}.txt").write_text(text, encoding="utf-8")
        service.start_worker("worker", concurrency=1)
        service.start_watcher()
        records = service.wait_for_records(3, timeout=120)
    finally:
        service.stop_all()
    by_size = sorted(records, key=lambda r: r["story"]["size"])
    story_id = by_size[0]["story"]["id"]
    result = subprocess.run([sys.executable, "-m", "worker.cli", "story", by_size[-1]["id"]], cwd=ROOT,
                            env=service.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"story {story_id}: 3 article(s)"
    assert [line.split()[1] for line in lines[1:]] == [r["id"] for r in by_size]
