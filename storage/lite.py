"""Plain DB-API connections for the repositories that run in every per-EVSE process.

Theory of operation
-------------------
The station forks one process per Evse (up to 128). A SQLAlchemy engine in each of them costs
about 5.6 MB of private memory per process (measured with ``/proc/self/smaps_rollup`` after a
fork: engine creation, the migration check and the first compiled statement touch thousands of
shared objects, and every touched page becomes a private copy), which alone would break the
station's memory budget. A ``sqlite3`` connection costs about 0.7 MB.

So the repositories used by those processes speak SQL through the standard library, on the
same database file and the same (libocpp) tables. Everything else (the migration runner, the
device model) stays on SQLAlchemy. The schema is never changed here: :func:`connect` requires
the database to be at the newest migration, applying them through
:func:`storage.database.open_database` first if needed.

Connections are in autocommit mode; :func:`transaction` opens ``BEGIN IMMEDIATE`` (the write
lock up front, like the SQLAlchemy engines of ``storage.database``) and commits or rolls back.
"""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from storage.database import BUSY_TIMEOUT_MS, MEMORY, open_database
from storage.migrate import SchemaTooNewError, newest_version


def connect(path: str | os.PathLike, migrations_dir: str | os.PathLike) -> sqlite3.Connection:
    """Open ``path`` for reading and writing rows; the schema must be (or is brought) current.

    Raises:
        SchemaTooNewError: the database was written by a newer schema.
    """
    if str(path) == MEMORY:
        raise ValueError("an in-memory database is private to one connection; "
                         "use storage.database.open_database for tests")
    newest = newest_version(migrations_dir)
    connection = _open(path)
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > newest:
        connection.close()
        raise SchemaTooNewError(str(path), version, newest, migrations_dir)
    if version < newest:
        connection.close()
        open_database(path, migrations_dir).dispose()
        connection = _open(path)
    return connection


def _open(path: str | os.PathLike) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolls back on any exception."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
