"""EnergySink logic (station/energy_sink_core.py) and the Evse applying sink limits
(EvseCore.apply_limit): K02 step 6, K04.FR.05, K11.FR.04."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from messages.energy import ChargingLimitApplied, CompositeScheduleUpdated
from station.energy_sink_core import SinkCore
from tests.unit.test_evse_core import Station

T0 = datetime(2026, 1, 2, 12, 0, tzinfo=timezone.utc)


def schedule(evse_id: int, periods: list[tuple[int, float]], unit: str = "A",
             duration: int = 600, charging: list[int] = ()) -> CompositeScheduleUpdated:
    return CompositeScheduleUpdated(
        evse_id=evse_id, computed_at="2026-01-02T12:00:00.000Z", charging_evses=list(charging),
        schedule={"evseId": evse_id, "duration": duration, "scheduleStart": "2026-01-02T12:00:00Z",
                  "chargingRateUnit": unit,
                  "chargingSchedulePeriod": [{"startPeriod": s, "limit": lim, "numberPhases": 3}
                                             for s, lim in periods]})


class TestEvseSink:
    def test_limit_now_then_at_the_next_period_start(self):
        sink = SinkCore(1, [1, 2])
        assert sink.tick(T0) == []                                 # no schedule: nothing
        sent = sink.schedule_updated(schedule(1, [(0, 10.0), (120, 16.0)]), T0)
        assert sent == [(1, ChargingLimitApplied(sink=1, current_a=10.0, phases=3))]
        assert sink.seconds_to_next_change(T0) == 120
        assert sink.tick(T0 + timedelta(seconds=60)) == []           # unchanged: not resent
        assert sink.tick(T0 + timedelta(seconds=120)) == [
            (1, ChargingLimitApplied(sink=1, current_a=16.0, phases=3))]

    def test_watts_are_passed_as_power(self):
        sink = SinkCore(2, [1, 2])
        sent = sink.schedule_updated(schedule(2, [(0, 11000.0)], unit="W"), T0)
        assert sent == [(2, ChargingLimitApplied(sink=2, power_w=11000.0, phases=3))]

    def test_resend_repeats_the_limit(self):
        sink = SinkCore(1, [1])
        sink.schedule_updated(schedule(1, [(0, 10.0)]), T0)
        assert sink.resend(T0) == [(1, ChargingLimitApplied(sink=1, current_a=10.0, phases=3))]


class TestStationSink:
    """Sink 0 shares the station's limit: the total stays within it (K04.FR.05)."""

    def test_share_among_charging_evses_leaves_room_for_one_more(self):
        sink = SinkCore(0, [1, 2, 3, 4])
        sent = dict(sink.schedule_updated(schedule(0, [(0, 30.0)], charging=[1, 2]), T0))
        assert sent == {e: ChargingLimitApplied(sink=0, current_a=10.0) for e in (1, 2, 3, 4)}

    def test_all_charging_share_equally(self):
        sink = SinkCore(0, [1, 2])
        sent = dict(sink.schedule_updated(schedule(0, [(0, 30.0)], charging=[1, 2]), T0))
        assert sent == {e: ChargingLimitApplied(sink=0, current_a=15.0) for e in (1, 2)}

    def test_nobody_charging_each_may_take_the_whole_limit(self):
        sink = SinkCore(0, [1, 2])
        sent = dict(sink.schedule_updated(schedule(0, [(0, 20000.0)], unit="W"), T0))
        assert sent == {1: ChargingLimitApplied(sink=0, power_w=20000.0),
                        2: ChargingLimitApplied(sink=0, power_w=20000.0)}

    @pytest.mark.parametrize("charging", [[], [1], [1, 2], [1, 2, 3], [2, 3]])
    def test_charging_evses_plus_one_newcomer_never_exceed_the_limit(self, charging):
        sink = SinkCore(0, [1, 2, 3, 4])
        shares = dict(sink.schedule_updated(schedule(0, [(0, 40.0)], charging=charging), T0))
        idle = [e for e in shares if e not in charging]
        total = sum(shares[e].current_a for e in charging)
        if idle:
            total += shares[idle[0]].current_a
        assert total <= 40.0 + 1e-9


class TestEvseAppliesLimits:
    """EvseCore.apply_limit: the lowest of its sinks, reported while charging."""

    def test_power_follows_the_lowest_limit_and_the_transaction_reports_it(self):
        st = Station()
        st.session()
        assert st.hw.power_w == pytest.approx(32 * 230 * 3)
        st.call("apply_limit", 1, 10.0, None, 3)
        assert st.hw.power_w == pytest.approx(10 * 230 * 3)
        assert st.events[-1]["triggerReason"] == "ChargingRateChanged"           # K11.FR.04
        st.call("apply_limit", 0, 8.0, None, None)                               # station share
        assert st.hw.power_w == pytest.approx(8 * 230 * 3)
        st.call("apply_limit", 0, 20.0, None, None)
        assert st.hw.power_w == pytest.approx(10 * 230 * 3)
        view = st.core.status(st.now)["applied_limit"]
        assert view == {"current_a": 10.0, "power_w": None, "phases": 3}

    def test_same_limit_again_is_no_event(self):
        st = Station()
        st.session()
        st.call("apply_limit", 1, 10.0, None, 3)
        count = len(st.events)
        st.call("apply_limit", 1, 10.0, None, 3)
        assert len(st.events) == count

    def test_limit_below_six_amps_pauses_charging(self):
        """IEC 61851-1 via the simulator: no duty cycle below 6 A."""
        st = Station()
        st.session()
        st.call("apply_limit", 1, 0.0, None, 3)
        assert st.hw.power_w == 0.0
