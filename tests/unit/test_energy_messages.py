"""Smart-charging actor messages (messages/energy.py) carry OCPP models and must pickle:
multiprocTCPBase pickles every message between actor processes."""
from __future__ import annotations

import pickle
from datetime import datetime, timezone

from messages.energy import CompositeScheduleUpdated
from messages.ocpp201 import (ChargingProfileType, ChargingRateUnitEnumType, CompositeScheduleType,
                              to_wire)
from smart_charging.composite import composite_schedule

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)


def test_composite_schedule_updated_survives_a_pickle_round_trip():
    profile = ChargingProfileType.model_validate({
        "id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                              "startSchedule": "2026-11-24T10:00:00Z",
                              "chargingSchedulePeriod": [
                                  {"startPeriod": 0, "limit": 10, "numberPhases": 1,
                                   "phaseToUse": 2},
                                  {"startPeriod": 30, "limit": 6.5}]}]})
    schedule = composite_schedule([(1, profile)], evse_id=1, start=T0, duration_s=60, unit="A")
    msg = CompositeScheduleUpdated(evse_id=1, schedule=schedule,
                                   computed_at="2026-11-24T10:00:00.000Z", charging_evses=[1])
    again = pickle.loads(pickle.dumps(msg))
    assert again == msg
    assert isinstance(again.schedule, CompositeScheduleType)
    assert again.schedule.charging_rate_unit is ChargingRateUnitEnumType.a
    assert to_wire(again.schedule) == to_wire(schedule)
