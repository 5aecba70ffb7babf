"""Tests for blocks.metering and blocks.meter_samples: functional block J (meter values) as
pure logic.

Spec: part 2 J (J01 clock-aligned MeterValues, J02 transaction meter values), the
SampledDataCtrlr/AlignedDataCtrlr variables (part 2 §2.7), E01/E06 (Transaction.Begin/End),
F06.FR.06/07 (triggered meter values); part 6 TC_J_01..TC_J_10.
"""
from __future__ import annotations

import importlib.resources
import json
from datetime import datetime, timezone

import jsonschema
import pytest

from blocks import meter_samples, metering
from blocks.meter_samples import MeteringConfig, MeterReading, ocpp_datetime, parse_measurands
from blocks.metering import AlignedClock, MeterTick, PeriodicClock
from messages.ocpp201 import OcppModel, to_wire
from ocppj import schemas


# The module hands out OCPP models; these tests read what the CSMS gets, their wire form.
def wire(value):
    if isinstance(value, OcppModel):
        return to_wire(value)
    if isinstance(value, MeterTick):
        return MeterTick(periodic=wire(value.periodic), clock=wire(value.clock),
                         collected=wire(value.collected))
    if isinstance(value, (list, tuple)):
        return type(value)(wire(item) for item in value)
    return value


def _wired(fn):
    return lambda *args, **kwargs: wire(fn(*args, **kwargs))


sampled_values = _wired(meter_samples.sampled_values)
meter_value = _wired(meter_samples.meter_value)
triggered_meter_values = _wired(meter_samples.triggered_meter_values)


class IdleMeter(metering.IdleMeter):
    poll = _wired(metering.IdleMeter.poll)


class TransactionMeter(metering.TransactionMeter):
    begin = _wired(metering.TransactionMeter.begin)
    poll = _wired(metering.TransactionMeter.poll)
    triggered = _wired(metering.TransactionMeter.triggered)
    end = _wired(metering.TransactionMeter.end)
    begin_value = property(lambda self: wire(metering.TransactionMeter.begin_value.fget(self)))


EAIR = "Energy.Active.Import.Register"


def at(text: str) -> float:
    """Epoch of a UTC time on 2024-05-01 ("12:07:13") or of a full ISO date-time."""
    if "T" not in text:
        text = f"2024-05-01T{text}"
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def reading(wh: float = 1000.0, **kw) -> MeterReading:
    values = dict(power_active_import_w=7000.0, voltage_v=(230.0, 231.0, 229.5),
                  current_a=(10.0, 10.1, 9.9), frequency_hz=50.0)
    values.update(kw)
    return MeterReading(energy_active_import_wh=wh, **values)


def config(**kw) -> MeteringConfig:
    return MeteringConfig(**kw)


_RAW_VALIDATOR = jsonschema.Draft6Validator(json.loads(
    importlib.resources.files("ocpp.v201").joinpath("schemas/MeterValuesRequest.json")
    .read_text(encoding="utf-8")))


def assert_meter_values_request(payload: dict) -> None:
    """Valid against the ocpp package's MeterValuesRequest.json, raw and through the
    project's validator (which also checks date-time)."""
    _RAW_VALIDATOR.validate(payload)
    schemas.validate_request("MeterValues", payload)


def assert_transaction_event(event_type: str, meter_values: list[dict],
                             trigger_reason: str = "MeterValuePeriodic") -> None:
    payload = {"eventType": event_type, "timestamp": meter_values[-1]["timestamp"],
               "triggerReason": trigger_reason, "seqNo": 1,
               "transactionInfo": {"transactionId": "tx-1"}, "evse": {"id": 1},
               "meterValue": meter_values}
    schemas.validate_request("TransactionEvent", payload)


def contexts(meter_values: list[dict]) -> list[str]:
    return [mv["sampledValue"][0]["context"] for mv in meter_values]


def stamps(meter_values: list[dict]) -> list[str]:
    return [mv["timestamp"] for mv in meter_values]


class TestParseMeasurands:
    """MemberList values of the *Measurands variables (part 2 §2.7)."""

    def test_comma_separated_list_keeps_order(self):
        assert parse_measurands("Voltage,Energy.Active.Import.Register,Current.Import") == (
            "Voltage", EAIR, "Current.Import")

    def test_blanks_and_empty_members_are_ignored(self):
        assert parse_measurands(" Voltage , ,Current.Import,") == ("Voltage", "Current.Import")

    def test_empty_or_missing_means_no_measurands(self):
        assert parse_measurands("") == ()
        assert parse_measurands(None) == ()

    def test_names_match_case_insensitively_and_come_back_in_wire_spelling(self):
        assert parse_measurands("soc,energy.active.import.register") == ("SoC", EAIR)

    def test_duplicates_are_dropped(self):
        assert parse_measurands("Voltage,Voltage,voltage") == ("Voltage",)

    def test_unknown_names_are_skipped(self):
        assert parse_measurands("Voltage,Temperature,Energy") == ("Voltage",)


