"""`ingest load`: an existing records folder into the store, idempotently, in batches."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
from pydantic import ValidationError

from ..models import FailureRecord, Outcome, Record
from .writes import write_outcomes

log = logging.getLogger(__name__)


def outcome_files(records_dir: Path) -> list[Path]:
    """Record files, then failure files (``_failed/``); temporary files are never ``*.json``."""
    return sorted(records_dir.glob("*.json")) + sorted((records_dir / "_failed").glob("*.json"))


def _read(path: Path) -> Outcome | None:
    model = FailureRecord if path.parent.name == "_failed" else Record
    try:
        return model.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        log.warning("not loaded: %s: %s", path, str(exc).splitlines()[0])
        return None


def _batches(paths: list[Path], size: int) -> Iterator[tuple[list[Outcome], int]]:
    for start in range(0, len(paths), size):
        chunk = paths[start:start + size]
        outcomes = [o for o in map(_read, chunk) if o is not None]
        yield outcomes, len(chunk) - len(outcomes)


def load(conn: psycopg.Connection, paths: list[Path], *, batch: int = 500,
         on_batch: Callable[[int], None] = lambda n: None) -> dict[str, int]:
    """Write the outcomes in ``paths``; counts of new, already stored and unreadable files."""
    totals = {"new": 0, "present": 0, "unreadable": 0}
    for outcomes, unreadable in _batches(paths, batch):
        new = write_outcomes(conn, outcomes)
        totals["new"] += sum(new)
        totals["present"] += len(new) - sum(new)
        totals["unreadable"] += unreadable
        on_batch(len(outcomes) + unreadable)
    return totals
