"""One charging profile's schedule as absolute time intervals (functional block K, part 2 §3).

Theory of operation
-------------------
Every time in this package is a whole number of seconds since the Unix epoch, in UTC. The
OCPP JSON timestamps (``startSchedule``, ``validFrom``, ``validTo``) carry their own offset, so
converting them to epoch seconds makes every later step independent of the station's time zone
and of daylight-saving changes: a ``Daily`` recurrence repeats every 86 400 s of real time, a
``Weekly`` one every 604 800 s, exactly as libocpp does. Times are floored to whole seconds
because a composite schedule counts whole seconds (``startPeriod`` is an integer).

:func:`profile_intervals` turns one ChargingProfileType into the list of
:class:`Interval` s in which one of its ChargingSchedulePeriods is in force inside a window:

* **occurrence start** (§3.3): ``Absolute`` at ``startSchedule``; ``Recurring`` at
  ``startSchedule + k * (1 day | 1 week)`` for k >= 0, never before ``startSchedule``
  (K01.FR.30); ``Relative`` at the transaction start (when the EVSE was ready to deliver energy,
  K01.FR.42), or at the window start when there is no transaction, as K08.FR.06 asks the
  composite schedule to be computed "as if there is a transaction ongoing" starting now;
* **period end**: the next period's ``startPeriod`` (K01.FR.12), else the schedule's
  ``duration`` (K01.FR.11/12, K01.FR.13 for recurring ones), else the next recurrence, else
  never (a TxProfile without duration lasts as long as its transaction: the caller passes a
  TxProfile only while its transaction runs);
* **validity**: cut to ``validFrom <= t < validTo`` (K01.FR.36/37, K01.FR.10);
* **window**: cut to ``[window_start, window_end)``.

The result is sorted and its intervals do not overlap. Profiles that validation should have
rejected are handled without raising (a stored profile must never break every composite
schedule): periods are taken in ``startPeriod`` order (K01.FR.35), time before a first
``startPeriod`` other than 0 has no limit (K01.FR.31), ``Recurring`` without ``recurrencyKind``
or ``startSchedule`` contributes nothing, ``Absolute`` without ``startSchedule`` starts at
``validFrom`` or else at the window start (K01.FR.40/41).

Only the first ChargingSchedule of a profile is used: more than one exists only for ISO 15118
TxProfiles (K01.FR.34), where the EV picks one; this station does not play that negotiation.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from messages.ocpp201 import (ChargingProfileKindEnumType, ChargingProfileType,
                              ChargingSchedulePeriodType, ChargingScheduleType,
                              RecurrencyKindEnumType)

__all__ = [
    "DAY_S",
    "FOREVER",
    "WEEK_S",
    "Interval",
    "epoch_seconds",
    "iso_utc",
    "profile_intervals",
    "schedule_intervals",
]

DAY_S = 86_400
WEEK_S = 7 * DAY_S
#: An end time later than any window: "lasts until further notice".
FOREVER = 1 << 62

_RECURRENCE_S = {RecurrencyKindEnumType.daily: DAY_S, RecurrencyKindEnumType.weekly: WEEK_S}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SECOND = timedelta(seconds=1)


class Interval(NamedTuple):
    """One ChargingSchedulePeriod in force during ``[start, end)`` (epoch seconds)."""

    start: int
    end: int
    limit: float
    unit: str  # ChargingRateUnitEnumType's value, A (per phase, K01.FR.51) or W; see below
    number_phases: int | None
    phase_to_use: int | None


def epoch_seconds(value: datetime | str) -> int:
    """Whole seconds since the epoch (floored) of an OCPP dateTime or an aware ``datetime``.

    A naive ``datetime`` is taken as UTC (the station keeps UTC everywhere).
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - _EPOCH) // _SECOND


def iso_utc(seconds: int) -> str:
    """Epoch seconds as an OCPP dateTime in UTC with a ``Z`` suffix."""
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _start_period(period: ChargingSchedulePeriodType) -> int:
    return period.start_period


def _optional_epoch(value: str | None) -> int | None:
    return None if value is None else epoch_seconds(value)


