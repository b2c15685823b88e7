"""On Kafka and PostgreSQL too, `newsmon run` keeps the stream library's data
directory under data_dir, not in the directory it is started from."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Service
from tests.e2e.test_service import QUIET_ITEM
from tests.feedserver import rss

pytestmark = pytest.mark.distributed


def test_workers_leave_nothing_in_the_directory_they_are_started_from(cluster: Service) -> None:
    scratch = cluster.root / "scratch"
    scratch.mkdir()
    cluster.cwd = scratch
    cluster.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))

    cluster.start("a")
    cluster.wait_polls("/world.rss", 2)
    assert cluster.stop(name="a") == 0

    assert sorted(p.name for p in scratch.iterdir()) == []
    # the database is PostgreSQL's: data_dir holds only the stream's directory
    assert (cluster.root / "data" / "stream").is_dir()
