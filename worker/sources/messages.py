"""The task message: a file's identity and bytes, so a worker needs Redis and nothing else.

JSON only (Celery's JSON serializer): the bytes travel base64-encoded. A file that cannot be
read at all (a symlink, a FIFO, gone before it was read, too large) still travels, as its
identity plus the reason, so the worker writes its failure record like any other.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..models import SourceFile

VERSION = 1
_CHUNK = 1 << 20


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


def message_items(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-file messages a task message holds."""
    return message["files"] if "files" in message else [message]


def open_message(message: dict[str, Any]) -> tuple[SourceFile, bytes, BadInput | None]:
    source = SourceFile.model_validate(message["source"])
    content = message.get("content")
    data = base64.b64decode(content) if content else b""
    error = message.get("error")
    return source, data, BadInput(error["type"], error["message"]) if error else None
