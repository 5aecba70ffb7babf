"""The EnergySink actor on simpleSystemBase in front of a real Evse (K02 step 6, K04.FR.05):
a composite schedule in, the Evse's hardware limited and its power following."""
from __future__ import annotations

import pytest

import actors.energy_sink
from actors.energy_sink import EnergySink
from messages.energy import CompositeScheduleUpdated
from messages.evse import PlugIn, PresentToken, SetEvState
from messages.supervision import ChildReady, Configure, Directory
from ports.time import iso
from tests.actors.test_evse_actor import CARD, Rig, T0, clock, config  # noqa: F401 - fixtures


def composite(evse_id: int, limit: float, unit: str = "A", charging=()) -> CompositeScheduleUpdated:
    return CompositeScheduleUpdated(
        evse_id=evse_id, computed_at=iso(T0), charging_evses=list(charging),
        schedule={"evseId": evse_id, "duration": 600, "scheduleStart": iso(T0),
                  "chargingRateUnit": unit,
                  "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]})


@pytest.fixture
def rig(asys, config, clock, monkeypatch):  # noqa: F811 - pytest fixtures by name
    monkeypatch.setattr(actors.energy_sink, "system_now", clock)
    rig = Rig(asys, config, clock)
    rig.operator(PlugIn(connector_id=1))
    rig.operator(PresentToken(id_token=CARD))
    rig.records()
    rig.operator(SetEvState(state="charging"))
    return rig


def sink(asys, rig, config, index: int):
    address = asys.createActor(EnergySink)
    ready = asys.ask(address, Configure(role="energy_sink", index=index, config=config), 10)
    assert isinstance(ready, ChildReady), ready
    asys.tell(address, Directory(root=rig.session, csms_session=rig.session,
                                 evses={1: rig.evse}))
    return address


class TestFuncEnergySink:
    def test_evse_power_follows_its_sink(self, asys, rig, config):
        assert rig.status().power_w == pytest.approx(32 * 230 * 3)
        own = sink(asys, rig, config, 1)
        asys.tell(own, composite(1, 10.0))
        status = rig.status()
        assert status.applied_limit == {"current_a": 10.0, "power_w": None, "phases": 3}
        assert status.power_w == pytest.approx(10 * 230 * 3)
        asys.tell(own, composite(1, 7360.0, unit="W"))
        status = rig.status()
        assert status.applied_limit["power_w"] == 7360.0
        assert status.power_w == pytest.approx(7360.0)

    def test_station_sink_share_and_own_sink_take_the_lowest(self, asys, rig, config):
        own, station = sink(asys, rig, config, 1), sink(asys, rig, config, 0)
        asys.tell(own, composite(1, 16.0))
        asys.tell(station, composite(0, 24.0, charging=[1]))      # 2 EVSEs: 24 / 2 each
        assert rig.status().applied_limit["current_a"] == 12.0
        asys.tell(station, composite(0, 64.0, charging=[1]))
        assert rig.status().applied_limit["current_a"] == 16.0
        assert rig.status().power_w == pytest.approx(16 * 230 * 3)

    def test_new_directory_resends_the_limit(self, asys, rig, config):
        own = sink(asys, rig, config, 1)
        asys.tell(own, composite(1, 10.0))
        rig.status()
        # A fresh boot: the hardware lost power and its limit (evse_hw simulator).
        replacement = Rig(asys, config, rig.clock, restarted=False, session=rig.session)
        assert replacement.status().applied_limit is None
        asys.tell(own, Directory(root=rig.session, csms_session=rig.session,
                                 evses={1: replacement.evse}))
        assert replacement.status().applied_limit["current_a"] == 10.0
