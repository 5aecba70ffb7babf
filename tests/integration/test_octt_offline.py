"""OCTT test cases of block E about the message queue: offline behaviour (E11/E12, E08),
GetTransactionStatus with messages in the queue (E14) and retries (E13), Charging Station side,
against the real station (identity ``OCTT-Q``, one EVSE). Its EVSE has the simulator's
parking-bay sensor (``evses.parking_bay_sensor``), so the ParkingBayOccupancy start and stop
cases (TC_E_12, TC_E_19) run here too. The offline cases that start or stop a transaction
with a card while off line (TC_E_16, TC_E_43, TC_E_45) build their memory state with
SendLocalList, the way the OCTT would, and empty the list again afterwards.

"The OCTT closes the WebSocket connection AND does not accept a reconnect" is played by
stopping this module's test CSMS: the station's reconnect attempts are refused until it is
started again on the same port. RetryBackOffWaitMinimum is 3 s and RetryBackOffRandomRange 0,
so the station's first attempt comes 3 s after the close: the CSMS is back by then.
"""
from __future__ import annotations

import threading
import time

import pytest

from simulators.csms import CallErrorReply

from tests.integration.octt import VALID_TOKEN, VALID_TOKEN2, Octt, evses_told
from tests.integration.test_station import http

pytestmark = pytest.mark.integration

IDENTITY = "OCTT-Q"
RETRY_BACK_OFF_WAIT_MINIMUM = 3          # <Configured RetryBackOffWaitMinimum_duration>
TX_UPDATED_INTERVAL = 1                  # <Configured transaction_update_metricvalues_interval>
MESSAGE_ATTEMPTS = 3                     # <Configured message Attempts transaction event>
MESSAGE_ATTEMPT_INTERVAL = 1             # <Configured message Attempts ... interval>
GROUP = {"idToken": "OCTT-GROUP", "type": "Central"}   # <Configured GroupIdToken>


@pytest.fixture(scope="module")
def octt(csms, start_station):
    station = start_station(IDENTITY, evses=1, extra={"evses": {"parking_bay_sensor": True}})
    tool = Octt(csms, station, IDENTITY)
    tool.configure("AuthCtrlr", "LocalPreAuthorize", "false")      # part 6 §2.1
    tool.configure("OCPPCommCtrlr", "RetryBackOffWaitMinimum", str(RETRY_BACK_OFF_WAIT_MINIMUM))
    tool.configure("OCPPCommCtrlr", "RetryBackOffRandomRange", "0")
    tool.configure("OCPPCommCtrlr", "OfflineThreshold", str(RETRY_BACK_OFF_WAIT_MINIMUM + 60))
    return tool


@pytest.fixture
def idle(octt, csms):
    yield
    csms.set_handler("TransactionEvent", None)
    if not csms.is_connected(IDENTITY):
        csms.start()
        csms.wait_connected(IDENTITY, timeout=30)
    octt.back_to_idle()


@pytest.fixture
def metered(octt):
    before = octt.configure("SampledDataCtrlr", "TxUpdatedInterval", str(TX_UPDATED_INTERVAL))
    yield
    octt.configure("SampledDataCtrlr", "TxUpdatedInterval", before)


def go_offline(csms) -> None:
    """Step 1: close the connection and refuse reconnects (the CSMS is down)."""
    csms.stop()
    assert not csms.is_connected(IDENTITY)


def back_online(csms) -> int:
    """Step 2: accept the reconnection; returns the mark from before it."""
    mark = csms.mark()
    csms.start()
    csms.wait_connected(IDENTITY, timeout=30)
    return mark


def held_transaction_events(csms) -> threading.Event:
    """Hold every TransactionEventResponse until the returned event is set, so the queue is
    not empty yet when GetTransactionStatus arrives "the moment the connection is restored"."""
    release = threading.Event()

    def answer(identity: str, payload: dict):
        release.wait(15)
        return csms.default_answer(identity, "TransactionEvent", payload)
    csms.set_handler("TransactionEvent", answer)
    return release


