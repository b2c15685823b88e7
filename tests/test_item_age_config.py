"""alerts.max_item_age in config/monitor.yaml: a duration, 48 hours unless set."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError


def settings_of(tmp_path: Path, text: str) -> float:
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    return load_settings(path).alerts.max_item_age


def test_max_item_age_is_two_days_unless_set(tmp_path: Path) -> None:
    assert settings_of(tmp_path, "feeds: []\n") == 48 * 3600
    assert settings_of(tmp_path, "alerts:\n  max_item_age: 7d\n") == 7 * 86400


@pytest.mark.parametrize("value", ["0", "-1h", "soon"])
def test_a_max_item_age_that_is_not_a_positive_duration_is_refused(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ConfigError, match="max_item_age") as error:
        settings_of(tmp_path, f"alerts:\n  max_item_age: {value}\n")
    assert error.value.line == 2
