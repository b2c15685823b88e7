"""The ``websub:`` section: off unless a callback is given, its URL and listen
address checked, its durations bounded, every problem with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError

FEEDS = "feeds: [{url: 'https://example.org/f.rss'}]\n"


def test_off_unless_a_callback_is_given(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(FEEDS)
    assert not load_settings(path, environ={}).websub.enabled
    path.write_text(FEEDS + "websub:\n  # callback: https://x.org/websub\n")
    assert not load_settings(path, environ={}).websub.enabled


def test_a_callback_turns_it_on_with_the_defaults(tmp_path: Path) -> None:
    websub = load_settings(
        _write(tmp_path, "websub: {callback: 'https://news.example.org/websub'}\n"), environ={}
    ).websub
    assert websub.enabled and websub.callback == "https://news.example.org/websub"
    assert (websub.host, websub.port) == ("127.0.0.1", 8081)
    assert (websub.poll_interval, websub.lease) == (3600.0, 7 * 86400.0)


def test_an_ipv6_listen_address(tmp_path: Path) -> None:
    text = "websub: {callback: 'https://x.org/w', listen: '[::1]:9000'}\n"
    websub = load_settings(_write(tmp_path, text), environ={}).websub
    assert (websub.host, websub.port) == ("::1", 9000)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("websub:\n  callback: 'ftp://x.org/w'\n", 3, "websub.callback: expected an http:// or"),
        ("websub:\n  callback: 'https://x.org/w?a=1'\n", 3, "websub.callback: expected an http"),
        ("websub:\n  callback: 'https:///w'\n", 3, "websub.callback: expected an http"),
        ("websub:\n  listen: '127.0.0.1'\n", 3, "websub.listen: expected host:port"),
        ("websub:\n  listen: 'localhost:0'\n", 3, "websub.listen: expected host:port"),
        ("websub:\n  listen: 'localhost:70000'\n", 3, "websub.listen: expected host:port"),
        ("websub:\n  poll_interval: 59s\n", 3, "websub.poll_interval: must be from 1m to 30d"),
        ("websub:\n  poll_interval: 31d\n", 3, "websub.poll_interval: must be from 1m to 30d"),
        ("websub:\n  lease: 30\n", 3, "websub.lease: must be from 1m to 365d"),
        ("websub:\n  lease: 366d\n", 3, "websub.lease: must be from 1m to 365d"),
        ("websub:\n  poll_intervall: 1h\n", 3, "websub.poll_intervall: unknown key (did you mean"),
        ("websub: 5\n", 2, "websub: expected a mapping"),
    ],
)
def test_wrong_values_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert (caught.value.path, caught.value.line) == (str(path), line)
    assert caught.value.message.startswith(message)


def test_the_bounds_are_inclusive(tmp_path: Path) -> None:
    text = "websub: {callback: 'https://x.org/w', poll_interval: 1m, lease: 365d}\n"
    websub = load_settings(_write(tmp_path, text), environ={}).websub
    assert (websub.poll_interval, websub.lease) == (60.0, 365 * 86400.0)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(FEEDS + text)
    return path
