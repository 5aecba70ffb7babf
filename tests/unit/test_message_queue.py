"""Tests for station/message_queue.py on a real SQLite file (storage/queue_repo.py).

Time is a plain float passed in; nothing sleeps. "Restart" means a new connection, repository
and MessageQueue on the same database file while the old ones are left open and untouched,
which is what a SIGKILL leaves behind.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ocppj import schemas
from station.message_queue import MessageDropped, MessageQueue, OutgoingMessage
from storage import lite
from storage.queue_repo import QueueRepository

CORE = Path(__file__).resolve().parents[2] / "migrations" / "core"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


class Station:
    """Opens queues on one database file; ``restart()`` simulates a killed process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connections = []
        self.ids = (f"q{n}" for n in itertools.count(1))
        self.clock = itertools.count(1)

    def open(self, power_safe: bool = True, **settings) -> MessageQueue:
        connection = lite.connect(self.path, CORE)
        self.connections.append(connection)
        self.repo = QueueRepository(connection, power_safe=power_safe)
        return MessageQueue(self.repo, new_message_id=lambda: next(self.ids), **settings)

    def created(self) -> datetime:
        return T0 + timedelta(milliseconds=next(self.clock))

    def rows(self, table: str = "TRANSACTION_QUEUE") -> list[tuple]:
        connection = self.connections[-1]
        return connection.execute(
            f"SELECT UNIQUE_ID, MESSAGE_ATTEMPTS, MESSAGE FROM {table} ORDER BY rowid").fetchall()

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


@pytest.fixture
def station(tmp_path):
    station = Station(tmp_path / "core" / "cp.db")
    yield station
    station.close()


@pytest.fixture
def queue(station):
    return station.open()


def tx_event(seq: int, tx: str = "tx-1", event: str = "Updated") -> dict:
    """A valid TransactionEventRequest payload."""
    return {"eventType": event, "timestamp": "2025-03-01T12:00:00.000Z",
            "triggerReason": "MeterValuePeriodic", "seqNo": seq,
            "transactionInfo": {"transactionId": tx}}


def security_event(kind: str = "StartupOfTheDevice") -> dict:
    return {"type": kind, "timestamp": "2025-03-01T12:00:00.000Z"}


def status(connector: int = 1) -> dict:
    return {"timestamp": "2025-03-01T12:00:00.000Z", "connectorStatus": "Available",
            "evseId": 1, "connectorId": connector}


def put(station: Station, queue: MessageQueue, action: str, payload: dict, **kw) -> str | None:
    return queue.enqueue(action, payload, created_at=station.created(), **kw)


def put_tx(station, queue, *seqs, tx="tx-1") -> list[str]:
    return [put(station, queue, "TransactionEvent", tx_event(s, tx)) for s in seqs]


def online(queue: MessageQueue, now: float = 0.0) -> None:
    queue.set_online(True, now, registration_accepted=True)


def drain(queue: MessageQueue, now: float = 0.0) -> list[OutgoingMessage]:
    """Act as a CSMS that answers everything with a CALLRESULT."""
    sent = []
    while (item := queue.next_to_send(now)) is not None:
        sent.append(item)
        assert queue.delivered(item.message_id)
    return sent


def seqs(sent) -> list[int]:
    return [item.payload["seqNo"] for item in sent]


