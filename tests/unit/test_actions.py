"""station.actions: the direction of every OCPP 2.0.1 action, against the ocpp package."""
from __future__ import annotations

from pathlib import Path

import ocpp
from ocpp.v201.enums import Action

from station.actions import CS_TO_CSMS_ACTIONS, CSMS_TO_CS_ACTIONS


def schema_actions() -> set[str]:
    folder = Path(ocpp.__file__).parent / "v201" / "schemas"
    return {p.name.removesuffix("Request.json") for p in folder.glob("*Request.json")}


class TestDirections:
    """Part 2 §Messages: each request says who sends it."""

    def test_both_directions_together_are_every_action_of_the_ocpp_package(self):
        assert CS_TO_CSMS_ACTIONS | CSMS_TO_CS_ACTIONS == {a.value for a in Action}

    def test_both_directions_together_are_every_request_schema(self):
        assert CS_TO_CSMS_ACTIONS | CSMS_TO_CS_ACTIONS == schema_actions()

    def test_only_data_transfer_goes_both_ways(self):
        # Part 2 1.13.1: "sent either by the CSMS to the Charging Station or vice versa".
        assert CS_TO_CSMS_ACTIONS & CSMS_TO_CS_ACTIONS == {"DataTransfer"}
