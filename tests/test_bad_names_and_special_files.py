"""Odd names and special files through the real watcher: each ends as one record or failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS
from tests.service import Service, wait_until

pytestmark = pytest.mark.integration

NAMES = ["with spaces in it.txt", "line\nbreak.txt", "Новости Киева.txt", "新闻.txt",
         "x" * 251 + ".txt"]  # 255 bytes, the longest a name can be


@pytest.fixture
def service(redis_url: str, tmp_path: Path):
    svc = Service(redis_url, tmp_path)
    svc.start_worker()
    svc.start_watcher()
    yield svc
    svc.stop_all()


def test_names_with_spaces_newlines_non_latin_and_255_bytes_become_records(service: Service) -> None:
    for name, seed in zip(NAMES, SEEDS):
        shutil.copy(seed, service.inbox / name)
    records = service.wait_for_records(len(NAMES))
    assert sorted(r["source"]["name"] for r in records) == sorted(NAMES)
    assert all(Path(p).name == f"{r['id']}.json" for r, p in
               zip(records, sorted(service.records.glob("*.json"))))


def test_symlink_pointing_outside_the_inbox_is_never_followed(service: Service, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    shutil.copy(SEEDS[0], secret)
    (service.inbox / "link.txt").symlink_to(secret)
    wait_until(lambda: len(service.failures_list()) == 1, 30, "a failure record")
    failure = service.failures_list()[0]
    assert failure["error"]["type"] == "symlink"
    assert failure["error"]["message"] == "a symbolic link: links are never followed"
    assert service.records_list() == []
    assert secret.exists()


def test_fifo_is_recorded_as_a_failure_without_blocking_the_watcher(service: Service) -> None:
    os.mkfifo(service.inbox / "pipe.txt")
    shutil.copy(SEEDS[1], service.inbox / "after.txt")
    service.wait_for_records(1)
    wait_until(lambda: len(service.failures_list()) == 1, 30, "a failure record")
    assert service.failures_list()[0]["error"]["type"] == "not_regular_file"


DROP_READ_CAPS = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                  "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("setpriv") is None,
                    reason="root reads every file, and setpriv is not here to drop that power")
def test_unreadable_file_gives_a_failure_record(redis_url: str, tmp_path: Path) -> None:
    """As root (CI), the watcher runs without the capabilities that let root read any file."""
    service = Service(redis_url, tmp_path)
    try:
        service.start_worker()
        log = open(service.logs / "watcher.log", "ab")
        prefix = DROP_READ_CAPS if os.geteuid() == 0 else []
        service.processes["watcher"] = subprocess.Popen(
            [*prefix, sys.executable, "-m", "worker.cli", "watch"], cwd=ROOT, env=service.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        service.wait_for_log("watcher", "watching")
        locked = tmp_path / "locked.txt"  # unreadable before it enters the inbox, or it may be read
        shutil.copy(SEEDS[2], locked)
        locked.chmod(0)
        locked.rename(service.inbox / "locked.txt")
        wait_until(lambda: len(service.failures_list()) == 1, 30, lambda: "a failure record:\n" + service.log_text("watcher"))
        failure = service.failures_list()[0]
        assert failure["error"]["type"] == "unreadable"
        assert failure["error"]["message"] == "permission denied: the file cannot be read"
    finally:
        service.stop_all()


def test_file_removed_between_its_event_and_its_read_gives_a_failure_record(service: Service) -> None:
    from worker.sources.messages import read_source

    path = service.inbox / "gone.txt"
    source, data, error = read_source(path, service.inbox, 1000)  # what the watcher sees after a removal
    assert error is not None and error.kind == "vanished"
    assert error.message == "the file was removed before it could be read"
