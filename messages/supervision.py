"""Messages between the Root supervisor, its children and whoever starts the station.

The Root creates every child, sends it :class:`Configure` (its role, index and the whole
validated configuration), then a :class:`Directory` with every child's address. When a child is
restarted the Root sends a fresh Directory to everyone, so nobody keeps a dead address.
"""
from __future__ import annotations

from typing import Any

from messages.base import Msg
from config.station import StationConfig


class StartStation(Msg):
    """Sent once to the Root by whoever starts the station; answered with StationStarted."""

    config: StationConfig
    boot_reason: str = "PowerUp"        # BootReasonEnumType for the first BootNotification


class StationStarted(Msg):
    ok: bool
    error: str | None = None


class StopStation(Msg):
    """Close the CSMS connection and stop every child; answered with StationStopped."""


class StationStopped(Msg):
    pass


class Configure(Msg):
    """First message a child receives after (re)creation."""

    role: str
    index: int = 0
    config: StationConfig
    restarted: bool = False
    boot_reason: str = "PowerUp"
    # For Evses: the device-model values they use, read once by the Root (one read instead of
    # 128, and no sqlite3 set-up in every Evse process); see station.evse_core.SETTINGS_KEYS.
    evse_settings: dict[str, str | None] | None = None


class Directory(Msg):
    """Children's addresses (Thespian ActorAddress objects).

    Every child gets the singletons; only the actors that address EVSEs and sinks by id (the
    CsmsSession, and whoever asks the Root with GetDirectory) get ``evses``/``energy_sinks``.
    """

    root: Any
    csms_session: Any = None
    evses: dict[int, Any] = {}
    energy_sinks: dict[int, Any] = {}
    auth_cache: Any = None
    display: Any = None
    system: Any = None
    security: Any = None


class GetDirectory(Msg):
    """Ask the Root for the current Directory."""


class GetStationHealth(Msg):
    """Ask the Root whether the station runs; answered with StationHealth."""


class StationHealth(Msg):
    running: bool
    error: str | None = None
    restarts: dict[str, int] = {}
    # Set when the station asked to be reset (B11): the boot reason of the next start.
    reset_requested: str | None = None


class ResetStation(Msg):
    """The CsmsSession asks for a station reset (B11/B12); whoever runs the actor system
    (run.py) sees it in StationHealth, stops the tree and starts it again."""

    boot_reason: str = "RemoteReset"


class ChildReady(Msg):
    """A child's answer to Configure: it loaded its state and is ready."""

    role: str
    index: int = 0
    pid: int


class StationFailed(Msg):
    """A child cannot go on (e.g. its database is unusable); the Root stops the station."""

    role: str
    index: int = 0
    reason: str
