"""The dashboard: the page at /, the live stream of alerts it reads
(/api/events), and the marks it sets: a rule muted, an alert acknowledged,
each for a while (``monitor.core.marks``, kept in the store so every worker
honours them).

The page is static (``static/``: HTML, CSS and plain JavaScript, no build
step) and holds no data: it asks the API with the token the user gives it.
Its Content-Security-Policy allows only its own scripts and styles, and it
puts feed text in the page as text, never as HTML.

The stream sends each alert as it is recorded, as server-sent events read with
fetch() (EventSource cannot send the token). A worker's own alerts wake its
streams at once; alerts recorded by other workers (distributed mode) are
found by looking in the store for ids above the last one sent, every
``POLL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from monitor.core.activity import AlertRecord
from monitor.core.marks import LONGEST_MARK, Ack, Mute
from monitor.core.schedule import parse_duration
from monitor.web.api import _alert as alert_out  # one shape for an alert, listed or live
from monitor.web.models import AlertOut
from monitor.web.routes import ApiError, ApiRoute, Call
from monitor.web.server import CONTEXT, WebContext

log = logging.getLogger("newsmon.web")

STATIC = Path(__file__).parent / "static"
POLL_SECONDS = 2.0  # how often a stream looks for other workers' alerts
KEEPALIVE_SECONDS = 15.0  # a comment line, so proxies keep an idle stream open
BATCH = 100

# The page loads only what it serves itself; feed text is never markup.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


# --- the API's models -------------------------------------------------------


class EventsQuery(BaseModel):
    after: int | None = Field(
        default=None,
        ge=0,
        description="send the alerts with ids above this first (default: only new ones)",
    )


class Span(BaseModel):
    duration: str = Field(
        default="1h",
        description="how long: 30m, 1h, 8h, 1d (at most 30d)",
        examples=["1h", "8h", "1d"],
    )

    @field_validator("duration")
    @classmethod
    def _valid(cls, value: str) -> str:
        seconds = parse_duration(value)
        if seconds > LONGEST_MARK.total_seconds():
            raise ValueError("at most 30d")
        return value

    @property
    def span(self) -> timedelta:
        return timedelta(seconds=parse_duration(self.duration))


class MuteOut(BaseModel):
    rule: str
    until: datetime
    muted_at: datetime


class AckOut(BaseModel):
    alert_id: int
    until: datetime
    acked_at: datetime


def _mute(mute: Mute) -> MuteOut:
    return MuteOut(rule=mute.rule, until=mute.until, muted_at=mute.muted_at)


def _ack(ack: Ack) -> AckOut:
    return AckOut(alert_id=ack.alert_id, until=ack.until, acked_at=ack.acked_at)


# --- the page ---------------------------------------------------------------


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


async def static(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in _ASSETS:  # only the files shipped, never a path
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name, headers=PAGE_HEADERS)


_ASSETS = frozenset(p.name for p in STATIC.iterdir() if p.suffix in {".css", ".js", ".svg"})


# --- the event stream -------------------------------------------------------


class Streams:
    """The open event streams' shared wake-up: called, it wakes every waiting
    stream at once (a fresh event for each round); closed, they all end."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.closing = False

    def __call__(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    @property
    def current(self) -> asyncio.Event:
        return self._event

    async def close(self, app: web.Application) -> None:
        """At shutdown: the streams end now, not at the server's timeout."""
        self.closing = True
        self()


STREAMS = web.AppKey("dashboard_streams", Streams)


async def _live(context: WebContext, record: AlertRecord) -> AlertOut:
    """An alert as /api/alerts shows it."""
    sources = await context.store.story_sources(record.story) if record.story else []
    return alert_out(context, record, sources)


async def events(call: Call) -> web.StreamResponse:
    request = call.request
    app = request.app
    context = app[CONTEXT]
    store = context.store
    last = call.query.after
    if last is None:
        given = request.headers.get("Last-Event-ID", "")
        last = int(given) if given.isdigit() else await store.last_alert_id()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: pass events through at once
        }
    )
    await response.prepare(request)
    streams = app[STREAMS]
    try:
        await response.write(b"retry: 2000\n: newsmon alerts\n\n")
        idle = 0.0
        while not streams.closing:
            woken = streams.current  # before reading: a wake-up meanwhile is not lost
            sent = False
            while rows := await store.alerts_after(last, BATCH):
                for row in rows:
                    live = await _live(context, row)
                    data = live.model_dump_json()
                    await response.write(f"id: {row.id}\nevent: alert\ndata: {data}\n\n".encode())
                    last = row.id
                sent = True
                if len(rows) < BATCH:
                    break
            if sent:
                idle = 0.0
            elif idle >= KEEPALIVE_SECONDS:
                await response.write(b": keepalive\n\n")
                idle = 0.0
            try:
                await asyncio.wait_for(woken.wait(), POLL_SECONDS)
            except TimeoutError:
                idle += POLL_SECONDS
    except ConnectionResetError:
        pass  # the page went away
    return response


