"""What an EnergySink applies now, from a composite schedule (K02 step 6: "while charging is in
progress the EVSE will continuously adapt the maximum current or power").

Theory of operation
-------------------
The station delivers a CompositeScheduleType (:func:`smart_charging.composite.composite_schedule`)
to the EnergySink of each EVSE id. :class:`SinkLimits` answers two questions for any ``now``:

* :meth:`SinkLimits.limit_at`: the :class:`AppliedLimit` in force (current per phase, power,
  phases), in both units, converted with the nominal voltage and the period's numberPhases
  (K01.FR.49/50/51);
* :meth:`SinkLimits.next_change`: when the limit changes next, so the actor arms one
  ``wakeupAfter`` per period start instead of polling.

Before ``scheduleStart`` (a schedule delivered a moment early, or a clock step back) the first
period applies: it is what the station computed for "now". At and after the end of the schedule
the last period stays in force, and :meth:`next_change` returns the end once so the actor wakes
up and can see ``expired``: the station is meant to deliver a fresh schedule every
CompositeScheduleIntervalS, well before RequestCompositeScheduleDurationS runs out; keeping the
last computed limit is safer than jumping to the hardware maximum.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from messages.ocpp201 import ChargingRateUnitEnumType, CompositeScheduleType
from smart_charging.composite import convert_limit
from smart_charging.schedule import epoch_seconds

__all__ = ["AppliedLimit", "SinkLimits"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class AppliedLimit:
    """The limit in force at one moment, in both units."""

    current_a: float  # per phase (K01.FR.51)
    power_w: float
    number_phases: int
    phase_to_use: int | None
    unit: ChargingRateUnitEnumType  # the schedule's unit; the other value is converted
    period_start: datetime
    expired: bool  # the schedule's duration has run out


class SinkLimits:
    """The limits of one composite schedule over time; pure, no clock of its own.

    Args:
        schedule: the CompositeScheduleType (as :func:`composite_schedule` returns it).
        nominal_voltage: line voltage for A <-> W.
        default_phases: phases where a period gives none (K01.FR.49).
    """

    def __init__(self, schedule: CompositeScheduleType, *, nominal_voltage: float = 230.0,
                 default_phases: int = 3) -> None:
        periods = schedule.charging_schedule_period
        if not periods:
            raise ValueError("a composite schedule has at least one period")
        self.evse_id: int = schedule.evse_id
        self.unit = schedule.charging_rate_unit
        self._start = epoch_seconds(schedule.schedule_start)
        self._end = self._start + int(schedule.duration)
        self._voltage = nominal_voltage
        self._default_phases = default_phases
        self._periods = sorted(periods, key=lambda p: p.start_period)
        self._starts = [self._start + p.start_period for p in self._periods]

    @property
    def ends_at(self) -> datetime:
        """When the schedule's duration runs out."""
        return _EPOCH + timedelta(seconds=self._end)

    def limit_at(self, now: datetime) -> AppliedLimit:
        """The limit in force at ``now``."""
        t = epoch_seconds(now)
        i = max(0, bisect.bisect_right(self._starts, t) - 1)
        period = self._periods[i]
        phases = period.number_phases or self._default_phases
        limit = float(period.limit)
        a, w = ChargingRateUnitEnumType.a, ChargingRateUnitEnumType.w
        if self.unit == a:
            current, power = limit, convert_limit(limit, a, w, phases, self._voltage)
        else:
            current, power = convert_limit(limit, w, a, phases, self._voltage), limit
        return AppliedLimit(current_a=current, power_w=power, number_phases=phases,
                            phase_to_use=period.phase_to_use, unit=self.unit,
                            period_start=_EPOCH + timedelta(seconds=self._starts[i]),
                            expired=t >= self._end)

    def next_change(self, now: datetime) -> datetime | None:
        """The next period start after ``now``, or the end of the schedule; None after the end."""
        t = epoch_seconds(now)
        # Before scheduleStart the first period is already in force: its start is no change.
        i = bisect.bisect_right(self._starts, max(t, self._start))
        if i < len(self._starts) and self._starts[i] < self._end:
            return _EPOCH + timedelta(seconds=self._starts[i])
        if t < self._end:
            return _EPOCH + timedelta(seconds=self._end)
        return None

    def seconds_to_next_change(self, now: datetime) -> float | None:
        """Seconds from ``now`` to :meth:`next_change` (for ``wakeupAfter``), or None."""
        nxt = self.next_change(now)
        if nxt is None:
            return None
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return max(0.0, (nxt - now).total_seconds())
