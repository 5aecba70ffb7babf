"""The composite schedule of an EVSE (K08 GetCompositeSchedule; part 2 K §3.4, §3.5).

Theory of operation
-------------------
Each profile becomes absolute intervals (:mod:`smart_charging.schedule`). Profiles are then
grouped into *stacks*; in a stack the **leading** schedule at time t is the first layer (layers
in precedence order) that has a period in force at t (§3.5, K01.FR.17: the highest stackLevel
among the valid profiles that define a period at t; a profile past its duration or outside
validFrom/validTo lets the next one through). The composite limit at t is the **minimum** over
the leading periods of every stack and over the local limits (K08.FR.04), each converted to the
requested unit first (K01.FR.50/51).

The stacks of EVSE n (n >= 1):

======================  ==================================================================
stack                   layers, in precedence order
======================  ==================================================================
Tx / TxDefault          TxProfiles on n by stackLevel, *then* TxDefaultProfiles on n and
                        on EVSE 0 by stackLevel: a TxProfile in force overrules every
                        TxDefaultProfile (§3.5 "the only exception"), and when it expires
                        the TxDefaultProfile applies again (K02 remark, TC_K_41_CS).
                        Without a transaction the caller passes no TxProfile and the
                        TxDefaultProfile counts as if a transaction ran (K08.FR.06).
ChargingStationMax      ChargingStationMaxProfiles on EVSE 0 by stackLevel (K01.FR.03 in
                        §3.2: only on EVSE 0; the limit of all EVSEs together is also an
                        upper bound for each one).
ExternalConstraints     profiles of purpose ChargingStationExternalConstraints on n and 0.
each external limit     one stack per ``external_limits`` entry on n or 0 (K11.FR.01,
                        K12.FR.01: never faster than the external limit).
======================  ==================================================================

A TxDefaultProfile on EVSE 0 applies to every EVSE without being copied (K01.FR.14) and stacks
with the EVSE's own by stackLevel (§3.4: "a charging profile for EVSE #0 is considered to be
active on all EVSEs"), so an EVSE-specific TxDefaultProfile overrides the station-wide one
where its stackLevel is higher. K01.FR.52/53 forbid the same stackLevel on EVSE 0 and on an
EVSE; should both exist anyway, the EVSE-specific one is taken as the more specific.

Local limits: the EVSE's hardware maximum (``max_current_a`` per phase, ``max_power_w``) is
always part of the minimum, as K08 says the schedule is "the result of the calculation of all
active schedules and possible local limits". **When nothing limits** (no profile period, no
external limit, no hardware maximum given) the composite reports ``default_limit_a`` /
``default_limit_w``, libocpp's CompositeScheduleDefaultLimitAmps (48 A) and
CompositeScheduleDefaultLimitWatts (33 120 W), instead of an unbounded number: the response
needs a number, and a caller that knows its hardware passes the maximum instead.

EVSE 0: K08.FR.03 asks for "the total expected power or current the Charging Station expects
to consume from the grid". With ``evse_ids`` given, the composite schedule of every one of
those EVSEs (computed as above without the ChargingStationMaxProfile, each capped by its own
hardware maximum from ``evse_max`` or by the default limit) is **summed**, and the sum capped by
the station-level limits: ChargingStationMaxProfile, external constraints on EVSE 0 and the
station's hardware maximum (libocpp does the same). Without ``evse_ids`` only the
station-level limits count: a TxDefaultProfile on EVSE 0 limits each EVSE, not their total
(K01.FR.14), so it is no limit of the grid connection by itself.

Units and phases: a limit in A is per phase (K01.FR.51). Converting a period uses that
period's own numberPhases, 3 if absent (K01.FR.49): ``I = P / (U * phases)`` (K01.FR.50) and
``P = I * U * phases``, with the nominal voltage U (the "set voltage for the area", not a
measurement). The composite period's numberPhases is the smallest numberPhases among the
periods in force (omitted when none gives one); the hardware maximum is converted with it.
phaseToUse is passed on from a period in force with numberPhases 1. Limits are rounded *down*
to one decimal (the schema's "at most one digit fraction") so that rounding never raises a
limit; that also makes every limit an exact integer number of tenths here, so equal adjacent
periods merge exactly and sums do not drift.

minChargingRate is not used: K01.FR.21 makes it optional input for a local balancing
strategy, and raising a limit to it would break K08.FR.04.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from messages.ocpp201 import (ChargingProfilePurposeEnumType as Purpose, ChargingProfileType,
                              ChargingRateUnitEnumType, ChargingScheduleType,
                              CompositeScheduleType)
from smart_charging.schedule import (Interval, epoch_seconds, iso_utc, profile_intervals,
                                     schedule_intervals)

__all__ = [
    "DEFAULT_LIMIT_A",
    "DEFAULT_LIMIT_W",
    "composite_schedule",
    "convert_limit",
]

DEFAULT_LIMIT_A = 48.0  # libocpp CompositeScheduleDefaultLimitAmps
DEFAULT_LIMIT_W = 33_120.0  # libocpp CompositeScheduleDefaultLimitWatts

Stack = list[list[Interval]]  # layers in precedence order, each sorted and non-overlapping

# Inside the computation a unit is the plain value of ChargingRateUnitEnumType (as in
# Interval.unit): the loops below compare units per interval and per moment, and a str
# compares about twice as fast as a StrEnum member (which is also slow to look up on its class).
_A = ChargingRateUnitEnumType.a.value
_W = ChargingRateUnitEnumType.w.value


def convert_limit(limit: float, from_unit: ChargingRateUnitEnumType | str,
                  to_unit: ChargingRateUnitEnumType | str, phases: int, voltage: float) -> float:
    """``limit`` in ``to_unit``: A is per phase (K01.FR.51), I = P / (U * phases) (K01.FR.50).

    The units are ChargingRateUnitEnumType members or their values (equal as str)."""
    if from_unit == to_unit:
        return limit
    if from_unit == _A:
        return limit * voltage * phases
    return limit / (voltage * phases)


def _tenths(value: float) -> int:
    """``value`` in tenths, rounded down; the inner round() absorbs binary noise (8.1*10)."""
    return math.floor(round(value * 10, 6))


def _stack(entries: list[tuple[tuple, list[Interval]]]) -> Stack:
    entries.sort(key=lambda e: e[0])
    return [intervals for _, intervals in entries if intervals]


def _precedence(profile: ChargingProfileType, installed_on: int) -> tuple:
    # Highest stackLevel first; on a tie the EVSE-specific profile before the station-wide one.
    return (-profile.stack_level, installed_on == 0, profile.id)


def _evaluate(stacks: Sequence[Stack], *, w0: int, w1: int, unit: str,
              voltage: float,
              default_phases: int, max_current_a: float | None, max_power_w: float | None,
              default_tenths: int) -> list[tuple[int, int, int | None, int | None]]:
    """The minimum of the leading periods of ``stacks`` and the hardware caps over [w0, w1).

    Returns:
        ``(start, limit in tenths of unit, numberPhases, phaseToUse)`` from w0 on, adjacent
        equal entries merged.
    """
    stacks = [s for s in stacks if s]
    bounds = {w0}
    for stack in stacks:
        for layer in stack:
            for iv in layer:
                if iv.start > w0:
                    bounds.add(iv.start)
                if iv.end < w1:
                    bounds.add(iv.end)
    pointers = [[0] * len(stack) for stack in stacks]
    out: list[tuple[int, int, int | None, int | None]] = []
    for t in sorted(bounds):
        chosen: list[Interval] = []
        for stack, ptrs in zip(stacks, pointers):
            for li, layer in enumerate(stack):
                i = ptrs[li]
                n = len(layer)
                while i < n and layer[i].end <= t:
                    i += 1
                ptrs[li] = i
                if i < n and layer[i].start <= t:
                    chosen.append(layer[i])
                    break
        phases = None
        phase_to_use = None
        for iv in chosen:
            if iv.number_phases is not None and (phases is None or iv.number_phases < phases):
                phases = iv.number_phases
        if phases == 1:
            phase_to_use = next((iv.phase_to_use for iv in chosen
                                 if iv.number_phases == 1 and iv.phase_to_use is not None), None)
        limit = None
        for iv in chosen:
            v = _tenths(convert_limit(iv.limit, iv.unit, unit, iv.number_phases or default_phases,
                                      voltage))
            if limit is None or v < limit:
                limit = v
        cap_phases = phases or default_phases
        for cap, cap_unit in ((max_current_a, _A), (max_power_w, _W)):
            if cap is not None:
                v = _tenths(convert_limit(cap, cap_unit, unit, cap_phases, voltage))
                if limit is None or v < limit:
                    limit = v
        if limit is None:
            limit = default_tenths
        entry = (t, limit, phases, phase_to_use)
        if not out or out[-1][1:] != entry[1:]:
            out.append(entry)
    return out


def _evse_stacks(profiles: Sequence[tuple[int, ChargingProfileType]],
                 external_limits: Sequence[tuple[int, ChargingScheduleType]], *,
                 evse_id: int, w0: int, w1: int, tx_start: int | None,
                 with_tx: bool, with_station_max: bool) -> list[Stack]:
    """The stacks that limit ``evse_id`` (see the table in the module docstring)."""
    tx_layers: list[tuple[tuple, list[Interval]]] = []
    default_layers: list[tuple[tuple, list[Interval]]] = []
    max_layers: list[tuple[tuple, list[Interval]]] = []
    ext_layers: list[tuple[tuple, list[Interval]]] = []
    for installed_on, profile in profiles:
        if installed_on not in (0, evse_id):
            continue
        purpose = profile.charging_profile_purpose
        if purpose == Purpose.tx_profile:
            if not with_tx or installed_on == 0:  # K01.FR.16: TxProfile only on an EVSE
                continue
            target = tx_layers
        elif purpose == Purpose.tx_default_profile:
            if not with_tx:
                continue
            target = default_layers
        elif purpose == Purpose.charging_station_max_profile:
            if not with_station_max or installed_on != 0:  # §3.2: only on EVSE 0
                continue
            target = max_layers
        elif purpose == Purpose.charging_station_external_constraints:
            target = ext_layers
        else:
            continue
        target.append((_precedence(profile, installed_on),
                       profile_intervals(profile, window_start=w0, window_end=w1,
                                         transaction_start=tx_start)))
    # One stack: every TxProfile layer before every TxDefaultProfile layer (§3.5).
    tx_stack = _stack(tx_layers) + _stack(default_layers)
    stacks = [tx_stack, _stack(max_layers), _stack(ext_layers)]
    for installed_on, schedule in external_limits:
        if installed_on in (0, evse_id):
            stacks.append([_external_intervals(schedule, w0, w1)])
    return stacks


def _external_intervals(schedule: ChargingScheduleType, w0: int, w1: int) -> list[Interval]:
    # An external limit without startSchedule counts from the composite's start: a single
    # period is then simply a constant cap.
    start = schedule.start_schedule
    occurrence = w0 if start is None else epoch_seconds(start)
    return schedule_intervals(schedule, [occurrence], window_start=w0, window_end=w1)


def _sum_evses(per_evse: Sequence[list[tuple[int, int, int | None, int | None]]], *,
               w1: int, unit: str) -> list[Interval]:
    """The sum of piecewise-constant EVSE schedules as intervals in ``unit`` (K08.FR.03)."""
    events: list[tuple[int, int, int, int | None]] = []
    for k, entries in enumerate(per_evse):
        for t, tenths, phases, _ in entries:
            events.append((t, k, tenths, phases))
    events.sort()
    current = [0] * len(per_evse)
    phase_of: list[int | None] = [None] * len(per_evse)
    phase_count = {1: 0, 2: 0, 3: 0}
    total = 0
    out: list[Interval] = []
    i = 0
    while i < len(events):
        t = events[i][0]
        while i < len(events) and events[i][0] == t:
            _, k, tenths, phases = events[i]
            total += tenths - current[k]
            current[k] = tenths
            if phase_of[k] is not None:
                phase_count[phase_of[k]] -= 1
            if phases is not None:
                phase_count[phases] = phase_count.get(phases, 0) + 1
            phase_of[k] = phases
            i += 1
        # The EVSEs together may use as many phases as the one that uses most.
        phases = max((p for p, c in phase_count.items() if c), default=None)
        if out:
            out[-1] = out[-1]._replace(end=t)
        out.append(Interval(t, w1, total / 10, unit, phases, None))
    return out


def composite_schedule(profiles: Sequence[tuple[int, ChargingProfileType]], *, evse_id: int,
                       start: datetime, duration_s: int, unit: ChargingRateUnitEnumType | str,
                       transaction_start: datetime | None = None,
                       external_limits: Sequence[tuple[int, ChargingScheduleType]] = (),
                       max_current_a: float | None = None, max_power_w: float | None = None,
                       nominal_voltage: float = 230.0, default_phases: int = 3,
                       default_limit_a: float = DEFAULT_LIMIT_A,
                       default_limit_w: float = DEFAULT_LIMIT_W,
                       evse_ids: Sequence[int] = (),
                       transaction_starts: Mapping[int, datetime] | None = None,
                       evse_max: Mapping[int, tuple[float | None, float | None]] | None = None,
                       evse_phases: Mapping[int, int] | None = None,
                       ) -> CompositeScheduleType:
    """The CompositeScheduleType of ``evse_id`` for ``[start, start + duration_s)`` (K08.FR.02).

    Args:
        profiles: (EVSE id the profile is installed on, its ChargingProfileType)
            for every profile installed on EVSE 0 and on ``evse_id`` (for EVSE 0 with
            ``evse_ids``: on those EVSEs too). Pass a TxProfile only while its transaction
            runs. Profiles on other EVSEs are ignored.
        evse_id: 0 (the grid connection) or an EVSE.
        start: the schedule start (the moment the request was received); floored to seconds.
        duration_s: the requested duration in seconds.
        unit: A or W (the enum or its value), the unit of the result.
        transaction_start: when the transaction on ``evse_id`` became ready to deliver energy,
            the origin of Relative profiles; None: ``start`` (K08.FR.06).
        external_limits: (EVSE id, ChargingScheduleType) limits set from outside
            (K11-K14); those on 0 and on ``evse_id`` cap the result.
        max_current_a, max_power_w: the hardware maximum of ``evse_id`` (A per phase, W).
        nominal_voltage: line voltage for A <-> W (K01.FR.50).
        default_phases: phases assumed where a period gives none (K01.FR.49).
        default_limit_a, default_limit_w: reported when nothing limits.
        evse_ids: for ``evse_id`` 0 only: the EVSEs whose schedules are summed (K08.FR.03).
        transaction_starts: for the sum: EVSE id -> its transaction start.
        evse_max: for the sum: EVSE id -> (max A per phase, max W) of that EVSE.
        evse_phases: for the sum: EVSE id -> its default phases (else ``default_phases``).

    Returns:
        The CompositeScheduleType: evseId, duration, scheduleStart (UTC, ``Z``),
        chargingRateUnit and chargingSchedulePeriod (startPeriod from 0, strictly increasing,
        all below ``duration``, adjacent equal periods merged; numberPhases / phaseToUse only
        where known).
    """
    if unit not in ("A", "W"):
        raise ValueError(f"unit must be 'A' or 'W', not {unit!r}")
    unit = ChargingRateUnitEnumType(unit).value
    if duration_s <= 0:
        raise ValueError("duration_s must be positive")
    w0 = epoch_seconds(start)
    w1 = w0 + duration_s
    default_tenths = _tenths(default_limit_a if unit == _A else default_limit_w)
    common = dict(w0=w0, w1=w1, unit=unit, voltage=nominal_voltage, default_phases=default_phases,
                  default_tenths=default_tenths)

    if evse_id == 0:
        stacks = _evse_stacks(profiles, external_limits, evse_id=0, w0=w0, w1=w1, tx_start=None,
                              with_tx=False, with_station_max=True)
        if evse_ids:
            starts = transaction_starts or {}
            caps = evse_max or {}
            phases_of = evse_phases or {}
            per_evse = []
            for n in evse_ids:
                own = [(on, p) for on, p in profiles if on == n or on == 0]
                tx_start = starts.get(n)
                evse_stacks = _evse_stacks(
                    own, [(on, s) for on, s in external_limits if on == n], evse_id=n, w0=w0,
                    w1=w1, tx_start=None if tx_start is None else epoch_seconds(tx_start),
                    with_tx=True, with_station_max=False)
                max_a, max_w = caps.get(n, (None, None))
                per_evse.append(_evaluate(evse_stacks, max_current_a=max_a, max_power_w=max_w,
                                          **{**common, "default_phases": phases_of.get(
                                              n, default_phases)}))
            stacks.append([_sum_evses(per_evse, w1=w1, unit=unit)])
    else:
        stacks = _evse_stacks(profiles, external_limits, evse_id=evse_id, w0=w0, w1=w1,
                              tx_start=None if transaction_start is None
                              else epoch_seconds(transaction_start),
                              with_tx=True, with_station_max=True)
    entries = _evaluate(stacks, max_current_a=max_current_a, max_power_w=max_power_w, **common)

    # The model is built here, once, at the boundary: everything above works on plain tuples,
    # ints and floats (Interval, tenths), since a model per interval or per evaluated moment
    # would cost more than the computation. One model_validate of the wire dict builds the
    # periods in pydantic-core, about twice as fast as a ChargingSchedulePeriodType(...) each
    # (for 129 schedules of 24 h, ~4,000 periods: ~4 ms instead of ~8 ms).
    periods = []
    for t, tenths, phases, phase_to_use in entries:
        period: dict[str, int | float] = {"startPeriod": t - w0, "limit": tenths / 10}
        if phases is not None:
            period["numberPhases"] = phases
        if phase_to_use is not None:
            period["phaseToUse"] = phase_to_use
        periods.append(period)
    return CompositeScheduleType.model_validate({
        "evseId": evse_id,
        "duration": duration_s,
        "scheduleStart": iso_utc(w0),
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": periods,
    })
