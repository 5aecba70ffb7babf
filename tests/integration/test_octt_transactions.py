"""OCTT test cases of blocks E (Transactions), F (Remote control) and G (Availability),
Charging Station side, against the real station.

Every test is one OCTT case of part 6, named after it, and asserts that case's tool validations.
The station is the real one (``run.py``, multiprocTCPBase, real websocket) with its own identity
(``OCTT-E``); the OCTT is played by the test CSMS ``simulators.csms.CsmsServer`` on 127.0.0.1,
which answers Authorize and TransactionEvent with idTokenInfo Accepted. The "Manual Actions" of
the cases (connect the EV, present a card, the EV starts charging...) are done through the
station's control API (``/api/evses/{id}/...``).

All cases share one station and run in file order; each sets the configuration state it needs
with SetVariables, restores it afterwards, and leaves EVSE 1 Available without a transaction.
"""
from __future__ import annotations

import itertools
import time
from datetime import datetime

import pytest

from simulators.csms import CsmsServer
from simulators.meter_signing import verify
from station.evse_core import SETTINGS_KEYS

from tests.integration.octt import evses_told, settled
from tests.integration.test_station import api_port, http

pytestmark = pytest.mark.integration

IDENTITY = "OCTT-E"
EVSE_ID = 1                                     # <Configured evseId>
CONNECTOR_ID = 1                                # <Configured connectorId>
CONNECTORS = ((1, 1), (2, 1))                   # every (evseId, connectorId) of the station
ID_TOKEN = {"idToken": "OCTT0001", "type": "ISO14443"}   # <Configured valid_idtoken_*>
DEFAULT_START_POINT = "PowerPathClosed"         # TxCtrlr.TxStartPoint as shipped
DEFAULT_STOP_POINT = "EVConnected,Authorized"   # TxCtrlr.TxStopPoint as shipped

_remote_start_ids = itertools.count(501)


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def station(csms, start_station):
    process = start_station(IDENTITY)
    # Part 6 §2.1, general precondition of every CS case.
    configure(csms, "AuthCtrlr", "LocalPreAuthorize", "false")
    return process


@pytest.fixture(scope="module")
def evse(station) -> str:
    """Base URL of the control API of <Configured evseId>."""
    return f"http://127.0.0.1:{api_port(station)}/api/evses/{EVSE_ID}"


@pytest.fixture
def idle(csms, station, evse):
    """Every case starts and ends with EVSE 1 Available, without transaction, default points."""
    yield
    http("POST", f"{evse}/ev", {"state": "suspended"})
    http("POST", f"{evse}/plug-out")
    deadline = time.monotonic() + 15
    while True:
        view = http("GET", evse)[1]
        if view.get("transaction") is None and \
                view.get("connectors", [{}])[0].get("status") == "Available":
            break
        assert time.monotonic() < deadline, f"EVSE {EVSE_ID} did not return to idle: {view}"
        time.sleep(0.1)
    # ...and the CSMS has been told so (G01.FR.01): the last status it got for EVSE 1 is
    # Available, so the next case's Occupied is a change the station must report.
    deadline = time.monotonic() + 10
    while True:
        reports = [r.payload for r in csms.received("StatusNotification", IDENTITY)
                   if r.payload["evseId"] == EVSE_ID]
        if reports[-1]["connectorStatus"] == "Available":
            break
        assert time.monotonic() < deadline, \
            f"EVSE {EVSE_ID} Available not reported to the CSMS: {reports[-3:]}"
        time.sleep(0.1)
    configure(csms, "TxCtrlr", "TxStartPoint", DEFAULT_START_POINT)
    configure(csms, "TxCtrlr", "TxStopPoint", DEFAULT_STOP_POINT)


def configure(csms: CsmsServer, component: str, variable: str, value: str) -> None:
    """Part 6 "Configuration State": set a variable; it must be Accepted."""
    result = csms.call(IDENTITY, "SetVariables", {"setVariableData": [{
        "component": {"name": component}, "variable": {"name": variable},
        "attributeValue": value}]})["setVariableResult"][0]
    assert result["attributeStatus"] == "Accepted", \
        f"configuration state {component}.{variable}={value} not applied: {result}"
    if f"{component}.{variable}" in SETTINGS_KEYS:
        evses_told(csms, IDENTITY)


def post(url: str, body: dict | None = None) -> None:
    status, answer = http("POST", url, body if body is not None else {})
    assert status == 200, answer


def wait_tx(csms: CsmsServer, after: int, timeout: float = 15, **fields) -> dict:
    """The first TransactionEvent after ``after`` whose fields (and transactionInfo fields
    given as ``chargingState`` / ``stoppedReason``) match."""
    info_keys = {"chargingState", "stoppedReason", "transactionId"}

    def match(p: dict) -> bool:
        for key, value in fields.items():
            source = p.get("transactionInfo", {}) if key in info_keys else p
            if source.get(key) != value:
                return False
        return True
    return csms.wait_for("TransactionEvent", identity=IDENTITY, after=after, timeout=timeout,
                         predicate=match)


def transaction_events(csms: CsmsServer, transaction_id: str) -> list[dict]:
    return [r.payload for r in csms.received("TransactionEvent", IDENTITY)
            if r.payload["transactionInfo"]["transactionId"] == transaction_id]


def assert_seq_continuous(csms: CsmsServer, transaction_id: str) -> None:
    """E01.FR.15/16 (seqNo starts at 0 and increases by 1 per TransactionEvent)."""
    events = transaction_events(csms, transaction_id)
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    assert events[0]["eventType"] == "Started"


def wait_connector_status(csms: CsmsServer, after: int, status: str, evse_id: int = EVSE_ID,
                          timeout: float = 15) -> dict:
    return csms.wait_for("StatusNotification", identity=IDENTITY, after=after, timeout=timeout,
                         predicate=lambda p: p["evseId"] == evse_id
                         and p["connectorStatus"] == status)


def wait_availability_event(csms: CsmsServer, after: int, value: str, component: str = "Connector",
                            evse_id: int | None = EVSE_ID, timeout: float = 15) -> dict:
    """NotifyEventRequest: trigger Delta, actualValue, component, variable AvailabilityState."""
    def match(p: dict) -> bool:
        for event in p["eventData"]:
            if (event["trigger"] == "Delta" and event["actualValue"] == value
                    and event["component"]["name"] == component
                    and event["variable"]["name"] == "AvailabilityState"
                    and (evse_id is None
                         or event["component"].get("evse", {}).get("id") == evse_id)):
                return True
        return False
    return csms.wait_for("NotifyEvent", identity=IDENTITY, after=after, timeout=timeout,
                         predicate=match)


def assert_occupied_reported(csms: CsmsServer, after: int) -> None:
    """Tool validation "StatusNotificationRequest connectorStatus Occupied / NotifyEventRequest
    Delta Occupied Connector AvailabilityState"."""
    status = wait_connector_status(csms, after, "Occupied")
    assert status["connectorId"] == CONNECTOR_ID
    wait_availability_event(csms, after, "Occupied")


def authorize_locally(csms: CsmsServer, evse: str) -> None:
    """Reusable state Authorized (local): present <Configured valid_idtoken>; Authorize."""
    mark = csms.mark()
    post(f"{evse}/token", {"id_token": ID_TOKEN["idToken"], "type": ID_TOKEN["type"]})
    request = csms.wait_for("Authorize", identity=IDENTITY, after=mark, timeout=10)
    assert request["idToken"] == ID_TOKEN


def ev_state_reported(csms: CsmsServer, evse: str, ev_state: str, charging_state: str) -> dict:
    """The EV changes ``ev_state``; the ChargingStateChanged event it causes."""
    mark = csms.mark()
    post(f"{evse}/ev", {"state": ev_state})
    event = wait_tx(csms, mark, chargingState=charging_state)
    assert event["triggerReason"] == "ChargingStateChanged"
    return event


def energy_transfer_started(csms: CsmsServer, evse: str) -> dict:
    """Reusable state EnergyTransferStarted: the EV starts charging; returns the event."""
    return ev_state_reported(csms, evse, "charging", "Charging")


# --------------------------------------------------------------------------------------------
# E: start and stop points
# --------------------------------------------------------------------------------------------


def test_tc_e_09_start_point_ev_connected(csms, station, evse, idle):
    """TC_E_09_CS: Start transaction options - EVConnected (E01.FR.02, E01.FR.07, .10, .15,
    .16)."""
    configure(csms, "TxCtrlr", "TxStartPoint", "EVConnected")
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    assert_occupied_reported(csms, mark)                                           # step 1
    started = wait_tx(csms, mark, eventType="Started")                             # step 3
    assert started["triggerReason"] in ("CablePluggedIn", "ChargingStateChanged")
    assert started["evse"]["id"] == EVSE_ID
    assert started["evse"]["connectorId"] == CONNECTOR_ID
    assert started["transactionInfo"]["chargingState"] == "EVConnected"
    assert started["seqNo"] == 0


def first_record(csms: CsmsServer, action: str, after: int, match) -> int:
    """The position in the CSMS's record of the first ``action`` after ``after`` that
    ``match``es."""
    return next(r.seq for r in csms.received(action, IDENTITY)
                if r.seq > after and match(r.payload))


def test_plug_in_reports_occupied_before_the_started_event(csms, station, evse, idle):
    """Issue #9: at plug-in with TxStartPoint EVConnected the CSMS gets StatusNotification
    Occupied, then TransactionEvent Started (the E02 figure, E02.FR.05), every time: the Evse
    sends statuses and events on one line, the status of a step first. Five plug-ins in one
    station, to catch the race the two lines had."""
    configure(csms, "TxCtrlr", "TxStartPoint", "EVConnected")
    for _ in range(5):
        mark = csms.mark()
        post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
        wait_connector_status(csms, mark, "Occupied")
        wait_tx(csms, mark, eventType="Started")
        occupied = first_record(csms, "StatusNotification", mark,
                                lambda p: p["evseId"] == EVSE_ID
                                and p["connectorStatus"] == "Occupied")
        started = first_record(csms, "TransactionEvent", mark,
                               lambda p: p["eventType"] == "Started")
        assert occupied < started, "TransactionEvent Started reached the CSMS before Occupied"
        mark = csms.mark()
        post(f"{evse}/plug-out")
        wait_tx(csms, mark, eventType="Ended")                      # EVConnected stop point
        wait_connector_status(csms, mark, "Available")


