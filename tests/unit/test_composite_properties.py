"""Property tests of the composite schedule (K08.FR.02/03/04) against a per-second brute force.

The brute force below re-states the rules of part 2 K §3.3-3.5 for one instant at a time,
independently of the interval arithmetic in ``smart_charging``: which occurrence of a profile's
schedule is in force, which period of it, whether the profile is valid (K01.FR.36/37), the
leading profile per purpose by stackLevel (K01.FR.17), TxProfile before TxDefaultProfile, the
minimum over purposes, external limits and the hardware maximum (K08.FR.04), and the sum over
EVSEs for EVSE 0 (K08.FR.03).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messages.ocpp201 import (ChargingProfileType, ChargingScheduleType, CompositeScheduleType,
                              to_wire)
from smart_charging.composite import (DEFAULT_LIMIT_A, DEFAULT_LIMIT_W, _tenths, composite_schedule,
                                      convert_limit)
from smart_charging.schedule import epoch_seconds
from smart_charging.sink_limits import SinkLimits

T0 = datetime(2026, 3, 29, 0, 30, 0, tzinfo=timezone.utc)  # a DST night in Europe
W0 = epoch_seconds(T0)
VOLTAGE = 230.0
PURPOSES = ["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile",
            "ChargingStationExternalConstraints"]
PERIOD_S = {"Daily": 86_400, "Weekly": 604_800}


def iso(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds - W0)).isoformat().replace("+00:00", "Z")


# --- strategies --------------------------------------------------------------------------------

@st.composite
def schedules(draw, unit=None, with_start=True):
    unit = unit or draw(st.sampled_from(["A", "W"]))
    n = draw(st.integers(1, 4))
    starts = sorted(draw(st.sets(st.integers(1, 200), min_size=n - 1, max_size=n - 1)))
    first = draw(st.sampled_from([0, 0, 0, 30]))  # now and then a K01.FR.31 violation
    starts = sorted({first, *starts})
    periods = []
    for s in starts:
        if unit == "A":
            limit = draw(st.integers(0, 400)) / 10
        else:
            limit = float(draw(st.integers(0, 30_000)))
        period = {"startPeriod": s, "limit": limit}
        phases = draw(st.sampled_from([None, None, 1, 2, 3]))
        if phases is not None:
            period["numberPhases"] = phases
            if phases == 1 and draw(st.booleans()):
                period["phaseToUse"] = draw(st.integers(1, 3))
        periods.append(period)
    schedule = {"id": 1, "chargingRateUnit": unit, "chargingSchedulePeriod": periods}
    if draw(st.booleans()):
        schedule["duration"] = draw(st.integers(1, 400))
    return schedule


@st.composite
def profiles(draw, pid):
    purpose = draw(st.sampled_from(PURPOSES))
    kind = draw(st.sampled_from(["Absolute", "Absolute", "Recurring", "Relative"]))
    schedule = draw(schedules())
    profile = {"id": pid, "stackLevel": draw(st.integers(0, 3)), "chargingProfilePurpose": purpose,
               "chargingProfileKind": kind, "chargingSchedule": [schedule]}
    if kind == "Absolute":
        schedule["startSchedule"] = iso(W0 + draw(st.integers(-300, 250)))
    elif kind == "Recurring":
        rk = draw(st.sampled_from(["Daily", "Weekly"]))
        profile["recurrencyKind"] = rk
        # Put the window near a recurrence boundary (or before the very first occurrence).
        back = draw(st.integers(-1, 2)) * PERIOD_S[rk]
        schedule["startSchedule"] = iso(W0 - back + draw(st.integers(-300, 250)))
    if draw(st.booleans()):
        profile["validFrom"] = iso(W0 + draw(st.integers(-50, 250)))
    if draw(st.booleans()):
        profile["validTo"] = iso(W0 + draw(st.integers(-50, 300)))
    return profile


@st.composite
def cases(draw, station=False):
    n = draw(st.integers(0, 5))
    installed = [draw(st.sampled_from([0, 1, 1, 2] if not station else [0, 1, 2, 3]))
                 for _ in range(n)]
    profs = [(on, draw(profiles(pid=i + 1))) for i, on in enumerate(installed)]
    externals = []
    for _ in range(draw(st.integers(0, 2))):
        sched = draw(schedules())
        if draw(st.booleans()):
            sched["startSchedule"] = iso(W0 + draw(st.integers(-100, 200)))
        externals.append((draw(st.sampled_from([0, 1, 2])), sched))
    kwargs = dict(
        duration_s=draw(st.integers(1, 300)),
        unit=draw(st.sampled_from(["A", "W"])),
        max_current_a=draw(st.one_of(st.none(), st.integers(6, 63).map(float))),
        max_power_w=draw(st.one_of(st.none(), st.integers(1000, 40_000).map(float))),
        default_phases=draw(st.sampled_from([1, 3])),
    )
    if station:
        kwargs["evse_ids"] = [1, 2, 3]
        kwargs["evse_max"] = {k: (draw(st.one_of(st.none(), st.integers(6, 32).map(float))), None)
                              for k in (1, 2, 3)}
        kwargs["evse_phases"] = {k: draw(st.sampled_from([1, 3])) for k in (1, 2, 3)
                                 if draw(st.booleans())}
        kwargs["transaction_starts"] = {
            k: T0 - timedelta(seconds=draw(st.integers(0, 200)))
            for k in (1, 2, 3) if draw(st.booleans())}
    else:
        tx = draw(st.one_of(st.none(), st.integers(-300, 0)))
        kwargs["transaction_start"] = None if tx is None else T0 + timedelta(seconds=tx)
    return profs, externals, kwargs


# --- brute force -------------------------------------------------------------------------------

def period_at(profile_or_schedule, t, *, kind, tx_start, valid_from=None, valid_to=None,
              recurrency=None, start_schedule=None):
    """The ChargingSchedulePeriod dict in force at second t, or None."""
    if valid_from is not None and t < valid_from:
        return None
    if valid_to is not None and t >= valid_to:
        return None
    schedule = profile_or_schedule
    if kind == "Absolute":
        origin = start_schedule
    elif kind == "Recurring":
        if recurrency is None or start_schedule is None or t < start_schedule:
            return None
        p = PERIOD_S[recurrency]
        origin = start_schedule + (t - start_schedule) // p * p
    else:
        origin = tx_start
    offset = t - origin
    if offset < 0:
        return None
    if schedule.get("duration") is not None and offset >= schedule["duration"]:
        return None
    best = None
    for period in schedule["chargingSchedulePeriod"]:
        if period["startPeriod"] <= offset and (best is None
                                                or period["startPeriod"] > best["startPeriod"]):
            best = period
    return best


def profile_period_at(profile, t, tx_start):
    sched = profile["chargingSchedule"][0]
    ss = sched.get("startSchedule")
    vf, vt = profile.get("validFrom"), profile.get("validTo")
    period = period_at(sched, t, kind=profile["chargingProfileKind"], tx_start=tx_start,
                       valid_from=None if vf is None else epoch_seconds(vf),
                       valid_to=None if vt is None else epoch_seconds(vt),
                       recurrency=profile.get("recurrencyKind"),
                       start_schedule=None if ss is None else epoch_seconds(ss))
    return None if period is None else (period, sched["chargingRateUnit"])


def leading(candidates, t, tx_start):
    """The period of the highest-precedence candidate with a period at t (K01.FR.17)."""
    ordered = sorted(candidates, key=lambda c: (-c[1]["stackLevel"], c[0] == 0, c[1]["id"]))
    for _, profile in ordered:
        found = profile_period_at(profile, t, tx_start)
        if found is not None:
            return found
    return None


def applicable(profs, externals, evse, t, tx_start, *, with_tx, with_max, own_externals_only=False):
    """Every (period, unit) that limits ``evse`` at t."""
    mine = [(on, p) for on, p in profs if on in (0, evse)]
    out = []
    if with_tx:
        tx = [(on, p) for on, p in mine
              if p["chargingProfilePurpose"] == "TxProfile" and on != 0]
        txd = [(on, p) for on, p in mine if p["chargingProfilePurpose"] == "TxDefaultProfile"]
        found = leading(tx, t, tx_start) or leading(txd, t, tx_start)
        if found:
            out.append(found)
    if with_max:
        found = leading([(on, p) for on, p in mine if on == 0
                         and p["chargingProfilePurpose"] == "ChargingStationMaxProfile"], t, tx_start)
        if found:
            out.append(found)
    found = leading([(on, p) for on, p in mine
                     if p["chargingProfilePurpose"] == "ChargingStationExternalConstraints"],
                    t, tx_start)
    if found:
        out.append(found)
    for on, sched in externals:
        if on == evse or (on == 0 and not own_externals_only):
            ss = sched.get("startSchedule")
            period = period_at(sched, t, kind="Absolute", tx_start=None,
                               start_schedule=W0 if ss is None else epoch_seconds(ss))
            if period is not None:
                out.append((period, sched["chargingRateUnit"]))
    return out


def combine(found, unit, default_phases, max_a, max_w, default_tenths):
    """(limit in tenths, numberPhases, phaseToUse) of the periods in force and the hardware."""
    phases = min((p.get("numberPhases") for p, _ in found if p.get("numberPhases")), default=None)
    ptu = None
    if phases == 1:
        ptu = next((p["phaseToUse"] for p, _ in found
                    if p.get("numberPhases") == 1 and p.get("phaseToUse")), None)
    limits = [_tenths(convert_limit(p["limit"], u, unit, p.get("numberPhases") or default_phases,
                                    VOLTAGE)) for p, u in found]
    for cap, cap_unit in ((max_a, "A"), (max_w, "W")):
        if cap is not None:
            limits.append(_tenths(convert_limit(cap, cap_unit, unit, phases or default_phases,
                                                VOLTAGE)))
    return (min(limits) if limits else default_tenths), phases, ptu


def brute_force(profs, externals, kwargs, evse_id):
    unit, dp = kwargs["unit"], kwargs["default_phases"]
    default_tenths = _tenths(DEFAULT_LIMIT_A if unit == "A" else DEFAULT_LIMIT_W)
    out = []
    for t in range(W0, W0 + kwargs["duration_s"]):
        if evse_id == 0:
            found = applicable(profs, externals, 0, t, W0, with_tx=False, with_max=True)
            if kwargs.get("evse_ids"):
                total, phase_set = 0, []
                for n in kwargs["evse_ids"]:
                    txs = kwargs["transaction_starts"].get(n)
                    tx_start = W0 if txs is None else epoch_seconds(txs)
                    mine = [(on, p) for on, p in profs if on in (0, n)]
                    f = applicable(mine, [(on, s) for on, s in externals if on == n], n, t,
                                   tx_start, with_tx=True, with_max=False, own_externals_only=True)
                    max_a, max_w = kwargs["evse_max"][n]
                    tenths, ph, _ = combine(f, unit, kwargs["evse_phases"].get(n, dp), max_a,
                                            max_w, default_tenths)
                    total += tenths
                    if ph:
                        phase_set.append(ph)
                summed = {"startPeriod": 0, "limit": total / 10}
                if phase_set:
                    summed["numberPhases"] = max(phase_set)
                found.append((summed, unit))
            out.append(combine(found, unit, dp, kwargs["max_current_a"], kwargs["max_power_w"],
                               default_tenths))
        else:
            txs = kwargs.get("transaction_start")
            tx_start = W0 if txs is None else epoch_seconds(txs)
            found = applicable(profs, externals, evse_id, t, tx_start, with_tx=True, with_max=True)
            out.append(combine(found, unit, dp, kwargs["max_current_a"], kwargs["max_power_w"],
                               default_tenths))
    return out


def per_second(result):
    periods = result["chargingSchedulePeriod"]
    out = []
    for i, p in enumerate(periods):
        end = periods[i + 1]["startPeriod"] if i + 1 < len(periods) else result["duration"]
        value = (_tenths(p["limit"]), p.get("numberPhases"), p.get("phaseToUse"))
        out.extend([value] * (end - p["startPeriod"]))
    return out


def call(profs, externals, kwargs, evse_id):
    """The composite schedule's wire dict; the strategies draw wire dicts (the brute force
    reads those), the models are built here."""
    return to_wire(composite_schedule(
        [(on, ChargingProfileType.model_validate(p)) for on, p in profs], evse_id=evse_id,
        start=T0, external_limits=[(on, ChargingScheduleType.model_validate(s))
                                   for on, s in externals],
        nominal_voltage=VOLTAGE, **kwargs))


SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- properties --------------------------------------------------------------------------------

class TestAgainstBruteForce:
    @SETTINGS
    @given(cases())
    def test_evse_composite_equals_per_second_evaluation(self, case):
        """K08.FR.02/04, §3.5: the same limit, phases and phaseToUse at every second."""
        profs, externals, kwargs = case
        result = call(profs, externals, kwargs, 1)
        assert per_second(result) == brute_force(profs, externals, kwargs, 1)

    @SETTINGS
    @given(cases(station=True))
    def test_station_composite_equals_per_second_sum(self, case):
        """K08.FR.03: EVSE 0 reports the sum over the EVSEs, capped by station limits."""
        profs, externals, kwargs = case
        result = call(profs, externals, kwargs, 0)
        assert per_second(result) == brute_force(profs, externals, kwargs, 0)


class TestInvariants:
    @SETTINGS
    @given(cases())
    def test_never_exceeds_any_applicable_limit(self, case):
        """K08.FR.04: at any instant, at most the lowest limit of every merged schedule."""
        profs, externals, kwargs = case
        result = call(profs, externals, kwargs, 1)
        unit, dp = kwargs["unit"], kwargs["default_phases"]
        txs = kwargs.get("transaction_start")
        tx_start = W0 if txs is None else epoch_seconds(txs)
        for offset, (tenths, phases, _) in enumerate(per_second(result)):
            limit = tenths / 10
            for period, u in applicable(profs, externals, 1, W0 + offset, tx_start, with_tx=True,
                                        with_max=True):
                bound = convert_limit(period["limit"], u, unit,
                                      period.get("numberPhases") or dp, VOLTAGE)
                assert limit <= bound + 1e-9
            if kwargs["max_current_a"] is not None:
                assert limit <= convert_limit(kwargs["max_current_a"], "A", unit, phases or dp,
                                              VOLTAGE) + 1e-9
            if kwargs["max_power_w"] is not None:
                assert limit <= convert_limit(kwargs["max_power_w"], "W", unit, phases or dp,
                                              VOLTAGE) + 1e-9

    @SETTINGS
    @given(cases())
    def test_covers_exactly_the_requested_duration_in_strictly_increasing_periods(self, case):
        """K08.FR.02: from the moment of receipt up to the duration; merged periods."""
        profs, externals, kwargs = case
        result = call(profs, externals, kwargs, 1)
        starts = [p["startPeriod"] for p in result["chargingSchedulePeriod"]]
        assert result["duration"] == kwargs["duration_s"]
        assert starts[0] == 0
        assert all(a < b for a, b in zip(starts, starts[1:]))
        assert starts[-1] < kwargs["duration_s"]
        values = [(p["limit"], p.get("numberPhases"), p.get("phaseToUse"))
                  for p in result["chargingSchedulePeriod"]]
        assert all(a != b for a, b in zip(values, values[1:]))
        assert all(p["limit"] >= 0 and round(p["limit"], 1) == p["limit"]
                   for p in result["chargingSchedulePeriod"])

    @SETTINGS
    @given(cases())
    def test_sink_applies_the_period_of_every_second_and_wakes_at_each_change(self, case):
        profs, externals, kwargs = case
        result = call(profs, externals, kwargs, 1)
        sink = SinkLimits(CompositeScheduleType.model_validate(result), nominal_voltage=VOLTAGE,
                          default_phases=kwargs["default_phases"])
        expected = per_second(result)
        for offset in range(0, kwargs["duration_s"], 7):
            applied = sink.limit_at(T0 + timedelta(seconds=offset))
            value = applied.current_a if kwargs["unit"] == "A" else applied.power_w
            assert _tenths(value) == expected[offset][0]
        wakeups, now = [], T0
        while (nxt := sink.next_change(now)) is not None:
            assert nxt > now
            wakeups.append(int((nxt - T0).total_seconds()))
            now = nxt
        starts = [p["startPeriod"] for p in result["chargingSchedulePeriod"]]
        assert wakeups == starts[1:] + [kwargs["duration_s"]]
