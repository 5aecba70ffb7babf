"""One EnergySink without Thespian: composite schedules in, limits for the Evses out.

Theory of operation
-------------------
The CsmsSession computes the composite schedule of every EVSE id 0..N and sends each to the
EnergySink of that id (``CompositeScheduleUpdated``, see ``blocks/smart_charging.py``). The
sink keeps the newest one as a :class:`~smart_charging.sink_limits.SinkLimits` and tells the
Evse(s) the limit in force (``ChargingLimitApplied``): when a schedule arrives, and at each
period start (the actor arms one ``wakeupAfter`` for :meth:`SinkCore.seconds_to_next_change`).
It tells an Evse again only when the limit it would send changed, or when :meth:`resend` asks
(the Evse may have restarted).

* **Sink n (an EVSE)** sends its EVSE the composite limit in the schedule's unit: a current per
  phase for A (K01.FR.51), a total power for W, with the period's numberPhases (K01.FR.49).
* **Sink 0 (the whole station)** holds the station-level limit: ChargingStationMaxProfile,
  external limits on EVSE 0, and the sum of the EVSEs' maxima when nothing else limits. That
  limit is for all EVSEs together (part 2 §3.5, K04.FR.05), so the sink *shares* it: with
  ``k`` of the ``N`` EVSEs running a transaction, every EVSE may use ``limit / (k + 1)``
  (``limit / N`` once all run one). The share of one more transaction is held back because an
  EVSE may start drawing before its TransactionEvent reaches the session and the session
  republishes (it does at every transaction start and end): the running ones plus one newcomer
  stay within the limit at every moment. An equal split is the simplest internal load
  balancing (K04) that is safe; priorities (K03.FR.04) and minChargingRate (K04.FR.04) are not
  used, and a share below the EVSE's 6 A minimum pauses it (IEC 61851-1).

The Evse applies, per quantity, the lowest of what its own sink and sink 0 said
(``station/evse_core.py``), so the EVSE keeps to both its composite schedule and its share.
"""
from __future__ import annotations

from datetime import datetime

from messages.energy import ChargingLimitApplied, CompositeScheduleUpdated
from smart_charging.sink_limits import SinkLimits

NOMINAL_VOLTAGE_V = 230.0


class SinkCore:
    """The logic of the EnergySink for EVSE id ``index`` (0: the station).

    Args:
        index: the EVSE id of this sink.
        evse_ids: the station's EVSE ids (sink 0 shares among them).
    """

    def __init__(self, index: int, evse_ids: list[int]) -> None:
        self.index = index
        self.evse_ids = list(evse_ids) if index == 0 else [index]
        self.limits: SinkLimits | None = None
        self.charging: list[int] = []
        self._sent: dict[int, ChargingLimitApplied] = {}

    def schedule_updated(self, msg: CompositeScheduleUpdated,
                         now: datetime) -> list[tuple[int, ChargingLimitApplied]]:
        """A new schedule replaces the old one; returns (EVSE id, limit) to send now."""
        self.limits = SinkLimits(msg.schedule, nominal_voltage=NOMINAL_VOLTAGE_V)
        self.charging = [e for e in msg.charging_evses if e in self.evse_ids]
        return self.tick(now)

    def tick(self, now: datetime) -> list[tuple[int, ChargingLimitApplied]]:
        """The limits in force at ``now`` that differ from what each Evse was told."""
        out = []
        for evse_id, limit in self.wanted(now).items():
            if self._sent.get(evse_id) != limit:
                self._sent[evse_id] = limit
                out.append((evse_id, limit))
        return out

    def resend(self, now: datetime) -> list[tuple[int, ChargingLimitApplied]]:
        """Everything again (an Evse may have restarted without its limits)."""
        self._sent.clear()
        return self.tick(now)

    def wanted(self, now: datetime) -> dict[int, ChargingLimitApplied]:
        """EVSE id -> the limit this sink imposes at ``now`` (empty before any schedule)."""
        if self.limits is None:
            return {}
        applied = self.limits.limit_at(now)
        phases = applied.number_phases
        if self.index != 0:
            if applied.unit == "A":
                limit = ChargingLimitApplied(sink=self.index, current_a=applied.current_a,
                                             phases=phases)
            else:
                limit = ChargingLimitApplied(sink=self.index, power_w=applied.power_w,
                                             phases=phases)
            return {self.index: limit}
        parts = min(len(self.charging) + 1, len(self.evse_ids))
        out = {}
        for evse_id in self.evse_ids:
            if applied.unit == "A":
                out[evse_id] = ChargingLimitApplied(sink=0, current_a=applied.current_a / parts)
            else:
                out[evse_id] = ChargingLimitApplied(sink=0, power_w=applied.power_w / parts)
        return out

    def seconds_to_next_change(self, now: datetime) -> float | None:
        """When to wake up for the next period start; None without a schedule or after it."""
        if self.limits is None:
            return None
        return self.limits.seconds_to_next_change(now)

    def view(self, now: datetime) -> dict:
        """What the sink applies, for logs and tests."""
        if self.limits is None:
            return {"evse_id": self.index, "limit": None}
        applied = self.limits.limit_at(now)
        return {"evse_id": self.index, "unit": applied.unit, "current_a": applied.current_a,
                "power_w": applied.power_w, "phases": applied.number_phases,
                "charging_evses": self.charging, "expired": applied.expired}
