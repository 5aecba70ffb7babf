"""Block K on the station core against a scripted CSMS (blocks/smart_charging.py)."""
from __future__ import annotations

import json

import pytest

from messages.energy import CompositeScheduleUpdated
from messages.evse import RemoteStart, RemoteStartAnswered, TransactionEventReady
from messages.ocpp201 import ChargingProfileCriterionType, to_wire
from tests.unit.station_harness import Harness
from tests.unit.test_session import started_event


def tx_default(pid=1, limit=10.0, stack_level=0, unit="A", **extra) -> dict:
    return {"id": pid, "stackLevel": stack_level, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [{"id": 1, "startSchedule": "2026-01-02T00:00:00Z",
                                  "chargingRateUnit": unit,
                                  "chargingSchedulePeriod": [{"startPeriod": 0,
                                                              "limit": limit}]}], **extra}


def tx_profile(pid=20, limit=8.0, transaction_id=None) -> dict:
    out = {"id": pid, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
           "chargingProfileKind": "Relative",
           "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}]}
    if transaction_id is not None:
        out["transactionId"] = transaction_id
    return out


def event(transaction_id, event_type="Started", seq_no=0, evse_id=1, remote_start_id=None):
    payload = started_event(transaction_id, seq_no, event_type, evse_id)
    if remote_start_id is not None:
        payload["transactionInfo"]["remoteStartId"] = remote_start_id
    return payload


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    harness.boot()
    harness.drain_calls()
    harness.announce_all()
    harness.drain_calls()
    harness.session.messages_to_actors()
    return harness


def answer(h, action, payload) -> dict:
    frames = h.csms_call(action, payload)
    return frames[0][2]


def criteria(wire: dict) -> ChargingProfileCriterionType:
    return ChargingProfileCriterionType.model_validate(wire)


def set_profile(h, evse_id, profile) -> dict:
    return answer(h, "SetChargingProfile", {"evseId": evse_id, "chargingProfile": profile})


def run_transaction(h, transaction_id="tx-1", evse_id=1, **kw):
    payload = event(transaction_id, evse_id=evse_id, **kw)
    h.core.transactions.transaction_event_ready(TransactionEventReady(
        evse_id=evse_id, event_key=f"{transaction_id}:{payload['seqNo']}", payload=payload))
    h.drain_calls({"idTokenInfo": {"status": "Accepted"}})


def end_transaction(h, transaction_id="tx-1", evse_id=1):
    payload = event(transaction_id, "Ended", seq_no=1)
    h.core.transactions.transaction_event_ready(TransactionEventReady(
        evse_id=evse_id, event_key=f"{transaction_id}:1", payload=payload))
    h.drain_calls({})


def accepted_remote_start(h, profile, remote_start_id) -> RemoteStart:
    """RequestStartTransaction on EVSE 1 with ``profile``; the Evse accepts (no transaction
    yet). Returns the RemoteStart the Evse got."""
    message_id = f"rs-{remote_start_id}"
    h.session.receive_text(json.dumps([2, message_id, "RequestStartTransaction", {
        "evseId": 1, "remoteStartId": remote_start_id,
        "idToken": {"idToken": "AB12", "type": "ISO14443"}, "chargingProfile": profile}]), h.now)
    [start] = [m for _, m in h.session.messages_to_actors() if isinstance(m, RemoteStart)]
    h.session.resolve_deferred(start.correlation_id, RemoteStartAnswered(
        correlation_id=start.correlation_id, status="Accepted"), h.now)
    assert h.sent() == [[3, message_id, {"status": "Accepted"}]]
    return start


def sink_messages(h) -> dict[int, CompositeScheduleUpdated]:
    """What the sinks were sent, after the session's next tick (publication is batched)."""
    h.advance(0)
    return {target[1]: m for target, m in h.session.messages_to_actors()
            if isinstance(m, CompositeScheduleUpdated)}


class TestSetChargingProfile:
    """K01: accepted profiles are installed and durable; rejected ones say why."""

    def test_tx_default_profile_is_accepted_and_survives_a_restart(self, h, tmp_path):
        """TC_K_01_CS, K01.FR.27."""
        assert set_profile(h, 1, tx_default()) == {"status": "Accepted"}
        again = Harness(tmp_path)
        assert [to_wire(p.profile) for p in again.core.smart_charging.profiles.values()] == [
            tx_default()]

    def test_tx_profile_without_transaction_is_rejected(self, h):
        """TC_K_02_CS, K01.FR.09/33."""
        reply = set_profile(h, 1, tx_profile(transaction_id="UNKNOWN-TRANSACTION-ID"))
        assert reply["status"] == "Rejected"
        assert reply["statusInfo"]["reasonCode"] == "TxNotFound"

    def test_tx_profile_of_a_running_transaction_is_accepted(self, h):
        run_transaction(h)
        assert set_profile(h, 1, tx_profile(transaction_id="tx-1")) == {"status": "Accepted"}

    def test_same_id_replaces_the_profile(self, h):
        """TC_K_04_CS, K01.FR.05."""
        set_profile(h, 1, tx_default(limit=6.0))
        set_profile(h, 1, tx_default(limit=10.0))
        assert [to_wire(p.profile) for p in h.core.smart_charging.profiles.values()] == [
            tx_default(limit=10.0)]

    def test_entries_variable_counts_installed_profiles(self, h):
        set_profile(h, 1, tx_default(1))
        set_profile(h, 2, tx_default(2))
        assert h.dm.get("SmartChargingCtrlr", "Entries", instance="ChargingProfiles") == "2"

    def test_disabled_smart_charging_answers_not_supported(self, h):
        """K01.FR.29."""
        h.dm.set_internal("SmartChargingCtrlr", "Enabled", "false")
        frames = h.csms_call("SetChargingProfile", {"evseId": 1, "chargingProfile": tx_default()})
        assert frames[0][0] == 4 and frames[0][2] == "NotSupported"

    def test_accepted_profile_goes_to_every_energy_sink(self, h):
        """K01.FR.07: re-evaluated at once; EVSE ids 0..N get their composite schedule."""
        set_profile(h, 1, tx_default(limit=10.0))
        sent = sink_messages(h)
        assert sorted(sent) == [0, 1, 2]
        assert sent[1].schedule.charging_schedule_period[0].limit == 10.0
        assert sent[2].schedule.charging_schedule_period[0].limit == 32.0   # hardware max
        assert sent[1].schedule.duration == 600              # RequestCompositeScheduleDurationS

    def test_schedules_are_sent_again_every_interval(self, h):
        """CompositeScheduleIntervalS (30 s by default)."""
        set_profile(h, 1, tx_default())
        sink_messages(h)
        h.advance(29)
        assert sink_messages(h) == {}
        h.advance(1.5)
        assert sorted(sink_messages(h)) == [0, 1, 2]

    def test_a_batch_of_changes_is_published_once(self, h):
        for pid in (1, 2, 3):
            set_profile(h, 1, tx_default(pid, stack_level=pid))
        published = [m for _, m in h.session.messages_to_actors()
                     if isinstance(m, CompositeScheduleUpdated)]
        assert published == []
        assert sorted(sink_messages(h)) == [0, 1, 2]
        assert sink_messages(h) == {}

    def test_schedules_keep_coming_while_offline(self, h):
        """K06.FR.01, K07.FR.01: offline, the installed profiles stay in force."""
        run_transaction(h)
        set_profile(h, 1, tx_profile(limit=9.0, transaction_id="tx-1"))
        sink_messages(h)
        h.disconnect()
        h.advance(31)
        sent = sink_messages(h)
        assert sent[1].schedule.charging_schedule_period[0].limit == 9.0

    def test_nothing_is_sent_to_sinks_without_profiles(self, h):
        h.advance(31)
        assert sink_messages(h) == {}


class TestTransactions:
    """TxProfiles belong to a transaction (K02.FR.04/05, K05, F01.FR.08-13)."""

    def test_tx_profile_is_deleted_when_the_transaction_ends(self, h, tmp_path):
        """K02.FR.05."""
        run_transaction(h)
        set_profile(h, 1, tx_profile(transaction_id="tx-1"))
        end_transaction(h)
        assert h.core.smart_charging.profiles == {}
        assert Harness(tmp_path).core.smart_charging.profiles == {}

    def test_tx_profile_stays_in_force_after_a_restart_of_the_session(self, h, tmp_path):
        """K06.FR.01: the new session has not seen the transaction's events (all were
        acknowledged); its stored TxProfile still limits the EVSE until the Ended event."""
        run_transaction(h)
        set_profile(h, 1, tx_profile(limit=9.0, transaction_id="tx-1"))
        again = Harness(tmp_path)
        again.boot()
        again.drain_calls()
        assert again.core.transactions.ongoing == {}
        schedule = answer(again, "GetCompositeSchedule", {"evseId": 1, "duration": 60})
        assert schedule["schedule"]["chargingSchedulePeriod"][0]["limit"] == 9.0
        end_transaction(again)
        assert again.core.smart_charging.profiles == {}

    def test_tx_profile_overrules_tx_default_while_the_transaction_runs(self, h):
        set_profile(h, 1, tx_default(limit=16.0))
        run_transaction(h)
        set_profile(h, 1, tx_profile(limit=20.0, transaction_id="tx-1"))
        schedule = answer(h, "GetCompositeSchedule", {"evseId": 1, "duration": 60})["schedule"]
        assert schedule["chargingSchedulePeriod"][0]["limit"] == 20.0
        end_transaction(h)
        schedule = answer(h, "GetCompositeSchedule", {"evseId": 1, "duration": 60})["schedule"]
        assert schedule["chargingSchedulePeriod"][0]["limit"] == 16.0

    def test_remote_start_with_an_invalid_profile_is_rejected(self, h):
        """F01.FR.26, K05.FR.05: a TxDefaultProfile is not the profile of a remote start."""
        frames = h.csms_call("RequestStartTransaction", {
            "evseId": 1, "remoteStartId": 42, "idToken": {"idToken": "AB12", "type": "ISO14443"},
            "chargingProfile": tx_default()})
        assert frames[0][2]["status"] == "Rejected"
        assert frames[0][2]["statusInfo"]["reasonCode"] == "InvalidProfile"
        assert not any(isinstance(m, RemoteStart) for _, m in h.session.messages_to_actors())

    def test_remote_start_profile_gets_the_transaction_id(self, h):
        """F01.FR.10/11, K05.FR.03: installed for the transaction the start creates."""
        start = accepted_remote_start(h, tx_profile(limit=7.0), 42)
        assert to_wire(start.charging_profile) == tx_profile(limit=7.0)
        assert h.core.smart_charging.profiles == {}        # no transaction yet
        run_transaction(h, "tx-7", remote_start_id=42)
        [stored] = h.core.smart_charging.profiles.values()
        assert (stored.evse_id, stored.transaction_id) == (1, "tx-7")
        assert stored.profile.transaction_id == "tx-7"
        schedule = answer(h, "GetCompositeSchedule", {"evseId": 1, "duration": 60})["schedule"]
        assert schedule["chargingSchedulePeriod"][0]["limit"] == 7.0


    def test_a_remote_start_that_came_to_nothing_drops_its_profile(self, h):
        """A local transaction on the EVSE instead: the waiting profile is not installed later."""
        accepted_remote_start(h, tx_profile(), 43)
        run_transaction(h, "tx-local")
        end_transaction(h, "tx-local")
        run_transaction(h, "tx-late", remote_start_id=43)
        assert h.core.smart_charging.profiles == {}


class TestGetChargingProfiles:
    """K09 with ReportChargingProfiles paging."""

    def test_no_match_answers_no_profiles(self, h):
        reply = answer(h, "GetChargingProfiles", {"requestId": 1,
                                                  "chargingProfile": {"chargingProfileId": [9]}})
        assert reply == {"status": "NoProfiles"}

    def test_reports_follow_the_response_with_request_id_and_tbc(self, h):
        """K09.FR.01/02: 12 profiles on EVSE 1 and one on EVSE 2: three reports."""
        for pid in range(1, 13):
            profile = tx_default(pid, validFrom=f"2026-01-{pid + 2:02d}T00:00:00Z",
                                 validTo=f"2026-01-{pid + 3:02d}T00:00:00Z")
            assert set_profile(h, 1, profile)["status"] == "Accepted"
        set_profile(h, 2, tx_default(13, stack_level=3))
        h.session.messages_to_actors()
        frames = h.csms_call("GetChargingProfiles", {
            "requestId": 77, "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"}})
        assert frames[0][2] == {"status": "Accepted"}
        h.answer(frames[1], {})
        reports = [frames[1]] + h.drain_calls({})
        assert [r[2] for r in reports] == ["ReportChargingProfiles"] * 3
        bodies = [r[3] for r in reports]
        assert {b["requestId"] for b in bodies} == {77}
        assert [b["tbc"] for b in bodies] == [True, True, False]
        assert [(b["evseId"], len(b["chargingProfile"])) for b in bodies] == [(1, 10), (1, 2),
                                                                              (2, 1)]

    def test_criteria_are_anded(self, h):
        """K09.FR.03/04/05: evseId 0 reports only the station's own profiles."""
        set_profile(h, 0, tx_default(1, stack_level=1))
        set_profile(h, 1, tx_default(2, stack_level=2))
        core = h.core.smart_charging
        tx_default_only = criteria({"chargingProfilePurpose": "TxDefaultProfile"})
        assert [p.id for p in core.matching(0, tx_default_only)] == [1]
        assert [p.id for p in core.matching(None, criteria({"stackLevel": 2}))] == [2]
        assert core.matching(1, criteria({"stackLevel": 1})) == []
        assert [p.id for p in core.matching(None, criteria({"chargingLimitSource": ["CSO"]}))] \
            == [1, 2]


