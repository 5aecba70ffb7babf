"""Composite schedule (K08) and one profile's intervals: examples from part 2 K §3 and part 6."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from messages.ocpp201 import ChargingProfileType, ChargingScheduleType, to_wire
from smart_charging.composite import composite_schedule, convert_limit
from smart_charging.schedule import epoch_seconds, iso_utc, profile_intervals

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def profile(pid, purpose, stack, periods, *, start=None, duration=None, kind="Absolute",
            unit="A", phases=None, **extra):
    """A ChargingProfileType; ``periods`` is [(startPeriod, limit)] or
    [(startPeriod, limit, numberPhases[, phaseToUse])]."""
    sched_periods = []
    for p in periods:
        period = {"startPeriod": p[0], "limit": p[1]}
        if len(p) > 2:
            period["numberPhases"] = p[2]
        elif phases is not None:
            period["numberPhases"] = phases
        if len(p) > 3:
            period["phaseToUse"] = p[3]
        sched_periods.append(period)
    schedule = {"id": pid, "chargingRateUnit": unit, "chargingSchedulePeriod": sched_periods}
    if start is not None:
        schedule["startSchedule"] = start if isinstance(start, str) else iso(start)
    if duration is not None:
        schedule["duration"] = duration
    prof = {"id": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind, "chargingSchedule": [schedule]}
    prof.update(extra)
    return ChargingProfileType.model_validate(prof)


def periods(result):
    return [(p["startPeriod"], p["limit"]) for p in result["chargingSchedulePeriod"]]


def compose(profiles, evse_id=1, duration=3600, unit="A", start=T0, external_limits=(), **kw):
    """The composite schedule as its wire dict; ``external_limits`` as wire dicts."""
    kw["external_limits"] = [(on, ChargingScheduleType.model_validate(schedule))
                             for on, schedule in external_limits]
    return to_wire(composite_schedule(profiles, evse_id=evse_id, start=start,
                                      duration_s=duration, unit=unit, **kw))


class TestOctt:
    """The expected schedules of part 6 (with the 2025-09 errata), x = 5 s of 'time deviation'."""

    def test_tc_k_41_txprofile_overrules_txdefault_and_falls_back_when_it_expires(self):
        """TC_K_41_CS, K08.FR.04, §3.5: min of purposes; TxProfile instead of TxDefault."""
        ss = T0 - timedelta(seconds=5)
        result = compose([
            (0, profile(1, "ChargingStationMaxProfile", 0, [(0, 10)], start=ss, duration=86400)),
            (1, profile(2, "TxDefaultProfile", 0,
                        list(zip([0, 60, 120, 180, 260], [6, 10, 8, 15, 8])), start=ss,
                        duration=300)),
            (1, profile(3, "TxProfile", 0, list(zip([0, 50, 140, 200, 240], [8, 11, 16, 6, 12])),
                        start=ss, duration=260)),
        ], duration=400)
        assert periods(result) == [(0, 8), (45, 10), (195, 6), (235, 10), (255, 8), (295, 10)]
        assert result["duration"] == 400
        assert result["scheduleStart"] == "2026-11-24T10:00:00Z"
        assert result["evseId"] == 1 and result["chargingRateUnit"] == "A"

    def test_tc_k_40_higher_stack_level_leads_until_its_duration_ends(self):
        """TC_K_40_CS, K01.FR.17, K08.FR.06: no transaction, the TxDefaultProfiles count."""
        ss = T0 - timedelta(seconds=5)
        result = compose([
            (1, profile(1, "TxDefaultProfile", 0, [(0, 6), (100, 8), (200, 10)], start=ss,
                        duration=400)),
            (1, profile(2, "TxDefaultProfile", 1, [(0, 7), (100, 9)], start=ss, duration=150)),
        ], duration=350, max_current_a=32)
        assert periods(result) == [(0, 7), (95, 9), (145, 8), (195, 10)]

    def test_tc_k_40_in_watts_uses_the_limit_multiplier_of_three_phases(self):
        """Errata 6.2.69: W limits are A limits times 230 V times numberPhases (K01.FR.50)."""
        ss = T0 - timedelta(seconds=5)
        result = compose([
            (1, profile(1, "TxDefaultProfile", 0, [(0, 6 * 690), (100, 8 * 690), (200, 10 * 690)],
                        start=ss, duration=400, unit="W", phases=3)),
            (1, profile(2, "TxDefaultProfile", 1, [(0, 7 * 690), (100, 9 * 690)], start=ss,
                        duration=150, unit="W", phases=3)),
        ], duration=350, unit="A")
        assert periods(result) == [(0, 7), (95, 9), (145, 8), (195, 10)]
        assert {p["numberPhases"] for p in result["chargingSchedulePeriod"]} == {3}

    def test_tc_k_39_no_profile_reports_one_period_from_zero(self):
        """TC_K_39_CS, K08.FR.02/03: evse 0, no profile: startPeriod 0, the whole duration."""
        result = compose([], evse_id=0, duration=300, unit="W")
        assert result["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 33120.0}]
        assert result["duration"] == 300


class TestNothingLimits:
    """What the composite reports where no profile limits (K08 remark: 'local limits')."""

    def test_the_hardware_maximum_is_reported(self):
        result = compose([], max_current_a=32)
        assert periods(result) == [(0, 32)]

    def test_the_hardware_maximum_in_watts_when_asked_in_amps(self):
        result = compose([], max_power_w=11000, unit="A")
        assert periods(result) == [(0, 15.9)]  # 11000 / 690 = 15.94, rounded down

    def test_without_a_hardware_maximum_the_default_limit(self):
        assert periods(compose([], unit="A")) == [(0, 48)]
        assert periods(compose([], unit="W", default_limit_w=22000)) == [(0, 22000)]

    def test_a_gap_between_profiles_shows_the_hardware_maximum(self):
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 10)], start=T0 + timedelta(
            seconds=100), duration=50))], duration=300, max_current_a=16)
        assert periods(result) == [(0, 16), (100, 10), (150, 16)]

    def test_hardware_maximum_caps_a_higher_profile_limit(self):
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 40), (60, 10)],
                                      start=T0))], max_current_a=32)
        assert periods(result) == [(0, 32), (60, 10)]


class TestStacking:
    """§3.4 stacking and K01.FR.14/15/17/52/53: EVSE 0 profiles stack with the EVSE's own."""

    def test_evse_txdefault_with_higher_stack_level_overrides_the_station_one(self):
        result = compose([
            (0, profile(1, "TxDefaultProfile", 0, [(0, 20)], start=T0)),
            (1, profile(2, "TxDefaultProfile", 1, [(0, 10)], start=T0, duration=600)),
        ])
        assert periods(result) == [(0, 10), (600, 20)]

    def test_evse_txdefault_higher_limit_still_overrides_not_min(self):
        """Within one purpose the stack level decides, not the lower limit (K01.FR.17)."""
        result = compose([
            (0, profile(1, "TxDefaultProfile", 0, [(0, 10)], start=T0)),
            (1, profile(2, "TxDefaultProfile", 1, [(0, 20)], start=T0)),
        ])
        assert periods(result) == [(0, 20)]

    def test_station_txdefault_with_higher_stack_level_leads_on_every_evse(self):
        result = compose([
            (0, profile(1, "TxDefaultProfile", 3, [(0, 6)], start=T0, duration=60)),
            (2, profile(2, "TxDefaultProfile", 1, [(0, 10)], start=T0)),
        ], evse_id=2)
        assert periods(result) == [(0, 6), (60, 10)]

    def test_same_stack_level_on_evse_and_station_the_evse_one_is_more_specific(self):
        """K01.FR.52/53 forbid it; if both are stored anyway the EVSE's own wins."""
        result = compose([
            (0, profile(1, "TxDefaultProfile", 1, [(0, 6)], start=T0)),
            (1, profile(2, "TxDefaultProfile", 1, [(0, 10)], start=T0)),
        ])
        assert periods(result) == [(0, 10)]

    def test_station_txdefault_applies_without_an_evse_profile(self):
        """K01.FR.14: applied, not copied, to all EVSEs."""
        prof = profile(1, "TxDefaultProfile", 0, [(0, 13)], start=T0)
        for evse in (1, 7):
            assert periods(compose([(0, prof)], evse_id=evse)) == [(0, 13)]

    def test_profiles_of_other_evses_are_ignored(self):
        result = compose([(2, profile(1, "TxDefaultProfile", 0, [(0, 6)], start=T0))],
                         evse_id=1, max_current_a=32)
        assert periods(result) == [(0, 32)]

    def test_txprofile_overrules_a_lower_txdefault(self):
        """§3.5: TxDefault is not taken into account while a TxProfile is valid."""
        result = compose([
            (1, profile(1, "TxDefaultProfile", 5, [(0, 6)], start=T0)),
            (1, profile(2, "TxProfile", 0, [(0, 16)], start=T0, duration=600,
                        transactionId="tx1")),
        ])
        assert periods(result) == [(0, 16), (600, 6)]

    def test_station_max_caps_every_purpose(self):
        """§3.5 / K08.FR.04: the composite is the lowest of the leading schedules."""
        result = compose([
            (0, profile(1, "ChargingStationMaxProfile", 0, [(0, 12), (1800, 30)], start=T0)),
            (1, profile(2, "TxProfile", 0, [(0, 16)], start=T0, transactionId="tx1")),
        ])
        assert periods(result) == [(0, 12), (1800, 16)]

    def test_station_max_installed_on_an_evse_is_not_used(self):
        result = compose([(1, profile(1, "ChargingStationMaxProfile", 0, [(0, 6)], start=T0))],
                         max_current_a=32)
        assert periods(result) == [(0, 32)]

    def test_txprofile_on_evse_0_is_not_used(self):
        """K01.FR.16: TxProfile only with evseId > 0."""
        result = compose([(0, profile(1, "TxProfile", 0, [(0, 6)], start=T0))], max_current_a=32)
        assert periods(result) == [(0, 32)]

    def test_external_constraints_profile_is_its_own_purpose(self):
        result = compose([
            (1, profile(1, "TxProfile", 0, [(0, 16)], start=T0, transactionId="t")),
            (0, profile(-1, "ChargingStationExternalConstraints", 0, [(0, 10)], start=T0,
                        duration=60)),
        ])
        assert periods(result) == [(0, 10), (60, 16)]


