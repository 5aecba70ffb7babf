"""One EVSE without Thespian: hardware, transactions, meters and availability in, intents out.

Theory of operation
-------------------
The Evse actor (``actors/evse.py``) owns one :class:`EvseCore` and does only I/O. Every input
(an operator or EV action, a CSMS request relayed by the CsmsSession, a 1 s tick) is a method
call with ``now`` (an aware datetime on the station clock); every call runs one *step* and
returns an :class:`Outcome`: the answer for the requester, if any, and a list of *intents* for
the actor to carry out **in order**: first the saves (SaveAvailability, SaveState), then (after
the actor sent the answer) the messages for the CsmsSession in the order they arose
(SendTransactionEvent, SendMeterValues, RequestAuthorization, AnnounceStatus).

Saves always come first, so the durable state (block E's snapshot, the simulated hardware, the
TransactionEvents not yet acknowledged and the meter values collected for the Ended event)
is committed before anything that depends on it leaves the process (ARCHITECTURE.md, "persist
before you acknowledge or send").

A step (:meth:`EvseCore._step`):

1. reads the meter into block E (``energy_measured``: meter start, E05.FR.03);
2. *settles*: polls the hardware, turns its events into :class:`~blocks.tx_state.EvseTransactions`
   inputs, then drives the relay and the lock from the transaction state, and polls again
   until the hardware is quiet (a closing relay is an event too);
3. runs the timers: EVConnectionTimeOut (E03.FR.05, F02.FR.07);
4. runs the meters: TransactionMeter (TxUpdatedInterval, aligned values, the Ended list; J02,
   J01.FR.22) while a transaction runs, IdleMeter (J01.FR.14) always;
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

Restart: :meth:`EvseCore.start` restores the saved state. After a crash of the Evse alone
(``fresh_boot`` False) the transaction goes on with the next seqNo and the hardware kept
running. After a fresh boot of the station (the process tree restarted: the hardware lost power
too) a transaction found in storage is ended with stoppedReason PowerLoss (E07.FR.06,
``end_after_power_loss``); resuming it (TxCtrlr.TxResumptionTimeout / libocpp's
``ResumeTransactionsOnBoot``) is not implemented. Unacknowledged events are sent again in both
cases (the session deduplicates by ``event_key``).

Delivery to the CsmsSession: the actor transport may delay a message and let a later one
overtake it (Thespian's TCP transport; station/actor_system.py patches the two ways it did so,
but guarantees neither order nor delivery). So nothing here relies on one message arriving, or
on two arriving in order:

* TransactionEvents go stop-and-wait: only the oldest unacknowledged one is out, the next
  leaves when the session's TransactionEventQueued for it arrives (:meth:`EvseCore.event_queued`),
  and it is sent again if that takes :data:`RESEND_AFTER_S`. The CSMS therefore gets every
  event, once (the session drops a seqNo it already queued), in seqNo order (E01.FR.07).
* Status announcements go the same way, in their own line: each carries a sequence number,
  the next leaves when the session acknowledged the previous one (:meth:`EvseCore.status_seen`),
  and one unacknowledged for :data:`RESEND_AFTER_S` is announced again. So the session sees
  every change, in order: an Available lost in transit and overtaken by the next Occupied would
  leave it holding Occupied, and the CSMS would hear of neither (G01.FR.01).

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

EVSE-tier variables (:data:`EVSE_TIER_KEYS`, e.g. AlignedDataCtrlr.SendDuringIdle of this EVSE,
J01.FR.19) come in the same values, keyed with :data:`EVSE_TIER_PREFIX`; they replace the
station-tier value for this EVSE.

Signed meter values (J01.FR.21, J02.FR.21): every reading handed to the meters carries a
signing port onto the hardware (:meth:`EvseCore._reading`); block J decides which values are
signed, the meter signs its own register with the value's timestamp, context and the running
transaction. With DataSigned in TxStartPoint (E01.FR.04, E01(S4)), once an EV is connected and
a driver authorized, the EVSE asks the meter for a signed reading, and the first one starts
the transaction (triggerReason SignedDataReceived); its Transaction.Begin values are the signed
reading (so TxStartedMeasurands should hold Energy.Active.Import.Register, as shipped).
The meter always hands over its public key; OCPPCommCtrlr.PublicKeyWithSignedMeterValue
decides which values carry it (:meth:`EvseCore._with_public_key_policy`). The meter's key and
signature counter are saved with the hardware state after every signature.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Union

from blocks.metering import (IdleMeter, MeteringConfig, MeterReading, TransactionMeter,
                             ocpp_datetime, triggered_meter_values)
from blocks.tx_state import (DATA_SIGNED, ENDED, STARTED, EvseTransactions,
                             new_transaction_id, parse_tx_points)
from device_model.values import parse_bool as _bool, parse_number as _number
from evse_hw import driver as hw
from simulators.evse_hardware import SimulatedEvseHardware, SimulatorInputError
from station.clock import parse_ocpp_time
from station.evse_state import INOPERATIVE, OPERATIVE, EvseState
from storage.evse_repo import TransactionRow

log = logging.getLogger(__name__)

STATE_VERSION = 1
MAX_SETTLE_ROUNDS = 6            # poll/command rounds per step; the simulator settles in 2
ENERGY_SAVE_INTERVAL_S = 30.0    # refresh the saved energy register this often while charging
# The simulated EVSE's hardware; the CsmsSession's composite schedules use the same maximum.
SIMULATED_MAX_CURRENT_A = 32.0
SIMULATED_PHASES = 3
MAX_COLLECTED = 400              # persisted Ended-list entries before thinning (2 x the cap)
# A TransactionEvent or a status the CsmsSession has not acknowledged after this long is sent
# again (see "Delivery to the CsmsSession" in the module docstring).
RESEND_AFTER_S = 2.0

# Device-model variables the EVSE uses ("Component.Variable", station level, Actual).
SETTINGS_KEYS: tuple[str, ...] = (
    "TxCtrlr.TxStartPoint", "TxCtrlr.TxStopPoint", "TxCtrlr.StopTxOnEVSideDisconnect",
    "TxCtrlr.StopTxOnInvalidId", "TxCtrlr.MaxEnergyOnInvalidId", "TxCtrlr.EVConnectionTimeOut",
    "OCPPCommCtrlr.UnlockOnEVSideDisconnect", "AuthCtrlr.AuthorizeRemoteStart",
    "SampledDataCtrlr.Enabled", "SampledDataCtrlr.TxStartedMeasurands",
    "SampledDataCtrlr.TxUpdatedMeasurands", "SampledDataCtrlr.TxUpdatedInterval",
    "SampledDataCtrlr.TxEndedMeasurands", "SampledDataCtrlr.TxEndedInterval",
    "AlignedDataCtrlr.Enabled", "AlignedDataCtrlr.Measurands", "AlignedDataCtrlr.Interval",
    "AlignedDataCtrlr.SendDuringIdle", "AlignedDataCtrlr.TxEndedMeasurands",
    "AlignedDataCtrlr.TxEndedInterval", "SampledDataCtrlr.SignReadings",
    "AlignedDataCtrlr.SignReadings", "OCPPCommCtrlr.PublicKeyWithSignedMeterValue",
)
# Device-model variables the EVSE reads on its own tier (component with evse.id = this EVSE,
# Actual); in the values they are keyed EVSE_TIER_PREFIX + "Component.Variable".
EVSE_TIER_KEYS: tuple[str, ...] = ("AlignedDataCtrlr.SendDuringIdle",)    # J01.FR.19
EVSE_TIER_PREFIX = "evse:"


# -- settings ------------------------------------------------------------------------------------

def _optional_bool(value: str | None) -> bool | None:
    return _bool(value, False) if (value or "").strip().lower() in ("true", "false") else None


def _lowest(values) -> float | int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _points(value: str | None, default: str) -> frozenset[str]:
    if value is None:
        return parse_tx_points(default)
    try:
        return parse_tx_points(value)
    except ValueError as exc:
        log.warning("%s; using %s", exc, default)
        return parse_tx_points(default)


def _known(key: str) -> bool:
    return key in SETTINGS_KEYS or key.removeprefix(EVSE_TIER_PREFIX) in EVSE_TIER_KEYS \
        and key.startswith(EVSE_TIER_PREFIX)


@dataclass(frozen=True)
class EvseSettings:
    """The device-model values one EVSE works with; defaults are component_config's."""

    tx_start_points: frozenset[str] = frozenset({"PowerPathClosed"})
    tx_stop_points: frozenset[str] = frozenset({"EVConnected", "Authorized"})
    stop_tx_on_ev_side_disconnect: bool = True
    unlock_on_ev_side_disconnect: bool = True
    stop_tx_on_invalid_id: bool = True
    max_energy_on_invalid_id: float | None = None
    ev_connection_timeout_s: float = 120.0
    authorize_remote_start: bool = False
    metering: MeteringConfig = MeteringConfig()
    # AlignedDataCtrlr.SendDuringIdle of this EVSE's tier; None: the station's applies.
    evse_send_during_idle: bool | None = None
    # OCPPCommCtrlr.PublicKeyWithSignedMeterValue: Never, OncePerTransaction, EveryMeterValue.
    public_key_policy: str = "EveryMeterValue"

    @classmethod
    def from_values(cls, values: Mapping[str, str | None]) -> "EvseSettings":
        """Build from ``{"Component.Variable": value}`` (:data:`SETTINGS_KEYS`); a missing or
        unreadable value keeps the default."""
        d = cls()
        get = values.get
        timeout = _number(get("TxCtrlr.EVConnectionTimeOut"), d.ev_connection_timeout_s)
        return cls(
            tx_start_points=_points(get("TxCtrlr.TxStartPoint"), "PowerPathClosed"),
            tx_stop_points=_points(get("TxCtrlr.TxStopPoint"), "EVConnected,Authorized"),
            stop_tx_on_ev_side_disconnect=_bool(get("TxCtrlr.StopTxOnEVSideDisconnect"),
                                                d.stop_tx_on_ev_side_disconnect),
            unlock_on_ev_side_disconnect=_bool(get("OCPPCommCtrlr.UnlockOnEVSideDisconnect"),
                                               d.unlock_on_ev_side_disconnect),
            stop_tx_on_invalid_id=_bool(get("TxCtrlr.StopTxOnInvalidId"),
                                        d.stop_tx_on_invalid_id),
            max_energy_on_invalid_id=_number(get("TxCtrlr.MaxEnergyOnInvalidId"), None),
            ev_connection_timeout_s=timeout if timeout is not None else 0.0,
            authorize_remote_start=_bool(get("AuthCtrlr.AuthorizeRemoteStart"),
                                         d.authorize_remote_start),
            metering=MeteringConfig.from_lookup(lambda c, v: get(f"{c}.{v}")),
            evse_send_during_idle=_optional_bool(
                get(EVSE_TIER_PREFIX + "AlignedDataCtrlr.SendDuringIdle")),
            public_key_policy=(get("OCPPCommCtrlr.PublicKeyWithSignedMeterValue")
                               or d.public_key_policy),
        )


