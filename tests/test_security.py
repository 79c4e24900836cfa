"""No one can take over the service: crafted messages, forged log lines, open ports, leaked secrets."""

from __future__ import annotations

import base64
import logging
import secrets
import shutil
import signal
import socket
import stat
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import psutil
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.conftest import SEEDS
from tests.service import Service, listening_addresses, run_env, start_ingest_run, wait_until
from worker.models import record_id
from worker.service.celery_app import create_app
from worker.service.embedded import free_port
from worker.service.logs import setup_logging
from worker.service.metrics import serve
from worker.sources.messages import make_message, read_source

FORGED = "a.txt\n14:03:00 ERROR   worker.service.tasks: FORGED"


@pytest.fixture
def root_logging():
    """Put the root logger back as it was after a test that set up the service's logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def _crafted(sha256: str) -> dict:
    return {"v": 1, "source": {"name": "x.txt", "path": "x.txt", "sha256": sha256, "size": 3,
                               "received_at": datetime.now(timezone.utc).isoformat()},
            "content": base64.b64encode(SEEDS[0].read_bytes()).decode(), "error": None}


@pytest.mark.integration
def test_crafted_messages_naming_paths_write_nothing_outside_the_records_and_become_failures(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path / "svc")
    relative = "../../" + secrets.token_hex(8)   # record ids keep 24 characters of the sha256
    absolute = f"/tmp/{secrets.token_hex(8)}"
    shutil.copy(SEEDS[1], tmp_path / "good.txt")
    good = make_message(*read_source(tmp_path / "good.txt", tmp_path, 1 << 20)[:2])
    app = create_app(redis_url)
    try:
        for message in (_crafted(relative), _crafted(absolute), good):
            app.send_task("ingest.process_file", args=[message], queue="ingest")
        service.start_worker()
        service.wait_for_records(1)
        wait_until(lambda: len(service.failures_list()) == 2, 30, lambda: "two failure records:\n" + service.log_text("worker"))
        # their dead letters follow the files: stopped before, a pool process never writes them
        wait_until(lambda: redis_client.hlen("ingest:dead") == 2, 30, "two dead letters")
    finally:
        app.close()
        service.stop_all()
    failures = service.failures_list()
    assert {f["error"]["type"] for f in failures} == {"invalid_message"}
    assert all("source.sha256" in f["error"]["message"] for f in failures)
    assert not list(tmp_path.rglob(f"{relative[6:]}*"))  # ../../ from records/ or records/_failed/
    assert not Path(absolute + ".json").exists()
    assert redis_client.hlen("ingest:dead") == 2


@pytest.mark.integration
def test_a_link_planted_at_a_record_path_ends_the_file_as_one_failure_naming_it(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path / "svc")
    shutil.copy(SEEDS[3], tmp_path / "seed.txt")
    source, data = read_source(tmp_path / "seed.txt", tmp_path, 1 << 20)[:2]
    target = tmp_path / "not-a-record.txt"
    target.write_text("keep")
    link = service.records / f"{record_id(source.sha256)}.json"
    link.symlink_to(target)
    app = create_app(redis_url)
    try:
        app.send_task("ingest.process_file", args=[make_message(source, data)], queue="ingest")
        service.start_worker()
        wait_until(lambda: service.failures_list(), 60, lambda: "a failure record:\n" + service.log_text("worker"))
        # its dead letter follows the file: stopped before, the pool process never writes it
        wait_until(lambda: redis_client.hlen("ingest:dead") == 1, 30, "a dead letter")
    finally:
        app.close()
        service.stop_all()
    [failure] = service.failures_list()
    assert failure["error"]["type"] == "unsafe_path" and "symbolic link" in failure["error"]["message"]
    assert failure["id"] == link.name.removesuffix(".json")
    assert link.is_symlink() and target.read_text() == "keep"
    assert redis_client.hexists("ingest:dead", failure["id"])


@pytest.mark.integration
def test_a_file_name_with_a_newline_logs_one_line(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path)
    try:
        service.start_worker()
        service.start_watcher()
        shutil.copy(SEEDS[2], service.inbox / FORGED)
        record = service.wait_for_records(1)[0]
        wait_until(lambda: record["id"] in service.log_text("worker"), 10, "the record in the worker log")
    finally:
        service.stop_all()
    for name in ("worker", "watcher"):
        lines = service.log_text(name).splitlines()
        assert not [line for line in lines if line.startswith("14:03:00 ERROR")], name
        assert all("a.txt\\n14:03:00" in line for line in lines if "FORGED" in line), name
    assert any("FORGED" in line for line in service.log_text("worker").splitlines())


def test_text_logs_escape_control_characters_in_every_argument(capsys: pytest.CaptureFixture[str],
                                                               root_logging: None) -> None:
    setup_logging("INFO", as_json=False)
    logging.getLogger("test").warning("failed %s: %s", FORGED, "bell\x07 and \x1b[2J clear")
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "a.txt\\n14:03:00 ERROR" in err and "bell\\x07 and \\x1b[2J clear" in err


def test_a_traceback_in_text_logs_is_indented_under_its_line(capsys: pytest.CaptureFixture[str],
                                                            root_logging: None) -> None:
    setup_logging("INFO", as_json=False)
    try:
        raise ValueError(FORGED)
    except ValueError:
        logging.getLogger("test").exception("failed on %s", "a.txt")
    lines = capsys.readouterr().err.splitlines()
    assert "failed on a.txt" in lines[0]
    assert len(lines) > 2 and all(line.startswith("  ") for line in lines[1:])


def test_metrics_and_health_bind_loopback_by_default() -> None:
    port = free_port()
    server = serve(port, lambda: {"ok": True})
    try:
        assert listening_addresses(port) == {"127.0.0.1"}
        assert _get(port, "/healthz")[0] == 200
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.integration
def test_worker_and_watcher_serve_metrics_and_health_on_loopback(redis_url: str, tmp_path: Path) -> None:
    ports = free_port(), free_port()
    service = Service(redis_url, tmp_path, metrics_port=str(ports[0]), worker_metrics_port=str(ports[1]))
    try:
        service.start_worker()
        service.start_watcher()
        for port in ports:
            wait_until(lambda: _get(port, "/healthz")[0] == 200, 30, f"health on {port}")
            assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        service.stop_all()



def test_health_error_does_not_show_the_redis_address() -> None:
    with socket.socket() as held:  # bound, never listening: connections to it are refused
        held.bind(("127.0.0.1", 0))
        closed = held.getsockname()[1]
        # no retries: redis-py's default (3, with back-off) takes about 4 s to give up on a
        # refused port, longer than this test's request waits on a loaded machine
        client = redis.Redis(host="127.0.0.1", port=closed, socket_connect_timeout=1,
                             retry=Retry(NoBackoff(), 0))
        port = free_port()
        server = serve(port, lambda: {"ok": bool(client.ping())})
        try:
            status, body = _get(port, "/healthz")
        finally:
            server.shutdown()
            server.server_close()
    assert status == 503 and '"ok": false' in body
    assert str(closed) not in body and "127.0.0.1" not in body


def _command_line(process: psutil.Process) -> list[str]:
    """A process's command line; none for one that has exited meanwhile (it shows nothing)."""
    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []


