"""Writing records: atomic, idempotent, named by id, failures beside them."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from worker import pipeline
from worker.errors import BadInput
from worker.models import PipelineInfo, Record, SourceFile
from worker.sinks import write_outcome
from worker.sinks.files import UnsafePath

SOURCE = SourceFile(name="../../etc/passwd", path="x", sha256="ab" * 32, size=3,
                    received_at=datetime(2026, 1, 1, tzinfo=timezone.utc))


def _record(body: str = "text") -> Record:
    return Record(id="abc123", source=SOURCE, body=body, word_count=1, pipeline=PipelineInfo(version="t"))


def test_record_file_is_named_by_id_never_by_input_name(tmp_path: Path) -> None:
    assert write_outcome(_record(), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["abc123.json"]


def test_existing_record_is_never_rewritten(tmp_path: Path) -> None:
    write_outcome(_record("first"), tmp_path)
    assert not write_outcome(_record("second"), tmp_path)
    assert '"first"' in (tmp_path / "abc123.json").read_text()


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    write_outcome(_record(), tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


def test_failure_goes_to_failed_folder(tmp_path: Path) -> None:
    failure = pipeline.failure(SOURCE, BadInput("not_text", "binary"))
    assert write_outcome(failure, tmp_path)
    assert (tmp_path / "_failed" / f"{failure.id}.json").exists()


def test_success_after_a_failure_removes_the_stale_failure(tmp_path: Path) -> None:
    failure = pipeline.failure(SOURCE, BadInput("transient", "redis down"))
    write_outcome(failure, tmp_path)
    record = _record().model_copy(update={"id": failure.id})
    write_outcome(record, tmp_path)
    assert not (tmp_path / "_failed" / f"{failure.id}.json").exists()


def test_failures_go_to_the_configured_failed_folder_and_a_later_record_clears_them_there(tmp_path: Path) -> None:
    failed = tmp_path / "elsewhere"
    failure = pipeline.failure(SOURCE, BadInput("transient", "redis down"))
    assert write_outcome(failure, tmp_path / "records", failed_dir=failed)
    assert (failed / f"{failure.id}.json").exists()
    write_outcome(_record().model_copy(update={"id": failure.id}), tmp_path / "records", failed_dir=failed)
    assert not (failed / f"{failure.id}.json").exists()

@pytest.mark.parametrize("bad_id", ["../../outside", "../outside", "/tmp/outside", "sub/outside", "..", ".hidden", "nul\0"])
def test_an_id_that_is_not_a_plain_file_name_is_refused_and_nothing_is_written(tmp_path: Path, bad_id: str) -> None:
    records = tmp_path / "deep" / "records"
    for outcome in (_record().model_copy(update={"id": bad_id}),
                    pipeline.failure(SOURCE, BadInput("x", "y")).model_copy(update={"id": bad_id})):
        with pytest.raises(UnsafePath):
            write_outcome(outcome, records)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert not Path("/tmp/outside.json").exists()



def test_a_link_planted_at_a_record_path_is_refused_and_what_it_points_to_is_untouched(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "abc123.json").symlink_to(target)
    with pytest.raises(UnsafePath, match="symbolic link"):
        write_outcome(_record(), tmp_path / "records")
    assert target.read_text() == "keep"


def test_a_failure_lands_even_when_a_link_sits_at_its_record_path(tmp_path: Path) -> None:
    """A link is no record: the failure naming it must not be dropped as 'shadowed by a record'."""
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    failure = pipeline.failure(SOURCE, BadInput("unsafe_path", "a symbolic link sits at the record's path"))
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / f"{failure.id}.json").symlink_to(target)
    assert write_outcome(failure, tmp_path / "records")
    assert (tmp_path / "records" / "_failed" / f"{failure.id}.json").is_file()
    assert target.read_text() == "keep"


def test_a_link_planted_at_a_failure_path_is_replaced_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    failure = pipeline.failure(SOURCE, BadInput("not_text", "binary"))
    (tmp_path / "_failed").mkdir()
    (tmp_path / "_failed" / f"{failure.id}.json").symlink_to(target)
    assert write_outcome(failure, tmp_path)
    written = tmp_path / "_failed" / f"{failure.id}.json"
    assert not written.is_symlink() and '"not_text"' in written.read_text()
    assert target.read_text() == "keep"
