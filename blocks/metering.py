"""Functional block J, meter values: what to sample, when, and what it looks like on the wire.

Theory of operation
-------------------
Pure logic: time comes in as ``now`` (epoch seconds), hardware readings as
:class:`~blocks.meter_samples.MeterReading`; out come ``MeterValueType`` models
(``messages.ocpp201``, built by ``blocks/meter_samples.py``) for TransactionEventRequests and
``MeterValuesRequest`` models. Persisted values (the Ended list a
restarted Evse passes back as ``restored``) may come back as wire dicts. The Evse actor calls
``poll`` at ``next_deadline()`` (``wakeupAfter``) and sends what it returns.

Two kinds of schedule (part 2 J §2.1, §2.2):

* **Sampled** ("periodic", SampledDataCtrlr): instants ``start + k * interval`` counted from
  the start of the transaction (TxUpdatedInterval / TxEndedInterval descriptions; context
  Sample.Periodic is "a periodic sample relative to start time of transaction"),
  :class:`PeriodicClock`.
* **Clock-aligned** (AlignedDataCtrlr): the evenly spaced intervals of each day starting at
  00:00:00 (AlignedDataInterval / AlignedDataTxEndedInterval descriptions), :class:`AlignedClock`.
  "Midnight" is UTC midnight, as libocpp takes it (the station's clock is UTC, and a local
  midnight would make the grid jump at every DST change). An interval that does not divide
  the day restarts at midnight: with 7000 s the last interval of the day is 2000 s long.

Interval 0 (or negative, or Enabled = false) means "off" for both: no deadline.

A schedule never fires for instants it missed: if ``poll`` runs late by more than one interval
(a restarted actor, a long GC pause), only the latest due instant is reported. A value is
stamped with its scheduled instant when the poll is at most :data:`LATE_TOLERANCE_S` late
(so the timestamps of a series are exactly ``interval`` apart, which TC_J_01/02/09 check), and
with the real reading time otherwise (J01.FR.17/J02.FR.18: the timestamp applies to the values).

Who sends what:

* :class:`IdleMeter` (per EVSE, and evseId 0 for the main meter): MeterValuesRequest with
  Sample.Clock at every AlignedDataInterval boundary (J01.FR.14), except for an EVSE in a
  transaction (its values go in a TransactionEvent, J01.FR.22, TC_J_02) or when
  AlignedDataSendDuringIdle suppresses it (J01.FR.19/20).
* :class:`TransactionMeter` (per transaction): Transaction.Begin values for Started
  (E01.FR.09); Sample.Periodic (TxUpdatedInterval, J02.FR.11) and Sample.Clock
  (AlignedDataInterval, J01.FR.22) values for Updated; the capped list for Ended (E06.FR.11):
  Begin, Sample.Periodic every TxEndedInterval, Sample.Clock every AlignedDataTxEndedInterval,
  End.

Aggregation: clock-aligned values are instantaneous readings at the boundary, not averages
over the interval; Energy.Active.Import.Interval gives the energy of the interval.
Signed meter values: with SampledDataCtrlr.SignReadings true (J02.FR.21) every
Energy.Active.Import.Register value of a transaction (Transaction.Begin, Sample.Periodic,
Transaction.End, Trigger) carries ``signedMeterValue``; with AlignedDataCtrlr.SignReadings
(J01.FR.21) every Sample.Clock one does, in MeterValuesRequests, in TransactionEvents and in
the Ended list, and so does a triggered MeterValuesRequest. The signature comes from the meter
(:attr:`~blocks.meter_samples.MeterReading.sign`): ``blocks/meter_samples.py`` only asks for it,
with the value's timestamp and context, and leaves the field out when the meter cannot sign.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from blocks.meter_samples import (INLET, OUTLET, SAMPLE_CLOCK, SAMPLE_PERIODIC, TRANSACTION_BEGIN,
                                  TRANSACTION_END, TRIGGER, MeteringConfig, MeterReading,
                                  as_reading, meter_value_or_none, ocpp_epoch)
from messages.ocpp201 import MeterValuesRequest, MeterValueType, TriggerReasonEnumType

log = logging.getLogger(__name__)

DAY_S = 86_400

# A value read at most this late is stamped with its scheduled instant (see module docstring).
LATE_TOLERANCE_S = 5.0

# Cap on the meterValue entries of one TransactionEvent(Ended), Transaction.Begin and
# Transaction.End included. The spec leaves the size to the implementer and asks to drop
# intermediate values first (E06.FR.12/13, J02.FR.20). 200 holds a 24 h transaction with
# TxEndedInterval and AlignedDataTxEndedInterval both 900 s (at most 96 + 96 + 2) without loss;
# as compact JSON that is about 40 kB with one energy register per entry, about 220 kB with
# 3-phase voltage, current, power and energy (8 values).
MAX_ENDED_METER_VALUES = 200

# triggerReason of the TransactionEvent(Updated) that carries the values of a MeterTick.
TRIGGER_REASON_PERIODIC = TriggerReasonEnumType.meter_value_periodic   # J02.FR.11
TRIGGER_REASON_CLOCK = TriggerReasonEnumType.meter_value_clock         # J01.FR.22


# -- clocks -------------------------------------------------------------------------------------

class PeriodicClock:
    """Instants ``anchor + k * interval`` (k >= 1): sampled data, counted from the start of the
    transaction (SampledDataTxUpdatedInterval, SampledDataTxEndedInterval)."""

    def __init__(self, interval: int, anchor: float) -> None:
        self.interval = int(interval) if interval and interval > 0 else 0
        self.anchor = anchor

    def next_deadline(self, now: float) -> float | None:
        """The first instant strictly after ``now``; None when the interval is 0 (disabled)."""
        if not self.interval:
            return None
        if now < self.anchor:
            return self.anchor + self.interval
        return self.anchor + (math.floor((now - self.anchor) / self.interval) + 1) * self.interval

    def latest(self, now: float) -> float | None:
        """The last instant at or before ``now`` (the anchor itself counts as k = 0)."""
        if not self.interval or now < self.anchor:
            return None
        return self.anchor + math.floor((now - self.anchor) / self.interval) * self.interval


class AlignedClock:
    """Clock-aligned instants: every ``interval`` seconds from 00:00:00 UTC, restarting at every
    midnight (AlignedDataInterval, AlignedDataTxEndedInterval; see the module docstring).

    With 900 s at 12:07:13 the next deadline is 12:15:00. An interval of a day or more gives
    one boundary per day, at midnight.
    """

    def __init__(self, interval: int) -> None:
        self.interval = int(interval) if interval and interval > 0 else 0

    def next_deadline(self, now: float) -> float | None:
        """The first boundary strictly after ``now``; None when the interval is 0 (disabled)."""
        if not self.interval:
            return None
        midnight = math.floor(now / DAY_S) * DAY_S
        boundary = midnight + (math.floor((now - midnight) / self.interval) + 1) * self.interval
        return min(boundary, midnight + DAY_S)

    def latest(self, now: float) -> float | None:
        """The last boundary at or before ``now``."""
        if not self.interval:
            return None
        midnight = math.floor(now / DAY_S) * DAY_S
        return midnight + math.floor((now - midnight) / self.interval) * self.interval


def _same_grid(a: PeriodicClock | AlignedClock, b: PeriodicClock | AlignedClock) -> bool:
    return (type(a) is type(b) and a.interval == b.interval
            and getattr(a, "anchor", None) == getattr(b, "anchor", None))


class _Series:
    """One schedule plus what a series needs between samples: the next due instant and the
    register at the previous sample (for Energy.Active.Import.Interval)."""

    def __init__(self, clock: PeriodicClock | AlignedClock, after: float,
                 measurands: tuple[str, ...], previous: "_Series | None" = None,
                 sign: bool = False) -> None:
        self.clock = clock
        self.measurands = measurands
        self.sign = sign
        self.last_register: float | None = None
        # No measurands: nothing to report, so no reason to wake anybody up.
        self.due = clock.next_deadline(after) if measurands else None
        if previous is not None and _same_grid(previous.clock, clock):
            # Only the measurands changed: keep the series where it is on its grid (an instant
            # already due but not yet polled stays due) and its interval register.
            self.last_register = previous.last_register
            if measurands and previous.due is not None:
                self.due = previous.due

    def fire(self, now: float) -> float | None:
        """If due, consume every instant up to ``now`` and return the instant to stamp."""
        if self.due is None or now < self.due:
            return None
        instant = self.clock.latest(now)
        self.due = self.clock.next_deadline(now)
        # J01.FR.17/J02.FR.18: the timestamp applies to the values, so a badly late reading
        # gets its real time rather than the instant it was meant for.
        return instant if instant is not None and now - instant <= LATE_TOLERANCE_S else now

    def sample(self, stamp: float, reading: MeterReading, context: str, phases: int,
               location: str) -> MeterValueType | None:
        value = meter_value_or_none(stamp, reading, self.measurands, context, phases, location,
                                    self.last_register, self.sign)
        self.last_register = reading.energy_active_import_wh
        return value


# -- idle (J01) ---------------------------------------------------------------------------------

class IdleMeter:
    """Clock-aligned MeterValuesRequests of one EVSE (evseId 0: the main meter), J01.

    Call :meth:`poll` at :meth:`next_deadline`; it answers with the MeterValuesRequest payload
    to send, or None. Every boundary is consumed whether or not something is sent, so the
    series stays on the grid and Energy.Active.Import.Interval always covers one interval.
    """

    def __init__(self, evse_id: int, config: MeteringConfig, now: float, *, phases: int,
                 location: str | None = None, evse_send_during_idle: bool | None = None) -> None:
        """
        Args:
            evse_id: The EVSE (J01.FR.02); 0 for the station's main meter (J01.FR.03).
            now: Current time; the first boundary is the first one after it.
            phases: See :func:`sampled_values`.
            location: Default Outlet for an EVSE and Inlet for evseId 0.
            evse_send_during_idle: AlignedDataCtrlr.SendDuringIdle on this EVSE's tier, if that
                variable exists; it replaces the station-wide value (:meth:`suppressed`).
        """
        self.evse_id = evse_id
        self.phases = phases
        self.location = location or (INLET if evse_id == 0 else OUTLET)
        self.evse_send_during_idle = evse_send_during_idle
        self.config = config
        self._series = _Series(AlignedClock(config.aligned_interval), now, config.aligned,
                               sign=config.aligned_sign_readings)              # J01.FR.21

    def reconfigure(self, config: MeteringConfig, now: float, *,
                    evse_send_during_idle: bool | None = None) -> None:
        """Apply changed variables (SetVariables); a new interval takes effect from the next
        boundary of the new grid after ``now``, 0 stops the series."""
        self.config = config
        self.evse_send_during_idle = evse_send_during_idle
        self._series = _Series(AlignedClock(config.aligned_interval), now, config.aligned,
                               self._series, sign=config.aligned_sign_readings)

    def next_deadline(self) -> float | None:
        """When :meth:`poll` should run next; None while aligned data is off."""
        return self._series.due

    def suppressed(self, *, own_transaction: bool, any_transaction: bool) -> bool:
        """Whether AlignedDataSendDuringIdle silences this meter now.

        SendDuringIdle = true means "only while idle" (J01.FR.19/20; the variable's
        description: "SHALL NOT send clock aligned meter values when a transaction is
        ongoing"). On the EVSE tier it looks at this EVSE's transaction (J01.FR.19); station-wide
        at any transaction, and then also silences the main meter (J01.FR.20). False (the
        default) never silences anything.
        """
        if self.evse_send_during_idle is not None and self.evse_id != 0:
            return self.evse_send_during_idle and own_transaction
        return self.config.aligned_send_during_idle and any_transaction

    def poll(self, now: float, reading: MeterReading | Mapping[str, Any], *,
             own_transaction: bool = False,
             any_transaction: bool = False) -> MeterValuesRequest | None:
        """Take the due boundary, if any, and say what to send.

        Args:
            now: Current time.
            reading: The meter now.
            own_transaction: This EVSE has a running transaction. Its clock-aligned values then
                go in TransactionEventRequests (:class:`TransactionMeter`, J01.FR.22, TC_J_02),
                never in a MeterValuesRequest.
            any_transaction: Some EVSE of the station has a running transaction.

        Returns:
            A MeterValuesRequest payload (evseId + one MeterValue with context Sample.Clock and
            the AlignedDataMeasurands, J01.FR.14), or None when nothing is due, the EVSE is in
            a transaction, SendDuringIdle suppresses it, or nothing can be measured.
        """
        stamp = self._series.fire(now)
        if stamp is None:
            return None
        r = as_reading(reading)
        value = self._series.sample(stamp, r, SAMPLE_CLOCK, self.phases, self.location)
        if value is None or (own_transaction and self.evse_id != 0):
            return None
        if self.suppressed(own_transaction=own_transaction, any_transaction=any_transaction):
            return None
        return MeterValuesRequest(evse_id=self.evse_id, meter_value=(value,))


# -- transactions (J02, E01/E06) ----------------------------------------------------------------

_BEGIN, _MIDDLE, _END = 0, 1, 2          # sort rank of Ended entries sharing a timestamp


class _Kept:
    """The samples of one series kept for the Ended event, thinned evenly.

    Each offered sample gets an ordinal (0, 1, 2, ...). With ``stride`` s only ordinals that
    are multiples of s are kept; thinning doubles s and drops the kept samples that are not
    multiples of the new stride, i.e. every other one. The survivors and everything kept
    afterwards are then evenly spaced at s times the interval, across the whole transaction:
    collecting goes on, only coarser (E06.FR.13: "not ... stop adding values to the list").
    """

    def __init__(self) -> None:
        self.entries: list[tuple[float, int, MeterValueType]] = []
        self.count = 0
        self.stride = 1

    def offer(self, epoch: float, value: MeterValueType) -> bool:
        ordinal, self.count = self.count, self.count + 1
        if ordinal % self.stride:
            return False
        self.entries.append((epoch, ordinal, value))
        return True

    def thin(self) -> None:
        if len(self.entries) <= 1:
            self.entries.clear()
            return
        self.stride *= 2
        self.entries = [e for e in self.entries if e[1] % self.stride == 0]


@dataclass(frozen=True)
class MeterTick:
    """What one :meth:`TransactionMeter.poll` produced.

    Attributes:
        periodic: MeterValue for a TransactionEvent(Updated) with triggerReason
            MeterValuePeriodic (:data:`TRIGGER_REASON_PERIODIC`, J02.FR.11), or None.
        clock: MeterValue for a TransactionEvent(Updated) with triggerReason MeterValueClock
            (:data:`TRIGGER_REASON_CLOCK`, J01.FR.22), or None. When both are set, send two
            events (both stamped per J02.FR.10 with the event timestamp >= the value's).
        collected: Entries newly added to the Ended list; persist them (METER_VALUES) so a
            restarted Evse can pass them back as ``restored``. The cap may drop some later
            (the persisted set can be larger than the list); ``restored`` thins it again.
    """

    periodic: MeterValueType | None = None
    clock: MeterValueType | None = None
    collected: tuple[MeterValueType, ...] = ()


class TransactionMeter:
    """The meter values of one transaction.

    Lifecycle: construct at the transaction start; call :meth:`begin` once when the EVSE is
    known (at the start for E01.FR.09, later for E01.FR.17); :meth:`poll` at every
    :meth:`next_deadline`; :meth:`end` once, for the TransactionEvent(Ended).
    """

    def __init__(self, config: MeteringConfig, *, started_at: float, phases: int,
                 now: float | None = None, location: str = OUTLET,
                 max_ended_values: int = MAX_ENDED_METER_VALUES,
                 restored: Iterable[MeterValueType | dict] = (),
                 evse_send_during_idle: bool | None = None) -> None:
        """
        Args:
            config: The metering configuration.
            started_at: Start of the transaction: the anchor of the Sample.Periodic instants.
            phases: See :func:`sampled_values`.
            now: Current time, when it is later than ``started_at`` (a restarted actor):
                instants before it are not reported.
            location: LocationEnumType value of the EVSE's meter.
            max_ended_values: Cap on the meterValue entries of the Ended event, Begin and End
                included (at least 2); see :data:`MAX_ENDED_METER_VALUES`.
            restored: Ended-list entries persisted before a restart (``MeterTick.collected`` and
                :attr:`begin_value`), in any order; as models or as their wire dicts.
            evse_send_during_idle: As for :class:`IdleMeter`; replaces the station-wide value.

        Raises:
            ValueError: ``max_ended_values`` < 2.
        """
        if max_ended_values < 2:
            raise ValueError("max_ended_values must leave room for Transaction.Begin and .End")
        self.started_at = started_at
        self.phases = phases
        self.location = location
        self.max_ended_values = max_ended_values
        self.config = config
        self.evse_send_during_idle = evse_send_during_idle
        self._begin: tuple[float, MeterValueType] | None = None
        self._kept = {"ended": _Kept(), "clock_ended": _Kept()}
        self._finished = False
        self._end: tuple[float, MeterValueType] | None = None
        self._restore(restored)
        self._build_series(max(started_at, now if now is not None else started_at))

    def _build_series(self, after: float, old: dict[str, _Series] | None = None) -> None:
        c = self.config
        idle_only = (c.aligned_send_during_idle if self.evse_send_during_idle is None
                     else self.evse_send_during_idle)

        def previous(name: str) -> _Series | None:
            return old[name] if old else None

        sampled, aligned = c.sampled_sign_readings, c.aligned_sign_readings  # J02/J01.FR.21
        self._series = {
            "updated": _Series(PeriodicClock(c.tx_updated_interval, self.started_at), after,
                               c.updated, previous("updated"), sampled),
            "ended": _Series(PeriodicClock(c.tx_ended_interval, self.started_at), after,
                             c.ended, previous("ended"), sampled),
            # J01.FR.19/20: SendDuringIdle = true means no clock-aligned values during a
            # transaction, also not in TransactionEvents (TC_J_06).
            "clock": _Series(AlignedClock(c.aligned_interval), after,
                             () if idle_only else c.aligned, previous("clock"), aligned),
            "clock_ended": _Series(AlignedClock(c.aligned_tx_ended_interval), after,
                                   c.aligned_ended, previous("clock_ended"), aligned),
        }

    def _restore(self, restored: Iterable[MeterValueType | dict]) -> None:
        series: dict[str, list[tuple[float, MeterValueType]]] = {"ended": [], "clock_ended": []}
        for value in restored:
            try:
                if not isinstance(value, MeterValueType):
                    value = MeterValueType.model_validate(value)
                epoch = ocpp_epoch(value.timestamp)
                context = value.sampled_value[0].context or SAMPLE_PERIODIC
            except (ValueError, TypeError):        # pydantic's ValidationError is a ValueError
                log.warning("unreadable persisted meter value ignored")
                continue
            if context == TRANSACTION_BEGIN:
                self._begin = (epoch, value)
            elif context == SAMPLE_CLOCK:
                series["clock_ended"].append((epoch, value))
            elif context != TRANSACTION_END:   # a persisted End belongs to a finished meter
                series["ended"].append((epoch, value))
        # Ordinals restart at 0 in time order: the restored set is thinned evenly afresh.
        for name, entries in series.items():
            for epoch, value in sorted(entries, key=lambda entry: entry[0]):
                self._kept[name].offer(epoch, value)
        self._apply_cap()

    def reconfigure(self, config: MeteringConfig, now: float, *,
                    evse_send_during_idle: bool | None = None) -> None:
        """Apply changed variables mid-transaction. Sampled instants stay anchored at the
        start of the transaction (``start + k * new_interval`` after ``now``); aligned ones
        follow the new grid. Measurand changes apply from the next sample."""
        old = self._series
        self.config = config
        self.evse_send_during_idle = evse_send_during_idle
        self._build_series(now, old)

    # -- the three events ---------------------------------------------------------------------

    def begin(self, now: float,
              reading: MeterReading | Mapping[str, Any]) -> list[MeterValueType]:
        """Sample the start of the transaction.

        Records the Transaction.Begin entry of the Ended list (TxEndedMeasurands: "from the
        start of the transaction") and seeds the interval registers.

        Returns:
            The ``meterValue`` list for the TransactionEvent(Started) (E01.FR.09), or for the
            Updated event sent when charging starts if the EVSE was unknown at the start
            (E01.FR.17): TxStartedMeasurands with context Transaction.Begin. Empty when nothing
            is configured or measurable: then leave ``meterValue`` out (minItems 1).
        """
        r = as_reading(reading)
        sign = self.config.sampled_sign_readings                              # J02.FR.21
        started = meter_value_or_none(now, r, self.config.started, TRANSACTION_BEGIN,
                                      self.phases, self.location, sign=sign)
        collected = meter_value_or_none(now, r, self.config.ended, TRANSACTION_BEGIN,
                                        self.phases, self.location, sign=sign)
        if collected is not None:
            self._begin = (now, collected)
        for series in self._series.values():
            series.last_register = r.energy_active_import_wh
        return [started] if started is not None else []

    @property
    def begin_value(self) -> MeterValueType | None:
        """The Transaction.Begin entry of the Ended list (to persist after :meth:`begin`)."""
        return self._begin[1] if self._begin else None

    def next_deadline(self) -> float | None:
        """When :meth:`poll` should run next; None when no schedule is active."""
        dues = [s.due for s in self._series.values() if s.due is not None]
        return min(dues) if dues and not self._finished else None

    def poll(self, now: float, reading: MeterReading | Mapping[str, Any]) -> MeterTick:
        """Take every sample due at ``now``. See :class:`MeterTick` for what to do with it."""
        if self._finished:
            return MeterTick()
        r = as_reading(reading)
        out: dict[str, MeterValueType | None] = {}
        for name, context in (("updated", SAMPLE_PERIODIC), ("clock", SAMPLE_CLOCK)):
            series = self._series[name]
            stamp = series.fire(now)
            out[name] = (series.sample(stamp, r, context, self.phases, self.location)
                         if stamp is not None else None)
        collected = self._collect(now, r)
        return MeterTick(periodic=out["updated"], clock=out["clock"], collected=collected)

    def _collect(self, now: float, reading: MeterReading,
                 ending: bool = False) -> tuple[MeterValueType, ...]:
        collected = []
        for name, context in (("ended", SAMPLE_PERIODIC), ("clock_ended", SAMPLE_CLOCK)):
            series = self._series[name]
            # At the end a periodic instant equal to ``now`` is the Transaction.End value
            # itself; take only the instants before it.
            stamp = series.fire(math.nextafter(now, -math.inf)
                                if ending and context == SAMPLE_PERIODIC else now)
            if stamp is None or (ending and context == SAMPLE_PERIODIC
                                 and stamp != series.clock.latest(stamp)):
                continue            # (a long-missed instant would only duplicate the End value)
            value = series.sample(stamp, reading, context, self.phases, self.location)
            if value is not None and self._kept[name].offer(stamp, value):
                collected.append(value)
        if collected:
            self._apply_cap()
        return tuple(collected)

    def triggered(self, now: float,
                  reading: MeterReading | Mapping[str, Any]) -> MeterValueType | None:
        """MeterValue for TriggerMessage(TransactionEvent): the latest reading of
        TxUpdatedMeasurands, context Trigger (F06.FR.07); None if nothing is measurable."""
        return meter_value_or_none(now, as_reading(reading), self.config.updated, TRIGGER,
                                   self.phases, self.location,
                                   sign=self.config.sampled_sign_readings)

    def end(self, now: float,
            reading: MeterReading | Mapping[str, Any]) -> list[MeterValueType]:
        """Close the meter and build the ``meterValue`` list of the TransactionEvent(Ended).

        Samples still due at ``now`` are taken first. The list is Transaction.Begin, then the
        Sample.Periodic (TxEndedInterval) and Sample.Clock (AlignedDataTxEndedInterval) entries,
        then Transaction.End with TxEndedMeasurands (E06.FR.11 "the configured measurands ...
        with context Transaction.End"), in time order and at most ``max_ended_values`` long.
        With TxEndedInterval 0 that is only the start and end values (SampledDataTxEndedInterval
        description). A periodic sample falling on ``now`` itself is left out: the End value
        is that sample (and so is one missed by more than :data:`LATE_TOLERANCE_S`).

        Returns:
            The list; empty when nothing is configured (then leave ``meterValue`` out). A second
            call returns the same list (``now`` and ``reading`` are then ignored).
        """
        r = as_reading(reading)
        if not self._finished:
            self._collect(now, r, ending=True)
            self._finished = True
            end = meter_value_or_none(now, r, self.config.ended, TRANSACTION_END,
                                      self.phases, self.location,
                                      self._series["ended"].last_register,
                                      self.config.sampled_sign_readings)
            self._end = (now, end) if end is not None else None
        entries: list[tuple[float, int, MeterValueType]] = []
        if self._begin is not None:
            entries.append((self._begin[0], _BEGIN, self._begin[1]))
        entries += [(t, _MIDDLE, v) for kept in self._kept.values() for t, _, v in kept.entries]
        if self._end is not None:
            entries.append((self._end[0], _END, self._end[1]))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        return [value for _, _, value in entries]

    # -- the cap ------------------------------------------------------------------------------

    def _apply_cap(self) -> None:
        """Keep Begin + intermediates + End within ``max_ended_values``.

        E06.FR.13 / J02.FR.20: drop intermediate values first, every other one, never the
        start or the end value. The longer of the two series (periodic, clock) is halved (see
        :class:`_Kept`), so each stays evenly spaced.
        """
        room = self.max_ended_values - 2
        kept = list(self._kept.values())
        while sum(len(k.entries) for k in kept) > room:
            max(kept, key=lambda k: len(k.entries)).thin()
