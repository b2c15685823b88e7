"""Schema versions: create a new database, upgrade an older one, refuse a newer one.

A database records its version in the ``schema_version`` table (one row per
change applied; the highest is current). Version 1 is the schema newsmon had
before it kept versions, so a database with the v1 tables and no
``schema_version`` is adopted as version 1. When a store opens,
``prepare_schema``:

- creates a new (empty) database straight from ``monitor.store.schema`` and
  stamps it with the latest version;
- upgrades an older one by running, in order, each step above its version;
- refuses one whose version is newer than this newsmon knows (a ``ConfigError``:
  an older newsmon must not write to a schema it does not understand);
- does nothing more than one read when the version is current.

Creating and upgrading run in one transaction under a lock, so workers that start
together never race: PostgreSQL takes a transaction-scoped advisory lock
(``pg_advisory_xact_lock``, per database) and SQLite a write lock up front
(``BEGIN IMMEDIATE``). Whoever waited re-reads the version and finds the work
done. Both databases have transactional DDL, so a step that fails leaves the
database at the version it had.

Adding a migration:

1. Change the tables in ``monitor/store/schema.py`` (new databases get that).
2. Append ``Step(version=N + 1, summary=..., upgrade=fn)`` to ``STEPS`` below,
   where ``fn(conn)`` turns a version-N database into the new shape with a
   synchronous SQLAlchemy ``Connection`` (``conn.exec_driver_sql("ALTER TABLE
   ...")``, ``Index(...).create(conn)``; branch on ``conn.dialect.name`` where
   SQLite and PostgreSQL differ). Do not call ``metadata.create_all``: it
   describes the newest schema, not version N + 1.
3. Run tests/store/test_schema.py: it upgrades a frozen version-1 database of
   each backend and checks the result matches a newly created one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, inspect, select

from monitor.errors import ConfigError
from monitor.store.schema import V1_TABLES, metadata, schema_version

log = logging.getLogger("newsmon.store")

BASELINE = 1  # the schema newsmon created before it recorded versions

# Advisory locks are per database; the key only has to be newsmon's own.
_LOCK_KEY = int.from_bytes(b"newsmon", "big")


@dataclass(frozen=True, slots=True)
class Step:
    """One schema change: brings a database at ``version - 1`` to ``version``."""

    version: int
    summary: str
    upgrade: Callable[[Connection], None]


# In order, without gaps, the first one being version 2.
STEPS: tuple[Step, ...] = ()


def latest_version(steps: Sequence[Step] = STEPS) -> int:
    """The version a database has after ``steps``; checks they are in order."""
    for expected, step in enumerate(steps, start=BASELINE + 1):
        if step.version != expected:
            raise ValueError(f"schema step {step.version} out of order: expected {expected}")
    return steps[-1].version if steps else BASELINE


SCHEMA_VERSION = latest_version()


@dataclass(frozen=True, slots=True)
class _Found:
    version: int  # 0 for a database without newsmon's tables
    recorded: bool  # has a schema_version table


def prepare_schema(conn: Connection, steps: Sequence[Step] = STEPS) -> int:
    """Create, upgrade or check the schema on ``conn``; returns the version it is at.

    Raises ``ConfigError`` for a database newer than ``steps`` know, or when a
    step fails (which leaves the database as it was).
    """
    target = latest_version(steps)
    with conn.begin():
        found = _inspect(conn)
    _refuse_newer(found, target)
    if found.recorded and found.version == target:
        return target

    with conn.begin():
        _lock(conn)
        found = _inspect(conn)  # another worker may have done it while we waited
        _refuse_newer(found, target)
        if found.version == 0:
            metadata.create_all(conn)
            _record(conn, target, "new database")
            log.info("storage: created schema version %d", target)
            return target
        if not found.recorded:
            schema_version.create(conn)
            _record(conn, BASELINE, "version 1, found without a version record")
        for step in steps:
            if step.version <= found.version:
                continue
            try:
                step.upgrade(conn)
            except Exception as exc:
                reason = getattr(exc, "orig", None) or exc
                raise ConfigError(
                    f"upgrading the schema to version {step.version} ({step.summary}) "
                    f"failed, nothing was changed: {reason}"
                ) from exc
            _record(conn, step.version, step.summary)
        if found.version < target:
            log.info("storage: upgraded schema from version %d to %d", found.version, target)
    return target


def _inspect(conn: Connection) -> _Found:
    tables = set(inspect(conn).get_table_names())
    if schema_version.name in tables:
        version = conn.execute(select(func.max(schema_version.c.version))).scalar()
        return _Found(version=int(version or 0), recorded=True)
    return _Found(version=BASELINE if tables & V1_TABLES else 0, recorded=False)


def _refuse_newer(found: _Found, target: int) -> None:
    if found.version > target:
        raise ConfigError(
            f"the database has schema version {found.version}, but this newsmon knows "
            f"versions up to {target}: it was upgraded by a newer newsmon, so run that "
            "version (or point storage: at another database)"
        )


def _lock(conn: Connection) -> None:
    """Serialise schema work across processes until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    elif conn.dialect.name == "sqlite":
        # The driver opens transactions lazily, before the first INSERT/UPDATE,
        # and runs DDL outside them; an explicit BEGIN makes the DDL part of
        # this transaction and takes the write lock now (others wait, busy timeout).
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _record(conn: Connection, version: int, summary: str) -> None:
    conn.execute(
        schema_version.insert().values(
            version=version, applied_at=datetime.now(UTC), summary=summary
        )
    )
