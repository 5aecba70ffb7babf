"""Messages to and from the Evse actors."""
from __future__ import annotations

from typing import Literal

from messages.base import Msg

ConnectorStatus = Literal["Available", "Occupied", "Reserved", "Unavailable", "Faulted"]
OperationalStatus = Literal["Operative", "Inoperative"]


class ConnectorStatusChanged(Msg):
    """An Evse announces a connector's status: at start, after a restart and on every change.

    The CsmsSession decides whether it becomes a StatusNotification (B01.FR.05, B04, G01).
    """

    evse_id: int
    connector_id: int
    status: ConnectorStatus
    timestamp: str


class ChangeEvseAvailability(Msg):
    """ChangeAvailability for one EVSE (connector_id None) or one of its connectors (G03, G04)."""

    correlation_id: str
    evse_id: int
    connector_id: int | None = None
    operational_status: OperationalStatus


class StationAvailabilityChanged(Msg):
    """The station as a whole became Operative or Inoperative (G02, evse id 0)."""

    operational_status: OperationalStatus


class EvseAvailabilityChanged(Msg):
    """Answer to ChangeEvseAvailability: Accepted, Scheduled or Rejected."""

    correlation_id: str
    evse_id: int
    status: Literal["Accepted", "Scheduled", "Rejected"]


class GetEvseStatus(Msg):
    """Ask an Evse for its state (tests, tools, the control API)."""


class EvseStatus(Msg):
    evse_id: int
    pid: int
    operational_status: OperationalStatus
    connectors: dict[int, ConnectorStatus]
    connector_operational_status: dict[int, OperationalStatus]


class ClockSynchronized(Msg):
    """The station clock's offset to the system clock changed (B01.FR.06): stamp with it."""

    offset_s: float
