"""Real service processes for integration tests: `ingest worker` and `ingest watch`.

Each runs as its own OS process against the session's real Redis server, exactly as
`ingest run` or docker compose would start them; nothing is mocked or run eagerly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from worker.service.embedded import die_with_parent

ROOT = Path(__file__).resolve().parent.parent


class Service:
    def __init__(self, redis_url: str, workdir: Path, *, launcher: str = "worker.cli", **settings: str) -> None:
        """``launcher``: the module run as `ingest` (``tests.crashing_stage``: with a fault in)."""
        self.launcher = launcher
        self.inbox = workdir / "inbox"
        self.records = workdir / "records"
        self.logs = workdir / "logs"
        for folder in (self.inbox, self.records, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "INGEST_REDIS_URL": redis_url,
            "INGEST_INBOX": str(self.inbox),
            "INGEST_RECORDS_DIR": str(self.records),
            "INGEST_STATE_DIR": str(workdir / "state"),
            "INGEST_SETTLE_SECONDS": "0.5",
            "INGEST_POLLING_SETTLE_SECONDS": "0.5",
            "INGEST_RESCAN_SECONDS": "2",
            "INGEST_ENRICH": "fast",
            "INGEST_METRICS_PORT": "0",
            "INGEST_WORKER_METRICS_PORT": "0",
            **{f"INGEST_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", self.launcher, *args], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent,  # an interrupted test run leaves nothing behind
        )
        self.processes[name] = process
        return process

    def start_worker(self, name: str = "worker", concurrency: int = 2) -> None:
        self.start(name, "worker", "--concurrency", str(concurrency))

    def start_watcher(self) -> None:
        self.start("watcher", "watch")
        self.wait_for_log("watcher", "watching")

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log_text(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_log(self, name: str, text: str, timeout: float = 30) -> None:
        wait_until(lambda: text in self.log_text(name), timeout, lambda: f"{name} to log {text!r}:\n{self.log_text(name)}")

    def records_list(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(self.records.glob("*.json"))]

    def failures_list(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted((self.records / "_failed").glob("*.json"))]

    def wait_for_records(self, count: int, timeout: float = 60) -> list[dict]:
        wait_until(lambda: len(list(self.records.glob("*.json"))) >= count, timeout,
                   lambda: f"{count} records; have {len(list(self.records.glob('*.json')))}\n"
                           f"worker log:\n{self.log_text('worker')[-3000:]}\nwatcher log:\n{self.log_text('watcher')[-3000:]}")
        return self.records_list()


def run_env(**settings: str) -> dict[str, str]:
    """The environment of an `ingest` command a test starts: the test run's own INGEST_*
    variables left out, ``settings`` set."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}, **settings}


def start_ingest_run(folder: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`ingest run` in ``folder`` (a user's project folder), its output in ``folder/run.log``."""
    log = open(folder / "run.log", "wb")  # noqa: SIM115 -- the child writes it until it stops
    return subprocess.Popen([sys.executable, "-m", "worker.cli", "run"], cwd=folder, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def wait_until(condition: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> None:
    """``what`` may be a function, called when the wait gives up: a message holding a log then
    shows the log as it ended, not as it was when the wait began (a string is built before)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")
        time.sleep(0.1)


def wait_while_progressing(count: Callable[[], int], target: int, stall: float, what: str,
                           every: float = 0.5) -> None:
    """Wait until ``count()`` reaches ``target`` for as long as it keeps growing.

    For big bursts whose speed depends on the machine's load: the test fails on a stall (no
    progress for ``stall`` seconds), never on a slow but steady machine. Polls gently: counting
    tens of thousands of files is itself work taken from the service under test.
    """
    last, last_change = count(), time.monotonic()
    while last < target:
        time.sleep(every)
        now = count()
        if now > last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > stall:
            raise AssertionError(f"stalled at {now} of {target} {what}: no progress for {stall:.0f}s")


def write_articles(folder: Path, count: int, *, prefix: str = "article") -> list[Path]:
    """``count`` distinct small article files built from the seeds (each its own bytes)."""
    from tests.conftest import SEEDS

    texts = [seed.read_text(encoding="utf-8") for seed in SEEDS]
    paths = []
    for number in range(count):
        path = folder / f"{prefix}-{number:05d}.txt"
        text = texts[number % len(texts)]
        path.write_text(f"{text}\n\nFile reference {prefix} {number}: archive copy.\n", encoding="utf-8")
        paths.append(path)
    return paths


def jsonl_from_seeds(lines: int, *, bad_line: int | None = None, crashing: int | None = None) -> bytes:
    """``lines`` distinct articles, one JSON object a line, built from the seeds; ``bad_line`` is
    cut short, ``crashing`` titled for the injected fault of ``tests.crashing_stage``."""
    from tests.conftest import SEEDS
    from tests.crashing_stage import CRASHES

    texts = [seed.read_text(encoding="utf-8") for seed in SEEDS]
    rows = []
    for number in range(1, lines + 1):
        if number == bad_line:
            rows.append('{"title": "cut short", "text": ')
            continue
        text = texts[number % len(texts)]
        title = CRASHES if number == crashing else f"Item {number}"
        rows.append(json.dumps({"title": title, "text": f"{text}\n\nArchive item {number}."}))
    return ("\n".join(rows) + "\n").encode("utf-8")


def outcome_count(service: Service) -> int:
    return len(list(service.records.glob("*.json"))) + len(list((service.records / "_failed").glob("*.json")))


def listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses of the TCP sockets listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, hex_port = fields[1].split(":")
        if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found