class TestOrder:
    """Part 2 E "Delivering transaction-related messages" (1.3): sent as they occurred, so a
    CSMS sees every seqNo in order (E04.FR.04); one CALL at a time (part 4 §4.1.1)."""

    def test_transaction_events_are_sent_first_in_first_out(self, station, queue):
        put_tx(station, queue, 0, 1, 2, 3)
        online(queue)
        assert seqs(drain(queue)) == [0, 1, 2, 3]
        assert len(queue) == 0

    def test_next_to_send_unpacks_as_id_action_payload(self, station, queue):
        (queued,) = put_tx(station, queue, 0)
        online(queue)
        message_id, action, payload = queue.next_to_send(0.0)
        assert (message_id, action, payload["seqNo"]) == (queued, "TransactionEvent", 0)

    def test_only_one_message_is_in_flight(self, station, queue):
        first, _ = put_tx(station, queue, 0, 1)
        online(queue)
        assert queue.next_to_send(0.0).message_id == first
        assert queue.in_flight == first
        assert queue.next_to_send(0.0) is None
        assert queue.next_deadline() is None       # the answer or the timeout comes as input
        queue.delivered(first)
        assert queue.next_to_send(0.0).payload["seqNo"] == 1

    def test_security_events_share_the_transaction_lane(self, station, queue):
        put_tx(station, queue, 0)
        put(station, queue, "SecurityEventNotification", security_event())
        put_tx(station, queue, 1)
        online(queue)
        assert [m.action for m in drain(queue)] == [
            "TransactionEvent", "SecurityEventNotification", "TransactionEvent"]

    def test_normal_and_transaction_messages_go_out_oldest_first(self, station, queue):
        online(queue)
        put_tx(station, queue, 0)
        put(station, queue, "StatusNotification", status())
        put_tx(station, queue, 1)
        assert [m.action for m in drain(queue)] == [
            "TransactionEvent", "StatusNotification", "TransactionEvent"]

    def test_enqueue_refuses_a_duplicate_id_and_naive_times(self, station, queue):
        put(station, queue, "TransactionEvent", tx_event(0), message_id="same")
        with pytest.raises(ValueError, match="already queued"):
            put(station, queue, "TransactionEvent", tx_event(1), message_id="same")
        with pytest.raises(ValueError, match="timezone-aware"):
            queue.enqueue("TransactionEvent", tx_event(2), created_at=datetime(2025, 1, 1))
        assert len(queue) == 1

    def test_the_caller_can_choose_the_queue_id(self, station, queue):
        assert put(station, queue, "TransactionEvent", tx_event(0), message_id="mine") == "mine"
        assert station.rows()[0][0] == "mine"

    def test_delivered_for_an_unknown_id_changes_nothing(self, station, queue):
        put_tx(station, queue, 0)
        assert not queue.delivered("nope")
        assert len(queue) == 1


class TestDurableBeforeReturn:
    """E04.FR.01, A04.FR.02: queued in SQLite before enqueue returns, so an Evse may ack."""

    def test_a_transaction_event_is_a_row_when_enqueue_returns(self, station, queue):
        (queued,) = put_tx(station, queue, 0)
        other = lite.connect(station.path, CORE)   # another process would see it
        try:
            (row,) = other.execute("SELECT UNIQUE_ID, MESSAGE FROM TRANSACTION_QUEUE").fetchall()
        finally:
            other.close()
        assert row[0] == queued
        assert json.loads(row[1])[3]["seqNo"] == 0

    def test_a_security_event_is_stored_too(self, station, queue):
        put(station, queue, "SecurityEventNotification", security_event())
        assert len(station.rows()) == 1

    def test_the_row_goes_only_after_the_callresult(self, station, queue):
        put_tx(station, queue, 0)
        online(queue)
        item = queue.next_to_send(0.0)
        assert len(station.rows()) == 1            # sent, not yet acknowledged
        queue.delivered(item.message_id)
        assert station.rows() == []

    def test_a_payload_that_cannot_be_stored_is_not_queued(self, station, queue):
        with pytest.raises(ValueError):
            put(station, queue, "TransactionEvent", {"seqNo": object()})
        assert len(queue) == 0
        assert station.rows() == []


class TestRegistrationGate:
    """B01.FR.08 / B02.FR.02: nothing but BootNotification before Accepted, "cached OCPP
    messages ... from prior sessions" included; B02.FR.03 allows queueing meanwhile."""

    def test_nothing_goes_out_while_offline(self, station, queue):
        put_tx(station, queue, 0)
        assert queue.next_to_send(0.0) is None
        assert queue.next_deadline() is None

    def test_nothing_goes_out_while_connected_but_not_accepted(self, station, queue):
        queue.set_online(True, 0.0, registration_accepted=False)
        put_tx(station, queue, 0)
        put(station, queue, "SecurityEventNotification", security_event())
        assert queue.next_to_send(0.0) is None
        assert queue.next_deadline() is None
        queue.set_online(True, 1.0, registration_accepted=True)
        assert [m.action for m in drain(queue, 1.0)] == [
            "TransactionEvent", "SecurityEventNotification"]

    def test_messages_of_an_earlier_run_wait_for_accepted(self, station, queue):
        put_tx(station, queue, 0)
        restarted = station.open()
        restarted.set_online(True, 0.0, registration_accepted=False)
        assert restarted.next_to_send(0.0) is None
        restarted.set_online(True, 0.0, registration_accepted=True)
        assert seqs(drain(restarted)) == [0]

    def test_a_pending_registration_refuses_normal_messages(self, station, queue):
        queue.set_online(True, 0.0, registration_accepted=False)
        assert put(station, queue, "StatusNotification", status()) is None


