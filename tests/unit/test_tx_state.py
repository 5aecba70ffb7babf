"""blocks.tx_state: the transaction logic of one EVSE (part 2 E01-E15, F03, B12; part 6 TC_E_*).

Every payload any test produces is validated against the ocpp package's
TransactionEventRequest.json (draft-06) by the :class:`Checked` wrapper.
"""
from __future__ import annotations

import importlib.resources
import itertools
import json
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest

from messages.ocpp201 import AdditionalInfoType, IdTokenType, to_wire

from blocks.tx_state import (EvseTransactions, TRIGGER_OF_INPUT, STOP_POINTS_BY_LOSS,
                             new_transaction_id, parse_tx_points)

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
TOKEN = IdTokenType(id_token="CARD-1", type="ISO14443")
OTHER = IdTokenType(id_token="CARD-2", type="ISO14443")
GROUP = IdTokenType(id_token="FLEET", type="Central")

_SCHEMA = json.loads(importlib.resources.files("ocpp.v201.schemas")
                     .joinpath("TransactionEventRequest.json").read_text())
_VALIDATOR = jsonschema.Draft6Validator(_SCHEMA)
_ENUMS = _SCHEMA["definitions"]


def validate(payload: dict) -> None:
    errors = sorted(_VALIDATOR.iter_errors(payload), key=str)
    assert not errors, f"{payload} is not a valid TransactionEventRequest: {errors[0].message}"
    datetime.fromisoformat(payload["timestamp"])   # date-time, not checked by jsonschema


class Checked:
    """Wraps EvseTransactions: a clock that advances 1 s per call, schema check of every output."""

    def __init__(self, tx: EvseTransactions, start: datetime = T0) -> None:
        self.tx = tx
        self.now = start
        self.sent: list[dict] = []

    def __getattr__(self, name):
        attr = getattr(self.tx, name)
        if not callable(attr) or name in ("snapshot", "restore", "release_cable"):
            return attr

        def call(*args, **kwargs):
            self.now += timedelta(seconds=1)
            # What the CSMS gets: the wire form of the models the module hands out.
            out = [to_wire(event) for event in attr(self.now, *args, **kwargs)]
            for payload in out:
                validate(payload)
            self.sent.extend(out)
            return out
        return call


def ids():
    counter = itertools.count(1)
    return lambda: f"tx-{next(counter)}"


def make(start="PowerPathClosed", stop="EVConnected,Authorized", **kwargs) -> Checked:
    kwargs.setdefault("id_generator", ids())
    return Checked(EvseTransactions(1, tx_start_points=start, tx_stop_points=stop, **kwargs))


def one(out: list[dict]) -> dict:
    assert len(out) == 1, out
    return out[0]


def summary(events: list[dict]) -> list[tuple]:
    return [(e["eventType"], e["triggerReason"], e["transactionInfo"].get("chargingState"))
            for e in events]


def charge(t: Checked, connector: int = 1) -> None:
    """Cable first, then token, relay, energy: the common path into Charging."""
    t.ev_connected(connector)
    t.authorized(TOKEN)
    t.power_path_closed()
    t.energy_transfer_started()


class TestTables:
    """The data the module is built on uses only values the schema knows."""

    def test_every_trigger_reason_is_a_trigger_reason_enum_value(self):
        assert set(TRIGGER_OF_INPUT.values()) <= set(_ENUMS["TriggerReasonEnumType"]["enum"])

    def test_powerpathclosed_stops_on_connection_or_authorization(self):
        # §2.6.6.2: "exactly the same as having the values EVConnected, Authorized".
        assert "PowerPathClosed" in STOP_POINTS_BY_LOSS["connection"]
        assert "PowerPathClosed" in STOP_POINTS_BY_LOSS["authorization"]

    def test_parse_tx_points(self):
        assert parse_tx_points("EVConnected, Authorized") == {"EVConnected", "Authorized"}
        assert parse_tx_points("") == frozenset()
        with pytest.raises(ValueError, match="Bogus"):
            parse_tx_points("EVConnected,Bogus")

    def test_points_are_checked_when_set(self):
        tx = EvseTransactions(1)
        with pytest.raises(ValueError):
            tx.tx_stop_points = {"Unplugged"}

    def test_defaults_are_libocpps(self):
        tx = EvseTransactions(1)
        assert tx.tx_start_points == {"PowerPathClosed"}
        assert tx.tx_stop_points == {"EVConnected", "Authorized"}


