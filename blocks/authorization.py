"""Functional blocks C and D as plain logic: who may charge, and the Local Authorization List.

Theory of operation
-------------------
:class:`Authorization` runs in the AuthCache actor (``actors/auth_cache.py``) over its own
:class:`~storage.auth_repo.AuthRepository`; it knows nothing of sockets or actors. The device
model has one writer, the CsmsSession, so every request carries the :class:`AuthSettings` it
was made under (a snapshot of AuthCtrlr, AuthCacheCtrlr and LocalAuthListCtrlr).

Validating a token (:meth:`Authorization.validate`) gives a :class:`Verdict`: either final (an
IdTokenInfo and whether the token may charge *at this EVSE*) or "ask the CSMS", in which case
the CsmsSession sends Authorize and hands the answer (or its failure) to
:meth:`Authorization.csms_answered`. The order:

1. AuthCtrlr.Enabled false: nothing is checked, the token is Accepted.
2. Tokens nobody can check: NoAuthorization (C02) is Accepted; a Central token in a remote start
   is Accepted without Authorize (C03.FR.01, C05.FR.01). Neither is ever cached (C02.FR.03,
   C03.FR.02, C05.FR.02).
3. The Local Authorization List (LocalAuthListCtrlr.Enabled), before the cache (C13.FR.01,
   C14.FR.01); then the Authorization Cache (AuthCacheCtrlr.Enabled, C10.FR.11).
   An entry counts as *valid* when its status is Accepted, its cacheExpiryDateTime has not
   passed (C14.FR.04/05 when LocalAuthListCtrlr.SupportsExpiryDateTime; C10.FR.08/13 in the
   cache, where an expired entry is changed to Expired, C10.FR.10).

   * valid, online: with AuthCtrlr.LocalPreAuthorize the token is authorized locally (C12.FR.02,
     C14.FR.02); without it the CSMS is asked (C01.FR.05);
   * valid, offline: authorized with AuthCtrlr.LocalAuthorizeOffline (C13.FR.02, C12);
   * not valid, online: the CSMS is asked (C10.FR.03, C12.FR.05, C14.FR.03/05) unless
     DisablePostAuthorize (of the list or of the cache) or DisableRemoteAuthorization says no:
     then the stored info is the answer;
   * not valid, offline: refused (C13.FR.02/04: only Accepted entries authorize offline).
4. Unknown: online, Authorize (C01.FR.02) unless DisableRemoteAuthorization (then refused);
   offline, Accepted only with OfflineTxForUnknownIdEnabled (C15.FR.08), and not cached
   (C15.FR.01); the TransactionEventResponse later tells (C15.FR.02-07, block E's E05).

An Authorize that failed (offline, timeout, CALLERROR) is decided by the offline rules. The
CSMS's answer updates the cache (C10.FR.04, C12.FR.06) as does every idTokenInfo of a
TransactionEventResponse (:meth:`Authorization.token_info_received`, C10.FR.05).

After that, two station rules turn an Accepted token into one that may not charge here:
an evseId list without this EVSE (C01.FR.21), and the Master Pass group (C12.FR.09, C16.FR.03;
the verdict says ``master_pass`` so the session can stop transactions, C16.FR.02).

The cache is bounded by AuthCacheCtrlr.Storage's maxLimit (bytes). A new entry that does not
fit evicts (C10.FR.07, Policy LRU): expired entries first, then entries that are not Accepted,
then Accepted ones, each least recently used first (the order C10.FR.07's note suggests).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from device_model.values import parse_bool as _bool, parse_number
from messages.ocpp201 import (AuthorizationStatusEnumType, ClearCacheResponse,
                              ClearCacheStatusEnumType, IdTokenEnumType, IdTokenInfoType,
                              IdTokenType, SendLocalListRequest, SendLocalListResponse,
                              SendLocalListStatusEnumType, StatusInfoType, UpdateEnumType)
from station.clock import parse_ocpp_time
from storage.auth_repo import AuthRepository, token_hash

log = logging.getLogger(__name__)

ACCEPTED = AuthorizationStatusEnumType.accepted
UNCACHED_TYPES = frozenset({IdTokenEnumType.no_authorization, IdTokenEnumType.central})
# The station's own answers, built once: models are frozen, so verdicts can share them.
ACCEPTED_INFO = IdTokenInfoType(status=AuthorizationStatusEnumType.accepted)
UNKNOWN_INFO = IdTokenInfoType(status=AuthorizationStatusEnumType.unknown)

# Device-model values the AuthCache works with, as "Component.Variable" (Actual) or
# "Component.Variable.maxLimit" (the variable's characteristic).
AUTH_SETTINGS_KEYS: tuple[str, ...] = (
    "AuthCtrlr.Enabled", "AuthCtrlr.LocalPreAuthorize", "AuthCtrlr.LocalAuthorizeOffline",
    "AuthCtrlr.DisableRemoteAuthorization", "AuthCtrlr.OfflineTxForUnknownIdEnabled",
    "AuthCtrlr.MasterPassGroupId", "AuthCtrlr.AdditionalInfoItemsPerMessage",
    "AuthCacheCtrlr.Available", "AuthCacheCtrlr.Enabled", "AuthCacheCtrlr.LifeTime",
    "AuthCacheCtrlr.Policy", "AuthCacheCtrlr.DisablePostAuthorize",
    "AuthCacheCtrlr.Storage.maxLimit",
    "LocalAuthListCtrlr.Available", "LocalAuthListCtrlr.Enabled",
    "LocalAuthListCtrlr.ItemsPerMessage", "LocalAuthListCtrlr.BytesPerMessage",
    "LocalAuthListCtrlr.DisablePostAuthorize", "LocalAuthListCtrlr.SupportsExpiryDateTime",
    "LocalAuthListCtrlr.Entries.maxLimit", "LocalAuthListCtrlr.Storage.maxLimit",
)


def _int(value: str | None, default: int | None) -> int | None:
    number = parse_number(value, None)
    return int(number) if number is not None else default


@dataclass(frozen=True)
class AuthSettings:
    """AuthCtrlr, AuthCacheCtrlr and LocalAuthListCtrlr as the AuthCache uses them.

    Defaults are the shipped component_config's. ``None`` limits mean "no limit".
    """

    enabled: bool = True
    local_pre_authorize: bool = False
    local_authorize_offline: bool = True
    disable_remote_authorization: bool = False
    offline_tx_for_unknown_id: bool = False
    master_pass_group_id: str | None = None
    additional_info_items: int | None = 10
    cache_enabled: bool = True
    cache_lifetime_s: int | None = 86400
    cache_policy: str = "LRU"
    cache_disable_post_authorize: bool = False
    cache_max_bytes: int | None = 1048576
    list_enabled: bool = True
    list_items_per_message: int | None = 100
    list_bytes_per_message: int | None = 65536
    list_disable_post_authorize: bool = False
    list_supports_expiry: bool = True
    list_max_entries: int | None = 100000
    list_max_bytes: int | None = 33554432

    @classmethod
    def from_values(cls, values: Mapping[str, str | None]) -> "AuthSettings":
        """From device-model strings keyed as :data:`AUTH_SETTINGS_KEYS`; a missing or
        unparsable value keeps the default."""
        d = cls()
        g = values.get
        lifetime = _int(g("AuthCacheCtrlr.LifeTime"), d.cache_lifetime_s)
        return cls(
            enabled=_bool(g("AuthCtrlr.Enabled"), d.enabled),
            local_pre_authorize=_bool(g("AuthCtrlr.LocalPreAuthorize"), d.local_pre_authorize),
            local_authorize_offline=_bool(g("AuthCtrlr.LocalAuthorizeOffline"),
                                          d.local_authorize_offline),
            disable_remote_authorization=_bool(g("AuthCtrlr.DisableRemoteAuthorization"),
                                               d.disable_remote_authorization),
            offline_tx_for_unknown_id=_bool(g("AuthCtrlr.OfflineTxForUnknownIdEnabled"),
                                            d.offline_tx_for_unknown_id),
            master_pass_group_id=g("AuthCtrlr.MasterPassGroupId") or None,
            additional_info_items=_int(g("AuthCtrlr.AdditionalInfoItemsPerMessage"),
                                       d.additional_info_items),
            cache_enabled=_bool(g("AuthCacheCtrlr.Available"), True)
            and _bool(g("AuthCacheCtrlr.Enabled"), d.cache_enabled),
            # 0 would make every entry expire at once; libocpp reads it as "no lifetime" too.
            cache_lifetime_s=lifetime if lifetime and lifetime > 0 else None,
            cache_policy=g("AuthCacheCtrlr.Policy") or d.cache_policy,
            cache_disable_post_authorize=_bool(g("AuthCacheCtrlr.DisablePostAuthorize"),
                                               d.cache_disable_post_authorize),
            cache_max_bytes=_int(g("AuthCacheCtrlr.Storage.maxLimit"), d.cache_max_bytes),
            list_enabled=_bool(g("LocalAuthListCtrlr.Available"), True)
            and _bool(g("LocalAuthListCtrlr.Enabled"), d.list_enabled),
            list_items_per_message=_int(g("LocalAuthListCtrlr.ItemsPerMessage"),
                                        d.list_items_per_message),
            list_bytes_per_message=_int(g("LocalAuthListCtrlr.BytesPerMessage"),
                                        d.list_bytes_per_message),
            list_disable_post_authorize=_bool(g("LocalAuthListCtrlr.DisablePostAuthorize"),
                                              d.list_disable_post_authorize),
            list_supports_expiry=_bool(g("LocalAuthListCtrlr.SupportsExpiryDateTime"),
                                       d.list_supports_expiry),
            list_max_entries=_int(g("LocalAuthListCtrlr.Entries.maxLimit"), d.list_max_entries),
            list_max_bytes=_int(g("LocalAuthListCtrlr.Storage.maxLimit"), d.list_max_bytes),
        )


@dataclass(frozen=True)
class Verdict:
    """What :meth:`Authorization.validate` decided.

    Attributes:
        id_token_info: the IdTokenInfoType to act on; None: ask the CSMS.
        allowed: the token may authorize a transaction at the EVSE asked about.
        source: where the answer came from: "list", "cache", "csms", "offline", "rule".
        master_pass: an Accepted token of AuthCtrlr.MasterPassGroupId (C16).
    """

    id_token_info: IdTokenInfoType | None
    allowed: bool = False
    source: str = "rule"
    master_pass: bool = False

    @property
    def ask_csms(self) -> bool:
        return self.id_token_info is None


ASK_CSMS = Verdict(None)


def loggable(id_token: IdTokenType) -> str:
    """A token for log lines: KeyCode tokens never appear in logs (C04.FR.04)."""
    if id_token.type == IdTokenEnumType.key_code:
        return "KeyCode:***"
    return f"{id_token.type.value}:{id_token.id_token}"


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _expiry_ms(info: IdTokenInfoType) -> int | None:
    text = info.cache_expiry_date_time
    if not text:
        return None
    try:
        return _ms(parse_ocpp_time(text))
    except ValueError:
        return None


class Authorization:
    """Token validation, the cache and the local list; see the module docstring."""

    def __init__(self, repo: AuthRepository) -> None:
        self.repo = repo

    # -- validation (C01, C10-C16) -----------------------------------------------------------

    def validate(self, id_token: IdTokenType, evse_id: int | None, *, online: bool,
                 settings: AuthSettings, now: datetime, remote_start: bool = False) -> Verdict:
        """Decide on ``id_token`` presented at ``evse_id`` (None: a reader of the whole station).

        ``online``: connected and registration Accepted, so Authorize may be sent.
        Returns a final verdict or :data:`ASK_CSMS`; after asking, call :meth:`csms_answered`.
        """
        if not settings.enabled:
            return Verdict(ACCEPTED_INFO, True)                     # AuthCtrlr.Enabled false
        token_type = id_token.type
        if token_type == IdTokenEnumType.no_authorization:          # C02.FR.01/02
            return Verdict(ACCEPTED_INFO, True)
        if token_type == IdTokenEnumType.central and remote_start:  # C03.FR.01, C05.FR.01
            return Verdict(ACCEPTED_INFO, True)
        key = token_hash(id_token)
        now_ms = _ms(now)
        known = self._lookup(key, settings, now_ms)
        if known is not None:
            info, valid, source, post_authorize = known
            if valid:
                if online and not settings.local_pre_authorize \
                        and not settings.disable_remote_authorization:
                    return ASK_CSMS                                 # C01.FR.05
                if not online and not settings.local_authorize_offline:
                    return self._final(info, evse_id, settings, "offline", allowed_status=False)
                if source == "cache":
                    self.repo.cache_touch(key, now_ms)              # LRU; C10.FR.08 "last used"
                return self._final(info, evse_id, settings, source)   # C12.FR.02, C13, C14.FR.02
            if online and post_authorize and not settings.disable_remote_authorization:
                return ASK_CSMS                        # C10.FR.03, C12.FR.05, C14.FR.03/05
            return self._final(info, evse_id, settings, source, allowed_status=False)
        if online and not settings.disable_remote_authorization:
            return ASK_CSMS                                         # C01.FR.02
        return self._offline_unknown(evse_id, settings, online)

    def csms_answered(self, id_token: IdTokenType, evse_id: int | None,
                      id_token_info: IdTokenInfoType | None, *,
                      online: bool, settings: AuthSettings, now: datetime,
                      remote_start: bool = False) -> Verdict:
        """The CSMS's AuthorizeResponse.idTokenInfo, or None when Authorize failed."""
        if id_token_info is None:
            # No answer: decide as offline, from what the station knows (C12, C13, C15).
            return self.validate(id_token, evse_id, online=False, settings=settings, now=now,
                                 remote_start=remote_start)
        self._store_in_cache(id_token, id_token_info, settings, now)  # C10.FR.04, C12.FR.06
        return self._final(id_token_info, evse_id, settings, "csms")

    def token_info_received(self, id_token: IdTokenType, id_token_info: IdTokenInfoType, *,
                            settings: AuthSettings, now: datetime) -> None:
        """idTokenInfo from a TransactionEventResponse (C10.FR.05, C12.FR.06)."""
        self._store_in_cache(id_token, id_token_info, settings, now)

    def _lookup(self, key: str, settings: AuthSettings,
                now_ms: int) -> tuple[IdTokenInfoType, bool, str, bool] | None:
        """(info, valid, source, may post-authorize) from the list, else the cache."""
        if settings.list_enabled:
            info = self.repo.list_get(key)
            if info is not None:                                    # C13.FR.01, C14.FR.01
                expiry = _expiry_ms(info) if settings.list_supports_expiry else None
                expired = expiry is not None and expiry <= now_ms   # C14.FR.04/05
                valid = info.status == ACCEPTED and not expired
                return info, valid, "list", not settings.list_disable_post_authorize
        if settings.cache_enabled:
            entry = self.repo.cache_get(key)
            if entry is not None:
                info = entry.info
                if info.status == ACCEPTED and self._cache_expired(entry, settings, now_ms):
                    info = info.model_copy(                          # C10.FR.10
                        update={"status": AuthorizationStatusEnumType.expired})
                    self.repo.cache_put(key, info, entry.last_used_ms, entry.expiry_ms)
                valid = info.status == ACCEPTED
                return info, valid, "cache", not settings.cache_disable_post_authorize
        return None

    @staticmethod
    def _cache_expired(entry, settings: AuthSettings, now_ms: int) -> bool:
        if entry.expiry_ms is not None:
            return entry.expiry_ms <= now_ms                        # C10.FR.13
        if settings.cache_lifetime_s is None:
            return False
        return entry.last_used_ms + settings.cache_lifetime_s * 1000 <= now_ms   # C10.FR.08

    def _offline_unknown(self, evse_id: int | None, settings: AuthSettings,
                         online: bool) -> Verdict:
        if not online and settings.offline_tx_for_unknown_id:
            # C15.FR.08; not cached (C15.FR.01): the TransactionEventResponse decides later.
            return Verdict(ACCEPTED_INFO, True, "offline")
        return Verdict(UNKNOWN_INFO, False, "offline" if not online else "rule")

    def _final(self, info: IdTokenInfoType, evse_id: int | None, settings: AuthSettings,
               source: str, *, allowed_status: bool = True) -> Verdict:
        accepted = info.status == ACCEPTED and allowed_status
        group = info.group_id_token.id_token if info.group_id_token is not None else None
        master_pass = bool(accepted and settings.master_pass_group_id
                           and group == settings.master_pass_group_id)
        allowed = accepted and not master_pass                      # C12.FR.09, C16.FR.03
        evses = info.evse_id or ()
        if allowed and evses and evse_id is not None and evse_id not in evses:
            allowed = False                                         # C01.FR.21
        return Verdict(info, allowed, source, master_pass)

    # -- the cache (C10, C11) ----------------------------------------------------------------

    def _store_in_cache(self, id_token: IdTokenType, info: IdTokenInfoType,
                        settings: AuthSettings, now: datetime) -> None:
        if not settings.cache_enabled or id_token.type in UNCACHED_TYPES:
            return                                  # C10.FR.11; C02.FR.03, C03.FR.02, C05.FR.02
        # personalMessage is for the moment the token is shown, not for later.
        stored = info if info.personal_message is None else info.model_copy(
            update={"personal_message": None})
        key = token_hash(id_token)
        size = len(key) + len(AuthRepository.encode(stored))
        if settings.cache_max_bytes is not None:
            if size > settings.cache_max_bytes:
                log.warning("idTokenInfo of %d bytes does not fit the cache", size)
                return
            self._make_room(key, size, settings, _ms(now))
        self.repo.cache_put(key, stored, _ms(now), _expiry_ms(stored))

    def _make_room(self, key: str, size: int, settings: AuthSettings, now_ms: int) -> None:
        """C10.FR.07: evict until ``size`` more bytes fit under AuthCacheCtrlr.Storage."""
        limit = settings.cache_max_bytes
        rows = [r for r in self.repo.cache_rows_for_eviction() if r[0] != key]
        used = sum(r[4] for r in rows)
        if used + size <= limit:
            return

        def rank(row) -> tuple[int, int]:
            _, status, last_used, expiry, _ = row
            entry_expired = (expiry is not None and expiry <= now_ms) or (
                expiry is None and settings.cache_lifetime_s is not None
                and last_used + settings.cache_lifetime_s * 1000 <= now_ms)
            tier = 0 if entry_expired else 1 if status != ACCEPTED else 2
            return tier, last_used                                  # Policy LRU
        victims = []
        for row in sorted(rows, key=rank):
            if used + size <= limit:
                break
            victims.append(row[0])
            used -= row[4]
        self.repo.cache_delete(victims)

    def clear_cache(self, settings: AuthSettings) -> ClearCacheResponse:
        """ClearCacheResponse (C11)."""
        if not settings.cache_enabled:
            return ClearCacheResponse(status=ClearCacheStatusEnumType.rejected,  # C11.FR.04
                                      status_info=StatusInfoType(reason_code="NotEnabled"))
        self.repo.cache_clear()                                     # C11.FR.03
        return ClearCacheResponse(status=ClearCacheStatusEnumType.accepted)

    # -- the local list (D01, D02) -----------------------------------------------------------

    def local_list_version(self, settings: AuthSettings) -> int:
        """GetLocalListVersionResponse.versionNumber (D02.FR.01-03)."""
        return self.repo.list_version() if settings.list_enabled else 0

    def send_local_list(self, request: SendLocalListRequest, settings: AuthSettings, *,
                        frame_bytes: int | None = None) -> SendLocalListResponse:
        """SendLocalListResponse for a SendLocalListRequest (D01).

        ``frame_bytes``: the size of the request's frame, checked against
        LocalAuthListCtrlr.BytesPerMessage (D01.FR.11).
        """
        def failed(reason: str, text: str) -> SendLocalListResponse:
            return SendLocalListResponse(
                status=SendLocalListStatusEnumType.failed,
                status_info=StatusInfoType(reason_code=reason, additional_info=text))

        if not settings.list_enabled:
            return failed("NotEnabled", "the Local Authorization List is disabled")
        version = request.version_number
        items = request.local_authorization_list or ()
        full = request.update_type == UpdateEnumType.full
        if version <= 0:                                            # D01.FR.18
            return failed("ValuePositiveOnly", "versionNumber must be greater than 0")
        if settings.list_items_per_message is not None \
                and len(items) > settings.list_items_per_message:  # D01.FR.11
            return failed("TooManyElements",
                          f"more than {settings.list_items_per_message} entries")
        if frame_bytes is not None and settings.list_bytes_per_message is not None \
                and frame_bytes > settings.list_bytes_per_message:  # D01.FR.11
            return failed("TooLargeElement",
                          f"more than {settings.list_bytes_per_message} bytes")
        if not full and version <= self.repo.list_version():
            return SendLocalListResponse(                           # D01.FR.19
                status=SendLocalListStatusEnumType.version_mismatch)
        # (hash, stored text or None to delete): encoded once, for the limits and the rows.
        changes: list[tuple[str, str | None]] = []
        seen: set[str] = set()
        for item in items:
            key = token_hash(item.id_token)
            if key in seen:                                         # D01.FR.06
                return failed("InvalidValue", "an idToken appears twice")
            seen.add(key)
            extra = item.id_token.additional_info or ()
            if settings.additional_info_items is not None \
                    and len(extra) > settings.additional_info_items:
                return failed("TooManyElements", "more additionalInfo than "
                              "AuthCtrlr.AdditionalInfoItemsPerMessage")
            info = item.id_token_info
            if full and info is None:
                return failed("MissingParam", "a Full list needs idTokenInfo for every entry")
            changes.append((key, None if info is None else AuthRepository.encode(info)))
        if full:
            entries = len(changes)
            size = sum(len(k) + len(text) for k, text in changes)
        else:
            entries, size = self.repo.list_sizes_after(changes)
        if settings.list_max_entries is not None and entries > settings.list_max_entries:
            return failed("OutOfStorage", f"the list would hold {entries} entries")
        if settings.list_max_bytes is not None and size > settings.list_max_bytes:
            return failed("OutOfStorage", f"the list would use {size} bytes")
        if full:
            self.repo.replace_list(version, changes)                # D01.FR.04/15
        else:
            self.repo.update_list(version, changes, (entries, size))  # D01.FR.05/16/17
        return SendLocalListResponse(status=SendLocalListStatusEnumType.accepted)