class TestOfflineFlag:
    """E04.FR.03, E08.FR.07, E11.FR.02, E12.FR.02 (offline = true for events that occurred
    offline) and E11.FR.07 (going offline sets it on everything still queued)."""

    def test_an_event_created_offline_carries_offline_true_also_in_the_row(self, station, queue):
        put_tx(station, queue, 0)
        assert json.loads(station.rows()[0][2])[3]["offline"] is True
        online(queue)
        assert queue.next_to_send(0.0).payload["offline"] is True

    def test_an_event_created_online_has_no_offline_field(self, station, queue):
        online(queue)
        put_tx(station, queue, 0)
        assert "offline" not in queue.next_to_send(0.0).payload

    def test_an_event_created_while_connected_but_pending_is_not_offline(self, station, queue):
        queue.set_online(True, 0.0, registration_accepted=False)
        put_tx(station, queue, 0)
        queue.set_online(True, 0.0, registration_accepted=True)
        assert "offline" not in queue.next_to_send(0.0).payload

    def test_an_event_created_before_a_connect_and_queued_after_it_is_offline(self, station,
                                                                               queue):
        """An Evse hands its event over a moment after creating it: what counts is when it
        was created (E04.FR.03), not when it reached the queue."""
        connect = T0 + timedelta(seconds=10)
        queue.set_online(True, 0.0, registration_accepted=True, wall=connect)
        before = queue.enqueue("TransactionEvent", tx_event(0),
                               created_at=connect - timedelta(milliseconds=5))
        after = queue.enqueue("TransactionEvent", tx_event(1),
                              created_at=connect + timedelta(milliseconds=5))
        sent = {m.message_id: m.payload for m in drain(queue)}
        assert sent[before]["offline"] is True and "offline" not in sent[after]

    def test_the_last_connect_moves_with_the_station_clock(self, station, queue):
        connect = T0 + timedelta(seconds=10)
        queue.set_online(True, 0.0, registration_accepted=True, wall=connect)
        queue.clock_adjusted(-3600.0)                   # the CSMS's time is an hour earlier
        event = queue.enqueue("TransactionEvent", tx_event(0),
                              created_at=connect - timedelta(seconds=3590))
        assert "offline" not in queue.next_to_send(0.0).payload
        assert event is not None

    def test_only_transaction_events_get_the_flag(self, station, queue):
        put(station, queue, "SecurityEventNotification", security_event())
        online(queue)
        assert "offline" not in queue.next_to_send(0.0).payload

    def test_the_callers_dict_is_not_changed(self, station, queue):
        payload = tx_event(0)
        put(station, queue, "TransactionEvent", payload)
        assert "offline" not in payload

    def test_events_still_queued_when_the_link_drops_become_offline(self, station, queue):
        online(queue)
        in_flight, waiting = put_tx(station, queue, 0, 1)
        assert "offline" not in queue.next_to_send(0.0).payload
        queue.set_online(False, 1.0)
        online(queue, 2.0)
        sent = drain(queue, 2.0)
        assert [m.message_id for m in sent] == [in_flight, waiting]
        assert all(m.payload["offline"] is True for m in sent)

    def test_events_reloaded_after_a_restart_are_offline(self, station, queue):
        online(queue)
        put_tx(station, queue, 0)
        restarted = station.open()
        online(restarted)
        assert restarted.next_to_send(0.0).payload["offline"] is True

    def test_flagged_payloads_still_pass_the_request_schema(self, station, queue):
        put_tx(station, queue, 0)
        online(queue)
        schemas.validate_request("TransactionEvent", queue.next_to_send(0.0).payload)


