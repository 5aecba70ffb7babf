"""Tests for storage/migrate.py and storage/database.py (migration runner, engine set-up)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy

import storage.migrate as migrate_module
from storage.database import BUSY_TIMEOUT_MS, close_engine, create_sqlite_engine, open_database
from storage.migrate import (
    MigrationError,
    SchemaTooNewError,
    load_migrations,
    migrate,
    newest_version,
    schema_version,
)

CORE = Path(__file__).resolve().parents[2] / "migrations" / "core"
CORE_NEWEST = 8
LIBOCPP_CORE_NEWEST = 6
# The project's own tables after libocpp's: 7 per-EVSE state, 8 reservations.
PROJECT_CORE_TABLES = {"EVSE_STATE", "RESERVATIONS"}

# libocpp's core tables at its newest core migration (config/v2/core_migrations/6_up-*.sql),
# plus the project's own.
CORE_TABLES = PROJECT_CORE_TABLES | {
    "AUTH_CACHE",
    "AUTH_LIST",
    "AUTH_LIST_VERSION",
    "AVAILABILITY",
    "CHARGING_PROFILES",
    "LOCATION_ENUM",
    "MEASURAND_ENUM",
    "METER_VALUES",
    "METER_VALUE_ITEMS",
    "NORMAL_QUEUE",
    "PHASE_ENUM",
    "READING_CONTEXT_ENUM",
    "TRANSACTIONS",
    "TRANSACTION_QUEUE",
}


def tables(engine: sqlalchemy.Engine) -> set[str]:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows if not name.startswith("sqlite_")}


def columns(engine: sqlalchemy.Engine, table: str) -> list[str]:
    with engine.connect() as connection:
        return [row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table})")]


def write_migrations(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


# A small folder with a 1_down, so tests can go all the way back to an empty database.
TOY = {
    "1_up-first.sql": "CREATE TABLE A (X INT);\nINSERT INTO A VALUES (1);\n",
    "1_down-first.sql": "DROP TABLE A;\n",
    "2_up-second.sql": "CREATE TABLE B (Y INT);\n",
    "2_down-second.sql": "DROP TABLE B;\n",
    "3_up-third.sql": "ALTER TABLE A ADD COLUMN Z TEXT;",
    "3_down-third.sql": "ALTER TABLE A DROP COLUMN Z;",
}


@pytest.fixture
def memory_engine():
    engine = create_sqlite_engine(":memory:")
    yield engine
    close_engine(engine)


class TestCoreMigrations:
    """migrations/core reproduces libocpp's core database, version by version."""

    def test_a_new_database_reaches_the_newest_core_version_with_all_libocpp_tables(self):
        engine = open_database(":memory:", CORE)
        try:
            assert schema_version(engine) == CORE_NEWEST
            assert tables(engine) == CORE_TABLES
        finally:
            close_engine(engine)

    def test_the_folder_is_valid_and_has_no_1_down_like_libocpp(self):
        migrations = load_migrations(CORE)
        assert [m.version for m in migrations] == list(range(1, CORE_NEWEST + 1))
        assert migrations[0].down is None
        assert all(m.down is not None for m in migrations[1:])

    def test_newest_columns_match_libocpp(self):
        engine = open_database(":memory:", CORE)
        try:
            auth_cache = ["ID_TOKEN_HASH", "ID_TOKEN_INFO", "LAST_USED", "EXPIRY_DATE"]
            assert columns(engine, "AUTH_CACHE") == auth_cache
            assert columns(engine, "AVAILABILITY") == ["EVSE_ID", "CONNECTOR_ID", "OPERATIONAL_STATUS"]
            assert columns(engine, "CHARGING_PROFILES") == [
                "ID",
                "EVSE_ID",
                "STACK_LEVEL",
                "CHARGING_PROFILE_PURPOSE",
                "PROFILE",
                "CHARGING_LIMIT_SOURCE",
                "TRANSACTION_ID",
            ]
            assert columns(engine, "TRANSACTIONS") == [
                "TRANSACTION_ID",
                "EVSE_ID",
                "CONNECTOR_ID",
                "TIME_START",
                "SEQ_NO",
                "CHARGING_STATE",
                "ID_TAG_SENT",
            ]
            queue_columns = ["UNIQUE_ID", "MESSAGE", "MESSAGE_TYPE", "MESSAGE_ATTEMPTS", "MESSAGE_TIMESTAMP"]
            assert columns(engine, "NORMAL_QUEUE") == queue_columns
            assert columns(engine, "TRANSACTION_QUEUE") == queue_columns
        finally:
            close_engine(engine)

    def test_the_local_list_starts_at_version_0(self):
        engine = open_database(":memory:", CORE)
        try:
            with engine.connect() as connection:
                rows = connection.exec_driver_sql("SELECT ID, VERSION FROM AUTH_LIST_VERSION").all()
            assert [tuple(row) for row in rows] == [(0, 0)]
        finally:
            close_engine(engine)

    def test_every_version_can_be_reached_step_by_step_up_and_back_down_to_1(self, memory_engine):
        # Mirrors libocpp's ApplyMigrationFilesStepByStep test.
        for version in range(1, CORE_NEWEST + 1):
            assert migrate(memory_engine, CORE, version) == version
            assert schema_version(memory_engine) == version
        for version in range(CORE_NEWEST, 0, -1):
            assert migrate(memory_engine, CORE, version) == version
        assert tables(memory_engine) == CORE_TABLES - {"NORMAL_QUEUE", "TRANSACTIONS",
                                                       "CHARGING_PROFILES"} - PROJECT_CORE_TABLES
        assert columns(memory_engine, "AUTH_CACHE") == ["ID_TOKEN_HASH", "ID_TOKEN_INFO"]

    def test_down_migrations_keep_data_in_surviving_tables(self, memory_engine):
        migrate(memory_engine, CORE, 1)
        with memory_engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO AUTH_CACHE (ID_TOKEN_HASH, ID_TOKEN_INFO) VALUES ('h', 'info')"
            )
        migrate(memory_engine, CORE)
        with memory_engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT LAST_USED FROM AUTH_CACHE").scalar_one() == 0
        migrate(memory_engine, CORE, 1)
        with memory_engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT ID_TOKEN_INFO FROM AUTH_CACHE").scalar_one() == "info"

    def test_going_below_version_1_is_refused_without_a_1_down_file(self, memory_engine):
        migrate(memory_engine, CORE)
        with pytest.raises(MigrationError, match="1_up-initial.sql.*below version 1"):
            migrate(memory_engine, CORE, 0)
        assert schema_version(memory_engine) == CORE_NEWEST

    def test_target_0_on_an_empty_database_is_nothing_to_do(self, memory_engine):
        assert migrate(memory_engine, CORE, 0) == 0

    def test_availability_check_constraint_refuses_a_connector_of_evse_0(self, memory_engine):
        migrate(memory_engine, CORE)
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            with memory_engine.begin() as connection:
                connection.exec_driver_sql("INSERT INTO AVAILABILITY VALUES (0, 1, 'Operative')")


