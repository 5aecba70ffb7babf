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


class DisconnectCsms(Msg):
    """Close the websocket and stay offline until ConnectCsms (EnableExternalWebsocketControl)."""


class ConnectCsms(Msg):
    """Reconnect now (after DisconnectCsms)."""


class CsmsControlDone(Msg):
    """Answer to DisconnectCsms / ConnectCsms."""

    connected: bool
