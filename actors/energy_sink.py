"""The EnergySink actor of one EVSE id (0: the whole station): composite schedules in, limits
for its Evse(s) out. The logic is :class:`station.energy_sink_core.SinkCore`; this shell only
delivers and arms the wake-up for the next period start.

Timers: ``wakeupAfter`` cannot be cancelled, so every armed wake-up carries a generation number
and only the newest acts (ARCHITECTURE.md, "what bites").

Addresses: the Root gives sink n the address of Evse n, and sink 0 those of every Evse
(``actors/root.py``), in its Directory. A new Directory (an Evse restarted somewhere) makes the
sink tell its Evse(s) the limits again.

After a restart the sink has no schedule: it applies nothing until the CsmsSession sends the
next one (at the latest after CompositeScheduleIntervalS; the session also republishes when the
Directory changes, which a restart causes).
"""
from __future__ import annotations

import logging
from datetime import timedelta

from thespian.actors import WakeupMessage

from actors.base import ChildActor
from messages.energy import ChargingLimitApplied, CompositeScheduleUpdated
from station import clock as station_clock
from station.energy_sink_core import SinkCore

log = logging.getLogger(__name__)


def system_now():
    """The system clock (a seam: tests replace it)."""
    return station_clock.utc_now()


class EnergySink(ChildActor):
    role = "energy_sink"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.core: SinkCore | None = None
        self.generation = 0
        self.clock = station_clock.StationClock(system=lambda: system_now())

    def configure(self, msg) -> None:
        self.core = SinkCore(self.index, list(range(1, self.config.evses.count + 1)))

    def directory_changed(self) -> None:
        self._deliver(self.core.resend(self.clock.now()))

    def receiveMsg_CompositeScheduleUpdated(self, msg: CompositeScheduleUpdated, sender):
        # The schedule is on the station's clock, which the CSMS may have set (B01.FR.06):
        # its computed_at, a moment ago, gives this process the offset.
        self.clock.offset_s = (station_clock.parse_ocpp_time(msg.computed_at)
                               - system_now()).total_seconds()
        now = self.clock.now()
        self._deliver(self.core.schedule_updated(msg, now))
        self._arm(now)

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender):
        if msg.payload != ("sink", self.generation):
            return
        now = self.clock.now()
        self._deliver(self.core.tick(now))
        self._arm(now)

    def _arm(self, now) -> None:
        self.generation += 1
        delay = self.core.seconds_to_next_change(now)
        if delay is not None:
            self.wakeupAfter(timedelta(seconds=delay + 0.001), payload=("sink", self.generation))

    def _deliver(self, limits: list[tuple[int, ChargingLimitApplied]]) -> None:
        evses = self.directory.evses if self.directory is not None else {}
        for evse_id, limit in limits:
            address = evses.get(evse_id)
            if address is None:
                # Sent again by resend() when the Directory arrives.
                log.debug("sink %d: no address for EVSE %d yet", self.index, evse_id)
                continue
            self.send(address, limit)