# -- intents (carried out by the actor, in order) -------------------------------------------------

@dataclass(frozen=True)
class SaveState:
    """Commit ``state`` (EVSE_STATE) and ``running`` (TRANSACTIONS; None deletes the row)."""
    state: dict
    running: TransactionRow | None


@dataclass(frozen=True)
class SaveAvailability:
    """Commit an operational status to AVAILABILITY (connector 0: the EVSE; G03.FR.08)."""
    connector_id: int
    status: str


@dataclass(frozen=True)
class SendTransactionEvent:
    """Hand a TransactionEventRequest payload to the CsmsSession (TransactionEventReady)."""
    event_key: str
    payload: dict


@dataclass(frozen=True)
class SendMeterValues:
    """Hand a MeterValuesRequest payload to the CsmsSession (MeterValuesReady)."""
    payload: dict


@dataclass(frozen=True)
class RequestAuthorization:
    """Ask the CsmsSession whether ``id_token`` may charge (AuthorizeToken)."""
    correlation_id: str
    id_token: dict
    remote_start: bool = False       # a RequestStartTransaction's token (F01.FR.01)


@dataclass(frozen=True)
class ReportLockProblem:
    """The connector's retention lock failed to engage (``problem``), or engaged again (G05)."""
    connector_id: int
    problem: bool


