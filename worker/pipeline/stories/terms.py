"""Words of an article as story terms, and how informative each word is (its IDF).

The IDF is a fixed table shipped in ``idf.json``, derived from the English word frequencies of
``wordfreq`` (3.1.1, the `large` list: news, Wikipedia, books, subtitles, web), not an online
document-frequency table in Redis: every worker and every run weighs a word the same, the first
article of a fresh index is weighed as well as the millionth (no cold start), and an article
costs no extra Redis writes. A word's IDF is ``-ln(frequency)``; words rarer than the table's
last entry (names, new coinages: the words that tell events apart) get the floor's IDF.
Rebuild the table with ``python -m worker.pipeline.stories.terms --build`` (needs wordfreq,
a dev dependency); nothing is downloaded at run time.

Two reports of one event name it in different forms ("floods" and "flooding", "Australia" and
"Australian fires"): a term is a word with its plural and -ing/-ed/-ian endings folded
(``stem``), weighed by the word's own IDF. And rarity stops counting at ``idf_cap`` (stories.yaml):
beyond about one word in 22,000 a word is no more telling of an event for being rarer still (a
name, a misspelling, a word of another language all count the same), so one rare word cannot
outweigh the several moderately rare ones two reports of an event share.
"""

from __future__ import annotations

import json
import math
import re
import sys
import zlib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..enrich.keywords import stopwords

IDF_FILE = Path(__file__).with_name("idf.json")
WORDS = 50_000  # most frequent words kept in the table (frequency >= about 3.5e-7)
FLOOR = 1e-7  # frequency given to any word not in the table

_TOKEN = re.compile(r"[a-z][a-z'’-]*[a-z]")  # applied to lower-cased text


class IdfTable(BaseModel):
    """The shape of ``idf.json``: words grouped by IDF rounded to 0.05 (a compact file)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    floor_idf: float = Field(gt=0)
    buckets: dict[str, str] = Field(description="IDF (as text) -> the words with it, space-separated.")


@lru_cache(maxsize=1)
def idf_table() -> tuple[dict[str, float], float]:
    """Word -> IDF, and the IDF of a word not in the table. Read and validated once per process."""
    table = IdfTable.model_validate(json.loads(IDF_FILE.read_text(encoding="utf-8")))
    idf: dict[str, float] = {}
    for value, words in table.buckets.items():
        weight = float(value)
        if not 0 < weight <= table.floor_idf:
            raise ValueError(f"{IDF_FILE}: IDF {value} is outside (0, {table.floor_idf}]")
        idf.update(dict.fromkeys(words.split(), weight))
    return idf, table.floor_idf


def words(text: str) -> list[str]:
    """Every token of ``text`` in order as its story term (lower case, straight apostrophe, no
    possessive, endings folded by ``stem``); tokens that are not story terms (stopwords, dates'
    words, under three letters) become ``""`` so positions still count them."""
    folded = _folded
    out = []
    for token in _TOKEN.findall(text.lower()):
        term = folded.get(token)
        if term is None:
            term = stem(_fold(token))
            if len(folded) < 500_000:  # a per-process cache of the vocabulary seen, bounded
                folded[token] = term
        out.append(term)
    return out


_folded: dict[str, str] = {}


def entries(text: str, idf_cap: float) -> list[tuple[int, float]]:
    """Every token of ``text`` in order as (term id, IDF up to ``idf_cap``), ``(0, 0.0)`` for a
    token that is not a story term: what ``story_vector`` counts. The term is the word's stem, its
    weight the word's own IDF. A token is folded, hashed and looked up once per process (a bounded
    cache), so an article costs one dict lookup per word."""
    cache = _entries.get(idf_cap)
    if cache is None:
        cache = _entries[idf_cap] = {}
    out = []
    for token in _TOKEN.findall(text.lower()):
        entry = cache.get(token)
        if entry is None:
            word = _fold(token)
            if word:
                idf, floor = idf_table()
                entry = (term_id(stem(word)), min(idf.get(word, floor), idf_cap))
            else:
                entry = (0, 0.0)
            if len(cache) < 500_000:
                cache[token] = entry
        out.append(entry)
    return out


_entries: dict[float, dict[str, tuple[int, float]]] = {}


_PLURAL = re.compile(r"(?:(?<=ss)|(?<=x)|(?<=ch)|(?<=sh))es$|(?<!s)(?<!u)(?<!i)s$")


def stem(word: str) -> str:
    """A light stemmer: plural, then -ing, -ed and -ian endings off ("bushfires" -> "bushfire",
    "flooding" -> "flood", "australian" -> "australia"), on words long enough that what is left
    is still a word's stem; ``""`` stays ``""``."""
    if len(word) > 4:
        if word.endswith("ies"):
            word = word[:-3] + "y"
        else:
            word = _PLURAL.sub("", word)
    if len(word) > 5:
        if word.endswith("ing"):
            word = word[:-3]
        elif word.endswith("ed"):
            word = word[:-2]
        elif word.endswith("ian"):
            word = word[:-1]
    return word


def term_id(term: str) -> int:
    """A story term's 32-bit id in the index (never 0)."""
    return zlib.crc32(f"b:{term}".encode()) or 1


def _fold(token: str) -> str:
    word = token.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return "" if len(word) < 3 or word in stopwords() else word


def _build() -> None:
    from importlib.metadata import version

    import wordfreq

    freq = wordfreq.get_frequency_dict("en", "large")
    kept = [w for w in sorted(freq, key=freq.__getitem__, reverse=True)
            if _TOKEN.fullmatch(w.lower()) and len(w) >= 3 and not w.endswith("'s")][:WORDS]
    buckets: dict[str, list[str]] = {}
    for word in kept:
        value = min(-math.log(freq[word]), -math.log(FLOOR))
        buckets.setdefault(f"{round(value * 20) / 20:.2f}", []).append(word)
    table = IdfTable(
        source=f"wordfreq {version('wordfreq')} get_frequency_dict('en', 'large'): the {WORDS} "
        "most frequent words of 3+ letters; idf = -ln(frequency)",
        floor_idf=round(-math.log(FLOOR), 2),
        buckets={k: " ".join(sorted(v)) for k, v in sorted(buckets.items(), key=lambda kv: float(kv[0]))},
    )
    lines = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in table.buckets.items())
    IDF_FILE.write_text(
        "{\n"
        f"  \"source\": {json.dumps(table.source)},\n"
        f"  \"floor_idf\": {table.floor_idf},\n"
        f"  \"buckets\": {{\n{lines}\n  }}\n}}\n",
        encoding="utf-8",
    )
    print(f"wrote {IDF_FILE}: {len(kept)} words in {len(buckets)} buckets")


if __name__ == "__main__" and sys.argv[1:] == ["--build"]:
    _build()
