"""Fan-out: a big JSONL file or JSON array becomes tasks of a few hundred articles, in parallel.

One task over 45,000 lines would run past the task time limit and use one core; slices of
``fanout_articles`` lines finish in seconds each, on every worker. A slice's message keeps the
whole file's identity (``source``: name, sha256, size) and says at which line it starts, so
its records get exactly the ids they would get unsplit (``record_id(sha256, line)``).

Only files named ``.jsonl``/``.ndjson`` or ``.json`` (plain or gzip) in UTF-8 are split: the
name keeps every slice read as the whole file would be. A JSONL slice is its lines as they were;
a JSON slice is an array of its elements (never of one: a list of one reads as a single article,
so a last lone element joins the slice before it). Anything else runs whole.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

from ..errors import BadInput
from ..pipeline.parse import article_lines, extension_format, gunzip, unwrap_articles
from ..settings import Settings


def may_fan_out(name: str) -> bool:
    """Whether a file of this name could be split (its bytes decide): JSONL or JSON, maybe gzip."""
    return extension_format(re.sub(r"\.gz$", "", name, flags=re.I)) in ("jsonl", "json")


def slices(item: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """The slice messages of a file's message; [] when it is small enough to run as one task."""
    if item.get("error") or item.get("slice") or not item.get("content"):
        return []
    fmt = extension_format(re.sub(r"\.gz$", "", item["source"]["name"], flags=re.I))
    if fmt not in ("jsonl", "json"):
        return []
    data = base64.b64decode(item["content"])
    compressed = data[:2] == b"\x1f\x8b"
    if compressed:
        try:
            data = gunzip(data, settings.max_decompressed_bytes)
        except BadInput:
            return []  # the pipeline writes the failure record
    cheap_count = data.count(b"\n") if fmt == "jsonl" else data.count(b"{")
    if cheap_count < settings.fanout_articles:  # cheap: most files stop here
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []
    chunks = _jsonl_chunks(text, settings.fanout_articles, settings.max_articles) if fmt == "jsonl" \
        else _json_chunks(text, settings.fanout_articles, settings.max_articles)
    messages = []
    for start, count, chunk in chunks:
        if compressed:
            chunk = gzip.compress(chunk, compresslevel=1, mtime=0)  # the record still says gzip
        messages.append({
            **item,
            "content": base64.b64encode(chunk).decode("ascii"),
            "slice": {"first_line": start + 1, "lines": count},
        })
    return messages


def _jsonl_chunks(text: str, size: int, most: int) -> list[tuple[int, int, bytes]]:
    """(first index, count, bytes) of each slice of lines; [] for a file of ``size`` or fewer,
    or of more than ``most`` articles (it runs whole, to its one ``too_many`` failure)."""
    lines = text.splitlines(keepends=True)  # the very split the JSONL parser numbers lines by
    if len(lines) <= size or article_lines(lines) > most:
        return []
    return [(start, len(lines[start:start + size]), "".join(lines[start:start + size]).encode("utf-8"))
            for start in range(0, len(lines), size)]


def _json_chunks(text: str, size: int, most: int) -> list[tuple[int, int, bytes]]:
    """(first index, count, bytes) of each slice of a JSON array of articles (bare or wrapped);
    [] for anything else, an array of ``size`` or fewer, or of more than ``most`` (malformed
    JSON and too many articles run whole: the pipeline writes their failure record)."""
    try:
        articles = unwrap_articles(json.loads(text))
    except (ValueError, RecursionError):
        return []
    if not isinstance(articles, list) or not size < len(articles) <= most:
        return []
    starts = list(range(0, len(articles), size))
    if len(articles) - starts[-1] == 1:
        starts.pop()  # a lone last element joins the slice before it
    ends = [*starts[1:], len(articles)]
    return [(start, end - start, json.dumps(articles[start:end], ensure_ascii=False).encode("utf-8"))
            for start, end in zip(starts, ends)]


def first_line(item: dict[str, Any]) -> int:
    """The line of the whole file a message's content starts at (1 unless it is a slice)."""
    return int(item.get("slice", {}).get("first_line", 1))
