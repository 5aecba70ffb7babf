"""Messages between the CsmsSession, the AuthCache and the Display (messages/auth.py) carry OCPP
models and must pickle: multiprocTCPBase pickles every message between actor processes."""
from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest

from messages.auth import (AuthCacheCleared, AuthStats, CsmsTokenAnswer, Displayed,
                           LocalListUpdated, ShowMessage, TokenInfoSeen, TokenVerdict,
                           UpdateLocalList, ValidateToken)
from messages.ocpp201 import (ClearCacheResponse, IdTokenEnumType, IdTokenInfoType, IdTokenType,
                              MessageContentType, SendLocalListRequest, SendLocalListResponse,
                              to_wire)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
SETTINGS = {"AuthCtrlr.LocalPreAuthorize": "true", "AuthCtrlr.MasterPassGroupId": None}
STATS = AuthStats(list_entries=1, list_bytes=120, cache_entries=2, cache_bytes=300)
# Every kind of field the models have: an enum, a nested model, a tuple of integers (one
# written 2.0, which must stay a float), a date-time string and free customData keys.
CARD = IdTokenType.model_validate({
    "idToken": "CARD-1", "type": "ISO14443",
    "additionalInfo": [{"additionalIdToken": "a", "type": "x"}],
    "customData": {"vendorId": "v", "note": None}})
INFO = IdTokenInfoType.model_validate({
    "status": "Accepted", "evseId": [1, 2.0], "cacheExpiryDateTime": "2026-01-02T00:00:00Z",
    "groupIdToken": {"idToken": "G1", "type": "Central"},
    "personalMessage": {"format": "UTF8", "content": "Welkom", "language": "nl"}})
LIST = SendLocalListRequest.model_validate({
    "updateType": "Differential", "versionNumber": 3,
    "localAuthorizationList": [{"idToken": to_wire(CARD), "idTokenInfo": to_wire(INFO)},
                               {"idToken": {"idToken": "gone", "type": "Local"}}]})

MESSAGES = [
    ValidateToken(correlation_id="v1", id_token=CARD, evse_id=1, online=True,
                  settings=SETTINGS, now=T0),
    CsmsTokenAnswer(correlation_id="v1", id_token=CARD, id_token_info=INFO, settings=SETTINGS,
                    now=T0),
    TokenVerdict(correlation_id="v1", id_token_info=INFO, allowed=True, source="csms",
                 stats=STATS),
    TokenInfoSeen(id_token=CARD, id_token_info=INFO, settings=SETTINGS, now=T0),
    UpdateLocalList(correlation_id="l1", request=LIST, frame_bytes=400, settings=SETTINGS),
    LocalListUpdated(correlation_id="l1", stats=STATS,
                     response=SendLocalListResponse.model_validate(
                         {"status": "Failed", "statusInfo": {"reasonCode": "OutOfStorage"}})),
    AuthCacheCleared(correlation_id="c1", stats=STATS,
                     response=ClearCacheResponse.model_validate({"status": "Accepted"})),
    ShowMessage(evse_id=1, message=INFO.personal_message, reason="idTokenInfo Accepted"),
    Displayed(messages={1: MessageContentType.model_validate({"format": "ASCII",
                                                              "content": "hi"})}),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_survives_a_pickle_round_trip(msg):
    again = pickle.loads(pickle.dumps(msg))
    assert again == msg
    assert again.model_dump(mode="json", by_alias=True) == msg.model_dump(mode="json",
                                                                          by_alias=True)


def test_models_inside_keep_their_types_and_wire_form():
    again = pickle.loads(pickle.dumps(MESSAGES[1]))
    assert again.id_token.type is IdTokenEnumType.iso14443
    assert to_wire(again.id_token) == to_wire(CARD)                     # customData null kept
    assert to_wire(again.id_token_info) == to_wire(INFO)
    assert [type(e) for e in again.id_token_info.evse_id] == [int, float]
    listed = pickle.loads(pickle.dumps(MESSAGES[4])).request
    assert to_wire(listed) == to_wire(LIST)


def test_a_wire_dict_given_to_a_message_becomes_the_model():
    """Callers not yet on the models may pass wire dicts; the message holds the model."""
    msg = ValidateToken(correlation_id="v", id_token={"idToken": "X", "type": "Central"},
                        online=False, settings={}, now=T0)
    assert msg.id_token == IdTokenType(id_token="X", type=IdTokenEnumType.central)
