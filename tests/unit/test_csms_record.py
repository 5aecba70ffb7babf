"""Tests for simulators/csms/record.py: the record of messages and frames, and its waits."""

from __future__ import annotations

import threading

import pytest

from simulators.csms.record import Record

STATUS = {"connectorStatus": "Available", "evseId": 1}


@pytest.fixture
def record():
    return Record()


class TestReading:
    def test_received_filters_by_action_identity_and_kind(self, record):
        record.add("CS1", "Heartbeat", "a", {}, "call")
        record.add("CS2", "Heartbeat", "b", {}, "call")
        record.add("CS1", "Reset", "c", {"status": "Accepted"}, "result")
        assert [r.message_id for r in record.received("Heartbeat")] == ["a", "b"]
        assert [r.message_id for r in record.received(identity="CS1")] == ["a"]
        assert [r.message_id for r in record.received(kind="result")] == ["c"]
        assert [r.message_id for r in record.received(kind=None)] == ["a", "b", "c"]

    def test_received_returns_copies(self, record):
        record.add("CS", "StatusNotification", "a", dict(STATUS), "call")
        record.received()[0].payload["evseId"] = 99
        assert record.received()[0].payload["evseId"] == 1

    def test_violations_are_every_kind_with_a_violation(self, record):
        record.add("CS", "Heartbeat", "a", {}, "call")
        record.add("CS", None, "-1", None, "malformed", "RpcFrameworkError: binary frame")
        record.add("CS", None, "x", {}, "result", "ProtocolError: no CALL")
        assert [r.kind for r in record.violations()] == ["malformed", "result"]
        assert record.violations("OTHER") == []

    def test_frames_and_messages_share_one_sequence(self, record):
        record.add_frame("CS", "in", "[2]")
        mark = record.mark()
        record.add("CS", "Heartbeat", "a", {}, "call")
        record.add_frame("CS", "out", "[3]")
        [message] = record.received()
        [first, second] = record.frames("CS")
        assert first.seq <= mark < message.seq < second.seq == record.mark()
        assert record.frames(direction="out") == [second]

    def test_only_the_newest_entries_are_kept(self):
        record = Record(history=2)
        for n in range(3):
            record.add("CS", "Heartbeat", str(n), {}, "call")
        assert [r.message_id for r in record.received()] == ["1", "2"]


class TestWaitFor:
    def test_a_call_received_before_waiting_counts(self, record):
        record.add("CS", "Heartbeat", "a", {"n": 1}, "call")
        assert record.wait_for("Heartbeat", timeout=0) == {"n": 1}

    def test_predicate_and_after_skip_older_calls(self, record):
        record.add("CS", "StatusNotification", "a", STATUS, "call")
        mark = record.mark()
        record.add("CS", "StatusNotification", "b", {**STATUS, "connectorStatus": "Occupied"},
                   "call")
        assert record.wait_for("StatusNotification", after=mark, timeout=0)[
            "connectorStatus"] == "Occupied"
        assert record.wait_for("StatusNotification", timeout=0,
                               predicate=lambda p: p["connectorStatus"] == "Occupied")[
            "connectorStatus"] == "Occupied"

    def test_an_invalid_call_never_matches_and_is_named_in_the_timeout(self, record):
        record.add("CS", "BootNotification", "a", {}, "call",
                   "OccurrenceConstraintViolation: reason is required")
        with pytest.raises(TimeoutError, match="OccurrenceConstraintViolation"):
            record.wait_for("BootNotification", timeout=0)

    def test_results_and_other_stations_do_not_match(self, record):
        record.add("CS", "Heartbeat", "a", {}, "result")
        record.add("OTHER", "Heartbeat", "b", {}, "call")
        with pytest.raises(TimeoutError):
            record.wait_for("Heartbeat", identity="CS", timeout=0)

    def test_a_waiter_wakes_when_the_call_arrives(self, record):
        # The writer waits until the reader has checked the record once (it then
        # waits on the condition), so the call surely arrives during the wait.
        checked = threading.Event()

        def first_check(payload):
            checked.set()
            return payload == {"late": True}

        record.add("CS", "Heartbeat", "early", {}, "call")
        writer = threading.Thread(target=lambda: (
            checked.wait(5), record.add("CS", "Heartbeat", "late", {"late": True}, "call")))
        writer.start()
        try:
            assert record.wait_for("Heartbeat", predicate=first_check, timeout=5) == {
                "late": True}
        finally:
            writer.join()


class TestWaitRaw:
    def test_only_incoming_frames_of_the_station_after_the_mark(self, record):
        record.add_frame("CS", "in", "old")
        mark = record.mark()
        record.add_frame("CS", "out", "sent")
        record.add_frame("OTHER", "in", "theirs")
        record.add_frame("CS", "in", "new")
        assert record.wait_raw("CS", timeout=0, after=mark) == "new"
        assert record.wait_raw("CS", lambda text: text == "old", timeout=0) == "old"

    def test_none_in_time_raises_timeout_error(self, record):
        with pytest.raises(TimeoutError):
            record.wait_raw("CS", timeout=0)