class TestRetries:
    """E13 (TC_E_41, TC_E_42, TC_E_50, TC_E_51): MessageAttempts transmissions in all, the k-th
    failure waits k * MessageAttemptInterval, then the message is discarded and the next one
    goes (E13.FR.02-04). A retry uses a new wire id (part 4 §4.1.4), which the RPC layer
    gives every CALL; the queue id stays the same."""

    def test_three_attempts_sixty_seconds_as_in_the_e13_example(self, station):
        queue = station.open(message_attempts=3, message_attempt_interval=60)
        first, second = put_tx(station, queue, 0, 1)
        online(queue)
        sent_at = []
        now = 0.0
        dropped = None
        while dropped is None:
            item = queue.next_to_send(now)
            assert item.message_id == first
            sent_at.append(now)
            dropped = queue.failed(first, now + 30, "Timeout")   # MessageTimeout 30 s
            if dropped is None:
                now = queue.next_deadline()
                assert queue.next_to_send(now - 0.001) is None   # not a moment early
        assert sent_at == [0.0, 30 + 60, 90 + 30 + 120]
        assert dropped == MessageDropped(first, "TransactionEvent", dropped.payload,
                                         "attempts", 3, "Timeout")
        assert [row[0] for row in station.rows()] == [second]     # deleted for good
        assert queue.next_to_send(now + 30).message_id == second  # E13.FR.04: continue

    def test_call_errors_count_like_timeouts(self, station):
        queue = station.open(message_attempts=2, message_attempt_interval=10)
        (queued,) = put_tx(station, queue, 0)
        online(queue)
        queue.next_to_send(0.0)
        assert queue.failed(queued, 0.0, "InternalError") is None
        queue.next_to_send(10.0)
        dropped = queue.failed(queued, 10.0, "InternalError")
        assert (dropped.reason, dropped.attempts, dropped.error_code) == (
            "attempts", 2, "InternalError")
        assert len(queue) == 0

    def test_success_before_the_last_attempt_removes_it(self, station):
        queue = station.open(message_attempts=3, message_attempt_interval=5)
        (queued,) = put_tx(station, queue, 0)
        online(queue)
        queue.next_to_send(0.0)
        queue.failed(queued, 0.0, "InternalError")
        assert station.rows()[0][1] == 1                   # MESSAGE_ATTEMPTS stored
        assert queue.next_to_send(5.0).message_id == queued
        assert queue.delivered(queued)
        assert station.rows() == [] and len(queue) == 0

    def test_later_transaction_events_wait_behind_a_retry(self, station):
        queue = station.open(message_attempts=3, message_attempt_interval=60)
        first, _ = put_tx(station, queue, 0, 1)
        online(queue)
        queue.next_to_send(0.0)
        queue.failed(first, 0.0)
        assert queue.next_to_send(59.0) is None            # seqNo 1 may not overtake seqNo 0
        assert queue.next_deadline() == 60.0
        assert seqs(drain(queue, 60.0)) == [0, 1]

    def test_a_normal_message_is_not_held_up_by_a_retry_wait(self, station):
        queue = station.open(message_attempt_interval=60)
        online(queue)
        (first,) = put_tx(station, queue, 0)
        queue.next_to_send(0.0)
        put(station, queue, "StatusNotification", status())
        queue.failed(first, 0.0)
        assert queue.next_to_send(1.0).action == "StatusNotification"

    def test_interval_zero_retries_at_once(self, station):
        queue = station.open(message_attempts=2, message_attempt_interval=0)
        (queued,) = put_tx(station, queue, 0)
        online(queue)
        queue.next_to_send(0.0)
        queue.failed(queued, 0.0)
        assert queue.next_to_send(0.0).message_id == queued

    @pytest.mark.parametrize("attempts", [1, 0, -3])
    def test_one_attempt_or_less_means_sent_once(self, station, attempts):
        queue = station.open(message_attempts=attempts)
        (queued,) = put_tx(station, queue, 0)
        online(queue)
        queue.next_to_send(0.0)
        assert queue.failed(queued, 0.0).attempts == 1

    def test_settings_changed_at_runtime_apply_to_the_next_failure(self, station):
        queue = station.open(message_attempts=5, message_attempt_interval=60)
        (queued,) = put_tx(station, queue, 0)
        online(queue)
        queue.next_to_send(0.0)
        queue.message_attempt_interval = 7
        queue.failed(queued, 0.0)
        assert queue.next_deadline() == 7.0
        queue.message_attempts = 2
        queue.next_to_send(7.0)
        assert queue.failed(queued, 7.0).reason == "attempts"

    def test_a_lost_connection_is_not_a_failed_attempt(self, station):
        queue = station.open(message_attempts=2, message_attempt_interval=60)
        (queued,) = put_tx(station, queue, 0)
        online(queue)
        for t in (0.0, 10.0, 20.0):
            assert queue.next_to_send(t).message_id == queued
            assert queue.failed(queued, t, "ConnectionLost") is None
        queue.set_online(False, 25.0)
        online(queue, 30.0)
        assert queue.next_to_send(30.0).message_id == queued   # at once: no retry wait
        assert station.rows()[0][1] == 0

    def test_failed_for_a_message_not_in_flight_is_ignored(self, station, queue):
        (queued,) = put_tx(station, queue, 0)
        online(queue)
        assert queue.failed(queued, 0.0) is None
        assert queue.failed("nope", 0.0) is None
        assert queue.next_to_send(0.0).message_id == queued

    def test_the_failure_count_survives_a_restart(self, station):
        queue = station.open(message_attempts=3, message_attempt_interval=1)
        (queued,) = put_tx(station, queue, 0)
        online(queue)
        for t in (0.0, 1.0):
            queue.next_to_send(t)
            queue.failed(queued, t)
        restarted = station.open(message_attempts=3, message_attempt_interval=1)
        online(restarted, 100.0)
        assert restarted.next_to_send(100.0).message_id == queued   # wait not kept
        assert restarted.failed(queued, 100.0).reason == "attempts"


