"""The two kinds of failure the task distinguishes.

A ``BadInput`` is about the file itself: retrying cannot help, so it becomes a failure record.
Anything else raised while processing is treated as transient (Redis away, disk full) and
retried with back-off; when retries run out it becomes a failure record too.
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
