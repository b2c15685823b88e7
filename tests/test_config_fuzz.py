"""Hypothesis fuzzes the config loader: whatever the file holds, loading it
either gives Settings or raises ConfigError naming the file and a line of it.
Any other exception (a traceback for the user) fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import Settings, load_settings
from monitor.errors import ConfigError

ENVIRON = {"HOME": "/home/newsmon", "NEWSMON_HOSTS": "4", "NEWSMON_EMPTY": ""}

# The keys of each mapping of the file, so that documents reach the validators.
SECTIONS: dict[str, list[str]] = {
    "fetch": ["timeout", "connect_timeout", "max_bytes", "per_host", "concurrency", "lease"],
    "alerts": ["max_age", "story_window", "max_item_age", "check_every", "lease"],
    "health": ["failures", "silence", "min_silence"],
    "retention": ["items", "alerts"],
    "kafka": ["session_timeout", "heartbeat"],
}
TOP = [
    "rules", "notify", "data_dir", "storage", "stream", "app_id", "partitions",
    "replication", "default_interval", "timezone",
]  # fmt: skip
CHANNEL = ["digest", "quiet", "max_per_hour", "template", "timezone"]
FEED = ["url", "name", "interval", "opml"]

# Values near the edges of what each kind of setting takes.
SPECIMENS = [
    "0", "-1", "1", "1.5", "2", "100", "101", "1000", "3600", "1e400", "1_000", "0x10",
    "500ms", "1s", "30s", "5m", "1h", "1h30m", "30d", "31d", "3651d", "99999999999999999d",
    "daily@08:00", "daily@24:00", "weekly@mon 08:00", "weekly@xyz 08:00", "weekly@m 8:00",
    "22:00-07:00", "24:00-01:00", "07:00-07:00", "12:00-24:00",
    "UTC", "Europe/London", "Mars/Olympus", "America", "../../etc/passwd", "", " ",
    "${HOME}", "${NEWSMON_HOSTS}", "${NEWSMON_EMPTY}", "${NEWSMON_UNSET}", "$${HOME}", "${",
    "${ HOME }", "a\0b", "memory://", "kafka://", "kafka://h:9092,k:9093", "kafka://h:99999",
    "sqlite:///x.db", "sqlite://", "postgresql://u:p@db/n", "mysql://u:p@db/n",
    "http://example.org/f.rss", "https://", "ftp://example.org/f", "https://[::1/f",
    "https://a.org:0/f", "feeds.opml", ".", "/",
]  # fmt: skip

keys = st.one_of(
    st.sampled_from([*TOP, *SECTIONS, *CHANNEL, *FEED, "feeds", "channels"]),
    st.text(max_size=8),
    st.integers(),
    st.none(),
    st.booleans(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(SPECIMENS),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)


def mapping_of(names: list[str]) -> st.SearchStrategy[dict[Any, Any]]:
    """Some of ``names`` with any values, now and then a key of anything."""
    return st.dictionaries(st.sampled_from(names) | keys, values, max_size=len(names))


configs = st.fixed_dictionaries(
    {},
    optional={
        **{key: values for key in TOP},
        **{section: mapping_of(names) | values for section, names in SECTIONS.items()},
        "feeds": st.lists(mapping_of(FEED) | values, max_size=3) | values,
        "channels": st.dictionaries(st.text(max_size=6), mapping_of(CHANNEL) | values, max_size=2),
    },
)


def dumped(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


documents = st.one_of(
    configs.map(dumped),
    # a valid document, then cut, or with a character in the wrong place
    st.tuples(
        configs.map(dumped), st.integers(min_value=0), st.characters(exclude_categories=["Cs"])
    ).map(lambda t: t[0][: t[1] % (len(t[0]) + 1)] + t[2] + t[0][t[1] % (len(t[0]) + 1) :]),
    st.text(),
    values.map(dumped),
)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "monitor.yaml"


def load(path: Path, content: str | bytes) -> Settings | ConfigError:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    try:
        return load_settings(path, environ=ENVIRON)
    except ConfigError as error:
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        lines = len(text.splitlines()) + 1  # YAML breaks lines at \r, NEL, LS and PS too
        assert error.path == str(path)
        assert error.line is not None and 1 <= error.line <= lines, error
        assert str(error).startswith(f"{path}:{error.line}: ")
        return error


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(document=documents)
def test_any_document_loads_or_fails_with_file_and_line(config_file: Path, document: str) -> None:
    load(config_file, document)


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=200))
def test_any_bytes_load_or_fail_with_file_and_line(config_file: Path, content: bytes) -> None:
    load(config_file, content)


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(
        [*TOP, *(f"{s}.{k}" for s, names in SECTIONS.items() for k in names)]
        + [f"channels.chat.{k}" for k in CHANNEL]
        + [f"feeds.0.{k}" for k in ("name", "interval")]
    ),
    value=scalars,
)
def test_any_value_of_a_known_key_is_taken_or_refused_at_its_line(
    config_file: Path, key: str, value: Any
) -> None:
    document: dict[Any, Any] = {}
    if key.startswith("feeds."):
        document["feeds"] = [{"url": "https://example.org/f.rss", key.split(".")[2]: value}]
    else:
        parts = key.split(".")
        inner = document
        for part in parts[:-1]:
            inner = inner.setdefault(part, {})
        inner[parts[-1]] = value
    text = dumped(document)
    result = load(config_file, text)
    if isinstance(result, ConfigError):
        section = key.split(".")[0]
        if section in SECTIONS and result.message.startswith(f"{section}: "):
            # a rule between the section's keys (a heartbeat within a session, a
            # lease outlasting the timeout): about the section, on its line
            assert result.line == 1, (text, result)
            return
        # the error is about this key, on its line (or the line of its entry)
        last = key.split(".")[-1]
        where = next(n for n, line in enumerate(text.splitlines(), 1) if f"{last}:" in line)
        assert result.line == where, (text, result)
        shown = key.replace("feeds.0", "feeds[0]")
        assert result.message.startswith((f"{shown}: ", "invalid YAML", "feeds[0].url")), result