class TestSampledValues:
    """SampledValueType: measurand, phase, location, context, unitOfMeasure (J01.FR.07-11)."""

    def test_energy_register_is_one_total_value_in_wh(self):
        assert sampled_values(reading(1234.5), [EAIR], "Sample.Periodic", phases=3) == [
            {"value": 1234.5, "context": "Sample.Periodic", "measurand": EAIR,
             "location": "Outlet", "unitOfMeasure": {"unit": "Wh"}}]

    def test_three_phase_current_and_voltage_give_one_value_per_phase(self):
        values = sampled_values(reading(), ["Current.Import", "Voltage"], "Sample.Clock",
                                phases=3)
        assert [(v["measurand"], v["phase"], v["value"], v["unitOfMeasure"]["unit"])
                for v in values] == [
            ("Current.Import", "L1", 10.0, "A"), ("Current.Import", "L2", 10.1, "A"),
            ("Current.Import", "L3", 9.9, "A"),
            ("Voltage", "L1-N", 230.0, "V"), ("Voltage", "L2-N", 231.0, "V"),
            ("Voltage", "L3-N", 229.5, "V")]

    def test_single_phase_reports_only_l1(self):
        values = sampled_values(reading(), ["Current.Import", "Voltage"], "Sample.Clock",
                                phases=1)
        assert [v["phase"] for v in values] == ["L1", "L1-N"]

    def test_dc_reports_values_without_phase(self):
        values = sampled_values(reading(voltage_v=(400.0,), current_a=(125.0,)),
                                ["Current.Import", "Voltage"], "Sample.Clock", phases=0)
        assert [(v["measurand"], v["value"]) for v in values] == [
            ("Current.Import", 125.0), ("Voltage", 400.0)]
        assert all("phase" not in v for v in values)

    def test_phases_beyond_what_the_reading_has_are_not_invented(self):
        values = sampled_values(reading(current_a=(16.0,)), ["Current.Import"], "Trigger",
                                phases=3)
        assert [v["phase"] for v in values] == ["L1"]

    def test_power_frequency_and_offered_values_have_their_units(self):
        values = sampled_values(
            reading(current_offered_a=32.0, power_offered_w=22000.0),
            ["Power.Active.Import", "Frequency", "Current.Offered", "Power.Offered"],
            "Sample.Periodic", phases=3)
        assert [(v["measurand"], v["unitOfMeasure"]["unit"]) for v in values] == [
            ("Power.Active.Import", "W"), ("Frequency", "Hz"), ("Current.Offered", "A"),
            ("Power.Offered", "W")]
        assert all("phase" not in v for v in values)

    def test_soc_is_located_at_the_ev(self):
        # Errata 2025-09 (TC_J_XX): location EV only for SoC.
        values = sampled_values(reading(soc_percent=55.0), [EAIR, "SoC"], "Sample.Periodic",
                                phases=3)
        assert [(v["measurand"], v["location"], v["unitOfMeasure"]["unit"]) for v in values] == [
            (EAIR, "Outlet", "Wh"), ("SoC", "EV", "Percent")]

    def test_measurands_the_reading_cannot_provide_are_skipped(self):
        values = sampled_values(reading(frequency_hz=None),
                                ["Power.Factor", "Energy.Active.Export.Register", "Frequency",
                                 "SoC", EAIR], "Sample.Periodic", phases=3)
        assert [v["measurand"] for v in values] == [EAIR]

    def test_energy_interval_needs_the_register_at_the_interval_start(self):
        assert sampled_values(reading(1500.0), ["Energy.Active.Import.Interval"],
                              "Sample.Clock", phases=3) == []
        (value,) = sampled_values(reading(1500.0), ["Energy.Active.Import.Interval"],
                                  "Sample.Clock", phases=3, interval_start_wh=1200.0)
        assert (value["value"], value["unitOfMeasure"]["unit"]) == (300.0, "Wh")

    def test_context_and_location_are_as_given(self):
        (value,) = sampled_values(reading(), [EAIR], "Transaction.End", phases=3,
                                  location="Inlet")
        assert (value["context"], value["location"]) == ("Transaction.End", "Inlet")

    def test_an_unknown_context_or_location_is_a_programming_error(self):
        with pytest.raises(ValueError):
            sampled_values(reading(), [EAIR], "Sample.Circle", phases=3)
        with pytest.raises(ValueError):
            sampled_values(reading(), [EAIR], "Sample.Clock", phases=3, location="Roof")

    def test_a_mapping_is_accepted_as_reading(self):
        values = sampled_values({"energy_active_import_wh": 10, "current_a": [6, 6, 6],
                                 "unknown": 1}, [EAIR, "Current.Import"], "Trigger", phases=3)
        assert [v["value"] for v in values] == [10.0, 6.0, 6.0, 6.0]

    def test_float_noise_is_rounded_away(self):
        (value,) = sampled_values(reading(0.1 + 0.2), [EAIR], "Trigger", phases=3)
        assert value["value"] == 0.3


class TestMeterValue:
    """MeterValueType: a timestamp plus at least one sampled value (J01.FR.05/06/17)."""

    def test_timestamp_is_utc_with_milliseconds_and_z(self):
        assert ocpp_datetime(at("12:15:00")) == "2024-05-01T12:15:00.000Z"
        assert ocpp_datetime(at("12:15:00") + 0.25) == "2024-05-01T12:15:00.250Z"

    def test_meter_value_validates(self):
        value = meter_value(ocpp_datetime(at("12:15:00")),
                            sampled_values(reading(), [EAIR, "Voltage"], "Sample.Clock",
                                           phases=3))
        assert value["timestamp"] == "2024-05-01T12:15:00.000Z"
        assert_meter_values_request({"evseId": 1, "meterValue": [value]})

    def test_no_sampled_values_is_refused(self):
        with pytest.raises(ValueError):
            meter_value("2024-05-01T12:15:00.000Z", [])


class TestAlignedClock:
    """AlignedDataInterval: evenly spaced intervals per day from 00:00:00 (§2.7.12)."""

    def test_900_at_12_07_13_is_due_at_12_15(self):
        assert AlignedClock(900).next_deadline(at("12:07:13")) == at("12:15:00")

    def test_on_a_boundary_the_next_one_is_a_full_interval_later(self):
        assert AlignedClock(900).next_deadline(at("12:15:00")) == at("12:30:00")

    def test_latest_boundary(self):
        assert AlignedClock(900).latest(at("12:29:59.9")) == at("12:15:00")
        assert AlignedClock(900).latest(at("12:30:00")) == at("12:30:00")

    def test_zero_interval_is_disabled(self):
        assert AlignedClock(0).next_deadline(at("12:07:13")) is None
        assert AlignedClock(-5).latest(at("12:07:13")) is None

    def test_last_quarter_of_the_day_ends_at_midnight(self):
        assert AlignedClock(900).next_deadline(at("23:50:00")) == at("2024-05-02T00:00:00")

    def test_an_interval_not_dividing_the_day_restarts_at_midnight(self):
        clock = AlignedClock(7000)                         # 12 x 7000 = 84000, then 2400 left
        assert clock.next_deadline(at("23:20:00")) == at("2024-05-02T00:00:00")
        assert clock.next_deadline(at("2024-05-02T00:00:00")) == at("2024-05-02T01:56:40")

    def test_an_interval_of_a_day_or_more_fires_at_midnight(self):
        assert AlignedClock(2 * 86400).next_deadline(at("12:00:00")) == at(
            "2024-05-02T00:00:00")

    def test_other_intervals_align_to_midnight_too(self):
        assert AlignedClock(300).next_deadline(at("12:07:13")) == at("12:10:00")
        assert AlignedClock(3600).next_deadline(at("12:07:13")) == at("13:00:00")


