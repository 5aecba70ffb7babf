"""One control input of a simulated EVSE, carried out on its Evse core.

:class:`ControlPanel` carries out one control input (``simulators.evse_controls.
SimulatorControls``) the way the Evse actor needs it: the input runs at the core's driver
clock, inside :meth:`~station.evse_core.EvseCore.operate`, so the core steps at once (the same
step a poll of real hardware gives) and returns the intents; an input the simulated world does
not allow (:class:`~simulators.evse_hardware.SimulatorInputError`) is refused with its
sentence, and time still passes (a tick).

Unplugging with a locked connector takes two steps: the EV end comes out first (E09/E10), the
core then decides whether the lock opens (UnlockOnEVSideDisconnect), and only an unlocked
cable leaves the socket; a cable still locked is held for its token (E09.FR.03, E10.FR.01).

It sits in the station layer, above the simulator, because it drives the core; the core itself
knows only ``evse_hw``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Protocol

from evse_hw.driver import EvState, HardwareState
from simulators.evse_controls import SimulatorControls
from simulators.evse_hardware import SimulatorInputError
from station.evse_intents import Intent, Outcome


class SteppedEvse(Protocol):
    """What the panel needs of the Evse core (:class:`~station.evse_core.EvseCore`)."""

    def operate(self, now: datetime, change: Callable[[float], None]) -> list[Intent]: ...

    def tick(self, now: datetime) -> list[Intent]: ...


def _plug_locked(state: HardwareState) -> bool:
    plugged = state.plugged_connector
    return plugged is not None and any(c.locked for c in state.connectors
                                       if c.connector_id == plugged)


class ControlPanel:
    """The control inputs of one simulated EVSE, each followed by a step of its core.

    Every method returns an :class:`~station.evse_intents.Outcome` whose answer is
    ``(ok, error)``; carry out its intents as for any other input.
    """

    def __init__(self, controls: SimulatorControls, evse: SteppedEvse) -> None:
        self._hw = controls
        self._evse = evse

    def plug_in(self, now: datetime, connector_id: int = 1) -> Outcome:
        """An EV is plugged into ``connector_id`` (E02.FR.05 Occupied)."""
        return self._operate(now, lambda t: self._hw.plug_in(connector_id, t))

    def plug_out(self, now: datetime) -> Outcome:
        """The driver unplugs. A locked connector keeps the cable's socket end: then only the
        EV end comes out (E09/E10), and the cable follows if the lock then releases."""
        ev_end_only: list[bool] = []

        def ev_end(t: float) -> None:
            state = self._hw.state(t)
            if _plug_locked(state) and state.ev_state != EvState.NO_EV:
                self._hw.disconnect_ev(t)
                ev_end_only.append(True)

        def cable(t: float) -> None:
            if ev_end_only and _plug_locked(self._hw.state(t)):
                return                      # held for its token (E09.FR.03, E10.FR.01)
            self._hw.plug_out(t)

        first = self._operate(now, ev_end)       # the step may unlock (UnlockOnEVSideDisconnect)
        second = self._operate(now, cable)
        return Outcome(second.answer, first.intents + second.intents)

    def set_ev_state(self, now: datetime, state: str) -> Outcome:
        """The EV requests energy (``"charging"``) or stops requesting (``"suspended"``)."""
        if state not in ("charging", "suspended"):
            return self._refuse(now, f"EV state must be charging or suspended, not {state!r}")
        act = self._hw.ev_charging if state == "charging" else self._hw.ev_suspend
        return self._operate(now, act)

    def set_fault(self, now: datetime, active: bool, code: str) -> Outcome:
        """A hardware fault appears or clears (connector Faulted, G01; the relay opens)."""
        if active:
            return self._operate(now, lambda t: self._hw.raise_fault(code, t))
        return self._operate(now, lambda t: self._hw.clear_fault(code, t))

    def set_lock_failure(self, now: datetime, connector_id: int, active: bool) -> Outcome:
        """The retention lock of ``connector_id`` jams (``active``) or works again. A jammed
        lock that must engage keeps the relay open (G05.FR.01) and is reported (G05.FR.02)."""
        return self._operate(now, lambda t: self._hw.jam_lock(connector_id, active))

    def set_parking_bay(self, now: datetime, occupied: bool) -> Outcome:
        """A vehicle enters or leaves the parking bay (E01.FR.01 EVDetected, E06.FR.01
        EVDeparted); refused without a bay sensor."""
        return self._operate(now, self._hw.park if occupied else self._hw.leave)

    def _operate(self, now: datetime, change: Callable[[float], None]) -> Outcome:
        try:
            intents = self._evse.operate(now, change)
        except SimulatorInputError as exc:
            return self._refuse(now, str(exc))
        return Outcome((True, None), intents)

    def _refuse(self, now: datetime, error: str) -> Outcome:
        return Outcome((False, error), self._evse.tick(now))
