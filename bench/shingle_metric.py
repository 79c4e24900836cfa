"""The article-body metric of the Scrapinghub (Zyte) article-extraction benchmark, reusable.

Texts are split into word tokens (``\\w+``, Unicode); every run of 4 consecutive tokens is a
shingle, counted as a multiset (a text shorter than 4 tokens is one shingle of all its tokens,
as upstream). Per page, TP/FP/FN are the shared, extra-predicted and missed shingle counts,
normalised to sum to 1 so a long page weighs no more than a short one. Precision and recall are
averaged over pages and F1 is computed from the two averages, which keeps the figures comparable
with the published ones.

Degenerate pages (upstream leaves some out of an average; here every page counts in both):

* nothing predicted and nothing true: precision 1, recall 1 (a correct "no article");
* nothing predicted, some truth: precision 0, recall 0 (giving up is a failure; upstream drops
  the page from the precision average, which would reward giving up);
* something predicted, nothing true: precision 0, recall 1 (nothing was there to miss).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

SHINGLE = 4
_TOKEN = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """The multiset of ``n``-token shingles of ``text``."""
    tokens = _TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < n:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def counts(predicted: str, truth: str) -> tuple[float, float, float]:
    """Normalised (TP, FP, FN) of one page; all 0 when both texts are empty."""
    pred, true = shingles(predicted), shingles(truth)
    tp = sum((pred & true).values())
    fp = sum((pred - true).values())
    fn = sum((true - pred).values())
    total = tp + fp + fn
    if total == 0:
        return 0.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


def score(predicted: str, truth: str) -> tuple[float, float]:
    """Per-page (precision, recall), with the degenerate cases of the module docstring."""
    tp, fp, fn = counts(predicted, truth)
    if tp + fp == 0 and tp + fn == 0:
        return 1.0, 1.0
    if tp + fp == 0:
        return 0.0, 0.0
    if tp + fn == 0:
        return 0.0, 1.0
    return tp / (tp + fp), tp / (tp + fn)


def aggregate(scores: Iterable[tuple[float, float]]) -> tuple[float, float, float]:
    """(precision, recall, F1) over pages: mean precision, mean recall, F1 of the two means."""
    pairs = list(scores)
    if not pairs:
        return 0.0, 0.0, 0.0
    precision = sum(p for p, _ in pairs) / len(pairs)
    recall = sum(r for _, r in pairs) / len(pairs)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