class TestPeriodicClock:
    """Sampled data: intervals counted from the start of the transaction (§2.7.6/2.7.8)."""

    def test_instants_are_counted_from_the_anchor(self):
        clock = PeriodicClock(60, at("12:07:13.5"))
        assert clock.next_deadline(at("12:07:13.5")) == at("12:08:13.5")
        assert clock.next_deadline(at("12:09:00")) == at("12:09:13.5")
        assert clock.latest(at("12:09:20")) == at("12:09:13.5")

    def test_zero_interval_is_disabled(self):
        assert PeriodicClock(0, at("12:00:00")).next_deadline(at("12:00:00")) is None


class TestMeteringConfig:
    """Reading SampledDataCtrlr / AlignedDataCtrlr through a device-model lookup."""

    def test_defaults_are_the_component_config_defaults(self):
        c = MeteringConfig.from_lookup(lambda component, variable: None)
        assert (c.started, c.updated, c.tx_updated_interval, c.ended, c.tx_ended_interval) == (
            (EAIR,), (EAIR, "Power.Active.Import"), 60, (EAIR,), 0)
        assert (c.aligned, c.aligned_interval, c.aligned_send_during_idle,
                c.aligned_ended, c.aligned_tx_ended_interval) == ((EAIR,), 900, False, (EAIR,), 0)

    def test_values_are_parsed(self):
        values = {("SampledDataCtrlr", "TxUpdatedMeasurands"): "Voltage,Current.Import",
                  ("SampledDataCtrlr", "TxUpdatedInterval"): "15",
                  ("SampledDataCtrlr", "TxStartedMeasurands"): "",
                  ("AlignedDataCtrlr", "SendDuringIdle"): "TRUE",
                  ("AlignedDataCtrlr", "Interval"): "not a number"}
        c = MeteringConfig.from_lookup(lambda comp, var: values.get((comp, var)))
        assert c.updated == ("Voltage", "Current.Import")
        assert c.tx_updated_interval == 15
        assert c.started == ()                        # empty: no measurands
        assert c.aligned_send_during_idle is True
        assert c.aligned_interval == 900              # unreadable: default

    def test_enabled_false_switches_a_controller_off(self):
        c = config(sampled_enabled=False, aligned_enabled=False)
        assert (c.started, c.updated, c.ended, c.aligned, c.aligned_ended) == ((),) * 5


class TestIdleMeter:
    """J01: clock-aligned MeterValuesRequest per EVSE and for the main meter (TC_J_01)."""

    def test_nothing_before_the_first_boundary(self):
        meter = IdleMeter(1, config(aligned_interval=900), at("12:07:13"), phases=3)
        assert meter.next_deadline() == at("12:15:00")
        assert meter.poll(at("12:14:59.9"), reading()) is None

    def test_sends_aligned_measurands_with_sample_clock_at_the_boundary(self):
        meter = IdleMeter(2, config(aligned_interval=900, aligned_measurands=(EAIR, "Voltage")),
                          at("12:07:13"), phases=3)
        payload = meter.poll(at("12:15:00.020"), reading(1500.0))
        assert_meter_values_request(payload)
        assert payload["evseId"] == 2                                       # J01.FR.02
        (value,) = payload["meterValue"]
        assert value["timestamp"] == "2024-05-01T12:15:00.000Z"
        assert {v["context"] for v in value["sampledValue"]} == {"Sample.Clock"}
        assert [v["measurand"] for v in value["sampledValue"]] == [EAIR] + ["Voltage"] * 3
        assert meter.next_deadline() == at("12:30:00")

    def test_timestamps_of_a_series_are_exactly_one_interval_apart(self):
        meter = IdleMeter(1, config(aligned_interval=900), at("12:07:13"), phases=3)
        sent = [meter.poll(t, reading()) for t in (at("12:15:00.3"), at("12:30:01"),
                                                   at("12:45:00.001"))]
        assert [p["meterValue"][0]["timestamp"] for p in sent] == [
            "2024-05-01T12:15:00.000Z", "2024-05-01T12:30:00.000Z", "2024-05-01T12:45:00.000Z"]

    def test_missed_boundaries_are_not_reported_and_a_late_value_has_its_real_time(self):
        meter = IdleMeter(1, config(aligned_interval=900), at("12:07:13"), phases=3)
        payload = meter.poll(at("12:50:00"), reading())     # 12:15, 12:30, 12:45 all passed
        assert payload["meterValue"][0]["timestamp"] == "2024-05-01T12:50:00.000Z"
        assert meter.next_deadline() == at("13:00:00")

    def test_main_meter_is_evse_0_at_the_inlet(self):
        meter = IdleMeter(0, config(aligned_interval=900), at("12:07:13"), phases=3)
        payload = meter.poll(at("12:15:00"), reading())
        assert payload["evseId"] == 0                                       # J01.FR.03
        assert payload["meterValue"][0]["sampledValue"][0]["location"] == "Inlet"
        assert_meter_values_request(payload)

    def test_energy_interval_covers_one_aligned_interval(self):
        meter = IdleMeter(1, config(aligned_interval=900,
                                    aligned_measurands=("Energy.Active.Import.Interval",)),
                          at("12:07:13"), phases=3)
        assert meter.poll(at("12:15:00"), reading(1000.0)) is None   # no interval start yet
        payload = meter.poll(at("12:30:00"), reading(1600.0))
        assert payload["meterValue"][0]["sampledValue"][0]["value"] == 600.0

    def test_interval_0_or_disabled_controller_never_fires(self):
        for c in (config(aligned_interval=0), config(aligned_enabled=False),
                  config(aligned_measurands=())):
            meter = IdleMeter(1, c, at("12:07:13"), phases=3)
            assert meter.next_deadline() is None
            assert meter.poll(at("13:00:00"), reading()) is None

    def test_interval_change_moves_to_the_new_grid(self):
        meter = IdleMeter(1, config(aligned_interval=900), at("12:07:13"), phases=3)
        meter.reconfigure(config(aligned_interval=300), at("12:07:13"))
        assert meter.next_deadline() == at("12:10:00")
        meter.reconfigure(config(aligned_interval=0), at("12:08:00"))
        assert meter.next_deadline() is None
        meter.reconfigure(config(aligned_interval=3600), at("12:08:00"))
        assert meter.next_deadline() == at("13:00:00")

    def test_a_measurand_change_keeps_a_boundary_that_is_already_due(self):
        meter = IdleMeter(1, config(aligned_interval=900), at("12:07:13"), phases=3)
        meter.reconfigure(config(aligned_interval=900, aligned_measurands=("Voltage",)),
                          at("12:15:00.5"))
        payload = meter.poll(at("12:15:00.6"), reading())
        assert payload["meterValue"][0]["timestamp"] == "2024-05-01T12:15:00.000Z"
        assert {v["measurand"] for v in payload["meterValue"][0]["sampledValue"]} == {"Voltage"}


