"""Simulated EVSE hardware: an AC EVSE with socket outlets, a relay, a lock, a meter and an EV.

Theory of operation
-------------------
:class:`SimulatedEvseHardware` implements :class:`evse_hw.driver.EvseHardware` (the Evse
actor's *commands*: enable, lock, set_limit, read_meter, poll, state) and adds the *inputs* a
person or a car would give real hardware (plug_in, ev_charging, raise_fault, park, ...). The
control API, the demo and the tests drive the inputs; the Evse actor only sees the driver
interface and the events it polls. There is no clock and no randomness inside: every method
whose effect depends on time takes ``now`` (monotonic seconds, never decreasing).

The physical rules, all in :meth:`_settle` and the few guards of each method:

* **Relay.** It is closed exactly while: the EVSE is enabled, an EV is connected and requests
  energy, no fault is active, the offered current is at least ``min_current_a`` (IEC 61851-1
  cannot signal less than 6 A; a lower limit, 0 included, pauses charging), and the connector
  is locked (``lock_required``, default True: IEC 61851-1 asks a socket outlet to be locked
  while energised, so real EVSEs lock before they close the relay). Otherwise it is open.
* **Power** (relay closed) = min(EV demand, applied limit, EVSE maximum) on the phases in use,
  where phases in use = min(EVSE phases, limit phases, EV phases) and each phase carries
  ``voltage_v`` times its current. A power limit binds exactly: 11000 W is 11000 W. With the
  relay open the power is 0.
* **Energy.** The register integrates power over time. Every call that takes ``now`` first
  adds ``power * (now - previous now)`` with the power that was in effect, *then* applies its
  change, so a change at t only affects energy after t. A ``now`` earlier than the previous
  one adds nothing (the register never decreases) and becomes the new reference.
* **Connectors and lock.** One plug at a time per EVSE (an EVSE delivers to one connector).
  ``plug_in`` puts a cable into the socket *and* the EV; ``disconnect_ev`` pulls it out of the
  EV only (E09/E10, "cable disconnected on EV side"): the EV state becomes ``NO_EV`` and the
  connector stays plugged; ``plug_in`` on that connector then reconnects the EV. ``plug_out``
  takes the cable out of the socket. ``lock`` engages only with a plug in that socket (the
  lock's feedback contact needs the plug to confirm); ``unlock`` is attempted and succeeds
  also without a plug (F05.FR.06). A locked plug cannot be pulled out of the socket:
  ``plug_out`` then raises :class:`SimulatorInputError` and nothing changes (the driver can
  still ``disconnect_ev``). ``jam_lock`` makes the actuator fail both ways (F05.FR.05).
* **EV.** A newly connected EV starts in ``CONNECTED`` (state B) and requests energy after
  ``ev_charging``; ``ev_suspend`` makes it stop asking (suspended by EV). ``ev_demand`` sets
  the most current per phase and the phases the EV draws (default: whatever is offered, 3
  phases); it is a property of the simulated car and survives plug-outs.
* **Faults** are keyed by code. Any active fault opens the relay; clearing the last one lets
  it close again if nothing else prevents it.

Event order (what :meth:`poll` returns) follows cause and effect. Within one call:
``ConnectorPlugged`` comes first and ``ConnectorUnplugged`` last; ``FaultRaised`` /
``FaultCleared`` and ``ParkingBayOccupancy`` come before what they cause; a closing relay comes
before ``EvStateChanged(CHARGING)``; when the EV causes the relay to open (suspend, unplug) its
``EvStateChanged`` comes first, when the EVSE does (disable, limit, fault, unlock)
``PowerPathOpened`` comes first. Only settled states are reported: one call gives at most one
``EvStateChanged``.

Refused inputs raise :class:`SimulatorInputError` (a ``ValueError``) with a sentence that says
why, so the control API can answer 409 with it; refused commands behave as the interface says
(``lock``/``unlock`` return False).

**Signing meter** (``signing_meter``, default True): ``read_meter`` with a
:class:`~evse_hw.driver.SignRequest` also returns the register signed with this meter's own
ECDSA secp256r1 key (:mod:`simulators.meter_signing`). The key is created on the first signed
reading and saved with the state (:meth:`to_dict`), so readings signed before a restart still
verify with the public key the meter shows afterwards.

Because the simulator lives inside the Evse process, :meth:`to_dict` / :meth:`from_dict` let
the Evse persist the *physical* state (plug, lock, EV, faults, meter register) and rebuild it
after a restart: the cable did not leave the car because the controller crashed
(:class:`evse_hw.driver.KeepsState`; :func:`simulated_hardware` is the driver factory the Evse
actor opens it with). The inputs of the physical world are the simulator's own port,
:class:`simulators.evse_controls.SimulatorControls`.
"""
from __future__ import annotations

