"""Tone from VADER's lexicon, as GDELT's tone: a cheap, explainable score per article.

vaderSentiment's `polarity_scores` over a whole article costs about 10 ms and saturates at
+/-1; this scores each sentence with VADER's lexicon and normalisation (negation within three
words flips and damps a word, as VADER does) and averages, for about a tenth of the cost.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import vaderSentiment.vaderSentiment as vader

from ...models import Tone

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SENTENCE = re.compile(r"[^.!?\n]+")
_NEGATIONS = frozenset(w.lower() for w in vader.NEGATE) | {"no", "not", "never", "without"}
_ALPHA = 15.0  # VADER's normalisation constant
_NEGATION_SCALAR = vader.N_SCALAR  # -0.74


@lru_cache(maxsize=1)
def lexicon() -> dict[str, float]:
    path = Path(vader.__file__).with_name("vader_lexicon.txt")
    table: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            table[parts[0]] = float(parts[1])
    return table


def tone(body: str) -> Tone | None:
    lex = lexicon()
    compounds: list[float] = []
    pos = neg = total = 0
    for sentence in _SENTENCE.findall(body):
        words = [w.lower().replace("’", "'") for w in _WORD.findall(sentence)]
        if not words:
            continue
        score = 0.0
        for i, word in enumerate(words):
            valence = lex.get(word)
            if valence is None:
                continue
            if any(w in _NEGATIONS or w.endswith("n't") for w in words[max(0, i - 3):i]):
                valence *= _NEGATION_SCALAR
            score += valence
            if valence > 0:
                pos += 1
            elif valence < 0:
                neg += 1
        total += len(words)
        if score:
            compounds.append(score / math.sqrt(score * score + _ALPHA))
    if total == 0:
        return None
    return Tone(
        score=round(sum(compounds) / len(compounds), 4) if compounds else 0.0,
        positive=round(pos / total, 4),
        negative=round(neg / total, 4),
        neutral=round(1 - (pos + neg) / total, 4),
    )
