"""The agents and timers: the pipeline's stages (``monitor.pipeline``) on the stream.

    scheduler ─► [poll-requests] ─► fetch ─► [items] ─► match ─► [alerts] ─► notify

Each agent stays thin: it decodes a message, calls its stage, and sends what
the stage hands back on the next lane, waiting until the lane has it. The
timers do the same for scheduling (on the leader only, in a distributed
deployment), for what comes due again (retries, digests), and for pruning.
This module knows the messages' shape and what "drained" means at a stop; the
stages know neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import faust

from monitor.core.alerts import Alert
from monitor.core.items import Item
from monitor.core.outbox import PendingAlert
from monitor.pipeline import Stages
from monitor.pipeline.scheduling import PollRequest
from monitor.stream.app import Lanes

log = logging.getLogger("newsmon.pipeline")

BATCH = 64  # messages an agent takes at once and works on concurrently
ITEM_BATCH = 500  # items matched, and the quiet ones recorded, together
# Items travel in groups (a poll's new items, up to so many, with about so much
# text): a message per item cost more than matching the item. Bounded, so a
# group stays well within a Kafka message however large a feed's items are.
GROUP_ITEMS = 100
GROUP_CHARS = 256 * 1024
# How often the due feeds are claimed: a feed polled every second would wait
# for the next whole-second tick and be polled every two. Sooner when a feed
# falls due before the next tick: the scheduler wakes for it (a little after,
# so the feed is due by the store's clock too).
SCHEDULE_EVERY = 0.25
SCHEDULE_WAKE_AFTER = 0.005
# How often the outbox is read for what came due (retries, the end of quiet
# hours, digests), unless alerts.check_every says otherwise.
CHECK_EVERY = 5.0
# How often each worker prunes what retention no longer keeps (and once at
# start, so a service that was down a while catches up at once).
PRUNE_EVERY = timedelta(hours=1)

Message = dict[str, Any]


class Agents:
    def __init__(
        self, stages: Stages, lanes: Lanes, *, embedded: bool, check_every: float = CHECK_EVERY
    ) -> None:
        self.stages = stages
        self.lanes = lanes
        self.embedded = embedded
        self.check_every = check_every  # seconds between the retry loop's ticks
        self.stopping = False  # set at a stop: the timers start no new work
        self.leading = False  # distributed mode: this worker runs the scheduler
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()  # the polls under way
        self._ticked = asyncio.Event()  # the scheduler's first tick is done

    def register(self, app: faust.App) -> None:
        """Attach the agents and timers to ``app``."""
        schedule = self.schedule if self.embedded else self._lead(app.is_leader)
        app.task(self._scheduling(schedule))
        app.timer(self.check_every, name="newsmon.retry")(self.retry)
        if self.stages.pushing is not None:  # every worker: the store shares the rows out
            app.timer(1.0, name="newsmon.websub")(self.subscribe)
        # Every worker prunes, not just the leader: the store shares the rows out.
        app.task(self._prune_at_start)
        app.timer(PRUNE_EVERY.total_seconds(), name="newsmon.prune")(self.prune)
        app.agent(self.lanes.poll_requests, name="newsmon.fetch")(self._spawning(self._on_poll))
        app.agent(self.lanes.items, name="newsmon.match")(self._batches(self._on_items))
        # On Kafka, what a dead worker handled after its last offset commit is
        # handled again by the next owner of the partition. For alerts that means
        # messages sent twice, so their offsets are committed after every batch
        # instead of every broker_commit_interval.
        alerts_topics = set() if self.embedded else {self.lanes.alerts.get_topic_name()}
        commit_alerts = (lambda: app.commit(alerts_topics)) if alerts_topics else None
        app.agent(self.lanes.alerts, name="newsmon.notify")(
            self._each(self._on_alert, commit=commit_alerts)
        )

    async def drained(self, timeout: float) -> bool:
        """Wait until this process's work is done. In embedded mode a message
        lives only in this process until an agent handles it, so every send
        counts until handled. On Kafka a message is safe once the broker has it
        (handlers await their sends) and another worker may be the one to handle
        it, so only the handlers running here count."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- timers ----------------------------------------------------------------
    def _scheduling(self, tick: Callable[[], Awaitable[float]]) -> Callable[[], Awaitable[None]]:
        """The scheduler's loop: a tick at once (a timer's first comes only after
        its interval), then each when the last one said."""

        async def loop() -> None:
            while True:
                try:
                    wait = await tick()
                finally:
                    self._ticked.set()
                await asyncio.sleep(wait)

        return loop

    async def schedule(self) -> float:
        """Send a poll request for every feed that is due. Seconds until the
        next tick: ``SCHEDULE_EVERY``, or less when a feed falls due sooner."""
        if self.stopping:
            return SCHEDULE_EVERY
        scheduling = self.stages.scheduling
        started = scheduling.clock()
        with self._busy():
            requests = await scheduling.due(SCHEDULE_EVERY)
            # A claimed feed is leased; a request lost before the broker has it would
            # leave the feed unpolled until the lease ends, so wait for the broker.
            await self._send_all(
                self.lanes.poll_requests, ((r.url, _poll_message(r)) for r in requests)
            )
        now = scheduling.clock()
        wait = SCHEDULE_EVERY - (now - started).total_seconds()  # ticks keep their pace
        if scheduling.next_due_at is not None:
            until = (scheduling.next_due_at - now).total_seconds() + SCHEDULE_WAKE_AFTER
            wait = min(wait, until)
        return max(0.0, wait)

    def _lead(self, is_leader: Callable[[], bool]) -> Callable[[], Awaitable[float]]:
        """The scheduler of a distributed deployment: it runs on the leader only.

        Faust elects the leader; this says so in the log whenever it changes.
        """

        async def tick() -> float:
            leading = is_leader()
            if leading != self.leading:
                self.leading = leading
                log.info(
                    "leader: this worker %s",
                    "schedules the feeds" if leading else "no longer schedules the feeds",
                )
            return await self.schedule() if leading else SCHEDULE_EVERY

        return tick

    async def retry(self) -> None:
        """Send again what the outbox holds undelivered and due, then the digests due."""
        if self.stopping:
            return
        with self._busy():
            await self._send_alerts(await self.stages.delivering.due())
            await self.stages.delivering.send_digests()

    async def subscribe(self) -> None:
        """Send the WebSub requests that are due (subscriptions, renewals...)."""
        if self.stopping or self.stages.pushing is None:
            return
        with self._busy():
            await self.stages.pushing.maintain()

    async def push(
        self, callback_id: str, body: bytes, content_type: str | None, signature: str | None
    ) -> int:
        """A hub's POST: its new items on the items lane, as a poll's go. The
        status to answer, once they are on their way (a hub retries a failure)."""
        assert self.stages.pushing is not None
        with self._busy():
            return await self.stages.pushing.receive(
                callback_id, body, content_type, signature, self._send_items
            )

    async def prune(self) -> None:
        if self.stopping:
            return
        await self.stages.pruning.prune()

    async def _prune_at_start(self) -> None:
        # right after the first tick: the first polls need the store before it
        await self._ticked.wait()
        await self.prune()

    # -- agents ----------------------------------------------------------------
    async def _on_poll(self, value: Message) -> None:
        await self.stages.fetching.fetch(_poll_request(value), self._send_items)

    async def _send_items(self, items: Sequence[Item]) -> None:
        groups = (
            (group[0].fingerprint, _group_message(group, in_memory=self.embedded))
            for group in _groups(items)
        )
        await self._send_all(self.lanes.items, groups)

    async def _on_items(self, values: Sequence[Message]) -> None:
        # The items are done (acknowledged) only once their alerts are on the stream.
        items = [_item(item) for value in values for item in _items_of(value)]
        for start in range(0, len(items), ITEM_BATCH):  # never holding the loop for long
            batch = items[start : start + ITEM_BATCH]
            await self._send_alerts(await self.stages.matching.match_all(batch))

    async def _send_alerts(self, alerts: Sequence[PendingAlert]) -> None:
        # Keyed by item and channel, so one channel's alerts spread over partitions.
        await self._send_all(self.lanes.alerts, ((p.alert.key, _alert_message(p)) for p in alerts))

    async def _on_alert(self, value: Message) -> None:
        await self.stages.delivering.deliver(
            value["id"],
            Alert.from_json(value["alert"]),
            value.get("attempts", 0),
            datetime.fromisoformat(value["created"]) if "created" in value else None,
            value.get("story"),
        )

    def _each(
        self,
        handle: Callable[[Message], Awaitable[None]],
        commit: Callable[[], Awaitable[Any]] | None = None,
    ) -> Callable[[faust.StreamT], Awaitable[None]]:
        async def agent(stream: faust.StreamT) -> None:
            # Events, not values: the notify agent acks them itself. (take_events is
            # on faust.Stream, not on the StreamT interface.)
            take_events = cast(faust.Stream, stream).take_events
            batches: AsyncIterator[Sequence[faust.EventT]] = take_events(BATCH, within=0.05)
            async for events in batches:
                await asyncio.gather(*(self._guarded(handle, event.value) for event in events))
                if commit is not None:
                    for event in events:  # take_events acks them too; a second ack is a no-op
                        await stream.ack(event)
                    await commit()

        return agent

    def _spawning(
        self, handle: Callable[[Message], Awaitable[None]]
    ) -> Callable[[faust.StreamT], Awaitable[None]]:
        """An agent that starts each message's handling as a task of its own and
        takes the next at once, so one slow or broken feed never holds up the
        polls of the others (the fetcher's own limits, per host and in all,
        bound how many run). On Kafka a request is acknowledged when taken: one
        lost with its worker is made again when its claim's lease ends."""

        async def agent(stream: faust.StreamT) -> None:
            async for value in stream:
                task = asyncio.create_task(self._guarded(handle, value))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        return agent

    def _batches(
        self, handle: Callable[[Sequence[Message]], Awaitable[None]]
    ) -> Callable[[faust.StreamT], Awaitable[None]]:
        """An agent handing whole batches to ``handle``; a batch that fails is
        handled again one message at a time, so one bad message costs only itself."""

        async def agent(stream: faust.StreamT) -> None:
            take_events = cast(faust.Stream, stream).take_events
            batches: AsyncIterator[Sequence[faust.EventT]] = take_events(ITEM_BATCH, within=0.05)
            async for events in batches:
                values = [cast(Message, event.value) for event in events]
                if not self.embedded:
                    for _ in values:
                        self._begin()
                try:
                    await handle(values)
                except Exception:
                    log.warning("a batch of %d failed; each is handled on its own", len(values))
                    for value in values:
                        await self._guarded(lambda one: handle([one]), value, counted=True)
                else:
                    for _ in values:
                        self._done()

        return agent

    async def _guarded(
        self, handle: Callable[[Message], Awaitable[None]], value: Any, *, counted: bool = False
    ) -> None:
        if not (self.embedded or counted):
            self._begin()
        try:
            await handle(value)
        except Exception:  # one bad message never stops the stream
            log.exception("failed to process %r", value)
        finally:
            self._done()

    # -- sending, and what "drained" waits for -----------------------------------
    async def _send_all(
        self, lane: faust.ChannelT, messages: Iterable[tuple[str, Message]]
    ) -> None:
        """Send on a lane, and wait until it has every message (the broker, on Kafka)."""
        sent = [await self._send(lane, key, value) for key, value in messages]
        await asyncio.gather(*sent)

    async def _send(self, lane: faust.ChannelT, key: str, value: Message) -> Awaitable[Any]:
        """Send on a lane; the result resolves when the broker has the message."""
        if self.embedded:
            self._begin()
        return await lane.send(key=key.encode(), value=value)

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        """Work that "drained" waits for: a timer's tick sends until it ends."""
        self._begin()
        try:
            yield
        finally:
            self._done()

    def _begin(self) -> None:
        self._inflight += 1
        self._idle.clear()

    def _done(self) -> None:
        self._inflight = max(0, self._inflight - 1)
        if self._inflight == 0:
            self._idle.set()


