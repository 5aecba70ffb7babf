"""The Root, its children and supervision on simpleSystemBase (one process, no network)."""
from __future__ import annotations

import pytest
from thespian.actors import ActorExitRequest

from actors.root import Root
from messages.evse import ChangeEvseAvailability, EvseAvailabilityChanged, EvseStatus, GetEvseStatus
from messages.supervision import (Directory, GetDirectory, GetStationHealth, StartStation,
                                  StationHealth, StationStarted, StationStopped, StopStation)


@pytest.fixture
def config(station_config):
    return station_config(3)


def start(asys, config):
    root = asys.createActor(Root)
    answer = asys.ask(root, StartStation(config=config), 30)
    assert isinstance(answer, StationStarted) and answer.ok, answer
    return root


class TestFuncStart:
    def test_every_child_exists(self, asys, config):
        root = start(asys, config)
        directory = asys.ask(root, GetDirectory(), 5)
        assert isinstance(directory, Directory)
        assert sorted(directory.evses) == [1, 2, 3]
        assert sorted(directory.energy_sinks) == [0, 1, 2, 3]
        assert None not in (directory.csms_session, directory.auth_cache, directory.display,
                            directory.system, directory.security)

    def test_evse_reports_its_connectors(self, asys, config):
        root = start(asys, config)
        directory = asys.ask(root, GetDirectory(), 5)
        status = asys.ask(directory.evses[2], GetEvseStatus(), 5)
        assert isinstance(status, EvseStatus)
        assert status.evse_id == 2 and status.connectors == {1: "Available"}

    def test_stop_answers_when_children_are_gone(self, asys, config):
        root = start(asys, config)
        assert isinstance(asys.ask(root, StopStation(), 15), StationStopped)


class TestFuncSupervision:
    def test_dead_evse_is_restarted_with_its_state(self, asys, config):
        root = start(asys, config)
        directory = asys.ask(root, GetDirectory(), 5)
        answer = asys.ask(directory.evses[2], ChangeEvseAvailability(
            correlation_id="c1", evse_id=2, operational_status="Inoperative"), 5)
        assert isinstance(answer, EvseAvailabilityChanged) and answer.status == "Accepted"

        asys.tell(directory.evses[2], ActorExitRequest())
        new_directory = asys.ask(root, GetDirectory(), 5)
        assert new_directory.evses[2] != directory.evses[2]
        status = asys.ask(new_directory.evses[2], GetEvseStatus(), 5)
        assert status.connectors == {1: "Unavailable"}                     # G03.FR.08
        health = asys.ask(root, GetStationHealth(), 5)
        assert isinstance(health, StationHealth)
        assert health.running and health.restarts == {"evse:2": 1}

    def test_child_dying_too_often_stops_the_station(self, asys, config):
        root = start(asys, config)
        for _ in range(6):
            directory = asys.ask(root, GetDirectory(), 5)
            if 1 not in directory.evses:
                break
            asys.tell(directory.evses[1], ActorExitRequest())
        health = asys.ask(root, GetStationHealth(), 5)
        assert not health.running
        assert "evse 1" in health.error and "not restarting" in health.error
