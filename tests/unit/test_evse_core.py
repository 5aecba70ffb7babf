"""station.evse_core: one EVSE from plug-in to plug-out, without actors (part 2 E, F, G, J).

A :class:`Station` drives an :class:`EvseCore` the way the Evse actor does (time in, intents
out) and plays the CsmsSession: it acknowledges every TransactionEvent and status, answers
authorizations and checks every payload against the OCPP 2.0.1 schemas. It also checks the durability rule on
every output: a TransactionEvent leaves only after a save that lists it as unacknowledged.

The repository and the device-model reader (storage/evse_repo.py) are tested at the end, on
real SQLite files.
"""
from __future__ import annotations

import importlib.resources
import itertools
import json
import sqlite3
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest

from messages.ocpp201 import (ChangeAvailabilityStatusEnumType, ConnectorStatusEnumType,
                              IdTokenInfoType, IdTokenType, OperationalStatusEnumType,
                              RequestStartStopStatusEnumType, UnlockStatusEnumType, to_wire)
from station.evse_core import (SETTINGS_KEYS, AnnounceStatus, EvseCore, EvseSettings,
                               ReportLockProblem, RequestAuthorization, SaveAvailability,
                               SaveState, SendMeterValues, SendTransactionEvent)
from station.evse_state import EvseState
from storage import lite
from storage.database import open_database
from evse_hw.driver import SignRequest
from station.evse_panel import ControlPanel
from simulators.evse_hardware import simulated_hardware
from simulators.meter_signing import verify
from storage.evse_repo import (EvseRepository, TransactionRow, read_device_model,
                               read_evse_tier)
from ports.time import parse_ocpp_time
from config.station import PROJECT_DIR

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
CARD = IdTokenType(id_token="CARD-1", type="ISO14443")
OTHER = IdTokenType(id_token="CARD-2", type="ISO14443")
ACCEPTED = IdTokenInfoType(status="Accepted")
CORE_MIGRATIONS = PROJECT_DIR / "migrations" / "core"


def _validator(name: str) -> jsonschema.Draft6Validator:
    schema = json.loads(importlib.resources.files("ocpp.v201.schemas").joinpath(name).read_text())
    return jsonschema.Draft6Validator(schema)


TX_SCHEMA = _validator("TransactionEventRequest.json")
MV_SCHEMA = _validator("MeterValuesRequest.json")


def info(wire: dict) -> IdTokenInfoType:
    """A TransactionEventResponse's idTokenInfo as TransactionEventAnswered carries it."""
    return IdTokenInfoType.model_validate(wire)


def valid(validator: jsonschema.Draft6Validator, payload: dict) -> None:
    errors = sorted(validator.iter_errors(payload), key=str)
    assert not errors, f"{payload}: {errors[0].message}"


_TX_NUMBERS = itertools.count(1)


def ids():
    """Readable transactionIds, unique across the test run (also across restarts)."""
    return lambda: f"tx-{next(_TX_NUMBERS)}"


class Station:
    """An EvseCore with a clock, an auto-acknowledging session and a saved-state store."""

    def __init__(self, values: dict | None = None, *, connectors: int = 1,
                 availability: dict | None = None, saved: dict | None = None,
                 fresh_boot: bool = True, now: datetime = T0, auto_ack: bool = True,
                 auto_authorize: IdTokenInfoType | dict | None = ACCEPTED, id_generator=None,
                 parking_sensor: bool = False, signing_meter: bool = True) -> None:
        self.now = now
        self.auto_ack = auto_ack
        # The session's answer to every token, as TokenAuthorized carries it (a wire dict is
        # read as the CSMS would have sent it).
        self.auto_authorize = auto_authorize
        self.events: list[dict] = []
        self.meter_values: list[dict] = []
        self.statuses: list[tuple[int, str]] = []
        self.auth_requests: list[RequestAuthorization] = []
        self.lock_reports: list[tuple[int, bool]] = []
        self.availability_saved: list[tuple[int, str]] = []
        self.saved = saved
        self.core = EvseCore(1, values or {}, EvseState.load(1, connectors, availability or {}),
                             hardware=simulated_hardware(1, connectors,
                                                         parking_sensor=parking_sensor,
                                                         signing_meter=signing_meter),
                             id_generator=id_generator or ids())
        self._take(self.core.start(self.now, saved, fresh_boot=fresh_boot))
        # The simulator's own inputs (plug_in, set_fault, ...), as the Evse actor reaches them.
        self.panel = ControlPanel(self.core.hw, self.core)

    # -- plumbing --------------------------------------------------------------------------

    def _take(self, intents) -> None:
        # What the last save (of this call or an earlier one) lists as unacknowledged.
        saved_keys = {k for k, _ in self.saved["unacked"]} if self.saved else set()
        saved_now = False
        for intent in intents:
            if isinstance(intent, SaveState):
                json.dumps(intent.state, allow_nan=False)             # must be storable
                self.saved = intent.state
                saved_keys = {k for k, _ in intent.state["unacked"]}
                saved_now = True
            elif isinstance(intent, SaveAvailability):
                assert not saved_now, "availability saved after the state"
                self.availability_saved.append((intent.connector_id, intent.status))
            elif isinstance(intent, SendTransactionEvent):
                # Durability: the event was saved as unacknowledged before it is sent.
                assert intent.event_key in saved_keys, f"{intent.event_key} sent before saved"
                # The CSMS gets the wire form of the model.
                valid(TX_SCHEMA, to_wire(intent.payload))
                self.events.append(to_wire(intent.payload))
            elif isinstance(intent, SendMeterValues):
                valid(MV_SCHEMA, to_wire(intent.payload))
                self.meter_values.append(to_wire(intent.payload))
            elif isinstance(intent, AnnounceStatus):
                self.statuses.append((intent.connector_id, intent.status))
            elif isinstance(intent, RequestAuthorization):
                self.auth_requests.append(intent)
            elif isinstance(intent, ReportLockProblem):
                self.lock_reports.append((intent.connector_id, intent.problem))
        for intent in intents:
            if isinstance(intent, SendTransactionEvent) and self.auto_ack:
                self._take(self.core.event_queued(self.now, intent.event_key))
            elif isinstance(intent, AnnounceStatus) and self.auto_ack:
                self._take(self.core.status_seen(self.now, intent.connector_id,
                                                 intent.sequence))
        for intent in intents:
            if isinstance(intent, RequestAuthorization) and self.auto_authorize is not None:
                answer = self.auto_authorize
                self._take(self.core.token_authorized(
                    self.now, intent.correlation_id,
                    info(answer) if isinstance(answer, dict) else answer))

    def ack_statuses(self) -> None:
        """Acknowledge the status announcements at the head of the line (with ``auto_ack``
        False): statuses and events share one line (station/evse_delivery.py)."""
        while isinstance(head := self.core.lines.head, AnnounceStatus):
            self._take(self.core.status_seen(self.now, head.connector_id, head.sequence))

    def ack_events(self) -> None:
        """Acknowledge the next event in flight, and the statuses ahead of it (with
        ``auto_ack`` False)."""
        self.ack_statuses()
        self._take(self.core.event_queued(self.now, self.core.unacknowledged[0]))

    def ack_all(self) -> None:
        """Acknowledge everything on the line (with ``auto_ack`` False)."""
        while (head := self.core.lines.head) is not None:
            if isinstance(head, AnnounceStatus):
                self._take(self.core.status_seen(self.now, head.connector_id, head.sequence))
            else:
                self._take(self.core.event_queued(self.now, head.event_key))

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)

    def call(self, method: str, *args, after: float = 1.0):
        """Call an input ``after`` seconds later; returns its answer (if any)."""
        self.advance(after)
        target = self.panel if hasattr(self.panel, method) else self.core
        result = getattr(target, method)(self.now, *args)
        if isinstance(result, list):
            self._take(result)
            return None
        self._take(result.intents)
        return result.answer

    def run(self, seconds: int) -> None:
        """Tick once a second for ``seconds`` seconds."""
        for _ in range(seconds):
            self.call("tick")

    def restart(self, *, fresh_boot: bool, after: float = 5.0, **kwargs) -> "Station":
        """A new core from the last saved state (the Evse process, or the station, restarted)."""
        state = json.loads(json.dumps(self.saved))
        return Station(saved=state, fresh_boot=fresh_boot,
                       now=self.now + timedelta(seconds=after), **kwargs)

    # -- reading -----------------------------------------------------------------------------

    def summary(self, events: list[dict] | None = None) -> list[tuple]:
        return [(e["eventType"], e["seqNo"], e["triggerReason"],
                 e["transactionInfo"].get("chargingState"),
                 e["transactionInfo"].get("stoppedReason"))
                for e in (self.events if events is None else events)]

    @property
    def status(self) -> str:
        return self.core.connector_statuses()[1]

    @property
    def hw(self):
        return self.core.hw.state(self.now.timestamp())

    def session(self) -> None:
        """Plug in, the EV asks for energy, a card is presented (accepted): Charging at once
        (an EV that does not ask is SuspendedEV first, TC_E_38)."""
        assert self.call("plug_in", 1) == (True, None)
        assert self.call("set_ev_state", "charging") == (True, None)
        assert self.call("present_token", CARD) == (True, None)