def test_tc_e_40_connection_loss_during_transaction(octt, csms, idle, metered):
    """TC_E_40_CS: Offline Behaviour - Connection loss during transaction (E11.FR.01, .02, .06):
    the periodic Updated events of the offline period are queued and sent after the
    reconnect, with meter values and offline true."""
    octt.authorized()
    transaction_id = octt.energy_transfer_started()
    go_offline(csms)
    # Step 2 is "wait": off line for a while, so periodic events pile up in the queue (the
    # time itself is the point; nothing reaches the CSMS meanwhile).
    time.sleep(RETRY_BACK_OFF_WAIT_MINIMUM - 1)                                    # step 2
    mark = back_online(csms)
    octt.wait_tx(mark, offline=True)                                               # step 3
    octt.settled()                       # the rest of the queue came before its MeterValues
    queued = [p for p in octt.received("TransactionEvent", mark) if p.get("offline")]
    assert queued
    for event in queued:
        assert event["eventType"] == "Updated"
        assert event["meterValue"]
        assert event["transactionInfo"]["transactionId"] == transaction_id
    octt.seq_continuous(transaction_id)


@pytest.mark.parametrize("with_id", [True, False], ids=["TC_E_29_CS", "TC_E_33_CS"])
def test_tc_e_29_e_33_status_ongoing_with_messages_in_queue(octt, csms, idle, metered, with_id):
    """TC_E_29_CS (with transactionId: ongoingIndicator true, E14.FR.02/04) and TC_E_33_CS
    (without: no ongoingIndicator, E14.FR.06/07): messagesInQueue true while the events of the
    offline period are still being delivered; they are Updated with meter values, offline."""
    octt.authorized()
    transaction_id = octt.energy_transfer_started()
    go_offline(csms)
    time.sleep(RETRY_BACK_OFF_WAIT_MINIMUM - 1)       # as in TC_E_40: events pile up off line
    release = held_transaction_events(csms)
    try:
        mark = back_online(csms)
        octt.wait_tx(mark, offline=True)             # the first queued event is in flight
        request = {"transactionId": transaction_id} if with_id else {}
        status = octt.call("GetTransactionStatus", request)                        # step 4
    finally:
        release.set()
    expected = {"messagesInQueue": True}
    if with_id:
        expected["ongoingIndicator"] = True
    assert status == expected
    for event in [p for p in octt.received("TransactionEvent", mark) if p.get("offline")]:
        assert event["eventType"] == "Updated" and event["meterValue"]             # step 5


def test_tc_e_31_status_ended_with_messages_in_queue(octt, csms, idle):
    """TC_E_31_CS: Check Transaction status - Transaction with id ended - with message in queue
    (E14.FR.03, .04): stopped with the same card and unplugged while offline; after the
    reconnect ongoingIndicator false, messagesInQueue true; then the Ended event arrives."""
    octt.authorized()
    transaction_id = octt.energy_transfer_started()
    go_offline(csms)
    octt.present(VALID_TOKEN)                      # the same card stops it, also offline
    octt.plug_out()
    release = held_transaction_events(csms)
    try:
        mark = back_online(csms)
        octt.wait_tx(mark, offline=True)
        status = octt.call("GetTransactionStatus", {"transactionId": transaction_id})
    finally:
        release.set()
    assert status == {"ongoingIndicator": False, "messagesInQueue": True}          # step 2
    ended = octt.wait_tx(mark, eventType="Ended")                                  # step 3
    assert ended["offline"] is True
    assert ended["triggerReason"] == "StopAuthorized"
    octt.seq_continuous(transaction_id)


def test_tc_e_44_stop_transaction_during_offline_period(octt, csms, idle):
    """TC_E_44_CS: Offline Behaviour - Stop transaction during offline period (E08.FR.01, .04-.08):
    the same card stops the transaction while offline (no Authorize needed, E07.FR.01 a); the
    events reach the CSMS after the reconnect, all offline, one of them Ended."""
    octt.authorized()
    transaction_id = octt.energy_transfer_started()
    go_offline(csms)
    octt.present(VALID_TOKEN)
    octt.plug_out()
    deadline = time.monotonic() + 15
    while octt.view()["transaction"] is not None:       # ended off line, before the reconnect
        assert time.monotonic() < deadline, "the card did not stop the transaction"
        time.sleep(0.05)
    mark = back_online(csms)
    ended = octt.wait_tx(mark, eventType="Ended")                                  # step 3
    queued = [p for p in octt.received("TransactionEvent", mark)]
    assert queued and all(p.get("offline") is True for p in queued)
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    octt.seq_continuous(transaction_id)


