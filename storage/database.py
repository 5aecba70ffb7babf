"""SQLite engines for the station's databases (core and device model).

Theory of operation
-------------------
``open_database`` is the only way the station opens a database. It returns a SQLAlchemy 2 Core
``Engine`` whose schema is already at the newest version of the given migrations folder, so a
repository built on it can use its tables at once. Every connection the engine makes is set up
the same way by a ``connect`` event listener:

- ``PRAGMA busy_timeout = 5000``: another process holding the write lock makes us wait up to 5 s
  instead of failing at once with "database is locked" (the station runs actors in several
  processes that share a database file).
- ``PRAGMA foreign_keys = ON``: SQLite leaves them off per connection unless asked; libocpp's
  schema relies on them (meter values, device model).
- ``PRAGMA journal_mode = WAL`` (files only): readers do not block the writer and the other way
  round. The mode is stored in the file, so libocpp opening it later is unaffected.
- ``PRAGMA synchronous = NORMAL``: with WAL this still never corrupts the database; a power loss
  can only lose the last transactions before the most recent checkpoint of the WAL.

Transactions. Python 3.11's sqlite3 module by default starts a transaction only before
INSERT/UPDATE/DELETE, so a SELECT followed by an UPDATE inside ``engine.begin()`` is not atomic and
DDL commits on its own. The engine therefore uses SQLAlchemy's documented recipe: the driver's own
BEGIN handling is switched off (``isolation_level = None``) and a ``begin`` event listener emits
``BEGIN IMMEDIATE`` whenever SQLAlchemy starts a transaction. IMMEDIATE takes the write lock at
the start, so a transaction never fails half-way with SQLITE_BUSY when a read turns into a write;
other writers wait through busy_timeout. Keep transactions short (``with engine.begin() as c:``
around one repository operation) and never keep a ``Connection`` open between operations.

``":memory:"`` gives an in-memory database shared by every connection of the engine (a
``StaticPool`` holds one connection), which is what unit tests use; it disappears with
``close_engine``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from storage.migrate import MigrationError, SchemaTooNewError, migrate

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MEMORY",
    "MigrationError",
    "SchemaTooNewError",
    "close_engine",
    "create_sqlite_engine",
    "open_database",
]

log = logging.getLogger(__name__)

MEMORY = ":memory:"
BUSY_TIMEOUT_MS = 5000


def open_database(path: str | os.PathLike, migrations_dir: str | os.PathLike) -> sqlalchemy.Engine:
    """Open (or create) a SQLite database and bring its schema to the newest migration.

    Args:
        path: The database file; its parent folders are created. ``":memory:"`` for a private
            in-memory database.
        migrations_dir: The numbered migration files for this database (``migrations/core`` or
            ``migrations/device_model``).

    Returns:
        The engine. Call ``close_engine`` when done with it.

    Raises:
        SchemaTooNewError: The file was written by a newer program (its ``user_version`` is above
            the newest migration in ``migrations_dir``). The file is left untouched.
        MigrationError: The migrations folder is invalid or a migration failed; the database is at
            the last version that applied cleanly.
    """
    engine = create_sqlite_engine(path)
    try:
        version = migrate(engine, migrations_dir)
    except BaseException:
        engine.dispose()
        raise
    log.info("opened %s at schema version %d", engine.url.database or MEMORY, version)
    return engine


def create_sqlite_engine(path: str | os.PathLike) -> sqlalchemy.Engine:
    """An engine configured as described in the module docstring, without running migrations.

    Most callers want ``open_database``; this is for tools and tests that drive ``migrate``
    themselves.

    Args:
        path: The database file (parent folders are created) or ``":memory:"``.
    """
    path_text = os.fspath(path)
    in_memory = path_text == MEMORY
    if in_memory:
        # One shared connection: with a pool of several, each would open its own empty database.
        engine = sqlalchemy.create_engine(
            "sqlite+pysqlite://",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
    else:
        Path(path_text).parent.mkdir(parents=True, exist_ok=True)
        url = sqlalchemy.URL.create("sqlite+pysqlite", database=path_text)
        engine = sqlalchemy.create_engine(url)

    @event.listens_for(engine, "connect")
    def _configure_connection(dbapi_connection, _connection_record) -> None:
        # SQLAlchemy, not the driver, decides where transactions begin (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another process may hold.
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def close_engine(engine: sqlalchemy.Engine) -> None:
    """Close every connection of the engine.

    For a file this also lets SQLite checkpoint the WAL into the main file when the last
    connection closes; for ``":memory:"`` the database is gone afterwards.
    """
    engine.dispose()
