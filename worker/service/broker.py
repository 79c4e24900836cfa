"""kombu's Redis transport, made to lose no message that is in flight when Redis goes away.

kombu takes a message with ``BRPOP`` (the message leaves the queue) and then, in a second
command, records it in its ``unacked`` hash. A message popped when Redis shuts down or the
connection breaks between the two is in no list any more: its reply never reached the worker,
or its record could not be written. Nothing brings it back; a file of a burst was lost in one
Redis restart of twelve (kombu issues #305 and pull request #1733 tell the same story).

This transport takes with ``BLMOVE`` instead: the message moves atomically from the queue into
a *taking* list (``<queue>:taking``), and leaves it only once the ``unacked`` hash holds it. What
stays in the taking list longer than ``STRANDED_AFTER`` seconds was taken by a worker that lost
its connection (or its life) in between; the periodic sweep every worker runs (kombu's
``restore_visible``, every ``unacked_restore_interval`` seconds) puts it back in the queue. A
message may thus be delivered twice, never lost: processing is idempotent (record ids come from
the content).

Only a worker consuming a single queue without priorities takes this way (``BLMOVE`` reads one
list); the app configures exactly that. Anything else falls back to kombu's ``BRPOP``.

A message taken stays in kombu's ``unacked`` hash until acknowledged; kombu gives it back only
after the visibility timeout (10 minutes), as it cannot tell a dead worker from a slow one. Here
each message taken is *owned* by the worker process that took it (``unacked_owner``: tag ->
owner, and ``unacked_owned:<owner>``, a set per owner for the sweep), and every owner keeps a
*lease*, a Redis key with a TTL of ``LEASE_SECONDS`` that its sweep refreshes. A worker killed
outright (kill -9, the OOM killer, a container killed) stops refreshing it; once it has expired,
the sweep of any other worker (or of the next one started) gives back what it owned, whatever
its age: within ``LEASE_SECONDS`` plus one sweep. The visibility timeout stays the backstop for
messages of a live owner (a long task is never taken from a live worker) and for messages
recorded without an owner (by an older version).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass

import redis
from redis._parsers.base import BaseParser
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

log = logging.getLogger(__name__)

STRANDED_AFTER = 5  # seconds: a live worker records what it took within milliseconds

# Items of the taking list seen there at least STRANDED_AFTER seconds ago go back to the queue
# (RPUSH: next out, they waited long enough). First sightings are kept by content digest.
_SWEEP = """
local now = tonumber(redis.call('TIME')[1])
local seen = redis.call('HGETALL', KEYS[3])
local first = {}
for i = 1, #seen, 2 do first[seen[i]] = tonumber(seen[i + 1]) end
redis.call('DEL', KEYS[3])
local moved = 0
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local digest = redis.sha1hex(item)
  local since = first[digest] or now
  if now - since >= tonumber(ARGV[1]) then
    if redis.call('LREM', KEYS[1], 1, item) == 1 then
      redis.call('RPUSH', KEYS[2], item)
      moved = moved + 1
    end
  else
    redis.call('HSET', KEYS[3], digest, since)
  end
