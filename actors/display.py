"""The Display actor: what the station's screens show.

A minimal role until block O (display messages) exists: it keeps, per EVSE (0: the station's
own screen), the last message shown there (e.g. an idTokenInfo.personalMessage, C01) and logs
it, so an operator can see what a driver was told. It holds no durable state: a message on a
screen is for the moment it is shown.
"""
from __future__ import annotations

import logging

from actors.base import ChildActor
from messages.auth import Displayed, GetDisplayed, ShowMessage
from messages.ocpp201 import MessageContentType

log = logging.getLogger(__name__)


class Display(ChildActor):
    role = "display"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.shown: dict[int, MessageContentType] = {}

    def receiveMsg_ShowMessage(self, msg: ShowMessage, sender):
        screen = msg.evse_id or 0
        self.shown[screen] = msg.message
        log.info("display %s shows %r%s", screen if screen else "station",
                 msg.message.content, f" ({msg.reason})" if msg.reason else "")

    def receiveMsg_GetDisplayed(self, msg: GetDisplayed, sender):
        self.send(sender, Displayed(messages=dict(self.shown)))
