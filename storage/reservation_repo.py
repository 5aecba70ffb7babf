"""Reservations that have not ended yet, on the core database (B01.FR.13, B11.FR.05).

Theory of operation
-------------------
The Reservations block (``blocks/reservation.py``, in the CsmsSession) keeps its reservations in
memory and writes each change here *before* it answers the CSMS: ReserveNow inserts or replaces
the row (H01.FR.02), CancelReservation, a use (H03) or a removal (H01.FR.16/17) deletes it. An
expired reservation (H04) is deleted once the CSMS has acknowledged its ReservationStatusUpdate,
so a reservation that expired while the station was down, or whose update was lost with the
connection, is found again at the next start and reported then.

The table is the project's own ``RESERVATIONS`` (``migrations/core/8_up-reservations.sql``):
libocpp keeps reservations in the EVerest modules, not in its core database. The table holds wire
values: IdTokenType objects as their wire JSON (keys sorted) and OCPP date-time strings. A
:class:`ReservationRow` carries the tokens as ``IdTokenType`` models and the connector type as
``ConnectorEnumType``; the stored form did not change with the models, so rows written before
them load as they are. Parsing the times is the block's job.

Like the other repositories of the core database this speaks ``sqlite3`` directly
(``storage/lite.py``). Each method is one short transaction of its own.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from messages.ocpp201 import ConnectorEnumType, IdTokenType, to_wire
from storage.lite import transaction

__all__ = ["ReservationRow", "ReservationRepository"]

_COLUMNS = "ID, EVSE_ID, CONNECTOR_TYPE, ID_TOKEN, GROUP_ID_TOKEN, EXPIRY, CREATED"
_UPSERT = (f"INSERT INTO RESERVATIONS ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT (ID) DO UPDATE SET EVSE_ID = excluded.EVSE_ID, "
           "CONNECTOR_TYPE = excluded.CONNECTOR_TYPE, ID_TOKEN = excluded.ID_TOKEN, "
           "GROUP_ID_TOKEN = excluded.GROUP_ID_TOKEN, EXPIRY = excluded.EXPIRY, "
           "CREATED = excluded.CREATED")
_DELETE = "DELETE FROM RESERVATIONS WHERE ID = ?"
_SELECT_ALL = f"SELECT {_COLUMNS} FROM RESERVATIONS ORDER BY CREATED, ID"


@dataclass(frozen=True)
class ReservationRow:
    """One reservation as stored.

    Attributes:
        reservation_id: ReserveNowRequest.id.
        evse_id: the reserved EVSE, or None for an unspecified EVSE.
        connector_type: the connector type asked for, or None.
        id_token: the IdToken the reservation is for.
        group_id_token: the IdToken of its group, or None.
        expiry: expiryDateTime, an OCPP date-time string.
        created: when the station accepted it, an OCPP date-time string (orders the rows).
    """

    reservation_id: int
    evse_id: int | None
    connector_type: ConnectorEnumType | None
    id_token: IdTokenType
    group_id_token: IdTokenType | None
    expiry: str
    created: str


class ReservationRepository:
    """Read and write the RESERVATIONS table.

    Args:
        connection: a ``sqlite3`` connection from :func:`storage.lite.connect` on the core
            database.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def all(self) -> list[ReservationRow]:
        """Every stored reservation, oldest first.

        Raises:
            ValueError: a stored token is no IdTokenType or the connector type no
                ConnectorEnumType (a damaged database).
        """
        rows = []
        for rid, evse_id, connector_type, token, group, expiry, created in \
                self._db.execute(_SELECT_ALL):
            rows.append(ReservationRow(int(rid), None if evse_id is None else int(evse_id),
                                       None if connector_type is None
                                       else ConnectorEnumType(connector_type),
                                       _load_token(token, rid),
                                       None if group is None else _load_token(group, rid),
                                       expiry, created))
        return rows

    def save(self, row: ReservationRow) -> None:
        """Insert ``row``, or replace the reservation with the same id (H01.FR.02).

        Returns once committed, so the caller may answer the CSMS afterwards.
        """
        group = None if row.group_id_token is None else _dump(row.group_id_token)
        with transaction(self._db) as db:
            db.execute(_UPSERT, (row.reservation_id, row.evse_id,
                                 None if row.connector_type is None
                                 else ConnectorEnumType(row.connector_type).value,
                                 _dump(row.id_token), group, row.expiry, row.created))

    def delete(self, reservation_id: int) -> bool:
        """Delete one reservation; False when there was none with that id."""
        with transaction(self._db) as db:
            return db.execute(_DELETE, (reservation_id,)).rowcount > 0


def _dump(token: IdTokenType) -> str:
    # The stored form of before the models: the wire dict, keys sorted.
    return json.dumps(to_wire(token), separators=(",", ":"), sort_keys=True, allow_nan=False)


def _load_token(text: str, reservation_id: int) -> IdTokenType:
    token = json.loads(text)
    if not isinstance(token, dict):
        raise ValueError(f"reservation {reservation_id}: a stored IdToken is not a JSON object")
    return IdTokenType.model_validate(token)      # a pydantic ValidationError is a ValueError
