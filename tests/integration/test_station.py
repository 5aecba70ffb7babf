"""The real station (run.py, multiprocTCPBase, real websocket) against the test CSMS on 127.0.0.1.

One station serves the tests of the first classes, in order; the restart test starts its own.
"""
from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request

import pytest

from messages.evse import EvseStatus, GetEvseStatus
from messages.supervision import GetDirectory, GetStationHealth
from simulators.csms import CallErrorResult, CsmsServer
from station.actor_system import connect_to_actor_system

from tests.integration.relay import RejectingRelay
from tests.integration.station_process import StationProcess, listener_pid
from tests.integration.test_loopback_only import (_all_ppids, _bound_sockets, _descendants,
                                                  _is_loopback, _socket_inodes)

pytestmark = pytest.mark.integration

CP = "CP001"


@pytest.fixture(scope="module")
def station(start_station):
    return start_station(CP)


@pytest.fixture(scope="module")
def actors(station):
    """A handle on the running actor system, to look inside the station."""
    return connect_to_actor_system("multiprocTCPBase", station.admin_port)


def get_variable(csms, component, variable, **extra):
    result = csms.call(CP, "GetVariables", {"getVariableData": [
        {"component": {"name": component}, "variable": {"name": variable, **extra}}]})
    return result["getVariableResult"][0]


def set_variables(csms, *triples):
    result = csms.call(CP, "SetVariables", {"setVariableData": [
        {"component": {"name": c}, "variable": {"name": v}, "attributeValue": value}
        for c, v, value in triples]})
    assert all(r["attributeStatus"] == "Accepted" for r in result["setVariableResult"]), result


class TestBoot:
    def test_boot_notification(self, csms, station):
        boot = csms.wait_for("BootNotification", identity=CP, timeout=30)
        assert boot["reason"] == "PowerUp"
        assert boot["chargingStation"]["serialNumber"] == "SN-IT"

    def test_every_connector_reported_available(self, csms, station):
        for evse_id in (1, 2):
            csms.wait_for("StatusNotification", identity=CP, timeout=30, predicate=lambda p, e=evse_id:
                          p["evseId"] == e and p["connectorStatus"] == "Available")
        csms.wait_for("NotifyEvent", identity=CP, timeout=30)
        csms.wait_for("SecurityEventNotification", identity=CP, timeout=30,
                      predicate=lambda p: p["type"] == "StartupOfTheDevice")

    def test_no_schema_violations_from_the_station(self, csms, station):
        assert csms.violations(CP) == []

    def test_message_log_written(self, station):
        logs = list((station.workdir / "log").glob(f"{CP}-*.log"))
        assert logs and "BootNotification" in logs[0].read_text()
        assert list((station.workdir / "log").glob(f"{CP}-*.html"))