@dataclass(frozen=True)
class AnnounceStatus:
    """Tell the CsmsSession a connector's status (ConnectorStatusChanged).

    ``sequence`` counts this core's announcements (the session acknowledges it with
    :meth:`EvseCore.status_seen`); ``at`` is when the status arose. Neither takes part in
    equality: two announcements of the same status are the same news."""
    connector_id: int
    status: str
    sequence: int = field(default=0, compare=False)
    at: datetime | None = field(default=None, compare=False)


Intent = Union[SaveState, SaveAvailability, SendTransactionEvent, SendMeterValues,
               RequestAuthorization, AnnounceStatus, ReportLockProblem]
SAVES = (SaveState, SaveAvailability)


class _Turn:
    """Stop-and-wait for one line of messages to the CsmsSession: whether its head is out,
    and since when (module docstring, "Delivery to the CsmsSession")."""

    def __init__(self) -> None:
        self._since: float | None = None

    def take(self, t: float) -> bool:
        """Nothing is out: the head goes now (True), and counts as out from ``t``."""
        if self._since is not None:
            return False
        self._since = t
        return True

    def release(self) -> None:
        """Acknowledged, or to be sent again: the next :meth:`take` succeeds."""
        self._since = None

    def release_if_overdue(self, t: float) -> None:
        if self._since is not None and t - self._since >= RESEND_AFTER_S:
            self._since = None


@dataclass
class Outcome:
    """What one input produced: ``answer`` for the requester (None if it expects none) and the
    intents to carry out in order (saves first; send the answer after the saves)."""

    answer: Any = None
    intents: list[Intent] = field(default_factory=list)


@dataclass(frozen=True)
class _PendingAuth:
    purpose: str                 # "start" | "stop" | "remote"
    id_token: dict
    remote_start_id: int | None = None
    group_id_token: dict | None = None
    reservation_id: int | None = None


def _same_token(a: dict | None, b: dict | None) -> bool:
    return a is not None and b is not None and (a.get("idToken"), a.get("type")) == (
        b.get("idToken"), b.get("type"))


