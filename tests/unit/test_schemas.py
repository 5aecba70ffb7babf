"""Tests for ocppj.schemas: OCPP 2.0.1 JSON-schema validation and its error-code mapping."""

from __future__ import annotations

import pytest

from ocppj import schemas
from ocppj.errors import (
    FormatViolation,
    NotImplementedAction,
    OccurrenceConstraintViolation,
    OcppError,
    PropertyConstraintViolation,
    TypeConstraintViolation,
)


def boot_request(**overrides):
    payload = {
        "reason": "PowerUp",
        "chargingStation": {"model": "M1", "vendorName": "V"},
    }
    payload.update(overrides)
    return payload


def boot_response(current_time="2024-05-01T12:00:00Z"):
    return {"currentTime": current_time, "interval": 300, "status": "Accepted"}


def error_of(action, payload, *, response=False) -> OcppError:
    validate = schemas.validate_response if response else schemas.validate_request
    with pytest.raises(OcppError) as info:
        validate(action, payload)
    return info.value


class TestActions:
    """ACTIONS lists every OCPP 2.0.1 action (part 4 §4.1.6)."""

    def test_actions_are_the_64_actions_of_ocpp_201(self):
        from ocpp.v201.enums import Action

        assert schemas.ACTIONS == {action.value for action in Action}
        assert len(schemas.ACTIONS) == 64

    def test_actions_have_no_request_suffix(self):
        assert "BootNotification" in schemas.ACTIONS
        assert not any(a.endswith("Request") for a in schemas.ACTIONS)

    def test_unknown_action_is_not_implemented(self):
        with pytest.raises(NotImplementedAction):
            schemas.validate_request("FooBar", {})
        with pytest.raises(NotImplementedAction):
            schemas.validate_response("BootNotification-Signed", {})

    def test_validators_are_compiled_once_and_cached(self):
        schemas.validate_request("Heartbeat", {})
        first = schemas._validator("Heartbeat", "Request.json")
        schemas.validate_request("Heartbeat", {})
        assert schemas._validator("Heartbeat", "Request.json") is first

    def test_preload_compiles_every_schema(self):
        schemas.preload()
        for action in schemas.ACTIONS:
            schemas._validator(action, "Request.json")
            schemas._validator(action, "Response.json")


class TestValidPayloads:
    def test_valid_request_passes(self):
        schemas.validate_request("BootNotification", boot_request())

    def test_valid_response_passes(self):
        schemas.validate_response("BootNotification", boot_response())

    def test_empty_heartbeat_passes(self):
        schemas.validate_request("Heartbeat", {})

    def test_custom_data_may_carry_extra_properties(self):
        # Part 4 §9: CustomDataType has no additionalProperties=false.
        schemas.validate_request(
            "Heartbeat", {"customData": {"vendorId": "com.example", "anything": [1, 2]}}
        )


