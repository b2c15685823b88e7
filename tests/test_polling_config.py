"""The polling settings: where learned intervals may go (``fetch.min_interval``,
``fetch.max_interval``), the request budget (``fetch.max_requests_per_second``),
and which feeds are pinned (their own ``interval:``) and which learned."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError

FEED = "feeds: [{url: 'https://example.org/f.rss'}]\n"
D = 86400


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    return path


def failure(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    return caught.value


def test_defaults_a_minute_to_an_hour_and_a_thousand_polls_a_second(tmp_path: Path) -> None:
    fetch = load_settings(write(tmp_path, FEED)).fetch
    assert (fetch.min_interval, fetch.max_interval) == (60, 3600)
    assert fetch.max_requests_per_second == 1000


@pytest.mark.parametrize(
    ("lines", "key", "value"),
    [
        ("  min_interval: 100ms\n  max_interval: 100ms\n", "min_interval", 0.1),
        ("  min_interval: 30d\n  max_interval: 30d\n", "max_interval", 30 * D),
        ("  min_interval: 10s\n  max_interval: 6h\n", "max_interval", 6 * 3600),
        ("  max_requests_per_second: 0.05\n", "max_requests_per_second", 0.05),
        ("  max_requests_per_second: 100000\n", "max_requests_per_second", 100_000),
    ],
    ids=["lowest", "highest", "both", "budget-lowest", "budget-highest"],
)
def test_within_bounds(tmp_path: Path, lines: str, key: str, value: float) -> None:
    settings = load_settings(write(tmp_path, f"{FEED}fetch:\n{lines}"))
    assert getattr(settings.fetch, key) == value


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        ("  min_interval: 50ms\n", 3, "fetch.min_interval: must be from 0.1s to 30d, got '50ms'"),
        ("  max_interval: 31d\n", 3, "fetch.max_interval: must be from 0.1s to 30d, got '31d'"),
        (
            "  max_requests_per_second: 0\n",
            3,
            "fetch.max_requests_per_second: must be more than 0 and at most 100000, got 0",
        ),
        (
            "  max_requests_per_second: 1e6\n",
            3,
            "fetch.max_requests_per_second: must be more than 0 and at most 100000",
        ),
        (
            "  min_interval: 2h\n",
            2,
            "fetch: min_interval (2h) is more than max_interval (1h)",
        ),
        ("  max_interval: 30s\n", 2, "fetch: min_interval (1m) is more than max_interval (30s)"),
        ("  min_interval: 5m\n  max_interval: 1m\n", 2, "fetch: min_interval (5m) is more than"),
        ("  max_interva: 1h\n", 3, "fetch.max_interva: unknown key (did you mean max_interval?)"),
    ],
    ids=[
        "min-too-low",
        "max-too-high",
        "budget-zero",
        "budget-too-high",
        "min-above-default-max",
        "max-below-default-min",
        "out-of-order",
        "typo",
    ],
)
def test_out_of_bounds_names_file_line_and_key(
    tmp_path: Path, lines: str, line: int, message: str
) -> None:
    path = write(tmp_path, f"{FEED}fetch:\n{lines}")
    error = failure(path)
    assert error.line == line
    assert error.message.startswith(message), error.message


def test_newsmon_check_reports_intervals_out_of_order(tmp_path: Path) -> None:
    path = write(tmp_path, f"{FEED}fetch:\n  min_interval: 2h\n")
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert f"{path}:2: fetch: min_interval (2h) is more than max_interval (1h)" in result.stderr


def test_an_interval_given_is_pinned_and_the_others_learned(tmp_path: Path) -> None:
    (tmp_path / "more.opml").write_text(
        '<opml version="2.0"><body><outline text="O" xmlUrl="https://o.org/rss"/></body></opml>'
    )
    (tmp_path / "pinned.opml").write_text(
        '<opml version="2.0"><body><outline text="P" xmlUrl="https://p.org/rss"/></body></opml>'
    )
    text = (
        "default_interval: 2m\n"
        "feeds:\n"
        "  - url: https://a.org/rss\n"
        "  - url: https://b.org/rss\n"
        "    interval: 30s\n"
        "  - opml: more.opml\n"
        "  - opml: pinned.opml\n"
        "    interval: 1h\n"
    )
    feeds = {f.url: f for f in load_settings(write(tmp_path, text)).feeds}
    # learned ones start at default_interval; pinned ones keep their own
    assert (feeds["https://a.org/rss"].interval, feeds["https://a.org/rss"].pinned) == (120, False)
    assert (feeds["https://b.org/rss"].interval, feeds["https://b.org/rss"].pinned) == (30, True)
    assert (feeds["https://o.org/rss"].interval, feeds["https://o.org/rss"].pinned) == (120, False)
    assert (feeds["https://p.org/rss"].interval, feeds["https://p.org/rss"].pinned) == (3600, True)


def test_pinned_is_not_a_key_of_the_file(tmp_path: Path) -> None:
    error = failure(write(tmp_path, "feeds:\n  - url: https://a.org/rss\n    pinned: true\n"))
    assert error.message.startswith("feeds[0].pinned: unknown key")