def test_tc_e_01_start_point_power_path_closed(csms, station, evse, idle):
    """TC_E_01_CS: Start transaction options - PowerPathClosed (E01.FR.05, E01.FR.07, .10,
    .15, .16). Reusable state Authorized, then the EV and EVSE are connected."""
    configure(csms, "TxCtrlr", "TxStartPoint", "PowerPathClosed")
    authorize_locally(csms, evse)
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    assert_occupied_reported(csms, mark)
    started = wait_tx(csms, mark, eventType="Started")
    assert started["triggerReason"] in ("CablePluggedIn", "ChargingStateChanged", "Authorized")
    assert started["idToken"] == ID_TOKEN
    assert started["evse"]["id"] == EVSE_ID
    assert started["evse"]["connectorId"] == CONNECTOR_ID
    assert started["transactionInfo"]["chargingState"] in ("EVConnected", "SuspendedEV",
                                                          "SuspendedEVSE")
    assert started["seqNo"] == 0


def test_tc_e_02_start_point_energy_transfer(csms, station, evse, idle):
    """TC_E_02_CS: Start transaction options - EnergyTransfer (E01.FR.06, E01.FR.07, .10,
    .15, .16). Reusable state Authorized; connect; the EV draws energy."""
    configure(csms, "TxCtrlr", "TxStartPoint", "EnergyTransfer")
    authorize_locally(csms, evse)
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    assert_occupied_reported(csms, mark)                                           # step 1
    settled(csms, IDENTITY, EVSE_ID)
    assert not [r for r in csms.received("TransactionEvent", IDENTITY) if r.seq > mark], \
        "a transaction started before the energy transfer"
    post(f"{evse}/ev", {"state": "charging"})
    started = wait_tx(csms, mark, eventType="Started")                             # step 3
    assert started["triggerReason"] in ("ChargingStateChanged", "Authorized")
    assert started["idToken"] == ID_TOKEN
    assert started["evse"]["id"] == EVSE_ID
    assert started["evse"]["connectorId"] == CONNECTOR_ID
    assert started["transactionInfo"]["chargingState"] == "Charging"
    assert started["seqNo"] == 0


def test_tc_e_03_local_start_cable_plugin_first(csms, station, evse, idle):
    """TC_E_03_CS: Local start transaction - Cable plugin first - Success (E02.FR.01...,
    C01.FR.02). EVConnectedPreSession, then the card, then energy transfer."""
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    assert_occupied_reported(csms, mark)
    mark = csms.mark()
    post(f"{evse}/token", {"id_token": ID_TOKEN["idToken"], "type": ID_TOKEN["type"]})
    authorize = csms.wait_for("Authorize", identity=IDENTITY, after=mark, timeout=10)
    assert authorize["idToken"] == ID_TOKEN
    started = wait_tx(csms, mark, eventType="Started")
    assert started["triggerReason"] == "Authorized"
    assert started["idToken"] == ID_TOKEN
    assert started["evse"]["id"] == EVSE_ID
    charging = energy_transfer_started(csms, evse)
    assert charging["eventType"] == "Updated"
    transaction_id = started["transactionInfo"]["transactionId"]
    assert charging["transactionInfo"]["transactionId"] == transaction_id
    assert_seq_continuous(csms, transaction_id)


def test_tc_e_15_stop_point_stop_authorized_local(csms, station, evse, idle):
    """TC_E_15_CS: Stop transaction options - StopAuthorized - Local (E06.FR.03, E06.FR.15)."""
    configure(csms, "TxCtrlr", "TxStopPoint", "Authorized")
    authorize_locally(csms, evse)
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    charging = energy_transfer_started(csms, evse)
    transaction_id = charging["transactionInfo"]["transactionId"]
    mark = csms.mark()
    post(f"{evse}/token", {"id_token": ID_TOKEN["idToken"], "type": ID_TOKEN["type"]})
    ended = wait_tx(csms, mark, eventType="Ended")                                 # step 1
    assert ended["triggerReason"] == "StopAuthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    assert_seq_continuous(csms, transaction_id)


def test_tc_e_20_stop_point_ev_disconnected(csms, station, evse, idle):
    """TC_E_20_CS: Stop transaction options - EVDisconnected - EV side (E06.FR.02, E06.FR.15).
    StopTxOnEVSideDisconnect is ReadOnly true on this station (allowed by the prerequisite)."""
    configure(csms, "TxCtrlr", "TxStopPoint", "EVConnected")
    authorize_locally(csms, evse)
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    energy_transfer_started(csms, evse)
    post(f"{evse}/ev", {"state": "suspended"})               # EnergyTransferSuspended
    mark = csms.mark()
    post(f"{evse}/plug-out")
    ended = wait_tx(csms, mark, eventType="Ended")
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["chargingState"] == "Idle"
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert_seq_continuous(csms, ended["transactionInfo"]["transactionId"])


@pytest.fixture
def settings(csms):
    """``settings(component, variable, value)``: a Configuration State restored after the case
    to the value it had before."""
    restore: list[tuple[str, str, str]] = []

    def apply(component: str, variable: str, value: str) -> None:
        result = csms.call(IDENTITY, "GetVariables", {"getVariableData": [{
            "component": {"name": component}, "variable": {"name": variable}}]})
        restore.append((component, variable, result["getVariableResult"][0]["attributeValue"]))
        configure(csms, component, variable, value)
    yield apply
    for component, variable, value in reversed(restore):
        configure(csms, component, variable, value)


def present_token(evse: str) -> None:
    post(f"{evse}/token", {"id_token": ID_TOKEN["idToken"], "type": ID_TOKEN["type"]})


def energy_transfer_started_state(csms: CsmsServer, evse: str) -> str:
    """Reusable state EnergyTransferStarted from idle (card, cable, EV charges); returns the
    transactionId."""
    authorize_locally(csms, evse)
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    return energy_transfer_started(csms, evse)["transactionInfo"]["transactionId"]


def energy_transfer_suspended(csms: CsmsServer, evse: str) -> dict:
    """Reusable state EnergyTransferSuspended: the EV stops taking energy (SuspendedEV)."""
    return ev_state_reported(csms, evse, "suspended", "SuspendedEV")


def assert_available_reported(csms: CsmsServer, after: int) -> None:
    """Tool validation "StatusNotificationRequest connectorStatus Available / NotifyEventRequest
    Delta Available Connector AvailabilityState"."""
    status = wait_connector_status(csms, after, "Available")
    assert status["connectorId"] == CONNECTOR_ID
    wait_availability_event(csms, after, "Available")


def test_tc_e_04_local_start_authorization_first(csms, station, evse, idle):
    """TC_E_04_CS: Local start transaction - Authorization first - Success (E03.FR.01, .06,
    .12, E01.FR.16): Authorized (local), then EnergyTransferStarted."""
    authorize_locally(csms, evse)
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    started = wait_tx(csms, mark, eventType="Started")
    assert started["idToken"] == ID_TOKEN                                          # E03.FR.01
    assert started["evse"] == {"id": EVSE_ID, "connectorId": CONNECTOR_ID}         # E01.FR.16
    charging = energy_transfer_started(csms, evse)
    assert_seq_continuous(csms, charging["transactionInfo"]["transactionId"])


def test_tc_e_10_start_point_authorized_local(csms, station, evse, idle):
    """TC_E_10_CS: Start transaction options - Authorized - Local (E01.FR.03): the card alone
    starts the transaction."""
    configure(csms, "TxCtrlr", "TxStartPoint", "Authorized")
    mark = csms.mark()
    present_token(evse)
    authorize = csms.wait_for("Authorize", identity=IDENTITY, after=mark, timeout=10)
    assert authorize["idToken"] == ID_TOKEN                                         # step 1
    started = wait_tx(csms, mark, eventType="Started")                             # step 3
    assert started["triggerReason"] == "Authorized"
    assert started["idToken"] == ID_TOKEN
    present_token(evse)                       # clean-up: the same card ends the authorization
    wait_tx(csms, mark, eventType="Ended")


def test_tc_e_13_start_point_authorized_remote(csms, station, evse, idle):
    """TC_E_13_CS: Start transaction options - Authorized - Remote (E01.FR.03, F01.FR.19,
    F01.FR.25)."""
    configure(csms, "TxCtrlr", "TxStartPoint", "Authorized")
    mark = csms.mark()
    remote_start_id, _ = remote_start(csms)                                        # step 2
    started = wait_tx(csms, mark, eventType="Started")                             # step 5
    assert started["triggerReason"] == "RemoteStart"
    assert started["idToken"] == ID_TOKEN
    assert started["transactionInfo"]["remoteStartId"] == remote_start_id
    assert csms.call(IDENTITY, "RequestStopTransaction", {
        "transactionId": started["transactionInfo"]["transactionId"]}) == {"status": "Accepted"}
    wait_tx(csms, mark, eventType="Ended")


EV_CONNECTION_TIMEOUT = 2                       # <Configured ev_connection_timeout>


def authorized_until_the_connection_timeout(csms: CsmsServer, evse: str) -> None:
    """A driver is authorized and no cable comes: EVConnectionTimeOut ends the transaction
    (TxStartPoint Authorized): Ended, EVConnectTimeout, stoppedReason Timeout (E03.FR.05)."""
    authorize_locally(csms, evse)
    mark = csms.mark()
    ended = wait_tx(csms, mark, eventType="Ended", timeout=EV_CONNECTION_TIMEOUT + 10)
    assert ended["triggerReason"] == "EVConnectTimeout"
    assert ended["transactionInfo"]["stoppedReason"] == "Timeout"


