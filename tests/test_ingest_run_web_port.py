"""`ingest run` whose web view cannot start: the rest of the service runs on, and no zombie is left."""

from __future__ import annotations

import shutil
import signal
import socket
from pathlib import Path

import psutil
import pytest

from tests.conftest import SEEDS
from tests.service import run_env, start_ingest_run, wait_until

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("tmp_path_store_removed")
def test_a_web_view_whose_port_is_taken_is_reaped_and_the_service_goes_on(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    home = tmp_path
    run = start_ingest_run(home, run_env(INGEST_ENRICH="off", INGEST_METRICS_PORT="0", INGEST_WORKER_METRICS_PORT="0",
                                         INGEST_WEB_PORT=str(taken.getsockname()[1])))
    try:
        wait_until(lambda: b"the web view exited" in (home / "run.log").read_bytes(), 90,
                   "the web view's exit to be noticed")
        children = psutil.Process(run.pid).children(recursive=True)
        assert [c.pid for c in children if c.status() == psutil.STATUS_ZOMBIE] == []
        wait_until(lambda: b"watching" in (home / "run.log").read_bytes(), 60, "the watcher to start")
        shutil.copy(SEEDS[0], home / "inbox" / SEEDS[0].name)
        wait_until(lambda: len(list((home / "records").glob("*.json"))) == 1, 60, "a record")
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(60)
        taken.close()