class EvseCore:
    """The logic of one EVSE. Call :meth:`start` once, then any input; see the module docstring.

    Args:
        evse_id: the EVSE's id (1..n).
        connectors: number of connectors (ids 1..connectors).
        values: device-model values, ``{"Component.Variable": value}`` (:data:`SETTINGS_KEYS`;
            missing ones keep :class:`EvseSettings`' defaults).
        availability: operational statuses loaded from AVAILABILITY.
        id_generator: new transactionIds (E01.FR.08); default random UUIDs.
        hardware: the driver; default a simulated 32 A, 3-phase AC EVSE.
        parking_sensor: the default simulated EVSE has a parking-bay sensor.
        signing_meter: the default simulated EVSE's meter signs readings.
    """

    def __init__(self, evse_id: int, connectors: int, values: Mapping[str, str | None],
                 availability: EvseState, *,
                 id_generator: Callable[[], str] = new_transaction_id,
                 hardware: SimulatedEvseHardware | None = None,
                 parking_sensor: bool = False, signing_meter: bool = True) -> None:
        self.evse_id = evse_id
        self._values = {k: v for k, v in values.items() if _known(k)}
        self.settings = EvseSettings.from_values(self._values)
        self.avail = availability
        self.hw = hardware or SimulatedEvseHardware(evse_id, connectors=connectors,
                                                    max_current_a=SIMULATED_MAX_CURRENT_A,
                                                    phases=SIMULATED_PHASES,
                                                    has_parking_sensor=parking_sensor,
                                                    signing_meter=signing_meter)
        self.tx = EvseTransactions(evse_id, id_generator=id_generator,
                                   sample_meter=self._sample_meter)
        self._configure_tx()
        self._meter: TransactionMeter | None = None
        self._idle: IdleMeter | None = None
        self._collected: list[dict] = []
        self._unacked: dict[str, dict] = {}
        # Stop-and-wait towards the CsmsSession: the head of _unacked is out while this
        # turn is taken; the same for statuses, whose line is _status_unacked.
        self._event_turn = _Turn()
        self._status_sequence = 0
        self._status_unacked: deque[AnnounceStatus] = deque()
        self._status_turn = _Turn()
        self._pending_auth: dict[str, _PendingAuth] = {}
        self._auth_counter = 0
        self._ev_timeout_at: float | None = None
        self._scheduled: dict[int, str] = {}         # connector (0 = EVSE) -> status (G03.FR.05)
        self._scheduled_station: str | None = None
        self._announced: dict[int, str] = {}
        self._reservation: dict | None = None        # {id, id_token, group_id_token, expiry}
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
        self.hw = SimulatedEvseHardware.from_dict(saved["hw"], self._t, power_lost=fresh_boot)
        self.tx.restore(saved["tx"])
        self._unacked = {key: payload for key, payload in saved.get("unacked", [])}
        self._collected = list(saved.get("collected", []))
        self._ev_timeout_at = saved.get("ev_timeout_at")
        self._scheduled = {int(c): s for c, s in saved.get("scheduled", {}).items()}
        self._scheduled_station = saved.get("scheduled_station")
        self._reservation = saved.get("reservation")
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
        self._event_turn.release()
        self._forget_announcements()
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
        self._event_turn.release()
        self._forget_announcements()
        self._sends.extend(i for i in lost if isinstance(i, RequestAuthorization)
                           and i.correlation_id in self._pending_auth)

    @property
    def unacknowledged(self) -> list[str]:
        """The event_keys sent and not yet acknowledged, oldest first."""
        return list(self._unacked)

    @property
    def unacknowledged_statuses(self) -> list[AnnounceStatus]:
        """The status announcements not yet acknowledged, oldest (the one out) first."""
        return list(self._status_unacked)

    # -- inputs: time ------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Intent]:
        """Let time pass (call every second and after any input)."""
        self._step(now)
        self._resend_overdue()
        return self._finish()

    # -- inputs: operator and EV (simulator) -------------------------------------------------

    def plug_in(self, now: datetime, connector_id: int = 1) -> Outcome:
        """An EV is plugged into ``connector_id`` (E02.FR.05 Occupied)."""
        return self._physical(now, lambda: self.hw.plug_in(connector_id, self._t))

    def plug_out(self, now: datetime) -> Outcome:
        """The driver unplugs. A locked connector keeps the cable's socket end: then only the
        EV end comes out (E09/E10), and the cable follows if the lock then releases."""
        def unplug() -> None:
            state = self.hw.state(self._t)
            plugged = state.plugged_connector
            locked = plugged is not None and any(c.locked for c in state.connectors
                                                 if c.connector_id == plugged)
            if locked and state.ev_state != hw.EvState.NO_EV:
                self.hw.disconnect_ev(self._t)
                self._settle()                  # may unlock (UnlockOnEVSideDisconnect)
                state = self.hw.state(self._t)
                if any(c.locked for c in state.connectors if c.connector_id == plugged):
                    return                      # held for its token (E09.FR.03, E10.FR.01)
            self.hw.plug_out(self._t)
        return self._physical(now, unplug)

    def set_ev_state(self, now: datetime, state: str) -> Outcome:
        """The EV requests energy (``"charging"``) or stops requesting (``"suspended"``)."""
        if state not in ("charging", "suspended"):
            return self._refuse(now, f"EV state must be charging or suspended, not {state!r}")
        act = self.hw.ev_charging if state == "charging" else self.hw.ev_suspend
        return self._physical(now, lambda: act(self._t))

    def set_fault(self, now: datetime, active: bool, code: str) -> Outcome:
        """A hardware fault appears or clears (connector Faulted, G01; the relay opens)."""
        if active:
            return self._physical(now, lambda: self.hw.raise_fault(code, self._t))
        return self._physical(now, lambda: self.hw.clear_fault(code, self._t))

    def set_lock_failure(self, now: datetime, connector_id: int, active: bool) -> Outcome:
        """The retention lock of ``connector_id`` jams (``active``) or works again (simulator
        only). A jammed lock that must engage keeps the relay open (G05.FR.01) and is
        reported (G05.FR.02)."""
        return self._physical(now, lambda: self.hw.jam_lock(connector_id, active))

    def set_parking_bay(self, now: datetime, occupied: bool) -> Outcome:
        """A vehicle enters or leaves the parking bay (E01.FR.01 EVDetected, E06.FR.01
        EVDeparted); refused without a bay sensor."""
        return self._physical(now, lambda: (self.hw.park if occupied else self.hw.leave)(self._t))

    def present_token(self, now: datetime, id_token: dict) -> Outcome:
        """A card is presented at this EVSE.

        The token that authorized the session (or that a cable is held for) ends the
        authorization at once (E07.FR.01 a, E09.FR.03, E10); another token during an authorized
        session may stop it if the CSMS says it has the same groupIdToken (E07.FR.01 b); without
        an authorization the CSMS is asked first (C01). Answer: (ok, error).
        """
        self._set_now(now)
        tx = self.tx
        if (tx.is_authorized and _same_token(tx.id_token, id_token)
                or _same_token(tx.cable_held_for, id_token)):
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
                         id_token_info: dict, *, allowed: bool = True,
                         reservation_id: int | None = None) -> list[Intent]:
        """The answer to a :class:`RequestAuthorization` (IdTokenInfoType); ``allowed`` False:
        the token may not start here, whatever its status: a reservation keeps this EVSE for
        another token (H03), its evseId list leaves this EVSE out (C01.FR.21), or it is a
        Master Pass (C16.FR.03); ``reservation_id``: the one the token uses (H01.FR.15)."""
        self._set_now(now)
        pending = self._pending_auth.pop(correlation_id, None)
        accepted = id_token_info.get("status") == "Accepted"
        tx = self.tx
        if pending is not None and pending.purpose != "stop" and not allowed:
            log.info("EVSE %d: the token may not charge here (reserved for another token, "
                     "evseId list or Master Pass)", self.evse_id)
        elif pending is None or not accepted:
            if pending is not None:
                log.info("EVSE %d: token not accepted (%s)", self.evse_id,
                         id_token_info.get("status"))
        elif pending.purpose == "stop":
            group = id_token_info.get("groupIdToken")
            if tx.is_authorized and _same_token(group, tx.group_id_token):   # E07.FR.01 b
                self._emit(tx.stop_authorized(now, pending.id_token))
        elif not tx.is_authorized and self._unavailable_reason() is None:
            group = pending.group_id_token or id_token_info.get("groupIdToken")
            self._authorize(pending.id_token, group, pending.remote_start_id,
                            reservation_id if reservation_id is not None
                            else pending.reservation_id)
        self._step(now)
        return self._finish()

    def event_queued(self, now: datetime, event_key: str) -> list[Intent]:
        """The session committed ``event_key`` to its durable queue: forget it, and send the
        next one."""
        self._set_now(now)
        head = next(iter(self._unacked), None)            # the one out, if any is
        if self._unacked.pop(event_key, None) is not None:
            self._dirty = True
        if event_key == head:
            self._event_turn.release()
        return self._finish()

    def status_seen(self, now: datetime, connector_id: int, sequence: int) -> list[Intent]:
        """The session holds announcement ``sequence`` (of ``connector_id``): the next one
        leaves. A late copy of an older acknowledgement changes nothing."""
        self._set_now(now)
        head = self._status_unacked[0] if self._status_unacked else None
        if head is not None and (head.connector_id, head.sequence) == (connector_id, sequence):
            self._status_unacked.popleft()
            self._status_turn.release()
        return self._finish()

    def event_answered(self, now: datetime, transaction_id: str,
                       id_token_info: dict | None, id_token: dict | None = None) -> list[Intent]:
        """The CSMS answered a TransactionEvent (that carried ``id_token``); a token it does
        not accept ends or suspends the transaction per StopTxOnInvalidId (E05, F01.FR.03); the
        groupIdToken it gives the session's token is the session's group (C09.FR.12)."""
        self._set_now(now)
        ours = self.tx.active and self.tx.transaction_id == transaction_id
        if ours and id_token_info is not None and id_token_info.get("status") != "Accepted":
            self._emit(self.tx.invalid_id(now))
        elif ours and id_token_info is not None and id_token_info.get("groupIdToken") \
                and self.tx.group_answered(id_token, id_token_info["groupIdToken"]):
            self._dirty = True
        self._step(now)
        return self._finish()

    # -- inputs: CSMS requests (remote control, availability) --------------------------------

    def remote_start(self, now: datetime, id_token: dict, group_id_token: dict | None,
                     remote_start_id: int, reservation_id: int | None = None) -> Outcome:
        """RequestStartTransaction for this EVSE. Answer: (status, transactionId, reason)."""
        self._set_now(now)
        reason = self._unavailable_reason()
        if reason is not None:                                                  # F01.FR.23
            return Outcome(("Rejected", None, reason), self.tick(now))
        if self.tx.is_authorized:                                               # F01.FR.24
            return Outcome(("Rejected", None, "authorized session running"), self.tick(now))
        transaction_id = self.tx.transaction_id                                 # F01.FR.13
        if self.settings.authorize_remote_start:                                # F01.FR.01
            self._ask(_PendingAuth("remote", id_token, remote_start_id, group_id_token,
                                   reservation_id))
        else:                                                                   # F01.FR.02
            self._authorize(id_token, group_id_token, remote_start_id, reservation_id)
        self._step(now)
        return Outcome(("Accepted", transaction_id, None), self._finish())

    def remote_stop(self, now: datetime, transaction_id: str) -> Outcome:
        """RequestStopTransaction. Answer: "Accepted" for this EVSE's transaction, else
        "Rejected" (F03.FR.08)."""
        self._set_now(now)
        if not (self.tx.active and self.tx.transaction_id == transaction_id):
            return Outcome("Rejected", self.tick(now))
        self._emit(self.tx.remote_stop(now))                          # F03.FR.02/03
        self._step(now)                                               # the relay opens
        return Outcome("Accepted", self._finish())

    def unlock(self, now: datetime, connector_id: int) -> Outcome:
        """UnlockConnector (F05). Answer: UnlockStatusEnumType value."""
        self._set_now(now)
        if connector_id not in self.hw.info.connector_ids:
            return Outcome("UnknownConnector", self.tick(now))                # F05.FR.03
        tx = self.tx
        in_use = self.hw.state(self._t).plugged_connector or tx.snapshot()["connector_id"]
        if tx.active and tx.is_authorized and in_use in (None, connector_id):
            return Outcome("OngoingAuthorizedTransaction", self.tick(now))    # F05.FR.02
        if tx.cable_held_for is not None:                 # the CSMS released it (F05)
            tx.release_cable()
            self._dirty = True
        self._emit(tx.report(now, "UnlockCommand"))
        unlocked = self.hw.unlock(connector_id, self._t)                      # F05.FR.06
        self._step(now)
        return Outcome("Unlocked" if unlocked else "UnlockFailed",            # F05.FR.04/05
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

    def master_pass_stop(self, now: datetime, id_token: dict) -> list[Intent]:
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
                            status: str) -> Outcome:
        """ChangeAvailability for this EVSE (``connector_id`` None) or a connector.

        Answer: Accepted (also when already so, G03.FR.03), Scheduled while a transaction runs
        (G03.FR.05; applied when it ends), Rejected for an unknown connector.
        """
        self._set_now(now)
        address = connector_id or 0
        if address and address not in self.avail.connector_ids:
            return Outcome("Rejected", self.tick(now))
        current = self.avail.operational_status(connector_id)
        if status == current:
            if self._scheduled.pop(address, None) is not None:
                self._dirty = True
            answer = "Accepted"
        elif self.tx.active:
            self._scheduled[address] = status
            self._dirty = True
            answer = "Scheduled"
        else:
            self._apply_availability(address, status)
            answer = "Accepted"
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

    def reservation_made(self, now: datetime, reservation_id: int, id_token: dict,
                         group_id_token: dict | None, expiry: str) -> list[Intent]:
        """ReservationMade: this EVSE is reserved (H01.FR.23); replaces any earlier one."""
        self._set_now(now)
        self._reservation = {"id": reservation_id, "id_token": id_token,
                             "group_id_token": group_id_token, "expiry": expiry}
        self._dirty = True
        self._step(now)
        return self._finish()

    def reservation_cleared(self, now: datetime, reservation_id: int | None) -> list[Intent]:
        """ReservationCleared: the reservation ended (None: whatever this EVSE had)."""
        self._set_now(now)
        if self._reservation is not None and reservation_id in (None,
                                                                self._reservation.get("id")):
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
        return {"id": r["id"], "id_token": (r.get("id_token") or {}).get("idToken", ""),
                "expiry": r.get("expiry")}

    def _shows_reserved(self) -> bool:
        # Until the right token is authorized (G03.FR.09, H03.FR.10).
        return (self._reservation is not None or self._held) and not self.tx.is_authorized

    def settings_changed(self, now: datetime, values: Mapping[str, str | None]) -> list[Intent]:
        """Device-model values changed (EvseSettingsChanged); other keys are ignored. New
        start/stop points apply from the next input on (block E), new intervals from the next
        sample (block J)."""
        self._set_now(now)
        self._values.update({k: v for k, v in values.items() if _known(k)})
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

    # -- what the EVSE shows -----------------------------------------------------------------

    def connector_statuses(self) -> dict[int, str]:
        """ConnectorStatusEnumType per connector: Faulted > Unavailable > Reserved > Occupied >
        Available (a cable plugged into a Reserved EVSE leaves it Reserved, G03.FR.09)."""
        state = self.hw.state(self._t)
        reserved = self._shows_reserved()
        out = {}
        for c in self.avail.connector_ids:
            if state.faulted:
                out[c] = "Faulted"
            elif self.avail.connector_status(c) == "Unavailable":
                out[c] = "Unavailable"                                  # G03.FR.06, G04.FR.07
            elif reserved:
                out[c] = "Reserved"                                     # H01.FR.20/23/24
            elif state.plugged_connector == c:
                out[c] = "Occupied"
            else:
                out[c] = "Available"
        return out

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

    def _meters(self) -> None:
        t, now, tx = self._t, self._now, self.tx
        meter = self._meter
        due = meter.next_deadline() if meter is not None else None
        idle_due = self._idle.next_deadline() if self._idle is not None else None
        if (due is None or t < due) and (idle_due is None or t < idle_due):
            return
        reading = self._reading()
        if meter is not None and tx.active and due is not None and t >= due:
            tick = meter.poll(t, reading)
            if tick.periodic is not None:                                     # J02.FR.11
                # As for the clock values below: the event is the sample (TC_J_09 post
                # scenario: timestamps TxUpdatedInterval apart).
                at = parse_ocpp_time(tick.periodic["timestamp"])
                self._emit(tx.report(at, "MeterValuePeriodic", meter_values=[tick.periodic]))
            if tick.clock is not None:                                        # J01.FR.22
                # The event is the clock-aligned sample: it occurred on the grid, not when
                # the tick noticed it (TC_J_02 post scenario: timestamps AlignedDataInterval
                # apart).
                at = parse_ocpp_time(tick.clock["timestamp"])
                self._emit(tx.report(at, "MeterValueClock", meter_values=[tick.clock]))
            if tick.collected:
                self._collect(tick.collected)
        if self._idle is not None and idle_due is not None and t >= idle_due:
            payload = self._idle.poll(t, reading, own_transaction=tx.active,     # J01.FR.20
                                      any_transaction=tx.active or self._station_busy)
            if payload is not None:
                self._sends.append(SendMeterValues(payload))                  # J01.FR.14

    def _collect(self, values: tuple[dict, ...] | list[dict]) -> None:
        self._collected.extend(values)
        if len(self._collected) > MAX_COLLECTED:
            # The meter thins its own list (E06.FR.13); keep the persisted copy bounded the same
            # way: the first (Transaction.Begin) and every other one after it.
            self._collected = self._collected[:1] + self._collected[2::2]
        self._dirty = True

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
                self._status_sequence += 1
                self._status_unacked.append(AnnounceStatus(
                    connector_id, status, sequence=self._status_sequence, at=self._now))
                self._send_next_status()

    def _forget_announcements(self) -> None:
        # Everything is announced afresh (the session may be new); the news is the present.
        self._status_unacked.clear()
        self._status_turn.release()

    def _resend_overdue(self) -> None:
        # _finish sends the heads again.
        self._event_turn.release_if_overdue(self._t)
        self._status_turn.release_if_overdue(self._t)

    def _send_next_status(self) -> None:
        if self._status_unacked and self._status_turn.take(self._t):
            self._sends.append(self._status_unacked[0])

    def _send_next_event(self) -> None:
        if self._unacked and self._event_turn.take(self._t):
            key = next(iter(self._unacked))
            self._sends.append(SendTransactionEvent(key, self._unacked[key]))

    # -- helpers -----------------------------------------------------------------------------

    def _configure_tx(self) -> None:
        s, tx = self.settings, self.tx
        tx.tx_start_points = s.tx_start_points
        tx.tx_stop_points = s.tx_stop_points
        tx.stop_tx_on_ev_side_disconnect = s.stop_tx_on_ev_side_disconnect
        tx.unlock_on_ev_side_disconnect = s.unlock_on_ev_side_disconnect
        tx.stop_tx_on_invalid_id = s.stop_tx_on_invalid_id
        tx.max_energy_on_invalid_id = s.max_energy_on_invalid_id

    def _authorize(self, id_token: dict, group_id_token: dict | None,
                   remote_start_id: int | None, reservation_id: int | None = None) -> None:
        if reservation_id is not None and self._reservation is not None \
                and self._reservation.get("id") == reservation_id:
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

    def _unavailable_reason(self) -> str | None:
        """Why no new authorization may start here (F01.FR.23), or None."""
        if self.hw.state(self._t).faulted:
            return "Faulted"
        a = self.avail
        scheduled_off = INOPERATIVE in (self._scheduled.get(0), self._scheduled_station)
        if not (a.station_operative and a.evse_operative) or scheduled_off:
            return "Unavailable"
        plugged = self.hw.state(self._t).plugged_connector
        usable = [c for c in a.connector_ids if a.connector_operative.get(c, True)]
        if not usable or (plugged is not None and plugged not in usable):
            return "Unavailable"
        return None

    def _physical(self, now: datetime, action: Callable[[], None]) -> Outcome:
        self._set_now(now)
        try:
            action()
        except SimulatorInputError as exc:
            return self._refuse(now, str(exc))
        self._dirty = True
        self._step(now)
        return Outcome((True, None), self._finish())

    def _refuse(self, now: datetime, error: str) -> Outcome:
        return Outcome((False, error), self.tick(now))

    def _reading(self) -> MeterReading:
        r = self.hw.read_meter(self._t)
        return MeterReading(energy_active_import_wh=r.energy_active_import_wh,
                            power_active_import_w=r.power_active_import_w,
                            voltage_v=r.voltage_v, current_a=r.current_import_a,
                            frequency_hz=r.frequency_hz, current_offered_a=r.current_offered_a,
                            sign=self._sign if self.hw.info.can_sign_readings else None)

    def _sign(self, epoch: float, context: str) -> dict | None:
        """block J's signing port: the meter signs its register as of now (the same instant
        as the reading it belongs to), for the value's timestamp, context and transaction."""
        signed = self.hw.read_meter(self._t, hw.SignRequest(
            ocpp_datetime(epoch), context, self.tx.transaction_id)).signed
        # The meter's key (made on its first signature) and signature counter are saved with
        # the hardware: a key lost in a crash would leave the values already sent unprovable
        # against the key the meter shows afterwards.
        self._dirty = True
        return self._with_public_key_policy(signed.to_ocpp()) if signed is not None else None

    def _with_public_key_policy(self, value: dict) -> dict:
        """OCPPCommCtrlr.PublicKeyWithSignedMeterValue (part 2 §2.7.17): the field is required,
        so a key not sent is "". OncePerTransaction: the first signed value of each
        transaction carries it (values outside a transaction always do: there is no
        transaction to have carried it)."""
        policy = self.settings.public_key_policy
        transaction_id = self.tx.transaction_id
        if policy == "Never":
            return {**value, "publicKey": ""}
        if policy == "OncePerTransaction" and transaction_id is not None:
            if self._key_sent_for == transaction_id:
                return {**value, "publicKey": ""}
            self._key_sent_for = transaction_id
        return value

    def _sample_meter(self, event_type: str) -> list[dict]:
        """block E's ``sample_meter`` port: begin and end the transaction's meter."""
        reading = self._reading()
        if event_type == STARTED:                                     # E01.FR.09
            self._meter = TransactionMeter(
                self.settings.metering, started_at=self._t, phases=self.hw.info.phases,
                evse_send_during_idle=self.settings.evse_send_during_idle)
            started = self._meter.begin(self._t, reading)
            begin = self._meter.begin_value
            self._collected = [begin] if begin is not None else []
            return started
        meter, self._meter, self._collected = self._meter, None, []
        return meter.end(self._t, reading) if meter is not None and event_type == ENDED else []

    def _emit(self, payloads: list[dict]) -> None:
        for payload in payloads:
            key = f"{payload['transactionInfo']['transactionId']}:{payload['seqNo']}"
            self._unacked[key] = payload
            self._dirty = True
            self._send_next_event()          # in the order things arose, when nothing waits

    def _snapshot(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "tx": self.tx.snapshot(), "hw": self.hw.to_dict(self._t),
                "unacked": [[k, p] for k, p in self._unacked.items()],
                "collected": self._collected, "ev_timeout_at": self._ev_timeout_at,
                "scheduled": {str(c): s for c, s in self._scheduled.items()},
                "scheduled_station": self._scheduled_station,
                "reservation": self._reservation, "held": self._held,
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
        intents: list[Intent] = list(self._saves)
        flowing = self.tx.charging_state == "Charging"
        if self._dirty or (flowing and self._t - self._last_save >= ENERGY_SAVE_INTERVAL_S):
            state = self._snapshot()
            intents.append(SaveState(state, self._running_row(state["tx"])))
            self._dirty = False
            self._last_save = self._t
        self._send_next_event()
        self._send_next_status()
        intents.extend(self._sends)
        self._saves, self._sends = [], []
        return intents
