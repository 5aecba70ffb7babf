"""Blocks C and D through the station core: the session's side (blocks/auth_routing.py) with the
real AuthService behind it (in-process, tests/unit/station_harness.py) and a scripted CSMS."""
from __future__ import annotations

import pytest

from blocks.auth_routing import AUTH_CACHE_TIMEOUT_S
from messages.auth import ShowMessage
from messages.evse import (AuthorizeToken, MasterPassStop, TokenAuthorized,
                           TransactionEventAnswered, TransactionEventReady)
from messages.ocpp201 import IdTokenType, to_wire
from storage.auth_repo import token_hash
from tests.unit.station_harness import Harness, default_answer

# Wire form: the messages parse it into the models (AuthorizeToken.id_token: IdTokenType).
CARD = {"idToken": "CARD-1", "type": "ISO14443"}
OTHER = {"idToken": "CARD-2", "type": "ISO14443"}
CARD_KEY = token_hash(IdTokenType.model_validate(CARD))


@pytest.fixture
def h(tmp_path):
    h = Harness(tmp_path)
    h.boot()
    h.drain_calls()
    h.session.messages_to_actors()
    return h


def setvar(h, component, variable, value):
    assert h.dm.set_internal(component, variable, value)


def ask(h, token=CARD, evse_id=1, correlation_id="c1", remote_start=False, asked_at=None):
    h.core.transactions.authorize_token(AuthorizeToken(
        correlation_id=correlation_id, evse_id=evse_id, id_token=token,
        remote_start=remote_start, asked_at=asked_at), ("evse", evse_id))
    h.pump_auth_cache()


def csms_accepting_every_token(h) -> list[str]:
    """Answer every CALL as the test CSMS does by default (Authorize: Accepted) until the
    station is quiet; returns the actions it sent."""
    actions = []
    frames = h.sent()
    while frames:
        [frame] = frames
        actions.append(frame[2])
        h.answer(frame, {"idTokenInfo": {"status": "Accepted"}} if frame[2] == "Authorize"
                 else default_answer(frame[2]))
        frames = h.sent()
    return actions


def answers(h) -> list[TokenAuthorized]:
    h.pump_auth_cache()
    return [m for _, m in h.session.messages_to_actors() if isinstance(m, TokenAuthorized)]


def send_list(h, update_type, version, items):
    payload = {"updateType": update_type, "versionNumber": version}
    if items:                       # the schema's minItems 1: an empty list is an absent one
        payload["localAuthorizationList"] = items
    return h.csms_call("SendLocalList", payload)[0][2]


def entry(token, status="Accepted", **info):
    return {"idToken": token, "idTokenInfo": {"status": status, **info}}


