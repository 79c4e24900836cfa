"""Big JSONL files end to end: lines/s with fan-out, against the same service without it.

    .venv/bin/python bench/fanout.py [--lines 45000] [--quick]

One file of ``--lines`` short articles (about 340 bytes a line: 45,000 lines are about 15 MB,
the file of issue 12) is dropped into the inbox of a real watcher + Redis + 2 Celery worker
processes at INGEST_ENRICH=off; the clock stops when every line is an outcome on disk (Redis's
counters, checked against the records folder). Measured in the same run: a file of a third and
of a ninth of the lines (linear time: lines/s should hold), and the baseline, a file small
enough to finish unsplit within the task time limit, run unsplit (one task, one core).
Prints a table and rewrites the "fanout" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench._report import table, write_section  # noqa: E402
from bench.run import Procs, wait_for  # noqa: E402
from worker.service.embedded import EmbeddedRedis  # noqa: E402

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


def jsonl(lines: int) -> bytes:
    """``lines`` distinct short articles (a title and 40 words of the seeds' vocabulary in a
    seeded random order), so that none is a near duplicate of another: dedupe does its usual
    work, not the heavier work of a feed of copies."""
    rng = random.Random(7)
    vocabulary = sorted({w for seed in SEEDS for w in seed.read_text(encoding="utf-8").split() if w.isalpha()})
    rows = []
    for number in range(lines):
        words = rng.choices(vocabulary, k=40)
        text = " ".join(f"{w}." if i % 12 == 11 else w for i, w in enumerate(words))
        rows.append(json.dumps({"title": f"Bulletin {number}", "text": f"{text} Bulletin {number}."}))
    return ("\n".join(rows) + "\n").encode()


def drop(url: str, client: redis.Redis, work: Path, data: bytes, **settings: str) -> float:
    """Seconds from the drop of one JSONL file to its last outcome on disk."""
    client.flushall()
    procs = Procs(url, work, enrich="off", **settings)
    procs.start("worker", "--concurrency", "2")
    procs.start("watch")
    try:
        procs.probe()
        client.delete("ingest:stats")
        lines = data.count(b"\n")
        staged = work / "feed.jsonl"
        staged.write_bytes(data)
        start = time.perf_counter()
        os.rename(staged, procs.inbox / "feed.jsonl")

        def done() -> bool:
            stats = client.hgetall("ingest:stats")
            return int(stats.get(b"records", 0)) + int(stats.get(b"failed", 0)) >= lines

        wait_for(done, 1800)
        elapsed = time.perf_counter() - start
        assert procs.outcomes() == lines, (procs.outcomes(), lines)
        return elapsed
    finally:
        procs.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=45_000)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    lines = 3_000 if args.quick else args.lines
    baseline_lines = 1_000 if args.quick else 5_000
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-fanout-"))
    rows: list[list[object]] = []
    with EmbeddedRedis(work / "redis", appendonly=False) as server:
        client = redis.Redis.from_url(server.url)
        data = jsonl(baseline_lines)
        seconds = drop(server.url, client, work / "unsplit", data, fanout_articles=str(10**9))
        base = baseline_lines / seconds
        rows.append([f"{baseline_lines:,} lines, unsplit (baseline: one task)", f"{len(data) / 1e6:.1f}",
                     f"{seconds:.1f}", f"{base:,.0f}", "1.00"])
        print(rows[-1])
        for count in (lines // 9, lines // 3, lines):
            data = jsonl(count)
            seconds = drop(server.url, client, work / f"split-{count}", data)
            rows.append([f"{count:,} lines, fanned out by 250", f"{len(data) / 1e6:.1f}", f"{seconds:.1f}",
                         f"{count / seconds:,.0f}", f"{count / seconds / base:.2f}"])
            print(rows[-1])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = ("One JSONL file dropped into the inbox of the real service (watcher, embedded Redis, "
            "2 worker processes, INGEST_ENRICH=off), until every line is a record on disk. "
            f"Load average at the end (1, 5, 15 min): {load}; other processes share the cores, "
            "so compare the ratios, not the absolute figures.\n\n"
            + table(["file", "MB", "seconds", "lines/s", "ratio to baseline"], rows))
    print(body)
    if not args.quick:
        write_section("fanout", "Big JSONL files, fanned out (bench/fanout.py)", body,
                      f".venv/bin/python bench/fanout.py --lines {lines}")


if __name__ == "__main__":
    main()