class TestValidity:
    """K01.FR.10/11/12/13/30/36/37: where a profile's periods are in force."""

    def test_valid_from_and_valid_to_cut_the_schedule(self):
        result = compose([
            (1, profile(1, "TxDefaultProfile", 0, [(0, 8)], start=T0)),
            (1, profile(2, "TxDefaultProfile", 1, [(0, 20)], start=T0,
                        validFrom=iso(T0 + timedelta(seconds=100)),
                        validTo=iso(T0 + timedelta(seconds=200)))),
        ])
        assert periods(result) == [(0, 8), (100, 20), (200, 8)]

    def test_valid_to_is_exclusive_and_valid_from_inclusive(self):
        prof = profile(1, "TxDefaultProfile", 0, [(0, 8)], start=T0,
                       validFrom=iso(T0 + timedelta(seconds=10)),
                       validTo=iso(T0 + timedelta(seconds=20)))
        ivs = profile_intervals(prof, window_start=epoch_seconds(T0),
                                window_end=epoch_seconds(T0) + 100)
        assert [(iv.start - epoch_seconds(T0), iv.end - epoch_seconds(T0)) for iv in ivs] == [
            (10, 20)]

    def test_a_period_past_the_duration_is_not_executed(self):
        """K01.FR.11."""
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 8), (100, 6)], start=T0,
                                      duration=100))], max_current_a=32)
        assert periods(result) == [(0, 8), (100, 32)]

    def test_future_start_schedule_limits_only_from_then(self):
        """K01.FR.30."""
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 8)],
                                      start=T0 + timedelta(seconds=30)))], max_current_a=32)
        assert periods(result) == [(0, 32), (30, 8)]

    def test_schedule_started_in_the_past_is_shifted_to_the_window(self):
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 8), (3600, 9), (7200, 10)],
                                      start=T0 - timedelta(hours=1, seconds=10)))], duration=7200)
        assert periods(result) == [(0, 9), (3590, 10)]

    def test_first_period_not_at_zero_leaves_no_limit_before_it(self):
        """K01.FR.31 is a CSMS duty; a stored profile breaking it must not break the composite."""
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(60, 8)], start=T0))],
                         max_current_a=32)
        assert periods(result) == [(0, 32), (60, 8)]

    def test_periods_out_of_order_are_taken_in_start_order(self):
        """K01.FR.35."""
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(60, 8), (0, 6)], start=T0))])
        assert periods(result) == [(0, 6), (60, 8)]

    def test_fractional_seconds_are_floored(self):
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 8)],
                                      start="2026-11-24T10:00:10.900Z"))],
                         start=T0 + timedelta(microseconds=999_999), max_current_a=32)
        assert result["scheduleStart"] == "2026-11-24T10:00:00Z"
        assert periods(result) == [(0, 32), (10, 8)]


