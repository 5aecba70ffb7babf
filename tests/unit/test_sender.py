"""station.sender: the one sending port, against the real core and queue (no sockets)."""
from __future__ import annotations

import pytest

from messages.evse import LockProblemChanged
from messages.ocpp201 import (AuthorizeRequest, AuthorizeResponse, ClearedChargingLimitRequest,
                              HeartbeatRequest, IdTokenType, ResetRequest,
                              SecurityEventNotificationRequest,
                              SecurityEventNotificationResponse, StatusNotificationRequest)
from tests.unit.station_harness import Harness

TOKEN = IdTokenType(id_token="A", type="Local")


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path)


def booted(h: Harness, *, queue_all: bool) -> Harness:
    h.announce_all()
    h.boot()
    h.drain_calls()
    [frame] = h.csms_call("SetVariables", {"setVariableData": [{
        "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "QueueAllMessages"},
        "attributeValue": "true" if queue_all else "false"}]})
    assert frame[2]["setVariableResult"][0]["attributeStatus"] == "Accepted"
    assert h.core.sender.queue.queue_all_messages is queue_all
    return h


def actions(calls: list[list]) -> list[str]:
    return [c[2] for c in calls]


def raise_while_offline(h: Harness) -> None:
    """A NotifyChargingLimit (K11) and a Delta NotifyEvent (G05) while the link is down."""
    h.disconnect()
    h.advance(5)
    assert h.core.smart_charging.set_external_limit(1, 16.0, "A", "EMS") is None
    h.core.availability.lock_problem_changed(LockProblemChanged(
        evse_id=1, connector_id=1, problem=True, timestamp="2026-01-02T03:04:10.000Z"))
    h.advance(5)


class TestQueueAllMessagesTrue:
    """Part 2 §2.1.9: "the Charging Station will queue all message until they are delivered"."""

    def test_notifications_raised_offline_arrive_after_the_reconnect(self, h):
        booted(h, queue_all=True)
        raise_while_offline(h)
        h.connect()
        calls = h.drain_calls()
        assert "NotifyChargingLimit" in actions(calls)
        problem = [c[3]["eventData"][0] for c in calls if c[2] == "NotifyEvent"
                   and c[3]["eventData"][0]["variable"]["name"] == "Problem"]
        assert [(e["actualValue"], e["trigger"]) for e in problem] == [("true", "Delta")]

    def test_they_survive_a_restart(self, h, tmp_path):
        booted(h, queue_all=True)
        raise_while_offline(h)
        again = Harness(tmp_path)
        again.announce_all()
        again.boot()
        assert "NotifyChargingLimit" in actions(again.drain_calls())

    def test_status_notification_is_still_not_queued(self, h):
        booted(h, queue_all=True)
        h.disconnect()
        assert h.core.sender.send("StatusNotification", StatusNotificationRequest(
            timestamp="2026-01-02T03:04:05.000Z", connector_status="Occupied",
            evse_id=1, connector_id=1)) is False
        assert h.core.sender.queue.pending() == []

    def test_authorize_is_live_and_not_queued(self, h):
        booted(h, queue_all=True)
        h.disconnect()
        assert h.core.sender.send("Authorize", AuthorizeRequest(id_token=TOKEN)) is False
        assert h.core.sender.queue.pending() == []


