"""Tests for simulators/csms/protocol.py: OCPP-J as the test CSMS decodes and checks it."""

from __future__ import annotations

import json

import pytest
from ocpp.v201.enums import Action

from simulators.csms.protocol import (
    CS_TO_CSMS_ACTIONS,
    CSMS_TO_CS_ACTIONS,
    CallErrorResult,
    InboundAnswer,
    InboundCall,
    MalformedFrame,
    PayloadViolation,
    call_error_frame,
    call_outcome,
    check_call,
    decode_frame,
    encode,
    raw_call,
    result_violation,
)

STATUS = {"timestamp": "2024-05-01T10:00:00Z", "connectorStatus": "Available",
          "evseId": 1, "connectorId": 1}


class TestActionDirections:
    """Part 2 message list: who sends which action."""

    def test_action_directions_cover_all_of_ocpp_201(self):
        assert CS_TO_CSMS_ACTIONS | CSMS_TO_CS_ACTIONS == {a.value for a in Action}
        assert CS_TO_CSMS_ACTIONS & CSMS_TO_CS_ACTIONS == {"DataTransfer"}


class TestDecodeFrame:
    """Part 4 §4.1.2, §4.2.3, §4.4: what a websocket message from the station is."""

    def test_a_call_is_decoded_without_checking_its_content(self):
        assert decode_frame('[2,"m1","NoSuchAction",[]]') == InboundCall("m1", "NoSuchAction", [])

    def test_a_result_carries_its_payload(self):
        assert decode_frame('[3,"m1",{"status":"Accepted"}]') == InboundAnswer(
            "result", "m1", {"status": "Accepted"})

    def test_an_error_becomes_a_dict_of_its_three_fields(self):
        assert decode_frame('[4,"m1","NotSupported","no",{"x":1}]') == InboundAnswer(
            "error", "m1", {"errorCode": "NotSupported", "errorDescription": "no",
                            "errorDetails": {"x": 1}})

    @pytest.mark.parametrize("text, message_id, code", [
        ('[2, "a", "Heartbeat", {', "-1", "RpcFrameworkError"),    # §4.2.3: id unreadable
        ('{"a": 1}', "-1", "RpcFrameworkError"),
        ("[]", "-1", "RpcFrameworkError"),
        ('[true, "a"]', "-1", "RpcFrameworkError"),
        ('[2, "a", "Heartbeat"]', "a", "RpcFrameworkError"),
        ('[2, 5, "Heartbeat", {}]', "-1", "RpcFrameworkError"),
        ('[7, "a", "Heartbeat", {}]', "a", "MessageTypeNotSupported"),  # §4.4
    ])
    def test_a_malformed_frame_is_answered_with_a_callerror(self, text, message_id, code):
        frame = decode_frame(text)
        assert isinstance(frame, MalformedFrame)
        assert (frame.message_id, frame.code, frame.answer) == (message_id, code, True)
        assert frame.violation.startswith(code + ": ")

    def test_bad_json_is_not_echoed(self):
        frame = decode_frame('[2, "secret", {')
        assert "secret" not in frame.why

    @pytest.mark.parametrize("text", ['[3, "a"]', '[4, "a", "InternalError", ""]', "[3]"])
    def test_a_malformed_answer_is_never_answered(self, text):
        frame = decode_frame(text)
        assert isinstance(frame, MalformedFrame) and not frame.answer

    def test_a_binary_frame_is_malformed_and_not_answered(self):
        # part 4 §4.1.2: OCPP-J is UTF-8 JSON in text frames.
        assert decode_frame(b'[2,"a","Heartbeat",{}]') == MalformedFrame(
            "-1", "RpcFrameworkError", "binary frame", answer=False)


