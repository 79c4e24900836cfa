"""Keywords: candidate phrases between stopwords, scored by frequency and how early they come.

YAKE 0.7 costs about 58 ms on a 2,700-character article here (more than a third of the NER
model's own time), which the `full` budget (1.25x NER) cannot afford. This is the RAKE family's
candidate rule (maximal runs of non-stopwords, up to three words, using YAKE's English stopword
list) with a YAKE-like preference for terms that recur and appear early: about 1 ms.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import yake

from ..normalise.patterns import month_words
from .canonical import TITLES
from .wordlists import wordlists

_WORDS = wordlists()
# A title is no keyword; an office's word may be part of one ("state media")
TITLE_WORDS = TITLES - set(_WORDS.offices)

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]|[^\sA-Za-z]+")
_SENTENCE = re.compile(r"[^.!?\n;:\"“”()]+")
MAX_WORDS = 3


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    path = Path(yake.__file__).parent / "core" / "StopwordsList" / "stopwords_en.txt"
    words = path.read_text(encoding="utf-8", errors="ignore").split()
    calendar = [w.lower() for w in month_words()] + _WORDS.calendar_words
    return frozenset(w.lower() for w in words) | {*_WORDS.stopwords, *calendar}


def keywords(body: str, top: int = 10) -> list[str]:
    stop = stopwords()
    phrase_count: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    surface: dict[str, str] = {}
    word_count: Counter[str] = Counter()
    for index, sentence in enumerate(_SENTENCE.findall(body)):
        run: list[str] = []
        for token in _TOKEN.findall(sentence) + [","]:
            word = token.lower().replace("’", "'")
            if run and token[0].isupper() and run[-1][0].islower():
                _flush(run, index, phrase_count, first_seen, surface)  # "talk Patriot": two things
                run = []
            if (
                token[0].isalpha() and word not in stop and len(word) > 2
                and not word.endswith(("'s", "ed")) and word not in TITLE_WORDS
            ):
                run.append(token)
                word_count[word] += 1
                continue
            if token.endswith(("'s", "’s")) and token[0].isalpha() and word[:-2] not in stop:
                run.append(token[:-2])
                word_count[word[:-2]] += 1
            if run:  # most tokens end no run: no call
                _flush(run, index, phrase_count, first_seen, surface)
                run = []
    scored = []
    for key, count in phrase_count.items():
        words = key.split()
        support = sum(word_count[w] for w in words) / len(words)
        early = 1.0 / (1.0 + math.log1p(first_seen[key]))
        scored.append(((count + 0.5 * support) * (1 + early) * (1 + 0.3 * (len(words) - 1)), key))
    scored.sort(key=lambda pair: (-pair[0], first_seen[pair[1]]))
    chosen: list[str] = []
    for _, key in scored:
        if any(key in c or c in key for c in chosen):
            continue
        chosen.append(key)
        if len(chosen) == top:
            break
    return [surface[k] for k in chosen]


def _flush(
    run: list[str], index: int, counts: Counter[str], first: dict[str, int], surface: dict[str, str]
) -> None:
    for phrase in _phrases(run):
        key = phrase.lower()
        counts[key] += 1
        first.setdefault(key, index)
        surface.setdefault(key, phrase)


def _phrases(run: list[str]) -> list[str]:
    """The run itself when short (a capitalised name up to 4 words), else its 3-word windows."""
    if not run:
        return []
    if len(run) <= MAX_WORDS or (len(run) <= MAX_WORDS + 1 and all(w[0].isupper() for w in run)):
        return [" ".join(run)]
    return [" ".join(run[i:i + MAX_WORDS]) for i in range(len(run) - MAX_WORDS + 1)]
