"""Sinks: where outcomes land. Today, one JSON file per record in a folder.

Writes are atomic (temp file in the same folder + rename), so a reader never sees half a
record, and idempotent: a record's file is named by its id, and an existing record is never
rewritten, so processing an input again changes nothing.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import orjson

from ..models import FailureRecord, Outcome, Record

log = logging.getLogger(__name__)


class UnsafePath(ValueError):
    """An outcome whose id would put its file outside its folder (a crafted id: never written)."""


class LinkAtPath(UnsafePath):
    """A symbolic link sits where an outcome's file goes: our ids name files we write, so it
    was planted; writing would follow it (or destroy the evidence by replacing it)."""


class FilesSink:
    """One JSON file per outcome under ``records_dir`` (see ``write_outcome``)."""

    name = "files"

    def __init__(self, records_dir: Path, *, failed_dir: Path | None = None, fsync: bool = True) -> None:
        self.records_dir = records_dir
        self.failed_dir = failed_dir
        self.fsync = fsync

    def write(self, outcomes: list[Outcome]) -> list[bool]:
        return [write_outcome(o, self.records_dir, failed_dir=self.failed_dir, fsync=self.fsync) for o in outcomes]


def outcome_path(outcome: Outcome, records_dir: Path, failed_dir: Path | None = None) -> Path:
    """The file of ``outcome``: ``<id>.json`` directly in its folder, or ``UnsafePath``.

    Records go in ``records_dir``, failures in ``failed_dir`` (``Settings.failed_dir``;
    ``records_dir/_failed`` when not given). Ids come from content hashes, but the sink is the
    last line: whatever the id holds (``../``, an absolute path, a separator, a NUL), nothing is
    written outside the folder.
    """
    failed_dir = failed_dir or records_dir / "_failed"
    folder = failed_dir if isinstance(outcome, FailureRecord) else records_dir
    name = f"{outcome.id}.json"
    path = folder / name
    if Path(name).name != name or "\0" in name or name.startswith("."):
        raise UnsafePath(f"refusing to write outcome id {outcome.id!r}: not a file name inside {folder}")
    if path.is_symlink():
        raise LinkAtPath(f"a symbolic link sits at {path} (not written: links are never followed)")
    return path


def planted_link(outcome: Outcome, records_dir: Path, failed_dir: Path | None = None) -> Path | None:
    """The symbolic link at ``outcome``'s file path, if one was planted there."""
    try:
        outcome_path(outcome, records_dir, failed_dir)
    except LinkAtPath:
        failed_dir = failed_dir or records_dir / "_failed"
        return (failed_dir if isinstance(outcome, FailureRecord) else records_dir) / f"{outcome.id}.json"
    except UnsafePath:
        return None
    return None


def write_outcome(outcome: Outcome, records_dir: Path, *, failed_dir: Path | None = None,
                  fsync: bool = True) -> bool:
    """Write ``outcome`` under ``records_dir``; False when its record was already there."""
    failed_dir = failed_dir or records_dir / "_failed"
    link = planted_link(outcome, records_dir, failed_dir) if isinstance(outcome, FailureRecord) else None
    if link is not None:  # a failure must land: remove the link (never what it points to)
        log.warning("removing a symbolic link planted at %s (-> %s)", link, os.readlink(link))
        link.unlink()
    path = outcome_path(outcome, records_dir, failed_dir)
    if isinstance(outcome, Record):
        if path.exists():
            return False
        stale_failure = failed_dir / path.name
        data = orjson.dumps(outcome.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
        _atomic_write(path, data, fsync)
        stale_failure.unlink(missing_ok=True)  # an input that failed before and now succeeded
        return True
    record = records_dir / path.name
    if record.exists() and not record.is_symlink():
        return False  # never let a late failure shadow a record (a link there is none)
    _atomic_write(path, orjson.dumps(outcome.model_dump(mode="json"), option=orjson.OPT_INDENT_2), fsync)
    return True


def _atomic_write(path: Path, data: bytes, fsync: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".partial", dir=path.parent)  # never *.json
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.write(b"\n")
            if fsync:  # on disk before the rename makes it visible: no empty record after a crash
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