class TestTokenChecks:
    def test_unknown_token_online_is_authorized_by_the_csms_and_cached(self, h):
        """C01.FR.02, C10.FR.04; with LocalPreAuthorize the next check needs no Authorize."""
        ask(h)
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted"}})
        [answer] = answers(h)
        assert answer.allowed and to_wire(answer.id_token_info) == {"status": "Accepted"}
        assert h.auth_service.auth.repo.cache_get(CARD_KEY) is not None
        setvar(h, "AuthCtrlr", "LocalPreAuthorize", "true")
        ask(h, correlation_id="c2")
        assert h.sent() == []                                               # C12.FR.02
        [answer] = answers(h)
        assert answer.correlation_id == "c2" and answer.allowed

    def test_authorize_carries_the_token_as_presented(self, h):
        """The Authorize built as a model has the values of the token the Evse sent (keys
        may come in the schema's order), and the answer's whole idTokenInfo reaches it."""
        token = {"idToken": "CARD-9", "type": "ISO14443", "customData": {"vendorId": "v"},
                 "additionalInfo": [{"additionalIdToken": "X1", "type": "plate"}]}
        ask(h, token)
        frame = h.expect_call("Authorize")
        assert frame[3] == {"idToken": token}
        info = {"status": "Accepted", "evseId": [1, 2], "chargingPriority": 2,
                "groupIdToken": {"idToken": "G", "type": "Central"}}
        h.answer(frame, {"idTokenInfo": info})
        [answer] = answers(h)
        assert answer.allowed and to_wire(answer.id_token_info) == info

    @pytest.mark.parametrize("status", ["Invalid", "Blocked", "Expired", "Unknown"])
    def test_not_accepted_by_the_csms_may_not_charge(self, h, status):
        """TC_C_02, 06, 07."""
        ask(h)
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": status}})
        [answer] = answers(h)
        assert not answer.allowed and answer.id_token_info.status == status

    def test_local_list_with_pre_authorize_needs_no_authorize(self, h):
        """C14.FR.02."""
        setvar(h, "AuthCtrlr", "LocalPreAuthorize", "true")
        assert send_list(h, "Full", 1, [entry(CARD)]) == {"status": "Accepted"}
        ask(h)
        assert h.sent() == []
        assert answers(h)[0].allowed

    def test_authorize_error_falls_back_to_offline_rules(self, h):
        """A CALLERROR to Authorize: the offline rules decide (C15 with unknown ids allowed)."""
        setvar(h, "AuthCtrlr", "OfflineTxForUnknownIdEnabled", "true")
        ask(h)
        frame = h.expect_call("Authorize")
        h.session.receive_text(f'[4, "{frame[1]}", "InternalError", "", {{}}]', h.now)
        assert answers(h)[0].allowed

    def test_offline_unknown_only_with_offline_tx_for_unknown_id(self, h):
        """C13.FR.02, C15.FR.08."""
        h.disconnect()
        ask(h)
        assert not answers(h)[0].allowed
        setvar(h, "AuthCtrlr", "OfflineTxForUnknownIdEnabled", "true")
        ask(h, correlation_id="c2")
        assert answers(h)[0].allowed
        assert h.auth_service.auth.repo.cache_entries == 0                  # C15.FR.01

    def test_offline_cached_token_is_accepted(self, h):
        """C12 offline, LocalAuthorizeOffline."""
        ask(h)
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted"}})
        answers(h)
        h.disconnect()
        ask(h, correlation_id="c2")
        assert answers(h)[0].allowed

    def test_evse_restriction(self, h):
        """C01.FR.21."""
        ask(h)
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted",
                                                              "evseId": [2]}})
        assert not answers(h)[0].allowed

    def test_personal_message_goes_to_the_display(self, h):
        message = {"format": "UTF8", "content": "Welkom"}
        ask(h)
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted",
                                                              "personalMessage": message}})
        h.pump_auth_cache()
        shown = [(t, m) for t, m in h.session.messages_to_actors() if isinstance(m, ShowMessage)]
        assert shown == [(("display", None), ShowMessage(evse_id=1, message=message,
                                                         reason="idTokenInfo Accepted"))]

    def test_central_remote_start_token_is_not_authorized_again(self, h):
        """C03.FR.01 with AuthorizeRemoteStart (F01.FR.01)."""
        ask(h, {"idToken": "R1", "type": "Central"}, remote_start=True)
        assert h.sent() == []
        assert answers(h)[0].allowed


class TestMasterPass:
    """C16."""

    def test_master_pass_stops_every_transaction_and_starts_none(self, h):
        setvar(h, "AuthCtrlr", "MasterPassGroupId", "MASTER")
        h.core.ongoing.started("tx-a", 1)
        h.core.ongoing.started("tx-b", 2)
        ask(h, evse_id=1)
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {
            "status": "Accepted", "groupIdToken": {"idToken": "MASTER", "type": "Central"}}})
        h.pump_auth_cache()
        out = h.session.messages_to_actors()
        stops = [t for t, m in out if isinstance(m, MasterPassStop)]
        assert stops == [("evse", 1), ("evse", 2)]                          # C16.FR.02
        [answer] = [m for _, m in out if isinstance(m, TokenAuthorized)]
        assert not answer.allowed                                           # C16.FR.03


class TestTransactionEventResponse:
    def test_id_token_info_updates_the_cache(self, h):
        """C10.FR.05: a token Accepted offline is revoked in the cache by the CSMS's answer."""
        ask(h)
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted"}})
        answers(h)
        payload = {"eventType": "Started", "timestamp": "2026-01-02T03:04:05.000Z",
                   "triggerReason": "Authorized", "seqNo": 0, "idToken": CARD,
                   "transactionInfo": {"transactionId": "tx-1"},
                   "evse": {"id": 1, "connectorId": 1}}
        h.core.transactions.transaction_event_ready(TransactionEventReady(
            evse_id=1, event_key="tx-1:0", payload=payload))
        h.answer(h.expect_call("TransactionEvent"), {"idTokenInfo": {"status": "Blocked"}})
        answered = [m for _, m in h.session.messages_to_actors()
                    if isinstance(m, TransactionEventAnswered)]
        assert to_wire(answered[0].id_token_info) == {"status": "Blocked"}  # E05 at the Evse
        entry_ = h.auth_service.auth.repo.cache_get(CARD_KEY)
        assert to_wire(entry_.info) == {"status": "Blocked"}


