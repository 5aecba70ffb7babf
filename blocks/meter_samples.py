"""Functional block J, meter values: what one meter reading looks like on the wire, and which
measurands the controllers ask for.

Theory of operation
-------------------
Pure logic, no clock: a :class:`MeterReading` (the hardware's meter, or a mapping of its
attribute names) becomes ``SampledValueType`` models for a list of measurands
(:func:`sampled_values`), wrapped in a ``MeterValueType`` with one timestamp for all of them
(:func:`meter_value`). A measurand the reading cannot provide is left out, never reported as 0.
:class:`MeteringConfig` reads SampledDataCtrlr and AlignedDataCtrlr once: which measurands go
into which event, the intervals, SignReadings. *When* to sample is ``blocks/metering.py``'s
business (the schedules, the meters, the Ended list).

Signing: the signature of an Energy.Active.Import.Register value comes from the meter
(:attr:`MeterReading.sign`); this module only asks for it, with the value's timestamp and
context, and leaves ``signedMeterValue`` out when the meter cannot sign.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from messages.ocpp201 import (LocationEnumType, MeasurandEnumType, MeterValuesRequest,
                              MeterValueType, PhaseEnumType, ReadingContextEnumType,
                              SampledValueType, SignedMeterValueType, UnitOfMeasureType)

log = logging.getLogger(__name__)

# Short names of the enum members used here (StrEnums: equal to their wire strings).
ENERGY_REGISTER = MeasurandEnumType.energy_active_import_register
ENERGY_INTERVAL = MeasurandEnumType.energy_active_import_interval
POWER = MeasurandEnumType.power_active_import
CURRENT = MeasurandEnumType.current_import
CURRENT_OFFERED = MeasurandEnumType.current_offered
POWER_OFFERED = MeasurandEnumType.power_offered
VOLTAGE = MeasurandEnumType.voltage
FREQUENCY = MeasurandEnumType.frequency
SOC = MeasurandEnumType.soc

SAMPLE_PERIODIC = ReadingContextEnumType.sample_periodic
SAMPLE_CLOCK = ReadingContextEnumType.sample_clock
TRANSACTION_BEGIN = ReadingContextEnumType.transaction_begin
TRANSACTION_END = ReadingContextEnumType.transaction_end
TRIGGER = ReadingContextEnumType.trigger

OUTLET = LocationEnumType.outlet
INLET = LocationEnumType.inlet
EV = LocationEnumType.ev

_MEASURANDS = {m.value.casefold(): m for m in MeasurandEnumType}

# Measurands a MeterReading can provide, with their unit (part 2 appendix, units of measure).
UNITS = {
    ENERGY_REGISTER: "Wh",
    ENERGY_INTERVAL: "Wh",
    POWER: "W",
    POWER_OFFERED: "W",
    CURRENT: "A",
    CURRENT_OFFERED: "A",
    VOLTAGE: "V",
    FREQUENCY: "Hz",
    SOC: "Percent",
}
SUPPORTED_MEASURANDS = tuple(UNITS)
# Frozen, so one instance per unit serves every sampled value.
_UNIT_OF_MEASURE = {measurand: UnitOfMeasureType(unit=unit) for measurand, unit in UNITS.items()}

_CURRENT_PHASES = (PhaseEnumType.l1, PhaseEnumType.l2, PhaseEnumType.l3)
_VOLTAGE_PHASES = (PhaseEnumType.l1_n, PhaseEnumType.l2_n, PhaseEnumType.l3_n)


# -- formatting ---------------------------------------------------------------------------------

def ocpp_datetime(epoch: float) -> str:
    """OCPP date-time of an epoch instant: UTC, milliseconds, ``Z`` (as session.iso)."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ocpp_epoch(text: str) -> float:
    """Inverse of :func:`ocpp_datetime`; a missing offset is read as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def parse_measurands(text: str | None) -> tuple[MeasurandEnumType, ...]:
    """Read a MemberList of measurands (``"Energy.Active.Import.Register,Voltage"``).

    Blanks around names are ignored, names match case-insensitively and come back in their wire
    spelling, duplicates are dropped (first one wins). A name that is not a MeasurandEnumType
    value is skipped with a warning, as libocpp does: the device model's valuesList check is
    where a CSMS gets told off, this only has to not crash.

    Args:
        text: The variable's value; None or "" means no measurands (the *_Measurands
            descriptions: "When left empty, no ... measurands SHALL be put into ...").

    Returns:
        The measurands in configured order (enum members, equal to their wire strings).
    """
    if not text:
        return ()
    result: list[MeasurandEnumType] = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        canonical = _MEASURANDS.get(name.casefold())
        if canonical is None:
            log.warning("unknown measurand %r ignored", name[:60])
            continue
        if canonical not in result:
            result.append(canonical)
    return tuple(result)


# -- readings and sampled values ----------------------------------------------------------------

@dataclass(frozen=True)
class MeterReading:
    """One reading of an EVSE's (or the station's) meter.

    Attributes:
        energy_active_import_wh: The import register, as read (never rebased, J02.FR.17).
        power_active_import_w: Total active import power.
        voltage_v: RMS voltage per phase against neutral (L1-N, L2-N, L3-N); one value for DC.
        current_a: Current per phase (L1, L2, L3); one value for DC.
        frequency_hz, soc_percent, current_offered_a, power_offered_w: None when unknown.
        sign: the meter's signing port, None when it cannot sign: ``sign(epoch, context)``
            returns the SignedMeterValueType (model or wire dict) of this reading's energy
            register, reported with that timestamp and ReadingContextEnumType value, or None.
    """

    energy_active_import_wh: float
    power_active_import_w: float | None = None
    voltage_v: tuple[float, ...] = ()
    current_a: tuple[float, ...] = ()
    frequency_hz: float | None = None
    soc_percent: float | None = None
    current_offered_a: float | None = None
    power_offered_w: float | None = None
    sign: Callable[[float, str], SignedMeterValueType | dict | None] | None = field(
        default=None, compare=False, repr=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "MeterReading":
        """Build from a mapping with the attribute names as keys (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for key in ("voltage_v", "current_a"):
            if key in values and values[key] is not None:
                values[key] = tuple(values[key])
        return cls(**values)


def as_reading(reading: MeterReading | Mapping[str, Any]) -> MeterReading:
    return reading if isinstance(reading, MeterReading) else MeterReading.from_mapping(reading)


def _num(value: float) -> float:
    # Three decimals is finer than any meter this talks to, and keeps float noise
    # (1234.5600000001) off the wire. Rounding keeps registers monotonic (J02.FR.16).
    return round(float(value), 3)


def sampled_values(reading: MeterReading | Mapping[str, Any], measurands: Iterable[str],
                   context: str, *, phases: int, location: str = OUTLET,
                   interval_start_wh: float | None = None,
                   signed_register: SignedMeterValueType | dict | None = None,
                   ) -> list[SampledValueType]:
    """Turn one reading into SampledValueTypes for the given measurands.

    Every value carries ``measurand`` (also the default Energy.Active.Import.Register),
    ``context``, ``location`` and ``unitOfMeasure``: nothing relies on schema defaults.
    Per-phase measurands (Current.Import, Voltage) get one value per phase with ``phase``
    L1/L2/L3 resp. L1-N/L2-N/L3-N (part 2 J §2.3: all phases SHALL be reported;
    J01.FR.11: from the meter's point of view). Energy and power are reported as totals only,
    because that is what the reading holds (so the station behaves as if
    SampledDataRegisterValuesWithoutPhases were true). SoC has location EV, the only measurand
    allowed there (errata 2025-09, TC_J_XX post-validation).

    A measurand the reading cannot provide is skipped, not reported as 0: a measurand outside
    :data:`SUPPORTED_MEASURANDS` (export, reactive, power factor, ...), an optional field that
    is None, per-phase data the reading lacks, and Energy.Active.Import.Interval without
    ``interval_start_wh``.

    Args:
        reading: The reading (or a mapping with :class:`MeterReading`'s attribute names).
        measurands: Measurands to report, in order (see :func:`parse_measurands`).
        context: A ReadingContextEnumType value.
        phases: Phases to report per-phase values for: 1..3 for AC (the EVSE's SupplyPhases),
            0 for DC (one value without ``phase``).
        location: LocationEnumType value; Outlet for an EVSE, Inlet for the main meter (evseId 0).
        interval_start_wh: The register at the start of the interval this sample closes; needed
            for Energy.Active.Import.Interval.
        signed_register: SignedMeterValueType of the energy register, put on the
            Energy.Active.Import.Register value (J01.FR.21, J02.FR.21).

    Returns:
        SampledValueTypes, possibly empty (a MeterValue needs at least one: J01.FR.06).

    Raises:
        ValueError: ``context`` or ``location`` is not an OCPP value (a programming error).
    """
    context = ReadingContextEnumType(context)
    location = LocationEnumType(location)
    r = as_reading(reading)
    phases = max(0, min(3, int(phases)))
    out: list[SampledValueType] = []
    signed = (SignedMeterValueType.model_validate(signed_register)
              if isinstance(signed_register, dict) else signed_register)

    def add(measurand: MeasurandEnumType, value: float | None,
            phase: PhaseEnumType | None = None, where: LocationEnumType = location,
            signed_value: SignedMeterValueType | None = None) -> None:
        if value is None or not math.isfinite(value):
            return
        # Validated construction: pydantic-core builds it faster than model_construct would
        # (measured with tools/time_tx_events.py), and a bug of ours fails here, not at the edge.
        out.append(SampledValueType(value=_num(value), context=context, measurand=measurand,
                                    phase=phase, location=where,
                                    signed_meter_value=signed_value,
                                    unit_of_measure=_UNIT_OF_MEASURE[measurand]))

    def per_phase(measurand: str, values: tuple[float, ...], names: tuple[str, ...]) -> None:
        if phases == 0:                     # DC: one value, no phase
            if values:
                add(measurand, values[0])
            return
        for value, name in zip(values[:phases], names):
            add(measurand, value, name)

    for measurand in measurands:
        if measurand == ENERGY_REGISTER:
            add(measurand, r.energy_active_import_wh, signed_value=signed)
        elif measurand == ENERGY_INTERVAL:
            if interval_start_wh is not None:
                add(measurand, max(0.0, r.energy_active_import_wh - interval_start_wh))
        elif measurand == POWER:
            add(measurand, r.power_active_import_w)
        elif measurand == CURRENT:
            per_phase(measurand, r.current_a, _CURRENT_PHASES)
        elif measurand == VOLTAGE:
            per_phase(measurand, r.voltage_v, _VOLTAGE_PHASES)
        elif measurand == FREQUENCY:
            add(measurand, r.frequency_hz)
        elif measurand == SOC:
            add(measurand, r.soc_percent, where=EV)
        elif measurand == CURRENT_OFFERED:
            add(measurand, r.current_offered_a)
        elif measurand == POWER_OFFERED:
            add(measurand, r.power_offered_w)
        # anything else: the hardware cannot measure it; skipped (see docstring)
    return out


def meter_value(timestamp_iso: str, sampled: Sequence[SampledValueType]) -> MeterValueType:
    """A MeterValueType: one timestamp for all its sampled values (J01.FR.17, J02.FR.18).

    Raises:
        ValueError: ``sampled`` is empty (the schema requires at least one, J01.FR.06).
    """
    if not sampled:
        raise ValueError("a MeterValue needs at least one sampled value")
    return MeterValueType(timestamp=timestamp_iso, sampled_value=tuple(sampled))


def meter_value_or_none(epoch: float, reading: MeterReading, measurands: Sequence[str],
                        context: str, phases: int, location: str,
                        interval_start_wh: float | None = None,
                        sign: bool = False) -> MeterValueType | None:
    signed = None
    if sign and reading.sign is not None and ENERGY_REGISTER in measurands:
        signed = reading.sign(epoch, context)
    sampled = sampled_values(reading, measurands, context, phases=phases, location=location,
                             interval_start_wh=interval_start_wh, signed_register=signed)
    return meter_value(ocpp_datetime(epoch), sampled) if sampled else None


def triggered_meter_values(evse_id: int, now: float, reading: MeterReading | Mapping[str, Any],
                           measurands: Sequence[str], *, phases: int,
                           location: str | None = None,
                           sign: bool = False) -> MeterValuesRequest | None:
    """MeterValuesRequest payload for TriggerMessage(MeterValues): the latest reading of
    AlignedDataMeasurands (F06.FR.06), context Trigger; ``sign``: AlignedDataCtrlr.SignReadings
    (the measurands are the aligned ones, J01.FR.21).

    Returns:
        The payload, or None when none of the measurands can be measured (the caller then has
        nothing truthful to send).
    """
    where = location or (INLET if evse_id == 0 else OUTLET)
    value = meter_value_or_none(now, as_reading(reading), measurands, TRIGGER, phases, where,
                                sign=sign)
    return MeterValuesRequest(evse_id=evse_id, meter_value=(value,)) if value else None


# -- configuration ------------------------------------------------------------------------------

def _as_int(text: str | None, default: int) -> int:
    try:
        return int(str(text).strip()) if text is not None else default
    except ValueError:
        return default


def _as_bool(text: str | None, default: bool) -> bool:
    if text is None:
        return default
    folded = str(text).strip().lower()
    return True if folded == "true" else False if folded == "false" else default


@dataclass(frozen=True)
class MeteringConfig:
    """SampledDataCtrlr and AlignedDataCtrlr, read once; defaults are component_config's."""

    sampled_enabled: bool = True
    tx_started_measurands: tuple[str, ...] = (ENERGY_REGISTER,)
    tx_updated_measurands: tuple[str, ...] = (ENERGY_REGISTER, POWER)
    tx_updated_interval: int = 60
    tx_ended_measurands: tuple[str, ...] = (ENERGY_REGISTER,)
    tx_ended_interval: int = 0
    aligned_enabled: bool = True
    aligned_measurands: tuple[str, ...] = (ENERGY_REGISTER,)
    aligned_interval: int = 900
    aligned_send_during_idle: bool = False
    aligned_tx_ended_measurands: tuple[str, ...] = (ENERGY_REGISTER,)
    aligned_tx_ended_interval: int = 0
    sampled_sign_readings: bool = False       # SampledDataCtrlr.SignReadings, J02.FR.21
    aligned_sign_readings: bool = False       # AlignedDataCtrlr.SignReadings, J01.FR.21

    @classmethod
    def from_lookup(cls, get: Callable[[str, str], str | None]) -> "MeteringConfig":
        """Read the variables through ``get(component, variable)`` (e.g. ``DeviceModel.get``).

        A missing variable (None) keeps the default; an empty MemberList means no measurands;
        a value that is not an integer/boolean keeps the default. The EVSE-level
        AlignedDataCtrlr.SendDuringIdle is not read here: pass it to :class:`IdleMeter`.
        """
        d = cls()

        def members(component: str, variable: str, default: tuple[str, ...]) -> tuple[str, ...]:
            value = get(component, variable)
            return default if value is None else parse_measurands(value)

        s, a = "SampledDataCtrlr", "AlignedDataCtrlr"
        return cls(
            sampled_enabled=_as_bool(get(s, "Enabled"), d.sampled_enabled),
            tx_started_measurands=members(s, "TxStartedMeasurands", d.tx_started_measurands),
            tx_updated_measurands=members(s, "TxUpdatedMeasurands", d.tx_updated_measurands),
            tx_updated_interval=_as_int(get(s, "TxUpdatedInterval"), d.tx_updated_interval),
            tx_ended_measurands=members(s, "TxEndedMeasurands", d.tx_ended_measurands),
            tx_ended_interval=_as_int(get(s, "TxEndedInterval"), d.tx_ended_interval),
            aligned_enabled=_as_bool(get(a, "Enabled"), d.aligned_enabled),
            aligned_measurands=members(a, "Measurands", d.aligned_measurands),
            aligned_interval=_as_int(get(a, "Interval"), d.aligned_interval),
            aligned_send_during_idle=_as_bool(get(a, "SendDuringIdle"),
                                              d.aligned_send_during_idle),
            aligned_tx_ended_measurands=members(a, "TxEndedMeasurands",
                                                d.aligned_tx_ended_measurands),
            aligned_tx_ended_interval=_as_int(get(a, "TxEndedInterval"),
                                              d.aligned_tx_ended_interval),
            sampled_sign_readings=_as_bool(get(s, "SignReadings"), d.sampled_sign_readings),
            aligned_sign_readings=_as_bool(get(a, "SignReadings"), d.aligned_sign_readings),
        )

    # Effective measurands: Enabled = false switches the whole controller off.
    @property
    def started(self) -> tuple[str, ...]:
        return self.tx_started_measurands if self.sampled_enabled else ()

    @property
    def updated(self) -> tuple[str, ...]:
        return self.tx_updated_measurands if self.sampled_enabled else ()

    @property
    def ended(self) -> tuple[str, ...]:
        return self.tx_ended_measurands if self.sampled_enabled else ()

    @property
    def aligned(self) -> tuple[str, ...]:
        return self.aligned_measurands if self.aligned_enabled else ()

    @property
    def aligned_ended(self) -> tuple[str, ...]:
        return self.aligned_tx_ended_measurands if self.aligned_enabled else ()
