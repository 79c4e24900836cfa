"""Source: watch the inbox and queue each complete file exactly once.

A file is *ready* when the OS says it was closed after writing (inotify), or when its mtime
has been still for the settle time (moves, the polling observer, other OSes). Events only
mark a path as pending; one loop decides readiness, so a burst of events costs nothing. A
start-up scan and a periodic rescan catch files that arrived while we were down or whose
events the OS dropped (inotify overflow is silent). A content-hash key in Redis keeps the
same bytes from being queued twice, whatever the events.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from kombu.exceptions import OperationalError
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from ..service import metrics
from .messages import make_batch, make_message, read_source
from ..service.redis_client import SEEN, STATS
from ..settings import Settings

log = logging.getLogger(__name__)

PARTIAL_NAME = re.compile(r"(\.tmp|\.part|\.crdownload|\.partial|\.swp)$|^~\$", re.I)
CLOSE_QUIET = 0.01  # seconds with no write after a close-after-write before the file is taken
SUBMIT_CHUNK = 256  # ready files read and queued per round (bounds the watcher's memory)
BATCH_BYTES = 1 << 20  # content per message, before base64
TICK = 0.1          # the loop's longest sleep; a close-after-write event wakes it at once

Send = Callable[[dict[str, Any]], None]


def is_ignored(relative: Path) -> bool:
    """Hidden paths (any part starting with a dot, `.done` included) and partial downloads."""
    return any(part.startswith(".") for part in relative.parts) or bool(PARTIAL_NAME.search(relative.name))


@dataclass
class _Pending:
    closed_at: float | None = None   # monotonic time of the last close-after-write
    written_at: float = 0.0          # monotonic time of the last write-ish event
    size: int | None = None          # size at the previous readiness check


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_created(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            self.watcher.scan(Path(os.fsdecode(event.src_path)))  # files made before its watch
        else:
            self.watcher.mark(os.fsdecode(event.src_path))

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.watcher.mark(os.fsdecode(event.src_path))

    def on_moved(self, event: FileSystemEvent) -> None:
        dest = Path(os.fsdecode(event.dest_path))
        if event.is_directory:
            self.watcher.scan(dest)
        else:
            self.watcher.mark(str(dest), moved=True)

    def on_closed(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.watcher.mark(os.fsdecode(event.src_path), closed=True)


class Watcher:
    """Watch ``settings.inbox`` and hand each ready file to ``send`` as a task message."""

    def __init__(self, settings: Settings, client: redis.Redis, send: Send) -> None:
        self.settings = settings
        self.inbox = settings.inbox.resolve()
        self.redis = client
        self.send = send
        self.pending: dict[str, _Pending] = {}
        self.handled: dict[str, tuple[int, int]] = {}  # kept files already queued: (size, mtime_ns)
        self.lock = threading.Lock()
        self.wake = threading.Event()  # set by close-after-write events
        self.queued = 0
        self.observer: Any = None
        self._last_depth_check = 0.0
        self._depth_seen = 0          # queue depth at the last check
        self._sent_since_check = 0    # messages sent since then

    # --- events -------------------------------------------------------------------------
    def mark(self, path: str, *, closed: bool = False, moved: bool = False) -> None:
        try:
            rel = Path(path).relative_to(self.inbox)
        except ValueError:
            return  # moved out of the inbox
        if is_ignored(rel):
            return
        now = time.monotonic()
        with self.lock:
            entry = self.pending.setdefault(path, _Pending())
            if closed:
                entry.closed_at = now
                self.wake.set()
            else:
                entry.written_at = now
                if not moved:
                    entry.closed_at = None

    def scan(self, folder: Path | None = None) -> int:
        """Mark every candidate file under ``folder`` (the inbox by default) as pending."""
        folder = folder or self.inbox
        found = 0
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                path = os.path.join(dirpath, name)
                if self._already_handled(path):
                    continue
                self.mark(path, moved=True)
                found += 1
        return found

    # --- readiness ----------------------------------------------------------------------
    def _already_handled(self, path: str) -> bool:
        seen = self.handled.get(path)
        if seen is None:
            return False
        try:
            info = os.lstat(path)
        except OSError:
            return False
        return seen == (info.st_size, info.st_mtime_ns)

    def ready_paths(self) -> list[str]:
        """Paths complete now: closed and quiet, or unchanged for the settle time."""
        now_mono, now_wall = time.monotonic(), time.time()
        ready: list[str] = []
        with self.lock:
            for path, entry in list(self.pending.items()):
                try:
                    info = os.lstat(path)
                except FileNotFoundError:
                    del self.pending[path]  # gone before ready (a temp file renamed, say)
                    continue
                except OSError:
                    ready.append(path)  # unreadable: let read_source name the reason
                    continue
                if not stat.S_ISREG(info.st_mode):
                    ready.append(path)  # FIFO, socket, link: never waits, never read
                    continue
                closed_quiet = entry.closed_at is not None and entry.closed_at >= entry.written_at \
                    and now_mono - entry.closed_at >= CLOSE_QUIET
                settled = now_wall - info.st_mtime >= self.settings.settle_seconds \
                    and entry.size == info.st_size
                entry.size = info.st_size
                if closed_quiet or settled:
                    ready.append(path)
            for path in ready:
                self.pending.pop(path, None)
        return ready

    # --- queueing -----------------------------------------------------------------------
    def submit(self, paths: list[str]) -> None:
        """Queue ready files (unless their bytes were queued before), then set them aside.

        Files that became ready together (a burst) travel several to a message, which spreads
        Celery's per-message cost; a file that is ready alone travels alone, at once.
        """
        items = [(path, *read_source(Path(path), self.inbox, self.settings.max_file_bytes)) for path in paths]
        metrics.FILES_SEEN.inc(len(items))
        check = self.redis.pipeline(transaction=False)
        for _, source, _, _ in items:
            check.exists(SEEN + source.sha256)
        fresh, shas = [], set()
        for (path, source, data, error), seen in zip(items, check.execute()):
            if error is not None:
                log.warning("%s cannot be read: %s", source.path, error.message, extra={"file_id": source.sha256[:24]})
            if seen or source.sha256 in shas:
                metrics.FILES_REPEATED.inc()
                log.info("%s: the same bytes were queued before; not queued again", source.path,
                         extra={"file_id": source.sha256[:24]})
                self.set_aside(Path(path))
                continue
            shas.add(source.sha256)
            fresh.append((path, source, data, error))
        for batch in self.batches(fresh):
            self.wait_for_room()
            self.send(make_batch([make_message(source, data, error) for _, source, data, error in batch]))
            # Marked after the send: a crash in between queues the bytes twice at worst, and
            # processing is idempotent; marking first could lose the files.
            mark = self.redis.pipeline(transaction=False)
            for _, source, _, _ in batch:
                mark.set(SEEN + source.sha256, "queued", ex=self.settings.idempotency_ttl)
            mark.hincrby(STATS, "queued", len(batch)).execute()
            metrics.FILES_QUEUED.inc(len(batch))
            self.queued += len(batch)
            for path, source, _, _ in batch:
                log.info("queued %s (%d bytes)", source.path, source.size, extra={"file_id": source.sha256[:24]})
                self.set_aside(Path(path))

    def batches(self, items: list[Any]) -> list[list[Any]]:
        """Even batches of at most ``batch_files`` files and about ``BATCH_BYTES`` of content."""
        if not items:
            return []
        size = max(1, self.settings.batch_files)
        total = sum(len(data or b"") for _, _, data, _ in items)
        count = max(-(-len(items) // size), -(-total // BATCH_BYTES))
        count = min(count, len(items))
        return [items[i::count] for i in range(count)]

    def wait_for_room(self) -> None:
        """Back-pressure: hold while the queue is longer than the high-water mark.

        Redis is asked only when the last depth seen plus what was sent since could pass the
        mark (or a second has gone by), so the check costs nothing on a short queue.
        """
        high = self.settings.queue_high_water
        now = time.monotonic()
        if self._depth_seen + self._sent_since_check < high and now - self._last_depth_check < 1.0:
            self._sent_since_check += 1
            return
        depth = self.redis.llen(self.settings.queue)
        if depth >= high:
            metrics.BACKPRESSURE.inc()
            log.warning("queue at %d messages (high-water mark): pausing until workers catch up", depth)
            while depth > high * 0.8:
                metrics.QUEUE_DEPTH.set(depth)
                time.sleep(0.2)
                depth = self.redis.llen(self.settings.queue)
            log.info("queue down to %d messages: resuming", depth)
        metrics.QUEUE_DEPTH.set(depth)
        self._depth_seen, self._sent_since_check = depth, 1
        self._last_depth_check = time.monotonic()

    def set_aside(self, path: Path) -> None:
        mode = self.settings.after_queue
        if not os.path.lexists(path):
            return
        try:
            if mode == "delete":
                path.unlink()
            elif mode == "move":
                dest = self.settings.done_dir.resolve() / path.relative_to(self.inbox)
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.exists() or dest.is_symlink():
                    dest = dest.with_name(f"{dest.name}.{time.time_ns()}")
                shutil.move(str(path), dest)
            else:
                info = os.lstat(path)
                self.handled[str(path)] = (info.st_size, info.st_mtime_ns)
        except OSError as exc:
            log.warning("could not %s %s after queueing: %s", mode, path, exc)

    def health(self) -> dict[str, object]:
        """For /healthz: the observer runs and Redis answers."""
        observing = self.observer is not None and self.observer.is_alive()
        redis_ok = bool(self.redis.ping())
        return {"ok": observing and redis_ok, "role": "watcher", "observer": observing,
                "redis": redis_ok, "queued": self.queued, "pending": len(self.pending)}

    # --- the loop -----------------------------------------------------------------------
    def _observer(self) -> Any:
        observer = PollingObserver(timeout=1.0) if self.settings.polling else Observer()
        observer.schedule(_Handler(self), str(self.inbox), recursive=True)
        observer.start()
        return observer

    def run(self, stop: threading.Event) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.observer = observer = self._observer()
        found = self.scan()
        log.info("watching %s (%s observer); %d file(s) already waiting", self.inbox,
                 "polling" if self.settings.polling else "native", found)
        last_scan = time.monotonic()
        try:
            while not stop.is_set():
                ready = self.ready_paths()
                for start in range(0, len(ready), SUBMIT_CHUNK):
                    chunk = ready[start:start + SUBMIT_CHUNK]
                    if stop.is_set():
                        break
                    try:
                        self.submit(chunk)
                    except (redis.RedisError, OperationalError) as exc:
                        log.warning("Redis unavailable (%s); %d file(s) stay in the inbox for now", exc, len(chunk))
                        for path in ready[start:]:
                            if os.path.lexists(path):
                                self.mark(path, moved=True)
                        stop.wait(1.0)
                        break
                if not observer.is_alive():
                    log.error("the file observer stopped; restarting it and rescanning")
                    self.observer = observer = self._observer()
                    self.scan()
                if time.monotonic() - last_scan >= self.settings.rescan_seconds:
                    self.scan()
                    last_scan = time.monotonic()
                if self.wake.wait(TICK):
                    self.wake.clear()
                    time.sleep(CLOSE_QUIET)  # let a writer that closes and reopens show itself
        finally:
            observer.stop()
            observer.join(timeout=5)