class TestMigrate:
    """Up, down, targets and re-running."""

    def test_up_to_newest_then_down_to_0(self, tmp_path, memory_engine):
        folder = write_migrations(tmp_path / "m", TOY)
        assert migrate(memory_engine, folder) == 3
        assert tables(memory_engine) == {"A", "B"}
        assert columns(memory_engine, "A") == ["X", "Z"]
        assert migrate(memory_engine, folder, 0) == 0
        assert tables(memory_engine) == set()
        assert schema_version(memory_engine) == 0

    def test_target_stops_in_between(self, tmp_path, memory_engine):
        folder = write_migrations(tmp_path / "m", TOY)
        assert migrate(memory_engine, folder, 2) == 2
        assert columns(memory_engine, "A") == ["X"]
        assert migrate(memory_engine, folder, 1) == 1
        assert tables(memory_engine) == {"A"}

    def test_rerunning_does_nothing(self, tmp_path, memory_engine):
        folder = write_migrations(tmp_path / "m", TOY)
        migrate(memory_engine, folder)
        assert migrate(memory_engine, folder) == 3
        with memory_engine.connect() as connection:
            # 1_up's INSERT ran once only.
            assert connection.exec_driver_sql("SELECT COUNT(*) FROM A").scalar_one() == 1

    @pytest.mark.parametrize("target", [-1, 4])
    def test_a_target_outside_the_folder_is_refused(self, tmp_path, memory_engine, target):
        folder = write_migrations(tmp_path / "m", TOY)
        with pytest.raises(MigrationError, match=f"version {target}"):
            migrate(memory_engine, folder, target)
        assert schema_version(memory_engine) == 0

    def test_an_empty_folder_means_version_0(self, tmp_path, memory_engine):
        folder = write_migrations(tmp_path / "empty", {"README.md": "no migrations yet"})
        assert migrate(memory_engine, folder) == 0

    def test_a_missing_folder_is_an_error(self, tmp_path, memory_engine):
        with pytest.raises(MigrationError, match="does-not-exist"):
            migrate(memory_engine, tmp_path / "does-not-exist")

    def test_files_with_several_statements_comments_and_a_trigger(self, tmp_path, memory_engine):
        folder = write_migrations(
            tmp_path / "m",
            {
                "1_up-initial.sql": (
                    "PRAGMA foreign_keys = ON; -- libocpp files start like this; harmless in a transaction\n"
                    "/* a block comment; with a semicolon */\n"
                    "CREATE TABLE T (X TEXT DEFAULT 'a;b');\n"
                    "CREATE TABLE LOG (X TEXT);\n"
                    "CREATE TRIGGER T_LOG AFTER INSERT ON T BEGIN INSERT INTO LOG VALUES (NEW.X); END;\n"
                    "INSERT INTO T DEFAULT VALUES;\n"
                    "-- a last comment without newline"
                ),
            },
        )
        assert migrate(memory_engine, folder) == 1
        with memory_engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT X FROM LOG").scalar_one() == "a;b"

    def test_a_last_statement_without_semicolon_is_accepted(self, tmp_path, memory_engine):
        folder = write_migrations(tmp_path / "m", {"1_up.sql": "CREATE TABLE T (X INT)"})
        assert migrate(memory_engine, folder) == 1
        assert tables(memory_engine) == {"T"}

    def test_an_engine_with_default_driver_settings_works_too(self, tmp_path):
        folder = write_migrations(tmp_path / "m", TOY)
        engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
        try:
            assert migrate(engine, folder) == 3
            assert migrate(engine, folder, 1) == 1
        finally:
            engine.dispose()