class TestStartPoints:
    """E01 S1-S6: where the transaction starts, per TxStartPoint (TC_E_01/02/09/10/11/12/13)."""

    def test_parking_bay_occupancy_starts_with_evdetected(self):
        # TC_E_12 / E01.FR.01
        t = make(start="ParkingBayOccupancy")
        started = one(t.parking_bay_occupied())
        assert started["eventType"] == "Started"
        assert started["triggerReason"] == "EVDetected"
        assert started["seqNo"] == 0
        assert started["transactionInfo"] == {"transactionId": "tx-1", "chargingState": "Idle"}
        assert started["evse"] == {"id": 1}

    def test_evconnected_starts_on_plug_in_and_authorization_follows(self):
        # TC_E_09 then E02: cable first.
        t = make(start="EVConnected")
        started = one(t.ev_connected(1))
        assert (started["eventType"], started["triggerReason"]) == ("Started", "CablePluggedIn")
        assert started["transactionInfo"]["chargingState"] == "EVConnected"
        assert started["evse"] == {"id": 1, "connectorId": 1}             # E01.FR.16
        assert "idToken" not in started
        assert not t.energy_allowed                                         # nobody authorized
        auth = one(t.authorized(TOKEN))
        assert (auth["eventType"], auth["triggerReason"]) == ("Updated", "Authorized")  # E02.FR.01
        assert auth["idToken"] == to_wire(TOKEN)
        assert "evse" not in auth and "chargingState" not in auth["transactionInfo"]
        assert t.energy_allowed

    def test_authorized_starts_before_the_cable(self):
        # TC_E_10 / E03: token first.
        t = make(start="Authorized")
        started = one(t.authorized(TOKEN))
        assert (started["eventType"], started["triggerReason"]) == ("Started", "Authorized")
        assert started["idToken"] == to_wire(TOKEN)
        assert started["transactionInfo"]["chargingState"] == "Idle"
        assert started["evse"] == {"id": 1}
        plugged = one(t.ev_connected(2))
        assert (plugged["eventType"], plugged["triggerReason"]) == ("Updated", "CablePluggedIn")
        assert plugged["evse"] == {"id": 1, "connectorId": 2}               # E01.FR.16
        assert plugged["transactionInfo"]["chargingState"] == "EVConnected"
        assert "idToken" not in plugged                                     # only once

    def test_remote_start_carries_remote_start_id_and_token(self):
        # TC_E_13 / F01.FR.19, F01.FR.25, F02.FR.01
        t = make(start="Authorized")
        started = one(t.authorized(TOKEN, remote_start_id=77))
        assert started["triggerReason"] == "RemoteStart"
        assert started["transactionInfo"]["remoteStartId"] == 77
        assert started["idToken"] == to_wire(TOKEN)
        assert t.remote_start_id == 77
        later = one(t.ev_connected(1))
        assert "remoteStartId" not in later["transactionInfo"]

    def test_remote_start_on_a_started_unauthorized_transaction(self):
        # F01.FR.13: the transaction exists (EVConnected); the RequestStart joins it.
        t = make(start="EVConnected")
        t.ev_connected(1)
        tx_id = t.transaction_id
        upd = one(t.authorized(TOKEN, remote_start_id=5))
        assert upd["triggerReason"] == "RemoteStart"
        assert upd["transactionInfo"] == {"transactionId": tx_id, "remoteStartId": 5}
        assert upd["idToken"] == to_wire(TOKEN)

    def test_powerpathclosed_token_first_starts_at_plug_in(self):
        # TC_E_01: State Authorized, then EVConnectedPreSession.
        t = make(start="PowerPathClosed")
        assert t.authorized(TOKEN) == []
        assert not t.energy_allowed
        started = one(t.ev_connected(1))
        assert (started["eventType"], started["triggerReason"]) == ("Started", "CablePluggedIn")
        assert started["idToken"] == to_wire(TOKEN)                         # E01.FR.10
        assert started["evse"] == {"id": 1, "connectorId": 1}
        assert started["transactionInfo"]["chargingState"] == "EVConnected"
        assert t.energy_allowed

    def test_powerpathclosed_cable_first_starts_at_authorization(self):
        t = make(start="PowerPathClosed")
        assert t.ev_connected(1) == []
        started = one(t.authorized(TOKEN))
        assert (started["eventType"], started["triggerReason"]) == ("Started", "Authorized")
        assert started["idToken"] == to_wire(TOKEN)
        assert started["evse"] == {"id": 1, "connectorId": 1}               # owed since plug-in

    def test_powerpathclosed_ignores_the_relay(self):
        # §2.6.6.1: "Despite its name, this event is not related to the state of the power relay".
        t = make(start="PowerPathClosed")
        t.ev_connected(1)
        assert t.power_path_closed() == []
        assert not t.active

    def test_energytransfer_starts_when_energy_flows(self):
        # TC_E_02 / E01.FR.06
        t = make(start="EnergyTransfer", stop="EnergyTransfer")
        assert t.authorized(TOKEN) == [] and t.ev_connected(1) == []
        assert t.energy_allowed                               # energy must flow before the start
        assert t.power_path_closed() == []
        started = one(t.energy_transfer_started(phases=3))
        assert started["eventType"] == "Started"
        assert started["triggerReason"] == "ChargingStateChanged"
        assert started["transactionInfo"]["chargingState"] == "Charging"
        assert started["idToken"] == to_wire(TOKEN)
        assert started["evse"] == {"id": 1, "connectorId": 1}
        assert started["numberOfPhasesUsed"] == 3                          # E02.FR.18

    def test_datasigned_starts_with_the_signed_value(self):
        # TC_E_11 / E01.FR.04
        signed = [{"timestamp": "2025-01-01T12:00:00.000Z", "sampledValue": [{
            "value": 1000.0, "context": "Transaction.Begin",
            "signedMeterValue": {"signedMeterData": "x", "signingMethod": "ECDSA",
                                 "encodingMethod": "OCMF", "publicKey": "k"}}]}]
        t = make(start="DataSigned")
        t.authorized(TOKEN)
        t.ev_connected(1)
        started = one(t.data_signed(signed))
        assert (started["eventType"], started["triggerReason"]) == ("Started", "SignedDataReceived")
        assert started["meterValue"] == signed
        assert started["idToken"] == to_wire(TOKEN)

    def test_first_of_several_start_points_starts_only_once(self):
        # §2.6.4: "Which ever comes first will then cause a transaction to be started".
        t = make(start="EVConnected,Authorized")
        t.authorized(TOKEN)
        t.ev_connected(1)
        assert [e["eventType"] for e in t.sent] == ["Started", "Updated"]

    def test_start_points_change_at_runtime(self):
        t = make(start="PowerPathClosed")
        assert t.ev_connected(1) == []
        t.ev_disconnected()
        t.tx.tx_start_points = "EVConnected"
        assert one(t.ev_connected(1))["eventType"] == "Started"

    def test_start_point_changed_while_its_condition_holds_starts_at_the_next_arrival(self):
        # §2.6.4 "which ever comes first": the cable went in under PowerPathClosed, then the
        # CSMS set EVConnected. The authorization that follows must start the transaction
        # (before the fix it started nothing and the driver never got energy).
        t = make(start="PowerPathClosed")
        assert t.ev_connected(1) == []
        t.tx.tx_start_points = "EVConnected"
        started = one(t.authorized(TOKEN))
        assert (started["eventType"], started["triggerReason"]) == ("Started", "Authorized")
        assert started["idToken"] == to_wire(TOKEN)
        assert started["evse"] == {"id": 1, "connectorId": 1}
        assert t.energy_allowed

    def test_new_authorization_after_an_ended_transaction_starts_a_new_one(self):
        # Start EVConnected, stop Authorized: the stop token ends the transaction with the EV
        # still connected; the next driver's authorization starts the next transaction.
        t = make(start="EVConnected", stop="Authorized")
        first = one(t.ev_connected(1))["transactionInfo"]["transactionId"]
        t.authorized(TOKEN)
        assert one(t.stop_authorized(TOKEN))["eventType"] == "Ended"
        started = one(t.authorized(OTHER))
        assert started["eventType"] == "Started" and started["seqNo"] == 0
        assert started["transactionInfo"]["transactionId"] != first

    def test_a_holding_condition_that_is_no_start_point_starts_nothing(self):
        t = make(start="Authorized")
        t.tx.tx_start_points = "ParkingBayOccupancy"
        assert t.ev_connected(1) == []
        assert t.authorized(TOKEN) == []

    def test_inputs_that_start_nothing_send_nothing(self):
        t = make(start="Authorized")
        assert t.parking_bay_occupied() == []
        assert t.ev_connected(1) == []
        assert t.power_path_closed() == []
        assert t.report("MeterValuePeriodic") == []
        assert t.remote_stop() == []
        assert not t.active and t.transaction_id is None


