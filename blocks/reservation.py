"""Functional block H, reservations, on the CsmsSession's side: ReserveNow, CancelReservation,
expiry, and which token may use which EVSE.

Theory of operation
-------------------
This block owns every reservation of the station; the Evse actors only show what it tells them
(``messages/reservation.py``) and ask it before a token may charge. Each reservation is written
to RESERVATIONS (``storage/reservation_repo.py``) before the CSMS gets an answer, and reloaded
at start, so the Reserved state survives a reboot (B01.FR.13, B11.FR.05).

Two kinds of reservation:

* **EVSE-specific** (``evseId`` given, H01.S2): the EVSE shows Reserved (``ReservationMade``,
  H01.FR.23) and only the reserving idToken or groupIdToken may use it (H03.FR.01/04).
* **Unspecified EVSE** (no ``evseId``, H01.S1, possibly with a ``connectorType``, H01.S3): no
  EVSE is named, but the station must keep one free (H01.FR.07/09). That is a matching problem:
  the reservations of this kind must be assignable to *distinct* free EVSEs that are not
  reserved specifically, each with a free connector of the reservation's type. The block keeps
  that assignment possible:

  - ReserveNow is Accepted only if the assignment still exists with the new reservation
    (H01.FR.04/06), and an EVSE-specific one only if it exists without the EVSE (else the EVSE
    is effectively reserved: Occupied, H01.FR.11);
  - an EVSE without which no assignment exists is *held* (``EvseHeldForReservations``): it
    shows Reserved, which gives H01.FR.20/24 (as many reservations as free EVSEs of a type:
    all of them Reserved), and lets go when that is no longer so (H02.FR.05/06);
  - a token may use an EVSE (:meth:`check_token`) only if the other reservations can still be
    assigned without that EVSE.

The connector statuses come from the Availability block (``connector_status``); the EVSE is
"free" for a reservation when no connector is Occupied, it runs no transaction (``evse_in_use``)
and a connector of the right type is Available (or Reserved, which is this block's own doing).

How reservations end:

    ==================  =========================================  ========================
    event               what happens                               ReservationStatusUpdate
    ==================  =========================================  ========================
    expiryDateTime      removed, EVSE released (H04.FR.02/03)      Expired (H04.FR.01)
    EVSE Faulted or     removed (H01.FR.16/17); for unspecified    Removed
    Unavailable         ones: those that can no longer be assigned
    CancelReservation   removed (H02.FR.02-06)                     none (H02 remark)
    token presented     consumed (H03.FR.09/10): :meth:`claim`,    none
    / TransactionEvent  :meth:`used`
    ==================  =========================================  ========================

ReservationStatusUpdate goes out after the EVSE stopped showing Reserved, as H04 orders it
(StatusNotification Available first, then the update; TC_H_07_CS), or after
``STATUS_WAIT_S`` if the EVSE does not say so. It goes through the sending port, whose policy
for it is GUARANTEED (``station.send_policy``): once handed over it is in the durable queue and
reaches the CSMS after an offline period or a restart. An Expired reservation's row is kept
until then, so a reservation that expired while the station was down is reported after the
next start.

Time: ``expiryDateTime`` is compared with the station's wall clock (``wall_clock``, the
session's by default, so a clock synchronised from the CSMS counts); the session's timer runs
on its monotonic clock, so the deadline is recomputed from the wall clock each time it is read.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Protocol

from messages.ocpp201 import (CancelReservationRequest, CancelReservationResponse,
                              CancelReservationStatusEnumType, ConnectorEnumType,
                              ConnectorStatusEnumType, IdTokenType,
                              ReservationStatusUpdateRequest, ReservationUpdateStatusEnumType,
                              ReserveNowRequest, ReserveNowResponse, ReserveNowStatusEnumType,
                              StatusInfoType)
from messages.reservation import (EvseHeldForReservations, ReservationCleared,
                                  ReservationMade)
from ports.device_model import DeviceModelView
from ports.sending import SendPort
from ports.session import ActorOutbox, Replies, SessionClock, Timers
from ports.time import iso, parse_ocpp_time
from storage.reservation_repo import ReservationRepository, ReservationRow

log = logging.getLogger(__name__)

# How long a ReservationStatusUpdate waits for the released EVSE to stop showing Reserved.
STATUS_WAIT_S = 5.0

# Connector statuses as the Availability block reports them.
_Connector = ConnectorStatusEnumType
FAULTED, UNAVAILABLE = _Connector.faulted, _Connector.unavailable
EXPIRED, REMOVED = ReservationUpdateStatusEnumType.expired, ReservationUpdateStatusEnumType.removed
_Status = ReserveNowStatusEnumType
# What an EVSE is, for one connector type (None: any), as far as reservations care.
_FREE, _BUSY = _Connector.available, _Connector.occupied
_NO_CONNECTOR, _UNKNOWN = "NoConnector", "Unknown"
_BROKEN = frozenset({FAULTED, UNAVAILABLE, _NO_CONNECTOR})

ConnectorStatus = Callable[[int, int], "ConnectorStatusEnumType | None"]
ConnectorType = Callable[[int, int], "str | None"]


@dataclass
class Reservation:
    """One reservation in force."""

    id: int
    evse_id: int | None
    connector_type: ConnectorEnumType | None
    id_token: IdTokenType
    group_id_token: IdTokenType | None
    expiry: datetime
    created: datetime

    def row(self) -> ReservationRow:
        return ReservationRow(self.id, self.evse_id, self.connector_type, self.id_token,
                              self.group_id_token, iso(self.expiry), iso(self.created))

    def view(self) -> dict:
        """The control API's ReservationView."""
        return {"id": self.id, "id_token": self.id_token.id_token, "expiry": iso(self.expiry)}

    def matches(self, id_token: IdTokenType, group_id_token: IdTokenType | None) -> bool:
        """H03.FR.01-06: the reserving idToken, or the reservation's groupIdToken."""
        if _same_token(self.id_token, id_token):
            return True
        return (self.group_id_token is not None and group_id_token is not None
                and _same_token(self.group_id_token, group_id_token))