class TestQueueAllMessages:
    """OCPPCommCtrlr.QueueAllMessages (part 2 appendix 2.1.9): false queues only
    transaction-related messages (E04.FR.01); true queues all until delivered."""

    def test_false_refuses_normal_messages_while_offline(self, station, queue):
        assert put(station, queue, "StatusNotification", status()) is None
        assert put(station, queue, "NotifyEvent", {}) is None
        assert len(queue) == 0
        assert station.rows("NORMAL_QUEUE") == []

    def test_false_sends_normal_messages_while_online_without_storing_them(self, station, queue):
        online(queue)
        put(station, queue, "StatusNotification", status())
        assert station.rows("NORMAL_QUEUE") == []
        assert [m.action for m in drain(queue)] == ["StatusNotification"]

    def test_false_drops_waiting_normal_messages_when_the_link_drops(self, station, queue):
        online(queue)
        put_tx(station, queue, 0)
        put(station, queue, "StatusNotification", status(1))
        put(station, queue, "MeterValues", {"evseId": 1, "meterValue": []})
        queue.next_to_send(0.0)
        dropped = queue.set_online(False, 1.0)
        assert [(d.action, d.reason) for d in dropped] == [
            ("StatusNotification", "offline"), ("MeterValues", "offline")]
        online(queue, 2.0)
        assert [m.action for m in drain(queue, 2.0)] == ["TransactionEvent"]

    def test_false_drops_a_normal_message_in_flight_when_the_link_drops(self, station, queue):
        online(queue)
        put(station, queue, "StatusNotification", status())
        queue.next_to_send(0.0)
        (dropped,) = queue.set_online(False, 1.0)
        assert dropped.action == "StatusNotification"
        assert queue.in_flight is None and len(queue) == 0

    def test_false_does_not_retry_normal_messages(self, station, queue):
        online(queue)
        queued = put(station, queue, "StatusNotification", status())
        queue.next_to_send(0.0)
        dropped = queue.failed(queued, 0.0, "InternalError")
        assert (dropped.reason, dropped.attempts) == ("error", 1)
        assert len(queue) == 0

    def test_true_queues_and_stores_normal_messages_while_offline(self, station):
        queue = station.open(queue_all_messages=True)
        put(station, queue, "StatusNotification", status())
        put_tx(station, queue, 0)
        assert len(station.rows("NORMAL_QUEUE")) == 1
        assert queue.set_online(False, 0.0) == []
        online(queue, 1.0)
        assert [m.action for m in drain(queue, 1.0)] == ["StatusNotification", "TransactionEvent"]
        assert station.rows("NORMAL_QUEUE") == []

    def test_true_retries_normal_messages(self, station):
        queue = station.open(queue_all_messages=True, message_attempts=2,
                             message_attempt_interval=3)
        online(queue)
        queued = put(station, queue, "StatusNotification", status())
        queue.next_to_send(0.0)
        assert queue.failed(queued, 0.0) is None
        assert station.rows("NORMAL_QUEUE")[0][1] == 1
        assert queue.next_to_send(3.0).message_id == queued

    def test_true_keeps_the_order_of_both_classes_across_a_restart(self, station):
        queue = station.open(queue_all_messages=True)
        put_tx(station, queue, 0)
        put(station, queue, "StatusNotification", status(1))
        put_tx(station, queue, 1)
        put(station, queue, "StatusNotification", status(2))
        restarted = station.open(queue_all_messages=True)
        online(restarted)
        assert [(m.action, m.payload.get("seqNo", m.payload.get("connectorId")))
                for m in drain(restarted)] == [
            ("TransactionEvent", 0), ("StatusNotification", 1),
            ("TransactionEvent", 1), ("StatusNotification", 2)]

    def test_a_start_with_false_deletes_normal_rows_of_an_earlier_run(self, station):
        queue = station.open(queue_all_messages=True)
        put(station, queue, "StatusNotification", status())
        put_tx(station, queue, 0)
        restarted = station.open(queue_all_messages=False)
        assert station.rows("NORMAL_QUEUE") == []
        online(restarted)
        assert [m.action for m in drain(restarted)] == ["TransactionEvent"]

    def test_switching_to_true_stores_the_waiting_normal_messages(self, station, queue):
        online(queue)
        put_tx(station, queue, 0)
        put(station, queue, "StatusNotification", status())
        queue.next_to_send(0.0)
        queue.set_queue_all_messages(True)
        assert len(station.rows("NORMAL_QUEUE")) == 1
        assert queue.set_online(False, 1.0) == []
        online(queue, 2.0)
        assert [m.action for m in drain(queue, 2.0)] == ["TransactionEvent", "StatusNotification"]

    def test_switching_to_false_offline_drops_and_unstores_normal_messages(self, station):
        queue = station.open(queue_all_messages=True)
        put(station, queue, "StatusNotification", status())
        put_tx(station, queue, 0)
        dropped = queue.set_queue_all_messages(False)
        assert [d.action for d in dropped] == ["StatusNotification"]
        assert station.rows("NORMAL_QUEUE") == []
        assert len(queue) == 1

    def test_switching_to_false_online_still_sends_them_once(self, station):
        queue = station.open(queue_all_messages=True)
        online(queue)
        put(station, queue, "StatusNotification", status())
        assert queue.set_queue_all_messages(False) == []
        assert station.rows("NORMAL_QUEUE") == []
        assert [m.action for m in drain(queue)] == ["StatusNotification"]