class TestSendDuringIdle:
    """AlignedDataSendDuringIdle (J01.FR.19/20/22, §2.7.13, TC_J_02 and TC_J_06)."""

    def meter(self, evse_id=1, **kw):
        return IdleMeter(evse_id, config(aligned_interval=900, **kw), at("12:07:13"),
                         phases=3, evse_send_during_idle=kw.pop("evse", None))

    def test_false_an_evse_in_a_transaction_sends_no_meter_values_request(self):
        # J01.FR.22 / TC_J_02: its values go in TransactionEvent(MeterValueClock) instead.
        assert self.meter().poll(at("12:15:00"), reading(), own_transaction=True,
                                 any_transaction=True) is None

    def test_false_idle_evses_and_the_main_meter_keep_sending_during_a_transaction(self):
        assert self.meter(1).poll(at("12:15:00"), reading(), any_transaction=True) is not None
        assert self.meter(0).poll(at("12:15:00"), reading(), any_transaction=True) is not None

    def test_true_station_wide_silences_every_evse_and_the_main_meter(self):
        # J01.FR.20
        for evse_id in (0, 1):
            meter = self.meter(evse_id, aligned_send_during_idle=True)
            assert meter.poll(at("12:15:00"), reading(), any_transaction=True) is None

    def test_true_sends_again_when_no_transaction_runs(self):
        meter = self.meter(1, aligned_send_during_idle=True)
        assert meter.poll(at("12:15:00"), reading(), any_transaction=True) is None
        assert meter.poll(at("12:30:00"), reading()) is not None                 # TC_J_06 step 7

    def test_true_on_the_evse_tier_looks_only_at_its_own_transaction(self):
        # J01.FR.19: another EVSE's transaction does not silence this one.
        meter = IdleMeter(1, config(aligned_interval=900), at("12:07:13"), phases=3,
                          evse_send_during_idle=True)
        assert meter.suppressed(own_transaction=True, any_transaction=True)
        assert not meter.suppressed(own_transaction=False, any_transaction=True)
        assert meter.poll(at("12:15:00"), reading(), any_transaction=True) is not None

    def test_false_on_the_evse_tier_overrides_a_station_wide_true(self):
        meter = IdleMeter(1, config(aligned_interval=900, aligned_send_during_idle=True),
                          at("12:07:13"), phases=3, evse_send_during_idle=False)
        assert meter.poll(at("12:15:00"), reading(), any_transaction=True) is not None

    def test_evse_tier_value_applies_to_transaction_events_too(self):
        for station, evse, sent in ((True, False, True), (False, True, False)):
            meter = TransactionMeter(config(aligned_interval=900, tx_updated_interval=0,
                                            aligned_send_during_idle=station),
                                     started_at=at("12:07:13"), phases=3,
                                     evse_send_during_idle=evse)
            assert (meter.poll(at("12:15:00"), reading()).clock is not None) is sent

    def test_true_removes_clock_values_from_transaction_events(self):
        meter = TransactionMeter(config(aligned_interval=900, aligned_send_during_idle=True,
                                        tx_updated_interval=0), started_at=at("12:07:13"),
                                 phases=3)
        meter.begin(at("12:07:13"), reading())
        assert meter.poll(at("12:15:00"), reading()).clock is None


class TestTransactionBegin:
    """TxStartedMeasurands with context Transaction.Begin (E01.FR.09/17, TC_J_07/08)."""

    def test_started_values_have_transaction_begin(self):
        meter = TransactionMeter(config(tx_started_measurands=(EAIR, "Current.Import")),
                                 started_at=at("12:07:13"), phases=3)
        values = meter.begin(at("12:07:13"), reading(1000.0))
        assert_transaction_event("Started", values, "CablePluggedIn")
        (value,) = values
        assert value["timestamp"] == "2024-05-01T12:07:13.000Z"
        assert {v["context"] for v in value["sampledValue"]} == {"Transaction.Begin"}
        assert [v["measurand"] for v in value["sampledValue"]] == [EAIR] + ["Current.Import"] * 3

    def test_no_started_measurands_means_no_meter_value(self):
        meter = TransactionMeter(config(tx_started_measurands=()), started_at=at("12:07:13"),
                                 phases=3)
        assert meter.begin(at("12:07:13"), reading()) == []

    def test_begin_when_the_evse_becomes_known_later_keeps_the_start_anchor(self):
        # E01.FR.17: the Begin values go in the Updated event when charging starts.
        meter = TransactionMeter(config(tx_updated_interval=60), started_at=at("12:07:13"),
                                 phases=3)
        (value,) = meter.begin(at("12:07:40"), reading())
        assert value["timestamp"] == "2024-05-01T12:07:40.000Z"
        assert meter.next_deadline() == at("12:08:13")


