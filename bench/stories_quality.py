"""Story clustering: same-story quality on human-judged pairs, cost per article, memory per story.

    .venv/bin/python bench/stories_quality.py [--levels full,fast,off] [--write]

Needs ``../shared/data/story-pairs/pairs.jsonl`` (SemEval-2022 Task 8, English pairs with human
"same story?" scores); skips cleanly (exit 0) without it.

* Quality: each pair's two texts are dropped, in order, through the real pipeline (parse,
  normalise, dedupe, enrich at the given level, stories) into an emptied Redis: same story id?
  Same story: overall <= 1.5; different: >= 3.5 (the middle is related coverage, not scored).
  The score of a pair is the second text's similarity to the first one's story (0 when it shared
  no anchor term with it); Pearson is taken with -overall over every pair. The threshold is
  chosen by cross-validation: best F1 on one half of the pairs, scored on the other half, both
  ways. The setting's threshold is then run end to end (its own Redis decisions).
* Baseline, same run: TF-IDF cosine of the two texts (words of 3+ letters, idf over these texts,
  scikit-learn's default weighting: raw counts, smooth idf, unit length), thresholds chosen the
  same way.
* Cost: story vector (CPU time) and the Redis assign-or-create (wall time) per article, every
  text of the pairs and the seeds into one index, with full enrichment's entities available
  (enrichment itself excluded); the dedup stage's fingerprint + check in the same run as the
  yardstick.
* Memory: Redis memory of the story index divided by its live stories.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import SHARED_DATA, table, write_section  # noqa: E402
from worker import pipeline  # noqa: E402
from worker.models import SourceFile  # noqa: E402
from worker.pipeline.dedupe import DedupIndex  # noqa: E402
from worker.pipeline.enrich import enrich  # noqa: E402
from worker.pipeline.normalise import normalise  # noqa: E402
from worker.pipeline.parse import parse  # noqa: E402
from worker.pipeline.stories import StoryIndex, story_vector  # noqa: E402
from worker.service.embedded import EmbeddedRedis  # noqa: E402
from worker.service.redis_client import connect  # noqa: E402
from worker.settings import Settings  # noqa: E402

COMMAND = ".venv/bin/python bench/stories_quality.py --write"
PAIRS = SHARED_DATA / "story-pairs" / "pairs.jsonl"
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# Arrival time of the pairs' texts: their own period (the one text with a date line is of
# 2 January 2020), as a live feed would have received them. An undated article is placed at its
# arrival; arriving years after a dated one, it could not join its story.
WHEN = datetime(2020, 1, 2, tzinfo=timezone.utc)


def label(pair: dict) -> int | None:
    return 1 if pair["overall"] <= 1.5 else 0 if pair["overall"] >= 3.5 else None


def half(pair: dict) -> int:
    """A fixed split of the pairs in two, by a hash of the pair id."""
    return hashlib.sha256(pair["pair_id"].encode()).digest()[0] % 2


def prf(scores: list[float], labels: list[int | None], threshold: float) -> tuple[float, float, float]:
    tp = sum(1 for s, y in zip(scores, labels) if y == 1 and s >= threshold)
    fp = sum(1 for s, y in zip(scores, labels) if y == 0 and s >= threshold)
    fn = sum(1 for s, y in zip(scores, labels) if y == 1 and s < threshold)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def fit(scores: list[float], labels: list[int | None]) -> float:
    """Threshold of the best F1 (ties: the best precision), halfway to the next score below."""
    cuts = sorted({s for s, y in zip(scores, labels) if y is not None and s > 0})
    best = max(cuts, key=lambda c: (prf(scores, labels, c)[2], prf(scores, labels, c)[0]))
    below = [s for s, y in zip(scores, labels) if y is not None and s < best]
    return (best + max(below)) / 2 if below else best


def pearson(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sx = math.sqrt(sum((x - mx) ** 2 for x in xs))
    sy = math.sqrt(sum((y - my) ** 2 for y in ys))
    return sxy / (sx * sy)


def baseline_scores(pairs: list[dict]) -> list[float]:
    """TF-IDF cosine of each pair's texts, idf over every text of the pairs."""
    token = re.compile(r"(?u)\b[a-zA-Z]{3,}\b")
    docs = [Counter(token.findall(t.lower())) for p in pairs for t in (p["text1"], p["text2"])]
    df = Counter(w for d in docs for w in d)
    n = len(docs)

    def vec(d: Counter[str]) -> dict[str, float]:
        v = {w: c * (1 + math.log((1 + n) / (1 + df[w]))) for w, c in d.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {w: x / norm for w, x in v.items()}

    vecs = [vec(d) for d in docs]
    return [sum(x * vecs[2 * i + 1].get(w, 0.0) for w, x in vecs[2 * i].items()) for i in range(len(pairs))]


def source(name: str, data: bytes) -> SourceFile:
    return SourceFile(name=name, path=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                      received_at=WHEN)


def pair_runs(pairs: list[dict], client, settings: Settings) -> tuple[list[float], list[bool], list[dict]]:
    """Each pair through the pipeline into an emptied Redis: the score, same story?, and the
    stories of the second texts (for what they used)."""
    index = DedupIndex.from_settings(client, settings)
    scores, same, stories = [], [], []
    for pair in pairs:
        client.flushdb()
        records = []
        for n, text in enumerate((pair["text1"], pair["text2"]), 1):
            data = text.encode()
            records.append(pipeline.run(source(f"{pair['pair_id']}-{n}.txt", data), data, index, settings)[0])
        first, second = (r.story for r in records)
        joined = first.id == second.id
        same.append(joined)
        scores.append(second.similarity if joined else 0.0)
        stories.append(second.model_dump())
    return scores, same, stories


def quality(pairs: list[dict], client, level: str, default: float) -> tuple[list[list[object]], dict]:
    labels = [label(p) for p in pairs]
    overall = [-p["overall"] for p in pairs]
    halves = [half(p) for p in pairs]
    probe = Settings(enrich=level, story_threshold=0.0)  # every candidate joins: its score is kept
    scores, _, stories = pair_runs(pairs, client, probe)
    _, same, _ = pair_runs(pairs, client, Settings(enrich=level, story_threshold=default))
    rows = []
    fitted = {}
    for h in (0, 1):
        on = [s if hh == h else 0.0 for s, hh in zip(scores, halves)]
        lab_on = [y if hh == h else None for y, hh in zip(labels, halves)]
        lab_off = [y if hh != h else None for y, hh in zip(labels, halves)]
        threshold = fit(on, lab_on)
        fitted[h] = threshold
        p, r, f = prf(scores, lab_off, threshold)
        rows.append([f"stories ({level})", f"fit on half {h}, scored on half {1 - h}", threshold, p, r, f])
    p, r, f = prf([1.0 if s else 0.0 for s in same], labels, 0.5)
    rows.append([f"stories ({level})", f"setting {default} end to end, all pairs", default, p, r, f])
    basis = Counter("+".join(s["basis"]) for s in stories)
    return rows, {"pearson": pearson(scores, overall), "fitted": fitted, "basis": basis}


def baseline_rows(pairs: list[dict]) -> tuple[list[list[object]], float]:
    labels = [label(p) for p in pairs]
    halves = [half(p) for p in pairs]
    scores = baseline_scores(pairs)
    rows = []
    for h in (0, 1):
        on = [s if hh == h else 0.0 for s, hh in zip(scores, halves)]
        threshold = fit(on, [y if hh == h else None for y, hh in zip(labels, halves)])
        p, r, f = prf(scores, [y if hh != h else None for y, hh in zip(labels, halves)], threshold)
        rows.append(["TF-IDF cosine baseline", f"fit on half {h}, scored on half {1 - h}", threshold, p, r, f])
    threshold = fit(scores, labels)
    p, r, f = prf(scores, labels, threshold)
    rows.append(["TF-IDF cosine baseline", "best threshold on all pairs (optimistic)", threshold, p, r, f])
    return rows, pearson(scores, [-p["overall"] for p in pairs])


def cost_and_memory(pairs: list[dict], client, settings: Settings) -> tuple[list[list[object]], dict]:
    """Every text of the pairs and the seeds into one index, a few minutes of publication time
    apart: story vector and assign per article, dedup fingerprint + check as the yardstick."""
    client.flushdb()
    texts = [t for p in pairs for t in (p["text1"], p["text2"])]
    texts += [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    prepared = []
    for i, text in enumerate(texts):
        doc = parse(text.encode(), f"{i}.txt", max_decompressed_bytes=settings.max_decompressed_bytes)[0]
        article = normalise(doc)
        prepared.append((f"bench{i:05d}", article, enrich(article, "full")))
    stories = StoryIndex.from_settings(client, settings)
    dedup = DedupIndex.from_settings(client, settings)
    vector_ms, assign_ms, dedup_ms = [], [], []
    before = client.info("memory")["used_memory"]
    client.config_resetstat()
    for i, (rid, article, enrichment) in enumerate(prepared):
        start = time.process_time()
        vector = story_vector(article, enrichment)
        vector_ms.append((time.process_time() - start) * 1e3)
        start = time.perf_counter()
        stories.assign(vector, rid, published=WHEN + timedelta(minutes=5 * i))
        assign_ms.append((time.perf_counter() - start) * 1e3)
    story_server_ms = client.info("commandstats")["cmdstat_evalsha"]["usec_per_call"] / 1e3
    used = client.info("memory")["used_memory"] - before
    client.config_resetstat()
    for rid, article, _ in prepared:
        start = time.perf_counter()
        dedup.check_and_insert(dedup.fingerprint(article), rid)
        dedup_ms.append((time.perf_counter() - start) * 1e3)
    dedup_server_ms = client.info("commandstats")["cmdstat_evalsha"]["usec_per_call"] / 1e3
    live = int(client.get(f"{stories.prefix}:next"))
    kinds: Counter[str] = Counter()
    for key in client.scan_iter(match=f"{stories.prefix}:*", count=1000):
        kinds[key.decode().split(":")[2]] += client.memory_usage(key, samples=0) or 0

    def row(name: str, values: list[float], clock: str) -> list[object]:
        ordered = sorted(values)
        return [name, clock, statistics.fmean(values), ordered[len(values) // 2],
                ordered[int(len(values) * 0.95)], statistics.fmean(values) / statistics.fmean(dedup_ms)]

    both = [v + a for v, a in zip(vector_ms, assign_ms)]
    rows = [
        row("story vector (Python)", vector_ms, "CPU"),
        row("assign-or-create (Redis, one round trip)", assign_ms, "wall"),
        row("stories stage, total", both, "CPU + wall"),
        row("dedupe: fingerprint + check-and-insert (yardstick)", dedup_ms, "wall"),
    ]
    per_kind = {k: v / live for k, v in kinds.items()}
    rows.append(["assign-or-create: Redis server time (commandstats)", "server", story_server_ms, "", "",
                 story_server_ms / dedup_server_ms])
    rows.append(["dedupe check-and-insert: Redis server time (yardstick)", "server", dedup_server_ms, "", "", 1.0])
    return rows, {"articles": len(prepared), "stories": live, "per_kind": per_kind,
                  "per_story": sum(kinds.values()) / live, "used_per_story": used / live}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="full,fast,off")
    parser.add_argument("--write", action="store_true", help="rewrite the BENCHMARKS.md section")
    args = parser.parse_args()
    if not PAIRS.exists():
        print(f"skipped: the story pairs are not at {PAIRS}")
        return
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = [label(p) for p in pairs]
    default = Settings().story_threshold
    pipeline.warm_up(Settings())
    with tempfile.TemporaryDirectory() as state, EmbeddedRedis(Path(state), appendonly=False) as server:
        client = connect(server.url)
        rows, base_pearson = baseline_rows(pairs)
        pearsons = [["TF-IDF cosine baseline", base_pearson]]
        notes = []
        for level in args.levels.split(","):
            level_rows, facts = quality(pairs, client, level, default)
            rows += level_rows
            pearsons.append([f"stories ({level})", facts["pearson"]])
            notes.append(f"`{level}`: the second texts' stories used "
                         + ", ".join(f"{k} ({v})" for k, v in sorted(facts["basis"].items())))
            print(level, "done", file=sys.stderr)
        cost_rows, memory = cost_and_memory(pairs, client, Settings())
    counts = Counter(labels)
    quality_table = table(["Method", "Threshold chosen", "Threshold", "P", "R", "F1"], rows)
    pearson_table = table(["Method", "Pearson with -overall (all 161 pairs)"], pearsons)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    cost_table = table(["Per article", "Clock", "Mean ms", "Median ms", "p95 ms", "Mean vs dedupe"], cost_rows)
    memory_lines = "\n".join(f"- `{k}`: {v:,.0f} bytes per story" for k, v in sorted(memory["per_kind"].items()))
    body = f"""
{len(pairs)} English pairs of `story-pairs` (SemEval-2022 Task 8): {counts[1]} same story
(overall <= 1.5), {counts[0]} different (>= 3.5), {counts[None]} related (not scored). Halves: a
fixed hash of the pair id. The pairs carry no dates (one text has a date line): they arrive on
{WHEN:%Y-%m-%d}, so time decay plays almost no part here.

### Same story? (both texts dropped; same story id?)

{quality_table}

{pearson_table}

{chr(10).join('- ' + n for n in notes)}

### Cost per article ({memory['articles']} articles into one index: the pairs' texts and the seeds; full enrichment's entities, enrichment itself excluded)

{cost_table}

Load average during the run: {load} (on {os.cpu_count()} cores). Wall times include waiting for a
core; the work itself is the Python CPU time plus the Redis server's time for the script.

### Memory per live story ({memory['stories']} stories of {memory['articles']} articles; Redis `MEMORY USAGE` by key kind)

- all keys: {memory['per_story']:,.0f} bytes per story (`used_memory` growth: {memory['used_per_story']:,.0f})
{memory_lines}

(`s`: story hash with its centroid; `m`: member ids; `r`: one record -> story entry per article;
`i`: inverted index slices; `next`: the counter.)
"""
    print(body)
    if args.write:
        write_section("stories", "Stories: same-story quality, cost and memory", body, COMMAND)


if __name__ == "__main__":
    main()
