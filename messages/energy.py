"""Messages of smart charging: CsmsSession -> EnergySink -> Evse, and the control API's
external limits (K11-K13) to the CsmsSession."""
from __future__ import annotations

from typing import Literal

from messages.base import Msg
from messages.ocpp201 import CompositeScheduleType


class CompositeScheduleUpdated(Msg):
    """The composite schedule of EVSE id ``evse_id`` (0: the station's own limits), computed
    for RequestCompositeScheduleDurationS from ``computed_at``; replaces the previous one.

    For sink 0 ``charging_evses`` lists the EVSEs that run a transaction, among which it shares
    the station's limit.
    """

    evse_id: int
    schedule: CompositeScheduleType
    computed_at: str
    charging_evses: list[int] = []


class ChargingLimitApplied(Msg):
    """An EnergySink tells an Evse the limit to apply now; ``sink`` is the sender's EVSE id
    (the EVSE's own sink, or 0 for its share of the station's limit). The Evse applies the
    lowest of what its sinks said; None fields: that sink does not limit that quantity."""

    sink: int
    current_a: float | None = None
    power_w: float | None = None
    phases: int | None = None


class SetExternalLimit(Msg):
    """An external system (an energy manager, through the control API) limits an EVSE id.

    ``limit`` None releases the limit of ``source`` (K13). Answered with ExternalLimitDone.
    """

    evse_id: int
    limit: float | None = None
    unit: Literal["A", "W"] = "A"
    source: Literal["EMS", "Other", "SO"] = "EMS"


class ExternalLimitDone(Msg):
    ok: bool
    error: str | None = None