import math
from typing import Any

from evse_hw.driver import (AppliedLimit, ConnectorPlugged, ConnectorState, ConnectorUnplugged,
                            EvState, EvStateChanged, Fault, FaultCleared, FaultRaised,
                            HardwareEvent, HardwareFactory, HardwareInfo, HardwareState, MeterReading,
                            ParkingBayOccupancy, PowerPathClosed, PowerPathOpened, SignRequest)
from simulators.meter_signing import MeterSigner

STATE_VERSION = 1
# The EVSE the station simulates; the CsmsSession's composite schedules use the same maximum.
SIMULATED_MAX_CURRENT_A = 32.0
SIMULATED_PHASES = 3


class SimulatorInputError(ValueError):
    """An operator or EV input the physical EVSE does not allow; the message says why."""


class SimulatedEvseHardware:
    """One simulated AC EVSE: see the module docstring for the rules.

    Args:
        evse_id: the OCPP EVSE id (>= 1).
        connectors: number of connectors (socket outlets), ids 1..connectors.
        max_current_a: the most current per phase the EVSE delivers.
        phases: supply phases (1..3).
        voltage_v: phase-to-neutral voltage.
        has_parking_sensor: a parking-bay sensor is fitted (``park``/``leave``).
        min_current_a: the least current per phase the EVSE can offer (IEC 61851-1: 6 A).
        frequency_hz: what the meter reports as Frequency.
        lock_required: the relay closes only while the connector is locked.
        energy_wh: the meter register to start from (a real meter keeps its register).
        signing_meter: the meter signs readings on request (see the module docstring).

    Raises:
        ValueError: an impossible configuration.
    """

    def __init__(self, evse_id: int, connectors: int = 1, max_current_a: float = 32.0,
                 phases: int = 3, voltage_v: float = 230.0, has_parking_sensor: bool = False,
                 *, min_current_a: float = 6.0, frequency_hz: float = 50.0,
                 lock_required: bool = True, energy_wh: float = 0.0,
                 signing_meter: bool = True) -> None:
        if evse_id < 1:
            raise ValueError(f"evse_id must be >= 1, not {evse_id}")
        if connectors < 1:
            raise ValueError(f"an EVSE needs at least one connector, not {connectors}")
        if phases not in (1, 2, 3):
            raise ValueError(f"phases must be 1, 2 or 3, not {phases}")
        if not max_current_a > 0 or not voltage_v > 0:
            raise ValueError("max_current_a and voltage_v must be positive")
        if not 0 <= min_current_a <= max_current_a:
            raise ValueError(f"min_current_a must be within 0..{max_current_a}")
        if energy_wh < 0:
            raise ValueError("the energy register cannot be negative")
        self._info = HardwareInfo(
            evse_id=evse_id, connector_ids=tuple(range(1, connectors + 1)), phases=phases,
            max_current_a=float(max_current_a), min_current_a=float(min_current_a),
            nominal_voltage_v=float(voltage_v), has_connector_lock=True,
            has_parking_sensor=has_parking_sensor, can_sign_readings=signing_meter)
        self._frequency_hz = frequency_hz
        self._lock_required = lock_required
        # Controller commands. The EVSE starts disabled, as hardware does after power-up,
        # until its controller decides energy may flow.
        self._enabled = False
        self._limit = AppliedLimit()
        # The physical world.
        self._cable: int | None = None          # the connector a plug is in
        self._ev_connected = False              # the EV end of that cable is in the car
        self._ev_wants = False                  # the EV requests energy (state C)
        self._ev_max_current_a = math.inf
        self._ev_phases = 3
        self._locked = {c: False for c in self._info.connector_ids}
        self._jammed: set[int] = set()
        self._parked: bool | None = False if has_parking_sensor else None
        self._faults: dict[str, str] = {}       # code -> text, insertion order = oldest first
        # Derived state, changed only by _settle.
        self._relay = False
        self._ev_state = EvState.NO_EV
        # Meter: watt-seconds keep 11 kW * 360 s exact in binary floating point.
        self._energy_ws = float(energy_wh) * 3600.0
        self._signer: MeterSigner | None = None      # created on the first signed reading
        self._last_now: float | None = None
        self._events: list[HardwareEvent] = []

    # -- driver interface (commands from the Evse actor) ------------------------------------------

    @property
    def info(self) -> HardwareInfo:
        """What this EVSE is."""
        return self._info

    def enable(self, now: float) -> None:
        """Allow energy delivery."""
        self._advance(now)
        self._enabled = True
        self._settle(ev_initiated=False)

    def disable(self, now: float) -> None:
        """Forbid energy delivery: the relay opens at once."""
        self._advance(now)
        self._enabled = False
        self._settle(ev_initiated=False)

    def lock(self, connector_id: int, now: float) -> bool:
        """Engage the lock; it engages only with a plug in that connector and not jammed.

        Returns:
            True when the connector is locked afterwards.
        """
        self._check_connector(connector_id, ValueError)
        if connector_id in self._jammed or self._cable != connector_id:
            return self._locked[connector_id]
        self._advance(now)
        self._locked[connector_id] = True
        self._settle(ev_initiated=False)
        return True

    def unlock(self, connector_id: int, now: float) -> bool:
        """Release the lock, with or without a plug (F05.FR.06); a jammed lock fails.

        Releasing the lock of a connector that is charging opens the relay first (with
        ``lock_required``): the EVSE never leaves an unlocked socket energised.

        Returns:
            True when the connector is unlocked afterwards.
        """
        self._check_connector(connector_id, ValueError)
        if connector_id in self._jammed:
            return not self._locked[connector_id]
        self._advance(now)
        self._locked[connector_id] = False
        self._settle(ev_initiated=False)
        return True

    def set_limit(self, current_a: float | None, power_w: float | None, phases: int | None,
                  now: float) -> None:
        """Apply a limit (``None`` = no limit for that part); replaces the previous one.

        Raises:
            ValueError: a negative or NaN value, or phases outside 1..3.
        """
        for name, value in (("current_a", current_a), ("power_w", power_w)):
            if value is not None and not value >= 0:
                raise ValueError(f"{name} must be >= 0 or None, not {value}")
        if phases is not None and phases not in (1, 2, 3):
            raise ValueError(f"phases must be 1, 2, 3 or None, not {phases}")
        self._advance(now)
        self._limit = AppliedLimit(current_a, power_w, phases)
        self._settle(ev_initiated=False)

    def read_meter(self, now: float, sign: SignRequest | None = None) -> MeterReading:
        """The meter as of ``now``; the caller stamps it. With ``sign`` and a signing meter,
        ``signed`` holds the meter's signature over the register it read."""
        self._advance(now)
        power = self._power_w()
        phases = self._phases_in_use()
        per_phase = power / (self._info.nominal_voltage_v * phases)
        register_wh = self._energy_ws / 3600.0
        signed = None
        if sign is not None and self._info.can_sign_readings:
            if self._signer is None:
                self._signer = MeterSigner(f"SIM-EVSE-{self._info.evse_id}")
            signed = self._signer.sign(register_wh, sign)
        return MeterReading(
            energy_active_import_wh=register_wh,
            power_active_import_w=power,
            voltage_v=(self._info.nominal_voltage_v,) * self._info.phases,
            current_import_a=tuple(per_phase if i < phases else 0.0
                                   for i in range(self._info.phases)),
            current_offered_a=self._offered_current_a(),
            frequency_hz=self._frequency_hz, signed=signed)

    def poll(self, now: float) -> list[HardwareEvent]:
        """The events since the previous poll, oldest first; they are then forgotten."""
        self._advance(now)
        events, self._events = self._events, []
        return events

    def state(self, now: float) -> HardwareState:
        """A snapshot of the whole EVSE as of ``now``."""
        self._advance(now)
        return HardwareState(
            evse_id=self._info.evse_id,
            enabled=self._enabled,
            connectors=tuple(ConnectorState(c, self._cable == c, self._locked[c])
                             for c in self._info.connector_ids),
            ev_state=self._ev_state,
            power_path_closed=self._relay,
            limit=self._limit,
            phases_in_use=self._phases_in_use(),
            power_w=self._power_w(),
            energy_wh=self._energy_ws / 3600.0,
            faults=tuple(Fault(code, text) for code, text in self._faults.items()),
            parking_bay_occupied=self._parked)

    def advance(self, now: float) -> None:
        """Let time pass until ``now`` (the energy register integrates the power)."""
        self._advance(now)

    # -- inputs from the physical world (operator, EV, sensors) -----------------------------------

    def plug_in(self, connector_id: int, now: float) -> None:
        """Connect an EV to ``connector_id``: the cable into the socket and into the car.

        On a connector whose cable is still in the socket after :meth:`disconnect_ev`, this
        reconnects the EV end only (no ``ConnectorPlugged``). The EV starts in ``CONNECTED``.

        Raises:
            SimulatorInputError: unknown connector, another connector in use, or this one
                already has an EV.
        """
        self._check_connector(connector_id, SimulatorInputError)
        if self._cable is not None and self._cable != connector_id:
            raise SimulatorInputError(
                f"connector {self._cable} of EVSE {self._info.evse_id} is in use; "
                "an EVSE serves one connector at a time")
        if self._cable == connector_id and self._ev_connected:
            raise SimulatorInputError(f"connector {connector_id} already has an EV plugged in")
        self._advance(now)
        if self._cable is None:
            self._cable = connector_id
            self._emit(ConnectorPlugged(connector_id))
        self._ev_connected = True
        self._ev_wants = False  # IEC 61851-1: an EV shows state B before it asks for energy
        self._settle(ev_initiated=True)

    def disconnect_ev(self, now: float) -> None:
        """Pull the cable out of the EV; it stays in the (possibly locked) socket (E09/E10).

        Raises:
            SimulatorInputError: no EV is connected.
        """
        if not self._ev_connected:
            raise SimulatorInputError(f"no EV is connected to EVSE {self._info.evse_id}")
        self._advance(now)
        self._ev_connected = False
        self._ev_wants = False
        self._settle(ev_initiated=True)

    def plug_out(self, now: float) -> None:
        """Take the cable out of the socket (and out of the EV if it still is in it).

        Raises:
            SimulatorInputError: nothing is plugged in, or the connector is locked (a locked
                plug cannot be pulled out; nothing changes).
        """
        connector_id = self._cable
        if connector_id is None:
            raise SimulatorInputError(f"nothing is plugged into EVSE {self._info.evse_id}")
        if self._locked[connector_id]:
            raise SimulatorInputError(
                f"connector {connector_id} is locked; the plug cannot be pulled out")
        self._advance(now)
        if self._ev_connected:
            self._ev_connected = False
            self._ev_wants = False
            self._settle(ev_initiated=True)
        self._cable = None
        self._emit(ConnectorUnplugged(connector_id))

    def ev_charging(self, now: float) -> None:
        """The EV requests energy (IEC 61851-1 state C); idempotent.

        Raises:
            SimulatorInputError: no EV is connected.
        """
        self._require_ev()
        self._advance(now)
        self._ev_wants = True
        self._settle(ev_initiated=True)

    def ev_suspend(self, now: float) -> None:
        """The EV stops requesting energy (state B: suspended by the EV); idempotent.

        Raises:
            SimulatorInputError: no EV is connected.
        """
        self._require_ev()
        self._advance(now)
        self._ev_wants = False
        self._settle(ev_initiated=True)

    def ev_demand(self, max_current_a: float | None, now: float,
                  phases: int | None = None) -> None:
        """Set what the simulated car draws at most: current per phase (``None`` = whatever is
        offered) and, when given, how many phases its charger uses.

        Raises:
            SimulatorInputError: a negative current or phases outside 1..3.
        """
        if max_current_a is not None and not max_current_a >= 0:
            raise SimulatorInputError(f"EV demand must be >= 0 A, not {max_current_a}")
        if phases is not None and phases not in (1, 2, 3):
            raise SimulatorInputError(f"EV phases must be 1, 2 or 3, not {phases}")
        self._advance(now)
        self._ev_max_current_a = math.inf if max_current_a is None else float(max_current_a)
        if phases is not None:
            self._ev_phases = phases
        self._settle(ev_initiated=True)

    def raise_fault(self, code: str, now: float, text: str = "") -> None:
        """Fault ``code`` becomes active (no event if it already is); the relay opens."""
        if not code:
            raise SimulatorInputError("a fault needs a code")
        if code in self._faults:
            return
        self._advance(now)
        self._faults[code] = text
        self._emit(FaultRaised(code, text))
        self._settle(ev_initiated=False)

    def clear_fault(self, code: str, now: float) -> None:
        """Fault ``code`` goes away (no event if it was not active)."""
        if code not in self._faults:
            return
        self._advance(now)
        del self._faults[code]
        self._emit(FaultCleared(code))
        self._settle(ev_initiated=False)

    def park(self, now: float) -> None:
        """A vehicle enters the parking bay.

        Raises:
            SimulatorInputError: this EVSE has no parking sensor.
        """
        self._set_parked(True, now)

    def leave(self, now: float) -> None:
        """The vehicle leaves the parking bay.

        Raises:
            SimulatorInputError: this EVSE has no parking sensor.
        """
        self._set_parked(False, now)

    def jam_lock(self, connector_id: int, jammed: bool = True) -> None:
        """Make the lock actuator of ``connector_id`` fail (or work again): while jammed,
        ``lock`` and ``unlock`` leave it as it is and report that."""
        self._check_connector(connector_id, SimulatorInputError)
        if jammed:
            self._jammed.add(connector_id)
        else:
            self._jammed.discard(connector_id)

    # -- persistence of the physical state --------------------------------------------------------

    def to_dict(self, now: float) -> dict[str, Any]:
        """The whole state as of ``now``, JSON-serialisable, for :meth:`from_dict`.

        Pending events are not included: a restarted Evse reads :meth:`state` instead.
        """
        self._advance(now)
        info = self._info
        return {
            "version": STATE_VERSION,
            "config": {"evse_id": info.evse_id, "connectors": len(info.connector_ids),
                       "max_current_a": info.max_current_a, "phases": info.phases,
                       "voltage_v": info.nominal_voltage_v,
                       "has_parking_sensor": info.has_parking_sensor,
                       "min_current_a": info.min_current_a, "frequency_hz": self._frequency_hz,
                       "lock_required": self._lock_required,
                       "signing_meter": info.can_sign_readings},
            "enabled": self._enabled,
            "limit": [self._limit.current_a, self._limit.power_w, self._limit.phases],
            "cable": self._cable,
            "ev_connected": self._ev_connected,
            "ev_wants": self._ev_wants,
            "ev_max_current_a": None if math.isinf(self._ev_max_current_a)
            else self._ev_max_current_a,
            "ev_phases": self._ev_phases,
            "locked": sorted(c for c, v in self._locked.items() if v),
            "jammed": sorted(self._jammed),
            "parked": self._parked,
            "faults": [[code, text] for code, text in self._faults.items()],
            "energy_ws": self._energy_ws,
            "meter_signer": self._signer.to_dict() if self._signer is not None else None,
            "now": self._last_now,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], now: float, *,
                  power_lost: bool = False) -> "SimulatedEvseHardware":
        """Rebuild the hardware saved by :meth:`to_dict`, as it is at ``now``.

        Args:
            data: what :meth:`to_dict` returned.
            now: the time on the same monotonic clock.
            power_lost: the EVSE itself lost power since ``data`` was saved (a station power
                cut, not just a controller crash). Then it comes back disabled with no limit and
                delivered nothing in the gap; plug, lock, EV, faults and register survive.
                Otherwise the hardware kept running: energy flowed in the gap at the saved
                power.

        Raises:
            ValueError: ``data`` is not a state this version wrote.
        """
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown simulator state version {data.get('version')!r}")
        hw = cls(**data["config"])
        hw._enabled = bool(data["enabled"]) and not power_lost
        current_a, power_w, phases = data["limit"]
        hw._limit = AppliedLimit() if power_lost else AppliedLimit(current_a, power_w, phases)
        hw._cable = data["cable"]
        hw._ev_connected = bool(data["ev_connected"])
        hw._ev_wants = bool(data["ev_wants"])
        ev_max = data["ev_max_current_a"]
        hw._ev_max_current_a = math.inf if ev_max is None else float(ev_max)
        hw._ev_phases = int(data["ev_phases"])
        for c in data["locked"]:
            hw._locked[c] = True
        hw._jammed = set(data["jammed"])
        hw._parked = data["parked"]
        hw._faults = {code: text for code, text in data["faults"]}
        hw._energy_ws = float(data["energy_ws"])
        signer = data.get("meter_signer")          # absent in states saved before signing
        hw._signer = MeterSigner.from_dict(signer) if signer else None
        # Settle silently: the restarted Evse learns the situation from state(), not events.
        hw._settle(ev_initiated=False)
        hw._events.clear()
        hw._last_now = None if power_lost else data["now"]
        hw._advance(now)
        return hw

    # -- the physics --------------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        if self._last_now is not None and now > self._last_now:
            self._energy_ws += self._power_w() * (now - self._last_now)
        self._last_now = now

    def _phases_in_use(self) -> int:
        phases = min(self._info.phases, self._ev_phases)
        if self._limit.phases is not None:
            phases = min(phases, self._limit.phases)
        return phases

    def _limit_current_a(self) -> float:
        """The most current per phase the EVSE may offer under its limit and its maximum."""
        current = self._info.max_current_a
        if self._limit.current_a is not None:
            current = min(current, self._limit.current_a)
        if self._limit.power_w is not None:
            current = min(current, self._limit.power_w
                          / (self._info.nominal_voltage_v * self._phases_in_use()))
        return current

    def _offered_current_a(self) -> float:
        """What the pilot signal offers the EV per phase; 0 when the EVSE offers nothing."""
        if not (self._enabled and self._ev_connected) or self._faults:
            return 0.0
        current = self._limit_current_a()
        # IEC 61851-1: no duty cycle means less than 6 A, so a smaller limit pauses charging.
        if current <= 0 or current < self._info.min_current_a:
            return 0.0
        return current

    def _relay_should_close(self) -> bool:
        if not (self._ev_connected and self._ev_wants):
            return False
        if self._lock_required and not (self._cable is not None and self._locked[self._cable]):
            return False
        return self._offered_current_a() > 0

    def _power_w(self) -> float:
        if not self._relay:
            return 0.0
        # Minimum over power candidates (not currents) so that a power limit binds exactly.
        volts_phases = self._info.nominal_voltage_v * self._phases_in_use()
        power = volts_phases * min(self._info.max_current_a, self._ev_max_current_a)
        if self._limit.current_a is not None:
            power = min(power, volts_phases * self._limit.current_a)
        if self._limit.power_w is not None:
            power = min(power, self._limit.power_w)
        return power

    def _settle(self, ev_initiated: bool) -> None:
        """Bring relay and EV state in line with the inputs and report what changed.

        Args:
            ev_initiated: the EV side caused this change, so an opening relay is reported
                after the EV state that caused it (see "Event order" above).
        """
        relay = self._relay_should_close()
        if not self._ev_connected:
            ev_state = EvState.NO_EV
        elif not self._ev_wants:
            ev_state = EvState.CONNECTED
        else:
            ev_state = EvState.CHARGING if relay else EvState.REQUESTING
        relay_event: HardwareEvent | None = None
        if relay != self._relay:
            self._relay = relay
            relay_event = PowerPathClosed() if relay else PowerPathOpened()
        ev_event = EvStateChanged(ev_state) if ev_state != self._ev_state else None
        self._ev_state = ev_state
        first_relay = relay_event is not None and (relay or not ev_initiated)
        for event in ((relay_event, ev_event) if first_relay else (ev_event, relay_event)):
            if event is not None:
                self._emit(event)

    def _set_parked(self, occupied: bool, now: float) -> None:
        if self._parked is None:
            raise SimulatorInputError(f"EVSE {self._info.evse_id} has no parking-bay sensor")
        self._advance(now)
        if self._parked != occupied:
            self._parked = occupied
            self._emit(ParkingBayOccupancy(occupied))

    def _require_ev(self) -> None:
        if not self._ev_connected:
            raise SimulatorInputError(f"no EV is connected to EVSE {self._info.evse_id}")

    def _check_connector(self, connector_id: int, error: type[ValueError]) -> None:
        if connector_id not in self._locked:
            raise error(f"EVSE {self._info.evse_id} has no connector {connector_id}; "
                        f"it has {list(self._info.connector_ids)}")

    def _emit(self, event: HardwareEvent) -> None:
        self._events.append(event)


def simulated_hardware(evse_id: int, connectors: int, *, parking_sensor: bool = False,
                       signing_meter: bool = True) -> HardwareFactory:
    """The driver factory of a simulated 32 A, 3-phase AC EVSE (:data:`SIMULATED_MAX_CURRENT_A`,
    :data:`SIMULATED_PHASES`); a saved state rebuilds the hardware as it was
    (:meth:`SimulatedEvseHardware.from_dict`)."""
    def open_driver(saved: dict[str, Any] | None, now: float,
                    power_lost: bool) -> SimulatedEvseHardware:
        if saved is not None:
            return SimulatedEvseHardware.from_dict(saved, now, power_lost=power_lost)
        return SimulatedEvseHardware(evse_id, connectors=connectors,
                                     max_current_a=SIMULATED_MAX_CURRENT_A,
                                     phases=SIMULATED_PHASES, has_parking_sensor=parking_sensor,
                                     signing_meter=signing_meter)
    return open_driver
