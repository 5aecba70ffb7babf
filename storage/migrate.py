"""Numbered SQL migrations, tracked with ``PRAGMA user_version``.

Theory of operation
-------------------
A migrations folder holds plain SQL files named like libocpp's (``config/v2/core_migrations``,
``config/v2/device_model_migrations``)::

    1_up-initial.sql                      the initial schema; no 1_down is needed
    2_up-auth_cache_management.sql        2_down-auth_cache_management.sql
    3_up-...sql                           3_down-...sql

``N_up`` takes a database from schema version N-1 to N, ``N_down`` takes it back from N to N-1.
The schema version is SQLite's ``PRAGMA user_version`` (0 for a new, empty file), which is also
what libocpp reads, so a database file carries its version with it and either program can open
a file the other wrote as long as both know that version.

``load_migrations`` reads and validates the whole folder before anything is applied: numbers run
1..M without gaps or duplicates, every ``N_up`` from 2 on has an ``N_down`` (so an older program can
always step back), no ``N_down`` lacks its ``N_up``, every ``*.sql`` name matches the pattern, and no
file contains its own transaction control (BEGIN/COMMIT/END/ROLLBACK) or sets ``user_version``,
because the runner owns both. A ``1_down`` is allowed (it lets a test or a tool go back to an empty
database) but libocpp never has one: its SchemaUpdater treats version 1 as the floor.

``migrate`` then steps one migration at a time towards the target. Each step is one SQLite
transaction that runs the file and sets the new ``user_version``, so a failing file leaves the
database exactly at the version it had before that file, and the error names the file. The step is
handed to ``sqlite3.Connection.executescript`` as one script::

    BEGIN IMMEDIATE;
    SELECT <guard>(user_version) FROM pragma_user_version;   -- still the version we planned from?
    <the file>
    PRAGMA user_version = <new>;
    COMMIT;

The transaction statements are part of the script because ``executescript`` (Python 3.11) first
COMMITs whatever transaction is open on the connection: a BEGIN issued before the call would be
committed before the file runs. On any error the script stops where it is, the transaction is
still open, and the runner rolls it back.

The guard is for several processes opening the same database at start-up (actors under
multiprocTCPBase). ``BEGIN IMMEDIATE`` takes the write lock, and the guard re-reads
``user_version`` under that lock; if another process migrated in the meantime, the guard aborts the
step, the runner rolls back and plans again from the version it now reads. Without it a second
process could re-apply a file that happens to be idempotent (``CREATE TABLE IF NOT EXISTS``) and set
``user_version`` back.

A database whose ``user_version`` is above the newest migration in the folder was written by a newer
program; nothing is touched and ``SchemaTooNewError`` says so.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy

__all__ = [
    "Migration",
    "MigrationError",
    "SchemaTooNewError",
    "Script",
    "load_migrations",
    "migrate",
    "newest_version",
    "schema_version",
]

log = logging.getLogger(__name__)

# libocpp's SchemaUpdater accepts ``^(\d+)_(up|down)(-[ \S]+|)\.sql$``: number, direction and an
# optional description introduced by a hyphen.
_FILENAME = re.compile(r"^(?P<version>[0-9]+)_(?P<direction>up|down)(?:-(?P<description>[^\n]+))?\.sql$")

# Statements a migration file may not contain (see the module docstring).
_TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK"})
_SETS_USER_VERSION = re.compile(r"^PRAGMA\s+(?:\"?\w+\"?\s*\.\s*)?\"?user_version\"?\s*[=(]", re.IGNORECASE)
# Whitespace and complete comments; used to find the first keyword of a statement.
_SKIP = re.compile(r"\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/", re.DOTALL)
_KEYWORD = re.compile(r"[A-Za-z_]+")

# Name of the SQL function the runner registers for the duration of one step.
_GUARD_FUNCTION = "migration_runner_expect_user_version"


class MigrationError(RuntimeError):
    """The migrations folder is invalid, a target cannot be reached, or a migration file failed.

    The message names the offending file (or folder). After a failed file the database is at the
    version it had before that file.
    """


class SchemaTooNewError(RuntimeError):
    """The database's schema version is newer than the newest migration this program knows.

    Attributes:
        path: The database file (``":memory:"`` for an in-memory database).
        version: The database's ``user_version``.
        newest: The newest migration number in the migrations folder.
    """

    def __init__(self, path: str, version: int, newest: int, migrations_dir: str | os.PathLike) -> None:
        self.path = path
        self.version = version
        self.newest = newest
        super().__init__(
            f"{path} has schema version {version}, this program knows up to {newest}; it was "
            f"written by a newer version of this program (or of libocpp). Run that newer version "
            f"to migrate it down to {newest} first, or use another database file. "
            f"(migrations folder: {migrations_dir})"
        )


@dataclass(frozen=True)
class Script:
    """One migration file, read and checked.

    Attributes:
        path: Where the file is.
        sql: Its contents, possibly many statements.
    """

    path: Path
    sql: str


@dataclass(frozen=True)
class Migration:
    """The up/down pair with one number.

    Attributes:
        version: The schema version ``up`` leads to (``down`` leads to ``version - 1``).
        up: The ``N_up`` file.
        down: The ``N_down`` file; only migration 1 may lack it.
    """

    version: int
    up: Script
    down: Script | None


def load_migrations(migrations_dir: str | os.PathLike) -> tuple[Migration, ...]:
    """Read and validate every migration in a folder.

    Files not ending in ``.sql`` are ignored (READMEs, ``.gitkeep``).

    Args:
        migrations_dir: The folder, e.g. ``migrations/core``.

    Returns:
        The migrations in order; element ``i`` has version ``i + 1``. Empty for an empty folder.

    Raises:
        MigrationError: The folder is missing, a ``.sql`` name does not match ``N_up[-desc].sql`` /
            ``N_down[-desc].sql``, a number is 0, duplicated or skipped, an ``N_up`` (N >= 2) has
            no ``N_down`` or the other way round, or a file is not valid for the runner. The
            message names the file.
    """
    folder = Path(migrations_dir)
    if not folder.is_dir():
        raise MigrationError(f"{folder}: migrations folder does not exist or is not a folder")

    ups: dict[int, Path] = {}
    downs: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.name.endswith(".sql"):
            continue
        match = _FILENAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path}: migration file names must look like N_up-description.sql or "
                f"N_down-description.sql (libocpp's naming)"
            )
        if not path.is_file():
            raise MigrationError(f"{path}: not a regular file")
        version = int(match["version"])
        if version == 0:
            raise MigrationError(f"{path}: migration numbers start at 1 (version 0 is the empty database)")
        same_direction = ups if match["direction"] == "up" else downs
        if version in same_direction:
            raise MigrationError(
                f"{path}: duplicate migration number {version}, also used by {same_direction[version].name}"
            )
        same_direction[version] = path

    for version, path in sorted(downs.items()):
        if version not in ups:
            raise MigrationError(f"{path}: down migration without a matching {version}_up file")

    newest = max(ups, default=0)
    migrations = []
    for version in range(1, newest + 1):
        if version not in ups:
            following = ups[min(v for v in ups if v > version)]
            raise MigrationError(
                f"{following}: migration {version} is missing; numbers must run from 1 to {newest} "
                f"without gaps"
            )
        # Version 1 is libocpp's initial schema and has no down file there; every later migration
        # needs one so that an older program can step the database back to a version it knows.
        if version >= 2 and version not in downs:
            raise MigrationError(
                f"{ups[version]}: has no {version}_down file; every migration after the first "
                f"needs one so older versions can downgrade"
            )
        down = downs.get(version)
        migrations.append(
            Migration(version, _read_script(ups[version]), _read_script(down) if down else None)
        )
    return tuple(migrations)


def newest_version(migrations_dir: str | os.PathLike) -> int:
    """The newest schema version the folder's migrations lead to (0 for an empty folder)."""
    return len(load_migrations(migrations_dir))