def attempts_of_started(octt: Octt, after: int) -> list[float]:
    """When (CSMS receive time) each transmission of the first Started event after ``after``
    came in."""
    records = [r for r in octt.csms.received("TransactionEvent", IDENTITY)
               if r.seq > after and r.payload["eventType"] == "Started"]
    first = records[0].payload["transactionInfo"]["transactionId"] if records else None
    return [r.timestamp for r in records
            if r.payload["transactionInfo"]["transactionId"] == first]


@pytest.fixture
def retries(octt):
    attempts = octt.configure("OCPPCommCtrlr", "MessageAttempts", str(MESSAGE_ATTEMPTS),
                              "TransactionEvent")
    interval = octt.configure("OCPPCommCtrlr", "MessageAttemptInterval",
                              str(MESSAGE_ATTEMPT_INTERVAL), "TransactionEvent")
    yield
    octt.configure("OCPPCommCtrlr", "MessageAttempts", attempts, "TransactionEvent")
    octt.configure("OCPPCommCtrlr", "MessageAttemptInterval", interval, "TransactionEvent")


def test_tc_e_50_retry_until_max_attempts_call_error(octt, csms, idle, retries):
    """TC_E_50_CS: Retry sending transaction message when failed - Max retry count reached -
    CallError (E13.FR.01-04): the Started event is sent MessageAttempts times, the k-th retry
    after k x MessageAttemptInterval, and then no more."""
    csms.set_handler("TransactionEvent", lambda identity, payload: CallErrorReply(
        "InternalError", "OCTT refuses"))
    mark = octt.mark()
    octt.authorized()                                            # Authorized
    octt.plug_in()                                               # EVConnectedPreSession
    deadline = time.monotonic() + 15
    while len(attempts_of_started(octt, mark)) < MESSAGE_ATTEMPTS:
        assert time.monotonic() < deadline, attempts_of_started(octt, mark)
        time.sleep(0.2)
    # One more iteration, with the interval multiplied again: nothing more may come. A retry
    # would come from the queue's timer, which no barrier orders, so this waits it out.
    time.sleep((MESSAGE_ATTEMPTS + 1) * MESSAGE_ATTEMPT_INTERVAL + 1)
    times = attempts_of_started(octt, mark)
    assert len(times) == MESSAGE_ATTEMPTS                                          # E13.FR.04
    for k, (earlier, later) in enumerate(zip(times, times[1:]), start=1):
        assert later - earlier >= k * MESSAGE_ATTEMPT_INTERVAL - 0.1               # E13.FR.03


