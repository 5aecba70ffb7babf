"""Thespian retries a failed transmit after attempts x TRANSMIT_RETRY_PERIOD; the station
shortens Thespian's 35 s so that one failed attempt does not hold an Evse's status changes
(and everything after them) back for longer than a CSMS waits (G01.FR.01)."""
from datetime import timedelta

import pytest
from thespian.system import transport
from thespian.system.transport import MAX_TRANSMIT_RETRIES, TransmitIntent

from station import actor_system


@pytest.fixture
def thespian_defaults():
    saved = TransmitIntent.__init__.__defaults__
    yield saved
    TransmitIntent.__init__.__defaults__ = saved


def _retry_delays(intent: TransmitIntent, count: int) -> list[timedelta]:
    delays = []
    for _ in range(count):
        assert intent.retry()
        delays.append(intent.transmit_retry_period * intent._attempts)
    return delays


def test_thespian_waits_35_s_before_the_first_retry():
    """What the patch is for: without it the first retry comes after 35 s."""
    assert transport.TRANSMIT_RETRY_PERIOD == timedelta(seconds=35)
    intent = TransmitIntent("somewhere", "a message", retryPeriod=transport.TRANSMIT_RETRY_PERIOD)
    assert _retry_delays(intent, 1) == [timedelta(seconds=35)]


def test_a_failed_transmit_is_retried_within_a_second(thespian_defaults):
    actor_system.shorten_transmit_retry()
    intent = TransmitIntent("somewhere", "a message")
    assert intent.transmit_retry_period == timedelta(seconds=1)
    assert _retry_delays(intent, 2) == [timedelta(seconds=1), timedelta(seconds=2)]
    remaining = intent._retryTime.view().remaining()
    assert remaining <= timedelta(seconds=2)


def test_every_retry_fits_in_the_transmit_period(thespian_defaults):
    """All retries happen within Thespian's 5 minutes per transmit (more, not fewer, chances)."""
    actor_system.shorten_transmit_retry()
    intent = TransmitIntent("somewhere", "a message")
    total = sum(_retry_delays(intent, MAX_TRANSMIT_RETRIES), timedelta())
    assert total < timedelta(minutes=5)
    assert actor_system.TRANSMIT_RETRY_PERIOD == timedelta(seconds=1)


def test_applying_it_twice_changes_nothing(thespian_defaults):
    actor_system.shorten_transmit_retry()
    actor_system.shorten_transmit_retry()
    assert TransmitIntent.__init__.__defaults__ == (*thespian_defaults[:-1],
                                                     timedelta(seconds=1))
