"""The seam between an Evse actor and its hardware: one small interface, plain data out.

Theory of operation
-------------------
Each Evse actor owns exactly one driver object for its EVSE (ARCHITECTURE.md, "Hardware
seam"). The actor *commands* the driver and *polls* it; the driver never calls back, never
starts a thread and never reads a clock:

    hw.enable(now)                          # the EVSE may deliver energy
    hw.lock(connector_id, now)              # -> bool: did the lock engage?
    hw.set_limit(16.0, None, 3, now)        # the limit the actor applies (None = no limit)
    for event in hw.poll(now): ...          # what happened since the last poll, in order
    reading = hw.read_meter(now)            # the meter now; the caller stamps the time
    signed = hw.read_meter(now, SignRequest(...)).signed   # the same, signed by the meter
    snapshot = hw.state(now)                # everything at once, for the control API

Every method takes ``now``: seconds on a monotonic clock the caller owns (``time.monotonic()``
in the actor, plain numbers in tests). A real driver may ignore it; a simulated one needs it to
integrate power into energy at the instant a command changes the power. ``now`` must not go
backwards.

What the driver reports is modelled on IEC 61851-1 (the control pilot states A..F and the
power relay) and on what OCPP 2.0.1 needs to decide on transactions:

==========================  ========================================  =========================
driver event                physical meaning                          OCPP use
==========================  ========================================  =========================
``ConnectorPlugged``        a plug is in this connector               E02.FR.05 Occupied
``ConnectorUnplugged``      the plug is out of the connector          Available again
``EvStateChanged``          the EV's control-pilot state changed      TxStart/StopPoint
                                                                      EVConnected,
                                                                      EnergyTransfer; E09/E10
``ParkingBayOccupancy``     the bay sensor changed (when fitted)      TxStartPoint
                                                                      ParkingBayOccupancy
``PowerPathClosed/Opened``  the contactor (relay) closed / opened     TxStartPoint
                                                                      PowerPathClosed
``FaultRaised/Cleared``     an EVSE fault appeared / went away        connector Faulted
==========================  ========================================  =========================

"Plugged" and "EV connected" differ on purpose. With a socket outlet the cable can stay in the
EVSE's (locked) socket after the driver pulls it out of the EV: the EV state goes to
``NO_EV`` while the connector stays plugged, and only the removal of the cable from the socket
sends ``ConnectorUnplugged``. That is the "cable disconnected on EV side" of E09/E10
(StopTxOnEVSideDisconnect, UnlockOnEVSideDisconnect).

These are plain frozen dataclasses, not actor messages: they stay inside the Evse process.
Their names may repeat names in ``messages/``; import them through the module
(``from evse_hw import driver as hw``) where both are used.

Signed readings (German Eichrecht-style meters; OCPP J01.FR.21, J02.FR.21): a meter that can
sign (``HardwareInfo.can_sign_readings``) signs its *own* energy register when asked with a
:class:`SignRequest`, which says what the controller will report the reading as (timestamp,
reading context, transaction). The controller never hands the meter a value to sign: what
comes back in ``MeterReading.signed`` is the meter's word on its register, or None from a
meter that cannot sign.

Real drivers (Modbus, an EVerest bridge, ...) implement :class:`EvseHardware` the same way as
the simulator in ``simulators/evse_hardware.py``.

Opening a driver: the Evse core gets a :data:`HardwareFactory` and calls it once at start-up
with what the driver saved before (or None). A driver whose physical state lives in the
controller (the simulator: nothing outside remembers that a cable is in the socket) also
implements :class:`KeepsState`; the Evse saves that state with its own after every step and
hands it back to the factory after a restart. A real driver reads the state from the hardware
and implements neither ``to_dict`` nor anything beyond :class:`EvseHardware`.

Inputs of the physical world (a plug going in, an EV asking for energy, a fault) reach a real
driver from its hardware; they are no part of this interface. The simulator takes them through
its own port (``simulators/evse_controls.py``), which the Evse actor finds on the driver.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable, Protocol, Union, runtime_checkable


class EvState(StrEnum):
    """The EV as the control pilot shows it (IEC 61851-1), split by what the EVSE does.

    IEC 61851-1 state C (and D, C with ventilation) means "EV ready, requesting energy"; here
    it is split in two by the state of the power relay, because OCPP's chargingState needs the
    difference. States E and F (pilot errors) are reported as faults, not as EV states.

    ======================  ===========  ==================================================
    member                  IEC 61851-1  typical OCPP chargingState (decided by block E)
    ======================  ===========  ==================================================
    ``NO_EV``               A            Idle (no EV)
    ``CONNECTED``           B            EVConnected, or SuspendedEV once energy is offered
    ``REQUESTING``          C/D, relay   SuspendedEVSE: the EV asks, the EVSE does not give
                            open         (disabled, limit below minimum, fault, not locked)
    ``CHARGING``            C/D, relay   Charging
                            closed
    ======================  ===========  ==================================================

    ``CHARGING`` says the power path is closed to a requesting EV; the EV may still draw 0 W
    (its own demand is 0), which the meter shows.
    """

    NO_EV = "no_ev"
    CONNECTED = "connected"
    REQUESTING = "requesting"
    CHARGING = "charging"


# -- what the driver reports ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HardwareInfo:
    """What the hardware is; fixed for the lifetime of the driver.

    Attributes:
        evse_id: the OCPP EVSE id (1..n).
        connector_ids: the connectors of this EVSE (1..n); one is used at a time.
        phases: supply phases wired to the EVSE (1 or 3).
        max_current_a: the most current per phase the EVSE can deliver.
        min_current_a: the least current per phase it can offer (6 A for IEC 61851-1 AC: the
            PWM duty cycle cannot signal less); a limit below it pauses charging.
        nominal_voltage_v: phase-to-neutral voltage.
        has_connector_lock: the connectors can be locked (socket outlets).
        has_parking_sensor: a parking-bay sensor reports ``ParkingBayOccupancy``.
        can_sign_readings: the meter signs its energy register readings on request
            (``read_meter`` with a :class:`SignRequest`).
    """

    evse_id: int
    connector_ids: tuple[int, ...]
    phases: int
    max_current_a: float
    min_current_a: float
    nominal_voltage_v: float
    has_connector_lock: bool
    has_parking_sensor: bool
    can_sign_readings: bool = False


@dataclass(frozen=True, slots=True)
class AppliedLimit:
    """The limit the Evse applied with ``set_limit``; ``None`` fields mean "no limit".

    Attributes:
        current_a: most current per phase.
        power_w: most total active power.
        phases: most phases to use (OCPP numberPhases).
    """

    current_a: float | None = None
    power_w: float | None = None
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class SignRequest:
    """What a signed reading is for; the meter puts it in the data it signs.

    Attributes:
        timestamp: the OCPP date-time the controller reports the reading with.
        context: the ReadingContextEnumType value (Transaction.Begin, Sample.Clock, ...).
        transaction_id: the transaction the reading belongs to, or None outside one.
    """

    timestamp: str
    context: str
    transaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class SignedMeterValue:
    """A meter's signature over one energy register reading: OCPP's SignedMeterValueType.

    Attributes:
        signed_meter_data: base64 of the signed data block (reading and signature).
        signing_method: how the signature was made, e.g. ``"ECDSA-secp256r1-SHA256"``.
        encoding_method: the format of the data block.
        public_key: base64 of the meter's public key (DER SubjectPublicKeyInfo).
    """

    signed_meter_data: str
    signing_method: str
    encoding_method: str
    public_key: str

    def to_ocpp(self) -> dict[str, str]:
        """The SignedMeterValueType dict (wire names)."""
        return {"signedMeterData": self.signed_meter_data, "signingMethod": self.signing_method,
                "encodingMethod": self.encoding_method, "publicKey": self.public_key}


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One reading of the EVSE's meter, without a timestamp: the caller stamps it.

    Field names follow OCPP measurands (part 2, MeasurandEnumType) so block J can map them
    one to one. Per-phase tuples hold L1, L2, L3 in that order, one entry per supply phase.

    Attributes:
        energy_active_import_wh: Energy.Active.Import.Register; never decreases.
        power_active_import_w: Power.Active.Import, total over all phases.
        voltage_v: Voltage, phase to neutral, per phase.
        current_import_a: Current.Import per phase (0 on a phase not in use).
        current_offered_a: Current.Offered, what the EVSE offers the EV per phase (0 when it
            offers nothing).
        frequency_hz: Frequency, or ``None`` when the meter does not measure it.
        signed: the meter's signature over ``energy_active_import_wh`` when the read asked
            for one and the meter can sign; otherwise ``None``.
    """

    energy_active_import_wh: float
    power_active_import_w: float
    voltage_v: tuple[float, ...]
    current_import_a: tuple[float, ...]
    current_offered_a: float
    frequency_hz: float | None = None
    signed: SignedMeterValue | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """An active EVSE fault: a short stable ``code`` (e.g. ``"OverCurrent"``) and a text."""

    code: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class ConnectorState:
    """One connector: is a plug in it, is it locked.

    Attributes:
        connector_id: 1..n.
        plugged: a plug is in the connector (for a socket: the cable is in the socket, whether
            or not the EV end is still connected).
        locked: the lock is engaged.
    """

    connector_id: int
    plugged: bool
    locked: bool