class TestProvisioning:
    def test_set_then_get_variable(self, csms, station):
        result = csms.call(CP, "SetVariables", {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"},
            "attributeValue": "321"}]})
        assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
        got = get_variable(csms, "OCPPCommCtrlr", "OfflineThreshold")
        assert got["attributeStatus"] == "Accepted" and got["attributeValue"] == "321"

    def test_full_inventory_report(self, csms, station):
        mark = csms.mark()
        assert csms.call(CP, "GetBaseReport", {"requestId": 77, "reportBase": "FullInventory"}) \
            == {"status": "Accepted"}
        last = csms.wait_for("NotifyReport", identity=CP, timeout=30, after=mark,
                             predicate=lambda p: p["requestId"] == 77 and not p.get("tbc"))
        pages = [r.payload for r in csms.received("NotifyReport", CP)
                 if r.seq > mark and r.payload["requestId"] == 77]
        assert [p["seqNo"] for p in pages] == list(range(len(pages)))
        assert last["seqNo"] == len(pages) - 1

    def test_trigger_heartbeat(self, csms, station):
        mark = csms.mark()
        assert csms.call(CP, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == \
            {"status": "Accepted"}
        csms.wait_for("Heartbeat", identity=CP, after=mark, timeout=10)


class TestMalformedInput:
    """Part 4: every bad frame gets its CALLERROR and the connection lives on."""

    @pytest.mark.parametrize("frame, code, message_id", [
        ("this is not json", "RpcFrameworkError", "-1"),
        ('[2, "m-2", "NoSuchAction", {}]', "NotImplemented", "m-2"),
        ('[7, "m-3", "Heartbeat", {}]', "MessageTypeNotSupported", "m-3"),
        ('[2, "m-4", "CustomerInformation", {"requestId": 1, "report": true, "clear": false}]',
         "NotSupported", "m-4"),
        ('[2, "m-5", "GetVariables", {}]', "OccurrenceConstraintViolation", "m-5"),
        ('[2, "m-6", "GetVariables", {"getVariableData": 5}]', "TypeConstraintViolation", "m-6"),
    ])
    def test_answered_and_connection_alive(self, csms, station, frame, code, message_id):
        connections = csms.connection_count(CP)
        after = csms.send_raw(CP, frame)
        reply = csms.wait_raw(CP, lambda text: text.startswith("[4,"), after=after, timeout=10)
        error = json.loads(reply)
        assert error[1] == message_id and error[2] == code
        assert get_variable(csms, "OCPPCommCtrlr", "OfflineThreshold")["attributeStatus"] \
            == "Accepted"
        assert csms.connection_count(CP) == connections


class TestReservations:
    def test_reserve_then_cancel_shows_reserved_then_available(self, csms, station):
        from datetime import datetime, timedelta, timezone
        expiry = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        mark = csms.mark()
        assert csms.call(CP, "ReserveNow", {
            "id": 31, "evseId": 2, "expiryDateTime": expiry,
            "idToken": {"idToken": "RES-IT", "type": "ISO14443"}}) == {"status": "Accepted"}
        reserved = csms.wait_for("StatusNotification", identity=CP, timeout=15, after=mark,
                                 predicate=lambda p: p["evseId"] == 2)
        assert reserved["connectorStatus"] == "Reserved"                  # H01.FR.23
        mark = csms.mark()
        assert csms.call(CP, "CancelReservation", {"reservationId": 31}) == \
            {"status": "Accepted"}                                         # H02.FR.02
        available = csms.wait_for("StatusNotification", identity=CP, timeout=15, after=mark,
                                  predicate=lambda p: p["evseId"] == 2)
        assert available["connectorStatus"] == "Available"                 # H02.FR.03


def kill_evse(actors, root, directory, evse_id: int, pid: int) -> EvseStatus:
    """SIGKILL the Evse process ``pid``; wait until the Root restarted it (a new address in the
    Directory) and return the new one's status."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while True:
        directory_now = actors.ask(root, GetDirectory(), 10)
        if directory_now.evses.get(evse_id) not in (None, directory.evses[evse_id]):
            break
        assert time.monotonic() < deadline, "the Evse was not restarted"
        time.sleep(0.2)
    status = actors.ask(directory_now.evses[evse_id], GetEvseStatus(), 10)
    assert status.pid != pid
    return status


class TestSupervision:
    def test_killed_evse_process_restarts_with_its_state(self, csms, station, actors):
        root = actors.createActor("actors.root.Root", globalName="ocpp201-root")
        directory = actors.ask(root, GetDirectory(), 10)
        assert csms.call(CP, "ChangeAvailability", {"operationalStatus": "Inoperative",
                                                    "evse": {"id": 2}}) == {"status": "Accepted"}
        csms.wait_for("StatusNotification", identity=CP, timeout=10, predicate=lambda p:
                      p["evseId"] == 2 and p["connectorStatus"] == "Unavailable")
        before = actors.ask(directory.evses[2], GetEvseStatus(), 10)
        assert isinstance(before, EvseStatus) and before.connectors == {1: "Unavailable"}
        unavailable_reports = len(csms.received("StatusNotification", CP))

        after = kill_evse(actors, root, directory, 2, before.pid)
        assert after.connectors == {1: "Unavailable"}                      # G03.FR.08
        health = actors.ask(root, GetStationHealth(), 10)
        assert health.running and health.restarts.get("evse:2") == 1
        # The restarted Evse announced the same status: the CSMS is not told twice.
        settled(csms, CP, evse_id=2)
        assert len(csms.received("StatusNotification", CP)) == unavailable_reports
        assert csms.call(CP, "ChangeAvailability", {"operationalStatus": "Operative",
                                                    "evse": {"id": 2}}) == {"status": "Accepted"}


    def test_evse_killed_mid_transaction_continues_it(self, csms, station, actors):
        """Issue #3 crash test: SIGKILL one Evse process while it charges. The Root restarts it
        (``restarted``), the transaction goes on under the same transactionId, and the CSMS sees
        every seqNo exactly once, without a gap (E01.FR.15/16, E01.FR.08), an Ended at the end,
        and no new StatusNotification (the connector stayed Occupied)."""
        base = f"http://127.0.0.1:{api_port(station)}/api/evses/1"
        root = actors.createActor("actors.root.Root", globalName="ocpp201-root")
        directory = actors.ask(root, GetDirectory(), 10)
        set_variables(csms, ("SampledDataCtrlr", "TxUpdatedInterval", "1"),
                      ("TxCtrlr", "TxStartPoint", "EVConnected"))
        try:
            mark = csms.mark()
            assert http("POST", f"{base}/plug-in", {"connector_id": 1})[0] == 200
            assert http("POST", f"{base}/token", {"id_token": "CRASH001",
                                                  "type": "ISO14443"})[0] == 200
            assert http("POST", f"{base}/ev", {"state": "charging"})[0] == 200
            charging = csms.wait_for("TransactionEvent", identity=CP, after=mark, timeout=15,
                                     predicate=lambda p: p["transactionInfo"].get(
                                         "chargingState") == "Charging")
            transaction_id = charging["transactionInfo"]["transactionId"]
            csms.wait_for("TransactionEvent", identity=CP, after=mark, timeout=15,
                          predicate=lambda p: p["triggerReason"] == "MeterValuePeriodic")
            before = actors.ask(directory.evses[1], GetEvseStatus(), 10)
            assert before.connectors == {1: "Occupied"}
            statuses = len(csms.received("StatusNotification", CP))

            killed = csms.mark()
            after = kill_evse(actors, root, directory, 1, before.pid)
            assert after.connectors == {1: "Occupied"}
            assert after.transaction["id"] == transaction_id
            assert after.transaction["chargingState"] == "Charging"
            # The restarted Evse keeps metering the same transaction...
            csms.wait_for("TransactionEvent", identity=CP, after=killed, timeout=15,
                          predicate=lambda p: p["triggerReason"] == "MeterValuePeriodic"
                          and p["transactionInfo"]["transactionId"] == transaction_id)
            # ...and ends it normally.
            assert http("POST", f"{base}/token", {"id_token": "CRASH001",
                                                  "type": "ISO14443"})[0] == 200
            assert http("POST", f"{base}/plug-out")[0] == 200
            csms.wait_for("TransactionEvent", identity=CP, after=killed, timeout=15,
                          predicate=lambda p: p["eventType"] == "Ended"
                          and p["transactionInfo"]["transactionId"] == transaction_id)
            csms.wait_for("StatusNotification", identity=CP, after=killed, timeout=15,
                          predicate=lambda p: p["evseId"] == 1
                          and p["connectorStatus"] == "Available")
            events = [r.payload for r in csms.received("TransactionEvent", CP)
                      if r.payload["transactionInfo"]["transactionId"] == transaction_id]
            assert [e["seqNo"] for e in events] == list(range(len(events)))   # once, no gap
            assert [e["eventType"] for e in events].count("Started") == 1
            assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended"
            assert events[-1]["transactionInfo"]["stoppedReason"] == "Local"
            # Occupied was not reported again by the restarted Evse; Available once at the end.
            new_statuses = [r.payload for r in csms.received("StatusNotification", CP)][statuses:]
            assert [(p["evseId"], p["connectorStatus"]) for p in new_statuses] == \
                [(1, "Available")]
            health = actors.ask(root, GetStationHealth(), 10)
            assert health.running and health.restarts.get("evse:1") == 1
            assert [v for v in csms.violations(CP) if v.seq > mark] == []
        finally:
            set_variables(csms, ("SampledDataCtrlr", "TxUpdatedInterval", "60"),
                          ("TxCtrlr", "TxStartPoint", "PowerPathClosed"))


class TestNetworkExposure:
    def test_every_station_socket_listens_on_loopback(self, csms, station):
        admin = listener_pid(station.admin_port)
        assert admin is not None
        pids = _descendants({admin, station.process.pid}, _all_ppids())
        inodes = set().union(*(_socket_inodes(pid) for pid in pids))
        ours = [s for s in _bound_sockets() if s.inode in inodes]
        assert len(ours) >= 10           # admin, logger, every actor, the embedded pieces
        exposed = [s for s in ours if not _is_loopback(s.address)]
        assert exposed == []


def test_restart_keeps_a_csms_set_value_and_stops_cleanly(csms, tmp_path, free_port):
    identity = "CP-RESTART"
    station = StationProcess(tmp_path, csms.url_base, free_port(), identity=identity)
    try:
        station.start()
        csms.wait_connected(identity, timeout=60)
        csms.wait_for("BootNotification", identity=identity, timeout=30)
        result = csms.call(identity, "SetVariables", {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"},
            "attributeValue": "4321"}]})
        assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
        assert station.stop() == 0
        assert not csms.is_connected(identity)          # websocket closed on SIGTERM

        mark = csms.mark()
        station.start()
        csms.wait_for("BootNotification", identity=identity, timeout=60, after=mark)
        got = csms.call(identity, "GetVariables", {"getVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}]})
        assert got["getVariableResult"][0]["attributeValue"] == "4321"
        assert station.stop() == 0
    finally:
        station.kill()


def test_basic_auth_security_profile_1(tmp_path, free_port):
    """A00.FR.2xx: HTTP Basic auth with the identity as user name; a wrong password is refused."""
    password = "0123456789abcdef0123"
    server = CsmsServer(log=lambda line: None, passwords={"CP-AUTH": password})
    server.start()
    good = StationProcess(tmp_path / "good", server.url_base, free_port(), identity="CP-AUTH",
                          extra={"csms": {"basic_auth_password": password}})
    bad = StationProcess(tmp_path / "bad", server.url_base, free_port(), identity="CP-AUTH",
                         extra={"csms": {"basic_auth_password": "wrong-password-0000"}})
    try:
        bad.start()
        deadline = time.monotonic() + 60
        while "HTTP 401" not in bad.output():             # the refusal reached the station
            assert time.monotonic() < deadline, bad.output()
            time.sleep(0.1)
        assert server.connection_count("CP-AUTH") == 0
        assert bad.stop() == 0
        good.start()
        server.wait_connected("CP-AUTH", timeout=60)
        server.wait_for("BootNotification", identity="CP-AUTH", timeout=30)
        logs = "".join(p.read_text() for p in (tmp_path / "good" / "log").glob("CP-AUTH-*"))
        assert password not in logs
        assert good.stop() == 0
    finally:
        good.kill()
        bad.kill()
        server.stop()


def test_restarted_session_reconnects_and_boots_again(csms, tmp_path, free_port):
    """A CsmsSession whose process dies is restarted; it reconnects and reports a Watchdog boot."""
    identity = "CP-SESSION"
    station = StationProcess(tmp_path, csms.url_base, free_port(), identity=identity)
    station.start()
    try:
        csms.wait_for("BootNotification", identity=identity, timeout=60)
        actors = connect_to_actor_system("multiprocTCPBase", station.admin_port)
        root = actors.createActor("actors.root.Root", globalName="ocpp201-root")
        directory = actors.ask(root, GetDirectory(), 10)
        from messages.csms import GetSessionStatus
        status = actors.ask(directory.csms_session, GetSessionStatus(), 10)
        mark = csms.mark()
        os.kill(status.pid, signal.SIGKILL)
        boot = csms.wait_for("BootNotification", identity=identity, timeout=30, after=mark)
        assert boot["reason"] == "Watchdog"
        # The restarted session learns every connector's status again from the Evses.
        for evse_id in (1, 2):
            csms.wait_for("StatusNotification", identity=identity, timeout=30, after=mark,
                          predicate=lambda p, e=evse_id: p["evseId"] == e)
        assert station.stop() == 0
    finally:
        station.kill()


def test_database_from_a_newer_version_stops_start_up(tmp_path, free_port):
    import sqlite3
    station = StationProcess(tmp_path, "ws://127.0.0.1:9", free_port())
    (tmp_path / "core").mkdir()
    db = sqlite3.connect(tmp_path / "core" / "cp.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    station.start()
    assert station.process.wait(60) == 2
    assert "schema version 99" in station.output() and "Traceback" not in station.output()


def test_silent_connection_is_detected_by_pings(csms, tmp_path, free_port):
    """Part 4 §5.2/§8.4: a link that dies without a FIN is noticed within two ping intervals,
    and the station reconnects."""
    identity = "CP-PING"
    relay = RejectingRelay(csms.port)
    station = StationProcess(tmp_path, relay.url_base, free_port(), identity=identity)
    station.start()
    try:
        csms.wait_for("BootNotification", identity=identity, timeout=60)
        csms.call(identity, "SetVariables", {"setVariableData": [
            {"component": {"name": "OCPPCommCtrlr"},
             "variable": {"name": "WebSocketPingInterval"}, "attributeValue": "1"},
            {"component": {"name": "OCPPCommCtrlr"},
             "variable": {"name": "RetryBackOffRandomRange"}, "attributeValue": "0"},
            {"component": {"name": "OCPPCommCtrlr"},
             "variable": {"name": "RetryBackOffWaitMinimum"}, "attributeValue": "1"}]})
        # Pings answered: nothing happens. What must not happen would come from the ping
        # timer, which no barrier orders, so a few ping intervals are waited out.
        time.sleep(2.5)
        assert len(relay.attempts) == 1
        relay.blackhole()
        silenced = time.monotonic()
        second = relay.wait("attempt", 2, timeout=15)
        assert 2 <= second - silenced <= 6     # 2 intervals silent, a ping tick, 1 s back-off
        assert "no answer to websocket pings" in station.output()
        relay.blackhole(False)
        assert station.stop() == 0
    finally:
        station.kill()
        relay.stop()


class TestWebsocketPing:
    def test_pings_keep_a_live_connection(self, csms, station):
        """Part 4 §8.4: with WebSocketPingInterval 1 the station pings; pongs keep it alive."""
        connections = csms.connection_count(CP)
        result = csms.call(CP, "SetVariables", {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "WebSocketPingInterval"}, "attributeValue": "1"}]})
        assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
        try:
            time.sleep(3.5)        # a few ping intervals: the timer's doing, no barrier orders it
            assert csms.connection_count(CP) == connections
            assert csms.is_connected(CP)
            assert "websocket pings" not in station.output()
        finally:
            csms.call(CP, "SetVariables", {"setVariableData": [{
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "WebSocketPingInterval"}, "attributeValue": "0"}]})


def api_port(station) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"control API on http://127\.0\.0\.1:(\d+)/", station.output())
        if match:
            return int(match.group(1))
        time.sleep(0.1)
    raise AssertionError("the control API did not start:\n" + station.output())


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class TestControlApi:
    def test_station_and_evse_views(self, csms, station):
        base = f"http://127.0.0.1:{api_port(station)}/api"
        status, body = http("GET", f"{base}/station")
        assert status == 200 and body["identity"] == CP
        assert body["csms"]["connected"] is True and body["csms"]["registration"] == "Accepted"
        assert [e["id"] for e in body["evses"]] == [1, 2]
        status, body = http("GET", f"{base}/evses/1")
        assert status == 200 and body["connectors"] == [{"id": 1, "status": "Available"}]

    def test_unknown_evse_and_forbidden_websocket_control(self, csms, station):
        base = f"http://127.0.0.1:{api_port(station)}/api"
        assert http("GET", f"{base}/evses/9")[0] == 404
        assert http("POST", f"{base}/csms/disconnect")[0] == 403


def test_external_websocket_control(csms, tmp_path, free_port):
    """EnableExternalWebsocketControl: the API may take the station off line and back."""
    identity = "CP-WSCTL"
    station = StationProcess(tmp_path, csms.url_base, free_port(), identity=identity,
                             extra={"ocpp": {"EnableExternalWebsocketControl": True}})
    station.start()
    try:
        csms.wait_for("BootNotification", identity=identity, timeout=60)
        base = f"http://127.0.0.1:{api_port(station)}/api"
        assert http("POST", f"{base}/csms/disconnect")[0] == 200
        deadline = time.monotonic() + 10
        while csms.is_connected(identity):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # A reconnect would come from the back-off timer (RetryBackOffWaitMinimum), which no
        # barrier orders: wait past it.
        time.sleep(1)
        assert csms.connection_count(identity) == 1          # it stays off line
        assert http("POST", f"{base}/csms/connect")[0] == 200
        csms.wait_connected(identity, timeout=10, count=2)
        assert station.stop() == 0
    finally:
        station.kill()


def test_reset_restarts_the_actor_tree_and_keeps_unavailable(csms, tmp_path, free_port):
    """TC_B_20 / TC_B_23: Reset OnIdle without transactions is Accepted, every actor process is
    restarted, BootNotification says RemoteReset, and an Unavailable EVSE stays Unavailable."""
    identity = "CP-RESET"
    station = StationProcess(tmp_path, csms.url_base, free_port(), identity=identity)
    station.start()
    try:
        csms.wait_for("StatusNotification", identity=identity, timeout=60)
        assert csms.call(identity, "ChangeAvailability", {
            "operationalStatus": "Inoperative", "evse": {"id": 2, "connectorId": 1}}) \
            == {"status": "Accepted"}
        admin_before = listener_pid(station.admin_port)
        mark = csms.mark()
        assert csms.call(identity, "Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
        boot = csms.wait_for("BootNotification", identity=identity, timeout=60, after=mark)
        assert boot["reason"] == "RemoteReset"                             # B11.FR.04
        assert listener_pid(station.admin_port) not in (None, admin_before)
        csms.wait_for("StatusNotification", identity=identity, timeout=30, after=mark,
                      predicate=lambda p: p["evseId"] == 2 and p["connectorStatus"] == "Unavailable")
        csms.wait_for("StatusNotification", identity=identity, timeout=30, after=mark,
                      predicate=lambda p: p["evseId"] == 1 and p["connectorStatus"] == "Available")
        assert csms.call(identity, "Reset", {"type": "OnIdle", "evseId": 1})["status"] \
            == "Rejected"                                                  # TC_B_28
        assert station.stop() == 0
    finally:
        station.kill()


def test_charging_session_through_the_control_api(csms, tmp_path, free_port):
    """E01/E06 end to end: plug in, card, charge, card again, plug out; the CSMS sees
    Started, Updated..., Ended with continuous seqNo, and the energy grows."""
    identity = "CP-SESSION-API"
    station = StationProcess(tmp_path, csms.url_base, free_port(), identity=identity)
    station.start()
    try:
        csms.wait_for("StatusNotification", identity=identity, timeout=60)
        base = f"http://127.0.0.1:{api_port(station)}/api/evses/1"
        assert http("POST", f"{base}/plug-in", {"connector_id": 1})[0] == 200
        csms.wait_for("StatusNotification", identity=identity, timeout=10,
                      predicate=lambda p: p["evseId"] == 1 and p["connectorStatus"] == "Occupied")
        assert http("POST", f"{base}/token", {"id_token": "CARD0001", "type": "ISO14443"})[0] == 200
        csms.wait_for("Authorize", identity=identity, timeout=10)
        assert http("POST", f"{base}/ev", {"state": "charging"})[0] == 200
        csms.wait_for("TransactionEvent", identity=identity, timeout=15,
                      predicate=lambda p: p.get("transactionInfo", {}).get("chargingState")
                      == "Charging")
        deadline = time.monotonic() + 30
        while True:                                     # until some energy is on the meter
            status, view = http("GET", base)
            assert status == 200 and view["transaction"]["power_w"] > 0
            if view["transaction"]["energy_wh"] > 0:
                break
            assert time.monotonic() < deadline, view
            time.sleep(0.1)
        assert http("POST", f"{base}/token", {"id_token": "CARD0001", "type": "ISO14443"})[0] == 200
        assert http("POST", f"{base}/plug-out")[0] == 200
        ended = csms.wait_for("TransactionEvent", identity=identity, timeout=15,
                              predicate=lambda p: p["eventType"] == "Ended")
        events = [r.payload for r in csms.received("TransactionEvent", identity)]
        transaction_id = ended["transactionInfo"]["transactionId"]
        ours = [e for e in events if e["transactionInfo"]["transactionId"] == transaction_id]
        assert ours[0]["eventType"] == "Started"
        assert [e["seqNo"] for e in ours] == list(range(len(ours)))       # E01: continuous
        assert ended["transactionInfo"]["stoppedReason"] in ("Local", "EVDisconnected")
        assert csms.violations(identity) == []
        assert station.stop() == 0
    finally:
        station.kill()


def test_events_queued_offline_survive_sigkill_of_the_whole_station(csms, tmp_path, free_port):
    """E04/E11, issue #3 item 3: a session charged while offline; the station is SIGKILLed
    before it is back online; after the restart every TransactionEvent reaches the CSMS once,
    in order, marked offline."""
    identity = "CP-CRASH"
    station = StationProcess(tmp_path, csms.url_base, free_port(), identity=identity,
                             extra={"ocpp": {"EnableExternalWebsocketControl": True}})
    station.start()
    try:
        csms.wait_for("StatusNotification", identity=identity, timeout=60)
        result = csms.call(identity, "SetVariables", {"setVariableData": [{
            "component": {"name": "TxCtrlr"}, "variable": {"name": "TxStartPoint"},
            "attributeValue": "EVConnected"}]})
        assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
        base = f"http://127.0.0.1:{api_port(station)}/api"
        assert http("POST", f"{base}/csms/disconnect")[0] == 200
        assert http("POST", f"{base}/evses/1/plug-in", {"connector_id": 1})[0] == 200
        assert http("POST", f"{base}/evses/1/plug-out")[0] == 200
        # Off line nothing reaches the CSMS, so there is no probe for the events being
        # committed to the durable queue before the SIGKILL; a short wait gives them time.
        time.sleep(0.5)
        station.kill()                      # SIGKILL: run.py and every actor process
        assert not csms.received("TransactionEvent", identity)

        station.start()
        ended = csms.wait_for("TransactionEvent", identity=identity, timeout=60,
                              predicate=lambda p: p["eventType"] == "Ended")
        settled(csms, identity)     # what the restarted station had queued came before this
        events = [r.payload for r in csms.received("TransactionEvent", identity)]
        ours = [e for e in events if e["transactionInfo"]["transactionId"]
                == ended["transactionInfo"]["transactionId"]]
        assert [e["seqNo"] for e in ours] == list(range(len(ours)))       # once, in order
        assert ours[0]["eventType"] == "Started" and ours[-1]["eventType"] == "Ended"
        assert all(e.get("offline") is True for e in ours)                # E04.FR.03
        assert station.stop() == 0
    finally:
        station.kill()


def settled(csms: CsmsServer, identity: str, evse_id: int = 1) -> None:
    """The barrier of tests/integration/octt.py (which imports this module, hence the late
    import)."""
    from tests.integration import octt
    octt.settled(csms, identity, evse_id)
