"""Fan-out: a big JSONL file becomes tasks of a few hundred lines, run in parallel.

One task over 45,000 lines would run past the task time limit and use one core; slices of
``fanout_articles`` lines finish in seconds each, on every worker. A slice's message keeps the
whole file's identity (``source``: name, sha256, size) and says at which line it starts, so
its records get exactly the ids they would get unsplit (``record_id(sha256, line)``).

Only files named ``.jsonl``/``.ndjson`` (plain or gzip) in UTF-8 are split: the name keeps
every slice read as JSONL, and UTF-8 text re-encodes to the same bytes. Anything else runs whole.
"""

from __future__ import annotations

import base64
import gzip
import re
from typing import Any

from ..errors import BadInput
from ..pipeline.parse import extension_format, gunzip
from ..settings import Settings


def slices(item: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """The slice messages of a file's message; [] when it is small enough to run as one task."""
    if item.get("error") or item.get("slice") or not item.get("content"):
        return []
    if extension_format(re.sub(r"\.gz$", "", item["source"]["name"], flags=re.I)) != "jsonl":
        return []
    data = base64.b64decode(item["content"])
    compressed = data[:2] == b"\x1f\x8b"
    if compressed:
        try:
            data = gunzip(data, settings.max_decompressed_bytes)
        except BadInput:
            return []  # the pipeline writes the failure record
    if data.count(b"\n") < settings.fanout_articles:  # cheap: most files stop here
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []
    lines = text.splitlines(keepends=True)  # the very split the JSONL parser numbers lines by
    if len(lines) <= settings.fanout_articles:
        return []
    messages = []
    for start in range(0, len(lines), settings.fanout_articles):
        chunk = "".join(lines[start:start + settings.fanout_articles]).encode("utf-8")
        if compressed:
            chunk = gzip.compress(chunk, compresslevel=1, mtime=0)  # the record still says gzip
        messages.append({
            **item,
            "content": base64.b64encode(chunk).decode("ascii"),
            "slice": {"first_line": start + 1, "lines": min(settings.fanout_articles, len(lines) - start)},
        })
    return messages


def first_line(item: dict[str, Any]) -> int:
    """The line of the whole file a message's content starts at (1 unless it is a slice)."""
    return int(item.get("slice", {}).get("first_line", 1))
