"""`ingest`: run the service, or parts of it, or process files once.

Every option is also a setting (env var `INGEST_...`); an option given on the command line
is written to the environment first, so child processes (the worker) see the same settings.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from .settings import Settings, SettingsError, folder_problems, get_settings, unknown_variables

log = logging.getLogger("ingest")
_warned: set[str] = set()


def _settings(*, inbox_needed: bool = False, records_needed: bool = False, **overrides: Any) -> Settings:
    """Apply command-line overrides to the environment, then read the settings: invalid ones,
    or a folder the command needs that cannot work, stop it with one line per setting at fault."""
    for name, value in overrides.items():
        if value is not None:
            os.environ[f"INGEST_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    get_settings.cache_clear()
    try:
        settings = get_settings()
    except SettingsError as exc:
        raise click.ClickException(f"invalid settings:\n{exc}") from None
    from .service.logs import setup_logging

    setup_logging(settings.log_level, settings.log_json)
    for line in unknown_variables():
        if line not in _warned:
            _warned.add(line)
            log.warning("%s", line)
    problems = folder_problems(settings, inbox=inbox_needed, records=records_needed)
    if problems:
        raise click.ClickException("\n".join(problems))
    return settings


def _existing_redis(settings: Settings) -> str | None:
    from .service.embedded import running_embedded_url

    return settings.redis_url or running_embedded_url(settings.state_dir)


def _require_redis(settings: Settings) -> str:
    """The Redis of the running service, or a clear error: the one no-Redis check."""
    url = _existing_redis(settings)
    if url is None:
        raise click.ClickException("no Redis is running: set INGEST_REDIS_URL, or start `ingest run`")
    return url


ID_PREFIX = 6  # fewest characters of an id that commands taking one accept


def _one_id(given: str, starting: Callable[[str], Iterable[str]], what: str) -> str:
    """The one id that is ``given`` or starts with it, ``starting(prefix)`` listing the known ids
    that start with a prefix (of lowercase hex: nothing else can start an id); an error naming
    ``given`` when none does or several do. The one rule of every command that takes an id."""
    if not re.fullmatch(r"[0-9a-f]+", given):
        raise click.ClickException(f"{given!r} is not an id or a prefix of one (ids are lowercase hex)")
    found = sorted(set(starting(given)))
    if given in found:
        return given
    if len(given) < ID_PREFIX and found:
        raise click.ClickException(f"{given!r} is too short to name one {what}: give at least {ID_PREFIX} characters")
    if len(found) == 1:
        return found[0]
    if not found:
        raise click.ClickException(f"no {what} id starts with {given!r}")
    shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
    raise click.ClickException(f"{given!r} is ambiguous: {len(found)} {what} ids start with it ({shown}); "
                               "give more characters")


def _existing_postgres(settings: Settings) -> str | None:
    from .store.embedded import running_embedded_url

    return settings.postgres_url or running_embedded_url(settings.state_dir)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: Any) -> None:
        log.info("stopping (%s)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


class _Group(click.Group):
    """Lists each command with its whole first sentence: click's own listing cuts it short at
    about 45 characters ("Load an existing records folder (and its _failed/) into the...")."""

    group_class = type  # subgroups (`ingest failed`) list theirs the same way

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, command.get_short_help_str(limit=200)) for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_Group)
@click.version_option(package_name="article-ingest")
def main() -> None:
    """Ingest news article files: watched folder -> Redis/Celery workers -> JSON records."""


@main.command()
@click.option("--inbox", type=click.Path(path_type=Path), help="Folder to watch [INGEST_INBOX].")
@click.option("--records", "records_dir", type=click.Path(path_type=Path), help="Records folder [INGEST_RECORDS_DIR].")
@click.option("--polling/--no-polling", default=None, help="Polling observer [INGEST_POLLING].")
@click.option("--concurrency", type=int, help="Worker processes [INGEST_CONCURRENCY].")
def run(inbox: Path | None, records_dir: Path | None, polling: bool | None, concurrency: int | None) -> None:
    """Run everything: Redis and PostgreSQL (embedded unless their URLs are set), a worker, the watcher."""
    settings = _settings(inbox=inbox, records_dir=records_dir, polling=polling, concurrency=concurrency,
                         inbox_needed=True, records_needed=True)
    from .service.embedded import EmbeddedRedis, die_with_parent, hold

    try:  # one `ingest run` per state folder and one watcher per inbox: a second one says so and stops
        hold(settings.state_dir.resolve(), "state")
        settings.inbox.mkdir(parents=True, exist_ok=True)
        hold(settings.inbox.resolve(), "inbox")
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    server = None
    postgres = None
    try:  # a server that cannot start: one line saying why, not a traceback
        url = _existing_redis(settings)
        if url is None:
            server = EmbeddedRedis(settings.state_dir)
            url = server.start()
        os.environ["INGEST_REDIS_URL"] = url
        if "postgres" in settings.sink_names:
            from .store.embedded import EmbeddedPostgres

            store_url = _existing_postgres(settings)
            if store_url is None:
                postgres = EmbeddedPostgres(settings.state_dir)
                store_url = postgres.start()
            os.environ["INGEST_POSTGRES_URL"] = store_url
    except RuntimeError as exc:
        if server is not None:
            server.stop()
        raise click.ClickException(str(exc)) from None
    stop = threading.Event()
    _stop_on_signals(stop)

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "worker"],
            preexec_fn=die_with_parent,
            start_new_session=True,  # we, not the terminal, decide when it stops
        )

    worker = start_worker()
    web = None
    if settings.web_port and "postgres" in settings.sink_names:
        web = subprocess.Popen([sys.executable, "-m", "worker.cli", "web"], preexec_fn=die_with_parent,
                               start_new_session=True)
    watch_thread = threading.Thread(target=_watch, args=(settings, url, stop), name="watcher", daemon=True)
    watch_thread.start()
    log.info("inbox %s -> records %s (Ctrl-C stops everything)", settings.inbox.resolve(), settings.records_dir.resolve())
    redis_deaths: list[float] = []
    failure: str | None = None
    try:
        while not stop.wait(0.5):
            if server is not None and not server.alive():
                failure = _restart_redis(server, redis_deaths)
                if failure:
                    break
            if worker.poll() is not None:
                log.error("the worker exited (code %s); starting it again", worker.returncode)
                worker = start_worker()
            if web is not None and web.poll() is not None:  # reaped: no zombie left behind
                log.error("the web view exited (code %s, its reason above); the service goes on without it",
                          web.returncode)
                web = None
            if not watch_thread.is_alive():
                log.error("the watcher stopped; shutting down")
                break
    finally:
        stop.set()
        watch_thread.join(timeout=10)
        _terminate(worker, "worker", grace=WORKER_GRACE)
        if web is not None:
            _terminate(web, "web")
        if postgres is not None:
            postgres.stop()
        if server is not None:
            server.stop()
        log.info("stopped")
    if failure:
        raise click.ClickException(failure)


REDIS_RESTARTS = 3  # embedded Redis deaths tolerated within REDIS_WINDOW seconds
REDIS_WINDOW = 300.0


def _restart_redis(server: Any, deaths: list[float]) -> str | None:
    """The embedded Redis died: start it again on the same port and data (the worker and the
    watcher reconnect by themselves); None when it runs again, else why `ingest run` must stop."""
    now = time.monotonic()
    deaths[:] = [t for t in deaths if now - t < REDIS_WINDOW] + [now]
    log.error("the embedded Redis exited (code %s); restarting it on the same port and data",
              server.returncode)
    if len(deaths) > REDIS_RESTARTS:
        server.forget()
        return (f"the embedded Redis died {len(deaths)} times within {REDIS_WINDOW:.0f}s; stopping "
                f"(see {server.state_dir / 'redis.log'})")
    for attempt in range(1, REDIS_RESTARTS + 1):
        try:
            server.start()
            return None
        except RuntimeError as exc:
            log.error("restarting the embedded Redis failed (attempt %d of %d): %s", attempt, REDIS_RESTARTS, exc)
            time.sleep(attempt)
    server.forget()
    return f"the embedded Redis could not be restarted (port {server.port}, data {server.state_dir}); stopping"


WORKER_GRACE = 60.0  # seconds a stopping worker has to finish the tasks in hand


def _terminate(process: subprocess.Popen[bytes], name: str, timeout: float = 20.0, grace: float = 0.0) -> None:
    """Warm shutdown, then kill what does not go. With ``grace``, only the main process is asked
    first: a Celery worker then finishes the tasks in hand (SIGTERM to its whole group would kill
    its pool processes at once); what is still running after ``grace`` is given back."""
    if process.poll() is not None:
        return
    if grace:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            log.warning("%s did not finish its tasks within %ss; stopping them (they are given back)", name, grace)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %ss; killing it", name, timeout)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _watch(settings: Settings, url: str, stop: threading.Event) -> None:
    import redis

    from .service.celery_app import use_broker
    from .service.metrics import serve
    from .service.redis_client import connect, redact
    from .service.tasks import process_file
    from .sources.watcher import Watcher

    use_broker(url)
    delay = 0.2
    while True:  # wait for Redis as `connect` does, but heed a stop (SIGTERM, Ctrl-C) meanwhile
        try:
            client = connect(url, wait=0)
            break
        except redis.RedisError as exc:
            log.warning("Redis at %s is not reachable (%s); retrying in %.1fs", redact(url), exc, delay)
            if stop.wait(delay):
                return
            delay = min(delay * 2, 5.0)

    def send(message: dict[str, Any]) -> None:
        process_file.apply_async(args=[message], queue=settings.queue)

    watcher = Watcher(settings, client, send)
    serve(settings.metrics_port, watcher.health, settings.metrics_host)
    watcher.run(stop)


@main.command()
@click.option("--host", "web_host", help="Address to listen on [INGEST_WEB_HOST].")
@click.option("--port", "web_port", type=int, help="Port [INGEST_WEB_PORT].")
def web(web_host: str | None, web_port: int | None) -> None:
    """The web view: live counters, records, duplicates, entities, failures (needs Redis and PostgreSQL)."""
    settings = _settings(web_host=web_host, web_port=web_port)
    from .web.app import create_app, is_loopback

    url = _existing_redis(settings)
    store_url = _existing_postgres(settings)
    if url is None or store_url is None:
        raise click.ClickException("no Redis or PostgreSQL: set INGEST_REDIS_URL and INGEST_POSTGRES_URL "
                                   "(or start `ingest run`)")
    if not is_loopback(settings.web_host) and not settings.web_token:
        raise click.ClickException(f"{settings.web_host} is beyond loopback: set INGEST_WEB_TOKEN")
    import socket

    import uvicorn

    # Bound here, not by uvicorn: a port in use is then one line naming the setting, not
    # uvicorn's log and exit code 3.
    try:
        family = socket.getaddrinfo(settings.web_host, settings.web_port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((settings.web_host, settings.web_port), family=family)
    except OSError as exc:
        raise click.ClickException(
            f"the web view cannot listen on {settings.web_host}:{settings.web_port}: {exc.strerror or exc}; "
            "set INGEST_WEB_PORT (or --port) to a free port, or stop what uses it") from None
    app = create_app(url, store_url, queue=settings.queue, token=settings.web_token, scan=settings.search_scan)
    log.info("web view on http://%s:%s/", settings.web_host, settings.web_port)
    config = uvicorn.Config(app, host=settings.web_host, port=settings.web_port, log_level=settings.log_level.lower(),
                            access_log=False, timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])


@main.command()
@click.option("--concurrency", type=int, help="Worker processes [INGEST_CONCURRENCY].")
@click.option("--events/--no-events", default=False, help="Send task events (for Flower).")
def worker(concurrency: int | None, events: bool) -> None:
    """Run a Celery worker (needs INGEST_REDIS_URL, or a running `ingest run`)."""
    settings = _settings(concurrency=concurrency, records_needed=True)
    url = _require_redis(settings)
    if "postgres" in settings.sink_names and not settings.postgres_url:
        postgres_url = _existing_postgres(settings)
        if postgres_url is None:
            raise click.ClickException("no PostgreSQL: set INGEST_POSTGRES_URL (or start `ingest run`)")
        settings = _settings(postgres_url=postgres_url)
    if settings.worker_metrics_port:
        _multiprocess_metrics_dir(settings)
    from .service.celery_app import app, use_broker
    from .service.metrics import fault_field, serve
    from .service.redis_client import FAULTS, connect, probe

    client = probe(connect(url, wait=float("inf")))  # waits for Redis to start; /healthz then probes it
    use_broker(url)

    def health() -> dict[str, object]:
        """Not ok while Redis is away or the pool processes cannot write records (disk full)."""
        fault = client.hget(FAULTS, fault_field(os.getpid()))
        if fault is not None:
            return {"ok": False, "role": "worker", "reason": fault.decode()}
        return _worker_health(client, settings)

    serve(settings.worker_metrics_port, health, settings.metrics_host, "INGEST_WORKER_METRICS_PORT")
    argv = [
        "worker", "--loglevel", settings.log_level, "--concurrency", str(settings.concurrency),
        "--queues", settings.queue, "-O", "fair", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "--hostname", f"ingest-{os.getpid()}@%h",
    ]
    if events:
        argv.append("--task-events")
    try:
        app.worker_main(argv)
    finally:  # a worker that stops while its writes fail must not leave `ingest status` its fault
        with contextlib.suppress(Exception):
            client.hdel(FAULTS, fault_field(os.getpid()))


def _worker_health(client: Any, settings: Settings) -> dict[str, object]:
    """/healthz of a worker: Redis answers, and so does every sink that needs a server."""
    health: dict[str, object] = {"ok": bool(client.ping()), "role": "worker"}
    if "postgres" in settings.sink_names:
        from .sinks.postgres import health as postgres_health

        store = postgres_health(settings.postgres_url)
        health.update(ok=bool(health["ok"] and store["ok"]), postgres=store["postgres"])
    return health


def _multiprocess_metrics_dir(settings: Settings) -> None:
    """Pool processes write metrics to files the worker aggregates; set up before the import."""
    import atexit
    import shutil

    folder = (settings.state_dir / f"metrics-worker-{os.getpid()}").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    atexit.register(shutil.rmtree, folder, True)


@main.command()
@click.option("--inbox", type=click.Path(path_type=Path), help="Folder to watch [INGEST_INBOX].")
@click.option("--polling/--no-polling", default=None, help="Polling observer [INGEST_POLLING].")
def watch(inbox: Path | None, polling: bool | None) -> None:
    """Run the watcher alone (workers run elsewhere against the same Redis)."""
    settings = _settings(inbox=inbox, polling=polling, inbox_needed=True)
    url = _require_redis(settings)
    from .service.embedded import hold

    try:
        settings.inbox.mkdir(parents=True, exist_ok=True)
        hold(settings.inbox.resolve(), "inbox")
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    stop = threading.Event()
    _stop_on_signals(stop)
    _watch(settings, url, stop)


@main.command()
@click.option("--out", "records_dir", type=click.Path(path_type=Path), help="Records folder [INGEST_RECORDS_DIR].")
@click.option("--concurrency", type=int, help="Processes to use [INGEST_CONCURRENCY].")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def process(records_dir: Path | None, concurrency: int | None, paths: tuple[Path, ...]) -> None:
    """Process files or folders once (a backfill), with the same pipeline and dedup index.

    Exits 1 if any input became a failure record (listed in the records folder's _failed/).
    """
    settings = _settings(records_dir=records_dir, concurrency=concurrency, records_needed=True)
    from rich.progress import Progress

    from .service import backfill
    from .service.embedded import redis_for
    from .sources.watcher import is_ignored
    from .store.embedded import postgres_for

    files = [f for f in _walk(paths) if not is_ignored(Path(f.name))]
    with redis_for(settings.redis_url, settings.state_dir) as url, \
            postgres_for(settings.postgres_url, settings.state_dir, "postgres" in settings.sink_names) as store:
        settings = _settings(postgres_url=store)
        with Progress(disable=not sys.stderr.isatty(), transient=True) as progress:
            task = progress.add_task("processing", total=len(files))
            totals = backfill.run(files, url, settings, on_file=lambda: progress.advance(task))
    sliced = f" in {totals['slices']} slice(s) of up to {settings.fanout_articles} articles" if totals["slices"] else ""
    click.echo(
        f"{len(files)} file(s){sliced}: {totals['records']} record(s) ({totals['duplicates']} duplicate(s)), "
        f"{totals['skipped']} duplicate(s) skipped, {totals['failed']} failure(s) -> {settings.records_dir}"
    )
    sys.exit(1 if totals["failed"] else 0)


def _walk(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                files += [Path(dirpath) / name for name in sorted(filenames)]
        else:
            files.append(path)
    return files


@main.command()
def status() -> None:
    """Queue depth and the oldest message's age, counters, dead letters, failure records and
    files left in the inbox of the running service (age, not depth, tells a stuck service from
    a busy one)."""
    settings = _settings()
    url = _require_redis(settings)
    import orjson
    import redis

    from .service.broker import Held, QueueState
    from .service.redis_client import DEAD, FAULTS, IGNORED, STATS, connect, probe, redact

    client = probe(connect(url))  # one attempt: a dead Redis is reported at once
    try:
        client.ping()
    except redis.RedisError as exc:
        raise click.ClickException(f"Redis at {redact(url)} is unavailable: {exc}") from None
    stats = {k.decode(): int(v) for k, v in client.hgetall(STATS).items()}
    queue = QueueState.read(client, settings.queue)
    click.echo(f"redis       {redact(url)}")
    click.echo(f"queue       {queue.depth} message(s) in '{settings.queue}': {queue.waiting} waiting, "
               f"{queue.taking} in the taking list (taken, not yet recorded by a worker)")
    click.echo(f"oldest      {queue.oldest()}")
    click.echo(f"held        {Held.read(client).describe()}")
    for key in ("queued", "records", "duplicates", "skipped", "failed"):
        click.echo(f"{key:<11} {stats.get(key, 0)}")
    kinds = Counter(orjson.loads(raw)["error"]["type"] for _, raw in client.hscan_iter(DEAD, count=1000))
    by_kind = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    click.echo(f"dead        {sum(kinds.values())} dead letter(s) (`ingest failed list`)" + (f": {by_kind}" if by_kind else ""))
    failed_dir = settings.failed_dir
    if failed_dir.is_dir():
        with os.scandir(failed_dir) as entries:
            files = sum(1 for entry in entries if entry.name.endswith(".json"))
        click.echo(f"failures    {files} failure record(s) in {failed_dir}")
    else:
        click.echo(f"failures    no folder {failed_dir} here")
    faults = sorted(client.hgetall(FAULTS).items())
    for worker_name, reason in faults:  # set while a worker's writes fail, cleared once one works
        click.echo(f"fault       worker {worker_name.decode()}: {reason.decode()} (its files wait and are "
                   "retried until this heals)")
    if not faults:
        click.echo("faults      none: every worker writes its outcomes")
    ignored = sorted(client.hgetall(IGNORED).items())
    click.echo(f"ignored     {len(ignored)} file(s) left in the inbox (names never taken)")
    for path, entry in ignored[:20]:
        click.echo(f"  {path.decode(errors='replace')}  ({orjson.loads(entry)['reason']})")
    if len(ignored) > 20:
        click.echo(f"  ... and {len(ignored) - 20} more")


@main.command()
@click.argument("story_id")
@click.option("--records", "records_dir", type=click.Path(path_type=Path), help="Records folder [INGEST_RECORDS_DIR].")
def story(story_id: str, records_dir: Path | None) -> None:
    """The articles of a story (its id, or any of its records' ids, or a unique prefix of one),
    in the order they joined.

    A live story's members come from Redis; one older than the story window, or with Redis not
    running, from the records folder."""
    import orjson

    settings = _settings(records_dir=records_dir)
    index = None
    url = _existing_redis(settings)
    if url is not None:
        from .pipeline.stories import StoryIndex
        from .service.redis_client import connect

        index = StoryIndex.from_settings(connect(url, wait=5), settings)

    def record(rid: str) -> dict | None:
        path = settings.records_dir / f"{rid}.json"
        return orjson.loads(path.read_bytes()) if rid.isalnum() and path.is_file() else None

    def starting(prefix: str) -> list[str]:
        """Record ids starting with ``prefix``: record files, and records of live stories."""
        ids: list[str] = []
        if settings.records_dir.is_dir():
            with os.scandir(settings.records_dir) as entries:
                ids += [e.name[:-5] for e in entries if e.name.startswith(prefix) and e.name.endswith(".json")]
        if index is not None:
            keys = index.redis.scan_iter(match=f"{index.prefix}:r:{prefix}*", count=1000)
            ids += [key.decode().rsplit(":", 1)[1] for key in keys]
        return ids

    named = record(story_id)
    members = index.members(story_id) if index is not None else []
    if named is None and not members:
        story_id = _one_id(story_id, starting, "record or story")
        named = record(story_id)
    if named and named.get("story"):
        story_id = named["story"]["id"]
        members = index.members(story_id) if index is not None else []
    found = {rid: record(rid) for rid in members}
    if not members and settings.records_dir.is_dir():  # not live: the records folder keeps it
        for path in settings.records_dir.glob("*.json"):
            data = orjson.loads(path.read_bytes())
            if (data.get("story") or {}).get("id") == story_id:
                found[data["id"]] = data
    if not found:
        raise click.ClickException(f"no story {story_id} in Redis or in {settings.records_dir}")
    rows = sorted(found.items(), key=lambda kv: (kv[1] or {}).get("story", {}).get("size", 0))
    click.echo(f"story {story_id}: {len(rows)} article(s)")
    for rid, data in rows:
        if data is None:
            click.echo(f"{'?':>4}  {rid}  (no record file in {settings.records_dir})")
            continue
        info = data.get("story") or {}
        published = data.get("published_at") or "-"
        click.echo(f"{info.get('size', '?'):>4}  {rid}  {published}  {data.get('site') or '-'}  "
                   f"similarity {info.get('similarity', 0):.3f}  {data.get('title') or ''}")


@main.group()
def failed() -> None:
    """Dead letters: inputs that became failure records."""


@failed.command("list")
@click.option("--limit", default=50, show_default=True, help="Most dead letters to list, newest first.")
def failed_list(limit: int) -> None:
    """The newest dead letters: id, file, reason."""
    import orjson

    from .service.redis_client import DEAD, connect

    settings = _settings()
    url = _require_redis(settings)
    client = connect(url, wait=5)
    entries = sorted((orjson.loads(raw) for raw in client.hvals(DEAD)), key=lambda e: e["failed_at"], reverse=True)
    for entry in entries[:limit]:
        click.echo(f"{entry['id']}  {entry['source']['path']}  {entry['error']['type']}: {entry['error']['message']}")


@failed.command("retry")
@click.argument("ids", nargs=-1)
def failed_retry(ids: tuple[str, ...]) -> None:
    """Queue dead letters again (all, or the given ids or unique prefixes), e.g. after a fix."""
    from .service.celery_app import use_broker
    from .service.deadletters import requeue
    from .service.redis_client import DEAD, connect
    from .service.tasks import process_file

    settings = _settings()
    url = _require_redis(settings)
    use_broker(url)
    client = connect(url, wait=5)
    if ids:
        known = [key.decode() for key in client.hkeys(DEAD)]
        ids = tuple(_one_id(given, lambda prefix: [k for k in known if k.startswith(prefix)], "dead letter")
                    for given in ids)
    done = requeue(client, ids, lambda message: process_file.apply_async(args=[message], queue=settings.queue))
    for failure_id in done.expired:
        click.echo(f"{failure_id}: its message has expired; drop the file in the inbox again", err=True)
    shared = f" in {done.messages} message(s)" if done.messages < done.letters else ""
    click.echo(f"{done.letters} dead letter(s) queued again{shared}")


# --- the store: search, show, load, stats (PostgreSQL; the embedded one unless configured) ----

def _store(create: bool = False):
    """A connection to the store, its schema migrated (starts the embedded server if need be).

    Only ``create`` (`ingest load`) makes a new embedded store: a search run from the wrong
    folder would otherwise start an empty one and answer "no records match"."""
    import contextlib

    from .store import connect, migrate
    from .store.embedded import postgres_for

    @contextlib.contextmanager
    def opened():
        settings = _settings()
        if not (create or settings.postgres_url or (settings.state_dir / "postgres.password").exists()):
            raise click.ClickException(
                f"no store here: {settings.state_dir.resolve()} holds none; run this where `ingest run` "
                "runs (or set INGEST_STATE_DIR), set INGEST_POSTGRES_URL, or fill one with `ingest load`")
        with postgres_for(settings.postgres_url, settings.state_dir) as url:
            with connect(url, wait=10) as conn:
                migrate(conn)
                yield conn

    return opened()


def _highlight(snippet: str, colour: bool) -> str:
    from .store.queries import MARK_START, MARK_STOP

    snippet = " ".join(snippet.split())
    if colour:
        return snippet.replace(MARK_START, "\x1b[1;33m").replace(MARK_STOP, "\x1b[0m")
    return snippet.replace(MARK_START, "**").replace(MARK_STOP, "**")


@main.command()
@click.argument("query")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Published (else received) on or after DATE.")
@click.option("--entity", help="Only records naming this person, organisation or place (canonical name).")
@click.option("--status", type=click.Choice(["unique", "exact_duplicate", "near_duplicate"]), help="Dedup status.")
@click.option("--limit", default=20, show_default=True, help="Most hits to print.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit.")
def search(query: str, since: Any, entity: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Full-text search of the stored records, best first, with highlighted snippets.

    QUERY is a web-style search: words (all must match), "a phrase", -excluded, a or b.
    """
    import orjson

    from .store.queries import search as run_search

    with _store() as conn:
        hits = run_search(conn, query, since=since.date() if since else None, entity=entity, status=status, limit=limit,
                          scan=get_settings().search_scan)
    colour = sys.stdout.isatty()
    for number, hit in enumerate(hits, 1):
        if as_json:
            click.echo(orjson.dumps({**hit.__dict__, "snippet": _highlight(hit.snippet, False)}).decode())
            continue
        day = hit.published_at.date().isoformat() if hit.published_at else "----------"
        flag = "" if hit.dedup_status == "unique" else f"  [{hit.dedup_status}]"
        click.echo(f"{number:>3}. {hit.id}  {day}  {hit.site or ''}  {hit.title or '(no title)'}{flag}")
        click.echo(f"     {_highlight(hit.snippet, colour)}")
    if not hits and not as_json:
        click.echo("no records match", err=True)


@main.command()
@click.argument("record_id")
def show(record_id: str) -> None:
    """Print one stored record (or failure record) as JSON, by id or a unique prefix of it
    (at least 6 characters)."""
    import orjson

    from .store.queries import ids_starting
    from .store.queries import show as find

    with _store() as conn:
        record = find(conn, _one_id(record_id, lambda prefix: ids_starting(conn, prefix), "record"))
    if record is None:
        raise click.ClickException(f"no record {record_id!r} in the store")
    click.echo(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())


@main.command()
@click.argument("records_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--batch", default=500, show_default=True, help="Outcomes per transaction.")
def load(records_dir: Path, batch: int) -> None:
    """Load an existing records folder (and its _failed/) into the store; loading again adds nothing."""
    from rich.progress import Progress

    from .store.load import load as load_files
    from .store.load import outcome_files

    paths = outcome_files(records_dir)
    with _store(create=True) as conn, Progress(disable=not sys.stderr.isatty(), transient=True) as progress:
        task = progress.add_task("loading", total=len(paths))
        totals = load_files(conn, paths, batch=batch, on_batch=lambda n: progress.advance(task, n))
    click.echo(f"{len(paths)} file(s): {totals['new']} new, {totals['present']} already stored, "
               f"{totals['unreadable']} unreadable")
    sys.exit(1 if totals["unreadable"] else 0)


@main.command()
@click.option("--days", default=14, show_default=True, help="Days of the articles-per-day table.")
@click.option("--top", default=10, show_default=True, help="Entities in the top list.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the tables.")
def stats(days: int, top: int, as_json: bool) -> None:
    """Articles per day, the most named entities, the duplicate rate."""
    import orjson

    from .store.queries import stats as numbers

    with _store() as conn:
        result = numbers(conn, days=days, top=top)
    if as_json:
        click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"records     {result['records']} ({result['duplicates']} duplicate(s), "
               f"rate {result['duplicate_rate']:.1%}); failures {result['failures']}")
    click.echo("\narticles per day (published, else received)")
    for row in result["per_day"]:
        click.echo(f"  {row['day']}  {row['articles']:>6}  {'#' * min(row['articles'], 60)}")
    click.echo("\nmost named (records, mentions; originals only)")
    for row in result["top_entities"]:
        click.echo(f"  {row['records']:>6} {row['mentions']:>7}  {row['name']} ({row['kind']})")


@main.command("delete-store")
@click.option("--yes", is_flag=True, help="Delete without asking first.")
def delete_store(yes: bool) -> None:
    """Delete this folder's embedded store for good (its data, kept outside ./.ingest as root).

    `make clean` keeps it on purpose: as root the data lives under /var/lib/ingest-postgres and
    comes back with the next `ingest run` here. Refuses while its server runs."""
    from .store.embedded import remove_store, store_folders

    state_dir = _settings().state_dir.resolve()
    try:
        folders = store_folders(state_dir)
        if not folders:
            click.echo(f"no store for {state_dir}: nothing deleted")
            return
        click.echo("\n".join(f"  {folder}" for folder in folders))
        if not yes:
            click.confirm(f"Delete the store of {state_dir} and every record in it for good?", abort=True)
        removed = remove_store(state_dir)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"deleted {', '.join(map(str, removed))}")


if __name__ == "__main__":
    main()
