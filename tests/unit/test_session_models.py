"""station/session.py: the one place where wire dicts and OCPP models meet (issue #9).

Behind the edge (``ocppj.rpc``, which validates every frame against the JSON schemas and picks
the CALLERROR code) a handler gets ``<Action>Request`` and returns ``<Action>Response``,
``Reply`` or ``Deferred``; a deferred finisher returns the response too; ``on_result`` gets
``<Action>Response``. A response of the wrong class is our bug: InternalError, no details.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from itertools import count

import pytest

from messages.ocpp201 import (ChangeAvailabilityResponse, HeartbeatResponse, ResetEnumType,
                              ResetRequest, ResetResponse, ResetStatusEnumType, StatusInfoType,
                              UnlockConnectorResponse)
from ocppj.errors import OccurrenceConstraintViolation
from ports.outcome import Deferred, Reply
from station.session import StationSession


class Link:
    """A bare session, booted Accepted, with the CSMS's side as frames."""

    def __init__(self, *, validate: bool = True) -> None:
        ids = count(1)
        self.session = StationSession(
            "CP-1", new_message_id=lambda: f"cs-{next(ids)}", validate=validate,
            wall_clock=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
        self.now = 0.0

    def boot(self, **routes) -> "Link":
        """Connect with these routes (the RPC core takes the supported actions on connect)
        and answer BootNotification Accepted."""
        self.session.install_routes(routes)
        self.session.connected(self.now)
        [boot] = self.frames()
        self.answer(boot, {"status": "Accepted", "interval": 300,
                           "currentTime": "2026-01-02T03:04:05Z"})
        return self

    def frames(self) -> list[list]:
        return [json.loads(f) for f in self.session.data_to_send()]

    def answer(self, call: list, payload: dict) -> None:
        self.session.receive_text(json.dumps([3, call[1], payload]), self.now)

    def csms_call(self, action: str, payload: dict, message_id: str = "m1") -> list[list]:
        self.session.receive_text(json.dumps([2, message_id, action, payload]), self.now)
        return self.frames()


def internal_error(frames: list[list]) -> bool:
    [frame] = frames
    return frame[0] == 4 and frame[2] == "InternalError" and frame[4] == {}


class TestIncomingCalls:
    def test_the_handler_gets_the_request_model_and_its_response_goes_out_as_wire(self):
        seen = []

        def on_reset(message_id: str, request: ResetRequest) -> ResetResponse:
            seen.append((message_id, request))
            return ResetResponse(status=ResetStatusEnumType.rejected,
                                 status_info=StatusInfoType(reason_code="UnsupportedRequest"))

        link = Link().boot(Reset=on_reset)
        frames = link.csms_call("Reset", {"type": "OnIdle", "evseId": 2})
        assert frames == [[3, "m1", {"status": "Rejected",
                                     "statusInfo": {"reasonCode": "UnsupportedRequest"}}]]
        assert seen == [("m1", ResetRequest(type=ResetEnumType.on_idle, evse_id=2))]

    def test_a_reply_goes_out_before_its_follow_up_work(self):
        done = []
        link = Link().boot(Reset=lambda _id, _req: Reply(
            ResetResponse(status="Accepted"), then=lambda: done.append(len(done))))
        assert link.csms_call("Reset", {"type": "Immediate"}) == [
            [3, "m1", {"status": "Accepted"}]]
        assert done == [0]

    def test_an_ocpp_error_is_its_callerror(self):
        def on_reset(_id, _req):
            raise OccurrenceConstraintViolation("too many")

        link = Link().boot(Reset=on_reset)
        [frame] = link.csms_call("Reset", {"type": "Immediate"})
        assert frame[:4] == [4, "m1", "OccurrenceConstraintViolation", "too many"]

    def test_a_response_of_another_action_is_our_bug(self):
        link = Link().boot(Reset=lambda _id, _req: UnlockConnectorResponse(status="Unlocked"))
        assert internal_error(link.csms_call("Reset", {"type": "Immediate"}))

    def test_a_wire_dict_is_no_response(self):
        link = Link().boot(Reset=lambda _id, _req: {"status": "Accepted"})
        assert internal_error(link.csms_call("Reset", {"type": "Immediate"}))

    def test_the_schema_check_at_the_edge_comes_first(self):
        # Same CALLERROR codes as before the session parsed: the handler never runs.
        link = Link().boot(Reset=lambda _id, _req: pytest.fail("handler called"))
        [frame] = link.csms_call("Reset", {"type": "Sometime"})
        assert frame[:3] == [4, "m1", "PropertyConstraintViolation"]

    def test_without_the_edge_check_a_payload_that_does_not_parse_is_internal_error(self):
        link = Link(validate=False).boot(Reset=lambda _id, _req: pytest.fail("handler called"))
        assert internal_error(link.csms_call("Reset", {"type": "Sometime"}))


class TestDeferredAnswers:
    @staticmethod
    def deferred(finish) -> list[list]:
        """ChangeAvailability deferred, then resolved with the answer "Scheduled"."""
        link = Link()
        link.boot(ChangeAvailability=lambda message_id, _req: link.session.defer(
            "corr-1", message_id, "ChangeAvailability", finish))
        assert link.csms_call("ChangeAvailability", {"operationalStatus": "Operative"}) == []
        link.session.resolve_deferred("corr-1", "Scheduled", link.now)
        return link.frames()

    def test_the_finisher_returns_the_response_model(self):
        frames = self.deferred(lambda answer: ChangeAvailabilityResponse(status=answer))
        assert frames == [[3, "m1", {"status": "Scheduled"}]]

    def test_the_finisher_may_return_a_reply(self):
        done = []
        frames = self.deferred(lambda answer: Reply(
            ChangeAvailabilityResponse(status=answer), then=lambda: done.append(True)))
        assert frames == [[3, "m1", {"status": "Scheduled"}]] and done == [True]

    def test_a_finisher_with_a_response_of_another_action_is_our_bug(self):
        assert internal_error(self.deferred(lambda answer: ResetResponse(status="Accepted")))

    def test_a_deferred_handler_sends_nothing_yet(self):
        link = Link().boot(Reset=lambda _id, _req: Deferred("corr-2"))
        assert link.csms_call("Reset", {"type": "Immediate"}) == []


class TestResults:
    def test_on_result_gets_the_response_model(self):
        link = Link().boot()
        results = []
        link.session.call("Heartbeat", {}, on_result=results.append)
        [frame] = link.frames()
        link.answer(frame, {"currentTime": "2026-01-02T03:04:06Z"})
        assert results == [HeartbeatResponse(current_time="2026-01-02T03:04:06Z")]

    def test_without_the_edge_check_a_result_that_does_not_parse_is_an_error(self):
        link = Link(validate=False).boot()
        results, errors = [], []
        link.session.call("Heartbeat", {}, on_result=results.append,
                          on_error=lambda code, text: errors.append(code))
        [frame] = link.frames()
        link.answer(frame, {"currentTime": 5})
        assert results == [] and errors == ["FormatViolation"]
