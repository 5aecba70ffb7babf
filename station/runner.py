"""Start and stop a station's actor system from a plain process (run.py, tests, benchmarks)."""
from __future__ import annotations

import logging
import time

from messages.supervision import (GetStationHealth, StartStation, StationHealth, StationStarted,
                                  StopStation)
from station.actor_system import port_in_use, shutdown_actor_system, start_actor_system
from station.config import StationConfig

log = logging.getLogger(__name__)


class StationRunner:
    def __init__(self, config: StationConfig, boot_reason: str = "PowerUp") -> None:
        self.config = config
        self.boot_reason = boot_reason
        self.asys = None
        self.root = None
        self._last_health = time.monotonic()

    def start(self, timeout: float = 120) -> None:
        """Start the actor system and the station; raises RuntimeError when it cannot."""
        from actors.root import ROOT_GLOBAL_NAME, Root

        section = self.config.actor_system
        self.asys = start_actor_system(section.base, admin_port=section.admin_port,
                                       bind_address=section.bind_address,
                                       logfile=self.config.logging.file,
                                       log_level=self.config.logging.level)
        self.root = self.asys.createActor(Root, globalName=ROOT_GLOBAL_NAME)
        answer = self.asys.ask(self.root, StartStation(config=self.config,
                                                       boot_reason=self.boot_reason), timeout)
        if not isinstance(answer, StationStarted):
            raise RuntimeError(f"the station did not start within {timeout} s")
        if not answer.ok:
            raise RuntimeError(f"the station did not start: {answer.error}")

    def seconds_since_health_check(self) -> float:
        return time.monotonic() - self._last_health

    def health(self, timeout: float = 10) -> StationHealth | None:
        self._last_health = time.monotonic()
        answer = self.asys.ask(self.root, GetStationHealth(), timeout)
        return answer if isinstance(answer, StationHealth) else None

    def admin_gone(self) -> bool:
        """True when the admin this runner started no longer listens on its port (it was
        killed). Then asking the Root anything would wait in vain: Thespian's handle keeps
        retrying a transmit nobody will take."""
        admin = getattr(self.asys, "_station_admin", None)     # None for simpleSystemBase
        return admin is not None and not port_in_use(*admin)

    def stop(self, timeout: float = 15) -> None:
        if self.asys is None:
            return
        if self.admin_gone():
            # Its actors ended with it (station/orphan_guard.py); only our handle is left.
            transport = getattr(self.asys._systemBase, "transport", None)
            if transport is not None:
                transport.close()
            self.asys = None
            return
        try:
            if self.root is not None:
                self.asys.ask(self.root, StopStation(), timeout)
        finally:
            shutdown_actor_system(self.asys)
            self.asys = None
