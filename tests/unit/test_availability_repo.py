"""Tests for storage/availability.py (libocpp's AVAILABILITY table)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ocpp.v201.enums import OperationalStatusEnumType

from storage import lite
from storage.availability import AvailabilityRepository
from storage.database import close_engine, open_database

CORE = Path(__file__).resolve().parents[2] / "migrations" / "core"


@pytest.fixture
def database(tmp_path):
    return tmp_path / "core" / "cp.db"


@pytest.fixture
def engine(database):
    """A SQLAlchemy engine on the same file, standing in for libocpp or another process."""
    engine = open_database(database, CORE)
    yield engine
    close_engine(engine)


@pytest.fixture
def repo(engine, database):
    connection = lite.connect(database, CORE)
    yield AvailabilityRepository(connection)
    connection.close()


class TestRoundTrip:
    """Station (0, 0), EVSE (n, 0) and connector (n, m) rows, as libocpp addresses them."""

    def test_nothing_stored_reads_as_none(self, repo):
        assert repo.get(0, 0) is None
        assert repo.get(1, 1) is None
        assert repo.all() == {}

    def test_set_then_get_for_station_evse_and_connector(self, repo):
        repo.set(0, 0, "Operative")
        repo.set(1, 0, "Inoperative")
        repo.set(1, 2, "Operative")
        assert repo.get(0, 0) == "Operative"
        assert repo.get(1, 0) == "Inoperative"
        assert repo.get(1, 2) == "Operative"
        assert repo.get(1, 1) is None

    def test_set_replaces_the_earlier_value(self, repo):
        repo.set(2, 1, "Operative")
        repo.set(2, 1, "Inoperative")
        assert repo.get(2, 1) == "Inoperative"
        assert repo.all() == {(2, 1): "Inoperative"}

    def test_all_returns_every_row_keyed_by_evse_and_connector(self, repo):
        repo.set(0, 0, "Inoperative")
        repo.set(2, 0, "Operative")
        repo.set(2, 1, "Inoperative")
        repo.set(1, 1, "Operative")
        assert repo.all() == {
            (0, 0): "Inoperative",
            (1, 1): "Operative",
            (2, 0): "Operative",
            (2, 1): "Inoperative",
        }

    def test_the_ocpp_enum_is_accepted_and_stored_as_its_wire_value(self, repo, engine):
        repo.set(1, 0, OperationalStatusEnumType.inoperative)
        assert repo.get(1, 0) == "Inoperative"
        with engine.connect() as connection:
            stored = connection.exec_driver_sql("SELECT OPERATIONAL_STATUS FROM AVAILABILITY").scalar_one()
        assert stored == "Inoperative"

    def test_rows_are_in_libocpp_columns(self, repo, engine):
        # A libocpp-written row reads back, and ours is what libocpp's get_availability selects.
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO AVAILABILITY (EVSE_ID, CONNECTOR_ID, OPERATIONAL_STATUS) VALUES (3, 0, 'Inoperative')"
            )
        assert repo.get(3, 0) == "Inoperative"
        repo.set(3, 1, "Operative")
        with engine.connect() as connection:
            row = connection.exec_driver_sql(
                "SELECT OPERATIONAL_STATUS FROM AVAILABILITY WHERE EVSE_ID = 3 AND CONNECTOR_ID = 1"
            ).scalar_one()
        assert row == "Operative"


class TestSetDefault:
    """Start-up seeding: store Operative only where nothing is stored (libocpp replace=false)."""

    def test_setdefault_stores_when_absent(self, repo):
        assert repo.setdefault(1, 1, "Operative") == "Operative"
        assert repo.get(1, 1) == "Operative"

    def test_setdefault_keeps_what_the_csms_set(self, repo):
        repo.set(1, 0, "Inoperative")
        assert repo.setdefault(1, 0, "Operative") == "Inoperative"
        assert repo.get(1, 0) == "Inoperative"


class TestValidation:
    """Addresses and values that cannot exist are refused before touching the database."""

    @pytest.mark.parametrize(("evse_id", "connector_id"), [(0, 1), (-1, 0), (1, -1), (True, 0)])
    def test_bad_addresses(self, repo, evse_id, connector_id):
        with pytest.raises(ValueError):
            repo.set(evse_id, connector_id, "Operative")
        with pytest.raises(ValueError):
            repo.get(evse_id, connector_id)
        assert repo.all() == {}

    @pytest.mark.parametrize("status", ["operative", "Unavailable", "", "Faulted"])
    def test_bad_statuses(self, repo, status):
        with pytest.raises(ValueError, match="operational status"):
            repo.set(1, 1, status)
        with pytest.raises(ValueError):
            repo.setdefault(1, 1, status)
        assert repo.get(1, 1) is None


class TestPersistence:
    """G03.FR.08 / G04.FR.09: what was set survives a restart."""

    def test_a_reopened_file_database_keeps_the_rows(self, tmp_path):
        database = tmp_path / "station" / "core.db"
        connection = lite.connect(database, CORE)          # migrates a new file first
        AvailabilityRepository(connection).set(0, 0, "Inoperative")
        AvailabilityRepository(connection).set(4, 2, "Inoperative")
        connection.close()

        connection = lite.connect(database, CORE)
        try:
            repo = AvailabilityRepository(connection)
            assert repo.all() == {(0, 0): "Inoperative", (4, 2): "Inoperative"}
            assert repo.setdefault(0, 0, "Operative") == "Inoperative"
        finally:
            connection.close()


class TestLiteConnection:
    def test_a_database_from_a_newer_schema_is_refused(self, tmp_path):
        from storage.migrate import SchemaTooNewError
        database = tmp_path / "cp.db"
        lite.connect(database, CORE).execute("PRAGMA user_version = 99")
        with pytest.raises(SchemaTooNewError, match="schema version 99"):
            lite.connect(database, CORE)

    def test_a_failed_transaction_leaves_nothing(self, repo, database):
        connection = lite.connect(database, CORE)
        with pytest.raises(RuntimeError):
            with lite.transaction(connection) as db:
                db.execute("INSERT INTO AVAILABILITY VALUES (1, 0, 'Inoperative')")
                raise RuntimeError("crash between write and commit")
        assert repo.get(1, 0) is None