def schema_version(engine: sqlalchemy.Engine) -> int:
    """The database's current ``PRAGMA user_version``."""
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA user_version").scalar_one())


def migrate(engine: sqlalchemy.Engine, migrations_dir: str | os.PathLike, target: int | None = None) -> int:
    """Bring the database to a schema version, up or down, one file per transaction.

    Safe to call on every start: a database already at the target is left alone.

    Args:
        engine: A SQLAlchemy engine on a SQLite database (from ``storage.database.open_database``
            or any other sqlite engine).
        migrations_dir: The folder with the numbered files.
        target: The version to reach; ``None`` means the newest in the folder. 0 is only
            reachable if the folder has a ``1_down`` file.

    Returns:
        The database's ``user_version`` afterwards (equal to the target).

    Raises:
        SchemaTooNewError: The database's version is above the newest migration in the folder.
            Nothing was changed.
        MigrationError: The folder is invalid, the target is out of range, or a file failed to
            apply. Migrations that completed before the failing one stay applied; the database
            is at the version before the failing file.
    """
    migrations = load_migrations(migrations_dir)
    newest = len(migrations)
    if target is None:
        target = newest
    if not 0 <= target <= newest:
        raise MigrationError(
            f"{migrations_dir}: cannot migrate to version {target}; the migrations there lead to "
            f"versions 0..{newest}"
        )

    database = engine.url.database or ":memory:"
    raw = engine.raw_connection()
    try:
        connection: sqlite3.Connection = raw.driver_connection
        while True:
            current = _read_user_version(connection)
            if current > newest:
                raise SchemaTooNewError(database, current, newest, migrations_dir)
            if current == target:
                return current
            if current < target:
                migration = migrations[current]  # leads from `current` to `current + 1`
                script, new_version = migration.up, migration.version
            else:
                if target == 0 and migrations[0].down is None:
                    # Refused before the first down step, so the downgrade does not stop half-way.
                    raise MigrationError(
                        f"{migrations[0].up.path}: cannot migrate below version 1 because there is "
                        f"no 1_down file (libocpp never downgrades below its initial schema)"
                    )
                migration = migrations[current - 1]  # leads from `current - 1` to `current`
                assert migration.down is not None  # only 1_down may be missing, handled above
                script, new_version = migration.down, migration.version - 1
            if _apply(connection, script, expected_version=current, new_version=new_version):
                log.info("%s: schema version %d -> %d (%s)", database, current, new_version, script.path.name)
            else:
                log.info("%s: another connection migrated the database; re-reading its version", database)
    finally:
        raw.close()