class TestTxUpdated:
    """J02.FR.11: TransactionEvent(Updated, MeterValuePeriodic) every TxUpdatedInterval from
    the start of the transaction (TC_J_09)."""

    def make(self, **kw):
        kw.setdefault("aligned_interval", 0)
        meter = TransactionMeter(config(**kw), started_at=at("12:07:13.5"), phases=3)
        meter.begin(at("12:07:13.5"), reading(1000.0))
        return meter

    def test_first_sample_one_interval_after_the_start(self):
        meter = self.make(tx_updated_interval=60)
        assert meter.next_deadline() == at("12:08:13.5")
        assert meter.poll(at("12:08:13"), reading()).periodic is None
        tick = meter.poll(at("12:08:13.6"), reading(1100.0))
        assert tick.periodic["timestamp"] == "2024-05-01T12:08:13.500Z"
        assert {v["context"] for v in tick.periodic["sampledValue"]} == {"Sample.Periodic"}
        assert [v["measurand"] for v in tick.periodic["sampledValue"]] == [
            EAIR, "Power.Active.Import"]
        assert_transaction_event("Updated", [tick.periodic], metering.TRIGGER_REASON_PERIODIC)

    def test_samples_are_exactly_one_interval_apart(self):
        meter = self.make(tx_updated_interval=60)
        ticks = [meter.poll(at(t), reading()) for t in ("12:08:14", "12:09:13.9", "12:10:15")]
        assert [t.periodic["timestamp"] for t in ticks] == [
            "2024-05-01T12:08:13.500Z", "2024-05-01T12:09:13.500Z", "2024-05-01T12:10:13.500Z"]

    def test_interval_0_sends_nothing(self):
        meter = self.make(tx_updated_interval=0)
        assert meter.next_deadline() is None
        assert meter.poll(at("13:00:00"), reading()).periodic is None

    def test_interval_change_stays_anchored_at_the_start(self):
        meter = self.make(tx_updated_interval=60)
        meter.poll(at("12:08:13.5"), reading())
        meter.reconfigure(config(tx_updated_interval=300, aligned_interval=0), at("12:08:30"))
        assert meter.next_deadline() == at("12:12:13.5")
        meter.reconfigure(config(tx_updated_interval=0, aligned_interval=0), at("12:09:00"))
        assert meter.next_deadline() is None

    def test_energy_interval_since_the_previous_sample(self):
        meter = self.make(tx_updated_interval=60,
                          tx_updated_measurands=("Energy.Active.Import.Interval",))
        first = meter.poll(at("12:08:13.5"), reading(1100.0)).periodic
        second = meter.poll(at("12:09:13.5"), reading(1250.0)).periodic
        assert [mv["sampledValue"][0]["value"] for mv in (first, second)] == [100.0, 150.0]

    def test_clock_aligned_values_go_in_updated_events_with_sample_clock(self):
        # J01.FR.22 / TC_J_02 step 3: triggerReason MeterValueClock, context Sample.Clock.
        meter = self.make(tx_updated_interval=0, aligned_interval=900,
                          aligned_measurands=(EAIR, "Voltage"))
        assert meter.next_deadline() == at("12:15:00")
        tick = meter.poll(at("12:15:00.1"), reading())
        assert tick.periodic is None
        assert tick.clock["timestamp"] == "2024-05-01T12:15:00.000Z"
        assert {v["context"] for v in tick.clock["sampledValue"]} == {"Sample.Clock"}
        assert_transaction_event("Updated", [tick.clock], metering.TRIGGER_REASON_CLOCK)

    def test_triggered_values_use_tx_updated_measurands(self):
        # F06.FR.07
        meter = self.make(tx_updated_measurands=("Power.Active.Import",))
        value = meter.triggered(at("12:10:00"), reading())
        assert [(v["measurand"], v["context"]) for v in value["sampledValue"]] == [
            ("Power.Active.Import", "Trigger")]

    def test_sampled_data_disabled(self):
        meter = self.make(sampled_enabled=False)
        assert meter.next_deadline() is None
        assert meter.end(at("12:30:00"), reading()) == []


