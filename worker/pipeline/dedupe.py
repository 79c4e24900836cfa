"""Dedupe stage: is this article one we have seen, within the dedup window?

``fingerprint`` is pure; ``DedupIndex.check_and_insert`` asks Redis and records the article in
one atomic step (a Lua script), so two workers handling two copies at the same moment can never
both see themselves as the original.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from pydantic import BaseModel
from redis import Redis

from ..models import Article, DedupResult
from ..settings import Settings

_FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
})
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


class Fingerprint(BaseModel):
    exact: str  # hex digest of the folded body


def fold(body: str) -> str:
    """The body with case, white space, quotes, dashes and punctuation folded away."""
    text = unicodedata.normalize("NFKC", body).translate(_FOLD).casefold()
    return _NON_WORD.sub(" ", text).strip()


def fingerprint(article: Article) -> Fingerprint:
    return Fingerprint(exact=hashlib.blake2b(fold(article.body).encode(), digest_size=16).hexdigest())


# KEYS[1] exact key. ARGV: record id, ttl seconds. Returns the id stored first.
_CHECK_AND_INSERT = """
local first = redis.call('GET', KEYS[1])
if first then
  return first
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return ARGV[1]
"""


class DedupIndex:
    """The dedup index in Redis, shared by every worker."""

    def __init__(self, redis: Redis, *, ttl: int, prefix: str = "ingest:dedup") -> None:
        self.redis = redis
        self.ttl = ttl
        self.prefix = prefix
        self._script = redis.register_script(_CHECK_AND_INSERT)

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> DedupIndex:
        return cls(redis, ttl=settings.dedup_ttl)

    def fingerprint(self, article: Article) -> Fingerprint:
        """The article's fingerprint with this index's parameters (pure: no Redis)."""
        return fingerprint(article)

    def check_and_insert(self, fp: Fingerprint, record_id: str) -> DedupResult:
        first = self._script(keys=[f"{self.prefix}:exact:{fp.exact}"], args=[record_id, self.ttl])
        first = first.decode() if isinstance(first, bytes) else first
        if first == record_id:  # new, or this very record processed again
            return DedupResult(status="unique")
        return DedupResult(status="exact_duplicate", duplicate_of=first, similarity=1.0)
