"""ports/typed_handler.py: block handlers on OCPP models behind the dict-speaking session."""
from __future__ import annotations

import pytest

from messages.ocpp201 import (ResetEnumType, ResetRequest, ResetResponse, ResetStatusEnumType,
                              StatusInfoType, UnlockConnectorResponse)
from station.session import Deferred, Reply
from ports.typed_handler import typed_handler, wire_outcome


def test_the_handler_gets_the_request_model_and_its_response_goes_out_as_a_dict():
    seen = []

    def on_reset(message_id: str, request: ResetRequest) -> ResetResponse:
        seen.append((message_id, request))
        return ResetResponse(status=ResetStatusEnumType.rejected,
                             status_info=StatusInfoType(reason_code="UnsupportedRequest"))

    handler = typed_handler("Reset", on_reset)
    answer = handler("m1", {"type": "OnIdle", "evseId": 2})
    assert answer == {"status": "Rejected", "statusInfo": {"reasonCode": "UnsupportedRequest"}}
    assert seen == [("m1", ResetRequest(type=ResetEnumType.on_idle, evse_id=2))]
    assert handler.__name__ == "on_reset"


def test_a_reply_keeps_its_follow_up_work():
    def then():
        pass

    handler = typed_handler(
        "Reset", lambda _id, _req: Reply(ResetResponse(status="Accepted"), then=then))
    answer = handler("m1", {"type": "Immediate"})
    assert answer == Reply({"status": "Accepted"}, then=then)


def test_deferred_passes_through():
    deferred = Deferred("corr-1")
    assert typed_handler("Reset", lambda _id, _req: deferred)("m1", {"type": "OnIdle"}) is deferred


def test_a_response_of_another_action_is_a_bug():
    with pytest.raises(TypeError, match="Reset handler returned UnlockConnectorResponse"):
        wire_outcome("Reset", UnlockConnectorResponse(status="Unlocked"))
    with pytest.raises(TypeError):
        wire_outcome("Reset", {"status": "Accepted"})
