"""Readiness: when an inbox file is complete enough to take (a pure decision, no I/O).

Learnt from NiFi's minimum file age: no event says "the upload is over". A close-after-write
comes after every chunk of an appender (`>>` in a loop); a slow upload through one handle
(scp, FTP, a network copy) sends no close until the end; writers on another host (NFS) or in
another container send nothing we can see. So a file is ready only when no process we can see
holds it open for writing, and it has been unchanged (same inode, size and mtime) for the
settle time, counted from its last change, its last close-after-write and the last time it
was seen held open. The watcher does the I/O (stat, the /proc scan) and asks `decide`.
"""

from __future__ import annotations

from typing import NamedTuple


class Signature(NamedTuple):
    """What a file is now, as far as completeness goes: another value means other bytes."""

    dev: int
    ino: int
    size: int
    mtime_ns: int


class Look(NamedTuple):
    """What is known of a pending file at one readiness round (times are monotonic seconds)."""

    now: float
    stat: Signature | None         # None: not a regular file, or unreadable
    before: Signature | None       # at the previous round (None: first look)
    still_since: float             # when the file was last seen changing (or held open)
    closed_at: float | None = None  # the last close-after-write event, if any
    open_for_write: bool | None = None  # None: not known (not looked yet, or not visible)


class Verdict(NamedTuple):
    ready: bool
    why: str
    still_since: float  # the settle clock to carry to the next round


def decide(look: Look, settle: float) -> Verdict:
    """Ready, or wait and why. Ask with ``open_for_write=None`` first: a file that is ready
    then only needs the (costly) writers check, which is asked again with its answer."""
    if look.stat is None:
        return Verdict(True, "not a regular file: taken at once, the reader names the problem", look.still_since)
    if look.before is None:
        return Verdict(False, "first look", look.now)
    if look.stat != look.before:
        return Verdict(False, "changed since the last look", look.now)
    if look.open_for_write:
        return Verdict(False, "held open for writing", look.now)
    quiet_since = max(look.still_since, look.closed_at if look.closed_at is not None else look.still_since)
    quiet = look.now - quiet_since
    if quiet < settle:
        return Verdict(False, "not yet unchanged for the settle time", look.still_since)
    if look.open_for_write is None:
        return Verdict(True, f"unchanged for {settle:g} s (writers not checked)", look.still_since)
    return Verdict(True, f"closed and unchanged for {settle:g} s", look.still_since)
