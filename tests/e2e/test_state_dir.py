"""End to end: `newsmon run` keeps all its state under data_dir, the stream
library's included, wherever it is started from."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Service
from tests.e2e.test_service import QUIET_ITEM
from tests.feedserver import rss

pytestmark = pytest.mark.e2e


def test_run_leaves_nothing_in_the_directory_it_is_started_from(service: Service) -> None:
    scratch = service.root / "scratch"
    scratch.mkdir()
    service.cwd = scratch
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))

    service.start()
    service.wait_polls("/world.rss", 2)
    assert service.stop() == 0

    assert sorted(p.name for p in scratch.iterdir()) == []
    data = service.root / "data"
    assert (data / "newsmon.db").is_file()
    assert (data / "stream").is_dir()  # the stream library's data directory
