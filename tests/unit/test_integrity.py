"""storage.integrity: a bad database file is named, with SQLite's reason, before start-up
touches it (issue #9)."""
from __future__ import annotations

import sqlite3

import pytest

from storage.integrity import DatabaseFileError, check_database_file


def real_database(path, rows: int = 2000) -> None:
    """A database of many pages, as the station's are after a while."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT)")
        connection.execute("CREATE INDEX t_text ON t (text)")
        connection.executemany("INSERT INTO t (text) VALUES (?)",
                               [(f"row {n} " * 10,) for n in range(rows)])
    connection.close()


class TestCheckDatabaseFile:
    def test_a_missing_file_is_fine_it_will_be_created(self, tmp_path):
        check_database_file(tmp_path / "cp.db")

    def test_a_sound_database_passes(self, tmp_path):
        real_database(tmp_path / "cp.db")
        check_database_file(tmp_path / "cp.db")

    def test_an_empty_file_is_an_empty_database(self, tmp_path):
        (tmp_path / "cp.db").write_bytes(b"")
        check_database_file(tmp_path / "cp.db")

    def test_garbage_is_named_with_the_reason(self, tmp_path):
        path = tmp_path / "cp.db"
        path.write_bytes(b"this is not a database, just some text\n" * 200)
        with pytest.raises(DatabaseFileError) as error:
            check_database_file(path)
        assert str(path) in str(error.value)
        assert "not a database" in error.value.reason

    def test_a_truncated_database_is_refused(self, tmp_path):
        path = tmp_path / "cp.db"
        real_database(path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
        with pytest.raises(DatabaseFileError) as error:
            check_database_file(path)
        assert str(path) in str(error.value)

    def test_overwritten_pages_are_refused(self, tmp_path):
        path = tmp_path / "cp.db"
        real_database(path)
        data = bytearray(path.read_bytes())
        page = 4096
        data[3 * page:6 * page] = b"\xa5" * (3 * page)     # three pages of the b-trees
        path.write_bytes(bytes(data))
        with pytest.raises(DatabaseFileError):
            check_database_file(path)

    def test_a_folder_is_refused(self, tmp_path):
        (tmp_path / "cp.db").mkdir()
        with pytest.raises(DatabaseFileError, match="not a regular file"):
            check_database_file(tmp_path / "cp.db")

    def test_the_check_leaves_the_file_as_it_was(self, tmp_path):
        path = tmp_path / "cp.db"
        path.write_bytes(b"garbage" * 100)
        with pytest.raises(DatabaseFileError):
            check_database_file(path)
        assert path.read_bytes() == b"garbage" * 100
