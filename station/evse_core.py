"""One EVSE without Thespian: hardware, transactions, meters and availability in, intents out.

Theory of operation
-------------------
The Evse actor (``actors/evse.py``) owns one :class:`EvseCore` and does only I/O. Every input
(an operator or EV action, a CSMS request relayed by the CsmsSession, a 1 s tick) is a method
call with ``now`` (an aware datetime on the station clock); every call runs one *step* and
returns an :class:`~station.evse_intents.Outcome`: the answer for the requester, if any, and a
list of *intents* for the actor to carry out **in order**: first the saves (SaveAvailability,
SaveState), then (after the actor sent the answer) the messages for the CsmsSession:
SendMeterValues, RequestAuthorization and ReportLockProblem in the order they arose, then the
head of the delivery line of statuses and TransactionEvents (AnnounceStatus,
SendTransactionEvent; ``station/evse_delivery.py``), if it may leave.

The core is split by concern:

==============================  ===========================================================
``station/evse_core.py``        the inputs (this module): lifecycle, operator, CsmsSession
``station/evse_step.py``        the step: hardware events into block E, relay and lock,
                                timers, scheduled availability, statuses, saves first
``station/evse_metering.py``    the meters (block J) and signed readings
``station/evse_delivery.py``    stop-and-wait delivery of events and statuses to the session
``station/evse_intents.py``     the intents and :class:`~station.evse_intents.Outcome`
``station/evse_settings.py``    the device-model values the EVSE uses
==============================  ===========================================================

Saves always come first, so the durable state (block E's snapshot, the hardware's state if
the driver keeps one, the TransactionEvents not yet acknowledged and the meter values collected
for the Ended event) is committed before anything that depends on it leaves the process
(ARCHITECTURE.md, "persist before you acknowledge or send").

Hardware: the core knows its EVSE only through the driver interface of ``evse_hw.driver``
(:class:`~evse_hw.driver.EvseHardware`): it opens the driver with the
:data:`~evse_hw.driver.HardwareFactory` it was given, commands it and polls it. A simulated
EVSE's extra inputs (plug-in, a jammed lock, a parked car, ...) are the simulator's own port
(``simulators/evse_controls.py``); they reach the core only as :meth:`EvseCore.operate`, a
change of the hardware followed by a step, so a real driver replaces the simulator without a
change here.

Restart: :meth:`EvseCore.start` restores the saved state. After a crash of the Evse alone
(``fresh_boot`` False) the transaction goes on with the next seqNo and the hardware kept
running. After a fresh boot of the station (the process tree restarted: the hardware lost power
too) a transaction found in storage is ended with stoppedReason PowerLoss (E07.FR.06,
``end_after_power_loss``); resuming it (TxCtrlr.TxResumptionTimeout / libocpp's
``ResumeTransactionsOnBoot``) is not implemented. Unacknowledged events are sent again in both
cases (the session deduplicates by ``event_key``).

Reservations (H): the CsmsSession's Reservations block owns them and tells the EVSE
(:meth:`EvseCore.reservation_made`, :meth:`EvseCore.reservation_cleared`,
:meth:`EvseCore.held_for_reservations`); while reserved or held and nobody is authorized the
connectors show Reserved (Faulted and Unavailable win; a plugged cable keeps Reserved until the
right token, G03.FR.09). Whether a token may charge is the session's answer (TokenAuthorized
``allowed``); the reservation it used goes into the next TransactionEvent (H01.FR.15). The
reservation is part of the saved state, so a restarted Evse shows Reserved again at once.

Smart charging (K): the EnergySinks of this EVSE and of the station (0) each say what they
impose (:meth:`EvseCore.apply_limit`); the hardware gets, per quantity (current per phase,
power, phases), the lowest of them, and a running transaction reports the change with a
TransactionEvent ChargingRateChanged (SC.02 item 4, K11.FR.04; every change is reported, which
SC.03 allows). The charging profiles themselves live in the CsmsSession
(``blocks/smart_charging.py``).

EVSE-tier variables (:data:`~station.evse_settings.EVSE_TIER_KEYS`, e.g.
AlignedDataCtrlr.SendDuringIdle of this EVSE, J01.FR.19) come in the same values, keyed with
:data:`~station.evse_settings.EVSE_TIER_PREFIX`; they replace the station-tier value for this
EVSE.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from blocks.meter_samples import triggered_meter_values
from blocks.metering import IdleMeter, TransactionMeter
from blocks.tx_state import EvseTransactions, new_transaction_id, same_token
from evse_hw import driver as hw
from messages.ocpp201 import (AuthorizationStatusEnumType, ChangeAvailabilityStatusEnumType,
                              ConnectorStatusEnumType, IdTokenInfoType, IdTokenType,
                              OperationalStatusEnumType,
                              RequestStartStopStatusEnumType, UnlockStatusEnumType)
from ports.time import parse_ocpp_time
from station.evse_delivery import RESEND_AFTER_S, DeliveryLine
from station.evse_intents import (SAVES, AnnounceStatus, Intent, Outcome, ReportLockProblem,
                                  RequestAuthorization, SaveAvailability, SaveState,
                                  SendMeterValues, SendTransactionEvent)
from station.evse_settings import (EVSE_TIER_KEYS, EVSE_TIER_PREFIX, SETTINGS_KEYS,
                                   EvseSettings, known_key)
from station.evse_state import OPERATIVE, EvseState
from station.evse_step import STATE_VERSION, EvseStep, ShownReservation

__all__ = [  # re-exported: the actor, the session and the tests import them from here
    "EVSE_TIER_KEYS", "EVSE_TIER_PREFIX", "RESEND_AFTER_S", "SAVES", "SETTINGS_KEYS",
    "AnnounceStatus", "EvseCore",
    "EvseSettings", "Intent", "Outcome", "ReportLockProblem", "RequestAuthorization",
    "SaveAvailability", "SaveState", "SendMeterValues", "SendTransactionEvent",
]

log = logging.getLogger(__name__)

# The answers of the CSMS requests an EVSE decides (the actor puts them into typed messages).
_START_STOP = RequestStartStopStatusEnumType
_UNLOCK = UnlockStatusEnumType
_AVAILABILITY = ChangeAvailabilityStatusEnumType
#: RequestStartTransaction's answer: (status, transactionId, statusInfo reason code).
RemoteStartAnswer = tuple[RequestStartStopStatusEnumType, str | None, str | None]


def _lowest(values) -> float | int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


@dataclass(frozen=True)
class _PendingAuth:
    purpose: str                 # "start" | "stop" | "remote"
    id_token: IdTokenType
    remote_start_id: int | None = None
    group_id_token: IdTokenType | None = None
    reservation_id: int | None = None


class EvseCore(EvseStep):
    """The logic of one EVSE. Call :meth:`start` once, then any input; see the module docstring.

    Args:
        evse_id: the EVSE's id (1..n).
        values: device-model values, ``{"Component.Variable": value}`` (:data:`SETTINGS_KEYS`;
            missing ones keep :class:`EvseSettings`' defaults).
        availability: operational statuses loaded from AVAILABILITY.
        id_generator: new transactionIds (E01.FR.08); default random UUIDs.
        hardware: opens the driver (:data:`~evse_hw.driver.HardwareFactory`); :meth:`start`
            calls it once, with the driver's saved state if it keeps one.
    """

    def __init__(self, evse_id: int, values: Mapping[str, str | None],
                 availability: EvseState, *, hardware: hw.HardwareFactory,
                 id_generator: Callable[[], str] = new_transaction_id) -> None:
        self.evse_id = evse_id
        self._values = {k: v for k, v in values.items() if known_key(k)}
        self.settings = EvseSettings.from_values(self._values)
        self.avail = availability
        self._open_hardware = hardware
        self.hw: hw.EvseHardware                     # opened by start()
        self.tx = EvseTransactions(evse_id, id_generator=id_generator,
                                   sample_meter=self._sample_meter)
        self._configure_tx()
        self._meter: TransactionMeter | None = None
        self._idle: IdleMeter | None = None
        self._collected: list[dict] = []
        self.lines = DeliveryLine()                  # to the CsmsSession
        self._pending_auth: dict[str, _PendingAuth] = {}
        self._auth_counter = 0
        self._ev_timeout_at: float | None = None
        self._scheduled: dict[int, str] = {}         # connector (0 = EVSE) -> status (G03.FR.05)
        self._scheduled_station: str | None = None
        self._announced: dict[int, ConnectorStatusEnumType] = {}
        self._reservation: ShownReservation | None = None
        self._held = False                           # kept free for unspecified reservations
        # Connectors whose retention lock failed at the last attempt (G05); saved, so a
        # restarted Evse can still report that it works again.
        self._lock_problem: set[int] = set()
        # The transaction whose signed values already carried the meter's public key
        # (PublicKeyWithSignedMeterValue OncePerTransaction).
        self._key_sent_for: str | None = None
        # Limits each EnergySink imposes: sink id (this EVSE's, or 0) -> (A, W, phases).
        self._sink_limits: dict[int, tuple[float | None, float | None, int | None]] = {}
        self._station_busy = False                   # another EVSE runs a transaction
        self._now: datetime | None = None
        self._t = 0.0
        self._dirty = False
        self._last_save = 0.0
        self._saves: list[Intent] = []
        self._sends: list[Intent] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, now: datetime, saved: dict | None, *, fresh_boot: bool,
              boot_reason: str = "PowerUp") -> list[Intent]:
        """Restore ``saved`` (what :class:`SaveState` stored), settle, and say what to do.

        Args:
            now: the station time.
            saved: the stored state, or None for a new EVSE.
            fresh_boot: the whole station (re)started, not just this Evse: a transaction found
                in ``saved`` ended by power loss (E07.FR.06) and the hardware lost power.
            boot_reason: BootReasonEnumType of a fresh boot; after RemoteReset a transaction
                still found (the reset did not wait for it) ends with ImmediateReset
                (B12.FR.04) instead of PowerLoss.

        Raises:
            ValueError: ``saved`` was written by an unknown version.
        """
        self._set_now(now)
        if saved is not None:
            self._restore(saved, fresh_boot, boot_reason)
        else:
            self.hw = self._open_hardware(None, self._t, False)
        self._idle = IdleMeter(self.evse_id, self.settings.metering, self._t,
                               phases=self.hw.info.phases,
                               evse_send_during_idle=self.settings.evse_send_during_idle)
        self._sync_ev(self.hw.state(self._t).ev_state)    # what the hardware shows now
        # An idle new EVSE has nothing worth a write (128 of them boot at once); a power loss
        # changed the hardware (disabled, no limit) even when no event says so.
        self._dirty = self._dirty or (saved is not None and fresh_boot)
        self._step(now)
        return self._finish()

    def _restore(self, saved: dict, fresh_boot: bool, boot_reason: str) -> None:
        if saved.get("version") != STATE_VERSION:
            raise ValueError(f"unknown EVSE state version {saved.get('version')!r}")
        # A station that lost power lost it at the EVSE too (a fresh boot).
        self.hw = self._open_hardware(saved.get("hw"), self._t, fresh_boot)
        self.tx.restore(saved["tx"])
        self.lines.restore_events(saved.get("unacked", []))
        self._collected = list(saved.get("collected", []))
        self._ev_timeout_at = saved.get("ev_timeout_at")
        self._scheduled = {int(c): s for c, s in saved.get("scheduled", {}).items()}
        self._scheduled_station = saved.get("scheduled_station")
        self._reservation = ShownReservation.restore(saved.get("reservation"))
        self._held = bool(saved.get("held", False))
        self._lock_problem = set(saved.get("lock_problem", []))
        if self.tx.active:
            started = parse_ocpp_time(self.tx.snapshot()["started_at"]).timestamp()
            self._meter = TransactionMeter(
                self.settings.metering, started_at=started, phases=self.hw.info.phases,
                now=self._t, restored=self._collected,
                evse_send_during_idle=self.settings.evse_send_during_idle)
        if fresh_boot:
            # The station lost power: a running transaction ends with PowerLoss, an
            # authorization without one is gone (E07.FR.06, E06.FR.16).
            if boot_reason == "RemoteReset" and self.tx.active:
                self._emit(self.tx.station_stop(self._now, "ImmediateReset", "ResetCommand"))
            self._emit(self.tx.end_after_power_loss(self._now))
            self._ev_timeout_at = None

    def resend(self) -> list[Intent]:
        """Everything the CsmsSession must hear again (it may have restarted): the oldest
        unacknowledged TransactionEvent (the others follow it one at a time) and every
        connector's status."""
        self._announced.clear()
        self.lines.restart()
        self._announce()
        return self._finish()

    def intents_lost(self, lost: list[Intent]) -> None:
        """``lost``, intents this core returned, were not all carried out (a save raised).

        The core already counted them as done: its state as saved, its statuses as announced.
        So the next intents save the state again and carry the oldest unacknowledged
        TransactionEvent and, from the next step on, every connector's status (G01.FR.01):
        otherwise a lost Available would leave the CsmsSession holding Occupied as reported,
        and the next plug-in's Occupied would never reach the CSMS."""
        self._dirty = True
        self._saves.extend(i for i in lost if isinstance(i, SaveAvailability))   # G03.FR.08
        self._announced.clear()
        self.lines.restart()
        self._sends.extend(i for i in lost if isinstance(i, RequestAuthorization)
                           and i.correlation_id in self._pending_auth)

    @property
    def unacknowledged(self) -> list[str]:
        """The event_keys sent and not yet acknowledged, oldest first."""
        return list(self.lines.events)

    @property
    def unacknowledged_statuses(self) -> list[AnnounceStatus]:
        """The status announcements not yet acknowledged, oldest (the one out) first."""
        return list(self.lines.statuses)

    # -- inputs: time ------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Intent]:
        """Let time pass (call every second and after any input)."""
        self._step(now)
        self._resend_overdue()
        return self._finish()

    # -- inputs: operator and EV ------------------------------------------------------------

    def operate(self, now: datetime, change: Callable[[float], None]) -> list[Intent]:
        """Something outside the driver interface changes the hardware: ``change(t)`` runs at
        the driver clock ``t``, then a step sees its effects (a simulator's controls,
        ``simulators/evse_controls.py``). An exception from ``change`` propagates, and the core
        is as it was."""
        self._set_now(now)
        change(self._t)
        self._dirty = True              # also a change no event shows (a jammed lock is saved)
        self._step(now)
        return self._finish()

    def present_token(self, now: datetime, id_token: IdTokenType) -> Outcome:
        """A card is presented at this EVSE.

        The token that authorized the session (or that a cable is held for) ends the
        authorization at once (E07.FR.01 a, E09.FR.03, E10); another token during an authorized
        session may stop it if the CSMS says it has the same groupIdToken (E07.FR.01 b); without
        an authorization the CSMS is asked first (C01). Answer: (ok, error).
        """
        self._set_now(now)
        tx = self.tx
        if (tx.is_authorized and same_token(tx.id_token, id_token)
                or same_token(tx.cable_held_for, id_token)):
            self._emit(tx.stop_authorized(now, id_token))                     # E07.FR.02
        elif tx.is_authorized:
            self._ask(_PendingAuth("stop", id_token))
        else:
            reason = self._unavailable_reason()
            if reason is not None:
                return self._refuse(now, f"EVSE {self.evse_id} is {reason}")
            self._ask(_PendingAuth("start", id_token))
        self._step(now)
        return Outcome((True, None), self._finish())

    # -- inputs: answers from the CsmsSession ------------------------------------------------

    def token_authorized(self, now: datetime, correlation_id: str,
                         id_token_info: IdTokenInfoType, *, allowed: bool = True,
                         reservation_id: int | None = None) -> list[Intent]:
        """The answer to a :class:`RequestAuthorization` (IdTokenInfoType); ``allowed`` False:
        the token may not start here, whatever its status: a reservation keeps this EVSE for
        another token (H03), its evseId list leaves this EVSE out (C01.FR.21), or it is a
        Master Pass (C16.FR.03); ``reservation_id``: the one the token uses (H01.FR.15)."""
        self._set_now(now)
        pending = self._pending_auth.pop(correlation_id, None)
        accepted = id_token_info.status == AuthorizationStatusEnumType.accepted
        tx = self.tx
        if pending is not None and pending.purpose != "stop" and not allowed:
            log.info("EVSE %d: the token may not charge here (reserved for another token, "
                     "evseId list or Master Pass)", self.evse_id)
        elif pending is None or not accepted:
            if pending is not None:
                log.info("EVSE %d: token not accepted (%s)", self.evse_id,
                         id_token_info.status)
        elif pending.purpose == "stop":
            group = id_token_info.group_id_token
            if tx.is_authorized and same_token(group, tx.group_id_token):    # E07.FR.01 b
                self._emit(tx.stop_authorized(now, pending.id_token))
        elif not tx.is_authorized and self._unavailable_reason() is None:
            group = pending.group_id_token or id_token_info.group_id_token
            self._authorize(pending.id_token, group, pending.remote_start_id,
                            reservation_id if reservation_id is not None
                            else pending.reservation_id)
        self._step(now)
        return self._finish()

    def event_queued(self, now: datetime, event_key: str) -> list[Intent]:
        """The session committed ``event_key`` to its durable queue: forget it, and send the
        next one."""
        self._set_now(now)
        if self.lines.event_queued(event_key):
            self._dirty = True
        return self._finish()

    def status_seen(self, now: datetime, connector_id: int, sequence: int) -> list[Intent]:
        """The session holds announcement ``sequence`` (of ``connector_id``): the next one
        leaves. A late copy of an older acknowledgement changes nothing."""
        self._set_now(now)
        self.lines.status_seen(connector_id, sequence)
        return self._finish()

    def event_answered(self, now: datetime, transaction_id: str,
                       id_token_info: IdTokenInfoType | None,
                       id_token: IdTokenType | None = None) -> list[Intent]:
        """The CSMS answered a TransactionEvent (that carried ``id_token``); a token it does
        not accept ends or suspends the transaction per StopTxOnInvalidId (E05, F01.FR.03); the
        groupIdToken it gives the session's token is the session's group (C09.FR.12)."""
        self._set_now(now)
        ours = self.tx.active and self.tx.transaction_id == transaction_id
        if ours and id_token_info is not None \
                and id_token_info.status != AuthorizationStatusEnumType.accepted:
            self._emit(self.tx.invalid_id(now))
        elif ours and id_token_info is not None and id_token_info.group_id_token \
                and self.tx.group_answered(id_token, id_token_info.group_id_token):
            self._dirty = True
        self._step(now)
        return self._finish()

    # -- inputs: CSMS requests (remote control, availability) --------------------------------

    def remote_start(self, now: datetime, id_token: IdTokenType,
                     group_id_token: IdTokenType | None,
                     remote_start_id: int, reservation_id: int | None = None,
                     ) -> Outcome[RemoteStartAnswer]:
        """RequestStartTransaction for this EVSE. Answer: (RequestStartStopStatusEnumType,
        transactionId, reason)."""
        self._set_now(now)
        reason = self._unavailable_reason()
        if reason is not None:                                                  # F01.FR.23
            return Outcome((_START_STOP.rejected, None, reason), self.tick(now))
        if self.tx.is_authorized:                                               # F01.FR.24
            return Outcome((_START_STOP.rejected, None, "authorized session running"),
                           self.tick(now))
        transaction_id = self.tx.transaction_id                                 # F01.FR.13
        if self.settings.authorize_remote_start:                                # F01.FR.01
            self._ask(_PendingAuth("remote", id_token, remote_start_id, group_id_token,
                                   reservation_id))
        else:                                                                   # F01.FR.02
            self._authorize(id_token, group_id_token, remote_start_id, reservation_id)
        self._step(now)
        return Outcome((_START_STOP.accepted, transaction_id, None), self._finish())

    def remote_stop(self, now: datetime,
                    transaction_id: str) -> Outcome[RequestStartStopStatusEnumType]:
        """RequestStopTransaction. Answer (RequestStartStopStatusEnumType): Accepted for this
        EVSE's transaction, else Rejected (F03.FR.08)."""
        self._set_now(now)
        if not (self.tx.active and self.tx.transaction_id == transaction_id):
            return Outcome(_START_STOP.rejected, self.tick(now))
        self._emit(self.tx.remote_stop(now))                          # F03.FR.02/03
        self._step(now)                                               # the relay opens
        return Outcome(_START_STOP.accepted, self._finish())

    def unlock(self, now: datetime, connector_id: int) -> Outcome[UnlockStatusEnumType]:
        """UnlockConnector (F05). Answer: UnlockStatusEnumType value."""
        self._set_now(now)
        if connector_id not in self.hw.info.connector_ids:
            return Outcome(_UNLOCK.unknown_connector, self.tick(now))         # F05.FR.03
        tx = self.tx
        in_use = self.hw.state(self._t).plugged_connector or tx.snapshot()["connector_id"]
        if tx.active and tx.is_authorized and in_use in (None, connector_id):
            return Outcome(_UNLOCK.ongoing_authorized_transaction,            # F05.FR.02
                           self.tick(now))
        if tx.cable_held_for is not None:                 # the CSMS released it (F05)
            tx.release_cable()
            self._dirty = True
        self._emit(tx.report(now, "UnlockCommand"))
        unlocked = self.hw.unlock(connector_id, self._t)                      # F05.FR.06
        self._step(now)
        return Outcome(_UNLOCK.unlocked if unlocked else _UNLOCK.unlock_failed,  # F05.FR.04/05
                       self._finish())

    def trigger(self, now: datetime, requested_message: str) -> list[Intent]:
        """TriggerMessage for MeterValues (F06.FR.06) or TransactionEvent (F06.FR.07)."""
        self._set_now(now)
        reading = self._reading()
        if requested_message == "MeterValues":
            payload = triggered_meter_values(
                self.evse_id, self._t, reading, self.settings.metering.aligned_measurands,
                phases=self.hw.info.phases,
                sign=self.settings.metering.aligned_sign_readings)          # J01.FR.21
            if payload is not None:
                self._sends.append(SendMeterValues(payload))
        elif requested_message == "TransactionEvent" and self.tx.active:
            value = self._meter.triggered(self._t, reading) if self._meter else None
            self._emit(self.tx.report(now, "Trigger", meter_values=[value] if value else None))
        self._step(now)
        return self._finish()

    def master_pass_stop(self, now: datetime, id_token: IdTokenType) -> list[Intent]:
        """A Master Pass token ends the authorization of the ongoing transaction, whoever
        started it (C16.FR.02): StopAuthorized with the master's token, stoppedReason
        MasterPass (TC_C_14)."""
        self._set_now(now)
        if self.tx.is_authorized:
            self._emit(self.tx.stop_authorized(now, id_token, stopped_reason="MasterPass"))
        self._step(now)
        return self._finish()

    def end_transaction(self, now: datetime, stopped_reason: str,
                        trigger_reason: str) -> list[Intent]:
        """The station ends the transaction whatever the stop points say, e.g. before an
        Immediate reset (B12.FR.04: ImmediateReset / ResetCommand)."""
        self._set_now(now)
        self._emit(self.tx.station_stop(now, stopped_reason, trigger_reason))
        self._step(now)                                             # the relay opens
        return self._finish()

    def change_availability(self, now: datetime, connector_id: int | None,
                            status: OperationalStatusEnumType,
                            ) -> Outcome[ChangeAvailabilityStatusEnumType]:
        """ChangeAvailability for this EVSE (``connector_id`` None) or a connector.

        Answer: Accepted (also when already so, G03.FR.03), Scheduled while a transaction runs
        (G03.FR.05; applied when it ends), Rejected for an unknown connector.
        """
        self._set_now(now)
        address = connector_id or 0
        if address and address not in self.avail.connector_ids:
            return Outcome(_AVAILABILITY.rejected, self.tick(now))
        current = self.avail.operational_status(connector_id)
        if status == current:
            if self._scheduled.pop(address, None) is not None:
                self._dirty = True
            answer = _AVAILABILITY.accepted
        elif self.tx.active:
            self._scheduled[address] = status
            self._dirty = True
            answer = _AVAILABILITY.scheduled
        else:
            self._apply_availability(address, status)
            answer = _AVAILABILITY.accepted
        self._step(now)
        return Outcome(answer, self._finish())

    def station_availability(self, now: datetime, status: str) -> list[Intent]:
        """The station became Operative/Inoperative (persisted by the session); while a
        transaction runs here it takes effect when that ends (G04.FR.06)."""
        self._set_now(now)
        operative = status == OPERATIVE
        if self.tx.active and operative != self.avail.station_operative:
            self._scheduled_station = status
        else:
            self._scheduled_station = None
            self.avail.station_operative = operative
        self._dirty = True
        self._step(now)
        return self._finish()

    def reservation_made(self, now: datetime, reservation_id: int, id_token: IdTokenType,
                         group_id_token: IdTokenType | None, expiry: str) -> list[Intent]:
        """ReservationMade: this EVSE is reserved (H01.FR.23); replaces any earlier one."""
        self._set_now(now)
        self._reservation = ShownReservation(reservation_id, id_token, group_id_token, expiry)
        self._dirty = True
        self._step(now)
        return self._finish()

    def reservation_cleared(self, now: datetime, reservation_id: int | None) -> list[Intent]:
        """ReservationCleared: the reservation ended (None: whatever this EVSE had)."""
        self._set_now(now)
        if self._reservation is not None and reservation_id in (None, self._reservation.id):
            self._reservation = None
            self._dirty = True
        self._step(now)
        return self._finish()

    def station_transactions(self, now: datetime, any_transaction: bool) -> list[Intent]:
        """StationTransactionsChanged: whether some EVSE of the station runs a transaction
        (the station-tier SendDuringIdle then holds back this EVSE's idle values, J01.FR.20)."""
        self._set_now(now)
        self._station_busy = any_transaction
        self._step(now)
        return self._finish()

    def held_for_reservations(self, now: datetime, held: bool) -> list[Intent]:
        """EvseHeldForReservations: show Reserved while held (H01.FR.20/24)."""
        self._set_now(now)
        if held != self._held:
            self._held = held
            self._dirty = True
        self._step(now)
        return self._finish()

    @property
    def reservation(self) -> dict | None:
        """The control API's view of the EVSE's reservation: {id, id_token, expiry}."""
        r = self._reservation
        if r is None:
            return None
        return {"id": r.id, "id_token": r.id_token.id_token, "expiry": r.expiry}

    def settings_changed(self, now: datetime, values: Mapping[str, str | None]) -> list[Intent]:
        """Device-model values changed (EvseSettingsChanged); other keys are ignored. New
        start/stop points apply from the next input on (block E), new intervals from the next
        sample (block J)."""
        self._set_now(now)
        self._values.update({k: v for k, v in values.items() if known_key(k)})
        self.settings = EvseSettings.from_values(self._values)
        self._configure_tx()
        metering = self.settings.metering
        if self._meter is not None:
            self._meter.reconfigure(metering, self._t,
                                    evse_send_during_idle=self.settings.evse_send_during_idle)
        if self._idle is not None:
            self._idle.reconfigure(metering, self._t,
                                   evse_send_during_idle=self.settings.evse_send_during_idle)
        self._step(now)
        return self._finish()

    def apply_limit(self, now: datetime, sink: int, current_a: float | None,
                    power_w: float | None, phases: int | None) -> list[Intent]:
        """An EnergySink's limit (ChargingLimitApplied); see the module docstring."""
        self._set_now(now)
        self._sink_limits[sink] = (current_a, power_w, phases)
        wanted = tuple(_lowest(limits[i] for limits in self._sink_limits.values())
                       for i in range(3))
        applied = self.hw.state(self._t).limit
        if (applied.current_a, applied.power_w, applied.phases) != wanted:
            self.hw.set_limit(*wanted, self._t)
            self._dirty = True
            self._emit(self.tx.report(now, "ChargingRateChanged"))          # K11.FR.04
        self._step(now)
        return self._finish()
    def status(self, now: datetime) -> dict[str, Any]:
        """The control API's view: EvseStatus fields beyond the availability ones."""
        self._set_now(now)
        state = self.hw.state(self._t)
        transaction = None
        if self.tx.active:
            snap = self.tx.snapshot()
            start = snap["meter_start_wh"]
            transaction = {"id": self.tx.transaction_id, "seqNo": self.tx.seq_no,
                           "chargingState": self.tx.charging_state,
                           "energy_wh": round(state.energy_wh - start, 3) if start is not None
                           else 0.0,
                           "power_w": round(state.power_w, 3)}
        limit = state.limit
        applied = None
        if (limit.current_a, limit.power_w, limit.phases) != (None, None, None):
            applied = {"current_a": limit.current_a, "power_w": limit.power_w,
                       "phases": limit.phases}
        return {"transaction": transaction, "power_w": round(state.power_w, 3),
                "energy_wh": round(state.energy_wh, 3), "applied_limit": applied,
                "reservation": self.reservation, "faults": [f.code for f in state.faults]}

    # -- helpers -----------------------------------------------------------------------------

    def _configure_tx(self) -> None:
        s, tx = self.settings, self.tx
        tx.tx_start_points = s.tx_start_points
        tx.tx_stop_points = s.tx_stop_points
        tx.stop_tx_on_ev_side_disconnect = s.stop_tx_on_ev_side_disconnect
        tx.unlock_on_ev_side_disconnect = s.unlock_on_ev_side_disconnect
        tx.stop_tx_on_invalid_id = s.stop_tx_on_invalid_id
        tx.max_energy_on_invalid_id = s.max_energy_on_invalid_id

    def _authorize(self, id_token: IdTokenType, group_id_token: IdTokenType | None,
                   remote_start_id: int | None, reservation_id: int | None = None) -> None:
        if reservation_id is not None and self._reservation is not None \
                and self._reservation.id == reservation_id:
            self._reservation = None                  # used (H03.FR.09/10)
        self._emit(self.tx.authorized(self._now, id_token, group_id_token,
                                      remote_start_id=remote_start_id,       # F01.FR.19
                                      reservation_id=reservation_id))        # H01.FR.15
        if not self.tx.is_ev_connected and self.settings.ev_connection_timeout_s > 0:
            self._ev_timeout_at = self._t + self.settings.ev_connection_timeout_s
        self._dirty = True

    def _ask(self, pending: _PendingAuth) -> None:
        self._auth_counter += 1
        correlation_id = f"evse{self.evse_id}-auth-{self._auth_counter}"
        self._pending_auth[correlation_id] = pending
        self._sends.append(RequestAuthorization(correlation_id, pending.id_token,
                                                remote_start=pending.purpose == "remote"))

    def _refuse(self, now: datetime, error: str) -> Outcome:
        return Outcome((False, error), self.tick(now))