class TestAuthCacheDown:
    """The AuthCache restarting loses no request and leaves none hanging."""

    def test_resent_after_a_directory_change(self, h):
        h.auth_cache_up = False
        ask(h)
        h.to_auth_cache.clear()                     # lost with the dead process
        h.auth_cache_up = True
        h.core.auth.resend()
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted"}})
        assert answers(h)[0].allowed

    def test_online_without_answer_asks_the_csms_directly(self, h):
        h.auth_cache_up = False
        ask(h)
        assert h.sent() == []
        h.advance(AUTH_CACHE_TIMEOUT_S)
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted"}})
        [answer] = answers(h)
        assert answer.allowed and answer.correlation_id == "c1"

    def test_offline_without_answer_refuses(self, h):
        h.disconnect()
        h.auth_cache_up = False
        ask(h)
        assert answers(h) == []
        h.advance(AUTH_CACHE_TIMEOUT_S)
        [answer] = answers(h)
        assert not answer.allowed and to_wire(answer.id_token_info) == {"status": "Unknown"}

    def test_csms_answer_already_in_is_used_when_the_cache_dies(self, h):
        ask(h)
        frame = h.expect_call("Authorize")
        h.auth_cache_up = False
        h.answer(frame, {"idTokenInfo": {"status": "Accepted"}})
        assert answers(h) == []
        h.advance(AUTH_CACHE_TIMEOUT_S)
        assert answers(h)[0].allowed

    def test_late_answer_after_the_fallback_is_ignored(self, h):
        h.disconnect()
        h.auth_cache_up = False
        ask(h)
        h.advance(AUTH_CACHE_TIMEOUT_S)
        assert len(answers(h)) == 1
        h.auth_cache_up = True
        h.pump_auth_cache()
        assert answers(h) == []

    def test_send_local_list_waits_for_a_restarted_cache(self, h):
        import json
        h.auth_cache_up = False
        h.session.receive_text(json.dumps([2, "m1", "SendLocalList", {
            "updateType": "Full", "versionNumber": 3,
            "localAuthorizationList": [entry(CARD)]}]), h.now)
        assert h.sent() == []
        h.to_auth_cache.clear()
        h.auth_cache_up = True
        h.core.auth.resend()
        assert h.sent() == [[3, "m1", {"status": "Accepted"}]]

    def test_send_local_list_without_cache_gets_internal_error(self, h):
        import json
        h.auth_cache_up = False
        h.session.receive_text(json.dumps([2, "m1", "GetLocalListVersion", {}]), h.now)
        h.advance(11)
        [frame] = h.sent()
        assert frame[0] == 4 and frame[1] == "m1" and frame[2] == "InternalError"


class TestListAndCacheRequests:
    """D01, D02, C11 through the session."""

    def test_send_local_list_and_version(self, h):
        """TC_D_01/02/03/05/06."""
        assert h.csms_call("GetLocalListVersion", {})[0][2] == {"versionNumber": 0}
        assert send_list(h, "Full", 4, [entry(CARD)]) == {"status": "Accepted"}
        assert h.csms_call("GetLocalListVersion", {})[0][2] == {"versionNumber": 4}
        assert send_list(h, "Differential", 3, [entry(OTHER)]) == {"status": "VersionMismatch"}
        assert send_list(h, "Differential", 5, [entry(OTHER)]) == {"status": "Accepted"}
        assert send_list(h, "Differential", 6, [{"idToken": CARD}]) == {"status": "Accepted"}
        assert send_list(h, "Differential", 7, []) == {"status": "Accepted"}
        assert h.csms_call("GetLocalListVersion", {})[0][2] == {"versionNumber": 7}

    def test_entries_and_storage_are_reported(self, h):
        """D01.FR.12 LocalAuthListCtrlr.Entries; Storage of the list and the cache."""
        send_list(h, "Full", 1, [entry(CARD), entry(OTHER)])
        assert h.dm.get("LocalAuthListCtrlr", "Entries") == "2"
        assert int(h.dm.get("LocalAuthListCtrlr", "Storage")) == \
            h.auth_service.auth.repo.list_bytes > 0
        ask(h, {"idToken": "X", "type": "ISO14443"})
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted"}})
        answers(h)
        assert int(h.dm.get("AuthCacheCtrlr", "Storage")) > 0

    def test_items_per_message_from_the_device_model(self, h):
        """D01.FR.11."""
        items = [entry({"idToken": f"T{i}", "type": "ISO14443"}) for i in range(101)]
        answer = send_list(h, "Full", 1, items)
        assert answer["status"] == "Failed"
        assert answer["statusInfo"]["reasonCode"] == "TooManyElements"

    def test_disabled_list(self, h):
        """D02.FR.03 (TC_D_10)."""
        send_list(h, "Full", 4, [entry(CARD)])
        setvar(h, "LocalAuthListCtrlr", "Enabled", "false")
        assert h.csms_call("GetLocalListVersion", {})[0][2] == {"versionNumber": 0}

    def test_clear_cache(self, h):
        """C11.FR.03/04 (TC_C_36/37)."""
        ask(h)
        h.answer(h.expect_call("Authorize"), {"idTokenInfo": {"status": "Accepted"}})
        answers(h)
        assert h.csms_call("ClearCache", {})[0][2] == {"status": "Accepted"}
        assert h.auth_service.auth.repo.cache_entries == 0
        setvar(h, "AuthCacheCtrlr", "Enabled", "false")
        assert h.csms_call("ClearCache", {})[0][2]["status"] == "Rejected"