def test_tc_e_05_authorization_first_cable_plugin_timeout(csms, station, evse, idle, settings):
    """TC_E_05_CS: Local start transaction - Authorization first - Cable plugin timeout
    (E03.FR.05, C01.FR.26). TxStartPoint Authorized, so the transaction started and the timeout
    ends it: EVConnectTimeout, Ended, stoppedReason Timeout (TxStopPoint contains Authorized);
    then the EVSE is ready for the next session."""
    settings("TxCtrlr", "EVConnectionTimeOut", str(EV_CONNECTION_TIMEOUT))
    configure(csms, "TxCtrlr", "TxStartPoint", "Authorized")
    authorized_until_the_connection_timeout(csms, evse)                            # step 1
    authorize_locally(csms, evse)                                                  # step 3
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    energy_transfer_started(csms, evse)                                            # step 4


def test_tc_e_39_stop_deauthorized_timeout(csms, station, evse, idle, settings):
    """TC_E_39_CS: Stop transaction options - Deauthorized - timeout (E06.FR.04): after the
    EVConnectionTimeOut the authorization is gone; a cable plugged in later may be reported
    (CablePluggedIn) but must not charge."""
    settings("TxCtrlr", "EVConnectionTimeOut", str(EV_CONNECTION_TIMEOUT))
    configure(csms, "TxCtrlr", "TxStartPoint", "Authorized")
    configure(csms, "TxCtrlr", "TxStopPoint", "Authorized")
    authorized_until_the_connection_timeout(csms, evse)                            # step 1
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    post(f"{evse}/ev", {"state": "charging"})
    settled(csms, IDENTITY, EVSE_ID)
    for event in [r.payload for r in csms.received("TransactionEvent", IDENTITY)
                  if r.seq > mark]:                                                # step 3
        assert event["triggerReason"] == "CablePluggedIn"
        assert event["transactionInfo"].get("chargingState") != "Charging"
    view = http("GET", evse)[1]
    assert view["transaction"] is None or view["transaction"]["power_w"] == 0


def test_tc_e_06_local_stop_transaction(csms, station, evse, idle):
    """TC_E_06_CS: Local Stop Transaction - Accepted (E06, E07): StopAuthorized (local),
    EVConnectedPostSession, EVDisconnect."""
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    present_token(evse)                                          # StopAuthorized (local)
    ended = wait_tx(csms, mark, eventType="Ended")
    assert ended["triggerReason"] == "StopAuthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["idToken"] == ID_TOKEN                                            # E07.FR.02
    mark = csms.mark()
    post(f"{evse}/plug-out")                                     # EVDisconnect
    assert_available_reported(csms, mark)
    assert_seq_continuous(csms, transaction_id)


def test_tc_e_07_stop_point_power_path_closed_local(csms, station, evse, idle):
    """TC_E_07_CS: Stop transaction options - PowerPathClosed - Local stop (E06.FR.06)."""
    configure(csms, "TxCtrlr", "TxStopPoint", "PowerPathClosed")
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    present_token(evse)
    ended = wait_tx(csms, mark, eventType="Ended")
    assert ended["triggerReason"] == "StopAuthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert_seq_continuous(csms, transaction_id)


def test_tc_e_08_stop_point_energy_transfer_stop_authorized(csms, station, evse, idle):
    """TC_E_08_CS: Stop transaction options - EnergyTransfer stopped - StopAuthorized
    (E06.FR.07): the card stops the energy, and that ends the transaction, stoppedReason
    Local (what began the stop)."""
    configure(csms, "TxCtrlr", "TxStopPoint", "EnergyTransfer")
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    present_token(evse)
    ended = wait_tx(csms, mark, eventType="Ended")
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    assert_seq_continuous(csms, transaction_id)


def test_tc_e_22_stop_point_energy_transfer_suspended_ev(csms, station, evse, idle):
    """TC_E_22_CS: Stop transaction options - EnergyTransfer stopped - SuspendedEV (E06.FR.07):
    the EV stops taking energy; ChargingStateChanged, stoppedReason StoppedByEV, Ended.

    The tool validation is ambiguous about the chargingState of the Ended event ("EVConnected
    + OR SuspendedEV"); the station reports the state the EV is in, SuspendedEV."""
    configure(csms, "TxCtrlr", "TxStopPoint", "EnergyTransfer")
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    post(f"{evse}/ev", {"state": "suspended"})
    ended = wait_tx(csms, mark, eventType="Ended")
    assert ended["triggerReason"] == "ChargingStateChanged"
    assert ended["transactionInfo"]["chargingState"] in ("EVConnected", "SuspendedEV")
    assert ended["transactionInfo"]["stoppedReason"] == "StoppedByEV"
    assert_seq_continuous(csms, transaction_id)


@pytest.mark.parametrize("stop_point", ["PowerPathClosed", "Authorized"],
                         ids=["TC_E_35_CS", "TC_E_21_CS"])
def test_tc_e_35_e_21_remote_stop(csms, station, evse, idle, stop_point):
    """TC_E_35_CS (TxStopPoint PowerPathClosed) and TC_E_21_CS (Authorized): Stop transaction
    options - Remote stop (F03.FR.03): Accepted, Ended RemoteStop / Remote."""
    configure(csms, "TxCtrlr", "TxStopPoint", stop_point)
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    assert csms.call(IDENTITY, "RequestStopTransaction", {"transactionId": transaction_id}) \
        == {"status": "Accepted"}                                                  # step 2
    ended = wait_tx(csms, mark, eventType="Ended")                                 # step 3
    assert ended["triggerReason"] == "RemoteStop"
    assert ended["transactionInfo"]["stoppedReason"] == "Remote"
    assert_seq_continuous(csms, transaction_id)


def test_tc_e_37_stop_point_power_path_closed_ev_side_disconnect(csms, station, evse, idle):
    """TC_E_37_CS: Stop transaction options - PowerPathClosed - EV side disconnect (E06.FR.06,
    E09): from EnergyTransferSuspended, the EV side of the cable is pulled: Ended
    EVCommunicationLost, Idle, EVDisconnected."""
    configure(csms, "TxCtrlr", "TxStopPoint", "PowerPathClosed")
    transaction_id = energy_transfer_started_state(csms, evse)
    energy_transfer_suspended(csms, evse)
    mark = csms.mark()
    post(f"{evse}/plug-out")
    ended = wait_tx(csms, mark, eventType="Ended")
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["chargingState"] == "Idle"
    assert ended["transactionInfo"]["stoppedReason"] in ("EVDisconnected", "StoppedByEV")
    assert_seq_continuous(csms, transaction_id)


def test_tc_e_14_stop_point_ev_disconnected_station_side(csms, station, evse, idle):
    """TC_E_14_CS: Stop transaction options - EVDisconnected - Charging Station side
    (E06.FR.02): from EVConnectedPostSession (the card stopped the authorization, which is no
    stop point here) the cable is pulled: Available, then Ended EVCommunicationLost / Idle,
    stoppedReason Local (what began the stop)."""
    configure(csms, "TxCtrlr", "TxStopPoint", "EVConnected")
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    present_token(evse)
    updated = wait_tx(csms, mark, triggerReason="StopAuthorized")
    assert updated["eventType"] == "Updated"
    wait_tx(csms, mark, chargingState="EVConnected")             # EVConnectedPostSession
    mark = csms.mark()
    post(f"{evse}/plug-out")
    assert_available_reported(csms, mark)                                          # step 1
    ended = wait_tx(csms, mark, eventType="Ended")                                 # step 3
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["chargingState"] == "Idle"
    assert ended["transactionInfo"].get("stoppedReason", "Local") in ("Local", "EVDisconnected")
    assert_seq_continuous(csms, transaction_id)


def test_tc_e_17_stop_deauthorized_ev_side_disconnect(csms, station, evse, idle, settings):
    """TC_E_17_CS: Stop transaction options - Deauthorized - EV side disconnect (E06.FR.04,
    E09.FR.01/03): TxStopPoint Authorized, StopTxOnEVSideDisconnect true (ReadOnly),
    UnlockOnEVSideDisconnect false: Ended EVCommunicationLost / Idle / EVDisconnected; the
    cable stays locked until the card is presented, then the connector is Available."""
    configure(csms, "TxCtrlr", "TxStopPoint", "Authorized")
    settings("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", "false")
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    post(f"{evse}/plug-out")                                     # EV side only: still locked
    ended = wait_tx(csms, mark, eventType="Ended")                                 # step 1
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["chargingState"] == "Idle"
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert http("GET", evse)[1]["connectors"][0]["status"] == "Occupied"           # E09.FR.03
    mark = csms.mark()
    present_token(evse)
    post(f"{evse}/plug-out")                                     # station side
    assert_available_reported(csms, mark)                                          # step 3
    assert_seq_continuous(csms, transaction_id)


@pytest.mark.parametrize("unlock", ["true", "false"], ids=["TC_E_24_CS", "TC_E_25_CS"])
def test_tc_e_24_e_25_ev_side_disconnect_deauthorizes(csms, station, evse, idle, settings,
                                                      unlock):
    """TC_E_24_CS (UnlockOnEVSideDisconnect true: E09.FR.02, the cable comes free at once) and
    TC_E_25_CS (false: E09.FR.03, the card releases it): Disconnect cable on EV-side -
    Deauthorize transaction, from EnergyTransferSuspended."""
    settings("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", unlock)
    transaction_id = energy_transfer_started_state(csms, evse)
    energy_transfer_suspended(csms, evse)
    mark = csms.mark()
    post(f"{evse}/plug-out")                                     # EV side
    event = wait_tx(csms, mark, triggerReason="EVCommunicationLost")               # step 1
    assert event["transactionInfo"]["chargingState"] == "Idle"
    if unlock == "false":
        assert http("GET", evse)[1]["connectors"][0]["status"] == "Occupied"
        present_token(evse)
        post(f"{evse}/plug-out")                                 # station side
    assert_available_reported(csms, mark)                                          # step 3
    assert_seq_continuous(csms, transaction_id)


