"""Replay tests run on every backend, like the store's: a SQLite file, and a
scratch database on the local PostgreSQL server (scripts/postgres start;
skipped when it is not running, except under CI=true)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.services import postgres_scratch_url, postgres_service

__all__ = ["postgres_scratch_url", "postgres_service"]  # fixtures, found by name


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``storage:`` URL of an empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'newsmon.db'}"
    url: str = request.getfixturevalue("postgres_scratch_url")
    return url
