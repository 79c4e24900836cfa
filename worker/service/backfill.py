"""`ingest process`: the pipeline over files given on the command line, on every core.

The same stages, dedup index and sink as the service, without the queue: a pool of processes
(models loaded once in the parent, shared by fork) each with its own Redis connection. Files
are started in order; of two copies in flight at once, the atomic dedup index decides which
is the original, exactly as between the service's workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import redis

from . import policy
from .. import pipeline
from .delivery import deliver
from ..sources.messages import make_message, read_source
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


def process_file(path: Path) -> Counter[str]:
    """One file through the pipeline and the sink (in a pool process, after ``_init``).

    Errors follow the service's policy: the input's faults become failure records; Redis away
    or a records folder that cannot be written are retried after the same back-off (sleeping
    here, where the task waits for a countdown); a Redis outage that outlasts its retries stops
    the run, and re-running it finishes the job (ids are stable).
    """
    assert _client is not None and _index is not None and _settings is not None
    source, data, error = read_source(path, path.parent, _settings.max_file_bytes)
    retries = 0
    while True:
        try:
            outcomes = policy.run_or_fail(source, data or b"", error, _index, _settings)
            return deliver(outcomes, make_message(source, data, error), _client, _settings)
        except policy.RETRYABLE as exc:
            verdict = policy.classify(exc, _settings)
            if verdict.limit is not None and retries >= verdict.limit:
                raise
            delay = policy.backoff(retries, _settings)
            log.warning("%s; retry %d in %ss: %s", verdict.reason, retries + 1, delay, source.path)
            time.sleep(delay)
            retries += 1


def run(files: list[Path], url: str, settings: Settings, on_file: Callable[[], None] = lambda: None) -> Counter[str]:
    totals: Counter[str] = Counter()
    processes = max(1, min(settings.concurrency, len(files)))
    pipeline.warm_up(settings)  # before the fork: the pool shares the loaded models
    if processes == 1:
        _init(url, settings)
        for path in files:
            totals.update(process_file(path))
            on_file()
        return totals
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_init, initargs=(url, settings)) as pool:
        for counts in pool.imap(process_file, files, chunksize=4):
            totals.update(counts)
            on_file()
    return totals
