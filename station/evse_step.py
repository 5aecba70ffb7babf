"""The Evse core's step: hardware in, block E driven, relay and lock commanded, statuses out.

Theory of operation
-------------------
Every input of :class:`~station.evse_core.EvseCore` ends with one *step*
(:meth:`EvseStep._step`) and :meth:`EvseStep._finish`, which collects the intents:

1. reads the meter into block E (``energy_measured``: meter start, E05.FR.03);
2. *settles*: polls the hardware, turns its events into :class:`~blocks.tx_state.EvseTransactions`
   inputs, then drives the relay and the lock from the transaction state, and polls again
   until the hardware is quiet (a closing relay is an event too);
3. runs the timers: EVConnectionTimeOut (E03.FR.05, F02.FR.07);
4. runs the meters (``station/evse_metering.py``): TransactionMeter (TxUpdatedInterval,
   aligned values, the Ended list; J02, J01.FR.22) while a transaction runs, IdleMeter
   (J01.FR.14) always;
5. applies availability scheduled while a transaction ran, once it has ended (G03.FR.05);
6. announces every connector whose status changed (Faulted > Unavailable > Occupied >
   Available; G01, G03.FR.06/07).

Hardware events map onto block E by the EV's state (IEC 61851-1, see ``evse_hw.driver``):
``NO_EV`` -> ev_disconnected; a first non-``NO_EV`` state -> ev_connected; ``CHARGING`` ->
energy_transfer_started; ``REQUESTING`` (the EV asks, the relay is open) ->
energy_transfer_stopped by the EVSE (SuspendedEVSE while authorized); ``CONNECTED`` after
energy flowed -> energy_transfer_stopped by the EV (SuspendedEV) if the EVSE still offers, else
the offer ended. The relay events themselves carry no extra information (the relay closes only
for a requesting EV) and are not fed in, so one physical change gives one TransactionEvent.

Commands: the connector is locked while someone is authorized or a cable is held for a token
(:attr:`~blocks.tx_state.EvseTransactions.cable_held_for`, E09.FR.03, E10.FR.01) and unlocked
otherwise (E07.FR.07); the EVSE is enabled exactly while
:attr:`~blocks.tx_state.EvseTransactions.energy_allowed`.

:meth:`EvseStep._finish` puts the saves first (block E's snapshot, the hardware, the
TransactionEvents not yet acknowledged and the meter values collected for the Ended event),
then what goes to the CsmsSession (``station/evse_delivery.py``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blocks.tx_state import DATA_SIGNED
from evse_hw import driver as hw
from messages.ocpp201 import (ConnectorStatusEnumType, IdTokenType, TransactionEventRequest,
                              to_wire)
from ports.time import parse_ocpp_time
from station.evse_delivery import DeliveryLine
from station.evse_intents import Intent, ReportLockProblem, SaveAvailability, SaveState
from station.evse_metering import EvseMetering
from station.evse_state import INOPERATIVE, OPERATIVE, EvseState
from storage.evse_repo import TransactionRow

log = logging.getLogger(__name__)

STATE_VERSION = 1
MAX_SETTLE_ROUNDS = 6            # poll/command rounds per step; the simulator settles in 2
ENERGY_SAVE_INTERVAL_S = 30.0    # refresh the saved energy register this often while charging


@dataclass(frozen=True)
class ShownReservation:
    """The reservation this EVSE shows (ReservationMade, H01.FR.23); part of the saved state."""

    id: int
    id_token: IdTokenType
    group_id_token: IdTokenType | None
    expiry: str                      # OCPP date-time

    def saved(self) -> dict[str, Any]:
        """The JSON form in the saved state (tokens as wire dicts, as it always was)."""
        return {"id": self.id, "id_token": to_wire(self.id_token),
                "group_id_token": (to_wire(self.group_id_token)
                                   if self.group_id_token is not None else None),
                "expiry": self.expiry}

    @classmethod
    def restore(cls, data: dict[str, Any] | None) -> "ShownReservation | None":
        """The reservation of a saved state (:meth:`saved`), None if there was none."""
        if data is None:
            return None
        group = data.get("group_id_token")
        return cls(id=data["id"], id_token=IdTokenType.model_validate(data["id_token"]),
                   group_id_token=IdTokenType.model_validate(group) if group else None,
                   expiry=data.get("expiry"))


class EvseStep(EvseMetering):
    """Mixed into :class:`~station.evse_core.EvseCore`; uses the core's attributes below."""

    avail: EvseState
    lines: DeliveryLine
    _ev_timeout_at: float | None
    _scheduled: dict[int, str]
    _scheduled_station: str | None
    _announced: dict[int, ConnectorStatusEnumType]
    _reservation: ShownReservation | None
    _held: bool
    _lock_problem: set[int]
    _last_save: float
    _saves: list[Intent]

    # -- what the EVSE shows -----------------------------------------------------------------

    def connector_statuses(self) -> dict[int, ConnectorStatusEnumType]:
        """ConnectorStatusEnumType per connector: Faulted > Unavailable > Reserved > Occupied >
        Available (a cable plugged into a Reserved EVSE leaves it Reserved, G03.FR.09)."""
        state = self.hw.state(self._t)
        reserved = self._shows_reserved()
        status = ConnectorStatusEnumType
        out = {}
        for c in self.avail.connector_ids:
            if state.faulted:
                out[c] = status.faulted
            elif self.avail.connector_status(c) == status.unavailable:
                out[c] = status.unavailable                             # G03.FR.06, G04.FR.07
            elif reserved:
                out[c] = status.reserved                                # H01.FR.20/23/24
            elif state.plugged_connector == c:
                out[c] = status.occupied
            else:
                out[c] = status.available
        return out

    def _shows_reserved(self) -> bool:
        # Until the right token is authorized (G03.FR.09, H03.FR.10).
        return (self._reservation is not None or self._held) and not self.tx.is_authorized

    # -- the step ----------------------------------------------------------------------------

    def _set_now(self, now: datetime) -> None:
        self._now = now
        self._t = now.timestamp()

    def _step(self, now: datetime) -> None:
        self._set_now(now)
        self._emit(self.tx.energy_measured(now, self._reading().energy_active_import_wh))
        self._settle()
        if self._timers():
            self._settle()
        if self._data_signed_start():
            self._settle()
        self._meters()
        self._apply_scheduled()
        self._announce()

    def _settle(self) -> None:
        for _ in range(MAX_SETTLE_ROUNDS):
            events = self.hw.poll(self._t)
            for event in events:
                self._on_hardware(event)
            if not self._command() and not events:
                return
        log.warning("EVSE %d: hardware did not settle", self.evse_id)

    def _on_hardware(self, event: hw.HardwareEvent) -> None:
        self._dirty = True
        tx, now = self.tx, self._now
        if isinstance(event, hw.EvStateChanged):
            self._sync_ev(event.state)
        elif isinstance(event, hw.ConnectorUnplugged) and tx.is_ev_connected:
            self._emit(tx.ev_disconnected(now))
        elif isinstance(event, hw.ParkingBayOccupancy):
            self._emit(tx.parking_bay_occupied(now) if event.occupied
                       else tx.parking_bay_vacated(now))
        # Plugged, faults: statuses (derived); relay events: see _sync_ev.

    def _sync_ev(self, ev: hw.EvState) -> None:
        """Bring block E's view of the EV in line with ``ev`` (module docstring)."""
        tx, now = self.tx, self._now
        if ev == hw.EvState.NO_EV:
            self._emit(tx.ev_disconnected(now))
            return
        if not tx.is_ev_connected:
            connector = self.hw.state(self._t).plugged_connector or self.hw.info.connector_ids[0]
            self._emit(tx.ev_connected(now, connector))                      # E01.FR.02
        if ev == hw.EvState.CHARGING:
            phases = self.hw.state(self._t).phases_in_use
            self._emit(tx.energy_transfer_started(now, phases=phases))       # E02.FR.18
        elif ev == hw.EvState.REQUESTING:
            self._emit(tx.energy_transfer_stopped(now, suspended_by="EVSE"))
        elif tx.charging_state in ("Charging", "SuspendedEVSE"):
            if tx.energy_allowed and self.hw.state(self._t).enabled:
                self._emit(tx.energy_transfer_stopped(now, suspended_by="EV"))  # E01.FR.19
            else:
                self._emit(tx.power_path_opened(now))

    def _command(self) -> bool:
        """Drive lock and relay from the transaction state; True if anything changed."""
        t, tx = self._t, self.tx
        state = self.hw.state(t)
        changed = False
        plugged = state.plugged_connector
        hold = plugged is not None and (tx.is_authorized or tx.cable_held_for is not None)
        for c in state.connectors:
            want = hold and c.connector_id == plugged
            if want and not c.locked:
                locked = self.hw.lock(c.connector_id, t)
                changed |= locked
                self._lock_attempted(c.connector_id, locked)
            elif c.locked and not want:                                      # E07.FR.07
                changed |= self.hw.unlock(c.connector_id, t)
        if tx.energy_allowed != state.enabled:
            (self.hw.enable if tx.energy_allowed else self.hw.disable)(t)
            changed = True
            if tx.energy_allowed and state.ev_state == hw.EvState.CONNECTED:
                # The EVSE now offers energy to an EV that does not ask for it: SuspendedEV
                # (E01.FR.19 / §3.16 "EVSE offering energy but EV not taking it", TC_E_38).
                self._emit(tx.power_path_closed(self._now))
        if not tx.energy_allowed and tx.charging_state == "SuspendedEV":
            # Deauthorized while the EV sat in SuspendedEV: the offer ended without a relay
            # event (it was open already); block E wants power_path_opened for that.
            self._emit(tx.power_path_opened(self._now))
        return changed

    def _lock_attempted(self, connector_id: int, locked: bool) -> None:
        # Tried again at every step while it must engage; reported only when that changes.
        # The driver keeps the relay open without the lock (G05.FR.01, ``lock_required``).
        if locked == (connector_id not in self._lock_problem):
            return
        (self._lock_problem.discard if locked else self._lock_problem.add)(connector_id)
        self._dirty = True
        if not locked:
            log.warning("EVSE %d connector %d: the retention lock failed to engage",
                        self.evse_id, connector_id)
        self._sends.append(ReportLockProblem(connector_id, problem=not locked))   # G05.FR.02

    def _timers(self) -> bool:
        tx = self.tx
        if self._ev_timeout_at is None:
            return False
        if tx.is_ev_connected or not tx.is_authorized:
            self._ev_timeout_at = None
            self._dirty = True
            return False
        if self._t < self._ev_timeout_at:
            return False
        self._ev_timeout_at = None                                    # E03.FR.05, C01.FR.26
        self._dirty = True
        self._emit(tx.ev_connect_timeout(self._now))
        return True

    def _data_signed_start(self) -> bool:
        """Start the transaction on the meter's first signed reading (E01.FR.04, E01(S4)).

        The meter is asked only once an EV is connected and a driver authorized, the moment
        the transaction would otherwise wait for: DataSigned stands for "the meter is ready
        to account for this session", and a signed begin value without a driver or a car
        vouches for nothing. Returns True when a transaction started.
        """
        tx = self.tx
        if (tx.active or DATA_SIGNED not in tx.tx_start_points
                or not self.hw.info.can_sign_readings      # such a meter never satisfies it
                or not self.settings.metering.sampled_sign_readings
                or not (tx.is_ev_connected and tx.is_authorized)):
            return False
        # The signed reading is the Started event's own Transaction.Begin value: the meter
        # signs it for the new transaction while block E builds the event (``sample_meter``),
        # so no signature is made and thrown away before the transaction has an id.
        self._emit(tx.data_signed(self._now))
        return tx.active

    def _apply_scheduled(self) -> None:
        if self.tx.active or not (self._scheduled or self._scheduled_station is not None):
            return
        for address, status in sorted(self._scheduled.items()):              # G03.FR.05
            self._apply_availability(address, status)
        self._scheduled.clear()
        if self._scheduled_station is not None:                               # G04.FR.06
            self.avail.station_operative = self._scheduled_station == OPERATIVE
            self._scheduled_station = None
        self._dirty = True

    def _apply_availability(self, address: int, status: str) -> None:
        self._saves.append(SaveAvailability(address, status))                 # G03.FR.08
        if address == 0:
            self.avail.evse_operative = status == OPERATIVE
        else:
            self.avail.connector_operative[address] = status == OPERATIVE

    def _announce(self) -> None:
        for connector_id, status in self.connector_statuses().items():
            if self._announced.get(connector_id) != status:
                self._announced[connector_id] = status
                self.lines.add_status(connector_id, status, self._now)

    def _resend_overdue(self) -> None:
        # _finish sends the heads again.
        self.lines.release_overdue(self._t)

    def _unavailable_reason(self) -> ConnectorStatusEnumType | None:
        """Why no new authorization may start here (F01.FR.23), or None. The reason code
        names the status that forbids it."""
        if self.hw.state(self._t).faulted:
            return ConnectorStatusEnumType.faulted
        a = self.avail
        scheduled_off = INOPERATIVE in (self._scheduled.get(0), self._scheduled_station)
        if not (a.station_operative and a.evse_operative) or scheduled_off:
            return ConnectorStatusEnumType.unavailable
        plugged = self.hw.state(self._t).plugged_connector
        usable = [c for c in a.connector_ids if a.connector_operative.get(c, True)]
        if not usable or (plugged is not None and plugged not in usable):
            return ConnectorStatusEnumType.unavailable
        return None

    def _emit(self, events: list[TransactionEventRequest]) -> None:
        for event in events:
            self.lines.add_event(f"{event.transaction_info.transaction_id}:{event.seq_no}", event)
            self._dirty = True

    def _snapshot(self) -> dict[str, Any]:
        # The driver's own state, when it keeps one (the simulator: evse_hw.driver.KeepsState).
        kept = self.hw.to_dict(self._t) if isinstance(self.hw, hw.KeepsState) else None
        return {"version": STATE_VERSION, "tx": self.tx.snapshot(), "hw": kept,
                "unacked": [[k, to_wire(p)] for k, p in self.lines.events.items()],
                "collected": self._collected, "ev_timeout_at": self._ev_timeout_at,
                "scheduled": {str(c): s for c, s in self._scheduled.items()},
                "scheduled_station": self._scheduled_station,
                "reservation": (self._reservation.saved()
                                if self._reservation is not None else None),
                "held": self._held,
                "lock_problem": sorted(self._lock_problem)}

    def _running_row(self, tx_state: dict) -> TransactionRow | None:
        if tx_state["transaction_id"] is None:
            return None
        start = parse_ocpp_time(tx_state["started_at"]).timestamp()
        return TransactionRow(
            transaction_id=tx_state["transaction_id"],
            connector_id=tx_state["connector_id"] or 0,
            time_start_ms=int(round(start * 1000)), seq_no=tx_state["seq_no"],
            charging_state=tx_state["reported_state"] or self.tx.charging_state,
            id_tag_sent=tx_state["id_token"] is not None and not tx_state["pending_id_token"])

    def _finish(self) -> list[Intent]:
        """Saves first, then sends (module docstring)."""
        self.lines.close_step()             # statuses before the events they caused
        intents: list[Intent] = list(self._saves)
        flowing = self.tx.charging_state == "Charging"
        if self._dirty or (flowing and self._t - self._last_save >= ENERGY_SAVE_INTERVAL_S):
            state = self._snapshot()
            intents.append(SaveState(state, self._running_row(state["tx"])))
            self._dirty = False
            self._last_save = self._t
        self._sends.extend(self.lines.next(self._t))       # after the step's other sends
        intents.extend(self._sends)
        self._saves, self._sends = [], []
        return intents
