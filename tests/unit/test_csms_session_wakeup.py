"""The CsmsSession's wake-ups: never at 0 s over and over for a deadline a tick left due.

Issue #9: the core kept a deadline in the past while offline and the actor re-armed a 0 s
wake-up after every tick, spinning one core at 100 %. StationSession no longer does that
(test_session_offline_timers.py); this is the shell's own guard against the next such bug.
"""
from __future__ import annotations

from actors.csms_session import STALE_DEADLINE_WAIT_S, wakeup_delay


class TestWakeupDelay:
    def test_a_future_deadline_is_waited_for(self):
        assert wakeup_delay(105.0, 100.0, ticked_at=99.0) == 5.0

    def test_a_deadline_that_passed_since_the_last_tick_is_due_now(self):
        assert wakeup_delay(100.0, 100.5, ticked_at=99.0) == 0.0
        assert wakeup_delay(100.0, 100.5, ticked_at=None) == 0.0

    def test_a_deadline_still_due_after_its_tick_is_not_woken_for_at_once(self):
        assert wakeup_delay(100.0, 100.5, ticked_at=100.2) == STALE_DEADLINE_WAIT_S

    def test_repeated_ticks_never_spin(self):
        """Simulate the shell: a core whose deadline never moves gets a tick per second at
        most."""
        deadline, now, ticked_at, ticks = 100.0, 100.0, None, 0
        while now < 160.0:
            delay = wakeup_delay(deadline, now, ticked_at)
            assert delay > 0 or ticked_at is None or ticked_at < deadline
            now += delay
            ticked_at, ticks = now, ticks + 1
        assert ticks <= 61
