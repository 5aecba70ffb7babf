"""Tests for simulators/csms/schemas.py: the test CSMS's own schema check (part 4 §4.3)."""

from __future__ import annotations

import pytest

from simulators.csms.schemas import schema_violation

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}


class TestSchemaViolation:
    def test_a_valid_request_has_none(self):
        assert schema_violation("BootNotification", BOOT, response=False) is None

    def test_response_selects_the_response_schema(self):
        assert schema_violation("Reset", {"status": "Accepted"}, response=True) is None
        assert schema_violation("Reset", {"status": "Accepted"}, response=False) is not None

    def test_a_payload_that_is_no_object_is_a_format_violation(self):
        # part 4 §4.1.5: the payload is always a JSON object.
        assert schema_violation("Heartbeat", [], response=False)[0] == "FormatViolation"

    def test_the_description_names_where_the_payload_broke_the_schema(self):
        code, why = schema_violation(
            "BootNotification", {**BOOT, "chargingStation": {"model": 1, "vendorName": "V"}},
            response=False)
        assert code == "TypeConstraintViolation" and why.startswith("chargingStation/model: ")

    @pytest.mark.parametrize("timestamp, valid", [
        ("2024-05-01T10:00:00Z", True),
        ("2024-05-01T10:00:00.123+02:00", True),
        ("2016-12-31T23:59:60Z", True),      # a leap second
        ("2024-02-30T10:00:00Z", False),     # no such day
        ("2024-05-01 10:00:00", False),
        ("yesterday", False),
    ])
    def test_date_time_is_checked_as_rfc_3339(self, timestamp, valid):
        got = schema_violation("Heartbeat", {"currentTime": timestamp}, response=True)
        assert (got is None) == valid
        if not valid:
            assert got[0] == "TypeConstraintViolation"
