"""Installed charging profiles on libocpp's CHARGING_PROFILES table (K01.FR.27).

Theory of operation
-------------------
The SmartCharging block (``blocks/smart_charging.py``, in the CsmsSession) keeps the installed
profiles in memory and writes every change here *before* it answers the CSMS, so a profile the
CSMS saw Accepted survives a reboot (K01.FR.27), and one it saw cleared does not come back.

The columns are libocpp's (``migrations/core/5_up`` and ``6_up``): ``ID`` (the profile's id,
unique on the station, so a SetChargingProfile with a known id replaces the row, K01.FR.05),
``EVSE_ID`` (0: the station), ``STACK_LEVEL``, ``CHARGING_PROFILE_PURPOSE``, ``PROFILE`` (the
ChargingProfileType as JSON), ``CHARGING_LIMIT_SOURCE`` (who set it: CSO for the CSMS, or the
external system's source, K09) and ``TRANSACTION_ID`` (for TxProfiles: the transaction whose
end deletes it, K02.FR.05).

In memory a profile is a :class:`~messages.ocpp201.ChargingProfileType`; ``PROFILE`` stays its
wire JSON (``to_wire``), as libocpp and earlier versions of this station wrote it, so existing
databases load and the stored form does not depend on the models' Python names.

Like the other repositories of the core database this speaks ``sqlite3`` directly
(``storage/lite.py``); each method is one short transaction.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from messages.ocpp201 import (ChargingLimitSourceEnumType, ChargingProfilePurposeEnumType,
                              ChargingProfileType, to_wire)
from storage.lite import transaction

__all__ = ["StoredProfile", "ProfileRepository"]

_COLUMNS = ("ID, EVSE_ID, STACK_LEVEL, CHARGING_PROFILE_PURPOSE, PROFILE, CHARGING_LIMIT_SOURCE, "
            "TRANSACTION_ID")
_UPSERT = (f"INSERT INTO CHARGING_PROFILES ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT (ID) DO UPDATE SET EVSE_ID = excluded.EVSE_ID, "
           "STACK_LEVEL = excluded.STACK_LEVEL, "
           "CHARGING_PROFILE_PURPOSE = excluded.CHARGING_PROFILE_PURPOSE, "
           "PROFILE = excluded.PROFILE, CHARGING_LIMIT_SOURCE = excluded.CHARGING_LIMIT_SOURCE, "
           "TRANSACTION_ID = excluded.TRANSACTION_ID")
_SELECT_ALL = f"SELECT {_COLUMNS} FROM CHARGING_PROFILES ORDER BY EVSE_ID, ID"


@dataclass(frozen=True)
class StoredProfile:
    """One installed profile.

    Attributes:
        evse_id: the EVSE it is installed on; 0 for the whole station.
        profile: the ChargingProfileType (``transaction_id`` set for a TxProfile).
        source: who set it (CSO for the CSMS).
        transaction_id: for a TxProfile, the transaction it belongs to.
    """

    evse_id: int
    profile: ChargingProfileType
    source: ChargingLimitSourceEnumType = ChargingLimitSourceEnumType.cso
    transaction_id: str | None = None

    @property
    def id(self) -> int:
        return self.profile.id

    @property
    def purpose(self) -> ChargingProfilePurposeEnumType:
        return self.profile.charging_profile_purpose

    @property
    def stack_level(self) -> int:
        return self.profile.stack_level


class ProfileRepository:
    """Read and write CHARGING_PROFILES.

    Args:
        connection: a ``sqlite3`` connection from :func:`storage.lite.connect` on the core
            database.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def all(self) -> list[StoredProfile]:
        """Every installed profile, by EVSE then id.

        Raises:
            ValueError: a stored profile is not a ChargingProfileType, or not the one of its
                row, or its source is unknown (a damaged database).
        """
        out = []
        for pid, evse_id, _level, _purpose, text, source, transaction_id in \
                self._db.execute(_SELECT_ALL):
            try:
                profile = ChargingProfileType.model_validate(json.loads(text))
                source = ChargingLimitSourceEnumType(source)
            except ValueError as exc:       # pydantic's ValidationError is one too
                raise ValueError(f"charging profile {pid}: the stored row is damaged") from exc
            if profile.id != pid:
                raise ValueError(f"charging profile {pid}: the stored PROFILE does not match")
            out.append(StoredProfile(int(evse_id), profile, source, transaction_id))
        return out

    def save(self, stored: StoredProfile) -> None:
        """Insert, or replace the profile with the same id (K01.FR.05); returns once committed."""
        profile = stored.profile
        text = json.dumps(to_wire(profile), separators=(",", ":"), allow_nan=False)
        with transaction(self._db) as db:
            db.execute(_UPSERT, (profile.id, stored.evse_id, profile.stack_level,
                                 profile.charging_profile_purpose.value, text,
                                 ChargingLimitSourceEnumType(stored.source).value,
                                 stored.transaction_id))

    def delete(self, profile_ids: list[int]) -> int:
        """Delete these profiles in one transaction; returns how many rows went."""
        if not profile_ids:
            return 0
        with transaction(self._db) as db:
            return sum(db.execute("DELETE FROM CHARGING_PROFILES WHERE ID = ?", (pid,)).rowcount
                       for pid in profile_ids)