# -- sessions --------------------------------------------------------------------------------------


class TestLocalSession:
    """E01/E02 (cable first), E07 (stop with the same token), J02 (Updated meter values)."""

    def test_full_session_with_meter_values(self):
        s = Station({"SampledDataCtrlr.TxUpdatedInterval": "10"})
        assert s.statuses == [(1, "Available")]
        s.session()
        assert s.status == "Occupied"                                    # E02.FR.05
        assert s.hw.power_path_closed and s.hw.power_w == pytest.approx(22080.0)
        assert s.hw.connectors[0].locked                                 # locked while charging
        s.run(25)
        assert s.call("present_token", CARD) == (True, None)             # E07.FR.01 (a)
        assert not s.hw.connectors[0].locked                             # E07.FR.07
        assert s.call("plug_out") == (True, None)
        assert s.summary() == [
            ("Started", 0, "Authorized", "EVConnected", None),           # PowerPathClosed
            ("Updated", 1, "ChargingStateChanged", "Charging", None),
            ("Updated", 2, "MeterValuePeriodic", None, None),            # J02.FR.11
            ("Updated", 3, "MeterValuePeriodic", None, None),
            ("Ended", 4, "StopAuthorized", "EVConnected", "Local"),      # E07.FR.02/05
        ]
        started, ended = s.events[0], s.events[-1]
        assert started["idToken"] == to_wire(CARD)
        assert started["evse"] == {"id": 1, "connectorId": 1}
        assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
        assert ended["idToken"] == to_wire(CARD)
        assert ended["meterValue"][-1]["sampledValue"][0]["context"] == "Transaction.End"
        periodic = s.events[2]["meterValue"][0]["sampledValue"]
        assert {v["measurand"] for v in periodic} == {"Energy.Active.Import.Register",
                                                      "Power.Active.Import"}
        assert len({e["transactionInfo"]["transactionId"] for e in s.events}) == 1
        assert s.statuses == [(1, "Available"), (1, "Occupied"), (1, "Available")]
        assert s.core.unacknowledged == []

    def test_unplug_while_charging_ends_with_ev_disconnected(self):
        # E06.FR.02 via StopTxOnEVSideDisconnect (E09.FR.01); UnlockOnEVSideDisconnect lets
        # the cable out of the socket too.
        s = Station()
        s.session()
        assert s.call("plug_out") == (True, None)
        assert s.summary()[-1] == ("Ended", 2, "EVCommunicationLost", "Idle", "EVDisconnected")
        assert s.hw.plugged_connector is None and s.status == "Available"

    def test_ev_suspends_and_resumes(self):
        s = Station()
        s.session()
        s.call("set_ev_state", "suspended")
        s.call("set_ev_state", "charging")
        assert [e[3] for e in s.summary()[1:]] == ["Charging", "SuspendedEV", "Charging"]

    def test_token_first_then_cable(self):
        # E03 with TxStartPoint PowerPathClosed: Started at plug-in, with the token.
        s = Station()
        s.call("present_token", CARD)
        assert s.events == []
        s.call("plug_in", 1)
        # The EVSE then offers energy the EV does not take yet: SuspendedEV (TC_E_38).
        assert s.summary() == [("Started", 0, "CablePluggedIn", "EVConnected", None),
                               ("Updated", 1, "ChargingStateChanged", "SuspendedEV", None)]
        assert s.events[0]["idToken"] == to_wire(CARD)
        assert s.hw.enabled and not s.hw.power_path_closed

    def test_ev_not_ready_is_suspended_ev_until_it_asks(self):
        # TC_E_38 / E01.FR.19: authorized, cable in, the EV takes nothing: SuspendedEV; when it
        # asks, Charging. Before the fix the CSMS was never told the EVSE offered energy.
        s = Station()
        s.call("plug_in", 1)
        s.call("present_token", CARD)
        assert s.summary() == [("Started", 0, "Authorized", "EVConnected", None),
                               ("Updated", 1, "ChargingStateChanged", "SuspendedEV", None)]
        s.call("set_ev_state", "charging")
        assert s.summary()[2] == ("Updated", 2, "ChargingStateChanged", "Charging", None)

    def test_same_card_authorizes_again_after_the_stop(self):
        # TxStopPoint EVConnected: the stop card ends the authorization, not the transaction
        # (E07 Figure 55); the same card presented again authorizes again.
        s = Station({"TxCtrlr.TxStopPoint": "EVConnected"})
        s.session()
        s.call("present_token", CARD)
        assert [e[2:4] for e in s.summary()[-2:]] == [("StopAuthorized", None),
                                                      ("ChargingStateChanged", "EVConnected")]
        assert not s.hw.enabled and not s.hw.connectors[0].locked
        s.call("present_token", CARD)
        assert [e[2:4] for e in s.summary()[-2:]] == [("Authorized", None),
                                                      ("ChargingStateChanged", "Charging")]
        assert s.hw.power_w > 0

    def test_token_not_accepted_starts_nothing(self):
        s = Station(auto_authorize={"status": "Invalid"})
        s.call("plug_in", 1)
        s.call("present_token", CARD)
        assert s.events == [] and not s.hw.enabled

    def test_other_token_of_the_group_stops(self):
        # E07.FR.01 (b): the CSMS says the other token has the session's groupIdToken.
        group = {"idToken": "FLEET", "type": "Central"}
        s = Station(auto_authorize={"status": "Accepted", "groupIdToken": group})
        s.session()
        s.call("present_token", OTHER)
        ended = s.events[-1]
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "StopAuthorized")
        assert ended["idToken"] == to_wire(OTHER)

    def test_group_from_the_transaction_event_response_lets_a_group_token_stop(self):
        # C09.FR.12, C09.FR.03 (TC_C_39 with the group only in the TransactionEventResponse):
        # the first card's Authorize answer names no group, the answer to the Started event
        # that carried it does; a second card Authorize answers with that group ends the
        # transaction.
        group = {"idToken": "FLEET", "type": "Central"}
        s = Station()
        s.session()
        started = next(e for e in s.events if e.get("idToken") == to_wire(CARD))
        tx_id = started["transactionInfo"]["transactionId"]
        s.call("event_answered", tx_id, info({"status": "Accepted", "groupIdToken": group}),
               CARD)
        # The group survives a restart of the Evse process (it is part of the saved state).
        s = s.restart(fresh_boot=False, auto_authorize={"status": "Accepted",
                                                         "groupIdToken": group})
        s.call("present_token", OTHER)
        ended = s.events[-1]
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "StopAuthorized")
        assert ended["idToken"] == to_wire(OTHER)

    def test_group_in_the_answer_to_another_token_is_not_the_sessions(self):
        # Only the answer about the session's own token names its group.
        group = {"idToken": "FLEET", "type": "Central"}
        s = Station()
        s.session()
        tx_id = s.events[0]["transactionInfo"]["transactionId"]
        s.call("event_answered", tx_id, info({"status": "Accepted", "groupIdToken": group}),
               OTHER)
        s.auto_authorize = {"status": "Accepted", "groupIdToken": group}
        s.call("present_token", OTHER)
        assert s.events[-1]["eventType"] != "Ended" and s.hw.power_w > 0

    def test_master_pass_ends_the_transaction_whoever_started_it(self):
        # C16.FR.02 (TC_C_14/49): StopAuthorized with the master's token, reason MasterPass.
        s = Station()
        s.session()
        master = IdTokenType(id_token="MASTER-1", type="ISO14443")
        s.call("master_pass_stop", master)
        ended = s.events[-1]
        assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "StopAuthorized")
        assert ended["transactionInfo"]["stoppedReason"] == "MasterPass"
        assert ended["idToken"] == to_wire(master)

    def test_master_pass_without_transaction_does_nothing(self):
        s = Station()
        s.call("master_pass_stop", IdTokenType(id_token="MASTER-1", type="ISO14443"))
        assert s.events == []

    def test_stranger_token_does_not_stop(self):
        s = Station()
        s.session()
        s.call("present_token", OTHER)                      # Accepted, but no common group
        assert s.events[-1]["eventType"] == "Updated" and s.hw.power_w > 0

    def test_ev_connection_timeout(self):
        # E03.FR.05 / C01.FR.26: token first, no cable within EVConnectionTimeOut.
        s = Station({"TxCtrlr.TxStartPoint": "Authorized", "TxCtrlr.EVConnectionTimeOut": "30"})
        s.call("present_token", CARD)
        s.run(31)
        assert s.summary() == [("Started", 0, "Authorized", "Idle", None),
                               ("Ended", 1, "EVConnectTimeout", None, "Timeout")]

    def test_evconnected_start_point(self):
        s = Station({"TxCtrlr.TxStartPoint": "EVConnected"})
        s.call("plug_in", 1)
        assert s.summary() == [("Started", 0, "CablePluggedIn", "EVConnected", None)]

    def test_held_cable_without_unlock_on_ev_side_disconnect(self):
        # E09.FR.03: the EV end is pulled, the socket end stays locked until the token returns.
        s = Station({"OCPPCommCtrlr.UnlockOnEVSideDisconnect": "false"})
        s.session()
        assert s.call("plug_out") == (True, None)
        assert s.events[-1]["eventType"] == "Ended"
        assert s.hw.plugged_connector == 1 and s.hw.connectors[0].locked
        ok, error = s.call("plug_out")
        assert not ok and "locked" in error
        s.call("present_token", CARD)
        assert not s.hw.connectors[0].locked
        assert s.call("plug_out") == (True, None) and s.status == "Available"

    def test_invalid_id_from_the_csms_ends_the_transaction(self):
        # E05.FR.10 with StopTxOnInvalidId true.
        s = Station()
        s.session()
        tx_id = s.events[0]["transactionInfo"]["transactionId"]
        s.call("event_answered", tx_id, info({"status": "Blocked"}))
        assert s.summary()[-1] == ("Ended", 2, "Deauthorized", "EVConnected", "DeAuthorized")
        assert not s.hw.enabled and s.hw.connectors[0].locked           # E05.FR.11 held

    def test_operator_errors_are_answers(self):
        s = Station()
        ok, error = s.call("plug_out")
        assert not ok and "nothing is plugged" in error
        ok, error = s.call("set_ev_state", "charging")
        assert not ok and "no EV" in error
        assert not s.call("set_ev_state", "flying")[0]