def test_tc_e_38_local_start_ev_not_ready(csms, station, evse, idle):
    """TC_E_38_CS: Local start transaction - EV not ready (E01.FR.19): authorized, the cable is
    connected, the EV does not take energy: ChargingStateChanged SuspendedEV."""
    authorize_locally(csms, evse)
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    assert_occupied_reported(csms, mark)
    event = wait_tx(csms, mark, chargingState="SuspendedEV")                       # step 2
    assert event["triggerReason"] in ("ChargingStateChanged", "CablePluggedIn")
    if event["eventType"] != "Started":
        assert event["triggerReason"] == "ChargingStateChanged"


# --------------------------------------------------------------------------------------------
# E14: GetTransactionStatus (the cases without queued messages; with: test_octt_offline.py)
# --------------------------------------------------------------------------------------------


def test_tc_e_28_transaction_status_unknown_id(csms, station, idle):
    """TC_E_28_CS: Check Transaction status - TransactionId unknown (E14.FR.01, .02):
    ongoingIndicator false, messagesInQueue false."""
    assert csms.call(IDENTITY, "GetTransactionStatus", {
        "transactionId": "00000000-0000-4000-8000-00000000dead"}) == {
        "ongoingIndicator": False, "messagesInQueue": False}


def test_tc_e_30_transaction_status_ongoing_no_queue(csms, station, evse, idle):
    """TC_E_30_CS: Transaction with id ongoing - without message in queue (E14.FR.02, .04,
    .06)."""
    transaction_id = energy_transfer_started_state(csms, evse)
    assert csms.call(IDENTITY, "GetTransactionStatus", {"transactionId": transaction_id}) == {
        "ongoingIndicator": True, "messagesInQueue": False}


def test_tc_e_32_transaction_status_ended_no_queue(csms, station, evse, idle):
    """TC_E_32_CS: Transaction with id ended - without message in queue (E14.FR.03, .06)."""
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    present_token(evse)
    wait_tx(csms, mark, eventType="Ended")
    assert csms.call(IDENTITY, "GetTransactionStatus", {"transactionId": transaction_id}) == {
        "ongoingIndicator": False, "messagesInQueue": False}


def test_tc_e_34_transaction_status_without_id_no_queue(csms, station, idle):
    """TC_E_34_CS: Without transactionId - without message in queue (E14.FR.06): no
    ongoingIndicator, messagesInQueue false."""
    assert csms.call(IDENTITY, "GetTransactionStatus", {}) == {"messagesInQueue": False}


# --------------------------------------------------------------------------------------------
# F: remote control
# --------------------------------------------------------------------------------------------


def remote_start(csms: CsmsServer) -> tuple[int, dict]:
    """Reusable state Authorized (remote): RequestStartTransaction must be Accepted."""
    remote_start_id = next(_remote_start_ids)
    response = csms.call(IDENTITY, "RequestStartTransaction", {
        "evseId": EVSE_ID, "remoteStartId": remote_start_id, "idToken": ID_TOKEN})
    assert response["status"] == "Accepted"
    return remote_start_id, response


def test_tc_f_01_remote_start_cable_plugin_first(csms, station, evse, idle):
    """TC_F_01_CS: Remote start transaction - Cable plugin first (F01.FR.03, .04, .05, .13,
    .17, .19, F02.FR.01)."""
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})              # EVConnectedPreSession
    assert_occupied_reported(csms, mark)
    mark = csms.mark()
    remote_start_id, _ = remote_start(csms)
    started = wait_tx(csms, mark, eventType="Started")
    assert started["triggerReason"] == "RemoteStart"
    assert started["transactionInfo"]["remoteStartId"] == remote_start_id
    assert started["idToken"] == ID_TOKEN
    charging = energy_transfer_started(csms, evse)
    transaction_id = started["transactionInfo"]["transactionId"]
    assert charging["transactionInfo"]["transactionId"] == transaction_id
    assert_seq_continuous(csms, transaction_id)


@pytest.mark.parametrize("authorize_remote_start", ["true", "false"],
                         ids=["TC_F_02_CS", "TC_F_03_CS"])
def test_tc_f_02_f_03_remote_start_first(csms, station, evse, idle, authorize_remote_start):
    """TC_F_02_CS (AuthorizeRemoteStart true: F02.FR.01, F01.FR.01, the station authorizes
    first) and TC_F_03_CS (false: F01.FR.02, no Authorize): remote start, then plug in."""
    configure(csms, "AuthCtrlr", "AuthorizeRemoteStart", authorize_remote_start)
    try:
        mark = csms.mark()
        remote_start_id, _ = remote_start(csms)
        if authorize_remote_start == "true":
            authorize = csms.wait_for("Authorize", identity=IDENTITY, after=mark, timeout=10)
            assert authorize["idToken"] == ID_TOKEN
        post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
        assert_occupied_reported(csms, mark)
        started = wait_tx(csms, mark, eventType="Started")
        assert started["transactionInfo"]["remoteStartId"] == remote_start_id
        assert started["idToken"] == ID_TOKEN
        energy_transfer_started(csms, evse)
        transaction_id = started["transactionInfo"]["transactionId"]
        assert_seq_continuous(csms, transaction_id)
        if authorize_remote_start == "false":
            assert not [r for r in csms.received("Authorize", IDENTITY) if r.seq > mark]
    finally:
        configure(csms, "AuthCtrlr", "AuthorizeRemoteStart", "false")


def test_tc_f_08_remote_stop_transaction_success(csms, station, evse, idle):
    """TC_F_08_CS: Remote stop transaction - Success (F03.FR.02, .03, .07, .09): from
    EnergyTransferStarted, reusable state StopAuthorized (remote): RequestStopTransaction
    Accepted, then Ended with triggerReason RemoteStop and stoppedReason Remote."""
    authorize_locally(csms, evse)
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    charging = energy_transfer_started(csms, evse)
    transaction_id = charging["transactionInfo"]["transactionId"]
    mark = csms.mark()
    assert csms.call(IDENTITY, "RequestStopTransaction", {"transactionId": transaction_id}) \
        == {"status": "Accepted"}
    ended = wait_tx(csms, mark, eventType="Ended")
    assert ended["triggerReason"] == "RemoteStop"
    assert ended["transactionInfo"]["stoppedReason"] == "Remote"
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    assert_seq_continuous(csms, transaction_id)


def test_tc_f_09_remote_stop_transaction_rejected(csms, station, evse, idle):
    """TC_F_09_CS: Remote stop transaction - Rejected (F03.FR.08): a transactionId other than
    the ongoing one is Rejected and the transaction goes on."""
    authorize_locally(csms, evse)
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    charging = energy_transfer_started(csms, evse)
    transaction_id = charging["transactionInfo"]["transactionId"]
    mark = csms.mark()
    other = "00000000-0000-4000-8000-000000000000"
    assert other != transaction_id
    response = csms.call(IDENTITY, "RequestStopTransaction", {"transactionId": other})
    assert response["status"] == "Rejected"                                       # step 2
    settled(csms, IDENTITY, EVSE_ID)
    assert not [r for r in csms.received("TransactionEvent", IDENTITY)
                if r.seq > mark and r.payload["eventType"] == "Ended"]
    assert http("GET", evse)[1]["transaction"]["id"] == transaction_id


def test_tc_f_05_unlock_with_ongoing_transaction(csms, station, evse, idle):
    """TC_F_05_CS: Remote unlock Connector - With ongoing transaction (F05.FR.01, F05.FR.02)."""
    authorize_locally(csms, evse)
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    energy_transfer_started(csms, evse)
    response = csms.call(IDENTITY, "UnlockConnector", {"evseId": EVSE_ID,
                                                       "connectorId": CONNECTOR_ID})
    assert response["status"] == "OngoingAuthorizedTransaction"


def test_tc_f_06_unlock_without_ongoing_transaction(csms, station, evse, idle):
    """TC_F_06_CS: Remote unlock Connector - Without ongoing transaction - Accepted
    (F05.FR.01, F05.FR.04)."""
    response = csms.call(IDENTITY, "UnlockConnector", {"evseId": EVSE_ID,
                                                       "connectorId": CONNECTOR_ID})
    assert response["status"] == "Unlocked"


def test_tc_f_04_remote_start_first_cable_plugin_timeout(csms, station, evse, idle, settings):
    """TC_F_04_CS: Remote start transaction - Remote start first - Cable plugin timeout
    (F02.FR.01, E03.FR.05): TxStartPoint Authorized; no cable within EVConnectionTimeOut:
    Ended EVConnectTimeout; then the EVSE accepts the next remote start."""
    settings("TxCtrlr", "EVConnectionTimeOut", str(EV_CONNECTION_TIMEOUT))
    configure(csms, "TxCtrlr", "TxStartPoint", "Authorized")
    mark = csms.mark()
    remote_start(csms)                                           # Authorized (remote)
    ended = wait_tx(csms, mark, eventType="Ended", timeout=EV_CONNECTION_TIMEOUT + 10)
    assert ended["triggerReason"] == "EVConnectTimeout"                           # step 1
    mark = csms.mark()
    remote_start(csms)                                                            # step 3
    started = wait_tx(csms, mark, eventType="Started")
    assert csms.call(IDENTITY, "RequestStopTransaction", {
        "transactionId": started["transactionInfo"]["transactionId"]})["status"] == "Accepted"


def test_tc_f_07_unlock_without_cable(csms, station, idle):
    """TC_F_07_CS: Remote unlock Connector - Without ongoing transaction - No cable connected
    (F05.FR.04): Unlocked."""
    assert csms.call(IDENTITY, "UnlockConnector", {"evseId": EVSE_ID,
                                                   "connectorId": CONNECTOR_ID}) \
        == {"status": "Unlocked"}


def test_tc_f_10_unlock_unknown_connector(csms, station, idle):
    """TC_F_10_CS: Remote unlock Connector - UnknownConnector (F05.FR.03)."""
    assert csms.call(IDENTITY, "UnlockConnector", {"evseId": EVSE_ID, "connectorId": 999}) \
        == {"status": "UnknownConnector"}