class TestTxEnded:
    """The meterValue list of TransactionEvent(Ended) (E06.FR.11, §2.7.4/2.7.5/2.7.15/2.7.16,
    TC_J_03 and TC_J_10)."""

    def make(self, max_ended_values=metering.MAX_ENDED_METER_VALUES, **kw):
        kw.setdefault("aligned_interval", 0)
        kw.setdefault("tx_updated_interval", 0)
        meter = TransactionMeter(config(**kw), started_at=at("12:07:13"), phases=3,
                                 max_ended_values=max_ended_values)
        meter.begin(at("12:07:13"), reading(1000.0))
        return meter

    def test_interval_0_gives_only_start_and_end_values(self):
        meter = self.make(tx_ended_interval=0)
        assert meter.poll(at("12:30:00"), reading()).collected == ()
        values = meter.end(at("12:40:00"), reading(5000.0))
        assert contexts(values) == ["Transaction.Begin", "Transaction.End"]
        assert [mv["sampledValue"][0]["value"] for mv in values] == [1000.0, 5000.0]
        assert_transaction_event("Ended", values, "EVCommunicationLost")

    def test_periodic_samples_every_tx_ended_interval_from_the_start(self):
        meter = self.make(tx_ended_interval=300)
        assert meter.next_deadline() == at("12:12:13")
        collected = []
        for t in ("12:12:13", "12:17:13.2", "12:22:14"):
            collected += meter.poll(at(t), reading()).collected
        assert len(collected) == 3
        values = meter.end(at("12:25:00"), reading())
        assert contexts(values) == ["Transaction.Begin"] + ["Sample.Periodic"] * 3 + [
            "Transaction.End"]
        assert stamps(values)[1:4] == ["2024-05-01T12:12:13.000Z", "2024-05-01T12:17:13.000Z",
                                       "2024-05-01T12:22:13.000Z"]
        assert_transaction_event("Ended", values)

    def test_a_sample_due_just_before_the_end_is_still_taken(self):
        meter = self.make(tx_ended_interval=300)
        values = meter.end(at("12:12:14"), reading())      # 12:12:13 due, not yet polled
        assert stamps(values) == ["2024-05-01T12:07:13.000Z", "2024-05-01T12:12:13.000Z",
                                  "2024-05-01T12:12:14.000Z"]
        assert contexts(values) == ["Transaction.Begin", "Sample.Periodic", "Transaction.End"]

    def test_a_sample_on_the_end_instant_is_the_end_value(self):
        meter = self.make(tx_ended_interval=300)
        meter.poll(at("12:12:13"), reading())
        values = meter.end(at("12:17:13"), reading())
        assert contexts(values) == ["Transaction.Begin", "Sample.Periodic", "Transaction.End"]
        assert stamps(values)[-1] == "2024-05-01T12:17:13.000Z"

    def test_aligned_values_every_aligned_tx_ended_interval(self):
        meter = self.make(tx_ended_interval=0, aligned_tx_ended_interval=900,
                          aligned_tx_ended_measurands=(EAIR, "Current.Import"))
        for t in ("12:15:00", "12:30:00", "12:45:00"):
            (value,) = meter.poll(at(t), reading()).collected
            assert {v["context"] for v in value["sampledValue"]} == {"Sample.Clock"}
        values = meter.end(at("12:50:00"), reading())
        assert contexts(values) == ["Transaction.Begin"] + ["Sample.Clock"] * 3 + [
            "Transaction.End"]
        # TC_J_03: the clock values are one AlignedDataTxEndedInterval apart.
        assert stamps(values)[1:4] == ["2024-05-01T12:15:00.000Z", "2024-05-01T12:30:00.000Z",
                                       "2024-05-01T12:45:00.000Z"]
        assert_transaction_event("Ended", values)

    def test_periodic_and_aligned_values_are_merged_in_time_order(self):
        meter = self.make(tx_ended_interval=300, aligned_tx_ended_interval=900)
        t = at("12:07:13")
        while t < at("12:40:00"):
            t = meter.next_deadline()
            meter.poll(t, reading())
        values = meter.end(at("12:40:00"), reading())
        epochs = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps(values)]
        assert epochs == sorted(epochs)
        assert contexts(values).count("Sample.Clock") == 2            # 12:15, 12:30
        assert_transaction_event("Ended", values)

    def test_only_aligned_measurands_configured(self):
        # TC_J_03: SampledDataTxEndedMeasurands empty, aligned ones set.
        meter = self.make(tx_ended_measurands=(), aligned_tx_ended_interval=900)
        meter.poll(at("12:15:00"), reading())
        assert contexts(meter.end(at("12:20:00"), reading())) == ["Sample.Clock"]

    def test_nothing_configured_gives_an_empty_list(self):
        meter = self.make(tx_ended_measurands=(), aligned_tx_ended_measurands=())
        assert meter.end(at("12:20:00"), reading()) == []

    def test_end_twice_returns_the_same_list(self):
        meter = self.make(tx_ended_interval=300)
        first = meter.end(at("12:20:00"), reading(2000.0))
        assert meter.end(at("12:59:00"), reading(9999.0)) == first
        assert meter.next_deadline() is None
        assert meter.poll(at("13:00:00"), reading()) == metering.MeterTick()

    def test_register_values_rise_monotonically(self):
        # J02.FR.16 with a reading that grows with time.
        meter = self.make(tx_ended_interval=60)
        wh = 1000.0
        for _ in range(10):
            wh += 123.4
            meter.poll(meter.next_deadline(), reading(wh))
        values = meter.end(at("12:30:00"), reading(wh + 10))
        registers = [mv["sampledValue"][0]["value"] for mv in values]
        assert registers == sorted(registers)


class TestTxEndedCap:
    """E06.FR.12/13, J02.FR.20: too many values drop intermediate ones first."""

    def run(self, cap, samples, **kw):
        kw.setdefault("aligned_interval", 0)
        kw.setdefault("tx_updated_interval", 0)
        meter = TransactionMeter(config(tx_ended_interval=60, **kw), started_at=at("12:00:00"),
                                 phases=3, max_ended_values=cap)
        meter.begin(at("12:00:00"), reading(0.0))
        for i in range(1, samples + 1):
            meter.poll(at("12:00:00") + 60 * i, reading(float(i)))
        return meter.end(at("12:00:00") + 60 * samples + 30, reading(samples + 0.5))

    def test_begin_and_end_are_always_kept(self):
        values = self.run(cap=10, samples=50)
        assert len(values) <= 10
        assert contexts(values)[0] == "Transaction.Begin"
        assert contexts(values)[-1] == "Transaction.End"

    def test_collecting_goes_on_after_thinning(self):
        # E06.FR.13: "not ... stop adding values to the list": late samples are still there.
        values = self.run(cap=10, samples=50)
        assert values[-2]["sampledValue"][0]["value"] >= 50 - 8

    @pytest.mark.parametrize("samples", [9, 17, 50, 64, 300])
    def test_kept_samples_stay_evenly_spaced(self, samples):
        values = self.run(cap=10, samples=samples)
        registers = [mv["sampledValue"][0]["value"] for mv in values[1:-1]]
        gaps = {b - a for a, b in zip(registers, registers[1:])}
        assert len(gaps) == 1, registers
        assert len(values) <= 10

    def test_under_the_cap_nothing_is_dropped(self):
        values = self.run(cap=200, samples=50)
        assert len(values) == 52

    def test_the_default_cap_holds_a_day_of_quarter_hours_of_both_kinds(self):
        meter = TransactionMeter(config(tx_ended_interval=900, aligned_tx_ended_interval=900,
                                        aligned_interval=0, tx_updated_interval=0),
                                 started_at=at("00:00:07"), phases=3)
        meter.begin(at("00:00:07"), reading(0.0))
        while (deadline := meter.next_deadline()) < at("23:59:00"):
            meter.poll(deadline, reading())
        values = meter.end(at("23:59:00"), reading())
        assert len(values) == 95 + 95 + 2   # 00:15(:07) .. 23:45(:07), plus Begin and End

    def test_a_tiny_cap_keeps_begin_and_end(self):
        values = self.run(cap=2, samples=5)
        assert contexts(values) == ["Transaction.Begin", "Transaction.End"]

    def test_a_cap_below_two_is_refused(self):
        with pytest.raises(ValueError):
            TransactionMeter(config(), started_at=0.0, phases=3, max_ended_values=1)