class TestStopPoints:
    """E06 S1-S7, E07: where the transaction ends, per TxStopPoint (TC_E_07..22, TC_E_35/37)."""

    def test_evconnected_stop_after_stop_token_then_unplug(self):
        # E07 Figure 55, TxStopPoint = EVConnected; TC_E_06 / TC_E_14.
        t = make(start="EVConnected", stop="EVConnected")
        charge(t)
        stop = one(t.stop_authorized(TOKEN))
        assert (stop["eventType"], stop["triggerReason"]) == ("Updated", "StopAuthorized")
        assert stop["idToken"] == to_wire(TOKEN)                            # E07.FR.02
        assert not t.energy_allowed
        post = one(t.power_path_opened())          # EVConnectedPostSession
        assert (post["triggerReason"], post["transactionInfo"]["chargingState"]) == (
            "ChargingStateChanged", "EVConnected")
        ended = one(t.ev_disconnected())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "EVCommunicationLost")
        assert ended["transactionInfo"]["chargingState"] == "Idle"
        assert ended["transactionInfo"]["stoppedReason"] == "Local"   # what began the end
        assert not t.active

    def test_evconnected_unplug_without_stop_token_is_evdisconnected(self):
        # TC_E_20 (StopTxOnEVSideDisconnect false).
        t = make(stop="EVConnected", stop_tx_on_ev_side_disconnect=False)
        charge(t)
        t.energy_transfer_stopped(suspended_by="EV")       # EnergyTransferSuspended
        ended = one(t.ev_disconnected())
        assert ended["eventType"] == "Ended"
        assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
        assert ended["transactionInfo"]["chargingState"] == "Idle"
        assert t.tx.cable_held_for is None                 # normal termination unlocks

    def test_authorized_stop_token_ends_at_once(self):
        # TC_E_15 / E06.FR.03, E07 main scenario.
        t = make(stop="Authorized")
        charge(t)
        ended = one(t.stop_authorized(TOKEN))
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "StopAuthorized")
        assert ended["transactionInfo"]["stoppedReason"] == "Local"
        assert ended["idToken"] == to_wire(TOKEN)
        assert not t.active and not t.is_authorized and not t.energy_allowed

    def test_stop_token_of_the_group_is_reported(self):
        # E07.FR.02: "The stopping idToken may differ from the starting idToken".
        t = make(stop="Authorized")
        t.ev_connected(1)
        t.authorized(TOKEN, GROUP)
        assert t.tx.group_id_token == GROUP
        assert one(t.stop_authorized(OTHER))["idToken"] == to_wire(OTHER)

    def test_master_pass_reason(self):
        t = make(stop="Authorized")
        charge(t)
        ended = one(t.stop_authorized(OTHER, stopped_reason="MasterPass"))
        assert ended["transactionInfo"]["stoppedReason"] == "MasterPass"

    def test_powerpathclosed_local_stop(self):
        # TC_E_07
        t = make(stop="PowerPathClosed")
        charge(t)
        ended = one(t.stop_authorized(TOKEN))
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "StopAuthorized")

    def test_powerpathclosed_ev_side_disconnect(self):
        # TC_E_37: StopTxOnEVSideDisconnect false, still ends (EVConnected part of PowerPathClosed).
        t = make(stop="PowerPathClosed", stop_tx_on_ev_side_disconnect=False)
        charge(t)
        t.energy_transfer_stopped(suspended_by="EV")
        ended = one(t.ev_disconnected())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "EVCommunicationLost")
        assert ended["transactionInfo"]["chargingState"] == "Idle"
        assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"

    def test_energytransfer_ev_suspends(self):
        # TC_E_22: Ended, ChargingStateChanged, EVConnected, StoppedByEV.
        t = make(stop="EnergyTransfer")
        charge(t)
        ended = one(t.energy_transfer_stopped(suspended_by="EV"))
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "ChargingStateChanged")
        assert ended["transactionInfo"]["chargingState"] == "EVConnected"
        assert ended["transactionInfo"]["stoppedReason"] == "StoppedByEV"

    def test_energytransfer_stop_token_then_energy_stops(self):
        # TC_E_08: StopAuthorized (Updated), then the energy stop ends it with Local.
        t = make(stop="EnergyTransfer")
        charge(t)
        assert one(t.stop_authorized(TOKEN))["eventType"] == "Updated"
        ended = one(t.power_path_opened())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "ChargingStateChanged")
        assert ended["transactionInfo"]["chargingState"] == "EVConnected"
        assert ended["transactionInfo"]["stoppedReason"] == "Local"

    def test_energytransfer_does_not_end_a_transaction_that_never_charged(self):
        # Stop points are events: "no longer valid" needs it to have been valid.
        t = make(start="Authorized", stop="EnergyTransfer")
        t.authorized(TOKEN)
        t.ev_connected(1)
        assert t.power_path_opened() == []
        assert t.active

    def test_parking_bay_departure_ends(self):
        # TC_E_19 after TC_E_06's chain: StopAuthorized, EVConnectedPostSession, EVDisconnected.
        t = make(start="ParkingBayOccupancy", stop="ParkingBayOccupancy")
        t.parking_bay_occupied()
        charge(t)
        t.stop_authorized(TOKEN)
        t.power_path_opened()
        upd = one(t.ev_disconnected())
        assert (upd["eventType"], upd["triggerReason"]) == ("Updated", "EVCommunicationLost")
        assert upd["transactionInfo"]["chargingState"] == "Idle"
        ended = one(t.parking_bay_vacated())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "EVDeparted")
        assert ended["transactionInfo"]["stoppedReason"] == "Local"

    def test_datasigned_is_no_stop_point(self):
        # Errata 2025-02 deletes E06.FR.05: DataSigned has no meaning as a TxStopPoint.
        t = make(start="EVConnected", stop="DataSigned")
        charge(t)
        t.stop_authorized(TOKEN)
        t.power_path_opened()
        assert one(t.ev_disconnected())["eventType"] == "Updated"


