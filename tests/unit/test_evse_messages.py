"""The Evse's token messages (messages/evse.py) carry OCPP models and must pickle:
multiprocTCPBase pickles every message between actor processes."""
from __future__ import annotations

import pickle

import pytest

from messages.evse import (AuthorizeToken, MasterPassStop, PresentToken, RemoteStart,
                           TokenAuthorized)
from messages.ocpp201 import (ChargingProfileType, IdTokenEnumType, IdTokenInfoType,
                              IdTokenType, to_wire)

# Nested models, a tuple, an enum and free customData keys (a null one too).
CARD = IdTokenType.model_validate({
    "idToken": "CARD-1", "type": "ISO14443",
    "additionalInfo": [{"additionalIdToken": "a", "type": "x"}],
    "customData": {"vendorId": "v", "note": None}})
GROUP = IdTokenType(id_token="FLEET", type=IdTokenEnumType.central)
INFO = IdTokenInfoType.model_validate({
    "status": "Accepted", "evseId": [1, 2], "groupIdToken": to_wire(GROUP),
    "personalMessage": {"format": "UTF8", "content": "Welkom", "language": "nl"}})
PROFILE = ChargingProfileType.model_validate({
    "id": 20, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Relative",
    "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                          "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7.0}]}]})

MESSAGES = [
    AuthorizeToken(correlation_id="a1", evse_id=1, id_token=CARD, remote_start=True),
    TokenAuthorized(correlation_id="a1", id_token_info=INFO, allowed=False, reservation_id=3),
    RemoteStart(correlation_id="r1", evse_id=2, id_token=CARD, group_id_token=GROUP,
                remote_start_id=42, charging_profile=PROFILE, reservation_id=3),
    RemoteStart(correlation_id="r2", evse_id=1, id_token=GROUP, remote_start_id=1),
    MasterPassStop(id_token=CARD),
    PresentToken(id_token=IdTokenType(id_token="", type=IdTokenEnumType.no_authorization)),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_survives_a_pickle_round_trip(msg):
    again = pickle.loads(pickle.dumps(msg))
    assert again == msg and type(again) is type(msg)
    assert again.model_dump(mode="json", by_alias=True) == msg.model_dump(mode="json",
                                                                          by_alias=True)


def test_models_inside_keep_their_types_and_wire_form():
    start = pickle.loads(pickle.dumps(MESSAGES[2]))
    assert isinstance(start.id_token, IdTokenType)
    assert start.id_token.type is IdTokenEnumType.iso14443
    assert to_wire(start.id_token) == to_wire(CARD)                   # customData null kept
    assert isinstance(start.charging_profile, ChargingProfileType)
    assert to_wire(start.charging_profile) == to_wire(PROFILE)
    answer = pickle.loads(pickle.dumps(MESSAGES[1]))
    assert answer.id_token_info.group_id_token == GROUP


def test_a_wire_dict_given_to_a_message_becomes_the_model():
    msg = AuthorizeToken(correlation_id="a", evse_id=1,
                         id_token={"idToken": "X", "type": "Central"})
    assert msg.id_token == IdTokenType(id_token="X", type=IdTokenEnumType.central)
    with pytest.raises(ValueError):
        MasterPassStop(id_token={"idToken": "X"})                      # no type: not a token
