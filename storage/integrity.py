"""Is a database file usable at all? ``PRAGMA quick_check`` before anything touches it.

A garbage or damaged ``cp.db`` or device-model database used to end start-up with a SQLite
traceback from deep inside the migration runner (issue #9), or, worse, from 260 actors at
once. run.py checks both files first and stops with exit code 2, the file and SQLite's reason.

``quick_check`` (not ``integrity_check``) verifies the b-tree pages, record formats and
free-list in one pass over the file, without the index-to-table cross-checks that make
``integrity_check`` O(N log N); it catches what a torn write, a truncated copy or a wrong file
look like, and takes milliseconds on a station's databases.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

__all__ = ["DatabaseFileError", "check_database_file"]

# quick_check lists at most this many problems; the first few say enough.
_REPORTED_PROBLEMS = 3


class DatabaseFileError(Exception):
    """A database file cannot be used; ``str()`` names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{path}: not a usable SQLite database ({reason})")
        self.path = str(path)
        self.reason = reason


def check_database_file(path: str | os.PathLike) -> None:
    """Raise DatabaseFileError unless `path` is missing (it will be created) or passes
    ``PRAGMA quick_check``.

    The check opens the file read-only, so a bad file is left as it was for the operator to
    inspect or move away.

    Raises:
        DatabaseFileError: SQLite refuses the file or quick_check reports a problem.
    """
    path = Path(path)
    if not path.exists():
        return
    if not path.is_file():
        raise DatabaseFileError(path, "not a regular file")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DatabaseFileError(path, str(exc)) from None
    try:
        rows = connection.execute(f"PRAGMA quick_check({_REPORTED_PROBLEMS})").fetchall()
    except sqlite3.Error as exc:           # "file is not a database", "disk image is malformed"
        raise DatabaseFileError(path, str(exc)) from None
    finally:
        connection.close()
    problems = [row[0] for row in rows if row[0] != "ok"]
    if problems:
        raise DatabaseFileError(path, "; ".join(problems))