def test_tc_f_11_trigger_meter_values_specific_evse(csms, station, idle):
    """TC_F_11_CS: Trigger message - MeterValues - Specific EVSE (F06.FR.02, .04, .06)."""
    mark = csms.mark()
    assert csms.call(IDENTITY, "TriggerMessage", {"requestedMessage": "MeterValues",
                                                  "evse": {"id": EVSE_ID}}) \
        == {"status": "Accepted"}
    sent = csms.wait_for("MeterValues", identity=IDENTITY, after=mark, timeout=10,
                         predicate=lambda p: p["meterValue"][0]["sampledValue"][0].get(
                             "context") == "Trigger")
    assert sent["evseId"] == EVSE_ID


def test_tc_f_12_trigger_meter_values_all_evses(csms, station, idle):
    """TC_F_12_CS: Trigger message - MeterValues - All EVSE (F06.FR.11): one per EVSE."""
    mark = csms.mark()
    assert csms.call(IDENTITY, "TriggerMessage", {"requestedMessage": "MeterValues"}) \
        == {"status": "Accepted"}
    for evse_id, _ in CONNECTORS:
        csms.wait_for("MeterValues", identity=IDENTITY, after=mark, timeout=10,
                      predicate=lambda p, e=evse_id: p["evseId"] == e and p["meterValue"][0][
                          "sampledValue"][0].get("context") == "Trigger")


