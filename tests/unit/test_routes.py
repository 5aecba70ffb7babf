"""station.routes: every CSMS -> CS action has an owner or is answered NotSupported."""
from __future__ import annotations

import re

import pytest

from blocks.data_transfer import NO_MESSAGE_ID
from messages.ocpp201 import DataTransferRequest, DataTransferResponse, DataTransferStatusEnumType
from station.actions import CS_TO_CSMS_ACTIONS, CSMS_TO_CS_ACTIONS
from station.routes import NOT_SUPPORTED, RESERVATION_ACTIONS
from tests.unit.station_harness import Harness


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path)


def accept(request: DataTransferRequest) -> DataTransferResponse:
    return DataTransferResponse(status=DataTransferStatusEnumType.accepted)


def snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


class TestTheTable:
    def test_routes_and_not_supported_are_exactly_the_csms_to_cs_actions(self, h):
        routes = set(h.session.routes)
        assert routes | NOT_SUPPORTED == CSMS_TO_CS_ACTIONS
        assert routes & NOT_SUPPORTED == set()

    def test_handlers_are_the_blocks_on_action_methods(self, h):
        # STYLE §4: on_<action>.
        for action, handler in h.session.routes.items():
            assert handler.__name__ == f"on_{snake(action)}", action

    def test_without_block_h_its_actions_are_not_supported(self, tmp_path):
        h = Harness(tmp_path, with_reservations=False)
        assert set(h.session.routes) | NOT_SUPPORTED | RESERVATION_ACTIONS == CSMS_TO_CS_ACTIONS
        h.boot()
        h.drain_calls()
        [frame] = h.csms_call("CancelReservation", {"reservationId": 1})
        assert frame[0] == 4 and frame[2] == "NotSupported"

    def test_the_session_refuses_a_route_for_a_cs_to_csms_action(self, h):
        action = sorted(CS_TO_CSMS_ACTIONS - CSMS_TO_CS_ACTIONS)[0]
        with pytest.raises(ValueError):
            h.session.install_routes({action: lambda message_id, payload: {}})

    @pytest.mark.parametrize("action", sorted(NOT_SUPPORTED))
    def test_each_not_supported_action_is_answered_not_supported(self, h, action):
        h.boot()
        h.drain_calls()
        # The RPC core answers before validating the payload (part 4 §4.2.3).
        [frame] = h.csms_call(action, {})
        assert frame[0] == 4 and frame[2] == "NotSupported"


class TestDataTransfer:
    """P01 (TC_P_01_CS): always a DataTransferResponse, never a CALLERROR."""

    def test_unknown_vendor_is_answered_unknown_vendor_id(self, h):
        h.boot()
        h.drain_calls()
        [frame] = h.csms_call("DataTransfer", {"vendorId": "org.openchargealliance.octt",
                                               "messageId": "unused"})
        assert frame == [3, frame[1], {"status": "UnknownVendorId"}]     # P01.FR.05

    def test_unknown_message_id_of_a_known_vendor(self, h):
        h.core.data_transfer.register("com.example", "Hello", accept)
        h.boot()
        h.drain_calls()
        [frame] = h.csms_call("DataTransfer", {"vendorId": "com.example", "messageId": "Bye"})
        assert frame[2] == {"status": "UnknownMessageId"}                # P01.FR.06

    def test_a_registered_handler_answers_with_its_response(self, h):
        seen = []

        def echo(request: DataTransferRequest) -> DataTransferResponse:
            seen.append(request)
            return DataTransferResponse(status=DataTransferStatusEnumType.accepted,
                                        data=request.data)

        h.core.data_transfer.register("com.example", "Echo", echo)
        h.boot()
        h.drain_calls()
        [frame] = h.csms_call("DataTransfer", {"vendorId": "com.example", "messageId": "Echo",
                                               "data": {"x": 1}})
        assert frame[2] == {"status": "Accepted", "data": {"x": 1}}      # P01.FR.07
        [frame] = h.csms_call("DataTransfer", {"vendorId": "com.example", "messageId": "Echo",
                                               "data": None})
        assert frame[2] == {"status": "Accepted", "data": None}          # null is data too
        assert isinstance(seen[0], DataTransferRequest) and seen[0].vendor_id == "com.example"

    def test_a_vendor_without_message_ids_gets_every_message(self, h):
        h.core.data_transfer.register("com.example", NO_MESSAGE_ID, accept)
        h.boot()
        h.drain_calls()
        [frame] = h.csms_call("DataTransfer", {"vendorId": "com.example"})
        assert frame[2] == {"status": "Accepted"}

    def test_a_vendor_cannot_register_the_same_message_twice(self, h):
        h.core.data_transfer.register("com.example", None, accept)
        with pytest.raises(ValueError):
            h.core.data_transfer.register("com.example", None, accept)
