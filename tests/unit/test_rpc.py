"""Tests for ocppj.rpc.RpcEndpoint and ocppj.errors (OCPP 2.0.1 part 4, RPC framework)."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from ocppj import rpc, schemas
from ocppj.errors import (
    ERRORS_BY_CODE,
    FormatViolation,
    GenericError,
    NotImplementedAction,
    OcppError,
    SecurityError,
)
from ocppj.rpc import (
    CallErrorReceived,
    CallReceived,
    CallResultReceived,
    CallTimedOut,
    LocalProtocolError,
    ProtocolViolation,
    RpcEndpoint,
)

STATION_RECEIVES = frozenset(
    {"Reset", "GetVariables", "SetVariables", "TriggerMessage", "ChangeAvailability"}
)
CSMS_RECEIVES = frozenset({"BootNotification", "Heartbeat", "StatusNotification", "Authorize"})

BOOT_REQUEST = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
BOOT_RESPONSE = {"currentTime": "2024-05-01T12:00:00Z", "interval": 300, "status": "Accepted"}
HEARTBEAT_RESPONSE = {"currentTime": "2024-05-01T12:00:00Z"}
RESET_REQUEST = {"type": "Immediate"}


def make_endpoint(supported=STATION_RECEIVES, prefix="s", **kwargs) -> RpcEndpoint:
    counter = itertools.count(1)
    return RpcEndpoint(
        supported_actions=supported,
        new_message_id=lambda: f"{prefix}{next(counter)}",
        **kwargs,
    )


def frame(*parts) -> str:
    return json.dumps(list(parts), separators=(",", ":"))


def sent(endpoint: RpcEndpoint) -> list[list]:
    return [json.loads(f) for f in endpoint.data_to_send()]


def single_call_error(endpoint: RpcEndpoint) -> list:
    frames = sent(endpoint)
    assert len(frames) == 1, frames
    assert frames[0][0] == rpc.CALLERROR
    assert len(frames[0]) == 5
    return frames[0]


@pytest.fixture
def station() -> RpcEndpoint:
    return make_endpoint()


class TestErrors:
    """Part 4 §4.3 Table 8: one exception class per error code."""

    TABLE_8 = {
        "FormatViolation",
        "GenericError",
        "InternalError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "NotSupported",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "SecurityError",
        "TypeConstraintViolation",
    }

    def test_every_table_8_code_has_exactly_one_class(self):
        assert set(ERRORS_BY_CODE) == self.TABLE_8
        for code, cls in ERRORS_BY_CODE.items():
            assert issubclass(cls, OcppError)
            assert cls.code == code

    def test_not_implemented_action_uses_wire_code_not_implemented(self):
        assert NotImplementedAction.code == "NotImplemented"

    def test_defaults_are_empty_description_and_empty_details(self):
        error = GenericError()
        assert error.description == ""
        assert error.details == {}

    def test_description_and_details_are_kept(self):
        error = SecurityError("not yet", {"why": 1})
        assert (error.description, error.details, str(error)) == ("not yet", {"why": 1}, "not yet")


class TestConstruction:
    def test_unknown_supported_action_is_rejected(self):
        with pytest.raises(ValueError, match="Rset"):
            RpcEndpoint(supported_actions={"Rset"})

    def test_idle_endpoint_has_nothing_to_do(self, station):
        assert station.outstanding is None
        assert station.queued_count == 0
        assert station.next_deadline() is None
        assert station.data_to_send() == []
        assert station.events_received() == []

    def test_default_message_ids_are_unique_uuids(self):
        endpoint = RpcEndpoint(supported_actions=STATION_RECEIVES)
        ids = {endpoint.send_call("Heartbeat", {}, now=0.0) for _ in range(50)}
        assert len(ids) == 50
        assert all(len(i) == 36 for i in ids)


class TestMalformedFrames:
    """Frames that are not a valid RPC message (part 4 §4.2.3, Table 8 RpcFrameworkError)."""

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "not json",
            '[2,"1","Heartbeat",{}',
            "[NaN]",
            '[2,"1","Heartbeat",{"x":Infinity}]',
            "{}",
            '{"messageTypeId":2}',
            '"text"',
            "42",
            "null",
            "[]",
            "[" * 100000,
        ],
    )
    def test_unreadable_frame_gets_rpc_framework_error_with_id_minus_one(self, station, text):
        station.receive_text(text, now=0.0)
        error = single_call_error(station)
        assert error[1] == "-1"
        assert error[2] == "RpcFrameworkError"
        assert error[4] == {}
        [event] = station.events_received()
        assert isinstance(event, ProtocolViolation)
        assert event.text == text

    @pytest.mark.parametrize("type_id", ['"2"', "2.0", "true", "null", "[2]"])
    def test_non_integer_message_type_is_rpc_framework_error(self, station, type_id):
        station.receive_text(f'[{type_id},"m1","Heartbeat",{{}}]', now=0.0)
        error = single_call_error(station)
        assert error[1:3] == ["m1", "RpcFrameworkError"]

    def test_call_error_frame_is_compact_json(self, station):
        station.receive_text("garbage", now=0.0)
        [text] = station.data_to_send()
        assert text == '[4,"-1","RpcFrameworkError","Message is not valid JSON",{}]'


class TestUnknownMessageType:
    """§4.1.3 / §4.4: unknown Message Type Number -> MessageTypeNotSupported."""

    def test_unknown_type_with_readable_id_echoes_the_id(self, station):
        station.receive_text('[5,"m7",{"future":true}]', now=0.0)
        error = single_call_error(station)
        assert error[1:3] == ["m7", "MessageTypeNotSupported"]
        assert isinstance(station.events_received()[0], ProtocolViolation)

    @pytest.mark.parametrize("text", ["[7]", "[1,42]", '[0,""]', "[6," + '"' + "x" * 37 + '"]'])
    def test_unknown_type_without_usable_id_uses_minus_one(self, station, text):
        station.receive_text(text, now=0.0)
        error = single_call_error(station)
        assert error[1:3] == ["-1", "MessageTypeNotSupported"]


class TestCallFraming:
    """§4.2.1: a CALL is [2, "<MessageId>", "<Action>", {<Payload>}]; MessageId is string[36]."""

    @pytest.mark.parametrize(
        "text",
        ["[2]", '[2,42,"Reset",{}]', '[2,null,"Reset",{}]', '[2,"","Reset",{}]',
         '[2,["x"],"Reset",{}]'],
    )
    def test_unreadable_message_id_is_rpc_framework_error_minus_one(self, station, text):
        station.receive_text(text, now=0.0)
        error = single_call_error(station)
        assert error[1:3] == ["-1", "RpcFrameworkError"]

    def test_message_id_longer_than_36_is_rpc_framework_error(self, station):
        long_id = "x" * 37
        station.receive_text(frame(2, long_id, "Reset", RESET_REQUEST), now=0.0)
        error = single_call_error(station)
        assert error[1:3] == ["-1", "RpcFrameworkError"]
        assert "36" in error[3]

    def test_message_id_of_exactly_36_is_accepted(self, station):
        station.receive_text(frame(2, "y" * 36, "Reset", RESET_REQUEST), now=0.0)
        assert station.events_received() == [CallReceived("y" * 36, "Reset", RESET_REQUEST)]

    @pytest.mark.parametrize(
        "parts",
        [(2, "m1"), (2, "m1", "Reset"), (2, "m1", "Reset", RESET_REQUEST, {}),
         (2, "m1", "Reset", RESET_REQUEST, "extra", 1)],
    )
    def test_wrong_element_count_is_rpc_framework_error_with_the_id(self, station, parts):
        station.receive_text(frame(*parts), now=0.0)
        error = single_call_error(station)
        assert error[1:3] == ["m1", "RpcFrameworkError"]
        assert "4 elements" in error[3]

    @pytest.mark.parametrize("action", [5, None, {"a": 1}, ["Reset"]])
    def test_action_not_a_string_is_rpc_framework_error(self, station, action):
        station.receive_text(frame(2, "m1", action, {}), now=0.0)
        error = single_call_error(station)
        assert error[1:3] == ["m1", "RpcFrameworkError"]

    def test_unknown_action_is_not_implemented(self, station):
        station.receive_text(frame(2, "m1", "MakeCoffee", {}), now=0.0)
        error = single_call_error(station)
        assert error[1:3] == ["m1", "NotImplemented"]
        assert "MakeCoffee" in error[3]

    def test_action_is_case_sensitive(self, station):
        station.receive_text(frame(2, "m1", "reset", RESET_REQUEST), now=0.0)
        assert single_call_error(station)[2] == "NotImplemented"

    def test_signed_action_is_not_implemented(self, station):
        station.receive_text(frame(2, "m1", "Reset-Signed", {}), now=0.0)
        assert single_call_error(station)[2] == "NotImplemented"

    def test_known_but_unsupported_action_is_not_supported(self, station):
        # K01.FR.29 / TC_K_..: CALLERROR NotSupported; errata 4.7 example wording.
        station.receive_text(frame(2, "m1", "SetChargingProfile", {}), now=0.0)
        error = single_call_error(station)
        assert error == [4, "m1", "NotSupported", "SetChargingProfileRequest not supported", {}]

    def test_huge_unknown_action_name_is_not_echoed_in_full(self, station):
        station.receive_text(frame(2, "m1", "A" * 10000, {}), now=0.0)
        error = single_call_error(station)
        assert error[2] == "NotImplemented"
        assert len(error[3]) <= 255

    def test_every_rejection_is_reported_as_protocol_violation_without_call_received(
        self, station
    ):
        station.receive_text(frame(2, "m1", "MakeCoffee", {}), now=0.0)
        events = station.events_received()
        assert len(events) == 1
        assert isinstance(events[0], ProtocolViolation)
        assert "NotImplemented" in events[0].description


class TestCallPayloadValidation:
    """§4.1.7 / part 2 B00 FR.03: invalid payloads are answered with a CALLERROR."""

    @pytest.mark.parametrize(
        "payload, code",
        [
            ([], "FormatViolation"),
            (None, "FormatViolation"),
            ("Immediate", "FormatViolation"),
            ({"type": "Immediate", "colour": "red"}, "FormatViolation"),
            ({}, "OccurrenceConstraintViolation"),
            ({"type": 1}, "TypeConstraintViolation"),
            ({"type": "Now"}, "PropertyConstraintViolation"),
            ({"type": "Immediate", "evseId": "1"}, "TypeConstraintViolation"),
        ],
    )
    def test_schema_violation_codes(self, station, payload, code):
        station.receive_text(frame(2, "m1", "Reset", payload), now=0.0)
        error = single_call_error(station)
        assert error[1:3] == ["m1", code]
        assert error[3].startswith("$")

    def test_missing_field_description_names_the_path(self, station):
        station.receive_text(frame(2, "m1", "Reset", {}), now=0.0)
        assert single_call_error(station)[3] == "$.type: required property missing"

    def test_unsupported_action_is_not_validated(self, station):
        # NotSupported wins over payload errors: the payload is never looked at.
        station.receive_text(frame(2, "m1", "SetChargingProfile", []), now=0.0)
        assert single_call_error(station)[2] == "NotSupported"

    def test_without_validation_only_object_payload_is_required(self):
        endpoint = make_endpoint(validate=False)
        endpoint.receive_text(frame(2, "m1", "Reset", {"type": 99}), now=0.0)
        assert endpoint.events_received() == [CallReceived("m1", "Reset", {"type": 99})]
        endpoint.receive_text(frame(2, "m2", "Reset", [1]), now=0.0)
        assert single_call_error(endpoint)[1:3] == ["m2", "FormatViolation"]


class TestIncomingCall:
    """A valid CALL becomes CallReceived and is answered by the shell."""

    def test_valid_call_becomes_call_received_and_nothing_is_sent(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        assert station.events_received() == [CallReceived("m1", "Reset", RESET_REQUEST)]
        assert station.data_to_send() == []
        assert station.awaiting_answer == {"m1": "Reset"}

    def test_send_result_writes_compact_call_result(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        station.events_received()
        station.send_result("m1", "Reset", {"status": "Accepted"})
        assert station.data_to_send() == ['[3,"m1",{"status":"Accepted"}]']
        assert station.events_received() == []
        assert station.awaiting_answer == {}

    def test_send_error_writes_call_error(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        station.send_error("m1", SecurityError("Boot not accepted"))
        assert sent(station) == [[4, "m1", "SecurityError", "Boot not accepted", {}]]

    def test_send_error_keeps_details(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        station.send_error("m1", GenericError("x", {"hint": "retry"}))
        assert sent(station) == [[4, "m1", "GenericError", "x", {"hint": "retry"}]]

    def test_send_error_truncates_description_to_255(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        station.send_error("m1", GenericError("d" * 1000))
        assert len(sent(station)[0][3]) == 255

    def test_send_error_replaces_unserializable_details(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        station.send_error("m1", GenericError("x", {"obj": object()}))
        assert sent(station) == [[4, "m1", "GenericError", "x", {}]]

    def test_send_error_requires_an_ocpp_error(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        with pytest.raises(TypeError):
            station.send_error("m1", ValueError("no"))  # type: ignore[arg-type]

    def test_invalid_result_payload_sends_internal_error_without_internals(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        station.events_received()
        station.send_result("m1", "Reset", {"status": "Maybe"})
        assert sent(station) == [[4, "m1", "InternalError", "An internal error occurred", {}]]
        [event] = station.events_received()
        assert isinstance(event, LocalProtocolError)
        assert (event.message_id, event.action) == ("m1", "Reset")
        assert "PropertyConstraintViolation" in event.description
        assert "$.status" in event.description

    def test_result_with_wrong_action_sends_internal_error(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        station.events_received()
        station.send_result("m1", "GetVariables", {"getVariableResult": []})
        assert sent(station)[0][2] == "InternalError"
        [event] = station.events_received()
        assert isinstance(event, LocalProtocolError)
        assert "answered Reset CALL as GetVariables" in event.description

    def test_unserializable_result_sends_internal_error(self):
        endpoint = make_endpoint(validate=False)
        endpoint.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        endpoint.events_received()
        endpoint.send_result("m1", "Reset", {"status": {1, 2}})
        assert sent(endpoint)[0][:3] == [4, "m1", "InternalError"]
        assert isinstance(endpoint.events_received()[0], LocalProtocolError)

    def test_answering_twice_sends_only_the_first_answer(self, station):
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        station.events_received()
        station.send_result("m1", "Reset", {"status": "Accepted"})
        station.send_result("m1", "Reset", {"status": "Accepted"})
        station.send_error("m1", GenericError())
        assert len(station.data_to_send()) == 1
        events = station.events_received()
        assert [type(e) for e in events] == [LocalProtocolError, LocalProtocolError]

    def test_answering_an_unknown_id_sends_nothing(self, station):
        station.send_result("nope", "Reset", {"status": "Accepted"})
        assert station.data_to_send() == []
        assert isinstance(station.events_received()[0], LocalProtocolError)

    def test_duplicate_id_of_call_being_handled_is_rpc_framework_error(self, station):
        # §4.2.3: "an existing call with the same unique identifier is being handled".
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        assert single_call_error(station)[1:3] == ["m1", "RpcFrameworkError"]
        events = station.events_received()
        assert [type(e) for e in events] == [CallReceived, ProtocolViolation]
        # The first CALL can still be answered.
        station.send_result("m1", "Reset", {"status": "Accepted"})
        assert sent(station) == [[3, "m1", {"status": "Accepted"}]]

    def test_several_incoming_calls_can_await_answers_and_be_answered_out_of_order(
        self, station
    ):
        station.receive_text(frame(2, "a", "Reset", RESET_REQUEST), now=0.0)
        station.receive_text(frame(2, "b", "Reset", RESET_REQUEST), now=0.0)
        station.send_result("b", "Reset", {"status": "Accepted"})
        station.send_result("a", "Reset", {"status": "Rejected"})
        assert [f[1] for f in sent(station)] == ["b", "a"]

    def test_non_ascii_text_is_sent_as_utf8_text(self, station):
        station.receive_text(
            frame(2, "m1", "GetVariables",
                  {"getVariableData": [{"component": {"name": "Ä"}, "variable": {"name": "ö"}}]}),
            now=0.0,
        )
        station.send_result(
            "m1",
            "GetVariables",
            {"getVariableResult": [{"attributeStatus": "UnknownComponent",
                                    "component": {"name": "Ä"}, "variable": {"name": "ö"}}]},
        )
        [text] = station.data_to_send()
        assert "Ä" in text and "\\u" not in text


class TestOutgoingCall:
    """§4.1.1 Synchronicity: one outstanding CALL; the rest wait in a queue."""

    def test_send_call_writes_the_frame_at_once_when_idle(self, station):
        message_id = station.send_call("BootNotification", BOOT_REQUEST, now=10.0)
        assert message_id == "s1"
        assert station.data_to_send() == [frame(2, "s1", "BootNotification", BOOT_REQUEST)]
        assert station.outstanding == "s1"
        assert station.next_deadline() == 40.0

    def test_call_result_completes_the_call(self, station):
        station.send_call("BootNotification", BOOT_REQUEST, now=0.0)
        station.receive_text(frame(3, "s1", BOOT_RESPONSE), now=1.0)
        assert station.events_received() == [
            CallResultReceived("s1", "BootNotification", BOOT_RESPONSE)
        ]
        assert station.outstanding is None
        assert station.next_deadline() is None

    def test_second_call_waits_until_the_first_is_answered(self, station):
        station.send_call("BootNotification", BOOT_REQUEST, now=0.0)
        second = station.send_call("Heartbeat", {}, now=1.0)
        third = station.send_call("Heartbeat", {}, now=2.0)
        assert [f[1] for f in sent(station)] == ["s1"]
        assert (station.outstanding, station.queued_count) == ("s1", 2)

        station.receive_text(frame(3, "s1", BOOT_RESPONSE), now=5.0)
        assert sent(station) == [[2, second, "Heartbeat", {}]]
        assert (station.outstanding, station.queued_count) == (second, 1)
        # The queued CALL's clock starts when it is actually sent.
        assert station.next_deadline() == 35.0

        station.receive_text(frame(3, second, HEARTBEAT_RESPONSE), now=6.0)
        assert sent(station) == [[2, third, "Heartbeat", {}]]
        station.receive_text(frame(3, third, HEARTBEAT_RESPONSE), now=7.0)
        assert station.data_to_send() == []
        assert (station.outstanding, station.queued_count) == (None, 0)

    def test_call_error_completes_the_call_and_starts_the_next(self, station):
        station.send_call("BootNotification", BOOT_REQUEST, now=0.0)
        station.send_call("Heartbeat", {}, now=0.0)
        station.data_to_send()
        station.receive_text(frame(4, "s1", "SecurityError", "no", {"a": 1}), now=1.0)
        assert station.events_received() == [
            CallErrorReceived("s1", "BootNotification", "SecurityError", "no", {"a": 1})
        ]
        assert sent(station) == [[2, "s2", "Heartbeat", {}]]

    def test_invalid_request_raises_value_error_and_queues_nothing(self, station):
        with pytest.raises(ValueError, match=r"OccurrenceConstraintViolation.*\$\.reason"):
            station.send_call("BootNotification", {"chargingStation": {"model": "M",
                                                                       "vendorName": "V"}},
                              now=0.0)
        assert (station.outstanding, station.queued_count) == (None, 0)
        assert station.data_to_send() == []

    def test_unknown_action_raises_value_error(self, station):
        with pytest.raises(ValueError, match="NotImplemented"):
            station.send_call("MakeCoffee", {}, now=0.0)

    def test_unserializable_payload_raises_value_error(self):
        endpoint = make_endpoint(validate=False)
        with pytest.raises(ValueError, match="not serializable"):
            endpoint.send_call("Heartbeat", {"x": float("nan")}, now=0.0)
        assert endpoint.outstanding is None

    def test_message_id_generator_must_return_valid_ids(self):
        endpoint = RpcEndpoint(supported_actions=(), new_message_id=lambda: "z" * 37)
        with pytest.raises(ValueError, match="invalid id"):
            endpoint.send_call("Heartbeat", {}, now=0.0)

    def test_message_id_generator_must_not_repeat_an_in_flight_id(self):
        endpoint = RpcEndpoint(supported_actions=(), new_message_id=lambda: "same")
        endpoint.send_call("Heartbeat", {}, now=0.0)
        with pytest.raises(ValueError, match="in use"):
            endpoint.send_call("Heartbeat", {}, now=0.0)
        assert endpoint.queued_count == 0

    def test_payload_changes_after_send_call_do_not_change_the_frame(self, station):
        payload = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
        station.send_call("Heartbeat", {}, now=0.0)
        station.send_call("BootNotification", payload, now=0.0)
        payload["reason"] = "Watchdog"
        station.data_to_send()
        station.receive_text(frame(3, "s1", HEARTBEAT_RESPONSE), now=1.0)
        assert sent(station)[0][3]["reason"] == "PowerUp"

    def test_without_validation_any_action_and_payload_can_be_sent(self):
        endpoint = make_endpoint(validate=False)
        endpoint.send_call("MakeCoffee", {"sugar": 2}, now=0.0)
        assert sent(endpoint) == [[2, "s1", "MakeCoffee", {"sugar": 2}]]


class TestTimeouts:
    """§4.1.1: a CALL times out after message_timeout; then the next one may go."""

    def test_tick_before_the_deadline_does_nothing(self, station):
        station.send_call("Heartbeat", {}, now=100.0)
        station.data_to_send()
        station.tick(129.999)
        assert station.events_received() == []
        assert station.outstanding == "s1"

    def test_tick_at_the_deadline_times_the_call_out(self, station):
        station.send_call("Heartbeat", {}, now=100.0)
        station.tick(130.0)
        assert station.events_received() == [CallTimedOut("s1", "Heartbeat")]
        assert station.outstanding is None
        assert station.next_deadline() is None

    def test_timeout_starts_the_next_queued_call_at_tick_time(self, station):
        station.send_call("BootNotification", BOOT_REQUEST, now=0.0)
        station.send_call("Heartbeat", {}, now=1.0)
        station.data_to_send()
        station.tick(45.0)
        assert station.events_received() == [CallTimedOut("s1", "BootNotification")]
        assert sent(station) == [[2, "s2", "Heartbeat", {}]]
        assert station.next_deadline() == 75.0

    def test_late_result_after_timeout_is_dropped_as_protocol_violation(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.tick(30.0)
        station.events_received()
        station.data_to_send()
        station.receive_text(frame(3, "s1", HEARTBEAT_RESPONSE), now=31.0)
        [event] = station.events_received()
        assert isinstance(event, ProtocolViolation)
        assert station.data_to_send() == []  # never answer a CALLRESULT

    def test_result_before_the_shell_ticks_is_still_accepted(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.receive_text(frame(3, "s1", HEARTBEAT_RESPONSE), now=30.5)
        assert isinstance(station.events_received()[0], CallResultReceived)

    def test_changing_message_timeout_moves_the_current_deadline(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.message_timeout = 10.0
        assert station.next_deadline() == 10.0
        station.tick(10.0)
        assert station.events_received() == [CallTimedOut("s1", "Heartbeat")]

    def test_constructor_timeout_is_used(self):
        endpoint = make_endpoint(message_timeout=5.0)
        endpoint.send_call("Heartbeat", {}, now=1.0)
        assert endpoint.next_deadline() == 6.0

    def test_tick_when_idle_does_nothing(self, station):
        station.tick(1e9)
        assert station.events_received() == []


class TestReplies:
    """CALLRESULT / CALLERROR handling (§4.2.2, §4.2.3); replies are never answered."""

    def test_result_for_the_wrong_id_is_dropped_and_the_call_stays_outstanding(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.data_to_send()
        station.receive_text(frame(3, "other", HEARTBEAT_RESPONSE), now=1.0)
        [event] = station.events_received()
        assert isinstance(event, ProtocolViolation)
        assert "does not answer" in event.description
        assert station.data_to_send() == []
        assert station.outstanding == "s1"

    def test_result_when_nothing_is_outstanding_is_dropped(self, station):
        station.receive_text(frame(3, "x", {}), now=0.0)
        assert isinstance(station.events_received()[0], ProtocolViolation)
        assert station.data_to_send() == []

    def test_call_error_for_the_wrong_id_is_dropped(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.data_to_send()
        station.receive_text(frame(4, "other", "GenericError", "", {}), now=1.0)
        assert isinstance(station.events_received()[0], ProtocolViolation)
        assert station.data_to_send() == []
        assert station.outstanding == "s1"

    @pytest.mark.parametrize("text", ["[3]", "[3,5,{}]", "[4]", "[4,null]"])
    def test_reply_without_readable_id_is_dropped_not_answered(self, station, text):
        station.send_call("Heartbeat", {}, now=0.0)
        station.data_to_send()
        station.receive_text(text, now=1.0)
        assert isinstance(station.events_received()[0], ProtocolViolation)
        assert station.data_to_send() == []
        assert station.outstanding == "s1"

    def test_result_failing_the_response_schema_becomes_call_error_received(self, station):
        station.send_call("BootNotification", BOOT_REQUEST, now=0.0)
        station.send_call("Heartbeat", {}, now=0.0)
        station.data_to_send()
        bad = {"currentTime": "2024-05-01T12:00:00Z", "interval": 300, "status": "Perhaps"}
        station.receive_text(frame(3, "s1", bad), now=1.0)
        violation, error = station.events_received()
        assert isinstance(violation, ProtocolViolation)
        assert error == CallErrorReceived(
            "s1", "BootNotification", "PropertyConstraintViolation",
            "$.status: not one of the allowed values", {},
        )
        # Nothing is sent in reply; the CALL is complete so the next one goes.
        assert sent(station) == [[2, "s2", "Heartbeat", {}]]

    @pytest.mark.parametrize(
        "payload, code",
        [
            ({"interval": 300, "status": "Accepted"}, "OccurrenceConstraintViolation"),
            ({**BOOT_RESPONSE, "interval": "300"}, "TypeConstraintViolation"),
            ({**BOOT_RESPONSE, "extra": 1}, "FormatViolation"),
            ([], "FormatViolation"),
        ],
    )
    def test_response_violation_codes(self, station, payload, code):
        station.send_call("BootNotification", BOOT_REQUEST, now=0.0)
        station.receive_text(frame(3, "s1", payload), now=1.0)
        assert station.events_received()[-1].code == code
        assert station.data_to_send() == [frame(2, "s1", "BootNotification", BOOT_REQUEST)]

    def test_result_with_wrong_element_count_completes_with_rpc_framework_error(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.receive_text(frame(3, "s1", HEARTBEAT_RESPONSE, "extra"), now=1.0)
        event = station.events_received()[-1]
        assert isinstance(event, CallErrorReceived)
        assert event.code == "RpcFrameworkError"
        assert station.outstanding is None

    def test_malformed_call_error_is_read_leniently(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.receive_text('[4,"s1","GenericError","no details"]', now=1.0)
        violation, error = station.events_received()
        assert isinstance(violation, ProtocolViolation)
        assert error == CallErrorReceived("s1", "Heartbeat", "GenericError", "no details", {})

    def test_call_error_with_garbage_fields_still_completes_the_call(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.receive_text('[4,"s1",7,null,[]]', now=1.0)
        error = station.events_received()[-1]
        assert error == CallErrorReceived("s1", "Heartbeat", "RpcFrameworkError", "", {})
        assert station.outstanding is None

    def test_call_error_with_non_201_code_is_passed_through(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.receive_text(frame(4, "s1", "FormationViolation", "", {}), now=1.0)
        assert station.events_received() == [
            CallErrorReceived("s1", "Heartbeat", "FormationViolation", "", {})
        ]

    def test_without_validation_result_payload_must_still_be_an_object(self):
        endpoint = make_endpoint(validate=False)
        endpoint.send_call("Heartbeat", {}, now=0.0)
        endpoint.receive_text('[3,"s1",null]', now=1.0)
        assert endpoint.events_received()[-1].code == "FormatViolation"


class TestCrossingCalls:
    """§4.1.1 NOTE: CALLs from both sides may cross; both must work."""

    def test_csms_call_while_ours_is_outstanding(self, station):
        station.send_call("BootNotification", BOOT_REQUEST, now=0.0)
        station.data_to_send()
        station.receive_text(frame(2, "c1", "Reset", RESET_REQUEST), now=1.0)
        assert station.events_received() == [CallReceived("c1", "Reset", RESET_REQUEST)]
        # Answering theirs does not wait for ours.
        station.send_result("c1", "Reset", {"status": "Accepted"})
        assert sent(station) == [[3, "c1", {"status": "Accepted"}]]
        assert station.outstanding == "s1"
        station.receive_text(frame(3, "s1", BOOT_RESPONSE), now=2.0)
        assert station.events_received() == [
            CallResultReceived("s1", "BootNotification", BOOT_RESPONSE)
        ]

    def test_same_message_id_in_both_directions_does_not_collide(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.data_to_send()
        station.receive_text(frame(2, "s1", "Reset", RESET_REQUEST), now=1.0)
        assert station.events_received() == [CallReceived("s1", "Reset", RESET_REQUEST)]
        station.receive_text(frame(3, "s1", HEARTBEAT_RESPONSE), now=2.0)
        assert isinstance(station.events_received()[0], CallResultReceived)
        station.send_result("s1", "Reset", {"status": "Accepted"})
        assert sent(station) == [[3, "s1", {"status": "Accepted"}]]

    def test_two_endpoints_talk_over_an_in_memory_link(self):
        """Station and CSMS cores wired back to back, like h11's ConnectionPair."""
        station = make_endpoint(STATION_RECEIVES, prefix="s")
        csms = make_endpoint(CSMS_RECEIVES, prefix="c")

        def pump(now):
            moved = True
            while moved:
                moved = False
                for a, b in ((station, csms), (csms, station)):
                    for text in a.data_to_send():
                        b.receive_text(text, now)
                        moved = True

        station.send_call("BootNotification", BOOT_REQUEST, now=0.0)
        csms.send_call("Reset", RESET_REQUEST, now=0.0)
        pump(0.0)
        [boot] = csms.events_received()
        [reset] = station.events_received()
        assert isinstance(boot, CallReceived) and isinstance(reset, CallReceived)
        csms.send_result(boot.message_id, "BootNotification", BOOT_RESPONSE)
        station.send_result(reset.message_id, "Reset", {"status": "Scheduled"})
        pump(1.0)
        assert station.events_received() == [
            CallResultReceived("s1", "BootNotification", BOOT_RESPONSE)
        ]
        assert csms.events_received() == [
            CallResultReceived("c1", "Reset", {"status": "Scheduled"})
        ]