def schedule_intervals(schedule: ChargingScheduleType, occurrence_starts: list[int], *,
                       window_start: int, window_end: int,
                       valid_from: int | None = None, valid_to: int | None = None,
                       recurrence_s: int | None = None) -> list[Interval]:
    """The intervals of one ChargingScheduleType started at each of ``occurrence_starts``.

    Args:
        schedule: the ChargingScheduleType.
        occurrence_starts: ascending epoch seconds at which the schedule (re)starts.
        window_start, window_end: only ``[window_start, window_end)`` is returned.
        valid_from, valid_to: the profile's validity (K01.FR.36/37); None = unbounded.
        recurrence_s: for recurring profiles, the recurrence period; an occurrence never
            reaches into the next one.

    Returns:
        Sorted, non-overlapping intervals, each non-empty.
    """
    # The unit and the periods as plain values, read from the models once per call: the loop
    # below runs once per period and occurrence, and the composite schedule compares the units
    # of the intervals at every moment (a str compares about twice as fast as a StrEnum).
    unit = schedule.charging_rate_unit.value
    periods = sorted(schedule.charging_schedule_period, key=_start_period)  # K01.FR.35
    offsets = [p.start_period for p in periods]
    next_offsets = offsets[1:] + [None]
    values = [(float(p.limit), p.number_phases, p.phase_to_use) for p in periods]
    duration = schedule.duration
    lo = window_start if valid_from is None else max(window_start, valid_from)
    hi = window_end if valid_to is None else min(window_end, valid_to)
    out: list[Interval] = []
    if lo >= hi:
        return out
    for occ in occurrence_starts:
        occ_end = FOREVER
        if duration is not None:  # K01.FR.11/12/13
            occ_end = occ + duration
        if recurrence_s is not None:
            occ_end = min(occ_end, occ + recurrence_s)
        if occ_end <= lo or occ >= hi:
            continue
        for offset, next_offset, (limit, phases, phase_to_use) in zip(offsets, next_offsets,
                                                                       values):
            p_start = occ + offset
            if p_start >= hi:
                break  # sorted: this and every later period start after the window
            p_end = occ_end if next_offset is None else occ + next_offset
            p_end = min(p_end, occ_end)  # K01.FR.11: a period past the duration is not executed
            s = max(p_start, lo)
            e = min(p_end, hi)
            if s < e:
                out.append(Interval(s, e, limit, unit, phases, phase_to_use))
    return out


def profile_intervals(profile: ChargingProfileType, *, window_start: int, window_end: int,
                      transaction_start: int | None = None) -> list[Interval]:
    """The intervals in which ``profile``'s first ChargingSchedule is in force in the window.

    Args:
        profile: the ChargingProfileType.
        window_start, window_end: epoch seconds; only this window is computed.
        transaction_start: epoch seconds at which the transaction became ready to deliver
            energy; used by ``Relative`` profiles (§3.3, K01.FR.42). None: the window start
            (K08.FR.06).

    Returns:
        Sorted, non-overlapping intervals (see the module docstring for the rules).
    """
    schedule = profile.charging_schedule[0]
    kind = profile.charging_profile_kind
    valid_from = _optional_epoch(profile.valid_from)
    valid_to = _optional_epoch(profile.valid_to)
    start_schedule = _optional_epoch(schedule.start_schedule)
    recurrence_s = None
    if kind == ChargingProfileKindEnumType.relative:
        # K01.FR.41: a Relative schedule has no startSchedule; it runs from the transaction.
        starts = [window_start if transaction_start is None else transaction_start]
    elif kind == ChargingProfileKindEnumType.recurring:
        recurrence_s = _RECURRENCE_S.get(profile.recurrency_kind)
        if recurrence_s is None or start_schedule is None:
            return []
        lo = window_start if valid_from is None else max(window_start, valid_from)
        # K01.FR.30: no occurrence before startSchedule; the first one that matters is the one
        # in force at the window start.
        k = max(0, (lo - start_schedule) // recurrence_s)
        starts = []
        first = start_schedule + k * recurrence_s
        for occ in range(first, window_end, recurrence_s):
            starts.append(occ)
    else:  # Absolute (K01.FR.40: startSchedule required; fall back rather than fail)
        if start_schedule is None:
            start_schedule = valid_from if valid_from is not None else window_start
        starts = [start_schedule]
    return schedule_intervals(schedule, starts, window_start=window_start, window_end=window_end,
                              valid_from=valid_from, valid_to=valid_to, recurrence_s=recurrence_s)
