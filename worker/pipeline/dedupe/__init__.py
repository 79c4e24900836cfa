"""Dedupe stage: is this article one we have seen, within the dedup window?

Two tests, both against one index in Redis shared by every worker:

* exact: a hash of the folded body (case, white space, quotes, dashes and punctuation folded);
* near: a MinHash of the body's word shingles (``minhash.py``), LSH bands to find candidates,
  and each candidate verified by estimated Jaccard similarity or containment (the share of the
  smaller text found in the larger, so a copy cut to its first half is still found);
* teaser: a copy holding only the opening of an article (the lead an aggregator or a feed
  reprints, a fifth to a half of the words) is found through a small MinHash of the opening
  words, indexed in bands of its own, and verified by containment like a cut copy.

``fingerprint`` is pure; ``DedupIndex.check_and_insert`` asks Redis and records the article in
one atomic step (``index.lua``), so two workers handling two copies at the same moment can never
both see themselves as the original. Only originals are indexed: a duplicate is reported and
left out, so the index holds one entry per story. An original that then ends as a failure (its
enrichment ran out of time, or raised) is withdrawn (``DedupIndex.forget``, ``forget.lua``): no
record carries its id, so no later copy may be linked to it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources

import numpy as np
from pydantic import BaseModel
from redis import Redis

from ...models import Article, DedupResult
from ...settings import Settings
from .minhash import MinHasher, band_hashes, folded_bytes

ID_MAX = 32  # bytes of a record id in the index (record ids are 24)
MIN_CONTAINMENT_SHINGLES = 20  # texts smaller than this are matched by Jaccard only
# Containment is estimated from Jaccard and the two sizes, so a chance agreement of a few bins
# between a short text and a long one would be blown up into a high containment: below this
# Jaccard (a size ratio of about 5 for a full copy) containment is not trusted.
MIN_CONTAINMENT_JACCARD = 0.2
# Teasers. A copy of the opening fifth of an article has a Jaccard similarity of about 0.2 with
# it: the full signature's bands find it one time in three, and its containment, estimated from
# a Jaccard that low, is not trusted above. What such a copy keeps is the article's opening, so
# the first LEAD_WORDS words (the shortest teaser linked) get a MinHash of their own with
# LEAD_BANDS bands of LEAD_ROWS bins, indexed beside the full bands (articles shorter than that
# have none). A candidate sharing LEAD_MIN_BANDS of them opens the same way, and then its
# containment is trusted down to TEASER_MIN_JACCARD (a copy of a fifth of the article, with
# room for the estimate's error) when the smaller text has LEAD_WORDS words. Two stories on one
# topic rarely open with the same words, and one that does must also be contained in the other.
LEAD_WORDS = 60
LEAD_BANDS = 16
LEAD_ROWS = 2
LEAD_MIN_BANDS = 2
TEASER_MIN_JACCARD = 0.1
ENTRY = 7  # bytes per index entry in a fingerprint: 4 to choose the bucket, 3 to check
_STATUS = {0: "unique", 1: "exact_duplicate", 2: "near_duplicate"}


class Fingerprint(BaseModel):
    """What the index needs of an article, computed without Redis."""

    exact: str  # hex digest of the folded body
    shingles: int = 0  # distinct word shingles (0: no words, exact test only)
    signature: bytes = b""  # the stored MinHash: one byte per bin
    keys: bytes = b""  # 7 bytes per index entry: the exact hash, one per LSH band, one per lead band


def fold(body: str) -> str:
    """The body with case, white space, quotes, dashes and punctuation folded away."""
    return folded_bytes(body).decode()


def fingerprint(
    article: Article, hasher: MinHasher | None = None, bands: int = 48, rows: int = 3,
    lead_words: int | None = LEAD_WORDS,
) -> Fingerprint:
    """The article's fingerprint: exact hash, MinHash signature, LSH band keys and, for an
    article of ``lead_words`` words or more, the band keys of its opening words (None: no
    teaser route)."""
    hasher = hasher or MinHasher()
    folded = folded_bytes(article.body)
    digest = hashlib.blake2b(folded, digest_size=16).digest()
    hashes = hasher.shingle_hashes(folded)
    sig = hasher.signature_of(hashes)
    if sig is None:
        return Fingerprint.model_construct(exact=digest.hex(), keys=digest[:ENTRY])
    keys = [band_hashes(sig.values, bands, rows)]
    if lead_words and folded.count(b" ") + 1 >= lead_words:
        opening = hashes[: max(1, lead_words - hasher.shingle_size + 1)]  # the first lead_words' shingles
        lead = _lead_hasher(hasher.shingle_size).signature_of(opening)
        keys.append(band_hashes(lead.values, LEAD_BANDS, LEAD_ROWS, first_band=bands))
    band_keys = np.concatenate(keys).astype(">u8").view(np.uint8).reshape(-1, 8)
    return Fingerprint.model_construct(  # our own values: skip validation (a hot path)
        exact=digest.hex(),
        shingles=sig.shingles,
        signature=sig.stored(),
        keys=digest[:ENTRY] + band_keys[:, :ENTRY].tobytes(),
    )


@functools.cache
def _lead_hasher(shingle_size: int) -> MinHasher:
    return MinHasher(shingle_size=shingle_size, num_perm=LEAD_BANDS * LEAD_ROWS)


_SCRIPT = resources.files(__package__).joinpath("index.lua").read_text()
_FORGET = resources.files(__package__).joinpath("forget.lua").read_text()


@dataclass(frozen=True)
class Entry:
    """Where an original's entry went in the index (time slice and slot): what ``forget`` takes."""

    record_id: str
    slice: int
    slot: int