class TestRemoteStop:
    """F03: RequestStopTransaction (TC_E_21, TC_E_35)."""

    @pytest.mark.parametrize("stop", ["Authorized", "PowerPathClosed"])
    def test_ends_when_the_stop_point_is_the_authorization(self, stop):
        t = make(stop=stop)
        charge(t)
        ended = one(t.remote_stop())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "RemoteStop")
        assert ended["transactionInfo"]["stoppedReason"] == "Remote"       # F03.FR.03
        assert "idToken" not in ended

    def test_updated_then_ended_with_remote_when_the_stop_point_is_evconnected(self):
        # F03.FR.02
        t = make(stop="EVConnected")
        charge(t)
        upd = one(t.remote_stop())
        assert (upd["eventType"], upd["triggerReason"]) == ("Updated", "RemoteStop")
        assert not t.energy_allowed
        t.power_path_opened()
        ended = one(t.ev_disconnected())
        assert ended["transactionInfo"]["stoppedReason"] == "Remote"


class TestSeqNo:
    """§1.3.2.1, E01.FR.07: 0 at the start, +1 per event, continuous across a crash."""

    def test_continuous_from_zero(self):
        t = make(stop="EVConnected")
        charge(t)
        t.report("MeterValuePeriodic")
        t.energy_transfer_stopped(suspended_by="EV")
        t.stop_authorized(TOKEN)
        t.power_path_opened()
        t.ev_disconnected()
        assert [e["seqNo"] for e in t.sent] == list(range(len(t.sent)))
        assert {e["transactionInfo"]["transactionId"] for e in t.sent} == {"tx-1"}

    def test_next_transaction_starts_at_zero_with_a_new_id(self):
        t = make()
        charge(t)
        t.stop_authorized(TOKEN)
        t.ev_disconnected()
        first = len(t.sent)
        charge(t)
        assert t.sent[first]["seqNo"] == 0
        assert t.sent[first]["transactionInfo"]["transactionId"] == "tx-2"

    def test_snapshot_and_restore_continue_the_transaction(self):
        t = make(stop="EVConnected")
        charge(t)
        t.report("MeterValuePeriodic")
        saved = json.loads(json.dumps(t.snapshot()))      # what SQLite would hand back
        # Started, SuspendedEV, Charging, MeterValuePeriodic: 0..3 sent, 4 is next.
        assert saved["transaction_id"] == "tx-1" and saved["seq_no"] == 4
        assert saved["id_token"] == to_wire(TOKEN) and saved["connector_id"] == 1
        assert saved["reported_state"] == "Charging" and saved["started_at"]

        restarted = Checked(EvseTransactions(1, tx_stop_points="EVConnected",
                                             id_generator=ids()), start=t.now)
        restarted.restore(saved)
        assert restarted.active and restarted.charging_state == "Charging"
        upd = one(restarted.report("MeterValuePeriodic"))
        assert (upd["seqNo"], upd["transactionInfo"]["transactionId"]) == (4, "tx-1")
        assert "chargingState" not in upd["transactionInfo"]               # nothing new
        restarted.stop_authorized(TOKEN)
        restarted.power_path_opened()
        ended = one(restarted.ev_disconnected())
        assert ended["seqNo"] == 7 and ended["transactionInfo"]["stoppedReason"] == "Local"

    def test_snapshot_keeps_what_is_owed_to_the_next_event(self):
        t = make(start="PowerPathClosed")
        t.authorized(TOKEN, remote_start_id=3, reservation_id=9)
        restarted = make(start="PowerPathClosed")
        restarted.restore(t.snapshot())
        started = one(restarted.ev_connected(1))
        assert started["idToken"] == to_wire(TOKEN)
        assert started["transactionInfo"]["remoteStartId"] == 3
        assert started["reservationId"] == 9

    # A snapshot as EvseTransactions wrote it when it kept tokens as wire dicts.
    OLD_SNAPSHOT = {
        "ev_connected": True, "connector_id": 1, "bay_occupied": False, "authorized": True,
        "id_token": {"idToken": "CARD-1", "type": "ISO14443"},
        "group_id_token": {"idToken": "FLEET", "type": "Central"},
        "offering": True, "energy": True, "evse_suspended": False, "invalid_id": False,
        "invalid_suspended": False, "energy_wh": 0.0,
        "cable_held_for": {"idToken": "CARD-1", "type": "ISO14443"},
        "pending_id_token": False, "pending_remote_start_id": None,
        "pending_reservation_id": None, "pending_evse": False, "transaction_id": "tx-1",
        "seq_no": 2, "started_at": "2025-01-01T12:00:04.000Z", "meter_start_wh": 0.0,
        "remote_start_id": None, "reported_state": "Charging", "stop_reason": None,
        "charging_seconds": 0.0, "charging_since": "2025-01-01T12:00:04+00:00",
        "last_event_at": "2025-01-01T12:00:04+00:00", "version": 1}

    def test_a_snapshot_from_before_the_models_restores_and_is_written_alike(self):
        t = make(stop="Authorized")
        t.restore(json.loads(json.dumps(self.OLD_SNAPSHOT)))
        assert (t.tx.id_token, t.tx.group_id_token, t.tx.cable_held_for) == (TOKEN, GROUP, TOKEN)
        assert t.snapshot() == self.OLD_SNAPSHOT
        ended = one(t.stop_authorized(OTHER))          # E07.FR.01 (b): the caller checked it
        assert ended["idToken"] == to_wire(OTHER) and ended["seqNo"] == 2

    def test_tokens_compare_by_id_token_and_type_only(self):
        # As the wire dicts did: additionalInfo does not make another token, a type does.
        t = make(stop="Authorized", unlock_on_ev_side_disconnect=False)
        charge(t)
        t.ev_disconnected()
        assert t.tx.cable_held_for == TOKEN                                 # E09.FR.03
        with_info = TOKEN.model_copy(update={"additional_info": (
            AdditionalInfoType(additional_id_token="X", type="plate"),)})
        t.authorized(IdTokenType(id_token="CARD-1", type="Central"))
        assert t.tx.cable_held_for == TOKEN                 # another type: still held
        t.stop_authorized()
        t.authorized(with_info)
        assert t.tx.cable_held_for is None                  # the holder is back (E09.FR.03)

    def test_restore_refuses_an_unknown_version(self):
        with pytest.raises(ValueError, match="version"):
            EvseTransactions(1).restore({"version": 99})