class TestRecurring:
    """§3.3 Recurring, K01.FR.13/30: repeats in UTC, independent of time zones and DST."""

    def test_daily_repeats_across_midnight(self):
        # Every day from 22:00Z: 6 A for 8 hours, then 16 A until the next day.
        prof = profile(1, "TxDefaultProfile", 0, [(0, 6), (8 * 3600, 16)],
                       start="2026-11-01T22:00:00Z", kind="Recurring", recurrencyKind="Daily")
        start = datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)
        result = compose([(1, prof)], start=start, duration=36 * 3600)
        h = 3600
        assert periods(result) == [(0, 16), (2 * h, 6), (10 * h, 16), (26 * h, 6), (34 * h, 16)]

    def test_daily_with_duration_falls_back_after_the_duration(self):
        """K01.FR.13: a duration shorter than the recurrence: default behaviour after it."""
        prof = profile(1, "TxDefaultProfile", 0, [(0, 6)], start="2026-11-01T22:00:00Z",
                       duration=3600, kind="Recurring", recurrencyKind="Daily")
        start = datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)
        result = compose([(1, prof)], start=start, duration=26 * 3600, max_current_a=32)
        h = 3600
        assert periods(result) == [(0, 32), (h, 6), (2 * h, 32), (25 * h, 6)]

    def test_duration_longer_than_a_day_is_cut_at_the_next_recurrence(self):
        prof = profile(1, "TxDefaultProfile", 0, [(0, 6), (20 * 3600, 10), (30 * 3600, 2)],
                       start="2026-11-01T00:00:00Z", duration=40 * 3600, kind="Recurring",
                       recurrencyKind="Daily")
        result = compose([(1, prof)], start=datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc),
                         duration=6 * 3600)
        assert periods(result) == [(0, 6), (3600, 10), (5 * 3600, 6)]

    def test_weekly_boundary(self):
        # From Monday 2026-11-23 00:00Z: 10 A for a day, then 32 A for the rest of the week.
        prof = profile(1, "TxDefaultProfile", 0, [(0, 10), (86400, 32)],
                       start="2026-11-23T00:00:00Z", kind="Recurring", recurrencyKind="Weekly")
        start = datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc)  # Sunday 23:00Z
        result = compose([(1, prof)], start=start, duration=3 * 3600)
        assert periods(result) == [(0, 32), (3600, 10)]
        start = datetime(2026, 12, 7, 23, 30, tzinfo=timezone.utc)  # two weeks later
        result = compose([(1, prof)], start=start, duration=3600)
        assert periods(result) == [(0, 10), (1800, 32)]

    def test_no_occurrence_before_start_schedule(self):
        """K01.FR.30: a recurring profile starting tomorrow does not limit today."""
        prof = profile(1, "TxDefaultProfile", 0, [(0, 6)], duration=3600,
                       start=T0 + timedelta(days=1), kind="Recurring", recurrencyKind="Daily")
        result = compose([(1, prof)], duration=2 * 86400, max_current_a=32)
        assert periods(result) == [(0, 32), (86400, 6), (86400 + 3600, 32)]

    def test_daily_crosses_dst_change_in_utc(self):
        """CET -> CEST on 2026-03-29: a 23:00+01:00 daily profile stays at 22:00Z."""
        prof = profile(1, "TxDefaultProfile", 0, [(0, 6)], duration=3600,
                       start="2026-03-27T23:00:00+01:00", kind="Recurring",
                       recurrencyKind="Daily")
        start = datetime(2026, 3, 28, 12, 0, tzinfo=timezone.utc)
        result = compose([(1, prof)], start=start, duration=2 * 86400, max_current_a=32)
        h = 3600
        # 22:00Z on the 28th, 29th (the DST day) and so on: 10 h, 34 h after 12:00Z.
        assert periods(result) == [(0, 32), (10 * h, 6), (11 * h, 32), (34 * h, 6),
                                   (35 * h, 32)]

    def test_the_same_instant_in_any_offset_gives_the_same_schedule(self):
        base = [(0, 6), (7200, 16)]
        a = profile(1, "TxDefaultProfile", 0, base, start="2026-03-29T00:30:00Z",
                    kind="Recurring", recurrencyKind="Daily")
        b = profile(1, "TxDefaultProfile", 0, base, start="2026-03-29T02:30:00+02:00",
                    kind="Recurring", recurrencyKind="Daily")
        c = profile(1, "TxDefaultProfile", 0, base, start="2026-03-28T19:30:00-05:00",
                    kind="Recurring", recurrencyKind="Daily")
        start_utc = datetime(2026, 4, 2, 0, 0, tzinfo=timezone.utc)
        start_local = start_utc.astimezone(timezone(timedelta(hours=9)))
        results = [compose([(1, p)], start=s, duration=86400)
                   for p in (a, b, c) for s in (start_utc, start_local)]
        assert all(r == results[0] for r in results)
        assert periods(results[0]) == [(0, 16), (1800, 6), (9000, 16)]

    def test_recurring_without_recurrency_kind_does_not_limit(self):
        prof = profile(1, "TxDefaultProfile", 0, [(0, 6)], start=T0, kind="Recurring")
        assert periods(compose([(1, prof)], max_current_a=32)) == [(0, 32)]


