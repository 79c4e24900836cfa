"""What the store and the stream cost, and how fast search is.

    .venv/bin/python bench/store.py [--records 100000] [--e2e-off 1000] [--e2e-full 150] [--write]

Measures, in one run, against a real embedded PostgreSQL and Redis:
  * cost per record of each sink (files with fsync, postgres one file's batch at a time and 8
    files' at a time, the stream), microseconds per record, on records of the bench corpus;
  * end-to-end throughput through the watcher and 2 worker processes with all sinks
    (files,postgres,stream) against files only, with enrichment off and full; each pair runs
    alternately, twice, best of two (the machine is shared), so the ratio compares like with like;
  * search latency over --records records (bodies drawn from the corpus paragraphs): p50/p95/p99
    of two-word queries (ranked, 20 hits, highlighted snippets), and the load rate.
With --write, rewrites the "store" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench._report import SHARED_DATA, table, write_section  # noqa: E402
from bench.corpus import _article, _paragraph_pool, generate  # noqa: E402
from bench.run import MAX, Procs, expected_outcomes, wait_for  # noqa: E402
from worker import pipeline  # noqa: E402
from worker.models import PipelineInfo, Record, SourceFile  # noqa: E402
from worker.pipeline.dedupe import DedupIndex  # noqa: E402
from worker.service.embedded import EmbeddedRedis  # noqa: E402
from worker.settings import Settings  # noqa: E402
from worker.sinks.files import FilesSink  # noqa: E402
from worker.sinks.postgres import PostgresSink  # noqa: E402
from worker.sinks.stream import StreamSink  # noqa: E402
from worker.sources.messages import read_source  # noqa: E402
from worker.store import connect, empty, migrate  # noqa: E402
from worker.store.embedded import EmbeddedPostgres, remove_store  # noqa: E402
from worker.store.queries import SCAN, WINDOW, search  # noqa: E402
from worker.store.writes import write_outcomes  # noqa: E402


def corpus_records(files: list[Path], client: redis.Redis, level: str) -> list:
    client.flushall()
    settings = Settings(enrich=level)
    index = DedupIndex.from_settings(client, settings)
    outcomes = []
    for path in files:
        source, data, error = read_source(path, path.parent, MAX)
        if error is None:
            outcomes += [o for o in pipeline.run(source, data, index, settings) if isinstance(o, Record)]
    return outcomes


def sink_costs(records: list, client: redis.Redis, pg_url: str, work: Path) -> list[list[object]]:
    """Microseconds per record of each sink alone, over the same records (fresh store each)."""
    rows = []

    def timed(name: str, write, batch: int) -> None:
        start = time.perf_counter()
        for i in range(0, len(records), batch):
            write(records[i:i + batch])
        rows.append([name, batch, (time.perf_counter() - start) / len(records) * 1e6])

    with connect(pg_url) as conn:
        migrate(conn)
        timed("files (fsync)", FilesSink(work / "cost-files", fsync=True).write, 1)
        sink = PostgresSink(pg_url, wait=0)  # the worker's own sink: autocommit, one statement a batch
        for batch in (1, 8):
            empty(conn)
            conn.commit()
            timed("postgres", sink.write, batch)
        sink.close()
        client.flushall()
        timed("stream", StreamSink(client, 100_000, 3600).write, 1)
        empty(conn)
        conn.commit()
    return rows


def e2e(url: str, client: redis.Redis, pg_url: str, work: Path, files: list[Path], level: str, sinks: str) -> float:
    """Files/s from an atomic drop of ``files`` to the last outcome, with 2 worker processes."""
    client.flushall()
    with connect(pg_url) as conn:
        empty(conn)
    procs = Procs(url, work / f"e2e-{level}-{sinks.replace(',', '-')}-{time.time_ns()}", enrich=level,
                  sinks=sinks, postgres_url=pg_url)
    staging = procs.work / "staging"
    staging.mkdir(parents=True)
    for path in files:
        shutil.copy(path, staging / path.name)
    procs.start("worker", "--concurrency", "2")
    procs.start("watch")
    try:
        procs.probe()
        expected = expected_outcomes(files)
        start = time.perf_counter()
        for path in sorted(staging.iterdir()):
            path.rename(procs.inbox / path.name)
        wait_for(lambda: procs.outcomes() >= expected, 1800)
        return len(files) / (time.perf_counter() - start)
    finally:
        procs.stop()
        shutil.rmtree(procs.work, ignore_errors=True)


def search_pool() -> list[str]:
    """Paragraphs of every real article at hand: the corpus pool, plus the wider extraction set."""
    import json

    pool, _ = _paragraph_pool()
    wide = SHARED_DATA / "extraction-wide" / "dragnet" / "ground-truth.json"
    if wide.exists():
        for entry in json.loads(wide.read_text()).values():
            pool += [p.strip() for p in entry["articleBody"].split("\n") if len(p.split()) >= 12]
    return pool


def fill(pg_url: str, count: int, seed: int = 11) -> float:
    """``count`` records with bodies drawn from real paragraphs; returns records/s loaded."""
    rng = random.Random(seed)
    pool = search_pool()
    start_day = datetime(2026, 1, 1, tzinfo=timezone.utc)
    info = PipelineInfo(version="bench")
    with connect(pg_url) as conn:
        empty(conn)
        conn.commit()
        started = time.perf_counter()
        for first in range(0, count, 1000):
            batch = []
            for number in range(first, min(first + 1000, count)):
                article = _article(rng, pool, number)
                sha = f"{number:064x}"
                received = start_day + timedelta(minutes=number)
                batch.append(Record(
                    id=sha[-24:], source=SourceFile(name=f"{number}.txt", path=f"{number}.txt", sha256=sha,
                                                    size=len(article.body), received_at=received, format="txt"),
                    title=article.title, body=article.body, word_count=len(article.body.split()),
                    published_at=received, pipeline=info))
            write_outcomes(conn, batch)
        conn.execute("ANALYZE records")
        conn.commit()
        return count / (time.perf_counter() - started)


STOPWORDS = set(
    "that with this from have were they their there which would about been said will also when into more "
    "than after what some other over just like only could most very then them these where while being "
    "because those such many much should since does before through under between".split())


def queries(count: int, seed: int = 5) -> dict[str, list[str]]:
    """Two-word queries: words drawn as they occur in the text (frequent words come up often, so
    many queries match thousands of records), and words drawn from the vocabulary (mostly rare)."""
    rng = random.Random(seed)
    tokens = [w.strip('.,"\'();:!?').lower() for p in search_pool() for w in p.split()]
    tokens = [w for w in tokens if len(w) >= 4 and w.isalpha() and w not in STOPWORDS]
    vocabulary = sorted(set(tokens))

    def pairs(draw) -> list[str]:
        found = []
        while len(found) < count:
            a, b = draw(), draw()
            if a != b:
                found.append(f"{a} {b}")
        return found

    return {"as in the text": pairs(lambda: rng.choice(tokens)),
            "from the vocabulary": pairs(lambda: rng.choice(vocabulary))}


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) a local PostgreSQL backend has used: load-independent, unlike wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def search_latency(pg_url: str, texts: list[str]) -> tuple[list[float], list[int], float]:
    """Milliseconds per search (20 hits with snippets), sorted; matches per query, sorted; and the
    CPU milliseconds per search of the server's backend and this process together."""
    with connect(pg_url, autocommit=True) as conn:
        for query in texts[:20]:  # warm the cache
            search(conn, query)
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        times, cpu = [], 0.0
        for query in texts:
            server, client = backend_cpu(pid), time.process_time()
            start = time.perf_counter()
            search(conn, query, limit=20)
            times.append((time.perf_counter() - start) * 1000)
            cpu += backend_cpu(pid) - server + time.process_time() - client
        matches = [conn.execute("SELECT count(*) FROM records WHERE search @@ websearch_to_tsquery('english', %s)",
                                (query,)).fetchone()[0] for query in texts]
    return sorted(times), sorted(matches), cpu * 1000 / len(texts)


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--e2e-off", type=int, default=1000, help="files in the enrichment-off drops")
    parser.add_argument("--e2e-full", type=int, default=150, help="files in the full-enrichment drops")
    parser.add_argument("--write", action="store_true", help="rewrite the store section of BENCHMARKS.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-store-"))
    pg = EmbeddedPostgres(work / "state")
    server = EmbeddedRedis(work / "redis", appendonly=False)
    sections = []
    try:
        pg_url = pg.start()
        url = server.start()
        client = redis.Redis.from_url(url)
        corpus = generate(work / "corpus", max(args.e2e_off, args.e2e_full, 300))

        records = corpus_records(corpus.files[:300], client, "off")
        costs = sink_costs(records, client, pg_url, work)
        print(f"\nCost per record of each sink ({len(records)} corpus records, enrichment off):")
        sections.append(table(["sink", "records per write", "µs per record"], costs))
        print(sections[-1])

        rows = []
        for level, count in (("off", args.e2e_off), ("full", args.e2e_full)):
            files = corpus.files[:count]
            runs: dict[str, list[float]] = {"files": [], "files,postgres,stream": []}
            for _ in range(2):
                for sinks in runs:
                    runs[sinks].append(e2e(url, client, pg_url, work, files, level, sinks))
                    print(f"  e2e enrich={level} sinks={sinks}: {runs[sinks][-1]:.1f} files/s")
            base, full = max(runs["files"]), max(runs["files,postgres,stream"])
            rows.append([level, len(files), base, full, f"{full / base:.2f}x"])
        print("\nEnd to end, watcher + 2 worker processes, best of two alternating runs:")
        sections.append(table(["enrich", "files", "files only, files/s", "all sinks, files/s", "ratio"], rows))
        print(sections[-1])

        rate = fill(pg_url, args.records)
        with connect(pg_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE records")  # as autovacuum would: GIN pending list merged
        rows = []
        for kind, texts in queries(args.queries).items():
            times, matches, cpu = search_latency(pg_url, texts)
            rows.append([kind, len(texts), percentile(matches, 0.5), percentile(matches, 0.99),
                         percentile(times, 0.5), percentile(times, 0.95), percentile(times, 0.99), times[-1], cpu])
        print(f"\nSearch over {args.records:,} records (loaded at {rate:,.0f} records/s):")
        sections.append(table(
            ["two-word queries, words drawn", "queries", "matches p50", "matches p99", "p50 ms", "p95 ms",
             "p99 ms", "max ms", "CPU ms per search"], rows))
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        sections[-1] = (f"Search over {args.records:,} records (bodies of real paragraphs), 20 hits with snippets, "
                        f"best first by title and lead among the newest {SCAN} matches (found in a window of the "
                        f"newest {SCAN * WINDOW:,} records, else the whole store); load average after the "
                        f"queries (1/5/15 min, 2 cores): {load}. CPU ms per search: the PostgreSQL backend's and this "
                        f"process's CPU time per search, which the machine's load does not inflate:\n\n" + sections[-1] +
                        f"\n\nLoad rate into the store (batches of 1,000, one transaction each): {rate:,.0f} records/s.")
        print(sections[-1])
    finally:
        server.stop()
        pg.stop()
        remove_store(pg.state_dir)
        shutil.rmtree(work, ignore_errors=True)
    if args.write:
        write_section("store", "Store: sink costs, throughput with all sinks, search latency",
                      "\n\n".join(sections), "python bench/store.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
