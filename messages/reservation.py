"""Messages from the Reservations block (CsmsSession) to the Evse actors (functional block H).

The CsmsSession owns every reservation (``blocks/reservation.py``, persisted in RESERVATIONS);
an Evse only shows what it is told and asks the session before it lets a token charge. The
messages are *states*, not deltas, so sending one again is harmless: the session re-sends them
after a restart (B11.FR.05) and whenever asked (``Reservations.sync_evse``).

An EVSE shows Reserved on all its connectors (H01.FR.20/23/24: "all of its connectors are
reported as reserved") while it has an EVSE-specific reservation *or* is held for reservations
of an unspecified EVSE, unless a connector is Faulted or Unavailable, which win.
"""
from __future__ import annotations

from typing import Literal

from messages.base import Msg
from messages.ocpp201 import ConnectorEnumType, IdTokenType

ClearedReason = Literal["Expired", "Removed", "Cancelled", "Used", "Replaced", "Sync"]


class ReservationMade(Msg):
    """This EVSE is reserved (H01.FR.23): show Reserved; only the reserving token may use it.

    Replaces any reservation the EVSE had before. Whether a presented token may charge is the
    session's decision (``Reservations.claim`` / ``check_token``, H03); the token fields are
    here for the EVSE's display and the control API (``EvseStatus.reservation``).
    """

    evse_id: int
    reservation_id: int
    id_token: IdTokenType
    group_id_token: IdTokenType | None = None
    connector_type: ConnectorEnumType | None = None   # the connector type asked for, if any
    expiry: str                                       # OCPP date-time


class ReservationCleared(Msg):
    """The EVSE's reservation ended: show Available again (H02.FR.03, H03.FR.10, H04.FR.02).

    ``reservation_id`` None means "whatever reservation you had" (a re-sync with nothing
    reserved). Reasons: Expired (H04), Removed (the EVSE became Faulted or Unavailable,
    H01.FR.16/17), Cancelled (H02), Used (the reserving token was presented, H03.FR.09),
    Replaced (the same reservation id moved to another EVSE, H01.FR.02), Sync.
    """

    evse_id: int
    reservation_id: int | None = None
    reason: ClearedReason


class EvseHeldForReservations(Msg):
    """Reservations of an unspecified EVSE need this EVSE kept free (H01.FR.07/09/20/24).

    While ``held`` the EVSE shows Reserved and lets a token charge only if the session says so
    (``Reservations.claim``); when ``held`` turns False it shows Available again (H02.FR.06).
    """

    evse_id: int
    held: bool
