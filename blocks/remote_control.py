"""Functional block F, remote control: TriggerMessage (F06).

Each block that can produce a triggered message registers a trigger for it; this block routes
the request to it. A trigger gets the request's ``evse`` (an ``EVSEType`` or None) and answers
Accepted or Rejected; it arranges for the message to go out *after* the TriggerMessageResponse
(F06.FR.04), through ``Replies.after_reply``. A message nobody registered is answered
NotImplemented (F06.FR.08).
"""
from __future__ import annotations

from typing import Callable, Protocol

from messages.ocpp201 import (EVSEType, MessageTriggerEnumType, TriggerMessageRequest,
                              TriggerMessageResponse, TriggerMessageStatusEnumType)
from ports.session import BootControl, Registration, RegistrationState, Replies

Trigger = Callable[[EVSEType | None], TriggerMessageStatusEnumType]


class RemoteControlSession(Replies, RegistrationState, BootControl, Protocol):
    """The session ports block F's TriggerMessage uses."""


class RemoteControl:
    def __init__(self, session: RemoteControlSession) -> None:
        self._session = session
        self._triggers: dict[MessageTriggerEnumType, Trigger] = {
            MessageTriggerEnumType.boot_notification: self._trigger_boot,
            MessageTriggerEnumType.heartbeat: self._trigger_heartbeat,
        }

    def add_trigger(self, requested_message: MessageTriggerEnumType | str,
                    trigger: Trigger) -> None:
        """Let ``trigger`` answer TriggerMessage for ``requested_message``.

        Raises:
            ValueError: not a MessageTriggerEnumType value, or it has a trigger already.
        """
        requested = MessageTriggerEnumType(requested_message)
        if requested in self._triggers:
            raise ValueError(f"{requested} already has a trigger")
        self._triggers[requested] = trigger

    def on_trigger_message(self, message_id: str,
                           request: TriggerMessageRequest) -> TriggerMessageResponse:
        trigger = self._triggers.get(request.requested_message)
        if trigger is None:
            return TriggerMessageResponse(
                status=TriggerMessageStatusEnumType.not_implemented)          # F06.FR.08
        return TriggerMessageResponse(status=trigger(request.evse))

    def _trigger_boot(self, evse: EVSEType | None) -> TriggerMessageStatusEnumType:
        if self._session.registration == Registration.ACCEPTED:
            return TriggerMessageStatusEnumType.rejected                      # F06.FR.17
        self._session.trigger_boot()
        return TriggerMessageStatusEnumType.accepted

    def _trigger_heartbeat(self, evse: EVSEType | None) -> TriggerMessageStatusEnumType:
        self._session.after_reply(lambda: self._session.send_heartbeat(triggered=True))
        return TriggerMessageStatusEnumType.accepted
