"""Functional block F, remote control: TriggerMessage (F06).

Each block that can produce a triggered message registers a trigger for it; this block routes
the request to it. Triggers answer "Accepted" or "Rejected" and arrange for the message to go
out *after* the TriggerMessageResponse (F06.FR.04), through ``SessionPort.after_reply``.
A message nobody registered is answered NotImplemented (F06.FR.08).
"""
from __future__ import annotations

from typing import Callable, Protocol

from ports.session import BootControl, Registration, RegistrationState, Replies

Trigger = Callable[[dict | None], str]


class RemoteControlSession(Replies, RegistrationState, BootControl, Protocol):
    """The session ports block F's TriggerMessage uses."""


class RemoteControl:
    def __init__(self, session: RemoteControlSession) -> None:
        self._session = session
        self._triggers: dict[str, Trigger] = {
            "BootNotification": self._trigger_boot,
            "Heartbeat": self._trigger_heartbeat,
        }

    def add_trigger(self, requested_message: str, trigger: Trigger) -> None:
        if requested_message in self._triggers:
            raise ValueError(f"{requested_message} already has a trigger")
        self._triggers[requested_message] = trigger

    def on_trigger_message(self, message_id: str, payload: dict) -> dict:
        trigger = self._triggers.get(payload["requestedMessage"])
        if trigger is None:
            return {"status": "NotImplemented"}                             # F06.FR.08
        return {"status": trigger(payload.get("evse"))}

    def _trigger_boot(self, evse: dict | None) -> str:
        if self._session.registration == Registration.ACCEPTED:
            return "Rejected"                                              # F06.FR.17
        self._session.trigger_boot()
        return "Accepted"

    def _trigger_heartbeat(self, evse: dict | None) -> str:
        self._session.after_reply(lambda: self._session.send_heartbeat(triggered=True))
        return "Accepted"
