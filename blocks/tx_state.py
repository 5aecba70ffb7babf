"""Functional block E, transactions: the transaction logic of one EVSE, without I/O.

Theory of operation
-------------------
One :class:`EvseTransactions` per EVSE. The Evse actor reports what happens at the EVSE (EV
connected, token authorized, energy flowing, the CSMS rejected the token, ...), each input with
the current time, and gets back complete TransactionEventRequest models (``blocks/tx_record.py``
builds them and holds the persisted form). Nothing here sends, sleeps, reads a clock or touches
a database: the caller persists :meth:`~EvseTransactions.snapshot` before it queues the
payloads, and a restarted Evse restores it and continues the seqNo.

All state is one flat dataclass (:class:`~blocks.tx_record.TxRecord`): what is true at the
EVSE (``ev_connected``, ``bay_occupied``, ``authorized``, ``offering`` = relay closed and energy
offered, ``energy`` = energy flowing, ``evse_suspended``) and the transaction (id, seqNo, the
chargingState the CSMS was last told, the reason that began its end, fields owed to the next
event). chargingState
(§3.16) is *derived* from the first part, so it cannot drift::

    not ev_connected -> Idle;  energy -> Charging;  evse_suspended -> SuspendedEVSE;
    offering -> SuspendedEV (E01.FR.19);  otherwise -> EVConnected

Deauthorizing inputs (stop token, RequestStopTransaction, invalid token) do not pretend that
the power stopped: they turn ``energy_allowed`` false, the Evse opens the relay and reports
``power_path_opened``, and *that* yields the ChargingStateChanged event, as in E07 Figure 55
and OCTT's reusable state EVConnectedPostSession.

Start and stop points (TxCtrlr.TxStartPoint / TxStopPoint, part 2 §2.6.6) are *events*: a
transaction starts when an input satisfies a start point and none runs (E01.FR.01-06), and
ends when an input makes a stop point "no longer valid" (E06.FR.01-07; the table is
:data:`STOP_POINTS_BY_LOSS`). PowerPathClosed is the AND of EVConnected and Authorized as a
start point and their OR as a stop point, not the relay (§2.6.6.1: "Despite its name, this
event is not related to the state of the power relay"). DataSigned means nothing as a stop
point (errata 2025-02 deletes E06.FR.05). New points apply from the next input on.

Each event of a transaction gets the next seqNo from 0 (E §1.3.2.1, E01.FR.07) and the input's
own triggerReason (E01.FR.15, E02.FR.17; :data:`TRIGGER_OF_INPUT`). The Ended event's
stoppedReason is the reason that *began* the end (§2.48 TransactionType: "the reason/event
that initiated the process of stopping"): a stop token, then an unplug, ends with Local.

The caller validates tokens (E07.FR.01), runs timers (EVConnectionTimeOut, TxUpdatedInterval),
samples meters (the ``sample_meter`` port), queues and flags offline events (E04/E11), and
drives the connector lock with :attr:`EvseTransactions.cable_held_for`.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from blocks.tx_record import (ENDED, STARTED, UPDATED, TxRecord, record_from_snapshot,
                              snapshot_of, transaction_event)
from messages.ocpp201 import (ChargingStateEnumType, IdTokenType, MeterValueType, ReasonEnumType,
                              TransactionEventEnumType, TransactionEventRequest,
                              TriggerReasonEnumType)
from ports.time import iso

_T = TriggerReasonEnumType

#: What every input returns: the TransactionEventRequests to send, oldest first.
Events = list[TransactionEventRequest]

# TxStartPoint / TxStopPoint values (part 2 §2.6.6).
PARKING_BAY, EV_CONNECTED, AUTHORIZED = "ParkingBayOccupancy", "EVConnected", "Authorized"
DATA_SIGNED, POWER_PATH, ENERGY_TRANSFER = "DataSigned", "PowerPathClosed", "EnergyTransfer"
TX_POINTS = frozenset({PARKING_BAY, EV_CONNECTED, AUTHORIZED, DATA_SIGNED, POWER_PATH,
                       ENERGY_TRANSFER})

# The stop table (E06.FR.01-07, §2.6.6.2): a lost condition ends the transaction when one of
# these stop points is configured. PowerPathClosed is "EVConnected, Authorized" (§2.6.6.2).
STOP_POINTS_BY_LOSS: dict[str, frozenset[str]] = {
    "bay": frozenset({PARKING_BAY}),                         # E06.FR.01
    "connection": frozenset({EV_CONNECTED, POWER_PATH}),     # E06.FR.02, E06.FR.06
    "authorization": frozenset({AUTHORIZED, POWER_PATH}),    # E06.FR.03/04, E06.FR.06
    "energy": frozenset({ENERGY_TRANSFER}),                  # E06.FR.07
}

# triggerReason per input (TriggerReasonEnumType, part 2 §3.82; E01.FR.15).
TRIGGER_OF_INPUT: dict[str, TriggerReasonEnumType] = {
    "parking_bay_occupied": _T.ev_detected,
    "parking_bay_vacated": _T.ev_departed,
    "ev_connected": _T.cable_plugged_in,
    "ev_disconnected": _T.ev_communication_lost,
    "authorized": _T.authorized,                     # or RemoteStart (F01.FR.19)
    "stop_authorized": _T.stop_authorized,           # E07.FR.02
    "deauthorized": _T.deauthorized,                 # E05.FR.09/10
    "invalid_id": _T.deauthorized,
    "ev_connect_timeout": _T.ev_connect_timeout,     # E03.FR.05/15
    "remote_stop": _T.remote_stop,                   # F03.FR.02/03
    "data_signed": _T.signed_data_received,
    "energy_transfer_started": _T.charging_state_changed,
    "energy_transfer_stopped": _T.charging_state_changed,
    "power_path_closed": _T.charging_state_changed,
    "power_path_opened": _T.charging_state_changed,
    "station_stop": _T.abnormal_condition,           # E06.FR.16; ResetCommand for B12.FR.04
    "end_after_power_loss": _T.abnormal_condition,
}

# Triggers :meth:`EvseTransactions.report` accepts: the ones with no state change of their own.
REPORT_TRIGGERS = frozenset({_T.meter_value_periodic, _T.meter_value_clock, _T.trigger,
                             _T.charging_rate_changed, _T.unlock_command, _T.abnormal_condition})


def parse_tx_points(value: str) -> frozenset[str]:
    """Parse a TxStartPoint / TxStopPoint value (a MemberList, e.g. ``"EVConnected,Authorized"``).

    Raises:
        ValueError: for a member that is not a TxStartStopPoint value (§2.6.6).
    """
    members = frozenset(m.strip() for m in value.split(",") if m.strip())
    unknown = members - TX_POINTS
    if unknown:
        raise ValueError(f"not a TxStartStopPoint value: {', '.join(sorted(unknown))}")
    return members


def new_transaction_id(station_identity: str = "", evse_id: int = 0) -> str:
    """A transactionId this station never generated before (E01.FR.08, E02.FR.08).

    A random UUID (version 4; 36 characters, the schema's maximum), as E §1.2 recommends: 122
    random bits need no counter that would have to survive reboots, repairs and firmware
    updates; two of a billion ids collide with a chance below 1e-19. The arguments are the
    signature of an id generator (one that embeds them can be swapped in); this one needs none.
    """
    return str(uuid.uuid4())


def same_token(a: IdTokenType | None, b: IdTokenType | None) -> bool:
    """The same token: idToken and type equal, exactly (what the wire dicts compared before;
    additionalInfo and customData do not count). False when either is None."""
    return a is not None and b is not None and (a.id_token, a.type) == (b.id_token, b.type)


@dataclass(frozen=True)
class _Ctx:
    now: datetime
    offline: bool


class EvseTransactions:
    """Transactions of one EVSE: inputs in, TransactionEventRequest payloads out.

    Every input takes ``now`` (an aware datetime) and ``offline`` (E04.FR.03: flag what it
    produces) and returns the TransactionEventRequests to send, oldest first (zero or one).
    After each call persist :meth:`snapshot` before queueing them, and act on
    :attr:`energy_allowed` and :attr:`cable_held_for`.

    Args:
        evse_id: the EVSE's id (evse.id in the events).
        tx_start_points, tx_stop_points: sets of TxStartStopPoint values (:func:`parse_tx_points`);
            the attributes of the same name can be reassigned at any time.
        stop_tx_on_ev_side_disconnect: TxCtrlr.StopTxOnEVSideDisconnect (E09/E10).
        unlock_on_ev_side_disconnect: OCPPCommCtrlr.UnlockOnEVSideDisconnect (E09.FR.02/03).
        stop_tx_on_invalid_id: TxCtrlr.StopTxOnInvalidId (E05).
        max_energy_on_invalid_id: TxCtrlr.MaxEnergyOnInvalidId in Wh, None if not implemented.
        id_generator: returns a new transactionId; default :func:`new_transaction_id`.
        sample_meter: called with ``STARTED`` or ``ENDED``, returns the MeterValueTypes for
            that event (SampledDataCtrlr.TxStartedMeasurands with context Transaction.Begin,
            TxEndedMeasurands with Transaction.End; E01.FR.09, E06.FR.11). Default: none.
        now_iso: formats ``now`` as an OCPP date-time.
    """

    def __init__(self, evse_id: int, *,
                 tx_start_points: Iterable[str] = (POWER_PATH,),
                 tx_stop_points: Iterable[str] = (EV_CONNECTED, AUTHORIZED),
                 stop_tx_on_ev_side_disconnect: bool = True,
                 unlock_on_ev_side_disconnect: bool = True,
                 stop_tx_on_invalid_id: bool = True,
                 max_energy_on_invalid_id: float | None = None,
                 id_generator: Callable[[], str] = new_transaction_id,
                 sample_meter: Callable[[str], list[MeterValueType]] | None = None,
                 now_iso: Callable[[datetime], str] = iso) -> None:
        self.evse_id = evse_id
        self.tx_start_points = tx_start_points
        self.tx_stop_points = tx_stop_points
        self.stop_tx_on_ev_side_disconnect = stop_tx_on_ev_side_disconnect
        self.unlock_on_ev_side_disconnect = unlock_on_ev_side_disconnect
        self.stop_tx_on_invalid_id = stop_tx_on_invalid_id
        self.max_energy_on_invalid_id = max_energy_on_invalid_id
        self._new_id = id_generator
        self._sample_meter = sample_meter
        self._now_iso = now_iso
        self._s = TxRecord()

    # -- configuration ----------------------------------------------------------------------------

    @property
    def tx_start_points(self) -> frozenset[str]:
        return self._start_points

    @tx_start_points.setter
    def tx_start_points(self, points: Iterable[str]) -> None:
        self._start_points = self._checked_points(points)

    @property
    def tx_stop_points(self) -> frozenset[str]:
        return self._stop_points

    @tx_stop_points.setter
    def tx_stop_points(self, points: Iterable[str]) -> None:
        self._stop_points = self._checked_points(points)

    @staticmethod
    def _checked_points(points: Iterable[str]) -> frozenset[str]:
        if isinstance(points, str):
            return parse_tx_points(points)
        members = frozenset(points)
        if members - TX_POINTS:
            raise ValueError(f"not a TxStartStopPoint value: {sorted(members - TX_POINTS)}")
        return members

    # -- what the caller reads --------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """A transaction is running (Started sent, Ended not yet). E14.FR.02 ongoingIndicator."""
        return self._s.transaction_id is not None

    @property
    def transaction_id(self) -> str | None:
        return self._s.transaction_id

    @property
    def seq_no(self) -> int:
        """The seqNo the next event of the running transaction will carry."""
        return self._s.seq_no

    @property
    def is_authorized(self) -> bool:
        """An EV driver is authorized (F01.FR.24: RequestStartTransaction is then Rejected)."""
        return self._s.authorized

    @property
    def id_token(self) -> IdTokenType | None:
        """The token that authorized the session; E07.FR.01 compares a stop token with it."""
        return self._s.id_token

    @property
    def group_id_token(self) -> IdTokenType | None:
        return self._s.group_id_token

    def group_answered(self, id_token: IdTokenType | None,
                       group_id_token: IdTokenType) -> bool:
        """The CSMS named the group of ``id_token`` in a TransactionEventResponse (C09.FR.12).

        If that is the token that authorized this session, the group is the session's from now
        on, whatever its Authorize answer said: another token of the group may stop it
        (C09.FR.03). Returns True when the state changed (the caller persists it).
        """
        s = self._s
        if not s.authorized or not same_token(id_token, s.id_token) \
                or s.group_id_token == group_id_token:
            return False
        s.group_id_token = group_id_token
        return True

    @property
    def remote_start_id(self) -> int | None:
        return self._s.remote_start_id if self.active else None

    @property
    def is_ev_connected(self) -> bool:
        return self._s.ev_connected

    @property
    def charging_state(self) -> ChargingStateEnumType:
        """Derived from what the caller reported (see module docstring)."""
        s = self._s
        if not s.ev_connected:
            return ChargingStateEnumType.idle
        if s.energy:
            return ChargingStateEnumType.charging
        if s.evse_suspended:
            return ChargingStateEnumType.suspended_evse
        if s.offering:
            return ChargingStateEnumType.suspended_ev
        return ChargingStateEnumType.ev_connected

    @property
    def energy_allowed(self) -> bool:
        """Whether the EVSE may offer energy; when this turns false, stop and report it.

        Needs an EV, an authorization not revoked (E05, E09.FR.01) and a transaction, unless
        energy is what starts it (EnergyTransfer start point, E01.FR.06).
        """
        s = self._s
        return (s.ev_connected and s.authorized and not s.invalid_suspended
                and (self.active or ENERGY_TRANSFER in self._start_points))

    @property
    def cable_held_for(self) -> IdTokenType | None:
        """The token whose presentation unlocks the cable (keep it locked until then), or None.

        Set by an EV-side disconnect without UnlockOnEVSideDisconnect (E09.FR.03) or of a
        suspended transaction (E10.FR.01), and by a CSMS deauthorization that ended the
        transaction (E05.FR.11); cleared by stop_authorized, release_cable and authorized with
        that same token.
        """
        return self._s.cable_held_for

    # -- durable state ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """All state as a JSON-serialisable dict; persist it before sending what a call returned.

        Tokens are their wire dicts: the form snapshots had when the state held dicts, so a
        snapshot of either kind restores (tests/unit/test_tx_state.py)."""
        return snapshot_of(self._s)

    def restore(self, data: dict[str, Any]) -> None:
        """Continue from a :meth:`snapshot` (after an Evse crash the seqNo simply continues).

        Raises:
            ValueError: for a snapshot of another version.
        """
        self._s = record_from_snapshot(data)

    def end_after_power_loss(self, now: datetime, *, offline: bool = False) -> Events:
        """End a transaction found in the snapshot at start-up: PowerLoss / AbnormalCondition.

        E07.FR.06 (most appropriate ReasonEnumType), E06.FR.16. No chargingState: nobody knows
        it after the outage. Afterwards the instance is as after a cold boot; the Evse reports
        what its driver sees now, which may start a new transaction.
        """
        ctx = _Ctx(now, offline)
        if not self.active:
            self._s = TxRecord()
            return []
        s = self._s
        # When the power went is unknown: count charging time up to the last event we sent.
        if s.charging_since is not None and s.last_event_at is not None:
            self._account_charging(datetime.fromisoformat(s.last_event_at))
        s.charging_since = None
        out = [self._end(ctx, TRIGGER_OF_INPUT["end_after_power_loss"], "PowerLoss",
                         report_state=False)]
        self._s = TxRecord()
        return out

    # -- inputs: parking bay and cable ------------------------------------------------------------

    def parking_bay_occupied(self, now: datetime, *, offline: bool = False) -> Events:
        """The bay detector sees an EV (E01.FR.01; trigger EVDetected)."""
        ctx = _Ctx(now, offline)
        if self._s.bay_occupied:
            return []
        self._s.bay_occupied = True
        return self._happened(ctx, TRIGGER_OF_INPUT["parking_bay_occupied"], {PARKING_BAY})

    def parking_bay_vacated(self, now: datetime, *, offline: bool = False) -> Events:
        """The EV left the bay (E06.FR.01; trigger EVDeparted)."""
        ctx = _Ctx(now, offline)
        s = self._s
        if not s.bay_occupied:
            return []
        s.bay_occupied = False
        return self._lost(ctx, TRIGGER_OF_INPUT["parking_bay_vacated"], {"bay"},
                          default_reason="EVDisconnected")

    def ev_connected(self, now: datetime, connector_id: int, *,
                     offline: bool = False) -> Events:
        """The cable is connected (E01.FR.02; CablePluggedIn); the next event has evse (E01.FR.16).

        A second connector of the same EVSE is ignored while one is in use (E01.FR.14).
        """
        ctx = _Ctx(now, offline)
        s = self._s
        if s.ev_connected:
            return []
        s.ev_connected, s.connector_id, s.pending_evse = True, connector_id, True
        points = {EV_CONNECTED} | ({POWER_PATH} if s.authorized else set())   # E01.FR.05
        return self._happened(ctx, TRIGGER_OF_INPUT["ev_connected"], points)

    def ev_disconnected(self, now: datetime, *, offline: bool = False) -> Events:
        """Connection with the EV is lost, e.g. cable unplugged (trigger EVCommunicationLost).

        The offer stops. StopTxOnEVSideDisconnect deauthorizes (E09.FR.01); otherwise a running
        transaction is suspended (E10). Ended if a lost condition is a stop point (E06.FR.02/06,
        TC_E_17/20/37), else Updated with chargingState Idle (TC_E_26).
        """
        ctx = _Ctx(now, offline)
        s = self._s
        if not s.ev_connected:
            return []
        losses = {"connection"} | ({"energy"} if s.energy else set())
        self._set_energy(ctx, False)
        s.ev_connected, s.connector_id, s.pending_evse = False, None, False
        s.offering = s.evse_suspended = False
        if s.authorized and self.stop_tx_on_ev_side_disconnect:                # E09.FR.01
            s.cable_held_for = (None if self.unlock_on_ev_side_disconnect     # E09.FR.02
                                else s.id_token)                              # E09.FR.03
            self._drop_authorization()
            losses.add("authorization")
            if self.active:
                s.stop_reason = s.stop_reason or "EVDisconnected"
        elif s.authorized and self.active and not self._ends(losses):
            s.cable_held_for = s.id_token                                     # E10.FR.01
        return self._lost(ctx, TRIGGER_OF_INPUT["ev_disconnected"], losses,
                          default_reason="EVDisconnected")

    # -- inputs: authorization --------------------------------------------------------------------

    def authorized(self, now: datetime, id_token: IdTokenType,
                   group_id_token: IdTokenType | None = None, *,
                   remote_start_id: int | None = None, reservation_id: int | None = None,
                   trigger: str | None = None, offline: bool = False) -> Events:
        """The EV driver is authorized, locally or by RequestStartTransaction.

        ``trigger`` defaults to RemoteStart with a ``remote_start_id`` (F01.FR.19), else
        Authorized (E02.FR.01). The next event carries idToken (E03.FR.01), remoteStartId
        (F01.FR.25) and reservationId (E01.FR.13): Started if Authorized or PowerPathClosed is
        a start point (E01.FR.03/05), Updated during a transaction, else they wait. Does nothing
        if already authorized: a token presented then may stop (E07.FR.01); the caller decides.
        """
        ctx = _Ctx(now, offline)
        s = self._s
        if trigger is None:
            trigger = "RemoteStart" if remote_start_id is not None else "Authorized"
        if trigger not in ("Authorized", "RemoteStart"):
            raise ValueError(f"authorization trigger must be Authorized or RemoteStart: {trigger}")
        if s.authorized:
            return []
        s.authorized, s.invalid_id, s.invalid_suspended = True, False, False
        s.id_token, s.group_id_token = id_token, group_id_token
        s.pending_id_token = True
        s.pending_remote_start_id = remote_start_id
        s.pending_reservation_id = reservation_id
        if same_token(s.cable_held_for, id_token):     # the holder is back (E09.FR.03)
            s.cable_held_for = None
        points = {AUTHORIZED} | ({POWER_PATH} if s.ev_connected else set())   # E01.FR.05
        return self._happened(ctx, trigger, points)

    def stop_authorized(self, now: datetime, id_token: IdTokenType | None = None, *,
                        stopped_reason: str = "Local", offline: bool = False) -> Events:
        """The driver ended the authorization, e.g. presented the token again (E07).

        Ended StopAuthorized/Local if Authorized or PowerPathClosed is a stop point (E06.FR.03,
        TC_E_15), else Updated StopAuthorized (E07 Figure 55); with the stop token (E07.FR.02).
        ``stopped_reason="MasterPass"`` for a master pass (C16).
        """
        ctx = _Ctx(now, offline)
        s = self._s
        # The caller checked the token may stop this authorization (E07.FR.01, also by group):
        # that releases a cable held for it (E10 B1); a stranger's token releases nothing.
        if same_token(s.cable_held_for, s.id_token) or same_token(s.cable_held_for, id_token):
            s.cable_held_for = None
        if not s.authorized:
            return []
        self._drop_authorization()
        if not self.active:
            return []
        s.stop_reason = s.stop_reason or stopped_reason
        return self._lost(ctx, TRIGGER_OF_INPUT["stop_authorized"], {"authorization"},
                          id_token=id_token)

    def deauthorized(self, now: datetime, *, trigger_reason: str = "Deauthorized",
                     stopped_reason: str = "DeAuthorized", offline: bool = False) -> Events:
        """The authorization ended for another reason, e.g. a local energy or time limit.

        Ended when Authorized or PowerPathClosed is a stop point, else Updated; the
        ``stopped_reason`` is kept for the Ended event either way.
        """
        ctx = _Ctx(now, offline)
        s = self._s
        if not s.authorized:
            return []
        self._drop_authorization()
        if not self.active:
            return []
        s.stop_reason = s.stop_reason or stopped_reason
        return self._lost(ctx, trigger_reason, {"authorization"})

    def invalid_id(self, now: datetime, *, offline: bool = False) -> Events:
        """TransactionEventResponse.idTokenInfo.status was not Accepted (E05).

        StopTxOnInvalidId true: deauthorize; Ended Deauthorized/DeAuthorized if Authorized,
        PowerPathClosed or EnergyTransfer is a stop point (E05.FR.10, TC_E_16), else Updated
        Deauthorized (E05.FR.09). False: charge on until the transaction has MaxEnergyOnInvalidId
        Wh (E05.FR.03; :meth:`energy_measured` checks), then, or at once if it is not set,
        Updated ChargingStateChanged SuspendedEVSE (E05.FR.02).
        """
        ctx = _Ctx(now, offline)
        s = self._s
        if not self.active:
            return []
        if not self.stop_tx_on_invalid_id:
            s.invalid_id = True
            return self._check_invalid_energy(ctx)
        held = s.id_token
        self._drop_authorization()
        s.stop_reason = s.stop_reason or "DeAuthorized"
        if self._stop_points & {AUTHORIZED, POWER_PATH, ENERGY_TRANSFER}:    # E05.FR.10
            s.cable_held_for = held                                            # E05.FR.11
            return [self._end(ctx, TRIGGER_OF_INPUT["invalid_id"], s.stop_reason)]
        return [self._event(ctx, UPDATED, TRIGGER_OF_INPUT["invalid_id"])]     # E05.FR.09

    def ev_connect_timeout(self, now: datetime, *, offline: bool = False) -> Events:
        """TxCtrlr.EVConnectionTimeOut expired before the EV was connected; the authorization
        ends (C01.FR.26). Ended EVConnectTimeout/Timeout (E03.FR.05, TC_E_05), but only Updated
        when ParkingBayOccupancy is the stop point and Authorized/PowerPathClosed are not
        (E03.FR.15: it ends when the EV leaves the bay).
        """
        ctx = _Ctx(now, offline)
        s = self._s
        if s.ev_connected or not s.authorized:
            return []
        self._drop_authorization()
        if not self.active:
            return []
        s.stop_reason = s.stop_reason or "Timeout"
        trigger = TRIGGER_OF_INPUT["ev_connect_timeout"]
        if self._stop_points & {AUTHORIZED, POWER_PATH} or PARKING_BAY not in self._stop_points:
            return [self._end(ctx, trigger, s.stop_reason)]
        return [self._event(ctx, UPDATED, trigger)]

    def remote_stop(self, now: datetime, *, offline: bool = False) -> Events:
        """RequestStopTransaction for this transaction was accepted (F03).

        Ended RemoteStop/Remote if Authorized or PowerPathClosed is a stop point (F03.FR.03,
        TC_E_21/35), else Updated RemoteStop (F03.FR.02). No idToken. Nothing without a
        transaction: answer Rejected (F03.FR.08).
        """
        ctx = _Ctx(now, offline)
        s = self._s
        if not self.active:
            return []
        self._drop_authorization()
        s.stop_reason = s.stop_reason or "Remote"
        if self._stop_points & {AUTHORIZED, POWER_PATH}:
            return [self._end(ctx, TRIGGER_OF_INPUT["remote_stop"], s.stop_reason)]
        return [self._event(ctx, UPDATED, TRIGGER_OF_INPUT["remote_stop"])]

    def release_cable(self) -> None:
        """The held cable was released (its token was presented after the transaction ended)."""
        self._s.cable_held_for = None

    # -- inputs: power and energy -----------------------------------------------------------------

    def power_path_closed(self, now: datetime, *, offline: bool = False) -> Events:
        """The EVSE closed the relay and offers energy (SuspendedEV until the EV takes it)."""
        ctx = _Ctx(now, offline)
        s = self._s
        s.offering, s.evse_suspended = True, s.invalid_suspended     # E05.FR.02 holds
        return self._state_changed(ctx)

    def power_path_opened(self, now: datetime, *, offline: bool = False) -> Events:
        """The EVSE opened the relay: no offer, no energy (e.g. after :attr:`energy_allowed`)."""
        ctx = _Ctx(now, offline)
        s = self._s
        was_flowing = s.energy
        s.offering = False
        self._set_energy(ctx, False)
        return self._energy_stopped(ctx, was_flowing, default_reason="Other")

    def energy_transfer_started(self, now: datetime, *, phases: int | None = None,
                                offline: bool = False) -> Events:
        """Energy flows (chargingState Charging; E01.FR.06 start point EnergyTransfer, TC_E_02).

        ``phases`` is reported as numberOfPhasesUsed (E02.FR.18).
        """
        ctx = _Ctx(now, offline)
        s = self._s
        if s.energy or not s.ev_connected:
            return []
        s.offering, s.evse_suspended = True, s.invalid_suspended
        self._set_energy(ctx, True)
        if not self.active:
            if ENERGY_TRANSFER in self._start_points:
                return [self._start(ctx, TRIGGER_OF_INPUT["energy_transfer_started"],
                                    phases=phases)]
            return []
        return self._state_changed(ctx, phases=phases)

    def energy_transfer_stopped(self, now: datetime, *, suspended_by: str = "EV",
                                offline: bool = False) -> Events:
        """Energy stopped: the EV takes none (SuspendedEV, E01.FR.19) or the EVSE withholds it
        (SuspendedEVSE, e.g. limit 0; also when none flowed). With EnergyTransfer as stop point
        Ended (E06.FR.07): StoppedByEV (TC_E_22) or what began the stop (Local, TC_E_08).
        """
        if suspended_by not in ("EV", "EVSE"):
            raise ValueError(f"suspended_by must be EV or EVSE: {suspended_by}")
        ctx = _Ctx(now, offline)
        s = self._s
        if not s.ev_connected:
            return []
        was_flowing = s.energy
        self._set_energy(ctx, False)
        if suspended_by == "EV":
            s.offering = True
        elif s.authorized:
            s.evse_suspended = True
        else:                      # stopped because the authorization ended: no offer left
            s.offering = False
        return self._energy_stopped(
            ctx, was_flowing, default_reason="StoppedByEV" if suspended_by == "EV" else "Other")

    def energy_measured(self, now: datetime, register_wh: float, *,
                        offline: bool = False) -> Events:
        """The latest Energy.Active.Import.Register reading in Wh (meter start, E05.FR.03)."""
        ctx = _Ctx(now, offline)
        s = self._s
        s.energy_wh = register_wh
        if not self.active:
            return []
        if s.meter_start_wh is None:
            s.meter_start_wh = register_wh
        return self._check_invalid_energy(ctx)

    def data_signed(self, now: datetime, meter_values: list[MeterValueType] | None = None, *,
                    offline: bool = False) -> Events:
        """The meter delivered a signed value: Started SignedDataReceived if DataSigned is a
        start point (E01.FR.04), Updated during a transaction; with ``meter_values``.
        """
        ctx = _Ctx(now, offline)
        trigger = TRIGGER_OF_INPUT["data_signed"]
        if self.active:
            return [self._event(ctx, UPDATED, trigger, meter_values=meter_values)]
        if DATA_SIGNED in self._start_points:
            return [self._start(ctx, trigger, meter_values=meter_values)]
        return []

    # -- inputs: station and CSMS -----------------------------------------------------------------

    def report(self, now: datetime,
               trigger_reason: TriggerReasonEnumType | str = _T.meter_value_periodic, *,
               meter_values: list[MeterValueType] | None = None, offline: bool = False) -> Events:
        """Updated for a trigger without a state change of its own: meter values (J02.FR.11),
        TriggerMessage (F06.FR.07: with chargingState), ... Nothing without a transaction.
        """
        if trigger_reason not in REPORT_TRIGGERS:
            raise ValueError(f"not a trigger for report(): {trigger_reason}")
        ctx = _Ctx(now, offline)
        if not self.active:
            return []
        return [self._event(ctx, UPDATED, trigger_reason, meter_values=meter_values,
                            always_state=trigger_reason == _T.trigger)]

    def station_stop(self, now: datetime, stopped_reason: ReasonEnumType | str,
                     trigger_reason: TriggerReasonEnumType | str = _T.abnormal_condition, *,
                     offline: bool = False) -> Events:
        """The station ends the transaction whatever the stop points say; no idToken.

        Reset Immediate: ``("ImmediateReset", "ResetCommand")`` (B12.FR.04/08); a fault or
        emergency stop: ``("EmergencyStop", "AbnormalCondition")`` (E06.FR.16).
        """
        ctx = _Ctx(now, offline)
        if not self.active:
            self._drop_authorization()
            return []
        return [self._end(ctx, trigger_reason, stopped_reason)]

    # -- the machinery ----------------------------------------------------------------------------

    def _happened(self, ctx: _Ctx, trigger: str, satisfied: set[str]) -> Events:
        """An arrival: Updated during a transaction, or Started if it is a start point."""
        if self._s.pending_remote_start_id is not None:
            # F02.FR.21: the event after a RequestStartTransaction says RemoteStart, even when
            # the cable plugged in later is what starts the transaction.
            trigger = _T.remote_start
        if self.active:
            return [self._event(ctx, UPDATED, trigger)]
        # A start point whose condition still holds counts too (§2.6.4: "which ever comes
        # first"): after TxStartPoint changed at runtime, or after a transaction ended with the
        # EV still connected, the next arrival starts the transaction instead of leaving an
        # authorized driver without one (and so without energy).
        if (satisfied | self._holding()) & self._start_points:     # E01.FR.01-05
            return [self._start(ctx, trigger)]
        return []

    def _holding(self) -> set[str]:
        """The start points whose conditions are true now."""
        s = self._s
        held = {PARKING_BAY} if s.bay_occupied else set()
        if s.ev_connected:
            held.add(EV_CONNECTED)
        if s.authorized:
            held.add(AUTHORIZED)
            if s.ev_connected:
                held.add(POWER_PATH)
        return held

    def _lost(self, ctx: _Ctx, trigger: str, losses: set[str], *,
              default_reason: str = "Other", id_token: IdTokenType | None = None) -> Events:
        """A condition went away: Ended if it is a stop point (E06), else Updated."""
        if not self.active:
            return []
        if self._ends(losses):
            return [self._end(ctx, trigger, self._s.stop_reason or default_reason,
                              id_token=id_token)]
        return [self._event(ctx, UPDATED, trigger, id_token=id_token)]

    def _ends(self, losses: set[str]) -> bool:
        """Whether losing these conditions ends the transaction (the stop table, E06)."""
        return any(self._stop_points & STOP_POINTS_BY_LOSS[loss] for loss in losses)

    def _energy_stopped(self, ctx: _Ctx, was_flowing: bool, *, default_reason: str) -> Events:
        if not self.active:
            return []
        if was_flowing and ENERGY_TRANSFER in self._stop_points:      # E06.FR.07
            return [self._end(ctx, _T.charging_state_changed,
                              self._s.stop_reason or default_reason)]
        return self._state_changed(ctx)

    def _state_changed(self, ctx: _Ctx, *, phases: int | None = None) -> Events:
        """ChargingStateChanged, only if the CSMS does not know the state yet (E01.FR.18)."""
        if not self.active or self.charging_state == self._s.reported_state:
            return []
        return [self._event(ctx, UPDATED, _T.charging_state_changed, phases=phases)]

    def _check_invalid_energy(self, ctx: _Ctx) -> Events:
        """E05.FR.02/03: suspend once MaxEnergyOnInvalidId is reached (or if it is not set)."""
        s = self._s
        if not s.invalid_id or s.invalid_suspended:
            return []
        limit = self.max_energy_on_invalid_id
        if limit is not None:
            delivered = (0.0 if s.energy_wh is None or s.meter_start_wh is None
                         else s.energy_wh - s.meter_start_wh)
            if delivered < limit:
                return []                                            # E05.FR.03
        was_flowing = s.energy
        s.invalid_suspended = True
        s.stop_reason = s.stop_reason or "DeAuthorized"
        self._set_energy(ctx, False)
        s.evse_suspended = True
        if was_flowing and ENERGY_TRANSFER in self._stop_points:     # E05.FR.02 note
            return [self._end(ctx, _T.charging_state_changed, s.stop_reason)]
        return self._state_changed(ctx)                              # E05.FR.02

    def _drop_authorization(self) -> None:
        s = self._s
        s.authorized = s.invalid_id = s.invalid_suspended = False
        s.pending_id_token = False
        s.pending_remote_start_id = s.pending_reservation_id = None
        # Withholding energy from a driver who is no longer authorized is not a "suspension":
        # without an offer the state is EVConnected.
        if s.evse_suspended:
            s.evse_suspended = s.offering = False

    def _set_energy(self, ctx: _Ctx, flowing: bool) -> None:
        """Energy on/off, accounting timeSpentCharging while a transaction runs."""
        s = self._s
        if s.energy == flowing:
            return
        s.energy = flowing
        if not self.active:
            return
        if flowing:
            s.charging_since = ctx.now.isoformat()
        else:
            self._account_charging(ctx.now)

    def _account_charging(self, now: datetime) -> None:
        s = self._s
        if s.charging_since is not None:
            since = datetime.fromisoformat(s.charging_since)
            s.charging_seconds += max(0.0, (now - since).total_seconds())
            s.charging_since = None

    def _start(self, ctx: _Ctx, trigger: str, *,
               meter_values: list[MeterValueType] | None = None,
               phases: int | None = None) -> TransactionEventRequest:
        s = self._s
        s.transaction_id = self._new_id()                            # E01.FR.08
        s.seq_no = 0                                                 # §1.3.2.1
        s.started_at = self._now_iso(ctx.now)
        s.meter_start_wh = s.energy_wh
        s.remote_start_id = s.reported_state = s.stop_reason = None
        s.charging_seconds = 0.0
        s.charging_since = ctx.now.isoformat() if s.energy else None
        if meter_values is None and self._sample_meter is not None:
            meter_values = self._sample_meter(STARTED)               # E01.FR.09
        return self._event(ctx, STARTED, trigger, meter_values=meter_values, phases=phases)

    def _end(self, ctx: _Ctx, trigger: str, stopped_reason: str, *,
             id_token: IdTokenType | None = None,
             report_state: bool = True) -> TransactionEventRequest:
        s = self._s
        self._account_charging(ctx.now)
        # The transaction is over: no energy, no offer, and the authorization was its own.
        s.energy = s.offering = s.evse_suspended = False
        self._drop_authorization()
        s.id_token = s.group_id_token = None
        meter_values = self._sample_meter(ENDED) if self._sample_meter is not None else None
        payload = self._event(ctx, ENDED, trigger, id_token=id_token,       # E06.FR.11
                              stopped_reason=stopped_reason, meter_values=meter_values,
                              report_state=report_state)
        s.transaction_id = s.started_at = s.meter_start_wh = None
        s.remote_start_id = s.reported_state = s.stop_reason = s.charging_since = None
        s.last_event_at = None
        s.seq_no, s.charging_seconds = 0, 0.0
        return payload

    def _event(self, ctx: _Ctx, event_type: TransactionEventEnumType,
               trigger: TriggerReasonEnumType | str, **details: Any) -> TransactionEventRequest:
        """Build one TransactionEventRequest and advance the seqNo (E01.FR.07); ``details``:
        the keyword arguments of :func:`~blocks.tx_record.transaction_event`."""
        return transaction_event(self._s, event_type, trigger, evse_id=self.evse_id,
                                 charging_state=self.charging_state, now=ctx.now,
                                 offline=ctx.offline, now_iso=self._now_iso, **details)
