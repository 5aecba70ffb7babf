"""Block F's TriggerMessage (blocks/remote_control.py): triggers speak EVSEType and the status
enum; the routing of the requested message and its CALLERROR-free answers (F06)."""
from __future__ import annotations

import pytest

from messages.ocpp201 import EVSEType, TriggerMessageStatusEnumType
from tests.unit.station_harness import Harness


@pytest.fixture
def h(tmp_path):
    h = Harness(tmp_path)
    h.announce_all()
    h.boot()
    h.drain_calls()
    return h


def test_a_trigger_gets_the_evse_as_its_model(h):
    seen = []

    def trigger(evse: EVSEType | None) -> TriggerMessageStatusEnumType:
        seen.append(evse)
        return TriggerMessageStatusEnumType.rejected

    h.core.remote_control.add_trigger("LogStatusNotification", trigger)
    [frame] = h.csms_call("TriggerMessage", {"requestedMessage": "LogStatusNotification",
                                             "evse": {"id": 2, "connectorId": 1}})
    assert frame[2] == {"status": "Rejected"}
    assert seen == [EVSEType(id=2, connector_id=1)]


def test_a_message_nobody_registered_is_not_implemented(h):
    [frame] = h.csms_call("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
    assert frame[2] == {"status": "NotImplemented"}                    # F06.FR.08


def test_only_requested_messages_of_the_enum_and_only_once(h):
    with pytest.raises(ValueError):
        h.core.remote_control.add_trigger("NoSuchMessage", lambda evse: "Accepted")
    with pytest.raises(ValueError):
        h.core.remote_control.add_trigger("StatusNotification", lambda evse: "Accepted")


def test_triggered_status_notification_goes_out_after_the_response(h):
    frames = h.csms_call("TriggerMessage", {"requestedMessage": "StatusNotification",
                                            "evse": {"id": 1, "connectorId": 1}})
    assert frames[0][2] == {"status": "Accepted"}
    assert frames[1][2] == "StatusNotification" and frames[1][3]["evseId"] == 1   # F06.FR.04
