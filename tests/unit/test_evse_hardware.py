"""The simulated EVSE hardware (simulators/evse_hardware.py) behind the driver seam (evse_hw)."""
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evse_hw.driver import (AppliedLimit, ConnectorPlugged, ConnectorUnplugged, EvState,
                            EvStateChanged, EvseHardware, Fault, FaultCleared, FaultRaised,
                            ParkingBayOccupancy, PowerPathClosed, PowerPathOpened)
from simulators.evse_hardware import SimulatedEvseHardware, SimulatorInputError


def charging(hw: SimulatedEvseHardware, now: float = 0.0, connector_id: int = 1):
    """Plug in, lock, enable and let the EV ask for energy; the events are dropped."""
    hw.plug_in(connector_id, now)
    assert hw.lock(connector_id, now)
    hw.enable(now)
    hw.ev_charging(now)
    hw.poll(now)
    return hw


class TestInterface:
    """The simulator is one implementation of the driver interface."""

    def test_the_simulator_implements_the_driver_protocol(self):
        assert isinstance(SimulatedEvseHardware(1), EvseHardware)

    def test_info_describes_the_hardware(self):
        info = SimulatedEvseHardware(4, connectors=2, max_current_a=16, phases=1,
                                     has_parking_sensor=True).info
        assert (info.evse_id, info.connector_ids, info.phases, info.max_current_a) == \
            (4, (1, 2), 1, 16.0)
        assert info.min_current_a == 6.0 and info.has_connector_lock and info.has_parking_sensor

    def test_a_new_evse_is_disabled_idle_and_unlimited(self):
        state = SimulatedEvseHardware(1).state(0)
        assert not state.enabled and state.ev_state is EvState.NO_EV
        assert not state.power_path_closed and state.limit == AppliedLimit()
        assert state.power_w == 0 and state.energy_wh == 0 and not state.faulted
        assert state.parking_bay_occupied is None and state.plugged_connector is None

    @pytest.mark.parametrize("kwargs", [dict(evse_id=0), dict(evse_id=1, connectors=0),
                                        dict(evse_id=1, phases=4),
                                        dict(evse_id=1, max_current_a=0),
                                        dict(evse_id=1, min_current_a=40),
                                        dict(evse_id=1, energy_wh=-1)])
    def test_an_impossible_configuration_is_refused(self, kwargs):
        with pytest.raises(ValueError):
            SimulatedEvseHardware(**kwargs)


