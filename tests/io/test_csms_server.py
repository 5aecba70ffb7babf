"""Tests for simulators/csms/server.py and connection.py over real sockets.

These use real sockets on 127.0.0.1 (the server *is* the I/O shell); a
websocket-client connection plays the charging station. The rules behind it
(protocol, schemas, answers, record, handshake) have socket-free tests in
tests/unit/test_csms_*.py; these check that the server applies them on the wire.
Every blocking wait has a short bound, and no test sleeps to make something happen.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import websocket

from simulators.csms import (
    NO_REPLY,
    CallErrorReply,
    CallErrorResult,
    CsmsServer,
    PayloadViolation,
    schema_violation,
)

REPO = Path(__file__).resolve().parents[2]
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
STATUS = {"timestamp": "2024-05-01T10:00:00Z", "connectorStatus": "Available",
          "evseId": 1, "connectorId": 1}
T = 5.0  # upper bound for anything that should happen at once


@pytest.fixture
def lines():
    return []


@pytest.fixture
def csms(lines):
    server = CsmsServer(log=lines.append)
    server.start()
    yield server
    server.stop()


def connect(server, identity="CS001", *, subprotocols=("ocpp2.0.1",), auth=None):
    header = []
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        header.append(f"Authorization: Basic {token}")
    ws = websocket.create_connection(f"{server.url_base}/ocpp/{identity}",
                                     subprotocols=list(subprotocols) or None,
                                     header=header, timeout=T)
    return ws


def assert_closed_by_server(ws):
    """Read the server's close frame (websocket-client answers it), then drop
    the socket as a station would; otherwise the server waits for the TCP close."""
    try:
        assert ws.recv() == ""  # websocket-client returns "" for a close frame
    except websocket.WebSocketConnectionClosedException:
        pass
    ws.shutdown()


def exchange(ws, frame):
    ws.send(json.dumps(frame))
    return json.loads(ws.recv())


@pytest.fixture
def station(csms):
    ws = connect(csms)
    csms.wait_connected("CS001", T)
    yield ws
    ws.close()


class TestStationToCsms:
    """Part 4 §4.2: CALLs from the station are recorded and answered."""

    def test_boot_notification_is_answered_and_recorded(self, csms, station):
        reply = exchange(station, [2, "m1", "BootNotification", BOOT])
        assert reply[0:2] == [3, "m1"]
        assert reply[2]["status"] == "Accepted" and reply[2]["interval"] == 300
        assert schema_violation("BootNotification", reply[2], response=True) is None
        assert csms.wait_for("BootNotification", identity="CS001", timeout=T) == BOOT
        [record] = csms.received("BootNotification")
        assert (record.identity, record.message_id, record.violation) == ("CS001", "m1", None)
        assert csms.registration_status("CS001") == "Accepted"

    def test_received_returns_copies(self, csms, station):
        exchange(station, [2, "m1", "StatusNotification", STATUS])
        csms.received()[0].payload["evseId"] = 99
        assert csms.received()[0].payload["evseId"] == 1

    def test_wait_for_predicate_and_after_skip_older_calls(self, csms, station):
        exchange(station, [2, "m1", "StatusNotification", STATUS])
        mark = csms.mark()
        exchange(station, [2, "m2", "StatusNotification", {**STATUS, "connectorStatus": "Occupied"}])
        assert csms.wait_for("StatusNotification", after=mark, timeout=T)["connectorStatus"] == "Occupied"
        got = csms.wait_for("StatusNotification", timeout=T,
                            predicate=lambda p: p["connectorStatus"] == "Occupied")
        assert got["connectorStatus"] == "Occupied"

    def test_handler_overrides_the_default(self, csms, station):
        csms.set_handler("Heartbeat", lambda identity, p: {"currentTime": "2030-01-01T00:00:00Z"})
        assert exchange(station, [2, "h", "Heartbeat", {}]) == [3, "h", {"currentTime": "2030-01-01T00:00:00Z"}]
        csms.set_handler("Heartbeat", None)
        assert exchange(station, [2, "h2", "Heartbeat", {}])[2]["currentTime"] != "2030-01-01T00:00:00Z"

    def test_handler_may_answer_with_a_callerror(self, csms, station):
        csms.set_handler("TransactionEvent",
                         lambda identity, p: CallErrorReply("InternalError", "try again"))
        tx = {"eventType": "Started", "timestamp": "2024-05-01T10:00:00Z",
              "triggerReason": "Authorized", "seqNo": 0,
              "transactionInfo": {"transactionId": "t1"}}
        assert exchange(station, [2, "t", "TransactionEvent", tx]) == [
            4, "t", "InternalError", "try again", {}]

    def test_a_failing_handler_becomes_internal_error_without_details(self, csms, station):
        csms.set_handler("Heartbeat", lambda identity, p: 1 / 0)
        reply = exchange(station, [2, "h", "Heartbeat", {}])
        assert reply[:3] == [4, "h", "InternalError"] and reply[4] == {}

    def test_no_reply_leaves_the_call_unanswered(self, csms, station):
        answers = iter([NO_REPLY, {"currentTime": "2030-01-01T00:00:00Z"}])
        csms.set_handler("Heartbeat", lambda identity, p: next(answers))
        station.send(json.dumps([2, "silent", "Heartbeat", {}]))
        # The next answer the station gets is for the next CALL, not "silent".
        assert exchange(station, [2, "h2", "Heartbeat", {}])[1] == "h2"


class TestInvalidFromStation:
    """Part 4 §4.1.7, §4.2.3, §4.3, §4.4: bad frames are answered with CALLERROR."""

    @pytest.mark.parametrize("frame, code", [
        ([2, "a", "BootNotification", {"reason": "PowerUp"}], "OccurrenceConstraintViolation"),
        ([2, "a", "Heartbeat", {"extra": 1}], "FormatViolation"),
        ([2, "a", "StatusNotification", {**STATUS, "evseId": "1"}], "TypeConstraintViolation"),
        ([2, "a", "StatusNotification", {**STATUS, "timestamp": "today"}], "TypeConstraintViolation"),
        ([2, "a", "StatusNotification", {**STATUS, "connectorStatus": "Busy"}], "PropertyConstraintViolation"),
        ([2, "a", "Heartbeat", []], "FormatViolation"),
        ([2, "a", "NoSuchAction", {}], "NotImplemented"),
        ([2, "a", "Reset", {"type": "Immediate"}], "NotSupported"),
        ([2, "a", "Heartbeat"], "RpcFrameworkError"),
        ([7, "a", "Heartbeat", {}], "MessageTypeNotSupported"),
    ])
    def test_invalid_call_is_answered_and_recorded(self, csms, station, frame, code):
        reply = exchange(station, frame)
        assert reply[:3] == [4, "a", code]
        assert len(reply) == 5 and isinstance(reply[3], str) and reply[4] == {}
        [bad] = csms.violations("CS001")
        assert bad.violation.startswith(code)

    def test_invalid_call_never_satisfies_wait_for(self, csms, station):
        exchange(station, [2, "a", "BootNotification", {"reason": "PowerUp"}])
        with pytest.raises(TimeoutError, match="OccurrenceConstraintViolation"):
            csms.wait_for("BootNotification", timeout=0.05)

    def test_unparseable_json_is_answered_with_id_minus_one(self, csms, station):
        station.send('[2, "a", "Heartbeat", {')
        reply = json.loads(station.recv())
        assert reply[:3] == [4, "-1", "RpcFrameworkError"]
        assert csms.violations()[0].kind == "malformed"

    def test_result_for_an_unknown_id_is_recorded_as_violation_and_not_answered(self, csms, station):
        station.send(json.dumps([3, "nobody-asked", {}]))
        # The following CALL is answered first: nothing was sent for the stray result.
        assert exchange(station, [2, "h", "Heartbeat", {}])[1] == "h"
        [bad] = csms.violations()
        assert bad.kind == "result" and bad.violation.startswith("ProtocolError")


class TestRegistrationState:
    """B02.FR.09 / B03.FR.07: a station that is not Accepted gets SecurityError."""

    @pytest.fixture
    def csms(self, lines):
        server = CsmsServer(boot_status="Pending", log=lines.append)
        server.start()
        yield server
        server.stop()

    def test_pending_station_may_only_send_what_the_csms_triggered(self, csms, station):
        assert exchange(station, [2, "b", "BootNotification", BOOT])[2]["status"] == "Pending"
        assert exchange(station, [2, "h", "Heartbeat", {}])[:3] == [4, "h", "SecurityError"]

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(csms.call, "CS001", "TriggerMessage",
                                 {"requestedMessage": "Heartbeat"}, T)
            trigger = json.loads(station.recv())
            station.send(json.dumps([3, trigger[1], {"status": "Accepted"}]))
            assert answer.result(T) == {"status": "Accepted"}
        assert exchange(station, [2, "h2", "Heartbeat", {}])[0] == 3

    def test_rejected_station_gets_security_error(self, csms, station):
        csms.set_handler("BootNotification", lambda identity, p: {
            "currentTime": "2024-05-01T10:00:00Z", "interval": 60, "status": "Rejected"})
        exchange(station, [2, "b", "BootNotification", BOOT])
        assert exchange(station, [2, "s", "StatusNotification", STATUS])[:3] == [4, "s", "SecurityError"]
        assert csms.registration_status("CS001") == "Rejected"


class TestCsmsToStation:
    """Part 4 §4.1.1: CSMS CALLs wait for their answer, one outstanding at a time."""

    def test_call_round_trip(self, csms, station):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(csms.call, "CS001", "Reset", {"type": "Immediate"}, T)
            message_type, message_id, action, payload = json.loads(station.recv())
            assert (message_type, action, payload) == (2, "Reset", {"type": "Immediate"})
            station.send(json.dumps([3, message_id, {"status": "Accepted"}]))
            assert answer.result(T) == {"status": "Accepted"}
        [result] = csms.received(kind="result")
        assert (result.action, result.message_id, result.violation) == ("Reset", message_id, None)

    def test_callerror_raises_call_error_result(self, csms, station):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(csms.call, "CS001", "SetChargingProfile", {}, T)
            call = json.loads(station.recv())
            station.send(json.dumps([4, call[1], "NotSupported", "no smart charging", {"x": 1}]))
            with pytest.raises(CallErrorResult) as info:
                answer.result(T)
        assert (info.value.code, info.value.description, info.value.details) == (
            "NotSupported", "no smart charging", {"x": 1})

    def test_schema_invalid_result_raises_payload_violation(self, csms, station):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(csms.call, "CS001", "Reset", {"type": "Immediate"}, T)
            call = json.loads(station.recv())
            station.send(json.dumps([3, call[1], {"status": "Maybe"}]))
            with pytest.raises(PayloadViolation) as info:
                answer.result(T)
        assert info.value.code == "PropertyConstraintViolation"
        assert csms.violations()[0].kind == "result"

    def test_unanswered_call_times_out(self, csms, station):
        with pytest.raises(TimeoutError):
            csms.call("CS001", "ClearCache", {}, timeout=0.1)
        assert json.loads(station.recv())[2] == "ClearCache"

    def test_second_call_goes_out_only_after_the_first_was_answered(self, csms, station):
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            first = pool.submit(csms.call, "CS001", "ClearCache", {}, T)
            call1 = json.loads(station.recv())
            second = pool.submit(csms.call, "CS001", "GetLocalListVersion", {}, T)
            station.send(json.dumps([3, call1[1], {"status": "Accepted"}]))
            call2 = json.loads(station.recv())
            station.send(json.dumps([3, call2[1], {"versionNumber": 3}]))
            assert first.result(T) == {"status": "Accepted"}
            assert second.result(T) == {"versionNumber": 3}
        frames = csms.frames("CS001")
        reply1 = next(f.seq for f in frames if f.direction == "in" and call1[1] in f.text)
        sent2 = next(f.seq for f in frames if f.direction == "out" and call2[1] in f.text)
        assert sent2 > reply1

    def test_call_fails_with_connection_error_when_the_station_goes_away(self, csms, station):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(csms.call, "CS001", "ClearCache", {}, T)
            station.recv()
            station.close()
            with pytest.raises(ConnectionError):
                answer.result(T)

    def test_call_fails_with_connection_error_when_the_csms_stops(self, csms, station):
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            answer = pool.submit(csms.call, "CS001", "ClearCache", {}, T)
            station.recv()
            queued = pool.submit(csms.call, "CS001", "ClearCache", {}, T)
            stopped = pool.submit(csms.stop)
            assert_closed_by_server(station)
            stopped.result(T)
            for future in (answer, queued):
                with pytest.raises(ConnectionError):
                    future.result(T)

    def test_call_to_unknown_station_raises_connection_error(self, csms):
        with pytest.raises(ConnectionError):
            csms.call("NOBODY", "ClearCache", {}, timeout=T)


class TestRawFrames:
    def test_send_raw_and_wait_raw(self, csms, station):
        mark = csms.send_raw("CS001", '[2,"raw-1","Reset",{"type":"Immediate"}]')
        assert station.recv() == '[2,"raw-1","Reset",{"type":"Immediate"}]'
        station.send('[3,"raw-1",{"status":"Accepted"}]')
        assert csms.wait_raw("CS001", lambda text: "raw-1" in text, T, after=mark) == \
            '[3,"raw-1",{"status":"Accepted"}]'
        assert csms.violations() == []  # the answer to a raw CALL is no violation

    def test_send_raw_sends_malformed_text_untouched(self, csms, station):
        csms.send_raw("CS001", "[2, not json")
        assert station.recv() == "[2, not json"


class TestConnections:
    """Part 4 §3: connection URL, subprotocol, security profile 1."""

    def test_identity_is_the_last_url_segment_percent_decoded(self, csms):
        ws = connect(csms, "RDAM%20123")
        csms.wait_connected("RDAM 123", T)
        ws.close()

    def test_missing_subprotocol_is_closed_without_being_accepted(self, csms):
        ws = connect(csms, subprotocols=())
        assert_closed_by_server(ws)
        assert ws.status == 101 and not ws.subprotocol  # §3.2: no protocol header
        assert csms.connection_count("CS001") == 0 and not csms.is_connected("CS001")

    def test_disconnect_then_reconnect_counts_connections(self, csms, station):
        # disconnect() waits for the closing handshake, so the station must read.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            done = pool.submit(csms.disconnect, "CS001")
            assert_closed_by_server(station)
            done.result(T)
        assert not csms.is_connected("CS001")
        again = connect(csms)
        csms.wait_connected("CS001", T, count=2)
        assert csms.connection_count("CS001") == 2
        again.close()

    def test_new_connection_replaces_the_old_one(self, csms, station):
        newer = connect(csms)
        csms.wait_connected("CS001", T, count=2)
        assert_closed_by_server(station)
        assert exchange(newer, [2, "h", "Heartbeat", {}])[0] == 3
        newer.close()

    def test_stop_closes_connections_and_joins_threads(self, lines):
        server = CsmsServer(log=lines.append)
        server.start()
        ws = connect(server)
        server.wait_connected("CS001", T)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            stopped = pool.submit(server.stop)
            assert_closed_by_server(ws)
            stopped.result(T)
        server.stop()  # idempotent
        assert not [t for t in threading.enumerate() if t.name.startswith("csms-")]


    def test_restart_binds_the_same_port_and_keeps_counting(self, csms, station):
        port = csms.port
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            stopped = pool.submit(csms.stop)
            assert_closed_by_server(station)
            stopped.result(T)
        assert csms.start() == port
        again = connect(csms)
        csms.wait_connected("CS001", T, count=2)
        again.close()


class TestBasicAuth:
    """Security profile 1: HTTP Basic auth, username == identity (part 2 A00)."""

    @pytest.fixture
    def csms(self, lines):
        server = CsmsServer(passwords={"CS001": "s3cret-password-16"}, log=lines.append)
        server.start()
        yield server
        server.stop()

    def test_right_credentials_connect(self, csms):
        ws = connect(csms, auth=("CS001", "s3cret-password-16"))
        csms.wait_connected("CS001", T)
        ws.close()

    @pytest.mark.parametrize("auth", [None, ("CS001", "wrong"), ("CS002", "s3cret-password-16")])
    def test_missing_or_wrong_credentials_get_401(self, csms, auth):
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            connect(csms, auth=auth)
        assert info.value.status_code == 401
        assert csms.connection_count("CS001") == 0

    def test_unknown_identity_gets_404(self, csms):
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            connect(csms, "CS999", auth=("CS999", "x"))
        assert info.value.status_code == 404


class TestCommandLine:
    def test_main_writes_port_file_serves_and_exits_0_on_sigterm(self, tmp_path):
        port_file = tmp_path / "port"
        command = [sys.executable, "-m", "simulators.csms", "--port", "0",
                   "--port-file", str(port_file), "--password", "CS001=pw-0123456789abcdef"]
        with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)}) as proc:
            try:
                # main() prints "ready" after the port file was renamed into place;
                # waiting on that line avoids polling the file system.
                output = []
                for line in proc.stdout:
                    output.append(line)
                    if line.startswith("csms: ready"):
                        break
                else:
                    pytest.fail("no ready line: " + "".join(output))
                port = int(port_file.read_text())
                ws = websocket.create_connection(
                    f"ws://127.0.0.1:{port}/CS001", subprotocols=["ocpp2.0.1"], timeout=T,
                    header=["Authorization: Basic "
                            + base64.b64encode(b"CS001:pw-0123456789abcdef").decode()])
                reply = exchange(ws, [2, "b", "BootNotification", BOOT])
                assert reply[2]["status"] == "Accepted"
                proc.send_signal(signal.SIGTERM)
                assert_closed_by_server(ws)  # 1001 going away, answered by websocket-client
                assert proc.wait(T) == 0
                output.append(proc.stdout.read())
            finally:
                if proc.poll() is None:
                    proc.kill()
        assert "BootNotification" in "".join(output)
