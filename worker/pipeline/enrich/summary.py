"""The summary a news reader expects: the lead, the first sentences of the body."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019]))\s+(?=[\"'\u201c\u2018]?[A-Z0-9])")


def lead(body: str, sentences: int = 3) -> str | None:
    first_paragraphs = " ".join(body.split("\n")[:4])
    parts = _SENTENCE_END.split(first_paragraphs)
    return " ".join(parts[:sentences]).strip() or None
