"""Metrics and health of the running watcher and worker, scraped over HTTP as Prometheus would."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.service import Service, wait_until
from worker.service.embedded import free_port

pytestmark = pytest.mark.integration


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture
def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture
def service(redis_url: str, tmp_path: Path, ports: tuple[int, int]):
    watcher_port, worker_port = ports
    svc = Service(redis_url, tmp_path, metrics_port=str(watcher_port), worker_metrics_port=str(worker_port))
    svc.start_worker()
    svc.start_watcher()
    wait_until(lambda: _get(worker_port, "/healthz")[0] == 200, 30, "the worker's health endpoint")
    yield svc
    svc.stop_all()


def test_watcher_metrics_count_files_seen_and_queued(service: Service, ports: tuple[int, int]) -> None:
    shutil.copy(SEEDS[0], service.inbox / "a.txt")
    service.wait_for_records(1)
    status, text = _get(ports[0], "/metrics")
    assert status == 200
    assert "ingest_files_seen_total 1.0" in text
    assert "ingest_files_queued_total 1.0" in text
    assert "ingest_queue_depth" in text


def test_worker_metrics_aggregate_outcomes_and_stage_latency_across_pool_processes(
        service: Service, ports: tuple[int, int]) -> None:
    for seed in SEEDS:
        shutil.copy(seed, service.inbox / seed.name)
    service.wait_for_records(5)
    wait_until(lambda: 'ingest_outcomes_total{kind="records"} 5.0' in _get(ports[1], "/metrics")[1], 10,
               "five records counted")
    text = _get(ports[1], "/metrics")[1]
    for stage in ("parse", "normalise", "dedupe", "enrich"):
        assert f'ingest_stage_seconds_count{{stage="{stage}"}} 5.0' in text


def test_health_endpoints_report_ok(service: Service, ports: tuple[int, int]) -> None:
    for port, role in zip(ports, ("watcher", "worker")):
        status, body = _get(port, "/healthz")
        assert status == 200
        health = json.loads(body)
        assert health["ok"] is True and health["role"] == role


def test_json_logs_carry_the_file_id(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path, log_json="true")
    try:
        service.start_worker()
        service.start_watcher()
        shutil.copy(SEEDS[1], service.inbox / "b.txt")
        record = service.wait_for_records(1)[0]
        wait_until(lambda: record["id"] in service.log_text("worker"), 10, "the record id in the worker log")
        lines = [json.loads(line) for line in service.log_text("worker").splitlines() if line.startswith("{")]
        delivered = [line for line in lines if line.get("file_id") == record["id"]]
        assert delivered and delivered[0]["file"] == "b.txt"
    finally:
        service.stop_all()


def test_a_failure_logs_one_text_line_naming_its_id_file_kind_and_reason(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path)
    try:
        service.start_worker()
        service.start_watcher()
        (service.inbox / "empty.txt").write_bytes(b"")
        wait_until(lambda: service.failures_list(), 60, lambda: "the failure record:\n" + service.log_text("worker"))
        failure = service.failures_list()[0]
        wait_until(lambda: failure["id"] in service.log_text("worker"), 10, "the failure id in the worker log")
        [line] = [line for line in service.log_text("worker").splitlines() if failure["id"] in line]
        assert line.endswith(f"failure {failure['id']} <- empty.txt ({failure['error']['type']}): "
                             f"{failure['error']['message']}")
    finally:
        service.stop_all()