class TestCheckCall:
    """Part 4 §4.1.4, §4.3: a CALL from the station that breaks a rule."""

    @pytest.mark.parametrize("action, payload, code", [
        ("BootNotification", {"reason": "PowerUp"}, "OccurrenceConstraintViolation"),
        ("Heartbeat", {"extra": 1}, "FormatViolation"),
        ("StatusNotification", {**STATUS, "evseId": "1"}, "TypeConstraintViolation"),
        ("StatusNotification", {**STATUS, "timestamp": "today"}, "TypeConstraintViolation"),
        ("StatusNotification", {**STATUS, "connectorStatus": "Busy"}, "PropertyConstraintViolation"),
        ("Heartbeat", [], "FormatViolation"),
        ("NoSuchAction", {}, "NotImplemented"),
        ("Reset", {"type": "Immediate"}, "NotSupported"),
    ])
    def test_a_broken_call_gets_the_error_code_of_its_fault(self, action, payload, code):
        assert check_call("a", action, payload)[0] == code

    def test_a_message_id_longer_than_36_characters_is_an_rpc_framework_error(self):
        assert check_call("x" * 37, "Heartbeat", {})[0] == "RpcFrameworkError"
        assert check_call("x" * 36, "Heartbeat", {}) is None

    def test_a_valid_call_passes(self):
        assert check_call("a", "StatusNotification", STATUS) is None


class TestFramesToTheStation:
    def test_encode_is_compact(self):
        assert encode([3, "a", {"b": 1}]) == '[3,"a",{"b":1}]'

    def test_callerror_description_is_cut_to_255_characters(self):
        # part 4 §4.2.3: ErrorDescription is string[255].
        frame = call_error_frame("a", "InternalError", "x" * 300)
        assert frame == [4, "a", "InternalError", "x" * 255, {}]

    def test_callerror_keeps_its_details(self):
        assert call_error_frame("a", "NotSupported", "", {"k": 1})[4] == {"k": 1}

    @pytest.mark.parametrize("text, expected", [
        ('[2,"r1","Reset",{"type":"Immediate"}]', ("r1", "Reset", {"type": "Immediate"})),
        ('[2,"r1",["odd"]]', ("r1", ["odd"], None)),
        ('[3,"r1",{}]', None),
        ('[2, not json', None),
        ('[2,5,"Reset",{}]', None),
    ])
    def test_raw_call_recognises_only_the_shape_of_a_call(self, text, expected):
        assert raw_call(text) == expected


class TestCallOutcome:
    """What `CsmsServer.call` makes of the station's answer."""

    def test_a_result_is_returned_as_a_copy(self):
        answer = {"status": "Accepted"}
        got = call_outcome("Reset", "result", answer, None, validate=True)
        assert got == answer and got is not answer

    def test_a_callerror_raises_call_error_result(self):
        error = {"errorCode": "NotSupported", "errorDescription": "no", "errorDetails": {"x": 1}}
        with pytest.raises(CallErrorResult) as info:
            call_outcome("SetChargingProfile", "error", error, None, validate=True)
        assert (info.value.code, info.value.description, info.value.details) == (
            "NotSupported", "no", {"x": 1})

    def test_a_schema_violation_raises_only_when_validating(self):
        answer = {"status": "Maybe"}
        violation = result_violation("Reset", answer)
        assert violation.startswith("PropertyConstraintViolation: ")
        with pytest.raises(PayloadViolation) as info:
            call_outcome("Reset", "result", answer, violation, validate=True)
        assert info.value.code == "PropertyConstraintViolation"
        assert info.value.description.startswith("ResetResponse ")
        assert call_outcome("Reset", "result", answer, violation, validate=False) == answer

    def test_a_valid_result_has_no_violation(self):
        assert result_violation("Reset", {"status": "Accepted"}) is None


def test_every_decoded_call_round_trips_through_encode():
    frame = [2, "m", "Heartbeat", {}]
    assert decode_frame(encode(frame)) == InboundCall("m", "Heartbeat", {})
    assert json.loads(encode(frame)) == frame