class TestFolderValidation:
    """The whole folder is checked before anything is applied; errors name the file."""

    @pytest.mark.parametrize(
        ("files", "message"),
        [
            ({"1_up.sql": "", "2_up-b.sql": "", "2_down-b.sql": "", "4_up-d.sql": "", "4_down-d.sql": ""},
             r"4_up-d\.sql: migration 3 is missing"),
            ({"2_up-b.sql": "", "2_down-b.sql": ""}, r"2_up-b\.sql: migration 1 is missing"),
            ({"1_up-a.sql": "", "2_up-b.sql": "", "2_up-c.sql": "", "2_down-b.sql": ""},
             r"2_up-(b|c)\.sql: duplicate migration number 2, also used by 2_up-(b|c)\.sql"),
            ({"1_up-a.sql": "", "01_up-a.sql": ""}, r"duplicate migration number 1"),
            ({"1_up-a.sql": "", "2_up-b.sql": ""}, r"2_up-b\.sql: has no 2_down file"),
            ({"1_up-a.sql": "", "2_down-b.sql": ""},
             r"2_down-b\.sql: down migration without a matching 2_up"),
            ({"1_up-a.sql": "", "2-up.sql": ""}, r"2-up\.sql: migration file names must look like"),
            ({"1_up-a.sql": "", "up_2.sql": ""}, r"up_2\.sql: migration file names"),
            ({"1_up_a.sql": ""}, r"1_up_a\.sql: migration file names"),
            ({"0_up-a.sql": ""}, r"0_up-a\.sql: migration numbers start at 1"),
        ],
    )
    def test_invalid_folders_are_rejected_naming_the_file(self, tmp_path, memory_engine, files, message):
        folder = write_migrations(tmp_path / "m", files)
        with pytest.raises(MigrationError, match=message):
            migrate(memory_engine, folder)
        assert schema_version(memory_engine) == 0
        assert tables(memory_engine) == set()

    @pytest.mark.parametrize(
        "sql",
        [
            "BEGIN; CREATE TABLE T (X INT); COMMIT;",
            "CREATE TABLE T (X INT);\ncommit;",
            "CREATE TABLE T (X INT); END TRANSACTION",
            "/* c */ ROLLBACK;",
            "PRAGMA user_version = 7;",
            "PRAGMA main.user_version=7;",
        ],
    )
    def test_files_may_not_control_the_transaction_or_the_version(self, tmp_path, memory_engine, sql):
        folder = write_migrations(tmp_path / "m", {"1_up-bad.sql": sql})
        with pytest.raises(MigrationError, match=r"1_up-bad\.sql: statement \d"):
            migrate(memory_engine, folder)
        assert tables(memory_engine) == set()

    @pytest.mark.parametrize(
        "sql", ["CREATE TABLE T (X TEXT DEFAULT 'open", "CREATE TABLE T (X INT); /* open"]
    )
    def test_unterminated_files_are_rejected(self, tmp_path, memory_engine, sql):
        folder = write_migrations(tmp_path / "m", {"1_up-bad.sql": sql})
        with pytest.raises(MigrationError, match=r"1_up-bad\.sql: (ends inside|unterminated)"):
            migrate(memory_engine, folder)

    def test_a_bad_later_file_stops_before_anything_is_applied(self, tmp_path, memory_engine):
        folder = write_migrations(tmp_path / "m", {**TOY, "4_up-d.sql": "", "4_down-d.sql": "COMMIT;"})
        with pytest.raises(MigrationError, match=r"4_down-d\.sql"):
            migrate(memory_engine, folder)
        assert schema_version(memory_engine) == 0

    def test_non_sql_files_are_ignored(self, tmp_path):
        folder = write_migrations(tmp_path / "m", {**TOY, "README.md": "x", ".gitkeep": ""})
        assert newest_version(folder) == 3