def assert_triggered_transaction_event(event: dict, evse_id: int) -> None:
    assert event.get("evse", {"id": evse_id})["id"] == evse_id
    assert event["triggerReason"] == "Trigger"
    assert event["transactionInfo"]["chargingState"] == "Charging"
    assert event["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"


def test_tc_f_13_trigger_transaction_event_specific_evse(csms, station, evse, idle):
    """TC_F_13_CS: Trigger message - TransactionEvent - Specific EVSE (F06.FR.07)."""
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    assert csms.call(IDENTITY, "TriggerMessage", {"requestedMessage": "TransactionEvent",
                                                  "evse": {"id": EVSE_ID}}) \
        == {"status": "Accepted"}
    event = wait_tx(csms, mark, triggerReason="Trigger")
    assert_triggered_transaction_event(event, EVSE_ID)
    assert_seq_continuous(csms, transaction_id)


def test_tc_f_14_trigger_transaction_event_all_evses(csms, station, evse, idle):
    """TC_F_14_CS: Trigger message - TransactionEvent - All EVSE (F06.FR.07, .11):
    EnergyTransferStarted on every EVSE, then one triggered event per EVSE."""
    other = evse.rsplit("/", 1)[0] + "/2"
    energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    post(f"{other}/token", {"id_token": ID_TOKEN["idToken"], "type": ID_TOKEN["type"]})
    post(f"{other}/plug-in", {"connector_id": 1})
    post(f"{other}/ev", {"state": "charging"})
    csms.wait_for("TransactionEvent", identity=IDENTITY, after=mark, timeout=15,
                  predicate=lambda p: p["transactionInfo"].get("chargingState") == "Charging"
                  and csms_evse_of(csms, p) == 2)
    try:
        mark = csms.mark()
        assert csms.call(IDENTITY, "TriggerMessage", {"requestedMessage": "TransactionEvent"}) \
            == {"status": "Accepted"}
        for evse_id in (1, 2):
            event = csms.wait_for("TransactionEvent", identity=IDENTITY, after=mark, timeout=10,
                                  predicate=lambda p, e=evse_id: p["triggerReason"] == "Trigger"
                                  and csms_evse_of(csms, p) == e)
            assert_triggered_transaction_event(event, evse_id)
    finally:
        mark = csms.mark()
        post(f"{other}/ev", {"state": "suspended"})
        post(f"{other}/token", {"id_token": ID_TOKEN["idToken"], "type": ID_TOKEN["type"]})
        post(f"{other}/plug-out")
        wait_connector_status(csms, mark, "Available", evse_id=2)


def csms_evse_of(csms: CsmsServer, event: dict) -> int | None:
    """The EVSE of a TransactionEvent: its evse field, else the one its Started named."""
    if "evse" in event:
        return event["evse"]["id"]
    transaction_id = event["transactionInfo"]["transactionId"]
    for earlier in transaction_events(csms, transaction_id):
        if "evse" in earlier:
            return earlier["evse"]["id"]
    return None


def test_tc_f_20_trigger_heartbeat(csms, station, idle):
    """TC_F_20_CS: Trigger message - Heartbeat (F06.FR.04, .05)."""
    mark = csms.mark()
    assert csms.call(IDENTITY, "TriggerMessage", {"requestedMessage": "Heartbeat"}) \
        == {"status": "Accepted"}
    csms.wait_for("Heartbeat", identity=IDENTITY, after=mark, timeout=10)


def assert_triggered_status(csms: CsmsServer, status: str) -> None:
    """TriggerMessage(StatusNotification) for <Configured connectorId>; step 3 "notifies the
    CSMS about the current state of the connector" with a StatusNotification stamped now, not
    at the connector's last change, and no NotifyEvent, whose trigger Delta would announce a
    change that did not happen (F06.FR.09: only current information)."""
    mark = csms.mark()
    asked = datetime.now().astimezone()
    assert csms.call(IDENTITY, "TriggerMessage", {
        "requestedMessage": "StatusNotification",
        "evse": {"id": EVSE_ID, "connectorId": CONNECTOR_ID}}) == {"status": "Accepted"}
    sent = wait_connector_status(csms, mark, status)
    assert sent["connectorId"] == CONNECTOR_ID
    stamped = datetime.fromisoformat(sent["timestamp"].replace("Z", "+00:00"))
    assert (stamped - asked).total_seconds() > -0.01, (sent["timestamp"], asked)
    # The station sends one CALL at a time, in order: once a Heartbeat triggered after the
    # StatusNotification arrived, a NotifyEvent queued behind it would have arrived too.
    assert csms.call(IDENTITY, "TriggerMessage", {"requestedMessage": "Heartbeat"}) \
        == {"status": "Accepted"}
    csms.wait_for("Heartbeat", identity=IDENTITY, after=mark, timeout=10)
    assert [r.payload for r in csms.received("NotifyEvent", IDENTITY) if r.seq > mark] == []


def test_tc_f_23_trigger_status_notification_available(csms, station, idle):
    """TC_F_23_CS: Trigger message - StatusNotification - Specific EVSE - Available
    (F06.FR.02, .09, .12)."""
    assert_triggered_status(csms, "Available")


def test_tc_f_24_trigger_status_notification_occupied(csms, station, evse, idle):
    """TC_F_24_CS: Trigger message - StatusNotification - Specific EVSE - Occupied, from
    EVConnectedPreSession (F06.FR.09)."""
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    assert_occupied_reported(csms, mark)
    assert_triggered_status(csms, "Occupied")


@pytest.mark.parametrize("address", [{"evse": {"id": EVSE_ID}}, {}], ids=["evse", "all"])
def test_trigger_transaction_event_without_transaction_is_rejected(csms, station, idle,
                                                                   address):
    """TC_F_13/14_CS without their EnergyTransferStarted: with no transaction there is no
    TransactionEvent to send, and an Accepted trigger must be sent (F06.FR.10), so the answer
    is Rejected (F06.FR.05); nothing follows."""
    mark = csms.mark()
    assert csms.call(IDENTITY, "TriggerMessage", {"requestedMessage": "TransactionEvent",
                                                  **address}) == {"status": "Rejected"}
    assert csms.call(IDENTITY, "TriggerMessage", {"requestedMessage": "Heartbeat"}) \
        == {"status": "Accepted"}
    csms.wait_for("Heartbeat", identity=IDENTITY, after=mark, timeout=10)
    assert [r.payload for r in csms.received("TransactionEvent", IDENTITY) if r.seq > mark] == []


def test_tc_f_26_trigger_boot_notification_rejected(csms, station, idle):
    """TC_F_26_CS: Trigger message - BootNotification - Rejected (F06.FR.17): already
    Accepted."""
    assert csms.call(IDENTITY, "TriggerMessage", {"requestedMessage": "BootNotification"}) \
        == {"status": "Rejected"}


def test_tc_f_27_trigger_not_implemented(csms, station, idle):
    """TC_F_27_CS: Trigger message - NotImplemented (F06.FR.08): SignCombinedCertificate."""
    assert csms.call(IDENTITY, "TriggerMessage",
                     {"requestedMessage": "SignCombinedCertificate"}) \
        == {"status": "NotImplemented"}


# --------------------------------------------------------------------------------------------
# G: availability
# --------------------------------------------------------------------------------------------


def test_tc_g_03_change_availability_evse_to_inoperative(csms, station, evse, idle):
    """TC_G_03_CS: Change Availability EVSE - Operative to inoperative (G03.FR.01, .02, .04,
    .06): reusable state Unavailable for <Configured evseId>."""
    mark = csms.mark()
    assert csms.call(IDENTITY, "ChangeAvailability", {
        "operationalStatus": "Inoperative", "evse": {"id": EVSE_ID}}) == {"status": "Accepted"}
    wait_connector_status(csms, mark, "Unavailable")
    wait_availability_event(csms, mark, "Unavailable")
    mark = csms.mark()
    assert csms.call(IDENTITY, "ChangeAvailability", {
        "operationalStatus": "Operative", "evse": {"id": EVSE_ID}}) == {"status": "Accepted"}
    wait_connector_status(csms, mark, "Available")


def test_tc_g_04_change_availability_evse_to_operative(csms, station, evse, idle):
    """TC_G_04_CS: Change Availability EVSE - Inoperative to operative (G03.FR.01, .02, .04,
    .07)."""
    mark = csms.mark()
    assert csms.call(IDENTITY, "ChangeAvailability", {
        "operationalStatus": "Inoperative", "evse": {"id": EVSE_ID}}) == {"status": "Accepted"}
    wait_connector_status(csms, mark, "Unavailable")
    mark = csms.mark()
    assert csms.call(IDENTITY, "ChangeAvailability", {                            # steps 1-2
        "operationalStatus": "Operative", "evse": {"id": EVSE_ID}}) == {"status": "Accepted"}
    status = wait_connector_status(csms, mark, "Available")                        # step 3
    assert status["connectorId"] == CONNECTOR_ID
    wait_availability_event(csms, mark, "Available")


def test_tc_g_05_change_availability_station_to_inoperative(csms, station, evse, idle):
    """TC_G_05_CS: Change Availability Charging Station - Operative to inoperative (G04.FR.01,
    .02, .03, .05, .07): every connector reported Unavailable."""
    mark = csms.mark()
    try:
        assert csms.call(IDENTITY, "ChangeAvailability", {"operationalStatus": "Inoperative"}) \
            == {"status": "Accepted"}
        for evse_id, connector_id in CONNECTORS:
            status = wait_connector_status(csms, mark, "Unavailable", evse_id=evse_id)
            assert status["connectorId"] == connector_id
    finally:
        mark = csms.mark()
        assert csms.call(IDENTITY, "ChangeAvailability", {"operationalStatus": "Operative"}) \
            == {"status": "Accepted"}
        for evse_id, _ in CONNECTORS:
            wait_connector_status(csms, mark, "Available", evse_id=evse_id)


def test_tc_g_06_change_availability_station_to_operative(csms, station, evse, idle):
    """TC_G_06_CS: Change Availability Charging Station - Inoperative to operative (G04.FR.01,
    .02, .03, .05, .08)."""
    mark = csms.mark()
    assert csms.call(IDENTITY, "ChangeAvailability", {"operationalStatus": "Inoperative"}) \
        == {"status": "Accepted"}
    for evse_id, _ in CONNECTORS:
        wait_connector_status(csms, mark, "Unavailable", evse_id=evse_id)
    mark = csms.mark()
    assert csms.call(IDENTITY, "ChangeAvailability", {"operationalStatus": "Operative"}) \
        == {"status": "Accepted"}                                                  # step 2
    for evse_id, connector_id in CONNECTORS:                                       # step 3
        status = wait_connector_status(csms, mark, "Available", evse_id=evse_id)
        assert status["connectorId"] == connector_id
    wait_availability_event(csms, mark, "Available", evse_id=None)


def change_availability(csms: CsmsServer, status: str, evse_id: int | None = None,
                        connector_id: int | None = None) -> str:
    payload: dict = {"operationalStatus": status}
    if evse_id is not None:
        payload["evse"] = {"id": evse_id}
        if connector_id is not None:
            payload["evse"]["connectorId"] = connector_id
    return csms.call(IDENTITY, "ChangeAvailability", payload)["status"]


@pytest.fixture
def operative_again(csms):
    """Whatever a case made inoperative is Operative again afterwards."""
    yield
    for evse_id, connector_id in CONNECTORS:
        change_availability(csms, "Operative", evse_id, connector_id)
        change_availability(csms, "Operative", evse_id)
    change_availability(csms, "Operative")


def test_tc_g_07_g_08_connector_inoperative_and_back(csms, station, evse, idle,
                                                    operative_again):
    """TC_G_07_CS (Operative to inoperative) and TC_G_08_CS (Inoperative to operative) for a
    connector (G03.FR.01, .02, .04, .06, .07)."""
    mark = csms.mark()
    assert change_availability(csms, "Inoperative", EVSE_ID, CONNECTOR_ID) == "Accepted"
    status = wait_connector_status(csms, mark, "Unavailable")                     # G_07
    assert status["connectorId"] == CONNECTOR_ID
    wait_availability_event(csms, mark, "Unavailable")
    mark = csms.mark()
    assert change_availability(csms, "Operative", EVSE_ID, CONNECTOR_ID) == "Accepted"
    status = wait_connector_status(csms, mark, "Available")                       # G_08
    assert status["connectorId"] == CONNECTOR_ID
    wait_availability_event(csms, mark, "Available")


@pytest.mark.parametrize("target", ["evse", "station", "connector"],
                         ids=["TC_G_09_CS", "TC_G_12_CS", "TC_G_15_CS"])
def test_tc_g_09_g_12_g_15_operative_to_operative(csms, station, idle, target):
    """TC_G_09_CS (EVSE), TC_G_12_CS (Charging Station), TC_G_15_CS (connector): Operative to
    operative is Accepted (G03.FR.03, G04.FR.04) and changes nothing. For the whole station
    the state is confirmed as in TC_G_13: every connector reported Available again."""
    mark = csms.mark()
    address = {"evse": (EVSE_ID,), "station": (), "connector": (EVSE_ID, CONNECTOR_ID)}[target]
    assert change_availability(csms, "Operative", *address) == "Accepted"
    if target == "station":
        for evse_id, _ in CONNECTORS:
            wait_connector_status(csms, mark, "Available", evse_id=evse_id)
        wait_availability_event(csms, mark, "Available", component="ChargingStation",
                                evse_id=None)
        return
    settled(csms, IDENTITY, EVSE_ID)
    assert not [r for r in csms.received("StatusNotification", IDENTITY) if r.seq > mark]


def test_tc_g_13_station_inoperative_to_inoperative(csms, station, idle, operative_again):
    """TC_G_13_CS: Change Availability Charging Station - Inoperative to inoperative (G04.FR.01
    to .05): Accepted, then every connector reported Unavailable and NotifyEvent
    ChargingStation.AvailabilityState Unavailable (step 3)."""
    mark = csms.mark()
    assert change_availability(csms, "Inoperative") == "Accepted"               # preparation
    for evse_id, _ in CONNECTORS:
        wait_connector_status(csms, mark, "Unavailable", evse_id=evse_id)
    mark = csms.mark()
    assert change_availability(csms, "Inoperative") == "Accepted"               # steps 1-2
    for evse_id, connector_id in CONNECTORS:                                     # step 3
        status = wait_connector_status(csms, mark, "Unavailable", evse_id=evse_id)
        assert status["connectorId"] == connector_id
    wait_availability_event(csms, mark, "Unavailable", component="ChargingStation",
                            evse_id=None)


@pytest.mark.parametrize("target", ["evse", "connector"], ids=["TC_G_10_CS", "TC_G_16_CS"])
def test_tc_g_10_g_16_inoperative_to_inoperative(csms, station, idle, operative_again, target):
    """TC_G_10_CS (EVSE) and TC_G_16_CS (connector): Inoperative to inoperative is Accepted
    (G03.FR.03) and the connector stays Unavailable."""
    address = (EVSE_ID,) if target == "evse" else (EVSE_ID, CONNECTOR_ID)
    mark = csms.mark()
    assert change_availability(csms, "Inoperative", *address) == "Accepted"
    wait_connector_status(csms, mark, "Unavailable")
    assert change_availability(csms, "Inoperative", *address) == "Accepted"       # step 2
    assert http("GET", evse_url(station))[1]["connectors"][0]["status"] == "Unavailable"


def evse_url(station, evse_id: int = EVSE_ID) -> str:
    return f"http://127.0.0.1:{api_port(station)}/api/evses/{evse_id}"


@pytest.mark.parametrize("target", ["evse", "connector"], ids=["TC_G_11_CS", "TC_G_17_CS"])
def test_tc_g_11_g_17_inoperative_with_ongoing_transaction(csms, station, evse, idle,
                                                          operative_again, target):
    """TC_G_11_CS (EVSE) and TC_G_17_CS (connector): Change Availability - With ongoing
    transaction (G03.FR.05): Scheduled; once the card stopped the transaction the connector
    is reported Unavailable (and stays so, EV connected or not)."""
    transaction_id = energy_transfer_started_state(csms, evse)
    address = (EVSE_ID,) if target == "evse" else (EVSE_ID, CONNECTOR_ID)
    mark = csms.mark()
    assert change_availability(csms, "Inoperative", *address) == "Scheduled"      # step 2
    settled(csms, IDENTITY, EVSE_ID)
    assert not [r for r in csms.received("StatusNotification", IDENTITY) if r.seq > mark]
    present_token(evse)                                          # StopAuthorized
    wait_tx(csms, mark, eventType="Ended")
    status = wait_connector_status(csms, mark, "Unavailable")                     # step 4
    assert status["connectorId"] == CONNECTOR_ID
    wait_availability_event(csms, mark, "Unavailable")
    assert_seq_continuous(csms, transaction_id)


def test_tc_g_14_station_inoperative_with_ongoing_transaction(csms, station, evse, idle,
                                                             operative_again):
    """TC_G_14_CS: Change Availability Charging Station - With ongoing transaction (G04.FR.06):
    Scheduled; the EVSE without transaction is Unavailable at once, the other when its
    transaction ended."""
    transaction_id = energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    assert change_availability(csms, "Inoperative") == "Scheduled"                # step 2
    wait_connector_status(csms, mark, "Unavailable", evse_id=2)                   # step 3
    assert http("GET", evse)[1]["connectors"][0]["status"] == "Occupied"
    present_token(evse)                                          # StopAuthorized
    wait_tx(csms, mark, eventType="Ended")
    status = wait_connector_status(csms, mark, "Unavailable")                     # step 7
    assert status["evseId"] != 0 and status["connectorId"] != 0
    wait_availability_event(csms, mark, "Unavailable")
    assert_seq_continuous(csms, transaction_id)


@pytest.mark.parametrize("target", ["station", "evse", "connector"])
def test_operative_while_inoperative_is_scheduled(csms, station, evse, idle, operative_again,
                                                  target):
    """TC_G_11/14/17_CS step 2, then Operative before the transaction ended: the Inoperative
    never took effect where the transaction runs, so that is the state the station is in:
    Accepted (G03.FR.03, G04.FR.04), not Scheduled, and the scheduled change is dropped: the
    connector is not made Unavailable when the transaction ends. Station-wide, the EVSE
    without transaction that went Unavailable at once reverts to Available (G04.FR.08)."""
    energy_transfer_started_state(csms, evse)
    address = {"station": (), "evse": (EVSE_ID,), "connector": (EVSE_ID, CONNECTOR_ID)}[target]
    mark = csms.mark()
    assert change_availability(csms, "Inoperative", *address) == "Scheduled"
    if target == "station":
        wait_connector_status(csms, mark, "Unavailable", evse_id=2)
    mark = csms.mark()
    assert change_availability(csms, "Operative", *address) == "Accepted"
    if target == "station":
        wait_connector_status(csms, mark, "Available", evse_id=2)
    present_token(evse)                                          # StopAuthorized
    wait_tx(csms, mark, eventType="Ended")
    post(f"{evse}/plug-out")
    wait_connector_status(csms, mark, "Available")
    assert [r.payload for r in csms.received("StatusNotification", IDENTITY) if r.seq > mark
            and r.payload["evseId"] == EVSE_ID
            and r.payload["connectorStatus"] == "Unavailable"] == []


def test_tc_g_01_connector_status_available_to_occupied(csms, station, evse, idle):
    """TC_G_01_CS: Connector status Notification - Available to Occupied (G01.FR.01,
    N07.FR.19): reusable state EVConnectedPreSession."""
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    assert_occupied_reported(csms, mark)


def test_tc_g_02_connector_status_occupied_to_available(csms, station, evse, idle):
    """TC_G_02_CS: Connector status Notification - Occupied to Available (G01.FR.01,
    N07.FR.19): the EV is unplugged from EVConnectedPreSession."""
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    assert_occupied_reported(csms, mark)
    mark = csms.mark()
    post(f"{evse}/plug-out")
    status = wait_connector_status(csms, mark, "Available")
    assert status["connectorId"] == CONNECTOR_ID
    wait_availability_event(csms, mark, "Available")


def wait_lock_problem(csms: CsmsServer, after: int, value: str) -> dict:
    """NotifyEventRequest: Delta, ConnectorPlugRetentionLock of the configured connector,
    variable Problem, ``value``."""
    def match(p: dict) -> bool:
        return any(event["trigger"] == "Delta" and event["actualValue"] == value
                   and event["component"] == {"name": "ConnectorPlugRetentionLock",
                                              "evse": {"id": EVSE_ID,
                                                       "connectorId": CONNECTOR_ID}}
                   and event["variable"]["name"] == "Problem"
                   for event in p["eventData"])
    return csms.wait_for("NotifyEvent", identity=IDENTITY, after=after, timeout=15,
                         predicate=match)


def test_tc_g_20_lock_failure(csms, station, evse, idle):
    """TC_G_20_CS: Connector status Notification - Lock Failure (G05.FR.01, .02): the cable
    is not in far enough for the retention lock to engage (the simulator's jammed lock). Once
    the driver is authorized the station reports ConnectorPlugRetentionLock.Problem true and
    does not start charging. Beyond the case: when the lock engages after all, Problem false
    and the energy flows."""
    post(f"{evse}/lock-failure", {"active": True})
    try:
        mark = csms.mark()
        post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})   # EVConnectedPreSession
        post(f"{evse}/ev", {"state": "charging"})                  # the EV asks for energy
        authorize_locally(csms, evse)                               # step 1
        wait_lock_problem(csms, mark, "true")                       # step 2
        view = http("GET", evse)[1]                                 # post scenario
        assert view["power_w"] == 0
        assert "Charging" not in [r.payload["transactionInfo"].get("chargingState")
                                  for r in csms.received("TransactionEvent", identity=IDENTITY)
                                  if r.seq > mark]
        mark = csms.mark()
        post(f"{evse}/lock-failure", {"active": False})
        wait_lock_problem(csms, mark, "false")
        wait_tx(csms, mark, chargingState="Charging")
    finally:
        http("POST", f"{evse}/lock-failure", {"active": False})