class TestRelative:
    """§3.3 Relative, K01.FR.41/42, K08.FR.06."""

    def test_relative_counts_from_the_transaction_start(self):
        prof = profile(1, "TxProfile", 0, [(0, 6), (600, 16)], kind="Relative",
                       transactionId="tx")
        result = compose([(1, prof)], transaction_start=T0 - timedelta(seconds=500))
        assert periods(result) == [(0, 6), (100, 16)]

    def test_relative_without_a_transaction_counts_from_now(self):
        """K08.FR.06: as if a transaction started now."""
        prof = profile(1, "TxDefaultProfile", 0, [(0, 6), (600, 16)], kind="Relative")
        assert periods(compose([(1, prof)])) == [(0, 6), (600, 16)]

    def test_relative_duration_ends_relative_to_the_transaction(self):
        prof = profile(1, "TxDefaultProfile", 0, [(0, 6)], kind="Relative", duration=900)
        result = compose([(1, prof)], transaction_start=T0 - timedelta(seconds=300),
                         max_current_a=32)
        assert periods(result) == [(0, 6), (600, 32)]


class TestUnits:
    """K01.FR.49/50/51: A per phase, W = A * U * phases, default 3 phases."""

    def test_amps_to_watts_with_three_phases_by_default(self):
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 16)], start=T0))], unit="W")
        assert periods(result) == [(0, 11040)]
        assert "numberPhases" not in result["chargingSchedulePeriod"][0]

    def test_amps_to_watts_with_one_phase(self):
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 16, 1)], start=T0))],
                         unit="W")
        assert result["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 3680.0, "numberPhases": 1}]

    def test_watts_to_amps_rounds_down_to_one_decimal(self):
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 11000, 3)], start=T0,
                                      unit="W"))], unit="A")
        assert periods(result) == [(0, 15.9)]  # 15.942...

    def test_watts_to_amps_with_the_configured_voltage(self):
        result = compose([(1, profile(1, "TxDefaultProfile", 0, [(0, 7200, 3)], start=T0,
                                      unit="W"))], unit="A", nominal_voltage=120)
        assert periods(result) == [(0, 20)]

    def test_mixed_units_take_the_lower_after_conversion(self):
        result = compose([
            (0, profile(1, "ChargingStationMaxProfile", 0, [(0, 7000), (60, 13000)], start=T0,
                        unit="W")),
            (1, profile(2, "TxProfile", 0, [(0, 16)], start=T0, transactionId="t")),
        ], unit="A")
        assert periods(result) == [(0, 10.1), (60, 16)]  # 7000 / 690 = 10.14

    def test_fewest_phases_in_force_are_reported_and_cap_the_hardware(self):
        result = compose([
            (1, profile(1, "TxProfile", 0, [(0, 30, 1, 2), (60, 30, 3)], start=T0,
                        transactionId="t")),
        ], unit="W", max_current_a=20, duration=120)
        assert result["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 4600.0, "numberPhases": 1, "phaseToUse": 2},
            {"startPeriod": 60, "limit": 13800.0, "numberPhases": 3},
        ]

    def test_convert_limit_round_trips(self):
        assert convert_limit(16, "A", "W", 3, 230) == 11040
        assert convert_limit(11040, "W", "A", 3, 230) == 16
        assert convert_limit(16, "A", "A", 1, 230) == 16


