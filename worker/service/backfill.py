"""`ingest process`: the pipeline over files given on the command line, on every core.

The same stages, dedup index and sink as the service, without the queue: a pool of processes
(models loaded once in the parent, shared by fork) each with its own Redis connection. Files
are started in order; of two copies in flight at once, the atomic dedup index decides which
is the original, exactly as between the service's workers. A big JSONL file or JSON array is
cut by the service's own fan-out (``fanout.slices``) into slices of ``fanout_articles``
articles that run on every process, each with its own time budget, under the same record ids.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis

from . import fanout, policy
from .. import pipeline
from .delivery import deliver
from ..sources.messages import make_message, open_message, read_source
from ..pipeline.dedupe import DedupIndex
from .redis_client import connect
from ..settings import Settings

log = logging.getLogger(__name__)

_client: redis.Redis | None = None
_index: DedupIndex | None = None
_settings: Settings | None = None


def _init(url: str, settings: Settings) -> None:
    global _client, _index, _settings
    _client = connect(url, wait=10)
    _index = DedupIndex.from_settings(_client, settings)
    _settings = settings


Unit = Path | dict[str, Any]  # a file, or one slice's message of a big file


def process_file(path: Path) -> Counter[str]:
    """One file through the pipeline and the sink (in a pool process, after ``_init``)."""
    assert _settings is not None
    source, data, error = read_source(path, path.parent, _settings.max_file_bytes)
    return _deliver(source, data or b"", error, lambda: make_message(source, data, error))


def process_unit(unit: Unit) -> Counter[str]:
    """A file, or a slice of one (its message, as ``fanout.slices`` made it)."""
    if isinstance(unit, Path):
        return process_file(unit)
    source, data, error = open_message(unit)
    return _deliver(source, data, error, lambda: unit, first_line=fanout.first_line(unit))


def _deliver(source: Any, data: bytes, error: Any, message: Callable[[], dict[str, Any]], *,
             first_line: int | None = None) -> Counter[str]:
    """Errors follow the service's policy: the input's faults become failure records; Redis away
    or a records folder that cannot be written are retried after the same back-off (sleeping
    here, where the task waits for a countdown); a Redis outage that outlasts its retries stops
    the run, and re-running it finishes the job (ids are stable).
    """
    assert _client is not None and _index is not None and _settings is not None
    retries = 0
    while True:
        try:
            outcomes = policy.run_or_fail(source, data, error, _index, _settings, first_line=first_line)
            return deliver(outcomes, message(), _client, _settings, per_article=True)
        except policy.RETRYABLE as exc:
            verdict = policy.classify(exc, _settings)
            if verdict.limit is not None and retries >= verdict.limit:
                raise
            delay = policy.backoff(retries, _settings)
            log.warning("%s; retry %d in %ss: %s", verdict.reason, retries + 1, delay, source.path)
            time.sleep(delay)
            retries += 1


def units(files: list[Path], settings: Settings) -> Iterator[tuple[Unit, bool]]:
    """Each file, or its slices when the service would fan it out; True on a file's last unit.
    Lazy: one big file's slices are in memory at a time."""
    for path in files:
        parts: list[dict[str, Any]] = []
        if fanout.may_fan_out(path.name):
            source, data, error = read_source(path, path.parent, settings.max_file_bytes)
            parts = fanout.slices(make_message(source, data, error), settings, data)
            del data
        if parts:
            log.info("%s: %d lines as %d slices", path, sum(p["slice"]["lines"] for p in parts), len(parts))
            for number, part in enumerate(parts, 1):
                yield part, number == len(parts)
        else:
            yield path, True


def _process(unit: tuple[Unit, bool]) -> tuple[Counter[str], bool, bool]:
    """What one unit gave, whether it ends its file, whether it was a slice."""
    work, last = unit
    return process_unit(work), last, isinstance(work, dict)


def run(files: list[Path], url: str, settings: Settings, on_file: Callable[[], None] = lambda: None) -> Counter[str]:
    totals: Counter[str] = Counter()

    def done(counts: Counter[str], last: bool, sliced: bool) -> None:
        totals.update(counts)
        totals["slices"] += sliced
        if last:
            on_file()

    may_split = any(fanout.may_fan_out(path.name) for path in files)
    processes = max(1, min(settings.concurrency, settings.concurrency if may_split else len(files)))
    pipeline.warm_up(settings)  # before the fork: the pool shares the loaded models
    if processes == 1:
        _init(url, settings)
        for unit in units(files, settings):
            done(*_process(unit))
        return totals
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_init, initargs=(url, settings)) as pool:
        for result in pool.imap(_process, units(files, settings)):
            done(*result)
    return totals
