"""The station core against a scripted CSMS: boot, gating, heartbeat, provisioning, availability."""
from __future__ import annotations

import json

import pytest

from messages.ocpp201 import to_wire
from messages.evse import (ChangeEvseAvailability, ConnectorStatusChanged,
                           EvseAvailabilityChanged, TriggerEvse)
from ocppj.schemas import ACTIONS
from station.actions import CSMS_TO_CS_ACTIONS
from messages.ocpp201 import RegistrationStatusEnumType, to_wire
from config.station import parse_config
from station.core import _charging_station
from ports.session import Registration
from ports.time import iso
from station.session import BOOT_RETRY_FALLBACK_S

from storage import lite
from tests.unit.station_harness import FIXED_TIME, Harness


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path)


def statuses(calls):
    return [(c[3]["evseId"], c[3]["connectorId"], c[3]["connectorStatus"])
            for c in calls if c[2] == "StatusNotification"]


class TestRouting:
    def test_every_csms_action_is_an_ocpp_action(self):
        assert CSMS_TO_CS_ACTIONS <= set(ACTIONS)

    def test_routes_only_handle_csms_actions(self, h):
        assert set(h.session.routes) <= CSMS_TO_CS_ACTIONS

    def test_known_but_unrouted_action_is_not_supported(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("CustomerInformation", {"requestId": 1, "report": True,
                                                     "clear": False})
        assert frames[0][0] == 4 and frames[0][2] == "NotSupported"


class TestColdBootAccepted:
    """B01: boot, then every connector reported, then the start-up security event."""

    def test_boot_notification_carries_reason_and_station(self, h):
        h.connect()
        frame = h.expect_call("BootNotification")
        assert frame[3]["reason"] == "PowerUp"                              # B01.FR.09
        assert frame[3]["chargingStation"]["model"] == h.config.station.model

    def test_boot_notification_payload_is_the_model_on_the_wire(self, h):
        h.connect()
        frame = h.expect_call("BootNotification")
        assert frame[3] == {"chargingStation": {"model": "PyStation", "vendorName": "OpenOCPP"},
                            "reason": "PowerUp"}

    def test_charging_station_names_serial_and_firmware_only_when_configured(self, tmp_path):
        config = parse_config({"station": {"serial_number": "SN-1", "firmware_version": ""}},
                              base_dir=tmp_path)
        assert to_wire(_charging_station(config)) == {
            "serialNumber": "SN-1", "model": "PyStation", "vendorName": "OpenOCPP"}

    @pytest.mark.parametrize("status", ["Accepted", "Pending", "Rejected"])
    def test_registration_is_the_csms_status_enum(self, h, status):
        assert h.session.registration == Registration.UNKNOWN
        h.boot(status=status)
        assert h.session.registration is RegistrationStatusEnumType(status)

    def test_heartbeat_is_an_empty_object_and_an_integral_float_interval_counts(self, h):
        h.connect()
        h.answer(h.expect_call("BootNotification"),
                 {"status": "Accepted", "interval": 60.0, "currentTime": "2026-01-02T03:04:05Z"})
        h.drain_calls()
        h.advance(60)
        assert h.expect_call("Heartbeat")[3] == {}

    def test_accepted_reports_every_connector_status_and_event(self, h):
        h.announce_all()
        h.boot(interval=120)
        calls = h.drain_calls()
        assert statuses(calls) == [(1, 1, "Available"), (2, 1, "Available")]  # B01.FR.05
        events = [c[3]["eventData"][0] for c in calls if c[2] == "NotifyEvent"]
        assert [(e["component"]["evse"]["id"], e["actualValue"], e["trigger"]) for e in events] \
            == [(1, "Available", "Delta"), (2, "Available", "Delta")]
        security = [c[3]["type"] for c in calls if c[2] == "SecurityEventNotification"]
        assert security == ["StartupOfTheDevice"]

    def test_interval_becomes_heartbeat_interval(self, h):
        h.boot(interval=120)                                               # B01.FR.04
        h.drain_calls()
        assert h.dm.get("OCPPCommCtrlr", "HeartbeatInterval") == "120"
        h.advance(119)
        assert h.sent() == []
        h.advance(1)
        h.expect_call("Heartbeat")

    def test_heartbeat_timer_restarts_when_a_message_is_sent(self, h):
        h.boot(interval=100)
        h.drain_calls()
        h.advance(60)
        h.announce(1, 1, "Unavailable")
        h.drain_calls()
        h.advance(60)                                                      # G02.FR.05
        assert h.sent() == []
        h.advance(40)
        h.expect_call("Heartbeat")

    def test_status_announced_after_acceptance_is_reported_once(self, h):
        h.boot()
        h.drain_calls()
        h.announce(2, 1, "Available")
        assert statuses(h.drain_calls()) == [(2, 1, "Available")]
        h.announce(2, 1, "Available")
        assert h.drain_calls() == []


class TestLockFailure:
    """G05.FR.02: ConnectorPlugRetentionLock.Problem as a NotifyEvent, and in the model."""

    def report(self, h, problem: bool) -> None:
        from messages.evse import LockProblemChanged
        h.core.availability.lock_problem_changed(LockProblemChanged(
            evse_id=2, connector_id=1, problem=problem, timestamp="2026-01-02T03:04:05.000Z"))

    def problem(self, h) -> str:
        return h.core.device_model.get("ConnectorPlugRetentionLock", "Problem", evse_id=2,
                                       connector_id=1)

    def test_failure_and_recovery_are_notified(self, h):
        h.boot()
        h.drain_calls()
        self.report(h, True)
        frame = h.expect_call("NotifyEvent")
        [event] = frame[3]["eventData"]
        assert {k: event[k] for k in ("trigger", "actualValue", "cleared")} == {
            "trigger": "Delta", "actualValue": "true", "cleared": False}
        assert event["component"] == {"name": "ConnectorPlugRetentionLock",
                                      "evse": {"id": 2, "connectorId": 1}}
        assert event["variable"] == {"name": "Problem"} and self.problem(h) == "true"
        h.answer(frame, {})
        self.report(h, False)
        calls = [c for c in h.drain_calls() if c[2] == "NotifyEvent"]
        assert calls[-1][3]["eventData"][0]["actualValue"] == "false"
        assert self.problem(h) == "false"

    def test_offline_the_model_still_knows(self, h):
        self.report(h, True)
        assert [c for c in h.drain_calls() if c[2] == "NotifyEvent"] == []
        assert self.problem(h) == "true"


class TestPending:
    """B02: the CSMS may provision; the station sends nothing but what was asked for."""

    def test_nothing_but_boot_before_acceptance(self, h):
        h.announce_all()
        h.boot(status="Pending", interval=30)
        assert h.sent() == []                                              # B02.FR.02

    def test_get_and_set_variables_answered_while_pending(self, h):
        h.boot(status="Pending", interval=30)
        frames = h.csms_call("SetVariables", {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"},
            "attributeValue": "300"}]})
        assert frames[0][2]["setVariableResult"][0]["attributeStatus"] == "Accepted"
        frames = h.csms_call("GetVariables", {"getVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}]})
        result = frames[0][2]["getVariableResult"][0]
        assert result["attributeStatus"] == "Accepted" and result["attributeValue"] == "300"
        assert result["attributeType"] == "Actual"                          # B06.FR.11

    def test_base_report_sent_while_pending(self, h):
        h.boot(status="Pending", interval=30)
        frames = h.csms_call("GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"})
        assert frames[0][2] == {"status": "Accepted"}
        assert frames[1][2] == "NotifyReport"                              # B02.FR.02

    def test_remote_start_rejected_while_pending(self, h):
        h.boot(status="Pending", interval=30)
        frames = h.csms_call("RequestStartTransaction", {
            "idToken": {"idToken": "A", "type": "ISO14443"}, "remoteStartId": 1})
        assert frames[0][2] == {"status": "Rejected"}                      # B02.FR.05

    def test_boot_retried_after_interval(self, h):
        h.boot(status="Pending", interval=30)
        h.advance(29)
        assert h.sent() == []                                              # B02.FR.04
        h.advance(1)
        h.expect_call("BootNotification")                                  # B02.FR.08

    def test_trigger_boot_sends_boot_at_once_with_reason_triggered(self, h):
        h.announce_all()
        h.boot(status="Pending", interval=300)
        frames = h.csms_call("TriggerMessage", {"requestedMessage": "BootNotification"})
        assert frames[0][2] == {"status": "Accepted"}
        assert frames[1][2] == "BootNotification"                          # F06.FR.04
        assert frames[1][3]["reason"] == "Triggered"
        h.answer(frames[1], {"status": "Accepted", "interval": 300,
                             "currentTime": "2026-01-02T03:04:05Z"})
        assert len(statuses(h.drain_calls())) == 2


class TestRejected:
    """B03: silence until the interval passed; CSMS CALLs get SecurityError."""

    def test_csms_call_answered_security_error(self, h):
        h.boot(status="Rejected", interval=30)
        frames = h.csms_call("GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"})
        assert frames[0][0] == 4 and frames[0][2] == "SecurityError"       # B03.FR.08
        assert len(frames) == 1

    def test_call_before_any_boot_answer_is_security_error(self, h):
        h.connect()
        h.expect_call("BootNotification")
        frames = h.csms_call("GetVariables", {"getVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}]})
        assert frames[0][2] == "SecurityError"

    def test_zero_interval_uses_own_wait(self, h):
        h.boot(status="Rejected", interval=0)
        h.advance(BOOT_RETRY_FALLBACK_S - 1)
        assert h.sent() == []                                              # B03.FR.02
        h.advance(1)
        h.expect_call("BootNotification")                                  # B03.FR.05


class TestVariables:
    def test_unknown_component_variable_and_attribute_type(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("GetVariables", {"getVariableData": [
            {"component": {"name": "UnknownComponent"}, "variable": {"name": "OfflineThreshold"}},
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "UnknownVariable"}},
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"},
             "attributeType": "Target"},
        ]})
        results = frames[0][2]["getVariableResult"]
        assert [r["attributeStatus"] for r in results] == [
            "UnknownComponent", "UnknownVariable", "NotSupportedAttributeType"]
        assert all("attributeValue" not in r for r in results)            # B06.FR.06-08
        assert results[2]["attributeType"] == "Target"                     # B06.FR.03

    def test_answers_echo_what_was_asked_exactly(self, h):
        # The whole answers, so the typed handlers are pinned to what the dict ones sent: the
        # component and variable as received (customData, evse, instance), attributeType
        # Actual when absent, WriteOnly with its reason, reasons of refused writes.
        h.boot()
        h.drain_calls()
        component = {"name": "OCPPCommCtrlr", "customData": {"vendorId": "x", "note": None}}
        connector = {"name": "Connector", "evse": {"id": 1, "connectorId": 1}}
        frames = h.csms_call("GetVariables", {"getVariableData": [
            {"component": component, "variable": {"name": "MessageTimeout", "instance": "Default"}},
            {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
            {"component": connector, "variable": {"name": "AvailabilityState"},
             "attributeType": "Actual"},
        ]})
        assert frames[0][2] == {"getVariableResult": [
            {"attributeStatus": "Accepted", "attributeType": "Actual", "attributeValue": "30",
             "component": component, "variable": {"name": "MessageTimeout", "instance": "Default"}},
            {"attributeStatus": "Rejected", "attributeType": "Actual",                # B06.FR.09
             "attributeStatusInfo": {"reasonCode": "WriteOnly"},
             "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
            {"attributeStatus": "Accepted", "attributeType": "Actual", "attributeValue": "Available",
             "component": connector, "variable": {"name": "AvailabilityState"}},
        ]}
        frames = h.csms_call("SetVariables", {"setVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
             "attributeValue": "abc"},
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
             "attributeValue": "5", "attributeType": "Target"},
            {"component": {"name": "Nope"}, "variable": {"name": "X"}, "attributeValue": "1"},
        ]})
        assert frames[0][2] == {"setVariableResult": [
            {"attributeStatus": "Rejected", "attributeType": "Actual",
             "attributeStatusInfo": {"reasonCode": "InvalidValue",
                                     "additionalInfo": "'abc' is not an integer"},
             "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"attributeStatus": "NotSupportedAttributeType", "attributeType": "Target",
             "attributeStatusInfo": {"reasonCode": "UnsupportedParam",
                                     "additionalInfo": "no Target attribute"},
             "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"attributeStatus": "UnknownComponent", "attributeType": "Actual",
             "attributeStatusInfo": {"reasonCode": "NotFound", "additionalInfo": "unknown component"},
             "component": {"name": "Nope"}, "variable": {"name": "X"}},
        ]}

    def test_set_heartbeat_interval_takes_effect(self, h):
        h.boot(interval=300)
        h.drain_calls()
        frames = h.csms_call("SetVariables", {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "10"}]})
        assert frames[0][2]["setVariableResult"][0]["attributeStatus"] == "Accepted"
        h.advance(10)
        h.expect_call("Heartbeat")

    def test_too_many_items_is_occurrence_violation(self, h):
        h.boot()
        h.drain_calls()
        limit = h.dm.get_int("DeviceDataCtrlr", "ItemsPerMessage", instance="GetVariables")
        item = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}
        frames = h.csms_call("GetVariables", {"getVariableData": [item] * (limit + 1)})
        assert frames[0][0] == 4 and frames[0][2] == "OccurrenceConstraintViolation"  # B06.FR.16

    def test_read_only_is_rejected(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("SetVariables", {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "MessageTimeout", "instance": "Default"},
            "attributeValue": "10"}]})
        assert frames[0][2]["setVariableResult"][0]["attributeStatus"] == "Rejected"  # B05.FR.09