class TestRestart:
    """A restarted Evse rebuilds its TransactionMeter from the persisted Ended entries."""

    def test_restored_entries_come_back_in_the_ended_list(self):
        c = config(tx_ended_interval=300, aligned_interval=0, tx_updated_interval=60)
        first = TransactionMeter(c, started_at=at("12:07:13"), phases=3)
        first.begin(at("12:07:13"), reading(1000.0))
        persisted = [first.begin_value]
        persisted += first.poll(at("12:12:13"), reading(1500.0)).collected

        second = TransactionMeter(c, started_at=at("12:07:13"), now=at("12:20:00"), phases=3,
                                  restored=reversed(persisted))
        # Instants missed while down are not reported; the grid is still the start's.
        assert second.next_deadline() == at("12:20:13")
        values = second.end(at("12:21:00"), reading(2000.0))
        assert contexts(values) == ["Transaction.Begin", "Sample.Periodic", "Transaction.End"]
        assert values[:2] == persisted
        assert_transaction_event("Ended", values)

    def test_unreadable_entries_are_ignored(self):
        meter = TransactionMeter(config(aligned_interval=0), started_at=at("12:00:00"),
                                 phases=3, restored=[{"timestamp": "garbage"}, {}])
        assert contexts(meter.end(at("12:05:00"), reading())) == ["Transaction.End"]


class TestTriggeredMeterValues:
    """F06.FR.06: TriggerMessage(MeterValues) sends AlignedDataMeasurands, context Trigger."""

    def test_payload(self):
        payload = triggered_meter_values(1, at("12:07:13"), reading(), (EAIR, "Voltage"),
                                         phases=3)
        assert_meter_values_request(payload)
        assert {v["context"] for v in payload["meterValue"][0]["sampledValue"]} == {"Trigger"}

    def test_nothing_measurable(self):
        assert triggered_meter_values(1, at("12:07:13"), reading(), ("SoC",), phases=3) is None


class TestEverythingValidates:
    """Every MeterValue this module produces validates against MeterValuesRequest.json."""

    ALL = (EAIR, "Energy.Active.Import.Interval", "Power.Active.Import", "Current.Import",
           "Current.Offered", "Power.Offered", "Voltage", "Frequency", "SoC")

    def test_every_measurand_context_and_phase_count(self):
        r = reading(soc_percent=42.0, current_offered_a=16.0, power_offered_w=11000.0)
        for context in ("Sample.Clock", "Sample.Periodic", "Transaction.Begin",
                        "Transaction.End", "Trigger", "Interruption.Begin", "Other"):
            for phases in (0, 1, 2, 3):
                sampled = sampled_values(r, self.ALL, context, phases=phases,
                                         interval_start_wh=500.0)
                assert_meter_values_request({"evseId": 1, "meterValue": [
                    meter_value(ocpp_datetime(at("12:07:13.123")), sampled)]})

    def test_a_simulated_session(self):
        c = config(tx_updated_interval=30, tx_ended_interval=120, aligned_interval=300,
                   aligned_tx_ended_interval=600,
                   tx_updated_measurands=self.ALL, aligned_measurands=self.ALL,
                   tx_ended_measurands=self.ALL, aligned_tx_ended_measurands=self.ALL,
                   tx_started_measurands=self.ALL)
        idle = {evse: IdleMeter(evse, c, at("11:58:00"), phases=3) for evse in (0, 1)}
        tx = TransactionMeter(c, started_at=at("12:01:02.345"), phases=3)
        wh = 1000.0
        events = [tx.begin(at("12:01:02.345"), reading(wh, soc_percent=20.0))]
        t = at("11:58:00")
        while t < at("12:40:00"):
            deadlines = [d for d in [tx.next_deadline()] + [m.next_deadline()
                                                           for m in idle.values()] if d]
            t = min(deadlines)
            wh += 50.0
            r = reading(wh, soc_percent=20.0 + (t - at("12:00:00")) / 60)
            for meter in idle.values():
                payload = meter.poll(t, r, own_transaction=meter.evse_id == 1,
                                     any_transaction=True)
                if payload:
                    assert_meter_values_request(payload)
            tick = tx.poll(t, r)
            events += [[mv] for mv in (tick.periodic, tick.clock) if mv]
        events.append(tx.end(at("12:40:00"), reading(wh + 1)))
        for meter_values in events:
            assert_meter_values_request({"evseId": 1, "meterValue": meter_values})
            assert_transaction_event("Updated", meter_values)


