"""The station's clock: the system clock plus an offset learnt from the CSMS.

B01.FR.06 / G02.FR.06: with ClockCtrlr.TimeSource containing "Heartbeat", the station takes the
CSMS's currentTime (BootNotificationResponse, HeartbeatResponse) as the truth. The process may
not set the system clock (no privileges, and other programs share it), so the station keeps an
offset instead and every timestamp it writes goes through :meth:`StationClock.now`. The
CsmsSession learns the offset and sends it to the Evse actors (``ClockSynchronized``), which
stamp their own events.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from ports.time import parse_ocpp_time, utc_now


class StationClock:
    def __init__(self, offset_s: float = 0.0, system: Callable[[], datetime] = utc_now) -> None:
        self.offset_s = offset_s
        self._system = system

    def now(self) -> datetime:
        return self._system() + timedelta(seconds=self.offset_s)

    def synchronize(self, csms_time: str) -> float:
        """Adopt the CSMS's time; returns the adjustment in seconds (0.0 if unreadable)."""
        try:
            target = parse_ocpp_time(csms_time)
        except ValueError:
            return 0.0
        adjustment = (target - self.now()).total_seconds()
        self.offset_s += adjustment
        return adjustment
