"""The Sink protocol, and writing an outcome batch to every configured sink.

A sink takes a batch of outcomes and writes them idempotently (writing one again changes
nothing), returning for each whether it was new. ``write_all`` writes the files sink last: a
record file on disk means every other sink holds it too, and the message is acknowledged
only after ``write_all`` returns. A sink that cannot take outcomes now raises
``SinkUnavailable`` (an ``OSError``), which the task retries with back-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import redis

from ..models import Outcome
from ..settings import Settings

ORDER = ("postgres", "stream", "files")  # the order they are written in
PRIMARY = ("files", "postgres", "stream")  # whose "was it new?" the counters and logs follow


class Sink(Protocol):
    name: str

    def write(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Write ``outcomes`` (idempotent); True for each that was not there before."""
        ...


def configured(settings: Settings, client: redis.Redis | None) -> list[Sink]:
    """The sinks ``settings`` names, in writing order."""
    from .files import FilesSink
    from .postgres import PostgresSink
    from .stream import StreamSink

    sinks: list[Sink] = []
    for name in ORDER:
        if name not in settings.sink_names:
            continue
        if name == "files":
            sinks.append(FilesSink(settings.records_dir, failed_dir=settings.failed_dir, fsync=settings.fsync))
        elif name == "postgres":
            sinks.append(PostgresSink.for_settings(settings))
        elif client is not None:
            sinks.append(StreamSink(client, settings.stream_maxlen, settings.idempotency_ttl))
    return sinks


def write_all(outcomes: Sequence[Outcome], settings: Settings, client: redis.Redis | None = None) -> list[bool]:
    """Write ``outcomes`` to every configured sink; whether each was new (to the primary sink)."""
    if not outcomes:
        return []
    results = {sink.name: sink.write(outcomes) for sink in configured(settings, client)}
    for name in PRIMARY:
        if name in results:
            return results[name]
    return [True] * len(outcomes)