class TestTransactionIds:
    """E01.FR.08 / E02.FR.08: a transactionId is never used twice, also across restarts."""

    def test_ten_thousand_ids_are_distinct_and_fit_the_schema(self):
        generated = [new_transaction_id("CP001", 1) for _ in range(10_000)]
        assert len(set(generated)) == 10_000
        assert max(len(i) for i in generated) <= 36
        # Two instances (a restart) do not share a counter that could repeat.
        assert not set(generated) & {new_transaction_id("CP001", 1) for _ in range(1000)}

    def test_default_generator_is_used_per_transaction(self):
        t = Checked(EvseTransactions(1, tx_start_points="EVConnected",
                                     tx_stop_points="EVConnected"))
        seen = set()
        for _ in range(20):
            t.ev_connected(1)
            seen.add(t.transaction_id)
            t.ev_disconnected()
        assert len(seen) == 20 and all(len(i) == 36 for i in seen)


class TestFieldPlacement:
    """Part 2 §1.5: which optional field goes into which event."""

    def test_idtoken_only_in_the_first_event_after_authorization(self):
        t = make(start="EVConnected", stop="EVConnected")
        charge(t)
        with_token = [e for e in t.sent if "idToken" in e]
        assert [e["triggerReason"] for e in with_token] == ["Authorized"]

    def test_no_idtoken_when_reset_ends_the_transaction(self):
        # TransactionEventRequest.idToken: not present when ended by a ResetRequest; B12.FR.04.
        t = make()
        charge(t)
        ended = one(t.station_stop("ImmediateReset", "ResetCommand"))
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "ResetCommand")
        assert ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
        assert "idToken" not in ended
        assert not t.active and not t.is_authorized

    def test_evse_in_started_and_after_each_plug_in_only(self):
        t = make(start="Authorized", stop="Authorized", stop_tx_on_ev_side_disconnect=False)
        t.authorized(TOKEN)
        t.ev_connected(1)
        t.ev_disconnected()
        t.ev_connected(1)
        t.energy_transfer_started()
        assert [e.get("evse") for e in t.sent] == [
            {"id": 1}, {"id": 1, "connectorId": 1}, None, {"id": 1, "connectorId": 1}, None]

    def test_reservation_id_once(self):
        # E01.FR.13 / E03.FR.03
        t = make(start="Authorized")
        started = one(t.authorized(TOKEN, reservation_id=12))
        assert started["reservationId"] == 12
        assert "reservationId" not in one(t.ev_connected(1))

    def test_offline_flag(self):
        # E04.FR.03 / E11.FR.02: the caller knows whether it is offline.
        t = make(start="EVConnected")
        assert one(t.ev_connected(1, offline=True))["offline"] is True
        assert "offline" not in one(t.authorized(TOKEN))

    def test_timestamp_is_now(self):
        t = make(start="EVConnected")
        started = one(t.ev_connected(1))
        assert started["timestamp"] == "2025-01-01T12:00:01.000Z"


