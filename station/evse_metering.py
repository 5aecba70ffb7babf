"""The Evse core's metering glue: the hardware's meter into block J, signed readings.

Block J (``blocks/metering.py``, ``blocks/meter_samples.py``) decides which values are due and
what they hold; this glue reads the hardware's meter into
:class:`~blocks.meter_samples.MeterReading`, starts and ends the transaction's
:class:`~blocks.metering.TransactionMeter` for block E (its ``sample_meter`` port), polls the
meters at every step, and keeps the Ended event's collected values bounded.

Signed meter values (J01.FR.21, J02.FR.21): every reading handed to the meters carries a
signing port onto the hardware (:meth:`EvseMetering._reading`); block J decides which values
are signed, the meter signs its own register with the value's timestamp, context and the
running transaction. With DataSigned in TxStartPoint (E01.FR.04, E01(S4)), once an EV is
connected and a driver authorized, the EVSE asks the meter for a signed reading, and the first
one starts the transaction (triggerReason SignedDataReceived); its Transaction.Begin values are
the signed reading (so TxStartedMeasurands should hold Energy.Active.Import.Register, as
shipped). The meter always hands over its public key; OCPPCommCtrlr.PublicKeyWithSignedMeterValue
decides which values carry it (:meth:`EvseMetering._with_public_key_policy`). The meter's key
and signature counter are saved with the hardware state after every signature.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from blocks.meter_samples import MeterReading, ocpp_datetime
from blocks.metering import IdleMeter, TransactionMeter
from blocks.tx_record import ENDED, STARTED
from blocks.tx_state import EvseTransactions
from evse_hw import driver as hw
from messages.ocpp201 import MeterValueType, SignedMeterValueType, to_wire
from ports.time import parse_ocpp_time
from station.evse_intents import Intent, SendMeterValues
from station.evse_settings import EvseSettings

MAX_COLLECTED = 400              # persisted Ended-list entries before thinning (2 x the cap)


class EvseMetering:
    """Mixed into :class:`~station.evse_core.EvseCore`; uses the core's attributes below."""

    evse_id: int
    settings: EvseSettings
    hw: hw.EvseHardware
    tx: EvseTransactions
    _meter: TransactionMeter | None
    _idle: IdleMeter | None
    _collected: list[dict]          # wire dicts: the saved state is JSON, saved every step
    _key_sent_for: str | None
    _station_busy: bool
    _now: datetime | None
    _t: float
    _dirty: bool
    _sends: list[Intent]
    _emit: Callable[[list], None]                       # station/evse_step.py

    def _meters(self) -> None:
        t, now, tx = self._t, self._now, self.tx
        meter = self._meter
        due = meter.next_deadline() if meter is not None else None
        idle_due = self._idle.next_deadline() if self._idle is not None else None
        if (due is None or t < due) and (idle_due is None or t < idle_due):
            return
        reading = self._reading()
        if meter is not None and tx.active and due is not None and t >= due:
            tick = meter.poll(t, reading)
            if tick.periodic is not None:                                     # J02.FR.11
                # As for the clock values below: the event is the sample (TC_J_09 post
                # scenario: timestamps TxUpdatedInterval apart).
                at = parse_ocpp_time(tick.periodic.timestamp)
                self._emit(tx.report(at, "MeterValuePeriodic", meter_values=[tick.periodic]))
            if tick.clock is not None:                                        # J01.FR.22
                # The event is the clock-aligned sample: it occurred on the grid, not when
                # the tick noticed it (TC_J_02 post scenario: timestamps AlignedDataInterval
                # apart).
                at = parse_ocpp_time(tick.clock.timestamp)
                self._emit(tx.report(at, "MeterValueClock", meter_values=[tick.clock]))
            if tick.collected:
                self._collect(tick.collected)
        if self._idle is not None and idle_due is not None and t >= idle_due:
            payload = self._idle.poll(t, reading, own_transaction=tx.active,     # J01.FR.20
                                      any_transaction=tx.active or self._station_busy)
            if payload is not None:
                self._sends.append(SendMeterValues(payload))                  # J01.FR.14

    def _collect(self, values: tuple[MeterValueType, ...]) -> None:
        # Converted once here, not at every save of the state (up to MAX_COLLECTED of them).
        self._collected.extend(to_wire(value) for value in values)
        if len(self._collected) > MAX_COLLECTED:
            # The meter thins its own list (E06.FR.13); keep the persisted copy bounded the same
            # way: the first (Transaction.Begin) and every other one after it.
            self._collected = self._collected[:1] + self._collected[2::2]
        self._dirty = True

    def _reading(self) -> MeterReading:
        r = self.hw.read_meter(self._t)
        return MeterReading(energy_active_import_wh=r.energy_active_import_wh,
                            power_active_import_w=r.power_active_import_w,
                            voltage_v=r.voltage_v, current_a=r.current_import_a,
                            frequency_hz=r.frequency_hz, current_offered_a=r.current_offered_a,
                            sign=self._sign if self.hw.info.can_sign_readings else None)

    def _sign(self, epoch: float, context: str) -> SignedMeterValueType | None:
        """block J's signing port: the meter signs its register as of now (the same instant
        as the reading it belongs to), for the value's timestamp, context and transaction."""
        signed = self.hw.read_meter(self._t, hw.SignRequest(
            ocpp_datetime(epoch), context, self.tx.transaction_id)).signed
        # The meter's key (made on its first signature) and signature counter are saved with
        # the hardware: a key lost in a crash would leave the values already sent unprovable
        # against the key the meter shows afterwards.
        self._dirty = True
        if signed is None:
            return None
        return SignedMeterValueType.model_validate(self._with_public_key_policy(signed.to_ocpp()))

    def _with_public_key_policy(self, value: dict) -> dict:
        """OCPPCommCtrlr.PublicKeyWithSignedMeterValue (part 2 §2.7.17): the field is required,
        so a key not sent is "". OncePerTransaction: the first signed value of each
        transaction carries it (values outside a transaction always do: there is no
        transaction to have carried it)."""
        policy = self.settings.public_key_policy
        transaction_id = self.tx.transaction_id
        if policy == "Never":
            return {**value, "publicKey": ""}
        if policy == "OncePerTransaction" and transaction_id is not None:
            if self._key_sent_for == transaction_id:
                return {**value, "publicKey": ""}
            self._key_sent_for = transaction_id
        return value

    def _sample_meter(self, event_type: str) -> list[MeterValueType]:
        """block E's ``sample_meter`` port: begin and end the transaction's meter."""
        reading = self._reading()
        if event_type == STARTED:                                     # E01.FR.09
            self._meter = TransactionMeter(
                self.settings.metering, started_at=self._t, phases=self.hw.info.phases,
                evse_send_during_idle=self.settings.evse_send_during_idle)
            started = self._meter.begin(self._t, reading)
            begin = self._meter.begin_value
            self._collected = [to_wire(begin)] if begin is not None else []
            return started
        meter, self._meter, self._collected = self._meter, None, []
        return meter.end(self._t, reading) if meter is not None and event_type == ENDED else []
