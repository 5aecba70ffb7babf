"""station.actor_system's transmit-retry patch: a failed transmit is retried after attempts x
250 ms instead of attempts x 35 s (the patch's comment says why). The stranded-transmit patch
needs sockets: tests/integration/test_thespian_transport.py runs it on the real transport."""
from __future__ import annotations

from datetime import timedelta

from thespian.system.transport import TransmitIntent

from station import actor_system


def test_a_failed_transmit_is_retried_within_a_second():
    intent = TransmitIntent(None, "message")
    assert intent.transmit_retry_period == actor_system.TRANSMIT_RETRY_PERIOD
    assert intent.retry()
    assert intent._retryTime.view().remaining() <= timedelta(milliseconds=250)


def test_a_period_the_caller_chose_is_kept():
    intent = TransmitIntent(None, "message", retryPeriod=timedelta(seconds=3))
    assert intent.transmit_retry_period == timedelta(seconds=3)