class TestChargingState:
    """§3.16 ChargingStateEnumType, E01.FR.18/19, TC_E_38: reported when, and only when, it
    changes."""

    def test_the_full_cycle(self):
        t = make(start="EVConnected", stop="EVConnected")
        charge(t)
        t.energy_transfer_stopped(suspended_by="EV")
        t.energy_transfer_stopped(suspended_by="EVSE")
        t.energy_transfer_started()
        assert summary(t.sent) == [
            ("Started", "CablePluggedIn", "EVConnected"),
            ("Updated", "Authorized", None),
            ("Updated", "ChargingStateChanged", "SuspendedEV"),
            ("Updated", "ChargingStateChanged", "Charging"),
            ("Updated", "ChargingStateChanged", "SuspendedEV"),
            ("Updated", "ChargingStateChanged", "SuspendedEVSE"),
            ("Updated", "ChargingStateChanged", "Charging"),
        ]

    def test_ev_not_ready(self):
        # TC_E_38: the EVSE offers, the EV takes nothing.
        t = make(start="PowerPathClosed")
        t.authorized(TOKEN)
        t.ev_connected(1)
        upd = one(t.power_path_closed())
        assert upd["transactionInfo"]["chargingState"] == "SuspendedEV"

    def test_no_event_without_a_change(self):
        t = make()
        charge(t)
        assert t.energy_transfer_started() == []
        assert t.power_path_closed() == []

    def test_trigger_message_always_has_the_state(self):
        # F06.FR.07
        t = make()
        charge(t)
        meter = [{"timestamp": "2025-01-01T12:00:05Z",
                  "sampledValue": [{"value": 1234.5,
                                    "measurand": "Energy.Active.Import.Register"}]}]
        upd = one(t.report("Trigger", meter_values=meter))
        assert upd["transactionInfo"]["chargingState"] == "Charging"
        assert upd["meterValue"] == meter
        periodic = one(t.report("MeterValuePeriodic", meter_values=meter))
        assert "chargingState" not in periodic["transactionInfo"]

    def test_report_refuses_triggers_with_state_changes_of_their_own(self):
        with pytest.raises(ValueError):
            make().tx.report(T0, "CablePluggedIn")

    def test_local_energy_limit_ends_the_authorization(self):
        t = make(stop="Authorized")
        charge(t)
        ended = one(t.deauthorized(trigger_reason="EnergyLimitReached",
                                   stopped_reason="EnergyLimitReached"))
        assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == (
            "EnergyLimitReached", "EnergyLimitReached")

    def test_time_spent_charging(self):
        t = make(stop="Authorized")
        t.ev_connected(1)
        t.authorized(TOKEN)
        t.energy_transfer_started()            # t = 3 s
        t.now += timedelta(seconds=96)
        t.energy_transfer_stopped()            # t = 100 s: 97 s charging
        t.now += timedelta(seconds=50)
        t.energy_transfer_started()            # t = 151 s
        ended = one(t.stop_authorized(TOKEN))  # t = 152 s: 1 s more
        assert ended["transactionInfo"]["timeSpentCharging"] == 98


class TestMeterValues:
    """E01.FR.09 / E06.FR.11: the sampler's values go into Started and Ended."""

    def test_sampler_values_are_placed(self):
        asked = []

        def sample(event_type):
            asked.append(event_type)
            context = "Transaction.Begin" if event_type == "Started" else "Transaction.End"
            return [{"timestamp": "2025-01-01T12:00:00Z",
                     "sampledValue": [{"value": 10.0, "context": context}]}]

        t = make(stop="Authorized", sample_meter=sample)
        charge(t)
        ended = one(t.stop_authorized(TOKEN))
        started = t.sent[0]
        assert asked == ["Started", "Ended"]
        assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
        assert ended["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.End"
        assert all("meterValue" not in e for e in t.sent[1:-1])

    def test_meter_start_is_recorded(self):
        t = make()
        t.energy_measured(5000.0)
        charge(t)
        assert t.snapshot()["meter_start_wh"] == 5000.0


class TestEvSideDisconnect:
    """E09 / E10: StopTxOnEVSideDisconnect and UnlockOnEVSideDisconnect (TC_E_17, 24-27)."""

    @pytest.mark.parametrize("unlock,held", [(True, None), (False, TOKEN)])
    def test_stop_tx_true_deauthorizes_and_ends(self, unlock, held):
        # TC_E_17 / TC_E_24 / TC_E_25: EVCommunicationLost, Idle, EVDisconnected, Ended.
        t = make(stop="Authorized", stop_tx_on_ev_side_disconnect=True,
                 unlock_on_ev_side_disconnect=unlock)
        charge(t)
        t.energy_transfer_stopped(suspended_by="EV")
        ended = one(t.ev_disconnected())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "EVCommunicationLost")
        assert ended["transactionInfo"]["chargingState"] == "Idle"
        assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
        assert t.tx.cable_held_for == held                          # E09.FR.02 / E09.FR.03
        t.authorized(OTHER)                                         # somebody else: still held
        t.stop_authorized(OTHER)
        assert t.tx.cable_held_for == held
        t.authorized(TOKEN)                                         # the driver comes back
        assert t.tx.cable_held_for is None

    def test_group_member_stopping_releases_the_held_cable(self):
        # E10 B1/B3 with E07.FR.01(b): a token of the same group may stop and unlock.
        t = make(stop="Authorized", stop_tx_on_ev_side_disconnect=False)
        t.ev_connected(1)
        t.authorized(TOKEN, GROUP)
        t.ev_disconnected()
        assert t.tx.cable_held_for == TOKEN
        assert one(t.stop_authorized(OTHER))["eventType"] == "Ended"
        assert t.tx.cable_held_for is None

    def test_stop_tx_true_reconnect_needs_new_authorization(self):
        # E09.FR.01: "energy transfer is not allowed until the transaction is authorized once
        # again" (stop point ParkingBayOccupancy keeps the transaction open).
        t = make(start="ParkingBayOccupancy", stop="ParkingBayOccupancy")
        t.parking_bay_occupied()
        charge(t)
        upd = one(t.ev_disconnected())
        assert upd["eventType"] == "Updated"
        t.ev_connected(1)
        assert not t.energy_allowed
        t.authorized(TOKEN)
        assert t.energy_allowed
        ended = one(t.parking_bay_vacated())
        assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"

    def test_stop_tx_false_suspends_and_resumes(self):
        # TC_E_26 / E10: Updated EVCommunicationLost Idle; replug CablePluggedIn EVConnected;
        # ChargingStateChanged Charging; then the token ends it (E10 B3).
        t = make(stop="Authorized", stop_tx_on_ev_side_disconnect=False)
        charge(t)
        t.energy_transfer_stopped(suspended_by="EV")
        first = len(t.sent)
        t.ev_disconnected()
        assert t.tx.cable_held_for == TOKEN                        # E10.FR.01
        assert not t.energy_allowed
        t.ev_connected(1)
        assert t.energy_allowed
        t.energy_transfer_started()
        assert summary(t.sent[first:]) == [
            ("Updated", "EVCommunicationLost", "Idle"),
            ("Updated", "CablePluggedIn", "EVConnected"),
            ("Updated", "ChargingStateChanged", "Charging"),
        ]
        t.ev_disconnected()
        ended = one(t.stop_authorized(TOKEN))
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "StopAuthorized")
        assert t.tx.cable_held_for is None

    def test_stop_tx_false_fixed_cable_timeout(self):
        # TC_E_27 / E10.FR.02: EVConnectTimeout ends it with Timeout.
        t = make(stop="Authorized", stop_tx_on_ev_side_disconnect=False)
        charge(t)
        t.ev_disconnected()
        ended = one(t.ev_connect_timeout())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "EVConnectTimeout")
        assert ended["transactionInfo"]["stoppedReason"] == "Timeout"