def test_tc_e_51_retry_success_before_max_call_error(octt, csms, idle, retries):
    """TC_E_51_CS: Retry sending transaction message when failed - Success before reaching the
    max retry count - CallError (E13.FR.01-03): the first transmission is refused, the second
    answered; there is no third."""
    seen: set[str] = set()

    def first_refused(identity: str, payload: dict):
        key = f"{payload['transactionInfo']['transactionId']}:{payload['seqNo']}"
        if key not in seen:
            seen.add(key)
            return CallErrorReply("InternalError", "OCTT refuses once")
        return csms.default_answer(identity, "TransactionEvent", payload)
    csms.set_handler("TransactionEvent", first_refused)
    mark = octt.mark()
    octt.authorized()
    octt.plug_in()
    deadline = time.monotonic() + 10
    while len(attempts_of_started(octt, mark)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(3 * MESSAGE_ATTEMPT_INTERVAL + 1)      # no third: a retry timer, as in TC_E_50
    times = attempts_of_started(octt, mark)
    assert len(times) == 2
    assert times[1] - times[0] >= MESSAGE_ATTEMPT_INTERVAL - 0.1


def test_tc_e_12_start_point_parking_bay_occupied(octt, idle):
    """TC_E_12_CS: Start transaction options - ParkingBayOccupied (E01.FR.01, .07, .10, .15,
    .16): driving into the bay starts the transaction, triggerReason EVDetected."""
    before = octt.configure("TxCtrlr", "TxStartPoint", "ParkingBayOccupancy")
    try:
        mark = octt.mark()
        octt.post("parking", {"occupied": True})
        started = octt.wait_tx(mark, eventType="Started")                          # step 1
        assert started["triggerReason"] == "EVDetected"
        assert started["seqNo"] == 0 and started["evse"]["id"] == 1
        octt.post("parking", {"occupied": False})
        # ParkingBayOccupancy is no stop point here: EVDeparted is an Updated event; the
        # clean-up stops the transaction remotely.
        assert octt.wait_tx(mark, triggerReason="EVDeparted")["eventType"] == "Updated"
    finally:
        octt.configure("TxCtrlr", "TxStartPoint", before)


def test_tc_e_19_stop_point_parking_bay_unoccupied(octt, idle):
    """TC_E_19_CS: Stop transaction options - ParkingBayUnoccupied (E06.FR.01, .15): the card
    stopped the charging and the cable is out (EVDisconnected); the transaction ends when the
    EV leaves the bay: Ended, EVDeparted, stoppedReason Local."""
    before = octt.configure("TxCtrlr", "TxStopPoint", "ParkingBayOccupancy")
    try:
        octt.post("parking", {"occupied": True})
        octt.authorized()
        transaction_id = octt.energy_transfer_started()
        octt.present(VALID_TOKEN)                                  # StopAuthorized (local)
        octt.ev("suspended")
        octt.plug_out()                                            # EVDisconnected
        mark = octt.mark()
        octt.post("parking", {"occupied": False})
        ended = octt.wait_tx(mark, eventType="Ended")                              # step 1
        assert ended["triggerReason"] == "EVDeparted"
        assert ended["transactionInfo"]["stoppedReason"] == "Local"
        assert ended["transactionInfo"]["transactionId"] == transaction_id
        octt.seq_continuous(transaction_id)
    finally:
        octt.configure("TxCtrlr", "TxStopPoint", before)


# --------------------------------------------------------------------------------------------
# Offline cases that need local authorization (the Local Authorization List)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def local_list(octt, csms):
    """``local_list(*entries)``: Memory State IdTokenLocalAuthList, sent as a Full list; the
    list is emptied again after the case so later cases see only their own memory state.
    Entries are ``(token, idTokenInfo)``; LocalAuthorizeOffline is true as shipped."""
    def send(*entries: tuple[dict, dict]) -> None:
        version = octt.call("GetLocalListVersion", {})["versionNumber"] + 1
        payload = {"updateType": "Full", "versionNumber": version,
                   "localAuthorizationList": [{"idToken": token, "idTokenInfo": info}
                                              for token, info in entries]}
        assert octt.call("SendLocalList", payload)["status"] == "Accepted"
    yield send
    csms.set_handler("Authorize", None)
    if not csms.is_connected(IDENTITY):            # the idle fixture may come after this one
        csms.start()
        csms.wait_connected(IDENTITY, timeout=30)
    version = octt.call("GetLocalListVersion", {})["versionNumber"] + 1
    assert octt.call("SendLocalList", {"updateType": "Full",
                                       "versionNumber": version})["status"] == "Accepted"


@pytest.fixture
def offline_tx_for_unknown_id(octt, csms):
    """Configuration State "OfflineTxForUnknownIdEnabled is true (If implemented)"."""
    before = octt.configure("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "true")
    yield
    if not csms.is_connected(IDENTITY):
        csms.start()
        csms.wait_connected(IDENTITY, timeout=30)
    octt.configure("AuthCtrlr", "OfflineTxForUnknownIdEnabled", before)


def start_offline_transaction(octt, csms, token: dict = VALID_TOKEN) -> None:
    """Reusable state StartOfflineTransaction, up to (not including) the reconnection."""
    go_offline(csms)
    octt.post("parking", {"occupied": True})
    octt.present(token)
    octt.plug_in()
    deadline = time.monotonic() + 15
    while octt.view().get("transaction") is None:        # nothing reaches the CSMS off line
        assert time.monotonic() < deadline, "no offline transaction"
        time.sleep(0.05)


def test_tc_e_16_offline_started_then_invalid_ends_deauthorized(octt, csms, idle, local_list,
                                                                offline_tx_for_unknown_id):
    """TC_E_16_CS: Stop transaction options - Deauthorized - Invalid idToken (E06.FR.04,
    C15.FR.04, E05.FR.10): a transaction started off line on the local list; after the
    reconnect the CSMS answers its idToken Invalid; StopTxOnInvalidId true and Authorized a
    stop point, so it ends: Ended, Deauthorized, DeAuthorized."""
    local_list((VALID_TOKEN, {"status": "Accepted"}))
    stop_points = octt.configure("TxCtrlr", "TxStopPoint", "EVConnected,Authorized")
    stop_on_invalid = octt.configure("TxCtrlr", "StopTxOnInvalidId", "true")
    csms.set_handler("TransactionEvent", lambda identity, payload: (
        {"idTokenInfo": {"status": "Invalid"}} if "idToken" in payload else {}))
    try:
        start_offline_transaction(octt, csms)
        mark = back_online(csms)
        first = octt.wait_tx(mark)                                                 # step 1
        assert first["offline"] is True and first["idToken"] == VALID_TOKEN
        ended = octt.wait_tx(mark, triggerReason="Deauthorized")                   # step 3
        assert ended["eventType"] == "Ended"
        assert ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"
        octt.seq_continuous(ended["transactionInfo"]["transactionId"])
        # E05.FR.11: the cable stays locked until its owner's card releases it.
        csms.set_handler("TransactionEvent", None)
        octt.plug_out()
        octt.present(VALID_TOKEN)
        octt.post("parking", {"occupied": False})
    finally:
        octt.configure("TxCtrlr", "StopTxOnInvalidId", stop_on_invalid)
        octt.configure("TxCtrlr", "TxStopPoint", stop_points)


def test_tc_e_43_transaction_during_offline_period(octt, csms, idle, local_list,
                                                   offline_tx_for_unknown_id):
    """TC_E_43_CS: Offline Behaviour - Transaction during offline period (E12.FR.01, .02, .06):
    memory state TransactionEventsInQueueEnded (a whole transaction off line, started and
    stopped with a listed card); after the reconnect every queued event is offline, one
    Started, one Ended (stopped by the card, StopAuthorized)."""
    local_list((VALID_TOKEN, {"status": "Accepted"}))
    start_offline_transaction(octt, csms)
    octt.present(VALID_TOKEN)                           # the same card stops it
    octt.plug_out()
    octt.post("parking", {"occupied": False})
    mark = back_online(csms)
    ended = octt.wait_tx(mark, eventType="Ended")                                  # step 2
    events = octt.received("TransactionEvent", mark)
    assert events and all(e.get("offline") is True for e in events)
    assert [e["eventType"] for e in events][0] == "Started"
    assert any(e["triggerReason"] == "StopAuthorized" for e in events)
    octt.seq_continuous(ended["transactionInfo"]["transactionId"])


def test_tc_e_45_stop_offline_same_group_id(octt, csms, idle, local_list):
    """TC_E_45_CS: Offline Behaviour - Stop transaction during offline period - Same GroupId
    (E08.FR.02, .04-.08; C09.FR.07): started on line with a card of <Configured
    GroupIdToken>; off line a second card of that group, known from the local list, stops it;
    after the reconnect all events are offline, one of them Ended. The Ended comes from that
    card (StopAuthorized with its idToken), not from the unplugging after it."""
    local_list((VALID_TOKEN2, {"status": "Accepted", "groupIdToken": GROUP}))
    csms.set_handler("Authorize", lambda identity, payload: {"idTokenInfo": {
        "status": "Accepted", "groupIdToken": GROUP}})
    octt.authorized(VALID_TOKEN)                          # Authorized with the GroupIdToken
    transaction_id = octt.energy_transfer_started()
    go_offline(csms)
    octt.present(VALID_TOKEN2)
    deadline = time.monotonic() + 15
    while octt.view()["transaction"] is not None:         # ended off line by the group card
        assert time.monotonic() < deadline, "the group card did not stop the transaction"
        time.sleep(0.05)
    octt.plug_out()
    mark = back_online(csms)
    ended = octt.wait_tx(mark, eventType="Ended")                                  # step 3
    events = octt.received("TransactionEvent", mark)
    assert events and all(e.get("offline") is True for e in events)
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    assert ended["triggerReason"] == "StopAuthorized" and ended["idToken"] == VALID_TOKEN2
    octt.seq_continuous(transaction_id)


# --------------------------------------------------------------------------------------------
# Beyond the OCTT cases: QueueAllMessages and the notifications (issue #9, station.send_policy)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def queue_all(octt, csms):
    """``queue_all(value)``: OCPPCommCtrlr.QueueAllMessages for one test; restored after.
    The lock is working again and the external limit gone (on line) after the test."""
    saved = []

    def configure(value: bool) -> None:
        saved.append(octt.configure("OCPPCommCtrlr", "QueueAllMessages",
                                    "true" if value else "false"))
    yield configure
    http("POST", f"{octt.api}/evses/1/lock-failure", {"active": False})
    if not csms.is_connected(IDENTITY):
        csms.start()
        csms.wait_connected(IDENTITY, timeout=30)
    http("POST", f"{octt.api}/evses/1/external-limit", {"limit": None})
    if saved:
        octt.configure("OCPPCommCtrlr", "QueueAllMessages", saved[0])


def station_offline(octt) -> None:
    """Wait until the station itself saw the link go (not only the CSMS)."""
    deadline = time.monotonic() + 15
    while http("GET", f"{octt.api}/station")[1]["csms"]["connected"]:
        assert time.monotonic() < deadline, "the station did not notice the CSMS is gone"
        time.sleep(0.05)


def wait_output(octt, text: str, since: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while text not in octt.station.output()[since:]:
        assert time.monotonic() < deadline, f"no {text!r} in the station's output"
        time.sleep(0.05)


def raise_notifications_offline(octt, csms, local_list) -> str:
    """Off line: an external limit (K11: NotifyChargingLimit) and a retention lock that does
    not engage once an authorized driver's cable is in (G05.FR.02: NotifyEvent Problem, trigger
    Delta). Returns "queued" or "dropped": what the sending port did with both, from its log."""
    local_list((VALID_TOKEN, {"status": "Accepted"}))     # authorized off line (C12)
    octt.post("lock-failure", {"active": True})
    go_offline(csms)
    station_offline(octt)
    since = len(octt.station.output())
    octt.post("external-limit", {"limit": 16, "unit": "A", "source": "EMS"})
    octt.plug_in()
    octt.present(VALID_TOKEN)
    outcomes = set()
    for action in ("NotifyChargingLimit", "NotifyEvent"):
        deadline = time.monotonic() + 15
        while not any(f"{action} raised while offline: {o}" in octt.station.output()[since:]
                      for o in ("queued", "dropped")):
            assert time.monotonic() < deadline, f"no {action} raised off line"
            time.sleep(0.05)
        outcomes |= {o for o in ("queued", "dropped")
                     if f"{action} raised while offline: {o}" in octt.station.output()[since:]}
    assert len(outcomes) == 1, outcomes
    return outcomes.pop()


def lock_problem(payload: dict) -> bool:
    return any(e["component"]["name"] == "ConnectorPlugRetentionLock"
               and e["variable"]["name"] == "Problem" and e["actualValue"] == "true"
               and e["trigger"] == "Delta" for e in payload["eventData"])


def test_queue_all_messages_true_delivers_notifications_raised_offline(octt, csms, idle,
                                                                        local_list, queue_all):
    """QueueAllMessages true (part 2 §2.1.9: "queue all message until they are delivered"):
    a NotifyChargingLimit and a Delta NotifyEvent raised off line reach the CSMS after the
    reconnect."""
    queue_all(True)
    assert raise_notifications_offline(octt, csms, local_list) == "queued"
    mark = back_online(csms)
    limit = octt.wait("NotifyChargingLimit", mark)
    assert limit["chargingLimit"]["chargingLimitSource"] == "EMS" and limit["evseId"] == 1
    octt.wait("NotifyEvent", mark, lock_problem)


def test_queue_all_messages_false_drops_notifications_raised_offline(octt, csms, idle,
                                                                      local_list, queue_all):
    """QueueAllMessages false (§2.1.9: "only queue Transaction related messages"): the
    table's QUEUE_ALL policy drops them off line; the transaction's events still arrive."""
    queue_all(False)
    assert raise_notifications_offline(octt, csms, local_list) == "dropped"
    mark = back_online(csms)
    # A triggered MeterValues takes the same (normal) lane of the queue: once it is in, so
    # would be anything queued before it.
    evses_told(csms, IDENTITY)
    assert octt.received("NotifyChargingLimit", mark) == []
    assert not any(lock_problem(p) for p in octt.received("NotifyEvent", mark))


def test_no_schema_violations(octt, csms):
    assert csms.violations(IDENTITY) == []
