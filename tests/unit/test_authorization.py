"""Blocks C and D as plain logic (blocks/authorization.py) over the real repository and tables."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from blocks.authorization import (AUTH_SETTINGS_KEYS, AuthSettings, Authorization, loggable)
from messages.ocpp201 import IdTokenInfoType, IdTokenType, SendLocalListRequest, to_wire
from storage import lite
from storage.auth_repo import AuthRepository, token_hash


def tok(id_token: str, type_: str = "ISO14443", **extra) -> IdTokenType:
    return IdTokenType.model_validate({"idToken": id_token, "type": type_, **extra})


def info(status: str = "Accepted", **fields) -> IdTokenInfoType:
    """An IdTokenInfoType from wire names."""
    return IdTokenInfoType.model_validate({"status": status, **fields})


MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "core"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
CARD = tok("CARD-1")
OTHER = tok("CARD-2")
ONLINE_PRE = AuthSettings(local_pre_authorize=True)


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "cp.db"


@pytest.fixture
def auth(db_path):
    return Authorization(AuthRepository(lite.connect(db_path, MIGRATIONS)))


def send(auth, update_type, version, items, settings=AuthSettings(), frame_bytes=None):
    """SendLocalList with ``items`` (wire names; tokens may be models); the response's wire
    dict. An empty ``items`` leaves the list out (the schema's minItems 1)."""
    payload = {"updateType": update_type, "versionNumber": version}
    if items:
        payload["localAuthorizationList"] = items
    return to_wire(auth.send_local_list(SendLocalListRequest.model_validate(payload), settings,
                                        frame_bytes=frame_bytes))


def entry(token, status="Accepted", **fields):
    return {"idToken": token, "idTokenInfo": {"status": status, **fields}}


def cache(auth, token, status="Accepted", now=T0, settings=AuthSettings(), **fields):
    auth.token_info_received(token, info(status, **fields), settings=settings, now=now)


class TestTokenHash:
    """The key is libocpp's generate_token_hash: sha256(type + idToken), lower-case hex."""

    def test_hash_is_sha256_of_type_then_token(self):
        assert token_hash(CARD) == hashlib.sha256(b"ISO14443CARD-1").hexdigest()

    def test_only_the_hash_is_stored(self, auth, db_path):
        """C10.FR.12: personal data stored as hashes only."""
        cache(auth, CARD)
        send(auth, "Full", 1, [entry(OTHER)])
        raw = db_path.read_bytes() + Path(str(db_path) + "-wal").read_bytes()
        assert b"CARD-1" not in raw and b"CARD-2" not in raw

    def test_rows_in_the_stored_form_of_before_load_and_count_the_same(self, auth, db_path):
        """The JSON a dict-based version wrote (wire names, sorted keys, compact) is read back
        into the model, and the model encodes to the same text, so Storage stays right."""
        wire = {"status": "Accepted", "evseId": [1, 2], "chargingPriority": 3,
                "cacheExpiryDateTime": "2026-01-02T00:00:00.000Z",
                "groupIdToken": {"type": "Central", "idToken": "G1"}}
        old_text = json.dumps(wire, separators=(",", ":"), sort_keys=True)
        db = lite.connect(db_path, MIGRATIONS)
        with db:
            db.execute("INSERT INTO AUTH_LIST (ID_TOKEN_HASH, ID_TOKEN_INFO) VALUES (?, ?)",
                       (token_hash(CARD), old_text))
        again = AuthRepository(lite.connect(db_path, MIGRATIONS))
        loaded = again.list_get(token_hash(CARD))
        assert isinstance(loaded, IdTokenInfoType) and to_wire(loaded) == wire
        assert AuthRepository.encode(loaded) == old_text
        assert again.list_bytes == len(token_hash(CARD)) + len(old_text)

    def test_a_lookup_builds_no_model_for_a_text_already_read(self, auth):
        """bench/local_list_100k.py: entries with the same idTokenInfo share one frozen
        model, so a token check in a large list costs no model construction."""
        send(auth, "Full", 1, [entry(CARD, groupIdToken={"idToken": "G", "type": "Central"}),
                               entry(OTHER, groupIdToken={"idToken": "G", "type": "Central"})])
        first = auth.repo.list_get(token_hash(CARD))
        assert auth.repo.list_get(token_hash(OTHER)) is first
        assert auth.validate(CARD, 1, online=False, settings=AuthSettings(),
                             now=T0).id_token_info is first

    def test_keycode_never_in_log_text(self):
        """C04.FR.04."""
        assert "1234" not in loggable(tok("1234", "KeyCode"))
        assert "CARD-1" in loggable(CARD)


class TestSettings:
    def test_every_key_is_read(self):
        values = {k: None for k in AUTH_SETTINGS_KEYS}
        assert AuthSettings.from_values(values) == AuthSettings()

    def test_values_override_defaults(self):
        s = AuthSettings.from_values({
            "AuthCtrlr.LocalPreAuthorize": "true", "AuthCtrlr.MasterPassGroupId": "MP",
            "AuthCacheCtrlr.LifeTime": "60", "AuthCacheCtrlr.Storage.maxLimit": "500",
            "LocalAuthListCtrlr.Enabled": "false", "AuthCacheCtrlr.Available": "false"})
        assert s.local_pre_authorize and s.master_pass_group_id == "MP"
        assert s.cache_lifetime_s == 60 and s.cache_max_bytes == 500
        assert not s.list_enabled and not s.cache_enabled

    def test_lifetime_zero_means_no_lifetime(self):
        assert AuthSettings.from_values({"AuthCacheCtrlr.LifeTime": "0"}).cache_lifetime_s is None


class TestUnknownToken:
    def test_online_asks_the_csms(self, auth):
        """C01.FR.02."""
        assert auth.validate(CARD, 1, online=True, settings=AuthSettings(), now=T0).ask_csms

    def test_online_with_remote_authorization_disabled_is_refused(self, auth):
        """AuthCtrlr.DisableRemoteAuthorization: no Authorize at all."""
        v = auth.validate(CARD, 1, online=True,
                          settings=AuthSettings(disable_remote_authorization=True), now=T0)
        assert not v.ask_csms and not v.allowed and v.id_token_info.status == "Unknown"

    def test_offline_refused_without_offline_tx_for_unknown_id(self, auth):
        """C13.FR.02."""
        v = auth.validate(CARD, 1, online=False, settings=AuthSettings(), now=T0)
        assert not v.allowed and v.id_token_info.status == "Unknown"

    def test_offline_accepted_with_offline_tx_for_unknown_id_and_not_cached(self, auth):
        """C15.FR.08, C15.FR.01, C13.FR.04."""
        s = AuthSettings(offline_tx_for_unknown_id=True)
        v = auth.validate(CARD, 1, online=False, settings=s, now=T0)
        assert v.allowed and to_wire(v.id_token_info) == {"status": "Accepted"}
        assert auth.repo.cache_get(token_hash(CARD)) is None

    def test_failed_authorize_falls_back_to_offline_rules(self, auth):
        s = AuthSettings(offline_tx_for_unknown_id=True)
        v = auth.csms_answered(CARD, 1, None, online=True, settings=s, now=T0)
        assert v.allowed and v.source == "offline"
        v = auth.csms_answered(CARD, 1, None, online=True, settings=AuthSettings(), now=T0)
        assert not v.allowed


class TestSpecialTokens:
    def test_auth_disabled_accepts_everything_without_asking(self, auth):
        """AuthCtrlr.Enabled false: no authorization is done."""
        v = auth.validate(CARD, 1, online=True, settings=AuthSettings(enabled=False), now=T0)
        assert v.allowed and not v.ask_csms

    def test_no_authorization_is_accepted_and_never_cached(self, auth):
        """C02.FR.01-03."""
        token = tok("", "NoAuthorization")
        assert auth.validate(token, 1, online=True, settings=AuthSettings(), now=T0).allowed
        cache(auth, token)
        assert auth.repo.cache_entries == 0

    def test_central_remote_start_needs_no_authorize_and_is_never_cached(self, auth):
        """C03.FR.01/02, C05.FR.01/02."""
        token = tok("X", "Central")
        v = auth.validate(token, 1, online=True, settings=AuthSettings(), now=T0,
                          remote_start=True)
        assert v.allowed and not v.ask_csms
        cache(auth, token)
        assert auth.repo.cache_entries == 0

    def test_central_presented_locally_is_checked(self, auth):
        token = tok("X", "Central")
        assert auth.validate(token, 1, online=True, settings=AuthSettings(), now=T0).ask_csms


class TestAuthorizationCache:
    """C10, C12."""

    def test_authorize_response_updates_the_cache(self, auth):
        """C10.FR.04, C10.FR.01 (regardless of status)."""
        v = auth.csms_answered(CARD, 1, info("Blocked"), online=True,
                               settings=AuthSettings(), now=T0)
        assert not v.allowed and v.source == "csms"
        assert to_wire(auth.repo.cache_get(token_hash(CARD)).info) == {"status": "Blocked"}

    def test_transaction_event_response_updates_the_cache(self, auth):
        """C10.FR.05."""
        cache(auth, CARD)
        auth.token_info_received(CARD, info("Invalid"), settings=AuthSettings(), now=T0)
        assert auth.repo.cache_get(token_hash(CARD)).info.status == "Invalid"

    def test_personal_message_is_not_cached(self, auth):
        cache(auth, CARD, personalMessage={"format": "ASCII", "content": "hi"})
        assert auth.repo.cache_get(token_hash(CARD)).info.personal_message is None

    def test_cache_disabled_stores_nothing_and_is_not_read(self, auth):
        """C10.FR.11."""
        off = AuthSettings(cache_enabled=False, local_pre_authorize=True)
        cache(auth, CARD, settings=off)
        assert auth.repo.cache_entries == 0
        cache(auth, CARD)
        assert auth.validate(CARD, 1, online=True, settings=off, now=T0).ask_csms

    def test_accepted_with_local_pre_authorize_starts_without_authorize(self, auth):
        """C12.FR.02, TC_C_08."""
        cache(auth, CARD)
        v = auth.validate(CARD, 1, online=True, settings=ONLINE_PRE, now=T0)
        assert v.allowed and v.source == "cache"

    def test_accepted_without_local_pre_authorize_asks(self, auth):
        """AuthCtrlr.LocalPreAuthorize false: wait for the CSMS (C01.FR.05)."""
        cache(auth, CARD)
        assert auth.validate(CARD, 1, online=True, settings=AuthSettings(), now=T0).ask_csms

    @pytest.mark.parametrize("status", ["Blocked", "Expired", "Invalid", "NoCredit",
                                        "NotAllowedTypeEVSE", "NotAtThisLocation",
                                        "NotAtThisTime", "Unknown"])
    def test_not_accepted_online_asks_again(self, auth, status):
        """C10.FR.03, C12.FR.05 (TC_C_09-12)."""
        cache(auth, CARD, status)
        assert auth.validate(CARD, 1, online=True, settings=ONLINE_PRE, now=T0).ask_csms

    def test_not_accepted_with_disable_post_authorize_is_refused_from_cache(self, auth):
        """AuthCacheCtrlr.DisablePostAuthorize (TC_C_21)."""
        cache(auth, CARD, "Blocked")
        s = replace(ONLINE_PRE, cache_disable_post_authorize=True)
        v = auth.validate(CARD, 1, online=True, settings=s, now=T0)
        assert not v.ask_csms and not v.allowed and v.id_token_info.status == "Blocked"

    def test_offline_cached_accepted_authorizes(self, auth):
        """C12 offline with LocalAuthorizeOffline."""
        cache(auth, CARD)
        v = auth.validate(CARD, 1, online=False, settings=AuthSettings(), now=T0)
        assert v.allowed and v.source == "cache"

    def test_offline_without_local_authorize_offline_refuses_known_tokens(self, auth):
        cache(auth, CARD)
        s = AuthSettings(local_authorize_offline=False, offline_tx_for_unknown_id=True)
        assert not auth.validate(CARD, 1, online=False, settings=s, now=T0).allowed

    def test_offline_cached_not_accepted_is_refused_even_with_unknown_ids_allowed(self, auth):
        """C13.FR.04: only ids in neither list nor cache count as unknown."""
        cache(auth, CARD, "Blocked")
        s = AuthSettings(offline_tx_for_unknown_id=True)
        assert not auth.validate(CARD, 1, online=False, settings=s, now=T0).allowed

    def test_lifetime_counts_from_last_use(self, auth):
        """C10.FR.08, C10.FR.10: expired entries become Expired."""
        s = replace(ONLINE_PRE, cache_lifetime_s=60)
        cache(auth, CARD, settings=s)
        assert auth.validate(CARD, 1, online=True, settings=s,
                             now=T0 + timedelta(seconds=50)).allowed
        # Used at +50 s: alive until +110 s.
        assert auth.validate(CARD, 1, online=True, settings=s,
                             now=T0 + timedelta(seconds=100)).allowed
        v = auth.validate(CARD, 1, online=False, settings=s, now=T0 + timedelta(seconds=200))
        assert not v.allowed and v.id_token_info.status == "Expired"
        assert auth.repo.cache_get(token_hash(CARD)).info.status == "Expired"

    def test_expired_entry_online_asks(self, auth):
        s = replace(ONLINE_PRE, cache_lifetime_s=60)
        cache(auth, CARD, settings=s)
        assert auth.validate(CARD, 1, online=True, settings=s,
                             now=T0 + timedelta(seconds=61)).ask_csms

    def test_cache_expiry_date_time_wins_over_lifetime(self, auth):
        """C10.FR.13."""
        s = replace(ONLINE_PRE, cache_lifetime_s=10)
        cache(auth, CARD, settings=s, cacheExpiryDateTime=iso(T0 + timedelta(hours=1)))
        assert auth.validate(CARD, 1, online=True, settings=s,
                             now=T0 + timedelta(minutes=30)).allowed
        assert not auth.validate(CARD, 1, online=False, settings=s,
                                 now=T0 + timedelta(hours=2)).allowed

    def test_full_cache_evicts_non_accepted_then_least_recently_used(self, auth):
        """C10.FR.07, Policy LRU."""
        tokens = [tok(f"T{i}") for i in range(4)]
        one = len(token_hash(tokens[0])) + len(AuthRepository.encode(info()))
        s = replace(ONLINE_PRE, cache_max_bytes=3 * one + 5)
        cache(auth, tokens[0], settings=s, now=T0)
        cache(auth, tokens[1], "Blocked", settings=s, now=T0 + timedelta(seconds=1))
        cache(auth, tokens[2], settings=s, now=T0 + timedelta(seconds=2))
        auth.validate(tokens[0], 1, online=True, settings=s, now=T0 + timedelta(seconds=3))
        cache(auth, tokens[3], settings=s, now=T0 + timedelta(seconds=4))
        assert auth.repo.cache_get(token_hash(tokens[1])) is None     # not Accepted first
        cache(auth, tok("T9"), settings=s,
              now=T0 + timedelta(seconds=5))
        assert auth.repo.cache_get(token_hash(tokens[2])) is None     # then least recently used
        assert auth.repo.cache_get(token_hash(tokens[0])) is not None
        assert auth.repo.cache_bytes <= s.cache_max_bytes

    def test_clear_cache(self, auth):
        """C11.FR.03/04."""
        cache(auth, CARD)
        assert to_wire(auth.clear_cache(AuthSettings(cache_enabled=False))) == {
            "status": "Rejected", "statusInfo": {"reasonCode": "NotEnabled"}}   # C11.FR.04
        assert auth.repo.cache_entries == 1
        assert to_wire(auth.clear_cache(AuthSettings())) == {"status": "Accepted"}
        assert auth.repo.cache_entries == 0 and auth.repo.cache_get(token_hash(CARD)) is None

    def test_cache_survives_reopening(self, auth, db_path):
        """C10.FR.02."""
        cache(auth, CARD)
        again = Authorization(AuthRepository(lite.connect(db_path, MIGRATIONS)))
        assert again.validate(CARD, 1, online=False, settings=AuthSettings(), now=T0).allowed
        assert again.repo.cache_entries == 1 and again.repo.cache_bytes == auth.repo.cache_bytes


class TestLocalListAuthorization:
    """C13, C14."""

    def test_list_before_cache(self, auth):
        """C13.FR.01, C14.FR.01 (TC_C_47)."""
        cache(auth, CARD)
        send(auth, "Full", 1, [entry(CARD, "Blocked")])
        v = auth.validate(CARD, 1, online=False, settings=AuthSettings(), now=T0)
        assert not v.allowed and v.source == "list"

    def test_accepted_online_with_pre_authorize(self, auth):
        """C14.FR.02 (TC_C_21-style)."""
        send(auth, "Full", 1, [entry(CARD)])
        v = auth.validate(CARD, 1, online=True, settings=ONLINE_PRE, now=T0)
        assert v.allowed and v.source == "list"

    def test_not_accepted_online_asks(self, auth):
        """C14.FR.03."""
        send(auth, "Full", 1, [entry(CARD, "Invalid")])
        assert auth.validate(CARD, 1, online=True, settings=ONLINE_PRE, now=T0).ask_csms

    def test_not_accepted_with_list_disable_post_authorize(self, auth):
        """LocalAuthListCtrlr.DisablePostAuthorize (TC_C_27)."""
        send(auth, "Full", 1, [entry(CARD, "Invalid")])
        s = replace(ONLINE_PRE, list_disable_post_authorize=True)
        v = auth.validate(CARD, 1, online=True, settings=s, now=T0)
        assert not v.ask_csms and not v.allowed

    def test_expired_list_entry_asks_online_and_refuses_offline(self, auth):
        """C14.FR.04/05, C13.FR.05."""
        send(auth, "Full", 1, [entry(CARD, cacheExpiryDateTime=iso(T0 + timedelta(hours=1)))])
        assert auth.validate(CARD, 1, online=True, settings=ONLINE_PRE, now=T0).allowed
        later = T0 + timedelta(hours=2)
        assert auth.validate(CARD, 1, online=True, settings=ONLINE_PRE, now=later).ask_csms
        assert not auth.validate(CARD, 1, online=False, settings=ONLINE_PRE, now=later).allowed

    def test_expiry_ignored_without_supports_expiry(self, auth):
        send(auth, "Full", 1, [entry(CARD, cacheExpiryDateTime=iso(T0))])
        s = replace(ONLINE_PRE, list_supports_expiry=False)
        assert auth.validate(CARD, 1, online=True, settings=s,
                             now=T0 + timedelta(days=1)).allowed

    def test_offline_list_accepted(self, auth):
        """C13.FR.02 (TC_C_43)."""
        send(auth, "Full", 1, [entry(CARD)])
        assert auth.validate(CARD, 1, online=False, settings=AuthSettings(), now=T0).allowed

    def test_list_disabled_is_not_read(self, auth):
        """D01.FR.13."""
        send(auth, "Full", 1, [entry(CARD)])
        s = AuthSettings(list_enabled=False)
        assert not auth.validate(CARD, 1, online=False, settings=s, now=T0).allowed

    def test_list_is_never_changed_by_authorize_answers(self, auth):
        """D01.FR.09."""
        send(auth, "Full", 1, [entry(CARD)])
        auth.csms_answered(CARD, 1, info("Blocked"), online=True,
                           settings=AuthSettings(), now=T0)
        assert to_wire(auth.repo.list_get(token_hash(CARD))) == {"status": "Accepted"}


class TestStationRules:
    def test_evse_id_list_restricts_where_a_token_charges(self, auth):
        """C01.FR.21."""
        restricted = info(evseId=[2])
        assert not auth.csms_answered(CARD, 1, restricted, online=True, settings=AuthSettings(),
                                      now=T0).allowed
        assert auth.csms_answered(CARD, 2, restricted, online=True, settings=AuthSettings(),
                                  now=T0).allowed
        assert auth.csms_answered(CARD, None, restricted, online=True, settings=AuthSettings(),
                                  now=T0).allowed

    def test_master_pass_may_not_start(self, auth):
        """C12.FR.09, C16.FR.03 (TC_C_14)."""
        s = replace(ONLINE_PRE, master_pass_group_id="MASTER")
        cache(auth, CARD, groupIdToken={"idToken": "MASTER", "type": "Central"})
        v = auth.validate(CARD, 1, online=True, settings=s, now=T0)
        assert v.master_pass and not v.allowed and v.id_token_info.status == "Accepted"

    def test_master_pass_unset_is_an_ordinary_group(self, auth):
        cache(auth, CARD, groupIdToken={"idToken": "MASTER", "type": "Central"})
        v = auth.validate(CARD, 1, online=True, settings=ONLINE_PRE, now=T0)
        assert v.allowed and not v.master_pass


class TestSendLocalList:
    """D01, D02."""

    def test_full_replaces_and_sets_the_version(self, auth):
        """D01.FR.15, D02.FR.01 (TC_D_01)."""
        assert auth.local_list_version(AuthSettings()) == 0                  # D02.FR.02
        assert send(auth, "Full", 3, [entry(CARD), entry(OTHER)])["status"] == "Accepted"
        assert send(auth, "Full", 2, [entry(OTHER, "Blocked")])["status"] == "Accepted"
        assert auth.local_list_version(AuthSettings()) == 2
        assert auth.repo.list_get(token_hash(CARD)) is None
        assert auth.repo.list_get(token_hash(OTHER)).status == "Blocked"
        assert auth.repo.list_entries == 1

    def test_full_without_list_empties_it(self, auth):
        """D01.FR.04 (TC_D_04)."""
        send(auth, "Full", 1, [entry(CARD)])
        assert send(auth, "Full", 5, [])["status"] == "Accepted"
        assert auth.repo.list_entries == 0 and auth.local_list_version(AuthSettings()) == 5

    def test_differential_updates_and_removes(self, auth):
        """D01.FR.16/17 (TC_D_02, TC_D_03)."""
        send(auth, "Full", 1, [entry(CARD)])
        assert send(auth, "Differential", 2, [entry(OTHER)])["status"] == "Accepted"
        assert auth.repo.list_entries == 2
        assert send(auth, "Differential", 3, [{"idToken": CARD}])["status"] == "Accepted"
        assert auth.repo.list_get(token_hash(CARD)) is None
        assert auth.repo.list_entries == 1 and auth.local_list_version(AuthSettings()) == 3

    def test_differential_empty_changes_only_the_version(self, auth):
        """D01.FR.05 (TC_D_05)."""
        send(auth, "Full", 1, [entry(CARD)])
        assert send(auth, "Differential", 2, [])["status"] == "Accepted"
        assert auth.repo.list_entries == 1 and auth.local_list_version(AuthSettings()) == 2

    @pytest.mark.parametrize("version", [1, 2])
    def test_differential_with_old_version_is_version_mismatch(self, auth, version):
        """D01.FR.19 (TC_D_06)."""
        send(auth, "Full", 2, [entry(CARD)])
        assert send(auth, "Differential", version, [entry(OTHER)]) == {
            "status": "VersionMismatch"}
        assert auth.repo.list_get(token_hash(OTHER)) is None
        assert auth.local_list_version(AuthSettings()) == 2

    def test_version_must_be_positive(self, auth):
        """D01.FR.18."""
        assert send(auth, "Full", 0, [entry(CARD)])["status"] == "Failed"

    def test_too_many_items_fails(self, auth):
        """D01.FR.11 ItemsPerMessage."""
        s = AuthSettings(list_items_per_message=1)
        r = send(auth, "Full", 1, [entry(CARD), entry(OTHER)], s)
        assert r["status"] == "Failed" and r["statusInfo"]["reasonCode"] == "TooManyElements"
        assert auth.local_list_version(s) == 0

    def test_too_many_bytes_fails(self, auth):
        """D01.FR.11 BytesPerMessage."""
        r = send(auth, "Full", 1, [entry(CARD)], AuthSettings(list_bytes_per_message=100),
                 frame_bytes=101)
        assert r["status"] == "Failed" and r["statusInfo"]["reasonCode"] == "TooLargeElement"

    def test_duplicates_fail(self, auth):
        """D01.FR.06."""
        assert send(auth, "Full", 1, [entry(CARD), entry(CARD)])["status"] == "Failed"

    def test_too_many_additional_info_items_fail(self, auth):
        """AuthCtrlr.AdditionalInfoItemsPerMessage."""
        token = tok("CARD-1", additionalInfo=[{"additionalIdToken": "a", "type": "x"}] * 2)
        s = AuthSettings(additional_info_items=1)
        assert send(auth, "Full", 1, [entry(token)], s)["status"] == "Failed"
        assert send(auth, "Full", 1, [entry(token)])["status"] == "Accepted"

    def test_full_entry_without_info_fails(self, auth):
        assert send(auth, "Full", 1, [{"idToken": CARD}])["status"] == "Failed"

    def test_entries_limit_fails_without_changing_anything(self, auth):
        """LocalAuthListCtrlr.Entries maxLimit."""
        s = AuthSettings(list_max_entries=1)
        send(auth, "Full", 1, [entry(CARD)], s)
        r = send(auth, "Differential", 2, [entry(OTHER)], s)
        assert r["status"] == "Failed" and r["statusInfo"]["reasonCode"] == "OutOfStorage"
        assert auth.local_list_version(s) == 1 and auth.repo.list_entries == 1
        # Replacing an entry does not grow the list.
        assert send(auth, "Differential", 2, [entry(CARD, "Blocked")], s)["status"] == "Accepted"

    def test_storage_limit_fails(self, auth):
        """LocalAuthListCtrlr.Storage maxLimit."""
        assert send(auth, "Full", 1, [entry(CARD)],
                    AuthSettings(list_max_bytes=10))["status"] == "Failed"

    def test_disabled_list_fails_and_reports_version_zero(self, auth):
        """D02.FR.03 (TC_D_10)."""
        send(auth, "Full", 4, [entry(CARD)])
        off = AuthSettings(list_enabled=False)
        assert send(auth, "Full", 5, [entry(CARD)], off)["status"] == "Failed"
        assert auth.local_list_version(off) == 0
        assert auth.local_list_version(AuthSettings()) == 4

    def test_list_survives_reopening_with_totals(self, auth, db_path):
        """D01.FR.10 (TC_D_07)."""
        send(auth, "Full", 7, [entry(CARD), entry(OTHER, "Blocked")])
        again = AuthRepository(lite.connect(db_path, MIGRATIONS))
        assert again.list_version() == 7
        assert (again.list_entries, again.list_bytes) == (2, auth.repo.list_bytes)

    def test_running_totals_match_the_table_after_differentials(self, auth, db_path):
        """Entries/Storage are kept incrementally; they must equal a recount."""
        send(auth, "Full", 1, [entry(CARD), entry(OTHER)])
        third = tok("CARD-3")
        send(auth, "Differential", 2, [entry(CARD, "Blocked", groupIdToken=OTHER),
                                       {"idToken": OTHER}, entry(third),
                                       {"idToken": {"idToken": "never", "type": "Local"}}])
        recount = AuthRepository(lite.connect(db_path, MIGRATIONS))
        assert (auth.repo.list_entries, auth.repo.list_bytes) == (
            recount.list_entries, recount.list_bytes) and recount.list_entries == 2