@dataclass
class _Update:
    """A ReservationStatusUpdate to send."""

    reservation_id: int
    status: ReservationUpdateStatusEnumType
    wait_for: set[int] = field(default_factory=set)   # EVSEs that should stop showing Reserved
    deadline: float = 0.0                # ... until then (session's monotonic clock)


class ReservationSession(SessionClock, Timers, Replies, ActorOutbox, Protocol):
    """The session ports block H uses."""


class Reservations:
    """ReserveNow, CancelReservation, expiry and token checks (see the module docstring).

    Args:
        session: the station session; the block routes ReserveNow and CancelReservation, and
            sends ReservationStatusUpdate and messages to the Evse actors through it.
        device_model: read for ReservationCtrlr.Available, Enabled and NonEvseSpecific.
        repo: a :class:`~storage.reservation_repo.ReservationRepository`.
        connectors_per_evse: connector count of each EVSE, EVSE 1 first.
        connector_status: ``(evse_id, connector_id) -> ConnectorStatusEnumType`` or None when
            the EVSE has not said yet (``Availability.status_of``).
        connector_type: ``(evse_id, connector_id) -> ConnectorEnumType`` or None when unknown
            (the device model's ``Connector.ConnectorType``).
        evse_in_use: whether a transaction runs on the EVSE (one authorized before the cable
            is in shows Available); defaults to "never".
        wall_clock: the station's time for ``expiryDateTime``; defaults to the session's.
    """

    def __init__(self, session: ReservationSession, sender: SendPort,
                 device_model: DeviceModelView, repo: ReservationRepository,
                 connectors_per_evse: list[int], connector_status: ConnectorStatus,
                 connector_type: ConnectorType, *,
                 evse_in_use: Callable[[int], bool] = lambda evse_id: False,
                 wall_clock: Callable[[], datetime] | None = None) -> None:
        self._session = session
        self._sender = sender
        self._dm = device_model
        self._repo = repo
        self._layout = {evse_id: n for evse_id, n in enumerate(connectors_per_evse, start=1)}
        self._status = connector_status
        self._type = connector_type
        self._types: dict[tuple[int, int], str | None] = {}
        self._in_use = evse_in_use
        self._wall = wall_clock or session.wall_clock
        self.active: dict[int, Reservation] = {}
        self._held: set[int] = set()
        self._updates: list[_Update] = []
        self._load()
        self._pump()           # updates of reservations that ended while the station was down
        session.add_timer(self._next_deadline, self._on_due)

    # -- start ----------------------------------------------------------------------------------

    def _load(self) -> None:
        """B11.FR.05: reservations come back after a restart; those past expiry end now."""
        now = self._wall()
        for row in self._repo.all():
            try:
                reservation = Reservation(row.reservation_id, row.evse_id, row.connector_type,
                                          row.id_token, row.group_id_token,
                                          parse_ocpp_time(row.expiry),
                                          parse_ocpp_time(row.created))
            except ValueError:
                log.error("reservation %s: unreadable times %r/%r; deleted", row.reservation_id,
                          row.expiry, row.created)
                self._repo.delete(row.reservation_id)
                continue
            if reservation.evse_id is not None and reservation.evse_id not in self._layout:
                # The configuration lost that EVSE: the reservation cannot be kept.
                log.warning("reservation %s: EVSE %s no longer exists", reservation.id,
                            reservation.evse_id)
                self._repo.delete(reservation.id)
                self._updates.append(_Update(reservation.id, REMOVED))
            elif reservation.expiry <= now:
                # Kept in the database until the update is queued (H04.FR.01).
                self._updates.append(_Update(reservation.id, EXPIRED))
                if reservation.evse_id is not None:
                    self._tell(ReservationCleared(evse_id=reservation.evse_id,
                                                  reservation_id=reservation.id,
                                                  reason=EXPIRED))
            else:
                self.active[reservation.id] = reservation
        self.sync_all()

    def sync_evse(self, evse_id: int) -> None:
        """Tell one Evse its reservation state again (e.g. after that Evse restarted)."""
        reservation = self._specific(evse_id)
        if reservation is not None:
            self._tell(self._made(reservation))
        else:
            self._tell(ReservationCleared(evse_id=evse_id, reservation_id=None, reason="Sync"))
        self._tell(EvseHeldForReservations(evse_id=evse_id, held=evse_id in self._held))

    def sync_all(self) -> None:
        """Tell every Evse that has a reservation or a hold (at start, B11.FR.05)."""
        for evse_id in sorted(self._shown()):
            self.sync_evse(evse_id)

    # -- what the rest of the station asks --------------------------------------------------------

    def reservation_on(self, evse_id: int) -> dict | None:
        """The EVSE-specific reservation of an EVSE, as the control API shows it."""
        reservation = self._specific(evse_id)
        return reservation.view() if reservation else None

    def is_reserved(self, evse_id: int) -> bool:
        """Whether the EVSE is reserved or held: RequestStartTransaction without evseId must
        not pick it (F01.FR.20)."""
        return evse_id in self._shown()

    def check_token(self, evse_id: int, id_token: IdTokenType,
                    group_id_token: IdTokenType | None = None
                    ) -> tuple[bool, int | None]:
        """May this token use this EVSE, and which reservation would it use?

        H03.FR.01-06: on an EVSE reserved specifically only the reserving idToken or the
        reservation's groupIdToken; elsewhere anyone, as long as the reservations of an
        unspecified EVSE can still each get a free EVSE without this one (H01.FR.07/09). A
        token that has such a reservation uses it here if the others can do without this EVSE.

        Does not change anything; :meth:`claim` also consumes the reservation.

        Args:
            evse_id: where the token is presented (or a RequestStartTransaction is aimed,
                F01.FR.21/22).
            id_token: the token.
            group_id_token: the token's group (IdTokenInfo.groupIdToken from the local list,
                the cache or an Authorize, H03.FR.07/08), if known.

        Returns:
            ``(allowed, reservation_id)``: ``reservation_id`` is the reservation the token uses
            (to consume, and to put in the TransactionEvent, H01.FR.15), or None.
        """
        if evse_id not in self._layout:
            return True, None              # not an EVSE of ours: nothing reserved there
        specific = self._specific(evse_id)
        if specific is not None:
            if specific.matches(id_token, group_id_token):
                return True, specific.id                               # H03.FR.01/04
            return False, None                                         # F01.FR.21/22
        unspecified = self._unspecified()
        pool = [e for e in self._pool() if e != evse_id]
        for reservation in unspecified:
            if reservation.matches(id_token, group_id_token) and \
                    self._evse_state(evse_id, reservation.connector_type) not in _BROKEN:
                rest = [r for r in unspecified if r is not reservation]
                if self._assignable(rest, pool, self._free_for):       # H03.FR.02/03/05/06
                    return True, reservation.id
        return self._assignable(unspecified, pool, self._free_for), None

    def claim(self, evse_id: int, id_token: IdTokenType,
              group_id_token: IdTokenType | None = None) -> tuple[bool, int | None]:
        """:meth:`check_token`, and consume the reservation it matches (H03.FR.09/10).

        Call when a token is presented (locally or in a RequestStartTransaction); the Evse then
        shows Available (or Occupied with a cable in) and puts the returned id in the next
        TransactionEvent (H01.FR.15).
        """
        allowed, reservation_id = self.check_token(evse_id, id_token, group_id_token)
        if allowed and reservation_id is not None:
            self.used(reservation_id)
        return allowed, reservation_id

    def used(self, reservation_id: int) -> bool:
        """A transaction used the reservation (H03.FR.09; a TransactionEvent with
        ``reservationId``, H01.FR.15): it ends without a ReservationStatusUpdate.

        Idempotent: False when no such reservation is in force (already consumed).
        """
        reservation = self.active.get(reservation_id)
        if reservation is None:
            return False
        shown = self._shown()
        self._repo.delete(reservation_id)
        del self.active[reservation_id]
        log.info("reservation %s used", reservation_id)
        cleared = [] if reservation.evse_id is None else [(reservation.evse_id, reservation_id,
                                                           "Used")]
        self._publish(shown, cleared=cleared)
        self._pump()
        return True

    def connector_status_changed(self, evse_id: int, connector_id: int,
                                 status: ConnectorStatusEnumType) -> None:
        """Call after the Availability block learnt a connector's status.

        A Faulted or Unavailable EVSE ends the reservations that depended on it with
        ReservationStatusUpdate Removed (H01.FR.16/17); any change may hold or release EVSEs for
        the reservations of an unspecified EVSE, and lets waiting updates go.
        """
        shown = self._shown()
        removed: list[Reservation] = []
        if status in (FAULTED, UNAVAILABLE):
            removed = self._unservable()
        cleared = []
        for reservation in removed:
            log.info("reservation %s removed: EVSE %s is %s", reservation.id, evse_id, status)
            self._repo.delete(reservation.id)
            del self.active[reservation.id]
            if reservation.evse_id is not None:
                cleared.append((reservation.evse_id, reservation.id, REMOVED))
        self._publish(shown, cleared=cleared, updates=[(r.id, REMOVED) for r in removed])
        self._pump()

    def refresh(self) -> None:
        """Re-evaluate the holds, e.g. when a transaction started or ended (``evse_in_use``)."""
        self._publish(self._shown())
        self._pump()

    # -- ReserveNow (H01) -------------------------------------------------------------------------

    def on_reserve_now(self, message_id: str, request: ReserveNowRequest) -> ReserveNowResponse:
        reservation_id = request.id
        if not self._dm.get_bool("ReservationCtrlr", "Available", default=True):
            return _rejected("UnsupportedRequest", "reservations are not supported")
        if not self._dm.get_bool("ReservationCtrlr", "Enabled", default=True):
            return _rejected("NotEnabled", "reservations are disabled")           # H01.FR.01
        now = self._wall()
        try:
            expiry = parse_ocpp_time(request.expiry_date_time)
        except ValueError:
            return _rejected("InvalidValue", "expiryDateTime is not a date-time")
        if expiry <= now:
            return _rejected("InvalidValue", "expiryDateTime has passed")
        new = Reservation(reservation_id, request.evse_id, request.connector_type,
                          request.id_token, request.group_id_token, expiry, now)
        # H01.FR.02: a reservation with the same id is replaced, so it does not stand in the
        # way of its replacement. If the replacement is refused, the old one stays in force.
        others = [r for r in self.active.values() if r.id != reservation_id]
        if new.evse_id is None:
            answer = self._check_unspecified(new, others)
        else:
            answer = self._check_specific(new, others)
        if answer.status != _Status.accepted:
            log.info("ReserveNow %s: %s", reservation_id, answer)
            return answer
        self._repo.save(new.row())                       # B01.FR.13: persist before answering
        shown = self._shown()
        old = self.active.get(reservation_id)
        self.active[reservation_id] = new
        cleared = []
        if old is not None and old.evse_id is not None and old.evse_id != new.evse_id:
            cleared.append((old.evse_id, reservation_id, "Replaced"))
        log.info("reservation %s accepted: EVSE %s, type %s, until %s", reservation_id,
                 new.evse_id if new.evse_id is not None else "any", new.connector_type,
                 iso(expiry))
        self._publish(shown, made=[new] if new.evse_id is not None else [], cleared=cleared)
        self._session.after_reply(self._pump)
        return ReserveNowResponse(status=_Status.accepted)                      # H01.FR.03

    def _check_specific(self, new: Reservation, others: list[Reservation]) -> ReserveNowResponse:
        evse_id = new.evse_id
        if evse_id not in self._layout:
            return _rejected("UnknownEvse", f"EVSE {evse_id} does not exist")
        if new.connector_type is not None and not self._connectors(evse_id, new.connector_type):
            return _rejected("UnknownConnectorType",
                             f"EVSE {evse_id} has no {new.connector_type} connector")
        if any(r.evse_id == evse_id for r in others):
            return _answer(_Status.occupied)                          # H01.FR.11: Reserved
        state = self._evse_state(evse_id, new.connector_type)
        if state == _BUSY:
            return _answer(_Status.occupied)                          # H01.FR.11: Occupied
        if state in (FAULTED, UNAVAILABLE):
            return _answer(_Status(state))                            # H01.FR.12/14
        if state != _FREE:
            return _answer(_Status.unavailable)      # not reported yet: nothing to promise on
        specific = {r.evse_id for r in others if r.evse_id is not None}
        pool = [e for e in self._layout if e not in specific and e != evse_id]
        if not self._assignable([r for r in others if r.evse_id is None], pool, self._free_for):
            # Held for reservations of an unspecified EVSE: it shows Reserved (H01.FR.11).
            return _answer(_Status.occupied)
        return _answer(_Status.accepted)                              # H01.FR.23

    def _check_unspecified(self, new: Reservation,
                           others: list[Reservation]) -> ReserveNowResponse:
        if not self._dm.get_bool("ReservationCtrlr", "NonEvseSpecific", default=False):
            return _rejected("UnsupportedRequest", "reservations need an evseId")   # H01.FR.19
        targeted = [e for e in self._layout if self._connectors(e, new.connector_type)]
        if not targeted:
            return _rejected("UnknownConnectorType",
                             f"no EVSE has a {new.connector_type} connector")
        specific = {r.evse_id for r in others if r.evse_id is not None}
        pool = [e for e in self._layout if e not in specific]
        unspecified = [r for r in others if r.evse_id is None] + [new]
        if self._assignable(unspecified, pool, self._free_for):
            return _answer(_Status.accepted)                          # H01.FR.04/06/18
        # Not possible: answer for "(all) targeted EVSEs" (H01.FR.11/12/14).
        states = [self._evse_state(e, new.connector_type) for e in targeted]
        if any(state in (_FREE, _BUSY) for state in states):
            return _answer(_Status.occupied)     # free ones are all reserved or held: H01.FR.11
        if all(state == FAULTED for state in states):
            return _answer(_Status.faulted)                           # H01.FR.12
        if all(state == UNAVAILABLE for state in states):
            return _answer(_Status.unavailable)                       # H01.FR.14
        # A mix of Faulted, Unavailable and silent EVSEs: the EVSE-level order of G01
        # (Faulted before Unavailable), as the Availability block reports an EVSE.
        return _answer(_Status.faulted if FAULTED in states else _Status.unavailable)

    # -- CancelReservation (H02) ------------------------------------------------------------------

    def on_cancel_reservation(self, message_id: str,
                              request: CancelReservationRequest) -> CancelReservationResponse:
        reservation_id = request.reservation_id
        reservation = self.active.get(reservation_id)
        if reservation is None:
            return CancelReservationResponse(
                status=CancelReservationStatusEnumType.rejected)       # H02.FR.01
        shown = self._shown()
        self._repo.delete(reservation_id)                # persist before answering
        del self.active[reservation_id]
        log.info("reservation %s cancelled", reservation_id)
        cleared = [] if reservation.evse_id is None else [(reservation.evse_id, reservation_id,
                                                           "Cancelled")]
        # H02.FR.03-06: the EVSE (or those held for it) become Available again; no
        # ReservationStatusUpdate (H02 remark: the CSMS knows).
        self._publish(shown, cleared=cleared)
        self._session.after_reply(self._pump)
        return CancelReservationResponse(
            status=CancelReservationStatusEnumType.accepted)           # H02.FR.02

    # -- expiry (H04) -----------------------------------------------------------------------------

    def _next_deadline(self) -> float | None:
        candidates = []
        if self.active:
            earliest = min(r.expiry for r in self.active.values())
            remaining = (earliest - self._wall()).total_seconds()
            candidates.append(self._session.now + max(0.0, remaining))
        # Every waiting update goes at its deadline at the latest (0: at once); _pump hands it
        # to the port, so none stays past its deadline and the timer cannot spin.
        candidates.extend(u.deadline for u in self._updates)
        return min(candidates) if candidates else None

    def _on_due(self) -> None:
        now = self._wall()
        due = sorted((r for r in self.active.values() if r.expiry <= now),
                     key=lambda r: (r.expiry, r.id))
        if due:
            shown = self._shown()
            cleared = []
            for reservation in due:
                # The row stays until the update is queued (see _pump).
                del self.active[reservation.id]
                log.info("reservation %s expired", reservation.id)
                if reservation.evse_id is not None:
                    cleared.append((reservation.evse_id, reservation.id, EXPIRED))  # H04.FR.02
            self._publish(shown, cleared=cleared,
                          updates=[(r.id, EXPIRED) for r in due])                  # H04.FR.01
        self._pump()

    # -- ReservationStatusUpdate ------------------------------------------------------------------

    def _pump(self) -> None:
        """Send the updates whose EVSEs stopped showing Reserved (or waited long enough)."""
        now = self._session.now
        for update in list(self._updates):
            update.wait_for = {e for e in update.wait_for if self._shows_reserved(e)}
            if update.wait_for and now < update.deadline:
                continue                       # H04: StatusNotification Available goes first
            # GUARANTEED: durably queued once this returns, delivered whenever the link allows.
            self._sender.send("ReservationStatusUpdate", ReservationStatusUpdateRequest(
                reservation_id=update.reservation_id, reservation_update_status=update.status))
            self._updates.remove(update)
            # An Expired reservation's row was kept for this moment; unless a new ReserveNow
            # has reused the id meanwhile (H01.FR.02), it goes now.
            if update.status == EXPIRED and update.reservation_id not in self.active:
                self._repo.delete(update.reservation_id)

    # -- the matching of unspecified reservations to EVSEs ------------------------------------

    def _specific(self, evse_id: int) -> Reservation | None:
        for reservation in self.active.values():
            if reservation.evse_id == evse_id:
                return reservation
        return None

    def _unspecified(self) -> list[Reservation]:
        """Reservations of an unspecified EVSE, oldest first (the order removals respect)."""
        return sorted((r for r in self.active.values() if r.evse_id is None),
                      key=lambda r: (r.created, r.id))

    def _pool(self) -> list[int]:
        """EVSEs that reservations of an unspecified EVSE may be assigned to."""
        specific = {r.evse_id for r in self.active.values() if r.evse_id is not None}
        return [e for e in self._layout if e not in specific]

    def _connectors(self, evse_id: int, connector_type: str | None) -> list[int]:
        connectors = range(1, self._layout[evse_id] + 1)
        if connector_type is None:
            return list(connectors)
        return [c for c in connectors if self._type_of(evse_id, c) == connector_type]

    def _type_of(self, evse_id: int, connector_id: int) -> str | None:
        # Connector.ConnectorType is ReadOnly: read once.
        key = (evse_id, connector_id)
        if key not in self._types:
            self._types[key] = self._type(evse_id, connector_id)
        return self._types[key]

    def _evse_state(self, evse_id: int, connector_type: str | None) -> str:
        """The EVSE for a reservation of ``connector_type``: free, busy, Faulted, Unavailable,
        without such a connector, or not reported yet."""
        relevant = self._connectors(evse_id, connector_type)
        if not relevant:
            return _NO_CONNECTOR
        every = [self._status(evse_id, c) for c in range(1, self._layout[evse_id] + 1)]
        # One connector of an EVSE at a time: an Occupied one makes the whole EVSE busy.
        if _Connector.occupied in every or self._in_use(evse_id):
            return _BUSY
        statuses = [self._status(evse_id, c) for c in relevant]
        if any(s in (_Connector.available, _Connector.reserved) for s in statuses):
            return _FREE
        for status in (FAULTED, UNAVAILABLE):
            if status in statuses:
                return status
        return _UNKNOWN

    def _free_for(self, reservation: Reservation, evse_id: int) -> bool:
        return self._evse_state(evse_id, reservation.connector_type) == _FREE

    def _not_broken_for(self, reservation: Reservation, evse_id: int) -> bool:
        return self._evse_state(evse_id, reservation.connector_type) not in _BROKEN

    @staticmethod
    def _match(reservations: list[Reservation], evses: Iterable[int],
               fits: Callable[[Reservation, int], bool],
               ) -> tuple[dict[int, int], list[Reservation]]:
        """Assign reservations to distinct EVSEs, in order (augmenting paths, Kuhn).

        Returns:
            ``(evse_id -> index in reservations, reservations left without an EVSE)``. Taken
            in order, the ones left over are the newest that cannot all be served.
        """
        evses = list(evses)
        edges = [[e for e in evses if fits(r, e)] for r in reservations]
        owner: dict[int, int] = {}

        def augment(index: int, seen: set[int]) -> bool:
            for evse_id in edges[index]:
                if evse_id in seen:
                    continue
                seen.add(evse_id)
                if evse_id not in owner or augment(owner[evse_id], seen):
                    owner[evse_id] = index
                    return True
            return False

        left = [r for index, r in enumerate(reservations) if not augment(index, set())]
        return owner, left

    def _assignable(self, reservations: list[Reservation], evses: Iterable[int],
                    fits: Callable[[Reservation, int], bool]) -> bool:
        return not reservations or not self._match(reservations, evses, fits)[1]

    def _compute_held(self) -> set[int]:
        """Free EVSEs without which the unspecified reservations cannot all be served."""
        unspecified = self._unspecified()
        if not unspecified:
            return set()
        pool = self._pool()
        free = [e for e in pool if self._evse_state(e, None) == _FREE]
        # Which EVSE suits which reservation, worked out once (statuses are read through
        # ports; 128 EVSEs times the reservations is plenty).
        fitting = {r.id: {e for e in free if self._free_for(r, e)} for r in unspecified}
        owner, left = self._match(unspecified, free, lambda r, e: e in fitting[r.id])
        if left:
            return set(free)           # already short of EVSEs: keep every free one free
        # An assigned EVSE can be spared when its reservation can move along an alternating
        # path that ends at a free EVSE nobody is assigned to.
        spare = {e for e in free if e not in owner}
        changed = True
        while changed:
            changed = False
            for evse_id, index in owner.items():
                if evse_id not in spare and fitting[unspecified[index].id] & spare:
                    spare.add(evse_id)
                    changed = True
        return {e for e in free if e not in spare}

    def _unservable(self) -> list[Reservation]:
        """Reservations an EVSE's fault or unavailability has made impossible (H01.FR.16/17).

        An EVSE-specific one whose EVSE is Faulted or Unavailable; of the others, the newest
        that cannot all get a distinct EVSE which is not Faulted or Unavailable. Occupied EVSEs
        still count: they may come free in time, and H01 removes nothing for them.
        """
        out = [r for r in self.active.values()
               if r.evse_id is not None and self._evse_state(r.evse_id, r.connector_type)
               in (FAULTED, UNAVAILABLE)]
        specific = {r.evse_id for r in self.active.values()
                    if r.evse_id is not None and r not in out}
        pool = [e for e in self._layout if e not in specific]
        out.extend(self._match(self._unspecified(), pool, self._not_broken_for)[1])
        return out

    # -- telling the Evses ----------------------------------------------------------------------

    def _shown(self) -> set[int]:
        """EVSEs that show Reserved: reserved specifically or held."""
        return {r.evse_id for r in self.active.values() if r.evse_id is not None} | self._held

    def _shows_reserved(self, evse_id: int) -> bool:
        return any(self._status(evse_id, c) == _Connector.reserved
                   for c in range(1, self._layout.get(evse_id, 0) + 1))

    def _publish(self, shown_before: set[int], *, made: list[Reservation] = (),
                 cleared: list[tuple[int, int, str]] = (),
                 updates: list[tuple[int, ReservationUpdateStatusEnumType]] = ()) -> None:
        """Send the Evses what changed and queue the ReservationStatusUpdates.

        Order keeps an EVSE from flickering to Available between two states: new holds, then
        new reservations, then ended reservations, then released holds.
        """
        held = self._compute_held()
        gained, lost = held - self._held, self._held - held
        self._held = held
        for evse_id in sorted(gained):
            self._tell(EvseHeldForReservations(evse_id=evse_id, held=True))
        for reservation in made:
            self._tell(self._made(reservation))
        for evse_id, reservation_id, reason in cleared:
            if self._specific(evse_id) is None:
                self._tell(ReservationCleared(evse_id=evse_id, reservation_id=reservation_id,
                                              reason=reason))
        for evse_id in sorted(lost):
            self._tell(EvseHeldForReservations(evse_id=evse_id, held=False))
        released = shown_before - self._shown()
        deadline = self._session.now + STATUS_WAIT_S
        for reservation_id, status in updates:
            self._updates.append(_Update(reservation_id, status,
                                         {e for e in released if self._shows_reserved(e)},
                                         deadline))

    @staticmethod
    def _made(reservation: Reservation) -> ReservationMade:
        return ReservationMade(evse_id=reservation.evse_id, reservation_id=reservation.id,
                               id_token=reservation.id_token,
                               group_id_token=reservation.group_id_token,
                               connector_type=reservation.connector_type,
                               expiry=iso(reservation.expiry))

    def _tell(self, message) -> None:
        self._session.send_to_actor(("evse", message.evse_id), message)


def _same_token(a: IdTokenType, b: IdTokenType) -> bool:
    # IdToken is a CiString36 (case-insensitive), compared as libocpp does: by value only, so a
    # card presented with another type than the CSMS wrote in the reservation still matches.
    return a.id_token.casefold() == b.id_token.casefold()


def _answer(status: ReserveNowStatusEnumType) -> ReserveNowResponse:
    return ReserveNowResponse(status=status)


def _rejected(reason_code: str, info: str) -> ReserveNowResponse:
    """Rejected with StatusInfo (reason codes from part 2 appendix 5)."""
    return ReserveNowResponse(status=_Status.rejected, status_info=StatusInfoType(
        reason_code=reason_code, additional_info=info))


__all__ = ["Reservations", "Reservation", "STATUS_WAIT_S"]
