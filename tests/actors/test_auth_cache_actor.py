"""The AuthCache and Display actors on simpleSystemBase (blocks C, D; C10.FR.02, D01.FR.10).

Each actor is created alone and configured like the Root does; the test plays the CsmsSession
with ``ask``. A second AuthCache on the same database stands for the one the Root creates
after a crash: what the first committed is there.
"""
from __future__ import annotations

from datetime import datetime, timezone

from thespian.actors import ActorExitRequest

from actors.auth_cache import AuthCache
from actors.display import Display
from blocks.authorization import AUTH_SETTINGS_KEYS
from messages.auth import (AuthCacheCleared, ClearAuthCache, CsmsTokenAnswer, Displayed,
                           GetDisplayed, GetListVersion, ListVersion, LocalListUpdated,
                           ShowMessage, TokenInfoSeen, TokenVerdict, UpdateLocalList,
                           ValidateToken)
from messages.ocpp201 import (IdTokenEnumType, IdTokenInfoType, IdTokenType,
                              MessageContentType, SendLocalListRequest, to_wire)
from messages.supervision import ChildReady, Configure

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
CARD = IdTokenType(id_token="CARD-1", type=IdTokenEnumType.iso14443)
SETTINGS = {key: None for key in AUTH_SETTINGS_KEYS} | {"AuthCtrlr.LocalPreAuthorize": "true"}
TIMEOUT = 5


def start(asys, config, cls=AuthCache, role="auth_cache"):
    actor = asys.createActor(cls)
    ready = asys.ask(actor, Configure(role=role, config=config), TIMEOUT)
    assert isinstance(ready, ChildReady)
    return actor


def validate(asys, actor, online=True, correlation_id="v1", token=CARD) -> TokenVerdict:
    return asys.ask(actor, ValidateToken(correlation_id=correlation_id, id_token=token,
                                         evse_id=1, online=online, settings=SETTINGS, now=T0),
                    TIMEOUT)


class TestFuncAuthCache:
    def test_unknown_then_csms_answer_then_cached(self, asys, station_config):
        actor = start(asys, station_config(1))
        first = validate(asys, actor)
        assert first.correlation_id == "v1" and first.ask_csms
        final = asys.ask(actor, CsmsTokenAnswer(correlation_id="v1", id_token=CARD, evse_id=1,
                                                id_token_info=IdTokenInfoType(status="Accepted"),
                                                settings=SETTINGS, now=T0), TIMEOUT)
        assert not final.ask_csms and final.allowed and final.source == "csms"
        assert final.stats.cache_entries == 1
        again = validate(asys, actor, correlation_id="v2")
        assert again.allowed and again.source == "cache"                  # C12.FR.02

    def test_list_and_cache_survive_a_new_actor(self, asys, station_config):
        """C10.FR.02, D01.FR.10: what a crashed AuthCache committed, its successor has."""
        config = station_config(1)
        actor = start(asys, config)
        answer = asys.ask(actor, UpdateLocalList(
            correlation_id="l1", settings=SETTINGS, request=SendLocalListRequest.model_validate({
                "updateType": "Full", "versionNumber": 9,
                "localAuthorizationList": [{"idToken": CARD,
                                            "idTokenInfo": {"status": "Accepted"}}]})), TIMEOUT)
        assert isinstance(answer, LocalListUpdated) and to_wire(answer.response) == {
            "status": "Accepted"}
        asys.tell(actor, TokenInfoSeen(id_token=IdTokenType(id_token="X", type="ISO14443"),
                                       id_token_info=IdTokenInfoType(status="Blocked"),
                                       settings=SETTINGS, now=T0))
        asys.tell(actor, ActorExitRequest())
        successor = start(asys, config)
        version = asys.ask(successor, GetListVersion(correlation_id="g", settings=SETTINGS),
                           TIMEOUT)
        assert isinstance(version, ListVersion) and version.version_number == 9
        assert version.stats.list_entries == 1 and version.stats.cache_entries == 1
        assert validate(asys, successor, online=False).allowed             # C13.FR.02
        cleared = asys.ask(successor, ClearAuthCache(correlation_id="c", settings=SETTINGS),
                           TIMEOUT)
        assert isinstance(cleared, AuthCacheCleared) and cleared.stats.cache_entries == 0


class TestFuncDisplay:
    def test_keeps_the_last_message_per_screen(self, asys, station_config):
        display = start(asys, station_config(1), Display, "display")
        def text(content):
            return MessageContentType(format="UTF8", content=content)

        asys.tell(display, ShowMessage(evse_id=1, message=text("a")))
        asys.tell(display, ShowMessage(evse_id=1, message=text("b")))
        asys.tell(display, ShowMessage(message=text("station")))
        shown = asys.ask(display, GetDisplayed(), TIMEOUT)
        assert isinstance(shown, Displayed)
        assert {k: v.content for k, v in shown.messages.items()} == {1: "b", 0: "station"}
