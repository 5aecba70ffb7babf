"""Blocks C and D on the CsmsSession's side: token checks and list/cache requests to the AuthCache.

Theory of operation
-------------------
The AuthCache actor (``actors/auth_cache.py``) decides; this block, in the CsmsSession, talks
to it and to the CSMS:

* **Token checks.** :meth:`AuthRouting.validate` sends ``ValidateToken`` with the device-model
  values (AUTH_SETTINGS_KEYS), the station time and whether the station was on line (connected
  and Accepted) *when the token was presented*: an Evse's request may reach the session only
  after a reconnect, and a token presented off line is an off-line token (C13.FR.02/05), which
  no Authorize sent after the reconnect may turn into a start. A ``TokenVerdict`` either is
  final, or says "ask the CSMS": then this block sends Authorize and hands the answer, or
  ``None`` when there was none (offline, CALLERROR, timeout), to the AuthCache
  (``CsmsTokenAnswer``), whose verdict is final. The caller's ``done`` gets the final
  :class:`Decision`.
* **SendLocalList, GetLocalListVersion, ClearCache** are deferred CALLs (``session.defer``)
  answered when the AuthCache answers. The handlers take the request models and their
  finishers build the response models (the session converts, ``station/session.py``).
* **TransactionEventResponse idTokenInfo** goes to the AuthCache (``TokenInfoSeen``,
  C10.FR.05); it needs no answer.
* **Figures.** Every answer carries the list's entries and bytes and the cache's bytes, which
  become LocalAuthListCtrlr.Entries/Storage and AuthCacheCtrlr.Storage (Actual).

The AuthCache may be down (the Root restarts it). No request is lost or left hanging: each
outstanding request is sent again when the Directory changes (:meth:`AuthRouting.resend`; the
AuthCache's answers are idempotent for the session, which takes the first), and a token check
that got no answer within :data:`AUTH_CACHE_TIMEOUT_S` is decided here without the cache: by
the CSMS's Authorize when the token was presented on line, the station is still on line and no
setting lets a list or cache entry be final without the CSMS (DisableRemoteAuthorization,
DisablePostAuthorize); else refused, since the list the AuthCache could not be asked about may
forbid the token. A CSMS answer already received is used as it is. A deferred CALL without
answer gets the session's own InternalError after its timeout (``station/session.py``).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

from blocks.authorization import AUTH_SETTINGS_KEYS, UNKNOWN_INFO, AuthSettings, loggable
from messages.auth import (AuthCacheCleared, AuthStats, ClearAuthCache, CsmsTokenAnswer,
                           GetListVersion, ListVersion, LocalListUpdated, TokenInfoSeen,
                           TokenVerdict, UpdateLocalList, ValidateToken)
from messages.ocpp201 import (AuthorizationStatusEnumType, AuthorizeRequest, ClearCacheRequest,
                              GetLocalListVersionRequest, GetLocalListVersionResponse,
                              IdTokenInfoType, IdTokenType, OcppModel, SendLocalListRequest,
                              to_wire)
from ports.device_model import DeviceModelReporter
from ports.outcome import Deferred
from ports.sending import SendPort, call_frame_size
from ports.session import (ActorOutbox, ConnectionEvents, Registration, RegistrationState,
                           Replies, Timers)

log = logging.getLogger(__name__)

AUTH_CACHE = ("auth_cache", None)
# How long a token check waits for the AuthCache before deciding without it. A driver at the
# reader is waiting, and a restart of the AuthCache takes well under a second.
AUTH_CACHE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Decision:
    """The final answer on a token: the IdTokenInfo and whether it may charge at that EVSE."""

    id_token_info: IdTokenInfoType
    allowed: bool
    master_pass: bool = False
    source: str = ""


@dataclass
class _Check:
    id_token: IdTokenType
    evse_id: int | None
    remote_start: bool
    done: Callable[[Decision], None]
    deadline: float
    message: Any                                   # what the AuthCache was last sent
    online: bool = True                            # on line when the token was presented
    csms_info: IdTokenInfoType | None = None       # the CSMS's answer, once asked
    asked_csms: bool = False


class AuthRoutingSession(Timers, Replies, RegistrationState, ConnectionEvents, ActorOutbox,
                         Protocol):
    """The session ports blocks C/D use."""


@dataclass
class AuthRouting:
    session: AuthRoutingSession
    device_model: DeviceModelReporter
    now: Callable[[], datetime]
    sender: SendPort
    _checks: dict[str, _Check] = field(default_factory=dict)
    # Deferred CALLs waiting for the AuthCache: correlation id -> (the request, until when).
    _requests: dict[str, tuple[Any, float]] = field(default_factory=dict)
    # Session time (time.monotonic() in the actor) since when the station is on line.
    _online_since: float | None = None

    def __post_init__(self) -> None:
        self.session.add_timer(self._next_deadline, self._expire)
        self.session.on_connected(lambda now, _offline: self._maybe_online(now))
        self.session.on_registration(
            lambda value, previous, now: self._maybe_online(now)
            if previous != Registration.ACCEPTED else None)

    # -- settings ---------------------------------------------------------------------------

    def settings(self) -> dict[str, str | None]:
        """The values the AuthCache works with, read now from the device model."""
        dm = self.device_model
        values: dict[str, str | None] = {}
        for key in AUTH_SETTINGS_KEYS:
            parts = key.split(".")
            if len(parts) == 3:
                limit = dm.characteristic(parts[0], parts[1], parts[2])
                values[key] = None if limit is None else str(limit)
            else:
                values[key] = dm.get(parts[0], parts[1])
        return values

    @property
    def online(self) -> bool:
        return self.session.is_connected and self.session.registration == Registration.ACCEPTED

    def _maybe_online(self, now: float) -> None:
        if self.online:
            self._online_since = now

    def online_at(self, asked_at: float | None) -> bool:
        """Whether the station was on line at session time ``asked_at`` (None: now).

        A time before the current on-line period counts as off line: it fell in the gap
        before it (or, for a request older than that gap, in a period this block no longer
        remembers; deciding it off line only ever withholds an Authorize)."""
        if not self.online:
            return False
        return asked_at is None or self._online_since is None or asked_at >= self._online_since

    # -- token checks -----------------------------------------------------------------------

    def validate(self, id_token: IdTokenType, evse_id: int | None,
                 done: Callable[[Decision], None], *, remote_start: bool = False,
                 asked_at: float | None = None) -> None:
        """Decide on ``id_token``; ``done`` is called once with the :class:`Decision`.

        ``asked_at``: the session time the token was presented (None: now); the check is on
        line only if the station was on line then (C13.FR.02/05)."""
        correlation_id = str(uuid.uuid4())
        online = self.online_at(asked_at)
        if online != self.online:
            log.info("token %s was presented off line, before the reconnect: off-line rules",
                     loggable(id_token))
        message = ValidateToken(correlation_id=correlation_id, id_token=id_token,
                                evse_id=evse_id, online=online, remote_start=remote_start,
                                settings=self.settings(), now=self.now())
        self._checks[correlation_id] = _Check(id_token, evse_id, remote_start, done,
                                              self.session.now + AUTH_CACHE_TIMEOUT_S, message,
                                              online=online)
        self.session.send_to_actor(AUTH_CACHE, message)

    def verdict(self, msg: TokenVerdict) -> None:
        """The AuthCache answered a ValidateToken or a CsmsTokenAnswer."""
        check = self._checks.get(msg.correlation_id)
        if check is None:
            return                                  # answered already (a re-sent request)
        self._stats(msg.stats)
        if msg.ask_csms:
            if not check.asked_csms:
                check.asked_csms = True
                self._ask_csms(msg.correlation_id, check)
            return
        del self._checks[msg.correlation_id]
        check.done(Decision(msg.id_token_info or UNKNOWN_INFO, msg.allowed,
                            msg.master_pass, msg.source))

    def _ask_csms(self, correlation_id: str, check: _Check) -> None:
        def answered(info: IdTokenInfoType | None) -> None:
            if correlation_id not in self._checks:
                return                              # decided without the AuthCache meanwhile
            check.csms_info = info
            check.message = CsmsTokenAnswer(
                correlation_id=correlation_id, id_token=check.id_token, evse_id=check.evse_id,
                id_token_info=info, remote_start=check.remote_start, settings=self.settings(),
                now=self.now())
            check.deadline = self.session.now + AUTH_CACHE_TIMEOUT_S
            self.session.send_to_actor(AUTH_CACHE, check.message)

        self._authorize(check, answered)

    def _authorize(self, check: _Check,
                   answered: Callable[[IdTokenInfoType | None], None]) -> None:
        """Send Authorize; ``answered`` gets its idTokenInfo, or None without an answer."""
        # The deadline waits for the CSMS too: MessageTimeout ends the Authorize first.
        check.deadline = float("inf")
        sent = self.sender.send(
            "Authorize", AuthorizeRequest(id_token=check.id_token),
            on_result=lambda response: answered(response.id_token_info),   # AuthorizeResponse
            on_error=lambda code, text: answered(None))
        if not sent:
            answered(None)

    @staticmethod
    def _csms_decision(check: _Check, info: IdTokenInfoType) -> Decision:
        """The CSMS's word as it is, when the AuthCache cannot be asked (C01.FR.21 kept)."""
        evses = info.evse_id or ()
        allowed = info.status == AuthorizationStatusEnumType.accepted and (
            not evses or check.evse_id is None or check.evse_id in evses)
        return Decision(info, allowed, source="csms")

    def _next_deadline(self) -> float | None:
        deadlines = [c.deadline for c in self._checks.values() if c.deadline != float("inf")]
        deadlines += [until for _, until in self._requests.values()]
        return min(deadlines) if deadlines else None

    def _expire(self) -> None:
        now = self.session.now
        for correlation_id, (_, until) in list(self._requests.items()):
            if until <= now:                # the session answered InternalError by now
                del self._requests[correlation_id]
        for correlation_id, check in list(self._checks.items()):
            if check.deadline > now:
                continue
            log.warning("the AuthCache did not answer on token %s in %.0f s; deciding without it",
                        loggable(check.id_token), AUTH_CACHE_TIMEOUT_S)
            if check.csms_info is not None:
                del self._checks[correlation_id]
                check.done(self._csms_decision(check, check.csms_info))
            elif check.online and self.online and not check.asked_csms \
                    and self._csms_may_decide_alone():
                check.asked_csms = True
                check.message = None                # nothing to re-send to the AuthCache now
                self._ask_csms_directly(correlation_id, check)
            else:
                del self._checks[correlation_id]
                check.done(Decision(UNKNOWN_INFO, False, source="fallback"))

    def _csms_may_decide_alone(self) -> bool:
        """Whether an Authorize can stand in for the AuthCache: only if no setting makes a
        list or cache entry final without the CSMS. Else an entry the AuthCache would have
        refused on (C14.FR.03 and C12.FR.05 disabled, C01 DisableRemoteAuthorization) could
        become a start the CSMS accepts."""
        s = AuthSettings.from_values(self.settings())
        return not (s.disable_remote_authorization
                    or s.list_enabled and s.list_disable_post_authorize
                    or s.cache_enabled and s.cache_disable_post_authorize)

    def _ask_csms_directly(self, correlation_id: str, check: _Check) -> None:
        def finish(info: IdTokenInfoType | None) -> None:
            if self._checks.pop(correlation_id, None) is not None:
                check.done(self._csms_decision(check, info or UNKNOWN_INFO))

        self._authorize(check, finish)

    def token_info_seen(self, id_token: IdTokenType | None,
                        id_token_info: IdTokenInfoType | None) -> None:
        """A TransactionEventResponse carried idTokenInfo for ``id_token`` (C10.FR.05)."""
        if id_token is None or id_token_info is None:
            return
        self.session.send_to_actor(AUTH_CACHE, TokenInfoSeen(
            id_token=id_token, id_token_info=id_token_info, settings=self.settings(),
            now=self.now()))

    def resend(self) -> None:
        """The Directory changed (the AuthCache may have restarted): send again what waits."""
        for check in self._checks.values():
            if check.message is not None and check.deadline != float("inf"):
                self.session.send_to_actor(AUTH_CACHE, check.message)
        for message, _ in self._requests.values():
            self.session.send_to_actor(AUTH_CACHE, message)

    # -- CSMS requests (C11, D01, D02) ------------------------------------------------------

    def _defer(self, message_id: str, action: str, message,
               finish: Callable[[Any], OcppModel]) -> Deferred:
        """Send ``message`` to the AuthCache; ``finish`` makes the response model of its
        answer."""
        deferred = self.session.defer(message.correlation_id, message_id, action, finish)
        self._requests[message.correlation_id] = (message,
                                                  self.session.now + deferred.timeout)
        self.session.send_to_actor(AUTH_CACHE, message)
        return deferred

    def on_send_local_list(self, message_id: str, request: SendLocalListRequest) -> Deferred:
        # The wire form has the length of the frame received: the same values, keys maybe
        # in another order (D01.FR.11 counts bytes).
        frame_bytes = call_frame_size(message_id, "SendLocalList", to_wire(request))
        return self._defer(message_id, "SendLocalList", UpdateLocalList(
            correlation_id=str(uuid.uuid4()), request=request, settings=self.settings(),
            frame_bytes=frame_bytes),
            lambda answer: answer.response)

    def on_get_local_list_version(self, message_id: str,
                                  request: GetLocalListVersionRequest) -> Deferred:
        return self._defer(message_id, "GetLocalListVersion", GetListVersion(
            correlation_id=str(uuid.uuid4()), settings=self.settings()),
            lambda answer: GetLocalListVersionResponse(version_number=answer.version_number))

    def on_clear_cache(self, message_id: str, request: ClearCacheRequest) -> Deferred:
        return self._defer(message_id, "ClearCache", ClearAuthCache(
            correlation_id=str(uuid.uuid4()), settings=self.settings()),
            lambda answer: answer.response)

    def answered(self, msg: LocalListUpdated | ListVersion | AuthCacheCleared) -> None:
        """The AuthCache answered a deferred CALL."""
        self._requests.pop(msg.correlation_id, None)
        self._stats(msg.stats)
        self.session.resolve_deferred(msg.correlation_id, msg, self.session.now)

    def _stats(self, stats: AuthStats | None) -> None:
        if stats is None:
            return
        dm = self.device_model
        dm.set_internal("LocalAuthListCtrlr", "Entries", str(stats.list_entries))
        dm.set_internal("LocalAuthListCtrlr", "Storage", str(stats.list_bytes))
        dm.set_internal("AuthCacheCtrlr", "Storage", str(stats.cache_bytes))
