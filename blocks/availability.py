"""Functional block G, availability: connector status reporting and ChangeAvailability.

Theory of operation
-------------------
The Evse actors own their connectors and announce every status (at start, after a restart and
on each change) with ``ConnectorStatusChanged``. This block keeps two maps:

* ``known``: the latest status each Evse announced;
* ``reported``: what the CSMS was last told on this registration.

A StatusNotification goes out when the two differ and the session may send. That single rule
gives every case of the spec:

* after BootNotification Accepted every connector is reported (B01.FR.05): ``reported`` starts
  empty;
* after an offline period longer than OfflineThreshold every connector is reported again
  (B04.FR.01), after a shorter one only those that changed (B04.FR.02);
* a restarted Evse that announces the status it had before sends nothing new;
* a StatusNotification lost with the connection is forgotten from ``reported`` and so is sent
  again on the next connection.

ChangeAvailability (G03/G04) for an EVSE or connector is forwarded to that Evse, which persists
it (G03.FR.08) and answers; the CALL is answered then. For the whole station (G04.FR.01) the
state is persisted here and broadcast to every Evse.

Lock failure (G05): an Evse whose connector retention lock failed to engage keeps the relay open
(G05.FR.01) and says so with ``LockProblemChanged``; this block records
ConnectorPlugRetentionLock.Problem in the device model and reports it with a NotifyEvent
(G05.FR.02), and again when the lock engages.

The handler takes ChangeAvailabilityRequest and answers ChangeAvailabilityResponse; what goes
out is built as StatusNotificationRequest and NotifyEventRequest models; statuses are the
ConnectorStatusEnumType and OperationalStatusEnumType members.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Callable, Protocol

from messages.evse import (ChangeEvseAvailability, ConnectorStatusChanged,
                           EvseAvailabilityChanged, LockProblemChanged,
                           StationAvailabilityChanged)
from messages.ocpp201 import (ChangeAvailabilityRequest, ChangeAvailabilityResponse,
                              ChangeAvailabilityStatusEnumType, ComponentType,
                              ConnectorStatusEnumType, EventDataType, EventNotificationEnumType,
                              EventTriggerEnumType, EVSEType, NotifyEventRequest,
                              OperationalStatusEnumType, StatusInfoType,
                              StatusNotificationRequest, TriggerMessageStatusEnumType,
                              VariableType)
from ports.outcome import Deferred
from ports.sending import SendPort
from ports.device_model import DeviceModelReporter
from ports.session import (ActorOutbox, ConnectionEvents, Registration, RegistrationState,
                           Replies, SessionClock)
from ports.time import iso

log = logging.getLogger(__name__)

STATION_KEY = (0, 0)

_Status = ChangeAvailabilityStatusEnumType
_UNKNOWN_EVSE = ChangeAvailabilityResponse(status=_Status.rejected,
                                           status_info=StatusInfoType(reason_code="UnknownEvse"))


class AvailabilitySession(SessionClock, Replies, RegistrationState, ConnectionEvents,
                          ActorOutbox, Protocol):
    """The session ports block G uses."""


class Availability:
    """Status tracking, StatusNotification and ChangeAvailability."""

    def __init__(self, session: AvailabilitySession, sender: SendPort,
                 device_model: DeviceModelReporter, availability_repo,
                 connectors_per_evse: list[int],
                 transactions_ongoing: Callable[[], bool] = lambda: False) -> None:
        self._transactions_ongoing = transactions_ongoing
        self._session = session
        self._sender = sender
        self._dm = device_model
        self._repo = availability_repo
        self._layout = {evse_id: n for evse_id, n in enumerate(connectors_per_evse, start=1)}
        self.known: dict[tuple[int, int], ConnectorStatusChanged] = {}
        self.reported: dict[tuple[int, int], ConnectorStatusEnumType] = {}
        # eventId must not repeat for this station (NotifyEvent); seconds since the epoch at
        # start-up times 1000 leaves room for 1000 events per second of uptime.
        self._event_id = int(time.time()) * 1000 % (2**31 - 1)
        session.on_registration(self._on_registration)
        session.on_connected(self._on_connected)

    # -- status reporting -------------------------------------------------------------------------

    def connector_status_changed(self, msg: ConnectorStatusChanged) -> None:
        key = (msg.evse_id, msg.connector_id)
        if key[0] not in self._layout or not 1 <= key[1] <= self._layout[key[0]]:
            log.error("status for unknown connector %s ignored", key)
            return
        previous = self.known.get(key)
        if (previous is not None and msg.origin and previous.origin == msg.origin
                and msg.sequence < previous.sequence):
            # Sent before the status we hold, delivered after it (the actor transport may
            # reorder): the newer status stands (G01.FR.01).
            log.debug("older status %s of connector %s ignored", msg.status, key)
            return
        self.known[key] = msg
        if previous is None or previous.status != msg.status:
            self._dm.set_internal("Connector", "AvailabilityState", msg.status.value,
                                  evse_id=msg.evse_id, connector_id=msg.connector_id)
            self._update_evse_state(msg.evse_id)
        self._report(key)

    def lock_problem_changed(self, msg: LockProblemChanged) -> None:
        """G05.FR.02: ConnectorPlugRetentionLock.Problem, as a NotifyEvent (its send policy
        decides what happens offline)."""
        value = "true" if msg.problem else "false"
        component = ComponentType(name="ConnectorPlugRetentionLock", evse=EVSEType(
            id=msg.evse_id, connector_id=msg.connector_id))
        self._dm.set_internal(component.name, "Problem", value, evse_id=msg.evse_id,
                              connector_id=msg.connector_id)
        self._notify_event(msg.timestamp, component, "Problem", value, cleared=not msg.problem)

    def status_of(self, evse_id: int, connector_id: int) -> ConnectorStatusEnumType | None:
        msg = self.known.get((evse_id, connector_id))
        return msg.status if msg else None

    def _update_evse_state(self, evse_id: int) -> None:
        statuses = [self.known[(evse_id, c)].status for c in range(1, self._layout[evse_id] + 1)
                    if (evse_id, c) in self.known]
        if not statuses:
            return
        # An EVSE is as available as its most available connector.
        for candidate in (ConnectorStatusEnumType.occupied, ConnectorStatusEnumType.reserved,
                          ConnectorStatusEnumType.available, ConnectorStatusEnumType.faulted,
                          ConnectorStatusEnumType.unavailable):
            if candidate in statuses:
                self._dm.set_internal("EVSE", "AvailabilityState", candidate.value,
                                      evse_id=evse_id)
                return

    def _report(self, key: tuple[int, int]) -> None:
        msg = self.known.get(key)
        if msg is None or self.reported.get(key) == msg.status:
            return
        if not self._sender.may_send("StatusNotification"):
            return
        self.report_now(msg)

    def report_now(self, msg: ConnectorStatusChanged) -> None:
        """StatusNotification plus the NotifyEvent for Connector.AvailabilityState.

        G01.FR.03-07 allow either message; OCTT's reusable states (e.g. "Booted") check both, so
        the station sends both, as libocpp does.
        """
        if not self._send_status(msg, msg.timestamp):
            return
        self._notify_event(msg.timestamp,
                           ComponentType(name="Connector", evse=EVSEType(
                               id=msg.evse_id, connector_id=msg.connector_id)),
                           "AvailabilityState", msg.status)

    def _send_status(self, msg: ConnectorStatusChanged, timestamp: str, *,
                     triggered: bool = False) -> bool:
        """One StatusNotification; True when it was sent (``reported`` then holds it)."""
        key = (msg.evse_id, msg.connector_id)
        request = StatusNotificationRequest(timestamp=timestamp, connector_status=msg.status,
                                            evse_id=msg.evse_id, connector_id=msg.connector_id)
        sent = self._sender.send("StatusNotification", request, triggered=triggered,
                                 on_error=lambda code, text: self._forget(key, msg.status))
        if not sent:
            return False
        self.reported[key] = msg.status
        return True

    def _notify_event(self, timestamp: str, component: ComponentType, variable: str, value: str,
                      *, cleared: bool | None = None) -> None:
        """One NotifyEvent, trigger Delta, for a value the station itself observed."""
        self._event_id += 1
        event = EventDataType(
            event_id=self._event_id, timestamp=timestamp, trigger=EventTriggerEnumType.delta,
            actual_value=value,
            event_notification_type=EventNotificationEnumType.hard_wired_notification,
            component=component, variable=VariableType(name=variable), cleared=cleared)
        self._sender.send("NotifyEvent", NotifyEventRequest(generated_at=timestamp, seq_no=0,
                                                            event_data=(event,)))

    def _forget(self, key: tuple[int, int], status: ConnectorStatusEnumType) -> None:
        if self.reported.get(key) == status:
            del self.reported[key]

    def report_all_changed(self) -> None:
        for key in sorted(self.known):
            self._report(key)

    def _on_registration(self, registration: str, previous: str, now: float) -> None:
        if registration == Registration.ACCEPTED and previous != Registration.ACCEPTED:
            self.reported.clear()                                          # B01.FR.05
            self.report_all_changed()

    def _on_connected(self, now: float, offline: float | None) -> None:
        if offline is None or self._session.registration != Registration.ACCEPTED:
            return
        threshold = self._dm.get_int("OCPPCommCtrlr", "OfflineThreshold", default=0) or 0
        if offline > threshold:
            self.reported.clear()                                          # B04.FR.01
        self.report_all_changed()                                          # B04.FR.02

    def trigger_status(self, evse: EVSEType | None) -> TriggerMessageStatusEnumType:
        """TriggerMessage(StatusNotification): only for one connector (F06.FR.12)."""
        if evse is None or evse.connector_id is None:
            return TriggerMessageStatusEnumType.rejected
        key = (evse.id, evse.connector_id)
        if key not in self.known:
            return TriggerMessageStatusEnumType.rejected
        self._session.after_reply(lambda: self._report_triggered(key))
        return TriggerMessageStatusEnumType.accepted

    def _report_triggered(self, key: tuple[int, int]) -> None:
        """The connector's status as it is now, stamped now (F06.FR.09: only current
        information): not the time of its last change, and no NotifyEvent, whose trigger Delta
        would announce a change that did not happen. Sent even if the CSMS was told this status
        already (F06.FR.10)."""
        self._send_status(self.known[key], iso(self._session.wall_clock()), triggered=True)

    # -- ChangeAvailability (G03, G04) --------------------------------------------------------------

    def on_change_availability(self, message_id: str, request: ChangeAvailabilityRequest,
                               ) -> ChangeAvailabilityResponse | Deferred:
        status = request.operational_status
        evse = request.evse
        if evse is None or evse.id == 0:
            if evse is not None and evse.connector_id:
                return _UNKNOWN_EVSE
            return self._change_station(status)                            # G04.FR.01
        evse_id, connector_id = evse.id, evse.connector_id
        if evse_id not in self._layout or (
                connector_id is not None and not 1 <= connector_id <= self._layout[evse_id]):
            return _UNKNOWN_EVSE
        correlation_id = str(uuid.uuid4())
        self._session.send_to_actor(("evse", evse_id), ChangeEvseAvailability(
            correlation_id=correlation_id, evse_id=evse_id, connector_id=connector_id,
            operational_status=status))
        return self._session.defer(correlation_id, message_id, "ChangeAvailability",
                                   self._finish_change)

    @staticmethod
    def _finish_change(answer: Any) -> ChangeAvailabilityResponse:
        assert isinstance(answer, EvseAvailabilityChanged)
        return ChangeAvailabilityResponse(status=answer.status)

    def _change_station(self, status: OperationalStatusEnumType) -> ChangeAvailabilityResponse:
        current = self._repo.get(*STATION_KEY) or OperationalStatusEnumType.operative
        operative = status == OperationalStatusEnumType.operative
        state = (ConnectorStatusEnumType.available if operative
                 else ConnectorStatusEnumType.unavailable)
        if current != status:
            self._repo.set(*STATION_KEY, status.value)                      # G04.FR.09
            self._session.send_to_actor(("evses", None),
                                        StationAvailabilityChanged(operational_status=status))
            self._dm.set_internal("ChargingStation", "AvailabilityState", state.value)
            if status == OperationalStatusEnumType.inoperative and self._transactions_ongoing():
                # The Evses apply it when their transactions end (G04.FR.06).
                return ChangeAvailabilityResponse(status=_Status.scheduled)
            # Operative needs no wait: an Inoperative still scheduled never took effect where a
            # transaction runs, so the station is operative there already (G04.FR.04) and the
            # Evses drop the scheduled change; the others revert now (G04.FR.08).
        elif self._sender.may_send("StatusNotification"):
            # Nothing changes, yet the station confirms the state it is in: TC_G_13 step 3
            # expects every connector reported again and ChargingStation.AvailabilityState.
            self._session.after_reply(lambda: self._report_station_state(state))
        return ChangeAvailabilityResponse(status=_Status.accepted)         # G04.FR.04

    def _report_station_state(self, state: ConnectorStatusEnumType) -> None:
        self._notify_event(iso(self._session.wall_clock()), ComponentType(name="ChargingStation"),
                           "AvailabilityState", state)
        for key in sorted(self.known):
            self.report_now(self.known[key])
