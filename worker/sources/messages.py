"""The task message: a file's identity and bytes, so a worker needs Redis and nothing else.

JSON only (Celery's JSON serializer): the bytes travel base64-encoded. A file that cannot be
read at all (a symlink, a FIFO, gone before it was read, too large) still travels, as its
identity plus the reason, so the worker writes its failure record like any other.

Anyone who reaches Redis can queue a message, so a worker trusts none: each is validated by
``FileMessage`` (the sha256 names the record file, so it must be 64 hex digits, not a path),
and one that is not valid becomes a failure record saying why, named by a hash of the message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import BadInput
from ..models import SourceFile

VERSION = 1
_CHUNK = 1 << 20
_SHOWN = 200  # characters of a bad message's file name kept in its failure record


class MessageSource(SourceFile):
    """A file's identity as a message may carry it."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="64 lowercase hex digits: it names the record file.")


class MessageError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=64)
    message: str = Field(max_length=4000)


class MessageSlice(BaseModel):
    """Which lines of a big JSONL file a fanned-out message holds (``service/fanout.py``)."""

    model_config = ConfigDict(extra="forbid")

    first_line: int = Field(ge=1, le=10_000_000)
    lines: int = Field(ge=1, le=1_000_000)


class FileMessage(BaseModel):
    """One file's task message: what a worker accepts (a batch is a list of these)."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    source: MessageSource
    content: bytes | None = Field(None, description="The file's bytes, base64-encoded in JSON.")
    error: MessageError | None = Field(None, description="Why the bytes could not be read.")
    slice: MessageSlice | None = Field(None, description="Lines of a big JSONL file this message holds.")

    @field_validator("content", mode="before")
    @classmethod
    def _base64(cls, value: object) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not valid base64") from None

    @model_validator(mode="after")
    def _content_is_the_files(self) -> FileMessage:
        """A whole file's bytes hash to the sha256 the message names them by (the record id
        comes from it): a message cannot claim another file's id, nor carry bytes changed on
        the way. A slice of a fanned-out file is named by the whole file's hash."""
        if (self.content is not None and self.slice is None
                and hashlib.sha256(self.content).hexdigest() != self.source.sha256):
            raise ValueError("content: its sha256 is not source.sha256, which names the record")
        return self


def read_source(path: Path, root: Path, max_bytes: int) -> tuple[SourceFile, bytes | None, BadInput | None]:
    """Identity and bytes of ``path`` (shown relative to ``root``), never following a link."""
    rel = _relative(path, root)
    now = datetime.now(timezone.utc)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return _unreadable(path, rel, now, "vanished", "the file was removed before it could be read")
    if stat.S_ISLNK(info.st_mode):
        return _unreadable(path, rel, now, "symlink", "a symbolic link: links are never followed", info)
    if not stat.S_ISREG(info.st_mode):
        return _unreadable(path, rel, now, "not_regular_file",
                           "not a regular file (FIFO, socket or device): not read", info)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return _unreadable(path, rel, now, "vanished", "the file was removed before it could be read", info)
    except PermissionError:
        return _unreadable(path, rel, now, "unreadable", "permission denied: the file cannot be read", info)
    except OSError as exc:
        return _unreadable(path, rel, now, "unreadable", f"cannot open the file: {exc.strerror}", info)
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    size = 0
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if size <= max_bytes:
                chunks.append(chunk)
            else:
                chunks.clear()
    source = SourceFile(name=printable(path.name), path=rel, sha256=digest.hexdigest(), size=size, received_at=now)
    if size > max_bytes:
        return source, None, BadInput("too_large", f"the file is {size} bytes, over the {max_bytes}-byte limit")
    return source, b"".join(chunks), None


def _relative(path: Path, root: Path) -> str:
    try:
        return printable(str(path.relative_to(root)))
    except ValueError:
        return printable(str(path))


def printable(name: str) -> str:
    """A file name as valid UTF-8 text (names that are not get U+FFFD where bytes were bad)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _unreadable(path: Path, rel: str, now: datetime, kind: str, message: str,
                info: os.stat_result | None = None) -> tuple[SourceFile, None, BadInput]:
    # No content to hash: name the failure by what identifies this event instead.
    stamp = f"{rel}\0{info.st_mtime_ns if info else ''}\0{kind}"
    source = SourceFile(
        name=printable(path.name), path=rel, sha256=hashlib.sha256(stamp.encode("utf-8", "surrogateescape")).hexdigest(),
        size=info.st_size if info else 0, received_at=now,
    )
    return source, None, BadInput(kind, message)


def make_message(source: SourceFile, data: bytes | None, error: BadInput | None = None) -> dict[str, Any]:
    return {
        "v": VERSION,
        "source": source.model_dump(mode="json"),
        "content": base64.b64encode(data).decode("ascii") if data is not None else None,
        "error": {"type": error.kind, "message": error.message} if error else None,
    }


def make_batch(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Several files' messages in one task message (a single file travels as itself)."""
    return items[0] if len(items) == 1 else {"v": VERSION, "files": items}


def message_items(message: Any) -> list[Any]:
    """The per-file messages a task message holds (anything else is one, invalid, item)."""
    if isinstance(message, dict) and set(message) == {"v", "files"} and message["v"] == VERSION:
        files = message["files"]
        if isinstance(files, list) and files:
            return files
    return [message]


def is_valid(message: Any) -> bool:
    """Whether one file's message has the shape ``FileMessage`` accepts."""
    try:
        FileMessage.model_validate(message)
    except ValidationError:
        return False
    return True


def open_message(message: Any) -> tuple[SourceFile, bytes, BadInput | None]:
    """Identity, bytes and read error of one file's message; an invalid one comes back as a
    stand-in identity and an ``invalid_message`` error, so it becomes a failure record."""
    try:
        parsed = FileMessage.model_validate(message)
    except ValidationError as exc:
        return _invalid(message, exc)
    source = SourceFile.model_construct(parsed.source.model_fields_set, **dict(parsed.source))  # validated
    error = BadInput(parsed.error.type, parsed.error.message) if parsed.error else None
    return source, parsed.content or b"", error


def _invalid(message: Any, exc: ValidationError) -> tuple[SourceFile, bytes, BadInput]:
    try:
        raw = orjson.dumps(message, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        raw = repr(message).encode("utf-8", "backslashreplace")
    claimed = message.get("source") if isinstance(message, dict) else None
    claimed = claimed if isinstance(claimed, dict) else {}

    def shown(key: str) -> str:
        value = claimed.get(key)
        return value[:_SHOWN] if isinstance(value, str) and value else "(invalid message)"

    source = SourceFile(name=shown("name"), path=shown("path"), sha256=hashlib.sha256(raw).hexdigest(),
                        size=len(raw), received_at=datetime.now(timezone.utc))
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'message'}: {error['msg']}" for error in exc.errors()[:3]
    )
    more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return source, b"", BadInput("invalid_message", f"the task message is not valid, so no file was read: {problems}{more}")