# --- mutes and acknowledgements ---------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


async def list_mutes(call: Call) -> list[MuteOut]:
    return [_mute(m) for m in await call.request.app[CONTEXT].store.mutes(_now())]


async def mute_rule(call: Call) -> MuteOut:
    context = call.request.app[CONTEXT]
    name = call.path["name"]
    if name not in {rule.name for rule in context.rulebook.current.rules}:
        raise ApiError(404, f"no rule {name}")
    now = _now()
    mute = await context.store.mute_rule(name, now + call.body.span, now)
    log.info("rule %s muted until %s (dashboard)", name, f"{mute.until:%Y-%m-%d %H:%M} UTC")
    return _mute(mute)


async def unmute_rule(call: Call) -> None:
    name = call.path["name"]
    if not await call.request.app[CONTEXT].store.unmute_rule(name):
        raise ApiError(404, f"rule {name} is not muted")
    log.info("rule %s unmuted (dashboard)", name)


async def list_acks(call: Call) -> list[AckOut]:
    return [_ack(a) for a in await call.request.app[CONTEXT].store.acknowledgements(_now())]


def _alert_id(call: Call) -> int:
    try:
        return int(call.path["id"])
    except ValueError:
        raise ApiError(404, f"no alert {call.path['id']}") from None


async def ack_alert(call: Call) -> AckOut:
    alert_id = _alert_id(call)
    now = _now()
    ack = await call.request.app[CONTEXT].store.acknowledge(alert_id, now + call.body.span, now)
    if ack is None:
        raise ApiError(404, f"no alert {alert_id}")
    return _ack(ack)


async def unack_alert(call: Call) -> None:
    alert_id = _alert_id(call)
    if not await call.request.app[CONTEXT].store.unacknowledge(alert_id):
        raise ApiError(404, f"alert {alert_id} is not acknowledged")


EVENTS_DESCRIPTION = """\
Server-sent events: one `alert` event per alert as it is recorded, by any worker,
its `id:` the alert's id and its `data:` the alert as /api/alerts lists it. Send `after` (or
`Last-Event-ID`) to get the alerts recorded since one you have. Read it with
fetch(), which can send the bearer token (EventSource cannot)."""


def install(app: web.Application, api: list[ApiRoute]) -> None:
    """The page, its files, the event stream, mutes and acknowledgements."""
    streams = Streams()
    app[STREAMS] = streams
    app[CONTEXT].alerts_recorded.append(streams)
    app.on_shutdown.append(streams.close)
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static)
    api += [
        ApiRoute(
            "GET",
            "/api/events",
            "a live stream of alerts (server-sent events)",
            events,
            AlertOut,
            query=EventsQuery,
            media_type="text/event-stream",
            tag="dashboard",
            description=EVENTS_DESCRIPTION,
        ),
        ApiRoute(
            "GET", "/api/mutes", "the rules muted now", list_mutes, list[MuteOut], tag="dashboard"
        ),
        ApiRoute(
            "POST",
            "/api/rules/{name}/mute",
            "mute a rule for a while: it alerts no one until the mute ends",
            mute_rule,
            MuteOut,
            body=Span,
            tag="dashboard",
        ),
        ApiRoute(
            "DELETE",
            "/api/rules/{name}/mute",
            "end a rule's mute now",
            unmute_rule,
            tag="dashboard",
        ),
        ApiRoute(
            "GET",
            "/api/acks",
            "the alerts acknowledged now",
            list_acks,
            list[AckOut],
            tag="dashboard",
        ),
        ApiRoute(
            "POST",
            "/api/alerts/{id}/ack",
            "acknowledge an alert for a while (the dashboard dims it)",
            ack_alert,
            AckOut,
            body=Span,
            tag="dashboard",
        ),
        ApiRoute(
            "DELETE",
            "/api/alerts/{id}/ack",
            "end an alert's acknowledgement now",
            unack_alert,
            tag="dashboard",
        ),
    ]
