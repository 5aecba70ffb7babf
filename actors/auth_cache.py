"""The AuthCache actor: the I/O shell around :class:`blocks.authorization.Authorization`.

It owns the Authorization Cache and the Local Authorization List (libocpp's AUTH_CACHE,
AUTH_LIST and AUTH_LIST_VERSION in the core database) and answers the CsmsSession's requests
(``messages/auth.py``). Every request carries the device-model values and the station time it
is made under, so this actor keeps no settings of its own: a restart (by the Root) loses
nothing but requests in flight, which the CsmsSession sends again when the new Directory
arrives, or decides without the AuthCache after a deadline (``blocks/auth_routing.py``).
Every change is committed before the answer leaves.
"""
from __future__ import annotations

import logging
import os

from actors.base import ChildActor
from blocks.authorization import AuthSettings, Authorization, loggable
from messages.auth import (AuthCacheCleared, AuthCacheStatus, AuthStats, ClearAuthCache,
                           CsmsTokenAnswer, GetAuthCacheStatus, GetListVersion, ListVersion,
                           LocalListUpdated, TokenInfoSeen, TokenVerdict, UpdateLocalList,
                           ValidateToken)
from messages.ocpp201 import IdTokenType
from storage import lite
from storage.auth_repo import AuthRepository

log = logging.getLogger(__name__)


class AuthService:
    """The AuthCache's work without Thespian: one request in, its answer (or None) out.
    Tests drive it in-process (``tests/unit/station_harness.py``)."""

    def __init__(self, repo: AuthRepository) -> None:
        self.auth = Authorization(repo)

    def handle(self, msg):
        handler = getattr(self, f"on_{type(msg).__name__}", None)
        if handler is None:
            raise TypeError(f"the AuthCache does not handle {type(msg).__name__}")
        return handler(msg)

    def stats(self) -> AuthStats:
        repo = self.auth.repo
        return AuthStats(list_entries=repo.list_entries, list_bytes=repo.list_bytes,
                         cache_entries=repo.cache_entries, cache_bytes=repo.cache_bytes)

    def _verdict(self, correlation_id: str, verdict, id_token: IdTokenType) -> TokenVerdict:
        if verdict.ask_csms:
            log.info("token %s: ask the CSMS", loggable(id_token))
            return TokenVerdict(correlation_id=correlation_id, ask_csms=True)
        log.info("token %s: %s from %s%s", loggable(id_token),
                 verdict.id_token_info.status.value, verdict.source,
                 "" if verdict.allowed else " (may not charge here)")
        return TokenVerdict(correlation_id=correlation_id, id_token_info=verdict.id_token_info,
                            allowed=verdict.allowed, master_pass=verdict.master_pass,
                            source=verdict.source, stats=self.stats())

    def on_ValidateToken(self, msg: ValidateToken) -> TokenVerdict:
        verdict = self.auth.validate(msg.id_token, msg.evse_id, online=msg.online,
                                     settings=AuthSettings.from_values(msg.settings),
                                     now=msg.now, remote_start=msg.remote_start)
        return self._verdict(msg.correlation_id, verdict, msg.id_token)

    def on_CsmsTokenAnswer(self, msg: CsmsTokenAnswer) -> TokenVerdict:
        verdict = self.auth.csms_answered(msg.id_token, msg.evse_id, msg.id_token_info,
                                          online=True,
                                          settings=AuthSettings.from_values(msg.settings),
                                          now=msg.now, remote_start=msg.remote_start)
        return self._verdict(msg.correlation_id, verdict, msg.id_token)

    def on_TokenInfoSeen(self, msg: TokenInfoSeen) -> None:
        self.auth.token_info_received(msg.id_token, msg.id_token_info,
                                      settings=AuthSettings.from_values(msg.settings),
                                      now=msg.now)
        return None

    def on_UpdateLocalList(self, msg: UpdateLocalList) -> LocalListUpdated:
        request = msg.request
        response = self.auth.send_local_list(request, AuthSettings.from_values(msg.settings),
                                             frame_bytes=msg.frame_bytes)
        log.info("SendLocalList %s version %s with %d entries: %s",
                 request.update_type.value, request.version_number,
                 len(request.local_authorization_list or ()), response.status.value)
        return LocalListUpdated(correlation_id=msg.correlation_id, response=response,
                                stats=self.stats())

    def on_GetListVersion(self, msg: GetListVersion) -> ListVersion:
        version = self.auth.local_list_version(AuthSettings.from_values(msg.settings))
        return ListVersion(correlation_id=msg.correlation_id, version_number=version,
                           stats=self.stats())

    def on_GetAuthCacheStatus(self, msg: GetAuthCacheStatus) -> AuthCacheStatus:
        return AuthCacheStatus(pid=os.getpid(), list_version=self.auth.repo.list_version(),
                               stats=self.stats())

    def on_ClearAuthCache(self, msg: ClearAuthCache) -> AuthCacheCleared:
        response = self.auth.clear_cache(AuthSettings.from_values(msg.settings))
        return AuthCacheCleared(correlation_id=msg.correlation_id, response=response,
                                stats=self.stats())


class AuthCache(ChildActor):
    role = "auth_cache"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.service: AuthService | None = None

    def configure(self, msg) -> None:
        cfg = self.config
        repo = AuthRepository(lite.connect(cfg.core_db_path, cfg.core_migrations_dir))
        self.service = AuthService(repo)
        log.info("auth cache: %d list entries (version %d), %d cached tokens",
                 repo.list_entries, repo.list_version(), repo.cache_entries)

    def _handle(self, msg, sender):
        answer = self.service.handle(msg)
        if answer is not None:
            self.send(sender, answer)

    receiveMsg_ValidateToken = _handle
    receiveMsg_CsmsTokenAnswer = _handle
    receiveMsg_TokenInfoSeen = _handle
    receiveMsg_UpdateLocalList = _handle
    receiveMsg_GetListVersion = _handle
    receiveMsg_ClearAuthCache = _handle
    receiveMsg_GetAuthCacheStatus = _handle