class TestResumeDelay:
    """EVerest's MessageQueueResumeDelay: after a reconnect, not on the first connect."""

    def test_the_first_connect_of_the_process_is_not_delayed(self, station):
        queue = station.open(resume_delay=30)
        put_tx(station, queue, 0)
        online(queue, 100.0)
        assert queue.next_to_send(100.0) is not None

    def test_a_reconnect_waits_for_the_delay(self, station):
        queue = station.open(resume_delay=30)
        online(queue, 0.0)
        queue.set_online(False, 10.0)
        put_tx(station, queue, 0)
        online(queue, 50.0)
        assert queue.next_to_send(79.9) is None
        assert queue.next_deadline() == 80.0
        assert seqs(drain(queue, 80.0)) == [0]

    def test_normal_messages_are_accepted_during_the_delay_and_wait_too(self, station):
        queue = station.open(resume_delay=30)
        online(queue, 0.0)
        queue.set_online(False, 10.0)
        online(queue, 50.0)
        assert put(station, queue, "StatusNotification", status()) is not None
        assert queue.next_to_send(60.0) is None
        assert [m.action for m in drain(queue, 80.0)] == ["StatusNotification"]

    def test_accepted_arriving_later_is_not_a_reconnect(self, station):
        queue = station.open(resume_delay=30)
        put_tx(station, queue, 0)
        queue.set_online(True, 0.0, registration_accepted=False)
        queue.set_online(True, 5.0, registration_accepted=True)
        assert queue.next_to_send(5.0) is not None

    def test_a_new_process_does_not_delay_its_first_connect(self, station):
        queue = station.open(resume_delay=30)
        online(queue, 0.0)
        queue.set_online(False, 1.0)
        put_tx(station, queue, 0)
        restarted = station.open(resume_delay=30)
        online(restarted, 2.0)
        assert restarted.next_to_send(2.0) is not None

    def test_the_delay_restarts_with_every_reconnect(self, station):
        queue = station.open(resume_delay=30)
        online(queue, 0.0)
        queue.set_online(False, 1.0)
        online(queue, 2.0)
        queue.set_online(False, 3.0)
        put_tx(station, queue, 0)
        online(queue, 100.0)
        assert queue.next_deadline() == 130.0

    def test_zero_means_no_delay(self, station):
        queue = station.open(resume_delay=0)
        online(queue, 0.0)
        queue.set_online(False, 1.0)
        put_tx(station, queue, 0)
        online(queue, 2.0)
        assert queue.next_to_send(2.0) is not None


