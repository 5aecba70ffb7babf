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

import sqlalchemy
from sqlalchemy import Column, Integer, MetaData, Table, Text, select
from sqlalchemy.dialects.sqlite import insert

__all__ = ["OPERATIONAL_STATUSES", "AvailabilityRepository"]

# OperationalStatusEnumType wire values (part 2, 3.63).
OPERATIONAL_STATUSES = frozenset({"Operative", "Inoperative"})

_metadata = MetaData()
# Describes the existing table for statement building; the migrations create it, never this.
_availability = Table(
    "AVAILABILITY",
    _metadata,
    Column("EVSE_ID", Integer, primary_key=True),
    Column("CONNECTOR_ID", Integer, primary_key=True),
    Column("OPERATIONAL_STATUS", Text, nullable=False),
)


class AvailabilityRepository:
    """Read and write the AVAILABILITY table.

    Args:
        engine: An engine from ``storage.database.open_database`` on the core database.
    """

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        self._engine = engine

    def get(self, evse_id: int, connector_id: int) -> str | None:
        """The stored operational status, or None if nothing was ever stored for that address.

        Args:
            evse_id: 0 for the station, else the EVSE id.
            connector_id: 0 for the station or a whole EVSE, else the connector id.
        """
        _check_address(evse_id, connector_id)
        query = select(_availability.c.OPERATIONAL_STATUS).where(
            _availability.c.EVSE_ID == evse_id, _availability.c.CONNECTOR_ID == connector_id
        )
        with self._engine.begin() as connection:
            return connection.execute(query).scalar_one_or_none()

    def set(self, evse_id: int, connector_id: int, status: str) -> None:
        """Store a status, replacing any earlier one (libocpp's ``replace = true``).

        Returns once the row is committed, so the caller may answer the CSMS afterwards.

        Raises:
            ValueError: Bad address (see the module docstring) or status.
        """
        _check_address(evse_id, connector_id)
        status = _check_status(status)
        statement = insert(_availability).values(
            EVSE_ID=evse_id, CONNECTOR_ID=connector_id, OPERATIONAL_STATUS=status
        )
        statement = statement.on_conflict_do_update(
            index_elements=[_availability.c.EVSE_ID, _availability.c.CONNECTOR_ID],
            set_={"OPERATIONAL_STATUS": statement.excluded.OPERATIONAL_STATUS},
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def setdefault(self, evse_id: int, connector_id: int, status: str) -> str:
        """Store a status only if none is stored yet, and return the stored one.

        This is what the station does at start-up for every configured component (libocpp's
        ``replace = false``): a fresh database starts Operative, a state the CSMS set is kept.

        Raises:
            ValueError: Bad address or status.
        """
        _check_address(evse_id, connector_id)
        status = _check_status(status)
        statement = (
            insert(_availability)
            .values(EVSE_ID=evse_id, CONNECTOR_ID=connector_id, OPERATIONAL_STATUS=status)
            .on_conflict_do_nothing(index_elements=[_availability.c.EVSE_ID, _availability.c.CONNECTOR_ID])
        )
        query = select(_availability.c.OPERATIONAL_STATUS).where(
            _availability.c.EVSE_ID == evse_id, _availability.c.CONNECTOR_ID == connector_id
        )
        with self._engine.begin() as connection:
            connection.execute(statement)
            return connection.execute(query).scalar_one()

    def all(self) -> dict[tuple[int, int], str]:
        """Every stored status keyed by ``(evse_id, connector_id)``, station row ``(0, 0)`` included."""
        query = select(
            _availability.c.EVSE_ID, _availability.c.CONNECTOR_ID, _availability.c.OPERATIONAL_STATUS
        ).order_by(_availability.c.EVSE_ID, _availability.c.CONNECTOR_ID)
        with self._engine.begin() as connection:
            return {(evse, connector): status for evse, connector, status in connection.execute(query)}


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