@pytest.mark.integration
@pytest.mark.usefixtures("tmp_path_store_removed")
def test_ingest_run_keeps_the_redis_password_out_of_logs_and_command_lines(tmp_path: Path) -> None:
    run = start_ingest_run(tmp_path, run_env(INGEST_ENRICH="off", INGEST_METRICS_PORT="0",
                                             INGEST_WORKER_METRICS_PORT="0", INGEST_WEB_PORT="0"))
    try:
        wait_until(lambda: b"watching" in (tmp_path / "run.log").read_bytes(), 60, "the watcher to start")
        shutil.copy(SEEDS[0], tmp_path / "inbox" / "one.txt")
        wait_until(lambda: len(list((tmp_path / "records").glob("*.json"))) == 1, 60, "a record")
        password = (tmp_path / ".ingest" / "redis.password").read_text().strip()
        assert stat.S_IMODE((tmp_path / ".ingest" / "redis.url").stat().st_mode) == 0o600
        processes = [psutil.Process(run.pid), *psutil.Process(run.pid).children(recursive=True)]
        assert len(processes) >= 3  # ingest run, redis-server, the worker and its pool
        assert not [p.pid for p in processes if password in " ".join(_command_line(p))]
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(60)
    text = (tmp_path / "run.log").read_text()
    assert "embedded Redis redis://:***@127.0.0.1" in text
    assert password not in text