class TestRemoteControl:
    """F01/F02 remote start, F03 remote stop, F05 unlock, F06 trigger."""

    def test_remote_start_cable_first(self):
        s = Station()
        s.call("plug_in", 1)
        assert s.call("remote_start", CARD, None, 42) == ("Accepted", None, None)
        started = s.events[0]
        assert (started["triggerReason"], started["transactionInfo"]["remoteStartId"]) == (
            "RemoteStart", 42)                                           # F01.FR.19/25
        assert started["idToken"] == to_wire(CARD)                       # F01.FR.04

    def test_remote_start_token_first_then_timeout(self):
        # F02.FR.07: no cable within EVConnectionTimeOut.
        s = Station({"TxCtrlr.TxStartPoint": "Authorized", "TxCtrlr.EVConnectionTimeOut": "10"})
        assert s.call("remote_start", CARD, None, 7)[0] == "Accepted"
        s.run(11)
        assert s.summary()[-1][2:] == ("EVConnectTimeout", None, "Timeout")

    def test_remote_start_returns_the_unauthorized_transaction(self):
        # F01.FR.13: a transaction started by the cable, not yet authorized.
        s = Station({"TxCtrlr.TxStartPoint": "EVConnected"})
        s.call("plug_in", 1)
        tx_id = s.events[0]["transactionInfo"]["transactionId"]
        assert s.call("remote_start", CARD, None, 3) == ("Accepted", tx_id, None)

    def test_remote_start_rejected_when_authorized_unavailable_or_faulted(self):
        s = Station()
        s.session()
        assert s.call("remote_start", OTHER, None, 1)[0] == "Rejected"    # F01.FR.24
        u = Station(availability={(1, 0): "Inoperative"})
        assert u.call("remote_start", CARD, None, 1)[:2] == ("Rejected", None)   # F01.FR.23
        f = Station()
        f.call("set_fault", True, "OverCurrent")
        assert f.call("remote_start", CARD, None, 1)[0] == "Rejected"

    def test_authorize_remote_start_asks_first(self):
        # F01.FR.01: with AuthorizeRemoteStart the token is authorized before energy flows.
        s = Station({"AuthCtrlr.AuthorizeRemoteStart": "true"}, auto_authorize=None)
        s.call("plug_in", 1)
        assert s.call("remote_start", CARD, None, 9)[0] == "Accepted"
        assert s.events == [] and len(s.auth_requests) == 1
        assert s.auth_requests[0].remote_start          # a Central token needs no Authorize
        s.call("token_authorized", s.auth_requests[0].correlation_id, ACCEPTED)
        assert s.events[0]["triggerReason"] == "RemoteStart"
        assert s.events[0]["transactionInfo"]["remoteStartId"] == 9

    def test_remote_stop(self):
        s = Station()
        s.session()
        tx_id = s.events[0]["transactionInfo"]["transactionId"]
        assert s.call("remote_stop", "someone-else") == "Rejected"         # F03.FR.08
        assert s.call("remote_stop", tx_id) == "Accepted"
        assert s.summary()[-1] == ("Ended", 2, "RemoteStop", "EVConnected", "Remote")
        assert not s.hw.enabled and s.hw.power_w == 0

    def test_unlock(self):
        s = Station()
        assert s.call("unlock", 9) == "UnknownConnector"                    # F05.FR.03
        assert s.call("unlock", 1) == "Unlocked"                            # F05.FR.06
        s.session()
        assert s.call("unlock", 1) == "OngoingAuthorizedTransaction"        # F05.FR.02
        assert s.hw.connectors[0].locked

    def test_unlock_releases_a_held_cable_and_can_fail(self):
        s = Station({"OCPPCommCtrlr.UnlockOnEVSideDisconnect": "false"})
        s.session()
        s.call("plug_out")
        s.core.hw.jam_lock(1)
        assert s.call("unlock", 1) == "UnlockFailed"                        # F05.FR.05
        s.core.hw.jam_lock(1, False)
        assert s.call("unlock", 1) == "Unlocked"                            # F05.FR.04
        assert s.call("plug_out") == (True, None)

    def test_trigger_meter_values_and_transaction_event(self):
        s = Station()
        s.call("trigger", "MeterValues")                                    # F06.FR.06
        assert s.meter_values[0]["evseId"] == 1
        assert s.meter_values[0]["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
        s.call("trigger", "TransactionEvent")
        assert s.events == []                                               # none running
        s.session()
        s.call("trigger", "TransactionEvent")                               # F06.FR.07
        assert s.summary()[-1] == ("Updated", 2, "Trigger", "Charging", None)
        assert s.events[-1]["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"


class TestRestart:
    """A restarted Evse continues (E04.FR.04 seqNo); a restarted station ends with PowerLoss."""

    def test_evse_crash_mid_transaction_continues_the_seq_no(self):
        s = Station({"SampledDataCtrlr.TxUpdatedInterval": "10"})
        s.session()
        s.run(5)
        tx_id = s.events[0]["transactionInfo"]["transactionId"]
        r = s.restart(fresh_boot=False, values={"SampledDataCtrlr.TxUpdatedInterval": "10"})
        assert r.events == []                          # nothing unacknowledged, nothing new
        assert r.hw.power_w > 0 and r.hw.connectors[0].locked
        r.run(10)
        r.call("present_token", CARD)
        assert [e["seqNo"] for e in r.events] == [2, 3]
        assert {e["transactionInfo"]["transactionId"] for e in r.events} == {tx_id}
        assert r.events[-1]["eventType"] == "Ended"
        begin = r.events[-1]["meterValue"][0]["sampledValue"][0]
        assert begin["context"] == "Transaction.Begin"                     # restored list

    def test_energy_kept_flowing_while_the_evse_process_was_down(self):
        s = Station()
        s.session()
        before = s.hw.energy_wh
        r = s.restart(fresh_boot=False, after=3600)
        assert r.hw.energy_wh - before == pytest.approx(22080.0, rel=1e-3)

    def test_unacknowledged_events_are_sent_again(self):
        s = Station(auto_ack=False)
        s.session()
        keys = s.core.unacknowledged
        assert len(keys) == 2
        r = s.restart(fresh_boot=False, auto_ack=False)
        assert r.core.unacknowledged == keys
        assert [e["seqNo"] for e in r.events] == [0]           # the oldest, on its own
        resend = [i for i in r.core.resend() if isinstance(i, SendTransactionEvent)]
        assert [i.event_key for i in resend] == keys[:1]
        sent = [i for i in r.core.event_queued(r.now, keys[0])
                if isinstance(i, SendTransactionEvent)]
        assert [i.event_key for i in sent] == keys[1:]
        r.core.event_queued(r.now, keys[1])
        assert r.core.unacknowledged == []

    def test_intents_lost_to_a_failed_save_are_carried_out_with_the_next_step(self):
        """A save raised in the Evse actor: nothing of the step went out, yet the core counted
        its statuses as announced. The next step saves again and re-sends every
        unacknowledged event and every status (G01.FR.01)."""
        s = Station(auto_ack=False)
        s.session()
        s.ack_all()
        s.advance()
        # The EV end comes out (Ended goes out), then the cable (Available waits behind it).
        lost = s.panel.plug_out(s.now).intents
        head = s.core.unacknowledged[:1]
        assert [i.event_key for i in lost if isinstance(i, SendTransactionEvent)] == head
        assert s.core.unacknowledged_statuses == [AnnounceStatus(1, "Available")]
        s.core.intents_lost(lost)
        s.advance()
        again = s.core.tick(s.now)
        assert any(isinstance(i, SaveState) for i in again)
        assert [i.event_key for i in again if isinstance(i, SendTransactionEvent)] == head
        s.ack_all()
        assert s.statuses[-1] == (1, "Available") and s.core.unacknowledged == []
        assert [i for i in s.core.tick(s.now) if isinstance(i, (AnnounceStatus, SaveState))] == []

    def test_availability_lost_to_a_failed_save_is_saved_with_the_next_step(self):
        """G03.FR.08: the new operational state is persisted even if the first save raised."""
        s = Station()
        s.advance()
        lost = s.core.change_availability(s.now, None, "Inoperative").intents
        s.core.intents_lost(lost)
        s.advance()
        again = s.core.tick(s.now)
        assert [i for i in again if isinstance(i, SaveAvailability)] == [
            SaveAvailability(0, "Inoperative")]
        assert [i for i in again if isinstance(i, AnnounceStatus)] == [
            AnnounceStatus(1, "Unavailable")]

    def test_station_restart_ends_the_transaction_with_power_loss(self):
        s = Station(auto_ack=False)
        s.session()
        s.ack_statuses()                                # Started goes out, unacknowledged
        r = s.restart(fresh_boot=True, auto_ack=False)
        # The session hears the unacknowledged ones again, one at a time, oldest first.
        assert [e["seqNo"] for e in r.events] == [0]
        r.ack_all()
        ended = r.events[-1]
        assert r.summary()[1:] == [("Updated", 1, "ChargingStateChanged", "Charging", None),
                                   ("Ended", 2, "AbnormalCondition", None, "PowerLoss")]
        assert ended["transactionInfo"]["transactionId"] == s.events[0]["transactionInfo"][
            "transactionId"]
        assert ended["meterValue"][-1]["sampledValue"][0]["context"] == "Transaction.End"
        # The EV is still plugged: Occupied, but nobody is authorized and nothing flows.
        assert r.status == "Occupied" and not r.hw.enabled and not r.hw.connectors[0].locked

    def test_station_restart_with_evconnected_start_starts_anew(self):
        values = {"TxCtrlr.TxStartPoint": "EVConnected"}
        s = Station(values)
        s.call("plug_in", 1)
        r = s.restart(fresh_boot=True, values=values)
        assert r.summary() == [("Ended", 1, "AbnormalCondition", None, "PowerLoss"),
                               ("Started", 0, "CablePluggedIn", "EVConnected", None)]
        assert r.events[0]["transactionInfo"]["transactionId"] != r.events[1][
            "transactionInfo"]["transactionId"]

    def test_unknown_state_version_is_refused(self):
        with pytest.raises(ValueError, match="version"):
            Station(saved={"version": 99})


class TestSavedTokens:
    """The core holds tokens as IdTokenType models; the saved state keeps the wire dicts it
    had when the core held dicts, so EVSE_STATE rows written before the models still load."""

    # As the core saved them before the models (tokens as wire dicts).
    OLD_CARD = {"idToken": "CARD-1", "type": "ISO14443"}
    OLD_RESERVATION = {"id": 7, "id_token": {"idToken": "RES-1", "type": "ISO14443"},
                       "group_id_token": {"idToken": "FLEET", "type": "Central"},
                       "expiry": "2025-01-01T13:00:00.000Z"}

    def held_cable(self) -> Station:
        # E09.FR.03: the socket end stays locked for CARD after the EV end was pulled.
        s = Station({"OCPPCommCtrlr.UnlockOnEVSideDisconnect": "false"})
        s.session()
        s.call("plug_out")
        return s

    def test_the_saved_form_of_the_tokens_is_unchanged(self):
        s = self.held_cable()
        s.call("reservation_made", 7, IdTokenType(id_token="RES-1", type="ISO14443"),
               IdTokenType(id_token="FLEET", type="Central"), "2025-01-01T13:00:00.000Z")
        assert s.saved["tx"]["cable_held_for"] == self.OLD_CARD
        assert s.saved["reservation"] == self.OLD_RESERVATION

    def test_a_state_saved_before_the_models_restores(self):
        state = json.loads(json.dumps(self.held_cable().saved))
        state["tx"]["cable_held_for"] = dict(self.OLD_CARD)
        state["reservation"] = dict(self.OLD_RESERVATION)
        again = Station({"OCPPCommCtrlr.UnlockOnEVSideDisconnect": "false"}, saved=state,
                        fresh_boot=False, now=T0 + timedelta(minutes=5))
        assert again.core.tx.cable_held_for == CARD
        assert again.status == "Reserved"                                  # B11.FR.05
        assert again.core.status(again.now)["reservation"] == {
            "id": 7, "id_token": "RES-1", "expiry": "2025-01-01T13:00:00.000Z"}
        assert again.hw.connectors[0].locked
        again.call("present_token", CARD)                                  # E09.FR.03
        assert not again.hw.connectors[0].locked
        assert again.saved["reservation"] == self.OLD_RESERVATION


class TestDeliveryToTheSession:
    """The actor transport may delay or reorder messages (station/evse_delivery.py): events go
    one at a time and both events and statuses are sent again until the session acknowledges
    them (E01.FR.07 order, G01.FR.01 no status lost)."""

    def test_one_event_at_a_time_sent_again_until_acknowledged(self):
        s = Station({"SampledDataCtrlr.TxUpdatedInterval": "0"}, auto_ack=False)
        s.session()
        s.ack_statuses()                                       # ahead of the events
        assert len(s.core.unacknowledged) == 2                 # Started, Charging
        assert [e["seqNo"] for e in s.events] == [0]
        s.run(1)
        assert [e["seqNo"] for e in s.events] == [0]           # not yet overdue
        s.run(1)
        assert [e["seqNo"] for e in s.events] == [0, 0]        # 2 s without an answer
        s.ack_events()
        assert [e["seqNo"] for e in s.events] == [0, 0, 1]     # the next leaves at once
        s.ack_events()
        s.run(5)
        assert [e["seqNo"] for e in s.events] == [0, 0, 1]     # nothing left to send

    def test_a_late_acknowledgement_of_an_older_event_does_not_skip_the_one_in_flight(self):
        s = Station({"SampledDataCtrlr.TxUpdatedInterval": "0"}, auto_ack=False)
        s.session()
        s.ack_statuses()
        first, second = s.core.unacknowledged
        s._take(s.core.event_queued(s.now, first))
        s._take(s.core.event_queued(s.now, first))             # a copy of the answer
        assert s.core.unacknowledged == [second]
        s.run(2)
        assert [e["seqNo"] for e in s.events] == [0, 1, 1]     # still sent again

    def test_statuses_go_one_at_a_time_in_order_and_again_until_acknowledged(self):
        """An Available overtaken by the next Occupied would leave the session holding
        Occupied: the CSMS would hear of neither change (G01.FR.01)."""
        s = Station(auto_ack=False)
        assert s.statuses == [(1, "Available")]
        s.run(2)
        assert s.statuses == [(1, "Available")] * 2          # 2 s without an answer
        s.call("plug_in", 1)
        s.call("plug_out")
        assert s.statuses == [(1, "Available")] * 2          # Occupied waits its turn
        s._take(s.core.status_seen(s.now, 1, 1))
        assert s.statuses[-1] == (1, "Occupied")
        s._take(s.core.status_seen(s.now, 1, 1))             # a late copy of the answer
        assert s.statuses[-1] == (1, "Occupied") and len(s.statuses) == 3
        s._take(s.core.status_seen(s.now, 1, 2))
        assert s.statuses == [(1, "Available")] * 2 + [(1, "Occupied"), (1, "Available")]
        s._take(s.core.status_seen(s.now, 1, 3))
        s.run(5)
        assert len(s.statuses) == 4                            # nothing left to send

    def test_at_plug_in_the_status_leaves_before_the_event_it_caused(self):
        """TxStartPoint EVConnected: Occupied, then TransactionEvent Started (E02.FR.05, the
        E02 figure; issue #9). The event waits until the session took the status: it puts the
        StatusNotification on its link first."""
        s = Station({"TxCtrlr.TxStartPoint": "EVConnected"}, auto_ack=False)
        s._take(s.core.status_seen(s.now, 1, 1))               # the first Available
        s.advance()
        out = [i for i in s.panel.plug_in(s.now, 1).intents
               if isinstance(i, (AnnounceStatus, SendTransactionEvent))]
        assert out == [AnnounceStatus(1, "Occupied")]
        assert len(s.core.unacknowledged) == 1                  # Started, saved, waiting
        s.run(3)                                                # the status again, alone
        assert not any(isinstance(i, SendTransactionEvent)
                       for i in s.core.tick(s.now))
        after = s.core.status_seen(s.now, 1, out[0].sequence)
        assert [(i.payload.event_type, i.payload.trigger_reason) for i in after
                if isinstance(i, SendTransactionEvent)] == [("Started", "CablePluggedIn")]

    def test_sequence_and_time_of_an_announcement(self):
        s = Station()
        s.advance(3)
        announced = [i for i in s.panel.plug_in(s.now, 1).intents
                     if isinstance(i, AnnounceStatus)]
        assert [(a.status, a.sequence, a.at) for a in announced] == [("Occupied", 2, s.now)]


class TestLockFailure:
    """G05: a retention lock that fails to engage keeps the relay open (G05.FR.01) and is
    reported once, and again when it engages (G05.FR.02)."""

    def test_no_energy_while_the_lock_is_jammed_and_the_problem_reported_once(self):
        s = Station()
        assert s.call("set_lock_failure", 1, True) == (True, None)
        s.session()                                     # plugged, EV asks, card accepted
        assert s.lock_reports == [(1, True)]
        s.run(5)                                        # tried at every step, reported once
        assert s.lock_reports == [(1, True)]
        assert not s.hw.connectors[0].locked and s.hw.power_w == 0
        assert "Charging" not in [e["transactionInfo"].get("chargingState") for e in s.events]
        assert s.call("set_lock_failure", 1, False) == (True, None)
        assert s.lock_reports == [(1, True), (1, False)]
        assert s.hw.connectors[0].locked and s.hw.power_w > 0
        assert s.events[-1]["transactionInfo"]["chargingState"] == "Charging"

    def test_a_restarted_evse_still_reports_that_the_lock_works_again(self):
        s = Station()
        s.call("set_lock_failure", 1, True)
        s.session()
        r = s.restart(fresh_boot=False)                 # still jammed: nothing new to say
        assert r.lock_reports == []
        r.call("set_lock_failure", 1, False)
        assert r.lock_reports == [(1, False)]

    def test_an_unknown_connector_is_refused(self):
        s = Station()
        ok, error = s.call("set_lock_failure", 2, True)
        assert not ok and error


class TestStationStops:
    """B12.FR.04: a reset ends the transaction whatever the stop points say."""

    def test_end_transaction_before_an_immediate_reset(self):
        s = Station()
        s.session()
        s.call("end_transaction", "ImmediateReset", "ResetCommand")
        assert s.summary()[-1][0:3] == ("Ended", 2, "ResetCommand")
        assert s.summary()[-1][4] == "ImmediateReset"
        assert "idToken" not in s.events[-1] and not s.hw.enabled
        s.call("end_transaction", "ImmediateReset", "ResetCommand")     # nothing left to end
        assert len(s.events) == 3

    def test_transaction_found_after_a_remote_reset(self):
        s = Station()
        s.session()
        state = json.loads(json.dumps(s.saved))
        r = Station(saved=state, fresh_boot=True, now=s.now + timedelta(seconds=5))
        assert r.summary()[-1][2] == "AbnormalCondition"                # power loss
        core = EvseCore(1, {}, EvseState.load(1, 1, {}), hardware=simulated_hardware(1, 1),
                        id_generator=ids())
        intents = core.start(s.now, json.loads(json.dumps(state)), fresh_boot=True,
                             boot_reason="RemoteReset")
        assert any(isinstance(i, AnnounceStatus) for i in intents)     # the head: a status
        ended = list(core.lines.events.values())[-1]
        assert (ended.trigger_reason, ended.transaction_info.stopped_reason) == (
            "ResetCommand", "ImmediateReset")


class TestEvSideDisconnectSuspends:
    """E10: StopTxOnEVSideDisconnect false keeps the transaction and holds the cable."""

    def test_suspended_then_resumed(self):
        s = Station({"TxCtrlr.StopTxOnEVSideDisconnect": "false",
                     "TxCtrlr.TxStopPoint": "Authorized"})
        s.session()
        assert s.call("plug_out") == (True, None)                        # EV end only
        assert s.events[-1]["eventType"] == "Updated"
        assert s.events[-1]["transactionInfo"]["chargingState"] == "Idle"
        assert s.hw.connectors[0].locked and s.status == "Occupied"       # E10.FR.01
        s.call("plug_in", 1)                                             # the EV is back
        s.call("set_ev_state", "charging")
        assert s.summary()[-1][3] == "Charging" and s.hw.power_w > 0


class TestInvalidIdKeepsCharging:
    """E05.FR.02/03: StopTxOnInvalidId false and MaxEnergyOnInvalidId."""

    def test_charges_until_max_energy_then_suspends(self):
        s = Station({"TxCtrlr.StopTxOnInvalidId": "false",
                     "TxCtrlr.MaxEnergyOnInvalidId": "100"})
        s.session()
        tx_id = s.events[0]["transactionInfo"]["transactionId"]
        s.call("event_answered", tx_id, info({"status": "Invalid"}))
        assert s.hw.power_w > 0                                          # E05.FR.03
        s.run(20)                                                        # 22 kW: 100 Wh in 16 s
        assert s.summary()[-1][2:4] == ("ChargingStateChanged", "SuspendedEVSE")
        assert s.hw.power_w == 0 and not s.hw.enabled


class TestSeveralConnectors:
    def test_one_connector_at_a_time(self):
        s = Station(connectors=2)
        s.call("plug_in", 2)
        assert s.core.connector_statuses() == {1: "Available", 2: "Occupied"}  # G01.FR.08
        ok, error = s.call("plug_in", 1)
        assert not ok and "in use" in error
        s.call("present_token", CARD)
        assert s.events[0]["evse"] == {"id": 1, "connectorId": 2}
        assert s.call("unlock", 1) == "Unlocked"                         # not the one in use
        assert s.call("unlock", 2) == "OngoingAuthorizedTransaction"


class TestEndedMeterValues:
    def test_collected_values_survive_a_restart(self):
        # E06.FR.11: Begin, the TxEndedInterval samples, End; persisted across the restart.
        values = {"SampledDataCtrlr.TxEndedInterval": "10",
                  "SampledDataCtrlr.TxUpdatedInterval": "0"}
        s = Station(values)
        s.session()
        s.run(25)
        r = s.restart(fresh_boot=False, after=0.5, values=values)
        r.run(10)
        r.call("present_token", CARD)
        contexts = [v["sampledValue"][0]["context"] for v in r.events[-1]["meterValue"]]
        assert contexts == ["Transaction.Begin"] + ["Sample.Periodic"] * 3 + [
            "Transaction.End"]


class TestAvailability:
    """G03 (EVSE / connector), G04 (station), G01 statuses."""

    def test_inoperative_now_when_idle(self):
        s = Station()
        assert s.call("change_availability", None, "Inoperative") == "Accepted"
        assert s.availability_saved == [(0, "Inoperative")]                  # G03.FR.08
        assert s.statuses[-1] == (1, "Unavailable")                          # G03.FR.06
        ok, error = s.call("present_token", CARD)
        assert not ok and "Unavailable" in error
        assert s.call("change_availability", None, "Inoperative") == "Accepted"  # G03.FR.03
        assert s.call("change_availability", None, "Operative") == "Accepted"
        assert s.statuses[-1] == (1, "Available")                            # G03.FR.07

    def test_scheduled_while_a_transaction_runs(self):
        s = Station()
        s.session()
        assert s.call("change_availability", None, "Inoperative") == "Scheduled"  # G03.FR.05
        assert s.availability_saved == [] and s.status == "Occupied"
        assert s.hw.power_w > 0                                              # goes on
        s.call("plug_out")
        assert s.availability_saved == [(0, "Inoperative")]
        assert s.statuses[-1] == (1, "Unavailable")                          # G01.FR.05

    @pytest.mark.parametrize("connector_id", [None, 1], ids=["evse", "connector"])
    def test_operative_while_inoperative_is_scheduled_drops_it(self, connector_id):
        # G03.FR.03: the EVSE (connector) is still Operative while its Inoperative waits for
        # the transaction, so Operative is Accepted and the scheduled change is dropped.
        s = Station()
        s.session()
        assert s.call("change_availability", connector_id, "Inoperative") == "Scheduled"
        assert s.call("change_availability", connector_id, "Operative") == "Accepted"
        s.call("plug_out")
        assert s.availability_saved == [] and s.status == "Available"

    def test_station_operative_while_inoperative_is_scheduled_drops_it(self):
        # G04.FR.04/.08: the station's Inoperative waited for this EVSE's transaction; the
        # station is Operative again before it ended, so it never takes effect here.
        s = Station()
        s.session()
        s.call("station_availability", "Inoperative")
        assert s.status == "Occupied"
        s.call("station_availability", "Operative")
        s.call("plug_out")
        assert s.status == "Available"

    def test_scheduled_change_survives_a_restart(self):
        s = Station()
        s.session()
        s.call("change_availability", 1, "Inoperative")
        r = s.restart(fresh_boot=False)
        r.call("plug_out")
        assert r.availability_saved == [(1, "Inoperative")] and r.status == "Unavailable"

    def test_unknown_connector_is_rejected(self):
        assert Station().call("change_availability", 3, "Inoperative") == "Rejected"

    def test_station_inoperative(self):
        s = Station()
        s.call("station_availability", "Inoperative")
        assert s.status == "Unavailable"
        s.call("station_availability", "Operative")
        assert s.status == "Available"

    def test_station_inoperative_waits_for_the_transaction(self):
        s = Station()
        s.session()
        s.call("station_availability", "Inoperative")
        assert s.status == "Occupied" and s.hw.power_w > 0                  # G04.FR.06
        s.call("plug_out")
        assert s.status == "Unavailable"


class TestFaults:
    def test_fault_suspends_and_shows_faulted(self):
        s = Station()
        s.session()
        s.call("set_fault", True, "OverCurrent")
        assert s.status == "Faulted" and s.hw.power_w == 0
        assert s.summary()[-1][2:4] == ("ChargingStateChanged", "SuspendedEVSE")
        assert s.core.status(s.now)["faults"] == ["OverCurrent"]
        s.call("set_fault", False, "OverCurrent")
        assert s.status == "Occupied" and s.summary()[-1][3] == "Charging"

    def test_faulted_outranks_unavailable(self):
        s = Station(availability={(1, 0): "Inoperative"})
        s.call("set_fault", True, "GroundFault")
        assert s.statuses[-1] == (1, "Faulted")


class TestMetering:
    def test_idle_meter_values_at_aligned_boundaries(self):
        # J01.FR.14: every AlignedDataInterval while idle.
        s = Station({"AlignedDataCtrlr.Interval": "60"})
        s.run(125)
        assert len(s.meter_values) == 2
        assert s.meter_values[0]["meterValue"][0]["timestamp"] == "2025-01-01T12:01:00.000Z"

    def test_aligned_values_go_in_transaction_events(self):
        # J01.FR.22 / TC_J_02: during a transaction, MeterValueClock Updated events instead.
        s = Station({"AlignedDataCtrlr.Interval": "60", "SampledDataCtrlr.TxUpdatedInterval": "0"})
        s.session()
        s.run(60)
        assert s.meter_values == []
        assert "MeterValueClock" in [e[2] for e in s.summary()]

    def test_clock_aligned_events_carry_the_grid_time(self):
        # TC_J_02 post scenario: the TransactionEventRequest timestamps are AlignedDataInterval
        # apart; the ticks here land 0.37 s after each boundary.
        s = Station({"AlignedDataCtrlr.Interval": "60", "SampledDataCtrlr.TxUpdatedInterval": "0"})
        s.session()
        s.advance(0.37)
        s.run(130)
        clock = [e for e in s.events if e["triggerReason"] == "MeterValueClock"]
        assert [e["timestamp"] for e in clock] == \
            ["2025-01-01T12:01:00.000Z", "2025-01-01T12:02:00.000Z"]
        assert all(e["timestamp"] == e["meterValue"][0]["timestamp"] for e in clock)
        assert [e["seqNo"] for e in s.events] == list(range(len(s.events)))

    def test_periodic_events_carry_the_sample_time(self):
        # TC_J_09 post scenario: MeterValuePeriodic timestamps TxUpdatedInterval apart.
        s = Station({"SampledDataCtrlr.TxUpdatedInterval": "10"})
        s.session()
        s.advance(0.37)
        s.run(25)
        periodic = [e for e in s.events if e["triggerReason"] == "MeterValuePeriodic"]
        assert len(periodic) == 2
        assert all(e["timestamp"] == e["meterValue"][0]["timestamp"] for e in periodic)
        moments = [parse_ocpp_time(e["timestamp"]).timestamp() for e in periodic]
        assert moments[1] - moments[0] == 10

    def test_settings_change_at_runtime(self):
        s = Station()
        s.call("settings_changed", {"TxCtrlr.TxStartPoint": "EVConnected", "Bogus.X": "1"})
        assert s.core.settings.tx_start_points == {"EVConnected"}
        s.call("plug_in", 1)
        assert s.events[0]["triggerReason"] == "CablePluggedIn"

    def test_status_view(self):
        s = Station()
        s.session()
        s.run(10)
        view = s.core.status(s.now)
        assert view["transaction"]["seqNo"] == 2
        assert view["transaction"]["chargingState"] == "Charging"
        assert view["transaction"]["energy_wh"] > 0 and view["power_w"] == pytest.approx(22080)
        assert view["applied_limit"] is None and view["faults"] == []


class TestSettings:
    def test_defaults_are_component_configs(self):
        s = EvseSettings.from_values({})
        assert s.tx_start_points == {"PowerPathClosed"}
        assert s.tx_stop_points == {"EVConnected", "Authorized"}
        assert s.ev_connection_timeout_s == 120 and not s.authorize_remote_start

    def test_bad_values_keep_defaults(self):
        s = EvseSettings.from_values({"TxCtrlr.TxStartPoint": "Nonsense",
                                      "TxCtrlr.StopTxOnInvalidId": "maybe",
                                      "TxCtrlr.MaxEnergyOnInvalidId": "x"})
        assert s.tx_start_points == {"PowerPathClosed"}
        assert s.stop_tx_on_invalid_id and s.max_energy_on_invalid_id is None


# -- storage ---------------------------------------------------------------------------------------


class TestRepository:
    """storage.evse_repo on a real core database (migration 7 plus libocpp's TRANSACTIONS)."""

    @pytest.fixture
    def repo(self, tmp_path):
        path = tmp_path / "cp.db"
        open_database(path, CORE_MIGRATIONS).dispose()
        connection = lite.connect(path, CORE_MIGRATIONS)
        yield EvseRepository(connection)
        connection.close()

    def test_nothing_saved_yet(self, repo):
        assert repo.load(1) is None and repo.transaction(1) is None

    def test_state_and_transaction_row_round_trip(self, repo):
        row = TransactionRow("tx-1", 1, 1735732800000, 3, "Charging", True)
        repo.save(1, {"version": 1, "x": [1, 2]}, row, "2025-01-01T12:00:00.000Z")
        assert repo.load(1) == {"version": 1, "x": [1, 2]}
        assert repo.transaction(1) == row
        repo.save(1, {"version": 1}, None, "2025-01-01T12:00:01.000Z")
        assert repo.transaction(1) is None and repo.load(1) == {"version": 1}

    def test_a_new_transaction_replaces_the_row(self, repo):
        repo.save(2, {}, TransactionRow("a", 1, 0, 1, "Idle", False), "t")
        repo.save(2, {}, TransactionRow("b", 1, 0, 0, "EVConnected", False), "t")
        assert repo.transaction(2).transaction_id == "b"

    def test_core_state_is_storable(self, repo):
        s = Station()
        s.session()
        row = s.core._running_row(s.saved["tx"])
        repo.save(1, s.saved, row, "t")
        assert repo.load(1) == json.loads(json.dumps(s.saved))
        assert repo.transaction(1).seq_no == 2 and repo.transaction(1).id_tag_sent


class TestDeviceModelReader:
    def test_reads_the_seeded_device_model(self, tmp_path):
        from device_model.model import DeviceModel
        from messages.ocpp201 import ComponentType, VariableType
        path = tmp_path / "dm.db"
        dm = DeviceModel.open(path, PROJECT_DIR / "migrations" / "device_model",
                              PROJECT_DIR / "component_config", [1])
        dm.set_variable(ComponentType(name="TxCtrlr"), VariableType(name="TxStartPoint"), None,
                        "EVConnected")
        values = read_device_model(path, SETTINGS_KEYS)
        assert values["TxCtrlr.TxStartPoint"] == "EVConnected"
        assert values["AlignedDataCtrlr.Interval"] == "900"
        assert values["OCPPCommCtrlr.UnlockOnEVSideDisconnect"] == "true"
        assert values["TxCtrlr.MaxEnergyOnInvalidId"] == "0"              # E05.FR.02 at once
        settings = EvseSettings.from_values(values)
        assert settings.tx_start_points == {"EVConnected"}
        assert settings.max_energy_on_invalid_id == 0

    def test_reads_evse_tier_variables(self, tmp_path):
        from device_model.model import DeviceModel
        from station.evse_core import EVSE_TIER_KEYS, EVSE_TIER_PREFIX
        path = tmp_path / "dm.db"
        DeviceModel.open(path, PROJECT_DIR / "migrations" / "device_model",
                         evse_tier_component_config(tmp_path), [1, 1])
        tier = read_evse_tier(path, EVSE_TIER_KEYS, EVSE_TIER_PREFIX)
        assert tier == {1: {"evse:AlignedDataCtrlr.SendDuringIdle": "true"}}
        # The station tier is read apart: its value is not the EVSE's.
        assert read_device_model(path, SETTINGS_KEYS)["AlignedDataCtrlr.SendDuringIdle"] \
            == "false"
        assert EvseSettings.from_values(tier[1]).evse_send_during_idle is True

    def test_missing_or_empty_database_gives_nothing(self, tmp_path):
        assert read_device_model(tmp_path / "absent.db", SETTINGS_KEYS) == {}
        sqlite3.connect(tmp_path / "empty.db").close()
        assert read_device_model(tmp_path / "empty.db", SETTINGS_KEYS) == {}


class TestReservations:
    """H: the EVSE shows what the session's Reservations block tells it."""

    EXPIRY = "2025-01-01T13:00:00.000Z"

    def test_reserved_until_the_right_token(self):
        s = Station(auto_authorize=None)
        s.call("reservation_made", 7, CARD, None, self.EXPIRY)
        assert s.status == "Reserved"                                     # H01.FR.23
        assert s.statuses[-1] == (1, "Reserved")
        assert s.core.status(s.now)["reservation"] == {"id": 7, "id_token": "CARD-1",
                                                        "expiry": self.EXPIRY}
        assert s.call("plug_in", 1) == (True, None)
        assert s.status == "Reserved"                                     # G03.FR.09
        # Another token: the session says it may not charge here.
        assert s.call("present_token", IdTokenType(id_token="X", type="ISO14443")) == (True, None)
        s._take(s.core.token_authorized(s.now, s.auth_requests[-1].correlation_id, ACCEPTED,
                                        allowed=False))
        assert not s.core.tx.is_authorized and s.status == "Reserved"
        # The reserving token: allowed, and the reservation goes into the transaction.
        assert s.call("present_token", CARD) == (True, None)
        s._take(s.core.token_authorized(s.now, s.auth_requests[-1].correlation_id, ACCEPTED,
                                        reservation_id=7))
        assert s.core.tx.is_authorized
        assert s.status == "Occupied"                                     # H03.FR.10
        assert s.events[0]["reservationId"] == 7                          # H01.FR.15
        assert s.core.status(s.now)["reservation"] is None

    def test_faulted_wins_and_cleared_is_available(self):
        s = Station()
        s.call("held_for_reservations", True)
        assert s.status == "Reserved"                                     # H01.FR.20
        s.call("set_fault", True, "GroundFailure")
        assert s.status == "Faulted"
        s.call("set_fault", False, "GroundFailure")
        assert s.status == "Reserved"
        s.call("held_for_reservations", False)
        assert s.status == "Available"                                    # H02.FR.06
        s.call("reservation_made", 3, CARD, None, self.EXPIRY)
        s.call("reservation_cleared", 4)                                  # not this one
        assert s.status == "Reserved"
        s.call("reservation_cleared", 3)
        assert s.status == "Available"                                    # H02.FR.03

    def test_restarted_evse_shows_reserved_again(self):
        s = Station()
        s.call("reservation_made", 7, CARD, None, self.EXPIRY)
        again = s.restart(fresh_boot=False)
        assert again.statuses == [(1, "Reserved")]                        # B11.FR.05

    def test_remote_start_uses_the_reservation(self):
        s = Station()
        s.call("reservation_made", 7, CARD, None, self.EXPIRY)
        answer = s.call("remote_start", CARD, None, 5, 7)
        assert answer[0] == "Accepted"
        assert s.status == "Available"                                    # H03.FR.10
        s.call("plug_in", 1)
        assert s.events[0]["reservationId"] == 7


class TestParkingBay:
    """TxStartPoint / TxStopPoint ParkingBayOccupancy with the simulator's bay sensor
    (E01.FR.01, E06.FR.01; TC_E_12, TC_E_19)."""

    def test_a_vehicle_in_the_bay_starts_and_leaving_ends_the_transaction(self):
        s = Station({"TxCtrlr.TxStartPoint": "ParkingBayOccupancy",
                     "TxCtrlr.TxStopPoint": "ParkingBayOccupancy"}, parking_sensor=True)
        assert s.call("set_parking_bay", True) == (True, None)
        assert s.summary() == [("Started", 0, "EVDetected", "Idle", None)]
        s.session()
        assert s.call("plug_out") == (True, None)       # still in the bay: goes on
        assert s.events[-1]["eventType"] == "Updated"
        assert s.call("set_parking_bay", False) == (True, None)
        ended = s.summary()[-1]
        assert (ended[0], ended[2]) == ("Ended", "EVDeparted")
        assert s.events[-1]["transactionInfo"]["stoppedReason"] in ("EVDisconnected", "Local")
        assert len({e["transactionInfo"]["transactionId"] for e in s.events}) == 1

    def test_without_a_sensor_the_bay_is_refused(self):
        s = Station()
        ok, error = s.call("set_parking_bay", True)
        assert not ok and "parking-bay sensor" in error
        assert s.events == []


def evse_tier_component_config(tmp_path: Path) -> Path:
    """The shipped component config plus custom/AlignedDataCtrlr_EVSE1.json: an
    AlignedDataCtrlr on EVSE 1's tier with SendDuringIdle true."""
    import shutil
    root = tmp_path / "component_config"
    shutil.copytree(PROJECT_DIR / "component_config" / "standardized", root / "standardized")
    (root / "custom").mkdir()
    (root / "custom" / "AlignedDataCtrlr_EVSE1.json").write_text(json.dumps({
        "name": "AlignedDataCtrlr", "evse_id": 1, "type": "object",
        "properties": {"SendDuringIdle": {
            "variable_name": "SendDuringIdle",
            "characteristics": {"dataType": "boolean", "supportsMonitoring": True},
            "attributes": [{"type": "Actual", "mutability": "ReadWrite", "value": True}],
            "type": "boolean"}}}))
    return root


class TestEvseTierSendDuringIdle:
    """AlignedDataCtrlr.SendDuringIdle on this EVSE's tier (J01.FR.19) replaces the
    station's for this EVSE."""

    VALUES = {"AlignedDataCtrlr.Interval": "60", "SampledDataCtrlr.TxUpdatedInterval": "0",
              "AlignedDataCtrlr.SendDuringIdle": "false"}

    def clock_events(self, s: Station) -> list[dict]:
        return [e for e in s.events if e["triggerReason"] == "MeterValueClock"]

    def test_evse_tier_true_stops_clock_values_during_its_transaction(self):
        s = Station({**self.VALUES, "evse:AlignedDataCtrlr.SendDuringIdle": "true"})
        s.run(61)
        assert len(s.meter_values) == 1                        # idle: still sent
        s.session()
        s.run(125)
        assert self.clock_events(s) == [] and len(s.meter_values) == 1    # J01.FR.19

    def test_without_an_evse_tier_value_the_station_value_applies(self):
        s = Station(self.VALUES)
        s.session()
        s.run(125)
        assert len(self.clock_events(s)) == 2

    def test_changed_at_runtime_by_the_session(self):
        s = Station(self.VALUES)
        s.session()
        s.call("settings_changed", {"evse:AlignedDataCtrlr.SendDuringIdle": "true"})
        s.run(125)
        assert self.clock_events(s) == []
        assert s.core.settings.evse_send_during_idle is True


def test_station_wide_send_during_idle_holds_back_idle_values_while_another_evse_charges():
    # J01.FR.20: AlignedDataCtrlr.SendDuringIdle true on the station tier and a transaction on
    # another EVSE: this idle EVSE sends no clock-aligned MeterValues until it ends.
    s = Station({"AlignedDataCtrlr.Interval": "60", "AlignedDataCtrlr.SendDuringIdle": "true"})
    s.run(61)
    assert len(s.meter_values) == 1
    s.call("station_transactions", True)
    s.run(120)
    assert len(s.meter_values) == 1
    s.call("station_transactions", False)
    s.run(60)
    assert len(s.meter_values) == 2


class TestSignedMeterValues:
    """SignReadings with the simulated signing meter (J01.FR.21, J02.FR.21) and TxStartPoint
    DataSigned (E01.FR.04, E01(S4), TC_E_11)."""

    SIGNED = {"SampledDataCtrlr.SignReadings": "true", "SampledDataCtrlr.TxUpdatedInterval": "10",
              "SampledDataCtrlr.TxEndedInterval": "10"}

    @staticmethod
    def register_values(events: list[dict]) -> list[dict]:
        return [dict(sv, timestamp=mv["timestamp"]) for e in events
                for mv in e.get("meterValue", []) for sv in mv["sampledValue"]
                if sv["measurand"] == "Energy.Active.Import.Register"]

    def test_every_transaction_register_value_is_signed_by_this_evses_meter(self):
        s = Station(self.SIGNED)
        s.session()
        s.run(25)
        assert s.call("set_ev_state", "suspended") == (True, None)
        assert s.call("present_token", CARD) == (True, None)
        s.call("plug_out")
        assert s.events[-1]["eventType"] == "Ended"
        values = self.register_values(s.events)
        contexts = {v["context"] for v in values}
        assert {"Transaction.Begin", "Sample.Periodic", "Transaction.End"} <= contexts
        tx_id = s.events[0]["transactionInfo"]["transactionId"]
        keys = set()
        for value in values:
            payload = verify(value["signedMeterValue"])
            keys.add(value["signedMeterValue"]["publicKey"])
            assert (payload["value"], payload["context"], payload["timestamp"],
                    payload["transactionId"]) == (value["value"], value["context"],
                                                  value["timestamp"], tx_id)
        assert len(keys) == 1

    def test_off_no_signed_values(self):
        s = Station({"SampledDataCtrlr.TxUpdatedInterval": "10"})
        s.session()
        s.run(12)
        assert all("signedMeterValue" not in v for v in self.register_values(s.events))

    def test_switched_on_at_runtime(self):
        s = Station({"SampledDataCtrlr.TxUpdatedInterval": "10"})
        s.session()
        s.call("settings_changed", {"SampledDataCtrlr.SignReadings": "true"})
        s.run(12)
        periodic = [e for e in s.events if e["triggerReason"] == "MeterValuePeriodic"]
        assert "signedMeterValue" in self.register_values(periodic)[0]

    def test_idle_clock_values_signed_without_a_transaction(self):
        s = Station({"AlignedDataCtrlr.Interval": "60", "AlignedDataCtrlr.SignReadings": "true"})
        s.run(61)
        [value] = [sv for mv in s.meter_values[0]["meterValue"] for sv in mv["sampledValue"]]
        payload = verify(value["signedMeterValue"])
        assert payload["context"] == "Sample.Clock" and payload["transactionId"] is None

    def test_triggered_meter_values_follow_aligned_sign_readings(self):
        s = Station({"AlignedDataCtrlr.SignReadings": "true"})
        s.call("trigger", "MeterValues")
        [value] = s.meter_values[0]["meterValue"][0]["sampledValue"]
        assert verify(value["signedMeterValue"])["context"] == "Trigger"

    def test_the_key_outlives_an_evse_restart(self):
        s = Station(self.SIGNED)
        s.session()
        s.run(11)
        before = self.register_values(s.events)[-1]["signedMeterValue"]["publicKey"]
        again = s.restart(fresh_boot=False, signing_meter=True)
        again._take(again.core.settings_changed(again.now, self.SIGNED))
        again.run(11)
        after = self.register_values(again.events)[-1]["signedMeterValue"]["publicKey"]
        assert after == before

    def test_datasigned_starts_on_the_first_signed_reading_after_plug_in_and_card(self):
        # TC_E_11: Authorized first, then the EV: Started SignedDataReceived with a signed
        # Transaction.Begin value, then Updated ChargingStateChanged Charging.
        s = Station({"TxCtrlr.TxStartPoint": "DataSigned",
                     "SampledDataCtrlr.SignReadings": "true"})
        assert s.call("present_token", CARD) == (True, None)
        assert s.events == []
        assert s.call("plug_in", 1) == (True, None)
        assert s.call("set_ev_state", "charging") == (True, None)
        started = s.events[0]
        assert (started["eventType"], started["triggerReason"]) == ("Started",
                                                                    "SignedDataReceived")
        assert started["evse"] == {"id": 1, "connectorId": 1}
        assert started["idToken"] == to_wire(CARD)
        [begin] = self.register_values([started])
        assert begin["context"] == "Transaction.Begin"
        assert verify(begin["signedMeterValue"])["transactionId"] == \
            started["transactionInfo"]["transactionId"]
        # (the EV asked for energy only after plug-in: SuspendedEV in between, TC_E_38)
        assert s.summary()[-1] == ("Updated", 2, "ChargingStateChanged", "Charging", None)
        assert s.hw.power_w > 0

    def test_datasigned_waits_for_the_ev_and_the_driver(self):
        s = Station({"TxCtrlr.TxStartPoint": "DataSigned",
                     "SampledDataCtrlr.SignReadings": "true"})
        s.call("plug_in", 1)
        s.run(3)
        assert s.events == [] and s.hw.power_w == 0

    @pytest.mark.parametrize("values,signing_meter", [
        ({"SampledDataCtrlr.SignReadings": "false"}, True),    # E01.FR.04: SignReadings true
        ({"SampledDataCtrlr.SignReadings": "true"}, False),    # a meter that cannot sign
    ])
    def test_datasigned_never_starts_without_signing(self, values, signing_meter):
        s = Station({"TxCtrlr.TxStartPoint": "DataSigned", **values},
                    signing_meter=signing_meter)
        s.session()
        s.run(3)
        assert s.events == [] and s.hw.power_w == 0

    def test_the_first_signature_is_saved_even_without_an_event(self):
        # Idle clock values are MeterValues, not TransactionEvents; the key must still be
        # saved, or a restarted Evse would sign with a key nobody has seen.
        s = Station({"AlignedDataCtrlr.Interval": "60", "AlignedDataCtrlr.SignReadings": "true"})
        s.run(61)
        key = s.meter_values[0]["meterValue"][0]["sampledValue"][0]["signedMeterValue"]
        again = s.restart(fresh_boot=False)
        again._take(again.core.settings_changed(again.now, {
            "AlignedDataCtrlr.Interval": "60", "AlignedDataCtrlr.SignReadings": "true"}))
        again.run(61)
        later = again.meter_values[0]["meterValue"][0]["sampledValue"][0]["signedMeterValue"]
        assert later["publicKey"] == key["publicKey"]
        assert verify(later)["counter"] == verify(key)["counter"] + 1

    def keys_sent(self, policy: str) -> list[list[str]]:
        """Per transaction, the publicKey of each signed register value, in sending order."""
        s = Station({**self.SIGNED, "OCPPCommCtrlr.PublicKeyWithSignedMeterValue": policy})
        per_transaction = []
        for _ in range(2):
            first = len(s.events)
            s.session()
            s.run(21)
            s.call("set_ev_state", "suspended")
            s.call("present_token", CARD)
            s.call("plug_out")
            values = self.register_values(s.events[first:])
            per_transaction.append([v["signedMeterValue"]["publicKey"] for v in values])
            for value in values:          # a value without its key verifies with the known one
                verify(value["signedMeterValue"], public_key=self.meter_key(s))
        return per_transaction

    @staticmethod
    def meter_key(s: "Station") -> str:
        return s.core.hw.read_meter(s.now.timestamp(), SignRequest("t", "Other")).signed.public_key

    def test_public_key_with_every_meter_value_by_default(self):
        for keys in self.keys_sent("EveryMeterValue"):
            assert len(keys) >= 4 and all(keys)

    def test_public_key_never(self):
        # part 2 §2.7.17: the field is required, so it is present and empty.
        for keys in self.keys_sent("Never"):
            assert len(keys) >= 4 and set(keys) == {""}

    def test_public_key_once_per_transaction(self):
        for keys in self.keys_sent("OncePerTransaction"):
            assert len(keys) >= 4 and keys[0] and set(keys[1:]) == {""}


class TestTypedAnswers:
    """Issue #9: the core answers and announces with the generated StrEnums, and what it saves
    keeps the wire text (the AVAILABILITY rows: tests/unit/test_availability_repo.py)."""

    def test_answers_and_statuses_are_members_of_the_spec_enums(self):
        s = Station()
        assert s.call("unlock", 9) is UnlockStatusEnumType.unknown_connector
        assert (s.call("change_availability", 3, OperationalStatusEnumType.inoperative)
                is ChangeAvailabilityStatusEnumType.rejected)
        assert s.call("remote_stop", "nobody") is RequestStartStopStatusEnumType.rejected
        status, _, _ = s.call("remote_start", CARD, None, 1)
        assert status is RequestStartStopStatusEnumType.accepted
        assert s.statuses and all(type(status) is ConnectorStatusEnumType
                                  for _, status in s.statuses)

    def test_a_scheduled_change_is_saved_as_its_wire_value(self):
        s = Station()
        s.session()
        inoperative = OperationalStatusEnumType.inoperative
        assert s.call("change_availability", 1, inoperative) == "Scheduled"
        assert json.loads(json.dumps(s.saved))["scheduled"] == {"1": "Inoperative"}   # G03.FR.05