class TestSignedMeterValues:
    """SignReadings: signedMeterValue on the energy register (J01.FR.21 aligned, J02.FR.21
    sampled), asked of the meter with the value's own timestamp and context."""

    @staticmethod
    def signing(wh: float = 1000.0, log: list | None = None, **kw) -> MeterReading:
        def sign(epoch: float, context: str) -> dict:
            if log is not None:
                log.append((ocpp_datetime(epoch), context))
            return {"signedMeterData": f"{context}@{ocpp_datetime(epoch)}={wh}",
                    "signingMethod": "ECDSA-secp256r1-SHA256", "encodingMethod": "test",
                    "publicKey": "key"}
        return MeterReading(energy_active_import_wh=wh, power_active_import_w=7000.0,
                            sign=sign, **kw)

    @staticmethod
    def signed(meter_values: list[dict]) -> list[tuple[str, bool]]:
        return [(sv["measurand"], "signedMeterValue" in sv)
                for mv in meter_values for sv in mv["sampledValue"]]

    def test_only_the_energy_register_is_signed(self):
        sampled = sampled_values(self.signing(), (EAIR, "Power.Active.Import"),
                                 "Sample.Periodic", phases=3, signed_register={
                                     "signedMeterData": "d", "signingMethod": "m",
                                     "encodingMethod": "e", "publicKey": ""})
        assert [("signedMeterValue" in sv) for sv in sampled] == [True, False]

    def test_sampled_sign_readings_signs_begin_periodic_and_end(self):
        log: list = []
        c = config(tx_updated_interval=60, tx_ended_interval=60, sampled_sign_readings=True,
                   aligned_interval=900, aligned_tx_ended_interval=900)
        tx = TransactionMeter(c, started_at=at("12:00:30"), phases=3)
        begin = tx.begin(at("12:00:30"), self.signing(1000.0, log))
        tick = tx.poll(at("12:01:30"), self.signing(1100.0, log))
        ended = tx.end(at("12:02:00"), self.signing(1150.0, log))
        assert self.signed(begin) == [(EAIR, True)]
        assert self.signed([tick.periodic]) == [(EAIR, True), ("Power.Active.Import", False)]
        assert contexts(ended) == ["Transaction.Begin", "Sample.Periodic", "Transaction.End"]
        assert all(signed for _, signed in self.signed(ended))
        # The meter was asked with the value's own timestamp and context.
        assert ("2024-05-01T12:01:30.000Z", "Sample.Periodic") in log
        assert ("2024-05-01T12:02:00.000Z", "Transaction.End") in log
        for mv in ended + begin + [tick.periodic]:
            for sv in mv["sampledValue"]:
                if "signedMeterValue" in sv:
                    assert sv["signedMeterValue"]["signedMeterData"] == \
                        f"{sv['context']}@{mv['timestamp']}={sv['value']}"
        assert_transaction_event("Ended", ended, "EVCommunicationLost")
        assert_transaction_event("Updated", [tick.periodic])

    def test_aligned_sign_readings_signs_only_clock_values(self):
        c = config(tx_updated_interval=60, aligned_interval=60, aligned_tx_ended_interval=60,
                   aligned_sign_readings=True)
        tx = TransactionMeter(c, started_at=at("12:00:30"), phases=3)
        begin = tx.begin(at("12:00:30"), self.signing())
        tick = tx.poll(at("12:01:00"), self.signing())
        ended = tx.end(at("12:01:10"), self.signing())
        assert self.signed(begin) == [(EAIR, False)]
        assert self.signed([tick.clock]) == [(EAIR, True)]
        assert [(c_, s) for c_, s in zip(contexts(ended), [s for _, s in self.signed(ended)])] \
            == [("Transaction.Begin", False), ("Sample.Clock", True), ("Transaction.End", False)]
        assert_meter_values_request({"evseId": 1, "meterValue": ended})

    def test_idle_clock_values_are_signed_with_aligned_sign_readings(self):
        for sign in (True, False):
            idle = IdleMeter(1, config(aligned_interval=60, aligned_sign_readings=sign),
                             at("12:00:30"), phases=3)
            payload = idle.poll(at("12:01:00"), self.signing())
            assert_meter_values_request(payload)
            assert self.signed(payload["meterValue"]) == [(EAIR, sign)]

    def test_off_by_default_and_a_meter_that_cannot_sign_gives_plain_values(self):
        tx = TransactionMeter(config(), started_at=at("12:00:00"), phases=3)
        assert self.signed(tx.begin(at("12:00:00"), self.signing())) == [(EAIR, False)]
        tx = TransactionMeter(config(sampled_sign_readings=True), started_at=at("12:00:00"),
                              phases=3)
        assert self.signed(tx.begin(at("12:00:00"), reading())) == [(EAIR, False)]

    def test_switching_on_mid_transaction_signs_from_the_next_sample(self):
        c = config(tx_updated_interval=60)
        tx = TransactionMeter(c, started_at=at("12:00:00"), phases=3)
        tx.begin(at("12:00:00"), self.signing())
        assert self.signed([tx.poll(at("12:01:00"), self.signing()).periodic])[0][1] is False
        tx.reconfigure(config(tx_updated_interval=60, sampled_sign_readings=True),
                       at("12:01:10"))
        assert self.signed([tx.poll(at("12:02:00"), self.signing()).periodic])[0][1] is True

    def test_triggered_values_follow_their_controller(self):
        payload = triggered_meter_values(1, at("12:07:13"), self.signing(), (EAIR,), phases=3,
                                         sign=True)
        assert self.signed(payload["meterValue"]) == [(EAIR, True)]
        assert payload["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
        tx = TransactionMeter(config(sampled_sign_readings=True), started_at=at("12:00:00"),
                              phases=3)
        assert self.signed([tx.triggered(at("12:00:05"), self.signing())])[0] == (EAIR, True)

    def test_read_from_the_device_model(self):
        values = {("SampledDataCtrlr", "SignReadings"): "true",
                  ("AlignedDataCtrlr", "SignReadings"): "false"}
        c = MeteringConfig.from_lookup(lambda comp, var: values.get((comp, var)))
        assert c.sampled_sign_readings and not c.aligned_sign_readings
        assert not MeteringConfig.from_lookup(lambda comp, var: None).sampled_sign_readings