end
return moved
"""


def taking_key(queue: str) -> str:
    return f"{queue}:taking"


QUEUED_AT = "queued_at"  # message header: when it was sent, in milliseconds since the epoch

# Both lists' lengths, and how long ago the oldest message (the right end of either list: both
# are filled from the left) was sent, by Redis's clock. The header follows the base64 body,
# which holds no quote: a plain find skips the body at memchr speed, however large.
_STATE = """
local ages = {}
for _, key in ipairs(KEYS) do
  local item = redis.call('LINDEX', key, -1)
  if item then
    local at = string.find(item, '"' .. ARGV[1] .. '":', 1, true)
    local sent = at and tonumber(string.match(item, '^%s*(%d+)', at + #ARGV[1] + 3))
    ages[#ages + 1] = sent or -1
  end
end
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local oldest = -1
for _, sent in ipairs(ages) do
  if sent >= 0 then oldest = math.max(oldest, now - sent) end
end
return {redis.call('LLEN', KEYS[1]), redis.call('LLEN', KEYS[2]), oldest}
"""


@dataclass(frozen=True)
class QueueState:
    """What waits in a queue: taken but not yet recorded by a worker counts (``taking``), as a
    worker that died between the two commands leaves its message there until the sweep."""

    waiting: int
    taking: int
    oldest_age: float | None  # seconds since the oldest message was sent; None: empty or unknown

    @property
    def depth(self) -> int:
        return self.waiting + self.taking

    def oldest(self) -> str:
        """When the oldest message was sent, for people ("4m 12s ago"); "-" when none waits."""
        if self.depth == 0:
            return "-"
        if self.oldest_age is None:
            return "unknown (sent without a time by an older version)"
        seconds = int(self.oldest_age)
        hours, rest = divmod(seconds, 3600)
        if hours:
            return f"{hours}h {rest // 60:02d}m ago"
        return f"{rest // 60}m {rest % 60:02d}s ago" if rest >= 60 else f"{seconds}s ago"

    @classmethod
    def script_args(cls, queue: str) -> tuple[str, int, str, str, str]:
        """``EVAL`` arguments for a sync or an async client alike (the web view has both)."""
        return _STATE, 2, queue, taking_key(queue), QUEUED_AT

    @classmethod
    def from_reply(cls, reply: list[int]) -> QueueState:
        waiting, taking, oldest_ms = (int(n) for n in reply)
        return cls(waiting, taking, max(0, oldest_ms) / 1000 if oldest_ms >= 0 else None)

    @classmethod
    def read(cls, client, queue: str) -> QueueState:  # type: ignore[no-untyped-def]
        return cls.from_reply(client.eval(*cls.script_args(queue)))


def queue_depth(client, queue: str) -> int:  # type: ignore[no-untyped-def]
    """Waiting plus being taken, without the oldest message's age: two ``LLEN``, however large
    the messages (``QueueState.read`` copies the oldest one inside Redis: 24 ms for 30 MB)."""
    pipe = client.pipeline(transaction=False)
    pipe.llen(queue)
    pipe.llen(taking_key(queue))
    return sum(pipe.execute())


def stamp(headers: dict) -> None:
    """Mark a message being sent with the time, for `QueueState.oldest_age`."""
    headers[QUEUED_AT] = int(time.time() * 1000)


# The lease of a worker process on the messages it took. Its sweep refreshes it every
# ``unacked_restore_interval`` seconds (at most LEASE_SECONDS / 3, set in ``celery_app``): two
# refreshes may be missed (a main loop held up by a busy machine, a Redis failover of a few
# seconds) before its messages go to others. 15 s: a dead worker's messages come back in
# seconds, not minutes; a shorter lease would hand out messages of a live worker whenever its
# host stalls. The TTL runs on Redis's clock: no host clock is ever compared.
LEASE_SECONDS = 15
ORPHANS_PER_SWEEP = 200  # messages of dead owners one sweep gives back: a bounded pass, however many

_OWNER_PROCESS: tuple[int, str] | None = None
_LEASED: set[str] = set()  # owners whose lease this process wrote: a missing one then lapsed


def owner_id() -> str:
    """This process's name as an owner: host, pid and a random token, as a restarted container
    has the same host name and pid 1 again. A forked child is a new owner."""
    global _OWNER_PROCESS
    if _OWNER_PROCESS is None or _OWNER_PROCESS[0] != os.getpid():
        _OWNER_PROCESS = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")
    return _OWNER_PROCESS[1]


# Owners whose lease has expired, and up to ARGV[3] of the tags each still owns (owner, tag,
# owner, tag, ...). A dead owner that owns nothing any more is forgotten. The owners' set holds
# one entry per live worker process, and the tags returned are bounded: a bounded pass.
_ORPHANS = """
local room = tonumber(ARGV[3])
local found = {}
for _, owner in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. owner) == 0 then
    local owned = ARGV[2] .. owner
    if redis.call('SCARD', owned) == 0 then
      redis.call('SREM', KEYS[1], owner)
    elseif room > 0 then
      for _, tag in ipairs(redis.call('SRANDMEMBER', owned, room)) do
        found[#found + 1] = owner
        found[#found + 1] = tag
        room = room - 1
      end
    end
  end
end
return found
"""


UNACKED = kombu_redis.Channel.unacked_key  # kombu's ``unacked`` hash


@dataclass(frozen=True)
class OwnerKeys:
    """Where ownership lives, beside kombu's ``unacked`` hash: tag -> owner (``by_tag``), the
    owners holding messages (``owners``), and per owner its tags and its lease (key prefixes)."""

    by_tag: str
    owners: str
    owned: str
    lease: str

    @classmethod
    def of(cls, unacked: str = UNACKED) -> OwnerKeys:
        return cls(f"{unacked}_owner", f"{unacked}_owners", f"{unacked}_owned:", f"{unacked}_lease:")


@dataclass(frozen=True)
class Held:
    """Messages taken by workers and not yet acknowledged, and those of them that workers no
    longer alive (lease expired) still hold: the next sweep of a live worker gives them back."""

    total: int
    of_dead: int
    dead: int  # workers no longer alive holding messages

    @classmethod
    def read(cls, client) -> Held:  # type: ignore[no-untyped-def]
        keys = OwnerKeys.of()
        owners = [bytes_to_str(owner) for owner in client.smembers(keys.owners)]
        pipe = client.pipeline(transaction=False)
        pipe.hlen(UNACKED)
        for owner in owners:
            pipe.exists(keys.lease + owner)
            pipe.scard(keys.owned + owner)
        total, *replies = pipe.execute()
        dead = [held for alive, held in zip(replies[::2], replies[1::2]) if not alive and held]
        return cls(total, sum(dead), len(dead))

    def describe(self) -> str:
        text = f"{self.total} message(s) taken by workers, not yet acknowledged"
        if self.of_dead:
            text += (f"; {self.of_dead} of them held by {self.dead} worker(s) no longer alive, given back "
                     "by the next sweep of a live worker")
        return text


class QoS(kombu_redis.QoS):
    """kombu's acknowledgement emulation, each message owned by the worker process that took it
    (see the module's docstring)."""

    @property
    def owner(self) -> str:
        return owner_id()

    @cached_property
    def owner_keys(self) -> OwnerKeys:
        return OwnerKeys.of(self.unacked_key)

    def append(self, message, delivery_tag):  # type: ignore[no-untyped-def]
        """kombu's, with the ownership and a fresh lease written in the same transaction: what
        the ``unacked`` hash holds has an owner from the first moment (also for a consumer that
        runs no sweep, as ``basic_get``)."""
        delivery = message.delivery_info
        owner, keys = self.owner, self.owner_keys
        with self.pipe_or_acquire() as pipe:
            pipe.zadd(self.unacked_index_key, {delivery_tag: time.time()}) \
                .hset(self.unacked_key, delivery_tag, dumps([message._raw, delivery["exchange"],
                                                                         delivery["routing_key"]])) \
                .hset(keys.by_tag, delivery_tag, owner).sadd(keys.owned + owner, delivery_tag) \
                .sadd(keys.owners, owner).set(keys.lease + owner, 1, ex=LEASE_SECONDS) \
                .execute()
            virtual.QoS.append(self, message, delivery_tag)

    def _remove_from_indices(self, delivery_tag, pipe=None, owner=None):  # type: ignore[no-untyped-def]
        """Acknowledged or given back: its ownership goes with it (``owner``: as read, or this
        process, which acknowledges only what it took)."""
        keys = self.owner_keys
        pipe = super()._remove_from_indices(delivery_tag, pipe)
        return pipe.hdel(keys.by_tag, delivery_tag).srem(keys.owned + (owner or self.owner), delivery_tag)

    def restore_by_tag(self, tag, client=None, leftmost=False, owner=None):  # type: ignore[no-untyped-def]
        """kombu's give-back (a transaction: restored once, whoever else tries), its ownership
        dropped with it. With ``owner``, the message goes back only if that owner still holds
        it: taken since by another worker (its tag is the same), it stays with that one."""
        keys = self.owner_keys

        def restore_transaction(pipe):  # type: ignore[no-untyped-def]
            payload, held_by = pipe.hget(self.unacked_key, tag), pipe.hget(keys.by_tag, tag)
            held_by = held_by and bytes_to_str(held_by)
            pipe.multi()
            if owner is not None and held_by != owner:
                pipe.srem(keys.owned + owner, tag)
                return
            self._remove_from_indices(tag, pipe, held_by)
            if payload:
                message, exchange, routing_key = loads(bytes_to_str(payload))
                self.channel._do_restore_message(message, exchange, routing_key, pipe, leftmost)

        with self.channel.conn_or_acquire(client) as client:
            client.transaction(restore_transaction, self.unacked_key, keys.by_tag)

    def give_back(self, tag, client=None, leftmost=False):  # type: ignore[no-untyped-def]
        """Put a message this process took back in its queue, unless it is no longer its own:
        a worker whose lease lapsed (cut off from Redis, paused) must not queue again a message
        that another worker was given meanwhile and may be processing."""
        self.restore_by_tag(tag, client, leftmost, owner=self.owner)

    def reject(self, delivery_tag, requeue=False):  # type: ignore[no-untyped-def]
        if requeue:
            self.give_back(delivery_tag, leftmost=True)
        else:
            self._remove_from_indices(delivery_tag).execute()
        virtual.QoS.ack(self, delivery_tag)

    def restore_unacked(self, client=None):  # type: ignore[no-untyped-def]
        with self.channel.conn_or_acquire(client) as client:
            for tag in self._delivered:
                self.give_back(tag, client)
        self._delivered.clear()

    def refresh_lease(self, client) -> None:  # type: ignore[no-untyped-def]
        """Say this process is alive for ``LEASE_SECONDS`` more."""
        owner = self.owner
        lapsed = client.set(self.owner_keys.lease + owner, 1, ex=LEASE_SECONDS, get=True) is None
        if lapsed and owner in _LEASED:
            log.warning("this worker's lease had expired (paused, or cut off from Redis, for over %d s): "
                        "other workers were given the messages it held; the ones it still runs may be "
                        "processed twice", LEASE_SECONDS)
        _LEASED.add(owner)

    def restore_orphans(self, client) -> int:  # type: ignore[no-untyped-def]
        """Give back what workers whose lease expired still own (at most ``ORPHANS_PER_SWEEP``)."""
        keys = self.owner_keys
        found = client.eval(_ORPHANS, 1, keys.owners, keys.lease, keys.owned, ORPHANS_PER_SWEEP)
        pairs = [(bytes_to_str(found[i]), bytes_to_str(found[i + 1])) for i in range(0, len(found), 2)]
        for owner, tag in pairs:
            self.restore_by_tag(tag, client, owner=owner)
        if pairs:
            log.warning("gave back %d message(s) held by %d worker(s) no longer alive (lease expired): %s",
                        len(pairs), len({owner for owner, _ in pairs}), ", ".join(sorted({o for o, _ in pairs})))
        return len(pairs)

    def restore_visible(self, start=0, num=10, interval=10):  # type: ignore[no-untyped-def]
        with self.channel.conn_or_acquire() as client:
            self.refresh_lease(client)
        super().restore_visible(start, num, interval)
        with self.channel.conn_or_acquire() as client:
            self.restore_orphans(client)
        for queue in self.channel.active_queues:
            key = taking_key(queue)
            with self.channel.conn_or_acquire() as client:
                moved = client.eval(_SWEEP, 3, key, queue, f"{key}:seen", STRANDED_AFTER)
            if moved:
                log.warning("gave back %d message(s) of %s taken by a worker that lost its connection "
                            "before recording them", moved, queue)


class Channel(kombu_redis.Channel):
    QoS = QoS
    _taking_from: str | None = None
    # The sweep's lock (one worker restores at a time) expires after this many seconds, not
    # kombu's 300: a worker killed while holding it held back every unacknowledged message of
    # the dead for 5 minutes. A sweep takes milliseconds, and two overlapping ones are harmless
    # (each message is restored in a transaction watching the ``unacked`` hash: once).
    unacked_mutex_expire = 5

    def _restore(self, message, leftmost=False):  # type: ignore[no-untyped-def]
        """Given back (``basic_recover``) as anywhere else: its ownership dropped too."""
        self.qos.give_back(message.delivery_tag, leftmost=leftmost)

    def _brpop_start(self, timeout=None):  # type: ignore[no-untyped-def]
        queues = list(self.active_queues)
        if len(queues) != 1 or list(self.priority_steps) != [0] or self.global_keyprefix:
            self._taking_from = None
            return super()._brpop_start(timeout)
        if timeout is None:
            timeout = self.brpop_timeout
        queue = queues[0]
        self._taking_from = queue
        self._in_poll = self.client.connection
        self._brpop_sent_at = kombu_redis.monotonic()
        self.client.connection.send_command("BLMOVE", queue, taking_key(queue), "RIGHT", "LEFT", timeout or 0)

    def _brpop_read(self, **options):  # type: ignore[no-untyped-def]
        queue = self._taking_from
        if queue is None:
            return super()._brpop_read(**options)
        try:
            try:
                item = self.client.parse_response(self.client.connection, "BLMOVE", **options)
            except self.connection_errors:
                self.client.connection.disconnect()  # the next round reconnects
                raise
            if not item:
                raise kombu_redis.Empty()
            self.connection._deliver(loads(bytes_to_str(item)), queue)  # records it in `unacked`
            with self.conn_or_acquire() as client:
                client.lrem(taking_key(queue), 1, item)
            return True
        finally:
            self._in_poll = None
            getattr(self, "_flush_brpop_reauth", lambda: None)()


class PersistenceError(redis.exceptions.ResponseError):
    """Redis cannot write its append-only file or snapshot (its disk is full) and refuses every
    write ("MISCONF Errors writing to the AOF file: No space left on device") until it can:
    like ``OutOfMemoryError``, Redis away for a while, not a broken worker."""


# redis-py gives MISCONF no class of its own (a plain ResponseError, which no one may retry):
# named, it can be.
BaseParser.EXCEPTION_CLASSES.setdefault("MISCONF", PersistenceError)


class Transport(kombu_redis.Transport):
    """Redis at ``maxmemory`` refuses writes ("OOM command not allowed when used memory >
    'maxmemory'") until memory is freed: to the consumer that is Redis away, not a broken
    worker. Counted among the connection errors, it makes the worker reconnect with back-off
    (what it took waits in the taking list for the sweep) instead of dying of an
    "Unrecoverable error" at start-up (the sweep's lock), on taking a message or on recording it.
    So is Redis whose disk is full (``PersistenceError``): a worker that died of it stayed stuck
    in its shutdown, and files queued once space was freed waited for ever."""

    Channel = Channel
    connection_errors = (*kombu_redis.Transport.connection_errors, redis.exceptions.OutOfMemoryError,
                         PersistenceError)
