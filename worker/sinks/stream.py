"""The stream sink: one event per outcome on the Redis stream ``ingest:events``.

Fields: ``id``, ``status`` (``unique``, ``exact_duplicate``, ``near_duplicate`` or ``failed``),
``title``, ``source`` (the file's name), ``site``. Other services and the web view follow it
with consumer groups (XREADGROUP). The stream is capped near ``INGEST_STREAM_MAXLEN`` entries.
Each event is added at most once: a marker key per outcome id is set in the same atomic script
as the XADD, so a retried message does not repeat its events.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from ..models import FailureRecord, Outcome

STREAM = "ingest:events"
SENT = "ingest:events:sent:"  # + outcome id (+ ":failed"): this outcome's event is on the stream

_ADD_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'id', ARGV[3], 'status', ARGV[4],
             'title', ARGV[5], 'source', ARGV[6], 'site', ARGV[7])
  return 1
end
return 0
"""


def event(outcome: Outcome) -> tuple[str, str, str, str, str]:
    """(id, status, title, source name, site) of an outcome's event."""
    if isinstance(outcome, FailureRecord):
        return outcome.id, "failed", "", outcome.source.name, ""
    return outcome.id, outcome.dedup.status, outcome.title or "", outcome.source.name, outcome.site or ""


def sent_key(outcome: Outcome) -> str:
    """A record after an earlier failure of the same input is an event of its own."""
    return SENT + outcome.id + (":failed" if isinstance(outcome, FailureRecord) else "")


class StreamSink:
    name = "stream"

    def __init__(self, client: redis.Redis, maxlen: int, ttl: int) -> None:
        self.client = client
        self.maxlen = maxlen
        self.ttl = ttl
        self.script = client.register_script(_ADD_ONCE)

    def write(self, outcomes: Sequence[Outcome]) -> list[bool]:
        pipe = self.client.pipeline(transaction=False)
        for outcome in outcomes:
            self.script(keys=[STREAM, sent_key(outcome)], args=[self.ttl, self.maxlen, *event(outcome)], client=pipe)
        return [bool(added) for added in pipe.execute()]
