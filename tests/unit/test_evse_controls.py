"""The hardware port of the Evse core (issue #9): the core needs only ``evse_hw.driver``.

A simulated EVSE offers two interfaces: the driver interface the core commands and polls
(:class:`evse_hw.driver.EvseHardware`) and the physical world's inputs
(:class:`simulators.evse_controls.SimulatorControls`), which reach the core through a
:class:`~simulators.evse_controls.ControlPanel`. A real driver offers only the first; these
tests run the core on such a driver.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from actors.evse import open_hardware
from evse_hw import driver as hw
from simulators.evse_controls import SimulatorControls
from station.evse_panel import ControlPanel
from simulators.evse_hardware import SimulatedEvseHardware, simulated_hardware
from config.station import EvsesSection
from station.evse_core import (AnnounceStatus, EvseCore, SaveState, SendTransactionEvent)
from station.evse_state import EvseState

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
_INTERFACE = frozenset({"info", "enable", "disable", "lock", "unlock", "set_limit",
                        "read_meter", "poll", "state"})


class RealDriver:
    """Only the driver interface, as a driver of real hardware has it; ``world`` plays the
    hardware (a test plugs a cable into it, as a person would)."""

    def __init__(self, world: SimulatedEvseHardware) -> None:
        self.world = world

    def __getattr__(self, name: str):
        if name in _INTERFACE:
            return getattr(self.world, name)
        raise AttributeError(name)


def real_driver_factory(evse_id: int, connectors: int) -> hw.HardwareFactory:
    """A ``package.module:name`` driver for ``evses.driver``: it keeps no state."""
    world = SimulatedEvseHardware(evse_id, connectors=connectors)
    opened: list[tuple] = []

    def open_driver(saved, now, power_lost) -> RealDriver:
        opened.append((saved, power_lost))
        return RealDriver(world)
    open_driver.opened = opened            # type: ignore[attr-defined]
    return open_driver


def _start(core: EvseCore) -> None:
    """Start the core and acknowledge its first announcements (the session's part), so what
    a test does next is not held back behind them."""
    for i in core.start(T0, None, fresh_boot=True):
        if isinstance(i, AnnounceStatus):
            core.status_seen(T0, i.connector_id, i.sequence)


def _kinds(intents) -> list[tuple]:
    out = []
    for i in intents:
        if isinstance(i, AnnounceStatus):
            out.append(("status", i.status))
        elif isinstance(i, SendTransactionEvent):
            out.append(("event", i.payload.event_type))
    return out


class TestTheSimulatorOffersBothPorts:
    def test_the_simulator_is_a_driver_with_controls_and_a_kept_state(self):
        sim = SimulatedEvseHardware(1)
        assert isinstance(sim, hw.EvseHardware)
        assert isinstance(sim, SimulatorControls) and isinstance(sim, hw.KeepsState)

    def test_a_real_driver_has_neither_controls_nor_a_kept_state(self):
        driver = RealDriver(SimulatedEvseHardware(1))
        assert isinstance(driver, hw.EvseHardware)
        assert not isinstance(driver, SimulatorControls)
        assert not isinstance(driver, hw.KeepsState)


class TestTheCoreOnARealDriver:
    """The core runs a transaction on a driver that is not the simulator."""

    def test_a_plug_in_noticed_by_the_driver_starts_the_transaction(self):
        factory = real_driver_factory(1, 1)
        core = EvseCore(1, {"TxCtrlr.TxStartPoint": "EVConnected"}, EvseState.load(1, 1, {}),
                        hardware=factory)
        _start(core)
        assert factory.opened == [(None, False)]
        now = T0 + timedelta(seconds=1)
        core.hw.world.plug_in(1, now.timestamp())          # the physical world, not the core
        intents = core.tick(now)
        assert _kinds(intents) == [("status", "Occupied")]     # the event waits behind it
        saved = [i.state for i in intents if isinstance(i, SaveState)][-1]
        assert saved["hw"] is None                         # nothing of the driver to keep
        assert _kinds(core.status_seen(now, 1, 2)) == [("event", "Started")]

    def test_open_hardware_names_a_factory_in_the_configuration(self):
        evses = EvsesSection(driver="tests.unit.test_evse_controls:real_driver_factory")
        driver = open_hardware(evses, 3)(None, 0.0, False)
        assert isinstance(driver, RealDriver) and driver.info.evse_id == 3

    def test_the_default_is_the_simulator(self):
        driver = open_hardware(EvsesSection(parking_bay_sensor=True), 2)(None, 0.0, False)
        assert isinstance(driver, SimulatedEvseHardware) and driver.info.has_parking_sensor


class TestControlPanel:
    """The simulator's inputs step the core at once; refused ones answer why and let time
    pass."""

    def _core(self, values=None) -> tuple[EvseCore, ControlPanel]:
        core = EvseCore(1, values or {}, EvseState.load(1, 1, {}),
                        hardware=simulated_hardware(1, 1))
        _start(core)
        return core, ControlPanel(core.hw, core)

    def test_a_plug_in_is_announced_in_the_same_step(self):
        core, panel = self._core()
        outcome = panel.plug_in(T0 + timedelta(seconds=1), 1)
        assert outcome.answer == (True, None)
        assert ("status", "Occupied") in _kinds(outcome.intents)

    def test_a_refused_input_says_why(self):
        core, panel = self._core()
        ok, error = panel.plug_out(T0 + timedelta(seconds=1)).answer
        assert not ok and "nothing is plugged" in error
        ok, error = panel.set_ev_state(T0, "flying").answer
        assert not ok and "charging or suspended" in error
