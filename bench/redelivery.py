"""The cost of owning messages (leases, ``worker/service/broker.py``), in one run against kombu's
own Redis transport as the baseline.

    .venv/bin/python bench/redelivery.py [--messages 2000] [--held 100000]

Measures, with a real Redis server (the embedded one) and a channel of each transport:
  * taking and acknowledging a message (``basic_get`` then ``ack``): kombu's QoS against ours,
    which writes the ownership and the lease in the same transaction and drops them with the ack;
  * one sweep pass (lease refresh, kombu's visibility sweep, the dead owners' sweep, the taking
    list) with no message held, and with ``--held`` messages held by a live worker: a bounded pass
    costs the same;
  * one pass giving back ``ORPHANS_PER_SWEEP`` messages of a worker killed outright.
Wall time and CPU time (``time.process_time``) of this process (Redis's own work shows in the
wall time only), best of several; the machine's load is printed with them. Prints the table and rewrites the "redelivery" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from kombu import Connection  # noqa: E402

from bench._report import table, write_section  # noqa: E402
from worker.service.broker import LEASE_SECONDS, ORPHANS_PER_SWEEP, OwnerKeys  # noqa: E402
from worker.service.embedded import EmbeddedRedis, free_port  # noqa: E402

QUEUE = "bench"


def best(run, repeat: int = 5) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall ms, CPU ms), each the best of ``repeat``."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return min(walls), min(cpus)


def channel(url: str, transport: str):  # type: ignore[no-untyped-def]
    return Connection(url, transport=transport, transport_options={"priority_steps": [0]}).default_channel


def publish(chan, count: int) -> None:  # type: ignore[no-untyped-def]
    for number in range(count):
        chan.basic_publish(chan.prepare_message(f"message {number}"), exchange="", routing_key=QUEUE)


def take_and_ack(chan, count: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(count):
        chan.basic_get(QUEUE, no_ack=False).ack()


def hold(client: redis.Redis, owner: str, count: int) -> None:
    """``count`` messages held by a live ``owner``, as its takes record them."""
    keys = OwnerKeys.of()
    pipe = client.pipeline(transaction=False)
    for number in range(count):
        tag = f"{owner}-{number}"
        pipe.zadd("unacked_index", {tag: time.time()}).hset("unacked", tag, '[{"body": "x"}, "", "bench"]')
        pipe.hset(keys.by_tag, tag, owner).sadd(keys.owned + owner, tag)
        if number % 5000 == 4999:
            pipe.execute()
    pipe.sadd(keys.owners, owner).set(keys.lease + owner, 1, ex=3600).execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--held", type=int, default=100_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    server = EmbeddedRedis(Path(tempfile.mkdtemp()), port=free_port())
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        ours, kombus = channel(server.url, "worker.service.broker:Transport"), channel(server.url, "redis")
        rows = []
        costs = {}
        for name, chan in (("kombu (baseline)", kombus), ("owned (ours)", ours)):
            walls, cpus = [], []
            for _ in range(3):
                client.flushall()
                publish(chan, args.messages)
                wall, cpu = best(lambda chan=chan: take_and_ack(chan, args.messages), 1)
                walls.append(wall / args.messages)
                cpus.append(cpu / args.messages)
            costs[name] = (min(walls), min(cpus))
        base_cpu = costs["kombu (baseline)"][1]
        for name, (wall, cpu) in costs.items():
            rows.append([f"take + ack, per message: {name}", wall, cpu, f"{cpu / base_cpu:.2f}"])

        def sweep() -> None:
            ours.qos.restore_visible(num=None, interval=1)

        client.flushall()
        idle_wall, idle_cpu = best(sweep)
        rows.append(["sweep pass, nothing held (baseline)", idle_wall, idle_cpu, "1.00"])
        hold(client, "live-worker", args.held)
        wall, cpu = best(sweep)
        rows.append([f"sweep pass, {args.held:,} held by a live worker", wall, cpu, f"{cpu / idle_cpu:.2f}"])
        client.flushall()
        publish(ours, ORPHANS_PER_SWEEP)
        code = ("import os, signal\nfrom kombu import Connection\n"
                f"c = Connection({server.url!r}, transport='worker.service.broker:Transport').default_channel\n"
                f"while c.basic_get({QUEUE!r}, no_ack=False) is not None: pass\n"
                "os.kill(os.getpid(), signal.SIGKILL)\n")
        os.spawnv(os.P_WAIT, sys.executable, [sys.executable, "-c", code])
        hold(client, "live-worker", args.held)
        deadline = time.monotonic() + LEASE_SECONDS + 5
        while len(client.keys(OwnerKeys.of().lease + "*")) > 1 and time.monotonic() < deadline:
            time.sleep(0.2)  # the dead one's lease runs out
        wall, cpu = best(lambda: ours.qos.restore_orphans(client), 1)
        assert client.llen(QUEUE) == ORPHANS_PER_SWEEP
        rows.append([f"sweep giving back {ORPHANS_PER_SWEEP} messages of a dead worker", wall, cpu,
                     f"{cpu / idle_cpu:.0f}"])
    finally:
        server.stop()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    body = (table(["measure", "wall ms", "CPU ms", "CPU ratio to baseline"], rows)
            + f"\n\nLoad average during the run: {load} (2 cores shared with other runs). A worker sweeps "
            "every 5 s; a dead owner's messages come back within its 15 s lease and a sweep.\n")
    print(body)
    if not args.no_write:
        write_section("redelivery", "Redelivery: owning messages (leases)", body, "python bench/redelivery.py")


if __name__ == "__main__":
    main()