class TestExternalLimits:
    """K11.FR.01, K12.FR.01: never faster than a limit set from outside."""

    def test_external_limit_on_the_evse_caps_it(self):
        ext = {"id": 1, "chargingRateUnit": "W", "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 6900, "numberPhases": 3}]}
        result = compose([(1, profile(1, "TxProfile", 0, [(0, 16)], start=T0,
                                      transactionId="t"))], external_limits=[(1, ext)])
        assert periods(result) == [(0, 10)]

    def test_external_limit_on_evse_0_caps_every_evse_and_the_station(self):
        ext = {"id": 1, "chargingRateUnit": "A", "startSchedule": iso(T0 + timedelta(seconds=60)),
               "duration": 60, "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 5}]}
        assert periods(compose([], external_limits=[(0, ext)], max_current_a=32)) == [
            (0, 32), (60, 5), (120, 32)]
        assert periods(compose([], evse_id=0, external_limits=[(0, ext)], max_current_a=63)) == [
            (0, 63), (60, 5), (120, 63)]

    def test_external_limit_of_another_evse_is_ignored(self):
        ext = {"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 5}]}
        assert periods(compose([], external_limits=[(2, ext)], max_current_a=32)) == [(0, 32)]

    def test_several_external_limits_all_cap(self):
        a = {"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 20}, {"startPeriod": 100, "limit": 8}]}
        b = {"id": 2, "chargingRateUnit": "A", "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 12}]}
        assert periods(compose([], external_limits=[(1, a), (0, b)], duration=200)) == [
            (0, 12), (100, 8)]


class TestStationComposite:
    """K08.FR.03: evseId 0 reports what the station expects to draw from the grid."""

    def test_without_evse_ids_only_station_level_limits_count(self):
        result = compose([
            (0, profile(1, "ChargingStationMaxProfile", 0, [(0, 40)], start=T0)),
            (0, profile(2, "TxDefaultProfile", 0, [(0, 6)], start=T0)),
        ], evse_id=0, max_current_a=63)
        assert periods(result) == [(0, 40)]

    def test_the_evses_are_summed_and_capped_by_the_station_maximum(self):
        result = compose([
            (0, profile(1, "ChargingStationMaxProfile", 0, [(0, 40), (600, 20)], start=T0)),
            (0, profile(2, "TxDefaultProfile", 0, [(0, 16)], start=T0)),
            (2, profile(3, "TxProfile", 0, [(0, 10), (300, 32)], start=T0, transactionId="t")),
        ], evse_id=0, evse_ids=[1, 2, 3], evse_max={1: (32, None), 2: (32, None), 3: (6, None)},
            duration=900)
        # EVSE 1: 16, EVSE 2: 10 then 32, EVSE 3: 6 (hardware) -> 32, 54 capped to 40, 20.
        assert periods(result) == [(0, 32), (300, 40), (600, 20)]

    def test_relative_profiles_of_each_evse_use_its_own_transaction_start(self):
        rel = profile(2, "TxDefaultProfile", 0, [(0, 6), (600, 16)], kind="Relative")
        result = compose([(0, rel)], evse_id=0, evse_ids=[1, 2], duration=900,
                         transaction_starts={1: T0 - timedelta(seconds=500)})
        # EVSE 1 raised to 16 at 100 s, EVSE 2 (no transaction: from now) at 600 s.
        assert periods(result) == [(0, 12), (100, 22), (600, 32)]

    def test_an_evse_without_limits_counts_with_the_default_limit(self):
        assert periods(compose([], evse_id=0, evse_ids=[1, 2], unit="A")) == [(0, 96)]
        assert periods(compose([], evse_id=0, evse_ids=[1, 2], unit="A",
                               max_current_a=60)) == [(0, 60)]


    def test_each_evse_converts_with_its_own_phases(self):
        """K01.FR.49/50: a single-phase EVSE's 16 A is 3680 W, a three-phase one's 11040 W."""
        prof = profile(1, "TxDefaultProfile", 0, [(0, 16)], start=T0)
        result = compose([(0, prof)], evse_id=0, evse_ids=[1, 2], unit="W",
                         evse_phases={1: 1})
        assert periods(result) == [(0, 3680 + 11040)]


class TestShape:
    """The CompositeScheduleType as OCPP JSON."""

    def test_adjacent_equal_periods_are_merged(self):
        result = compose([
            (1, profile(1, "TxDefaultProfile", 0, [(0, 8), (60, 8), (120, 10)], start=T0)),
            (1, profile(2, "TxDefaultProfile", 1, [(0, 8)], start=T0 + timedelta(seconds=200),
                        duration=50)),
        ], duration=600)
        assert periods(result) == [(0, 8), (120, 10), (200, 8), (250, 10)]

    def test_schedule_start_is_utc_with_z(self):
        start = datetime(2026, 11, 24, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        assert compose([], start=start)["scheduleStart"] == "2026-11-24T10:00:00Z"
        assert iso_utc(0) == "1970-01-01T00:00:00Z"

    def test_naive_start_is_utc(self):
        assert compose([], start=datetime(2026, 11, 24, 10, 0))["scheduleStart"] == (
            "2026-11-24T10:00:00Z")

    def test_bad_arguments_raise(self):
        with pytest.raises(ValueError):
            compose([], unit="kW")
        with pytest.raises(ValueError):
            compose([], duration=0)
