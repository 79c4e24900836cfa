"""Dead letters queued again: `ingest failed retry` and the web view's retry, one way.

A dead letter is a failure record's entry in ``DEAD`` and the message that retries it under
``DEAD_MESSAGE`` (written by ``delivery.deliver``). Kept apart from delivery so that the web
view can retry without loading the pipeline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from .redis_client import DEAD, DEAD_MESSAGE


@dataclass
class Requeued:
    """What ``requeue`` did: dead letters queued again, in how many messages; ids whose message expired."""

    letters: int = 0
    messages: int = 0
    expired: list[str] = field(default_factory=list)


def requeue(client: redis.Redis, ids: Collection[str], send: Callable[[dict[str, Any]], None]) -> Requeued:
    """Queue dead letters again (all, or ``ids``) through ``send``: `ingest failed retry` and the
    web view's retry alike.

    Each leaves ``DEAD`` before its message is sent (a quick new failure re-adds it) and comes
    back if sending fails. Dead letters that keep the same message are sent once: those written
    before a failed article kept itself alone held its whole slice, one copy per failed line.
    """
    done = Requeued()
    sent: set[bytes] = set()
    for raw in client.hvals(DEAD):
        entry = orjson.loads(raw)
        if ids and entry["id"] not in ids:
            continue
        message = client.get(DEAD_MESSAGE + entry["id"])
        if message is None:
            done.expired.append(entry["id"])
            continue
        client.hdel(DEAD, entry["id"])
        digest = hashlib.sha256(message).digest()
        if digest not in sent:
            try:
                send(orjson.loads(message))
            except Exception:
                client.hset(DEAD, entry["id"], raw)
                raise
            sent.add(digest)
            done.messages += 1
        done.letters += 1
    return done
