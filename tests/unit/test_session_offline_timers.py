"""While the websocket is down the session asks for no wake-up that is already due.

Issue #9: a CSMS answered BootNotification Rejected (or Pending) and went away; the boot retry
deadline stayed armed in the past while offline, tick() would not send (no connection), so
every tick asked the actor for a wake-up at 0 s: 100 % of a core for as long as the CSMS was
gone. B02.FR.04/B03.FR.06 retry the boot on the connection the CSMS answered on; a new
connection boots at once anyway (StationSession.connected), so offline there is nothing to wait
for.
"""
from __future__ import annotations

import pytest

from tests.unit.station_harness import Harness


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path)


def assert_nothing_due_while_offline(h: Harness, seconds: float, step: float = 7.0) -> None:
    """Tick through `seconds` of offline time; no deadline may be due after any tick."""
    end = h.now + seconds
    while h.now < end:
        h.advance(step)
        deadline = h.session.next_deadline()
        assert deadline is None or deadline > h.now, (h.now, deadline)


class TestBootRetryWhileOffline:
    @pytest.mark.parametrize("status", ["Rejected", "Pending"])
    def test_a_retry_armed_before_the_csms_left_is_not_due_offline(self, h, status):
        h.boot(status=status, interval=30)
        h.advance(5)
        h.disconnect()
        assert_nothing_due_while_offline(h, 600)

    def test_after_reconnecting_the_boot_goes_at_once(self, h):
        h.boot(status="Rejected", interval=30)
        h.disconnect()
        h.advance(100)
        h.connect()
        h.expect_call("BootNotification")

    def test_the_retry_still_waits_the_interval_on_line(self, h):
        h.boot(status="Rejected", interval=30)
        assert h.session.next_deadline() == pytest.approx(h.now + 30)      # B03.FR.06
