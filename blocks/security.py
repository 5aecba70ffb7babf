"""Functional block A, security, as far as the core needs it: the start-up security event.

A01-A04 (certificates, profiles 2 and 3) come later; what every station must do already is
report its own start (SecurityEventNotification StartupOfTheDevice, or ResetOrReboot after a
reset) once it is Accepted, which OCTT's reusable state "Booted" checks. Security events are
GUARANTEED in ``station.send_policy`` (A04.FR.02: queued with guaranteed delivery), so one raised while
offline, or before a crash, still reaches the CSMS.
"""
from __future__ import annotations

from messages.ocpp201 import SecurityEventNotificationRequest
from station.sender import Sender
from station.session import StationSession, iso

STARTUP_EVENTS = {"PowerUp": "StartupOfTheDevice"}


class Security:
    def __init__(self, session: StationSession, sender: Sender) -> None:
        self._session = session
        self._sender = sender
        # Queued at start-up, delivered once Accepted: the queue holds it back until then
        # (B01.FR.08) and keeps it across restarts.
        self.report(STARTUP_EVENTS.get(session.boot_reason, "ResetOrReboot"))

    def report(self, event_type: str, tech_info: str | None = None) -> None:
        """SecurityEventNotification (A04), durably queued.

        Args:
            event_type: a security event of part 2 appendix 1 (at most 50 characters).
            tech_info: free text; cut to the schema's 255 characters, left out when empty.
        """
        self._sender.send("SecurityEventNotification", SecurityEventNotificationRequest(
            type=event_type, timestamp=iso(self._session.wall_clock()),
            tech_info=tech_info[:255] if tech_info else None))
