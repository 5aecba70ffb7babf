"""Tests for simulators/csms/answers.py: default and scripted answers, registration state."""

from __future__ import annotations

import datetime

import pytest

from simulators.csms.answers import NO_REPLY, Answers, NoReply, iso
from simulators.csms.protocol import CS_TO_CSMS_ACTIONS
from simulators.csms.schemas import schema_violation

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
MOMENT = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)


class TestDefaultAnswers:
    """Every CS->CSMS action of OCPP 2.0.1 has a schema-valid default answer."""

    @pytest.mark.parametrize("action", sorted(CS_TO_CSMS_ACTIONS))
    def test_default_answer_is_schema_valid(self, action):
        payload = {"idToken": {"idToken": "ABC", "type": "ISO14443"}}
        assert schema_violation(action, Answers().default_answer("CS", action, payload),
                                response=True) is None

    def test_transaction_event_gets_id_token_info_only_with_an_id_token(self):
        # E01.FR.12
        answers = Answers()
        assert answers.default_answer("CS", "TransactionEvent", {}) == {}
        assert answers.default_answer("CS", "TransactionEvent", {"idToken": {}}) == {
            "idTokenInfo": {"status": "Accepted"}}

    def test_boot_uses_configured_status_interval_and_clock(self):
        answers = Answers(boot_status="Pending", heartbeat_interval=7, clock=lambda: MOMENT)
        assert answers.default_answer("CS", "BootNotification", BOOT) == {
            "currentTime": "2024-05-01T12:00:00.000Z", "interval": 7, "status": "Pending"}

    def test_a_csms_to_cs_action_has_no_default_answer(self):
        with pytest.raises(KeyError):
            Answers().default_answer("CS", "Reset", {})

    def test_boot_status_must_be_one_of_the_three_registration_statuses(self):
        with pytest.raises(ValueError):
            Answers(boot_status="Maybe")

    def test_iso_is_utc_with_milliseconds(self):
        plus_two = datetime.timezone(datetime.timedelta(hours=2))
        assert iso(datetime.datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=plus_two)) == \
            "2024-05-01T12:00:00.123Z"


class TestScriptedAnswers:
    def test_a_handler_is_set_and_cleared(self):
        answers = Answers()
        handler = lambda identity, payload: NO_REPLY  # noqa: E731
        answers.set_handler("Heartbeat", handler)
        assert answers.handler("Heartbeat") is handler and answers.handler("Authorize") is None
        answers.set_handler("Heartbeat", None)
        assert answers.handler("Heartbeat") is None

    def test_no_reply_is_a_single_value(self):
        assert NoReply() is NO_REPLY and repr(NO_REPLY) == "NO_REPLY"


class TestRegistrationState:
    """B02.FR.09 / B03.FR.07: a station that is not Accepted may send little."""

    def booted(self, status):
        answers = Answers()
        answers.answered_boot("CS", {"status": status})
        return answers

    def test_a_station_that_never_booted_here_is_not_restricted(self):
        answers = Answers()
        assert answers.registration_status("CS") is None
        assert answers.refusal("CS", "Heartbeat") is None

    def test_rejected_station_may_only_boot(self):
        answers = self.booted("Rejected")
        assert answers.registration_status("CS") == "Rejected"
        assert answers.refusal("CS", "StatusNotification")[0] == "SecurityError"
        assert answers.refusal("CS", "BootNotification") is None
        assert answers.refusal("OTHER", "StatusNotification") is None

    def test_pending_station_may_send_what_a_trigger_message_asked_for(self):
        answers = self.booted("Pending")
        assert answers.refusal("CS", "Heartbeat") == (
            "SecurityError", "Heartbeat not allowed: registration status is Pending")
        answers.note_request("CS", "TriggerMessage", {"requestedMessage": "Heartbeat"})
        assert answers.refusal("CS", "Heartbeat") is None
        assert answers.refusal("CS", "StatusNotification") is not None

    def test_a_triggered_certificate_signing_allows_sign_certificate(self):
        answers = self.booted("Pending")
        answers.note_request("CS", "TriggerMessage",
                             {"requestedMessage": "SignChargingStationCertificate"})
        assert answers.refusal("CS", "SignCertificate") is None

    @pytest.mark.parametrize("request_action", ["GetBaseReport", "GetReport"])
    def test_a_report_request_allows_notify_report(self, request_action):
        answers = self.booted("Pending")
        answers.note_request("CS", request_action, {"requestId": 1})
        assert answers.refusal("CS", "NotifyReport") is None

    def test_a_new_boot_answer_forgets_what_was_allowed(self):
        answers = self.booted("Pending")
        answers.note_request("CS", "TriggerMessage", {"requestedMessage": "Heartbeat"})
        answers.answered_boot("CS", {"status": "Pending"})
        assert answers.refusal("CS", "Heartbeat") is not None

    def test_accepted_station_is_not_restricted(self):
        assert self.booted("Accepted").refusal("CS", "Heartbeat") is None

    @pytest.mark.parametrize("action, payload", [
        (["TriggerMessage"], None),
        ("TriggerMessage", {"requestedMessage": ["Heartbeat"]}),
        ("TriggerMessage", "Heartbeat"),
    ])
    def test_odd_raw_requests_allow_nothing_and_do_not_raise(self, action, payload):
        answers = self.booted("Pending")
        answers.note_request("CS", action, payload)
        assert answers.refusal("CS", "Heartbeat") is not None

    def test_an_answer_that_is_no_object_leaves_the_registration_alone(self):
        answers = Answers()
        answers.answered_boot("CS", [])
        assert answers.registration_status("CS") is None