class TestRestart:
    """Issue 3: after a SIGKILL every event reaches the CSMS, in order, and nothing the CSMS
    acknowledged is sent again. Old connections are never closed here."""

    def test_restart_mid_queue_resends_the_one_in_flight_then_the_rest(self, station, queue):
        ids = put_tx(station, queue, 0, 1, 2, 3, 4)
        online(queue)
        acknowledged = drain_n(queue, 2)                 # seqNo 0 and 1 acknowledged
        in_flight = queue.next_to_send(0.0)              # seqNo 2 sent, answer never seen
        assert in_flight.message_id == ids[2]
        put_tx(station, queue, 5)                        # and one more event queued

        restarted = station.open()                       # the old process is just gone
        assert len(restarted) == 4
        online(restarted)
        resent = drain(restarted)
        assert [m.message_id for m in resent] == ids[2:] + [resent[-1].message_id]
        assert seqs(acknowledged) + seqs(resent) == [0, 1, 2, 3, 4, 5]
        assert station.rows() == []

    def test_a_second_restart_after_full_delivery_sends_nothing(self, station, queue):
        put_tx(station, queue, 0, 1)
        online(queue)
        drain(queue)
        restarted = station.open()
        online(restarted)
        assert drain(restarted) == []

    def test_thousands_of_offline_events_come_back_in_order(self, station):
        # power_safe off only to keep the test fast; the order does not depend on it.
        queue = station.open(power_safe=False)
        put_tx(station, queue, *range(3000))
        restarted = station.open(power_safe=False)
        online(restarted)
        assert seqs(drain(restarted)) == list(range(3000))
        assert station.rows() == []

    def test_an_unacknowledged_retry_count_and_order_survive_together(self, station):
        queue = station.open(message_attempt_interval=60)
        first, second = put_tx(station, queue, 0, 1)
        put(station, queue, "SecurityEventNotification", security_event())
        online(queue)
        queue.next_to_send(0.0)
        queue.failed(first, 0.0)
        restarted = station.open()
        online(restarted)
        assert [m.action for m in drain(restarted)] == [
            "TransactionEvent", "TransactionEvent", "SecurityEventNotification"]


def drain_n(queue: MessageQueue, n: int) -> list[OutgoingMessage]:
    sent = []
    for _ in range(n):
        item = queue.next_to_send(0.0)
        queue.delivered(item.message_id)
        sent.append(item)
    return sent


class TestTransactionStatus:
    """E14.FR.04/05/07/08: GetTransactionStatus messagesInQueue."""

    def test_queued_events_are_reported_per_transaction_and_overall(self, station, queue):
        assert not queue.has_transaction_messages()
        put_tx(station, queue, 0, tx="A")
        put_tx(station, queue, 0, tx="B")
        assert queue.has_transaction_messages()
        assert queue.has_transaction_messages("A")
        assert not queue.has_transaction_messages("C")
        online(queue)
        drain_n(queue, 1)
        assert not queue.has_transaction_messages("A")
        assert queue.has_transaction_messages("B")
        drain(queue)
        assert not queue.has_transaction_messages()

    def test_a_dropped_event_is_no_longer_in_the_queue(self, station):
        queue = station.open(message_attempts=1)
        (queued,) = put_tx(station, queue, 0, tx="A")
        online(queue)
        queue.next_to_send(0.0)
        queue.failed(queued, 0.0)
        assert not queue.has_transaction_messages("A")

    def test_reloaded_events_are_counted(self, station, queue):
        put_tx(station, queue, 0, tx="A")
        assert station.open().has_transaction_messages("A")

    def test_security_events_are_not_transaction_messages_here(self, station, queue):
        put(station, queue, "SecurityEventNotification", security_event())
        assert not queue.has_transaction_messages()

    def test_pending_lists_everything_in_order(self, station, queue):
        put_tx(station, queue, 0, 1)
        put(station, queue, "SecurityEventNotification", security_event())
        assert [m.action for m in queue.pending()] == [
            "TransactionEvent", "TransactionEvent", "SecurityEventNotification"]
