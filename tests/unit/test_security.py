"""Block A as far as the core has it (blocks/security.py): SecurityEventNotification (A04)."""
from __future__ import annotations

import pytest

from ports.time import iso
from tests.unit.station_harness import FIXED_TIME, Harness


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path)


def security_events(calls):
    return [c[3] for c in calls if c[2] == "SecurityEventNotification"]


def test_startup_event_is_queued_and_sent_once_accepted(h):
    h.boot()
    assert security_events(h.drain_calls()) == [
        {"type": "StartupOfTheDevice", "timestamp": iso(FIXED_TIME)}]


def test_tech_info_is_cut_to_the_schemas_255_characters(h):
    h.core.security.report("SettingSystemTime", "x" * 300)
    h.boot()
    [_startup, event] = security_events(h.drain_calls())
    assert event == {"type": "SettingSystemTime", "timestamp": iso(FIXED_TIME),
                     "techInfo": "x" * 255}


def test_empty_tech_info_is_left_out(h):
    h.core.security.report("SettingSystemTime", "")
    h.boot()
    assert "techInfo" not in security_events(h.drain_calls())[1]
