"""``newsmon run``: the long-lived service, from start to a drained stop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor import logs
from monitor.config import Settings
from monitor.core.observe import NO_OBSERVER
from monitor.core.outbox import send_timeout
from monitor.errors import ConfigError
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.notify.deliver import Deliverer
from monitor.notify.sending import SendingProcess
from monitor.notify.templatebook import TemplateBook
from monitor.pipeline import Stages
from monitor.push.hub import HubClient
from monitor.rules.rulebook import Rulebook
from monitor.store import open_store
from monitor.stream.agents import Agents
from monitor.stream.app import create_topics, make_app, make_lanes, unmarked

if TYPE_CHECKING:  # aiohttp's server side is only needed with websub: or web:
    from collections.abc import Callable

    from aiohttp.web import AppRunner

    from monitor.notify.channels import Channels
    from monitor.pipeline.feedbook import FeedBook
    from monitor.store import Store
    from monitor.web.metrics import Metrics

log = logging.getLogger("newsmon")

DRAIN_TIMEOUT = 30.0


async def run(
    settings: Settings,
    stop: asyncio.Event | None = None,
    sending: SendingProcess | None = None,
    parser: FeedParser | None = None,
) -> None:
    """Run until ``stop`` is set or SIGINT/SIGTERM arrives, then drain and return.

    Apprise lives in a process of its own (``sending``, which may be started
    already): it reads the Apprise config while this process starts, and sends
    the alerts (monitor.notify.sending). So do the feed parsers (``parser``,
    which may be started already too)."""
    async with sending or SendingProcess(settings.apprise_config) as started:
        await _run(settings, stop or asyncio.Event(), started, parser or FeedParser())


async def _run(
    settings: Settings, stop: asyncio.Event, sending: SendingProcess, parser: FeedParser
) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    # Channel and rule templates in one book, which the rule watcher keeps current.
    templates = TemplateBook()
    rulebook = Rulebook(settings.rules_dir, templates)  # fails fast on broken rules at start
    store = await open_store(settings.storage)
    app = make_app(settings)
    lanes = make_lanes(app, settings)
    fetch = settings.fetch
    try:
        async with (
            Fetcher(
                total_timeout=fetch.timeout,
                connect_timeout=fetch.connect_timeout,
                max_bytes=fetch.max_bytes,
                per_host=fetch.per_host,
                max_connections=fetch.concurrency,
            ) as fetcher,
            parser,
            HubClient() as hub,
        ):
            if settings.embedded:  # the parser processes match the items too
                parser.match_with(lambda: rulebook.on_disk)
            # the channels, read by the sending process meanwhile: waited for as late as can be
            channels = (await sending.channels()).or_console()
            logs.hide(channels.secrets)
            deliverer = Deliverer(
                channels,
                sender=sending,
                options=settings.channels,
                templates=templates,
                timeout=send_timeout(timedelta(seconds=settings.alerts.lease)),
            )
            metrics = _metrics(settings, channels)  # None without web:
            stages = Stages.build(
                settings,
                store=store,
                rulebook=rulebook,
                deliverer=deliverer,
                fetcher=fetcher,
                parser=parser,
                hub=hub,
                observer=metrics or NO_OBSERVER,
            )
            if stages.feeds is not None:  # those added at run time, before anything asks
                await stages.feeds.refresh()
            agents = Agents(
                stages, lanes, embedded=settings.embedded, check_every=settings.alerts.check_every
            )
            with unmarked():
                agents.register(app)
            callbacks = await _serve_websub(settings, stages, agents)
            dashboard = await _serve_web(
                settings,
                store,
                rulebook,
                channels,
                stages.matching.on_recorded,
                metrics=metrics,
                feeds=stages.feeds,
            )
            if not settings.embedded:
                await create_topics(settings)
            await app.start()
            app.flow_control.resume()
            collect_again()
            watcher = asyncio.create_task(rulebook.watch(stop))
            log.info(
                "newsmon running: %d feeds, %d rules, alerts to %s",
                len(stages.feeds or settings.feeds),
                len(rulebook.current.rules),
                ", ".join(c.label for c in channels.channels),
            )
            await stop.wait()
            log.info("stopping: draining in-flight work")
            if callbacks is not None:  # no more pushes: what came is drained below
                await callbacks.cleanup()
            if dashboard is not None:
                await dashboard.cleanup()
            agents.stopping = True
            if not await agents.drained(DRAIN_TIMEOUT):
                log.warning(
                    "drain timed out after %.0fs; the outbox keeps what is pending", DRAIN_TIMEOUT
                )
            await app.stop()
            await watcher
    finally:
        await store.close()
    log.info("stopped")


def collect_again() -> None:
    """Cyclic garbage collection back on, after a start that ran without it
    (``newsmon run``). What the start made is frozen first: it lives as long as
    the service, and no later collection needs to go through it again.

    A poll makes thousands of short-lived objects (an item, its rows, its
    match) that reference counting frees and that hold no cycles: collecting
    every 700 allocations, as Python does by default, went 140 times through
    a cold round's 10,000 items for nothing (0.1 s of the loop's CPU; every
    10,000, 0.03 s)."""
    if not gc.isenabled():
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
        gc.enable()


def _metrics(settings: Settings, channels: Channels) -> Metrics | None:
    """What the stages report to for /metrics, when ``web:`` is on (only then is
    prometheus_client imported)."""
    if settings.web is None:
        return None
    from monitor.web.metrics import Metrics

    return Metrics(channels.channels)


async def _serve_websub(settings: Settings, stages: Stages, agents: Agents) -> AppRunner | None:
    """The endpoint WebSub hubs call back, when ``websub:`` is on."""
    if stages.pushing is None:
        return None
    from monitor.push.server import serve, websub_app

    websub = settings.websub
    app = websub_app(
        stages.pushing.verify, agents.push, settings.fetch.max_bytes, websub.callback or ""
    )
    try:
        # Workers of one deployment on one host share the port (the kernel
        # spreads the hubs' calls): any of them takes a push onto the items lane.
        runner = await serve(app, websub.host, websub.port, shared=not settings.embedded)
    except OSError as exc:
        raise ConfigError(f"websub.listen {websub.listen}: cannot listen: {exc}") from exc
    log.info("websub: hubs call back on http://%s", websub.listen)
    return runner


async def _serve_web(
    settings: Settings,
    store: Store,
    rulebook: Rulebook,
    channels: Channels,
    alerts_recorded: list[Callable[[], None]],
    metrics: Metrics | None = None,
    feeds: FeedBook | None = None,
) -> AppRunner | None:
    """The dashboard, the API, /metrics and the health probes, when ``web:`` is on."""
    if settings.web is None:
        return None
    from monitor.web.app import make_web_app
    from monitor.web.server import WebContext, serve

    context = WebContext(
        settings,
        store,
        rulebook,
        channels,
        started_at=datetime.now(UTC),
        alerts_recorded=alerts_recorded,
        metrics=metrics,
        feeds=feeds,
    )
    try:
        runner = await serve(make_web_app(context), settings.web.host, settings.web.port)
    except OSError as exc:
        raise ConfigError(f"web.listen {settings.web.listen}: cannot listen: {exc}") from exc
    log.info("web: dashboard, API and metrics on http://%s", settings.web.listen)
    return runner
