"""Check-and-insert is atomic across OS processes: of many copies of one article handled at
the same moment by several workers, exactly one becomes the original."""

from __future__ import annotations

import multiprocessing as mp
import random
import re

import redis

from worker.models import Article
from worker.pipeline.dedupe import DedupIndex
from worker.settings import Settings

from .conftest import SEEDS

WORKERS = 4
COPIES = 200


def copies_of(body: str) -> list[tuple[str, str]]:
    """200 (record id, body): half exact copies (other case, quotes, white space), half near
    copies (a last paragraph cut, an outlet's footer, a word changed), shuffled."""
    rng = random.Random(4)
    paragraphs = [p for p in body.split("\n") if p.strip()]
    out = []
    for i in range(COPIES // 2):
        text = body.upper() if i % 3 == 0 else body.replace("'", "\u2019").replace("\n", "\r\n  ")
        out.append((f"exact{i}", text))
    for i in range(COPIES // 2):
        kept = paragraphs[: len(paragraphs) - rng.randint(0, 2)]
        text = "\n".join(kept) + f"\nDistributed by outlet number {i}. Sign up for our newsletter."
        text = re.sub(r"\bsaid\b", "says", text, count=1) if i % 2 else text
        out.append((f"near{i}", text))
    rng.shuffle(out)
    return out


def worker(url: str, jobs: list[tuple[str, str]], start: mp.Event, results: mp.Queue) -> None:
    client = redis.Redis.from_url(url)
    index = DedupIndex.from_settings(client, Settings())
    prepared = [(rid, index.fingerprint(Article(body=body))) for rid, body in jobs]
    start.wait()
    out = [(rid, index.check_and_insert(fp, rid).model_dump()) for rid, fp in prepared]
    results.put(out)


def test_dedupe_two_hundred_copies_in_four_processes_give_exactly_one_unique(redis_url: str) -> None:
    jobs = copies_of(SEEDS[0].read_text())
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(redis_url, jobs[w::WORKERS], start, results))
             for w in range(WORKERS)]
    for p in procs:
        p.start()
    start.set()
    outcomes = dict(pair for _ in procs for pair in results.get(timeout=120))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert len(outcomes) == COPIES
    originals = [rid for rid, r in outcomes.items() if r["status"] == "unique"]
    assert len(originals) == 1
    assert {r["duplicate_of"] for r in outcomes.values() if r["status"] != "unique"} == set(originals)
    if originals[0].startswith("exact"):  # then the other exact copies are found as exact
        assert all(r["status"] == "exact_duplicate" for rid, r in outcomes.items()
                   if rid.startswith("exact") and rid != originals[0])