class DedupIndex:
    """The dedup index in Redis, shared by every worker (keys under ``prefix``).

    Entries are kept in time slices of ``ttl / slices`` seconds; a slice's keys expire together
    once its newest entry is ``ttl`` old, and older entries are ignored before that, so the window
    is exactly ``ttl`` while memory is freed at most one slice late. Redis 6.2 cannot expire a
    member of a shared structure, and one key per entry would cost ~70 bytes each: per-slice keys
    keep an indexed article at about 800 bytes (see BENCHMARKS.md, `dedupe`). A look-up reads
    every live slice (``slices + 1`` at most), so fewer slices is faster, more is leaner.

    Band entries go to ``first_buckets`` buckets (fields of one hash per slice) in the first
    slice, and to enough for about ``entries_per_bucket`` entries each afterwards (sized from the
    previous slice), so a look-up scans a few hundred bytes per band whatever the volume.
    Keys are named in the script, not declared: a single Redis (or one shard), not Cluster.
    Lead band entries (``lead_words``, the teaser route; None leaves it out) share the buckets
    and slots of the full bands, so an index made before them still answers.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        ttl: int,
        prefix: str = "ingest:dedup",
        shingle_size: int = 5,
        num_perm: int = 256,
        bands: int = 48,
        rows: int = 3,
        near_threshold: float = 0.6,
        containment_threshold: float = 0.7,
        slices: int = 2,
        first_buckets: int = 4096,
        entries_per_bucket: int = 128,
        lead_words: int | None = LEAD_WORDS,
    ) -> None:
        if bands * rows > num_perm:
            raise ValueError(f"{bands} bands x {rows} rows need at least {bands * rows} permutations")
        self.redis = redis
        self.ttl = ttl
        self.prefix = prefix
        # Signatures and band keys made with other parameters cannot be compared: they live
        # under their own names, and a change of parameters starts a new index.
        self.keys_prefix = f"{prefix}:{shingle_size}.{num_perm}.{bands}x{rows}"
        self.hasher = MinHasher(shingle_size=shingle_size, num_perm=num_perm)
        self.bands, self.rows = bands, rows
        self.near_threshold = near_threshold
        self.containment_threshold = containment_threshold
        self.slice_seconds = max(1, -(-ttl // slices))
        self.first_buckets = first_buckets
        self.entries_per_bucket = entries_per_bucket
        self.lead_words = lead_words
        self._script = redis.register_script(_SCRIPT)
        self._forget = redis.register_script(_FORGET)

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> DedupIndex:
        return cls(
            redis,
            ttl=settings.dedup_ttl,
            shingle_size=settings.shingle_size,
            num_perm=settings.num_perm,
            bands=settings.lsh_bands,
            rows=settings.lsh_rows,
            near_threshold=settings.near_threshold,
            containment_threshold=settings.containment_threshold,
        )

    def fingerprint(self, article: Article) -> Fingerprint:
        """The article's fingerprint with this index's parameters (pure: no Redis)."""
        return fingerprint(article, self.hasher, self.bands, self.rows, self.lead_words)

    def check_and_insert(self, fp: Fingerprint, record_id: str) -> DedupResult:
        """The article's status, and the article indexed if it is new: one Redis round trip.

        The same ``record_id`` checked again comes back ``unique`` (a record never duplicates
        itself), so a retried task gets the same answer.
        """
        return self.check_and_insert_entry(fp, record_id)[0]

    def check_and_insert_entry(self, fp: Fingerprint, record_id: str) -> tuple[DedupResult, Entry | None]:
        """``check_and_insert``, and the article's own entry for ``forget``: the one just made,
        or made by an earlier run of the same ``record_id``; None for a duplicate (it makes none)."""
        if len(record_id.encode()) > ID_MAX:
            raise ValueError(f"record ids longer than {ID_MAX} bytes cannot be indexed: {record_id!r}")
        status, original, similarity, *where = self._script(args=[
            self.keys_prefix, record_id, self.ttl, self.slice_seconds,
            self.near_threshold, self.containment_threshold,
            fp.shingles, fp.signature, fp.keys, MIN_CONTAINMENT_SHINGLES, MIN_CONTAINMENT_JACCARD, ID_MAX,
            self.first_buckets, self.entries_per_bucket, bytes.fromhex(fp.exact)[:8],
            self.hasher.num_perm, 1 + self.bands, LEAD_MIN_BANDS,
            (self.lead_words or 2**31) - self.hasher.shingle_size + 1, TEASER_MIN_JACCARD,
        ])
        if status == 0:
            return DedupResult(status="unique"), Entry(record_id, *where)
        return DedupResult(
            status=_STATUS[status],
            duplicate_of=original.decode() if isinstance(original, bytes) else original,
            similarity=round(float(similarity), 4),
        ), None

    def forget(self, entry: Entry) -> bool:
        """Withdraw an original's entry, in one atomic step: its article ended as a failure, so
        no later look-up may return it (a copy seen afterwards is then the original). Only the
        slot still holding ``entry.record_id`` is touched; False if there was none (expired, or
        withdrawn already). A Redis error propagates: the caller's message is retried."""
        return bool(self._forget(args=[
            self.keys_prefix, entry.slice, entry.slot, entry.record_id, ID_MAX, self.hasher.num_perm,
        ]))


def trusts_containment(jaccard: float, shingles_a: int, shingles_b: int, lead_bands: int, shingle_size: int) -> bool:
    """Whether an estimated containment means anything for this pair: the rule ``index.lua``
    applies, for the benchmark and tests (``lead_bands``: lead band keys the two share)."""
    small = min(shingles_a, shingles_b)
    if small < MIN_CONTAINMENT_SHINGLES:
        return False
    if lead_bands >= LEAD_MIN_BANDS and small >= LEAD_WORDS - shingle_size + 1:
        return jaccard >= TEASER_MIN_JACCARD
    return jaccard >= MIN_CONTAINMENT_JACCARD


def band_count(keys: bytes) -> int:
    """Number of LSH band entries (full and lead) in a fingerprint's keys (for tests and the
    benchmark)."""
    return max(0, len(keys) // ENTRY - 1)


__all__ = ["DedupIndex", "Entry", "Fingerprint", "fingerprint", "fold", "band_count", "trusts_containment"]
