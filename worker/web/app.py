"""The web view: an ASGI app (Starlette) over the store (PostgreSQL) and Redis.

Read-only except "retry" (POST, CSRF-protected with a double-submit token). Templates are
Jinja2 with autoescaping on, so every article field renders as text. Counters move live by
server-sent events: the ``/events`` stream reads ``ingest:events`` and the counters hash.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import orjson
import redis
import redis.asyncio as aioredis
from jinja2 import Environment, FileSystemLoader
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ..service.broker import QueueState
from ..service.deadletters import requeue
from ..service.redis_client import DEAD, DEAD_MESSAGE, STATS
from ..sinks.stream import STREAM
from . import charts, queries
from .highlight import highlight

HERE = Path(__file__).parent
CSRF_COOKIE = "ingest_csrf"
TOKEN_COOKIE = "ingest_token"
COUNTERS = ("queued", "records", "duplicates", "failed")
STATUSES = ("unique", "exact_duplicate", "near_duplicate", "duplicate")
TOPS_TTL = 60.0  # seconds the entities page's top lists are reused
PERIODS = {"7": 7, "30": 30, "365": 365, "all": None}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TokenGate:
    """Beyond loopback every request needs the token: ``?token=`` once (then a cookie) or a Bearer header."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.query_params.get("token")
        offered = [given, request.cookies.get(TOKEN_COOKIE)]
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            offered.append(auth[7:])
        if not any(o and hmac.compare_digest(o.encode(), self.token) for o in offered):
            await PlainTextResponse("a token is required (?token=...)", status_code=401)(scope, receive, send)
            return
        if given:  # keep it in a cookie and drop it from the address bar
            response = RedirectResponse(request.url.remove_query_params("token"), status_code=303)
            response.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Web:
    """The pages; one instance per process, holding the connection pool and the Redis clients."""

    def __init__(self, redis_url: str, postgres_url: str, *, queue: str = "ingest", scan: int = queries.SCAN) -> None:
        self.redis_url = redis_url
        self.scan = scan
        self.queue = queue
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5)
        # JIT off: compiling a plan costs tens of ms, more than any of these short queries runs.
        self.pool = ConnectionPool(postgres_url, min_size=1, max_size=4, open=False,
                                   kwargs={"autocommit": True, "application_name": "ingest-web",
                                           "options": "-c jit=off"})
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                               trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(url_with=_url_with)
        self.stopping = threading.Event()
        self.workers_up: int | None = None
        self.tops: dict[int | None, tuple[dict[str, list[dict[str, Any]]], float]] = {}
        self.env.filters.update(label=_label, meta=_meta, day=_day, when=_when, status_label=_status_label, percent=_percent)

    def open(self) -> None:
        from ..store import migrate

        self.pool.open(wait=True, timeout=30)
        with self.pool.connection() as conn:
            migrate(conn)
        threading.Thread(target=self._ping_workers, name="workers-ping", daemon=True).start()

    def close(self) -> None:
        self.stopping.set()
        self.pool.close()
        self.redis.close()

    def _ping_workers(self) -> None:
        """Count the workers answering a ping, every few seconds, off the request path."""
        from ..service.celery_app import app, use_broker

        use_broker(self.redis_url)
        while not self.stopping.is_set():
            try:
                self.workers_up = len(app.control.ping(timeout=1.0) or [])
            except Exception:
                self.workers_up = None
            self.stopping.wait(5.0)

    def top_entities(self, days: int | None) -> tuple[dict[str, list[dict[str, Any]]], float]:
        """The top lists of a period, counted at most once a minute (a scan of the period's mentions)."""
        now = time.time()
        cached = self.tops.get(days)
        if cached is None or now - cached[1] > TOPS_TTL:
            with self.pool.connection() as conn:
                cached = (queries.top_entities(conn, days=days), now)
            self.tops[days] = cached
        return cached

    # --- helpers ----------------------------------------------------------------------------

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        html = self.env.get_template(template).render(request=request, csrf=csrf, path=request.url.path, **context)
        response = HTMLResponse(html, status_code=status_code)
        if request.cookies.get(CSRF_COOKIE) != csrf:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        return response

    def counters(self) -> dict[str, int | str]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(STATS)
        pipe.eval(*QueueState.script_args(self.queue))
        pipe.hlen(DEAD)
        return _counters(*pipe.execute())


    # --- pages ------------------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        def read() -> dict[str, Any]:
            with self.pool.connection() as conn:
                per_minute = queries.throughput(conn)
                latest = queries.latest(conn)
            return {"counters": self.counters(), "chart": charts.throughput(per_minute),
                    "per_minute": per_minute, "latest": latest, "workers": self.workers_up}

        return self.render(request, "overview.html", **await run_in_threadpool(read))

    async def records(self, request: Request) -> Response:
        p = request.query_params
        filters = queries.Filters(q=p.get("q", "").strip(), since=_date(p.get("since")), until=_date(p.get("until")),
                                  status=p.get("status", "") if p.get("status") in STATUSES else "",
                                  entity=p.get("entity", "").strip(), source=p.get("source", "").strip(),
                                  page=max(1, _int(p.get("page"), 1)), scan=self.scan)

        def read() -> tuple[queries.Page, list[str]]:
            with self.pool.connection() as conn:
                return queries.records(conn, filters), queries.sources(conn)

        page, sources = await run_in_threadpool(read)
        return self.render(request, "records.html", page=page, sources=sources, statuses=STATUSES,
                           query=dict(request.query_params))

    async def record(self, request: Request) -> Response:
        record_id = request.path_params["id"]

        def read() -> tuple[dict[str, Any] | None, Any, list[dict[str, Any]]]:
            with self.pool.connection() as conn:
                found = queries.record(conn, record_id)
                if found is None:
                    return None, None, []
                original = None
                if found.get("dedup", {}).get("duplicate_of"):
                    original = queries.brief(conn, found["dedup"]["duplicate_of"]) or {"id": found["dedup"]["duplicate_of"]}
                return found, original, queries.copies(conn, record_id)

        found, original, copies = await run_in_threadpool(read)
        if found is None:
            return self.render(request, "missing.html", status_code=404, what=f"record {record_id}")
        body = highlight(found.get("body", ""), found.get("entities", {}))
        pretty = orjson.dumps(found, option=orjson.OPT_INDENT_2).decode()
        return self.render(request, "record.html", r=found, body=body, original=original, copies=copies, json=pretty)

    async def duplicates(self, request: Request) -> Response:
        page = max(1, _int(request.query_params.get("page"), 1))

        def read() -> list[dict[str, Any]]:
            with self.pool.connection() as conn:
                return queries.clusters(conn, page=page)

        return self.render(request, "duplicates.html", clusters=await run_in_threadpool(read), page=page)

    async def entities(self, request: Request) -> Response:
        period = request.query_params.get("days", "30")
        days = PERIODS.get(period, 30)

        tops, counted = await run_in_threadpool(self.top_entities, days)
        return self.render(request, "entities.html", tops=tops, period=period, periods=PERIODS,
                           counted=datetime.fromtimestamp(counted, timezone.utc))

    async def entity(self, request: Request) -> Response:
        kind, name = request.path_params["kind"], request.path_params["name"]
        period = request.query_params.get("days", "30")
        days = PERIODS.get(period, 30)

        def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            with self.pool.connection() as conn:
                return queries.entity(conn, kind, name, days=days)

        per_day, articles = await run_in_threadpool(read)
        return self.render(request, "entity.html", kind=kind, name=name, per_day=per_day, articles=articles,
                           chart=charts.per_day(per_day), period=period, periods=PERIODS)

    async def failures(self, request: Request) -> Response:
        def read() -> list[dict[str, Any]]:
            entries = [orjson.loads(raw) for raw in self.redis.hvals(DEAD)]
            entries.sort(key=lambda e: e.get("failed_at", ""), reverse=True)
            pipe = self.redis.pipeline(transaction=False)
            for entry in entries:
                pipe.exists(DEAD_MESSAGE + entry["id"])
            for entry, exists in zip(entries, pipe.execute()):
                entry["retryable"] = bool(exists)
            return entries

        return self.render(request, "failures.html", entries=await run_in_threadpool(read),
                           counters=self.counters(), done=request.query_params.get("retried"))

    async def retry(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        given = (form.get("csrf") or [""])[0]
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(given.encode(), cookie.encode()):
            return PlainTextResponse("the form's CSRF token does not match: reload the page", status_code=403)
        ids = form.get("id") or []
        retried = await run_in_threadpool(self.retry_dead_letters, ids)
        return RedirectResponse("/failures?" + urlencode({"retried": retried}), status_code=303)

    def retry_dead_letters(self, ids: list[str]) -> int:
        """Queue dead letters again (all, or ``ids``), as `ingest failed retry` does."""
        from ..service.celery_app import app, use_broker

        use_broker(self.redis_url)
        return requeue(self.redis, ids,
                       lambda message: app.send_task("ingest.process_file", args=[message], queue=self.queue)).letters

    async def counters_json(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self.counters))

    async def events(self, request: Request) -> Response:
        """Server-sent events: ``counters`` whenever they change, ``outcome`` per stream entry."""

        async def stream() -> AsyncIterator[bytes]:
            client = aioredis.Redis.from_url(self.redis_url, socket_timeout=10)
            try:
                newest = await client.xrevrange(STREAM, count=1)
                last = newest[0][0] if newest else b"0-0"
                sent: dict[str, int | str] | None = None
                idle = 0
                while not await request.is_disconnected():
                    read = await client.xread({STREAM: last}, count=200, block=1000)
                    for _, entries in read or []:
                        for entry_id, fields in entries:
                            last = entry_id
                            event = {k.decode(): v.decode("utf-8", "replace") for k, v in fields.items()}
                            yield b"event: outcome\ndata: " + orjson.dumps(event) + b"\n\n"
                    counters = await self._counters_async(client)
                    if counters != sent:
                        sent = counters
                        idle = 0
                        yield b"event: counters\ndata: " + orjson.dumps(counters) + b"\n\n"
                    else:
                        idle += 1
                        if idle % 15 == 0:
                            yield b": keep-alive\n\n"
            finally:
                await client.aclose()

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def _counters_async(self, client: aioredis.Redis) -> dict[str, int | str]:
        async with client.pipeline(transaction=False) as pipe:
            pipe.hgetall(STATS)
            pipe.eval(*QueueState.script_args(self.queue))
            pipe.hlen(DEAD)
            return _counters(*await pipe.execute())


