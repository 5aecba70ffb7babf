"""Messages to and from the CsmsSession actor."""
from __future__ import annotations

from messages.base import Msg


class GetSessionStatus(Msg):
    """Ask the CsmsSession how its connection stands; answered with SessionStatus."""


class SessionStatus(Msg):
    connected: bool
    registration: str          # "Unknown" | "Pending" | "Accepted" | "Rejected"
    boot_reason: str
    connect_count: int
    pid: int
