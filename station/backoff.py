"""Reconnect back-off (OCPP 2.0.1 part 2, A "Reconnecting", OCPPCommCtrlr.RetryBackOff*).

The first reconnect waits RetryBackOffWaitMinimum plus a random part of at most
RetryBackOffRandomRange seconds; every further attempt doubles the wait, RetryBackOffRepeatTimes
times at most, after which the wait stays where it is. The random part spreads a park's worth
of stations over time after a CSMS outage so they do not all come back in the same second.
"""
from __future__ import annotations

import random
from typing import Callable


def reconnect_delay(attempt: int, *, wait_minimum: float, random_range: float,
                    repeat_times: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before reconnect attempt number ``attempt`` (1 = the first retry)."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    doublings = min(attempt - 1, max(repeat_times, 0))
    return max(wait_minimum, 0) * (2 ** doublings) + max(random_range, 0) * rng()
