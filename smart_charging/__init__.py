"""Smart charging computation (functional block K): pure functions, no I/O, no clock.

* :mod:`smart_charging.schedule`: one profile's schedule as absolute time intervals.
* :mod:`smart_charging.composite`: the composite schedule of an EVSE (K08).
* :mod:`smart_charging.sink_limits`: the limit an EnergySink applies now, and when it changes.
"""
from smart_charging.composite import composite_schedule, convert_limit
from smart_charging.schedule import Interval, epoch_seconds, iso_utc, profile_intervals
from smart_charging.sink_limits import AppliedLimit, SinkLimits

__all__ = [
    "AppliedLimit",
    "Interval",
    "SinkLimits",
    "composite_schedule",
    "convert_limit",
    "epoch_seconds",
    "iso_utc",
    "profile_intervals",
]