def _counters(stats: dict[bytes, bytes], queue: list[int], dead: int) -> dict[str, int | str]:
    """The live counters; depth counts what sits in the taking list too (``service/broker.py``)."""
    values = {k.decode(): int(v) for k, v in stats.items()}
    state = QueueState.from_reply(queue)
    return {**{key: values.get(key, 0) for key in COUNTERS}, "depth": state.depth, "taking": state.taking,
            "oldest": state.oldest(), "dead": dead}


class SecurityHeaders:
    """No inline script, no framing, no sniffing: escaped text stays text even if escaping slipped."""

    HEADERS = [
        (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                     b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.HEADERS
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def create_app(redis_url: str, postgres_url: str, *, queue: str = "ingest", token: str | None = None,
               scan: int = queries.SCAN) -> ASGIApp:
    web = Web(redis_url, postgres_url, queue=queue, scan=scan)

    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(web.open)
        yield
        await run_in_threadpool(web.close)

    import contextlib

    app = Starlette(
        routes=[
            Route("/", web.overview),
            Route("/records", web.records),
            Route("/records/{id}", web.record),
            Route("/duplicates", web.duplicates),
            Route("/entities", web.entities),
            Route("/entities/{kind}/{name:path}", web.entity),
            Route("/failures", web.failures),
            Route("/failures/retry", web.retry, methods=["POST"]),
            Route("/api/counters", web.counters_json),
            Route("/events", web.events),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        lifespan=contextlib.asynccontextmanager(lifespan),
    )
    wrapped: ASGIApp = SecurityHeaders(app)
    if token:
        wrapped = TokenGate(wrapped, token)
    else:  # loopback without a token: refuse other host names (a DNS-rebinding page cannot read it)
        wrapped = TrustedHostMiddleware(wrapped, allowed_hosts=["127.0.0.1", "localhost", "[::1]", "::1"])
    return wrapped


# --- template helpers -------------------------------------------------------------------------

def _url_with(query: dict[str, str], **changes: Any) -> str:
    merged = {**query, **{k: v for k, v in changes.items()}}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _label(row: dict[str, Any] | None) -> str:
    """What a link to a record says: its title, else which file it came from."""
    if not row:
        return ""
    return row.get("title") or f"(untitled) {row.get('source_name') or row.get('id', '')}"


def _meta(parts: list[Any]) -> str:
    """The non-empty parts, joined by middle dots."""
    return " · ".join(str(p) for p in parts if p not in (None, ""))


def _day(value: Any) -> str:
    value = queries.as_datetime(value)
    return value.date().isoformat() if value else ""


def _when(value: Any) -> str:
    value = queries.as_datetime(value)
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _status_label(status: str) -> str:
    return {"exact_duplicate": "exact copy", "near_duplicate": "near copy"}.get(status, status)


def _percent(value: Any) -> str:
    return f"{float(value):.0%}" if value is not None else ""

