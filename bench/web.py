"""Page latency of the web view with a large store.

    .venv/bin/python bench/web.py [--records 100000] [--requests 40] [--write]

Fills a temporary embedded PostgreSQL directly (records with bodies drawn from real paragraphs,
3-6 entities each from a few hundred names, one record in ten a near copy of an earlier one),
starts `ingest web` as its own process, and times each page over HTTP from this process
(sequential requests, a few warm-up ones first). The baseline is the same pages over a store of
--baseline records, measured in the same run: the ratio shows what the store's size costs.
With --write, rewrites the "web" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import table, write_section  # noqa: E402
from bench.corpus import _article  # noqa: E402
from bench.store import search_pool  # noqa: E402
from worker.models import DedupResult, Entities, Entity, PipelineInfo, Record, SourceFile  # noqa: E402
from worker.service.embedded import EmbeddedRedis, free_port  # noqa: E402
from worker.store import connect, empty, migrate  # noqa: E402
from worker.store.embedded import EmbeddedPostgres, remove_store  # noqa: E402
from worker.store.writes import write_outcomes  # noqa: E402

SITES = [f"site{n}.example" for n in range(40)]


def names(rng: random.Random, pool: list[str], count: int) -> list[str]:
    words = sorted({w.strip(".,;:\"'()") for p in pool[:2000] for w in p.split() if w[:1].isupper() and len(w) > 3})
    return [f"{rng.choice(words)} {rng.choice(words)}" for _ in range(count)]


def fill(url: str, count: int, seed: int = 3) -> float:
    """``count`` records (and their mentions) written as the postgres sink writes them; records/s."""
    rng = random.Random(seed)
    pool = search_pool()
    people, orgs, places = names(rng, pool, 300), names(rng, pool, 150), names(rng, pool, 150)
    start_day = datetime.now(timezone.utc) - timedelta(minutes=count // 2)
    info = PipelineInfo(version="bench", enrich="full")
    ids: list[str] = []
    with connect(url) as conn:
        migrate(conn)
        empty(conn)
        conn.commit()
        started = time.perf_counter()
        for first in range(0, count, 1000):
            batch = []
            for number in range(first, min(first + 1000, count)):
                article = _article(rng, pool, number)
                sha = f"{number:064x}"
                received = start_day + timedelta(seconds=number * 30)
                dedup = DedupResult()
                if ids and rng.random() < 0.1:
                    dedup = DedupResult(status="near_duplicate", duplicate_of=rng.choice(ids[-5000:]),
                                        similarity=round(rng.uniform(0.6, 1.0), 3))
                entities = Entities(
                    persons=[Entity(name=n, type="person", mentions=rng.randint(1, 6))
                             for n in set(rng.choices(people, k=rng.randint(1, 3)))],
                    organizations=[Entity(name=n, type="organization", mentions=rng.randint(1, 4))
                                   for n in set(rng.choices(orgs, k=rng.randint(1, 2)))],
                    locations=[Entity(name=n, type="location", mentions=rng.randint(1, 4))
                               for n in set(rng.choices(places, k=rng.randint(1, 2)))])
                record_id = sha[-24:]
                ids.append(record_id)
                batch.append(Record(
                    id=record_id, source=SourceFile(name=f"{number}.txt", path=f"{number}.txt", sha256=sha,
                                                    size=len(article.body), received_at=received, format="txt"),
                    title=article.title, site=rng.choice(SITES), body=article.body,
                    word_count=len(article.body.split()), published_at=received, dedup=dedup,
                    entities=entities, keywords=article.title.split()[:5], pipeline=info))
            write_outcomes(conn, batch)
            conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE records")
        conn.execute("VACUUM ANALYZE mentions")  # as autovacuum would after a bulk insert
        return count / (time.perf_counter() - started)


def pages(url: str) -> dict[str, list[str]]:
    """Paths per page, drawn from the store (a record, an entity, a search word)."""
    rng = random.Random(9)
    with connect(url) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM records ORDER BY random() LIMIT 40")]
        people = [row[0] for row in conn.execute(
            "SELECT name FROM mentions WHERE kind = 'person' GROUP BY name ORDER BY count(*) DESC LIMIT 40")]
        site = conn.execute("SELECT site FROM records LIMIT 1").fetchone()[0]
    words = ["missiles", "ukraine", "trump", "defence", "council", "minister", "election", "president"]
    quote = urllib.parse.quote
    return {
        "overview": ["/"],
        "records (newest)": ["/records"],
        "records page 40": ["/records?page=40"],
        "records search": [f"/records?q={rng.choice(words)}" for _ in range(40)],
        "records search + filters": [f"/records?q={rng.choice(words)}&status=unique&source={site}&since=2020-01-01"
                                     for _ in range(40)],
        "records by entity": [f"/records?entity={quote(p)}" for p in people],
        "record": [f"/records/{i}" for i in ids],
        "duplicates": ["/duplicates"],
        "entities (30 days)": ["/entities"],
        "entity": [f"/entities/person/{quote(p)}?days=30" for p in people],
        "failures": ["/failures"],
    }


def measure(base: str, paths: list[str], requests: int) -> list[float]:
    for path in paths[:3]:  # warm-up
        urllib.request.urlopen(base + path, timeout=30).read()
    times = []
    for n in range(requests):
        started = time.perf_counter()
        with urllib.request.urlopen(base + paths[n % len(paths)], timeout=30) as response:
            response.read()
            assert response.status == 200
        times.append((time.perf_counter() - started) * 1000)
    return times


def uncached_tops(url: str, runs: int = 6) -> list[float]:
    """The entities page's query itself (the page reuses its result for a minute)."""
    from worker.web.queries import top_entities

    times = []
    with connect(url) as conn:
        for _ in range(runs):
            started = time.perf_counter()
            top_entities(conn, days=30)
            times.append((time.perf_counter() - started) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def run_web(redis_url: str, pg_url: str, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "INGEST_REDIS_URL": redis_url, "INGEST_POSTGRES_URL": pg_url,
           "INGEST_WEB_PORT": str(port), "INGEST_STATE_DIR": str(work / "state"), "INGEST_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "worker.cli", "web"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/api/counters", timeout=2).read()
            return process, base
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("ingest web did not start") from None
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-web-"))
    work.chmod(0o755)  # PostgreSQL's own account keeps its data in here, not in a shared /tmp folder
    redis_server, postgres = EmbeddedRedis(work / "redis"), EmbeddedPostgres(work / "pg")
    redis_url, pg_url = redis_server.start(), postgres.start()
    results: dict[int, dict[str, list[float]]] = {}
    rates = {}
    try:
        for size in (args.baseline, args.records):
            rates[size] = fill(pg_url, size)
            print(f"{size:,} records stored ({rates[size]:,.0f} records/s)")
            process, base = run_web(redis_url, pg_url, work)
            try:
                results[size] = {name: measure(base, paths, args.requests) for name, paths in pages(pg_url).items()}
                results[size]["entities query, uncached"] = uncached_tops(pg_url)
            finally:
                process.terminate()
                process.wait(20)
    finally:
        postgres.stop()
        redis_server.stop()
        remove_store(postgres.state_dir)
        shutil.rmtree(work, ignore_errors=True)
    small, large = results[args.baseline], results[args.records]
    rows = [[name, statistics.median(large[name]), p95(large[name]), p95(small[name]),
             p95(large[name]) / p95(small[name])] for name in large]
    headers = ["page", f"p50 ms ({args.records:,})", f"p95 ms ({args.records:,})", f"p95 ms ({args.baseline:,})",
               "p95 ratio"]
    text = table(headers, rows)
    worst = max(row[2] for row in rows)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    verdict = f"Slowest page p95: {worst:.0f} ms ({'under' if worst < 200 else 'OVER'} the 200 ms target)."
    print("\n" + text + "\n\n" + verdict)
    if args.write:
        body = (f"Each page requested {args.requests} times in sequence over HTTP from another process, after "
                f"3 warm-up requests, with {args.records:,} records (about {args.records // 10:,} near copies, "
                f"3-7 entities each) in the store, against the same pages over {args.baseline:,} records "
                f"(baseline, same run). Store filled at {rates[args.records]:,.0f} records/s. Load average at "
                f"the end (1/5/15 min, 2 cores): {load}.\n\n"
                f"{text}\n\n{verdict}")
        write_section("web", "Web view: page latency", body, "python bench/web.py --write")


if __name__ == "__main__":
    main()
