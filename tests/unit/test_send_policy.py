"""station.send_policy: every CS -> CSMS action has exactly one declared policy."""
from __future__ import annotations

from station.actions import CS_TO_CSMS_ACTIONS
from station.send_policy import POLICIES, SendPolicy


class TestTheTable:
    def test_every_cs_to_csms_action_has_a_policy_and_nothing_else_has(self):
        assert POLICIES.keys() == CS_TO_CSMS_ACTIONS

    def test_what_the_spec_fixes(self):
        assert POLICIES["TransactionEvent"] is SendPolicy.GUARANTEED       # E04.FR.01
        assert POLICIES["SecurityEventNotification"] is SendPolicy.GUARANTEED  # A04.FR.02
        assert POLICIES["StatusNotification"] is SendPolicy.RE_DERIVED    # B04.FR.01/02
        assert POLICIES["BootNotification"] is SendPolicy.SESSION          # B01.FR.08
        assert POLICIES["Heartbeat"] is SendPolicy.SESSION

    def test_notifications_follow_queue_all_messages(self):
        # Issue #9: these went to the session directly and were lost offline.
        for action in ("NotifyEvent", "NotifyReport", "NotifyChargingLimit",
                       "ClearedChargingLimit", "ReportChargingProfiles", "MeterValues"):
            assert POLICIES[action] is SendPolicy.QUEUE_ALL, action
