"""Tests for blocks.provisioning: what a value set by the CSMS tells the running station (B05).

The answers themselves are pinned in test_session.TestVariables and the reports in
test_device_model / test_report_paging; here the block runs without a session.
"""
from __future__ import annotations

import pytest

from blocks.provisioning import Provisioning
from device_model.model import DeviceModel
from config.station import PROJECT_DIR
from messages.ocpp201 import SetVariablesRequest


@pytest.fixture
def block_and_calls():
    dm = DeviceModel.open(":memory:", PROJECT_DIR / "migrations" / "device_model",
                          PROJECT_DIR / "component_config", [1, 1])
    # Neither the session nor the sending port is used while applying SetVariables.
    block = Provisioning(None, None, dm)
    calls = []
    block.on_variable_set(lambda *args: calls.append(("station", *args)))
    block.on_evse_variable_set(lambda *args: calls.append(("evse", *args)))
    yield block.on_set_variables, calls
    dm.close()


def set_variables(handler, *items) -> list[str]:
    answer = handler("m-1", SetVariablesRequest.model_validate({"setVariableData": list(items)}))
    return [result.attribute_status for result in answer.set_variable_result]


class TestAnnouncedValues:
    """Accepted Actual values reach the listeners of their tier, after every item is applied."""

    def test_station_tier_value_goes_to_the_station_listeners(self, block_and_calls):
        handler, calls = block_and_calls
        assert set_variables(handler, {
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "60"}) == ["Accepted"]
        assert calls == [("station", "OCPPCommCtrlr", "HeartbeatInterval", None, "60")]

    def test_evse_tier_value_goes_to_the_evse_listeners_with_its_evse(self, block_and_calls):
        handler, calls = block_and_calls
        assert set_variables(handler, {
            "component": {"name": "EVSE", "evse": {"id": 2}},
            "variable": {"name": "ISO15118EvseId"}, "attributeValue": "DE*ABC*E2"}) == ["Accepted"]
        assert calls == [("evse", "EVSE", "ISO15118EvseId", None, 2, "DE*ABC*E2")]  # J01.FR.19

    def test_refused_values_are_not_announced(self, block_and_calls):
        handler, calls = block_and_calls
        assert set_variables(handler, {
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "sixty"}, {
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "60", "attributeType": "Target"}) == [
            "Rejected", "NotSupportedAttributeType"]
        assert calls == []
