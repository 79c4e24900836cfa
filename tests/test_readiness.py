"""The readiness decision: when an inbox file is complete enough to take (pure, no I/O)."""

from __future__ import annotations

from worker.sources.readiness import Look, Signature, decide

SETTLE = 2.0
FILE = Signature(dev=1, ino=42, size=2_700, mtime_ns=1_000)
GROWN = Signature(dev=1, ino=42, size=3_100, mtime_ns=2_000)
TOUCHED = Signature(dev=1, ino=42, size=2_700, mtime_ns=3_000)
REPLACED = Signature(dev=1, ino=43, size=2_700, mtime_ns=1_000)


def test_first_look_waits_and_starts_the_settle_clock() -> None:
    verdict = decide(Look(now=10.0, stat=FILE, before=None, still_since=10.0), SETTLE)
    assert not verdict.ready and verdict.why == "first look" and verdict.still_since == 10.0


def test_grown_file_waits_and_restarts_the_settle_clock() -> None:
    verdict = decide(Look(now=30.0, stat=GROWN, before=FILE, still_since=10.0), SETTLE)
    assert not verdict.ready and verdict.why == "changed since the last look" and verdict.still_since == 30.0


def test_touched_file_of_the_same_size_waits() -> None:
    assert not decide(Look(now=30.0, stat=TOUCHED, before=FILE, still_since=10.0), SETTLE).ready


def test_file_replaced_by_another_of_the_same_size_and_mtime_waits() -> None:
    assert not decide(Look(now=30.0, stat=REPLACED, before=FILE, still_since=10.0), SETTLE).ready


def test_unchanged_file_waits_until_the_settle_time_has_passed() -> None:
    verdict = decide(Look(now=11.5, stat=FILE, before=FILE, still_since=10.0), SETTLE)
    assert not verdict.ready and verdict.still_since == 10.0


def test_unchanged_file_is_ready_after_the_settle_time_pending_the_writers_check() -> None:
    verdict = decide(Look(now=12.0, stat=FILE, before=FILE, still_since=10.0), SETTLE)
    assert verdict.ready and "writers not checked" in verdict.why


def test_file_held_open_for_writing_waits_however_long_it_was_still() -> None:
    verdict = decide(Look(now=500.0, stat=FILE, before=FILE, still_since=10.0, open_for_write=True), SETTLE)
    assert not verdict.ready and verdict.why == "held open for writing"


def test_file_seen_held_open_waits_the_settle_time_again_after_that() -> None:
    held = decide(Look(now=500.0, stat=FILE, before=FILE, still_since=10.0, open_for_write=True), SETTLE)
    later = decide(Look(now=501.0, stat=FILE, before=FILE, still_since=held.still_since, open_for_write=False), SETTLE)
    assert not later.ready


def test_closed_file_unchanged_for_the_settle_time_is_ready() -> None:
    verdict = decide(Look(now=12.0, stat=FILE, before=FILE, still_since=10.0, closed_at=9.0,
                          open_for_write=False), SETTLE)
    assert verdict.ready and verdict.why == "closed and unchanged for 2 s"


def test_a_close_event_alone_does_not_make_a_file_ready() -> None:
    """An appender (`>>` in a loop) closes after every chunk."""
    verdict = decide(Look(now=10.5, stat=FILE, before=FILE, still_since=10.0, closed_at=10.4,
                          open_for_write=False), SETTLE)
    assert not verdict.ready


def test_the_settle_time_counts_from_the_last_close_event() -> None:
    """A writer /proc does not show (another container on this kernel) still sends its close
    event: a file it held open without writing is still for the settle time after the close."""
    verdict = decide(Look(now=12.0, stat=FILE, before=FILE, still_since=9.0, closed_at=11.0,
                          open_for_write=False), SETTLE)
    assert not verdict.ready and verdict.still_since == 9.0


def test_not_a_regular_file_is_ready_at_once_so_its_failure_is_recorded() -> None:
    verdict = decide(Look(now=10.0, stat=None, before=None, still_since=10.0), SETTLE)
    assert verdict.ready
