"""``python run.py --demo``: simulated drivers use the station, so a newcomer sees it work.

EVs arrive at free EVSEs, their drivers present a card, the EV charges for a while (pausing
once in a while), the driver presents the card again and leaves. Every step goes through the
same control-API gateway an operator or a test would use, and the console shows what happens
in plain words next to the OCPP traffic of the station's log.
"""
from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass

from api.gateway import Conflict, GatewayError

log = logging.getLogger("demo")

# Seconds; short enough that a newcomer sees complete sessions within the first minute.
ARRIVAL_S = (2.0, 12.0)
CHARGE_S = (15.0, 40.0)
PAUSE_CHANCE = 0.25


@dataclass
class _Visit:
    step: str = "away"          # away -> plugged -> charging -> stopped
    due: float = 0.0
    card: str = ""


class Demo:
    def __init__(self, gateway, evse_ids: list[int], *, seed: int | None = None,
                 clock=None) -> None:
        import time
        self._gateway = gateway
        self._rng = random.Random(seed)
        self._clock = clock or time.monotonic
        self._visits = {evse_id: _Visit(due=self._clock() + self._rng.uniform(*ARRIVAL_S))
                        for evse_id in evse_ids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo", daemon=True)

    def start(self) -> None:
        log.info("simulated EVs will arrive at %d EVSE(s)", len(self._visits))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            now = self._clock()
            for evse_id, visit in self._visits.items():
                if now >= visit.due:
                    try:
                        self.step(evse_id, visit, now)
                    except GatewayError as exc:
                        log.info("EVSE %d: %s (%s); trying again later", evse_id,
                                 visit.step, exc)
                        visit.due = now + 5

    def _occupied(self, evse_id: int) -> bool:
        connectors = self._gateway.evse(evse_id).get("connectors", [])
        return any(c.get("status") == "Occupied" for c in connectors)

    def step(self, evse_id: int, visit: _Visit, now: float) -> None:
        """One step of one EV's visit; the gateway raises GatewayError when refused."""
        gateway, rng = self._gateway, self._rng
        if visit.step == "away":
            try:
                gateway.plug_in(evse_id, 1)
            except Conflict:
                if not self._occupied(evse_id):
                    raise
                # A cable still in from before (a run stopped mid-visit: the simulated EVSE
                # keeps its state, as hardware would) would block this EVSE for good.
                log.info("EVSE %d: an EV from before is still plugged in; it leaves first",
                         evse_id)
                gateway.plug_out(evse_id)
                visit.due = now + rng.uniform(1.0, 4.0)
                return
            visit.card = f"{rng.getrandbits(32):08X}"
            log.info("EVSE %d: an EV arrives and plugs in", evse_id)
            visit.step, visit.due = "plugged", now + rng.uniform(1.0, 4.0)
        elif visit.step == "plugged":
            gateway.present_token(evse_id, visit.card, "ISO14443")
            gateway.set_ev_state(evse_id, "charging")
            log.info("EVSE %d: driver presents card %s; the EV asks for energy",
                     evse_id, visit.card)
            visit.step, visit.due = "charging", now + rng.uniform(*CHARGE_S)
        elif visit.step == "charging":
            if rng.random() < PAUSE_CHANCE:
                gateway.set_ev_state(evse_id, "suspended")
                log.info("EVSE %d: the EV pauses charging", evse_id)
                visit.step, visit.due = "paused", now + rng.uniform(3.0, 8.0)
                return
            transaction = gateway.evse(evse_id).get("transaction") or {}
            gateway.present_token(evse_id, visit.card, "ISO14443")
            log.info("EVSE %d: driver presents card %s again to stop (%.2f kWh charged)",
                     evse_id, visit.card, (transaction.get("energy_wh") or 0) / 1000)
            visit.step, visit.due = "stopped", now + rng.uniform(1.0, 4.0)
        elif visit.step == "paused":
            gateway.set_ev_state(evse_id, "charging")
            log.info("EVSE %d: the EV resumes charging", evse_id)
            visit.step, visit.due = "charging", now + rng.uniform(5.0, 15.0)
        elif visit.step == "stopped":
            gateway.plug_out(evse_id)
            log.info("EVSE %d: the EV leaves", evse_id)
            visit.step, visit.due = "away", now + rng.uniform(*ARRIVAL_S)