@dataclass(frozen=True, slots=True)
class HardwareState:
    """A snapshot of the whole EVSE, for the control API and for an Evse that restarted.

    Attributes:
        evse_id: the OCPP EVSE id.
        enabled: the Evse allowed energy delivery (``enable``/``disable``).
        connectors: every connector, in id order.
        ev_state: what the EV shows (see :class:`EvState`).
        power_path_closed: the relay is closed.
        limit: the limit last applied with ``set_limit``.
        phases_in_use: phases energy flows on (or would flow on) now.
        power_w: total active power now.
        energy_wh: the meter's energy register.
        faults: active faults, oldest first.
        parking_bay_occupied: the bay sensor, or ``None`` when there is none.
    """

    evse_id: int
    enabled: bool
    connectors: tuple[ConnectorState, ...]
    ev_state: EvState
    power_path_closed: bool
    limit: AppliedLimit
    phases_in_use: int
    power_w: float
    energy_wh: float
    faults: tuple[Fault, ...]
    parking_bay_occupied: bool | None

    @property
    def faulted(self) -> bool:
        """True while any fault is active."""
        return bool(self.faults)

    @property
    def plugged_connector(self) -> int | None:
        """The connector a plug is in, if any (one at a time per EVSE)."""
        return next((c.connector_id for c in self.connectors if c.plugged), None)