class TestErrorMapping:
    """Schema failures map to part 4 §4.3 Table 8 codes (see ocppj.schemas docstring)."""

    def test_missing_required_field_is_occurrence_constraint_violation(self):
        error = error_of("BootNotification", {"reason": "PowerUp"})
        assert isinstance(error, OccurrenceConstraintViolation)
        assert error.code == "OccurrenceConstraintViolation"
        assert error.description == "$.chargingStation: required property missing"

    def test_missing_nested_required_field_names_its_full_path(self):
        error = error_of("BootNotification", boot_request(chargingStation={"model": "M"}))
        assert isinstance(error, OccurrenceConstraintViolation)
        assert error.description.startswith("$.chargingStation.vendorName:")

    def test_wrong_json_type_is_type_constraint_violation(self):
        error = error_of(
            "BootNotification", boot_request(chargingStation={"model": 12, "vendorName": "V"})
        )
        assert isinstance(error, TypeConstraintViolation)
        assert error.description == "$.chargingStation.model: expected string, got integer"

    def test_string_for_integer_is_type_constraint_violation(self):
        error = error_of("BootNotification", {**boot_response(), "interval": "300"}, response=True)
        assert isinstance(error, TypeConstraintViolation)
        assert error.description.startswith("$.interval:")

    def test_boolean_is_not_an_integer(self):
        error = error_of("BootNotification", {**boot_response(), "interval": True}, response=True)
        assert isinstance(error, TypeConstraintViolation)

    def test_enum_violation_is_property_constraint_violation(self):
        error = error_of("BootNotification", boot_request(reason="Bored"))
        assert isinstance(error, PropertyConstraintViolation)
        assert error.description == "$.reason: not one of the allowed values"

    def test_max_length_violation_is_property_constraint_violation(self):
        error = error_of(
            "BootNotification",
            boot_request(chargingStation={"model": "M" * 21, "vendorName": "V"}),
        )
        assert isinstance(error, PropertyConstraintViolation)
        assert error.description == "$.chargingStation.model: longer than 20 characters"

    @pytest.mark.parametrize("soc, reason", [(101, "greater than 100.0"), (-1, "less than 0.0")])
    def test_maximum_and_minimum_violations_are_property_constraint_violations(self, soc, reason):
        payload = {
            "evseId": 1,
            "chargingNeeds": {
                "requestedEnergyTransfer": "DC",
                "dcChargingParameters": {
                    "evMaxCurrent": 1,
                    "evMaxVoltage": 1,
                    "stateOfCharge": soc,
                },
            },
        }
        error = error_of("NotifyEVChargingNeeds", payload)
        assert isinstance(error, PropertyConstraintViolation)
        assert error.description == f"$.chargingNeeds.dcChargingParameters.stateOfCharge: {reason}"

    def test_bad_date_time_is_property_constraint_violation(self):
        error = error_of("BootNotification", boot_response("yesterday"), response=True)
        assert isinstance(error, PropertyConstraintViolation)
        assert error.description == "$.currentTime: not a valid date-time"

    def test_additional_property_is_format_violation(self):
        error = error_of("BootNotification", boot_request(colour="red"))
        assert isinstance(error, FormatViolation)
        assert error.description == "$.colour: property not allowed by the schema"

    def test_nested_additional_property_names_its_path(self):
        error = error_of(
            "BootNotification",
            boot_request(chargingStation={"model": "M", "vendorName": "V", "x": 1}),
        )
        assert isinstance(error, FormatViolation)
        assert error.description.startswith("$.chargingStation.x:")

    @pytest.mark.parametrize("payload", [None, [], "text", 3, 1.5, True])
    def test_non_object_payload_is_format_violation(self, payload):
        error = error_of("Heartbeat", payload)
        assert isinstance(error, FormatViolation)
        assert error.description.startswith("$: payload must be a JSON object")

    def test_empty_list_below_min_items_is_occurrence_constraint_violation(self):
        error = error_of("GetVariables", {"getVariableData": []})
        assert isinstance(error, OccurrenceConstraintViolation)
        assert error.description == "$.getVariableData: expected at least 1 items"

    def test_too_many_list_items_is_occurrence_constraint_violation(self):
        # B06.FR.16-style: more elements than allowed -> OccurrenceConstraintViolation.
        item = {
            "hashAlgorithm": "SHA256",
            "issuerNameHash": "a",
            "issuerKeyHash": "b",
            "serialNumber": "c",
            "responderURL": "http://x",
        }
        error = error_of(
            "Authorize",
            {
                "idToken": {"idToken": "t", "type": "Central"},
                "iso15118CertificateHashData": [item] * 5,
            },
        )
        assert isinstance(error, OccurrenceConstraintViolation)
        assert error.description == "$.iso15118CertificateHashData: expected at most 4 items"

    def test_list_index_appears_in_path(self):
        payload = {
            "getVariableData": [
                {"component": {"name": "A"}, "variable": {"name": "B"}},
                {"component": {"name": "A"}, "variable": {"name": 5}},
            ]
        }
        error = error_of("GetVariables", payload)
        assert isinstance(error, TypeConstraintViolation)
        assert error.description.startswith("$.getVariableData[1].variable.name:")

    def test_description_never_contains_the_offending_value(self):
        secret = "hunter2-" + "x" * 1000
        payload = {
            "setVariableData": [
                {
                    "attributeValue": secret,
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "BasicAuthPassword"},
                }
            ]
        }
        error = error_of("SetVariables", payload)
        assert isinstance(error, PropertyConstraintViolation)
        assert "hunter2" not in error.description
        assert error.description == (
            "$.setVariableData[0].attributeValue: longer than 1000 characters"
        )

    def test_several_errors_choose_deterministically(self):
        payload = {"reason": "Bored", "chargingStation": {"model": 1}, "extra": True}
        first = error_of("BootNotification", payload)
        for _ in range(5):
            again = error_of("BootNotification", payload)
            assert (type(again), again.description) == (type(first), first.description)

    def test_several_errors_prefer_the_one_nearest_the_root(self):
        payload = {"chargingStation": {"model": 1, "vendorName": "V"}}  # reason missing
        error = error_of("BootNotification", payload)
        assert isinstance(error, OccurrenceConstraintViolation)
        assert error.description == "$.reason: required property missing"

    def test_odd_property_names_are_quoted_in_the_path(self):
        error = error_of("Heartbeat", {"bad key": 1})
        assert error.description.startswith('$["bad key"]:')


class TestDateTimeFormat:
    """OCPP dateTime, checked as leniently as libocpp (offset optional)."""

    @pytest.mark.parametrize(
        "value",
        [
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.123Z",
            "2024-05-01T12:00:00.123456+02:00",
            "2024-05-01T12:00:00-05:30",
            "2024-05-01T12:00:00",
            "2016-12-31T23:59:60Z",
            "2024-02-29T00:00:00Z",
        ],
    )
    def test_accepted(self, value):
        schemas.validate_response("BootNotification", boot_response(value))

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "2024-05-01",
            "2024-05-01 12:00:00Z",
            "2024-13-01T12:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:00:61Z",
            "2024-05-01T12:00:00+25:00",
            "2024-05-01T12:00:00ZZ",
            "1714564800",
        ],
    )
    def test_rejected(self, value):
        error = error_of("BootNotification", boot_response(value), response=True)
        assert isinstance(error, PropertyConstraintViolation)