class TestReports:
    def test_full_inventory_pages_follow_the_response(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("GetBaseReport", {"requestId": 42, "reportBase": "FullInventory"})
        assert frames[0][2] == {"status": "Accepted"}
        pages = [frames[1]]
        h.answer(frames[1], {})
        pages += h.drain_calls()
        assert all(p[2] == "NotifyReport" and p[3]["requestId"] == 42 for p in pages)  # B07.FR.04
        assert [p[3]["seqNo"] for p in pages] == list(range(len(pages)))   # B07.FR.10
        assert [p[3]["tbc"] for p in pages] == [True] * (len(pages) - 1) + [False]
        names = {(d["component"]["name"], d["variable"]["name"])
                 for p in pages for d in p[3]["reportData"]}
        assert ("OCPPCommCtrlr", "HeartbeatInterval") in names
        assert ("EVSE", "AvailabilityState") in names

    def test_get_report_empty_result(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("GetReport", {"requestId": 1, "componentCriteria": ["Problem"],
                                           "componentVariable": [{
                                               "component": {"name": "EVSE", "evse": {"id": 1}},
                                               "variable": {"name": "AvailabilityState"}}]})
        assert frames == [[3, frames[0][1], {"status": "EmptyResultSet"}]]  # B08.FR.15

    def test_get_report_all_evses_without_evse_id(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("GetReport", {"requestId": 3, "componentVariable": [{
            "component": {"name": "EVSE"}, "variable": {"name": "AvailabilityState"}}]})
        assert frames[0][2] == {"status": "Accepted"}
        data = frames[1][3]["reportData"]
        assert sorted(d["component"]["evse"]["id"] for d in data) == [1, 2]  # B08.FR.23


class TestTriggerMessage:
    def test_status_notification_for_one_connector(self, h):
        h.announce_all()
        h.boot()
        h.drain_calls()
        frames = h.csms_call("TriggerMessage", {"requestedMessage": "StatusNotification",
                                                "evse": {"id": 2, "connectorId": 1}})
        assert frames[0][2] == {"status": "Accepted"}
        assert frames[1][2] == "StatusNotification" and frames[1][3]["evseId"] == 2

    def test_status_notification_is_stamped_now_and_announces_no_change(self, h):
        # F06.FR.09: only current information. The connector became Available yesterday; the
        # triggered StatusNotification says it is Available now, and no NotifyEvent (trigger
        # Delta) follows, since nothing changed.
        h.announce_all()
        h.core.availability.connector_status_changed(ConnectorStatusChanged(
            evse_id=2, connector_id=1, status="Occupied", timestamp="2026-01-01T00:00:00.000Z"))
        h.boot()
        h.drain_calls()
        frames = h.csms_call("TriggerMessage", {"requestedMessage": "StatusNotification",
                                                "evse": {"id": 2, "connectorId": 1}})
        assert frames[0][2] == {"status": "Accepted"}
        status = frames[1]
        assert status[2] == "StatusNotification"
        assert status[3]["connectorStatus"] == "Occupied"
        assert status[3]["timestamp"] == iso(FIXED_TIME)
        h.answer(status, {})
        assert h.drain_calls() == []

    def test_transaction_event_needs_a_transaction(self, h):
        # F06.FR.10: an Accepted trigger must be sent, so with no transaction on the EVSE (or
        # none at all for every EVSE) the answer is Rejected (F06.FR.05).
        h.boot()
        h.drain_calls()
        h.session.messages_to_actors()
        for evse in ({"id": 1}, None):
            payload = {"requestedMessage": "TransactionEvent"}
            if evse:
                payload["evse"] = evse
            assert h.csms_call("TriggerMessage", payload)[0][2] == {"status": "Rejected"}
        assert not [m for _, m in h.session.messages_to_actors() if isinstance(m, TriggerEvse)]
        h.core.ongoing.started("tx-2", 2)
        assert h.csms_call("TriggerMessage", {"requestedMessage": "TransactionEvent",
                                              "evse": {"id": 1}})[0][2] == {"status": "Rejected"}
        for evse, target in (({"id": 2}, ("evse", 2)), (None, ("evses", None))):
            payload = {"requestedMessage": "TransactionEvent"}
            if evse:
                payload["evse"] = evse
            assert h.csms_call("TriggerMessage", payload)[0][2] == {"status": "Accepted"}
            assert [t for t, m in h.session.messages_to_actors()
                    if isinstance(m, TriggerEvse)] == [target]

    def test_meter_values_need_an_aligned_measurand(self, h):
        # F06.FR.06 sends the AlignedDataMeasurands; with none configured there is nothing to
        # send, so Rejected (F06.FR.05, .10).
        h.boot()
        h.drain_calls()
        assert h.csms_call("TriggerMessage", {"requestedMessage": "MeterValues"})[0][2] == \
            {"status": "Accepted"}
        result = h.csms_call("SetVariables", {"setVariableData": [{
            "component": {"name": "AlignedDataCtrlr"}, "variable": {"name": "Measurands"},
            "attributeValue": ""}]})[0][2]["setVariableResult"][0]
        assert result["attributeStatus"] == "Accepted"
        assert h.csms_call("TriggerMessage", {"requestedMessage": "MeterValues",
                                              "evse": {"id": 1}})[0][2] == {"status": "Rejected"}

    def test_status_notification_without_connector_rejected(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("TriggerMessage", {"requestedMessage": "StatusNotification"})
        assert frames[0][2] == {"status": "Rejected"}                      # F06.FR.12

    def test_boot_rejected_once_accepted(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("TriggerMessage", {"requestedMessage": "BootNotification"})
        assert frames[0][2] == {"status": "Rejected"}                      # F06.FR.17

    def test_heartbeat(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("TriggerMessage", {"requestedMessage": "Heartbeat"})
        assert frames[0][2] == {"status": "Accepted"} and frames[1][2] == "Heartbeat"

    def test_not_implemented_message(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("TriggerMessage", {"requestedMessage": "LogStatusNotification"})
        assert frames[0][2] == {"status": "NotImplemented"}                # F06.FR.08


class TestAvailability:
    def test_change_availability_of_evse_waits_for_the_evse(self, h):
        h.announce_all()
        h.boot()
        h.drain_calls()
        message_id = "csms-x"
        import json
        h.session.receive_text(json.dumps([2, message_id, "ChangeAvailability", {
            "operationalStatus": "Inoperative", "evse": {"id": 2}}]), h.now)
        assert h.sent() == []
        [(target, command)] = h.session.messages_to_actors()
        assert target == ("evse", 2) and isinstance(command, ChangeEvseAvailability)
        h.session.resolve_deferred(command.correlation_id, EvseAvailabilityChanged(
            correlation_id=command.correlation_id, evse_id=2, status="Accepted"), h.now)
        assert h.sent() == [[3, message_id, {"status": "Accepted"}]]

    def test_unknown_evse_rejected(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("ChangeAvailability", {"operationalStatus": "Inoperative",
                                                    "evse": {"id": 9}})
        assert frames[0][2]["status"] == "Rejected"

    def test_evse_that_never_answers_gets_internal_error(self, h):
        h.boot()
        h.drain_calls()
        frames_before = h.sent()
        assert frames_before == []
        import json
        h.session.receive_text(json.dumps([2, "m1", "ChangeAvailability", {
            "operationalStatus": "Inoperative", "evse": {"id": 1}}]), h.now)
        h.advance(11)
        frames = h.sent()
        assert frames[0][:3] == [4, "m1", "InternalError"]

    def test_station_level_is_persisted_and_broadcast(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("ChangeAvailability", {"operationalStatus": "Inoperative"})
        assert frames[0][2] == {"status": "Accepted"}                      # G04.FR.01
        assert h.repo.get(0, 0) == "Inoperative"                           # G04.FR.09
        [(target, _)] = h.session.messages_to_actors()
        assert target == ("evses", None)


    def test_station_level_to_the_state_it_is_in_reports_that_state_again(self, h):
        """G04.FR.04 Accepted; TC_G_13 step 3: every connector and ChargingStation's
        AvailabilityState are reported although nothing changed."""
        h.announce_all()
        h.boot()
        h.drain_calls()
        h.csms_call("ChangeAvailability", {"operationalStatus": "Inoperative"})
        h.session.messages_to_actors()
        for evse_id, n in enumerate(h.config.connectors_per_evse, start=1):
            for connector_id in range(1, n + 1):
                h.announce(evse_id, connector_id, "Unavailable")
        h.drain_calls()
        frames = h.csms_call("ChangeAvailability", {"operationalStatus": "Inoperative"})
        assert frames[0][2] == {"status": "Accepted"}
        assert h.session.messages_to_actors() == []                       # nothing to apply
        calls = frames[1:]                              # the first CALL follows the answer
        for call in calls:
            h.answer(call, {})
        calls += h.drain_calls()
        reported = [c[3]["connectorStatus"] for c in calls if c[2] == "StatusNotification"]
        assert reported == ["Unavailable"] * sum(h.config.connectors_per_evse)
        station = [c[3]["eventData"][0] for c in calls if c[2] == "NotifyEvent"
                   and c[3]["eventData"][0]["component"]["name"] == "ChargingStation"]
        assert [e["actualValue"] for e in station] == ["Unavailable"]


class TestOffline:
    """B04: after a reconnect, which connectors are reported again."""

    def _online_with_all_reported(self, h):
        h.announce_all()
        h.boot()
        h.drain_calls()

    def test_short_offline_reports_only_changes(self, h):
        self._online_with_all_reported(h)
        h.dm.set_internal("OCPPCommCtrlr", "OfflineThreshold", "60")
        h.disconnect()
        h.now += 30
        h.announce(2, 1, "Unavailable")
        h.connect()
        assert statuses(h.drain_calls()) == [(2, 1, "Unavailable")]        # B04.FR.02

    def test_long_offline_reports_everything(self, h):
        self._online_with_all_reported(h)
        h.dm.set_internal("OCPPCommCtrlr", "OfflineThreshold", "60")
        h.disconnect()
        h.now += 61
        h.connect()
        assert statuses(h.drain_calls()) == [(1, 1, "Available"), (2, 1, "Available")]  # B04.FR.01

    def test_reconnect_after_acceptance_does_not_boot_again(self, h):
        self._online_with_all_reported(h)
        h.disconnect()
        h.now += 1
        h.connect()
        assert [c[2] for c in h.drain_calls()] == []

    def test_status_lost_with_the_connection_is_sent_again(self, h):
        h.announce_all()
        h.boot()
        first = h.sent()                      # first StatusNotification, never answered
        assert first[0][2] == "StatusNotification"
        h.disconnect()
        h.now += 1
        h.connect()
        reported = statuses(h.drain_calls())
        assert (first[0][3]["evseId"], 1, "Available") in reported


class TestClock:
    def test_date_time_reads_the_station_clock(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("GetVariables", {"getVariableData": [{
            "component": {"name": "ClockCtrlr"}, "variable": {"name": "DateTime"}}]})
        assert frames[0][2]["getVariableResult"][0]["attributeValue"] == "2026-01-02T03:04:05.000Z"


class TestClockSync:
    """B01.FR.06: TimeSource Heartbeat: the CSMS's currentTime becomes the station's time."""

    def test_boot_time_adjusts_the_station_clock_and_tells_the_evses(self, h):
        h.connect()
        frame = h.expect_call("BootNotification")
        h.answer(frame, {"status": "Accepted", "interval": 300,
                         "currentTime": "2026-01-02T03:05:05Z"})         # 60 s ahead
        assert h.core.clock.offset_s == 60
        h.drain_calls()
        frames = h.csms_call("GetVariables", {"getVariableData": [{
            "component": {"name": "ClockCtrlr"}, "variable": {"name": "DateTime"}}]})
        assert frames[0][2]["getVariableResult"][0]["attributeValue"] == "2026-01-02T03:05:05.000Z"
        targets = [target for target, _ in h.session.messages_to_actors()]
        assert ("evses", None) in targets

    def test_real_time_clock_source_ignores_the_csms(self, h):
        h.dm.set_internal("ClockCtrlr", "TimeSource", "RealTimeClock")
        h.connect()
        frame = h.expect_call("BootNotification")
        h.answer(frame, {"status": "Accepted", "interval": 300,
                         "currentTime": "2026-01-02T03:05:05Z"})
        assert h.core.clock.offset_s == 0


class TestStatusInfo:
    def test_rejected_values_say_why(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("SetVariables", {"setVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"},
             "attributeValue": "abc"},
            {"component": {"name": "OCPPCommCtrlr"},
             "variable": {"name": "MessageTimeout", "instance": "Default"}, "attributeValue": "5"},
            {"component": {"name": "NoSuchCtrlr"}, "variable": {"name": "X"}, "attributeValue": "1"},
        ]})
        infos = [r.get("attributeStatusInfo", {}).get("reasonCode")
                 for r in frames[0][2]["setVariableResult"]]
        assert infos == ["InvalidValue", "ReadOnly", "NotFound"]

    def test_accepted_has_no_status_info(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("SetVariables", {"setVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"},
             "attributeValue": "30"}]})
        assert "attributeStatusInfo" not in frames[0][2]["setVariableResult"][0]


class TestHandlerFailure:
    def test_a_bug_in_a_handler_is_answered_internal_error(self, h):
        h.boot()
        h.drain_calls()

        def broken(message_id, payload):
            raise KeyError("bug")

        h.session.routes["GetVariables"] = broken
        frames = h.csms_call("GetVariables", {"getVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}]})
        assert frames[0][0] == 4 and frames[0][2] == "InternalError"
        assert "bug" not in frames[0][3] and frames[0][4] == {}


class TestDurableSecurityEvents:
    """A04.FR.02: security events are queued with guaranteed delivery."""

    def test_startup_event_waits_for_acceptance(self, h):
        h.boot(status="Pending", interval=30)
        assert h.sent() == []                                              # B02.FR.02
        h.advance(30)
        frame = h.expect_call("BootNotification")
        h.answer(frame, {"status": "Accepted", "interval": 300,
                         "currentTime": "2026-01-02T03:04:05Z"})
        assert [c[3]["type"] for c in h.drain_calls()
                if c[2] == "SecurityEventNotification"] == ["StartupOfTheDevice"]

    def test_event_not_delivered_before_a_crash_is_sent_after_restart(self, tmp_path):
        first = Harness(tmp_path)
        first.boot()
        first.core.security.report("SettingSystemTime")
        # The process dies here: nothing is answered, nothing is closed.
        second = Harness(tmp_path)
        second.boot()
        types = [c[3]["type"] for c in second.drain_calls()
                 if c[2] == "SecurityEventNotification"]
        assert "SettingSystemTime" in types
        assert types.count("StartupOfTheDevice") == 2                      # one per start

    def test_call_error_is_retried_after_the_attempt_interval(self, h):
        h.boot()
        calls = []
        frames = h.sent()
        while frames:
            frame = frames[0]
            if frame[2] == "SecurityEventNotification" and not calls:
                calls.append(frame)
                h.session.receive_text(f'[4,"{frame[1]}","InternalError","busy",{{}}]', h.now)
            else:
                h.answer(frame, {})
            frames = h.sent()
        interval = h.dm.get_int("OCPPCommCtrlr", "MessageAttemptInterval",
                                instance="TransactionEvent")
        h.advance(interval - 1)
        assert h.sent() == []
        h.advance(1)
        retry = h.expect_call("SecurityEventNotification")                 # E13.FR.03
        assert retry[1] != calls[0][1] and retry[3] == calls[0][3]         # new id, same event


def started_event(transaction_id="tx-1", seq_no=0, event_type="Started", evse_id=1):
    payload = {"eventType": event_type, "timestamp": "2026-01-02T03:04:05.000Z",
               "triggerReason": "Authorized", "seqNo": seq_no,
               "transactionInfo": {"transactionId": transaction_id}}
    if event_type == "Started":
        payload["evse"] = {"id": evse_id, "connectorId": 1}
    if event_type == "Ended":
        payload["transactionInfo"]["stoppedReason"] = "Local"
    return payload


class TestTransactionEvents:
    """Events from the Evses reach the CSMS once, in order, through the durable queue."""

    def ready(self, h, payload, evse_id=1):
        from messages.evse import TransactionEventReady
        key = f"{payload['transactionInfo']['transactionId']}:{payload['seqNo']}"
        h.core.transactions.transaction_event_ready(TransactionEventReady(
            evse_id=evse_id, event_key=key, payload=payload))

    def test_event_is_acknowledged_sent_and_answered(self, h):
        from messages.evse import (StationTransactionsChanged, TransactionEventAnswered,
                                   TransactionEventQueued)
        h.boot()
        h.drain_calls()
        self.ready(h, started_event())
        acks = h.session.messages_to_actors()
        # The first transaction of the station is announced to every Evse (J01.FR.20).
        assert [(t, type(m)) for t, m in acks] == [
            (("evses", None), StationTransactionsChanged), (("evse", 1), TransactionEventQueued)]
        assert acks[0][1].any_transaction is True
        frame = h.expect_call("TransactionEvent")
        h.answer(frame, {"idTokenInfo": {"status": "Accepted"}})
        [(target, answered)] = h.session.messages_to_actors()
        assert target == ("evse", 1) and isinstance(answered, TransactionEventAnswered)
        assert to_wire(answered.id_token_info) == {"status": "Accepted"}

    def test_every_evse_hears_when_the_station_is_busy_and_idle_again(self, h):
        # J01.FR.20: only the changes of "some transaction runs" are announced.
        from messages.evse import StationTransactionsChanged
        h.boot()
        h.drain_calls()

        def announced() -> list[bool]:
            return [m.any_transaction for t, m in h.session.messages_to_actors()
                    if isinstance(m, StationTransactionsChanged) and t == ("evses", None)]
        self.ready(h, started_event("tx-1"))
        self.ready(h, started_event("tx-2"), evse_id=2)
        assert announced() == [True]
        self.ready(h, started_event("tx-1", seq_no=1, event_type="Ended"))
        assert announced() == []
        self.ready(h, started_event("tx-2", seq_no=1, event_type="Ended"), evse_id=2)
        assert announced() == [False]

    def test_resent_event_is_not_queued_twice(self, h):
        h.connect()                                      # not Accepted: the event waits
        self.ready(h, started_event())
        self.ready(h, started_event())                  # the Evse re-sent it
        h.expect_call("BootNotification")
        assert [m.action for m in h.core.outbox.queue.pending()].count("TransactionEvent") == 1

    def test_a_copy_of_an_event_already_delivered_is_acknowledged_not_sent(self, h):
        """The Evse re-sends an event whose TransactionEventQueued it did not hear in time;
        the CSMS has answered the first by then. It must not see it twice (E01.FR.07)."""
        from messages.evse import TransactionEventQueued
        h.boot()
        h.drain_calls()
        self.ready(h, started_event())
        h.answer(h.expect_call("TransactionEvent"), {})
        h.session.messages_to_actors()
        self.ready(h, started_event())                                 # the copy
        assert [type(m) for _, m in h.session.messages_to_actors()] == [TransactionEventQueued]
        assert [c[2] for c in h.drain_calls()] == []

    def test_a_late_copy_of_an_older_event_is_not_sent_after_a_newer_one(self, h):
        h.boot()
        h.drain_calls()
        for seq_no in (0, 1):
            self.ready(h, started_event(seq_no=seq_no,
                                        event_type="Started" if seq_no == 0 else "Updated"))
            h.answer(h.expect_call("TransactionEvent"), {})
        self.ready(h, started_event())                         # seqNo 0 again, late
        assert [c[2] for c in h.drain_calls()] == []
        self.ready(h, started_event("tx-other"))               # another transaction: sent
        assert h.expect_call("TransactionEvent")[3]["transactionInfo"]["transactionId"] == \
            "tx-other"

    def test_offline_event_is_flagged_and_kept(self, h):
        h.boot()
        h.drain_calls()
        h.disconnect()
        self.ready(h, started_event())
        h.connect()
        calls = h.drain_calls()
        [event] = [c[3] for c in calls if c[2] == "TransactionEvent"]
        assert event["offline"] is True                                   # E04.FR.03

    def test_transaction_status(self, h):
        h.boot()
        h.drain_calls()
        self.ready(h, started_event("tx-9"))
        in_flight = h.expect_call("TransactionEvent")
        frames = h.csms_call("GetTransactionStatus", {"transactionId": "tx-9"})
        assert frames[0][2] == {"messagesInQueue": True, "ongoingIndicator": True}  # E14.FR.02/04
        h.answer(in_flight, {})
        frames = h.csms_call("GetTransactionStatus", {"transactionId": "other"})
        assert frames[0][2] == {"messagesInQueue": False, "ongoingIndicator": False}  # E14.FR.01


class TestRemoteControl:
    def test_remote_start_goes_to_the_evse_and_waits(self, h):
        import json
        from messages.evse import RemoteStart, RemoteStartAnswered
        h.boot()
        h.drain_calls()
        h.session.messages_to_actors()
        h.session.receive_text(json.dumps([2, "rs", "RequestStartTransaction", {
            "evseId": 2, "remoteStartId": 5, "idToken": {"idToken": "T", "type": "ISO14443"}}]),
            h.now)
        assert h.sent() == []
        [(target, command)] = h.session.messages_to_actors()
        assert target == ("evse", 2) and isinstance(command, RemoteStart)
        h.session.resolve_deferred(command.correlation_id, RemoteStartAnswered(
            correlation_id=command.correlation_id, status="Accepted"), h.now)
        assert h.sent() == [[3, "rs", {"status": "Accepted"}]]

    def test_remote_start_without_evse_picks_an_available_one(self, h):
        h.announce_all()
        h.boot()
        h.drain_calls()
        h.session.messages_to_actors()
        import json
        h.session.receive_text(json.dumps([2, "rs", "RequestStartTransaction", {
            "remoteStartId": 5, "idToken": {"idToken": "T", "type": "ISO14443"}}]), h.now)
        [(target, _)] = h.session.messages_to_actors()
        assert target == ("evse", 1)                                       # F01.FR.20

    def test_remote_stop_of_unknown_transaction_rejected(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("RequestStopTransaction", {"transactionId": "nope"})
        assert frames[0][2] == {"status": "Rejected"}                      # F03.FR.08

    def test_unlock_unknown_connector(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("UnlockConnector", {"evseId": 1, "connectorId": 7})
        assert frames[0][2] == {"status": "UnknownConnector"}              # F05.FR.03


class TestReset:
    """B11/B12."""

    def ready(self, h, payload, evse_id=1):
        TestTransactionEvents.ready(None, h, payload, evse_id)

    def resets(self, h):
        from messages.supervision import ResetStation
        return [m for target, m in h.session.messages_to_actors()
                if target == ("root", None) and isinstance(m, ResetStation)]

    def test_idle_station_accepts_and_resets(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("Reset", {"type": "OnIdle"})
        assert frames[0][2] == {"status": "Accepted"}                      # B11.FR.03
        [reset] = self.resets(h)
        assert reset.boot_reason == "RemoteReset"

    def test_evse_reset_is_not_supported(self, h):
        h.boot()
        h.drain_calls()
        frames = h.csms_call("Reset", {"type": "OnIdle", "evseId": 1})
        assert frames[0][2] == {"status": "Rejected",                      # B11.FR.09
                                "statusInfo": {"reasonCode": "UnsupportedRequest",
                                               "additionalInfo": "EVSE reset is not supported"}}
        assert self.resets(h) == []

    def test_on_idle_waits_for_the_transaction_to_end(self, h):
        h.boot()
        h.drain_calls()
        self.ready(h, started_event("tx-1"))
        h.drain_calls()
        h.session.messages_to_actors()
        frames = h.csms_call("Reset", {"type": "OnIdle"})
        assert frames[0][2] == {"status": "Scheduled"}                     # B12.FR.01
        assert self.resets(h) == []
        self.ready(h, started_event("tx-1", seq_no=1, event_type="Ended"))
        [reset] = self.resets(h)                                           # B12.FR.03
        assert reset.boot_reason == "ScheduledReset"                       # TC_B_21

    def test_immediate_ends_transactions_first(self, h):
        from messages.evse import EndTransaction
        h.boot()
        h.drain_calls()
        self.ready(h, started_event("tx-1"), evse_id=2)
        h.drain_calls()
        h.session.messages_to_actors()
        frames = h.csms_call("Reset", {"type": "Immediate"})
        assert frames[0][2] == {"status": "Accepted"}                      # B12.FR.02
        commands = h.session.messages_to_actors()
        assert [(t, type(m)) for t, m in commands] == [(("evse", 2), EndTransaction)]
        self.ready(h, started_event("tx-1", seq_no=1, event_type="Ended"), evse_id=2)
        [reset] = self.resets(h)
        assert reset.boot_reason == "RemoteReset"                          # TC_B_22

    def test_immediate_resets_anyway_after_a_timeout(self, h):
        h.boot()
        h.drain_calls()
        self.ready(h, started_event("tx-1"))
        h.drain_calls()
        h.csms_call("Reset", {"type": "Immediate"})
        h.session.messages_to_actors()
        h.advance(11)
        assert len(self.resets(h)) == 1


def test_evse_tier_settings_go_to_that_evse_only(tmp_path):
    """J01.FR.19: AlignedDataCtrlr.SendDuringIdle set on EVSE 1's tier reaches Evse 1 alone,
    and not as the station's value."""
    from messages.evse import EvseSettingsChanged
    from tests.unit.test_evse_core import evse_tier_component_config
    h = Harness(tmp_path, component_config=evse_tier_component_config(tmp_path))
    h.boot()
    h.drain_calls()
    h.session.messages_to_actors()
    frames = h.csms_call("SetVariables", {"setVariableData": [{
        "component": {"name": "AlignedDataCtrlr", "evse": {"id": 1}},
        "variable": {"name": "SendDuringIdle"}, "attributeValue": "false"}]})
    assert frames[0][2]["setVariableResult"][0]["attributeStatus"] == "Accepted"
    [(target, msg)] = h.session.messages_to_actors()
    assert target == ("evse", 1) and isinstance(msg, EvseSettingsChanged)
    assert msg.settings == {"evse:AlignedDataCtrlr.SendDuringIdle": "false"}


def test_evse_settings_are_forwarded_to_the_evses(h):
    from messages.evse import EvseSettingsChanged
    h.boot()
    h.drain_calls()
    h.session.messages_to_actors()
    h.csms_call("SetVariables", {"setVariableData": [{
        "component": {"name": "TxCtrlr"}, "variable": {"name": "TxStartPoint"},
        "attributeValue": "EVConnected"}]})
    [(target, msg)] = h.session.messages_to_actors()
    assert target == ("evses", None) and isinstance(msg, EvseSettingsChanged)
    assert msg.settings == {"TxCtrlr.TxStartPoint": "EVConnected"}


def test_station_inoperative_is_scheduled_while_a_transaction_runs(h):
    h.boot()
    h.drain_calls()
    TestTransactionEvents.ready(None, h, started_event("tx-1"))
    h.drain_calls()
    frames = h.csms_call("ChangeAvailability", {"operationalStatus": "Inoperative"})
    assert frames[0][2] == {"status": "Scheduled"}                         # G04.FR.06
    assert h.repo.get(0, 0) == "Inoperative"


def test_station_operative_while_inoperative_is_scheduled_is_accepted(h):
    # G04.FR.04: the Inoperative never took effect where the transaction runs, so the station
    # is still operative: Accepted, not Scheduled; the Evses drop the scheduled change.
    from messages.evse import StationAvailabilityChanged
    h.boot()
    h.drain_calls()
    TestTransactionEvents.ready(None, h, started_event("tx-1"))
    h.drain_calls()
    assert h.csms_call("ChangeAvailability", {"operationalStatus": "Inoperative"})[0][2] == \
        {"status": "Scheduled"}
    h.session.messages_to_actors()
    frames = h.csms_call("ChangeAvailability", {"operationalStatus": "Operative"})
    assert frames[0][2] == {"status": "Accepted"}
    assert h.repo.get(0, 0) == "Operative"                                  # G04.FR.09
    assert [(t, m.operational_status) for t, m in h.session.messages_to_actors()
            if isinstance(m, StationAvailabilityChanged)] == [(("evses", None), "Operative")]


class TestReservations:
    """Block H as build_core wires it (the block itself: tests/unit/test_reservation.py)."""

    TOKEN = {"idToken": "RES-1", "type": "ISO14443"}
    OTHER = {"idToken": "OTHER", "type": "ISO14443"}

    def reserve(self, h, evse_id=2, reservation_id=7):
        h.announce_all()
        h.boot()
        h.drain_calls()
        h.session.messages_to_actors()
        frames = h.csms_call("ReserveNow", {
            "id": reservation_id, "evseId": evse_id, "idToken": self.TOKEN,
            "expiryDateTime": "2026-01-02T04:04:05Z"})
        return frames[0][2]

    def test_reserve_now_tells_the_evse_and_a_transaction_event_consumes_it(self, h):
        from messages.evse import TransactionEventReady
        from messages.reservation import ReservationCleared, ReservationMade
        assert self.reserve(h) == {"status": "Accepted"}                  # H01.FR.23
        [(target, made)] = h.session.messages_to_actors()
        assert target == ("evse", 2) and isinstance(made, ReservationMade)
        assert (made.reservation_id, to_wire(made.id_token)) == (7, self.TOKEN)
        assert h.core.reservations.is_reserved(2)
        h.announce(2, 1, "Reserved")
        payload = started_event("tx-r", evse_id=2)
        payload["reservationId"] = 7                                       # H01.FR.15
        h.core.transactions.transaction_event_ready(TransactionEventReady(
            evse_id=2, event_key="tx-r:0", payload=payload))
        assert h.core.reservations.active == {}                            # H03.FR.09
        cleared = [m for _, m in h.session.messages_to_actors()
                   if isinstance(m, ReservationCleared)]
        assert [(m.evse_id, m.reservation_id, m.reason) for m in cleared] == [(2, 7, "Used")]

    def test_token_on_a_reserved_evse(self, h):
        from messages.evse import AuthorizeToken, TokenAuthorized
        self.reserve(h)
        h.session.messages_to_actors()
        transactions = h.core.transactions
        transactions.authorize_token(AuthorizeToken(
            correlation_id="a", evse_id=2, id_token=self.OTHER), "evse-2")
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted"}})
        [(_, refused)] = h.session.messages_to_actors()
        assert isinstance(refused, TokenAuthorized) and not refused.allowed   # H03.FR.01
        assert h.core.reservations.active                                  # still reserved
        transactions.authorize_token(AuthorizeToken(
            correlation_id="b", evse_id=2, id_token=self.TOKEN), "evse-2")
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted"}})
        answers = [m for _, m in h.session.messages_to_actors()
                   if isinstance(m, TokenAuthorized)]
        assert [(m.allowed, m.reservation_id) for m in answers] == [(True, 7)]
        assert h.core.reservations.active == {}                            # claimed

    def test_remote_start_on_a_reserved_evse(self, h):
        import json
        self.reserve(h)
        frames = h.csms_call("RequestStartTransaction", {
            "evseId": 2, "remoteStartId": 1, "idToken": self.OTHER})
        assert frames[0][2]["status"] == "Rejected"                       # F01.FR.21/22
        h.session.messages_to_actors()
        h.session.receive_text(json.dumps([2, "rs", "RequestStartTransaction", {
            "remoteStartId": 2, "idToken": self.OTHER}]), h.now)
        [(target, _)] = h.session.messages_to_actors()
        assert target == ("evse", 1)                            # F01.FR.20: not the reserved
        h.session.receive_text(json.dumps([2, "rs2", "RequestStartTransaction", {
            "evseId": 2, "remoteStartId": 3, "idToken": self.TOKEN}]), h.now)
        [(target, command)] = h.session.messages_to_actors()
        assert target == ("evse", 2) and command.reservation_id == 7

    def test_cancel_then_on_idle_reset_is_not_held_back(self, h):
        from messages.supervision import ResetStation
        self.reserve(h)
        h.session.messages_to_actors()
        frames = h.csms_call("Reset", {"type": "OnIdle"})
        assert frames[0][2] == {"status": "Scheduled"}            # a reservation is pending
        assert h.csms_call("CancelReservation", {"reservationId": 7})[0][2] == \
            {"status": "Accepted"}
        h.advance(1.5)
        assert any(isinstance(m, ResetStation) for _, m in h.session.messages_to_actors())


class TestRestartedSessionKnowsRunningTransactions:
    """A CsmsSession that restarts while an Evse keeps its transaction running must still route
    RequestStopTransaction to it (F03.FR.08 applies only to unknown transactions)."""

    def test_remote_stop_reaches_the_evse_after_a_session_restart(self, tmp_path):
        from messages.evse import RemoteStop
        from storage.evse_repo import EvseRepository, TransactionRow
        first = Harness(tmp_path)
        EvseRepository(lite.connect(first.config.core_db_path,
                                    first.config.core_migrations_dir)).save(
            2, {}, TransactionRow("tx-kept", 1, 1_700_000_000_000, 5, "Charging", True),
            "2026-01-02T03:04:05Z")
        restarted = Harness(tmp_path)               # the session's state is gone, SQLite stays
        restarted.boot()
        restarted.drain_calls()
        restarted.session.messages_to_actors()
        restarted.session.receive_text(json.dumps(
            [2, "rq", "RequestStopTransaction", {"transactionId": "tx-kept"}]), restarted.now)
        [(target, message)] = restarted.session.messages_to_actors()
        assert target == ("evse", 2) and isinstance(message, RemoteStop)
        assert message.transaction_id == "tx-kept"


class TestStatusesDeliveredOutOfOrder:
    """Thespian's TCP transport can deliver two messages of one Evse out of order (a transmit
    that collided is retried while a later one goes through). Seen in CI: a plug-out's
    Available arrived after the next plug-in's Occupied, the session kept Available, and the
    StatusNotification Occupied was never sent (G01.FR.01)."""

    @staticmethod
    def status(status, sequence, origin="evse-1-a"):
        from messages.evse import ConnectorStatusChanged
        return ConnectorStatusChanged(evse_id=1, connector_id=1, status=status,
                                      timestamp="2026-01-02T03:04:05.000Z", origin=origin,
                                      sequence=sequence)

    def test_an_older_status_delivered_late_does_not_replace_a_newer_one(self, h):
        h.announce_all()
        h.boot()
        h.drain_calls()
        availability = h.core.availability
        availability.connector_status_changed(self.status("Occupied", 1))
        availability.connector_status_changed(self.status("Occupied", 3))   # plug-in again
        availability.connector_status_changed(self.status("Available", 2))  # late plug-out
        assert availability.status_of(1, 1) == "Occupied"

    def test_a_restarted_evse_counts_anew(self, h):
        h.announce_all()
        h.boot()
        h.drain_calls()
        availability = h.core.availability
        availability.connector_status_changed(self.status("Occupied", 7))
        availability.connector_status_changed(self.status("Available", 1, origin="evse-1-b"))
        assert availability.status_of(1, 1) == "Available"