class TestFailingMigration:
    """Each file is one transaction: a failure leaves the version before that file."""

    def test_a_failing_up_file_is_rolled_back_and_reported(self, tmp_path, memory_engine):
        folder = write_migrations(
            tmp_path / "m",
            {
                **TOY,
                "4_up-broken.sql": (
                    "CREATE TABLE C (X INT);\n"
                    "INSERT INTO A (X) VALUES (2);\n"
                    "INSERT INTO NOWHERE VALUES (1);\n"
                ),
                "4_down-broken.sql": "DROP TABLE C;",
            },
        )
        expected = r"4_up-broken\.sql: no such table: NOWHERE.*stays at schema version 3"
        with pytest.raises(MigrationError, match=expected):
            migrate(memory_engine, folder)
        assert schema_version(memory_engine) == 3
        assert tables(memory_engine) == {"A", "B"}
        with memory_engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT COUNT(*) FROM A").scalar_one() == 1

    def test_a_failing_down_file_is_rolled_back(self, tmp_path, memory_engine):
        folder = write_migrations(
            tmp_path / "m", {**TOY, "3_down-third.sql": "DROP TABLE B; DROP TABLE NOWHERE;"}
        )
        migrate(memory_engine, folder)
        with pytest.raises(MigrationError, match=r"3_down-third\.sql"):
            migrate(memory_engine, folder, 1)
        assert schema_version(memory_engine) == 3
        assert tables(memory_engine) == {"A", "B"}

    def test_the_engine_is_usable_after_a_failure(self, tmp_path, memory_engine):
        folder = write_migrations(
            tmp_path / "m", {"1_up.sql": "CREATE TABLE T (X INT); SELECT * FROM NOWHERE;"}
        )
        with pytest.raises(MigrationError):
            migrate(memory_engine, folder)
        with memory_engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE OK (X INT)")
        assert tables(memory_engine) == {"OK"}

    def test_a_failing_file_db_keeps_its_version_on_disk(self, tmp_path):
        folder = write_migrations(
            tmp_path / "m", {**TOY, "3_up-third.sql": "ALTER TABLE A ADD COLUMN Z TEXT; oops;"}
        )
        database = tmp_path / "db" / "x.db"
        with pytest.raises(MigrationError, match=r"3_up-third\.sql"):
            open_database(database, folder)
        with sqlite3.connect(database) as connection:
            assert connection.execute("PRAGMA user_version").fetchone()[0] == 2
            assert [row[1] for row in connection.execute("PRAGMA table_info(A)")] == ["X"]


