"""SetChargingProfile validation (K01, K04.FR.03, K05, F01.FR.09/11): smart_charging/validation.py."""
from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from messages.ocpp201 import ChargingProfileType, to_wire
from smart_charging.validation import Limits, validate_profile, validity
from storage.profile_repo import StoredProfile

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=timezone.utc)
EVSES = (1, 2)
ONGOING = {"tx-1": 1}


def profile(**changes) -> dict:
    """A valid Absolute TxDefaultProfile; ``changes`` replace top-level fields, and
    ``schedule__x`` / ``period__x`` fields of the first schedule / period."""
    base = {"id": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [{"id": 1, "startSchedule": "2026-01-02T00:00:00Z",
                                  "chargingRateUnit": "A",
                                  "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}]}
    for key, value in changes.items():
        if key.startswith("schedule__"):
            target, key = base["chargingSchedule"][0], key[len("schedule__"):]
        elif key.startswith("period__"):
            target, key = base["chargingSchedule"][0]["chargingSchedulePeriod"][0], key[8:]
        else:
            target = base
        if value is _DROP:
            target.pop(key, None)
        else:
            target[key] = value
    return base


_DROP = object()


def model(prof: dict) -> ChargingProfileType:
    return ChargingProfileType.model_validate(prof)


def check(evse_id: int, prof: dict, *, installed=(), limits: Limits = Limits(),
          remote_start: bool = False):
    """validate_profile on the models of ``prof`` and of the installed profiles (the tests
    write profiles as wire dicts, which read and vary more easily)."""
    installed = [StoredProfile(s.evse_id, model(s.profile), s.source, s.transaction_id)
                 for s in installed]
    return validate_profile(evse_id, model(prof), installed=installed, evse_ids=EVSES,
                            ongoing=ONGOING, limits=limits, now=NOW, remote_start=remote_start)


class TestAccepted:
    """Profiles the station takes (K01.FR.01/02/08/14/15)."""

    def test_tx_default_profile_on_an_evse_is_accepted(self):
        assert check(1, profile()).accepted

    def test_tx_default_profile_on_evse_0_is_accepted(self):
        assert check(0, profile()).accepted

    def test_station_max_profile_on_evse_0_is_accepted(self):
        assert check(0, profile(chargingProfilePurpose="ChargingStationMaxProfile")).accepted

    def test_tx_profile_for_the_transaction_running_on_the_evse_is_accepted(self):
        assert check(1, profile(chargingProfilePurpose="TxProfile",
                                transactionId="tx-1")).accepted

    def test_relative_profile_without_start_schedule_is_accepted(self):
        assert check(1, profile(chargingProfileKind="Relative",
                                schedule__startSchedule=_DROP)).accepted

    def test_recurring_daily_profile_is_accepted(self):
        assert check(1, profile(chargingProfileKind="Recurring",
                                recurrencyKind="Daily")).accepted

    def test_replacing_a_profile_by_id_is_no_duplicate(self):
        """K01.FR.05: same id replaces, whatever its stackLevel and purpose."""
        old = StoredProfile(1, profile())
        assert check(1, profile(period__limit=10.0), installed=[old]).accepted

    def test_same_stack_level_with_disjoint_validity_is_accepted(self):
        """K01.FR.06 forbids only an *overlapping* validity period."""
        old = StoredProfile(1, profile(id=3, validTo="2026-02-01T00:00:00Z"))
        new = profile(validFrom="2026-02-01T00:00:00Z")
        assert check(1, new, installed=[old]).accepted

    def test_same_stack_level_on_another_evse_is_accepted(self):
        old = StoredProfile(2, profile(id=3))
        assert check(1, profile(), installed=[old]).accepted

    def test_number_phases_one_with_phase_to_use_on_a_switching_evse_is_accepted(self):
        """K01.FR.46."""
        prof = profile(period__numberPhases=1, period__phaseToUse=2)
        assert check(1, prof, limits=Limits(phase_switching=frozenset({1}))).accepted

    def test_remote_start_tx_profile_without_transaction_id_is_accepted(self):
        """F01.FR.09/11: the transaction does not exist yet."""
        prof = profile(chargingProfilePurpose="TxProfile", chargingProfileKind="Relative",
                       schedule__startSchedule=_DROP)
        assert check(2, prof, remote_start=True).accepted


REJECTIONS = [
    # (case, evse id, profile, installed, limits, reasonCode)
    ("K01.FR.28 unknown EVSE", 3, profile(), (), Limits(), "UnknownEvse"),
    ("K01.FR.22 external constraints from the CSMS", 0,
     profile(chargingProfilePurpose="ChargingStationExternalConstraints"), (), Limits(),
     "InvalidProfile"),
    ("K04.FR.03 station max on an EVSE", 1,
     profile(chargingProfilePurpose="ChargingStationMaxProfile"), (), Limits(), "InvalidProfile"),
    ("K01.FR.16 TxProfile on EVSE 0", 0,
     profile(chargingProfilePurpose="TxProfile", transactionId="tx-1"), (), Limits(),
     "InvalidProfile"),
    ("K01.FR.38 relative station max", 0,
     profile(chargingProfilePurpose="ChargingStationMaxProfile", chargingProfileKind="Relative",
             schedule__startSchedule=_DROP), (), Limits(), "InvalidProfile"),
    ("K01.FR.40 absolute without startSchedule", 1, profile(schedule__startSchedule=_DROP), (),
     Limits(), "InvalidSchedule"),
    ("K01.FR.41 relative with startSchedule", 1, profile(chargingProfileKind="Relative"), (),
     Limits(), "InvalidSchedule"),
    ("recurring without recurrencyKind", 1, profile(chargingProfileKind="Recurring"), (),
     Limits(), "InvalidProfile"),
    ("validFrom after validTo", 1,
     profile(validFrom="2026-03-01T00:00:00Z", validTo="2026-02-01T00:00:00Z"), (), Limits(),
     "InvalidProfile"),
    ("K01.FR.37 validTo in the past", 1, profile(validTo="2026-01-01T00:00:00Z"), (), Limits(),
     "InvalidProfile"),
    ("K01.FR.26 rate unit not in RateUnit", 1, profile(schedule__chargingRateUnit="W"), (),
     Limits(rate_units=frozenset({"A"})), "UnsupportedRateUnit"),
    ("PeriodsPerSchedule", 1,
     profile(schedule__chargingSchedulePeriod=[{"startPeriod": 60 * i, "limit": 10.0}
                                               for i in range(3)]), (),
     Limits(periods_per_schedule=2), "TooManyElements"),
    ("K01.FR.31 first startPeriod not 0", 1, profile(period__startPeriod=10), (), Limits(),
     "InvalidSchedule"),
    ("K01.FR.35 startPeriods not increasing", 1,
     profile(schedule__chargingSchedulePeriod=[{"startPeriod": 0, "limit": 10.0},
                                               {"startPeriod": 600, "limit": 8.0},
                                               {"startPeriod": 600, "limit": 6.0}]), (),
     Limits(), "InvalidSchedule"),
    ("negative limit", 1, profile(period__limit=-1.0), (), Limits(), "InvalidSchedule"),
    ("K01.FR.19 phaseToUse with 3 phases", 1, profile(period__numberPhases=3,
                                                      period__phaseToUse=1), (),
     Limits(phase_switching=frozenset({1})), "InvalidSchedule"),
    ("K01.FR.48 phaseToUse without ACPhaseSwitchingSupported", 1,
     profile(period__numberPhases=1, period__phaseToUse=1), (), Limits(), "UnsupportedParam"),
    ("K01.FR.34 two schedules without ISO 15118", 1,
     profile(chargingSchedule=[profile()["chargingSchedule"][0],
                               dict(profile()["chargingSchedule"][0], id=2)]), (), Limits(),
     "InvalidSchedule"),
    ("ProfileStackLevel", 1, profile(stackLevel=11), (), Limits(profile_stack_level=10),
     "InvalidStackLevel"),
    ("K01.FR.03 TxProfile without transactionId", 1,
     profile(chargingProfilePurpose="TxProfile"), (), Limits(), "MissingParam"),
    ("K01.FR.33 unknown transaction", 1,
     profile(chargingProfilePurpose="TxProfile", transactionId="nope"), (), Limits(),
     "TxNotFound"),
    ("K01.FR.09 transaction on another EVSE", 2,
     profile(chargingProfilePurpose="TxProfile", transactionId="tx-1"), (), Limits(),
     "TxNotFound"),
    ("K01.FR.05 external constraints cannot be replaced", 1, profile(id=-2),
     (StoredProfile(1, profile(id=-2, chargingProfilePurpose="ChargingStationExternalConstraints"),
                    "EMS"),), Limits(), "InvalidProfile"),
    ("K01.FR.06 same stackLevel/purpose/EVSE overlapping", 1, profile(),
     (StoredProfile(1, profile(id=3)),), Limits(), "DuplicateProfile"),
    ("K01.FR.52 TxDefault on 0 while the stackLevel is on an EVSE", 0, profile(),
     (StoredProfile(2, profile(id=3)),), Limits(), "DuplicateProfile"),
    ("K01.FR.53 TxDefault on an EVSE while the stackLevel is on 0", 1, profile(),
     (StoredProfile(0, profile(id=3)),), Limits(), "DuplicateProfile"),
    ("K01.FR.39 TxProfile stackLevel taken for the transaction", 1,
     profile(chargingProfilePurpose="TxProfile", transactionId="tx-1"),
     (StoredProfile(1, profile(id=3, chargingProfilePurpose="TxProfile", transactionId="tx-1"),
                    transaction_id="tx-1"),), Limits(), "DuplicateProfile"),
    ("Entries(ChargingProfiles) maxLimit", 1, profile(id=9),
     (StoredProfile(2, profile(id=3)),), Limits(max_entries=1), "OutOfStorage"),
]


@pytest.mark.parametrize("case, evse_id, prof, installed, limits, reason", REJECTIONS,
                         ids=[r[0] for r in REJECTIONS])
def test_rejected_with_reason(case, evse_id, prof, installed, limits, reason):
    verdict = check(evse_id, copy.deepcopy(prof), installed=installed, limits=limits)
    assert (verdict.status, verdict.reason) == ("Rejected", reason)
    response = to_wire(verdict.response())
    assert response["statusInfo"]["reasonCode"] == reason
    assert response["statusInfo"]["additionalInfo"]


class TestRemoteStart:
    """The profile of RequestStartTransaction (F01.FR.09/11, K05.FR.02)."""

    def test_a_tx_default_profile_is_rejected(self):
        verdict = check(1, profile(), remote_start=True)
        assert verdict.reason == "InvalidProfile"

    def test_a_transaction_id_is_rejected(self):
        prof = profile(chargingProfilePurpose="TxProfile", transactionId="tx-1")
        assert check(1, prof, remote_start=True).reason == "InvalidProfile"


def test_accepted_response_has_no_status_info():
    assert to_wire(check(1, profile()).response()) == {"status": "Accepted"}


# -- properties --------------------------------------------------------------------------------

_WINDOWS = [(None, None), ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
            ("2026-01-15T00:00:00Z", None), (None, "2026-01-20T00:00:00Z"),
            ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")]


@st.composite
def requests(draw):
    """A SetChargingProfileRequest from a small domain, so that collisions are frequent."""
    purpose = draw(st.sampled_from(["TxDefaultProfile", "ChargingStationMaxProfile",
                                    "TxProfile"]))
    valid_from, valid_to = draw(st.sampled_from(_WINDOWS))
    extra = {}
    if valid_from:
        extra["validFrom"] = valid_from
    if valid_to:
        extra["validTo"] = valid_to
    if purpose == "TxProfile":
        extra["transactionId"] = draw(st.sampled_from(["tx-1", "tx-2"]))
    prof = profile(id=draw(st.integers(1, 6)), stackLevel=draw(st.integers(0, 2)),
                   chargingProfilePurpose=purpose, **extra)
    return draw(st.integers(0, 2)), prof


@settings(max_examples=300, deadline=None)
@given(st.lists(requests(), max_size=25))
def test_accepted_profiles_never_conflict(sequence):
    """Whatever the CSMS sends, the installed set keeps K01.FR.05/06/16/39/52/53, K04.FR.03
    and Entries(ChargingProfiles): validation is the only gate, so it must keep them."""
    installed: dict[int, StoredProfile] = {}
    limits = Limits(max_entries=4)
    for evse_id, prof in sequence:
        verdict = check(evse_id, prof, installed=list(installed.values()), limits=limits)
        if verdict.accepted:
            installed[prof["id"]] = StoredProfile(evse_id, prof, "CSO",
                                                  prof.get("transactionId"))
    stored = list(installed.values())
    assert len(stored) <= limits.max_entries
    for p in stored:
        purpose = p.profile["chargingProfilePurpose"]
        assert (purpose == "ChargingStationMaxProfile") <= (p.evse_id == 0)
        assert (purpose == "TxProfile") <= (ONGOING.get(p.transaction_id) == p.evse_id)
    for i, a in enumerate(stored):
        for b in stored[i + 1:]:
            pa, pb = a.profile, b.profile
            if (pa["chargingProfilePurpose"], pa["stackLevel"]) != \
                    (pb["chargingProfilePurpose"], pb["stackLevel"]):
                continue
            if pa["chargingProfilePurpose"] == "TxProfile":
                assert a.transaction_id != b.transaction_id                       # K01.FR.39
                continue
            if pa["chargingProfilePurpose"] == "TxDefaultProfile":
                assert (a.evse_id == 0) == (b.evse_id == 0)                      # K01.FR.52/53
            if a.evse_id == b.evse_id:
                (a_from, a_to), (b_from, b_to) = validity(model(pa)), validity(model(pb))
                assert a_to <= b_from or b_to <= a_from                           # K01.FR.06