class TestEnergyRegister:
    """Energy.Active.Import.Register integrates power over time and never decreases."""

    def test_11_kw_for_360_s_is_exactly_1100_wh(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(None, 11000.0, None, 0)
        assert hw.read_meter(0).power_active_import_w == 11000.0
        assert hw.read_meter(360).energy_active_import_wh == 1100.0

    def test_16_a_on_three_phases_at_230_v_for_360_s_is_1104_wh(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(16.0, None, None, 0)
        assert hw.read_meter(360).energy_active_import_wh == pytest.approx(1104.0)

    def test_a_change_at_t_only_affects_energy_after_t(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(None, 11000.0, None, 0)
        hw.set_limit(None, 7000.0, None, 360)    # 1100 Wh so far
        hw.ev_suspend(720)                        # + 700 Wh
        assert hw.read_meter(1000).energy_active_import_wh == pytest.approx(1800.0)

    def test_reading_twice_at_the_same_time_adds_nothing(self):
        hw = charging(SimulatedEvseHardware(1))
        first = hw.read_meter(100).energy_active_import_wh
        assert hw.read_meter(100).energy_active_import_wh == first
        assert hw.state(100).energy_wh == first

    def test_time_going_backwards_adds_nothing_and_never_decreases(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(None, 3600.0, 1, 0)
        assert hw.read_meter(10).energy_active_import_wh == pytest.approx(10.0)
        assert hw.read_meter(5).energy_active_import_wh == pytest.approx(10.0)
        # The earlier time is the new reference: 5 -> 8 is 3 more seconds.
        assert hw.read_meter(8).energy_active_import_wh == pytest.approx(13.0)

    def test_the_register_starts_where_the_meter_was(self):
        hw = charging(SimulatedEvseHardware(1, energy_wh=12345.0))
        hw.set_limit(None, 3600.0, 1, 0)
        assert hw.read_meter(3600).energy_active_import_wh == pytest.approx(15945.0)

    def test_advance_integrates_without_reading(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(None, 3600.0, 1, 0)
        hw.advance(1800)
        hw.set_limit(None, 0.0, None, 1800)
        assert hw.read_meter(7200).energy_active_import_wh == pytest.approx(1800.0)


class TestPower:
    """Power = min(EV demand, applied limit, EVSE maximum) on the phases in use."""

    def test_without_a_limit_the_evse_maximum_applies(self):
        hw = charging(SimulatedEvseHardware(1, max_current_a=32))
        assert hw.read_meter(0).power_active_import_w == pytest.approx(230 * 32 * 3)

    def test_power_follows_every_limit_change(self):
        hw = charging(SimulatedEvseHardware(1))
        seen = []
        for t, amps in enumerate([32.0, 16.0, 10.0, 25.0]):
            hw.set_limit(amps, None, None, t)
            seen.append(hw.read_meter(t).power_active_import_w)
        assert seen == pytest.approx([22080.0, 11040.0, 6900.0, 17250.0])

    def test_a_limit_above_the_evse_maximum_does_not_raise_power(self):
        hw = charging(SimulatedEvseHardware(1, max_current_a=16))
        hw.set_limit(63.0, 50000.0, None, 0)
        assert hw.read_meter(0).power_active_import_w == pytest.approx(11040.0)

    def test_the_ev_demand_caps_power(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.ev_demand(10.0, 0)
        assert hw.read_meter(0).power_active_import_w == pytest.approx(6900.0)
        hw.ev_demand(None, 1)
        assert hw.read_meter(1).power_active_import_w == pytest.approx(22080.0)

    def test_the_smallest_of_current_and_power_limits_binds(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(16.0, 5000.0, None, 0)
        assert hw.read_meter(0).power_active_import_w == 5000.0
        hw.set_limit(10.0, 50000.0, None, 1)
        assert hw.read_meter(1).power_active_import_w == pytest.approx(6900.0)

    def test_removing_the_limit_restores_full_power(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(8.0, None, None, 0)
        hw.set_limit(None, None, None, 1)
        assert hw.read_meter(1).power_active_import_w == pytest.approx(22080.0)
        assert hw.state(1).limit == AppliedLimit()

    def test_a_limit_below_6_a_pauses_charging_as_suspended_by_the_evse(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(5.0, None, None, 0)
        assert hw.poll(0) == [PowerPathOpened(), EvStateChanged(EvState.REQUESTING)]
        assert hw.read_meter(100).energy_active_import_wh == 0
        assert hw.read_meter(100).current_offered_a == 0
        hw.set_limit(6.0, None, None, 100)
        assert hw.poll(100) == [PowerPathClosed(), EvStateChanged(EvState.CHARGING)]

    def test_a_zero_limit_pauses_even_without_a_minimum(self):
        hw = charging(SimulatedEvseHardware(1, min_current_a=0))
        hw.set_limit(None, 0.0, None, 0)
        assert not hw.state(0).power_path_closed

    def test_a_power_limit_below_the_minimum_current_pauses(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(None, 3 * 230 * 5.9, None, 0)    # 5.9 A per phase
        assert hw.state(0).ev_state is EvState.REQUESTING

    @pytest.mark.parametrize("limit", [(-1.0, None, None), (None, -5.0, None), (None, None, 0),
                                       (None, None, 4), (math.nan, None, None)])
    def test_an_impossible_limit_is_refused(self, limit):
        with pytest.raises(ValueError):
            SimulatedEvseHardware(1).set_limit(*limit, 0)


class TestPhases:
    """Per-phase voltage and current are consistent with the total power."""

    def test_three_phases_carry_equal_current(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(16.0, None, None, 0)
        m = hw.read_meter(0)
        assert m.voltage_v == (230.0, 230.0, 230.0)
        assert m.current_import_a == pytest.approx((16.0, 16.0, 16.0))
        assert m.current_offered_a == 16.0 and m.frequency_hz == 50.0
        assert sum(v * i for v, i in zip(m.voltage_v, m.current_import_a)) == \
            pytest.approx(m.power_active_import_w)

    def test_a_one_phase_evse_reports_one_phase(self):
        hw = charging(SimulatedEvseHardware(1, phases=1))
        m = hw.read_meter(0)
        assert m.power_active_import_w == pytest.approx(230 * 32)
        assert m.voltage_v == (230.0,) and m.current_import_a == pytest.approx((32.0,))

    def test_a_one_phase_limit_uses_l1_only(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(16.0, None, 1, 0)
        m = hw.read_meter(0)
        assert m.power_active_import_w == pytest.approx(3680.0)
        assert m.current_import_a == pytest.approx((16.0, 0.0, 0.0))
        assert m.voltage_v == (230.0, 230.0, 230.0)
        assert hw.state(0).phases_in_use == 1

    def test_a_one_phase_car_on_a_three_phase_evse(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.ev_demand(32.0, 0, phases=1)
        assert hw.read_meter(0).power_active_import_w == pytest.approx(7360.0)

    def test_a_power_limit_converts_to_current_on_the_phases_in_use(self):
        three = charging(SimulatedEvseHardware(1))
        three.set_limit(None, 6900.0, None, 0)
        one = charging(SimulatedEvseHardware(1))
        one.set_limit(None, 6900.0, 1, 0)
        assert three.read_meter(0).current_import_a == pytest.approx((10.0, 10.0, 10.0))
        assert one.read_meter(0).current_import_a == pytest.approx((30.0, 0.0, 0.0))
        assert one.read_meter(0).power_active_import_w == three.read_meter(0).power_active_import_w

    def test_an_idle_meter_shows_voltage_and_no_current(self):
        m = SimulatedEvseHardware(1).read_meter(0)
        assert m.voltage_v == (230.0,) * 3 and m.current_import_a == (0.0,) * 3
        assert m.power_active_import_w == 0 and m.current_offered_a == 0


class TestEvStates:
    """EV states after IEC 61851-1 (A, B, C with the relay open or closed)."""

    def test_a_plugged_ev_is_connected_but_not_requesting(self):
        hw = SimulatedEvseHardware(1)
        hw.plug_in(1, 0)
        assert hw.poll(0) == [ConnectorPlugged(1), EvStateChanged(EvState.CONNECTED)]

    def test_suspend_and_resume_by_the_ev(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(None, 3600.0, 1, 0)
        hw.ev_suspend(100)
        assert hw.poll(100) == [EvStateChanged(EvState.CONNECTED), PowerPathOpened()]
        hw.ev_charging(200)
        assert hw.poll(200) == [PowerPathClosed(), EvStateChanged(EvState.CHARGING)]
        assert hw.read_meter(300).energy_active_import_wh == pytest.approx(200.0)

    def test_ev_inputs_are_idempotent(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.ev_charging(1)
        assert hw.poll(1) == []

    def test_ev_inputs_need_an_ev(self):
        hw = SimulatedEvseHardware(1)
        for action in (hw.ev_charging, hw.ev_suspend, hw.disconnect_ev):
            with pytest.raises(SimulatorInputError, match="no EV"):
                action(0)

    def test_a_requesting_ev_on_a_disabled_evse_is_suspended_by_the_evse(self):
        hw = SimulatedEvseHardware(1)
        hw.plug_in(1, 0)
        hw.lock(1, 0)
        hw.ev_charging(0)
        assert hw.poll(0)[-1] == EvStateChanged(EvState.REQUESTING)
        hw.enable(10)
        assert hw.poll(10) == [PowerPathClosed(), EvStateChanged(EvState.CHARGING)]

    def test_a_new_ev_starts_without_requesting(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.unlock(1, 0)
        hw.plug_out(0)
        hw.plug_in(1, 1)
        assert hw.state(1).ev_state is EvState.CONNECTED

    def test_zero_ev_demand_keeps_the_path_closed_with_no_power(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.ev_demand(0.0, 0)
        state = hw.state(0)
        assert state.ev_state is EvState.CHARGING and state.power_w == 0


class TestDisabled:
    """enable()/disable(): a disabled EVSE delivers nothing."""

    def test_a_disabled_evse_delivers_nothing(self):
        hw = SimulatedEvseHardware(1)
        hw.plug_in(1, 0)
        hw.lock(1, 0)
        hw.ev_charging(0)
        m = hw.read_meter(3600)
        assert m.energy_active_import_wh == 0 and m.power_active_import_w == 0
        assert m.current_offered_a == 0 and not hw.state(3600).power_path_closed

    def test_disable_while_charging_opens_the_relay_first(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(None, 3600.0, 1, 0)
        hw.disable(60)
        assert hw.poll(60) == [PowerPathOpened(), EvStateChanged(EvState.REQUESTING)]
        assert hw.read_meter(600).energy_active_import_wh == pytest.approx(60.0)
        assert not hw.state(600).enabled


class TestFaults:
    """Faults stop energy and are reported (block G: connector Faulted)."""

    def test_a_fault_stops_energy_and_clearing_it_resumes(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.set_limit(None, 3600.0, 1, 0)
        hw.raise_fault("OverCurrent", 100, "L2 over current")
        assert hw.poll(100) == [FaultRaised("OverCurrent", "L2 over current"), PowerPathOpened(),
                                EvStateChanged(EvState.REQUESTING)]
        assert hw.read_meter(1000).energy_active_import_wh == pytest.approx(100.0)
        assert hw.state(1000).faults == (Fault("OverCurrent", "L2 over current"),)
        hw.clear_fault("OverCurrent", 1000)
        assert hw.poll(1000) == [FaultCleared("OverCurrent"), PowerPathClosed(),
                                 EvStateChanged(EvState.CHARGING)]
        assert hw.read_meter(1100).energy_active_import_wh == pytest.approx(200.0)

    def test_power_returns_only_when_the_last_fault_clears(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.raise_fault("A", 0)
        hw.raise_fault("B", 0)
        hw.clear_fault("A", 1)
        assert hw.state(1).faulted and not hw.state(1).power_path_closed
        hw.clear_fault("B", 2)
        assert hw.state(2).power_path_closed

    def test_raising_an_active_fault_or_clearing_an_absent_one_reports_nothing(self):
        hw = SimulatedEvseHardware(1)
        hw.raise_fault("X", 0)
        hw.poll(0)
        hw.raise_fault("X", 1)
        hw.clear_fault("Y", 1)
        assert hw.poll(1) == []

    def test_a_fault_without_an_ev_is_still_reported(self):
        hw = SimulatedEvseHardware(1)
        hw.raise_fault("RcdTripped", 0)
        assert hw.poll(0) == [FaultRaised("RcdTripped")]

    def test_a_fault_needs_a_code(self):
        with pytest.raises(SimulatorInputError):
            SimulatedEvseHardware(1).raise_fault("", 0)


class TestConnectorLock:
    """The lock: engages only with a plug, holds the plug, may fail (F05)."""

    def test_lock_fails_without_a_plug(self):
        hw = SimulatedEvseHardware(1)
        assert hw.lock(1, 0) is False
        assert not hw.state(0).connectors[0].locked

    def test_lock_succeeds_with_a_plug(self):
        hw = SimulatedEvseHardware(1, connectors=2)
        hw.plug_in(2, 0)
        assert hw.lock(1, 0) is False           # the other, empty connector
        assert hw.lock(2, 0) is True
        assert [c.locked for c in hw.state(0).connectors] == [False, True]

    def test_a_locked_plug_cannot_be_pulled_out(self):
        hw = charging(SimulatedEvseHardware(1))
        before = hw.state(0)
        with pytest.raises(SimulatorInputError, match="locked"):
            hw.plug_out(0)
        assert hw.state(0) == before and hw.poll(0) == []

    def test_unlock_without_a_plug_is_attempted_and_succeeds(self):
        # F05.FR.06: the unlock is attempted even if no cable is detected.
        assert SimulatedEvseHardware(1).unlock(1, 0) is True

    def test_a_jammed_lock_fails_both_ways(self):
        # F05.FR.05 UnlockFailed needs a lock that can fail.
        hw = SimulatedEvseHardware(1)
        hw.plug_in(1, 0)
        hw.jam_lock(1)
        assert hw.lock(1, 0) is False
        hw.jam_lock(1, jammed=False)
        assert hw.lock(1, 0) is True
        hw.jam_lock(1)
        assert hw.unlock(1, 0) is False and hw.state(0).connectors[0].locked

    def test_the_relay_waits_for_the_lock(self):
        hw = SimulatedEvseHardware(1)
        hw.plug_in(1, 0)
        hw.enable(0)
        hw.ev_charging(0)
        assert hw.state(0).ev_state is EvState.REQUESTING
        hw.poll(0)
        hw.lock(1, 5)
        assert hw.poll(5) == [PowerPathClosed(), EvStateChanged(EvState.CHARGING)]

    def test_unlocking_while_charging_opens_the_relay_first(self):
        hw = charging(SimulatedEvseHardware(1))
        assert hw.unlock(1, 10)
        assert hw.poll(10) == [PowerPathOpened(), EvStateChanged(EvState.REQUESTING)]

    def test_without_lock_required_an_unlocked_socket_charges(self):
        hw = SimulatedEvseHardware(1, lock_required=False)
        hw.plug_in(1, 0)
        hw.enable(0)
        hw.ev_charging(0)
        assert hw.state(0).power_path_closed

    def test_an_unknown_connector_is_a_programming_error(self):
        hw = SimulatedEvseHardware(1)
        with pytest.raises(ValueError, match="no connector 2"):
            hw.lock(2, 0)
        with pytest.raises(ValueError):
            hw.unlock(0, 0)


class TestPlugging:
    """Plug in / out; one connector at a time; E02.FR.05 (plug-in makes it Occupied)."""

    def test_plug_out_reports_the_ev_leaving_then_the_connector(self):
        hw = SimulatedEvseHardware(1)
        hw.plug_in(1, 0)
        hw.poll(0)
        hw.plug_out(1)
        assert hw.poll(1) == [EvStateChanged(EvState.NO_EV), ConnectorUnplugged(1)]
        assert hw.state(1).plugged_connector is None

    def test_only_one_connector_of_an_evse_is_used_at_a_time(self):
        hw = SimulatedEvseHardware(1, connectors=2)
        hw.plug_in(1, 0)
        with pytest.raises(SimulatorInputError, match="one connector at a time"):
            hw.plug_in(2, 0)

    def test_plugging_in_twice_is_refused(self):
        hw = SimulatedEvseHardware(1)
        hw.plug_in(1, 0)
        with pytest.raises(SimulatorInputError, match="already"):
            hw.plug_in(1, 0)

    def test_plug_out_needs_a_plug_and_plug_in_a_real_connector(self):
        hw = SimulatedEvseHardware(1)
        with pytest.raises(SimulatorInputError, match="nothing is plugged"):
            hw.plug_out(0)
        with pytest.raises(SimulatorInputError, match="no connector 3"):
            hw.plug_in(3, 0)


class TestEvSideDisconnect:
    """E09/E10: the cable leaves the EV but stays in the locked socket."""

    def test_the_ev_leaves_while_the_connector_stays_plugged_and_locked(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.disconnect_ev(10)
        assert hw.poll(10) == [EvStateChanged(EvState.NO_EV), PowerPathOpened()]
        state = hw.state(10)
        assert state.plugged_connector == 1 and state.connectors[0].locked
        assert state.ev_state is EvState.NO_EV and state.power_w == 0

    def test_the_ev_reconnects_to_the_cable_in_the_socket(self):
        # TC_E_26: reconnect on EV side; no new ConnectorPlugged, the socket never emptied.
        hw = charging(SimulatedEvseHardware(1))
        hw.disconnect_ev(10)
        hw.poll(10)
        hw.plug_in(1, 20)
        assert hw.poll(20) == [EvStateChanged(EvState.CONNECTED)]
        hw.ev_charging(21)
        assert hw.poll(21) == [PowerPathClosed(), EvStateChanged(EvState.CHARGING)]

    def test_the_cable_comes_out_of_the_socket_after_unlock(self):
        # E09.FR.02/FR.03: the Evse unlocks (at once or after authorization), then the driver
        # takes the cable.
        hw = charging(SimulatedEvseHardware(1))
        hw.disconnect_ev(10)
        with pytest.raises(SimulatorInputError, match="locked"):
            hw.plug_out(11)
        assert hw.unlock(1, 12)
        hw.poll(12)
        hw.plug_out(13)
        assert hw.poll(13) == [ConnectorUnplugged(1)]


class TestParkingBay:
    """ParkingBayOccupancy (TxStartPoint / TxStopPoint ParkingBayOccupancy, E01)."""

    def test_park_and_leave_report_occupancy_once_per_change(self):
        hw = SimulatedEvseHardware(1, has_parking_sensor=True)
        assert hw.state(0).parking_bay_occupied is False
        hw.park(0)
        hw.park(1)
        hw.leave(2)
        assert hw.poll(2) == [ParkingBayOccupancy(True), ParkingBayOccupancy(False)]

    def test_without_a_sensor_parking_is_refused(self):
        with pytest.raises(SimulatorInputError, match="no parking"):
            SimulatedEvseHardware(1).park(0)


class TestEventOrder:
    """poll() returns every event once, in cause-and-effect order."""

    def test_a_whole_session(self):
        hw = SimulatedEvseHardware(1, has_parking_sensor=True)
        hw.enable(0)
        hw.park(1)
        hw.plug_in(1, 2)
        hw.lock(1, 3)
        hw.ev_charging(4)
        hw.ev_suspend(5)
        hw.ev_charging(6)
        hw.raise_fault("F1", 7)
        hw.clear_fault("F1", 8)
        hw.disable(9)
        hw.unlock(1, 10)
        hw.plug_out(11)
        hw.leave(12)
        assert hw.poll(12) == [
            ParkingBayOccupancy(True),
            ConnectorPlugged(1), EvStateChanged(EvState.CONNECTED),
            PowerPathClosed(), EvStateChanged(EvState.CHARGING),
            EvStateChanged(EvState.CONNECTED), PowerPathOpened(),
            PowerPathClosed(), EvStateChanged(EvState.CHARGING),
            FaultRaised("F1"), PowerPathOpened(), EvStateChanged(EvState.REQUESTING),
            FaultCleared("F1"), PowerPathClosed(), EvStateChanged(EvState.CHARGING),
            PowerPathOpened(), EvStateChanged(EvState.REQUESTING),
            EvStateChanged(EvState.NO_EV), ConnectorUnplugged(1),
            ParkingBayOccupancy(False),
        ]
        assert hw.poll(13) == []

    def test_plug_out_without_lock_while_charging(self):
        hw = SimulatedEvseHardware(1, lock_required=False)
        hw.enable(0)
        hw.plug_in(1, 0)
        hw.ev_charging(0)
        hw.poll(0)
        hw.plug_out(1)
        assert hw.poll(1) == [EvStateChanged(EvState.NO_EV), PowerPathOpened(),
                              ConnectorUnplugged(1)]

    def test_the_same_script_gives_the_same_result(self):
        def run():
            hw = charging(SimulatedEvseHardware(1))
            hw.set_limit(13.5, None, None, 1.5)
            hw.ev_demand(11.25, 2.25, phases=1)
            hw.raise_fault("X", 7.75)
            return hw.poll(8), hw.read_meter(9), hw.state(9)
        assert run() == run()


class TestPersistence:
    """to_dict()/from_dict(): the physical state survives a restart of the Evse process."""

    def test_a_controller_restart_finds_the_car_still_charging(self):
        hw = charging(SimulatedEvseHardware(2, connectors=2, has_parking_sensor=True))
        hw.set_limit(None, 3600.0, 1, 0)
        hw.park(0)
        saved = json.loads(json.dumps(hw.to_dict(100)))
        back = SimulatedEvseHardware.from_dict(saved, 200)
        assert back.poll(200) == []
        state = back.state(200)
        assert state.ev_state is EvState.CHARGING and state.connectors[0].locked
        assert state.parking_bay_occupied is True and state.enabled
        assert state.limit == AppliedLimit(None, 3600.0, 1)
        # The hardware kept running while the controller was down.
        assert state.energy_wh == pytest.approx(200.0)
        assert back.info == hw.info

    def test_after_a_power_cut_the_evse_is_disabled_and_delivered_nothing(self):
        hw = charging(SimulatedEvseHardware(1))
        hw.raise_fault("X", 50)
        hw.clear_fault("X", 50)
        saved = hw.to_dict(100)
        back = SimulatedEvseHardware.from_dict(saved, 500, power_lost=True)
        state = back.state(500)
        assert not state.enabled and state.ev_state is EvState.REQUESTING
        assert state.limit == AppliedLimit() and state.connectors[0].locked
        assert state.energy_wh == pytest.approx(hw.state(100).energy_wh)

    def test_a_foreign_state_is_refused(self):
        with pytest.raises(ValueError, match="version"):
            SimulatedEvseHardware.from_dict({"version": 99}, 0)


# -- properties over random sessions --------------------------------------------------------------

OPS = st.sampled_from(["enable", "disable", "lock", "unlock", "limit", "plug_in", "plug_out",
                       "disconnect_ev", "charge", "suspend", "demand", "fault", "clear"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(OPS, st.floats(0, 100), st.floats(0, 40), st.integers(1, 3)),
                max_size=40))
def test_the_register_never_decreases_and_matches_power_over_time(steps):
    hw = SimulatedEvseHardware(1, lock_required=False)
    now, expected_ws, last = 0.0, 0.0, 0.0
    power = hw.read_meter(0).power_active_import_w
    for op, dt, amps, phases in steps:
        now += dt
        expected_ws += power * dt
        try:
            {"enable": lambda: hw.enable(now), "disable": lambda: hw.disable(now),
             "lock": lambda: hw.lock(1, now), "unlock": lambda: hw.unlock(1, now),
             "limit": lambda: hw.set_limit(amps, None, phases, now),
             "plug_in": lambda: hw.plug_in(1, now), "plug_out": lambda: hw.plug_out(now),
             "disconnect_ev": lambda: hw.disconnect_ev(now),
             "charge": lambda: hw.ev_charging(now), "suspend": lambda: hw.ev_suspend(now),
             "demand": lambda: hw.ev_demand(amps, now, phases),
             "fault": lambda: hw.raise_fault("F", now),
             "clear": lambda: hw.clear_fault("F", now)}[op]()
        except SimulatorInputError:
            pass
        m = hw.read_meter(now)
        assert m.energy_active_import_wh >= last
        assert m.energy_active_import_wh == pytest.approx(expected_ws / 3600.0)
        last = m.energy_active_import_wh
        power = m.power_active_import_w
        state = hw.state(now)
        # Energy flows only through a closed relay to a charging EV.
        assert (power > 0) <= (state.power_path_closed and state.ev_state is EvState.CHARGING)
        assert state.power_path_closed == (state.ev_state is EvState.CHARGING)