# -- events, oldest first from poll() -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectorPlugged:
    """A plug went into ``connector_id`` (E02.FR.05: the connector becomes Occupied)."""

    connector_id: int


@dataclass(frozen=True, slots=True)
class ConnectorUnplugged:
    """The plug came out of ``connector_id``."""

    connector_id: int


@dataclass(frozen=True, slots=True)
class EvStateChanged:
    """The EV's state changed to ``state``; only settled states are reported."""

    state: EvState


@dataclass(frozen=True, slots=True)
class ParkingBayOccupancy:
    """The parking-bay sensor changed (only from hardware that has one)."""

    occupied: bool


@dataclass(frozen=True, slots=True)
class PowerPathClosed:
    """The relay closed: energy can flow to the EV."""


@dataclass(frozen=True, slots=True)
class PowerPathOpened:
    """The relay opened: no energy flows."""


@dataclass(frozen=True, slots=True)
class FaultRaised:
    """Fault ``code`` became active; the relay opens and stays open while any fault is."""

    code: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class FaultCleared:
    """Fault ``code`` went away."""

    code: str


HardwareEvent = Union[ConnectorPlugged, ConnectorUnplugged, EvStateChanged, ParkingBayOccupancy,
                      PowerPathClosed, PowerPathOpened, FaultRaised, FaultCleared]


# -- the interface ----------------------------------------------------------------------------------


@runtime_checkable
class EvseHardware(Protocol):
    """What every EVSE hardware driver offers its Evse actor.

    Commands never raise for conditions of the physical world (a lock that does not engage
    returns ``False``); they raise ``ValueError`` only for a call that can never be right (an
    unknown connector id, a negative limit).
    """

    @property
    def info(self) -> HardwareInfo:
        """What the hardware is (fixed)."""
        ...

    def enable(self, now: float) -> None:
        """Allow energy delivery: the relay closes as soon as an EV requests energy and
        nothing else prevents it."""
        ...

    def disable(self, now: float) -> None:
        """Forbid energy delivery: the relay opens now and stays open."""
        ...

    def lock(self, connector_id: int, now: float) -> bool:
        """Engage the lock of ``connector_id``.

        Returns:
            True when the lock is engaged afterwards, False when it could not engage.

        Raises:
            ValueError: ``connector_id`` is not a connector of this EVSE.
        """
        ...

    def unlock(self, connector_id: int, now: float) -> bool:
        """Release the lock of ``connector_id``, also when no cable is in it (F05.FR.06).

        Returns:
            True when the lock is released afterwards, False when it could not release
            (F05.FR.05 UnlockFailed).

        Raises:
            ValueError: ``connector_id`` is not a connector of this EVSE.
        """
        ...

    def set_limit(self, current_a: float | None, power_w: float | None, phases: int | None,
                  now: float) -> None:
        """Apply a limit; each ``None`` removes that part. Replaces the previous limit.

        Raises:
            ValueError: a negative value, or phases outside 1..3.
        """
        ...

    def read_meter(self, now: float, sign: SignRequest | None = None) -> MeterReading:
        """Read the meter as of ``now``; with ``sign``, the meter also signs the register
        (``MeterReading.signed``, None when it cannot sign)."""
        ...

    def poll(self, now: float) -> list[HardwareEvent]:
        """Return the events since the previous poll, oldest first, and forget them."""
        ...

    def state(self, now: float) -> HardwareState:
        """A snapshot of the whole EVSE as of ``now``."""
        ...


@runtime_checkable
class KeepsState(Protocol):
    """A driver whose physical state the Evse must save for it (see the module docstring)."""

    def to_dict(self, now: float) -> dict[str, Any]:
        """The state as of ``now``, JSON-serialisable, for the :data:`HardwareFactory`."""
        ...


HardwareFactory = Callable[[Union[dict[str, Any], None], float, bool], EvseHardware]
"""Opens the driver of one EVSE: ``factory(saved, now, power_lost)``.

``saved`` is what the driver's :meth:`KeepsState.to_dict` returned before a restart (None on
the first start, or from a driver that keeps no state); ``now`` the driver clock;
``power_lost`` True when the whole station (and so the EVSE) was without power since then."""
