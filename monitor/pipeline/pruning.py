"""Pruning: what ``retention`` no longer keeps is forgotten (item texts, seen
items their feed dropped, stories, messages, delivered and dead alerts; the
cutoffs are ``monitor.core.retention``'s). Every worker prunes; the store shares
the rows out among them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from monitor.core.retention import Pruned, cutoffs
from monitor.store import Store

log = logging.getLogger("newsmon.pipeline")


class Pruning:
    def __init__(
        self,
        store: Store,
        *,
        items: timedelta,
        alerts: timedelta,
        story_window: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.items = items
        self.alerts = alerts
        self.story_window = story_window
        self.clock = clock

    async def prune(self) -> Pruned:
        """Forget what is past retention now; how many rows of each kind went."""
        cuts = cutoffs(
            self.clock(), items=self.items, alerts=self.alerts, story_window=self.story_window
        )
        try:
            pruned = await self.store.prune(cuts)
        except Exception:  # housekeeping: the next round tries again
            log.exception("retention: pruning failed")
            return Pruned()
        if pruned.total:
            log.info(
                "retention: removed %s (items seen before %s, alerts settled before %s)",
                pruned.describe(),
                f"{cuts.seen_items:%Y-%m-%d %H:%M} UTC",
                f"{cuts.alerts:%Y-%m-%d %H:%M} UTC",
            )
        return pruned
