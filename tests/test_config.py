"""config/monitor.yaml: defaults, paths relative to the file, errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import config_path, load_settings
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "monitor.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_shipped_config_is_valid_and_has_real_feeds() -> None:
    settings = load_settings(REPO / "config" / "monitor.yaml")
    assert len(settings.feeds) >= 10
    assert all(feed.url.startswith("https://") for feed in settings.feeds)
    assert settings.rules_dir == REPO / "rules"
    assert settings.embedded
    assert settings.storage == f"sqlite:///{REPO / 'data' / 'newsmon.db'}"


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds:\n  - url: http://127.0.0.1/a.xml\n    interval: 30s\n"
        "rules: ../myrules\nnotify: ch.yml\nstorage: sqlite:///state/x.db\n",
    )
    settings = load_settings(path)
    assert settings.rules_dir == tmp_path / "myrules"
    assert settings.apprise_config == tmp_path / "conf" / "ch.yml"
    assert settings.storage == f"sqlite:///{tmp_path / 'conf' / 'state' / 'x.db'}"
    assert settings.feeds[0].interval == 30


@pytest.mark.parametrize(
    ("interval", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), (90, 90)]
)
def test_intervals_are_honoured_as_given(tmp_path: Path, interval: object, seconds: float) -> None:
    path = write(
        tmp_path, f"feeds:\n  - url: https://example.org/f.rss\n    interval: {interval}\n"
    )
    assert load_settings(path).feeds[0].interval == seconds


def test_feeds_without_interval_take_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, "default_interval: 2m\nfeeds:\n  - url: https://example.org/f.rss\n")
    assert load_settings(path).feeds[0].interval == 120


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("feeds:\n  - url: https://a.org/x\n    interval: soon\n", 3, "interval"),
        ("feeds:\n  - url: ftp://a.org/x\n", 2, "http"),
        ("feeds: []\nstream: rabbit://x\n", 2, "stream"),
        ("feeds: []\nunknown_key: 1\n", 2, "unknown_key"),
        ("feeds:\n  - url: https://a.org/x\n   name: [unclosed\n", 3, "YAML"),
    ],
    ids=["bad-duration", "bad-url", "bad-stream", "unknown-key", "yaml-syntax"],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.path == str(path)
    assert caught.value.line == line
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_settings(tmp_path / "nope.yaml")


def test_opml_entries_expand_to_feeds(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - opml: feeds.opml\n    interval: 1h\n")
    (path.parent / "feeds.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline text="World"><outline text="BBC" xmlUrl="https://bbc.example/w.rss"/>'
        '<outline title="NPR" xmlUrl="https://npr.example/w.rss"/></outline></body></opml>'
    )
    feeds = load_settings(path).feeds
    assert [(f.url, f.name, f.interval) for f in feeds] == [
        ("https://bbc.example/w.rss", "BBC", 3600),
        ("https://npr.example/w.rss", "NPR", 3600),
    ]


def test_config_path_prefers_option_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_CONFIG", "/etc/newsmon.yaml")
    assert config_path("x.yaml") == Path("x.yaml")
    assert config_path(None) == Path("/etc/newsmon.yaml")
    monkeypatch.delenv("NEWSMON_CONFIG")
    assert config_path(None) == Path("config/monitor.yaml")


def test_channel_options_by_tag(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "timezone: Europe/London\nchannels:\n"
        "  Email:\n    digest: daily@08:00\n    template: mail.html.j2\n"
        "  chat:\n    quiet: '22:00-07:00'\n    max_per_hour: 10\n    timezone: Asia/Taipei\n",
    )
    settings = load_settings(path)
    assert str(settings.timezone) == "Europe/London"
    email, chat = settings.channels["email"], settings.channels["chat"]
    assert email.digest is not None and email.template == str(path.parent / "mail.html.j2")
    assert chat.quiet is not None and chat.max_per_hour == 10
    assert str(chat.timezone) == "Asia/Taipei"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("channels:\n  chat:\n    digest: sometimes\n", 3, "digest"),
        ("channels:\n  chat:\n    quiet: '25:00-07:00'\n", 3, "quiet"),
        ("channels:\n  chat:\n    max_per_hour: 0\n", 3, "max_per_hour"),
        ("timezone: Mars/Olympus\n", 1, "timezone"),
    ],
    ids=["bad-digest", "bad-quiet", "zero-rate", "bad-timezone"],
)
def test_channel_option_errors_name_the_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.line == line
    assert words in str(caught.value)


def test_the_outbox_is_checked_every_5s_unless_set(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "feeds: []\n")).alerts.check_every == 5.0
    path = write(tmp_path, "alerts:\n  check_every: 500ms\n")
    assert load_settings(path).alerts.check_every == 0.5