class TestInvalidId:
    """E05: the CSMS answers a TransactionEvent with a token status that is not Accepted."""

    @pytest.mark.parametrize("stop", ["Authorized", "PowerPathClosed", "EnergyTransfer"])
    def test_stop_tx_true_ends_with_deauthorized(self, stop):
        # E05.FR.10 / TC_E_16
        t = make(stop=stop, stop_tx_on_invalid_id=True)
        charge(t)
        ended = one(t.invalid_id())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "Deauthorized")
        assert ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"
        assert t.tx.cable_held_for == TOKEN                          # E05.FR.11
        t.release_cable()
        assert t.tx.cable_held_for is None

    def test_stop_tx_true_with_evconnected_stop_deauthorizes_only(self):
        # E05.FR.09: Updated Deauthorized, then EVConnected; ends at unplug with DeAuthorized.
        t = make(stop="EVConnected", stop_tx_on_invalid_id=True)
        charge(t)
        upd = one(t.invalid_id())
        assert (upd["eventType"], upd["triggerReason"]) == ("Updated", "Deauthorized")
        assert not t.energy_allowed and not t.is_authorized
        state = one(t.power_path_opened())
        assert state["transactionInfo"]["chargingState"] == "EVConnected"
        ended = one(t.ev_disconnected())
        assert ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"

    def test_stop_tx_false_suspends_at_once_without_max_energy(self):
        # E05.FR.02: stop energy, Updated ChargingStateChanged SuspendedEVSE; not deauthorized.
        t = make(stop="EVConnected,Authorized", stop_tx_on_invalid_id=False)
        charge(t)
        upd = one(t.invalid_id())
        assert (upd["eventType"], upd["triggerReason"]) == ("Updated", "ChargingStateChanged")
        assert upd["transactionInfo"]["chargingState"] == "SuspendedEVSE"
        assert t.active and t.is_authorized and not t.energy_allowed
        assert t.power_path_opened() == []                   # still SuspendedEVSE
        assert t.power_path_closed() == []                   # a relay does not lift E05
        assert t.charging_state == "SuspendedEVSE"

    def test_stop_tx_false_allows_max_energy_first(self):
        # E05.FR.03: charging continues until MaxEnergyOnInvalidId Wh, then E05.FR.02.
        t = make(stop_tx_on_invalid_id=False, max_energy_on_invalid_id=500)
        t.energy_measured(10_000.0)
        charge(t)
        assert t.invalid_id() == []
        assert t.energy_measured(10_300.0) == []
        assert t.energy_allowed
        upd = one(t.energy_measured(10_500.0))
        assert upd["transactionInfo"]["chargingState"] == "SuspendedEVSE"
        assert not t.energy_allowed

    def test_stop_tx_false_max_energy_zero_suspends_at_once(self):
        # The shipped MaxEnergyOnInvalidId is 0: nothing more may be delivered (E05.FR.02).
        t = make(stop_tx_on_invalid_id=False, max_energy_on_invalid_id=0)
        t.energy_measured(10_000.0)
        charge(t)
        t.energy_measured(10_000.0)
        assert one(t.invalid_id())["transactionInfo"]["chargingState"] == "SuspendedEVSE"
        assert not t.energy_allowed

    def test_stop_tx_false_max_energy_already_exceeded(self):
        t = make(stop_tx_on_invalid_id=False, max_energy_on_invalid_id=500)
        t.energy_measured(10_000.0)
        charge(t)
        t.energy_measured(11_000.0)
        assert one(t.invalid_id())["transactionInfo"]["chargingState"] == "SuspendedEVSE"

    def test_stop_tx_false_with_energytransfer_stop_ends(self):
        # E05.FR.02 note: with EnergyTransfer as stop point the energy stop ends it.
        t = make(stop="EnergyTransfer", stop_tx_on_invalid_id=False)
        charge(t)
        ended = one(t.invalid_id())
        assert ended["eventType"] == "Ended"
        assert ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"

    def test_new_authorization_lifts_the_suspension(self):
        t = make(start="EVConnected", stop="EVConnected", stop_tx_on_invalid_id=False)
        charge(t)
        t.invalid_id()
        t.stop_authorized(TOKEN)
        t.authorized(OTHER)
        assert t.energy_allowed

    def test_after_the_end_nothing(self):
        t = make(stop="Authorized")
        charge(t)
        t.stop_authorized(TOKEN)
        assert t.invalid_id() == []