def stale_once(real_read, stale_value):
    """A user_version reader that returns `stale_value` the first time, then the truth."""
    calls = []

    def read(connection):
        calls.append(None)
        return stale_value if len(calls) == 1 else real_read(connection)

    return read


class TestConcurrentMigration:
    """Another process may migrate between our read of user_version and our write lock."""

    def test_a_stale_version_read_is_caught_under_the_lock_and_replanned(self, tmp_path, monkeypatch):
        folder = write_migrations(tmp_path / "m", TOY)
        database = tmp_path / "shared.db"
        other = open_database(database, folder)  # "the other process" got there first
        engine = create_sqlite_engine(database)
        # Our first read is stale: it still says "empty database".
        stale = stale_once(migrate_module._read_user_version, 0)
        monkeypatch.setattr(migrate_module, "_read_user_version", stale)
        try:
            # 1_up's CREATE TABLE would fail if it were re-applied; the guard prevents that.
            assert migrate(engine, folder) == 3
            with engine.connect() as connection:
                assert connection.exec_driver_sql("SELECT COUNT(*) FROM A").scalar_one() == 1
        finally:
            close_engine(engine)
            close_engine(other)

    def test_several_engines_opening_one_new_file_at_once_all_succeed(self, tmp_path):
        database = tmp_path / "core.db"
        start = threading.Barrier(6)
        results: list[object] = []

        def open_it() -> None:
            start.wait()
            try:
                engine = open_database(database, CORE)
            except Exception as exc:  # reported through `results`, asserted below
                results.append(exc)
            else:
                results.append(schema_version(engine))
                close_engine(engine)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results == [CORE_NEWEST] * 6

    def test_an_idempotent_file_is_not_reapplied_over_a_newer_schema(self, tmp_path, monkeypatch):
        folder = write_migrations(
            tmp_path / "m",
            {
                "1_up.sql": "CREATE TABLE IF NOT EXISTS A (X INT);",
                "2_up.sql": "CREATE TABLE B (X INT);",
                "2_down.sql": "DROP TABLE B;",
            },
        )
        engine = create_sqlite_engine(":memory:")
        migrate(engine, folder)
        stale = stale_once(migrate_module._read_user_version, 0)
        monkeypatch.setattr(migrate_module, "_read_user_version", stale)
        try:
            assert migrate(engine, folder) == 2  # without the guard 1_up would succeed and set version 1
            assert schema_version(engine) == 2
        finally:
            close_engine(engine)


class TestSchemaTooNew:
    """A database from a newer program is refused and left alone."""

    def test_the_message_names_file_versions_and_cause(self, tmp_path):
        database = tmp_path / "core.db"
        with sqlite3.connect(database) as connection:
            connection.execute("PRAGMA user_version = 9")
        with pytest.raises(SchemaTooNewError) as caught:
            open_database(database, CORE)
        message = str(caught.value)
        expected = f"{database} has schema version 9, this program knows up to {CORE_NEWEST}; "
        assert message.startswith(expected)
        assert "written by a newer version" in message
        error = caught.value
        assert (error.path, error.version, error.newest) == (str(database), 9, CORE_NEWEST)
        with sqlite3.connect(database) as connection:
            assert connection.execute("PRAGMA user_version").fetchone()[0] == 9
            assert connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0

    def test_no_target_helps_either(self, tmp_path, memory_engine):
        folder = write_migrations(tmp_path / "m", TOY)
        with memory_engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA user_version = 4")
        with pytest.raises(SchemaTooNewError, match="has schema version 4, this program knows up to 3"):
            migrate(memory_engine, folder, 1)