# The messages on the lanes ------------------------------------------------------


def _poll_message(request: PollRequest) -> Message:
    message: Message = {"url": request.url}
    if request.at is not None:
        message["at"] = request.at.isoformat()
    if request.until is not None:
        message["until"] = request.until.isoformat()
    return message


def _poll_request(value: Message) -> PollRequest:
    at = datetime.fromisoformat(value["at"]) if "at" in value else None
    until = datetime.fromisoformat(value["until"]) if "until" in value else None
    return PollRequest(value["url"], at, until)


def _groups(items: Sequence[Item]) -> Iterator[Sequence[Item]]:
    """``items`` in groups of at most GROUP_ITEMS and about GROUP_CHARS of text
    (an item larger than that goes alone)."""
    start, chars = 0, 0
    for end, item in enumerate(items):
        size = len(item.title) + len(item.summary) + len(item.content) + len(item.link)
        if end > start and (end - start == GROUP_ITEMS or chars + size > GROUP_CHARS):
            yield items[start:end]
            start, chars = end, 0
        chars += size
    if start < len(items):
        yield items[start:]


def _group_message(items: Sequence[Item], *, in_memory: bool) -> Message:
    # a lane in memory (embedded) hands on the items themselves; a topic, their JSON
    return {"items": list(items) if in_memory else [item.to_json() for item in items]}


def _items_of(value: Message) -> list[Item | Message]:
    # a group; or an item alone, as versions before groups sent them (still on a
    # topic after an upgrade)
    return cast(list[Item | Message], value["items"]) if "items" in value else [value]


def _item(value: Item | Message) -> Item:
    return value if isinstance(value, Item) else Item.from_json(value)


def _alert_message(pending: PendingAlert) -> Message:
    return {
        "id": pending.id,
        "attempts": pending.attempts,
        "created": pending.created_at.isoformat(),
        "story": pending.story,
        "alert": pending.alert.to_json(),
    }