def _read_user_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


class _VersionMoved(Exception):
    """Raised inside SQLite by the guard function; never leaves this module."""


def _apply(
    connection: sqlite3.Connection, script: Script, *, expected_version: int, new_version: int
) -> bool:
    """Run one migration file and set ``user_version``, all in one transaction.

    Returns:
        True if applied; False if the database was no longer at ``expected_version`` once the
        write lock was held (another connection migrated it), in which case nothing changed.

    Raises:
        MigrationError: The file failed; the transaction was rolled back.
    """
    moved = False

    def expect_user_version(actual: int) -> int:
        nonlocal moved
        if actual != expected_version:
            moved = True
            raise _VersionMoved
        return 1

    # "\n;\n" ends a final statement written without ';' and a trailing "--" comment, so the
    # runner's own statements below cannot be swallowed (unterminated /* */ is rejected earlier).
    wrapped = (
        "BEGIN IMMEDIATE;\n"
        f"SELECT {_GUARD_FUNCTION}(user_version) FROM pragma_user_version;\n"
        f"{script.sql}\n;\n"
        f"PRAGMA user_version = {int(new_version)};\n"
        "COMMIT;\n"
    )
    connection.create_function(_GUARD_FUNCTION, 1, expect_user_version)
    try:
        connection.executescript(wrapped)
    except sqlite3.Error as exc:
        # Some errors (e.g. SQLITE_FULL) make SQLite roll back on its own; only roll back if a
        # transaction is still open.
        if connection.in_transaction:
            connection.rollback()
        if moved:
            return False
        raise MigrationError(
            f"{script.path}: {exc}; the database stays at schema version {expected_version}"
        ) from exc
    finally:
        connection.create_function(_GUARD_FUNCTION, 1, None)
    return True


def _read_script(path: Path) -> Script:
    """Read a migration file and reject what would break the runner's transaction handling."""
    try:
        sql = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError(f"{path}: cannot read: {exc}") from exc
    statements, rest = _split_statements(sql)
    for number, statement in enumerate(statements, start=1):
        _check_statement(path, _strip_leading_comments(statement, path), number)
    tail = _strip_leading_comments(rest, path)
    if tail:
        if not sqlite3.complete_statement(tail + ";"):
            raise MigrationError(f"{path}: ends inside an unterminated statement or string: {tail[:60]!r}")
        # A last statement without ';' is accepted (the runner terminates it).
        _check_statement(path, tail, len(statements) + 1)
    return Script(path, sql)


def _check_statement(path: Path, body: str, number: int) -> None:
    """Reject a statement that would interfere with the runner (``body`` starts at its keyword)."""
    keyword = _KEYWORD.match(body)
    if keyword and keyword.group().upper() in _TRANSACTION_CONTROL:
        raise MigrationError(
            f"{path}: statement {number} ({keyword.group().upper()}) controls the transaction; "
            f"the migration runner wraps each file in its own transaction"
        )
    if _SETS_USER_VERSION.match(body):
        raise MigrationError(f"{path}: statement {number} sets user_version; the migration runner does that")


def _split_statements(sql: str) -> tuple[list[str], str]:
    """Split SQL text into complete statements (SQLite's own tokenizer decides) and the rest.

    ``sqlite3.complete_statement`` knows about strings, comments and ``CREATE TRIGGER ... BEGIN
    ... END;`` bodies, so a ';' inside any of them does not end a statement.
    """
    statements = []
    start = 0
    index = sql.find(";")
    while index != -1:
        if sqlite3.complete_statement(sql[start : index + 1]):
            statements.append(sql[start : index + 1])
            start = index + 1
        index = sql.find(";", index + 1)
    return statements, sql[start:]


def _strip_leading_comments(text: str, path: Path) -> str:
    position = 0
    while True:
        match = _SKIP.match(text, position)
        if match is None or match.end() == position:
            break
        position = match.end()
    if text.startswith("/*", position):
        raise MigrationError(f"{path}: unterminated /* comment")
    return text[position:]
