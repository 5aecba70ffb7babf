"""Reconnect back-off (OCPPCommCtrlr.RetryBackOff*; OCTT TC_B_57)."""
from station.backoff import reconnect_delay


def delays(n, **kw):
    return [reconnect_delay(i, rng=lambda: 0.5, **kw) for i in range(1, n + 1)]


def test_first_wait_is_the_minimum_plus_random_part():
    assert delays(1, wait_minimum=3, random_range=10, repeat_times=5) == [8.0]


def test_doubles_repeat_times_then_stays():
    assert delays(5, wait_minimum=2, random_range=0, repeat_times=2) == [2, 4, 8, 8, 8]


def test_no_random_range_is_exact():
    assert delays(2, wait_minimum=5, random_range=0, repeat_times=3) == [5, 10]
