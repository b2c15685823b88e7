"""The retention setting: how long the service keeps seen items, their texts
and stories (``items``), and delivered and dead alerts and the messages sent
(``alerts``). (tests/e2e/test_pruning_at_start.py watches the service prune by it.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    return path


def test_item_texts_are_kept_30_days_unless_said_otherwise(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "feeds: []\n")).retention.items == 30 * 86400
    custom = load_settings(write(tmp_path, "feeds: []\nretention: {items: 90d}\n"))
    assert custom.retention.items == 90 * 86400
    hours = load_settings(write(tmp_path, "feeds: []\nretention:\n  items: 12h\n"))
    assert hours.retention.items == 12 * 3600


def test_alerts_are_kept_90_days_unless_said_otherwise(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "feeds: []\n")).retention.alerts == 90 * 86400
    both = load_settings(write(tmp_path, "feeds: []\nretention: {items: 7d, alerts: 365d}\n"))
    assert (both.retention.items, both.retention.alerts) == (7 * 86400, 365 * 86400)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("feeds: []\nretention:\n  items: a month\n", 3, "retention.items: invalid"),
        ("feeds: []\nretention:\n  items: 0\n", 3, "retention.items: invalid"),
        ("feeds: []\nretention:\n  items: 7d\n  notes: 90d\n", 4, "retention.notes: unknown key"),
        ("feeds: []\nretention: 30d\n", 2, "retention: expected a mapping"),
    ],
    ids=["bad-duration", "zero", "unknown-key", "not-a-mapping"],
)
def test_retention_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}:{line}: {words}")
