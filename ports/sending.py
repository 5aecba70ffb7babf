"""The sending port: how a block sends a CALL to the CSMS (``station.sender.Sender``).

The policy table (``station.send_policy``) behind it decides what happens to a message that
cannot go out now; the block only says what it sends.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable, Protocol

from messages.ocpp201 import OcppModel

# Gets the CALLRESULT as the action's response model (``<Action>Response``).
ResultCallback = Callable[[Any], None]
ErrorCallback = Callable[[str, str], None]   # (error code, description); "Timeout" on timeout


class SendPort(Protocol):
    def send(self, action: str, request: OcppModel, *, on_result: ResultCallback | None = None,
             on_error: ErrorCallback | None = None, triggered: bool = False,
             created_at: datetime | None = None) -> bool:
        """Send or queue ``action`` as its policy says; False if it was dropped."""

    def may_send(self, action: str, *, triggered: bool = False) -> bool:
        """Whether a message that is not queued would go out now."""


def call_frame_size(message_id: str, action: str, payload: dict) -> int:
    """Bytes of a CALL as sent compactly; what the BytesPerMessage limits count."""
    return len(json.dumps([2, message_id, action, payload], separators=(",", ":"),
                          ensure_ascii=False).encode())
