"""The pipeline's stages, each a plain class with one job that tests and
benchmarks call without Faust; ``monitor.stream.agents`` puts them on the
stream, one lane between two stages:

    scheduling ─► [poll-requests] ─► fetching ─► [items] ─► matching ─► [alerts] ─► delivering

- ``scheduling``: claims the feeds that are due, one poll each across workers;
- ``fetching``: polls a feed, hands on its new items, then saves its state and
  health;
- ``matching``: the rules over an item; the item, its story and its alerts
  recorded as one step; the alerts to send now handed back (``stories``: the
  story index it keeps in step with the store);
- ``delivering``: sends an alert, and sends again what comes due (retries, the
  end of quiet hours, digests);
- ``pruning``: forgets what retention no longer keeps;
- ``pushing`` (with ``websub:``): subscriptions kept with the hubs feeds
  advertise, and what hubs push, handed to fetching like a poll's items.

Each stage takes the store, the edges it needs (fetcher, rulebook,
dispatcher…) and the clock it reads the time from, so a test runs weeks of
news in a moment. ``Stages.build`` makes them all from the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from monitor.config import Settings
from monitor.core.health import HealthPolicy
from monitor.core.observe import NO_OBSERVER, Observer
from monitor.core.schedule import IntervalBounds, RequestBudget
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.notify.deliver import Deliverer
from monitor.notify.dispatch import Dispatcher
from monitor.pipeline.delivering import Delivering
from monitor.pipeline.feedbook import FeedBook
from monitor.pipeline.fetching import Fetching
from monitor.pipeline.matching import Matching
from monitor.pipeline.pruning import Pruning
from monitor.pipeline.pushing import Hub, Pushing
from monitor.pipeline.scheduling import Scheduling
from monitor.pipeline.stories import StoryBook
from monitor.rules.early import EarlyMatches
from monitor.rules.rulebook import Rulebook
from monitor.store import Store


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Stages:
    scheduling: Scheduling
    fetching: Fetching
    matching: Matching
    delivering: Delivering
    pruning: Pruning
    pushing: Pushing | None = None  # WebSub: on with websub.callback
    # the feeds polled, config's and store's (the scheduling and fetching stages' own)
    feeds: FeedBook | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        store: Store,
        rulebook: Rulebook,
        deliverer: Deliverer,
        fetcher: Fetcher,
        parser: FeedParser,
        clock: Callable[[], datetime] = utcnow,
        hub: Hub | None = None,
        observer: Observer = NO_OBSERVER,
    ) -> Stages:
        """The service's stages on ``store``, as ``settings`` configure them
        (``hub``: the client WebSub subscribes with, when it is on; ``observer``:
        told of fetches, items, matches and alerts, for /metrics)."""
        alerts, health, retention = settings.alerts, settings.health, settings.retention
        dispatcher = Dispatcher(
            store=store,
            deliverer=deliverer,
            options=settings.channels,
            timezone=settings.timezone,
            max_age=timedelta(seconds=alerts.max_age),
            observer=observer,
        )
        story_window = timedelta(seconds=alerts.story_window)
        alert_lease = timedelta(seconds=alerts.lease)
        feeds = FeedBook(settings.feeds, store, settings.default_interval)
        early = EarlyMatches()  # the parser's matches, from the fetch stage to the match stage
        stages = cls(
            scheduling=Scheduling(
                store,
                feeds,
                settings.fetch.timeout,
                clock,
                RequestBudget(settings.fetch.max_requests_per_second),
                shared=not settings.embedded,
                lease=settings.fetch.lease,
            ),
            fetching=Fetching(
                store,
                feeds,
                fetcher,
                parser,
                dispatcher,
                HealthPolicy(
                    failures=health.failures,
                    silence=health.silence,
                    min_silence=timedelta(seconds=health.min_silence),
                ),
                clock,
                bounds=IntervalBounds(settings.fetch.min_interval, settings.fetch.max_interval),
                observer=observer,
                early=early,
            ),
            matching=Matching(
                store,
                rulebook,
                deliverer.channels.channels,
                StoryBook(story_window),
                dispatcher,
                timedelta(seconds=alerts.max_item_age),
                clock,
                observer=observer,
                lease=alert_lease,
                early=early,
            ),
            delivering=Delivering(store, dispatcher, clock, alert_lease),
            feeds=feeds,
            pruning=Pruning(
                store,
                items=timedelta(seconds=retention.items),
                alerts=timedelta(seconds=retention.alerts),
                story_window=story_window,
                clock=clock,
            ),
        )
        if not settings.websub.enabled:
            return stages
        if hub is None:
            raise ValueError("websub.callback is set: Stages.build needs a hub client")
        pushing = Pushing(store, stages.fetching, parser, hub, settings.websub, clock)
        stages.fetching.push = pushing
        return replace(stages, pushing=pushing)
