"""Persistent operational state of the station, its EVSEs and their connectors.

Theory of operation
-------------------
What a ChangeAvailabilityRequest set must survive a reboot (G03.FR.08 for EVSEs and connectors,
G04.FR.09 for the station, B01.FR.07). The Availability block keeps the current state in memory
and writes it here *before* it answers the CSMS; on start it reads ``all()`` back.

Rows live in libocpp's ``AVAILABILITY`` table (``migrations/core/1_up-initial.sql``), addressed the
way libocpp addresses them (``DatabaseHandler::insert_cs_availability`` / ``insert_evse_availability``
/ ``insert_connector_availability``):

    ============  ==============  ===========================
    evse_id       connector_id    row describes
    ============  ==============  ===========================
    0             0               the whole charging station
    n > 0         0               EVSE n as a whole
    n > 0         m > 0           connector m of EVSE n
    ============  ==============  ===========================

(evse 0 with a connector > 0 does not exist; the table's CHECK constraint refuses it too.) The
stored value is the OperationalStatusEnumType wire value, ``"Operative"`` or ``"Inoperative"``.
The Unavailable/Faulted *connector status* is derived from this plus faults and is not stored.

Each method is one short transaction of its own.
"""

from __future__ import annotations

import sqlite3

from storage.lite import transaction

__all__ = ["OPERATIONAL_STATUSES", "AvailabilityRepository"]

# OperationalStatusEnumType wire values (part 2, 3.63).
OPERATIONAL_STATUSES = frozenset({"Operative", "Inoperative"})

_UPSERT = ('INSERT INTO AVAILABILITY (EVSE_ID, CONNECTOR_ID, OPERATIONAL_STATUS) VALUES (?, ?, ?) '
           'ON CONFLICT (EVSE_ID, CONNECTOR_ID) DO UPDATE SET '
           'OPERATIONAL_STATUS = excluded.OPERATIONAL_STATUS')
_INSERT_IF_ABSENT = ('INSERT INTO AVAILABILITY (EVSE_ID, CONNECTOR_ID, OPERATIONAL_STATUS) '
                     'VALUES (?, ?, ?) ON CONFLICT (EVSE_ID, CONNECTOR_ID) DO NOTHING')
_SELECT_ONE = 'SELECT OPERATIONAL_STATUS FROM AVAILABILITY WHERE EVSE_ID = ? AND CONNECTOR_ID = ?'
_SELECT_ALL = ('SELECT EVSE_ID, CONNECTOR_ID, OPERATIONAL_STATUS FROM AVAILABILITY '
               'ORDER BY EVSE_ID, CONNECTOR_ID')


class AvailabilityRepository:
    """Read and write the AVAILABILITY table.

    Args:
        connection: a ``sqlite3`` connection from :func:`storage.lite.connect` on the core
            database (this repository runs in every Evse process; see ``storage/lite.py``).
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def get(self, evse_id: int, connector_id: int) -> str | None:
        """The stored operational status, or None if nothing was ever stored for that address.

        Args:
            evse_id: 0 for the station, else the EVSE id.
            connector_id: 0 for the station or a whole EVSE, else the connector id.
        """
        _check_address(evse_id, connector_id)
        row = self._db.execute(_SELECT_ONE, (evse_id, connector_id)).fetchone()
        return row[0] if row else None

    def set(self, evse_id: int, connector_id: int, status: str) -> None:
        """Store a status, replacing any earlier one (libocpp's ``replace = true``).

        Returns once the row is committed, so the caller may answer the CSMS afterwards.

        Raises:
            ValueError: Bad address (see the module docstring) or status.
        """
        _check_address(evse_id, connector_id)
        status = _check_status(status)
        with transaction(self._db) as db:
            db.execute(_UPSERT, (evse_id, connector_id, status))

    def setdefault(self, evse_id: int, connector_id: int, status: str) -> str:
        """Store a status only if none is stored yet, and return the stored one.

        This is what the station does at start-up for every configured component (libocpp's
        ``replace = false``): a fresh database starts Operative, a state the CSMS set is kept.

        Raises:
            ValueError: Bad address or status.
        """
        _check_address(evse_id, connector_id)
        status = _check_status(status)
        with transaction(self._db) as db:
            db.execute(_INSERT_IF_ABSENT, (evse_id, connector_id, status))
            return db.execute(_SELECT_ONE, (evse_id, connector_id)).fetchone()[0]

    def all(self) -> dict[tuple[int, int], str]:
        """Every stored status keyed by ``(evse_id, connector_id)``, station row ``(0, 0)`` included."""
        return {(evse, connector): status
                for evse, connector, status in self._db.execute(_SELECT_ALL)}


def _check_address(evse_id: int, connector_id: int) -> None:
    if isinstance(evse_id, bool) or isinstance(connector_id, bool):
        raise ValueError("evse_id and connector_id must be integers, not booleans")
    if evse_id < 0 or connector_id < 0:
        raise ValueError(f"evse_id and connector_id must not be negative (got {evse_id}, {connector_id})")
    if evse_id == 0 and connector_id != 0:
        raise ValueError(
            f"evse_id 0 addresses the whole station, so connector_id must be 0 (got {connector_id})"
        )


def _check_status(status: str) -> str:
    # str() turns a StrEnum member (ocpp.v201.enums.OperationalStatusEnumType) into its wire value.
    value = str(status)
    if value not in OPERATIONAL_STATUSES:
        raise ValueError(f"operational status must be one of {sorted(OPERATIONAL_STATUSES)}, got {status!r}")
    return value
