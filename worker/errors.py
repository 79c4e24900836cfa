"""The failure the stages raise: a ``BadInput`` is about the file itself.

Retrying cannot help it, so it becomes a failure record at once. What else may go wrong, and
what the service does then (Redis away, disk full, a bug), is decided in one place:
``worker/service/policy.py``.
"""

from __future__ import annotations


class BadInput(Exception):
    """The input cannot become a record. ``kind`` is short and stable, ``message`` one line."""

    def __init__(self, kind: str, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line  # the JSONL line it concerns, when only one line of a file is bad


class SinkUnavailable(OSError):
    """A sink (PostgreSQL, say) cannot take outcomes now: transient, so the task retries it."""


class SinkRefused(Exception):
    """A sink refuses outcomes for what they hold (a text too big for PostgreSQL's search index,
    a character it cannot store): unlike ``SinkUnavailable`` no retry can change that, so each
    becomes a failure record saying why (``policy.refused``). ``reasons``: outcome id -> why."""

    def __init__(self, sink: str, reasons: dict[str, str]) -> None:
        super().__init__(f"the {sink} sink refuses {len(reasons)} outcome(s)")
        self.sink = sink
        self.reasons = reasons
