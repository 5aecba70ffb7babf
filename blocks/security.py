"""Functional block A, security, as far as the core needs it: the start-up security event.

A01-A04 (certificates, profiles 2 and 3) come later; what every station must do already is
report its own start (SecurityEventNotification StartupOfTheDevice, or ResetOrReboot after a
reset) once it is Accepted, which OCTT's reusable state "Booted" checks.
"""
from __future__ import annotations

from station.session import Registration, StationSession, iso

STARTUP_EVENTS = {"PowerUp": "StartupOfTheDevice"}


class Security:
    def __init__(self, session: StationSession) -> None:
        self._session = session
        self._startup_reported = False
        session.on_registration(self._on_registration)

    def _on_registration(self, registration: str, previous: str, now: float) -> None:
        if registration != Registration.ACCEPTED or self._startup_reported:
            return
        event = STARTUP_EVENTS.get(self._session.boot_reason, "ResetOrReboot")
        sent = self._session.call("SecurityEventNotification", {
            "type": event, "timestamp": iso(self._session.wall_clock())})
        self._startup_reported = sent is not None
