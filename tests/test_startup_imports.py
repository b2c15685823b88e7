"""What the service and its parser processes import at start: only what they use.

Every module imported is start-up time (``newsmon run`` spends most of the
time before its first feed request importing): the service's own process
never parses or sends through Apprise, compares stories without numpy, and needs neither
Kafka's admin client (embedded mode) nor aiohttp's server (without WebSub);
a parser process needs no HTTP client, and no command line either (it imports
monitor.cli again when the service runs as the console script ``newsmon``).
The start also runs without cyclic garbage collection, back on once started.
"""

from __future__ import annotations

import gc
import subprocess
import sys

import faust
import pytest

from monitor.service import collect_again
from monitor.stream.app import EmbeddedApp, unmarked


def loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``code``."""
    script = f"{code}\nimport sys\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return out.split()


def test_the_service_starts_without_what_it_needs_later_or_never() -> None:
    # only in other processes (Apprise sends from its own, feeds parse in theirs) or modes
    later = ("apprise", "requests", "aiohttp.web", "aiokafka.admin", "feedparser", "feedparser_rs")
    later += ("sqlalchemy.dialects.postgresql",)  # the default store is SQLite
    later += ("prometheus_client",)  # /metrics: with web: only
    assert loaded_after("import monitor.service, monitor.store.sql", later) == []


def test_stories_are_compared_without_numpy() -> None:
    # signatures, their keys and the comparisons are native (numpy stays out of
    # the service: a tenth of a second at the first story, and 6 MB)
    compare = "from monitor.core import stories as s\n"
    compare += "a = s.signature('Warships gather in the Taiwan Strait', 'Chinese warships')\n"
    compare += "b = s.StorySignature.from_bytes(a.to_bytes())\n"
    compare += "assert s.NATIVE_MINHASH and s.story_keys(a, 'https://x.example/1').bands\n"
    compare += "assert s.best_story(a, None, [s.StoryCandidate('x', b, '', None)]) == 'x'"
    assert loaded_after(compare, ("numpy",)) == []


def test_metrics_are_made_and_their_library_imported_only_with_web_on() -> None:
    start = "from types import SimpleNamespace as S\nfrom monitor.service import _metrics\n"
    start += "from monitor.notify.channels import Channels\n"
    off = start + "assert _metrics(S(web=None), Channels()) is None"
    assert loaded_after(off, ("prometheus_client", "monitor.web")) == []
    on = start + "assert _metrics(S(web=S()), Channels()) is not None"
    assert loaded_after(on, ("prometheus_client",)) == ["prometheus_client"]


def test_a_parser_process_imports_the_parsers_and_no_network_or_store_library() -> None:
    heavy = ("aiohttp", "sqlalchemy", "faust", "apprise", "feedparser", "feedparser_rs")
    assert loaded_after("import monitor.fetch.parse", heavy) == []
    # the pool's warm-up, at the service's start, imports what parsing needs
    warm = "import monitor.fetch.parse as p\np._warm_up(None)"
    assert loaded_after(warm, heavy) == ["feedparser", "feedparser_rs"]


def test_the_console_script_imports_what_each_command_uses_only_when_run() -> None:
    # a parser process of `newsmon run` runs the console script again, which
    # imports monitor.cli: with it, the config and the rule engine, twice over
    heavy = ("pydantic", "yaml", "monitor.config", "monitor.core.rules")
    assert loaded_after("import monitor.cli", heavy) == []


def test_agents_and_timers_registered_unmarked_are_registered_without_marks() -> None:
    app = EmbeddedApp("newsmon-test-unmarked")

    async def tick() -> None:
        return None

    app.timer(1.0, name="newsmon.marked")(tick)
    mark = faust.utils.venusian.attach
    with unmarked():
        app.timer(1.0, name="newsmon.unmarked")(tick)
    assert faust.utils.venusian.attach is mark  # put back
    marked, plain = app._app_tasks
    assert hasattr(marked, "__venusian_callbacks__")
    assert not hasattr(plain, "__venusian_callbacks__")

    with pytest.raises(RuntimeError), unmarked():
        raise RuntimeError("registering failed")
    assert faust.utils.venusian.attach is mark


def test_collection_comes_back_on_after_a_start_without_it() -> None:
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    gc.disable()  # as `newsmon run` starts the service
    try:
        collect_again()
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen  # the start's objects left out of collections
        assert gc.get_threshold()[0] > thresholds[0]  # and young objects collected less often
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    collect_again()  # on a service run in-process with collection on: nothing frozen
    assert gc.isenabled() and gc.get_freeze_count() == 0
