"""Functional block E, transactions: the record of one EVSE's transactions, its persisted
form, and the TransactionEventRequest built from it; no I/O.

Theory of operation
-------------------
:class:`~blocks.tx_state.EvseTransactions` (the state machine, with its table and inputs)
keeps everything it knows in one flat :class:`TxRecord`. Tokens are IdTokenType models there;
only the snapshot (:func:`snapshot_of`) holds their wire dicts: it is JSON, and the snapshots
already stored keep loading (:func:`record_from_snapshot`). The caller persists the snapshot
before it queues the payloads, and a restarted Evse restores it and continues the seqNo.

:func:`transaction_event` builds one TransactionEventRequest from the record (part 2 E §1.5
says which optional field goes into which event), hands out the fields owed to the next event
and advances the seqNo (E01.FR.07).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Callable

from messages.ocpp201 import (ChargingStateEnumType, EVSEType, IdTokenType, MeterValueType,
                              ReasonEnumType, TransactionEventEnumType, TransactionEventRequest,
                              TransactionType, TriggerReasonEnumType, to_wire)

STARTED = TransactionEventEnumType.started
UPDATED = TransactionEventEnumType.updated
ENDED = TransactionEventEnumType.ended

SNAPSHOT_VERSION = 1

#: The :class:`TxRecord` fields that hold an IdTokenType (a wire dict in the snapshot).
_TOKEN_FIELDS = ("id_token", "group_id_token", "cable_held_for")


@dataclass
class TxRecord:
    """Everything :class:`~blocks.tx_state.EvseTransactions` knows; :func:`snapshot_of` is its
    JSON form."""

    # What is true at the EVSE.
    ev_connected: bool = False
    connector_id: int | None = None
    bay_occupied: bool = False
    authorized: bool = False
    id_token: IdTokenType | None = None
    group_id_token: IdTokenType | None = None
    offering: bool = False
    energy: bool = False
    evse_suspended: bool = False
    invalid_id: bool = False           # CSMS: not Accepted, StopTxOnInvalidId false (E05)
    invalid_suspended: bool = False    # ... and MaxEnergyOnInvalidId reached (E05.FR.02)
    energy_wh: float | None = None     # latest Energy.Active.Import.Register reading
    cable_held_for: IdTokenType | None = None  # E09.FR.03, E10.FR.01, E05.FR.11
    # Owed to the next TransactionEventRequest (part 2 §1.5).
    pending_id_token: bool = False
    pending_remote_start_id: int | None = None
    pending_reservation_id: int | None = None
    pending_evse: bool = False
    # The transaction.
    transaction_id: str | None = None
    seq_no: int = 0
    started_at: str | None = None
    meter_start_wh: float | None = None
    remote_start_id: int | None = None
    reported_state: str | None = None
    stop_reason: str | None = None
    charging_seconds: float = 0.0
    charging_since: str | None = None   # datetime.isoformat(), for timeSpentCharging
    last_event_at: str | None = None


def snapshot_of(s: TxRecord) -> dict[str, Any]:
    """The record as a JSON-serialisable dict, tokens as their wire dicts (see module doc)."""
    data = {f.name: getattr(s, f.name) for f in fields(TxRecord)}
    for name in _TOKEN_FIELDS:
        if data[name] is not None:
            data[name] = to_wire(data[name])
    data["version"] = SNAPSHOT_VERSION
    return data


def record_from_snapshot(data: dict[str, Any]) -> TxRecord:
    """The record a :func:`snapshot_of` dict holds (unknown keys ignored).

    Raises:
        ValueError: for a snapshot of another version.
    """
    if data.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"unsupported transaction snapshot version {data.get('version')!r}")
    known = {f.name for f in fields(TxRecord)}
    state = {k: v for k, v in data.items() if k in known}
    for name in _TOKEN_FIELDS:
        if state.get(name) is not None:
            state[name] = IdTokenType.model_validate(state[name])
    return TxRecord(**state)


def transaction_event(s: TxRecord, event_type: TransactionEventEnumType,
                      trigger: TriggerReasonEnumType | str, *, evse_id: int,
                      charging_state: ChargingStateEnumType, now: datetime, offline: bool,
                      now_iso: Callable[[datetime], str], id_token: IdTokenType | None = None,
                      stopped_reason: ReasonEnumType | str | None = None,
                      meter_values: list[MeterValueType] | None = None,
                      phases: int | None = None, always_state: bool = False,
                      report_state: bool = True) -> TransactionEventRequest:
    """Build one TransactionEventRequest of EVSE ``evse_id`` and advance the seqNo (E01.FR.07).

    ``charging_state`` is the one derived now (:attr:`EvseTransactions.charging_state
    <blocks.tx_state.EvseTransactions.charging_state>`); ``now_iso`` formats ``now`` as the
    event's timestamp.
    """
    reported = None
    # Started always has a chargingState; later events when it changed (E01.FR.18).
    if report_state and (event_type == STARTED or always_state
                         or charging_state != s.reported_state):
        reported = s.reported_state = charging_state
    remote_start_id = None
    if s.pending_remote_start_id is not None:                    # F01.FR.25, F02.FR.01
        remote_start_id = s.remote_start_id = s.pending_remote_start_id
        s.pending_remote_start_id = None
    info = TransactionType(
        transaction_id=s.transaction_id, charging_state=reported,
        # Always given, also Local (E06.FR.08 / E07.FR.05; only Local may be omitted).
        stopped_reason=stopped_reason, remote_start_id=remote_start_id,
        time_spent_charging=int(s.charging_seconds) if event_type == ENDED else None)
    token = None
    if id_token is not None:                                     # E07.FR.02
        token = id_token
    elif s.pending_id_token and s.id_token is not None:          # E03.FR.01, E02.FR.01
        token = s.id_token
        s.pending_id_token = False
    reservation_id, s.pending_reservation_id = s.pending_reservation_id, None  # E01.FR.13
    evse = None
    if event_type == STARTED or s.pending_evse:                  # E01.FR.16
        connector_id = None
        if s.ev_connected and s.connector_id is not None:
            connector_id = s.connector_id
            s.pending_evse = False
        evse = EVSEType(id=evse_id, connector_id=connector_id)
    event = TransactionEventRequest(
        event_type=event_type, timestamp=now_iso(now),
        trigger_reason=trigger,                                  # E01.FR.15
        seq_no=s.seq_no, transaction_info=info,
        offline=True if offline else None,                       # E04.FR.03
        id_token=token,
        reservation_id=reservation_id, evse=evse,
        number_of_phases_used=phases,                            # E02.FR.18
        meter_value=tuple(meter_values) if meter_values else None)
    s.last_event_at = now.isoformat()   # ours, whatever format now_iso writes
    s.seq_no += 1
    return event