# --------------------------------------------------------------------------------------------
# J: meter values
# --------------------------------------------------------------------------------------------

ALIGNED_INTERVAL = 2                            # <Configured clock-aligned Meter Values interval>
ALIGNED_MEASURANDS = ("Energy.Active.Import.Register",)   # AlignedDataCtrlr.Measurands as shipped


def aligned_sampled_values_ok(meter_value: dict) -> bool:
    """context Sample.Clock and an element per configured measurand (measurand may be omitted
    for Energy.Active.Import.Register)."""
    sampled = meter_value["sampledValue"]
    if sampled[0].get("context") != "Sample.Clock":
        return False
    present = {v.get("measurand", "Energy.Active.Import.Register") for v in sampled}
    return all(m in present for m in ALIGNED_MEASURANDS)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_aligned_timestamps(timestamps: list[str]) -> None:
    """Post scenario: distinct timestamps are ALIGNED_INTERVAL apart, on the clock grid."""
    moments = sorted({parse_time(t) for t in timestamps})
    assert len(moments) >= 2, timestamps
    for earlier, later in zip(moments, moments[1:]):
        assert (later - earlier).total_seconds() == ALIGNED_INTERVAL, moments
    assert all(m.timestamp() % ALIGNED_INTERVAL == 0 for m in moments), moments


@pytest.fixture
def aligned_interval(csms, station):
    configure(csms, "AlignedDataCtrlr", "Interval", str(ALIGNED_INTERVAL))
    yield
    configure(csms, "AlignedDataCtrlr", "Interval", "900")


def test_tc_j_01_clock_aligned_meter_values_no_transaction(csms, station, evse, idle,
                                                          aligned_interval):
    """TC_J_01_CS: Clock-aligned Meter Values - No transaction ongoing (J01.FR.01, .02, .03,
    .06, .07, .08, .14, .15). The OCTT ends after three MeterValues messages."""
    mark = csms.mark()
    deadline = time.monotonic() + 4 * ALIGNED_INTERVAL + 5
    while True:
        received = [r.payload for r in csms.received("MeterValues", IDENTITY) if r.seq > mark]
        timestamps = {mv["timestamp"] for p in received for mv in p["meterValue"]}
        if len(received) >= 3 and len(timestamps) >= 2:
            break
        assert time.monotonic() < deadline, f"only {len(received)} MeterValues"
        time.sleep(0.2)
    for payload in received:
        for meter_value in payload["meterValue"]:
            assert aligned_sampled_values_ok(meter_value), meter_value
    assert_aligned_timestamps([mv["timestamp"] for p in received for mv in p["meterValue"]])


def test_tc_j_02_clock_aligned_meter_values_transaction_ongoing(csms, station, evse, idle,
                                                               aligned_interval):
    """TC_J_02_CS: Clock-aligned Meter Values - Transaction ongoing (J01.FR.01, .02, .03, .06,
    .07, .08, .14, .15). AlignedDataSendDuringIdle is false (as shipped)."""
    authorize_locally(csms, evse)
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    charging = energy_transfer_started(csms, evse)
    transaction_id = charging["transactionInfo"]["transactionId"]
    mark = csms.mark()
    deadline = time.monotonic() + 4 * ALIGNED_INTERVAL + 5
    while True:
        clock = [r.payload for r in csms.received("TransactionEvent", IDENTITY)
                 if r.seq > mark and r.payload["triggerReason"] == "MeterValueClock"]
        if len({p["timestamp"] for p in clock}) >= 2:
            break
        assert time.monotonic() < deadline, f"only {len(clock)} MeterValueClock events"
        time.sleep(0.2)
    for event in clock:                                                            # step 3
        assert event["eventType"] == "Updated"
        assert event["transactionInfo"]["transactionId"] == transaction_id
        assert aligned_sampled_values_ok(event["meterValue"][0]), event
    # Post scenario: the clock-aligned samples are exactly ALIGNED_INTERVAL apart, on the grid.
    assert_aligned_timestamps([p["meterValue"][0]["timestamp"] for p in clock])
    # ...and so are the TransactionEventRequest timestamps: the event is the aligned sample.
    assert_aligned_timestamps([p["timestamp"] for p in clock])
    meter_values = [r.payload for r in csms.received("MeterValues", IDENTITY) if r.seq > mark]
    for payload in meter_values:                                                   # step 1
        assert payload["evseId"] != EVSE_ID
        assert aligned_sampled_values_ok(payload["meterValue"][0]), payload
    assert_seq_continuous(csms, transaction_id)


def interval_between(timestamps: list[str]) -> set[float]:
    moments = sorted({parse_time(t) for t in timestamps})
    return {(later - earlier).total_seconds() for earlier, later in zip(moments, moments[1:])}


def stop_and_unplug(csms: CsmsServer, evse: str, after: int) -> dict:
    """The end of a session (the OCTT's ParkingBayUnoccupied without a bay sensor): the card,
    then the cable out; returns the Ended event."""
    present_token(evse)
    post(f"{evse}/ev", {"state": "suspended"})
    post(f"{evse}/plug-out")
    return wait_tx(csms, after, eventType="Ended")


def test_tc_j_03_clock_aligned_values_in_ended(csms, station, evse, idle, settings):
    """TC_J_03_CS: Clock-aligned Meter Values - EventType Ended (J01.FR.01, E06.FR.11): the
    Ended event holds one Sample.Clock value per AlignedDataCtrlr.TxEndedInterval, on the
    grid."""
    settings("AlignedDataCtrlr", "TxEndedInterval", "1")
    settings("SampledDataCtrlr", "TxEndedMeasurands", "")
    mark = csms.mark()
    energy_transfer_started_state(csms, evse)
    # The values build up inside the Evse and show only in the Ended event: the transaction
    # has to run this long, there is nothing to probe.
    time.sleep(3.5)
    ended = stop_and_unplug(csms, evse, mark)
    clock = [mv for mv in ended["meterValue"]
             if mv["sampledValue"][0].get("context") == "Sample.Clock"]
    assert len(clock) >= 3, ended["meterValue"]
    assert interval_between([mv["timestamp"] for mv in clock]) == {1.0}
    for meter_value in clock:
        assert aligned_sampled_values_ok(meter_value)