class TestEvConnectionTimeout:
    """E03.FR.05 / E03.FR.15 / C01.FR.26 (TC_E_05, TC_E_39)."""

    def test_ends_a_started_transaction(self):
        t = make(start="Authorized", stop="Authorized")
        t.authorized(TOKEN)
        ended = one(t.ev_connect_timeout())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "EVConnectTimeout")
        assert ended["transactionInfo"]["stoppedReason"] == "Timeout"
        assert not t.is_authorized

    def test_parking_bay_stop_point_only_deauthorizes(self):
        t = make(start="ParkingBayOccupancy", stop="ParkingBayOccupancy")
        t.parking_bay_occupied()
        t.authorized(TOKEN)
        upd = one(t.ev_connect_timeout())
        assert (upd["eventType"], upd["triggerReason"]) == ("Updated", "EVConnectTimeout")
        assert t.active and not t.is_authorized
        ended = one(t.parking_bay_vacated())
        assert ended["transactionInfo"]["stoppedReason"] == "Timeout"

    def test_before_a_transaction_only_the_authorization_ends(self):
        t = make(start="PowerPathClosed")
        t.authorized(TOKEN)
        assert t.ev_connect_timeout() == []
        assert not t.is_authorized
        assert t.ev_connected(1) == []           # no transaction without a new token

    def test_ignored_when_connected(self):
        t = make()
        charge(t)
        assert t.ev_connect_timeout() == []
        assert t.is_authorized


class TestStationStopAndPowerLoss:
    """B12.FR.04/08 (reset), E06.FR.16 (fault), E07.FR.06 with PowerLoss after a restart."""

    def test_emergency_stop(self):
        t = make()
        charge(t)
        ended = one(t.station_stop("EmergencyStop"))
        assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == (
            "AbnormalCondition", "EmergencyStop")
        assert ended["transactionInfo"]["chargingState"] == "EVConnected"

    def test_station_stop_without_transaction(self):
        t = make()
        t.authorized(TOKEN)
        assert t.station_stop("ImmediateReset", "ResetCommand") == []
        assert not t.is_authorized

    def test_power_loss_ends_the_restored_transaction(self):
        t = make(stop="EVConnected")
        charge(t)
        t.now += timedelta(seconds=60)
        t.report("MeterValuePeriodic")
        saved = json.loads(json.dumps(t.snapshot()))

        rebooted = Checked(EvseTransactions(1, tx_stop_points="EVConnected", id_generator=ids()),
                           start=t.now + timedelta(hours=1))
        rebooted.restore(saved)
        ended = one(rebooted.end_after_power_loss())
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "AbnormalCondition")
        assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss"
        assert ended["transactionInfo"]["transactionId"] == "tx-1"
        assert ended["seqNo"] == saved["seq_no"]
        assert "chargingState" not in ended["transactionInfo"]   # unknown after the outage
        assert "idToken" not in ended
        assert not rebooted.active and not rebooted.is_ev_connected and not rebooted.is_authorized
        # Charging counted up to the last event sent (energy at 4 s, report at 65 s); the hour
        # without power is not charging time.
        assert ended["transactionInfo"]["timeSpentCharging"] == 61
        assert rebooted.end_after_power_loss() == []
        # Like after a cold boot: the driver's state starts a new transaction.
        rebooted.tx.tx_start_points = "EVConnected"
        started = one(rebooted.ev_connected(1))
        assert started["seqNo"] == 0 and started["transactionInfo"]["transactionId"] == "tx-1"

    def test_power_loss_without_transaction(self):
        t = make()
        assert t.end_after_power_loss() == []


class TestTwoEvses:
    """Two EVSEs charge in parallel; each has its own transaction and seqNo."""

    def test_independent(self):
        a = Checked(EvseTransactions(1, tx_start_points="EVConnected",
                                     tx_stop_points="EVConnected"))
        b = Checked(EvseTransactions(2, tx_start_points="EVConnected",
                                     tx_stop_points="EVConnected"))
        a.ev_connected(1)
        b.ev_connected(1)
        a.authorized(TOKEN)
        b.authorized(OTHER)
        a.power_path_closed()
        a.ev_disconnected()
        b.energy_transfer_started()
        assert a.transaction_id is None and b.active
        assert [e["seqNo"] for e in a.sent] == [0, 1, 2, 3]
        assert [e["seqNo"] for e in b.sent] == [0, 1, 2]
        assert a.sent[0]["evse"]["id"] == 1 and b.sent[0]["evse"]["id"] == 2
        a_ids = {e["transactionInfo"]["transactionId"] for e in a.sent}
        b_ids = {e["transactionInfo"]["transactionId"] for e in b.sent}
        assert len(a_ids) == len(b_ids) == 1 and not a_ids & b_ids
        assert b.sent[1]["idToken"] == to_wire(OTHER)


class TestMisuse:
    """Inputs that make no sense in the current state change nothing."""

    def test_second_connector_is_ignored(self):
        # E01.FR.14: no second transaction on another connector of the same EVSE.
        t = make(start="EVConnected")
        t.ev_connected(1)
        assert t.ev_connected(2) == []
        assert t.snapshot()["connector_id"] == 1

    def test_authorized_twice(self):
        t = make()
        charge(t)
        assert t.authorized(OTHER) == []
        assert t.tx.id_token == TOKEN

    def test_bad_arguments(self):
        tx = EvseTransactions(1)
        with pytest.raises(ValueError):
            tx.authorized(T0, TOKEN, trigger="CablePluggedIn")
        with pytest.raises(ValueError):
            tx.energy_transfer_stopped(T0, suspended_by="Grid")

    def test_disconnect_without_connection(self):
        assert make().ev_disconnected() == []


def test_remote_start_before_the_cable_starts_with_trigger_remote_start():
    """F02.FR.21: with TxStartPoint EVConnected the cable starts the transaction, but the
    event says RemoteStart and carries the remoteStartId."""
    from datetime import datetime, timezone
    from blocks.tx_state import EvseTransactions
    tx = EvseTransactions(1, tx_start_points=("EVConnected",))
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert tx.authorized(now, IdTokenType(id_token="A", type="ISO14443"),
                         remote_start_id=7) == []
    [started] = tx.ev_connected(now, 1)
    assert started.event_type == "Started" and started.trigger_reason == "RemoteStart"
    assert started.transaction_info.remote_start_id == 7
