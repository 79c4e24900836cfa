"""Reading an inbox file into a task message: identity, bytes, and reasons it cannot be read."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from worker.sources.messages import make_batch, make_message, message_items, open_message, read_source


def test_message_round_trip_keeps_bytes_and_identity(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(SEEDS[0].read_bytes())
    source, data, error = read_source(path, tmp_path, 1 << 20)
    assert error is None and data == SEEDS[0].read_bytes()
    back, back_data, back_error = open_message(make_message(source, data))
    assert back == source and back_data == data and back_error is None


def test_same_bytes_under_another_name_have_the_same_hash(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"same")
    (tmp_path / "b.txt").write_bytes(b"same")
    first = read_source(tmp_path / "a.txt", tmp_path, 100)[0]
    second = read_source(tmp_path / "b.txt", tmp_path, 100)[0]
    assert first.sha256 == second.sha256 and first.path != second.path


def test_file_over_the_limit_travels_without_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 5000)
    source, data, error = read_source(path, tmp_path, 1000)
    assert data is None and error is not None and error.kind == "too_large"
    assert source.size == 5000
    assert make_message(source, data, error)["content"] is None


def test_symlink_is_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("secret")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "link.txt").symlink_to(secret)
    source, data, error = read_source(inbox / "link.txt", inbox, 100)
    assert data is None and error is not None and error.kind == "symlink"


def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    _, data, error = read_source(tmp_path / "pipe.txt", tmp_path, 100)
    assert data is None and error is not None and error.kind == "not_regular_file"


def test_file_removed_before_reading_is_reported_as_vanished(tmp_path: Path) -> None:
    _, data, error = read_source(tmp_path / "gone.txt", tmp_path, 100)
    assert data is None and error is not None and error.kind == "vanished"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("x")
    path.chmod(0)
    _, _, error = read_source(path, tmp_path, 100)
    assert error is not None and error.kind == "unreadable"


def test_non_utf8_file_name_becomes_printable_text(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")
    path = tmp_path / name
    path.write_bytes(b"text")
    source, _, _ = read_source(path, tmp_path, 100)
    source.model_dump_json()  # serialisable
    assert source.name == "caf\ufffd.txt"


def _message(tmp_path: Path, **source: object) -> dict:
    path = tmp_path / "a.txt"
    path.write_bytes(SEEDS[0].read_bytes())
    message = make_message(*read_source(path, tmp_path, 1 << 20)[:2])
    message["source"].update(source)
    return message


@pytest.mark.parametrize("sha256", ["../../x", "/etc/cron.d/x", "AB" * 32, "ab" * 31, "ab" * 32 + "\n"])
def test_message_whose_sha256_is_not_64_lowercase_hex_digits_is_invalid(tmp_path: Path, sha256: str) -> None:
    message = _message(tmp_path, sha256=sha256)
    source, data, error = open_message(message)
    assert error is not None and error.kind == "invalid_message"
    assert "source.sha256" in error.message
    assert len(source.sha256) == 64 and int(source.sha256, 16) >= 0  # a stand-in that names a file safely
    assert source.name == "a.txt" and data == b""
    assert open_message(message)[0].sha256 == source.sha256  # the same id each time it comes


def test_message_whose_content_is_not_base64_is_invalid(tmp_path: Path) -> None:
    message = _message(tmp_path)
    message["content"] = "not base64!"
    error = open_message(message)[2]
    assert error is not None and error.kind == "invalid_message" and "content" in error.message


@pytest.mark.parametrize("message", [None, "text", [], {}, {"v": 2}, {"v": 1, "files": "x"}])
def test_message_that_is_not_a_file_message_is_invalid(message: object) -> None:
    source, _, error = open_message(message)
    assert error is not None and error.kind == "invalid_message"
    assert source.name == "(invalid message)"


def test_message_with_unknown_fields_is_invalid(tmp_path: Path) -> None:
    message = _message(tmp_path)
    message["path"] = "/etc/passwd"
    error = open_message(message)[2]
    assert error is not None and "path: Extra inputs are not permitted" in error.message


def test_each_file_of_a_batch_is_validated_on_its_own(tmp_path: Path) -> None:
    good, bad = _message(tmp_path), _message(tmp_path, sha256="../../x")
    items = message_items(make_batch([good, bad]))
    assert [open_message(item)[2] is None for item in items] == [True, False]


def test_message_whose_content_does_not_hash_to_its_sha256_is_invalid(tmp_path: Path) -> None:
    # the record id comes from the sha256: a crafted message must not claim another file's id
    message = _message(tmp_path)
    message["content"] = base64.b64encode(b"Another story, under the first one's id.").decode()
    error = open_message(message)[2]
    assert error is not None and error.kind == "invalid_message" and "sha256" in error.message
