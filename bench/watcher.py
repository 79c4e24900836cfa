"""The watcher's own cost after issue 12 (readiness), against the watcher before it, in one run.

    .venv/bin/python bench/watcher.py [--files 5000] [--rounds 2] [--baseline de56d26]

Measures, with a real Redis server and real `ingest watch` processes (no workers: only the
watcher's side):
  * queueing: N small distinct articles renamed into the inbox at once (a scraper's `mv`);
    seconds to the first and to the last file queued, and files/s between them, for this
    tree and for the baseline revision (`git archive` into a temporary folder), alternating;
  * one readiness round over N pending files against the floor of one lstat per file;
  * one /proc writers scan (the check that a file is not held open for writing).
Prints the tables and rewrites the "watcher" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench._report import table, write_section  # noqa: E402
from worker.service.embedded import EmbeddedRedis, die_with_parent  # noqa: E402
from worker.settings import Settings  # noqa: E402
from worker.sources.watcher import Watcher, open_for_writing  # noqa: E402


def articles(count: int) -> list[str]:
    """Short distinct articles of seed words (seeded), as the back-pressure test uses."""
    words = sorted({w for seed in (ROOT / "seeds").glob("*.txt") for w in seed.read_text("utf-8").split() if w.isalpha()})
    rng = random.Random(count)
    return [f"Brief {number}\n\n" + " ".join(rng.choices(words, k=40)) + ".\n" for number in range(count)]


def queueing(tree: Path, url: str, work: Path, texts: list[str]) -> tuple[float, float, float]:
    """(seconds to the first file queued, seconds to the last, files/s in between)."""
    client = redis.Redis.from_url(url)
    client.flushall()
    inbox, staging = work / "inbox", work / "staging"
    shutil.rmtree(work, ignore_errors=True)
    inbox.mkdir(parents=True)
    staging.mkdir()
    for number, text in enumerate(texts):
        (staging / f"n{number:05d}.txt").write_text(text)
    env = {**os.environ, "INGEST_REDIS_URL": url, "INGEST_INBOX": str(inbox), "INGEST_STATE_DIR": str(work / "state"),
           "INGEST_METRICS_PORT": "0", "INGEST_LOG_LEVEL": "WARNING", "INGEST_QUEUE_HIGH_WATER": "1000000",
           "PYTHONPATH": str(tree)}
    log = open(work / "watch.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "worker.cli", "watch"], cwd=tree, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
    try:
        probe = inbox / "probe.txt"
        probe.write_text("Probe\n\nA probe article checks that the watcher is up.\n")
        while client.hget("ingest:stats", "queued") is None:
            if proc.poll() is not None:
                raise RuntimeError((work / "watch.log").read_text())
            time.sleep(0.02)
        start = time.perf_counter()
        for path in sorted(staging.iterdir()):
            os.rename(path, inbox / path.name)
        first = last = None
        while True:
            queued = int(client.hget("ingest:stats", "queued") or 0) - 1
            now = time.perf_counter() - start
            if first is None and queued > 0:
                first = now
            if queued >= len(texts):
                last = now
                break
            if now > 600:
                raise TimeoutError("the watcher did not queue every file in 10 minutes")
            time.sleep(0.01)
        return first, last, len(texts) / max(last - first, 1e-9)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        client.close()


def readiness_round(url: str, work: Path, count: int) -> tuple[float, float, float]:
    """(µs per file of an lstat alone, of one readiness round, ms of one /proc writers scan)."""
    inbox = work / "round"
    inbox.mkdir(parents=True)
    paths = []
    for number in range(count):
        path = inbox / f"n{number:05d}.txt"
        path.write_text("x")
        paths.append(str(path))
    client = redis.Redis.from_url(url)
    watcher = Watcher(Settings(inbox=inbox, settle_seconds=3600), client, lambda message: None)
    watcher.scan()

    def floor() -> float:
        start = time.perf_counter()
        for path in paths:
            os.lstat(path)
        return (time.perf_counter() - start) / count * 1e6

    def round_() -> float:
        start = time.perf_counter()
        watcher.ready_paths()
        return (time.perf_counter() - start) / count * 1e6

    def scan() -> float:
        start = time.perf_counter()
        open_for_writing(str(inbox))
        return (time.perf_counter() - start) * 1e3

    lstat_us = statistics.median(floor() for _ in range(5))
    round_us = statistics.median(round_() for _ in range(5))
    scan_ms = statistics.median(scan() for _ in range(9))
    client.close()
    return lstat_us, round_us, scan_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each tree, alternating")
    parser.add_argument("--baseline", default="de56d26", help="revision of the watcher to compare with")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-watcher-"))
    baseline = work / "baseline"
    baseline.mkdir()
    archive = subprocess.run(["git", "archive", args.baseline], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
    texts = articles(args.files)
    sections = []
    with EmbeddedRedis(work / "redis") as server:
        runs: dict[str, list[tuple[float, float, float]]] = {"baseline": [], "this tree": []}
        for number in range(args.rounds):
            for name, tree in (("baseline", baseline), ("this tree", ROOT)):
                print(f"queueing {args.files} files, {name}, run {number + 1} ...")
                runs[name].append(queueing(tree, server.url, work / "drop", texts))
        best = {name: max(values, key=lambda v: v[2]) for name, values in runs.items()}
        rows = [[f"{name} ({args.baseline if name == 'baseline' else 'settle ' + format(Settings().settle_seconds, 'g') + ' s'})",
                 f"{first:.2f}", f"{last:.2f}", f"{rate:,.0f}",
                 "" if name == "baseline" else f"{rate / best['baseline'][2]:.2f} of the baseline"]
                for name, (first, last, rate) in best.items()]
        sections.append(f"### Queueing a drop of {args.files:,} files (watcher alone, best of {args.rounds})\n\n"
                        + table(["watcher", "s to first queued", "s to last queued", "files/s in between", "ratio"], rows)
                        + "\n\nThe baseline takes a renamed-in file on its second look (its mtime is old); this "
                          "tree waits the settle time after its first look, then checks /proc once for the "
                          "whole drop: a fixed delay, not a rate.")
        print(sections[-1])
        lstat_us, round_us, scan_ms = readiness_round(server.url, work, args.files)
        sections.append("### One readiness round\n\n" + table(["what", "cost", "ratio"], [
            [f"floor: lstat of each of {args.files:,} pending files", f"{lstat_us:.1f} µs/file", ""],
            ["readiness round (lstat + readiness.decide)", f"{round_us:.1f} µs/file", f"{round_us / lstat_us:.2f} of the floor"],
            [f"/proc writers scan ({sum(1 for p in os.listdir('/proc') if p.isdigit())} processes)",
             f"{scan_ms:.1f} ms/scan", "at most one per 0.5 s, only when a file looks ready"]]))
        print(sections[-1])
    shutil.rmtree(work, ignore_errors=True)
    write_section("watcher", "Watcher readiness cost (bench/watcher.py)", "\n\n".join(sections),
                  f".venv/bin/python bench/watcher.py --files {args.files}")


if __name__ == "__main__":
    main()
