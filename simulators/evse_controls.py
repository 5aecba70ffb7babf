"""The simulated EVSE's own port: what a person, a car or a sensor does to the hardware.

The Evse core knows its hardware only through :class:`evse_hw.driver.EvseHardware`: it
commands the driver and polls it for events. With real hardware, a plug going in or a fault
appearing is noticed by the driver and turns up in the next poll. The simulator has nobody to
plug it in, so it offers these inputs as a second interface, :class:`SimulatorControls`. The
Evse actor (the composition root) looks for that port on the driver it opened; when the driver
has none (a real one), the control API's plug-in, fault, parking and lock-failure routes are
refused for that EVSE, and nothing in the core changes. ``station.evse_panel.ControlPanel``
carries out one such input on the core.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from evse_hw.driver import HardwareState


@runtime_checkable
class SimulatorControls(Protocol):
    """The physical world's inputs to a simulated EVSE (``simulators/evse_hardware.py``).

    Every method takes the driver clock ``now`` and raises
    :class:`~simulators.evse_hardware.SimulatorInputError` for an input the simulated world
    does not allow.
    """

    def plug_in(self, connector_id: int, now: float) -> None: ...

    def disconnect_ev(self, now: float) -> None: ...

    def plug_out(self, now: float) -> None: ...

    def ev_charging(self, now: float) -> None: ...

    def ev_suspend(self, now: float) -> None: ...

    def raise_fault(self, code: str, now: float, text: str = "") -> None: ...

    def clear_fault(self, code: str, now: float) -> None: ...

    def park(self, now: float) -> None: ...

    def leave(self, now: float) -> None: ...

    def jam_lock(self, connector_id: int, jammed: bool = True) -> None: ...

    def state(self, now: float) -> HardwareState: ...
