"""Source: watch the inbox and queue each complete file exactly once.

A file is *ready* when no process we can see holds it open for writing and it has been
unchanged for the settle time (`readiness.decide`: a close event alone proves nothing, an
appender closes after every chunk). Events only mark a path as pending; one loop decides
readiness, so a burst of events costs nothing, and /proc is scanned once per round, only
when some file looks ready. A file is moved only if it is still what was read. A start-up
scan and a periodic rescan catch files that arrived while we were down or whose events the
OS dropped (inotify overflow is silent). A content-hash key in Redis keeps the same bytes
from being queued twice, whatever the events. Ignored names are logged once and listed in
Redis for `ingest status`.
"""

from __future__ import annotations

import errno
import json
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
from typing import Any, NamedTuple

import redis
from kombu.exceptions import OperationalError
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from ..service import metrics
from ..service.broker import QueueState, queue_depth
from .messages import make_batch, make_message, printable, read_source
from .readiness import Look, Signature, decide
from ..service.redis_client import IGNORED, SEEN, STATS, probe
from ..settings import Settings

log = logging.getLogger(__name__)

PARTIAL_NAME = re.compile(r"(\.tmp|\.part|\.crdownload|\.partial|\.swp)$|^~\$", re.I)
SUBMIT_CHUNK = 256  # ready files read and queued per round (bounds the watcher's memory)
BATCH_BYTES = 1 << 20  # content per message, before base64
TICK = 0.1          # the loop's sleep between readiness rounds
WRITERS_EVERY = 0.5  # seconds between two /proc scans (about 15-40 ms each on a busy host)
IGNORED_LISTED = 1000  # ignored files listed in Redis for `ingest status` (each is logged anyway)
O_ACCMODE, O_RDONLY = 0o3, 0o0

Send = Callable[[dict[str, Any]], None]


def is_ignored(relative: Path) -> bool:
    """Hidden paths (any part starting with a dot, `.done` included) and partial downloads."""
    return ignored_reason(relative) is not None


def ignored_reason(relative: Path) -> str | None:
    """Why a path is never taken: a hidden folder, a hidden name, or a partial-download name."""
    if any(part.startswith(".") for part in relative.parts[:-1]):
        return "in a hidden folder"
    if relative.name.startswith("."):
        return "hidden name"
    if PARTIAL_NAME.search(relative.name):
        return "temporary or partial-download name"
    return None


