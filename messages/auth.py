"""Messages between the CsmsSession and the AuthCache actor (blocks C and D), and to the Display.

Every request carries the AuthCtrlr/AuthCacheCtrlr/LocalAuthListCtrlr values it is made under
(``settings``, keys of ``blocks.authorization.AUTH_SETTINGS_KEYS``) and the station time
(``now``): the CsmsSession is the device model's only writer and owns the station clock, so
the AuthCache never reads stale values, also right after either actor restarted. Answers echo
``correlation_id`` and report the storage figures the session publishes as
LocalAuthListCtrlr.Entries/Storage and AuthCacheCtrlr.Storage.

Tokens, idTokenInfos, the SendLocalList request and the responses are the OCPP models
(``messages.ocpp201``); they pickle like the messages themselves (module-level classes,
``tests/unit/test_auth_messages.py``).
"""
from __future__ import annotations

from datetime import datetime

from messages.base import Msg
from messages.ocpp201 import (ClearCacheResponse, IdTokenInfoType, IdTokenType,
                              MessageContentType, SendLocalListRequest, SendLocalListResponse)


class AuthStats(Msg):
    list_entries: int
    list_bytes: int
    cache_entries: int
    cache_bytes: int


class ValidateToken(Msg):
    """May ``id_token`` charge at ``evse_id`` (None: a reader for the whole station)?
    Answered with TokenVerdict."""

    correlation_id: str
    id_token: IdTokenType
    evse_id: int | None = None
    online: bool                    # connected and Accepted: Authorize can be sent
    remote_start: bool = False      # RequestStartTransaction with AuthorizeRemoteStart (F01)
    settings: dict[str, str | None]
    now: datetime


class CsmsTokenAnswer(Msg):
    """What the CSMS said to the Authorize a TokenVerdict asked for (``id_token_info`` None:
    no answer: offline, timeout or CALLERROR). Answered with a final TokenVerdict."""

    correlation_id: str
    id_token: IdTokenType
    evse_id: int | None = None
    id_token_info: IdTokenInfoType | None = None
    remote_start: bool = False
    settings: dict[str, str | None]
    now: datetime


class TokenVerdict(Msg):
    """``ask_csms``: send Authorize and pass the outcome on with CsmsTokenAnswer. Otherwise
    final: ``id_token_info`` to act on, ``allowed`` whether it may charge at that EVSE."""

    correlation_id: str
    ask_csms: bool = False
    id_token_info: IdTokenInfoType | None = None
    allowed: bool = False
    master_pass: bool = False
    source: str = ""
    stats: AuthStats | None = None


class TokenInfoSeen(Msg):
    """idTokenInfo from a TransactionEventResponse for ``id_token`` (C10.FR.05); no answer."""

    id_token: IdTokenType
    id_token_info: IdTokenInfoType
    settings: dict[str, str | None]
    now: datetime


class UpdateLocalList(Msg):
    """A SendLocalListRequest; answered with LocalListUpdated."""

    correlation_id: str
    request: SendLocalListRequest
    frame_bytes: int | None = None      # the request's frame as received (D01.FR.11)
    settings: dict[str, str | None]


class LocalListUpdated(Msg):
    correlation_id: str
    response: SendLocalListResponse
    stats: AuthStats


class GetListVersion(Msg):
    """GetLocalListVersion; answered with ListVersion."""

    correlation_id: str
    settings: dict[str, str | None]


class ListVersion(Msg):
    correlation_id: str
    version_number: int
    stats: AuthStats


class ClearAuthCache(Msg):
    """ClearCache; answered with AuthCacheCleared."""

    correlation_id: str
    settings: dict[str, str | None]


class AuthCacheCleared(Msg):
    correlation_id: str
    response: ClearCacheResponse
    stats: AuthStats


class GetAuthCacheStatus(Msg):
    """Ask the AuthCache how it stands (tests, tools); answered with AuthCacheStatus."""


class AuthCacheStatus(Msg):
    pid: int
    list_version: int
    stats: AuthStats


# -- the Display ----------------------------------------------------------------------------------

class ShowMessage(Msg):
    """Show ``message`` to the driver at ``evse_id`` (None: the station's own display), e.g.
    idTokenInfo.personalMessage (C01)."""

    evse_id: int | None = None
    message: MessageContentType
    reason: str = ""


class GetDisplayed(Msg):
    """Ask the Display what it shows; answered with Displayed."""


class Displayed(Msg):
    # evse id (0: the station's own display) -> the last message shown there
    messages: dict[int, MessageContentType]
