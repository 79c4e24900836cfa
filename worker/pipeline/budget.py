"""Bounds on the work one article may cost: how many words it may have, how many of them
enrichment reads, and how long the whole may take.

The time budget is CPU time of the process doing the work (``time.process_time``), not wall
time: it bounds what an article costs, and a busy machine (other processes on the same cores)
does not turn a normal long article into a failure; the task's own wall-clock limit stays the
outer net. It is a deadline the stages check between steps and inside the loops of their
costly steps: a pure function cannot be stopped safely from outside (signals break Celery's
pool and leave a half-built result), but it can stop itself at a point where nothing is half
done, and say where it was.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from itertools import islice

from ..errors import BadInput

Check = Callable[[str], None]
"""Called with the name of the step about to run ('enrich (quotes)'); raises when time is up."""

_WORD = re.compile(r"\S+")  # a word as `Article.word_count` counts them: separated by white space


def no_check(stage: str) -> None:
    """The check of a caller with no deadline (tests, the warm-up)."""


class Deadline:
    """The time budget of one article, from its creation: CPU seconds of this process."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.process_time) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def check(self, stage: str) -> None:
        if self._clock() >= self._end:
            raise BadInput(
                "timeout",
                f"timeout: {stage} exceeded {self.seconds:g} s, the CPU time budget of one article "
                "(INGEST_ARTICLE_SECONDS)",
            )


def too_many_articles(limit: int) -> BadInput:
    """The failure of a file of more than ``limit`` articles: a JSONL file's lines (or a JSON
    array's elements) are outcomes each, with their Redis entries, so their number is bounded too."""
    return BadInput(
        "too_many",
        f"the file holds more than {limit:,} articles (INGEST_MAX_ARTICLES): an export that "
        "size is to be split, and millions of tiny lines would fill Redis",
    )


CHARS_PER_WORD = 10
"""Characters a word of `INGEST_MAX_WORDS` may take on average (English averages six with its
space): a text without white space (one 15 MB token, a base64 dump) counts one word however
long, so its length in characters is bounded too; CJK text, which has no spaces, gets as many
characters as the limit has words times this, a book's worth."""


def too_long(text: str, max_words: int) -> BadInput | None:
    """The failure of a text too long to be one article, by words or by characters, or None."""
    if has_more_words(text, max_words):
        return BadInput(
            "too_long",
            f"the text has more than {max_words:,} words (INGEST_MAX_WORDS): "
            "a book, a log or a data dump rather than one article",
        )
    if len(text) > max_words * CHARS_PER_WORD:
        return BadInput(
            "too_long",
            f"the text has {len(text):,} characters, more than {max_words * CHARS_PER_WORD:,} "
            f"({CHARS_PER_WORD} a word of INGEST_MAX_WORDS): a dump, not one article",
        )
    return None


def has_more_words(text: str, limit: int) -> bool:
    """Whether `text` holds more than `limit` words; stops counting at the limit (a 15 MiB
    text is not split into millions of strings to find out)."""
    if len(text) < 2 * limit + 1:
        return False  # each word but the last needs a character and a space after it
    return next(islice(_WORD.finditer(text), limit, None), None) is not None


def first_words(text: str, limit: int) -> str | None:
    """`text` up to the end of its `limit`-th word, or None when it has no more than that."""
    if limit <= 0 or not has_more_words(text, limit):
        return None
    last = next(islice(_WORD.finditer(text), limit - 1, None))
    return text[:last.end()]
