"""Fan-out: a big JSONL file or JSON array becomes tasks of a few hundred articles, in parallel.

One task over 45,000 lines would run past the task time limit and use one core; slices of
``fanout_articles`` lines finish in seconds each, on every worker. A slice's message keeps the
whole file's identity (``source``: name, sha256, size) and says at which line it starts, so
its records get exactly the ids they would get unsplit (``record_id(sha256, line)``).

Only files named ``.jsonl``/``.ndjson`` or ``.json`` (plain or gzip) in UTF-8 are split: the
name keeps every slice read as the whole file would be. A JSONL slice is its lines as they were;
a JSON slice is an array of its elements (read as an array even of one, since it is a slice;
fan-out still never cuts one off: a last lone element joins the slice before it). Anything
else runs whole. A failed article's dead letter keeps a slice of that article alone
(``article_messages``), so ``ingest failed retry`` runs it once and no other article again.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterable
from typing import Any

from ..errors import BadInput
from ..pipeline.parse import article_lines, extension_format, gunzip, unwrap_articles
from ..settings import Settings


def may_fan_out(name: str) -> bool:
    """Whether a file of this name could be split (its bytes decide): JSONL or JSON, maybe gzip."""
    return extension_format(re.sub(r"\.gz$", "", name, flags=re.I)) in ("jsonl", "json")


def slices(item: dict[str, Any], settings: Settings, content: bytes | None = None) -> list[dict[str, Any]]:
    """The slice messages of a file's message; [] when it is small enough to run as one task.
    ``content``: the message's bytes when the caller has decoded them already."""
    if item.get("error") or item.get("slice") or not item.get("content"):
        return []
    opened = _plain(item, settings, content)
    if opened is None:
        return []
    fmt, compressed, data = opened
    cheap_count = data.count(b"\n") if fmt == "jsonl" else data.count(b"{")
    if cheap_count < settings.fanout_articles:  # cheap: most files stop here
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []
    chunks = _jsonl_chunks(text, settings.fanout_articles, settings.max_articles) if fmt == "jsonl" \
        else _json_chunks(text, settings.fanout_articles, settings.max_articles)
    return [_slice(item, chunk, compressed, start + 1, count) for start, count, chunk in chunks]


def article_messages(item: dict[str, Any], lines: Iterable[int], settings: Settings) -> dict[int, dict[str, Any]]:
    """For each of ``lines`` (numbered in the whole file) of a JSONL file or JSON array, or of a
    slice of one, a message of that one line or element alone: a slice of one, under the whole
    file's identity, so its outcome keeps its id (``record_id(sha256, line)``). What a failed
    article's dead letter keeps: a retry runs that article once, and no other article again.

    A line the message cannot be cut at (not JSONL/JSON by name, not UTF-8, not one of its
    lines) is left out: its dead letter keeps the whole message.
    """
    first = first_line(item) or 1
    wanted = sorted(set(lines))
    if (item.get("slice") or {}).get("lines") == 1:  # already one article: itself
        return {line: item for line in wanted if line == first}
    if item.get("error") or not item.get("content") or not wanted:
        return {}
    opened = _plain(item, settings)
    if opened is None:
        return {}
    fmt, compressed, data = opened
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}
    if fmt == "jsonl":
        rows = text.splitlines(keepends=True)  # as the JSONL parser numbers them
        chunks = {line: rows[line - first].encode("utf-8") for line in wanted
                  if 0 <= line - first < len(rows) and rows[line - first].strip()}
    else:
        try:
            articles = unwrap_articles(json.loads(text))
        except (ValueError, RecursionError):
            return {}
        if not isinstance(articles, list):
            return {}
        chunks = {line: json.dumps(articles[line - first:line - first + 1], ensure_ascii=False).encode("utf-8")
                  for line in wanted if 0 <= line - first < len(articles)}
    return {line: _slice(item, chunk, compressed, line, 1) for line, chunk in chunks.items()}


def _plain(item: dict[str, Any], settings: Settings, content: bytes | None = None) -> tuple[str, bool, bytes] | None:
    """(format, gzip?, plain bytes) of a message fan-out may cut (JSONL or JSON by name, plain
    or gzip); None for any other, or for gzip that does not open (the pipeline says why)."""
    fmt = extension_format(re.sub(r"\.gz$", "", item["source"]["name"], flags=re.I))
    if fmt not in ("jsonl", "json"):
        return None
    data = base64.b64decode(item["content"]) if content is None else content
    compressed = data[:2] == b"\x1f\x8b"
    if compressed:
        try:
            data = gunzip(data, settings.max_decompressed_bytes)
        except BadInput:
            return None
    return fmt, compressed, data


def _slice(item: dict[str, Any], chunk: bytes, compressed: bool, first: int, lines: int) -> dict[str, Any]:
    """The message of ``lines`` articles of ``item``'s file from line ``first`` on, ``chunk`` their bytes."""
    if compressed:
        chunk = gzip.compress(chunk, compresslevel=1, mtime=0)  # the record still says gzip
    return {**item, "content": base64.b64encode(chunk).decode("ascii"), "slice": {"first_line": first, "lines": lines}}


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


def first_line(item: dict[str, Any]) -> int | None:
    """The line of the whole file a slice's content starts at; None for a whole file."""
    part = item.get("slice") or {}
    return int(part["first_line"]) if "first_line" in part else None
