"""config/monitor.yaml validated whole: every number within its bounds, every
duration, timezone, digest and quiet-hours value checked, unknown and repeated
keys named, ``${VAR}`` taken from the environment; every problem reported as
``file:line: key: message``, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Settings, load_settings
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "conf" / "monitor.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def nested(key: str, value: str) -> str:
    """``fetch.per_host``, ``0`` as the YAML lines that set it, after a ``feeds:``
    line: the key itself is on line 2 + its depth."""
    lines = ["feeds: [{url: 'https://example.org/f.rss'}]"]
    parts = key.split(".")
    for depth, part in enumerate(parts):
        tail = f" {value}" if depth == len(parts) - 1 else ""
        lines.append(f"{'  ' * depth}{part}:{tail}")
    return "\n".join(lines) + "\n"


def failure(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={} if environ is None else environ)
    error = caught.value
    assert error.path == str(path)
    assert error.line is not None
    assert str(error).startswith(f"{path}:{error.line}: ")
    return error


D = 86400


def held(settings: Settings, key: str) -> Any:
    """What the setting at ``key`` became."""
    if key == "default_interval":
        return settings.feeds[0].interval  # the feed has none of its own
    value: Any = settings
    for part in key.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value.every if key.endswith("digest") else value


# key, too low, lowest, highest, too high, and what lowest and highest became
BOUNDS = [
    ("default_interval", "50ms", "100ms", "30d", "31d", 0.1, 30 * D),
    ("fetch.timeout", "500ms", "1s", "1h", "61m", 1, 3600),
    ("fetch.connect_timeout", "0.5", "1", "3600", "3601", 1, 3600),
    ("fetch.max_bytes", "1023", "1024", "1073741824", "1073741825", 1024, 1024**3),
    ("fetch.per_host", "0", "1", "100", "101", 1, 100),
    ("fetch.concurrency", "0", "1", "1000", "1001", 1, 1000),
    ("partitions", "0", "1", "1000", "1001", 1, 1000),
    ("replication", "0", "1", "100", "101", 1, 100),
    ("alerts.max_age", "500ms", "1s", "30d", "31d", 1, 30 * D),
    ("alerts.story_window", "59s", "1m", "30d", "31d", 60, 30 * D),
    ("alerts.max_item_age", "9m", "10m", "365d", "366d", 600, 365 * D),
    ("alerts.check_every", "50ms", "100ms", "1m", "61s", 0.1, 60),
    ("alerts.lease", "1s", "2s", "1h", "61m", 2, 3600),
    ("health.failures", "0", "1", "1000", "1001", 1, 1000),
    ("health.silence", "1", "1.5", "1000", "1000.5", 1.5, 1000),
    ("health.min_silence", "500ms", "1s", "30d", "31d", 1, 30 * D),
    ("retention.items", "59m", "1h", "3650d", "3651d", 3600, 3650 * D),
    ("retention.alerts", "30", "1h", "3650d", "3651d", 3600, 3650 * D),
    ("channels.chat.max_per_hour", "0", "1", "3600", "3601", 1, 3600),
    ("channels.chat.digest", "500ms", "1s", "31d", "32d", timedelta(seconds=1), timedelta(31)),
]


@pytest.mark.parametrize(
    ("key", "low", "lowest", "highest", "high", "at_lowest", "at_highest"),
    BOUNDS,
    ids=[row[0] for row in BOUNDS],
)
def test_every_number_has_bounds(
    tmp_path: Path,
    key: str,
    low: str,
    lowest: str,
    highest: str,
    high: str,
    at_lowest: object,
    at_highest: object,
) -> None:
    line = 1 + len(key.split("."))
    for value, want in ((lowest, at_lowest), (highest, at_highest)):
        assert held(load_settings(write(tmp_path, nested(key, value)), environ={}), key) == want
    for value in (low, high):
        error = failure(write(tmp_path, nested(key, value)))
        assert error.line == line, value
        assert error.message.startswith(f"{key}: "), value
        assert value in error.message or "digest" in key, value


def test_kafka_timing_has_bounds_and_heartbeats_fit_a_session(tmp_path: Path) -> None:
    def kafka(text: str) -> Path:
        return write(tmp_path, f"kafka:\n{text}")

    default = load_settings(write(tmp_path, "feeds: []\n"), environ={}).kafka
    assert (default.session_timeout, default.heartbeat) == (10, 3)
    fast = load_settings(kafka("  session_timeout: 6s\n  heartbeat: 1s\n"), environ={}).kafka
    assert (fast.session_timeout, fast.heartbeat) == (6, 1)
    slow = load_settings(kafka("  session_timeout: 30m\n  heartbeat: 10m\n"), environ={}).kafka
    assert (slow.session_timeout, slow.heartbeat) == (1800, 600)
    low = load_settings(kafka("  session_timeout: 6s\n  heartbeat: 100ms\n"), environ={}).kafka
    assert low.heartbeat == 0.1
    for text, line, message in [
        ("  session_timeout: 5s\n", 2, "kafka.session_timeout: must be from 6s to 30m, got '5s'"),
        ("  session_timeout: 31m\n", 2, "kafka.session_timeout: must be from 6s to 30m"),
        ("  heartbeat: 50ms\n", 2, "kafka.heartbeat: must be from 0.1s to 10m, got '50ms'"),
        ("  heartbeat: 601s\n", 2, "kafka.heartbeat: must be from 0.1s to 10m"),
        (
            "  session_timeout: 6s\n  heartbeat: 3s\n",
            1,
            "kafka: heartbeat (3s) is more than a third of session_timeout (6s)",
        ),
    ]:
        error = failure(kafka(text))
        assert error.line == line, text
        assert error.message.startswith(message), error.message


def test_a_polls_lease_has_bounds_and_outlasts_its_fetch(tmp_path: Path) -> None:
    def fetch(text: str) -> Path:
        return write(tmp_path, f"fetch:\n{text}")

    assert load_settings(write(tmp_path, "feeds: []\n"), environ={}).fetch.lease is None
    short = load_settings(fetch("  timeout: 1s\n  lease: 1s\n"), environ={}).fetch
    assert short.lease == 1
    assert load_settings(fetch("  lease: 1d\n"), environ={}).fetch.lease == 86400
    for text, line, message in [
        ("  timeout: 1s\n  lease: 500ms\n", 3, "fetch.lease: must be from 1s to 1d, got '500ms'"),
        ("  lease: 25h\n", 2, "fetch.lease: must be from 1s to 1d"),
        (
            "  timeout: 30s\n  lease: 20s\n",
            1,
            "fetch: lease (20s) is less than timeout (30s): a poll would be made again",
        ),
    ]:
        error = failure(fetch(text))
        assert error.line == line, text
        assert error.message.startswith(message), error.message


def test_a_feed_interval_has_the_same_bounds(tmp_path: Path) -> None:
    text = "feeds:\n  - url: https://example.org/f.rss\n    interval: {}\n"
    assert load_settings(write(tmp_path, text.format("0.5s"))).feeds[0].interval == 0.5
    error = failure(write(tmp_path, text.format("0.05s")))
    assert (error.line, error.message) == (
        3,
        "feeds[0].interval: must be from 0.1s to 30d, got '0.05s'",
    )


def test_per_host_0_is_refused_at_check_time_with_file_line_and_key(tmp_path: Path) -> None:
    """The reported bug: it used to pass, and fail later with a traceback."""
    path = write(tmp_path, "feeds: []\nfetch:\n  timeout: 30s\n  per_host: 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert f"{path}:4: fetch.per_host: must be from 1 to 100, got 0" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("partitions: true\n", 1, "partitions: expected a whole number, got True"),
        ("partitions: 2.5\n", 1, "partitions: expected a whole number, got 2.5"),
        ("fetch:\n  per_host: many\n", 2, "fetch.per_host: expected a whole number, got 'many'"),
        (
            "health:\n  silence: .inf\n",
            2,
            "health.silence: must be more than 1 and at most 1000, got inf",
        ),
        (
            "health:\n  silence: .nan\n",
            2,
            "health.silence: must be more than 1 and at most 1000, got nan",
        ),
        ("health:\n  silence: often\n", 2, "health.silence: expected a number, got 'often'"),
        ("fetch:\n  timeout: [1]\n", 2, "fetch.timeout: invalid duration [1]"),
        ("fetch:\n  timeout: yes\n", 2, "fetch.timeout: expected a duration"),
        (
            "default_interval: 999999999999999999999d\n",
            1,
            "default_interval: must be from 0.1s to 30d",
        ),
        ("timezone: 5\n", 1, "timezone: expected an IANA timezone name"),
        ("timezone: America\n", 1, "timezone: unknown timezone 'America'"),
        (f"timezone: {'x' * 5000}\n", 1, "timezone: unknown timezone"),
        (
            "channels:\n  chat:\n    timezone: Mars/Olympus\n",
            3,
            "channels.chat.timezone: unknown timezone",
        ),
        (
            "channels:\n  chat:\n    digest: 99999999999d\n",
            3,
            "channels.chat.digest: invalid digest",
        ),
        ("channels:\n  chat:\n    digest: [1h]\n", 3, "channels.chat.digest: invalid digest"),
        (
            "channels:\n  chat:\n    digest: weekly@someday 08:00\n",
            3,
            "channels.chat.digest: invalid digest",
        ),
        ("channels:\n  chat:\n    quiet: 22:00\n", 3, "channels.chat.quiet: invalid quiet hours"),
        (
            "channels:\n  chat:\n    quiet: '07:00-07:00'\n",
            3,
            "channels.chat.quiet: invalid quiet hours",
        ),
        ("channels:\n  chat:\n    template: ''\n", 3, "channels.chat.template: not a usable path"),
        ('rules: "a\\0b"\n', 1, "rules: not a usable path"),
        ("data_dir: 5\n", 1, "data_dir: expected a path, got 5"),
        ("feeds:\n  - url: 'http://'\n", 2, "feeds[0].url: expected an http:// or https:// URL"),
        ("feeds:\n  - url: 'https://a.org:99999/x'\n", 2, "feeds[0].url: expected an http://"),
        ("feeds:\n  - url: 'https://a.org/a b'\n", 2, "feeds[0].url: expected an http://"),
        ("feeds:\n  - 5\n", 2, "feeds[0]: expected a feed (url: …) or an OPML file (opml: …)"),
        ("feeds:\n  - name: x\n", 2, "feeds[0].url: required, but missing"),
        ("feeds: hello\n", 1, "feeds: expected a list"),
        ("fetch: 5\n", 1, "fetch: expected a mapping"),
        ("stream: 'kafka://'\n", 1, "stream: expected memory:// or kafka://host:port"),
        ("stream: 'kafka://a:9092,b:70000'\n", 1, "stream: expected memory:// or kafka://"),
        ("app_id: 'my app'\n", 1, "app_id: expected 1 to 200 letters"),
        ("1: x\n", 1, "a key must be text, got 1"),
    ],
)
def test_wrong_values_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    error = failure(write(tmp_path, text))
    assert error.line == line
    assert error.message.startswith(message)


def test_kafka_with_several_brokers_and_postgres_are_accepted(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            "stream: kafka://k1:9092,k2:9093\nstorage: postgresql://u:p@db:5432/newsmon\n"
            "app_id: news.mon_1\n",
        )
    )
    assert (settings.stream, settings.app_id) == ("kafka://k1:9092,k2:9093", "news.mon_1")


def test_a_bad_storage_url_is_refused_without_showing_its_password(tmp_path: Path) -> None:
    error = failure(write(tmp_path, "storage: mysql://admin:s3cret@db/newsmon\n"))
    assert error.message.startswith("storage: expected sqlite:///")
    assert "s3cret" not in str(error)


def test_empty_sections_mean_their_defaults(tmp_path: Path) -> None:
    """Every line under ``feeds:`` or ``fetch:`` commented out is not an error."""
    settings = load_settings(
        write(tmp_path, "feeds:\n#  - url: https://x.org/f\nfetch:\nchannels:\n  admin:\n")
    )
    assert settings.feeds == ()
    assert settings.fetch.per_host == 2
    assert settings.channels["admin"].digest is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("feeds: []\npartitons: 4\n", 2, "partitons: unknown key (did you mean partitions?)"),
        ("fetch:\n  per_hots: 4\n", 2, "fetch.per_hots: unknown key (did you mean per_host?)"),
        ("per_host: 4\n", 1, "per_host: unknown key here (it belongs under fetch:)"),
        (
            "fetch:\n  timezone: UTC\n",
            2,
            "fetch.timezone: unknown key here (it belongs under the top level)",
        ),
        (
            "channels:\n  chat:\n    quite: '22:00-07:00'\n",
            3,
            "channels.chat.quite: unknown key (did you mean quiet?)",
        ),
        (
            "feeds:\n  - url: https://a.org/x\n    titel: A\n",
            3,
            "feeds[0].titel: unknown key (known here: url, name, interval)",
        ),
        (
            "feeds:\n  - opml: f.opml\n    name: A\n",
            3,
            "feeds[0].name: unknown key (known here: opml, interval)",
        ),
        ("zzz:\n  nested: 1\n", 1, "zzz: unknown key (known here: feeds, rules"),
    ],
    ids=[
        "top-typo",
        "typo",
        "misplaced-down",
        "misplaced-up",
        "channel",
        "feed",
        "opml",
        "unknown",
    ],
)
def test_unknown_keys_are_named_with_their_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    error = failure(write(tmp_path, text))
    assert error.line == line
    assert error.message.startswith(message)


def test_every_problem_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds: []\ntimezone: Mars/Base\nfetch:\n  per_host: 0\n  concurency: 4\npartitions: -1\n",
    )
    error = failure(path)
    assert error.line == 2
    lines = str(error).splitlines()
    assert [line.split(": ")[0:2] for line in lines] == [
        [f"{path}:2", "timezone"],
        [f"{path}:4", "fetch.per_host"],
        [f"{path}:5", "fetch.concurency"],
        [f"{path}:6", "partitions"],
    ]


def test_a_key_given_twice_is_an_error_not_the_last_one_wins(tmp_path: Path) -> None:
    error = failure(write(tmp_path, "feeds: []\nfetch:\n  per_host: 4\n  per_host: 8\n"))
    assert (error.line, error.message) == (4, "fetch.per_host: given twice (first on line 3)")


def test_a_feed_listed_twice_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: https://a.org/x\n  - url: https://a.org/x\n")
    error = failure(path)
    assert error.line == 3
    assert error.message == "feeds: https://a.org/x listed twice (also on line 2)"


def test_channel_tags_differing_only_in_case_are_one_tag(tmp_path: Path) -> None:
    error = failure(write(tmp_path, "channels:\n  chat: {}\n  Chat:\n    max_per_hour: 4\n"))
    assert (error.line, error.message) == (
        3,
        "channels.Chat: the same tag as chat (tags ignore case)",
    )


def test_a_bad_url_in_an_opml_file_names_the_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: https://a.org/x\n  - opml: feeds.opml\n")
    (path.parent / "feeds.opml").write_text(
        '<opml version="2.0"><body><outline text="X" xmlUrl="gopher://x.org/f"/></body></opml>'
    )
    error = failure(path)
    assert error.line == 3
    assert "feeds.opml" in error.message and "gopher://x.org/f" in error.message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("feeds: []\nfetch: {per_host: [}\n", 2, "invalid YAML: "),
        ("feeds: []\n\tpartitions: 2\n", 2, "invalid YAML: found character '\\t'"),
        ("feeds: []\nrules: \x01\n", 2, "invalid YAML: character #x0001 is not allowed"),
        (b"feeds: []\nrules: caf\xe9\n", 2, "not UTF-8 text: byte 0xe9"),
        ("- a\n- b\n", 1, "expected a mapping of settings"),
        ("feeds: " + "[" * 5000 + "]" * 5000 + "\n", 1, "invalid YAML: nested too deeply"),
    ],
    ids=["syntax", "tab", "control-character", "not-utf8", "not-a-mapping", "deep"],
)
def test_unreadable_files_name_the_line_in_one_line(
    tmp_path: Path, text: str | bytes, line: int, message: str
) -> None:
    error = failure(write(tmp_path, text))
    assert error.line == line
    assert error.message.startswith(message)
    assert "\n" not in str(error)


# --- ${VAR} ----------------------------------------------------------------------


def test_values_name_environment_variables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds:\n  - url: https://${FEED_HOST}/news.rss\n"
        "storage: postgresql://newsmon:${PGPASSWORD}@${PGHOST}:5432/newsmon\n"
        "fetch:\n  per_host: ${PER_HOST}\n"
        "timezone: ${TZ_NAME}\n",
    )
    environ = {
        "FEED_HOST": "news.example.org",
        "PGPASSWORD": "pa$$word",
        "PGHOST": "db",
        "PER_HOST": "4",
        "TZ_NAME": "Asia/Taipei",
    }
    settings = load_settings(path, environ=environ)
    assert settings.feeds[0].url == "https://news.example.org/news.rss"
    assert settings.storage == "postgresql://newsmon:pa$$word@db:5432/newsmon"
    assert settings.fetch.per_host == 4
    assert str(settings.timezone) == "Asia/Taipei"


def test_the_process_environment_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_TEST_PARTITIONS", "3")
    path = write(tmp_path, "partitions: ${NEWSMON_TEST_PARTITIONS}\n")
    assert load_settings(path).partitions == 3


def test_an_unset_variable_is_an_error_naming_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds: []\nstorage: postgresql://u:${PGPASSWORD}@db/newsmon\n")
    error = failure(path, environ={"HOME": "/root"})
    assert (error.line, error.message) == (
        2,
        "storage: environment variable PGPASSWORD is not set",
    )


def test_every_unset_variable_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: https://${HOST}/${PATH_PART}\nrules: ${RULES}\n")
    lines = str(failure(path)).splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "feeds[0].url: environment variable HOST is not set",
        "feeds[0].url: environment variable PATH_PART is not set",
        "rules: environment variable RULES is not set",
    ]


def test_a_set_but_bad_value_is_reported_like_any_other(tmp_path: Path) -> None:
    error = failure(write(tmp_path, "fetch:\n  per_host: ${N}\n"), environ={"N": "0"})
    assert (error.line, error.message) == (2, "fetch.per_host: must be from 1 to 100, got 0")


def test_double_dollar_writes_a_literal_reference_and_keys_are_not_expanded(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "app_id: newsmon\nrules: 'rules-$${X}'\n")
    assert load_settings(path, environ={}).rules_dir == path.parent / "rules-${X}"
    error = failure(write(tmp_path, "${KEY}: 1\n"), environ={"KEY": "partitions"})
    assert error.message.startswith("${KEY}: unknown key")


def test_a_dollar_brace_without_a_name_is_an_error(tmp_path: Path) -> None:
    error = failure(write(tmp_path, "rules: '${ RULES }'\n"))
    assert error.message.startswith("rules: '${' must start a ${NAME} reference")


def test_shipped_configs_are_valid() -> None:
    for config in ("config/monitor.yaml", "config/docker/monitor.yaml"):
        load_settings(REPO / config, environ={})
