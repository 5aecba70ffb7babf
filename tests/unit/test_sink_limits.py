"""SinkLimits: the limit an EnergySink applies now and when it changes (K02 step 6)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from messages.ocpp201 import ChargingProfileType, CompositeScheduleType
from smart_charging.composite import composite_schedule
from smart_charging.sink_limits import SinkLimits

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def schedule(periods, unit="A", duration=600, evse_id=1):
    return CompositeScheduleType.model_validate({
        "evseId": evse_id, "duration": duration, "scheduleStart": "2026-11-24T10:00:00Z",
        "chargingRateUnit": unit, "chargingSchedulePeriod": periods})


class TestLimitNow:
    def test_amps_give_current_per_phase_and_power_of_all_phases(self):
        """K01.FR.51: A is per phase; K01.FR.49: 3 phases when none given."""
        limit = SinkLimits(schedule([{"startPeriod": 0, "limit": 16}])).limit_at(at(1))
        assert (limit.current_a, limit.power_w, limit.number_phases) == (16, 11040, 3)
        assert limit.unit == "A" and not limit.expired and limit.phase_to_use is None

    def test_watts_give_current_per_phase_with_the_period_phases(self):
        """K01.FR.50: I = P / (U * numberPhases)."""
        sink = SinkLimits(schedule([{"startPeriod": 0, "limit": 3680, "numberPhases": 1,
                                     "phaseToUse": 3}], unit="W"))
        limit = sink.limit_at(at(0))
        assert (limit.current_a, limit.power_w, limit.number_phases) == (16, 3680, 1)
        assert limit.phase_to_use == 3

    def test_the_period_in_force_is_the_last_started(self):
        sink = SinkLimits(schedule([{"startPeriod": 0, "limit": 6}, {"startPeriod": 60, "limit": 10},
                                    {"startPeriod": 120, "limit": 8}]))
        assert [sink.limit_at(at(s)).current_a for s in (0, 59.9, 60, 119, 120, 599)] == [
            6, 6, 10, 10, 8, 8]
        assert sink.limit_at(at(61)).period_start == at(60)

    def test_before_the_start_the_first_period(self):
        sink = SinkLimits(schedule([{"startPeriod": 0, "limit": 6}, {"startPeriod": 60, "limit": 10}]))
        assert sink.limit_at(at(-5)).current_a == 6
        assert sink.next_change(at(-5)) == at(60)

    def test_after_the_end_the_last_period_stays_and_is_marked_expired(self):
        sink = SinkLimits(schedule([{"startPeriod": 0, "limit": 6}, {"startPeriod": 60, "limit": 10}],
                                   duration=120))
        limit = sink.limit_at(at(500))
        assert limit.current_a == 10 and limit.expired
        assert sink.ends_at == at(120)

    def test_nominal_voltage_is_used(self):
        sink = SinkLimits(schedule([{"startPeriod": 0, "limit": 7200}], unit="W"),
                          nominal_voltage=120)
        assert sink.limit_at(at(0)).current_a == 20

    def test_empty_schedule_is_refused(self):
        """The model refuses it already (the schema's minItems 1); ValidationError is a
        ValueError."""
        with pytest.raises(ValueError):
            SinkLimits(schedule([]))


class TestNextChange:
    def test_wakes_at_every_period_start_then_at_the_end_then_never(self):
        sink = SinkLimits(schedule([{"startPeriod": 0, "limit": 6}, {"startPeriod": 60, "limit": 10},
                                    {"startPeriod": 90, "limit": 8}], duration=300))
        now = at(0)
        wakeups = []
        while (nxt := sink.next_change(now)) is not None:
            wakeups.append((nxt - T0).total_seconds())
            now = nxt
        assert wakeups == [60, 90, 300]

    def test_seconds_to_next_change_for_wakeup_after(self):
        sink = SinkLimits(schedule([{"startPeriod": 0, "limit": 6}, {"startPeriod": 60, "limit": 10}]))
        assert sink.seconds_to_next_change(at(12.5)) == 47.5
        assert sink.seconds_to_next_change(at(600)) is None
        naive = datetime(2026, 11, 24, 10, 0, 30)
        assert sink.seconds_to_next_change(naive) == 30

    def test_follows_a_computed_composite_schedule(self):
        profile = {"id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                   "chargingProfileKind": "Absolute",
                   "chargingSchedule": [{"id": 1, "chargingRateUnit": "W",
                                         "startSchedule": "2026-11-24T10:00:00Z",
                                         "chargingSchedulePeriod": [
                                             {"startPeriod": 0, "limit": 6900},
                                             {"startPeriod": 30, "limit": 4140}]}]}
        comp = composite_schedule([(0, ChargingProfileType.model_validate(profile))], evse_id=3,
                                  start=T0, duration_s=60, unit="W")
        sink = SinkLimits(comp)
        assert sink.evse_id == 3
        assert sink.limit_at(at(1)).current_a == 10
        assert sink.next_change(at(1)) == at(30)
        assert sink.limit_at(at(30)).current_a == 6
