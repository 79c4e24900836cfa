"""Text folding, word shingles and a numpy MinHash for the dedupe stage (pure: no Redis).

Speed matters here (the whole dedupe stage has a budget of about 1 ms per article), so nothing
loops over characters or shingles in Python:

* folding works on the UTF-8 bytes with a lookup table; only the few distinct non-ASCII
  characters of a text are classified one by one;
* a shingle's hash is a polynomial hash of its folded bytes, read from prefix sums in O(1), so
  every shingle of a text is hashed in a handful of numpy passes;
* the signature is a one-permutation MinHash with optimal densification (Shrivastava, ICML
  2017): one hash per shingle split into ``num_perm`` bins, empty bins filled from other bins
  through a fixed table. Each bin's value agrees between two texts with probability equal to
  their Jaccard similarity, as with ``num_perm`` independent permutations, for O(n + k) work
  instead of O(n * k).

Only the low 8 bits of each bin are stored (b-bit MinHash, Li and Koenig 2010): two unrelated
bins then agree by chance with probability 1/256, which ``estimate`` corrects for. LSH band keys
are made from the full 32-bit values, before the truncation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

import numpy as np

_U64 = np.uint64
_MASK32 = _U64(0xFFFFFFFF)
_SPACE = 32
_WORD_CHAR = re.compile(r"[^\W_]")


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


_SEED = 0x5EED_DED0
# Random 64-bit code of each byte value and the base of the polynomial hash (odd, so invertible
# mod 2**64, which lets a span's hash be read from prefix sums).
_BYTE_CODE = _rng(_SEED).integers(1, 2**63, size=256, dtype=np.uint64) * _U64(2) + _U64(1)
_BASE = int(_rng(_SEED + 1).integers(2**40, 2**62)) * 2 + 1
_BASE_INV = pow(_BASE, -1, 2**64)


def _mix64(z: np.ndarray) -> np.ndarray:
    """A multiply-xorshift finaliser (in place): spreads the input bits over the high and low
    output bits, which the polynomial hash alone leaves weak in its low bits."""
    z ^= z >> _U64(29)
    z *= _U64(0xBF58476D1CE4E5B9)
    z ^= z >> _U64(32)
    return z


class _Powers:
    """BASE**i and BASE**-i mod 2**64, grown on demand and shared by every hasher (the pair is
    replaced in one assignment, so a thread never sees tables of two sizes)."""

    def __init__(self) -> None:
        self.tables = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        tables = self.tables
        if len(tables[0]) < n:
            size = max(n, 2 * len(tables[0]), 4096)
            tables = self.tables = (_pow_table(_BASE, size), _pow_table(_BASE_INV, size))
        return tables


def _pow_table(base: int, size: int) -> np.ndarray:
    """[1, base, base**2, ...] mod 2**64 (numpy's uint64 products wrap, which is the modulus)."""
    table = np.full(size, base, dtype=np.uint64)
    table[0] = 1
    return np.cumprod(table, dtype=np.uint64)


_POWERS = _Powers()


def folded_bytes(text: str) -> bytes:
    """``text`` as NFKC, case-folded UTF-8 with every run of non-word characters (punctuation,
    quotes, dashes, white space, underscore) turned into one space, no leading or trailing space.

    The same as ``re.sub(r"[\\W_]+", " ", nfkc(text).casefold()).strip()``, several times faster:
    only the few distinct non-ASCII characters are classified in Python, the rest is C.
    """
    data = unicodedata.normalize("NFKC", text).casefold()
    if not data.isascii():
        odd = data.encode().translate(None, _ASCII).decode("utf-8", "ignore")
        for char in set(odd):
            if not _is_word_char(char):
                data = data.replace(char, " ")
    return b" ".join(data.encode().translate(_ASCII_FOLD).split())


_ASCII = bytes(range(128))
# ASCII letters and digits stay, other ASCII bytes become spaces, UTF-8 bytes of the remaining
# (word) characters stay.
_ASCII_FOLD = bytes(b if b >= 128 or chr(b).isalnum() else _SPACE for b in range(256))
_WORD_CHARS: dict[str, bool] = {}


def _is_word_char(char: str) -> bool:
    known = _WORD_CHARS.get(char)
    if known is None:
        known = _WORD_CHARS[char] = _WORD_CHAR.match(char) is not None
        if len(_WORD_CHARS) > 100_000:  # bound the cache on hostile input
            _WORD_CHARS.clear()
    return known


@dataclass(frozen=True)
class Signature:
    """A text's MinHash: ``values`` (``num_perm`` uint32, for LSH bands) and ``shingles`` (the
    number of distinct shingles, for containment)."""

    values: np.ndarray
    shingles: int

    def stored(self) -> bytes:
        """The b-bit form kept in Redis: the low byte of each value."""
        return (self.values & np.uint32(0xFF)).astype(np.uint8).tobytes()


@dataclass(frozen=True)
class MinHasher:
    """Word-shingle MinHash with fixed parameters; the same parameters give the same
    signatures in every process (no per-process hash seed)."""

    shingle_size: int = 5
    num_perm: int = 256
    attempts: int = 32  # densification probes before the rotation fallback

    @cached_property
    def _probe_table(self) -> np.ndarray:
        rng = _rng(_SEED + 2)
        return rng.integers(0, self.num_perm, size=(self.num_perm, self.attempts), dtype=np.int64)

    @cached_property
    def _bin_starts(self) -> np.ndarray:
        """The smallest hash of each bin and one past the last: bin(h) = (h >> 32) * k >> 32,
        which is monotone in h, so a sorted hash array splits into bins by binary search."""
        k = self.num_perm
        return np.array([-(-(b << 32) // k) << 32 for b in range(k)] + [2**64 - 1], dtype=np.uint64)

    def shingle_hashes(self, folded: bytes) -> np.ndarray:
        """64-bit hashes of every run of ``shingle_size`` words, in text order (one shingle for
        a shorter text, none for an empty one): the first ``n - shingle_size + 1`` are those of
        the first ``n`` words."""
        if not folded:
            return np.empty(0, dtype=np.uint64)
        data = np.frombuffer(folded, dtype=np.uint8)
        n = data.size
        space = np.flatnonzero(data == _SPACE)
        words = space.size + 1
        k = min(self.shingle_size, words)
        # Shingle i runs from the start of word i to the end of word i + k - 1.
        bounds = np.empty(words + 1, dtype=np.intp)
        bounds[0], bounds[-1] = -1, n
        bounds[1:-1] = space
        s, e = bounds[: words - k + 1] + 1, bounds[k:]
        up, down = _POWERS.get(n + 1)
        with np.errstate(over="ignore"):
            prefix = np.zeros(n + 1, dtype=np.uint64)
            np.cumsum(_BYTE_CODE.take(data) * down[:n], out=prefix[1:])
            return _mix64((prefix.take(e) - prefix.take(s)) * up.take(s))

    def signature(self, folded: bytes) -> Signature | None:
        """The MinHash of a folded text, or None when it has no words."""
        return self.signature_of(self.shingle_hashes(folded))

    def signature_of(self, hashes: np.ndarray) -> Signature | None:
        """The MinHash of a set of shingle hashes (in any order, repeats allowed), or None
        when it is empty.

        Bin b's value is the low 32 bits of the smallest shingle hash that falls in bin b."""
        if hashes.size == 0:
            return None
        hashes = np.sort(hashes)
        distinct = np.empty(hashes.size, dtype=bool)
        distinct[0] = True
        np.not_equal(hashes[1:], hashes[:-1], out=distinct[1:])
        if not distinct.all():
            hashes = hashes[distinct]
        first = np.searchsorted(hashes, self._bin_starts)
        filled = first[1:] > first[:-1]
        values = (hashes.take(np.minimum(first[:-1], hashes.size - 1)) & _MASK32).astype(np.uint32)
        if not filled.all():
            self._densify(values, filled)
        return Signature(values=values, shingles=int(hashes.size))

    def _densify(self, values: np.ndarray, filled: np.ndarray) -> None:
        """Give each empty bin the value of the first filled bin its fixed probe sequence
        reaches (optimal densification); the rare bin none reaches takes the next filled bin
        to its right (rotation)."""
        empty = np.flatnonzero(~filled)
        probes = self._probe_table[empty]
        hit = filled[probes]
        found = hit.any(axis=1)
        source = probes[np.arange(empty.size), hit.argmax(axis=1)]
        values[empty[found]] = values[source[found]]
        filled_idx = np.flatnonzero(filled)
        for bin_ in empty[~found]:
            right = filled_idx[np.searchsorted(filled_idx, bin_) % filled_idx.size]
            values[bin_] = values[right]


def band_hashes(values: np.ndarray, bands: int, rows: int, first_band: int = 0) -> np.ndarray:
    """One 64-bit key per LSH band: band ``b`` hashes values ``[b*rows, (b+1)*rows)`` with its
    band number (counted from ``first_band``, so two sets of bands of one index never share a
    key), so equal keys mean (but for a 2**-64 chance) an equal band."""
    if bands * rows > values.size:
        raise ValueError(f"{bands} bands of {rows} rows need {bands * rows} values, have {values.size}")
    block = values[: bands * rows].reshape(bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        block *= _ROW_MULT[:rows]
        return _mix64(block.sum(axis=1, dtype=np.uint64) + _BAND_SALT[first_band:first_band + bands])


_ROW_MULT = _rng(_SEED + 3).integers(1, 2**63, size=64, dtype=np.uint64) * _U64(2) + _U64(1)
_BAND_SALT = _rng(_SEED + 4).integers(0, 2**63, size=1024, dtype=np.uint64)

BBIT_CHANCE = 1 / 256  # two unrelated stored bytes agree with this probability


def estimate(a: bytes, b: bytes, shingles_a: int, shingles_b: int) -> tuple[float, float]:
    """Estimated (Jaccard, containment) of two texts from their stored signatures.

    Jaccard from the share of equal bytes, corrected for chance agreement; containment, the
    share of the smaller text's shingles found in the larger, from Jaccard and the two sizes:
    |A n B| = J (|A| + |B|) / (1 + J). The Lua script computes the very same figures.
    """
    equal = np.count_nonzero(np.frombuffer(a, np.uint8) == np.frombuffer(b, np.uint8))
    jaccard = max(0.0, (equal / len(a) - BBIT_CHANCE) / (1 - BBIT_CHANCE))
    return float(jaccard), containment(jaccard, shingles_a, shingles_b)


def containment(jaccard: float, shingles_a: int, shingles_b: int) -> float:
    smaller = min(shingles_a, shingles_b)
    if smaller <= 0:
        return 0.0
    return float(min(1.0, jaccard * (shingles_a + shingles_b) / (1 + jaccard) / smaller))
