"""Dedup quality, speed and memory: our index next to datasketch's MinHashLSH, in one run.

    .venv/bin/python bench/dedupe_quality.py [--runs 3] [--memory-articles 10000]

Needs the shared extraction benchmark (../shared/data); skips cleanly (exit 0) without it.

* Quality: the labelled set of ``bench/dedupe_variants.py``. Every original is indexed first
  (each must come back unique: no two different stories merged), then every copy is checked
  (it must point at its own original). Hard negatives: for each ordered pair of same-topic
  reports (A, B), A alone is indexed and B carrying one paragraph of A must stay unique.
  Both engines see the same folded words, shingles, permutations, bands, rows and thresholds,
  and the same lead bands over the first 60 words (the teaser route); datasketch's candidates
  are verified with the same Jaccard-or-containment rule (``trusts_containment``).
* Speed: fingerprint + check-and-insert per article, new 600-word articles, against a local
  embedded Redis (ours, with and without the teaser route, in turn) and in memory / against the
  same Redis (datasketch).
* Memory: Redis ``used_memory`` growth per indexed article over N new articles.
* Sweep: shingle size and thresholds, from the same labelled pairs (estimates only, no Redis).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from bench._report import SHARED_DATA, require_extraction_data, table, write_section  # noqa: E402
from bench.dedupe_variants import (  # noqa: E402
    EXACT_VARIANTS, SAME_TOPIC, VARIANTS, Item, _rng, build, load_originals, teaser,
)
from worker.service.embedded import EmbeddedRedis  # noqa: E402
from worker.models import Article  # noqa: E402
from worker.pipeline.dedupe import (  # noqa: E402
    ENTRY, LEAD_BANDS, LEAD_ROWS, LEAD_WORDS, DedupIndex, Fingerprint, fingerprint, trusts_containment,
)
from worker.pipeline.dedupe.minhash import MinHasher, containment, estimate, folded_bytes  # noqa: E402
from worker.settings import Settings  # noqa: E402

COMMAND = ".venv/bin/python bench/dedupe_quality.py"
LISTED = tuple(k for k in VARIANTS if k != "syndicated")  # one change each; syndicated combines them


@dataclass(frozen=True)
class Params:
    shingle_size: int
    num_perm: int
    bands: int
    rows: int
    near: float
    contain: float

    @classmethod
    def from_settings(cls, s: Settings) -> Params:
        return cls(s.shingle_size, s.num_perm, s.lsh_bands, s.lsh_rows,
                   s.near_threshold, s.containment_threshold)


# --- the two engines ------------------------------------------------------------------------

class Ours:
    name = "article-ingest"

    def __init__(self, client: redis.Redis, p: Params, prefix: str, lead_words: int | None = LEAD_WORDS) -> None:
        self.index = DedupIndex(client, ttl=30 * 86400, prefix=prefix, shingle_size=p.shingle_size,
                                num_perm=p.num_perm, bands=p.bands, rows=p.rows,
                                near_threshold=p.near, containment_threshold=p.contain,
                                lead_words=lead_words)

    def check(self, rid: str, body: str) -> tuple[str, str | None]:
        result = self.index.check_and_insert(self.index.fingerprint(Article(body=body)), rid)
        return result.status, result.duplicate_of


class Datasketch:
    """datasketch MinHash + MinHashLSH with the same shingles and rule; exact test by hash.
    The opening words get a second MinHashLSH with the index's lead bands (the teaser route)."""

    name = "datasketch MinHashLSH"

    def __init__(self, p: Params, storage: dict | None = None) -> None:
        from datasketch import MinHash, MinHashLSH

        self._minhash = MinHash
        self.p = p
        self.lsh = MinHashLSH(num_perm=p.num_perm, params=(p.bands, p.rows),
                              **({"storage_config": storage} if storage else {}))
        lead_storage = {**storage, "basename": storage["basename"] + b"-lead"} if storage else None
        self.lead_lsh = MinHashLSH(num_perm=LEAD_BANDS * LEAD_ROWS, params=(LEAD_BANDS, LEAD_ROWS),
                                   **({"storage_config": lead_storage} if lead_storage else {}))
        self.exact: dict[bytes, str] = {}
        self.sigs: dict[str, tuple[object, int, object]] = {}

    def _shingled(self, words: list[bytes], num_perm: int):
        k = min(self.p.shingle_size, len(words))
        shingles = {b" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}
        m = self._minhash(num_perm=num_perm)
        m.update_batch(list(shingles))
        return m, len(shingles)

    def check(self, rid: str, body: str) -> tuple[str, str | None]:
        folded = folded_bytes(body)
        digest = hashlib.blake2b(folded, digest_size=16).digest()
        if digest in self.exact:
            return "exact_duplicate", self.exact[digest]
        words = folded.split(b" ")
        m, n_shingles = self._shingled(words, self.p.num_perm)
        lead = self._shingled(words[:LEAD_WORDS], LEAD_BANDS * LEAD_ROWS)[0] if len(words) >= LEAD_WORDS else None
        best, best_score = None, -1.0
        candidates = set(self.lsh.query(m)) | (set(self.lead_lsh.query(lead)) if lead else set())
        for cand in sorted(candidates):
            other, n, other_lead = self.sigs[cand]
            j = m.jaccard(other)
            shared = _lead_bands_shared(lead, other_lead)
            c = containment(j, n, n_shingles) if trusts_containment(
                j, n, n_shingles, shared, self.p.shingle_size) else 0.0
            score = max(j if j >= self.p.near else -1.0, c if c >= self.p.contain else -1.0)
            if score > best_score:
                best, best_score = cand, score
        if best is not None and best_score >= 0:
            return "near_duplicate", best
        self.exact[digest] = rid
        self.sigs[rid] = (m, n_shingles, lead)
        self.lsh.insert(rid, m)
        if lead is not None:
            self.lead_lsh.insert(rid, lead)
        return "unique", None


def _lead_bands_shared(a, b) -> int:
    if a is None or b is None:
        return 0
    equal = (a.hashvalues == b.hashvalues).reshape(LEAD_BANDS, LEAD_ROWS)
    return int(equal.all(axis=1).sum())


def _fingerprints(items: list[Item], p: Params, shingle_size: int) -> dict[str, Fingerprint]:
    hasher = MinHasher(shingle_size=shingle_size, num_perm=p.num_perm)
    return {it.id: fingerprint(Article(body=it.body), hasher, p.bands, p.rows) for it in items}


def judge(a: Fingerprint, b: Fingerprint, p: Params, shingle_size: int) -> tuple[bool, float, float]:
    """As the index judges a pair, from their fingerprints (no Redis): whether a band or a lead
    band brings one up as the other's candidate, the estimated Jaccard, and the containment
    where the index trusts it (0 elsewhere)."""
    ka = [a.keys[i:i + ENTRY] for i in range(ENTRY, len(a.keys), ENTRY)]
    kb = [b.keys[i:i + ENTRY] for i in range(ENTRY, len(b.keys), ENTRY)]
    full = any(x == y for x, y in zip(ka[:p.bands], kb[:p.bands]))
    lead = sum(x == y for x, y in zip(ka[p.bands:], kb[p.bands:]))
    j, c = estimate(a.signature, b.signature, a.shingles, b.shingles)
    trusted = trusts_containment(j, a.shingles, b.shingles, lead, shingle_size)
    return full or lead > 0, j, (c if trusted else 0.0)


# --- quality --------------------------------------------------------------------------------

def quality(make_engine, originals: dict[str, str]) -> dict:
    first, copies, hard = build(originals)
    engine = make_engine("main")
    merged_originals = [(it.id, dup) for it in first if (res := engine.check(it.id, it.body))[0] != "unique"
                        for dup in [res[1]]]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for it in copies:
        status, dup = engine.check(it.id, it.body)
        row = counts[it.kind]
        row["n"] += 1
        origin = dup.split("~")[0] if dup else None
        if status == "unique":
            row["fn"] += 1
        elif origin == it.origin:
            row["tp"] += 1
            row["exact"] += status == "exact_duplicate"
        else:
            row["fp"] += 1
            row["fn"] += 1
    hard_flagged = []
    for i, (a, b) in enumerate(hard):
        sub = make_engine(f"hard{i}")
        sub.check(a.id, a.body)
        status, dup = sub.check(b.id, b.body)
        if status != "unique":
            hard_flagged.append((b.id, dup))
    same_topic = {frozenset((x, y)) for g in SAME_TOPIC for x in g for y in g if x != y}
    merged_same_topic = [m for m in merged_originals if frozenset((m[0], m[1])) in same_topic]
    return {"counts": counts, "merged": merged_originals, "merged_same_topic": merged_same_topic,
            "hard": hard_flagged, "n_hard": len(hard), "n_originals": len(first)}


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


WIDE = SHARED_DATA / "extraction-wide" / "dragnet" / "ground-truth.json"


def unseen(make_engine) -> tuple[int, list[tuple[str, str]], int, int]:
    """Articles nobody here read for dedup (extraction-wide's hand-copied bodies, other sites
    and years): each indexed in turn, then a teaser of each. (originals, pairs merged,
    teasers, teasers linked to their own original)."""
    bodies = {k: v["articleBody"] for k, v in sorted(json.loads(WIDE.read_text()).items())}
    engine = make_engine("unseen")
    merged = [(k, res[1]) for k, b in bodies.items() if (res := engine.check(k, b))[0] != "unique"]
    teasers = {k: t for k, b in bodies.items() if (t := teaser(b, _rng(k, "unseen"))) is not None}
    linked = sum(engine.check(f"{k}~teaser", t)[1] == k for k, t in teasers.items())
    return len(bodies), merged, len(teasers), linked


def quality_rows(ours: dict, theirs: dict) -> tuple[list[list[object]], dict]:
    rows, totals = [], {}
    for label, q in (("ours", ours), ("ds", theirs)):
        for scope, kinds in (("listed", LISTED), ("all", tuple(VARIANTS))):
            tp = sum(q["counts"][k]["tp"] for k in kinds)
            fp = sum(q["counts"][k]["fp"] for k in kinds) + len(q["merged"]) + len(q["hard"])
            fn = sum(q["counts"][k]["fn"] for k in kinds)
            totals[label, scope] = prf(tp, fp, fn)
    for kind in VARIANTS:
        a, b = ours["counts"][kind], theirs["counts"][kind]
        pa, ra, fa = prf(a["tp"], a["fp"], a["fn"])
        pb, rb, fb = prf(b["tp"], b["fp"], b["fn"])
        note = f"{a['exact']}/{a['n']} exact" if kind in EXACT_VARIANTS else ""
        rows.append([kind, a["n"], pa, ra, fa, pb, rb, fb, note])
    rows.append([f"**the {len(LISTED)} single-change types, with the negatives**", sum(ours["counts"][k]["n"] for k in LISTED),
                 *totals["ours", "listed"], *totals["ds", "listed"], "FP counts the negatives below"])
    rows.append([f"**all {len(VARIANTS)}, with the negatives**", sum(c["n"] for c in ours["counts"].values()),
                 *totals["ours", "all"], *totals["ds", "all"], ""])
    return rows, totals


# --- speed and memory -----------------------------------------------------------------------

def synthetic_articles(originals: dict[str, str], count: int, seed: int, words: tuple[int, int]) -> list[str]:
    """New articles (no shared passages) with real word frequencies: words drawn from the
    pooled vocabulary of the real bodies, sentence-cased, in paragraphs."""
    vocab = re.findall(r"[A-Za-z']+", " ".join(originals.values()))
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.randint(*words)
        w = rng.choices(vocab, k=n)
        out.append("\n\n".join(" ".join(w[i:i + 60]) + "." for i in range(0, n, 60)))
    return out


def time_per_article(check, bodies: list[str], tag: str) -> float:
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        check(f"{tag}{i}", body)
    return (time.perf_counter() - start) / len(bodies) * 1e3


def cpu_per_article(client: redis.Redis, check, bodies: list[str], tag: str) -> float:
    """CPU ms per article: this process's CPU time plus the Redis server's time in its scripts
    (``INFO commandstats``). Wall time on a shared 2-core machine mostly measures the others'
    load; CPU time much less so."""
    def script_usec() -> int:  # a difference of counters: the embedded server refuses CONFIG RESETSTAT
        return sum(v["usec"] for k, v in client.info("commandstats").items() if k.startswith("cmdstat_eval"))

    before = script_usec()
    start = time.process_time()
    for i, body in enumerate(bodies):
        check(f"{tag}{i}", body)
    own = time.process_time() - start
    server = script_usec() - before
    return (own + server / 1e6) / len(bodies) * 1e3


def steady_state_ms(client: redis.Redis, p: Params, bodies: list[str], seconds: float = 10.0,
                    lead_words: int | None = LEAD_WORDS) -> float:
    """ms per new article once look-ups read every live slice: a 6 s window in 3 s slices, fed
    at a steady pace for ``seconds``, measured after the first 6 s (three live slices)."""
    client.flushall()
    index = DedupIndex(client, ttl=6, slices=2, prefix="bench:steady", shingle_size=p.shingle_size,
                       num_perm=p.num_perm, bands=p.bands, rows=p.rows, near_threshold=p.near,
                       containment_threshold=p.contain, lead_words=lead_words)
    start, timed = time.monotonic(), []
    for i, body in enumerate(bodies):
        elapsed = time.monotonic() - start
        if elapsed > seconds:
            break
        time.sleep(0.001)
        t = time.perf_counter()
        index.check_and_insert(index.fingerprint(Article(body=body)), f"s{i}")
        if elapsed >= 6:
            timed.append(time.perf_counter() - t)
    return sum(timed) / max(len(timed), 1) * 1e3


def memory_per_article(client: redis.Redis, check, bodies: list[str]) -> tuple[float, int]:
    client.flushall()
    before = client.info("memory")["used_memory"]
    unique = sum(check(f"m{i}", body)[0] == "unique" for i, body in enumerate(bodies))
    return (client.info("memory")["used_memory"] - before) / max(unique, 1), unique


# --- sweep ----------------------------------------------------------------------------------

def threshold_sweep(originals: dict[str, str], p: Params) -> list[list[object]]:
    """At the settings' shingle size and bands: near copies found and negatives merged for a
    grid of thresholds (estimates only, no Redis)."""
    first, copies, hard = build(originals)
    fps = _fingerprints(first + copies + [b for _, b in hard], p, p.shingle_size)
    by_id = {it.id: it for it in first}

    def scores(a: Item, b: Item) -> tuple[bool, float, float]:
        return judge(fps[a.id], fps[b.id], p, p.shingle_size)

    pos = [scores(by_id[it.origin], it) for it in copies if it.kind not in EXACT_VARIANTS]
    neg = [scores(first[i], first[j]) for i in range(len(first)) for j in range(i + 1, len(first))]
    neg += [scores(a, b) for a, b in hard]
    rows = []
    for near in (0.5, 0.6, 0.7, 0.8):
        for contain in (0.6, 0.7, 0.8, 0.85):
            hit = lambda s: s[0] and (s[1] >= near or s[2] >= contain)  # noqa: E731
            rows.append([near, contain, sum(map(hit, pos)) / len(pos), sum(map(hit, neg))])
    return rows


def sweep(originals: dict[str, str], p: Params) -> list[list[object]]:
    """Per shingle size: recall of the near copies (band collision and rule), the largest
    score of any negative pair, at the chosen thresholds."""
    first, copies, hard = build(originals)
    rows = []
    for k in (3, 4, 5, 6):
        fps = _fingerprints(first + copies + [b for _, b in hard], p, k)

        def pair(a: Item, b: Item) -> tuple[bool, bool, float, float]:
            band, j, c = judge(fps[a.id], fps[b.id], p, k)
            return band, j >= p.near or c >= p.contain, j, c

        by_id = {it.id: it for it in first}
        found = total = 0
        for it in copies:
            if it.kind in EXACT_VARIANTS:
                continue
            total += 1
            band, rule, _, _ = pair(by_id[it.origin], it)
            found += band and rule
        neg = [(first[i], first[j]) for i in range(len(first)) for j in range(i + 1, len(first))]
        neg += hard
        worst_j = worst_c = 0.0
        flagged = 0
        for a, b in neg:
            band, rule, j, c = pair(a, b)
            worst_j, worst_c = max(worst_j, j), max(worst_c, c)
            flagged += band and rule
        rows.append([k, f"{found}/{total}", found / total, len(neg), flagged, worst_j, worst_c])
    return rows


# --- main -----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="speed runs (the median is reported)")
    parser.add_argument("--speed-articles", type=int, default=1000)
    parser.add_argument("--memory-articles", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args()
    originals = {k: re.sub(r"^\s*date \d{4}-\d{2}-\d{2}\s*", "", v)  # as normalise leaves a seed
                 for k, v in load_originals(require_extraction_data()).items()}
    p = Params.from_settings(Settings())
    print(f"settings: {p}")

    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), appendonly=False) as server:
        client = redis.Redis.from_url(server.url)
        client.flushall()
        ours_q = quality(lambda ns: Ours(client, p, f"bench:{ns}"), originals)
        ds_q = quality(lambda ns: Datasketch(p), originals)
        rows, totals = quality_rows(ours_q, ds_q)
        unseen_rows = [
            [label, *unseen(make)] for label, make in (
                ("article-ingest", lambda ns: Ours(client, p, f"bench:{ns}")),
                ("without the teaser route", lambda ns: Ours(client, p, f"bench:{ns}-plain", None)),
                ("datasketch", lambda ns: Datasketch(p)),
            )
        ] if WIDE.exists() else []

        speed_bodies = synthetic_articles(originals, args.speed_articles, 1, (600, 600))
        ours_ms, plain_ms, ds_ms, ds_redis_ms, ours_cpu, plain_cpu = [], [], [], [], [], []
        for run in range(args.runs):
            client.flushall()
            engine = Ours(client, p, "bench:speed")
            plain = Ours(client, p, "bench:speed-plain", lead_words=None)
            for eng, out in ((engine, ours_ms), (plain, plain_ms))[:: 1 if run % 2 else -1]:
                out.append(time_per_article(eng.check, speed_bodies, f"r{run}-"))
            client.flushall()
            engine = Ours(client, p, "bench:speed")
            plain = Ours(client, p, "bench:speed-plain", lead_words=None)
            for eng, out in ((engine, ours_cpu), (plain, plain_cpu))[:: 1 if run % 2 else -1]:
                out.append(cpu_per_article(client, eng.check, speed_bodies, f"c{run}-"))
            ds_ms.append(time_per_article(Datasketch(p).check, speed_bodies, f"r{run}-"))
        client.flushall()
        ds_storage = {"type": "redis", "basename": b"bench-ds",
                      "redis": {"host": "127.0.0.1", "port": server.port, "password": server.password}}
        ds_redis_n = min(300, len(speed_bodies))
        ds_redis_ms.append(time_per_article(Datasketch(p, ds_storage).check, speed_bodies[:ds_redis_n], "d"))

        steady_bodies = synthetic_articles(originals, 8000, 3, (600, 600))
        steady = steady_state_ms(client, p, steady_bodies)
        steady_plain = steady_state_ms(client, p, steady_bodies, lead_words=None)
        mem_bodies = synthetic_articles(originals, args.memory_articles, 2, (300, 900))
        ours_mem, ours_n = memory_per_article(client, Ours(client, p, "bench:mem").check, mem_bodies)
        plain_mem, _ = memory_per_article(client, Ours(client, p, "bench:mem-plain", None).check, mem_bodies)
        ds_mem_n = min(300, args.memory_articles)  # ~30 ms an article: the slowest part of the run
        ds_mem, _ = memory_per_article(client, Datasketch(p, ds_storage).check, mem_bodies[:ds_mem_n])
        client.flushall()

    sweep_rows = sweep(originals, p)
    threshold_rows = threshold_sweep(originals, p)

    q_table = table(["variant", "copies", "P", "R", "F1", "P (datasketch)", "R (datasketch)",
                     "F1 (datasketch)", "note"], rows)
    neg_table = table(["negatives", "cases", "merged (ours)", "merged (datasketch)"], [
        ["different originals, each indexed in turn", ours_q["n_originals"], len(ours_q["merged"]), len(ds_q["merged"])],
        ["  of which same-topic pairs", sum(len(g) * (len(g) - 1) // 2 for g in SAME_TOPIC),
         len(ours_q["merged_same_topic"]), len(ds_q["merged_same_topic"])],
        ["same-topic story carrying one paragraph of the other", ours_q["n_hard"], len(ours_q["hard"]), len(ds_q["hard"])],
    ])
    s_table = table(["", "article-ingest", "without the teaser route", "ratio",
                     "datasketch (memory)", "datasketch (Redis storage)"], [
        ["ms per new 600-word article: signature + check-and-insert (median of runs)",
         statistics.median(ours_ms), statistics.median(plain_ms),
         statistics.median(ours_ms) / statistics.median(plain_ms), statistics.median(ds_ms), ds_redis_ms[0]],
        ["CPU ms per new 600-word article: this process + Redis scripts (median of runs)",
         statistics.median(ours_cpu), statistics.median(plain_cpu),
         statistics.median(ours_cpu) / statistics.median(plain_cpu), "-", "-"],
        ["the same, a window of three live time slices (steady state, one run)", steady, steady_plain,
         steady / steady_plain, "-", "-"],
        ["Redis bytes per indexed article", round(ours_mem), round(plain_mem), ours_mem / plain_mem,
         "-", round(ds_mem)],
        ["articles indexed for the memory figure", ours_n, ours_n, "", "-", ds_mem_n],
    ])
    unseen_table = table(["engine", "articles", "merged", "teasers (20-50%, >= 60 words)", "teasers linked",
                          "teaser recall"], [[r[0], r[1], len(r[2]), r[3], r[4], r[4] / r[3]] for r in unseen_rows]
                         ) if unseen_rows else "skipped: no data"
    unseen_merged = sorted({f"{a} -> {b}" for r in unseen_rows for a, b in r[2]})
    unseen_note = f"Pairs merged (any engine): {', '.join(unseen_merged) or 'none'}." + (
        " R515 and R498 are two NFL.com pages whose hand-copied bodies both carry the site's comment "
        "guidelines (most of R515's 106 words): a copy of the same text." if "R515 -> R498" in unseen_merged else "")
    th_table = table(["near_threshold", "containment_threshold", "recall of near copies", "negatives merged"],
                     threshold_rows)
    sw_table = table(["shingle words", "near copies found", "recall", "negative pairs", "negatives merged",
                      "max J of a negative", "max containment of a negative"], sweep_rows)
    summary = (
        f"Settings: shingle_size={p.shingle_size}, num_perm={p.num_perm}, lsh_bands={p.bands}, "
        f"lsh_rows={p.rows}, near_threshold={p.near}, containment_threshold={p.contain}. "
        f"{len(originals)} originals (91 hand-marked bodies of the shared extraction benchmark and the "
        f"5 seeds), {len(VARIANTS)} copies of each ({ours_q['counts']['teaser_20_50']['n']} "
        f"teasers: an original under {LEAD_WORDS * 2} words has none). Teaser route: the first {LEAD_WORDS} "
        f"words in {LEAD_BANDS} lead bands of {LEAD_ROWS} rows.\n\n"
        f"The {len(LISTED)} single-change types (ours): precision {totals['ours', 'listed'][0]:.3f}, recall "
        f"{totals['ours', 'listed'][1]:.3f}; datasketch: precision {totals['ds', 'listed'][0]:.3f}, "
        f"recall {totals['ds', 'listed'][1]:.3f}.\n"
        f"Speed runs: ours {', '.join(f'{x:.3f}' for x in ours_ms)} ms; without the teaser route "
        f"{', '.join(f'{x:.3f}' for x in plain_ms)} ms; datasketch in memory "
        f"{', '.join(f'{x:.3f}' for x in ds_ms)} ms; datasketch with Redis storage over {ds_redis_n} articles."
    )
    notes = (
        "Notes. Copies are made from each original's own text, one change per type: "
        "`headline_chrome` (another headline and site chrome above and below), `wire_footer`, "
        "`copy_edits` (2.5% of words: UK/US spelling, synonyms, dropped or added words, number "
        "formats), `cut_50_90` (first 50-90% of the words), `teaser_20_50` (the opening 20-50% of "
        "the words and at least 60, ended at a sentence end where that keeps both: an aggregator's "
        "or a feed's lead), `paragraphs` (one or two dropped, "
        "one moved), `encoding` (straight/curly quotes, dashes, NFD accents, CRLF, no-break "
        "spaces: must fold to the same bytes, so exact); `syndicated` stacks chrome, footer, "
        "1.5% edits and a cut to 60-95% (a stress case: short originals buried in chrome are "
        "where both engines miss). Bodies keep their chrome (as if normalise removed none). "
        "datasketch gets the same folded words, shingles, num_perm, bands x rows and the same "
        "Jaccard-or-containment verification of its LSH candidates, and a second MinHashLSH over "
        "the first 60 words with the index's lead bands (the teaser route); its speed is "
        "signature + query + insert. \"Without the teaser route\": the same index with no lead "
        "bands (`lead_words=None`, the index before teasers), timed in the same runs (in turn, the first "
        "alternating). Memory: Redis `used_memory` growth over new synthetic articles (real "
        "word frequencies, 300-900 words, no shared passages), divided by the articles indexed. "
        "Steady state: a 6 s window in 3 s slices, so every look-up reads three live slices, as "
        "the default 30-day window in 15-day slices does after its first month."
    )
    body = "\n\n".join([
        "### Quality per variant type\n\n" + q_table,
        "### Negatives\n\n" + neg_table,
        "### Unseen articles (extraction-wide, 2012, many sites)\n\n" + unseen_table + "\n\n" + unseen_note,
        "### Speed and memory\n\n" + s_table,
        "### Shingle size (estimates at the settings' bands and thresholds, no Redis)\n\n" + sw_table,
        "### Thresholds (estimates at the settings' shingle size and bands, no Redis)\n\n" + th_table,
        summary,
        notes,
    ])
    print(body)
    for label, q in (("ours", ours_q), ("datasketch", ds_q)):
        if q["merged"] or q["hard"]:
            print(f"{label} merged: {q['merged'][:10]} hard: {q['hard'][:10]}")
    if not args.no_write:
        write_section("dedupe", "Dedupe: quality, speed and memory", body, COMMAND)


if __name__ == "__main__":
    main()