class TestQueueAllMessagesFalse:
    """§2.1.9: "When set to false the Charging Station will only queue Transaction related
    messages"."""

    def test_notifications_raised_offline_are_dropped(self, h):
        booted(h, queue_all=False)
        raise_while_offline(h)
        h.connect()
        calls = h.drain_calls()
        assert "NotifyChargingLimit" not in actions(calls)
        assert all(c[3]["eventData"][0]["variable"]["name"] != "Problem"
                   for c in calls if c[2] == "NotifyEvent")

    def test_online_they_are_sent_at_once(self, h):
        booted(h, queue_all=False)
        assert h.core.smart_charging.set_external_limit(1, 16.0, "A", "EMS") is None
        assert "NotifyChargingLimit" in actions(h.drain_calls())

    def test_a_failed_one_is_not_retried_and_its_sender_hears_it(self, h):
        booted(h, queue_all=False)
        errors = []
        assert h.core.sender.send("ClearedChargingLimit",
                                  ClearedChargingLimitRequest(charging_limit_source="EMS"),
                                  on_error=lambda code, text: errors.append(code))
        [frame] = h.sent()
        h.session.receive_text(f'[4, "{frame[1]}", "InternalError", "no", {{}}]', h.now)
        assert errors == ["InternalError"]
        h.advance(600)
        assert "ClearedChargingLimit" not in actions(h.drain_calls())

    def test_security_events_are_queued_anyway(self, h):
        booted(h, queue_all=False)
        h.disconnect()
        h.core.security.report("SettingSystemTime")
        h.connect()
        calls = h.drain_calls()
        assert [c[3]["type"] for c in calls if c[2] == "SecurityEventNotification"] == [
            "SettingSystemTime"]


class TestThePort:
    def test_the_sessions_own_messages_are_refused(self, h):
        with pytest.raises(ValueError):
            h.core.sender.send("Heartbeat", HeartbeatRequest())

    def test_an_action_without_a_policy_is_refused(self, h):
        with pytest.raises(KeyError):
            h.core.sender.send("Reset", ResetRequest(type="Immediate"))

    def test_a_triggered_report_goes_out_while_pending(self, h):
        # B02.FR.02: the queue opens only on Accepted, so the port sends it directly.
        h.connect()
        frame = h.expect_call("BootNotification")
        h.answer(frame, {"status": "Pending", "interval": 300,
                         "currentTime": "2026-01-02T03:04:05Z"})
        frames = h.csms_call("GetBaseReport", {"requestId": 7, "reportBase": "SummaryInventory"})
        assert frames[0][2] == {"status": "Accepted"}
        assert [f[2] for f in frames[1:]] == ["NotifyReport"]


class TestModelsOnly:
    """Issue #9: blocks hand the port request models and hear response models; the wire
    dicts stay between the port, the queue and the session."""

    def test_a_wire_dict_is_refused(self, h):
        booted(h, queue_all=False)
        with pytest.raises(TypeError, match="Authorize sent as dict"):
            h.core.sender.send("Authorize", {"idToken": {"idToken": "A", "type": "Local"}})
        assert h.sent() == []

    def test_a_request_of_another_action_is_refused(self, h):
        booted(h, queue_all=False)
        with pytest.raises(TypeError, match="not AuthorizeRequest"):
            h.core.sender.send("Authorize", HeartbeatRequest())

    def test_a_live_call_is_answered_with_the_response_model(self, h):
        booted(h, queue_all=False)
        results = []
        assert h.core.sender.send("Authorize", AuthorizeRequest(id_token=TOKEN),
                                  on_result=results.append)
        [frame] = h.sent()
        assert frame[3] == {"idToken": {"idToken": "A", "type": "Local"}}      # on the wire
        h.answer(frame, {"idTokenInfo": {"status": "Blocked"}})
        assert results == [AuthorizeResponse.model_validate(
            {"idTokenInfo": {"status": "Blocked"}})]

    def test_a_queued_call_is_answered_with_the_response_model(self, h):
        booted(h, queue_all=False)
        h.disconnect()
        results = []
        assert h.core.sender.send(
            "SecurityEventNotification", SecurityEventNotificationRequest(
                type="SettingSystemTime", timestamp="2026-01-02T03:04:05.000Z"),
            on_result=results.append)
        assert [m.payload for m in h.core.sender.queue.pending()] == [          # stored as wire
            {"type": "SettingSystemTime", "timestamp": "2026-01-02T03:04:05.000Z"}]
        h.connect()
        [frame] = [c for c in h.sent() if c[2] == "SecurityEventNotification"]
        h.answer(frame, {})
        assert results == [SecurityEventNotificationResponse()]
