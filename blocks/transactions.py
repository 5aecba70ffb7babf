"""Functional blocks E and F, transactions and remote start/stop: what exists so far.

Transactions come with the EVSE simulator. Until then the station still owes the answers the
spec gives for a station that is not Accepted: B02.FR.05 asks for Rejected to
RequestStartTransaction and RequestStopTransaction while Pending. When Accepted the station
says, truthfully, that it does not support remote start/stop yet (CALLERROR NotSupported).
"""
from __future__ import annotations

from ocppj.errors import NotSupported
from station.session import Registration, StationSession


class Transactions:
    def __init__(self, session: StationSession) -> None:
        self._session = session
        session.route("RequestStartTransaction", self.on_request_start_transaction)
        session.route("RequestStopTransaction", self.on_request_stop_transaction)

    def _not_yet(self, action: str) -> dict:
        if self._session.registration != Registration.ACCEPTED:
            return {"status": "Rejected"}                                  # B02.FR.05
        raise NotSupported(f"{action} is not supported by this charging station yet")

    def on_request_start_transaction(self, message_id: str, payload: dict) -> dict:
        return self._not_yet("RequestStartTransaction")

    def on_request_stop_transaction(self, message_id: str, payload: dict) -> dict:
        return self._not_yet("RequestStopTransaction")