class TestClearChargingProfile:
    """K10."""

    def test_clear_by_id(self, h, tmp_path):
        """TC_K_05_CS, K10.FR.03."""
        set_profile(h, 1, tx_default(5))
        assert answer(h, "ClearChargingProfile", {"chargingProfileId": 5}) == {
            "status": "Accepted"}
        assert Harness(tmp_path).core.smart_charging.profiles == {}

    def test_clear_by_purpose_and_stack_level(self, h):
        """TC_K_06_CS, K10.FR.04."""
        set_profile(h, 1, tx_default(5, stack_level=1))
        set_profile(h, 1, tx_default(6, stack_level=2))
        reply = answer(h, "ClearChargingProfile", {"chargingProfileCriteria": {
            "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1}})
        assert reply == {"status": "Accepted"}
        assert list(h.core.smart_charging.profiles) == [6]

    def test_unknown_criteria_answer_unknown(self, h):
        """TC_K_07_CS, K10.FR.01."""
        set_profile(h, 1, tx_default(5, stack_level=1))
        reply = answer(h, "ClearChargingProfile", {"chargingProfileCriteria": {
            "chargingProfilePurpose": "ChargingStationMaxProfile", "stackLevel": 0}})
        assert reply == {"status": "Unknown"}
        assert answer(h, "ClearChargingProfile", {"chargingProfileId": 99}) == {
            "status": "Unknown"}

    def test_external_limits_are_not_cleared_by_the_csms(self, h):
        """K10.FR.08/09."""
        assert h.core.smart_charging.set_external_limit(1, 16.0, "A", "EMS") is None
        h.drain_calls({})
        assert answer(h, "ClearChargingProfile", {"chargingProfileId": -2}) == {
            "status": "Unknown"}
        assert answer(h, "ClearChargingProfile", {"chargingProfileCriteria": {"evseId": 1}}) == {
            "status": "Unknown"}
        assert list(h.core.smart_charging.profiles) == [-2]


class TestGetCompositeSchedule:
    """K08."""

    def test_without_profiles_evse_0_reports_its_duration_from_period_0(self, h):
        """TC_K_39_CS, K08.FR.02/03."""
        reply = answer(h, "GetCompositeSchedule", {"evseId": 0, "duration": 300,
                                                   "chargingRateUnit": "A"})
        assert reply["status"] == "Accepted"
        schedule = reply["schedule"]
        assert (schedule["evseId"], schedule["duration"], schedule["chargingRateUnit"]) == (
            0, 300, "A")
        assert schedule["chargingSchedulePeriod"][0]["startPeriod"] == 0

    def test_unknown_evse_is_rejected(self, h):
        """TC_K_47_CS, K08.FR.05."""
        reply = answer(h, "GetCompositeSchedule", {"evseId": 3, "duration": 300})
        assert reply["status"] == "Rejected" and "schedule" not in reply

    def test_unit_not_in_rate_unit_is_rejected(self, h):
        """TC_K_42_CS, K08.FR.07."""
        h.dm.set_internal("SmartChargingCtrlr", "RateUnit", "A")
        reply = answer(h, "GetCompositeSchedule", {"evseId": 1, "duration": 300,
                                                   "chargingRateUnit": "W"})
        assert reply["status"] == "Rejected"

    def test_station_max_caps_an_evse_in_watts(self, h):
        """K08.FR.04 with a ChargingStationMaxProfile on EVSE 0, asked in W (K01.FR.50)."""
        station_max = tx_default(3, limit=10.0)
        station_max["chargingProfilePurpose"] = "ChargingStationMaxProfile"
        set_profile(h, 0, station_max)
        reply = answer(h, "GetCompositeSchedule", {"evseId": 2, "duration": 300,
                                                   "chargingRateUnit": "W"})
        assert reply["schedule"]["chargingSchedulePeriod"][0]["limit"] == 10.0 * 230 * 3


class TestExternalLimits:
    """K11-K13: a limit from an energy manager."""

    def test_set_limit_notifies_the_csms_and_enters_the_composite(self, h):
        """K11.FR.01/02/05/06."""
        core = h.core.smart_charging
        assert core.set_external_limit(1, 12.0, "A", "EMS") is None
        [call] = h.drain_calls({})
        assert call[2:] == ["NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS"},
                                                    "evseId": 1}]
        schedule = answer(h, "GetCompositeSchedule", {"evseId": 1, "duration": 60})["schedule"]
        assert schedule["chargingSchedulePeriod"][0]["limit"] == 12.0
        [stored] = core.matching(None, criteria({"chargingProfilePurpose":
                                                 "ChargingStationExternalConstraints"}))
        assert (stored.id, stored.source) == (-2, "EMS")              # K11.FR.06, K12.FR.05

    def test_change_below_significance_is_not_notified(self, h):
        """SC.03: LimitChangeSignificance is 1 % by default."""
        core = h.core.smart_charging
        core.set_external_limit(0, 100.0, "A", "EMS")
        h.drain_calls({})
        core.set_external_limit(0, 100.5, "A", "EMS")
        assert h.drain_calls({}) == []
        core.set_external_limit(0, 90.0, "A", "EMS")
        assert [c[2] for c in h.drain_calls({})] == ["NotifyChargingLimit"]

    def test_schedule_is_included_with_notify_charging_limit_with_schedules(self, h):
        """K11.FR.03."""
        h.dm.set_internal("SmartChargingCtrlr", "NotifyChargingLimitWithSchedules", "true")
        h.core.smart_charging.set_external_limit(1, 11000, "W", "SO")
        [call] = h.drain_calls({})
        [schedule] = call[3]["chargingSchedule"]
        assert schedule["chargingRateUnit"] == "W"
        assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 11000.0}]

    def test_clearing_sends_cleared_charging_limit(self, h):
        """K13.FR.01/02."""
        core = h.core.smart_charging
        core.set_external_limit(2, 10.0, "A", "EMS")
        h.drain_calls({})
        assert core.clear_external_limit(2, "EMS") is None
        [call] = h.drain_calls({})
        assert call[2:] == ["ClearedChargingLimit", {"chargingLimitSource": "EMS", "evseId": 2}]
        assert core.external_limits() == []
        assert core.clear_external_limit(2, "EMS") is not None

    def test_bad_requests_are_refused(self, h):
        core = h.core.smart_charging
        assert "does not exist" in core.set_external_limit(9, 10.0, "A", "EMS")
        assert "CSO" in core.set_external_limit(1, 10.0, "A", "CSO")      # K11.FR.05
        assert "negative" in core.set_external_limit(1, -1.0, "A", "EMS")

    def test_refused_when_external_control_signals_are_disabled(self, h, monkeypatch):
        """SmartChargingCtrlr.ExternalControlSignalsEnabled (not shipped: enabled)."""
        core = h.core.smart_charging
        real_get_bool = h.dm.get_bool

        def get_bool(component, variable, **kw):
            if variable == "ExternalControlSignalsEnabled":
                return False
            return real_get_bool(component, variable, **kw)
        monkeypatch.setattr(h.dm, "get_bool", get_bool)
        assert "disabled" in core.set_external_limit(1, 10.0, "A", "EMS")
        assert core.external_limits() == []