class TestConnectionLost:
    def test_returns_outstanding_then_queued_calls_and_forgets_them(self, station):
        station.send_call("BootNotification", BOOT_REQUEST, now=0.0)
        station.send_call("Heartbeat", {}, now=0.0)
        station.send_call("StatusNotification", {
            "timestamp": "2024-05-01T12:00:00Z", "connectorStatus": "Available",
            "evseId": 1, "connectorId": 1}, now=0.0)
        lost = station.connection_lost()
        assert [(i, a) for i, a, _ in lost] == [
            ("s1", "BootNotification"), ("s2", "Heartbeat"), ("s3", "StatusNotification")
        ]
        assert lost[0][2] == BOOT_REQUEST
        assert (station.outstanding, station.queued_count) == (None, 0)
        assert station.next_deadline() is None

    def test_unsent_frames_are_discarded(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.connection_lost()
        assert station.data_to_send() == []

    def test_calls_received_before_are_no_longer_answered(self, station):
        station.receive_text(frame(2, "c1", "Reset", RESET_REQUEST), now=0.0)
        station.events_received()
        station.connection_lost()
        station.send_result("c1", "Reset", {"status": "Accepted"})
        assert station.data_to_send() == []
        assert isinstance(station.events_received()[0], LocalProtocolError)

    def test_endpoint_is_reusable_for_the_next_connection(self, station):
        station.send_call("Heartbeat", {}, now=0.0)
        station.connection_lost()
        station.send_call("BootNotification", BOOT_REQUEST, now=50.0)
        assert sent(station) == [[2, "s2", "BootNotification", BOOT_REQUEST]]
        assert station.next_deadline() == 80.0
        # A reply to the forgotten CALL is a protocol violation now.
        station.receive_text(frame(3, "s1", HEARTBEAT_RESPONSE), now=51.0)
        assert isinstance(station.events_received()[0], ProtocolViolation)

    def test_empty_when_nothing_was_pending(self, station):
        assert station.connection_lost() == []


class TestNeverRaisesOnPeerInput:
    """STYLE §6: nothing the peer sends may raise out of the core."""

    def test_a_bug_while_handling_a_call_becomes_internal_error(self, station, monkeypatch):
        def broken(action, payload):
            raise RuntimeError("boom")

        monkeypatch.setattr(schemas, "validate_request", broken)
        station.receive_text(frame(2, "m1", "Reset", RESET_REQUEST), now=0.0)
        assert sent(station) == [[4, "m1", "InternalError", "An internal error occurred", {}]]
        [event] = station.events_received()
        assert isinstance(event, LocalProtocolError)
        assert "boom" in event.description
        assert station.awaiting_answer == {}

    def test_a_bug_while_handling_a_result_is_reported_not_raised(self, station, monkeypatch):
        station.send_call("Heartbeat", {}, now=0.0)
        station.data_to_send()

        def broken(action, payload):
            raise KeyError("boom")

        monkeypatch.setattr(schemas, "validate_response", broken)
        station.receive_text(frame(3, "s1", HEARTBEAT_RESPONSE), now=1.0)
        assert isinstance(station.events_received()[0], LocalProtocolError)
        assert station.data_to_send() == []

    def test_arbitrary_text_never_raises_and_only_well_formed_frames_go_out(self):
        # A seeded fuzz (deterministic; hypothesis is not required to run the unit tests).
        for text in _fuzz_frames(random.Random(20240501), count=3000):
            endpoint = make_endpoint()
            endpoint.send_call("Heartbeat", {}, now=0.0)
            endpoint.data_to_send()
            endpoint.receive_text(text, now=1.0)
            for out in endpoint.data_to_send():
                message = json.loads(out)
                assert message[0] in (rpc.CALL, rpc.CALLRESULT, rpc.CALLERROR), text
                assert isinstance(message[1], str) and 0 < len(message[1]) <= 36, text
                if message[0] == rpc.CALLERROR:
                    assert message[2] in ERRORS_BY_CODE, text
                    assert isinstance(message[3], str) and len(message[3]) <= 255, text
                    assert message[4] == {}, text
            for event in endpoint.events_received():
                assert not isinstance(event, LocalProtocolError), (text, event)


_ATOMS = [None, True, False, 0, 2, 3, 4, 5, -1, 1.5, 1e308, "", "s1", "m1", "Reset",
          "Heartbeat", "x" * 40, "\u00e9", {}, [], RESET_REQUEST, {"type": 3}]


def _random_value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return rng.choice(_ATOMS)
    if roll < 0.75:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(6))]
    return {rng.choice(["type", "a", "", "evseId"]): _random_value(rng, depth + 1)
            for _ in range(rng.randrange(4))}


def _fuzz_frames(rng: random.Random, count: int):
    for _ in range(count):
        kind = rng.random()
        if kind < 0.5:
            # Plausible frames: right shape, random parts.
            parts = [rng.choice([2, 3, 4, 5, "2", 2.0]), rng.choice(["s1", "m1", "", 7, None])]
            parts += [_random_value(rng) for _ in range(rng.randrange(4))]
            if rng.random() < 0.5 and parts[0] == 2 and len(parts) > 2:
                parts[2] = rng.choice(["Reset", "Heartbeat", "SetChargingProfile", "Nope"])
            yield json.dumps(parts)
        elif kind < 0.8:
            yield json.dumps(_random_value(rng))
        else:
            text = json.dumps(_random_value(rng))
            cut = rng.randrange(len(text) + 1)
            yield text[:cut] + rng.choice(["", "}", "]", ",", "\x00", "NaN"]) + text[cut:]


def test_format_violation_is_an_ocpp_error():
    assert issubclass(FormatViolation, OcppError)
