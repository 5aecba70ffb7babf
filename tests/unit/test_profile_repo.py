"""CHARGING_PROFILES repository (K01.FR.27, libocpp's table from core migrations 5 and 6)."""
from __future__ import annotations

import json
import sqlite3

import pytest

from messages.ocpp201 import ChargingProfileType
from config.station import PROJECT_DIR
from storage import lite
from storage.profile_repo import ProfileRepository, StoredProfile

MIGRATIONS = PROJECT_DIR / "migrations" / "core"


def _profile(pid: int, limit: float = 16.0, purpose: str = "TxDefaultProfile",
             ) -> ChargingProfileType:
    return ChargingProfileType.model_validate({
        "id": pid, "stackLevel": 2, "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative",
        "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}]})


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "cp.db"


def test_profiles_survive_a_new_connection(db_path):
    """K01.FR.27: persistent across reboots."""
    repo = ProfileRepository(lite.connect(db_path, MIGRATIONS))
    repo.save(StoredProfile(1, _profile(5)))
    repo.save(StoredProfile(2, _profile(6, purpose="TxProfile"), "CSO", "tx-9"))
    repo.save(StoredProfile(0, _profile(-1, purpose="ChargingStationExternalConstraints"), "EMS"))
    again = ProfileRepository(lite.connect(db_path, MIGRATIONS)).all()
    assert again == [StoredProfile(0, _profile(-1, purpose="ChargingStationExternalConstraints"),
                                   "EMS"),
                     StoredProfile(1, _profile(5)),
                     StoredProfile(2, _profile(6, purpose="TxProfile"), "CSO", "tx-9")]


def test_save_with_a_known_id_replaces_the_row(db_path):
    """K01.FR.05."""
    repo = ProfileRepository(lite.connect(db_path, MIGRATIONS))
    repo.save(StoredProfile(1, _profile(5, 16.0)))
    repo.save(StoredProfile(2, _profile(5, 10.0)))
    assert repo.all() == [StoredProfile(2, _profile(5, 10.0))]


def test_rows_use_libocpps_columns(db_path):
    repo = ProfileRepository(lite.connect(db_path, MIGRATIONS))
    repo.save(StoredProfile(1, _profile(5, purpose="TxProfile"), "CSO", "tx-1"))
    raw = sqlite3.connect(db_path).execute(
        "SELECT ID, EVSE_ID, STACK_LEVEL, CHARGING_PROFILE_PURPOSE, CHARGING_LIMIT_SOURCE, "
        "TRANSACTION_ID FROM CHARGING_PROFILES").fetchall()
    assert raw == [(5, 1, 2, "TxProfile", "CSO", "tx-1")]


def test_delete_removes_only_the_named_profiles(db_path):
    repo = ProfileRepository(lite.connect(db_path, MIGRATIONS))
    for pid in (1, 2, 3):
        repo.save(StoredProfile(1, _profile(pid)))
    assert repo.delete([1, 3, 99]) == 2
    assert [p.id for p in repo.all()] == [2]
    assert repo.delete([]) == 0


def test_a_damaged_profile_row_is_an_error(db_path):
    repo = ProfileRepository(lite.connect(db_path, MIGRATIONS))
    repo.save(StoredProfile(1, _profile(5)))
    sqlite3.connect(db_path, isolation_level=None).execute(
        "UPDATE CHARGING_PROFILES SET PROFILE = '[1]'")
    with pytest.raises(ValueError, match="charging profile 5"):
        repo.all()


def test_a_row_written_before_the_models_loads(db_path):
    """Earlier versions stored the profile as the CSMS sent it (its key order, an integer
    limit): such a database still loads, and PROFILE stays the wire JSON."""
    repo = ProfileRepository(lite.connect(db_path, MIGRATIONS))
    old = ('{"chargingSchedule":[{"chargingSchedulePeriod":[{"limit":16,"startPeriod":0}],'
           '"chargingRateUnit":"A","id":1}],"chargingProfileKind":"Relative",'
           '"chargingProfilePurpose":"TxProfile","stackLevel":2,"id":5,"transactionId":"tx-1"}')
    sqlite3.connect(db_path, isolation_level=None).execute(
        "INSERT INTO CHARGING_PROFILES (ID, EVSE_ID, STACK_LEVEL, CHARGING_PROFILE_PURPOSE, "
        "PROFILE, CHARGING_LIMIT_SOURCE, TRANSACTION_ID) VALUES (5, 1, 2, 'TxProfile', ?, 'CSO', "
        "'tx-1')", (old,))
    [stored] = repo.all()
    assert stored.profile.charging_schedule[0].charging_schedule_period[0].limit == 16
    assert (stored.source, stored.transaction_id) == ("CSO", "tx-1")
    repo.save(stored)
    [(text,)] = sqlite3.connect(db_path).execute("SELECT PROFILE FROM CHARGING_PROFILES")
    assert json.loads(text) == json.loads(old)