def signature(path: str) -> Signature | None:
    """The file's identity and state now; None for anything but a regular file."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        return None
    return Signature(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def open_for_writing(folder: str) -> set[tuple[int, int]] | None:
    """(dev, inode) of the files under ``folder`` that a process we can see holds open for
    writing (/proc/<pid>/fd links, with fdinfo flags); None where there is no /proc.

    Processes of other users (unless we are root), containers or hosts are not visible: the
    settle window covers them.
    """
    try:
        pids = [pid for pid in os.listdir("/proc") if pid.isdigit()]
    except OSError:
        return None
    prefix = folder.rstrip(os.sep) + os.sep
    held: set[tuple[int, int]] = set()
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or not ours to see
        for fd in fds:
            link = f"{fd_dir}/{fd}"
            try:
                if not os.readlink(link).startswith(prefix):
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as handle:
                    flags = next(int(line.split()[1], 8) for line in handle if line.startswith("flags:"))
                if flags & O_ACCMODE == O_RDONLY:
                    continue
                info = os.stat(link)
            except (OSError, StopIteration, ValueError):
                continue  # closed meanwhile
            held.add((info.st_dev, info.st_ino))
    return held


@dataclass
class _Pending:
    still_since: float                # monotonic time it was last seen changing (or held open)
    closed_at: float | None = None    # monotonic time of the last close-after-write
    before: Signature | None = None   # at the previous readiness round
    ignored: str | None = None        # why it is never taken (reported once ready)
    told_held: bool = False           # "held open for writing" logged


class Ready(NamedTuple):
    path: str
    signature: Signature | None  # as it was when found ready: the bytes read must still be these
    ignored: str | None = None


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
            self.watcher.mark(str(dest))

    def on_closed(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.watcher.mark(os.fsdecode(event.src_path), closed=True)


class Watcher:
    """Watch ``settings.inbox`` and hand each ready file to ``send`` as a task message."""

    def __init__(self, settings: Settings, client: redis.Redis, send: Send) -> None:
        self.settings = settings
        self.inbox = settings.inbox.resolve()
        self.redis = client
        self.probe = probe(client)  # /healthz: one attempt, at once
        self.send = send
        self.settle = settings.polling_settle_seconds if settings.polling else settings.settle_seconds
        self.pending: dict[str, _Pending] = {}
        self.handled: dict[str, Signature] = {}  # kept files already queued, as they were read
        self._done = str(settings.done_dir.resolve())
        self._done_dirs: set[str] = set()  # done folders known to exist
        self.ignored: dict[str, str] = {}  # ignored files reported (logged once each): JSON entry
        self.lock = threading.Lock()
        self._writers_at = -WRITERS_EVERY  # monotonic time of the last /proc scan
        self._relist = False  # Redis missed an update of the ignored list
        self.queued = 0
        self.observer: Any = None
        self._last_depth_check = 0.0
        self._depth_seen = 0          # queue depth at the last check
        self._gauged_at = 0.0         # when the queue gauges were last set (at most once a second)
        self._sent_since_check = 0    # messages sent since then

    # --- events -------------------------------------------------------------------------
    def mark(self, path: str, *, closed: bool = False) -> None:
        try:
            rel = Path(path).relative_to(self.inbox)
        except ValueError:
            return  # moved out of the inbox
        reason = ignored_reason(rel)
        if reason == "in a hidden folder" or path in self.ignored:
            return  # `.done/` and the like are not the inbox; an ignored file is reported once
        now = time.monotonic()
        with self.lock:
            entry = self.pending.get(path)
            if entry is None:
                entry = self.pending[path] = _Pending(still_since=now, ignored=reason)
            if closed:
                entry.closed_at = now

    def scan(self, folder: Path | None = None) -> int:
        """Mark every candidate file under ``folder`` (the inbox by default) as pending."""
        folder = folder or self.inbox
        found = 0
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                path = os.path.join(dirpath, name)
                if self._already_handled(path) or path in self.ignored:
                    continue
                self.mark(path)
                found += 1
        return found

    # --- readiness ----------------------------------------------------------------------
    def _already_handled(self, path: str) -> bool:
        seen = self.handled.get(path)
        if seen is None:
            return False
        try:
            return seen == signature(path)
        except OSError:
            return False

    def _unchanged(self, path: str, sig: Signature | None) -> bool:
        """Still the file found ready (``sig``); no signature (not a regular file): nothing to compare."""
        if sig is None:
            return True
        try:
            return signature(path) == sig
        except OSError:
            return False

    def ready_paths(self) -> list[Ready]:
        """Pending files ready now (`readiness.decide`); the writers check once per round."""
        now = time.monotonic()
        ready: list[Ready] = []
        candidates: list[tuple[str, Signature]] = []
        with self.lock:
            for path, entry in list(self.pending.items()):
                try:
                    sig = signature(path)
                except FileNotFoundError:
                    del self.pending[path]  # gone before ready (a temp file renamed, say)
                    continue
                except OSError:
                    sig = None  # unreadable: let read_source name the reason
                verdict = decide(Look(now, sig, entry.before, entry.still_since, entry.closed_at), self.settle)
                entry.before, entry.still_since = sig, verdict.still_since
                if verdict.ready and sig is None:
                    ready.append(Ready(path, None, entry.ignored))  # FIFO, socket, link: never waits
                    del self.pending[path]
                elif verdict.ready:
                    candidates.append((path, sig))
        if not candidates or now - self._writers_at < WRITERS_EVERY:
            return ready  # candidates stay pending until the next writers check
        held = open_for_writing(str(self.inbox))  # slow: outside the lock
        self._writers_at = time.monotonic()
        with self.lock:
            for path, sig in candidates:
                entry = self.pending.get(path)
                if entry is None:
                    continue
                verdict = decide(Look(now, sig, sig, entry.still_since, entry.closed_at,
                                      None if held is None else (sig.dev, sig.ino) in held), self.settle)
                entry.still_since = verdict.still_since
                if verdict.ready:
                    ready.append(Ready(path, sig, entry.ignored))
                    del self.pending[path]
                elif not entry.told_held:
                    entry.told_held = True
                    log.info("%s: %s; waiting for it to be closed and still for %g s",
                             self._relative(path), verdict.why, self.settle)
        return ready

    def _relative(self, path: str) -> str:
        return printable(os.path.relpath(path, self.inbox))

    # --- queueing -----------------------------------------------------------------------
    def submit(self, ready: list[Ready]) -> None:
        """Queue ready files (unless their bytes were queued before), then set them aside.

        Files that became ready together (a burst) travel several to a message, which spreads
        Celery's per-message cost; a file that is ready alone travels alone, at once. A file
        that changed while it was read is not queued: it waits to be still again, so the
        bytes queued are its final bytes.
        """
        items = []
        for path, sig, _ in ready:
            source, data, error = read_source(Path(path), self.inbox, self.settings.max_file_bytes)
            if sig is not None and (error is None or error.kind == "too_large") \
                    and (source.size != sig.size or not self._unchanged(path, sig)):
                log.info("%s changed while it was read; not queued, it waits to be still again", source.path)
                self.mark(path)
                continue
            items.append((path, sig, source, data, error))
        metrics.FILES_SEEN.inc(len(items))
        check = self.redis.pipeline(transaction=False)
        for _, _, source, _, _ in items:
            check.exists(SEEN + source.sha256)
        fresh, shas = [], set()
        for (path, sig, source, data, error), seen in zip(items, check.execute()):
            if error is not None:
                log.warning("%s cannot be read: %s", source.path, error.message, extra={"file_id": source.sha256[:24]})
            if seen or source.sha256 in shas:
                metrics.FILES_REPEATED.inc()
                log.info("%s: the same bytes were queued before; not queued again", source.path,
                         extra={"file_id": source.sha256[:24]})
                self.set_aside(Path(path), sig)
                continue
            shas.add(source.sha256)
            fresh.append((path, sig, source, data, error))
        for batch in self.batches(fresh):
            self.wait_for_room()
            self.send(make_batch([make_message(source, data, error) for _, _, source, data, error in batch]))
            # Marked after the send: a crash in between queues the bytes twice at worst, and
            # processing is idempotent; marking first could lose the files.
            mark = self.redis.pipeline(transaction=False)
            for _, _, source, _, _ in batch:
                mark.set(SEEN + source.sha256, "queued", ex=self.settings.idempotency_ttl)
            mark.hincrby(STATS, "queued", len(batch)).execute()
            metrics.FILES_QUEUED.inc(len(batch))
            self.queued += len(batch)
            for path, sig, source, _, _ in batch:
                log.info("queued %s (%d bytes)", source.path, source.size, extra={"file_id": source.sha256[:24]})
                self.set_aside(Path(path), sig)

    def batches(self, items: list[Any]) -> list[list[Any]]:
        """Even batches of at most ``batch_files`` files and about ``BATCH_BYTES`` of content."""
        if not items:
            return []
        size = max(1, self.settings.batch_files)
        total = sum(len(data or b"") for *_, data, _ in items)
        count = max(-(-len(items) // size), -(-total // BATCH_BYTES))
        count = min(count, len(items))
        return [items[i::count] for i in range(count)]

    def wait_for_room(self) -> None:
        """Back-pressure: hold while the queue is longer than the high-water mark.

        Depth counts the taking list too (``service/broker.py``): messages stuck there, their
        worker gone, are work not done. Redis is asked only when the last depth seen plus what
        was sent since could pass the mark (or a second has gone by), so the check costs nothing
        on a short queue.
        """
        high = self.settings.queue_high_water
        now = time.monotonic()
        if self._depth_seen + self._sent_since_check < high and now - self._last_depth_check < 1.0:
            self._sent_since_check += 1
            return
        depth = self._queue_depth()
        if depth >= high:
            metrics.BACKPRESSURE.inc()
            log.warning("queue at %d messages (high-water mark): pausing until workers catch up", depth)
            while depth > high * 0.8:
                time.sleep(0.2)
                depth = self._queue_depth()
            log.info("queue down to %d messages: resuming", depth)
        self._depth_seen, self._sent_since_check = depth, 1
        self._last_depth_check = time.monotonic()

    def _queue_depth(self) -> int:
        """Waiting plus being taken; at most once a second also each part and the oldest
        message's age, for the gauges (near the mark, depth is read before every send)."""
        now = time.monotonic()
        if now - self._gauged_at < 1.0:
            depth = queue_depth(self.redis, self.settings.queue)
            metrics.QUEUE_DEPTH.set(depth)
            return depth
        state = QueueState.read(self.redis, self.settings.queue)
        metrics.QUEUE_DEPTH.set(state.depth)
        metrics.QUEUE_TAKING.set(state.taking)
        metrics.QUEUE_OLDEST.set(state.oldest_age or 0)
        self._gauged_at = now
        return state.depth

    def set_aside(self, path: Path, sig: Signature | None = None) -> None:
        """Move, delete or keep a queued file; never one that changed since it was read (the
        rest would be lost): that one stays and is queued again once still."""
        mode = self.settings.after_queue
        name = str(path)
        try:
            now = signature(name)
        except FileNotFoundError:
            return
        except OSError:
            now = None
        if sig is not None and now != sig:
            log.warning("%s changed after it was read; left in the inbox, to be queued again once still",
                        self._relative(name))
            self.mark(name)
            return
        try:
            if mode == "delete":
                os.unlink(name)
            elif mode == "move":
                self._move_to_done(name)
            elif sig is not None:
                self.handled[name] = sig
        except OSError as exc:
            self._done_dirs.clear()
            log.warning("could not %s %s after queueing: %s", mode, path, exc)

    def _move_to_done(self, name: str) -> None:
        """Move an inbox file to the same place under the done folder (a new name if one is
        there). String paths and a cache of the folders made: this runs for every file."""
        dest = os.path.join(self._done, os.path.relpath(name, self.inbox))
        folder = os.path.dirname(dest)
        if folder not in self._done_dirs:
            os.makedirs(folder, exist_ok=True)
            self._done_dirs.add(folder)
        if os.path.lexists(dest):
            dest = f"{dest}.{time.time_ns()}"
        try:
            os.rename(name, dest)
        except FileNotFoundError:  # the done folder was removed meanwhile: made again
            os.makedirs(folder, exist_ok=True)
            os.rename(name, dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            shutil.move(name, dest)  # another file system: copy, then delete

    def health(self) -> dict[str, object]:
        """For /healthz: the observer runs and Redis answers."""
        observing = self.observer is not None and self.observer.is_alive()
        redis_ok = bool(self.probe.ping())
        return {"ok": observing and redis_ok, "role": "watcher", "observer": observing,
                "redis": redis_ok, "queued": self.queued, "pending": len(self.pending),
                "ignored": len(self.ignored)}

    # --- ignored files ------------------------------------------------------------------
    def report_ignored(self, ready: list[Ready]) -> None:
        """One log line per ignored file once it is still (a temp file renamed within the
        settle time is never reported), and a capped list in Redis for `ingest status`."""
        listed = self.redis.pipeline(transaction=False)
        for path, sig, reason in ready:
            rel = self._relative(path)
            self.ignored[path] = json.dumps({"reason": reason, "size": sig.size if sig else None})
            log.warning("%s is ignored (%s): it stays in the inbox; rename it to have it taken", rel, reason)
            if len(self.ignored) <= IGNORED_LISTED:
                listed.hset(IGNORED, rel, self.ignored[path])
        try:
            listed.execute()
        except redis.RedisError as exc:
            log.warning("Redis unavailable (%s); the list of ignored files is written at the next rescan", exc)
            self._relist = True

    def forget_gone_ignored(self) -> None:
        """Drop ignored files that left the inbox (renamed, deleted) from the list; write the
        list again if Redis missed it."""
        gone = [path for path in self.ignored if not os.path.lexists(path)]
        for path in gone:
            del self.ignored[path]
        listed = self.redis.pipeline(transaction=False)
        if gone:
            listed.hdel(IGNORED, *[self._relative(path) for path in gone])
        if self._relist:
            for path, entry in list(self.ignored.items())[:IGNORED_LISTED]:
                listed.hset(IGNORED, self._relative(path), entry)
        listed.execute()
        self._relist = False

    # --- the loop -----------------------------------------------------------------------
    def _observer(self) -> Any:
        observer = PollingObserver(timeout=1.0) if self.settings.polling else Observer()
        observer.schedule(_Handler(self), str(self.inbox), recursive=True)
        observer.start()
        return observer

    def run(self, stop: threading.Event) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        try:
            self.redis.delete(IGNORED)  # listed afresh by this run
        except redis.RedisError:
            pass
        self.observer = observer = self._observer()
        found = self.scan()
        log.info("watching %s (%s observer); %d file(s) already waiting", self.inbox,
                 "polling" if self.settings.polling else "native", found)
        last_scan = time.monotonic()
        try:
            while not stop.is_set():
                ready = self.ready_paths()
                if any(r.ignored for r in ready):
                    self.report_ignored([r for r in ready if r.ignored])
                    ready = [r for r in ready if not r.ignored]
                for start in range(0, len(ready), SUBMIT_CHUNK):
                    chunk = ready[start:start + SUBMIT_CHUNK]
                    if stop.is_set():
                        break
                    try:
                        self.submit(chunk)
                    except (redis.RedisError, OperationalError) as exc:
                        log.warning("Redis unavailable (%s); %d file(s) stay in the inbox for now", exc, len(chunk))
                        for path, _, _ in ready[start:]:
                            if os.path.lexists(path):
                                self.mark(path)
                        stop.wait(1.0)
                        break
                if not observer.is_alive():
                    log.error("the file observer stopped; restarting it and rescanning")
                    self.observer = observer = self._observer()
                    self.scan()
                if time.monotonic() - last_scan >= self.settings.rescan_seconds:
                    self.scan()
                    try:
                        self.forget_gone_ignored()
                    except redis.RedisError:
                        pass  # tried again at the next rescan
                    last_scan = time.monotonic()
                stop.wait(TICK)
        finally:
            observer.stop()
            observer.join(timeout=5)
