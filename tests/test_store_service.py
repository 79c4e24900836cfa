"""The store and the stream in the running service: real workers, watcher, Redis and PostgreSQL.

Enrichment is off or fast but in the `ingest run` test: these tests are about delivery.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis

from tests.conftest import SEEDS
from tests.service import Service, outcome_count, wait_until, wait_while_progressing, write_articles
from worker.service.embedded import free_port
from worker.sinks.stream import STREAM
from worker.store import connect
from worker.store.embedded import remove_store

pytestmark = pytest.mark.integration


def _report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with capsys.disabled():
        print(f"\n    {text}")


def _rows(url: str, table: str = "records") -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(f"SELECT id, source_sha256 FROM {table}").fetchall()


def test_seeds_through_the_service_land_in_files_postgres_and_the_stream(
        redis_url: str, postgres_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path, sinks="files,postgres,stream", postgres_url=postgres_url)
    client = redis.Redis.from_url(redis_url)
    client.xgroup_create(STREAM, "dashboard", id="0", mkstream=True)
    try:
        service.start_worker()
        service.start_watcher()
        for seed in SEEDS:
            shutil.copy(seed, service.inbox / seed.name)
        records = service.wait_for_records(5)
        assert {row[0] for row in _rows(postgres_url)} == {r["id"] for r in records}
        read = client.xreadgroup("dashboard", "web-1", {STREAM: ">"}, count=100, block=2000)
        events = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in read[0][1]]
        assert sorted(e["id"] for e in events) == sorted(r["id"] for r in records)
        assert {e["source"] for e in events} == {seed.name for seed in SEEDS}
        assert {e["status"] for e in events} == {"unique"}
    finally:
        service.stop_all()
        client.close()


def test_postgres_stopped_mid_burst_then_started_loses_and_doubles_nothing(
        redis_url: str, postgres_url: str, postgres_server, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    files = 2000
    health_port = free_port()
    service = Service(redis_url, tmp_path, enrich="off", sinks="files,postgres", postgres_url=postgres_url,
                      worker_metrics_port=str(health_port), visibility_timeout="30")
    try:
        service.start_worker(concurrency=2)
        write_articles(service.inbox, files)
        started = time.monotonic()
        service.start_watcher()
        wait_until(lambda: outcome_count(service) >= 300, 60, "300 records before Postgres stops")
        postgres_server.stop()  # fast shutdown: open transactions roll back, clients are cut off
        at_stop = outcome_count(service)
        time.sleep(2.0)
        during = outcome_count(service)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{health_port}/healthz", timeout=5)
            health = {"ok": True}
        except urllib.error.HTTPError as exc:
            health = {"code": exc.code, **json.loads(exc.read())}
    finally:
        if postgres_server.process is None:
            postgres_server.start()
    try:
        wait_while_progressing(lambda: outcome_count(service), files, 60, "outcomes after Postgres came back")
        elapsed = time.monotonic() - started
        time.sleep(1)
        records = service.records_list()
        assert service.failures_list() == []
        assert len(records) == files and len({r["source"]["sha256"] for r in records}) == files
        rows = _rows(postgres_url)
        assert len(rows) == files and {row[0] for row in rows} == {r["id"] for r in records}
        assert during - at_stop <= 4  # at most the writes in flight finished; then everything waited
        assert health["code"] == 503 and health["postgres"].startswith("unreachable")
        assert "PostgreSQL at" in service.log_text("worker")  # the wait was logged, with the reason
        _report(capsys, f"Postgres stop: {files} files, stopped at {at_stop} outcomes for 2 s "
                        f"({during - at_stop} more meanwhile; /healthz 503: {health['postgres'][:60]}); "
                        f"{len(records)} record files, {len(rows)} rows, 0 missing, 0 doubled, in {elapsed:.1f}s")
    finally:
        service.stop_all()


def test_ingest_run_with_default_sinks_then_search_show_and_five_events() -> None:
    """What `make run` gives: seeds dropped in ./inbox are searchable, and the stream has them."""
    home = Path(tempfile.mkdtemp(prefix="ingest-run-"))
    home.chmod(0o755)  # as a project folder is: as root, the server's own account must reach .ingest/
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env.update(INGEST_METRICS_PORT="0", INGEST_WORKER_METRICS_PORT="0")
    log = open(home / "run.log", "wb")
    run = subprocess.Popen([sys.executable, "-m", "worker.cli", "run"], cwd=home, env=env,
                           stdout=log, stderr=subprocess.STDOUT)
    children: list[psutil.Process] = []

    def ingest(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "worker.cli", *args], cwd=home, env=env,
                              capture_output=True, text=True, timeout=60)
    try:
        wait_until(lambda: b"watching" in (home / "run.log").read_bytes(), 90, "the watcher to start")
        children = psutil.Process(run.pid).children(recursive=True)
        assert any(c.name() == "postgres" for c in children)
        data = re.search(r"embedded PostgreSQL on \S+ \(data in (\S+)\)", (home / "run.log").read_text()).group(1)
        assert (Path(data) / "PG_VERSION").exists()  # ./.ingest, or /var/lib/ingest-postgres as root
        for seed in SEEDS:
            shutil.copy(seed, home / "inbox" / seed.name)
        wait_until(lambda: len(list((home / "records").glob("*.json"))) == 5, 90,
                   lambda: "five records:\n" + (home / "run.log").read_text())
        found = ingest("search", "patriot", "--json")
        assert found.returncode == 0, found.stderr
        names = {json.loads(line)["id"]: line for line in found.stdout.splitlines()}
        by_seed = {json.loads(p.read_text())["source"]["name"][:3]: p.stem for p in (home / "records").glob("*.json")}
        assert set(names) == {by_seed["000"], by_seed["002"], by_seed["003"]}
        shown = ingest("show", by_seed["003"][:8])
        assert json.loads(shown.stdout)["id"] == by_seed["003"]
        url = (home / ".ingest" / "redis.url").read_text()
        assert redis.Redis.from_url(url).xlen(STREAM) == 5
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(60)
        psutil.wait_procs(children, timeout=10)
        left = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        remove_store(home / ".ingest")  # as root its data is outside ``home``, under /var/lib
        shutil.rmtree(home, ignore_errors=True)
    assert left == []