class TestSettingsSnapshot:
    def test_values_and_storage_limits_come_from_the_device_model(self, h):
        setvar(h, "AuthCtrlr", "LocalPreAuthorize", "true")
        values = h.core.auth.settings()
        assert values["AuthCtrlr.LocalPreAuthorize"] == "true"
        assert values["LocalAuthListCtrlr.ItemsPerMessage"] == "100"
        assert values["LocalAuthListCtrlr.Entries.maxLimit"] == "100000"    # D01.FR.12
        assert values["AuthCacheCtrlr.Storage.maxLimit"] == "1048576"
        assert values["AuthCtrlr.AdditionalInfoItemsPerMessage"] == "10"


NOT_VALID_IN_THE_LIST = [{"status": "Invalid"}, {"status": "Blocked"},
                         {"status": "Accepted", "cacheExpiryDateTime": "2020-01-01T00:00:00Z"}]


class TestPresentedOffline:
    """C13.FR.02/05 (TC_C_22/23/24): a token presented off line is judged off line, also when
    the Evse's request reaches the session only after the reconnect (the Evse answers the
    operator first, so an operator's reconnect can overtake it); an answer that comes too late
    never becomes a start the Local Authorization List forbids."""

    @pytest.fixture
    def listed(self, h, request):
        setvar(h, "AuthCtrlr", "LocalPreAuthorize", "true")
        assert send_list(h, "Full", 1, [{"idToken": CARD, "idTokenInfo": request.param}]) == \
            {"status": "Accepted"}
        return request.param

    @pytest.mark.parametrize("listed", NOT_VALID_IN_THE_LIST, indirect=True)
    def test_presented_off_line_and_asked_after_the_reconnect_starts_nothing(self, h, listed):
        h.disconnect()
        h.now += 1
        presented = h.now
        h.now += 1
        h.connect()                                 # the operator's reconnect came first
        ask(h, asked_at=presented)
        assert "Authorize" not in csms_accepting_every_token(h)
        [answer] = answers(h)
        assert not answer.allowed and to_wire(answer.id_token_info) == listed

    @pytest.mark.parametrize("listed", NOT_VALID_IN_THE_LIST[:1], indirect=True)
    def test_presented_after_the_reconnect_is_on_line(self, h, listed):
        """C14.FR.03: on line, a listed token that is not valid is sent to the CSMS."""
        h.disconnect()
        h.now += 1
        h.connect()
        ask(h, asked_at=h.now)
        assert csms_accepting_every_token(h) == ["Authorize"]
        assert answers(h)[0].allowed

    @pytest.mark.parametrize("listed", NOT_VALID_IN_THE_LIST[:1], indirect=True)
    def test_off_line_check_the_auth_cache_answers_late_is_refused_after_a_reconnect(
            self, h, listed):
        """The 5 s fallback judges the check as it was asked: off line, so refused, not an
        Authorize on the new connection."""
        h.disconnect()
        h.auth_cache_up = False
        ask(h, asked_at=h.now)
        h.connect()
        h.advance(AUTH_CACHE_TIMEOUT_S)
        assert "Authorize" not in csms_accepting_every_token(h)
        [answer] = answers(h)
        assert not answer.allowed
        h.auth_cache_up = True                      # the late verdict changes nothing
        h.pump_auth_cache()
        assert answers(h) == []

    @pytest.mark.parametrize("variable", [("LocalAuthListCtrlr", "DisablePostAuthorize"),
                                          ("AuthCacheCtrlr", "DisablePostAuthorize"),
                                          ("AuthCtrlr", "DisableRemoteAuthorization")])
    def test_fallback_never_authorizes_when_an_entry_may_be_final(self, h, variable):
        """With DisablePostAuthorize (C14.FR.03, C12.FR.05) or DisableRemoteAuthorization a
        list or cache entry is final without the CSMS: the fallback cannot know the entry,
        so it refuses rather than let the CSMS start what the entry forbids."""
        setvar(h, *variable, "true")
        h.auth_cache_up = False
        ask(h)
        h.advance(AUTH_CACHE_TIMEOUT_S)
        assert "Authorize" not in csms_accepting_every_token(h)
        assert not answers(h)[0].allowed
