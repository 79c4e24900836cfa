"""The watcher never takes a file before it is complete (issue 12): the real service."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS
from tests.service import Service, wait_until
from worker.settings import Settings

pytestmark = pytest.mark.integration

ARTICLE = SEEDS[2].read_bytes()


def _chunks(data: bytes, count: int) -> list[bytes]:
    size = -(-len(data) // count)
    return [data[start:start + size] for start in range(0, len(data), size)]


def _one_whole_record(service: Service) -> dict:
    records = service.wait_for_records(1)
    time.sleep(1.0)  # a second record of a fragment would show up by now
    records = service.records_list()
    assert len(records) == 1 and service.failures_list() == []
    assert records[0]["source"]["size"] == len(ARTICLE)
    assert records[0]["body"].rstrip().endswith("said Trump.")
    return records[0]


@pytest.fixture
def service(redis_url: str, tmp_path: Path):
    svc = Service(redis_url, tmp_path)
    svc.start_worker()
    svc.start_watcher()
    yield svc
    svc.stop_all()


def test_slow_upload_through_one_handle_pausing_longer_than_the_settle_time_gives_one_whole_record(
        service: Service) -> None:
    """scp, FTP, a network copy: one open handle, chunks 1.5 s apart (the settle time is 0.5 s)."""
    with open(service.inbox / "upload.txt", "wb") as handle:
        for chunk in _chunks(ARTICLE, 4):
            handle.write(chunk)
            handle.flush()
            time.sleep(1.5)
    _one_whole_record(service)
    assert not (service.inbox / "upload.txt").exists()
    assert (service.inbox / ".done" / "upload.txt").read_bytes() == ARTICLE


def test_appender_closing_after_every_chunk_gives_one_whole_record(redis_url: str, tmp_path: Path) -> None:
    """`>>` in a loop, 1 s apart, with the default settle time."""
    service = Service(redis_url, tmp_path, settle_seconds=str(Settings.model_fields["settle_seconds"].default))
    try:
        service.start_worker()
        service.start_watcher()
        for chunk in _chunks(ARTICLE, 5):
            with open(service.inbox / "appended.txt", "ab") as handle:
                handle.write(chunk)
            time.sleep(1.0)
        _one_whole_record(service)
        assert "queued appended.txt" in service.log_text("watcher")
    finally:
        service.stop_all()


def test_ignored_file_gets_one_log_line_and_is_listed_by_status(service: Service) -> None:
    (service.inbox / "notes.txt.swp").write_bytes(ARTICLE)
    service.wait_for_log("watcher", "notes.txt.swp is ignored")
    time.sleep(2.5)  # past a rescan (every 2 s here), which finds it again
    assert service.log_text("watcher").count("notes.txt.swp is ignored") == 1
    status = subprocess.run([sys.executable, "-m", "worker.cli", "status"], cwd=ROOT, env=service.env,
                            capture_output=True, text=True, timeout=60)
    assert "ignored     1 file(s)" in status.stdout
    assert "notes.txt.swp  (temporary or partial-download name)" in status.stdout
    assert (service.inbox / "notes.txt.swp").exists()
