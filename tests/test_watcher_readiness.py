"""The watcher's side of readiness: the writers check, re-stat after reading, ignored files.

Real files, the real /proc and the session's real Redis; the observer is left out (the
integration tests in `test_watcher_completeness.py` run the whole watcher process).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import SEEDS
from worker.settings import Settings
from worker.sources.watcher import Ready, Watcher, open_for_writing, signature


@pytest.fixture
def sent() -> list[dict]:
    return []


@pytest.fixture
def watcher(tmp_path: Path, redis_client: redis.Redis, sent: list[dict]) -> Watcher:
    settings = Settings(inbox=tmp_path / "inbox", records_dir=tmp_path / "records", settle_seconds=0.05)
    settings.inbox.mkdir()
    return Watcher(settings, redis_client, sent.append)


def _rounds_until_ready(watcher: Watcher, seconds: float) -> list[Ready]:
    """Readiness rounds for ``seconds`` (long enough for several writers checks)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready = watcher.ready_paths()
        if ready:
            return ready
        time.sleep(0.05)
    return []


def test_a_file_this_process_writes_is_found_held_open_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "upload.txt"
    with open(path, "wb") as handle:
        handle.write(b"first chunk")
        info = os.stat(path)
        assert (info.st_dev, info.st_ino) in open_for_writing(str(tmp_path))
    assert (info.st_dev, info.st_ino) not in open_for_writing(str(tmp_path))


def test_a_file_open_only_for_reading_is_not_held_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(SEEDS[0].read_bytes())
    with open(path, "rb"):
        info = os.stat(path)
        assert (info.st_dev, info.st_ino) not in open_for_writing(str(tmp_path))


def test_a_still_file_held_open_for_writing_is_not_taken_until_it_is_closed(watcher: Watcher) -> None:
    path = watcher.inbox / "upload.txt"
    with open(path, "wb") as handle:
        handle.write(SEEDS[0].read_bytes()[:400])
        handle.flush()
        watcher.mark(str(path))
        assert _rounds_until_ready(watcher, 1.5) == []
    assert [r.path for r in _rounds_until_ready(watcher, 3.0)] == [str(path)]


def test_a_file_that_grew_after_it_was_found_ready_is_not_queued_and_waits_again(
        watcher: Watcher, sent: list[dict]) -> None:
    path = watcher.inbox / "appended.txt"
    path.write_bytes(SEEDS[0].read_bytes()[:400])
    found = signature(str(path))
    with open(path, "ab") as handle:
        handle.write(SEEDS[0].read_bytes()[400:])
    watcher.submit([Ready(str(path), found)])
    assert sent == []
    assert path.exists() and str(path) in watcher.pending


def test_a_file_that_changed_after_it_was_read_is_not_moved_to_done(watcher: Watcher) -> None:
    path = watcher.inbox / "appended.txt"
    path.write_bytes(SEEDS[0].read_bytes()[:400])
    read = signature(str(path))
    with open(path, "ab") as handle:
        handle.write(SEEDS[0].read_bytes()[400:])
    watcher.set_aside(path, read)
    assert path.exists() and not (watcher.inbox / ".done" / "appended.txt").exists()
    assert str(path) in watcher.pending


def test_an_unchanged_queued_file_is_moved_to_done(watcher: Watcher, sent: list[dict]) -> None:
    path = watcher.inbox / "whole.txt"
    path.write_bytes(SEEDS[0].read_bytes())
    watcher.submit([Ready(str(path), signature(str(path)))])
    assert len(sent) == 1
    assert not path.exists() and (watcher.inbox / ".done" / "whole.txt").exists()


def test_a_queued_file_in_a_subfolder_goes_to_the_same_subfolder_of_done(watcher: Watcher) -> None:
    (watcher.inbox / "feeds" / "bbc").mkdir(parents=True)
    path = watcher.inbox / "feeds" / "bbc" / "a.txt"
    path.write_bytes(SEEDS[0].read_bytes())
    watcher.set_aside(path, signature(str(path)))
    assert not path.exists()
    assert (watcher.inbox / ".done" / "feeds" / "bbc" / "a.txt").read_bytes() == SEEDS[0].read_bytes()


def test_a_queued_file_never_replaces_one_of_the_same_name_in_done(watcher: Watcher) -> None:
    for seed in SEEDS[:2]:
        path = watcher.inbox / "a.txt"
        path.write_bytes(seed.read_bytes())
        watcher.set_aside(path, signature(str(path)))
    done = sorted((watcher.inbox / ".done").iterdir())
    assert [p.name for p in done][0] == "a.txt" and done[1].name.startswith("a.txt.")
    assert {p.read_bytes() for p in done} == {seed.read_bytes() for seed in SEEDS[:2]}


def test_a_done_folder_removed_while_the_watcher_runs_is_made_again(watcher: Watcher) -> None:
    first = watcher.inbox / "first.txt"
    first.write_bytes(SEEDS[0].read_bytes())
    watcher.set_aside(first, signature(str(first)))
    shutil.rmtree(watcher.inbox / ".done")
    second = watcher.inbox / "second.txt"
    second.write_bytes(SEEDS[1].read_bytes())
    watcher.set_aside(second, signature(str(second)))
    assert not second.exists() and (watcher.inbox / ".done" / "second.txt").exists()


def test_an_ignored_file_is_logged_once_and_listed_for_status(
        watcher: Watcher, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    path = watcher.inbox / "notes.txt.swp"
    path.write_bytes(b"swap")
    watcher.mark(str(path))
    with caplog.at_level(logging.WARNING, logger="worker.sources.watcher"):
        watcher.report_ignored(_rounds_until_ready(watcher, 3.0))
        watcher.scan()  # a rescan finds it again
        assert _rounds_until_ready(watcher, 0.5) == []
    assert [r.getMessage() for r in caplog.records] == [
        "notes.txt.swp is ignored (temporary or partial-download name): it stays in the inbox; "
        "rename it to have it taken"]
    assert json.loads(redis_client.hget("ingest:ignored", "notes.txt.swp")) == {
        "reason": "temporary or partial-download name", "size": 4}


def test_an_ignored_file_that_left_the_inbox_leaves_the_list(watcher: Watcher, redis_client: redis.Redis) -> None:
    path = watcher.inbox / "feed.partial"
    path.write_bytes(b"<rss")
    watcher.mark(str(path))
    watcher.report_ignored(_rounds_until_ready(watcher, 3.0))
    path.rename(watcher.inbox / "feed.xml")
    watcher.forget_gone_ignored()
    assert redis_client.hlen("ingest:ignored") == 0 and watcher.ignored == {}


def test_files_in_the_done_folder_are_never_pending(watcher: Watcher) -> None:
    done = watcher.inbox / ".done"
    done.mkdir()
    (done / "a.txt").write_bytes(b"queued before")
    watcher.mark(str(done / "a.txt"))
    assert watcher.pending == {}