class TestOpenDatabase:
    """Engine set-up: pragmas, folders, :memory:, reopening."""

    @staticmethod
    def pragmas(engine):
        with engine.connect() as connection:
            return {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")
            }

    def test_a_file_database_gets_wal_and_the_other_pragmas(self, tmp_path):
        engine = open_database(tmp_path / "core.db", CORE)
        try:
            # synchronous NORMAL is 1.
            assert self.pragmas(engine) == {
                "foreign_keys": 1,
                "journal_mode": "wal",
                "synchronous": 1,
                "busy_timeout": BUSY_TIMEOUT_MS,
            }
        finally:
            close_engine(engine)

    def test_parent_folders_are_created(self, tmp_path):
        database = tmp_path / "a" / "b" / "core.db"
        engine = open_database(str(database), CORE)
        close_engine(engine)
        assert database.is_file()

    def test_memory_is_one_database_shared_by_all_connections(self):
        engine = open_database(":memory:", CORE)
        try:
            assert self.pragmas(engine)["foreign_keys"] == 1
            with engine.connect() as first, engine.connect() as second:
                assert first.connection.driver_connection is second.connection.driver_connection
            assert tables(engine) == CORE_TABLES
        finally:
            close_engine(engine)

    def test_each_memory_database_is_private(self):
        first = open_database(":memory:", CORE)
        second = create_sqlite_engine(":memory:")
        try:
            with first.begin() as connection:
                connection.exec_driver_sql("INSERT INTO AVAILABILITY VALUES (0, 0, 'Inoperative')")
            assert tables(second) == set()
        finally:
            close_engine(first)
            close_engine(second)

    def test_a_reopened_file_keeps_its_data_and_version(self, tmp_path):
        database = tmp_path / "core.db"
        engine = open_database(database, CORE)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO NORMAL_QUEUE VALUES ('id-1', '[2,\"id-1\",\"Heartbeat\",{}]', 'Heartbeat', 0, 't')"
            )
        close_engine(engine)

        engine = open_database(database, CORE)
        try:
            assert schema_version(engine) == CORE_NEWEST
            with engine.connect() as connection:
                queued = connection.exec_driver_sql("SELECT UNIQUE_ID FROM NORMAL_QUEUE").scalars().all()
            assert queued == ["id-1"]
        finally:
            close_engine(engine)

    def test_foreign_keys_are_enforced(self):
        engine = open_database(":memory:", CORE)
        try:
            with pytest.raises(sqlalchemy.exc.IntegrityError, match="FOREIGN KEY"):
                with engine.begin() as connection:
                    connection.exec_driver_sql(
                        "INSERT INTO METER_VALUE_ITEMS (METER_VALUE_ID, VALUE) VALUES (42, 1.0)"
                    )
        finally:
            close_engine(engine)

    def test_transactions_cover_reads_and_ddl(self):
        # The engine emits BEGIN itself, so a rolled-back block undoes DDL as well as DML.
        engine = create_sqlite_engine(":memory:")
        try:
            with pytest.raises(RuntimeError):
                with engine.begin() as connection:
                    connection.exec_driver_sql("CREATE TABLE T (X INT)")
                    connection.exec_driver_sql("INSERT INTO T VALUES (1)")
                    raise RuntimeError("abort")
            assert tables(engine) == set()
        finally:
            close_engine(engine)

    def test_a_migration_error_disposes_the_engine_and_propagates(self, tmp_path):
        folder = write_migrations(tmp_path / "m", {"1_up.sql": "nonsense;"})
        with pytest.raises(MigrationError, match=r"1_up\.sql"):
            open_database(tmp_path / "x.db", folder)