def test_tc_j_07_sampled_values_in_started(csms, station, evse, idle):
    """TC_J_07_CS: Sampled Meter Values - EventType Started - EVSE known (E01.FR.09): Started
    (TxStartPoint EVConnected) carries Transaction.Begin values of TxStartedMeasurands."""
    configure(csms, "TxCtrlr", "TxStartPoint", "EVConnected")
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    started = wait_tx(csms, mark, eventType="Started")
    sampled = started["meterValue"][0]["sampledValue"]
    assert sampled[0]["context"] == "Transaction.Begin"
    measurands = {v.get("measurand", "Energy.Active.Import.Register") for v in sampled}
    assert "Energy.Active.Import.Register" in measurands


def test_tc_j_09_sampled_values_in_updated(csms, station, evse, idle, settings):
    """TC_J_09_CS: Sampled Meter Values - EventType Updated (J02.FR.11): MeterValuePeriodic
    events with Sample.Periodic values, TxUpdatedInterval apart."""
    settings("SampledDataCtrlr", "TxUpdatedInterval", "1")
    energy_transfer_started_state(csms, evse)
    mark = csms.mark()
    deadline = time.monotonic() + 30
    while True:                                   # until two periodic events have come
        periodic = [r.payload for r in csms.received("TransactionEvent", IDENTITY)
                    if r.seq > mark and r.payload["triggerReason"] == "MeterValuePeriodic"]
        if len(periodic) >= 2:
            break
        assert time.monotonic() < deadline, periodic
        time.sleep(0.1)
    for event in periodic:
        assert event["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic"
    assert interval_between([e["timestamp"] for e in periodic]) == {1.0}


def test_tc_j_10_sampled_values_in_ended(csms, station, evse, idle, settings):
    """TC_J_10_CS: Sampled Meter Values - EventType Ended (E06.FR.11): one Sample.Periodic value
    per SampledDataCtrlr.TxEndedInterval, and one Transaction.End."""
    settings("SampledDataCtrlr", "TxEndedInterval", "1")
    settings("AlignedDataCtrlr", "TxEndedMeasurands", "")
    mark = csms.mark()
    energy_transfer_started_state(csms, evse)
    # The values build up inside the Evse and show only in the Ended event: the transaction
    # has to run this long, there is nothing to probe.
    time.sleep(3.5)
    ended = stop_and_unplug(csms, evse, mark)
    contexts = [mv["sampledValue"][0].get("context") for mv in ended["meterValue"]]
    assert contexts.count("Transaction.End") == 1
    periodic = [mv["timestamp"] for mv in ended["meterValue"]
                if mv["sampledValue"][0].get("context") == "Sample.Periodic"]
    assert len(periodic) >= 3, contexts
    assert interval_between(periodic) == {1.0}


def test_tc_j_06_no_clock_values_during_a_transaction(csms, station, evse, idle, settings,
                                                     aligned_interval):
    """TC_J_06_CS: Clock-aligned Meter Values - No Meter Values during transaction (J01.FR.20):
    AlignedDataCtrlr.SendDuringIdle true: MeterValues while idle, none (from any EVSE) and no
    MeterValueClock while a transaction runs, and again after it."""
    settings("AlignedDataCtrlr", "SendDuringIdle", "true")
    mark = csms.mark()
    csms.wait_for("MeterValues", identity=IDENTITY, after=mark,                   # step 1
                  timeout=2 * ALIGNED_INTERVAL + 5)
    energy_transfer_started_state(csms, evse)                                     # step 3
    busy = csms.mark()
    # Two clock-aligned instants must pass to show that none of them sends anything: the
    # unwanted messages would come from a timer, which no barrier orders.
    time.sleep(2 * ALIGNED_INTERVAL + 0.5)
    mark = csms.mark()
    assert not [r for r in csms.received("MeterValues", IDENTITY) if busy < r.seq]
    assert not [r for r in csms.received("TransactionEvent", IDENTITY)
                if busy < r.seq and r.payload["triggerReason"] == "MeterValueClock"]
    stop_and_unplug(csms, evse, busy)                                             # step 6
    csms.wait_for("MeterValues", identity=IDENTITY, after=mark,                   # step 7
                  timeout=2 * ALIGNED_INTERVAL + 5)


def assert_signed(sampled_value: dict, transaction_id: str, timestamp: str) -> dict:
    """Tool validations on signedMeterValue (encodingMethod, publicKey, signedMeterData,
    signingMethod not omitted), and more than OCTT checks: the signature verifies with the
    public key and vouches for this very value, context, timestamp and transaction."""
    signed = sampled_value["signedMeterValue"]
    for field in ("signedMeterData", "signingMethod", "encodingMethod", "publicKey"):
        assert signed.get(field), (field, signed)
    payload = verify(signed)
    assert (payload["value"], payload["context"], payload["timestamp"],
            payload["transactionId"]) == (sampled_value["value"], sampled_value["context"],
                                          timestamp, transaction_id)
    return payload


def register_values(meter_values: list[dict]) -> list[tuple[str, dict]]:
    return [(mv["timestamp"], sv) for mv in meter_values for sv in mv["sampledValue"]
            if sv.get("measurand", "Energy.Active.Import.Register")
            == "Energy.Active.Import.Register"]


def test_tc_e_11_start_point_data_signed(csms, station, evse, idle, settings):
    """TC_E_11_CS: Start transaction options - DataSigned (E01.FR.04, E01.FR.07, .10, .15,
    .16). Reusable state Authorized, then the EV and EVSE are connected: Started
    SignedDataReceived with a signed Transaction.Begin value, then Charging."""
    settings("SampledDataCtrlr", "SignReadings", "true")
    configure(csms, "TxCtrlr", "TxStartPoint", "DataSigned")
    authorize_locally(csms, evse)
    mark = csms.mark()
    post(f"{evse}/plug-in", {"connector_id": CONNECTOR_ID})
    assert_occupied_reported(csms, mark)                                           # step 1
    started = wait_tx(csms, mark, eventType="Started")                             # step 3
    assert started["triggerReason"] == "SignedDataReceived"
    assert started["idToken"] == ID_TOKEN
    assert started["evse"] == {"id": EVSE_ID, "connectorId": CONNECTOR_ID}
    transaction_id = started["transactionInfo"]["transactionId"]
    values = register_values(started["meterValue"])
    assert values and all(sv["context"] == "Transaction.Begin" for _, sv in values)
    for timestamp, sampled_value in values:
        assert_signed(sampled_value, transaction_id, timestamp)
    # Step 5; the simulated EV asks for energy only now (SuspendedEV before it, TC_E_38).
    charging = energy_transfer_started(csms, evse)
    assert charging["eventType"] == "Updated"
    assert_seq_continuous(csms, transaction_id)


def signed_session_ended(csms: CsmsServer, evse: str, settings, controller: str,
                         other: str) -> tuple[str, dict]:
    """Configuration state of TC_J_04/TC_J_11: ``controller``.TxEndedInterval 1 s and
    SignReadings true (``other``'s TxEndedMeasurands empty, so only this series is in the
    list); reusable state EnergyTransferStarted for 3.5 s, then the end. Returns the
    transactionId and the Ended event."""
    settings(controller, "TxEndedInterval", "1")
    settings(controller, "SignReadings", "true")
    settings(other, "TxEndedMeasurands", "")
    mark = csms.mark()
    transaction_id = energy_transfer_started_state(csms, evse)
    time.sleep(3.5)              # the values build up inside the Evse: nothing to probe
    return transaction_id, stop_and_unplug(csms, evse, mark)


def one_per_second(ended: dict, context: str) -> list[dict]:
    """Post scenario: an element per data collection moment, timestamps the interval apart."""
    series = [mv for mv in ended["meterValue"]
              if mv["sampledValue"][0].get("context") == context]
    assert len(series) >= 3, ended["meterValue"]
    assert interval_between([mv["timestamp"] for mv in series]) == {1.0}
    return series


def test_tc_j_04_signed_clock_aligned_values_in_ended(csms, station, evse, idle, settings):
    """TC_J_04_CS: Clock-aligned Meter Values - Signed (J01.FR.21): AlignedDataSignReadings
    true; every Sample.Clock value of the Ended event carries a signedMeterValue with a public
    key (this station sends it with every value), one per AlignedDataTxEndedInterval."""
    transaction_id, ended = signed_session_ended(csms, evse, settings, "AlignedDataCtrlr",
                                                 "SampledDataCtrlr")
    keys = set()
    for timestamp, sampled_value in register_values(one_per_second(ended, "Sample.Clock")):
        assert_signed(sampled_value, transaction_id, timestamp)
        keys.add(sampled_value["signedMeterValue"]["publicKey"])
    assert len(keys) == 1                           # one meter, one key


def test_tc_j_11_signed_sampled_values_in_ended(csms, station, evse, idle, settings):
    """TC_J_11_CS: Sampled Meter Values - Signed (J02.FR.21): SampledDataSignReadings true;
    the Ended event's Sample.Periodic values (one per TxEndedInterval) and its Transaction.End
    value carry a signedMeterValue with a public key."""
    transaction_id, ended = signed_session_ended(csms, evse, settings, "SampledDataCtrlr",
                                                 "AlignedDataCtrlr")
    one_per_second(ended, "Sample.Periodic")
    contexts = [mv["sampledValue"][0].get("context") for mv in ended["meterValue"]]
    assert contexts.count("Transaction.End") == 1 and contexts[-1] == "Transaction.End"
    values = register_values(ended["meterValue"])
    assert len(values) == len(ended["meterValue"])
    counters = [assert_signed(sv, transaction_id, timestamp)["counter"]
                for timestamp, sv in values]
    assert len(set(counters)) == len(counters)      # every value signed on its own


def test_no_schema_violations(csms, station):
    """Every message the station sent during these cases was schema-valid."""
    assert csms.violations(IDENTITY) == []
